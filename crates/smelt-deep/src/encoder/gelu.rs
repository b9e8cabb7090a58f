//! GELU with the exact normal CDF, `x · ½ (1 + erf(x/√2))` (PyTorch's and BERT's `gelu`), as a
//! candle op that the compiler vectorises and that runs on rayon's threads.
//!
//! candle's own `gelu_erf` calls a scalar libm `erff` per value on one thread: a tenth of
//! MiniLM's time in a profile (`BENCHMARKS.md`). Here erf is a rational approximation in `x²`
//! with no branch or `exp` (Eigen's `generic_fast_erf_float`, the one TensorFlow's and XNNPACK's
//! CPU kernels use): `x·P(x²)/Q(x²)` on `x` clamped to [-4, 4] (erf is ±1 to f32 precision
//! beyond), within a few f32 ulps of erf (test below: ≤ 2e-6 of candle's GELU over ±10).

use candle_core::{CpuStorage, CustomOp1, Layout, Shape, Tensor};
use rayon::prelude::*;

/// Values per rayon task: large enough that splitting costs nothing.
const CHUNK: usize = 16 * 1024;

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
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// The op: f32 tensors on the CPU, any layout.
struct GeluErf;

impl CustomOp1 for GeluErf {
    fn name(&self) -> &'static str {
        "smelt-gelu-erf"
    }

    fn cpu_fwd(
        &self,
        storage: &CpuStorage,
        layout: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let CpuStorage::F32(values) = storage else {
            candle_core::bail!("{}: f32 tensors only", self.name());
        };
        let Some((start, end)) = layout.contiguous_offsets() else {
            candle_core::bail!("{}: contiguous input only", self.name());
        };
        let input = &values[start..end];
        let mut out = vec![0f32; input.len()];
        out.par_chunks_mut(CHUNK)
            .zip(input.par_chunks(CHUNK))
            .for_each(|(o, i)| {
                for (o, &x) in o.iter_mut().zip(i) {
                    *o = gelu(x);
                }
            });
        Ok((CpuStorage::F32(out), layout.shape().clone()))
    }
}

/// GELU (erf form) of an f32 tensor on the CPU.
pub fn gelu_erf(x: &Tensor) -> candle_core::Result<Tensor> {
    x.contiguous()?.apply_op1_no_bwd(&GeluErf)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    #[test]
    fn equals_candles_gelu_erf() {
        let xs: Vec<f32> = (-100_000..=100_000).map(|i| i as f32 * 1e-4).collect();
        let t = Tensor::new(xs.as_slice(), &Device::Cpu).unwrap();
        let ours = gelu_erf(&t).unwrap().to_vec1::<f32>().unwrap();
        let theirs = t.gelu_erf().unwrap().to_vec1::<f32>().unwrap();
        let worst = ours
            .iter()
            .zip(&theirs)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(worst <= 2e-6, "max |diff| {worst}");
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu(-20.0), 0.0);
        assert_eq!(gelu(20.0), 20.0);
    }
}
