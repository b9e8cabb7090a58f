//! A whole LSTM layer direction — every step, forward and backward through time — as one
//! autograd node on the CPU.
//!
//! Step by step, each LSTM step was five candle nodes (two products, the fused gates, the cell
//! and output updates), and backpropagation walked them with a zero-filled gradient buffer and
//! an addition per edge: a profile of an epoch showed the element-wise passes, `memset` and
//! those additions above the products. Here the batch is cut into fixed blocks of rows; each
//! block runs the whole sequence on one thread with single-threaded products into buffers it
//! owns, keeping the gate activations and cell states for the backward pass, which runs
//! through time in one loop. The blocks' weight gradients are summed in block order, so the
//! result does not depend on the thread count.
//!
//! The weights arrive as one vector (`W_ih` `[C, 4H]`, `W_hh` `[H, 4H]`, `b_ih`, `b_hh` `[4H]`,
//! concatenated by [`lstm_sequence`]), gates in PyTorch's order `i, f, g, o`.

use std::any::Any;
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use super::fused::Real as Cell;
use crate::kernels::{Real, View, matmul};

/// Input widths up to this project with loops, not a GEMM (a time series has a few channels).
const NARROW: usize = 8;

/// Every hidden state `[T, B, H]` (time order) of one LSTM direction over `x` `[T, B, C]` from
/// zero states; `reverse` runs from the last step to the first. `weights`: `W_ih` `[C, 4H]`,
/// `W_hh` `[H, 4H]`, `b_ih`, `b_hh` `[4H]`.
pub fn lstm_sequence(x: &Tensor, weights: [&Tensor; 4], reverse: bool) -> Result<Tensor> {
    let [w_ih, w_hh, _, _] = weights;
    let (c, h) = (w_ih.dim(0)?, w_hh.dim(0)?);
    let params = Tensor::cat(
        &weights
            .iter()
            .map(|w| w.flatten_all())
            .collect::<Result<Vec<_>>>()?,
        0,
    )?;
    x.contiguous()?.apply_op2(
        &params,
        Sequence {
            c,
            h,
            reverse,
            kept: Mutex::new(None),
        },
    )
}

struct Sequence {
    /// Input channels.
    c: usize,
    /// Hidden units.
    h: usize,
    reverse: bool,
    /// The forward pass's blocks (`Vec<Block<T>>`), for the backward pass.
    kept: Mutex<Option<Box<dyn Any + Send>>>,
}

/// One block of rows through the sequence: per step (in processing order), the activated gates
/// `[nb, 4H]`, the cell state `[nb, H]` and the hidden state `[nb, H]`.
struct Block<T> {
    gates: Vec<Vec<T>>,
    cell: Vec<Vec<T>>,
    hidden: Vec<Vec<T>>,
}

/// Rows per block: half the batch, within 16..=256 (a function of the batch only).
fn block_rows(b: usize) -> usize {
    b.div_ceil(2).clamp(16, 256)
}

#[inline(always)]
fn sigmoid<T: Cell>(v: T) -> T {
    v.sigmoid()
}

#[inline(always)]
fn tanh<T: Cell>(v: T) -> T {
    <T as Cell>::tanh(v)
}

/// One step's element-wise passes over a block's rows, with f32 copies compiled for AVX2 + FMA
/// (`simd_fn!`): the profile of the first version showed them as scalar SSE code, half of an
/// epoch.
trait Kernels: Real + Cell {
    /// Gates `zx + bias (+ zh)` activated (`σ` on `i, f, o`, `tanh` on `g`), then
    /// `c = f·prev + i·g` and `h = o·tanh(c)`; `first`: no hidden projection yet.
    #[allow(clippy::too_many_arguments, reason = "a step's buffers")]
    fn step_forward(
        zx: &[Self],
        zh: &[Self],
        first: bool,
        bias: &[Self],
        prev: &[Self],
        gates: &mut [Self],
        cell: &mut [Self],
        hidden: &mut [Self],
    );

    /// From the step's activated gates `a`, its output gradient `gs` and the gradients flowing
    /// back from the next step (`dh_next`, `dc_next`): the gates' pre-activation gradients into
    /// `dz`, and `dc_next` for the step before.
    #[allow(clippy::too_many_arguments, reason = "a step's buffers")]
    fn step_backward(
        a: &[Self],
        gs: &[Self],
        dh_next: &[Self],
        dc_next: &mut [Self],
        cell: &[Self],
        prev: &[Self],
        dz: &mut [Self],
        h: usize,
    );
}

#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "a step's buffers")]
fn step_forward<T: Real + Cell>(
    zx: &[T],
    zh: &[T],
    first: bool,
    bias: &[T],
    prev: &[T],
    gates: &mut [T],
    cell: &mut [T],
    hidden: &mut [T],
) {
    let g = bias.len();
    let h = g / 4;
    for ((((a, zxr), zhr), (cr, hr)), pr) in gates
        .chunks_exact_mut(g)
        .zip(zx.chunks_exact(g))
        .zip(zh.chunks_exact(g))
        .zip(cell.chunks_exact_mut(h).zip(hidden.chunks_exact_mut(h)))
        .zip(prev.chunks_exact(h))
    {
        if first {
            for ((v, &x), &b) in a.iter_mut().zip(zxr).zip(bias) {
                *v = x + b;
            }
        } else {
            for (((v, &x), &b), &y) in a.iter_mut().zip(zxr).zip(bias).zip(zhr) {
                *v = x + b + y;
            }
        }
        for v in &mut a[..2 * h] {
            *v = sigmoid(*v);
        }
        for v in &mut a[2 * h..3 * h] {
            *v = tanh(*v);
        }
        for v in &mut a[3 * h..] {
            *v = sigmoid(*v);
        }
        let (ai, rest) = a.split_at(h);
        let (af, rest) = rest.split_at(h);
        let (ag, ao) = rest.split_at(h);
        for ((((((cv, hv), &i), &f), &gg), &o), &p) in cr
            .iter_mut()
            .zip(hr.iter_mut())
            .zip(ai)
            .zip(af)
            .zip(ag)
            .zip(ao)
            .zip(pr)
        {
            *cv = f * p + i * gg;
            *hv = o * tanh(*cv);
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments, reason = "a step's buffers")]
fn step_backward<T: Real + Cell>(
    a: &[T],
    gs: &[T],
    dh_next: &[T],
    dc_next: &mut [T],
    cell: &[T],
    prev: &[T],
    dz: &mut [T],
    h: usize,
) {
    let g = 4 * h;
    let one = T::of(1.0);
    let rows = a.chunks_exact(g).zip(dz.chunks_exact_mut(g));
    let states = gs
        .chunks_exact(h)
        .zip(dh_next.chunks_exact(h))
        .zip(dc_next.chunks_exact_mut(h))
        .zip(cell.chunks_exact(h))
        .zip(prev.chunks_exact(h));
    for ((ar, zr), ((((gr, dnr), dcr), cr), pr)) in rows.zip(states) {
        let (ai, rest) = ar.split_at(h);
        let (af, rest) = rest.split_at(h);
        let (ag, ao) = rest.split_at(h);
        let (zi, rest) = zr.split_at_mut(h);
        let (zf, rest) = rest.split_at_mut(h);
        let (zg, zo) = rest.split_at_mut(h);
        let lanes = gr.iter().zip(dnr).zip(dcr.iter_mut()).zip(cr).zip(pr);
        let gates = ai.iter().zip(af).zip(ag).zip(ao);
        let outs = zi
            .iter_mut()
            .zip(zf.iter_mut())
            .zip(zg.iter_mut())
            .zip(zo.iter_mut());
        for (((((&gv, &dn), dcn), &cv), &p), ((((&i, &f), &gg), &o), (((di, df), dg), d_o))) in
            lanes.zip(gates.zip(outs))
        {
            let dh = gv + dn;
            let tc = tanh(cv);
            let dc = *dcn + dh * o * (one - tc * tc);
            *dcn = dc * f;
            *di = dc * gg * i * (one - i);
            *df = dc * p * f * (one - f);
            *dg = dc * i * (one - gg * gg);
            *d_o = dh * tc * o * (one - o);
        }
    }
}

crate::kernels::simd_fn! {
    #[allow(clippy::too_many_arguments, reason = "a step's buffers")]
    fn step_forward_f32(
        zx: &[f32],
        zh: &[f32],
        first: bool,
        bias: &[f32],
        prev: &[f32],
        gates: &mut [f32],
        cell: &mut [f32],
        hidden: &mut [f32],
    ) {
        step_forward(zx, zh, first, bias, prev, gates, cell, hidden)
    }
}

crate::kernels::simd_fn! {
    #[allow(clippy::too_many_arguments, reason = "a step's buffers")]
    fn step_backward_f32(
        a: &[f32],
        gs: &[f32],
        dh_next: &[f32],
        dc_next: &mut [f32],
        cell: &[f32],
        prev: &[f32],
        dz: &mut [f32],
        h: usize,
    ) {
        step_backward(a, gs, dh_next, dc_next, cell, prev, dz, h)
    }
}

impl Kernels for f32 {
    fn step_forward(
        zx: &[f32],
        zh: &[f32],
        first: bool,
        bias: &[f32],
        prev: &[f32],
        gates: &mut [f32],
        cell: &mut [f32],
        hidden: &mut [f32],
    ) {
        step_forward_f32(zx, zh, first, bias, prev, gates, cell, hidden)
    }

    fn step_backward(
        a: &[f32],
        gs: &[f32],
        dh_next: &[f32],
        dc_next: &mut [f32],
        cell: &[f32],
        prev: &[f32],
        dz: &mut [f32],
        h: usize,
    ) {
        step_backward_f32(a, gs, dh_next, dc_next, cell, prev, dz, h)
    }
}

impl Kernels for f64 {
    fn step_forward(
        zx: &[f64],
        zh: &[f64],
        first: bool,
        bias: &[f64],
        prev: &[f64],
        gates: &mut [f64],
        cell: &mut [f64],
        hidden: &mut [f64],
    ) {
        step_forward(zx, zh, first, bias, prev, gates, cell, hidden)
    }

    fn step_backward(
        a: &[f64],
        gs: &[f64],
        dh_next: &[f64],
        dc_next: &mut [f64],
        cell: &[f64],
        prev: &[f64],
        dz: &mut [f64],
        h: usize,
    ) {
        step_backward(a, gs, dh_next, dc_next, cell, prev, dz, h)
    }
}

/// Where the parts of the flat parameter vector start.
struct Parts {
    w_ih: usize,
    w_hh: usize,
    b_ih: usize,
    b_hh: usize,
    len: usize,
}

impl Sequence {
    fn parts(&self) -> Parts {
        let g = 4 * self.h;
        let w_hh = self.c * g;
        let b_ih = w_hh + self.h * g;
        Parts {
            w_ih: 0,
            w_hh,
            b_ih,
            b_hh: b_ih + g,
            len: b_ih + 2 * g,
        }
    }

    /// Processing order of the steps.
    fn order(&self, t: usize) -> Vec<usize> {
        if self.reverse {
            (0..t).rev().collect()
        } else {
            (0..t).collect()
        }
    }

    /// `out[r] = Σ_c x[r, c] · W[c, :]` for `nb` rows (`W` `[c, g]`), into `out` (overwritten).
    fn project<T: Kernels>(x: &[T], w: &[T], nb: usize, c: usize, g: usize, out: &mut [T]) {
        if c <= NARROW {
            out.fill(T::of(0.0));
            for (o, xr) in out.chunks_exact_mut(g).zip(x.chunks_exact(c)) {
                for (&xv, wr) in xr.iter().zip(w.chunks_exact(g)) {
                    for (a, &b) in o.iter_mut().zip(wr) {
                        *a += xv * b;
                    }
                }
            }
        } else {
            matmul(
                nb,
                g,
                c,
                out,
                g,
                View::dense(x, c),
                View::dense(w, g),
                false,
                1,
            );
        }
    }

    /// Block rows `r0..r0 + nb` of `x` `[T, B, C]` through the sequence; hidden states into
    /// `out` `[T, B, H]` (this block's rows of each step).
    fn forward_block<T: Kernels>(
        &self,
        x: &[T],
        theta: &[T],
        (t, b): (usize, usize),
        r0: usize,
        nb: usize,
    ) -> Block<T> {
        let (c, h, p) = (self.c, self.h, self.parts());
        let g = 4 * h;
        let w_ih = &theta[p.w_ih..p.w_hh];
        let w_hh = &theta[p.w_hh..p.b_ih];
        let bias: Vec<T> = (0..g)
            .map(|j| theta[p.b_ih + j] + theta[p.b_hh + j])
            .collect();
        let mut block = Block {
            gates: Vec::with_capacity(t),
            cell: Vec::with_capacity(t),
            hidden: Vec::with_capacity(t),
        };
        let mut zx = vec![T::of(0.0); nb * g];
        let mut zh = vec![T::of(0.0); nb * g];
        let zeros = vec![T::of(0.0); nb * h];
        for (k, s) in self.order(t).into_iter().enumerate() {
            let xs = &x[(s * b + r0) * c..(s * b + r0 + nb) * c];
            Self::project(xs, w_ih, nb, c, g, &mut zx);
            if k > 0 {
                matmul(
                    nb,
                    g,
                    h,
                    &mut zh,
                    g,
                    View::dense(&block.hidden[k - 1], h),
                    View::dense(w_hh, g),
                    false,
                    1,
                );
            }
            let mut gates = vec![T::of(0.0); nb * g];
            let mut cell = vec![T::of(0.0); nb * h];
            let mut hidden = vec![T::of(0.0); nb * h];
            let prev: &[T] = match k {
                0 => &zeros,
                _ => &block.cell[k - 1],
            };
            T::step_forward(
                &zx,
                &zh,
                k == 0,
                &bias,
                prev,
                &mut gates,
                &mut cell,
                &mut hidden,
            );
            block.gates.push(gates);
            block.cell.push(cell);
            block.hidden.push(hidden);
        }
        block
    }

    /// Block rows `r0..r0 + nb`: the weight gradients into `dtheta` (overwritten) and, when
    /// `dx` is given (`[T, nb, C]`, this block's rows step by step), the input gradient.
    #[allow(clippy::too_many_arguments, reason = "one block's inputs and outputs")]
    fn backward_block<T: Kernels>(
        &self,
        x: &[T],
        theta: &[T],
        grad: &[T],
        block: &Block<T>,
        (t, b): (usize, usize),
        r0: usize,
        nb: usize,
        dtheta: &mut [T],
        mut dx: Option<&mut [T]>,
    ) {
        let (c, h, p) = (self.c, self.h, self.parts());
        let g = 4 * h;
        let zero = T::of(0.0);
        let w_ih = &theta[p.w_ih..p.w_hh];
        let w_hh = &theta[p.w_hh..p.b_ih];
        dtheta.fill(zero);
        let (dw_ih, rest) = dtheta.split_at_mut(p.w_hh);
        let (dw_hh, rest) = rest.split_at_mut(p.b_ih - p.w_hh);
        let (db_ih, db_hh) = rest.split_at_mut(g);
        let mut dh_next = vec![zero; nb * h];
        let mut dc_next = vec![zero; nb * h];
        let mut dz = vec![zero; nb * g];
        let zeros = vec![zero; nb * h];
        let order = self.order(t);
        for k in (0..t).rev() {
            let s = order[k];
            let (a, cell) = (&block.gates[k], &block.cell[k]);
            let gs = &grad[(s * b + r0) * h..(s * b + r0 + nb) * h];
            let prev: &[T] = match k {
                0 => &zeros,
                _ => &block.cell[k - 1],
            };
            T::step_backward(a, gs, &dh_next, &mut dc_next, cell, prev, &mut dz, h);
            for row in dz.chunks_exact(g) {
                for ((a, e), &v) in db_ih.iter_mut().zip(db_hh.iter_mut()).zip(row) {
                    *a += v;
                    *e += v;
                }
            }
            // W_ih: Σ x_sᵀ dz; the input's gradient dz W_ihᵀ.
            let xs = &x[(s * b + r0) * c..(s * b + r0 + nb) * c];
            if c <= NARROW {
                for (xr, zr) in xs.chunks_exact(c).zip(dz.chunks_exact(g)) {
                    for (&xv, wr) in xr.iter().zip(dw_ih.chunks_exact_mut(g)) {
                        for (a, &v) in wr.iter_mut().zip(zr) {
                            *a += xv * v;
                        }
                    }
                }
            } else {
                matmul(
                    c,
                    g,
                    nb,
                    dw_ih,
                    g,
                    View::dense(xs, c).t(),
                    View::dense(&dz, g),
                    true,
                    1,
                );
            }
            if let Some(dx) = dx.as_deref_mut() {
                let out = &mut dx[s * nb * c..(s + 1) * nb * c];
                if c <= NARROW {
                    for (o, zr) in out.chunks_exact_mut(c).zip(dz.chunks_exact(g)) {
                        for (ov, wr) in o.iter_mut().zip(w_ih.chunks_exact(g)) {
                            let mut acc = zero;
                            for (&wv, &zv) in wr.iter().zip(zr) {
                                acc += wv * zv;
                            }
                            *ov = acc;
                        }
                    }
                } else {
                    matmul(
                        nb,
                        c,
                        g,
                        out,
                        c,
                        View::dense(&dz, g),
                        View::dense(w_ih, g).t(),
                        false,
                        1,
                    );
                }
            }
            if k > 0 {
                // W_hh: h_{k-1}ᵀ dz; the previous hidden state's gradient dz W_hhᵀ.
                matmul(
                    h,
                    g,
                    nb,
                    dw_hh,
                    g,
                    View::dense(&block.hidden[k - 1], h).t(),
                    View::dense(&dz, g),
                    true,
                    1,
                );
                matmul(
                    nb,
                    h,
                    g,
                    &mut dh_next,
                    h,
                    View::dense(&dz, g),
                    View::dense(w_hh, g).t(),
                    false,
                    1,
                );
            }
        }
    }

    fn check(&self, lx: &Layout, lp: &Layout) -> Result<(usize, usize)> {
        let (t, b, c) = lx.shape().dims3()?;
        if c != self.c || lp.shape().elem_count() != self.parts().len || self.h == 0 {
            candle_core::bail!(
                "smelt-lstm-sequence: input {:?} and {} parameters for {} inputs, {} units",
                lx.shape(),
                lp.shape().elem_count(),
                self.c,
                self.h
            )
        }
        Ok((t, b))
    }

    fn run_forward<T: Kernels>(
        &self,
        x: &[T],
        theta: &[T],
        (t, b): (usize, usize),
    ) -> (Vec<T>, Vec<Block<T>>) {
        let h = self.h;
        let br = block_rows(b);
        let starts: Vec<usize> = (0..b).step_by(br).collect();
        let blocks: Vec<Block<T>> = starts
            .par_iter()
            .map(|&r0| self.forward_block(x, theta, (t, b), r0, br.min(b - r0)))
            .collect();
        let mut out = vec![T::of(0.0); t * b * h];
        let order = self.order(t);
        for (&r0, block) in starts.iter().zip(&blocks) {
            let nb = br.min(b - r0);
            for (k, &s) in order.iter().enumerate() {
                out[(s * b + r0) * h..(s * b + r0 + nb) * h].copy_from_slice(&block.hidden[k]);
            }
        }
        (out, blocks)
    }

    fn run_backward<T: Kernels>(
        &self,
        x: &Tensor,
        params: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Tensor)> {
        let (t, b, c) = x.dims3()?;
        let want_dx = x.track_op();
        let kept = self
            .kept
            .lock()
            .ok()
            .and_then(|mut k| k.take())
            .and_then(|k| k.downcast::<Vec<Block<T>>>().ok());
        let (dtheta, dx) = crate::kernels::with_values::<T, _>(x, |xv| {
            crate::kernels::with_values::<T, _>(params, |theta| {
                crate::kernels::with_values::<T, _>(grad, |gv| {
                    let blocks = match kept {
                        Some(k) => *k,
                        None => self.run_forward(xv, theta, (t, b)).1,
                    };
                    let br = block_rows(b);
                    let starts: Vec<usize> = (0..b).step_by(br).collect();
                    let plen = self.parts().len;
                    let partial: Vec<(Vec<T>, Vec<T>)> = starts
                        .par_iter()
                        .zip(blocks.par_iter())
                        .map(|(&r0, block)| {
                            let nb = br.min(b - r0);
                            let mut dtheta = vec![T::of(0.0); plen];
                            let mut dx = if want_dx {
                                vec![T::of(0.0); t * nb * c]
                            } else {
                                Vec::new()
                            };
                            self.backward_block(
                                xv,
                                theta,
                                gv,
                                block,
                                (t, b),
                                r0,
                                nb,
                                &mut dtheta,
                                want_dx.then_some(&mut dx[..]),
                            );
                            (dtheta, dx)
                        })
                        .collect();
                    let mut total = vec![T::of(0.0); plen];
                    let mut dx = if want_dx {
                        vec![T::of(0.0); t * b * c]
                    } else {
                        Vec::new()
                    };
                    for (&r0, (d, dxb)) in starts.iter().zip(&partial) {
                        for (a, &v) in total.iter_mut().zip(d) {
                            *a += v;
                        }
                        if want_dx {
                            let nb = br.min(b - r0);
                            for s in 0..t {
                                dx[(s * b + r0) * c..(s * b + r0 + nb) * c]
                                    .copy_from_slice(&dxb[s * nb * c..(s + 1) * nb * c]);
                            }
                        }
                    }
                    (total, want_dx.then_some(dx))
                })
            })
        })???;
        let dev = x.device();
        let dx = dx
            .map(|v| Tensor::from_vec(v, (t, b, c), dev))
            .transpose()?;
        Ok((dx, Tensor::from_vec(dtheta, params.shape(), dev)?))
    }
}

impl CustomOp2 for Sequence {
    fn name(&self) -> &'static str {
        "smelt-lstm-sequence"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sp: &CpuStorage,
        lp: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (t, b) = self.check(lx, lp)?;
        let shape = Shape::from((t, b, self.h));
        let (out, kept): (CpuStorage, Box<dyn Any + Send>) = match (sx, sp) {
            (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                let (y, blocks) = self.run_forward(
                    crate::kernels::slice::<f32>(sx, lx)?,
                    crate::kernels::slice::<f32>(sp, lp)?,
                    (t, b),
                );
                (CpuStorage::F32(y), Box::new(blocks))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let (y, blocks) = self.run_forward(
                    crate::kernels::slice::<f64>(sx, lx)?,
                    crate::kernels::slice::<f64>(sp, lp)?,
                    (t, b),
                );
                (CpuStorage::F64(y), Box::new(blocks))
            }
            _ => candle_core::bail!("smelt-lstm-sequence: f32 or f64 inputs of one dtype"),
        };
        if let Ok(mut k) = self.kept.lock() {
            *k = Some(kept);
        }
        Ok((out, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        params: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let (dx, dtheta) = match x.dtype() {
            candle_core::DType::F32 => self.run_backward::<f32>(x, params, grad)?,
            _ => self.run_backward::<f64>(x, params, grad)?,
        };
        Ok((dx, Some(dtheta)))
    }
}
