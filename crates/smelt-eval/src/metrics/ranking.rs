//! Ranking metrics of scores: ROC-AUC (binary, one-vs-rest, one-vs-one), the ROC curve, the
//! precision–recall curve and average precision — scikit-learn's `roc_auc_score`,
//! `roc_curve`, `precision_recall_curve`, `average_precision_score`.
//!
//! All of them walk the samples in decreasing score, one step per distinct score (tied scores
//! form one step, so a tie counts half in ROC-AUC). The order comes from one sort: the scores
//! of the positives and of the negatives are turned into order-preserving integer keys and
//! sorted apart (in parallel for large inputs), then merged while walking — no index array,
//! no allocation per element. Samples of weight 0 are left out, as scikit-learn does.
//!
//! Binary functions take class codes 0 (negative) and 1 (positive) and the positive class's
//! score; a class missing from `y_true` makes them an error (ROC-AUC, the curves and average
//! precision are undefined there; scikit-learn warns and returns NaN or a convention).

use rayon::prelude::*;
use smelt_core::Proba;

use super::{check_binary, check_codes, check_pair, check_proba, check_weights};
use crate::error::{EvalError, Result, check_finite, check_not_empty};

use super::classification::Average;

/// A ROC curve (`roc_curve`): false and true positive rates at decreasing thresholds, from
/// (0, 0) at threshold +∞ to (1, 1).
#[derive(Clone, Debug, PartialEq)]
pub struct RocCurve {
    /// False positive rates, increasing.
    pub fpr: Vec<f64>,
    /// True positive rates, increasing.
    pub tpr: Vec<f64>,
    /// Decreasing thresholds: a sample is predicted positive when its score is `>=` the
    /// threshold; the first is `f64::INFINITY`.
    pub thresholds: Vec<f64>,
}

/// A precision–recall curve (`precision_recall_curve`), ordered by increasing threshold:
/// `precision` and `recall` have one value more than `thresholds`, the last point being
/// precision 1, recall 0.
#[derive(Clone, Debug, PartialEq)]
pub struct PrecisionRecallCurve {
    /// Precision at each threshold (0 where nothing is predicted positive), then 1.
    pub precision: Vec<f64>,
    /// Recall at each threshold, decreasing, then 0.
    pub recall: Vec<f64>,
    /// Increasing thresholds (the distinct scores).
    pub thresholds: Vec<f64>,
}

/// Area under the ROC curve of binary codes `y_true` (1 positive) and the positive class's
/// scores (`roc_auc_score`), weighted by `sample_weight`; tied scores count half.
///
/// ```
/// use smelt_eval::metrics::roc_auc;
///
/// assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], None)?, 0.75);
/// assert_eq!(roc_auc(&[0, 1], &[0.5, 0.5], None)?, 0.5);
/// // a single class: undefined
/// assert!(roc_auc(&[1, 1], &[0.5, 0.2], None).is_err());
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn roc_auc(y_true: &[u32], y_score: &[f64], sample_weight: Option<&[f64]>) -> Result<f64> {
    let ctx = "roc_auc";
    check_binary_input(ctx, y_true, y_score, sample_weight)?;
    let g = Groups::build(
        y_true.len(),
        |i| Some(y_true[i] == 1),
        |i| y_score[i],
        sample_weight,
    );
    g.both_classes(ctx, "0 (negative) and 1 (positive)", u32::from)?;
    Ok(g.auc())
}

/// Multiclass ROC-AUC, one class against the rest (`roc_auc_score(multi_class="ovr")`):
/// each class's AUC of its probability column, combined by `average` — `Macro` (mean),
/// `Weighted` (by each class's weighted support) or `Micro` (one AUC over every
/// (sample, class) pair). Every class must be present in `y_true`, and each row of
/// probabilities must sum to 1 (within scikit-learn's tolerance).
pub fn roc_auc_ovr(
    y_true: &[u32],
    proba: &Proba,
    average: Average,
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "roc_auc_ovr";
    check_multiclass_input(ctx, y_true, proba, sample_weight)?;
    let c = proba.n_classes;
    let v = &proba.values;
    match average {
        Average::Micro => {
            let w = sample_weight.map(|w| {
                w.iter()
                    .flat_map(|&x| std::iter::repeat_n(x, c))
                    .collect::<Vec<f64>>()
            });
            let g = Groups::build(
                y_true.len() * c,
                |i| Some(y_true[i / c] as usize == i % c),
                |i| v[i],
                w.as_deref(),
            );
            Ok(g.auc())
        }
        Average::Macro | Average::Weighted => {
            let (mut s, mut t) = (0.0, 0.0);
            for k in 0..c {
                let g = Groups::build(
                    y_true.len(),
                    |i| Some(y_true[i] as usize == k),
                    |i| v[i * c + k],
                    sample_weight,
                );
                let w = if average == Average::Weighted {
                    g.totals().0
                } else {
                    1.0
                };
                s += w * g.auc();
                t += w;
            }
            Ok(s / t)
        }
        Average::Binary { .. } => Err(EvalError::input_hint(
            ctx,
            "a binary average is not defined for one-vs-rest ROC-AUC",
            "choose Macro, Weighted or Micro (or use roc_auc on the positive class's scores)",
        )),
    }
}

/// Multiclass ROC-AUC of Hand & Till, every pair of classes (`roc_auc_score(multi_class=
/// "ovo")`): for each pair (a, b) the mean of AUC(a vs b on column a) and AUC(b vs a on
/// column b) over the samples of a or b, combined by `average` — `Macro` (mean over pairs) or
/// `Weighted` (by the pair's prevalence). No sample weights, as in scikit-learn. Every class
/// must be present in `y_true`, and each row of probabilities must sum to 1.
pub fn roc_auc_ovo(y_true: &[u32], proba: &Proba, average: Average) -> Result<f64> {
    let ctx = "roc_auc_ovo";
    check_multiclass_input(ctx, y_true, proba, None)?;
    if !matches!(average, Average::Macro | Average::Weighted) {
        return Err(EvalError::input_hint(
            ctx,
            format!("average {average:?} is not defined for one-vs-one ROC-AUC"),
            "choose Macro or Weighted",
        ));
    }
    let c = proba.n_classes;
    let v = &proba.values;
    let n = y_true.len() as f64;
    let (mut s, mut t) = (0.0, 0.0);
    for a in 0..c {
        for b in a + 1..c {
            let pair = |i: usize| {
                let y = y_true[i] as usize;
                (y == a || y == b).then_some(y)
            };
            let ga = Groups::build(
                y_true.len(),
                |i| pair(i).map(|y| y == a),
                |i| v[i * c + a],
                None,
            );
            let gb = Groups::build(
                y_true.len(),
                |i| pair(i).map(|y| y == b),
                |i| v[i * c + b],
                None,
            );
            let score = (ga.auc() + gb.auc()) / 2.0;
            let w = if average == Average::Weighted {
                let (p, q) = ga.totals();
                (p + q) / n
            } else {
                1.0
            };
            s += w * score;
            t += w;
        }
    }
    Ok(s / t)
}

/// The ROC curve of binary codes `y_true` (1 positive) and scores (`roc_curve`), weighted by
/// `sample_weight`. With `drop_intermediate` (scikit-learn's default `true`), thresholds on a
/// straight segment of the curve are dropped (the second differences of both the false and the
/// true positive counts are zero).
pub fn roc_curve(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
    drop_intermediate: bool,
) -> Result<RocCurve> {
    let ctx = "roc_curve";
    check_binary_input(ctx, y_true, y_score, sample_weight)?;
    let g = Groups::build(
        y_true.len(),
        |i| Some(y_true[i] == 1),
        |i| y_score[i],
        sample_weight,
    );
    g.both_classes(ctx, "0 (negative) and 1 (positive)", u32::from)?;
    let (mut fps, mut tps, mut thr) = g.cumulative();
    if drop_intermediate && fps.len() > 2 {
        let keep: Vec<usize> = (0..fps.len())
            .filter(|&i| {
                i == 0
                    || i + 1 == fps.len()
                    || second_diff(&fps, i - 1) != 0.0
                    || second_diff(&tps, i - 1) != 0.0
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    let (p, n) = (tps[tps.len() - 1], fps[fps.len() - 1]);
    let mut curve = RocCurve {
        fpr: Vec::with_capacity(fps.len() + 1),
        tpr: Vec::with_capacity(fps.len() + 1),
        thresholds: Vec::with_capacity(fps.len() + 1),
    };
    curve.fpr.push(0.0);
    curve.tpr.push(0.0);
    curve.thresholds.push(f64::INFINITY);
    curve.fpr.extend(fps.iter().map(|f| f / n));
    curve.tpr.extend(tps.iter().map(|t| t / p));
    curve.thresholds.extend(thr);
    Ok(curve)
}

/// The precision–recall curve of binary codes `y_true` (1 positive) and scores
/// (`precision_recall_curve`), weighted by `sample_weight`; `drop_intermediate` (scikit-learn's
/// default `false`) keeps only the first and last threshold of each run of equal recall. An
/// error without positive samples (recall undefined).
pub fn precision_recall_curve(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
    drop_intermediate: bool,
) -> Result<PrecisionRecallCurve> {
    let ctx = "precision_recall_curve";
    check_binary_input(ctx, y_true, y_score, sample_weight)?;
    let g = Groups::build(
        y_true.len(),
        |i| Some(y_true[i] == 1),
        |i| y_score[i],
        sample_weight,
    );
    g.has_positives(ctx)?;
    let (mut fps, mut tps, mut thr) = g.cumulative();
    if drop_intermediate && fps.len() > 2 {
        let keep: Vec<usize> = (0..tps.len())
            .filter(|&i| {
                i == 0 || i + 1 == tps.len() || tps[i] != tps[i - 1] || tps[i + 1] != tps[i]
            })
            .collect();
        fps = keep.iter().map(|&i| fps[i]).collect();
        tps = keep.iter().map(|&i| tps[i]).collect();
        thr = keep.iter().map(|&i| thr[i]).collect();
    }
    let p = tps[tps.len() - 1];
    let mut precision: Vec<f64> = tps
        .iter()
        .zip(&fps)
        .rev()
        .map(|(&t, &f)| if t + f == 0.0 { 0.0 } else { t / (t + f) })
        .collect();
    precision.push(1.0);
    let mut recall: Vec<f64> = tps.iter().rev().map(|t| t / p).collect();
    recall.push(0.0);
    thr.reverse();
    Ok(PrecisionRecallCurve {
        precision,
        recall,
        thresholds: thr,
    })
}

/// Average precision (`average_precision_score`), Σₖ (Rₖ − Rₖ₋₁)·Pₖ over the distinct
/// thresholds in decreasing order (no interpolation), weighted by `sample_weight`. An error
/// without positive samples.
///
/// ```
/// use smelt_eval::metrics::average_precision;
///
/// let ap = average_precision(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8], None)?;
/// assert!((ap - 0.8333333333333333).abs() < 1e-12);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn average_precision(
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<f64> {
    let ctx = "average_precision";
    check_binary_input(ctx, y_true, y_score, sample_weight)?;
    let g = Groups::build(
        y_true.len(),
        |i| Some(y_true[i] == 1),
        |i| y_score[i],
        sample_weight,
    );
    g.has_positives(ctx)?;
    let p = g.totals().0;
    let (mut tp, mut fp, mut prev_recall, mut ap) = (0.0, 0.0, 0.0, 0.0);
    g.walk(|_, wp, wn| {
        tp += wp;
        fp += wn;
        let recall = tp / p;
        ap += (recall - prev_recall) * (tp / (tp + fp));
        prev_recall = recall;
    });
    Ok(ap)
}

/// `f[i+2] − 2f[i+1] + f[i]` computed as numpy's `diff(f, 2)`.
fn second_diff(f: &[f64], i: usize) -> f64 {
    (f[i + 2] - f[i + 1]) - (f[i + 1] - f[i])
}

fn check_binary_input(
    ctx: &str,
    y_true: &[u32],
    y_score: &[f64],
    sample_weight: Option<&[f64]>,
) -> Result<()> {
    check_pair(
        ctx,
        ("y_true", y_true.len()),
        ("y_score", y_score.len()),
        sample_weight,
    )?;
    check_finite(ctx, "y_score", y_score)?;
    check_binary(ctx, y_true)
}

fn check_multiclass_input(
    ctx: &str,
    y_true: &[u32],
    proba: &Proba,
    sample_weight: Option<&[f64]>,
) -> Result<()> {
    check_not_empty(ctx, "y_true", y_true.len())?;
    check_proba(ctx, proba, y_true.len())?;
    check_weights(ctx, sample_weight, y_true.len())?;
    check_codes(ctx, "y_true", y_true, proba.n_classes)?;
    let c = proba.n_classes;
    if c < 2 {
        return Err(EvalError::input(ctx, "`y_proba` has a single class column"));
    }
    for i in 0..proba.n_rows() {
        let s: f64 = proba.row(i).iter().sum();
        if (s - 1.0).abs() > 1e-8 + 1e-5 {
            return Err(EvalError::input_hint(
                ctx,
                format!("the probabilities of row {i} sum to {s}, not 1"),
                "multiclass ROC-AUC needs class probabilities (rows summing to 1)",
            ));
        }
    }
    let mut seen = vec![false; c];
    for &y in y_true {
        seen[y as usize] = true;
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(EvalError::input_hint(
            ctx,
            format!(
                "class {k} has no sample in `y_true`, but `y_proba` has {c} classes: its \
                 ROC-AUC is undefined"
            ),
            "evaluate on data where every class is present",
        ));
    }
    Ok(())
}

/// Order-preserving integer key of a finite score (−0 and +0 map to the same key).
#[inline]
fn key(x: f64) -> u64 {
    let b = (x + 0.0).to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// The score of a key.
#[inline]
fn unkey(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// A sortable sample: a key and a weight.
trait Item: Copy + Send + Sync {
    fn key(&self) -> u64;
    fn weight(&self) -> f64;
}

impl Item for u64 {
    #[inline]
    fn key(&self) -> u64 {
        *self
    }
    #[inline]
    fn weight(&self) -> f64 {
        1.0
    }
}

impl Item for (u64, f64) {
    #[inline]
    fn key(&self) -> u64 {
        self.0
    }
    #[inline]
    fn weight(&self) -> f64 {
        self.1
    }
}

/// Below this many samples a sequential sort is faster than rayon's.
const PAR_SORT: usize = 1 << 15;

fn sort<T: Item>(v: &mut [T]) {
    if v.len() >= PAR_SORT {
        v.par_sort_unstable_by_key(Item::key);
    } else {
        v.sort_unstable_by_key(Item::key);
    }
}

/// The positives' and negatives' sorted keys.
enum Groups {
    Plain(Vec<u64>, Vec<u64>),
    Weighted(Vec<(u64, f64)>, Vec<(u64, f64)>),
}

impl Groups {
    /// Splits samples `0..n` by `class(i)` (`Some(true)` positive, `Some(false)` negative,
    /// `None` left out) and sorts each side by score; zero weights are left out.
    fn build(
        n: usize,
        class: impl Fn(usize) -> Option<bool>,
        score: impl Fn(usize) -> f64,
        weights: Option<&[f64]>,
    ) -> Groups {
        match weights {
            None => {
                let n_pos = (0..n).filter(|&i| class(i) == Some(true)).count();
                let mut pos = Vec::with_capacity(n_pos);
                let mut neg = Vec::with_capacity(n - n_pos);
                for i in 0..n {
                    match class(i) {
                        Some(true) => pos.push(key(score(i))),
                        Some(false) => neg.push(key(score(i))),
                        None => {}
                    }
                }
                sort(&mut pos);
                sort(&mut neg);
                Groups::Plain(pos, neg)
            }
            Some(w) => {
                let (mut pos, mut neg) = (Vec::new(), Vec::new());
                for (i, &wi) in w.iter().enumerate().take(n) {
                    if wi == 0.0 {
                        continue;
                    }
                    match class(i) {
                        Some(true) => pos.push((key(score(i)), wi)),
                        Some(false) => neg.push((key(score(i)), wi)),
                        None => {}
                    }
                }
                sort(&mut pos);
                sort(&mut neg);
                Groups::Weighted(pos, neg)
            }
        }
    }

    /// Total weights of the positives and the negatives.
    fn totals(&self) -> (f64, f64) {
        match self {
            Groups::Plain(p, n) => (p.len() as f64, n.len() as f64),
            Groups::Weighted(p, n) => (p.iter().map(|x| x.1).sum(), n.iter().map(|x| x.1).sum()),
        }
    }

    /// Calls `f(score, positive weight, negative weight)` once per distinct score, in
    /// decreasing order.
    fn walk(&self, f: impl FnMut(f64, f64, f64)) {
        match self {
            Groups::Plain(p, n) => walk(p, n, f),
            Groups::Weighted(p, n) => walk(p, n, f),
        }
    }

    /// The area under the ROC curve (NaN without both classes; callers check first).
    fn auc(&self) -> f64 {
        let (p, n) = self.totals();
        let (mut area, mut tp) = (0.0, 0.0);
        self.walk(|_, wp, wn| {
            area += wn * (tp + wp / 2.0);
            tp += wp;
        });
        area / (p * n)
    }

    /// Cumulative false and true positive weights and the thresholds, by decreasing score.
    fn cumulative(&self) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let (mut fps, mut tps, mut thr) = (Vec::new(), Vec::new(), Vec::new());
        let (mut tp, mut fp) = (0.0, 0.0);
        self.walk(|s, wp, wn| {
            tp += wp;
            fp += wn;
            fps.push(fp);
            tps.push(tp);
            thr.push(s);
        });
        (fps, tps, thr)
    }

    /// An error naming the class present when one is missing.
    fn both_classes(&self, ctx: &str, needed: &str, code: impl Fn(bool) -> u32) -> Result<()> {
        let (p, n) = self.totals();
        if p > 0.0 && n > 0.0 {
            return Ok(());
        }
        let present = if p > 0.0 {
            format!("only class {} is present", code(true))
        } else if n > 0.0 {
            format!("only class {} is present", code(false))
        } else {
            "no sample has a positive weight".to_string()
        };
        Err(EvalError::input_hint(
            ctx,
            format!("{present} in `y_true`; the metric needs both classes, {needed}"),
            "evaluate on data holding both classes (a stratified split keeps them)",
        ))
    }

    fn has_positives(&self, ctx: &str) -> Result<()> {
        if self.totals().0 > 0.0 {
            Ok(())
        } else {
            Err(EvalError::input_hint(
                ctx,
                "no positive sample (class 1) in `y_true`: recall is undefined",
                "evaluate on data holding positive samples",
            ))
        }
    }
}

/// Merges two ascending key runs from their ends, one call per distinct key.
fn walk<T: Item>(pos: &[T], neg: &[T], mut f: impl FnMut(f64, f64, f64)) {
    let (mut i, mut j) = (pos.len(), neg.len());
    while i > 0 || j > 0 {
        let k = match (i, j) {
            (0, _) => neg[j - 1].key(),
            (_, 0) => pos[i - 1].key(),
            _ => pos[i - 1].key().max(neg[j - 1].key()),
        };
        let (mut wp, mut wn) = (0.0, 0.0);
        while i > 0 && pos[i - 1].key() == k {
            wp += pos[i - 1].weight();
            i -= 1;
        }
        while j > 0 && neg[j - 1].key() == k {
            wn += neg[j - 1].weight();
            j -= 1;
        }
        f(unkey(k), wp, wn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_keep_order() {
        let xs = [-1e300, -2.5, -0.0, 0.0, 1e-300, 3.0, f64::MAX];
        for w in xs.windows(2) {
            assert!(key(w[0]) <= key(w[1]));
        }
        assert_eq!(key(-0.0), key(0.0));
        for x in xs {
            assert_eq!(unkey(key(x)), x + 0.0);
        }
    }

    #[test]
    fn auc_counts_ties_half() {
        assert_eq!(
            roc_auc(&[0, 1, 0, 1], &[0.5, 0.5, 0.2, 0.9], None).unwrap(),
            0.875
        );
    }

    #[test]
    fn one_class_names_it() {
        let e = roc_auc(&[1, 1], &[0.1, 0.2], None).unwrap_err();
        assert!(e.to_string().contains("only class 1 is present"), "{e}");
    }
}
