//! Evaluation and model selection for Smelt — the role of scikit-learn's `sklearn.metrics`,
//! `model_selection`, `calibration` and `inspection`.
//!
//! * [`metrics`]: classification, regression and clustering metrics, with sample weights, and
//!   a registry by scikit-learn's scorer names that knows whether greater is better.
//! * [`importance`]: permutation importance for any fitted model.
//!
//! Everything here works on the object-safe model interface of [`smelt_core`]
//! ([`Predictor`](smelt_core::Predictor), [`FitPredictor`](smelt_core::FitPredictor)), so it
//! evaluates every model kind — linear models, trees, boosting, whole pipelines — the same way.

pub mod error;
pub mod importance;
pub mod metrics;

pub use error::{EvalError, Result};
