//! Metrics of predicted probabilities: log loss, the Brier score, the expected calibration
//! error and the calibration curve — scikit-learn's `log_loss`, `brier_score_loss`,
//! `sklearn.calibration.calibration_curve` (ECE has no scikit-learn function; its definition
//! is below).
//!
//! Probabilities must be finite and within `[0, 1]`; rows are not required to sum to 1
//! (scikit-learn only warns). Class codes index the probability columns, so a class absent
//! from `y_true` is fine (scikit-learn's `labels=` argument listing every class).

use rayon::prelude::*;
use smelt_core::Proba;

use super::{
    check_binary, check_codes, check_pair, check_proba, check_probabilities, check_weights, weight,
};
use crate::error::{EvalError, Result, check_not_empty};

/// Probabilities are clipped to `[EPS, 1 − EPS]` in the log loss: the machine epsilon of
/// `f64`, as scikit-learn 1.9 (`np.finfo(dtype).eps`; before 1.5 it was 1e-15).
pub const LOG_LOSS_EPS: f64 = f64::EPSILON;

/// Rows per parallel chunk of the one-pass sums (fixed, so the result does not depend on the
/// thread count).
const CHUNK: usize = 1 << 16;

/// How [`calibration_curve`] places its bin edges (scikit-learn's `strategy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Strategy {
    /// `n_bins` bins of equal width over `[0, 1]`.
    #[default]
    Uniform,
    /// Edges at the quantiles of the predicted probabilities (numpy's linear percentile), so
    /// bins hold about as many samples.
    Quantile,
}

/// A calibration curve (reliability diagram) over the non-empty bins, in increasing order.
#[derive(Clone, Debug, PartialEq)]
pub struct CalibrationCurve {
    /// Fraction of positives in each non-empty bin (scikit-learn's `prob_true`).
    pub prob_true: Vec<f64>,
    /// Mean predicted probability in each non-empty bin (`prob_pred`).
    pub prob_pred: Vec<f64>,
    /// Number of samples in each non-empty bin.
    pub counts: Vec<usize>,
    /// The `n_bins + 1` bin edges, empty bins included.
    pub edges: Vec<f64>,
}

/// Mean negative log-likelihood of the true classes (`log_loss`), weighted by
/// `sample_weight`: −Σ wᵢ ln clip(pᵢ,yᵢ) / Σ wᵢ with probabilities clipped to
/// `[ε, 1 − ε]`, ε = [`LOG_LOSS_EPS`]. One pass, in parallel chunks for large inputs.
///
/// ```
/// use smelt_core::Proba;
/// use smelt_eval::metrics::log_loss;
///
/// let p = Proba { n_classes: 2, values: vec![0.9, 0.1, 0.2, 0.8] };
/// let ll = log_loss(&[0, 1], &p, None)?;
/// assert!((ll - (-(0.9f64.ln()) - 0.8f64.ln()) / 2.0).abs() < 1e-15);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn log_loss(y_true: &[u32], proba: &Proba, sample_weight: Option<&[f64]>) -> Result<f64> {
    let ctx = "log_loss";
    check_not_empty(ctx, "y_true", y_true.len())?;
    check_proba(ctx, proba, y_true.len())?;
    check_weights(ctx, sample_weight, y_true.len())?;
    if proba.n_classes < 2 {
        return Err(EvalError::input_hint(
            ctx,
            "`y_proba` has a single class column",
            "the log loss needs the probabilities of two or more classes",
        ));
    }
    check_codes(ctx, "y_true", y_true, proba.n_classes)?;
    let c = proba.n_classes;
    let v = &proba.values;
    Ok(mean_loss(y_true.len(), sample_weight, |i| {
        -clip(v[i * c + y_true[i] as usize]).ln()
    }))
}

/// [`log_loss`] of binary codes (1 positive) and the positive class's probabilities `p`
/// (class 0 gets `1 − p`).
pub fn log_loss_binary(y_true: &[u32], p: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let ctx = "log_loss";
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_proba", p.len()),
        sample_weight,
    )?;
    check_probabilities(ctx, "y_proba", p)?;
    check_binary(ctx, y_true)?;
    Ok(mean_loss(y_true.len(), sample_weight, |i| {
        let q = if y_true[i] == 1 { p[i] } else { 1.0 - p[i] };
        -clip(q).ln()
    }))
}

/// Brier score (`brier_score_loss`): the weighted mean over samples of Σₖ (1{y = k} − pₖ)²,
/// halved with two classes (scikit-learn's `scale_by_half="auto"`), so that the binary score
/// is the mean of (y − p₁)².
pub fn brier(y_true: &[u32], proba: &Proba, sample_weight: Option<&[f64]>) -> Result<f64> {
    let ctx = "brier";
    check_not_empty(ctx, "y_true", y_true.len())?;
    check_proba(ctx, proba, y_true.len())?;
    check_weights(ctx, sample_weight, y_true.len())?;
    check_codes(ctx, "y_true", y_true, proba.n_classes)?;
    let c = proba.n_classes;
    let v = &proba.values;
    let scale = if c < 3 { 0.5 } else { 1.0 };
    Ok(scale
        * mean_loss(y_true.len(), sample_weight, |i| {
            let t = y_true[i] as usize;
            v[i * c..(i + 1) * c]
                .iter()
                .enumerate()
                .map(|(k, &p)| {
                    let d = f64::from(u8::from(k == t)) - p;
                    d * d
                })
                .sum()
        }))
}

/// Binary Brier score of codes (1 positive) and the positive class's probabilities: the
/// weighted mean of (y − p)².
pub fn brier_binary(y_true: &[u32], p: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let ctx = "brier";
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_proba", p.len()),
        sample_weight,
    )?;
    check_probabilities(ctx, "y_proba", p)?;
    check_binary(ctx, y_true)?;
    Ok(mean_loss(y_true.len(), sample_weight, |i| {
        let d = f64::from(y_true[i]) - p[i];
        d * d
    }))
}

/// Expected calibration error of binary codes (1 positive) and the positive class's
/// probabilities, over `n_bins` uniform bins of `[0, 1]` (10 is the usual choice):
///
/// ECE = Σ_b (W_b / W) · |p̄_b − ȳ_b|
///
/// where bin b holds the samples whose probability lies in (e_b, e_{b+1}] (the first bin also
/// holds 0; edges as [`calibration_curve`]'s uniform strategy), W_b is its total weight, p̄_b the
/// weighted mean predicted probability and ȳ_b the weighted fraction of positives in it.
pub fn expected_calibration_error(
    y_true: &[u32],
    p: &[f64],
    n_bins: usize,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "expected_calibration_error";
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_prob", p.len()),
        sample_weight,
    )?;
    check_probabilities(ctx, "y_prob", p)?;
    check_binary(ctx, y_true)?;
    check_bins(ctx, n_bins)?;
    Ok(ece(
        n_bins,
        y_true.len(),
        |i| p[i],
        |i| f64::from(y_true[i]),
        sample_weight,
    ))
}

/// Top-label expected calibration error of a multiclass prediction: the
/// [`expected_calibration_error`] of the confidence (the largest probability of each row)
/// against whether its class (the first largest) is the true one.
pub fn top_label_calibration_error(
    y_true: &[u32],
    proba: &Proba,
    n_bins: usize,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "top_label_calibration_error";
    check_not_empty(ctx, "y_true", y_true.len())?;
    check_proba(ctx, proba, y_true.len())?;
    check_weights(ctx, sample_weight, y_true.len())?;
    check_codes(ctx, "y_true", y_true, proba.n_classes)?;
    check_bins(ctx, n_bins)?;
    let top: Vec<(f64, f64)> = (0..y_true.len())
        .map(|i| {
            let row = proba.row(i);
            let k = smelt_core::model::argmax(row);
            (row[k], f64::from(u8::from(k == y_true[i] as usize)))
        })
        .collect();
    Ok(ece(
        n_bins,
        y_true.len(),
        |i| top[i].0,
        |i| top[i].1,
        sample_weight,
    ))
}

/// The calibration curve of binary codes (1 positive) and the positive class's probabilities
/// (`calibration_curve`, no sample weights as in scikit-learn): mean predicted probability
/// and fraction of positives in each non-empty bin, with the bins' sample counts. A sample
/// on an inner edge belongs to the bin below it (numpy's `searchsorted`), as in scikit-learn.
///
/// ```
/// use smelt_eval::metrics::{Strategy, calibration_curve};
///
/// let c = calibration_curve(&[0, 0, 1, 1], &[0.1, 0.3, 0.6, 0.9], 2, Strategy::Uniform)?;
/// assert_eq!(c.prob_true, [0.0, 1.0]);
/// assert_eq!(c.counts, [2, 2]);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn calibration_curve(
    y_true: &[u32],
    y_prob: &[f64],
    n_bins: usize,
    strategy: Strategy,
) -> Result<CalibrationCurve> {
    let ctx = "calibration_curve";
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_prob", y_prob.len()),
        None,
    )?;
    check_probabilities(ctx, "y_prob", y_prob)?;
    check_binary(ctx, y_true)?;
    check_bins(ctx, n_bins)?;
    let edges = match strategy {
        Strategy::Uniform => linspace(n_bins),
        Strategy::Quantile => {
            let mut sorted = y_prob.to_vec();
            sorted.sort_unstable_by(f64::total_cmp);
            linspace(n_bins)
                .into_iter()
                .map(|q| percentile(&sorted, q * 100.0 / 100.0))
                .collect()
        }
    };
    let (mut sums, mut trues, mut totals) =
        (vec![0.0; n_bins], vec![0.0; n_bins], vec![0usize; n_bins]);
    for (&y, &p) in y_true.iter().zip(y_prob) {
        let b = bin_of(&edges, p);
        sums[b] += p;
        trues[b] += f64::from(y);
        totals[b] += 1;
    }
    let mut c = CalibrationCurve {
        prob_true: Vec::new(),
        prob_pred: Vec::new(),
        counts: Vec::new(),
        edges,
    };
    for b in (0..n_bins).filter(|&b| totals[b] > 0) {
        c.prob_true.push(trues[b] / totals[b] as f64);
        c.prob_pred.push(sums[b] / totals[b] as f64);
        c.counts.push(totals[b]);
    }
    Ok(c)
}

/// Clips a probability into `[ε, 1 − ε]`.
#[inline]
fn clip(p: f64) -> f64 {
    p.clamp(LOG_LOSS_EPS, 1.0 - LOG_LOSS_EPS)
}

/// Weighted mean of `loss(i)`, in parallel fixed-size chunks for large inputs.
fn mean_loss(n: usize, weights: Option<&[f64]>, loss: impl Fn(usize) -> f64 + Sync) -> f64 {
    let part = |lo: usize| {
        let hi = (lo + CHUNK).min(n);
        let (mut s, mut t) = (0.0, 0.0);
        for i in lo..hi {
            let w = weight(weights, i);
            s += w * loss(i);
            t += w;
        }
        (s, t)
    };
    let parts: Vec<(f64, f64)> = if n > CHUNK {
        (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| part(c * CHUNK))
            .collect()
    } else {
        vec![part(0)]
    };
    let (s, t) = parts
        .iter()
        .fold((0.0, 0.0), |(a, b), &(s, t)| (a + s, b + t));
    s / t
}

fn check_bins(ctx: &str, n_bins: usize) -> Result<()> {
    if n_bins == 0 {
        return Err(EvalError::input_hint(
            ctx,
            "`n_bins` is 0",
            "use at least one bin (10 is usual)",
        ));
    }
    Ok(())
}

/// numpy's `linspace(0, 1, n + 1)`: `i * (1 / n)`, the last edge exactly 1.
fn linspace(n: usize) -> Vec<f64> {
    let step = 1.0 / n as f64;
    let mut e: Vec<f64> = (0..=n).map(|i| i as f64 * step).collect();
    e[n] = 1.0;
    e
}

/// numpy's `percentile(sorted, q * 100)` with linear interpolation, `q` in `[0, 1]`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    let v = (n - 1) as f64 * q;
    if v >= (n - 1) as f64 {
        return sorted[n - 1];
    }
    let lo = v.floor();
    let g = v - lo;
    let (a, b) = (sorted[lo as usize], sorted[lo as usize + 1]);
    let d = b - a;
    if g >= 0.5 {
        b - d * (1.0 - g)
    } else {
        a + d * g
    }
}

/// The bin of `p`: the number of inner edges strictly below it (`searchsorted(edges[1:-1], p)`).
#[inline]
fn bin_of(edges: &[f64], p: f64) -> usize {
    edges[1..edges.len() - 1].partition_point(|&e| e < p)
}

/// The binned calibration error of predictions `pred(i)` against outcomes `truth(i)`.
fn ece(
    n_bins: usize,
    n: usize,
    pred: impl Fn(usize) -> f64,
    truth: impl Fn(usize) -> f64,
    weights: Option<&[f64]>,
) -> f64 {
    let edges = linspace(n_bins);
    let (mut sp, mut st, mut sw) = (vec![0.0; n_bins], vec![0.0; n_bins], vec![0.0; n_bins]);
    for i in 0..n {
        let p = pred(i);
        let b = bin_of(&edges, p);
        let w = weight(weights, i);
        sp[b] += w * p;
        st[b] += w * truth(i);
        sw[b] += w;
    }
    let total: f64 = sw.iter().sum();
    (0..n_bins)
        .filter(|&b| sw[b] > 0.0)
        .map(|b| sw[b] / total * (sp[b] / sw[b] - st[b] / sw[b]).abs())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_match_numpy() {
        assert_eq!(linspace(10)[3], 0.30000000000000004);
        assert_eq!(bin_of(&linspace(10), 0.30000000000000004), 2);
        assert_eq!(bin_of(&linspace(10), 0.0), 0);
        assert_eq!(bin_of(&linspace(10), 1.0), 9);
    }

    #[test]
    fn log_loss_clips() {
        let p = Proba {
            n_classes: 2,
            values: vec![1.0, 0.0],
        };
        let ll = log_loss(&[1], &p, None).unwrap();
        assert!((ll + LOG_LOSS_EPS.ln()).abs() < 1e-12);
    }

    #[test]
    fn perfect_calibration_is_zero() {
        let e = expected_calibration_error(&[0, 1], &[0.0, 1.0], 10, None).unwrap();
        assert_eq!(e, 0.0);
    }

    #[test]
    fn rejects_outside_unit_interval() {
        let e = brier_binary(&[0], &[1.5], None).unwrap_err();
        assert!(e.to_string().contains("y_proba"), "{e}");
    }
}
