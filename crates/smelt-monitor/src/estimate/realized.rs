//! Realized performance once labels arrive (NannyML's `PerformanceCalculator`): each metric
//! on each chunk's labelled rows, its sampling error from the reference, confidence bounds at
//! ±3 sampling errors and thresholds from the reference chunks' values.
//!
//! Labels usually arrive later than predictions and are joined by request id
//! ([`join_by_id`]); rows still without a label are left out of each chunk's value (a chunk with
//! none gets no value). [`realized_by_slice`] repeats the whole computation per slice (a
//! segment column), each slice against its own reference rows.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Display;
use std::hash::Hash;

use serde::{Deserialize, Serialize};

use super::metrics::{BinaryMetric, RegressionMetric};
use super::sampling::{SamplingModel, binary_components, regression_components};
use super::{BinaryColumns, Method, Performance, RegressionColumns, alert, confidence_bounds};
use crate::chunk::{
    ChunkValue, Chunker, Chunks, Period, Series, Threshold, nan_to_none, threshold_values,
};
use crate::error::{MonitorError, Result};

/// The metrics to compute, of one task.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "task", content = "metrics", rename_all = "snake_case")]
pub enum Metrics {
    /// Binary classification.
    Binary(Vec<BinaryMetric>),
    /// Regression.
    Regression(Vec<RegressionMetric>),
}

/// A model's outputs and labels, of one task.
#[derive(Clone, Copy, Debug)]
pub enum Outputs<'a> {
    /// A binary classifier's.
    Binary(BinaryColumns<'a>),
    /// A regressor's.
    Regression(RegressionColumns<'a>),
}

impl Outputs<'_> {
    fn len(&self) -> usize {
        match self {
            Outputs::Binary(c) => c.len(),
            Outputs::Regression(c) => c.len(),
        }
    }

    fn validate(&self) -> Result<()> {
        match self {
            Outputs::Binary(c) => c.validate(),
            Outputs::Regression(c) => c.validate(),
        }
    }

    fn timestamps(&self) -> Option<&[crate::chunk::Timestamp]> {
        match self {
            Outputs::Binary(c) => c.timestamps,
            Outputs::Regression(c) => c.timestamps,
        }
    }
}

/// Settings of [`Realized`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RealizedParams {
    /// What to compute.
    pub metrics: Metrics,
    /// How rows are grouped; default: about ten chunks.
    #[serde(default)]
    pub chunker: Chunker,
    /// Alert thresholds; default: reference mean ± 3 standard deviations.
    #[serde(default)]
    pub threshold: Threshold,
}

/// One metric's fitted state: sampling-error components, range and thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct FittedMetric {
    pub name: String,
    pub display_name: String,
    pub components: SamplingModel,
    pub lower_limit: Option<f64>,
    pub upper_limit: Option<f64>,
    pub lower_threshold: Option<f64>,
    pub upper_threshold: Option<f64>,
}

/// Realized performance fitted on a reference: thresholds and sampling errors.
#[derive(Clone, Debug)]
pub struct Realized {
    params: RealizedParams,
    fitted: Vec<FittedMetric>,
    reference: Performance,
}

/// A binary metric's (labels, score) pairs on `rows`: rows with both present.
pub(crate) fn binary_pairs(
    metric: BinaryMetric,
    y_true: &[f64],
    cols: &BinaryColumns<'_>,
    rows: &[usize],
) -> Result<(Vec<f64>, Vec<f64>)> {
    let score = if metric.needs_y_pred() {
        cols.y_pred.ok_or_else(|| {
            MonitorError::Invalid(format!(
                "metric `{}` needs the predicted classes (y_pred)",
                metric.name()
            ))
        })?
    } else {
        cols.y_pred_proba
    };
    Ok(rows
        .iter()
        .filter(|&&i| !y_true[i].is_nan() && !score[i].is_nan())
        .map(|&i| (y_true[i], score[i]))
        .unzip())
}

/// A regression metric's (target, prediction) pairs on `rows`.
pub(crate) fn regression_pairs(
    y_true: &[f64],
    y_pred: &[f64],
    rows: &[usize],
) -> (Vec<f64>, Vec<f64>) {
    rows.iter()
        .filter(|&&i| !y_true[i].is_nan() && !y_pred[i].is_nan())
        .map(|&i| (y_true[i], y_pred[i]))
        .unzip()
}

impl RealizedParams {
    /// Fits on the reference (labels required): sampling-error components on all its rows,
    /// thresholds from its chunks' values.
    pub fn fit(&self, reference: &Outputs<'_>) -> Result<Realized> {
        self.threshold.validate()?;
        self.chunker.validate()?;
        reference.validate()?;
        let all: Vec<usize> = (0..reference.len()).collect();
        let chunks = self
            .chunker
            .split(reference.len(), reference.timestamps())?;
        let mut fitted = Vec::new();
        match (&self.metrics, reference) {
            (Metrics::Binary(metrics), Outputs::Binary(cols)) => {
                let y_true = need_labels(cols.y_true)?;
                for &m in metrics {
                    let (t, s) = binary_pairs(m, y_true, cols, &all)?;
                    if t.is_empty() {
                        return Err(MonitorError::TooFew(format!(
                            "{}: no reference row has both a label and a prediction",
                            m.name()
                        )));
                    }
                    let values: Vec<f64> = chunks
                        .chunks
                        .iter()
                        .map(|c| {
                            binary_pairs(m, y_true, cols, &chunks.rows(c))
                                .map(|(t, s)| m.realized(&t, &s))
                        })
                        .collect::<Result<_>>()?;
                    fitted.push(fit_metric(
                        m.name(),
                        m.display_name(),
                        binary_components(m, &t, &s),
                        (Some(0.0), Some(1.0)),
                        &self.threshold,
                        &values,
                    ));
                }
            }
            (Metrics::Regression(metrics), Outputs::Regression(cols)) => {
                let y_true = need_labels(cols.y_true)?;
                let (t, p) = regression_pairs(y_true, cols.y_pred, &all);
                if t.is_empty() {
                    return Err(MonitorError::TooFew(
                        "no reference row has both a target and a prediction".into(),
                    ));
                }
                for &m in metrics {
                    check_non_negative(m, &t, &p)?;
                    let values: Vec<f64> = chunks
                        .chunks
                        .iter()
                        .map(|c| {
                            let (t, p) = regression_pairs(y_true, cols.y_pred, &chunks.rows(c));
                            m.realized(&t, &p)
                        })
                        .collect();
                    fitted.push(fit_metric(
                        m.name(),
                        m.display_name(),
                        regression_components(m, &t, &p),
                        (Some(0.0), None),
                        &self.threshold,
                        &values,
                    ));
                }
            }
            _ => return Err(task_mismatch()),
        }
        let mut realized = Realized {
            params: self.clone(),
            fitted,
            reference: Performance {
                method: Method::Realized,
                series: Vec::new(),
            },
        };
        realized.reference = realized.run(reference, &chunks, Period::Reference)?;
        Ok(realized)
    }
}

fn task_mismatch() -> MonitorError {
    MonitorError::Invalid(
        "the metrics and the outputs are of different tasks (classification vs regression)".into(),
    )
}

pub(crate) fn need_labels(y_true: Option<&[f64]>) -> Result<&[f64]> {
    y_true.ok_or_else(|| {
        MonitorError::Schema(
            "the reference has no labels (y_true)\n\nhint: thresholds and sampling errors are \
             fitted on a labelled reference"
                .into(),
        )
    })
}

pub(crate) fn check_non_negative(m: RegressionMetric, t: &[f64], p: &[f64]) -> Result<()> {
    if m.needs_non_negative() && t.iter().chain(p).any(|&v| v < 0.0) {
        return Err(MonitorError::Invalid(format!(
            "{}: targets and predictions must be non-negative for a logarithmic error",
            m.name()
        )));
    }
    Ok(())
}

pub(crate) fn fit_metric(
    name: &str,
    display_name: &str,
    components: impl Into<SamplingModel>,
    (lower_limit, upper_limit): (Option<f64>, Option<f64>),
    threshold: &Threshold,
    reference_values: &[f64],
) -> FittedMetric {
    let (lower_threshold, upper_threshold) =
        threshold_values(threshold, reference_values, lower_limit, upper_limit, false);
    FittedMetric {
        name: name.into(),
        display_name: display_name.into(),
        components: components.into(),
        lower_limit,
        upper_limit,
        lower_threshold,
        upper_threshold,
    }
}

impl FittedMetric {
    /// A chunk's entry from its value, the rows it used and its realized value.
    pub(crate) fn point(
        &self,
        chunk: &crate::chunk::Chunk,
        period: Period,
        value: f64,
        n_used: usize,
        realized: Option<f64>,
    ) -> ChunkValue {
        let se = if n_used == 0 {
            f64::NAN
        } else {
            self.components.sampling_error(n_used)
        };
        let (lo, hi) = confidence_bounds(value, se, self.lower_limit, self.upper_limit);
        ChunkValue {
            chunk: chunk.clone(),
            period,
            value: nan_to_none(value),
            sampling_error: nan_to_none(se),
            realized,
            lower_confidence_bound: nan_to_none(lo),
            upper_confidence_bound: nan_to_none(hi),
            lower_threshold: self.lower_threshold,
            upper_threshold: self.upper_threshold,
            alert: alert(value, self.lower_threshold, self.upper_threshold),
        }
    }
}

impl Realized {
    /// Groups the rows of later analysis tables with `chunker` (the reference's chunks and
    /// thresholds stay as fitted): a caller that cuts its own windows asks for one chunk a call
    /// ([`Chunker::whole`]).
    pub fn set_chunker(&mut self, chunker: Chunker) {
        self.params.chunker = chunker;
    }

    /// The reference's own chunks (period `reference`).
    pub fn reference(&self) -> &Performance {
        &self.reference
    }

    /// The settings it was fitted with.
    pub fn params(&self) -> &RealizedParams {
        &self.params
    }

    /// Each metric on each chunk of `analysis` (rows without labels left out).
    pub fn calculate(&self, analysis: &Outputs<'_>) -> Result<Performance> {
        analysis.validate()?;
        let chunks = self
            .params
            .chunker
            .split(analysis.len(), analysis.timestamps())?;
        self.run(analysis, &chunks, Period::Analysis)
    }

    fn run(&self, data: &Outputs<'_>, chunks: &Chunks, period: Period) -> Result<Performance> {
        let mut series = Vec::new();
        match (&self.params.metrics, data) {
            (Metrics::Binary(metrics), Outputs::Binary(cols)) => {
                let y_true = cols.y_true.ok_or_else(|| {
                    MonitorError::Schema(
                        "no labels (y_true) to compute realized performance".into(),
                    )
                })?;
                for (&m, f) in metrics.iter().zip(&self.fitted) {
                    let mut points = Vec::new();
                    for c in &chunks.chunks {
                        let (t, s) = binary_pairs(m, y_true, cols, &chunks.rows(c))?;
                        let v = m.realized(&t, &s);
                        points.push(f.point(c, period, v, t.len(), None));
                    }
                    series.push(Series {
                        metric: f.name.clone(),
                        display_name: f.display_name.clone(),
                        chunks: points,
                    });
                }
            }
            (Metrics::Regression(metrics), Outputs::Regression(cols)) => {
                let y_true = cols.y_true.ok_or_else(|| {
                    MonitorError::Schema(
                        "no targets (y_true) to compute realized performance".into(),
                    )
                })?;
                for (&m, f) in metrics.iter().zip(&self.fitted) {
                    let mut points = Vec::new();
                    for c in &chunks.chunks {
                        let (t, p) = regression_pairs(y_true, cols.y_pred, &chunks.rows(c));
                        let v = m.realized(&t, &p);
                        points.push(f.point(c, period, v, t.len(), None));
                    }
                    series.push(Series {
                        metric: f.name.clone(),
                        display_name: f.display_name.clone(),
                        chunks: points,
                    });
                }
            }
            _ => return Err(task_mismatch()),
        }
        Ok(Performance {
            method: Method::Realized,
            series,
        })
    }
}

/// Labels joined to predictions by request id: for each prediction id, its label, or NaN when
/// none has arrived yet. A label id seen twice is an error (which label counts would be a
/// guess); labels whose id no prediction has are ignored.
///
/// ```
/// use smelt_monitor::estimate::join_by_id;
///
/// let labels = join_by_id(&["a", "b", "c"], &["c", "a"], &[1.0, 0.0])?;
/// assert_eq!(labels[0], 0.0);
/// assert!(labels[1].is_nan());
/// assert_eq!(labels[2], 1.0);
/// # Ok::<(), smelt_monitor::MonitorError>(())
/// ```
pub fn join_by_id<K: Eq + Hash + Display>(
    prediction_ids: &[K],
    label_ids: &[K],
    labels: &[f64],
) -> Result<Vec<f64>> {
    if label_ids.len() != labels.len() {
        return Err(MonitorError::Invalid(format!(
            "{} label ids for {} labels; give one id per label",
            label_ids.len(),
            labels.len()
        )));
    }
    let mut by_id: HashMap<&K, f64> = HashMap::with_capacity(labels.len());
    for (id, &y) in label_ids.iter().zip(labels) {
        if by_id.insert(id, y).is_some() {
            return Err(MonitorError::Invalid(format!(
                "label id \"{id}\" appears more than once\n\nhint: keep one label per request id"
            )));
        }
    }
    Ok(prediction_ids
        .iter()
        .map(|id| by_id.get(id).copied().unwrap_or(f64::NAN))
        .collect())
}

/// Owned copies of some rows of an [`Outputs`].
struct Subset {
    a: Vec<f64>,
    b: Option<Vec<f64>>,
    c: Option<Vec<f64>>,
    ts: Option<Vec<crate::chunk::Timestamp>>,
    binary: bool,
}

impl Subset {
    fn take(o: &Outputs<'_>, rows: &[usize]) -> Subset {
        let pick = |v: &[f64]| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        let ts = o.timestamps().map(|t| rows.iter().map(|&i| t[i]).collect());
        match o {
            Outputs::Binary(c) => Subset {
                a: pick(c.y_pred_proba),
                b: c.y_pred.map(pick),
                c: c.y_true.map(pick),
                ts,
                binary: true,
            },
            Outputs::Regression(c) => Subset {
                a: pick(c.y_pred),
                b: None,
                c: c.y_true.map(pick),
                ts,
                binary: false,
            },
        }
    }

    fn outputs(&self) -> Outputs<'_> {
        if self.binary {
            Outputs::Binary(BinaryColumns {
                y_pred_proba: &self.a,
                y_pred: self.b.as_deref(),
                y_true: self.c.as_deref(),
                timestamps: self.ts.as_deref(),
            })
        } else {
            Outputs::Regression(RegressionColumns {
                y_pred: &self.a,
                y_true: self.c.as_deref(),
                timestamps: self.ts.as_deref(),
            })
        }
    }
}

/// Realized performance per slice: for each slice value present in `analysis_slices`, the
/// calculation fitted on the reference rows of that slice and run on the analysis rows of it
/// (reference then analysis chunks in each [`Performance`]). A slice without reference rows,
/// or too small to chunk, is an error naming it.
pub fn realized_by_slice(
    params: &RealizedParams,
    reference: &Outputs<'_>,
    reference_slices: &[String],
    analysis: &Outputs<'_>,
    analysis_slices: &[String],
) -> Result<BTreeMap<String, Performance>> {
    if reference_slices.len() != reference.len() || analysis_slices.len() != analysis.len() {
        return Err(MonitorError::Invalid(
            "give one slice value per row of each table".into(),
        ));
    }
    let group = |slices: &[String]| {
        let mut m: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, s) in slices.iter().enumerate() {
            m.entry(s.clone()).or_default().push(i);
        }
        m
    };
    let (ref_groups, ana_groups) = (group(reference_slices), group(analysis_slices));
    let mut out = BTreeMap::new();
    for (slice, rows) in &ana_groups {
        let Some(ref_rows) = ref_groups.get(slice) else {
            return Err(MonitorError::TooFew(format!(
                "slice \"{slice}\" has no reference rows to fit thresholds on"
            )));
        };
        let with_slice = |e: MonitorError| MonitorError::TooFew(format!("slice \"{slice}\": {e}"));
        let r = Subset::take(reference, ref_rows);
        let a = Subset::take(analysis, rows);
        let fitted = params.fit(&r.outputs()).map_err(with_slice)?;
        let perf = fitted.calculate(&a.outputs()).map_err(with_slice)?;
        out.insert(slice.clone(), fitted.reference().concat(&perf));
    }
    Ok(out)
}
