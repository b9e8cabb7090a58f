//! SAGA (Defazio, Bach & Lacoste-Julien 2014) for the logistic loss with an elastic-net
//! penalty, as scikit-learn's `solver="saga"`:
//!
//! ```text
//! min (1/n) Σᵢ sᵢ ℓ(W xᵢ + b, yᵢ) + (α/2) ‖W‖² + β ‖W‖₁
//! ```
//!
//! Each step draws a row `i` uniformly (with replacement), computes its gradient `gᵢ`, and
//! moves along `gᵢ − gᵢ_old + mean of the stored gradients` (variance-reduced), with the L2
//! term as a shrink and the L1 term as a soft-threshold (the proximal step). The step is
//! scikit-learn's `1 / (2L + min(2nα, L))` with `L = ¼ maxᵢ sᵢ(‖xᵢ‖² + 1) + α` (scikit-learn
//! leaves the sample weight out of `L`; keeping it in keeps large weights stable).
//! After each epoch (`n` steps) it stops when `max |ΔW| / max |W| ≤ tol`, scikit-learn's rule.
//!
//! The data is dense, so every step touches every weight and no lazy updates are needed; the
//! matrix is copied to row-major once so a step reads one contiguous row.

use smelt_core::rng::Rng;

/// A SAGA problem: row-major `n × p` data, class codes, per-row weights.
pub(super) struct Saga<'a> {
    pub x: &'a [f64],
    pub n: usize,
    pub p: usize,
    pub y: &'a [u32],
    pub sw: &'a [f64],
    /// Linear outputs (1 for binary).
    pub k: usize,
    pub fit_intercept: bool,
    /// L2 strength `α` (mean-scaled objective).
    pub alpha: f64,
    /// L1 strength `β` (mean-scaled objective).
    pub beta: f64,
}

/// Result: `θ` laid out like the L-BFGS parameters (`k × d`, intercept last).
pub(super) struct SagaFit {
    pub theta: Vec<f64>,
    pub n_iter: usize,
    pub converged: bool,
    /// Whether the weights stayed finite.
    pub finite: bool,
}

impl Saga<'_> {
    pub(super) fn solve(&self, max_iter: usize, tol: f64, rng: &mut Rng) -> SagaFit {
        let (n, p, k) = (self.n, self.p, self.k);
        let fi = if self.fit_intercept { 1.0 } else { 0.0 };
        let mut lmax = 0.0f64;
        for i in 0..n {
            let row = &self.x[i * p..(i + 1) * p];
            let sq: f64 = row.iter().map(|v| v * v).sum();
            lmax = lmax.max(self.sw[i] * (sq + fi));
        }
        let l = 0.25 * lmax + self.alpha;
        let mun = (2.0 * n as f64 * self.alpha).min(l);
        let step = if l > 0.0 { 1.0 / (2.0 * l + mun) } else { 1.0 };
        let shrink = 1.0 - step * self.alpha;
        let thresh = step * self.beta;

        // Weights feature-major (`w[j·k + c]`) so a row's update is one contiguous sweep.
        let mut w = vec![0.0; p * k];
        let mut b = vec![0.0; k];
        let mut sum_g = vec![0.0; p * k];
        let mut sum_b = vec![0.0; k];
        let mut mem = vec![0.0; n * k];
        let mut seen = vec![false; n];
        let mut num_seen = 0usize;
        let mut prev = vec![0.0; p * k];
        let mut z = vec![0.0; k];
        let mut delta = vec![0.0; k];
        let mut n_iter = 0;
        let mut converged = false;
        let mut finite = true;
        let mut next = if n > 0 { rng.below(n) } else { 0 };
        while n_iter < max_iter {
            for _ in 0..n {
                let i = next;
                next = rng.below(n);
                // Touch the next row now: its cache misses overlap this step's arithmetic
                // (random rows are what bounds SAGA on data larger than the cache).
                std::hint::black_box((self.x.get(next * p).copied(), mem.get(next * k).copied()));
                if !seen[i] {
                    seen[i] = true;
                    num_seen += 1;
                }
                let inv_m = 1.0 / num_seen as f64;
                let row = &self.x[i * p..(i + 1) * p];
                z.copy_from_slice(&b);
                for (j, &xv) in row.iter().enumerate() {
                    for c in 0..k {
                        z[c] += w[j * k + c] * xv;
                    }
                }
                gradient(&mut z, self.y[i], self.sw[i]);
                let stored = &mut mem[i * k..(i + 1) * k];
                for ((dc, mc), zc) in delta.iter_mut().zip(stored.iter_mut()).zip(&z) {
                    *dc = zc - *mc;
                    *mc = *zc;
                }
                for (j, &xv) in row.iter().enumerate() {
                    for (c, &dc) in delta.iter().enumerate() {
                        let t = j * k + c;
                        let gj = xv * dc;
                        let v = shrink * w[t] - step * (gj + sum_g[t] * inv_m);
                        w[t] = if thresh > 0.0 { soft(v, thresh) } else { v };
                        sum_g[t] += gj;
                    }
                }
                if self.fit_intercept {
                    for c in 0..k {
                        b[c] -= step * (delta[c] + sum_b[c] * inv_m);
                        sum_b[c] += delta[c];
                    }
                }
            }
            n_iter += 1;
            let (mut max_w, mut max_change) = (0.0f64, 0.0f64);
            for (wt, pt) in w.iter().zip(prev.iter_mut()) {
                max_w = max_w.max(wt.abs());
                max_change = max_change.max((wt - *pt).abs());
                *pt = *wt;
            }
            if !max_w.is_finite() || !max_change.is_finite() || b.iter().any(|v| !v.is_finite()) {
                finite = false;
                break;
            }
            if (max_w != 0.0 && max_change / max_w <= tol) || (max_w == 0.0 && max_change == 0.0) {
                converged = true;
                break;
            }
        }
        let d = p + usize::from(self.fit_intercept);
        let mut theta = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..p {
                theta[c * d + j] = w[j * k + c];
            }
            if self.fit_intercept {
                theta[c * d + p] = b[c];
            }
        }
        SagaFit {
            theta,
            n_iter,
            converged,
            finite,
        }
    }
}

/// Soft-thresholding, the proximal map of `t·|·|`.
#[inline]
fn soft(v: f64, t: f64) -> f64 {
    if v > t {
        v - t
    } else if v < -t {
        v + t
    } else {
        0.0
    }
}

/// Turns decision values `z` of one row into `s · ∂ℓ/∂z`.
#[inline]
fn gradient(z: &mut [f64], y: u32, s: f64) {
    if z.len() == 1 {
        let v = z[0];
        let prob = if v >= 0.0 {
            1.0 / (1.0 + (-v).exp())
        } else {
            let e = v.exp();
            e / (1.0 + e)
        };
        z[0] = s * (prob - if y == 1 { 1.0 } else { 0.0 });
        return;
    }
    let max = z.iter().fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let mut sum = 0.0;
    for v in z.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    for (c, v) in z.iter_mut().enumerate() {
        *v = s * (*v / sum - if c == y as usize { 1.0 } else { 0.0 });
    }
}
