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
//! Attention runs per sequence and head on strided views of the packed Q/K/V rows, so it pads
//! nothing either. The batch is cut into one group of whole sequences per thread, and each
//! group runs the whole network on its own (the kernels of `encoder/cpu.rs`: no synchronisation
//! between layers); a batch too small to share runs as one group with multi-threaded products.
//!
//! Weights are read by their Hugging Face names (`embeddings.word_embeddings.weight`,
//! `encoder.layer.{i}.attention.self.query.weight`, …), with or without the `bert.` prefix
//! that `BertForMaskedLM`-style checkpoints carry. F16/BF16 weights are widened to f32.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use rayon::prelude::*;
use smelt_core::artifact::ArrayData;
use smelt_core::{ArtifactReader, ArtifactWriter};

use super::config::{Activation, BertConfig};
use super::cpu::{self, View};
use super::gelu;
use crate::error::{DeepError, Result};

/// A group's smallest share of a batch, in tokens: below it, products are too small for one
/// thread each to pay, and the batch is cut into fewer groups.
const MIN_GROUP_TOKENS: usize = 256;
/// Rows of the feed-forward block per step (per thread of a group), so its 4×-wide inner
/// activation stays in cache.
const FFN_ROWS: usize = 256;

/// A LayerNorm's scale and shift.
struct Norm {
    weight: Vec<f32>,
    bias: Vec<f32>,
    eps: f32,
}

/// A dense layer with its weight transposed to `[in, out]` row-major at load time (the layout
/// `gemm` reads fastest: 40 % faster than reading `[out, in]` transposed for the feed-forward
/// output layer's shape).
struct Dense {
    weight_t: Vec<f32>,
    bias: Vec<f32>,
    input: usize,
    output: usize,
}

impl Dense {
    /// `dst[rows × out] += x[rows × in] · Wᵀ` (the caller has put the bias, and the residual
    /// if any, into `dst`).
    fn accumulate(&self, rows: usize, x: &[f32], dst: &mut [f32], threads: usize) {
        cpu::matmul(
            rows,
            self.output,
            self.input,
            dst,
            self.output,
            View::dense(x, self.input),
            View::dense(&self.weight_t, self.output),
            true,
            threads,
        );
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

/// A weight's values by name, checked to have the given shape.
pub(crate) type WeightSource<'a> = dyn Fn(&str, &[usize]) -> Result<Vec<f32>> + 'a;

/// Q, K and V as one `[hidden, 3·hidden]` layer (each input's row holds its Q, K then V
/// columns), with the attention scale folded into Q.
fn fuse_qkv(q: &Dense, k: &Dense, v: &Dense, scale: f32) -> Dense {
    let h = q.input;
    let mut weight_t = Vec::with_capacity(3 * h * h);
    let rows = q.weight_t.chunks_exact(q.output);
    for ((qr, kr), vr) in rows
        .zip(k.weight_t.chunks_exact(k.output))
        .zip(v.weight_t.chunks_exact(v.output))
    {
        weight_t.extend(qr.iter().map(|x| x * scale));
        weight_t.extend_from_slice(kr);
        weight_t.extend_from_slice(vr);
    }
    let mut bias: Vec<f32> = q.bias.iter().map(|x| x * scale).collect();
    bias.extend_from_slice(&k.bias);
    bias.extend_from_slice(&v.bias);
    Dense {
        weight_t,
        bias,
        input: h,
        output: q.output + k.output + v.output,
    }
}

impl Layer {
    /// The dense layers by their names in a model file.
    fn denses(&self) -> [(&'static str, &Dense); 4] {
        [
            ("qkv", &self.qkv),
            ("attn_out", &self.attn_out),
            ("ffn_in", &self.ffn_in),
            ("ffn_out", &self.ffn_out),
        ]
    }
}

/// The BERT encoder's weights and shapes.
pub struct Bert {
    cfg: BertConfig,
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    emb_norm: Norm,
    layers: Vec<Layer>,
}

/// Buffers reused from batch to batch (one set per group of sequences), so a long run of
/// batches allocates once.
#[derive(Default)]
pub struct Workspace {
    groups: Vec<Buffers>,
}

#[derive(Default)]
struct Buffers {
    /// Hidden states, `[tokens, hidden]`.
    x: Vec<f32>,
    /// Q, K and V, `[tokens, 3·hidden]`.
    qkv: Vec<f32>,
    /// Attention output before its dense layer, `[tokens, hidden]`.
    ctx: Vec<f32>,
    /// One sequence's and head's attention scores, `[len, len]`.
    scores: Vec<f32>,
    /// The feed-forward block's inner activation for `FFN_ROWS` rows.
    inner: Vec<f32>,
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

    /// The tensor `name` (or `bert.name`) as f32 values, row-major, checked to have `shape`.
    fn get(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
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
            DType::F32 | DType::F16 | DType::BF16 | DType::F64 => t
                .to_dtype(DType::F32)
                .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
                .map_err(DeepError::candle(format!("reading `{name}` as f32"))),
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
        Ok(Dense {
            weight_t: crate::kernels::transpose(&w, output, input),
            bias: self.get(&format!("{prefix}.bias"), &[output])?,
            input,
            output,
        })
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
        let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
            DeepError::Invalid {
                path: PathBuf::from(path),
                message: format!("not a readable safetensors file: {e}"),
            }
        })?;
        drop(bytes);
        let w = Weights { path, tensors };
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps as f32;
        let heads = cfg.num_attention_heads;
        let scale = 1.0 / ((h / heads) as f32).sqrt();
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let p = format!("encoder.layer.{i}");
            let self_attn = |n: &str| w.dense(&format!("{p}.attention.self.{n}"), h, h);
            let (q, k, v) = (self_attn("query")?, self_attn("key")?, self_attn("value")?);
            layers.push(Layer {
                qkv: fuse_qkv(&q, &k, &v, scale),
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
        })
    }

    /// Writes the weights into a model file, in this module's layout (`[in, out]` dense
    /// weights, Q/K/V fused with the attention scale folded in), under `bert.*` keys, so
    /// [`Bert::read`] loads them without converting.
    pub(crate) fn save(&self, w: &mut ArtifactWriter) -> smelt_core::Result<()> {
        let h = self.cfg.hidden_size;
        let mut put = |key: String, shape: &[usize], v: &[f32]| {
            w.typed(&key, shape, ArrayData::F32(v.to_vec()))
        };
        put("bert.word".into(), &[self.cfg.vocab_size, h], &self.word)?;
        put(
            "bert.position".into(),
            &[self.cfg.max_position_embeddings, h],
            &self.position,
        )?;
        put(
            "bert.token_type".into(),
            &[self.cfg.type_vocab_size, h],
            &self.token_type,
        )?;
        let mut norm = |key: String, n: &Norm| {
            put(format!("{key}.weight"), &[h], &n.weight)?;
            put(format!("{key}.bias"), &[h], &n.bias)
        };
        norm("bert.emb_norm".into(), &self.emb_norm)?;
        for (i, l) in self.layers.iter().enumerate() {
            norm(format!("bert.{i}.attn_norm"), &l.attn_norm)?;
            norm(format!("bert.{i}.ffn_norm"), &l.ffn_norm)?;
        }
        for (i, l) in self.layers.iter().enumerate() {
            for (name, d) in l.denses() {
                w.typed(
                    &format!("bert.{i}.{name}.weight_t"),
                    &[d.input, d.output],
                    ArrayData::F32(d.weight_t.clone()),
                )?;
                w.typed(
                    &format!("bert.{i}.{name}.bias"),
                    &[d.output],
                    ArrayData::F32(d.bias.clone()),
                )?;
            }
        }
        Ok(())
    }

    /// Reads back what [`Bert::save`] wrote, checking every shape against `cfg`.
    pub(crate) fn read(r: &ArtifactReader, cfg: &BertConfig) -> smelt_core::Result<Bert> {
        let get = |key: String, shape: &[usize]| -> smelt_core::Result<Vec<f32>> {
            let (got, data) = r.typed(&key, shape.len())?;
            if got != shape {
                return Err(r.invalid(format!(
                    "`{key}` has shape {got:?}, the config implies {shape:?}"
                )));
            }
            match data {
                ArrayData::F32(v) => Ok(v),
                _ => Err(r.invalid(format!("`{key}`: expected f32 weights"))),
            }
        };
        let h = cfg.hidden_size;
        let eps = cfg.layer_norm_eps as f32;
        let norm = |key: String| -> smelt_core::Result<Norm> {
            Ok(Norm {
                weight: get(format!("{key}.weight"), &[h])?,
                bias: get(format!("{key}.bias"), &[h])?,
                eps,
            })
        };
        let dense = |key: String, input: usize, output: usize| -> smelt_core::Result<Dense> {
            Ok(Dense {
                weight_t: get(format!("{key}.weight_t"), &[input, output])?,
                bias: get(format!("{key}.bias"), &[output])?,
                input,
                output,
            })
        };
        let inter = cfg.intermediate_size;
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                Ok(Layer {
                    qkv: dense(format!("bert.{i}.qkv"), h, 3 * h)?,
                    attn_out: dense(format!("bert.{i}.attn_out"), h, h)?,
                    attn_norm: norm(format!("bert.{i}.attn_norm"))?,
                    ffn_in: dense(format!("bert.{i}.ffn_in"), h, inter)?,
                    ffn_out: dense(format!("bert.{i}.ffn_out"), inter, h)?,
                    ffn_norm: norm(format!("bert.{i}.ffn_norm"))?,
                })
            })
            .collect::<smelt_core::Result<_>>()?;
        Ok(Bert {
            word: get("bert.word".into(), &[cfg.vocab_size, h])?,
            position: get("bert.position".into(), &[cfg.max_position_embeddings, h])?,
            token_type: get("bert.token_type".into(), &[cfg.type_vocab_size, h])?,
            emb_norm: norm("bert.emb_norm".into())?,
            layers,
            cfg: cfg.clone(),
        })
    }

    /// The encoder of a trainable text network, from its weights by their names in that
    /// network's layout (`text::net`: `word`, `position`, `token_type`, `emb_norm.{w,b}`,
    /// `layer.{i}.{q,k,v,o,f1,f2}.{w,b}` with `[in, out]` weights, `layer.{i}.{n1,n2}.{w,b}`).
    /// `get(name, shape)` returns a weight's values, checked to have `shape`.
    pub(crate) fn from_text_layout(cfg: &BertConfig, get: &WeightSource<'_>) -> Result<Bert> {
        let h = cfg.hidden_size;
        let inter = cfg.intermediate_size;
        let eps = cfg.layer_norm_eps as f32;
        let scale = 1.0 / ((h / cfg.num_attention_heads) as f32).sqrt();
        let dense = |name: String, input: usize, output: usize| -> Result<Dense> {
            Ok(Dense {
                weight_t: get(&format!("{name}.w"), &[input, output])?,
                bias: get(&format!("{name}.b"), &[output])?,
                input,
                output,
            })
        };
        let norm = |name: String| -> Result<Norm> {
            Ok(Norm {
                weight: get(&format!("{name}.w"), &[h])?,
                bias: get(&format!("{name}.b"), &[h])?,
                eps,
            })
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let d = |n: &str, a, b| dense(format!("layer.{i}.{n}"), a, b);
                Ok(Layer {
                    qkv: fuse_qkv(&d("q", h, h)?, &d("k", h, h)?, &d("v", h, h)?, scale),
                    attn_out: d("o", h, h)?,
                    attn_norm: norm(format!("layer.{i}.n1"))?,
                    ffn_in: d("f1", h, inter)?,
                    ffn_out: d("f2", inter, h)?,
                    ffn_norm: norm(format!("layer.{i}.n2"))?,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Bert {
            word: get("word", &[cfg.vocab_size, h])?,
            position: get("position", &[cfg.max_position_embeddings, h])?,
            token_type: get("token_type", &[cfg.type_vocab_size.max(1), h])?,
            emb_norm: norm("emb_norm".into())?,
            layers,
            cfg: cfg.clone(),
        })
    }

    /// The model's shapes.
    pub fn config(&self) -> &BertConfig {
        &self.cfg
    }

    /// The last hidden states of a batch of sequences. Every
    /// sequence must be non-empty, no longer than `max_position_embeddings`, with ids below
    /// `vocab_size` and segment ids below `type_vocab_size` (the caller checks; an id out of
    /// range panics). `ws` keeps the buffers for the next batch; `states` is called with each
    /// sequence's index and its last hidden states (`[len, hidden]`, row-major), in order.
    pub fn forward(
        &self,
        ids: &[&[u32]],
        type_ids: &[&[u32]],
        ws: &mut Workspace,
        mut states: impl FnMut(usize, &[f32]),
    ) {
        let h = self.cfg.hidden_size;
        let threads = rayon::current_num_threads().max(1);
        let lens: Vec<usize> = ids.iter().map(|s| s.len()).collect();
        let total: usize = lens.iter().sum();
        let n_groups = threads
            .min(ids.len())
            .min((total / MIN_GROUP_TOKENS).max(1));
        let inner_threads = (threads / n_groups).max(1);
        // Contiguous runs of sequences with about `total / n_groups` tokens each.
        let mut bounds = vec![0];
        let mut acc = 0;
        for (i, &l) in lens.iter().enumerate() {
            acc += l;
            let want = bounds.len() * total / n_groups;
            if acc >= want && bounds.len() < n_groups && i + 1 < lens.len() {
                bounds.push(i + 1);
            }
        }
        bounds.push(lens.len());
        if ws.groups.len() < bounds.len() - 1 {
            ws.groups.resize_with(bounds.len() - 1, Buffers::default);
        }
        let groups = &mut ws.groups[..bounds.len() - 1];
        let run = |(g, buf): (usize, &mut Buffers)| {
            let (a, b) = (bounds[g], bounds[g + 1]);
            self.forward_group(&ids[a..b], &type_ids[a..b], buf, inner_threads);
        };
        if groups.len() > 1 {
            groups.par_iter_mut().enumerate().for_each(run);
        } else {
            groups.iter_mut().enumerate().for_each(run);
        }
        for (g, buf) in groups.iter().enumerate() {
            let mut offset = 0;
            for (j, &len) in lens[bounds[g]..bounds[g + 1]].iter().enumerate() {
                let n = len * h;
                states(bounds[g] + j, &buf.x[offset..offset + n]);
                offset += n;
            }
        }
    }

    /// The whole network on one group of sequences, into `buf.x`.
    fn forward_group(
        &self,
        ids: &[&[u32]],
        type_ids: &[&[u32]],
        buf: &mut Buffers,
        threads: usize,
    ) {
        let h = self.cfg.hidden_size;
        let heads = self.cfg.num_attention_heads;
        let d = h / heads;
        let inter = self.cfg.intermediate_size;
        let total: usize = ids.iter().map(|s| s.len()).sum();
        let Buffers {
            x,
            qkv,
            ctx,
            scores,
            inner,
        } = buf;

        x.clear();
        for (seq, types) in ids.iter().zip(type_ids) {
            for (i, (&t, &s)) in seq.iter().zip(*types).enumerate() {
                let word = &self.word[t as usize * h..][..h];
                let pos = &self.position[i * h..][..h];
                let typ = &self.token_type[s as usize * h..][..h];
                x.extend(word.iter().zip(pos).zip(typ).map(|((w, p), t)| w + p + t));
            }
        }
        let norm = &self.emb_norm;
        cpu::layer_norm(x, &norm.weight, &norm.bias, norm.eps);
        let ffn_rows = FFN_ROWS * threads;

        for layer in &self.layers {
            // Q, K, V for every token.
            qkv.resize(total * 3 * h, 0.0);
            cpu::fill_rows(qkv, &layer.qkv.bias);
            layer.qkv.accumulate(total, x, qkv, threads);

            // Attention, per sequence and head, on strided views of the packed rows.
            ctx.resize(total * h, 0.0);
            let mut offset = 0;
            for seq in ids {
                let len = seq.len();
                scores.resize(len * len, 0.0);
                let rows = &qkv[offset * 3 * h..(offset + len) * 3 * h];
                for head in 0..heads {
                    let col = head * d;
                    let view = |part: usize| View {
                        data: &rows[part * h + col..],
                        row: 3 * h,
                        col: 1,
                    };
                    cpu::matmul(len, len, d, scores, len, view(0), view(1).t(), false, 1);
                    cpu::softmax_rows(scores, len);
                    cpu::matmul(
                        len,
                        d,
                        len,
                        &mut ctx[offset * h + col..],
                        h,
                        View::dense(scores, len),
                        view(2),
                        false,
                        1,
                    );
                }
                offset += len;
            }

            // a = LayerNorm(x + ctx W_o + b_o), in place in x.
            cpu::add_rows(x, &layer.attn_out.bias);
            layer.attn_out.accumulate(total, ctx, x, threads);
            let n = &layer.attn_norm;
            cpu::layer_norm(x, &n.weight, &n.bias, n.eps);

            // x = LayerNorm(a + act(a W_1 + b_1) W_2 + b_2), a block of rows at a time.
            for start in (0..total).step_by(ffn_rows) {
                let rows = ffn_rows.min(total - start);
                let block = &mut x[start * h..(start + rows) * h];
                inner.resize(rows * inter, 0.0);
                cpu::fill_rows(inner, &layer.ffn_in.bias);
                layer.ffn_in.accumulate(rows, block, inner, threads);
                match self.cfg.hidden_act {
                    Activation::Gelu => gelu::gelu_in_place(inner),
                    Activation::GeluTanh => gelu::gelu_tanh_in_place(inner),
                    Activation::Relu => cpu::relu(inner),
                }
                cpu::add_rows(block, &layer.ffn_out.bias);
                layer.ffn_out.accumulate(rows, inner, block, threads);
                let n = &layer.ffn_norm;
                cpu::layer_norm(block, &n.weight, &n.bias, n.eps);
            }
        }
    }
}
