//! Brute-force k-nearest neighbours.
//!
//! **Euclidean (`p = 2`).** Squared distances expand as `‖q‖² + ‖t‖² - 2 q·t`; the `q·t` of a
//! block of queries against a chunk of training rows is one GEMM (faer). The data are centred
//! on the training mean first (distances do not change) to reduce the cancellation of that
//! expansion, and each training row is augmented with its squared norm so the GEMM yields the
//! score `‖t‖² - 2 q·t` directly (`‖q‖²` is the same for every candidate of a query and does
//! not change the ranking). Query blocks run in parallel on rayon; each block walks the
//! training chunks with an L2-sized score tile and keeps its `k` best per query in a bounded
//! heap, so most scores cost one comparison.
//!
//! The heap keeps `k + EXTRA` candidates by approximate score. Their distances are then
//! **recomputed exactly** (`Σ (q_j - t_j)²`, in feature order) and the `k` best taken by
//! (exact distance, training index): a query equal to a training row gets distance exactly 0
//! (which matters for `weights = "distance"`), and ties resolve to the smaller index, as in the
//! kd-tree. That is provably the exact answer when the last kept candidate's score exceeds the
//! `k`-th by more than twice a rounding bound of the expansion
//! (`8 (d + 2) ε (max_t ‖t - μ‖ + ‖q - μ‖)²`); otherwise (exact ties between distinct rows at
//! the boundary, in practice) that query is redone by a direct exact scan.
//!
//! **Other `p`.** Direct `Σ |q_j - t_j|^p` per pair, parallel over queries.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

use super::Power;
use super::heap::KHeap;

/// Queries per GEMM block (one rayon task).
const QB: usize = 256;
/// Training rows per GEMM tile: the `TB × QB` score tile is 1 MiB, inside L2.
const TB: usize = 512;
/// Candidates kept beyond `k`, so that the exact re-ranking rarely needs the fallback.
const EXTRA: usize = 4;

/// The centred, norm-augmented training matrix for the Euclidean GEMM path.
#[derive(Clone, Debug)]
pub(crate) struct Gemm {
    /// Row-major `n × (d + 1)`: `t - mean`, then `‖t - mean‖²`.
    aug: Vec<f64>,
    mean: Vec<f64>,
    /// `max_t ‖t - mean‖`, for the rounding bound.
    radius: f64,
}

impl Gemm {
    pub(crate) fn build(x: &[f64], n: usize, d: usize) -> Gemm {
        let mut mean = vec![0.0; d];
        for row in x.chunks_exact(d.max(1)).take(n) {
            for (m, v) in mean.iter_mut().zip(row) {
                *m += v;
            }
        }
        mean.iter_mut().for_each(|m| *m /= n.max(1) as f64);
        let mut aug = vec![0.0; n * (d + 1)];
        aug.par_chunks_mut(d + 1).enumerate().for_each(|(i, a)| {
            let mut s = 0.0;
            for j in 0..d {
                let v = x[i * d + j] - mean[j];
                a[j] = v;
                s += v * v;
            }
            a[d] = s;
        });
        let radius = aug
            .chunks_exact(d + 1)
            .map(|a| a[d])
            .fold(0.0f64, f64::max)
            .sqrt();
        Gemm { aug, mean, radius }
    }

    /// Nearest `k` of every query (row-major `nq × d`); exact distances, row-major `nq × k`.
    pub(crate) fn query(
        &self,
        x: &[f64],
        q: &[f64],
        nq: usize,
        d: usize,
        k: usize,
    ) -> (Vec<f64>, Vec<usize>) {
        let d1 = d + 1;
        let n = self.aug.len() / d1;
        let mut dist = vec![0.0; nq * k];
        let mut ind = vec![0usize; nq * k];
        dist.par_chunks_mut(QB * k)
            .zip(ind.par_chunks_mut(QB * k))
            .enumerate()
            .for_each(|(b, (dc, ic))| {
                let q0 = b * QB;
                let qb = dc.len() / k;
                // Queries as [-2 (q - mean), 1], so a row of `aug` times it is ‖t‖² - 2 q·t.
                let mut qa = vec![0.0; qb * d1];
                for r in 0..qb {
                    let src = &q[(q0 + r) * d..(q0 + r + 1) * d];
                    let dst = &mut qa[r * d1..(r + 1) * d1];
                    for j in 0..d {
                        dst[j] = -2.0 * (src[j] - self.mean[j]);
                    }
                    dst[d] = 1.0;
                }
                let rhs = MatRef::from_row_major_slice(&qa, qb, d1).transpose();
                let m = (k + EXTRA).min(n);
                let mut heaps: Vec<KHeap> = (0..qb).map(|_| KHeap::new(m)).collect();
                let mut tile = vec![0.0; TB * qb];
                for t0 in (0..n).step_by(TB) {
                    let tb = TB.min(n - t0);
                    let lhs =
                        MatRef::from_row_major_slice(&self.aug[t0 * d1..(t0 + tb) * d1], tb, d1);
                    let dst = MatMut::from_column_major_slice_mut(&mut tile[..tb * qb], tb, qb);
                    matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
                    for (r, heap) in heaps.iter_mut().enumerate() {
                        let scores = &tile[r * tb..(r + 1) * tb];
                        let mut worst = heap.worst();
                        for (t, &s) in scores.iter().enumerate() {
                            if s < worst {
                                heap.push_in_order(s, t0 + t);
                                worst = heap.worst();
                            }
                        }
                    }
                }
                let mut approx = vec![0.0; m];
                let mut cand = vec![0usize; m];
                for (r, heap) in heaps.iter().enumerate() {
                    let qr = &q[(q0 + r) * d..(q0 + r + 1) * d];
                    let (dr, ir) = (&mut dc[r * k..(r + 1) * k], &mut ic[r * k..(r + 1) * k]);
                    heap.sorted_into(&mut approx, &mut cand);
                    let qnorm = qr
                        .iter()
                        .zip(&self.mean)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                        .sqrt();
                    let margin =
                        8.0 * (d + 2) as f64 * f64::EPSILON * (self.radius + qnorm).powi(2);
                    // Every row outside the heap scores at least approx[m - 1].
                    let filled = cand.iter().all(|&i| i != usize::MAX);
                    let safe = filled && (m == n || approx[m - 1] - approx[k - 1] > 2.0 * margin);
                    if safe {
                        exact(Power::Two, x, qr, d, &cand, dr, ir);
                    } else {
                        scan(Power::Two, x, n, qr, d, dr, ir);
                    }
                }
            });
        (dist, ind)
    }
}

/// Exact distances from `q` to the training rows `cand`, sorted (ties by index) into
/// `dist`/`ind`.
fn exact(
    pw: Power,
    x: &[f64],
    q: &[f64],
    d: usize,
    cand: &[usize],
    dist: &mut [f64],
    ind: &mut [usize],
) {
    let mut pairs: Vec<(f64, usize)> = cand
        .iter()
        .map(|&i| (pw.rdist(q, &x[i * d..(i + 1) * d]), i))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    for (t, (r, i)) in pairs.into_iter().take(dist.len()).enumerate() {
        dist[t] = pw.to_dist(r);
        ind[t] = i;
    }
}

/// The exact `k = dist.len()` nearest rows of one query by a scan over every training row.
fn scan(pw: Power, x: &[f64], n: usize, q: &[f64], d: usize, dist: &mut [f64], ind: &mut [usize]) {
    let mut heap = KHeap::new(dist.len());
    for t in 0..n {
        heap.push(pw.rdist(q, &x[t * d..(t + 1) * d]), t);
    }
    heap.sorted_into(dist, ind);
    dist.iter_mut().for_each(|v| *v = pw.to_dist(*v));
}

/// Direct brute force for any `p`: every pair's reduced distance, parallel over queries.
pub(crate) fn direct(
    pw: Power,
    x: &[f64],
    n: usize,
    q: &[f64],
    nq: usize,
    d: usize,
    k: usize,
) -> (Vec<f64>, Vec<usize>) {
    let mut dist = vec![0.0; nq * k];
    let mut ind = vec![0usize; nq * k];
    dist.par_chunks_mut(k)
        .zip(ind.par_chunks_mut(k))
        .enumerate()
        .for_each(|(r, (dr, ir))| scan(pw, x, n, &q[r * d..(r + 1) * d], d, dr, ir));
    (dist, ind)
}
