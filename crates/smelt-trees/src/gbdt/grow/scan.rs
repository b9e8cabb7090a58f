//! The numeric threshold scan of unconstrained leaves without L1 (every leaf of the default
//! settings): branch-free and in passes, two features' scans at a time.
//!
//! A scan takes a feature's bins in order, the left side starting from the missing bin's
//! sums when missing values go left, and scores each threshold after a non-empty bin (an
//! empty bin's threshold is the previous partition again) with `G²/(H + l2)` per side, when
//! both sides are valid. It runs in three passes, each simple enough to pipeline: the running
//! sums of the left side (the same additions, in the same order, as `Stats::add` taking bins
//! in turn; the non-empty thresholds compacted), the gain of each (the second pass
//! vectorises; `-inf` when a side is invalid), and the first best. The same candidates and
//! gains as scoring each threshold in turn, so the same splits; the branches of one pass over
//! the bins (empty bin, invalid side, new best) mispredicted on every sparse histogram.
//!
//! The running sums are a chain of dependent additions (4 cycles each), which bounded the
//! first pass: two scans' chains (two features, or one feature's two missing-value
//! directions) run interleaved in one loop.

use std::cell::RefCell;

use super::types::{Grower, Leaf, STRIDE, Split, Stats};

/// A scan's running sums of the left side at each kept (non-empty) threshold, and its bin.
pub(super) struct Sums {
    g: [f64; STRIDE],
    h: [f64; STRIDE],
    n: [f64; STRIDE],
    bin: [u8; STRIDE],
}

/// Two scans' sums and one scan's gains.
pub(super) struct ScanBuf {
    a: Sums,
    b: Sums,
    gain: [f64; STRIDE],
}

impl Sums {
    const fn new() -> Self {
        Sums {
            g: [0.0; STRIDE],
            h: [0.0; STRIDE],
            n: [0.0; STRIDE],
            bin: [0; STRIDE],
        }
    }
}

impl ScanBuf {
    pub const fn new() -> Self {
        ScanBuf {
            a: Sums::new(),
            b: Sums::new(),
            gain: [0.0; STRIDE],
        }
    }
}

thread_local! {
    /// Each thread's scan buffers (12 KiB), taken per search of a leaf's features: zeroing
    /// them per search was 3.5 % of the noisy table's instructions, and every entry a scan
    /// reads, it wrote first.
    pub(super) static SCAN: RefCell<ScanBuf> = const { RefCell::new(ScanBuf::new()) };
}

/// Where a scan's candidates send missing values.
#[derive(Clone, Copy, Debug)]
pub(super) enum Missing {
    /// None seen: to the side with more rows.
    ByCount,
    Right,
    Left,
}

impl Missing {
    pub fn left(self, l: Stats, r: Stats) -> bool {
        match self {
            Missing::ByCount => l.n >= r.n,
            Missing::Right => false,
            Missing::Left => true,
        }
    }
}

/// One threshold scan: feature `j`'s bins `h`, the left side from `start`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Job<'h> {
    pub j: usize,
    pub h: &'h [[f64; 2]],
    pub start: Stats,
    pub missing: Missing,
}

/// One bin of a scan's first pass. Branch-free: an empty bin adds zeros, which leaves the sums
/// as they are (they start at +0.0 and an exact zero sum is +0.0, so none is ever −0.0, the
/// one value adding +0.0 would change), and it is written but not kept.
#[inline(always)]
fn step(l: &mut Stats, k: &mut usize, t: usize, e: [f64; 2], cf: f64, o: &mut Sums) {
    l.add(e, cf);
    let i = *k & (STRIDE - 1);
    o.g[i] = l.g;
    o.h[i] = l.h;
    o.n[i] = l.n;
    o.bin[i] = t as u8;
    *k += usize::from((e[0] != 0.0) | (e[1] != 0.0));
}

/// The first pass of two scans, interleaved; the kept thresholds of each.
fn prefix_two(a: &Job, b: &Job, cf: f64, sa: &mut Sums, sb: &mut Sums) -> (usize, usize) {
    let (mut la, mut lb) = (a.start, b.start);
    let (mut ka, mut kb) = (0, 0);
    let m = a.h.len().min(b.h.len());
    for (t, (&ea, &eb)) in a.h[..m].iter().zip(&b.h[..m]).enumerate() {
        step(&mut la, &mut ka, t, ea, cf, sa);
        step(&mut lb, &mut kb, t, eb, cf, sb);
    }
    for (t, &e) in a.h.iter().enumerate().skip(m) {
        step(&mut la, &mut ka, t, e, cf, sa);
    }
    for (t, &e) in b.h.iter().enumerate().skip(m) {
        step(&mut lb, &mut kb, t, e, cf, sb);
    }
    (ka, kb)
}

/// The first pass of one scan.
fn prefix_one(a: &Job, cf: f64, sa: &mut Sums) -> usize {
    let (mut l, mut k) = (a.start, 0);
    for (t, &e) in a.h.iter().enumerate() {
        step(&mut l, &mut k, t, e, cf, sa);
    }
    k
}

impl Grower<'_> {
    /// Two scans (`b` after `a` in the search's order): each one's best candidate.
    pub(super) fn scan_two(
        &self,
        a: &Job,
        b: &Job,
        ctx: (Stats, f64, f64, &Leaf),
        buf: &mut ScanBuf,
    ) -> (Option<Split>, Option<Split>) {
        let ScanBuf { a: sa, b: sb, gain } = buf;
        let (ka, kb) = prefix_two(a, b, ctx.1, sa, sb);
        (
            self.scan_best(a, sa, ka, gain, ctx),
            self.scan_best(b, sb, kb, gain, ctx),
        )
    }

    /// One scan's best candidate.
    pub(super) fn scan_one(
        &self,
        a: &Job,
        ctx: (Stats, f64, f64, &Leaf),
        buf: &mut ScanBuf,
    ) -> Option<Split> {
        let ScanBuf { a: sa, gain, .. } = buf;
        let ka = prefix_one(a, ctx.1, sa);
        self.scan_best(a, sa, ka, gain, ctx)
    }

    /// The second and third passes over a scan's `k` kept thresholds: the first best valid
    /// one. `ctx`: the leaf's sums, rows per unit of hessian, score, and the leaf.
    fn scan_best(
        &self,
        job: &Job,
        s: &Sums,
        k: usize,
        gains: &mut [f64; STRIDE],
        (tot, _cf, parent, leaf): (Stats, f64, f64, &Leaf),
    ) -> Option<Split> {
        let k = k.min(STRIDE);
        let l2 = self.params.l2;
        let msl = self.params.min_samples_leaf as f64;
        let mh = self.params.min_sum_hessian;
        for (((gain, &gl), &hl), &nl) in gains[..k]
            .iter_mut()
            .zip(&s.g[..k])
            .zip(&s.h[..k])
            .zip(&s.n[..k])
        {
            let (gr, hr, nr) = (tot.g - gl, tot.h - hl, tot.n - nl);
            // `valid_sides`, without branches.
            let valid =
                (nl >= msl) & (nr >= msl) & (hl >= mh) & (hr >= mh) & (hl > 0.0) & (hr > 0.0);
            let g = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent;
            *gain = if valid { g } else { f64::NEG_INFINITY };
        }
        // The largest gain (in four lanes; a NaN never wins, as in a comparison one by one),
        // then its first threshold: where one pass keeping each strictly greater gain would
        // stop.
        let none = f64::NEG_INFINITY;
        let mut lanes = [none; 4];
        let chunks = gains[..k].chunks_exact(4);
        let rest = chunks.remainder();
        for c in chunks {
            for (x, &g) in lanes.iter_mut().zip(c) {
                *x = if g > *x { g } else { *x };
            }
        }
        let top = lanes
            .iter()
            .chain(rest)
            .fold(none, |a, &x| if x > a { x } else { a });
        if top <= none {
            return None;
        }
        let i = gains[..k].iter().position(|&g| g == top)?;
        let l = Stats {
            g: s.g[i],
            h: s.h[i],
            n: s.n[i],
        };
        let r = tot.minus(l);
        Some(Split {
            gain: top,
            feature: job.j,
            bin: s.bin[i],
            missing_left: job.missing.left(l, r),
            cat: None,
            left: l,
            right: r,
            left_value: self.output(l, leaf.lo, leaf.hi),
            right_value: self.output(r, leaf.lo, leaf.hi),
        })
    }
}
