//! Model performance per chunk: realized once labels arrive, and estimated without labels —
//! CBPE for binary classifiers, DLE for regressors — after NannyML 0.13.1.
//!
//! * [`realized`]: the metric on each chunk's labelled rows (NannyML's
//!   `PerformanceCalculator`), with the sampling error of each chunk and thresholds from the
//!   reference chunks; labels are joined to predictions by request id with [`join_by_id`], and
//!   [`realized_by_slice`] gives one result per slice.
//! * [`cbpe`]: confidence-based performance estimation. Reference probabilities are calibrated
//!   (isotonic regression) when that lowers their expected calibration error; the expected
//!   confusion matrix of a chunk then follows from the calibrated probabilities
//!   (`E[TP] = Σ p` over predicted positives, `E[FP] = Σ (1 − p)`, ...), and so do the estimated
//!   F1, precision, recall, specificity and accuracy; the estimated ROC AUC integrates the
//!   expected ROC curve, rows ranked by the model's own scores.
//!   [`multiclass`]: the same for multiclass classifiers (per-class calibration, macro
//!   averages), [`CbpeParams::fit_multiclass`].
//! * [`dle`]: direct loss estimation. A gradient-boosting model (Smelt's histogram GBDT with
//!   LightGBM's default settings, standing in for NannyML's LightGBM) learns each row's loss
//!   (absolute error, squared error, ...) from the features and the prediction on the
//!   reference; a chunk's estimate is the mean predicted loss (its square root for RMSE).
//!
//! Every method reports, per chunk ([`crate::chunk::ChunkValue`]): the value, its sampling
//! error (the reference's per-row spread over √n, NannyML's `sampling_error`), confidence bounds
//! at ±3 sampling errors clipped to the metric's range, thresholds at the mean ± 3 standard
//! deviations of the realized values over the reference chunks (clipped to the range), and an
//! alert when the value leaves them.
//!
//! ```
//! use smelt_core::rng::SplitMix64;
//! use smelt_monitor::chunk::{Chunker, Incomplete};
//! use smelt_monitor::estimate::{BinaryColumns, BinaryMetric, CbpeParams};
//!
//! // A calibrated model: each label is 1 with the predicted probability.
//! let mut rng = SplitMix64::new(7);
//! let proba: Vec<f64> = (0..4000).map(|_| rng.uniform()).collect();
//! let y_pred: Vec<f64> = proba.iter().map(|&p| f64::from(u8::from(p >= 0.5))).collect();
//! let y_true: Vec<f64> = proba.iter().map(|&p| f64::from(u8::from(rng.uniform() < p))).collect();
//! let reference = BinaryColumns {
//!     y_pred_proba: &proba,
//!     y_pred: Some(&y_pred),
//!     y_true: Some(&y_true),
//!     timestamps: None,
//! };
//! let params = CbpeParams {
//!     metrics: vec![BinaryMetric::RocAuc, BinaryMetric::Accuracy],
//!     chunker: Chunker::Size { chunk_size: 500, incomplete: Incomplete::Keep },
//!     ..CbpeParams::default()
//! };
//! let cbpe = params.fit(&reference)?;
//! // Later, without labels:
//! let analysis = BinaryColumns { y_true: None, ..reference };
//! let estimate = cbpe.estimate(&analysis)?;
//! let accuracy = estimate.get("accuracy").expect("asked for");
//! assert_eq!(accuracy.chunks.len(), 8);
//! assert!(accuracy.chunks.iter().all(|c| (c.value.unwrap() - 0.75).abs() < 0.03 && !c.alert));
//! # Ok::<(), smelt_monitor::MonitorError>(())
//! ```

pub mod calibration;
pub mod cbpe;
pub mod dle;
pub mod metrics;
pub mod multiclass;
pub mod realized;
pub mod sampling;

use serde::{Deserialize, Serialize};

pub use cbpe::{Cbpe, CbpeParams};
pub use dle::{Dle, DleParams};
pub use metrics::{BinaryMetric, RegressionMetric};
pub use multiclass::{MulticlassCbpe, MulticlassColumns};
pub use realized::{Metrics, Outputs, Realized, RealizedParams, join_by_id, realized_by_slice};

use crate::chunk::{Series, Timestamp};
use crate::error::{MonitorError, Result};

/// How a [`Performance`] was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// From labels.
    Realized,
    /// Confidence-based performance estimation.
    Cbpe,
    /// Direct loss estimation.
    Dle,
}

/// Per-chunk performance of one table: one [`Series`] per metric.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Performance {
    /// Realized or estimated, and how.
    pub method: Method,
    /// One series per metric, in the order asked for.
    pub series: Vec<Series>,
}

impl Performance {
    /// The series of `metric` (its machine name, `roc_auc`).
    pub fn get(&self, metric: &str) -> Option<&Series> {
        self.series.iter().find(|s| s.metric == metric)
    }

    /// Reference chunks followed by analysis chunks, metric by metric.
    pub fn concat(&self, other: &Performance) -> Performance {
        Performance {
            method: self.method,
            series: self
                .series
                .iter()
                .zip(&other.series)
                .map(|(a, b)| a.clone().concat(b))
                .collect(),
        }
    }
}

/// A binary classifier's outputs (and labels, where known), one value per row. Missing values
/// are NaN; rows missing a value a metric needs are left out of that metric, as NannyML does.
#[derive(Clone, Copy, Debug)]
pub struct BinaryColumns<'a> {
    /// Predicted probability of class 1, in `[0, 1]`.
    pub y_pred_proba: &'a [f64],
    /// Predicted class, 0 or 1 (needed by every metric but ROC AUC).
    pub y_pred: Option<&'a [f64]>,
    /// True class, 0 or 1 (the reference needs it; analysis rows may lack it).
    pub y_true: Option<&'a [f64]>,
    /// One timestamp per row, for period chunks and time order.
    pub timestamps: Option<&'a [Timestamp]>,
}

/// A regressor's outputs (and targets, where known), one value per row; NaN = missing.
#[derive(Clone, Copy, Debug)]
pub struct RegressionColumns<'a> {
    /// Prediction.
    pub y_pred: &'a [f64],
    /// Target (the reference needs it).
    pub y_true: Option<&'a [f64]>,
    /// One timestamp per row.
    pub timestamps: Option<&'a [Timestamp]>,
}

impl BinaryColumns<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y_pred_proba.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y_pred_proba.is_empty()
    }

    /// Checks lengths and values: probabilities in `[0, 1]`, classes 0 or 1 (NaN allowed).
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Err(MonitorError::TooFew("no rows: the table is empty".into()));
        }
        check_len("y_pred", self.y_pred.map(<[f64]>::len), n)?;
        check_len("y_true", self.y_true.map(<[f64]>::len), n)?;
        check_len("timestamps", self.timestamps.map(<[Timestamp]>::len), n)?;
        if let Some(i) = self
            .y_pred_proba
            .iter()
            .position(|&p| !p.is_nan() && !(0.0..=1.0).contains(&p))
        {
            return Err(MonitorError::Invalid(format!(
                "y_pred_proba: row {i}: {} is not a probability in [0, 1]",
                self.y_pred_proba[i]
            )));
        }
        for (name, col) in [("y_pred", self.y_pred), ("y_true", self.y_true)] {
            if let Some(col) = col
                && let Some(i) = col
                    .iter()
                    .position(|&v| !v.is_nan() && v != 0.0 && v != 1.0)
            {
                return Err(MonitorError::Invalid(format!(
                    "{name}: row {i}: {} is not a binary class (0 or 1)\n\nhint: map the \
                     positive class to 1 and the other to 0",
                    col[i]
                )));
            }
        }
        Ok(())
    }
}

impl RegressionColumns<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y_pred.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y_pred.is_empty()
    }

    /// Checks lengths (no rows is an error).
    pub fn validate(&self) -> Result<()> {
        let n = self.len();
        if n == 0 {
            return Err(MonitorError::TooFew("no rows: the table is empty".into()));
        }
        check_len("y_true", self.y_true.map(<[f64]>::len), n)?;
        check_len("timestamps", self.timestamps.map(<[Timestamp]>::len), n)
    }
}

fn check_len(name: &str, len: Option<usize>, n: usize) -> Result<()> {
    match len {
        Some(l) if l != n => Err(MonitorError::Invalid(format!(
            "{name} has {l} values but y_pred has {n}; give one per row"
        ))),
        _ => Ok(()),
    }
}

/// Confidence bounds: `value ± 3 · sampling_error`, clipped to `[lower_limit, upper_limit]`.
pub(crate) fn confidence_bounds(
    value: f64,
    sampling_error: f64,
    lower_limit: Option<f64>,
    upper_limit: Option<f64>,
) -> (f64, f64) {
    const RANGE: f64 = 3.0;
    if value.is_nan() || sampling_error.is_nan() {
        return (f64::NAN, f64::NAN);
    }
    let lo = (value - RANGE * sampling_error).max(lower_limit.unwrap_or(f64::NEG_INFINITY));
    let hi = (value + RANGE * sampling_error).min(upper_limit.unwrap_or(f64::INFINITY));
    (lo, hi)
}

/// NannyML's `Metric.alert`: outside the thresholds (a NaN value never alerts).
pub(crate) fn alert(value: f64, lower: Option<f64>, upper: Option<f64>) -> bool {
    lower.is_some_and(|l| value < l) || upper.is_some_and(|u| value > u)
}
