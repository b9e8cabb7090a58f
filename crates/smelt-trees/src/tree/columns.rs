//! The feature columns a tree grows on, prepared once per fit however many trees are grown:
//! each feature rounded to f32 and, for the best-split search, each row's rank among the
//! feature's distinct values, row-major, with the tie bounds of [`FEATURE_THRESHOLD`] (see
//! [`super::grow`] for how the grower reads them).

use rayon::prelude::*;
use smelt_core::Dataset;

use super::FEATURE_THRESHOLD;

/// Feature columns prepared once for growing any number of trees on the same rows.
///
/// Row-major (`n_rows × p`): a node's split search reads a few features of each of its rows,
/// and those then share a cache line or two per row instead of costing a miss per feature.
pub(crate) struct Columns {
    n_rows: usize,
    pub(super) p: usize,
    /// Values rounded to f32 (as scikit-learn stores `X` for trees), row-major; only for the
    /// random splitter (the best-split search works on ranks).
    pub(super) values: Vec<f32>,
    /// Each row's rank among the feature's distinct values, row-major; only for the
    /// best-split search.
    pub(super) rank: Vec<u32>,
    /// Per feature, the distinct values in increasing order, as f64.
    pub(super) uniq: Vec<Vec<f64>>,
    /// Per feature, for each rank `a`, the first rank whose value is more than
    /// [`FEATURE_THRESHOLD`] above rank `a`'s (so ranks `a < b` are one value exactly when
    /// `b < far[a]`); empty when no two distinct values are that close (then `far[a] = a + 1`).
    pub(super) far: Vec<Vec<u32>>,
    /// Per feature, bit `a` set when `far[a] > a + 1` (a small bitset read before the large
    /// `far`, which is then rarely touched).
    pub(super) close: Vec<Vec<u64>>,
}

/// One feature's ranks, distinct values, `far` and `close` (see [`Columns`]).
type Ranked = (Vec<u32>, Vec<f64>, Vec<u32>, Vec<u64>);

impl Columns {
    /// Prepares `data` for the best-split search (`ranks`: per-feature ranks of the f32
    /// values) or for the random splitter (the f32 values).
    pub(crate) fn new(data: &Dataset<f64>, ranks: bool) -> Columns {
        let (n, p) = (data.n_rows(), data.n_features());
        // `+ 0.0` turns -0.0 into +0.0: one value, one rank.
        let f32_col = |j: usize| data.column(j).iter().map(|&v| v as f32 + 0.0);
        let mut c = Columns {
            n_rows: n,
            p,
            values: Vec::new(),
            rank: Vec::new(),
            uniq: Vec::new(),
            far: Vec::new(),
            close: Vec::new(),
        };
        if !ranks {
            c.values = vec![0.0; n * p];
            c.values
                .par_chunks_mut(p.max(1))
                .enumerate()
                .for_each(|(i, row)| {
                    for (j, v) in row.iter_mut().enumerate() {
                        *v = data.column(j)[i] as f32 + 0.0;
                    }
                });
            return c;
        }
        let ranked: Vec<Ranked> = (0..p)
            .into_par_iter()
            .map(|j| {
                let mut keys: Vec<u64> = f32_col(j)
                    .enumerate()
                    .map(|(i, v)| (u64::from(sortable(v)) << 32) | i as u64)
                    .collect();
                keys.sort_unstable();
                let mut rank = vec![0u32; n];
                let mut uniq: Vec<f64> = Vec::new();
                let mut last = None;
                for k in keys {
                    let bits = (k >> 32) as u32;
                    if last != Some(bits) {
                        last = Some(bits);
                        uniq.push(f64::from(unsortable(bits)));
                    }
                    rank[k as u32 as usize] = (uniq.len() - 1) as u32;
                }
                let any_close = uniq.windows(2).any(|w| w[1] <= w[0] + FEATURE_THRESHOLD);
                let (mut far, mut close) = (Vec::new(), Vec::new());
                if any_close {
                    far = vec![0u32; uniq.len()];
                    close = vec![0u64; uniq.len().div_ceil(64)];
                    let mut b = 0;
                    for (a, f) in far.iter_mut().enumerate() {
                        b = b.max(a + 1);
                        while b < uniq.len() && uniq[b] <= uniq[a] + FEATURE_THRESHOLD {
                            b += 1;
                        }
                        *f = b as u32;
                        if b > a + 1 {
                            close[a / 64] |= 1 << (a % 64);
                        }
                    }
                }
                (rank, uniq, far, close)
            })
            .collect();
        c.rank = vec![0u32; n * p];
        c.rank
            .par_chunks_mut(p.max(1))
            .enumerate()
            .for_each(|(i, row)| {
                for (j, v) in row.iter_mut().enumerate() {
                    *v = ranked[j].0[i];
                }
            });
        for (_, u, f, b) in ranked {
            c.uniq.push(u);
            c.far.push(f);
            c.close.push(b);
        }
        c
    }

    /// Number of rows.
    pub(crate) fn n_rows(&self) -> usize {
        self.n_rows
    }
}

/// The inverse of [`sortable`].
fn unsortable(b: u32) -> f32 {
    f32::from_bits(if b >> 31 == 1 { b & 0x7fff_ffff } else { !b })
}

/// The bits of a finite f32 as an unsigned integer of the same order.
fn sortable(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sortable_bits_keep_the_float_order() {
        let v = [-3.5f32, -1e-30, 0.0, 1e-30, 2.0, f32::MAX];
        for w in v.windows(2) {
            assert!(sortable(w[0]) < sortable(w[1]));
        }
        assert!(v.iter().all(|&x| unsortable(sortable(x)) == x));
    }
}
