//! One window against the reference: drift per column and of the dataset, missing and unseen
//! shares, realized performance on the labelled rows, the `[[test]]` rules, and what the
//! alerts observe.

use std::collections::BTreeMap;

use super::alert::Observation;
use super::buffer::{Closed, Col};
use super::logs::Slot;
use super::{ColumnReport, WindowReport};
use crate::drift::{self, ColumnDrift, ColumnInput, DriftConfig};
use crate::error::Result;
use crate::estimate::{BinaryMetric, RegressionMetric};
use crate::labels::{Label, Labels};
use crate::quality::{QualityCheck, share};
use crate::report::{DriftRow, Monitoring};
use crate::rules::{self, Rule};
use crate::table::{MISSING, Table, Values};

/// What every window is compared with.
#[derive(Debug)]
pub(crate) struct Context<'a> {
    pub model: &'a str,
    pub reference: &'a Table,
    /// Monitored columns, aligned with a window's columns.
    pub slots: &'a [Slot],
    /// Each slot's column in the reference.
    pub ref_index: &'a [usize],
    /// Categorical slots: which codes the reference holds.
    pub known: &'a [Option<Vec<bool>>],
    /// A classifier's classes, in the model's order.
    pub classes: Option<&'a [String]>,
    /// A binary classifier's CBPE, fitted on its held-out outcomes.
    pub cbpe: Option<&'a crate::estimate::Cbpe>,
    pub drift: &'a DriftConfig,
    pub rules: &'a [Rule],
    pub min_rows: usize,
}

/// Evaluates a window; also returns what the alerts observe in it.
pub(crate) fn evaluate(
    ctx: &Context<'_>,
    version: &str,
    index: u64,
    closed: Closed,
    labels: Option<&mut Labels>,
) -> Result<(WindowReport, Vec<Observation>)> {
    let b = closed.buffer;
    let mut report = WindowReport {
        model: ctx.model.to_string(),
        version: version.to_string(),
        index,
        window: closed.label,
        start_us: closed.span.map(|s| s.0),
        end_us: closed.span.map(|s| s.1),
        first_us: b.first_us,
        last_us: b.last_us,
        rows: b.rows,
        kept_rows: b.kept(),
        partial: closed.partial,
        skipped: None,
        drift_share: 0.0,
        n_drifted: 0,
        n_tested: 0,
        dataset_drifted: false,
        columns: Vec::new(),
        prediction: None,
        score: None,
        realized: BTreeMap::new(),
        estimated: BTreeMap::new(),
        labelled_rows: 0,
        rules: Vec::new(),
        alerts: Vec::new(),
        active_alerts: Vec::new(),
    };
    if b.rows < ctx.min_rows {
        report.skipped = Some(format!(
            "{} rows, fewer than the {} a window needs (--min-rows)",
            b.rows, ctx.min_rows
        ));
        return Ok((report, Vec::new()));
    }
    let mut inputs = Vec::with_capacity(ctx.slots.len());
    for ((slot, &ri), col) in ctx.slots.iter().zip(ctx.ref_index).zip(&b.cols) {
        let rc = &ctx.reference.columns[ri];
        let input = match (&rc.values, col, &slot.dict) {
            (Values::Numeric(r), Col::Num(c), _) => ColumnInput::numerical(&slot.name, r, c),
            (Values::Categorical { codes, .. }, Col::Cat(c), Some(dict)) => {
                ColumnInput::categorical(&slot.name, codes, c, &dict.labels)
            }
            // Slots are built from the reference's columns: kinds agree.
            _ => continue,
        };
        inputs.push(input.with_role(rc.role.into()));
    }
    let drifts = drift::drift_columns(&inputs, ctx.drift)?;
    for ((d, col), known) in drifts.into_iter().zip(&b.cols).zip(ctx.known) {
        let unseen = match (col, known) {
            (Col::Cat(codes), Some(known)) => {
                let present: Vec<u32> = codes.iter().copied().filter(|&c| c != MISSING).collect();
                let new = present
                    .iter()
                    .filter(|&&c| !known.get(c as usize).copied().unwrap_or(false))
                    .count();
                Some(share(new, present.len()))
            }
            _ => None,
        };
        let c = ColumnReport {
            missing_share: d.missing.current,
            unseen_share: unseen,
            drift: d,
        };
        match c.drift.role {
            drift::Role::Prediction if c.drift.column == "prediction" => {
                report.prediction = Some(c)
            }
            drift::Role::Prediction => report.score = Some(c),
            _ => report.columns.push(c),
        }
    }
    let feats: Vec<ColumnDrift> = report.columns.iter().map(|c| c.drift.clone()).collect();
    let ds = drift::dataset_drift(&feats, ctx.drift.share);
    report.drift_share = ds.share;
    report.n_drifted = ds.n_drifted;
    report.n_tested = ds.n_columns;
    report.dataset_drifted = ds.drifted;
    if let (Some(labels), Some(keys)) = (labels, &b.keys) {
        let found: Vec<Option<Label>> = keys.iter().map(|k| labels.take(k).cloned()).collect();
        report.labelled_rows = found.iter().filter(|l| l.is_some()).count();
        if report.labelled_rows > 0 {
            report.realized = realized(ctx, &b.cols, &found);
        }
    }
    let mut obs = observations(&report, ctx.drift.share);
    if let Some(cbpe) = ctx.cbpe {
        for (metric, value, alert, threshold) in estimated(ctx, cbpe, &b.cols) {
            obs.push(Observation {
                alert: format!("estimated_{metric}"),
                bad: alert,
                value,
                threshold,
            });
            report.estimated.insert(metric, value);
        }
    }
    if !ctx.rules.is_empty() {
        report.rules = rules::evaluate(ctx.rules, &monitoring(ctx, &report), &measures(&report));
        for o in &report.rules {
            let Some(value) = o.value else { continue };
            let r = &o.rule;
            let threshold = [r.lt, r.lte, r.gt, r.gte, r.eq]
                .into_iter()
                .flatten()
                .next()
                .unwrap_or(f64::NAN);
            obs.push(Observation {
                alert: format!("rule:{}", r.describe()),
                bad: !o.passed,
                value,
                threshold,
            });
        }
    }
    Ok((report, obs))
}

/// The gauges with a threshold: dataset drift, each feature's drift, prediction drift.
fn observations(r: &WindowReport, share_threshold: f64) -> Vec<Observation> {
    let mut out = Vec::new();
    if r.n_tested > 0 {
        out.push(Observation {
            alert: "dataset_drift".into(),
            bad: r.dataset_drifted,
            value: r.drift_share,
            threshold: share_threshold,
        });
    }
    let tested = |c: &ColumnReport| c.drift.cannot_test.is_none();
    for c in r.columns.iter().filter(|c| tested(c)) {
        out.push(Observation {
            alert: format!("feature_drift:{}", c.drift.column),
            bad: c.drift.drifted,
            value: c.drift.drift_score().unwrap_or(f64::NAN),
            threshold: c.drift.threshold,
        });
    }
    if let Some(p) = r.prediction.as_ref().filter(|c| tested(c)) {
        out.push(Observation {
            alert: "prediction_drift".into(),
            bad: p.drift.drifted,
            value: p.drift.drift_score().unwrap_or(f64::NAN),
            threshold: p.drift.threshold,
        });
    }
    out
}

/// A binary classifier's performance estimated on the window without labels (CBPE on the
/// logged predictions and scores): each metric's value, whether it left its thresholds, and the
/// threshold it left by (or the lower one).
fn estimated(
    ctx: &Context<'_>,
    cbpe: &crate::estimate::Cbpe,
    cols: &[Col],
) -> Vec<(String, f64, bool, f64)> {
    let col_of =
        |want: &dyn Fn(&Slot) -> bool| ctx.slots.iter().position(want).and_then(|j| cols.get(j));
    let (Some(Col::Cat(codes)), Some(Col::Num(score))) = (
        col_of(&|s: &Slot| s.name == "prediction"),
        col_of(&|s: &Slot| s.dict.is_none() && s.name.starts_with("proba_")),
    ) else {
        return Vec::new();
    };
    let y_pred: Vec<f64> = codes
        .iter()
        .map(|&c| if c < 2 { f64::from(c) } else { f64::NAN })
        .collect();
    let cols = crate::estimate::BinaryColumns {
        y_pred_proba: score,
        y_pred: Some(&y_pred),
        y_true: None,
        timestamps: None,
    };
    let Ok(perf) = cbpe.estimate(&cols) else {
        return Vec::new();
    };
    perf.series
        .iter()
        .filter_map(|s| {
            let c = s.chunks.first()?;
            let v = c.value?;
            let threshold = match (c.lower_threshold, c.upper_threshold) {
                (Some(lo), _) if v < lo => lo,
                (_, Some(hi)) if v > hi => hi,
                (lo, _) => lo.unwrap_or(f64::NAN),
            };
            Some((s.metric.clone(), v, c.alert, threshold))
        })
        .collect()
}

/// Numbers the `[[test]]` rules may name besides the built-in ones.
pub(crate) fn measures(r: &WindowReport) -> BTreeMap<String, f64> {
    let mut m: BTreeMap<String, f64> = r
        .realized
        .iter()
        .map(|(k, v)| (format!("realized_{k}"), *v))
        .chain(
            r.estimated
                .iter()
                .map(|(k, v)| (format!("estimated_{k}"), *v)),
        )
        .collect();
    m.insert("labelled_rows".into(), r.labelled_rows as f64);
    if let Some(p) = &r.prediction {
        if let Some(s) = p.drift.score {
            m.insert("prediction_drift_score".into(), s);
        }
        m.insert(
            "prediction_drifted".into(),
            f64::from(u8::from(p.drift.drifted)),
        );
    }
    m
}

/// The window as a monitoring run's findings, for the rules.
fn monitoring(ctx: &Context<'_>, r: &WindowReport) -> Monitoring {
    let all = r.columns.iter().chain(&r.prediction).chain(&r.score);
    let mut drift = Vec::new();
    let mut quality = Vec::new();
    for c in all {
        let d = &c.drift;
        drift.push(DriftRow::of(d));
        quality.push(QualityCheck {
            check: "missing_values",
            column: Some(d.column.clone()),
            reference: Some(d.missing.reference),
            current: Some(c.missing_share),
            failed: false,
            message: String::new(),
        });
        if let Some(u) = c.unseen_share {
            quality.push(QualityCheck {
                check: "new_categories",
                column: Some(d.column.clone()),
                reference: None,
                current: Some(u),
                failed: false,
                message: String::new(),
            });
        }
    }
    Monitoring {
        reference: ("reference".into(), ctx.reference.n_rows),
        current: (r.window.clone(), r.rows),
        drift,
        share_threshold: ctx.drift.share,
        quality,
        ..Monitoring::default()
    }
}

/// Realized metrics on the rows with a label: binary classifiers every binary metric (ROC AUC
/// from the logged score), multiclass classifiers accuracy, regressors every regression metric;
/// undefined values (one class only) left out.
fn realized(ctx: &Context<'_>, cols: &[Col], labels: &[Option<Label>]) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let col_of =
        |want: &dyn Fn(&Slot) -> bool| ctx.slots.iter().position(want).and_then(|j| cols.get(j));
    let Some(pred) = col_of(&|s: &Slot| s.name == "prediction") else {
        return out;
    };
    match (pred, ctx.classes) {
        (Col::Cat(codes), Some(classes)) => {
            let class_of = |l: &Label| -> f64 {
                let by_text = l
                    .text
                    .as_deref()
                    .and_then(|t| classes.iter().position(|c| c == t));
                let by_num = || {
                    (l.num.is_finite() && l.num.fract() == 0.0)
                        .then(|| {
                            let t = format!("{}", l.num as i64);
                            classes.iter().position(|c| *c == t)
                        })
                        .flatten()
                };
                by_text.or_else(by_num).map_or(f64::NAN, |k| k as f64)
            };
            let y_true: Vec<f64> = labels
                .iter()
                .map(|l| l.as_ref().map_or(f64::NAN, class_of))
                .collect();
            let y_pred: Vec<f64> = codes
                .iter()
                .map(|&c| {
                    if (c as usize) < classes.len() {
                        f64::from(c)
                    } else {
                        f64::NAN
                    }
                })
                .collect();
            if classes.len() == 2 {
                let score = col_of(&|s: &Slot| s.dict.is_none() && s.name.starts_with("proba_"));
                for m in BinaryMetric::ALL {
                    let s: &[f64] = match (m.needs_y_pred(), score) {
                        (true, _) => &y_pred,
                        (false, Some(Col::Num(s))) => s,
                        _ => continue,
                    };
                    let (t, p): (Vec<f64>, Vec<f64>) = y_true
                        .iter()
                        .zip(s)
                        .filter(|(t, p)| !t.is_nan() && !p.is_nan())
                        .map(|(t, p)| (*t, *p))
                        .unzip();
                    let v = m.realized(&t, &p);
                    if v.is_finite() {
                        out.insert(m.name().to_string(), v);
                    }
                }
            } else {
                let pairs: Vec<(f64, f64)> = y_true
                    .iter()
                    .zip(&y_pred)
                    .filter(|(t, p)| !t.is_nan() && !p.is_nan())
                    .map(|(t, p)| (*t, *p))
                    .collect();
                if !pairs.is_empty() {
                    let right = pairs.iter().filter(|(t, p)| t == p).count();
                    out.insert("accuracy".into(), share(right, pairs.len()));
                }
            }
        }
        (Col::Num(values), None) => {
            let (t, p): (Vec<f64>, Vec<f64>) = labels
                .iter()
                .zip(values)
                .filter_map(|(l, &p)| {
                    let t = l.as_ref()?.num;
                    (!t.is_nan() && !p.is_nan()).then_some((t, p))
                })
                .unzip();
            for m in RegressionMetric::ALL {
                let v = m.realized(&t, &p);
                if v.is_finite() {
                    out.insert(m.name().to_string(), v);
                }
            }
        }
        _ => {}
    }
    out
}
