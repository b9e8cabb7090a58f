//! `DecisionTreeRegressor`: a CART tree with squared-error impurity (the weighted variance of
//! the node's targets) whose leaves predict the weighted mean target of their training rows
//! (see the [module docs](super) for the growth rule).

use serde::{Deserialize, Serialize};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, finite_regression_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, Dataset, Feature, Fit, Output, ParamError, Prediction,
    Predictor, Registry, Result, UnknownCategory,
};

use super::{Columns, Grow, MaxFeatures, Splitter, Target, Tree, grow};

const NAME: &str = "DecisionTreeRegressor";

/// Impurity of a regression tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionCriterion {
    /// Weighted variance of the targets (`"squared_error"`); leaves predict the weighted mean.
    SquaredError,
    /// Friedman's improvement `W_L·W_R·(mean_L - mean_R)² / W` ranks splits exactly as the
    /// squared error does (it is the variance decrease), so this is `SquaredError` — as in
    /// scikit-learn 1.9, which deprecated `"friedman_mse"` as an alias of it.
    FriedmanMse,
    /// Weighted mean absolute deviation from the weighted median (`"absolute_error"`); leaves
    /// predict the weighted median (the midpoint of the two middle values when the cumulative
    /// weight hits exactly half, as scikit-learn).
    AbsoluteError,
}

impl RegressionCriterion {
    pub(crate) fn loss(self) -> super::RegLoss {
        match self {
            RegressionCriterion::SquaredError | RegressionCriterion::FriedmanMse => {
                super::RegLoss::Squared
            }
            RegressionCriterion::AbsoluteError => super::RegLoss::Absolute,
        }
    }
}

smelt_core::params! {
    /// Parameters of [`DecisionTreeRegressor`] (scikit-learn's `DecisionTreeRegressor`).
    pub struct DecisionTreeRegressorParams("DecisionTreeRegressor") {
        /// Split quality: `"squared_error"`, `"friedman_mse"` or `"absolute_error"`; default
        /// `"squared_error"`.
        criterion: RegressionCriterion = RegressionCriterion::SquaredError;
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

/// A fitted decision tree regressor.
#[derive(Clone, Debug, PartialEq)]
pub struct DecisionTreeRegressor {
    params: DecisionTreeRegressorParams,
    input: Vec<Feature>,
    max_features: usize,
    tree: Tree,
}

impl Fit for DecisionTreeRegressorParams {
    type Model = DecisionTreeRegressor;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
    ) -> Result<DecisionTreeRegressor> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let y = finite_regression_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), w)?;
        let n = data.n_rows();
        let weights: Vec<f64> = w.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
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
        let target = Target::Reg {
            y,
            loss: self.criterion.loss(),
        };
        let tree = grow(&Columns::new(data, true), target, &weights, &g).pruned(self.ccp_alpha);
        Ok(DecisionTreeRegressor {
            params: self.clone(),
            input: data.features().to_vec(),
            max_features,
            tree,
        })
    }
}

impl DecisionTreeRegressor {
    /// The model kind in model files.
    pub const KIND: &'static str = "decision_tree_regressor";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &DecisionTreeRegressorParams {
        &self.params
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

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, DecisionTreeRegressorParams) = load_common(r)?;
        let tree = Tree::load(r, input.len())?;
        if tree.n_outputs != 1 {
            return Err(r.invalid("a regression tree has one value per node"));
        }
        Ok(Box::new(DecisionTreeRegressor {
            max_features: r.get("max_features")?,
            params,
            input,
            tree,
        }))
    }
}

impl Predictor for DecisionTreeRegressor {
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
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let values = self
            .tree
            .apply(&d)
            .into_iter()
            .map(|l| self.tree.value[l])
            .collect();
        Ok(Prediction::Regression { values })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("max_features", &self.max_features)?;
        self.tree.save(w)
    }
}
