//! A BERT encoder (Devlin et al. 2019) on candle, as Hugging Face's `BertModel` computes it,
//! for inference only.
//!
//! For a sequence of token ids `t₁…t_L` with segment ids `s_i`:
//!
//! ```text
//! h⁰_i = LayerNorm(E_word[t_i] + E_pos[i] + E_type[s_i])
//! per layer:  a = LayerNorm(h + Attention(h) W_o + b_o)
//!             h = LayerNorm(a + act(a W_1 + b_1) W_2 + b_2)
//! Attention:  per head, softmax(Q Kᵀ / √d) V over the sequence's own tokens
//! ```
//!
//! Sequences are *packed*: the linear layers (≈ 95 % of the work at sentence lengths) run on
//! the batch's real tokens only, one `[tokens, hidden]` matrix, so no time goes to padding.
//! Only attention pads: the batch is gathered into `[batch, heads, longest, head_dim]` with an
//! additive mask over the padding keys, and scattered back to packed rows afterwards.
//!
//! Weights are read by their Hugging Face names (`embeddings.word_embeddings.weight`,
//! `encoder.layer.{i}.attention.self.query.weight`, …), with or without the `bert.` prefix
//! that `BertForMaskedLM`-style checkpoints carry. F16/BF16 weights are widened to f32.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};

use super::config::{Activation, BertConfig};
use crate::error::{DeepError, Result};

/// A LayerNorm's scale and shift.
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl Norm {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        candle_nn::ops::layer_norm(x, &self.weight, &self.bias, self.eps)
    }
}

/// A dense layer with its weight stored transposed, `[in, out]`, so `x W` is one GEMM.
struct Dense {
    weight_t: Tensor,
    bias: Tensor,
}

impl Dense {
    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        x.matmul(&self.weight_t)?.broadcast_add(&self.bias)
    }
}

/// One transformer layer. Q, K and V are one `[hidden, 3·hidden]` layer, with the attention
/// scale 1/√d folded into Q's columns at load time.
struct Layer {
    qkv: Dense,
    attn_out: Dense,
    attn_norm: Norm,
    ffn_in: Dense,
    ffn_out: Dense,
    ffn_norm: Norm,
}

/// The BERT encoder's weights and shapes.
pub struct Bert {
    cfg: BertConfig,
    word: Tensor,
    position: Tensor,
    token_type: Tensor,
    emb_norm: Norm,
    layers: Vec<Layer>,
    device: Device,
}

/// The safetensors file's tensors, looked up by name with an optional `bert.` prefix.
struct Weights<'a> {
    path: &'a Path,
    tensors: HashMap<String, Tensor>,
}

impl Weights<'_> {
    fn invalid(&self, message: String) -> DeepError {
        DeepError::Invalid {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// The tensor `name` (or `bert.name`) as f32, checked to have `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Tensor> {
        let t = self
            .tensors
            .get(name)
            .or_else(|| self.tensors.get(&format!("bert.{name}")))
            .ok_or_else(|| self.invalid(format!("missing tensor `{name}`")))?;
        if t.dims() != shape {
            return Err(self.invalid(format!(
                "tensor `{name}` has shape {:?}, config.json implies {shape:?}",
                t.dims()
            )));
        }
        match t.dtype() {
            DType::F32 => Ok(t.clone()),
            DType::F16 | DType::BF16 | DType::F64 => t
                .to_dtype(DType::F32)
                .map_err(DeepError::candle(format!("widening `{name}` to f32"))),
            other => Err(self.invalid(format!(
                "tensor `{name}` has dtype {other:?}, expected a float type"
            ))),
        }
    }

    fn norm(&self, prefix: &str, h: usize, eps: f32) -> Result<Norm> {
        // Old TensorFlow-converted checkpoints name the LayerNorm parameters gamma/beta.
        let pick = |new: &str, old: &str| {
            let n = format!("{prefix}.{new}");
            if self.tensors.contains_key(&n) || self.tensors.contains_key(&format!("bert.{n}")) {
                self.get(&n, &[h])
            } else {
                self.get(&format!("{prefix}.{old}"), &[h])
            }
        };
        Ok(Norm {
            weight: pick("weight", "gamma")?,
            bias: pick("bias", "beta")?,
            eps,
        })
    }

    fn dense(&self, prefix: &str, input: usize, output: usize) -> Result<Dense> {
        let w = self.get(&format!("{prefix}.weight"), &[output, input])?;
        let b = self.get(&format!("{prefix}.bias"), &[output])?;
        let weight_t = w
            .t()
            .and_then(|t| t.contiguous())
            .map_err(DeepError::candle(format!("transposing `{prefix}.weight`")))?;
        Ok(Dense { weight_t, bias: b })
    }
}

impl Bert {
    /// Reads the weights from the safetensors file at `path` and checks every shape against
    /// `cfg`. Extra tensors (`pooler.*`, `embeddings.position_ids`) are ignored.
    pub fn load(cfg: &BertConfig, path: &Path) -> Result<Bert> {
        let bytes = std::fs::read(path).map_err(|source| DeepError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let device = Device::Cpu;
        let tensors = candle_core::safetensors::load_buffer(&bytes, &device).map_err(|e| {
            DeepError::Invalid {
                path: PathBuf::from(path),
                message: format!("not a readable safetensors file: {e}"),
            }
        })?;
        let w = Weights { path, tensors };
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps as f32;
        let heads = cfg.num_attention_heads;
        let scale = 1.0 / ((h / heads) as f64).sqrt();
        let ctx = |what: &str| DeepError::candle(format!("{}: {what}", path.display()));
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let q = w.get(&format!("{p}.attention.self.query.weight"), &[h, h])?;
            let k = w.get(&format!("{p}.attention.self.key.weight"), &[h, h])?;
            let v = w.get(&format!("{p}.attention.self.value.weight"), &[h, h])?;
            let qb = w.get(&format!("{p}.attention.self.query.bias"), &[h])?;
            let kb = w.get(&format!("{p}.attention.self.key.bias"), &[h])?;
            let vb = w.get(&format!("{p}.attention.self.value.bias"), &[h])?;
            let fused = (|| {
                let q = (q * scale)?;
                let qb = (qb * scale)?;
                let weight_t = Tensor::cat(&[q, k, v], 0)?.t()?.contiguous()?;
                let bias = Tensor::cat(&[qb, kb, vb], 0)?;
                Ok(Dense { weight_t, bias })
            })()
            .map_err(ctx("fusing Q, K and V"))?;
            layers.push(Layer {
                qkv: fused,
                attn_out: w.dense(&format!("{p}.attention.output.dense"), h, h)?,
                attn_norm: w.norm(&format!("{p}.attention.output.LayerNorm"), h, eps)?,
                ffn_in: w.dense(&format!("{p}.intermediate.dense"), h, cfg.intermediate_size)?,
                ffn_out: w.dense(&format!("{p}.output.dense"), cfg.intermediate_size, h)?,
                ffn_norm: w.norm(&format!("{p}.output.LayerNorm"), h, eps)?,
            });
        }
        Ok(Bert {
            word: w.get("embeddings.word_embeddings.weight", &[cfg.vocab_size, h])?,
            position: w.get(
                "embeddings.position_embeddings.weight",
                &[cfg.max_position_embeddings, h],
            )?,
            token_type: w.get(
                "embeddings.token_type_embeddings.weight",
                &[cfg.type_vocab_size, h],
            )?,
            emb_norm: w.norm("embeddings.LayerNorm", h, eps)?,
            layers,
            cfg: cfg.clone(),
            device,
        })
    }

    /// The model's shapes.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// The last hidden states of a batch of sequences, packed: row `offset_b + i` is token `i`
    /// of sequence `b`, where `offset_b` is the sum of the earlier sequences' lengths. Every
    /// sequence must be non-empty, no longer than `max_position_embeddings`, with ids below
    /// `vocab_size` and segment ids below `type_vocab_size` (the caller checks).
    pub fn forward(&self, ids: &[&[u32]], type_ids: &[&[u32]]) -> candle_core::Result<Tensor> {
        let b = ids.len();
        let lens: Vec<usize> = ids.iter().map(|s| s.len()).collect();
        let total: usize = lens.iter().sum();
        let longest = lens.iter().copied().max().unwrap_or(0);
        let h = self.cfg.hidden_size;
        let heads = self.cfg.num_attention_heads;
        let d = h / heads;

        let flat_ids: Vec<u32> = ids.iter().flat_map(|s| s.iter().copied()).collect();
        let flat_types: Vec<u32> = type_ids.iter().flat_map(|s| s.iter().copied()).collect();
        let positions: Vec<u32> = lens.iter().flat_map(|&l| 0..l as u32).collect();
        // Padded slot (b, i) reads packed row `gather[b·longest + i]` (a padding slot reads its
        // sequence's first row: masked as a key, discarded as a query); packed row r goes back
        // from padded slot `scatter[r]`.
        let mut gather = Vec::with_capacity(b * longest);
        let mut scatter = Vec::with_capacity(total);
        let mut mask = Vec::with_capacity(b * longest);
        let mut offset = 0u32;
        for (bi, &l) in lens.iter().enumerate() {
            for i in 0..longest {
                gather.push(offset + if i < l { i as u32 } else { 0 });
                mask.push(if i < l { 0f32 } else { f32::MIN });
            }
            scatter.extend((0..l).map(|i| (bi * longest + i) as u32));
            offset += l as u32;
        }
        let dev = &self.device;
        let padded = lens.iter().any(|&l| l != longest);
        let gather = Tensor::from_vec(gather, b * longest, dev)?;
        let scatter = Tensor::from_vec(scatter, total, dev)?;
        let mask = Tensor::from_vec(mask, (b, 1, 1, longest), dev)?;

        let word = self.word.index_select(&Tensor::new(flat_ids, dev)?, 0)?;
        let pos = self
            .position
            .index_select(&Tensor::new(positions, dev)?, 0)?;
        let typ = self
            .token_type
            .index_select(&Tensor::new(flat_types, dev)?, 0)?;
        let mut x = self.emb_norm.forward(&((word + pos)? + typ)?)?;

        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x)?; // [total, 3h]
            let qkv = if padded {
                qkv.index_select(&gather, 0)?
            } else {
                qkv
            };
            let qkv = qkv.reshape((b, longest, 3, heads, d))?;
            let part = |j: usize| -> candle_core::Result<Tensor> {
                qkv.narrow(2, j, 1)?
                    .squeeze(2)?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let (q, k, v) = (part(0)?, part(1)?, part(2)?); // [b, heads, longest, d]
            let scores = q.matmul(&k.t()?)?;
            let scores = if padded {
                scores.broadcast_add(&mask)?
            } else {
                scores
            };
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx = probs
                .matmul(&v)?
                .transpose(1, 2)?
                .reshape((b * longest, h))?;
            let ctx = if padded {
                ctx.index_select(&scatter, 0)?
            } else {
                ctx
            };
            let a = layer
                .attn_norm
                .forward(&(layer.attn_out.forward(&ctx)? + &x)?)?;
            let inner = layer.ffn_in.forward(&a)?;
            let inner = match self.cfg.hidden_act {
                Activation::Gelu => super::gelu::gelu_erf(&inner)?,
                Activation::GeluTanh => inner.gelu()?,
                Activation::Relu => inner.relu()?,
            };
            x = layer
                .ffn_norm
                .forward(&(layer.ffn_out.forward(&inner)? + &a)?)?;
        }
        Ok(x)
    }
}
