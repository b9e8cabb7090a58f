//! The classification parts of the model report: metrics, confusion matrix, ranking curves,
//! calibration, score distributions, per-class scores.

use serde_json::{Value, json};
use smelt_core::Proba;

use super::classes::Data;
use super::parts::{ModelReportInput, Parts, metric_label, metrics_table, plot_or_note};
use super::regress::percentile;
use super::{Block, Cell, Section, Stat, Table, fmt_count, fmt_number, fmt_percent};
use crate::error::Result;
use crate::metrics::{
    Normalize, Strategy, average_precision, calibration_curve, classification_report,
    confusion_matrix, expected_calibration_error, find, precision_recall_curve, roc_auc, roc_curve,
    top_label_calibration_error,
};
use crate::plot::{self, Curve, Reliability};

/// The most classes the one-vs-rest curves and score distributions draw (one colour each).
const MAX_CURVES: usize = 8;
/// The most classes the confusion matrix draws.
const MAX_MATRIX: usize = 25;
/// Bins of the calibration error and the reliability diagram.
const CALIBRATION_BINS: usize = 10;

/// The metrics of a binary classifier, in the order the page lists them.
const BINARY: &[&str] = &[
    "roc_auc",
    "average_precision",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "precision",
    "recall",
    "mcc",
    "log_loss",
    "brier",
];
/// The metrics of a multiclass classifier.
const MULTICLASS: &[&str] = &[
    "accuracy",
    "balanced_accuracy",
    "f1_macro",
    "f1_weighted",
    "precision_macro",
    "recall_macro",
    "mcc",
    "roc_auc_ovr",
    "roc_auc_ovr_weighted",
    "roc_auc_ovo",
    "top_k_accuracy",
    "log_loss",
    "brier",
];
/// What the calibration errors measure (they are not registry metrics).
const DOCS: &[(&str, &str)] = &[
    (
        "ece",
        "expected calibration error: the mean gap between predicted probability and observed \
         frequency, over 10 bins",
    ),
    (
        "top_label_ece",
        "expected calibration error of the top class: the mean gap between its probability \
         and how often it is right, over 10 bins",
    ),
];

/// Quotes a class name in a sentence.
fn q(name: &str) -> String {
    format!("“{name}”")
}

/// The classification sections and sentences.
pub(super) fn parts(input: &ModelReportInput<'_>, d: &Data<'_>) -> Result<Parts> {
    let n = d.y.len();
    let binary = d.n_model == 2;
    let names = if binary { BINARY } else { MULTICLASS };
    let mut metrics: Vec<(String, f64)> = names
        .iter()
        .filter_map(|name| {
            let v = find(name)
                .ok()?
                .score(input.target, input.pred, None)
                .ok()?;
            v.is_finite().then(|| (name.to_string(), v))
        })
        .collect();
    let mut notes = Vec::new();
    if let Some(note) = &d.proba_note {
        notes.push(note.clone());
    }
    let unseen = n - d.seen.len();
    if unseen > 0 {
        let labels: Vec<String> = d.classes[d.n_model..].iter().map(|c| q(c)).collect();
        notes.push(format!(
            "{} rows have a class the model never saw ({}): they count as errors and are left \
             out of the probability metrics and plots.",
            fmt_count(unseen),
            labels.join(", ")
        ));
    }
    let metric = |metrics: &[(String, f64)], name: &str| {
        metrics.iter().find(|(k, _)| k == name).map(|(_, v)| *v)
    };

    // Calibration error (not a registry metric).
    let seen_y: Vec<u32> = d.seen.iter().map(|&i| d.y[i]).collect();
    let positive: Option<Vec<f64>> = d
        .proba
        .filter(|_| binary)
        .map(|p| d.seen.iter().map(|&i| p.row(i)[1]).collect());
    let seen_proba = d.proba.map(|p| Proba {
        n_classes: p.n_classes,
        values: d.seen.iter().flat_map(|&i| p.row(i)).copied().collect(),
    });
    let ece = match (&positive, &seen_proba) {
        (Some(p1), _) if !seen_y.is_empty() => {
            expected_calibration_error(&seen_y, p1, CALIBRATION_BINS, None)
                .ok()
                .map(|v| ("ece", v))
        }
        (None, Some(p)) if !seen_y.is_empty() => {
            top_label_calibration_error(&seen_y, p, CALIBRATION_BINS, None)
                .ok()
                .map(|v| ("top_label_ece", v))
        }
        _ => None,
    };
    if let Some((name, v)) = ece {
        metrics.push((name.to_string(), v));
    }

    let support = d.support();
    let shares: Vec<f64> = support.iter().map(|&s| s as f64 / n as f64).collect();
    let majority = shares.iter().copied().fold(0.0, f64::max);

    let mut summary = Vec::new();
    let mut sections = Vec::new();

    // Summary: headline cards and the data's shape.
    let headline: &[&str] = if binary {
        &["roc_auc", "accuracy", "f1", "log_loss", "ece"]
    } else {
        &[
            "accuracy",
            "balanced_accuracy",
            "f1_macro",
            "roc_auc_ovr",
            "log_loss",
            "top_label_ece",
        ]
    };
    let stats: Vec<Stat> = headline
        .iter()
        .filter_map(|name| {
            let v = metric(&metrics, name)?;
            let detail = match *name {
                "accuracy" => format!("majority class: {}", fmt_number(majority)),
                "balanced_accuracy" => {
                    format!("chance: {}", fmt_number(1.0 / d.n_model.max(1) as f64))
                }
                "roc_auc" | "roc_auc_ovr" => "chance: 0.500".into(),
                "f1" => format!("of class {}", q(&d.name(1))),
                "f1_macro" => "mean over classes".into(),
                "log_loss" => format!("class shares alone: {}", fmt_number(entropy(&shares))),
                "ece" => "0 = perfectly calibrated".into(),
                _ => "top label; 0 = calibrated".into(),
            };
            let label = match *name {
                "ece" => "Calibration (ECE)".to_string(),
                "top_label_ece" => "Calibration (ECE)".to_string(),
                "roc_auc_ovr" => "ROC-AUC (OvR)".to_string(),
                _ => metric_label(name),
            };
            Some(Stat::new(label, v).with_detail(detail))
        })
        .collect();
    let mut facts = vec![
        ("Rows".to_string(), fmt_count(n)),
        ("Classes".to_string(), fmt_count(d.classes.len())),
    ];
    if binary {
        facts.push(("Positive class".into(), d.name(1)));
    }
    let mut by_size: Vec<usize> = (0..d.classes.len()).collect();
    by_size.sort_by(|&a, &b| support[b].cmp(&support[a]).then(a.cmp(&b)));
    let balance: Vec<String> = by_size
        .iter()
        .take(6)
        .map(|&k| format!("{} {}", d.name(k as u32), fmt_percent(shares[k])))
        .collect();
    let more = if by_size.len() > 6 { ", …" } else { "" };
    facts.push((
        "Class shares".into(),
        format!("{}{more}", balance.join(", ")),
    ));
    sections.push(Section::new(
        "Summary",
        vec![Block::Stats(stats), Block::KeyValues(facts)],
    ));

    // Sentences.
    let accuracy = metric(&metrics, "accuracy");
    if binary {
        let pos = q(&d.name(1));
        let lead = match (metric(&metrics, "roc_auc"), accuracy) {
            (Some(auc), Some(acc)) => format!(
                "ROC-AUC {} and accuracy {} on {} rows",
                fmt_number(auc),
                fmt_number(acc),
                fmt_count(n)
            ),
            (None, Some(acc)) => format!("Accuracy {} on {} rows", fmt_number(acc), fmt_count(n)),
            _ => format!("{} rows", fmt_count(n)),
        };
        summary.push(format!(
            "{lead}, {} of them {pos} (always predicting the majority class scores {}).",
            fmt_percent(shares[1]),
            fmt_number(majority)
        ));
    } else if let Some(acc) = accuracy {
        let balanced = metric(&metrics, "balanced_accuracy")
            .map(|b| format!(" (balanced {})", fmt_number(b)))
            .unwrap_or_default();
        summary.push(format!(
            "Accuracy {}{balanced} on {} rows over {} classes; always predicting the majority \
             class scores {}.",
            fmt_number(acc),
            fmt_count(n),
            d.classes.len(),
            fmt_number(majority)
        ));
    }

    // Metrics.
    let mut blocks = vec![Block::Table(metrics_table(&metrics, DOCS))];
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes.clone()));
    }
    sections.push(Section::new("Metrics", blocks));

    // Confusion matrix.
    let mut cm_notes = Vec::new();
    let mut blocks = Vec::new();
    let counts = confusion_matrix(&d.y, d.labels, Normalize::None, None)?;
    let rates = confusion_matrix(&d.y, d.labels, Normalize::True, None)?;
    let k = counts.n_labels();
    let cm_names: Vec<String> = counts.labels.iter().map(|&c| d.name(c)).collect();
    let rows = |m: &crate::metrics::ConfusionMatrix| -> Vec<Vec<f64>> {
        (0..m.n_labels()).map(|i| m.row(i).to_vec()).collect()
    };
    let (count_rows, rate_rows) = (rows(&counts), rows(&rates));
    if k > MAX_MATRIX {
        cm_notes.push(format!(
            "The matrix has {k} classes, too many to draw; the per-class scores below sum it up."
        ));
    } else {
        blocks.push(Block::Paragraph(
            "Rows are the true classes, columns the predicted ones; the diagonal holds the \
             correct predictions. The normalised matrix divides each row by its class's rows, \
             so its diagonal is each class's recall."
                .into(),
        ));
        if let Some(b) = plot_or_note(
            &mut cm_notes,
            "confusion matrix",
            plot::confusion_matrix(&count_rows, &cm_names, false),
            None,
            json!({"labels": cm_names, "counts": count_rows}),
        ) {
            blocks.push(b);
        }
        if let Some(b) = plot_or_note(
            &mut cm_notes,
            "normalised confusion matrix",
            plot::confusion_matrix(&rate_rows, &cm_names, true),
            None,
            json!({"labels": cm_names, "normalized": rate_rows}),
        ) {
            blocks.push(b);
        }
    }
    if !cm_notes.is_empty() {
        blocks.push(Block::Notes(cm_notes));
    }
    sections.push(Section::new("Confusion matrix", blocks));

    // Per-class scores, and the hardest class.
    let report = classification_report(&d.y, d.labels, 1.0, None)?;
    let mut t = Table::new(["Class", "Precision", "Recall", "F1", "Rows", "Predicted"]);
    let predicted: Vec<f64> = (0..k)
        .map(|j| (0..k).map(|i| counts.get(i, j)).sum())
        .collect();
    let macro_f1 = mean(&report.fscore);
    for (i, &code) in report.labels.iter().enumerate() {
        if !binary && report.fscore[i] < macro_f1 - 0.1 {
            t.flagged.push(t.rows.len());
        }
        t.push_row(vec![
            Cell::text(d.name(code)),
            Cell::number(report.precision[i]),
            Cell::number(report.recall[i]),
            Cell::number(report.fscore[i]),
            Cell::count(report.support[i] as usize),
            Cell::count(predicted.get(i).copied().unwrap_or(0.0) as usize),
        ]);
    }
    let total: f64 = report.support.iter().sum();
    let weighted = |v: &[f64]| -> f64 {
        v.iter()
            .zip(&report.support)
            .map(|(a, s)| a * s)
            .sum::<f64>()
            / total.max(1.0)
    };
    t.push_row(vec![
        Cell::text("Macro average"),
        Cell::number(mean(&report.precision)),
        Cell::number(mean(&report.recall)),
        Cell::number(macro_f1),
        Cell::count(n),
        Cell::count(n),
    ]);
    t.push_row(vec![
        Cell::text("Weighted average"),
        Cell::number(weighted(&report.precision)),
        Cell::number(weighted(&report.recall)),
        Cell::number(weighted(&report.fscore)),
        Cell::count(n),
        Cell::count(n),
    ]);
    t.highlighted = vec![t.rows.len() - 2, t.rows.len() - 1];
    if !t.flagged.is_empty() {
        t.caption =
            Some("Flagged: classes whose F1 is more than 0.1 below the macro average.".into());
    }
    let per_class = Section::new(
        "Per-class scores",
        vec![
            Block::Paragraph(
                "Precision: of the rows predicted as the class, the share that are. Recall: of \
                 the class's rows, the share found. F1: their harmonic mean."
                    .into(),
            ),
            Block::Table(t),
        ],
    );

    if binary {
        let pos = q(&d.name(1));
        if let (Some(r), Some(p)) = (metric(&metrics, "recall"), metric(&metrics, "precision")) {
            summary.push(format!(
                "At the default 0.5 threshold the model finds {} of the {pos} rows (recall {}), \
                 and {} of its {pos} predictions are right (precision {}).",
                fmt_percent(r),
                fmt_number(r),
                fmt_percent(p),
                fmt_number(p)
            ));
        }
    } else if let Some(i) = (0..report.labels.len())
        .filter(|&i| report.support[i] > 0.0)
        .min_by(|&a, &b| report.recall[a].total_cmp(&report.recall[b]))
    {
        let row = counts.row(i);
        let confused = (0..k)
            .filter(|&j| j != i && row[j] > 0.0)
            .max_by(|&a, &b| row[a].total_cmp(&row[b]).then(b.cmp(&a)));
        let mut s = format!(
            "{} is the hardest class: the model finds {} of its rows (recall {})",
            q(&d.name(report.labels[i])),
            fmt_percent(report.recall[i]),
            fmt_number(report.recall[i])
        );
        if let Some(j) = confused {
            s.push_str(&format!(
                " and most often mistakes them for {} ({} rows)",
                q(&cm_names[j]),
                fmt_count(row[j] as usize)
            ));
        }
        s.push('.');
        summary.push(s);
    }

    // Probability sections.
    if let Some(proba) = d.proba.filter(|_| !d.seen.is_empty()) {
        let model_label = input.model.clone().unwrap_or_else(|| "model".into());
        sections.push(ranking_section(d, proba, binary, &model_label, &support));
        let (section, sentence) = calibration_section(d, proba, binary, &model_label, ece);
        sections.push(section);
        summary.extend(sentence);
        sections.push(distribution_section(d, proba, binary, &support));
    }
    sections.push(per_class);

    Ok(Parts {
        sections,
        summary,
        metrics,
        task: "classification",
        description: if binary {
            format!("Binary classification · {} rows", fmt_count(n))
        } else {
            format!(
                "Multiclass classification · {} classes · {} rows",
                d.classes.len(),
                fmt_count(n)
            )
        },
        importance_score: "accuracy",
    })
}

/// ROC and precision–recall curves: the positive class, or one-vs-rest for the largest classes.
fn ranking_section(
    d: &Data<'_>,
    proba: &Proba,
    binary: bool,
    model_label: &str,
    support: &[usize],
) -> Section {
    let mut notes = Vec::new();
    let classes: Vec<usize> = if binary {
        vec![1]
    } else {
        let mut order: Vec<usize> = (0..d.n_model).filter(|&k| support[k] > 0).collect();
        order.sort_by(|&a, &b| support[b].cmp(&support[a]).then(a.cmp(&b)));
        if order.len() > MAX_CURVES {
            notes.push(format!(
                "Curves are drawn for the {MAX_CURVES} largest of {} classes.",
                order.len()
            ));
            order.truncate(MAX_CURVES);
        }
        order.sort_unstable();
        order
    };
    let (mut rocs, mut prs, mut roc_data, mut pr_data) = (vec![], vec![], vec![], vec![]);
    for &k in &classes {
        let label = if binary {
            model_label.to_string()
        } else {
            d.name(k as u32)
        };
        let (y, s) = d.one_vs_rest(proba, k);
        match roc_curve(&y, &s, None, true).and_then(|c| Ok((roc_auc(&y, &s, None)?, c))) {
            Ok((auc, c)) => {
                roc_data.push(
                    json!({"label": label, "auc": auc, "fpr": c.fpr, "tpr": c.tpr,
                    "thresholds": c.thresholds}),
                );
                rocs.push(Curve::new(label.clone(), c.fpr, c.tpr).with_score(auc));
            }
            Err(e) => notes.push(format!("No ROC curve for {}: {e}.", q(&label))),
        }
        let rate = y.iter().filter(|&&v| v == 1).count() as f64 / y.len().max(1) as f64;
        match precision_recall_curve(&y, &s, None, true)
            .and_then(|c| Ok((average_precision(&y, &s, None)?, c)))
        {
            Ok((ap, c)) => {
                pr_data.push(json!({"label": label, "average_precision": ap,
                    "positive_rate": rate, "precision": c.precision, "recall": c.recall,
                    "thresholds": c.thresholds}));
                prs.push(
                    Curve::new(label, c.recall, c.precision)
                        .with_score(ap)
                        .with_baseline(rate),
                );
            }
            Err(e) => notes.push(format!("No precision–recall curve for {}: {e}.", q(&label))),
        }
    }
    let intro = if binary {
        format!(
            "How well the probability of {} ranks its rows above the others, at every \
             threshold. ROC: the share of positives found against the share of negatives \
             wrongly flagged (AUC 0.5 is chance). Precision–recall: how precise the flagged \
             rows are as more positives are found; the dashed line is the positive rate.",
            q(&d.name(1))
        )
    } else {
        "One curve per class, each class against the rest (one-vs-rest), from the \
         probability of that class. ROC-AUC 0.5 is chance; on the precision–recall plot \
         each class's no-skill level is its share of rows."
            .into()
    };
    let mut blocks = vec![Block::Paragraph(intro)];
    if !rocs.is_empty() {
        blocks.extend(plot_or_note(
            &mut notes,
            "ROC curve",
            plot::roc(&rocs),
            None,
            json!({ "curves": roc_data }),
        ));
    }
    if !prs.is_empty() {
        blocks.extend(plot_or_note(
            &mut notes,
            "precision–recall curve",
            plot::precision_recall(&prs),
            None,
            json!({ "curves": pr_data }),
        ));
    }
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    let title = if binary {
        "ROC and precision–recall"
    } else {
        "ROC and precision–recall (one-vs-rest)"
    };
    let mut s = Section::new(title, blocks);
    s.id = "ranking".into();
    s
}

/// The reliability diagram, its bins and a sentence on where the model is miscalibrated.
fn calibration_section(
    d: &Data<'_>,
    proba: &Proba,
    binary: bool,
    model_label: &str,
    ece: Option<(&str, f64)>,
) -> (Section, Option<String>) {
    let mut notes = Vec::new();
    // (probability, outcome): the positive class's probability and whether the row is
    // positive, or the top class's probability and whether it is right.
    let (outcome, prob): (Vec<u32>, Vec<f64>) = d
        .seen
        .iter()
        .map(|&i| {
            let row = proba.row(i);
            if binary {
                (d.y[i], row[1])
            } else {
                let k = smelt_core::model::argmax(row);
                (u32::from(k == d.y[i] as usize), row[k])
            }
        })
        .unzip();
    let (what, observed, intro) = if binary {
        (
            format!("P({})", d.name(1)),
            "Observed positive rate",
            format!(
                "Rows grouped by their predicted probability of {}: in a calibrated model the \
                 observed share of positives in each group equals the probability predicted. \
                 Points below the diagonal are over-estimates; the bars below count the rows.",
                q(&d.name(1))
            ),
        )
    } else {
        (
            "Top-class probability".to_string(),
            "Observed accuracy",
            "Rows grouped by the probability of their predicted class (the top label): in a \
             calibrated model the share of correct predictions in each group equals that \
             probability. Points below the diagonal are over-confident; the bars below count \
             the rows."
                .to_string(),
        )
    };
    let mut blocks = vec![Block::Paragraph(intro)];
    let mut sentence = None;
    match calibration_curve(&outcome, &prob, CALIBRATION_BINS, Strategy::Uniform) {
        Ok(c) => {
            let caption = ece.map(|(name, v)| format!("{} {}", metric_label(name), fmt_number(v)));
            let series = Reliability {
                label: if binary {
                    model_label.to_string()
                } else {
                    "top label".into()
                },
                mean_predicted: c.prob_pred.clone(),
                fraction_positive: c.prob_true.clone(),
                counts: c.counts.clone(),
            };
            let mut pair: Vec<Block> = Vec::new();
            pair.extend(plot_or_note(
                &mut notes,
                "reliability diagram",
                plot::reliability(&[series]),
                caption,
                json!({"bins": CALIBRATION_BINS, "mean_predicted": c.prob_pred,
                    "fraction_positive": c.prob_true, "counts": c.counts, "edges": c.edges}),
            ));
            let mut t = Table::new([what.as_str(), observed, "Gap", "Rows"]);
            for i in 0..c.counts.len() {
                t.push_row(vec![
                    Cell::number(c.prob_pred[i]),
                    Cell::number(c.prob_true[i]),
                    Cell::number(c.prob_pred[i] - c.prob_true[i]),
                    Cell::count(c.counts[i]),
                ]);
            }
            t.caption = Some(
                "Non-empty bins of width 0.1: mean predicted probability, observed rate, \
                 their gap (positive: over-estimate)."
                    .into(),
            );
            pair.push(Block::Table(t));
            blocks.push(Block::Columns(pair));
            sentence = ece.map(|(_, v)| calibration_sentence(&c, prob.len(), binary, v));
        }
        Err(e) => notes.push(format!("The reliability diagram is left out: {e}.")),
    }
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    (Section::new("Calibration", blocks), sentence)
}

/// Where a model's probabilities are most off, in words.
fn calibration_sentence(
    c: &crate::metrics::CalibrationCurve,
    n: usize,
    binary: bool,
    ece: f64,
) -> String {
    let label = if binary { "ECE" } else { "top-label ECE" };
    if ece < 0.02 {
        return format!(
            "Probabilities are well calibrated ({label} {}): when the model says 70%, about \
             70% of such rows {}.",
            fmt_number(ece),
            if binary { "are positive" } else { "are right" }
        );
    }
    let min_rows = (n / 100).max(5);
    let worst = (0..c.counts.len())
        .filter(|&i| c.counts[i] >= min_rows)
        .max_by(|&a, &b| {
            let w = |i: usize| c.counts[i] as f64 * (c.prob_pred[i] - c.prob_true[i]).abs();
            w(a).total_cmp(&w(b))
        });
    let well = format!(
        "Probabilities are close to calibrated ({label} {}): no well-populated group is off \
         by more than 0.03.",
        fmt_number(ece)
    );
    let Some(i) = worst else {
        return well;
    };
    let (p, t) = (c.prob_pred[i], c.prob_true[i]);
    let gap = p - t;
    if gap.abs() < 0.03 {
        return well;
    }
    // Over-confident: probabilities pushed too far from the middle (too high above 0.5, too
    // low below it); a top-label probability is over-confident when it is too high.
    let over = if binary {
        (p >= 0.5) == (gap > 0.0)
    } else {
        gap > 0.0
    };
    let region = (p * 10.0).floor() / 10.0;
    let (lo, hi) = (region, (region + 0.1).min(1.0));
    format!(
        "The model is {} between {lo:.1} and {hi:.1} ({label} {}): rows it scores {} on \
         average are {} {} of the time.",
        if over {
            "over-confident"
        } else {
            "under-confident"
        },
        fmt_number(ece),
        fmt_number(p),
        if binary { "positive" } else { "right" },
        fmt_percent(t)
    )
}

/// Score distributions by true class.
fn distribution_section(d: &Data<'_>, proba: &Proba, binary: bool, support: &[usize]) -> Section {
    let mut notes = Vec::new();
    let mut classes: Vec<usize> = (0..d.n_model).filter(|&k| support[k] > 0).collect();
    if classes.len() > MAX_CURVES {
        classes.sort_by(|&a, &b| support[b].cmp(&support[a]).then(a.cmp(&b)));
        notes.push(format!(
            "Distributions are drawn for the {MAX_CURVES} largest of {} classes.",
            classes.len()
        ));
        classes.truncate(MAX_CURVES);
        classes.sort_unstable();
    }
    let scores: Vec<Vec<f64>> = classes
        .iter()
        .map(|&k| {
            d.seen
                .iter()
                .filter(|&&i| d.y[i] as usize == k)
                .map(|&i| proba.row(i)[if binary { 1 } else { k }])
                .collect()
        })
        .collect();
    let labels: Vec<String> = classes
        .iter()
        .map(|&k| {
            if binary {
                format!("true {}", d.name(k as u32))
            } else {
                d.name(k as u32)
            }
        })
        .collect();
    let intro = if binary {
        format!(
            "The predicted probability of {} for the rows of each true class. The less the \
             two overlap, the better the model separates the classes.",
            q(&d.name(1))
        )
    } else {
        "The probability the model gives each row's true class, by class: mass near 1 means \
         confident, correct predictions; mass near 0, rows the model misses."
            .into()
    };
    let data = histogram_data(&scores, &labels);
    let mut pair: Vec<Block> = Vec::new();
    pair.extend(plot_or_note(
        &mut notes,
        "score distribution",
        plot::score_distributions(&scores, &labels),
        None,
        data,
    ));
    let mut t = Table::new(["True class", "Rows", "10%", "Median", "90%"]);
    for (s, &k) in scores.iter().zip(&classes) {
        let mut sorted = s.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        t.push_row(vec![
            Cell::text(d.name(k as u32)),
            Cell::count(s.len()),
            Cell::number(percentile(&sorted, 10.0)),
            Cell::number(percentile(&sorted, 50.0)),
            Cell::number(percentile(&sorted, 90.0)),
        ]);
    }
    t.caption = Some(if binary {
        format!(
            "Percentiles of the probability of {} in each true class.",
            q(&d.name(1))
        )
    } else {
        "Percentiles of the probability of the true class, by class.".into()
    });
    pair.push(Block::Table(t));
    let mut blocks = vec![Block::Paragraph(intro), Block::Columns(pair)];
    if !notes.is_empty() {
        blocks.push(Block::Notes(notes));
    }
    Section::new("Score distributions", blocks)
}

/// Row counts per class on the shared bins of [`plot::score_distributions`] over [0, 1].
fn histogram_data(scores: &[Vec<f64>], labels: &[String]) -> Value {
    let largest = scores.iter().map(Vec::len).max().unwrap_or(1);
    let bins = ((largest as f64).sqrt().round() as usize).clamp(10, 40);
    let width = 1.0 / bins as f64;
    let edges: Vec<f64> = (0..=bins).map(|b| b as f64 * width).collect();
    let classes: Vec<Value> = scores
        .iter()
        .zip(labels)
        .map(|(s, label)| {
            let mut h = vec![0usize; bins];
            for &v in s {
                h[((v / width) as usize).min(bins - 1)] += 1;
            }
            json!({"label": label, "rows": s.len(), "counts": h})
        })
        .collect();
    json!({"edges": edges, "classes": classes})
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// The log loss of predicting each row's class share: the entropy of the shares.
fn entropy(shares: &[f64]) -> f64 {
    shares
        .iter()
        .filter(|&&p| p > 0.0)
        .map(|&p| -p * p.ln())
        .sum()
}
