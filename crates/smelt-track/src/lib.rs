//! Experiment tracking and the model registry: one store over SQLite or PostgreSQL, artifacts on
//! a local folder or S3-compatible storage, and the MLflow data model.

pub mod artifacts;
pub mod entities;
pub mod error;
pub mod filter;
pub mod remote;
pub mod schema;
pub mod store;
pub mod tracker;

pub use artifacts::{ArtifactPath, ArtifactStore};
pub use error::{ErrorCode, Result, TrackError};
pub use store::{Backend, Store};
