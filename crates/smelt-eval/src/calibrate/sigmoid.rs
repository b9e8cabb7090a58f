//! Platt scaling (scikit-learn's `_sigmoid_calibration`): `p = 1 / (1 + exp(a·f + b))` fitted
//! by weighted log loss against Platt's smoothed targets `(n₊ + 1)/(n₊ + 2)` and `1/(n₋ + 2)`,
//! which keep the fit finite on separable scores. Solved by Newton's method (the problem is
//! two-dimensional and convex), so the optimum is the one scikit-learn's L-BFGS approaches.

use serde::{Deserialize, Serialize};

/// A fitted sigmoid.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sigmoid {
    /// Slope (negative when higher scores mean the positive class).
    pub a: f64,
    /// Intercept.
    pub b: f64,
}

impl Sigmoid {
    /// Fits on scores `f` and binary labels `y` (`true` = positive), with optional weights.
    pub fn fit(f: &[f64], y: &[bool], w: Option<&[f64]>) -> Sigmoid {
        let wt = |i: usize| w.map_or(1.0, |w| w[i]);
        let (mut prior0, mut prior1) = (0.0, 0.0);
        for (i, &pos) in y.iter().enumerate() {
            if pos {
                prior1 += wt(i);
            } else {
                prior0 += wt(i);
            }
        }
        let t_pos = (prior1 + 1.0) / (prior1 + 2.0);
        let t_neg = 1.0 / (prior0 + 2.0);
        let target = |i: usize| if y[i] { t_pos } else { t_neg };
        let loss = |a: f64, b: f64| -> f64 {
            (0..f.len())
                .map(|i| {
                    let z = a * f[i] + b;
                    // -[t log p + (1-t) log(1-p)] with p = σ(-z): log p = -softplus(z),
                    // log(1-p) = -softplus(-z).
                    let t = target(i);
                    wt(i) * (t * softplus(z) + (1.0 - t) * softplus(-z))
                })
                .sum()
        };
        let (mut a, mut b) = (0.0, ((prior0 + 1.0) / (prior1 + 1.0)).ln());
        let mut current = loss(a, b);
        for _ in 0..100 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for (i, &fi) in f.iter().enumerate() {
                let p = 1.0 / (1.0 + (a * fi + b).exp());
                let d = wt(i) * (target(i) - p);
                let h = wt(i) * p * (1.0 - p);
                ga += d * fi;
                gb += d;
                haa += h * fi * fi;
                hab += h * fi;
                hbb += h;
            }
            if ga.abs().max(gb.abs()) < 1e-12 {
                break;
            }
            // Newton step (with a tiny ridge if the Hessian is singular), halved until the
            // loss goes down.
            let (haa, hbb) = (haa + 1e-12, hbb + 1e-12);
            let det = haa * hbb - hab * hab;
            let (da, db) = if det.abs() > 1e-300 {
                ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det)
            } else {
                (ga, gb)
            };
            let mut step = 1.0;
            let mut improved = false;
            for _ in 0..50 {
                let (na, nb) = (a - step * da, b - step * db);
                let l = loss(na, nb);
                if l <= current {
                    improved = (current - l) > 1e-15 * current.abs().max(1.0);
                    a = na;
                    b = nb;
                    current = l;
                    break;
                }
                step *= 0.5;
            }
            if !improved {
                break;
            }
        }
        Sigmoid { a, b }
    }

    /// The calibrated probability of a score.
    pub fn predict(&self, f: f64) -> f64 {
        1.0 / (1.0 + (self.a * f + self.b).exp())
    }
}

fn softplus(z: f64) -> f64 {
    if z > 30.0 { z } else { z.exp().ln_1p() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_sigmoid() {
        // Labels drawn (deterministically) as the fraction 1/(1+e^(-2f+1)) of each score.
        let mut f = Vec::new();
        let mut y = Vec::new();
        for k in 0..40 {
            let s = -2.0 + k as f64 * 0.1;
            let p = 1.0 / (1.0 + (-2.0 * s + 1.0f64).exp());
            let pos = (p * 1000.0).round() as usize;
            for i in 0..1000 {
                f.push(s);
                y.push(i < pos);
            }
        }
        let m = Sigmoid::fit(&f, &y, None);
        assert!(
            (m.a + 2.0).abs() < 0.01 && (m.b - 1.0).abs() < 0.01,
            "{m:?}"
        );
        assert!(m.predict(3.0) > 0.99);
    }
}
