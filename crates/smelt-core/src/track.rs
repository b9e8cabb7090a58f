//! Where a workflow records what it did: the [`Tracker`] and [`Run`] traits.
//!
//! Training, cross-validation, tuning and the ladder log their runs through `&dyn Tracker`, so
//! they do not depend on the tracking crate: `smelt-track` implements the traits for its local
//! store (SQLite / PostgreSQL + a folder / S3) and for tracking servers (`smelt server`,
//! MLflow's), and the binary or the library user picks one.
//!
//! Tracking is best effort for a workflow: a failure to log is reported as a warning by the
//! caller and never fails a fit.

use std::fmt::{Debug, Display};
use std::path::Path;

/// A tracking failure, from whichever backend implements [`Tracker`].
#[derive(Debug)]
pub struct TrackingError(Box<dyn std::error::Error + Send + Sync>);

impl TrackingError {
    /// Wraps a backend's error.
    pub fn new(e: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        TrackingError(e.into())
    }
}

impl Display for TrackingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        Display::fmt(&self.0, f)
    }
}

impl std::error::Error for TrackingError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// What a run records about a dataset it used (MLflow's dataset input).
#[derive(Clone, Copy, Debug)]
pub struct DatasetLog<'a> {
    /// Display name (the file stem, usually).
    pub name: &'a str,
    /// The Smelt fingerprint of the data and schema.
    pub fingerprint: &'a str,
    /// Where it was read from.
    pub source: &'a Path,
    /// The schema, as JSON.
    pub schema_json: &'a str,
    /// Number of rows.
    pub rows: u64,
    /// What it was used for: `train`, `eval`, ...
    pub context: &'a str,
}

/// A tracking backend: starts runs.
pub trait Tracker: Send + Sync + Debug {
    /// Starts a run in the named experiment (created if missing).
    fn start_run(
        &self,
        experiment: &str,
        run_name: Option<&str>,
    ) -> Result<Box<dyn Run + '_>, TrackingError>;

    /// Where runs go, for messages: a server URI, or `None` for a local store.
    fn server_uri(&self) -> Option<&str>;
}

/// A run being recorded. End it with [`Run::finish`]; a run dropped without it stays
/// `RUNNING`, as a crashed process leaves it.
pub trait Run: Debug {
    /// The run's id.
    fn id(&self) -> &str;
    /// Logs parameters (immutable once logged).
    fn log_params(&self, params: &[(&str, &str)]) -> Result<(), TrackingError>;
    /// Logs metrics at one step (an epoch, a fold, a trial).
    fn log_metrics(&self, metrics: &[(&str, f64)], step: i64) -> Result<(), TrackingError>;
    /// Sets tags (last write wins).
    fn set_tags(&self, tags: &[(&str, &str)]) -> Result<(), TrackingError>;
    /// Records a dataset the run used.
    fn log_dataset(&self, dataset: &DatasetLog<'_>) -> Result<(), TrackingError>;
    /// Copies a local file or folder into the run's artifacts under `artifact_path`; returns
    /// the bytes copied.
    fn log_artifacts(&self, local: &Path, artifact_path: &str) -> Result<u64, TrackingError>;
    /// Starts a child run (a fold, a trial), nested under this one.
    fn start_child(&self, run_name: Option<&str>) -> Result<Box<dyn Run + '_>, TrackingError>;
    /// Ends the run: FINISHED, or FAILED when `ok` is false.
    fn finish(self: Box<Self>, ok: bool) -> Result<(), TrackingError>;
}
