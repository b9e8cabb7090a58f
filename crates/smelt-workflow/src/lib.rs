//! Smelt's training and prediction workflow, shared by the `smelt` binary, the `smelt`
//! library facade and every crate that trains or scores models (evaluation, serving,
//! monitoring): train a catalogue model by name with its default preprocessing, a validation
//! split, metrics and tracking; save and load models of any kind; predictions as table columns.
//!
//! | module | what it holds |
//! |---|---|
//! | [`catalog`] | every model from every estimator crate ([`models`], [`find_model`]), the combined [`registry`], [`Params`] |
//! | [`train`](mod@train) | [`train()`]: split, preprocessing, fit, metrics, tracking through [`smelt_core::Tracker`] |
//! | [`model`] | [`Model`]: a fitted pipeline with its metadata; save, load, predict to columns |
//! | [`stream`] | [`Model::predict_stream`]: a table larger than memory scored chunk by chunk, the output written atomically |
//! | [`prepare`] | rows without a target left out, the feature matrix built (shared by all below) |
//! | [`folds`] | cross-validation folds chosen for the data: stratified, group or time-ordered |
//! | [`ladder`](mod@ladder) | [`ladder()`]: dummy → linear → tree → forest → boosting on the same folds, tuned in a budget |
//! | [`select`] | [`cross_validate()`] by name, tracked with a child run per fold |
//! | [`tune`](mod@tune) | [`tune()`] and [`nested_cv()`] by name (halving and Hyperband in [`halving`]), a child run per trial |
//! | [`embed`] | `smelt embed`: a table's text column → sentence vectors (a pretrained encoder), written atomically |
//! | [`curves`] | learning and validation curves of a model by name, cross-validated, with their plots |
//!
//! ```no_run
//! use smelt_workflow::{Model, Params, TrainOptions, train};
//!
//! let data = smelt_data::load("adult.csv".as_ref(), &smelt_data::LoadOptions::default().with_target("income"))?;
//! let trained = train(&data, "hist_gradient_boosting_classifier", Params::new(), &TrainOptions::default())?;
//! println!("{:?}", trained.valid_metrics);
//! trained.model.save("model".as_ref())?;
//! let again = Model::load("model".as_ref())?;
//! # Ok::<(), smelt_workflow::Error>(())
//! ```
//!
//! This crate prints nothing: progress, notes and warnings reach the caller as
//! [`Event`]s.

pub mod catalog;
pub mod curves;
pub mod decide;
pub mod embed;
mod error;
pub mod evaluate;
pub mod event;
pub mod folds;
pub mod halving;
pub mod ladder;
pub mod ladder_report;
pub mod model;
pub mod prepare;
pub mod select;
pub mod stream;
pub mod train;
pub mod tune;

pub use catalog::{
    Params, find_model, model_for, models, registry, resolve_model, short_name, task_of,
    with_preprocessing,
};
pub use error::{Error, Result};
pub use folds::{CvSpec, FoldKind};
pub use ladder::{Ladder, LadderSpec, ladder};
pub use model::{Model, prediction_columns, prediction_frame};
pub use select::{CrossValidated, cross_validate};
pub use stream::{StreamOptions, StreamSummary};
pub use train::{Event, Metrics, RunRecord, TrainOptions, Trained, train};
pub use tune::{Nested, SamplerKind, TuneSpec, Tuned, nested_cv, tune};
