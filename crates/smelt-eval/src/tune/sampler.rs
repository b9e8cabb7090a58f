//! Samplers: where a study looks next. [`RandomSampler`] and [`GridSampler`] here; the TPE
//! sampler in [`super::tpe`].

use serde_json::{Map, Value};
use smelt_core::rng::Rng;

use super::space::{Dist, Param, Space, float_value};
use super::trial::{Direction, Trial};

/// Chooses the parameters of the next trial.
pub trait Sampler: Send {
    /// The sampler's name (`random`, `grid`, `tpe`).
    fn name(&self) -> &'static str;

    /// The next parameters (fixed ones included, inactive conditional ones left out), or
    /// `None` when there is nothing left to try.
    fn sample(
        &mut self,
        space: &Space,
        history: &[Trial],
        direction: Direction,
    ) -> Option<Map<String, Value>>;
}

/// Walks the space in order, asking `draw` for each active searched parameter.
pub(crate) fn walk(
    space: &Space,
    mut draw: impl FnMut(&Param, &Map<String, Value>) -> Value,
) -> Map<String, Value> {
    let mut chosen = Map::new();
    for p in space.params() {
        if !space.is_active(p, &chosen) {
            continue;
        }
        let v = match &p.dist {
            Dist::Fixed(v) => v.clone(),
            Dist::Choice(c) if c.len() == 1 => c[0].clone(),
            _ => draw(p, &chosen),
        };
        chosen.insert(p.name.clone(), v);
    }
    chosen
}

/// A uniform draw on the distribution's internal scale (log-uniform for log scales).
pub(crate) fn draw_uniform(dist: &Dist, rng: &mut Rng) -> Value {
    match dist {
        Dist::Choice(c) => c[rng.below(c.len())].clone(),
        _ => {
            let (lo, hi) = dist.internal_bounds();
            dist.from_internal(lo + rng.uniform() * (hi - lo))
        }
    }
}

/// Independent uniform draws: the baseline every other sampler must beat.
#[derive(Debug)]
pub struct RandomSampler {
    rng: Rng,
}

impl RandomSampler {
    /// A sampler seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        RandomSampler {
            rng: Rng::new(seed),
        }
    }
}

impl Sampler for RandomSampler {
    fn name(&self) -> &'static str {
        "random"
    }

    fn sample(&mut self, space: &Space, _: &[Trial], _: Direction) -> Option<Map<String, Value>> {
        let rng = &mut self.rng;
        Some(walk(space, |p, _| draw_uniform(&p.dist, rng)))
    }
}

/// Every combination of a grid, in a seeded random order (so a budget that stops early still
/// covers the grid evenly). Choices give all their values; integer ranges all their integers
/// up to `points_per_range` of them (evenly spaced beyond); float ranges `points_per_range`
/// evenly spaced values (on a log scale for log ranges).
#[derive(Debug)]
pub struct GridSampler {
    points_per_range: usize,
    seed: u64,
    queue: Option<Vec<Map<String, Value>>>,
}

impl GridSampler {
    /// A grid with `points_per_range` values per numeric range (at least 2), shuffled with
    /// `seed`.
    pub fn new(points_per_range: usize, seed: u64) -> Self {
        GridSampler {
            points_per_range: points_per_range.max(2),
            seed,
            queue: None,
        }
    }

    /// The grid values of one distribution.
    pub fn values(&self, dist: &Dist) -> Vec<Value> {
        let k = self.points_per_range;
        match dist {
            Dist::Fixed(v) => vec![v.clone()],
            Dist::Choice(c) => c.clone(),
            Dist::Int { low, high, log } => {
                let n = (high - low + 1) as usize;
                if n <= k {
                    (*low..=*high).map(Value::from).collect()
                } else {
                    let mut out: Vec<Value> = (0..k)
                        .map(|i| {
                            let t = i as f64 / (k - 1) as f64;
                            let x = if *log {
                                ((*low as f64).ln()
                                    + t * ((*high as f64).ln() - (*low as f64).ln()))
                                .exp()
                            } else {
                                *low as f64 + t * (high - low) as f64
                            };
                            Value::from(x.round() as i64)
                        })
                        .collect();
                    out.dedup();
                    out
                }
            }
            Dist::Float { low, high, log } => {
                if low == high {
                    return vec![float_value(*low)];
                }
                (0..k)
                    .map(|i| {
                        let t = i as f64 / (k - 1) as f64;
                        let x = if *log {
                            (low.ln() + t * (high.ln() - low.ln())).exp()
                        } else {
                            low + t * (high - low)
                        };
                        // 12 significant digits: a log grid gives 1, not 1.0000000000000009.
                        float_value(format!("{x:.11e}").parse().unwrap_or(x))
                    })
                    .collect()
            }
        }
    }

    /// Every combination of the grid (conditional parameters only where active).
    pub fn combinations(&self, space: &Space) -> Vec<Map<String, Value>> {
        let mut out = vec![Map::new()];
        for p in space.params() {
            let values = self.values(&p.dist);
            let mut next = Vec::with_capacity(out.len() * values.len());
            for partial in out {
                if !space.is_active(p, &partial) {
                    next.push(partial);
                    continue;
                }
                for v in &values {
                    let mut m = partial.clone();
                    m.insert(p.name.clone(), v.clone());
                    next.push(m);
                }
            }
            out = next;
        }
        out
    }
}

impl Sampler for GridSampler {
    fn name(&self) -> &'static str {
        "grid"
    }

    fn sample(&mut self, space: &Space, _: &[Trial], _: Direction) -> Option<Map<String, Value>> {
        if self.queue.is_none() {
            let mut all = self.combinations(space);
            Rng::new(self.seed).shuffle(&mut all);
            // Pop from the end: reverse so the shuffled order is kept.
            all.reverse();
            self.queue = Some(all);
        }
        self.queue.as_mut().and_then(Vec::pop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        Space::from_toml(
            "C = \"loguniform(0.01, 100)\"\npenalty = \"choice(l2, elasticnet)\"\n[l1_ratio]\nrange = \"uniform(0, 1)\"\nwhen = { penalty = \"elasticnet\" }\n",
            "t",
        )
        .unwrap()
    }

    #[test]
    fn grid_enumerates_conditional_combinations_once() {
        let g = GridSampler::new(3, 0);
        let all = g.combinations(&space());
        // C: 3 values × (l2 + elasticnet × 3 l1_ratios) = 3 × 4.
        assert_eq!(all.len(), 12);
        assert!(
            all.iter()
                .filter(|m| m["penalty"] == "l2")
                .all(|m| !m.contains_key("l1_ratio"))
        );
        assert_eq!(g.values(&space().params()[0].dist)[1], float_value(1.0));
        let mut s = GridSampler::new(3, 0);
        let mut seen = Vec::new();
        while let Some(m) = s.sample(&space(), &[], Direction::Maximize) {
            assert!(!seen.contains(&m));
            seen.push(m);
        }
        assert_eq!(seen.len(), 12);
    }

    #[test]
    fn random_draws_stay_in_range_and_respect_conditions() {
        let mut s = RandomSampler::new(1);
        let sp = space();
        let mut logs = Vec::new();
        for _ in 0..500 {
            let m = s.sample(&sp, &[], Direction::Maximize).unwrap();
            let c = m["C"].as_f64().unwrap();
            assert!((0.01..=100.0).contains(&c));
            logs.push(c.log10());
            assert_eq!(m.contains_key("l1_ratio"), m["penalty"] == "elasticnet");
        }
        // Log-uniform: about half the draws below 1.
        let below = logs.iter().filter(|l| **l < 0.0).count();
        assert!((200..300).contains(&below), "{below}");
    }
}
