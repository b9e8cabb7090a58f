//! `smelt eval MODEL DATA [--target COL] [--slice COL ...] --report out/report.html`: argument
//! parsing and printing over [`smelt_workflow::evaluate::evaluate()`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use serde_json::json;
use smelt_workflow::Event;

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::{head, thousands};

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The model: a directory written by `smelt train`, `tune --out` or `ladder`,
    /// models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/model, or an .onnx file
    pub model: String,

    /// A labelled table (CSV, Parquet, NDJSON, Arrow IPC)
    pub file: PathBuf,

    /// Columns to break the metrics down by, features or not (repeatable)
    #[arg(long = "slice", value_name = "COLUMN")]
    pub slices: Vec<String>,

    /// Also write every plot of the report to this folder, as SVG and PNG
    #[arg(long, value_name = "DIR")]
    pub plots: Option<PathBuf>,

    /// Where the HTML report is written (a JSON twin goes next to it)
    #[arg(long, default_value = "report.html", value_name = "FILE")]
    pub report: PathBuf,

    /// Print the metrics as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: EvalArgs) -> Result<Outcome> {
    let model = crate::model::open::open_for_inference(&args.model)?;
    let mut opts = args.read.load_options()?;
    // The true values are in the column the model was trained to predict, unless told otherwise.
    if opts.schema.target.is_none() {
        opts.schema.target = model.metadata()["target"].as_str().map(str::to_string);
    }
    if opts.schema.target.is_none() {
        bail!("evaluation needs the true values: pass --target COLUMN");
    }
    let data = smelt_data::load(&args.file, &opts)?;
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("note: {m}"),
        Event::Warning(m) => eprintln!("warning: {m}"),
        _ => {}
    };
    let ev = smelt_workflow::evaluate::evaluate(&model, &data, &args.slices, Some(&show))?;
    if let Some(dir) = args.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let json_path = ev.report.write(&args.report)?;
    let pngs = match &args.plots {
        Some(dir) => ev.report.write_plots(dir)?.len(),
        None => 0,
    };
    let mut out = anstream::stdout().lock();
    if args.json {
        let metrics: serde_json::Map<String, serde_json::Value> = ev
            .metrics
            .iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &json!({"rows": ev.rows, "metrics": metrics, "report": args.report.display().to_string(),
                    "json": json_path.display().to_string()}),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} {} on {} ({} rows)",
        head("Evaluated"),
        args.model,
        args.file.display(),
        thousands(ev.rows as u64)
    )?;
    let w = ev.metrics.iter().map(|(k, _)| k.len()).max().unwrap_or(8);
    for (k, v) in &ev.metrics {
        writeln!(out, "  {k:<w$}  {v:.4}")?;
    }
    if let Some(s) = &ev.slices {
        let flagged: Vec<String> = s
            .slices
            .iter()
            .filter(|sl| sl.metrics.iter().any(|m| m.worse))
            .map(|sl| {
                let on: Vec<&str> = sl
                    .metrics
                    .iter()
                    .filter(|m| m.worse)
                    .map(|m| m.metric.as_str())
                    .collect();
                format!(
                    "{}={} ({} rows: {})",
                    sl.column,
                    sl.value,
                    thousands(sl.rows as u64),
                    on.join(", ")
                )
            })
            .collect();
        if !flagged.is_empty() {
            writeln!(
                out,
                "  {} {}",
                head("worse than overall:"),
                flagged.join(", ")
            )?;
        }
    }
    super::print_report_paths(
        &mut out,
        &args.report,
        &json_path,
        args.plots.as_deref(),
        pngs,
    )?;
    Ok(Outcome::Success)
}
