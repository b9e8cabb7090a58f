//! The smooth part of the logistic objective and its gradient, in one pass over the data.
//!
//! ```text
//! f(θ) = (1/S) Σᵢ sᵢ ℓ(zᵢ, yᵢ) + (λ/2) ‖W‖²,   zᵢ = W xᵢ + b,   S = Σᵢ sᵢ
//! binary       ℓ = log(1 + e^z) − y z                 ∂ℓ/∂z = σ(z) − y
//! multinomial  ℓ = log Σₖ e^{z_k} − z_y               ∂ℓ/∂z_k = softmax(z)_k − [k = y]
//! ```
//!
//! `θ` is `K' × d`, row-major, with `K' = 1` for two classes and the number of classes
//! otherwise, and `d = p (+1 for the intercept, last)`; the intercept is not penalised.
//!
//! The column-major matrix is cut into row blocks small enough to stay in L2 cache: for each
//! block the decision values are accumulated column by column, turned into per-row gradients,
//! and `Xᵀ·g` is accumulated from the same, still cached, columns. So one evaluation reads `X`
//! from memory once (two GEMVs would read it twice). Blocks run in parallel on rayon's pool;
//! each writes its own slot of a preallocated buffer and the slots are summed in block order,
//! so results do not depend on the thread count or scheduling.

use rayon::prelude::*;

/// Rows per block: about 256 KiB of the matrix, a multiple of 8, in `[64, 8192]`.
fn block_rows(p: usize) -> usize {
    let rows = (256 * 1024 / 8) / p.max(1);
    (rows.clamp(64, 8192) / 8) * 8
}

/// A weighted logistic problem: data, per-row weights (sample × class weights), L2 strength.
pub(super) struct Objective<'a> {
    /// Column-major `n × p` values.
    x: &'a [f64],
    n: usize,
    p: usize,
    y: &'a [u32],
    sw: &'a [f64],
    sw_sum: f64,
    /// Number of linear outputs `K'` (1 for binary).
    k: usize,
    fit_intercept: bool,
    /// `λ` of the penalty `(λ/2)‖W‖²` in the mean-scaled objective.
    l2: f64,
    block: usize,
    /// Decision values / per-row gradients, block by block (`k` runs of `b` rows each).
    raw: Vec<f64>,
    /// Per block: the gradient sums (`k·d`) then the loss sum.
    partial: Vec<f64>,
}

impl<'a> Objective<'a> {
    /// `y` are class codes; for `k == 1` code 1 is the positive class.
    #[allow(
        clippy::too_many_arguments,
        reason = "plain data, each argument distinct"
    )]
    pub(super) fn new(
        x: &'a [f64],
        n: usize,
        p: usize,
        y: &'a [u32],
        sw: &'a [f64],
        k: usize,
        fit_intercept: bool,
        l2: f64,
    ) -> Self {
        let block = block_rows(p);
        let n_blocks = n.div_ceil(block);
        let d = p + usize::from(fit_intercept);
        Objective {
            x,
            n,
            p,
            y,
            sw,
            sw_sum: sw.iter().sum(),
            k,
            fit_intercept,
            l2,
            block,
            raw: vec![0.0; n_blocks * block * k],
            partial: vec![0.0; n_blocks * (k * d + 1)],
        }
    }

    /// Number of parameters, `k · d`.
    pub(super) fn dim(&self) -> usize {
        self.k * self.d()
    }

    fn d(&self) -> usize {
        self.p + usize::from(self.fit_intercept)
    }

    /// `f(θ)`, writing `∇f(θ)` into `grad`.
    pub(super) fn eval(&mut self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, p, k, d) = (self.n, self.p, self.k, self.d());
        let (x, y, sw, fit_intercept, bs) =
            (self.x, self.y, self.sw, self.fit_intercept, self.block);
        let stride = k * d + 1;
        self.raw
            .par_chunks_mut(bs * k)
            .zip(self.partial.par_chunks_mut(stride))
            .enumerate()
            .for_each(|(t, (z, part))| {
                let start = t * bs;
                let b = (n - start).min(bs);
                let z = &mut z[..b * k];
                for c in 0..k {
                    let b0 = if fit_intercept { theta[c * d + p] } else { 0.0 };
                    z[c * b..(c + 1) * b].fill(b0);
                }
                for j in 0..p {
                    let col = &x[j * n + start..j * n + start + b];
                    for c in 0..k {
                        let w = theta[c * d + j];
                        if w != 0.0 {
                            axpy(&mut z[c * b..(c + 1) * b], w, col);
                        }
                    }
                }
                let (yb, sb) = (&y[start..start + b], &sw[start..start + b]);
                let loss = if k == 1 {
                    binary_rows(z, yb, sb)
                } else {
                    multinomial_rows(z, b, k, yb, sb)
                };
                for j in 0..p {
                    let col = &x[j * n + start..j * n + start + b];
                    for c in 0..k {
                        part[c * d + j] = dot(&z[c * b..(c + 1) * b], col);
                    }
                }
                if fit_intercept {
                    for c in 0..k {
                        part[c * d + p] = z[c * b..(c + 1) * b].iter().sum();
                    }
                }
                part[k * d] = loss;
            });
        grad.fill(0.0);
        let mut loss = 0.0;
        for part in self.partial.chunks_exact(stride) {
            for (g, v) in grad.iter_mut().zip(part) {
                *g += v;
            }
            loss += part[k * d];
        }
        let inv = 1.0 / self.sw_sum;
        grad.iter_mut().for_each(|g| *g *= inv);
        let mut penalty = 0.0;
        if self.l2 > 0.0 {
            for c in 0..k {
                for j in 0..p {
                    let w = theta[c * d + j];
                    penalty += w * w;
                    grad[c * d + j] += self.l2 * w;
                }
            }
        }
        loss * inv + 0.5 * self.l2 * penalty
    }
}

/// Binary rows: returns `Σ sᵢ ℓᵢ` and overwrites `z` with `sᵢ (σ(zᵢ) − yᵢ)`.
fn binary_rows(z: &mut [f64], y: &[u32], sw: &[f64]) -> f64 {
    let mut loss = 0.0;
    for ((zi, &yi), &si) in z.iter_mut().zip(y).zip(sw) {
        let v = *zi;
        let yv = if yi == 1 { 1.0 } else { 0.0 };
        // log(1 + e^v) = max(v, 0) + log1p(e^{-|v|}), stable for any v.
        let e = (-v.abs()).exp();
        loss += si * (v.max(0.0) + e.ln_1p() - yv * v);
        let prob = if v >= 0.0 {
            1.0 / (1.0 + e)
        } else {
            e / (1.0 + e)
        };
        *zi = si * (prob - yv);
    }
    loss
}

/// Multinomial rows (`z` holds `k` runs of `b`): returns `Σ sᵢ ℓᵢ` and overwrites `z` with
/// `sᵢ (softmax(zᵢ) − onehot(yᵢ))`.
fn multinomial_rows(z: &mut [f64], b: usize, k: usize, y: &[u32], sw: &[f64]) -> f64 {
    let mut loss = 0.0;
    for i in 0..b {
        let yi = y[i] as usize;
        let mut max = f64::NEG_INFINITY;
        for c in 0..k {
            max = max.max(z[c * b + i]);
        }
        let zy = z[yi.min(k - 1) * b + i];
        let mut sum = 0.0;
        for c in 0..k {
            let e = (z[c * b + i] - max).exp();
            z[c * b + i] = e;
            sum += e;
        }
        loss += sw[i] * (sum.ln() + max - zy);
        let scale = sw[i] / sum;
        for c in 0..k {
            let onehot = if c == yi { sw[i] } else { 0.0 };
            z[c * b + i] = z[c * b + i] * scale - onehot;
        }
    }
    loss
}

/// `z += w · x`.
#[inline]
fn axpy(z: &mut [f64], w: f64, x: &[f64]) {
    for (zi, xi) in z.iter_mut().zip(x) {
        *zi += w * xi;
    }
}

/// `a · b` with eight independent accumulators (vectorisable, fixed summation order).
#[inline]
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().sum::<f64>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The analytic gradient matches central finite differences (binary and multinomial).
    #[test]
    fn gradient_matches_finite_differences() {
        let (n, p) = (37, 3);
        let xs: Vec<f64> = (0..n * p)
            .map(|t| ((t * 7919) % 97) as f64 / 40.0 - 1.0)
            .collect();
        for k in [1usize, 3] {
            let classes = if k == 1 { 2 } else { k };
            let y: Vec<u32> = (0..n).map(|i| ((i * 31) % classes) as u32).collect();
            let sw: Vec<f64> = (0..n).map(|i| 0.5 + (i % 3) as f64).collect();
            let mut obj = Objective::new(&xs, n, p, &y, &sw, k, true, 0.3);
            let theta: Vec<f64> = (0..obj.dim()).map(|t| 0.2 * t as f64 - 0.5).collect();
            let mut g = vec![0.0; obj.dim()];
            obj.eval(&theta, &mut g);
            let mut tmp = vec![0.0; obj.dim()];
            for t in 0..obj.dim() {
                let h = 1e-6;
                let mut a = theta.clone();
                a[t] += h;
                let fa = obj.eval(&a, &mut tmp);
                a[t] -= 2.0 * h;
                let fb = obj.eval(&a, &mut tmp);
                let fd = (fa - fb) / (2.0 * h);
                assert!((fd - g[t]).abs() < 1e-7, "k={k} t={t}: {fd} vs {}", g[t]);
            }
        }
    }

    #[test]
    fn dot_handles_tails() {
        let a: Vec<f64> = (0..19).map(f64::from).collect();
        assert_eq!(dot(&a, &a), (0..19).map(|v| (v * v) as f64).sum::<f64>());
    }
}
