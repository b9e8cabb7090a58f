//! Regression scatter plots and the score distributions.

use super::axes::{self, Axes, Axis, Corner, Layout, Swatch};
use super::canvas::Canvas;
use super::curves::region;
use super::{Plot, check_values, sample_indices, sample_note};
use crate::error::{EvalError, Result, check_lengths};

/// Marker radius and opacity for `n` points: smaller and lighter as they crowd.
fn marker(n: usize) -> (f64, f64) {
    match n {
        0..=300 => (3.0, 0.75),
        301..=2_000 => (2.5, 0.5),
        _ => (2.0, 0.35),
    }
}

/// Residuals (actual − predicted) against predicted values, with the zero line. Above
/// [`MAX_POINTS`](super::MAX_POINTS) points an evenly spaced sample is drawn, as the note under
/// the title says.
///
/// Errors when the inputs are empty, differ in length, or hold NaN or infinite values.
pub fn residuals(predicted: &[f64], residual: &[f64]) -> Result<Plot> {
    let context = "residuals";
    check_lengths(
        context,
        ("predicted", predicted.len()),
        ("residual", residual.len()),
    )?;
    check_values(context, "predicted", predicted)?;
    check_values(context, "residual", residual)?;
    let keep = sample_indices(predicted.len());
    let note = sample_note(keep.len(), predicted.len());
    let title = "Residuals";
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, note.as_deref());
    let (xlo, xhi) = axes::padded_range(predicted.iter().copied(), 0.04);
    let (ylo, yhi) = axes::padded_range(residual.iter().copied().chain([0.0]), 0.06);
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(xlo, xhi, "Predicted value"),
        Axis::linear(ylo, yhi, "Residual (actual − predicted)"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let (r, alpha) = marker(keep.len());
    for &i in &keep {
        canvas.dot(ax.at((predicted[i], residual[i])), r, axes::color(0), alpha);
    }
    let zero = [ax.at((xlo, 0.0)), ax.at((xhi, 0.0))];
    canvas.line(&zero, axes::INK, 1.0, 1.5);
    ax.draw(&mut canvas);
    Ok(Plot::new(title.into(), canvas))
}

/// Actual values against predicted values, on equal ranges, with the identity line of perfect
/// prediction. Sampled above [`MAX_POINTS`](super::MAX_POINTS) points like [`residuals`].
///
/// Errors when the inputs are empty, differ in length, or hold NaN or infinite values.
pub fn predicted_vs_actual(predicted: &[f64], actual: &[f64]) -> Result<Plot> {
    let context = "predicted_vs_actual";
    check_lengths(
        context,
        ("predicted", predicted.len()),
        ("actual", actual.len()),
    )?;
    check_values(context, "predicted", predicted)?;
    check_values(context, "actual", actual)?;
    let keep = sample_indices(predicted.len());
    let note = sample_note(keep.len(), predicted.len());
    let title = "Predicted vs actual";
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, note.as_deref());
    let (lo, hi) = axes::padded_range(predicted.iter().chain(actual).copied(), 0.04);
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(lo, hi, "Predicted value"),
        Axis::linear(lo, hi, "Actual value"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let (r, alpha) = marker(keep.len());
    let mut avoid = Vec::with_capacity(keep.len());
    for &i in &keep {
        let p = ax.at((predicted[i], actual[i]));
        canvas.dot(p, r, axes::color(0), alpha);
        avoid.push(p);
    }
    let diagonal = [ax.at((lo, lo)), ax.at((hi, hi))];
    canvas.dashed(&diagonal, axes::INK, 1.5, (6.0, 4.0));
    avoid.extend(axes::densify(&diagonal));
    ax.draw(&mut canvas);
    let entries = [
        ("Samples".to_string(), Swatch::Marker(axes::color(0))),
        ("Perfect prediction".to_string(), Swatch::Dashed(axes::INK)),
    ];
    axes::legend(
        &mut canvas,
        &ax,
        &entries,
        &avoid,
        &[Corner::UpperLeft, Corner::LowerRight],
    );
    Ok(Plot::new(title.into(), canvas))
}

/// The distribution of predicted scores for each class, as overlaid density histograms on
/// shared bins (over [0, 1] when every score is a probability); `scores[k]` holds the scores of
/// the samples whose true class is `labels[k]`.
///
/// Errors when there are no classes, a class has no score, `labels` does not name every class,
/// or a score is NaN or infinite.
pub fn score_distributions<S: AsRef<str>>(scores: &[Vec<f64>], labels: &[S]) -> Result<Plot> {
    let context = "score_distributions";
    if scores.is_empty() {
        return Err(EvalError::input_hint(
            context,
            "no classes to plot",
            "pass one score vector per class",
        ));
    }
    check_lengths(context, ("scores", scores.len()), ("labels", labels.len()))?;
    for class in scores {
        check_values(context, "scores", class)?;
    }
    let all = || scores.iter().flatten().copied();
    let probabilities = all().all(|v| (0.0..=1.0).contains(&v));
    let (lo, hi) = if probabilities {
        (0.0, 1.0)
    } else {
        axes::padded_range(all(), 0.0)
    };
    let largest = scores.iter().map(Vec::len).max().unwrap_or(1);
    let bins = ((largest as f64).sqrt().round() as usize).clamp(10, 40);
    let width = (hi - lo) / bins as f64;
    let histograms: Vec<Vec<f64>> = scores
        .iter()
        .map(|class| {
            let mut h = vec![0.0; bins];
            for &v in class {
                let b = (((v - lo) / width) as usize).min(bins - 1);
                h[b] += 1.0;
            }
            let scale = 1.0 / (class.len() as f64 * width);
            h.iter().map(|c| c * scale).collect()
        })
        .collect();
    let peak = histograms.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
    let title = "Score distribution by class";
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, None);
    let (xlo, xhi) = if probabilities {
        (-0.02, 1.02)
    } else {
        axes::padded_range([lo, hi], 0.02)
    };
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(xlo, xhi, "Predicted score"),
        Axis::linear(0.0, peak.max(f64::MIN_POSITIVE) * 1.08, "Density"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let names: Vec<String> = labels
        .iter()
        .zip(scores)
        .map(|(l, s)| format!("{} (n = {})", l.as_ref(), axes::count(s.len())))
        .collect();
    draw_densities(&mut canvas, &ax, (lo, hi, width), &histograms, &names);
    Ok(Plot::new(title.into(), canvas))
}

/// Draws density histograms on shared bins (`lo`, `hi`, bin `width`) as filled outlines, one
/// colour each, then the axes and a legend naming each series: what [`score_distributions`] and
/// the drift overlay share.
pub(super) fn draw_densities(
    canvas: &mut Canvas,
    ax: &Axes,
    (lo, hi, width): (f64, f64, f64),
    histograms: &[Vec<f64>],
    names: &[String],
) {
    let outlines: Vec<Vec<(f64, f64)>> = histograms
        .iter()
        .map(|h| {
            let mut outline = vec![ax.at((lo, 0.0))];
            for (b, &d) in h.iter().enumerate() {
                let x0 = lo + width * b as f64;
                outline.push(ax.at((x0, d)));
                outline.push(ax.at((x0 + width, d)));
            }
            outline.push(ax.at((hi, 0.0)));
            outline
        })
        .collect();
    // Fills first, then outlines, so that no fill veils another series' outline.
    for (k, outline) in outlines.iter().enumerate() {
        canvas.fill(outline, axes::color(k), 0.2);
    }
    let mut avoid = vec![];
    let mut entries = vec![];
    for (k, outline) in outlines.iter().enumerate() {
        let color = axes::color(k);
        canvas.line(outline, color, 1.0, 1.8);
        avoid.extend(axes::densify(outline));
        entries.push((
            names.get(k).cloned().unwrap_or_default(),
            Swatch::Patch(color, 0.6),
        ));
    }
    ax.draw(canvas);
    axes::legend(
        canvas,
        ax,
        &entries,
        &avoid,
        &[Corner::UpperRight, Corner::UpperLeft],
    );
}
