//! Learning and validation curves, and the tuning history.

use super::axes::{self, Axes, Axis, Corner, Layout, Swatch};
use super::canvas::{Canvas, Rgb};
use super::curves::region;
use super::{ParamValues, Plot, Scores, check_scores, check_values};
use crate::error::{EvalError, Result};

/// A learning curve: training and validation scores (mean, with a ± one standard deviation
/// band) by the number of training examples; the vertical axis is named after `metric`.
///
/// Errors when `sizes` is empty or has a single size, lengths differ, a value is NaN or
/// infinite, or a standard deviation is negative.
pub fn learning_curve(
    sizes: &[f64],
    train: Scores<'_>,
    validation: Scores<'_>,
    metric: &str,
) -> Result<Plot> {
    let context = "learning_curve";
    check_values(context, "sizes", sizes)?;
    at_least_two(context, sizes.len(), "training sizes")?;
    check_scores(context, "train", &train, sizes.len())?;
    check_scores(context, "validation", &validation, sizes.len())?;
    let (lo, hi) = axes::padded_range(sizes.iter().copied(), 0.04);
    let x = Axis::linear(lo, hi, "Training examples");
    score_plot("Learning curve", x, sizes, train, validation, metric, false)
}

/// A validation curve: training and validation scores (mean ± one standard deviation) by the
/// value of hyperparameter `param`, on a linear, logarithmic or categorical axis.
///
/// Errors when there are no values, lengths differ, a value is NaN or infinite, a standard
/// deviation is negative, a numeric axis has a single value, or a log axis a value ≤ 0.
pub fn validation_curve(
    param: &str,
    values: ParamValues<'_>,
    train: Scores<'_>,
    validation: Scores<'_>,
    metric: &str,
) -> Result<Plot> {
    let context = "validation_curve";
    let title = format!("Validation curve: {param}");
    match values {
        ParamValues::Linear(v) | ParamValues::Log(v) => {
            check_values(context, "values", v)?;
            at_least_two(context, v.len(), "parameter values")?;
            check_scores(context, "train", &train, v.len())?;
            check_scores(context, "validation", &validation, v.len())?;
            let x = if let ParamValues::Log(_) = values {
                if let Some(i) = v.iter().position(|x| *x <= 0.0) {
                    return Err(EvalError::input_hint(
                        context,
                        format!("value {} at index {i} cannot go on a log axis", v[i]),
                        "use ParamValues::Linear for zero or negative values",
                    ));
                }
                let (lo, hi) = axes::padded_log_range(v.iter().copied(), 0.04);
                Axis::log(lo, hi, param)
            } else {
                let (lo, hi) = axes::padded_range(v.iter().copied(), 0.04);
                Axis::linear(lo, hi, param)
            };
            score_plot(&title, x, v, train, validation, metric, false)
        }
        ParamValues::Categorical(names) => {
            if names.is_empty() {
                return Err(EvalError::input_hint(
                    context,
                    "`values` is empty: there is nothing to plot",
                    "pass the values the parameter took",
                ));
            }
            check_scores(context, "train", &train, names.len())?;
            check_scores(context, "validation", &validation, names.len())?;
            let positions: Vec<f64> = (0..names.len()).map(|i| i as f64).collect();
            let x = Axis::categories(names, param);
            score_plot(&title, x, &positions, train, validation, metric, true)
        }
    }
}

fn at_least_two(context: &str, n: usize, what: &str) -> Result<()> {
    if n < 2 {
        Err(EvalError::input_hint(
            context,
            format!("a single point: a curve needs at least two {what}"),
            format!("pass two or more {what}"),
        ))
    } else {
        Ok(())
    }
}

/// The shared drawing of learning and validation curves.
fn score_plot(
    title: &str,
    x: Axis,
    xs: &[f64],
    train: Scores<'_>,
    validation: Scores<'_>,
    metric: &str,
    categorical: bool,
) -> Result<Plot> {
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, None);
    let extent = |s: &Scores<'_>| -> Vec<f64> {
        let mut v = s.mean.to_vec();
        for (i, sd) in s.std.iter().enumerate() {
            v.push(s.mean[i] + sd);
            v.push(s.mean[i] - sd);
        }
        v
    };
    let (lo, hi) = axes::padded_range(extent(&train).into_iter().chain(extent(&validation)), 0.06);
    let ax = Axes::new(
        region(&canvas, top),
        x,
        Axis::linear(lo, hi, metric),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let series = [
        ("Training score", train, axes::color(0)),
        ("Validation score", validation, axes::color(1)),
    ];
    let mut avoid = vec![];
    let mut entries = vec![];
    for (k, (label, scores, color)) in series.iter().enumerate() {
        if categorical {
            let offset = if k == 0 { -0.08 } else { 0.08 };
            for (i, &m) in scores.mean.iter().enumerate() {
                let cx = xs[i] + offset;
                if let Some(sd) = scores.std.get(i) {
                    error_bar(
                        &mut canvas,
                        ax.at((cx, m - sd)),
                        ax.at((cx, m + sd)),
                        *color,
                    );
                    avoid.push(ax.at((cx, m - sd)));
                    avoid.push(ax.at((cx, m + sd)));
                }
                canvas.dot(ax.at((cx, m)), 4.0, *color, 1.0);
                avoid.push(ax.at((cx, m)));
            }
            entries.push((label.to_string(), Swatch::Marker(*color)));
        } else {
            band(&mut canvas, &ax, xs, scores, *color, &mut avoid);
            let path = ax.path(xs, scores.mean);
            canvas.line(&path, *color, 1.0, 2.0);
            for &p in &path {
                canvas.dot(p, 3.5, *color, 1.0);
            }
            avoid.extend(axes::densify(&path));
            entries.push((
                label.to_string(),
                Swatch::Line {
                    color: *color,
                    marker: true,
                },
            ));
        }
    }
    ax.draw(&mut canvas);
    axes::legend(
        &mut canvas,
        &ax,
        &entries,
        &avoid,
        &[Corner::LowerRight, Corner::UpperRight],
    );
    Ok(Plot::new(title.to_string(), canvas))
}

/// A ± std band under a line.
fn band(
    canvas: &mut Canvas,
    ax: &Axes,
    xs: &[f64],
    scores: &Scores<'_>,
    color: Rgb,
    avoid: &mut Vec<(f64, f64)>,
) {
    if scores.std.is_empty() {
        return;
    }
    let upper: Vec<(f64, f64)> = xs
        .iter()
        .zip(scores.mean.iter().zip(scores.std))
        .map(|(&x, (&m, &s))| ax.at((x, m + s)))
        .collect();
    let lower: Vec<(f64, f64)> = xs
        .iter()
        .zip(scores.mean.iter().zip(scores.std))
        .map(|(&x, (&m, &s))| ax.at((x, m - s)))
        .collect();
    avoid.extend(axes::densify(&upper));
    avoid.extend(axes::densify(&lower));
    let polygon: Vec<(f64, f64)> = upper.into_iter().chain(lower.into_iter().rev()).collect();
    canvas.fill(&polygon, color, 0.18);
}

/// A vertical error bar with caps.
pub(crate) fn error_bar(canvas: &mut Canvas, a: (f64, f64), b: (f64, f64), color: Rgb) {
    canvas.line(&[a, b], color, 1.0, 1.5);
    for p in [a, b] {
        canvas.line(&[(p.0 - 4.0, p.1), (p.0 + 4.0, p.1)], color, 1.0, 1.5);
    }
}

/// The tuning history: each trial's score as a dot and the best score so far as a step line,
/// the best trial circled; `greater_is_better` says which way is best. NaN or infinite values
/// are failed trials: they are left out and counted under the title.
///
/// Errors when `values` is empty or has no finite value.
pub fn tuning_history(values: &[f64], greater_is_better: bool, metric: &str) -> Result<Plot> {
    let context = "tuning_history";
    if values.is_empty() {
        return Err(EvalError::input_hint(
            context,
            "`values` is empty: no trial to plot",
            "run at least one trial",
        ));
    }
    let trials: Vec<(f64, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| ((i + 1) as f64, v))
        .collect();
    if trials.is_empty() {
        return Err(EvalError::input_hint(
            context,
            format!(
                "all {} trials failed (NaN or infinite scores)",
                values.len()
            ),
            "check the trials' errors; there is no score to plot",
        ));
    }
    let better = |a: f64, b: f64| if greater_is_better { a > b } else { a < b };
    let mut best = trials[0];
    let mut steps = vec![];
    for &(t, v) in &trials {
        if better(v, best.1) {
            steps.push((t, best.1));
            best = (t, v);
        }
        steps.push((t, best.1));
    }
    steps.push((values.len() as f64, best.1));
    let failed = values.len() - trials.len();
    let direction = if greater_is_better { "higher" } else { "lower" };
    let mut note = format!(
        "best {} at trial {} of {} ({direction} is better)",
        axes::trim(best.1, 4),
        best.0 as usize,
        values.len()
    );
    if failed > 0 {
        let trials = if failed == 1 { "trial" } else { "trials" };
        note.push_str(&format!("; {failed} failed {trials} not shown"));
    }
    let title = "Tuning history";
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, Some(&note));
    let n = values.len() as f64;
    let (lo, hi) = axes::padded_range([1.0, n], 0.03);
    let mut x = Axis::linear(lo.min(0.5), hi.max(n + 0.5), "Trial");
    x.ticks = axes::linear_ticks(x.lo, x.hi, 8)
        .into_iter()
        .filter(|t| *t >= 1.0 && t.fract() == 0.0)
        .map(|t| (t, axes::count(t as usize)))
        .collect();
    let (ylo, yhi) = axes::padded_range(trials.iter().map(|t| t.1), 0.06);
    let ax = Axes::new(
        region(&canvas, top),
        x,
        Axis::linear(ylo, yhi, metric),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let alpha = if trials.len() > 200 { 0.45 } else { 0.7 };
    let mut avoid = vec![];
    for &p in &trials {
        canvas.dot(ax.at(p), 3.0, axes::color(0), alpha);
        avoid.push(ax.at(p));
    }
    let path: Vec<(f64, f64)> = steps.iter().map(|&p| ax.at(p)).collect();
    canvas.line(&path, axes::color(1), 1.0, 2.0);
    avoid.extend(axes::densify(&path));
    canvas.ring(ax.at(best), 7.0, axes::color(1), 1.5);
    ax.draw(&mut canvas);
    let entries = [
        ("Trial".to_string(), Swatch::Marker(axes::color(0))),
        (
            "Best so far".to_string(),
            Swatch::Line {
                color: axes::color(1),
                marker: false,
            },
        ),
    ];
    let corners = if greater_is_better {
        [Corner::LowerRight, Corner::UpperRight]
    } else {
        [Corner::UpperRight, Corner::LowerRight]
    };
    axes::legend(&mut canvas, &ax, &entries, &avoid, &corners);
    Ok(Plot::new(title.into(), canvas))
}
