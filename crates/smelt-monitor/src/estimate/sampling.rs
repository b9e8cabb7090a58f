//! Sampling errors (NannyML's `nannyml.sampling_error`): how much a metric would vary between
//! chunks of `n` rows from sampling alone, from the spread of per-row contributions on the
//! reference. For most metrics `se = std / √(n · fraction)`, where `std` is the standard
//! deviation of the reference's per-row contributions and `fraction` the share of rows that
//! contribute (positives for recall, predicted positives for precision, ...).

use serde::{Deserialize, Serialize};

use super::metrics::{BinaryMetric, RegressionMetric};

/// What a metric's sampling error is computed from (fitted on the reference).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Components {
    /// Standard deviation (population) of the per-row contributions.
    pub std: f64,
    /// Share of the rows that contribute (1 for accuracy and the regression metrics); for the
    /// root metrics (RMSE, RMSLE), the mean squared (log) error instead.
    pub fraction: f64,
    /// Whether this is a root metric (RMSE, RMSLE): `se = √(std² / (4 n · mean))`.
    pub root: bool,
}

impl Components {
    /// The sampling error of a chunk of `n` rows.
    pub fn sampling_error(&self, n: usize) -> f64 {
        let n = n as f64;
        if self.root {
            (self.std * self.std / (4.0 * n * self.fraction)).sqrt()
        } else {
            self.std / (n * self.fraction).sqrt()
        }
    }
}

/// How a metric's sampling error is computed from the chunk size.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SamplingModel {
    /// One set of components (binary and regression metrics, multiclass accuracy).
    Single(Components),
    /// A macro-averaged multiclass metric (NannyML's `_standard_deviation_of_variances`):
    /// `scale · √(Σ_c se_c²) / k` over the k classes' one-vs-rest components.
    Macro {
        /// One-vs-rest components of each class.
        classes: Vec<Components>,
        /// 1, or 1.2 for ROC AUC (NannyML's factor).
        scale: f64,
    },
}

impl SamplingModel {
    /// The sampling error of a chunk of `n` rows.
    pub fn sampling_error(&self, n: usize) -> f64 {
        match self {
            SamplingModel::Single(c) => c.sampling_error(n),
            SamplingModel::Macro { classes, scale } => {
                let sum: f64 = classes.iter().map(|c| c.sampling_error(n).powi(2)).sum();
                scale * sum.sqrt() / classes.len() as f64
            }
        }
    }
}

impl From<Components> for SamplingModel {
    fn from(c: Components) -> Self {
        SamplingModel::Single(c)
    }
}

fn std(values: &[f64]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Components of a binary metric from reference labels and predictions (`score` is the
/// probability for ROC AUC, the predicted class otherwise), rows with both present.
pub fn binary_components(metric: BinaryMetric, y_true: &[f64], score: &[f64]) -> Components {
    let n = y_true.len();
    let plain = |std, fraction| Components {
        std,
        fraction,
        root: false,
    };
    if n == 0 {
        return plain(f64::NAN, 0.0);
    }
    let count =
        |f: &dyn Fn(f64, f64) -> bool| y_true.iter().zip(score).filter(|&(&t, &p)| f(t, p)).count();
    let tp = count(&|t, p| t == p && p == 1.0);
    let tn = count(&|t, p| t == p && p == 0.0);
    let fp = count(&|t, p| t != p && p == 1.0);
    let fn_ = count(&|t, p| t != p && p == 0.0);
    // The std of `ones` ones and `zeros` zeros (times `scale`), as the concatenations NannyML
    // builds: NaN when empty.
    let binary_std = |ones: usize, zeros: usize| {
        let m = (ones + zeros) as f64;
        let p = ones as f64 / m;
        (p * (1.0 - p)).sqrt()
    };
    match metric {
        BinaryMetric::RocAuc => auroc_components(y_true, score),
        BinaryMetric::F1 => {
            let m = tp + fp + fn_;
            if m == 0 {
                return plain(f64::NAN, 0.0);
            }
            // Per-row F1 contributions: TP rows 1, FN and FP rows 0, times
            // len / (0.5 (FN + FP) + TP).
            let factor = m as f64 / ((fn_ + fp) as f64 * 0.5 + tp as f64);
            plain(binary_std(tp, fn_ + fp) * factor, m as f64 / n as f64)
        }
        BinaryMetric::Precision => {
            let predicted = score.iter().filter(|&&p| p == 1.0).count();
            plain(binary_std(tp, fp), predicted as f64 / n as f64)
        }
        BinaryMetric::Recall => {
            let positives = y_true.iter().filter(|&&t| t == 1.0).count();
            plain(binary_std(tp, fn_), positives as f64 / n as f64)
        }
        BinaryMetric::Specificity => plain(binary_std(tn, fp), (tn + fp) as f64 / n as f64),
        BinaryMetric::Accuracy => plain(binary_std(tp + tn, fp + fn_), 1.0),
    }
}

/// NannyML's `auroc_sampling_error_components`: with the minority class as positive (labels
/// and scores flipped when positives are the majority), rows sorted by score, each positive's
/// count of negatives ranked below it, over the number of negatives; the std of those, and
/// the positives' share. As NannyML, a positive ranked first is left out. NannyML sorts with
/// numpy's unstable quicksort, so the order within tied scores (and with it this std, by a few
/// parts in 10⁴ on scores rounded to 2 decimals) can differ; here ties keep row order.
fn auroc_components(y_true: &[f64], proba: &[f64]) -> Components {
    let n = y_true.len();
    let mean = y_true.iter().sum::<f64>() / n as f64;
    let flip = mean > 0.5;
    let (t, p): (Vec<f64>, Vec<f64>) = y_true
        .iter()
        .zip(proba)
        .map(|(&t, &p)| if flip { (1.0 - t, 1.0 - p) } else { (t, p) })
        .unzip();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    // Ranks of positives (distinct by construction), rank 0 dropped as `np.unique(..)[1:]`
    // drops it.
    let ranks: Vec<usize> = order
        .iter()
        .enumerate()
        .filter(|&(rank, &i)| t[i] == 1.0 && rank > 0)
        .map(|(rank, _)| rank)
        .collect();
    let n_pos = t.iter().filter(|&&v| v == 1.0).count();
    let n_neg = (n - n_pos) as f64;
    let ser: Vec<f64> = ranks
        .iter()
        .enumerate()
        .map(|(i, &r)| (r - i) as f64 / n_neg)
        .collect();
    Components {
        std: std(&ser),
        fraction: n_pos as f64 / n as f64,
        root: false,
    }
}

/// Components of a multiclass metric from reference class codes (`0..k`): one-vs-rest per
/// class as NannyML's `nannyml.sampling_error.multiclass_classification` — unlike the binary
/// F1, no correcting factor — and the plain accuracy. `score` is the predicted class code, or
/// for ROC AUC unused (`proba`, one column per class, is read instead).
pub fn multiclass_components(
    metric: BinaryMetric,
    y_true: &[u32],
    y_pred: &[u32],
    proba: &[Vec<f64>],
) -> SamplingModel {
    let n = y_true.len();
    let k = proba.len();
    if metric == BinaryMetric::Accuracy {
        let correct = y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count();
        let p = correct as f64 / n as f64;
        return SamplingModel::Single(Components {
            std: (p * (1.0 - p)).sqrt(),
            fraction: 1.0,
            root: false,
        });
    }
    let classes = (0..k)
        .map(|c| {
            let c = c as u32;
            if metric == BinaryMetric::RocAuc {
                let t: Vec<f64> = y_true
                    .iter()
                    .map(|&v| f64::from(u8::from(v == c)))
                    .collect();
                return auroc_components(&t, &proba[c as usize]);
            }
            let (mut tp, mut fp, mut fn_, mut tn) = (0usize, 0usize, 0usize, 0usize);
            for (&t, &p) in y_true.iter().zip(y_pred) {
                match (t == c, p == c) {
                    (true, true) => tp += 1,
                    (false, true) => fp += 1,
                    (true, false) => fn_ += 1,
                    (false, false) => tn += 1,
                }
            }
            let share = |ones: usize, zeros: usize| {
                let m = (ones + zeros) as f64;
                let p = ones as f64 / m;
                (p * (1.0 - p)).sqrt()
            };
            let (std, relevant) = match metric {
                BinaryMetric::F1 => (share(tp, fn_ + fp), tp + fn_ + fp),
                BinaryMetric::Precision => (share(tp, fp), tp + fp),
                BinaryMetric::Recall => (share(tp, fn_), tp + fn_),
                _ => (share(tn, fp), tn + fp),
            };
            Components {
                std,
                fraction: relevant as f64 / n as f64,
                root: false,
            }
        })
        .collect();
    SamplingModel::Macro {
        classes,
        scale: if metric == BinaryMetric::RocAuc {
            1.2
        } else {
            1.0
        },
    }
}

/// Components of a regression metric from reference targets and predictions.
pub fn regression_components(
    metric: RegressionMetric,
    y_true: &[f64],
    y_pred: &[f64],
) -> Components {
    let rows = y_true.iter().zip(y_pred);
    let contributions: Vec<f64> = match metric {
        RegressionMetric::Mae => rows.map(|(&t, &p)| (t - p).abs()).collect(),
        // NannyML divides by the target itself here (no ε), unlike the metric.
        RegressionMetric::Mape => rows.map(|(&t, &p)| (t - p).abs() / t).collect(),
        RegressionMetric::Mse | RegressionMetric::Rmse => {
            rows.map(|(&t, &p)| (t - p).powi(2)).collect()
        }
        RegressionMetric::Msle | RegressionMetric::Rmsle => rows
            .map(|(&t, &p)| ((1.0 + t).ln() - (1.0 + p).ln()).powi(2))
            .collect(),
    };
    let root = matches!(metric, RegressionMetric::Rmse | RegressionMetric::Rmsle);
    let fraction = if root {
        contributions.iter().sum::<f64>() / contributions.len() as f64
    } else {
        1.0
    };
    Components {
        std: std(&contributions),
        fraction,
        root,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_sampling_error_is_binomial() {
        let y_true = [1.0, 0.0, 1.0, 0.0];
        let y_pred = [1.0, 0.0, 0.0, 0.0];
        let c = binary_components(BinaryMetric::Accuracy, &y_true, &y_pred);
        assert!((c.std - (0.75f64 * 0.25).sqrt()).abs() < 1e-12);
        assert!((c.sampling_error(100) - c.std / 10.0).abs() < 1e-12);
    }

    #[test]
    fn empty_reference_gives_nan() {
        let c = binary_components(BinaryMetric::F1, &[], &[]);
        assert!(c.sampling_error(10).is_nan());
    }

    #[test]
    fn rmse_components() {
        let c = regression_components(RegressionMetric::Rmse, &[0.0, 0.0], &[1.0, 3.0]);
        // Squared errors 1 and 9: std 4, mean 5.
        assert!((c.std - 4.0).abs() < 1e-12);
        assert!((c.sampling_error(10) - (16.0f64 / 200.0).sqrt()).abs() < 1e-12);
    }
}
