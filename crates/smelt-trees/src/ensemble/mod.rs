//! A flat tree-ensemble inference engine: the target of the XGBoost / LightGBM importers
//! ([`crate::import`]) and of Smelt's own gradient boosting.
//!
//! **Construction format.** [`Nodes`] holds every tree as a run of nodes in flat arrays (split
//! feature, threshold, left / right child, flags, leaf value); a builder appends trees with
//! [`Nodes::push_tree`], [`Nodes::push_node`] / [`Nodes::push_categorical_node`] and
//! [`Nodes::end_tree`]. These arrays are also what a saved model stores.
//!
//! **Decision rules.** At a numeric split a row goes left when `x < threshold` (XGBoost,
//! `strict`) or `x <= threshold` (LightGBM), and a missing value goes to the node's default side
//! (XGBoost `default_left`, LightGBM's missing types: see [`MISSING_NAN`] and friends). At a
//! categorical split ([`CATEGORICAL`]) the row goes left when its value is a non-negative
//! integer category code in the node's category set (a bitset), right for any other value
//! (a code outside the set, negative, fractional or beyond the bitset), and to the default
//! side when missing. The raw margin of output group `g` is `base[g] + Σ leaf(tree)` over the
//! trees of group `g` (multi-class models interleave one tree per class per round); the
//! objective turns margins into predictions: identity (regression), `σ(s·m)` (binary) or
//! softmax.
//!
//! **Walk layout.** [`TreeEnsemble::new`] validates the arrays and re-lays every tree in
//! depth-first pre-order into one array of 16-byte nodes: the threshold (or the bitset's word
//! range) in 8 bytes, the feature index and a node kind in 4, and the far child's absolute
//! index in 4 — the near child is always the next node. Each numeric split keeps the side its
//! missing values go to as the far child (LightGBM's missing type `None`, "NaN is read as 0",
//! becomes the fixed side 0 goes to), so a step is one load, one comparison (flipped when the
//! near child is the right one; a NaN compares false and takes the far child) and a
//! conditional move, with no flag test. LightGBM's `Zero` type and categorical splits take an
//! out-of-line step. Leaves hold a NaN threshold and point at themselves, so several walks can
//! advance in lockstep until all sit at a leaf; leaf values live beside the nodes. One row
//! walks 8 trees at a time ([`TreeEnsemble::predict_row_margins`], no allocation).
//!
//! **Batch layout.** A batch is cut into 256-row blocks predicted in parallel. Each block is
//! binned: every value becomes its rank among its feature's split thresholds, so each split is
//! an exact integer range test on 8-byte nodes, and categorical splits test a 32-bit mask
//! inline (`binned.rs`). With AVX2, 64 rows walk each tree together with gathers (`simd.rs`;
//! with AVX-512 and the `avx512` feature, `simd512.rs`).
//! Without AVX2, and for models the binned layout cannot hold (see `Binned::new`), batches
//! walk the `f64` layout, 16 rows per tree, from a row-major copy of the block. Independent walks
//! overlap in the pipeline where one walk is a chain of dependent loads. Every row still adds
//! its trees in tree order, and every split decides exactly as in the `f64` walk, so single-row
//! and batch margins are identical.
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

mod binned;
mod node_word;
mod nodes;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(all(target_arch = "x86_64", feature = "avx512"))]
mod simd512;
mod walk;

use binned::{Binned, Walker};
pub use nodes::Nodes;
use walk::Walk;

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
/// Flag bit: a categorical split (made by [`Nodes::push_categorical_node`]). Its `threshold`
/// slot holds the index `k` of its category bitset, `cat_words[cat_bounds[k]..cat_bounds[k + 1]]`;
/// its missing mode is always [`MISSING_NAN`].
pub const CATEGORICAL: u8 = 1 << 3;
const MISSING_MASK: u8 = 3 << 1;
const KNOWN_FLAGS: u8 = DEFAULT_LEFT | MISSING_MASK | CATEGORICAL;
/// Category codes a split can name: `0..MAX_CATEGORY` (XGBoost's limit too: codes are exact in
/// `f32`). Bitsets are at most `MAX_CATEGORY / 32` words.
pub(crate) const MAX_CATEGORY: u32 = 1 << 24;
/// Input features the walk layout can address (24 bits of the node key).
pub(crate) const MAX_FEATURES: usize = 1 << 24;
/// LightGBM's `kZeroThreshold`: `|x| <= 1e-35` counts as zero.
const ZERO_THRESHOLD: f64 = 1e-35;
/// Rows per parallel block.
const BLOCK: usize = 256;
/// Fewest rows of a block walked together: the binned SIMD walk steps 64 rows through each tree
/// at once and the `f64` block walk 16 (spare lanes repeat a row), so a handful of rows — what a
/// server's dynamic batcher assembles from concurrent single-row requests — cost as much as 64
/// there. Fewer rows walk one by one ([`TreeEnsemble::predict_row_margins`]'s walk). All three
/// give the same bits.
const MIN_BLOCK_ROWS: usize = 24;
/// Trees one row walks together ([`TreeEnsemble::predict_row_margins`]).
const LANES: usize = 8;
/// Rows walking each tree together in a batch block (measured: 16 beats 8 and 4).
const ROW_LANES: usize = 16;

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
    /// What an unseen category label becomes at prediction (absent in older models: error).
    #[serde(default)]
    unknown_category: UnknownCategory,
}

/// A gradient-boosted tree ensemble: imported (XGBoost, LightGBM) or Smelt's own.
#[derive(Clone, Debug, PartialEq)]
pub struct TreeEnsemble {
    source: String,
    input: Vec<Feature>,
    n_groups: usize,
    base: Vec<f64>,
    objective: Objective,
    strict: bool,
    single_precision: bool,
    unknown: UnknownCategory,
    nodes: Nodes,
    walk: Walk,
    /// The batch layout (`None` when it cannot hold the trees: the `f64` walk does batches).
    binned: Option<Binned>,
}

impl TreeEnsemble {
    /// Model kind in artifacts.
    pub const KIND: &'static str = "tree_ensemble";

    /// Assembles and validates an ensemble. `strict`: go left on `x < threshold` (else `<=`);
    /// `single_precision`: read features and sum leaves in `f32` like XGBoost. Categorical
    /// splits may test numeric or categorical input features (the values are category
    /// codes); numeric splits need numeric features. The error message names the first
    /// inconsistency.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per array of the saved node format"
    )]
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
        if input.len() > MAX_FEATURES {
            return Err(format!(
                "{} input features (at most {MAX_FEATURES} are supported)",
                input.len()
            ));
        }
        if nodes.feature.len() >= u32::MAX as usize {
            return Err(format!("{} nodes is too many", nodes.feature.len()));
        }
        nodes.validate(input.len(), n_groups)?;
        for t in 0..nodes.n_trees() {
            let a = nodes.tree_start[t];
            for g in a..nodes.tree_start[t + 1] {
                let f = nodes.feature[g];
                if f != LEAF
                    && nodes.flags[g] & CATEGORICAL == 0
                    && matches!(input[f as usize].kind, FeatureKind::Categorical { .. })
                {
                    return Err(format!(
                        "tree {t}, node {}: a numeric split on the categorical feature `{}`",
                        g - a,
                        input[f as usize].name
                    ));
                }
            }
        }
        let walk = Walk::new(&nodes, strict);
        let binned = Binned::new(&nodes, strict);
        Ok(TreeEnsemble {
            source: source.into(),
            input,
            n_groups,
            base,
            objective,
            strict,
            single_precision,
            unknown: UnknownCategory::Error,
            nodes,
            walk,
            binned,
        })
    }

    /// What a category label not among a categorical input feature's categories becomes at
    /// prediction (default: an error, like XGBoost; LightGBM reads it as missing).
    pub(crate) fn with_unknown_category(mut self, unknown: UnknownCategory) -> TreeEnsemble {
        self.unknown = unknown;
        self
    }

    /// The same ensemble predicting batches with the `f64` walk instead of the binned layout
    /// (for benchmarks and tests that compare the two; predictions are identical).
    #[doc(hidden)]
    pub fn with_f64_batches(mut self) -> TreeEnsemble {
        self.binned = None;
        self
    }

    /// Whether batches use the binned layout (see the module docs).
    #[doc(hidden)]
    pub fn has_binned_batches(&self) -> bool {
        self.binned.is_some()
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

    /// Whether a row goes left on `x < threshold` (XGBoost) rather than `x <= threshold`.
    pub fn strict(&self) -> bool {
        self.strict
    }

    /// Whether features are read and leaves summed in `f32` (XGBoost).
    pub fn single_precision(&self) -> bool {
        self.single_precision
    }

    /// What a category label unseen in training becomes at prediction.
    pub fn unknown_category(&self) -> UnknownCategory {
        self.unknown
    }

    /// Raw margins of one row into `out` (`n_groups` values) without allocating. `row` holds
    /// the values of [`Predictor::input_features`] in that order (category codes for
    /// categorical features); NaN is missing. A row or output of the wrong length is an error.
    pub fn predict_row_margins(&self, row: &[f64], out: &mut [f64]) -> Result<()> {
        let wrong = |what: String| CoreError::BadParam {
            estimator: self.estimator().into(),
            message: what,
            suggestion: None,
        };
        if row.len() != self.input.len() {
            return Err(wrong(format!(
                "a row of {} values, but the model reads {} features",
                row.len(),
                self.input.len()
            )));
        }
        if out.len() != self.n_groups {
            return Err(wrong(format!(
                "room for {} margins, but the model has {} output group(s)",
                out.len(),
                self.n_groups
            )));
        }
        self.any_row_margins(row, out);
        Ok(())
    }

    /// The single-row walk for this ensemble's precision settings (lengths already checked).
    fn any_row_margins(&self, row: &[f64], out: &mut [f64]) {
        match (self.strict, self.single_precision) {
            (true, true) => self.row_margins::<true, true>(row, out),
            (true, false) => self.row_margins::<true, false>(row, out),
            (false, true) => self.row_margins::<false, true>(row, out),
            (false, false) => self.row_margins::<false, false>(row, out),
        }
    }

    /// Raw margins, row-major `n_rows × n_groups` (what `output_margin=True` /
    /// `raw_score=True` return). Missing values are NaN or marked in the dataset's mask.
    pub fn raw_margins(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, self.unknown)?;
        if d.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: self.estimator(),
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let (n, p, k) = (d.n_rows(), d.n_features(), self.n_groups);
        let mut out = vec![0.0; n * k];
        out.par_chunks_mut(BLOCK * k)
            .enumerate()
            .for_each(|(b, out)| {
                let start = b * BLOCK;
                let rows = out.len() / k;
                if let (Some(binned), Some(walker), true) =
                    (&self.binned, Walker::best(), rows >= MIN_BLOCK_ROWS)
                {
                    let (strict, f32) = (self.strict, self.single_precision);
                    binned.predict_block(&d, start, strict, f32, &self.base, out, walker);
                    return;
                }
                // Row-major copy of the block, so a walk reads one row's values together.
                let mut x = vec![0.0; rows * p];
                for j in 0..p {
                    let col = &d.column(j)[start..start + rows];
                    let miss = d.missing(j);
                    for (r, &v) in col.iter().enumerate() {
                        let missing = miss.is_some_and(|m| m.get(start + r));
                        x[r * p + j] = if missing { f64::NAN } else { v };
                    }
                }
                if rows < MIN_BLOCK_ROWS {
                    // A few rows: each walks alone (no spare lanes).
                    for (r, out) in out.chunks_exact_mut(k).enumerate() {
                        self.any_row_margins(&x[r * p..(r + 1) * p], out);
                    }
                    return;
                }
                match (self.strict, self.single_precision) {
                    (true, true) => self.block_margins::<true, true>(&x, p, out),
                    (true, false) => self.block_margins::<true, false>(&x, p, out),
                    (false, true) => self.block_margins::<false, true>(&x, p, out),
                    (false, false) => self.block_margins::<false, false>(&x, p, out),
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
        Ok(Box::new(Self::read(r)?))
    }

    /// Reads back an ensemble saved with [`Predictor::save`] (also as part of another model).
    pub fn read(r: &ArtifactReader) -> Result<TreeEnsemble> {
        let input: Vec<Feature> = r.get("input")?;
        let meta: Meta = r.get("meta")?;
        let n = meta.tree_start.last().copied().unwrap_or(0);
        let to_u32 = |key: &str, values: Vec<f64>| -> Result<Vec<u32>> {
            values
                .into_iter()
                .map(|v| {
                    if v >= 0.0 && v <= u32::MAX as f64 && v.fract() == 0.0 {
                        Ok(v as u32)
                    } else {
                        Err(r.invalid(format!("array `{key}` holds {v}, not a 32-bit index")))
                    }
                })
                .collect()
        };
        let ints = |key: &str| -> Result<Vec<u32>> { to_u32(key, r.vector(key, n)?) };
        let (cat_words, cat_bounds) = if r.has("cat_bounds") {
            (
                to_u32("cat_words", r.array("cat_words", 1)?.1)?,
                to_u32("cat_bounds", r.array("cat_bounds", 1)?.1)?,
            )
        } else {
            (Vec::new(), Vec::new())
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
            cat_words,
            cat_bounds,
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
        .map_err(|e| r.invalid(e))?
        .with_unknown_category(meta.unknown_category);
        Ok(m)
    }
}

impl Predictor for TreeEnsemble {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

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
            Some(proba) => Prediction::from_proba(proba, self.classes()),
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
                unknown_category: self.unknown,
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
        w.vector("value", &self.nodes.value)?;
        if !self.nodes.cat_bounds.is_empty() {
            w.vector("cat_words", &f(&self.nodes.cat_words))?;
            w.vector("cat_bounds", &f(&self.nodes.cat_bounds))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
