//! A [`SentenceEncoder`] as a [`Predictor`] (kind `sentence_encoder`): one free-text column
//! in, one vector per row out ([`Prediction::Embedding`]). It saves as an ordinary Smelt model
//! file — the configuration and the tokenizer as JSON, the weights as f32 arrays in the
//! encoder's own layout — so `smelt predict`, `smelt serve` and the registry take it like any
//! other model.

use std::path::PathBuf;

use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Output, Prediction, Predictor,
    Registry, Result, UnknownCategory, text_feature,
};

use super::bert::Bert;
use super::config::{BertConfig, PoolingMode};
use super::tokenize::TextTokenizer;
use super::{EmbedOptions, SentenceEncoder, first_empty};

/// The input column's name unless [`SentenceEncoder::with_input`] renames it.
pub(super) const DEFAULT_INPUT: &str = "text";

/// The estimator name in messages.
const NAME: &str = "SentenceEncoder";

impl SentenceEncoder {
    /// The model kind in model files.
    pub const KIND: &'static str = "sentence_encoder";

    /// The encoder reading its texts from the column `name` when it predicts as a model
    /// (default `text`).
    pub fn with_input(mut self, name: &str) -> SentenceEncoder {
        self.input = vec![text_feature(name)];
        self
    }

    /// The input column's name.
    pub fn input_name(&self) -> &str {
        &self.input[0].name
    }

    /// Registry loader: reads what [`Predictor::save`] wrote.
    pub fn load_artifact(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let input: Vec<Feature> = r.get("input")?;
        if input.len() != 1 || input[0].ltype != smelt_core::LogicalType::Text {
            return Err(r.invalid("a sentence encoder reads exactly one text column"));
        }
        let cfg: BertConfig = r.get("config")?;
        let modes: Vec<PoolingMode> = r.get("pooling")?;
        if modes.is_empty() {
            return Err(r.invalid("no pooling mode"));
        }
        let normalize: bool = r.get("normalize")?;
        let max_seq_length: usize = r.get("max_seq_length")?;
        let lowercase: bool = r.get("lowercase")?;
        let tokenizer: serde_json::Value = r.get("tokenizer")?;
        let tokenizer = TextTokenizer::from_json(
            &tokenizer.to_string(),
            r.path(),
            max_seq_length,
            cfg.vocab_size,
            cfg.type_vocab_size,
            lowercase,
        )?;
        let bert = Bert::read(r, &cfg)?;
        Ok(Box::new(SentenceEncoder {
            dir: PathBuf::from(r.path()),
            input,
            bert,
            tokenizer,
            modes,
            normalize,
            max_seq_length,
        }))
    }

    /// The texts of the input column, one per row; a missing or empty one is an error naming
    /// its row.
    fn texts<'a>(&self, data: &'a Dataset<f64>) -> Result<Vec<&'a str>> {
        // A missing column is named, with the closest one the table has.
        data.conform(&self.input, UnknownCategory::Missing)?;
        let name = self.input_name();
        let col = data.text(name).ok_or_else(|| CoreError::MissingColumn {
            name: name.to_string(),
            suggestion: None,
        })?;
        let bad = |i: usize, what: &str| CoreError::BadParam {
            estimator: NAME.into(),
            message: format!(
                "row {i} (counted from 0) of `{name}` is {what}: its vector would say nothing about it; send a non-empty text"
            ),
            suggestion: None,
        };
        let texts: Vec<&str> = col
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| v.as_deref().ok_or_else(|| bad(i, "missing")))
            .collect::<Result<_>>()?;
        if let Some(i) = first_empty(&texts) {
            return Err(bad(i, "empty"));
        }
        Ok(texts)
    }
}

impl Predictor for SentenceEncoder {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Embedding { dim: self.dim() }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let texts = self.texts(data)?;
        let emb = self.embed(&texts, &EmbedOptions::default())?;
        Ok(Prediction::Embedding {
            dim: emb.dim(),
            values: emb.into_values(),
        })
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put("input", &self.input)?;
        w.put("config", self.bert.config())?;
        w.put("pooling", &self.modes)?;
        w.put("normalize", &self.normalize)?;
        w.put("max_seq_length", &self.max_seq_length)?;
        w.put("lowercase", &self.tokenizer.lowercase())?;
        let json = self.tokenizer.to_json()?;
        let tok: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| CoreError::Engine {
                engine: "tokenizers",
                message: format!("the tokenizer is not JSON: {e}"),
            })?;
        w.put("tokenizer", &tok)?;
        self.bert.save(w)
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
