//! A study: trials asked of a sampler, scored by an objective, with pruning and a deadline.

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::sampler::Sampler;
use super::space::Space;
pub use super::trial::{Direction, Trial, TrialState};
use crate::error::{EvalError, Result};

/// Optuna's `MedianPruner`: a trial is stopped at a step when its intermediate score is worse
/// than the median of the other trials' scores at the same step.
#[derive(Clone, Debug)]
pub struct MedianPruner {
    /// Complete trials needed before anything is pruned (Optuna: 5).
    pub n_startup_trials: usize,
    /// Steps of each trial never pruned (Optuna: 0).
    pub n_warmup_steps: u64,
}

impl Default for MedianPruner {
    fn default() -> Self {
        MedianPruner {
            n_startup_trials: 5,
            n_warmup_steps: 0,
        }
    }
}

impl MedianPruner {
    /// Whether a trial whose latest report is `value` at `step` should stop.
    pub fn should_prune(
        &self,
        history: &[Trial],
        direction: Direction,
        step: u64,
        value: f64,
    ) -> bool {
        if step < self.n_warmup_steps || !value.is_finite() {
            return !value.is_finite();
        }
        let complete = history
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .count();
        if complete < self.n_startup_trials {
            return false;
        }
        // As Optuna: the median over complete trials only.
        let mut at_step: Vec<f64> = history
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .filter_map(|t| {
                t.intermediate
                    .iter()
                    .find(|(s, _)| *s == step)
                    .map(|(_, v)| *v)
            })
            .filter(|v| v.is_finite())
            .collect();
        if at_step.is_empty() {
            return false;
        }
        at_step.sort_by(f64::total_cmp);
        let m = at_step.len();
        let median = if m % 2 == 1 {
            at_step[m / 2]
        } else {
            0.5 * (at_step[m / 2 - 1] + at_step[m / 2])
        };
        direction.better(median, value)
    }
}

/// What the objective sees of its trial: the parameters, and a way to report intermediate
/// scores and learn whether to stop.
#[derive(Debug)]
pub struct TrialContext<'a> {
    number: usize,
    params: &'a Map<String, Value>,
    intermediate: Vec<(u64, f64)>,
    history: &'a [Trial],
    pruner: Option<&'a MedianPruner>,
    direction: Direction,
}

impl TrialContext<'_> {
    /// The trial's number.
    pub fn number(&self) -> usize {
        self.number
    }

    /// The parameters to evaluate.
    pub fn params(&self) -> &Map<String, Value> {
        self.params
    }

    /// Records an intermediate score at `step`; returns an [`EvalError::Pruned`] error when the
    /// pruner says to stop — return it from the objective (`ctx.report(i, v)?`).
    pub fn report(&mut self, step: u64, value: f64) -> Result<()> {
        self.intermediate.push((step, value));
        match self.pruner {
            Some(p) if p.should_prune(self.history, self.direction, step, value) => {
                Err(EvalError::Pruned {
                    trial: self.number,
                    step,
                })
            }
            _ => Ok(()),
        }
    }
}

/// A hyperparameter study over a [`Space`].
pub struct Study {
    space: Space,
    direction: Direction,
    sampler: Box<dyn Sampler>,
    pruner: Option<MedianPruner>,
    trials: Vec<Trial>,
}

impl std::fmt::Debug for Study {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Study")
            .field("direction", &self.direction)
            .field("sampler", &self.sampler.name())
            .field("trials", &self.trials.len())
            .finish()
    }
}

impl Study {
    /// A study of `space` in `direction`, asking `sampler`.
    pub fn new(space: Space, direction: Direction, sampler: Box<dyn Sampler>) -> Self {
        Study {
            space,
            direction,
            sampler,
            pruner: None,
            trials: Vec::new(),
        }
    }

    /// Stops trials whose intermediate scores fall below the median ([`MedianPruner`]).
    pub fn with_pruner(mut self, pruner: MedianPruner) -> Self {
        self.pruner = Some(pruner);
        self
    }

    /// The space searched.
    pub fn space(&self) -> &Space {
        &self.space
    }

    /// The direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }

    /// The sampler's name (`tpe`).
    pub fn sampler_name(&self) -> &'static str {
        self.sampler.name()
    }

    /// Every trial so far, in order.
    pub fn trials(&self) -> &[Trial] {
        &self.trials
    }

    /// The best complete trial (the first of equals).
    pub fn best(&self) -> Option<&Trial> {
        self.trials
            .iter()
            .filter(|t| t.state == TrialState::Complete)
            .fold(None, |best: Option<&Trial>, t| match (best, t.value) {
                (Some(b), Some(v)) if !self.direction.better(v, b.value.unwrap_or(v)) => Some(b),
                (_, Some(_)) => Some(t),
                (b, None) => b,
            })
    }

    /// The next parameters to try (fixed parameters included). `None` once the sampler has
    /// nothing new to give (a finished grid).
    pub fn ask(&mut self) -> Option<Map<String, Value>> {
        self.sampler
            .sample(&self.space, &self.trials, self.direction)
    }

    /// Records a finished trial.
    pub fn tell(&mut self, trial: Trial) {
        self.trials.push(trial);
    }

    /// Runs one trial of `objective` on the next parameters; `None` when the sampler is done.
    pub fn step<F>(&mut self, objective: &mut F) -> Option<&Trial>
    where
        F: FnMut(&mut TrialContext<'_>) -> Result<f64>,
    {
        let params = self.ask()?;
        let number = self.trials.len();
        let started = Instant::now();
        let (result, intermediate) = {
            let mut ctx = TrialContext {
                number,
                params: &params,
                intermediate: Vec::new(),
                history: &self.trials,
                pruner: self.pruner.as_ref(),
                direction: self.direction,
            };
            let r = objective(&mut ctx);
            (r, ctx.intermediate)
        };
        let seconds = started.elapsed().as_secs_f64();
        let (state, value, error) = match result {
            Ok(v) if v.is_finite() => (TrialState::Complete, Some(v), None),
            Ok(v) => (
                TrialState::Failed,
                None,
                Some(format!("the objective returned {v}")),
            ),
            Err(EvalError::Pruned { .. }) => (TrialState::Pruned, None, None),
            Err(e) => (TrialState::Failed, None, Some(e.to_string())),
        };
        self.trials.push(Trial {
            number,
            params,
            value,
            intermediate,
            state,
            seconds,
            error,
        });
        self.trials.last()
    }

    /// Runs up to `n_trials` trials (or until `timeout` has passed, checked before each
    /// trial), calling `on_trial` after each. Fails only when no trial completed, with the
    /// first failure's message.
    pub fn optimize<F>(
        &mut self,
        n_trials: usize,
        timeout: Option<Duration>,
        mut objective: F,
        mut on_trial: impl FnMut(&Trial, Option<&Trial>),
    ) -> Result<()>
    where
        F: FnMut(&mut TrialContext<'_>) -> Result<f64>,
    {
        let started = Instant::now();
        for _ in 0..n_trials {
            if timeout.is_some_and(|t| started.elapsed() >= t) {
                break;
            }
            let Some(trial) = self.step(&mut objective) else {
                break;
            };
            let trial = trial.clone();
            on_trial(&trial, self.best());
        }
        if self.best().is_none() {
            let first = self.trials.iter().find_map(|t| t.error.clone());
            return Err(EvalError::input_hint(
                "tuning",
                match first {
                    Some(e) => format!("no trial completed; the first failure: {e}"),
                    None => "no trial completed".to_string(),
                },
                "check the search space's ranges against the model's parameters, or give more time",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(n: usize, inter: &[f64], value: f64) -> Trial {
        Trial {
            number: n,
            params: Map::new(),
            value: Some(value),
            intermediate: inter
                .iter()
                .enumerate()
                .map(|(i, v)| (i as u64, *v))
                .collect(),
            state: TrialState::Complete,
            seconds: 0.0,
            error: None,
        }
    }

    #[test]
    fn median_pruner_stops_trials_below_the_median() {
        let p = MedianPruner::default();
        let history: Vec<Trial> = (0..5)
            .map(|i| done(i, &[0.5 + i as f64 * 0.1], 0.0))
            .collect();
        // Median at step 0 is 0.7.
        assert!(p.should_prune(&history, Direction::Maximize, 0, 0.6));
        assert!(!p.should_prune(&history, Direction::Maximize, 0, 0.8));
        assert!(!p.should_prune(&history, Direction::Minimize, 0, 0.6));
        // Too few trials: never.
        assert!(!p.should_prune(&history[..3], Direction::Maximize, 0, 0.1));
        // NaN is always pruned.
        assert!(p.should_prune(&history[..1], Direction::Maximize, 0, f64::NAN));
    }
}
