//! The f32 kernels of the BERT encoder's CPU forward pass, on plain slices: matrix products
//! through the `gemm` crate (the one candle calls, AVX-512 where the CPU has it), and the
//! row-wise LayerNorm, softmax and activations, compiled for AVX2 + FMA when the CPU has them
//! (chosen at run time, with a portable fallback).
//!
//! Why not candle ops: inference of a small encoder is a chain of products and cheap row
//! operations, and candle runs each as its own op, allocating (and zeroing) an output per op,
//! broadcasting the bias in a separate pass and synchronising its thread pool after each. That
//! was half of MiniLM's embedding time (`BENCHMARKS.md` "Deep learning → sentence embeddings").
//! Here the bias and the residual are written into the output before the product accumulates
//! onto them, buffers are reused from batch to batch, and attention runs per sequence and head
//! on strided views of the packed Q/K/V rows, with no padding and no transposed copies.

pub(crate) use crate::kernels::simd_fn;

pub(crate) use crate::kernels::{View, matmul};

/// Copies `row` into every `width`-wide row of `dst` (a bias before a product accumulates).
pub(crate) fn fill_rows(dst: &mut [f32], row: &[f32]) {
    for r in dst.chunks_exact_mut(row.len()) {
        r.copy_from_slice(row);
    }
}

simd_fn! {
    /// Adds `row` to every row of `dst`.
    fn add_rows(dst: &mut [f32], row: &[f32]) {
        for r in dst.chunks_exact_mut(row.len()) {
            for (d, &b) in r.iter_mut().zip(row) {
                *d += b;
            }
        }
    }
}

/// Lanes of the reductions below: eight independent partial sums (or maxima) that the compiler
/// keeps in one vector register. A plain `iter().sum()` is a chain of scalar adds, since float
/// addition is not associative.
const LANES: usize = 8;

/// The sum of `x`, in `LANES` partial sums.
#[inline(always)]
fn sum(x: &[f32]) -> f32 {
    let mut acc = [0f32; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// The largest value of `x` (`-∞` when empty; NaN is skipped).
#[inline(always)]
fn max(x: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks
        .remainder()
        .iter()
        .copied()
        .fold(f32::NEG_INFINITY, f32::max);
    for c in chunks {
        for (a, &v) in acc.iter_mut().zip(c) {
            *a = if v > *a { v } else { *a };
        }
    }
    acc.iter().copied().fold(tail, f32::max)
}

simd_fn! {
    /// LayerNorm of each `weight.len()`-wide row of `x`, in place: `(x - mean) / √(var + eps) ·
    /// weight + bias`, variance without Bessel's correction (as PyTorch's).
    fn layer_norm(x: &mut [f32], weight: &[f32], bias: &[f32], eps: f32) {
        let h = weight.len();
        for r in x.chunks_exact_mut(h) {
            let mean = sum(r) / h as f32;
            let mut sq = [0f32; LANES];
            let chunks = r.chunks_exact(LANES);
            let tail: f32 = chunks.remainder().iter().map(|&v| (v - mean) * (v - mean)).sum();
            for c in chunks {
                for (a, &v) in sq.iter_mut().zip(c) {
                    *a += (v - mean) * (v - mean);
                }
            }
            let var = (sq.iter().sum::<f32>() + tail) / h as f32;
            let inv = 1.0 / (var + eps).sqrt();
            for ((v, &w), &b) in r.iter_mut().zip(weight).zip(bias) {
                *v = (*v - mean) * inv * w + b;
            }
        }
    }
}

/// `eˣ` in f32 to ~2 ulp, written so the compiler vectorises it (Cephes' `expf`: `2ⁿ · e^r`,
/// `r = x - n ln 2` in two parts, a degree-6 polynomial for `e^r`). Below -87.3 it is 0; above
/// 88.3 it stays at e^88.3 ≈ 2.1e38 (softmax and tanh only need it finite).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let small = x < -87.3;
    let x = x.clamp(-87.3, 88.3);
    let n = (x * LOG2E + 0.5).floor();
    let r = x - n * LN2_HI - n * LN2_LO;
    let mut p = 1.987_569_1e-4f32;
    p = p * r + 1.398_199_9e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let e = p * r * r + r + 1.0;
    // 2ⁿ from the exponent bits; n ∈ [-126, 127] after the clamp.
    let scale = f32::from_bits(((n as i32 + 127).clamp(1, 254) as u32) << 23);
    if small { 0.0 } else { e * scale }
}

simd_fn! {
    /// Softmax of each `width`-wide row of `x`, in place.
    fn softmax_rows(x: &mut [f32], width: usize) {
        for r in x.chunks_exact_mut(width) {
            let top = max(r);
            for v in r.iter_mut() {
                *v = exp(*v - top);
            }
            let inv = 1.0 / sum(r);
            for v in r.iter_mut() {
                *v *= inv;
            }
        }
    }
}

simd_fn! {
    /// ReLU of every value, in place.
    fn relu(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = v.max(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_a_few_ulps() {
        let mut worst = 0f64;
        for i in -873_000..=883_000 {
            let x = i as f32 * 1e-4;
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            worst = worst.max(((got - want) / want).abs());
        }
        assert!(worst < 5e-7, "max relative error {worst}");
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(0.0), 1.0);
    }

    #[test]
    fn rows_normalise_and_sum_to_one() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0, -1e30, 0.0, 1e-3, 7.0];
        softmax_rows(&mut x, 4);
        let mut long: Vec<f32> = (0..37).map(|i| (i as f32 * 0.7).sin() * 5.0).collect();
        let e: Vec<f64> = long.iter().map(|&v| (v as f64).exp()).collect();
        let total: f64 = e.iter().sum();
        softmax_rows(&mut long, 37);
        for (got, want) in long.iter().zip(&e) {
            assert!(
                (*got as f64 - want / total).abs() < 1e-6,
                "37 wide: lanes and a tail"
            );
        }
        assert_eq!(max(&[f32::NAN, 1.0, 3.0, 2.0]), 3.0);
        assert_eq!(sum(&[1.0; 19]), 19.0);
        for r in x.chunks(4) {
            assert!((r.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        }
        let e: Vec<f64> = [1.0f64, 2.0, 3.0, 4.0].iter().map(|v| v.exp()).collect();
        let s: f64 = e.iter().sum();
        assert!((x[3] as f64 - e[3] / s).abs() < 1e-6);
        assert_eq!(x[4], 0.0);

        let mut y = vec![1.0, 2.0, 3.0, 10.0, 10.0, 10.0];
        layer_norm(&mut y, &[1.0, 2.0, 1.0], &[0.0, 0.0, 0.5], 1e-12);
        let s = (2.0f32 / 3.0).sqrt();
        assert!((y[0] + 1.0 / s).abs() < 1e-5 && (y[1]).abs() < 1e-6);
        assert!((y[2] - (1.0 / s + 0.5)).abs() < 1e-5);
        assert!(
            y[3].abs() < 1e-3 && (y[5] - 0.5).abs() < 1e-3,
            "a constant row"
        );
    }
}
