//! A CNN stage — convolution, batch norm, ReLU and max-pooling — as one autograd node.
//!
//! With the last three fused ([`super::batch_norm_relu_pool`]), the convolution's output was
//! still an edge of candle's graph: a `[n, o, h, w]` tensor whose gradient candle accumulates
//! into a zero-filled buffer with an addition (the largest tensors of a CNN step). Here it lives
//! only inside the node: the forward pass keeps it and the column matrix for the backward pass,
//! which runs the batch norm's closed form straight into the convolution's two products. The
//! convolution's weight and bias arrive as one vector, γ and β as another (candle's custom ops
//! take three inputs), concatenated by the caller; their gradients come back the same way.

use std::any::Any;
use std::sync::{Arc, Mutex};

use candle_core::{CpuStorage, CustomOp3, Layout, Result, Shape, Tensor};

use super::bnpool::BnPool;
use super::conv::{Geom, Grads3, conv_bwd, conv_fwd};
use super::norm::{Stat, stats};
use super::{Real, slice, with_values};

/// How a stage convolves, normalises and pools.
#[derive(Clone, Copy, Debug)]
pub struct Stage {
    /// Convolution stride.
    pub stride: usize,
    /// Zero padding on each side.
    pub padding: usize,
    /// The batch norm's ε.
    pub eps: f64,
    /// ReLU after the batch norm.
    pub relu: bool,
    /// Max-pooling window and stride.
    pub pool: usize,
}

/// `pool(relu?(bn(conv(x))))` in training mode, for `x` `[n, c, h, w]`, `weight` `[o, c, k, k]`,
/// `bias`, `gamma`, `beta` `[o]` (CPU f32/f64 of one dtype; the convolution's output must be
/// at least `pool` on each side: the caller checks). Returns the pooled output and the batch's
/// mean and biased variance per channel (for the running statistics).
pub fn conv_bn_relu_pool(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    gamma: &Tensor,
    beta: &Tensor,
    stage: Stage,
) -> Result<(Tensor, Vec<f64>, Vec<f64>)> {
    let x = x.contiguous()?;
    let conv = Tensor::cat(&[weight.flatten_all()?, bias.flatten_all()?], 0)?;
    let bn = Tensor::cat(&[gamma.flatten_all()?, beta.flatten_all()?], 0)?;
    let stats: Arc<Mutex<Option<BatchStats>>> = Arc::new(Mutex::new(None));
    let op = StageOp {
        stage,
        weight: weight.shape().clone(),
        stats: Arc::clone(&stats),
        kept: Mutex::new(None),
    };
    let y = x.apply_op3(&conv, &bn, op)?;
    let (mean, var) = stats
        .lock()
        .ok()
        .and_then(|mut s| s.take())
        .ok_or_else(|| candle_core::Error::Msg("smelt-stage: no batch statistics".into()))?;
    Ok((y, mean, var))
}

/// A batch's mean and biased variance per channel.
type BatchStats = (Vec<f64>, Vec<f64>);

struct StageOp {
    stage: Stage,
    /// The convolution weight's shape `[o, c, k, k]`.
    weight: Shape,
    /// The batch's mean and variance, for the caller.
    stats: Arc<Mutex<Option<BatchStats>>>,
    /// The forward pass's [`Kept`] (`Kept<T>`), for the backward pass.
    kept: Mutex<Option<Box<dyn Any + Send>>>,
}

/// What the backward pass reuses: the column matrix, the convolution's output and the batch
/// norm/pool node (its statistics and window maxima).
struct Kept<T> {
    cols: Vec<T>,
    z: Vec<T>,
    pool: BnPool,
}

impl StageOp {
    fn geom(&self, x: &Shape) -> Result<Geom> {
        Geom::new(x, &self.weight, self.stage.stride, self.stage.padding)
    }

    /// The pooled output and what the backward pass needs.
    fn forward<T: Real>(
        &self,
        x: &[T],
        conv: &[T],
        bn: &[T],
        g: &Geom,
    ) -> Result<(Vec<T>, Kept<T>)> {
        let (o, ckk, k) = (g.o, g.ckk(), self.stage.pool);
        if conv.len() != o * ckk + o || bn.len() != 2 * o {
            candle_core::bail!(
                "smelt-stage: {} convolution and {} batch-norm parameters for {o} channels",
                conv.len(),
                bn.len()
            )
        }
        if k == 0 || g.ho < k || g.wo < k || g.ho * g.wo > u32::MAX as usize {
            candle_core::bail!(
                "smelt-stage: {}×{} planes cannot be pooled by {k}",
                g.ho,
                g.wo
            )
        }
        let (w, b) = conv.split_at(o * ckk);
        let (z, cols) = conv_fwd(x, w, b, g);
        let (mean, var) = stats(&z, g.n, o, g.l());
        let pool = BnPool::new(Stat::of(&mean, &var, self.stage.eps), self.stage.relu, k);
        let (gamma, beta) = bn.split_at(o);
        let (y, idx) = pool.forward(&z, gamma, beta, (o, g.ho, g.wo));
        pool.keep(idx);
        if let Ok(mut s) = self.stats.lock() {
            *s = Some((mean, var));
        }
        Ok((y, Kept { cols, z, pool }))
    }

    fn backward<T: Real>(
        &self,
        x: &Tensor,
        conv: &Tensor,
        bn: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<Grads3> {
        let g = self.geom(x.shape())?;
        let kept = self
            .kept
            .lock()
            .ok()
            .and_then(|mut k| k.take())
            .and_then(|k| k.downcast::<Kept<T>>().ok());
        let Kept { cols, z, pool } = match kept {
            Some(k) => *k,
            // Backward without the forward's record: run the forward again for it.
            None => {
                with_values::<T, _>(x, |xv| {
                    with_values::<T, _>(conv, |cv| {
                        with_values::<T, _>(bn, |bv| self.forward(xv, cv, bv, &g))
                    })
                })????
                .1
            }
        };
        let dev = x.device();
        let (o, ckk) = (g.o, g.ckk());
        let z = Tensor::from_vec(z, (g.n, o, g.ho, g.wo), dev)?;
        let gamma = bn.narrow(0, 0, o)?;
        let (dz, dgamma, dbeta) = pool.backward::<T>(&z, &gamma, res, grad, true)?;
        let (Some(dz), Some(dgamma), Some(dbeta)) = (dz, dgamma, dbeta) else {
            candle_core::bail!("smelt-stage: the batch norm gave no gradient")
        };
        let w = conv.narrow(0, 0, o * ckk)?.reshape(&self.weight)?;
        let (dx, dw, db) = conv_bwd::<T>(x, &w, &dz, &g, Some(T::to_cpu_storage_owned(cols)))?;
        let (Some(dw), Some(db)) = (dw, db) else {
            candle_core::bail!("smelt-stage: the convolution gave no gradient")
        };
        Ok((
            dx,
            Some(Tensor::cat(&[dw.flatten_all()?, db], 0)?),
            Some(Tensor::cat(&[dgamma, dbeta], 0)?),
        ))
    }
}

impl CustomOp3 for StageOp {
    fn name(&self) -> &'static str {
        "smelt-conv-bn-relu-pool"
    }

    fn cpu_fwd(
        &self,
        sx: &CpuStorage,
        lx: &Layout,
        sc: &CpuStorage,
        lc: &Layout,
        sb: &CpuStorage,
        lb: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let g = self.geom(lx.shape())?;
        let k = self.stage.pool.max(1);
        let shape = Shape::from((g.n, g.o, g.ho / k, g.wo / k));
        let (y, kept): (CpuStorage, Box<dyn Any + Send>) = match (sx, sc, sb) {
            (CpuStorage::F32(_), CpuStorage::F32(_), CpuStorage::F32(_)) => {
                let (y, kept) = self.forward(
                    slice::<f32>(sx, lx)?,
                    slice::<f32>(sc, lc)?,
                    slice::<f32>(sb, lb)?,
                    &g,
                )?;
                (CpuStorage::F32(y), Box::new(kept))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                let (y, kept) = self.forward(
                    slice::<f64>(sx, lx)?,
                    slice::<f64>(sc, lc)?,
                    slice::<f64>(sb, lb)?,
                    &g,
                )?;
                (CpuStorage::F64(y), Box::new(kept))
            }
            _ => candle_core::bail!("smelt-stage: f32 or f64 inputs of one dtype"),
        };
        if let Ok(mut k) = self.kept.lock() {
            *k = Some(kept);
        }
        Ok((y, shape))
    }

    fn bwd(
        &self,
        x: &Tensor,
        conv: &Tensor,
        bn: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> Result<Grads3> {
        match x.dtype() {
            candle_core::DType::F32 => self.backward::<f32>(x, conv, bn, res, grad),
            _ => self.backward::<f64>(x, conv, bn, res, grad),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::kernels::max_diff;
    use candle_core::{Device, Var};
    use smelt_core::rng::Rng;

    use super::super::{batch_norm_relu_pool, conv2d};
    use super::*;

    #[test]
    fn the_stage_equals_the_convolution_then_the_bn_relu_pool_node() {
        let dev = Device::Cpu;
        let mut rng = Rng::new(8);
        let mut normal = |n: usize| -> Vec<f64> { (0..n).map(|_| rng.normal()).collect() };
        let (n, c, o, side) = (3, 2, 4, 7);
        let x = Var::from_vec(normal(n * c * side * side), (n, c, side, side), &dev).expect("x");
        let w = Var::from_vec(normal(o * c * 9), (o, c, 3, 3), &dev).expect("w");
        let b = Var::from_vec(normal(o), o, &dev).expect("b");
        let gamma = Var::from_vec(vec![1.5, 0.7, -0.8, 1.1], o, &dev).expect("gamma");
        let beta = Var::from_vec(vec![0.1, -0.2, 0.3, 0.05], o, &dev).expect("beta");
        for (stride, padding, relu, pool) in [(1, 1, true, 2), (2, 0, false, 1), (1, 0, true, 3)] {
            let stage = Stage {
                stride,
                padding,
                eps: 1e-5,
                relu,
                pool,
            };
            let (got, mean, var) =
                conv_bn_relu_pool(&x, &w, &b, &gamma, &beta, stage).expect("fused");
            let z = conv2d(&x, &w, &b, stride, padding).expect("conv");
            let (want, mean2, var2) =
                batch_norm_relu_pool(&z, &gamma, &beta, 1e-5, relu, pool).expect("bn-pool");
            assert!(max_diff(&got, &want) < 1e-12, "outputs");
            assert_eq!((mean, var), (mean2, var2));
            let r = Tensor::from_vec(normal(got.elem_count()), got.shape(), &dev).expect("r");
            let g1 = (got * &r)
                .and_then(|t| t.sum_all()?.backward())
                .expect("bwd");
            let g2 = (want * &r)
                .and_then(|t| t.sum_all()?.backward())
                .expect("bwd");
            for v in [&x, &w, &b, &gamma, &beta] {
                let (a, e) = (g1.get(v).expect("grad"), g2.get(v).expect("grad"));
                assert!(
                    max_diff(a, e) < 1e-10,
                    "{stride} {padding} {relu} {pool}: gradients"
                );
            }
        }
    }
}
