//! Text: the embedded font, text measurement for the layout, and glyph rasterisation for PNG.
//!
//! Both outputs lay text out with the same font metrics: the SVG names DejaVu Sans first in its
//! `font-family` (browsers without it fall back to a narrower sans-serif, so nothing overlaps), and
//! the PNG draws the embedded DejaVu Sans subset (`font/LICENSE-DejaVu.txt`).

use std::sync::OnceLock;

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};

/// DejaVu Sans reduced to Latin, Greek, punctuation and a few signs (67 kB).
static FONT_BYTES: &[u8] = include_bytes!("font/DejaVuSans-subset.ttf");

/// The `font-family` written into the SVG.
pub(crate) const FONT_FAMILY: &str = "DejaVu Sans,Verdana,Arial,sans-serif";

/// Height of capitals, as a fraction of the font size (DejaVu Sans: 1493 / 2048).
pub(crate) const CAP_HEIGHT: f64 = 0.729;

/// Depth of descenders, as a fraction of the font size (DejaVu Sans: 483 / 2048).
pub(crate) const DESCENT: f64 = 0.236;

fn font() -> Option<&'static FontRef<'static>> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
}

/// The scale that gives an em of `size` pixels (ab_glyph scales by ascent − descent).
fn px_scale(font: &FontRef<'_>, size: f64) -> PxScale {
    let units = font.units_per_em().unwrap_or(2048.0);
    PxScale::from((size as f32) * font.height_unscaled() / units)
}

/// The advance width of `text` at font size `size` (pixels), kerning included.
pub(crate) fn width(text: &str, size: f64) -> f64 {
    let Some(font) = font() else {
        // Unreachable with the embedded font; a rough estimate keeps the layout going.
        return 0.6 * size * text.chars().count() as f64;
    };
    let scaled = font.as_scaled(px_scale(font, size));
    let mut x = 0.0f32;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            x += scaled.kern(p, id);
        }
        x += scaled.h_advance(id);
        previous = Some(id);
    }
    f64::from(x)
}

/// Shortens `text` with an ellipsis so that it is at most `max` pixels wide at `size`.
pub(crate) fn truncate(text: &str, size: f64, max: f64) -> String {
    if width(text, size) <= max {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let candidate: String = chars[..keep].iter().chain(['…'].iter()).collect();
        if width(&candidate, size) <= max {
            return candidate;
        }
    }
    "…".to_string()
}

/// Rasterises `text` with its baseline anchored at `(x, y)` (pixels): `align` 0 puts the start
/// there, 0.5 the middle, 1 the end; `vertical` turns the text a quarter anticlockwise (reading
/// upwards). Calls `put(x, y, coverage)` for every covered pixel.
pub(crate) fn rasterise(
    text: &str,
    size: f64,
    (x, y): (i32, i32),
    align: f64,
    vertical: bool,
    mut put: impl FnMut(i32, i32, f32),
) {
    let Some(font) = font() else { return };
    let scaled = font.as_scaled(px_scale(font, size));
    let start = -(align * width(text, size)) as f32;
    let mut caret = start;
    let mut previous = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = previous {
            caret += scaled.kern(p, id);
        }
        let glyph = id.with_scale_and_position(scaled.scale(), point(caret, 0.0));
        if let Some(outlined) = font.outline_glyph(glyph) {
            let bounds = outlined.px_bounds();
            let (bx, by) = (bounds.min.x as i32, bounds.min.y as i32);
            outlined.draw(|gx, gy, coverage| {
                let (lx, ly) = (bx + gx as i32, by + gy as i32);
                if vertical {
                    put(x + ly, y - lx, coverage);
                } else {
                    put(x + lx, y + ly, coverage);
                }
            });
        }
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_parses_and_measures() {
        assert!(font().is_some());
        let w = width("Hello", 10.0);
        assert!(w > 20.0 && w < 40.0, "{w}");
        assert!(width("Hello", 20.0) > 1.9 * w);
        assert_eq!(width("", 12.0), 0.0);
    }

    #[test]
    fn truncation_fits_and_marks_the_cut() {
        let t = truncate("a very long feature name indeed", 11.0, 60.0);
        assert!(t.ends_with('…'));
        assert!(width(&t, 11.0) <= 60.0);
        assert_eq!(truncate("short", 11.0, 200.0), "short");
    }
}
