//! The split search of one feature at a node by sorting its rows (see the [module
//! docs](super::grow)): the best threshold (CART), or one random threshold (Extremely
//! Randomized Trees). Features with few values search by bins instead (`bins.rs`).

use smelt_core::rng::Rng;

use super::FEATURE_THRESHOLD;
use super::bins::BINS_SMALL;
use super::columns::{PREFETCH_AHEAD, with_ranks};
use super::grow::{Builder, Candidate, Cut, NodeData, RegLoss, Scratch, Target, Totals, better};
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
        with_ranks!(self.cols, f, |ranks| {
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
        let keys = &s.keys;
        let m = keys.len();
        let msl = self.grow.min_samples_leaf;
        let n_out = t.sums.len();
        s.left.clear();
        s.left.resize(n_out, 0.0);
        s.right.clear();
        s.right.resize(n_out, 0.0);
        let mut wl = 0.0;
        let mut best: Option<(f64, usize)> = None;
        // Positions leaving fewer than `msl` rows on a side are never candidates.
        let (first, last) = (msl.max(1), m.saturating_sub(msl));
        if absolute {
            // Absolute errors of every prefix and suffix (scikit-learn's two Fenwick passes).
            s.left_ae.clear();
            s.right_ae.clear();
            s.right_ae.resize(m, 0.0);
            s.fenwick.reset(m);
            for &k in keys.iter() {
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
        for pos in 0..m - 1 {
            wl += self.add_left(nd, keys[pos] as u32 as usize, &mut s.left);
            let nl = pos + 1;
            if nl < first || nl > last {
                continue;
            }
            let (ka, kb) = ((keys[pos] >> 32) as usize, (keys[pos + 1] >> 32) as usize);
            if same(ka, kb) {
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
        match best {
            None => Candidate::NoSplit,
            Some((proxy, pos)) => Candidate::Split(
                proxy,
                Cut::Ranks((keys[pos - 1] >> 32) as u32, (keys[pos] >> 32) as u32),
            ),
        }
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
