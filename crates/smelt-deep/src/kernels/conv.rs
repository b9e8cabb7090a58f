//! 2-D convolution (im2col and one matrix product each way) and non-overlapping max-pooling.

use candle_core::{CpuStorage, CustomOp1, CustomOp3, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use std::sync::Mutex;

use super::{Real, View, matmul, native, slice, with_values};

/// The geometry of one convolution.
#[derive(Clone, Copy, Debug)]
pub(super) struct Geom {
    pub(super) n: usize,
    pub(super) c: usize,
    pub(super) h: usize,
    pub(super) w: usize,
    pub(super) o: usize,
    pub(super) k: usize,
    pub(super) stride: usize,
    pub(super) pad: usize,
    pub(super) ho: usize,
    pub(super) wo: usize,
}

impl Geom {
    pub(super) fn new(x: &Shape, w: &Shape, stride: usize, pad: usize) -> Result<Geom> {
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
    pub(super) fn l(&self) -> usize {
        self.ho * self.wo
    }

    /// Values per column row (`c·k·k`).
    pub(super) fn ckk(&self) -> usize {
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

/// Writes one image's column matrix `[c·k·k, ho·wo]` into `out` (which is zero, or holds an
/// earlier image's columns of the same geometry: the padding taps are never written, so they
/// stay zero).
fn im2col_into<T: Real>(xi: &[T], out: &mut [T], g: &Geom) {
    let (l, hw) = (g.l(), g.h * g.w);
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
}

/// The column matrix `[n, c·k·k, ho·wo]` of `x` (zeros where a tap falls in the padding).
fn im2col<T: Real>(x: &[T], g: &Geom) -> Vec<T> {
    let (l, ckk, img) = (g.l(), g.ckk(), g.c * g.h * g.w);
    let mut cols = vec![T::of(0.0); g.n * ckk * l];
    cols.par_chunks_mut(ckk * l)
        .zip(x.par_chunks(img))
        .for_each(|(out, xi)| im2col_into(xi, out, g));
    cols
}

/// The adjoint of [`im2col_into`] for one image: adds each column entry into its input
/// position of `xi`.
fn col2im_add<T: Real>(cols: &[T], xi: &mut [T], g: &Geom) {
    let (l, hw) = (g.l(), g.h * g.w);
    runs(g, |r, ci, iy, oy, lo, hi, ix0| {
        let src = &cols[r * l + oy * g.wo..][lo..hi];
        let dst = &mut xi[ci * hw + iy * g.w..][..g.w];
        if g.stride == 1 {
            for (d, &v) in dst[ix0..ix0 + (hi - lo)].iter_mut().zip(src) {
                *d += v;
            }
        } else {
            for (j, &v) in src.iter().enumerate() {
                dst[ix0 + j * g.stride] += v;
            }
        }
    });
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
        x.apply_op3(
            &w,
            &b,
            Conv {
                stride,
                padding,
                cols: Mutex::new(None),
            },
        )
    } else if x.device().is_cpu() && matches!(x.dtype(), DType::BF16 | DType::F16) {
        // candle's CPU convolution has no half-precision product: widen, convolve, narrow
        // (what its matrix product does for bfloat16), so mixed precision runs on the CPU.
        let f = |t: &Tensor| t.to_dtype(DType::F32);
        conv2d(&f(x)?, &f(weight)?, &f(bias)?, stride, padding)?.to_dtype(x.dtype())
    } else {
        let y = x.conv2d(weight, padding, stride, 1, 1)?;
        y.broadcast_add(&bias.reshape((1, (), 1, 1))?)
    }
}

struct Conv {
    stride: usize,
    padding: usize,
    /// The forward pass's column matrix, kept for the backward pass (which takes it).
    cols: Mutex<Option<CpuStorage>>,
}

/// The forward pass: per image (images in parallel, one thread each), im2col, then the bias
/// written into the output and one product accumulated onto it, `W [o, c·k·k] · cols [c·k·k,
/// L]`, the image's output `[o, ho·wo]` (so an image's output does not depend on its batch).
pub(super) fn conv_fwd<T: Real>(x: &[T], w: &[T], b: &[T], g: &Geom) -> (Vec<T>, Vec<T>) {
    let cols = im2col(x, g);
    let (l, o, ckk) = (g.l(), g.o, g.ckk());
    let mut y = vec![T::of(0.0); g.n * o * l];
    y.par_chunks_mut(o * l)
        .zip(cols.par_chunks(ckk * l))
        .for_each(|(yi, ci)| {
            for (plane, &bias) in yi.chunks_exact_mut(l).zip(b) {
                plane.fill(bias);
            }
            matmul(
                o,
                l,
                ckk,
                yi,
                l,
                View::dense(w, ckk),
                View::dense(ci, l),
                true,
                1,
            );
        });
    (y, cols)
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
        let (y, cols) = match sx {
            CpuStorage::F32(_) => {
                let (y, cols) = conv_fwd(
                    slice::<f32>(sx, lx)?,
                    slice::<f32>(sw, lw)?,
                    slice::<f32>(sb, lb)?,
                    &g,
                );
                (CpuStorage::F32(y), CpuStorage::F32(cols))
            }
            CpuStorage::F64(_) => {
                let (y, cols) = conv_fwd(
                    slice::<f64>(sx, lx)?,
                    slice::<f64>(sw, lw)?,
                    slice::<f64>(sb, lb)?,
                    &g,
                );
                (CpuStorage::F64(y), CpuStorage::F64(cols))
            }
            _ => candle_core::bail!("smelt-conv2d: f32 or f64 only"),
        };
        if let Ok(mut kept) = self.cols.lock() {
            *kept = Some(cols);
        }
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
        let kept = self.cols.lock().ok().and_then(|mut k| k.take());
        match x.dtype() {
            DType::F32 => conv_bwd::<f32>(x, w, grad, &g, kept),
            _ => conv_bwd::<f64>(x, w, grad, &g, kept),
        }
    }
}

pub(super) type Grads3 = (Option<Tensor>, Option<Tensor>, Option<Tensor>);

/// Images per partial sum of the weight gradient.
const DW_GROUP: usize = 8;

/// The backward pass, per image in parallel: `db` sums the output gradient's planes; `dW =
/// Σ_i gz_i · cols_iᵀ` accumulates into one `[o, c·k·k]` buffer per group of `DW_GROUP` images,
/// summed in order at the end; `dx_i` is `col2im(Wᵀ · gz_i)` through a column buffer per thread. `kept`: the forward
/// pass's column matrix (recomputed from `x` when absent).
pub(super) fn conv_bwd<T: Real>(
    x: &Tensor,
    w: &Tensor,
    grad: &Tensor,
    g: &Geom,
    kept: Option<CpuStorage>,
) -> Result<Grads3> {
    let (l, o, ckk, n) = (g.l(), g.o, g.ckk(), g.n);
    let img = g.c * g.h * g.w;
    let dev = x.device();
    let cols = match kept {
        Some(c) => match c.as_slice::<T>() {
            Ok(v) if v.len() == n * ckk * l => c,
            _ => T::to_cpu_storage_owned(with_values::<T, _>(x, |xv| im2col(xv, g))?),
        },
        None => T::to_cpu_storage_owned(with_values::<T, _>(x, |xv| im2col(xv, g))?),
    };
    let cols = cols.as_slice::<T>()?;
    let want_dx = x.track_op();
    let (db, dw, dx) = with_values::<T, _>(grad, |gz| {
        with_values::<T, _>(w, |wv| {
            let zero = T::of(0.0);
            let mut db = vec![zero; o];
            for gi in gz.chunks_exact(o * l) {
                for (s, plane) in db.iter_mut().zip(gi.chunks_exact(l)) {
                    let mut acc = zero;
                    for &v in plane {
                        acc += v;
                    }
                    *s += acc;
                }
            }
            // Fixed groups of images, each summed into its own buffer in parallel, then the
            // buffers in order: the same sums in the same order whatever the thread count or
            // the work stealing (two fits with one seed train the same weights).
            let partials: Vec<Vec<T>> = cols
                .par_chunks(DW_GROUP * ckk * l)
                .zip(gz.par_chunks(DW_GROUP * o * l))
                .map(|(cg, gg)| {
                    let mut acc = vec![zero; o * ckk];
                    for (ci, gi) in cg.chunks_exact(ckk * l).zip(gg.chunks_exact(o * l)) {
                        matmul(
                            o,
                            ckk,
                            l,
                            &mut acc,
                            ckk,
                            View::dense(gi, l),
                            View::dense(ci, l).t(),
                            true,
                            1,
                        );
                    }
                    acc
                })
                .collect();
            let mut dw = vec![zero; o * ckk];
            for p in partials {
                for (u, v) in dw.iter_mut().zip(p) {
                    *u += v;
                }
            }
            let dx = want_dx.then(|| {
                let mut dx = vec![zero; n * img];
                dx.par_chunks_mut(img)
                    .zip(gz.par_chunks(o * l))
                    .for_each_init(
                        || vec![zero; ckk * l],
                        |dcols, (xi, gi)| {
                            matmul(
                                ckk,
                                l,
                                o,
                                dcols,
                                l,
                                View::dense(wv, ckk).t(),
                                View::dense(gi, l),
                                false,
                                1,
                            );
                            col2im_add(dcols, xi, g);
                        },
                    );
                dx
            });
            (db, dw, dx)
        })
    })??;
    let dx = dx
        .map(|d| Tensor::from_vec(d, x.shape(), dev))
        .transpose()?;
    Ok((
        dx,
        Some(Tensor::from_vec(dw, w.shape(), dev)?),
        Some(Tensor::from_vec(db, o, dev)?),
    ))
}

/// 2-D max-pooling over non-overlapping `k × k` windows (stride `k`, the last partial row and
/// column dropped, as candle's `max_pool2d(k)`); the gradient goes to each window's first
/// maximum.
pub fn max_pool2d(x: &Tensor, k: usize) -> Result<Tensor> {
    if native(x) && x.rank() == 4 && k >= 1 {
        x.contiguous()?.apply_op1(MaxPool {
            k,
            idx: Mutex::new(None),
        })
    } else {
        x.max_pool2d(k)
    }
}

struct MaxPool {
    k: usize,
    /// The forward pass's window maxima, kept for the backward pass (which takes them).
    idx: Mutex<Option<Vec<usize>>>,
}

/// The flat input index of each output's window maximum (the first one on ties, in row-major
/// window order).
fn argmax<T: Real>(x: &[T], (n, c, h, w): (usize, usize, usize, usize), k: usize) -> Vec<usize> {
    let (ho, wo) = (h / k, w / k);
    let mut idx = vec![0usize; n * c * ho * wo];
    idx.par_chunks_mut(ho * wo)
        .enumerate()
        .for_each(|(plane, out)| {
            let base = plane * h * w;
            let xs = &x[base..base + h * w];
            for (oy, row) in out.chunks_exact_mut(wo.max(1)).enumerate().take(ho) {
                if k == 2 {
                    // The common case, unrolled: no inner loops, no bounds checks per tap.
                    let (r0, r1) = (&xs[2 * oy * w..][..w], &xs[(2 * oy + 1) * w..][..w]);
                    for (ox, o) in row.iter_mut().enumerate() {
                        let j = 2 * ox;
                        let (mut best, mut bv) = (j, r0[j]);
                        if r0[j + 1] > bv {
                            (best, bv) = (j + 1, r0[j + 1]);
                        }
                        if r1[j] > bv {
                            (best, bv) = (w + j, r1[j]);
                        }
                        if r1[j + 1] > bv {
                            best = w + j + 1;
                        }
                        *o = base + 2 * oy * w + best;
                    }
                } else {
                    for (ox, o) in row.iter_mut().enumerate() {
                        let mut best = oy * k * w + ox * k;
                        for ky in 0..k {
                            for kx in 0..k {
                                let i = (oy * k + ky) * w + ox * k + kx;
                                if xs[i] > xs[best] {
                                    best = i;
                                }
                            }
                        }
                        *o = base + best;
                    }
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
        let (out, idx) = match s {
            CpuStorage::F32(_) => {
                let x = slice::<f32>(s, l)?;
                let idx = argmax(x, dims, self.k);
                (CpuStorage::F32(idx.iter().map(|&i| x[i]).collect()), idx)
            }
            CpuStorage::F64(_) => {
                let x = slice::<f64>(s, l)?;
                let idx = argmax(x, dims, self.k);
                (CpuStorage::F64(idx.iter().map(|&i| x[i]).collect()), idx)
            }
            _ => candle_core::bail!("smelt-max-pool2d: f32 or f64 only"),
        };
        if let Ok(mut kept) = self.idx.lock() {
            *kept = Some(idx);
        }
        Ok((out, shape))
    }

    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad: &Tensor) -> Result<Option<Tensor>> {
        let dims = arg.dims4()?;
        let kept = self.idx.lock().ok().and_then(|mut k| k.take());
        let dx = match arg.dtype() {
            DType::F32 => pool_bwd::<f32>(arg, grad, dims, self.k, kept)?,
            _ => pool_bwd::<f64>(arg, grad, dims, self.k, kept)?,
        };
        Ok(Some(dx))
    }
}

fn pool_bwd<T: Real>(
    arg: &Tensor,
    grad: &Tensor,
    dims: (usize, usize, usize, usize),
    k: usize,
    kept: Option<Vec<usize>>,
) -> Result<Tensor> {
    let (n, c, h, w) = dims;
    let idx = match kept {
        Some(idx) if idx.len() == n * c * (h / k) * (w / k) => idx,
        _ => with_values::<T, _>(arg, |x| argmax(x, dims, k))?,
    };
    let (plane, out) = (h * w, (h / k) * (w / k));
    let dx = with_values::<T, _>(grad, |g| {
        let mut dx = vec![T::of(0.0); arg.elem_count()];
        if out > 0 {
            // Each plane's windows lie in that plane: planes in parallel.
            dx.par_chunks_mut(plane)
                .zip(idx.par_chunks(out).zip(g.par_chunks(out)))
                .enumerate()
                .for_each(|(p, (d, (ix, gs)))| {
                    for (&i, &v) in ix.iter().zip(gs) {
                        d[i - p * plane] += v;
                    }
                });
        }
        dx
    })?;
    Tensor::from_vec(dx, arg.shape(), arg.device())
}
