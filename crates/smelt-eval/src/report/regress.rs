//! The regression parts of the model report: metrics, residuals, predicted against actual
//! values, error quantiles.

use serde_json::json;

use super::parts::{ModelReportInput, Parts, metric_label, metrics_table, plot_or_note};
use super::{Block, Cell, Section, Stat, Table, fmt_count, fmt_number, fmt_percent};
use crate::error::{Result, check_finite};
use crate::metrics::find;
use crate::plot::{self, MAX_POINTS};

/// The metrics of a regressor, in the order the page lists them.
const METRICS: &[&str] = &[
    "r2",
    "rmse",
    "mae",
    "median_ae",
    "mse",
    "explained_variance",
    "max_error",
    "mape",
];

/// Percentiles of the error table.
const PERCENTILES: &[f64] = &[
    0.0, 1.0, 5.0, 10.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0, 100.0,
];

/// The regression sections and sentences.
pub(super) fn parts(input: &ModelReportInput<'_>, actual: &[f64], pred: &[f64]) -> Result<Parts> {
    let ctx = "model_report";
    check_finite(ctx, "target", actual)?;
    check_finite(ctx, "prediction", pred)?;
    let n = actual.len();
    let near_zero = actual.iter().any(|v| v.abs() < 1e-9);
    let metrics: Vec<(String, f64)> = METRICS
        .iter()
        .filter(|name| !(near_zero && **name == "mape"))
        .filter_map(|name| {
            let v = find(name)
                .ok()?
                .score(input.target, input.pred, None)
                .ok()?;
            v.is_finite().then(|| (name.to_string(), v))
        })
        .collect();
    let metric = |name: &str| metrics.iter().find(|(k, _)| k == name).map(|(_, v)| *v);

    let residual: Vec<f64> = actual.iter().zip(pred).map(|(a, p)| a - p).collect();
    let mut abs: Vec<f64> = residual.iter().map(|r| r.abs()).collect();
    abs.sort_unstable_by(f64::total_cmp);
    let mut sorted_residual = residual.clone();
    sorted_residual.sort_unstable_by(f64::total_cmp);
    let mut sorted_actual = actual.to_vec();
    sorted_actual.sort_unstable_by(f64::total_cmp);
    let (mean_y, std_y) = mean_std(actual);
    let (mean_r, std_r) = mean_std(&residual);

    let mut sections = Vec::new();
    let mut summary = Vec::new();

    // Summary.
    let stats: Vec<Stat> = ["r2", "rmse", "mae", "median_ae"]
        .iter()
        .filter_map(|name| {
            let v = metric(name)?;
            let detail = match *name {
                "r2" => "0 = predicting the mean".to_string(),
                "rmse" => format!("target std: {}", fmt_number(std_y)),
                "mae" => "mean absolute error".to_string(),
                _ => "half the errors are smaller".to_string(),
            };
            let label = match *name {
                "median_ae" => "Median abs. error".to_string(),
                _ => metric_label(name),
            };
            Some(Stat::new(label, v).with_detail(detail))
        })
        .collect();
    let facts = vec![
        ("Rows".to_string(), fmt_count(n)),
        ("Target mean".to_string(), fmt_number(mean_y)),
        ("Target standard deviation".to_string(), fmt_number(std_y)),
        (
            "Target range".to_string(),
            format!(
                "{} to {}",
                fmt_number(sorted_actual[0]),
                fmt_number(sorted_actual[n - 1])
            ),
        ),
    ];
    sections.push(Section::new(
        "Summary",
        vec![Block::Stats(stats), Block::KeyValues(facts)],
    ));

    // Sentences.
    if let Some(r2) = metric("r2") {
        let rmse = metric("rmse").map_or(String::new(), |v| {
            format!(
                " (RMSE {}, against a target standard deviation of {})",
                fmt_number(v),
                fmt_number(std_y)
            )
        });
        summary.push(if r2 >= 0.0 {
            format!(
                "R² {} on {} rows: the model explains {} of the target's variance{rmse}.",
                fmt_number(r2),
                fmt_count(n),
                fmt_percent(r2)
            )
        } else {
            format!(
                "R² {} on {} rows: the model does worse than always predicting the mean{rmse}.",
                fmt_number(r2),
                fmt_count(n)
            )
        });
    }
    summary.push(format!(
        "Half of the predictions are within {} of the actual value, 90% within {}.",
        fmt_number(percentile(&abs, 50.0)),
        fmt_number(percentile(&abs, 90.0))
    ));
    summary.push(if std_r > 0.0 && mean_r.abs() > 0.1 * std_r {
        format!(
            "Predictions are biased: on average they are {} too {} (mean residual {}).",
            fmt_number(mean_r.abs()),
            if mean_r > 0.0 { "low" } else { "high" },
            fmt_number(mean_r)
        )
    } else if let Some(s) = pattern_sentence(pred, &residual, std_r) {
        s
    } else {
        format!(
            "Predictions show no systematic bias (mean residual {}), whatever their size.",
            fmt_number(mean_r)
        )
    });

    // Metrics.
    sections.push(Section::new(
        "Metrics",
        vec![Block::Table(metrics_table(&metrics, &[]))],
    ));

    // Residuals.
    let mut notes = Vec::new();
    let sample: Vec<usize> = if n <= MAX_POINTS {
        (0..n).collect()
    } else {
        (0..MAX_POINTS).map(|i| i * n / MAX_POINTS).collect()
    };
    let take = |v: &[f64]| -> Vec<f64> { sample.iter().map(|&i| v[i]).collect() };
    let (sp, sa, sr) = (take(pred), take(actual), take(&residual));
    let mut blocks = vec![Block::Paragraph(
        "Residuals are actual minus predicted values: points above zero are under-predictions. \
         A good model leaves a shapeless band around zero; a funnel or a curve means the \
         errors depend on the prediction. On the right, points on the diagonal are exact."
            .into(),
    )];
    let sampled = (n > MAX_POINTS).then_some(sample.len());
    blocks.extend(plot_or_note(
        &mut notes,
        "residual plot",
        plot::residuals(pred, &residual),
        None,
        json!({"rows": n, "points_shown": sampled.unwrap_or(n), "predicted": sp,
            "residual": sr}),
    ));
    blocks.extend(plot_or_note(
        &mut notes,
        "predicted-vs-actual plot",
        plot::predicted_vs_actual(pred, actual),
        None,
        json!({"rows": n, "points_shown": sampled.unwrap_or(n), "predicted": sp,
            "actual": sa}),
    ));
    blocks.push(Block::Heading("Error quantiles".into()));
    let mut t = Table::new([
        "Percentile",
        "Residual (actual − predicted)",
        "Absolute error",
    ]);
    for &q in PERCENTILES {
        let name = match q {
            0.0 => "min".to_string(),
            100.0 => "max".to_string(),
            _ => format!("{q}%"),
        };
        t.push_row(vec![
            Cell::with_text(q, name),
            Cell::number(percentile(&sorted_residual, q)),
            Cell::number(percentile(&abs, q)),
        ]);
    }
    t.highlighted
        .push(PERCENTILES.iter().position(|&q| q == 50.0).unwrap_or(0));
    t.caption = Some(
        "Each column sorted on its own: the 90% absolute error is the error 90% of the rows \
         stay within."
            .into(),
    );
    blocks.push(Block::Table(t));
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    sections.push(Section::new("Residuals", blocks));

    Ok(Parts {
        sections,
        summary,
        metrics,
        task: "regression",
        description: format!("Regression · {} rows", fmt_count(n)),
        importance_score: "R²",
    })
}

/// Whether the errors depend on the prediction: the mean residual of each fifth of the rows
/// by predicted value, and a sentence on the fifth furthest from zero when it is off by more
/// than a quarter of the residuals' standard deviation.
fn pattern_sentence(pred: &[f64], residual: &[f64], std_r: f64) -> Option<String> {
    const FIFTHS: [&str; 5] = [
        "lowest",
        "second-lowest",
        "middle",
        "second-highest",
        "highest",
    ];
    let n = pred.len();
    if n < 50 || std_r <= 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| pred[a].total_cmp(&pred[b]));
    let means: Vec<f64> = (0..5)
        .map(|k| {
            let rows = &order[k * n / 5..(k + 1) * n / 5];
            rows.iter().map(|&i| residual[i]).sum::<f64>() / rows.len().max(1) as f64
        })
        .collect();
    let k = (0..5).max_by(|&a, &b| means[a].abs().total_cmp(&means[b].abs()))?;
    (means[k].abs() > 0.25 * std_r).then(|| {
        format!(
            "Errors depend on the prediction: for the {} fifth of predictions the model is {} \
             too {} on average (see the residual plot).",
            FIFTHS[k],
            fmt_number(means[k].abs()),
            if means[k] > 0.0 { "low" } else { "high" }
        )
    })
}

/// Mean and (population) standard deviation.
fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// The `q`-th percentile of sorted values, linearly interpolated (numpy's default).
pub(super) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let f = pos - lo as f64;
    sorted[lo] + (sorted[hi.min(sorted.len() - 1)] - sorted[lo]) * f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&v, 50.0), 2.5);
        assert_eq!(percentile(&v, 100.0), 4.0);
    }
}
