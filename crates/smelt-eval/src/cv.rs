//! Cross-validation: fit and score an estimator on each fold (scikit-learn's
//! `cross_validate` and `cross_val_predict` in one call).
//!
//! The unit fitted in each fold is the whole estimator — give it a pipeline and the
//! preprocessing (imputer means, scaler statistics, encoder categories) is fitted on that
//! fold's training rows only, so no fold sees another's statistics.
//!
//! Folds run in parallel on rayon's pool, the same pool the estimators use for their own
//! threads (tree building, linear algebra): fold-level and estimator-level work share one
//! budget of threads instead of multiplying, and [`CvOptions::threads`] caps it.

use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;
use smelt_core::{Dataset, FitPredictor, Prediction, Predictor, Proba, Target};

use crate::error::{EvalError, Result};
use crate::metrics::registry::{Needs, Scorer};
use crate::split::Fold;

/// What [`cross_validate`] computes besides the test scores.
#[derive(Clone, Debug, Default)]
pub struct CvOptions {
    /// Also score each fold's training rows (`return_train_score`).
    pub train_scores: bool,
    /// Keep each fold's fitted model (`return_estimator`).
    pub keep_models: bool,
    /// Threads for the folds and the estimators together (`None`: rayon's pool as it is).
    pub threads: Option<usize>,
    /// Run the folds one after another (for estimators that are already parallel on large
    /// data, or to report progress fold by fold in order).
    pub sequential: bool,
}

/// The result of one fold.
#[derive(Debug)]
pub struct FoldResult {
    /// 0-based fold index.
    pub index: usize,
    /// Rows fitted on.
    pub train_rows: usize,
    /// Rows scored.
    pub test_rows: usize,
    /// Test score of each scorer, in the order asked (NaN for a metric that needs
    /// probabilities when the model gives none).
    pub test: Vec<f64>,
    /// Training score of each scorer (when asked).
    pub train: Vec<f64>,
    /// Seconds to fit.
    pub fit_seconds: f64,
    /// Seconds to predict and score.
    pub score_seconds: f64,
    /// The fitted model (when asked).
    pub model: Option<Box<dyn Predictor>>,
    /// Metrics undefined on this fold's test rows, and why (their score is NaN).
    pub undefined: Vec<String>,
}

/// The mean and spread of one metric over the folds.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    /// The metric's name.
    pub metric: String,
    /// Whether greater is better.
    pub greater_is_better: bool,
    /// Mean over the folds where the metric is defined (NaN where it is defined on none).
    pub mean: f64,
    /// Standard deviation over the same folds (population, as scikit-learn users compute it
    /// with `np.std`).
    pub std: f64,
    /// Each fold's value.
    pub folds: Vec<f64>,
}

/// Everything [`cross_validate`] measured.
#[derive(Debug)]
pub struct CvResult {
    /// Each fold, in order.
    pub folds: Vec<FoldResult>,
    /// Test scores per metric, in the order asked.
    pub test: Vec<Summary>,
    /// Training scores per metric (when asked).
    pub train: Vec<Summary>,
    /// Out-of-fold predictions (`cross_val_predict`): for every row that is in exactly one
    /// test fold, the prediction of the model that did not see it. `None` when rows are
    /// tested more than once (repeated splits) or never (time series splits).
    pub oof: Option<Prediction>,
}

impl CvResult {
    /// What was undefined where: `fold 2: roc_auc is undefined: ...`.
    pub fn notes(&self) -> Vec<String> {
        self.folds
            .iter()
            .flat_map(|f| {
                f.undefined
                    .iter()
                    .map(move |u| format!("fold {}: {u}", f.index))
            })
            .collect()
    }

    /// The test summary of `metric`.
    pub fn metric(&self, metric: &str) -> Option<&Summary> {
        self.test.iter().find(|s| s.metric == metric)
    }

    /// Mean fit seconds per fold.
    pub fn mean_fit_seconds(&self) -> f64 {
        self.folds.iter().map(|f| f.fit_seconds).sum::<f64>() / self.folds.len().max(1) as f64
    }
}

/// Fits `estimator` on each fold's training rows of `data` and scores its test rows with every
/// scorer (see the module docs). `sample_weight` weighs both the fit and the scores.
///
/// Errors name the fold: a fold whose training rows hold a single class, a metric undefined
/// on a fold's test rows, a fit that failed.
pub fn cross_validate(
    estimator: &dyn FitPredictor,
    data: &Dataset<f64>,
    folds: &[Fold],
    scorers: &[&'static Scorer],
    sample_weight: Option<&[f64]>,
    opts: &CvOptions,
) -> Result<CvResult> {
    let target = data.target().ok_or_else(|| {
        EvalError::input_hint(
            "cross-validation",
            "the data has no target column",
            "name the target (`--target COLUMN`)",
        )
    })?;
    if folds.is_empty() {
        return Err(EvalError::input("cross-validation", "there are no folds"));
    }
    if scorers.is_empty() {
        return Err(EvalError::input("cross-validation", "no metric to score"));
    }
    if let Some(w) = sample_weight {
        crate::error::check_lengths(
            "cross-validation",
            ("data", data.n_rows()),
            ("sample_weight", w.len()),
        )?;
    }
    for (k, f) in folds.iter().enumerate() {
        if let Some(&i) = f.train.iter().chain(&f.test).find(|&&i| i >= data.n_rows()) {
            return Err(EvalError::input(
                "cross-validation",
                format!(
                    "fold {k} names row {i}, but the data has {} rows",
                    data.n_rows()
                ),
            ));
        }
        check_fold_classes(k, f, target)?;
    }
    let run = |(k, fold): (usize, &Fold)| {
        run_fold(estimator, data, k, fold, scorers, sample_weight, opts)
    };
    let results: Vec<Result<(FoldResult, Prediction)>> = match (opts.threads, opts.sequential) {
        (_, true) => folds.iter().enumerate().map(run).collect(),
        (Some(t), false) => {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(t.max(1))
                .build()
                .map_err(|e| {
                    EvalError::input("cross-validation", format!("cannot start {t} threads: {e}"))
                })?;
            pool.install(|| folds.par_iter().enumerate().map(run).collect())
        }
        (None, false) => folds.par_iter().enumerate().map(run).collect(),
    };
    let mut fold_results = Vec::with_capacity(folds.len());
    let mut preds = Vec::with_capacity(folds.len());
    for r in results {
        let (f, p) = r?;
        fold_results.push(f);
        preds.push(p);
    }
    let summarise = |pick: fn(&FoldResult) -> &Vec<f64>| -> Vec<Summary> {
        if fold_results.iter().any(|f| pick(f).is_empty()) {
            return Vec::new();
        }
        scorers
            .iter()
            .enumerate()
            .map(|(j, s)| {
                let v: Vec<f64> = fold_results.iter().map(|f| pick(f)[j]).collect();
                let (mean, std) = mean_std(&v);
                Summary {
                    metric: s.name.to_string(),
                    greater_is_better: s.greater_is_better,
                    mean,
                    std,
                    folds: v,
                }
            })
            .collect()
    };
    let test = summarise(|f| &f.test);
    let train = summarise(|f| &f.train);
    let oof = out_of_fold(data.n_rows(), folds, &preds, target);
    Ok(CvResult {
        folds: fold_results,
        test,
        train,
        oof,
    })
}

/// Mean and population standard deviation of the finite values (NaN when there is none).
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if finite.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = finite.len() as f64;
    let mean = finite.iter().sum::<f64>() / n;
    let var = finite.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

fn check_fold_classes(k: usize, fold: &Fold, target: &Target) -> Result<()> {
    let Target::Classification { codes, classes } = target else {
        return Ok(());
    };
    let Some(&first) = fold.train.first().map(|&i| &codes[i]) else {
        return Err(EvalError::input(
            "cross-validation",
            format!("fold {k} has no training rows"),
        ));
    };
    if fold.train.iter().all(|&i| codes[i] == first) {
        let label = classes.get(first as usize).map_or("?", String::as_str);
        return Err(EvalError::input_hint(
            "cross-validation",
            format!("the training rows of fold {k} hold a single class, `{label}`"),
            "use stratified folds (they keep every class in every fold), or fewer folds",
        ));
    }
    if fold.test.is_empty() {
        return Err(EvalError::input(
            "cross-validation",
            format!("fold {k} has no test rows"),
        ));
    }
    Ok(())
}

fn run_fold(
    estimator: &dyn FitPredictor,
    data: &Dataset<f64>,
    k: usize,
    fold: &Fold,
    scorers: &[&'static Scorer],
    sample_weight: Option<&[f64]>,
    opts: &CvOptions,
) -> Result<(FoldResult, Prediction)> {
    let in_fold = |e: EvalError| fold_error(k, e);
    let train = data.select_rows(&fold.train).map_err(EvalError::from)?;
    let test = data.select_rows(&fold.test).map_err(EvalError::from)?;
    let take =
        |rows: &[usize]| sample_weight.map(|w| rows.iter().map(|&i| w[i]).collect::<Vec<_>>());
    let (w_train, w_test) = (take(&fold.train), take(&fold.test));
    let started = Instant::now();
    let model = estimator
        .fit_predictor(&train, w_train.as_deref())
        .map_err(|e| in_fold(e.into()))?;
    let fit_seconds = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let pred = model.predict(&test).map_err(|e| in_fold(e.into()))?;
    let test_target = test
        .target()
        .ok_or_else(|| EvalError::input("cross-validation", "no target"))?;
    let mut undefined = Vec::new();
    let scores = scorers
        .iter()
        .map(|s| score_or_nan(s, test_target, &pred, w_test.as_deref(), &mut undefined))
        .collect::<Result<Vec<f64>>>()
        .map_err(in_fold)?;
    let score_seconds = started.elapsed().as_secs_f64();
    let train_scores = if opts.train_scores {
        let p = model.predict(&train).map_err(|e| in_fold(e.into()))?;
        let t = train
            .target()
            .ok_or_else(|| EvalError::input("cross-validation", "no target"))?;
        scorers
            .iter()
            .map(|s| score_or_nan(s, t, &p, w_train.as_deref(), &mut Vec::new()))
            .collect::<Result<Vec<f64>>>()
            .map_err(in_fold)?
    } else {
        Vec::new()
    };
    Ok((
        FoldResult {
            index: k,
            train_rows: fold.train.len(),
            test_rows: fold.test.len(),
            test: scores,
            train: train_scores,
            fit_seconds,
            score_seconds,
            model: opts.keep_models.then_some(model),
            undefined,
        },
        pred,
    ))
}

/// The scorer's value, or NaN when it needs probabilities the model does not give (a
/// classifier without `predict_proba`): callers drop such metrics instead of failing.
///
/// A metric undefined on the fold's rows (ROC-AUC where a test fold holds one class, as time
/// series folds can) is NaN too, with the reason in `undefined`: the other metrics and folds
/// still count.
fn score_or_nan(
    s: &Scorer,
    target: &Target,
    pred: &Prediction,
    w: Option<&[f64]>,
    undefined: &mut Vec<String>,
) -> Result<f64> {
    let no_proba = matches!(pred, Prediction::Classification { proba: None, .. });
    if no_proba && matches!(s.needs, Needs::Proba | Needs::Scores) {
        return Ok(f64::NAN);
    }
    match s.score(target, pred, w) {
        Err(EvalError::Input { message, .. }) => {
            undefined.push(format!("{} is undefined: {message}", s.name));
            Ok(f64::NAN)
        }
        other => other,
    }
}

/// Prefixes an error's context with the fold it happened in.
fn fold_error(k: usize, e: EvalError) -> EvalError {
    match e {
        EvalError::Input {
            context,
            message,
            hint,
        } => EvalError::Input {
            context: format!("fold {k}: {context}"),
            message,
            hint,
        },
        EvalError::Model(m) => EvalError::Input {
            context: format!("fold {k}"),
            hint: m.hint(),
            message: m.to_string(),
        },
        other => other,
    }
}

/// Assembles the folds' test predictions into one prediction per row, when every row is
/// tested exactly once. Class probabilities are aligned to the target's classes by label
/// (a fold's model may not know a class its training rows lacked).
fn out_of_fold(
    n: usize,
    folds: &[Fold],
    preds: &[Prediction],
    target: &Target,
) -> Option<Prediction> {
    let mut seen = vec![0u8; n];
    for f in folds {
        for &i in &f.test {
            seen[i] = seen[i].saturating_add(1);
        }
    }
    if seen.iter().any(|&s| s != 1) {
        return None;
    }
    match target {
        Target::Regression { .. } => {
            let mut values = vec![f64::NAN; n];
            for (f, p) in folds.iter().zip(preds) {
                let Prediction::Regression { values: v } = p else {
                    return None;
                };
                for (&i, &x) in f.test.iter().zip(v) {
                    values[i] = x;
                }
            }
            Some(Prediction::Regression { values })
        }
        Target::Classification { classes, .. } => {
            let k = classes.len();
            let mut labels = vec![0u32; n];
            let mut proba = Some(vec![0.0; n * k]);
            for (f, p) in folds.iter().zip(preds) {
                let Prediction::Classification {
                    labels: l,
                    classes: pc,
                    proba: pp,
                } = p
                else {
                    return None;
                };
                let map: Vec<Option<usize>> = pc
                    .iter()
                    .map(|c| classes.iter().position(|t| t == c))
                    .collect();
                for (r, &i) in f.test.iter().enumerate() {
                    labels[i] = map[l[r] as usize].map_or(u32::MAX, |c| c as u32);
                }
                match (pp, proba.as_mut()) {
                    (Some(pp), Some(out)) => {
                        for (r, &i) in f.test.iter().enumerate() {
                            for (j, m) in map.iter().enumerate() {
                                if let Some(c) = m {
                                    out[i * k + c] = pp.row(r)[j];
                                }
                            }
                        }
                    }
                    _ => proba = None,
                }
            }
            if labels.contains(&u32::MAX) {
                return None;
            }
            Some(Prediction::Classification {
                labels,
                classes: classes.clone(),
                proba: proba.map(|values| Proba {
                    n_classes: k,
                    values,
                }),
            })
        }
    }
}
