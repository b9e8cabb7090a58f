//! GELU with the exact normal CDF, `x · ½ (1 + erf(x/√2))` (PyTorch's and BERT's `gelu`), and
//! its tanh approximation: scalar functions the compiler vectorises, and their passes over a
//! buffer compiled for AVX2 + FMA (`cpu::simd_fn!`).
//!
//! candle's own `gelu_erf` calls a scalar libm `erff` per value on one thread: a tenth of
//! MiniLM's time in a profile (`BENCHMARKS.md`). Here erf is a rational approximation in `x²`
//! with no branch or `exp` (Eigen's `generic_fast_erf_float`, the one TensorFlow's and XNNPACK's
//! CPU kernels use): `x·P(x²)/Q(x²)` on `x` clamped to [-4, 4] (erf is ±1 to f32 precision
//! beyond), within a few f32 ulps of erf (test below: ≤ 2e-6 of candle's GELU over ±10).

use super::cpu::{exp, simd_fn};

/// erf(x), within a few ulps for f32. Plain multiply-adds, not `mul_add`: without FMA in the
/// build's target features that is a call to a software `fmaf` per term (measured: 5× slower).
#[inline(always)]
fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = -2.726_142_3e-10f32;
    p = p * x2 + 2.770_681_4e-8;
    p = p * x2 + -2.101_024e-6;
    p = p * x2 + -5.692_506_4e-5;
    p = p * x2 + -7.349_906e-4;
    p = p * x2 + -2.954_600_1e-3;
    p = p * x2 + -1.609_603_4e-2;
    let mut q = -1.456_607_2e-5f32;
    q = q * x2 + -2.133_740_6e-4;
    q = q * x2 + -1.682_827e-3;
    q = q * x2 + -7.373_329e-3;
    q = q * x2 + -1.426_474e-2;
    // Beyond |x| = 3.92, erf(x) rounds to ±1 in f32; the approximation is a few ulps short.
    if x.abs() >= 3.92 {
        1f32.copysign(x)
    } else {
        x * p / q
    }
}

#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// GELU's tanh form, `½ x (1 + tanh(√(2/π) (x + 0.044715 x³)))` (`gelu_new`), with
/// `tanh y = 1 - 2 / (e^{2y} + 1)`.
#[inline(always)]
pub(crate) fn gelu_tanh(x: f32) -> f32 {
    const K: f32 = 0.797_884_6; // √(2/π)
    let y = K * (x + 0.044_715 * x * x * x);
    let t = 1.0 - 2.0 / (exp(2.0 * y) + 1.0);
    0.5 * x * (1.0 + t)
}

simd_fn! {
    /// GELU (erf form) of every value, in place.
    fn gelu_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = gelu(*v);
        }
    }
}

simd_fn! {
    /// GELU (tanh form) of every value, in place.
    fn gelu_tanh_in_place(x: &mut [f32]) {
        for v in x.iter_mut() {
            *v = gelu_tanh(*v);
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    fn worst(ours: impl Fn(f32) -> f32, theirs: impl Fn(&Tensor) -> Tensor) -> f32 {
        let xs: Vec<f32> = (-100_000..=100_000).map(|i| i as f32 * 1e-4).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let want = theirs(&t).to_vec1::<f32>().unwrap();
        xs.iter()
            .zip(&want)
            .map(|(&x, w)| (ours(x) - w).abs())
            .fold(0f32, f32::max)
    }

    #[test]
    fn equals_candles_gelus() {
        let erf = worst(gelu, |t| t.gelu_erf().unwrap());
        assert!(erf <= 2e-6, "erf form: max |diff| {erf}");
        let tanh = worst(gelu_tanh, |t| t.gelu().unwrap());
        assert!(tanh <= 2e-6, "tanh form: max |diff| {tanh}");
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu(-20.0), 0.0);
        assert_eq!(gelu(20.0), 20.0);
        assert_eq!(gelu_tanh(-20.0), 0.0);
        assert_eq!(gelu_tanh(20.0), 20.0);
    }
}
