//! Two-sample Cramér–von Mises test, as SciPy's `cramervonmises_2samp(x, y, method="auto")`
//! (scipy 1.17.1 `scipy/stats/_hypotests.py`; Evidently's `cramer_von_mises` copies it).
//!
//! With midranks `r` in the pooled sample, `U = n_x Σ (r_i - i)² + n_y Σ (s_j - j)²` and
//! `T = U / (n_x n_y N) - (4 n_x n_y - 1) / (6N)` (Anderson 1962, eq. 9–10). The p-value is
//! exact when both samples have at most 20 values (the frequency tables of Xiao, Gordon &
//! Yakovlev 2006), and otherwise the limiting one-sample distribution at the normalised
//! statistic (Csörgő & Faraway 1996, eq. 1.2), summed until a term falls below 1e-7 as SciPy
//! does.

use std::collections::BTreeMap;

use super::TestResult;
use super::rank::tie_groups;
use super::sort::sorted;
use super::special::bessel_kve;
use crate::error::{MonitorError, Result};

/// Two-sample Cramér–von Mises test (SciPy's `cramervonmises_2samp`, `method="auto"`): each
/// sample needs at least two values.
///
/// ```
/// use smelt_monitor::stats::cramervonmises_2samp;
///
/// let r = cramervonmises_2samp(&[1.0, 2.0, 3.0], &[4.0, 5.0, 6.0]).unwrap();
/// assert!((r.p_value - 0.1).abs() < 1e-12); // exact: 2 of the 20 arrangements
/// ```
pub fn cramervonmises_2samp(x: &[f64], y: &[f64]) -> Result<TestResult> {
    let (x, y) = (sorted(x)?, sorted(y)?);
    cramervonmises_2samp_sorted(&x, &y)
}

/// [`cramervonmises_2samp`] on samples already sorted ascending (NaN-free).
pub fn cramervonmises_2samp_sorted(x: &[f64], y: &[f64]) -> Result<TestResult> {
    let (nx, ny) = (x.len(), y.len());
    if nx <= 1 || ny <= 1 {
        return Err(MonitorError::TooFew(
            "cramervonmises_2samp needs at least two values in each sample".to_string(),
        ));
    }
    let (mut sx, mut sy) = (0.0, 0.0);
    let (mut ix, mut iy) = (0usize, 0usize);
    tie_groups(x, y, |_, g| {
        let r = g.mid_rank();
        for _ in 0..g.in_a {
            ix += 1;
            let d = r - ix as f64;
            sx += d * d;
        }
        for _ in 0..g.in_b {
            iy += 1;
            let d = r - iy as f64;
            sy += d * d;
        }
    });
    let (fx, fy) = (nx as f64, ny as f64);
    let u = fx * sx + fy * sy;
    let k = fx * fy;
    let n = fx + fy;
    let t = u / (k * n) - (4.0 * k - 1.0) / (6.0 * n);
    let p = if nx.max(ny) > 20 {
        asymptotic_p(t, n, fx, fy, k)
    } else {
        exact_p(u, nx as u64, ny as u64)
    };
    Ok(TestResult {
        statistic: t,
        p_value: p,
    })
}

fn asymptotic_p(t: f64, n: f64, nx: f64, ny: f64, k: f64) -> f64 {
    let et = (1.0 + 1.0 / n) / 6.0;
    let vt = (n + 1.0) * (4.0 * k * n - 3.0 * (nx * nx + ny * ny) - 2.0 * k);
    let vt = vt / (45.0 * n * n * 4.0 * k);
    let tn = 1.0 / 6.0 + (t - et) / (45.0 * vt).sqrt();
    if tn < 0.003 {
        1.0
    } else {
        (1.0 - cdf_cvm_inf(tn)).max(0.0)
    }
}

/// The CDF of the limiting Cramér–von Mises distribution (Csörgő & Faraway 1996, eq. 1.2),
/// SciPy's `_cdf_cvm_inf`: terms are added until one is below 1e-7 in absolute value.
pub(crate) fn cdf_cvm_inf(x: f64) -> f64 {
    use std::f64::consts::PI;
    let mut total = 0.0;
    // Γ(k + ½) / Γ(k + 1), by recurrence from Γ(½) = √π.
    let mut gamma_ratio = PI.sqrt();
    let mut k = 0.0f64;
    loop {
        let u = gamma_ratio / (PI.powf(1.5) * x.sqrt());
        let y = 4.0 * k + 1.0;
        let q = y * y / (16.0 * x);
        // e^{-q} K_{1/4}(q) = e^{-2q} kve(1/4, q)
        let z = u * y.sqrt() * (-2.0 * q).exp() * bessel_kve(0.25, q);
        total += z;
        if z.abs() < 1e-7 {
            break;
        }
        gamma_ratio *= (k + 0.5) / (k + 1.0);
        k += 1.0;
    }
    total
}

/// Exact `P(U ≥ u)` by the frequency tables of Xiao, Gordon & Yakovlev (2006), SciPy's
/// `_pval_cvm_2samp_exact`.
fn exact_p(u: f64, m: u64, n: u64) -> f64 {
    let lcm = lcm(m, n);
    let a = lcm / m;
    let b = lcm / n;
    let mn = m * n;
    let (lcmf, mnf) = (lcm as f64, mn as f64);
    let zeta = (lcmf * lcmf * (m + n) as f64 * (6.0 * u - mnf * (4.0 * mnf - 1.0))
        / (6.0 * mnf * mnf))
        .floor();
    let combinations = (1..=m).fold(1u128, |acc, i| acc * (n + i) as u128 / i as u128);
    // gs[v]: value → frequency of g⁺_{u,v}.
    let mut gs: Vec<BTreeMap<u64, u128>> = vec![BTreeMap::new(); (m + 1) as usize];
    gs[0].insert(0, 1);
    for uu in 0..=n {
        let mut next: Vec<BTreeMap<u64, u128>> = Vec::with_capacity(gs.len());
        let mut tmp: BTreeMap<u64, u128> = BTreeMap::new();
        for (v, g) in gs.iter().enumerate() {
            for (&val, &freq) in g {
                *tmp.entry(val).or_insert(0) += freq;
            }
            let d = (a * v as u64) as i64 - (b * uu) as i64;
            let add = (d * d) as u64;
            tmp = tmp.into_iter().map(|(val, f)| (val + add, f)).collect();
            next.push(tmp.clone());
        }
        gs = next;
    }
    let hits: u128 = gs[m as usize]
        .iter()
        .filter(|(val, _)| **val as f64 >= zeta)
        .map(|(_, f)| *f)
        .sum();
    hits as f64 / combinations as f64
}

fn lcm(a: u64, b: u64) -> u64 {
    let (mut x, mut y) = (a, b);
    while y != 0 {
        (x, y) = (y, x % y);
    }
    a / x * b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_two_values() {
        assert!(cramervonmises_2samp(&[1.0], &[1.0, 2.0]).is_err());
    }

    #[test]
    fn limit_cdf_matches_scipy() {
        // scipy.stats._hypotests._cdf_cvm_inf
        assert!((cdf_cvm_inf(0.5) - 0.960_166_782_434_390_7).abs() < 1e-12);
        assert!((cdf_cvm_inf(0.05) - 0.123_719_068_958_649_06).abs() < 1e-12);
    }
}
