//! `smelt runs`: list, show, compare, delete and garbage-collect tracked runs. This module holds
//! the arguments, the dispatch and what several subcommands share: reading a run's metric, param
//! or tag, the status cell, and purging runs' artifacts.

mod compare;
mod csv;
mod delete;
mod gc;
mod list;
mod show;

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Result, bail};
use clap::{Args, Subcommand, ValueEnum};
use smelt_track::entities::{Run, RunStatus};

use super::store::{StoreArgs, Tracking, short_id};
use super::table::{Cell, Tone};
use crate::Outcome;
use crate::style::{bytes, dim, num};

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
        RunsCommand::List(a) => list::run(&t, a, &mut out),
        RunsCommand::Show(a) => show::run(&t, a, &mut out),
        RunsCommand::Compare(a) => compare::run(&t, a, &mut out),
        RunsCommand::Delete(a) => delete::run(&t, a, &mut out),
        RunsCommand::Gc(a) => gc::run(&t, a, &mut out),
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
}
