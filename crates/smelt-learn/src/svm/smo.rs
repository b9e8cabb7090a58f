//! The SMO solver of libsvm (Fan, Chen & Lin 2005, "Working set selection using second order
//! information for training SVM"), as in scikit-learn's vendored copy:
//!
//! ```text
//! min_α ½ αᵀQα + pᵀα   s.t.  yᵀα = 0,  0 ≤ α_i ≤ C_i      (y_i = ±1)
//! ```
//!
//! Each iteration picks the maximal violating index `i` and, among the indices `j` that can
//! move against it, the one with the largest second-order decrease of the objective (WSS2),
//! solves the two-variable sub-problem in closed form and updates the gradient with two rows
//! of `Q`. Rows of `Q` come from an LRU cache bounded by `cache_size` megabytes. Shrinking
//! moves indices that sit at a bound and are unlikely to move to the end of the active set,
//! so that rows (and gradient updates) only cover the active part; the gradient of the shrunk
//! part is rebuilt (through `G_bar`, the contribution of variables at their upper bound)
//! before the final optimality check.

use rayon::prelude::*;

use super::qmatrix::{KernelRows, QMatrix, SvcQ, SvrQ};

/// `Q` entries treated as this when the curvature of a pair is not positive (libsvm's `TAU`).
const TAU: f64 = 1e-12;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Lower,
    Upper,
    Free,
}

/// The solution of one dual problem.
pub(crate) struct Solution {
    /// `α` in the original index order.
    pub alpha: Vec<f64>,
    /// The offset `ρ` (`f(x) = Σ y_i α_i K(x_i, x) - ρ`).
    pub rho: f64,
    /// Whether the iteration limit stopped the solver before the tolerance was met.
    pub hit_max_iter: bool,
}

/// libsvm's `Solver` on any [`QMatrix`].
pub(crate) struct Solver<'a, Q: QMatrix> {
    q: &'a mut Q,
    l: usize,
    active_size: usize,
    y: Vec<f64>,
    g: Vec<f64>,
    status: Vec<Status>,
    alpha: Vec<f64>,
    c: Vec<f64>,
    p: Vec<f64>,
    active_set: Vec<usize>,
    g_bar: Vec<f64>,
    qd: Vec<f64>,
    eps: f64,
    unshrink: bool,
}

impl<'a, Q: QMatrix> Solver<'a, Q> {
    fn status_of(alpha: f64, c: f64) -> Status {
        if alpha >= c {
            Status::Upper
        } else if alpha <= 0.0 {
            Status::Lower
        } else {
            Status::Free
        }
    }

    fn update_status(&mut self, i: usize) {
        self.status[i] = Self::status_of(self.alpha[i], self.c[i]);
    }

    fn is_upper(&self, i: usize) -> bool {
        self.status[i] == Status::Upper
    }
    fn is_lower(&self, i: usize) -> bool {
        self.status[i] == Status::Lower
    }
    fn is_free(&self, i: usize) -> bool {
        self.status[i] == Status::Free
    }

    fn swap_index(&mut self, i: usize, j: usize) {
        self.q.swap_index(i, j);
        self.y.swap(i, j);
        self.g.swap(i, j);
        self.status.swap(i, j);
        self.alpha.swap(i, j);
        self.p.swap(i, j);
        self.active_set.swap(i, j);
        self.g_bar.swap(i, j);
        self.qd.swap(i, j);
        self.c.swap(i, j);
    }

    fn reconstruct_gradient(&mut self) {
        let (a, l) = (self.active_size, self.l);
        if a == l {
            return;
        }
        for j in a..l {
            self.g[j] = self.g_bar[j] + self.p[j];
        }
        let nr_free = (0..a).filter(|&j| self.is_free(j)).count();
        if nr_free * l > 2 * a * (l - a) {
            for i in a..l {
                let qi = self.q.get_q(i, a);
                let s: f64 = qi
                    .iter()
                    .zip(&self.status[..a])
                    .zip(&self.alpha[..a])
                    .filter(|((_, st), _)| **st == Status::Free)
                    .map(|((q, _), al)| al * f64::from(*q))
                    .sum();
                self.g[i] += s;
            }
        } else {
            for i in 0..a {
                if self.status[i] == Status::Free {
                    let qi = self.q.get_q(i, l);
                    let ai = self.alpha[i];
                    for (gj, qij) in self.g[a..l].iter_mut().zip(&qi[a..l]) {
                        *gj += ai * f64::from(*qij);
                    }
                }
            }
        }
    }

    /// Solves the problem from `alpha0` (feasible), with per-index bounds `c`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the solver's inputs as libsvm's Solver::Solve takes them"
    )]
    pub fn solve(
        q: &'a mut Q,
        p: &[f64],
        y: &[f64],
        alpha0: &[f64],
        c: &[f64],
        eps: f64,
        shrinking: bool,
        max_iter: Option<usize>,
    ) -> Solution {
        let l = y.len();
        let status = (0..l).map(|i| Self::status_of(alpha0[i], c[i])).collect();
        let mut s = Solver {
            q,
            l,
            active_size: l,
            y: y.to_vec(),
            g: p.to_vec(),
            status,
            alpha: alpha0.to_vec(),
            c: c.to_vec(),
            p: p.to_vec(),
            active_set: (0..l).collect(),
            g_bar: vec![0.0; l],
            qd: Vec::new(),
            eps,
            unshrink: false,
        };
        s.qd = s.q.qd().to_vec();
        for i in 0..l {
            if !s.is_lower(i) {
                let qi = s.q.get_q(i, l);
                let ai = s.alpha[i];
                for (gj, qij) in s.g.iter_mut().zip(qi) {
                    *gj += ai * f64::from(*qij);
                }
                if s.status[i] == Status::Upper {
                    let ci = s.c[i];
                    for (gj, qij) in s.g_bar.iter_mut().zip(qi) {
                        *gj += ci * f64::from(*qij);
                    }
                }
            }
        }
        let mut iter = 0usize;
        let mut counter = l.min(1000) + 1;
        let mut hit_max_iter = false;
        loop {
            if max_iter.is_some_and(|m| iter >= m) {
                hit_max_iter = true;
                break;
            }
            counter -= 1;
            if counter == 0 {
                counter = l.min(1000);
                if shrinking {
                    s.do_shrinking();
                }
            }
            let (i, j) = match s.select_working_set() {
                Some(ij) => ij,
                None => {
                    s.reconstruct_gradient();
                    s.active_size = l;
                    match s.select_working_set() {
                        Some(ij) => {
                            counter = 1;
                            ij
                        }
                        None => break,
                    }
                }
            };
            iter += 1;
            s.take_step(i, j);
        }
        if hit_max_iter && s.active_size < l {
            s.reconstruct_gradient();
            s.active_size = l;
        }
        let rho = s.calculate_rho();
        let mut alpha = vec![0.0; l];
        for i in 0..l {
            alpha[s.active_set[i]] = s.alpha[i];
        }
        Solution {
            alpha,
            rho,
            hit_max_iter,
        }
    }

    fn take_step(&mut self, i: usize, j: usize) {
        let a = self.active_size;
        let l = self.l;
        let (qd_i, qd_j) = (self.qd[i], self.qd[j]);
        let (ci, cj) = (self.c[i], self.c[j]);
        let (old_ai, old_aj) = (self.alpha[i], self.alpha[j]);
        {
            let (qi, qj) = self.q.get_q2(i, j, a);
            let qij = f64::from(qi[j]);
            let alpha = &mut self.alpha;
            let g = &self.g;
            if self.y[i] != self.y[j] {
                let mut quad = qd_i + qd_j + 2.0 * qij;
                if quad <= 0.0 {
                    quad = TAU;
                }
                let delta = (-g[i] - g[j]) / quad;
                let diff = alpha[i] - alpha[j];
                alpha[i] += delta;
                alpha[j] += delta;
                if diff > 0.0 {
                    if alpha[j] < 0.0 {
                        alpha[j] = 0.0;
                        alpha[i] = diff;
                    }
                } else if alpha[i] < 0.0 {
                    alpha[i] = 0.0;
                    alpha[j] = -diff;
                }
                if diff > ci - cj {
                    if alpha[i] > ci {
                        alpha[i] = ci;
                        alpha[j] = ci - diff;
                    }
                } else if alpha[j] > cj {
                    alpha[j] = cj;
                    alpha[i] = cj + diff;
                }
            } else {
                let mut quad = qd_i + qd_j - 2.0 * qij;
                if quad <= 0.0 {
                    quad = TAU;
                }
                let delta = (g[i] - g[j]) / quad;
                let sum = alpha[i] + alpha[j];
                alpha[i] -= delta;
                alpha[j] += delta;
                if sum > ci {
                    if alpha[i] > ci {
                        alpha[i] = ci;
                        alpha[j] = sum - ci;
                    }
                } else if alpha[j] < 0.0 {
                    alpha[j] = 0.0;
                    alpha[i] = sum;
                }
                if sum > cj {
                    if alpha[j] > cj {
                        alpha[j] = cj;
                        alpha[i] = sum - cj;
                    }
                } else if alpha[i] < 0.0 {
                    alpha[i] = 0.0;
                    alpha[j] = sum;
                }
            }
            let dai = alpha[i] - old_ai;
            let daj = alpha[j] - old_aj;
            let g = &mut self.g[..a];
            if a > 1 << 16 {
                g.par_chunks_mut(8192).enumerate().for_each(|(c, ch)| {
                    let s = c * 8192;
                    for (t, gk) in ch.iter_mut().enumerate() {
                        *gk += f64::from(qi[s + t]) * dai + f64::from(qj[s + t]) * daj;
                    }
                });
            } else {
                for ((gk, &a_), &b_) in g.iter_mut().zip(qi).zip(qj) {
                    *gk += f64::from(a_) * dai + f64::from(b_) * daj;
                }
            }
        }
        let ui = self.is_upper(i);
        let uj = self.is_upper(j);
        self.update_status(i);
        self.update_status(j);
        for (k, was_upper) in [(i, ui), (j, uj)] {
            if was_upper != self.is_upper(k) {
                let ck = self.c[k];
                let qk = self.q.get_q(k, l);
                let sgn = if was_upper { -ck } else { ck };
                for (gb, &v) in self.g_bar.iter_mut().zip(qk) {
                    *gb += sgn * f64::from(v);
                }
            }
        }
    }

    /// WSS2: `i` maximises `-y_i ∇_i` over `I_up`; `j` minimises the second-order objective
    /// decrease over `I_low` among violating pairs. `None` when the gap is below `eps`.
    fn select_working_set(&mut self) -> Option<(usize, usize)> {
        let a = self.active_size;
        let mut gmax = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        let mut gmax_idx = None;
        let mut gmin_idx = None;
        let mut obj_diff_min = f64::INFINITY;
        for t in 0..a {
            if self.y[t] > 0.0 {
                if !self.is_upper(t) && -self.g[t] >= gmax {
                    gmax = -self.g[t];
                    gmax_idx = Some(t);
                }
            } else if !self.is_lower(t) && self.g[t] >= gmax {
                gmax = self.g[t];
                gmax_idx = Some(t);
            }
        }
        let i = gmax_idx?;
        let qd_i = self.qd[i];
        let yi = self.y[i];
        let qi = self.q.get_q(i, a);
        let qd = &self.qd;
        for j in 0..a {
            let gj = self.g[j];
            let st = self.status[j];
            if self.y[j] > 0.0 {
                if st != Status::Lower {
                    let grad_diff = gmax + gj;
                    if gj >= gmax2 {
                        gmax2 = gj;
                    }
                    if grad_diff > 0.0 {
                        let quad = qd_i + qd[j] - 2.0 * yi * f64::from(qi[j]);
                        let obj = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
                        if obj <= obj_diff_min {
                            gmin_idx = Some(j);
                            obj_diff_min = obj;
                        }
                    }
                }
            } else if st != Status::Upper {
                let grad_diff = gmax - gj;
                if -gj >= gmax2 {
                    gmax2 = -gj;
                }
                if grad_diff > 0.0 {
                    let quad = qd_i + qd[j] + 2.0 * yi * f64::from(qi[j]);
                    let obj = -(grad_diff * grad_diff) / if quad > 0.0 { quad } else { TAU };
                    if obj <= obj_diff_min {
                        gmin_idx = Some(j);
                        obj_diff_min = obj;
                    }
                }
            }
        }
        if gmax + gmax2 < self.eps {
            return None;
        }
        gmin_idx.map(|j| (i, j))
    }

    fn be_shrunk(&self, i: usize, gmax1: f64, gmax2: f64) -> bool {
        if self.is_upper(i) {
            if self.y[i] > 0.0 {
                -self.g[i] > gmax1
            } else {
                -self.g[i] > gmax2
            }
        } else if self.is_lower(i) {
            if self.y[i] > 0.0 {
                self.g[i] > gmax2
            } else {
                self.g[i] > gmax1
            }
        } else {
            false
        }
    }

    fn do_shrinking(&mut self) {
        let mut gmax1 = f64::NEG_INFINITY;
        let mut gmax2 = f64::NEG_INFINITY;
        for i in 0..self.active_size {
            let g = self.g[i];
            if self.y[i] > 0.0 {
                if !self.is_upper(i) && -g >= gmax1 {
                    gmax1 = -g;
                }
                if !self.is_lower(i) && g >= gmax2 {
                    gmax2 = g;
                }
            } else {
                if !self.is_upper(i) && -g >= gmax2 {
                    gmax2 = -g;
                }
                if !self.is_lower(i) && g >= gmax1 {
                    gmax1 = g;
                }
            }
        }
        if !self.unshrink && gmax1 + gmax2 <= self.eps * 10.0 {
            self.unshrink = true;
            self.reconstruct_gradient();
            self.active_size = self.l;
        }
        let mut i = 0;
        while i < self.active_size {
            if self.be_shrunk(i, gmax1, gmax2) {
                self.active_size -= 1;
                while self.active_size > i {
                    if !self.be_shrunk(self.active_size, gmax1, gmax2) {
                        self.swap_index(i, self.active_size);
                        break;
                    }
                    self.active_size -= 1;
                }
            }
            i += 1;
        }
    }

    fn calculate_rho(&self) -> f64 {
        let mut nr_free = 0usize;
        let mut ub = f64::INFINITY;
        let mut lb = f64::NEG_INFINITY;
        let mut sum_free = 0.0;
        for i in 0..self.active_size {
            let yg = self.y[i] * self.g[i];
            if self.is_upper(i) {
                if self.y[i] < 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else if self.is_lower(i) {
                if self.y[i] > 0.0 {
                    ub = ub.min(yg);
                } else {
                    lb = lb.max(yg);
                }
            } else {
                nr_free += 1;
                sum_free += yg;
            }
        }
        if nr_free > 0 {
            sum_free / nr_free as f64
        } else {
            (ub + lb) / 2.0
        }
    }
}

/// Solves the C-SVC dual of a two-class problem (`y = ±1`, per-sample bounds `c`); returns
/// `y_i α_i` and `ρ`.
pub(crate) fn solve_c_svc(
    rows: KernelRows,
    y: &[f64],
    c: &[f64],
    eps: f64,
    shrinking: bool,
    max_iter: Option<usize>,
    cache_bytes: f64,
) -> Solution {
    let l = y.len();
    let mut q = SvcQ::new(rows, y, cache_bytes);
    let minus_ones = vec![-1.0; l];
    let zeros = vec![0.0; l];
    let mut sol = Solver::solve(&mut q, &minus_ones, y, &zeros, c, eps, shrinking, max_iter);
    for (a, yi) in sol.alpha.iter_mut().zip(y) {
        *a *= yi;
    }
    sol
}

/// Solves the ε-SVR dual; returns `α_i - α*_i` and `ρ` (`f(x) = Σ coef_i K(x_i, x) - ρ`).
#[allow(
    clippy::too_many_arguments,
    reason = "the solver's inputs as libsvm's Solver::Solve takes them"
)]
pub(crate) fn solve_epsilon_svr(
    rows: KernelRows,
    target: &[f64],
    c: &[f64],
    epsilon: f64,
    eps: f64,
    shrinking: bool,
    max_iter: Option<usize>,
    cache_bytes: f64,
) -> Solution {
    let l = target.len();
    let mut q = SvrQ::new(rows, cache_bytes);
    let mut lin = vec![0.0; 2 * l];
    let mut y = vec![1.0; 2 * l];
    let mut cc = vec![0.0; 2 * l];
    for i in 0..l {
        lin[i] = epsilon - target[i];
        lin[i + l] = epsilon + target[i];
        y[i + l] = -1.0;
        cc[i] = c[i];
        cc[i + l] = c[i];
    }
    let zeros = vec![0.0; 2 * l];
    let sol = Solver::solve(&mut q, &lin, &y, &zeros, &cc, eps, shrinking, max_iter);
    let alpha = (0..l).map(|i| sol.alpha[i] - sol.alpha[i + l]).collect();
    Solution {
        alpha,
        rho: sol.rho,
        hit_max_iter: sol.hit_max_iter,
    }
}
