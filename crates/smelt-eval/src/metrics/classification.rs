//! Label metrics of a classifier: accuracy, balanced accuracy, precision, recall, F-β,
//! Matthews correlation, Cohen's κ, the confusion matrix and top-k accuracy — scikit-learn's
//! `accuracy_score`, `balanced_accuracy_score`, `precision_recall_fscore_support`,
//! `matthews_corrcoef`, `cohen_kappa_score`, `confusion_matrix`, `top_k_accuracy_score`.
//!
//! Labels are class codes (`u32`). As in scikit-learn, the labels a metric works over are the
//! sorted union of those present in `y_true` and `y_pred` (`unique_labels`).
//!
//! **Zero division.** Where a ratio has a zero denominator — the precision of a class never
//! predicted, the recall of a class never true, the F-score of a class with neither —
//! the value is 0, scikit-learn's default `zero_division="warn"` (which returns 0 and warns).
//! A classifier with no disagreement at all in its confusion matrix (a constant prediction
//! of a constant target) gets a Matthews correlation of 0, as scikit-learn.

use smelt_core::Proba;

use super::{check_codes, check_pair, check_proba, check_weights, weight, weighted_mean};
use crate::error::{EvalError, Result, check_not_empty};

/// How per-class precision, recall and F-scores are combined (scikit-learn's `average`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Average {
    /// The score of one class only, `pos_label` (scikit-learn's `average="binary"`); an error
    /// when more than two labels are present. Default: `pos_label = 1`.
    Binary {
        /// The positive class code.
        pos_label: u32,
    },
    /// Counts (true positives, false negatives, false positives) summed over classes first;
    /// equal to accuracy in the multiclass case.
    Micro,
    /// Unweighted mean of the per-class scores.
    Macro,
    /// Mean of the per-class scores weighted by each class's (weighted) support.
    Weighted,
}

impl Default for Average {
    fn default() -> Self {
        Average::Binary { pos_label: 1 }
    }
}

/// Weighting of disagreements in [`cohen_kappa`] (scikit-learn's `weights`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KappaWeights {
    /// Every disagreement counts 1 (`weights=None`).
    #[default]
    None,
    /// A disagreement between the i-th and j-th sorted labels counts |i − j|.
    Linear,
    /// A disagreement counts (i − j)².
    Quadratic,
}

/// How a confusion matrix is normalised (scikit-learn's `normalize`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Normalize {
    /// Counts (weighted sums with sample weights).
    #[default]
    None,
    /// Each row (true class) sums to 1 (`"true"`); a row without samples stays 0.
    True,
    /// Each column (predicted class) sums to 1 (`"pred"`); an empty column stays 0.
    Pred,
    /// The whole matrix sums to 1 (`"all"`).
    All,
}

/// A confusion matrix: `values[i * labels.len() + j]` counts samples of true label
/// `labels[i]` predicted as `labels[j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConfusionMatrix {
    /// The sorted labels present in `y_true` or `y_pred`: the rows' and the columns' classes.
    pub labels: Vec<u32>,
    /// Row-major values (rows: true class, columns: predicted class).
    pub values: Vec<f64>,
}

impl ConfusionMatrix {
    /// The number of labels (rows and columns).
    pub fn n_labels(&self) -> usize {
        self.labels.len()
    }

    /// The value at row `i` (true), column `j` (predicted).
    pub fn get(&self, i: usize, j: usize) -> f64 {
        self.values[i * self.labels.len() + j]
    }

    /// Row `i` (true label `labels[i]`).
    pub fn row(&self, i: usize) -> &[f64] {
        let k = self.labels.len();
        &self.values[i * k..(i + 1) * k]
    }
}

/// Per-class precision, recall, F-β and support (scikit-learn's
/// `precision_recall_fscore_support(average=None)`), one entry per label.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassReport {
    /// The sorted labels present in `y_true` or `y_pred`.
    pub labels: Vec<u32>,
    /// Precision of each label.
    pub precision: Vec<f64>,
    /// Recall of each label.
    pub recall: Vec<f64>,
    /// F-β score of each label.
    pub fscore: Vec<f64>,
    /// The (weighted) number of true samples of each label.
    pub support: Vec<f64>,
}

/// Fraction of correct labels (`accuracy_score`), weighted by `sample_weight`.
///
/// ```
/// use smelt_eval::metrics::accuracy;
///
/// assert_eq!(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0], None)?, 0.75);
/// assert_eq!(accuracy(&[0, 1], &[0, 0], Some(&[3.0, 1.0]))?, 0.75);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn accuracy(y_true: &[u32], y_pred: &[u32], sample_weight: Option<&[f64]>) -> Result<f64> {
    check_labels("accuracy", y_true, y_pred, sample_weight)?;
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        f64::from(u8::from(y_true[i] == y_pred[i]))
    }))
}

/// Mean recall over the classes present in `y_true` (`balanced_accuracy_score`, not
/// adjusted); classes only predicted are left out, as scikit-learn does.
pub fn balanced_accuracy(
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let cm = counts("balanced_accuracy", y_true, y_pred, sample_weight)?;
    let k = cm.labels.len();
    let (mut sum, mut n) = (0.0, 0usize);
    for i in 0..k {
        let row: f64 = cm.row(i).iter().sum();
        if row > 0.0 {
            sum += cm.get(i, i) / row;
            n += 1;
        }
    }
    if n == 0 {
        return Err(EvalError::input(
            "balanced_accuracy",
            "no class of `y_true` has a positive weight",
        ));
    }
    Ok(sum / n as f64)
}

/// Precision, tp / (tp + fp), combined over classes by `average`.
pub fn precision(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    prf("precision", y_true, y_pred, 1.0, average, sample_weight).map(|s| s.0)
}

/// Recall, tp / (tp + fn), combined over classes by `average`.
pub fn recall(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    prf("recall", y_true, y_pred, 1.0, average, sample_weight).map(|s| s.1)
}

/// F1 score, the harmonic mean of precision and recall, combined over classes by `average`.
///
/// ```
/// use smelt_eval::metrics::{Average, f1};
///
/// let (y, p) = ([0, 1, 1, 0, 1], [0, 1, 0, 0, 1]);
/// // precision 1, recall 2/3
/// assert!((f1(&y, &p, Average::default(), None)? - 0.8).abs() < 1e-12);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn f1(
    y_true: &[u32],
    y_pred: &[u32],
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    prf("f1", y_true, y_pred, 1.0, average, sample_weight).map(|s| s.2)
}

/// F-β score, (1 + β²)·tp / ((1 + β²)·tp + β²·fn + fp), combined over classes by `average`;
/// `beta >= 0` (0 gives precision, a large β approaches recall).
pub fn fbeta(
    y_true: &[u32],
    y_pred: &[u32],
    beta: f64,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    check_beta("fbeta", beta)?;
    prf("fbeta", y_true, y_pred, beta, average, sample_weight).map(|s| s.2)
}

/// Per-class precision, recall, F-β and support (`precision_recall_fscore_support` with
/// `average=None`).
pub fn classification_report(
    y_true: &[u32],
    y_pred: &[u32],
    beta: f64,
    sample_weight: Option<&[f64]>,
) -> Result<ClassReport> {
    check_beta("classification_report", beta)?;
    let cm = counts("classification_report", y_true, y_pred, sample_weight)?;
    let k = cm.labels.len();
    let mut r = ClassReport {
        labels: cm.labels.clone(),
        precision: Vec::with_capacity(k),
        recall: Vec::with_capacity(k),
        fscore: Vec::with_capacity(k),
        support: Vec::with_capacity(k),
    };
    for i in 0..k {
        let s = Stats::of(&cm, i);
        let (p, rc, f) = s.scores(beta);
        r.precision.push(p);
        r.recall.push(rc);
        r.fscore.push(f);
        r.support.push(s.true_sum);
    }
    Ok(r)
}

/// Matthews correlation coefficient (`matthews_corrcoef`, multiclass by Gorodkin's R_K):
/// (c·s − Σ p_k t_k) / √((s² − Σ p_k²)(s² − Σ t_k²)) over the confusion matrix, with c the
/// correct count, s the total, t and p the true and predicted class counts; 0 when a factor
/// of the denominator is 0.
pub fn matthews_corrcoef(
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let cm = counts("matthews_corrcoef", y_true, y_pred, sample_weight)?;
    let k = cm.labels.len();
    let t: Vec<f64> = (0..k).map(|i| cm.row(i).iter().sum()).collect();
    let p: Vec<f64> = (0..k).map(|j| (0..k).map(|i| cm.get(i, j)).sum()).collect();
    let correct: f64 = (0..k).map(|i| cm.get(i, i)).sum();
    let s: f64 = p.iter().sum();
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let cov_ytyp = correct * s - dot(&t, &p);
    let cov_ypyp = s * s - dot(&p, &p);
    let cov_ytyt = s * s - dot(&t, &t);
    if cov_ypyp * cov_ytyt == 0.0 {
        return Ok(0.0);
    }
    Ok(cov_ytyp / (cov_ytyt * cov_ypyp).sqrt())
}

/// Cohen's κ between two labellings (`cohen_kappa_score`): 1 − Σ w·O / Σ w·E over the
/// observed confusion matrix O and the one expected by chance E (outer product of the
/// marginals), with disagreement weights `weights` by position in the sorted labels. An error
/// when undefined (the two labellings have a single label in total), where scikit-learn
/// returns NaN.
pub fn cohen_kappa(
    y1: &[u32],
    y2: &[u32],
    weights: KappaWeights,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let cm = counts("cohen_kappa", y1, y2, sample_weight)?;
    let k = cm.labels.len();
    let sum0: Vec<f64> = (0..k).map(|j| (0..k).map(|i| cm.get(i, j)).sum()).collect();
    let sum1: Vec<f64> = (0..k).map(|i| cm.row(i).iter().sum()).collect();
    let total: f64 = sum0.iter().sum();
    let (mut num, mut den) = (0.0, 0.0);
    for (i, &s0) in sum0.iter().enumerate() {
        for (j, &s1) in sum1.iter().enumerate() {
            let d = i.abs_diff(j) as f64;
            let w = match weights {
                KappaWeights::None => f64::from(u8::from(i != j)),
                KappaWeights::Linear => d,
                KappaWeights::Quadratic => d * d,
            };
            num += w * cm.get(i, j);
            // scikit-learn's expected[i][j] = sum0[i] * sum1[j] / total
            den += w * (s0 * s1 / total);
        }
    }
    if den == 0.0 {
        return Err(EvalError::input_hint(
            "cohen_kappa",
            format!(
                "κ is undefined: `y1` and `y2` hold a single label ({:?}) in total",
                cm.labels
            ),
            "κ compares two labellings over at least two classes",
        ));
    }
    Ok(1.0 - num / den)
}

/// The confusion matrix (`confusion_matrix`) over the sorted labels present in `y_true` or
/// `y_pred`, weighted by `sample_weight`, normalised by `normalize`.
///
/// ```
/// use smelt_eval::metrics::{Normalize, confusion_matrix};
///
/// let cm = confusion_matrix(&[0, 0, 1, 2], &[0, 1, 1, 2], Normalize::True, None)?;
/// assert_eq!(cm.labels, [0, 1, 2]);
/// assert_eq!(cm.row(0), [0.5, 0.5, 0.0]);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn confusion_matrix(
    y_true: &[u32],
    y_pred: &[u32],
    normalize: Normalize,
    sample_weight: Option<&[f64]>,
) -> Result<ConfusionMatrix> {
    let mut cm = counts("confusion_matrix", y_true, y_pred, sample_weight)?;
    let k = cm.labels.len();
    match normalize {
        Normalize::None => {}
        Normalize::True => {
            for i in 0..k {
                let s: f64 = cm.row(i).iter().sum();
                for v in &mut cm.values[i * k..(i + 1) * k] {
                    *v = if s == 0.0 { 0.0 } else { *v / s };
                }
            }
        }
        Normalize::Pred => {
            for j in 0..k {
                let s: f64 = (0..k).map(|i| cm.get(i, j)).sum();
                for i in 0..k {
                    let v = &mut cm.values[i * k + j];
                    *v = if s == 0.0 { 0.0 } else { *v / s };
                }
            }
        }
        Normalize::All => {
            let s: f64 = cm.values.iter().sum();
            for v in &mut cm.values {
                *v /= s;
            }
        }
    }
    Ok(cm)
}

/// Fraction of samples whose true class is among the `k` highest probabilities
/// (`top_k_accuracy_score`), weighted by `sample_weight`. Ties rank the higher class code
/// first, as scikit-learn's reversed stable argsort. With two classes and `k = 1` a sample is
/// predicted positive when its class-1 probability is above 0.5, scikit-learn's binary rule;
/// `k >= n_classes` gives 1.
pub fn top_k_accuracy(
    y_true: &[u32],
    proba: &Proba,
    k: usize,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "top_k_accuracy";
    check_not_empty(ctx, "y_true", y_true.len())?;
    check_proba(ctx, proba, y_true.len())?;
    check_weights(ctx, sample_weight, y_true.len())?;
    check_codes(ctx, "y_true", y_true, proba.n_classes)?;
    if k == 0 {
        return Err(EvalError::input_hint(
            ctx,
            "`k` is 0",
            "k counts the top classes, k >= 1",
        ));
    }
    let c = proba.n_classes;
    Ok(weighted_mean(y_true.len(), sample_weight, |i| {
        let row = proba.row(i);
        let t = y_true[i] as usize;
        let hit = if c == 2 && k == 1 {
            (row[1] > 0.5) == (t == 1)
        } else {
            let s = row[t];
            let above = row
                .iter()
                .enumerate()
                .filter(|&(j, &v)| v > s || (v == s && j > t))
                .count();
            above < k
        };
        f64::from(u8::from(hit))
    }))
}

fn check_beta(ctx: &str, beta: f64) -> Result<()> {
    if !(beta.is_finite() && beta >= 0.0) {
        return Err(EvalError::input_hint(
            ctx,
            format!("`beta` is {beta}"),
            "beta must be a finite number >= 0 (1 gives F1)",
        ));
    }
    Ok(())
}

fn check_labels(
    ctx: &str,
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<()> {
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_pred", y_pred.len()),
        sample_weight,
    )
}

/// The sorted labels present in either slice.
fn union_labels(a: &[u32], b: &[u32]) -> Vec<u32> {
    let max = a.iter().chain(b).copied().max().unwrap_or(0) as usize;
    if max < 1 << 16 {
        let mut seen = vec![false; max + 1];
        for &c in a.iter().chain(b) {
            seen[c as usize] = true;
        }
        (0..=max as u32).filter(|&c| seen[c as usize]).collect()
    } else {
        let mut v: Vec<u32> = a.iter().chain(b).copied().collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// The weighted confusion matrix over the union of labels.
fn counts(
    ctx: &str,
    y_true: &[u32],
    y_pred: &[u32],
    sample_weight: Option<&[f64]>,
) -> Result<ConfusionMatrix> {
    check_labels(ctx, y_true, y_pred, sample_weight)?;
    let labels = union_labels(y_true, y_pred);
    let k = labels.len();
    let max = labels.last().copied().unwrap_or(0) as usize;
    let mut values = vec![0.0; k * k];
    if max < 1 << 16 {
        let mut index = vec![0usize; max + 1];
        for (i, &l) in labels.iter().enumerate() {
            index[l as usize] = i;
        }
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            values[index[t as usize] * k + index[p as usize]] += weight(sample_weight, i);
        }
    } else {
        let pos = |c: u32| labels.binary_search(&c).unwrap_or(0);
        for (i, (&t, &p)) in y_true.iter().zip(y_pred).enumerate() {
            values[pos(t) * k + pos(p)] += weight(sample_weight, i);
        }
    }
    Ok(ConfusionMatrix { labels, values })
}

/// One class's counts.
#[derive(Clone, Copy, Default)]
struct Stats {
    tp: f64,
    pred_sum: f64,
    true_sum: f64,
}

impl Stats {
    fn of(cm: &ConfusionMatrix, i: usize) -> Stats {
        let k = cm.labels.len();
        Stats {
            tp: cm.get(i, i),
            pred_sum: (0..k).map(|r| cm.get(r, i)).sum(),
            true_sum: cm.row(i).iter().sum(),
        }
    }

    /// Precision, recall and F-β, 0 on a zero denominator.
    fn scores(&self, beta: f64) -> (f64, f64, f64) {
        let div = |a: f64, b: f64| if b == 0.0 { 0.0 } else { a / b };
        let b2 = beta * beta;
        (
            div(self.tp, self.pred_sum),
            div(self.tp, self.true_sum),
            div((1.0 + b2) * self.tp, b2 * self.true_sum + self.pred_sum),
        )
    }
}

/// Precision, recall and F-β averaged by `average`.
fn prf(
    ctx: &str,
    y_true: &[u32],
    y_pred: &[u32],
    beta: f64,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<(f64, f64, f64)> {
    let cm = counts(ctx, y_true, y_pred, sample_weight)?;
    let k = cm.labels.len();
    let per: Vec<Stats> = (0..k).map(|i| Stats::of(&cm, i)).collect();
    match average {
        Average::Binary { pos_label } => {
            if k > 2 {
                return Err(EvalError::input_hint(
                    ctx,
                    format!(
                        "the labels are multiclass ({k} present: {:?}) but the average is binary",
                        cm.labels
                    ),
                    "choose a macro, micro or weighted average",
                ));
            }
            match cm.labels.iter().position(|&l| l == pos_label) {
                Some(i) => Ok(per[i].scores(beta)),
                None if k == 2 => Err(EvalError::input_hint(
                    ctx,
                    format!(
                        "pos_label {pos_label} is not among the labels present ({:?})",
                        cm.labels
                    ),
                    "pass one of the present labels as the positive class",
                )),
                // The positive class is absent from both: no true positive, scores 0.
                None => Ok((0.0, 0.0, 0.0)),
            }
        }
        Average::Micro => {
            let mut s = Stats::default();
            for p in &per {
                s.tp += p.tp;
                s.pred_sum += p.pred_sum;
                s.true_sum += p.true_sum;
            }
            Ok(s.scores(beta))
        }
        Average::Macro | Average::Weighted => {
            let w: Vec<f64> = match average {
                Average::Weighted => per.iter().map(|p| p.true_sum).collect(),
                _ => vec![1.0; k],
            };
            let total: f64 = w.iter().sum();
            if total == 0.0 {
                return Ok((0.0, 0.0, 0.0));
            }
            let (mut p, mut r, mut f) = (0.0, 0.0, 0.0);
            for (s, &wi) in per.iter().zip(&w) {
                let (a, b, c) = s.scores(beta);
                p += wi * a;
                r += wi * b;
                f += wi * c;
            }
            Ok((p / total, r / total, f / total))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_weights() {
        assert_eq!(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0], None).unwrap(), 0.75);
        assert_eq!(accuracy(&[0, 1], &[0, 0], Some(&[1.0, 3.0])).unwrap(), 0.25);
    }

    #[test]
    fn binary_average_rejects_multiclass() {
        let e = f1(&[0, 1, 2], &[0, 1, 2], Average::default(), None).unwrap_err();
        assert!(e.to_string().contains("multiclass"), "{e}");
    }

    #[test]
    fn micro_equals_accuracy() {
        let (y, p) = ([0, 1, 2, 2, 1], [0, 2, 2, 1, 1]);
        let a = accuracy(&y, &p, None).unwrap();
        assert!((f1(&y, &p, Average::Micro, None).unwrap() - a).abs() < 1e-15);
    }

    #[test]
    fn zero_division_is_zero() {
        // class 1 never predicted: precision 0, recall 0, f 0
        assert_eq!(
            precision(&[0, 1], &[0, 0], Average::default(), None).unwrap(),
            0.0
        );
    }

    #[test]
    fn mcc_of_constant_is_zero() {
        assert_eq!(matthews_corrcoef(&[1, 1], &[1, 1], None).unwrap(), 0.0);
    }

    #[test]
    fn kappa_undefined_is_an_error() {
        assert!(cohen_kappa(&[1, 1], &[1, 1], KappaWeights::None, None).is_err());
    }

    #[test]
    fn top_k_ties_rank_higher_code_first() {
        let p = Proba {
            n_classes: 3,
            values: vec![0.4, 0.4, 0.2],
        };
        assert_eq!(top_k_accuracy(&[1], &p, 1, None).unwrap(), 1.0);
        assert_eq!(top_k_accuracy(&[0], &p, 1, None).unwrap(), 0.0);
    }
}
