//! Confidence-based performance estimation for binary classifiers (NannyML's `CBPE`).
//!
//! Fitting on a labelled reference: per metric, the sampling-error components and the alert
//! thresholds (mean ± 3 std of the *realized* values over the reference chunks, clipped to
//! `[0, 1]`); then whether to calibrate ([`super::calibration`]) and the isotonic map on the
//! whole reference. Estimating a chunk: its probabilities are calibrated, and each metric is
//! read off the expected confusion matrix (or the expected ROC curve) — see
//! [`BinaryMetric::estimate`] and [`super::metrics::estimate_roc_auc`]. Confidence bounds are
//! the estimate ± 3 sampling errors, clipped to `[0, 1]`; a chunk alerts when its estimate
//! leaves the thresholds. Where the chunk has labels, the realized value is reported beside.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::calibration::{Calibration, Calibrator, needs_calibration};
use super::metrics::{BinaryMetric, estimate_roc_auc};
use super::realized::{FittedMetric, binary_pairs, fit_metric, need_labels};
use super::sampling::binary_components;
use super::{BinaryColumns, Method, Performance};
use crate::chunk::{Chunker, Chunks, Period, Series, Threshold, nan_to_none};
use crate::error::{MonitorError, Result};

/// Settings of [`Cbpe`] (NannyML's `CBPE` arguments).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CbpeParams {
    /// Metrics to estimate; default all six, in NannyML's order.
    pub metrics: Vec<BinaryMetric>,
    /// How rows are grouped; default about ten chunks.
    pub chunker: Chunker,
    /// Whether to calibrate; default `auto` (when it helps, as NannyML).
    pub calibration: Calibration,
    /// Alert thresholds of every metric; default mean ± 3 std of the reference chunks.
    pub threshold: Threshold,
    /// Per-metric threshold overrides.
    pub thresholds: BTreeMap<BinaryMetric, Threshold>,
    /// Seed of the held-out splits of the calibration test (numpy's `RandomState` seed,
    /// modulo 2³²); default 42, NannyML's.
    pub seed: u64,
}

impl Default for CbpeParams {
    fn default() -> Self {
        CbpeParams {
            metrics: BinaryMetric::ALL.to_vec(),
            chunker: Chunker::Default,
            calibration: Calibration::Auto,
            threshold: Threshold::default(),
            thresholds: BTreeMap::new(),
            seed: 42,
        }
    }
}

/// CBPE fitted on a reference.
#[derive(Clone, Debug)]
pub struct Cbpe {
    params: CbpeParams,
    calibrator: Calibrator,
    calibrated: bool,
    fitted: Vec<FittedMetric>,
    reference: Performance,
}

impl CbpeParams {
    /// Fits on a labelled reference and estimates its own chunks ([`Cbpe::reference`]).
    ///
    /// Errors: no rows, no labels, no predicted classes for a metric that needs them, values
    /// that are not probabilities or 0/1 classes, no complete reference row, a chunking that
    /// does not fit the table.
    pub fn fit(&self, reference: &BinaryColumns<'_>) -> Result<Cbpe> {
        if self.metrics.is_empty() {
            return Err(MonitorError::Invalid(
                "no metrics given\n\nhint: name at least one of roc_auc, f1, precision, recall, \
                 specificity, accuracy"
                    .into(),
            ));
        }
        self.chunker.validate()?;
        self.threshold.validate()?;
        for t in self.thresholds.values() {
            t.validate()?;
        }
        reference.validate()?;
        let y_true = need_labels(reference.y_true)?;
        let chunks = self.chunker.split(reference.len(), reference.timestamps)?;
        let all: Vec<usize> = (0..reference.len()).collect();
        let mut fitted = Vec::new();
        for &m in &self.metrics {
            let (t, s) = binary_pairs(m, y_true, reference, &all)?;
            if t.is_empty() {
                return Err(MonitorError::TooFew(format!(
                    "{}: no reference row has both a label and a prediction",
                    m.name()
                )));
            }
            let values = chunks
                .chunks
                .iter()
                .map(|c| {
                    binary_pairs(m, y_true, reference, &chunks.rows(c))
                        .map(|(t, s)| m.realized(&t, &s))
                })
                .collect::<Result<Vec<f64>>>()?;
            let threshold = self.thresholds.get(&m).unwrap_or(&self.threshold);
            fitted.push(fit_metric(
                m.name(),
                m.display_name(),
                binary_components(m, &t, &s),
                (Some(0.0), Some(1.0)),
                threshold,
                &values,
            ));
        }
        let (t, p): (Vec<f64>, Vec<f64>) = y_true
            .iter()
            .zip(reference.y_pred_proba)
            .filter(|(t, p)| !t.is_nan() && !p.is_nan())
            .map(|(&t, &p)| (t, p))
            .unzip();
        if t.is_empty() {
            return Err(MonitorError::TooFew(
                "no reference row has both a label and a probability".into(),
            ));
        }
        let calibrated = match self.calibration {
            Calibration::Always => true,
            Calibration::Never => false,
            Calibration::Auto => needs_calibration(&t, &p, self.seed)?,
        };
        let calibrator = if calibrated {
            Calibrator::fit(&p, &t)
        } else {
            Calibrator::identity()
        };
        let mut cbpe = Cbpe {
            params: self.clone(),
            calibrator,
            calibrated,
            fitted,
            reference: Performance {
                method: Method::Cbpe,
                series: Vec::new(),
            },
        };
        cbpe.reference = cbpe.run(reference, &chunks, Period::Reference)?;
        Ok(cbpe)
    }
}

impl Cbpe {
    /// Groups the rows of later analysis tables with `chunker` (the reference's chunks and
    /// thresholds stay as fitted): a caller that cuts its own windows asks for one chunk a call
    /// ([`Chunker::whole`]).
    pub fn set_chunker(&mut self, chunker: Chunker) {
        self.params.chunker = chunker;
    }

    /// The reference's chunks, estimated (period `reference`, realized values beside).
    pub fn reference(&self) -> &Performance {
        &self.reference
    }

    /// Whether the probabilities are calibrated (NannyML's `needs_calibration`).
    pub fn is_calibrated(&self) -> bool {
        self.calibrated
    }

    /// The calibration map.
    pub fn calibrator(&self) -> &Calibrator {
        &self.calibrator
    }

    /// The settings it was fitted with.
    pub fn params(&self) -> &CbpeParams {
        &self.params
    }

    /// Estimates every metric on each chunk of `analysis` (labels optional).
    pub fn estimate(&self, analysis: &BinaryColumns<'_>) -> Result<Performance> {
        analysis.validate()?;
        if self.params.metrics.iter().any(|m| m.needs_y_pred()) && analysis.y_pred.is_none() {
            return Err(MonitorError::Schema(
                "the analysis table has no predicted classes (y_pred)".into(),
            ));
        }
        let chunks = self
            .params
            .chunker
            .split(analysis.len(), analysis.timestamps)?;
        self.run(analysis, &chunks, Period::Analysis)
    }

    fn run(
        &self,
        data: &BinaryColumns<'_>,
        chunks: &Chunks,
        period: Period,
    ) -> Result<Performance> {
        let calibrated: Vec<f64> = data
            .y_pred_proba
            .iter()
            .map(|&p| self.calibrator.calibrate(p))
            .collect();
        let mut series = Vec::new();
        for (&m, f) in self.params.metrics.iter().zip(&self.fitted) {
            let mut points = Vec::new();
            for c in &chunks.chunks {
                let rows = chunks.rows(c);
                let (value, n) = estimate_chunk(m, data, &calibrated, &rows);
                let realized = match data.y_true {
                    Some(y) => {
                        let (t, s) = binary_pairs(m, y, data, &rows)?;
                        nan_to_none(m.realized(&t, &s))
                    }
                    None => None,
                };
                points.push(f.point(c, period, value, n, realized));
            }
            series.push(Series {
                metric: f.name.clone(),
                display_name: f.display_name.clone(),
                chunks: points,
            });
        }
        Ok(Performance {
            method: Method::Cbpe,
            series,
        })
    }
}

/// A metric's estimate on `rows` and the number of rows it used (rows with a probability,
/// and a predicted class where the metric needs one); NaN without rows.
fn estimate_chunk(
    m: BinaryMetric,
    data: &BinaryColumns<'_>,
    calibrated: &[f64],
    rows: &[usize],
) -> (f64, usize) {
    let proba = data.y_pred_proba;
    if m == BinaryMetric::RocAuc {
        let (cal, unc): (Vec<f64>, Vec<f64>) = rows
            .iter()
            .filter(|&&i| !proba[i].is_nan())
            .map(|&i| (calibrated[i], proba[i]))
            .unzip();
        if cal.is_empty() {
            return (f64::NAN, 0);
        }
        return (estimate_roc_auc(&cal, &unc), cal.len());
    }
    let Some(y_pred) = data.y_pred else {
        return (f64::NAN, 0);
    };
    let (pred, cal): (Vec<f64>, Vec<f64>) = rows
        .iter()
        .filter(|&&i| !proba[i].is_nan() && !y_pred[i].is_nan())
        .map(|&i| (y_pred[i], calibrated[i]))
        .unzip();
    if pred.is_empty() {
        return (f64::NAN, 0);
    }
    (m.estimate(&pred, &cal), pred.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Incomplete;

    fn params() -> CbpeParams {
        CbpeParams {
            chunker: Chunker::Size {
                chunk_size: 4,
                incomplete: Incomplete::Keep,
            },
            ..CbpeParams::default()
        }
    }

    #[test]
    fn errors_not_panics() {
        let p = [0.1, 0.9, 0.2, 0.8];
        let y = [0.0, 1.0, 0.0, 1.0];
        let empty = BinaryColumns {
            y_pred_proba: &[],
            y_pred: Some(&[]),
            y_true: Some(&[]),
            timestamps: None,
        };
        assert!(params().fit(&empty).is_err());
        let no_labels = BinaryColumns {
            y_pred_proba: &p,
            y_pred: Some(&y),
            y_true: None,
            timestamps: None,
        };
        assert!(params().fit(&no_labels).is_err());
        let no_pred = BinaryColumns {
            y_pred: None,
            y_true: Some(&y),
            ..no_labels
        };
        assert!(params().fit(&no_pred).is_err());
        let bad = BinaryColumns {
            y_pred_proba: &[0.1, 1.5, 0.2, 0.8],
            y_true: Some(&y),
            ..no_labels
        };
        assert!(params().fit(&bad).is_err());
        let three = BinaryColumns {
            y_true: Some(&[0.0, 2.0, 0.0, 1.0]),
            ..no_labels
        };
        assert!(params().fit(&three).is_err());
        let none = CbpeParams {
            metrics: vec![],
            ..params()
        };
        assert!(
            none.fit(&BinaryColumns {
                y_true: Some(&y),
                ..no_labels
            })
            .is_err()
        );
    }

    #[test]
    fn single_class_reference_gives_nan_not_panic() {
        let p = [0.6, 0.9, 0.7, 0.8, 0.95, 0.65, 0.7, 0.9];
        let y = [1.0; 8];
        let cols = BinaryColumns {
            y_pred_proba: &p,
            y_pred: Some(&y),
            y_true: Some(&y),
            timestamps: None,
        };
        let cbpe = params().fit(&cols).unwrap();
        assert!(!cbpe.is_calibrated());
        let auc = cbpe.reference().get("roc_auc").unwrap();
        assert!(auc.chunks.iter().all(|c| c.realized.is_none()));
        assert!(auc.chunks.iter().all(|c| c.upper_threshold.is_none()));
    }
}
