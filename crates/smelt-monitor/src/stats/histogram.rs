//! Evidently's binning, on which its PSI, Jensen–Shannon and Kullback–Leibler distances are
//! defined (`get_binned_data` in `evidently/legacy/calculations/stattests/utils.py`, 0.7.21),
//! and numpy's `histogram_bin_edges(…, bins="sturges")` / `histogram` that it calls.
//!
//! * Numerical values with more than 20 distinct values **in the reference**: Sturges' rule on
//!   the pooled sample, `width = ptp / (log2 N + 1)`, `ceil(ptp / width)` equal bins from the
//!   pooled minimum to the pooled maximum (numpy's `linspace` edges), left-closed bins with the
//!   last one closed; each side's counts divided by its own size. (Evidently passes
//!   `n_bins = 30` but `get_binned_data` ignores it.)
//! * Otherwise (categories, or few distinct numbers): one bin per value present on either side.
//! * PSI and KL then replace empty bins by a small share ("feel zeroes"): `min / 10⁶` of the
//!   smallest non-zero share when that is at most 1e-4, else 1e-4, per side.

use super::sort::{count_distinct, joint_value_counts};

/// More distinct reference values than this bins a numerical column by Sturges' rule.
pub const MAX_VALUES_AS_CATEGORIES: usize = 20;

/// The shares of reference and current values in the same bins.
#[derive(Clone, Debug, PartialEq)]
pub struct Binned {
    /// Reference share per bin (counts over the reference size).
    pub reference: Vec<f64>,
    /// Current share per bin.
    pub current: Vec<f64>,
}

impl Binned {
    /// Evidently's bins of two sorted, NaN-free numerical samples.
    pub fn numeric(reference: &[f64], current: &[f64]) -> Binned {
        if reference.is_empty() || current.is_empty() {
            return Binned {
                reference: vec![],
                current: vec![],
            };
        }
        if count_distinct(reference) > MAX_VALUES_AS_CATEGORIES {
            let first = reference[0].min(current[0]);
            let last = reference[reference.len() - 1].max(current[current.len() - 1]);
            let edges = sturges_edges(first, last, reference.len() + current.len());
            let (nr, nc) = (reference.len() as f64, current.len() as f64);
            Binned {
                reference: histogram(reference, &edges)
                    .into_iter()
                    .map(|c| c as f64 / nr)
                    .collect(),
                current: histogram(current, &edges)
                    .into_iter()
                    .map(|c| c as f64 / nc)
                    .collect(),
            }
        } else {
            let (_, cr, cc) = joint_value_counts(reference, current);
            Binned::from_counts(&cr, &cc)
        }
    }

    /// Bins from category counts on each side (same categories, same order); categories absent
    /// on both sides are left out.
    pub fn from_counts(reference: &[u64], current: &[u64]) -> Binned {
        let nr: u64 = reference.iter().sum();
        let nc: u64 = current.iter().sum();
        let (nr, nc) = (nr as f64, nc as f64);
        let mut out = Binned {
            reference: Vec::with_capacity(reference.len()),
            current: Vec::with_capacity(reference.len()),
        };
        for (&r, &c) in reference.iter().zip(current) {
            if r == 0 && c == 0 {
                continue;
            }
            out.reference.push(r as f64 / nr);
            out.current.push(c as f64 / nc);
        }
        out
    }

    /// Evidently's `feel_zeroes`: each side's empty bins get a small share.
    pub fn with_zeroes_filled(mut self) -> Binned {
        fill_zeroes(&mut self.reference);
        fill_zeroes(&mut self.current);
        self
    }

    /// The number of bins.
    pub fn len(&self) -> usize {
        self.reference.len()
    }

    /// Whether there are no bins (an empty side).
    pub fn is_empty(&self) -> bool {
        self.reference.is_empty()
    }
}

fn fill_zeroes(p: &mut [f64]) {
    let min_nonzero = p
        .iter()
        .copied()
        .filter(|&v| v != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min_nonzero.is_finite() {
        return;
    }
    let fill = if min_nonzero <= 0.0001 {
        min_nonzero / 1e6
    } else {
        0.0001
    };
    for v in p.iter_mut().filter(|v| **v == 0.0) {
        *v = fill;
    }
}

/// numpy's `histogram_bin_edges(x, bins="sturges")` for `n` values spanning `[first, last]`
/// (float data: no integer rounding of the width).
pub fn sturges_edges(first: f64, last: f64, n: usize) -> Vec<f64> {
    let (mut first, mut last) = (first, last);
    let ptp = last - first;
    let width = ptp / ((n as f64).log2() + 1.0);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let n_bins = if width != 0.0 && n > 0 {
        ((last - first) / width).ceil() as usize
    } else {
        1
    };
    linspace(first, last, n_bins + 1)
}

/// numpy's `linspace(start, stop, num)`: `i · step + start`, the last edge exactly `stop`.
fn linspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    let mut v: Vec<f64> = (0..num).map(|i| i as f64 * step + start).collect();
    if let Some(l) = v.last_mut() {
        *l = stop;
    }
    v
}

/// numpy's `histogram(x, bins=edges)` counts on sorted data: bin `i` holds
/// `edges[i] <= x < edges[i+1]`, the last bin also `x == edges[last]`.
pub fn histogram(sorted: &[f64], edges: &[f64]) -> Vec<u64> {
    if edges.len() < 2 {
        return vec![];
    }
    let mut cum: Vec<usize> = edges[..edges.len() - 1]
        .iter()
        .map(|&e| sorted.partition_point(|&x| x < e))
        .collect();
    let last = edges[edges.len() - 1];
    cum.push(sorted.partition_point(|&x| x <= last));
    cum.windows(2).map(|w| (w[1] - w[0]) as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sturges_matches_numpy() {
        // np.histogram_bin_edges(np.arange(100.0), bins="sturges"): 8 bins
        let e = sturges_edges(0.0, 99.0, 100);
        assert_eq!(e.len(), 9);
        assert_eq!(e[0], 0.0);
        assert_eq!(e[8], 99.0);
        assert_eq!(e[1], 12.375);
    }

    #[test]
    fn single_value_gets_one_unit_bin() {
        assert_eq!(sturges_edges(3.0, 3.0, 5), vec![2.5, 3.5]);
    }

    #[test]
    fn histogram_closes_the_last_bin() {
        let counts = histogram(&[0.0, 0.5, 1.0, 1.0, 2.0], &[0.0, 1.0, 2.0]);
        assert_eq!(counts, vec![2, 3]);
    }

    #[test]
    fn zeroes_are_filled_per_side() {
        let b = Binned {
            reference: vec![0.5, 0.5, 0.0],
            current: vec![0.99995, 0.00005, 0.0],
        }
        .with_zeroes_filled();
        assert_eq!(b.reference[2], 0.0001);
        assert_eq!(b.current[2], 0.00005 / 1e6);
    }
}
