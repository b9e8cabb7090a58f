//! Learning curves (score against the number of training rows) and validation curves (score
//! against one parameter's value) of a catalogue model by name, cross-validated on the same
//! folds as [`crate::select::cross_validate`], with their plots — scikit-learn's
//! `learning_curve` and `validation_curve` over Smelt's pipelines.

use serde_json::Value;
use smelt_core::catalog::ModelInfo;
use smelt_data::Loaded;
use smelt_eval::curves::Curve;
use smelt_eval::cv::CvOptions;
use smelt_eval::plot::{ParamValues, Plot, Scores};

use crate::catalog::{Params, model_for, with_preprocessing};
use crate::error::Result;
use crate::folds::{CvSpec, Folds, make_folds, shuffled_training_rows};
use crate::select::{emit, prepare_scored};
use crate::train::{Event, TrainOptions};

/// The training-set fractions of a learning curve when none are given (scikit-learn's
/// `np.linspace(0.1, 1.0, 5)`).
pub const DEFAULT_FRACTIONS: [f64; 5] = [0.1, 0.325, 0.55, 0.775, 1.0];

/// A cross-validated curve of a catalogue model, with its plot.
#[derive(Debug)]
pub struct Curved {
    /// The catalogue entry.
    pub info: &'static ModelInfo,
    /// The folds and how they were chosen.
    pub folds: Folds,
    /// The curve: one point per training size or parameter value.
    pub curve: Curve,
    /// The curve drawn (train and validation, mean ± one standard deviation).
    pub plot: Plot,
    /// Rows cross-validated.
    pub rows: usize,
}

/// The learning curve of the catalogue model `name` with `params`: cross-validated scores
/// for models trained on `fractions` of each fold's training rows (a seeded random subset,
/// the oldest rows kept for time-ordered folds); `metric` or the task's first standard one.
pub fn learning_curve(
    data: &Loaded,
    name: &str,
    params: Params,
    spec: &CvSpec,
    metric: Option<&str>,
    fractions: &[f64],
    opts: &TrainOptions<'_>,
) -> Result<Curved> {
    let info = model_for(name, data)?;
    let estimator = with_preprocessing(info, info.build(params.as_map().clone())?, opts.preprocess);
    let (p, scorer) = prepare_scored(data, info, opts, metric)?;
    let folds = make_folds(&p, info.task, spec)?;
    for w in &folds.warnings {
        emit(opts, Event::Warning(w));
    }
    // The first rows of each fold's training part are taken: a random subset of it.
    let shuffled = shuffled_training_rows(&folds, spec.seed);
    let curve = smelt_eval::curves::learning_curve(
        &estimator,
        &p.data,
        &shuffled,
        scorer,
        fractions,
        &CvOptions::default(),
    )?;
    let xs: Vec<f64> = curve
        .points
        .iter()
        .map(|pt| pt.x.as_f64().unwrap_or(f64::NAN))
        .collect();
    let (train, valid) = columns(&curve);
    let plot = smelt_eval::plot::learning_curve(
        &xs,
        Scores::new(&train.0, &train.1),
        Scores::new(&valid.0, &valid.1),
        &curve.metric,
    )?;
    Ok(Curved {
        info,
        rows: p.data.n_rows(),
        folds,
        curve,
        plot,
    })
}

/// The validation curve of the catalogue model `name`: cross-validated scores with the
/// parameter `param` set to each of `values` (the other parameters as in `params`). Numeric
/// values spanning more than a factor of 20, all positive, are drawn on a log axis.
#[allow(
    clippy::too_many_arguments,
    reason = "the model, its parameters, the swept one and its values, folds, metric, options"
)]
pub fn validation_curve(
    data: &Loaded,
    name: &str,
    params: Params,
    param: &str,
    values: &[Value],
    spec: &CvSpec,
    metric: Option<&str>,
    opts: &TrainOptions<'_>,
) -> Result<Curved> {
    let info = model_for(name, data)?;
    // The parameter must be the model's (a typo should not cost the whole sweep), and every
    // value valid for it.
    let known: Vec<String> = info.params().iter().map(|p| p.name.to_string()).collect();
    if !known.iter().any(|k| k == param) {
        let mut probe = params.as_map().clone();
        probe.insert(
            param.to_string(),
            values.first().cloned().unwrap_or(Value::Null),
        );
        info.build(probe)?;
    }
    for v in values {
        let mut m = params.as_map().clone();
        m.insert(param.to_string(), v.clone());
        info.build(m)?;
    }
    let (p, scorer) = prepare_scored(data, info, opts, metric)?;
    let folds = make_folds(&p, info.task, spec)?;
    for w in &folds.warnings {
        emit(opts, Event::Warning(w));
    }
    let preprocess = opts.preprocess;
    let build = |v: &Value| -> smelt_eval::Result<Box<dyn smelt_core::FitPredictor>> {
        let mut m = params.as_map().clone();
        m.insert(param.to_string(), v.clone());
        let est = info
            .build(m)
            .map_err(|e| smelt_eval::EvalError::input("validation curve", e.to_string()))?;
        Ok(Box::new(with_preprocessing(info, est, preprocess)))
    };
    let curve = smelt_eval::curves::validation_curve(
        &build,
        param,
        values,
        &p.data,
        &folds.folds,
        scorer,
        &CvOptions::default(),
    )?;
    let (train, valid) = columns(&curve);
    let numbers: Option<Vec<f64>> = values.iter().map(Value::as_f64).collect();
    let labels: Vec<String> = values
        .iter()
        .map(|v| match v {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    let axis = match &numbers {
        Some(n) if n.iter().all(|x| *x > 0.0) && spans_decades(n) => ParamValues::Log(n),
        Some(n) => ParamValues::Linear(n),
        None => ParamValues::Categorical(&labels),
    };
    let plot = smelt_eval::plot::validation_curve(
        param,
        axis,
        Scores::new(&train.0, &train.1),
        Scores::new(&valid.0, &valid.1),
        &curve.metric,
    )?;
    Ok(Curved {
        info,
        rows: p.data.n_rows(),
        folds,
        curve,
        plot,
    })
}

/// Means and standard deviations of the training and validation scores, point by point.
type Band = (Vec<f64>, Vec<f64>);

fn columns(curve: &Curve) -> (Band, Band) {
    let pts = &curve.points;
    (
        (
            pts.iter().map(|p| p.train_mean).collect(),
            pts.iter().map(|p| p.train_std).collect(),
        ),
        (
            pts.iter().map(|p| p.valid_mean).collect(),
            pts.iter().map(|p| p.valid_std).collect(),
        ),
    )
}

/// Whether positive values span more than a factor of 20 (a log axis reads them better).
fn spans_decades(v: &[f64]) -> bool {
    let (lo, hi) = v.iter().fold((f64::INFINITY, 0.0f64), |(lo, hi), x| {
        (lo.min(*x), hi.max(*x))
    });
    hi / lo > 20.0
}
