//! A flat tree-ensemble inference engine: the target of the XGBoost / LightGBM importers
//! ([`crate::import`]).
//!
//! Every tree is a run of nodes in flat arrays (split feature, threshold, left / right child,
//! flags, leaf value). A row walks each tree from its root: at an internal node it goes left
//! when `x < threshold` (XGBoost) or `x <= threshold` (LightGBM), and a missing value goes to
//! the node's default side (XGBoost `default_left`, LightGBM's missing types: see [`MISSING_NAN`]
//! and friends). The raw margin of output group `g` is `base[g] + Σ leaf(tree)` over the trees
//! of group `g` (multi-class models interleave one tree per class per round); the objective
//! turns margins into predictions: identity (regression), `σ(s·m)` (binary) or softmax.
//!
//! XGBoost works in single precision: it reads features as `f32` and sums leaves in `f32`;
//! [`TreeEnsemble`] reproduces that when `single_precision` is set, so imported models predict
//! what the library predicts to the last bits.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Output, Prediction,
    Predictor, Proba, Registry, Result, UnknownCategory,
};

/// Marks a leaf in the `feature` array.
pub const LEAF: u32 = u32::MAX;
/// Flag bit: a missing value (by the node's missing mode) goes left.
pub const DEFAULT_LEFT: u8 = 1;
/// Missing mode (bits 1–2 of the flags): NaN goes to the default side (XGBoost; LightGBM
/// missing type `NaN`).
pub const MISSING_NAN: u8 = 0;
/// Missing mode: NaN is read as 0 and compared (LightGBM missing type `None`).
pub const MISSING_NONE: u8 = 1 << 1;
/// Missing mode: NaN is read as 0, and 0 goes to the default side (LightGBM missing type `Zero`).
pub const MISSING_ZERO: u8 = 2 << 1;
const MISSING_MASK: u8 = 3 << 1;
/// LightGBM's `kZeroThreshold`: `|x| <= 1e-35` counts as zero.
const ZERO_THRESHOLD: f64 = 1e-35;
/// Rows per parallel block.
const BLOCK: usize = 256;

/// How raw margins become predictions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Objective {
    /// Regression: the margin is the prediction.
    Identity,
    /// Binary classification: `P(class 1) = 1 / (1 + exp(-scale · margin))`.
    Logistic {
        /// LightGBM's `sigmoid` parameter (1 for XGBoost).
        scale: f64,
    },
    /// Multi-class: softmax over the groups' margins.
    Softmax,
}

/// The trees of an ensemble as flat node arrays (all trees concatenated; child indices are
/// relative to their tree's first node).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nodes {
    /// Index of each tree's first node, plus the total at the end (`n_trees + 1` entries).
    pub tree_start: Vec<usize>,
    /// Output group of each tree (its class for multi-class models, else 0).
    pub tree_group: Vec<usize>,
    /// Split feature, or [`LEAF`].
    pub feature: Vec<u32>,
    /// Split threshold (unused at leaves).
    pub threshold: Vec<f64>,
    /// Left child (relative to the tree's first node).
    pub left: Vec<u32>,
    /// Right child.
    pub right: Vec<u32>,
    /// [`DEFAULT_LEFT`] and a missing mode.
    pub flags: Vec<u8>,
    /// Leaf value (unused at internal nodes).
    pub value: Vec<f64>,
}

impl Nodes {
    /// Starts a tree of output group `group`; add its nodes with [`Nodes::push_node`] (children
    /// relative to the tree's first node), then close it with [`Nodes::end_tree`].
    pub fn push_tree(&mut self, group: usize) {
        if self.tree_start.is_empty() {
            self.tree_start.push(0);
        }
        self.tree_group.push(group);
        self.tree_start.push(self.feature.len());
    }

    /// Adds a node to the last tree.
    pub fn push_node(
        &mut self,
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
        flags: u8,
        value: f64,
    ) {
        self.feature.push(feature);
        self.threshold.push(threshold);
        self.left.push(left);
        self.right.push(right);
        self.flags.push(flags);
        self.value.push(value);
    }

    /// Closes the last tree.
    pub fn end_tree(&mut self) {
        if let Some(last) = self.tree_start.last_mut() {
            *last = self.feature.len();
        }
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.tree_group.len()
    }

    /// Checks the arrays are consistent: lengths, feature and group ranges, and children after
    /// their parent within their tree (so every walk ends). The message names the tree and node.
    pub fn validate(&self, n_features: usize, n_groups: usize) -> std::result::Result<(), String> {
        let n = self.feature.len();
        for (name, len) in [
            ("threshold", self.threshold.len()),
            ("left", self.left.len()),
            ("right", self.right.len()),
            ("flags", self.flags.len()),
            ("value", self.value.len()),
        ] {
            if len != n {
                return Err(format!(
                    "node array `{name}` has {len} entries, expected {n}"
                ));
            }
        }
        if self.tree_start.len() != self.tree_group.len() + 1
            || self.tree_start.first().is_some_and(|&s| s != 0)
            || self.tree_start.last().is_some_and(|&s| s != n)
        {
            return Err("tree offsets do not match the node arrays".into());
        }
        for t in 0..self.n_trees() {
            let (a, b) = (self.tree_start[t], self.tree_start[t + 1]);
            if b <= a {
                return Err(format!("tree {t} has no nodes"));
            }
            if self.tree_group[t] >= n_groups {
                return Err(format!(
                    "tree {t} belongs to output group {}, but the model has {n_groups}",
                    self.tree_group[t]
                ));
            }
            let size = b - a;
            for i in 0..size {
                let f = self.feature[a + i];
                if f == LEAF {
                    if !self.value[a + i].is_finite() {
                        return Err(format!("tree {t}, node {i}: leaf value is not finite"));
                    }
                    continue;
                }
                if f as usize >= n_features {
                    return Err(format!(
                        "tree {t}, node {i}: split feature {f} is out of range (the model has {n_features} features)"
                    ));
                }
                for (side, c) in [("left", self.left[a + i]), ("right", self.right[a + i])] {
                    let c = c as usize;
                    if c <= i || c >= size {
                        return Err(format!(
                            "tree {t}, node {i}: {side} child {c} is invalid (the tree has {size} nodes)"
                        ));
                    }
                }
                if self.threshold[a + i].is_nan() {
                    return Err(format!("tree {t}, node {i}: threshold is NaN"));
                }
                if self.flags[a + i] & MISSING_MASK == MISSING_MASK {
                    return Err(format!("tree {t}, node {i}: unknown missing-value mode"));
                }
            }
        }
        Ok(())
    }

    /// The leaf value row `x` reaches in tree `t`.
    #[inline]
    fn leaf(&self, t: usize, x: &[f64], strict: bool) -> f64 {
        let base = self.tree_start[t];
        let mut i = base;
        loop {
            let f = self.feature[i];
            if f == LEAF {
                return self.value[i];
            }
            let mut v = x[f as usize];
            let flags = self.flags[i];
            let go_default = match flags & MISSING_MASK {
                MISSING_NAN => v.is_nan(),
                MISSING_NONE => {
                    if v.is_nan() {
                        v = 0.0;
                    }
                    false
                }
                _ => {
                    if v.is_nan() {
                        v = 0.0;
                    }
                    (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&v)
                }
            };
            let left = if go_default {
                flags & DEFAULT_LEFT != 0
            } else if strict {
                v < self.threshold[i]
            } else {
                v <= self.threshold[i]
            };
            i = base + if left { self.left[i] } else { self.right[i] } as usize;
        }
    }
}

/// Everything but the nodes, saved as one JSON value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    source: String,
    n_groups: usize,
    base: Vec<f64>,
    objective: Objective,
    strict: bool,
    single_precision: bool,
    tree_start: Vec<usize>,
    tree_group: Vec<usize>,
}

/// An imported gradient-boosted tree ensemble (XGBoost or LightGBM).
#[derive(Clone, Debug, PartialEq)]
pub struct TreeEnsemble {
    source: String,
    input: Vec<Feature>,
    n_groups: usize,
    base: Vec<f64>,
    objective: Objective,
    strict: bool,
    single_precision: bool,
    nodes: Nodes,
}

impl TreeEnsemble {
    /// Model kind in artifacts.
    pub const KIND: &'static str = "tree_ensemble";

    /// Assembles and validates an ensemble. `strict`: go left on `x < threshold` (else `<=`);
    /// `single_precision`: read features and sum leaves in `f32` like XGBoost. The error
    /// message names the first inconsistency.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        source: &str,
        input: Vec<Feature>,
        n_groups: usize,
        base: Vec<f64>,
        objective: Objective,
        strict: bool,
        single_precision: bool,
        nodes: Nodes,
    ) -> std::result::Result<TreeEnsemble, String> {
        if n_groups == 0 {
            return Err("the model has no output group".into());
        }
        if base.len() != n_groups {
            return Err(format!(
                "{} base score(s) for {n_groups} output group(s)",
                base.len()
            ));
        }
        match (&objective, n_groups) {
            (Objective::Softmax, k) if k < 2 => {
                return Err("a softmax objective needs at least 2 classes".into());
            }
            (Objective::Identity | Objective::Logistic { .. }, k) if k != 1 => {
                return Err(format!(
                    "this objective needs 1 output group, the model has {k}"
                ));
            }
            _ => {}
        }
        if nodes.n_trees() == 0 {
            return Err("the model has no trees".into());
        }
        nodes.validate(input.len(), n_groups)?;
        Ok(TreeEnsemble {
            source: source.into(),
            input,
            n_groups,
            base,
            objective,
            strict,
            single_precision,
            nodes,
        })
    }

    /// The library the model came from (`xgboost`, `lightgbm`).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.nodes.n_trees()
    }

    /// Number of output groups (classes of a multi-class model, else 1).
    pub fn n_groups(&self) -> usize {
        self.n_groups
    }

    /// The margin before any tree, per group.
    pub fn base_score(&self) -> &[f64] {
        &self.base
    }

    /// The objective.
    pub fn objective(&self) -> &Objective {
        &self.objective
    }

    /// The flat node arrays.
    pub fn nodes(&self) -> &Nodes {
        &self.nodes
    }

    /// Raw margins, row-major `n_rows × n_groups` (what `output_margin=True` /
    /// `raw_score=True` return). Missing values are NaN or marked in the dataset's mask.
    pub fn raw_margins(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        let name = self.estimator();
        if d.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: name,
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        for f in d.features() {
            if matches!(f.kind, FeatureKind::Categorical { .. }) {
                return Err(CoreError::NotNumeric {
                    estimator: name,
                    feature: f.name.clone(),
                });
            }
        }
        let (n, p, k) = (d.n_rows(), d.n_features(), self.n_groups);
        let mut out = vec![0.0; n * k];
        out.par_chunks_mut(BLOCK * k)
            .enumerate()
            .for_each(|(b, out)| {
                let start = b * BLOCK;
                let rows = out.len() / k;
                // Row-major copy of the block, so a walk reads one row's values together.
                let mut x = vec![0.0; rows * p];
                for j in 0..p {
                    let col = &d.column(j)[start..start + rows];
                    let miss = d.missing(j);
                    for (r, &v) in col.iter().enumerate() {
                        let missing = miss.is_some_and(|m| m.get(start + r));
                        x[r * p + j] = if missing {
                            f64::NAN
                        } else if self.single_precision {
                            v as f32 as f64
                        } else {
                            v
                        };
                    }
                }
                for r in 0..rows {
                    let row = &x[r * p..(r + 1) * p];
                    let o = &mut out[r * k..(r + 1) * k];
                    if self.single_precision {
                        let mut acc: Vec<f32> = self.base.iter().map(|&b| b as f32).collect();
                        for t in 0..self.nodes.n_trees() {
                            acc[self.nodes.tree_group[t]] +=
                                self.nodes.leaf(t, row, self.strict) as f32;
                        }
                        for (o, a) in o.iter_mut().zip(acc) {
                            *o = a as f64;
                        }
                    } else {
                        o.copy_from_slice(&self.base);
                        for t in 0..self.nodes.n_trees() {
                            o[self.nodes.tree_group[t]] += self.nodes.leaf(t, row, self.strict);
                        }
                    }
                }
            });
        Ok(out)
    }

    /// Class probabilities from margins (row-major `n × classes`); `None` for regression.
    pub fn proba_from_margins(&self, margins: &[f64]) -> Option<Proba> {
        match self.objective {
            Objective::Identity => None,
            Objective::Logistic { scale } => Some(Proba {
                n_classes: 2,
                values: margins
                    .iter()
                    .flat_map(|&m| {
                        let p = 1.0 / (1.0 + (-scale * m).exp());
                        [1.0 - p, p]
                    })
                    .collect(),
            }),
            Objective::Softmax => {
                let k = self.n_groups;
                let mut values = margins.to_vec();
                for row in values.chunks_mut(k) {
                    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mut s = 0.0;
                    for v in row.iter_mut() {
                        *v = (*v - mx).exp();
                        s += *v;
                    }
                    row.iter_mut().for_each(|v| *v /= s);
                }
                Some(Proba {
                    n_classes: k,
                    values,
                })
            }
        }
    }

    fn classes(&self) -> Vec<String> {
        let k = match self.objective {
            Objective::Logistic { .. } => 2,
            _ => self.n_groups,
        };
        (0..k).map(|c| c.to_string()).collect()
    }

    fn estimator(&self) -> &'static str {
        match self.source.as_str() {
            "xgboost" => "XGBoost model",
            "lightgbm" => "LightGBM model",
            _ => "tree ensemble",
        }
    }

    /// Loads a saved ensemble.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let input: Vec<Feature> = r.get("input")?;
        let meta: Meta = r.get("meta")?;
        let n = meta.tree_start.last().copied().unwrap_or(0);
        let ints = |key: &str| -> Result<Vec<u32>> {
            r.vector(key, n)?
                .into_iter()
                .map(|v| {
                    if v >= 0.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
                        Ok(v as u32)
                    } else {
                        Err(r.invalid(format!("array `{key}` holds {v}, not a node index")))
                    }
                })
                .collect()
        };
        let nodes = Nodes {
            tree_start: meta.tree_start,
            tree_group: meta.tree_group,
            feature: ints("feature")?,
            threshold: r.vector("threshold", n)?,
            left: ints("left")?,
            right: ints("right")?,
            flags: ints("flags")?
                .into_iter()
                .map(|f| u8::try_from(f).map_err(|_| r.invalid(format!("node flags {f}"))))
                .collect::<Result<_>>()?,
            value: r.vector("value", n)?,
        };
        let m = TreeEnsemble::new(
            &meta.source,
            input,
            meta.n_groups,
            meta.base,
            meta.objective,
            meta.strict,
            meta.single_precision,
            nodes,
        )
        .map_err(|e| r.invalid(e))?;
        Ok(Box::new(m))
    }
}

impl Predictor for TreeEnsemble {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        match self.objective {
            Objective::Identity => Output::Regression,
            _ => Output::Classification {
                classes: self.classes(),
                has_proba: true,
            },
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let margins = self.raw_margins(data)?;
        Ok(match self.proba_from_margins(&margins) {
            None => Prediction::Regression { values: margins },
            Some(proba) => Prediction::Classification {
                labels: proba.argmax(),
                classes: self.classes(),
                proba: Some(proba),
            },
        })
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put("input", &self.input)?;
        w.put(
            "meta",
            &Meta {
                source: self.source.clone(),
                n_groups: self.n_groups,
                base: self.base.clone(),
                objective: self.objective.clone(),
                strict: self.strict,
                single_precision: self.single_precision,
                tree_start: self.nodes.tree_start.clone(),
                tree_group: self.nodes.tree_group.clone(),
            },
        )?;
        let f = |v: &[u32]| v.iter().map(|&x| x as f64).collect::<Vec<_>>();
        w.vector("feature", &f(&self.nodes.feature))?;
        w.vector("threshold", &self.nodes.threshold)?;
        w.vector("left", &f(&self.nodes.left))?;
        w.vector("right", &f(&self.nodes.right))?;
        w.vector(
            "flags",
            &self
                .nodes
                .flags
                .iter()
                .map(|&x| x as f64)
                .collect::<Vec<_>>(),
        )?;
        w.vector("value", &self.nodes.value)
    }
}
