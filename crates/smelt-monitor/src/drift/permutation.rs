//! The permutation p-value of Evidently's `TVD` method (`permutation_test` in
//! `evidently/legacy/calculations/stattests/utils.py`, 0.7.21): the share of 1000 random
//! relabellings of the pooled values whose total variation distance reaches the observed one.
//!
//! A relabelling only changes how many values of each category land in the reference, so
//! instead of shuffling all values (Evidently, `O(n)` per permutation) each one draws those
//! counts category by category from hypergeometric distributions (`O(k √n)` per permutation),
//! from Smelt's seeded generator: the p-value is a Monte Carlo estimate of the same quantity,
//! not numpy's exact stream.

use smelt_core::rng::Rng;

use crate::stats::special::ln_gamma;
use crate::stats::total_variation;

/// Evidently's number of permutations.
pub const PERMUTATIONS: usize = 1000;

/// The share of permutations whose TVD is at least `observed`.
pub(crate) fn tvd_p_value(reference: &[u64], current: &[u64], observed: f64, seed: u64) -> f64 {
    let pooled: Vec<u64> = reference.iter().zip(current).map(|(a, b)| a + b).collect();
    let n_ref: u64 = reference.iter().sum();
    let total: u64 = pooled.iter().sum();
    let mut rng = Rng::new(seed);
    let mut r = vec![0.0f64; pooled.len()];
    let mut c = vec![0.0f64; pooled.len()];
    let mut hits = 0usize;
    for _ in 0..PERMUTATIONS {
        let mut slots = n_ref;
        let mut left = total;
        for (i, &k) in pooled.iter().enumerate() {
            let x = hypergeometric(&mut rng, left, k, slots);
            r[i] = x as f64;
            c[i] = (k - x) as f64;
            slots -= x;
            left -= k;
        }
        if observed <= total_variation(&r, &c).abs() {
            hits += 1;
        }
    }
    hits as f64 / PERMUTATIONS as f64
}

/// How many of `draws` values taken without replacement from `total`, of which `good` are
/// good, are good: inversion by a chop-down search from the mode (exact up to rounding).
fn hypergeometric(rng: &mut Rng, total: u64, good: u64, draws: u64) -> u64 {
    let lo = draws.saturating_sub(total - good);
    let hi = good.min(draws);
    if lo == hi {
        return lo;
    }
    let (n, k, s) = (total as f64, good as f64, draws as f64);
    let mode = (((s + 1.0) * (k + 1.0) / (n + 2.0)).floor() as u64).clamp(lo, hi);
    let ln_choose = |a: f64, b: f64| ln_gamma(a + 1.0) - ln_gamma(b + 1.0) - ln_gamma(a - b + 1.0);
    let m = mode as f64;
    let p_mode = (ln_choose(k, m) + ln_choose(n - k, s - m) - ln_choose(n, s)).exp();
    // P(x + 1) / P(x)
    let ratio = |x: f64| (k - x) * (s - x) / ((x + 1.0) * (n - k - s + x + 1.0));
    let mut u = rng.uniform() - p_mode;
    if u <= 0.0 {
        return mode;
    }
    let (mut down, mut up) = (mode, mode);
    let (mut p_down, mut p_up) = (p_mode, p_mode);
    loop {
        let mut moved = false;
        if up < hi {
            p_up *= ratio(up as f64);
            up += 1;
            u -= p_up;
            if u <= 0.0 {
                return up;
            }
            moved = true;
        }
        if down > lo {
            p_down /= ratio((down - 1) as f64);
            down -= 1;
            u -= p_down;
            if u <= 0.0 {
                return down;
            }
            moved = true;
        }
        if !moved {
            return mode; // rounding left a sliver of probability: the mode is as good as any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hypergeometric_mean_and_support() {
        let mut rng = Rng::new(7);
        let (total, good, draws) = (10_000u64, 3_000u64, 5_000u64);
        let mut sum = 0.0;
        for _ in 0..2000 {
            let x = hypergeometric(&mut rng, total, good, draws);
            assert!(x <= good && x <= draws);
            sum += x as f64;
        }
        let mean = sum / 2000.0;
        // E = 1500, sd ≈ 22.9; the mean of 2000 draws is within 2.
        assert!((mean - 1500.0).abs() < 2.0, "{mean}");
        assert_eq!(hypergeometric(&mut rng, 10, 10, 4), 4);
        assert_eq!(hypergeometric(&mut rng, 10, 0, 4), 0);
    }

    #[test]
    fn identical_counts_are_not_significant() {
        let p = tvd_p_value(&[500, 300, 200], &[500, 300, 200], 0.0, 0);
        assert_eq!(p, 1.0);
        let p = tvd_p_value(&[500, 300, 200], &[200, 300, 500], 0.3, 0);
        assert_eq!(p, 0.0);
    }
}
