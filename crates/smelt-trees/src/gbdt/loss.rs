//! Losses of gradient boosting: the starting margin, per-row gradients and hessians, the
//! inverse link, leaf re-fitting for the non-smooth losses, and the loss itself (for early
//! stopping and the training curve).

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// A boosting loss.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum Loss {
    /// `½(y − f)²`.
    SquaredError,
    /// `|y − f|`; leaves are re-fitted to the median of their residuals.
    AbsoluteError,
    /// Huber: quadratic within `delta` of the target, linear outside (LightGBM's gradient,
    /// hessian 1).
    Huber {
        /// Where the loss turns linear.
        delta: f64,
    },
    /// Pinball loss at `quantile`; leaves are re-fitted to the quantile of their residuals.
    Quantile {
        /// The quantile, in `(0, 1)`.
        quantile: f64,
    },
    /// Poisson deviance with a log link (`y >= 0`, predictions `exp(f)`).
    Poisson,
    /// Binary log-loss on the logit.
    BinaryLogLoss,
    /// Multi-class log-loss: softmax over one margin per class.
    MultiLogLoss {
        /// Number of classes.
        k: usize,
    },
}

impl Loss {
    /// Margins per row (trees per round).
    pub fn n_groups(&self) -> usize {
        match self {
            Loss::MultiLogLoss { k } => *k,
            _ => 1,
        }
    }

    /// Leaves are re-fitted to a quantile of the residuals after the tree is grown.
    pub(crate) fn refit_quantile(&self) -> Option<f64> {
        match self {
            Loss::AbsoluteError => Some(0.5),
            Loss::Quantile { quantile } => Some(*quantile),
            _ => None,
        }
    }

    /// The constant margin(s) minimising the loss: what boosting starts from. `y` holds
    /// targets (class codes as floats for classification).
    pub(crate) fn init(&self, y: &[f64], w: Option<&[f64]>) -> Vec<f64> {
        let wsum = |f: &dyn Fn(f64) -> f64| -> (f64, f64) {
            match w {
                None => (y.iter().map(|&v| f(v)).sum(), y.len() as f64),
                Some(w) => (
                    y.iter().zip(w).map(|(&v, &wi)| wi * f(v)).sum(),
                    w.iter().sum(),
                ),
            }
        };
        match self {
            Loss::SquaredError | Loss::Huber { .. } => {
                let (s, t) = wsum(&|v| v);
                vec![s / t]
            }
            Loss::AbsoluteError => vec![weighted_quantile(y, w, 0.5)],
            Loss::Quantile { quantile } => vec![weighted_quantile(y, w, *quantile)],
            Loss::Poisson => {
                let (s, t) = wsum(&|v| v);
                vec![(s / t).max(1e-300).ln()]
            }
            Loss::BinaryLogLoss => {
                let (s, t) = wsum(&|v| v);
                let p = (s / t).clamp(1e-15, 1.0 - 1e-15);
                vec![(p / (1.0 - p)).ln()]
            }
            Loss::MultiLogLoss { k } => (0..*k)
                .map(|c| {
                    let (s, t) = wsum(&|v| if v as usize == c { 1.0 } else { 0.0 });
                    (s / t).clamp(1e-15, 1.0).ln()
                })
                .collect(),
        }
    }

    /// Gradients and hessians of every row and group into `gh` (group-major: `gh[g·n + i]`),
    /// from the margins `raw` (row-major `n × groups`).
    #[inline(never)]
    pub(crate) fn gradients(&self, y: &[f64], w: Option<&[f64]>, raw: &[f64], gh: &mut [[f32; 2]]) {
        let n = y.len();
        const CHUNK: usize = 16384;
        match self {
            Loss::MultiLogLoss { k } => {
                let k = *k;
                // Softmax probabilities row-major, then each class's gradients.
                let mut prob = raw.to_vec();
                prob.par_chunks_mut(k).for_each(|row| {
                    let mx = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let mut s = 0.0;
                    for v in row.iter_mut() {
                        *v = (*v - mx).exp();
                        s += *v;
                    }
                    row.iter_mut().for_each(|v| *v /= s);
                });
                gh[..n * k]
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(ci, out)| {
                        let start = ci * CHUNK;
                        for (i, o) in out.iter_mut().enumerate() {
                            let (c, r) = ((start + i) / n, (start + i) % n);
                            let pc = prob[r * k + c];
                            let g = pc - if y[r] as usize == c { 1.0 } else { 0.0 };
                            let wi = w.map_or(1.0, |w| w[r]);
                            *o = [(wi * g) as f32, (wi * pc * (1.0 - pc)).max(1e-16) as f32];
                        }
                    });
            }
            _ => {
                gh[..n]
                    .par_chunks_mut(CHUNK)
                    .enumerate()
                    .for_each(|(ci, out)| self.fill(y, w, raw, ci * CHUNK, out));
            }
        }
    }

    /// Gradients of rows `start..start + out.len()` (a single-margin loss). Not inlined, so
    /// profiles show gradient computation on its own line.
    /// One loop per loss, with and without weights (the loss's `match` and the weight test
    /// were taken per row; without weights, multiplying by 1 changed nothing).
    #[inline(never)]
    fn fill(&self, y: &[f64], w: Option<&[f64]>, raw: &[f64], start: usize, out: &mut [[f32; 2]]) {
        #[inline(always)]
        fn each(
            y: &[f64],
            w: Option<&[f64]>,
            raw: &[f64],
            start: usize,
            out: &mut [[f32; 2]],
            f: impl Fn(f64, f64) -> (f64, f64),
        ) {
            let rows = start..start + out.len();
            let (y, raw) = (&y[rows.clone()], &raw[rows.clone()]);
            match w {
                None => {
                    for ((o, &yi), &fi) in out.iter_mut().zip(y).zip(raw) {
                        let (g, h) = f(yi, fi);
                        *o = [g as f32, h as f32];
                    }
                }
                Some(w) => {
                    for (((o, &yi), &fi), &wi) in out.iter_mut().zip(y).zip(raw).zip(&w[rows]) {
                        let (g, h) = f(yi, fi);
                        *o = [(wi * g) as f32, (wi * h) as f32];
                    }
                }
            }
        }
        match *self {
            Loss::SquaredError => each(y, w, raw, start, out, |y, f| {
                Loss::SquaredError.grad_hess(y, f)
            }),
            Loss::BinaryLogLoss => each(y, w, raw, start, out, |y, f| {
                Loss::BinaryLogLoss.grad_hess(y, f)
            }),
            Loss::AbsoluteError => each(y, w, raw, start, out, |y, f| {
                Loss::AbsoluteError.grad_hess(y, f)
            }),
            Loss::Huber { delta } => each(y, w, raw, start, out, |y, f| {
                Loss::Huber { delta }.grad_hess(y, f)
            }),
            Loss::Quantile { quantile } => each(y, w, raw, start, out, |y, f| {
                Loss::Quantile { quantile }.grad_hess(y, f)
            }),
            Loss::Poisson => each(y, w, raw, start, out, |y, f| Loss::Poisson.grad_hess(y, f)),
            Loss::MultiLogLoss { .. } => each(y, w, raw, start, out, |y, f| self.grad_hess(y, f)),
        }
    }

    /// Gradient and hessian of a single-margin loss.
    #[inline]
    fn grad_hess(&self, y: f64, f: f64) -> (f64, f64) {
        match *self {
            Loss::SquaredError => (f - y, 1.0),
            Loss::AbsoluteError => (if f > y { 1.0 } else { -1.0 }, 1.0),
            Loss::Huber { delta } => ((f - y).clamp(-delta, delta), 1.0),
            Loss::Quantile { quantile } => (if y > f { -quantile } else { 1.0 - quantile }, 1.0),
            Loss::Poisson => {
                let e = f.exp();
                (e - y, e)
            }
            Loss::BinaryLogLoss => {
                let p = sigmoid(f);
                (p - y, (p * (1.0 - p)).max(1e-16))
            }
            Loss::MultiLogLoss { .. } => (0.0, 1.0),
        }
    }

    /// The mean (weighted) loss of margins `raw` (row-major `n × groups`).
    pub(crate) fn value(&self, y: &[f64], w: Option<&[f64]>, raw: &[f64]) -> f64 {
        let k = self.n_groups();
        let (s, t) = (0..y.len())
            .into_par_iter()
            .map(|r| {
                let wi = w.map_or(1.0, |w| w[r]);
                (wi * self.row_loss(y[r], &raw[r * k..(r + 1) * k]), wi)
            })
            .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1));
        s / t
    }

    fn row_loss(&self, y: f64, f: &[f64]) -> f64 {
        let f0 = f[0];
        match *self {
            Loss::SquaredError => 0.5 * (y - f0) * (y - f0),
            Loss::AbsoluteError => (y - f0).abs(),
            Loss::Huber { delta } => {
                let d = (y - f0).abs();
                if d <= delta {
                    0.5 * d * d
                } else {
                    delta * (d - 0.5 * delta)
                }
            }
            Loss::Quantile { quantile } => {
                let d = y - f0;
                if d >= 0.0 {
                    quantile * d
                } else {
                    (quantile - 1.0) * d
                }
            }
            // Half Poisson deviance without the terms constant in f.
            Loss::Poisson => f0.exp() - y * f0,
            Loss::BinaryLogLoss => {
                // log(1 + exp(f)) − y·f, computed stably.
                let l = if f0 > 0.0 {
                    f0 + (-f0).exp().ln_1p()
                } else {
                    f0.exp().ln_1p()
                };
                l - y * f0
            }
            Loss::MultiLogLoss { .. } => {
                let mx = f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = mx + f.iter().map(|&m| (m - mx).exp()).sum::<f64>().ln();
                lse - f[y as usize]
            }
        }
    }

    /// The prediction of a margin for regression losses (`exp` for Poisson).
    pub(crate) fn inverse_link(&self, f: f64) -> f64 {
        match self {
            Loss::Poisson => f.exp(),
            _ => f,
        }
    }
}

/// `1 / (1 + exp(-x))`.
#[inline]
pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The weighted `q`-quantile of `v`: numpy's linear-interpolation percentile of the values
/// repeated by their weights (exactly that for integer weights; unit weights when `None`).
pub(crate) fn weighted_quantile(v: &[f64], w: Option<&[f64]>, q: f64) -> f64 {
    let weight = |i: usize| w.map_or(1.0, |w| w[i]);
    let mut idx: Vec<usize> = (0..v.len()).filter(|&i| weight(i) > 0.0).collect();
    if idx.is_empty() {
        return 0.0;
    }
    idx.sort_unstable_by(|&a, &b| v[a].total_cmp(&v[b]));
    let total: f64 = idx.iter().map(|&i| weight(i)).sum();
    let pos = q * (total - 1.0).max(0.0);
    let (lo, hi) = (pos.floor(), pos.ceil());
    // The value at position `at` of the weight-repeated sorted values.
    let at = |target: f64| -> f64 {
        let mut cum = 0.0;
        for &i in &idx {
            cum += weight(i);
            if cum > target {
                return v[i];
            }
        }
        v[idx[idx.len() - 1]]
    };
    let (a, b) = (at(lo), at(hi));
    a + (b - a) * (pos - lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_minimises_each_loss() {
        let y = [1.0, 2.0, 3.0, 10.0];
        assert_eq!(Loss::SquaredError.init(&y, None), vec![4.0]);
        assert_eq!(Loss::AbsoluteError.init(&y, None), vec![2.5]);
        assert!((Loss::Poisson.init(&y, None)[0] - 4f64.ln()).abs() < 1e-15);
        let b = [0.0, 1.0, 1.0, 1.0];
        assert!((Loss::BinaryLogLoss.init(&b, None)[0] - 3f64.ln()).abs() < 1e-15);
        let m = Loss::MultiLogLoss { k: 3 }.init(&[0.0, 1.0, 1.0, 2.0], None);
        assert!((m[1] - 0.5f64.ln()).abs() < 1e-15);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let losses = [
            Loss::SquaredError,
            Loss::Huber { delta: 1.0 },
            Loss::Poisson,
            Loss::BinaryLogLoss,
        ];
        for loss in losses {
            for (y, f) in [(1.0f64, 0.3), (0.0, -0.7), (3.0, 1.2)] {
                let y = if loss == Loss::BinaryLogLoss {
                    y.min(1.0)
                } else {
                    y
                };
                let (g, _) = loss.grad_hess(y, f);
                let e = 1e-6;
                let num = (loss.row_loss(y, &[f + e]) - loss.row_loss(y, &[f - e])) / (2.0 * e);
                assert!((g - num).abs() < 1e-6, "{loss:?} y={y} f={f}: {g} vs {num}");
            }
        }
    }

    #[test]
    fn softmax_gradients_sum_to_zero() {
        let loss = Loss::MultiLogLoss { k: 3 };
        let raw = [0.1, 0.5, -0.2, 1.0, 0.0, 0.3];
        let y = [2.0, 0.0];
        let mut gh = vec![[0.0f32; 2]; 6];
        loss.gradients(&y, None, &raw, &mut gh);
        for r in 0..2 {
            let s: f32 = (0..3).map(|c| gh[c * 2 + r][0]).sum();
            assert!(s.abs() < 1e-6);
        }
        assert!(gh[2 * 2][0] < 0.0, "the true class has a negative gradient");
    }

    #[test]
    fn weighted_quantile_matches_numpy_without_weights() {
        assert_eq!(weighted_quantile(&[3.0, 1.0, 2.0, 4.0], None, 0.5), 2.5);
        assert_eq!(
            weighted_quantile(&[1.0, 2.0, 3.0], Some(&[1.0, 1.0, 5.0]), 0.5),
            3.0
        );
        // Integer weights are repeated values: [1, 2, 2, 3] -> 2.
        assert_eq!(
            weighted_quantile(&[1.0, 2.0, 3.0], Some(&[1.0, 2.0, 1.0]), 0.5),
            2.0
        );
        assert_eq!(weighted_quantile(&[1.0, 2.0], Some(&[1.0, 1.0]), 0.5), 1.5);
        assert_eq!(weighted_quantile(&[1.0, 9.0], Some(&[1.0, 0.0]), 0.5), 1.0);
    }
}
