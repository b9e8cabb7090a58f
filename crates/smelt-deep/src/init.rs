//! Weight initialisation shared by the networks, as PyTorch initialises `nn.Linear` and
//! `nn.Conv2d`: weights and biases uniform in `±1/√fan_in`, drawn from the seeded stream.

use candle_core::{Device, Tensor, Var};
use smelt_core::rng::Rng;

/// `n` values uniform in `[-bound, bound)`.
pub(crate) fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.uniform() * 2.0 - 1.0) * bound) as f32)
        .collect()
}

/// A linear layer's weight `[fan_in, out]` (a batch multiplies it without a transpose) and
/// bias `[out]`, weight drawn first.
pub(crate) fn linear(
    fan_in: usize,
    out: usize,
    rng: &mut Rng,
    dev: &Device,
) -> candle_core::Result<(Var, Var)> {
    let bound = 1.0 / (fan_in.max(1) as f64).sqrt();
    let w = Tensor::from_vec(uniform(rng, fan_in * out, bound), (fan_in, out), dev)?;
    let b = Tensor::from_vec(uniform(rng, out, bound), out, dev)?;
    Ok((Var::from_tensor(&w)?, Var::from_tensor(&b)?))
}
