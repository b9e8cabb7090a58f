//! Decision thresholds for binary classifiers (scikit-learn's `TunedThresholdClassifierCV`):
//! choose the probability above which a row is called positive to maximise a metric or to
//! minimise a cost, and keep that threshold with the model so `smelt predict` applies it.

use serde::Serialize;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Output, Prediction, Predictor,
    Registry, Result as CoreResult, Target,
};

use super::aligned_proba;
use crate::error::{EvalError, Result, check_finite, check_lengths};
use crate::metrics::registry::Scorer;

/// What a threshold is chosen for.
#[derive(Clone, Copy, Debug)]
pub enum Objective {
    /// Maximise (or minimise) a label metric of the registry (`f1`, `balanced_accuracy`).
    Metric(&'static Scorer),
    /// Minimise the total cost of errors: each false negative costs `false_negative`, each
    /// false positive `false_positive` (weighted by sample weights).
    Cost {
        /// Cost of missing a positive.
        false_negative: f64,
        /// Cost of a false alarm.
        false_positive: f64,
    },
}

impl Objective {
    /// The objective in words (`f1`, `cost (FN 5, FP 1)`).
    pub fn describe(&self) -> String {
        match self {
            Objective::Metric(s) => s.name.to_string(),
            Objective::Cost {
                false_negative,
                false_positive,
            } => format!("cost (FN {false_negative}, FP {false_positive})"),
        }
    }
}

/// The chosen threshold and the objective along the candidates.
#[derive(Clone, Debug, Serialize)]
pub struct ThresholdChoice {
    /// Rows with a positive-class probability at or above it are called positive.
    pub threshold: f64,
    /// The objective's value at the threshold.
    pub value: f64,
    /// The objective, in words.
    pub objective: String,
    /// Whether greater values of the objective are better.
    pub greater_is_better: bool,
    /// `(threshold, value)` at each candidate.
    pub curve: Vec<(f64, f64)>,
}

/// Chooses the threshold on the positive-class probabilities `p` of a binary `target`
/// (positive = class code 1) among 100 evenly spaced candidates between the smallest and
/// largest probability, as scikit-learn does; ties go to the candidate closest to 0.5.
pub fn tune_threshold(
    target: &Target,
    p: &[f64],
    sample_weight: Option<&[f64]>,
    objective: Objective,
) -> Result<ThresholdChoice> {
    let ctx = "threshold tuning";
    let Target::Classification { codes, classes } = target else {
        return Err(EvalError::input(ctx, "needs a classification target"));
    };
    if classes.len() != 2 {
        return Err(EvalError::input_hint(
            ctx,
            format!("needs two classes, the target has {}", classes.len()),
            "decision thresholds apply to binary classifiers",
        ));
    }
    check_lengths(ctx, ("y_true", codes.len()), ("y_score", p.len()))?;
    crate::error::check_not_empty(ctx, "y_true", codes.len())?;
    check_finite(ctx, "y_score", p)?;
    let (lo, hi) = p
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let n_cand = 100;
    let candidates: Vec<f64> = (0..n_cand)
        .map(|i| lo + (hi - lo) * i as f64 / (n_cand - 1) as f64)
        .collect();
    let wt = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
    let greater_is_better = match objective {
        Objective::Metric(s) => s.greater_is_better,
        Objective::Cost { .. } => false,
    };
    let mut curve = Vec::with_capacity(n_cand);
    for &t in &candidates {
        let labels: Vec<u32> = p.iter().map(|&v| u32::from(v >= t)).collect();
        let value = match objective {
            Objective::Metric(s) => s.score(
                target,
                &Prediction::Classification {
                    labels,
                    classes: classes.clone(),
                    proba: None,
                },
                sample_weight,
            )?,
            Objective::Cost {
                false_negative,
                false_positive,
            } => (0..codes.len())
                .map(|i| match (codes[i], labels[i]) {
                    (1, 0) => false_negative * wt(i),
                    (0, 1) => false_positive * wt(i),
                    _ => 0.0,
                })
                .sum(),
        };
        curve.push((t, value));
    }
    let better = |a: (f64, f64), b: (f64, f64)| {
        let (va, vb) = if greater_is_better {
            (a.1, b.1)
        } else {
            (-a.1, -b.1)
        };
        va > vb || (va == vb && (a.0 - 0.5).abs() < (b.0 - 0.5).abs())
    };
    let best = curve
        .iter()
        .copied()
        .filter(|c| c.1.is_finite())
        .reduce(|a, b| if better(b, a) { b } else { a })
        .ok_or_else(|| EvalError::input(ctx, "the objective is undefined at every threshold"))?;
    Ok(ThresholdChoice {
        threshold: best.0,
        value: best.1,
        objective: objective.describe(),
        greater_is_better,
        curve,
    })
}

/// A binary classifier with a tuned decision threshold: probabilities as the inner model
/// gives them, labels by the threshold.
#[derive(Debug)]
pub struct Thresholded {
    inner: Box<dyn Predictor>,
    threshold: f64,
    objective: String,
}

impl Thresholded {
    /// The model-file kind.
    pub const KIND: &'static str = "thresholded";

    /// Wraps a binary classifier with probabilities.
    pub fn new(inner: Box<dyn Predictor>, threshold: f64, objective: String) -> CoreResult<Self> {
        match inner.output() {
            Output::Classification {
                classes,
                has_proba: true,
            } if classes.len() == 2 => Ok(Thresholded {
                inner,
                threshold,
                objective,
            }),
            _ => Err(CoreError::BadParam {
                estimator: "Thresholded".into(),
                message: "a decision threshold needs a binary classifier with probabilities".into(),
                suggestion: None,
            }),
        }
    }

    /// The threshold.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// What it was tuned for.
    pub fn objective(&self) -> &str {
        &self.objective
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, registry: &Registry) -> CoreResult<Box<dyn Predictor>> {
        let inner = registry.load_predictor(&r.child("model")?)?;
        let threshold: f64 = r.get("threshold")?;
        if !(0.0..=1.0).contains(&threshold) {
            return Err(r.invalid(format!("threshold {threshold} is outside [0, 1]")));
        }
        let objective: String = r.get("objective")?;
        Ok(Box::new(Thresholded::new(inner, threshold, objective)?))
    }
}

impl Predictor for Thresholded {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        self.inner.input_features()
    }

    fn output(&self) -> Output {
        self.inner.output()
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        self.inner.feature_importances()
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        self.inner.training_history()
    }

    fn predict(&self, data: &Dataset<f64>) -> CoreResult<Prediction> {
        let pred = self.inner.predict(data)?;
        let Prediction::Classification { classes, proba, .. } = pred else {
            return Err(CoreError::Numerical {
                estimator: "Thresholded",
                message: "the inner model stopped predicting classes".into(),
            });
        };
        let Some(proba) = proba else {
            return Err(CoreError::Numerical {
                estimator: "Thresholded",
                message: "the inner model gave no probabilities".into(),
            });
        };
        let labels = (0..proba.n_rows())
            .map(|i| u32::from(proba.row(i)[1] >= self.threshold))
            .collect();
        Ok(Prediction::Classification {
            labels,
            classes,
            proba: Some(proba),
        })
    }

    fn save(&self, w: &mut ArtifactWriter) -> CoreResult<()> {
        w.put("threshold", &self.threshold)?;
        w.put("objective", &self.objective)?;
        w.predictor("model", self.inner.as_ref())
    }
}

/// The positive-class probabilities of a binary prediction (aligned by label to `classes`).
pub fn positive_proba(pred: &Prediction, classes: &[String]) -> CoreResult<Vec<f64>> {
    let mut cols = aligned_proba(pred, classes, "threshold tuning")?;
    Ok(cols.swap_remove(1))
}
