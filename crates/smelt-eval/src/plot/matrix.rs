//! The confusion matrix heatmap and the importance bars: plots with one row per category.

use super::axes::{self, Axes, Axis, Layout, Rect};
use super::canvas::{Align, Canvas, Rgb, VAlign};
use super::curves::region;
use super::{Plot, check_values, text};
use crate::error::{EvalError, Result, check_finite, check_lengths};

/// A sequential blue scale, white to navy (after ColorBrewer's Blues), readable by colour-blind
/// readers since it varies in lightness only.
const BLUES: [(f64, Rgb); 5] = [
    (0.0, Rgb::hex(0xF7FBFF)),
    (0.3, Rgb::hex(0xC6DBEF)),
    (0.55, Rgb::hex(0x6BAED6)),
    (0.8, Rgb::hex(0x2171B5)),
    (1.0, Rgb::hex(0x08306B)),
];

fn blues(t: f64) -> Rgb {
    let t = t.clamp(0.0, 1.0);
    for pair in BLUES.windows(2) {
        let ((a, ca), (b, cb)) = (pair[0], pair[1]);
        if t <= b {
            return ca.mix(cb, (t - a) / (b - a));
        }
    }
    BLUES[BLUES.len() - 1].1
}

/// Longest tick label on a category axis, in pixels.
const MAX_LABEL: f64 = 150.0;

/// A confusion matrix heatmap: row `i`, column `j` holds how many samples of true class
/// `labels[i]` were predicted as `labels[j]` (or, when `normalized`, that fraction). Each cell
/// shows its value, in white on dark cells; a colour bar gives the scale.
///
/// Errors when the matrix is empty or not square, `labels` does not name every class, or a value
/// is negative, NaN or infinite.
pub fn confusion_matrix<S: AsRef<str>>(
    matrix: &[Vec<f64>],
    labels: &[S],
    normalized: bool,
) -> Result<Plot> {
    let context = "confusion_matrix";
    let n = matrix.len();
    if n == 0 {
        return Err(EvalError::input_hint(
            context,
            "the matrix is empty",
            "pass one row per true class",
        ));
    }
    for row in matrix {
        check_lengths(context, ("matrix rows", n), ("a row", row.len()))?;
        check_finite(context, "matrix", row)?;
        if let Some(v) = row.iter().find(|v| **v < 0.0) {
            return Err(EvalError::input_hint(
                context,
                format!("the matrix holds a negative value ({v})"),
                "pass counts or rates, which are never negative",
            ));
        }
    }
    check_lengths(context, ("matrix rows", n), ("labels", labels.len()))?;
    let names: Vec<String> = labels
        .iter()
        .map(|l| text::truncate(l.as_ref(), axes::TICK_SIZE, MAX_LABEL))
        .collect();
    let reversed: Vec<String> = names.iter().rev().cloned().collect();
    let title = if normalized {
        "Confusion matrix (normalized)"
    } else {
        "Confusion matrix"
    };
    let mut canvas = Canvas::new(600, 540);
    let top = axes::title(&mut canvas, title, None);
    let largest = matrix.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
    // Rates span [0, 1]; counts up to the largest (1 when all are zero).
    let vmax = if normalized || largest == 0.0 {
        largest.max(1.0)
    } else {
        largest
    };
    let bar_ticks = axes::linear_ticks(0.0, vmax, 5);
    let bar_labels = axes::tick_labels(&bar_ticks);
    let bar_width = bar_labels
        .iter()
        .map(|l| text::width(l, axes::TICK_SIZE))
        .fold(0.0, f64::max);
    let right_space = 16.0 + 14.0 + 8.0 + bar_width;
    let layout = Layout {
        right_space,
        ..Layout::default()
    };
    let make = |r: Rect| {
        Axes::new(
            r,
            Axis::categories(&names, "Predicted label"),
            Axis::categories(&reversed, "True label"),
            layout,
        )
    };
    let mut whole = region(&canvas, top);
    let first = make(whole);
    let (w, h) = (
        first.area.right - first.area.left,
        first.area.bottom - first.area.top,
    );
    if w > h {
        let spare = w - h;
        whole.right -= spare;
        whole.left += spare / 2.0;
        whole.right += spare / 2.0;
    } else {
        whole.bottom -= h - w;
    }
    let ax = make(whole);
    let cell = (ax.area.right - ax.area.left) / n as f64;
    for (i, row) in matrix.iter().enumerate() {
        for (j, &v) in row.iter().enumerate() {
            let t = v / vmax;
            let fill = blues(t);
            let (x0, y0) = (
                ax.area.left + cell * j as f64,
                ax.area.top + cell * i as f64,
            );
            canvas.rect((x0, y0), (x0 + cell, y0 + cell), fill, 1.0);
            let label = if normalized {
                format!("{v:.2}")
            } else if v.fract() == 0.0 && v < 1e15 {
                axes::count(v as usize)
            } else {
                axes::trim(v, 2)
            };
            let ink = if fill.luminance() < 0.35 {
                Rgb(255, 255, 255)
            } else {
                axes::INK
            };
            let mut size: f64 = (cell * 0.38).min(13.0);
            while size >= 7.5 && text::width(&label, size) > cell - 6.0 {
                size -= 0.5;
            }
            if size >= 7.5 {
                canvas.text(
                    &label,
                    (x0 + cell / 2.0, y0 + cell / 2.0),
                    size,
                    ink,
                    (Align::Middle, VAlign::Middle),
                );
            }
        }
    }
    // Thin white lines between cells.
    if cell >= 12.0 {
        for k in 1..n {
            let x = ax.area.left + cell * k as f64;
            let y = ax.area.top + cell * k as f64;
            canvas.line(
                &[(x, ax.area.top), (x, ax.area.bottom)],
                Rgb(255, 255, 255),
                1.0,
                1.0,
            );
            canvas.line(
                &[(ax.area.left, y), (ax.area.right, y)],
                Rgb(255, 255, 255),
                1.0,
                1.0,
            );
        }
    }
    ax.draw(&mut canvas);
    // The colour bar.
    let (bx0, bx1) = (ax.area.right + 16.0, ax.area.right + 30.0);
    let (btop, bbottom) = (ax.area.top, ax.area.bottom);
    let steps = 48;
    for s in 0..steps {
        let t0 = s as f64 / steps as f64;
        let t1 = (s + 1) as f64 / steps as f64;
        let y1 = bbottom - (bbottom - btop) * t0;
        let y0 = bbottom - (bbottom - btop) * t1;
        canvas.rect((bx0, y0), (bx1, y1), blues((t0 + t1) / 2.0), 1.0);
    }
    canvas.frame((bx0, btop), (bx1, bbottom), Rgb::hex(0x4D4D4D), 1.0);
    for (v, label) in bar_ticks.iter().zip(&bar_labels) {
        let y = bbottom - (bbottom - btop) * (v / vmax);
        canvas.line(&[(bx1, y), (bx1 + 4.0, y)], Rgb::hex(0x4D4D4D), 1.0, 1.0);
        canvas.text(
            label,
            (bx1 + 7.0, y),
            axes::TICK_SIZE,
            axes::INK,
            (Align::Start, VAlign::Middle),
        );
    }
    Ok(Plot::new(title.into(), canvas))
}

/// Feature importances as horizontal bars, largest on top, with ± one standard deviation error
/// bars (`std` may be empty); only the `top` largest when given. The horizontal axis is titled
/// `axis` (for permutation importance, say, "Decrease in accuracy").
///
/// Errors when there are no features, lengths differ, a value is NaN or infinite, a standard
/// deviation is negative, or `top` is `Some(0)`.
pub fn importance<S: AsRef<str>>(
    names: &[S],
    mean: &[f64],
    std: &[f64],
    top: Option<usize>,
    axis: &str,
) -> Result<Plot> {
    let context = "importance";
    check_values(context, "mean", mean)?;
    check_lengths(context, ("names", names.len()), ("mean", mean.len()))?;
    let scores = super::Scores::new(mean, std);
    super::check_scores(context, "mean", &scores, mean.len())?;
    if top == Some(0) {
        return Err(EvalError::input_hint(
            context,
            "`top` is 0: no feature to show",
            "pass None for all features, or a positive number",
        ));
    }
    let mut order: Vec<usize> = (0..mean.len()).collect();
    order.sort_by(|&a, &b| mean[b].total_cmp(&mean[a]).then(a.cmp(&b)));
    let shown = top.unwrap_or(order.len()).min(order.len());
    order.truncate(shown);
    let sd = |i: usize| std.get(i).copied().unwrap_or(0.0);
    let note = (shown < mean.len())
        .then(|| format!("top {} of {} features", shown, axes::count(mean.len())));
    let title = "Feature importance";
    let height = (120.0 + 24.0 * shown as f64).clamp(260.0, 1400.0) as u32;
    let mut canvas = Canvas::new(axes::WIDTH, height);
    let top_y = axes::title(&mut canvas, title, note.as_deref());
    // Category `k` sits at k; the first (largest) goes on top.
    let labels: Vec<String> = order
        .iter()
        .rev()
        .map(|&i| text::truncate(names[i].as_ref(), axes::TICK_SIZE, 200.0))
        .collect();
    let lo = order.iter().map(|&i| mean[i] - sd(i)).fold(0.0, f64::min);
    let hi = order.iter().map(|&i| mean[i] + sd(i)).fold(0.0, f64::max);
    let (xlo, xhi) = axes::padded_range([lo, hi], 0.04);
    let xlo = if lo >= 0.0 { 0.0 } else { xlo };
    let ax = Axes::new(
        region(&canvas, top_y),
        Axis::linear(xlo, xhi, axis),
        Axis::categories(&labels, ""),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let slot = (ax.area.bottom - ax.area.top) / shown as f64;
    let half = (slot * 0.35).min(14.0);
    for (k, &i) in order.iter().rev().enumerate() {
        let cy = ax.py(k as f64);
        canvas.rect(
            (ax.px(0.0), cy - half),
            (ax.px(mean[i]), cy + half),
            axes::color(0),
            0.9,
        );
        if sd(i) > 0.0 {
            let (a, b) = (ax.px(mean[i] - sd(i)), ax.px(mean[i] + sd(i)));
            let ink = Rgb::hex(0x333333);
            let cap = (half * 0.5).min(4.0);
            canvas.line(&[(a, cy), (b, cy)], ink, 1.0, 1.5);
            canvas.line(&[(a, cy - cap), (a, cy + cap)], ink, 1.0, 1.5);
            canvas.line(&[(b, cy - cap), (b, cy + cap)], ink, 1.0, 1.5);
        }
    }
    if xlo < 0.0 {
        let x = ax.px(0.0);
        canvas.line(
            &[(x, ax.area.top), (x, ax.area.bottom)],
            axes::MUTED,
            1.0,
            1.0,
        );
    }
    ax.draw(&mut canvas);
    Ok(Plot::new(title.into(), canvas))
}
