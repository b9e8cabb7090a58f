//! Hyperparameters of the estimators and of the path.

use serde::{Deserialize, Serialize};

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

smelt_core::params! {
    /// Parameters of [`ElasticNet`](super::ElasticNet) (scikit-learn's `ElasticNet`).
    pub struct ElasticNetParams("ElasticNet") {
        /// Penalty strength α, `[0, inf)`; default 1.0. α = 0 is least squares (prefer
        /// `LinearRegression`, which is exact).
        alpha: f64 = 1.0, range: at_least(0.0);
        /// Mix ρ of the L1 and L2 penalties, `[0, 1]`; default 0.5 (1: lasso, 0: ridge).
        l1_ratio: f64 = 0.5, range: within(0.0, 1.0);
        /// Fit an (unpenalised) intercept; default `true`.
        fit_intercept: bool = true;
        /// Maximum number of sweeps over the features, `[1, inf)`; default 1000.
        max_iter: usize = 1000, range: at_least_int(1);
        /// Stop when the duality gap is at most `tol·‖y‖²` (centred, weighted y), `[0, inf)`;
        /// default 1e-4.
        tol: f64 = 1e-4, range: at_least(0.0);
        /// Constrain the coefficients to be non-negative; default `false`.
        positive: bool = false;
        /// Coordinate order, `cyclic` or `random`; default `cyclic`.
        selection: Selection = Selection::Cyclic;
        /// Seed of the `random` selection; default 0.
        random_state: u64 = 0;
    }
}

smelt_core::params! {
    /// Parameters of [`Lasso`](super::Lasso) (scikit-learn's `Lasso`): an elastic net with `l1_ratio` = 1.
    pub struct LassoParams("Lasso") {
        /// L1 penalty strength α, `[0, inf)`; default 1.0.
        alpha: f64 = 1.0, range: at_least(0.0);
        /// Fit an (unpenalised) intercept; default `true`.
        fit_intercept: bool = true;
        /// Maximum number of sweeps over the features, `[1, inf)`; default 1000.
        max_iter: usize = 1000, range: at_least_int(1);
        /// Stop when the duality gap is at most `tol·‖y‖²` (centred, weighted y), `[0, inf)`;
        /// default 1e-4.
        tol: f64 = 1e-4, range: at_least(0.0);
        /// Constrain the coefficients to be non-negative; default `false`.
        positive: bool = false;
        /// Coordinate order, `cyclic` or `random`; default `cyclic`.
        selection: Selection = Selection::Cyclic;
        /// Seed of the `random` selection; default 0.
        random_state: u64 = 0;
    }
}

smelt_core::params! {
    /// Parameters of [`enet_path`](super::enet_path) and [`lasso_path`](super::lasso_path) (scikit-learn's functions of those names).
    pub struct EnetPathParams("enet_path") {
        /// Mix ρ of the L1 and L2 penalties, `[0, 1]`, and `(0, 1]` when the grid is generated;
        /// default 0.5 ([`lasso_path`](super::lasso_path) uses 1).
        l1_ratio: f64 = 0.5, range: within(0.0, 1.0);
        /// Length of the generated grid, `alpha_min / alpha_max`, `(0, inf)`; default 1e-3.
        eps: f64 = 1e-3, range: greater(0.0);
        /// Number of alphas of the generated grid, `[1, inf)`; default 100.
        n_alphas: usize = 100, range: at_least_int(1);
        /// The alphas to use instead of a generated grid (each in `[0, inf)`, sorted descending
        /// before use); default `None`.
        alphas: Option<Vec<f64>> = None, setter: none;
        /// Centre the data and return intercepts; default `false`, as scikit-learn's `enet_path`,
        /// which fits `X` and `y` as given.
        fit_intercept: bool = false;
        /// Maximum number of sweeps per alpha, `[1, inf)`; default 1000.
        max_iter: usize = 1000, range: at_least_int(1);
        /// Duality-gap tolerance relative to `‖y‖²`, `[0, inf)`; default 1e-4.
        tol: f64 = 1e-4, range: at_least(0.0);
        /// Constrain the coefficients to be non-negative; default `false`.
        positive: bool = false;
        /// Coordinate order; default `cyclic`.
        selection: Selection = Selection::Cyclic;
        /// Seed of the `random` selection; default 0.
        random_state: u64 = 0;
    }
}

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
