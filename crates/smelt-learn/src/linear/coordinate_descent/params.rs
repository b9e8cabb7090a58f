//! Hyperparameters of the estimators and of the path.

use serde::{Deserialize, Serialize};
use smelt_core::ParamCheck;

/// How coordinate descent picks the next coordinate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every feature in turn, in column order.
    #[default]
    Cyclic,
    /// A feature drawn uniformly at random (with replacement) at each step, seeded by
    /// `random_state`; often faster to converge when `tol` is loose.
    Random,
}

/// Parameters of [`ElasticNet`](super::ElasticNet) (scikit-learn's `ElasticNet`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ElasticNetParams {
    /// Penalty strength α, `[0, inf)`; default 1.0. α = 0 is least squares (prefer
    /// `LinearRegression`, which is exact).
    pub alpha: f64,
    /// Mix ρ of the L1 and L2 penalties, `[0, 1]`; default 0.5 (1: lasso, 0: ridge).
    pub l1_ratio: f64,
    /// Fit an (unpenalised) intercept; default `true`.
    pub fit_intercept: bool,
    /// Maximum number of sweeps over the features, `[1, inf)`; default 1000.
    pub max_iter: usize,
    /// Stop when the duality gap is at most `tol·‖y‖²` (centred, weighted y), `[0, inf)`;
    /// default 1e-4.
    pub tol: f64,
    /// Constrain the coefficients to be non-negative; default `false`.
    pub positive: bool,
    /// Coordinate order, `cyclic` or `random`; default `cyclic`.
    pub selection: Selection,
    /// Seed of the `random` selection; default 0.
    pub random_state: u64,
}

impl Default for ElasticNetParams {
    fn default() -> Self {
        ElasticNetParams {
            alpha: 1.0,
            l1_ratio: 0.5,
            fit_intercept: true,
            max_iter: 1000,
            tol: 1e-4,
            positive: false,
            selection: Selection::Cyclic,
            random_state: 0,
        }
    }
}

/// Parameters of [`Lasso`](super::Lasso) (scikit-learn's `Lasso`): an elastic net with `l1_ratio` = 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LassoParams {
    /// L1 penalty strength α, `[0, inf)`; default 1.0.
    pub alpha: f64,
    /// Fit an (unpenalised) intercept; default `true`.
    pub fit_intercept: bool,
    /// Maximum number of sweeps over the features, `[1, inf)`; default 1000.
    pub max_iter: usize,
    /// Stop when the duality gap is at most `tol·‖y‖²` (centred, weighted y), `[0, inf)`;
    /// default 1e-4.
    pub tol: f64,
    /// Constrain the coefficients to be non-negative; default `false`.
    pub positive: bool,
    /// Coordinate order, `cyclic` or `random`; default `cyclic`.
    pub selection: Selection,
    /// Seed of the `random` selection; default 0.
    pub random_state: u64,
}

impl Default for LassoParams {
    fn default() -> Self {
        LassoParams {
            alpha: 1.0,
            fit_intercept: true,
            max_iter: 1000,
            tol: 1e-4,
            positive: false,
            selection: Selection::Cyclic,
            random_state: 0,
        }
    }
}

/// Parameters of [`enet_path`](super::enet_path) and [`lasso_path`](super::lasso_path) (scikit-learn's functions of those names).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnetPathParams {
    /// Mix ρ of the L1 and L2 penalties, `[0, 1]`, and `(0, 1]` when the grid is generated;
    /// default 0.5 ([`lasso_path`](super::lasso_path) uses 1).
    pub l1_ratio: f64,
    /// Length of the generated grid, `alpha_min / alpha_max`, `(0, inf)`; default 1e-3.
    pub eps: f64,
    /// Number of alphas of the generated grid, `[1, inf)`; default 100.
    pub n_alphas: usize,
    /// The alphas to use instead of a generated grid (each in `[0, inf)`, sorted descending
    /// before use); default `None`.
    pub alphas: Option<Vec<f64>>,
    /// Centre the data and return intercepts; default `false`, as scikit-learn's `enet_path`,
    /// which fits `X` and `y` as given.
    pub fit_intercept: bool,
    /// Maximum number of sweeps per alpha, `[1, inf)`; default 1000.
    pub max_iter: usize,
    /// Duality-gap tolerance relative to `‖y‖²`, `[0, inf)`; default 1e-4.
    pub tol: f64,
    /// Constrain the coefficients to be non-negative; default `false`.
    pub positive: bool,
    /// Coordinate order; default `cyclic`.
    pub selection: Selection,
    /// Seed of the `random` selection; default 0.
    pub random_state: u64,
}

impl Default for EnetPathParams {
    fn default() -> Self {
        EnetPathParams {
            l1_ratio: 0.5,
            eps: 1e-3,
            n_alphas: 100,
            alphas: None,
            fit_intercept: false,
            max_iter: 1000,
            tol: 1e-4,
            positive: false,
            selection: Selection::Cyclic,
            random_state: 0,
        }
    }
}

macro_rules! builders {
    ($t:ty { $($field:ident: $ty:ty),* $(,)? }) => {
        impl $t {
            $(
                #[doc = concat!("Sets `", stringify!($field), "`.")]
                pub fn $field(mut self, v: $ty) -> Self {
                    self.$field = v;
                    self
                }
            )*
        }
    };
}

builders!(ElasticNetParams {
    alpha: f64,
    l1_ratio: f64,
    fit_intercept: bool,
    max_iter: usize,
    tol: f64,
    positive: bool,
    selection: Selection,
    random_state: u64,
});
builders!(LassoParams {
    alpha: f64,
    fit_intercept: bool,
    max_iter: usize,
    tol: f64,
    positive: bool,
    selection: Selection,
    random_state: u64,
});
builders!(EnetPathParams {
    l1_ratio: f64,
    eps: f64,
    n_alphas: usize,
    fit_intercept: bool,
    max_iter: usize,
    tol: f64,
    positive: bool,
    selection: Selection,
    random_state: u64,
});

impl EnetPathParams {
    /// Uses these alphas instead of a generated grid.
    pub fn alphas(mut self, v: &[f64]) -> Self {
        self.alphas = Some(v.to_vec());
        self
    }
}

/// What the solver needs besides the data and the alphas.
#[derive(Clone, Copy, Debug)]
pub(super) struct Solver {
    pub(super) max_iter: usize,
    pub(super) tol: f64,
    pub(super) positive: bool,
    pub(super) random: bool,
    pub(super) random_state: u64,
}

/// Checks shared by the three parameter types.
pub(super) fn check_common(c: ParamCheck, l1_ratio: f64, max_iter: usize, tol: f64) -> ParamCheck {
    c.within("l1_ratio", l1_ratio, 0.0, 1.0)
        .at_least_int("max_iter", max_iter, 1)
        .at_least("tol", tol, 0.0)
}
