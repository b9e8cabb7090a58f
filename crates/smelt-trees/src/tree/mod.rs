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
//! Regression trees can also use the absolute error (`criterion = "absolute_error"`): the
//! impurity is the weighted mean absolute deviation from the weighted median, leaves predict
//! the weighted median, and the errors of every prefix and suffix of a sorted feature come from
//! two passes of a weighted Fenwick tree over the node's target ranks (scikit-learn 1.9's
//! algorithm and arithmetic, O(m log m) per feature). `"friedman_mse"` ranks splits exactly as
//! the squared error does and is its alias (as in scikit-learn 1.9).
//!
//! With `max_leaf_nodes` the tree grows best first (scikit-learn's `BestFirstTreeBuilder`): every
//! node is split-searched when created, and the frontier node with the largest weighted impurity
//! decrease `W_t/W · (I(t) - W_R/W_t·I(R) - W_L/W_t·I(L))` is expanded next until the tree has
//! `max_leaf_nodes` leaves; the result is renumbered in pre-order. With `ccp_alpha > 0` the grown
//! tree is then pruned by minimal cost-complexity pruning (see [`Tree::pruned`] and
//! [`Tree::cost_complexity_pruning_path`]).
//!
//! The sort is not a float sort per node: the features are ranked once per fit and a node's
//! rows are radix-sorted on their ranks, with the same result (see `grow.rs`). The same grower
//! serves the forests ([`crate::forest`]), including their random-threshold splitter.
//!
//! Fitted trees are flat node arrays ([`Tree`]) — `feature`, `threshold`, `left`, `right`,
//! `value` — the inference layout of the whole crate.

mod bins;
mod block;
mod builder;
mod classifier;
mod columns;
mod fenwick;
mod grow;
mod presort;
mod prune;
mod regressor;
mod scan;
mod sort;

pub(crate) use classifier::class_weights;
pub use classifier::{
    Balanced, ClassWeight, Criterion, DecisionTreeClassifier, DecisionTreeClassifierParams,
};
pub use regressor::{DecisionTreeRegressor, DecisionTreeRegressorParams, RegressionCriterion};

pub(crate) use builder::{Grow, RegLoss, Splitter, Target};
pub(crate) use columns::Columns;
pub(crate) use grow::grow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{ArtifactReader, ArtifactWriter, CoreError, Dataset, Result};

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
        t.check_shape(n_features).map_err(|m| r.invalid(m))?;
        Ok(t)
    }

    /// Checks that the tree is well formed: at least one node, children after their parent
    /// and in range, split features below `n_features`, and thresholds not NaN (so
    /// prediction cannot index out of bounds or loop).
    pub(crate) fn check_shape(&self, n_features: usize) -> std::result::Result<(), String> {
        let n = self.feature.len();
        if n == 0 {
            return Err("a tree needs at least one node".into());
        }
        for i in 0..n {
            let (l, rt, f) = (self.left[i], self.right[i], self.feature[i]);
            let leaf = l == LEAF_CHILD && rt == LEAF_CHILD;
            let ok_child = |c: i64| c > i as i64 && (c as usize) < n;
            let split = ok_child(l)
                && ok_child(rt)
                && f >= 0
                && (f as usize) < n_features
                && !self.threshold[i].is_nan();
            if !leaf && !split {
                return Err(format!("malformed tree node {i}"));
            }
        }
        Ok(())
    }
}

impl Tree {
    /// The same tree renumbered in pre-order (left subtree first), the layout every tree of
    /// this crate has.
    pub(crate) fn preorder(&self) -> Tree {
        let n = self.node_count();
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            order.push(i);
            if self.left[i] != LEAF_CHILD {
                stack.push(self.right[i] as usize);
                stack.push(self.left[i] as usize);
            }
        }
        let mut new_id = vec![0i64; n];
        for (new, &old) in order.iter().enumerate() {
            new_id[old] = new as i64;
        }
        let k = self.n_outputs;
        let remap = |c: i64| {
            if c == LEAF_CHILD {
                LEAF_CHILD
            } else {
                new_id[c as usize]
            }
        };
        Tree {
            feature: order.iter().map(|&i| self.feature[i]).collect(),
            threshold: order.iter().map(|&i| self.threshold[i]).collect(),
            left: order.iter().map(|&i| remap(self.left[i])).collect(),
            right: order.iter().map(|&i| remap(self.right[i])).collect(),
            value: order
                .iter()
                .flat_map(|&i| self.value[i * k..(i + 1) * k].iter().copied())
                .collect(),
            n_outputs: k,
            impurity: order.iter().map(|&i| self.impurity[i]).collect(),
            n_node_samples: order.iter().map(|&i| self.n_node_samples[i]).collect(),
            weighted_n_node_samples: order
                .iter()
                .map(|&i| self.weighted_n_node_samples[i])
                .collect(),
        }
    }
}
