//! k-means (scikit-learn's `KMeans`): minimise the inertia `Σ w_i ‖x_i − c_{l_i}‖²`.
//!
//! Each run starts from k-means++ (or random) centres and alternates
//!
//! ```text
//! E step   l_i = argmin_c ‖x_i − c‖²
//! M step   c   = Σ_{l_i = c} w_i x_i / Σ_{l_i = c} w_i     (an empty cluster is moved to the
//!                                                           row farthest from its centre)
//! ```
//!
//! until the labels stop changing ("strict convergence") or `Σ_c ‖c_new − c_old‖² ≤ tol ·
//! mean(var(X))`, or `max_iter` steps. `lloyd` does the E step with one GEMM per row block;
//! `elkan` keeps an upper bound on each row's distance to its centre and lower bounds to the
//! others (triangle inequality) and skips most distance computations; both give the same
//! result. With `n_init` runs the lowest inertia wins. The data are centred first, as in
//! scikit-learn.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::model::{check_sample_weight, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use super::{
    BLOCK, Cols, KMeansInit, NInit, assign_all, centred, check_rows, distances, inertia,
    init_centres, mean_variance, same_clustering,
};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::rng::Rng;

/// Which k-means iteration to run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KMeansAlgorithm {
    /// Classical EM iteration; the E step is a GEMM per row block.
    #[default]
    Lloyd,
    /// Elkan's triangle-inequality bounds (n × k lower bounds in memory); fewer distance
    /// computations when clusters are well separated.
    Elkan,
}

smelt_core::params! {
    /// Parameters of [`KMeans`] (scikit-learn's `KMeans`).
    pub struct KMeansParams("KMeans") {
        /// Number of clusters, `[1, inf)`; default 8.
        n_clusters: usize = 8, range: at_least_int(1);
        /// Initialisation, `k-means++` (default) or `random`.
        init: KMeansInit = KMeansInit::KMeansPlusPlus;
        /// Number of runs, `"auto"` (default: 1 for k-means++, 10 for random) or `[1, inf)`.
        n_init: NInit = NInit::Auto,
            range: check("\"auto\" or an integer in [1, inf)", |n| n.is_valid());
        /// Maximum iterations of one run, `[1, inf)`; default 300.
        max_iter: usize = 300, range: at_least_int(1);
        /// Convergence tolerance on the squared centre shift, relative to the mean feature
        /// variance, `[0, inf)`; default 1e-4.
        tol: f64 = 1e-4, range: at_least(0.0);
        /// `lloyd` (default) or `elkan`.
        algorithm: KMeansAlgorithm = KMeansAlgorithm::Lloyd;
        /// Seed of the initialisation; default 0.
        random_state: u64 = 0;
    }
}

/// A fitted k-means model.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    params: KMeansParams,
    input: Vec<Feature>,
    centres: Vec<f64>,
    labels: Vec<i64>,
    inertia: f64,
    n_iter: usize,
}

/// The outcome of one run (in centred coordinates).
pub(crate) struct Run {
    pub labels: Vec<u32>,
    pub centres: Vec<f64>,
    pub inertia: f64,
    pub n_iter: usize,
}

/// The M step: weighted means of the clusters, moving each empty cluster to the row farthest
/// from its (old) centre, as scikit-learn's `_relocate_empty_clusters_dense`. Returns the new
/// centres and `Σ_c ‖c_new − c_old‖²`.
fn m_step(
    x: Cols<'_>,
    w: Option<&[f64]>,
    old: &[f64],
    labels: &[u32],
    mut sums: Vec<f64>,
    mut wsum: Vec<f64>,
) -> (Vec<f64>, f64) {
    let p = x.p;
    let k = wsum.len();
    let empty: Vec<usize> = (0..k).filter(|&c| wsum[c] == 0.0).collect();
    if !empty.is_empty() {
        let d = super::sq_dist_assigned(x, old, labels);
        let max = d.iter().copied().fold(0.0, f64::max);
        if max > 0.0 {
            let mut order: Vec<usize> = (0..x.n).collect();
            order.sort_by(|&a, &b| d[b].total_cmp(&d[a]).then(a.cmp(&b)));
            for (&c, &far) in empty.iter().zip(&order) {
                let wi = w.map_or(1.0, |w| w[far]);
                let old_c = labels[far] as usize;
                for j in 0..p {
                    let v = x.xs[j * x.n + far];
                    sums[old_c * p + j] -= v * wi;
                    sums[c * p + j] = v * wi;
                }
                wsum[c] = wi;
                wsum[old_c] -= wi;
            }
        }
    }
    let mut shift = 0.0;
    for c in 0..k {
        for j in 0..p {
            let v = if wsum[c] > 0.0 {
                sums[c * p + j] / wsum[c]
            } else {
                // Still empty (all rows duplicates, or zero weights): keep the centre.
                old[c * p + j]
            };
            let e = v - old[c * p + j];
            shift += e * e;
            sums[c * p + j] = v;
        }
    }
    (sums, shift)
}

fn lloyd(
    x: Cols<'_>,
    w: Option<&[f64]>,
    init: Vec<f64>,
    k: usize,
    max_iter: usize,
    tol: f64,
) -> Run {
    let mut centres = init;
    let mut labels = vec![u32::MAX; x.n];
    let mut old = labels.clone();
    let mut strict = false;
    let mut n_iter = 0;
    for it in 0..max_iter {
        n_iter = it + 1;
        let (sums, wsum) = assign_all(x, &centres, k, &mut labels, Some(w)).unwrap_or_default();
        let (new, shift) = m_step(x, w, &centres, &labels, sums, wsum);
        centres = new;
        if labels == old {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
        old.copy_from_slice(&labels);
    }
    if !strict {
        // Labels that match the final centres.
        assign_all(x, &centres, k, &mut labels, None);
    }
    let inertia = inertia(x, &centres, &labels, w);
    Run {
        labels,
        centres,
        inertia,
        n_iter,
    }
}

/// Euclidean distance between two points.
#[inline]
fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn elkan(
    x: Cols<'_>,
    w: Option<&[f64]>,
    init: Vec<f64>,
    k: usize,
    max_iter: usize,
    tol: f64,
) -> Run {
    let (n, p) = (x.n, x.p);
    // Row-major copy: the bounds logic visits one row at a time.
    let mut rows = vec![0.0; n * p];
    rows.par_chunks_mut(BLOCK * p.max(1))
        .enumerate()
        .for_each(|(bi, o)| {
            let r0 = bi * BLOCK;
            let b = o.len() / p.max(1);
            for j in 0..p {
                for (i, v) in x.col_part(j, r0, b).iter().enumerate() {
                    o[i * p + j] = *v;
                }
            }
        });
    let mut centres = init;
    let mut labels = vec![0u32; n];
    let mut upper = vec![0.0; n];
    let mut lower = vec![0.0; n * k];
    // Initial bounds: every distance, exactly.
    labels
        .par_chunks_mut(BLOCK)
        .zip(upper.par_chunks_mut(BLOCK))
        .zip(lower.par_chunks_mut(BLOCK * k))
        .enumerate()
        .for_each(|(bi, ((lab, up), lo))| {
            for (ii, l) in lab.iter_mut().enumerate() {
                let xi = &rows[(bi * BLOCK + ii) * p..(bi * BLOCK + ii + 1) * p];
                let mut best = (f64::INFINITY, 0);
                for c in 0..k {
                    let d = dist(xi, &centres[c * p..(c + 1) * p]);
                    lo[ii * k + c] = d;
                    if d < best.0 {
                        best = (d, c);
                    }
                }
                *l = best.1 as u32;
                up[ii] = best.0;
            }
        });
    let mut old = vec![u32::MAX; n];
    let mut n_iter = 0;
    let mut strict = false;
    for it in 0..max_iter {
        n_iter = it + 1;
        if it > 0 {
            // E step with bounds.
            let mut cc = vec![0.0; k * k];
            for a in 0..k {
                for b in 0..k {
                    cc[a * k + b] =
                        dist(&centres[a * p..(a + 1) * p], &centres[b * p..(b + 1) * p]);
                }
            }
            let s: Vec<f64> = (0..k)
                .map(|a| {
                    0.5 * (0..k)
                        .filter(|&b| b != a)
                        .map(|b| cc[a * k + b])
                        .fold(f64::INFINITY, f64::min)
                })
                .collect();
            let centres_ref = &centres;
            labels
                .par_chunks_mut(BLOCK)
                .zip(upper.par_chunks_mut(BLOCK))
                .zip(lower.par_chunks_mut(BLOCK * k))
                .enumerate()
                .for_each(|(bi, ((lab, up), lo))| {
                    for (ii, l) in lab.iter_mut().enumerate() {
                        let mut a = *l as usize;
                        let mut u = up[ii];
                        if u <= s[a] {
                            continue;
                        }
                        let xi = &rows[(bi * BLOCK + ii) * p..(bi * BLOCK + ii + 1) * p];
                        let lo = &mut lo[ii * k..(ii + 1) * k];
                        let mut tight = false;
                        for c in 0..k {
                            if c == a || u <= lo[c] || u <= 0.5 * cc[a * k + c] {
                                continue;
                            }
                            if !tight {
                                u = dist(xi, &centres_ref[a * p..(a + 1) * p]);
                                lo[a] = u;
                                tight = true;
                                if u <= lo[c] || u <= 0.5 * cc[a * k + c] {
                                    continue;
                                }
                            }
                            let d = dist(xi, &centres_ref[c * p..(c + 1) * p]);
                            lo[c] = d;
                            if d < u {
                                a = c;
                                u = d;
                            }
                        }
                        *l = a as u32;
                        up[ii] = u;
                    }
                });
        }
        // M step (block sums in block order, as Lloyd).
        let parts: Vec<(Vec<f64>, Vec<f64>)> = labels
            .par_chunks(BLOCK)
            .enumerate()
            .map(|(bi, lab)| super::sum_block(x, bi * BLOCK, lab, w, k))
            .collect();
        let mut sums = vec![0.0; k * p];
        let mut wsum = vec![0.0; k];
        for (s, ws) in parts {
            sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
            wsum.iter_mut().zip(&ws).for_each(|(a, b)| *a += b);
        }
        let (new, shift) = m_step(x, w, &centres, &labels, sums, wsum);
        let moved: Vec<f64> = (0..k)
            .map(|c| dist(&new[c * p..(c + 1) * p], &centres[c * p..(c + 1) * p]))
            .collect();
        centres = new;
        // Bounds follow the centres.
        upper
            .par_chunks_mut(BLOCK)
            .zip(lower.par_chunks_mut(BLOCK * k))
            .zip(labels.par_chunks(BLOCK))
            .for_each(|((up, lo), lab)| {
                for (ii, l) in lab.iter().enumerate() {
                    up[ii] += moved[*l as usize];
                    for c in 0..k {
                        let v = &mut lo[ii * k + c];
                        *v = (*v - moved[c]).max(0.0);
                    }
                }
            });
        if labels == old {
            strict = true;
            break;
        }
        if shift <= tol {
            break;
        }
        old.copy_from_slice(&labels);
    }
    if !strict {
        assign_all(x, &centres, k, &mut labels, None);
    }
    let inertia = inertia(x, &centres, &labels, w);
    Run {
        labels,
        centres,
        inertia,
        n_iter,
    }
}

impl Fit for KMeansParams {
    type Model = KMeans;

    fn name(&self) -> &'static str {
        "KMeans"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<KMeans> {
        self.validate()?;
        let name = Fit::name(self);
        require_numeric(name, data)?;
        check_sample_weight(name, data.n_rows(), w)?;
        let (n, p, k) = (data.n_rows(), data.n_features(), self.n_clusters);
        check_rows(name, n, k)?;
        let raw = Cols::new(data.values(), n, p);
        let tol = self.tol * mean_variance(raw);
        let (xc, mean) = centred(raw);
        let x = Cols::new(&xc, n, p);
        let ones;
        let wv = match w {
            Some(w) => w,
            None => {
                ones = vec![1.0; n];
                &ones
            }
        };
        let mut rng = Rng::new(self.random_state);
        let mut best: Option<Run> = None;
        for _ in 0..self.n_init.resolve(self.init, 10) {
            let init = init_centres(name, x, wv, k, self.init, &mut rng)?;
            let run = match self.algorithm {
                KMeansAlgorithm::Lloyd => lloyd(x, w, init, k, self.max_iter, tol),
                KMeansAlgorithm::Elkan => elkan(x, w, init, k, self.max_iter, tol),
            };
            // A lower inertia wins unless it is the same partition (rounding noise).
            let better = match &best {
                None => true,
                Some(b) => run.inertia < b.inertia && !same_clustering(&run.labels, &b.labels, k),
            };
            if better {
                best = Some(run);
            }
        }
        let mut run = best.ok_or_else(|| CoreError::Numerical {
            estimator: name,
            message: "no k-means run was made (n_init = 0)".into(),
        })?;
        for row in run.centres.chunks_mut(p.max(1)) {
            row.iter_mut().zip(&mean).for_each(|(v, m)| *v += m);
        }
        Ok(KMeans {
            params: self.clone(),
            input: data.features().to_vec(),
            centres: run.centres,
            labels: run.labels.iter().map(|&l| l as i64).collect(),
            inertia: run.inertia,
            n_iter: run.n_iter,
        })
    }
}

impl KMeans {
    /// The model kind in model files.
    pub const KIND: &'static str = "kmeans";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &KMeansParams {
        &self.params
    }

    /// Cluster centres, row-major `n_clusters × n_features`.
    pub fn cluster_centers(&self) -> &[f64] {
        &self.centres
    }

    /// Labels of the training rows.
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Weighted sum of squared distances of the training rows to their centres.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Iterations of the winning run.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Euclidean distance of every row to every centre, row-major `n_rows × n_clusters`
    /// (scikit-learn's `transform`).
    pub fn transform(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric("KMeans", &d)?;
        let x = Cols::new(d.values(), d.n_rows(), d.n_features());
        Ok(distances(x, &self.centres, self.params.n_clusters))
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, KMeansParams) = load_common(r)?;
        let centres = r.matrix("cluster_centers", params.n_clusters, input.len())?;
        let (_, labels) = r.array("labels", 1)?;
        Ok(Box::new(KMeans {
            input,
            centres,
            labels: labels.iter().map(|&l| l as i64).collect(),
            inertia: r.get("inertia")?,
            n_iter: r.get("n_iter")?,
            params,
        }))
    }
}

/// Nearest centre of each row, as a clustering prediction.
pub(crate) fn predict_nearest(
    estimator: &'static str,
    input: &[Feature],
    centres: &[f64],
    k: usize,
    data: &Dataset<f64>,
) -> Result<Prediction> {
    let d = data.conform(input, UnknownCategory::Error)?;
    require_numeric(estimator, &d)?;
    let x = Cols::new(d.values(), d.n_rows(), d.n_features());
    let mut labels = vec![0u32; x.n];
    assign_all(x, centres, k, &mut labels, None);
    Ok(Prediction::Clustering {
        labels: labels.iter().map(|&l| l as i64).collect(),
    })
}

impl Predictor for KMeans {
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
        predict_nearest(
            "KMeans",
            &self.input,
            &self.centres,
            self.params.n_clusters,
            data,
        )
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.array(
            "cluster_centers",
            &[self.params.n_clusters, self.input.len()],
            &self.centres,
        )?;
        let labels: Vec<f64> = self.labels.iter().map(|&l| l as f64).collect();
        w.array("labels", &[labels.len()], &labels)?;
        w.put("inertia", &self.inertia)?;
        w.put("n_iter", &self.n_iter)
    }
}
