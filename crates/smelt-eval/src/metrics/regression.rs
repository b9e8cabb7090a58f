//! Regression metrics — scikit-learn's `mean_absolute_error`, `mean_squared_error`,
//! `root_mean_squared_error`, `r2_score`, `explained_variance_score`,
//! `mean_absolute_percentage_error`, `median_absolute_error`, `max_error`,
//! `mean_pinball_loss` and `mean_tweedie_deviance` (Poisson, Gamma).
//!
//! Every function takes the true values, the predictions and optional sample weights (except
//! [`max_error`], as scikit-learn), rejects NaN and infinite values, and returns the weighted
//! mean (or median) of its per-sample loss. R² and explained variance follow scikit-learn's
//! `force_finite=True`: a constant target gives 1 when predicted exactly and 0 otherwise.

use super::{check_pair, weight, weighted_mean};
use crate::error::{EvalError, Result, check_finite};

/// Mean absolute error, Σ wᵢ|yᵢ − ŷᵢ| / Σ wᵢ.
///
/// ```
/// use smelt_eval::metrics::mae;
///
/// assert_eq!(mae(&[1.0, 2.0, 3.0], &[1.0, 2.0, 5.0], None)?, 2.0 / 3.0);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn mae(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("mae", y_true, y_pred, sample_weight)?;
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        (y_true[i] - y_pred[i]).abs()
    }))
}

/// Mean squared error, Σ wᵢ(yᵢ − ŷᵢ)² / Σ wᵢ.
pub fn mse(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("mse", y_true, y_pred, sample_weight)?;
    Ok(sq_err(y_true, y_pred, sample_weight))
}

/// Root mean squared error, √[`mse`].
pub fn rmse(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("rmse", y_true, y_pred, sample_weight)?;
    Ok(sq_err(y_true, y_pred, sample_weight).sqrt())
}

/// Coefficient of determination R² = 1 − Σ wᵢ(yᵢ − ŷᵢ)² / Σ wᵢ(yᵢ − ȳ)², ȳ the weighted mean;
/// a constant target gives 1 when predicted exactly and 0 otherwise (scikit-learn's
/// `force_finite=True`).
///
/// ```
/// use smelt_eval::metrics::r2;
///
/// let y = [1.0, 2.0, 3.0];
/// assert_eq!(r2(&y, &y, None)?, 1.0);
/// assert_eq!(r2(&y, &[2.0, 2.0, 2.0], None)?, 0.0);
/// assert_eq!(r2(&[5.0, 5.0], &[4.0, 5.0], None)?, 0.0); // constant target
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn r2(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("r2", y_true, y_pred, sample_weight)?;
    let n = y_true.len();
    let mean = weighted_mean(n, sample_weight, |i| y_true[i]);
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..n {
        let w = weight(sample_weight, i);
        num += w * (y_true[i] - y_pred[i]).powi(2);
        den += w * (y_true[i] - mean).powi(2);
    }
    Ok(assemble(num, den))
}

/// Explained variance score, 1 − Var_w(y − ŷ) / Var_w(y), with the same constant-target
/// convention as [`r2`].
pub fn explained_variance(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check("explained_variance", y_true, y_pred, sample_weight)?;
    let n = y_true.len();
    let diff_mean = weighted_mean(n, sample_weight, |i| y_true[i] - y_pred[i]);
    let num = weighted_mean(n, sample_weight, |i| {
        (y_true[i] - y_pred[i] - diff_mean).powi(2)
    });
    let mean = weighted_mean(n, sample_weight, |i| y_true[i]);
    let den = weighted_mean(n, sample_weight, |i| (y_true[i] - mean).powi(2));
    Ok(assemble(num, den))
}

/// Mean absolute percentage error, the weighted mean of |y − ŷ| / max(|y|, ε) with ε the
/// machine epsilon (a fraction, not a percentage; huge where y is near 0, as in scikit-learn).
pub fn mape(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("mape", y_true, y_pred, sample_weight)?;
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        (y_true[i] - y_pred[i]).abs() / y_true[i].abs().max(f64::EPSILON)
    }))
}

/// Median absolute error: the median of |y − ŷ| (the mean of the two middle values for an
/// even count); with sample weights, scikit-learn's weighted median (the "averaged inverted
/// CDF": the mean of the two values around half the total weight when it falls exactly
/// between them).
pub fn median_ae(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    check("median_ae", y_true, y_pred, sample_weight)?;
    let n = y_true.len();
    let mut e: Vec<(f64, f64)> = (0..n)
        .map(|i| ((y_true[i] - y_pred[i]).abs(), weight(sample_weight, i)))
        .collect();
    e.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    if sample_weight.is_none() {
        return Ok(if n % 2 == 1 {
            e[n / 2].0
        } else {
            (e[n / 2 - 1].0 + e[n / 2].0) / 2.0
        });
    }
    let mut cdf = Vec::with_capacity(n);
    let mut s = 0.0;
    for x in &e {
        s += x.1;
        cdf.push(s);
    }
    let target = 0.5 * s;
    let idx = cdf.partition_point(|&c| c < target).min(n - 1);
    if cdf[idx] - target > f64::EPSILON {
        return Ok(e[idx].0);
    }
    // Exactly at the boundary: average with the next value of positive weight.
    let next = (idx + 1..n).find(|&j| e[j].1 > 0.0).unwrap_or(idx);
    Ok((e[idx].0 + e[next].0) / 2.0)
}

/// Maximum absolute error (no sample weights, as scikit-learn).
pub fn max_error(y_true: &[f64], y_pred: &[f64]) -> Result<f64> {
    check("max_error", y_true, y_pred, None)?;
    Ok(y_true
        .iter()
        .zip(y_pred)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max))
}

/// Mean pinball (quantile) loss at quantile `alpha` in `[0, 1]` (scikit-learn's default 0.5,
/// half the MAE): α·(y − ŷ) where y ≥ ŷ, (1 − α)·(ŷ − y) otherwise, weighted mean.
pub fn pinball(
    y_true: &[f64],
    y_pred: &[f64],
    alpha: f64,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check("pinball", y_true, y_pred, sample_weight)?;
    if !(0.0..=1.0).contains(&alpha) {
        return Err(EvalError::input_hint(
            "pinball",
            format!("`alpha` is {alpha}"),
            "alpha is the quantile, within [0, 1]",
        ));
    }
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        let d = y_true[i] - y_pred[i];
        if d >= 0.0 {
            alpha * d
        } else {
            (alpha - 1.0) * d
        }
    }))
}

/// Mean Tweedie deviance of power `power` (`mean_tweedie_deviance`), with scikit-learn's
/// domain checks as errors: `power <= 0` or `power >= 1`; power < 0 needs ŷ > 0; 0 (squared
/// error) any values; [1, 2) needs y ≥ 0 and ŷ > 0; ≥ 2 needs y > 0 and ŷ > 0.
pub fn mean_tweedie_deviance(
    y_true: &[f64],
    y_pred: &[f64],
    power: f64,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "mean_tweedie_deviance";
    check(ctx, y_true, y_pred, sample_weight)?;
    check_finite(ctx, "power", &[power])?;
    let p = power;
    if p > 0.0 && p < 1.0 {
        return Err(EvalError::input_hint(
            ctx,
            format!("`power` is {p}: no Tweedie distribution has a power in (0, 1)"),
            "use power <= 0 or power >= 1 (0 normal, 1 Poisson, 2 Gamma, 3 inverse Gaussian)",
        ));
    }
    let (y_ok, y_rule): (fn(f64) -> bool, &str) = if p <= 0.0 {
        (|_| true, "")
    } else if p < 2.0 {
        (|y| y >= 0.0, "non-negative")
    } else {
        (|y| y > 0.0, "strictly positive")
    };
    if p != 0.0 {
        domain(ctx, p, "y_pred", y_pred, |v| v > 0.0, "strictly positive")?;
    }
    domain(ctx, p, "y_true", y_true, y_ok, y_rule)?;
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        tweedie(y_true[i], y_pred[i], p)
    }))
}

/// Mean Poisson deviance, [`mean_tweedie_deviance`] with power 1: y ≥ 0, ŷ > 0.
pub fn mean_poisson_deviance(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    mean_tweedie_deviance(y_true, y_pred, 1.0, sample_weight)
}

/// Mean Gamma deviance, [`mean_tweedie_deviance`] with power 2: y > 0, ŷ > 0.
pub fn mean_gamma_deviance(
    y_true: &[f64],
    y_pred: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    mean_tweedie_deviance(y_true, y_pred, 2.0, sample_weight)
}

/// The unit deviance of one sample (scikit-learn's `_mean_tweedie_deviance`).
fn tweedie(y: f64, m: f64, p: f64) -> f64 {
    if p < 0.0 {
        2.0 * (y.max(0.0).powf(2.0 - p) / ((1.0 - p) * (2.0 - p)) - y * m.powf(1.0 - p) / (1.0 - p)
            + m.powf(2.0 - p) / (2.0 - p))
    } else if p == 0.0 {
        (y - m).powi(2)
    } else if p == 1.0 {
        let xlogy = if y == 0.0 { 0.0 } else { y * (y / m).ln() };
        2.0 * (xlogy - y + m)
    } else if p == 2.0 {
        2.0 * ((m / y).ln() + y / m - 1.0)
    } else {
        2.0 * (y.powf(2.0 - p) / ((1.0 - p) * (2.0 - p)) - y * m.powf(1.0 - p) / (1.0 - p)
            + m.powf(2.0 - p) / (2.0 - p))
    }
}

fn domain(
    ctx: &str,
    power: f64,
    argument: &'static str,
    v: &[f64],
    ok: impl Fn(f64) -> bool,
    rule: &str,
) -> Result<()> {
    match v.iter().position(|&x| !ok(x)) {
        None => Ok(()),
        Some(i) => Err(EvalError::input_hint(
            ctx,
            format!(
                "the deviance of power {power} needs {rule} `{argument}`, but it is {} at \
                 index {i}",
                v[i]
            ),
            "choose a power whose distribution matches the target's range",
        )),
    }
}

/// scikit-learn's `force_finite` assembly of 1 − num/den.
fn assemble(num: f64, den: f64) -> f64 {
    if den != 0.0 {
        if num != 0.0 { 1.0 - num / den } else { 1.0 }
    } else if num != 0.0 {
        0.0
    } else {
        1.0
    }
}

fn sq_err(y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> f64 {
    weighted_mean(y_true.len(), sample_weight, |i| {
        (y_true[i] - y_pred[i]).powi(2)
    })
}

fn check(ctx: &str, y_true: &[f64], y_pred: &[f64], sample_weight: Option<&[f64]>) -> Result<()> {
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_pred", y_pred.len()),
        sample_weight,
    )?;
    check_finite(ctx, "y_true", y_true)?;
    check_finite(ctx, "y_pred", y_pred)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_target_r2() {
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 2.0], None).unwrap(), 1.0);
        assert_eq!(r2(&[2.0, 2.0], &[2.0, 3.0], None).unwrap(), 0.0);
    }

    #[test]
    fn median_even_and_weighted() {
        assert_eq!(
            median_ae(&[0.0; 4], &[1.0, 2.0, 3.0, 4.0], None).unwrap(),
            2.5
        );
        let w = [1.0, 1.0, 1.0, 1.0];
        assert_eq!(
            median_ae(&[0.0; 4], &[1.0, 2.0, 3.0, 4.0], Some(&w)).unwrap(),
            2.5
        );
    }

    #[test]
    fn tweedie_domain() {
        let e = mean_poisson_deviance(&[-1.0], &[1.0], None).unwrap_err();
        assert!(e.to_string().contains("y_true"), "{e}");
        assert!(mean_tweedie_deviance(&[1.0], &[1.0], 0.5, None).is_err());
        assert_eq!(
            mean_tweedie_deviance(&[1.0], &[3.0], 0.0, None).unwrap(),
            4.0
        );
    }
}
