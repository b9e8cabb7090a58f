//! Feature binning: every feature becomes at most `max_bins` value bins plus one bin for
//! missing values, stored as one byte per value in a row-major matrix.
//!
//! Numeric features: with at most `max_bins` distinct values, one bin per value, the bin
//! edges at the midpoints between neighbours; otherwise the edges are the `max_bins − 1`
//! interior quantiles (midpoint method) of a seeded subsample of up to 200,000 rows, like
//! scikit-learn's `_BinMapper`. A value `v` falls in the first bin `b` with `v <= edges[b]`
//! (the last edge is `+inf`), so "bin <= b goes left" is the real-valued split
//! `v <= edges[b]` — the threshold the fitted model stores. Categorical features: the bin is
//! the category code (at most `max_bins` categories).

use rayon::prelude::*;
use smelt_core::rng::Rng;
use smelt_core::{CoreError, Dataset, FeatureKind, Result};

/// Rows used to find quantile edges (scikit-learn's `subsample=2e5`).
const BIN_SAMPLE: usize = 200_000;

/// How one feature maps values to bins.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct BinMapper {
    /// Upper edge of each value bin (`+inf` for the last); empty for categorical features.
    pub edges: Vec<f64>,
    /// Number of value bins (the missing bin is `n_bins`).
    pub n_bins: usize,
    /// Categorical feature (the bin is the category code).
    pub categorical: bool,
}

impl BinMapper {
    /// The bin of a value (`n_bins` for missing).
    #[inline]
    pub fn bin(&self, v: f64, missing: bool) -> u8 {
        if missing || v.is_nan() {
            return self.n_bins as u8;
        }
        if self.categorical {
            // Codes were checked against the category count when binning the training data;
            // anything else (unseen at predict time) counts as missing.
            let c = v as usize;
            return if v >= 0.0 && c < self.n_bins && c as f64 == v {
                c as u8
            } else {
                self.n_bins as u8
            };
        }
        self.edges.partition_point(|&e| e < v) as u8
    }
}

/// The binned feature matrix of a training (or validation) set.
#[derive(Clone, Debug)]
pub(crate) struct Binned {
    /// Rows.
    pub n: usize,
    /// Features.
    pub p: usize,
    /// Column-major `n × p` bins.
    pub bins: Vec<u8>,
}

impl Binned {
    /// The bins of feature `j`.
    #[inline]
    pub fn col(&self, j: usize) -> &[u8] {
        &self.bins[j * self.n..(j + 1) * self.n]
    }
}

/// Finds the bin mappers of `data`'s features (on the rows `rows`).
pub(crate) fn fit_mappers(
    data: &Dataset<f64>,
    rows: &[usize],
    max_bins: usize,
    seed: u64,
    estimator: &'static str,
) -> Result<Vec<BinMapper>> {
    let sample: Vec<usize> = if rows.len() > BIN_SAMPLE {
        let mut s = rows.to_vec();
        let mut rng = Rng::new(seed);
        // Partial Fisher-Yates: the first BIN_SAMPLE entries are a uniform sample.
        for i in 0..BIN_SAMPLE {
            let j = i + rng.below(s.len() - i);
            s.swap(i, j);
        }
        s.truncate(BIN_SAMPLE);
        s
    } else {
        rows.to_vec()
    };
    (0..data.n_features())
        .into_par_iter()
        .map(|j| {
            let f = &data.features()[j];
            let col = data.column(j);
            let miss = data.missing(j);
            let present = |r: &usize| !miss.is_some_and(|m| m.get(*r)) && !col[*r].is_nan();
            match &f.kind {
                FeatureKind::Categorical { categories } => {
                    if categories.len() > max_bins {
                        return Err(CoreError::BadParam {
                            estimator: estimator.into(),
                            message: format!(
                                "categorical feature `{}` has {} categories, more than max_bins = \
                                 {max_bins}; raise max_bins (at most 255) or encode the feature \
                                 (one-hot, target encoding) before the model",
                                f.name,
                                categories.len()
                            ),
                            suggestion: None,
                        });
                    }
                    Ok(BinMapper {
                        edges: Vec::new(),
                        n_bins: categories.len().max(1),
                        categorical: true,
                    })
                }
                FeatureKind::Numeric => {
                    let mut v: Vec<f64> = sample
                        .iter()
                        .filter(|r| present(r))
                        .map(|&r| col[r])
                        .collect();
                    v.sort_unstable_by(f64::total_cmp);
                    Ok(numeric_mapper(&v, max_bins))
                }
            }
        })
        .collect()
}

/// Bin edges of sorted, non-missing values.
fn numeric_mapper(sorted: &[f64], max_bins: usize) -> BinMapper {
    let mut distinct: Vec<f64> = Vec::new();
    for &x in sorted {
        if distinct.last() != Some(&x) {
            distinct.push(x);
        }
    }
    let mut edges: Vec<f64> = if distinct.len() <= max_bins {
        distinct
            .windows(2)
            .map(|w| w[0] + (w[1] - w[0]) / 2.0)
            .collect()
    } else {
        // numpy's percentile(..., method="midpoint") at 100·k/max_bins, k = 1..max_bins-1.
        let n = sorted.len();
        let mut e: Vec<f64> = (1..max_bins)
            .map(|k| {
                let pos = k as f64 / max_bins as f64 * (n - 1) as f64;
                let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
                sorted[lo] + (sorted[hi] - sorted[lo]) / 2.0
            })
            .collect();
        e.dedup();
        e
    };
    // Infinite midpoints (a neighbour was infinite) collapse into the edge below.
    edges.retain(|e| e.is_finite());
    edges.push(f64::INFINITY);
    BinMapper {
        n_bins: edges.len(),
        edges,
        categorical: false,
    }
}

/// Bins the rows `rows` of `data` with `mappers` (features in the mappers' order).
pub(crate) fn bin_rows(data: &Dataset<f64>, rows: &[usize], mappers: &[BinMapper]) -> Binned {
    let p = mappers.len();
    let n = rows.len();
    let mut bins = vec![0u8; n * p];
    if n > 0 {
        bins.par_chunks_mut(n)
            .zip(mappers.par_iter())
            .enumerate()
            .for_each(|(j, (out, m))| {
                let col = data.column(j);
                let miss = data.missing(j);
                for (o, &r) in out.iter_mut().zip(rows) {
                    *o = m.bin(col[r], miss.is_some_and(|b| b.get(r)));
                }
            });
    }
    Binned { n, p, bins }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn few_distinct_values_get_one_bin_each_with_midpoint_edges() {
        let m = numeric_mapper(&[1.0, 1.0, 2.0, 4.0], 255);
        assert_eq!(m.edges, vec![1.5, 3.0, f64::INFINITY]);
        assert_eq!(m.bin(1.0, false), 0);
        assert_eq!(m.bin(1.5, false), 0);
        assert_eq!(m.bin(1.6, false), 1);
        assert_eq!(m.bin(100.0, false), 2);
        assert_eq!(m.bin(f64::INFINITY, false), 2);
        assert_eq!(m.bin(f64::NAN, false), 3);
        assert_eq!(m.bin(1.0, true), 3);
    }

    #[test]
    fn many_values_are_cut_at_quantiles() {
        let v: Vec<f64> = (0..1000).map(f64::from).collect();
        let m = numeric_mapper(&v, 4);
        assert_eq!(m.n_bins, 4);
        // numpy: percentile(arange(1000), [25, 50, 75], method="midpoint")
        assert_eq!(m.edges[..3], [249.5, 499.5, 749.5]);
    }

    #[test]
    fn constant_and_empty_columns_have_one_bin() {
        assert_eq!(numeric_mapper(&[3.0, 3.0], 255).n_bins, 1);
        assert_eq!(numeric_mapper(&[], 255).n_bins, 1);
    }
}
