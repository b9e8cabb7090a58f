//! Learning curves (score against the number of training rows) and validation curves (score
//! against one parameter), each cross-validated — scikit-learn's `learning_curve` and
//! `validation_curve`.

use serde::Serialize;
use serde_json::Value;
use smelt_core::{Dataset, FitPredictor};

use crate::cv::{CvOptions, cross_validate};
use crate::error::{EvalError, Result};
use crate::metrics::registry::Scorer;
use crate::split::Fold;

/// One point of a curve: the training and validation scores over the folds.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    /// The x value: a row count (learning curve) or a parameter value (validation curve).
    pub x: Value,
    /// Mean training score.
    pub train_mean: f64,
    /// Standard deviation of the training score.
    pub train_std: f64,
    /// Mean validation score.
    pub valid_mean: f64,
    /// Standard deviation of the validation score.
    pub valid_std: f64,
}

/// A learning or validation curve.
#[derive(Clone, Debug, Serialize)]
pub struct Curve {
    /// The metric.
    pub metric: String,
    /// Whether greater is better.
    pub greater_is_better: bool,
    /// What x is (`training rows`, or the parameter's name).
    pub x_label: String,
    /// The points, in order of x.
    pub points: Vec<CurvePoint>,
}

/// Scores `estimator` trained on growing parts of each fold's training rows: for each
/// fraction in `fractions` (in `(0, 1]`), the first `fraction × n` training rows of each fold
/// (scikit-learn's `learning_curve` without shuffling; give shuffled folds for a random
/// subset).
pub fn learning_curve(
    estimator: &dyn FitPredictor,
    data: &Dataset<f64>,
    folds: &[Fold],
    scorer: &'static Scorer,
    fractions: &[f64],
    opts: &CvOptions,
) -> Result<Curve> {
    if let Some(f) = fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
        return Err(EvalError::input_hint(
            "learning curve",
            format!("training fraction {f} is outside (0, 1]"),
            "give fractions such as 0.1, 0.325, 0.55, 0.775, 1",
        ));
    }
    let min_train = folds.iter().map(|f| f.train.len()).min().unwrap_or(0);
    let mut points = Vec::with_capacity(fractions.len());
    for &frac in fractions {
        let n = ((frac * min_train as f64).round() as usize).max(2);
        let sub: Vec<Fold> = folds.iter().map(|f| f.with_train_rows(n)).collect();
        let opts = CvOptions {
            train_scores: true,
            keep_models: false,
            ..opts.clone()
        };
        let r = cross_validate(estimator, data, &sub, &[scorer], None, &opts)?;
        points.push(point(Value::from(n), &r));
    }
    Ok(Curve {
        metric: scorer.name.to_string(),
        greater_is_better: scorer.greater_is_better,
        x_label: "training rows".into(),
        points,
    })
}

/// Scores the estimator `build(value)` for each value of one parameter.
pub fn validation_curve(
    build: &dyn Fn(&Value) -> Result<Box<dyn FitPredictor>>,
    param: &str,
    values: &[Value],
    data: &Dataset<f64>,
    folds: &[Fold],
    scorer: &'static Scorer,
    opts: &CvOptions,
) -> Result<Curve> {
    if values.is_empty() {
        return Err(EvalError::input(
            "validation curve",
            format!("no value of `{param}` to try"),
        ));
    }
    let mut points = Vec::with_capacity(values.len());
    for v in values {
        let estimator = build(v)?;
        let opts = CvOptions {
            train_scores: true,
            keep_models: false,
            ..opts.clone()
        };
        let r = cross_validate(estimator.as_ref(), data, folds, &[scorer], None, &opts)?;
        points.push(point(v.clone(), &r));
    }
    Ok(Curve {
        metric: scorer.name.to_string(),
        greater_is_better: scorer.greater_is_better,
        x_label: param.to_string(),
        points,
    })
}

fn point(x: Value, r: &crate::cv::CvResult) -> CurvePoint {
    let (train_mean, train_std) = r
        .train
        .first()
        .map_or((f64::NAN, f64::NAN), |s| (s.mean, s.std));
    let (valid_mean, valid_std) = r
        .test
        .first()
        .map_or((f64::NAN, f64::NAN), |s| (s.mean, s.std));
    CurvePoint {
        x,
        train_mean,
        train_std,
        valid_mean,
        valid_std,
    }
}
