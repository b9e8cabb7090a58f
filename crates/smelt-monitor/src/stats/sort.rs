//! Sorting samples and counting distinct values: what every rank test and distance starts from.
//!
//! Samples are sorted as the order-preserving unsigned images of their bits, whose unstable
//! sort (the standard library's, branchless on integers) takes a third less time than sorting
//! the floats with `total_cmp` (20 ms for a million values; a radix sort was no faster).
//! Merges of two sorted samples pick the next value without a branch, as the order of random
//! data cannot be predicted.

use crate::error::{MonitorError, Result};

/// A sorted copy of `values`, which must hold no NaN (`-0.0` is stored as `0.0`).
pub fn sorted(values: &[f64]) -> Result<Vec<f64>> {
    if values.iter().any(|v| v.is_nan()) {
        return Err(MonitorError::Invalid(
            "a sample holds NaN; drop missing values first".to_string(),
        ));
    }
    let mut v: Vec<f64> = values.iter().map(|&x| x + 0.0).collect();
    sort_in_place(&mut v);
    Ok(v)
}

/// The finite values of `values`, sorted (`-0.0` stored as `0.0`): one pass into sort keys, one
/// sort, one pass back.
pub fn sorted_finite(values: &[f64]) -> Vec<f64> {
    let mut keys: Vec<u64> = values
        .iter()
        .filter(|x| x.is_finite())
        .map(|&x| key(x + 0.0))
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(unkey).collect()
}

/// Sorts NaN-free values ascending (`-0.0` must already be `0.0` for it to equal `0.0`).
pub fn sort_in_place(v: &mut [f64]) {
    let mut keys: Vec<u64> = v.iter().map(|&x| key(x)).collect();
    keys.sort_unstable();
    for (out, k) in v.iter_mut().zip(&keys) {
        *out = unkey(*k);
    }
}

/// The order-preserving unsigned image of an `f64`'s bits.
#[inline]
fn key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

#[inline]
fn unkey(k: u64) -> f64 {
    let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
    f64::from_bits(b)
}

/// The number of distinct values in a sorted slice.
pub fn count_distinct(sorted: &[f64]) -> usize {
    if sorted.is_empty() {
        return 0;
    }
    1 + sorted.windows(2).filter(|w| w[0] != w[1]).count()
}

/// The number of distinct values in the union of two sorted slices.
pub fn count_distinct_union(a: &[f64], b: &[f64]) -> usize {
    let mut n = 0usize;
    let mut last = f64::NAN; // equal to nothing
    merge(a, b, |x, _, _| {
        n += usize::from(x != last);
        last = x;
    });
    n
}

/// Visits the values of two sorted slices in ascending order (ties in either order) with the
/// number of values of `a` and of `b` visited so far, this one included.
#[inline]
pub fn merge(a: &[f64], b: &[f64], mut f: impl FnMut(f64, usize, usize)) {
    let (mut i, mut j) = (0usize, 0usize);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        let take_a = x <= y;
        let v = if take_a { x } else { y };
        i += usize::from(take_a);
        j += usize::from(!take_a);
        f(v, i, j);
    }
    while i < a.len() {
        i += 1;
        f(a[i - 1], i, j);
    }
    while j < b.len() {
        j += 1;
        f(b[j - 1], i, j);
    }
}

/// Distinct values of a sorted slice with their counts.
pub fn value_counts(sorted: &[f64]) -> Vec<(f64, u64)> {
    let mut out: Vec<(f64, u64)> = Vec::new();
    for &v in sorted {
        match out.last_mut() {
            Some((last, c)) if *last == v => *c += 1,
            _ => out.push((v, 1)),
        }
    }
    out
}

/// Counts of both samples over the union of their distinct values, in ascending order of value.
pub fn joint_value_counts(a: &[f64], b: &[f64]) -> (Vec<f64>, Vec<u64>, Vec<u64>) {
    let (ca, cb) = (value_counts(a), value_counts(b));
    let (mut i, mut j) = (0, 0);
    let mut values = Vec::with_capacity(ca.len().max(cb.len()));
    let (mut na, mut nb) = (Vec::new(), Vec::new());
    while i < ca.len() || j < cb.len() {
        if j >= cb.len() || (i < ca.len() && ca[i].0 < cb[j].0) {
            values.push(ca[i].0);
            na.push(ca[i].1);
            nb.push(0);
            i += 1;
        } else if i >= ca.len() || cb[j].0 < ca[i].0 {
            values.push(cb[j].0);
            na.push(0);
            nb.push(cb[j].1);
            j += 1;
        } else {
            values.push(ca[i].0);
            na.push(ca[i].1);
            nb.push(cb[j].1);
            i += 1;
            j += 1;
        }
    }
    (values, na, nb)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::rng::Rng;

    #[test]
    fn key_sort_matches_comparison_sort() {
        let mut rng = Rng::new(3);
        let mut v: Vec<f64> = (0..10_000)
            .map(|i| match i % 4 {
                0 => rng.normal() * 1e3,
                1 => -rng.uniform(),
                2 => (rng.below(7) as f64) - 3.0,
                _ => 0.0,
            })
            .collect();
        v.push(f64::INFINITY);
        v.push(f64::NEG_INFINITY);
        v.push(-0.0);
        let got = sorted(&v).expect("no NaN");
        let mut want: Vec<f64> = v.iter().map(|x| x + 0.0).collect();
        want.sort_by(f64::total_cmp);
        assert_eq!(got, want);
    }

    #[test]
    fn nan_is_an_error() {
        assert!(sorted(&[1.0, f64::NAN]).is_err());
    }

    #[test]
    fn distinct_counts() {
        let a = [1.0, 1.0, 2.0, 5.0];
        let b = [0.0, 2.0, 2.0, 7.0];
        assert_eq!(count_distinct(&a), 3);
        assert_eq!(count_distinct_union(&a, &b), 5);
        let (v, ca, cb) = joint_value_counts(&a, &b);
        assert_eq!(v, vec![0.0, 1.0, 2.0, 5.0, 7.0]);
        assert_eq!(ca, vec![0, 2, 1, 1, 0]);
        assert_eq!(cb, vec![1, 0, 2, 0, 1]);
    }
}
