//! Split search: the best split of a leaf over its histogram, numeric thresholds (with the
//! missing bin tried on either side) and categorical subsets, scored with L1/L2
//! regularisation under the leaf's monotonic bounds. The gain, the row-count estimate and the
//! categorical and monotonic rules are described in the parent module.

use std::cell::RefCell;

use super::types::{Grower, Leaf, STRIDE, Split, Stats};

/// Fewest rows per category for a categorical split candidate (scikit-learn's `MIN_CAT_SUPPORT`).
const MIN_CAT_SUPPORT: f64 = 10.0;

/// Per-threshold buffers of a numeric scan (one set per search of a leaf's features, so they
/// are zeroed once, not per feature): the left side's running sums at each non-empty bin,
/// its gain, and the bin.
pub(super) struct ScanBuf {
    g: [f64; STRIDE],
    h: [f64; STRIDE],
    n: [f64; STRIDE],
    gain: [f64; STRIDE],
    bin: [u8; STRIDE],
}

impl ScanBuf {
    const fn new() -> Self {
        ScanBuf {
            g: [0.0; STRIDE],
            h: [0.0; STRIDE],
            n: [0.0; STRIDE],
            gain: [0.0; STRIDE],
            bin: [0; STRIDE],
        }
    }
}

thread_local! {
    /// Each thread's scan buffers: taken per search of a leaf's features, they were zeroed
    /// each time (8 KiB, 3.5 % of the noisy table's instructions); every entry a scan reads,
    /// it wrote first.
    static SCAN: RefCell<ScanBuf> = const { RefCell::new(ScanBuf::new()) };
}

/// The better of two candidates, `a` on a tie (`a` comes from earlier features).
pub(super) fn better(a: Option<Split>, b: Option<Split>) -> Option<Split> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.gain > a.gain { b } else { a }),
        (a, None) => a,
        (None, b) => b,
    }
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

    /// The output of a leaf with sums `s`, clamped to `[lo, hi]`.
    pub(super) fn output(&self, s: Stats, lo: f64, hi: f64) -> f64 {
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

    fn valid_sides(&self, l: Stats, r: Stats) -> bool {
        let msl = self.params.min_samples_leaf as f64;
        let mh = self.params.min_sum_hessian;
        l.n >= msl && r.n >= msl && l.h >= mh && r.h >= mh && l.h > 0.0 && r.h > 0.0
    }

    /// The best split of a leaf (gain above `min_gain_to_split`), over the allowed features.
    pub(super) fn best_split(
        &self,
        hist: &[[f64; 2]],
        leaf: &Leaf,
        allowed: &[bool],
    ) -> Option<Split> {
        self.accept(self.best_in(hist, 0, leaf, allowed))
    }

    /// The best candidate over the features whose histogram blocks `hist` holds ([`STRIDE`]
    /// entries each, the first being feature `first`), the allowed ones only, before the
    /// minimum gain applies ([`Self::accept`]): the best of several groups' candidates, taken
    /// in feature order with a strictly greater gain, is the best over all their features.
    pub(super) fn best_in(
        &self,
        hist: &[[f64; 2]],
        first: usize,
        leaf: &Leaf,
        allowed: &[bool],
    ) -> Option<Split> {
        let tot = leaf.stats;
        // Count per unit of hessian, to estimate the rows of a candidate side.
        let cf = if tot.h > 0.0 { tot.n / tot.h } else { 0.0 };
        let parent = self.score(tot, leaf.value);
        let search = |buf: &mut ScanBuf| {
            let mut best: Option<Split> = None;
            for (i, block) in hist.chunks(STRIDE).enumerate() {
                let j = first + i;
                if !allowed.get(j).copied().unwrap_or(false) {
                    continue;
                }
                let nb = self.layout.n_bins[j];
                let h = &block[..=nb];
                let cand = if self.layout.categorical[j] {
                    self.best_categorical(j, h, tot, cf, parent, leaf)
                } else {
                    self.best_numeric(j, h, tot, cf, parent, leaf, buf)
                };
                best = better(best, cand);
            }
            best
        };
        SCAN.with(|cell| match cell.try_borrow_mut() {
            Ok(mut buf) => search(&mut buf),
            // Never expected (a search does not nest), but a fresh buffer would do.
            Err(_) => search(&mut ScanBuf::new()),
        })
    }

    /// `best` when its gain exceeds `min_gain_to_split` (and 0).
    pub(super) fn accept(&self, best: Option<Split>) -> Option<Split> {
        best.filter(|b| b.gain > self.params.min_gain && b.gain > 0.0)
    }

    #[allow(
        clippy::too_many_arguments,
        reason = "a hot kernel over plain slices: a struct would only rename its arguments"
    )]
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

    #[allow(
        clippy::too_many_arguments,
        reason = "a hot kernel over plain slices: a struct would only rename its arguments"
    )]
    fn best_numeric(
        &self,
        j: usize,
        h: &[[f64; 2]],
        tot: Stats,
        cf: f64,
        parent: f64,
        leaf: &Leaf,
        buf: &mut ScanBuf,
    ) -> Option<Split> {
        let nb = h.len() - 1;
        let mut miss = Stats::default();
        miss.add(h[nb], cf);
        let has_missing = miss.n > 0.0 || miss.h > 0.0;
        let mut best = None;
        // Missing values right: thresholds 0..nb-1, and nb-1 (everything present left,
        // missing alone right) when there are missing values.
        let last = if has_missing { nb } else { nb - 1 };
        self.scan(
            &mut best,
            j,
            &h[..last],
            Stats::default(),
            tot,
            cf,
            parent,
            leaf,
            buf,
            |l, r| {
                if has_missing { false } else { l.n >= r.n }
            },
        );
        if has_missing {
            self.scan(
                &mut best,
                j,
                &h[..nb - 1],
                miss,
                tot,
                cf,
                parent,
                leaf,
                buf,
                |_, _| true,
            );
        }
        best
    }

    /// Tries the thresholds of `h` in order, the left side starting from `start` (the
    /// missing bin's sums when missing values go left) and taking each non-empty bin in
    /// turn; `missing_left` gives the default direction of a candidate. Unconstrained leaves
    /// without L1 take a tight path: it rejects invalid sides before anything else and scores
    /// with `G²/(H + l2)` (what [`Self::consider`] computes there), building a [`Split`] only
    /// for a new best; profiles of small tables showed the split search as half the fit.
    #[allow(
        clippy::too_many_arguments,
        reason = "a hot kernel over plain slices: a struct would only rename its arguments"
    )]
    #[inline]
    fn scan(
        &self,
        best: &mut Option<Split>,
        j: usize,
        h: &[[f64; 2]],
        start: Stats,
        tot: Stats,
        cf: f64,
        parent: f64,
        leaf: &Leaf,
        buf: &mut ScanBuf,
        missing_left: impl Fn(Stats, Stats) -> bool,
    ) {
        let free = self.params.l1 == 0.0
            && self.params.monotonic.get(j).copied().unwrap_or(0) == 0
            && leaf.lo == f64::NEG_INFINITY
            && leaf.hi == f64::INFINITY;
        let mut l = start;
        if !free {
            for (t, &e) in h.iter().enumerate() {
                if e == [0.0; 2] {
                    // An empty bin: the same partition as the previous threshold.
                    continue;
                }
                l.add(e, cf);
                let r = tot.minus(l);
                let place = (t as u8, missing_left(l, r), None);
                self.consider(best, j, l, r, parent, leaf, place);
            }
            return;
        }
        // Three passes, each simple enough to pipeline (the second vectorises): the running
        // sums of each non-empty threshold's left side (the same additions, in the same
        // order, as one pass taking bins in turn), the gain of each (`-inf` when a side is
        // invalid), and the first best. The same candidates and gains as scoring each
        // threshold in turn, so the same splits; branches on empty bins and invalid sides
        // mispredicted on every sparse histogram.
        let ScanBuf {
            g: lg,
            h: lh,
            n: ln,
            gain: gains,
            bin,
        } = buf;
        let mut k = 0;
        for (t, &e) in h.iter().enumerate() {
            // Branch-free: an empty bin adds zeros, which leaves the sums as they are (they
            // start at +0.0 and an exact zero sum is +0.0, so none is ever −0.0, the one value
            // adding +0.0 would change), and it is written but not kept (the previous
            // threshold's partition again, not a candidate).
            l.add(e, cf);
            lg[k] = l.g;
            lh[k] = l.h;
            ln[k] = l.n;
            bin[k] = t as u8;
            k += usize::from((e[0] != 0.0) | (e[1] != 0.0));
        }
        let l2 = self.params.l2;
        let msl = self.params.min_samples_leaf as f64;
        let mh = self.params.min_sum_hessian;
        for (((gain, &gl), &hl), &nl) in gains[..k]
            .iter_mut()
            .zip(&lg[..k])
            .zip(&lh[..k])
            .zip(&ln[..k])
        {
            let (gr, hr, nr) = (tot.g - gl, tot.h - hl, tot.n - nl);
            // `valid_sides`, without branches.
            let valid =
                (nl >= msl) & (nr >= msl) & (hl >= mh) & (hr >= mh) & (hl > 0.0) & (hr > 0.0);
            let g = gl * gl / (hl + l2) + gr * gr / (hr + l2) - parent;
            *gain = if valid { g } else { f64::NEG_INFINITY };
        }
        // The largest gain above the best so far (in four lanes; a NaN never wins, as in a
        // comparison one by one), then its first threshold: where one pass keeping each
        // strictly greater gain would stop.
        let bg0 = best.as_ref().map_or(f64::NEG_INFINITY, |b| b.gain);
        let mut lanes = [bg0; 4];
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
            .fold(bg0, |a, &x| if x > a { x } else { a });
        if top > bg0
            && let Some(i) = gains[..k].iter().position(|&g| g == top)
        {
            let l = Stats {
                g: lg[i],
                h: lh[i],
                n: ln[i],
            };
            let r = tot.minus(l);
            *best = Some(Split {
                gain: top,
                feature: j,
                bin: bin[i],
                missing_left: missing_left(l, r),
                cat: None,
                left: l,
                right: r,
                left_value: self.output(l, leaf.lo, leaf.hi),
                right_value: self.output(r, leaf.lo, leaf.hi),
            });
        }
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
}
