//! CART decision trees (scikit-learn's `DecisionTreeClassifier` / `DecisionTreeRegressor`).
//!
//! A tree is grown depth first. At each node every candidate feature (all of them, or a random
//! subset of `max_features`) is sorted over the node's rows and every boundary between two
//! distinct values (more than 1e-7 apart) is a candidate split, with the threshold at the
//! midpoint of the two values; a row goes left when `x <= threshold`. The split maximising the
//! impurity decrease is kept: for the classification criteria the "proxy"
//! `-(W_L·I(L) + W_R·I(R))` with `I` = Gini `1 - Σ p_c²` or entropy `-Σ p_c log2 p_c`; for
//! squared error `S_L²/W_L + S_R²/W_R` (`S` = weighted target sum), which ranks splits like the
//! weighted variance decrease. Ties keep the first candidate in the (seeded random) feature
//! visiting order, like scikit-learn. A node is a leaf when it is at `max_depth`, has fewer
//! than `min_samples_split` or `2·min_samples_leaf` rows, is pure (impurity <= f64::EPSILON), or
//! has no split leaving `min_samples_leaf` rows on each side.
//!
//! Fitted trees are flat node arrays ([`Tree`]) — `feature`, `threshold`, `left`, `right`,
//! `value` — the inference layout of the whole crate.

mod classifier;
mod regressor;

pub(crate) use classifier::class_weights;
pub use classifier::{
    ClassWeight, Criterion, DecisionTreeClassifier, DecisionTreeClassifierParams,
};
pub use regressor::{DecisionTreeRegressor, DecisionTreeRegressorParams, RegressionCriterion};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{ArtifactReader, ArtifactWriter, CoreError, Dataset, Result};
use smelt_learn::util::Rng;

/// `feature` of a leaf (scikit-learn's `TREE_UNDEFINED`).
pub const LEAF_FEATURE: i64 = -2;
/// `left`/`right` of a leaf (scikit-learn's `TREE_LEAF`).
pub const LEAF_CHILD: i64 = -1;
/// Feature values closer than this are the same value (scikit-learn's `FEATURE_THRESHOLD`).
const FEATURE_THRESHOLD: f64 = 1e-7;
/// Nodes with at least this many rows evaluate their candidate features in parallel.
const PAR_ROWS: usize = 1024;
/// Rows per parallel block at prediction.
const BLOCK: usize = 4096;

/// How many features each split considers (scikit-learn's `max_features`): JSON `null`
/// (all), an integer count, a float fraction, `"sqrt"` or `"log2"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxFeatures {
    /// This many features, in `[1, n_features]`.
    Count(usize),
    /// `max(1, floor(fraction · n_features))`, fraction in `(0, 1]`.
    Fraction(f64),
    /// A rule on the number of features.
    Rule(FeatureRule),
}

/// Named `max_features` rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureRule {
    /// `max(1, floor(sqrt(n_features)))`.
    Sqrt,
    /// `max(1, floor(log2(n_features)))`.
    Log2,
}

impl MaxFeatures {
    /// Whether the value is in range (independent of the data).
    pub(crate) fn valid(m: &Option<MaxFeatures>) -> bool {
        match m {
            None | Some(MaxFeatures::Rule(_)) => true,
            Some(MaxFeatures::Count(c)) => *c >= 1,
            Some(MaxFeatures::Fraction(f)) => *f > 0.0 && *f <= 1.0,
        }
    }

    /// The number of features to consider out of `p`.
    pub(crate) fn resolve(
        m: &Option<MaxFeatures>,
        p: usize,
        estimator: &'static str,
    ) -> Result<usize> {
        let n = match m {
            None => p,
            Some(MaxFeatures::Count(c)) => {
                if *c > p {
                    return Err(CoreError::BadParam {
                        estimator: estimator.into(),
                        message: format!(
                            "max_features = {c} but the data has only {p} features; it must be \
                             in [1, {p}]"
                        ),
                        suggestion: None,
                    });
                }
                *c
            }
            Some(MaxFeatures::Fraction(f)) => (f * p as f64) as usize,
            Some(MaxFeatures::Rule(FeatureRule::Sqrt)) => (p as f64).sqrt() as usize,
            Some(MaxFeatures::Rule(FeatureRule::Log2)) => (p as f64).log2() as usize,
        };
        Ok(n.max(1).min(p.max(1)))
    }

    pub(crate) fn describe(m: &Option<MaxFeatures>) -> String {
        match m {
            None => "None".into(),
            Some(MaxFeatures::Count(c)) => c.to_string(),
            Some(MaxFeatures::Fraction(f)) => f.to_string(),
            Some(MaxFeatures::Rule(r)) => format!("{r:?}").to_lowercase(),
        }
    }
}

/// A fitted tree as flat node arrays (node 0 is the root; nodes are numbered in pre-order,
/// left subtree first, like scikit-learn's depth-first builder).
#[derive(Clone, Debug, PartialEq)]
pub struct Tree {
    /// Split feature per node (index into the model's input features), [`LEAF_FEATURE`] at
    /// leaves.
    pub feature: Vec<i64>,
    /// Split threshold per node (`x <= threshold` goes left); `-2` at leaves.
    pub threshold: Vec<f64>,
    /// Left child per node, [`LEAF_CHILD`] at leaves.
    pub left: Vec<i64>,
    /// Right child per node, [`LEAF_CHILD`] at leaves.
    pub right: Vec<i64>,
    /// Node values, row-major `n_nodes × n_outputs`: class fractions (classifier) or the
    /// weighted mean target (regressor).
    pub value: Vec<f64>,
    /// Columns of `value`.
    pub n_outputs: usize,
    /// Node impurity.
    pub impurity: Vec<f64>,
    /// Training rows reaching each node.
    pub n_node_samples: Vec<f64>,
    /// Total sample weight reaching each node.
    pub weighted_n_node_samples: Vec<f64>,
}

impl Tree {
    /// Number of nodes.
    pub fn node_count(&self) -> usize {
        self.feature.len()
    }

    /// Number of leaves.
    pub fn n_leaves(&self) -> usize {
        self.left.iter().filter(|&&l| l == LEAF_CHILD).count()
    }

    /// Depth (a lone root has depth 0).
    pub fn depth(&self) -> usize {
        let mut depth = vec![0usize; self.node_count()];
        let mut max = 0;
        // Pre-order numbering: a parent always precedes its children.
        for i in 0..self.node_count() {
            if self.left[i] != LEAF_CHILD {
                for c in [self.left[i], self.right[i]] {
                    depth[c as usize] = depth[i] + 1;
                    max = max.max(depth[i] + 1);
                }
            }
        }
        max
    }

    /// Normalised total impurity decrease per feature (scikit-learn's
    /// `feature_importances_`).
    pub fn feature_importances(&self, n_features: usize) -> Vec<f64> {
        let mut imp = vec![0.0; n_features];
        let w = &self.weighted_n_node_samples;
        for i in 0..self.node_count() {
            if self.left[i] == LEAF_CHILD {
                continue;
            }
            let (l, r) = (self.left[i] as usize, self.right[i] as usize);
            imp[self.feature[i] as usize] +=
                w[i] * self.impurity[i] - w[l] * self.impurity[l] - w[r] * self.impurity[r];
        }
        let total: f64 = imp.iter().sum();
        if total > 0.0 {
            imp.iter_mut().for_each(|v| *v /= total);
        }
        imp
    }

    /// The leaf each row of `data` (columns in the model's input order) ends in.
    pub fn apply(&self, data: &Dataset<f64>) -> Vec<usize> {
        let n = data.n_rows();
        let cols: Vec<&[f64]> = (0..data.n_features()).map(|j| data.column(j)).collect();
        let mut out = vec![0usize; n];
        out.par_chunks_mut(BLOCK).enumerate().for_each(|(b, o)| {
            for (r, leaf) in o.iter_mut().enumerate() {
                let i = b * BLOCK + r;
                let mut node = 0usize;
                while self.left[node] != LEAF_CHILD {
                    let f = self.feature[node] as usize;
                    // Features are compared as f32, as they were split (see `grow`).
                    node = if f64::from(cols[f][i] as f32) <= self.threshold[node] {
                        self.left[node] as usize
                    } else {
                        self.right[node] as usize
                    };
                }
                *leaf = node;
            }
        });
        out
    }

    pub(crate) fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        let n = self.node_count();
        let f = |v: &[i64]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
        w.put("n_nodes", &n)?;
        w.put("n_outputs", &self.n_outputs)?;
        w.array("feature", &[n], &f(&self.feature))?;
        w.array("threshold", &[n], &self.threshold)?;
        w.array("left", &[n], &f(&self.left))?;
        w.array("right", &[n], &f(&self.right))?;
        w.array("value", &[n, self.n_outputs], &self.value)?;
        w.array("impurity", &[n], &self.impurity)?;
        w.array("n_node_samples", &[n], &self.n_node_samples)?;
        w.array(
            "weighted_n_node_samples",
            &[n],
            &self.weighted_n_node_samples,
        )
    }

    /// Reads a tree back and checks that it is well formed (children after parents and in
    /// range, split features below `n_features`), so prediction cannot index out of bounds.
    pub(crate) fn load(r: &ArtifactReader, n_features: usize) -> Result<Tree> {
        let n: usize = r.get("n_nodes")?;
        let n_outputs: usize = r.get("n_outputs")?;
        let ints = |key: &str| -> Result<Vec<i64>> {
            Ok(r.vector(key, n)?.iter().map(|&v| v as i64).collect())
        };
        let t = Tree {
            feature: ints("feature")?,
            threshold: r.vector("threshold", n)?,
            left: ints("left")?,
            right: ints("right")?,
            value: r.matrix("value", n, n_outputs)?,
            n_outputs,
            impurity: r.vector("impurity", n)?,
            n_node_samples: r.vector("n_node_samples", n)?,
            weighted_n_node_samples: r.vector("weighted_n_node_samples", n)?,
        };
        if n == 0 {
            return Err(r.invalid("a tree needs at least one node"));
        }
        for i in 0..n {
            let (l, rt, f) = (t.left[i], t.right[i], t.feature[i]);
            let leaf = l == LEAF_CHILD && rt == LEAF_CHILD;
            let ok_child = |c: i64| c > i as i64 && (c as usize) < n;
            let split = ok_child(l) && ok_child(rt) && f >= 0 && (f as usize) < n_features;
            if !leaf && !split {
                return Err(r.invalid(format!("malformed tree node {i}")));
            }
        }
        Ok(t)
    }
}

/// The target a tree is grown on.
pub(crate) enum Target<'a> {
    Class {
        codes: &'a [u32],
        k: usize,
        entropy: bool,
    },
    Reg {
        y: &'a [f64],
    },
}

/// Growth limits and the feature sampling of a fit.
pub(crate) struct Grow {
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: usize,
    pub random_state: u64,
}

/// The best split found at a node: (proxy, visit rank, feature, threshold).
type Split = (f64, usize, usize, f64);

struct Builder<'a> {
    /// Feature columns rounded to f32 (see [`grow`]).
    cols: &'a [Vec<f32>],
    target: Target<'a>,
    w: &'a [f64],
    grow: &'a Grow,
}

impl Builder<'_> {
    /// Per-node statistics: (value, impurity, weight).
    fn node_stats(&self, rows: &[u32]) -> (Vec<f64>, f64, f64) {
        match &self.target {
            Target::Class { codes, k, entropy } => {
                let mut counts = vec![0.0; *k];
                for &r in rows {
                    counts[codes[r as usize] as usize] += self.w[r as usize];
                }
                let total: f64 = counts.iter().sum();
                let imp = class_impurity(&counts, total, *entropy);
                counts.iter_mut().for_each(|c| *c /= total);
                (counts, imp, total)
            }
            Target::Reg { y } => {
                let (mut s, mut sq, mut tw) = (0.0, 0.0, 0.0);
                for &r in rows {
                    let (wi, yi) = (self.w[r as usize], y[r as usize]);
                    s += wi * yi;
                    sq += wi * yi * yi;
                    tw += wi;
                }
                let mean = s / tw;
                (vec![mean], sq / tw - mean * mean, tw)
            }
        }
    }

    /// The node's target totals, once for all features (so every feature compares with the
    /// same sums): weighted class counts or `[Σ w·y]`, and the total weight.
    fn totals(&self, rows: &[u32]) -> (Vec<f64>, f64) {
        match &self.target {
            Target::Class { codes, k, .. } => {
                let mut total = vec![0.0; *k];
                for &r in rows {
                    total[codes[r as usize] as usize] += self.w[r as usize];
                }
                let wt = total.iter().sum();
                (total, wt)
            }
            Target::Reg { y } => {
                let (mut st, mut wt) = (0.0, 0.0);
                for &r in rows {
                    st += self.w[r as usize] * y[r as usize];
                    wt += self.w[r as usize];
                }
                (vec![st], wt)
            }
        }
    }

    /// The best split of `rows` on feature `f`: (proxy, threshold), or `None` when the
    /// feature is constant there or no position leaves `min_samples_leaf` rows on each side.
    /// `sorted` is scratch space.
    fn best_on_feature(
        &self,
        rows: &[u32],
        f: usize,
        totals: &(Vec<f64>, f64),
        sorted: &mut Vec<(f64, u32)>,
    ) -> Option<(f64, f64)> {
        let col = &self.cols[f];
        sorted.clear();
        sorted.extend(rows.iter().map(|&r| (f64::from(col[r as usize]), r)));
        sorted.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
        let m = sorted.len();
        if sorted[m - 1].0 <= sorted[0].0 + FEATURE_THRESHOLD {
            return None;
        }
        let msl = self.grow.min_samples_leaf;
        let mut best: Option<(f64, usize)> = None;
        match &self.target {
            Target::Class { codes, k, entropy } => {
                let (total, wt) = (&totals.0, totals.1);
                let mut left = vec![0.0; *k];
                let mut right = vec![0.0; *k];
                let mut wl = 0.0;
                for i in 0..m - 1 {
                    let r = sorted[i].1 as usize;
                    left[codes[r] as usize] += self.w[r];
                    wl += self.w[r];
                    if sorted[i + 1].0 <= sorted[i].0 + FEATURE_THRESHOLD {
                        continue;
                    }
                    let nl = i + 1;
                    if nl < msl || m - nl < msl {
                        continue;
                    }
                    let wr = wt - wl;
                    for c in 0..*k {
                        right[c] = total[c] - left[c];
                    }
                    let il = class_impurity(&left, wl, *entropy);
                    let ir = class_impurity(&right, wr, *entropy);
                    let proxy = -wr * ir - wl * il;
                    if best.is_none_or(|(b, _)| better(proxy, b)) {
                        best = Some((proxy, nl));
                    }
                }
            }
            Target::Reg { y } => {
                let (st, wt) = (totals.0[0], totals.1);
                let (mut sl, mut wl) = (0.0, 0.0);
                for i in 0..m - 1 {
                    let r = sorted[i].1 as usize;
                    sl += self.w[r] * y[r];
                    wl += self.w[r];
                    if sorted[i + 1].0 <= sorted[i].0 + FEATURE_THRESHOLD {
                        continue;
                    }
                    let nl = i + 1;
                    if nl < msl || m - nl < msl {
                        continue;
                    }
                    let sr = st - sl;
                    let proxy = sl * sl / wl + sr * sr / (wt - wl);
                    if best.is_none_or(|(b, _)| better(proxy, b)) {
                        best = Some((proxy, nl));
                    }
                }
            }
        }
        best.map(|(proxy, pos)| {
            let (a, b) = (sorted[pos - 1].0, sorted[pos].0);
            let mut t = a / 2.0 + b / 2.0;
            if t == b || t.is_infinite() || t.is_nan() {
                t = a;
            }
            (proxy, t)
        })
    }

    /// The best split over the features in `order` (visited until `max_features` non-constant
    /// ones were seen, like scikit-learn).
    fn best_split(&self, rows: &[u32], order: &[usize]) -> Option<Split> {
        let want = self.grow.max_features;
        let totals = self.totals(rows);
        if rows.len() >= PAR_ROWS && order.len() > 1 {
            // Evaluate every feature in parallel, then replay the sequential visiting rule.
            let res: Vec<(bool, Option<(f64, f64)>)> = order
                .par_iter()
                .map_init(Vec::new, |buf, &f| {
                    let constant = is_constant(&self.cols[f], rows);
                    let b = if constant {
                        None
                    } else {
                        self.best_on_feature(rows, f, &totals, buf)
                    };
                    (constant, b)
                })
                .collect();
            let mut best: Option<Split> = None;
            let mut visited = 0;
            for (rank, (&f, (constant, b))) in order.iter().zip(res).enumerate() {
                if visited >= want {
                    break;
                }
                if constant {
                    continue;
                }
                visited += 1;
                if let Some((proxy, t)) = b
                    && best.is_none_or(|s| better(proxy, s.0))
                {
                    best = Some((proxy, rank, f, t));
                }
            }
            best
        } else {
            let mut buf = Vec::with_capacity(rows.len());
            let mut best: Option<Split> = None;
            let mut visited = 0;
            for (rank, &f) in order.iter().enumerate() {
                if visited >= want {
                    break;
                }
                if is_constant(&self.cols[f], rows) {
                    continue;
                }
                visited += 1;
                if let Some((proxy, t)) = self.best_on_feature(rows, f, &totals, &mut buf)
                    && best.is_none_or(|s| better(proxy, s.0))
                {
                    best = Some((proxy, rank, f, t));
                }
            }
            best
        }
    }
}

/// Whether `proxy` beats `best` by more than rounding noise. Splits equally good in exact
/// arithmetic (the same partition through different features) differ only in the last bits
/// depending on summation order; treating them as ties keeps the first in visiting order,
/// so integer weights and repeated rows grow the same tree.
fn better(proxy: f64, best: f64) -> bool {
    proxy > best + 1e-12 * best.abs()
}

fn is_constant(col: &[f32], rows: &[u32]) -> bool {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &r in rows {
        let v = f64::from(col[r as usize]);
        lo = lo.min(v);
        hi = hi.max(v);
    }
    hi <= lo + FEATURE_THRESHOLD
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

/// Grows a tree on the rows of `data` with positive weight (`w` has one weight per row).
///
/// Features are rounded to f32 first, as scikit-learn does (its trees store `X` as float32;
/// thresholds are f64 midpoints of f32 values), so fitted trees and their predictions agree
/// with scikit-learn's, and the layout suits imported XGBoost/LightGBM trees (f32 too).
///
/// Zero-weight rows are left out up front: they change no impurity, and leaving them out makes
/// integer weights exactly equivalent to repeated rows (they would otherwise move midpoint
/// thresholds).
pub(crate) fn grow(data: &Dataset<f64>, target: Target<'_>, w: &[f64], grow: &Grow) -> Tree {
    let p = data.n_features();
    let cols: Vec<Vec<f32>> = (0..p)
        .into_par_iter()
        .map(|j| data.column(j).iter().map(|&v| v as f32).collect())
        .collect();
    let b = Builder {
        cols: &cols,
        target,
        w,
        grow,
    };
    let mut idx: Vec<u32> = (0..data.n_rows() as u32)
        .filter(|&i| w[i as usize] > 0.0)
        .collect();
    let mut rng = Rng::new(grow.random_state);
    let mut features: Vec<usize> = (0..p).collect();
    let mut t = Tree {
        feature: Vec::new(),
        threshold: Vec::new(),
        left: Vec::new(),
        right: Vec::new(),
        value: Vec::new(),
        n_outputs: match &b.target {
            Target::Class { k, .. } => *k,
            Target::Reg { .. } => 1,
        },
        impurity: Vec::new(),
        n_node_samples: Vec::new(),
        weighted_n_node_samples: Vec::new(),
    };
    // (start, end, depth, parent, is_left)
    let mut stack: Vec<(usize, usize, usize, Option<usize>, bool)> =
        vec![(0, idx.len(), 0, None, false)];
    let mut scratch: Vec<u32> = Vec::with_capacity(idx.len());
    while let Some((start, end, depth, parent, is_left)) = stack.pop() {
        let id = t.feature.len();
        if let Some(pa) = parent {
            if is_left {
                t.left[pa] = id as i64;
            } else {
                t.right[pa] = id as i64;
            }
        }
        let rows = &idx[start..end];
        let (value, impurity, weight) = b.node_stats(rows);
        t.value.extend_from_slice(&value);
        t.impurity.push(impurity);
        t.n_node_samples.push(rows.len() as f64);
        t.weighted_n_node_samples.push(weight);
        t.feature.push(LEAF_FEATURE);
        t.threshold.push(-2.0);
        t.left.push(LEAF_CHILD);
        t.right.push(LEAF_CHILD);

        let n = rows.len();
        let leaf = grow.max_depth.is_some_and(|d| depth >= d)
            || n < grow.min_samples_split
            || n < 2 * grow.min_samples_leaf
            || impurity <= f64::EPSILON;
        if leaf {
            continue;
        }
        rng.shuffle(&mut features);
        let Some((_, _, f, thr)) = b.best_split(rows, &features) else {
            continue;
        };
        // Stable partition: rows with x <= thr first.
        let col = &b.cols[f];
        let left = |r: &u32| f64::from(col[*r as usize]) <= thr;
        scratch.clear();
        scratch.extend(rows.iter().copied().filter(left));
        let nl = scratch.len();
        scratch.extend(rows.iter().copied().filter(|r| !left(r)));
        idx[start..end].copy_from_slice(&scratch);
        t.feature[id] = f as i64;
        t.threshold[id] = thr;
        // Right pushed first so the left subtree is numbered first (pre-order).
        stack.push((start + nl, end, depth + 1, Some(id), false));
        stack.push((start, start + nl, depth + 1, Some(id), true));
    }
    t
}
