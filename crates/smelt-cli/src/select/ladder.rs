//! `smelt ladder DATA --target COL [--budget 5m] [--time COL | --group COL]`: argument parsing
//! and printing over [`smelt_workflow::ladder()`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use smelt_core::catalog::Task;
use smelt_workflow::{Event, LadderSpec, TrainOptions};

use super::FoldArgs;
use super::tune::parse_duration;
use crate::Outcome;
use crate::args::{ReadArgs, TrackArgs};
use crate::style::{dim, head, thousands};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TaskArg {
    Classification,
    Regression,
}

#[derive(Args, Debug)]
pub struct LadderArgs {
    /// The table (CSV, Parquet, NDJSON, Arrow IPC)
    pub file: PathBuf,

    /// Classification or regression [default: from the target's type]
    #[arg(long, value_enum)]
    pub task: Option<TaskArg>,

    /// Time for the whole ladder (`90s`, `5m`); tuning uses what the default fits leave
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub budget: String,

    /// Metrics to report; the first ranks the rungs (repeatable) [default: ROC-AUC for two
    /// classes, accuracy for more, R² for regression, then the task's standard metrics]
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,

    /// Columns to break the best rung's scores down by in the report (repeatable) [default:
    /// the group column and small categorical features]
    #[arg(long = "slice", value_name = "COLUMN")]
    pub slices: Vec<String>,

    /// Only the default parameters (no tuning of the strong rungs)
    #[arg(long)]
    pub no_tune: bool,

    /// Where the best rung's model is saved
    #[arg(long, default_value = "ladder/model", value_name = "DIR")]
    pub out: PathBuf,

    /// Also write every plot of the report to this folder, as SVG and PNG
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,

    /// Where the HTML report is written (a JSON twin goes next to it)
    #[arg(long, default_value = "ladder/report.html", value_name = "FILE")]
    pub report: PathBuf,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub folds: FoldArgs,

    #[command(flatten)]
    pub track: TrackArgs,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: LadderArgs) -> Result<Outcome> {
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let budget = parse_duration(&args.budget)?;
    let opts = args.read.load_options()?;
    if opts.schema.target.is_none() {
        bail!("the ladder needs a target: pass --target COLUMN");
    }
    let data = smelt_data::load(&args.file, &opts)?;
    let tracker = args.track.open();
    let tty = anstream::stderr().is_terminal() && !args.json;
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("{} {m}", dim("note:")),
        Event::Warning(m) => eprintln!("warning: {m}"),
        Event::RungStarted {
            index,
            total,
            label,
        } if tty => {
            eprint!("{}", dim(&format!("  [{}/{total}] {label} …\r", index + 1)));
        }
        Event::RungDone {
            index,
            total,
            label,
            metric,
            mean,
            std,
            seconds,
            skipped,
        } if !args.json => {
            let score = match (mean, std, skipped) {
                (Some(m), Some(s), _) => format!("{metric} {m:.4} ± {s:.4}"),
                (_, _, Some(why)) => format!("skipped: {why}"),
                _ => "-".into(),
            };
            eprintln!(
                "  [{}/{total}] {label:<28} {score:<32} {seconds:>7.1}s",
                index + 1
            );
        }
        Event::FitStarted { model, rows } if !args.json => {
            eprintln!(
                "{}",
                dim(&format!(
                    "  refitting {model} on all {} rows …",
                    thousands(rows as u64)
                ))
            );
        }
        _ => {}
    };
    let spec = LadderSpec {
        task: args.task.map(|t| match t {
            TaskArg::Classification => Task::Classification,
            TaskArg::Regression => Task::Regression,
        }),
        cv: args.folds.spec(),
        budget,
        tune: !args.no_tune,
        metrics: args.metrics.clone(),
        seed: args.folds.seed,
    };
    let train_opts = TrainOptions {
        out: Some(&args.out),
        tracker: tracker.as_ref().map(|t| t as &dyn smelt_core::Tracker),
        experiment: &args.track.experiment,
        run_name: args.track.run_name.as_deref(),
        on_event: Some(&show),
        ..TrainOptions::default()
    };
    if !args.json {
        eprintln!(
            "{} {} with a budget of {}",
            head("Ladder"),
            args.file.display(),
            args.budget
        );
    }
    let l = smelt_workflow::ladder(&data, &spec, &train_opts)?;
    let name = args.file.file_name().map_or_else(
        || args.file.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let report = smelt_workflow::ladder_report::ladder_report(&l, &name, &args.slices)?;
    if let Some(dir) = args.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let json_path = report.write(&args.report)?;
    let pngs = match &args.plots {
        Some(dir) => report.write_plots(dir)?.len(),
        None => 0,
    };
    let primary = l.scorers[0];
    let mut out = anstream::stdout().lock();
    if args.json {
        let mut v = report.to_json();
        v["model"] = json!(args.out.display().to_string());
        v["report"] = json!(args.report.display().to_string());
        if let Some(r) = &l.run {
            v["run"] = json!({"run_id": r.run_id, "experiment": r.experiment});
        }
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(out)?;
    let w = l
        .rungs
        .iter()
        .map(|r| r.label.chars().count())
        .max()
        .unwrap_or(10)
        + 2;
    // The first four metrics fit a terminal; the report has them all.
    let shown = &l.scorers[..l.scorers.len().min(4)];
    write!(out, "  {:<w$}", "rung")?;
    for s in shown {
        write!(out, " {:>17}", s.name)?;
    }
    writeln!(out, " {:>9}", "seconds")?;
    for (i, r) in l.rungs.iter().enumerate() {
        let mark = if i == l.best { "★" } else { " " };
        write!(out, "{mark} {:<w$}", r.label)?;
        for s in shown {
            match r.result.as_ref().and_then(|x| x.metric(s.name)) {
                Some(m) => write!(out, " {:>17}", format!("{:.4} ± {:.4}", m.mean, m.std))?,
                None => write!(out, " {:>17}", "-")?,
            }
        }
        writeln!(out, " {:>9.1}", r.seconds)?;
    }
    writeln!(out)?;
    for s in &l.summary {
        writeln!(out, "  {s}")?;
    }
    for n in &l.notes {
        writeln!(out, "  {}", dim(&format!("note: {n}")))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "{} {} ({}, ranked by {}) in {:.1}s",
        head("Best"),
        l.best_rung().label,
        l.best_rung().info.name,
        primary.name,
        l.seconds
    )?;
    writeln!(
        out,
        "{} {}  {}",
        head("Saved"),
        args.out.display(),
        dim(&format!(
            "(predict: smelt predict {} DATA --out preds.parquet)",
            args.out.display()
        ))
    )?;
    super::print_report_paths(
        &mut out,
        &args.report,
        &json_path,
        args.plots.as_deref(),
        pngs,
    )?;
    if let Some(r) = &l.run {
        let short = &r.run_id[..8.min(r.run_id.len())];
        writeln!(
            out,
            "{} run {short} in experiment `{}`, the best model as its artifact  {}",
            head("Tracked"),
            r.experiment,
            dim(&format!(
                "(register it: smelt models register {short} --name NAME)"
            ))
        )?;
    }
    Ok(Outcome::Success)
}
