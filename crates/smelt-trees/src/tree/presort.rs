//! Presorted rows for trees whose every node visits every feature (regression forests with
//! scikit-learn's default `max_features = 1.0`, single trees): each continuous feature's rows
//! are sorted once per tree, and a split partitions every sorted list stably into its two
//! children's, so a node's search reads its rows already in order instead of gathering their
//! ranks and radix-sorting them (CART's presorting, scikit-learn's old `presort=True`).
//!
//! The lists hold `rank << 32 | row`, sorted by rank and then by row — the order of the
//! node's sort in `scan.rs` (rank, then position in the node, and a node keeps its rows in
//! increasing order) — and the scans add the same rows in the same order, so the trees are
//! those of the sort, bit for bit.

use super::builder::{Builder, Candidate, RegLoss, Splitter, Target, Totals};
use super::columns::with_ranks;
use super::scan::{scan_gini2, scan_squared, sorted_candidate};
use super::sort::radix_sort;

/// The most memory the presorted lists of one tree may take.
const PRESORT_BYTES: usize = 256 << 20;

/// The presorted lists of a tree's continuous features (see the [module docs](self)).
pub(super) struct Presorted {
    /// Per presorted feature, the keys of the tree's rows, in the order of `idx`: the keys
    /// of node `idx[start..end]` are `keys[j][start..end]`, sorted.
    keys: Vec<Vec<u64>>,
    /// Per feature, its list in `keys`.
    slot: Vec<Option<usize>>,
    /// Per list, its feature.
    features: Vec<usize>,
    /// Per row of the table, whether the last split sent it left.
    left: Vec<u8>,
    /// The right-hand keys of a partition.
    tmp: Vec<u64>,
}

/// The presorted lists of one node, `idx[start..end]`.
#[derive(Clone, Copy)]
pub(super) struct NodeLists<'a> {
    pre: &'a Presorted,
    start: usize,
    end: usize,
}

impl<'a> NodeLists<'a> {
    /// Feature `f`'s keys at the node, sorted, when it is presorted.
    #[inline]
    pub(super) fn keys(self, f: usize) -> Option<&'a [u64]> {
        let j = self.pre.slot[f]?;
        Some(&self.pre.keys[j][self.start..self.end])
    }
}

impl Presorted {
    /// The lists of the features of more than `bins_max` values (those the search always
    /// sorts) over `idx`, when `b`'s tree visits every feature at every node and its scan
    /// has a two-class Gini or squared-error path; `None` otherwise.
    pub(super) fn new(b: &Builder<'_>, idx: &[u32]) -> Option<Presorted> {
        let grow = b.grow;
        let cols = b.cols;
        let scanned = match b.target {
            Target::Class {
                k: 2,
                entropy: false,
                ..
            }
            | Target::Reg {
                loss: RegLoss::Squared,
                ..
            } => true,
            Target::Class { .. } | Target::Reg { .. } => false,
        };
        if !scanned
            || grow.parallel
            || grow.max_leaf_nodes.is_some()
            || grow.max_features < cols.p
            || grow.splitter != Splitter::Best
        {
            return None;
        }
        let features: Vec<usize> = (0..cols.p)
            .filter(|&f| cols.uniq[f].len() > b.bins_max)
            .collect();
        // Eight bytes a row per feature, per tree being grown: past the budget (a million
        // rows of 32 continuous features), the per-node sort costs time instead of memory.
        if features.is_empty() || features.len() * idx.len() * 8 > PRESORT_BYTES {
            return None;
        }
        let mut slot = vec![None; cols.p];
        let (mut tmp, mut counts) = (Vec::new(), Vec::new());
        let n = cols.n_rows();
        let keys = features
            .iter()
            .enumerate()
            .map(|(j, &f)| {
                slot[f] = Some(j);
                let mut keys = Vec::with_capacity(idx.len());
                let (mut lo, mut hi) = (u32::MAX, 0u32);
                with_ranks!(cols, f, n, |ranks| {
                    for &r in idx {
                        let k = ranks.at(r as usize);
                        lo = lo.min(k);
                        hi = hi.max(k);
                        keys.push((u64::from(k) << 32) | u64::from(r));
                    }
                });
                if !keys.is_empty() {
                    radix_sort(&mut keys, &mut tmp, &mut counts, lo, hi - lo);
                }
                keys
            })
            .collect();
        Some(Presorted {
            keys,
            slot,
            features,
            left: vec![0; n],
            tmp: Vec::new(),
        })
    }

    /// The lists of node `idx[start..end]`.
    pub(super) fn node(&self, start: usize, end: usize) -> NodeLists<'_> {
        NodeLists {
            pre: self,
            start,
            end,
        }
    }

    /// Records that the split being made sends row `r` left (or right).
    #[inline(always)]
    pub(super) fn mark(&mut self, r: u32, left: bool) {
        self.left[r as usize] = u8::from(left);
    }

    /// Splits the lists of node `idx[start..end]` after its rows were marked: the `nl` rows
    /// going left first, each side still sorted. Features known constant at the node
    /// (`consts`) are left as they are: no node below reads them.
    pub(super) fn partition(&mut self, start: usize, end: usize, nl: usize, consts: &[u64]) {
        let m = end - start;
        self.tmp.resize(m, 0);
        let (left, tmp) = (&self.left, &mut self.tmp);
        for (keys, &f) in self.keys.iter_mut().zip(&self.features) {
            if consts[f / 64] >> (f % 64) & 1 == 1 {
                continue;
            }
            let seg = &mut keys[start..end];
            // Branch-free (a split sends rows either way at random as far as the sorted
            // order of another feature knows): every key is written to both sides, and only
            // the side it belongs to moves on.
            let (mut l, mut r) = (0, 0);
            for i in 0..m {
                let k = seg[i];
                let go = usize::from(left[k as u32 as usize]);
                seg[l] = k;
                tmp[r] = k;
                l += go;
                r += 1 - go;
            }
            debug_assert_eq!(l, nl, "the lists hold the node's rows");
            seg[l..].copy_from_slice(&tmp[..r]);
        }
    }
}

impl Builder<'_> {
    /// The best threshold of presorted feature `f` over its sorted `keys` at the node (as
    /// [`Builder::best_on_feature`] finds it).
    pub(super) fn best_presorted(&self, keys: &[u64], f: usize, t: &Totals) -> Candidate {
        let m = keys.len();
        let (Some(&first_key), Some(&last_key)) = (keys.first(), keys.last()) else {
            return Candidate::Constant;
        };
        if self
            .cols
            .same(f, (first_key >> 32) as usize, (last_key >> 32) as usize)
        {
            return Candidate::Constant;
        }
        let (first, last) = self.left_sizes(m);
        let same = |a: u64, b: u64| self.cols.same(f, (a >> 32) as usize, (b >> 32) as usize);
        let w = self.w;
        let best = match self.target {
            Target::Class { codes, .. } => {
                let row = |r: u64| (w[r as usize], codes[r as usize]);
                scan_gini2(keys, row, t, first, last, same)
            }
            Target::Reg { y, .. } => {
                let row = |r: u64| (w[r as usize], y[r as usize]);
                scan_squared(keys, row, t, first, last, same)
            }
        };
        sorted_candidate(keys, best)
    }
}

#[cfg(test)]
mod tests {
    use smelt_core::Dataset;
    use smelt_core::rng::Rng;

    use super::super::bins::BINS_MAX;
    use super::super::builder::{Grow, RegLoss, Splitter};
    use super::super::grow::grow_presorted;
    use super::super::{Columns, Target};

    /// Trees grown on presorted lists are the trees of the per-node sort: two-class Gini and
    /// squared error, integer and fractional weights, `min_samples_leaf`, `max_depth`, a
    /// feature with values within the tie threshold, and bins on or off for the others.
    #[test]
    fn presorted_trees_are_the_sorted_trees() {
        let mut rng = Rng::new(7);
        let n = 2500;
        let p = 5;
        let mut cols: Vec<Vec<f64>> = (0..p).map(|_| Vec::with_capacity(n)).collect();
        for _ in 0..n {
            cols[0].push(rng.normal());
            cols[1].push(rng.below(300) as f64);
            // Values 5e-8 apart are one value.
            cols[2].push(rng.below(400) as f64 * 5e-8 + rng.below(2) as f64);
            cols[3].push(rng.below(2) as f64);
            cols[4].push(rng.uniform() * 10.0);
        }
        let x: Vec<Vec<f64>> = (0..n)
            .map(|i| cols.iter().map(|c| c[i]).collect())
            .collect();
        let features = crate::import::numeric_features((0..p).map(|j| format!("x{j}")).collect());
        let data = Dataset::new(n, cols.concat(), features, None).expect("shapes");
        let c = Columns::new(&data, true);
        let codes: Vec<u32> = x
            .iter()
            .map(|r| u32::from(r[0] + r[3] - r[4] * 0.1 + rng.normal() > 0.0))
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|r| r[0] * 2.0 + r[1] * 0.01 + r[2] + rng.normal())
            .collect();
        let counts: Vec<f64> = (0..n).map(|_| rng.below(3) as f64).collect();
        let fractions: Vec<f64> = (0..n).map(|_| rng.uniform() + 0.1).collect();
        let targets = [
            Target::Class {
                codes: &codes,
                k: 2,
                entropy: false,
            },
            Target::Reg {
                y: &y,
                loss: RegLoss::Squared,
            },
        ];
        for (ti, target) in targets.into_iter().enumerate() {
            for w in [&counts, &fractions] {
                for (msl, depth, bins_max) in
                    [(1, None, BINS_MAX), (4, Some(9), BINS_MAX), (1, None, 0)]
                {
                    let g = Grow {
                        max_depth: depth,
                        min_samples_split: 2,
                        min_samples_leaf: msl,
                        max_features: p,
                        random_state: 3,
                        splitter: Splitter::Best,
                        max_leaf_nodes: None,
                        parallel: false,
                    };
                    let sorted = grow_presorted(&c, target, w, &g, bins_max, false);
                    let presorted = grow_presorted(&c, target, w, &g, bins_max, true);
                    assert!(sorted.feature.len() > 50, "a real tree");
                    assert_eq!(sorted, presorted, "target {ti}, msl {msl}, bins {bins_max}");
                }
            }
        }
    }
}
