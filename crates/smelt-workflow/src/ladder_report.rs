//! The ladder's report: the leaderboard, every rung's curves on the shared folds, the best
//! rung's calibration, tuning history, slices, errors and importances — one self-contained
//! HTML page with a JSON twin.

use serde_json::json;
use smelt_core::{Prediction, Target};
use smelt_eval::plot::{self, Curve, Reliability};
use smelt_eval::report::{
    Block, Cell, ModelReportInput, Report, Section, Stat, Table, model_report,
};
use smelt_eval::slices::{SliceOptions, confident_errors, slice_metrics};

use crate::error::Result;
use crate::evaluate::{default_slices, importance_on, slice_columns};
use crate::ladder::Ladder;
use crate::with_preprocessing;

/// Builds the ladder's report. `slices` names the columns to break the best rung's scores
/// down by (default: the group column and the small categorical features).
pub fn ladder_report(l: &Ladder, data_name: &str, slices: &[String]) -> Result<Report> {
    let primary = l.scorers[0];
    let best = l.best_rung();
    let mut report = Report::new(format!("Baseline ladder: {data_name}"));
    report.subtitle = Some(format!(
        "{} · {} rows · {}",
        match l.task {
            smelt_core::catalog::Task::Classification => "classification",
            _ => "regression",
        },
        smelt_eval::report::fmt_count(l.rows),
        l.folds.splitter
    ));
    report.meta = vec![
        (
            "Best rung".into(),
            format!("{} ({})", best.label, best.info.name),
        ),
        ("Ranked by".into(), primary.name.to_string()),
        ("Time".into(), format!("{:.1} s", l.seconds)),
    ];
    report.summary = l.summary.clone();

    // Leaderboard.
    let mut cols = vec!["rung".to_string()];
    cols.extend(
        l.scorers
            .iter()
            .map(|s| format!("{} {}", s.name, if s.greater_is_better { "↑" } else { "↓" })),
    );
    cols.push("seconds".into());
    cols.push("tuning trials".into());
    let mut table = Table::new(cols);
    for (i, r) in l.rungs.iter().enumerate() {
        let mut row = vec![Cell::text(r.label)];
        for s in &l.scorers {
            row.push(match r.result.as_ref().and_then(|x| x.metric(s.name)) {
                Some(m) => Cell::with_text(m.mean, format!("{:.3} ± {:.3}", m.mean, m.std)),
                None => Cell::text(if r.skipped.is_some() {
                    "skipped"
                } else {
                    "–"
                }),
            });
        }
        row.push(Cell::with_text(r.seconds, format!("{:.1}", r.seconds)));
        row.push(if r.trials.is_empty() {
            Cell::text("–")
        } else {
            Cell::count(r.trials.len())
        });
        table.push_row(row);
        if i == l.best {
            table.highlighted.push(i);
        }
        if r.skipped.is_some() {
            table.flagged.push(i);
        }
    }
    let stats = vec![
        Stat::new(
            format!("best {}", primary.name),
            best.result
                .as_ref()
                .and_then(|r| r.metric(primary.name))
                .map_or(f64::NAN, |m| m.mean),
        )
        .with_detail(best.label),
        Stat {
            label: "rows".into(),
            value: Cell::count(l.rows),
            detail: None,
        },
        Stat {
            label: "folds".into(),
            value: Cell::count(l.folds.folds.len()),
            detail: Some(format!("{:.0} s in all", l.seconds)),
        },
    ];
    let mut blocks = vec![Block::Stats(stats), Block::Table(table.with_caption(
        "Mean ± standard deviation over the same folds for every rung; the best rung is highlighted.",
    ))];
    let skipped: Vec<String> = l
        .rungs
        .iter()
        .filter_map(|r| r.skipped.as_ref().map(|s| format!("{}: {s}", r.label)))
        .collect();
    if !skipped.is_empty() {
        blocks.push(Block::Notes(skipped));
    }
    report.sections.push(Section::new("Leaderboard", blocks));

    // Curves of every rung (out-of-fold predictions on the shared folds).
    let target = l.prepared.data.target();
    if let Some(Target::Classification { codes, classes }) = target
        && classes.len() == 2
    {
        let mut roc = Vec::new();
        let mut pr = Vec::new();
        let rate = codes.iter().filter(|&&c| c == 1).count() as f64 / codes.len().max(1) as f64;
        for r in &l.rungs {
            let Some(p) = r.result.as_ref().and_then(|x| x.oof.as_ref()) else {
                continue;
            };
            let Ok(score) = smelt_eval::calibrate::threshold::positive_proba(p, classes) else {
                continue;
            };
            if let (Ok(c), Ok(auc)) = (
                smelt_eval::metrics::roc_curve(codes, &score, None, true),
                smelt_eval::metrics::roc_auc(codes, &score, None),
            ) {
                roc.push(Curve::new(r.label, c.fpr, c.tpr).with_score(auc));
            }
            if let (Ok(c), Ok(ap)) = (
                smelt_eval::metrics::precision_recall_curve(codes, &score, None, true),
                smelt_eval::metrics::average_precision(codes, &score, None),
            ) {
                pr.push(
                    Curve::new(r.label, c.recall, c.precision)
                        .with_score(ap)
                        .with_baseline(rate),
                );
            }
        }
        let mut blocks = Vec::new();
        if let Ok(p) = plot::roc(&roc) {
            blocks.push(Block::plot(
                p,
                json!(
                    roc.iter()
                        .map(|c| json!({"label": c.label, "auc": c.score}))
                        .collect::<Vec<_>>()
                ),
            ));
        }
        if let Ok(p) = plot::precision_recall(&pr) {
            blocks.push(Block::plot(
                p,
                json!(
                    pr.iter()
                        .map(|c| json!({"label": c.label, "average_precision": c.score}))
                        .collect::<Vec<_>>()
                ),
            ));
        }
        if !blocks.is_empty() {
            report.sections.push(Section::new(
                "Curves of every rung",
                vec![
                    Block::Columns(blocks),
                    Block::Paragraph(
                        "Curves and their areas are computed on the pooled out-of-fold predictions (every row scored by the model that did not train on it); the leaderboard averages the per-fold scores instead, so the two can differ slightly.".into(),
                    ),
                ],
            ));
        }
    }

    // Calibration of the best rung.
    if let Some(c) = &l.calibration {
        let series = vec![
            Reliability {
                label: format!("{} (ECE {:.3})", best.label, c.ece),
                mean_predicted: c.before.prob_pred.clone(),
                fraction_positive: c.before.prob_true.clone(),
                counts: c.before.counts.clone(),
            },
            Reliability {
                label: format!("isotonic (ECE {:.3})", c.ece_isotonic),
                mean_predicted: c.after.prob_pred.clone(),
                fraction_positive: c.after.prob_true.clone(),
                counts: c.after.counts.clone(),
            },
        ];
        if let Ok(p) = plot::reliability(&series) {
            report.sections.push(Section::new(
                "Calibration of the best rung",
                vec![Block::Plot {
                    plot: p,
                    caption: Some(format!(
                        "Out-of-fold probabilities of {} before and after isotonic calibration (cross-fitted inside each fold).",
                        best.label
                    )),
                    data: json!({"ece": c.ece, "ece_isotonic": c.ece_isotonic,
                        "before": {"prob_pred": c.before.prob_pred, "prob_true": c.before.prob_true, "counts": c.before.counts},
                        "after": {"prob_pred": c.after.prob_pred, "prob_true": c.after.prob_true, "counts": c.after.counts}}),
                }],
            ));
        }
    }

    // Tuning histories.
    let mut tuning = Vec::new();
    for r in l.rungs.iter().filter(|r| !r.trials.is_empty()) {
        // Complete trials only: a pruned trial stopped early because it was worse.
        let values: Vec<f64> = r.trials.iter().filter_map(|t| t.value).collect();
        if let Ok(p) = plot::tuning_history(&values, primary.greater_is_better, primary.name) {
            tuning.push(Block::Plot {
                plot: p,
                caption: Some(format!(
                    "{}: {} of {} trials completed (TPE); the others were pruned early for scoring below the median.",
                    r.label,
                    values.len(),
                    r.trials.len()
                )),
                data: json!({"rung": r.label, "trials": r.trials}),
            });
        }
    }
    if !tuning.is_empty() {
        report
            .sections
            .push(Section::new("Tuning", vec![Block::Columns(tuning)]));
    }

    // The best rung in detail, on its out-of-fold predictions.
    if let (Some(target), Some(oof)) = (target, best.result.as_ref().and_then(|r| r.oof.as_ref())) {
        let names = if slices.is_empty() {
            default_slices(&l.prepared.table)
        } else {
            slices.to_vec()
        };
        let cols = slice_columns(&l.prepared.table, &names)?;
        let slice_report = if cols.is_empty() {
            None
        } else {
            slice_metrics(
                target,
                oof,
                &cols,
                &l.scorers[..1],
                &SliceOptions::default(),
            )
            .ok()
        };
        let errors = confident_errors(target, oof, 15).ok();
        let importance = best_importance(l);
        // The model's own importance: the shipped model's (refitted on every row).
        let own = l.model.predictor().feature_importances();
        let mut input = ModelReportInput::new(best.label, target, oof);
        input.slices = slice_report.as_ref();
        input.errors = errors.as_deref();
        input.importance = importance.as_deref();
        input.own_importance = own.as_deref();
        if let Ok(detail) = model_report(&input) {
            for mut s in detail.sections {
                if s.title == "Summary" {
                    continue;
                }
                s.title = format!("Best rung: {}", s.title.to_lowercase());
                s.id = format!("best-{}", s.id);
                report.sections.push(s);
            }
        }
    }
    if !l.notes.is_empty() {
        report
            .sections
            .push(Section::new("Notes", vec![Block::Notes(l.notes.clone())]));
    }
    report.data = json!({
        "task": format!("{:?}", l.task).to_lowercase(),
        "rows": l.rows,
        "folds": l.folds.splitter,
        "ranked_by": primary.name,
        "best": best.info.name,
        "rungs": l.rungs.iter().map(|r| json!({
            "label": r.label, "model": r.info.name,
            "params": serde_json::Value::Object(r.params.as_map().clone()),
            "metrics": r.result.as_ref().map(|x| json!(x.test)),
            "seconds": r.seconds, "skipped": r.skipped, "trials": r.trials.len(),
        })).collect::<Vec<_>>(),
    });
    Ok(report)
}

/// Permutation importance of the best rung fitted on the first fold's training rows, scored
/// on its test rows (at most 5,000).
fn best_importance(l: &Ladder) -> Option<Vec<smelt_eval::importance::PermutationImportance>> {
    let best = l.best_rung();
    let fold = l.folds.folds.first()?;
    let est = with_preprocessing(
        best.info,
        best.info.build(best.params.as_map().clone()).ok()?,
        true,
    );
    let train = l.prepared.data.select_rows(&fold.train).ok()?;
    let test = l.prepared.data.select_rows(&fold.test).ok()?;
    let model = smelt_core::Fit::fit(&est, &train).ok()?;
    importance_on(&model, &test, 5_000, 0).ok()
}

/// Whether a prediction has class probabilities.
pub fn has_proba(p: &Prediction) -> bool {
    matches!(p, Prediction::Classification { proba: Some(_), .. })
}
