//! `post_transform` of the ONNX-ML model operators, as onnxruntime computes it (`ml_common.h`):
//! in `float`, with its logistic, softmax, softmax-zero and probit, and its rules for the one
//! score of a binary classifier.

use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;

/// A `post_transform` attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Post {
    None,
    Logistic,
    Softmax,
    SoftmaxZero,
    Probit,
}

impl Post {
    pub(crate) fn parse(attrs: &Attrs<'_>) -> Result<Post> {
        Ok(
            match attrs.string("post_transform").as_deref().unwrap_or("NONE") {
                "NONE" => Post::None,
                "LOGISTIC" => Post::Logistic,
                "SOFTMAX" => Post::Softmax,
                "SOFTMAX_ZERO" => Post::SoftmaxZero,
                "PROBIT" => Post::Probit,
                other => {
                    return Err(OnnxError::Invalid(format!(
                        "{}: unknown post_transform `{other}` (NONE, LOGISTIC, SOFTMAX, SOFTMAX_ZERO or PROBIT)",
                        attrs.describe()
                    )));
                }
            },
        )
    }

    /// Transforms the scores of one row (two or more of them) in place.
    pub(crate) fn apply(self, scores: &mut [f32]) {
        match self {
            Post::None => {}
            Post::Logistic => scores.iter_mut().for_each(|s| *s = logistic(*s)),
            Post::Probit => scores.iter_mut().for_each(|s| *s = probit(*s)),
            Post::Softmax => softmax(scores),
            Post::SoftmaxZero => softmax_zero(scores),
        }
    }
}

/// onnxruntime's `ComputeLogistic`.
pub(crate) fn logistic(x: f32) -> f32 {
    let v = 1.0 / (1.0 + (-x.abs()).exp());
    if x < 0.0 { 1.0 - v } else { v }
}

/// onnxruntime's `ErfInv` (Winitzki's approximation, a = 0.147).
fn erf_inv(x: f32) -> f32 {
    let sgn = if x < 0.0 { -1.0f32 } else { 1.0 };
    let x = (1.0 - x) * (1.0 + x);
    let log = x.ln();
    let v = 2.0 / (std::f32::consts::PI * 0.147) + 0.5 * log;
    let v2 = 1.0 / 0.147 * log;
    let v3 = -v + (v * v - v2).sqrt();
    sgn * v3.sqrt()
}

/// onnxruntime's `ComputeProbit`.
pub(crate) fn probit(x: f32) -> f32 {
    std::f32::consts::SQRT_2 * erf_inv(x * 2.0 - 1.0)
}

/// onnxruntime's `ComputeSoftmax`.
pub(crate) fn softmax(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0f32;
    for x in v.iter_mut() {
        *x = (*x - max).exp();
        sum += *x;
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// onnxruntime's `ComputeSoftmaxZero`: zeros stay zero.
pub(crate) fn softmax_zero(v: &mut [f32]) {
    let max = v.iter().copied().fold(f32::MIN, f32::max);
    let exp_neg_max = (-max).exp();
    let mut sum = 0.0f32;
    for x in v.iter_mut() {
        if *x > 0.000_000_1 || *x < -0.000_000_1 {
            *x = (*x - max).exp();
            sum += *x;
        } else {
            *x *= exp_neg_max;
        }
    }
    for x in v.iter_mut() {
        *x /= sum;
    }
}

/// onnxruntime's `write_binary_scores`: the two scores a binary classifier writes from its one
/// score `s`. `add_second_class`: 0/1 all weights positive (the score is a probability),
/// 2/3 mixed weights (a margin); anything else writes the one score alone.
pub(crate) fn binary_scores(s: f32, post: Post, add_second_class: i32) -> Vec<f32> {
    if post == Post::Probit {
        return vec![probit(s)];
    }
    match add_second_class {
        0 | 1 => vec![1.0 - s, s],
        2 if post == Post::Logistic => vec![logistic(-s), logistic(s)],
        2 => vec![-s, s],
        3 if post == Post::Logistic => vec![logistic(-s), logistic(s)],
        3 => vec![s, -s],
        _ => vec![s],
    }
}
