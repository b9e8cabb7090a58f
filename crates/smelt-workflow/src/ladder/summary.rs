//! What the ladder concludes: the calibration check of the best rung, paired differences
//! between rungs and the summary sentences.

use smelt_core::{Prediction, Target};
use smelt_eval::calibrate::{CalibratedParams, Method};
use smelt_eval::metrics::registry::{Scorer, find};

use super::{CalibrationCheck, Rung};
use crate::catalog::with_preprocessing;
use crate::folds::Folds;
use crate::prepare::Prepared;
use crate::select::run_cv;
use crate::train::TrainOptions;

/// ECE of the best rung's out-of-fold probabilities, before and after isotonic calibration
/// cross-fitted inside each fold (binary targets).
pub(super) fn calibration_check(
    rung: &Rung,
    p: &Prepared,
    folds: &Folds,
    opts: &TrainOptions<'_>,
) -> Option<CalibrationCheck> {
    let Some(Target::Classification { codes, classes }) = p.data.target() else {
        return None;
    };
    if classes.len() != 2 {
        return None;
    }
    let positive = |pred: &Prediction| -> Option<Vec<f64>> {
        smelt_eval::calibrate::threshold::positive_proba(pred, classes).ok()
    };
    let before = positive(rung.result.as_ref()?.oof.as_ref()?)?;
    let est = with_preprocessing(
        rung.info,
        rung.info.build(rung.params.as_map().clone()).ok()?,
        opts.preprocess,
    );
    let calibrated = CalibratedParams {
        estimator: Box::new(est),
        method: Method::Isotonic,
        folds: 3,
        ensemble: true,
    };
    let quiet = TrainOptions {
        on_event: None,
        tracker: None,
        ..*opts
    };
    let accuracy = find("accuracy").ok()?;
    let r = run_cv(
        &calibrated,
        &p.data,
        &folds.folds,
        &[accuracy],
        &quiet,
        None,
    )
    .ok()?;
    let after = positive(r.oof.as_ref()?)?;
    let y: Vec<u32> = codes.clone();
    let ece = smelt_eval::metrics::expected_calibration_error(&y, &before, 10, None).ok()?;
    let ece_isotonic =
        smelt_eval::metrics::expected_calibration_error(&y, &after, 10, None).ok()?;
    let strategy = smelt_eval::metrics::Strategy::Uniform;
    Some(CalibrationCheck {
        ece,
        ece_isotonic,
        before: smelt_eval::metrics::calibration_curve(&y, &before, 10, strategy).ok()?,
        after: smelt_eval::metrics::calibration_curve(&y, &after, 10, strategy).ok()?,
    })
}

/// Paired difference of the primary metric between two rungs: mean and standard deviation
/// of the per-fold differences.
pub fn paired_difference(a: &Rung, b: &Rung, metric: &str) -> Option<(f64, f64)> {
    let fa = &a.result.as_ref()?.metric(metric)?.folds;
    let fb = &b.result.as_ref()?.metric(metric)?.folds;
    let d: Vec<f64> = fa.iter().zip(fb).map(|(x, y)| x - y).collect();
    Some(smelt_eval::cv::mean_std(&d))
}

pub(super) fn summarise(
    rungs: &[Rung],
    best: usize,
    primary: &Scorer,
    cal: Option<&CalibrationCheck>,
) -> Vec<String> {
    let mut out = Vec::new();
    let name = primary.name;
    let score = |r: &Rung| {
        r.result
            .as_ref()
            .and_then(|x| x.metric(name))
            .map(|m| m.mean)
    };
    let b = &rungs[best];
    // Against the strongest simpler rung that ran.
    let runner = (0..rungs.len())
        .filter(|&i| i != best && score(&rungs[i]).is_some() && i != 0)
        .max_by(|&i, &j| {
            let (x, y) = (
                score(&rungs[i]).unwrap_or(f64::NAN),
                score(&rungs[j]).unwrap_or(f64::NAN),
            );
            if primary.greater_is_better {
                x.total_cmp(&y)
            } else {
                y.total_cmp(&x)
            }
        });
    match runner {
        Some(r) => {
            if let Some((d, s)) = paired_difference(b, &rungs[r], name)
                && d.abs() < 0.0005
            {
                out.push(format!(
                    "{} and {} tie on {name} ({:.3}; the simpler one is kept).",
                    b.label,
                    rungs[r].label,
                    score(b).unwrap_or(f64::NAN)
                ));
                let _ = s;
            } else if let Some((d, s)) = paired_difference(b, &rungs[r], name) {
                let word = if primary.greater_is_better == (d >= 0.0) {
                    "beats"
                } else {
                    "trails"
                };
                out.push(format!(
                    "{} {word} {} by {:.3} {name} (± {:.3} across folds).",
                    b.label,
                    rungs[r].label,
                    d.abs(),
                    s
                ));
            }
        }
        None => out.push(format!("{} is the only rung that ran.", b.label)),
    }
    if let (Some(d), Some(bs)) = (score(&rungs[0]), score(b)) {
        out.push(format!(
            "The {} baseline scores {d:.3} {name}; {} reaches {bs:.3}.",
            rungs[0].label, b.label
        ));
    }
    let weak: Vec<&str> = rungs[1..]
        .iter()
        .filter(|r| match (score(r), score(&rungs[0])) {
            (Some(v), Some(d)) => !primary.better(v, d),
            _ => false,
        })
        .map(|r| r.label)
        .collect();
    if !weak.is_empty() {
        out.push(format!("No better than the baseline: {}.", weak.join(", ")));
    }
    if let Some(c) = cal {
        let verdict = if c.ece_isotonic + 0.005 < c.ece {
            format!("isotonic calibration brings it to {:.3}", c.ece_isotonic)
        } else if c.ece_isotonic < c.ece {
            format!(
                "close enough: isotonic calibration would only bring it to {:.3}",
                c.ece_isotonic
            )
        } else {
            format!(
                "isotonic calibration would not lower it ({:.3})",
                c.ece_isotonic
            )
        };
        out.push(format!(
            "Its calibration error (ECE) is {:.3} — {verdict}.",
            c.ece
        ));
    }
    if !b.trials.is_empty() {
        out.push(format!(
            "{} was tuned over {} trials.",
            b.label,
            b.trials.len()
        ));
    }
    out
}
