//! Ranks in the pooled sample (average ranks for ties) and the Mann–Whitney U test, as SciPy's
//! `mannwhitneyu(x, y, use_continuity=True, alternative=…, method="auto")`
//! (scipy 1.17.1 `scipy/stats/_mannwhitneyu.py`).
//!
//! `U₁ = R₁ - n₁(n₁+1)/2` from the rank sum of `x`. The p-value is exact when one sample has at
//! most 8 values and there are no ties (the null distribution of `U` is the coefficient list of
//! the Gaussian binomial `[n₁+n₂ choose n₁]_q`, built by truncated power-series products), and
//! otherwise the normal approximation with the tie correction
//! `σ² = n₁n₂/12 · ((n+1) - Σ(t³-t)/(n(n-1)))` and a continuity correction of ½.

use super::sort::sorted;
use super::special::ndtr;
use super::{Alternative, TestResult};
use crate::error::{MonitorError, Result};

/// One group of equal values in the pooled sorted sample.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TieGroup {
    /// Values before the group in the pooled sample.
    pub start: usize,
    /// Values of the first sample in the group.
    pub in_a: usize,
    /// Values of the second sample in the group.
    pub in_b: usize,
}

impl TieGroup {
    /// Size of the group.
    pub fn len(&self) -> usize {
        self.in_a + self.in_b
    }

    /// The average (mid) rank of the group, 1-based.
    pub fn mid_rank(&self) -> f64 {
        self.start as f64 + (self.len() as f64 + 1.0) / 2.0
    }
}

/// Walks the tie groups of two sorted samples in ascending order of value.
pub(crate) fn tie_groups(a: &[f64], b: &[f64], mut f: impl FnMut(f64, TieGroup)) {
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() || j < b.len() {
        let v = if j >= b.len() || (i < a.len() && a[i] <= b[j]) {
            a[i]
        } else {
            b[j]
        };
        let start = i + j;
        let i0 = i;
        while i < a.len() && a[i] == v {
            i += 1;
        }
        let j0 = j;
        while j < b.len() && b[j] == v {
            j += 1;
        }
        f(
            v,
            TieGroup {
                start,
                in_a: i - i0,
                in_b: j - j0,
            },
        );
    }
}

/// Mann–Whitney U test of `x` against `y` (SciPy's `mannwhitneyu`, `method="auto"`, with the
/// continuity correction). The statistic is `U₁`, the `U` of `x`.
///
/// ```
/// use smelt_monitor::stats::{Alternative, mannwhitneyu};
///
/// let x = [1.1, 2.3, 0.4, 3.8];
/// let y = [4.2, 5.0, 2.9, 6.1, 7.7];
/// let r = mannwhitneyu(&x, &y, Alternative::TwoSided).unwrap();
/// assert_eq!(r.statistic, 1.0);
/// assert!((r.p_value - 4.0 / 126.0).abs() < 1e-12); // exact: 2 · P(U ≤ 1)
/// ```
pub fn mannwhitneyu(x: &[f64], y: &[f64], alternative: Alternative) -> Result<TestResult> {
    let (x, y) = (sorted(x)?, sorted(y)?);
    mannwhitneyu_sorted(&x, &y, alternative)
}

/// [`mannwhitneyu`] on samples already sorted ascending (NaN-free).
pub fn mannwhitneyu_sorted(x: &[f64], y: &[f64], alternative: Alternative) -> Result<TestResult> {
    let (n1, n2) = (x.len(), y.len());
    if n1 == 0 || n2 == 0 {
        return Err(MonitorError::TooFew(
            "mannwhitneyu needs at least one value in each sample".to_string(),
        ));
    }
    let mut r1 = 0.0;
    let mut tie_term = 0.0;
    let mut ties = false;
    tie_groups(x, y, |_, g| {
        r1 += g.in_a as f64 * g.mid_rank();
        let t = g.len() as f64;
        tie_term += t * t * t - t;
        ties |= g.len() > 1;
    });
    let (f1, f2) = (n1 as f64, n2 as f64);
    let u1 = r1 - f1 * (f1 + 1.0) / 2.0;
    let u2 = f1 * f2 - u1;
    let (u, factor) = match alternative {
        Alternative::Greater => (u1, 1.0),
        Alternative::Less => (u2, 1.0),
        Alternative::TwoSided => (u1.max(u2), 2.0),
    };
    // SciPy: exact when one sample has at most 8 values and nothing is tied.
    let exact = !ties && (n1 <= 8 || n2 <= 8);
    let p = if exact {
        exact_sf(n1.min(n2), n1.max(n2), u.round() as u64)
    } else {
        let mu = f1 * f2 / 2.0;
        let n = f1 + f2;
        let s = (f1 * f2 / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
        let z = (u - mu - 0.5) / s;
        ndtr(-z)
    };
    Ok(TestResult {
        statistic: u1,
        p_value: (p * factor).clamp(0.0, 1.0),
    })
}

/// `P(U ≥ k)` under the null hypothesis for samples of `m ≤ n` values, as SciPy's `_MWU.sf`.
fn exact_sf(m: usize, n: usize, k: u64) -> f64 {
    let mn = (m * n) as u64;
    let kc = mn.saturating_sub(k);
    let total = (1..=m).fold(1.0f64, |acc, i| acc * (n + i) as f64 / i as f64);
    if k < kc {
        // 1 - P(U < k)
        let freq = u_frequencies(m, n, (k as usize).saturating_sub(1));
        let below: f64 = freq.iter().take(k as usize).sum();
        1.0 - below / total
    } else {
        // P(U ≥ k) = P(U ≤ mn - k) by symmetry
        let freq = u_frequencies(m, n, kc as usize);
        freq.iter().sum::<f64>() / total
    }
}

/// The number of arrangements with `U = u` for `u = 0..=max_u`: the first coefficients of
/// `Π_{i=1..m} (1 - q^{n+i}) / (1 - q^i)`, computed modulo `q^{max_u + 1}`.
fn u_frequencies(m: usize, n: usize, max_u: usize) -> Vec<f64> {
    let mut c = vec![0.0f64; max_u + 1];
    c[0] = 1.0;
    for i in 1..=m {
        // Multiply by (1 - q^{n+i}), from the top down.
        let s = n + i;
        for u in (s..=max_u).rev() {
            c[u] -= c[u - s];
        }
        // Divide by (1 - q^i): c[u] += c[u - i], from the bottom up.
        for u in i..=max_u {
            c[u] += c[u - i];
        }
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_are_gaussian_binomial() {
        // [4 choose 2]_q = 1 + q + 2q² + q³ + q⁴
        assert_eq!(u_frequencies(2, 2, 4), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
    }

    #[test]
    fn all_tied_gives_p_one() {
        let r = mannwhitneyu(&[1.0; 12], &[1.0; 15], Alternative::TwoSided).expect("valid");
        assert_eq!(r.p_value, 1.0);
        assert_eq!(r.statistic, 90.0);
    }
}
