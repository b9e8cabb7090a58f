//! The report's performance and multivariate-drift parts: a sentence per method for the summary,
//! a table of every tracked metric, and each metric over the windows.

use serde_json::json;
use smelt_eval::plot;
use smelt_eval::report::{Block, Cell, Table as ReportTable, fmt_number};

use crate::performance::Tracked;

/// Metrics plotted over windows at most, per section.
const MAX_PLOTS: usize = 8;

fn method_name(method: &str) -> &'static str {
    match method {
        "realized" => "Realized performance (labels)",
        "cbpe" => "Estimated performance (CBPE, without labels)",
        "dle" => "Estimated performance (DLE, without labels)",
        "reconstruction" => "Multivariate drift (PCA reconstruction error)",
        "domain_classifier" => "Multivariate drift (domain classifier AUROC)",
        _ => "Tracked",
    }
}

fn thresholds(t: &Tracked) -> String {
    match (t.lower_threshold, t.upper_threshold) {
        (Some(lo), Some(hi)) => format!("{} – {}", fmt_number(lo), fmt_number(hi)),
        (Some(lo), None) => format!("≥ {}", fmt_number(lo)),
        (None, Some(hi)) => format!("≤ {}", fmt_number(hi)),
        (None, None) => "—".into(),
    }
}

fn value(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), fmt_number)
}

/// One sentence per method: the values on the whole current data against the reference, and
/// the alerts.
pub(super) fn summary(performance: &[Tracked], multivariate: &[Tracked]) -> Vec<String> {
    let mut methods: Vec<&str> = Vec::new();
    for t in performance.iter().chain(multivariate) {
        if !methods.contains(&t.method.as_str()) {
            methods.push(&t.method);
        }
    }
    methods
        .into_iter()
        .map(|m| {
            let rows: Vec<&Tracked> = performance
                .iter()
                .chain(multivariate)
                .filter(|t| t.method == m)
                .collect();
            let values: Vec<String> = rows
                .iter()
                .take(4)
                .map(|t| {
                    format!(
                        "{} {} (reference {})",
                        t.display_name,
                        value(t.current.value),
                        value(t.reference)
                    )
                })
                .collect();
            let alerts: Vec<String> = rows
                .iter()
                .filter(|t| t.current.alert)
                .map(|t| format!("{} outside {}", t.display_name, thresholds(t)))
                .collect();
            let windows = rows
                .iter()
                .flat_map(|t| t.windows.iter().filter(|w| w.alert).map(|w| w.key.as_str()))
                .collect::<std::collections::BTreeSet<_>>();
            let mut line = format!(
                "{}: {}{}",
                method_name(m),
                values.join(", "),
                if rows.len() > 4 { ", …" } else { "" }
            );
            if alerts.is_empty() {
                line.push_str(" — no alert");
            } else {
                line.push_str(&format!(" — ALERT: {}", alerts.join("; ")));
            }
            if !windows.is_empty() {
                line.push_str(&format!(
                    "; {} window{} alerted",
                    windows.len(),
                    if windows.len() == 1 { "" } else { "s" }
                ));
            }
            line.push('.');
            line
        })
        .collect()
}

/// The table of tracked metrics, then each metric over the windows.
pub(super) fn blocks(tracked: &[Tracked]) -> Vec<Block> {
    let with_realized = tracked
        .iter()
        .any(|t| matches!(t.method.as_str(), "cbpe" | "dle") && t.current.realized.is_some());
    let mut columns = vec!["Metric", "Method", "Reference", "Current", "±3 SE"];
    if with_realized {
        columns.push("Realized");
    }
    columns.extend(["Thresholds", "Alert"]);
    let mut table = ReportTable::new(columns);
    for (i, t) in tracked.iter().enumerate() {
        let mut row = vec![
            Cell::text(&t.display_name),
            Cell::text(&t.method),
            t.reference.map_or_else(|| Cell::text("—"), Cell::number),
            t.current
                .value
                .map_or_else(|| Cell::text("—"), Cell::number),
            match (t.current.lower, t.current.upper) {
                (Some(lo), Some(hi)) => {
                    Cell::text(format!("{} – {}", fmt_number(lo), fmt_number(hi)))
                }
                _ => Cell::text("—"),
            },
        ];
        if with_realized {
            row.push(
                t.current
                    .realized
                    .map_or_else(|| Cell::text("—"), Cell::number),
            );
        }
        row.push(Cell::text(thresholds(t)));
        row.push(Cell::text(if t.current.alert { "alert" } else { "no" }));
        table.push_row(row);
        if t.current.alert {
            table.flagged.push(i);
        }
    }
    let mut out = vec![Block::Table(table.with_caption(
        "Reference: the same calculation on the whole reference (for estimates, the realized value there). Current: on all current rows, with the interval of ±3 sampling errors. Thresholds come from the reference cut into about ten chunks (mean ± 3 standard deviations, NannyML's default); a value outside them alerts.",
    ))];
    for t in tracked
        .iter()
        .filter(|t| !t.windows.is_empty())
        .take(MAX_PLOTS)
    {
        let keys: Vec<&str> = t.windows.iter().map(|w| w.key.as_str()).collect();
        let nan = |v: Option<f64>| v.unwrap_or(f64::NAN);
        let values: Vec<f64> = t.windows.iter().map(|w| nan(w.value)).collect();
        let low: Vec<f64> = t.windows.iter().map(|w| nan(w.lower)).collect();
        let high: Vec<f64> = t.windows.iter().map(|w| nan(w.upper)).collect();
        let alerts: Vec<bool> = t.windows.iter().map(|w| w.alert).collect();
        let lines: Vec<f64> = [t.lower_threshold, t.upper_threshold]
            .into_iter()
            .flatten()
            .collect();
        let title = format!("{} by window ({})", t.display_name, t.method);
        if let Ok(p) = plot::window_series(
            &title,
            &keys,
            &values,
            &low,
            &high,
            &lines,
            &alerts,
            &t.display_name,
        ) {
            out.push(Block::plot(
                p,
                json!({"metric": t.metric, "method": t.method, "windows": t.windows}),
            ));
        }
    }
    out
}

/// One row per slice, one column per headline metric (value and its ±3 SE interval) of each
/// method. Slices are not flagged: a slice differs from the whole population by design, and the
/// thresholds are the whole reference's.
pub(super) fn slice_blocks(column: &str, tracked: &[Tracked]) -> Vec<Block> {
    const HEADLINE: [&str; 4] = ["roc_auc", "accuracy", "mae", "rmse"];
    let shown: Vec<&Tracked> = tracked
        .iter()
        .filter(|t| HEADLINE.contains(&t.metric.as_str()))
        .take(6)
        .collect();
    let Some(first) = shown.first() else {
        return Vec::new();
    };
    let mut columns = vec![column.to_string(), "Rows".to_string()];
    columns.extend(
        shown
            .iter()
            .map(|t| format!("{} ({})", t.display_name, t.method)),
    );
    let mut table = ReportTable::new(columns);
    let mut whole = vec![Cell::text("(all rows)"), Cell::count(first.current.rows)];
    for t in &shown {
        whole.push(
            t.current
                .value
                .map_or_else(|| Cell::text("—"), Cell::number),
        );
    }
    table.push_row(whole);
    for (k, w) in first.windows.iter().enumerate() {
        let mut row = vec![Cell::text(&w.key), Cell::count(w.rows)];
        for t in &shown {
            let p = &t.windows[k];
            row.push(match (p.value, p.lower, p.upper) {
                (Some(v), Some(lo), Some(hi)) => Cell::number(v).with_interval(lo, hi),
                (Some(v), _, _) => Cell::number(v),
                _ => Cell::text("—"),
            });
        }
        table.push_row(row);
    }
    vec![Block::Table(table.with_caption(
        "Each slice of the current data on its own, beside all current rows (first line); intervals of ±3 sampling errors. Estimates (cbpe, dle) per slice use the calibration learnt on the whole reference.",
    ))]
}
