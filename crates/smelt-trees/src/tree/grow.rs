//! The CART grower shared by the decision trees and the forests (see the [module docs](super)
//! for the split rule).
//!
//! The data is prepared once per fit ([`Columns`]), however many trees are grown on it: every
//! feature rounded to f32 and, for the best-split search, each row's **rank** among the
//! feature's distinct values, stored row-major. Sorting a node's rows on a feature is then an
//! LSD radix sort of integer keys (`rank << 32 | position in the node`, two passes of at most
//! 11 bits for up to 4M distinct values) instead of a comparison sort of floats, and the
//! constant-feature check comes free from the same pass (the smallest and largest rank). The
//! node's weights and targets are gathered once into node-local arrays, read by position. The
//! result is the comparison sort's, so trees are exactly those of the float sort: ranks order
//! rows as their values do, the tie rule (values within [`FEATURE_THRESHOLD`] are one value)
//! is a precomputed per-rank bound, and thresholds are midpoints of the distinct values.

use rayon::prelude::*;
use smelt_core::rng::Rng;

use super::bins::BINS_MAX;
use super::builder::{
    Builder, Candidate, Cut, Grow, NodeData, RegLoss, Scratch, Splitter, Target, Totals, better,
};
use super::columns::{BLOCK_VALUES, Columns, PREFETCH_AHEAD, with_ranks};
use super::presort::{NodeLists, Presorted};
use super::{LEAF_CHILD, LEAF_FEATURE, PAR_ROWS, Tree};

/// The best split found at a node: (proxy, visit rank, feature, where it cuts).
type Split = (f64, usize, usize, Cut);

impl Builder<'_> {
    /// The best split over the features in `order`, visited until `max_features` non-constant
    /// ones were seen (like scikit-learn).
    ///
    /// `consts` is a bitset of features known to be constant at the node (found constant at
    /// an ancestor: a node's rows are a subset of its parent's, so they stay constant). They
    /// are skipped without a pass over the rows — the search would find them constant and
    /// not count them — and the features found constant here are added.
    #[allow(
        clippy::too_many_arguments,
        reason = "the node's rows, order, totals and data, and the grower's buffers"
    )]
    fn best_split(
        &self,
        rows: &[u32],
        order: &[usize],
        t: &Totals,
        rng: &mut Rng,
        nd: &NodeData,
        s: &mut Scratch,
        consts: &mut [u64],
        lists: Option<NodeLists<'_>>,
    ) -> Option<Split> {
        let want = self.grow.max_features;
        let mut best: Option<Split> = None;
        let known = |consts: &[u64], f: usize| consts[f / 64] >> (f % 64) & 1 == 1;
        let mut consider =
            |rank: usize, f: usize, c: Candidate, visited: &mut usize, consts: &mut [u64]| {
                if matches!(c, Candidate::Constant) {
                    consts[f / 64] |= 1 << (f % 64);
                    return;
                }
                *visited += 1;
                if let Candidate::Split(proxy, cut) = c
                    && best.is_none_or(|b| better(proxy, b.0))
                {
                    best = Some((proxy, rank, f, cut));
                }
            };
        let mut visited = 0;
        match self.grow.splitter {
            Splitter::Random => {
                for (rank, &f) in order.iter().enumerate() {
                    if visited >= want {
                        break;
                    }
                    if known(consts, f) {
                        continue;
                    }
                    let c = self.random_on_feature(rows, nd, f, t, rng, s);
                    consider(rank, f, c, &mut visited, consts);
                }
            }
            Splitter::Best if self.grow.parallel && rows.len() >= PAR_ROWS && order.len() > 1 => {
                // Evaluate every feature in parallel, then replay the sequential visiting rule.
                let res: Vec<Candidate> = order
                    .par_iter()
                    .map_init(Scratch::default, |s, &f| {
                        if known(consts, f) {
                            Candidate::Constant
                        } else {
                            self.best_on_feature(rows, nd, f, t, s)
                        }
                    })
                    .collect();
                for (rank, (&f, c)) in order.iter().zip(res).enumerate() {
                    if visited >= want {
                        break;
                    }
                    consider(rank, f, c, &mut visited, consts);
                }
            }
            Splitter::Best => {
                // Every feature not known constant will be visited: search the byte-block
                // features in one pass over the rows (`block.rs`).
                let n_known: usize = consts.iter().map(|w| w.count_ones() as usize).sum();
                let block = self.bins_max >= BLOCK_VALUES
                    && self.cols.block.len() >= 2
                    && want + n_known >= order.len()
                    && !matches!(
                        self.target,
                        Target::Reg {
                            loss: RegLoss::Absolute,
                            ..
                        }
                    );
                if block {
                    self.block_pass(rows, nd, consts, &mut s.block);
                }
                for (rank, &f) in order.iter().enumerate() {
                    if visited >= want {
                        break;
                    }
                    if known(consts, f) {
                        continue;
                    }
                    let c = if block && self.cols.block.has(f) {
                        self.best_from_block(f, t, &mut s.block, rows.len())
                    } else if let Some(keys) = lists.and_then(|l| l.keys(f)) {
                        self.best_presorted(keys, f, t)
                    } else {
                        self.best_on_feature(rows, nd, f, t, s)
                    };
                    consider(rank, f, c, &mut visited, consts);
                }
            }
        }
        best
    }
}

/// A node just added to the tree: its rows (`idx[start..end]`), depth, and — when it was
/// split — the split, with its rows already partitioned (left first).
struct Added {
    id: usize,
    start: usize,
    end: usize,
    depth: usize,
    /// (feature, threshold, rows going left, weighted impurity decrease).
    split: Option<(usize, f64, usize, f64)>,
    /// Best-first growth only: the features known constant at the node (see
    /// [`Builder::best_split`]).
    consts: Vec<u64>,
}

/// The growth state shared by the depth-first and best-first builders.
struct Grower<'a> {
    b: Builder<'a>,
    idx: Vec<u32>,
    rng: Rng,
    features: Vec<usize>,
    t: Tree,
    scratch: Scratch,
    node_data: NodeData,
    part: Vec<u32>,
    right: Vec<u32>,
    /// The features known constant at the node being added (in), and after it, those found
    /// constant there too (out): a bitset of `p` bits.
    consts: Vec<u64>,
    /// Depth first: the `consts` of the pending nodes, a stack beside theirs.
    pending_consts: Vec<u64>,
    /// Total weight of the root (for the impurity decrease).
    total_weight: f64,
    /// The continuous features' rows presorted, where every node visits every feature
    /// (`presort.rs`).
    pre: Option<Presorted>,
}

impl Grower<'_> {
    /// Adds the node of rows `idx[start..end]` as a leaf, then splits it unless a stopping
    /// rule holds or no split is found (scikit-learn's `_add_split_node`).
    fn add_node(&mut self, start: usize, end: usize, depth: usize) -> Added {
        let b = &self.b;
        let grow = b.grow;
        let t = &mut self.t;
        let id = t.feature.len();
        let rows = &self.idx[start..end];
        b.node_data(rows, &mut self.node_data);
        let totals = b.totals(&self.node_data);
        let (value, impurity) = b.node_value(&totals, &self.node_data, &mut self.scratch);
        t.value.extend_from_slice(&value);
        t.impurity.push(impurity);
        t.n_node_samples.push(rows.len() as f64);
        t.weighted_n_node_samples.push(totals.weight);
        t.feature.push(LEAF_FEATURE);
        t.threshold.push(-2.0);
        t.left.push(LEAF_CHILD);
        t.right.push(LEAF_CHILD);
        if id == 0 {
            self.total_weight = totals.weight;
        }
        let mut added = Added {
            id,
            start,
            end,
            depth,
            split: None,
            consts: Vec::new(),
        };
        let n = rows.len();
        let leaf = grow.max_depth.is_some_and(|d| depth >= d)
            || n < grow.min_samples_split
            || n < 2 * grow.min_samples_leaf
            || impurity <= f64::EPSILON;
        if leaf {
            return added;
        }
        self.rng.shuffle(&mut self.features);
        let Some((_, _, f, cut)) = b.best_split(
            rows,
            &self.features,
            &totals,
            &mut self.rng,
            &self.node_data,
            &mut self.scratch,
            &mut self.consts,
            self.pre.as_ref().map(|p| p.node(start, end)),
        ) else {
            return added;
        };
        let (thr, cut) = match cut {
            Cut::Ranks(a, c) => (b.cols.threshold(f, a as usize, c as usize), a),
            Cut::Value(thr) => (thr, 0),
        };
        // Stable partition, rows with x <= thr first (keeps rows in increasing order within
        // a node, so the reads of the next searches run forwards through memory). The best
        // split compares ranks (rank <= cut is x <= thr: no value of the node lies between the
        // two values the threshold separates), the random one values.
        self.part.clear();
        self.right.clear();
        let (cols, p) = (b.cols, b.cols.p);
        let (part, right, pre) = (&mut self.part, &mut self.right, &mut self.pre);
        let mut put = |r: u32, go_left: bool| {
            if let Some(pre) = pre.as_mut() {
                pre.mark(r, go_left);
            }
            if go_left {
                part.push(r);
            } else {
                right.push(r);
            }
        };
        match grow.splitter {
            Splitter::Best => with_ranks!(cols, f, rows.len(), |ranks| {
                for (i, &r) in rows.iter().enumerate() {
                    if let Some(&ahead) = rows.get(i + PREFETCH_AHEAD) {
                        ranks.prefetch(ahead as usize);
                    }
                    put(r, ranks.at(r as usize) <= cut);
                }
            }),
            Splitter::Random => {
                for &r in rows {
                    put(r, f64::from(cols.values[r as usize * p + f]) <= thr);
                }
            }
        }
        let nl = self.part.len();
        // A split keeps rows on both sides (its cut lies between two ranks of the node); a
        // split that did not would grow the same node forever.
        debug_assert!(nl > 0 && nl < end - start, "a split with an empty side");
        if nl == 0 || nl == end - start {
            return added;
        }
        self.idx[start..start + nl].copy_from_slice(&self.part);
        self.idx[start + nl..end].copy_from_slice(&self.right);
        if let Some(pre) = &mut self.pre {
            pre.partition(start, end, nl, &self.consts);
        }
        t.feature[id] = f as i64;
        t.threshold[id] = thr;
        // The impurity decrease (only best-first growth orders nodes by it).
        let improvement = if grow.max_leaf_nodes.is_some() {
            let mut child = |lo: usize, hi: usize| {
                let rows = &self.idx[lo..hi];
                b.node_data(rows, &mut self.node_data);
                let tot = b.totals(&self.node_data);
                let (_, imp) = b.node_value(&tot, &self.node_data, &mut self.scratch);
                (tot.weight, imp)
            };
            let (wl, il) = child(start, start + nl);
            let (wr, ir) = child(start + nl, end);
            let w = totals.weight;
            (w / self.total_weight) * (impurity - wr / w * ir - wl / w * il)
        } else {
            0.0
        };
        added.split = Some((f, thr, nl, improvement));
        added
    }

    /// Links `child` under `parent`.
    fn link(&mut self, parent: usize, child: usize, is_left: bool) {
        if is_left {
            self.t.left[parent] = child as i64;
        } else {
            self.t.right[parent] = child as i64;
        }
    }
}

/// Grows a tree on the rows of `cols` with positive weight (`w` has one weight per row):
/// depth first, or best first when `max_leaf_nodes` is set (scikit-learn's
/// `BestFirstTreeBuilder`: the frontier node with the largest weighted impurity decrease is
/// split next, until `max_leaf_nodes` leaves; the tree is then renumbered in pre-order).
///
/// Features are compared as f32 (see [`Columns`]): scikit-learn's trees store `X` as float32,
/// with f64 thresholds at midpoints of f32 values, so fitted trees and their predictions agree
/// with scikit-learn's, and the layout suits imported XGBoost/LightGBM trees (f32 too).
///
/// Zero-weight rows are left out up front: they change no impurity, and leaving them out makes
/// integer weights exactly equivalent to repeated rows (they would otherwise move midpoint
/// thresholds).
pub(crate) fn grow(cols: &Columns, target: Target<'_>, w: &[f64], grow: &Grow) -> Tree {
    grow_with(cols, target, w, grow, BINS_MAX)
}

/// [`grow`], with features of at most `bins_max` distinct values searched by bins (tests
/// compare with 0: every feature sorted).
pub(super) fn grow_with(
    cols: &Columns,
    target: Target<'_>,
    w: &[f64],
    grow: &Grow,
    bins_max: usize,
) -> Tree {
    grow_presorted(cols, target, w, grow, bins_max, true)
}

/// [`grow_with`], with the presorted lists of `presort.rs` where they apply and `presort`
/// (tests compare with `false`).
pub(super) fn grow_presorted(
    cols: &Columns,
    target: Target<'_>,
    w: &[f64],
    grow: &Grow,
    bins_max: usize,
    presort: bool,
) -> Tree {
    let words = cols.p.div_ceil(64);
    let idx: Vec<u32> = (0..cols.n_rows() as u32)
        .filter(|&i| w[i as usize] > 0.0)
        .collect();
    let n = idx.len();
    let mut g = Grower {
        t: Tree {
            feature: Vec::new(),
            threshold: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            value: Vec::new(),
            n_outputs: target.n_outputs(),
            impurity: Vec::new(),
            n_node_samples: Vec::new(),
            weighted_n_node_samples: Vec::new(),
        },
        b: Builder {
            cols,
            target,
            w,
            grow,
            bins_max,
        },
        idx,
        rng: Rng::new(grow.random_state),
        features: (0..cols.p).collect(),
        scratch: Scratch::default(),
        node_data: NodeData::default(),
        part: Vec::with_capacity(n),
        right: Vec::with_capacity(n),
        consts: vec![0; words],
        pending_consts: Vec::new(),
        total_weight: 0.0,
        pre: None,
    };
    if presort {
        g.pre = Presorted::new(&g.b, &g.idx);
    }
    match grow.max_leaf_nodes {
        None => {
            // (start, end, depth, parent, is_left); right pushed first so the left subtree
            // is numbered first (pre-order).
            // Each pending node's known-constant features are `words` words at the top of
            // `pending_consts`, in the stack's order.
            let mut stack: Vec<Pending> = vec![(0, n, 0, None)];
            g.pending_consts.resize(words, 0);
            while let Some((start, end, depth, parent)) = stack.pop() {
                let top = g.pending_consts.len() - words;
                g.consts.copy_from_slice(&g.pending_consts[top..]);
                g.pending_consts.truncate(top);
                let a = g.add_node(start, end, depth);
                if let Some((pa, is_left)) = parent {
                    g.link(pa, a.id, is_left);
                }
                if let Some((_, _, nl, _)) = a.split {
                    stack.push((start + nl, end, depth + 1, Some((a.id, false))));
                    stack.push((start, start + nl, depth + 1, Some((a.id, true))));
                    for _ in 0..2 {
                        g.pending_consts.extend_from_slice(&g.consts);
                    }
                }
            }
            g.t
        }
        Some(max_leaves) => {
            let mut splits_left = max_leaves.saturating_sub(1);
            let mut frontier = std::collections::BinaryHeap::new();
            let mut records: Vec<Added> = Vec::new();
            let push = |a: Added, records: &mut Vec<Added>, frontier: &mut Frontier| {
                let gain = a.split.map_or(0.0, |s| s.3);
                frontier.push((OrderedGain(gain), std::cmp::Reverse(a.id), records.len()));
                records.push(a);
            };
            let mut root = g.add_node(0, n, 0);
            root.consts = g.consts.clone();
            push(root, &mut records, &mut frontier);
            while let Some((_, _, at)) = frontier.pop() {
                let (id, start, end, depth, split) = {
                    let r = &records[at];
                    (r.id, r.start, r.end, r.depth, r.split)
                };
                match split {
                    Some((_, _, nl, _)) if splits_left > 0 => {
                        splits_left -= 1;
                        let parent_consts = std::mem::take(&mut records[at].consts);
                        let mut child = |start: usize, end: usize| {
                            g.consts.copy_from_slice(&parent_consts);
                            let mut a = g.add_node(start, end, depth + 1);
                            a.consts = g.consts.clone();
                            a
                        };
                        let l = child(start, start + nl);
                        let r = child(start + nl, end);
                        g.link(id, l.id, true);
                        g.link(id, r.id, false);
                        push(l, &mut records, &mut frontier);
                        push(r, &mut records, &mut frontier);
                    }
                    // Not expandable, or out of leaves: the node stays a leaf.
                    _ => {
                        let t = &mut g.t;
                        t.feature[id] = LEAF_FEATURE;
                        t.threshold[id] = -2.0;
                    }
                }
            }
            g.t.preorder()
        }
    }
}

/// A node still to add depth first: (start, end, depth, (parent, is_left)).
type Pending = (usize, usize, usize, Option<(usize, bool)>);

/// The best-first frontier: (gain, earlier node first on ties, record index).
type Frontier = std::collections::BinaryHeap<(OrderedGain, std::cmp::Reverse<usize>, usize)>;

/// A gain ordered by `f64::total_cmp`.
#[derive(Clone, Copy, PartialEq)]
struct OrderedGain(f64);

impl Eq for OrderedGain {}

impl PartialOrd for OrderedGain {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for OrderedGain {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.total_cmp(&other.0)
    }
}
