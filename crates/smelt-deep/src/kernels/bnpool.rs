//! Training-mode batch normalisation, ReLU and non-overlapping max-pooling as one autograd node
//! (the CNN's conv → BN → ReLU → pool stage after its convolution).
//!
//! Separately, the three layers each materialise a `[n, c, h, w]` tensor, and candle's autograd
//! adds a zero-filled gradient buffer and an addition for each; fused, the normalised values
//! live only inside the forward pass, which writes the pooled output and remembers each
//! window's maximum, and the backward pass routes the pooled gradient straight into the
//! batch norm's closed form. Same values and gradients as `batch_norm` then `max_pool2d`
//! (tested against them and against finite differences).

use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::norm::{Stat, grads, stats};
use super::{Real, slice, with_values};

/// `pool_k(relu?(γ·(x − mean)/√(var + ε) + β))` with the batch's statistics per channel
/// (`x`: a CPU f32/f64 tensor `[n, c, h, w]`, `k ≥ 1`, `h, w ≥ k`; the caller checks). Windows
/// are `k × k`, stride `k`, the last partial row and column dropped. Returns the pooled output
/// and the batch mean and biased variance per channel (for the running statistics).
pub fn batch_norm_relu_pool(
    x: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    eps: f64,
    relu: bool,
    k: usize,
) -> Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let x = x.contiguous()?;
    let (n, c, h, w) = x.dims4()?;
    if k == 0 || h < k || w < k {
        candle_core::bail!("smelt-bn-pool: {h}×{w} planes cannot be pooled by {k}")
    }
    let (mean, var) = match x.dtype() {
        candle_core::DType::F32 => with_values::<f32, _>(&x, |v| stats(v, n, c, h * w))?,
        _ => with_values::<f64, _>(&x, |v| stats(v, n, c, h * w))?,
    };
    let op = BnPool::new(Stat::of(&mean, &var, eps), relu, k);
    let y = x.apply_op3(&gamma.contiguous()?, &beta.contiguous()?, op)?;
    Ok((y, mean, var))
}

pub(super) struct BnPool {
    st: Vec<Stat>,
    relu: bool,
    k: usize,
    /// Each output's window maximum, as an index into its input plane (kept for backward).
    idx: Mutex<Option<Vec<u32>>>,
}

impl BnPool {
    /// The node for a batch's per-channel statistics `st`.
    pub(super) fn new(st: Vec<Stat>, relu: bool, k: usize) -> Self {
        BnPool {
            st,
            relu,
            k,
            idx: Mutex::new(None),
        }
    }

    /// Keeps the forward pass's window maxima for the backward pass.
    pub(super) fn keep(&self, idx: Vec<u32>) {
        if let Ok(mut kept) = self.idx.lock() {
            *kept = Some(idx);
        }
    }

    /// Per plane: the pooled outputs and the position of each window's maximum.
    pub(super) fn forward<T: Real>(
        &self,
        x: &[T],
        gamma: &[T],
        beta: &[T],
        (c, h, w): (usize, usize, usize),
    ) -> (Vec<T>, Vec<u32>) {
        let k = self.k;
        let (ho, wo) = (h / k, w / k);
        let planes = x.len() / (h * w);
        let mut out = vec![T::of(0.0); planes * ho * wo];
        let mut idx = vec![0u32; planes * ho * wo];
        let zero = T::of(0.0);
        let relu = self.relu;
        out.par_chunks_mut(ho * wo)
            .zip(idx.par_chunks_mut(ho * wo))
            .zip(x.par_chunks(h * w))
            .enumerate()
            .for_each_init(
                || vec![zero; k * w],
                |z, (plane, ((o, ix), xs))| {
                    let ch = plane % c;
                    let s = self.st[ch];
                    let scale = T::of(s.inv_std) * gamma[ch];
                    let shift = beta[ch] - T::of(s.mean) * scale;
                    for oy in 0..ho {
                        // The window rows, normalised in one vectorisable pass.
                        let rows = &xs[oy * k * w..(oy + 1) * k * w];
                        for (d, &v) in z.iter_mut().zip(rows) {
                            *d = v * scale + shift;
                        }
                        let (orow, irow) = (&mut o[oy * wo..][..wo], &mut ix[oy * wo..][..wo]);
                        for (ox, (ov, iv)) in orow.iter_mut().zip(irow.iter_mut()).enumerate() {
                            // The first maximum in row-major window order.
                            let (best, bv) = if k == 2 {
                                let j = 2 * ox;
                                let (mut best, mut bv) = (j, z[j]);
                                if z[j + 1] > bv {
                                    (best, bv) = (j + 1, z[j + 1]);
                                }
                                if z[w + j] > bv {
                                    (best, bv) = (w + j, z[w + j]);
                                }
                                if z[w + j + 1] > bv {
                                    (best, bv) = (w + j + 1, z[w + j + 1]);
                                }
                                (best, bv)
                            } else {
                                let (mut best, mut bv) = (ox * k, z[ox * k]);
                                for ky in 0..k {
                                    for kx in 0..k {
                                        let i = ky * w + ox * k + kx;
                                        if z[i] > bv {
                                            (best, bv) = (i, z[i]);
                                        }
                                    }
                                }
                                (best, bv)
                            };
                            *ov = if relu && bv <= zero { zero } else { bv };
                            *iv = (oy * k * w + best) as u32;
                        }
                    }
                },
            );
        (out, idx)
    }

    /// `dβ = Σ gy`, `dγ = Σ gy·x̂`, `dx = γ·inv_std/m · (m·gy − dβ − x̂·dγ)` per channel, where
    /// `gy` (the gradient at the normalised values) is the pooled gradient at each window's
    /// maximum, through the ReLU, and zero elsewhere. `dx` only when `want_dx`.
    pub(super) fn backward<T: Real>(
        &self,
        x: &Tensor,
        gamma: &Tensor,
        res: &Tensor,
        grad: &Tensor,
        want_dx: bool,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let (n, c, h, w) = x.dims4()?;
        let (hw, k) = (h * w, self.k);
        let out = (h / k) * (w / k);
        let m = (n * hw) as f64;
        let gam: Vec<f64> = gamma.to_dtype(candle_core::DType::F64)?.to_vec1()?;
        let kept = self.idx.lock().ok().and_then(|mut i| i.take());
        let idx = match kept {
            Some(i) if i.len() == n * c * out => i,
            _ => {
                // Backward without the forward's record: run the forward again for it (β shifts
                // a whole window alike, so it does not move the maxima: zeros do).
                let g: Vec<T> = gamma.to_dtype(x.dtype())?.to_vec1()?;
                let b = vec![T::of(0.0); c];
                with_values::<T, _>(x, |xv| self.forward(xv, &g, &b, (c, h, w)).1)?
            }
        };
        let zero = T::of(0.0);
        let relu = self.relu;
        let (dx, sums) = with_values::<T, _>(x, |xv| {
            with_values::<T, _>(grad, |g| {
                with_values::<T, _>(res, |y| {
                    let gy = |gv: T, yv: T| if relu && yv <= zero { zero } else { gv };
                    // Per channel: Σ gy and Σ gy·(x − mean) over the window maxima only.
                    let sums: Vec<(f64, f64)> = (0..c)
                        .into_par_iter()
                        .map(|ch| {
                            let mean = T::of(self.st[ch].mean);
                            let (mut db, mut dg) = (0.0, 0.0);
                            for i in 0..n {
                                let p = i * c + ch;
                                let xs = &xv[p * hw..(p + 1) * hw];
                                let span = p * out..(p + 1) * out;
                                // Per plane in `T`, across planes in f64.
                                let (mut pb, mut pg) = (zero, zero);
                                for ((&j, &gv), &yv) in
                                    idx[span.clone()].iter().zip(&g[span.clone()]).zip(&y[span])
                                {
                                    let v = gy(gv, yv);
                                    pb += v;
                                    pg += v * (xs[j as usize] - mean);
                                }
                                db += pb.to_f64();
                                dg += pg.to_f64();
                            }
                            (db, dg * self.st[ch].inv_std)
                        })
                        .collect();
                    let mut dx = vec![zero; xv.len()];
                    dx.par_chunks_mut(hw).enumerate().for_each(|(p, d)| {
                        let ch = p % c;
                        let (a, b, off, mean) = self.st[ch].dx_terms(gam[ch], sums[ch], m);
                        let xs = &xv[p * hw..(p + 1) * hw];
                        for (o, &v) in d.iter_mut().zip(xs) {
                            *o = -(b * (v - mean)) - off;
                        }
                        let span = p * out..(p + 1) * out;
                        for ((&j, &gv), &yv) in
                            idx[span.clone()].iter().zip(&g[span.clone()]).zip(&y[span])
                        {
                            d[j as usize] += a * gy(gv, yv);
                        }
                    });
                    (dx, sums)
                })
            })
        })???;
        grads(x, dx, &sums, want_dx)
    }
}

impl CustomOp3 for BnPool {
    fn name(&self) -> &'static str {
        "smelt-bn-relu-pool"
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
        let (n, c, h, w) = lx.shape().dims4()?;
        if lg.shape().elem_count() != c || lb.shape().elem_count() != c || self.st.len() != c {
            candle_core::bail!("smelt-bn-relu-pool: {c} channels, γ {:?}", lg.shape())
        }
        if h * w > u32::MAX as usize {
            candle_core::bail!("smelt-bn-relu-pool: {h}×{w} planes are too large")
        }
        let (y, idx) = match sx {
            CpuStorage::F32(_) => {
                let (y, idx) = self.forward(
                    slice::<f32>(sx, lx)?,
                    slice::<f32>(sg, lg)?,
                    slice::<f32>(sb, lb)?,
                    (c, h, w),
                );
                (CpuStorage::F32(y), idx)
            }
            CpuStorage::F64(_) => {
                let (y, idx) = self.forward(
                    slice::<f64>(sx, lx)?,
                    slice::<f64>(sg, lg)?,
                    slice::<f64>(sb, lb)?,
                    (c, h, w),
                );
                (CpuStorage::F64(y), idx)
            }
            _ => candle_core::bail!("smelt-bn-relu-pool: f32 or f64 only"),
        };
        self.keep(idx);
        Ok((y, Shape::from((n, c, h / self.k, w / self.k))))
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
            candle_core::DType::F32 => self.backward::<f32>(x, gamma, res, grad, x.track_op()),
            _ => self.backward::<f64>(x, gamma, res, grad, x.track_op()),
        }
    }
}
