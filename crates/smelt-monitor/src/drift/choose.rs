//! Evidently's default choice of method (`_get_default_stattest` in
//! `evidently/legacy/calculations/stattests/registry.py`, 0.7.21), with one substitution:
//! `chi2_contingency` where Evidently picks `chisquare`.

use super::column::ColumnKind;
use super::method::Method;

/// Reference samples up to this size (non-missing values) get a statistical test; larger ones a
/// distance, whose value does not shrink towards "significant" as the sample grows.
pub const SMALL_REFERENCE: usize = 1000;

/// Numerical columns with at most this many distinct values (both sides together) are treated
/// as categories.
pub const FEW_VALUES: usize = 5;

/// The default method for a column of `kind` with `n_reference` non-missing reference values
/// and `n_unique` distinct non-missing values over reference and current:
///
/// | column | `n_reference` ≤ 1000 | > 1000 |
/// |---|---|---|
/// | numerical, `n_unique` > 5 | `ks` (p ≤ 0.05) | `wasserstein` (≥ 0.1) |
/// | numerical with `n_unique` ≤ 5, or categorical | `chi2_contingency` if `n_unique` > 2, else `z` (p < 0.05) | `jensenshannon` (≥ 0.1) |
///
/// This is Evidently's choice except `chi2_contingency` for Evidently's `chisquare`: Evidently
/// tests current counts against the reference *shares* as if they were exact, which inflates the
/// statistic by about `1 + n_current / n_reference` on i.i.d. samples (23 % false alarms at
/// the 5 % level with 400 and 300 rows), and a category seen only in the current sample makes
/// it infinite. The test of homogeneity keeps the level. Set `method = "chisquare"` for
/// Evidently's numbers.
///
/// ```
/// use smelt_monitor::drift::{ColumnKind, Method, choose};
///
/// assert_eq!(choose(ColumnKind::Numerical, 500, 300), Method::Ks);
/// assert_eq!(choose(ColumnKind::Numerical, 5000, 300), Method::Wasserstein);
/// assert_eq!(choose(ColumnKind::Categorical, 500, 2), Method::Z);
/// assert_eq!(choose(ColumnKind::Categorical, 5000, 7), Method::JensenShannon);
/// ```
pub fn choose(kind: ColumnKind, n_reference: usize, n_unique: usize) -> Method {
    let categorical = kind == ColumnKind::Categorical || n_unique <= FEW_VALUES;
    match (n_reference <= SMALL_REFERENCE, categorical) {
        (true, false) => Method::Ks,
        (true, true) if n_unique > 2 => Method::Chi2Contingency,
        (true, true) => Method::Z,
        (false, false) => Method::Wasserstein,
        (false, true) => Method::JensenShannon,
    }
}
