//! The metric registry: every metric that scikit-learn has a scorer for, by its natural name
//! (`log_loss`, `rmse`) and by scikit-learn's scorer name (`neg_log_loss`,
//! `neg_root_mean_squared_error`), with the direction of improvement, the task, what it needs
//! from a prediction, and a way to compute it on a [`Target`] and a [`Prediction`].
//!
//! [`standard`] gives the metrics computed after training (the first is the default selection
//! metric) and [`evaluate`] computes them.
//!
//! **Class matching.** A target's class codes are matched to the prediction's classes by
//! label; a class the model never saw gets a code of its own (so it counts as a miss for label
//! metrics, and makes probability metrics undefined). In a binary task the positive class is
//! the model's code 1, the second of the sorted labels, as in scikit-learn.

use smelt_core::{Prediction, Proba, Target};

use super::classification::{
    Average, accuracy, balanced_accuracy, f1, matthews_corrcoef, precision, recall, top_k_accuracy,
};
use super::clustering::{adjusted_mutual_info, adjusted_rand};
use super::probabilistic::{brier, log_loss};
use super::ranking::{average_precision, roc_auc, roc_auc_ovo, roc_auc_ovr};
use super::regression::{
    explained_variance, mae, mape, max_error, mean_gamma_deviance, mean_poisson_deviance,
    median_ae, mse, r2, rmse,
};
use crate::error::{EvalError, Result};

/// The kind of task a metric evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScorerTask {
    /// Class labels or probabilities against class labels.
    Classification,
    /// Real values against real values.
    Regression,
    /// Cluster labels against reference classes.
    Clustering,
}

/// What a metric needs from a prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Needs {
    /// Predicted labels (class codes, or cluster labels).
    Labels,
    /// The positive class's probability of a binary classifier.
    Scores,
    /// The probabilities of every class.
    Proba,
    /// Predicted real values.
    Values,
}

type Weights<'a> = Option<&'a [f64]>;

/// How a scorer computes its value.
#[derive(Clone, Copy)]
enum Compute {
    Labels(fn(&[u32], &[u32], Weights) -> Result<f64>),
    Scores(fn(&[u32], &[f64], Weights) -> Result<f64>),
    Proba(fn(&[u32], &Proba, Weights) -> Result<f64>),
    Values(fn(&[f64], &[f64], Weights) -> Result<f64>),
    Clusters(fn(&[i64], &[i64]) -> Result<f64>),
}

/// A metric the registry knows.
#[derive(Clone, Copy)]
pub struct Scorer {
    /// The natural name (`log_loss`, `roc_auc`, `f1_macro`, `rmse`).
    pub name: &'static str,
    /// scikit-learn's scorer name (`neg_log_loss`, `roc_auc`, `f1_macro`,
    /// `neg_root_mean_squared_error`).
    pub sklearn: &'static str,
    /// Whether a greater value is better (false for losses and errors).
    pub greater_is_better: bool,
    /// The task the metric evaluates.
    pub task: ScorerTask,
    /// What it needs from a prediction.
    pub needs: Needs,
    /// One line on what it measures.
    pub doc: &'static str,
    compute: Compute,
}

impl std::fmt::Debug for Scorer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scorer")
            .field("name", &self.name)
            .field("sklearn", &self.sklearn)
            .field("greater_is_better", &self.greater_is_better)
            .field("task", &self.task)
            .field("needs", &self.needs)
            .finish_non_exhaustive()
    }
}

macro_rules! scorer {
    ($name:literal, $sk:literal, $greater:expr, $task:ident, $needs:ident, $compute:ident($f:expr), $doc:literal) => {
        Scorer {
            name: $name,
            sklearn: $sk,
            greater_is_better: $greater,
            task: ScorerTask::$task,
            needs: Needs::$needs,
            doc: $doc,
            compute: Compute::$compute($f),
        }
    };
}

const MACRO: Average = Average::Macro;
const MICRO: Average = Average::Micro;
const WEIGHTED: Average = Average::Weighted;
const BINARY: Average = Average::Binary { pos_label: 1 };

static SCORERS: &[Scorer] = &[
    // Classification, labels.
    scorer!(
        "accuracy",
        "accuracy",
        true,
        Classification,
        Labels,
        Labels(accuracy),
        "fraction of correct labels"
    ),
    scorer!(
        "balanced_accuracy",
        "balanced_accuracy",
        true,
        Classification,
        Labels,
        Labels(balanced_accuracy),
        "mean recall over the true classes"
    ),
    scorer!(
        "f1",
        "f1",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| f1(y, p, BINARY, w)),
        "F1 of the positive class (binary)"
    ),
    scorer!(
        "f1_macro",
        "f1_macro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| f1(y, p, MACRO, w)),
        "mean F1 over classes"
    ),
    scorer!(
        "f1_micro",
        "f1_micro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| f1(y, p, MICRO, w)),
        "F1 of the counts pooled over classes"
    ),
    scorer!(
        "f1_weighted",
        "f1_weighted",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| f1(y, p, WEIGHTED, w)),
        "F1 per class weighted by support"
    ),
    scorer!(
        "precision",
        "precision",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| precision(y, p, BINARY, w)),
        "precision of the positive class (binary)"
    ),
    scorer!(
        "precision_macro",
        "precision_macro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| precision(y, p, MACRO, w)),
        "mean precision over classes"
    ),
    scorer!(
        "precision_micro",
        "precision_micro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| precision(y, p, MICRO, w)),
        "precision of the pooled counts"
    ),
    scorer!(
        "precision_weighted",
        "precision_weighted",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| precision(y, p, WEIGHTED, w)),
        "precision per class weighted by support"
    ),
    scorer!(
        "recall",
        "recall",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| recall(y, p, BINARY, w)),
        "recall of the positive class (binary)"
    ),
    scorer!(
        "recall_macro",
        "recall_macro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| recall(y, p, MACRO, w)),
        "mean recall over classes"
    ),
    scorer!(
        "recall_micro",
        "recall_micro",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| recall(y, p, MICRO, w)),
        "recall of the pooled counts"
    ),
    scorer!(
        "recall_weighted",
        "recall_weighted",
        true,
        Classification,
        Labels,
        Labels(|y, p, w| recall(y, p, WEIGHTED, w)),
        "recall per class weighted by support"
    ),
    scorer!(
        "mcc",
        "matthews_corrcoef",
        true,
        Classification,
        Labels,
        Labels(matthews_corrcoef),
        "Matthews correlation coefficient"
    ),
    // Classification, scores and probabilities.
    scorer!(
        "roc_auc",
        "roc_auc",
        true,
        Classification,
        Scores,
        Scores(roc_auc),
        "area under the ROC curve (binary)"
    ),
    scorer!(
        "average_precision",
        "average_precision",
        true,
        Classification,
        Scores,
        Scores(average_precision),
        "average precision, the area under the precision-recall steps (binary)"
    ),
    scorer!(
        "roc_auc_ovr",
        "roc_auc_ovr",
        true,
        Classification,
        Proba,
        Proba(|y, p, w| roc_auc_ovr(y, p, MACRO, w)),
        "mean one-vs-rest ROC-AUC over classes"
    ),
    scorer!(
        "roc_auc_ovr_weighted",
        "roc_auc_ovr_weighted",
        true,
        Classification,
        Proba,
        Proba(|y, p, w| roc_auc_ovr(y, p, WEIGHTED, w)),
        "one-vs-rest ROC-AUC weighted by class support"
    ),
    scorer!(
        "roc_auc_ovo",
        "roc_auc_ovo",
        true,
        Classification,
        Proba,
        Proba(|y, p, _| roc_auc_ovo(y, p, MACRO)),
        "mean ROC-AUC over pairs of classes (Hand & Till; ignores sample weights)"
    ),
    scorer!(
        "roc_auc_ovo_weighted",
        "roc_auc_ovo_weighted",
        true,
        Classification,
        Proba,
        Proba(|y, p, _| roc_auc_ovo(y, p, WEIGHTED)),
        "pairwise ROC-AUC weighted by pair prevalence (ignores sample weights)"
    ),
    scorer!(
        "log_loss",
        "neg_log_loss",
        false,
        Classification,
        Proba,
        Proba(log_loss),
        "mean negative log-likelihood of the true classes"
    ),
    scorer!(
        "brier",
        "neg_brier_score",
        false,
        Classification,
        Proba,
        Proba(brier),
        "mean squared error of the class probabilities"
    ),
    scorer!(
        "top_k_accuracy",
        "top_k_accuracy",
        true,
        Classification,
        Proba,
        Proba(|y, p, w| top_k_accuracy(y, p, 2, w)),
        "fraction of true classes among the 2 most probable"
    ),
    // Regression.
    scorer!(
        "r2",
        "r2",
        true,
        Regression,
        Values,
        Values(r2),
        "coefficient of determination"
    ),
    scorer!(
        "rmse",
        "neg_root_mean_squared_error",
        false,
        Regression,
        Values,
        Values(rmse),
        "root mean squared error"
    ),
    scorer!(
        "mse",
        "neg_mean_squared_error",
        false,
        Regression,
        Values,
        Values(mse),
        "mean squared error"
    ),
    scorer!(
        "mae",
        "neg_mean_absolute_error",
        false,
        Regression,
        Values,
        Values(mae),
        "mean absolute error"
    ),
    scorer!(
        "median_ae",
        "neg_median_absolute_error",
        false,
        Regression,
        Values,
        Values(median_ae),
        "median absolute error"
    ),
    scorer!(
        "mape",
        "neg_mean_absolute_percentage_error",
        false,
        Regression,
        Values,
        Values(mape),
        "mean absolute percentage error (a fraction)"
    ),
    scorer!(
        "max_error",
        "neg_max_error",
        false,
        Regression,
        Values,
        Values(|y, p, _| max_error(y, p)),
        "largest absolute error (ignores sample weights)"
    ),
    scorer!(
        "explained_variance",
        "explained_variance",
        true,
        Regression,
        Values,
        Values(explained_variance),
        "explained variance score"
    ),
    scorer!(
        "poisson_deviance",
        "neg_mean_poisson_deviance",
        false,
        Regression,
        Values,
        Values(mean_poisson_deviance),
        "mean Poisson deviance (y >= 0, predictions > 0)"
    ),
    scorer!(
        "gamma_deviance",
        "neg_mean_gamma_deviance",
        false,
        Regression,
        Values,
        Values(mean_gamma_deviance),
        "mean Gamma deviance (y > 0, predictions > 0)"
    ),
    // Clustering against reference classes.
    scorer!(
        "adjusted_rand",
        "adjusted_rand_score",
        true,
        Clustering,
        Labels,
        Clusters(adjusted_rand),
        "adjusted Rand index of clusters against classes"
    ),
    scorer!(
        "adjusted_mutual_info",
        "adjusted_mutual_info_score",
        true,
        Clustering,
        Labels,
        Clusters(adjusted_mutual_info),
        "adjusted mutual information of clusters against classes"
    ),
];

/// Every metric of the registry.
pub fn scorers() -> &'static [Scorer] {
    SCORERS
}

/// The metric of a natural name (`log_loss`) or a scikit-learn scorer name (`neg_log_loss`);
/// an [`EvalError::UnknownMetric`] with the closest name otherwise.
///
/// ```
/// use smelt_eval::metrics::find;
///
/// let s = find("neg_log_loss")?;
/// assert_eq!(s.name, "log_loss");
/// assert!(!s.greater_is_better);
/// assert_eq!(s.signed(0.3), -0.3);
/// assert!(find("rmse")?.better(1.0, 2.0));
/// assert!(find("acuracy").is_err());
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
pub fn find(name: &str) -> Result<&'static Scorer> {
    if let Some(s) = SCORERS.iter().find(|s| s.name == name || s.sklearn == name) {
        return Ok(s);
    }
    let names: Vec<String> = SCORERS
        .iter()
        .flat_map(|s| [s.name.to_string(), s.sklearn.to_string()])
        .collect();
    Err(EvalError::UnknownMetric {
        name: name.to_string(),
        suggestion: smelt_core::text::closest(name, &names).map(str::to_string),
    })
}

/// The standard metrics of a task, the first being the default selection metric:
///
/// * binary classification (`n_classes <= 2`): accuracy, balanced_accuracy, roc_auc,
///   log_loss, f1, precision, recall, brier;
/// * multiclass: accuracy, balanced_accuracy, f1_macro, roc_auc_ovr, log_loss;
/// * regression: r2, rmse, mae, median_ae (MAPE is left out: it explodes on targets at or
///   near zero, which are common; ask for it by name);
/// * clustering: none (the clustering metrics need reference classes).
pub fn standard(task: ScorerTask, n_classes: usize) -> &'static [&'static str] {
    match task {
        ScorerTask::Classification if n_classes <= 2 => &[
            "accuracy",
            "balanced_accuracy",
            "roc_auc",
            "log_loss",
            "f1",
            "precision",
            "recall",
            "brier",
        ],
        ScorerTask::Classification => &[
            "accuracy",
            "balanced_accuracy",
            "f1_macro",
            "roc_auc_ovr",
            "log_loss",
        ],
        ScorerTask::Regression => &["r2", "rmse", "mae", "median_ae"],
        ScorerTask::Clustering => &[],
    }
}

/// The [`standard`] metrics of a prediction against a target, in order, as (natural name,
/// value). Probability metrics are left out when the model has no probabilities, and a metric
/// that is undefined on this input (ROC-AUC on a one-class validation set, a probability
/// metric when the target holds a class the model never saw) is left out rather than failing
/// the whole evaluation. Errors: a prediction of another task than the target, different
/// lengths, non-finite predictions, bad sample weights.
pub fn evaluate(
    target: &Target,
    pred: &Prediction,
    sample_weight: Option<&[f64]>,
) -> Result<Vec<(&'static str, f64)>> {
    let task = task_of(pred)?;
    let matches = matches!(
        (target, task),
        (Target::Regression { .. }, ScorerTask::Regression)
            | (
                Target::Classification { .. },
                ScorerTask::Classification | ScorerTask::Clustering
            )
    );
    if !matches {
        return Err(EvalError::input_hint(
            "evaluate",
            format!("the prediction is of a {task:?} model but the target is not"),
            "evaluate a model against a target of its own task",
        ));
    }
    let mut out = Vec::new();
    for name in standard(task, n_classes_of(pred)) {
        let s = find(name)?;
        let has_proba = matches!(pred, Prediction::Classification { proba: Some(_), .. });
        if matches!(s.needs, Needs::Scores | Needs::Proba) && !has_proba {
            continue;
        }
        match s.score(target, pred, sample_weight) {
            Ok(v) => out.push((s.name, v)),
            Err(EvalError::Input { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

impl Scorer {
    /// The metric's natural value (a loss is positive) for a prediction against a target.
    pub fn score(
        &self,
        target: &Target,
        pred: &Prediction,
        sample_weight: Option<&[f64]>,
    ) -> Result<f64> {
        let ctx = self.name;
        match (target, pred, self.compute) {
            (
                Target::Regression { values },
                Prediction::Regression { values: p },
                Compute::Values(f),
            ) => f(values, p, sample_weight),
            (
                Target::Classification { codes, classes },
                Prediction::Classification {
                    labels,
                    classes: pc,
                    proba,
                },
                c,
            ) => {
                let (y, unseen) = match_codes(codes, classes, pc);
                let proba = || {
                    let p = proba.as_ref().ok_or_else(|| {
                        EvalError::input_hint(
                            ctx,
                            "the model gives no class probabilities",
                            "choose a label metric (accuracy, f1)",
                        )
                    })?;
                    if let Some(label) = &unseen {
                        return Err(EvalError::input(
                            ctx,
                            format!(
                                "the target holds class `{label}`, which the model has no probability for"
                            ),
                        ));
                    }
                    Ok(p)
                };
                match c {
                    Compute::Labels(f) => f(&y, labels, sample_weight),
                    Compute::Proba(f) => f(&y, proba()?, sample_weight),
                    Compute::Scores(f) => {
                        let p = proba()?;
                        if p.n_classes != 2 {
                            return Err(EvalError::input_hint(
                                ctx,
                                format!(
                                    "the metric is binary but the model has {} classes",
                                    p.n_classes
                                ),
                                "use the one-vs-rest form (roc_auc_ovr) for more classes",
                            ));
                        }
                        let pos: Vec<f64> = p.values.iter().skip(1).step_by(2).copied().collect();
                        f(&y, &pos, sample_weight)
                    }
                    _ => Err(self.wrong_task()),
                }
            }
            (
                Target::Classification { codes, .. },
                Prediction::Clustering { labels },
                Compute::Clusters(f),
            ) => {
                let t: Vec<i64> = codes.iter().map(|&c| i64::from(c)).collect();
                f(&t, labels)
            }
            _ => Err(self.wrong_task()),
        }
    }

    /// Whether `a` is a better value than `b`.
    pub fn better(&self, a: f64, b: f64) -> bool {
        if self.greater_is_better { a > b } else { a < b }
    }

    /// The value in scikit-learn's convention, where greater is always better: negated for
    /// losses and errors (`neg_log_loss`).
    pub fn signed(&self, v: f64) -> f64 {
        if self.greater_is_better { v } else { -v }
    }

    fn wrong_task(&self) -> EvalError {
        let what = match self.task {
            ScorerTask::Classification => "a classifier's prediction and a class target",
            ScorerTask::Regression => "a regressor's prediction and a numeric target",
            ScorerTask::Clustering => "cluster labels and a class target",
        };
        EvalError::input_hint(
            self.name,
            format!("this metric needs {what}"),
            format!(
                "choose a metric of the model's task; `{}` is for {:?}",
                self.name, self.task
            ),
        )
    }
}

/// The target's class codes in the prediction's coding (matched by label); a class the model
/// does not know gets a code past the model's, and its label is returned.
fn match_codes(codes: &[u32], classes: &[String], model: &[String]) -> (Vec<u32>, Option<String>) {
    let mut unseen = None;
    let map: Vec<u32> = classes
        .iter()
        .enumerate()
        .map(|(k, c)| match model.iter().position(|m| m == c) {
            Some(j) => j as u32,
            None => (model.len() + k) as u32,
        })
        .collect();
    let y = codes
        .iter()
        .map(|&c| {
            let m = map.get(c as usize).copied().unwrap_or(u32::MAX);
            if m as usize >= model.len() && unseen.is_none() {
                unseen = Some(
                    classes
                        .get(c as usize)
                        .cloned()
                        .unwrap_or_else(|| c.to_string()),
                );
            }
            m
        })
        .collect();
    (y, unseen)
}

/// The task of a prediction; embeddings have none (no metric scores a vector against a
/// target).
pub(crate) fn task_of(pred: &Prediction) -> Result<ScorerTask> {
    match pred {
        Prediction::Regression { .. } => Ok(ScorerTask::Regression),
        Prediction::Classification { .. } => Ok(ScorerTask::Classification),
        Prediction::Clustering { .. } => Ok(ScorerTask::Clustering),
        Prediction::Embedding { .. } => Err(EvalError::input_hint(
            "evaluate",
            "the model predicts embeddings (a vector per row), which no metric scores against a target",
            "use the vectors as features of a model (`smelt embed`, then `smelt train` on the emb_ columns) and evaluate that model",
        )),
    }
}

/// The number of classes of a classifier's prediction (0 otherwise).
pub(crate) fn n_classes_of(pred: &Prediction) -> usize {
    match pred {
        Prediction::Classification { classes, .. } => classes.len(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique() {
        let mut all: Vec<&str> = SCORERS.iter().flat_map(|s| [s.name, s.sklearn]).collect();
        all.sort_unstable();
        let n = all.len();
        all.dedup();
        // a natural name may equal its own sklearn name, never another scorer's
        for s in SCORERS {
            let hits = SCORERS
                .iter()
                .filter(|t| t.name == s.name || t.sklearn == s.name)
                .count();
            assert_eq!(hits, 1, "{}", s.name);
        }
        assert!(all.len() <= n);
    }

    #[test]
    fn standard_names_exist() {
        for task in [ScorerTask::Classification, ScorerTask::Regression] {
            for k in [2, 3] {
                for name in standard(task, k) {
                    assert_eq!(find(name).unwrap().task, task);
                }
            }
        }
    }

    #[test]
    fn unknown_metric_suggests() {
        match find("neg_log_los") {
            Err(EvalError::UnknownMetric { suggestion, .. }) => {
                assert_eq!(suggestion.as_deref(), Some("neg_log_loss"));
            }
            other => panic!("{other:?}"),
        }
    }
}
