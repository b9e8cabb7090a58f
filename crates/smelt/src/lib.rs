//! # Smelt as a library
//!
//! Everything the `smelt` command does, from Rust: read a table the way Smelt types it, train
//! any model of the catalogue with its default preprocessing and a validation split, record the
//! run (locally, in a team's database, or on an MLflow-compatible server), save the model as
//! plain data (JSON + safetensors), load it back and score new tables.
//!
//! ## From a file to a saved, tracked model
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let dir = tempfile::tempdir()?;
//! # let (project, model_dir) = (dir.path(), dir.path().join("penguins-model"));
//! use smelt::{LoadOptions, Model, Params, TrainOptions};
//!
//! // 1. Load: read, infer logical types and roles, normalise. `species` is the target.
//! let data = smelt::load("../../data/penguins.csv", &LoadOptions::default().with_target("species"))?;
//!
//! // 2. Train a catalogue model by name. Gradient boosting takes missing values and
//! //    categories as they are; linear models get imputation, one-hot encoding and scaling.
//! let tracker = smelt::tracking::open_project(project)?; // ./smelt-runs, or SMELT_TRACKING_URI
//! let opts = TrainOptions {
//!     tracker: Some(&tracker),
//!     experiment: "penguins",
//!     ..TrainOptions::default()
//! };
//! let params = Params::new().set("max_iter", 50).set("learning_rate", 0.1);
//! let trained = Model::train_with(&data, "hist_gradient_boosting_classifier", params, &opts)?;
//! let accuracy = trained.valid_metrics.iter().find(|(k, _)| *k == "accuracy").unwrap().1;
//! assert!(accuracy > 0.9);
//! assert!(trained.run.is_some()); // recorded: `smelt runs list`, `smelt server`, MLflow's UI
//!
//! // 3. Save, load, predict: labels and one probability column per class, as a polars frame.
//! trained.model.save(&model_dir)?;
//! let model = Model::load(&model_dir)?;
//! let predictions = model.predict_file("../../data/penguins.csv".as_ref(), &Default::default())?;
//! assert_eq!(predictions.get_column_names(), ["prediction", "proba_Adelie", "proba_Chinstrap", "proba_Gentoo"]);
//! # Ok(())
//! # }
//! ```
//!
//! ## What is where
//!
//! | item | what it is |
//! |---|---|
//! | [`load`], [`LoadOptions`], [`Loaded`] | a table read, typed (schema with roles) and normalised |
//! | [`models`], [`find_model`], [`ModelInfo`] | the catalogue: every model, its task, default preprocessing and parameters |
//! | [`Model::train`], [`Model::train_with`], [`TrainOptions`], [`Trained`] | training by name |
//! | [`Model`] | a fitted model: [`Model::save`], [`Model::load`], [`Model::predict_file`], [`Model::predict_frame`], [`Model::predict_stream`] with [`StreamOptions`] (a table larger than memory, chunk by chunk, to a file) |
//! | [`tracking`] | open a tracker: the project's store, a database, or a server |
//! | [`Tracker`], [`Run`] | the tracking interface workflows log through |
//! | [`Predictor`], [`Prediction`], [`Dataset`] | the estimator-level API, for models used directly |
//! | [`cross_validate`], [`tune()`], [`nested_cv`], [`CvSpec`], [`TuneSpec`] | model selection by name: folds chosen for the data, TPE/random/grid search with pruning, successive halving and Hyperband (`halving`), learning and validation curves (`curves`), each fold or trial a child run |
//! | [`ladder()`], [`LadderSpec`], [`ladder_report()`] | the baseline ladder and its HTML report |
//! | [`evaluate`] | a saved model on a labelled table: metrics, slices, errors, importances, the report |
//! | [`eval`] | the evaluation toolkit itself: metrics and their registry, splitters, `cross_validate` over any estimator, calibration, thresholds, slices, plots, reports |
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use smelt::{CvSpec, LadderSpec, LoadOptions, Params, TrainOptions};
//!
//! let data = smelt::load("data/adult.csv", &LoadOptions::default().with_target("income"))?;
//! // Five stratified folds, the task's standard metrics.
//! let cv = smelt::cross_validate(&data, "logistic_regression", Params::new(), &CvSpec::default(), &[], &TrainOptions::default())?;
//! println!("{:?}", cv.result.metric("roc_auc"));
//! // The whole ladder in a two-minute budget, and its report.
//! let spec = LadderSpec { budget: std::time::Duration::from_secs(120), ..LadderSpec::default() };
//! let ladder = smelt::ladder(&data, &spec, &TrainOptions::default())?;
//! smelt::ladder_report(&ladder, "adult.csv", &[])?.write("report.html")?;
//! # Ok(())
//! # }
//! ```
//!
//! Errors carry a [`hint`](Error::hint) saying what to do. Nothing in this crate prints:
//! notes, warnings and the fit's progress reach you as [`Event`]s through
//! [`TrainOptions::on_event`].

use std::path::Path;

pub use smelt_core::catalog::{ModelInfo, Prep, Task};
pub use smelt_core::{Dataset, Fit, Prediction, Predictor, Run, Schema, Tracker, TrackingError};
pub use smelt_data::read::ReadOptions;
pub use smelt_data::{LoadOptions, Loaded, polars};
pub use smelt_workflow::evaluate::evaluate;
pub use smelt_workflow::ladder_report::ladder_report;
pub use smelt_workflow::{
    CvSpec, Error, Event, FoldKind, LadderSpec, Metrics, Model, Params, Result, RunRecord,
    SamplerKind, StreamOptions, StreamSummary, TrainOptions, Trained, TuneSpec, cross_validate,
    find_model, ladder, models, nested_cv, prediction_columns, prediction_frame, registry, tune,
};

/// The evaluation toolkit (`smelt-eval`): metrics and their registry, splitters,
/// cross-validation over any estimator, tuning, calibration, thresholds, slices, plots and
/// reports.
pub use smelt_eval as eval;

/// Reads a table (CSV, Parquet, NDJSON, Arrow IPC), infers its schema (logical types and
/// column roles, with `opts`' overrides) and normalises it.
pub fn load(path: impl AsRef<Path>, opts: &LoadOptions) -> Result<Loaded> {
    Ok(smelt_data::load(path.as_ref(), opts)?)
}

/// Opening a [`Tracker`]: where runs are recorded.
pub mod tracking {
    use std::path::Path;

    pub use smelt_track::TrackError;
    pub use smelt_track::tracker::Tracker as Client;

    /// The project's tracker: `<dir>/smelt-runs` (SQLite + an artifact folder), unless
    /// `SMELT_TRACKING_URI` names a database (`postgresql://…`) or a server (`http://…`) and
    /// `SMELT_ARTIFACTS_DESTINATION` a folder or `s3://` bucket.
    pub fn open_project(dir: impl AsRef<Path>) -> Result<Client, TrackError> {
        Client::open_project(dir)
    }

    /// A tracking database (`sqlite:///…`, `postgresql://…`) with an artifact destination (a
    /// folder, `file://…`, `s3://…`).
    pub fn open(store_uri: &str, artifacts_destination: &str) -> Result<Client, TrackError> {
        Client::open(store_uri, artifacts_destination)
    }

    /// A tracking server: `smelt server` or MLflow's (`http://host:port`).
    pub fn open_server(uri: &str) -> Result<Client, TrackError> {
        Client::open_server(uri)
    }
}
