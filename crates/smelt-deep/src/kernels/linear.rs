//! A dense layer `act(x·W + b)` as one autograd node.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{Real, native, slice, with_values};

/// The activation applied in a [`linear`] layer's output pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// None (an output layer).
    Identity,
    /// max(0, z).
    Relu,
    /// tanh(z).
    Tanh,
    /// The logistic sigmoid.
    Sigmoid,
}

impl Act {
    #[inline]
    pub(super) fn apply<T: Real>(self, z: T) -> T {
        let zero = T::of(0.0);
        match self {
            Act::Identity => z,
            Act::Relu => {
                if z > zero {
                    z
                } else {
                    zero
                }
            }
            Act::Tanh => z.tanh(),
            Act::Sigmoid => T::of(1.0) / (T::of(1.0) + (-z).exp()),
        }
    }

    /// d act / d z from the activation's output `y`.
    #[inline]
    pub(super) fn slope<T: Real>(self, y: T) -> T {
        let (zero, one) = (T::of(0.0), T::of(1.0));
        match self {
            Act::Identity => one,
            Act::Relu => {
                if y > zero {
                    one
                } else {
                    zero
                }
            }
            Act::Tanh => one - y * y,
            Act::Sigmoid => y * (one - y),
        }
    }

    fn plain(self, z: &Tensor) -> Result<Tensor> {
        match self {
            Act::Identity => Ok(z.clone()),
            Act::Relu => z.relu(),
            Act::Tanh => z.tanh(),
            Act::Sigmoid => candle_nn::ops::sigmoid(z),
        }
    }
}

/// Rows per parallel task of the element-wise passes (about 64k values a task).
fn rows_per_task(n: usize) -> usize {
    (65_536 / n.max(1)).max(1)
}

/// `act(x·W + b)` for `x` `[rows, in]`, `W` `[in, out]`, `b` `[out]`: one matrix product (candle's)
/// with the bias and activation applied in one pass over its output; the backward pass computes
/// the activation's slope, the bias gradient and the two products without intermediate tensors.
pub fn linear(x: &Tensor, w: &Tensor, b: &Tensor, act: Act) -> Result<Tensor> {
    if native(x) && x.dtype() == w.dtype() && x.dtype() == b.dtype() && x.rank() == 2 {
        let (x, w, b) = (x.contiguous()?, w.contiguous()?, b.contiguous()?);
        x.apply_op3(&w, &b, Linear { act })
    } else {
        act.plain(&x.matmul(w)?.broadcast_add(b)?)
    }
}

struct Linear {
    act: Act,
}

/// Output widths up to this take [`narrow`]'s loops instead of a GEMM: a classifier's or
/// regressor's output layer (2 columns) ran at ~10 GFLOP/s through `gemm`, 1/15 of its speed on
/// the hidden layers, and its three products cost ~0.1 s of the benchmark MLP's 2 s epoch.
pub(super) const NARROW: usize = 8;

/// `Σ a_i b_i` in eight partial sums, so the compiler vectorises it.
#[inline]
pub(super) fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    let mut acc = [T::of(0.0); 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let mut tail = T::of(0.0);
    for (&x, &y) in ca.remainder().iter().zip(cb.remainder()) {
        tail += x * y;
    }
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += x[l] * y[l];
        }
    }
    acc.iter().fold(tail, |s, &v| s + v)
}

/// `y += a · x`.
#[inline]
pub(super) fn axpy<T: Real>(y: &mut [T], a: T, x: &[T]) {
    for (v, &x) in y.iter_mut().zip(x) {
        *v += a * x;
    }
}

/// The products of a layer with few outputs as dot products and `axpy`s over contiguous rows
/// (`W` `[in, out]` is read transposed, `out` rows of `in` values).
mod narrow {
    use candle_core::{Result, Tensor};
    use rayon::prelude::*;

    use super::super::{Real, transpose, with_values};
    use super::{axpy, dot};

    /// Rows per parallel task.
    const ROWS: usize = 256;

    /// `x · W` for `x` `[m, k]` and `W` `[k, n]`.
    pub(super) fn product<T: Real>(x: &[T], w: &[T], m: usize, k: usize, n: usize) -> Vec<T> {
        let wt = transpose(w, k, n);
        let mut y = vec![T::of(0.0); m * n];
        y.par_chunks_mut(ROWS * n)
            .zip(x.par_chunks(ROWS * k))
            .for_each(|(y, x)| {
                for (yr, xr) in y.chunks_exact_mut(n).zip(x.chunks_exact(k)) {
                    for (v, wr) in yr.iter_mut().zip(wt.chunks_exact(k)) {
                        *v = dot(xr, wr);
                    }
                }
            });
        y
    }

    /// `(dx, dW)` from the pre-activation gradient `gz` `[m, n]`: `dW = xᵀ gz` `[k, n]` and, when
    /// `want_dx`, `dx = gz Wᵀ` `[m, k]`.
    pub(super) fn backward<T: Real>(
        x: &Tensor,
        w: &Tensor,
        gz: &Tensor,
        want_dx: bool,
    ) -> Result<(Option<Tensor>, Tensor)> {
        let (m, k) = x.dims2()?;
        let n = gz.dim(1)?;
        let dev = x.device();
        with_values::<T, _>(gz, |g| {
            // dWᵀ row j = Σ_i g[i, j] x_i, summed per task then across tasks.
            let dwt = with_values::<T, _>(x, |xv| {
                xv.par_chunks(ROWS * k)
                    .zip(g.par_chunks(ROWS * n))
                    .map(|(xb, gb)| {
                        let mut acc = vec![T::of(0.0); n * k];
                        for (xr, gr) in xb.chunks_exact(k).zip(gb.chunks_exact(n)) {
                            for (a, &gij) in acc.chunks_exact_mut(k).zip(gr) {
                                axpy(a, gij, xr);
                            }
                        }
                        acc
                    })
                    .reduce(
                        || vec![T::of(0.0); n * k],
                        |mut a, b| {
                            axpy(&mut a, T::of(1.0), &b);
                            a
                        },
                    )
            })?;
            let dw = Tensor::from_vec(transpose(&dwt, n, k), (k, n), dev)?;
            let dx = if want_dx {
                let wt = with_values::<T, _>(w, |wv| transpose(wv, k, n))?;
                let mut dx = vec![T::of(0.0); m * k];
                dx.par_chunks_mut(ROWS * k)
                    .zip(g.par_chunks(ROWS * n))
                    .for_each(|(db, gb)| {
                        for (dr, gr) in db.chunks_exact_mut(k).zip(gb.chunks_exact(n)) {
                            for (&gij, wr) in gr.iter().zip(wt.chunks_exact(k)) {
                                axpy(dr, gij, wr);
                            }
                        }
                    });
                Some(Tensor::from_vec(dx, (m, k), dev)?)
            } else {
                None
            };
            Ok((dx, dw))
        })?
    }
}

fn forward<T: Real>(y: &mut [T], b: &[T], n: usize, act: Act) {
    // One loop per activation, so each inner loop is branch-free and vectorises.
    match act {
        Act::Identity => bias_map(y, b, n, |z| z),
        Act::Relu => bias_map(y, b, n, |z| Act::Relu.apply(z)),
        Act::Tanh => bias_map(y, b, n, |z| Act::Tanh.apply(z)),
        Act::Sigmoid => bias_map(y, b, n, |z| Act::Sigmoid.apply(z)),
    }
}

/// `y ← f(y + b)` row by row, in parallel over blocks of rows.
fn bias_map<T: Real>(y: &mut [T], b: &[T], n: usize, f: impl Fn(T) -> T + Sync) {
    y.par_chunks_mut(rows_per_task(n) * n).for_each(|rows| {
        for row in rows.chunks_exact_mut(n) {
            for (v, &bias) in row.iter_mut().zip(b) {
                *v = f(*v + bias);
            }
        }
    });
}

impl CustomOp3 for Linear {
    fn name(&self) -> &'static str {
        "smelt-linear"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sw: &CpuStorage,
        lw: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (m, k) = lx.shape().dims2()?;
        let (k2, n) = lw.shape().dims2()?;
        if k != k2 || lb.shape().elem_count() != n {
            candle_core::bail!(
                "smelt-linear: shapes {:?} · {:?} + {:?}",
                lx.shape(),
                lw.shape(),
                lb.shape()
            )
        }
        let mut y = if n <= NARROW {
            match (sx, sw) {
                (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                    CpuStorage::F32(narrow::product(slice(sx, lx)?, slice(sw, lw)?, m, k, n))
                }
                (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                    CpuStorage::F64(narrow::product(slice(sx, lx)?, slice(sw, lw)?, m, k, n))
                }
                _ => candle_core::bail!("smelt-linear: f32 or f64 only"),
            }
        } else {
            sx.matmul(sw, (1, m, n, k), lx, lw)?
        };
        match &mut y {
            CpuStorage::F32(v) => forward(v, slice::<f32>(sb, lb)?, n, self.act),
            CpuStorage::F64(v) => forward(v, slice::<f64>(sb, lb)?, n, self.act),
            _ => candle_core::bail!("smelt-linear: f32 or f64 only"),
        }
        Ok((y, Shape::from((m, n))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let n = res.dim(1)?;
        let (gz, db) = match res.dtype() {
            candle_core::DType::F32 => slope_and_bias::<f32>(res, grad, n, self.act)?,
            _ => slope_and_bias::<f64>(res, grad, n, self.act)?,
        };
        if n <= NARROW {
            let (dx, dw) = match res.dtype() {
                candle_core::DType::F32 => narrow::backward::<f32>(x, w, &gz, x.track_op())?,
                _ => narrow::backward::<f64>(x, w, &gz, x.track_op())?,
            };
            return Ok((dx, Some(dw), Some(db)));
        }
        let dw = x.detach().t()?.matmul(&gz)?;
        let dx = if x.track_op() {
            Some(gz.matmul(&w.detach().t()?)?)
        } else {
            None
        };
        Ok((dx, Some(dw), Some(db)))
    }
}

/// `f(g, y)` element-wise, in parallel over blocks of rows.
fn slope_map<T: Real>(g: &[T], y: &[T], n: usize, f: impl Fn(T, T) -> T + Sync) -> Vec<T> {
    let mut gz = vec![T::of(0.0); g.len()];
    let block = rows_per_task(n) * n;
    gz.par_chunks_mut(block)
        .zip(g.par_chunks(block))
        .zip(y.par_chunks(block))
        .for_each(|((o, g), y)| {
            for ((o, &g), &y) in o.iter_mut().zip(g).zip(y) {
                *o = f(g, y);
            }
        });
    gz
}

/// `grad ⊙ act'(res)` and its column sums (the bias gradient).
fn slope_and_bias<T: Real>(
    res: &Tensor,
    grad: &Tensor,
    n: usize,
    act: Act,
) -> Result<(Tensor, Tensor)> {
    let gz: Vec<T> = with_values::<T, _>(grad, |g| {
        if act == Act::Identity {
            return Ok(g.to_vec());
        }
        with_values::<T, _>(res, |y| match act {
            Act::Relu => slope_map(g, y, n, |g, y| g * Act::Relu.slope(y)),
            Act::Tanh => slope_map(g, y, n, |g, y| g * Act::Tanh.slope(y)),
            _ => slope_map(g, y, n, |g, y| g * Act::Sigmoid.slope(y)),
        })
    })??;
    let mut db = vec![T::of(0.0); n];
    for row in gz.chunks_exact(n) {
        for (s, &v) in db.iter_mut().zip(row) {
            *s += v;
        }
    }
    let dev = res.device();
    let rows = gz.len() / n.max(1);
    Ok((
        Tensor::from_vec(gz, (rows, n), dev)?,
        Tensor::from_vec(db, n, dev)?,
    ))
}
