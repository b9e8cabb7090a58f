//! Gradient/hessian histograms of a leaf's rows: gathering, the per-feature-group kernels (with
//! prefetching on small leaves) and the subtraction trick ([`subtract`]). Leaves of at least
//! [`SPLIT_ROWS`] rows are summed over two fixed halves of the rows in parallel, then added in
//! order, so the sums do not depend on the number of threads.

use rayon::prelude::*;

use super::super::bin::Binned;
use super::types::STRIDE;
use crate::prefetch::prefetch as prefetch_line;

/// Leaves with fewer than 1/`SPARSE` of the rows prefetch their bins.
const SPARSE: usize = 16;
/// Rows from which gathering gradients runs in parallel.
const PAR_ROWS: usize = 1 << 14;
/// Rows from which a histogram is also split by rows (two halves) for parallelism.
pub(super) const SPLIT_ROWS: usize = 1 << 17;
/// Histogram work (rows × features) from which features are summed in parallel.
pub(super) const PAR_WORK: usize = 1 << 15;

/// Features summed per pass over the rows: their four histogram blocks (16 KiB) stay in L1,
/// and four independent update chains hide the store-to-load latency when many rows share a
/// bin (measured: 0.32 ns per update vs 0.40 one feature at a time on uniform bins, 0.62 vs
/// 2.3 on skewed ones).
const GROUP: usize = 4;

/// Rows ahead whose bins are prefetched on the sparse path.
const PREFETCH_AHEAD: usize = 24;

/// Adds the gradient pairs `og` (of rows `rows`, or `0..og.len()`) to the histogram blocks of
/// a group of features (`cols`: their bin columns, `None` for features not to sum).
/// `prefetch`: the rows are sparse in the columns (a small leaf), so each row's bins are a
/// cache miss; fetching them [`PREFETCH_AHEAD`] rows early hides that latency (measured on
/// 800k rows: 7.3 → 1.6 ns per update at 1/200 of the rows, 1.5 → 1.2 at 1/40, but slower
/// at 1/8 and denser, where the hardware prefetcher already keeps up).
fn accumulate_group(
    og: &[[f32; 2]],
    rows: Option<&[u32]>,
    cols: [Option<&[u8]>; GROUP],
    blocks: &mut [[f64; 2]],
    prefetch: bool,
) {
    let mut cs: Vec<&[u8]> = Vec::with_capacity(GROUP);
    let mut hs: Vec<&mut [[f64; 2]; STRIDE]> = Vec::with_capacity(GROUP);
    for (c, block) in cols.iter().zip(blocks.chunks_exact_mut(STRIDE)) {
        if let (Some(c), Ok(h)) = (c, block.try_into()) {
            cs.push(c);
            hs.push(h);
        }
    }
    match cs.len() {
        4 => accumulate_n::<4>(og, rows, cs, hs, prefetch),
        3 => accumulate_n::<3>(og, rows, cs, hs, prefetch),
        2 => accumulate_n::<2>(og, rows, cs, hs, prefetch),
        1 => accumulate_n::<1>(og, rows, cs, hs, prefetch),
        _ => {}
    }
}

/// [`accumulate_group`] on `N` features in one pass (a group not full, the last of a data
/// set, still reads the rows once). The blocks and columns become plain locals, so their
/// addresses stay in registers (read from a vector, each was reloaded after every store to
/// a histogram, which might have changed it).
#[inline(always)]
fn accumulate_n<const N: usize>(
    og: &[[f32; 2]],
    rows: Option<&[u32]>,
    cs: Vec<&[u8]>,
    hs: Vec<&mut [[f64; 2]; STRIDE]>,
    prefetch: bool,
) {
    let (Ok(cs), Ok(mut hs)) = (<[&[u8]; N]>::try_from(cs), <[_; N]>::try_from(hs)) else {
        return;
    };
    #[inline(always)]
    fn add(h: &mut [[f64; 2]; STRIDE], b: u8, g: f64, hs: f64) {
        let e = &mut h[b as usize];
        e[0] += g;
        e[1] += hs;
    }
    match rows {
        None => {
            let n = og.len();
            let cs = cs.map(|c| &c[..n]);
            for (i, o) in og.iter().enumerate() {
                let (g, h) = (f64::from(o[0]), f64::from(o[1]));
                for (hj, c) in hs.iter_mut().zip(cs) {
                    add(hj, c[i], g, h);
                }
            }
        }
        Some(rows) if prefetch => {
            for (i, (o, &r)) in og.iter().zip(rows).enumerate() {
                if let Some(&q) = rows.get(i + PREFETCH_AHEAD) {
                    for c in cs {
                        prefetch_line(c, q as usize);
                    }
                }
                let (g, h, r) = (f64::from(o[0]), f64::from(o[1]), r as usize);
                for (hj, c) in hs.iter_mut().zip(cs) {
                    add(hj, c[r], g, h);
                }
            }
        }
        Some(rows) => {
            for (o, &r) in og.iter().zip(rows) {
                let (g, h, r) = (f64::from(o[0]), f64::from(o[1]), r as usize);
                for (hj, c) in hs.iter_mut().zip(cs) {
                    add(hj, c[r], g, h);
                }
            }
        }
    }
}

/// Histogram buffers (`p · STRIDE` entries each) reused across leaves and trees: a fit
/// allocates a handful instead of one per leaf, and never zeroes the unused tail of a
/// feature's block (entries past its missing bin are never written, so they are never read).
#[derive(Debug, Default)]
pub(super) struct HistPool {
    free: Vec<Vec<[f64; 2]>>,
}

impl HistPool {
    /// A buffer of `len` entries with arbitrary contents.
    pub fn take(&mut self, len: usize) -> Vec<[f64; 2]> {
        match self.free.pop() {
            Some(h) if h.len() == len => h,
            _ => vec![[0.0; 2]; len],
        }
    }

    /// Hands a buffer back for reuse.
    pub fn give(&mut self, h: Vec<[f64; 2]>) {
        self.free.push(h);
    }
}

/// The gradient pairs of `rows` in row order: `gh`'s own prefix when `identity` (`rows` is
/// `0..n`), else gathered into `gathered` (so each feature's pass reads them sequentially).
pub(super) fn gather<'a>(
    gh: &'a [[f32; 2]],
    rows: &[u32],
    identity: bool,
    gathered: &'a mut Vec<[f32; 2]>,
) -> &'a [[f32; 2]] {
    if identity {
        return &gh[..rows.len()];
    }
    // Grown, never cleared: every slot used is written below.
    if gathered.len() < rows.len() {
        gathered.resize(rows.len(), [0.0; 2]);
    }
    let gathered = &mut gathered[..rows.len()];
    if rows.len() >= PAR_ROWS {
        gathered
            .par_iter_mut()
            .zip(rows.par_iter())
            .for_each(|(o, &r)| *o = gh[r as usize]);
    } else {
        for (o, &r) in gathered.iter_mut().zip(rows) {
            *o = gh[r as usize];
        }
    }
    gathered
}

/// Whether a leaf of `rows` rows (of `n`) is sparse in the columns: its histogram then
/// prefetches each row's bins.
pub(super) fn is_sparse(rows: usize, n: usize) -> bool {
    rows * SPARSE < n
}

/// The features of each histogram task, as `(first, count)`: `p` features in groups of at
/// most [`GROUP`], as few as possible but an even number when there are two threads or more
/// (two tasks of 4 features for 8; 4 + 3 + 3 + 3 for 13, where fixed groups of 4 gave
/// 4 + 4 + 4 + 1 and one thread 8 of them; six of 3 for 18), of sizes differing by at most one,
/// so a leaf's work splits evenly over two threads. Each feature's sums are taken alone over
/// the rows in order, so the grouping never changes them.
pub(super) fn feature_groups(p: usize) -> Vec<(usize, usize)> {
    let mut g = p.div_ceil(GROUP).max(1);
    if rayon::current_num_threads() > 1 && p > 1 && g % 2 == 1 {
        g += 1;
    }
    let g = g.min(p.max(1));
    let (base, extra) = (p / g, p % g);
    let mut first = 0;
    (0..g)
        .map(|i| {
            let count = base + usize::from(i < extra);
            let group = (first, count);
            first += count;
            group
        })
        .collect()
}

/// Cuts a histogram into the blocks of each feature group (`groups` in order, covering it).
pub(super) fn cut<'a>(
    mut hist: &'a mut [[f64; 2]],
    groups: &[(usize, usize)],
) -> Vec<&'a mut [[f64; 2]]> {
    let mut parts = Vec::with_capacity(groups.len());
    for &(_, count) in groups {
        let (part, rest) = std::mem::take(&mut hist).split_at_mut(count * STRIDE);
        parts.push(part);
        hist = rest;
    }
    parts
}

/// Zeroes and fills the histogram blocks `blocks` (`STRIDE` entries per feature) of the
/// features `first..` with the gradient pairs `og` of rows `rows` (or, with identity rows,
/// of rows `offset..offset + og.len()`). Only allowed features are summed.
#[allow(
    clippy::too_many_arguments,
    reason = "the rows and their gradients, the features to sum and where they are"
)]
#[inline]
pub(super) fn fill_group(
    binned: &Binned,
    og: &[[f32; 2]],
    rows: Option<&[u32]>,
    offset: usize,
    allowed: &[bool],
    n_bins: &[usize],
    first: usize,
    blocks: &mut [[f64; 2]],
    sparse: bool,
) {
    let count = blocks.len() / STRIDE;
    let cols = std::array::from_fn(|i| {
        let j = first + i;
        (i < count && j < binned.p && allowed[j]).then(|| &binned.col(j)[offset..])
    });
    for (i, block) in blocks.chunks_exact_mut(STRIDE).enumerate() {
        let j = first + i;
        if allowed[j] {
            block[..=n_bins[j]].fill([0.0; 2]);
        }
    }
    accumulate_group(og, rows, cols, blocks, sparse);
}

/// Sums the gradient pairs of `rows` into a histogram (`STRIDE` entries per feature, from
/// `pool`). Only the entries `0..=n_bins[j]` of allowed features are meaningful; the others
/// hold whatever the buffer held. `identity`: `rows` is `0..n` in order.
///
/// Gradients are first gathered in row order ([`gather`]), then features are summed in
/// parallel, a [`feature_groups`] group per task: each task owns its features' blocks (4 KiB each, in L1;
/// zeroed by the task), so no reduction is needed and the sums do not depend on the number of
/// threads.
// Not inlined: profiles then show histogram building on its own line (ARCHITECTURE.md).
#[allow(
    clippy::too_many_arguments,
    reason = "the leaf's rows and their gradients, the features to sum and two reused buffers"
)]
#[inline(never)]
pub(super) fn build_hist(
    binned: &Binned,
    gh: &[[f32; 2]],
    rows: &[u32],
    identity: bool,
    allowed: &[bool],
    n_bins: &[usize],
    gathered: &mut Vec<[f32; 2]>,
    pool: &mut HistPool,
) -> Vec<[f64; 2]> {
    let p = binned.p;
    let mut hist = pool.take(p * STRIDE);
    let og = gather(gh, rows, identity, gathered);
    let rows = (!identity).then_some(rows);
    let sparse = rows.is_some_and(|r| is_sparse(r.len(), binned.n));
    let groups = feature_groups(p);
    // `offset`: with identity rows, where `og`'s rows start in the columns.
    let fill = |hist: &mut [[f64; 2]], og: &[[f32; 2]], rows: Option<&[u32]>, offset: usize| {
        let task = |(&(first, _), blocks): (&(usize, usize), &mut [[f64; 2]])| {
            fill_group(
                binned, og, rows, offset, allowed, n_bins, first, blocks, sparse,
            );
        };
        let parts = cut(hist, &groups);
        if og.len() * p >= PAR_WORK {
            groups.par_iter().zip(parts).for_each(task);
        } else {
            groups.iter().zip(parts).for_each(task);
        }
    };
    if og.len() >= SPLIT_ROWS {
        // Large leaves: the two halves of the rows in parallel too (twice the tasks, so
        // few feature groups still balance over the threads), then their sum. The halves
        // are fixed, so the sums still do not depend on the thread count.
        let half = og.len() / 2;
        let (oa, ob) = og.split_at(half);
        let (ra, rb) = match rows {
            Some(r) => {
                let (a, b) = r.split_at(half);
                (Some(a), Some(b))
            }
            None => (None, None),
        };
        let mut other = pool.take(p * STRIDE);
        let offset = if rb.is_none() { half } else { 0 };
        rayon::join(
            || fill(&mut hist, oa, ra, 0),
            || fill(&mut other, ob, rb, offset),
        );
        for_used(allowed, n_bins, 0, &mut hist, &other, |a, b| {
            a[0] += b[0];
            a[1] += b[1];
        });
        pool.give(other);
    } else {
        fill(&mut hist, og, rows, 0);
    }
    hist
}

/// Applies `op` to the meaningful entries of two histograms' blocks (features `first..`: bins
/// `0..=n_bins[j]` of the allowed ones), entry by entry.
#[inline]
fn for_used(
    allowed: &[bool],
    n_bins: &[usize],
    first: usize,
    a: &mut [[f64; 2]],
    b: &[[f64; 2]],
    op: impl Fn(&mut [f64; 2], &[f64; 2]),
) {
    for (i, (ab, bb)) in a
        .chunks_exact_mut(STRIDE)
        .zip(b.chunks_exact(STRIDE))
        .enumerate()
    {
        let j = first + i;
        if allowed[j] {
            let m = n_bins[j] + 1;
            for (x, y) in ab[..m].iter_mut().zip(&bb[..m]) {
                op(x, y);
            }
        }
    }
}

/// The subtraction trick: turns a parent's histogram blocks (features `first..`) into its
/// larger child's by subtracting the smaller child's, entry by entry (the meaningful entries
/// only).
#[inline]
pub(super) fn subtract(
    parent: &mut [[f64; 2]],
    small: &[[f64; 2]],
    first: usize,
    allowed: &[bool],
    n_bins: &[usize],
) {
    for_used(allowed, n_bins, first, parent, small, |a, b| {
        a[0] -= b[0];
        a[1] -= b[1];
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_equal_plain_sums_on_every_path() {
        // 300k rows: the row-halved parallel path; a subset: the gathered path; 5 features:
        // a group of 4 and a lone one, one of them not allowed.
        let (n, p) = (300_000usize, 5usize);
        let bins: Vec<u8> = (0..n * p)
            .map(|i| ((i * 2_654_435_761) % 253) as u8)
            .collect();
        let binned = Binned { n, p, bins };
        let gh: Vec<[f32; 2]> = (0..n).map(|i| [(i % 17) as f32 - 8.0, 0.25]).collect();
        let allowed = [true, true, false, true, true];
        let all: Vec<u32> = (0..n as u32).collect();
        let some: Vec<u32> = (0..n as u32).filter(|r| r % 3 == 1).collect();
        let n_bins = [252usize; 5];
        let mut buf = Vec::new();
        let mut pool = HistPool::default();
        // Poisoned buffers: whatever a reused buffer held must not leak into the sums.
        pool.give(vec![[7.0; 2]; p * STRIDE]);
        pool.give(vec![[-3.0; 2]; p * STRIDE]);
        for (rows, identity) in [(&all, true), (&all, false), (&some, false)] {
            let mut h = build_hist(
                &binned, &gh, rows, identity, &allowed, &n_bins, &mut buf, &mut pool,
            );
            let mut want = vec![[0.0f64; 2]; p * STRIDE];
            for j in (0..p).filter(|&j| allowed[j]) {
                for &r in rows.iter() {
                    let e = &mut want[j * STRIDE + binned.col(j)[r as usize] as usize];
                    e[0] += f64::from(gh[r as usize][0]);
                    e[1] += f64::from(gh[r as usize][1]);
                }
            }
            // Entries past the missing bin and of features not allowed are unspecified.
            for (j, &a) in allowed.iter().enumerate() {
                let used = j * STRIDE..j * STRIDE + n_bins[j] + 1;
                if a {
                    assert_eq!(
                        h[used.clone()],
                        want[used],
                        "identity {identity}, {} rows",
                        rows.len()
                    );
                }
            }
            h.iter_mut().for_each(|e| *e = [5.0; 2]);
            pool.give(h);
        }
    }
}
