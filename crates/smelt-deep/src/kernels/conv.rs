//! 2-D convolution (im2col and one matrix product each way) and non-overlapping max-pooling.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, CustomOp3, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::{Real, native, slice, with_values};

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug)]
struct Geom {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    o: usize,
    k: usize,
    stride: usize,
    pad: usize,
    ho: usize,
    wo: usize,
}

impl Geom {
    fn new(x: &Shape, w: &Shape, stride: usize, pad: usize) -> Result<Geom> {
        let (n, c, h, wd) = x.dims4()?;
        let (o, c2, k, k2) = w.dims4()?;
        if c != c2 || k != k2 || stride == 0 || h + 2 * pad < k || wd + 2 * pad < k {
            candle_core::bail!("smelt-conv2d: input {x:?}, kernel {w:?}, stride {stride}")
        }
        Ok(Geom {
            n,
            c,
            h,
            w: wd,
            o,
            k,
            stride,
            pad,
            ho: (h + 2 * pad - k) / stride + 1,
            wo: (wd + 2 * pad - k) / stride + 1,
        })
    }

    /// Output positions per image.
    fn l(&self) -> usize {
        self.ho * self.wo
    }

    /// Values per column row (`c·k·k`).
    fn ckk(&self) -> usize {
        self.c * self.k * self.k
    }

    /// For kernel column `kx`: the output columns `lo..hi` whose tap falls inside the input,
    /// the first one reading input column `lo·stride + kx − pad`.
    #[inline]
    fn cols_inside(&self, kx: usize) -> (usize, usize) {
        // ox·s + kx ≥ pad  and  ox·s + kx − pad < w
        let lo = self.pad.saturating_sub(kx).div_ceil(self.stride);
        let hi = if self.w + self.pad > kx {
            (self.w + self.pad - kx).div_ceil(self.stride).min(self.wo)
        } else {
            0
        };
        (lo.min(hi), hi)
    }

    /// The input row a tap reads for output row `oy` and kernel row `ky`, if inside.
    #[inline]
    fn row_inside(&self, oy: usize, ky: usize) -> Option<usize> {
        let iy = (oy * self.stride + ky).checked_sub(self.pad)?;
        (iy < self.h).then_some(iy)
    }
}

/// Calls `f(row of the column matrix, input plane, iy, ox range, first input column)` for every
/// run of in-bounds taps of one image: the column matrix is `[c·k·k, ho·wo]` (a row per kernel
/// tap, a column per output position; Caffe's layout), so runs are contiguous.
#[inline]
fn runs(g: &Geom, mut f: impl FnMut(usize, usize, usize, usize, usize, usize, usize)) {
    for ci in 0..g.c {
        for ky in 0..g.k {
            for kx in 0..g.k {
                let r = (ci * g.k + ky) * g.k + kx;
                let (lo, hi) = g.cols_inside(kx);
                if lo >= hi {
                    continue;
                }
                let ix0 = lo * g.stride + kx - g.pad;
                for oy in 0..g.ho {
                    if let Some(iy) = g.row_inside(oy, ky) {
                        f(r, ci, iy, oy, lo, hi, ix0);
                    }
                }
            }
        }
    }
}

/// The column matrix `[n, c·k·k, ho·wo]` of `x` (zeros where a tap falls in the padding).
fn im2col<T: Real>(x: &[T], g: &Geom) -> Vec<T> {
    let (l, ckk, img, hw) = (g.l(), g.ckk(), g.c * g.h * g.w, g.h * g.w);
    let mut cols = vec![T::of(0.0); g.n * ckk * l];
    cols.par_chunks_mut(ckk * l)
        .zip(x.par_chunks(img))
        .for_each(|(out, xi)| {
            runs(g, |r, ci, iy, oy, lo, hi, ix0| {
                let src = &xi[ci * hw + iy * g.w..][..g.w];
                let dst = &mut out[r * l + oy * g.wo..][lo..hi];
                if g.stride == 1 {
                    dst.copy_from_slice(&src[ix0..ix0 + (hi - lo)]);
                } else {
                    for (j, d) in dst.iter_mut().enumerate() {
                        *d = src[ix0 + j * g.stride];
                    }
                }
            });
        });
    cols
}

/// The adjoint of [`im2col`]: sums each column entry back into its input position.
fn col2im<T: Real>(cols: &[T], g: &Geom) -> Vec<T> {
    let (l, ckk, img, hw) = (g.l(), g.ckk(), g.c * g.h * g.w, g.h * g.w);
    let mut x = vec![T::of(0.0); g.n * img];
    x.par_chunks_mut(img)
        .zip(cols.par_chunks(ckk * l))
        .for_each(|(xi, ci_cols)| {
            runs(g, |r, ci, iy, oy, lo, hi, ix0| {
                let src = &ci_cols[r * l + oy * g.wo..][lo..hi];
                let dst = &mut xi[ci * hw + iy * g.w..][..g.w];
                for (j, &v) in src.iter().enumerate() {
                    dst[ix0 + j * g.stride] += v;
                }
            });
        });
    x
}

/// A convolution of `x` `[n, c, h, w]` with `weight` `[o, c, k, k]` and `bias` `[o]` (zero
/// padding, stride): im2col and one matrix product (candle's) forward; backward, the weight
/// gradient and the input's column gradient as two products and a col2im.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    stride: usize,
    padding: usize,
) -> Result<Tensor> {
    if native(x) && x.dtype() == weight.dtype() && x.dtype() == bias.dtype() {
        let (x, w, b) = (x.contiguous()?, weight.contiguous()?, bias.contiguous()?);
        x.apply_op3(&w, &b, Conv { stride, padding })
    } else {
        let y = x.conv2d(weight, padding, stride, 1, 1)?;
        y.broadcast_add(&bias.reshape((1, (), 1, 1))?)
    }
}

struct Conv {
    stride: usize,
    padding: usize,
}

/// The forward pass: im2col, then one product per image, `W [o, c·k·k] · cols [c·k·k, L]`,
/// which is the image's output `[o, ho·wo]` (an image's output so does not depend on the batch
/// it comes in), plus the bias.
fn conv_fwd<T: Real>(
    x: &[T],
    sw: &CpuStorage,
    lw: &Layout,
    b: &[T],
    g: &Geom,
    wrap: fn(Vec<T>) -> CpuStorage,
) -> Result<CpuStorage> {
    let cols = wrap(im2col(x, g));
    let (l, o, ckk) = (g.l(), g.o, g.ckk());
    let wl = Layout::contiguous_with_offset((o, ckk), lw.start_offset());
    let mut y = vec![T::of(0.0); g.n * o * l];
    for (i, yi) in y.chunks_exact_mut(o * l).enumerate() {
        let ci = Layout::contiguous_with_offset((ckk, l), i * ckk * l);
        let r = sw.matmul(&cols, (1, o, l, ckk), &wl, &ci)?;
        for ((plane, rp), &bias) in yi
            .chunks_exact_mut(l)
            .zip(r.as_slice::<T>()?.chunks_exact(l))
            .zip(b)
        {
            for (v, &r) in plane.iter_mut().zip(rp) {
                *v = r + bias;
            }
        }
    }
    Ok(wrap(y))
}

impl CustomOp3 for Conv {
    fn name(&self) -> &'static str {
        "smelt-conv2d"
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
        let g = Geom::new(lx.shape(), lw.shape(), self.stride, self.padding)?;
        if lb.shape().elem_count() != g.o {
            candle_core::bail!("smelt-conv2d: bias {:?} for {} channels", lb.shape(), g.o)
        }
        let y = match sx {
            CpuStorage::F32(_) => conv_fwd(
                slice::<f32>(sx, lx)?,
                sw,
                lw,
                slice::<f32>(sb, lb)?,
                &g,
                CpuStorage::F32,
            )?,
            CpuStorage::F64(_) => conv_fwd(
                slice::<f64>(sx, lx)?,
                sw,
                lw,
                slice::<f64>(sb, lb)?,
                &g,
                CpuStorage::F64,
            )?,
            _ => candle_core::bail!("smelt-conv2d: f32 or f64 only"),
        };
        Ok((y, Shape::from((g.n, g.o, g.ho, g.wo))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        w: &Tensor,
        _b: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        let g = Geom::new(x.shape(), w.shape(), self.stride, self.padding)?;
        match x.dtype() {
            candle_core::DType::F32 => conv_bwd::<f32>(x, w, grad, &g),
            _ => conv_bwd::<f64>(x, w, grad, &g),
        }
    }
}

type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

fn conv_bwd<T: Real>(x: &Tensor, w: &Tensor, grad: &Tensor, g: &Geom) -> Result<Grads3> {
    let (l, o, ckk, n) = (g.l(), g.o, g.ckk(), g.n);
    let dev = x.device();
    let grad = grad.contiguous()?;
    let db = with_values::<T, _>(&grad, |gz| {
        let mut db = vec![T::of(0.0); o];
        for gi in gz.chunks_exact(o * l) {
            for (s, plane) in db.iter_mut().zip(gi.chunks_exact(l)) {
                let mut acc = T::of(0.0);
                for &v in plane {
                    acc += v;
                }
                *s += acc;
            }
        }
        db
    })?;
    let cols = with_values::<T, _>(x, |xv| im2col(xv, g))?;
    let cols = Tensor::from_vec(cols, (n, ckk, l), dev)?;
    let gz = grad.detach().reshape((n, o, l))?;
    // dW = Σ_images gz_i · cols_iᵀ.
    let dw = gz
        .matmul(&cols.transpose(1, 2)?)?
        .sum(0)?
        .reshape(w.shape())?;
    let dx = if x.track_op() {
        // dcols_i = Wᵀ · gz_i, then back to image positions.
        let wt = w
            .detach()
            .reshape((o, ckk))?
            .t()?
            .broadcast_as((n, ckk, o))?;
        let dcols = wt.matmul(&gz)?;
        let dx = with_values::<T, _>(&dcols, |d| col2im(d, g))?;
        Some(Tensor::from_vec(dx, x.shape(), dev)?)
    } else {
        None
    };
    Ok((dx, Some(dw), Some(Tensor::from_vec(db, o, dev)?)))
}

/// 2-D max-pooling over non-overlapping `k × k` windows (stride `k`, the last partial row and
/// column dropped, as candle's `max_pool2d(k)`); the gradient goes to each window's first
/// maximum.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    if native(x) && x.rank() == 4 && k >= 1 {
        x.contiguous()?.apply_op1(MaxPool { k })
    } else {
        x.max_pool2d(k)
    }
}

struct MaxPool {
    k: usize,
}

/// The flat input index of each output's window maximum.
fn argmax<T: Real>(x: &[T], (n, c, h, w): (usize, usize, usize, usize), k: usize) -> Vec<usize> {
    let (ho, wo) = (h / k, w / k);
    let mut idx = vec![0usize; n * c * ho * wo];
    idx.par_chunks_mut(ho * wo)
        .enumerate()
        .for_each(|(plane, out)| {
            let base = plane * h * w;
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut best = base + oy * k * w + ox * k;
                    for ky in 0..k {
                        for kx in 0..k {
                            let i = base + (oy * k + ky) * w + ox * k + kx;
                            if x[i] > x[best] {
                                best = i;
                            }
                        }
                    }
                    out[oy * wo + ox] = best;
                }
            }
        });
    idx
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "smelt-max-pool2d"
    }

    fn cpu_fwd(&self, s: &CpuStorage, l: &Layout) -> Result<(CpuStorage, Shape)> {
        let dims = l.shape().dims4()?;
        let (n, c, h, w) = dims;
        let shape = Shape::from((n, c, h / self.k, w / self.k));
        let out = match s {
            CpuStorage::F32(_) => {
                let x = slice::<f32>(s, l)?;
                CpuStorage::F32(argmax(x, dims, self.k).iter().map(|&i| x[i]).collect())
            }
            CpuStorage::F64(_) => {
                let x = slice::<f64>(s, l)?;
                CpuStorage::F64(argmax(x, dims, self.k).iter().map(|&i| x[i]).collect())
            }
            _ => candle_core::bail!("smelt-max-pool2d: f32 or f64 only"),
        };
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dims = arg.dims4()?;
        let dx = match arg.dtype() {
            candle_core::DType::F32 => pool_bwd::<f32>(arg, grad, dims, self.k)?,
            _ => pool_bwd::<f64>(arg, grad, dims, self.k)?,
        };
        Ok(Some(dx))
    }
}

fn pool_bwd<T: Real>(
    arg: &Tensor,
    grad: &Tensor,
    dims: (usize, usize, usize, usize),
    k: usize,
) -> Result<Tensor> {
    let idx = with_values::<T, _>(arg, |x| argmax(x, dims, k))?;
    let dx = with_values::<T, _>(grad, |g| {
        let mut dx = vec![T::of(0.0); arg.elem_count()];
        for (&i, &v) in idx.iter().zip(g) {
            dx[i] += v;
        }
        dx
    })?;
    Tensor::from_vec(dx, arg.shape(), arg.device())
}
