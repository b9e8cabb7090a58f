//! Split search: the best split of a leaf over its histogram, numeric thresholds (with the
//! missing bin tried on either side) and categorical subsets, scored with L1/L2
//! regularisation under the leaf's monotonic bounds. The gain, the row-count estimate and the
//! categorical and monotonic rules are described in the parent module.

use super::scan::{Job, Missing, SCAN, ScanBuf};
use super::types::{Grower, Leaf, STRIDE, Split, Stats};

/// Fewest rows per category for a categorical split candidate (scikit-learn's `MIN_CAT_SUPPORT`).
const MIN_CAT_SUPPORT: f64 = 10.0;

/// The threshold scans of numeric feature `j` (bins `h`, its missing bin last), in the order
/// they are tried: missing values right (thresholds `0..nb-1`, and `nb-1` — everything
/// present left, missing alone right — when there are missing values), then, when there are
/// any, missing values left.
fn numeric_jobs(j: usize, h: &[[f64; 2]], cf: f64) -> [Option<Job<'_>>; 2] {
    let nb = h.len() - 1;
    let mut miss = Stats::default();
    miss.add(h[nb], cf);
    let has_missing = miss.n > 0.0 || miss.h > 0.0;
    let last = if has_missing { nb } else { nb - 1 };
    let right = Job {
        j,
        h: &h[..last],
        start: Stats::default(),
        missing: if has_missing {
            Missing::Right
        } else {
            Missing::ByCount
        },
    };
    let left = has_missing.then(|| Job {
        j,
        h: &h[..nb - 1],
        start: miss,
        missing: Missing::Left,
    });
    [Some(right), left]
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
        let ctx = (tot, cf, parent, leaf);
        // Unconstrained leaves without L1 scan numeric features branch-free, two scans at a
        // time (`scan.rs`); each scan's best joins `best` in the search's order (features in
        // turn, missing values right before left), as scoring one by one would take them.
        let free_leaf =
            self.params.l1 == 0.0 && leaf.lo == f64::NEG_INFINITY && leaf.hi == f64::INFINITY;
        let search = |buf: &mut ScanBuf| {
            let mut best: Option<Split> = None;
            let mut pending: Option<Job> = None;
            for (i, block) in hist.chunks(STRIDE).enumerate() {
                let j = first + i;
                if !allowed.get(j).copied().unwrap_or(false) {
                    continue;
                }
                let nb = self.layout.n_bins[j];
                let h = &block[..=nb];
                let free = free_leaf && self.params.monotonic.get(j).copied().unwrap_or(0) == 0;
                if self.layout.categorical[j] || !free {
                    if let Some(p) = pending.take() {
                        best = better(best, self.scan_one(&p, ctx, buf));
                    }
                    let cand = if self.layout.categorical[j] {
                        self.best_categorical(j, h, tot, cf, parent, leaf)
                    } else {
                        self.best_numeric(j, h, tot, cf, parent, leaf)
                    };
                    best = better(best, cand);
                    continue;
                }
                for job in numeric_jobs(j, h, cf).into_iter().flatten() {
                    match pending.take() {
                        None => pending = Some(job),
                        Some(p) => {
                            let (a, b) = self.scan_two(&p, &job, ctx, buf);
                            best = better(better(best, a), b);
                        }
                    }
                }
            }
            if let Some(p) = pending {
                best = better(best, self.scan_one(&p, ctx, buf));
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

    /// A numeric feature's best threshold on a leaf with bounds or L1, or a feature with a
    /// monotonic constraint: each candidate scored in turn ([`Self::consider`]).
    fn best_numeric(
        &self,
        j: usize,
        h: &[[f64; 2]],
        tot: Stats,
        cf: f64,
        parent: f64,
        leaf: &Leaf,
    ) -> Option<Split> {
        let mut best = None;
        for job in numeric_jobs(j, h, cf).into_iter().flatten() {
            let mut l = job.start;
            for (t, &e) in job.h.iter().enumerate() {
                if e == [0.0; 2] {
                    // An empty bin: the same partition as the previous threshold.
                    continue;
                }
                l.add(e, cf);
                let r = tot.minus(l);
                let place = (t as u8, job.missing.left(l, r), None);
                self.consider(&mut best, j, l, r, parent, leaf, place);
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
}

#[cfg(test)]
mod tests {
    use super::super::super::bin::Binned;
    use super::super::types::{GrowParams, Layout};
    use super::*;

    #[test]
    fn paired_scans_find_the_splits_of_scoring_one_by_one() {
        // Seven features: numeric ones of many and few bins, sparse and dense histograms,
        // with and without missing values (the last bin), and a categorical one that breaks
        // the pairs; the branch-free paired scans must pick what `consider` picks one by one.
        let n_bins = vec![255usize, 3, 40, 255, 17, 1, 100];
        let p = n_bins.len();
        let layout = Layout {
            n_bins: n_bins.clone(),
            categorical: vec![false, false, false, true, false, false, false],
        };
        let params = GrowParams {
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 5,
            min_sum_hessian: 1e-3,
            l1: 0.0,
            l2: 0.5,
            min_gain: 0.0,
            monotonic: vec![0; p],
        };
        let binned = Binned {
            n: 0,
            p,
            bins: Vec::new(),
        };
        let grower = Grower {
            binned: &binned,
            weights: None,
            layout: &layout,
            params: &params,
        };
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let allowed = vec![true; p];
        for round in 0..300 {
            let density = [0.02, 0.2, 0.9][round % 3];
            let mut hist = vec![[0.0f64; 2]; p * STRIDE];
            for (j, &nb) in n_bins.iter().enumerate() {
                for b in 0..=nb {
                    let missing_bin = b == nb;
                    if next() < density && (!missing_bin || round % 2 == 0) {
                        let rows = (1.0 + 30.0 * next()).floor();
                        hist[j * STRIDE + b] = [(next() - 0.45) * rows, rows * 0.25];
                    }
                }
            }
            let mut stats = Stats::default();
            for e in &hist[..=n_bins[0]] {
                stats.g += e[0];
                stats.h += e[1];
            }
            stats.n = (stats.h * 4.0).round();
            let mut leaf = Leaf::root(stats, 0);
            leaf.value = grower.output(stats, leaf.lo, leaf.hi);
            let got = grower.best_in(&hist, 0, &leaf, &allowed);
            let cf = if stats.h > 0.0 {
                stats.n / stats.h
            } else {
                0.0
            };
            let parent = grower.score(stats, leaf.value);
            let mut want = None;
            for (j, &nb) in n_bins.iter().enumerate() {
                let h = &hist[j * STRIDE..=j * STRIDE + nb];
                let cand = if layout.categorical[j] {
                    grower.best_categorical(j, h, stats, cf, parent, &leaf)
                } else {
                    grower.best_numeric(j, h, stats, cf, parent, &leaf)
                };
                want = better(want, cand);
            }
            assert!(
                want.is_some() || density < 0.1,
                "round {round}: no split found"
            );
            assert_eq!(format!("{got:?}"), format!("{want:?}"), "round {round}");
        }
    }
}
