//! Cross-validation by name — what `smelt cv` does, as a library call — and the pieces the
//! other model-selection modules share (metrics for a task, folds run in parallel or one by
//! one, the tracked parent run). Tuning is in [`mod@crate::tune`], curves in [`crate::curves`].
//!
//! Cross-validation and tuning fit the model's whole pipeline (default preprocessing included) inside each fold, on
//! the folds of [`crate::folds::make_folds`]. With a tracker, a run is recorded with a child
//! run per fold (cross-validation) or per trial (tuning), so the MLflow UI and any MLflow
//! client show the study: params, metrics and duration of each.

use smelt_core::catalog::{ModelInfo, Task};
use smelt_core::track::DatasetLog;
use smelt_core::{Dataset, FitPredictor, Run, Target, TrackingError};
use smelt_data::Loaded;
use smelt_eval::cv::{CvOptions, CvResult, cross_validate as cv_folds};
use smelt_eval::metrics::registry::{Scorer, ScorerTask, find, standard};
use smelt_eval::split::Fold;

use crate::catalog::{Params, model_for, with_preprocessing};
use crate::error::{Error, Result};
use crate::folds::{CvSpec, Folds, make_folds};
use crate::prepare::{Prepared, prepare};
use crate::train::{Event, RunRecord, TrainOptions};

/// The metrics to score: the ones named, or the task's standard set (the first is the one a
/// study optimises). Metrics of the wrong task are refused.
pub fn scorers_for(task: Task, target: &Target, names: &[String]) -> Result<Vec<&'static Scorer>> {
    let scorer_task = match task {
        Task::Regression => ScorerTask::Regression,
        Task::Classification => ScorerTask::Classification,
        Task::Clustering => ScorerTask::Clustering,
    };
    let n_classes = match target {
        Target::Classification { classes, .. } => classes.len(),
        Target::Regression { .. } => 0,
    };
    let names: Vec<String> = if names.is_empty() {
        standard(scorer_task, n_classes)
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        names.to_vec()
    };
    names
        .iter()
        .map(|n| {
            let s = find(n)?;
            if s.task != scorer_task {
                return Err(Error::Eval(smelt_eval::EvalError::input_hint(
                    "--metric",
                    format!("`{n}` is a {:?} metric; this model is {:?}", s.task, task)
                        .to_lowercase(),
                    "`smelt cv --list-metrics` lists the metrics of each task",
                )));
            }
            Ok(s)
        })
        .collect()
}

/// What [`cross_validate`] returns.
#[derive(Debug)]
pub struct CrossValidated {
    /// The catalogue entry.
    pub info: &'static ModelInfo,
    /// The folds and how they were chosen.
    pub folds: Folds,
    /// The metrics scored, in order.
    pub scorers: Vec<&'static Scorer>,
    /// Per-fold scores, summaries and out-of-fold predictions. Metrics the model cannot give
    /// (probability metrics of a model without probabilities) are left out.
    pub result: CvResult,
    /// Rows cross-validated.
    pub rows: usize,
    /// Rows left out because their target was missing.
    pub rows_without_target: usize,
    /// The recorded run (a child per fold), when tracked.
    pub run: Option<RunRecord>,
}

/// Cross-validates the catalogue model `name` with `params` on `data` (see the module docs).
pub fn cross_validate(
    data: &Loaded,
    name: &str,
    params: Params,
    spec: &CvSpec,
    metrics: &[String],
    opts: &TrainOptions<'_>,
) -> Result<CrossValidated> {
    let info = model_for(name, data)?;
    let estimator = with_preprocessing(info, info.build(params.as_map().clone())?, opts.preprocess);
    let p = prepare_supervised(data, info, opts)?;
    let target = p.data.target().ok_or_else(|| Error::NoTarget {
        model: info.name.to_string(),
    })?;
    let scorers = scorers_for(info.task, target, metrics)?;
    let folds = make_folds(&p, info.task, spec)?;
    for w in &folds.warnings {
        emit(opts, Event::Warning(w));
    }
    let run = start_run(opts, &p, info, &params, "cv", &folds.splitter);
    let mut result =
        run_cv(&estimator, &p.data, &folds.folds, &scorers, opts, None).inspect_err(|_| {
            if let Some(r) = &run {
                let _ = r.set_tags(&[("smelt.error", "cross-validation failed")]);
            }
        });
    if let Ok(r) = &mut result {
        for n in r.notes() {
            emit(opts, Event::Warning(&n));
        }
        drop_unavailable(r, opts);
    }
    let finished = match (run, &result) {
        (Some(run), Ok(r)) => finish_cv_run(run, r, opts),
        (Some(run), Err(_)) => {
            let _ = run.finish(false);
            None
        }
        (None, _) => None,
    };
    let result = result?;
    let scorers = scorers
        .into_iter()
        .filter(|s| result.test.iter().any(|t| t.metric == s.name))
        .collect();
    Ok(CrossValidated {
        info,
        rows: p.data.n_rows(),
        rows_without_target: p.rows_without_target,
        folds,
        scorers,
        result,
        run: finished,
    })
}

pub(crate) fn prepare_supervised(
    data: &Loaded,
    info: &ModelInfo,
    opts: &TrainOptions<'_>,
) -> Result<Prepared> {
    if info.task == Task::Clustering {
        return Err(Error::Eval(smelt_eval::EvalError::input_hint(
            "model selection",
            format!(
                "{} is a clustering model: it has no target to score against",
                info.name
            ),
            "cross-validate a classifier or a regressor",
        )));
    }
    if data.schema.target().is_none() {
        return Err(Error::NoTarget {
            model: info.name.to_string(),
        });
    }
    if let Some(n) = crate::prepare::left_out_note(&data.schema, false) {
        emit(opts, Event::Note(&n));
    }
    prepare(data, opts.on_event)
}

/// The table prepared for `info` ([`prepare_supervised`]) and the metric it is scored by:
/// `metric`, or the task's first standard one.
pub(crate) fn prepare_scored(
    data: &Loaded,
    info: &ModelInfo,
    opts: &TrainOptions<'_>,
    metric: Option<&str>,
) -> Result<(Prepared, &'static Scorer)> {
    let p = prepare_supervised(data, info, opts)?;
    let no_target = || Error::NoTarget {
        model: info.name.to_string(),
    };
    let target = p.data.target().ok_or_else(no_target)?;
    let names: Vec<String> = metric.map(str::to_string).into_iter().collect();
    let scorer = scorers_for(info.task, target, &names)?
        .first()
        .copied()
        .ok_or_else(no_target)?;
    Ok((p, scorer))
}

/// One configuration's cross-validated score, as a study's objective: the model with `params`
/// in its default pipeline fitted on each fold (quietly), the mean of `scorer`; `pruning`
/// hears the running mean fold by fold and may stop the trial.
pub(crate) fn cv_score(
    info: &ModelInfo,
    params: serde_json::Map<String, serde_json::Value>,
    data: &Dataset<f64>,
    folds: &[Fold],
    scorer: &'static Scorer,
    opts: &TrainOptions<'_>,
    pruning: Option<&mut dyn FnMut(u64, f64) -> smelt_eval::Result<()>>,
) -> smelt_eval::Result<f64> {
    let est = info.build(params).map_err(smelt_eval::EvalError::from)?;
    let est = with_preprocessing(info, est, opts.preprocess);
    let quiet = TrainOptions {
        on_event: None,
        ..*opts
    };
    let r = run_cv(&est, data, folds, &[scorer], &quiet, pruning).map_err(|e| match e {
        Error::Eval(e) => e,
        other => smelt_eval::EvalError::input("trial", other.to_string()),
    })?;
    Ok(r.test.first().map_or(f64::NAN, |s| s.mean))
}

pub(crate) fn emit(opts: &TrainOptions<'_>, e: Event<'_>) {
    if let Some(f) = opts.on_event {
        f(e);
    }
}

/// Runs the folds, with `pruning` (a study's trial) reporting the running mean of the first
/// metric after each fold, fold by fold; without it, the folds run in parallel.
pub(crate) fn run_cv(
    estimator: &dyn FitPredictor,
    data: &Dataset<f64>,
    folds: &[Fold],
    scorers: &[&'static Scorer],
    opts: &TrainOptions<'_>,
    mut pruning: Option<&mut dyn FnMut(u64, f64) -> smelt_eval::Result<()>>,
) -> Result<CvResult> {
    let cv_opts = CvOptions::default();
    let Some(report) = pruning.as_mut() else {
        let r = cv_folds(estimator, data, folds, scorers, None, &cv_opts)?;
        for (k, f) in r.folds.iter().enumerate() {
            emit(
                opts,
                Event::FoldDone {
                    index: k,
                    total: folds.len(),
                    score: f.test.first().copied().unwrap_or(f64::NAN),
                },
            );
        }
        return Ok(r);
    };
    // Fold by fold, so a bad trial stops early.
    let mut parts: Vec<CvResult> = Vec::with_capacity(folds.len());
    let mut sum = 0.0;
    for (k, fold) in folds.iter().enumerate() {
        let r = cv_folds(
            estimator,
            data,
            std::slice::from_ref(fold),
            scorers,
            None,
            &cv_opts,
        )?;
        let s = r.folds[0].test.first().copied().unwrap_or(f64::NAN);
        sum += s;
        parts.push(r);
        report(k as u64, sum / (k + 1) as f64)?;
    }
    Ok(merge(parts, scorers))
}

/// Joins single-fold results into one (fold indices renumbered, summaries recomputed).
fn merge(parts: Vec<CvResult>, scorers: &[&'static Scorer]) -> CvResult {
    let mut all = Vec::with_capacity(parts.len());
    for (k, mut p) in parts.into_iter().enumerate() {
        if let Some(mut f) = p.folds.pop() {
            f.index = k;
            all.push(f);
        }
    }
    let test = scorers
        .iter()
        .enumerate()
        .map(|(j, s)| {
            let v: Vec<f64> = all.iter().map(|f| f.test[j]).collect();
            let (mean, std) = smelt_eval::cv::mean_std(&v);
            smelt_eval::cv::Summary {
                metric: s.name.to_string(),
                greater_is_better: s.greater_is_better,
                mean,
                std,
                folds: v,
            }
        })
        .collect();
    CvResult {
        folds: all,
        test,
        train: Vec::new(),
        oof: None,
    }
}

/// Leaves out metrics the model cannot give (NaN in every fold), with a note.
pub(crate) fn drop_unavailable(r: &mut CvResult, opts: &TrainOptions<'_>) {
    let dropped: Vec<String> = r
        .test
        .iter()
        .filter(|s| s.folds.iter().all(|v| v.is_nan()))
        .map(|s| s.metric.clone())
        .collect();
    if dropped.is_empty() {
        return;
    }
    emit(
        opts,
        Event::Note(&format!(
            "the model gives no probabilities; left out {}",
            dropped.join(", ")
        )),
    );
    let keep: Vec<bool> = r
        .test
        .iter()
        .map(|s| !dropped.contains(&s.metric))
        .collect();
    let filter = |v: &mut Vec<f64>| {
        let mut i = 0;
        v.retain(|_| {
            i += 1;
            keep[i - 1]
        });
    };
    for f in &mut r.folds {
        filter(&mut f.test);
        if !f.train.is_empty() {
            filter(&mut f.train);
        }
    }
    r.test.retain(|s| !dropped.contains(&s.metric));
    r.train.retain(|s| !dropped.contains(&s.metric));
}

pub(crate) fn start_run<'t>(
    opts: &TrainOptions<'t>,
    p: &Prepared,
    info: &ModelInfo,
    params: &Params,
    command: &str,
    splitter: &str,
) -> Option<Box<dyn Run + 't>> {
    let tracker = opts.tracker?;
    let warn = |e: TrackingError| {
        emit(
            opts,
            Event::Warning(&format!("not recording this run: {e}")),
        )
    };
    let run = tracker
        .start_run(opts.experiment, opts.run_name)
        .map_err(warn)
        .ok()?;
    let mut logged: Vec<(String, String)> = vec![
        ("model".into(), info.name.to_string()),
        (
            "preprocessing".into(),
            if opts.preprocess { "auto" } else { "none" }.into(),
        ),
        ("folds".into(), splitter.to_string()),
    ];
    if let Some(t) = p.data.target_name() {
        logged.push(("target".into(), t.to_string()));
    }
    logged.extend(params.as_text());
    let refs: Vec<(&str, &str)> = logged
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let path = p.table.path.as_path();
    let described = run
        .log_params(&refs)
        .and_then(|()| {
            run.log_dataset(&DatasetLog {
                name: &path
                    .file_stem()
                    .map_or_else(|| "data".to_string(), |s| s.to_string_lossy().into_owned()),
                fingerprint: &p.fingerprint,
                source: path,
                schema_json: &serde_json::to_string(&p.table.schema).unwrap_or_default(),
                rows: p.data.n_rows() as u64,
                context: command,
            })
        })
        .and_then(|()| {
            run.set_tags(&[
                ("smelt.task", &format!("{:?}", info.task).to_lowercase()),
                ("smelt.command", command),
            ])
        });
    match described {
        Ok(()) => Some(run),
        Err(e) => {
            warn(e);
            let _ = run.finish(false);
            None
        }
    }
}

/// Closes a run whose logging went as `logged` says: FINISHED (or FAILED when `ok` is false)
/// and its record, or a warning and `None` when logging or closing failed.
pub(crate) fn close_run(
    run: Box<dyn Run + '_>,
    logged: std::result::Result<(), TrackingError>,
    ok: bool,
    opts: &TrainOptions<'_>,
) -> Option<RunRecord> {
    let id = run.id().to_string();
    match logged.and_then(|()| run.finish(ok)) {
        Ok(()) => Some(RunRecord {
            run_id: id,
            experiment: opts.experiment.to_string(),
        }),
        Err(e) => {
            emit(
                opts,
                Event::Warning(&format!("the run was only partly recorded: {e}")),
            );
            None
        }
    }
}

/// Logs one child run per fold and the summary on the parent, then closes it.
fn finish_cv_run(
    run: Box<dyn Run + '_>,
    r: &CvResult,
    opts: &TrainOptions<'_>,
) -> Option<RunRecord> {
    let logged = (|| -> std::result::Result<(), TrackingError> {
        for f in &r.folds {
            let child = run.start_child(Some(&format!("fold {}", f.index)))?;
            child.log_params(&[
                ("fold", &f.index.to_string()),
                ("train_rows", &f.train_rows.to_string()),
                ("test_rows", &f.test_rows.to_string()),
            ])?;
            let mut m: Vec<(String, f64)> = r
                .test
                .iter()
                .zip(&f.test)
                .map(|(s, v)| (format!("valid_{}", s.metric), *v))
                .collect();
            m.push(("fit_seconds".into(), f.fit_seconds));
            let refs: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            child.log_metrics(&refs, 0)?;
            child.finish(true)?;
        }
        let mut m: Vec<(String, f64)> = Vec::new();
        for s in &r.test {
            m.push((format!("cv_{}_mean", s.metric), s.mean));
            m.push((format!("cv_{}_std", s.metric), s.std));
        }
        m.push(("fit_seconds_mean".into(), r.mean_fit_seconds()));
        let refs: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        run.log_metrics(&refs, 0)
    })();
    close_run(run, logged, true, opts)
}
