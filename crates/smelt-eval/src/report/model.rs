//! The model report: what `smelt eval` writes for a saved model on a labelled table.

use serde_json::{Map, Value, json};
use smelt_core::{Prediction, Target};

use super::classes::Data;
use super::classify;
use super::parts::{ModelReportInput, greater_is_better, in_sentence, metric_label, plot_or_note};
use super::regress;
use super::{Block, Cell, Report, Section, Table, fmt_count, fmt_number};
use crate::error::{EvalError, Result};
use crate::importance::PermutationImportance;
use crate::plot;
use crate::slices::{Error, SliceReport};

/// The most rows a table of the page shows (the JSON twin holds them all).
const MAX_TABLE_ROWS: usize = 50;
/// The most features the importance plot draws.
const MAX_PLOT_FEATURES: usize = 20;

/// The evaluation report of a model's prediction against the truth. Sections:
///
/// * **Summary**: headline metrics as cards, the data's shape; the page opens with two to four
///   sentences on what they mean (`ROC-AUC 0.912 on 6,513 rows; the model is over-confident
///   around 0.85 (ECE 0.043)`).
/// * **Metrics**: every standard metric of the task, with its direction and meaning.
/// * Classification: **Confusion matrix** (counts and normalised by true class), **ROC and
///   precision–recall** (one-vs-rest for the ten largest classes of a multiclass model),
///   **Calibration** (reliability diagram, expected calibration error, bins), **Score
///   distributions**, **Per-class scores**.
/// * Regression: **Residuals** (residuals against predicted, predicted against actual, error
///   quantiles).
/// * **Slices** (when given): one table per column, the whole table on top, slices worse than
///   the whole flagged, then the worst slices.
/// * **Most confident errors** and **Feature importance** (when given), **Notes**.
///
/// A plot whose input is degenerate (ROC with one class present) is replaced by a note; the
/// report fails only on inputs that cannot be reported at all: a target and a prediction of
/// different lengths or tasks, no rows, non-finite predictions.
pub fn model_report(input: &ModelReportInput<'_>) -> Result<Report> {
    let ctx = "model_report";
    let n = input.target.len();
    if n != input.pred.len() {
        return Err(EvalError::Length {
            context: ctx.into(),
            left: "target",
            left_len: n,
            right: "prediction",
            right_len: input.pred.len(),
        });
    }
    if n == 0 {
        return Err(EvalError::input_hint(
            ctx,
            "there are no rows to evaluate",
            "evaluate on a table with labelled rows",
        ));
    }
    let mut parts = match (input.target, input.pred) {
        (
            Target::Classification { codes, classes },
            Prediction::Classification {
                labels,
                classes: model_classes,
                proba,
            },
        ) => classify::parts(
            input,
            &Data::new(codes, classes, labels, model_classes, proba.as_ref())?,
        )?,
        (Target::Regression { values }, Prediction::Regression { values: pred }) => {
            regress::parts(input, values, pred)?
        }
        _ => {
            return Err(EvalError::input_hint(
                ctx,
                "the prediction's task does not match the target's",
                "evaluate a classifier on a class target and a regressor on a numeric one",
            ));
        }
    };

    if let Some(slices) = input.slices {
        let (section, sentence) = slices_section(slices);
        parts.sections.push(section);
        parts.summary.extend(sentence);
    }
    if let Some(errors) = input.errors {
        parts
            .sections
            .push(errors_section(errors, parts.task == "regression"));
    }
    if let Some(imp) = input.importance {
        let (mut section, sentence) = importance_section(imp, parts.importance_score);
        if let Some(own) = input.own_importance {
            section.blocks.extend(own_importance_blocks(own));
        }
        parts.sections.push(section);
        parts.summary.extend(sentence);
    }
    if !input.notes.is_empty() {
        parts.sections.push(Section::new(
            "Notes",
            vec![Block::Notes(input.notes.clone())],
        ));
    }
    parts.summary.truncate(4);

    let mut report = Report::new(input.title.clone());
    report.subtitle = Some(parts.description.clone());
    if let Some(m) = &input.model {
        report.meta.push(("Model".into(), m.clone()));
    }
    if let Some(d) = &input.data {
        report.meta.push(("Data".into(), d.clone()));
    }
    if let Some(t) = &input.target_name {
        report.meta.push(("Target".into(), t.clone()));
    }
    report.meta.extend(input.meta.iter().cloned());
    report.summary = parts.summary;
    report.sections = parts.sections;
    let metrics: Map<String, Value> = parts
        .metrics
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    report.data = json!({
        "task": parts.task,
        "rows": n,
        "metrics": metrics,
    });
    Ok(report)
}

/// The Slices section and a sentence on the worst slices.
fn slices_section(report: &SliceReport) -> (Section, Option<String>) {
    let mut blocks = Vec::new();
    let metrics: Vec<&str> = report.overall.iter().map(|(m, _)| m.as_str()).collect();
    blocks.push(Block::Paragraph(
        "Each metric on each slice of a column, with its bootstrap confidence interval. \
         A slice is flagged (red) when it is worse than the whole table beyond its interval."
            .into(),
    ));
    let mut tables = Vec::new();
    let mut columns: Vec<&str> = Vec::new();
    for s in &report.slices {
        if !columns.contains(&s.column.as_str()) {
            columns.push(&s.column);
        }
    }
    for column in &columns {
        let mut names = vec![column.to_string(), "Rows".into()];
        names.extend(metrics.iter().map(|m| metric_label(m)));
        let mut t = Table::new(names);
        let total: usize = report
            .slices
            .iter()
            .filter(|s| s.column == *column)
            .map(|s| s.rows)
            .sum();
        let mut overall = vec![Cell::text("All rows"), Cell::count(total)];
        overall.extend(report.overall.iter().map(|(_, v)| Cell::number(*v)));
        t.push_row(overall);
        t.highlighted.push(0);
        let mut small = false;
        for s in report.slices.iter().filter(|s| s.column == *column) {
            let mut row = vec![Cell::text(s.value.clone()), Cell::count(s.rows)];
            for m in &metrics {
                let cell = match s.metrics.iter().find(|x| x.metric == *m) {
                    Some(x) => match (x.value, x.low, x.high) {
                        (Some(v), Some(lo), Some(hi)) => Cell::number(v).with_interval(lo, hi),
                        (Some(v), _, _) => Cell::number(v),
                        (None, _, _) => Cell::text("n/a"),
                    },
                    None => {
                        small = true;
                        Cell::text("—")
                    }
                };
                row.push(cell);
            }
            if s.metrics.iter().any(|m| m.worse) {
                t.flagged.push(t.rows.len());
            }
            t.push_row(row);
        }
        if small {
            t.caption = Some("— : too few rows for metrics.".into());
        }
        tables.push(Block::Table(t));
    }
    if metrics.len() <= 2 && tables.len() > 1 {
        blocks.push(Block::Columns(tables));
    } else {
        blocks.append(&mut tables);
    }

    // Worst slices, metric by metric.
    let mut worst = Table::new([
        "Column",
        "Slice",
        "Rows",
        "Metric",
        "On the slice",
        "Overall",
    ]);
    let mut sentence_parts = Vec::new();
    for (metric, overall) in &report.overall {
        for s in report.worst(metric, greater_is_better(metric)) {
            let Some(m) = s.metrics.iter().find(|x| x.metric == *metric) else {
                continue;
            };
            let Some(v) = m.value else { continue };
            let mut cell = Cell::number(v);
            if let (Some(lo), Some(hi)) = (m.low, m.high) {
                cell = cell.with_interval(lo, hi);
            }
            if sentence_parts.len() < 2 {
                sentence_parts.push(format!(
                    "{} = {} ({} {} against {} overall)",
                    s.column,
                    s.value,
                    in_sentence(&metric_label(metric)),
                    fmt_number(v),
                    fmt_number(*overall)
                ));
            }
            worst.push_row(vec![
                Cell::text(s.column.clone()),
                Cell::text(s.value.clone()),
                Cell::count(s.rows),
                Cell::text(metric_label(metric)),
                cell,
                Cell::number(*overall),
            ]);
        }
    }
    let flagged = worst.rows.len();
    let mut distinct: Vec<(&str, &str)> = Vec::new();
    for row in &worst.rows {
        let key = (row[0].text.as_str(), row[1].text.as_str());
        if !distinct.contains(&key) {
            distinct.push(key);
        }
    }
    let sentence = if flagged == 0 {
        blocks.push(Block::Paragraph(
            "No slice is worse than the whole table beyond its confidence interval.".into(),
        ));
        Some("No slice scores worse than the whole table beyond its confidence interval.".into())
    } else {
        let k = distinct.len();
        let names = sentence_parts.join(" and ");
        let sentence = if k == 1 {
            format!("1 slice scores worse than the whole table: {names}.")
        } else {
            format!("{k} slices score worse than the whole table; the worst: {names}.")
        };
        worst.flagged = (0..flagged).collect();
        worst.caption = Some("Slices worse than the whole table, worst first.".into());
        blocks.push(Block::Heading("Worst slices".into()));
        blocks.push(Block::Table(worst));
        Some(sentence)
    };
    if !report.notes.is_empty() {
        blocks.push(Block::Notes(report.notes.clone()));
    }
    (Section::new("Slices", blocks), sentence)
}

/// The Most confident errors section.
fn errors_section(errors: &[Error], regression: bool) -> Section {
    if errors.is_empty() {
        return Section::new(
            "Most confident errors",
            vec![Block::Paragraph(
                "The model makes no error on these rows.".into(),
            )],
        );
    }
    let last = if regression {
        "Absolute error"
    } else {
        "Confidence"
    };
    let mut t = Table::new(["Row", "Actual", "Predicted", last]);
    for e in errors {
        // Regression values are numbers (right-aligned, written as numbers to JSON).
        let value = |text: &str| match text.parse::<f64>() {
            Ok(v) if regression => Cell::number(v),
            _ => Cell::text(text),
        };
        t.push_row(vec![
            Cell::with_text(e.row as f64, e.row.to_string()),
            value(&e.actual),
            value(&e.predicted),
            Cell::number(e.confidence),
        ]);
    }
    let intro = if regression {
        "The rows with the largest absolute errors (row numbers count from 0)."
    } else {
        "Misclassified rows the model was most sure of, with its probability of the wrong \
         class (row numbers count from 0). They are worth a look: label mistakes often hide here."
    };
    Section::new(
        "Most confident errors",
        vec![Block::Paragraph(intro.into()), Block::Table(t)],
    )
}

/// The Feature importance section and a sentence on the top feature.
fn importance_section(imp: &[PermutationImportance], score: &str) -> (Section, Option<String>) {
    let mut notes = Vec::new();
    let mut blocks = Vec::new();
    if imp.is_empty() {
        return (
            Section::new(
                "Feature importance",
                vec![Block::Notes(vec![
                    "No feature importance was computed.".into(),
                ])],
            ),
            None,
        );
    }
    let mut order: Vec<&PermutationImportance> = imp.iter().collect();
    order.sort_by(|a, b| b.mean.total_cmp(&a.mean).then(a.feature.cmp(&b.feature)));
    blocks.push(Block::Paragraph(format!(
        "How much the {score} drops when a feature's values are shuffled across rows \
         (mean over repeats, ± one standard deviation). A drop near zero means the model \
         does not rely on the feature."
    )));
    let names: Vec<&str> = order.iter().map(|p| p.feature.as_str()).collect();
    let mean: Vec<f64> = order.iter().map(|p| p.mean).collect();
    let std: Vec<f64> = order.iter().map(|p| p.std).collect();
    let data = json!(
        order
            .iter()
            .map(|p| json!({"feature": p.feature, "mean": p.mean, "std": p.std, "drops": p.drops}))
            .collect::<Vec<_>>()
    );
    let axis = format!("Decrease in {score}");
    let mut pair = Vec::new();
    if let Some(b) = plot_or_note(
        &mut notes,
        "importance plot",
        plot::importance(&names, &mean, &std, Some(MAX_PLOT_FEATURES), &axis),
        None,
        data,
    ) {
        pair.push(b);
    }
    let mut t = Table::new(["Rank", "Feature", "Mean drop", "Std"]);
    for (i, p) in order.iter().take(MAX_TABLE_ROWS).enumerate() {
        t.push_row(vec![
            Cell::count(i + 1),
            Cell::text(p.feature.clone()),
            Cell::number(p.mean),
            Cell::number(p.std),
        ]);
    }
    if order.len() > MAX_TABLE_ROWS {
        t.caption = Some(format!(
            "The {MAX_TABLE_ROWS} most important of {} features; the JSON file has them all.",
            fmt_count(order.len())
        ));
    }
    pair.push(Block::Table(t));
    blocks.push(Block::Columns(pair));
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    let sentence = order.first().map(|top| {
        if top.mean > 0.0 {
            format!(
                "The model relies most on `{}`: shuffling it lowers the {score} by {}.",
                top.feature,
                fmt_number(top.mean)
            )
        } else {
            format!("No feature's shuffling lowers the {score}: the model may rely on none.")
        }
    });
    (Section::new("Feature importance", blocks), sentence)
}

/// The model's own importance (impurity decrease, split gain) as a plot and a table.
fn own_importance_blocks(own: &[(String, f64)]) -> Vec<Block> {
    if own.is_empty() {
        return Vec::new();
    }
    let mut order: Vec<&(String, f64)> = own.iter().collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let names: Vec<&str> = order.iter().map(|(n, _)| n.as_str()).collect();
    let values: Vec<f64> = order.iter().map(|(_, v)| *v).collect();
    let mut blocks = vec![
        Block::Heading("The model's own importance".into()),
        Block::Paragraph(
            "What the model itself records: the share of impurity decrease (trees, forests) or \
             of split gain (boosting) each feature brings, over the features the model sees — \
             one-hot columns separately. It says what the model used while fitting, the \
             permutation importance above what its predictions depend on."
                .into(),
        ),
    ];
    let mut notes = Vec::new();
    let data = json!(
        order
            .iter()
            .map(|(n, v)| json!({"feature": n, "importance": v}))
            .collect::<Vec<_>>()
    );
    let mut pair = Vec::new();
    if let Some(b) = plot_or_note(
        &mut notes,
        "own importance plot",
        plot::importance(
            &names,
            &values,
            &[],
            Some(MAX_PLOT_FEATURES),
            "Share of importance",
        ),
        None,
        data,
    ) {
        pair.push(b);
    }
    let mut t = Table::new(["Rank", "Feature", "Share"]);
    for (i, (n, v)) in order.iter().take(MAX_TABLE_ROWS).enumerate() {
        t.push_row(vec![
            Cell::count(i + 1),
            Cell::text(n.clone()),
            Cell::number(*v),
        ]);
    }
    pair.push(Block::Table(t));
    blocks.push(Block::Columns(pair));
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    blocks
}
