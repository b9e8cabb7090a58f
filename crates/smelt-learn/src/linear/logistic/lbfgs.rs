//! Limited-memory BFGS for smooth unconstrained problems, with a strong-Wolfe line search.
//!
//! The direction is `−H·g` from the two-loop recursion over the last `m` pairs
//! `(s, y) = (Δx, Δg)`, with `H₀ = (sᵀy / yᵀy)·I`. The step satisfies the strong Wolfe
//! conditions (`c₁ = 1e-4`, `c₂ = 0.9`), found by bracketing and cubic-interpolation zoom
//! (Nocedal & Wright, *Numerical Optimization*, algorithms 3.5–3.6). The first step has
//! length 1 (`1/‖d‖` on the first iteration), which L-BFGS accepts almost always, so an
//! iteration costs about one evaluation.
//!
//! Stopping mirrors scipy's L-BFGS-B as scikit-learn calls it: `‖g‖∞ ≤ gtol`, or a relative
//! reduction `(f_k − f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) ≤ ftol`. A failed line search drops
//! the memory and retries along `−g`; failing again ends the run where it is.

/// Outcome of [`minimize`].
pub(super) struct Minimum {
    pub x: Vec<f64>,
    pub n_iter: usize,
    pub converged: bool,
}

/// Options of [`minimize`].
pub(super) struct Options {
    pub max_iter: usize,
    pub gtol: f64,
    pub ftol: f64,
    pub memory: usize,
    pub max_ls: usize,
}

const C1: f64 = 1e-4;
const C2: f64 = 0.9;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    super::objective::dot(a, b)
}

fn norm_inf(g: &[f64]) -> f64 {
    g.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// Minimises `f` from `x0`; `f(x, g)` returns the value and writes the gradient into `g`.
pub(super) fn minimize(
    mut f: impl FnMut(&[f64], &mut [f64]) -> f64,
    x0: Vec<f64>,
    opts: &Options,
) -> Minimum {
    let dim = x0.len();
    let m = opts.memory.max(1);
    let mut x = x0;
    let mut g = vec![0.0; dim];
    let mut fx = f(&x, &mut g);
    let mut xn = vec![0.0; dim];
    let mut gn = vec![0.0; dim];
    let mut d = vec![0.0; dim];
    let mut s_mem = vec![0.0; m * dim];
    let mut y_mem = vec![0.0; m * dim];
    let mut rho = vec![0.0; m];
    let mut alpha = vec![0.0; m];
    let (mut head, mut len) = (0usize, 0usize);
    if !fx.is_finite() {
        return Minimum {
            x,
            n_iter: 0,
            converged: false,
        };
    }
    if norm_inf(&g) <= opts.gtol {
        return Minimum {
            x,
            n_iter: 0,
            converged: true,
        };
    }
    let mut n_iter = 0;
    let mut first = true;
    let mut converged = false;
    while n_iter < opts.max_iter {
        // Two-loop recursion: d = −H g.
        d.copy_from_slice(&g);
        for t in 0..len {
            let slot = (head + m - 1 - t) % m;
            let (s, y) = (&s_mem[slot * dim..][..dim], &y_mem[slot * dim..][..dim]);
            alpha[slot] = rho[slot] * dot(s, &d);
            let a = alpha[slot];
            d.iter_mut().zip(y).for_each(|(di, yi)| *di -= a * yi);
        }
        if len > 0 {
            let last = (head + m - 1) % m;
            let (s, y) = (&s_mem[last * dim..][..dim], &y_mem[last * dim..][..dim]);
            let gamma = dot(s, y) / dot(y, y);
            d.iter_mut().for_each(|di| *di *= gamma);
        }
        for t in (0..len).rev() {
            let slot = (head + m - 1 - t) % m;
            let (s, y) = (&s_mem[slot * dim..][..dim], &y_mem[slot * dim..][..dim]);
            let b = rho[slot] * dot(y, &d);
            let a = alpha[slot];
            d.iter_mut().zip(s).for_each(|(di, si)| *di += (a - b) * si);
        }
        d.iter_mut().for_each(|di| *di = -*di);
        let mut dg = dot(&d, &g);
        if dg.is_nan() || dg >= 0.0 {
            // Not a descent direction (numerical trouble): steepest descent instead.
            len = 0;
            d.iter_mut().zip(&g).for_each(|(di, gi)| *di = -gi);
            dg = -dot(&g, &g);
        }
        let step0 = if first { 1.0 / dot(&d, &d).sqrt() } else { 1.0 };
        let found = line_search(&mut f, &x, fx, &d, dg, step0, opts.max_ls, &mut xn, &mut gn);
        let Some(fnew) = found else {
            if len > 0 {
                // Retry from scratch along −g, as L-BFGS-B does.
                len = 0;
                first = true;
                continue;
            }
            break;
        };
        n_iter += 1;
        first = false;
        // Store the pair (s, y) when the curvature is positive.
        let slot = head;
        {
            let (s, y) = (
                &mut s_mem[slot * dim..][..dim],
                &mut y_mem[slot * dim..][..dim],
            );
            for t in 0..dim {
                s[t] = xn[t] - x[t];
                y[t] = gn[t] - g[t];
            }
            let sy = dot(s, y);
            if sy > f64::EPSILON * dot(y, y) {
                rho[slot] = 1.0 / sy;
                head = (head + 1) % m;
                len = (len + 1).min(m);
            }
        }
        let fold = fx;
        std::mem::swap(&mut x, &mut xn);
        std::mem::swap(&mut g, &mut gn);
        fx = fnew;
        if norm_inf(&g) <= opts.gtol {
            converged = true;
            break;
        }
        if (fold - fx) / fold.abs().max(fx.abs()).max(1.0) <= opts.ftol {
            converged = true;
            break;
        }
    }
    Minimum {
        x,
        n_iter,
        converged,
    }
}

/// Strong-Wolfe line search along `d` from `x`; on success `xn`, `gn` hold the accepted point
/// and its gradient, and its value is returned.
#[allow(
    clippy::too_many_arguments,
    reason = "the line search's state, as in the reference L-BFGS-B code"
)]
fn line_search(
    f: &mut impl FnMut(&[f64], &mut [f64]) -> f64,
    x: &[f64],
    f0: f64,
    d: &[f64],
    dg0: f64,
    step0: f64,
    max_ls: usize,
    xn: &mut [f64],
    gn: &mut [f64],
) -> Option<f64> {
    let mut eval = |a: f64, xn: &mut [f64], gn: &mut [f64]| -> (f64, f64) {
        for t in 0..x.len() {
            xn[t] = x[t] + a * d[t];
        }
        let fa = f(xn, gn);
        (fa, dot(gn, d))
    };
    // Bracketing phase.
    let (mut a_prev, mut f_prev, mut dg_prev) = (0.0, f0, dg0);
    let mut a = step0;
    let mut evals = 0;
    let (mut lo, mut hi);
    loop {
        if evals >= max_ls || !a.is_finite() || a <= 0.0 {
            return None;
        }
        let (fa, dga) = eval(a, xn, gn);
        evals += 1;
        if !fa.is_finite() || fa > f0 + C1 * a * dg0 || (evals > 1 && fa >= f_prev) {
            lo = (a_prev, f_prev, dg_prev);
            hi = (a, fa, dga);
            break;
        }
        if dga.abs() <= -C2 * dg0 {
            return Some(fa);
        }
        if dga >= 0.0 {
            lo = (a, fa, dga);
            hi = (a_prev, f_prev, dg_prev);
            break;
        }
        a_prev = a;
        f_prev = fa;
        dg_prev = dga;
        a *= 4.0;
    }
    // Zoom phase: lo satisfies sufficient decrease and has the lowest value so far.
    loop {
        if evals >= max_ls {
            return None;
        }
        let (a_lo, a_hi) = (lo.0, hi.0);
        let width = (a_hi - a_lo).abs();
        if width <= f64::EPSILON * a_lo.abs().max(a_hi.abs()) {
            return None;
        }
        let mut a = cubic_min(lo, hi).unwrap_or(0.5 * (a_lo + a_hi));
        // Keep the trial well inside the bracket.
        let (left, right) = (a_lo.min(a_hi), a_lo.max(a_hi));
        let margin = 0.1 * width;
        if !(a > left + margin && a < right - margin) {
            a = 0.5 * (a_lo + a_hi);
        }
        let (fa, dga) = eval(a, xn, gn);
        evals += 1;
        if !fa.is_finite() || fa > f0 + C1 * a * dg0 || fa >= lo.1 {
            hi = (a, fa, dga);
        } else {
            if dga.abs() <= -C2 * dg0 {
                return Some(fa);
            }
            if dga * (a_hi - a_lo) >= 0.0 {
                hi = lo;
            }
            lo = (a, fa, dga);
        }
    }
}

/// Minimiser of the cubic interpolating values and slopes at two points, if finite.
fn cubic_min(p: (f64, f64, f64), q: (f64, f64, f64)) -> Option<f64> {
    let ((a, fa, da), (b, fb, db)) = (p, q);
    if !(fa.is_finite() && fb.is_finite() && da.is_finite() && db.is_finite()) {
        return None;
    }
    let d1 = da + db - 3.0 * (fa - fb) / (a - b);
    let disc = d1 * d1 - da * db;
    if disc < 0.0 {
        return None;
    }
    let d2 = (b - a).signum() * disc.sqrt();
    let t = b - (b - a) * (db + d2 - d1) / (db - da + 2.0 * d2);
    t.is_finite().then_some(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimises_the_rosenbrock_function() {
        let rosen = |x: &[f64], g: &mut [f64]| {
            let (a, b) = (x[0], x[1]);
            g[0] = -2.0 * (1.0 - a) - 400.0 * a * (b - a * a);
            g[1] = 200.0 * (b - a * a);
            (1.0 - a).powi(2) + 100.0 * (b - a * a).powi(2)
        };
        let opts = Options {
            max_iter: 500,
            gtol: 1e-10,
            ftol: 0.0,
            memory: 10,
            max_ls: 50,
        };
        let r = minimize(rosen, vec![-1.2, 1.0], &opts);
        assert!(r.converged);
        assert!(
            (r.x[0] - 1.0).abs() < 1e-8 && (r.x[1] - 1.0).abs() < 1e-8,
            "{:?}",
            r.x
        );
    }
}
