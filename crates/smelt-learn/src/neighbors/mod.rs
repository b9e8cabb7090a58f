//! k-nearest neighbours: [`KNeighborsClassifier`] and [`KNeighborsRegressor`] (scikit-learn's
//! `sklearn.neighbors`).
//!
//! A query's prediction comes from its `k = n_neighbors` nearest training rows under the
//! Minkowski distance `(Σ_j |q_j - t_j|^p)^(1/p)`: the class proportions (classifier) or the
//! mean target (regressor), each neighbour weighted `1` (`uniform`) or `1 / distance`
//! (`distance`; when some neighbours are at distance 0 they share all the weight, as in
//! scikit-learn). Among training rows at equal distance the one with the smaller index is the
//! nearer, so predictions are deterministic.
//!
//! Two search structures:
//!
//! * **kd-tree** ([`kd_tree`](self) module): exact, `O(log n)`-ish per query in low dimension;
//! * **brute force**: for Euclidean distance a blocked GEMM (`‖q‖² + ‖t‖² - 2 q·t`) with a
//!   bounded heap per query, then exact distances for the selected neighbours; direct distances
//!   for other `p`.
//!
//! `algorithm = "auto"` follows scikit-learn's rule: brute force when there are more than 15
//! features or `n_neighbors >= n_rows / 2` (a tree prunes little there), else the kd-tree.
//!
//! The fitted model keeps the training matrix and targets (saved as arrays); the search
//! structure is rebuilt, deterministically, when a model is loaded.

mod brute;
mod classifier;
mod heap;
pub(crate) mod kd_tree;
mod regressor;

pub use classifier::{KNeighborsClassifier, KNeighborsClassifierParams};
pub use regressor::{KNeighborsRegressor, KNeighborsRegressorParams};

use serde::{Deserialize, Serialize};
use smelt_core::model::require_numeric;
use smelt_core::{CoreError, Dataset, Feature, ParamCheck, Result, UnknownCategory};

/// How neighbours are weighted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Weights {
    /// Every neighbour counts the same.
    #[default]
    Uniform,
    /// A neighbour counts `1 / distance`; neighbours at distance 0, if any, take all the weight.
    Distance,
}

/// The neighbour search structure.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// scikit-learn's rule: brute force when `n_features > 15` or `n_neighbors >= n_rows / 2`,
    /// else the kd-tree.
    #[default]
    Auto,
    /// A kd-tree (median splits, leaf buckets of at most `leaf_size` rows).
    KdTree,
    /// Every training row against every query (blocked GEMM for Euclidean distance).
    Brute,
}

/// The distance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `(Σ |q_j - t_j|^p)^(1/p)` with the `p` parameter.
    #[default]
    Minkowski,
    /// Minkowski with `p = 2`.
    Euclidean,
    /// Minkowski with `p = 1`.
    Manhattan,
}

/// The Minkowski power, with fast paths for 1 and 2.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Power {
    One,
    Two,
    General(f64),
}

impl Power {
    fn new(metric: Metric, p: f64) -> Power {
        match metric {
            Metric::Euclidean => Power::Two,
            Metric::Manhattan => Power::One,
            Metric::Minkowski if p == 2.0 => Power::Two,
            Metric::Minkowski if p == 1.0 => Power::One,
            Metric::Minkowski => Power::General(p),
        }
    }

    /// `|gap|^p`.
    #[inline]
    pub(crate) fn term(self, gap: f64) -> f64 {
        match self {
            Power::One => gap.abs(),
            Power::Two => gap * gap,
            Power::General(p) => gap.abs().powf(p),
        }
    }

    /// The reduced distance `Σ |a_j - b_j|^p` (summed in feature order, like scikit-learn's
    /// `DistanceMetric`); an overflow (NaN) counts as infinitely far.
    #[inline]
    pub(crate) fn rdist(self, a: &[f64], b: &[f64]) -> f64 {
        let mut s = 0.0;
        match self {
            Power::Two => {
                for (x, y) in a.iter().zip(b) {
                    let g = x - y;
                    s += g * g;
                }
            }
            Power::One => {
                for (x, y) in a.iter().zip(b) {
                    s += (x - y).abs();
                }
            }
            Power::General(p) => {
                for (x, y) in a.iter().zip(b) {
                    s += (x - y).abs().powf(p);
                }
            }
        }
        if s.is_nan() { f64::INFINITY } else { s }
    }

    /// Distance from reduced distance.
    #[inline]
    pub(crate) fn to_dist(self, r: f64) -> f64 {
        match self {
            Power::One => r,
            Power::Two => r.sqrt(),
            Power::General(p) => r.powf(1.0 / p),
        }
    }
}

/// The hyperparameters both estimators share.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Search {
    n_neighbors: usize,
    algorithm: Algorithm,
    leaf_size: usize,
    power: Power,
}

/// The rule on `p` that depends on `metric` (the declared ranges are checked before).
fn check_p(check: ParamCheck, metric: Metric, p: f64) -> ParamCheck {
    check.require(
        metric != Metric::Minkowski || (p.is_finite() && p >= 1.0),
        "p",
        "a float in [1, inf)",
        p,
    )
}

/// The resolved search structure.
#[derive(Clone, Debug)]
enum Structure {
    KdTree(kd_tree::KdTree),
    Gemm(brute::Gemm),
    Direct,
}

/// The fitted neighbour index: the training rows and a search structure over them.
#[derive(Clone, Debug)]
struct Index {
    input: Vec<Feature>,
    /// Training rows, row-major `n × d`.
    x: Vec<f64>,
    n: usize,
    search: Search,
    structure: Structure,
}

impl PartialEq for Index {
    fn eq(&self, other: &Self) -> bool {
        self.input == other.input && self.x == other.x && self.search == other.search
    }
}

impl Index {
    fn build(input: Vec<Feature>, x: Vec<f64>, n: usize, search: Search) -> Index {
        let d = input.len();
        let brute = match search.algorithm {
            Algorithm::Brute => true,
            Algorithm::KdTree => false,
            Algorithm::Auto => d > 15 || search.n_neighbors >= n / 2,
        };
        let structure = match (brute, search.power) {
            (false, _) => Structure::KdTree(kd_tree::KdTree::build(&x, n, d, search.leaf_size)),
            (true, Power::Two) => Structure::Gemm(brute::Gemm::build(&x, n, d)),
            (true, _) => Structure::Direct,
        };
        Index {
            input,
            x,
            n,
            search,
            structure,
        }
    }

    /// `"kd_tree"` or `"brute"`: what `algorithm` resolved to (scikit-learn's `_fit_method`).
    fn fit_method(&self) -> &'static str {
        match self.structure {
            Structure::KdTree(_) => "kd_tree",
            _ => "brute",
        }
    }

    fn fit(
        name: &'static str,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
        search: Search,
    ) -> Result<Index> {
        if w.is_some() {
            return Err(CoreError::SampleWeight {
                estimator: name,
                reason: "k-nearest neighbours take no sample weights (as in scikit-learn)".into(),
            });
        }
        require_numeric(name, data)?;
        let n = data.n_rows();
        if search.n_neighbors > n {
            return Err(CoreError::TooFew {
                estimator: name,
                what: "rows (n_neighbors)",
                needed: search.n_neighbors,
                got: n,
            });
        }
        Ok(Index::build(
            data.features().to_vec(),
            data.to_row_major(),
            n,
            search,
        ))
    }

    /// Distances and training indices of the `k` nearest rows of every row of `data`,
    /// row-major `n_queries × k`, nearest first.
    fn kneighbors(
        &self,
        name: &'static str,
        data: &Dataset<f64>,
        k: usize,
    ) -> Result<(Vec<f64>, Vec<usize>)> {
        let q = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(name, &q)?;
        if k == 0 || k > self.n {
            return Err(CoreError::TooFew {
                estimator: name,
                what: "training rows for the neighbours asked (k must be in 1..=n_rows)",
                needed: k.max(1),
                got: self.n,
            });
        }
        let (nq, d) = (q.n_rows(), q.n_features());
        let qx = q.to_row_major();
        let pw = self.search.power;
        Ok(match &self.structure {
            Structure::KdTree(t) => t.query(pw, &qx, nq, k),
            Structure::Gemm(g) => g.query(&self.x, &qx, nq, d, k),
            Structure::Direct => brute::direct(pw, &self.x, self.n, &qx, nq, d, k),
        })
    }
}

/// Neighbour weights of one query from its sorted distances (`None`: uniform).
fn weights_of(weights: Weights, dist: &[f64], out: &mut [f64]) {
    match weights {
        Weights::Uniform => out.iter_mut().for_each(|w| *w = 1.0),
        Weights::Distance => {
            if dist.contains(&0.0) {
                for (w, d) in out.iter_mut().zip(dist) {
                    *w = if *d == 0.0 { 1.0 } else { 0.0 };
                }
            } else {
                for (w, d) in out.iter_mut().zip(dist) {
                    *w = 1.0 / d;
                }
            }
        }
    }
}

macro_rules! knn_params {
    ($(#[$doc:meta])* $params:ident, $name:literal) => {
        smelt_core::params! {
            $(#[$doc])*
            pub struct $params($name) {
                /// Number of neighbours, `[1, n_rows]`; default 5.
                n_neighbors: usize = 5, range: at_least_int(1);
                /// `uniform` (default) or `distance`.
                weights: $crate::neighbors::Weights = $crate::neighbors::Weights::Uniform;
                /// `auto` (default), `kd_tree` or `brute`.
                algorithm: $crate::neighbors::Algorithm = $crate::neighbors::Algorithm::Auto;
                /// Most rows in a kd-tree leaf, `[1, inf)`; default 30. Changes speed only.
                leaf_size: usize = 30, range: at_least_int(1);
                /// Minkowski power, `[1, inf)`; default 2 (Euclidean). Used when `metric` is
                /// `minkowski`.
                p: f64 = 2.0;
                /// `minkowski` (default), `euclidean` or `manhattan`.
                metric: $crate::neighbors::Metric = $crate::neighbors::Metric::Minkowski;
            }
        }

        impl $params {
            fn search(&self) -> $crate::neighbors::Search {
                $crate::neighbors::Search {
                    n_neighbors: self.n_neighbors,
                    algorithm: self.algorithm,
                    leaf_size: self.leaf_size,
                    power: $crate::neighbors::Power::new(self.metric, self.p),
                }
            }

            fn param_errors(&self) -> Vec<smelt_core::ParamError> {
                $crate::neighbors::check_p(self.range_check($name), self.metric, self.p).finish()
            }
        }
    };
}
use knn_params;
