//! The metrics: names, ranges, realized values (through `smelt_eval::metrics`) and CBPE's
//! estimates from calibrated probabilities (NannyML's `estimate_*` functions).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use smelt_eval::metrics::{
    Average, accuracy, f1, mae, mape, mse, precision, recall, rmse, roc_auc,
};

use crate::error::{MonitorError, Result};

/// A binary-classification metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BinaryMetric {
    /// Area under the ROC curve (from probabilities).
    RocAuc,
    /// F1 of class 1.
    F1,
    /// Precision of class 1.
    Precision,
    /// Recall (sensitivity) of class 1.
    Recall,
    /// Specificity: recall of class 0.
    Specificity,
    /// Accuracy.
    Accuracy,
}

impl BinaryMetric {
    /// Every metric, in NannyML's order.
    pub const ALL: [BinaryMetric; 6] = [
        BinaryMetric::RocAuc,
        BinaryMetric::F1,
        BinaryMetric::Precision,
        BinaryMetric::Recall,
        BinaryMetric::Specificity,
        BinaryMetric::Accuracy,
    ];

    /// Machine name (`roc_auc`), NannyML's.
    pub fn name(self) -> &'static str {
        match self {
            BinaryMetric::RocAuc => "roc_auc",
            BinaryMetric::F1 => "f1",
            BinaryMetric::Precision => "precision",
            BinaryMetric::Recall => "recall",
            BinaryMetric::Specificity => "specificity",
            BinaryMetric::Accuracy => "accuracy",
        }
    }

    /// Name to show (`ROC AUC`).
    pub fn display_name(self) -> &'static str {
        match self {
            BinaryMetric::RocAuc => "ROC AUC",
            BinaryMetric::F1 => "F1",
            BinaryMetric::Precision => "Precision",
            BinaryMetric::Recall => "Recall",
            BinaryMetric::Specificity => "Specificity",
            BinaryMetric::Accuracy => "Accuracy",
        }
    }

    /// Whether the metric reads the predicted class (all but ROC AUC).
    pub fn needs_y_pred(self) -> bool {
        self != BinaryMetric::RocAuc
    }

    /// The realized value on labelled rows (NaN where undefined: a single class in the labels
    /// for ROC AUC; a single class in the labels or the predictions for F1, precision and
    /// recall; no negatives for specificity). `score` is the probability for ROC AUC and the
    /// predicted class otherwise; rows are those with both values present.
    pub fn realized(self, y_true: &[f64], score: &[f64]) -> f64 {
        if y_true.is_empty() {
            return f64::NAN;
        }
        let t: Vec<u32> = y_true.iter().map(|&v| u32::from(v == 1.0)).collect();
        let single = |v: &[u32]| v.iter().all(|&c| c == v[0]);
        let value = match self {
            BinaryMetric::RocAuc => {
                if single(&t) {
                    return f64::NAN;
                }
                roc_auc(&t, score, None)
            }
            BinaryMetric::Accuracy => accuracy(&t, &codes(score), None),
            BinaryMetric::Specificity => {
                let p = codes(score);
                let (tn, fp) = t
                    .iter()
                    .zip(&p)
                    .fold((0usize, 0usize), |(tn, fp), (&a, &b)| {
                        (
                            tn + usize::from(a == 0 && b == 0),
                            fp + usize::from(a == 0 && b == 1),
                        )
                    });
                return if tn + fp == 0 {
                    f64::NAN
                } else {
                    tn as f64 / (tn + fp) as f64
                };
            }
            BinaryMetric::F1 | BinaryMetric::Precision | BinaryMetric::Recall => {
                let p = codes(score);
                if single(&t) || single(&p) {
                    return f64::NAN;
                }
                let avg = Average::Binary { pos_label: 1 };
                match self {
                    BinaryMetric::F1 => f1(&t, &p, avg, None),
                    BinaryMetric::Precision => precision(&t, &p, avg, None),
                    _ => recall(&t, &p, avg, None),
                }
            }
        };
        value.unwrap_or(f64::NAN)
    }

    /// CBPE's estimate from predicted classes and calibrated probabilities (not ROC AUC: see
    /// [`estimate_roc_auc`]). The expected confusion matrix: `E[TP] = Σ p` over rows predicted 1,
    /// `E[FP] = Σ (1 − p)` over them, `E[FN] = Σ p` and `E[TN] = Σ (1 − p)` over rows predicted 0.
    /// A zero denominator gives 0, as NannyML.
    pub fn estimate(self, y_pred: &[f64], calibrated: &[f64]) -> f64 {
        let (mut tp, mut fp, mut fn_, mut tn) = (0.0, 0.0, 0.0, 0.0);
        for (&c, &p) in y_pred.iter().zip(calibrated) {
            if c == 1.0 {
                tp += p;
                fp += 1.0 - p;
            } else {
                fn_ += p;
                tn += 1.0 - p;
            }
        }
        let ratio = |num: f64, den: f64| if den != 0.0 { num / den } else { 0.0 };
        match self {
            BinaryMetric::F1 => ratio(tp, tp + 0.5 * (fp + fn_)),
            BinaryMetric::Precision => ratio(tp, tp + fp),
            BinaryMetric::Recall => ratio(tp, tp + fn_),
            BinaryMetric::Specificity => ratio(tn, tn + fp),
            BinaryMetric::Accuracy => (tp + tn) / y_pred.len() as f64,
            BinaryMetric::RocAuc => estimate_roc_auc(calibrated, calibrated),
        }
    }
}

fn codes(v: &[f64]) -> Vec<u32> {
    v.iter().map(|&x| u32::from(x == 1.0)).collect()
}

/// numpy's `np.round(x, 5)`: scaled, rounded half to even, scaled back.
fn round5(x: f64) -> f64 {
    (x * 1e5).round_ties_even() / 1e5
}

/// CBPE's ROC AUC (NannyML's `estimate_roc_auc`): rows ranked by the model's own
/// (uncalibrated) scores, highest first; expected true and false positives accumulate the
/// calibrated probabilities p and 1 − p (rounded to 5 decimals, as NannyML); the area under
/// the expected ROC curve by the trapezoidal rule. Within tied scores the calibrated
/// probabilities are equal, so the curve is straight there and the order of ties does not
/// matter.
pub fn estimate_roc_auc(calibrated: &[f64], uncalibrated: &[f64]) -> f64 {
    let n = calibrated.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| uncalibrated[b].total_cmp(&uncalibrated[a]));
    let mut tps = Vec::with_capacity(n + 1);
    let mut fps = Vec::with_capacity(n + 1);
    tps.push(0.0);
    fps.push(0.0);
    let mut cum = 0.0;
    for (k, &i) in order.iter().enumerate() {
        cum += calibrated[i];
        tps.push(round5(cum));
        fps.push(round5(1.0 + k as f64 - cum));
    }
    let (tp_all, fp_all) = (tps[n], fps[n]);
    let mut area = 0.0;
    for k in 0..n {
        let dx = fps[k + 1] / fp_all - fps[k] / fp_all;
        area += dx * (tps[k + 1] / tp_all + tps[k] / tp_all) / 2.0;
    }
    area
}

impl fmt::Display for BinaryMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for BinaryMetric {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Self> {
        BinaryMetric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                MonitorError::Invalid(format!(
                    "unknown classification metric {s:?}\n\nhint: use one of roc_auc, f1, \
                     precision, recall, specificity, accuracy"
                ))
            })
    }
}

/// A regression metric.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressionMetric {
    /// Mean absolute error.
    Mae,
    /// Mean absolute percentage error (a fraction), |y − ŷ| / max(|y|, ε).
    Mape,
    /// Mean squared error.
    Mse,
    /// Root mean squared error.
    Rmse,
    /// Mean squared logarithmic error (non-negative values only).
    Msle,
    /// Root mean squared logarithmic error.
    Rmsle,
}

impl RegressionMetric {
    /// Every metric, in NannyML's order.
    pub const ALL: [RegressionMetric; 6] = [
        RegressionMetric::Mae,
        RegressionMetric::Mape,
        RegressionMetric::Mse,
        RegressionMetric::Msle,
        RegressionMetric::Rmse,
        RegressionMetric::Rmsle,
    ];

    /// Machine name (`mae`).
    pub fn name(self) -> &'static str {
        match self {
            RegressionMetric::Mae => "mae",
            RegressionMetric::Mape => "mape",
            RegressionMetric::Mse => "mse",
            RegressionMetric::Rmse => "rmse",
            RegressionMetric::Msle => "msle",
            RegressionMetric::Rmsle => "rmsle",
        }
    }

    /// Name to show (`MAE`).
    pub fn display_name(self) -> &'static str {
        match self {
            RegressionMetric::Mae => "MAE",
            RegressionMetric::Mape => "MAPE",
            RegressionMetric::Mse => "MSE",
            RegressionMetric::Rmse => "RMSE",
            RegressionMetric::Msle => "MSLE",
            RegressionMetric::Rmsle => "RMSLE",
        }
    }

    /// Whether targets and predictions must be non-negative (the log metrics).
    pub fn needs_non_negative(self) -> bool {
        matches!(self, RegressionMetric::Msle | RegressionMetric::Rmsle)
    }

    /// The per-row loss DLE learns: |e|, |e| / max(|y|, ε), e², (ln(1 + y) − ln(1 + ŷ))².
    pub fn row_loss(self, y_true: f64, y_pred: f64) -> f64 {
        match self {
            RegressionMetric::Mae => (y_true - y_pred).abs(),
            RegressionMetric::Mape => (y_true - y_pred).abs() / y_true.abs().max(f64::EPSILON),
            RegressionMetric::Mse | RegressionMetric::Rmse => (y_true - y_pred).powi(2),
            RegressionMetric::Msle | RegressionMetric::Rmsle => {
                (y_true.ln_1p() - y_pred.ln_1p()).powi(2)
            }
        }
    }

    /// A chunk's value from its mean row loss (the square root for RMSE and RMSLE).
    pub fn from_mean_loss(self, mean: f64) -> f64 {
        match self {
            RegressionMetric::Rmse | RegressionMetric::Rmsle => mean.sqrt(),
            _ => mean,
        }
    }

    /// The realized value (NaN without rows, or with negative values for the log metrics).
    pub fn realized(self, y_true: &[f64], y_pred: &[f64]) -> f64 {
        if y_true.is_empty() {
            return f64::NAN;
        }
        let value = match self {
            RegressionMetric::Mae => mae(y_true, y_pred, None),
            RegressionMetric::Mape => mape(y_true, y_pred, None),
            RegressionMetric::Mse => mse(y_true, y_pred, None),
            RegressionMetric::Rmse => rmse(y_true, y_pred, None),
            RegressionMetric::Msle | RegressionMetric::Rmsle => {
                if y_true.iter().chain(y_pred).any(|&v| v < 0.0) {
                    return f64::NAN;
                }
                let mean = y_true
                    .iter()
                    .zip(y_pred)
                    .map(|(&t, &p)| self.row_loss(t, p))
                    .sum::<f64>()
                    / y_true.len() as f64;
                return self.from_mean_loss(mean);
            }
        };
        value.unwrap_or(f64::NAN)
    }
}

impl fmt::Display for RegressionMetric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for RegressionMetric {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Self> {
        RegressionMetric::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                MonitorError::Invalid(format!(
                    "unknown regression metric {s:?}\n\nhint: use one of mae, mape, mse, rmse, \
                     msle, rmsle"
                ))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in BinaryMetric::ALL {
            assert_eq!(m.name().parse::<BinaryMetric>().unwrap(), m);
        }
        for m in RegressionMetric::ALL {
            assert_eq!(m.name().parse::<RegressionMetric>().unwrap(), m);
        }
        assert!("auc".parse::<BinaryMetric>().is_err());
        assert!("r2".parse::<RegressionMetric>().is_err());
    }

    #[test]
    fn expected_confusion_matrix() {
        let y_pred = [1.0, 1.0, 0.0, 0.0];
        let p = [0.9, 0.6, 0.3, 0.0];
        // E[TP] = 1.5, E[FP] = 0.5, E[FN] = 0.3, E[TN] = 1.7.
        assert!((BinaryMetric::Precision.estimate(&y_pred, &p) - 0.75).abs() < 1e-12);
        assert!((BinaryMetric::Recall.estimate(&y_pred, &p) - 1.5 / 1.8).abs() < 1e-12);
        assert!((BinaryMetric::Specificity.estimate(&y_pred, &p) - 1.7 / 2.2).abs() < 1e-12);
        assert!((BinaryMetric::Accuracy.estimate(&y_pred, &p) - 3.2 / 4.0).abs() < 1e-12);
        assert!((BinaryMetric::F1.estimate(&y_pred, &p) - 1.5 / 1.9).abs() < 1e-12);
    }

    #[test]
    fn estimated_auc_of_certain_labels_is_realized_auc() {
        // Calibrated probabilities of 0/1 are the labels: the expected curve is the real one.
        let labels = [1.0, 0.0, 1.0, 1.0, 0.0, 0.0];
        let scores = [0.9, 0.8, 0.7, 0.4, 0.3, 0.1];
        let est = estimate_roc_auc(&labels, &scores);
        let real = BinaryMetric::RocAuc.realized(&labels, &scores);
        assert!((est - real).abs() < 1e-12, "{est} vs {real}");
    }

    #[test]
    fn undefined_realized_values_are_nan() {
        assert!(
            BinaryMetric::RocAuc
                .realized(&[1.0, 1.0], &[0.2, 0.3])
                .is_nan()
        );
        assert!(BinaryMetric::F1.realized(&[1.0, 0.0], &[1.0, 1.0]).is_nan());
        assert!(
            BinaryMetric::Specificity
                .realized(&[1.0, 1.0], &[1.0, 0.0])
                .is_nan()
        );
        assert!(RegressionMetric::Msle.realized(&[-1.0], &[1.0]).is_nan());
        assert!(RegressionMetric::Mae.realized(&[], &[]).is_nan());
    }
}
