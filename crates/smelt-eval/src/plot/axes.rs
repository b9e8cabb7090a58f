//! What every figure shares: the theme (palette, fonts, colours), tick placement and labels, the
//! axes layout and drawing, and the legend.

use super::canvas::{Align, Canvas, Rgb, VAlign};
use super::text;

/// Okabe & Ito's colour-blind-safe palette, in the order series take it (yellow, the palest on
/// white, last).
pub(crate) const PALETTE: [Rgb; 8] = [
    Rgb::hex(0x0072B2), // blue
    Rgb::hex(0xD55E00), // vermillion
    Rgb::hex(0x009E73), // bluish green
    Rgb::hex(0xCC79A7), // reddish purple
    Rgb::hex(0xE69F00), // orange
    Rgb::hex(0x56B4E9), // sky blue
    Rgb::hex(0x000000), // black
    Rgb::hex(0xF0E442), // yellow
];

/// The colour of series `i`.
pub(crate) fn color(i: usize) -> Rgb {
    PALETTE[i % PALETTE.len()]
}

pub(crate) const INK: Rgb = Rgb::hex(0x262626);
pub(crate) const MUTED: Rgb = Rgb::hex(0x595959);
pub(crate) const REFERENCE: Rgb = Rgb::hex(0x7F7F7F);
const GRID: Rgb = Rgb::hex(0xE5E5E5);
const SPINE: Rgb = Rgb::hex(0x4D4D4D);

pub(crate) const TITLE_SIZE: f64 = 15.0;
pub(crate) const NOTE_SIZE: f64 = 11.0;
pub(crate) const LABEL_SIZE: f64 = 12.5;
pub(crate) const TICK_SIZE: f64 = 11.0;
pub(crate) const LEGEND_SIZE: f64 = 11.0;
const TICK_LENGTH: f64 = 4.0;
const MARGIN: f64 = 12.0;

/// The default figure size in CSS pixels.
pub(crate) const WIDTH: u32 = 640;
/// The default figure height in CSS pixels.
pub(crate) const HEIGHT: u32 = 420;

/// Draws the title (and an optional note under it) and returns the top of the space left.
pub(crate) fn title(canvas: &mut Canvas, title: &str, note: Option<&str>) -> f64 {
    let max = canvas.width - 2.0 * MARGIN;
    let title = text::truncate(title, TITLE_SIZE, max);
    canvas.text(
        &title,
        (canvas.width / 2.0, MARGIN + 2.0),
        TITLE_SIZE,
        INK,
        (Align::Middle, VAlign::Top),
    );
    let mut bottom = MARGIN + 2.0 + TITLE_SIZE * text::CAP_HEIGHT;
    if let Some(note) = note {
        let note = text::truncate(note, NOTE_SIZE, max);
        canvas.text(
            &note,
            (canvas.width / 2.0, bottom + 7.0),
            NOTE_SIZE,
            MUTED,
            (Align::Middle, VAlign::Top),
        );
        bottom += 7.0 + NOTE_SIZE * text::CAP_HEIGHT;
    }
    bottom + 14.0
}

/// How an axis maps values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    Linear,
    Log,
}

/// One axis: its range, scale, ticks and title.
#[derive(Debug, Clone)]
pub(crate) struct Axis {
    pub lo: f64,
    pub hi: f64,
    pub scale: Scale,
    pub label: String,
    /// Labelled ticks (value, text).
    pub ticks: Vec<(f64, String)>,
    /// Unlabelled minor ticks (log axes).
    pub minor: Vec<f64>,
    /// Draw grid lines at the ticks.
    pub grid: bool,
}

impl Axis {
    /// A linear axis over `[lo, hi]` with nice ticks.
    pub(crate) fn linear(lo: f64, hi: f64, label: &str) -> Axis {
        let ticks = linear_ticks(lo, hi, 6);
        let labels = tick_labels(&ticks);
        Axis {
            lo,
            hi,
            scale: Scale::Linear,
            label: label.to_string(),
            ticks: ticks.into_iter().zip(labels).collect(),
            minor: vec![],
            grid: true,
        }
    }

    /// A logarithmic axis over `[lo, hi]` (both positive).
    pub(crate) fn log(lo: f64, hi: f64, label: &str) -> Axis {
        let (ticks, minor) = log_ticks(lo, hi);
        Axis {
            lo,
            hi,
            scale: Scale::Log,
            label: label.to_string(),
            ticks,
            minor,
            grid: true,
        }
    }

    /// A categorical axis: category `i` sits at `i`.
    pub(crate) fn categories(names: &[String], label: &str) -> Axis {
        Axis {
            lo: -0.5,
            hi: names.len() as f64 - 0.5,
            scale: Scale::Linear,
            label: label.to_string(),
            ticks: names
                .iter()
                .enumerate()
                .map(|(i, n)| (i as f64, n.clone()))
                .collect(),
            minor: vec![],
            grid: false,
        }
    }

    fn unit(&self, v: f64) -> f64 {
        match self.scale {
            Scale::Linear => (v - self.lo) / (self.hi - self.lo),
            Scale::Log => (v.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln()),
        }
    }

    fn widest_tick(&self) -> f64 {
        self.ticks
            .iter()
            .map(|(_, t)| text::width(t, TICK_SIZE))
            .fold(0.0, f64::max)
    }
}

/// A range over `values` padded by `pad` of its span on both sides, widened when degenerate.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in values {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let span = hi - lo;
    if span <= f64::EPSILON * lo.abs().max(hi.abs()).max(1e-300) {
        let half = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - half, hi + half);
    }
    (lo - pad * span, hi + pad * span)
}

/// A padded range on a log scale (values must be positive).
pub(crate) fn padded_log_range(values: impl IntoIterator<Item = f64>, pad: f64) -> (f64, f64) {
    let (lo, hi) = padded_range(values.into_iter().map(f64::ln), pad);
    (lo.exp(), hi.exp())
}

/// Nice linear ticks (steps of 1, 2, 2.5 or 5 times a power of ten) inside `[lo, hi]`.
pub(crate) fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let span = hi - lo;
    if span.is_nan() || span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let target = target.max(2);
    let raw = span / target as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let count = |s: f64| ((hi / s + 1e-9).floor() - (lo / s - 1e-9).ceil()) as i64 + 1;
    // The step whose tick count is closest to the target, the larger on ties; steps of 2.5
    // only when clearly closer.
    let miss = |m: f64| {
        let off = (count(m * magnitude) - target as i64).abs() as f64;
        if m == 2.5 { off + 0.6 } else { off }
    };
    let mut best = 10.0;
    for m in [5.0, 2.5, 2.0, 1.0] {
        if miss(m) < miss(best) {
            best = m;
        }
    }
    let step = best * magnitude;
    let first = (lo / step - 1e-9).ceil() as i64;
    let last = (hi / step + 1e-9).floor() as i64;
    (first..=last)
        .map(|i| {
            let v = i as f64 * step;
            if v.abs() < step * 1e-9 { 0.0 } else { v }
        })
        .collect()
}

/// Labels for evenly spaced ticks, all with the same number of decimals.
pub(crate) fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let step = if ticks.len() >= 2 {
        (ticks[1] - ticks[0]).abs()
    } else {
        ticks.first().map_or(1.0, |v| v.abs().max(1e-12))
    };
    let biggest = ticks.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if biggest >= 1e6 || (biggest > 0.0 && biggest < 1e-3) {
        return ticks.iter().map(|&v| short_number(v)).collect();
    }
    // Up to 12 decimals: scores of near-identical trials can differ in the 7th.
    let mut decimals = 0usize;
    while decimals < 12 {
        // The step must be a whole (non-zero) number of units of the last decimal.
        let scaled = step * 10f64.powi(decimals as i32);
        let whole = scaled.round();
        if whole >= 1.0 && (scaled - whole).abs() < 1e-6 * scaled {
            break;
        }
        decimals += 1;
    }
    ticks
        .iter()
        .map(|&v| minus(&format!("{v:.decimals$}")))
        .collect()
}

/// A number in few characters: `1.5M`, `0.0012`, `3e-05`.
pub(crate) fn short_number(v: f64) -> String {
    let a = v.abs();
    let s = if v == 0.0 {
        "0".to_string()
    } else if a >= 1e9 {
        format!("{}G", trim(v / 1e9, 2))
    } else if a >= 1e6 {
        format!("{}M", trim(v / 1e6, 2))
    } else if a >= 1e4 {
        format!("{}k", trim(v / 1e3, 1))
    } else if a >= 1.0 {
        trim(v, 2)
    } else if a >= 1e-3 {
        trim(v, 4)
    } else {
        format!("{v:.0e}")
    };
    minus(&s)
}

/// `v` with at most `decimals` decimals, trailing zeros removed.
pub(crate) fn trim(v: f64, decimals: usize) -> String {
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" { "0".into() } else { s }
}

/// A score for a legend: 3 decimals.
pub(crate) fn score(v: f64) -> String {
    minus(&format!("{v:.3}"))
}

/// A count with thousands separators.
pub(crate) fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Typographic minus signs.
fn minus(s: &str) -> String {
    s.replace('-', "\u{2212}")
}

fn superscript(k: i32) -> String {
    let digits = ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'];
    let mut out = String::new();
    if k < 0 {
        out.push('⁻');
    }
    for c in k.unsigned_abs().to_string().chars() {
        out.push(digits[c.to_digit(10).unwrap_or(0) as usize]);
    }
    out
}

/// Decade ticks labelled `10ᵏ` (with 2× and 5× when the range spans less than two decades), and
/// the minor ticks between.
fn log_ticks(lo: f64, hi: f64) -> (Vec<(f64, String)>, Vec<f64>) {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let mut major = vec![];
    let mut minor = vec![];
    for k in a..=b {
        let decade = 10f64.powi(k);
        if inside(decade) {
            let label = if (-2..=3).contains(&k) {
                trim(decade, 2)
            } else {
                format!("10{}", superscript(k))
            };
            major.push((decade, label));
        }
        for m in 2..=9 {
            let v = decade * f64::from(m);
            if inside(v) {
                minor.push(v);
            }
        }
    }
    if major.len() < 2 {
        major = minor
            .iter()
            .copied()
            .filter(|v| {
                let m = (v / 10f64.powf(v.log10().floor())).round();
                m == 2.0 || m == 5.0
            })
            .chain(major.iter().map(|(v, _)| *v))
            .map(|v| (v, short_number(v)))
            .collect();
        major.sort_by(|x, y| x.0.total_cmp(&y.0));
        minor.retain(|v| !major.iter().any(|(m, _)| (m - v).abs() < 1e-12 * v));
    }
    if major.len() < 2 {
        // Less than a factor of 2.5 between the ends: linear ticks read better.
        let ticks = linear_ticks(lo, hi, 5);
        let labels = tick_labels(&ticks);
        return (ticks.into_iter().zip(labels).collect(), vec![]);
    }
    (major, minor)
}

/// A rectangle in CSS pixels.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Rect {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

/// Options for laying out a panel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Layout {
    /// Show the x tick labels and title (off for an upper panel sharing its x axis).
    pub x_labels: bool,
    /// Turn the x tick labels to read upwards when they do not fit side by side.
    pub rotate_x: bool,
    /// A left edge to align with another panel.
    pub min_left: f64,
    /// Space kept on the right (for a colour bar).
    pub right_space: f64,
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            x_labels: true,
            rotate_x: true,
            min_left: 0.0,
            right_space: 0.0,
        }
    }
}

/// A laid-out panel: the plot area and its axes.
#[derive(Debug, Clone)]
pub(crate) struct Axes {
    pub area: Rect,
    pub x: Axis,
    pub y: Axis,
    x_vertical: bool,
    x_labels: bool,
}

impl Axes {
    /// Lays out a panel inside `region` (the figure less its title).
    pub(crate) fn new(region: Rect, x: Axis, y: Axis, layout: Layout) -> Axes {
        let y_title = if y.label.is_empty() {
            0.0
        } else {
            LABEL_SIZE + 8.0
        };
        let left = (region.left + MARGIN + y_title + y.widest_tick() + TICK_LENGTH + 5.0)
            .max(layout.min_left);
        let mut right = region.right - MARGIN - layout.right_space;
        // Room for half of the last x tick label, centred on the right end.
        if layout.x_labels
            && layout.right_space == 0.0
            && let Some((v, label)) = x.ticks.last()
        {
            let overhang = text::width(label, TICK_SIZE) / 2.0 + 4.0;
            let at = left + x.unit(*v) * (right - left);
            if at + overhang > region.right {
                right -= (at + overhang - region.right) / x.unit(*v).max(0.5);
            }
        }
        let mut x_vertical = false;
        let bottom_space = if layout.x_labels {
            let slots = (right - left) / (x.ticks.len().max(1) as f64);
            let widest = x.widest_tick();
            x_vertical = layout.rotate_x && widest > slots - 6.0;
            let tick_depth = if x_vertical {
                widest.min(region.bottom * 0.3)
            } else {
                TICK_SIZE
            };
            let title = if x.label.is_empty() {
                0.0
            } else {
                LABEL_SIZE + 10.0
            };
            TICK_LENGTH + 5.0 + tick_depth + title + MARGIN
        } else {
            8.0
        };
        Axes {
            area: Rect {
                left,
                top: region.top,
                right,
                bottom: region.bottom - bottom_space,
            },
            x,
            y,
            x_vertical,
            x_labels: layout.x_labels,
        }
    }

    /// The horizontal pixel position of `v`.
    pub(crate) fn px(&self, v: f64) -> f64 {
        self.area.left + self.x.unit(v) * (self.area.right - self.area.left)
    }

    /// The vertical pixel position of `v`.
    pub(crate) fn py(&self, v: f64) -> f64 {
        self.area.bottom - self.y.unit(v) * (self.area.bottom - self.area.top)
    }

    /// The pixel position of a data point.
    pub(crate) fn at(&self, (x, y): (f64, f64)) -> (f64, f64) {
        (self.px(x), self.py(y))
    }

    /// Data points to pixels.
    pub(crate) fn path(&self, x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
        x.iter()
            .zip(y)
            .map(|(&a, &b)| (self.px(a), self.py(b)))
            .collect()
    }

    /// Draws the grid (under the data).
    pub(crate) fn grid(&self, canvas: &mut Canvas) {
        let a = self.area;
        if self.y.grid {
            for &(v, _) in &self.y.ticks {
                let y = self.py(v);
                canvas.line(&[(a.left, y), (a.right, y)], GRID, 1.0, 1.0);
            }
        }
        if self.x.grid {
            for &(v, _) in &self.x.ticks {
                let x = self.px(v);
                canvas.line(&[(x, a.top), (x, a.bottom)], GRID, 1.0, 1.0);
            }
        }
    }

    /// Draws the spines, ticks, tick labels and axis titles (over the data).
    pub(crate) fn draw(&self, canvas: &mut Canvas) {
        let a = self.area;
        canvas.line(
            &[(a.left, a.top), (a.left, a.bottom), (a.right, a.bottom)],
            SPINE,
            1.0,
            1.0,
        );
        for &(v, ref label) in &self.y.ticks {
            let y = self.py(v);
            canvas.line(&[(a.left - TICK_LENGTH, y), (a.left, y)], SPINE, 1.0, 1.0);
            canvas.text(
                label,
                (a.left - TICK_LENGTH - 4.0, y),
                TICK_SIZE,
                INK,
                (Align::End, VAlign::Middle),
            );
        }
        for &v in &self.y.minor {
            let y = self.py(v);
            canvas.line(&[(a.left - 2.5, y), (a.left, y)], SPINE, 1.0, 1.0);
        }
        for &v in &self.x.minor {
            let x = self.px(v);
            canvas.line(&[(x, a.bottom), (x, a.bottom + 2.5)], SPINE, 1.0, 1.0);
        }
        let mut depth = TICK_SIZE;
        for &(v, ref label) in &self.x.ticks {
            let x = self.px(v);
            canvas.line(
                &[(x, a.bottom), (x, a.bottom + TICK_LENGTH)],
                SPINE,
                1.0,
                1.0,
            );
            if !self.x_labels {
                continue;
            }
            let y = a.bottom + TICK_LENGTH + 4.0;
            if self.x_vertical {
                let max = (canvas.height - y - LABEL_SIZE - 2.0 * MARGIN).max(30.0);
                let label = text::truncate(label, TICK_SIZE, max);
                depth = depth.max(text::width(&label, TICK_SIZE));
                canvas.vtext(&label, (x, y), TICK_SIZE, INK, (Align::End, VAlign::Middle));
            } else {
                canvas.text(label, (x, y), TICK_SIZE, INK, (Align::Middle, VAlign::Top));
            }
        }
        if self.x_labels && !self.x.label.is_empty() {
            canvas.text(
                &self.x.label,
                (
                    (a.left + a.right) / 2.0,
                    a.bottom + TICK_LENGTH + 4.0 + depth + 10.0,
                ),
                LABEL_SIZE,
                INK,
                (Align::Middle, VAlign::Top),
            );
        }
        if !self.y.label.is_empty() {
            let label = text::truncate(&self.y.label, LABEL_SIZE, a.bottom - a.top + 40.0);
            let x = a.left - TICK_LENGTH - 5.0 - self.y.widest_tick() - 8.0;
            canvas.vtext(
                &label,
                (x, (a.top + a.bottom) / 2.0),
                LABEL_SIZE,
                INK,
                (Align::Middle, VAlign::Bottom),
            );
        }
    }
}

/// How a legend entry is drawn.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Swatch {
    /// A solid line, with a marker when `marker`.
    Line { color: Rgb, marker: bool },
    /// A dashed line.
    Dashed(Rgb),
    /// A marker alone.
    Marker(Rgb),
    /// A filled square.
    Patch(Rgb, f64),
}

/// Where a legend may go, in order of preference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Corner {
    UpperRight,
    UpperLeft,
    LowerRight,
    LowerLeft,
}

/// Draws a legend in the corner of the plot area that covers the fewest of `avoid` (pixel
/// positions of the data), ties going to the earlier corner in `corners`.
pub(crate) fn legend(
    canvas: &mut Canvas,
    axes: &Axes,
    entries: &[(String, Swatch)],
    avoid: &[(f64, f64)],
    corners: &[Corner],
) {
    if entries.is_empty() {
        return;
    }
    let a = axes.area;
    let (pad, row, swatch, gap, inset) = (8.0, 18.0, 24.0, 7.0, 8.0);
    let max_text = ((a.right - a.left) * 0.6 - swatch - gap - 2.0 * pad).max(40.0);
    let labels: Vec<String> = entries
        .iter()
        .map(|(l, _)| text::truncate(l, LEGEND_SIZE, max_text))
        .collect();
    let widest = labels
        .iter()
        .map(|l| text::width(l, LEGEND_SIZE))
        .fold(0.0, f64::max);
    let w = 2.0 * pad + swatch + gap + widest;
    let h = 2.0 * pad + row * entries.len() as f64 - (row - LEGEND_SIZE);
    let place = |c: Corner| -> (f64, f64) {
        match c {
            Corner::UpperRight => (a.right - inset - w, a.top + inset),
            Corner::UpperLeft => (a.left + inset, a.top + inset),
            Corner::LowerRight => (a.right - inset - w, a.bottom - inset - h),
            Corner::LowerLeft => (a.left + inset, a.bottom - inset - h),
        }
    };
    let all = [
        Corner::UpperRight,
        Corner::UpperLeft,
        Corner::LowerRight,
        Corner::LowerLeft,
    ];
    let order: Vec<Corner> = corners
        .iter()
        .copied()
        .chain(all.iter().copied().filter(|c| !corners.contains(c)))
        .collect();
    let covered = |(x0, y0): (f64, f64)| {
        avoid
            .iter()
            .filter(|(x, y)| {
                *x >= x0 - 4.0 && *x <= x0 + w + 4.0 && *y >= y0 - 4.0 && *y <= y0 + h + 4.0
            })
            .count()
    };
    let mut best = (usize::MAX, order[0]);
    for c in order {
        let n = covered(place(c));
        if n < best.0 {
            best = (n, c);
        }
    }
    let (x0, y0) = place(best.1);
    canvas.rect((x0, y0), (x0 + w, y0 + h), Rgb(255, 255, 255), 0.9);
    canvas.frame((x0, y0), (x0 + w, y0 + h), Rgb::hex(0xCCCCCC), 1.0);
    for (i, (label, (_, kind))) in labels.iter().zip(entries).enumerate() {
        let cy = y0 + pad + LEGEND_SIZE * 0.5 + row * i as f64 - 1.0;
        let (sx0, sx1) = (x0 + pad, x0 + pad + swatch);
        match *kind {
            Swatch::Line { color, marker } => {
                canvas.line(&[(sx0, cy), (sx1, cy)], color, 1.0, 2.0);
                if marker {
                    canvas.dot(((sx0 + sx1) / 2.0, cy), 3.0, color, 1.0);
                }
            }
            Swatch::Dashed(color) => {
                canvas.dashed(&[(sx0, cy), (sx1, cy)], color, 1.5, (5.0, 3.5));
            }
            Swatch::Marker(color) => canvas.dot(((sx0 + sx1) / 2.0, cy), 3.5, color, 1.0),
            Swatch::Patch(color, alpha) => {
                canvas.rect((sx0 + 4.0, cy - 5.5), (sx1 - 4.0, cy + 5.5), color, alpha);
            }
        }
        canvas.text(
            label,
            (sx1 + gap, cy),
            LEGEND_SIZE,
            INK,
            (Align::Start, VAlign::Middle),
        );
    }
}

/// Points along a polyline, about every 4 pixels, for [`legend`] to avoid.
pub(crate) fn densify(path: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let mut out = Vec::with_capacity(path.len());
    for pair in path.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        let steps = ((b.0 - a.0).hypot(b.1 - a.1) / 4.0)
            .ceil()
            .clamp(1.0, 1000.0) as usize;
        for s in 0..steps {
            let t = s as f64 / steps as f64;
            out.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
        }
    }
    out.extend(path.last());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_ticks_are_nice() {
        assert_eq!(
            linear_ticks(0.0, 1.0, 6),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        assert_eq!(tick_labels(&linear_ticks(0.0, 1.0, 6))[3], "0.6");
        assert_eq!(
            tick_labels(&linear_ticks(-3.2, 7.9, 6)),
            vec!["\u{2212}2", "0", "2", "4", "6"]
        );
        assert_eq!(tick_labels(&[0.0, 2.5, 5.0]), vec!["0.0", "2.5", "5.0"]);
    }

    #[test]
    fn log_ticks_label_decades() {
        let (major, minor) = log_ticks(1e-4, 1e2);
        let labels: Vec<&str> = major.iter().map(|(_, l)| l.as_str()).collect();
        assert_eq!(
            labels,
            vec!["10⁻⁴", "10⁻³", "0.01", "0.1", "1", "10", "100"]
        );
        assert!(!minor.is_empty());
        let (major, _) = log_ticks(3.0, 40.0);
        assert!(major.len() >= 2, "{major:?}");
        let (major, _) = log_ticks(3.1, 3.9);
        assert!(major.len() >= 2, "{major:?}");
    }

    #[test]
    fn counts_and_numbers_read_well() {
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(12), "12");
        assert_eq!(short_number(1_500_000.0), "1.5M");
        assert_eq!(score(0.91234), "0.912");
        assert_eq!(padded_range([2.0, 2.0], 0.05), (1.8, 2.2));
    }
}

#[cfg(test)]
mod narrow_range_tests {
    use super::*;

    #[test]
    fn narrow_ranges_keep_distinct_labels() {
        for (lo, hi) in [(0.60071, 0.60128), (0.60123629, 0.60123684)] {
            let ticks = linear_ticks(lo, hi, 6);
            let labels = tick_labels(&ticks);
            let mut unique = labels.clone();
            unique.dedup();
            assert!(ticks.len() >= 2, "{ticks:?}");
            assert_eq!(unique.len(), labels.len(), "{ticks:?} {labels:?}");
        }
    }
}
