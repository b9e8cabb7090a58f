//! Convolutional building blocks on candle: 2-D convolution, batch normalisation with running
//! statistics, and the residual block of a ResNet. Weights are initialised as PyTorch does
//! (`U(±1/√fan_in)` for convolutions and linear layers; BN γ = 1, β = 0).

use candle_core::{D, DType, Device, Result, Tensor, Var};
use smelt_core::rng::Rng;

use crate::init::uniform;
use crate::kernels;
use crate::train::precision::converted;

/// A 2-D convolution (square kernel, stride, zero padding) with a bias.
#[derive(Debug)]
pub struct Conv2d {
    /// `[out, in, k, k]`.
    pub weight: Var,
    /// `[out]`.
    pub bias: Var,
    /// Stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
}

impl Conv2d {
    /// A convolution from `cin` to `cout` channels.
    pub fn new(
        cin: usize,
        cout: usize,
        k: usize,
        stride: usize,
        padding: usize,
        rng: &mut Rng,
        dev: &Device,
    ) -> Result<Conv2d> {
        let bound = 1.0 / ((cin * k * k) as f64).sqrt();
        let w = Tensor::from_vec(
            uniform(rng, cout * cin * k * k, bound),
            (cout, cin, k, k),
            dev,
        )?;
        let b = Tensor::from_vec(uniform(rng, cout, bound), cout, dev)?;
        Ok(Conv2d {
            weight: Var::from_tensor(&w)?,
            bias: Var::from_tensor(&b)?,
            stride,
            padding,
        })
    }

    /// The same convolution with its weights in `dtype` (new variables).
    pub fn to_dtype(&self, dtype: DType) -> Result<Conv2d> {
        Ok(Conv2d {
            weight: converted(&self.weight, dtype)?,
            bias: converted(&self.bias, dtype)?,
            stride: self.stride,
            padding: self.padding,
        })
    }

    /// The output's height and width for an input `[n, in, h, w]`.
    pub fn output_size(&self, x: &Tensor) -> Result<(usize, usize)> {
        let (_, _, h, w) = x.dims4()?;
        let k = self.weight.dim(3)?;
        let out =
            |side: usize| (side + 2 * self.padding).saturating_sub(k) / self.stride.max(1) + 1;
        Ok((out(h), out(w)))
    }

    /// `x`: `[n, in, h, w]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        kernels::conv2d(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.stride,
            self.padding,
        )
    }
}

/// Batch normalisation over `[n, c, h, w]` (`nn.BatchNorm2d`: ε 1e-5, momentum 0.1, running
/// variance unbiased).
#[derive(Debug)]
pub struct BatchNorm2d {
    /// Scale γ.
    pub gamma: Var,
    /// Shift β.
    pub beta: Var,
    /// Running mean (a buffer, not trained).
    pub running_mean: Var,
    /// Running variance (a buffer).
    pub running_var: Var,
}

impl BatchNorm2d {
    /// Batch norm over `c` channels.
    pub fn new(c: usize, dev: &Device) -> Result<BatchNorm2d> {
        Ok(BatchNorm2d {
            gamma: Var::ones(c, DType::F32, dev)?,
            beta: Var::zeros(c, DType::F32, dev)?,
            running_mean: Var::zeros(c, DType::F32, dev)?,
            running_var: Var::ones(c, DType::F32, dev)?,
        })
    }

    /// The same normalisation with its weights and statistics in `dtype` (new variables).
    pub fn to_dtype(&self, dtype: DType) -> Result<BatchNorm2d> {
        Ok(BatchNorm2d {
            gamma: converted(&self.gamma, dtype)?,
            beta: converted(&self.beta, dtype)?,
            running_mean: converted(&self.running_mean, dtype)?,
            running_var: converted(&self.running_var, dtype)?,
        })
    }

    /// Normalises with the batch's statistics (`train`, updating the running ones) or the
    /// running ones.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward_act(x, train, false)
    }

    /// [`forward_act`](Self::forward_act), then `k × k` max-pooling (stride `k`): one fused
    /// node on the CPU in training ([`kernels::batch_norm_relu_pool`]).
    pub fn forward_act_pool(
        &self,
        x: &Tensor,
        train: bool,
        relu: bool,
        k: usize,
    ) -> Result<Tensor> {
        let (_, _, h, w) = x.dims4()?;
        if train && kernels::native(x) && k >= 1 && h >= k && w >= k {
            let (y, mean, var) = kernels::batch_norm_relu_pool(
                x,
                self.gamma.as_tensor(),
                self.beta.as_tensor(),
                1e-5,
                relu,
                k,
            )?;
            let (n, _, h, w) = x.dims4()?;
            self.update_running(n * h * w, mean, var)?;
            return Ok(y);
        }
        kernels::max_pool2d(&self.forward_act(x, train, relu)?, k)
    }

    /// `conv`, then [`forward_act_pool`](Self::forward_act_pool): in training on the CPU, the
    /// whole stage is one node ([`kernels::conv_bn_relu_pool`]), so the convolution's output is
    /// never an autograd edge.
    pub fn forward_conv_act_pool(
        &self,
        conv: &Conv2d,
        x: &Tensor,
        train: bool,
        relu: bool,
        k: usize,
    ) -> Result<Tensor> {
        let (ho, wo) = conv.output_size(x)?;
        if train
            && kernels::native(x)
            && x.dtype() == conv.weight.dtype()
            && k >= 1
            && ho >= k
            && wo >= k
        {
            let stage = kernels::Stage {
                stride: conv.stride,
                padding: conv.padding,
                eps: 1e-5,
                relu,
                pool: k,
            };
            let (y, mean, var) = kernels::conv_bn_relu_pool(
                x,
                conv.weight.as_tensor(),
                conv.bias.as_tensor(),
                self.gamma.as_tensor(),
                self.beta.as_tensor(),
                stage,
            )?;
            self.update_running(x.dim(0)? * ho * wo, mean, var)?;
            return Ok(y);
        }
        self.forward_act_pool(&conv.forward(x)?, train, relu, k)
    }

    /// Moves the running statistics towards a training batch's mean and biased variance over
    /// `count` values per channel.
    fn update_running(&self, count: usize, mean: Vec<f64>, var: Vec<f64>) -> Result<()> {
        let m = count as f64;
        let momentum = 0.1;
        let dev = self.running_mean.device();
        let dtype = self.running_mean.dtype();
        let mean = Tensor::from_vec(mean, var.len(), dev)?.to_dtype(dtype)?;
        let unbiased = Tensor::from_vec(var, mean.elem_count(), dev)?
            .to_dtype(dtype)?
            .affine(m / (m - 1.0).max(1.0), 0.0)?;
        self.running_mean.set(
            &((self.running_mean.as_tensor().detach() * (1.0 - momentum))?
                + mean.affine(momentum, 0.0)?)?,
        )?;
        self.running_var.set(
            &((self.running_var.as_tensor().detach() * (1.0 - momentum))?
                + unbiased.affine(momentum, 0.0)?)?,
        )
    }

    /// [`forward`](Self::forward), then ReLU when `relu` (one fused node on the CPU in
    /// training).
    pub fn forward_act(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if train && kernels::native(x) && x.rank() == 4 {
            let (y, mean, var) =
                kernels::batch_norm(x, self.gamma.as_tensor(), self.beta.as_tensor(), 1e-5, relu)?;
            let (n, _, h, w) = x.dims4()?;
            self.update_running(n * h * w, mean, var)?;
            return Ok(y);
        }
        if !train && kernels::native(x) && x.rank() == 4 {
            return kernels::batch_norm_eval(
                x,
                self.gamma.as_tensor(),
                self.beta.as_tensor(),
                self.running_mean.as_tensor(),
                self.running_var.as_tensor(),
                1e-5,
                relu,
            );
        }
        let y = self.plain(x, train)?;
        if relu { y.relu() } else { Ok(y) }
    }

    /// The batch norm in candle ops (other devices; evaluation).
    fn plain(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let c = x.dim(1)?;
        let shape = (1, c, 1, 1);
        let (mean, var) = if train {
            let (n, _, h, w) = x.dims4()?;
            let m = (n * h * w) as f64;
            // Per channel over (n, h, w): move channels first and flatten the rest.
            let flat = x.transpose(0, 1)?.reshape((c, ()))?;
            let mean = flat.mean(D::Minus1)?;
            let centred = flat.broadcast_sub(&mean.unsqueeze(1)?)?;
            let var = centred.sqr()?.mean(D::Minus1)?;
            let unbiased = var.affine(m / (m - 1.0).max(1.0), 0.0)?;
            let momentum = 0.1;
            self.running_mean.set(
                &((self.running_mean.as_tensor().detach() * (1.0 - momentum))?
                    + mean.detach().affine(momentum, 0.0)?)?,
            )?;
            self.running_var.set(
                &((self.running_var.as_tensor().detach() * (1.0 - momentum))?
                    + unbiased.detach().affine(momentum, 0.0)?)?,
            )?;
            (mean, var)
        } else {
            (
                self.running_mean.as_tensor().clone(),
                self.running_var.as_tensor().clone(),
            )
        };
        let inv = (var + 1e-5)?.sqrt()?.recip()?;
        let scale = (inv * self.gamma.as_tensor())?;
        let shift = (self.beta.as_tensor() - (mean * &scale)?)?;
        x.broadcast_mul(&scale.reshape(shape)?)?
            .broadcast_add(&shift.reshape(shape)?)
    }
}

/// ResNet's basic block: conv3×3 → BN → ReLU → conv3×3 → BN, plus the input (through a 1×1
/// convolution and BN when the shape changes), then ReLU.
#[derive(Debug)]
pub struct ResidualBlock {
    /// First convolution (carries the stride).
    pub conv1: Conv2d,
    /// Its batch norm.
    pub bn1: BatchNorm2d,
    /// Second convolution.
    pub conv2: Conv2d,
    /// Its batch norm.
    pub bn2: BatchNorm2d,
    /// The projection of the shortcut, when channels or size change.
    pub shortcut: Option<(Conv2d, BatchNorm2d)>,
}

impl ResidualBlock {
    /// A block from `cin` to `cout` channels with `stride`.
    pub fn new(
        cin: usize,
        cout: usize,
        stride: usize,
        rng: &mut Rng,
        dev: &Device,
    ) -> Result<Self> {
        let shortcut = if stride != 1 || cin != cout {
            Some((
                Conv2d::new(cin, cout, 1, stride, 0, rng, dev)?,
                BatchNorm2d::new(cout, dev)?,
            ))
        } else {
            None
        };
        Ok(ResidualBlock {
            conv1: Conv2d::new(cin, cout, 3, stride, 1, rng, dev)?,
            bn1: BatchNorm2d::new(cout, dev)?,
            conv2: Conv2d::new(cout, cout, 3, 1, 1, rng, dev)?,
            bn2: BatchNorm2d::new(cout, dev)?,
            shortcut,
        })
    }

    /// The same block with every weight and statistic in `dtype` (new variables).
    pub fn to_dtype(&self, dtype: DType) -> Result<ResidualBlock> {
        Ok(ResidualBlock {
            conv1: self.conv1.to_dtype(dtype)?,
            bn1: self.bn1.to_dtype(dtype)?,
            conv2: self.conv2.to_dtype(dtype)?,
            bn2: self.bn2.to_dtype(dtype)?,
            shortcut: match &self.shortcut {
                Some((c, b)) => Some((c.to_dtype(dtype)?, b.to_dtype(dtype)?)),
                None => None,
            },
        })
    }

    /// The block's output.
    pub fn forward(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let h = self.bn1.forward_act(&self.conv1.forward(x)?, train, true)?;
        let h = self.bn2.forward(&self.conv2.forward(&h)?, train)?;
        let skip = match &self.shortcut {
            Some((conv, bn)) => bn.forward(&conv.forward(x)?, train)?,
            None => x.clone(),
        };
        (h + skip)?.relu()
    }
}
