//! Naive Bayes classifiers: Gaussian, multinomial and Bernoulli (scikit-learn's
//! `sklearn.naive_bayes`).
//!
//! Each assumes the features independent given the class and predicts
//!
//! ```text
//! jll(x, c) = log P(c) + Σ_j log P(x_j | c)          (joint log-likelihood)
//! P(c | x)  = exp(jll(x, c) - logsumexp_c' jll(x, c'))
//! ```
//!
//! with, per estimator,
//!
//! ```text
//! GaussianNB     log P(x_j|c) = -½ log(2π σ²_cj) - (x_j - θ_cj)² / (2 σ²_cj),
//!                σ²_cj = weighted variance + var_smoothing · max_j var(X_j)
//! MultinomialNB  log P(x|c)   = Σ_j x_j log p_cj,  p_cj = (N_cj + α) / Σ_j' (N_cj' + α)
//! BernoulliNB    log P(x|c)   = Σ_j x_j log p_cj + (1 - x_j) log(1 - p_cj),
//!                p_cj = (N_cj + α) / (N_c + 2α),  x binarised at `binarize`
//! ```
//!
//! where `N_cj` is the (sample-weighted) sum of feature `j` over class `c` and `N_c` the
//! class's total weight. The class prior is the empirical one (`fit_prior`), uniform, or given.
//!
//! The classes are those of the dataset's target (`Target::Classification::classes`). A class
//! listed there but without rows (or with zero total weight) is kept with a zero count, as
//! scikit-learn's `partial_fit(classes=...)` does: its empirical prior is 0, so it is never
//! predicted unless a prior is given.

mod discrete;
mod gaussian;

pub use discrete::{BernoulliNB, BernoulliNBParams, MultinomialNB, MultinomialNBParams};
pub use gaussian::{GaussianNB, GaussianNBParams};

use rayon::prelude::*;
use smelt_core::model::argmax;
use smelt_core::{Prediction, Proba};

/// Rows per parallel block when scoring.
const BLOCK: usize = 2048;

/// Turns joint log-likelihoods (row-major `n × k`) into normalised log-probabilities in place,
/// with the log-sum-exp trick (the row maximum is subtracted before exponentiating).
fn log_normalize(jll: &mut [f64], k: usize) {
    if k == 0 {
        return;
    }
    jll.par_chunks_mut(k * BLOCK).for_each(|block| {
        for row in block.chunks_mut(k) {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !m.is_finite() {
                // Every class impossible (or an overflow): no information, uniform.
                let u = -(k as f64).ln();
                row.iter_mut().for_each(|v| *v = u);
                continue;
            }
            let s: f64 = row.iter().map(|v| (v - m).exp()).sum();
            let lse = m + s.ln();
            row.iter_mut().for_each(|v| *v -= lse);
        }
    });
}

/// The classification prediction from joint log-likelihoods: labels are the argmax of `jll`
/// (the first class on ties, like scikit-learn), probabilities `exp` of the normalised rows.
fn classify(mut jll: Vec<f64>, classes: &[String]) -> Prediction {
    let k = classes.len();
    let labels = jll.chunks(k).map(|row| argmax(row) as u32).collect();
    log_normalize(&mut jll, k);
    jll.par_iter_mut().for_each(|v| *v = v.exp());
    Prediction::Classification {
        labels,
        classes: classes.to_vec(),
        proba: Some(Proba {
            n_classes: k,
            values: jll,
        }),
    }
}

/// Log class priors: `log(class_prior)` when given, else the empirical `log(N_c / Σ N)` when
/// `fit_prior`, else uniform.
fn class_log_prior(class_count: &[f64], class_prior: Option<&[f64]>, fit_prior: bool) -> Vec<f64> {
    let k = class_count.len();
    match class_prior {
        Some(p) => p.iter().map(|v| v.ln()).collect(),
        None if fit_prior => {
            let total: f64 = class_count.iter().sum();
            class_count.iter().map(|c| c.ln() - total.ln()).collect()
        }
        None => vec![-(k as f64).ln(); k],
    }
}

/// Checks a user-given prior vector: finite, non-negative, not all zero (and summing to 1 when
/// `sum_to_one`). `None` is valid.
fn prior_ok(p: Option<&[f64]>, sum_to_one: bool) -> bool {
    let Some(p) = p else { return true };
    let s: f64 = p.iter().sum();
    !p.is_empty()
        && p.iter().all(|v| v.is_finite() && *v >= 0.0)
        && s > 0.0
        && (!sum_to_one || (s - 1.0).abs() <= 1e-8 + 1e-5)
}

/// A prior of the wrong length for the data's classes: a parameter error (the length is only
/// known at fit).
fn prior_length_error(
    estimator: &'static str,
    param: &'static str,
    got: usize,
    n_classes: usize,
) -> smelt_core::CoreError {
    smelt_core::CoreError::Params(vec![smelt_core::ParamError {
        estimator,
        param,
        allowed: format!("{n_classes} values, one per class"),
        got: format!("{got} values"),
    }])
}

/// Per-class weight totals (`N_c`) from class codes and optional sample weights.
fn class_counts(codes: &[u32], k: usize, w: Option<&[f64]>) -> Vec<f64> {
    let mut counts = vec![0.0; k];
    for (i, &c) in codes.iter().enumerate() {
        counts[c as usize] += w.map_or(1.0, |w| w[i]);
    }
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_normalize_is_stable() {
        let mut v = vec![-1000.0, -1001.0, 5.0, 5.0];
        log_normalize(&mut v, 2);
        let p0 = 1.0 / (1.0 + (-1.0f64).exp());
        assert!((v[0].exp() - p0).abs() < 1e-12, "{v:?} {p0}");
        assert!((v[2].exp() - 0.5).abs() < 1e-15);
        let mut all_inf = vec![f64::NEG_INFINITY; 2];
        log_normalize(&mut all_inf, 2);
        assert!((all_inf[0].exp() - 0.5).abs() < 1e-15);
    }

    #[test]
    fn priors_are_checked() {
        assert!(prior_ok(None, true));
        assert!(prior_ok(Some(&[0.3, 0.7]), true));
        assert!(!prior_ok(Some(&[0.3, 0.6]), true));
        assert!(prior_ok(Some(&[0.3, 0.6]), false));
        assert!(!prior_ok(Some(&[-0.1, 1.1]), true));
        assert!(!prior_ok(Some(&[]), false));
    }
}
