//! The evaluation plots, drawn in Rust: SVG to inline in an HTML report, PNG where a file is
//! wanted.
//!
//! Each function checks its plain-data input and returns a [`Plot`]; a plot renders as SVG
//! ([`Plot::to_svg`], [`Plot::write_svg`]) or PNG ([`Plot::to_png`], [`Plot::write_png`]).
//!
//! | function | shows |
//! |---|---|
//! | [`roc`] | ROC curves ([`Curve`]: false positive rate, true positive rate, AUC), chance diagonal |
//! | [`precision_recall`] | precision–recall curves with AP, the positive rate as no-skill line |
//! | [`reliability`] | calibration curves ([`Reliability`]) over the diagonal, bin counts below |
//! | [`confusion_matrix`] | a heatmap with each cell's count or rate written in it |
//! | [`learning_curve`] | training and validation score ([`Scores`]) by training-set size, ± std bands |
//! | [`validation_curve`] | the same by a hyperparameter's value ([`ParamValues`]: linear, log or categorical) |
//! | [`importance`] | horizontal bars with ± std error bars, sorted, top N |
//! | [`residuals`] | residual by predicted value, zero line |
//! | [`predicted_vs_actual`] | actual by predicted value, identity line |
//! | [`score_distributions`] | one density histogram of scores per class, overlaid |
//! | [`tuning_history`] | score by trial, best so far as a step line |
//!
//! Every plot has a title, labelled axes and, with more than one series, a legend placed where it
//! covers the fewest data; series take Okabe & Ito's colour-blind-safe palette. Sizes are fixed
//! (640 × 420 CSS pixels; the confusion matrix and importance plots grow with their rows). Empty
//! input, NaN or infinite values, mismatched lengths and too few points are errors
//! ([`EvalError`]), never panics. Scatter plots of more than [`MAX_POINTS`] points draw an evenly
//! spaced sample of them and say so under the title.
//!
//! SVG output is deterministic (the same input gives the same bytes) and compact: coordinates to
//! 0.1 px, markers of one style grouped, polylines thinned to a quarter pixel (two ROC curves of
//! 600 thresholds each: 23 kB; 5,000 scatter points: 190 kB). PNG output is the same drawing, replayed through the same [`plotters_backend`] trait
//! on plotters' bitmap backend at twice the pixel density ([`PNG_SCALE`]), with text from an
//! embedded subset of DejaVu Sans (`src/plot/font/LICENSE-DejaVu.txt`); SVG names that font first
//! and falls back to the browser's sans-serif.
//!
//! ```
//! use smelt_eval::plot::{roc, Curve};
//!
//! let curve = Curve::new("logistic", vec![0.0, 0.1, 0.3, 1.0], vec![0.0, 0.6, 0.9, 1.0])
//!     .with_score(0.87);
//! let plot = roc(&[curve])?;
//! assert!(plot.to_svg().contains("ROC curve"));
//! # Ok::<(), smelt_eval::EvalError>(())
//! ```

mod axes;
mod canvas;
mod curves;
mod drift;
mod lines;
mod matrix;
mod png;
mod scatter;
mod svg;
mod text;

use std::path::Path;

pub use curves::{precision_recall, reliability, roc};
pub use drift::{category_shares, distribution_overlay, window_series};
pub use lines::{learning_curve, tuning_history, validation_curve};
pub use matrix::{confusion_matrix, importance};
pub use scatter::{predicted_vs_actual, residuals, score_distributions};

use crate::error::{EvalError, Result, check_finite, check_lengths, check_not_empty};
use canvas::{Canvas, RasterBackend};
use svg::{SVG_SCALE, SvgBackend};

/// PNG pixels per CSS pixel: a 640 × 420 plot is a 1280 × 840 PNG.
pub const PNG_SCALE: u32 = 2;

/// Scatter plots draw at most this many points (an evenly spaced sample of larger inputs).
pub const MAX_POINTS: usize = 5_000;

/// A drawn plot, ready to render as SVG or PNG.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    title: String,
    canvas: Canvas,
}

impl Plot {
    fn new(title: String, canvas: Canvas) -> Plot {
        Plot { title, canvas }
    }

    /// The plot's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Width and height in CSS pixels.
    pub fn size(&self) -> (u32, u32) {
        (self.canvas.width as u32, self.canvas.height as u32)
    }

    /// The plot as a standalone SVG document (no XML declaration, so it can be inlined in HTML).
    /// The same plot always gives the same bytes.
    pub fn to_svg(&self) -> String {
        let (w, h) = self.size();
        let mut backend = SvgBackend::new(w, h, &self.title);
        // The SVG backend cannot fail.
        let _ = self.canvas.replay(&mut backend, SVG_SCALE);
        backend.finish()
    }

    /// The plot as a PNG image of [`PNG_SCALE`] pixels per CSS pixel.
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let (w, h) = self.size();
        let (pw, ph) = (w * PNG_SCALE, h * PNG_SCALE);
        let mut pixels = vec![255u8; pw as usize * ph as usize * 3];
        {
            let mut backend = RasterBackend::new(&mut pixels, pw, ph);
            self.canvas
                .replay(&mut backend, f64::from(PNG_SCALE))
                .map_err(|e| EvalError::input("to_png", format!("drawing failed: {e}")))?;
        }
        // 96 dpi times the scale, so viewers show it at its CSS size.
        let per_metre = (96.0 / 0.0254 * f64::from(PNG_SCALE)).round() as u32;
        let out = png::encode_rgb(&pixels, pw, ph, per_metre);
        Ok(out)
    }

    /// Writes [`Plot::to_svg`] to `path`.
    pub fn write_svg(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file("write_svg", path.as_ref(), self.to_svg().as_bytes())
    }

    /// Writes [`Plot::to_png`] to `path`.
    pub fn write_png(&self, path: impl AsRef<Path>) -> Result<()> {
        write_file("write_png", path.as_ref(), &self.to_png()?)
    }
}

fn write_file(context: &str, path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).map_err(|e| {
        EvalError::input_hint(
            context,
            format!("cannot write `{}`: {e}", path.display()),
            "check that the folder exists and is writable",
        )
    })
}

/// A curve for [`roc`] or [`precision_recall`].
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// The series name in the legend (the model, or the class for one-vs-rest curves).
    pub label: String,
    /// Horizontal coordinates: false positive rate (ROC) or recall (precision–recall).
    pub x: Vec<f64>,
    /// Vertical coordinates: true positive rate (ROC) or precision (precision–recall).
    pub y: Vec<f64>,
    /// The summary shown in the legend: AUC (ROC) or average precision (precision–recall).
    pub score: Option<f64>,
    /// For precision–recall: the positive rate, precision of a classifier without skill.
    pub baseline: Option<f64>,
}

impl Curve {
    /// A curve without summary score or baseline.
    pub fn new(label: impl Into<String>, x: Vec<f64>, y: Vec<f64>) -> Curve {
        Curve {
            label: label.into(),
            x,
            y,
            score: None,
            baseline: None,
        }
    }

    /// Sets the summary score shown in the legend (AUC or AP).
    pub fn with_score(mut self, score: f64) -> Curve {
        self.score = Some(score);
        self
    }

    /// Sets the no-skill precision (the positive rate) for [`precision_recall`].
    pub fn with_baseline(mut self, positive_rate: f64) -> Curve {
        self.baseline = Some(positive_rate);
        self
    }
}

/// One calibration curve for [`reliability`]: per probability bin, the mean predicted
/// probability, the observed fraction of positives and the number of samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Reliability {
    /// The series name in the legend.
    pub label: String,
    /// Mean predicted probability in each (non-empty) bin.
    pub mean_predicted: Vec<f64>,
    /// Fraction of positives in each bin.
    pub fraction_positive: Vec<f64>,
    /// Number of samples in each bin.
    pub counts: Vec<usize>,
}

/// Scores at several points, averaged over folds: the mean and, for a ± band, the standard
/// deviation (empty for no band).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scores<'a> {
    /// Mean score at each point.
    pub mean: &'a [f64],
    /// Standard deviation at each point, or empty.
    pub std: &'a [f64],
}

impl<'a> Scores<'a> {
    /// Means with standard deviations.
    pub fn new(mean: &'a [f64], std: &'a [f64]) -> Scores<'a> {
        Scores { mean, std }
    }
}

/// The values a hyperparameter took, for [`validation_curve`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ParamValues<'a> {
    /// Numbers on a linear axis.
    Linear(&'a [f64]),
    /// Positive numbers on a logarithmic axis (regularisation strengths, learning rates).
    Log(&'a [f64]),
    /// Named choices, one tick each, in the order given.
    Categorical(&'a [String]),
}

/// Checks one numeric input: not empty, finite.
fn check_values(context: &str, argument: &'static str, values: &[f64]) -> Result<()> {
    check_not_empty(context, argument, values.len())?;
    check_finite(context, argument, values)
}

/// Checks a mean/std pair parallel to `n` points.
fn check_scores(
    context: &str,
    argument: &'static str,
    scores: &Scores<'_>,
    n: usize,
) -> Result<()> {
    check_lengths(context, ("x values", n), (argument, scores.mean.len()))?;
    check_finite(context, argument, scores.mean)?;
    if !scores.std.is_empty() {
        check_lengths(
            context,
            (argument, scores.mean.len()),
            ("std", scores.std.len()),
        )?;
        check_finite(context, "std", scores.std)?;
        if let Some(i) = scores.std.iter().position(|s| *s < 0.0) {
            return Err(EvalError::input_hint(
                context,
                format!(
                    "standard deviation {} at index {i} is negative",
                    scores.std[i]
                ),
                "pass standard deviations (≥ 0), not signed errors",
            ));
        }
    }
    Ok(())
}

/// Evenly spaced indices of at most [`MAX_POINTS`] of `n` points (all of them when fewer).
fn sample_indices(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS {
        (0..n).collect()
    } else {
        (0..MAX_POINTS).map(|i| i * n / MAX_POINTS).collect()
    }
}

/// The note under a scatter plot's title when it shows a sample.
fn sample_note(shown: usize, total: usize) -> Option<String> {
    (shown < total).then(|| {
        format!(
            "{} of {} points shown (evenly spaced sample)",
            axes::count(shown),
            axes::count(total)
        )
    })
}
