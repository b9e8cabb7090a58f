//! Training-mode batch normalisation over `[n, c, h, w]`, optionally followed by ReLU, as one
//! autograd node with the closed-form backward pass.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{Real, slice, with_values};

/// Batch statistics of one channel.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stat {
    pub(super) mean: f64,
    pub(super) inv_std: f64,
}

impl Stat {
    /// The statistics of each channel from its mean and biased variance.
    pub(super) fn of(mean: &[f64], var: &[f64], eps: f64) -> Vec<Stat> {
        mean.iter()
            .zip(var)
            .map(|(&mean, &var)| Stat {
                mean,
                inv_std: 1.0 / (var + eps).sqrt(),
            })
            .collect()
    }

    /// The closed-form input gradient of a channel with scale `gamma` over `m` values, whose
    /// output gradient sums are `(db, dg) = (Σ gy, Σ gy·x̂)`: `dx = k·(m·gy − db − x̂·dg)` with
    /// `k = γ·inv_std/m`, returned as `(a, b, off, mean)` for `dx = a·gy − b·(x − mean) − off`.
    pub(super) fn dx_terms<T: Real>(
        &self,
        gamma: f64,
        (db, dg): (f64, f64),
        m: f64,
    ) -> (T, T, T, T) {
        let k = gamma * self.inv_std / m;
        (
            T::of(k * m),
            T::of(k * dg * self.inv_std),
            T::of(k * db),
            T::of(self.mean),
        )
    }
}

/// `γ·(x − mean)/√(var + ε) + β` per channel with the batch's mean and (biased) variance,
/// then ReLU when `relu`; returns the output and the batch mean and biased variance per channel
/// (for the running statistics). `x`: a CPU f32/f64 tensor `[n, c, h, w]` (the caller checks;
/// other devices use candle's ops).
pub fn batch_norm(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let x = x.contiguous()?;
    let (n, c, h, w) = x.dims4()?;
    let hw = h * w;
    let (mean, var) = match x.dtype() {
        candle_core::DType::F32 => with_values::<f32, _>(&x, |v| stats(v, n, c, hw))?,
        _ => with_values::<f64, _>(&x, |v| stats(v, n, c, hw))?,
    };
    let st = Stat::of(&mean, &var, eps);
    let y = x.apply_op3(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        BatchNorm { st, relu },
    )?;
    Ok((y, mean, var))
}

/// Evaluation-mode batch normalisation with the running statistics `mean` and `var`, then
/// ReLU when `relu`, in one pass over `x` (a CPU f32/f64 tensor `[n, c, h, w]`; the caller
/// checks). The result carries no autograd node: evaluation never backpropagates.
pub fn batch_norm_eval(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    eps: f64,
    relu: bool,
) -> Result<Tensor> {
    let x = x.contiguous()?;
    let (_, c, h, w) = x.dims4()?;
    let f64s = |t: &Tensor| t.to_dtype(candle_core::DType::F64)?.to_vec1::<f64>();
    let st = Stat::of(&f64s(mean)?, &f64s(var)?, eps);
    if st.len() != c {
        candle_core::bail!("smelt-batch-norm: {c} channels, {} statistics", st.len())
    }
    let op = BatchNorm { st, relu };
    fn run<T: Real>(
        x: &Tensor,
        g: &Tensor,
        b: &Tensor,
        op: &BatchNorm,
        c: usize,
        hw: usize,
    ) -> Result<Tensor> {
        let g: Vec<T> = g.to_dtype(x.dtype())?.to_vec1()?;
        let b: Vec<T> = b.to_dtype(x.dtype())?.to_vec1()?;
        let y = with_values::<T, _>(x, |xv| forward(xv, &g, &b, op, c, hw))?;
        Tensor::from_vec(y, x.shape(), x.device())
    }
    match x.dtype() {
        candle_core::DType::F32 => run::<f32>(&x, gamma, beta, &op, c, h * w),
        _ => run::<f64>(&x, gamma, beta, &op, c, h * w),
    }
}

/// Lanes of the reductions below: independent partial sums the compiler keeps in vector
/// registers (a plain `sum()` is one chain of dependent adds).
const LANES: usize = 8;

/// `Σ f(v)` over `x` in `LANES` partial sums of `T`, returned in f64. Used per plane (at most a
/// few thousand values), so the `T` partial sums lose nothing that matters.
#[inline(always)]
pub(super) fn lane_sum<T: Real>(x: &[T], f: impl Fn(T) -> T) -> f64 {
    let zero = T::of(0.0);
    let mut acc = [zero; LANES];
    let chunks = x.chunks_exact(LANES);
    let mut tail = zero;
    for &v in chunks.remainder() {
        tail += f(v);
    }
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += f(v);
        }
    }
    acc.iter().map(|a| a.to_f64()).sum::<f64>() + tail.to_f64()
}

/// Per channel: the mean and biased variance over `(n, h, w)`, two passes (per-plane partial
/// sums, accumulated in f64).
pub(super) fn stats<T: Real>(x: &[T], n: usize, c: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (n * hw).max(1) as f64;
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..n).map(move |i| &x[(i * c + ch) * hw..][..hw]);
            let mut s = 0.0;
            for p in planes() {
                s += lane_sum(p, |v| v);
            }
            let mean = s / m;
            let mt = T::of(mean);
            let mut q = 0.0;
            for p in planes() {
                q += lane_sum(p, |v| (v - mt) * (v - mt));
            }
            (mean, q / m)
        })
        .unzip()
}

struct BatchNorm {
    st: Vec<Stat>,
    relu: bool,
}

fn forward<T: Real>(
    x: &[T],
    gamma: &[T],
    beta: &[T],
    op: &BatchNorm,
    c: usize,
    hw: usize,
) -> Vec<T> {
    let mut y = vec![T::of(0.0); x.len()];
    let zero = T::of(0.0);
    y.par_chunks_mut(hw)
        .zip(x.par_chunks(hw))
        .enumerate()
        .for_each(|(plane, (yo, xi))| {
            let ch = plane % c;
            let s = op.st[ch];
            let scale = T::of(s.inv_std) * gamma[ch];
            let shift = beta[ch] - T::of(s.mean) * scale;
            for (o, &v) in yo.iter_mut().zip(xi) {
                let z = v * scale + shift;
                *o = if op.relu && z <= zero { zero } else { z };
            }
        });
    y
}

impl CustomOp3 for BatchNorm {
    fn name(&self) -> &'static str {
        "smelt-batch-norm"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sg: &CpuStorage,
        lg: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (_, c, h, w) = lx.shape().dims4()?;
        if lg.shape().elem_count() != c || lb.shape().elem_count() != c || self.st.len() != c {
            candle_core::bail!("smelt-batch-norm: {c} channels, γ {:?}", lg.shape())
        }
        let y = match sx {
            CpuStorage::F32(_) => CpuStorage::F32(forward(
                slice::<f32>(sx, lx)?,
                slice::<f32>(sg, lg)?,
                slice::<f32>(sb, lb)?,
                self,
                c,
                h * w,
            )),
            CpuStorage::F64(_) => CpuStorage::F64(forward(
                slice::<f64>(sx, lx)?,
                slice::<f64>(sg, lg)?,
                slice::<f64>(sb, lb)?,
                self,
                c,
                h * w,
            )),
            _ => candle_core::bail!("smelt-batch-norm: f32 or f64 only"),
        };
        Ok((y, lx.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        _beta: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        match x.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(x, gamma, res, grad),
            _ => self.backward::<f64>(x, gamma, res, grad),
        }
    }
}

impl BatchNorm {
    /// `dβ = Σ gy`, `dγ = Σ gy·x̂`, `dx = γ·inv_std/m · (m·gy − dβ − x̂·dγ)` per channel, `gy` the
    /// output gradient through the ReLU.
    fn backward<T: Real>(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, h, w) = x.dims4()?;
        let hw = h * w;
        let m = (n * hw) as f64;
        let gam: Vec<f64> = gamma.to_dtype(candle_core::DType::F64)?.to_vec1()?;
        let zero = T::of(0.0);
        let relu = self.relu;
        let out = with_values::<T, _>(x, |xv| {
            with_values::<T, _>(grad, |g| {
                with_values::<T, _>(res, |y| {
                    // The gradient through the ReLU (0 where the output was clipped).
                    let gy = |gv: T, yv: T| if relu && yv <= zero { zero } else { gv };
                    let sums: Vec<(f64, f64)> = (0..c)
                        .into_par_iter()
                        .map(|ch| {
                            let s = self.st[ch];
                            let mean = T::of(s.mean);
                            let (mut db, mut dg) = (0.0, 0.0);
                            for i in 0..n {
                                let base = (i * c + ch) * hw;
                                let (xs, gs, ys) = (
                                    &xv[base..base + hw],
                                    &g[base..base + hw],
                                    &y[base..base + hw],
                                );
                                let mut a = [zero; LANES];
                                let mut b = [zero; LANES];
                                let whole = hw - hw % LANES;
                                for j in (0..whole).step_by(LANES) {
                                    for l in 0..LANES {
                                        let v = gy(gs[j + l], ys[j + l]);
                                        a[l] += v;
                                        b[l] += v * (xs[j + l] - mean);
                                    }
                                }
                                for j in whole..hw {
                                    let v = gy(gs[j], ys[j]);
                                    a[0] += v;
                                    b[0] += v * (xs[j] - mean);
                                }
                                db += a.iter().map(|v| v.to_f64()).sum::<f64>();
                                dg += b.iter().map(|v| v.to_f64()).sum::<f64>() * s.inv_std;
                            }
                            (db, dg)
                        })
                        .collect();
                    let mut dx = vec![zero; xv.len()];
                    dx.par_chunks_mut(hw).enumerate().for_each(|(plane, d)| {
                        let ch = plane % c;
                        let (a, b, off, mean) = self.st[ch].dx_terms(gam[ch], sums[ch], m);
                        let base = plane * hw;
                        let (xs, gs, ys) = (
                            &xv[base..base + hw],
                            &g[base..base + hw],
                            &y[base..base + hw],
                        );
                        for (j, o) in d.iter_mut().enumerate() {
                            *o = a * gy(gs[j], ys[j]) - b * (xs[j] - mean) - off;
                        }
                    });
                    (dx, sums)
                })
            })
        })???;
        let (dx, sums) = out;
        grads(x, dx, &sums, x.track_op())
    }
}

/// A batch norm's gradients as tensors: `dx` (when `x` needs one) and, from the per-channel
/// `(Σ gy, Σ gy·x̂)`, `dγ` and `dβ`.
pub(super) fn grads<T: Real>(
    x: &Tensor,
    dx: Vec<T>,
    sums: &[(f64, f64)],
    want_dx: bool,
) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
    let (dev, dtype, c) = (x.device(), x.dtype(), sums.len());
    let db: Vec<f64> = sums.iter().map(|s| s.0).collect();
    let dg: Vec<f64> = sums.iter().map(|s| s.1).collect();
    let dx = if want_dx {
        Some(Tensor::from_vec(dx, x.shape(), dev)?)
    } else {
        None
    };
    Ok((
        dx,
        Some(Tensor::from_vec(dg, c, dev)?.to_dtype(dtype)?),
        Some(Tensor::from_vec(db, c, dev)?.to_dtype(dtype)?),
    ))
}
