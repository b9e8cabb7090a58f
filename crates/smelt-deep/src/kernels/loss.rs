//! Mean softmax cross-entropy on class codes as one autograd node.

use candle_core::{CpuStorage, CustomOp2, D, DType, Layout, Result, Shape, Tensor};

use super::{Real, native, slice, with_values};

/// The mean over rows of `-log softmax(logits)[target]`, `logits` `[rows, classes]`, `targets`
/// `[rows]` u32 class codes: one pass forward (log-sum-exp per row), one pass backward
/// (`(softmax − one-hot) / rows`). A code outside `0..classes` is an error.
pub fn cross_entropy(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    if native(logits) && logits.rank() == 2 && targets.dtype() == DType::U32 {
        let (logits, targets) = (logits.contiguous()?, targets.contiguous()?);
        logits.apply_op2(&targets, CrossEntropy)
    } else {
        let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
        candle_nn::loss::nll(&logp, targets)
    }
}

struct CrossEntropy;

/// Each row's maximum and log Σ exp(z − max).
fn row_lse<T: Real>(row: &[T]) -> (T, T) {
    let mut max = row[0];
    for &v in row {
        if v > max {
            max = v;
        }
    }
    let mut sum = T::of(0.0);
    for &v in row {
        sum += (v - max).exp();
    }
    (max, sum.ln())
}

fn check_codes(t: &[u32], classes: usize) -> Result<()> {
    if let Some(&bad) = t.iter().find(|&&c| c as usize >= classes) {
        candle_core::bail!("cross-entropy: class code {bad} with {classes} outputs")
    }
    Ok(())
}

fn forward<T: Real>(z: &[T], t: &[u32], c: usize) -> Result<T> {
    check_codes(t, c)?;
    let mut total = 0.0f64;
    for (row, &code) in z.chunks_exact(c).zip(t) {
        let (max, lse) = row_lse(row);
        total += (max + lse - row[code as usize]).to_f64();
    }
    Ok(T::of(total / t.len().max(1) as f64))
}

impl CustomOp2 for CrossEntropy {
    fn name(&self) -> &'static str {
        "smelt-cross-entropy"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (rows, c) = l1.shape().dims2()?;
        let t = slice::<u32>(s2, l2)?;
        if t.len() != rows || c == 0 {
            candle_core::bail!(
                "cross-entropy: {rows} rows of {c} logits, {} codes",
                t.len()
            )
        }
        let out = match s1 {
            CpuStorage::F32(_) => CpuStorage::F32(vec![forward(slice::<f32>(s1, l1)?, t, c)?]),
            CpuStorage::F64(_) => CpuStorage::F64(vec![forward(slice::<f64>(s1, l1)?, t, c)?]),
            _ => candle_core::bail!("cross-entropy: f32 or f64 logits only"),
        };
        Ok((out, Shape::from(())))
    }

    fn bwd(
        &self,
        logits: &Tensor,
        targets: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        let d = match logits.dtype() {
            DType::F32 => backward::<f32>(logits, targets, g)?,
            _ => backward::<f64>(logits, targets, g)?,
        };
        Ok((Some(d), None))
    }
}

fn backward<T: Real>(logits: &Tensor, targets: &Tensor, g: f64) -> Result<Tensor> {
    let (rows, c) = logits.dims2()?;
    let scale = T::of(g / rows.max(1) as f64);
    let d = with_values::<T, _>(logits, |z| {
        with_values::<u32, _>(targets, |t| {
            let mut d = vec![T::of(0.0); z.len()];
            for ((out, row), &code) in d.chunks_exact_mut(c).zip(z.chunks_exact(c)).zip(t) {
                let (max, lse) = row_lse(row);
                for (o, &v) in out.iter_mut().zip(row) {
                    *o = (v - max - lse).exp() * scale;
                }
                if let Some(o) = out.get_mut(code as usize) {
                    *o -= scale;
                }
            }
            d
        })
    })??;
    Tensor::from_vec(d, (rows, c), logits.device())
}
