//! The baseline ladder: a dummy baseline, then a linear model, a decision tree, a random
//! forest and gradient boosting, all cross-validated on the same folds; the strong rungs
//! lightly tuned inside a time budget; the best rung refitted on every row, saved and
//! tracked — what `smelt ladder` does, as a library call.
//!
//! The same folds for every rung make the comparison paired: the difference between two
//! rungs is measured fold by fold, and its spread is the spread of those differences.

use std::time::{Duration, Instant};

use smelt_core::catalog::{ModelInfo, Task};
use smelt_core::{Run, Target, TrackingError};
use smelt_data::Loaded;
use smelt_data::convert::TaskKind;
use smelt_eval::cv::CvResult;
use smelt_eval::metrics::registry::Scorer;
use smelt_eval::tune::Trial;

use crate::catalog::{Params, find_model, with_preprocessing};
use crate::error::{Error, Result};
use crate::folds::{CvSpec, Folds, make_folds};
use crate::model::Model;
use crate::prepare::{Prepared, prepare_with};
use crate::select::{close_run, drop_unavailable, emit, run_cv, scorers_for, start_run};
use crate::train::{Event, RunRecord, TrainOptions, log_model, train};

mod rungs;
mod summary;
mod tune;

use rungs::{best_rung, default_primary, rungs_of};
pub use summary::paired_difference;
use summary::{calibration_check, summarise};
use tune::tune_strong_rungs;

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
