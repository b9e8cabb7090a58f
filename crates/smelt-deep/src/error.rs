//! This crate's error type.

use std::path::PathBuf;

use smelt_core::CoreError;
use thiserror::Error;

/// Errors of networks outside the estimator API (encoders, checkpoints, image folders).
/// Estimators return [`smelt_core::CoreError`], as every model does.
#[derive(Debug, Error)]
pub enum DeepError {
    /// A tensor operation failed inside candle.
    #[error("{context}: {source}")]
    Candle {
        context: String,
        source: candle_core::Error,
    },
    /// A file that could not be read or written.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A file that was read but is not what it should be (a config, weights, a tokenizer).
    #[error("{path}: {message}", path = .path.display())]
    Invalid { path: PathBuf, message: String },
    /// Input the network cannot take (empty texts, NaN features, a sequence too short…).
    #[error("{0}")]
    Input(String),
    /// A model error (from the estimator API).
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl DeepError {
    /// A candle failure while doing `context`.
    pub fn candle(context: impl Into<String>) -> impl FnOnce(candle_core::Error) -> DeepError {
        let context = context.into();
        move |source| DeepError::Candle { context, source }
    }

    /// A one-line suggestion for the user, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            DeepError::Core(e) => e.hint(),
            _ => None,
        }
    }
}

/// This crate's result type.
pub type Result<T, E = DeepError> = std::result::Result<T, E>;
