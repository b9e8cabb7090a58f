//! Plots of monitoring: one column's distribution in the reference and the current data
//! (numbers as overlaid histograms, categories as paired bars), and a metric over time windows
//! with its band and threshold.

use super::axes::{self, Axes, Axis, Corner, Layout, Swatch};
use super::canvas::{Canvas, Rgb};
use super::curves::region;
use super::{Plot, check_values, text};
use crate::error::{EvalError, Result, check_lengths};

/// Two samples of one numeric column as overlaid density histograms on shared bins (the
/// reference in the first colour, the current data in the second), so a shift shows at a
/// glance. Each sample is normalised on its own, so sizes may differ. NaNs are left out.
///
/// Errors when either sample has no finite value.
pub fn distribution_overlay(column: &str, reference: &[f64], current: &[f64]) -> Result<Plot> {
    let context = "distribution_overlay";
    let finite = |v: &[f64]| -> Vec<f64> { v.iter().copied().filter(|x| x.is_finite()).collect() };
    let (r, c) = (finite(reference), finite(current));
    check_values(context, "reference", &r)?;
    check_values(context, "current", &c)?;
    let all = || r.iter().chain(&c).copied();
    let (mut lo, mut hi) = all().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    if lo == hi {
        lo -= 0.5;
        hi += 0.5;
    }
    let bins = ((r.len().max(c.len()) as f64).sqrt().round() as usize).clamp(10, 40);
    let width = (hi - lo) / bins as f64;
    let hist = |v: &[f64]| -> Vec<f64> {
        let mut h = vec![0.0; bins];
        for &x in v {
            let b = (((x - lo) / width) as usize).min(bins - 1);
            h[b] += 1.0;
        }
        let scale = 1.0 / (v.len() as f64 * width);
        h.iter().map(|n| n * scale).collect()
    };
    let hs = [hist(&r), hist(&c)];
    let peak = hs.iter().flatten().fold(0.0f64, |m, v| m.max(*v));
    let title = format!("{column}: reference and current");
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, &title, None);
    let (xlo, xhi) = axes::padded_range([lo, hi], 0.02);
    let ax = Axes::new(
        region(&canvas, top),
        Axis::linear(xlo, xhi, column),
        Axis::linear(0.0, peak.max(f64::MIN_POSITIVE) * 1.08, "Density"),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let names = [
        format!("reference (n = {})", axes::count(r.len())),
        format!("current (n = {})", axes::count(c.len())),
    ];
    super::scatter::draw_densities(&mut canvas, &ax, (lo, hi, width), &hs, &names);
    Ok(Plot::new(title, canvas))
}

/// The share of each category in the reference and the current data as paired horizontal bars
/// (at most `top` categories, the largest combined share first).
///
/// Errors when the lengths differ or a share is negative or not finite.
pub fn category_shares<S: AsRef<str>>(
    column: &str,
    labels: &[S],
    reference: &[f64],
    current: &[f64],
    top: usize,
) -> Result<Plot> {
    let context = "category_shares";
    check_values(context, "reference", reference)?;
    check_values(context, "current", current)?;
    check_lengths(
        context,
        ("labels", labels.len()),
        ("reference", reference.len()),
    )?;
    check_lengths(
        context,
        ("labels", labels.len()),
        ("current", current.len()),
    )?;
    if reference.iter().chain(current).any(|&s| s < 0.0) {
        return Err(EvalError::input(context, "a share is negative"));
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    order.sort_by(|&a, &b| {
        (reference[b] + current[b])
            .total_cmp(&(reference[a] + current[a]))
            .then(a.cmp(&b))
    });
    let shown = top.max(1).min(order.len());
    order.truncate(shown);
    let note = (shown < labels.len()).then(|| {
        format!(
            "{} largest of {} categories",
            shown,
            axes::count(labels.len())
        )
    });
    let title = format!("{column}: category shares");
    let height = (140.0 + 34.0 * shown as f64).clamp(260.0, 1400.0) as u32;
    let mut canvas = Canvas::new(axes::WIDTH, height);
    let top_y = axes::title(&mut canvas, &title, note.as_deref());
    let names: Vec<String> = order
        .iter()
        .rev()
        .map(|&i| text::truncate(labels[i].as_ref(), axes::TICK_SIZE, 200.0))
        .collect();
    let peak = order
        .iter()
        .map(|&i| reference[i].max(current[i]))
        .fold(0.0, f64::max);
    let ax = Axes::new(
        region(&canvas, top_y),
        Axis::linear(0.0, (peak * 1.08).max(f64::MIN_POSITIVE), "Share of rows"),
        Axis::categories(&names, ""),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let slot = (ax.area.bottom - ax.area.top) / shown as f64;
    let half = (slot * 0.2).min(9.0);
    for (k, &i) in order.iter().rev().enumerate() {
        let cy = ax.py(k as f64);
        for (s, (v, dy)) in [(reference[i], -half), (current[i], half)]
            .into_iter()
            .enumerate()
        {
            let y0 = cy + dy - half;
            canvas.rect(
                (ax.px(0.0), y0),
                (ax.px(v), y0 + 2.0 * half),
                axes::color(s),
                0.85,
            );
        }
    }
    ax.draw(&mut canvas);
    let entries = vec![
        ("reference".to_string(), Swatch::Patch(axes::color(0), 0.85)),
        ("current".to_string(), Swatch::Patch(axes::color(1), 0.85)),
    ];
    axes::legend(
        &mut canvas,
        &ax,
        &entries,
        &[],
        &[Corner::LowerRight, Corner::UpperRight],
    );
    Ok(Plot::new(title, canvas))
}

/// One metric over time windows: the values as a line with points, an optional confidence band
/// (`low`/`high`, same length, or empty), and optional threshold lines; windows whose value is
/// flagged in `alerts` get a red marker.
#[allow(
    clippy::too_many_arguments,
    reason = "one plot, every part optional but named"
)]
pub fn window_series<S: AsRef<str>>(
    title: &str,
    windows: &[S],
    values: &[f64],
    low: &[f64],
    high: &[f64],
    thresholds: &[f64],
    alerts: &[bool],
    axis: &str,
) -> Result<Plot> {
    let context = "window_series";
    check_lengths(
        context,
        ("windows", windows.len()),
        ("values", values.len()),
    )?;
    if values.is_empty() {
        return Err(EvalError::input(context, "no window to plot"));
    }
    let finite: Vec<f64> = values
        .iter()
        .chain(low)
        .chain(high)
        .chain(thresholds)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    check_values(context, "values", &finite)?;
    let (ylo, yhi) = axes::padded_range(finite.iter().copied(), 0.08);
    let mut canvas = Canvas::new(axes::WIDTH, axes::HEIGHT);
    let top = axes::title(&mut canvas, title, None);
    let names: Vec<String> = windows
        .iter()
        .map(|w| text::truncate(w.as_ref(), axes::TICK_SIZE, 90.0))
        .collect();
    let ax = Axes::new(
        region(&canvas, top),
        Axis::categories(&names, "Window"),
        Axis::linear(ylo, yhi, axis),
        Layout::default(),
    );
    ax.grid(&mut canvas);
    let xs: Vec<f64> = (0..values.len()).map(|i| i as f64).collect();
    if low.len() == values.len() && high.len() == values.len() {
        let mut band: Vec<(f64, f64)> = xs
            .iter()
            .zip(high)
            .filter(|(_, h)| h.is_finite())
            .map(|(&x, &h)| ax.at((x, h)))
            .collect();
        band.extend(
            xs.iter()
                .zip(low)
                .rev()
                .filter(|(_, l)| l.is_finite())
                .map(|(&x, &l)| ax.at((x, l))),
        );
        if band.len() >= 3 {
            canvas.fill(&band, axes::color(0), 0.15);
        }
    }
    for &t in thresholds.iter().filter(|t| t.is_finite()) {
        let y = ax.py(t);
        canvas.line(
            &[(ax.area.left, y), (ax.area.right, y)],
            Rgb::hex(0xB22222),
            0.8,
            1.2,
        );
    }
    let points: Vec<(f64, f64)> = xs
        .iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .map(|(&x, &v)| ax.at((x, v)))
        .collect();
    canvas.line(&points, axes::color(0), 1.0, 2.0);
    for (i, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            continue;
        }
        let alert = alerts.get(i).copied().unwrap_or(false);
        let color = if alert {
            Rgb::hex(0xD62728)
        } else {
            axes::color(0)
        };
        let (x, y) = ax.at((i as f64, v));
        canvas.rect((x - 3.5, y - 3.5), (x + 3.5, y + 3.5), color, 1.0);
    }
    ax.draw(&mut canvas);
    Ok(Plot::new(title.into(), canvas))
}
