//! Helpers shared by this crate's estimators: the faer view of a dataset, the blocked kernels
//! for tall matrices, weighted centring. (The seeded generator is `smelt_core::rng`, the
//! save/load of the fields every model has is `smelt_core::artifact::{save_common, load_common}`.)

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use smelt_core::{Dataset, Feature};

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

#[cfg(test)]
mod tests {
    use smelt_core::rng::Rng;

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
}
