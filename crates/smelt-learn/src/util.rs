//! Helpers shared by the estimators: the faer view of a dataset, weighted centring, and the
//! save/load of the pieces every model has (input features, parameters).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use smelt_core::{ArtifactReader, ArtifactWriter, Dataset, Feature, Result};

/// The feature matrix as a faer view, without copying (both are column-major).
pub fn mat(data: &Dataset<f64>) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(data.values(), data.n_rows(), data.n_features())
}

/// Rows per block of the tall-matrix kernels below. faer's single GEMM over a very long inner
/// dimension is far slower than per-block products for these shapes (measured: `XᵀX` on
/// 1M × 28, 15 s as one product vs 0.15 s in 4096-row blocks).
pub const BLOCK: usize = 4096;

/// `X Q` for a tall `X` and a small `Q`: one sequential GEMM per row block, blocks in parallel.
pub fn tall_mul(x: MatRef<'_, f64>, q: MatRef<'_, f64>) -> Mat<f64> {
    let mut y = Mat::<f64>::zeros(x.nrows(), q.ncols());
    y.par_row_chunks_mut(BLOCK)
        .zip(x.par_row_chunks(BLOCK))
        .for_each(|(yb, xb)| matmul(yb, Accum::Replace, xb, q, 1.0, Par::Seq));
    y
}

/// `Xᵀ Z` for tall `X` and `Z`: per-block products in parallel, added in block order (so the
/// result does not depend on the thread count).
pub fn tall_t_mul(x: MatRef<'_, f64>, z: MatRef<'_, f64>) -> Mat<f64> {
    let (p, l) = (x.ncols(), z.ncols());
    let parts: Vec<Mat<f64>> = x
        .par_row_chunks(BLOCK)
        .zip(z.par_row_chunks(BLOCK))
        .map(|(xb, zb)| {
            let mut g = Mat::<f64>::zeros(p, l);
            matmul(
                g.as_mut(),
                Accum::Replace,
                xb.transpose(),
                zb,
                1.0,
                Par::Seq,
            );
            g
        })
        .collect();
    let mut g = Mat::<f64>::zeros(p, l);
    for part in parts {
        g += part;
    }
    g
}

/// The `R` factor of the thin QR of a tall matrix, by TSQR: a QR per row block (in parallel),
/// then one QR of the stacked block factors. `X = Q R` with `R` upper-triangular
/// `min(n, p) × p`; numerically as good as a direct Householder QR, and one pass over `X`.
pub fn tall_qr_r(x: MatRef<'_, f64>) -> Mat<f64> {
    let p = x.ncols();
    let block = BLOCK.max(2 * p);
    let parts: Vec<Mat<f64>> = x
        .par_row_chunks(block)
        .map(|xb| xb.qr().thin_R().to_owned())
        .collect();
    let rows: usize = parts.iter().map(|r| r.nrows()).sum();
    let mut stacked = Mat::<f64>::zeros(rows, p);
    let mut r0 = 0;
    for part in &parts {
        stacked
            .as_mut()
            .subrows_mut(r0, part.nrows())
            .copy_from(part.as_ref());
        r0 += part.nrows();
    }
    if parts.len() == 1 {
        return stacked;
    }
    stacked.qr().thin_R().to_owned()
}

/// Weighted column means `Σ w_i x_ij / Σ w_i` (plain means when `w` is `None`).
pub fn weighted_means(x: MatRef<'_, f64>, w: Option<&[f64]>) -> Vec<f64> {
    let n = x.nrows();
    let total = w.map_or(n as f64, |w| w.iter().sum());
    (0..x.ncols())
        .map(|j| {
            let col = x.col(j);
            let s: f64 = match w {
                Some(w) => (0..n).map(|i| w[i] * col[i]).sum(),
                None => (0..n).map(|i| col[i]).sum(),
            };
            s / total
        })
        .collect()
}

/// Weighted mean of a vector.
pub fn weighted_mean(y: &[f64], w: Option<&[f64]>) -> f64 {
    match w {
        Some(w) => y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / w.iter().sum::<f64>(),
        None => y.iter().sum::<f64>() / y.len() as f64,
    }
}

/// `(x - offsets) * sqrt(w)` row-wise: the design of a weighted least-squares problem.
pub fn center_scale(x: MatRef<'_, f64>, offsets: &[f64], w: Option<&[f64]>) -> Mat<f64> {
    let sw: Option<Vec<f64>> = w.map(|w| w.iter().map(|v| v.sqrt()).collect());
    Mat::from_fn(x.nrows(), x.ncols(), |i, j| {
        let v = x[(i, j)] - offsets[j];
        match &sw {
            Some(s) => v * s[i],
            None => v,
        }
    })
}

/// `X · coef + intercept`, column by column (contiguous, vectorisable).
pub fn linear_predict(x: MatRef<'_, f64>, coef: &[f64], intercept: f64) -> Vec<f64> {
    let mut out = vec![intercept; x.nrows()];
    for (j, &c) in coef.iter().enumerate() {
        if c == 0.0 {
            continue;
        }
        let col = x.col(j);
        for (i, o) in out.iter_mut().enumerate() {
            *o += c * col[i];
        }
    }
    out
}

/// Saves the input features and the parameters, the two fields every model has.
pub fn save_common<P: serde::Serialize>(
    w: &mut ArtifactWriter,
    input: &[Feature],
    params: &P,
) -> Result<()> {
    w.put("input", input)?;
    w.put("params", params)
}

/// Reads back what [`save_common`] wrote.
pub fn load_common<P: serde::de::DeserializeOwned>(
    r: &ArtifactReader,
) -> Result<(Vec<Feature>, P)> {
    Ok((r.get("input")?, r.get("params")?))
}

/// Row-major `Vec` of a faer matrix (for saving).
pub fn to_row_major(m: MatRef<'_, f64>) -> Vec<f64> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
    out
}

/// A faer matrix from row-major values (for loading).
pub fn from_row_major(rows: usize, cols: usize, v: &[f64]) -> Mat<f64> {
    Mat::from_fn(rows, cols, |i, j| v[i * cols + j])
}

/// A tiny regression dataset (`y = 1 + 2·x0 − x1`) for doc examples.
pub fn toy_regression() -> Dataset<f64> {
    let f = |n: &str| Feature {
        name: n.into(),
        ltype: smelt_core::LogicalType::Numeric,
        kind: smelt_core::FeatureKind::Numeric,
    };
    let x0 = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
    let x1 = [1.0, 0.0, 2.0, 1.0, 3.0, 2.0];
    let y = x0.iter().zip(&x1).map(|(a, b)| 1.0 + 2.0 * a - b).collect();
    let values = x0.iter().chain(&x1).copied().collect();
    Dataset::new(
        6,
        values,
        vec![f("x0"), f("x1")],
        Some(("y".into(), smelt_core::Target::Regression { values: y })),
    )
    .expect("toy data is consistent")
}

/// The seeded pseudo-random stream of every randomised estimator (k-means++ init, SAGA's row
/// order, randomized SVD): xoshiro256++ seeded through SplitMix64, so `random_state` fully
/// determines a fit on every platform.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A stream seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        Rng {
            s: [next(), next(), next(), next()],
        }
    }

    /// Next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let out = (s[0].wrapping_add(s[3])).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `[0, 1)`.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in `0..n` (`n > 0`), without modulo bias.
    #[inline]
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }

    /// Fisher–Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i + 1);
            v.swap(i, j);
        }
    }

    /// A child stream (for per-thread or per-restart streams that stay reproducible).
    pub fn fork(&mut self) -> Rng {
        Rng::new(self.next_u64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tsqr_and_blocked_products_match_direct_ones() {
        let mut r = Rng::new(3);
        let n = 3 * BLOCK + 17;
        let x = Mat::from_fn(n, 3, |_, _| r.normal());
        let direct = x.transpose() * &x;
        let blocked = tall_t_mul(x.as_ref(), x.as_ref());
        let rr = tall_qr_r(x.as_ref());
        let from_r = rr.transpose() * &rr;
        for i in 0..3 {
            for j in 0..3 {
                let d = direct[(i, j)];
                assert!((blocked[(i, j)] - d).abs() < 1e-9 * d.abs().max(1.0));
                assert!((from_r[(i, j)] - d).abs() < 1e-9 * d.abs().max(1.0));
            }
        }
        let q = Mat::from_fn(3, 2, |i, j| (i + j) as f64);
        let y = tall_mul(x.as_ref(), q.as_ref());
        let yd = &x * &q;
        assert!((0..n).all(|i| (y[(i, 1)] - yd[(i, 1)]).abs() < 1e-12));
    }

    #[test]
    fn rng_is_seeded_and_uniform() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        assert_eq!(a.next_u64(), b.next_u64());
        let mut r = Rng::new(1);
        let mean = (0..10_000).map(|_| r.uniform()).sum::<f64>() / 10_000.0;
        assert!((mean - 0.5).abs() < 0.02);
        assert!((0..1000).all(|_| r.below(3) < 3));
        let mut v: Vec<usize> = (0..10).collect();
        r.shuffle(&mut v);
        v.sort();
        assert_eq!(v, (0..10).collect::<Vec<_>>());
    }
}
