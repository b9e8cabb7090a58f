//! Integration tests of smelt-eval: metrics, splitters, cross-validation, calibration and
//! tuning against scikit-learn fixtures (`tools/fixtures/{metrics,splitters,evaluation}.py`),
//! the plots and the reports.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

mod calibrate;
mod cv;
mod metrics;
mod plot;
mod report;
mod split;
mod tune;
