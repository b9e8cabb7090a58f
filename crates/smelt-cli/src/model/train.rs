//! `smelt train DATA --target COL --model NAME [--param k=v ...] --out DIR`.

use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value, json};
use smelt_core::{Fit, Predictor, Target};
use smelt_data::split::{SplitInputs, SplitSpec, Strategy, split};
use smelt_learn::catalog::{self, ModelInfo, Task};
use smelt_learn::metrics::evaluate;
use smelt_learn::pipeline::PipelineParams;

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::{dim, head, num, thousands};

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// The training table (CSV, Parquet, NDJSON, Arrow IPC)
    #[arg(required_unless_present = "list_models")]
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
    #[arg(long, value_name = "DIR", required_unless_present = "list_models")]
    pub out: Option<PathBuf>,

    /// Fraction of rows held out for validation metrics (stratified for classification; 0 = none)
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub valid: f64,

    /// Seed of the validation split
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Fit the estimator on the features as they are: no imputation, encoding or scaling
    #[arg(long)]
    pub no_preprocess: bool,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// List the estimators and exit
    #[arg(long)]
    pub list_models: bool,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,

    /// Experiment the run is recorded in (created if missing)
    #[arg(
        long,
        default_value = "Default",
        value_name = "NAME",
        help_heading = "Tracking"
    )]
    pub experiment: String,

    /// Name of the recorded run [default: generated]
    #[arg(long, value_name = "NAME", help_heading = "Tracking")]
    pub run_name: Option<String>,

    /// Do not record the run (also: SMELT_NO_TRACK=1). Runs go to ./smelt-runs, or to
    /// SMELT_TRACKING_URI and SMELT_ARTIFACTS_DESTINATION
    #[arg(long, help_heading = "Tracking")]
    pub no_track: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// Every estimator this build knows: smelt-learn's, then smelt-trees'.
fn all_models() -> Vec<&'static ModelInfo> {
    catalog::models()
        .iter()
        .chain(smelt_trees::catalog::models())
        .collect()
}

fn list_models(json_out: bool) -> Result<Outcome> {
    let mut out = anstream::stdout().lock();
    if json_out {
        let v: Vec<Value> = all_models()
            .into_iter()
            .map(|m| json!({"name": m.name, "task": format!("{:?}", m.task).to_lowercase(), "summary": m.summary}))
            .collect();
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(
            out,
            "{}",
            head("model                     task            summary")
        )?;
        for m in all_models() {
            let task = format!("{:?}", m.task).to_lowercase();
            writeln!(out, "{:<25} {:<15} {}", m.name, task, m.summary)?;
        }
    }
    Ok(Outcome::Success)
}

/// The hyperparameters as given on the command line, for the run's params.
fn params_for_log(given: &[String]) -> Vec<(String, String)> {
    given
        .iter()
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

pub fn run(args: TrainArgs) -> Result<Outcome> {
    if args.list_models {
        return list_models(args.json);
    }
    let (Some(file), Some(model_name), Some(out_dir)) = (&args.file, &args.model, &args.out) else {
        bail!("FILE, --model and --out are required");
    };
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    if !(0.0..1.0).contains(&args.valid) {
        bail!("--valid must be in [0, 1), got {}", args.valid);
    }
    // Resolve the estimator first: a typo should not wait for the data to load.
    let info = catalog::find_in(&all_models(), model_name)?;
    let params = catalog::parse_params(&args.params)?;
    let estimator = info.build(params.clone())?;

    let opts = args.read.load_options()?;
    if info.task != Task::Clustering && opts.schema.target.is_none() {
        bail!("{} needs a target: pass --target COLUMN", info.name);
    }
    let mut loaded = smelt_data::load(file, &opts)?;
    let fingerprint = loaded.fingerprint()?;
    // Rows without a target value cannot be learned from: leave them out, and say so.
    let mut dropped = 0;
    if let Some(t) = loaded.schema.target().map(|t| t.name.clone()) {
        let before = loaded.frame.height();
        loaded.frame = loaded.frame.drop_nulls(Some(&[t.as_str()]))?;
        dropped = before - loaded.frame.height();
        if dropped > 0 && !args.json {
            eprintln!(
                "note: left out {} of {} rows whose target `{t}` is missing",
                thousands(dropped as u64),
                thousands(before as u64)
            );
        }
    }
    let data = smelt_data::convert::to_dataset::<f64>(&loaded.frame, &loaded.schema, file)?;
    if data.n_features() == 0 {
        bail!("{}: no feature column to train on", file.display());
    }

    // Validation split.
    let n = data.n_rows();
    // Clustering has no validation metric: it fits on every row.
    let (train_rows, valid_rows) = if args.valid > 0.0 && n >= 5 && info.task != Task::Clustering {
        let labels = match data.target() {
            Some(Target::Classification { codes, .. }) => Some(codes.clone()),
            _ => None,
        };
        let strategy = if labels.is_some() {
            Strategy::Stratified
        } else {
            Strategy::Random
        };
        let inputs = SplitInputs {
            n_rows: n,
            labels,
            groups: None,
            times: None,
        };
        let spec = SplitSpec {
            strategy,
            test: args.valid,
            valid: 0.0,
            seed: args.seed,
        };
        let s = split(&inputs, &spec)?;
        let mut train = s.train;
        train.sort_unstable();
        let mut valid = s.test;
        valid.sort_unstable();
        (train, valid)
    } else {
        ((0..n).collect(), Vec::new())
    };
    let train = data.select_rows(&train_rows)?;
    let valid = data.select_rows(&valid_rows)?;

    let pipeline = if args.no_preprocess {
        PipelineParams::from_boxed(Vec::new(), estimator)
    } else {
        catalog::auto_pipeline(info.prep, estimator)
    };

    let bar = if anstream::stderr().is_terminal() && !args.json {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(format!(
            "fitting {} on {} rows",
            info.name,
            thousands(train.n_rows() as u64)
        ));
        b.enable_steady_tick(Duration::from_millis(100));
        b
    } else {
        ProgressBar::hidden()
    };
    // Record the run: the data (fingerprint, schema, rows), the code (git commit), the
    // parameters, then the metrics and the model. Tracking problems warn; they never fail a fit.
    let tracker = if args.no_track || std::env::var_os("SMELT_NO_TRACK").is_some_and(|v| v != "0") {
        None
    } else {
        match smelt_track::tracker::Tracker::open_project(".") {
            Ok(t) => Some(t),
            Err(e) => {
                eprintln!("warning: not recording this run: {e}");
                None
            }
        }
    };
    let run = tracker.as_ref().and_then(|t| {
        let run = t
            .start_run(&args.experiment, args.run_name.as_deref())
            .map_err(|e| eprintln!("warning: not recording this run: {e}"))
            .ok()?;
        let logged = (|| {
            let mut params: Vec<(String, String)> = vec![
                ("model".into(), info.name.to_string()),
                (
                    "preprocessing".into(),
                    if args.no_preprocess { "none" } else { "auto" }.into(),
                ),
                ("valid_fraction".into(), args.valid.to_string()),
                ("seed".into(), args.seed.to_string()),
            ];
            if let Some(t) = data.target_name() {
                params.push(("target".into(), t.to_string()));
            }
            for (k, v) in &params_for_log(&args.params) {
                params.push((k.clone(), v.clone()));
            }
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            run.log_params(&refs)?;
            let name = file
                .file_stem()
                .map_or_else(|| "data".to_string(), |s| s.to_string_lossy().into_owned());
            let schema = serde_json::to_string(&loaded.schema).unwrap_or_default();
            run.log_dataset(&name, &fingerprint, file, &schema, n as u64, "train")?;
            run.set_tags(&[
                ("smelt.task", &format!("{:?}", info.task).to_lowercase()),
                ("smelt.command", "train"),
            ])?;
            Ok::<_, smelt_track::TrackError>(())
        })();
        match logged {
            Ok(()) => Some(run),
            Err(e) => {
                // Started but not fully described: closed as FAILED rather than left RUNNING.
                eprintln!("warning: not recording this run: {e}");
                let _ = run.finish(false);
                None
            }
        }
    });

    let started = Instant::now();
    let fitted = pipeline.fit(&train);
    bar.finish_and_clear();
    let fitted = match fitted {
        Ok(f) => f,
        Err(e) => {
            if let Some(run) = run {
                let _ = run.finish(false);
            }
            return Err(e).with_context(|| format!("fitting {} on {}", info.name, file.display()));
        }
    };
    let fit_seconds = started.elapsed().as_secs_f64();

    let mut metrics = Map::new();
    let mut table: Vec<(&str, Vec<(&'static str, f64)>)> = Vec::new();
    for (part, d) in [("train", &train), ("validation", &valid)] {
        if d.n_rows() == 0 || info.task == Task::Clustering {
            continue;
        }
        if let Some(t) = d.target() {
            let p = fitted.predict(d)?;
            let m = evaluate(t, &p)?;
            metrics.insert(
                part.to_string(),
                Value::Object(m.iter().map(|(k, v)| (k.to_string(), json!(v))).collect()),
            );
            table.push((part, m));
        }
    }

    let metadata = json!({
        "model": info.name,
        "params": Value::Object(params),
        "preprocessing": if args.no_preprocess { "none" } else { "auto" },
        "target": data.target_name(),
        "data": {
            "path": file.display().to_string(),
            "fingerprint": fingerprint,
            "rows": n,
            "rows_without_target": dropped,
            "features": data.n_features(),
        },
        "split": {"valid_fraction": args.valid, "seed": args.seed,
                  "train_rows": train.n_rows(), "valid_rows": valid.n_rows()},
        "metrics": Value::Object(metrics.clone()),
        "fit_seconds": fit_seconds,
    });
    smelt_core::artifact::save(&fitted, out_dir, metadata.clone())?;

    let tracked = run.and_then(|run| {
        let mut points: Vec<(String, f64)> = vec![("fit_seconds".into(), fit_seconds)];
        for (part, m) in &table {
            let prefix = if *part == "validation" {
                "valid"
            } else {
                "train"
            };
            points.extend(m.iter().map(|(k, v)| (format!("{prefix}_{k}"), *v)));
        }
        let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let (id, exp) = (run.run_id.clone(), args.experiment.clone());
        let logged = run
            .log_metrics(&refs, 0)
            .and_then(|()| run.log_artifacts(out_dir, "model"));
        match logged {
            Ok(_) => match run.finish(true) {
                Ok(()) => Some((id, exp)),
                Err(e) => {
                    eprintln!("warning: the run was recorded but could not be closed: {e}");
                    None
                }
            },
            Err(e) => {
                eprintln!("warning: the run was only partly recorded: {e}");
                let _ = run.finish(false);
                None
            }
        }
    });

    let mut out = anstream::stdout().lock();
    if args.json {
        let mut result = json!({"out": out_dir.display().to_string(), "metadata": metadata});
        if let Some((id, exp)) = &tracked {
            result["run"] = json!({"run_id": id, "experiment": exp});
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
        thousands(train.n_rows() as u64),
        thousands(valid.n_rows() as u64),
        data.n_features(),
        fit_seconds
    )?;
    if !table.is_empty() {
        let names: Vec<&str> = table[0].1.iter().map(|(k, _)| *k).collect();
        write!(out, "  {:<12}", "")?;
        for (part, _) in &table {
            write!(out, "{part:>12}")?;
        }
        writeln!(out)?;
        for (i, name) in names.iter().enumerate() {
            write!(out, "  {name:<12}")?;
            for (_, m) in &table {
                match m.get(i) {
                    Some((_, v)) => write!(out, "{:>12}", num(*v))?,
                    None => write!(out, "{:>12}", "")?,
                }
            }
            writeln!(out)?;
        }
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
    if let Some((id, exp)) = tracked {
        let short = &id[..8.min(id.len())];
        let hint = match tracker.as_ref().and_then(|t| t.server_uri()) {
            Some(server) => {
                format!("(on {server}: open it in the server's UI or any MLflow client)")
            }
            None => format!("(smelt runs show {short})"),
        };
        writeln!(
            out,
            "{} run {short} in experiment `{exp}`  {}",
            head("Tracked"),
            dim(&hint)
        )?;
    }
    Ok(Outcome::Success)
}
