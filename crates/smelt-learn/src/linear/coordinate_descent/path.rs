//! Regularisation paths: the alpha grid, warm starts, and the entry point every fit goes
//! through.

use smelt_core::model::{check_sample_weight, finite_regression_target, require_numeric};
use smelt_core::{CoreError, Dataset, Result};

use super::params::{EnetPathParams, Selection, Solver};
use super::solver::{Cd, Centred, Design, coordinate_descent};
use smelt_core::rng::Rng;

/// A regularisation path: one solution per alpha, largest alpha first.
#[derive(Clone, Debug, PartialEq)]
pub struct EnetPath {
    /// The alphas, descending.
    pub alphas: Vec<f64>,
    /// The coefficients at each alpha (`coefs[k][j]`: feature `j` at `alphas[k]`; the transpose
    /// of scikit-learn's `(n_features, n_alphas)` array).
    pub coefs: Vec<Vec<f64>>,
    /// The intercept at each alpha (all 0 unless `fit_intercept`).
    pub intercepts: Vec<f64>,
    /// The duality gap at the end of each solve, on the scale of the objective.
    pub dual_gaps: Vec<f64>,
    /// Sweeps over the features at each alpha.
    pub n_iters: Vec<usize>,
}

/// The elastic-net path: solutions for a descending grid of alphas, with warm starts
/// (scikit-learn's `enet_path`, plus optional centring and sample weights as in
/// [`ElasticNet`](super::ElasticNet)). The grid is `params.alphas` when given, else `n_alphas` values
/// log-spaced from `α_max` (the smallest alpha with all coefficients zero) to `eps·α_max`.
///
/// ```
/// use smelt_learn::linear::{EnetPathParams, enet_path};
/// let data = two_feature_data();
/// let path = enet_path(&data, &EnetPathParams::default().n_alphas(5).fit_intercept(true), None)
///     .unwrap();
/// assert_eq!(path.alphas.len(), 5);
/// assert!(path.coefs[0].iter().all(|&c| c == 0.0)); // at α_max everything is zero
/// assert!(path.coefs[4][0] > 0.0);
/// # fn two_feature_data() -> smelt_core::Dataset<f64> {
/// #     use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Target};
/// #     let f = |n: &str| Feature { name: n.into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric };
/// #     let x = vec![0.0, 1.0, 2.0, 3.0, 1.0, 0.0, 1.0, 0.0];
/// #     let y = Target::Regression { values: vec![1.0, 3.0, 5.0, 7.0] };
/// #     Dataset::new(4, x, vec![f("a"), f("b")], Some(("y".into(), y))).unwrap()
/// # }
/// ```
pub fn enet_path(
    data: &Dataset<f64>,
    params: &EnetPathParams,
    sample_weight: Option<&[f64]>,
) -> Result<EnetPath> {
    let name = "enet_path";
    let mut c = params.range_check(name);
    let alphas = match &params.alphas {
        Some(a) => {
            let bad = a.iter().find(|v| !(v.is_finite() && **v >= 0.0));
            c = c.require(
                !a.is_empty() && bad.is_none(),
                "alphas",
                "a non-empty list of floats in [0, inf)",
                format!("{a:?}"),
            );
            Alphas::Given(a.clone())
        }
        None => {
            c = c.require(
                params.l1_ratio > 0.0,
                "l1_ratio",
                "a float in (0, 1] when `alphas` is not given (the grid is undefined for l1_ratio = 0)",
                params.l1_ratio,
            );
            Alphas::Grid {
                n_alphas: params.n_alphas,
                eps: params.eps,
            }
        }
    };
    let errors = c.finish();
    if !errors.is_empty() {
        return Err(CoreError::Params(errors));
    }
    let solver = Solver {
        max_iter: params.max_iter,
        tol: params.tol,
        positive: params.positive,
        random: params.selection == Selection::Random,
        random_state: params.random_state,
    };
    solve_path(
        name,
        data,
        sample_weight,
        params.fit_intercept,
        params.l1_ratio,
        alphas,
        solver,
    )
}

/// The lasso path: [`enet_path`] with `l1_ratio` = 1 (whatever `params.l1_ratio` says).
pub fn lasso_path(
    data: &Dataset<f64>,
    params: &EnetPathParams,
    sample_weight: Option<&[f64]>,
) -> Result<EnetPath> {
    enet_path(data, &params.clone().l1_ratio(1.0), sample_weight)
}

/// Which alphas a path solves for.
pub(super) enum Alphas {
    Given(Vec<f64>),
    Grid { n_alphas: usize, eps: f64 },
}

/// Features up to which the Gram matrix (`p²` values) is used when there are more rows than
/// features.
const MAX_GRAM_FEATURES: usize = 4096;

pub(super) fn solve_path(
    name: &'static str,
    data: &Dataset<f64>,
    w: Option<&[f64]>,
    fit_intercept: bool,
    l1_ratio: f64,
    alphas: Alphas,
    solver: Solver,
) -> Result<EnetPath> {
    require_numeric(name, data)?;
    let y = finite_regression_target(name, data)?;
    check_sample_weight(name, data.n_rows(), w)?;
    let (n, p) = (data.n_rows(), data.n_features());
    let gram = n > p && p <= MAX_GRAM_FEATURES;
    let c = Centred::new(data, y, w, fit_intercept, gram);
    match c.design {
        Design::Gram(mut g) => run_path(
            name,
            &mut g,
            &c.x_offset,
            c.y_offset,
            n,
            l1_ratio,
            alphas,
            solver,
        ),
        Design::Dense(mut d) => run_path(
            name,
            &mut d,
            &c.x_offset,
            c.y_offset,
            n,
            l1_ratio,
            alphas,
            solver,
        ),
    }
}

/// scikit-learn's `_alpha_grid`: `α_max = max|Xᵀy| / (nρ)` (only positive correlations
/// when `positive`), then `n_alphas` values log-spaced down to `eps·α_max`.
fn alpha_grid(
    xy: &[f64],
    n: f64,
    l1_ratio: f64,
    positive: bool,
    n_alphas: usize,
    eps: f64,
) -> Vec<f64> {
    let top = if positive {
        xy.iter().fold(0.0f64, |m, v| m.max(*v))
    } else {
        xy.iter().fold(0.0f64, |m, v| m.max(v.abs()))
    };
    let alpha_max = top / (n * l1_ratio);
    // numpy's float64 `resolution`: below it the grid would be degenerate.
    let resolution = 1e-15;
    if alpha_max <= resolution {
        return vec![resolution; n_alphas];
    }
    geomspace(alpha_max, alpha_max * eps, n_alphas)
}

/// `numpy.geomspace(start, stop, num)`: log10-spaced, exact endpoints.
pub(super) fn geomspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    let (a, b) = (start.log10(), stop.log10());
    let mut out: Vec<f64> = (0..num)
        .map(|i| {
            // numpy's linspace: start + i · step.
            let step = if num > 1 {
                (b - a) / (num - 1) as f64
            } else {
                0.0
            };
            10f64.powf(i as f64 * step + a)
        })
        .collect();
    if let Some(first) = out.first_mut() {
        *first = start;
    }
    if num > 1
        && let Some(last) = out.last_mut()
    {
        *last = stop;
    }
    out
}

#[allow(
    clippy::too_many_arguments,
    reason = "the solver's inputs, each distinct data; a struct would only rename them"
)]
pub(super) fn run_path<P: Cd>(
    name: &'static str,
    pb: &mut P,
    x_offset: &[f64],
    y_offset: f64,
    n: usize,
    l1_ratio: f64,
    alphas: Alphas,
    solver: Solver,
) -> Result<EnetPath> {
    let nf = n as f64;
    let alphas = match alphas {
        Alphas::Given(mut a) => {
            if a.len() > 1 {
                a.sort_by(|x, y| y.total_cmp(x));
            }
            a
        }
        Alphas::Grid { n_alphas, eps } => {
            alpha_grid(&pb.xty(), nf, l1_ratio, solver.positive, n_alphas, eps)
        }
    };
    let p = x_offset.len();
    let mut w = vec![0.0; p];
    let mut rng = Rng::new(solver.random_state);
    let mut out = EnetPath {
        alphas: Vec::with_capacity(alphas.len()),
        coefs: Vec::with_capacity(alphas.len()),
        intercepts: Vec::with_capacity(alphas.len()),
        dual_gaps: Vec::with_capacity(alphas.len()),
        n_iters: Vec::with_capacity(alphas.len()),
    };
    for &alpha in &alphas {
        let l1 = alpha * l1_ratio * nf;
        let l2 = alpha * (1.0 - l1_ratio) * nf;
        let mut stream = rng.fork();
        let (gap, n_iter) = coordinate_descent(pb, &mut w, l1, l2, solver, &mut stream);
        if let Some(j) = w.iter().position(|v| !v.is_finite()) {
            return Err(CoreError::Numerical {
                estimator: name,
                message: format!(
                    "coordinate descent gave a non-finite coefficient for feature {j} at alpha {alpha}; the data may hold very large values and need scaling"
                ),
            });
        }
        let intercept = y_offset - x_offset.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>();
        out.alphas.push(alpha);
        out.coefs.push(w.clone());
        out.intercepts.push(intercept);
        out.dual_gaps.push(gap / nf);
        out.n_iters.push(n_iter);
    }
    Ok(out)
}
