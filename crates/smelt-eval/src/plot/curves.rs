//! ROC and precision–recall curves, and the reliability diagram.

use super::axes::{self, Axes, Axis, Corner, Layout, Rect, Swatch};
use super::canvas::Canvas;
use super::{Curve, Plot, Reliability, check_values};
use crate::error::{EvalError, Result, check_finite, check_lengths};

/// Data-space range of the probability axes: [0, 1] with a little room so that lines on 0 and
/// 1 stay clear of the spines.
const UNIT: (f64, f64) = (-0.02, 1.02);

/// ROC curves (false positive rate → true positive rate), one per [`Curve`], with the chance
/// diagonal; the legend shows each curve's [`Curve::score`] as its AUC.
///
/// Errors when `curves` is empty, a curve has fewer than two points, its coordinates differ in
/// length, or a coordinate is not a rate in [0, 1].
pub fn roc(curves: &[Curve]) -> Result<Plot> {
    check_curves("roc", curves)?;
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, "ROC curve", None);
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(UNIT.0, UNIT.1, "False positive rate"),
        Axis::linear(UNIT.0, UNIT.1, "True positive rate"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let diagonal = [ax.at((0.0, 0.0)), ax.at((1.0, 1.0))];
    canvas.dashed(&diagonal, axes::REFERENCE, 1.5, (6.0, 4.0));
    let mut entries = vec![];
    let mut avoid = vec![];
    for (i, curve) in curves.iter().enumerate() {
        let path = ax.path(&curve.x, &curve.y);
        canvas.line(&path, axes::color(i), 1.0, 2.0);
        avoid.extend(axes::densify(&path));
        entries.push((
            with_score(&curve.label, "AUC", curve.score),
            Swatch::Line {
                color: axes::color(i),
                marker: false,
            },
        ));
    }
    entries.push((
        "Chance (AUC = 0.500)".to_string(),
        Swatch::Dashed(axes::REFERENCE),
    ));
    avoid.extend(axes::densify(&diagonal));
    ax.draw(&mut canvas);
    axes::legend(
        &mut canvas,
        &ax,
        &entries,
        &avoid,
        &[Corner::LowerRight, Corner::UpperLeft],
    );
    Ok(Plot::new("ROC curve".into(), canvas))
}

/// Precision–recall curves (recall → precision), one per [`Curve`]; the legend shows each
/// curve's [`Curve::score`] as its average precision. A curve's [`Curve::baseline`] (its
/// positive rate) is drawn as the no-skill line: one grey line when all curves share it, a line
/// in each curve's colour otherwise.
///
/// Errors as [`roc`] does, and when a baseline is not in [0, 1].
pub fn precision_recall(curves: &[Curve]) -> Result<Plot> {
    let context = "precision_recall";
    check_curves(context, curves)?;
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let title = "Precision–recall curve";
    let top = axes::title(&mut canvas, title, None);
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(UNIT.0, UNIT.1, "Recall"),
        Axis::linear(UNIT.0, UNIT.1, "Precision"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let baselines: Vec<(usize, f64)> = curves
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.baseline.map(|b| (i, b)))
        .collect();
    let shared = baselines
        .windows(2)
        .all(|w| (w[0].1 - w[1].1).abs() < 1e-12);
    let mut entries = vec![];
    let mut avoid = vec![];
    for &(i, b) in &baselines {
        let path = [ax.at((0.0, b)), ax.at((1.0, b))];
        let color = if shared {
            axes::REFERENCE
        } else {
            axes::color(i)
        };
        canvas.dashed(&path, color, 1.5, (6.0, 4.0));
        avoid.extend(axes::densify(&path));
        if shared {
            break;
        }
    }
    for (i, curve) in curves.iter().enumerate() {
        let path = ax.path(&curve.x, &curve.y);
        canvas.line(&path, axes::color(i), 1.0, 2.0);
        avoid.extend(axes::densify(&path));
        entries.push((
            with_score(&curve.label, "AP", curve.score),
            Swatch::Line {
                color: axes::color(i),
                marker: false,
            },
        ));
    }
    if let Some(&(_, b)) = baselines.first() {
        let label = if shared {
            format!("No skill (AP = {})", axes::score(b))
        } else {
            "No skill (each curve's positive rate)".to_string()
        };
        entries.push((label, Swatch::Dashed(axes::REFERENCE)));
    }
    ax.draw(&mut canvas);
    axes::legend(
        &mut canvas,
        &ax,
        &entries,
        &avoid,
        &[Corner::LowerLeft, Corner::UpperRight],
    );
    Ok(Plot::new(title.into(), canvas))
}

/// A reliability diagram: for each [`Reliability`] series, the fraction of positives against
/// the mean predicted probability per bin, over the perfect-calibration diagonal; below it, the
/// number of samples in each bin.
///
/// Errors when `series` is empty, a series is empty, its three vectors differ in length, or a
/// probability is not in [0, 1].
pub fn reliability(series: &[Reliability]) -> Result<Plot> {
    let context = "reliability";
    if series.is_empty() {
        return Err(EvalError::input_hint(
            context,
            "no series to plot",
            "pass at least one calibration curve",
        ));
    }
    for s in series {
        check_values(context, "mean_predicted", &s.mean_predicted)?;
        check_lengths(
            context,
            ("mean_predicted", s.mean_predicted.len()),
            ("fraction_positive", s.fraction_positive.len()),
        )?;
        check_lengths(
            context,
            ("mean_predicted", s.mean_predicted.len()),
            ("counts", s.counts.len()),
        )?;
        check_finite(context, "fraction_positive", &s.fraction_positive)?;
        check_unit(context, "mean_predicted", &s.mean_predicted)?;
        check_unit(context, "fraction_positive", &s.fraction_positive)?;
    }
    let mut canvas = Canvas::new(axes::WIDTH, 540);
    let title = "Reliability diagram";
    let top = axes::title(&mut canvas, title, None);
    let whole = region(&canvas, top);
    let split = whole.top + (whole.bottom - whole.top) * 0.66;
    let upper_region = Rect {
        bottom: split,
        ..whole
    };
    let lower_region = Rect {
        top: split + 14.0,
        ..whole
    };
    let most = series
        .iter()
        .flat_map(|s| s.counts.iter().copied())
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let make = |min_left: f64| {
        let upper = Axes::new(
            upper_region,
            Axis::linear(UNIT.0, UNIT.1, "Mean predicted probability"),
            Axis::linear(UNIT.0, UNIT.1, "Fraction of positives"),
            Layout {
                x_labels: false,
                min_left,
                ..Layout::default()
            },
        );
        let mut count_axis = Axis::linear(0.0, most * 1.08, "Samples");
        count_axis.ticks = axes::linear_ticks(0.0, most * 1.08, 3)
            .into_iter()
            .map(|v| (v, axes::short_number(v)))
            .collect();
        let lower = Axes::new(
            lower_region,
            Axis::linear(UNIT.0, UNIT.1, "Mean predicted probability"),
            count_axis,
            Layout {
                min_left,
                ..Layout::default()
            },
        );
        (upper, lower)
    };
    let (u, l) = make(0.0);
    let (upper, lower) = make(u.area.left.max(l.area.left));
    upper.grid(&mut canvas);
    lower.grid(&mut canvas);
    let diagonal = [upper.at((0.0, 0.0)), upper.at((1.0, 1.0))];
    canvas.dashed(&diagonal, axes::REFERENCE, 1.5, (6.0, 4.0));
    let mut entries = vec![];
    let mut avoid = axes::densify(&diagonal);
    let n = series.len() as f64;
    let bins = series
        .iter()
        .map(|s| s.mean_predicted.len())
        .max()
        .unwrap_or(1)
        .max(5) as f64;
    let group = 0.8 / bins;
    let width = group / n;
    for (i, s) in series.iter().enumerate() {
        let color = axes::color(i);
        let path = upper.path(&s.mean_predicted, &s.fraction_positive);
        canvas.line(&path, color, 1.0, 2.0);
        for &p in &path {
            canvas.dot(p, 3.5, color, 1.0);
        }
        avoid.extend(axes::densify(&path));
        entries.push((
            s.label.clone(),
            Swatch::Line {
                color,
                marker: true,
            },
        ));
        for (&m, &c) in s.mean_predicted.iter().zip(&s.counts) {
            let x0 = m - group / 2.0 + width * i as f64;
            canvas.rect(
                lower.at((x0, 0.0)),
                lower.at((x0 + width, c as f64)),
                color,
                0.75,
            );
        }
    }
    entries.push((
        "Perfectly calibrated".into(),
        Swatch::Dashed(axes::REFERENCE),
    ));
    upper.draw(&mut canvas);
    lower.draw(&mut canvas);
    axes::legend(
        &mut canvas,
        &upper,
        &entries,
        &avoid,
        &[Corner::UpperLeft, Corner::LowerRight],
    );
    Ok(Plot::new(title.into(), canvas))
}

/// The figure less its title.
pub(crate) fn region(canvas: &Canvas, top: f64) -> Rect {
    Rect {
        left: 0.0,
        top,
        right: canvas.width,
        bottom: canvas.height,
    }
}

fn with_score(label: &str, name: &str, score: Option<f64>) -> String {
    match score {
        Some(s) => format!("{label} ({name} = {})", axes::score(s)),
        None => label.to_string(),
    }
}

fn check_unit(context: &str, argument: &str, values: &[f64]) -> Result<()> {
    match values
        .iter()
        .position(|v| !(-1e-9..=1.0 + 1e-9).contains(v))
    {
        None => Ok(()),
        Some(i) => Err(EvalError::input_hint(
            context,
            format!(
                "`{argument}` has {} at index {i}, outside [0, 1]",
                values[i]
            ),
            "pass rates or probabilities, between 0 and 1",
        )),
    }
}

fn check_curves(context: &str, curves: &[Curve]) -> Result<()> {
    if curves.is_empty() {
        return Err(EvalError::input_hint(
            context,
            "no curves to plot",
            "pass at least one curve",
        ));
    }
    for curve in curves {
        check_lengths(context, ("x", curve.x.len()), ("y", curve.y.len()))?;
        check_values(context, "x", &curve.x)?;
        check_finite(context, "y", &curve.y)?;
        if curve.x.len() < 2 {
            return Err(EvalError::input_hint(
                context,
                format!("curve `{}` has a single point", curve.label),
                "a curve needs at least two points (thresholds)",
            ));
        }
        check_unit(context, "x", &curve.x)?;
        check_unit(context, "y", &curve.y)?;
        if let Some(s) = curve.score {
            check_finite(context, "score", &[s])?;
        }
        if let Some(b) = curve.baseline {
            check_finite(context, "baseline", &[b])?;
            check_unit(context, "baseline", &[b])?;
        }
    }
    Ok(())
}
