//! `smelt train DATA --target COL --model NAME [--param k=v ...] --out DIR`.

//!
//! Argument parsing and printing over [`smelt_workflow::train()`], which does the work.

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use smelt_eval::calibrate::Method;
use smelt_eval::calibrate::threshold::Objective;
use smelt_workflow::{Event, Metrics, Params, TrainOptions};

use crate::Outcome;
use crate::args::{ReadArgs, TrackArgs};
use crate::style::{dim, head, num, thousands};

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum CalibrateArg {
    /// Platt scaling (two parameters; small data, margin-like scores)
    Sigmoid,
    /// Isotonic regression (a monotone step map; more data)
    Isotonic,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The training table (CSV, Parquet, NDJSON, Arrow IPC)
    #[arg(required_unless_present_any = ["list_models", "help_params"])]
    pub file: Option<PathBuf>,

    /// Estimator to fit (see --list-models)
    #[arg(
        long,
        short,
        value_name = "NAME",
        required_unless_present = "list_models"
    )]
    pub model: Option<String>,

    /// A hyperparameter, with scikit-learn's name: `--param alpha=0.5` (repeatable)
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// Output directory for the fitted pipeline (replaced atomically if it exists)
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present_any = ["list_models", "help_params"]
    )]
    pub out: Option<PathBuf>,

    /// Fraction of rows held out for validation metrics (stratified for classification; 0 = none)
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub valid: f64,

    /// Seed of the validation split
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Time column: left out of the features; the latest --valid share by it is held out, not a random share [default: the schema's time column, when there is one]
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,

    /// Fit the estimator on the features as they are: no imputation, encoding or scaling
    #[arg(long)]
    pub no_preprocess: bool,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Calibrate the classifier's probabilities, cross-fitted on the training rows and saved
    /// with the model (`smelt predict` and serving return calibrated probabilities)
    #[arg(long, value_enum, value_name = "METHOD", help_heading = "Decisions")]
    pub calibrate: Option<CalibrateArg>,

    /// Tune the decision threshold of a binary classifier for this metric (`f1`,
    /// `balanced_accuracy`, …) on out-of-fold probabilities; saved with the model and applied
    /// by `smelt predict`
    #[arg(
        long,
        value_name = "METRIC",
        help_heading = "Decisions",
        conflicts_with = "cost_fn"
    )]
    pub threshold: Option<String>,

    /// Tune the decision threshold to minimise errors' cost: the cost of a false negative
    /// (with --cost-fp)
    #[arg(
        long,
        value_name = "COST",
        requires = "cost_fp",
        help_heading = "Decisions"
    )]
    pub cost_fn: Option<f64>,

    /// The cost of a false positive (with --cost-fn)
    #[arg(
        long,
        value_name = "COST",
        requires = "cost_fn",
        help_heading = "Decisions"
    )]
    pub cost_fp: Option<f64>,

    /// Passes over the training rows (networks; the same as `--param epochs=N`)
    #[arg(long, value_name = "N", help_heading = "Deep learning")]
    pub epochs: Option<usize>,

    /// Rows per mini-batch (networks; `--param batch_size=N`)
    #[arg(long, value_name = "N", help_heading = "Deep learning")]
    pub batch_size: Option<usize>,

    /// Where a network trains: cpu, or cuda / cuda:N in builds with CUDA (`--param device=…`)
    #[arg(long, value_name = "DEVICE", help_heading = "Deep learning")]
    pub device: Option<String>,

    /// Precision of a network's passes: f32, or mixed precision bf16 / f16 with float32
    /// weights (pays on a GPU; `--param precision=…`)
    #[arg(long, value_name = "P", help_heading = "Deep learning")]
    pub precision: Option<String>,

    /// Write a checkpoint after every epoch into DIR (`--param checkpoint_dir=DIR`)
    #[arg(long, value_name = "DIR", help_heading = "Deep learning")]
    pub checkpoint_dir: Option<PathBuf>,

    /// Continue a network's fit from the checkpoint in DIR (`--param resume=DIR`)
    #[arg(long, value_name = "DIR", help_heading = "Deep learning")]
    pub resume: Option<PathBuf>,

    /// List the estimators and exit
    #[arg(long)]
    pub list_models: bool,

    /// List the parameters of --model (name, type, default, allowed values, aliases) and exit
    #[arg(long, requires = "model")]
    pub help_params: bool,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub track: TrackArgs,

    #[command(flatten)]
    pub read: ReadArgs,
}

fn list_models(json_out: bool) -> Result<Outcome> {
    let mut out = anstream::stdout().lock();
    if json_out {
        let v: Vec<Value> = smelt_workflow::models()
            .into_iter()
            .map(|m| json!({"name": m.name, "task": format!("{:?}", m.task).to_lowercase(), "summary": m.summary}))
            .collect();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        let models = smelt_workflow::models();
        let w = models
            .iter()
            .map(|m| m.name.len())
            .max()
            .unwrap_or(5)
            .max(5);
        writeln!(
            out,
            "{}",
            head(&format!("{:<w$}  {:<14}  summary", "model", "task"))
        )?;
        for m in models {
            let task = format!("{:?}", m.task).to_lowercase();
            writeln!(out, "{:<w$}  {:<14}  {}", m.name, task, m.summary)?;
        }
        writeln!(
            out,
            "\nshort names pick the classifier or regressor from the target: random_forest, extra_trees, decision_tree, gradient_boosting (gbdt, lightgbm, xgboost), k_neighbors (knn), svm, mlp (nn), dummy; logistic, linear, lstm, gru"
        )?;
    }
    Ok(Outcome::Success)
}

/// A parameter's default as typed on the command line (`auto`, `1.0`, `null`).
fn show_default(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn help_params(name: &str, json_out: bool) -> Result<Outcome> {
    let model = smelt_workflow::find_model(name)?;
    let specs = model.params();
    let mut out = anstream::stdout().lock();
    if json_out {
        #[derive(serde::Serialize)]
        struct Table {
            model: &'static str,
            params: &'static [smelt_core::params::ParamSpec],
        }
        let table = Table {
            model: model.name,
            params: specs,
        };
        serde_json::to_writer_pretty(&mut out, &table)?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    let dash = |s: String| if s.is_empty() { "-".to_string() } else { s };
    let rows: Vec<[String; 6]> = specs
        .iter()
        .map(|p| {
            [
                p.name.to_string(),
                p.ty.clone(),
                show_default(&p.default),
                dash(p.range.clone().unwrap_or_default()),
                dash(p.aliases.join(", ")),
                p.doc.clone(),
            ]
        })
        .collect();
    let titles = [
        "parameter",
        "type",
        "default",
        "allowed",
        "aliases",
        "description",
    ];
    let mut width = titles.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut s = String::new();
        for (k, c) in cells.iter().enumerate() {
            if k + 1 == cells.len() {
                s.push_str(c);
            } else {
                s.push_str(&format!("{c:<w$}  ", w = width[k]));
            }
        }
        s
    };
    writeln!(out, "{} {}", head(model.name), dim(model.summary))?;
    writeln!(out, "{}", head(&line(&titles.map(String::from))))?;
    for r in &rows {
        writeln!(out, "{}", line(r))?;
    }
    Ok(Outcome::Success)
}

/// `--epochs`, `--batch-size`, `--device`, `--precision`, `--checkpoint-dir` and `--resume`
/// as the parameters they stand for (a model without them says so, as for any unknown
/// parameter).
fn deep_learning_params(args: &mut TrainArgs) {
    let path = |p: &PathBuf| Value::String(p.display().to_string()).to_string();
    let flags = [
        ("epochs", args.epochs.map(|n| n.to_string())),
        ("batch_size", args.batch_size.map(|n| n.to_string())),
        ("device", args.device.clone()),
        ("precision", args.precision.clone()),
        ("checkpoint_dir", args.checkpoint_dir.as_ref().map(path)),
        ("resume", args.resume.as_ref().map(path)),
    ];
    for (name, value) in flags {
        if let Some(v) = value {
            args.params.push(format!("{name}={v}"));
        }
    }
}

/// The spinner's message while a network trains: epoch, losses, throughput.
fn epoch_message(fitting: &str, p: &smelt_core::progress::Progress<'_>) -> String {
    let valid = p
        .valid_loss
        .map(|v| format!(" · valid {v:.4}"))
        .unwrap_or_default();
    format!(
        "{fitting} · epoch {}/{} ({}/{}) · loss {:.4}{valid} · {} rows/s",
        p.epoch,
        p.epochs,
        p.step,
        p.steps,
        p.loss,
        thousands(p.samples_per_second as u64)
    )
}

pub fn run(mut args: TrainArgs) -> Result<Outcome> {
    if args.list_models {
        return list_models(args.json);
    }
    if args.help_params {
        let Some(name) = &args.model else {
            bail!("--help-params needs --model");
        };
        return help_params(name, args.json);
    }
    deep_learning_params(&mut args);
    let (Some(file), Some(model_name), Some(out_dir)) = (&args.file, &args.model, &args.out) else {
        bail!("FILE, --model and --out are required");
    };
    crate::model::take_n_jobs(&mut args.params, &mut args.threads)?;
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    if !(0.0..1.0).contains(&args.valid) {
        bail!("--valid must be in [0, 1), got {}", args.valid);
    }
    // Resolve the estimator and its parameters first: a typo should not wait for the data. A
    // short name (`random_forest`, `gbdt`) waits for the target to pick classifier or regressor.
    let params = Params::parse(&args.params)?;
    let mut opts = args.read.load_options()?;
    // `--time COL` makes the column the table's time column: out of the features, and the
    // axis of the validation split.
    if let Some(t) = &args.time
        && !opts.schema.time.contains(t)
    {
        opts.schema.time.push(t.clone());
    }
    super::check_model_early(model_name, &params, &opts, false)?;
    let data = smelt_data::load(file, &opts)?;
    let info = smelt_workflow::resolve_model(model_name, smelt_workflow::task_of(&data))?;

    let tracker = args.track.open();
    let bar = RefCell::new(ProgressBar::hidden());
    let listening = RefCell::new(None);
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("note: {m}"),
        Event::Note(_) => {}
        Event::Warning(m) => eprintln!("warning: {m}"),
        Event::FitStarted { model, rows } if anstream::stderr().is_terminal() && !args.json => {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            let fitting = format!("fitting {model} on {} rows", thousands(rows as u64));
            b.set_message(fitting.clone());
            b.enable_steady_tick(Duration::from_millis(100));
            // Networks report their epochs: loss, validation loss and rows per second.
            let epochs = b.clone();
            *listening.borrow_mut() = Some(smelt_core::progress::listen(move |p| {
                epochs.set_message(epoch_message(&fitting, p));
            }));
            *bar.borrow_mut() = b;
        }
        Event::FitFinished => {
            listening.borrow_mut().take();
            bar.borrow().finish_and_clear();
        }
        _ => {}
    };
    let threshold = match (&args.threshold, args.cost_fn, args.cost_fp) {
        (Some(m), _, _) => Some(Objective::Metric(smelt_eval::metrics::find(m)?)),
        (None, Some(fneg), Some(fpos)) => {
            if !(fneg.is_finite() && fpos.is_finite() && fneg >= 0.0 && fpos >= 0.0) {
                bail!("--cost-fn and --cost-fp must be non-negative numbers");
            }
            Some(Objective::Cost {
                false_negative: fneg,
                false_positive: fpos,
            })
        }
        _ => None,
    };
    let train_opts = TrainOptions {
        calibrate: args.calibrate.map(|c| match c {
            CalibrateArg::Sigmoid => Method::Sigmoid,
            CalibrateArg::Isotonic => Method::Isotonic,
        }),
        threshold,
        valid: args.valid,
        seed: args.seed,
        time: args.time.as_deref(),
        preprocess: !args.no_preprocess,
        out: Some(out_dir),
        tracker: tracker.as_ref().map(|t| t as &dyn smelt_core::Tracker),
        experiment: &args.track.experiment,
        run_name: args.track.run_name.as_deref(),
        on_event: Some(&show),
    };
    let trained = smelt_workflow::train(&data, model_name, params, &train_opts)?;

    let mut out = anstream::stdout().lock();
    if args.json {
        let mut result =
            json!({"out": out_dir.display().to_string(), "metadata": trained.model.metadata()});
        if let Some(r) = &trained.run {
            result["run"] = json!({"run_id": r.run_id, "experiment": r.experiment});
        }
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} {} on {} ({} train / {} validation rows, {} features) in {:.2}s",
        head("Trained"),
        info.name,
        file.display(),
        thousands(trained.train_rows as u64),
        thousands(trained.valid_rows as u64),
        trained.features,
        trained.fit_seconds
    )?;
    let table: Vec<(&str, &Metrics)> = [
        ("train", &trained.train_metrics),
        ("validation", &trained.valid_metrics),
    ]
    .into_iter()
    .filter(|(_, m)| !m.is_empty())
    .collect();
    if let Some((_, first)) = table.first() {
        let w = first.iter().map(|(n, _)| n.len()).max().unwrap_or(0).max(8);
        write!(out, "  {:<w$}", "")?;
        for (part, _) in &table {
            write!(out, "{part:>12}")?;
        }
        writeln!(out)?;
        for (i, (name, _)) in first.iter().enumerate() {
            write!(out, "  {name:<w$}")?;
            for (_, m) in &table {
                match m.get(i) {
                    Some((_, v)) => write!(out, "{:>12}", num(*v))?,
                    None => write!(out, "{:>12}", "")?,
                }
            }
            writeln!(out)?;
        }
    }
    if let Some(series) = trained.model.predictor().training_history() {
        let get = |name: &str| {
            series
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_slice())
                .unwrap_or(&[])
        };
        let (train_loss, valid_loss) = (get("train_loss"), get("valid_loss"));
        let best = valid_loss
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, v)| format!("; best validation loss {} at epoch {}", num(*v), i + 1))
            .unwrap_or_default();
        writeln!(
            out,
            "  epochs: {}{best}; last training loss {}",
            train_loss.len(),
            train_loss.last().map(|v| num(*v)).unwrap_or_default()
        )?;
    }
    if let Some(m) = trained.decisions.calibration {
        writeln!(
            out,
            "  calibrated: {} (cross-fitted)",
            format!("{m:?}").to_lowercase()
        )?;
    }
    if let Some((t, objective, v)) = &trained.decisions.threshold {
        writeln!(
            out,
            "  decision threshold: {} (tuned for {objective}; out-of-fold {})",
            num(*t),
            num(*v)
        )?;
    }
    writeln!(
        out,
        "{} {}  {}",
        head("Saved"),
        out_dir.display(),
        dim(&format!(
            "(predict: smelt predict {} DATA --out preds.parquet)",
            out_dir.display()
        ))
    )?;
    if let Some(r) = &trained.run {
        let short = &r.run_id[..8.min(r.run_id.len())];
        let hint = match tracker.as_ref().and_then(|t| t.server_uri()) {
            Some(server) => {
                format!("(on {server}: open it in the server's UI or any MLflow client)")
            }
            None => format!("(smelt runs show {short})"),
        };
        writeln!(
            out,
            "{} run {short} in experiment `{}`  {}",
            head("Tracked"),
            r.experiment,
            dim(&hint)
        )?;
    }
    Ok(Outcome::Success)
}
