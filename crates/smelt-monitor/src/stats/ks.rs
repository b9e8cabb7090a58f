//! Two-sample Kolmogorov–Smirnov test, as SciPy's `ks_2samp(a, b)` (two-sided,
//! `method="auto"`, scipy 1.17.1 `scipy/stats/_stats_py.py`).
//!
//! The statistic is `D = sup_x |F_a(x) - F_b(x)|` over the empirical CDFs. Its p-value is
//! exact when both samples have at most 10 000 values (Hodges 1958: lattice paths that leave the
//! band `|x/m - y/n| < D`, counted with Viehmann's (2021) recursion for `1 - p`, or the closed
//! form for `m = n`), and otherwise asymptotic: the one-sample distribution `kstwo` at
//! `n = round(mn / (m + n))`. When the exact count fails (it cannot here, but SciPy checks) it
//! falls back to the asymptotic value, as SciPy does.

use super::TestResult;
use super::kolmogorov::kolmogn_sf;
use super::sort::{merge, sorted};
use crate::error::{MonitorError, Result};

/// Above this many values in either sample, `auto` uses the asymptotic distribution.
pub const MAX_EXACT_N: usize = 10_000;

/// Two-sided two-sample Kolmogorov–Smirnov test (SciPy's `ks_2samp`, `method="auto"`).
///
/// ```
/// use smelt_monitor::stats::ks_2samp;
///
/// let a = [0.1, 0.4, 0.7, 1.2, 1.9];
/// let b = [0.5, 1.6, 2.2, 2.8, 3.1, 3.3];
/// let r = ks_2samp(&a, &b).unwrap();
/// assert!((r.statistic - 2.0 / 3.0).abs() < 1e-15);
/// assert!((r.p_value - 0.108_225_108_225_108_21).abs() < 1e-12); // SciPy's exact p-value
/// ```
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<TestResult> {
    let (a, b) = (sorted(a)?, sorted(b)?);
    ks_2samp_sorted(&a, &b)
}

/// [`ks_2samp`] on samples already sorted ascending (NaN-free).
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Result<TestResult> {
    let (n1, n2) = (a.len(), b.len());
    if n1 == 0 || n2 == 0 {
        return Err(MonitorError::TooFew(
            "ks_2samp needs at least one value in each sample".to_string(),
        ));
    }
    let d = statistic(a, b);
    let g = gcd(n1 as u64, n2 as u64);
    if n1.max(n2) <= MAX_EXACT_N
        && let Some((d, p)) = exact(n1 as u64, n2 as u64, g, d)
    {
        return Ok(TestResult {
            statistic: d,
            p_value: p.clamp(0.0, 1.0),
        });
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = m * n / (m + n);
    let p = kolmogn_sf(en.round_ties_even() as u64, d);
    Ok(TestResult {
        statistic: d,
        p_value: p.clamp(0.0, 1.0),
    })
}

/// `max(max(F_a - F_b), max(F_b - F_a))` evaluated at every observation, with the CDFs
/// computed as SciPy does (`searchsorted(…, side="right") / n`), so that the floats agree.
fn statistic(a: &[f64], b: &[f64]) -> f64 {
    let (n1, n2) = (a.len() as f64, b.len() as f64);
    let mut max_s = f64::NEG_INFINITY;
    let mut min_s = f64::INFINITY;
    // The difference after the last value of a run of equal values is the CDFs' difference
    // there: commit it when the next value differs.
    let mut prev = f64::NAN;
    let mut pending = 0.0f64;
    merge(a, b, |x, i, j| {
        if x != prev && !prev.is_nan() {
            max_s = max_s.max(pending);
            min_s = min_s.min(pending);
        }
        prev = x;
        pending = i as f64 / n1 - j as f64 / n2;
    });
    max_s = max_s.max(pending);
    min_s = min_s.min(pending);
    let min_s = (-min_s).clamp(0.0, 1.0);
    if min_s > max_s { min_s } else { max_s }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// SciPy's `_attempt_exact_2kssamp` for the two-sided alternative: `Some((d, p))` with `d`
/// rounded to the lattice (`h / lcm`), `None` when the count fails.
fn exact(n1: u64, n2: u64, g: u64, d: f64) -> Option<(f64, f64)> {
    let lcm = (n1 / g) * n2;
    let h = (d * lcm as f64).round_ties_even() as u64;
    let d = h as f64 / lcm as f64;
    if h == 0 {
        return Some((d, 1.0));
    }
    let p = if n1 == n2 {
        prob_outside_square(n1, h)
    } else {
        outer_prob_inside_method(n1, n2, g, h)
    };
    if p.is_finite() && (0.0..=1.0).contains(&p) {
        Some((d, p))
    } else {
        None
    }
}

/// `Pr(D_{n,n} ≥ h/n)` as a Horner-like alternating sum (SciPy's `_compute_prob_outside_square`).
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0;
    let mut k = (n / h) as i64;
    let (nf, hf) = (n as f64, h as f64);
    while k >= 0 {
        let kf = k as f64;
        let mut p1 = 1.0;
        for j in 0..h {
            let jf = j as f64;
            p1 = (nf - kf * hf - jf) * p1 / (nf + kf * hf + jf + 1.0);
        }
        p = p1 * (1.0 - p);
        k -= 1;
    }
    2.0 * p
}

/// The proportion of lattice paths from `(0, 0)` to `(m, n)` that leave the band
/// `|x/m - y/n| < h/lcm(m, n)`, computed directly as `1 - inside` (SciPy's
/// `_compute_outer_prob_inside_method`, Viehmann 2021).
fn outer_prob_inside_method(m: u64, n: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if m < n { (n, m) } else { (m, n) };
    let (m, n, g, h) = (m as i64, n as i64, g as i64, h as i64);
    let mg = m / g;
    let ng = n / g;
    let mut minj: i64 = 0;
    let mut maxj: i64 = ((h as f64) / (mg as f64)).ceil().min((n + 1) as f64) as i64;
    let mut curlen = maxj - minj;
    let len_a = (2 * maxj + 2).min(n + 1) as usize;
    let mut a = vec![1.0f64; len_a];
    for x in a.iter_mut().take(maxj.max(0) as usize).skip(minj as usize) {
        *x = 0.0;
    }
    for i in 1..=m {
        let (lastminj, lastlen) = (minj, curlen);
        minj = ((((ng * i - h) as f64) / mg as f64).floor() as i64 + 1).max(0);
        minj = minj.min(n);
        maxj = (((ng * i + h) as f64) / mg as f64)
            .ceil()
            .min((n + 1) as f64) as i64;
        if maxj <= minj {
            return 1.0;
        }
        let mut val = if minj == 0 { 0.0 } else { 1.0 };
        let fi = i as f64;
        for jj in 0..(maxj - minj) {
            let j = jj + minj;
            let src = (jj + minj - lastminj) as usize;
            val = (a[src] * fi + val * j as f64) / (fi + j as f64);
            a[jj as usize] = val;
        }
        curlen = maxj - minj;
        if lastlen > curlen {
            let from = (maxj - minj) as usize;
            let to = (from + (lastlen - curlen) as usize).min(a.len());
            for x in &mut a[from..to] {
                *x = 1.0;
            }
        }
    }
    a[(maxj - minj - 1) as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sample_is_too_few() {
        assert!(matches!(
            ks_2samp(&[], &[1.0]),
            Err(MonitorError::TooFew(_))
        ));
    }

    #[test]
    fn identical_samples_give_p_one() {
        let a = [1.0, 2.0, 3.0];
        let r = ks_2samp(&a, &a).expect("valid");
        assert_eq!(r.statistic, 0.0);
        assert_eq!(r.p_value, 1.0);
    }

    #[test]
    fn disjoint_small_samples() {
        // scipy.stats.ks_2samp([1, 2, 3], [4, 5, 6, 7]): D = 1, p = 2 / C(7, 3)
        let r = ks_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0, 7.0]).expect("valid");
        assert_eq!(r.statistic, 1.0);
        assert!((r.p_value - 2.0 / 35.0).abs() < 1e-14);
    }
}
