//! Model monitoring for Smelt.
//!
//! * [`stats`]: two-sample tests and distances (Kolmogorov–Smirnov, chi-square, Z-test for
//!   proportions, Anderson–Darling, Cramér–von Mises, Mann–Whitney; PSI, Jensen–Shannon,
//!   Wasserstein, Kullback–Leibler, Hellinger, total variation), checked against SciPy.
//! * [`drift`]: per-column drift with Evidently's default choice of method and thresholds, a
//!   per-column override, dataset drift share.
//! * [`table`]: reference and current tables read and aligned column by column (schema
//!   changes reported, categories in one label list); [`quality`]: data-quality checks.

pub mod drift;
pub mod error;
pub mod quality;
pub mod report;
pub mod rules;
pub mod run;
pub mod stats;
pub mod table;
pub mod window;

pub use error::{MonitorError, Result};
