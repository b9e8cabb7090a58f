//! Probability estimates of [`SVC`](super::SVC), as libsvm computes them.
//!
//! * Platt scaling (Lin, Lin & Weng 2007, "A note on Platt's probabilistic outputs"): for each
//!   pair of classes, `P(y = +1 | f) = 1 / (1 + exp(A f + B))` with `A, B` fitted by Newton's
//!   method with backtracking on cross-validated decision values and the smoothed targets
//!   `(N₊ + 1) / (N₊ + 2)` and `1 / (N₋ + 2)`.
//! * Pairwise coupling (Wu, Lin & Weng 2004, method 2): the class probabilities `p` minimise
//!   `Σ_i Σ_{j≠i} (r_ji p_i - r_ij p_j)²` on the simplex, solved by libsvm's fixed-point
//!   iteration.

/// Fits `(A, B)` of the sigmoid on decision values `dec` with labels `pos[i]` (`true`: +1).
pub(crate) fn sigmoid_train(dec: &[f64], pos: &[bool]) -> (f64, f64) {
    let prior1 = pos.iter().filter(|&&p| p).count() as f64;
    let prior0 = pos.len() as f64 - prior1;
    let max_iter = 100;
    let min_step = 1e-10;
    let sigma = 1e-12;
    let eps = 1e-5;
    let hi = (prior1 + 1.0) / (prior1 + 2.0);
    let lo = 1.0 / (prior0 + 2.0);
    let t: Vec<f64> = pos.iter().map(|&p| if p { hi } else { lo }).collect();
    let objective = |a: f64, b: f64| -> f64 {
        dec.iter()
            .zip(&t)
            .map(|(&d, &ti)| {
                let f = d * a + b;
                if f >= 0.0 {
                    ti * f + (-f).exp().ln_1p()
                } else {
                    (ti - 1.0) * f + f.exp().ln_1p()
                }
            })
            .sum()
    };
    let mut a = 0.0;
    let mut b = ((prior0 + 1.0) / (prior1 + 1.0)).ln();
    let mut fval = objective(a, b);
    for _ in 0..max_iter {
        let (mut h11, mut h22, mut h21, mut g1, mut g2) = (sigma, sigma, 0.0, 0.0, 0.0);
        for (&d, &ti) in dec.iter().zip(&t) {
            let f = d * a + b;
            let (p, q) = if f >= 0.0 {
                let e = (-f).exp();
                (e / (1.0 + e), 1.0 / (1.0 + e))
            } else {
                let e = f.exp();
                (1.0 / (1.0 + e), e / (1.0 + e))
            };
            let d2 = p * q;
            h11 += d * d * d2;
            h22 += d2;
            h21 += d * d2;
            let d1 = ti - p;
            g1 += d * d1;
            g2 += d1;
        }
        if g1.abs() < eps && g2.abs() < eps {
            break;
        }
        let det = h11 * h22 - h21 * h21;
        let da = -(h22 * g1 - h21 * g2) / det;
        let db = -(-h21 * g1 + h11 * g2) / det;
        let gd = g1 * da + g2 * db;
        let mut step = 1.0;
        while step >= min_step {
            let (na, nb) = (a + step * da, b + step * db);
            let nf = objective(na, nb);
            if nf < fval + 1e-4 * step * gd {
                a = na;
                b = nb;
                fval = nf;
                break;
            }
            step /= 2.0;
        }
        if step < min_step {
            break;
        }
    }
    (a, b)
}

/// `P(+1 | f)` under the sigmoid `(A, B)`, computed without overflow.
pub(crate) fn sigmoid_predict(dec: f64, a: f64, b: f64) -> f64 {
    let f = dec * a + b;
    if f >= 0.0 {
        let e = (-f).exp();
        e / (1.0 + e)
    } else {
        1.0 / (1.0 + f.exp())
    }
}

/// Couples pairwise probabilities `r[i][j] = P(i | i or j)` (row-major `k × k`) into class
/// probabilities `p` (libsvm's `multiclass_probability`).
pub(crate) fn multiclass_probability(k: usize, r: &[f64], p: &mut [f64]) {
    let max_iter = 100.max(k);
    let eps = 0.005 / k as f64;
    let mut q = vec![0.0; k * k];
    let mut qp = vec![0.0; k];
    for t in 0..k {
        p[t] = 1.0 / k as f64;
        q[t * k + t] = 0.0;
        for j in 0..t {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = q[j * k + t];
        }
        for j in t + 1..k {
            q[t * k + t] += r[j * k + t] * r[j * k + t];
            q[t * k + j] = -r[j * k + t] * r[t * k + j];
        }
    }
    for _ in 0..max_iter {
        let mut pqp = 0.0;
        for t in 0..k {
            qp[t] = (0..k).map(|j| q[t * k + j] * p[j]).sum();
            pqp += p[t] * qp[t];
        }
        let max_error = (0..k).map(|t| (qp[t] - pqp).abs()).fold(0.0, f64::max);
        if max_error < eps {
            break;
        }
        for t in 0..k {
            let qtt = q[t * k + t];
            if qtt == 0.0 {
                continue;
            }
            let diff = (-qp[t] + pqp) / qtt;
            p[t] += diff;
            pqp = (pqp + diff * (diff * qtt + 2.0 * qp[t])) / (1.0 + diff) / (1.0 + diff);
            for j in 0..k {
                qp[j] = (qp[j] + diff * q[t * k + j]) / (1.0 + diff);
                p[j] /= 1.0 + diff;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigmoid_separates_and_couples() {
        let dec = [-2.0, -1.5, -0.5, 0.3, 1.0, 2.2, -0.2, 0.6];
        let pos = [false, false, false, true, true, true, true, false];
        let (a, b) = sigmoid_train(&dec, &pos);
        assert!(a < 0.0, "larger f must mean more likely +1: A = {a}");
        assert!(sigmoid_predict(2.0, a, b) > 0.5 && sigmoid_predict(-2.0, a, b) < 0.5);
        // Consistent pairwise probabilities couple back exactly.
        let truth = [0.5, 0.3, 0.2];
        let mut r = vec![0.0; 9];
        for i in 0..3 {
            for j in 0..3 {
                if i != j {
                    r[i * 3 + j] = truth[i] / (truth[i] + truth[j]);
                }
            }
        }
        let mut p = [0.0; 3];
        multiclass_probability(3, &r, &mut p);
        for (a, b) in p.iter().zip(truth) {
            assert!((a - b).abs() < 1e-3, "{p:?}");
        }
    }
}
