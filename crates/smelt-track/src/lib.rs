//! Experiment tracking and the model registry: one store over SQLite or PostgreSQL, artifacts on
//! a local folder or S3-compatible storage, and the MLflow data model.

pub mod artifacts;
pub mod error;
pub mod schema;

pub use error::{ErrorCode, Result, TrackError};
