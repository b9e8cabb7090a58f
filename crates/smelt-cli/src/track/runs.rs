//! `smelt runs`: list, show, compare, delete and garbage-collect tracked runs.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use smelt_track::entities::{Run, RunStatus};
use smelt_track::store::{SearchQuery, ViewType, now_ms};
use smelt_track::{ArtifactPath, ArtifactStore};

use super::store::{
    StoreArgs, Tracking, local_time, local_time_full, parse_age, run_duration, short_id,
};
use super::table::{Cell, Table, Tone, csv_field, width};
use crate::Outcome;
use crate::style::{bytes, dim, head, num, thousands};

/// Metric columns shown by default, at most.
const DEFAULT_METRICS: usize = 8;

/// Artifact entries listed by `smelt runs show`, at most.
const MAX_ARTIFACTS: usize = 40;

/// `smelt runs`.
#[derive(Args, Debug)]
pub struct RunsArgs {
    #[command(subcommand)]
    pub command: RunsCommand,

    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List runs: id, name, status, start, duration, metrics and the params that differ.
    #[command(
        after_help = "Examples:\n  smelt runs list\n  smelt runs list --experiment housing --filter \"metrics.valid_r2 > 0.6\" --order-by \"metrics.valid_r2 DESC\"\n  smelt runs list --columns metrics.valid_rmse,params.alpha --max 20\n  smelt runs list --format json | jq '.runs[].info.run_id'"
    )]
    List(ListArgs),
    /// Show one run: params, metrics, tags, datasets, models, artifacts and registered versions.
    #[command(
        after_help = "Examples:\n  smelt runs show 1a2b3c4d\n  smelt runs show lr-c05\n  smelt runs show 1a2b --json"
    )]
    Show(ShowArgs),
    /// Compare runs side by side: differing rows marked, the best value of each metric starred.
    #[command(after_help = "Examples:\n  smelt runs compare 1a2b3c4d 5e6f7a8b 9c0d1e2f")]
    Compare(CompareArgs),
    /// Delete runs (restorable through the MLflow API until purged); --purge removes them for good.
    #[command(
        after_help = "Examples:\n  smelt runs delete 1a2b3c4d\n  smelt runs delete 1a2b3c4d 5e6f7a8b --purge"
    )]
    Delete(DeleteArgs),
    /// Purge deleted runs for good: rows and artifacts.
    #[command(after_help = "Examples:\n  smelt runs gc\n  smelt runs gc --older-than 30d")]
    Gc(GcArgs),
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum ListFormat {
    /// A table for people.
    Table,
    /// `{"runs": [...]}` with MLflow's run JSON.
    Json,
    /// One row per run, every metric and param.
    Csv,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// Experiment name or id (repeatable) [default: all active experiments]
    #[arg(long, short = 'e', value_name = "NAME|ID")]
    pub experiment: Vec<String>,

    /// MLflow search filter: "metrics.auc > 0.9 and params.model = 'ridge'"
    #[arg(long, short = 'f', value_name = "FILTER")]
    pub filter: Option<String>,

    /// Sort order, repeatable: "metrics.auc DESC", "start_time" [default: newest first]
    #[arg(long, value_name = "KEY [ASC|DESC]")]
    pub order_by: Vec<String>,

    /// Show at most this many runs
    #[arg(long, short = 'n', default_value_t = 50, value_name = "N")]
    pub max: i64,

    /// Include deleted runs
    #[arg(long, conflicts_with = "deleted")]
    pub all: bool,

    /// Only deleted runs
    #[arg(long)]
    pub deleted: bool,

    /// Columns after the run's own: metrics.NAME, params.NAME, tags.NAME (comma-separated)
    /// [default: metrics, and the params that differ between the runs]
    #[arg(long, value_delimiter = ',', value_name = "COLUMNS")]
    pub columns: Vec<String>,

    /// Output format
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Run id, unique id prefix (4+ characters) or run name
    pub run: String,

    /// Print the run as MLflow's JSON
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more runs: ids, unique id prefixes or names
    #[arg(required = true, num_args = 2..)]
    pub runs: Vec<String>,
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// Runs to delete: ids, unique id prefixes or names
    #[arg(required = true)]
    pub runs: Vec<String>,

    /// Also remove them for good, with their artifacts
    #[arg(long)]
    pub purge: bool,
}

#[derive(Args, Debug)]
pub struct GcArgs {
    /// Only runs deleted longer ago than this: 30d, 12h, 2w [default: every deleted run]
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,
}

pub fn run(args: RunsArgs) -> Result<Outcome> {
    let t = Tracking::open(&args.store)?;
    let mut out = anstream::stdout().lock();
    match args.command {
        RunsCommand::List(a) => list(&t, a, &mut out),
        RunsCommand::Show(a) => show(&t, a, &mut out),
        RunsCommand::Compare(a) => compare(&t, a, &mut out),
        RunsCommand::Delete(a) => delete(&t, a, &mut out),
        RunsCommand::Gc(a) => gc(&t, a, &mut out),
    }
}

/// A column chosen with `--columns` or by default.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Col {
    Metric(String),
    Param(String),
    Tag(String),
}

impl Col {
    fn parse(s: &str) -> Result<Self> {
        let s = s.trim();
        let (kind, key) = s.split_once('.').unwrap_or(("", s));
        Ok(match kind {
            "metrics" | "metric" | "m" => Col::Metric(key.to_string()),
            "params" | "param" | "p" => Col::Param(key.to_string()),
            "tags" | "tag" | "t" => Col::Tag(key.to_string()),
            _ => bail!(
                "--columns: \"{s}\" names no metric, param or tag\n\nhint: write metrics.NAME, params.NAME or tags.NAME"
            ),
        })
    }

    fn key(&self) -> &str {
        match self {
            Col::Metric(k) | Col::Param(k) | Col::Tag(k) => k,
        }
    }

    fn full(&self) -> String {
        match self {
            Col::Metric(k) => format!("metrics.{k}"),
            Col::Param(k) => format!("params.{k}"),
            Col::Tag(k) => format!("tags.{k}"),
        }
    }

    fn value(&self, run: &Run) -> Option<String> {
        match self {
            Col::Metric(k) => metric(run, k).map(num),
            Col::Param(k) => param(run, k).map(str::to_string),
            Col::Tag(k) => tag(run, k).map(str::to_string),
        }
    }
}

fn metric(run: &Run, key: &str) -> Option<f64> {
    run.data
        .metrics
        .iter()
        .find(|m| m.key == key)
        .map(|m| m.value)
}

fn param<'r>(run: &'r Run, key: &str) -> Option<&'r str> {
    run.data
        .params
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.as_str())
}

fn tag<'r>(run: &'r Run, key: &str) -> Option<&'r str> {
    run.data
        .tags
        .iter()
        .find(|p| p.key == key)
        .map(|p| p.value.as_str())
}

/// The status as a cell: lowercase, coloured; `deleted` noted.
fn status_cell(run: &Run) -> Cell {
    let tone = match run.info.status {
        RunStatus::Finished => Tone::Good,
        RunStatus::Failed => Tone::Bad,
        RunStatus::Running | RunStatus::Scheduled => Tone::Warn,
        RunStatus::Killed => Tone::Dim,
    };
    let mut text = run.info.status.as_str().to_ascii_lowercase();
    if run.info.lifecycle_stage == "deleted" {
        text.push_str(" (deleted)");
    }
    Cell::new(text, tone)
}

/// Default columns: metrics present (sorted, the first [`DEFAULT_METRICS`]), then params whose
/// values differ between the runs (all params for a single run). Returns them and the metrics
/// left out.
fn default_columns(runs: &[Run]) -> (Vec<Col>, Vec<String>) {
    // Held-out metrics first, then the params that differ, then training metrics and timings.
    let metrics: BTreeSet<(u8, &str)> = runs
        .iter()
        .flat_map(|r| r.data.metrics.iter().map(|m| m.key.as_str()))
        .map(|k| (metric_rank(k), k))
        .collect();
    let metrics: Vec<(u8, &str)> = metrics.into_iter().collect();
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

fn list(t: &Tracking, a: ListArgs, out: &mut impl Write) -> Result<Outcome> {
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
        ListFormat::Csv => write_csv(out, &runs, &chosen)?,
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
                        "{} columns did not fit: {} (widen the terminal, pick with --columns, or use --format csv)",
                        hidden.len(),
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

fn write_csv(out: &mut impl Write, runs: &[Run], chosen: &[Col]) -> Result<()> {
    let cols: Vec<Col> = if chosen.is_empty() {
        let mut all: BTreeSet<Col> = BTreeSet::new();
        for r in runs {
            all.extend(r.data.metrics.iter().map(|m| Col::Metric(m.key.clone())));
            all.extend(r.data.params.iter().map(|p| Col::Param(p.key.clone())));
        }
        all.into_iter().collect()
    } else {
        chosen.to_vec()
    };
    let mut header: Vec<String> = [
        "run_id",
        "run_name",
        "experiment_id",
        "status",
        "lifecycle_stage",
        "start_time",
        "end_time",
    ]
    .map(String::from)
    .to_vec();
    header.extend(cols.iter().map(Col::full));
    writeln!(
        out,
        "{}",
        header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for r in runs {
        let mut row = vec![
            r.info.run_id.clone(),
            r.info.run_name.clone(),
            r.info.experiment_id.clone(),
            r.info.status.as_str().to_string(),
            r.info.lifecycle_stage.clone(),
            r.info.start_time.to_string(),
            r.info.end_time.map(|e| e.to_string()).unwrap_or_default(),
        ];
        for c in &cols {
            // Full precision in CSV: the value as logged.
            row.push(match c {
                Col::Metric(k) => metric(r, k).map(|v| v.to_string()).unwrap_or_default(),
                other => other.value(r).unwrap_or_default(),
            });
        }
        writeln!(
            out,
            "{}",
            row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    Ok(())
}

/// Writes `key  value` lines with the keys aligned.
fn pairs(out: &mut impl Write, items: &[(String, String)]) -> std::io::Result<()> {
    let w = items
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    for (k, v) in items {
        writeln!(out, "  {k:<w$}  {v}")?;
    }
    Ok(())
}

fn show(t: &Tracking, a: ShowArgs, out: &mut impl Write) -> Result<Outcome> {
    let run = t.resolve_run(&a.run)?;
    if a.json {
        serde_json::to_writer_pretty(&mut *out, &serde_json::json!({ "run": run }))?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    let info = &run.info;
    let exp = t
        .block_on(t.store().get_experiment(&info.experiment_id))
        .map(|e| e.name)
        .unwrap_or_default();
    writeln!(
        out,
        "{}  {}",
        head(&format!("run {}", info.run_id)),
        info.run_name
    )?;
    let mut about = vec![
        (
            "experiment".to_string(),
            format!("{exp} (id {})", info.experiment_id),
        ),
        ("status".to_string(), status_cell(&run).text),
        ("started".to_string(), local_time_full(info.start_time)),
    ];
    if let Some(end) = info.end_time {
        about.push((
            "ended".to_string(),
            format!("{} (took {})", local_time_full(end), run_duration(&run)),
        ));
    }
    if !info.user_id.is_empty() {
        about.push(("user".to_string(), info.user_id.clone()));
    }
    about.push(("artifacts".to_string(), info.artifact_uri.clone()));
    pairs(out, &about)?;

    if !run.data.params.is_empty() {
        writeln!(out, "\n{}", head("params"))?;
        let mut p: Vec<(String, String)> = run
            .data
            .params
            .iter()
            .map(|p| (p.key.clone(), p.value.clone()))
            .collect();
        p.sort();
        pairs(out, &p)?;
    }
    if !run.data.metrics.is_empty() {
        writeln!(out, "\n{}", head("metrics"))?;
        let mut m: Vec<(String, String)> = run
            .data
            .metrics
            .iter()
            .map(|m| {
                let step = if m.step == 0 {
                    String::new()
                } else {
                    dim(&format!("  (step {})", m.step))
                };
                (m.key.clone(), format!("{}{step}", num(m.value)))
            })
            .collect();
        m.sort();
        pairs(out, &m)?;
    }
    if !run.data.tags.is_empty() {
        writeln!(out, "\n{}", head("tags"))?;
        // Users' tags first, then MLflow's system tags.
        let mut tags: Vec<(bool, String, String)> = run
            .data
            .tags
            .iter()
            .map(|t| (t.key.starts_with("mlflow."), t.key.clone(), t.value.clone()))
            .collect();
        tags.sort();
        let items: Vec<(String, String)> = tags
            .into_iter()
            .map(|(system, k, v)| {
                let v = super::table::cut(&v.replace('\n', " "), 100);
                if system { (k, dim(&v)) } else { (k, v) }
            })
            .collect();
        pairs(out, &items)?;
    }
    if !run.inputs.dataset_inputs.is_empty() {
        writeln!(out, "\n{}", head("datasets"))?;
        for d in &run.inputs.dataset_inputs {
            let rows = serde_json::from_str::<serde_json::Value>(&d.dataset.profile)
                .ok()
                .and_then(|p| p.get("num_rows").and_then(serde_json::Value::as_u64))
                .map(|n| format!(" · {} rows", thousands(n)))
                .unwrap_or_default();
            let context = d
                .tags
                .iter()
                .find(|t| t.key == smelt_track::store::DATASET_CONTEXT_TAG)
                .map(|t| format!(" ({})", t.value))
                .unwrap_or_default();
            writeln!(
                out,
                "  {}{context}  digest {}{rows}",
                d.dataset.name, d.dataset.digest
            )?;
        }
    }
    if !run.outputs.model_outputs.is_empty() {
        writeln!(out, "\n{}", head("logged models"))?;
        for m in &run.outputs.model_outputs {
            writeln!(out, "  {} (step {})", m.model_id, m.step)?;
        }
    }
    writeln!(out, "\n{}", head("artifact files"))?;
    match t.artifacts(&info.artifact_uri) {
        Ok((store, base)) => {
            let mut files = Vec::new();
            let listed = t.block_on(walk(&store, &base, &mut files));
            match listed {
                Ok(()) if files.is_empty() => writeln!(out, "  {}", dim("none"))?,
                Ok(()) => {
                    let shown: Vec<(String, String)> = files
                        .iter()
                        .take(MAX_ARTIFACTS)
                        .map(|(p, size)| (p.clone(), bytes(*size)))
                        .collect();
                    pairs(out, &shown)?;
                    if files.len() > MAX_ARTIFACTS {
                        writeln!(
                            out,
                            "  {}",
                            dim(&format!("… and {} more", files.len() - MAX_ARTIFACTS))
                        )?;
                    }
                }
                Err(e) => writeln!(out, "  {}", dim(&format!("cannot list: {e}")))?,
            }
        }
        Err(e) => writeln!(out, "  {}", dim(&format!("cannot open: {e}")))?,
    }
    let q = SearchQuery {
        filter: format!("run_id = '{}'", info.run_id),
        ..Default::default()
    };
    let versions = t
        .block_on(t.store().search_model_versions(&q))
        .context("searching registered versions of the run")?
        .items;
    if !versions.is_empty() {
        writeln!(out, "\n{}", head("registered as"))?;
        for v in &versions {
            let aliases = if v.aliases.is_empty() {
                String::new()
            } else {
                format!(" @{}", v.aliases.join(" @"))
            };
            writeln!(
                out,
                "  {} v{}{aliases}  {}  {}",
                v.name,
                v.version,
                v.current_stage,
                dim(&v.source)
            )?;
        }
    }
    Ok(Outcome::Success)
}

/// Lists every file under `dir` (depth-first, sorted), stopping after a few more than shown.
async fn walk(
    store: &ArtifactStore,
    dir: &ArtifactPath,
    files: &mut Vec<(String, u64)>,
) -> smelt_track::Result<()> {
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        let mut entries = store.list(&d).await?;
        entries.reverse();
        for e in entries {
            if files.len() > MAX_ARTIFACTS * 10 {
                return Ok(());
            }
            if e.is_dir {
                stack.push(e.path);
            } else {
                let rel = e
                    .path
                    .as_str()
                    .strip_prefix(dir.as_str())
                    .unwrap_or(e.path.as_str())
                    .trim_start_matches('/')
                    .to_string();
                files.push((rel, e.file_size.unwrap_or(0)));
            }
        }
    }
    files.sort();
    Ok(())
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

fn compare(t: &Tracking, a: CompareArgs, out: &mut impl Write) -> Result<Outcome> {
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
                "{} runs did not fit: {} (widen the terminal or compare fewer runs)",
                hidden.len(),
                hidden.join(", ")
            ))
        )?;
    }
    Ok(Outcome::Success)
}

/// Removes the artifacts under a run's artifact URI; returns the bytes freed, or why not.
fn free_artifacts(t: &Tracking, uri: &str) -> std::result::Result<u64, String> {
    let (store, base) = t.artifacts(uri).map_err(|e| e.to_string())?;
    t.block_on(async {
        let size = store.total_size(&base).await?;
        store.delete(&base).await?;
        Ok::<u64, smelt_track::TrackError>(size)
    })
    .map_err(|e| e.to_string())
}

/// Purges runs' artifacts and prints one line per run and a total.
fn report_purged(
    t: &Tracking,
    purged: &[(String, String)],
    names: &BTreeMap<String, String>,
    out: &mut impl Write,
) -> Result<()> {
    let mut freed = 0u64;
    for (id, uri) in purged {
        let name = names.get(id).map(|n| format!(" ({n})")).unwrap_or_default();
        match free_artifacts(t, uri) {
            Ok(size) => {
                freed += size;
                writeln!(
                    out,
                    "purged {}{name}: {} of artifacts freed",
                    short_id(id),
                    bytes(size)
                )?;
            }
            Err(e) => writeln!(
                out,
                "purged {}{name}; {}",
                short_id(id),
                dim(&format!("artifacts at {uri} left in place: {e}"))
            )?,
        }
    }
    writeln!(
        out,
        "{} run{} purged, {} freed",
        purged.len(),
        if purged.len() == 1 { "" } else { "s" },
        bytes(freed)
    )?;
    Ok(())
}

fn delete(t: &Tracking, a: DeleteArgs, out: &mut impl Write) -> Result<Outcome> {
    // Resolve every run first, so a typo deletes nothing.
    let runs = a
        .runs
        .iter()
        .map(|r| t.resolve_run(r))
        .collect::<Result<Vec<_>>>()?;
    let mut names = BTreeMap::new();
    let mut ids = Vec::new();
    for r in &runs {
        let id = r.info.run_id.clone();
        if ids.contains(&id) {
            continue;
        }
        if r.info.lifecycle_stage == "deleted" {
            if !a.purge {
                writeln!(
                    out,
                    "{} {} ({}) was deleted already",
                    dim("skipped"),
                    short_id(&id),
                    r.info.run_name
                )?;
            }
        } else {
            t.block_on(t.store().delete_run(&id))
                .with_context(|| format!("deleting run {id}"))?;
            writeln!(out, "deleted {} ({})", short_id(&id), r.info.run_name)?;
        }
        names.insert(id.clone(), r.info.run_name.clone());
        ids.push(id);
    }
    if a.purge {
        let purged = t
            .block_on(t.store().purge_runs(&ids))
            .context("purging runs")?;
        report_purged(t, &purged, &names, out)?;
    } else {
        writeln!(
            out,
            "{}",
            dim("deleted runs stay in the store until `smelt runs gc` (or `delete --purge`)")
        )?;
    }
    Ok(Outcome::Success)
}

fn gc(t: &Tracking, a: GcArgs, out: &mut impl Write) -> Result<Outcome> {
    let cutoff = match &a.older_than {
        Some(age) => Some(now_ms() - parse_age(age)?),
        None => None,
    };
    let purged = t
        .block_on(t.store().purge_deleted_runs(cutoff))
        .context("purging deleted runs")?;
    // Partial uploads a crash left in the artifact folder (untouched for an hour).
    let (store, _) = t
        .artifacts(smelt_track::tracker::PROXY_SCHEME)
        .context("opening the artifact destination")?;
    let (stale, stale_bytes) = t
        .block_on(store.remove_stale_staging(std::time::Duration::from_secs(3600)))
        .context("removing partial uploads")?;
    if stale > 0 {
        writeln!(
            out,
            "removed {stale} partial upload{} left by a crash ({})",
            if stale == 1 { "" } else { "s" },
            bytes(stale_bytes)
        )?;
    }
    if purged.is_empty() {
        writeln!(
            out,
            "nothing to purge: no deleted runs{}",
            a.older_than
                .as_ref()
                .map(|a| format!(" older than {a}"))
                .unwrap_or_default()
        )?;
        return Ok(Outcome::Success);
    }
    report_purged(t, &purged, &BTreeMap::new(), out)?;
    Ok(Outcome::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_parse_with_their_kind() {
        assert_eq!(
            Col::parse("metrics.auc").ok(),
            Some(Col::Metric("auc".into()))
        );
        assert_eq!(
            Col::parse("params.alpha").ok(),
            Some(Col::Param("alpha".into()))
        );
        assert_eq!(Col::parse("tags.x.y").ok(), Some(Col::Tag("x.y".into())));
        assert!(Col::parse("auc").is_err());
    }

    #[test]
    fn error_metrics_prefer_lower_values() {
        assert!(lower_is_better("valid_rmse"));
        assert!(lower_is_better("train_log_loss"));
        assert!(!lower_is_better("valid_r2"));
        assert!(!lower_is_better("auc"));
        assert!(lower_is_better("fit_seconds"));
    }

    #[test]
    fn held_out_metrics_come_first() {
        let mut names = vec!["fit_seconds", "train_r2", "auc", "valid_r2"];
        names.sort_by_key(|n| (metric_rank(n), *n));
        assert_eq!(names, ["valid_r2", "auc", "train_r2", "fit_seconds"]);
    }
}
