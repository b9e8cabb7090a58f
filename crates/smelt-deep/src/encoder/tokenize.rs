//! Texts → token ids with Hugging Face's `tokenizers` (pure Rust, `fancy-regex`), set up as
//! sentence-transformers does: no padding (batches are packed), truncation to the model's
//! `max_seq_length` special tokens included — not the fixed 128-token padding and truncation
//! that `tokenizer.json` files often carry.

use std::path::Path;

use rayon::prelude::*;
use tokenizers::{Tokenizer, TruncationDirection, TruncationParams, TruncationStrategy};

use crate::error::{DeepError, Result};

/// One text's ids, special tokens included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Segment ids (all 0 for one sentence).
    pub type_ids: Vec<u32>,
}

/// A tokenizer checked against the model it feeds.
pub struct TextTokenizer {
    inner: Tokenizer,
    lowercase: bool,
    type_vocab: u32,
}

impl TextTokenizer {
    /// Reads `tokenizer.json`, turns its padding off and truncates to `max_len` tokens.
    /// Refuses a tokenizer whose vocabulary (added tokens included) is not the embedding
    /// matrix's `vocab_rows`: its ids would index other tokens' rows, or none.
    pub fn load(
        path: &Path,
        max_len: usize,
        vocab_rows: usize,
        type_vocab: usize,
        lowercase: bool,
    ) -> Result<TextTokenizer> {
        if !path.exists() {
            return Err(DeepError::Io {
                path: path.to_path_buf(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file"),
            });
        }
        let inner = Tokenizer::from_file(path).map_err(|e| DeepError::Invalid {
            path: path.to_path_buf(),
            message: format!("not a readable tokenizer: {e}"),
        })?;
        Self::new(inner, path, max_len, vocab_rows, type_vocab, lowercase)
    }

    /// A tokenizer from its JSON text (a `tokenizer.json` kept in a model file at `path`).
    pub fn from_json(
        json: &str,
        path: &Path,
        max_len: usize,
        vocab_rows: usize,
        type_vocab: usize,
        lowercase: bool,
    ) -> Result<TextTokenizer> {
        let inner: Tokenizer = json.parse().map_err(|e| DeepError::Invalid {
            path: path.to_path_buf(),
            message: format!("not a readable tokenizer: {e}"),
        })?;
        Self::new(inner, path, max_len, vocab_rows, type_vocab, lowercase)
    }

    /// `inner` checked against the model (see [`TextTokenizer::load`]).
    pub fn new(
        mut inner: Tokenizer,
        path: &Path,
        max_len: usize,
        vocab_rows: usize,
        type_vocab: usize,
        lowercase: bool,
    ) -> Result<TextTokenizer> {
        let invalid = |message: String| DeepError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let size = inner.get_vocab_size(true);
        if size != vocab_rows {
            return Err(invalid(format!(
                "the tokenizer does not match the weights: its vocabulary has {size} tokens, the word-embedding matrix {vocab_rows} rows"
            )));
        }
        inner.with_padding(None);
        inner
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                strategy: TruncationStrategy::LongestFirst,
                stride: 0,
                direction: TruncationDirection::Right,
            }))
            .map_err(|e| invalid(format!("cannot truncate to {max_len} tokens: {e}")))?;
        Ok(TextTokenizer {
            inner,
            lowercase,
            type_vocab: u32::try_from(type_vocab).unwrap_or(u32::MAX),
        })
    }

    /// The tokenizer as `tokenizer.json` text.
    pub fn to_json(&self) -> Result<String> {
        self.inner
            .to_string(false)
            .map_err(|e| DeepError::Input(format!("cannot write the tokenizer: {e}")))
    }

    /// Whether texts are lower-cased before tokenising.
    pub fn lowercase(&self) -> bool {
        self.lowercase
    }

    /// Tokenises every text (in parallel on rayon's pool), in input order. An error names
    /// the text's index.
    pub fn encode(&self, texts: &[&str]) -> Result<Vec<Encoded>> {
        texts
            .par_iter()
            .enumerate()
            .map(|(i, text)| {
                let lowered;
                let text = if self.lowercase {
                    lowered = text.to_lowercase();
                    lowered.as_str()
                } else {
                    text
                };
                let enc = self
                    .inner
                    .encode(text, true)
                    .map_err(|e| DeepError::Input(format!("text {i}: cannot tokenise: {e}")))?;
                let ids = enc.get_ids().to_vec();
                let type_ids = enc.get_type_ids().to_vec();
                if ids.is_empty() {
                    return Err(DeepError::Input(format!(
                        "text {i}: the tokenizer produced no tokens (no [CLS]/[SEP] template?)"
                    )));
                }
                if let Some(t) = type_ids.iter().find(|&&t| t >= self.type_vocab) {
                    return Err(DeepError::Input(format!(
                        "text {i}: segment id {t} is beyond the model's {} segment types",
                        self.type_vocab
                    )));
                }
                Ok(Encoded { ids, type_ids })
            })
            .collect()
    }
}
