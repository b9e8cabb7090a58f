//! `smelt runs compare`: runs side by side, differing rows marked, the best value of each metric
//! starred.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;

use super::{CompareArgs, metric, param, status_cell};
use crate::Outcome;
use crate::style::{dim, num};
use crate::track::store::{Tracking, local_time, run_duration, short_id};
use crate::track::table::{Cell, Table, Tone, width};

pub(super) fn run(t: &Tracking, a: CompareArgs, out: &mut impl Write) -> Result<Outcome> {
    let runs = a
        .runs
        .iter()
        .map(|r| t.resolve_run(r))
        .collect::<Result<Vec<_>>>()?;
    let mut headers = vec![String::new(), String::new()];
    headers.extend(runs.iter().map(|r| short_id(&r.info.run_id).to_string()));
    let mut table = Table::new(headers);
    table.keep = 3;
    let n = runs.len();
    let section = |name: &str| -> Vec<Cell> {
        let mut row = vec![Cell::default(), Cell::new(name, Tone::Strong)];
        row.extend((0..n).map(|_| Cell::default()));
        row
    };
    // One row: marker, key, values; differing rows marked `≠` and emphasised.
    let row = |key: &str, values: Vec<Cell>| -> Vec<Cell> {
        let texts: BTreeSet<&str> = values.iter().map(|c| c.text.as_str()).collect();
        let differ = texts.len() > 1;
        let mut r = vec![
            Cell::new(if differ { "≠" } else { "" }, Tone::Warn),
            Cell::new(
                format!("  {key}"),
                if differ { Tone::Strong } else { Tone::Dim },
            ),
        ];
        r.extend(values.into_iter().map(|mut c| {
            if !differ && c.tone == Tone::Plain {
                c.tone = Tone::Dim;
            }
            c
        }));
        r
    };
    table.rows.push(row(
        "name",
        runs.iter()
            .map(|r| r.info.run_name.as_str().into())
            .collect(),
    ));
    table
        .rows
        .push(row("status", runs.iter().map(status_cell).collect()));
    table.rows.push(row(
        "started",
        runs.iter()
            .map(|r| local_time(r.info.start_time).into())
            .collect(),
    ));
    table.rows.push(row(
        "duration",
        runs.iter().map(|r| run_duration(r).into()).collect(),
    ));
    let params: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    if !params.is_empty() {
        table.rows.push(section("params"));
        for k in params {
            let values = runs
                .iter()
                .map(|r| param(r, k).unwrap_or("-").into())
                .collect();
            table.rows.push(row(k, values));
        }
    }
    let metrics: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .collect();
    let mut starred = false;
    if !metrics.is_empty() {
        table.rows.push(section("metrics"));
        for k in metrics {
            let vals: Vec<Option<f64>> = runs.iter().map(|r| metric(r, k)).collect();
            let finite: Vec<f64> = vals
                .iter()
                .flatten()
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            let best = if lower_is_better(k) {
                finite.iter().copied().reduce(f64::min)
            } else {
                finite.iter().copied().reduce(f64::max)
            };
            let distinct = finite
                .iter()
                .map(|v| v.to_bits())
                .collect::<BTreeSet<_>>()
                .len();
            let cells = vals
                .iter()
                .map(|v| match v {
                    Some(v) if distinct > 1 && Some(*v) == best => {
                        starred = true;
                        Cell::new(format!("{} *", num(*v)), Tone::Good)
                    }
                    Some(v) => Cell::from(num(*v)),
                    None => Cell::from("-"),
                })
                .collect();
            table.rows.push(row(k, cells));
        }
    }
    for i in 0..n {
        table.right[2 + i] = false;
    }
    let hidden = table.write(out, width())?;
    if starred {
        writeln!(
            out,
            "{}",
            dim(
                "* best value (lower is better for loss, error, rmse, mae, mse, time; higher otherwise)"
            )
        )?;
    }
    if !hidden.is_empty() {
        writeln!(
            out,
            "{}",
            dim(&format!(
                "{} run{} did not fit: {} (widen the terminal or compare fewer runs)",
                hidden.len(),
                if hidden.len() == 1 { "" } else { "s" },
                hidden.join(", ")
            ))
        )?;
    }
    Ok(Outcome::Success)
}

/// Whether a smaller value of this metric is better.
fn lower_is_better(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "loss", "error", "rmse", "mae", "mse", "logloss", "mape", "seconds", "time", "latency",
    ]
    .iter()
    .any(|w| n.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_metrics_prefer_lower_values() {
        assert!(lower_is_better("valid_rmse"));
        assert!(lower_is_better("train_log_loss"));
        assert!(!lower_is_better("valid_r2"));
        assert!(!lower_is_better("auc"));
        assert!(lower_is_better("fit_seconds"));
    }
}
