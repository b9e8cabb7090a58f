//! The binned walk of [`super::simd`] with AVX-512 gathers: 4 vectors of 16 lanes (the same
//! 64 rows), half the gather instructions of the AVX2 walk, the same decisions.
//! Behind the `avx512` feature: the AVX-512 intrinsics are stable since Rust 1.89, above the
//! workspace's minimum.
#![allow(
    unsafe_code,
    reason = "std::arch gathers; the indices are checked when the layout is built"
)]
#![allow(
    clippy::incompatible_msrv,
    reason = "opt-in through the `avx512` feature, which needs Rust 1.89"
)]

use std::arch::x86_64::{
    __m512i, _mm512_add_epi32, _mm512_and_si512, _mm512_cmpeq_epi32_mask, _mm512_cmpge_epu32_mask,
    _mm512_i32gather_epi32, _mm512_loadu_si512, _mm512_mask_blend_epi32, _mm512_set1_epi32,
    _mm512_srli_epi32, _mm512_srlv_epi32, _mm512_storeu_si512, _mm512_sub_epi32,
    _mm512_test_epi32_mask,
};

use super::node_word::{CAT_FLAG, COLUMN_MASK, FAR_LEAF, NEAR_LEAF};
use super::simd::LANES;

/// Vectors of 16 lanes walking together.
const V: usize = LANES / 16;

/// Whether the CPU runs [`walk`].
pub(super) fn available() -> bool {
    is_x86_feature_detected!("avx512f")
}

/// [`super::simd::walk`] with AVX-512.
///
/// # Safety
/// As [`super::simd::walk`], with AVX-512F ([`available`]) instead of AVX2.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn walk<const CAT: bool>(
    nodes: &[[u32; 2]],
    root: usize,
    bins: &[u16],
    row_start: &[i32; LANES],
    leaves: &mut [u32; LANES],
) {
    let words = nodes.as_ptr().cast::<i32>();
    let bins = bins.as_ptr().cast::<i32>();
    // SAFETY: `row_start` is `LANES` `i32`s: unaligned 16-lane loads.
    let rows: [__m512i; V] = std::array::from_fn(|h| unsafe {
        _mm512_loadu_si512(row_start.as_ptr().add(16 * h).cast::<__m512i>())
    });
    let i = _mm512_set1_epi32(root as i32);
    let [r0, r1] = nodes[root];
    let (r0, r1) = (_mm512_set1_epi32(r0 as i32), _mm512_set1_epi32(r1 as i32));
    let mut idx = [i; V];
    let mut done = u16::MAX;
    for h in 0..V {
        // SAFETY: the root's column is below `stride`, so every bin index is within `bins`.
        let (n, leaf) = unsafe { next::<CAT>(i, r0, r1, rows[h], bins) };
        done &= leaf;
        idx[h] = n;
    }
    while done != u16::MAX {
        done = u16::MAX;
        for h in 0..V {
            let i = idx[h];
            // SAFETY: every lane's index is a node of the tree, so both words are in `nodes`;
            // the bin index is a lane's row start plus a column below `stride`.
            let (n, leaf) = unsafe {
                let w0 = _mm512_i32gather_epi32::<8>(i, words);
                let w1 = _mm512_i32gather_epi32::<8>(i, words.add(1));
                next::<CAT>(i, w0, w1, rows[h], bins)
            };
            done &= leaf;
            idx[h] = n;
        }
    }
    for (h, &v) in idx.iter().enumerate() {
        // SAFETY: `leaves` is `LANES` `u32`s: unaligned 16-lane stores.
        unsafe { _mm512_storeu_si512(leaves.as_mut_ptr().add(16 * h).cast::<__m512i>(), v) };
    }
}

/// The nodes after nodes `i` (words `w0`, `w1`), and the mask of lanes whose next node is a
/// leaf.
///
/// # Safety
/// AVX-512F; every lane's row start plus its node's column is a bin of `bins`, with one more
/// `u16` after it.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn next<const CAT: bool>(
    i: __m512i,
    w0: __m512i,
    w1: __m512i,
    rows: __m512i,
    bins: *const i32,
) -> (__m512i, u16) {
    let low = _mm512_set1_epi32(0xffff);
    let column = _mm512_and_si512(w1, _mm512_set1_epi32(COLUMN_MASK as i32));
    // SAFETY: as the caller promises.
    let b = unsafe { _mm512_i32gather_epi32::<2>(_mm512_add_epi32(rows, column), bins) };
    let b = _mm512_and_si512(b, low);
    // Far when `bin - lo >= width` (unsigned).
    let d = _mm512_sub_epi32(b, _mm512_and_si512(w0, low));
    let mut far = _mm512_cmpge_epu32_mask(d, _mm512_srli_epi32::<16>(w0));
    if CAT {
        // Far when the mask's bit for the bin is clear (categorical lanes only).
        let bit = _mm512_and_si512(_mm512_srlv_epi32(w0, b), _mm512_set1_epi32(1));
        let cat_far = _mm512_cmpeq_epi32_mask(bit, _mm512_set1_epi32(0));
        let is_cat = _mm512_test_epi32_mask(w1, _mm512_set1_epi32(CAT_FLAG as i32));
        far = (far & !is_cat) | (cat_far & is_cat);
    }
    let next = _mm512_mask_blend_epi32(
        far,
        _mm512_add_epi32(i, _mm512_set1_epi32(1)),
        _mm512_add_epi32(i, _mm512_srli_epi32::<16>(w1)),
    );
    let side = _mm512_mask_blend_epi32(
        far,
        _mm512_set1_epi32(NEAR_LEAF as i32),
        _mm512_set1_epi32(FAR_LEAF as i32),
    );
    let leaf = _mm512_cmpeq_epi32_mask(_mm512_and_si512(w1, side), side);
    (next, leaf)
}
