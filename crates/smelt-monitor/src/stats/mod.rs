//! Two-sample tests and distances, each matching SciPy 1.17.1 (and Evidently 0.7.21 where
//! Evidently defines the quantity), checked on committed fixtures
//! (`tools/fixtures/monitor_stats.py`, `tests/it/stats.rs`).
//!
//! Inputs are NaN-free slices (callers drop missing values); a NaN is an
//! [`Invalid`](crate::MonitorError::Invalid) error, an empty sample
//! [`TooFew`](crate::MonitorError::TooFew). Each test sorts its inputs; the `*_sorted` variants
//! take samples already sorted ascending, so that [`drift`](crate::drift) sorts a column once
//! for every test it runs.
//!
//! | function | SciPy / Evidently | p-value |
//! |---|---|---|
//! | [`ks_2samp`] | `scipy.stats.ks_2samp` | exact up to 10 000 values per side, else `kstwo` |
//! | [`chisquare`] | `scipy.stats.chisquare` (Evidently's `chisquare`) | chi-square, `k - 1` df |
//! | [`chi2_contingency`] | `scipy.stats.chi2_contingency` on 2 × k | chi-square, `k - 1` df |
//! | [`z_proportions`] | Evidently's `z` | normal |
//! | [`anderson_ksamp`] | `scipy.stats.anderson_ksamp` (midrank) | interpolated, `[0.001, 0.25]` |
//! | [`cramervonmises_2samp`] | `scipy.stats.cramervonmises_2samp` | exact up to 20 per side |
//! | [`mannwhitneyu`] | `scipy.stats.mannwhitneyu` | exact for ≤ 8 without ties, else normal |
//! | [`psi`], [`kl_div`], [`jensenshannon`], [`hellinger`], [`total_variation`] | Evidently / SciPy on [`Binned`] shares | — |
//! | [`wasserstein_distance`], [`wasserstein_normed`], [`hellinger_numeric`] | SciPy / Evidently on samples | — |

mod anderson;
mod chi2;
mod cvm;
mod distances;
mod histogram;
mod kolmogorov;
mod ks;
mod rank;
pub mod sort;
pub mod special;

pub use anderson::{ANDERSON_LEVELS, AndersonResult, anderson_ksamp, anderson_ksamp_sorted};
pub use chi2::{chi2_contingency, chisquare, z_proportions};
pub use cvm::{cramervonmises_2samp, cramervonmises_2samp_sorted};
pub use distances::{
    hellinger, hellinger_numeric, jensenshannon, kl_div, psi, std_population, total_variation,
    wasserstein_distance, wasserstein_normed,
};
pub use histogram::{Binned, MAX_VALUES_AS_CATEGORIES, histogram, sturges_edges};
pub use kolmogorov::{kolmogn_sf, smirnov_sf};
pub use ks::{MAX_EXACT_N, ks_2samp, ks_2samp_sorted};
pub use rank::{mannwhitneyu, mannwhitneyu_sorted};

/// The outcome of a two-sample test.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestResult {
    /// The test statistic, as SciPy reports it.
    pub statistic: f64,
    /// The p-value.
    pub p_value: f64,
}

/// The alternative hypothesis of a one- or two-sided test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Alternative {
    /// The distributions differ (default).
    TwoSided,
    /// The first sample is stochastically smaller.
    Less,
    /// The first sample is stochastically greater.
    Greater,
}
