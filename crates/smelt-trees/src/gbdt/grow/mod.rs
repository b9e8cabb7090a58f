//! Growing one tree on binned features: gradient/hessian histograms, split finding, and
//! leaf-wise (best-first) growth.
//!
//! Every leaf owns a contiguous range of a row-index array; splitting a leaf partitions its
//! range in place (stable, so each range stays in row order and histogram building reads
//! the binned matrix forwards). A leaf's histogram holds, per feature and bin, the sums of
//! gradients and hessians of its rows (`[f64; 2]`, f64 sums of f32 values). Only the smaller
//! child's histogram is built from rows; the larger one is the parent's minus it (the
//! subtraction trick), so each level reads at most half the rows. Histograms of large leaves
//! are built over two fixed halves of their rows in parallel and summed in order, so the
//! result does not depend on the number of threads.
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
//!
//! The parts: `hist.rs` builds the histograms (and the subtraction trick), `partition.rs`
//! partitions a leaf's rows between its children, `split.rs` finds a leaf's best split (with
//! `scan.rs`, the branch-free numeric scan of unconstrained leaves), and `types.rs` holds the
//! plain types they share; this file holds the trees over bins and the leaf-wise growth loop,
//! where each split's histogram and search work is one parallel section over feature groups
//! (`Grower::children`).

mod hist;
mod partition;
mod scan;
mod split;
mod types;

pub(crate) use types::{GrowParams, Grower, Layout};

use rayon::prelude::*;

use self::hist::{
    HistPool, PAR_WORK, SPLIT_ROWS, build_hist, cut, feature_groups, fill_group, gather, is_sparse,
    subtract,
};
use self::partition::partition;
use self::split::better;
use self::types::{Leaf, STRIDE, Split, Stats};
use super::bin::Binned;

/// A histogram's entries (or some features' blocks of them).
type Hist = [[f64; 2]];

/// `feature` of a leaf in a [`BinTree`].
pub(crate) const LEAF: u32 = u32::MAX;

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

/// Histogram bins searched (over both children) from which a split's histogram and search
/// tasks run in parallel on small data: about 10 µs each.
const JOIN_BINS: usize = 1024;

/// Buffers reused across splits and trees.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    gathered: Vec<[f32; 2]>,
    rows: Vec<u32>,
    hists: HistPool,
}

impl Grower<'_> {
    /// The (weighted) row count of `rows`.
    fn weight_of(&self, rows: &[u32]) -> f64 {
        match self.weights {
            None => rows.len() as f64,
            Some(w) => rows.iter().map(|&r| w[r as usize]).sum(),
        }
    }

    /// The histogram bins a leaf's split search scans (its work, whatever its rows).
    fn search_bins(&self, allowed: &[bool]) -> usize {
        allowed
            .iter()
            .zip(&self.layout.n_bins)
            .filter(|(a, _)| **a)
            .map(|(_, nb)| nb + 1)
            .sum()
    }

    /// After a split: the smaller child's histogram (from its rows `rows`), the larger
    /// child's (`parent`, turned into it by subtraction), and the best split of each child
    /// when searched (`small.1`, `large.1`). The work is one task per group of features
    /// ([`feature_groups`]): fill the smaller child's blocks, subtract them from the parent's,
    /// search both children over them; the tasks run in parallel, so a split costs one
    /// parallel section, and a leaf of a few features and few rows still splits its work over
    /// two threads (its histogram was serial, and only the two searches were joined). Each
    /// feature's sums and candidates are those of the serial code, and the groups' bests are
    /// taken in feature order, so the trees are the same. Leaves of [`SPLIT_ROWS`] rows or
    /// more build the histogram first ([`build_hist`], over two halves of the rows).
    #[allow(
        clippy::too_many_arguments,
        reason = "the two children, their rows and histograms, the features and the buffers"
    )]
    fn children(
        &self,
        gh: &[[f32; 2]],
        rows: &[u32],
        parent: &mut [[f64; 2]],
        small: (&Leaf, bool),
        large: (&Leaf, bool),
        allowed: &[bool],
        scratch: &mut Scratch,
    ) -> (Vec<[f64; 2]>, Option<Split>, Option<Split>) {
        let (binned, n_bins) = (self.binned, &self.layout.n_bins);
        let p = binned.p;
        let big = rows.len() >= SPLIT_ROWS;
        let mut small_hist;
        let og = if big {
            small_hist = build_hist(
                binned,
                gh,
                rows,
                false,
                allowed,
                n_bins,
                &mut scratch.gathered,
                &mut scratch.hists,
            );
            None
        } else {
            small_hist = scratch.hists.take(p * STRIDE);
            Some(gather(gh, rows, false, &mut scratch.gathered))
        };
        let sparse = is_sparse(rows.len(), binned.n);
        let groups = feature_groups(p);
        let task = |((&(first, _), sb), pb): ((&(usize, usize), &mut Hist), &mut Hist)| {
            if let Some(og) = og {
                fill_group(
                    binned,
                    og,
                    Some(rows),
                    0,
                    allowed,
                    n_bins,
                    first,
                    sb,
                    sparse,
                );
            }
            subtract(pb, sb, first, allowed, n_bins);
            let bs = small
                .1
                .then(|| self.best_in(sb, first, small.0, allowed))
                .flatten();
            let bl = large
                .1
                .then(|| self.best_in(pb, first, large.0, allowed))
                .flatten();
            (bs, bl)
        };
        let searched = self.search_bins(allowed) * (usize::from(small.1) + usize::from(large.1));
        let parallel =
            (!big && rows.len() * p >= PAR_WORK) || binned.n >= 1 << 15 || searched >= JOIN_BINS;
        let (sp, pp) = (cut(&mut small_hist, &groups), cut(parent, &groups));
        let found: Vec<(Option<Split>, Option<Split>)> = if parallel {
            groups.par_iter().zip(sp).zip(pp).map(task).collect()
        } else {
            groups.iter().zip(sp).zip(pp).map(task).collect()
        };
        // In feature order, as the serial search takes them.
        let (bs, bl) = found.into_iter().fold((None, None), |(s, l), (bs, bl)| {
            (better(s, bs), better(l, bl))
        });
        (small_hist, self.accept(bs), self.accept(bl))
    }

    fn can_split(&self, n: f64, h: f64, depth: usize) -> bool {
        self.params.max_depth.is_none_or(|d| depth < d)
            && n >= 2.0 * self.params.min_samples_leaf as f64
            && h >= 2.0 * self.params.min_sum_hessian
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
        let hist = build_hist(
            self.binned,
            gh,
            rows,
            identity,
            allowed,
            &self.layout.n_bins,
            &mut scratch.gathered,
            &mut scratch.hists,
        );
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
        let mut root = Leaf::root(stats, rows.len());
        root.value = self.output(stats, root.lo, root.hi);
        let mut nodes = vec![BinNode::leaf(root.value, rows.len())];
        if self.can_split(stats.n, stats.h, 0) {
            root.best = self.best_split(&hist, &root, allowed);
        }
        if root.best.is_some() {
            root.hist = Some(hist);
        } else {
            scratch.hists.give(hist);
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
                if let Some(h) = leaf.hist.take() {
                    scratch.hists.give(h);
                }
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
                let (sl, sr) = if left_small {
                    (split_l, split_r)
                } else {
                    (split_r, split_l)
                };
                let (small_hist, bs, bl) = self.children(
                    gh,
                    &rows[small.start..small.end],
                    &mut parent_hist,
                    (&*small, sl),
                    (&*large, sr),
                    allowed,
                    scratch,
                );
                small.hist = Some(small_hist);
                large.hist = Some(parent_hist);
                small.best = bs;
                large.best = bl;
                for l in [small, large] {
                    if l.best.is_none()
                        && let Some(h) = l.hist.take()
                    {
                        scratch.hists.give(h);
                    }
                }
            } else if let Some(h) = leaf.hist.take() {
                scratch.hists.give(h);
            }
            leaves.push(left);
            leaves.push(right);
        }
        let ranges = leaves.iter().map(|l| (l.node, l.start, l.end)).collect();
        for l in &mut leaves {
            if let Some(h) = l.hist.take() {
                scratch.hists.give(h);
            }
        }
        (BinTree { nodes }, ranges)
    }
}
