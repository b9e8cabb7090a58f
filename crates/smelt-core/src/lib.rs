//! Core types shared by every Smelt crate.
//!
//! * [`Schema`]: the logical type and role of every column of a table. A schema is inferred by
//!   `smelt-data` and can be overridden by a TOML file; roles keep id, time and group columns
//!   from ever becoming features by accident.
//! * [`Dataset`]: what estimators consume — a contiguous, column-major feature matrix of `f32`
//!   or `f64`, a target, the names, kinds and categorical code mappings of the features, and a
//!   missing-value mask.
//!
//! * [`model`]: the estimator API — [`Fit`] (params → fitted model), the object-safe
//!   [`Predictor`] every model kind implements, [`Transform`] for preprocessing steps.
//! * [`artifact`]: the safe model file format (JSON manifest + safetensors) and the
//!   [`Registry`] of loadable model kinds.
//! * [`catalog`]: what an estimator crate declares about each model it offers (task, default
//!   preprocessing, builder from parameters).
//! * [`params`](mod@params): [`params!`], the one declaration of an estimator's hyperparameters (struct,
//!   defaults, builders, range checks, parameter reference).
//! * [`predlog`]: the prediction log's naming rules (serving writes it, monitoring reads it).
//! * [`progress`]: live progress of long fits (epochs of a network) for a front end's bar.
//! * [`rng`]: the seeded random streams (fixed forever) of splits, data and estimators.
//! * [`track`]: the [`Tracker`] / [`Run`] traits workflows log through (implemented by
//!   `smelt-track`).
//!
//! This crate has no heavy dependency (no polars): estimators depend on it, not on the IO layer.

pub mod artifact;
pub mod catalog;
mod conform;
mod dataset;
mod error;
pub mod model;
pub mod params;
pub mod predlog;
pub mod profile;
pub mod progress;
pub mod rng;
mod schema;
pub mod text;
mod text_column;
mod texts;
pub mod track;

pub use artifact::{ArtifactReader, ArtifactWriter, Registry};
pub use conform::{UnknownCategory, UnseenCategory, number_label, unseen_category_warnings};
pub use dataset::{Bitmap, Dataset, Feature, FeatureKind, Float, SharedFeatures, Target};
pub use error::{CoreError, ParamError, Result};
pub use model::{
    Fit, FitPredictor, FitTransform, Output, ParamCheck, Prediction, Predictor, Proba, Transform,
};
pub use schema::{ColumnSchema, LogicalType, Role, Schema};
pub use texts::{TextColumn, text_feature};
pub use track::{Run, Tracker, TrackingError};
