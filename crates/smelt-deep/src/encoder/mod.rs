//! Pretrained sentence encoders: a sentence-transformers model directory (such as
//! `all-MiniLM-L6-v2`) run on candle, texts in, fixed-width vectors out.
//!
//! The pipeline is the one `modules.json` declares, nothing hidden:
//!
//! 1. **Tokenise** with the directory's `tokenizer.json` ([`tokenize`]): no padding,
//!    truncation to `max_seq_length` from `sentence_bert_config.json` (special tokens
//!    included).
//! 2. **Encode** with BERT ([`bert`]): texts sorted by token count and cut into batches, so a
//!    batch holds texts of similar length; the linear layers see only real tokens.
//! 3. **Pool** ([`pooling`]): mean (or CLS, max, mean·√len, as `1_Pooling/config.json` says)
//!    over the real tokens, then L2-normalise when `modules.json` has a `Normalize` module.
//!
//! Results come back in input order. Equal to sentence-transformers to 1e-4 (tests against its
//! embeddings and an independent float64 implementation).
//!
//! ```no_run
//! use smelt_deep::encoder::{EmbedOptions, SentenceEncoder};
//!
//! let model = SentenceEncoder::load("models/all-MiniLM-L6-v2".as_ref())?;
//! let emb = model.embed(&["A man is eating food.", "A man rides a horse."], &EmbedOptions::default())?;
//! let cos: f32 = emb.row(0).iter().zip(emb.row(1)).map(|(a, b)| a * b).sum();
//! println!("{} vectors of {} values, cosine {cos:.3}", emb.len(), emb.dim());
//! # Ok::<(), smelt_deep::DeepError>(())
//! ```

pub mod bert;
pub mod config;
mod cpu;
mod gelu;
pub mod pooling;
mod predictor;
pub mod tokenize;

use std::path::{Path, PathBuf};

use self::bert::{Bert, Workspace};
use self::config::{BertConfig, Modules, PoolingConfig, PoolingMode, SentenceBertConfig};
use self::tokenize::{Encoded, TextTokenizer};
use crate::error::{DeepError, Result};
use smelt_core::Feature;

/// How [`SentenceEncoder::embed`] runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedOptions {
    /// Texts per forward pass (default 32, sentence-transformers' default; ≥ 1). Larger
    /// batches use more memory and rarely run faster on a CPU.
    pub batch_size: usize,
    /// Accept empty (or whitespace-only) texts (default false: they are an error naming the
    /// text). When true they are embedded as sentence-transformers does, from `[CLS] [SEP]`
    /// alone: a vector that says nothing about the text, but a valid one.
    pub allow_empty: bool,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            batch_size: 32,
            allow_empty: false,
        }
    }
}

/// Sentence vectors, one row per text, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Embeddings {
    dim: usize,
    values: Vec<f32>,
}

impl Embeddings {
    /// Values per vector.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Number of vectors.
    pub fn len(&self) -> usize {
        self.values.len().checked_div(self.dim).unwrap_or(0)
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
    /// Vector `i` (panics when `i >= len()`).
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }
    /// The vectors in order.
    pub fn rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.values.chunks_exact(self.dim.max(1))
    }
    /// All values, row after row.
    pub fn as_slice(&self) -> &[f32] {
        &self.values
    }
    /// The values, row after row, without copying.
    pub fn into_values(self) -> Vec<f32> {
        self.values
    }
    /// One `Vec` per text.
    pub fn to_vecs(&self) -> Vec<Vec<f32>> {
        self.rows().map(<[f32]>::to_vec).collect()
    }
}

/// A sentence-transformers model (BERT backbone) loaded for inference on the CPU.
///
/// It is also a [`Predictor`](smelt_core::Predictor) of kind `sentence_encoder`: one free-text
/// input (named `text` unless [`SentenceEncoder::with_input`] says otherwise) in, an
/// [`Embedding`](smelt_core::Prediction::Embedding) out, saved as an ordinary Smelt model file,
/// so `smelt predict` and `smelt serve` take it like any model.
pub struct SentenceEncoder {
    /// Where it was loaded from (a model directory or a Smelt model file).
    dir: PathBuf,
    /// The one free-text input feature, as a [`Predictor`](smelt_core::Predictor).
    input: Vec<Feature>,
    bert: Bert,
    tokenizer: TextTokenizer,
    modes: Vec<PoolingMode>,
    normalize: bool,
    max_seq_length: usize,
}

impl std::fmt::Debug for SentenceEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SentenceEncoder")
            .field("dir", &self.dir)
            .field("config", self.bert.config())
            .field("modes", &self.modes)
            .field("normalize", &self.normalize)
            .field("max_seq_length", &self.max_seq_length)
            .finish()
    }
}

/// The index of the first empty (or whitespace-only) text, if any.
pub fn first_empty(texts: &[&str]) -> Option<usize> {
    texts.iter().position(|t| t.trim().is_empty())
}

impl SentenceEncoder {
    /// Loads a sentence-transformers model directory: `modules.json`, `config.json`,
    /// `<pooling>/config.json`, `sentence_bert_config.json`, `model.safetensors`,
    /// `tokenizer.json`. A missing or malformed file is an error naming it; so is a tokenizer
    /// whose vocabulary does not match the embedding matrix, a pipeline other than
    /// Transformer → Pooling (→ Normalize), or a non-BERT backbone.
    pub fn load(dir: &Path) -> Result<SentenceEncoder> {
        if !dir.is_dir() {
            return Err(DeepError::Io {
                path: dir.to_path_buf(),
                source: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "not a directory (a sentence-transformers model directory is expected)",
                ),
            });
        }
        let modules = Modules::read(&dir.join("modules.json"))?;
        let cfg = BertConfig::read(&dir.join("config.json"))?;
        let pooling_path = dir.join(&modules.pooling_dir).join("config.json");
        let pooling = PoolingConfig::read(&pooling_path)?;
        if pooling.word_embedding_dimension != cfg.hidden_size {
            return Err(DeepError::Invalid {
                path: pooling_path,
                message: format!(
                    "word_embedding_dimension is {}, but the model's hidden_size is {}",
                    pooling.word_embedding_dimension, cfg.hidden_size
                ),
            });
        }
        let sbert_path = dir.join("sentence_bert_config.json");
        let sbert = SentenceBertConfig::read(&sbert_path)?;
        if sbert.max_seq_length > cfg.max_position_embeddings {
            return Err(DeepError::Invalid {
                path: sbert_path,
                message: format!(
                    "max_seq_length {} is beyond the model's max_position_embeddings {}",
                    sbert.max_seq_length, cfg.max_position_embeddings
                ),
            });
        }
        let bert = Bert::load(&cfg, &dir.join("model.safetensors"))?;
        let tokenizer = TextTokenizer::load(
            &dir.join("tokenizer.json"),
            sbert.max_seq_length,
            cfg.vocab_size,
            cfg.type_vocab_size,
            sbert.do_lower_case,
        )?;
        Ok(SentenceEncoder {
            dir: dir.to_path_buf(),
            input: vec![smelt_core::text_feature(predictor::DEFAULT_INPUT)],
            bert,
            tokenizer,
            modes: pooling.modes(),
            normalize: modules.normalize,
            max_seq_length: sbert.max_seq_length,
        })
    }

    /// Values per sentence vector (384 for MiniLM-L6).
    pub fn dim(&self) -> usize {
        pooling::pooled_dim(self.bert.config().hidden_size, &self.modes)
    }

    /// The longest input in tokens; longer texts are truncated.
    pub fn max_seq_length(&self) -> usize {
        self.max_seq_length
    }

    /// The model's BERT shapes.
    pub fn config(&self) -> &BertConfig {
        self.bert.config()
    }

    /// Token ids of each text, special tokens included, truncated as for embedding.
    pub fn tokenize(&self, texts: &[&str]) -> Result<Vec<Vec<u32>>> {
        Ok(self
            .tokenizer
            .encode(texts)?
            .into_iter()
            .map(|e| e.ids)
            .collect())
    }

    /// Embeds `texts`, one vector per text in input order.
    pub fn embed(&self, texts: &[&str], opts: &EmbedOptions) -> Result<Embeddings> {
        self.embed_with_progress(texts, opts, &mut |_| {})
    }

    /// [`embed`](Self::embed), calling `progress` with the number of texts done after each
    /// batch.
    pub fn embed_with_progress(
        &self,
        texts: &[&str],
        opts: &EmbedOptions,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Embeddings> {
        if opts.batch_size == 0 {
            return Err(DeepError::Input(
                "batch_size must be at least 1, got 0".into(),
            ));
        }
        if !opts.allow_empty
            && let Some(i) = first_empty(texts)
        {
            return Err(DeepError::Input(format!(
                "text {i} (counted from 0) is empty: its vector would come from [CLS] [SEP] alone; allow empty texts to embed it anyway, as sentence-transformers does"
            )));
        }
        let encoded = self.tokenizer.encode(texts)?;
        let dim = self.dim();
        let hidden = self.bert.config().hidden_size;
        let mut values = vec![0f32; texts.len() * dim];
        // Longest first, as sentence-transformers sorts: similar lengths share a batch, and
        // the first batch shows the worst memory use at once. Stable, so ties keep input order.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(encoded[i].ids.len()));
        let mut done = 0;
        let mut ws = Workspace::default();
        for batch in order.chunks(opts.batch_size) {
            let seqs: Vec<&Encoded> = batch.iter().map(|&i| &encoded[i]).collect();
            let ids: Vec<&[u32]> = seqs.iter().map(|e| e.ids.as_slice()).collect();
            let types: Vec<&[u32]> = seqs.iter().map(|e| e.type_ids.as_slice()).collect();
            self.bert.forward(&ids, &types, &mut ws, |j, states| {
                let i = batch[j];
                pooling::pool(
                    states,
                    hidden,
                    &self.modes,
                    self.normalize,
                    &mut values[i * dim..(i + 1) * dim],
                );
            });
            done += batch.len();
            progress(done);
        }
        Ok(Embeddings { dim, values })
    }
}
