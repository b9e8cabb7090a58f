//! Mixed-precision training: the forward and backward passes in bfloat16 or float16, the
//! weights kept and updated in float32.
//!
//! As PyTorch's automatic mixed precision with float32 master weights (NVIDIA's apex `O2`):
//! [`fit`](super::fit) trains a half-precision copy of the network
//! ([`Network::with_dtype`](super::Network::with_dtype)) whose variables are refreshed from the
//! float32 ones after every update; each gradient is widened to float32 and applied to the
//! float32 weights by the optimizer, whose moments stay in float32; the loss is computed in
//! float32 from the widened outputs. The float32 network is what the fit returns, saves and
//! predicts with.
//!
//! float16's narrow exponent needs loss scaling ([`LossScale`], `torch.amp.GradScaler`'s rule):
//! the loss is multiplied by a factor before the backward pass and the gradients divided by
//! it; a step whose gradients overflow is skipped and the factor halved, and after 2,000 good
//! steps in a row it doubles. bfloat16 has float32's exponent and needs none.
//!
//! Where it pays: on a GPU with tensor cores (half the memory traffic, several times the
//! multiply throughput). On the CPU candle widens bfloat16 products to float32, so it is
//! slower there; it is available everywhere so that a recipe runs unchanged.

use candle_core::{DType, Var};
use serde::{Deserialize, Serialize};

/// A new variable holding `v`'s values in `dtype` (what every network's `to_dtype` /
/// [`Network::with_dtype`](super::Network::with_dtype) builds its copy from).
pub(crate) fn converted(v: &Var, dtype: DType) -> candle_core::Result<Var> {
    Var::from_tensor(&v.as_tensor().to_dtype(dtype)?)
}

/// The precision the passes compute in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// float32 throughout.
    #[default]
    F32,
    /// bfloat16 passes, float32 weights.
    Bf16,
    /// float16 passes with loss scaling, float32 weights.
    F16,
}

impl Precision {
    /// The passes' element type when it is not float32.
    pub fn half(self) -> Option<DType> {
        match self {
            Precision::F32 => None,
            Precision::Bf16 => Some(DType::BF16),
            Precision::F16 => Some(DType::F16),
        }
    }

    /// The parameter value (`f32`, `bf16`, `f16`).
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::Bf16 => "bf16",
            Precision::F16 => "f16",
        }
    }
}

/// Dynamic loss scaling (`torch.amp.GradScaler`'s defaults: start at 2¹⁶, halve on overflow,
/// double after 2,000 good steps).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LossScale {
    /// The current factor.
    pub factor: f64,
    /// Good steps since the last change.
    pub good: u32,
}

impl Default for LossScale {
    fn default() -> Self {
        LossScale {
            factor: 65536.0,
            good: 0,
        }
    }
}

impl LossScale {
    /// Good steps before the factor doubles.
    const GROWTH_INTERVAL: u32 = 2000;

    /// Records a step: `finite` whether its gradients were. Returns whether to apply it.
    pub fn update(&mut self, finite: bool) -> bool {
        if finite {
            self.good += 1;
            if self.good >= Self::GROWTH_INTERVAL {
                self.factor *= 2.0;
                self.good = 0;
            }
        } else {
            // No floor below 1 in PyTorch either; a factor that reaches it means the float32
            // loss itself overflows float16, which the non-finite loss check reports.
            self.factor = (self.factor * 0.5).max(f64::MIN_POSITIVE);
            self.good = 0;
        }
        finite
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_loss_scale_halves_on_overflow_and_doubles_after_good_steps() {
        let mut s = LossScale::default();
        assert!(!s.update(false));
        assert_eq!(s.factor, 32768.0);
        for _ in 0..1999 {
            assert!(s.update(true));
        }
        assert_eq!(s.factor, 32768.0);
        assert!(s.update(true));
        assert_eq!(s.factor, 65536.0);
        assert_eq!(s.good, 0);
    }

    #[test]
    fn precisions_name_their_element_types() {
        assert_eq!(Precision::F32.half(), None);
        assert_eq!(Precision::Bf16.half(), Some(DType::BF16));
        assert_eq!(Precision::F16.half(), Some(DType::F16));
        let p: Precision = serde_json::from_str("\"bf16\"").expect("parse");
        assert_eq!(p, Precision::Bf16);
    }
}
