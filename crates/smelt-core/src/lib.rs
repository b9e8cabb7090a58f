//! Core types shared by every Smelt crate.
//!
//! * [`Schema`]: the logical type and role of every column of a table. A schema is inferred by
//!   `smelt-data` and can be overridden by a TOML file; roles keep id, time and group columns
//!   from ever becoming features by accident.
//! * [`Dataset`]: what estimators consume — a contiguous, column-major feature matrix of `f32`
//!   or `f64`, a target, the names, kinds and categorical code mappings of the features, and a
//!   missing-value mask.
//!
//! This crate has no heavy dependency (no polars): estimators depend on it, not on the IO layer.

mod dataset;
mod error;
mod schema;

pub use dataset::{Bitmap, Dataset, Feature, FeatureKind, Float, Target};
pub use error::{CoreError, Result};
pub use schema::{ColumnSchema, LogicalType, Role, Schema};
