//! The feed-forward network: category embeddings concatenated with the dense inputs, then
//! `Linear → activation → dropout` blocks and a linear output layer.
//!
//! The linear layers' weights live in one flat vector ([`Net::params`]) and, on the CPU, the
//! whole stack runs as one autograd node ([`crate::kernels::mlp`]); GELU networks and other
//! devices run layer by layer on views of that vector.

use candle_core::{DType, Device, Tensor, Var};
use serde::{Deserialize, Serialize};
use smelt_core::rng::Rng;

use crate::kernels::{Act, Dropout, Layers, linear, mlp, native};
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
    /// Every linear layer's weight `[in, out]` (row-major, so a batch multiplies without a
    /// transpose) and then its bias `[out]`, layer after layer, in one vector; the last layer is
    /// the output layer.
    pub params: Var,
    /// The linear layers' `(in, out)` widths (where each one's weights sit in `params`).
    pub layers: Layers,
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
            let (w, b) = crate::init::linear(fan_in, out, &mut rng, device)?;
            layers.push((w.as_tensor().clone(), b.as_tensor().clone()));
            fan_in = out;
        }
        Net::from_layers(emb, &layers, activation, dropout)
    }

    /// A network from its embedding tables and its linear layers' weights `[in, out]` and biases
    /// `[out]` (each layer's input as wide as the previous one's output).
    pub fn from_layers(
        embeddings: Vec<Var>,
        layers: &[(Tensor, Tensor)],
        activation: Activation,
        dropout: f64,
    ) -> candle_core::Result<Net> {
        let mut widths = Vec::with_capacity(layers.len());
        let mut flat = Vec::with_capacity(2 * layers.len());
        for (l, (w, b)) in layers.iter().enumerate() {
            let (i, o) = w.dims2()?;
            if b.dims1()? != o || widths.last().is_some_and(|&(_, prev)| prev != i) {
                candle_core::bail!(
                    "linear layer {l}: weight {:?} and bias {:?} do not follow the layer before",
                    w.shape(),
                    b.shape()
                )
            }
            widths.push((i, o));
            flat.push(w.flatten_all()?);
            flat.push(b.clone());
        }
        if flat.is_empty() {
            candle_core::bail!("a network needs at least one linear layer")
        }
        Ok(Net {
            embeddings,
            params: Var::from_tensor(&Tensor::cat(&flat, 0)?)?,
            layers: Layers(widths),
            activation,
            dropout,
        })
    }

    /// Linear layer `l`'s weight `[in, out]` and bias `[out]`: views of [`Net::params`].
    pub fn layer(&self, l: usize) -> candle_core::Result<(Tensor, Tensor)> {
        let (i, o) = self.layers.0[l];
        let off = self.layers.offset(l);
        let p = self.params.as_tensor();
        Ok((
            p.narrow(0, off, i * o)?.reshape((i, o))?,
            p.narrow(0, off + i * o, o)?,
        ))
    }

    /// The same network with every weight in `dtype`.
    pub fn to_dtype(&self, dtype: DType) -> candle_core::Result<Net> {
        let conv = |v: &Var| crate::train::precision::converted(v, dtype);
        Ok(Net {
            embeddings: self
                .embeddings
                .iter()
                .map(conv)
                .collect::<candle_core::Result<_>>()?,
            params: conv(&self.params)?,
            layers: self.layers.clone(),
            activation: self.activation,
            dropout: self.dropout,
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
    fn with_dtype(&self, dtype: DType) -> candle_core::Result<Option<Box<dyn Network>>> {
        Ok(Some(Box::new(self.to_dtype(dtype)?)))
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = self.embeddings.clone();
        v.push(self.params.clone());
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
        let params = self.params.as_tensor();
        let hidden = match self.activation {
            Activation::Relu => Some(Act::Relu),
            Activation::Tanh => Some(Act::Tanh),
            Activation::Logistic => Some(Act::Sigmoid),
            Activation::Gelu => None,
        };
        if let Some(act) = hidden
            && native(&h)
            && h.dtype() == params.dtype()
        {
            // The whole stack as one node (kernels::mlp).
            let dropout = Dropout {
                p: if train { self.dropout } else { 0.0 },
                seed: if train && self.dropout > 0.0 {
                    rng.next_u64()
                } else {
                    0
                },
            };
            return mlp(&h, params, &self.layers, act, dropout, train);
        }
        let last = self.layers.0.len() - 1;
        for i in 0..=last {
            let (w, b) = self.layer(i)?;
            // One fused node per layer (kernels::linear); GELU is applied after it.
            let act = match self.activation {
                _ if i == last => Act::Identity,
                Activation::Relu => Act::Relu,
                Activation::Tanh => Act::Tanh,
                Activation::Logistic => Act::Sigmoid,
                Activation::Gelu => Act::Identity,
            };
            h = linear(&h, &w, &b, act)?;
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

/// The weights as f32 arrays (shape, values): the embedding tables, then each linear layer's
/// weight and bias.
pub fn weights(net: &Net) -> candle_core::Result<Vec<(Vec<usize>, Vec<f32>)>> {
    let mut tensors: Vec<Tensor> = net
        .embeddings
        .iter()
        .map(|v| v.as_tensor().clone())
        .collect();
    for l in 0..net.layers.0.len() {
        let (w, b) = net.layer(l)?;
        tensors.push(w);
        tensors.push(b);
    }
    tensors
        .iter()
        .map(|t| {
            let t = t.to_dtype(DType::F32)?;
            Ok((t.dims().to_vec(), t.flatten_all()?.to_vec1::<f32>()?))
        })
        .collect()
}
