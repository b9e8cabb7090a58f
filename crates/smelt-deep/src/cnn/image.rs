//! Images as table rows: the shape of a pixel table, pixel scaling, and the random
//! augmentation of training batches (shifts, small rotations, horizontal flips) done on the
//! loader thread.

use smelt_core::rng::Rng;

/// `[channels, height, width]` of the images in a table of `n` pixel columns: a square of
/// grey pixels, or three square colour planes; `None` when neither fits.
pub fn infer_shape(n: usize) -> Option<[usize; 3]> {
    let square = |m: usize| {
        let s = (m as f64).sqrt().round() as usize;
        (s > 0 && s * s == m).then_some(s)
    };
    if let Some(s) = square(n) {
        return Some([1, s, s]);
    }
    if n.is_multiple_of(3) {
        return square(n / 3).map(|s| [3, s, s]);
    }
    None
}

/// The random transformations of a training image.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Augment {
    /// Largest shift in pixels, each direction.
    pub max_shift: f64,
    /// Largest rotation in degrees, either way.
    pub max_rotation: f64,
    /// Mirror left–right with probability ½.
    pub flip: bool,
}

impl Augment {
    /// Whether it changes anything.
    pub fn is_identity(&self) -> bool {
        self.max_shift <= 0.0 && self.max_rotation <= 0.0 && !self.flip
    }

    /// Writes a randomly transformed copy of `img` (`[c, h, w]`, standardised, so 0 is the
    /// mean pixel that fills the borders) into `out`: one affine map (rotation about the
    /// centre, shift, flip) sampled bilinearly.
    pub fn apply(&self, img: &[f32], shape: [usize; 3], rng: &mut Rng, fill: f32, out: &mut [f32]) {
        let [c, h, w] = shape;
        let angle = (rng.uniform() * 2.0 - 1.0) * self.max_rotation.to_radians();
        let dx = (rng.uniform() * 2.0 - 1.0) * self.max_shift;
        let dy = (rng.uniform() * 2.0 - 1.0) * self.max_shift;
        let flip = self.flip && rng.uniform() < 0.5;
        let (sin, cos) = angle.sin_cos();
        let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
        for y in 0..h {
            for x in 0..w {
                // Inverse map: where the output pixel comes from.
                let xo = if flip { (w - 1 - x) as f64 } else { x as f64 } - cx - dx;
                let yo = y as f64 - cy - dy;
                let sx = cos * xo + sin * yo + cx;
                let sy = -sin * xo + cos * yo + cy;
                let (x0, y0) = (sx.floor(), sy.floor());
                let (fx, fy) = ((sx - x0) as f32, (sy - y0) as f32);
                let (x0, y0) = (x0 as isize, y0 as isize);
                for ch in 0..c {
                    let plane = &img[ch * h * w..(ch + 1) * h * w];
                    let at = |yy: isize, xx: isize| -> f32 {
                        if yy < 0 || xx < 0 || yy >= h as isize || xx >= w as isize {
                            fill
                        } else {
                            plane[yy as usize * w + xx as usize]
                        }
                    };
                    let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1) * fx;
                    let bottom = at(y0 + 1, x0) * (1.0 - fx) + at(y0 + 1, x0 + 1) * fx;
                    out[ch * h * w + y * w + x] = top * (1.0 - fy) + bottom * fy;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_from_pixel_counts() {
        assert_eq!(infer_shape(64), Some([1, 8, 8]));
        assert_eq!(infer_shape(784), Some([1, 28, 28]));
        assert_eq!(infer_shape(3 * 32 * 32), Some([3, 32, 32]));
        assert_eq!(infer_shape(10), None);
    }

    #[test]
    fn no_transformation_is_the_identity_and_a_flip_mirrors() {
        let img: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut out = vec![0.0; 12];
        let none = Augment {
            max_shift: 0.0,
            max_rotation: 0.0,
            flip: false,
        };
        none.apply(&img, [1, 3, 4], &mut Rng::new(1), 0.0, &mut out);
        assert_eq!(out, img);
        let flip = Augment { flip: true, ..none };
        // Draw until the coin says flip (the stream is seeded, so this is deterministic).
        let mut rng = Rng::new(3);
        loop {
            flip.apply(&img, [1, 3, 4], &mut rng, 0.0, &mut out);
            if out != img {
                break;
            }
        }
        assert_eq!(&out[..4], &[3.0, 2.0, 1.0, 0.0]);
    }

    #[test]
    fn shifts_move_pixels_and_fill_borders() {
        let mut img = vec![0.0f32; 25];
        img[12] = 1.0; // centre of a 5×5 image
        let shift = Augment {
            max_shift: 2.0,
            max_rotation: 0.0,
            flip: false,
        };
        let mut out = vec![0.0; 25];
        shift.apply(&img, [1, 5, 5], &mut Rng::new(7), -1.0, &mut out);
        // The mass of the bright pixel is kept (bilinear weights sum to 1) unless it left.
        let bright: f32 = out.iter().filter(|v| **v > 0.0).sum();
        assert!(bright > 0.0 && bright <= 1.0 + 1e-6, "{out:?}");
    }
}
