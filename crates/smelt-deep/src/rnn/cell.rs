//! Recurrent layers: LSTM and GRU with PyTorch's equations, gate order and initialisation, so
//! weights trained by `torch.nn.LSTM` / `torch.nn.GRU` load here and give the same outputs.
//!
//! LSTM (gates `i, f, g, o`):
//!
//! ```text
//! i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
//! g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
//! c' = f ⊙ c + i ⊙ g                         h' = o ⊙ tanh(c')
//! ```
//!
//! GRU (gates `r, z, n`):
//!
//! ```text
//! r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
//! n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//! h' = (1 − z) ⊙ n + z ⊙ h
//! ```
//!
//! On the CPU the element-wise part of a step is one fused operation with a hand-written
//! backward pass (`fused.rs`); each step projects its own input (see [`run_direction`] for
//! why not one projection of all steps). Weights are kept transposed from PyTorch's layout
//! (`w_ih: [inputs, gates·hidden]`, `w_hh: [hidden, gates·hidden]`) so a batch multiplies them
//! without a transpose; every weight and bias starts uniform in `±1/√hidden`, as in PyTorch.

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use smelt_core::rng::Rng;

/// Which recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CellKind {
    /// Long short-term memory (4 gates, a cell state).
    Lstm,
    /// Gated recurrent unit (3 gates).
    Gru,
}

impl CellKind {
    /// Gates per hidden unit: 4 for the LSTM, 3 for the GRU.
    pub fn gates(self) -> usize {
        match self {
            CellKind::Lstm => 4,
            CellKind::Gru => 3,
        }
    }
}

/// One direction of one recurrent layer: PyTorch's `weight_ih_l{k}`, `weight_hh_l{k}`,
/// `bias_ih_l{k}`, `bias_hh_l{k}` (with `_reverse` for the backward direction), the weights
/// transposed.
#[derive(Debug)]
pub struct Direction {
    /// `[inputs, gates · hidden]` (PyTorch's `weight_ih` transposed).
    pub w_ih: Var,
    /// `[hidden, gates · hidden]` (PyTorch's `weight_hh` transposed).
    pub w_hh: Var,
    /// `[gates · hidden]`.
    pub b_ih: Var,
    /// `[gates · hidden]`.
    pub b_hh: Var,
}

impl Direction {
    /// A direction initialised like PyTorch's: every value uniform in `±1/√hidden`, drawn in
    /// the order `w_ih, w_hh, b_ih, b_hh`.
    pub fn new(
        kind: CellKind,
        inputs: usize,
        hidden: usize,
        rng: &mut Rng,
        dev: &Device,
    ) -> candle_core::Result<Direction> {
        let g = kind.gates() * hidden;
        let bound = 1.0 / (hidden.max(1) as f64).sqrt();
        let mut make = |shape: &[usize]| -> candle_core::Result<Var> {
            let n = shape.iter().product();
            let t = Tensor::from_vec(crate::init::uniform(rng, n, bound), shape, dev)?;
            Var::from_tensor(&t)
        };
        Ok(Direction {
            w_ih: make(&[inputs, g])?,
            w_hh: make(&[hidden, g])?,
            b_ih: make(&[g])?,
            b_hh: make(&[g])?,
        })
    }

    /// The variables in checkpoint order.
    pub fn vars(&self) -> [&Var; 4] {
        [&self.w_ih, &self.w_hh, &self.b_ih, &self.b_hh]
    }

    fn hidden(&self) -> candle_core::Result<usize> {
        self.w_hh.as_tensor().dim(0)
    }
}

/// Runs one direction over the steps `xs` (each `[batch, inputs]`, in time order) from zero
/// states. Returns the outputs (each `[batch, hidden]`, in time order) when `outputs` is asked
/// (the input of a next layer), and the final hidden state `[batch, hidden]` (the state after
/// the last step processed: the last step forwards, the first step backwards).
///
/// Each step projects its own input (`x_t W_ih`) rather than slicing one projection of all
/// steps: in candle's autograd, a slice's gradient is a zero-padded tensor of the whole, so
/// slicing `T` steps out of one `[T, batch, gates]` block costs `T` full-size gradients — time
/// quadratic in the sequence length — where per-step products cost `T` small ones.
pub fn run_direction(
    kind: CellKind,
    d: &Direction,
    xs: &[Tensor],
    reverse: bool,
    outputs: bool,
) -> candle_core::Result<(Vec<Tensor>, Tensor)> {
    // The fused element-wise kernels run on the CPU in f32/f64; other devices and precisions
    // compose tensor operations.
    let fused = xs.first().is_some_and(crate::kernels::native);
    run_direction_with(kind, d, xs, reverse, outputs, fused)
}

/// [`run_direction`] with the choice of kernels: `fused` (CPU only) or composed tensor
/// operations (any device; what the fused kernels are tested against).
pub fn run_direction_with(
    kind: CellKind,
    d: &Direction,
    xs: &[Tensor],
    reverse: bool,
    outputs: bool,
    fused: bool,
) -> candle_core::Result<(Vec<Tensor>, Tensor)> {
    let t = xs.len();
    let Some(first) = xs.first() else {
        candle_core::bail!("a recurrent layer needs at least one step");
    };
    let b = first.dim(0)?;
    let h_size = d.hidden()?;
    // b_ih (and, for the LSTM, b_hh) folded into the input projection.
    let bias = match kind {
        CellKind::Lstm => d.b_ih.as_tensor().add(d.b_hh.as_tensor())?,
        CellKind::Gru => d.b_ih.as_tensor().clone(),
    };
    let mut h = Tensor::zeros((b, h_size), first.dtype(), first.device())?;
    // The LSTM's cell state (unused by the GRU).
    let mut c = h.clone();
    let mut outs = Vec::with_capacity(if outputs { t } else { 0 });
    let (w_ih, w_hh) = (d.w_ih.as_tensor(), d.w_hh.as_tensor());
    for step in 0..t {
        let s = if reverse { t - 1 - step } else { step };
        if fused && kind == CellKind::Lstm {
            // The biases join inside the fused operation.
            (h, c) = super::fused::lstm_cell(&xs[s].matmul(w_ih)?, &h.matmul(w_hh)?, &bias, &c)?;
            if outputs {
                outs.push(h.clone());
            }
            continue;
        }
        let xp = xs[s].matmul(w_ih)?.broadcast_add(&bias)?;
        match kind {
            CellKind::Lstm => {
                let gates = xp.add(&h.matmul(w_hh)?)?;
                // i and f side by side, then g, then o.
                let ifo = candle_nn::ops::sigmoid(&gates)?;
                let i_g = ifo.narrow(1, 0, h_size)?;
                let f_g = ifo.narrow(1, h_size, h_size)?;
                let o_g = ifo.narrow(1, 3 * h_size, h_size)?;
                let g_g = gates.narrow(1, 2 * h_size, h_size)?.tanh()?;
                c = f_g.mul(&c)?.add(&i_g.mul(&g_g)?)?;
                h = o_g.mul(&c.tanh()?)?;
            }
            CellKind::Gru if fused => {
                let hp = h.matmul(w_hh)?.broadcast_add(d.b_hh.as_tensor())?;
                h = super::fused::gru_cell(&xp, &hp, &h)?;
            }
            CellKind::Gru => {
                let hp = h.matmul(w_hh)?.broadcast_add(d.b_hh.as_tensor())?;
                let rz = candle_nn::ops::sigmoid(
                    &xp.narrow(1, 0, 2 * h_size)?
                        .add(&hp.narrow(1, 0, 2 * h_size)?)?,
                )?;
                let r = rz.narrow(1, 0, h_size)?;
                let z = rz.narrow(1, h_size, h_size)?;
                let n = xp
                    .narrow(1, 2 * h_size, h_size)?
                    .add(&r.mul(&hp.narrow(1, 2 * h_size, h_size)?)?)?
                    .tanh()?;
                // h' = n + z ⊙ (h − n)
                h = n.add(&z.mul(&h.sub(&n)?)?)?;
            }
        }
        if outputs {
            outs.push(h.clone());
        }
    }
    if reverse {
        outs.reverse();
    }
    Ok((outs, h))
}

/// The steps of `x: [batch, steps, inputs]`, each `[batch, inputs]` (contiguous).
fn steps_of(x: &Tensor) -> candle_core::Result<Vec<Tensor>> {
    let xt = x.transpose(0, 1)?.contiguous()?;
    (0..xt.dim(0)?).map(|s| xt.get(s)).collect()
}

/// The shape of a [`Recurrent`] stack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentSpec {
    /// LSTM or GRU.
    pub kind: CellKind,
    /// Input channels of the first layer.
    pub inputs: usize,
    /// Hidden units per direction.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Both directions in every layer.
    pub bidirectional: bool,
    /// Dropout between layers.
    pub dropout: f64,
}

/// A stack of recurrent layers, each one or two directions.
#[derive(Debug)]
pub struct Recurrent {
    /// LSTM or GRU.
    pub kind: CellKind,
    /// Per layer: the forward direction and, when bidirectional, the backward one.
    pub layers: Vec<Vec<Direction>>,
    /// Dropout on the outputs of every layer but the last (PyTorch's `dropout`).
    pub dropout: f64,
}

impl Recurrent {
    /// A freshly initialised stack (see [`RecurrentSpec`]); a layer above the first takes
    /// `hidden` (or `2 · hidden` when bidirectional) inputs.
    pub fn new(
        spec: &RecurrentSpec,
        rng: &mut Rng,
        dev: &Device,
    ) -> candle_core::Result<Recurrent> {
        let dirs = if spec.bidirectional { 2 } else { 1 };
        let mut out = Vec::with_capacity(spec.layers);
        for l in 0..spec.layers {
            let fan_in = if l == 0 {
                spec.inputs
            } else {
                spec.hidden * dirs
            };
            let mut layer = Vec::with_capacity(dirs);
            for _ in 0..dirs {
                layer.push(Direction::new(spec.kind, fan_in, spec.hidden, rng, dev)?);
            }
            out.push(layer);
        }
        Ok(Recurrent {
            kind: spec.kind,
            layers: out,
            dropout: spec.dropout,
        })
    }

    /// Hidden units per direction.
    pub fn hidden(&self) -> candle_core::Result<usize> {
        match self.layers.first().and_then(|l| l.first()) {
            Some(d) => d.hidden(),
            None => Ok(0),
        }
    }

    /// Whether each layer runs both ways.
    pub fn bidirectional(&self) -> bool {
        self.layers.first().is_some_and(|l| l.len() == 2)
    }

    /// Width of [`Recurrent::forward`]'s result: hidden units times directions.
    pub fn output_width(&self) -> candle_core::Result<usize> {
        Ok(self.hidden()? * if self.bidirectional() { 2 } else { 1 })
    }

    /// The variables, layer by layer, forward direction first.
    pub fn vars(&self) -> Vec<Var> {
        self.layers
            .iter()
            .flatten()
            .flat_map(|d| d.vars().into_iter().cloned())
            .collect()
    }

    /// The last layer's final hidden states for `x: [batch, steps, inputs]`: `[batch, hidden]`,
    /// or `[batch, 2 · hidden]` (forward then backward, PyTorch's `h_n` of the last layer)
    /// when bidirectional. `train` turns on dropout between layers, drawn from `rng`.
    pub fn forward(&self, x: &Tensor, train: bool, rng: &mut Rng) -> candle_core::Result<Tensor> {
        let (_, mut finals) =
            self.run(x, false, train.then_some(rng), crate::kernels::native(x))?;
        if finals.len() == 1 {
            Ok(finals.remove(0))
        } else {
            Tensor::cat(&finals, 1)
        }
    }

    /// Every output of the last layer `[batch, steps, hidden · directions]` (for fixtures and
    /// sequence-to-sequence use), without dropout.
    pub fn forward_sequence(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (steps, _) = self.run(x, true, None, crate::kernels::native(x))?;
        Tensor::stack(&steps, 1)
    }

    /// [`Recurrent::forward_sequence`] through composed tensor operations, not the fused CPU
    /// kernels (what other devices run; tests compare the two).
    pub fn forward_sequence_unfused(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (steps, _) = self.run(x, true, None, false)?;
        Tensor::stack(&steps, 1)
    }

    /// The layers over `x`: the last layer's per-step outputs (when `last_outputs`) and its
    /// final states per direction; dropout between layers when `dropout` has a stream.
    fn run(
        &self,
        x: &Tensor,
        last_outputs: bool,
        mut dropout: Option<&mut Rng>,
        fused: bool,
    ) -> candle_core::Result<(Vec<Tensor>, Vec<Tensor>)> {
        if fused && self.kind == CellKind::Lstm && crate::kernels::native(x) {
            return self.run_sequences(x, last_outputs, dropout);
        }
        let mut input = steps_of(x)?;
        let last = self.layers.len().saturating_sub(1);
        let mut finals = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            let want = l < last || last_outputs;
            let mut per_dir = Vec::with_capacity(layer.len());
            finals.clear();
            for (k, d) in layer.iter().enumerate() {
                let (outs, h) = run_direction_with(self.kind, d, &input, k == 1, want, fused)?;
                per_dir.push(outs);
                finals.push(h);
            }
            if !want {
                continue;
            }
            input = if per_dir.len() == 1 {
                per_dir.remove(0)
            } else {
                per_dir[0]
                    .iter()
                    .zip(&per_dir[1])
                    .map(|(f, b)| Tensor::cat(&[f, b], 1))
                    .collect::<candle_core::Result<Vec<_>>>()?
            };
            if l < last
                && self.dropout > 0.0
                && let Some(rng) = dropout.as_deref_mut()
            {
                input = input
                    .iter()
                    .map(|t| crate::mlp::net::dropout(t, self.dropout, rng))
                    .collect::<candle_core::Result<Vec<_>>>()?;
            }
        }
        Ok((input, finals))
    }

    /// [`Recurrent::run`] for LSTM layers on the CPU: each direction of each layer is one node
    /// over the whole sequence ([`super::sequence::lstm_sequence`]); layers pass `[T, B, H]`
    /// tensors, not step lists.
    fn run_sequences(
        &self,
        x: &Tensor,
        last_outputs: bool,
        mut dropout: Option<&mut Rng>,
    ) -> candle_core::Result<(Vec<Tensor>, Vec<Tensor>)> {
        let mut input = x.transpose(0, 1)?.contiguous()?;
        let t = input.dim(0)?;
        if t == 0 {
            candle_core::bail!("a recurrent layer needs at least one step");
        }
        let last = self.layers.len().saturating_sub(1);
        let mut finals = Vec::new();
        for (l, layer) in self.layers.iter().enumerate() {
            finals.clear();
            let mut outs = Vec::with_capacity(layer.len());
            for (k, d) in layer.iter().enumerate() {
                let weights = [&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh].map(|v| v.as_tensor());
                let all = super::sequence::lstm_sequence(&input, weights, k == 1)?;
                // The state after the last step processed: the last step forwards, the first
                // backwards.
                finals.push(all.get(if k == 1 { 0 } else { t - 1 })?);
                outs.push(all);
            }
            if l == last && !last_outputs {
                break;
            }
            input = if outs.len() == 1 {
                outs.remove(0)
            } else {
                Tensor::cat(&outs, 2)?
            };
            if l < last
                && self.dropout > 0.0
                && let Some(rng) = dropout.as_deref_mut()
            {
                // The same draws, in the same order, as step by step.
                input = crate::mlp::net::dropout(&input, self.dropout, rng)?;
            }
        }
        let steps = if last_outputs {
            (0..t)
                .map(|s| input.get(s))
                .collect::<candle_core::Result<_>>()?
        } else {
            Vec::new()
        };
        Ok((steps, finals))
    }

    /// The same layers with every variable converted to `dtype` (new variables).
    pub fn to_dtype(&self, dtype: DType) -> candle_core::Result<Recurrent> {
        let conv = |v: &Var| crate::train::precision::converted(v, dtype);
        let layers = self
            .layers
            .iter()
            .map(|layer| {
                layer
                    .iter()
                    .map(|d| {
                        Ok(Direction {
                            w_ih: conv(&d.w_ih)?,
                            w_hh: conv(&d.w_hh)?,
                            b_ih: conv(&d.b_ih)?,
                            b_hh: conv(&d.b_hh)?,
                        })
                    })
                    .collect::<candle_core::Result<Vec<_>>>()
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Recurrent {
            kind: self.kind,
            layers,
            dropout: self.dropout,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::max_diff;
    use candle_core::{DType, Device, Tensor, Var};
    use smelt_core::rng::Rng;

    use super::super::sequence::lstm_sequence;
    use super::*;

    /// The sequence node (`sequence.rs`) against the step-by-step composed operations (what other devices
    /// run, itself checked against finite differences), in f64: every hidden state, and the
    /// gradients of the input and the four weights, over two blocks of rows, one way and the
    /// other, with few inputs (loops) and many (GEMMs).
    #[test]
    fn the_sequence_node_equals_the_step_by_step_lstm() {
        let dev = Device::Cpu;
        let mut rng = Rng::new(21);
        let (t, b, h) = (6, 40, 5);
        for c in [3, 11] {
            let d = Direction::new(CellKind::Lstm, c, h, &mut rng, &dev).expect("direction");
            let f64v = |v: &Var| Var::from_tensor(&v.as_tensor().to_dtype(DType::F64).unwrap());
            let d = Direction {
                w_ih: f64v(&d.w_ih).unwrap(),
                w_hh: f64v(&d.w_hh).unwrap(),
                b_ih: f64v(&d.b_ih).unwrap(),
                b_hh: f64v(&d.b_hh).unwrap(),
            };
            let xv: Vec<f64> = (0..t * b * c).map(|_| rng.normal()).collect();
            let x = Var::from_vec(xv, (t, b, c), &dev).expect("x");
            let r: Vec<f64> = (0..t * b * h).map(|_| rng.normal()).collect();
            let r = Tensor::from_vec(r, (t, b, h), &dev).expect("r");
            for reverse in [false, true] {
                let weights = [&d.w_ih, &d.w_hh, &d.b_ih, &d.b_hh].map(|v| v.as_tensor());
                let got = lstm_sequence(&x, weights, reverse).expect("sequence");
                let steps: Vec<Tensor> = (0..t).map(|s| x.get(s).unwrap()).collect();
                let (outs, last) =
                    run_direction_with(CellKind::Lstm, &d, &steps, reverse, true, false)
                        .expect("steps");
                let want = Tensor::stack(&outs, 0).expect("stack");
                assert!(
                    max_diff(&got, &want) < 1e-12,
                    "c {c} reverse {reverse}: states"
                );
                let end = if reverse { 0 } else { t - 1 };
                assert!(max_diff(&got.get(end).unwrap(), &last) < 1e-12);
                let g1 = (got * &r)
                    .and_then(|v| v.sum_all()?.backward())
                    .expect("bwd");
                let g2 = (want * &r)
                    .and_then(|v| v.sum_all()?.backward())
                    .expect("bwd");
                for (name, v) in [
                    ("x", &x),
                    ("w_ih", &d.w_ih),
                    ("w_hh", &d.w_hh),
                    ("b_ih", &d.b_ih),
                    ("b_hh", &d.b_hh),
                ] {
                    let diff = max_diff(g1.get(v).expect("grad"), g2.get(v).expect("grad"));
                    assert!(
                        diff < 1e-10,
                        "c {c} reverse {reverse}: d{name} off by {diff}"
                    );
                }
            }
        }
    }
}
