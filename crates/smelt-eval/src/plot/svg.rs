//! The SVG backend the figures are replayed into: compact, deterministic SVG (coordinates to
//! 0.1 px, markers of one style grouped, the font family set once), written by hand through
//! plotters' [`DrawingBackend`] trait (see [`super::canvas`]).

use std::convert::Infallible;
use std::fmt::Write as _;

use plotters_backend::text_anchor::HPos;
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

use super::text;

/// Writes SVG. Backend units are tenths of a CSS pixel, written back as pixels with one decimal.
pub(crate) struct SvgBackend {
    out: String,
    size: (u32, u32),
    /// The attributes of the open group of markers, if any.
    group: Option<String>,
}

/// Backend units per CSS pixel in SVG.
pub(crate) const SVG_SCALE: f64 = 10.0;

impl SvgBackend {
    /// An SVG document of `width` × `height` CSS pixels with a `<title>`.
    pub(crate) fn new(width: u32, height: u32, title: &str) -> SvgBackend {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
             viewBox=\"0 0 {width} {height}\" font-family=\"{}\" \
             stroke-linejoin=\"round\" stroke-linecap=\"round\">\n<title>",
            text::FONT_FAMILY
        );
        escape_into(&mut out, title);
        out.push_str("</title>\n");
        SvgBackend {
            out,
            size: (width * SVG_SCALE as u32, height * SVG_SCALE as u32),
            group: None,
        }
    }

    /// The finished document.
    pub(crate) fn finish(mut self) -> String {
        self.close_group();
        self.out.push_str("</svg>\n");
        self.out
    }

    fn close_group(&mut self) {
        if self.group.take().is_some() {
            self.out.push_str("</g>\n");
        }
    }

    fn paint(&mut self, attribute: &str, color: BackendColor) {
        let (r, g, b) = color.rgb;
        let _ = write!(self.out, " {attribute}=\"#{r:02X}{g:02X}{b:02X}\"");
        if color.alpha < 1.0 {
            let _ = write!(
                self.out,
                " {attribute}-opacity=\"{}\"",
                opacity(color.alpha)
            );
        }
    }

    fn points(&mut self, coords: &[BackendCoord], close: bool) {
        self.out.push_str(" d=\"");
        for (i, &(x, y)) in coords.iter().enumerate() {
            self.out.push(match i {
                0 => 'M',
                1 => 'L',
                _ => ' ',
            });
            push_num(&mut self.out, x);
            self.out.push(' ');
            push_num(&mut self.out, y);
        }
        if close {
            self.out.push('Z');
        }
        self.out.push('"');
    }
}

fn opacity(alpha: f64) -> String {
    let s = format!("{:.2}", alpha.clamp(0.0, 1.0));
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() { "0".into() } else { s.into() }
}

/// Writes tenths as a decimal number with at most one decimal.
fn push_num(out: &mut String, v: i32) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let _ = write!(out, "{}", a / 10);
    if !a.is_multiple_of(10) {
        let _ = write!(out, ".{}", a % 10);
    }
}

fn num(v: i32) -> String {
    let mut s = String::new();
    push_num(&mut s, v);
    s
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
}

impl DrawingBackend for SvgBackend {
    type ErrorType = Infallible;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        Ok(())
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Infallible>> {
        self.close_group();
        Ok(())
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.draw_rect(point, (point.0 + 1, point.1 + 1), &color, true)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.draw_path([from, to], style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.close_group();
        let (w, h) = (bottom_right.0 - upper_left.0, bottom_right.1 - upper_left.1);
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"",
            num(upper_left.0),
            num(upper_left.1),
            num(w),
            num(h)
        );
        if fill {
            self.paint("fill", style.color());
        } else {
            self.out.push_str(" fill=\"none\"");
            self.paint("stroke", style.color());
            let _ = write!(
                self.out,
                " stroke-width=\"{}\"",
                num(style.stroke_width() as i32)
            );
        }
        self.out.push_str("/>\n");
        Ok(())
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.close_group();
        let coords: Vec<BackendCoord> = path.into_iter().collect();
        self.out.push_str("<path");
        self.points(&coords, false);
        self.out.push_str(" fill=\"none\"");
        self.paint("stroke", style.color());
        let _ = writeln!(
            self.out,
            " stroke-width=\"{}\"/>",
            num(style.stroke_width() as i32)
        );
        Ok(())
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        let mut key = String::new();
        {
            let saved = std::mem::take(&mut self.out);
            if fill {
                self.paint("fill", style.color());
            } else {
                self.out.push_str(" fill=\"none\"");
                self.paint("stroke", style.color());
                let _ = write!(
                    self.out,
                    " stroke-width=\"{}\"",
                    num(style.stroke_width() as i32)
                );
            }
            std::mem::swap(&mut key, &mut self.out);
            self.out = saved;
        }
        if self.group.as_deref() != Some(key.as_str()) {
            self.close_group();
            let _ = writeln!(self.out, "<g{key}>");
            self.group = Some(key);
        }
        let _ = writeln!(
            self.out,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
            num(center.0),
            num(center.1),
            num(radius as i32)
        );
        Ok(())
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.close_group();
        let coords: Vec<BackendCoord> = vert.into_iter().collect();
        self.out.push_str("<path");
        self.points(&coords, true);
        self.paint("fill", style.color());
        self.out.push_str("/>\n");
        Ok(())
    }
    fn draw_text<T: BackendTextStyle>(
        &mut self,
        s: &str,
        style: &T,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Infallible>> {
        self.close_group();
        let (x, y) = (num(pos.0), num(pos.1));
        let size = num((style.size()).round() as i32);
        let _ = write!(self.out, "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\"");
        self.paint("fill", style.color());
        match style.anchor().h_pos {
            HPos::Left => {}
            HPos::Center => self.out.push_str(" text-anchor=\"middle\""),
            HPos::Right => self.out.push_str(" text-anchor=\"end\""),
        }
        if let FontTransform::Rotate270 = style.transform() {
            let _ = write!(self.out, " transform=\"rotate(-90 {x} {y})\"");
        }
        self.out.push('>');
        escape_into(&mut self.out, s);
        self.out.push_str("</text>\n");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_with_one_decimal_at_most() {
        assert_eq!(num(0), "0");
        assert_eq!(num(15), "1.5");
        assert_eq!(num(-15), "-1.5");
        assert_eq!(num(6400), "640");
        assert_eq!(opacity(0.25), "0.25");
        assert_eq!(opacity(0.5), "0.5");
    }
}
