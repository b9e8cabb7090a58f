//! Text classifiers on the free-text columns of a table ([`smelt_core::Dataset::texts`]):
//!
//! - `transformer_classifier` ([`TransformerClassifierParams`]): a small BERT-style encoder
//!   trained from scratch, with a WordPiece vocabulary learnt from the training texts
//!   ([`vocab`]);
//! - `finetune_classifier` ([`FinetuneClassifierParams`]): a pretrained sentence encoder
//!   (a sentence-transformers directory with a BERT backbone, e.g. all-MiniLM-L6-v2)
//!   fine-tuned with a classification head — every weight, or LoRA adapters (`lora_rank`).
//!
//! Both read the table's text columns (all of them joined by `". "`, or `text_columns`),
//! mean-pool the encoder's last hidden states over the real tokens and classify the pooled
//! vector ([`net`]). Training is the shared loop ([`crate::train`]): AdamW-style optimizers,
//! schedules, early stopping on a held-out share keeping the best epoch, checkpoints.
//! A fitted model stores its tokenizer, its shapes and its weights (JSON + f32 arrays), so
//! `smelt predict` and `smelt serve` need nothing else.

mod fast;
pub mod net;
pub mod vocab;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, classification_target};
use smelt_core::rng::Rng;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, TextColumn, text_feature,
};

use crate::encoder::config::{Activation, BertConfig, SentenceBertConfig};
use crate::encoder::tokenize::TextTokenizer;
use crate::error::DeepError;
use crate::recipe::Recipe;
use crate::train::{self, Batch, BatchSource, History, Loss, Network};
use fast::FastNet;
use net::TextNet;

crate::deep_params! {
    /// Parameters of a transformer encoder trained from scratch for text classification
    /// (`transformer_classifier`).
    TransformerClassifierParams, "TransformerClassifier",
    epochs: 10, batch_size: 32, lr: 1e-3, schedule: OneCycle, early_stopping: true,
    {
        /// The text columns to read, joined by ". " in this order; default: every free-text
        /// column of the table.
        text_columns: Vec<String> = Vec::new();
        /// Longest input in tokens ([CLS] and [SEP] included), `>= 3`; longer texts are
        /// truncated; default 128.
        max_length: usize = 128, range: at_least_int(3);
        /// Tokens in the WordPiece vocabulary learnt from the training texts, `>= 100`;
        /// default 8000.
        vocab_size: usize = 8000, range: at_least_int(100);
        /// Width of the hidden states, `>= 8`; default 128.
        hidden_size: usize = 128, range: at_least_int(8);
        /// Transformer layers, `>= 1`; default 2.
        num_layers: usize = 2, range: at_least_int(1);
        /// Attention heads (divides `hidden_size`), `>= 1`; default 4.
        num_heads: usize = 4, range: at_least_int(1);
        /// Width of the feed-forward layers, `>= 1`; default 256.
        intermediate_size: usize = 256, range: at_least_int(1);
        /// Dropout on embeddings, sub-layer outputs and the pooled vector, `[0, 1)`;
        /// default 0.1.
        dropout: f64 = 0.1, range: within(0.0, 0.99);
    }
}

crate::deep_params! {
    /// Parameters of a pretrained sentence encoder fine-tuned for text classification
    /// (`finetune_classifier`).
    FinetuneClassifierParams, "FinetuneClassifier",
    epochs: 3, batch_size: 16, lr: 5e-5, schedule: Cosine, early_stopping: true,
    {
        /// The sentence-transformers directory (BERT backbone) to start from; default:
        /// `$SMELT_MINILM_DIR`, else `~/.cache/smelt-minilm` (where `scripts/fetch-minilm`
        /// puts all-MiniLM-L6-v2).
        encoder: Option<String> = None, setter: some(String);
        /// The text columns to read, joined by ". " in this order; default: every free-text
        /// column of the table.
        text_columns: Vec<String> = Vec::new();
        /// Longest input in tokens ([CLS] and [SEP] included), `>= 3`; longer texts are
        /// truncated (at most the encoder's own limit); default 128.
        max_length: usize = 128, range: at_least_int(3);
        /// Rank of LoRA adapters on the query and value projections, the encoder frozen
        /// (raise `learning_rate_init` to ~1e-3 with them); 0 trains every weight; default 0.
        lora_rank: usize = 0;
        /// LoRA's scale numerator α (the update is scaled by α / rank), `(0, inf)`;
        /// default 16.
        lora_alpha: f64 = 16.0, range: greater(0.0);
        /// Dropout on embeddings, sub-layer outputs and the pooled vector, `[0, 1)`;
        /// default 0.1.
        dropout: f64 = 0.1, range: within(0.0, 0.99);
    }
}

/// What the two estimators share once their parameters are read.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Layout {
    text_columns: Vec<String>,
    max_length: usize,
    dropout: f64,
    // From scratch:
    #[serde(default)]
    vocab_size: usize,
    #[serde(default)]
    hidden_size: usize,
    #[serde(default)]
    num_layers: usize,
    #[serde(default)]
    num_heads: usize,
    #[serde(default)]
    intermediate_size: usize,
    // Fine-tuning:
    #[serde(default)]
    encoder: Option<String>,
    #[serde(default)]
    lora_rank: usize,
    #[serde(default)]
    lora_alpha: f64,
}

fn layout<P: serde::Serialize>(p: &P) -> Result<Layout> {
    serde_json::to_value(p)
        .and_then(serde_json::from_value)
        .map_err(|e| CoreError::Engine {
            engine: "smelt-deep",
            message: format!("reading the text model's parameters: {e}"),
        })
}

/// Where the network starts from.
enum Start {
    Scratch,
    Pretrained,
}

/// A fitted text classifier (either estimator).
#[derive(Debug)]
pub struct TextClassifier {
    estimator: &'static str,
    params: serde_json::Value,
    /// The text columns read, as input features (logical type text).
    input: Vec<Feature>,
    classes: Vec<String>,
    tokenizer: TokenizerBox,
    net: TextNet,
    /// The same network in the sentence encoder's inference layout: what `predict` runs.
    fast: Option<FastNet>,
    /// Longest input in tokens.
    max_length: usize,
    history: History,
}

/// The tokenizer with its JSON text (what the model file stores).
struct TokenizerBox {
    inner: TextTokenizer,
    json: String,
    lowercase: bool,
}

impl std::fmt::Debug for TokenizerBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("lowercase", &self.lowercase)
            .finish_non_exhaustive()
    }
}

/// The text of each row: the columns' values joined by ". " (missing ones skipped). A row
/// with nothing to read is an error naming it.
fn row_texts(
    estimator: &'static str,
    data: &Dataset<f64>,
    columns: &[String],
) -> Result<Vec<String>> {
    let cols: Vec<&TextColumn> = columns
        .iter()
        .map(|c| {
            data.text(c).ok_or_else(|| {
                let have: Vec<&str> = data.texts().iter().map(|t| t.name.as_str()).collect();
                CoreError::BadParam {
                    estimator: estimator.into(),
                    message: format!(
                        "text column `{c}` is not a free-text column of the table (free-text columns: {})",
                        if have.is_empty() { "none".to_string() } else { have.join(", ") }
                    ),
                    suggestion: None,
                }
            })
        })
        .collect::<Result<_>>()?;
    (0..data.n_rows())
        .map(|i| {
            let parts: Vec<&str> = cols
                .iter()
                .filter_map(|c| c.values[i].as_deref())
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect();
            if parts.is_empty() {
                return Err(CoreError::BadParam {
                    estimator: estimator.into(),
                    message: format!(
                        "row {i} (counted from 0) has no text in {}: drop or fill the rows with empty texts",
                        columns.join(", ")
                    ),
                    suggestion: None,
                });
            }
            Ok(parts.join(". "))
        })
        .collect()
}

/// The pretrained encoder directory: the parameter, else `$SMELT_MINILM_DIR`, else
/// `~/.cache/smelt-minilm`.
fn encoder_dir(estimator: &'static str, given: Option<&str>) -> Result<PathBuf> {
    if let Some(d) = given {
        return Ok(PathBuf::from(d));
    }
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("SMELT_MINILM_DIR") {
        candidates.push(PathBuf::from(d));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/smelt-minilm"));
    }
    candidates
        .iter()
        .find(|d| d.join("model.safetensors").is_file())
        .cloned()
        .ok_or_else(|| CoreError::BadParam {
            estimator: estimator.into(),
            message: format!(
                "no pretrained encoder found (looked in {}): pass `-p encoder=DIR` (a sentence-transformers directory) or run scripts/fetch-minilm",
                candidates
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            suggestion: None,
        })
}

/// A pretrained encoder read for fine-tuning.
struct Pretrained {
    cfg: BertConfig,
    weights: HashMap<String, Tensor>,
    tokenizer: TokenizerBox,
    max_length: usize,
}

fn read_pretrained(dir: &Path, max_length: usize) -> std::result::Result<Pretrained, DeepError> {
    let cfg = BertConfig::read(&dir.join("config.json"))?;
    let sbert = SentenceBertConfig::read(&dir.join("sentence_bert_config.json"))?;
    let max_length = max_length
        .min(sbert.max_seq_length)
        .min(cfg.max_position_embeddings);
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).map_err(|source| DeepError::Io {
        path: path.clone(),
        source,
    })?;
    let tensors = candle_core::safetensors::load_buffer(&bytes, &Device::Cpu).map_err(|e| {
        DeepError::Invalid {
            path: path.clone(),
            message: format!("not a readable safetensors file: {e}"),
        }
    })?;
    let weights = TextNet::hf_weights(&cfg, &tensors).map_err(|message| DeepError::Invalid {
        path: path.clone(),
        message,
    })?;
    let tok_path = dir.join("tokenizer.json");
    let json = std::fs::read_to_string(&tok_path).map_err(|source| DeepError::Io {
        path: tok_path.clone(),
        source,
    })?;
    let inner = TextTokenizer::from_json(
        &json,
        &tok_path,
        max_length,
        cfg.vocab_size,
        cfg.type_vocab_size,
        sbert.do_lower_case,
    )?;
    Ok(Pretrained {
        cfg,
        weights,
        tokenizer: TokenizerBox {
            inner,
            json,
            lowercase: sbert.do_lower_case,
        },
        max_length,
    })
}

/// Token ids of each text, in input order.
fn tokenize(tok: &TextTokenizer, texts: &[String]) -> Result<Vec<Vec<u32>>> {
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    Ok(tok.encode(&refs)?.into_iter().map(|e| e.ids).collect())
}

/// Rows of tokenised texts as padded mini-batches.
struct TextSource<'a> {
    ids: &'a [Vec<u32>],
    rows: Vec<usize>,
    codes: Option<&'a [u32]>,
    device: &'a Device,
}

impl BatchSource for TextSource<'_> {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }

    fn batch(&self, rows: &[usize], _augment: Option<u64>) -> crate::Result<Batch> {
        let n = rows.len();
        let longest = rows
            .iter()
            .map(|&r| self.ids[self.rows[r]].len())
            .max()
            .unwrap_or(1)
            .max(1);
        let mut ids = vec![0u32; n * longest];
        let mut mask = vec![0f32; n * longest];
        for (b, &r) in rows.iter().enumerate() {
            let seq = &self.ids[self.rows[r]];
            ids[b * longest..b * longest + seq.len()].copy_from_slice(seq);
            mask[b * longest..b * longest + seq.len()].fill(1.0);
        }
        let make = || -> candle_core::Result<Batch> {
            let target = match self.codes {
                Some(c) => {
                    let t: Vec<u32> = rows.iter().map(|&r| c[self.rows[r]]).collect();
                    Tensor::from_vec(t, n, self.device)?
                }
                None => Tensor::zeros(0, DType::F32, self.device)?,
            };
            Ok(Batch {
                inputs: vec![
                    Tensor::from_vec(ids, (n, longest), self.device)?,
                    Tensor::from_vec(mask, (n, longest), self.device)?,
                ],
                target,
                rows: n,
            })
        };
        make().map_err(DeepError::candle("building a batch of texts"))
    }
}

fn fit_text(
    estimator: &'static str,
    params: serde_json::Value,
    layout: &Layout,
    recipe: &Recipe,
    start: Start,
    data: &Dataset<f64>,
    weights: Option<&[f64]>,
) -> Result<TextClassifier> {
    check_sample_weight(estimator, data.n_rows(), weights)?;
    if weights.is_some() {
        return Err(CoreError::SampleWeight {
            estimator,
            reason: "text classifiers do not take sample weights; resample the rows instead".into(),
        });
    }
    let device = train::device(&recipe.device)?;
    let columns: Vec<String> = if layout.text_columns.is_empty() {
        data.texts().iter().map(|t| t.name.clone()).collect()
    } else {
        layout.text_columns.clone()
    };
    if columns.is_empty() {
        return Err(CoreError::BadParam {
            estimator: estimator.into(),
            message: "the table has no free-text column to read (a column of many distinct strings); name one with `-p text_columns=[\"review\"]` or declare it `text` in the schema".into(),
            suggestion: None,
        });
    }
    let texts = row_texts(estimator, data, &columns)?;
    let (codes, classes) = classification_target(estimator, data)?;
    let n = texts.len();
    if n < 2 {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows",
            needed: 2,
            got: n,
        });
    }
    let (train_rows, valid_rows) = if recipe.early_stopping {
        train::holdout(
            n,
            recipe.validation_fraction,
            Some(codes),
            recipe.random_state,
        )
    } else {
        ((0..n).collect(), Vec::new())
    };
    let candle = |what: &'static str| {
        move |e: candle_core::Error| CoreError::from(DeepError::candle(what)(e))
    };
    // The tokenizer and the shapes first: the memory check needs the longest text.
    let (tokenizer, cfg, pretrained, max_length) = match start {
        Start::Scratch => {
            if !layout.hidden_size.is_multiple_of(layout.num_heads) {
                return Err(CoreError::BadParam {
                    estimator: estimator.into(),
                    message: format!(
                        "hidden_size {} is not a multiple of num_heads {}",
                        layout.hidden_size, layout.num_heads
                    ),
                    suggestion: None,
                });
            }
            let train_texts: Vec<&str> = train_rows.iter().map(|&i| texts[i].as_str()).collect();
            let trained = vocab::train_wordpiece(&train_texts, layout.vocab_size, 2)?;
            let vocab = trained.get_vocab_size(true);
            let json = trained
                .to_string(false)
                .map_err(|e| DeepError::Input(format!("writing the vocabulary: {e}")))?;
            let inner = TextTokenizer::new(
                trained,
                Path::new("<learnt vocabulary>"),
                layout.max_length,
                vocab,
                1,
                false,
            )?;
            let cfg = BertConfig {
                vocab_size: vocab,
                hidden_size: layout.hidden_size,
                num_hidden_layers: layout.num_layers,
                num_attention_heads: layout.num_heads,
                intermediate_size: layout.intermediate_size,
                hidden_act: Activation::Gelu,
                max_position_embeddings: layout.max_length,
                type_vocab_size: 1,
                layer_norm_eps: 1e-12,
                position_embedding_type: "absolute".into(),
                model_type: Some("bert".into()),
            };
            let tok = TokenizerBox {
                inner,
                json,
                lowercase: false,
            };
            (tok, cfg, None, layout.max_length)
        }
        Start::Pretrained => {
            let dir = encoder_dir(estimator, layout.encoder.as_deref())?;
            let p = read_pretrained(&dir, layout.max_length)?;
            (p.tokenizer, p.cfg, Some((dir, p.weights)), p.max_length)
        }
    };
    let ids = tokenize(&tokenizer.inner, &texts)?;
    let longest = ids.iter().map(Vec::len).max().unwrap_or(1);
    crate::memory::check(
        estimator,
        net::floats_per_row(&cfg, longest),
        recipe.batch_size.min(train_rows.len().max(1)),
        net::weight_count(&cfg, classes.len()),
        crate::memory::available(),
        "lower max_length or the network's size",
    )?;
    let mut net = match pretrained {
        None => TextNet::new(
            &cfg,
            classes.len(),
            layout.dropout,
            recipe.random_state,
            &device,
        )
        .map_err(candle("initialising the network"))?,
        Some((dir, weights)) => TextNet::from_weights(
            &cfg,
            classes.len(),
            layout.dropout,
            recipe.random_state,
            weights,
            &device,
        )
        .map_err(|message| DeepError::Invalid {
            path: dir.join("model.safetensors"),
            message,
        })?,
    };
    if layout.lora_rank > 0 {
        net.add_lora(layout.lora_rank, layout.lora_alpha, recipe.random_state)
            .map_err(candle("adding LoRA adapters"))?;
    }
    let train_src = TextSource {
        ids: &ids,
        rows: train_rows,
        codes: Some(codes),
        device: &device,
    };
    let valid_src = TextSource {
        ids: &ids,
        rows: valid_rows,
        codes: Some(codes),
        device: &device,
    };
    let config = recipe.fit_config(estimator);
    let valid = (!valid_src.rows.is_empty()).then_some(&valid_src as &dyn BatchSource);
    let history = train::fit(&net, Loss::CrossEntropy, &train_src, valid, &config)?;
    Ok(TextClassifier {
        estimator,
        params,
        input: columns.iter().map(|c| text_feature(c)).collect(),
        classes: classes.to_vec(),
        tokenizer,
        fast: FastNet::of(&net),
        net,
        max_length,
        history,
    })
}

macro_rules! fit_impl {
    ($params:ident, $est:literal, $start:expr) => {
        impl Fit for $params {
            type Model = TextClassifier;

            fn name(&self) -> &'static str {
                $est
            }

            fn check(&self) -> Vec<ParamError> {
                self.check_ranges()
            }

            fn reads_text(&self) -> bool {
                true
            }

            fn fit_weighted(
                &self,
                data: &Dataset<f64>,
                w: Option<&[f64]>,
            ) -> Result<TextClassifier> {
                self.validate()?;
                let params = serde_json::to_value(self).unwrap_or_default();
                fit_text(
                    $est,
                    params,
                    &layout(self)?,
                    &Recipe::of(self)?,
                    $start,
                    data,
                    w,
                )
            }
        }
    };
}

fit_impl!(
    TransformerClassifierParams,
    "TransformerClassifier",
    Start::Scratch
);
fit_impl!(
    FinetuneClassifierParams,
    "FinetuneClassifier",
    Start::Pretrained
);

/// Class probabilities of tokenised texts through the candle network (the training graph's
/// forward pass), row-major `[texts, k]`: for a network whose weights could not be put in the
/// inference layout ([`FastNet`]), and the reference [`FastNet`] is tested against.
fn candle_proba(net: &TextNet, ids: &[Vec<u32>], k: usize) -> Result<Vec<f64>> {
    let mut out = vec![0f64; ids.len() * k];
    // Longest first, so each batch pads little.
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
    let device = Device::Cpu;
    let src = TextSource {
        ids,
        rows: order.clone(),
        codes: None,
        device: &device,
    };
    let mut rng = Rng::new(0);
    let positions: Vec<usize> = (0..order.len()).collect();
    for chunk in positions.chunks(PREDICT_BATCH) {
        let batch = src.batch(chunk, None)?;
        let logits = net
            .forward(&batch.inputs, false, &mut rng)
            .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
            .map_err(DeepError::candle("scoring texts"))?;
        for (row, &p) in logits.chunks(k).zip(chunk) {
            let i = order[p];
            train::softmax_row(row, &mut out[i * k..(i + 1) * k]);
        }
    }
    Ok(out)
}

/// Texts scored per forward pass at prediction.
const PREDICT_BATCH: usize = 64;

impl TextClassifier {
    /// The model kind of a transformer trained from scratch.
    pub const KIND: &'static str = "transformer_classifier";
    /// The model kind of a fine-tuned pretrained encoder.
    pub const FINETUNE_KIND: &'static str = "finetune_classifier";

    /// What the fit recorded per epoch.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// Class probabilities, row-major `[rows, classes]`.
    fn proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        // A missing text column is named (with the closest one the table has).
        data.conform(&self.input, smelt_core::UnknownCategory::Missing)?;
        let columns: Vec<String> = self.input.iter().map(|f| f.name.clone()).collect();
        let texts = row_texts(self.estimator, data, &columns)?;
        let ids = tokenize(&self.tokenizer.inner, &texts)?;
        if let Some(fast) = &self.fast {
            return Ok(fast.proba(&ids));
        }
        candle_proba(&self.net, &ids, self.classes.len())
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, serde_json::Value) = load_common(r)?;
        let estimator: String = r.get("estimator")?;
        let estimator = match estimator.as_str() {
            "TransformerClassifier" => "TransformerClassifier",
            "FinetuneClassifier" => "FinetuneClassifier",
            other => return Err(r.invalid(format!("unknown text estimator `{other}`"))),
        };
        let classes: Vec<String> = r.get("classes")?;
        let history: History = r.get("history")?;
        let cfg: BertConfig = r.get("config")?;
        let dropout: f64 = r.get("dropout")?;
        let max_length: usize = r.get("max_length")?;
        let lowercase: bool = r.get("lowercase")?;
        let tokenizer: serde_json::Value = r.get("tokenizer")?;
        let json = tokenizer.to_string();
        let inner = TextTokenizer::from_json(
            &json,
            r.path(),
            max_length,
            cfg.vocab_size,
            cfg.type_vocab_size,
            lowercase,
        )?;
        let names: Vec<String> = r.get("weight_names")?;
        let device = Device::Cpu;
        let mut weights = HashMap::new();
        for name in names {
            let key = format!("w.{name}");
            let t = crate::weights::get(r, &key, net::weight_ndim(&name), &device)?;
            weights.insert(name, t);
        }
        let net = TextNet::from_weights(&cfg, classes.len(), dropout, 0, weights, &device)
            .map_err(|m| r.invalid(m))?;
        Ok(Box::new(TextClassifier {
            estimator,
            params,
            input,
            classes,
            tokenizer: TokenizerBox {
                inner,
                json,
                lowercase,
            },
            fast: FastNet::of(&net),
            net,
            max_length,
            history,
        }))
    }
}

impl Predictor for TextClassifier {
    fn kind(&self) -> &str {
        match self.estimator {
            "FinetuneClassifier" => Self::FINETUNE_KIND,
            _ => Self::KIND,
        }
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let values = self.proba(data)?;
        Ok(Prediction::from_proba(
            Proba {
                n_classes: self.classes.len(),
                values,
            },
            self.classes.clone(),
        ))
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        Some(self.history.series())
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("estimator", self.estimator)?;
        w.put("classes", &self.classes)?;
        w.put("history", &self.history)?;
        w.put("config", self.net.config())?;
        w.put("dropout", &self.net.dropout)?;
        w.put("max_length", &self.max_length)?;
        w.put("lowercase", &self.tokenizer.lowercase)?;
        let tok: serde_json::Value =
            serde_json::from_str(&self.tokenizer.json).map_err(|e| CoreError::Engine {
                engine: "tokenizers",
                message: format!("the tokenizer is not JSON: {e}"),
            })?;
        w.put("tokenizer", &tok)?;
        let weights = self.net.weights().map_err(|e| CoreError::Engine {
            engine: "candle",
            message: format!("reading the weights: {e}"),
        })?;
        let names: Vec<&str> = weights.iter().map(|(n, _)| n.as_str()).collect();
        w.put("weight_names", &names)?;
        for (name, t) in &weights {
            crate::weights::put(w, &format!("w.{name}"), t)?;
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
