//! The Tree-structured Parzen Estimator, after Optuna's `TPESampler` with its defaults
//! (univariate, `n_startup_trials = 10`, `n_ei_candidates = 24`, `gamma(n) = min(⌈0.1 n⌉, 25)`,
//! a prior component of weight 1, the "magic clip" of bandwidths, older trials down-weighted
//! beyond 25).
//!
//! After the startup trials (random), the trials (pruned ones ranked last) are split by score into the best
//! `gamma(n)` ("below") and the rest ("above"). For each parameter, in each group, a mixture of
//! truncated normals is centred on the observed values (plus a wide prior), with each
//! bandwidth the larger distance to a neighbouring value, clipped to
//! `[range / min(100, 1 + n + 1), range]`. Choices get a smoothed histogram instead. Candidates
//! are drawn from the "below" mixture and the one with the largest `log l(x) − log g(x)` wins.
//! Parameters are treated independently, so a conditional parameter is modelled from the
//! trials where it was active.

use serde_json::{Map, Value};
use smelt_core::rng::Rng;

use super::sampler::{Sampler, draw_uniform, walk};
use super::space::{Dist, Param, Space};
use super::trial::{Direction, Trial, TrialState};

/// Optuna's default TPE sampler (see the module docs).
#[derive(Debug)]
pub struct TpeSampler {
    rng: Rng,
    /// Random trials before the model is used.
    pub n_startup_trials: usize,
    /// Candidates drawn per parameter and trial.
    pub n_ei_candidates: usize,
}

impl TpeSampler {
    /// A sampler with Optuna's defaults, seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        TpeSampler {
            rng: Rng::new(seed),
            n_startup_trials: 10,
            n_ei_candidates: 24,
        }
    }
}

/// Optuna's `default_gamma`: how many of `n` trials count as good.
pub fn gamma(n: usize) -> usize {
    (n.div_ceil(10)).min(25)
}

/// Optuna's `default_weights`: 1 for the latest 25 observations, a ramp from `1/n` below.
fn weights(n: usize) -> Vec<f64> {
    if n < 25 {
        return vec![1.0; n];
    }
    let ramp = n - 25;
    let mut w: Vec<f64> = (0..ramp)
        .map(|i| {
            let lo = 1.0 / n as f64;
            if ramp == 1 {
                lo
            } else {
                lo + (1.0 - lo) * i as f64 / (ramp - 1) as f64
            }
        })
        .collect();
    w.extend(std::iter::repeat_n(1.0, 25));
    w
}

impl Sampler for TpeSampler {
    fn name(&self) -> &'static str {
        "tpe"
    }

    fn sample(
        &mut self,
        space: &Space,
        history: &[Trial],
        direction: Direction,
    ) -> Option<Map<String, Value>> {
        let complete: Vec<&Trial> = history
            .iter()
            .filter(|t| t.state == TrialState::Complete && t.value.is_some())
            .collect();
        // Pruned trials count too, as worse than every complete one (Optuna ranks them after
        // complete trials), so the sampler learns to leave their region.
        let seen: Vec<(&Trial, f64)> = history
            .iter()
            .filter_map(|t| match (t.state, t.value) {
                (TrialState::Complete, Some(v)) => Some((t, direction.loss(v))),
                (TrialState::Pruned, _) => Some((t, f64::MAX)),
                _ => None,
            })
            .collect();
        let rng = &mut self.rng;
        if complete.len() < self.n_startup_trials {
            return Some(walk(space, |p, _| draw_uniform(&p.dist, rng)));
        }
        let n_cand = self.n_ei_candidates;
        Some(walk(space, |p, _| {
            // Trials where this parameter was active, in trial order, with their losses.
            let obs: Vec<(f64, f64)> = seen
                .iter()
                .filter_map(|(t, loss)| {
                    let x = p.dist.to_internal(t.params.get(&p.name)?)?;
                    Some((x, *loss))
                })
                .collect();
            if obs.is_empty() {
                return draw_uniform(&p.dist, rng);
            }
            sample_param(p, &obs, n_cand, rng)
        }))
    }
}

/// Splits observations (in trial order) into the best `gamma(n)` and the rest, keeping trial
/// order inside each group.
fn split(obs: &[(f64, f64)]) -> (Vec<f64>, Vec<f64>) {
    let n_below = gamma(obs.len());
    let mut order: Vec<usize> = (0..obs.len()).collect();
    order.sort_by(|&a, &b| obs[a].1.total_cmp(&obs[b].1).then(a.cmp(&b)));
    let mut is_below = vec![false; obs.len()];
    for &i in &order[..n_below] {
        is_below[i] = true;
    }
    let (mut below, mut above) = (Vec::new(), Vec::new());
    for (i, (x, _)) in obs.iter().enumerate() {
        if is_below[i] {
            below.push(*x);
        } else {
            above.push(*x);
        }
    }
    (below, above)
}

fn sample_param(p: &Param, obs: &[(f64, f64)], n_cand: usize, rng: &mut Rng) -> Value {
    let (below, above) = split(obs);
    match &p.dist {
        Dist::Choice(c) => {
            let k = c.len();
            let l = Categorical::fit(&below, k);
            let g = Categorical::fit(&above, k);
            let mut best = (f64::NEG_INFINITY, 0usize);
            for _ in 0..n_cand {
                let i = l.sample(rng);
                let score = l.p[i].ln() - g.p[i].ln();
                if score > best.0 {
                    best = (score, i);
                }
            }
            c[best.1].clone()
        }
        dist => {
            let (low, high) = dist.internal_bounds();
            let step = matches!(dist, Dist::Int { log: false, .. });
            let l = Parzen::fit(&below, low, high);
            let g = Parzen::fit(&above, low, high);
            let mut best = (f64::NEG_INFINITY, low);
            for _ in 0..n_cand {
                let mut x = l.sample(rng);
                if step {
                    // Integers: the candidate is the integer, its density the mass of its cell.
                    x = x.round();
                }
                let score = if step {
                    l.log_mass(x - 0.5, x + 0.5) - g.log_mass(x - 0.5, x + 0.5)
                } else {
                    l.log_pdf(x) - g.log_pdf(x)
                };
                if score > best.0 {
                    best = (score, x);
                }
            }
            dist.from_internal(best.1)
        }
    }
}

/// A smoothed histogram over `k` choices: each observation adds weight to its choice, the
/// prior spreads weight 1 evenly (Optuna's categorical Parzen estimator, mixture collapsed).
struct Categorical {
    p: Vec<f64>,
}

impl Categorical {
    fn fit(obs: &[f64], k: usize) -> Self {
        let n = obs.len();
        let w = weights(n);
        // Components: each observation (its weight) and the prior (weight 1), normalised.
        let total: f64 = w.iter().sum::<f64>() + 1.0;
        let per_component_prior = 1.0 / (n + 1) as f64;
        let mut p = vec![0.0; k];
        for (x, wi) in obs.iter().zip(&w) {
            // Component row: prior/(n+1) everywhere, +1 at the observation; then normalised.
            let row_total = per_component_prior * k as f64 + 1.0;
            for (j, pj) in p.iter_mut().enumerate() {
                let mass = per_component_prior + if j == *x as usize { 1.0 } else { 0.0 };
                *pj += wi / total * mass / row_total;
            }
        }
        for pj in p.iter_mut() {
            *pj += 1.0 / total / k as f64;
        }
        Categorical { p }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let u = rng.uniform() * self.p.iter().sum::<f64>();
        let mut acc = 0.0;
        for (i, p) in self.p.iter().enumerate() {
            acc += p;
            if u < acc {
                return i;
            }
        }
        self.p.len() - 1
    }
}

/// A mixture of normals truncated to `[low, high]`, one per observation plus the prior.
struct Parzen {
    mus: Vec<f64>,
    sigmas: Vec<f64>,
    weights: Vec<f64>,
    low: f64,
    high: f64,
}

const SQRT_2: f64 = std::f64::consts::SQRT_2;

fn norm_cdf(z: f64) -> f64 {
    0.5 * libm::erfc(-z / SQRT_2)
}

impl Parzen {
    fn fit(obs: &[f64], low: f64, high: f64) -> Self {
        let n = obs.len();
        let range = high - low;
        let prior_mu = 0.5 * (low + high);
        // Bandwidths: the larger gap to a neighbour among observations + prior, with the
        // outermost points using their inner gap (consider_endpoints = False).
        let mut with_prior: Vec<f64> = obs.to_vec();
        with_prior.push(prior_mu);
        let mut order: Vec<usize> = (0..with_prior.len()).collect();
        order.sort_by(|&a, &b| with_prior[a].total_cmp(&with_prior[b]));
        let mut ends = Vec::with_capacity(with_prior.len() + 2);
        ends.push(low);
        ends.extend(order.iter().map(|&i| with_prior[i]));
        ends.push(high);
        let m = with_prior.len();
        let mut sorted_sigma: Vec<f64> = (1..=m)
            .map(|i| (ends[i] - ends[i - 1]).max(ends[i + 1] - ends[i]))
            .collect();
        if ends.len() >= 4 {
            sorted_sigma[0] = ends[2] - ends[1];
            sorted_sigma[m - 1] = ends[m] - ends[m - 1];
        }
        let mut sigma_of = vec![0.0; m];
        for (rank, &i) in order.iter().enumerate() {
            sigma_of[i] = sorted_sigma[rank];
        }
        let min_sigma = range / (100.0f64).min(1.0 + n as f64 + 1.0);
        let mut sigmas: Vec<f64> = sigma_of[..n]
            .iter()
            .map(|s| s.clamp(min_sigma, range.max(min_sigma)))
            .collect();
        let mut mus = obs.to_vec();
        mus.push(prior_mu);
        sigmas.push(range);
        let mut w = weights(n);
        w.push(1.0);
        let total: f64 = w.iter().sum();
        for x in w.iter_mut() {
            *x /= total;
        }
        Parzen {
            mus,
            sigmas,
            weights: w,
            low,
            high,
        }
    }

    fn component(&self, rng: &mut Rng) -> usize {
        let u = rng.uniform();
        let mut acc = 0.0;
        for (i, w) in self.weights.iter().enumerate() {
            acc += w;
            if u < acc {
                return i;
            }
        }
        self.weights.len() - 1
    }

    fn sample(&self, rng: &mut Rng) -> f64 {
        let i = self.component(rng);
        let (mu, sigma) = (self.mus[i], self.sigmas[i]);
        // Inverse-CDF draw of the truncated normal, by bisection on the CDF (exact enough and
        // never loops forever, unlike rejection far in a tail).
        let a = norm_cdf((self.low - mu) / sigma);
        let b = norm_cdf((self.high - mu) / sigma);
        let target = a + rng.uniform() * (b - a);
        let (mut lo, mut hi) = (self.low, self.high);
        for _ in 0..60 {
            let mid = 0.5 * (lo + hi);
            if norm_cdf((mid - mu) / sigma) < target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        0.5 * (lo + hi)
    }

    fn log_pdf(&self, x: f64) -> f64 {
        let mut total = 0.0;
        for ((mu, sigma), w) in self.mus.iter().zip(&self.sigmas).zip(&self.weights) {
            let z = (x - mu) / sigma;
            let norm = norm_cdf((self.high - mu) / sigma) - norm_cdf((self.low - mu) / sigma);
            let pdf = (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt());
            total += w * pdf / norm.max(1e-300);
        }
        total.max(1e-300).ln()
    }

    fn log_mass(&self, a: f64, b: f64) -> f64 {
        let (a, b) = (a.max(self.low), b.min(self.high));
        let mut total = 0.0;
        for ((mu, sigma), w) in self.mus.iter().zip(&self.sigmas).zip(&self.weights) {
            let norm = norm_cdf((self.high - mu) / sigma) - norm_cdf((self.low - mu) / sigma);
            let mass = norm_cdf((b - mu) / sigma) - norm_cdf((a - mu) / sigma);
            total += w * mass / norm.max(1e-300);
        }
        total.max(1e-300).ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::sampler::RandomSampler;
    use crate::tune::study::Study;

    #[test]
    fn optuna_defaults() {
        assert_eq!(gamma(10), 1);
        assert_eq!(gamma(11), 2);
        assert_eq!(gamma(1000), 25);
        assert_eq!(weights(3), vec![1.0; 3]);
        let w = weights(30);
        assert_eq!(w.len(), 30);
        assert!((w[0] - 1.0 / 30.0).abs() < 1e-12 && w[4] == 1.0 && w[29] == 1.0);
    }

    #[test]
    fn densities_integrate_to_one() {
        let p = Parzen::fit(&[0.2, 0.25, 0.9], 0.0, 1.0);
        let n = 20_000;
        let integral: f64 = (0..n)
            .map(|i| p.log_pdf((i as f64 + 0.5) / n as f64).exp() / n as f64)
            .sum();
        assert!((integral - 1.0).abs() < 1e-3, "{integral}");
        assert!((p.log_mass(0.0, 1.0)).abs() < 1e-9);
        let c = Categorical::fit(&[0.0, 0.0, 2.0], 3);
        assert!((c.p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(c.p[0] > c.p[2] && c.p[2] > c.p[1]);
    }

    fn objective(m: &Map<String, Value>) -> f64 {
        // A bowl with its minimum at x = 2, log10(c) = -2, kind = "b".
        let x = m["x"].as_f64().unwrap_or(0.0);
        let c = m["c"].as_f64().unwrap_or(1.0).log10();
        let k = if m["kind"] == "b" { 0.0 } else { 1.0 };
        (x - 2.0).powi(2) + (c + 2.0).powi(2) + k
    }

    fn run(sampler: Box<dyn Sampler>) -> f64 {
        let mut space = Space::new();
        space.add_text("x", "uniform(-10, 10)").unwrap();
        space.add_text("c", "loguniform(1e-5, 1e3)").unwrap();
        space.add_text("kind", "choice(a, b, c)").unwrap();
        let mut study = Study::new(space, Direction::Minimize, sampler);
        study
            .optimize(60, None, |ctx| Ok(objective(ctx.params())), |_, _| {})
            .unwrap();
        study.best().unwrap().value.unwrap()
    }

    #[test]
    fn tpe_beats_random_search_on_a_bowl() {
        // Medians over seeds, so one lucky random run cannot flip the comparison.
        let mut tpe: Vec<f64> = (0..7).map(|s| run(Box::new(TpeSampler::new(s)))).collect();
        let mut rnd: Vec<f64> = (0..7)
            .map(|s| run(Box::new(RandomSampler::new(s))))
            .collect();
        tpe.sort_by(f64::total_cmp);
        rnd.sort_by(f64::total_cmp);
        assert!(tpe[3] < rnd[3], "tpe {tpe:?} random {rnd:?}");
        assert!(tpe[3] < 1.0, "{tpe:?}");
    }

    #[test]
    fn seeded_studies_repeat() {
        assert_eq!(
            run(Box::new(TpeSampler::new(5))),
            run(Box::new(TpeSampler::new(5)))
        );
    }
}
