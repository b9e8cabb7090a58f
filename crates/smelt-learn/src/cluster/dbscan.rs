//! DBSCAN (scikit-learn's `DBSCAN`): density-based clusters of arbitrary shape, with noise.
//!
//! A row is a **core sample** when the (weighted) number of rows within distance `eps` of it,
//! itself included, is at least `min_samples`. Clusters are the connected components of core
//! samples (linked when within `eps`), plus the non-core rows within `eps` of one of them
//! (border rows, which go to the first cluster that reaches them when clusters are grown in
//! order of their lowest core index, exactly as scikit-learn's `dbscan_inner`). Everything
//! else is noise, label `-1`.
//!
//! **Prediction** (a deviation: scikit-learn's DBSCAN has no `predict`): a new row gets the
//! label of its nearest core sample when that is within `eps`, else `-1`. On the training rows
//! this gives [`Dbscan::labels`] except for border rows within `eps` of several clusters.
//!
//! Neighbourhoods come from a kd-tree radius query when there are at most 15 features (about
//! `O(n log n)`), else from a brute-force scan (`O(n² p)`), both parallel over rows and both
//! with exact Euclidean distances, so that points at distance exactly `eps` are neighbours,
//! as in scikit-learn, and the two paths agree exactly.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::model::{check_sample_weight, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, Dataset, Feature, Fit, Output, ParamError, Prediction,
    Predictor, Registry, Result, UnknownCategory,
};

use crate::neighbors::kd_tree::KdTree;
use smelt_core::artifact::{load_common, save_common};

/// The distance DBSCAN uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DbscanMetric {
    /// `‖a − b‖₂`.
    #[default]
    Euclidean,
}

smelt_core::params! {
    /// Parameters of [`Dbscan`] (scikit-learn's `DBSCAN`).
    pub struct DbscanParams("DBSCAN") {
        /// Neighbourhood radius, `(0, inf)`; default 0.5.
        eps: f64 = 0.5, range: greater(0.0);
        /// (Weighted) neighbours, the row itself included, that make a core sample, `[1, inf)`;
        /// default 5.
        min_samples: usize = 5, range: at_least_int(1);
        /// Distance; default `euclidean` (the only one).
        metric: DbscanMetric = DbscanMetric::Euclidean;
    }
}

/// A fitted DBSCAN clustering.
#[derive(Clone, Debug, PartialEq)]
pub struct Dbscan {
    params: DbscanParams,
    input: Vec<Feature>,
    labels: Vec<i64>,
    core_sample_indices: Vec<usize>,
    /// Core samples, row-major `n_core × n_features`.
    components: Vec<f64>,
}

/// Up to this many features, neighbourhoods come from a kd-tree.
const KD_TREE_MAX_DIM: usize = 15;
/// Below this many rows the brute-force scan is as fast as building a tree.
const KD_TREE_MIN_ROWS: usize = 256;

#[inline]
fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

impl Fit for DbscanParams {
    type Model = Dbscan;

    fn name(&self) -> &'static str {
        "DBSCAN"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Dbscan> {
        self.validate()?;
        let name = Fit::name(self);
        require_numeric(name, data)?;
        check_sample_weight(name, data.n_rows(), w)?;
        let (n, p) = (data.n_rows(), data.n_features());
        let rows = data.to_row_major();
        let eps2 = self.eps * self.eps;
        let row = |i: usize| &rows[i * p..(i + 1) * p];
        // Neighbourhoods (self included), in increasing index order like a radius query:
        // a kd-tree in low dimension (scikit-learn's `auto` rule for trees), brute force
        // otherwise; both give exactly the same sets.
        let neigh: Vec<Vec<u32>> = if p <= KD_TREE_MAX_DIM && n > KD_TREE_MIN_ROWS {
            let tree = KdTree::build(&rows, n, p, 30);
            (0..n)
                .into_par_iter()
                .map_init(Vec::new, |stack, i| {
                    let mut out = Vec::new();
                    tree.within_sq(row(i), eps2, &mut out, stack);
                    out
                })
                .collect()
        } else {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    let xi = row(i);
                    (0..n)
                        .filter(|&j| sq_dist(xi, row(j)) <= eps2)
                        .map(|j| j as u32)
                        .collect()
                })
                .collect()
        };
        let min = self.min_samples as f64;
        let core: Vec<bool> = neigh
            .iter()
            .map(|nb| {
                let s: f64 = match w {
                    Some(w) => nb.iter().map(|&j| w[j as usize]).sum(),
                    None => nb.len() as f64,
                };
                s >= min
            })
            .collect();
        // scikit-learn's dbscan_inner: depth-first growth from each unlabelled core sample.
        let mut labels = vec![-1i64; n];
        let mut next = 0i64;
        let mut stack: Vec<usize> = Vec::new();
        for start in 0..n {
            if labels[start] != -1 || !core[start] {
                continue;
            }
            let mut i = start;
            loop {
                if labels[i] == -1 {
                    labels[i] = next;
                    if core[i] {
                        stack.extend(
                            neigh[i]
                                .iter()
                                .map(|&v| v as usize)
                                .filter(|&v| labels[v] == -1),
                        );
                    }
                }
                match stack.pop() {
                    Some(v) => i = v,
                    None => break,
                }
            }
            next += 1;
        }
        let core_sample_indices: Vec<usize> = (0..n).filter(|&i| core[i]).collect();
        let components = core_sample_indices
            .iter()
            .flat_map(|&i| row(i).iter().copied())
            .collect();
        Ok(Dbscan {
            params: self.clone(),
            input: data.features().to_vec(),
            labels,
            core_sample_indices,
            components,
        })
    }
}

impl Dbscan {
    /// The model kind in model files.
    pub const KIND: &'static str = "dbscan";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &DbscanParams {
        &self.params
    }

    /// Cluster of each training row (`-1`: noise).
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Indices of the core samples among the training rows.
    pub fn core_sample_indices(&self) -> &[usize] {
        &self.core_sample_indices
    }

    /// The core samples, row-major `n_core × n_features` (scikit-learn's `components_`).
    pub fn components(&self) -> &[f64] {
        &self.components
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, DbscanParams) = load_common(r)?;
        let (_, labels) = r.array("labels", 1)?;
        let core: Vec<usize> = r.get("core_sample_indices")?;
        let components = r.matrix("components", core.len(), input.len())?;
        if core.iter().any(|&i| i >= labels.len()) {
            return Err(r.invalid("a core sample index is out of range"));
        }
        Ok(Box::new(Dbscan {
            params,
            input,
            labels: labels.iter().map(|&l| l as i64).collect(),
            core_sample_indices: core,
            components,
        }))
    }
}

impl Predictor for Dbscan {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Clustering
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric("DBSCAN", &d)?;
        let p = d.n_features();
        let rows = d.to_row_major();
        let eps2 = self.params.eps * self.params.eps;
        let labels = (0..d.n_rows())
            .into_par_iter()
            .map(|i| {
                let xi = &rows[i * p..(i + 1) * p];
                let mut best = (f64::INFINITY, -1i64);
                for (c, &idx) in self.core_sample_indices.iter().enumerate() {
                    let dd = sq_dist(xi, &self.components[c * p..(c + 1) * p]);
                    if dd < best.0 {
                        best = (dd, self.labels[idx]);
                    }
                }
                if best.0 <= eps2 { best.1 } else { -1 }
            })
            .collect();
        Ok(Prediction::Clustering { labels })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        let labels: Vec<f64> = self.labels.iter().map(|&l| l as f64).collect();
        w.array("labels", &[labels.len()], &labels)?;
        w.put("core_sample_indices", &self.core_sample_indices)?;
        w.array(
            "components",
            &[self.core_sample_indices.len(), self.input.len()],
            &self.components,
        )
    }
}
