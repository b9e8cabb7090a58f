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

use super::bins::{BINS_MAX, Bins};
use super::block::BLOCK_VALUES;
use super::columns::{Columns, PREFETCH_AHEAD, with_ranks};
use super::fenwick::Fenwick;
use super::presort::{NodeLists, Presorted};
use super::{LEAF_CHILD, LEAF_FEATURE, PAR_ROWS, Tree};

/// The target a tree is grown on.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    /// Class codes `0..k`; Gini impurity, or entropy when `entropy`.
    Class {
        codes: &'a [u32],
        k: usize,
        entropy: bool,
    },
    /// Real values, with a regression loss.
    Reg { y: &'a [f64], loss: RegLoss },
}

/// The impurity of a regression tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RegLoss {
    /// Weighted variance; leaves predict the weighted mean.
    Squared,
    /// Weighted mean absolute deviation from the weighted median; leaves predict the weighted
    /// median (scikit-learn's `"absolute_error"`).
    Absolute,
}

impl Target<'_> {
    fn n_outputs(&self) -> usize {
        match self {
            Target::Class { k, .. } => *k,
            Target::Reg { .. } => 1,
        }
    }
}

/// How a node's split is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Splitter {
    /// The best threshold of each candidate feature (CART; scikit-learn's `"best"`).
    Best,
    /// One threshold per candidate feature, uniform between the node's smallest and largest
    /// value (Extremely Randomized Trees; scikit-learn's `"random"`).
    Random,
}

/// Growth limits and the feature sampling of a fit.
pub(crate) struct Grow {
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
    pub random_state: u64,
    pub splitter: Splitter,
    /// Best-first growth up to this many leaves (`None`: depth first, unbounded).
    pub max_leaf_nodes: Option<usize>,
    /// Evaluate the candidate features of large nodes in parallel (off inside forests, which
    /// are parallel over trees).
    pub parallel: bool,
}

/// The best split found at a node: (proxy, visit rank, feature, where it cuts).
type Split = (f64, usize, usize, Cut);

/// What one candidate feature gives at a node.
pub(super) enum Candidate {
    /// Constant at the node: not counted towards `max_features`.
    Constant,
    /// Counted, but no threshold leaves `min_samples_leaf` rows on each side.
    NoSplit,
    /// The proxy and where the split cuts.
    Split(f64, Cut),
}

/// Where a split cuts a feature.
#[derive(Clone, Copy)]
pub(super) enum Cut {
    /// Between two ranks of the node (best-split search): the largest going left and the
    /// smallest going right. The threshold, their values' midpoint, is only looked up for
    /// the node's winning feature (the distinct values of a continuous feature are a large
    /// array: a cache miss per candidate feature was a tenth of a regression forest's fit).
    Ranks(u32, u32),
    /// At a threshold (random splitter).
    Value(f64),
}

/// Per-thread buffers of the split search.
#[derive(Default)]
pub(super) struct Scratch {
    /// Sort keys `rank << 32 | position in the node`.
    pub(super) keys: Vec<u64>,
    pub(super) vals: Vec<f32>,
    pub(super) tmp: Vec<u64>,
    pub(super) counts: Vec<u32>,
    pub(super) left: Vec<f64>,
    pub(super) right: Vec<f64>,
    /// Absolute error only: the error of each prefix / suffix of the sorted rows.
    pub(super) left_ae: Vec<f64>,
    pub(super) right_ae: Vec<f64>,
    pub(super) fenwick: Fenwick,
    /// The bin search's per-rank totals (see `bins.rs`).
    pub(super) bins: Bins,
    /// The block pass's bins (see `block.rs`).
    block: Bins,
}

/// The weights and targets of a node's rows, by position in the node.
#[derive(Default)]
pub(super) struct NodeData {
    pub(super) w: Vec<f64>,
    pub(super) code: Vec<u32>,
    pub(super) y: Vec<f64>,
    /// Absolute error only: the node's targets sorted, and each position's rank among them.
    pub(super) sorted_y: Vec<f64>,
    pub(super) yrank: Vec<u32>,
}

impl NodeData {
    /// The weight and class of the row at position `p` in the node.
    #[inline(always)]
    pub(super) fn class_of(&self, p: u64) -> (f64, u32) {
        (self.w[p as usize], self.code[p as usize])
    }

    /// The weight and target of the row at position `p` in the node.
    #[inline(always)]
    pub(super) fn value_of(&self, p: u64) -> (f64, f64) {
        (self.w[p as usize], self.y[p as usize])
    }
}

/// A node's target totals: weighted class counts (or `[Σ w·y, Σ w·y²]`) and total weight.
pub(super) struct Totals {
    pub(super) sums: Vec<f64>,
    pub(super) weight: f64,
}

pub(super) struct Builder<'a> {
    pub(super) cols: &'a Columns,
    pub(super) target: Target<'a>,
    pub(super) w: &'a [f64],
    pub(super) grow: &'a Grow,
    /// Features with at most this many distinct values search by bins (see `bins.rs`).
    pub(super) bins_max: usize,
}

impl Builder<'_> {
    /// The node's totals, from its rows' weights and targets gathered in `nd` (read in row
    /// order, as the rows would be).
    fn totals(&self, nd: &NodeData) -> Totals {
        match &self.target {
            Target::Class { k, .. } => {
                let mut sums = vec![0.0; *k];
                for (&c, &w) in nd.code.iter().zip(&nd.w) {
                    sums[c as usize] += w;
                }
                let weight = sums.iter().sum();
                Totals { sums, weight }
            }
            Target::Reg { .. } => {
                let (mut s, mut sq, mut weight) = (0.0, 0.0, 0.0);
                for (&wi, &yi) in nd.w.iter().zip(&nd.y) {
                    s += wi * yi;
                    sq += wi * yi * yi;
                    weight += wi;
                }
                Totals {
                    sums: vec![s, sq],
                    weight,
                }
            }
        }
    }

    /// Node value and impurity from its totals (and, for the absolute error, its rows).
    fn node_value(&self, t: &Totals, nd: &NodeData, s: &mut Scratch) -> (Vec<f64>, f64) {
        match &self.target {
            Target::Reg {
                loss: RegLoss::Absolute,
                ..
            } => {
                let (ae, median) = self.abs_error_of(nd, 0..nd.w.len(), &mut s.fenwick);
                (vec![median], ae / t.weight)
            }
            Target::Class { entropy, .. } => {
                let imp = class_impurity(&t.sums, t.weight, *entropy);
                (t.sums.iter().map(|c| c / t.weight).collect(), imp)
            }
            Target::Reg { .. } => {
                let mean = t.sums[0] / t.weight;
                (vec![mean], t.sums[1] / t.weight - mean * mean)
            }
        }
    }

    /// The proxy of a split with left totals `left` (class counts or `[Σ w·y]`) and left
    /// weight `wl`: `-(W_L·I(L) + W_R·I(R))` for classes, `S_L²/W_L + S_R²/W_R` for squared
    /// error (both rank splits as the impurity decrease does).
    #[inline(always)]
    pub(super) fn proxy(&self, t: &Totals, left: &[f64], wl: f64, right: &mut [f64]) -> f64 {
        let wr = t.weight - wl;
        match &self.target {
            Target::Class { entropy: false, .. } => {
                // Gini: W_L·(1 - Σl²/W_L²) + W_R·(1 - Σr²/W_R²) = W - Σl²/W_L - Σr²/W_R.
                let (mut ql, mut qr) = (0.0, 0.0);
                for (&tot, &l) in t.sums.iter().zip(left) {
                    let r = tot - l;
                    ql += l * l;
                    qr += r * r;
                }
                ql / wl + qr / wr - t.weight
            }
            Target::Class { entropy, .. } => {
                for ((r, &tot), &l) in right.iter_mut().zip(&t.sums).zip(left) {
                    *r = tot - l;
                }
                let il = class_impurity(left, wl, *entropy);
                let ir = class_impurity(right, wr, *entropy);
                -wr * ir - wl * il
            }
            Target::Reg { .. } => {
                let (sl, sr) = (left[0], t.sums[0] - left[0]);
                sl * sl / wl + sr * sr / wr
            }
        }
    }

    /// The node's rows' weights and targets, in row order: the split searches read them by
    /// position in the node (compact, cache-resident) rather than by row (scattered).
    fn node_data(&self, rows: &[u32], nd: &mut NodeData) {
        nd.w.clear();
        nd.w.extend(rows.iter().map(|&r| self.w[r as usize]));
        match &self.target {
            Target::Class { codes, .. } => {
                nd.code.clear();
                nd.code.extend(rows.iter().map(|&r| codes[r as usize]));
            }
            Target::Reg { y, loss } => {
                nd.y.clear();
                nd.y.extend(rows.iter().map(|&r| y[r as usize]));
                if *loss == RegLoss::Absolute {
                    let mut order: Vec<u32> = (0..rows.len() as u32).collect();
                    order.sort_by(|&a, &b| nd.y[a as usize].total_cmp(&nd.y[b as usize]));
                    nd.sorted_y.clear();
                    nd.sorted_y.extend(order.iter().map(|&i| nd.y[i as usize]));
                    nd.yrank.clear();
                    nd.yrank.resize(rows.len(), 0);
                    for (rank, &i) in order.iter().enumerate() {
                        nd.yrank[i as usize] = rank as u32;
                    }
                }
            }
        }
    }

    /// The fewest and the most rows a split of `m` rows may send left: positions leaving
    /// fewer than `min_samples_leaf` rows on a side are never candidates.
    #[inline]
    pub(super) fn left_sizes(&self, m: usize) -> (usize, usize) {
        let msl = self.grow.min_samples_leaf;
        (msl.max(1), m.saturating_sub(msl))
    }

    /// Adds node row `i` to the left totals.
    #[inline(always)]
    pub(super) fn add_left(&self, nd: &NodeData, i: usize, left: &mut [f64]) -> f64 {
        let wi = nd.w[i];
        match &self.target {
            Target::Class { .. } => left[nd.code[i] as usize] += wi,
            Target::Reg { .. } => left[0] += wi * nd.y[i],
        }
        wi
    }

    /// Absolute error and weighted median of the node rows at `positions`, through the
    /// Fenwick tree (scikit-learn's arithmetic).
    pub(super) fn abs_error_of(
        &self,
        nd: &NodeData,
        positions: impl Iterator<Item = usize>,
        fw: &mut Fenwick,
    ) -> (f64, f64) {
        fw.reset(nd.sorted_y.len());
        let mut out = (0.0, 0.0);
        for i in positions {
            fw.add(nd.yrank[i] as usize, nd.y[i], nd.w[i]);
            out = fw.abs_error(&nd.sorted_y);
        }
        out
    }

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

/// Whether `proxy` beats `best` by more than rounding noise. Splits equally good in exact
/// arithmetic (the same partition through different features) differ only in the last bits
/// depending on summation order; treating them as ties keeps the first in visiting order,
/// so integer weights and repeated rows grow the same tree.
pub(super) fn better(proxy: f64, best: f64) -> bool {
    proxy > best + 1e-12 * best.abs()
}

/// Gini `1 - Σ (c/W)²` or entropy `-Σ (c/W) log2 (c/W)` of weighted class counts.
fn class_impurity(counts: &[f64], total: f64, entropy: bool) -> f64 {
    if entropy {
        let mut e = 0.0;
        for &c in counts {
            if c > 0.0 {
                let p = c / total;
                e -= p * p.log2();
            }
        }
        e
    } else {
        let sq: f64 = counts.iter().map(|c| c * c).sum();
        1.0 - sq / (total * total)
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
