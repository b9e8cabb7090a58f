//! The workflow's integration tests, one binary (each test binary links polars and every
//! estimator crate: one link instead of several keeps CI's build time down).
//!
//! - `conformance`: every catalogue model under the conformance suites;
//! - `train`: the training workflow through its public API;
//! - `deep`: networks in the workflow (loss curves tracked, Adult against logistic regression);
//! - `select`: cross-validation and tuning by name;
//! - `stream`: scoring a table chunk by chunk (`Model::predict_stream`);
//! - `param_docs`: `docs/parameters.md` is the catalogue's parameter tables;
//! - `recorder`: a recording `Tracker` and the bundled data, shared by the tests.

mod conformance;
mod deep;
mod param_docs;
mod recorder;
mod select;
mod stream;
mod train;
