//! Successive halving and Hyperband: many configurations on a small resource (rows, boosting
//! rounds), the best `1/eta` of them promoted to `eta` times the resource, until one is left
//! or the full resource is reached (scikit-learn's `HalvingRandomSearchCV`, Li et al.'s
//! Hyperband as a set of halving brackets).

use serde::Serialize;
use serde_json::{Map, Value};

use super::sampler::Sampler;
use super::space::Space;
use super::trial::Direction;
use crate::error::{EvalError, Result};

/// A configuration's score on a resource.
type Objective<'a> = dyn FnMut(&Map<String, Value>, f64) -> Result<f64> + 'a;

/// One evaluation: a configuration on a resource.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// Index of the configuration in [`Halving::configs`].
    pub config: usize,
    /// The resource it was given (rows, rounds).
    pub resource: f64,
    /// Its score (`None`: the objective failed).
    pub score: Option<f64>,
}

/// The outcome of successive halving or Hyperband.
#[derive(Clone, Debug, Serialize)]
pub struct Halving {
    /// Every configuration tried.
    pub configs: Vec<Map<String, Value>>,
    /// Every evaluation, in order.
    pub evaluations: Vec<Evaluation>,
    /// The best configuration on the largest resource it reached, and its score.
    pub best: Option<(usize, f64)>,
}

/// Successive halving of `configs` from `min_resource` up to `max_resource`, keeping the best
/// `1/eta` at each rung. `objective(config, resource)` scores one configuration.
pub fn successive_halving(
    configs: Vec<Map<String, Value>>,
    min_resource: f64,
    max_resource: f64,
    eta: f64,
    direction: Direction,
    mut objective: impl FnMut(&Map<String, Value>, f64) -> Result<f64>,
) -> Result<Halving> {
    check(min_resource, max_resource, eta)?;
    if configs.is_empty() {
        return Err(EvalError::input(
            "successive halving",
            "no configuration to try",
        ));
    }
    let mut out = Halving {
        configs,
        evaluations: Vec::new(),
        best: None,
    };
    let all: Vec<usize> = (0..out.configs.len()).collect();
    run_bracket(
        &mut out,
        all,
        min_resource,
        max_resource,
        eta,
        direction,
        &mut objective,
    );
    finish(out)
}

/// Hyperband: brackets of successive halving trading the number of configurations against
/// their starting resource, with configurations drawn from `sampler`.
pub fn hyperband(
    space: &Space,
    sampler: &mut dyn Sampler,
    min_resource: f64,
    max_resource: f64,
    eta: f64,
    direction: Direction,
    mut objective: impl FnMut(&Map<String, Value>, f64) -> Result<f64>,
) -> Result<Halving> {
    check(min_resource, max_resource, eta)?;
    let s_max = ((max_resource / min_resource).ln() / eta.ln())
        .floor()
        .max(0.0) as i32;
    let mut out = Halving {
        configs: Vec::new(),
        evaluations: Vec::new(),
        best: None,
    };
    for s in (0..=s_max).rev() {
        let n = (((s_max + 1) as f64 / (s + 1) as f64) * eta.powi(s)).ceil() as usize;
        let r = max_resource * eta.powi(-s);
        let mut members = Vec::with_capacity(n);
        for _ in 0..n {
            let Some(c) = sampler.sample(space, &[], direction) else {
                break;
            };
            members.push(out.configs.len());
            out.configs.push(c);
        }
        if members.is_empty() {
            break;
        }
        run_bracket(
            &mut out,
            members,
            r,
            max_resource,
            eta,
            direction,
            &mut objective,
        );
    }
    finish(out)
}

fn check(min_resource: f64, max_resource: f64, eta: f64) -> Result<()> {
    if !(min_resource > 0.0 && min_resource <= max_resource && max_resource.is_finite()) {
        return Err(EvalError::input_hint(
            "successive halving",
            format!("the resource range [{min_resource}, {max_resource}] is empty or not positive"),
            "give 0 < min_resource <= max_resource",
        ));
    }
    if eta.is_nan() || eta <= 1.0 {
        return Err(EvalError::input_hint(
            "successive halving",
            format!("eta must be greater than 1, got {eta}"),
            "eta = 3 is the usual choice",
        ));
    }
    Ok(())
}

fn run_bracket(
    out: &mut Halving,
    mut alive: Vec<usize>,
    mut resource: f64,
    max_resource: f64,
    eta: f64,
    direction: Direction,
    objective: &mut Objective<'_>,
) {
    loop {
        let mut scored: Vec<(usize, f64)> = Vec::with_capacity(alive.len());
        for &c in &alive {
            let score = objective(&out.configs[c], resource)
                .ok()
                .filter(|v| v.is_finite());
            out.evaluations.push(Evaluation {
                config: c,
                resource,
                score,
            });
            if let Some(v) = score {
                scored.push((c, v));
            }
        }
        if scored.is_empty() {
            return;
        }
        scored.sort_by(|a, b| direction.loss(a.1).total_cmp(&direction.loss(b.1)));
        let last = resource >= max_resource || scored.len() == 1;
        if last {
            let (c, v) = scored[0];
            let better = match out.best {
                None => true,
                Some((bc, bv)) => {
                    let br = best_resource(out, bc);
                    resource > br || (resource == br && direction.better(v, bv))
                }
            };
            if better {
                out.best = Some((c, v));
            }
            return;
        }
        let keep = ((scored.len() as f64 / eta).floor() as usize).max(1);
        alive = scored[..keep].iter().map(|(c, _)| *c).collect();
        resource = (resource * eta).min(max_resource);
    }
}

fn best_resource(out: &Halving, config: usize) -> f64 {
    out.evaluations
        .iter()
        .filter(|e| e.config == config && e.score.is_some())
        .map(|e| e.resource)
        .fold(0.0, f64::max)
}

fn finish(out: Halving) -> Result<Halving> {
    if out.best.is_none() {
        return Err(EvalError::input_hint(
            "successive halving",
            "every configuration failed",
            "check the search space against the model's parameters",
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::sampler::RandomSampler;

    #[test]
    fn halving_promotes_the_best_third() {
        // Score = config value, more resource adds nothing: the largest value must win, and
        // each rung keeps a third.
        let configs: Vec<Map<String, Value>> = (0..9)
            .map(|i| {
                let mut m = Map::new();
                m.insert("v".into(), Value::from(i));
                m
            })
            .collect();
        let h = successive_halving(configs, 1.0, 9.0, 3.0, Direction::Maximize, |c, _| {
            Ok(c["v"].as_f64().unwrap_or(0.0))
        })
        .unwrap();
        assert_eq!(h.best, Some((8, 8.0)));
        let per_rung: Vec<usize> = [1.0, 3.0, 9.0]
            .iter()
            .map(|r| h.evaluations.iter().filter(|e| e.resource == *r).count())
            .collect();
        assert_eq!(per_rung, vec![9, 3, 1]);
    }

    #[test]
    fn hyperband_runs_every_bracket() {
        let mut space = Space::new();
        space.add_text("x", "uniform(0, 1)").unwrap();
        let mut s = RandomSampler::new(0);
        let h = hyperband(
            &space,
            &mut s,
            1.0,
            27.0,
            3.0,
            Direction::Minimize,
            |c, r| Ok((c["x"].as_f64().unwrap_or(0.0) - 0.3).abs() + 1.0 / r),
        )
        .unwrap();
        // Brackets s = 3..0 start with 27, 12, 6 and 4 configurations.
        assert_eq!(h.configs.len(), 27 + 12 + 6 + 4);
        let (best, _) = h.best.unwrap();
        assert!((h.configs[best]["x"].as_f64().unwrap() - 0.3).abs() < 0.1);
        assert!(
            successive_halving(vec![], 1.0, 2.0, 3.0, Direction::Minimize, |_, _| Ok(0.0)).is_err()
        );
        assert!(
            hyperband(
                &space,
                &mut s,
                2.0,
                1.0,
                3.0,
                Direction::Minimize,
                |_, _| Ok(0.0)
            )
            .is_err()
        );
    }
}
