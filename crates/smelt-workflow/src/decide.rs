//! The final fit of `train`, with what turns probabilities into decisions: calibration
//! (Platt or isotonic, cross-fitted) and a decision threshold tuned for a metric or a cost on
//! out-of-fold probabilities of the training rows — both saved inside the model, so
//! `smelt predict` and serving apply them.

use smelt_core::{CoreError, Dataset, FitPredictor, Predictor, Target};
use smelt_eval::calibrate::threshold::{Objective, Thresholded, positive_proba, tune_threshold};
use smelt_eval::calibrate::{CalibratedParams, Method};
use smelt_eval::cv::{CvOptions, cross_validate};
use smelt_eval::split::{SplitInput, Splitter, StratifiedKFold};

use crate::error::{Error, Result};

/// What the final fit of [`train`](crate::train()) chose besides the model.
#[derive(Clone, Debug, Default)]
pub struct Decisions {
    /// The calibration method, when calibrated.
    pub calibration: Option<Method>,
    /// The tuned threshold, its objective and the objective's out-of-fold value.
    pub threshold: Option<(f64, String, f64)>,
}

/// Fits `estimator` on `train`, calibrated and/or with a tuned threshold when asked.
pub(crate) fn fit_final(
    estimator: Box<dyn FitPredictor>,
    train: &Dataset<f64>,
    calibrate: Option<Method>,
    threshold: Option<Objective>,
    seed: u64,
) -> Result<(Box<dyn Predictor>, Decisions)> {
    let mut decisions = Decisions::default();
    let needs_classes = |what: &str| -> Result<&[u32]> {
        match train.target() {
            Some(Target::Classification { codes, .. }) => Ok(codes),
            _ => Err(Error::Model(CoreError::BadParam {
                estimator: what.into(),
                message: format!("{what} needs a classification target"),
                suggestion: None,
            })),
        }
    };
    let estimator: Box<dyn FitPredictor> = match calibrate {
        Some(method) => {
            let codes = needs_classes("calibration")?;
            let mut counts = std::collections::BTreeMap::new();
            for &c in codes {
                *counts.entry(c).or_insert(0usize) += 1;
            }
            let smallest = counts.values().copied().min().unwrap_or(0);
            let folds = smallest.min(5);
            if folds < 2 {
                return Err(Error::Model(CoreError::BadParam {
                    estimator: "calibration".into(),
                    message: format!(
                        "a class has {smallest} training row(s); calibration needs at least 2 per class"
                    ),
                    suggestion: Some("train without --calibrate, or with more data".into()),
                }));
            }
            decisions.calibration = Some(method);
            Box::new(CalibratedParams {
                estimator,
                method,
                folds,
                ensemble: true,
            })
        }
        None => estimator,
    };
    let model = estimator.fit_predictor(train, None)?;
    let Some(objective) = threshold else {
        return Ok((model, decisions));
    };
    let codes = needs_classes("threshold tuning")?;
    let Some(target @ Target::Classification { classes, .. }) = train.target() else {
        return Ok((model, decisions));
    };
    if classes.len() != 2 {
        return Err(Error::Model(CoreError::BadParam {
            estimator: "threshold tuning".into(),
            message: format!(
                "a decision threshold needs two classes, the target has {}",
                classes.len()
            ),
            suggestion: Some("thresholds apply to binary classifiers".into()),
        }));
    }
    // Out-of-fold probabilities of the training rows: honest, and the validation rows stay
    // untouched for the metrics.
    let folds = StratifiedKFold::new(5)?
        .with_shuffle(seed)
        .split(&SplitInput::new(train.n_rows()).with_classes(codes))?;
    let accuracy = smelt_eval::metrics::find("accuracy")?;
    let cv = cross_validate(
        estimator.as_ref(),
        train,
        &folds,
        &[accuracy],
        None,
        &CvOptions::default(),
    )?;
    let Some(oof) = cv.oof else {
        return Err(Error::Eval(smelt_eval::EvalError::input(
            "threshold tuning",
            "no out-of-fold probabilities",
        )));
    };
    let p = positive_proba(&oof, classes)?;
    let choice = tune_threshold(target, &p, None, objective)?;
    let wrapped = Thresholded::new(model, choice.threshold, choice.objective.clone())?;
    decisions.threshold = Some((choice.threshold, choice.objective, choice.value));
    Ok((Box::new(wrapped), decisions))
}
