//! `DecisionTreeClassifier`: a CART tree with Gini or entropy impurity whose leaves hold the
//! (weighted) class fractions of their training rows; `predict_proba` is the leaf's fractions
//! and `predict` their argmax (see the [module docs](super) for the growth rule).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, Prediction,
    Predictor, Proba, Registry, Result, UnknownCategory,
};

use super::{Columns, Grow, MaxFeatures, Splitter, Target, Tree, grow};

const NAME: &str = "DecisionTreeClassifier";

/// Impurity of a classification tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criterion {
    /// Gini impurity `1 - Σ p_c²`.
    Gini,
    /// Shannon entropy `-Σ p_c log2 p_c`.
    Entropy,
    /// Same as `Entropy` (scikit-learn's alias).
    LogLoss,
}

/// Class weights (scikit-learn's `class_weight`): `"balanced"` (`n / (k · n_c)` with `k`
/// the number of classes present and `n_c` the unweighted row count of class `c`) or a map
/// from class label to weight (absent classes weigh 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassWeight {
    /// `"balanced"`.
    Balanced(Balanced),
    /// Label → weight.
    Map(BTreeMap<String, f64>),
}

/// The `"balanced"` spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Balanced {
    /// `"balanced"`.
    Balanced,
}

smelt_core::params! {
    /// Parameters of [`DecisionTreeClassifier`] (scikit-learn's `DecisionTreeClassifier`).
    pub struct DecisionTreeClassifierParams("DecisionTreeClassifier") {
        /// Split quality: `"gini"`, `"entropy"` or `"log_loss"`; default `"gini"`.
        criterion: Criterion = Criterion::Gini;
        /// Maximum depth, `>= 1`; default `None` (grow until pure or too small).
        max_depth: Option<usize> = None, range: none_or(at_least_int(1)), setter: some(usize);
        /// Fewest rows a node needs to be split, `>= 2`; default 2.
        min_samples_split: usize = 2, range: at_least_int(2);
        /// Fewest rows each child must keep, `>= 1`; default 1.
        min_samples_leaf: usize = 1, range: at_least_int(1);
        /// Features considered per split: `None` (all), a count in `[1, n_features]`, a fraction
        /// in `(0, 1]`, `"sqrt"` or `"log2"`; default `None`.
        max_features: Option<MaxFeatures> = None,
            range: check(
                "None, an integer in [1, n_features], a float in (0, 1], \"sqrt\" or \"log2\"",
                MaxFeatures::valid,
                MaxFeatures::describe
            ),
            setter: some(MaxFeatures);
        /// Class weights, multiplied into the sample weights; default `None` (all 1).
        class_weight: Option<ClassWeight> = None, setter: some(ClassWeight);
        /// Seed of the random feature order (and subset with `max_features`); default 0.
        random_state: u64 = 0;
        /// Minimal cost-complexity pruning: weakest links with effective alpha `<= ccp_alpha`
        /// are pruned after growth, `>= 0`; default 0 (no pruning).
        ccp_alpha: f64 = 0.0, range: at_least(0.0);
        /// Grow best first (largest weighted impurity decrease next) up to this many leaves,
        /// `>= 2`; default `None` (depth first, unbounded).
        max_leaf_nodes: Option<usize> = None, range: none_or(at_least_int(2)), setter: some(usize);
    }
}

/// A fitted decision tree classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTreeClassifier {
    params: DecisionTreeClassifierParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    max_features: usize,
    tree: Tree,
}

impl Fit for DecisionTreeClassifierParams {
    type Model = DecisionTreeClassifier;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let weights_ok = match &self.class_weight {
            Some(ClassWeight::Map(m)) => m.values().all(|v| v.is_finite() && *v >= 0.0),
            _ => true,
        };
        self.range_check(NAME)
            .require(
                weights_ok,
                "class_weight",
                "None, \"balanced\" or a map of finite non-negative weights",
                format!("{:?}", self.class_weight),
            )
            .finish()
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
    ) -> Result<DecisionTreeClassifier> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let (codes, classes) = classification_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), w)?;
        let k = classes.len();
        let n = data.n_rows();
        let mut weights: Vec<f64> = w.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
        if let Some(cw) = &self.class_weight {
            let per_class = class_weights(cw, codes, classes, NAME)?;
            weights
                .iter_mut()
                .zip(codes)
                .for_each(|(wi, &c)| *wi *= per_class[c as usize]);
            if weights.iter().all(|&v| v == 0.0) {
                return Err(CoreError::SampleWeight {
                    estimator: NAME,
                    reason: "class_weight times sample_weight is zero for every row".into(),
                });
            }
        }
        let max_features = MaxFeatures::resolve(&self.max_features, data.n_features(), NAME)?;
        let g = Grow {
            max_depth: self.max_depth,
            min_samples_split: self.min_samples_split,
            min_samples_leaf: self.min_samples_leaf,
            max_features,
            random_state: self.random_state,
            splitter: Splitter::Best,
            max_leaf_nodes: self.max_leaf_nodes,
            parallel: true,
        };
        let target = Target::Class {
            codes,
            k,
            entropy: self.criterion != Criterion::Gini,
        };
        let tree = grow(&Columns::new(data, true), target, &weights, &g).pruned(self.ccp_alpha);
        Ok(DecisionTreeClassifier {
            params: self.clone(),
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            max_features,
            tree,
        })
    }
}

use smelt_core::ParamError;

/// Per-class multipliers of the sample weights.
pub(crate) fn class_weights(
    cw: &ClassWeight,
    codes: &[u32],
    classes: &[String],
    estimator: &'static str,
) -> Result<Vec<f64>> {
    let k = classes.len();
    match cw {
        ClassWeight::Balanced(_) => {
            let mut count = vec![0usize; k];
            codes.iter().for_each(|&c| count[c as usize] += 1);
            let present = count.iter().filter(|&&c| c > 0).count();
            let n = codes.len() as f64;
            Ok(count
                .iter()
                .map(|&c| {
                    if c > 0 {
                        n / (present as f64 * c as f64)
                    } else {
                        0.0
                    }
                })
                .collect())
        }
        ClassWeight::Map(m) => {
            if let Some(bad) = m.keys().find(|l| !classes.contains(l)) {
                return Err(CoreError::BadParam {
                    estimator: estimator.into(),
                    message: format!(
                        "class_weight names class {bad:?}, which is not in the target (classes: \
                         {classes:?})"
                    ),
                    suggestion: None,
                });
            }
            Ok(classes
                .iter()
                .map(|c| m.get(c).copied().unwrap_or(1.0))
                .collect())
        }
    }
}

impl DecisionTreeClassifier {
    /// The model kind in model files.
    pub const KIND: &'static str = "decision_tree_classifier";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &DecisionTreeClassifierParams {
        &self.params
    }
    /// Class labels, in code order (`classes_`).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// The flat node arrays (`tree_`).
    pub fn tree(&self) -> &Tree {
        &self.tree
    }
    /// Number of features considered per split (`max_features_`).
    pub fn max_features(&self) -> usize {
        self.max_features
    }
    /// Depth of the tree (`get_depth()`).
    pub fn depth(&self) -> usize {
        self.tree.depth()
    }
    /// Number of leaves (`get_n_leaves()`).
    pub fn n_leaves(&self) -> usize {
        self.tree.n_leaves()
    }
    /// Normalised impurity decrease per feature (`feature_importances_`).
    pub fn feature_importances(&self) -> Vec<f64> {
        self.tree.feature_importances(self.input.len())
    }

    /// Class probabilities, row-major `n × n_classes`: the leaf's weighted class fractions.
    pub fn predict_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let k = self.classes.len();
        let leaves = self.tree.apply(&d);
        let mut out = vec![0.0; leaves.len() * k];
        out.par_chunks_mut(k)
            .zip(leaves.par_iter())
            .for_each(|(o, &l)| o.copy_from_slice(&self.tree.value[l * k..(l + 1) * k]));
        Ok(out)
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, DecisionTreeClassifierParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let tree = Tree::load(r, input.len())?;
        if tree.n_outputs != classes.len() {
            return Err(r.invalid("tree values do not match the number of classes"));
        }
        Ok(Box::new(DecisionTreeClassifier {
            max_features: r.get("max_features")?,
            params,
            input,
            classes,
            tree,
        }))
    }
}

impl Predictor for DecisionTreeClassifier {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        Some(
            self.input_features()
                .iter()
                .map(|f| f.name.clone())
                .zip(self.feature_importances())
                .collect(),
        )
    }
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let values = self.predict_proba(data)?;
        let proba = Proba {
            n_classes: self.classes.len(),
            values,
        };
        Ok(Prediction::from_proba(proba, self.classes.clone()))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.put("max_features", &self.max_features)?;
        self.tree.save(w)
    }
}
