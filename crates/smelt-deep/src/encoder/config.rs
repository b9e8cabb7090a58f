//! The JSON files of a sentence-transformers model directory: `config.json` (the BERT
//! shapes), `modules.json` (the pipeline: transformer → pooling → normalisation),
//! `1_Pooling/config.json` (which pooling) and `sentence_bert_config.json` (the longest input).
//!
//! Hugging Face's files carry many more keys than we read; unknown keys are ignored (they
//! change between `transformers` versions), but every key we read is checked.

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::error::{DeepError, Result};

/// The shapes of a BERT encoder (`config.json`), as Hugging Face's `BertConfig`.
#[derive(Clone, Debug, Deserialize, serde::Serialize, PartialEq)]
pub struct BertConfig {
    /// Rows of the word-embedding matrix.
    pub vocab_size: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Transformer layers.
    pub num_hidden_layers: usize,
    /// Attention heads per layer; divides `hidden_size`.
    pub num_attention_heads: usize,
    /// Width of the feed-forward layer.
    pub intermediate_size: usize,
    /// The feed-forward activation: `gelu` (erf form), `gelu_new`/`gelu_pytorch_tanh` (tanh
    /// approximation) or `relu`.
    #[serde(default = "default_act")]
    pub hidden_act: Activation,
    /// Rows of the position-embedding matrix: the longest input.
    pub max_position_embeddings: usize,
    /// Rows of the token-type (segment) embedding matrix.
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    /// ε of every LayerNorm (default 1e-12).
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    /// Only `absolute` is supported.
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
    /// `bert` (checked when present).
    #[serde(default)]
    pub model_type: Option<String>,
}

fn default_act() -> Activation {
    Activation::Gelu
}
fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_position_type() -> String {
    "absolute".into()
}

/// A feed-forward activation, by its name in `transformers`' `ACT2FN`.
#[derive(Clone, Copy, Debug, Deserialize, serde::Serialize, PartialEq, Eq)]
pub enum Activation {
    /// `x · Φ(x)` with the exact normal CDF (erf), PyTorch's default `gelu`.
    #[serde(rename = "gelu")]
    Gelu,
    /// The tanh approximation of GELU.
    #[serde(rename = "gelu_new", alias = "gelu_pytorch_tanh", alias = "gelu_fast")]
    GeluTanh,
    /// `max(x, 0)`.
    #[serde(rename = "relu")]
    Relu,
}

impl BertConfig {
    /// Reads and checks `config.json`.
    pub fn read(path: &Path) -> Result<BertConfig> {
        let cfg: BertConfig = read_json(path)?;
        let bad = |message: String| DeepError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        if let Some(t) = &cfg.model_type
            && t != "bert"
        {
            return Err(bad(format!(
                "model_type \"{t}\" is not supported (only \"bert\")"
            )));
        }
        if cfg.position_embedding_type != "absolute" {
            return Err(bad(format!(
                "position_embedding_type \"{}\" is not supported (only \"absolute\")",
                cfg.position_embedding_type
            )));
        }
        for (name, v) in [
            ("vocab_size", cfg.vocab_size),
            ("hidden_size", cfg.hidden_size),
            ("num_hidden_layers", cfg.num_hidden_layers),
            ("num_attention_heads", cfg.num_attention_heads),
            ("intermediate_size", cfg.intermediate_size),
            ("max_position_embeddings", cfg.max_position_embeddings),
            ("type_vocab_size", cfg.type_vocab_size),
        ] {
            if v == 0 {
                return Err(bad(format!("{name} must be at least 1, got 0")));
            }
        }
        if !cfg.hidden_size.is_multiple_of(cfg.num_attention_heads) {
            return Err(bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                cfg.hidden_size, cfg.num_attention_heads
            )));
        }
        if !(cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0) {
            return Err(bad(format!(
                "layer_norm_eps must be > 0, got {}",
                cfg.layer_norm_eps
            )));
        }
        Ok(cfg)
    }
}

/// How token states become one sentence vector (`1_Pooling/config.json`). Several modes
/// concatenate in sentence-transformers' order: CLS, max, mean, mean·√len.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
pub struct PoolingConfig {
    /// Width of the token states (checked against the model).
    pub word_embedding_dimension: usize,
    /// The first token's state (`[CLS]`).
    #[serde(default)]
    pub pooling_mode_cls_token: bool,
    /// The largest value of each dimension over the real tokens.
    #[serde(default)]
    pub pooling_mode_max_tokens: bool,
    /// The mean over the real tokens.
    #[serde(default)]
    pub pooling_mode_mean_tokens: bool,
    /// The sum over the real tokens divided by √(number of tokens).
    #[serde(default)]
    pub pooling_mode_mean_sqrt_len_tokens: bool,
    /// Position-weighted mean (not supported; refused when true).
    #[serde(default)]
    pub pooling_mode_weightedmean_tokens: bool,
    /// The last token's state (not supported; refused when true).
    #[serde(default)]
    pub pooling_mode_lasttoken: bool,
}

impl PoolingConfig {
    /// Reads and checks a pooling config.
    pub fn read(path: &Path) -> Result<PoolingConfig> {
        let cfg: PoolingConfig = read_json(path)?;
        let bad = |message: &str| DeepError::Invalid {
            path: path.to_path_buf(),
            message: message.into(),
        };
        if cfg.pooling_mode_weightedmean_tokens || cfg.pooling_mode_lasttoken {
            return Err(bad(
                "weighted-mean and last-token pooling are not supported (cls, max, mean, mean_sqrt_len are)",
            ));
        }
        if cfg.modes().is_empty() {
            return Err(bad("no pooling mode is set"));
        }
        Ok(cfg)
    }

    /// The modes in use, in the order their vectors are concatenated.
    pub fn modes(&self) -> Vec<PoolingMode> {
        let mut m = Vec::new();
        if self.pooling_mode_cls_token {
            m.push(PoolingMode::Cls);
        }
        if self.pooling_mode_max_tokens {
            m.push(PoolingMode::Max);
        }
        if self.pooling_mode_mean_tokens {
            m.push(PoolingMode::Mean);
        }
        if self.pooling_mode_mean_sqrt_len_tokens {
            m.push(PoolingMode::MeanSqrtLen);
        }
        m
    }
}

/// One pooling of token states into a sentence vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolingMode {
    /// The first token's state.
    Cls,
    /// Per-dimension maximum over the tokens.
    Max,
    /// Mean over the tokens.
    Mean,
    /// Sum over the tokens / √(token count).
    MeanSqrtLen,
}

/// One entry of `modules.json`.
#[derive(Clone, Debug, Deserialize)]
struct ModuleEntry {
    #[serde(default)]
    path: String,
    #[serde(rename = "type")]
    kind: String,
}

/// What `modules.json` asks for, in the one shape we run: a transformer, a pooling, and an
/// optional L2 normalisation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modules {
    /// The pooling module's folder, relative to the model directory (`1_Pooling`).
    pub pooling_dir: PathBuf,
    /// Whether the sentence vectors are scaled to unit length.
    pub normalize: bool,
}

impl Modules {
    /// Reads `modules.json`; any other pipeline (a `Dense` projection, another backbone) is
    /// an error naming the module.
    pub fn read(path: &Path) -> Result<Modules> {
        let entries: Vec<ModuleEntry> = read_json(path)?;
        let bad = |message: String| DeepError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let short = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
        let kinds: Vec<String> = entries.iter().map(|e| short(&e.kind)).collect();
        match kinds.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["Transformer", "Pooling"] | ["Transformer", "Pooling", "Normalize"] => {}
            _ => {
                return Err(bad(format!(
                    "unsupported pipeline [{}]: only Transformer, Pooling and an optional Normalize are supported",
                    kinds.join(", ")
                )));
            }
        }
        if !entries[0].path.is_empty() {
            return Err(bad(format!(
                "the Transformer module must be the model directory itself, not \"{}\"",
                entries[0].path
            )));
        }
        Ok(Modules {
            pooling_dir: PathBuf::from(&entries[1].path),
            normalize: entries.len() == 3,
        })
    }
}

/// `sentence_bert_config.json`: the longest input in tokens, special tokens included.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct SentenceBertConfig {
    /// Inputs are truncated to this many tokens.
    pub max_seq_length: usize,
    /// Lower-case before tokenising (the tokenizer's normaliser usually does it already).
    #[serde(default)]
    pub do_lower_case: bool,
}

impl SentenceBertConfig {
    /// Reads and checks it.
    pub fn read(path: &Path) -> Result<SentenceBertConfig> {
        let cfg: SentenceBertConfig = read_json(path)?;
        if cfg.max_seq_length < 2 {
            return Err(DeepError::Invalid {
                path: path.to_path_buf(),
                message: format!(
                    "max_seq_length must be at least 2 (room for [CLS] and [SEP]), got {}",
                    cfg.max_seq_length
                ),
            });
        }
        Ok(cfg)
    }
}

/// Reads a JSON file: a missing or unreadable file is [`DeepError::Io`], malformed JSON or a
/// missing key [`DeepError::Invalid`] with serde's line and column.
pub(crate) fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| DeepError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|e| DeepError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn bert_config_rejects_bad_shapes_and_types() {
        let dir = tempfile::tempdir().unwrap();
        let base = r#""vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1,
            "intermediate_size": 16, "max_position_embeddings": 32"#;
        let ok = write(
            dir.path(),
            "ok.json",
            &format!(r#"{{{base}, "num_attention_heads": 2, "extra": [1]}}"#),
        );
        let cfg = BertConfig::read(&ok).unwrap();
        assert_eq!(cfg.hidden_act, Activation::Gelu);
        assert_eq!(cfg.type_vocab_size, 2);
        let heads = write(
            dir.path(),
            "heads.json",
            &format!(r#"{{{base}, "num_attention_heads": 3}}"#),
        );
        let e = BertConfig::read(&heads).unwrap_err().to_string();
        assert!(
            e.contains("heads.json") && e.contains("not a multiple"),
            "{e}"
        );
        let kind = write(
            dir.path(),
            "kind.json",
            &format!(r#"{{{base}, "num_attention_heads": 2, "model_type": "gpt2"}}"#),
        );
        assert!(
            BertConfig::read(&kind)
                .unwrap_err()
                .to_string()
                .contains("gpt2")
        );
        let act = write(
            dir.path(),
            "act.json",
            &format!(r#"{{{base}, "num_attention_heads": 2, "hidden_act": "swish"}}"#),
        );
        assert!(
            BertConfig::read(&act)
                .unwrap_err()
                .to_string()
                .contains("swish")
        );
        let missing = BertConfig::read(&dir.path().join("nope.json")).unwrap_err();
        assert!(matches!(missing, DeepError::Io { .. }));
        assert!(missing.to_string().contains("nope.json"));
    }

    #[test]
    fn pooling_modes_in_sentence_transformers_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "p.json",
            r#"{"word_embedding_dimension": 4, "pooling_mode_mean_tokens": true, "pooling_mode_cls_token": true}"#,
        );
        let cfg = PoolingConfig::read(&p).unwrap();
        assert_eq!(cfg.modes(), vec![PoolingMode::Cls, PoolingMode::Mean]);
        let none = write(dir.path(), "n.json", r#"{"word_embedding_dimension": 4}"#);
        assert!(
            PoolingConfig::read(&none)
                .unwrap_err()
                .to_string()
                .contains("no pooling")
        );
        let last = write(
            dir.path(),
            "l.json",
            r#"{"word_embedding_dimension": 4, "pooling_mode_lasttoken": true}"#,
        );
        assert!(PoolingConfig::read(&last).is_err());
    }

    #[test]
    fn modules_accept_only_transformer_pooling_normalize() {
        let dir = tempfile::tempdir().unwrap();
        let t = r#"{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"}"#;
        let p = r#"{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}"#;
        let n = r#"{"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}"#;
        let d = r#"{"idx": 2, "name": "2", "path": "2_Dense", "type": "sentence_transformers.models.Dense"}"#;
        let full = write(dir.path(), "a.json", &format!("[{t}, {p}, {n}]"));
        assert_eq!(
            Modules::read(&full).unwrap(),
            Modules {
                pooling_dir: "1_Pooling".into(),
                normalize: true
            }
        );
        let plain = write(dir.path(), "b.json", &format!("[{t}, {p}]"));
        assert!(!Modules::read(&plain).unwrap().normalize);
        let dense = write(dir.path(), "c.json", &format!("[{t}, {p}, {d}]"));
        let e = Modules::read(&dense).unwrap_err().to_string();
        assert!(e.contains("Dense") && e.contains("c.json"), "{e}");
        let broken = write(dir.path(), "d.json", "[{");
        assert!(matches!(
            Modules::read(&broken).unwrap_err(),
            DeepError::Invalid { .. }
        ));
    }

    #[test]
    fn max_seq_length_needs_room_for_special_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "s.json", r#"{"max_seq_length": 1}"#);
        assert!(SentenceBertConfig::read(&p).is_err());
        let p = write(
            dir.path(),
            "t.json",
            r#"{"max_seq_length": 256, "do_lower_case": false}"#,
        );
        assert_eq!(SentenceBertConfig::read(&p).unwrap().max_seq_length, 256);
    }
}
