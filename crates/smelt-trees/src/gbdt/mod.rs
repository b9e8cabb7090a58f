//! Histogram gradient boosting (scikit-learn's `HistGradientBoostingClassifier` /
//! `HistGradientBoostingRegressor`, LightGBM's `gbdt`).
//!
//! Features are binned once (`bin.rs`: at most `max_bins` bins per feature plus a missing
//! bin, one byte per value); each round computes per-row gradients and hessians of the
//! [`Loss`], grows one tree per output group leaf-wise on histograms (`grow/`: best-first up
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
use smelt_core::{CoreError, Dataset, FeatureKind, ParamError, Result};

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

smelt_core::params! {
    /// Parameters of histogram gradient boosting; [`HistGradientBoostingRegressorParams`] and
    /// [`HistGradientBoostingClassifierParams`] are its two instances. Defaults are
    /// scikit-learn's (which match LightGBM's where both have the parameter).
    #[serde(bound(
        serialize = "L: Serialize",
        deserialize = "L: Deserialize<'de> + Default"
    ))]
    pub struct HistGradientBoostingParams<L>("HistGradientBoosting") {
        /// The loss.
        loss: L = L::default();
        /// The quantile of `loss = "quantile"`, in `(0, 1)`; default 0.5.
        quantile: f64 = 0.5, aliases: ["alpha"];
        /// Where `loss = "huber"` turns linear, `> 0`; default 1.0.
        huber_delta: f64 = 1.0;
        /// Shrinkage of every leaf, in `(0, inf)`; default 0.1.
        learning_rate: f64 = 0.1, range: greater(0.0), aliases: ["eta", "shrinkage_rate"];
        /// Boosting rounds, `>= 1`; default 100.
        max_iter: usize = 100,
            range: at_least_int(1),
            aliases: ["n_estimators", "num_iterations", "num_boost_round"];
        /// Leaves per tree, `>= 2` or `None` (limited by depth only); default 31.
        max_leaf_nodes: Option<usize> = Some(31),
            range: none_or(at_least_int(2)),
            aliases: ["num_leaves"];
        /// Maximum depth, `>= 1`, or `None`; default `None`.
        max_depth: Option<usize> = None, range: none_or(at_least_int(1));
        /// Fewest rows per leaf, `>= 1`; default 20.
        min_samples_leaf: usize = 20,
            range: at_least_int(1),
            aliases: ["min_data_in_leaf", "min_child_samples"];
        /// Smallest hessian sum per leaf, `>= 0`; default 1e-3.
        min_sum_hessian_in_leaf: f64 = 1e-3,
            range: at_least(0.0),
            aliases: ["min_child_weight"];
        /// L2 penalty on leaf outputs, `>= 0`; default 0.
        l2_regularization: f64 = 0.0,
            range: at_least(0.0),
            aliases: ["lambda_l2", "reg_lambda"];
        /// L1 penalty on leaf outputs, `>= 0`; default 0.
        l1_regularization: f64 = 0.0,
            range: at_least(0.0),
            aliases: ["lambda_l1", "reg_alpha"];
        /// Smallest gain to make a split, `>= 0`; default 0.
        min_gain_to_split: f64 = 0.0,
            range: at_least(0.0),
            aliases: ["min_split_gain", "gamma"];
        /// Value bins per feature (a missing bin comes on top), in `[2, 255]`; default 255.
        max_bins: usize = 255, range: int_within(2, 255), aliases: ["max_bin"];
        /// Fraction of rows each round's trees are grown on, in `(0, 1]`; default 1.
        subsample: f64 = 1.0, range: open_closed(0.0, 1.0), aliases: ["bagging_fraction"];
        /// Fraction of features each round's trees may split on, in `(0, 1]`; default 1.
        colsample_bytree: f64 = 1.0,
            range: open_closed(0.0, 1.0),
            aliases: ["feature_fraction"];
        /// Monotonic constraints; default none.
        monotonic_cst: Option<MonotonicCst> = None,
            range: check_debug("constraints in {-1, 0, 1}", |m| match m {
                None => true,
                Some(MonotonicCst::List(v)) => v.iter().all(|c| (-1..=1).contains(c)),
                Some(MonotonicCst::Map(m)) => m.values().all(|c| (-1..=1).contains(c)),
            }),
            setter: some(MonotonicCst);
        /// Class weights (classifier only), multiplied into the sample weights.
        class_weight: Option<ClassWeight> = None, setter: some(ClassWeight);
        /// Hold out `validation_fraction` of the rows and stop when its loss stalls: `true`,
        /// `false`, or `None` (scikit-learn's `"auto"`: on when there are more than 10,000 rows).
        early_stopping: Option<bool> = None, setter: some(bool);
        /// Share of rows held out for early stopping, in `(0, 1)`; default 0.1.
        validation_fraction: f64 = 0.1, range: open(0.0, 1.0);
        /// Rounds without improvement before stopping, `>= 1`; default 10.
        n_iter_no_change: usize = 10,
            range: at_least_int(1),
            aliases: ["early_stopping_rounds"];
        /// Improvement below this counts as none, `>= 0`; default 1e-7.
        tol: f64 = 1e-7, range: at_least(0.0);
        /// Seed of the validation split, row and feature sampling and bin sampling; default 0.
        random_state: u64 = 0, aliases: ["seed"];
    }
}

/// Parameters of [`HistGradientBoostingRegressor`].
pub type HistGradientBoostingRegressorParams = HistGradientBoostingParams<RegressionLoss>;
/// Parameters of [`HistGradientBoostingClassifier`].
pub type HistGradientBoostingClassifierParams = HistGradientBoostingParams<ClassificationLoss>;

impl<L> HistGradientBoostingParams<L> {
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
    p.range_check(name)
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
    p.range_check(name)
        .require(
            weights_ok,
            "class_weight",
            "None, \"balanced\" or a map of finite non-negative weights",
            format!("{:?}", p.class_weight),
        )
        .finish()
}
