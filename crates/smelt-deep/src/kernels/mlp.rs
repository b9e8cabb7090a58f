//! A whole stack of dense layers, `act(… act(x·W₁ + b₁) …)·W_L + b_L`, as one autograd node.
//!
//! The per-layer node ([`super::linear`]) leaves each step of a small network with about thirty
//! parallel regions (each product, each bias pass, each gradient edge's zero-filled buffer and
//! addition, each optimizer update), and on two cores the wake-ups between them cost as much as
//! the products (BENCHMARKS.md, "Networks → One node for the whole MLP"). Here the batch is cut
//! into fixed blocks of rows; each block runs through every layer on one thread, forward and
//! backward, with single-threaded products into buffers it owns; the blocks' weight gradients
//! are then summed in block order. So a training step has one parallel region forward and one
//! backward, and the result does not depend on the number of threads.
//!
//! All weights and biases live in one flat vector (layer by layer: `W` `[in, out]` row-major,
//! then `b` `[out]`), so the optimizer also updates them in one pass.

use std::any::Any;
use std::sync::Mutex;

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;
use smelt_core::rng::Rng;

use super::linear::{Act, NARROW, axpy, dot};
use super::{Real, View, matmul, slice, transpose, with_values};

/// The layers' `(in, out)` widths, the last being the output layer; offsets into the flat
/// parameter vector follow from them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layers(pub Vec<(usize, usize)>);

impl Layers {
    /// Where layer `l`'s weight starts in the flat vector (its bias follows the weight).
    pub fn offset(&self, l: usize) -> usize {
        self.0[..l].iter().map(|&(i, o)| (i + 1) * o).sum()
    }

    /// The flat vector's length.
    pub fn len(&self) -> usize {
        self.offset(self.0.len())
    }

    /// Whether there are no layers.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn input(&self) -> usize {
        self.0.first().map_or(0, |l| l.0)
    }

    fn output(&self) -> usize {
        self.0.last().map_or(0, |l| l.1)
    }
}

/// Dropout after each hidden activation (inverted: kept values scaled by `1/(1-p)`), with the
/// masks drawn from `seed`.
#[derive(Clone, Copy, Debug)]
pub struct Dropout {
    /// The probability of zeroing a value; 0 for none.
    pub p: f64,
    /// The masks' seed (one stream per layer and block of rows).
    pub seed: u64,
}

/// The stack's output `[rows, out]` for `x` `[rows, in]` and the flat `params` (f32 or f64 CPU
/// tensors of one dtype); `act` after every layer but the last. When `keep` is set, the
/// forward pass's activations are kept for the backward pass (else it recomputes them).
pub fn mlp(
    x: &Tensor,
    params: &Tensor,
    layers: &Layers,
    act: Act,
    dropout: Dropout,
    keep: bool,
) -> Result<Tensor> {
    let (x, params) = (x.contiguous()?, params.contiguous()?);
    x.apply_op2(
        &params,
        Mlp {
            layers: layers.clone(),
            act,
            dropout,
            keep,
            saved: Mutex::new(None),
        },
    )
}

struct Mlp {
    layers: Layers,
    act: Act,
    dropout: Dropout,
    keep: bool,
    /// The forward pass's [`Block`]s (`Vec<Block<T>>`), for the backward pass.
    saved: Mutex<Option<Box<dyn Any + Send>>>,
}

/// Rows per block: a quarter of the batch, within 32..=256 (a function of the rows only, so
/// results do not depend on the thread count).
fn block_rows(rows: usize) -> usize {
    rows.div_ceil(4).clamp(32, 256)
}

/// One block's activations: per hidden layer, its output after dropout (the next layer's
/// input) and, with dropout, the output before it and the mask.
struct Block<T> {
    h: Vec<Vec<T>>,
    pre: Vec<Vec<T>>,
    mask: Vec<Vec<T>>,
}

/// The transposed weight of each narrow layer (dot products over contiguous rows), or `None`.
fn narrow_weights<T: Real>(theta: &[T], layers: &Layers) -> Vec<Option<Vec<T>>> {
    layers
        .0
        .iter()
        .enumerate()
        .map(|(l, &(i, o))| {
            (o <= NARROW).then(|| {
                let off = layers.offset(l);
                transpose(&theta[off..off + i * o], i, o)
            })
        })
        .collect()
}

/// The dropout mask of layer `l`, block `b`: `1/(1-p)` kept, 0 dropped.
fn mask<T: Real>(d: Dropout, l: usize, b: usize, len: usize) -> Vec<T> {
    let keep = 1.0 - d.p;
    let scale = T::of(1.0 / keep);
    let mut rng = Rng::new(
        d.seed
            ^ (l as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (b as u64).wrapping_mul(0xD1B5_4A32_D192_ED03),
    );
    (0..len)
        .map(|_| {
            if rng.uniform() < keep {
                scale
            } else {
                T::of(0.0)
            }
        })
        .collect()
}

impl Mlp {
    fn dropping(&self) -> bool {
        self.dropout.p > 0.0
    }

    /// Block `b` (`nr` rows of `x`) through every layer; the output goes to `out`.
    fn forward_block<T: Real>(
        &self,
        theta: &[T],
        narrow: &[Option<Vec<T>>],
        x: &[T],
        nr: usize,
        b: usize,
        out: &mut [T],
    ) -> Block<T> {
        let layers = &self.layers;
        let last = layers.0.len() - 1;
        let mut block = Block {
            h: Vec::with_capacity(last),
            pre: Vec::new(),
            mask: Vec::new(),
        };
        for (l, &(i, o)) in layers.0.iter().enumerate() {
            let off = layers.offset(l);
            let (w, bias) = (
                &theta[off..off + i * o],
                &theta[off + i * o..off + (i + 1) * o],
            );
            let input: &[T] = if l == 0 { x } else { &block.h[l - 1] };
            if l == last {
                product(input, w, bias, narrow[l].as_deref(), nr, i, o, out);
                break;
            }
            let mut z = vec![T::of(0.0); nr * o];
            product(input, w, bias, narrow[l].as_deref(), nr, i, o, &mut z);
            activate(&mut z, self.act);
            if self.dropping() {
                let m: Vec<T> = mask(self.dropout, l, b, z.len());
                let h = z.iter().zip(&m).map(|(&y, &k)| y * k).collect();
                block.pre.push(z);
                block.mask.push(m);
                block.h.push(h);
            } else {
                block.h.push(z);
            }
        }
        block
    }

    /// Block `b`'s share of the gradients from `g` (its rows of d loss / d output): the weight
    /// gradients into `dtheta` (overwritten), d loss / d x when `dx` is given.
    #[allow(clippy::too_many_arguments, reason = "one block's inputs and outputs")]
    fn backward_block<T: Real>(
        &self,
        theta: &[T],
        narrow: &[Option<Vec<T>>],
        x: &[T],
        block: &Block<T>,
        mut g: Vec<T>,
        nr: usize,
        dtheta: &mut [T],
        dx: Option<&mut [T]>,
    ) {
        let layers = &self.layers;
        let last = layers.0.len() - 1;
        let mut dx = dx;
        for (l, &(i, o)) in layers.0.iter().enumerate().rev() {
            if l < last {
                // g: d loss / d h_l → d loss / d z_l.
                let y = if self.dropping() {
                    &block.pre[l]
                } else {
                    &block.h[l]
                };
                slope(&mut g, y, self.act);
                if self.dropping() {
                    for (v, &k) in g.iter_mut().zip(&block.mask[l]) {
                        *v *= k;
                    }
                }
            }
            let off = layers.offset(l);
            let w = &theta[off..off + i * o];
            let input: &[T] = if l == 0 { x } else { &block.h[l - 1] };
            let (dw, db) = dtheta[off..off + (i + 1) * o].split_at_mut(i * o);
            db.fill(T::of(0.0));
            for row in g.chunks_exact(o) {
                for (s, &v) in db.iter_mut().zip(row) {
                    *s += v;
                }
            }
            match &narrow[l] {
                Some(_) => {
                    // dWᵀ row j = Σ_r g[r, j] input_r, then transposed into place.
                    let mut dwt = vec![T::of(0.0); o * i];
                    for (xr, gr) in input.chunks_exact(i).zip(g.chunks_exact(o)) {
                        for (a, &gij) in dwt.chunks_exact_mut(i).zip(gr) {
                            axpy(a, gij, xr);
                        }
                    }
                    for (j, col) in dwt.chunks_exact(i).enumerate() {
                        for (a, &v) in col.iter().enumerate() {
                            dw[a * o + j] = v;
                        }
                    }
                }
                None => matmul(
                    i,
                    o,
                    nr,
                    dw,
                    o,
                    View::dense(input, i).t(),
                    View::dense(&g, o),
                    false,
                    1,
                ),
            }
            let target: Option<&mut [T]> = if l == 0 { dx.take() } else { None };
            if l == 0 && target.is_none() {
                break;
            }
            let mut prev = vec![T::of(0.0); nr * i];
            match &narrow[l] {
                Some(wt) => {
                    for (pr, gr) in prev.chunks_exact_mut(i).zip(g.chunks_exact(o)) {
                        for (&gij, wr) in gr.iter().zip(wt.chunks_exact(i)) {
                            axpy(pr, gij, wr);
                        }
                    }
                }
                None => matmul(
                    nr,
                    i,
                    o,
                    &mut prev,
                    i,
                    View::dense(&g, o),
                    View::dense(w, o).t(),
                    false,
                    1,
                ),
            }
            match target {
                Some(t) => t.copy_from_slice(&prev),
                None => g = prev,
            }
        }
    }

    fn check(&self, lx: &Layout, lp: &Layout) -> Result<(usize, usize)> {
        let (rows, d) = lx.shape().dims2()?;
        if self.layers.is_empty()
            || d != self.layers.input()
            || lp.shape().elem_count() != self.layers.len()
            || self.layers.0.windows(2).any(|w| w[0].1 != w[1].0)
        {
            candle_core::bail!(
                "smelt-mlp: input {:?} and {} parameters for layers {:?}",
                lx.shape(),
                lp.shape().elem_count(),
                self.layers.0
            )
        }
        Ok((rows, d))
    }

    fn run_forward<T: Real>(&self, x: &[T], theta: &[T], rows: usize) -> (Vec<T>, Vec<Block<T>>) {
        let (d, out) = (self.layers.input(), self.layers.output());
        let narrow = narrow_weights(theta, &self.layers);
        let br = block_rows(rows);
        let mut y = vec![T::of(0.0); rows * out];
        let blocks: Vec<Block<T>> = y
            .par_chunks_mut(br * out)
            .zip(x.par_chunks(br * d))
            .enumerate()
            .map(|(b, (yb, xb))| self.forward_block(theta, &narrow, xb, xb.len() / d, b, yb))
            .collect();
        (y, blocks)
    }

    fn run_backward<T: Real>(
        &self,
        x: &Tensor,
        params: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Tensor)> {
        let (rows, d) = x.dims2()?;
        let out = self.layers.output();
        let want_dx = x.track_op();
        let saved = self
            .saved
            .lock()
            .map_err(|_| candle_core::Error::Msg("smelt-mlp: poisoned state".into()))?
            .take()
            .and_then(|b| b.downcast::<Vec<Block<T>>>().ok());
        let (dtheta, dx) = with_values::<T, _>(x, |xv| {
            with_values::<T, _>(params, |theta| {
                with_values::<T, _>(grad, |gv| {
                    let blocks = match saved {
                        Some(b) => *b,
                        None => self.run_forward(xv, theta, rows).1,
                    };
                    let narrow = narrow_weights(theta, &self.layers);
                    let br = block_rows(rows);
                    let p = self.layers.len();
                    let mut dx = if want_dx {
                        vec![T::of(0.0); rows * d]
                    } else {
                        Vec::new()
                    };
                    let mut dx_blocks: Vec<Option<&mut [T]>> = if want_dx {
                        dx.chunks_mut(br * d).map(Some).collect()
                    } else {
                        blocks.iter().map(|_| None).collect()
                    };
                    let partial: Vec<Vec<T>> = blocks
                        .par_iter()
                        .zip(dx_blocks.par_iter_mut())
                        .zip(gv.par_chunks(br * out))
                        .zip(xv.par_chunks(br * d))
                        .map(|(((block, dxb), gb), xb)| {
                            let mut dtheta = vec![T::of(0.0); p];
                            self.backward_block(
                                theta,
                                &narrow,
                                xb,
                                block,
                                gb.to_vec(),
                                xb.len() / d,
                                &mut dtheta,
                                dxb.take(),
                            );
                            dtheta
                        })
                        .collect();
                    (sum_in_order(partial, p), want_dx.then_some(dx))
                })
            })
        })???;
        let dev = x.device();
        let dx = dx
            .map(|v| Tensor::from_vec(v, (rows, d), dev))
            .transpose()?;
        Ok((dx, Tensor::from_vec(dtheta, params.shape(), dev)?))
    }
}

/// Σ of the blocks' gradients, in block order for every element (deterministic), in parallel
/// over stretches of the vector.
fn sum_in_order<T: Real>(partial: Vec<Vec<T>>, p: usize) -> Vec<T> {
    let mut blocks = partial.into_iter();
    let Some(mut total) = blocks.next() else {
        return vec![T::of(0.0); p];
    };
    let partial: Vec<Vec<T>> = blocks.collect();
    const STRETCH: usize = 1 << 16;
    total
        .par_chunks_mut(STRETCH)
        .enumerate()
        .for_each(|(s, t)| {
            for other in &partial {
                for (a, &b) in t.iter_mut().zip(&other[s * STRETCH..]) {
                    *a += b;
                }
            }
        });
    total
}

/// `z = input·W + b` for a block of `nr` rows (`W` `[i, o]`; `wt` its transpose for a narrow
/// layer).
#[allow(clippy::too_many_arguments, reason = "a layer's operands and shape")]
fn product<T: Real>(
    input: &[T],
    w: &[T],
    bias: &[T],
    wt: Option<&[T]>,
    nr: usize,
    i: usize,
    o: usize,
    z: &mut [T],
) {
    match wt {
        Some(wt) => {
            for (zr, xr) in z.chunks_exact_mut(o).zip(input.chunks_exact(i)) {
                for ((v, wr), &b) in zr.iter_mut().zip(wt.chunks_exact(i)).zip(bias) {
                    *v = b + dot(xr, wr);
                }
            }
        }
        None => {
            // The bias is added after the product, not accumulated into it: gemm sums a
            // one-row product onto its destination in another order than a block of rows, and
            // a row must score the same alone as in a batch.
            matmul(
                nr,
                o,
                i,
                z,
                o,
                View::dense(input, i),
                View::dense(w, o),
                false,
                1,
            );
            for row in z.chunks_exact_mut(o) {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        }
    }
}

/// `z ← act(z)`, one branch-free loop per activation.
fn activate<T: Real>(z: &mut [T], act: Act) {
    match act {
        Act::Identity => {}
        Act::Relu => z.iter_mut().for_each(|v| *v = Act::Relu.apply(*v)),
        Act::Tanh => z.iter_mut().for_each(|v| *v = Act::Tanh.apply(*v)),
        Act::Sigmoid => z.iter_mut().for_each(|v| *v = Act::Sigmoid.apply(*v)),
    }
}

/// `g ← g ⊙ act'(z)`, from the activation's output `y`.
fn slope<T: Real>(g: &mut [T], y: &[T], act: Act) {
    match act {
        Act::Identity => {}
        Act::Relu => g
            .iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g *= Act::Relu.slope(y)),
        Act::Tanh => g
            .iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g *= Act::Tanh.slope(y)),
        Act::Sigmoid => g
            .iter_mut()
            .zip(y)
            .for_each(|(g, &y)| *g *= Act::Sigmoid.slope(y)),
    }
}

impl CustomOp2 for Mlp {
    fn name(&self) -> &'static str {
        "smelt-mlp"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sp: &CpuStorage,
        lp: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, _) = self.check(lx, lp)?;
        let shape = Shape::from((rows, self.layers.output()));
        let keep =
            |blocks: Box<dyn Any + Send>| -> Result<()> {
                if self.keep {
                    *self.saved.lock().map_err(|_| {
                        candle_core::Error::Msg("smelt-mlp: poisoned state".into())
                    })? = Some(blocks);
                }
                Ok(())
            };
        match (sx, sp) {
            (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                let (y, blocks) =
                    self.run_forward(slice::<f32>(sx, lx)?, slice::<f32>(sp, lp)?, rows);
                keep(Box::new(blocks))?;
                Ok((CpuStorage::F32(y), shape))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let (y, blocks) =
                    self.run_forward(slice::<f64>(sx, lx)?, slice::<f64>(sp, lp)?, rows);
                keep(Box::new(blocks))?;
                Ok((CpuStorage::F64(y), shape))
            }
            _ => candle_core::bail!("smelt-mlp: f32 or f64 inputs and parameters of one dtype"),
        }
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

#[cfg(test)]
mod tests {
    use crate::kernels::max_diff;
    use candle_core::{Device, Var};

    use super::*;

    /// The same stack in plain candle ops, with the op's own dropout masks.
    fn reference(x: &Tensor, p: &Tensor, layers: &Layers, act: Act, d: Dropout) -> Result<Tensor> {
        let rows = x.dim(0)?;
        let br = block_rows(rows);
        let last = layers.0.len() - 1;
        let mut h = x.clone();
        for (l, &(i, o)) in layers.0.iter().enumerate() {
            let off = layers.offset(l);
            let w = p.narrow(0, off, i * o)?.reshape((i, o))?;
            let b = p.narrow(0, off + i * o, o)?;
            let z = h.matmul(&w)?.broadcast_add(&b)?;
            if l == last {
                return Ok(z);
            }
            h = match act {
                Act::Identity => z,
                Act::Relu => z.relu()?,
                Act::Tanh => z.tanh()?,
                Act::Sigmoid => candle_nn::ops::sigmoid(&z)?,
            };
            if d.p > 0.0 {
                let mut m: Vec<f64> = Vec::new();
                for (b, start) in (0..rows).step_by(br).enumerate() {
                    m.extend(mask::<f64>(d, l, b, br.min(rows - start) * o));
                }
                h = (h * Tensor::from_vec(m, (rows, o), x.device())?)?;
            }
        }
        Ok(h)
    }

    #[test]
    fn the_fused_stack_equals_the_layer_by_layer_network_with_its_gradients() {
        let dev = Device::Cpu;
        let mut rng = Rng::new(11);
        let mut normal = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.normal() * 0.5).collect() };
        // Narrow and wide layers (products as dot products and as GEMMs); 70 rows make blocks
        // of 32, 32 and 6.
        for widths in [
            vec![(5, 4), (4, 12), (12, 3)],
            vec![(5, 16), (16, 10), (10, 1)],
        ] {
            let layers = Layers(widths);
            let rows = 70;
            let x = Var::from_vec(normal(rows * 5), (rows, 5), &dev).expect("x");
            let p = Var::from_vec(normal(layers.len()), layers.len(), &dev).expect("params");
            let r = Tensor::from_vec(
                normal(rows * layers.output()),
                (rows, layers.output()),
                &dev,
            )
            .expect("r");
            for act in [Act::Relu, Act::Tanh, Act::Sigmoid, Act::Identity] {
                for (d, keep) in [(0.0, false), (0.0, true), (0.3, true), (0.3, false)] {
                    let d = Dropout { p: d, seed: 7 };
                    let got = mlp(&x, &p, &layers, act, d, keep).expect("fused");
                    let want = reference(&x, &p, &layers, act, d).expect("reference");
                    assert!(max_diff(&got, &want) < 1e-12, "{act:?} {d:?}: outputs");
                    let g1 = (got * &r)
                        .and_then(|t| t.sum_all()?.backward())
                        .expect("bwd");
                    let g2 = (want * &r)
                        .and_then(|t| t.sum_all()?.backward())
                        .expect("bwd");
                    for v in [&x, &p] {
                        let (a, b) = (g1.get(v).expect("grad"), g2.get(v).expect("grad"));
                        assert!(
                            max_diff(a, b) < 1e-10,
                            "{act:?} {d:?} keep {keep}: gradients"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn without_a_tracked_input_only_the_parameters_get_a_gradient() {
        let dev = Device::Cpu;
        let layers = Layers(vec![(3, 9), (9, 2)]);
        let x = Tensor::from_vec(
            (0..12).map(|v| v as f32 * 0.1).collect::<Vec<_>>(),
            (4, 3),
            &dev,
        )
        .expect("x");
        let p = Var::from_vec(vec![0.05f32; layers.len()], layers.len(), &dev).expect("p");
        let d = Dropout { p: 0.0, seed: 0 };
        let out = mlp(&x, &p, &layers, Act::Relu, d, true).expect("fused");
        let g = out.sum_all().and_then(|t| t.backward()).expect("bwd");
        assert!(g.get(&x).is_none());
        assert_eq!(g.get(&p).expect("grad").dims(), &[layers.len()]);
        // A parameter vector of the wrong length is an error, not a panic.
        let short = Tensor::zeros(layers.len() - 1, candle_core::DType::F32, &dev).expect("p");
        assert!(mlp(&x, &short, &layers, Act::Relu, d, false).is_err());
    }
}
