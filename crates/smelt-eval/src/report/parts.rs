//! What the model report's sections share: its input, the parts computed once for every section,
//! metric names and tables, and plots that turn into a note when their input is degenerate.
//! (`model.rs` assembles the report; `classify.rs` and `regress.rs` write the task's sections.)

use serde_json::Value;
use smelt_core::{Prediction, Target};

use super::{Block, Cell, Section, Table};
use crate::error::Result;
use crate::importance::PermutationImportance;
use crate::metrics::registry::find;
use crate::plot::Plot;
use crate::slices::{Error, SliceReport};

/// What [`model_report`](super::model_report) reports on: plain data the caller has computed (the prediction of a
/// saved model on a labelled table, and optionally slices, errors and importances).
#[derive(Debug, Clone)]
pub struct ModelReportInput<'a> {
    /// The page title.
    pub title: String,
    /// The model's name or kind (`logistic_regression`, a file name), shown under the title.
    pub model: Option<String>,
    /// What the model was evaluated on (`adult_test.csv`, "the validation split").
    pub data: Option<String>,
    /// The target column's name.
    pub target_name: Option<String>,
    /// The true values or classes.
    pub target: &'a Target,
    /// The model's prediction for the same rows (class probabilities make the ranking and
    /// calibration sections).
    pub pred: &'a Prediction,
    /// Metrics by slice ([`crate::slices::slice_metrics`]).
    pub slices: Option<&'a SliceReport>,
    /// The most confident errors ([`crate::slices::confident_errors`]).
    pub errors: Option<&'a [Error]>,
    /// Permutation importance ([`crate::importance::permutation_importance`]).
    pub importance: Option<&'a [PermutationImportance]>,
    /// The model's own importance ([`smelt_core::Predictor::feature_importances`]), shown
    /// beside the permutation importance.
    pub own_importance: Option<&'a [(String, f64)]>,
    /// Remarks shown in a last section.
    pub notes: Vec<String>,
    /// More facts for the header (a date, a run id): label–value pairs.
    pub meta: Vec<(String, String)>,
}

impl<'a> ModelReportInput<'a> {
    /// An input with a title, the target and the prediction, and nothing else.
    pub fn new(title: impl Into<String>, target: &'a Target, pred: &'a Prediction) -> Self {
        ModelReportInput {
            title: title.into(),
            model: None,
            data: None,
            target_name: None,
            target,
            pred,
            slices: None,
            errors: None,
            importance: None,
            own_importance: None,
            notes: Vec::new(),
            meta: Vec::new(),
        }
    }
}

/// What the task-specific parts hand back: sections, summary sentences, the headline metrics
/// (for the slices' sentence) and every metric by name for the JSON twin.
pub(super) struct Parts {
    /// Sections, Summary first.
    pub sections: Vec<Section>,
    /// Plain sentences.
    pub summary: Vec<String>,
    /// Every metric computed, by registry name, in order.
    pub metrics: Vec<(String, f64)>,
    /// `classification` or `regression`.
    pub task: &'static str,
    /// The task and the data's shape in a few words, the page's subtitle.
    pub description: String,
    /// The name of the score permutation importance drops (`accuracy`, `R²`).
    pub importance_score: &'static str,
}

/// A metric's name for people (`roc_auc` → `ROC-AUC`).
pub(super) fn metric_label(name: &str) -> String {
    match name {
        "accuracy" => "Accuracy",
        "balanced_accuracy" => "Balanced accuracy",
        "roc_auc" => "ROC-AUC",
        "average_precision" => "Average precision",
        "log_loss" => "Log loss",
        "brier" => "Brier score",
        "f1" => "F1",
        "precision" => "Precision",
        "recall" => "Recall",
        "mcc" => "Matthews correlation",
        "f1_macro" => "F1 (macro)",
        "f1_weighted" => "F1 (weighted)",
        "precision_macro" => "Precision (macro)",
        "recall_macro" => "Recall (macro)",
        "roc_auc_ovr" => "ROC-AUC (one-vs-rest)",
        "roc_auc_ovr_weighted" => "ROC-AUC (OvR, weighted)",
        "roc_auc_ovo" => "ROC-AUC (one-vs-one)",
        "top_k_accuracy" => "Top-2 accuracy",
        "ece" => "Calibration error (ECE)",
        "top_label_ece" => "Calibration error (top-label ECE)",
        "r2" => "R²",
        "rmse" => "RMSE",
        "mse" => "MSE",
        "mae" => "MAE",
        "median_ae" => "Median absolute error",
        "mape" => "MAPE",
        "max_error" => "Max error",
        "explained_variance" => "Explained variance",
        other => return other.to_string(),
    }
    .to_string()
}

/// A metric's label inside a sentence: `Accuracy` → `accuracy`, `ROC-AUC` stays.
pub(super) fn in_sentence(label: &str) -> String {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(a), Some(b)) if a.is_uppercase() && !b.is_uppercase() && b.is_alphabetic() => {
            a.to_lowercase().chain(label.chars().skip(1)).collect()
        }
        _ => label.to_string(),
    }
}

/// Whether a greater value of a metric is better (registry metrics, and the calibration
/// errors, which are not).
pub(super) fn greater_is_better(name: &str) -> bool {
    find(name).is_ok_and(|s| s.greater_is_better)
}

/// The Metrics section's table: name, value, direction, meaning.
pub(super) fn metrics_table(metrics: &[(String, f64)], docs: &[(&str, &str)]) -> Table {
    let mut t = Table::new(["Metric", "Value", "Better", "What it measures"]);
    for (name, v) in metrics {
        let doc = docs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, d)| d.to_string())
            .or_else(|| find(name).ok().map(|s| s.doc.to_string()))
            .unwrap_or_default();
        t.push_row(vec![
            Cell::text(metric_label(name)),
            Cell::number(*v),
            Cell::text(if greater_is_better(name) {
                "higher"
            } else {
                "lower"
            }),
            Cell::text(doc),
        ]);
    }
    t
}

/// A plot block, or a note saying why the plot is left out.
pub(super) fn plot_or_note(
    notes: &mut Vec<String>,
    what: &str,
    plot: Result<Plot>,
    caption: Option<String>,
    data: Value,
) -> Option<Block> {
    match plot {
        Ok(plot) => Some(Block::Plot {
            plot,
            caption,
            data,
        }),
        Err(e) => {
            notes.push(format!("The {what} is left out: {e}."));
            None
        }
    }
}
