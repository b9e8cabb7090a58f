//! The estimator API every Smelt model fits into.
//!
//! * **Params** are plain data (`RidgeParams`, `KMeansParams`): serde-serialisable, with
//!   builder methods and scikit-learn's defaults. [`Fit::validate`] lists every invalid
//!   parameter; [`Fit::fit`] validates first, then returns a new, fitted type (`Ridge`), so an
//!   unfitted model cannot predict.
//! * **Fitted models** implement [`Predictor`]: one object-safe interface — input features in,
//!   [`Prediction`] out — that serving, batch scoring and evaluation use for every model kind
//!   (linear models, trees, boosting, neural nets, imported models, whole pipelines).
//! * **Fitted transformers** implement [`Transform`] (dataset in, dataset out).
//! * [`FitPredictor`] and [`FitTransform`] are the object-safe faces of unfitted params, so a
//!   [`Pipeline`](../../smelt_learn/pipeline/index.html) can hold any mix of steps.
//!
//! Models take `Dataset<f64>`: the reference implementations compute in `f64`, and a fixed
//! element type keeps the interface object-safe. Columns are resolved **by name**
//! ([`Dataset::conform`]), never by position.

use std::fmt::Debug;

use crate::artifact::node::ArtifactWriter;
use crate::dataset::{Dataset, Feature, FeatureKind, Target};
use crate::error::{CoreError, ParamError, Result};
use crate::schema::{ColumnSchema, Role, Schema};

/// Hyperparameters of an estimator that fits into `Self::Model`.
pub trait Fit {
    /// The fitted model.
    type Model;

    /// The estimator's name in messages (`Ridge`).
    fn name(&self) -> &'static str;

    /// Every invalid parameter (empty when all are valid).
    fn check(&self) -> Vec<ParamError>;

    /// Validates the parameters: an error listing all violations.
    fn validate(&self) -> Result<()> {
        let errors = self.check();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(CoreError::Params(errors))
        }
    }

    /// Fits with per-row sample weights (`None`: all ones). Validates the parameters first.
    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        sample_weight: Option<&[f64]>,
    ) -> Result<Self::Model>;

    /// Fits on `data` (validates the parameters first).
    fn fit(&self, data: &Dataset<f64>) -> Result<Self::Model> {
        self.fit_weighted(data, None)
    }

    /// Whether the estimator reads free-text columns ([`Dataset::texts`]): a pipeline lets
    /// such an estimator fit on a table with no numeric or categorical feature.
    fn reads_text(&self) -> bool {
        false
    }
}

/// What a model predicts.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "task", rename_all = "snake_case")]
pub enum Output {
    /// One real value per row.
    Regression,
    /// One of `classes` per row, with probabilities when the model has them.
    Classification {
        /// Class labels, in code order.
        classes: Vec<String>,
        /// Whether [`Prediction::Classification::proba`] is filled.
        has_proba: bool,
    },
    /// A cluster id per row (`-1`: noise).
    Clustering,
    /// A vector of `dim` values per row (sentence encoders): features for another model or
    /// a similarity search, not a target to score against.
    Embedding {
        /// Values per vector.
        dim: usize,
    },
}

/// Class probabilities, row-major `n_rows × n_classes`; each row sums to 1.
#[derive(Clone, Debug, PartialEq)]
pub struct Proba {
    /// Number of classes (columns).
    pub n_classes: usize,
    /// Row-major values.
    pub values: Vec<f64>,
}

impl Proba {
    /// Probabilities of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.n_classes..(i + 1) * self.n_classes]
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.values.len().checked_div(self.n_classes).unwrap_or(0)
    }

    /// The most probable class of each row (the first on ties, like `numpy.argmax`).
    pub fn argmax(&self) -> Vec<u32> {
        (0..self.n_rows())
            .map(|i| argmax(self.row(i)) as u32)
            .collect()
    }
}

/// Index of the largest value (the first on ties; NaN never wins).
pub fn argmax(v: &[f64]) -> usize {
    let mut best = 0;
    for (k, &x) in v.iter().enumerate() {
        if x > v[best] || v[best].is_nan() {
            best = k;
        }
    }
    best
}

/// The predictions for a batch of rows.
#[derive(Clone, Debug, PartialEq)]
pub enum Prediction {
    /// Real values.
    Regression {
        /// One value per row.
        values: Vec<f64>,
    },
    /// Class codes into `classes`, with probabilities when the model has them.
    Classification {
        /// One code per row.
        labels: Vec<u32>,
        /// Label of each code.
        classes: Vec<String>,
        /// Class probabilities.
        proba: Option<Proba>,
    },
    /// Cluster ids (`-1`: noise).
    Clustering {
        /// One id per row.
        labels: Vec<i64>,
    },
    /// One vector of `dim` values per row.
    Embedding {
        /// Values per vector (≥ 1).
        dim: usize,
        /// Row-major `n_rows × dim`.
        values: Vec<f32>,
    },
}

impl Prediction {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Prediction::Regression { values } => values.len(),
            Prediction::Classification { labels, .. } => labels.len(),
            Prediction::Clustering { labels } => labels.len(),
            Prediction::Embedding { dim, values } => values.len().checked_div(*dim).unwrap_or(0),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A classification from class probabilities: each row's label is its most probable class
    /// (the first on ties, like `numpy.argmax`).
    pub fn from_proba(proba: Proba, classes: Vec<String>) -> Prediction {
        Prediction::Classification {
            labels: proba.argmax(),
            classes,
            proba: Some(proba),
        }
    }

    /// The vector of row `i` (embeddings only; `None` past the last row).
    pub fn embedding(&self, i: usize) -> Option<&[f32]> {
        match self {
            Prediction::Embedding { dim, values } => values.get(i * dim..(i + 1) * dim),
            _ => None,
        }
    }

    /// Predicted class labels as strings (classification only).
    pub fn class_labels(&self) -> Option<Vec<&str>> {
        match self {
            Prediction::Classification {
                labels, classes, ..
            } => Some(
                labels
                    .iter()
                    .map(|&c| classes[c as usize].as_str())
                    .collect(),
            ),
            _ => None,
        }
    }
}

/// A fitted model: features in, predictions out. Object-safe; serving holds an
/// `Arc<dyn Predictor>`.
pub trait Predictor: Send + Sync + Debug {
    /// The model kind, as written in the model file (`ridge`, `pipeline`).
    fn kind(&self) -> &str;

    /// The input columns the model reads, with their kinds and categories at training time.
    fn input_features(&self) -> &[Feature];

    /// What [`Predictor::predict`] returns.
    fn output(&self) -> Output;

    /// Predicts every row of `data`. Columns are matched by name; extra columns are ignored.
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction>;

    /// Writes the model's parameters and arrays (see [`crate::artifact`]).
    fn save(&self, w: &mut ArtifactWriter) -> Result<()>;

    /// The model's own importance of each feature it reads (`feature_importances_`: impurity
    /// decrease for trees and forests, split gain for boosting), by feature name, summing to 1;
    /// `None` for models without one. A pipeline reports its final model's, over the features
    /// that model sees (one-hot columns included).
    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        None
    }

    /// What [`Predictor::predict`] would return for the rows the model was just fitted on, in
    /// their order, when fitting already computed it (gradient boosting holds its margins on
    /// the training rows): training metrics without predicting the table again. `None` (the
    /// default) when it is not known — for a model loaded from a file, always; the caller then
    /// predicts. Equal to `predict` on the training rows up to rounding (~1e-12).
    fn training_prediction(&self) -> Option<Prediction> {
        None
    }

    /// What the fit recorded per epoch (networks): named series such as `train_loss`,
    /// `valid_loss` and `learning_rate`, one value per epoch in order, for the tracker to log
    /// as metric histories (step = epoch). `None` (the default) for models fitted in one go and
    /// for models loaded from a file without one. Wrappers (pipelines) report their model's.
    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        None
    }

    /// The concrete model behind the trait object, for code that reads a fitted model's
    /// parameters by its type (the ONNX exporter); `None` (the default) for types that do not
    /// offer it. Implemented as `Some(self)`.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }

    /// The input columns as a schema (all with the `feature` role).
    fn input_schema(&self) -> Schema {
        let cols = self
            .input_features()
            .iter()
            .map(|f| ColumnSchema {
                name: f.name.clone(),
                ltype: f.ltype,
                role: Role::Feature,
            })
            .collect();
        // Feature names are unique by construction of the Dataset it was fitted on.
        Schema::new(cols).unwrap_or_default()
    }
}

/// A fitted transformer: a dataset in, a dataset out (`StandardScaler`, `OneHotEncoder`, `PCA`).
pub trait Transform: Send + Sync + Debug {
    /// The transformer kind, as written in the model file (`standard_scaler`).
    fn kind(&self) -> &str;

    /// The columns it reads.
    fn input_features(&self) -> &[Feature];

    /// The columns it writes.
    fn output_features(&self) -> Vec<Feature>;

    /// Transforms `data` (columns matched by name; the target, if any, is carried through).
    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>>;

    /// Writes the transformer's parameters and arrays.
    fn save(&self, w: &mut ArtifactWriter) -> Result<()>;

    /// [`Transform::transform`] of a dataset the caller gives up: a transformer that keeps
    /// every column's place (an imputer, a scaler) rewrites it in place instead of allocating a
    /// new matrix. The default calls `transform`.
    fn transform_owned(&self, data: Dataset<f64>) -> Result<Dataset<f64>> {
        self.transform(&data)
    }

    /// Whether fitting it encoded the training rows differently from what
    /// [`Transform::transform`] gives them (cross-fitted encoders: `TargetEncoder`), so that
    /// the model after it saw other values than `transform` would feed it. `false` by
    /// default.
    fn cross_fitted(&self) -> bool {
        false
    }

    /// The concrete transformer behind the trait object (see [`Predictor::as_any`]); `None` by
    /// default.
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

/// Object-safe unfitted estimator: what a pipeline holds as its final step.
pub trait FitPredictor: Send + Sync + Debug {
    /// The estimator's name in messages.
    fn name(&self) -> &'static str;
    /// Every invalid parameter.
    fn check(&self) -> Vec<ParamError>;
    /// Fits and boxes the model.
    fn fit_predictor(
        &self,
        data: &Dataset<f64>,
        sample_weight: Option<&[f64]>,
    ) -> Result<Box<dyn Predictor>>;
    /// Whether the estimator reads free-text columns ([`Fit::reads_text`]).
    fn reads_text(&self) -> bool {
        false
    }
}

impl<P> FitPredictor for P
where
    P: Fit + Send + Sync + Debug,
    P::Model: Predictor + 'static,
{
    fn name(&self) -> &'static str {
        Fit::name(self)
    }
    fn check(&self) -> Vec<ParamError> {
        Fit::check(self)
    }
    fn fit_predictor(
        &self,
        data: &Dataset<f64>,
        sample_weight: Option<&[f64]>,
    ) -> Result<Box<dyn Predictor>> {
        Ok(Box::new(self.fit_weighted(data, sample_weight)?))
    }
    fn reads_text(&self) -> bool {
        Fit::reads_text(self)
    }
}

/// Object-safe unfitted transformer: what a pipeline holds as a preprocessing step.
pub trait FitTransform: Send + Sync + Debug {
    /// The transformer's name in messages.
    fn name(&self) -> &'static str;
    /// Every invalid parameter.
    fn check(&self) -> Vec<ParamError>;
    /// Fits, and returns the fitted transformer with the transformed training data.
    ///
    /// Usually `fit` then `transform`; cross-fitted transformers (`TargetEncoder`) return
    /// training rows encoded without their own target, which `transform` alone cannot do.
    fn fit_transform(&self, data: &Dataset<f64>) -> Result<(Box<dyn Transform>, Dataset<f64>)>;

    /// [`FitTransform::fit_transform`] of a dataset the caller gives up, so the transformed
    /// rows can reuse its matrix ([`Transform::transform_owned`]). The default borrows it.
    fn fit_transform_owned(
        &self,
        data: Dataset<f64>,
    ) -> Result<(Box<dyn Transform>, Dataset<f64>)> {
        self.fit_transform(&data)
    }
}

/// Checks that `data` has a classification target and returns its codes and classes.
pub fn classification_target<'a>(
    estimator: &'static str,
    data: &'a Dataset<f64>,
) -> Result<(&'a [u32], &'a [String])> {
    match data.target() {
        None => Err(CoreError::NoTarget { estimator }),
        Some(Target::Regression { .. }) => Err(CoreError::WrongTask {
            estimator,
            expected: "classification",
            target: data.target_name().unwrap_or("target").to_string(),
            got: "real-valued (regression)",
        }),
        Some(Target::Classification { codes, classes }) => {
            let mut seen = vec![false; classes.len()];
            for &c in codes {
                if let Some(s) = seen.get_mut(c as usize) {
                    *s = true;
                }
            }
            let present = seen.iter().filter(|&&s| s).count();
            if present < 2 {
                let class = codes
                    .first()
                    .and_then(|&c| classes.get(c as usize))
                    .cloned()
                    .unwrap_or_default();
                return Err(CoreError::SingleClass {
                    estimator,
                    target: data.target_name().unwrap_or("target").to_string(),
                    class,
                });
            }
            Ok((codes, classes))
        }
    }
}

/// Checks that `data` has a real-valued target and returns it.
pub fn regression_target<'a>(estimator: &'static str, data: &'a Dataset<f64>) -> Result<&'a [f64]> {
    match data.target() {
        None => Err(CoreError::NoTarget { estimator }),
        Some(Target::Regression { values }) => Ok(values),
        Some(Target::Classification { .. }) => Err(CoreError::WrongTask {
            estimator,
            expected: "regression",
            target: data.target_name().unwrap_or("target").to_string(),
            got: "categorical (classification)",
        }),
    }
}

/// Checks that `data` has a real-valued target with no NaN or infinite value and returns it
/// ([`CoreError::NonFinite`] names the target and the first bad row).
pub fn finite_regression_target<'a>(
    estimator: &'static str,
    data: &'a Dataset<f64>,
) -> Result<&'a [f64]> {
    let y = regression_target(estimator, data)?;
    if let Some(i) = y.iter().position(|v| !v.is_finite()) {
        return Err(CoreError::NonFinite {
            estimator,
            feature: data.target_name().unwrap_or("target").to_string(),
            row: i,
            value: y[i],
        });
    }
    Ok(y)
}

/// Checks sample weights: one per row, finite, non-negative, not all zero.
pub fn check_sample_weight(
    estimator: &'static str,
    n_rows: usize,
    w: Option<&[f64]>,
) -> Result<()> {
    let Some(w) = w else { return Ok(()) };
    let bad = |reason: String| Err(CoreError::SampleWeight { estimator, reason });
    if w.len() != n_rows {
        return bad(format!("{} weights for {} rows", w.len(), n_rows));
    }
    if let Some(i) = w.iter().position(|v| !v.is_finite() || *v < 0.0) {
        return bad(format!(
            "weight {} at row {} is not a finite, non-negative number",
            w[i], i
        ));
    }
    if w.iter().all(|&v| v == 0.0) {
        return bad("all weights are zero".into());
    }
    Ok(())
}

/// Checks that every feature is numeric with no missing or infinite value, as linear models,
/// SVMs, kNN and k-means need. Errors name the feature and the first bad row.
pub fn require_numeric(estimator: &'static str, data: &Dataset<f64>) -> Result<()> {
    if data.n_rows() == 0 {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows",
            needed: 1,
            got: 0,
        });
    }
    for (j, f) in data.features().iter().enumerate() {
        if matches!(f.kind, FeatureKind::Categorical { .. }) {
            return Err(CoreError::NotNumeric {
                estimator,
                feature: f.name.clone(),
            });
        }
        if let Some(m) = data.missing(j)
            && m.count_ones() > 0
        {
            let row = (0..data.n_rows()).find(|&i| m.get(i)).unwrap_or(0);
            return Err(CoreError::MissingValues {
                estimator,
                feature: f.name.clone(),
                row,
                count: m.count_ones(),
            });
        }
        let col = data.column(j);
        if let Some(i) = col.iter().position(|v| !v.is_finite()) {
            if col[i].is_nan() {
                return Err(CoreError::MissingValues {
                    estimator,
                    feature: f.name.clone(),
                    row: i,
                    count: col.iter().filter(|v| v.is_nan()).count(),
                });
            }
            return Err(CoreError::NonFinite {
                estimator,
                feature: f.name.clone(),
                row: i,
                value: col[i],
            });
        }
    }
    Ok(())
}

/// Builders for [`ParamError`] lists: `ParamCheck::new("Ridge").min("alpha", self.alpha, 0.0)`.
#[derive(Debug)]
pub struct ParamCheck {
    estimator: &'static str,
    errors: Vec<ParamError>,
}

impl ParamCheck {
    /// Starts a check for `estimator`.
    pub fn new(estimator: &'static str) -> Self {
        ParamCheck {
            estimator,
            errors: Vec::new(),
        }
    }

    /// Records a violation when `ok` is false.
    pub fn require(
        mut self,
        ok: bool,
        param: &'static str,
        allowed: impl Into<String>,
        got: impl std::fmt::Display,
    ) -> Self {
        if !ok {
            self.errors.push(ParamError {
                estimator: self.estimator,
                param,
                allowed: allowed.into(),
                got: got.to_string(),
            });
        }
        self
    }

    /// `v` finite and `>= lo`.
    pub fn at_least(self, param: &'static str, v: f64, lo: f64) -> Self {
        self.require(
            v.is_finite() && v >= lo,
            param,
            format!("a float in [{lo}, inf)"),
            v,
        )
    }

    /// `v` finite and `> lo`.
    pub fn greater(self, param: &'static str, v: f64, lo: f64) -> Self {
        self.require(
            v.is_finite() && v > lo,
            param,
            format!("a float in ({lo}, inf)"),
            v,
        )
    }

    /// `lo <= v <= hi`.
    pub fn within(self, param: &'static str, v: f64, lo: f64, hi: f64) -> Self {
        self.require(
            v >= lo && v <= hi,
            param,
            format!("a float in [{lo}, {hi}]"),
            v,
        )
    }

    /// Integer `v >= lo`.
    pub fn at_least_int(self, param: &'static str, v: usize, lo: usize) -> Self {
        self.require(v >= lo, param, format!("an integer in [{lo}, inf)"), v)
    }

    /// The violations found.
    pub fn finish(self) -> Vec<ParamError> {
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::LogicalType;

    fn ds(values: Vec<f64>, cat: bool) -> Dataset<f64> {
        let kind = if cat {
            FeatureKind::Categorical {
                categories: vec!["a".into(), "b".into()],
            }
        } else {
            FeatureKind::Numeric
        };
        let f = Feature {
            name: "x".into(),
            ltype: LogicalType::Numeric,
            kind,
        };
        let n = values.len();
        Dataset::new(n, values, vec![f], None).unwrap()
    }

    #[test]
    fn require_numeric_names_feature_and_row() {
        let err = require_numeric("Ridge", &ds(vec![1.0, f64::NAN, 2.0], false)).unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::MissingValues {
                    row: 1,
                    count: 1,
                    ..
                }
            ),
            "{err:?}"
        );
        let err = require_numeric("Ridge", &ds(vec![1.0, 2.0, f64::INFINITY], false)).unwrap_err();
        assert!(
            matches!(err, CoreError::NonFinite { row: 2, .. }),
            "{err:?}"
        );
        let err = require_numeric("Ridge", &ds(vec![0.0, 1.0], true)).unwrap_err();
        assert!(matches!(err, CoreError::NotNumeric { .. }));
        assert!(require_numeric("Ridge", &ds(vec![1.0, 2.0], false)).is_ok());
        assert!(require_numeric("Ridge", &ds(vec![], false)).is_err());
    }

    #[test]
    fn param_check_lists_every_violation() {
        let errs = ParamCheck::new("Ridge")
            .at_least("alpha", -1.0, 0.0)
            .greater("tol", 0.0, 0.0)
            .within("l1_ratio", 0.5, 0.0, 1.0)
            .finish();
        assert_eq!(errs.len(), 2);
        assert_eq!(
            errs[0].to_string(),
            "Ridge: parameter `alpha` must be a float in [0, inf), got -1"
        );
        assert_eq!(errs[1].param, "tol");
    }

    #[test]
    fn sample_weight_checks() {
        assert!(check_sample_weight("X", 2, Some(&[1.0, 2.0])).is_ok());
        assert!(check_sample_weight("X", 2, Some(&[1.0])).is_err());
        assert!(check_sample_weight("X", 2, Some(&[1.0, -1.0])).is_err());
        assert!(check_sample_weight("X", 2, Some(&[0.0, 0.0])).is_err());
    }

    #[test]
    fn argmax_first_on_ties() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[f64::NAN, 0.1]), 1);
        let p = Proba {
            n_classes: 2,
            values: vec![0.3, 0.7, 0.9, 0.1],
        };
        assert_eq!(p.argmax(), vec![1, 0]);
    }
}
