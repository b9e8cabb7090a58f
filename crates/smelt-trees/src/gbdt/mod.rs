//! Histogram gradient boosting (scikit-learn's `HistGradientBoostingClassifier` /
//! `HistGradientBoostingRegressor`, LightGBM's `gbdt`).
//!
//! Features are binned once (`bin.rs`: at most `max_bins` bins per feature plus a missing
//! bin, one byte per value); each round computes per-row gradients and hessians of the
//! [`Loss`], grows one tree per output group leaf-wise on histograms (`grow.rs`: best-first up
//! to `max_leaf_nodes` leaves, subtraction trick, learned missing-value directions,
//! categorical subset splits, monotonic constraints, L1/L2 on leaf outputs), shrinks the
//! leaves by `learning_rate` and updates the margins (`boost.rs`). With early stopping a
//! seeded (stratified) validation share is held out and the model keeps the rounds up to
//! its best validation loss.
//!
//! Fitted models are compiled into the crate's flat inference engine
//! ([`crate::ensemble::TreeEnsemble`]): bin thresholds become real-valued thresholds
//! (`x <= edge` goes left), so prediction reads raw feature values and needs no binning.
//!
//! Parameter names are scikit-learn's; LightGBM's and XGBoost's names are accepted as aliases
//! (`num_leaves`, `n_estimators`, `min_data_in_leaf`, `lambda_l2`, `reg_alpha`, `max_bin`,
//! `bagging_fraction`, `feature_fraction`, ...), so `-p num_leaves=63` works as expected.

mod bin;
mod boost;
mod grow;
mod loss;
mod model;

pub use loss::Loss;
pub use model::{HistGradientBoostingClassifier, HistGradientBoostingRegressor, ImportanceType};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use smelt_core::{CoreError, Dataset, FeatureKind, ParamCheck, ParamError, Result};

use crate::tree::ClassWeight;

/// Losses of [`HistGradientBoostingRegressorParams`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionLoss {
    /// Least squares (default).
    #[default]
    SquaredError,
    /// Least absolute deviation: leaves hold the median residual.
    AbsoluteError,
    /// Huber with threshold `huber_delta`.
    Huber,
    /// Pinball loss at `quantile`: leaves hold the residuals' quantile.
    Quantile,
    /// Poisson deviance, log link: for counts and rates (`y >= 0`).
    Poisson,
}

/// Losses of [`HistGradientBoostingClassifierParams`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassificationLoss {
    /// Binary or multinomial log-loss (default).
    #[default]
    LogLoss,
}

/// Monotonic constraints: `+1` (prediction non-decreasing in the feature), `-1`
/// (non-increasing) or `0`; a list in feature order or a map from feature name.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MonotonicCst {
    /// One constraint per feature, in the data's feature order.
    List(Vec<i8>),
    /// Constraints by feature name (absent features are free).
    Map(BTreeMap<String, i8>),
}

/// Parameters of histogram gradient boosting; [`HistGradientBoostingRegressorParams`] and
/// [`HistGradientBoostingClassifierParams`] are its two instances. Defaults are
/// scikit-learn's (which match LightGBM's where both have the parameter).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
#[serde(bound(
    serialize = "L: Serialize",
    deserialize = "L: Deserialize<'de> + Default"
))]
pub struct HistGradientBoostingParams<L> {
    /// The loss.
    pub loss: L,
    /// The quantile of `loss = "quantile"`, in `(0, 1)`; default 0.5.
    #[serde(alias = "alpha")]
    pub quantile: f64,
    /// Where `loss = "huber"` turns linear, `> 0`; default 1.0.
    pub huber_delta: f64,
    /// Shrinkage of every leaf, in `(0, inf)`; default 0.1.
    #[serde(alias = "eta", alias = "shrinkage_rate")]
    pub learning_rate: f64,
    /// Boosting rounds, `>= 1`; default 100.
    #[serde(
        alias = "n_estimators",
        alias = "num_iterations",
        alias = "num_boost_round"
    )]
    pub max_iter: usize,
    /// Leaves per tree, `>= 2` or `None` (limited by depth only); default 31.
    #[serde(alias = "num_leaves")]
    pub max_leaf_nodes: Option<usize>,
    /// Maximum depth, `>= 1`, or `None`; default `None`.
    pub max_depth: Option<usize>,
    /// Fewest rows per leaf, `>= 1`; default 20.
    #[serde(alias = "min_data_in_leaf", alias = "min_child_samples")]
    pub min_samples_leaf: usize,
    /// Smallest hessian sum per leaf, `>= 0`; default 1e-3.
    #[serde(alias = "min_child_weight")]
    pub min_sum_hessian_in_leaf: f64,
    /// L2 penalty on leaf outputs, `>= 0`; default 0.
    #[serde(alias = "lambda_l2", alias = "reg_lambda")]
    pub l2_regularization: f64,
    /// L1 penalty on leaf outputs, `>= 0`; default 0.
    #[serde(alias = "lambda_l1", alias = "reg_alpha")]
    pub l1_regularization: f64,
    /// Smallest gain to make a split, `>= 0`; default 0.
    #[serde(alias = "min_split_gain", alias = "gamma")]
    pub min_gain_to_split: f64,
    /// Value bins per feature (a missing bin comes on top), in `[2, 255]`; default 255.
    #[serde(alias = "max_bin")]
    pub max_bins: usize,
    /// Fraction of rows each round's trees are grown on, in `(0, 1]`; default 1.
    #[serde(alias = "bagging_fraction")]
    pub subsample: f64,
    /// Fraction of features each round's trees may split on, in `(0, 1]`; default 1.
    #[serde(alias = "feature_fraction")]
    pub colsample_bytree: f64,
    /// Monotonic constraints; default none.
    pub monotonic_cst: Option<MonotonicCst>,
    /// Class weights (classifier only), multiplied into the sample weights.
    pub class_weight: Option<ClassWeight>,
    /// Hold out `validation_fraction` of the rows and stop when its loss stalls: `true`,
    /// `false`, or `None` (scikit-learn's `"auto"`: on when there are more than 10,000 rows).
    pub early_stopping: Option<bool>,
    /// Share of rows held out for early stopping, in `(0, 1)`; default 0.1.
    pub validation_fraction: f64,
    /// Rounds without improvement before stopping, `>= 1`; default 10.
    #[serde(alias = "early_stopping_rounds")]
    pub n_iter_no_change: usize,
    /// Improvement below this counts as none, `>= 0`; default 1e-7.
    pub tol: f64,
    /// Seed of the validation split, row and feature sampling and bin sampling; default 0.
    #[serde(alias = "seed")]
    pub random_state: u64,
}

/// Parameters of [`HistGradientBoostingRegressor`].
pub type HistGradientBoostingRegressorParams = HistGradientBoostingParams<RegressionLoss>;
/// Parameters of [`HistGradientBoostingClassifier`].
pub type HistGradientBoostingClassifierParams = HistGradientBoostingParams<ClassificationLoss>;

impl<L: Default> Default for HistGradientBoostingParams<L> {
    fn default() -> Self {
        HistGradientBoostingParams {
            loss: L::default(),
            quantile: 0.5,
            huber_delta: 1.0,
            learning_rate: 0.1,
            max_iter: 100,
            max_leaf_nodes: Some(31),
            max_depth: None,
            min_samples_leaf: 20,
            min_sum_hessian_in_leaf: 1e-3,
            l2_regularization: 0.0,
            l1_regularization: 0.0,
            min_gain_to_split: 0.0,
            max_bins: 255,
            subsample: 1.0,
            colsample_bytree: 1.0,
            monotonic_cst: None,
            class_weight: None,
            early_stopping: None,
            validation_fraction: 0.1,
            n_iter_no_change: 10,
            tol: 1e-7,
            random_state: 0,
        }
    }
}

impl<L> HistGradientBoostingParams<L> {
    /// Sets `loss`.
    pub fn loss(mut self, v: L) -> Self {
        self.loss = v;
        self
    }
    /// Sets `quantile`.
    pub fn quantile(mut self, v: f64) -> Self {
        self.quantile = v;
        self
    }
    /// Sets `learning_rate`.
    pub fn learning_rate(mut self, v: f64) -> Self {
        self.learning_rate = v;
        self
    }
    /// Sets `max_iter`.
    pub fn max_iter(mut self, v: usize) -> Self {
        self.max_iter = v;
        self
    }
    /// Sets `max_leaf_nodes`.
    pub fn max_leaf_nodes(mut self, v: Option<usize>) -> Self {
        self.max_leaf_nodes = v;
        self
    }
    /// Sets `max_depth`.
    pub fn max_depth(mut self, v: Option<usize>) -> Self {
        self.max_depth = v;
        self
    }
    /// Sets `min_samples_leaf`.
    pub fn min_samples_leaf(mut self, v: usize) -> Self {
        self.min_samples_leaf = v;
        self
    }
    /// Sets `l2_regularization`.
    pub fn l2_regularization(mut self, v: f64) -> Self {
        self.l2_regularization = v;
        self
    }
    /// Sets `l1_regularization`.
    pub fn l1_regularization(mut self, v: f64) -> Self {
        self.l1_regularization = v;
        self
    }
    /// Sets `max_bins`.
    pub fn max_bins(mut self, v: usize) -> Self {
        self.max_bins = v;
        self
    }
    /// Sets `subsample`.
    pub fn subsample(mut self, v: f64) -> Self {
        self.subsample = v;
        self
    }
    /// Sets `colsample_bytree`.
    pub fn colsample_bytree(mut self, v: f64) -> Self {
        self.colsample_bytree = v;
        self
    }
    /// Sets `class_weight` (classifier only).
    pub fn class_weight(mut self, v: ClassWeight) -> Self {
        self.class_weight = Some(v);
        self
    }
    /// Sets `monotonic_cst`.
    pub fn monotonic_cst(mut self, v: MonotonicCst) -> Self {
        self.monotonic_cst = Some(v);
        self
    }
    /// Sets `early_stopping`.
    pub fn early_stopping(mut self, v: bool) -> Self {
        self.early_stopping = Some(v);
        self
    }
    /// Sets `n_iter_no_change`.
    pub fn n_iter_no_change(mut self, v: usize) -> Self {
        self.n_iter_no_change = v;
        self
    }
    /// Sets `random_state`.
    pub fn random_state(mut self, v: u64) -> Self {
        self.random_state = v;
        self
    }

    /// Checks of the parameters both tasks share.
    fn check_common(&self, name: &'static str) -> ParamCheck {
        let mono_ok = match &self.monotonic_cst {
            None => true,
            Some(MonotonicCst::List(v)) => v.iter().all(|c| (-1..=1).contains(c)),
            Some(MonotonicCst::Map(m)) => m.values().all(|c| (-1..=1).contains(c)),
        };
        ParamCheck::new(name)
            .greater("learning_rate", self.learning_rate, 0.0)
            .at_least_int("max_iter", self.max_iter, 1)
            .require(
                self.max_leaf_nodes.is_none_or(|m| m >= 2),
                "max_leaf_nodes",
                "an integer in [2, inf) or None",
                format!("{:?}", self.max_leaf_nodes),
            )
            .require(
                self.max_depth.is_none_or(|d| d >= 1),
                "max_depth",
                "an integer in [1, inf) or None",
                format!("{:?}", self.max_depth),
            )
            .at_least_int("min_samples_leaf", self.min_samples_leaf, 1)
            .at_least("min_sum_hessian_in_leaf", self.min_sum_hessian_in_leaf, 0.0)
            .at_least("l2_regularization", self.l2_regularization, 0.0)
            .at_least("l1_regularization", self.l1_regularization, 0.0)
            .at_least("min_gain_to_split", self.min_gain_to_split, 0.0)
            .require(
                (2..=255).contains(&self.max_bins),
                "max_bins",
                "an integer in [2, 255]",
                self.max_bins,
            )
            .require(
                self.subsample > 0.0 && self.subsample <= 1.0,
                "subsample",
                "a float in (0, 1]",
                self.subsample,
            )
            .require(
                self.colsample_bytree > 0.0 && self.colsample_bytree <= 1.0,
                "colsample_bytree",
                "a float in (0, 1]",
                self.colsample_bytree,
            )
            .require(
                mono_ok,
                "monotonic_cst",
                "constraints in {-1, 0, 1}",
                format!("{:?}", self.monotonic_cst),
            )
            .require(
                self.validation_fraction > 0.0 && self.validation_fraction < 1.0,
                "validation_fraction",
                "a float in (0, 1)",
                self.validation_fraction,
            )
            .at_least_int("n_iter_no_change", self.n_iter_no_change, 1)
            .at_least("tol", self.tol, 0.0)
    }

    /// The per-feature constraints for `data`, checked against its features.
    fn monotonic_for(&self, data: &Dataset<f64>, name: &'static str) -> Result<Vec<i8>> {
        let p = data.n_features();
        let bad = |message: String, suggestion: Option<String>| CoreError::BadParam {
            estimator: name.into(),
            message,
            suggestion,
        };
        let v = match &self.monotonic_cst {
            None => return Ok(vec![0; p]),
            Some(MonotonicCst::List(v)) => {
                if v.len() != p {
                    return Err(bad(
                        format!(
                            "monotonic_cst has {} entries but the data has {p} features; give \
                             one per feature or a map from feature name",
                            v.len()
                        ),
                        None,
                    ));
                }
                v.clone()
            }
            Some(MonotonicCst::Map(m)) => {
                let names: Vec<String> = data.feature_names().map(String::from).collect();
                let mut v = vec![0; p];
                for (k, &c) in m {
                    let Some(j) = data.feature_index(k) else {
                        return Err(bad(
                            format!(
                                "monotonic_cst names feature `{k}`, which the data does not have"
                            ),
                            smelt_core::text::closest(k, &names).map(String::from),
                        ));
                    };
                    v[j] = c;
                }
                v
            }
        };
        for (j, &c) in v.iter().enumerate() {
            if c != 0 && matches!(data.features()[j].kind, FeatureKind::Categorical { .. }) {
                return Err(bad(
                    format!(
                        "monotonic_cst constrains categorical feature `{}`; constraints need an \
                         ordered (numeric) feature",
                        data.features()[j].name
                    ),
                    None,
                ));
            }
        }
        Ok(v)
    }
}

/// Every parameter error of a regressor.
fn check_regressor(p: &HistGradientBoostingRegressorParams, name: &'static str) -> Vec<ParamError> {
    p.check_common(name)
        .require(
            p.quantile > 0.0 && p.quantile < 1.0,
            "quantile",
            "a float in (0, 1)",
            p.quantile,
        )
        .greater("huber_delta", p.huber_delta, 0.0)
        .require(
            p.class_weight.is_none(),
            "class_weight",
            "None (class weights are for classifiers)",
            format!("{:?}", p.class_weight),
        )
        .finish()
}

/// Every parameter error of a classifier.
fn check_classifier(
    p: &HistGradientBoostingClassifierParams,
    name: &'static str,
) -> Vec<ParamError> {
    let weights_ok = match &p.class_weight {
        Some(ClassWeight::Map(m)) => m.values().all(|v| v.is_finite() && *v >= 0.0),
        _ => true,
    };
    p.check_common(name)
        .require(
            weights_ok,
            "class_weight",
            "None, \"balanced\" or a map of finite non-negative weights",
            format!("{:?}", p.class_weight),
        )
        .finish()
}
