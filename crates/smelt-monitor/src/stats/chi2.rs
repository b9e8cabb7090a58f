//! Tests on counts: Pearson's chi-square goodness of fit (SciPy's `chisquare(f_obs, f_exp)`,
//! scipy 1.17.1 `scipy/stats/_stats_py.py`), the chi-square test of homogeneity of two samples
//! (SciPy's `chi2_contingency` on a 2 × k table, `scipy/stats/contingency.py`) and the
//! two-proportion Z-test (Evidently's `z`, `evidently/legacy/calculations/stattests/
//! z_stattest.py`, 0.7.21).

use super::TestResult;
use super::special::{chi2_sf, norm_sf};
use crate::error::{MonitorError, Result};

/// Pearson's chi-square test of observed against expected frequencies, `ddof = 0`:
/// `χ² = Σ (o - e)² / e` on `k - 1` degrees of freedom (SciPy's `chisquare`).
///
/// The totals must agree to a relative 1.5e-8, as SciPy requires. An expected count of zero
/// with a positive observed count makes the statistic infinite and the p-value 0.
///
/// ```
/// use smelt_monitor::stats::chisquare;
///
/// let r = chisquare(&[16.0, 18.0, 16.0, 14.0, 12.0, 12.0], &[16.0, 16.0, 16.0, 16.0, 16.0, 8.0]).unwrap();
/// assert!((r.statistic - 3.5).abs() < 1e-12);
/// assert!((r.p_value - 0.623_387_627_749_582_2).abs() < 1e-12);
/// ```
pub fn chisquare(f_obs: &[f64], f_exp: &[f64]) -> Result<TestResult> {
    if f_obs.len() != f_exp.len() {
        return Err(MonitorError::Invalid(format!(
            "chisquare: {} observed and {} expected frequencies",
            f_obs.len(),
            f_exp.len()
        )));
    }
    if f_obs.is_empty() {
        return Err(MonitorError::TooFew(
            "chisquare needs at least one category".to_string(),
        ));
    }
    if f_obs
        .iter()
        .chain(f_exp)
        .any(|v| !v.is_finite() || *v < 0.0)
    {
        return Err(MonitorError::Invalid(
            "chisquare: frequencies must be finite and non-negative".to_string(),
        ));
    }
    let (so, se): (f64, f64) = (f_obs.iter().sum(), f_exp.iter().sum());
    let rtol = f64::EPSILON.sqrt();
    if (so - se).abs() > rtol * so.max(se) {
        return Err(MonitorError::Invalid(format!(
            "chisquare: the observed total {so} and the expected total {se} differ by more \
             than a relative {rtol:.1e}"
        )));
    }
    let mut stat = 0.0;
    for (&o, &e) in f_obs.iter().zip(f_exp) {
        let d = o - e;
        stat += d * d / e;
    }
    if stat.is_nan() {
        // 0 / 0 where both counts are zero: SciPy gives NaN; a category absent on both sides
        // carries no information, so drop its term.
        stat = f_obs
            .iter()
            .zip(f_exp)
            .filter(|(o, e)| !(**o == 0.0 && **e == 0.0))
            .map(|(o, e)| (o - e) * (o - e) / e)
            .sum();
    }
    let df = (f_obs.len() - 1) as f64;
    let p = if df == 0.0 {
        f64::NAN
    } else {
        chi2_sf(stat, df)
    };
    Ok(TestResult {
        statistic: stat,
        p_value: p,
    })
}

/// Chi-square test of homogeneity of two samples' category counts (SciPy's
/// `chi2_contingency([a, b])`, with its default Yates correction when there are two
/// categories): expected counts `row total · column total / N`, `k - 1` degrees of freedom.
/// Categories empty in both samples are left out.
///
/// Unlike [`chisquare`] against reference shares (Evidently's `chisquare`), it accounts for
/// the reference being a sample too, so its false-alarm rate on i.i.d. samples is the level.
///
/// ```
/// use smelt_monitor::stats::chi2_contingency;
///
/// let r = chi2_contingency(&[30.0, 50.0, 20.0], &[25.0, 45.0, 30.0]).unwrap();
/// assert!((r.statistic - 2.717_703_349_282_296_6).abs() < 1e-12);
/// assert!((r.p_value - 0.256_955_676_320_158_9).abs() < 1e-12);
/// ```
pub fn chi2_contingency(a: &[f64], b: &[f64]) -> Result<TestResult> {
    if a.len() != b.len() {
        return Err(MonitorError::Invalid(format!(
            "chi2_contingency: {} and {} categories",
            a.len(),
            b.len()
        )));
    }
    if a.iter().chain(b).any(|v| !v.is_finite() || *v < 0.0) {
        return Err(MonitorError::Invalid(
            "chi2_contingency: counts must be finite and non-negative".to_string(),
        ));
    }
    let cols: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(x, y)| **x + **y > 0.0)
        .map(|(x, y)| (*x, *y))
        .collect();
    let (na, nb): (f64, f64) = (a.iter().sum(), b.iter().sum());
    if na == 0.0 || nb == 0.0 {
        return Err(MonitorError::TooFew(
            "chi2_contingency needs counts in both samples".to_string(),
        ));
    }
    if cols.len() < 2 {
        return Ok(TestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let n = na + nb;
    let dof = (cols.len() - 1) as f64;
    let mut stat = 0.0;
    for &(x, y) in &cols {
        let t = x + y;
        for (obs, row) in [(x, na), (y, nb)] {
            let exp = row * t / n;
            let mut obs = obs;
            if dof == 1.0 {
                // Yates: move each count half a unit (at most) towards its expectation.
                let diff = exp - obs;
                obs += diff.abs().min(0.5) * diff.signum();
            }
            let d = obs - exp;
            stat += d * d / exp;
        }
    }
    Ok(TestResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof),
    })
}

/// Two-proportion Z-test with a pooled proportion (Evidently's `z`): `successes_*` of `n_*`
/// trials in each sample, two-sided p-value `2 (1 - Φ(|z|))` computed as `2 Q(|z|)` so that small
/// p-values keep their precision. Identical all-success or all-failure samples give `z = 0`,
/// `p = 1` (Evidently's special case for one shared value).
///
/// ```
/// use smelt_monitor::stats::z_proportions;
///
/// let r = z_proportions(30, 100, 50, 100).unwrap();
/// assert!((r.statistic + 2.886_751_345_948_129).abs() < 1e-12);
/// assert!(r.p_value < 0.004);
/// ```
pub fn z_proportions(successes_a: u64, n_a: u64, successes_b: u64, n_b: u64) -> Result<TestResult> {
    if n_a == 0 || n_b == 0 {
        return Err(MonitorError::TooFew(
            "z_proportions needs at least one trial in each sample".to_string(),
        ));
    }
    if successes_a > n_a || successes_b > n_b {
        return Err(MonitorError::Invalid(
            "z_proportions: more successes than trials".to_string(),
        ));
    }
    let (n1, n2) = (n_a as f64, n_b as f64);
    let p1 = successes_a as f64 / n1;
    let p2 = successes_b as f64 / n2;
    let pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    let var = pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2);
    if var == 0.0 {
        return Ok(TestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / var.sqrt();
    Ok(TestResult {
        statistic: z,
        p_value: (2.0 * norm_sf(z.abs())).min(1.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_mismatch_is_invalid() {
        assert!(chisquare(&[1.0, 2.0], &[3.0]).is_err());
    }

    #[test]
    fn totals_must_agree() {
        assert!(chisquare(&[10.0, 10.0], &[5.0, 5.0]).is_err());
    }

    #[test]
    fn zero_expected_with_observed_is_infinite() {
        let r = chisquare(&[5.0, 5.0], &[10.0, 0.0]).expect("valid");
        assert_eq!(r.statistic, f64::INFINITY);
        assert_eq!(r.p_value, 0.0);
    }

    #[test]
    fn one_shared_value_gives_p_one() {
        let r = z_proportions(0, 10, 0, 20).expect("valid");
        assert_eq!(r.p_value, 1.0);
    }
}
