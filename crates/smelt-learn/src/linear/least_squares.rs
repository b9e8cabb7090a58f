//! Ordinary least squares and ridge regression.
//!
//! Both solve, for centred data (`X - x̄`, `y - ȳ`, with weighted means when sample weights
//! are given, rows scaled by `√w`):
//!
//! ```text
//! LinearRegression   min ‖y - Xβ‖²                 (TSQR of [X | y], then the minimum-norm
//!                                                    solution through the SVD of the small R —
//!                                                    scipy lstsq's answer, rank-deficient too)
//! Ridge              min ‖y - Xβ‖² + α‖β‖²          (Cholesky of XᵀX + αI, or of XXᵀ + αI when
//!                                                    n < p; SVD; or conjugate gradient)
//! ```
//!
//! and set the intercept to `ȳ - x̄ · β`, as scikit-learn does.

use faer::linalg::solvers::Solve;
use faer::{Mat, MatRef, Side};
use serde::{Deserialize, Serialize};
use smelt_core::model::{check_sample_weight, finite_regression_target, require_numeric};
use smelt_core::{CoreError, Dataset, Fit, ParamError, Result};

use super::{LinearFit, linear_regressor};
use crate::util::{center_scale, mat, tall_qr_r, tall_t_mul, weighted_mean, weighted_means};

smelt_core::params! {
    /// Parameters of [`LinearRegression`] (scikit-learn's `LinearRegression`).
    pub struct LinearRegressionParams("LinearRegression") {
        /// Fit an intercept (default `true`); when false the data is assumed centred.
        fit_intercept: bool = true;
    }
}

/// A fitted ordinary least-squares model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearRegression {
    params: LinearRegressionParams,
    fit: LinearFit,
}

linear_regressor!(
    LinearRegression,
    LinearRegressionParams,
    "linear_regression",
    "LinearRegression"
);

/// The weighted, centred least-squares problem of a dataset.
struct Problem {
    x: Mat<f64>,
    y: Mat<f64>,
    x_offset: Vec<f64>,
    y_offset: f64,
}

fn problem(
    name: &'static str,
    data: &Dataset<f64>,
    w: Option<&[f64]>,
    fit_intercept: bool,
) -> Result<Problem> {
    require_numeric(name, data)?;
    let y = finite_regression_target(name, data)?;
    check_sample_weight(name, data.n_rows(), w)?;
    let x = mat(data);
    let (x_offset, y_offset) = if fit_intercept {
        (weighted_means(x, w), weighted_mean(y, w))
    } else {
        (vec![0.0; x.ncols()], 0.0)
    };
    let xc = center_scale(x, &x_offset, w);
    let yc = Mat::from_fn(y.len(), 1, |i, _| {
        let v = y[i] - y_offset;
        w.map_or(v, |w| v * w[i].sqrt())
    });
    Ok(Problem {
        x: xc,
        y: yc,
        x_offset,
        y_offset,
    })
}

impl Problem {
    fn finish(self, input: &Dataset<f64>, coef: Vec<f64>) -> LinearFit {
        let intercept = self.y_offset
            - self
                .x_offset
                .iter()
                .zip(&coef)
                .map(|(a, b)| a * b)
                .sum::<f64>();
        LinearFit {
            input: input.features().to_vec(),
            coef,
            intercept,
        }
    }
}

/// Minimum-norm least squares through the thin SVD; singular values below
/// `eps · σ_max` count as zero (scipy's `lstsq` cutoff).
fn lstsq_svd(
    name: &'static str,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    alpha: f64,
) -> Result<Vec<f64>> {
    let svd = x.thin_svd().map_err(|e| CoreError::Numerical {
        estimator: name,
        message: format!("SVD did not converge: {e:?}"),
    })?;
    let s = svd.S().column_vector();
    let smax = (0..s.nrows()).map(|k| s[k]).fold(0.0f64, f64::max);
    let cutoff = f64::EPSILON * smax;
    let uty = svd.U().transpose() * y;
    let v = svd.V();
    let mut coef = vec![0.0; x.ncols()];
    for k in 0..s.nrows() {
        let sk = s[k];
        let factor = if alpha > 0.0 {
            sk / (sk * sk + alpha)
        } else if sk > cutoff {
            1.0 / sk
        } else {
            0.0
        };
        let c = factor * uty[(k, 0)];
        for (j, cj) in coef.iter_mut().enumerate() {
            *cj += v[(j, k)] * c;
        }
    }
    Ok(coef)
}

fn lstsq(name: &'static str, x: MatRef<'_, f64>, y: MatRef<'_, f64>) -> Result<Vec<f64>> {
    let (n, p) = (x.nrows(), x.ncols());
    if p == 0 {
        return Ok(Vec::new());
    }
    if n > p {
        // TSQR of [X | y]: X = QR and z = Qᵀy come out of one pass over the rows; the
        // minimum-norm solution of the small system R β = z (through its SVD, which has X's
        // singular values) is that of X β ≈ y.
        let mut xy = Mat::<f64>::zeros(n, p + 1);
        xy.as_mut().subcols_mut(0, p).copy_from(x);
        xy.as_mut().col_mut(p).copy_from(y.col(0));
        let r = tall_qr_r(xy.as_ref());
        let k = r.nrows().min(p + 1);
        let rx = r.as_ref().subrows(0, k.min(p)).subcols(0, p);
        let z = r.as_ref().subrows(0, k.min(p)).subcols(p, 1);
        return lstsq_svd(name, rx, z, 0.0);
    }
    lstsq_svd(name, x, y, 0.0)
}

impl Fit for LinearRegressionParams {
    type Model = LinearRegression;

    fn name(&self) -> &'static str {
        "LinearRegression"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<LinearRegression> {
        self.validate()?;
        let pb = problem(self.name(), data, w, self.fit_intercept)?;
        let coef = lstsq(self.name(), pb.x.as_ref(), pb.y.as_ref())?;
        Ok(LinearRegression {
            params: self.clone(),
            fit: pb.finish(data, coef),
        })
    }
}

/// How [`Ridge`] solves its normal equations.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RidgeSolver {
    /// `cholesky`, falling back to `svd` when the system is singular (scikit-learn's choice
    /// for dense data).
    #[default]
    Auto,
    /// Closed form: Cholesky of `XᵀX + αI` (or of `XXᵀ + αI` when there are more features
    /// than rows).
    Cholesky,
    /// Closed form through the SVD of `X`; the most stable.
    Svd,
    /// Iterative: conjugate gradient on the normal equations, without forming `XᵀX`; stops when
    /// the residual norm falls below `tol · ‖Xᵀy‖` or after `max_iter` steps.
    SparseCg,
}

smelt_core::params! {
    /// Parameters of [`Ridge`] (scikit-learn's `Ridge`).
    pub struct RidgeParams("Ridge") {
        /// L2 penalty strength, `[0, inf)`; default 1.0.
        alpha: f64 = 1.0, range: at_least(0.0);
        /// Fit an intercept (not penalised); default `true`.
        fit_intercept: bool = true;
        /// Solver; default `auto`.
        solver: RidgeSolver = RidgeSolver::Auto;
        /// Tolerance of the iterative solver, `(0, inf)`; default 1e-4.
        tol: f64 = 1e-4, range: greater(0.0);
        /// Iteration cap of the iterative solver; default `None` (10 × number of features, at
        /// least 1000).
        max_iter: Option<usize> = None, range: unset_or(at_least_int(1)), setter: some(usize);
    }
}

/// A fitted ridge regression.
#[derive(Clone, Debug, PartialEq)]
pub struct Ridge {
    params: RidgeParams,
    fit: LinearFit,
}

linear_regressor!(Ridge, RidgeParams, "ridge", "Ridge");

fn ridge_cholesky(x: MatRef<'_, f64>, y: MatRef<'_, f64>, alpha: f64) -> Option<Vec<f64>> {
    let (n, p) = (x.nrows(), x.ncols());
    if n >= p {
        let mut a = tall_t_mul(x, x);
        for k in 0..p {
            a[(k, k)] += alpha;
        }
        let b = tall_t_mul(x, y);
        let llt = a.llt(Side::Lower).ok()?;
        let sol = llt.solve(&b);
        Some((0..p).map(|j| sol[(j, 0)]).collect())
    } else {
        // Dual (kernel) form: β = Xᵀ (XXᵀ + αI)⁻¹ y.
        let mut k = x * x.transpose();
        for i in 0..n {
            k[(i, i)] += alpha;
        }
        let llt = k.llt(Side::Lower).ok()?;
        let dual = llt.solve(y);
        let beta = x.transpose() * &dual;
        Some((0..p).map(|j| beta[(j, 0)]).collect())
    }
}

fn ridge_cg(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    alpha: f64,
    tol: f64,
    max_iter: usize,
) -> Vec<f64> {
    let p = x.ncols();
    // A β = b with A = XᵀX + αI applied as Xᵀ(Xv) + αv.
    let apply = |v: &Mat<f64>| -> Mat<f64> {
        let xv = x * v;
        let mut out = x.transpose() * &xv;
        for j in 0..p {
            out[(j, 0)] += alpha * v[(j, 0)];
        }
        out
    };
    let b = x.transpose() * y;
    let bnorm = b.norm_l2();
    let mut beta = Mat::<f64>::zeros(p, 1);
    let mut r = b.clone();
    let mut d = r.clone();
    let mut rr = r.squared_norm_l2();
    for _ in 0..max_iter {
        if rr.sqrt() <= tol * bnorm {
            break;
        }
        let ad = apply(&d);
        let step = rr / (0..p).map(|j| d[(j, 0)] * ad[(j, 0)]).sum::<f64>();
        for j in 0..p {
            beta[(j, 0)] += step * d[(j, 0)];
            r[(j, 0)] -= step * ad[(j, 0)];
        }
        let rr_new = r.squared_norm_l2();
        let ratio = rr_new / rr;
        rr = rr_new;
        for j in 0..p {
            d[(j, 0)] = r[(j, 0)] + ratio * d[(j, 0)];
        }
    }
    (0..p).map(|j| beta[(j, 0)]).collect()
}

impl Fit for RidgeParams {
    type Model = Ridge;

    fn name(&self) -> &'static str {
        "Ridge"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Ridge> {
        self.validate()?;
        let name = Fit::name(self);
        let pb = problem(name, data, w, self.fit_intercept)?;
        let (x, y) = (pb.x.as_ref(), pb.y.as_ref());
        let coef = if x.ncols() == 0 {
            Vec::new()
        } else {
            match self.solver {
                RidgeSolver::Auto | RidgeSolver::Cholesky => match ridge_cholesky(x, y, self.alpha)
                {
                    Some(c) => c,
                    None => lstsq_svd(name, x, y, self.alpha)?,
                },
                RidgeSolver::Svd => lstsq_svd(name, x, y, self.alpha)?,
                RidgeSolver::SparseCg => {
                    let max_iter = self.max_iter.unwrap_or((10 * x.ncols()).max(1000));
                    ridge_cg(x, y, self.alpha, self.tol, max_iter)
                }
            }
        };
        Ok(Ridge {
            params: self.clone(),
            fit: pb.finish(data, coef),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::{Feature, FeatureKind, LogicalType, Predictor, Target};

    fn data(x: &[[f64; 2]], y: &[f64]) -> Dataset<f64> {
        let n = x.len();
        let mut values: Vec<f64> = x.iter().map(|r| r[0]).collect();
        values.extend(x.iter().map(|r| r[1]));
        let feats = ["a", "b"]
            .iter()
            .map(|n| Feature {
                name: n.to_string(),
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            })
            .collect();
        Dataset::new(
            n,
            values,
            feats,
            Some(("y".into(), Target::Regression { values: y.to_vec() })),
        )
        .unwrap()
    }

    #[test]
    fn recovers_an_exact_plane() {
        let x = [[1.0, 2.0], [2.0, 0.5], [3.0, 1.0], [4.0, 3.0], [0.0, 1.0]];
        let y: Vec<f64> = x.iter().map(|r| 3.0 + 2.0 * r[0] - r[1]).collect();
        let m = LinearRegressionParams::default()
            .fit(&data(&x, &y))
            .unwrap();
        assert!((m.intercept() - 3.0).abs() < 1e-12);
        assert!((m.coef()[0] - 2.0).abs() < 1e-12 && (m.coef()[1] + 1.0).abs() < 1e-12);
    }

    #[test]
    fn rank_deficient_gives_minimum_norm() {
        // b = 2a: the minimum-norm solution splits the weight as (1/5, 2/5) · slope.
        let x = [[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
        let y = [1.0, 2.0, 3.0];
        let m = LinearRegressionParams::default()
            .fit(&data(&x, &y))
            .unwrap();
        assert!((m.coef()[0] - 0.2).abs() < 1e-10, "{:?}", m.coef());
        assert!((m.coef()[1] - 0.4).abs() < 1e-10);
        let pred = m.predict(&data(&x, &y)).unwrap();
        let Prediction::Regression { values } = pred else {
            panic!()
        };
        assert!((values[2] - 3.0).abs() < 1e-10);
    }

    #[test]
    fn ridge_solvers_agree() {
        let x = [
            [1.0, 2.0],
            [2.0, 0.5],
            [3.0, 1.0],
            [4.0, 3.0],
            [0.0, 1.0],
            [2.5, 2.5],
        ];
        let y = [1.0, 3.0, 2.0, 5.0, 0.5, 2.0];
        let d = data(&x, &y);
        let fit = |s| {
            RidgeParams::default()
                .alpha(0.7)
                .solver(s)
                .tol(1e-12)
                .fit(&d)
                .unwrap()
        };
        let base = fit(RidgeSolver::Cholesky);
        for s in [RidgeSolver::Svd, RidgeSolver::SparseCg, RidgeSolver::Auto] {
            let m = fit(s);
            for (a, b) in m.coef().iter().zip(base.coef()) {
                assert!((a - b).abs() < 1e-9, "{s:?}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn invalid_alpha_is_named() {
        let d = data(&[[1.0, 2.0], [2.0, 1.0]], &[1.0, 2.0]);
        let err = RidgeParams::default().alpha(-1.0).fit(&d).unwrap_err();
        assert!(err.to_string().contains("`alpha`"), "{err}");
    }

    use smelt_core::Prediction;
}
