//! Clustering metrics — scikit-learn's `silhouette_score` (Euclidean),
//! `adjusted_rand_score` and `adjusted_mutual_info_score` (arithmetic normalisation, the
//! default).
//!
//! Cluster labels are `i64` like [`Prediction::Clustering`](smelt_core::Prediction) (`-1`, a
//! noise label, is one more cluster here, as in scikit-learn); only equality of labels
//! matters. None of these take sample weights, as in scikit-learn.

use rayon::prelude::*;

use crate::error::{EvalError, Result, check_finite, check_lengths, check_not_empty};

/// Mean silhouette coefficient of the rows of `x` (row-major, `n_features` columns) under
/// `labels`, with Euclidean distances: for each sample s = (b − a) / max(a, b), a the mean
/// distance to the other members of its cluster, b the smallest mean distance to another
/// cluster's members; 0 for a sample alone in its cluster. Needs 2 to n − 1 distinct labels.
/// O(n²·d) time, parallel over samples.
pub fn silhouette(x: &[f64], n_features: usize, labels: &[i64]) -> Result<f64> {
    let ctx = "silhouette";
    check_not_empty(ctx, "labels", labels.len())?;
    if n_features == 0 || x.len() != labels.len() * n_features {
        return Err(EvalError::Length {
            context: ctx.to_string(),
            left: "x",
            left_len: x.len().checked_div(n_features).unwrap_or(x.len()),
            right: "labels",
            right_len: labels.len(),
        });
    }
    check_finite(ctx, "x", x)?;
    let (codes, k) = relabel(labels);
    let n = labels.len();
    if k < 2 || k >= n {
        return Err(EvalError::input_hint(
            ctx,
            format!("there are {k} distinct labels for {n} samples"),
            "the silhouette needs 2 to n_samples - 1 clusters",
        ));
    }
    let mut sizes = vec![0usize; k];
    for &c in &codes {
        sizes[c] += 1;
    }
    let d = n_features;
    let s: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| {
            let xi = &x[i * d..(i + 1) * d];
            let mut sums = vec![0.0; k];
            for j in 0..n {
                let xj = &x[j * d..(j + 1) * d];
                let dist = xi
                    .iter()
                    .zip(xj)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                sums[codes[j]] += dist;
            }
            let own = codes[i];
            if sizes[own] == 1 {
                return 0.0;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b = (0..k)
                .filter(|&c| c != own)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let m = a.max(b);
            if m == 0.0 { 0.0 } else { (b - a) / m }
        })
        .collect();
    Ok(s.iter().sum::<f64>() / n as f64)
}

/// Adjusted Rand index of two labellings (`adjusted_rand_score`): the Rand index over pairs of
/// samples, adjusted for chance so that random labellings score about 0 and identical ones 1
/// (also 1 when neither labelling separates or joins any pair differently).
///
/// ```
/// use smelt_eval::metrics::adjusted_rand;
///
/// assert_eq!(adjusted_rand(&[0, 0, 1, 1], &[1, 1, 0, 0])?, 1.0);
/// assert_eq!(adjusted_rand(&[0, 0, 1, 2], &[0, 0, 1, 1])?, 0.5714285714285714);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn adjusted_rand(labels_true: &[i64], labels_pred: &[i64]) -> Result<f64> {
    let c = Contingency::new("adjusted_rand", labels_true, labels_pred)?;
    let n = c.n as i128;
    let sq = |v: &[u64]| v.iter().map(|&x| (x as i128) * (x as i128)).sum::<i128>();
    let sum_squares = c
        .cells
        .iter()
        .map(|&(_, _, v)| (v as i128) * (v as i128))
        .sum::<i128>();
    let tp = sum_squares - n;
    let fp = sq(&c.b) - sum_squares;
    let fn_ = sq(&c.a) - sum_squares;
    let tn = n * n - fp - fn_ - sum_squares;
    if fn_ == 0 && fp == 0 {
        return Ok(1.0);
    }
    let num = 2 * (tp * tn - fn_ * fp);
    let den = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
    Ok(num as f64 / den as f64)
}

/// Adjusted mutual information of two labellings (`adjusted_mutual_info_score`,
/// `average_method="arithmetic"`): (MI − E\[MI\]) / (mean(H(U), H(V)) − E\[MI\]), with E\[MI\] the
/// expected mutual information under the hypergeometric model of random labellings
/// (natural logarithms). 1 when both labellings have a single cluster.
pub fn adjusted_mutual_info(labels_true: &[i64], labels_pred: &[i64]) -> Result<f64> {
    let c = Contingency::new("adjusted_mutual_info", labels_true, labels_pred)?;
    if c.a.len() == 1 && c.b.len() == 1 {
        return Ok(1.0);
    }
    let mi = c.mutual_info();
    let emi = c.expected_mutual_info();
    let h_true = entropy(&c.a);
    let h_pred = entropy(&c.b);
    let normalizer = (h_true + h_pred) / 2.0;
    let mut den = normalizer - emi;
    den = if den < 0.0 {
        den.min(-f64::EPSILON)
    } else {
        den.max(f64::EPSILON)
    };
    Ok((mi - emi) / den)
}

/// Codes 0..k of labels, in sorted label order, and k.
fn relabel(labels: &[i64]) -> (Vec<usize>, usize) {
    let mut u = labels.to_vec();
    u.sort_unstable();
    u.dedup();
    let codes = labels
        .iter()
        .map(|l| u.binary_search(l).unwrap_or(0))
        .collect();
    (codes, u.len())
}

/// The non-zero cells of a contingency table and its margins.
struct Contingency {
    n: u64,
    /// Row sums (true clusters).
    a: Vec<u64>,
    /// Column sums (predicted clusters).
    b: Vec<u64>,
    /// (row, column, count), count > 0, in row-major order.
    cells: Vec<(usize, usize, u64)>,
}

impl Contingency {
    fn new(ctx: &str, labels_true: &[i64], labels_pred: &[i64]) -> Result<Contingency> {
        check_lengths(
            ctx,
            ("labels_true", labels_true.len()),
            ("labels_pred", labels_pred.len()),
        )?;
        check_not_empty(ctx, "labels_true", labels_true.len())?;
        let (t, kt) = relabel(labels_true);
        let (p, kp) = relabel(labels_pred);
        let mut pairs: Vec<u64> = t
            .iter()
            .zip(&p)
            .map(|(&i, &j)| (i * kp + j) as u64)
            .collect();
        pairs.sort_unstable();
        let mut cells: Vec<(usize, usize, u64)> = Vec::new();
        for &x in &pairs {
            let (i, j) = ((x / kp as u64) as usize, (x % kp as u64) as usize);
            match cells.last_mut() {
                Some(c) if c.0 == i && c.1 == j => c.2 += 1,
                _ => cells.push((i, j, 1)),
            }
        }
        let (mut a, mut b) = (vec![0u64; kt], vec![0u64; kp]);
        for &(i, j, v) in &cells {
            a[i] += v;
            b[j] += v;
        }
        Ok(Contingency {
            n: labels_true.len() as u64,
            a,
            b,
            cells,
        })
    }

    /// scikit-learn's `mutual_info_score` from a contingency table.
    fn mutual_info(&self) -> f64 {
        if self.a.len() == 1 || self.b.len() == 1 {
            return 0.0;
        }
        let total = self.n as f64;
        let (log_total, log_sum) = (total.ln(), total.ln());
        let mut mi = 0.0;
        for &(i, j, v) in &self.cells {
            let v = v as f64;
            let nm = v / total;
            let outer = (self.a[i] as f64) * (self.b[j] as f64);
            let log_outer = -outer.ln() + log_sum + log_sum;
            let term = nm * (v.ln() - log_total) + nm * log_outer;
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
        mi.max(0.0)
    }

    /// scikit-learn's `expected_mutual_information`.
    fn expected_mutual_info(&self) -> f64 {
        let n = self.n as usize;
        let nf = n as f64;
        // ln(m!) for m = 0..=n.
        let mut lf = vec![0.0; n + 2];
        for m in 1..=n + 1 {
            lf[m] = lf[m - 1] + (m as f64).ln();
        }
        let mut emi = 0.0;
        for &ai in &self.a {
            let ai = ai as usize;
            for &bj in &self.b {
                let bj = bj as usize;
                let start = (ai + bj).saturating_sub(n).max(1);
                let end = ai.min(bj);
                let base = lf[ai] + lf[bj] + lf[n - ai] + lf[n - bj] - lf[n];
                let (log_a, log_b) = ((ai as f64).ln(), (bj as f64).ln());
                for nij in start..=end {
                    let nijf = nij as f64;
                    let term2 = nf.ln() + nijf.ln() - log_a - log_b;
                    let gln = base - lf[nij] - lf[ai - nij] - lf[bj - nij] - lf[n + nij - ai - bj];
                    emi += nijf / nf * term2 * gln.exp();
                }
            }
        }
        emi
    }
}

/// scikit-learn's `entropy` of cluster sizes (natural logarithm).
fn entropy(sizes: &[u64]) -> f64 {
    let pi: Vec<f64> = sizes
        .iter()
        .filter(|&&s| s > 0)
        .map(|&s| s as f64)
        .collect();
    if pi.len() <= 1 {
        return 0.0;
    }
    let sum: f64 = pi.iter().sum();
    -pi.iter()
        .map(|&p| (p / sum) * (p.ln() - sum.ln()))
        .sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_labellings() {
        let l = [0, 0, 1, 1, 2, 2];
        assert_eq!(adjusted_rand(&l, &l).unwrap(), 1.0);
        assert!((adjusted_mutual_info(&l, &l).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn silhouette_needs_two_clusters() {
        let e = silhouette(&[0.0, 1.0, 2.0], 1, &[0, 0, 0]).unwrap_err();
        assert!(e.to_string().contains("1 distinct labels"), "{e}");
    }

    #[test]
    fn silhouette_of_separated_pairs() {
        let x = [0.0, 1.0, 10.0, 11.0];
        let s = silhouette(&x, 1, &[0, 0, 1, 1]).unwrap();
        // each point: a = 1, b = mean(10, 11) or mean(9, 10)
        let expect = ((10.5 - 1.0) / 10.5 + (9.5 - 1.0) / 9.5) / 2.0;
        assert!((s - expect).abs() < 1e-12);
    }
}
