//! Deep learning for Smelt on Hugging Face's [candle](https://github.com/huggingface/candle):
//! PyTorch's role in the platform.
//!
//! - [`train`]: the training machinery every network shares — mini-batches, optimizers
//!   (SGD with momentum/Nesterov, Adam, AdamW), learning-rate schedules, gradient clipping,
//!   early stopping that keeps the best weights, a NaN-loss guard, per-epoch history.
//! - [`mlp`]: feed-forward networks for tabular data through the estimator API
//!   (`mlp_classifier`, `mlp_regressor`): categorical columns embedded, numbers standardised,
//!   so they join pipelines, cross-validation, the ladder and serving like any model.
//! - [`cnn`]: convolutional image classifiers (`cnn_classifier`: conv/BN/pool stages or a
//!   small ResNet, augmentation on the loader thread) over pixel tables and image folders.
//! - [`rnn`]: recurrent networks for sequences (`lstm_regressor`, `gru_regressor`: LSTM/GRU
//!   cells with PyTorch's equations, stacked, bidirectional) over the lag columns
//!   `smelt data window` writes from a time series.
//! - [`text`]: text classifiers on free-text columns — a transformer trained from scratch
//!   (`transformer_classifier`, its WordPiece vocabulary learnt from the texts) and a
//!   pretrained sentence encoder fine-tuned fully or with LoRA (`finetune_classifier`).
//! - [`encoder`]: pretrained sentence encoders — a sentence-transformers model directory
//!   (BERT, e.g. all-MiniLM-L6-v2) run on candle: texts in, normalised vectors out.
//!
//! Everything runs on the CPU by default; the `cuda` cargo feature builds candle's CUDA
//! kernels. Weights are saved as ordinary Smelt model files (JSON + safetensors).

pub mod catalog;
pub mod cnn;
pub mod encoder;
mod error;
mod init;
pub mod kernels;
pub mod memory;
pub mod mlp;
pub mod recipe;
pub mod rnn;
pub mod text;
pub mod train;
mod weights;

pub use error::{DeepError, Result};

use smelt_core::Registry;

/// Registers this crate's model kinds.
pub fn register(registry: &mut Registry) {
    registry.add_predictor(mlp::Mlp::KIND, mlp::Mlp::load);
    registry.add_predictor(mlp::Mlp::REGRESSOR_KIND, mlp::Mlp::load);
    registry.add_predictor(cnn::Cnn::KIND, cnn::Cnn::load);
    registry.add_predictor(rnn::Rnn::LSTM_KIND, rnn::Rnn::load);
    registry.add_predictor(rnn::Rnn::GRU_KIND, rnn::Rnn::load);
    registry.add_predictor(text::TextClassifier::KIND, text::TextClassifier::load);
    registry.add_predictor(
        text::TextClassifier::FINETUNE_KIND,
        text::TextClassifier::load,
    );
    registry.add_predictor(
        encoder::SentenceEncoder::KIND,
        encoder::SentenceEncoder::load_artifact,
    );
}

/// A registry with this crate's kinds.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register(&mut r);
    r
}
