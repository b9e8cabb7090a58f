//! The binned walk over [`LANES`] rows with AVX2 gathers: vectors of 8 lanes, each
//! step three gathers (the node's two words, the row's bin) and a handful of lane-wise
//! operations, with the same decisions as the scalar walk in [`super::binned`].
#![allow(
    unsafe_code,
    reason = "std::arch gathers; the indices are checked when the layout is built"
)]

use std::arch::x86_64::{
    __m256i, _mm256_add_epi32, _mm256_and_si256, _mm256_blendv_epi8, _mm256_cmpeq_epi32,
    _mm256_i32gather_epi32, _mm256_loadu_si256, _mm256_max_epu32, _mm256_movemask_epi8,
    _mm256_set1_epi32, _mm256_srli_epi32, _mm256_srlv_epi32, _mm256_storeu_si256, _mm256_sub_epi32,
};

use super::node_word::{CAT_FLAG, COLUMN_MASK, FAR_LEAF, NEAR_LEAF};

/// Vectors of 8 lanes walking together: enough independent gather chains to hide their
/// latency.
const V: usize = 8;
/// Rows walking each tree together.
pub(super) const LANES: usize = 8 * V;

/// Whether the CPU runs [`walk`].
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx2")
}

/// The leaf indices the lanes' rows reach from `root` (like the scalar walk).
///
/// # Safety
/// The CPU must have AVX2 ([`available`]). `nodes` must be a valid binned layout (every far
/// offset within its tree, every column below `stride`) whose tree starts at `root`, and
/// `row_start[l] + stride + 1 <= bins.len()` for every lane (a gather reads one `u16` past the
/// bin it wants).
#[target_feature(enable = "avx2")]
pub(super) unsafe fn walk<const CAT: bool>(
    nodes: &[[u32; 2]],
    root: usize,
    bins: &[u16],
    row_start: &[i32; LANES],
    leaves: &mut [u32; LANES],
) {
    let words = nodes.as_ptr().cast::<i32>();
    let bins = bins.as_ptr().cast::<i32>();
    // SAFETY: `row_start` is `LANES` `i32`s: unaligned 8-lane loads.
    let rows: [__m256i; V] = std::array::from_fn(|h| unsafe {
        _mm256_loadu_si256(row_start.as_ptr().add(8 * h).cast::<__m256i>())
    });
    // Every lane starts at the root: its words are broadcast, not gathered.
    let i = _mm256_set1_epi32(root as i32);
    let [r0, r1] = nodes[root];
    let (r0, r1) = (_mm256_set1_epi32(r0 as i32), _mm256_set1_epi32(r1 as i32));
    let mut idx = [i; V];
    let mut done = -1i32;
    for h in 0..V {
        // SAFETY: the root's column is below `stride`, so every bin index is within `bins`.
        let (n, leaf) = unsafe { next::<CAT>(i, r0, r1, rows[h], bins) };
        done &= leaf;
        idx[h] = n;
    }
    // Until every lane's next node is a leaf (known from its parent's leaf bits).
    while done != -1 {
        done = -1;
        for h in 0..V {
            let i = idx[h];
            // SAFETY: every lane's index is a node of the tree (the root, then near children
            // `i + 1` of splits and far children within the tree), so both words are in
            // `nodes`; the bin index is a lane's row start plus a column below `stride`.
            let (n, leaf) = unsafe {
                let w0 = _mm256_i32gather_epi32::<8>(words, i);
                let w1 = _mm256_i32gather_epi32::<8>(words.add(1), i);
                next::<CAT>(i, w0, w1, rows[h], bins)
            };
            done &= leaf;
            idx[h] = n;
        }
    }
    for (h, &v) in idx.iter().enumerate() {
        // SAFETY: `leaves` is `LANES` `u32`s: unaligned 8-lane stores.
        unsafe { _mm256_storeu_si256(leaves.as_mut_ptr().add(8 * h).cast::<__m256i>(), v) };
    }
}

/// The nodes after nodes `i` (words `w0`, `w1`) on the paths of the rows starting at `rows`,
/// and a byte mask (`movemask`) of the lanes whose next node is a leaf.
///
/// # Safety
/// AVX2; every lane's row start plus its node's column is a bin of `bins`, with one more `u16`
/// after it.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn next<const CAT: bool>(
    i: __m256i,
    w0: __m256i,
    w1: __m256i,
    rows: __m256i,
    bins: *const i32,
) -> (__m256i, i32) {
    let one = _mm256_set1_epi32(1);
    let low = _mm256_set1_epi32(0xffff);
    let column = _mm256_and_si256(w1, _mm256_set1_epi32(COLUMN_MASK as i32));
    // SAFETY: as the caller promises.
    let b = unsafe { _mm256_i32gather_epi32::<2>(bins, _mm256_add_epi32(rows, column)) };
    let b = _mm256_and_si256(b, low);
    // Far when `bin - lo >= width` (unsigned): max(d, width) == d.
    let d = _mm256_sub_epi32(b, _mm256_and_si256(w0, low));
    let mut far = _mm256_cmpeq_epi32(_mm256_max_epu32(d, _mm256_srli_epi32::<16>(w0)), d);
    if CAT {
        // Far when the mask's bit for the bin is clear (shifts past 31 give 0, and only
        // categorical lanes, whose bins are below 32, keep this result).
        let bit = _mm256_and_si256(_mm256_srlv_epi32(w0, b), one);
        let cat_far = _mm256_cmpeq_epi32(bit, _mm256_set1_epi32(0));
        let cat_flag = _mm256_set1_epi32(CAT_FLAG as i32);
        let is_cat = _mm256_cmpeq_epi32(_mm256_and_si256(w1, cat_flag), cat_flag);
        far = _mm256_blendv_epi8(far, cat_far, is_cat);
    }
    let next = _mm256_blendv_epi8(
        _mm256_add_epi32(i, one),
        _mm256_add_epi32(i, _mm256_srli_epi32::<16>(w1)),
        far,
    );
    // The leaf bit of the side taken (a leaf has both, and always takes the far side).
    let side = _mm256_blendv_epi8(
        _mm256_set1_epi32(NEAR_LEAF as i32),
        _mm256_set1_epi32(FAR_LEAF as i32),
        far,
    );
    let leaf = _mm256_cmpeq_epi32(_mm256_and_si256(w1, side), side);
    (next, _mm256_movemask_epi8(leaf))
}
