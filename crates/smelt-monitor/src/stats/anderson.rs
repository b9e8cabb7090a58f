//! k-sample Anderson–Darling test, as SciPy's `anderson_ksamp(samples)` with its default
//! midrank variant (scipy 1.17.1 `scipy/stats/_morestats.py`; Scholz & Stephens 1987).
//!
//! The statistic is the standardised `A²_akN` of Scholz & Stephens (eq. 7, midranks for ties):
//! `(A²_akN - (k-1)) / σ_N`. Its p-value is interpolated, as SciPy does without a permutation
//! `method`, from the table of critical values at significance levels 25 % … 0.1 %: a quadratic
//! least-squares fit of `ln(level)` on the critical values, evaluated at the statistic, and
//! capped to `[0.001, 0.25]` outside the table.

use super::sort::sorted;
use crate::error::{MonitorError, Result};

/// Result of [`anderson_ksamp`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AndersonResult {
    /// The standardised statistic.
    pub statistic: f64,
    /// Critical values at the levels [`ANDERSON_LEVELS`].
    pub critical_values: [f64; 7],
    /// The interpolated p-value, within `[0.001, 0.25]`.
    pub p_value: f64,
}

/// The significance levels of the critical values (Scholz & Stephens 1987, Table 2).
pub const ANDERSON_LEVELS: [f64; 7] = [0.25, 0.1, 0.05, 0.025, 0.01, 0.005, 0.001];

/// k-sample Anderson–Darling test (SciPy's `anderson_ksamp`, midrank variant): at least two
/// samples, none empty, and at least two distinct values overall.
///
/// ```
/// use smelt_monitor::stats::anderson_ksamp;
///
/// let a = [0.1, 0.5, 0.9, 1.3, 1.7, 2.1];
/// let b = [2.5, 2.9, 3.3, 3.7, 4.1, 4.5];
/// let r = anderson_ksamp(&[&a, &b]).unwrap();
/// assert!((r.statistic - 5.758_347_340_196_102).abs() < 1e-12); // SciPy's
/// assert!((r.p_value - 0.001_873_276_297_530_547_8).abs() < 1e-12);
/// let c = [5.0, 6.0];
/// let r = anderson_ksamp(&[&a, &[&b[..], &c[..]].concat()]).unwrap();
/// assert_eq!(r.p_value, 0.001); // floored: beyond the table
/// ```
pub fn anderson_ksamp(samples: &[&[f64]]) -> Result<AndersonResult> {
    let sorted_samples: Vec<Vec<f64>> = samples.iter().map(|s| sorted(s)).collect::<Result<_>>()?;
    let refs: Vec<&[f64]> = sorted_samples.iter().map(Vec::as_slice).collect();
    anderson_ksamp_sorted(&refs)
}

/// [`anderson_ksamp`] on samples already sorted ascending (NaN-free).
pub fn anderson_ksamp_sorted(samples: &[&[f64]]) -> Result<AndersonResult> {
    let k = samples.len();
    if k < 2 {
        return Err(MonitorError::Invalid(
            "anderson_ksamp needs at least two samples".to_string(),
        ));
    }
    if samples.iter().any(|s| s.is_empty()) {
        return Err(MonitorError::TooFew(
            "anderson_ksamp encountered a sample without observations".to_string(),
        ));
    }
    let a2akn = midrank_statistic(samples)?;
    let n_total: usize = samples.iter().map(|s| s.len()).sum();
    let nn = n_total as f64;
    let kf = k as f64;
    let h_big: f64 = samples.iter().map(|s| 1.0 / s.len() as f64).sum();
    // hs_cs = cumsum(1 / arange(N - 1, 1, -1)); h = hs_cs[-1] + 1; g = Σ hs_cs / arange(2, N)
    let mut hs = 0.0;
    let mut g = 0.0;
    let mut idx = 2.0;
    let mut denom = nn - 1.0;
    while denom > 1.0 {
        hs += 1.0 / denom;
        g += hs / idx;
        idx += 1.0;
        denom -= 1.0;
    }
    let h = hs + 1.0;
    let a = (4.0 * g - 6.0) * (kf - 1.0) + (10.0 - 6.0 * g) * h_big;
    let b = (2.0 * g - 4.0) * kf * kf + 8.0 * h * kf + (2.0 * g - 14.0 * h - 4.0) * h_big - 8.0 * h
        + 4.0 * g
        - 6.0;
    let c = (6.0 * h + 2.0 * g - 2.0) * kf * kf
        + (4.0 * h - 4.0 * g + 6.0) * kf
        + (2.0 * h - 6.0) * h_big
        + 4.0 * h;
    let d = (2.0 * h + 6.0) * kf * kf - 4.0 * h * kf;
    let sigmasq =
        (a * nn.powi(3) + b * nn * nn + c * nn + d) / ((nn - 1.0) * (nn - 2.0) * (nn - 3.0));
    let m = kf - 1.0;
    let a2 = (a2akn - m) / sigmasq.sqrt();
    const B0: [f64; 7] = [0.675, 1.281, 1.645, 1.96, 2.326, 2.573, 3.085];
    const B1: [f64; 7] = [-0.245, 0.25, 0.678, 1.149, 1.822, 2.364, 3.615];
    const B2: [f64; 7] = [-0.105, -0.305, -0.362, -0.391, -0.396, -0.345, -0.154];
    let critical: [f64; 7] = std::array::from_fn(|i| B0[i] + B1[i] / m.sqrt() + B2[i] / m);
    let cmin = critical.iter().copied().fold(f64::INFINITY, f64::min);
    let cmax = critical.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let p = if a2 < cmin {
        0.25
    } else if a2 > cmax {
        0.001
    } else {
        let logs = ANDERSON_LEVELS.map(f64::ln);
        let coef = quadratic_fit(&critical, &logs);
        (coef[0] * a2 * a2 + coef[1] * a2 + coef[2]).exp()
    };
    Ok(AndersonResult {
        statistic: a2,
        critical_values: critical,
        p_value: p,
    })
}

/// `A²_akN`, equation 7 of Scholz & Stephens (midranks), in one merge of the sorted samples.
fn midrank_statistic(samples: &[&[f64]]) -> Result<f64> {
    let k = samples.len();
    let n_total: usize = samples.iter().map(|s| s.len()).sum();
    let nn = n_total as f64;
    let mut pos = vec![0usize; k];
    let mut below = 0usize; // values strictly below the current one, all samples
    let mut distinct = 0usize;
    let mut acc = vec![0.0f64; k];
    let mut counts = vec![0usize; k];
    loop {
        // The next smallest value among the samples.
        let mut v = f64::INFINITY;
        let mut any = false;
        for (s, &p) in samples.iter().zip(&pos) {
            if p < s.len() && (!any || s[p] < v) {
                v = s[p];
                any = true;
            }
        }
        if !any {
            break;
        }
        distinct += 1;
        let mut lj = 0usize;
        for (i, s) in samples.iter().enumerate() {
            let p0 = pos[i];
            let mut p = p0;
            while p < s.len() && s[p] == v {
                p += 1;
            }
            counts[i] = p - p0;
            pos[i] = p;
            lj += p - p0;
        }
        let ljf = lj as f64;
        let bj = below as f64 + ljf / 2.0;
        let denom = bj * (nn - bj) - nn * ljf / 4.0;
        for i in 0..k {
            // M_ij: values of sample i at most v, minus half of those equal to v.
            let mij = pos[i] as f64 - counts[i] as f64 / 2.0;
            let ni = samples[i].len() as f64;
            let diff = nn * mij - bj * ni;
            acc[i] += ljf / nn * diff * diff / denom;
        }
        below += lj;
    }
    if distinct < 2 {
        return Err(MonitorError::TooFew(
            "anderson_ksamp needs more than one distinct observation".to_string(),
        ));
    }
    let mut total = 0.0;
    for (a, s) in acc.iter().zip(samples) {
        total += a / s.len() as f64;
    }
    Ok(total * (nn - 1.0) / nn)
}

/// Least-squares coefficients `[c2, c1, c0]` of `y ≈ c2 x² + c1 x + c0` (numpy's `polyfit`
/// with degree 2), by Householder QR on the column-scaled Vandermonde matrix.
fn quadratic_fit(x: &[f64; 7], y: &[f64; 7]) -> [f64; 3] {
    let mut a: [[f64; 3]; 7] = std::array::from_fn(|i| [x[i] * x[i], x[i], 1.0]);
    let mut scale = [0.0f64; 3];
    for (j, s) in scale.iter_mut().enumerate() {
        *s = a.iter().map(|row| row[j] * row[j]).sum::<f64>().sqrt();
        for row in a.iter_mut() {
            row[j] /= *s;
        }
    }
    let mut b = *y;
    for j in 0..3 {
        // Householder reflection of rows j.. that zeroes column j below the diagonal.
        let norm = a[j..].iter().map(|row| row[j] * row[j]).sum::<f64>().sqrt();
        let alpha = if a[j][j] > 0.0 { -norm } else { norm };
        let mut v = [0.0f64; 7];
        for (vi, row) in v[j..].iter_mut().zip(&a[j..]) {
            *vi = row[j];
        }
        v[j] -= alpha;
        let vnorm2: f64 = v.iter().map(|x| x * x).sum();
        if vnorm2 == 0.0 {
            continue;
        }
        for col in j..3 {
            let dot: f64 = v.iter().zip(&a).map(|(vi, row)| vi * row[col]).sum();
            for (vi, row) in v.iter().zip(a.iter_mut()) {
                row[col] -= 2.0 * dot / vnorm2 * vi;
            }
        }
        let dot: f64 = v.iter().zip(&b).map(|(vi, bi)| vi * bi).sum();
        for (vi, bi) in v.iter().zip(b.iter_mut()) {
            *bi -= 2.0 * dot / vnorm2 * vi;
        }
    }
    let mut c = [0.0f64; 3];
    for j in (0..3).rev() {
        let mut s = b[j];
        for col in (j + 1)..3 {
            s -= a[j][col] * c[col];
        }
        c[j] = s / a[j][j];
    }
    for (cj, sj) in c.iter_mut().zip(scale) {
        *cj /= sj;
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sample_is_invalid() {
        assert!(anderson_ksamp(&[&[1.0, 2.0]]).is_err());
    }

    #[test]
    fn one_distinct_value_is_too_few() {
        assert!(matches!(
            anderson_ksamp(&[&[1.0, 1.0], &[1.0]]),
            Err(MonitorError::TooFew(_))
        ));
    }

    #[test]
    fn quadratic_fit_recovers_a_parabola() {
        let x = [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 5.0];
        let y = x.map(|v| 2.0 * v * v - 3.0 * v + 0.5);
        let c = quadratic_fit(&x, &y);
        assert!((c[0] - 2.0).abs() < 1e-12 && (c[1] + 3.0).abs() < 1e-12);
        assert!((c[2] - 0.5).abs() < 1e-12);
    }
}
