//! Model performance and multivariate drift in a monitoring run: realized performance where the
//! current data has labels, estimated performance where it has none (CBPE for classifiers, DLE
//! for regressors), and the data-reconstruction error and domain classifier over all features —
//! each on the whole current table and on each of its windows, against thresholds fitted on the
//! reference.
//!
//! The model's outputs come from a model scoring both tables (`--model`), or from columns the
//! tables already hold: the prediction (`--prediction`) and, for a binary classifier, the
//! probability of the positive class (`--score`; the positive class is the target's second
//! label). Estimation needs the reference's labels (`--target`); realized performance needs them
//! in the current data too.
//!
//! Thresholds come from the reference cut into about ten chunks (NannyML's default chunker);
//! each window is then one chunk of the current data, so its value, its ±3 sampling-error
//! interval and its alert mean what NannyML's do for a chunk of that size. The reference value
//! shown beside them is the same calculation on the whole reference.

use serde::{Deserialize, Serialize};
use smelt_core::Dataset;

use crate::chunk::{ChunkValue, Chunker, Series};
use crate::error::Result;
use crate::estimate::{
    BinaryColumns, BinaryMetric, CbpeParams, DleParams, Metrics, MulticlassColumns, Outputs,
    RealizedParams, RegressionColumns, RegressionMetric,
};
use crate::multivariate::{DataReconstruction, DomainClassifierParams};
pub use crate::outcomes::Outcomes;
use crate::window::Slice;

/// `[performance]`: what is computed about the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PerformanceOptions {
    /// Estimate performance without labels (CBPE, DLE); default true.
    pub estimate: bool,
    /// Realized performance where the current data has labels; default true.
    pub realized: bool,
    /// Reference rows the fitted estimators (DLE's loss models) learn from, a random sample
    /// when the reference is larger; default 100,000.
    pub max_reference_rows: usize,
}

impl Default for PerformanceOptions {
    fn default() -> Self {
        PerformanceOptions {
            estimate: true,
            realized: true,
            max_reference_rows: 100_000,
        }
    }
}

/// `[multivariate]`: drift of all features together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MultivariateOptions {
    /// The PCA data-reconstruction error (NannyML's); default true.
    pub reconstruction: bool,
    /// A domain classifier (a GBDT telling reference from current rows, its cross-validated
    /// AUROC the score); default false: it trains five models per window.
    pub domain_classifier: bool,
    /// Reference rows the calculators fit on, evenly spaced when the reference is larger;
    /// default 100,000 (the domain classifier uses at most 10,000 a side).
    pub max_reference_rows: usize,
}

impl Default for MultivariateOptions {
    fn default() -> Self {
        MultivariateOptions {
            reconstruction: true,
            domain_classifier: false,
            max_reference_rows: 100_000,
        }
    }
}

/// Rows a side the domain classifier trains on.
const DOMAIN_ROWS: usize = 10_000;

/// One value of a tracked metric: on the whole current table or on one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Point {
    /// `all rows`, or the window's key.
    pub key: String,
    /// Rows in it.
    pub rows: usize,
    /// The value (estimated, realized or the drift score); `None` where it cannot be computed.
    pub value: Option<f64>,
    /// The realized value beside an estimate, where labels exist.
    pub realized: Option<f64>,
    /// Lower end of the ±3 sampling-error interval.
    pub lower: Option<f64>,
    /// Upper end.
    pub upper: Option<f64>,
    /// Whether the value left the thresholds.
    pub alert: bool,
}

/// A metric followed over the current data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Tracked {
    /// `realized`, `cbpe`, `dle`, `reconstruction` or `domain_classifier`.
    pub method: String,
    /// Machine name (`roc_auc`, `mae`, `reconstruction_error`).
    pub metric: String,
    /// Name to show.
    pub display_name: String,
    /// The same calculation on the whole reference (for estimates: the realized value there).
    pub reference: Option<f64>,
    /// Alert below this.
    pub lower_threshold: Option<f64>,
    /// Alert above this.
    pub upper_threshold: Option<f64>,
    /// On the whole current table.
    pub current: Point,
    /// On each window, in order (empty without windows).
    pub windows: Vec<Point>,
}

impl Tracked {
    /// The name rules and gauges use: `estimated_roc_auc`, `realized_mae`,
    /// `reconstruction_error`, `domain_classifier_auroc`.
    pub fn measure_name(&self) -> String {
        match self.method.as_str() {
            "realized" => format!("realized_{}", self.metric),
            "cbpe" | "dle" => format!("estimated_{}", self.metric),
            _ => self.metric.clone(),
        }
    }

    /// Whether it is about the model's performance (not multivariate drift).
    pub fn is_performance(&self) -> bool {
        matches!(self.method.as_str(), "realized" | "cbpe" | "dle")
    }
}

/// Every name [`Tracked::measure_name`] can give (for checking rules before a run).
pub fn measure_names() -> Vec<String> {
    let mut names = Vec::new();
    for m in BinaryMetric::ALL {
        names.push(format!("estimated_{}", m.name()));
        names.push(format!("realized_{}", m.name()));
    }
    for m in RegressionMetric::ALL {
        names.push(format!("estimated_{}", m.name()));
        names.push(format!("realized_{}", m.name()));
    }
    names.push("reconstruction_error".into());
    names.push("domain_classifier_auroc".into());
    names
}

/// Everything the calculations read.
#[derive(Clone, Copy, Debug)]
pub struct Inputs<'a> {
    /// The model's outputs on the reference.
    pub reference: &'a Outcomes,
    /// … on the current data.
    pub current: &'a Outcomes,
    /// Features of a sample of the reference's rows (DLE and the domain classifier learn from
    /// it), when read.
    pub reference_sample: Option<&'a Dataset<f64>>,
    /// The reference rows the sample holds (rows of `reference`).
    pub reference_rows: &'a [usize],
    /// The current data's features, when kept (DLE and the domain classifier need them).
    pub current_features: Option<&'a Dataset<f64>>,
    /// Rows of the current data.
    pub current_rows: usize,
    /// Windows of the current data (rows), possibly none.
    pub windows: &'a [Slice],
}

/// What was computed, and what was not and why.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Computed {
    /// Performance (realized, estimated) metrics.
    pub performance: Vec<Tracked>,
    /// Multivariate drift scores.
    pub multivariate: Vec<Tracked>,
    /// Calculations left out, each with the reason (shown in the report).
    pub notes: Vec<String>,
}

/// Rows `0..n`, or at most `max` of them spread evenly (a deterministic sample that keeps time
/// order).
fn sample_rows(n: usize, max: usize) -> Option<Vec<usize>> {
    (n > max && max > 0).then(|| (0..max).map(|k| k * n / max).collect())
}

/// Which table a calculation runs on.
#[derive(Clone, Copy)]
enum Side {
    Reference,
    Current,
}

impl Side {
    /// The reference's or the current table's outcomes.
    fn pick<'a>(self, reference: &'a Outcomes, current: &'a Outcomes) -> &'a Outcomes {
        match self {
            Side::Reference => reference,
            Side::Current => current,
        }
    }
}

type Calc<'a> = dyn Fn(Side, Option<&[usize]>) -> Result<Vec<Series>> + Sync + 'a;

fn point(key: String, rows: usize, c: Option<&ChunkValue>) -> Point {
    Point {
        key,
        rows,
        value: c.and_then(|c| c.value),
        realized: c.and_then(|c| c.realized),
        lower: c.and_then(|c| c.lower_confidence_bound),
        upper: c.and_then(|c| c.upper_confidence_bound),
        alert: c.is_some_and(|c| c.alert),
    }
}

/// Runs `calc` on the reference, the whole current table and each window, and lines the
/// series up by metric.
fn track(
    method: &str,
    calc: &Calc<'_>,
    inputs: &Inputs<'_>,
    reference: bool,
) -> Result<Vec<Tracked>> {
    let whole = calc(Side::Current, None)?;
    let reference = if reference {
        Some(calc(Side::Reference, None)?)
    } else {
        None
    };
    use rayon::prelude::*;
    let windows: Vec<Option<Vec<Series>>> = inputs
        .windows
        .par_iter()
        .map(|w| calc(Side::Current, Some(&w.rows)).ok())
        .collect();
    Ok(whole
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let first = s.chunks.first();
            let reference = reference
                .as_ref()
                .and_then(|r| r.get(k))
                .and_then(|r| r.chunks.first())
                .and_then(|c| c.realized.or(c.value));
            Tracked {
                method: method.to_string(),
                metric: s.metric.clone(),
                display_name: s.display_name.clone(),
                reference,
                lower_threshold: first.and_then(|c| c.lower_threshold),
                upper_threshold: first.and_then(|c| c.upper_threshold),
                current: point("all rows".into(), inputs.current_rows, first),
                windows: inputs
                    .windows
                    .iter()
                    .zip(&windows)
                    .map(|(w, series)| {
                        let c = series
                            .as_ref()
                            .and_then(|s| s.get(k))
                            .and_then(|s| s.chunks.first());
                        point(w.key.clone(), w.rows.len(), c)
                    })
                    .collect(),
            }
        })
        .collect())
}

fn rows_of<'a>(o: &'a Outcomes, rows: Option<&[usize]>) -> std::borrow::Cow<'a, Outcomes> {
    match rows {
        Some(r) => std::borrow::Cow::Owned(o.subset(r)),
        None => std::borrow::Cow::Borrowed(o),
    }
}

fn features_of<'a>(
    d: &'a Dataset<f64>,
    rows: Option<&[usize]>,
) -> Result<std::borrow::Cow<'a, Dataset<f64>>> {
    Ok(match rows {
        Some(r) => std::borrow::Cow::Owned(d.select_rows(r)?),
        None => std::borrow::Cow::Borrowed(d),
    })
}

fn binary_metrics(o: &Outcomes) -> Vec<BinaryMetric> {
    BinaryMetric::ALL
        .into_iter()
        .filter(|m| {
            if m.needs_y_pred() {
                o.y_pred.is_some()
            } else {
                o.proba.len() == 2
            }
        })
        .collect()
}

fn binary_cols(o: &Outcomes) -> BinaryColumns<'_> {
    BinaryColumns {
        y_pred_proba: o.proba.get(1).map_or(&[], Vec::as_slice),
        y_pred: o.y_pred.as_deref(),
        y_true: o.y_true.as_deref(),
        timestamps: None,
    }
}

fn multiclass_cols(o: &Outcomes) -> (Vec<&[f64]>, Vec<f64>) {
    (
        o.proba.iter().map(Vec::as_slice).collect(),
        o.y_pred.clone().unwrap_or_default(),
    )
}

/// CBPE fitted on a binary classifier's labelled outcomes (every metric the outcomes allow),
/// estimating one chunk per call.
pub(crate) fn fit_cbpe(o: &Outcomes) -> Result<crate::estimate::Cbpe> {
    let mut fitted = CbpeParams {
        metrics: binary_metrics(o),
        ..CbpeParams::default()
    }
    .fit(&binary_cols(o))?;
    fitted.set_chunker(Chunker::whole());
    Ok(fitted)
}

const REGRESSION: [RegressionMetric; 2] = [RegressionMetric::Mae, RegressionMetric::Rmse];

/// Realized performance on the labelled current rows.
fn realized(inputs: &Inputs<'_>) -> Result<Vec<Tracked>> {
    let (r, c) = (inputs.reference, inputs.current);
    match r.n_classes() {
        Some(2) => {
            let metrics = binary_metrics(r);
            if r.proba.len() != 2 && metrics.is_empty() {
                return Ok(Vec::new());
            }
            // ROC AUC reads the probabilities; without them the others still work.
            let cols = |o: &Outcomes| -> Vec<f64> {
                o.proba
                    .get(1)
                    .cloned()
                    .unwrap_or_else(|| vec![0.5; o.y_pred.as_ref().map_or(0, Vec::len)])
            };
            let (rp, cp) = (cols(r), cols(c));
            let mut fitted = RealizedParams {
                metrics: Metrics::Binary(metrics),
                chunker: Chunker::Default,
                threshold: Default::default(),
            }
            .fit(&Outputs::Binary(BinaryColumns {
                y_pred_proba: &rp,
                ..binary_cols(r)
            }))?;
            fitted.set_chunker(Chunker::whole());
            let calc = move |side: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
                let (o, p) = match side {
                    Side::Reference => (r, &rp),
                    Side::Current => (c, &cp),
                };
                let o = rows_of(o, rows);
                let p: Vec<f64> = match rows {
                    Some(rows) => rows.iter().map(|&i| p[i]).collect(),
                    None => p.clone(),
                };
                Ok(fitted
                    .calculate(&Outputs::Binary(BinaryColumns {
                        y_pred_proba: &p,
                        ..binary_cols(&o)
                    }))?
                    .series)
            };
            track("realized", &calc, inputs, true)
        }
        Some(_) => Ok(Vec::new()), // multiclass: realized values come with the CBPE estimate
        None => {
            let (Some(rp), Some(_)) = (&r.y_pred, &c.y_pred) else {
                return Ok(Vec::new());
            };
            let mut fitted = RealizedParams {
                metrics: Metrics::Regression(REGRESSION.to_vec()),
                chunker: Chunker::Default,
                threshold: Default::default(),
            }
            .fit(&Outputs::Regression(RegressionColumns {
                y_pred: rp,
                y_true: r.y_true.as_deref(),
                timestamps: None,
            }))?;
            fitted.set_chunker(Chunker::whole());
            let calc = move |side: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
                let o = rows_of(side.pick(r, c), rows);
                let y_pred = o.y_pred.as_deref().unwrap_or(&[]);
                Ok(fitted
                    .calculate(&Outputs::Regression(RegressionColumns {
                        y_pred,
                        y_true: o.y_true.as_deref(),
                        timestamps: None,
                    }))?
                    .series)
            };
            track("realized", &calc, inputs, true)
        }
    }
}

/// Estimated performance: CBPE (classifiers with probabilities), DLE (regressors).
fn estimated(inputs: &Inputs<'_>, opts: &PerformanceOptions) -> Result<Vec<Tracked>> {
    let (r, c) = (inputs.reference, inputs.current);
    match r.n_classes() {
        Some(2) if r.proba.len() == 2 => {
            let mut fitted = CbpeParams {
                metrics: binary_metrics(r),
                ..CbpeParams::default()
            }
            .fit(&binary_cols(r))?;
            fitted.set_chunker(Chunker::whole());
            let calc = move |side: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
                let o = rows_of(side.pick(r, c), rows);
                Ok(fitted.estimate(&binary_cols(&o))?.series)
            };
            track("cbpe", &calc, inputs, true)
        }
        Some(k) if k > 2 && r.proba.len() == k && r.y_pred.is_some() => {
            let (rp, ry) = multiclass_cols(r);
            let mut fitted = CbpeParams::default().fit_multiclass(&MulticlassColumns {
                y_pred_proba: &rp,
                y_pred: &ry,
                y_true: r.y_true.as_deref(),
                timestamps: None,
            })?;
            fitted.set_chunker(Chunker::whole());
            let calc = move |side: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
                let o = rows_of(side.pick(r, c), rows);
                let (p, y) = multiclass_cols(&o);
                Ok(fitted
                    .estimate(&MulticlassColumns {
                        y_pred_proba: &p,
                        y_pred: &y,
                        y_true: o.y_true.as_deref(),
                        timestamps: None,
                    })?
                    .series)
            };
            track("cbpe", &calc, inputs, true)
        }
        None => {
            let Some(rp) = &r.y_pred else {
                return Ok(Vec::new());
            };
            // DLE learns from (a sample of) the reference.
            let (Some(rf), Some(cf)) = (inputs.reference_sample, inputs.current_features) else {
                return Ok(Vec::new());
            };
            let _ = (rp, opts);
            let ro = r.subset(inputs.reference_rows);
            let mut fitted = DleParams {
                metrics: REGRESSION.to_vec(),
                ..DleParams::default()
            }
            .fit(
                rf,
                &RegressionColumns {
                    y_pred: ro.y_pred.as_deref().unwrap_or(&[]),
                    y_true: ro.y_true.as_deref(),
                    timestamps: None,
                },
            )?;
            fitted.set_chunker(Chunker::whole());
            let calc = move |side: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
                let (o, f) = match side {
                    Side::Reference => (&ro, rf),
                    Side::Current => (c, cf),
                };
                let o = rows_of(o, rows);
                let f = features_of(f, rows)?;
                Ok(fitted
                    .estimate(
                        &f,
                        &RegressionColumns {
                            y_pred: o.y_pred.as_deref().unwrap_or(&[]),
                            y_true: o.y_true.as_deref(),
                            timestamps: None,
                        },
                    )?
                    .series)
            };
            track("dle", &calc, inputs, true)
        }
        _ => Ok(Vec::new()),
    }
}

/// The domain classifier (the reconstruction error is computed as the current data streams
/// by, [`reconstruction`]).
fn multivariate(inputs: &Inputs<'_>, opts: &MultivariateOptions) -> (Vec<Tracked>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    if !opts.domain_classifier {
        return (out, notes);
    }
    let (Some(sample), Some(current)) = (inputs.reference_sample, inputs.current_features) else {
        return (out, notes);
    };
    let result = (|| -> Result<Vec<Tracked>> {
        let reference = match sample_rows(sample.n_rows(), DOMAIN_ROWS) {
            Some(rows) => std::borrow::Cow::Owned(sample.select_rows(&rows)?),
            None => std::borrow::Cow::Borrowed(sample),
        };
        let mut fitted = DomainClassifierParams::default().fit(&reference, None)?;
        fitted.set_chunker(Chunker::whole());
        let calc = |_: Side, rows: Option<&[usize]>| -> Result<Vec<Series>> {
            let rows: Vec<usize> = match rows {
                Some(r) => match sample_rows(r.len(), DOMAIN_ROWS) {
                    Some(k) => k.iter().map(|&i| r[i]).collect(),
                    None => r.to_vec(),
                },
                None => sample_rows(current.n_rows(), DOMAIN_ROWS)
                    .unwrap_or_else(|| (0..current.n_rows()).collect()),
            };
            Ok(vec![fitted.calculate(&current.select_rows(&rows)?, None)?])
        };
        track("domain_classifier", &calc, inputs, false)
    })();
    match result {
        Ok(t) => out.extend(t),
        Err(e) => notes.push(format!("Domain-classifier drift not computed: {e}")),
    }
    (out, notes)
}

/// The PCA reconstruction error as a tracked score: the reference sample's rows and each current
/// row's errors (computed batch by batch as the data streamed by), summarised on all rows and per
/// window against the thresholds `fitted` took from the reference.
pub fn reconstruction(
    fitted: &DataReconstruction,
    reference_errors: &[f64],
    current_errors: &[f64],
    windows: &[Slice],
) -> Tracked {
    let all: Vec<usize> = (0..current_errors.len()).collect();
    let whole = fitted.summarize(current_errors, &all);
    let reference = fitted.summarize(
        reference_errors,
        &(0..reference_errors.len()).collect::<Vec<_>>(),
    );
    Tracked {
        method: "reconstruction".into(),
        metric: fitted.reference().metric.clone(),
        display_name: fitted.reference().display_name.clone(),
        reference: reference.value,
        lower_threshold: whole.lower_threshold,
        upper_threshold: whole.upper_threshold,
        current: point("all rows".into(), current_errors.len(), Some(&whole)),
        windows: windows
            .iter()
            .map(|w| {
                let c = (!w.rows.is_empty()).then(|| fitted.summarize(current_errors, &w.rows));
                point(w.key.clone(), w.rows.len(), c.as_ref())
            })
            .collect(),
    }
}

/// Performance (realized and estimated) and multivariate drift, as far as the inputs allow;
/// a calculation that cannot run is left out with a note saying why.
pub fn compute(
    inputs: &Inputs<'_>,
    performance: &PerformanceOptions,
    multivariate_opts: &MultivariateOptions,
) -> Computed {
    let mut out = Computed::default();
    let (r, c) = (inputs.reference, inputs.current);
    let has_model = r.y_pred.is_some() || !r.proba.is_empty();
    if has_model && !r.has_labels() {
        out.notes.push(
            "Performance not computed: the reference has no labels (pass --target with a labelled reference)."
                .into(),
        );
    } else if has_model {
        if performance.realized && c.has_labels() {
            match realized(inputs) {
                Ok(t) => out.performance.extend(t),
                Err(e) => out
                    .notes
                    .push(format!("Realized performance not computed: {e}")),
            }
        }
        if performance.estimate {
            match estimated(inputs, performance) {
                Ok(t) if t.is_empty() => out.notes.push(
                    "Performance not estimated: CBPE needs the classifier's probabilities of every class (--model, or --score for a binary classifier)."
                        .into(),
                ),
                Ok(t) => out.performance.extend(t),
                Err(e) => out.notes.push(format!("Performance not estimated: {e}")),
            }
        }
    }
    let (m, notes) = multivariate(inputs, multivariate_opts);
    out.multivariate = m;
    out.notes.extend(notes);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_keep_order_and_size() {
        assert_eq!(sample_rows(10, 20), None);
        assert_eq!(sample_rows(10, 5), Some(vec![0, 2, 4, 6, 8]));
        let names = measure_names();
        assert!(names.contains(&"estimated_roc_auc".to_string()));
        assert!(names.contains(&"realized_mae".to_string()));
    }
}
