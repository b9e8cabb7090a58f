//! Mini-batch k-means (scikit-learn's `MiniBatchKMeans`, Sculley 2010).
//!
//! After choosing the best of `n_init` initialisations on a random subset of `init_size` rows
//! (judged by inertia on another random subset), each step draws `batch_size` rows with
//! replacement (probability ∝ sample weight), assigns them to their nearest centre and moves
//! each centre towards its batch mean with a per-centre learning rate:
//!
//! ```text
//! c ← (c · W_c + Σ_batch x) / (W_c + n_c),   W_c ← W_c + n_c
//! ```
//!
//! where `W_c` counts the rows the centre has absorbed so far. Centres whose count falls below
//! `reassignment_ratio · max W` are moved to random batch rows (checked every `10 k` rows seen,
//! and whenever a centre has count 0). It stops after `max_iter` passes over the data, when the
//! squared centre change falls below `tol · mean(var(X))`, or when the exponentially weighted
//! average of the batch inertia has not improved for `max_no_improvement` steps. Labels and
//! inertia are then computed on the full data.

use smelt_core::model::{check_sample_weight, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result,
};

use super::kmeans::predict_nearest;
use super::{
    Cols, KMeansInit, NInit, assign_all, check_rows, distances, inertia, init_centres,
    mean_variance,
};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::rng::Rng;

smelt_core::params! {
    /// Parameters of [`MiniBatchKMeans`] (scikit-learn's `MiniBatchKMeans`).
    pub struct MiniBatchKMeansParams("MiniBatchKMeans") {
        /// Number of clusters, `[1, inf)`; default 8.
        n_clusters: usize = 8, range: at_least_int(1);
        /// Initialisation, `k-means++` (default) or `random`.
        init: KMeansInit = KMeansInit::KMeansPlusPlus;
        /// Maximum passes over the data, `[1, inf)`; default 100.
        max_iter: usize = 100, range: at_least_int(1);
        /// Rows per mini-batch, `[1, inf)`; default 1024.
        batch_size: usize = 1024, range: at_least_int(1);
        /// Early stop when the squared centre change is at most `tol · mean(var(X))`, `[0, inf)`;
        /// default 0 (off).
        tol: f64 = 0.0, range: at_least(0.0);
        /// Early stop after this many steps without improvement of the smoothed batch inertia,
        /// `[0, inf)` or `None` (off); default 10.
        max_no_improvement: Option<usize> = Some(10);
        /// Rows used for initialisation, `[1, inf)`; default `None` (3 × batch_size, at least
        /// 3 × n_clusters, at most the number of rows).
        init_size: Option<usize> = None, range: unset_or(at_least_int(1)), setter: some(usize);
        /// Number of initialisations, `"auto"` (default: 1 for k-means++, 3 for random) or
        /// `[1, inf)`.
        n_init: NInit = NInit::Auto,
            range: check("\"auto\" or an integer in [1, inf)", |n| n.is_valid());
        /// Fraction of the largest centre count below which a centre is reassigned, `[0, inf)`;
        /// default 0.01.
        reassignment_ratio: f64 = 0.01, range: at_least(0.0);
        /// Seed of the initialisation and of the batches; default 0.
        random_state: u64 = 0;
    }
}

/// A fitted mini-batch k-means model.
#[derive(Clone, Debug, PartialEq)]
pub struct MiniBatchKMeans {
    params: MiniBatchKMeansParams,
    input: Vec<Feature>,
    centres: Vec<f64>,
    labels: Vec<i64>,
    inertia: f64,
    n_iter: usize,
    n_steps: usize,
}

/// Early-stopping state (scikit-learn's `_mini_batch_convergence`).
struct Convergence {
    ewa: Option<f64>,
    ewa_min: Option<f64>,
    no_improvement: usize,
}

impl Fit for MiniBatchKMeansParams {
    type Model = MiniBatchKMeans;

    fn name(&self) -> &'static str {
        "MiniBatchKMeans"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<MiniBatchKMeans> {
        self.validate()?;
        let name = Fit::name(self);
        require_numeric(name, data)?;
        check_sample_weight(name, data.n_rows(), w)?;
        let (n, p, k) = (data.n_rows(), data.n_features(), self.n_clusters);
        check_rows(name, n, k)?;
        let x = Cols::new(data.values(), n, p);
        let wv: Vec<f64> = w.map_or_else(|| vec![1.0; n], <[f64]>::to_vec);
        let tol = self.tol * mean_variance(x);
        let batch = self.batch_size.min(n);
        let init_size = match self.init_size {
            None if 3 * batch < k => 3 * k,
            None => 3 * batch,
            Some(s) if s < k => 3 * k,
            Some(s) => s,
        }
        .min(n);
        let mut rng = Rng::new(self.random_state);

        // Best of n_init initialisations, judged on a validation subset.
        let valid: Vec<usize> = (0..init_size).map(|_| rng.below(n)).collect();
        let xv = x.gather(&valid);
        let xv = Cols::new(&xv, valid.len(), p);
        let wvalid: Vec<f64> = valid.iter().map(|&i| wv[i]).collect();
        let mut best: Option<(f64, Vec<f64>)> = None;
        for _ in 0..self.n_init.resolve(self.init, 3) {
            let centres = if init_size < n {
                let idx: Vec<usize> = (0..init_size).map(|_| rng.below(n)).collect();
                let xs = x.gather(&idx);
                let ws: Vec<f64> = idx.iter().map(|&i| wv[i]).collect();
                init_centres(
                    name,
                    Cols::new(&xs, idx.len(), p),
                    &ws,
                    k,
                    self.init,
                    &mut rng,
                )?
            } else {
                init_centres(name, x, &wv, k, self.init, &mut rng)?
            };
            let mut lab = vec![0u32; xv.n];
            assign_all(xv, &centres, k, &mut lab, None);
            let inert = inertia(xv, &centres, &lab, Some(&wvalid));
            if best.as_ref().is_none_or(|(b, _)| inert < *b) {
                best = Some((inert, centres));
            }
        }
        let mut centres = best
            .ok_or_else(|| CoreError::Numerical {
                estimator: name,
                message: "no initialisation was made (n_init = 0)".into(),
            })?
            .1;

        // Batches are drawn ∝ weight (inverse CDF), then treated with unit weights.
        let cum: Vec<f64> = wv
            .iter()
            .scan(0.0, |acc, v| {
                *acc += v;
                Some(*acc)
            })
            .collect();
        let total = cum.last().copied().unwrap_or(0.0);
        let weighted = w.is_some();
        let mut counts = vec![0.0; k];
        let mut conv = Convergence {
            ewa: None,
            ewa_min: None,
            no_improvement: 0,
        };
        let mut since_reassign = 0usize;
        let n_steps = (self.max_iter * n) / batch;
        let mut steps_done = 0;
        let mut idx = vec![0usize; batch];
        let mut lab = vec![0u32; batch];
        for step in 0..n_steps {
            steps_done = step + 1;
            for v in idx.iter_mut() {
                *v = if weighted {
                    let r = rng.uniform() * total;
                    cum.partition_point(|&c| c <= r).min(n - 1)
                } else {
                    rng.below(n)
                };
            }
            let xb = x.gather(&idx);
            let xb = Cols::new(&xb, batch, p);
            since_reassign += batch;
            let reassign = if counts.contains(&0.0) || since_reassign >= 10 * k {
                since_reassign = 0;
                true
            } else {
                false
            };
            let (sums, bw) = assign_all(xb, &centres, k, &mut lab, Some(None)).unwrap_or_default();
            let batch_inertia = inertia(xb, &centres, &lab, None);
            let mut new = centres.clone();
            for c in 0..k {
                if bw[c] > 0.0 {
                    let wc = counts[c] + bw[c];
                    for j in 0..p {
                        new[c * p + j] = (centres[c * p + j] * counts[c] + sums[c * p + j]) / wc;
                    }
                    counts[c] = wc;
                }
            }
            if reassign && self.reassignment_ratio > 0.0 {
                let max = counts.iter().copied().fold(0.0, f64::max);
                let mut to: Vec<bool> = counts
                    .iter()
                    .map(|&c| c < self.reassignment_ratio * max)
                    .collect();
                let n_to = to.iter().filter(|&&t| t).count();
                let half = batch / 2;
                if n_to as f64 > 0.5 * batch as f64 {
                    // Reassign at most half a batch: keep the largest counts.
                    let mut order: Vec<usize> = (0..k).collect();
                    order.sort_by(|&a, &b| counts[a].total_cmp(&counts[b]).then(a.cmp(&b)));
                    for &c in &order[half.min(k)..] {
                        to[c] = false;
                    }
                }
                let chosen: Vec<usize> = (0..k).filter(|&c| to[c]).collect();
                if !chosen.is_empty() {
                    // Distinct batch rows (partial Fisher–Yates).
                    let mut pool: Vec<usize> = (0..batch).collect();
                    for (t, &c) in chosen.iter().enumerate() {
                        let r = t + rng.below(batch - t);
                        pool.swap(t, r);
                        for j in 0..p {
                            new[c * p + j] = xb.xs[j * batch + pool[t]];
                        }
                    }
                    let min_kept = (0..k)
                        .filter(|&c| !to[c])
                        .map(|c| counts[c])
                        .fold(f64::INFINITY, f64::min);
                    if min_kept.is_finite() {
                        for &c in &chosen {
                            counts[c] = min_kept;
                        }
                    }
                }
            }
            let diff: f64 = if tol > 0.0 {
                new.iter()
                    .zip(&centres)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum()
            } else {
                0.0
            };
            centres = new;
            if converged(&mut conv, self, step, n, batch, diff, batch_inertia, tol) {
                break;
            }
        }
        let mut labels = vec![0u32; n];
        assign_all(x, &centres, k, &mut labels, None);
        let inertia = inertia(x, &centres, &labels, w);
        Ok(MiniBatchKMeans {
            params: self.clone(),
            input: data.features().to_vec(),
            centres,
            labels: labels.iter().map(|&l| l as i64).collect(),
            inertia,
            n_iter: (steps_done * batch).div_ceil(n),
            n_steps: steps_done,
        })
    }
}

#[allow(
    clippy::too_many_arguments,
    reason = "scikit-learn's convergence test, with its state passed as it is"
)]
fn converged(
    s: &mut Convergence,
    params: &MiniBatchKMeansParams,
    step: usize,
    n: usize,
    batch: usize,
    diff: f64,
    batch_inertia: f64,
    tol: f64,
) -> bool {
    let bi = batch_inertia / batch as f64;
    // The first step's inertia reflects the initialisation only.
    if step == 0 {
        return false;
    }
    s.ewa = Some(match s.ewa {
        None => bi,
        Some(e) => {
            let alpha = (batch as f64 * 2.0 / (n as f64 + 1.0)).min(1.0);
            e * (1.0 - alpha) + bi * alpha
        }
    });
    if tol > 0.0 && diff <= tol {
        return true;
    }
    let ewa = s.ewa.unwrap_or(bi);
    if s.ewa_min.is_none_or(|m| ewa < m) {
        s.no_improvement = 0;
        s.ewa_min = Some(ewa);
    } else {
        s.no_improvement += 1;
    }
    params
        .max_no_improvement
        .is_some_and(|m| s.no_improvement >= m)
}

impl MiniBatchKMeans {
    /// The model kind in model files.
    pub const KIND: &'static str = "mini_batch_kmeans";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &MiniBatchKMeansParams {
        &self.params
    }

    /// Cluster centres, row-major `n_clusters × n_features`.
    pub fn cluster_centers(&self) -> &[f64] {
        &self.centres
    }

    /// Labels of the training rows (nearest final centre).
    pub fn labels(&self) -> &[i64] {
        &self.labels
    }

    /// Weighted sum of squared distances of the training rows to their centres.
    pub fn inertia(&self) -> f64 {
        self.inertia
    }

    /// Passes over the data (`⌈steps · batch_size / n_rows⌉`).
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Mini-batch steps taken.
    pub fn n_steps(&self) -> usize {
        self.n_steps
    }

    /// Euclidean distance of every row to every centre, row-major `n_rows × n_clusters`.
    pub fn transform(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, smelt_core::UnknownCategory::Error)?;
        require_numeric("MiniBatchKMeans", &d)?;
        let x = Cols::new(d.values(), d.n_rows(), d.n_features());
        Ok(distances(x, &self.centres, self.params.n_clusters))
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, MiniBatchKMeansParams) = load_common(r)?;
        let centres = r.matrix("cluster_centers", params.n_clusters, input.len())?;
        let (_, labels) = r.array("labels", 1)?;
        Ok(Box::new(MiniBatchKMeans {
            input,
            centres,
            labels: labels.iter().map(|&l| l as i64).collect(),
            inertia: r.get("inertia")?,
            n_iter: r.get("n_iter")?,
            n_steps: r.get("n_steps")?,
            params,
        }))
    }
}

impl Predictor for MiniBatchKMeans {
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
            "MiniBatchKMeans",
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
        w.put("n_iter", &self.n_iter)?;
        w.put("n_steps", &self.n_steps)
    }
}
