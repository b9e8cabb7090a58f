//! Clustering: k-means (Lloyd and Elkan), mini-batch k-means, DBSCAN.
//!
//! All of them work on the numeric feature matrix in `f64`, like scikit-learn. The shared
//! kernels below compute nearest centres for row blocks of the column-major matrix:
//!
//! ```text
//! argmin_c ‖x − c‖²  =  argmin_c (‖c‖² − 2 x·c)        (‖x‖² is the same for every c)
//! ```
//!
//! so the expensive part is one GEMM `X_block · Cᵀ` per block of 1024 rows. Blocks run in
//! parallel on rayon's pool; their partial sums are collected **in block order** and added
//! sequentially, so results do not depend on the number of threads or on work stealing.
//! Distances that are reported (inertia, transform) are computed exactly as `Σ (x_j − c_j)²`.

mod dbscan;
mod kmeans;
mod minibatch;

pub use dbscan::{Dbscan, DbscanMetric, DbscanParams};
pub use kmeans::{KMeans, KMeansAlgorithm, KMeansParams};
pub use minibatch::{MiniBatchKMeans, MiniBatchKMeansParams};

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{CoreError, Result};

use smelt_core::rng::Rng;

/// Rows per block of the parallel kernels.
pub(crate) const BLOCK: usize = 1024;

/// How initial centres are chosen (scikit-learn's `init`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum KMeansInit {
    /// Greedy k-means++: each new centre is the best (lowest potential) of `2 + ⌊ln k⌋`
    /// candidates drawn with probability proportional to `w · D(x)²`.
    #[default]
    #[serde(rename = "k-means++")]
    KMeansPlusPlus,
    /// `k` distinct rows drawn with probability proportional to their weight.
    #[serde(rename = "random")]
    Random,
}

/// Number of initialisations: `auto` or a count (scikit-learn's `n_init`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "NInitRepr", into = "NInitRepr")]
pub enum NInit {
    /// 1 for k-means++; 10 (KMeans) or 3 (MiniBatchKMeans) for random init.
    #[default]
    Auto,
    /// This many runs; the one with the lowest inertia is kept.
    Count(usize),
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum NInitRepr {
    Count(usize),
    Name(String),
}

impl TryFrom<NInitRepr> for NInit {
    type Error = String;
    fn try_from(r: NInitRepr) -> std::result::Result<Self, String> {
        match r {
            NInitRepr::Count(n) => Ok(NInit::Count(n)),
            NInitRepr::Name(s) if s == "auto" => Ok(NInit::Auto),
            NInitRepr::Name(s) => Err(format!("n_init must be \"auto\" or an integer, got {s:?}")),
        }
    }
}

impl From<NInit> for NInitRepr {
    fn from(n: NInit) -> Self {
        match n {
            NInit::Auto => NInitRepr::Name("auto".into()),
            NInit::Count(c) => NInitRepr::Count(c),
        }
    }
}

impl NInit {
    /// The number of runs for `init`, with `random_default` runs for `auto` + random init.
    pub(crate) fn resolve(self, init: KMeansInit, random_default: usize) -> usize {
        match (self, init) {
            (NInit::Count(n), _) => n,
            (NInit::Auto, KMeansInit::KMeansPlusPlus) => 1,
            (NInit::Auto, KMeansInit::Random) => random_default,
        }
    }

    pub(crate) fn is_valid(self) -> bool {
        self != NInit::Count(0)
    }
}

impl std::fmt::Display for NInit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NInit::Auto => write!(f, "\"auto\""),
            NInit::Count(n) => write!(f, "{n}"),
        }
    }
}

/// A column-major `n × p` matrix borrowed as a slice.
#[derive(Clone, Copy)]
pub(crate) struct Cols<'a> {
    pub xs: &'a [f64],
    pub n: usize,
    pub p: usize,
}

impl<'a> Cols<'a> {
    pub fn new(xs: &'a [f64], n: usize, p: usize) -> Self {
        debug_assert_eq!(xs.len(), n * p);
        Cols { xs, n, p }
    }

    pub fn mat(&self) -> MatRef<'a, f64> {
        MatRef::from_column_major_slice(self.xs, self.n, self.p)
    }

    /// Rows `r0..r0 + len` of column `j`.
    #[inline]
    pub fn col_part(&self, j: usize, r0: usize, len: usize) -> &'a [f64] {
        &self.xs[j * self.n + r0..j * self.n + r0 + len]
    }

    /// Row `i` as a vector.
    pub fn row(&self, i: usize) -> Vec<f64> {
        (0..self.p).map(|j| self.xs[j * self.n + i]).collect()
    }

    /// The rows `idx`, column-major.
    pub fn gather(&self, idx: &[usize]) -> Vec<f64> {
        let mut out = Vec::with_capacity(idx.len() * self.p);
        for j in 0..self.p {
            let col = &self.xs[j * self.n..(j + 1) * self.n];
            out.extend(idx.iter().map(|&i| col[i]));
        }
        out
    }
}

/// `x − mean` per column (a copy), and the column means. k-means runs on centred data, as
/// scikit-learn does, so that `‖c‖² − 2x·c` loses no precision to a large offset.
pub(crate) fn centred(x: Cols<'_>) -> (Vec<f64>, Vec<f64>) {
    let n = x.n;
    let mean: Vec<f64> = (0..x.p)
        .into_par_iter()
        .map(|j| x.col_part(j, 0, n).iter().sum::<f64>() / n as f64)
        .collect();
    let mut out = vec![0.0; n * x.p];
    if n > 0 {
        out.par_chunks_mut(n).enumerate().for_each(|(j, o)| {
            for (d, s) in o.iter_mut().zip(x.col_part(j, 0, n)) {
                *d = s - mean[j];
            }
        });
    }
    (out, mean)
}

/// Population variance per column, averaged (scikit-learn's `_tolerance` scale).
pub(crate) fn mean_variance(x: Cols<'_>) -> f64 {
    if x.p == 0 || x.n == 0 {
        return 0.0;
    }
    let total: f64 = (0..x.p)
        .into_par_iter()
        .map(|j| {
            let c = x.col_part(j, 0, x.n);
            let m = c.iter().sum::<f64>() / x.n as f64;
            c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / x.n as f64
        })
        .collect::<Vec<_>>()
        .iter()
        .sum();
    total / x.p as f64
}

/// Centres as a `p × k` matrix (for the GEMM) and their squared norms.
pub(crate) fn centres_t(centres: &[f64], k: usize, p: usize) -> (Mat<f64>, Vec<f64>) {
    let ct = Mat::from_fn(p, k, |j, c| centres[c * p + j]);
    let norms = (0..k)
        .map(|c| centres[c * p..(c + 1) * p].iter().map(|v| v * v).sum())
        .collect();
    (ct, norms)
}

/// Nearest centre of rows `r0..r0 + labels.len()` (the first centre on ties).
pub(crate) fn assign_block(
    x: Cols<'_>,
    r0: usize,
    ct: MatRef<'_, f64>,
    cnorm: &[f64],
    labels: &mut [u32],
) {
    let b = labels.len();
    let k = cnorm.len();
    let mut scores = Mat::<f64>::zeros(b, k);
    matmul(
        scores.as_mut(),
        Accum::Replace,
        x.mat().subrows(r0, b),
        ct,
        -2.0,
        Par::Seq,
    );
    for (i, l) in labels.iter_mut().enumerate() {
        let mut best = 0;
        let mut best_v = f64::INFINITY;
        for (c, &cn) in cnorm.iter().enumerate() {
            let v = scores[(i, c)] + cn;
            if v < best_v {
                best_v = v;
                best = c;
            }
        }
        *l = best as u32;
    }
}
/// Weighted per-cluster sums of rows `r0..r0 + labels.len()`: `(Σ w x` (k × p row-major),
/// `Σ w)`.
pub(crate) fn sum_block(
    x: Cols<'_>,
    r0: usize,
    labels: &[u32],
    w: Option<&[f64]>,
    k: usize,
) -> (Vec<f64>, Vec<f64>) {
    let p = x.p;
    let b = labels.len();
    let mut sums = vec![0.0; k * p];
    let mut wsum = vec![0.0; k];
    let w = w.map(|w| &w[r0..r0 + b]);
    // Σ_i w_i [l_i = c] x_ij for every (c, j) as one small GEMM, Mᵀ X_b with M the b × k
    // (weighted) one-hot matrix of the labels: vectorised by faer, where a scatter-add per
    // element is latency-bound.
    let mut m = Mat::<f64>::zeros(b, k);
    for (i, l) in labels.iter().enumerate() {
        let wi = w.map_or(1.0, |w| w[i]);
        m[(i, *l as usize)] = wi;
        wsum[*l as usize] += wi;
    }
    let mut s = Mat::<f64>::zeros(k, p);
    matmul(
        s.as_mut(),
        Accum::Replace,
        m.transpose(),
        x.mat().subrows(r0, b),
        1.0,
        Par::Seq,
    );
    for c in 0..k {
        for j in 0..p {
            sums[c * p + j] = s[(c, j)];
        }
    }
    (sums, wsum)
}

/// Assigns every row to its nearest centre (in parallel over blocks) and, when `w_update` is
/// `Some(weights)`, returns the weighted per-cluster sums, added in block order.
pub(crate) fn assign_all(
    x: Cols<'_>,
    centres: &[f64],
    k: usize,
    labels: &mut [u32],
    update: Option<Option<&[f64]>>,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let (ct, cnorm) = centres_t(centres, k, x.p);
    let parts: Vec<Option<(Vec<f64>, Vec<f64>)>> = labels
        .par_chunks_mut(BLOCK)
        .enumerate()
        .map(|(bi, lab)| {
            let r0 = bi * BLOCK;
            assign_block(x, r0, ct.as_ref(), &cnorm, lab);
            update.map(|w| sum_block(x, r0, lab, w, k))
        })
        .collect();
    update?;
    let mut sums = vec![0.0; k * x.p];
    let mut wsum = vec![0.0; k];
    for (s, ws) in parts.into_iter().flatten() {
        for (a, b) in sums.iter_mut().zip(&s) {
            *a += b;
        }
        for (a, b) in wsum.iter_mut().zip(&ws) {
            *a += b;
        }
    }
    Some((sums, wsum))
}

/// Exact squared distance of each row to its assigned centre.
pub(crate) fn sq_dist_assigned(x: Cols<'_>, centres: &[f64], labels: &[u32]) -> Vec<f64> {
    let p = x.p;
    let mut out = vec![0.0; x.n];
    out.par_chunks_mut(BLOCK)
        .zip(labels.par_chunks(BLOCK))
        .enumerate()
        .for_each(|(bi, (o, lab))| {
            let (r0, b) = (bi * BLOCK, o.len());
            for j in 0..p {
                for ((d, l), v) in o.iter_mut().zip(lab).zip(x.col_part(j, r0, b)) {
                    let e = v - centres[*l as usize * p + j];
                    *d += e * e;
                }
            }
        });
    out
}

/// `Σ w_i ‖x_i − c_{l_i}‖²`, summed in block order.
pub(crate) fn inertia(x: Cols<'_>, centres: &[f64], labels: &[u32], w: Option<&[f64]>) -> f64 {
    let d = sq_dist_assigned(x, centres, labels);
    let parts: Vec<f64> = d
        .par_chunks(BLOCK)
        .enumerate()
        .map(|(bi, c)| match w {
            Some(w) => c.iter().zip(&w[bi * BLOCK..]).map(|(a, b)| a * b).sum(),
            None => c.iter().sum(),
        })
        .collect();
    parts.iter().sum()
}

/// Squared norm of every row.
fn row_sq_norms(x: Cols<'_>) -> Vec<f64> {
    let mut out = vec![0.0; x.n];
    out.par_chunks_mut(BLOCK).enumerate().for_each(|(bi, o)| {
        let (r0, b) = (bi * BLOCK, o.len());
        for j in 0..x.p {
            for (d, v) in o.iter_mut().zip(x.col_part(j, r0, b)) {
                *d += v * v;
            }
        }
    });
    out
}

/// Squared distances from every row to each of the `t` points `cands` (row-major `t × p`),
/// as `‖x‖² − 2 x·c + ‖c‖²` with one GEMM per row block (scikit-learn's k-means++ does the
/// same), clipped at 0 and, when `closest` is given, capped by it. Writes row-major `n × t`
/// into `out` and returns each candidate's potential `Σ w_i d_i` (summed in block order).
fn sq_dist_many(
    x: Cols<'_>,
    xnorm: &[f64],
    cands: &[f64],
    t: usize,
    closest: Option<&[f64]>,
    w: &[f64],
    out: &mut [f64],
) -> Vec<f64> {
    let (ct, cnorm) = centres_t(cands, t, x.p);
    let parts: Vec<Vec<f64>> = out
        .par_chunks_mut(BLOCK * t)
        .enumerate()
        .map(|(bi, o)| {
            let r0 = bi * BLOCK;
            let b = o.len() / t;
            let mut scores = Mat::<f64>::zeros(b, t);
            matmul(
                scores.as_mut(),
                Accum::Replace,
                x.mat().subrows(r0, b),
                ct.as_ref(),
                -2.0,
                Par::Seq,
            );
            let mut pot = vec![0.0; t];
            for i in 0..b {
                for c in 0..t {
                    let mut d = (scores[(i, c)] + xnorm[r0 + i] + cnorm[c]).max(0.0);
                    if let Some(cl) = closest {
                        d = d.min(cl[r0 + i]);
                    }
                    o[i * t + c] = d;
                    pot[c] += d * w[r0 + i];
                }
            }
            pot
        })
        .collect();
    let mut pots = vec![0.0; t];
    for part in parts {
        pots.iter_mut().zip(&part).for_each(|(a, b)| *a += b);
    }
    pots
}

/// Cumulative sums (for sampling by inverse CDF).
fn cumsum(v: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    v.map(|x| {
        acc += x;
        acc
    })
    .collect()
}

/// The first index whose cumulative sum reaches `r` (numpy's `searchsorted`, left side),
/// clipped to the last index. Sampling by inverse CDF makes integer weights equivalent to
/// repeated rows: the same draw lands on the same original row.
fn search(cum: &[f64], r: f64) -> usize {
    cum.partition_point(|&c| c < r)
        .min(cum.len().saturating_sub(1))
}

/// Initial centres (k × p row-major) for the rows of `x` (already the init subset).
pub(crate) fn init_centres(
    estimator: &'static str,
    x: Cols<'_>,
    w: &[f64],
    k: usize,
    init: KMeansInit,
    rng: &mut Rng,
) -> Result<Vec<f64>> {
    let n = x.n;
    let p = x.p;
    let positive = w.iter().filter(|&&v| v > 0.0).count();
    if positive < k {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows with a positive sample weight (one per cluster)",
            needed: k,
            got: positive,
        });
    }
    let mut centres = Vec::with_capacity(k * p);
    match init {
        KMeansInit::Random => {
            let mut wr = w.to_vec();
            for _ in 0..k {
                let cum = cumsum(wr.iter().copied());
                let total = cum.last().copied().unwrap_or(0.0);
                let r = rng.uniform() * total;
                let mut i = cum.partition_point(|&c| c <= r).min(n - 1);
                // Never pick a row twice (its weight is now zero); rounding can land on one.
                while wr[i] == 0.0 {
                    i = (i + 1) % n;
                }
                wr[i] = 0.0;
                centres.extend(x.row(i));
            }
        }
        KMeansInit::KMeansPlusPlus => {
            let trials = 2 + (k as f64).ln() as usize;
            let xnorm = row_sq_norms(x);
            let cum = cumsum(w.iter().copied());
            let total = cum.last().copied().unwrap_or(0.0);
            let r = rng.uniform() * total;
            let first = cum.partition_point(|&c| c <= r).min(n - 1);
            let c0 = x.row(first);
            let mut closest = vec![0.0; n];
            let mut pot = sq_dist_many(x, &xnorm, &c0, 1, None, w, &mut closest)[0];
            centres.extend(c0);
            let mut cand = vec![0.0; n * trials];
            for _ in 1..k {
                let cum = cumsum(closest.iter().zip(w).map(|(d, w)| d * w));
                let ids: Vec<usize> = (0..trials)
                    .map(|_| search(&cum, rng.uniform() * pot))
                    .collect();
                let cands: Vec<f64> = ids.iter().flat_map(|&i| x.row(i)).collect();
                let pots = sq_dist_many(x, &xnorm, &cands, trials, Some(&closest), w, &mut cand);
                // The first candidate with the lowest potential (numpy's argmin).
                let mut best = 0;
                for (t, v) in pots.iter().enumerate() {
                    if *v < pots[best] {
                        best = t;
                    }
                }
                pot = pots[best];
                closest
                    .par_chunks_mut(BLOCK)
                    .zip(cand.par_chunks(BLOCK * trials))
                    .for_each(|(c, d)| {
                        for (i, v) in c.iter_mut().enumerate() {
                            *v = d[i * trials + best];
                        }
                    });
                centres.extend(x.row(ids[best]));
            }
        }
    }
    Ok(centres)
}

/// scikit-learn's `_is_same_clustering`: whether `a` and `b` are the same partition.
pub(crate) fn same_clustering(a: &[u32], b: &[u32], k: usize) -> bool {
    let mut map = vec![u32::MAX; k];
    for (&x, &y) in a.iter().zip(b) {
        let m = &mut map[x as usize];
        if *m == u32::MAX {
            *m = y;
        } else if *m != y {
            return false;
        }
    }
    true
}

/// Checks there are at least as many rows as clusters.
pub(crate) fn check_rows(estimator: &'static str, n: usize, k: usize) -> Result<()> {
    if n < k {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows (one per cluster; lower n_clusters)",
            needed: k,
            got: n,
        });
    }
    Ok(())
}

/// Exact Euclidean distances from every row of `x` to each centre, row-major `n × k`.
pub(crate) fn distances(x: Cols<'_>, centres: &[f64], k: usize) -> Vec<f64> {
    let p = x.p;
    let mut out = vec![0.0; x.n * k];
    out.par_chunks_mut(BLOCK * k.max(1))
        .enumerate()
        .for_each(|(bi, o)| {
            let r0 = bi * BLOCK;
            let b = o.len() / k.max(1);
            for j in 0..p {
                let col = x.col_part(j, r0, b);
                for (i, v) in col.iter().enumerate() {
                    for c in 0..k {
                        let e = v - centres[c * p + j];
                        o[i * k + c] += e * e;
                    }
                }
            }
            for v in o.iter_mut() {
                *v = v.sqrt();
            }
        });
    out
}
