//! Per-column drift with Evidently's default choice of method and thresholds (Evidently 0.7.21,
//! `DataDriftPreset`), a per-column override from a TOML file, and the dataset drift share.
//!
//! A column is numerical (NaN and ±∞ missing) or categorical (codes into one label list shared
//! by both sides, [`MISSING`] for missing). Missing values are dropped before the method runs,
//! as in Evidently; their share is compared separately ([`MissingShift`]). Each column is sorted
//! or counted once, and columns run in parallel on rayon's pool: every method is `O(n log n)`
//! at worst (one sort per side); 28 columns of a million rows per side take about a second on
//! two cores.
//!
//! Defaults ([`choose`], [`Method::default_threshold`]): numerical columns with more than five
//! distinct values get `ks` (p ≤ 0.05) when the reference has at most 1000 values, else the
//! normed `wasserstein` distance (≥ 0.1); categorical columns and numerical ones with at most
//! five distinct values get `chi2_contingency` (more than two values) or `z` (p < 0.05) up to
//! 1000 reference values, else `jensenshannon` (≥ 0.1). The dataset drifts when at least half of
//! the tested columns drift.
//!
//! Where Smelt differs from Evidently, and why:
//! * Where Evidently picks `chisquare` (current counts against reference shares taken as
//!   exact), Smelt picks the chi-square test of homogeneity, `chi2_contingency`: Evidently's
//!   false-alarm rate on i.i.d. samples is several times its level, and a category present only
//!   in the current sample gives p = 0 (on the Adult sample of 800/700 rows it flags 4 of 7
//!   categorical columns with no injected drift). `method = "chisquare"` gives Evidently's
//!   numbers.
//! * `mannw` is two-sided; Evidently tests `alternative="less"` only, which misses a drop.
//! * `TVD`'s permutation p-value comes from Smelt's seeded generator and hypergeometric draws,
//!   not numpy's stream: same estimator, different Monte Carlo noise (standard error 0.01 at
//!   p = 0.1).
//! * A column without values on a side is reported as not tested (Evidently raises), and a
//!   single shared value gives "no drift" for tests SciPy leaves undefined there (chi-square
//!   with one category, Anderson–Darling).
//! * Order-free methods (`chisquare`, `z`, `TVD`) may be set for numerical columns (Evidently
//!   registers them for categorical columns only, yet picks the first two for numerical columns
//!   with few values itself).
//! * Sturges bins are always computed on floats: numpy rounds the width up to 1 for integer
//!   columns, which changes the bins of an integer column with more than 20 distinct values
//!   over a range narrower than `log2 N + 1` (so only beyond 2¹⁹ pooled values).
//! * The missing share's shift is reported (Evidently's drift ignores it).
//! * The Z-test's p-value is `2 Q(|z|)` rather than `2 (1 - Φ(|z|))`: the same to 1e-16, but
//!   small p-values keep their digits.

mod choose;
mod column;
mod compute;
mod config;
mod method;
mod permutation;

pub use choose::{FEW_VALUES, SMALL_REFERENCE, choose};
pub use column::{ColumnInput, ColumnKind, ColumnValues, MISSING, Role};
pub use compute::{
    ColumnDrift, DatasetDrift, MissingShift, column_drift, dataset_drift, drift_columns,
};
pub use config::{DriftConfig, Rule};
pub use method::{Method, Verdict};
pub use permutation::PERMUTATIONS;
