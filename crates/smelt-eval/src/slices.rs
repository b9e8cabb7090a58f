//! Slices and error analysis: metrics broken down by the values (or quantile bins) of chosen
//! columns — features or not (ids, time, group) — each with a bootstrap confidence interval,
//! flagged when a slice is worse than the whole beyond its interval; and the most confident
//! errors.

use rayon::prelude::*;
use serde::Serialize;
use smelt_core::rng::Rng;
use smelt_core::{Prediction, Proba, Target};

use crate::error::{EvalError, Result, check_lengths};
use crate::metrics::registry::Scorer;

/// The values of a column to slice by.
#[derive(Clone, Debug)]
pub enum SliceValues {
    /// Categories (`None`: missing).
    Categorical(Vec<Option<String>>),
    /// Numbers, sliced into quantile bins (NaN: missing).
    Numeric(Vec<f64>),
}

/// A column to slice by.
#[derive(Clone, Debug)]
pub struct SliceColumn {
    /// Its name.
    pub name: String,
    /// One value per row.
    pub values: SliceValues,
}

/// How slices are computed.
#[derive(Clone, Debug)]
pub struct SliceOptions {
    /// Quantile bins for numeric columns (with at most this many distinct values, each value
    /// is its own slice).
    pub bins: usize,
    /// Bootstrap resamples for the intervals.
    pub bootstrap: usize,
    /// Confidence level of the intervals.
    pub confidence: f64,
    /// Slices with fewer rows are reported without metrics.
    pub min_rows: usize,
    /// Seed of the resampling.
    pub seed: u64,
    /// At most this many categories per column (the largest; the rest pooled as `(other)`).
    pub max_categories: usize,
}

impl Default for SliceOptions {
    fn default() -> Self {
        SliceOptions {
            bins: 4,
            bootstrap: 200,
            confidence: 0.95,
            min_rows: 10,
            seed: 0,
            max_categories: 20,
        }
    }
}

/// One metric on one slice.
#[derive(Clone, Debug, Serialize)]
pub struct SliceMetric {
    /// The metric.
    pub metric: String,
    /// Its value on the slice (`None`: undefined there, e.g. ROC-AUC on one class).
    pub value: Option<f64>,
    /// Lower end of the bootstrap interval.
    pub low: Option<f64>,
    /// Upper end of the bootstrap interval.
    pub high: Option<f64>,
    /// Worse than the whole table beyond the slice's interval.
    pub worse: bool,
}

/// One slice of one column.
#[derive(Clone, Debug, Serialize)]
pub struct Slice {
    /// The column.
    pub column: String,
    /// The value or bin (`[38, 47)`, `Female`, `(missing)`).
    pub value: String,
    /// Rows in the slice.
    pub rows: usize,
    /// Metrics (empty below `min_rows`).
    pub metrics: Vec<SliceMetric>,
}

/// The slice report.
#[derive(Clone, Debug, Serialize)]
pub struct SliceReport {
    /// Each metric on the whole table.
    pub overall: Vec<(String, f64)>,
    /// Every slice, column by column.
    pub slices: Vec<Slice>,
    /// Notes (columns skipped, slices too small).
    pub notes: Vec<String>,
}

impl SliceReport {
    /// Slices flagged worse than the whole on `metric`, worst first.
    pub fn worst(&self, metric: &str, greater_is_better: bool) -> Vec<&Slice> {
        let mut out: Vec<(&Slice, f64)> = self
            .slices
            .iter()
            .filter_map(|s| {
                let m = s.metrics.iter().find(|m| m.metric == metric && m.worse)?;
                Some((s, m.value?))
            })
            .collect();
        out.sort_by(|a, b| {
            if greater_is_better {
                a.1.total_cmp(&b.1)
            } else {
                b.1.total_cmp(&a.1)
            }
        });
        out.into_iter().map(|(s, _)| s).collect()
    }
}

/// Rows of a target.
pub fn take_target(t: &Target, rows: &[usize]) -> Target {
    match t {
        Target::Regression { values } => Target::Regression {
            values: rows.iter().map(|&i| values[i]).collect(),
        },
        Target::Classification { codes, classes } => Target::Classification {
            codes: rows.iter().map(|&i| codes[i]).collect(),
            classes: classes.clone(),
        },
    }
}

/// Rows of a prediction.
pub fn take_prediction(p: &Prediction, rows: &[usize]) -> Prediction {
    match p {
        Prediction::Regression { values } => Prediction::Regression {
            values: rows.iter().map(|&i| values[i]).collect(),
        },
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => Prediction::Classification {
            labels: rows.iter().map(|&i| labels[i]).collect(),
            classes: classes.clone(),
            proba: proba.as_ref().map(|p| Proba {
                n_classes: p.n_classes,
                values: rows
                    .iter()
                    .flat_map(|&i| p.row(i).iter().copied())
                    .collect(),
            }),
        },
        Prediction::Clustering { labels } => Prediction::Clustering {
            labels: rows.iter().map(|&i| labels[i]).collect(),
        },
        Prediction::Embedding { dim, values } => Prediction::Embedding {
            dim: *dim,
            values: rows
                .iter()
                .flat_map(|&i| &values[i * dim..(i + 1) * dim])
                .copied()
                .collect(),
        },
    }
}

/// Breaks `scorers` down by each column's values (see the module docs).
pub fn slice_metrics(
    target: &Target,
    pred: &Prediction,
    columns: &[SliceColumn],
    scorers: &[&'static Scorer],
    opts: &SliceOptions,
) -> Result<SliceReport> {
    let ctx = "slices";
    check_lengths(ctx, ("y_true", target.len()), ("y_pred", pred.len()))?;
    let n = target.len();
    let mut overall = Vec::with_capacity(scorers.len());
    for s in scorers {
        overall.push((s.name.to_string(), s.score(target, pred, None)?));
    }
    let mut notes = Vec::new();
    let mut groups: Vec<(String, String, Vec<usize>)> = Vec::new();
    for col in columns {
        let len = match &col.values {
            SliceValues::Categorical(v) => v.len(),
            SliceValues::Numeric(v) => v.len(),
        };
        if len != n {
            return Err(EvalError::input(
                ctx,
                format!(
                    "column `{}` has {len} values but there are {n} predictions",
                    col.name
                ),
            ));
        }
        for (value, rows) in group_rows(col, opts) {
            groups.push((col.name.clone(), value, rows));
        }
    }
    let slices: Vec<Slice> = groups
        .into_par_iter()
        .enumerate()
        .map(|(g, (column, value, rows))| {
            let metrics = if rows.len() < opts.min_rows {
                Vec::new()
            } else {
                scorers
                    .iter()
                    .zip(&overall)
                    .map(|(s, (_, all))| slice_metric(s, target, pred, &rows, *all, opts, g as u64))
                    .collect()
            };
            Slice {
                column,
                value,
                rows: rows.len(),
                metrics,
            }
        })
        .collect();
    let small = slices.iter().filter(|s| s.metrics.is_empty()).count();
    if small > 0 {
        notes.push(format!(
            "{small} slice(s) with fewer than {} rows are listed without metrics",
            opts.min_rows
        ));
    }
    Ok(SliceReport {
        overall,
        slices,
        notes,
    })
}

fn slice_metric(
    s: &Scorer,
    target: &Target,
    pred: &Prediction,
    rows: &[usize],
    overall: f64,
    opts: &SliceOptions,
    stream: u64,
) -> SliceMetric {
    let value = s
        .score(
            &take_target(target, rows),
            &take_prediction(pred, rows),
            None,
        )
        .ok()
        .filter(|v| v.is_finite());
    let mut rng = Rng::new(opts.seed ^ stream.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let mut boot = Vec::with_capacity(opts.bootstrap);
    if value.is_some() {
        let mut sample = vec![0usize; rows.len()];
        for _ in 0..opts.bootstrap {
            for x in sample.iter_mut() {
                *x = rows[rng.below(rows.len())];
            }
            if let Ok(v) = s.score(
                &take_target(target, &sample),
                &take_prediction(pred, &sample),
                None,
            ) && v.is_finite()
            {
                boot.push(v);
            }
        }
    }
    boot.sort_by(f64::total_cmp);
    let alpha = (1.0 - opts.confidence) / 2.0;
    let q = |p: f64| -> Option<f64> {
        if boot.len() < 10 {
            return None;
        }
        let pos = p * (boot.len() - 1) as f64;
        let (i, f) = (pos.floor() as usize, pos.fract());
        Some(boot[i] + f * (boot[(i + 1).min(boot.len() - 1)] - boot[i]))
    };
    let (low, high) = (q(alpha), q(1.0 - alpha));
    let worse = match (low, high) {
        (Some(l), Some(h)) => {
            if s.greater_is_better {
                h < overall
            } else {
                l > overall
            }
        }
        _ => false,
    };
    SliceMetric {
        metric: s.name.to_string(),
        value,
        low,
        high,
        worse,
    }
}

/// The slices of one column: (label, rows).
fn group_rows(col: &SliceColumn, opts: &SliceOptions) -> Vec<(String, Vec<usize>)> {
    match &col.values {
        SliceValues::Categorical(v) => {
            let mut by: std::collections::BTreeMap<String, Vec<usize>> = Default::default();
            for (i, x) in v.iter().enumerate() {
                by.entry(x.clone().unwrap_or_else(|| "(missing)".into()))
                    .or_default()
                    .push(i);
            }
            let mut groups: Vec<(String, Vec<usize>)> = by.into_iter().collect();
            groups.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then(a.0.cmp(&b.0)));
            if groups.len() > opts.max_categories {
                let rest: Vec<usize> = groups
                    .drain(opts.max_categories..)
                    .flat_map(|(_, r)| r)
                    .collect();
                let mut rest = rest;
                rest.sort_unstable();
                groups.push(("(other)".into(), rest));
            }
            groups
        }
        SliceValues::Numeric(v) => {
            let mut present: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
            present.sort_by(f64::total_cmp);
            present.dedup();
            let missing: Vec<usize> = (0..v.len()).filter(|&i| v[i].is_nan()).collect();
            let mut groups: Vec<(String, Vec<usize>)> = Vec::new();
            if present.len() <= opts.bins.max(2) {
                for &u in &present {
                    let rows: Vec<usize> = (0..v.len()).filter(|&i| v[i] == u).collect();
                    groups.push((fmt_num(u), rows));
                }
            } else {
                // Quantile edges of the values (with repeats), deduplicated.
                let mut sorted: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
                sorted.sort_by(f64::total_cmp);
                let mut edges: Vec<f64> = (1..opts.bins)
                    .map(|k| sorted[(k * sorted.len()) / opts.bins])
                    .collect();
                edges.dedup();
                let (lo, hi) = (sorted[0], sorted[sorted.len() - 1]);
                let mut bounds = vec![lo];
                bounds.extend(edges.iter().copied().filter(|e| *e > lo && *e <= hi));
                bounds.push(hi);
                for b in 0..bounds.len() - 1 {
                    let (a, z) = (bounds[b], bounds[b + 1]);
                    let last = b + 2 == bounds.len();
                    let rows: Vec<usize> = (0..v.len())
                        .filter(|&i| v[i] >= a && (v[i] < z || (last && v[i] <= z)))
                        .collect();
                    if rows.is_empty() {
                        continue;
                    }
                    let label = if last {
                        format!("[{}, {}]", fmt_num(a), fmt_num(z))
                    } else {
                        format!("[{}, {})", fmt_num(a), fmt_num(z))
                    };
                    groups.push((label, rows));
                }
            }
            if !missing.is_empty() {
                groups.push(("(missing)".into(), missing));
            }
            groups
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// A misclassified row (or a large residual).
#[derive(Clone, Debug, Serialize)]
pub struct Error {
    /// Row index.
    pub row: usize,
    /// The true label or value.
    pub actual: String,
    /// The predicted label or value.
    pub predicted: String,
    /// The model's probability of its wrong label (classification), or the absolute residual
    /// (regression).
    pub confidence: f64,
}

/// The `k` most confident errors: misclassified rows with the highest probability on their
/// predicted label, or the rows with the largest absolute residuals.
pub fn confident_errors(target: &Target, pred: &Prediction, k: usize) -> Result<Vec<Error>> {
    check_lengths(
        "confident errors",
        ("y_true", target.len()),
        ("y_pred", pred.len()),
    )?;
    let mut out: Vec<Error> = match (target, pred) {
        (
            Target::Classification { codes, classes },
            Prediction::Classification {
                labels,
                classes: pc,
                proba,
            },
        ) => (0..codes.len())
            .filter_map(|i| {
                let actual = classes.get(codes[i] as usize)?;
                let predicted = pc.get(labels[i] as usize)?;
                if actual == predicted {
                    return None;
                }
                let conf = proba.as_ref().map_or(1.0, |p| p.row(i)[labels[i] as usize]);
                Some(Error {
                    row: i,
                    actual: actual.clone(),
                    predicted: predicted.clone(),
                    confidence: conf,
                })
            })
            .collect(),
        (Target::Regression { values }, Prediction::Regression { values: p }) => (0..values.len())
            .map(|i| Error {
                row: i,
                actual: fmt_num(values[i]),
                predicted: fmt_num(p[i]),
                confidence: (values[i] - p[i]).abs(),
            })
            .collect(),
        _ => {
            return Err(EvalError::input(
                "confident errors",
                "the prediction's task does not match the target's",
            ));
        }
    };
    out.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.row.cmp(&b.row))
    });
    out.truncate(k);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_columns_are_binned_by_quantiles() {
        let col = SliceColumn {
            name: "age".into(),
            values: SliceValues::Numeric((0..100).map(f64::from).chain([f64::NAN]).collect()),
        };
        let g = group_rows(&col, &SliceOptions::default());
        let labels: Vec<&str> = g.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(
            labels,
            ["[0, 25)", "[25, 50)", "[50, 75)", "[75, 99]", "(missing)"]
        );
        assert_eq!(g.iter().map(|(_, r)| r.len()).sum::<usize>(), 101);
    }
}
