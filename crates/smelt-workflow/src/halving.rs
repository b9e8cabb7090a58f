//! Successive halving and Hyperband for [`crate::tune::tune`] (`smelt tune --sampler halving`
//! or `hyperband`): many configurations cross-validated on a few training rows, the best third
//! promoted to three times the rows, until the full folds — scikit-learn's
//! `HalvingRandomSearchCV` (`factor=3`, `min_resources="exhaust"`) and Li et al.'s Hyperband,
//! over [`smelt_eval::tune::halving`].
//!
//! The resource is the number of training rows of each fold: a seeded random subset (the
//! earliest rows for time-ordered folds), the test rows unchanged. Each configuration becomes a
//! [`Trial`]: its value is its score on the most rows it reached, its intermediate scores are
//! by row count, and it is `Pruned` when it was dropped before the last rung.

use std::time::Instant;

use serde_json::{Map, Value};
use smelt_core::Run;
use smelt_core::catalog::ModelInfo;
use smelt_eval::metrics::registry::Scorer;
use smelt_eval::split::Fold;
use smelt_eval::tune::halving::{Halving, hyperband, successive_halving};
use smelt_eval::tune::{Direction, RandomSampler, Sampler, Trial, TrialState};

use crate::catalog::Params;
use crate::folds::{Folds, shuffled_training_rows};
use crate::prepare::Prepared;
use crate::select::{cv_score, emit};
use crate::train::{Event, TrainOptions};

/// Each rung keeps the best `1 / ETA` of its configurations and gives them `ETA` times the rows.
pub const ETA: f64 = 3.0;

/// Which search, over what.
pub(crate) struct Search<'a> {
    /// Hyperband's brackets (true) or one successive halving (false).
    pub hyperband: bool,
    /// Configurations of successive halving.
    pub trials: usize,
    /// The parameters searched.
    pub space: &'a smelt_eval::tune::Space,
    /// Seed of the random configurations and of the training rows' order.
    pub seed: u64,
}

/// What a halving search returns to `tune`.
pub(crate) struct Searched {
    pub trials: Vec<Trial>,
    /// The best configuration's trial number.
    pub best: Option<usize>,
    pub seconds: f64,
    pub objective_seconds: f64,
    pub outcome: smelt_eval::Result<()>,
}

/// Runs successive halving (`spec.trials` random configurations) or Hyperband over the rows
/// of `folds`, each evaluation a child run of `parent` when tracked.
#[allow(
    clippy::too_many_arguments,
    reason = "the search's inputs, as run_study takes them"
)]
pub(crate) fn search(
    p: &Prepared,
    info: &'static ModelInfo,
    base: &Params,
    spec: &Search<'_>,
    folds: &Folds,
    scorer: &'static Scorer,
    opts: &TrainOptions<'_>,
    parent: Option<&dyn Run>,
) -> Searched {
    let started = Instant::now();
    let direction = Direction::of(scorer.greater_is_better);
    let folds = shuffled_training_rows(folds, spec.seed);
    let max_rows = folds.iter().map(|f| f.train.len()).min().unwrap_or(0) as f64;
    let classes = match p.data.target() {
        Some(smelt_core::Target::Classification { classes, .. }) => classes.len(),
        _ => 1,
    };
    // scikit-learn's smallest resource: two rows per class and fold.
    let floor = (2 * classes * folds.len()).max(20) as f64;
    let mut objective_seconds = 0.0;
    let mut evaluations = 0usize;
    let mut first_error: Option<String> = None;
    let planned = planned(spec, max_rows, floor);
    let mut objective = |config: &Map<String, Value>, rows: f64| -> smelt_eval::Result<f64> {
        let t0 = Instant::now();
        let n = (rows.round() as usize).max(2);
        let sub: Vec<Fold> = folds.iter().map(|f| f.with_train_rows(n)).collect();
        let mut merged = base.as_map().clone();
        merged.extend(
            config
                .iter()
                .filter(|(k, _)| *k != CONFIG_KEY)
                .map(|(k, v)| (k.clone(), v.clone())),
        );
        let child = parent.and_then(|r| {
            r.start_child(Some(&format!("config {} on {n} rows", number_of(config))))
                .ok()
        });
        let result = cv_score(info, merged, &p.data, &sub, scorer, opts, None);
        let seconds = t0.elapsed().as_secs_f64();
        objective_seconds += seconds;
        if let (Err(e), None) = (&result, &first_error) {
            first_error = Some(e.to_string());
        }
        if let Some(c) = child {
            let params: Vec<(String, String)> = config
                .iter()
                .filter(|(k, _)| *k != CONFIG_KEY)
                .map(|(k, v)| (k.clone(), smelt_eval::tune::space::value_text(v)))
                .collect();
            let mut refs: Vec<(&str, &str)> = params
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            let rows_text = n.to_string();
            refs.push(("train_rows", rows_text.as_str()));
            let _ = c.log_params(&refs);
            if let Ok(v) = &result {
                let _ = c.log_metrics(&[(&format!("cv_{}_mean", scorer.name), *v)], 0);
            }
            let _ = c.finish(result.is_ok());
        }
        emit(
            opts,
            Event::TrialDone {
                number: evaluations,
                total: planned.max(evaluations + 1),
                value: result.as_ref().ok().copied(),
                pruned: false,
                best: None,
            },
        );
        evaluations += 1;
        result
    };
    let mut sampler = Numbered::new(RandomSampler::new(spec.seed));
    let outcome = if spec.hyperband {
        hyperband(
            spec.space,
            &mut sampler,
            floor.min(max_rows),
            max_rows,
            ETA,
            direction,
            &mut objective,
        )
    } else {
        let configs: Vec<Map<String, Value>> = (0..spec.trials)
            .map_while(|_| sampler.sample(spec.space, &[], direction))
            .collect();
        // scikit-learn's "exhaust": the last rung uses every row.
        let rungs = (configs.len().max(1) as f64).log(ETA).ceil().max(1.0);
        let min_rows = (max_rows / ETA.powf(rungs - 1.0)).max(floor).min(max_rows);
        successive_halving(configs, min_rows, max_rows, ETA, direction, &mut objective)
    };
    let seconds = started.elapsed().as_secs_f64();
    match outcome {
        Ok(h) => {
            let (trials, best) = trials_of(&h);
            Searched {
                trials,
                best,
                seconds,
                objective_seconds,
                outcome: Ok(()),
            }
        }
        Err(e) => Searched {
            trials: Vec::new(),
            best: None,
            seconds,
            objective_seconds,
            // "Every configuration failed" says less than why the first one did.
            outcome: Err(match first_error {
                Some(why) => smelt_eval::EvalError::input("successive halving", why),
                None => e,
            }),
        },
    }
}

/// The key under which a configuration carries its number (for child-run names); removed
/// before the trials are returned.
const CONFIG_KEY: &str = "__smelt_config";

fn number_of(config: &Map<String, Value>) -> u64 {
    config.get(CONFIG_KEY).and_then(Value::as_u64).unwrap_or(0)
}

/// A sampler that numbers its configurations (the number rides along under [`CONFIG_KEY`]).
struct Numbered<S> {
    inner: S,
    next: u64,
}

impl<S> Numbered<S> {
    fn new(inner: S) -> Self {
        Numbered { inner, next: 0 }
    }
}

impl<S: Sampler> Sampler for Numbered<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn sample(
        &mut self,
        space: &smelt_eval::tune::Space,
        history: &[Trial],
        direction: Direction,
    ) -> Option<Map<String, Value>> {
        let mut c = self.inner.sample(space, history, direction)?;
        c.insert(CONFIG_KEY.into(), Value::from(self.next));
        self.next += 1;
        Some(c)
    }
}

/// One trial per configuration: its score on the most rows it reached, its scores by rows,
/// `Pruned` when dropped before the largest resource any configuration reached.
fn trials_of(h: &Halving) -> (Vec<Trial>, Option<usize>) {
    let top = h.evaluations.iter().map(|e| e.resource).fold(0.0, f64::max);
    let trials = h
        .configs
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mine: Vec<_> = h.evaluations.iter().filter(|e| e.config == i).collect();
            let last = mine.last();
            let value = last.and_then(|e| e.score);
            let state = match (value, last) {
                (None, _) => TrialState::Failed,
                (Some(_), Some(e)) if e.resource < top => TrialState::Pruned,
                _ => TrialState::Complete,
            };
            let mut params = c.clone();
            params.remove(CONFIG_KEY);
            Trial {
                number: i,
                params,
                value,
                intermediate: mine
                    .iter()
                    .filter_map(|e| e.score.map(|s| (e.resource.round() as u64, s)))
                    .collect(),
                state,
                seconds: 0.0,
                error: None,
            }
        })
        .collect();
    (trials, h.best.map(|(c, _)| c))
}

/// How many evaluations the search plans (for the progress bar), failures aside.
fn planned(spec: &Search<'_>, max_rows: f64, floor: f64) -> usize {
    if spec.hyperband {
        let s_max = ((max_rows / floor).ln() / ETA.ln()).floor().max(0.0) as i32;
        (0..=s_max)
            .rev()
            .map(|s| {
                let n = (((s_max + 1) as f64 / (s + 1) as f64) * ETA.powi(s)).ceil() as usize;
                rung_sizes(n, s as usize + 1)
            })
            .sum()
    } else {
        let rungs = (spec.trials.max(1) as f64).log(ETA).ceil().max(1.0) as usize;
        rung_sizes(spec.trials, rungs)
    }
}

/// Evaluations of `n` configurations over at most `rungs` rungs, a third kept each time.
fn rung_sizes(mut n: usize, rungs: usize) -> usize {
    let mut total = 0;
    for _ in 0..rungs {
        total += n;
        if n <= 1 {
            break;
        }
        n = ((n as f64 / ETA).floor() as usize).max(1);
    }
    total
}
