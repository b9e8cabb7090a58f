//! The baseline ladder: a dummy baseline, then a linear model, a decision tree, a random
//! forest and gradient boosting, all cross-validated on the same folds; the strong rungs
//! lightly tuned inside a time budget; the best rung refitted on every row, saved and
//! tracked — what `smelt ladder` does, as a library call.
//!
//! The same folds for every rung make the comparison paired: the difference between two
//! rungs is measured fold by fold, and its spread is the spread of those differences.

use std::time::{Duration, Instant};

use serde_json::Value;
use smelt_core::catalog::{ModelInfo, Task};
use smelt_core::{Prediction, Run, Target, TrackingError};
use smelt_data::Loaded;
use smelt_data::convert::TaskKind;
use smelt_eval::calibrate::{CalibratedParams, Method};
use smelt_eval::cv::CvResult;
use smelt_eval::metrics::registry::{Scorer, find};
use smelt_eval::tune::{Space, Trial};

use crate::catalog::{Params, find_model, with_preprocessing};
use crate::error::{Error, Result};
use crate::folds::{CvSpec, Folds, make_folds};
use crate::model::Model;
use crate::prepare::{Prepared, prepare_with};
use crate::select::{close_run, drop_unavailable, emit, run_cv, scorers_for, start_run};
use crate::train::{Event, RunRecord, TrainOptions, log_model, train};
use crate::tune::{SamplerKind, TuneSpec, run_study};

/// How [`ladder`] runs.
#[derive(Clone, Debug)]
pub struct LadderSpec {
    /// Classification or regression (default: from the target's type).
    pub task: Option<Task>,
    /// The folds every rung shares.
    pub cv: CvSpec,
    /// Wall-clock budget for the whole ladder (tuning uses what the default fits leave).
    pub budget: Duration,
    /// Tune the strong rungs inside the budget.
    pub tune: bool,
    /// Metrics to report (default: the task's standard set; the first one ranks the rungs,
    /// default ROC-AUC for binary targets, accuracy for multiclass, R² for regression).
    pub metrics: Vec<String>,
    /// Seed of the tuning samplers.
    pub seed: u64,
}

impl Default for LadderSpec {
    fn default() -> Self {
        LadderSpec {
            task: None,
            cv: CvSpec::default(),
            budget: Duration::from_secs(300),
            tune: true,
            metrics: Vec::new(),
            seed: 0,
        }
    }
}

/// One rung's outcome.
#[derive(Debug)]
pub struct Rung {
    /// The catalogue model.
    pub info: &'static ModelInfo,
    /// Its name in tables ("gradient boosting").
    pub label: &'static str,
    /// The parameters of its scores (tuned ones merged in when tuning helped).
    pub params: Params,
    /// Cross-validated scores, or `None` when the rung was skipped.
    pub result: Option<CvResult>,
    /// Why it was skipped (budget spent, the fit failed).
    pub skipped: Option<String>,
    /// Tuning trials, when tuned.
    pub trials: Vec<Trial>,
    /// Seconds spent on the rung (tuning included).
    pub seconds: f64,
}

/// A calibration check of the best rung.
#[derive(Clone, Debug)]
pub struct CalibrationCheck {
    /// Expected calibration error of the out-of-fold probabilities.
    pub ece: f64,
    /// The same after isotonic calibration (cross-fitted inside each fold).
    pub ece_isotonic: f64,
    /// Reliability curve before: (mean predicted, fraction positive, count) per bin.
    pub before: smelt_eval::metrics::CalibrationCurve,
    /// Reliability curve after isotonic calibration.
    pub after: smelt_eval::metrics::CalibrationCurve,
}

/// What [`ladder`] returns.
#[derive(Debug)]
pub struct Ladder {
    /// The task.
    pub task: Task,
    /// Rows used.
    pub rows: usize,
    /// The folds.
    pub folds: Folds,
    /// The metrics reported; the first ranks the rungs.
    pub scorers: Vec<&'static Scorer>,
    /// Every rung, in ladder order.
    pub rungs: Vec<Rung>,
    /// Index of the best rung.
    pub best: usize,
    /// The best rung refitted on every row.
    pub model: Model,
    /// Calibration of the best rung (binary classification).
    pub calibration: Option<CalibrationCheck>,
    /// Notes (columns left out, rungs skipped).
    pub notes: Vec<String>,
    /// Plain-language findings.
    pub summary: Vec<String>,
    /// The prepared table (for slices and reports).
    pub prepared: Prepared,
    /// Seconds the ladder took.
    pub seconds: f64,
    /// The recorded run (a child per rung, the best model as its artifact).
    pub run: Option<RunRecord>,
}

impl Ladder {
    /// The best rung.
    pub fn best_rung(&self) -> &Rung {
        &self.rungs[self.best]
    }
}

/// One planned rung: catalogue name, label, fixed parameters, tuning space (in the grammar
/// of [`Space`]).
type Plan = (
    &'static str,
    &'static str,
    Vec<(&'static str, Value)>,
    &'static [&'static str],
);

/// The rungs of a task.
fn rungs_of(task: Task) -> Vec<Plan> {
    match task {
        Task::Classification => vec![
            ("dummy_classifier", "dummy (class prior)", vec![], &[]),
            (
                "logistic_regression",
                "logistic regression",
                vec![("max_iter", Value::from(500))],
                &["C=loguniform(1e-3, 100)"],
            ),
            (
                "decision_tree_classifier",
                "decision tree",
                vec![("min_samples_leaf", Value::from(5))],
                &[],
            ),
            (
                "random_forest_classifier",
                "random forest",
                vec![("n_estimators", Value::from(100))],
                &[
                    "min_samples_leaf=int(1, 20)",
                    "max_features=choice(sqrt, 0.5)",
                ],
            ),
            (
                "hist_gradient_boosting_classifier",
                "gradient boosting",
                vec![],
                &[
                    "learning_rate=loguniform(0.02, 0.3)",
                    "max_leaf_nodes=int(8, 96)",
                    "min_samples_leaf=int(5, 100)",
                    "l2_regularization=loguniform(1e-3, 10)",
                ],
            ),
        ],
        _ => vec![
            ("dummy_regressor", "dummy (mean)", vec![], &[]),
            (
                "ridge",
                "linear regression (ridge)",
                vec![],
                &["alpha=loguniform(1e-3, 100)"],
            ),
            (
                "decision_tree_regressor",
                "decision tree",
                vec![("min_samples_leaf", Value::from(5))],
                &[],
            ),
            (
                "random_forest_regressor",
                "random forest",
                vec![("n_estimators", Value::from(100))],
                &[
                    "min_samples_leaf=int(1, 20)",
                    "max_features=choice(1.0, 0.5, sqrt)",
                ],
            ),
            (
                "hist_gradient_boosting_regressor",
                "gradient boosting",
                vec![],
                &[
                    "learning_rate=loguniform(0.02, 0.3)",
                    "max_leaf_nodes=int(8, 96)",
                    "min_samples_leaf=int(5, 100)",
                    "l2_regularization=loguniform(1e-3, 10)",
                ],
            ),
        ],
    }
}

/// The metric that ranks the rungs by default.
fn default_primary(task: Task, target: &Target) -> &'static str {
    match (task, target) {
        (Task::Classification, Target::Classification { classes, .. }) if classes.len() <= 2 => {
            "roc_auc"
        }
        (Task::Classification, _) => "accuracy",
        _ => "r2",
    }
}

/// Runs the ladder on `data` (see the module docs). `opts.out` is where the best model is
/// saved; `opts.tracker` records a run with a child per rung.
pub fn ladder(data: &Loaded, spec: &LadderSpec, opts: &TrainOptions<'_>) -> Result<Ladder> {
    let started = Instant::now();
    if data.schema.target().is_none() {
        return Err(Error::NoTarget {
            model: "the ladder".into(),
        });
    }
    let mut notes = Vec::new();
    if let Some(n) = crate::prepare::left_out_note(&data.schema, false) {
        notes.push(n);
    }
    let n_features = data.schema.tabular_features().count();
    let pixel_like = data
        .schema
        .tabular_features()
        .filter(|c| c.name.to_ascii_lowercase().starts_with("pixel"))
        .count();
    if pixel_like >= 64 || n_features >= 500 {
        notes.push(format!(
            "this looks like an image table ({n_features} feature columns); tabular rungs treat pixels as independent features — a convolutional rung comes with deep learning"
        ));
    }
    let kind = match spec.task {
        Some(Task::Classification) => TaskKind::Classification,
        Some(Task::Regression) => TaskKind::Regression,
        _ => TaskKind::Auto,
    };
    let p = prepare_with(data, kind, opts.on_event)?;
    let target = p.data.target().ok_or_else(|| Error::NoTarget {
        model: "the ladder".into(),
    })?;
    let task = match target {
        Target::Classification { .. } => Task::Classification,
        Target::Regression { .. } => Task::Regression,
    };
    let mut names = spec.metrics.clone();
    if names.is_empty() {
        let primary = default_primary(task, target).to_string();
        names.push(primary.clone());
        let standard = scorers_for(task, target, &[])?;
        names.extend(
            standard
                .iter()
                .map(|s| s.name.to_string())
                .filter(|n| *n != primary),
        );
    }
    let scorers = scorers_for(task, target, &names)?;
    let primary = scorers[0];
    let folds = make_folds(&p, task, &spec.cv)?;
    for w in &folds.warnings {
        emit(opts, Event::Warning(w));
    }
    let parent = start_run(
        opts,
        &p,
        find_model(rungs_of(task)[0].0)?,
        &Params::new(),
        "ladder",
        &folds.splitter,
    );
    let quiet = TrainOptions {
        on_event: None,
        tracker: None,
        ..*opts
    };
    let plan = rungs_of(task);
    let total = plan.len();
    // Default fits, cheap to strong — gradient boosting before the forest, whose cost grows
    // fastest with the rows, so a tight budget still gets the strongest usual rung. Tuning
    // of the strong rungs comes after, with what is left.
    let mut order: Vec<usize> = (0..total).collect();
    if total == 5 {
        order = vec![0, 1, 2, 4, 3];
    }
    let mut slots: Vec<Option<Rung>> = (0..total).map(|_| None).collect();
    let mut tree_seconds = None;
    for index in order {
        let (name, label, fixed, _) = &plan[index];
        let info = find_model(name)?;
        let mut params = Params::new();
        for (k, v) in fixed {
            params = params.set(k, v.clone());
        }
        emit(
            opts,
            Event::RungStarted {
                index,
                total,
                label,
            },
        );
        let t0 = Instant::now();
        let remaining = spec.budget.saturating_sub(started.elapsed());
        // A forest costs about its trees times one tree (spread over the threads): fewer
        // trees when the budget cannot pay for a hundred.
        if name.starts_with("random_forest")
            && let Some(t) = tree_seconds
        {
            let threads = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
            let per_tree = f64::max(t, 1e-3) / threads;
            let affordable = (remaining.as_secs_f64() * 0.8 / per_tree).floor() as usize;
            if affordable < 100 {
                let trees = affordable.max(10);
                params = params.set("n_estimators", trees);
                notes.push(format!(
                    "{label}: {trees} trees instead of 100, to fit the budget"
                ));
            }
        }
        let (result, skipped) = if remaining.is_zero() && index > 0 {
            (
                None,
                Some(format!("the budget of {} was spent", human(spec.budget))),
            )
        } else {
            let est =
                with_preprocessing(info, info.build(params.as_map().clone())?, opts.preprocess);
            match run_cv(&est, &p.data, &folds.folds, &scorers, &quiet, None) {
                Ok(mut r) => {
                    drop_unavailable(&mut r, &quiet);
                    (Some(r), None)
                }
                Err(e) => (None, Some(format!("it failed: {e}"))),
            }
        };
        let seconds = t0.elapsed().as_secs_f64();
        if name.starts_with("decision_tree") && result.is_some() {
            tree_seconds = Some(seconds);
        }
        let rung = Rung {
            info,
            label,
            params,
            result,
            skipped,
            trials: Vec::new(),
            seconds,
        };
        emit_rung(opts, &rung, index, total, primary);
        slots[index] = Some(rung);
    }
    let mut rungs: Vec<Rung> = slots.into_iter().flatten().collect();
    if spec.tune {
        tune_strong_rungs(
            &mut rungs, &plan, &p, &folds, primary, &scorers, spec, started, opts, &quiet,
        )?;
    }
    let best = best_rung(&rungs, primary).ok_or_else(|| {
        Error::Eval(smelt_eval::EvalError::input_hint(
            "ladder",
            "no rung could be cross-validated",
            "check the notes above; the budget may be too small for one fit",
        ))
    })?;
    for r in &rungs {
        if let Some(why) = &r.skipped {
            notes.push(format!("{} was skipped: {why}", r.label));
        }
        if let Some(res) = &r.result {
            // The folds are shared, so one rung's undefined metrics are every rung's.
            for n in res.notes().into_iter().take(3) {
                let n = format!("{}: {n}", r.label);
                if !notes
                    .iter()
                    .any(|m| m.ends_with(n.split_once(": ").map_or("", |x| x.1)))
                {
                    notes.push(n);
                }
            }
        }
    }
    // The best rung on every row: the model to ship.
    let best_info = rungs[best].info;
    let fit_opts = TrainOptions {
        valid: 0.0,
        tracker: None,
        on_event: None,
        ..*opts
    };
    emit(
        opts,
        Event::FitStarted {
            model: best_info.name,
            rows: p.data.n_rows(),
        },
    );
    let trained = train(
        data,
        best_info.name,
        rungs[best].params.clone(),
        &TrainOptions { ..fit_opts },
    );
    emit(opts, Event::FitFinished);
    let trained = trained?;
    let calibration =
        if task == Task::Classification && started.elapsed() < spec.budget.mul_f64(1.5) {
            calibration_check(&rungs[best], &p, &folds, opts)
        } else {
            None
        };
    let summary = summarise(&rungs, best, primary, calibration.as_ref());
    let run = parent.and_then(|run| finish_ladder_run(run, &rungs, best, &trained.model, opts));
    Ok(Ladder {
        task,
        rows: p.data.n_rows(),
        folds,
        scorers,
        rungs,
        best,
        model: trained.model,
        calibration,
        notes,
        summary,
        prepared: p,
        seconds: started.elapsed().as_secs_f64(),
        run,
    })
}

fn emit_rung(opts: &TrainOptions<'_>, rung: &Rung, index: usize, total: usize, primary: &Scorer) {
    let (mean, std) = rung
        .result
        .as_ref()
        .and_then(|r| r.metric(primary.name))
        .map_or((None, None), |s| (Some(s.mean), Some(s.std)));
    emit(
        opts,
        Event::RungDone {
            index,
            total,
            label: rung.label,
            metric: primary.name,
            mean,
            std,
            seconds: rung.seconds,
            skipped: rung.skipped.as_deref(),
        },
    );
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 60 && s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

/// The best rung by the primary metric (ties to the simpler, earlier rung).
fn best_rung(rungs: &[Rung], primary: &Scorer) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in rungs.iter().enumerate() {
        let Some(m) = r.result.as_ref().and_then(|x| x.metric(primary.name)) else {
            continue;
        };
        if m.mean.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| primary.better(m.mean, b)) {
            best = Some((i, m.mean));
        }
    }
    best.map(|(i, _)| i)
}

#[allow(clippy::too_many_arguments, reason = "the ladder's state, passed once")]
fn tune_strong_rungs(
    rungs: &mut [Rung],
    plan: &[Plan],
    p: &Prepared,
    folds: &Folds,
    primary: &'static Scorer,
    scorers: &[&'static Scorer],
    spec: &LadderSpec,
    started: Instant,
    opts: &TrainOptions<'_>,
    quiet: &TrainOptions<'_>,
) -> Result<()> {
    // Strongest first: gradient boosting, then the forest, then the linear model.
    let order: Vec<usize> = (0..rungs.len())
        .rev()
        .filter(|&i| !plan[i].3.is_empty() && rungs[i].result.is_some())
        .collect();
    let mut left = order.len();
    for i in order {
        let remaining = spec.budget.saturating_sub(started.elapsed());
        // Keep a fifth of what is left for the final fit and the calibration check.
        let share = remaining.mul_f64(0.8 / left as f64);
        left -= 1;
        let one_cv = rungs[i].seconds.max(1e-3);
        let trials = ((share.as_secs_f64() / one_cv).floor() as usize).min(20);
        if trials < 3 {
            continue;
        }
        let mut space = Space::new();
        for s in plan[i].3 {
            if let Some((k, v)) = s.split_once('=') {
                space.add_text(k, v)?;
            }
        }
        let tune = TuneSpec {
            space,
            sampler: SamplerKind::Tpe,
            trials,
            timeout: Some(share),
            metric: Some(primary.name.to_string()),
            prune: true,
            seed: spec.seed,
        };
        emit(
            opts,
            Event::Note(&format!(
                "tuning {} ({} trials at most, {:.0}s)",
                rungs[i].label,
                trials,
                share.as_secs_f64()
            )),
        );
        let t0 = Instant::now();
        let (study, _, _, _) = run_study(
            p,
            rungs[i].info,
            &rungs[i].params,
            &tune,
            &folds.folds,
            primary,
            quiet,
            None,
        );
        let default_score = rungs[i]
            .result
            .as_ref()
            .and_then(|r| r.metric(primary.name))
            .map(|m| m.mean);
        if let (Some(b), Some(d)) = (study.best(), default_score)
            && let Some(v) = b.value
            && primary.better(v, d)
        {
            let mut params = rungs[i].params.clone();
            for (k, val) in &b.params {
                params = params.set(k, val.clone());
            }
            let est = with_preprocessing(
                rungs[i].info,
                rungs[i].info.build(params.as_map().clone())?,
                opts.preprocess,
            );
            if let Ok(mut r) = run_cv(&est, &p.data, &folds.folds, scorers, quiet, None) {
                drop_unavailable(&mut r, quiet);
                rungs[i].params = params;
                rungs[i].result = Some(r);
            }
        }
        rungs[i].trials = study.trials().to_vec();
        rungs[i].seconds += t0.elapsed().as_secs_f64();
        emit_rung(opts, &rungs[i], i, rungs.len(), primary);
    }
    Ok(())
}

/// ECE of the best rung's out-of-fold probabilities, before and after isotonic calibration
/// cross-fitted inside each fold (binary targets).
fn calibration_check(
    rung: &Rung,
    p: &Prepared,
    folds: &Folds,
    opts: &TrainOptions<'_>,
) -> Option<CalibrationCheck> {
    let Some(Target::Classification { codes, classes }) = p.data.target() else {
        return None;
    };
    if classes.len() != 2 {
        return None;
    }
    let positive = |pred: &Prediction| -> Option<Vec<f64>> {
        smelt_eval::calibrate::threshold::positive_proba(pred, classes).ok()
    };
    let before = positive(rung.result.as_ref()?.oof.as_ref()?)?;
    let est = with_preprocessing(
        rung.info,
        rung.info.build(rung.params.as_map().clone()).ok()?,
        opts.preprocess,
    );
    let calibrated = CalibratedParams {
        estimator: Box::new(est),
        method: Method::Isotonic,
        folds: 3,
        ensemble: true,
    };
    let quiet = TrainOptions {
        on_event: None,
        tracker: None,
        ..*opts
    };
    let accuracy = find("accuracy").ok()?;
    let r = run_cv(
        &calibrated,
        &p.data,
        &folds.folds,
        &[accuracy],
        &quiet,
        None,
    )
    .ok()?;
    let after = positive(r.oof.as_ref()?)?;
    let y: Vec<u32> = codes.clone();
    let ece = smelt_eval::metrics::expected_calibration_error(&y, &before, 10, None).ok()?;
    let ece_isotonic =
        smelt_eval::metrics::expected_calibration_error(&y, &after, 10, None).ok()?;
    let strategy = smelt_eval::metrics::Strategy::Uniform;
    Some(CalibrationCheck {
        ece,
        ece_isotonic,
        before: smelt_eval::metrics::calibration_curve(&y, &before, 10, strategy).ok()?,
        after: smelt_eval::metrics::calibration_curve(&y, &after, 10, strategy).ok()?,
    })
}

/// Paired difference of the primary metric between two rungs: mean and standard deviation
/// of the per-fold differences.
pub fn paired_difference(a: &Rung, b: &Rung, metric: &str) -> Option<(f64, f64)> {
    let fa = &a.result.as_ref()?.metric(metric)?.folds;
    let fb = &b.result.as_ref()?.metric(metric)?.folds;
    let d: Vec<f64> = fa.iter().zip(fb).map(|(x, y)| x - y).collect();
    Some(smelt_eval::cv::mean_std(&d))
}

fn summarise(
    rungs: &[Rung],
    best: usize,
    primary: &Scorer,
    cal: Option<&CalibrationCheck>,
) -> Vec<String> {
    let mut out = Vec::new();
    let name = primary.name;
    let score = |r: &Rung| {
        r.result
            .as_ref()
            .and_then(|x| x.metric(name))
            .map(|m| m.mean)
    };
    let b = &rungs[best];
    // Against the strongest simpler rung that ran.
    let runner = (0..rungs.len())
        .filter(|&i| i != best && score(&rungs[i]).is_some() && i != 0)
        .max_by(|&i, &j| {
            let (x, y) = (
                score(&rungs[i]).unwrap_or(f64::NAN),
                score(&rungs[j]).unwrap_or(f64::NAN),
            );
            if primary.greater_is_better {
                x.total_cmp(&y)
            } else {
                y.total_cmp(&x)
            }
        });
    match runner {
        Some(r) => {
            if let Some((d, s)) = paired_difference(b, &rungs[r], name)
                && d.abs() < 0.0005
            {
                out.push(format!(
                    "{} and {} tie on {name} ({:.3}; the simpler one is kept).",
                    b.label,
                    rungs[r].label,
                    score(b).unwrap_or(f64::NAN)
                ));
                let _ = s;
            } else if let Some((d, s)) = paired_difference(b, &rungs[r], name) {
                let word = if primary.greater_is_better == (d >= 0.0) {
                    "beats"
                } else {
                    "trails"
                };
                out.push(format!(
                    "{} {word} {} by {:.3} {name} (± {:.3} across folds).",
                    b.label,
                    rungs[r].label,
                    d.abs(),
                    s
                ));
            }
        }
        None => out.push(format!("{} is the only rung that ran.", b.label)),
    }
    if let (Some(d), Some(bs)) = (score(&rungs[0]), score(b)) {
        out.push(format!(
            "The {} baseline scores {d:.3} {name}; {} reaches {bs:.3}.",
            rungs[0].label, b.label
        ));
    }
    let weak: Vec<&str> = rungs[1..]
        .iter()
        .filter(|r| match (score(r), score(&rungs[0])) {
            (Some(v), Some(d)) => !primary.better(v, d),
            _ => false,
        })
        .map(|r| r.label)
        .collect();
    if !weak.is_empty() {
        out.push(format!("No better than the baseline: {}.", weak.join(", ")));
    }
    if let Some(c) = cal {
        let verdict = if c.ece_isotonic + 0.005 < c.ece {
            format!("isotonic calibration brings it to {:.3}", c.ece_isotonic)
        } else if c.ece_isotonic < c.ece {
            format!(
                "close enough: isotonic calibration would only bring it to {:.3}",
                c.ece_isotonic
            )
        } else {
            format!(
                "isotonic calibration would not lower it ({:.3})",
                c.ece_isotonic
            )
        };
        out.push(format!(
            "Its calibration error (ECE) is {:.3} — {verdict}.",
            c.ece
        ));
    }
    if !b.trials.is_empty() {
        out.push(format!(
            "{} was tuned over {} trials.",
            b.label,
            b.trials.len()
        ));
    }
    out
}

fn finish_ladder_run(
    run: Box<dyn Run + '_>,
    rungs: &[Rung],
    best: usize,
    model: &Model,
    opts: &TrainOptions<'_>,
) -> Option<RunRecord> {
    let logged = (|| -> std::result::Result<(), TrackingError> {
        for r in rungs {
            let Some(res) = &r.result else { continue };
            let child = run.start_child(Some(r.label))?;
            let mut params: Vec<(String, String)> = vec![("model".into(), r.info.name.to_string())];
            params.extend(r.params.as_text());
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            child.log_params(&refs)?;
            let mut m: Vec<(String, f64)> = Vec::new();
            for s in &res.test {
                m.push((format!("cv_{}_mean", s.metric), s.mean));
                m.push((format!("cv_{}_std", s.metric), s.std));
            }
            m.push(("seconds".into(), r.seconds));
            let refs: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            child.log_metrics(&refs, 0)?;
            child.finish(true)?;
        }
        let b = &rungs[best];
        run.log_params(&[("best_model", b.info.name), ("best_rung", b.label)])?;
        if let Some(res) = &b.result {
            let m: Vec<(String, f64)> = res
                .test
                .iter()
                .map(|s| (format!("best_cv_{}", s.metric), s.mean))
                .collect();
            let refs: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            run.log_metrics(&refs, 0)?;
        }
        log_model(run.as_ref(), model, opts.out)
    })();
    close_run(run, logged, true, opts)
}
