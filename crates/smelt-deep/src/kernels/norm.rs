//! Training-mode batch normalisation over `[n, c, h, w]`, optionally followed by ReLU, as one
//! autograd node with the closed-form backward pass.

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{Real, slice, with_values};

/// Batch statistics of one channel.
#[derive(Clone, Copy, Debug)]
struct Stat {
    mean: f64,
    inv_std: f64,
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
    let st: Vec<Stat> = mean
        .iter()
        .zip(&var)
        .map(|(&mean, &var)| Stat {
            mean,
            inv_std: 1.0 / (var + eps).sqrt(),
        })
        .collect();
    let y = x.apply_op3(
        &gamma.contiguous()?,
        &beta.contiguous()?,
        BatchNorm { st, relu },
    )?;
    Ok((y, mean, var))
}

/// Per channel: the mean and biased variance over `(n, h, w)`, two passes in f64.
fn stats<T: Real>(x: &[T], n: usize, c: usize, hw: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (n * hw).max(1) as f64;
    (0..c)
        .into_par_iter()
        .map(|ch| {
            let planes = || (0..n).map(move |i| &x[(i * c + ch) * hw..][..hw]);
            let mut s = 0.0;
            for p in planes() {
                s += p.iter().map(|v| v.to_f64()).sum::<f64>();
            }
            let mean = s / m;
            let mut q = 0.0;
            for p in planes() {
                q += p
                    .iter()
                    .map(|v| (v.to_f64() - mean) * (v.to_f64() - mean))
                    .sum::<f64>();
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
        let out = with_values::<T, _>(x, |xv| {
            with_values::<T, _>(grad, |g| {
                with_values::<T, _>(res, |y| {
                    // The gradient through the ReLU.
                    let gy = |i: usize| -> f64 {
                        if self.relu && y[i] <= zero {
                            0.0
                        } else {
                            g[i].to_f64()
                        }
                    };
                    let sums: Vec<(f64, f64)> = (0..c)
                        .into_par_iter()
                        .map(|ch| {
                            let s = self.st[ch];
                            let (mut db, mut dg) = (0.0, 0.0);
                            for i in 0..n {
                                let base = (i * c + ch) * hw;
                                for (j, xj) in xv[base..base + hw].iter().enumerate() {
                                    let v = gy(base + j);
                                    db += v;
                                    dg += v * (xj.to_f64() - s.mean) * s.inv_std;
                                }
                            }
                            (db, dg)
                        })
                        .collect();
                    let mut dx = vec![zero; xv.len()];
                    dx.par_chunks_mut(hw).enumerate().for_each(|(plane, d)| {
                        let ch = plane % c;
                        let (s, (db, dg)) = (self.st[ch], sums[ch]);
                        let k = gam[ch] * s.inv_std / m;
                        let base = plane * hw;
                        for (j, o) in d.iter_mut().enumerate() {
                            let xh = (xv[base + j].to_f64() - s.mean) * s.inv_std;
                            *o = T::of(k * (m * gy(base + j) - db - xh * dg));
                        }
                    });
                    (dx, sums)
                })
            })
        })???;
        let (dx, sums) = out;
        let dev = x.device();
        let dtype = x.dtype();
        let db: Vec<f64> = sums.iter().map(|s| s.0).collect();
        let dg: Vec<f64> = sums.iter().map(|s| s.1).collect();
        let dx = if x.track_op() {
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
}
