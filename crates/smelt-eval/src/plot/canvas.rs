//! The one drawing path: figures record drawing operations in CSS pixels on a [`Canvas`], which
//! is then replayed through plotters' [`DrawingBackend`] trait into either backend:
//!
//! * [`SvgBackend`](super::svg::SvgBackend) (`svg.rs`): compact, deterministic SVG (coordinates to 0.1 px, markers of
//!   one style grouped, font family set once);
//! * [`RasterBackend`]: plotters' bitmap backend with text from the embedded font, at twice the
//!   pixel density, encoded as PNG.

use std::convert::Infallible;

use plotters_backend::text_anchor::{HPos, Pos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontFamily, FontTransform,
};
use plotters_bitmap::BitMapBackend;

use super::text;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// From `0xRRGGBB`.
    pub(crate) const fn hex(v: u32) -> Rgb {
        Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }

    /// Relative luminance (0 black, 1 white), for choosing a readable text colour.
    pub(crate) fn luminance(self) -> f64 {
        fn lin(c: u8) -> f64 {
            let c = f64::from(c) / 255.0;
            if c <= 0.040_45 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        }
        0.2126 * lin(self.0) + 0.7152 * lin(self.1) + 0.0722 * lin(self.2)
    }

    /// Linear interpolation between two colours.
    pub(crate) fn mix(self, other: Rgb, t: f64) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
        Rgb(m(self.0, other.0), m(self.1, other.1), m(self.2, other.2))
    }
}

/// Horizontal alignment of text on its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Align {
    Start,
    Middle,
    End,
}

/// Vertical alignment of text on its anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VAlign {
    /// The top of capitals on the anchor.
    Top,
    /// The middle of capitals on the anchor.
    Middle,
    /// The bottom of descenders on the anchor.
    Bottom,
}

/// One recorded drawing operation, in CSS pixels.
#[derive(Debug, Clone, PartialEq)]
enum Op {
    Stroke {
        points: Vec<(f64, f64)>,
        color: Rgb,
        alpha: f64,
        width: f64,
    },
    Fill {
        points: Vec<(f64, f64)>,
        color: Rgb,
        alpha: f64,
    },
    Rect {
        corners: [f64; 4],
        color: Rgb,
        alpha: f64,
    },
    Circle {
        center: (f64, f64),
        radius: f64,
        color: Rgb,
        alpha: f64,
        /// `None`: filled; `Some(w)`: a ring of stroke width `w`.
        ring: Option<f64>,
    },
    Text {
        text: String,
        /// The baseline anchor.
        at: (f64, f64),
        size: f64,
        color: Rgb,
        align: Align,
        vertical: bool,
    },
}

/// A figure being drawn: its size and the recorded operations.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Canvas {
    pub width: f64,
    pub height: f64,
    ops: Vec<Op>,
}

impl Canvas {
    /// An empty white canvas.
    pub(crate) fn new(width: u32, height: u32) -> Canvas {
        let mut canvas = Canvas {
            width: f64::from(width),
            height: f64::from(height),
            ops: Vec::new(),
        };
        canvas.rect(
            (0.0, 0.0),
            (canvas.width, canvas.height),
            Rgb(255, 255, 255),
            1.0,
        );
        canvas
    }

    /// A polyline; points closer than a quarter pixel to the last kept one are dropped.
    pub(crate) fn line(&mut self, points: &[(f64, f64)], color: Rgb, alpha: f64, width: f64) {
        let mut kept: Vec<(f64, f64)> = Vec::with_capacity(points.len());
        for (i, &p) in points.iter().enumerate() {
            let last = i + 1 == points.len();
            match kept.last() {
                Some(&q) if !last && (p.0 - q.0).hypot(p.1 - q.1) < 0.25 => {}
                _ => kept.push(p),
            }
        }
        if kept.len() >= 2 {
            self.ops.push(Op::Stroke {
                points: kept,
                color,
                alpha,
                width,
            });
        }
    }

    /// A dashed polyline (`dash` pixels drawn, `gap` pixels skipped).
    pub(crate) fn dashed(
        &mut self,
        points: &[(f64, f64)],
        color: Rgb,
        width: f64,
        (dash, gap): (f64, f64),
    ) {
        let mut on = true;
        let mut left = dash;
        let mut current = vec![];
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let length = (b.0 - a.0).hypot(b.1 - a.1);
            let mut done = 0.0;
            if on && current.is_empty() {
                current.push(a);
            }
            while length - done > 1e-9 {
                let step = left.min(length - done);
                done += step;
                left -= step;
                let t = done / length;
                let p = (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                if on {
                    current.push(p);
                }
                if left <= 1e-9 {
                    if on {
                        self.line(&current, color, 1.0, width);
                        current.clear();
                    } else {
                        current.push(p);
                    }
                    on = !on;
                    left = if on { dash } else { gap };
                }
            }
        }
        if on && current.len() >= 2 {
            self.line(&current, color, 1.0, width);
        }
    }

    /// A filled polygon.
    pub(crate) fn fill(&mut self, points: &[(f64, f64)], color: Rgb, alpha: f64) {
        if points.len() >= 3 {
            self.ops.push(Op::Fill {
                points: points.to_vec(),
                color,
                alpha,
            });
        }
    }

    /// A filled rectangle between two corners.
    pub(crate) fn rect(&mut self, a: (f64, f64), b: (f64, f64), color: Rgb, alpha: f64) {
        self.ops.push(Op::Rect {
            corners: [a.0.min(b.0), a.1.min(b.1), a.0.max(b.0), a.1.max(b.1)],
            color,
            alpha,
        });
    }

    /// The outline of a rectangle.
    pub(crate) fn frame(&mut self, a: (f64, f64), b: (f64, f64), color: Rgb, width: f64) {
        let points = [(a.0, a.1), (b.0, a.1), (b.0, b.1), (a.0, b.1), (a.0, a.1)];
        self.line(&points, color, 1.0, width);
    }

    /// A filled disc.
    pub(crate) fn dot(&mut self, center: (f64, f64), radius: f64, color: Rgb, alpha: f64) {
        self.ops.push(Op::Circle {
            center,
            radius,
            color,
            alpha,
            ring: None,
        });
    }

    /// A circle outline.
    pub(crate) fn ring(&mut self, center: (f64, f64), radius: f64, color: Rgb, width: f64) {
        self.ops.push(Op::Circle {
            center,
            radius,
            color,
            alpha: 1.0,
            ring: Some(width),
        });
    }

    /// Text anchored at `at`, horizontal.
    pub(crate) fn text(
        &mut self,
        text: &str,
        at: (f64, f64),
        size: f64,
        color: Rgb,
        (align, valign): (Align, VAlign),
    ) {
        let down = baseline_shift(valign, size);
        self.push_text(text, (at.0, at.1 + down), size, color, align, false);
    }

    /// Text anchored at `at`, turned to read upwards (for vertical axis titles).
    pub(crate) fn vtext(
        &mut self,
        text: &str,
        at: (f64, f64),
        size: f64,
        color: Rgb,
        (align, valign): (Align, VAlign),
    ) {
        let down = baseline_shift(valign, size);
        self.push_text(text, (at.0 + down, at.1), size, color, align, true);
    }

    fn push_text(
        &mut self,
        text: &str,
        at: (f64, f64),
        size: f64,
        color: Rgb,
        align: Align,
        vertical: bool,
    ) {
        if !text.is_empty() {
            self.ops.push(Op::Text {
                text: text.to_string(),
                at,
                size,
                color,
                align,
                vertical,
            });
        }
    }

    /// Replays the recorded operations on a backend, `scale` backend units per CSS pixel.
    pub(crate) fn replay<B: DrawingBackend>(
        &self,
        backend: &mut B,
        scale: f64,
    ) -> Result<(), DrawingErrorKind<B::ErrorType>> {
        let p = |(x, y): (f64, f64)| -> BackendCoord {
            ((x * scale).round() as i32, (y * scale).round() as i32)
        };
        let w = |width: f64| -> u32 { (width * scale).round().max(1.0) as u32 };
        for op in &self.ops {
            match op {
                Op::Stroke {
                    points,
                    color,
                    alpha,
                    width,
                } => {
                    let style = Style::new(*color, *alpha, w(*width));
                    let mut coords: Vec<BackendCoord> = points.iter().map(|&q| p(q)).collect();
                    coords.dedup();
                    if coords.len() == 1 {
                        coords.push(coords[0]);
                    }
                    backend.draw_path(coords, &style)?;
                }
                Op::Fill {
                    points,
                    color,
                    alpha,
                } => {
                    let style = Style::new(*color, *alpha, 1);
                    let mut coords: Vec<BackendCoord> = points.iter().map(|&q| p(q)).collect();
                    coords.dedup();
                    backend.fill_polygon(coords, &style)?;
                }
                Op::Rect {
                    corners,
                    color,
                    alpha,
                } => {
                    let style = Style::new(*color, *alpha, 1);
                    let (a, b) = (p((corners[0], corners[1])), p((corners[2], corners[3])));
                    if b.0 > a.0 && b.1 > a.1 {
                        // Filled rectangles cover [a, b): adjacent cells neither gap nor overlap.
                        backend.draw_rect(a, b, &style, true)?;
                    }
                }
                Op::Circle {
                    center,
                    radius,
                    color,
                    alpha,
                    ring,
                } => {
                    let r = (radius * scale).round().max(1.0) as u32;
                    match ring {
                        None => backend.draw_circle(
                            p(*center),
                            r,
                            &Style::new(*color, *alpha, 1),
                            true,
                        )?,
                        Some(width) => backend.draw_circle(
                            p(*center),
                            r,
                            &Style::new(*color, *alpha, w(*width)),
                            false,
                        )?,
                    }
                }
                Op::Text {
                    text,
                    at,
                    size,
                    color,
                    align,
                    vertical,
                } => {
                    let style = Label {
                        size: size * scale,
                        color: *color,
                        align: *align,
                        vertical: *vertical,
                    };
                    backend.draw_text(text, &style, p(*at))?;
                }
            }
        }
        backend.present()
    }
}

/// How far below the anchor the baseline lies for a vertical alignment.
fn baseline_shift(valign: VAlign, size: f64) -> f64 {
    match valign {
        VAlign::Top => text::CAP_HEIGHT * size,
        VAlign::Middle => text::CAP_HEIGHT * size / 2.0,
        VAlign::Bottom => -text::DESCENT * size,
    }
}

/// A stroke or fill style for the backends.
struct Style {
    color: BackendColor,
    width: u32,
}

impl Style {
    fn new(color: Rgb, alpha: f64, width: u32) -> Style {
        Style {
            color: BackendColor {
                alpha,
                rgb: (color.0, color.1, color.2),
            },
            width,
        }
    }
}

impl BackendStyle for Style {
    fn color(&self) -> BackendColor {
        self.color
    }
    fn stroke_width(&self) -> u32 {
        self.width
    }
}

/// A text style for the backends: the position passed with it is the baseline anchor, and the
/// size is the em size in backend units.
struct Label {
    size: f64,
    color: Rgb,
    align: Align,
    vertical: bool,
}

impl BackendTextStyle for Label {
    type FontError = Infallible;

    fn color(&self) -> BackendColor {
        BackendColor {
            alpha: 1.0,
            rgb: (self.color.0, self.color.1, self.color.2),
        }
    }
    fn size(&self) -> f64 {
        self.size
    }
    fn transform(&self) -> FontTransform {
        if self.vertical {
            FontTransform::Rotate270
        } else {
            FontTransform::None
        }
    }
    fn anchor(&self) -> Pos {
        let h = match self.align {
            Align::Start => HPos::Left,
            Align::Middle => HPos::Center,
            Align::End => HPos::Right,
        };
        Pos::new(h, VPos::Bottom)
    }
    fn family(&self) -> FontFamily<'_> {
        FontFamily::Name(text::FONT_FAMILY)
    }
    fn layout_box(&self, s: &str) -> Result<((i32, i32), (i32, i32)), Infallible> {
        let w = text::width(s, self.size).round() as i32;
        let h = self.size.round() as i32;
        Ok(((0, -h), (w, 0)))
    }
    fn draw<E, F: FnMut(i32, i32, BackendColor) -> Result<(), E>>(
        &self,
        s: &str,
        pos: BackendCoord,
        mut draw: F,
    ) -> Result<Result<(), E>, Infallible> {
        let mut result = Ok(());
        let color = BackendTextStyle::color(self);
        rasterise_label(self, s, pos, |x, y, c| {
            if result.is_ok() {
                result = draw(
                    x,
                    y,
                    BackendColor {
                        alpha: c,
                        rgb: color.rgb,
                    },
                );
            }
        });
        Ok(result)
    }
}

fn rasterise_label(label: &Label, s: &str, pos: BackendCoord, mut put: impl FnMut(i32, i32, f64)) {
    let align = match label.align {
        Align::Start => 0.0,
        Align::Middle => 0.5,
        Align::End => 1.0,
    };
    text::rasterise(s, label.size, pos, align, label.vertical, |x, y, c| {
        put(x, y, f64::from(c.min(1.0)));
    });
}

/// Plotters' bitmap backend with the embedded font for text.
pub(crate) struct RasterBackend<'a> {
    inner: BitMapBackend<'a>,
}

impl<'a> RasterBackend<'a> {
    /// Draws into an RGB buffer of `width` × `height` pixels.
    pub(crate) fn new(buffer: &'a mut [u8], width: u32, height: u32) -> RasterBackend<'a> {
        RasterBackend {
            inner: BitMapBackend::with_buffer(buffer, (width, height)),
        }
    }
}

type RasterError = <BitMapBackend<'static> as DrawingBackend>::ErrorType;

impl DrawingBackend for RasterBackend<'_> {
    type ErrorType = RasterError;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        self.inner.fill_polygon(vert, style)
    }
    fn draw_text<T: BackendTextStyle>(
        &mut self,
        s: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<RasterError>> {
        let label = Label {
            size: style.size(),
            color: {
                let (r, g, b) = style.color().rgb;
                Rgb(r, g, b)
            },
            align: match style.anchor().h_pos {
                HPos::Left => Align::Start,
                HPos::Center => Align::Middle,
                HPos::Right => Align::End,
            },
            vertical: matches!(style.transform(), FontTransform::Rotate270),
        };
        let rgb = style.color().rgb;
        let mut result = Ok(());
        rasterise_label(&label, s, pos, |x, y, c| {
            if result.is_ok() && c > 0.0 {
                result = self
                    .inner
                    .draw_pixel((x, y), BackendColor { alpha: c, rgb });
            }
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashes_cover_about_the_drawn_fraction() {
        let mut c = Canvas::new(100, 100);
        c.dashed(&[(0.0, 0.0), (100.0, 0.0)], Rgb(0, 0, 0), 1.0, (6.0, 4.0));
        let strokes = c
            .ops
            .iter()
            .filter(|op| matches!(op, Op::Stroke { .. }))
            .count();
        assert_eq!(strokes, 10);
    }
}
