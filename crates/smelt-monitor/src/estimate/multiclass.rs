//! CBPE for multiclass classifiers (NannyML's multiclass `CBPE`).
//!
//! Each class gets its own calibration (one-vs-rest isotonic regression, when it lowers the
//! held-out calibration error, as in the binary case); a row's calibrated probabilities are
//! then rescaled to sum to 1. The estimates are macro averages of the one-vs-rest binary
//! estimates — F1, precision, recall, specificity of "predicted class c" against the calibrated
//! probability of c, ROC AUC of each class's probability — and the accuracy is the mean
//! calibrated probability of the predicted class. Sampling errors combine the classes'
//! one-vs-rest errors as `√(Σ se_c²) / k` (times 1.2 for ROC AUC, NannyML's factor); thresholds
//! come from the realized macro metrics of the reference chunks.

use smelt_eval::metrics::roc_auc;

use super::calibration::{Calibration, Calibrator, needs_calibration};
use super::cbpe::CbpeParams;
use super::metrics::{BinaryMetric, estimate_roc_auc};
use super::realized::{FittedMetric, fit_metric, need_labels};
use super::sampling::multiclass_components;
use super::{Method, Performance};
use crate::chunk::{Chunker, Chunks, Period, Series, Timestamp, nan_to_none};
use crate::error::{MonitorError, Result};

/// A multiclass classifier's outputs, one value per row; NaN = missing.
#[derive(Clone, Copy, Debug)]
pub struct MulticlassColumns<'a> {
    /// The predicted probability of each class, one column per class, in class-code order
    /// (at least 2).
    pub y_pred_proba: &'a [&'a [f64]],
    /// Predicted class code, `0..k`.
    pub y_pred: &'a [f64],
    /// True class code (the reference needs it).
    pub y_true: Option<&'a [f64]>,
    /// One timestamp per row.
    pub timestamps: Option<&'a [Timestamp]>,
}

impl MulticlassColumns<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.y_pred.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.y_pred.is_empty()
    }

    /// Number of classes.
    pub fn n_classes(&self) -> usize {
        self.y_pred_proba.len()
    }

    /// Checks shapes and values: probabilities in `[0, 1]`, class codes in `0..k`.
    pub fn validate(&self) -> Result<()> {
        let (n, k) = (self.len(), self.n_classes());
        if n == 0 {
            return Err(MonitorError::TooFew("no rows: the table is empty".into()));
        }
        if k < 2 {
            return Err(MonitorError::Invalid(format!(
                "{k} probability columns; a multiclass model has one per class (at least 2)"
            )));
        }
        for (c, col) in self.y_pred_proba.iter().enumerate() {
            if col.len() != n {
                return Err(MonitorError::Invalid(format!(
                    "probability column {c} has {} values but y_pred has {n}",
                    col.len()
                )));
            }
            if let Some(i) = col
                .iter()
                .position(|&p| !p.is_nan() && !(0.0..=1.0).contains(&p))
            {
                return Err(MonitorError::Invalid(format!(
                    "probability column {c}: row {i}: {} is not a probability in [0, 1]",
                    col[i]
                )));
            }
        }
        for (name, col) in [("y_pred", Some(self.y_pred)), ("y_true", self.y_true)] {
            let Some(col) = col else { continue };
            if col.len() != n {
                return Err(MonitorError::Invalid(format!(
                    "{name} has {} values but y_pred has {n}",
                    col.len()
                )));
            }
            if let Some(i) = col
                .iter()
                .position(|&v| !v.is_nan() && (v.fract() != 0.0 || v < 0.0 || v >= k as f64))
            {
                return Err(MonitorError::Invalid(format!(
                    "{name}: row {i}: {} is not a class code in 0..{k}",
                    col[i]
                )));
            }
        }
        if let Some(ts) = self.timestamps
            && ts.len() != n
        {
            return Err(MonitorError::Invalid(format!(
                "{} timestamps for {n} rows; give one per row",
                ts.len()
            )));
        }
        Ok(())
    }

    fn complete(&self, i: usize) -> bool {
        self.y_pred_proba.iter().all(|col| !col[i].is_nan())
    }
}

/// Multiclass CBPE fitted on a reference.
#[derive(Clone, Debug)]
pub struct MulticlassCbpe {
    params: CbpeParams,
    calibrators: Vec<Calibrator>,
    fitted: Vec<FittedMetric>,
    reference: Performance,
}

/// Rows of a chunk a metric uses: all probabilities present, and the classes where needed.
fn usable(
    m: BinaryMetric,
    cols: &MulticlassColumns<'_>,
    y_true: Option<&[f64]>,
    rows: &[usize],
) -> Vec<usize> {
    rows.iter()
        .copied()
        .filter(|&i| {
            let labels_ok = y_true.is_none_or(|y| !y[i].is_nan());
            let proba_ok = m != BinaryMetric::RocAuc || cols.complete(i);
            let pred_ok = m == BinaryMetric::RocAuc || !cols.y_pred[i].is_nan();
            labels_ok && proba_ok && pred_ok
        })
        .collect()
}

/// The realized macro metric on `rows` (labels, predictions and, for ROC AUC, probabilities
/// present). NaN as NannyML: a single class in the labels or the predictions; for ROC AUC, a
/// class missing from the labels. Per-class scores with a zero denominator count 0 (as
/// scikit-learn's `average="macro"` over all `labels`), except specificity (NaN).
fn realized(m: BinaryMetric, cols: &MulticlassColumns<'_>, y_true: &[f64], rows: &[usize]) -> f64 {
    let k = cols.n_classes();
    if rows.is_empty() {
        return f64::NAN;
    }
    let t: Vec<u32> = rows.iter().map(|&i| y_true[i] as u32).collect();
    let distinct = |v: &[u32]| v.iter().any(|&x| x != v[0]);
    if m == BinaryMetric::RocAuc {
        if (0..k as u32).any(|c| !t.contains(&c)) {
            return f64::NAN;
        }
        let mut sum = 0.0;
        for (c, col) in cols.y_pred_proba.iter().enumerate() {
            let binary: Vec<u32> = t.iter().map(|&v| u32::from(v == c as u32)).collect();
            let score: Vec<f64> = rows.iter().map(|&i| col[i]).collect();
            match roc_auc(&binary, &score, None) {
                Ok(a) => sum += a,
                Err(_) => return f64::NAN,
            }
        }
        return sum / k as f64;
    }
    let p: Vec<u32> = rows.iter().map(|&i| cols.y_pred[i] as u32).collect();
    if !distinct(&t) || !distinct(&p) {
        return f64::NAN;
    }
    if m == BinaryMetric::Accuracy {
        return t.iter().zip(&p).filter(|(a, b)| a == b).count() as f64 / t.len() as f64;
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let mut sum = 0.0;
    for c in 0..k as u32 {
        let (mut tp, mut fp, mut fn_, mut tn) = (0, 0, 0, 0);
        for (&a, &b) in t.iter().zip(&p) {
            match (a == c, b == c) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                (false, false) => tn += 1,
            }
        }
        sum += match m {
            BinaryMetric::F1 => ratio(2 * tp, 2 * tp + fp + fn_),
            BinaryMetric::Precision => ratio(tp, tp + fp),
            BinaryMetric::Recall => ratio(tp, tp + fn_),
            _ if tn + fp == 0 => f64::NAN,
            _ => ratio(tn, tn + fp),
        };
    }
    sum / k as f64
}

impl CbpeParams {
    /// Fits multiclass CBPE on a labelled reference (every class present in its labels) and
    /// estimates the reference's own chunks ([`MulticlassCbpe::reference`]).
    pub fn fit_multiclass(&self, reference: &MulticlassColumns<'_>) -> Result<MulticlassCbpe> {
        if self.metrics.is_empty() {
            return Err(MonitorError::Invalid("no metrics given".into()));
        }
        self.chunker.validate()?;
        self.threshold.validate()?;
        for t in self.thresholds.values() {
            t.validate()?;
        }
        reference.validate()?;
        let y_true = need_labels(reference.y_true)?;
        let k = reference.n_classes();
        let all: Vec<usize> = (0..reference.len()).collect();
        let labelled: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&i| !y_true[i].is_nan())
            .collect();
        if let Some(c) = (0..k).find(|&c| !labelled.iter().any(|&i| y_true[i] == c as f64)) {
            return Err(MonitorError::TooFew(format!(
                "class {c} never occurs in the reference labels\n\nhint: every class needs \
                 reference rows to calibrate and to fit sampling errors on"
            )));
        }
        let chunks = self.chunker.split(reference.len(), reference.timestamps)?;
        let mut fitted = Vec::new();
        for &m in &self.metrics {
            let rows = usable(m, reference, Some(y_true), &all);
            if rows.is_empty() {
                return Err(MonitorError::TooFew(format!(
                    "{}: no complete reference row",
                    m.name()
                )));
            }
            let t: Vec<u32> = rows.iter().map(|&i| y_true[i] as u32).collect();
            let p: Vec<u32> = rows.iter().map(|&i| reference.y_pred[i] as u32).collect();
            let proba: Vec<Vec<f64>> = reference
                .y_pred_proba
                .iter()
                .map(|col| rows.iter().map(|&i| col[i]).collect())
                .collect();
            let values: Vec<f64> = chunks
                .chunks
                .iter()
                .map(|c| {
                    let rows = usable(m, reference, Some(y_true), &chunks.rows(c));
                    realized(m, reference, y_true, &rows)
                })
                .collect();
            let threshold = self.thresholds.get(&m).unwrap_or(&self.threshold);
            fitted.push(fit_metric(
                m.name(),
                m.display_name(),
                multiclass_components(m, &t, &p, &proba),
                (Some(0.0), Some(1.0)),
                threshold,
                &values,
            ));
        }
        let mut calibrators = Vec::with_capacity(k);
        for (c, col) in reference.y_pred_proba.iter().enumerate() {
            let (t, p): (Vec<f64>, Vec<f64>) = labelled
                .iter()
                .filter(|&&i| !col[i].is_nan())
                .map(|&i| (f64::from(u8::from(y_true[i] == c as f64)), col[i]))
                .unzip();
            let calibrate = match self.calibration {
                Calibration::Always => true,
                Calibration::Never => false,
                Calibration::Auto => needs_calibration(&t, &p, self.seed)?,
            };
            calibrators.push(if calibrate {
                Calibrator::fit(&p, &t)
            } else {
                Calibrator::identity()
            });
        }
        let mut cbpe = MulticlassCbpe {
            params: self.clone(),
            calibrators,
            fitted,
            reference: Performance {
                method: Method::Cbpe,
                series: Vec::new(),
            },
        };
        cbpe.reference = cbpe.run(reference, &chunks, Period::Reference);
        Ok(cbpe)
    }
}

impl MulticlassCbpe {
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

    /// Whether each class's probabilities are calibrated.
    pub fn calibrated(&self) -> Vec<bool> {
        self.calibrators
            .iter()
            .map(|c| c.isotonic.is_some())
            .collect()
    }

    /// The rescaled calibrated probabilities, one column per class.
    pub fn calibrate(&self, cols: &MulticlassColumns<'_>) -> Vec<Vec<f64>> {
        let (n, k) = (cols.len(), self.calibrators.len());
        let mut out: Vec<Vec<f64>> = (0..k)
            .map(|c| {
                cols.y_pred_proba[c]
                    .iter()
                    .map(|&p| self.calibrators[c].calibrate(p))
                    .collect()
            })
            .collect();
        for i in 0..n {
            let sum: f64 = out.iter().map(|col| col[i]).sum();
            for col in out.iter_mut() {
                // A row whose calibrated probabilities are all 0 becomes uniform.
                col[i] = if sum != 0.0 {
                    col[i] / sum
                } else {
                    1.0 / k as f64
                };
            }
        }
        out
    }

    /// Estimates every metric on each chunk of `analysis` (labels optional; the same classes as
    /// the reference).
    pub fn estimate(&self, analysis: &MulticlassColumns<'_>) -> Result<Performance> {
        analysis.validate()?;
        if analysis.n_classes() != self.calibrators.len() {
            return Err(MonitorError::Schema(format!(
                "the analysis table has {} probability columns, the reference {}",
                analysis.n_classes(),
                self.calibrators.len()
            )));
        }
        let chunks = self
            .params
            .chunker
            .split(analysis.len(), analysis.timestamps)?;
        Ok(self.run(analysis, &chunks, Period::Analysis))
    }

    fn run(&self, data: &MulticlassColumns<'_>, chunks: &Chunks, period: Period) -> Performance {
        let calibrated = self.calibrate(data);
        let k = calibrated.len();
        let mut series = Vec::new();
        for (&m, f) in self.params.metrics.iter().zip(&self.fitted) {
            let mut points = Vec::new();
            for c in &chunks.chunks {
                let chunk_rows = chunks.rows(c);
                // Estimates need every probability (and the predicted class but for ROC AUC).
                let rows: Vec<usize> = chunk_rows
                    .iter()
                    .copied()
                    .filter(|&i| {
                        data.complete(i) && (m == BinaryMetric::RocAuc || !data.y_pred[i].is_nan())
                    })
                    .collect();
                let value = if rows.is_empty() {
                    f64::NAN
                } else {
                    estimate(m, data, &calibrated, &rows, k)
                };
                let realized = data.y_true.and_then(|y| {
                    let rows = usable(m, data, Some(y), &chunk_rows);
                    nan_to_none(realized(m, data, y, &rows))
                });
                points.push(f.point(c, period, value, rows.len(), realized));
            }
            series.push(Series {
                metric: f.name.clone(),
                display_name: f.display_name.clone(),
                chunks: points,
            });
        }
        Performance {
            method: Method::Cbpe,
            series,
        }
    }
}

/// A macro-averaged estimate on `rows` (complete rows).
fn estimate(
    m: BinaryMetric,
    data: &MulticlassColumns<'_>,
    calibrated: &[Vec<f64>],
    rows: &[usize],
    k: usize,
) -> f64 {
    if m == BinaryMetric::Accuracy {
        let sum: f64 = rows
            .iter()
            .map(|&i| calibrated[data.y_pred[i] as usize][i])
            .sum();
        return sum / rows.len() as f64;
    }
    let mut total = 0.0;
    for (c, column) in calibrated.iter().enumerate() {
        let cal: Vec<f64> = rows.iter().map(|&i| column[i]).collect();
        total += if m == BinaryMetric::RocAuc {
            let unc: Vec<f64> = rows.iter().map(|&i| data.y_pred_proba[c][i]).collect();
            estimate_roc_auc(&cal, &unc)
        } else {
            let pred: Vec<f64> = rows
                .iter()
                .map(|&i| f64::from(u8::from(data.y_pred[i] == c as f64)))
                .collect();
            m.estimate(&pred, &cal)
        };
    }
    total / k as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::{Chunker, Incomplete};

    #[test]
    fn errors_not_panics() {
        let p0 = [0.5, 0.2, 0.3, 0.1];
        let p1 = [0.5, 0.8, 0.7, 0.9];
        let cols = [&p0[..], &p1[..]];
        let params = CbpeParams {
            chunker: Chunker::Size {
                chunk_size: 2,
                incomplete: Incomplete::Keep,
            },
            ..CbpeParams::default()
        };
        let bad_code = MulticlassColumns {
            y_pred_proba: &cols,
            y_pred: &[0.0, 1.0, 2.0, 1.0],
            y_true: Some(&[0.0, 1.0, 1.0, 1.0]),
            timestamps: None,
        };
        assert!(params.fit_multiclass(&bad_code).is_err());
        let missing_class = MulticlassColumns {
            y_pred: &[0.0, 1.0, 1.0, 1.0],
            y_true: Some(&[1.0, 1.0, 1.0, 1.0]),
            ..bad_code
        };
        assert!(params.fit_multiclass(&missing_class).is_err());
        let one = [&p0[..]];
        let one_column = MulticlassColumns {
            y_pred_proba: &one,
            ..missing_class
        };
        assert!(params.fit_multiclass(&one_column).is_err());
    }
}
