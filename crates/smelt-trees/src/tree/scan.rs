//! The split search of one feature at a node by sorting its rows (see the [module
//! docs](super::grow)): the best threshold (CART), or one random threshold (Extremely
//! Randomized Trees). Features with few values search by bins instead (`bins.rs`).

use smelt_core::rng::Rng;

use super::FEATURE_THRESHOLD;
use super::bins::BINS_SMALL;
use super::builder::{Builder, Candidate, Cut, NodeData, RegLoss, Scratch, Target, Totals, better};
use super::columns::{PREFETCH_AHEAD, with_ranks};
use super::sort::{RADIX_ROWS, radix_sort};

impl Builder<'_> {
    /// The best threshold of feature `f` over `rows`.
    pub(super) fn best_on_feature(
        &self,
        rows: &[u32],
        nd: &NodeData,
        f: usize,
        t: &Totals,
        s: &mut Scratch,
    ) -> Candidate {
        let uniq = &self.cols.uniq[f];
        let absolute = matches!(
            self.target,
            Target::Reg {
                loss: RegLoss::Absolute,
                ..
            }
        );
        if !absolute && uniq.len() <= self.bins_max && uniq.len() <= rows.len().max(BINS_SMALL) {
            return self.best_by_bins(rows, nd, f, t, &mut s.bins);
        }
        let same = |a: usize, b: usize| self.cols.same(f, a, b);
        s.keys.clear();
        let (mut lo, mut hi) = (u32::MAX, 0u32);
        with_ranks!(self.cols, f, rows.len(), |ranks| {
            for (i, &r) in rows.iter().enumerate() {
                if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                    ranks.prefetch(ahead as usize);
                }
                let k = ranks.at(r as usize);
                lo = lo.min(k);
                hi = hi.max(k);
                s.keys.push((u64::from(k) << 32) | i as u64);
            }
        });
        if same(lo as usize, hi as usize) {
            return Candidate::Constant;
        }
        if rows.len() < RADIX_ROWS {
            s.keys.sort_unstable();
        } else {
            radix_sort(&mut s.keys, &mut s.tmp, &mut s.counts, lo, hi - lo);
        }
        let m = s.keys.len();
        let (first, last) = self.left_sizes(m);
        let same_key = |a: u64, b: u64| same((a >> 32) as usize, (b >> 32) as usize);
        let best = match self.target {
            Target::Class {
                k: 2,
                entropy: false,
                ..
            } => scan_gini2(&s.keys, |p| nd.class_of(p), t, first, last, same_key),
            Target::Reg {
                loss: RegLoss::Squared,
                ..
            } => scan_squared(&s.keys, |p| nd.value_of(p), t, first, last, same_key),
            _ => {
                let keys = std::mem::take(&mut s.keys);
                let best = self.scan_general(f, &keys, nd, t, s, first, last);
                s.keys = keys;
                best
            }
        };
        sorted_candidate(&s.keys, best)
    }

    /// The scan of [`Builder::best_on_feature`] for any target: the best (proxy, rows on the
    /// left) over the positions of feature `f`'s sorted `keys` between `first` and `last`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the feature and its sorted keys, the node's data and totals, the buffers and the bounds"
    )]
    fn scan_general(
        &self,
        f: usize,
        keys: &[u64],
        nd: &NodeData,
        t: &Totals,
        s: &mut Scratch,
        first: usize,
        last: usize,
    ) -> Option<(f64, usize)> {
        let absolute = matches!(
            self.target,
            Target::Reg {
                loss: RegLoss::Absolute,
                ..
            }
        );
        let m = keys.len();
        let n_out = t.sums.len();
        s.left.clear();
        s.left.resize(n_out, 0.0);
        s.right.clear();
        s.right.resize(n_out, 0.0);
        if absolute {
            // Absolute errors of every prefix and suffix (scikit-learn's two Fenwick passes).
            s.left_ae.clear();
            s.right_ae.clear();
            s.right_ae.resize(m, 0.0);
            s.fenwick.reset(m);
            for &k in keys {
                let i = k as u32 as usize;
                s.fenwick.add(nd.yrank[i] as usize, nd.y[i], nd.w[i]);
                s.left_ae.push(s.fenwick.abs_error(&nd.sorted_y).0);
            }
            s.fenwick.reset(m);
            for pos in (0..m).rev() {
                let i = keys[pos] as u32 as usize;
                s.fenwick.add(nd.yrank[i] as usize, nd.y[i], nd.w[i]);
                s.right_ae[pos] = s.fenwick.abs_error(&nd.sorted_y).0;
            }
        }
        let m = keys.len();
        let mut wl = 0.0;
        let mut best: Option<(f64, usize)> = None;
        for pos in 0..m - 1 {
            wl += self.add_left(nd, keys[pos] as u32 as usize, &mut s.left);
            let nl = pos + 1;
            if nl < first || nl > last {
                continue;
            }
            let (ka, kb) = ((keys[pos] >> 32) as usize, (keys[pos + 1] >> 32) as usize);
            if self.cols.same(f, ka, kb) {
                continue;
            }
            let proxy = if absolute {
                // scikit-learn's arithmetic: -(W_R·I_R + W_L·I_L) with I = error / W.
                let wr = t.weight - wl;
                -(wr * (s.right_ae[pos + 1] / wr)) - wl * (s.left_ae[pos] / wl)
            } else {
                self.proxy(t, &s.left, wl, &mut s.right)
            };
            // Absolute errors tie exactly far more often than variances (moving a row across
            // the median can keep the sum); scikit-learn then keeps whichever the rounding
            // favours, so within a feature compare as it does.
            let wins = |b: f64| {
                if absolute {
                    proxy > b
                } else {
                    better(proxy, b)
                }
            };
            if best.is_none_or(|(b, _)| wins(b)) {
                best = Some((proxy, nl));
            }
        }
        best
    }

    /// One random threshold of feature `f`, uniform between the node's extremes (scikit-learn's
    /// `RandomSplitter`: a draw equal to the maximum becomes the minimum).
    pub(super) fn random_on_feature(
        &self,
        rows: &[u32],
        nd: &NodeData,
        f: usize,
        t: &Totals,
        rng: &mut Rng,
        s: &mut Scratch,
    ) -> Candidate {
        let (values, p) = (&self.cols.values, self.cols.p);
        s.vals.clear();
        s.vals
            .extend(rows.iter().map(|&r| values[r as usize * p + f]));
        let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
        for &v in &s.vals {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        let (lo, hi) = (f64::from(lo), f64::from(hi));
        if hi <= lo + FEATURE_THRESHOLD {
            return Candidate::Constant;
        }
        let mut thr = lo + (hi - lo) * rng.uniform();
        if thr >= hi {
            thr = lo;
        }
        let n_out = t.sums.len();
        s.left.clear();
        s.left.resize(n_out, 0.0);
        s.right.clear();
        s.right.resize(n_out, 0.0);
        let (mut wl, mut nl) = (0.0, 0usize);
        for (i, &v) in s.vals.iter().enumerate() {
            if f64::from(v) <= thr {
                wl += self.add_left(nd, i, &mut s.left);
                nl += 1;
            }
        }
        let msl = self.grow.min_samples_leaf;
        if nl < msl.max(1) || rows.len() - nl < msl.max(1) {
            return Candidate::NoSplit;
        }
        if let Target::Reg {
            loss: RegLoss::Absolute,
            ..
        } = self.target
        {
            let go_left = |i: &usize| f64::from(s.vals[*i]) <= thr;
            let m = rows.len();
            let (ael, _) = self.abs_error_of(nd, (0..m).filter(go_left), &mut s.fenwick);
            let (aer, _) = self.abs_error_of(nd, (0..m).filter(|i| !go_left(i)), &mut s.fenwick);
            let wr = t.weight - wl;
            return Candidate::Split(-(wr * (aer / wr)) - wl * (ael / wl), Cut::Value(thr));
        }
        Candidate::Split(self.proxy(t, &s.left, wl, &mut s.right), Cut::Value(thr))
    }
}

/// The candidate of a sorted scan's best `(proxy, rows on the left)` over `keys`: a cut
/// between the rank of the last row going left and that of the first going right.
pub(super) fn sorted_candidate(keys: &[u64], best: Option<(f64, usize)>) -> Candidate {
    match best {
        None => Candidate::NoSplit,
        Some((proxy, pos)) => Candidate::Split(
            proxy,
            Cut::Ranks((keys[pos - 1] >> 32) as u32, (keys[pos] >> 32) as u32),
        ),
    }
}

/// [`Builder::best_on_feature`]'s scan for two classes and the Gini criterion: the general
/// scan's arithmetic (so the same proxies, bit for bit), with the two class totals in
/// registers instead of a loop over a vector of classes.
///
/// `row` gives the weight and class of a key's payload (a position in the node, or a row).
pub(super) fn scan_gini2(
    keys: &[u64],
    row: impl Fn(u64) -> (f64, u32),
    t: &Totals,
    first: usize,
    last: usize,
    same: impl Fn(u64, u64) -> bool,
) -> Option<(f64, usize)> {
    let (t0, t1, total) = (t.sums[0], t.sums[1], t.weight);
    let (mut l0, mut l1, mut wl) = (0.0f64, 0.0f64, 0.0f64);
    let mut best: Option<(f64, usize)> = None;
    // Candidates below `bar` (in `ql/wl + qr/wr`, see below) cannot beat the best.
    let mut bar = f64::NEG_INFINITY;
    for (pos, pair) in keys.windows(2).enumerate() {
        let (wi, class) = row(u64::from(pair[0] as u32));
        // Branch-free (labels are noisy): `wi · c` is `wi` or `0` exactly, so the sums are
        // those of adding `wi` to its class.
        let one = wi * f64::from(class);
        l1 += one;
        l0 += wi - one;
        wl += wi;
        let nl = pos + 1;
        if nl < first || nl > last || same(pair[0], pair[1]) {
            continue;
        }
        let (r0, r1) = (t0 - l0, t1 - l1);
        let (ql, qr) = (l0 * l0 + l1 * l1, r0 * r0 + r1 * r1);
        let wr = total - wl;
        // The proxy is `ql/wl + qr/wr - W`, and `ql/wl + qr/wr` is `(ql·wr + qr·wl)/(wl·wr)`
        // up to a few rounding errors of W: a candidate clearly below the best (by 1e-10·W,
        // far more than any rounding) is passed over without the two divisions.
        if ql * wr + qr * wl < bar * (wl * wr) {
            continue;
        }
        let proxy = ql / wl + qr / wr - total;
        if best.is_none_or(|(b, _)| better(proxy, b)) {
            best = Some((proxy, nl));
            bar = proxy + total - 1e-10 * total;
        }
    }
    best
}

/// [`Builder::best_on_feature`]'s scan for the squared error (the general scan's arithmetic).
///
/// `row` gives the weight and target of a key's payload (a position in the node, or a row).
pub(super) fn scan_squared(
    keys: &[u64],
    row: impl Fn(u64) -> (f64, f64),
    t: &Totals,
    first: usize,
    last: usize,
    same: impl Fn(u64, u64) -> bool,
) -> Option<(f64, usize)> {
    let (sum, total) = (t.sums[0], t.weight);
    let (mut sl, mut wl) = (0.0f64, 0.0f64);
    let mut best: Option<(f64, usize)> = None;
    let mut bar = f64::NEG_INFINITY;
    for (pos, pair) in keys.windows(2).enumerate() {
        let (wi, yi) = row(u64::from(pair[0] as u32));
        sl += wi * yi;
        wl += wi;
        let nl = pos + 1;
        if nl < first || nl > last || same(pair[0], pair[1]) {
            continue;
        }
        let sr = sum - sl;
        let wr = total - wl;
        // `sl²/wl + sr²/wr` is `(sl²·wr + sr²·wl)/(wl·wr)` up to a few roundings of its two
        // non-negative terms: a candidate below the best by a relative 1e-10 is passed over
        // without the divisions.
        let (ql, qr) = (sl * sl, sr * sr);
        if ql * wr + qr * wl < bar * (wl * wr) {
            continue;
        }
        let proxy = ql / wl + qr / wr;
        if best.is_none_or(|(b, _)| better(proxy, b)) {
            best = Some((proxy, nl));
            bar = proxy - 1e-10 * proxy.abs();
        }
    }
    best
}
