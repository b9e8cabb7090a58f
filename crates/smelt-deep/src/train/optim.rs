//! Optimizers over candle variables: SGD (momentum, Nesterov), Adam and AdamW, with weight
//! decay, written after PyTorch's `torch.optim` update rules (same defaults, same formulas) so
//! a recipe carries over. Their state is plain tensors, saved in checkpoints for exact resume.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use serde::{Deserialize, Serialize};

use crate::kernels;

/// Which optimizer, with PyTorch's names.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// Stochastic gradient descent (`torch.optim.SGD`), optionally with momentum / Nesterov.
    Sgd,
    /// Adam (`torch.optim.Adam`): weight decay is an L2 term added to the gradient.
    #[default]
    Adam,
    /// AdamW (`torch.optim.AdamW`): decoupled weight decay.
    Adamw,
}

/// An optimizer's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// SGD momentum (0: none).
    pub momentum: f64,
    /// Nesterov momentum (SGD with momentum > 0).
    pub nesterov: bool,
    /// Adam's β₁, β₂.
    pub betas: (f64, f64),
    /// Adam's ε.
    pub eps: f64,
    /// Weight decay (L2 for SGD/Adam, decoupled for AdamW).
    pub weight_decay: f64,
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig {
            kind: OptimizerKind::Adam,
            momentum: 0.9,
            nesterov: false,
            betas: (0.9, 0.999),
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// An optimizer bound to a set of variables.
#[derive(Debug)]
pub struct Optimizer {
    config: OptimizerConfig,
    vars: Vec<Var>,
    /// Per variable: SGD's momentum buffer, or Adam's first moment.
    first: Vec<Option<Tensor>>,
    /// Per variable: Adam's second moment.
    second: Vec<Option<Tensor>>,
    /// Updates done (Adam's bias correction).
    steps: u64,
}

impl Optimizer {
    /// An optimizer over `vars` (only floating-point variables are updated).
    pub fn new(vars: Vec<Var>, config: OptimizerConfig) -> Self {
        let vars: Vec<Var> = vars.into_iter().filter(|v| v.dtype().is_float()).collect();
        let n = vars.len();
        Optimizer {
            config,
            vars,
            first: vec![None; n],
            second: vec![None; n],
            steps: 0,
        }
    }

    /// The settings.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// Updates done so far.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// One update with learning rate `lr` from `grads` (variables without a gradient are left
    /// alone), each gradient multiplied by `scale` first (gradient clipping).
    pub fn step(&mut self, grads: &GradStore, lr: f64, scale: f64) -> Result<()> {
        self.steps += 1;
        let c = self.config;
        // A cheap clone (reference-counted handles): the loop also updates `self`'s state.
        let vars = self.vars.clone();
        for (i, var) in vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            // Detached: the state kept across steps (moments, momentum) must not hold this
            // step's autograd graph, or every step's graph stays alive through the next.
            let g = g.detach();
            let w = var.as_tensor();
            if matches!(c.kind, OptimizerKind::Adam | OptimizerKind::Adamw)
                && !(c.kind == OptimizerKind::Adam && c.weight_decay != 0.0)
                && kernels::native(w)
                && w.is_contiguous()
                && g.dtype() == w.dtype()
                && g.shape() == w.shape()
            {
                self.adam_in_place(i, w, &g, lr, scale)?;
                continue;
            }
            let mut g = if scale == 1.0 {
                g
            } else {
                g.affine(scale, 0.0)?
            };
            match c.kind {
                OptimizerKind::Sgd => {
                    if c.weight_decay != 0.0 {
                        g = (g + w.affine(c.weight_decay, 0.0)?)?;
                    }
                    if c.momentum != 0.0 {
                        let buf = match self.first[i].take() {
                            Some(b) => ((b * c.momentum)? + &g)?,
                            None => g.clone(),
                        };
                        g = if c.nesterov {
                            (&g + buf.affine(c.momentum, 0.0)?)?
                        } else {
                            buf.clone()
                        };
                        self.first[i] = Some(buf);
                    }
                    var.set(&(w - g.affine(lr, 0.0)?)?)?;
                }
                OptimizerKind::Adam | OptimizerKind::Adamw => {
                    let (b1, b2) = c.betas;
                    let base = if c.kind == OptimizerKind::Adamw && c.weight_decay != 0.0 {
                        w.affine(1.0 - lr * c.weight_decay, 0.0)?
                    } else {
                        if c.weight_decay != 0.0 {
                            g = (g + w.affine(c.weight_decay, 0.0)?)?;
                        }
                        w.clone()
                    };
                    let m = match self.first[i].take() {
                        Some(m) => ((m * b1)? + g.affine(1.0 - b1, 0.0)?)?,
                        None => g.affine(1.0 - b1, 0.0)?,
                    };
                    let g2 = g.sqr()?;
                    let v = match self.second[i].take() {
                        Some(v) => ((v * b2)? + g2.affine(1.0 - b2, 0.0)?)?,
                        None => g2.affine(1.0 - b2, 0.0)?,
                    };
                    let t = self.steps as i32;
                    let bc1 = 1.0 - b1.powi(t);
                    let bc2 = 1.0 - b2.powi(t);
                    // PyTorch: p -= lr/bc1 · m / (sqrt(v)/sqrt(bc2) + eps)
                    let denom = (v.sqrt()?.affine(1.0 / bc2.sqrt(), 0.0)? + c.eps)?;
                    let update = (m.affine(lr / bc1, 0.0)? / denom)?;
                    var.set(&(base - update)?)?;
                    self.first[i] = Some(m);
                    self.second[i] = Some(v);
                }
            }
        }
        Ok(())
    }

    /// Adam / AdamW on a CPU variable (without Adam's L2 term): the moments and the weight
    /// updated in place by [`kernels::adam_step`], the same formulas as [`step`](Self::step)'s
    /// tensor version (moments start at zero: `β·0 + (1−β)·g` is exactly `(1−β)·g`).
    fn adam_in_place(
        &mut self,
        i: usize,
        w: &Tensor,
        g: &Tensor,
        lr: f64,
        scale: f64,
    ) -> Result<()> {
        let c = self.config;
        let fresh = |t: &Option<Tensor>| -> Result<Tensor> {
            match t {
                Some(t)
                    if t.shape() == w.shape() && t.dtype() == w.dtype() && t.is_contiguous() =>
                {
                    Ok(t.clone())
                }
                _ => w.zeros_like(),
            }
        };
        let (m, v) = (fresh(&self.first[i])?, fresh(&self.second[i])?);
        let t = self.steps as i32;
        let (b1, b2) = c.betas;
        let hyper = kernels::AdamHyper {
            betas: c.betas,
            step: lr / (1.0 - b1.powi(t)),
            inv_sqrt_bc2: 1.0 / (1.0 - b2.powi(t)).sqrt(),
            eps: c.eps,
            keep: if c.kind == OptimizerKind::Adamw {
                1.0 - lr * c.weight_decay
            } else {
                1.0
            },
            scale,
        };
        kernels::adam_step(w, g, &m, &v, &hyper)?;
        self.first[i] = Some(m);
        self.second[i] = Some(v);
        Ok(())
    }

    /// The state to checkpoint: the step count and every buffer, named `first.{i}` /
    /// `second.{i}` by variable order.
    pub fn state(&self) -> (u64, Vec<(String, Tensor)>) {
        let mut out = Vec::new();
        for (i, t) in self.first.iter().enumerate() {
            if let Some(t) = t {
                // Copies: the moments are updated in place afterwards.
                out.push((format!("first.{i}"), t.copy().unwrap_or_else(|_| t.clone())));
            }
        }
        for (i, t) in self.second.iter().enumerate() {
            if let Some(t) = t {
                out.push((
                    format!("second.{i}"),
                    t.copy().unwrap_or_else(|_| t.clone()),
                ));
            }
        }
        (self.steps, out)
    }

    /// Restores a [`state`](Self::state).
    pub fn restore(&mut self, steps: u64, buffers: &[(String, Tensor)]) {
        self.steps = steps;
        for (name, t) in buffers {
            let Some((which, i)) = name.split_once('.') else {
                continue;
            };
            let Ok(i) = i.parse::<usize>() else { continue };
            match which {
                // Copies: the moments are updated in place.
                "first" if i < self.first.len() => self.first[i] = t.copy().ok(),
                "second" if i < self.second.len() => self.second[i] = t.copy().ok(),
                _ => {}
            }
        }
    }
}

/// The global L2 norm of the gradients of `vars` (summed in float32 or wider; infinite or NaN
/// when a gradient is).
pub fn grad_norm(vars: &[Var], grads: &GradStore) -> Result<f64> {
    let mut total = 0.0f64;
    for v in vars {
        if let Some(g) = grads.get(v) {
            let g = match g.dtype() {
                candle_core::DType::F32 | candle_core::DType::F64 => g.clone(),
                _ => g.to_dtype(candle_core::DType::F32)?,
            };
            total += g
                .sqr()?
                .sum_all()?
                .to_dtype(candle_core::DType::F64)?
                .to_scalar::<f64>()?;
        }
    }
    Ok(total.sqrt())
}

/// The factor that scales gradients of global L2 norm `norm` ([`grad_norm`]) to at most
/// `max_norm` (`torch.nn.utils.clip_grad_norm_`).
pub fn clip_factor(norm: f64, max_norm: f64) -> f64 {
    if norm > max_norm && norm > 0.0 {
        max_norm / (norm + 1e-6)
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    /// PyTorch's updates for w = [1, -2], loss = Σ w² (grad 2w), lr 0.1, two steps
    /// (computed by hand from torch.optim's documented algorithms).
    fn run(config: OptimizerConfig) -> Vec<f32> {
        let dev = Device::Cpu;
        let w = Var::new(&[1.0f32, -2.0], &dev).expect("var");
        let mut opt = Optimizer::new(vec![w.clone()], config);
        for _ in 0..2 {
            let loss = w.as_tensor().sqr().and_then(|t| t.sum_all()).expect("loss");
            let grads = loss.backward().expect("backward");
            opt.step(&grads, 0.1, 1.0).expect("step");
        }
        w.as_tensor().to_vec1::<f32>().expect("vec")
    }

    #[test]
    fn sgd_plain_momentum_and_nesterov() {
        let mut c = OptimizerConfig {
            kind: OptimizerKind::Sgd,
            momentum: 0.0,
            ..OptimizerConfig::default()
        };
        // w ← w − 0.1·2w = 0.8 w, twice: 0.64 w.
        let w = run(c);
        assert!(
            (w[0] - 0.64).abs() < 1e-6 && (w[1] + 1.28).abs() < 1e-6,
            "{w:?}"
        );
        // Momentum 0.9: b1 = 2w0 = 2, w1 = 0.8; b2 = 0.9·2 + 1.6 = 3.4, w2 = 0.8 − 0.34 = 0.46.
        c.momentum = 0.9;
        let w = run(c);
        assert!((w[0] - 0.46).abs() < 1e-6, "{w:?}");
        // Nesterov: g' = g + 0.9·b. Step 1: b=2, g'=3.8, w=0.62; step 2: g=1.24,
        // b=0.9·2+1.24=3.04, g'=1.24+2.736=3.976, w=0.62−0.3976=0.2224.
        c.nesterov = true;
        let w = run(c);
        assert!((w[0] - 0.2224).abs() < 1e-6, "{w:?}");
    }

    #[test]
    fn adam_first_steps_move_by_lr() {
        // Step 1 moves each weight by lr·sign(g): w0 = 0.9. Step 2 (g = 1.8):
        // m̂ = (0.9·0.2 + 0.1·1.8)/0.19 = 1.894737, v̂ = (0.999·0.004 + 0.001·3.24)/0.001999
        // = 3.619810, w0 = 0.9 − 0.1·1.894737/1.902580 = 0.800412.
        let w = run(OptimizerConfig::default());
        assert!((w[0] - 0.800_412).abs() < 2e-6, "{w:?}");
        assert!((w[1] + 1.800_167).abs() < 2e-6, "{w:?}");
    }

    #[test]
    fn adamw_decays_decoupled() {
        let c = OptimizerConfig {
            kind: OptimizerKind::Adamw,
            weight_decay: 0.5,
            ..OptimizerConfig::default()
        };
        // Step 1: w = 1·(1 − 0.05) − 0.1 = 0.85; step 2: g = 1.7 > 0, sign step again:
        // m̂/√v̂ ≈ 1 (same-sign gradients), w = 0.85·0.95 − 0.1·(≈0.99…) ≈ 0.7076.
        let w = run(c);
        assert!(
            w[0] < 0.85 * 0.95 - 0.09 && w[0] > 0.85 * 0.95 - 0.1001,
            "{w:?}"
        );
    }
}
