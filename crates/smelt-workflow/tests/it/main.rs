//! The workflow's integration tests, one binary (each test binary links polars and every
//! estimator crate: one link instead of three keeps CI's build time down).
//!
//! - `conformance`: every catalogue model under the conformance suites;
//! - `train`: the training workflow through its public API;
//! - `param_docs`: `docs/parameters.md` is the catalogue's parameter tables.

mod conformance;
mod param_docs;
mod train;
