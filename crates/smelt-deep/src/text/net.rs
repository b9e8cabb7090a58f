//! A trainable BERT-style encoder with a classification head: the network of both text
//! classifiers (trained from scratch, or fine-tuned from a pretrained sentence encoder).
//!
//! ```text
//! h⁰ = LayerNorm(E_word[t] + E_pos[i] + E_type[0])                        (dropout)
//! per layer:  a = LayerNorm(h + Attention(h) W_o + b_o)                    (post-norm, as BERT)
//!             h = LayerNorm(a + gelu(a W_1 + b_1) W_2 + b_2)
//! pooled = mean of h over the real (non-padding) tokens          (sentence-transformers' pooling)
//! logits = dropout(pooled) W_c + b_c
//! ```
//!
//! Batches are padded to their longest sequence with an additive mask over the padding keys.
//! Every operation is a differentiable candle op (LayerNorm and softmax composed from
//! primitives: candle-nn's fused `layer_norm` and `softmax_last_dim` have no backward pass).
//!
//! Fine-tuning either trains every weight or, with LoRA (Hu et al. 2021), freezes them and
//! trains a rank-`r` update `ΔW = A B · α/r` of the query and value projections (A random,
//! B zero, so training starts from the pretrained function). Saving merges the update into
//! the weights, so a saved model is a plain encoder whatever way it was trained.

use std::collections::HashMap;

use candle_core::{D, DType, Device, Tensor, Var};
use smelt_core::rng::Rng;

use crate::encoder::config::{Activation, BertConfig};
use crate::mlp::net::dropout;
use crate::train::Network;
use crate::train::precision::converted;

/// A linear layer, weight stored `[in, out]`, with an optional LoRA update.
#[derive(Debug)]
struct Linear {
    w: Var,
    b: Var,
    lora: Option<Lora>,
}

#[derive(Debug)]
struct Lora {
    a: Var,
    b: Var,
    scale: f64,
}

/// A LayerNorm's scale and shift.
#[derive(Debug)]
struct Norm {
    w: Var,
    b: Var,
}

#[derive(Debug)]
struct Layer {
    q: Linear,
    k: Linear,
    v: Linear,
    o: Linear,
    n1: Norm,
    f1: Linear,
    f2: Linear,
    n2: Norm,
}

/// How the weights are trained.
#[derive(Clone, Copy, Debug, PartialEq)]
#[allow(
    dead_code,
    reason = "documents the two ways of training; TextNet::add_lora switches"
)]
pub enum Tuning {
    /// Every weight.
    Full,
    /// LoRA adapters of rank `rank` on the query and value projections (scale `alpha/rank`),
    /// plus the classification head; the encoder's weights are frozen.
    Lora {
        /// Rank of the update.
        rank: usize,
        /// The update's scale numerator.
        alpha: f64,
    },
}

/// The encoder and its classification head.
#[derive(Debug)]
pub struct TextNet {
    cfg: BertConfig,
    word: Var,
    position: Var,
    token_type: Var,
    emb_norm: Norm,
    layers: Vec<Layer>,
    head: Linear,
    /// Dropout on embeddings, sub-layer outputs and the pooled vector.
    pub dropout: f64,
    frozen: bool,
}

/// Where and in which precision the weights live.
#[derive(Clone, Copy)]
struct Place<'a> {
    dev: &'a Device,
    dtype: DType,
}

impl Place<'_> {
    /// `N(0, std²)` values of `shape`.
    fn normal(self, shape: (usize, usize), std: f64, rng: &mut Rng) -> candle_core::Result<Var> {
        let v: Vec<f64> = (0..shape.0 * shape.1).map(|_| rng.normal() * std).collect();
        Var::from_tensor(&Tensor::from_vec(v, shape, self.dev)?.to_dtype(self.dtype)?)
    }

    fn zeros(self, n: usize) -> candle_core::Result<Var> {
        Var::from_tensor(&Tensor::zeros(n, self.dtype, self.dev)?)
    }

    fn ones(self, n: usize) -> candle_core::Result<Var> {
        Var::from_tensor(&Tensor::ones(n, self.dtype, self.dev)?)
    }
}

impl Linear {
    /// BERT's initialisation: weights `N(0, 0.02²)`, biases zero.
    fn init(
        input: usize,
        output: usize,
        rng: &mut Rng,
        at: Place<'_>,
    ) -> candle_core::Result<Linear> {
        Ok(Linear {
            w: at.normal((input, output), 0.02, rng)?,
            b: at.zeros(output)?,
            lora: None,
        })
    }

    fn forward(&self, x: &Tensor, frozen: bool) -> candle_core::Result<Tensor> {
        let (w, b) = if frozen {
            (self.w.as_tensor().detach(), self.b.as_tensor().detach())
        } else {
            (self.w.as_tensor().clone(), self.b.as_tensor().clone())
        };
        let y = x.matmul(&w)?.broadcast_add(&b)?;
        match &self.lora {
            None => Ok(y),
            Some(l) => y + (x.matmul(l.a.as_tensor())?.matmul(l.b.as_tensor())? * l.scale)?,
        }
    }

    /// The weight with any LoRA update merged in.
    fn merged_weight(&self) -> candle_core::Result<Tensor> {
        match &self.lora {
            None => Ok(self.w.as_tensor().clone()),
            Some(l) => self.w.as_tensor() + (l.a.as_tensor().matmul(l.b.as_tensor())? * l.scale)?,
        }
    }
}

impl Norm {
    fn forward(&self, x: &Tensor, eps: f64, frozen: bool) -> candle_core::Result<Tensor> {
        let (w, b) = if frozen {
            (self.w.as_tensor().detach(), self.b.as_tensor().detach())
        } else {
            (self.w.as_tensor().clone(), self.b.as_tensor().clone())
        };
        let mu = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mu)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        let y = xc.broadcast_div(&(var + eps)?.sqrt()?)?;
        y.broadcast_mul(&w)?.broadcast_add(&b)
    }
}

/// Activation values one sequence of `len` tokens keeps for the backward pass (the memory
/// check's estimate): embeddings, then per layer the projections, the attention scores and
/// probabilities (`heads × len²`), the feed-forward and the norms.
pub fn floats_per_row(cfg: &BertConfig, len: usize) -> u64 {
    let (l, h) = (len as u64, cfg.hidden_size as u64);
    let (i, heads) = (cfg.intermediate_size as u64, cfg.num_attention_heads as u64);
    let per_layer = l * (14 * h + 2 * i) + 3 * heads * l * l;
    5 * l * h + cfg.num_hidden_layers as u64 * per_layer + h
}

/// Trained values of a network of shape `cfg` with `classes` outputs.
pub fn weight_count(cfg: &BertConfig, classes: usize) -> u64 {
    let h = cfg.hidden_size as u64;
    let i = cfg.intermediate_size as u64;
    let emb = (cfg.vocab_size + cfg.max_position_embeddings + cfg.type_vocab_size) as u64 * h;
    let layer = 4 * h * h + 2 * h * i + 9 * h + i;
    emb + cfg.num_hidden_layers as u64 * layer + h * classes as u64
}

/// Dimensions of the weight named `name` (vectors: biases and LayerNorm parameters).
pub fn weight_ndim(name: &str) -> usize {
    if name.ends_with(".b")
        || name.starts_with("emb_norm.")
        || name.contains(".n1.")
        || name.contains(".n2.")
    {
        1
    } else {
        2
    }
}

/// Named weights (`[in, out]` layout for linear layers) that [`TextNet::from_weights`] reads
/// and [`TextNet::weights`] writes.
pub type Weights = Vec<(String, Tensor)>;

impl TextNet {
    /// A randomly initialised network (BERT's initialisation) of shape `cfg` with `classes`
    /// outputs.
    pub fn new(
        cfg: &BertConfig,
        classes: usize,
        dropout: f64,
        seed: u64,
        dev: &Device,
    ) -> candle_core::Result<TextNet> {
        Self::new_in(cfg, classes, dropout, seed, dev, DType::F32)
    }

    /// [`TextNet::new`] with weights of type `dtype` (f64 for gradient checks).
    pub fn new_in(
        cfg: &BertConfig,
        classes: usize,
        dropout: f64,
        seed: u64,
        dev: &Device,
        dtype: DType,
    ) -> candle_core::Result<TextNet> {
        let at = Place { dev, dtype };
        let mut rng = Rng::new(seed);
        let h = cfg.hidden_size;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for _ in 0..cfg.num_hidden_layers {
            layers.push(Layer {
                q: Linear::init(h, h, &mut rng, at)?,
                k: Linear::init(h, h, &mut rng, at)?,
                v: Linear::init(h, h, &mut rng, at)?,
                o: Linear::init(h, h, &mut rng, at)?,
                n1: Norm {
                    w: at.ones(h)?,
                    b: at.zeros(h)?,
                },
                f1: Linear::init(h, cfg.intermediate_size, &mut rng, at)?,
                f2: Linear::init(cfg.intermediate_size, h, &mut rng, at)?,
                n2: Norm {
                    w: at.ones(h)?,
                    b: at.zeros(h)?,
                },
            });
        }
        Ok(TextNet {
            cfg: cfg.clone(),
            word: at.normal((cfg.vocab_size, h), 0.02, &mut rng)?,
            position: at.normal((cfg.max_position_embeddings, h), 0.02, &mut rng)?,
            token_type: at.normal((cfg.type_vocab_size.max(1), h), 0.02, &mut rng)?,
            emb_norm: Norm {
                w: at.ones(h)?,
                b: at.zeros(h)?,
            },
            layers,
            head: Linear::init(h, classes, &mut rng, at)?,
            dropout,
            frozen: false,
        })
    }

    /// The network with `weights` (names of [`TextNet::weights`]; a missing or misshapen one
    /// is an error naming it). A weight named `head.*` absent from `weights` keeps its
    /// initial value: a pretrained encoder gets a fresh head.
    pub fn from_weights(
        cfg: &BertConfig,
        classes: usize,
        dropout: f64,
        seed: u64,
        weights: HashMap<String, Tensor>,
        dev: &Device,
    ) -> Result<TextNet, String> {
        let net = TextNet::new(cfg, classes, dropout, seed, dev).map_err(|e| e.to_string())?;
        for (name, slot) in net.slots() {
            match weights.get(&name) {
                Some(t) => {
                    if t.dims() != slot.dims() {
                        return Err(format!(
                            "weight `{name}` has shape {:?}, the network expects {:?}",
                            t.dims(),
                            slot.dims()
                        ));
                    }
                    let t = t
                        .to_dtype(DType::F32)
                        .and_then(|t| t.to_device(dev))
                        .map_err(|e| e.to_string())?;
                    slot.set(&t).map_err(|e| e.to_string())?;
                }
                None if name.starts_with("head.") => {}
                None => return Err(format!("weight `{name}` is missing")),
            }
        }
        Ok(net)
    }

    /// Reads the weights of a Hugging Face BERT checkpoint (`[out, in]` linear weights, names
    /// with or without the `bert.` prefix) into this layout.
    pub fn hf_weights(
        cfg: &BertConfig,
        tensors: &HashMap<String, Tensor>,
    ) -> Result<HashMap<String, Tensor>, String> {
        let get = |name: &str| -> Result<Tensor, String> {
            tensors
                .get(name)
                .or_else(|| tensors.get(&format!("bert.{name}")))
                .cloned()
                .ok_or_else(|| format!("no tensor `{name}` in the checkpoint"))
        };
        let t = |name: &str| -> Result<Tensor, String> {
            get(name)?
                .t()
                .and_then(|t| t.contiguous())
                .map_err(|e| e.to_string())
        };
        let mut out = HashMap::new();
        out.insert("word".into(), get("embeddings.word_embeddings.weight")?);
        out.insert(
            "position".into(),
            get("embeddings.position_embeddings.weight")?,
        );
        out.insert(
            "token_type".into(),
            get("embeddings.token_type_embeddings.weight")?,
        );
        out.insert("emb_norm.w".into(), get("embeddings.LayerNorm.weight")?);
        out.insert("emb_norm.b".into(), get("embeddings.LayerNorm.bias")?);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let pairs = [
                ("q", format!("{p}.attention.self.query")),
                ("k", format!("{p}.attention.self.key")),
                ("v", format!("{p}.attention.self.value")),
                ("o", format!("{p}.attention.output.dense")),
                ("f1", format!("{p}.intermediate.dense")),
                ("f2", format!("{p}.output.dense")),
            ];
            for (ours, theirs) in pairs {
                out.insert(
                    format!("layer.{i}.{ours}.w"),
                    t(&format!("{theirs}.weight"))?,
                );
                out.insert(
                    format!("layer.{i}.{ours}.b"),
                    get(&format!("{theirs}.bias"))?,
                );
            }
            for (ours, theirs) in [
                ("n1", format!("{p}.attention.output.LayerNorm")),
                ("n2", format!("{p}.output.LayerNorm")),
            ] {
                out.insert(
                    format!("layer.{i}.{ours}.w"),
                    get(&format!("{theirs}.weight"))?,
                );
                out.insert(
                    format!("layer.{i}.{ours}.b"),
                    get(&format!("{theirs}.bias"))?,
                );
            }
        }
        Ok(out)
    }

    /// Every weight with its name, in a fixed order (LoRA factors excluded).
    fn slots(&self) -> Vec<(String, &Var)> {
        let mut out: Vec<(String, &Var)> = vec![
            ("word".into(), &self.word),
            ("position".into(), &self.position),
            ("token_type".into(), &self.token_type),
            ("emb_norm.w".into(), &self.emb_norm.w),
            ("emb_norm.b".into(), &self.emb_norm.b),
        ];
        for (i, l) in self.layers.iter().enumerate() {
            for (n, lin) in [
                ("q", &l.q),
                ("k", &l.k),
                ("v", &l.v),
                ("o", &l.o),
                ("f1", &l.f1),
                ("f2", &l.f2),
            ] {
                out.push((format!("layer.{i}.{n}.w"), &lin.w));
                out.push((format!("layer.{i}.{n}.b"), &lin.b));
            }
            for (n, norm) in [("n1", &l.n1), ("n2", &l.n2)] {
                out.push((format!("layer.{i}.{n}.w"), &norm.w));
                out.push((format!("layer.{i}.{n}.b"), &norm.b));
            }
        }
        out.push(("head.w".into(), &self.head.w));
        out.push(("head.b".into(), &self.head.b));
        out
    }

    /// Switches to LoRA fine-tuning: the encoder's weights frozen, rank-`rank` adapters on the
    /// query and value projections (A Kaiming-uniform as PEFT draws it, B zero), the head
    /// trained.
    pub fn add_lora(&mut self, rank: usize, alpha: f64, seed: u64) -> candle_core::Result<()> {
        let mut rng = Rng::new(seed ^ 0x10A_AD4F);
        let h = self.cfg.hidden_size;
        let dev = self.word.device().clone();
        let dtype = self.word.dtype();
        // PEFT's initialisation: A as `nn.Linear(h, rank)`'s weight (Kaiming-uniform,
        // U(-1/√h, 1/√h)), B zero.
        let bound = 1.0 / (h as f64).sqrt();
        for l in &mut self.layers {
            for lin in [&mut l.q, &mut l.v] {
                let a: Vec<f64> = (0..h * rank)
                    .map(|_| (rng.uniform() * 2.0 - 1.0) * bound)
                    .collect();
                lin.lora = Some(Lora {
                    a: Var::from_tensor(&Tensor::from_vec(a, (h, rank), &dev)?.to_dtype(dtype)?)?,
                    b: Var::from_tensor(&Tensor::zeros((rank, h), dtype, &dev)?)?,
                    scale: alpha / rank as f64,
                });
            }
        }
        self.frozen = true;
        Ok(())
    }

    /// The weights by name, LoRA updates merged (what a model file stores).
    pub fn weights(&self) -> candle_core::Result<Weights> {
        let mut merged: HashMap<String, Tensor> = HashMap::new();
        for (i, l) in self.layers.iter().enumerate() {
            merged.insert(format!("layer.{i}.q.w"), l.q.merged_weight()?);
            merged.insert(format!("layer.{i}.v.w"), l.v.merged_weight()?);
        }
        Ok(self
            .slots()
            .into_iter()
            .map(|(name, v)| {
                let t = merged
                    .remove(&name)
                    .unwrap_or_else(|| v.as_tensor().clone());
                (name, t)
            })
            .collect())
    }

    /// The encoder's shapes.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// Mean-pooled final hidden states `[batch, hidden]` of `ids` `[batch, len]` (u32) with
    /// `mask` `[batch, len]` (f32, 1 for a real token, 0 for padding).
    pub fn encode(
        &self,
        ids: &Tensor,
        mask: &Tensor,
        train: bool,
        rng: &mut Rng,
    ) -> candle_core::Result<Tensor> {
        let (b, l) = ids.dims2()?;
        let h = self.cfg.hidden_size;
        let heads = self.cfg.num_attention_heads;
        let d = h / heads;
        let eps = self.cfg.layer_norm_eps;
        let fz = self.frozen;
        let p = |v: &Var| {
            if fz {
                v.as_tensor().detach()
            } else {
                v.as_tensor().clone()
            }
        };
        let drop = |x: Tensor, rng: &mut Rng| -> candle_core::Result<Tensor> {
            if train && self.dropout > 0.0 {
                dropout(&x, self.dropout, rng)
            } else {
                Ok(x)
            }
        };
        let word = p(&self.word).index_select(&ids.flatten_all()?, 0)?;
        let pos = p(&self.position).narrow(0, 0, l)?;
        let typ = p(&self.token_type).narrow(0, 0, 1)?;
        let x = word
            .reshape((b, l, h))?
            .broadcast_add(&pos)?
            .broadcast_add(&typ)?
            .reshape((b * l, h))?;
        let mut x = drop(self.emb_norm.forward(&x, eps, fz)?, rng)?;
        // 0 over real keys, -10⁴ over padding (exp underflows to 0, no NaN for f32).
        let mask = mask.to_dtype(x.dtype())?;
        let key_bias = ((&mask - 1.0)? * 1e4)?.reshape((b, 1, 1, l))?;
        let scale = 1.0 / (d as f64).sqrt();
        for layer in &self.layers {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((b, l, heads, d))?.transpose(1, 2)?.contiguous()
            };
            let q = split((layer.q.forward(&x, fz)? * scale)?)?;
            let k = split(layer.k.forward(&x, fz)?)?;
            let v = split(layer.v.forward(&x, fz)?)?;
            let scores = q.matmul(&k.t()?.contiguous()?)?.broadcast_add(&key_bias)?;
            let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * l, h))?;
            let attn = drop(layer.o.forward(&ctx, fz)?, rng)?;
            let a = layer.n1.forward(&(attn + &x)?, eps, fz)?;
            let inner = layer.f1.forward(&a, fz)?;
            let inner = match self.cfg.hidden_act {
                Activation::Gelu => inner.gelu_erf()?,
                Activation::GeluTanh => inner.gelu()?,
                Activation::Relu => inner.relu()?,
            };
            let out = drop(layer.f2.forward(&inner, fz)?, rng)?;
            x = layer.n2.forward(&(out + a)?, eps, fz)?;
        }
        let x = x.reshape((b, l, h))?;
        let m = mask.reshape((b, l, 1))?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        let count = mask.sum_keepdim(1)?.clamp(1.0, f64::INFINITY)?;
        summed.broadcast_div(&count)
    }
}

impl Linear {
    fn to_dtype(&self, dtype: DType) -> candle_core::Result<Linear> {
        Ok(Linear {
            w: converted(&self.w, dtype)?,
            b: converted(&self.b, dtype)?,
            lora: match &self.lora {
                Some(l) => Some(Lora {
                    a: converted(&l.a, dtype)?,
                    b: converted(&l.b, dtype)?,
                    scale: l.scale,
                }),
                None => None,
            },
        })
    }
}

impl Norm {
    fn to_dtype(&self, dtype: DType) -> candle_core::Result<Norm> {
        Ok(Norm {
            w: converted(&self.w, dtype)?,
            b: converted(&self.b, dtype)?,
        })
    }
}

impl Layer {
    fn to_dtype(&self, dtype: DType) -> candle_core::Result<Layer> {
        Ok(Layer {
            q: self.q.to_dtype(dtype)?,
            k: self.k.to_dtype(dtype)?,
            v: self.v.to_dtype(dtype)?,
            o: self.o.to_dtype(dtype)?,
            n1: self.n1.to_dtype(dtype)?,
            f1: self.f1.to_dtype(dtype)?,
            f2: self.f2.to_dtype(dtype)?,
            n2: self.n2.to_dtype(dtype)?,
        })
    }
}

impl Network for TextNet {
    fn with_dtype(&self, dtype: DType) -> candle_core::Result<Option<Box<dyn Network>>> {
        Ok(Some(Box::new(TextNet {
            cfg: self.cfg.clone(),
            word: converted(&self.word, dtype)?,
            position: converted(&self.position, dtype)?,
            token_type: converted(&self.token_type, dtype)?,
            emb_norm: self.emb_norm.to_dtype(dtype)?,
            layers: self
                .layers
                .iter()
                .map(|l| l.to_dtype(dtype))
                .collect::<candle_core::Result<_>>()?,
            head: self.head.to_dtype(dtype)?,
            dropout: self.dropout,
            frozen: self.frozen,
        })))
    }

    fn vars(&self) -> Vec<Var> {
        let mut out: Vec<Var> = if self.frozen {
            Vec::new()
        } else {
            self.slots()
                .into_iter()
                .filter(|(n, _)| !n.starts_with("head."))
                .map(|(_, v)| v.clone())
                .collect()
        };
        for l in &self.layers {
            for lin in [&l.q, &l.v] {
                if let Some(lora) = &lin.lora {
                    out.push(lora.a.clone());
                    out.push(lora.b.clone());
                }
            }
        }
        out.push(self.head.w.clone());
        out.push(self.head.b.clone());
        out
    }

    /// `inputs[0]`: token ids `[rows, len]` (u32); `inputs[1]`: the mask `[rows, len]` (f32).
    fn forward(
        &self,
        inputs: &[Tensor],
        train: bool,
        rng: &mut Rng,
    ) -> candle_core::Result<Tensor> {
        let pooled = self.encode(&inputs[0], &inputs[1], train, rng)?;
        let pooled = if train && self.dropout > 0.0 {
            dropout(&pooled, self.dropout, rng)?
        } else {
            pooled
        };
        self.head.forward(&pooled, false)
    }
}
