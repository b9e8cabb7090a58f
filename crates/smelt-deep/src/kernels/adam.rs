//! Adam's update in place: the moments, then the weight, one pass each and no allocation
//! (candle's op-by-op version allocated about ten tensors per variable per step).

use candle_core::{CpuStorage, InplaceOp2, InplaceOp3, Layout, Result, Tensor};

use super::{Real, slice};

/// One Adam / AdamW step's constants.
#[derive(Clone, Copy, Debug)]
pub struct AdamHyper {
    /// β₁, β₂.
    pub betas: (f64, f64),
    /// Learning rate divided by the first moment's bias correction (`lr / (1 − β₁ᵗ)`).
    pub step: f64,
    /// `1 / √(1 − β₂ᵗ)`.
    pub inv_sqrt_bc2: f64,
    /// ε.
    pub eps: f64,
    /// The factor on the weight before the update (`1 − lr·λ` for AdamW, else 1).
    pub keep: f64,
    /// The factor on the gradient (gradient clipping), 1 when none.
    pub scale: f64,
}

/// Updates `m ← β₁m + (1−β₁)·s·g`, `v ← β₂v + (1−β₂)·(s·g)²`, then
/// `w ← keep·w − step·m / (√v·inv_sqrt_bc2 + ε)`, all in place. `w`, `g`, `m`, `v`: contiguous
/// CPU tensors of one shape and float dtype (the caller checks that the tensors are on the CPU).
pub fn adam_step(w: &Tensor, g: &Tensor, m: &Tensor, v: &Tensor, h: &AdamHyper) -> Result<()> {
    if !(w.is_contiguous() && m.is_contiguous() && v.is_contiguous()) {
        candle_core::bail!("adam: non-contiguous state")
    }
    let g = g.contiguous()?;
    m.inplace_op2(
        &g,
        &Moment {
            beta: h.betas.0,
            scale: h.scale,
            square: false,
        },
    )?;
    v.inplace_op2(
        &g,
        &Moment {
            beta: h.betas.1,
            scale: h.scale,
            square: true,
        },
    )?;
    w.inplace_op3(m, v, &Apply(*h))
}

struct Moment {
    beta: f64,
    scale: f64,
    square: bool,
}

fn moment<T: Real>(dst: &mut [T], g: &[T], op: &Moment) {
    let (b, rest, s) = (T::of(op.beta), T::of(1.0 - op.beta), T::of(op.scale));
    for (d, &g) in dst.iter_mut().zip(g) {
        let g = g * s;
        let g = if op.square { g * g } else { g };
        *d = *d * b + rest * g;
    }
}

/// The mutable contiguous values of a CPU storage under `layout`.
fn slice_mut<'a, T: candle_core::WithDType>(
    s: &'a mut [T],
    layout: &Layout,
) -> Result<&'a mut [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("adam: non-contiguous state")
    };
    Ok(&mut s[start..end])
}

impl InplaceOp2 for Moment {
    fn name(&self) -> &'static str {
        "smelt-adam-moment"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<()> {
        match s1 {
            CpuStorage::F32(d) => moment(slice_mut(d, l1)?, slice::<f32>(s2, l2)?, self),
            CpuStorage::F64(d) => moment(slice_mut(d, l1)?, slice::<f64>(s2, l2)?, self),
            _ => candle_core::bail!("adam: f32 or f64 only"),
        }
        Ok(())
    }
}

struct Apply(AdamHyper);

fn apply<T: Real>(w: &mut [T], m: &[T], v: &[T], h: &AdamHyper) {
    let (keep, step, inv, eps) = (
        T::of(h.keep),
        T::of(h.step),
        T::of(h.inv_sqrt_bc2),
        T::of(h.eps),
    );
    for ((w, &m), &v) in w.iter_mut().zip(m).zip(v) {
        *w = *w * keep - step * m / (v.sqrt() * inv + eps);
    }
}

impl InplaceOp3 for Apply {
    fn name(&self) -> &'static str {
        "smelt-adam-apply"
    }

    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> Result<()> {
        match s1 {
            CpuStorage::F32(w) => apply(
                slice_mut(w, l1)?,
                slice::<f32>(s2, l2)?,
                slice::<f32>(s3, l3)?,
                &self.0,
            ),
            CpuStorage::F64(w) => apply(
                slice_mut(w, l1)?,
                slice::<f64>(s2, l2)?,
                slice::<f64>(s3, l3)?,
                &self.0,
            ),
            _ => candle_core::bail!("adam: f32 or f64 only"),
        }
        Ok(())
    }
}
