//! Training by name: what `smelt train` does, as a library call.
//!
//! [`train`] takes a loaded table, a catalogue name and parameters, and:
//! 1. builds the estimator (unknown or invalid parameters fail here, before any work);
//! 2. leaves out rows without a target value (reported as a [`Event::Note`]);
//! 3. holds out a validation split: the latest rows when the table has a time column (the
//!    schema's, or [`TrainOptions::time`]), else a seeded random split (stratified for
//!    classification);
//! 4. puts the model's default preprocessing in front (impute, one-hot encode, scale — see
//!    `smelt_learn::catalog::auto_pipeline`), unless told not to;
//! 5. fits, computes train and validation metrics, and records the run through a
//!    [`Tracker`] when one is given (params, dataset fingerprint, metrics,
//!    the model as an artifact). Tracking problems are reported as [`Event::Warning`]s and
//!    never fail a fit.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Map, Value, json};
use smelt_core::catalog::{ModelInfo, Task};
use smelt_core::track::DatasetLog;
use smelt_core::{Dataset, Run, Target, Tracker};
use smelt_data::Loaded;
use smelt_data::split::{SplitInputs, SplitSpec, Strategy, split};
use smelt_eval::metrics::evaluate;

use crate::catalog::{Params, model_for, with_preprocessing};
use crate::decide::{Decisions, fit_final};
use crate::error::{Error, Result};
pub use crate::event::Event;
use crate::model::Model;
use crate::prepare::prepare;

/// Named metric values of one part of the data (`r2`, `rmse`, `mae`; `accuracy`, `log_loss`).
pub type Metrics = Vec<(&'static str, f64)>;

/// How [`train`] runs; `TrainOptions::default()` is `smelt train`'s defaults.
#[derive(Clone, Copy)]
pub struct TrainOptions<'a> {
    /// Fraction of rows held out for validation metrics, in `[0, 1)` (0: none). Default 0.2.
    pub valid: f64,
    /// Seed of the validation split. Default 0.
    pub seed: u64,
    /// Hold out the latest `valid` share of the rows by this column (a temporal split, no
    /// shuffling). Default: the schema's `time` column when it has one; without one, a random
    /// split.
    pub time: Option<&'a str>,
    /// Put the model's default preprocessing in front of it. Default true.
    pub preprocess: bool,
    /// Where the fitted model is saved (atomically), if anywhere.
    pub out: Option<&'a Path>,
    /// Records the run when given.
    pub tracker: Option<&'a dyn Tracker>,
    /// Experiment of the recorded run. Default `Default`.
    pub experiment: &'a str,
    /// Name of the recorded run (generated when `None`).
    pub run_name: Option<&'a str>,
    /// Called with notes, warnings and the fit's start and end.
    pub on_event: Option<&'a dyn Fn(Event<'_>)>,
    /// Calibrate the classifier's probabilities (cross-fitted, saved with the model).
    pub calibrate: Option<smelt_eval::calibrate::Method>,
    /// Tune the decision threshold of a binary classifier for a metric or a cost (on
    /// out-of-fold probabilities of the training rows; saved with the model).
    pub threshold: Option<smelt_eval::calibrate::threshold::Objective>,
}

impl Default for TrainOptions<'_> {
    fn default() -> Self {
        TrainOptions {
            valid: 0.2,
            seed: 0,
            time: None,
            preprocess: true,
            out: None,
            tracker: None,
            experiment: "Default",
            run_name: None,
            on_event: None,
            calibrate: None,
            threshold: None,
        }
    }
}

impl std::fmt::Debug for TrainOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrainOptions")
            .field("valid", &self.valid)
            .field("seed", &self.seed)
            .field("time", &self.time)
            .field("preprocess", &self.preprocess)
            .field("out", &self.out)
            .field("tracker", &self.tracker)
            .field("experiment", &self.experiment)
            .field("run_name", &self.run_name)
            .finish_non_exhaustive()
    }
}

/// A recorded run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRecord {
    /// The run's id.
    pub run_id: String,
    /// The experiment's name.
    pub experiment: String,
}

/// What [`train`] returns.
#[derive(Debug)]
pub struct Trained {
    /// The fitted model (with its preprocessing) and its metadata.
    pub model: Model,
    /// The catalogue entry of the model.
    pub info: &'static ModelInfo,
    /// Metrics on the training rows (none for clustering).
    pub train_metrics: Metrics,
    /// Metrics on the validation rows (none without a split).
    pub valid_metrics: Metrics,
    /// Rows fitted on.
    pub train_rows: usize,
    /// Rows held out.
    pub valid_rows: usize,
    /// Feature columns.
    pub features: usize,
    /// Rows left out because their target was missing.
    pub rows_without_target: usize,
    /// Seconds the fit took.
    pub fit_seconds: f64,
    /// The run, when one was recorded completely.
    pub run: Option<RunRecord>,
    /// Calibration and the decision threshold, when asked.
    pub decisions: Decisions,
}

impl Model {
    /// Fits the catalogue model `name` on `data` with [`TrainOptions::default()`]: the
    /// model's default preprocessing, 20 % of the rows held out for validation metrics, no
    /// tracking.
    pub fn train(data: &Loaded, name: &str, params: Params) -> Result<Trained> {
        train(data, name, params, &TrainOptions::default())
    }

    /// [`Model::train`] with options (validation fraction, seed, tracking, output directory).
    pub fn train_with(
        data: &Loaded,
        name: &str,
        params: Params,
        opts: &TrainOptions<'_>,
    ) -> Result<Trained> {
        train(data, name, params, opts)
    }
}

/// Fits the catalogue model `name` on `data` (see the module docs).
pub fn train(
    data: &Loaded,
    name: &str,
    params: Params,
    opts: &TrainOptions<'_>,
) -> Result<Trained> {
    let emit = |e: Event<'_>| {
        if let Some(f) = opts.on_event {
            f(e);
        }
    };
    let warn = |msg: String| emit(Event::Warning(&msg));
    if !(0.0..1.0).contains(&opts.valid) {
        return Err(Error::Option {
            option: "the validation fraction",
            allowed: "in [0, 1)",
            got: opts.valid.to_string(),
        });
    }
    // Resolve the estimator first: a typo should not wait for the data.
    let info = model_for(name, data)?;
    let estimator = info.build(params.as_map().clone())?;
    if info.task != Task::Clustering && data.schema.target().is_none() {
        return Err(Error::NoTarget {
            model: info.name.to_string(),
        });
    }
    let path = data.path.as_path();
    let reads_text = estimator.reads_text();
    if let Some(n) = crate::prepare::left_out_note(&data.schema, reads_text) {
        emit(Event::Note(&n));
    }
    let prepared = prepare(data, opts.on_event)?;
    let (all, dropped, fingerprint) = (
        &prepared.data,
        prepared.rows_without_target,
        prepared.fingerprint.as_str(),
    );
    let n = all.n_rows();
    // Free-text columns count as inputs of a model that reads them.
    let text_inputs = if reads_text { all.texts().len() } else { 0 };
    // Clustering has no validation metric: it fits on every row.
    let time = smelt_data::keys::column_for(&prepared.table, opts.time, smelt_core::Role::Time)?;
    let (train_rows, valid_rows) = if opts.valid > 0.0 && n >= 5 && info.task != Task::Clustering {
        match &time {
            Some(col) => {
                emit(Event::Note(&format!(
                    "validation rows: the latest {:.0} % by `{col}` (a temporal split)",
                    opts.valid * 100.0
                )));
                temporal_split(&prepared.table, col, opts.valid)?
            }
            None => validation_split(all, opts.valid, opts.seed)?,
        }
    } else {
        ((0..n).collect(), Vec::new())
    };
    let train = all.select_rows(&train_rows)?;
    let valid = all.select_rows(&valid_rows)?;
    let pipeline = with_preprocessing(info, estimator, opts.preprocess);

    // Record the run: the data (fingerprint, schema, rows), the code (git commit), the
    // parameters; then the metrics and the model.
    let run = opts.tracker.and_then(|t| {
        let run = t
            .start_run(opts.experiment, opts.run_name)
            .map_err(|e| warn(format!("not recording this run: {e}")))
            .ok()?;
        let described = describe_run(
            run.as_ref(),
            info,
            &params,
            opts,
            all,
            &DatasetLog {
                name: &path
                    .file_stem()
                    .map_or_else(|| "data".to_string(), |s| s.to_string_lossy().into_owned()),
                fingerprint,
                source: path,
                schema_json: &serde_json::to_string(&data.schema).unwrap_or_default(),
                rows: n as u64,
                context: "train",
            },
        );
        match described {
            Ok(()) => Some(run),
            Err(e) => {
                // Started but not fully described: closed as FAILED rather than left RUNNING.
                warn(format!("not recording this run: {e}"));
                let _ = run.finish(false);
                None
            }
        }
    });

    emit(Event::FitStarted {
        model: info.name,
        rows: train.n_rows(),
    });
    let started = Instant::now();
    // A network's epochs are logged to the run as they end (loss curves grow live in the
    // UI) when the fit is one fit: calibration and threshold tuning fit several times.
    let live = run.is_some() && opts.calibrate.is_none() && opts.threshold.is_none();
    let mut live_epochs = 0usize;
    let fitted = if live {
        let (seed, train) = (opts.seed, &train);
        fit_logging_epochs(run.as_deref(), &mut live_epochs, move || {
            fit_final(Box::new(pipeline), train, None, None, seed)
        })
    } else {
        fit_final(
            Box::new(pipeline),
            &train,
            opts.calibrate,
            opts.threshold,
            opts.seed,
        )
    };
    emit(Event::FitFinished);
    let (fitted, decisions) = match fitted {
        Ok(f) => f,
        Err(e) => {
            if let Some(run) = run {
                let _ = run.finish(false);
            }
            return Err(match e {
                Error::Model(source) => Error::Fit {
                    model: info.name.to_string(),
                    path: path.to_path_buf(),
                    source: Box::new(source),
                },
                other => other,
            });
        }
    };
    let fit_seconds = started.elapsed().as_secs_f64();

    let mut train_metrics = Metrics::new();
    let mut valid_metrics = Metrics::new();
    let mut train_prediction = None;
    let mut outcomes = None;
    for (k, (d, out)) in [(&train, &mut train_metrics), (&valid, &mut valid_metrics)]
        .into_iter()
        .enumerate()
    {
        if d.n_rows() == 0 || info.task == Task::Clustering {
            continue;
        }
        if let Some(t) = d.target() {
            // The training rows' predictions, from what the fit already holds when it can
            // (boosting's margins) instead of predicting them again.
            let known = if k == 0 {
                fitted.training_prediction()
            } else {
                None
            };
            let p = match known {
                Some(p) => p,
                None => fitted.predict(d)?,
            };
            *out = evaluate(t, &p, None)?;
            if k == 0 {
                train_prediction = Some(p);
            } else {
                outcomes = smelt_core::profile::OutcomeSample::new(t, &p);
            }
        }
    }
    // What monitoring compares live data with: the training rows, the model's predictions on
    // them, the target.
    // A classifier's outcomes on validation rows let monitoring estimate its performance.
    let mut profile = smelt_core::profile::ReferenceProfile::new(&train, train_prediction.as_ref());
    profile.outcomes = outcomes;
    let mut metrics = Map::new();
    for (part, m) in [("train", &train_metrics), ("validation", &valid_metrics)] {
        if !m.is_empty() {
            metrics.insert(part.to_string(), metrics_json(m));
        }
    }
    let preprocessing = if opts.preprocess { "auto" } else { "none" };
    let metadata = json!({
        "model": info.name,
        "params": Value::Object(params.as_map().clone()),
        "preprocessing": preprocessing,
        "target": all.target_name(),
        "data": {
            "path": path.display().to_string(),
            "fingerprint": fingerprint,
            "rows": n,
            "rows_without_target": dropped,
            "features": all.n_features() + text_inputs,
        },
        "split": {"valid_fraction": opts.valid, "seed": opts.seed, "time": time,
                  "train_rows": train.n_rows(), "valid_rows": valid.n_rows()},
        "metrics": Value::Object(metrics),
        "fit_seconds": fit_seconds,
        "calibration": decisions.calibration,
        "threshold": decisions.threshold.as_ref().map(|(t, o, v)| json!({"value": t, "objective": o, "out_of_fold": v})),
        "profile": serde_json::to_value(&profile).unwrap_or(Value::Null),
    });
    let model = Model::new(fitted, metadata);
    if let Some(out) = opts.out {
        model.save(out)?;
    }

    let run = run.and_then(|run| {
        let mut points: Vec<(String, f64)> = vec![("fit_seconds".into(), fit_seconds)];
        for (prefix, m) in [("train", &train_metrics), ("valid", &valid_metrics)] {
            points.extend(m.iter().map(|(k, v)| (format!("{prefix}_{k}"), *v)));
        }
        let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let id = run.id().to_string();
        let logged = run
            .log_metrics(&refs, 0)
            .and_then(|()| log_history(run.as_ref(), model.predictor(), live_epochs > 0))
            .and_then(|()| log_model(run.as_ref(), &model, opts.out));
        match logged {
            Ok(()) => match run.finish(true) {
                Ok(()) => Some(RunRecord {
                    run_id: id,
                    experiment: opts.experiment.to_string(),
                }),
                Err(e) => {
                    warn(format!("the run was recorded but could not be closed: {e}"));
                    None
                }
            },
            Err(e) => {
                warn(format!("the run was only partly recorded: {e}"));
                let _ = run.finish(false);
                None
            }
        }
    });

    Ok(Trained {
        decisions,
        model,
        info,
        train_metrics,
        valid_metrics,
        train_rows: train.n_rows(),
        valid_rows: valid.n_rows(),
        features: all.n_features() + text_inputs,
        rows_without_target: dropped,
        fit_seconds,
        run,
    })
}

/// Train and validation row indices, each in time order: the latest `fraction` of the rows
/// by the time column `col` are held out.
fn temporal_split(table: &Loaded, col: &str, fraction: f64) -> Result<(Vec<usize>, Vec<usize>)> {
    let (times, _) = smelt_data::keys::time_values(table, col)?;
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by_key(|&i| times[i]);
    let n_valid = ((times.len() as f64 * fraction).round() as usize).clamp(1, times.len() - 1);
    let valid = order.split_off(times.len() - n_valid);
    Ok((order, valid))
}

/// Sorted train and validation row indices: stratified for classification targets.
fn validation_split(
    data: &Dataset<f64>,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
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
        n_rows: data.n_rows(),
        labels,
        groups: None,
        times: None,
    };
    let spec = SplitSpec {
        strategy,
        test: fraction,
        valid: 0.0,
        seed,
    };
    let s = split(&inputs, &spec)?;
    let mut train = s.train;
    train.sort_unstable();
    let mut valid = s.test;
    valid.sort_unstable();
    Ok((train, valid))
}

/// The run's params (the model, how it was trained, the hyperparameters as given), its
/// dataset and tags.
/// A network's per-epoch series (`train_loss`, `valid_loss`, `learning_rate`) as metric
/// histories, step = epoch (1-based), so any MLflow UI draws the loss curves.
/// `skip_losses`: the loss series were logged live, epoch by epoch ([`fit_logging_epochs`]).
fn log_history(
    run: &dyn Run,
    model: &dyn smelt_core::Predictor,
    skip_losses: bool,
) -> std::result::Result<(), smelt_core::TrackingError> {
    let Some(mut series) = model.training_history() else {
        return Ok(());
    };
    if skip_losses {
        series.retain(|(name, _)| name != "train_loss" && name != "valid_loss");
    }
    let epochs = series.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
    for e in 0..epochs {
        let points: Vec<(&str, f64)> = series
            .iter()
            .filter_map(|(name, v)| v.get(e).map(|&x| (name.as_str(), x)))
            .collect();
        run.log_metrics(&points, e as i64 + 1)?;
    }
    Ok(())
}

/// Runs `fit` on a scoped thread while this one logs each finished epoch's `train_loss` and
/// `valid_loss` (from the training loop's progress reports, [`smelt_core::progress`]) to
/// `run`, step = epoch; `logged` counts the epochs logged. Reports from fits on other
/// threads (other tests, other requests) are not this fit's and are ignored.
fn fit_logging_epochs<T: Send>(
    run: Option<&(dyn Run + '_)>,
    logged: &mut usize,
    fit: impl FnOnce() -> T + Send,
) -> T {
    let Some(run) = run else {
        return fit();
    };
    let (tx, rx) = std::sync::mpsc::channel::<(usize, f64, Option<f64>)>();
    let fit_thread = std::sync::Arc::new(std::sync::OnceLock::new());
    let guard = {
        let tx = std::sync::Mutex::new(tx);
        let fit_thread = fit_thread.clone();
        smelt_core::progress::listen(move |p| {
            if p.epoch_done
                && fit_thread.get() == Some(&std::thread::current().id())
                && let Ok(tx) = tx.lock()
            {
                let _ = tx.send((p.epoch, p.loss, p.valid_loss));
            }
        })
    };
    std::thread::scope(|s| {
        let handle = s.spawn(move || {
            let _ = fit_thread.set(std::thread::current().id());
            let out = fit();
            // Removing the listener drops the sender: the loop below ends.
            drop(guard);
            out
        });
        for (epoch, loss, valid) in rx.iter() {
            let mut points = vec![("train_loss", loss)];
            if let Some(v) = valid {
                points.push(("valid_loss", v));
            }
            if run.log_metrics(&points, epoch as i64).is_ok() {
                *logged += 1;
            }
        }
        match handle.join() {
            Ok(out) => out,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

fn describe_run(
    run: &dyn Run,
    info: &ModelInfo,
    params: &Params,
    opts: &TrainOptions<'_>,
    data: &Dataset<f64>,
    dataset: &DatasetLog<'_>,
) -> std::result::Result<(), smelt_core::TrackingError> {
    let mut logged: Vec<(String, String)> = vec![
        ("model".into(), info.name.to_string()),
        (
            "preprocessing".into(),
            if opts.preprocess { "auto" } else { "none" }.into(),
        ),
        ("valid_fraction".into(), opts.valid.to_string()),
        ("seed".into(), opts.seed.to_string()),
    ];
    if let Some(t) = data.target_name() {
        logged.push(("target".into(), t.to_string()));
    }
    logged.extend(params.as_text());
    let refs: Vec<(&str, &str)> = logged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    run.log_params(&refs)?;
    run.log_dataset(dataset)?;
    run.set_tags(&[
        ("smelt.task", &format!("{:?}", info.task).to_lowercase()),
        ("smelt.command", "train"),
    ])
}

/// Logs the model directory as the run's `model` artifact: `out` when it was saved there,
/// else a temporary copy.
pub(crate) fn log_model(
    run: &dyn Run,
    model: &Model,
    out: Option<&Path>,
) -> std::result::Result<(), smelt_core::TrackingError> {
    if let Some(dir) = out {
        return run.log_artifacts(dir, "model").map(|_| ());
    }
    let tmp = temp_model_dir();
    let logged = model
        .save(&tmp)
        .map_err(smelt_core::TrackingError::new)
        .and_then(|()| run.log_artifacts(&tmp, "model").map(|_| ()));
    let _ = std::fs::remove_dir_all(&tmp);
    logged
}

/// A fresh directory name under the system's temporary folder.
fn temp_model_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    std::env::temp_dir().join(format!(
        "smelt-model-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn metrics_json(m: &Metrics) -> Value {
    Value::Object(m.iter().map(|(k, v)| (k.to_string(), json!(v))).collect())
}
