//! Growing one tree on binned features: gradient/hessian histograms, split finding, and
//! leaf-wise (best-first) growth.
//!
//! Every leaf owns a contiguous range of a row-index array; splitting a leaf partitions its
//! range in place (stable, so each range stays in row order and histogram building reads
//! the binned matrix forwards). A leaf's histogram holds, per feature and bin, the sums of
//! gradients and hessians of its rows (`[f64; 2]`, f64 sums of f32 values). Only the smaller
//! child's histogram is built from rows; the larger one is the parent's minus it (the
//! subtraction trick), so each level reads at most half the rows. Histograms of large leaves
//! are built over fixed 64k-row chunks in parallel and summed in chunk order, so the result
//! does not depend on the number of threads.
//!
//! Split gain follows LightGBM / XGBoost: with `T(G) = sign(G)·max(|G| − l1, 0)` a leaf's
//! output is `−T(G)/(H + l2)` (clamped to its monotonic bounds) and its score
//! `−(2·T(G)·w + (H + l2)·w²)`; a split's gain is the children's scores minus the parent's and
//! must exceed `min_gain_to_split`. Row counts of a candidate side are estimated from its
//! hessian sum (`round(h · n/H)`, exact when hessians are constant), as LightGBM does, so the
//! histograms carry two sums instead of three. With sample weights, counts are weighted
//! counts (so integer weights grow the same trees as repeated rows).
//!
//! Missing values have their own bin. Each numeric split is tried with the missing bin on
//! either side and keeps the better (the learned default direction); a node that saw no
//! missing value sends them to the child with more rows. Categorical features are split by a
//! category subset (scikit-learn's method): categories with at least 10 rows, the missing bin
//! among them, are sorted by `G/(H + 10)` and every prefix of up to half of them from either
//! end is a candidate left set. Monotonic constraints (scikit-learn's method): a split on a
//! constrained feature must order the children's outputs, and the children's output bounds
//! meet at the midpoint of the two outputs.

use rayon::prelude::*;

use super::bin::Binned;

/// Leaves with fewer than 1/`SPARSE` of the rows prefetch their bins.
const SPARSE: usize = 16;
/// Rows from which gathering gradients runs in parallel.
const PAR_ROWS: usize = 1 << 14;
/// Rows from which a histogram is also split by rows (two halves) for parallelism.
const SPLIT_ROWS: usize = 1 << 17;
/// Histogram work (rows × features) from which features are summed in parallel.
const PAR_WORK: usize = 1 << 15;
/// Fewest rows per category for a categorical split candidate (scikit-learn's `MIN_CAT_SUPPORT`).
const MIN_CAT_SUPPORT: f64 = 10.0;
/// `feature` of a leaf in a [`BinTree`].
pub(crate) const LEAF: u32 = u32::MAX;

/// Histogram entries per feature: every feature gets 256 (its value bins, its missing bin,
/// unused entries), so a `u8` bin indexes its feature's block without a bounds check.
pub(crate) const STRIDE: usize = 256;

/// What the histograms cover: bins and kind per feature.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    /// Value bins per feature (the missing bin follows them).
    pub n_bins: Vec<usize>,
    /// Categorical features.
    pub categorical: Vec<bool>,
}

/// Growth limits and regularisation.
#[derive(Clone, Debug)]
pub(crate) struct GrowParams {
    pub max_leaf_nodes: Option<usize>,
    pub max_depth: Option<usize>,
    pub min_samples_leaf: usize,
    pub min_sum_hessian: f64,
    pub l1: f64,
    pub l2: f64,
    pub min_gain: f64,
    /// Per feature: +1 increasing, −1 decreasing, 0 free.
    pub monotonic: Vec<i8>,
}

/// A node of a tree over bins.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BinNode {
    /// Split feature, or [`LEAF`].
    pub feature: u32,
    /// Numeric split: bins `<= bin` go left.
    pub bin: u8,
    /// The feature's missing bin.
    pub missing_bin: u8,
    /// Missing values go left.
    pub missing_left: bool,
    /// Categorical split: the bins going left (the missing bin included when missing values
    /// go left).
    pub cat: Option<[u64; 4]>,
    pub left: u32,
    pub right: u32,
    /// Leaf output (after shrinkage); at internal nodes, the node's own output.
    pub value: f64,
    /// Gain of the split (0 at leaves).
    pub gain: f64,
    /// Training rows (of the sample the tree was grown on).
    pub count: u32,
}

impl BinNode {
    /// A leaf with output `value` over `count` training rows.
    pub fn leaf(value: f64, count: usize) -> Self {
        BinNode {
            feature: LEAF,
            bin: 0,
            missing_bin: 0,
            missing_left: false,
            cat: None,
            left: 0,
            right: 0,
            value,
            gain: 0.0,
            count: count as u32,
        }
    }

    /// Whether a row with bin `b` of the split feature goes left.
    #[inline]
    pub fn goes_left(&self, b: u8) -> bool {
        match &self.cat {
            Some(set) => set[(b >> 6) as usize] >> (b & 63) & 1 == 1,
            None => {
                if b == self.missing_bin {
                    self.missing_left
                } else {
                    b <= self.bin
                }
            }
        }
    }
}

/// A tree over bins (node 0 is the root; children come after their parent).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BinTree {
    pub nodes: Vec<BinNode>,
}

impl BinTree {
    /// The leaf row `r` of `binned` ends in.
    #[inline]
    pub fn leaf(&self, binned: &Binned, r: usize) -> usize {
        let mut i = 0;
        loop {
            let n = &self.nodes[i];
            if n.feature == LEAF {
                return i;
            }
            i = if n.goes_left(binned.col(n.feature as usize)[r]) {
                n.left
            } else {
                n.right
            } as usize;
        }
    }
}

/// Gradient, hessian and (estimated) row count of a set of rows.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Stats {
    g: f64,
    h: f64,
    n: f64,
}

impl Stats {
    #[inline]
    fn add(&mut self, e: [f64; 2], cf: f64) {
        self.g += e[0];
        self.h += e[1];
        // Rounded estimate of the rows; `h·cf >= 0`, so truncating `+ 0.5` rounds (and avoids
        // a libm `floor` call per bin, which profiles showed on small data).
        self.n += (e[1] * cf + 0.5) as u64 as f64;
    }
    fn minus(self, o: Stats) -> Stats {
        Stats {
            g: self.g - o.g,
            h: self.h - o.h,
            n: self.n - o.n,
        }
    }
}

/// The best split found for a leaf.
#[derive(Clone, Debug)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    missing_left: bool,
    cat: Option<[u64; 4]>,
    left: Stats,
    right: Stats,
    left_value: f64,
    right_value: f64,
}

/// What growth needs beyond the rows: the data, limits and the features allowed.
pub(crate) struct Grower<'a> {
    pub binned: &'a Binned,
    /// Sample weights of the rows (row counts are weighted counts).
    pub weights: Option<&'a [f64]>,
    pub layout: &'a Layout,
    pub params: &'a GrowParams,
}

/// Features summed per pass over the rows: their four histogram blocks (16 KiB) stay in L1,
/// and four independent update chains hide the store-to-load latency when many rows share a
/// bin (measured: 0.32 ns per update vs 0.40 one feature at a time on uniform bins, 0.62 vs
/// 2.3 on skewed ones).
const GROUP: usize = 4;

/// Rows ahead whose bins are prefetched on the sparse path.
const PREFETCH_AHEAD: usize = 24;

/// Asks the CPU to fetch the cache line of `c[i]` (a hint: nothing is read, an index past the
/// end is harmless).
#[inline(always)]
#[allow(unsafe_code)]
fn prefetch_byte(c: &[u8], i: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only hints the cache: it never faults and reads nothing into the
    // program, whatever the address; SSE is part of the x86_64 baseline. The address is formed
    // with `wrapping_add` and never dereferenced.
    unsafe {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        _mm_prefetch::<_MM_HINT_T0>(c.as_ptr().wrapping_add(i).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (c, i);
}

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
    let mut hs: Vec<&mut [[f64; 2]; STRIDE]> = Vec::with_capacity(GROUP);
    let mut cs: Vec<&[u8]> = Vec::with_capacity(GROUP);
    for (c, block) in cols.iter().zip(blocks.chunks_exact_mut(STRIDE)) {
        if let (Some(c), Ok(h)) = (c, <&mut [[f64; 2]; STRIDE]>::try_from(block)) {
            hs.push(h);
            cs.push(c);
        }
    }
    match (hs.as_mut_slice(), cs.as_slice()) {
        ([h0, h1, h2, h3], [c0, c1, c2, c3]) => {
            let add = |h: &mut [[f64; 2]; STRIDE], b: u8, g: f64, hs: f64| {
                let e = &mut h[b as usize];
                e[0] += g;
                e[1] += hs;
            };
            match rows {
                None => {
                    let n = og.len();
                    let (c0, c1, c2, c3) = (&c0[..n], &c1[..n], &c2[..n], &c3[..n]);
                    for i in 0..n {
                        let (g, h) = (f64::from(og[i][0]), f64::from(og[i][1]));
                        add(h0, c0[i], g, h);
                        add(h1, c1[i], g, h);
                        add(h2, c2[i], g, h);
                        add(h3, c3[i], g, h);
                    }
                }
                Some(rows) if prefetch => {
                    for (i, (o, &r)) in og.iter().zip(rows).enumerate() {
                        if let Some(&q) = rows.get(i + PREFETCH_AHEAD) {
                            for c in [c0, c1, c2, c3] {
                                prefetch_byte(c, q as usize);
                            }
                        }
                        let (g, h, r) = (f64::from(o[0]), f64::from(o[1]), r as usize);
                        add(h0, c0[r], g, h);
                        add(h1, c1[r], g, h);
                        add(h2, c2[r], g, h);
                        add(h3, c3[r], g, h);
                    }
                }
                Some(rows) => {
                    for (o, &r) in og.iter().zip(rows) {
                        let (g, h, r) = (f64::from(o[0]), f64::from(o[1]), r as usize);
                        add(h0, c0[r], g, h);
                        add(h1, c1[r], g, h);
                        add(h2, c2[r], g, h);
                        add(h3, c3[r], g, h);
                    }
                }
            }
        }
        _ => {
            for (h, c) in hs.into_iter().zip(cs) {
                accumulate_one(og, rows, c, h);
            }
        }
    }
}

fn accumulate_one(og: &[[f32; 2]], rows: Option<&[u32]>, c: &[u8], h: &mut [[f64; 2]; STRIDE]) {
    match rows {
        None => {
            for (g, &b) in og.iter().zip(c) {
                let e = &mut h[b as usize];
                e[0] += f64::from(g[0]);
                e[1] += f64::from(g[1]);
            }
        }
        Some(rows) => {
            for (g, &r) in og.iter().zip(rows) {
                let e = &mut h[c[r as usize] as usize];
                e[0] += f64::from(g[0]);
                e[1] += f64::from(g[1]);
            }
        }
    }
}

/// Reorders `seg` stably so the rows whose bin in `col` goes left (`lut[bin] == 1`) come
/// first; returns how many. Branch-free (each row is written to both sides and only one
/// cursor advances); large segments are split into chunks partitioned in parallel, then
/// gathered.
#[inline(never)]
fn partition(seg: &mut [u32], scratch: &mut Vec<u32>, col: &[u8], lut: &[u8; 256]) -> usize {
    const CHUNK: usize = 1 << 15;
    #[inline(never)]
    fn split(c: &[u32], col: &[u8], lut: &[u8; 256], l: &mut [u32], r: &mut [u32]) -> usize {
        let (mut a, mut b) = (0usize, 0usize);
        for &x in c {
            let g = usize::from(lut[col[x as usize] as usize]);
            l[a] = x;
            r[b] = x;
            a += g;
            b += 1 - g;
        }
        a
    }
    const REGION: usize = 2 * CHUNK + 2;
    // The buffer only grows: every slot read is written first, so old contents never matter
    // (clearing and refilling it cost a memset per split).
    let grow_to = |scratch: &mut Vec<u32>, len: usize| {
        if scratch.len() < len {
            scratch.resize(len, 0);
        }
    };
    if seg.len() < 2 * CHUNK {
        grow_to(scratch, 2 * seg.len() + 2);
        let (l, r) = scratch.split_at_mut(seg.len() + 1);
        let nl = split(seg, col, lut, l, r);
        seg[..nl].copy_from_slice(&l[..nl]);
        let nr = seg.len() - nl;
        seg[nl..].copy_from_slice(&r[..nr]);
        return nl;
    }
    // Each chunk gets a region of the scratch buffer (reused across splits and trees: fresh
    // allocations of this size cost page faults): its left rows, then its right rows.
    grow_to(scratch, seg.len().div_ceil(CHUNK) * REGION);
    let lefts: Vec<usize> = seg
        .par_chunks(CHUNK)
        .zip(scratch.par_chunks_mut(REGION))
        .map(|(c, buf)| {
            let (l, r) = buf.split_at_mut(c.len() + 1);
            let nl = split(c, col, lut, l, r);
            let nr = c.len() - nl;
            buf.copy_within(c.len() + 1..c.len() + 1 + nr, nl);
            nl
        })
        .collect();
    let mut at = 0;
    for (k, &nl) in lefts.iter().enumerate() {
        seg[at..at + nl].copy_from_slice(&scratch[k * REGION..k * REGION + nl]);
        at += nl;
    }
    let n_left = at;
    for (k, &nl) in lefts.iter().enumerate() {
        let len = CHUNK.min(seg.len() - k * CHUNK);
        seg[at..at + len - nl].copy_from_slice(&scratch[k * REGION + nl..k * REGION + len]);
        at += len - nl;
    }
    n_left
}

/// `rayon::join` when `parallel`, else the two closures in turn (waking a worker costs more
/// than a small task).
fn join_if<A: Send, B: Send>(
    parallel: bool,
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    if parallel {
        rayon::join(a, b)
    } else {
        (a(), b())
    }
}

/// Buffers reused across splits and trees.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    gathered: Vec<[f32; 2]>,
    rows: Vec<u32>,
}

/// A leaf during growth.
struct Leaf {
    node: usize,
    start: usize,
    end: usize,
    depth: usize,
    stats: Stats,
    /// Unshrunk output.
    value: f64,
    lo: f64,
    hi: f64,
    hist: Option<Vec<[f64; 2]>>,
    best: Option<Split>,
}

impl Grower<'_> {
    fn t_l1(&self, g: f64) -> f64 {
        let a = self.params.l1;
        if g > a {
            g - a
        } else if g < -a {
            g + a
        } else {
            0.0
        }
    }

    fn output(&self, s: Stats, lo: f64, hi: f64) -> f64 {
        let denom = s.h + self.params.l2;
        let v = if denom > 0.0 {
            -self.t_l1(s.g) / denom
        } else {
            0.0
        };
        v.clamp(lo, hi)
    }

    fn score(&self, s: Stats, out: f64) -> f64 {
        -(2.0 * self.t_l1(s.g) * out + (s.h + self.params.l2) * out * out)
    }

    /// Sums the gradient pairs of `rows` into a new histogram (`STRIDE` entries per
    /// feature; features not `allowed` stay zero). `identity`: `rows` is `0..n` in order.
    ///
    /// Gradients are first gathered in row order (so each feature's pass reads them
    /// sequentially), then features are summed in parallel, [`GROUP`] per task: each task owns
    /// its features' blocks (4 KiB each, in L1), so no reduction is needed and the sums do not
    /// depend on the number of threads.
    // Not inlined: profiles then show histogram building on its own line (ARCHITECTURE.md).
    #[inline(never)]
    fn build_hist(
        &self,
        gh: &[[f32; 2]],
        rows: &[u32],
        identity: bool,
        allowed: &[bool],
        gathered: &mut Vec<[f32; 2]>,
    ) -> Vec<[f64; 2]> {
        let p = self.binned.p;
        let mut hist = vec![[0.0; 2]; p * STRIDE];
        let og: &[[f32; 2]] = if identity {
            &gh[..rows.len()]
        } else {
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
            &*gathered
        };
        let rows = (!identity).then_some(rows);
        let sparse = rows.is_some_and(|r| r.len() * SPARSE < self.binned.n);
        // `offset`: with identity rows, where `og`'s rows start in the columns.
        let fill = |hist: &mut [[f64; 2]], og: &[[f32; 2]], rows: Option<&[u32]>, offset: usize| {
            let task = |(t, blocks): (usize, &mut [[f64; 2]])| {
                let cols = std::array::from_fn(|i| {
                    let j = GROUP * t + i;
                    (j < p && allowed[j]).then(|| &self.binned.col(j)[offset..])
                });
                accumulate_group(og, rows, cols, blocks, sparse);
            };
            if og.len() * p >= PAR_WORK {
                hist.par_chunks_mut(GROUP * STRIDE)
                    .enumerate()
                    .for_each(task);
            } else {
                hist.chunks_mut(GROUP * STRIDE).enumerate().for_each(task);
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
            let mut other = vec![[0.0; 2]; p * STRIDE];
            let offset = if rb.is_none() { half } else { 0 };
            rayon::join(
                || fill(&mut hist, oa, ra, 0),
                || fill(&mut other, ob, rb, offset),
            );
            for (a, b) in hist.iter_mut().zip(&other) {
                a[0] += b[0];
                a[1] += b[1];
            }
        } else {
            fill(&mut hist, og, rows, 0);
        }
        hist
    }

    /// The (weighted) row count of `rows`.
    fn weight_of(&self, rows: &[u32]) -> f64 {
        match self.weights {
            None => rows.len() as f64,
            Some(w) => rows.iter().map(|&r| w[r as usize]).sum(),
        }
    }

    fn can_split(&self, n: f64, h: f64, depth: usize) -> bool {
        self.params.max_depth.is_none_or(|d| depth < d)
            && n >= 2.0 * self.params.min_samples_leaf as f64
            && h >= 2.0 * self.params.min_sum_hessian
    }

    fn valid_sides(&self, l: Stats, r: Stats) -> bool {
        let msl = self.params.min_samples_leaf as f64;
        let mh = self.params.min_sum_hessian;
        l.n >= msl && r.n >= msl && l.h >= mh && r.h >= mh && l.h > 0.0 && r.h > 0.0
    }

    /// The best split of a leaf (gain above `min_gain_to_split`), over the allowed features.
    fn best_split(&self, hist: &[[f64; 2]], leaf: &Leaf, allowed: &[bool]) -> Option<Split> {
        let tot = leaf.stats;
        // Count per unit of hessian, to estimate the rows of a candidate side.
        let cf = if tot.h > 0.0 { tot.n / tot.h } else { 0.0 };
        let parent = self.score(tot, leaf.value);
        let mut best: Option<Split> = None;
        for (j, _) in allowed.iter().enumerate().filter(|(_, a)| **a) {
            let nb = self.layout.n_bins[j];
            let h = &hist[j * STRIDE..j * STRIDE + nb + 1];
            let cand = if self.layout.categorical[j] {
                self.best_categorical(j, h, tot, cf, parent, leaf)
            } else {
                self.best_numeric(j, h, tot, cf, parent, leaf)
            };
            if let Some(c) = cand
                && best.as_ref().is_none_or(|b| c.gain > b.gain)
            {
                best = Some(c);
            }
        }
        best.filter(|b| b.gain > self.params.min_gain && b.gain > 0.0)
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn consider(
        &self,
        best: &mut Option<Split>,
        j: usize,
        l: Stats,
        r: Stats,
        parent: f64,
        leaf: &Leaf,
        place: (u8, bool, Option<[u64; 4]>),
    ) {
        if !self.valid_sides(l, r) {
            return;
        }
        let mono = self.params.monotonic.get(j).copied().unwrap_or(0);
        let gain = if mono == 0 && leaf.lo == f64::NEG_INFINITY && leaf.hi == f64::INFINITY {
            // No bound can bind: each side scores T(G)²/(H + l2) (its optimal output's score),
            // without computing the outputs of candidates that lose.
            let (tl, tr) = (self.t_l1(l.g), self.t_l1(r.g));
            let l2 = self.params.l2;
            tl * tl / (l.h + l2) + tr * tr / (r.h + l2) - parent
        } else {
            let lv = self.output(l, leaf.lo, leaf.hi);
            let rv = self.output(r, leaf.lo, leaf.hi);
            match mono {
                1 if lv > rv => return,
                -1 if lv < rv => return,
                _ => {}
            }
            self.score(l, lv) + self.score(r, rv) - parent
        };
        if best.as_ref().is_none_or(|b| gain > b.gain) {
            let lv = self.output(l, leaf.lo, leaf.hi);
            let rv = self.output(r, leaf.lo, leaf.hi);
            *best = Some(Split {
                gain,
                feature: j,
                bin: place.0,
                missing_left: place.1,
                cat: place.2,
                left: l,
                right: r,
                left_value: lv,
                right_value: rv,
            });
        }
    }

    fn best_numeric(
        &self,
        j: usize,
        h: &[[f64; 2]],
        tot: Stats,
        cf: f64,
        parent: f64,
        leaf: &Leaf,
    ) -> Option<Split> {
        let nb = h.len() - 1;
        let mut miss = Stats::default();
        miss.add(h[nb], cf);
        let has_missing = miss.n > 0.0 || miss.h > 0.0;
        let mut best = None;
        // Missing values right: thresholds 0..nb-1, and nb-1 (everything present left,
        // missing alone right) when there are missing values.
        let last = if has_missing { nb } else { nb - 1 };
        let mut l = Stats::default();
        for (t, &e) in h[..last].iter().enumerate() {
            if e == [0.0; 2] {
                // An empty bin: the same partition as the previous threshold.
                continue;
            }
            l.add(e, cf);
            let r = tot.minus(l);
            let missing_left = if has_missing { false } else { l.n >= r.n };
            self.consider(
                &mut best,
                j,
                l,
                r,
                parent,
                leaf,
                (t as u8, missing_left, None),
            );
        }
        if has_missing {
            let mut l = miss;
            for (t, &e) in h[..nb - 1].iter().enumerate() {
                if e == [0.0; 2] {
                    continue;
                }
                l.add(e, cf);
                let r = tot.minus(l);
                self.consider(&mut best, j, l, r, parent, leaf, (t as u8, true, None));
            }
        }
        best
    }

    fn best_categorical(
        &self,
        j: usize,
        h: &[[f64; 2]],
        tot: Stats,
        cf: f64,
        parent: f64,
        leaf: &Leaf,
    ) -> Option<Split> {
        let smooth = MIN_CAT_SUPPORT;
        let mut cands: Vec<(usize, Stats)> = h
            .iter()
            .enumerate()
            .filter_map(|(b, &e)| {
                let mut s = Stats::default();
                s.add(e, cf);
                (s.n >= MIN_CAT_SUPPORT && s.h > 0.0).then_some((b, s))
            })
            .collect();
        if cands.len() < 2 {
            return None;
        }
        cands.sort_by(|a, b| {
            (a.1.g / (a.1.h + smooth))
                .total_cmp(&(b.1.g / (b.1.h + smooth)))
                .then(a.0.cmp(&b.0))
        });
        let nb = h.len() - 1;
        let max_used = cands.len().div_ceil(2);
        let mut best = None;
        for reverse in [false, true] {
            let mut l = Stats::default();
            let mut set = [0u64; 4];
            for i in 0..max_used.min(cands.len() - 1) {
                let (b, s) = if reverse {
                    cands[cands.len() - 1 - i]
                } else {
                    cands[i]
                };
                l.g += s.g;
                l.h += s.h;
                l.n += s.n;
                set[b >> 6] |= 1 << (b & 63);
                let r = tot.minus(l);
                let missing_left = set[nb >> 6] >> (nb & 63) & 1 == 1;
                self.consider(
                    &mut best,
                    j,
                    l,
                    r,
                    parent,
                    leaf,
                    (0, missing_left, Some(set)),
                );
            }
        }
        best
    }

    /// Grows a tree on the rows `rows` (reordered in place: each leaf's rows end up
    /// contiguous). Returns the tree (leaf values unshrunk) and, per leaf node, its range in
    /// `rows`.
    pub fn grow(
        &self,
        gh: &[[f32; 2]],
        rows: &mut [u32],
        identity: bool,
        allowed: &[bool],
        scratch: &mut Scratch,
    ) -> (BinTree, Vec<(usize, usize, usize)>) {
        let hist = self.build_hist(gh, rows, identity, allowed, &mut scratch.gathered);
        let mut stats = Stats {
            n: self.weight_of(rows),
            ..Stats::default()
        };
        // Totals from the first allowed feature's bins (every row is in exactly one).
        if let Some(j) = allowed.iter().position(|&a| a) {
            for e in &hist[j * STRIDE..j * STRIDE + self.layout.n_bins[j] + 1] {
                stats.g += e[0];
                stats.h += e[1];
            }
        }
        let mut root = Leaf {
            node: 0,
            start: 0,
            end: rows.len(),
            depth: 0,
            stats,
            value: 0.0,
            lo: f64::NEG_INFINITY,
            hi: f64::INFINITY,
            hist: None,
            best: None,
        };
        root.value = self.output(stats, root.lo, root.hi);
        let mut nodes = vec![BinNode::leaf(root.value, rows.len())];
        if self.can_split(stats.n, stats.h, 0) {
            root.best = self.best_split(&hist, &root, allowed);
            root.hist = Some(hist);
        }
        let max_leaves = self.params.max_leaf_nodes.unwrap_or(usize::MAX);
        let mut leaves = vec![root];
        while leaves.len() < max_leaves {
            let Some(i) = leaves
                .iter()
                .enumerate()
                .filter_map(|(i, l)| l.best.as_ref().map(|b| (i, b.gain)))
                .fold(None, |acc: Option<(usize, f64)>, (i, g)| match acc {
                    Some((_, bg)) if bg >= g => acc,
                    _ => Some((i, g)),
                })
                .map(|(i, _)| i)
            else {
                break;
            };
            let mut leaf = leaves.swap_remove(i);
            let Some(split) = leaf.best.take() else {
                break;
            };
            // Partition the leaf's rows, stably: left rows first.
            let f = split.feature;
            let col = self.binned.col(f);
            let nb = self.layout.n_bins[f] as u8;
            let node = BinNode {
                feature: f as u32,
                bin: split.bin,
                missing_bin: nb,
                missing_left: split.missing_left,
                cat: split.cat,
                left: nodes.len() as u32,
                right: nodes.len() as u32 + 1,
                value: leaf.value,
                gain: split.gain,
                count: (leaf.end - leaf.start) as u32,
            };
            let mut lut = [0u8; 256];
            for (b, l) in lut.iter_mut().enumerate() {
                *l = u8::from(node.goes_left(b as u8));
            }
            let nl = partition(
                &mut rows[leaf.start..leaf.end],
                &mut scratch.rows,
                col,
                &lut,
            );
            let (li, ri) = (node.left as usize, node.right as usize);
            nodes[leaf.node] = node;
            let depth = leaf.depth + 1;
            let mid = leaf.start + nl;
            let mut left = Leaf {
                node: li,
                start: leaf.start,
                end: mid,
                depth,
                stats: Stats {
                    n: self.weight_of(&rows[leaf.start..mid]),
                    ..split.left
                },
                value: split.left_value,
                lo: leaf.lo,
                hi: leaf.hi,
                hist: None,
                best: None,
            };
            let mut right = Leaf {
                node: ri,
                start: mid,
                end: leaf.end,
                depth,
                stats: Stats {
                    n: self.weight_of(&rows[mid..leaf.end]),
                    ..split.right
                },
                value: split.right_value,
                lo: leaf.lo,
                hi: leaf.hi,
                hist: None,
                best: None,
            };
            let m = (split.left_value + split.right_value) / 2.0;
            match self.params.monotonic.get(f).copied().unwrap_or(0) {
                1 => {
                    left.hi = left.hi.min(m);
                    right.lo = right.lo.max(m);
                }
                -1 => {
                    left.lo = left.lo.max(m);
                    right.hi = right.hi.min(m);
                }
                _ => {}
            }
            nodes.push(BinNode::leaf(left.value, mid - leaf.start));
            nodes.push(BinNode::leaf(right.value, leaf.end - mid));
            let split_l = self.can_split(left.stats.n, left.stats.h, depth);
            let split_r = self.can_split(right.stats.n, right.stats.h, depth);
            if (split_l || split_r)
                && leaves.len() + 2 < max_leaves
                && let Some(mut parent_hist) = leaf.hist.take()
            {
                let left_small = mid - leaf.start <= leaf.end - mid;
                let (small, large) = if left_small {
                    (&mut left, &mut right)
                } else {
                    (&mut right, &mut left)
                };
                let small_hist = self.build_hist(
                    gh,
                    &rows[small.start..small.end],
                    false,
                    allowed,
                    &mut scratch.gathered,
                );
                for (a, b) in parent_hist.iter_mut().zip(&small_hist) {
                    a[0] -= b[0];
                    a[1] -= b[1];
                }
                small.hist = Some(small_hist);
                large.hist = Some(parent_hist);
                let (sl, sr) = if left_small {
                    (split_l, split_r)
                } else {
                    (split_r, split_l)
                };
                let (bs, bl) = join_if(
                    self.binned.n >= 1 << 15,
                    || {
                        sl.then(|| {
                            small
                                .hist
                                .as_deref()
                                .and_then(|h| self.best_split(h, small, allowed))
                        })
                        .flatten()
                    },
                    || {
                        sr.then(|| {
                            large
                                .hist
                                .as_deref()
                                .and_then(|h| self.best_split(h, large, allowed))
                        })
                        .flatten()
                    },
                );
                small.best = bs;
                large.best = bl;
                if small.best.is_none() {
                    small.hist = None;
                }
                if large.best.is_none() {
                    large.hist = None;
                }
            }
            leaves.push(left);
            leaves.push(right);
        }
        let ranges = leaves.iter().map(|l| (l.node, l.start, l.end)).collect();
        (BinTree { nodes }, ranges)
    }
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
        let layout = Layout {
            n_bins: vec![252; p],
            categorical: vec![false; p],
        };
        let params = GrowParams {
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            min_sum_hessian: 1e-3,
            l1: 0.0,
            l2: 0.0,
            min_gain: 0.0,
            monotonic: vec![0; p],
        };
        let g = Grower {
            binned: &binned,
            weights: None,
            layout: &layout,
            params: &params,
        };
        let gh: Vec<[f32; 2]> = (0..n).map(|i| [(i % 17) as f32 - 8.0, 0.25]).collect();
        let allowed = [true, true, false, true, true];
        let all: Vec<u32> = (0..n as u32).collect();
        let some: Vec<u32> = (0..n as u32).filter(|r| r % 3 == 1).collect();
        let mut buf = Vec::new();
        for (rows, identity) in [(&all, true), (&all, false), (&some, false)] {
            let h = g.build_hist(&gh, rows, identity, &allowed, &mut buf);
            let mut want = vec![[0.0f64; 2]; p * STRIDE];
            for j in (0..p).filter(|&j| allowed[j]) {
                for &r in rows.iter() {
                    let e = &mut want[j * STRIDE + binned.col(j)[r as usize] as usize];
                    e[0] += f64::from(gh[r as usize][0]);
                    e[1] += f64::from(gh[r as usize][1]);
                }
            }
            assert_eq!(h, want, "identity {identity}, {} rows", rows.len());
        }
    }

    #[test]
    fn partition_is_stable_on_both_paths() {
        for n in [10usize, 1000, 200_000] {
            let col: Vec<u8> = (0..n).map(|i| ((i * 7919) % 251) as u8).collect();
            let mut lut = [0u8; 256];
            lut[..100].iter_mut().for_each(|l| *l = 1);
            let mut seg: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 0).collect();
            let expect_l: Vec<u32> = seg
                .iter()
                .copied()
                .filter(|&r| col[r as usize] < 100)
                .collect();
            let expect_r: Vec<u32> = seg
                .iter()
                .copied()
                .filter(|&r| col[r as usize] >= 100)
                .collect();
            let mut scratch = Vec::new();
            let nl = partition(&mut seg, &mut scratch, &col, &lut);
            assert_eq!(nl, expect_l.len());
            assert_eq!(&seg[..nl], expect_l.as_slice());
            assert_eq!(&seg[nl..], expect_r.as_slice());
        }
    }
}
