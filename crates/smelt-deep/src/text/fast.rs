//! A trained text classifier for prediction only: its encoder in the sentence encoder's
//! inference layout ([`crate::encoder::bert::Bert`]: packed sequences, no padding, fused
//! Q/K/V, our own CPU kernels), with mean pooling and the classification head. The candle
//! network ([`super::net::TextNet`]) is what trains, and the reference this is tested against.

use std::collections::HashMap;

use candle_core::{DType, Tensor};

use super::PREDICT_BATCH;
use super::net::TextNet;
use crate::error::DeepError;
use crate::train;

/// A trained text network for prediction only: its encoder as an [`encoder::bert::Bert`]
/// (packed sequences, no padding, fused Q/K/V, our own CPU kernels: the path that made
/// sentence embeddings as fast as sentence-transformers), mean pooling and the head.
pub(super) struct FastNet {
    bert: crate::encoder::bert::Bert,
    /// `[hidden, classes]`.
    head_w: Vec<f32>,
    head_b: Vec<f32>,
}

impl std::fmt::Debug for FastNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastNet").finish_non_exhaustive()
    }
}

impl FastNet {
    /// The network's weights (LoRA updates merged) in the inference layout; `None` when they
    /// cannot be read, and prediction then runs the candle network.
    pub(super) fn of(net: &TextNet) -> Option<FastNet> {
        let weights: HashMap<String, Tensor> = net.weights().ok()?.into_iter().collect();
        let get = |name: &str, shape: &[usize]| -> crate::Result<Vec<f32>> {
            let t = weights
                .get(name)
                .ok_or_else(|| DeepError::Input(format!("no weight `{name}`")))?;
            if t.dims() != shape {
                return Err(DeepError::Input(format!(
                    "weight `{name}` has shape {:?}, not {shape:?}",
                    t.dims()
                )));
            }
            t.to_dtype(DType::F32)
                .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
                .map_err(DeepError::candle(format!("reading `{name}`")))
        };
        let cfg = net.config();
        let bert = crate::encoder::bert::Bert::from_text_layout(cfg, &get).ok()?;
        let classes = weights.get("head.b")?.elem_count();
        Some(FastNet {
            bert,
            head_w: get("head.w", &[cfg.hidden_size, classes]).ok()?,
            head_b: get("head.b", &[classes]).ok()?,
        })
    }

    /// Class probabilities of each tokenised text, row-major `[texts, classes]`.
    pub(super) fn proba(&self, ids: &[Vec<u32>]) -> Vec<f64> {
        let k = self.head_b.len();
        let h = self.bert.config().hidden_size;
        let mut out = vec![0f64; ids.len() * k];
        // Longest first, so a batch's groups of sequences are even.
        let mut order: Vec<usize> = (0..ids.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
        let mut ws = crate::encoder::bert::Workspace::default();
        let (mut pooled, mut logits) = (vec![0f32; h], vec![0f32; k]);
        for batch in order.chunks(PREDICT_BATCH) {
            let seqs: Vec<&[u32]> = batch.iter().map(|&i| ids[i].as_slice()).collect();
            let types: Vec<Vec<u32>> = seqs.iter().map(|s| vec![0; s.len()]).collect();
            let types: Vec<&[u32]> = types.iter().map(Vec::as_slice).collect();
            self.bert.forward(&seqs, &types, &mut ws, |j, states| {
                crate::encoder::pooling::pool(
                    states,
                    h,
                    &[crate::encoder::config::PoolingMode::Mean],
                    false,
                    &mut pooled,
                );
                logits.copy_from_slice(&self.head_b);
                for (&p, row) in pooled.iter().zip(self.head_w.chunks_exact(k)) {
                    for (l, &w) in logits.iter_mut().zip(row) {
                        *l += p * w;
                    }
                }
                let i = batch[j];
                train::softmax_row(&logits, &mut out[i * k..(i + 1) * k]);
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoder::config::{Activation, BertConfig};
    use crate::text::candle_proba;
    use candle_core::Device;
    use smelt_core::rng::Rng;

    #[test]
    fn the_inference_layout_predicts_what_the_candle_network_does() {
        for act in [Activation::Gelu, Activation::GeluTanh] {
            let cfg = BertConfig {
                vocab_size: 50,
                hidden_size: 16,
                num_hidden_layers: 2,
                num_attention_heads: 4,
                intermediate_size: 24,
                hidden_act: act,
                max_position_embeddings: 12,
                type_vocab_size: 2,
                layer_norm_eps: 1e-12,
                position_embedding_type: "absolute".into(),
                model_type: None,
            };
            let net = TextNet::new(&cfg, 3, 0.1, 7, &Device::Cpu).unwrap();
            let mut rng = Rng::new(3);
            let ids: Vec<Vec<u32>> = (0..70)
                .map(|i| {
                    (0..1 + i % 12)
                        .map(|_| (rng.uniform() * 50.0) as u32 % 50)
                        .collect()
                })
                .collect();
            let fast = FastNet::of(&net).expect("the layout converts").proba(&ids);
            let slow = candle_proba(&net, &ids, 3).unwrap();
            assert_eq!(fast.len(), slow.len());
            for (i, (a, b)) in fast.iter().zip(&slow).enumerate() {
                assert!((a - b).abs() < 1e-5, "{act:?} row {}: {a} vs {b}", i / 3);
            }
        }
    }
}
