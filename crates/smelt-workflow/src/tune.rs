//! Tuning by name: a study over a model's parameters (TPE, random, grid; successive halving
//! and Hyperband in [`crate::halving`]), each trial cross-validated on the same folds, and
//! nested cross-validation for an unbiased estimate of the tuned model — what `smelt tune`
//! does, as library calls. With a tracker, a run is recorded with a child run per trial.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};
use smelt_core::catalog::ModelInfo;
use smelt_core::{Run, TrackingError};
use smelt_data::Loaded;
use smelt_eval::metrics::registry::Scorer;
use smelt_eval::split::Fold;
use smelt_eval::tune::{
    Direction, GridSampler, MedianPruner, RandomSampler, Sampler, Space, Study, TpeSampler, Trial,
    TrialState,
};

use crate::catalog::{Params, model_for, with_preprocessing};
use crate::error::{Error, Result};
use crate::folds::{CvSpec, Folds, make_folds};
use crate::prepare::Prepared;
use crate::select::{close_run, cv_score, emit, prepare_scored, run_cv, start_run};
use crate::train::{Event, RunRecord, TrainOptions};

/// Which sampler a study uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SamplerKind {
    /// Optuna's default, the Tree-structured Parzen Estimator.
    #[default]
    Tpe,
    /// Independent random draws.
    Random,
    /// Every combination of a grid.
    Grid,
    /// Successive halving: `trials` random configurations on a few training rows, the best
    /// third promoted to three times the rows, up to the full folds.
    Halving,
    /// Hyperband: brackets of successive halving from many configurations on few rows to few
    /// on all of them.
    Hyperband,
}

impl std::str::FromStr for SamplerKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "tpe" => Ok(SamplerKind::Tpe),
            "random" => Ok(SamplerKind::Random),
            "grid" => Ok(SamplerKind::Grid),
            "halving" => Ok(SamplerKind::Halving),
            "hyperband" => Ok(SamplerKind::Hyperband),
            other => Err(Error::Option {
                option: "the sampler",
                allowed: "tpe, random, grid, halving or hyperband",
                got: other.to_string(),
            }),
        }
    }
}

/// How [`tune`] searches.
#[derive(Clone, Debug)]
pub struct TuneSpec {
    /// The parameters searched.
    pub space: Space,
    /// The sampler.
    pub sampler: SamplerKind,
    /// At most this many trials.
    pub trials: usize,
    /// Stop starting trials after this long.
    pub timeout: Option<Duration>,
    /// The metric optimised (default: the task's first standard metric).
    pub metric: Option<String>,
    /// Stop trials whose running fold mean falls below the median (Optuna's median pruner).
    pub prune: bool,
    /// Seed of the sampler.
    pub seed: u64,
}

impl Default for TuneSpec {
    fn default() -> Self {
        TuneSpec {
            space: Space::new(),
            sampler: SamplerKind::Tpe,
            trials: 50,
            timeout: None,
            metric: None,
            prune: true,
            seed: 0,
        }
    }
}

/// What [`tune`] returns.
#[derive(Debug)]
pub struct Tuned {
    /// The catalogue entry.
    pub info: &'static ModelInfo,
    /// The metric optimised.
    pub scorer: &'static Scorer,
    /// Every trial.
    pub trials: Vec<Trial>,
    /// The best trial's number.
    pub best: usize,
    /// The best parameters: the fixed ones and the best trial's, merged.
    pub best_params: Params,
    /// The folds.
    pub folds: Folds,
    /// Seconds the whole study took.
    pub seconds: f64,
    /// Mean seconds per trial spent outside the objective (sampling, bookkeeping).
    pub overhead_seconds: f64,
    /// The recorded run (a child per trial), when tracked.
    pub run: Option<RunRecord>,
}

/// Tunes the catalogue model `name`: `base` parameters fixed, `spec.space` searched, each
/// trial cross-validated on the same folds.
pub fn tune(
    data: &Loaded,
    name: &str,
    base: Params,
    spec: &TuneSpec,
    cv: &CvSpec,
    opts: &TrainOptions<'_>,
) -> Result<Tuned> {
    let info = model_for(name, data)?;
    // Every searched name must be a parameter of the model: a typo should not cost a study.
    let known: Vec<String> = info.params().iter().map(|p| p.name.to_string()).collect();
    for p in spec.space.params() {
        if !known.contains(&p.name) {
            return Err(Error::Model(smelt_core::CoreError::BadParam {
                estimator: info.name.into(),
                message: format!(
                    "the search space names `{}`, which is not a parameter",
                    p.name
                ),
                suggestion: smelt_core::text::closest(&p.name, &known)
                    .map(|s| format!("did you mean `{s}`?")),
            }));
        }
    }
    if spec.trials == 0 {
        return Err(Error::Option {
            option: "--trials",
            allowed: "at least 1",
            got: "0".into(),
        });
    }
    // The base parameters must build on their own.
    info.build(base.as_map().clone())?;
    let (p, scorer) = prepare_scored(data, info, opts, spec.metric.as_deref())?;
    let folds = make_folds(&p, info.task, cv)?;
    for w in &folds.warnings {
        emit(opts, Event::Warning(w));
    }
    let run = start_run(opts, &p, info, &base, "tune", &folds.splitter);
    let (trials, best, sampler, seconds, objective_seconds, outcome) = match spec.sampler {
        SamplerKind::Halving | SamplerKind::Hyperband => {
            let search = crate::halving::Search {
                hyperband: spec.sampler == SamplerKind::Hyperband,
                trials: spec.trials,
                space: &spec.space,
                seed: spec.seed,
            };
            let s = crate::halving::search(
                &p,
                info,
                &base,
                &search,
                &folds,
                scorer,
                opts,
                run.as_deref(),
            );
            let name = if spec.sampler == SamplerKind::Halving {
                "halving"
            } else {
                "hyperband"
            };
            (
                s.trials,
                s.best,
                name,
                s.seconds,
                s.objective_seconds,
                s.outcome,
            )
        }
        _ => {
            let (study, seconds, objective_seconds, outcome) = run_study(
                &p,
                info,
                &base,
                spec,
                &folds.folds,
                scorer,
                opts,
                run.as_deref(),
            );
            let best = study.best().map(|t| t.number);
            let name = study.sampler_name();
            (
                study.trials().to_vec(),
                best,
                name,
                seconds,
                objective_seconds,
                outcome,
            )
        }
    };
    let n_trials = trials.len().max(1);
    let overhead_seconds = ((seconds - objective_seconds) / n_trials as f64).max(0.0);
    let best = best
        .and_then(|b| trials.get(b))
        .map(|t| (t.number, t.params.clone(), t.value));
    let finished = match run {
        Some(run) => finish_tune_run(run, best.as_ref(), sampler, scorer, opts, outcome.is_ok()),
        None => None,
    };
    outcome?;
    let Some((best, best_trial_params, _)) = best else {
        return Err(Error::Eval(smelt_eval::EvalError::input(
            "tuning",
            "no trial completed",
        )));
    };
    let mut best_params = base;
    for (k, v) in best_trial_params {
        best_params = best_params.set(&k, v);
    }
    Ok(Tuned {
        info,
        scorer,
        trials,
        best,
        best_params,
        folds,
        seconds,
        overhead_seconds,
        run: finished,
    })
}

/// Runs a study of `spec` over `info` on the prepared rows and folds: each trial merges its
/// parameters into `base`, fits the pipeline in every fold (pruned early when asked) and is
/// scored by `scorer`'s mean. Returns the study, its wall seconds, the seconds spent in the
/// objective, and whether any trial completed.
#[allow(
    clippy::too_many_arguments,
    reason = "the study's inputs, each distinct; grouped they would be a one-use struct"
)]
pub(crate) fn run_study(
    p: &Prepared,
    info: &'static ModelInfo,
    base: &Params,
    spec: &TuneSpec,
    folds: &[Fold],
    scorer: &'static Scorer,
    opts: &TrainOptions<'_>,
    parent: Option<&dyn Run>,
) -> (Study, f64, f64, smelt_eval::Result<()>) {
    let direction = Direction::of(scorer.greater_is_better);
    let sampler: Box<dyn Sampler> = match spec.sampler {
        SamplerKind::Tpe => Box::new(TpeSampler::new(spec.seed)),
        // Halving and Hyperband run in `halving::search`, never here (`tune` and `nested_cv`
        // route them); random draws are their sampler.
        SamplerKind::Random | SamplerKind::Halving | SamplerKind::Hyperband => {
            Box::new(RandomSampler::new(spec.seed))
        }
        SamplerKind::Grid => Box::new(GridSampler::new(5, spec.seed)),
    };
    let mut study = Study::new(spec.space.clone(), direction, sampler);
    if spec.prune {
        study = study.with_pruner(MedianPruner::default());
    }
    let started = Instant::now();
    let mut objective_seconds = 0.0;
    let trials_total = spec.trials;
    let mut objective = |ctx: &mut smelt_eval::tune::TrialContext<'_>| -> smelt_eval::Result<f64> {
        let t0 = Instant::now();
        // The trial's child run spans the trial, so its duration is the trial's.
        let child =
            parent.and_then(|r| r.start_child(Some(&format!("trial {}", ctx.number()))).ok());
        if let Some(c) = &child {
            let params: Vec<(String, String)> = ctx
                .params()
                .iter()
                .map(|(k, v)| (k.clone(), smelt_eval::tune::space::value_text(v)))
                .collect();
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let _ = c.log_params(&refs);
        }
        let mut merged: Map<String, Value> = base.as_map().clone();
        merged.extend(ctx.params().clone());
        let mut running = Vec::new();
        let result = {
            let mut report = |step: u64, v: f64| {
                running.push((step, v));
                ctx.report(step, v)
            };
            let pruning: Option<&mut dyn FnMut(u64, f64) -> smelt_eval::Result<()>> =
                if spec.prune { Some(&mut report) } else { None };
            cv_score(info, merged, &p.data, folds, scorer, opts, pruning)
        };
        let seconds = t0.elapsed().as_secs_f64();
        objective_seconds += seconds;
        if let Some(c) = child {
            let name = format!("cv_{}_running", scorer.name);
            for (step, v) in &running {
                let _ = c.log_metrics(&[(name.as_str(), *v)], *step as i64);
            }
            let mut m = vec![("trial_seconds".to_string(), seconds)];
            if let Ok(v) = &result {
                m.push((format!("cv_{}_mean", scorer.name), *v));
            }
            let refs: Vec<(&str, f64)> = m.iter().map(|(k, v)| (k.as_str(), *v)).collect();
            let _ = c.log_metrics(&refs, 0);
            let state = match &result {
                Ok(_) => "complete",
                Err(smelt_eval::EvalError::Pruned { .. }) => "pruned",
                Err(_) => "failed",
            };
            let _ = c.set_tags(&[("smelt.trial_state", state)]);
            let _ = c.finish(state != "failed");
        }
        result
    };
    let mut on_trial = |t: &Trial, best: Option<&Trial>| {
        emit(
            opts,
            Event::TrialDone {
                number: t.number,
                total: trials_total,
                value: t.value,
                pruned: t.state == TrialState::Pruned,
                best: best.and_then(|b| b.value),
            },
        );
    };
    let outcome = study.optimize(spec.trials, spec.timeout, &mut objective, &mut on_trial);
    let seconds = started.elapsed().as_secs_f64();
    (study, seconds, objective_seconds, outcome)
}

/// Logs the best trial on the parent (each trial logged its own child run), then closes it.
fn finish_tune_run(
    run: Box<dyn Run + '_>,
    best: Option<&(usize, Map<String, Value>, Option<f64>)>,
    sampler: &str,
    scorer: &Scorer,
    opts: &TrainOptions<'_>,
    ok: bool,
) -> Option<RunRecord> {
    let logged = (|| -> std::result::Result<(), TrackingError> {
        if let Some((_, best_params, value)) = best {
            if let Some(v) = value {
                run.log_metrics(&[(&format!("best_cv_{}", scorer.name), *v)], 0)?;
            }
            let params: Vec<(String, String)> = best_params
                .iter()
                .map(|(k, v)| (format!("best.{k}"), smelt_eval::tune::space::value_text(v)))
                .collect();
            let refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            run.log_params(&refs)?;
        }
        run.set_tags(&[("smelt.sampler", sampler)])
    })();
    close_run(run, logged, ok, opts)
}

/// One outer fold of [`nested_cv`].
#[derive(Clone, Debug)]
pub struct OuterFold {
    /// The parameters the inner study chose on the outer training rows.
    pub params: Map<String, Value>,
    /// The inner study's best cross-validated score.
    pub inner: f64,
    /// The score of those parameters refitted on the outer training rows, on the outer test
    /// rows: an estimate the search never saw.
    pub outer: f64,
}

/// What [`nested_cv`] returns.
#[derive(Debug)]
pub struct Nested {
    /// The metric.
    pub scorer: &'static Scorer,
    /// Each outer fold.
    pub folds: Vec<OuterFold>,
    /// Mean and standard deviation of the outer scores: the unbiased estimate of tuning.
    pub mean: f64,
    /// See `mean`.
    pub std: f64,
    /// The outer splitter.
    pub splitter: String,
}

/// Nested cross-validation: for each outer fold, a study of `spec` on the outer training rows
/// (inner folds cut from them the same way, `inner.folds` of them), the best parameters refitted
/// there and scored on the outer test rows. The mean outer score estimates how well *tuning*
/// generalises — the inner best score is optimistic, having been chosen as the best.
pub fn nested_cv(
    data: &Loaded,
    name: &str,
    base: Params,
    spec: &TuneSpec,
    outer: &CvSpec,
    inner: &CvSpec,
    opts: &TrainOptions<'_>,
) -> Result<Nested> {
    if matches!(spec.sampler, SamplerKind::Halving | SamplerKind::Hyperband) {
        return Err(Error::Option {
            option: "the sampler of nested cross-validation",
            allowed: "tpe, random or grid",
            got: format!("{:?}", spec.sampler).to_lowercase(),
        });
    }
    let info = model_for(name, data)?;
    info.build(base.as_map().clone())?;
    let (p, scorer) = prepare_scored(data, info, opts, spec.metric.as_deref())?;
    let outer_folds = make_folds(&p, info.task, outer)?;
    let quiet = TrainOptions {
        on_event: None,
        tracker: None,
        ..*opts
    };
    let mut folds = Vec::with_capacity(outer_folds.folds.len());
    for (k, f) in outer_folds.folds.iter().enumerate() {
        let sub = p.subset(&f.train)?;
        let inner_folds = make_folds(&sub, info.task, inner)?;
        let (study, _, _, outcome) = run_study(
            &sub,
            info,
            &base,
            spec,
            &inner_folds.folds,
            scorer,
            &quiet,
            None,
        );
        outcome?;
        let Some(best) = study.best() else {
            return Err(Error::Eval(smelt_eval::EvalError::input(
                "nested cross-validation",
                format!("no trial completed in outer fold {k}"),
            )));
        };
        let mut merged = base.as_map().clone();
        merged.extend(best.params.clone());
        let est = with_preprocessing(info, info.build(merged)?, opts.preprocess);
        let r = run_cv(
            &est,
            &p.data,
            std::slice::from_ref(f),
            &[scorer],
            &quiet,
            None,
        )?;
        let outer_score = r.test.first().map_or(f64::NAN, |s| s.mean);
        emit(
            opts,
            Event::FoldDone {
                index: k,
                total: outer_folds.folds.len(),
                score: outer_score,
            },
        );
        folds.push(OuterFold {
            params: best.params.clone(),
            inner: best.value.unwrap_or(f64::NAN),
            outer: outer_score,
        });
    }
    let scores: Vec<f64> = folds.iter().map(|f| f.outer).collect();
    let (mean, std) = smelt_eval::cv::mean_std(&scores);
    Ok(Nested {
        scorer,
        folds,
        mean,
        std,
        splitter: outer_folds.splitter,
    })
}
