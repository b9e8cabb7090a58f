//! Model monitoring for Smelt.
//!
//! * [`stats`]: two-sample tests and distances (Kolmogorov–Smirnov, chi-square, Z-test for
//!   proportions, Anderson–Darling, Cramér–von Mises, Mann–Whitney; PSI, Jensen–Shannon,
//!   Wasserstein, Kullback–Leibler, Hellinger, total variation), checked against SciPy.
//! * [`drift`]: per-column drift with Evidently's default choice of method and thresholds, a
//!   per-column override, dataset drift share.
//! * [`estimate`]: performance without labels — CBPE for classifiers, DLE for regressors —
//!   checked against NannyML; [`multivariate`]: data-reconstruction error (PCA) and a domain
//!   classifier.
//! * [`table`]: reference and current tables read and aligned column by column (schema
//!   changes reported, categories in one label list); [`quality`]: data-quality checks;
//!   [`window`]: windows by period or rows; [`chunk`]: NannyML's chunking; [`text`]: text
//!   columns through their length and out-of-vocabulary share.
//! * [`labels`]: labels that arrive apart, joined to rows by request id (report and watch).
//! * [`outcomes`]: a model's outputs and labels per row, whatever they come from;
//!   [`performance`]: realized and estimated performance and multivariate drift in a run, on
//!   the whole current data and per window.
//! * [`profile`]: a stand-in reference table from the profile a trained model carries;
//!   [`watch`]: live monitoring over `smelt serve`'s prediction logs (windows, alerts,
//!   Prometheus gauges, the tracker).
//! * [`run`]: one monitoring run (drift, quality, windows, performance) as `smelt monitor`
//!   does it;
//!   [`report`]: its HTML page and JSON twin; [`rules`]: the declared tests of
//!   `smelt monitor test`.

pub mod chunk;
pub mod drift;
pub mod error;
pub mod estimate;
pub mod labels;
pub mod multivariate;
pub mod outcomes;
pub mod performance;
pub mod profile;
pub mod quality;
pub mod report;
pub mod rules;
pub mod run;
pub mod source;
pub mod stats;
pub mod table;
pub mod text;
pub mod watch;
pub mod window;

pub use error::{MonitorError, Result};
