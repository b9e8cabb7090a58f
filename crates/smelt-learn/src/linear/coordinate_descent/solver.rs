//! The coordinate-descent solver, in residual and Gram-matrix form.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rayon::prelude::*;
use smelt_core::Dataset;

use super::params::Solver;
use crate::util::{mat, weighted_mean, weighted_means};
use smelt_core::rng::Rng;

/// The centred, weighted problem, with the means to recover the intercept.
pub(super) struct Centred {
    pub(super) x_offset: Vec<f64>,
    pub(super) y_offset: f64,
    pub(super) design: Design,
}

pub(super) enum Design {
    Gram(GramCd),
    Dense(DenseCd),
}

/// Rows per block when forming the Gram matrix; the blocks (hence the summation order) depend
/// only on the data's shape, so fits are reproducible whatever the thread count.
const GRAM_BLOCK_ROWS: usize = 8192;

impl Centred {
    pub(super) fn new(
        data: &Dataset<f64>,
        y: &[f64],
        w: Option<&[f64]>,
        fit_intercept: bool,
        gram: bool,
    ) -> Self {
        let (n, p) = (data.n_rows(), data.n_features());
        let x = mat(data);
        let (x_offset, y_offset) = if fit_intercept {
            (weighted_means(x, w), weighted_mean(y, w))
        } else {
            (vec![0.0; p], 0.0)
        };
        // Weights rescaled to sum to n (scikit-learn's choice: then alpha keeps its meaning),
        // applied as √s on the rows.
        let sw: Option<Vec<f64>> = w.map(|w| {
            let scale = n as f64 / w.iter().sum::<f64>();
            w.iter().map(|v| (v * scale).sqrt()).collect()
        });
        let sw = sw.as_deref();
        let design = if gram {
            Design::Gram(GramCd::new(data, y, &x_offset, y_offset, sw))
        } else {
            let mut xc = vec![0.0; n * p];
            for (j, col) in xc.chunks_exact_mut(n.max(1)).enumerate().take(p) {
                let src = data.column(j);
                let m = x_offset[j];
                for (i, v) in col.iter_mut().enumerate() {
                    *v = (src[i] - m) * sw.map_or(1.0, |s| s[i]);
                }
            }
            let yc: Vec<f64> = (0..n)
                .map(|i| (y[i] - y_offset) * sw.map_or(1.0, |s| s[i]))
                .collect();
            Design::Dense(DenseCd::new(xc, yc, n, p))
        };
        Centred {
            x_offset,
            y_offset,
            design,
        }
    }
}

/// One coordinate-descent problem `½‖y - Xw‖² + a‖w‖₁ + ½β‖w‖²`, in whichever form keeps the
/// updates cheap.
pub(super) trait Cd {
    /// `‖y‖²`.
    fn yy(&self) -> f64;
    /// `‖Xⱼ‖²` of every feature.
    fn diag(&self) -> &[f64];
    /// `Xᵀy`.
    fn xty(&self) -> Vec<f64>;
    /// Starts from coefficients `w` (rebuilds the running residual or `Qw`).
    fn reset(&mut self, w: &[f64]);
    /// `Xⱼ·r`, the correlation of feature `j` with the current residual.
    fn xj_r(&self, j: usize) -> f64;
    /// Records that `wⱼ` changed by `delta`.
    fn shift(&mut self, j: usize, delta: f64);
    /// `(‖r‖², r·y)`; fills `xtr` with `Xᵀr`.
    fn residual_terms(&self, w: &[f64], xtr: &mut [f64]) -> (f64, f64);
    /// Whether a negative gap means "converged" (the Gram form's gap can be slightly
    /// negative from rounding, or wrong for a singular `Q`, so it is not trusted then).
    const TRUST_NEGATIVE_GAP: bool;
}

/// The duality gap and `‖Xᵀr - βw‖∞` (or its positive part's max when `positive`), as
/// scikit-learn's `gap_enet`; `xta` receives `Xᵀr - βw` (`Xᵀr` when `a = 0`).
fn gap<P: Cd>(pb: &P, w: &[f64], a: f64, beta: f64, positive: bool, xta: &mut [f64]) -> (f64, f64) {
    let (r2, ry) = pb.residual_terms(w, xta);
    let w2 = if beta > 0.0 {
        w.iter().map(|v| v * v).sum()
    } else {
        0.0
    };
    if a == 0.0 {
        let norm2: f64 = xta.iter().map(|v| v * v).sum();
        if beta == 0.0 {
            // Least squares: no dual gap; the gradient's norm is the criterion.
            return (norm2, norm2);
        }
        // Ridge: formulation B, feasible for any dual point.
        return (r2 + 0.5 * beta * w2 - ry + norm2 / (2.0 * beta), norm2);
    }
    for (v, wj) in xta.iter_mut().zip(w) {
        *v -= beta * wj;
    }
    let dual_norm = if positive {
        xta.iter().fold(f64::NEG_INFINITY, |m, v| m.max(*v))
    } else {
        xta.iter().fold(0.0f64, |m, v| m.max(v.abs()))
    };
    let l1: f64 = w.iter().map(|v| v.abs()).sum();
    let primal = 0.5 * (r2 + beta * w2) + a * l1;
    let scale = if dual_norm > a { a / dual_norm } else { 1.0 };
    let dual = -0.5 * scale * scale * (r2 + beta * w2) + scale * ry;
    (primal - dual, dual_norm)
}

/// Coordinate descent from `w` (updated in place) for `½‖y - Xw‖² + a‖w‖₁ + ½β‖w‖²`:
/// scikit-learn's `enet_coordinate_descent` (and `_gram`), including its stopping rule and
/// gap-safe screening. Returns the final gap and the number of sweeps.
pub(super) fn coordinate_descent<P: Cd>(
    pb: &mut P,
    w: &mut [f64],
    a: f64,
    beta: f64,
    s: Solver,
    rng: &mut Rng,
) -> (f64, usize) {
    let p = w.len();
    pb.reset(w);
    let diag = pb.diag().to_vec();
    let tol = s.tol * pb.yy();
    let d_w_tol = s.tol;
    let screening = a != 0.0;
    let mut xta = vec![0.0; p];
    let mut active: Vec<usize> = (0..p).collect();
    let mut excluded = vec![false; p];

    let converged = |g: f64| {
        if P::TRUST_NEGATIVE_GAP {
            g <= tol
        } else {
            (0.0..=tol).contains(&g)
        }
    };
    // Gap-safe rule (Fercoq et al. 2015, eq. 11): feature j is zero at the optimum when
    // (1 - |Xⱼ·θ|) / ‖Xⱼ‖ > √(2·gap) / a, θ the scaled dual point.
    let screen = |pb: &mut P,
                  w: &mut [f64],
                  active: &mut Vec<usize>,
                  excluded: &mut [bool],
                  xta: &[f64],
                  g: f64,
                  dual_norm: f64| {
        let radius = (2.0 * g.abs()).sqrt() / a;
        active.clear();
        for j in 0..p {
            if excluded[j] {
                continue;
            }
            if diag[j] == 0.0 {
                w[j] = 0.0;
                excluded[j] = true;
                continue;
            }
            let xj_theta = xta[j] / a.max(dual_norm);
            let d_j = (1.0 - xj_theta.abs()) / (diag[j] + beta).sqrt();
            if d_j <= radius {
                active.push(j);
            } else {
                if w[j] != 0.0 {
                    pb.shift(j, -w[j]);
                    w[j] = 0.0;
                }
                excluded[j] = true;
            }
        }
    };

    let (mut g, dual_norm) = gap(pb, w, a, beta, s.positive, &mut xta);
    if converged(g) {
        return (g, 0);
    }
    if screening {
        screen(pb, w, &mut active, &mut excluded, &xta, g, dual_norm);
    }
    let mut n_iter = 0;
    for it in 0..s.max_iter {
        n_iter = it + 1;
        let mut w_max = 0.0f64;
        let mut d_w_max = 0.0f64;
        let n_active = active.len();
        for f in 0..n_active {
            let j = if s.random {
                active[rng.below(n_active)]
            } else {
                active[f]
            };
            if diag[j] == 0.0 {
                continue;
            }
            let w_j = w[j];
            let tmp = pb.xj_r(j) + w_j * diag[j];
            let new = if s.positive && tmp < 0.0 {
                0.0
            } else {
                // Soft thresholding (`signum(0)` is 1, harmless: the max is then 0).
                tmp.signum() * (tmp.abs() - a).max(0.0) / (diag[j] + beta)
            };
            if new != w_j {
                pb.shift(j, new - w_j);
                w[j] = new;
            }
            d_w_max = d_w_max.max((new - w_j).abs());
            w_max = w_max.max(new.abs());
        }
        if w_max == 0.0 || d_w_max / w_max <= d_w_tol || it + 1 == s.max_iter {
            let (g2, dual_norm) = gap(pb, w, a, beta, s.positive, &mut xta);
            g = g2;
            if converged(g) {
                break;
            }
            if screening {
                screen(pb, w, &mut active, &mut excluded, &xta, g, dual_norm);
            }
        }
    }
    (g, n_iter)
}

/// Dot product with four accumulators (a fixed order, so results are reproducible).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The residual form: centred `X` (column-major), `y`, and the running residual `r = y - Xw`;
/// a coordinate update costs `O(n)`.
pub(super) struct DenseCd {
    x: Vec<f64>,
    y: Vec<f64>,
    r: Vec<f64>,
    n: usize,
    diag: Vec<f64>,
    yy: f64,
}

impl DenseCd {
    fn new(x: Vec<f64>, y: Vec<f64>, n: usize, p: usize) -> Self {
        let diag = (0..p)
            .map(|j| {
                let c = &x[j * n..(j + 1) * n];
                dot(c, c)
            })
            .collect();
        let yy = dot(&y, &y);
        DenseCd {
            r: y.clone(),
            x,
            y,
            n,
            diag,
            yy,
        }
    }

    fn col(&self, j: usize) -> &[f64] {
        &self.x[j * self.n..(j + 1) * self.n]
    }
}

impl Cd for DenseCd {
    const TRUST_NEGATIVE_GAP: bool = true;

    fn yy(&self) -> f64 {
        self.yy
    }
    fn diag(&self) -> &[f64] {
        &self.diag
    }
    fn xty(&self) -> Vec<f64> {
        (0..self.diag.len())
            .map(|j| dot(self.col(j), &self.y))
            .collect()
    }
    fn reset(&mut self, w: &[f64]) {
        self.r.copy_from_slice(&self.y);
        for (j, &wj) in w.iter().enumerate() {
            if wj != 0.0 {
                let (r, x) = (&mut self.r, &self.x[j * self.n..(j + 1) * self.n]);
                for (ri, xi) in r.iter_mut().zip(x) {
                    *ri -= wj * xi;
                }
            }
        }
    }
    fn xj_r(&self, j: usize) -> f64 {
        dot(self.col(j), &self.r)
    }
    fn shift(&mut self, j: usize, delta: f64) {
        let n = self.n;
        let (r, x) = (&mut self.r, &self.x[j * n..(j + 1) * n]);
        for (ri, xi) in r.iter_mut().zip(x) {
            *ri -= delta * xi;
        }
    }
    fn residual_terms(&self, _w: &[f64], xtr: &mut [f64]) -> (f64, f64) {
        let work = self.n * xtr.len();
        if work >= 1 << 16 {
            xtr.par_iter_mut()
                .enumerate()
                .for_each(|(j, v)| *v = dot(self.col(j), &self.r));
        } else {
            for (j, v) in xtr.iter_mut().enumerate() {
                *v = dot(self.col(j), &self.r);
            }
        }
        (dot(&self.r, &self.r), dot(&self.r, &self.y))
    }
}

/// The Gram form for `n > p`: `Q = XᵀX`, `q = Xᵀy`, `‖y‖²` and the running `Qw`; a coordinate
/// update costs `O(p)`, independent of the number of rows.
pub(super) struct GramCd {
    /// Column-major `p × p`.
    pub(super) q: Vec<f64>,
    xy: Vec<f64>,
    yy: f64,
    qw: Vec<f64>,
    diag: Vec<f64>,
}

impl GramCd {
    /// Forms `Q`, `q` and `‖y‖²` of the centred, √s-scaled data in row blocks, in parallel.
    pub(super) fn new(
        data: &Dataset<f64>,
        y: &[f64],
        xm: &[f64],
        ym: f64,
        sw: Option<&[f64]>,
    ) -> Self {
        let (n, p) = (data.n_rows(), data.n_features());
        // At most ~32 MiB of per-block partial Gram matrices.
        let max_blocks = (4_000_000 / (p * p).max(1)).clamp(1, 256);
        let n_blocks = n.div_ceil(GRAM_BLOCK_ROWS).clamp(1, max_blocks);
        let rows = n.div_ceil(n_blocks).max(1);
        let partial = |b: usize| {
            let lo = b * rows;
            let hi = ((b + 1) * rows).min(n);
            let m = hi.saturating_sub(lo);
            let mut blk = Mat::<f64>::zeros(m, p);
            for (j, &mu) in xm.iter().enumerate() {
                let src = &data.column(j)[lo..hi];
                let dst = blk.col_as_slice_mut(j);
                match sw {
                    Some(s) => {
                        for ((d, v), si) in dst.iter_mut().zip(src).zip(&s[lo..hi]) {
                            *d = (v - mu) * si;
                        }
                    }
                    None => {
                        for (d, v) in dst.iter_mut().zip(src) {
                            *d = v - mu;
                        }
                    }
                }
            }
            let yb: Vec<f64> = (lo..hi)
                .map(|i| (y[i] - ym) * sw.map_or(1.0, |s| s[i]))
                .collect();
            let mut g = Mat::<f64>::zeros(p, p);
            matmul(
                g.as_mut(),
                Accum::Replace,
                blk.transpose(),
                blk.as_ref(),
                1.0,
                Par::Seq,
            );
            let xy: Vec<f64> = (0..p).map(|j| dot(blk.col_as_slice(j), &yb)).collect();
            (g, xy, dot(&yb, &yb))
        };
        let parts: Vec<(Mat<f64>, Vec<f64>, f64)> =
            (0..n_blocks).into_par_iter().map(partial).collect();
        let mut q = vec![0.0; p * p];
        let mut xy = vec![0.0; p];
        let mut yy = 0.0;
        for (g, x, s) in &parts {
            for j in 0..p {
                for (i, v) in q[j * p..(j + 1) * p].iter_mut().enumerate() {
                    *v += g[(i, j)];
                }
            }
            for (a, b) in xy.iter_mut().zip(x) {
                *a += b;
            }
            yy += s;
        }
        let diag = (0..p).map(|j| q[j * p + j]).collect();
        GramCd {
            q,
            xy,
            yy,
            qw: vec![0.0; p],
            diag,
        }
    }

    fn p(&self) -> usize {
        self.diag.len()
    }
}

impl Cd for GramCd {
    const TRUST_NEGATIVE_GAP: bool = false;

    fn yy(&self) -> f64 {
        self.yy
    }
    fn diag(&self) -> &[f64] {
        &self.diag
    }
    fn xty(&self) -> Vec<f64> {
        self.xy.clone()
    }
    fn reset(&mut self, w: &[f64]) {
        let p = self.p();
        self.qw.iter_mut().for_each(|v| *v = 0.0);
        for (j, &wj) in w.iter().enumerate() {
            if wj != 0.0 {
                for (o, qij) in self.qw.iter_mut().zip(&self.q[j * p..(j + 1) * p]) {
                    *o += wj * qij;
                }
            }
        }
    }
    fn xj_r(&self, j: usize) -> f64 {
        self.xy[j] - self.qw[j]
    }
    fn shift(&mut self, j: usize, delta: f64) {
        let p = self.p();
        // Q is symmetric: column j is row j.
        for (o, qij) in self.qw.iter_mut().zip(&self.q[j * p..(j + 1) * p]) {
            *o += delta * qij;
        }
    }
    fn residual_terms(&self, w: &[f64], xtr: &mut [f64]) -> (f64, f64) {
        for ((v, a), b) in xtr.iter_mut().zip(&self.xy).zip(&self.qw) {
            *v = a - b;
        }
        let qw: f64 = dot(w, &self.xy);
        let wqw: f64 = dot(w, &self.qw);
        (self.yy + wqw - 2.0 * qw, self.yy - qw)
    }
}
