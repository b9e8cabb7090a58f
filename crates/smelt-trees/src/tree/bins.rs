//! The best split of a feature with few distinct values, found without sorting: one pass over
//! the node's rows adds each row's weight and target into its rank's bin, then a scan of the
//! bins in rank order evaluates every boundary between two non-empty bins.
//!
//! This is the sorted scan of [`super::grow`] with the rows of one rank taken together: the
//! sorted scan only evaluates boundaries between distinct ranks, and there its left totals are
//! the totals of the bins below, so the candidates, the tie rule, the thresholds and the
//! chosen split are the same. (Sums are added in a different order, which can move a proxy in
//! its last bits; integer weights — bootstrap counts — and class counts are exact either way,
//! and [`better`] treats last-bit differences as ties.)
//!
//! It pays on one-hot columns (two values: the sort of every candidate feature was most of a
//! forest's fit on tables with string categories) and on small integer columns.

use super::builder::{Bins, Builder, Candidate, Cut, NodeData, Target, Totals, better};
use super::columns::{PREFETCH_AHEAD, with_ranks};

/// Features with at most this many distinct values (over the whole fit) may search by bins.
pub(super) const BINS_MAX: usize = 256;
/// ...and do when the node has at least as many rows as the feature has values, or the
/// feature has at most this many (clearing a few bins costs less than any sort).
pub(super) const BINS_SMALL: usize = 16;

impl Builder<'_> {
    /// The best threshold of feature `f` over `rows` (squared error, Gini or entropy), as
    /// [`Builder::best_on_feature`] finds it, by bins.
    pub(super) fn best_by_bins(
        &self,
        rows: &[u32],
        nd: &NodeData,
        f: usize,
        t: &Totals,
        b: &mut Bins,
    ) -> Candidate {
        let uniq = &self.cols.uniq[f];
        let nb = uniq.len();
        let n_out = self.bin_stride();
        if b.count.len() < nb {
            b.count.resize(nb, 0);
            b.weight.resize(nb, 0.0);
        }
        if b.sums.len() < nb * n_out {
            b.sums.resize(nb * n_out, 0.0);
        }
        // Rows at the feature's most frequent rank are not added (see `fill_mode`).
        let mode = self.cols.mode[f];
        let (mut lo, mut hi, mut rest) = (u32::MAX, 0u32, 0usize);
        with_ranks!(self.cols, f, rows.len(), |ranks| match self.target {
            Target::Class { .. } => {
                for (i, &r) in rows.iter().enumerate() {
                    if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                        ranks.prefetch(ahead as usize);
                    }
                    let k = ranks.at(r as usize);
                    if k != mode {
                        lo = lo.min(k);
                        hi = hi.max(k);
                        rest += 1;
                        let (k, w) = (k as usize, nd.w[i]);
                        b.sums[k * n_out + nd.code[i] as usize] += w;
                        b.weight[k] += w;
                        b.count[k] += 1;
                    }
                }
            }
            Target::Reg { .. } => {
                for (i, &r) in rows.iter().enumerate() {
                    if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                        ranks.prefetch(ahead as usize);
                    }
                    let k = ranks.at(r as usize);
                    if k != mode {
                        lo = lo.min(k);
                        hi = hi.max(k);
                        rest += 1;
                        let (k, w) = (k as usize, nd.w[i]);
                        b.sums[k] += w * nd.y[i];
                        b.weight[k] += w;
                        b.count[k] += 1;
                    }
                }
            }
        });
        self.finish_bins(f, t, b, 0, (lo, hi, rest), rows.len())
    }

    /// The candidate of feature `f` from its bins, rank `k`'s at index `off + k` of `b`: the
    /// ranks `lo..=hi` other than the feature's most frequent one hold `rest` of the node's
    /// `m` rows (`lo > hi` when none). Fills the most frequent rank's bin, scans, and leaves
    /// the bins zeroed for the next search.
    pub(super) fn finish_bins(
        &self,
        f: usize,
        t: &Totals,
        b: &mut Bins,
        off: usize,
        (lo, hi, rest): (u32, u32, usize),
        m: usize,
    ) -> Candidate {
        let n_out = self.bin_stride();
        let mode = self.cols.mode[f];
        let (mut lo, mut hi) = (lo, hi);
        if rest < m {
            lo = lo.min(mode);
            hi = hi.max(mode);
            let (lo, hi, mode) = (lo as usize, hi as usize, mode as usize);
            Self::fill_mode(t, b, n_out, off, lo..=hi, mode, (m - rest) as u32);
        }
        let (lo, hi) = (lo as usize, hi as usize);
        let found = if self.cols.same(f, lo, hi) {
            Candidate::Constant
        } else if hi == lo + 1 {
            // Two bins (a one-hot column): the one boundary, as `scan_bins` evaluates it
            // (its left totals are the first bin's, `0 + x` being `x`).
            let (first, last) = self.left_sizes(m);
            let nl = b.count[off + lo] as usize;
            if (first..=last).contains(&nl) {
                let at = (off + lo) * n_out;
                b.right.clear();
                b.right.resize(t.sums.len(), 0.0);
                let left = &b.sums[at..at + n_out];
                let proxy = self.proxy(t, left, b.weight[off + lo], &mut b.right);
                Candidate::Split(proxy, Cut::Ranks(lo as u32, hi as u32))
            } else {
                Candidate::NoSplit
            }
        } else {
            self.scan_bins(f, t, b, off, lo, hi, m)
        };
        let (lo, hi) = (off + lo, off + hi);
        b.sums[lo * n_out..(hi + 1) * n_out].fill(0.0);
        b.weight[lo..=hi].fill(0.0);
        b.count[lo..=hi].fill(0);
        found
    }

    /// The bin of the most frequent rank `mode`, whose `count` rows were not added: the node's
    /// totals less the other bins of `ranks` (bins at `off + rank`). (Class weights and
    /// bootstrap counts are integers, so this is exact; a regression's `Σ w·y` may differ
    /// from the direct sum in its last bits, which [`better`] treats as a tie.)
    fn fill_mode(
        t: &Totals,
        b: &mut Bins,
        n_out: usize,
        off: usize,
        ranks: std::ops::RangeInclusive<usize>,
        mode: usize,
        count: u32,
    ) {
        let mut weight = t.weight;
        let mut sums = [0.0; 8];
        let many = n_out > sums.len();
        let mut rest = if many { vec![0.0; n_out] } else { Vec::new() };
        let acc: &mut [f64] = if many { &mut rest } else { &mut sums[..n_out] };
        acc.copy_from_slice(&t.sums[..n_out]);
        for k in ranks.filter(|&k| k != mode).map(|k| off + k) {
            weight -= b.weight[k];
            for (a, &s) in acc.iter_mut().zip(&b.sums[k * n_out..(k + 1) * n_out]) {
                *a -= s;
            }
        }
        let at = off + mode;
        b.sums[at * n_out..(at + 1) * n_out].copy_from_slice(acc);
        b.weight[at] = weight;
        b.count[at] = count;
    }

    /// Sums per bin: one per class, or `Σ w·y`.
    pub(super) fn bin_stride(&self) -> usize {
        match self.target {
            Target::Class { k, .. } => k,
            Target::Reg { .. } => 1,
        }
    }

    /// Evaluates the boundaries between the non-empty bins of ranks `lo..=hi` (`m` rows; bins
    /// at `off + rank`).
    #[allow(
        clippy::too_many_arguments,
        reason = "the feature, its bins and where they lie, the node's totals and size"
    )]
    fn scan_bins(
        &self,
        f: usize,
        t: &Totals,
        b: &mut Bins,
        off: usize,
        lo: usize,
        hi: usize,
        m: usize,
    ) -> Candidate {
        let n_out = self.bin_stride();
        let (first, last) = self.left_sizes(m);
        // As long as the totals' sums (a regression's carry `Σ w·y²` too, never read here).
        b.left.clear();
        b.left.resize(t.sums.len(), 0.0);
        b.right.clear();
        b.right.resize(t.sums.len(), 0.0);
        let (mut wl, mut nl) = (0.0, 0usize);
        // (proxy, rank of the last bin going left, rank of the first going right)
        let mut best: Option<(f64, usize, usize)> = None;
        let mut prev = lo;
        for k in lo..=hi {
            let at = off + k;
            if b.count[at] == 0 {
                continue;
            }
            if k > lo && (first..=last).contains(&nl) && !self.cols.same(f, prev, k) {
                let proxy = self.proxy(t, &b.left, wl, &mut b.right);
                if best.is_none_or(|(bp, _, _)| better(proxy, bp)) {
                    best = Some((proxy, prev, k));
                }
            }
            for (l, &s) in b.left.iter_mut().zip(&b.sums[at * n_out..(at + 1) * n_out]) {
                *l += s;
            }
            wl += b.weight[at];
            nl += b.count[at] as usize;
            prev = k;
        }
        match best {
            None => Candidate::NoSplit,
            Some((proxy, a, c)) => Candidate::Split(proxy, Cut::Ranks(a as u32, c as u32)),
        }
    }
}

#[cfg(test)]
mod tests {
    use smelt_core::Dataset;
    use smelt_core::rng::Rng;

    use super::super::builder::{Grow, RegLoss, Splitter};
    use super::super::columns::BLOCK_VALUES;
    use super::super::grow::grow_with;
    use super::super::{Columns, Target};
    use super::*;

    /// A table of one-hot columns, small integers, a column with values within the tie
    /// threshold of each other, and a continuous one.
    fn table(n: usize, rng: &mut Rng) -> Dataset<f64> {
        let p = 8;
        let mut cols: Vec<Vec<f64>> = (0..p).map(|_| Vec::with_capacity(n)).collect();
        for _ in 0..n {
            let level = rng.below(5);
            for (j, col) in cols.iter_mut().enumerate().take(4) {
                col.push(f64::from(u8::from(level == j)));
            }
            cols[4].push(rng.below(7) as f64);
            cols[5].push(rng.below(40) as f64 - 20.0);
            // Values 5e-8 apart are one value; 0.5 apart are two.
            cols[6].push(rng.below(4) as f64 * 5e-8 + rng.below(2) as f64 * 0.5);
            cols[7].push(rng.normal());
        }
        let features = crate::import::numeric_features((0..p).map(|j| format!("x{j}")).collect());
        Dataset::new(n, cols.concat(), features, None).expect("consistent shapes")
    }

    fn params(max_features: usize, min_samples_leaf: usize, seed: u64) -> Grow {
        Grow {
            max_depth: None,
            min_samples_split: 2,
            min_samples_leaf,
            max_features,
            random_state: seed,
            splitter: Splitter::Best,
            max_leaf_nodes: None,
            parallel: false,
        }
    }

    /// Trees grown with the bin search are the trees of the sorted scan: classification
    /// (Gini with 2 and 3 classes, entropy) and squared error, bootstrap-like integer weights, feature
    /// sampling, `min_samples_leaf`, and best-first growth.
    #[test]
    fn bins_grow_the_trees_of_the_sort() {
        let mut rng = Rng::new(11);
        let n = 3000;
        let data = table(n, &mut rng);
        let cols = Columns::new(&data, true);
        let codes: Vec<u32> = (0..n)
            .map(|i| {
                let row = data.row(i);
                let z = row[0] * 1.5 - row[4] * 0.3 + row[6] * 2.0 + row[7] + rng.normal();
                if z > 0.5 {
                    2
                } else if z > -0.8 {
                    1
                } else {
                    0
                }
            })
            .collect();
        let y: Vec<f64> = (0..n)
            .map(|i| {
                let row = data.row(i);
                row[1] * 3.0 + row[5] * 0.1 + row[7] + rng.normal() * 0.5
            })
            .collect();
        let weights: Vec<f64> = (0..n).map(|_| rng.below(3) as f64).collect();
        // Two classes take the sorted scan's own two-class path (`scan_gini2`).
        let two: Vec<u32> = codes.iter().map(|&c| c.min(1)).collect();
        let targets = [
            Target::Class {
                codes: &two,
                k: 2,
                entropy: false,
            },
            Target::Class {
                codes: &codes,
                k: 3,
                entropy: false,
            },
            Target::Class {
                codes: &codes,
                k: 3,
                entropy: true,
            },
            Target::Reg {
                y: &y,
                loss: RegLoss::Squared,
            },
        ];
        let mut seen_split_on_bins = false;
        for (ti, target) in targets.into_iter().enumerate() {
            for (mf, msl, seed, leaves) in [(8, 1, 0, None), (3, 1, 1, None), (2, 5, 2, Some(40))] {
                let mut g = params(mf, msl, seed);
                g.max_leaf_nodes = leaves;
                let sorted = grow_with(&cols, target, &weights, &g, 0);
                // Bins for features of up to 15 values, one at a time (no block pass).
                let binned = grow_with(&cols, target, &weights, &g, BLOCK_VALUES - 1);
                assert_eq!(sorted, binned, "target {ti}, max_features {mf}, msl {msl}");
                // Bins, and the block pass where every feature is visited.
                let blocked = grow_with(&cols, target, &weights, &g, BINS_MAX);
                assert_eq!(sorted, blocked, "target {ti}, max_features {mf}, msl {msl}");
                assert!(
                    sorted.feature.len() > 20,
                    "a real tree: {}",
                    sorted.feature.len()
                );
                seen_split_on_bins |= sorted.feature.iter().any(|&f| (0..7).contains(&f));
            }
        }
        assert!(seen_split_on_bins);
    }
}
