//! Metrics: scikit-learn's `sklearn.metrics`.

use smelt_core::{CoreError, Prediction, Result, Target};

/// Coefficient of determination R² (scikit-learn's `r2_score`). A constant target gives 1 when
/// predicted exactly and 0 otherwise, as scikit-learn does.
pub fn r2(y: &[f64], pred: &[f64]) -> f64 {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum();
    if ss_tot == 0.0 {
        return if ss_res == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - ss_res / ss_tot
}

/// Root mean squared error.
pub fn rmse(y: &[f64], pred: &[f64]) -> f64 {
    (y.iter()
        .zip(pred)
        .map(|(a, b)| (a - b).powi(2))
        .sum::<f64>()
        / y.len() as f64)
        .sqrt()
}

/// Mean absolute error.
pub fn mae(y: &[f64], pred: &[f64]) -> f64 {
    y.iter().zip(pred).map(|(a, b)| (a - b).abs()).sum::<f64>() / y.len() as f64
}

/// Fraction of correct labels.
pub fn accuracy(y: &[u32], pred: &[u32]) -> f64 {
    y.iter().zip(pred).filter(|(a, b)| a == b).count() as f64 / y.len() as f64
}

/// Mean negative log-likelihood of the true classes; probabilities clipped to
/// `[1e-15, 1 − 1e-15]` like scikit-learn's `log_loss`.
pub fn log_loss(y: &[u32], proba: &smelt_core::Proba) -> f64 {
    let eps = 1e-15;
    y.iter()
        .enumerate()
        .map(|(i, &c)| -proba.row(i)[c as usize].clamp(eps, 1.0 - eps).ln())
        .sum::<f64>()
        / y.len() as f64
}

/// Area under the ROC curve of scores for the positive class (`y` is 1 for positives), with
/// tied scores counted half (scikit-learn's `roc_auc_score`); NaN when one class is absent.
pub fn roc_auc(y: &[u32], score: &[f64]) -> f64 {
    let mut idx: Vec<usize> = (0..y.len()).collect();
    idx.sort_unstable_by(|&a, &b| score[a].total_cmp(&score[b]));
    // Mann-Whitney U: the sum of the positives' (average) ranks.
    let (mut rank_sum, mut n_pos) = (0.0, 0.0);
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &r in &idx[i..=j] {
            if y[r] == 1 {
                rank_sum += avg;
                n_pos += 1.0;
            }
        }
        i = j + 1;
    }
    let n_neg = y.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return f64::NAN;
    }
    (rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg)
}

/// Named metrics of a prediction against a target: `r2`, `rmse`, `mae` for regression;
/// `accuracy` (+ `log_loss` with probabilities) for classification. Class codes of the
/// prediction are matched to the target's by label.
pub fn evaluate(target: &Target, pred: &Prediction) -> Result<Vec<(&'static str, f64)>> {
    match (target, pred) {
        (Target::Regression { values }, Prediction::Regression { values: p }) => Ok(vec![
            ("r2", r2(values, p)),
            ("rmse", rmse(values, p)),
            ("mae", mae(values, p)),
        ]),
        (
            Target::Classification { codes, classes },
            Prediction::Classification {
                labels,
                classes: pc,
                proba,
            },
        ) => {
            // Map the target's codes to the model's class codes (unseen class → no match).
            let map: Vec<Option<u32>> = classes
                .iter()
                .map(|c| pc.iter().position(|m| m == c).map(|k| k as u32))
                .collect();
            let y: Vec<u32> = codes
                .iter()
                .map(|&c| map[c as usize].unwrap_or(u32::MAX))
                .collect();
            let mut out = vec![("accuracy", accuracy(&y, labels))];
            if let Some(p) = proba
                && y.iter().all(|&c| c != u32::MAX)
            {
                out.push(("log_loss", log_loss(&y, p)));
            }
            Ok(out)
        }
        _ => Err(CoreError::Numerical {
            estimator: "evaluate",
            message: "the prediction's task does not match the target's".into(),
        }),
    }
}

/// scikit-learn's `score`: R² for regressors, accuracy for classifiers.
pub fn score(model: &dyn smelt_core::Predictor, data: &smelt_core::Dataset<f64>) -> Result<f64> {
    let target = data
        .target()
        .ok_or(CoreError::NoTarget { estimator: "score" })?;
    let pred = model.predict(data)?;
    let m = evaluate(target, &pred)?;
    Ok(m[0].1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_counts_ties_half() {
        // scikit-learn: roc_auc_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
        assert_eq!(roc_auc(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]), 0.75);
        assert_eq!(roc_auc(&[0, 1], &[0.5, 0.5]), 0.5);
        assert!(roc_auc(&[1, 1], &[0.5, 0.2]).is_nan());
    }

    #[test]
    fn regression_metrics() {
        let y = [1.0, 2.0, 3.0];
        assert_eq!(r2(&y, &y), 1.0);
        assert!((r2(&y, &[2.0, 2.0, 2.0])).abs() < 1e-15);
        assert!((rmse(&y, &[1.0, 2.0, 5.0]) - (4.0f64 / 3.0).sqrt()).abs() < 1e-15);
        assert!((mae(&y, &[1.0, 2.0, 5.0]) - 2.0 / 3.0).abs() < 1e-15);
    }

    #[test]
    fn classification_metrics() {
        assert_eq!(accuracy(&[0, 1, 1, 0], &[0, 1, 0, 0]), 0.75);
        let p = smelt_core::Proba {
            n_classes: 2,
            values: vec![0.9, 0.1, 0.2, 0.8],
        };
        let ll = log_loss(&[0, 1], &p);
        assert!((ll - (-(0.9f64.ln()) - 0.8f64.ln()) / 2.0).abs() < 1e-15);
    }
}
