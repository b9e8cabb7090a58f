//! `smelt cv DATA --target COL --model NAME [--param k=v ...] [--metric M ...]`: argument
//! parsing and printing over [`smelt_workflow::cross_validate()`].

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use smelt_workflow::{Event, Params, TrainOptions};

use super::FoldArgs;
use crate::Outcome;
use crate::args::{ReadArgs, TrackArgs};
use crate::style::{dim, head, thousands};

#[derive(Args, Debug)]
pub struct CvArgs {
    /// The table (CSV, Parquet, NDJSON, Arrow IPC)
    #[arg(required_unless_present = "list_metrics")]
    pub file: Option<PathBuf>,

    /// Estimator to cross-validate (see `smelt train --list-models`)
    #[arg(
        long,
        short,
        value_name = "NAME",
        required_unless_present = "list_metrics"
    )]
    pub model: Option<String>,

    /// A hyperparameter, with scikit-learn's name: `--param alpha=0.5` (repeatable)
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// A metric to score, by name or scikit-learn scorer name (repeatable) [default: the
    /// task's standard metrics; see --list-metrics]
    #[arg(long = "metric", value_name = "NAME")]
    pub metrics: Vec<String>,

    /// Fit the estimator on the features as they are: no imputation, encoding or scaling
    #[arg(long)]
    pub no_preprocess: bool,

    /// Worker threads, folds and estimators together (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// List the metrics and exit
    #[arg(long)]
    pub list_metrics: bool,

    /// A learning curve instead of one cross-validation: the first metric for models trained on
    /// growing shares of each fold's training rows (--train-sizes), with its plot (--plot)
    #[arg(long, conflicts_with = "validation_curve")]
    pub learning_curve: bool,

    /// The shares of each fold's training rows in --learning-curve
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "FRACTIONS",
        default_value = "0.1,0.325,0.55,0.775,1"
    )]
    pub train_sizes: Vec<f64>,

    /// A validation curve instead of one cross-validation: the first metric with one parameter
    /// set to each value, e.g. `--validation-curve alpha=0.01,0.1,1,10`, with its plot (--plot)
    #[arg(long, value_name = "PARAM=V1,V2,...")]
    pub validation_curve: Option<String>,

    /// Where a curve's plot is written: .svg or .png [default: learning_curve.svg or
    /// validation_curve.svg]
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,

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

pub fn run(mut args: CvArgs) -> Result<Outcome> {
    if args.list_metrics {
        return super::list_metrics(args.json);
    }
    let (Some(file), Some(model)) = (&args.file, &args.model) else {
        bail!("FILE and --model are required");
    };
    crate::model::take_n_jobs(&mut args.params, &mut args.threads)?;
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let params = Params::parse(&args.params)?;
    let opts = args.read.load_options()?;
    crate::model::check_model_early(model, &params, &opts, true)?;
    let data = smelt_data::load(file, &opts)?;
    let info = smelt_workflow::resolve_model(model, smelt_workflow::task_of(&data))?;
    if args.learning_curve || args.validation_curve.is_some() {
        let curve = super::curve::CurveArgs {
            metrics: &args.metrics,
            json: args.json,
            no_preprocess: args.no_preprocess,
            spec: args.folds.spec(),
            validation_curve: args.validation_curve.as_deref(),
            train_sizes: &args.train_sizes,
            plot: args.plot.clone(),
        };
        return super::curve::run(&curve, &data, model, params);
    }
    let tracker = args.track.open();
    let bar = RefCell::new(None::<ProgressBar>);
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("note: {m}"),
        Event::Warning(m) => eprintln!("warning: {m}"),
        Event::FoldDone { total, .. } if anstream::stderr().is_terminal() && !args.json => {
            let mut b = bar.borrow_mut();
            let b = b.get_or_insert_with(|| {
                let b = ProgressBar::new(total as u64);
                b.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} folds [{elapsed}]")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b
            });
            b.inc(1);
        }
        _ => {}
    };
    let spinner = if anstream::stderr().is_terminal() && !args.json {
        let s = ProgressBar::new_spinner();
        s.set_message(format!(
            "cross-validating {} ({} folds)",
            info.name, args.folds.folds
        ));
        s.enable_steady_tick(std::time::Duration::from_millis(100));
        Some(s)
    } else {
        None
    };
    let train_opts = TrainOptions {
        preprocess: !args.no_preprocess,
        tracker: tracker.as_ref().map(|t| t as &dyn smelt_core::Tracker),
        experiment: &args.track.experiment,
        run_name: args.track.run_name.as_deref(),
        on_event: Some(&show),
        ..TrainOptions::default()
    };
    let cv = smelt_workflow::cross_validate(
        &data,
        model,
        params,
        &args.folds.spec(),
        &args.metrics,
        &train_opts,
    );
    if let Some(s) = spinner {
        s.finish_and_clear();
    }
    if let Some(b) = bar.borrow().as_ref() {
        b.finish_and_clear();
    }
    let cv = cv?;
    let mut out = anstream::stdout().lock();
    if args.json {
        let metrics: Vec<_> = cv.result.test.iter().map(|s| json!(s)).collect();
        let folds: Vec<_> = cv
            .result
            .folds
            .iter()
            .map(|f| {
                json!({"fold": f.index, "train_rows": f.train_rows, "test_rows": f.test_rows,
                "fit_seconds": f.fit_seconds, "scores": cv.result.test.iter().zip(&f.test)
                    .map(|(s, v)| (s.metric.clone(), json!(v))).collect::<serde_json::Map<_, _>>()})
            })
            .collect();
        let mut result = json!({"model": cv.info.name, "rows": cv.rows, "folds": cv.folds.splitter,
            "metrics": metrics, "per_fold": folds, "warnings": cv.folds.warnings});
        if let Some(r) = &cv.run {
            result["run"] = json!({"run_id": r.run_id, "experiment": r.experiment});
        }
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} {} on {} ({} rows) with {}",
        head("Cross-validated"),
        cv.info.name,
        file.display(),
        thousands(cv.rows as u64),
        cv.folds.splitter
    )?;
    let w = cv
        .result
        .test
        .iter()
        .map(|s| s.metric.chars().count() + 2)
        .max()
        .unwrap_or(6)
        .max(11);
    let f4 = |v: f64| format!("{v:.4}");
    write!(out, "  {:<w$} {:>10} {:>10}", "metric", "mean", "± std")?;
    for f in &cv.result.folds {
        write!(out, " {:>9}", format!("fold {}", f.index))?;
    }
    writeln!(out)?;
    for s in &cv.result.test {
        let better = if s.greater_is_better { "↑" } else { "↓" };
        write!(
            out,
            "  {:<w$} {:>10} {:>10}",
            format!("{} {better}", s.metric),
            f4(s.mean),
            f4(s.std)
        )?;
        for v in &s.folds {
            write!(out, " {:>9}", f4(*v))?;
        }
        writeln!(out)?;
    }
    write!(
        out,
        "  {:<w$} {:>10} {:>10}",
        "fit seconds",
        format!("{:.3}", cv.result.mean_fit_seconds()),
        ""
    )?;
    for f in &cv.result.folds {
        write!(out, " {:>9}", format!("{:.3}", f.fit_seconds))?;
    }
    writeln!(out)?;
    if let Some(r) = &cv.run {
        let short = &r.run_id[..8.min(r.run_id.len())];
        writeln!(
            out,
            "{} run {short} in experiment `{}` with a child run per fold  {}",
            head("Tracked"),
            r.experiment,
            dim(&format!("(smelt runs show {short})"))
        )?;
    }
    Ok(Outcome::Success)
}
