//! The feed-forward network: category embeddings concatenated with the dense inputs, then
//! `Linear → activation → dropout` blocks and a linear output layer.

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use smelt_core::rng::Rng;

use crate::kernels::{Act, linear};
use crate::train::Network;

/// A hidden layer's non-linearity.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// max(0, x).
    #[default]
    Relu,
    /// tanh(x).
    Tanh,
    /// GELU (erf form).
    Gelu,
    /// The logistic sigmoid (scikit-learn's `logistic`).
    Logistic,
}

/// The network's layout and weights.
#[derive(Debug)]
pub struct Net {
    /// One embedding table per categorical input, `[categories + 1, width]`.
    pub embeddings: Vec<Var>,
    /// Linear layers: weight `[in, out]` (so a batch multiplies without a transpose) and bias
    /// `[out]`; the last is the output layer.
    pub layers: Vec<(Var, Var)>,
    /// Hidden activation.
    pub activation: Activation,
    /// Dropout probability after each hidden activation.
    pub dropout: f64,
}

/// The shape of a [`Net`].
#[derive(Clone, Debug, PartialEq)]
pub struct NetSpec {
    /// Width of the dense inputs.
    pub dense: usize,
    /// Per categorical input: embedding rows (categories + 1) and width.
    pub embeddings: Vec<(usize, usize)>,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Outputs (classes, or 1).
    pub outputs: usize,
    /// Hidden activation.
    pub activation: Activation,
    /// Dropout after each hidden activation.
    pub dropout: f64,
}

impl Net {
    /// A freshly initialised network, as PyTorch initialises `nn.Linear`
    /// (`U(-1/√fan_in, 1/√fan_in)` for weights and biases) and `nn.Embedding` (`N(0, 1)`).
    pub fn new(spec: &NetSpec, seed: u64, device: &Device) -> candle_core::Result<Net> {
        let NetSpec {
            dense,
            embeddings,
            hidden,
            outputs,
            activation,
            dropout,
        } = spec;
        let (dense, outputs, activation, dropout) = (*dense, *outputs, *activation, *dropout);
        let mut rng = Rng::new(seed);
        let mut emb = Vec::with_capacity(embeddings.len());
        for &(rows, width) in embeddings.iter() {
            let v: Vec<f32> = (0..rows * width).map(|_| rng.normal() as f32).collect();
            emb.push(Var::from_tensor(&Tensor::from_vec(
                v,
                (rows, width),
                device,
            )?)?);
        }
        let mut fan_in = dense + embeddings.iter().map(|e| e.1).sum::<usize>();
        let mut layers = Vec::new();
        for &out in hidden.iter().chain(std::iter::once(&outputs)) {
            layers.push(crate::init::linear(fan_in, out, &mut rng, device)?);
            fan_in = out;
        }
        Ok(Net {
            embeddings: emb,
            layers,
            activation,
            dropout,
        })
    }

    fn activate(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        match self.activation {
            Activation::Relu => x.relu(),
            Activation::Tanh => x.tanh(),
            Activation::Gelu => x.gelu_erf(),
            Activation::Logistic => candle_nn::ops::sigmoid(x),
        }
    }
}

/// Inverted dropout: zero each value with probability `p`, scale the rest by `1/(1-p)`; the
/// mask is drawn from `rng` (seeded, so fits are reproducible).
pub fn dropout(x: &Tensor, p: f64, rng: &mut Rng) -> candle_core::Result<Tensor> {
    if p <= 0.0 {
        return Ok(x.clone());
    }
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let mask: Vec<f32> = (0..x.elem_count())
        .map(|_| if rng.uniform() < keep { scale } else { 0.0 })
        .collect();
    let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
    x * mask
}

impl Network for Net {
    fn vars(&self) -> Vec<Var> {
        let mut v = self.embeddings.clone();
        for (w, b) in &self.layers {
            v.push(w.clone());
            v.push(b.clone());
        }
        v
    }

    /// `inputs[0]`: dense `[rows, dense]` f32; `inputs[1]`: codes `[rows, categorical]` u32
    /// (absent without categorical inputs).
    fn forward(
        &self,
        inputs: &[Tensor],
        train: bool,
        rng: &mut Rng,
    ) -> candle_core::Result<Tensor> {
        let mut parts = Vec::with_capacity(1 + self.embeddings.len());
        if inputs[0].dim(1)? > 0 {
            parts.push(inputs[0].clone());
        }
        if let Some(codes) = inputs.get(1) {
            for (j, e) in self.embeddings.iter().enumerate() {
                let idx = codes.narrow(1, j, 1)?.squeeze(1)?;
                parts.push(e.as_tensor().index_select(&idx, 0)?);
            }
        }
        let mut h = if parts.len() == 1 {
            parts.pop().unwrap_or_else(|| inputs[0].clone())
        } else {
            Tensor::cat(&parts, 1)?
        };
        let last = self.layers.len() - 1;
        for (i, (w, b)) in self.layers.iter().enumerate() {
            // One fused node per layer (kernels::linear); GELU is applied after it.
            let act = match self.activation {
                _ if i == last => Act::Identity,
                Activation::Relu => Act::Relu,
                Activation::Tanh => Act::Tanh,
                Activation::Logistic => Act::Sigmoid,
                Activation::Gelu => Act::Identity,
            };
            h = linear(&h, w.as_tensor(), b.as_tensor(), act)?;
            if i < last {
                if self.activation == Activation::Gelu {
                    h = self.activate(&h)?;
                }
                if train {
                    h = dropout(&h, self.dropout, rng)?;
                }
            }
        }
        Ok(h)
    }
}

/// The weights as named f32 arrays (shape, values), in [`Network::vars`] order.
pub fn weights(net: &Net) -> candle_core::Result<Vec<(Vec<usize>, Vec<f32>)>> {
    net.vars()
        .iter()
        .map(|v| {
            let t = v.as_tensor().to_dtype(DType::F32)?;
            Ok((t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?))
        })
        .collect()
}
