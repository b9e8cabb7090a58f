//! Evaluation and model selection for Smelt — the role of scikit-learn's `sklearn.metrics`,
//! `model_selection`, `calibration` and `inspection`.
//!
//! * [`metrics`]: classification, regression and clustering metrics, with sample weights, and
//!   a registry by scikit-learn's scorer names that knows whether greater is better.
//! * [`split`]: cross-validation splitters (k-fold, stratified, group, time series, repeated,
//!   predefined), seeded and identical on every machine.
//! * [`cv`]: cross-validation of any estimator (a pipeline is fitted inside each fold), with
//!   out-of-fold predictions; [`curves`]: learning and validation curves.
//! * [`tune`]: search spaces and samplers (grid, random, TPE) with pruning, successive halving
//!   and Hyperband.
//! * [`calibrate`]: Platt and isotonic calibration with cross-fitting, decision thresholds
//!   for a metric or a cost; both are saved inside the model file.
//! * [`slices`]: metrics by slice with bootstrap intervals, the most confident errors.
//! * [`plot`]: the evaluation plots, drawn in Rust as SVG (and PNG).
//! * [`importance`]: permutation importance for any fitted model.
//! * [`report`]: self-contained HTML evaluation reports with a JSON twin; [`report::model_report`]
//!   is the report of a model's prediction on a labelled table.
//!
//! Everything here works on the object-safe model interface of [`smelt_core`]
//! ([`Predictor`](smelt_core::Predictor), [`FitPredictor`](smelt_core::FitPredictor)), so it
//! evaluates every model kind — linear models, trees, boosting, whole pipelines — the same way.

pub mod calibrate;
pub mod curves;
pub mod cv;
pub mod error;
pub mod importance;
pub mod metrics;
pub mod plot;
pub mod report;
pub mod slices;
pub mod split;
pub mod tune;

pub use calibrate::register;
pub use error::{EvalError, Result};
