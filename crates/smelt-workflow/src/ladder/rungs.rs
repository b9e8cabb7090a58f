//! The rungs of each task, the default metric that ranks them, and the pick of the best.

use serde_json::Value;
use smelt_core::Target;
use smelt_core::catalog::Task;
use smelt_eval::metrics::registry::Scorer;

use super::Rung;

/// One planned rung: catalogue name, label, fixed parameters, tuning space (in the grammar
/// of [`Space`]).
pub(super) type Plan = (
    &'static str,
    &'static str,
    Vec<(&'static str, Value)>,
    &'static [&'static str],
);

/// Gradient boosting's tuning space, the same for both tasks.
const BOOSTING_SPACE: &[&str] = &[
    "learning_rate=loguniform(0.02, 0.3)",
    "max_leaf_nodes=int(8, 96)",
    "min_samples_leaf=int(5, 100)",
    "l2_regularization=loguniform(1e-3, 10)",
];

/// The rungs of a task.
pub(super) fn rungs_of(task: Task) -> Vec<Plan> {
    match task {
        Task::Classification => vec![
            ("dummy_classifier", "dummy (class prior)", vec![], &[]),
            (
                "logistic_regression",
                "logistic regression",
                vec![("max_iter", Value::from(500))],
                &["C=loguniform(1e-3, 100)"],
            ),
            (
                "decision_tree_classifier",
                "decision tree",
                vec![("min_samples_leaf", Value::from(5))],
                &[],
            ),
            (
                "random_forest_classifier",
                "random forest",
                vec![("n_estimators", Value::from(100))],
                &[
                    "min_samples_leaf=int(1, 20)",
                    "max_features=choice(sqrt, 0.5)",
                ],
            ),
            (
                "hist_gradient_boosting_classifier",
                "gradient boosting",
                vec![],
                BOOSTING_SPACE,
            ),
        ],
        _ => vec![
            ("dummy_regressor", "dummy (mean)", vec![], &[]),
            (
                "ridge",
                "linear regression (ridge)",
                vec![],
                &["alpha=loguniform(1e-3, 100)"],
            ),
            (
                "decision_tree_regressor",
                "decision tree",
                vec![("min_samples_leaf", Value::from(5))],
                &[],
            ),
            (
                "random_forest_regressor",
                "random forest",
                vec![("n_estimators", Value::from(100))],
                &[
                    "min_samples_leaf=int(1, 20)",
                    "max_features=choice(1.0, 0.5, sqrt)",
                ],
            ),
            (
                "hist_gradient_boosting_regressor",
                "gradient boosting",
                vec![],
                BOOSTING_SPACE,
            ),
        ],
    }
}

/// The metric that ranks the rungs by default.
pub(super) fn default_primary(task: Task, target: &Target) -> &'static str {
    match (task, target) {
        (Task::Classification, Target::Classification { classes, .. }) if classes.len() <= 2 => {
            "roc_auc"
        }
        (Task::Classification, _) => "accuracy",
        _ => "r2",
    }
}

/// The best rung by the primary metric (ties to the simpler, earlier rung).
pub(super) fn best_rung(rungs: &[Rung], primary: &Scorer) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, r) in rungs.iter().enumerate() {
        let Some(m) = r.result.as_ref().and_then(|x| x.metric(primary.name)) else {
            continue;
        };
        if m.mean.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| primary.better(m.mean, b)) {
            best = Some((i, m.mean));
        }
    }
    best.map(|(i, _)| i)
}
