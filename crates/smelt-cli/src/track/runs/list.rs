//! `smelt runs list`: runs as a table (default columns: metrics, and the params that differ),
//! JSON or CSV.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{Context, Result, bail};
use smelt_track::entities::Run;
use smelt_track::store::{SearchQuery, ViewType};

use super::{Col, ListArgs, ListFormat, param, status_cell};
use crate::Outcome;
use crate::style::dim;
use crate::track::store::{Tracking, local_time, run_duration, short_id};
use crate::track::table::{Cell, Table, Tone, width};

/// Metric columns shown by default, at most.
const DEFAULT_METRICS: usize = 8;

pub(super) fn run(t: &Tracking, a: ListArgs, out: &mut impl Write) -> Result<Outcome> {
    if a.max < 1 {
        bail!("--max must be at least 1, got {}", a.max);
    }
    let experiments = if a.experiment.is_empty() {
        t.experiments(ViewType::ActiveOnly)?
    } else {
        a.experiment
            .iter()
            .map(|e| t.experiment(e))
            .collect::<Result<Vec<_>>>()?
    };
    let names: BTreeMap<String, String> = experiments
        .iter()
        .map(|e| (e.experiment_id.clone(), e.name.clone()))
        .collect();
    let ids: Vec<String> = experiments.into_iter().map(|e| e.experiment_id).collect();
    let view = if a.all {
        ViewType::All
    } else if a.deleted {
        ViewType::DeletedOnly
    } else {
        ViewType::ActiveOnly
    };
    let q = SearchQuery {
        filter: a.filter.clone().unwrap_or_default(),
        order_by: a.order_by.clone(),
        max_results: Some(a.max.min(smelt_track::store::MAX_RUNS_PAGE)),
        view_type: view,
        ..Default::default()
    };
    let page = t
        .block_on(t.store().search_runs(&ids, &q))
        .context("searching runs")?;
    let runs = page.items;
    let more = page.next_page_token.is_some();
    let chosen = a
        .columns
        .iter()
        .filter(|c| !c.trim().is_empty())
        .map(|c| Col::parse(c))
        .collect::<Result<Vec<_>>>()?;
    match a.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "runs": runs }))?;
            writeln!(out)?;
        }
        ListFormat::Csv => super::csv::write(out, &runs, &chosen)?,
        ListFormat::Table => {
            if runs.is_empty() {
                writeln!(out, "no runs")?;
                writeln!(
                    out,
                    "{}",
                    dim(if a.filter.is_some() || !a.experiment.is_empty() {
                        "nothing matched; try without --filter/--experiment, or with --all"
                    } else {
                        "record one with `smelt train DATA --target COLUMN --model MODEL`"
                    })
                )?;
                return Ok(Outcome::Success);
            }
            let (cols, hidden_metrics) = if chosen.is_empty() {
                default_columns(&runs)
            } else {
                (chosen, Vec::new())
            };
            let multi_exp = runs
                .iter()
                .map(|r| &r.info.experiment_id)
                .collect::<BTreeSet<_>>()
                .len()
                > 1;
            let mut headers: Vec<String> = ["run", "name"].map(String::from).to_vec();
            if multi_exp {
                headers.push("experiment".into());
            }
            headers.extend(["status", "started", "duration"].map(String::from));
            let fixed = headers.len();
            // A metric and a param of the same name get their prefixes.
            let clash = |c: &Col| cols.iter().filter(|o| o.key() == c.key()).count() > 1;
            headers.extend(cols.iter().map(|c| {
                if clash(c) {
                    c.full()
                } else {
                    c.key().to_string()
                }
            }));
            let mut table = Table::new(headers);
            table.keep = 2;
            for (i, c) in cols.iter().enumerate() {
                table.right[fixed + i] = matches!(c, Col::Metric(_));
            }
            table.right[fixed - 1] = true;
            for r in &runs {
                let mut row: Vec<Cell> = vec![
                    Cell::new(short_id(&r.info.run_id), Tone::Dim),
                    r.info.run_name.as_str().into(),
                ];
                if multi_exp {
                    row.push(
                        names
                            .get(&r.info.experiment_id)
                            .cloned()
                            .unwrap_or_else(|| r.info.experiment_id.clone())
                            .into(),
                    );
                }
                row.push(status_cell(r));
                row.push(local_time(r.info.start_time).into());
                row.push(run_duration(r).into());
                row.extend(
                    cols.iter()
                        .map(|c| Cell::from(c.value(r).unwrap_or_default())),
                );
                table.rows.push(row);
            }
            let hidden = table.write(out, width())?;
            if !hidden_metrics.is_empty() {
                writeln!(
                    out,
                    "{}",
                    dim(&format!(
                        "{} more metrics not shown: {} (choose with --columns metrics.NAME,params.NAME)",
                        hidden_metrics.len(),
                        hidden_metrics.join(", ")
                    ))
                )?;
            }
            if !hidden.is_empty() {
                writeln!(
                    out,
                    "{}",
                    dim(&format!(
                        "{} column{} did not fit: {} (widen the terminal, pick with --columns, or use --format csv)",
                        hidden.len(),
                        if hidden.len() == 1 { "" } else { "s" },
                        hidden.join(", ")
                    ))
                )?;
            }
            if more {
                writeln!(
                    out,
                    "{}",
                    dim(&format!(
                        "showing the first {} runs; more match (raise --max)",
                        runs.len()
                    ))
                )?;
            }
        }
    }
    Ok(Outcome::Success)
}

/// Default columns: metrics present (sorted, the first [`DEFAULT_METRICS`]), then params whose
/// values differ between the runs (all params for a single run). Returns them and the metrics
/// left out.
fn default_columns(runs: &[Run]) -> (Vec<Col>, Vec<String>) {
    // Held-out metrics first, then the params that differ, then training metrics and timings.
    let metrics: BTreeSet<(u8, u8, &str)> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .map(|k| (metric_rank(k), headline(k), k))
        .collect();
    let metrics: Vec<(u8, &str)> = metrics.into_iter().map(|(r, _, k)| (r, k)).collect();
    let shown = &metrics[..metrics.len().min(DEFAULT_METRICS)];
    let more: Vec<String> = metrics
        .iter()
        .skip(DEFAULT_METRICS)
        .map(|(_, k)| k.to_string())
        .collect();
    let mut cols: Vec<Col> = shown
        .iter()
        .filter(|(rank, _)| *rank <= 1)
        .map(|(_, k)| Col::Metric(k.to_string()))
        .collect();
    let keys: BTreeSet<&str> = runs
        .iter()
        .flat_map(|r| r.data.params.iter().map(|p| p.key.as_str()))
        .collect();
    for k in keys {
        let values: BTreeSet<Option<&str>> = runs.iter().map(|r| param(r, k)).collect();
        if runs.len() == 1 || values.len() > 1 {
            cols.push(Col::Param(k.to_string()));
        }
    }
    cols.extend(
        shown
            .iter()
            .filter(|(rank, _)| *rank > 1)
            .map(|(_, k)| Col::Metric(k.to_string())),
    );
    (cols, more)
}

/// Within a group, the metrics people compare models by come first (ROC-AUC, accuracy, log
/// loss; RMSE, R², MAE), then the others by name.
fn headline(name: &str) -> u8 {
    const FIRST: [&str; 8] = [
        "roc_auc",
        "roc_auc_ovr",
        "accuracy",
        "log_loss",
        "rmse",
        "r2",
        "mae",
        "f1",
    ];
    let n = name.to_ascii_lowercase();
    FIRST
        .iter()
        .position(|m| n == *m || n.ends_with(&format!("_{m}")))
        .map_or(u8::MAX, |i| i as u8)
}

/// Where a metric goes among the default columns: validation/test, other, train, timings.
fn metric_rank(name: &str) -> u8 {
    let n = name.to_ascii_lowercase();
    if ["seconds", "time", "latency"].iter().any(|w| n.contains(w)) {
        3
    } else if n.starts_with("train") {
        2
    } else if ["valid", "val_", "test", "eval"]
        .iter()
        .any(|w| n.contains(w))
    {
        0
    } else {
        1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_metrics_come_first() {
        let mut names = vec!["fit_seconds", "train_r2", "auc", "valid_r2"];
        names.sort_by_key(|n| (metric_rank(n), headline(n), *n));
        assert_eq!(names, ["valid_r2", "auc", "train_r2", "fit_seconds"]);
        let mut names = vec!["valid_brier", "valid_accuracy", "valid_f1", "valid_roc_auc"];
        names.sort_by_key(|n| (metric_rank(n), headline(n), *n));
        assert_eq!(
            names,
            ["valid_roc_auc", "valid_accuracy", "valid_f1", "valid_brier"]
        );
    }
}
