//! This crate's estimators for `smelt train --model NAME` (the types are
//! [`smelt_core::catalog`]'s).

use smelt_core::catalog::{ModelInfo, Prep, Task};

use crate::cnn::CNNClassifierParams;
use crate::mlp::{MLPClassifierParams, MLPRegressorParams};
use crate::rnn::{GRURegressorParams, LSTMRegressorParams};
use crate::text::{FinetuneClassifierParams, TransformerClassifierParams};

/// The networks `smelt train` knows.
pub fn models() -> &'static [ModelInfo] {
    const MODELS: &[ModelInfo] = &[
        ModelInfo::of::<MLPClassifierParams>(
            "mlp_classifier",
            Task::Classification,
            Prep::Native,
            "feed-forward network (candle): embedded categories, standardised numbers, Adam, early stopping",
        ),
        ModelInfo::of::<MLPRegressorParams>(
            "mlp_regressor",
            Task::Regression,
            Prep::Native,
            "feed-forward network regressor (candle): embedded categories, standardised numbers",
        ),
        ModelInfo::of::<CNNClassifierParams>(
            "cnn_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "convolutional network for images (pixel columns or an image folder): conv/BN/pool stages or a small ResNet, augmentation",
        ),
        ModelInfo::of::<LSTMRegressorParams>(
            "lstm_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "LSTM over lag columns (`smelt data window`): stacked, bidirectional, predicts the change from the last value",
        ),
        ModelInfo::of::<GRURegressorParams>(
            "gru_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "GRU over lag columns (`smelt data window`): stacked, bidirectional, predicts the change from the last value",
        ),
        ModelInfo::of::<TransformerClassifierParams>(
            "transformer_classifier",
            Task::Classification,
            Prep::Native,
            "transformer encoder trained from scratch on the free-text columns (WordPiece vocabulary learnt from them)",
        ),
        ModelInfo::of::<FinetuneClassifierParams>(
            "finetune_classifier",
            Task::Classification,
            Prep::Native,
            "pretrained sentence encoder (all-MiniLM-L6-v2 by default) fine-tuned on the free-text columns, fully or with LoRA",
        ),
    ];
    MODELS
}
