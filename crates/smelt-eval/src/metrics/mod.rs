//! Metrics: scikit-learn's `sklearn.metrics`, with the same definitions, conventions and
//! sample weights, checked against scikit-learn 1.9 on committed fixtures.
//!
//! * [`classification`]: accuracy, balanced accuracy, precision/recall/F-β with
//!   [`Average`], Matthews correlation, Cohen's κ, the confusion
//!   matrix, top-k accuracy.
//! * [`ranking`]: ROC-AUC (binary, one-vs-rest, one-vs-one), the ROC and precision–recall
//!   curves, average precision.
//! * [`probabilistic`]: log loss, Brier score, expected calibration error, the calibration
//!   curve.
//! * [`regression`]: MAE, MSE, RMSE, R², explained variance, MAPE, median and max error,
//!   pinball loss, Poisson/Gamma/Tweedie deviances.
//! * [`clustering`]: silhouette, adjusted Rand index, adjusted mutual information.
//! * [`registry`]: every metric by its natural and its scikit-learn scorer name, whether greater
//!   is better, and the standard set [`evaluate`] computes after training.
//!
//! Inputs follow Smelt's types: class labels are codes (`u32`, the position of the label in the
//! sorted class list, so in a binary task code 1 is the positive class, as scikit-learn takes
//! the greater label), probabilities are a row-major [`Proba`](smelt_core::Proba). Every
//! function checks its input and returns an [`EvalError`] instead of
//! panicking: arguments of different lengths, an empty input, a NaN or infinite value, bad
//! sample weights (negative, non-finite, all zero), or a metric that is undefined on the input
//! (ROC-AUC with one class present).
//!
//! Sample weights (`Option<&[f64]>`, `None` = every weight 1) are taken wherever scikit-learn
//! takes them.

pub mod classification;
pub mod clustering;
pub mod probabilistic;
pub mod ranking;
pub mod registry;
pub mod regression;

pub use classification::{
    Average, ClassReport, ConfusionMatrix, KappaWeights, Normalize, accuracy, balanced_accuracy,
    classification_report, cohen_kappa, confusion_matrix, f1, fbeta, matthews_corrcoef, precision,
    recall, top_k_accuracy,
};
pub use clustering::{adjusted_mutual_info, adjusted_rand, silhouette};
pub use probabilistic::{
    CalibrationCurve, Strategy, brier, brier_binary, calibration_curve, expected_calibration_error,
    log_loss, log_loss_binary, top_label_calibration_error,
};
pub use ranking::{
    PrecisionRecallCurve, RocCurve, average_precision, precision_recall_curve, roc_auc,
    roc_auc_ovo, roc_auc_ovr, roc_curve,
};
pub use registry::{Needs, Scorer, ScorerTask, evaluate, find, scorers, standard};
pub use regression::{
    explained_variance, mae, mape, max_error, mean_gamma_deviance, mean_poisson_deviance,
    mean_tweedie_deviance, median_ae, mse, pinball, r2, rmse,
};

use smelt_core::{CoreError, Dataset, Predictor};

use crate::error::{EvalError, Result, check_finite, check_lengths, check_not_empty};

/// scikit-learn's estimator `score`: R² for regressors, accuracy for classifiers (the first
/// metric of [`standard`]); the prediction's class codes are matched to the target's by label.
pub fn score(model: &dyn Predictor, data: &Dataset<f64>) -> Result<f64> {
    let target = data
        .target()
        .ok_or(EvalError::Model(CoreError::NoTarget { estimator: "score" }))?;
    let pred = model.predict(data)?;
    let task = registry::task_of(&pred)?;
    let first = standard(task, registry::n_classes_of(&pred))
        .first()
        .copied()
        .ok_or_else(|| EvalError::input("score", "a clustering model has no default score"))?;
    find(first)?.score(target, &pred, None)
}

/// Checks sample weights against `n` rows: same length, finite, non-negative, not all zero.
pub(crate) fn check_weights(context: &str, weights: Option<&[f64]>, n: usize) -> Result<()> {
    let Some(w) = weights else {
        return Ok(());
    };
    check_lengths(context, ("y_true", n), ("sample_weight", w.len()))?;
    check_finite(context, "sample_weight", w)?;
    if let Some(i) = w.iter().position(|&v| v < 0.0) {
        return Err(EvalError::input_hint(
            context,
            format!(
                "`sample_weight` has a negative value ({}) at index {i}",
                w[i]
            ),
            "sample weights must be zero or positive",
        ));
    }
    if w.iter().all(|&v| v == 0.0) {
        return Err(EvalError::input_hint(
            context,
            "`sample_weight` is all zero: there is nothing to average",
            "give at least one row a positive weight",
        ));
    }
    Ok(())
}

/// The usual checks of a metric over two parallel slices: same length, not empty, weights.
pub(crate) fn check_pair(
    context: &str,
    left: (&'static str, usize),
    right: (&'static str, usize),
    weights: Option<&[f64]>,
) -> Result<()> {
    check_lengths(context, left, right)?;
    check_not_empty(context, left.0, left.1)?;
    check_weights(context, weights, left.1)
}

/// The weight of row `i` (1 without weights).
#[inline]
pub(crate) fn weight(weights: Option<&[f64]>, i: usize) -> f64 {
    weights.map_or(1.0, |w| w[i])
}

/// Weighted mean of `f(i)` over `0..n` (`numpy.average`).
pub(crate) fn weighted_mean(n: usize, weights: Option<&[f64]>, f: impl Fn(usize) -> f64) -> f64 {
    match weights {
        None => (0..n).map(f).sum::<f64>() / n as f64,
        Some(w) => {
            let (mut s, mut t) = (0.0, 0.0);
            for (i, &wi) in w.iter().enumerate().take(n) {
                s += wi * f(i);
                t += wi;
            }
            s / t
        }
    }
}

/// Checks that class codes are below `n_classes` (the columns of a probability matrix).
pub(crate) fn check_codes(
    context: &str,
    argument: &'static str,
    y: &[u32],
    n_classes: usize,
) -> Result<()> {
    match y.iter().position(|&c| c as usize >= n_classes) {
        None => Ok(()),
        Some(i) => Err(EvalError::input_hint(
            context,
            format!(
                "`{argument}` has class code {} at index {i}, but there are only {n_classes} \
                 classes",
                y[i]
            ),
            "class codes index the columns of the probabilities, 0 to n_classes - 1",
        )),
    }
}

/// Checks binary class codes (0 negative, 1 positive).
pub(crate) fn check_binary(context: &str, y: &[u32]) -> Result<()> {
    match y.iter().position(|&c| c > 1) {
        None => Ok(()),
        Some(i) => Err(EvalError::input_hint(
            context,
            format!(
                "`y_true` has class code {} at index {i}: this metric is binary (codes 0 and 1)",
                y[i]
            ),
            "for more classes use the multiclass form (one-vs-rest) of the metric",
        )),
    }
}

/// Checks that probabilities lie in `[0, 1]` (and are finite).
pub(crate) fn check_probabilities(context: &str, argument: &'static str, p: &[f64]) -> Result<()> {
    check_finite(context, argument, p)?;
    match p.iter().position(|&v| !(0.0..=1.0).contains(&v)) {
        None => Ok(()),
        Some(i) => Err(EvalError::input_hint(
            context,
            format!(
                "`{argument}` has a value outside [0, 1] ({}) at index {i}",
                p[i]
            ),
            "pass probabilities, such as the model's predicted class probabilities",
        )),
    }
}

/// Checks a probability matrix against `n` rows.
pub(crate) fn check_proba(context: &str, proba: &smelt_core::Proba, n: usize) -> Result<()> {
    if proba.n_classes == 0 || !proba.values.len().is_multiple_of(proba.n_classes) {
        return Err(EvalError::input(
            context,
            format!(
                "`y_proba` has {} values, not a whole number of rows of {} classes",
                proba.values.len(),
                proba.n_classes
            ),
        ));
    }
    check_lengths(context, ("y_true", n), ("y_proba", proba.n_rows()))?;
    check_probabilities(context, "y_proba", &proba.values)
}
