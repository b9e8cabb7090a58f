//! Distances between two distributions.
//!
//! On histograms (shares per bin, e.g. from [`Binned`](super::Binned)):
//! [`psi`] (Evidently's `psi`), [`kl_div`] (SciPy's `stats.entropy(p, q)`), [`jensenshannon`]
//! (SciPy's `spatial.distance.jensenshannon`, natural log), [`hellinger`] (Evidently's
//! categorical form) and [`total_variation`] (Evidently's `TVD` statistic).
//!
//! On samples: [`wasserstein_distance`] (SciPy's `stats.wasserstein_distance`, the area between
//! the empirical CDFs), [`wasserstein_normed`] (Evidently's, divided by the reference's
//! population standard deviation, at least 0.001) and [`hellinger_numeric`] (Evidently's
//! numerical form on Sturges bins of the distinct values).

use super::histogram::{histogram, sturges_edges};
use super::sort::joint_value_counts;
use super::special::{BlockSum, Sum};

/// `p ln(p / q)` with SciPy's conventions (`special.rel_entr`): 0 when `p = 0`, infinite when
/// `q = 0 < p`.
fn rel_entr(p: f64, q: f64) -> f64 {
    if p > 0.0 && q > 0.0 {
        p * (p / q).ln()
    } else if p == 0.0 && q >= 0.0 {
        0.0
    } else {
        f64::INFINITY
    }
}

fn normalised(p: &[f64]) -> Vec<f64> {
    let s: f64 = p.iter().sum();
    p.iter().map(|v| v / s).collect()
}

/// Population Stability Index `Σ (p - q) ln(p / q)` (Evidently's `psi`, on shares whose zeroes
/// were filled: [`Binned::with_zeroes_filled`](super::Binned::with_zeroes_filled)).
///
/// ```
/// use smelt_monitor::stats::psi;
///
/// let v = psi(&[0.5, 0.5], &[0.4, 0.6]);
/// assert!((v - (0.1 * (0.5f64 / 0.4).ln() - 0.1 * (0.5f64 / 0.6).ln())).abs() < 1e-15);
/// ```
pub fn psi(p: &[f64], q: &[f64]) -> f64 {
    let mut s = Sum::default();
    for (&a, &b) in p.iter().zip(q) {
        s.add((a - b) * (a / b).ln());
    }
    s.value()
}

/// Kullback–Leibler divergence `Σ p ln(p / q)` after normalising both to sum 1 (SciPy's
/// `stats.entropy(p, q)`, Evidently's `kl_div` on filled shares).
pub fn kl_div(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    let mut s = Sum::default();
    for (&a, &b) in p.iter().zip(&q) {
        s.add(rel_entr(a, b));
    }
    s.value()
}

/// Jensen–Shannon distance `sqrt((KL(p‖m) + KL(q‖m)) / 2)`, `m = (p + q) / 2`, natural log,
/// after normalising both (SciPy's `spatial.distance.jensenshannon`, Evidently's
/// `jensenshannon` on unfilled shares). Rounding below zero gives 0 rather than NaN.
///
/// ```
/// use smelt_monitor::stats::jensenshannon;
///
/// assert_eq!(jensenshannon(&[0.3, 0.7], &[0.3, 0.7]), 0.0);
/// assert!((jensenshannon(&[1.0, 0.0], &[0.0, 1.0]) - 2f64.ln().sqrt()).abs() < 1e-15);
/// ```
pub fn jensenshannon(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    let (mut left, mut right) = (Sum::default(), Sum::default());
    for (&a, &b) in p.iter().zip(&q) {
        let m = (a + b) / 2.0;
        left.add(rel_entr(a, m));
        right.add(rel_entr(b, m));
    }
    let js = left.value() + right.value();
    (js / 2.0).max(0.0).sqrt()
}

/// Hellinger distance `sqrt(1 - Σ sqrt(p q))` on two share vectors, the sum clipped to
/// `[0, 1]` (Evidently's `hellinger` for categorical columns).
pub fn hellinger(p: &[f64], q: &[f64]) -> f64 {
    let mut s = Sum::default();
    for (&a, &b) in p.iter().zip(q) {
        s.add((a * b).sqrt());
    }
    (1.0 - s.value().clamp(0.0, 1.0)).sqrt()
}

/// Total variation distance `½ Σ |p/Σp - q/Σq|` (Evidently's `TVD` statistic, on counts or
/// shares).
pub fn total_variation(p: &[f64], q: &[f64]) -> f64 {
    let (p, q) = (normalised(p), normalised(q));
    let mut s = Sum::default();
    for (&a, &b) in p.iter().zip(&q) {
        s.add((a - b).abs());
    }
    0.5 * s.value()
}

/// First Wasserstein distance between two sorted, NaN-free samples: `∫ |F_u - F_v|`
/// (SciPy's `stats.wasserstein_distance(u, v)`). Empty samples give NaN.
///
/// ```
/// use smelt_monitor::stats::wasserstein_distance;
///
/// assert!((wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0]) - 5.0).abs() < 1e-12);
/// ```
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> f64 {
    if u.is_empty() || v.is_empty() {
        return f64::NAN;
    }
    // The same area as the integral of the quantile functions' gap, `∫₀¹ |Q_u(p) - Q_v(p)| dp`:
    // its breakpoints are `i / n` and `j / m`, known in advance, so the walk over them does not
    // wait on comparisons of the data (SciPy merges the samples' values instead).
    let (n, m) = (u.len(), v.len());
    let mut s = BlockSum::default();
    if n == m {
        for (a, b) in u.iter().zip(v) {
            s.add((a - b).abs());
        }
        return s.value() / n as f64;
    }
    let (n64, m64) = (n as u128, m as u128);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev = 0.0;
    let total = (n64 * m64) as f64;
    while i < n && j < m {
        // Next breakpoint: (i + 1) / n or (j + 1) / m, compared exactly as (i + 1) m vs (j + 1) n.
        let a = (i as u128 + 1) * m64;
        let b = (j as u128 + 1) * n64;
        let end = a.min(b) as f64 / total;
        s.add((u[i] - v[j]).abs() * (end - prev));
        prev = end;
        i += usize::from(a <= b);
        j += usize::from(b <= a);
    }
    s.value()
}

/// Population standard deviation (numpy's `np.std`, `ddof = 0`).
pub fn std_population(x: &[f64]) -> f64 {
    let n = x.len() as f64;
    let mut s = BlockSum::default();
    x.iter().for_each(|&v| s.add(v));
    let mean = s.value() / n;
    let mut sq = BlockSum::default();
    x.iter().for_each(|&v| sq.add((v - mean) * (v - mean)));
    (sq.value() / n).sqrt()
}

/// Evidently's normed Wasserstein distance: [`wasserstein_distance`] divided by
/// `max(std(reference), 0.001)`.
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> f64 {
    let norm = std_population(reference).max(0.001);
    wasserstein_distance(reference, current) / norm
}

/// Evidently's Hellinger distance for numerical columns: density histograms of both sorted
/// samples on Sturges bins of the *distinct* pooled values, `sqrt(1 - Σ sqrt(h₁ h₂) · width)`.
pub fn hellinger_numeric(reference: &[f64], current: &[f64]) -> f64 {
    if reference.is_empty() || current.is_empty() {
        return f64::NAN;
    }
    let (keys, _, _) = joint_value_counts(reference, current);
    let (first, last) = (keys[0], keys[keys.len() - 1]);
    let edges = sturges_edges(first, last, keys.len());
    let density = |sorted: &[f64]| -> Vec<f64> {
        let counts = histogram(sorted, &edges);
        let total: u64 = counts.iter().sum();
        counts
            .iter()
            .zip(edges.windows(2))
            .map(|(&c, w)| c as f64 / (w[1] - w[0]) / total as f64)
            .collect()
    };
    let (h1, h2) = (density(reference), density(current));
    let edge_min = edges.iter().copied().fold(f64::INFINITY, f64::min);
    let edge_max = edges.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let bin_width = (edge_max - edge_min) / (edges.len() - 1) as f64;
    let mut s = Sum::default();
    for (a, b) in h1.iter().zip(&h2) {
        s.add((a * b).sqrt() * bin_width);
    }
    (1.0 - s.value().clamp(0.0, 1.0)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kl_is_zero_on_equal_histograms() {
        assert_eq!(kl_div(&[0.2, 0.8], &[2.0, 8.0]), 0.0);
        assert_eq!(kl_div(&[0.5, 0.5], &[1.0, 0.0]), f64::INFINITY);
    }

    #[test]
    fn tvd_of_disjoint_is_one() {
        assert_eq!(total_variation(&[3.0, 0.0], &[0.0, 5.0]), 1.0);
    }

    #[test]
    fn hellinger_bounds() {
        assert_eq!(hellinger(&[0.5, 0.5], &[0.5, 0.5]), 0.0);
        assert_eq!(hellinger(&[1.0, 0.0], &[0.0, 1.0]), 1.0);
        assert_eq!(hellinger_numeric(&[2.0, 2.0], &[2.0]), 0.0);
    }

    #[test]
    fn normed_wasserstein_floors_the_scale() {
        // constant reference: std 0 → divided by 0.001
        let v = wasserstein_normed(&[1.0, 1.0], &[1.5, 1.5]);
        assert!((v - 500.0).abs() < 1e-9);
    }
}
