//! Fused cell updates on the CPU: the element-wise part of one LSTM or GRU step as one candle
//! operation with a hand-written backward pass, instead of a dozen small tensor operations
//! (each a view, an allocation and a node for autograd to walk, twice per step). The matrix
//! products stay candle's.
//!
//! - [`lstm_cell`]: the gates activated once (`σ` on `i, f, o`, `tanh` on `g`; the backward
//!   pass reads the derivatives off the activations), then `c' = f c + i g` and
//!   `h' = o tanh(c')` (separate operations, so `h'` and `c'` are both plain tensors);
//! - [`gru_cell`]: `(x_proj [B, 3H], h_proj [B, 3H], h [B, H]) → h'` with
//!   `n = tanh(x_n + σ(x_r + h_r) h_n)`.
//!
//! Inputs are made contiguous first; f32 and f64 (gradient checks) are supported. The
//! gradient checks in `tests/it/gradients.rs` cover these backward passes.

use candle_core::{CpuStorage, CustomOp2, CustomOp3, Layout, Shape, Tensor, WithDType};

/// The scalar arithmetic the kernels need.
pub(super) trait Real:
    WithDType
    + Copy
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::AddAssign
{
    const ONE: Self;
    const ZERO: Self;
    fn sigmoid(self) -> Self;
    fn tanh(self) -> Self;
}

/// tanh for f32 as a rational function with no branch or `exp`, so loops over it vectorise
/// (Eigen's `ptanh_float`, what TensorFlow's and XNNPACK's CPU kernels use): `x·P(x²)/Q(x²)`
/// on `x` clamped to ±7.9, within a few f32 ulps of tanh (test below). libm's scalar `tanhf`
/// and `expf` were a third of an LSTM epoch in a profile.
#[inline(always)]
fn fast_tanh(x: f32) -> f32 {
    let x = x.clamp(-7.905_311, 7.905_311);
    let x2 = x * x;
    let mut p = -2.760_768_5e-16f32;
    p = p * x2 + 2.000_188e-13;
    p = p * x2 + -8.604_672e-11;
    p = p * x2 + 5.122_297e-8;
    p = p * x2 + 1.485_722_4e-5;
    p = p * x2 + 6.372_619_3e-4;
    p = p * x2 + 4.893_524_6e-3;
    let mut q = 1.198_258_4e-6f32;
    q = q * x2 + 1.185_347_1e-4;
    q = q * x2 + 2.268_434_6e-3;
    q = q * x2 + 4.893_525e-3;
    x * p / q
}

impl Real for f32 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;
    #[inline(always)]
    fn sigmoid(self) -> Self {
        // σ(x) = ½ + ½ tanh(x/2), exactly.
        0.5 + 0.5 * fast_tanh(0.5 * self)
    }
    #[inline(always)]
    fn tanh(self) -> Self {
        fast_tanh(self)
    }
}

impl Real for f64 {
    const ONE: Self = 1.0;
    const ZERO: Self = 0.0;
    fn sigmoid(self) -> Self {
        1.0 / (1.0 + (-self).exp())
    }
    fn tanh(self) -> Self {
        f64::tanh(self)
    }
}

fn slice<'a, T: WithDType>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [T]> {
    let data = s.as_slice::<T>()?;
    match l.contiguous_offsets() {
        Some((a, b)) => Ok(&data[a..b]),
        None => candle_core::bail!("fused RNN cell: non-contiguous input"),
    }
}

fn values<T: WithDType>(t: &Tensor) -> candle_core::Result<Vec<T>> {
    t.flatten_all()?.to_vec1::<T>()
}

/// Batch rows and hidden units of a `[B, k·H]` gate tensor and its `[B, H]` state.
fn dims(gates: &Layout, state: &Layout, k: usize) -> candle_core::Result<(usize, usize)> {
    let (b, g) = gates.shape().dims2()?;
    let (b2, h) = state.shape().dims2()?;
    if b != b2 || g != k * h {
        candle_core::bail!(
            "fused RNN cell: gates {:?} do not match the state {:?}",
            gates.shape(),
            state.shape()
        );
    }
    Ok((b, h))
}

/// The LSTM's gate activations from the step's input projection `x W_ih` and hidden
/// projection `h W_hh` (both `[B, 4H]`) and the bias `b_ih + b_hh` (`[4H]`): `σ` on `i, f, o`,
/// `tanh` on `g`. One operation instead of two additions (one broadcast, whose backward is a
/// reduction) and the activations; the backward pass reads the derivatives off the result.
struct LstmGates;

impl LstmGates {
    fn fwd<T: Real>(x: &[T], hp: &[T], bias: &[T], h: usize) -> Vec<T> {
        let g = 4 * h;
        let mut out = vec![T::ZERO; x.len()];
        for ((o, x), hp) in out
            .chunks_exact_mut(g)
            .zip(x.chunks_exact(g))
            .zip(hp.chunks_exact(g))
        {
            for j in 0..g {
                o[j] = x[j] + hp[j] + bias[j];
            }
            for v in &mut o[..2 * h] {
                *v = v.sigmoid();
            }
            for v in &mut o[2 * h..3 * h] {
                *v = v.tanh();
            }
            for v in &mut o[3 * h..] {
                *v = v.sigmoid();
            }
        }
        out
    }
}

impl CustomOp3 for LstmGates {
    fn name(&self) -> &'static str {
        "lstm-gates"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, g) = l1.shape().dims2()?;
        if l2.shape().dims2()? != (b, g) || l3.shape().elem_count() != g || g % 4 != 0 {
            candle_core::bail!(
                "lstm-gates: shapes {:?} {:?} {:?}",
                l1.shape(),
                l2.shape(),
                l3.shape()
            );
        }
        let h = g / 4;
        let out = match (s1, s2, s3) {
            (CpuStorage::F32(_), CpuStorage::F32(_), CpuStorage::F32(_)) => {
                CpuStorage::F32(Self::fwd(
                    slice::<f32>(s1, l1)?,
                    slice::<f32>(s2, l2)?,
                    slice::<f32>(s3, l3)?,
                    h,
                ))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                CpuStorage::F64(Self::fwd(
                    slice::<f64>(s1, l1)?,
                    slice::<f64>(s2, l2)?,
                    slice::<f64>(s3, l3)?,
                    h,
                ))
            }
            _ => candle_core::bail!("lstm-gates: f32 or f64 inputs of one type"),
        };
        Ok((out, l1.shape().clone()))
    }

    fn bwd(
        &self,
        x: &Tensor,
        _hp: &Tensor,
        bias: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        fn run<T: Real>(res: &Tensor, grad: &Tensor) -> candle_core::Result<(Vec<T>, Vec<T>)> {
            let (_, g) = res.dims2()?;
            let h = g / 4;
            let (a, d) = (values::<T>(res)?, values::<T>(grad)?);
            let mut out = vec![T::ZERO; a.len()];
            let mut db = vec![T::ZERO; g];
            for ((o, a), d) in out
                .chunks_exact_mut(g)
                .zip(a.chunks_exact(g))
                .zip(d.chunks_exact(g))
            {
                for j in 0..2 * h {
                    o[j] = d[j] * a[j] * (T::ONE - a[j]);
                }
                for j in 2 * h..3 * h {
                    o[j] = d[j] * (T::ONE - a[j] * a[j]);
                }
                for j in 3 * h..g {
                    o[j] = d[j] * a[j] * (T::ONE - a[j]);
                }
                for (b, &o) in db.iter_mut().zip(o.iter()) {
                    *b += o;
                }
            }
            Ok((out, db))
        }
        let shape = res.shape();
        let (dpre, db) = match res.dtype() {
            candle_core::DType::F64 => {
                let (p, b) = run::<f64>(res, grad)?;
                (
                    Tensor::from_vec(p, shape, x.device())?,
                    Tensor::from_vec(b, bias.shape(), x.device())?,
                )
            }
            _ => {
                let (p, b) = run::<f32>(res, grad)?;
                (
                    Tensor::from_vec(p, shape, x.device())?,
                    Tensor::from_vec(b, bias.shape(), x.device())?,
                )
            }
        };
        Ok((Some(dpre.clone()), Some(dpre), Some(db)))
    }
}

/// `c' = f ⊙ c + i ⊙ g` from the activated gates `[i | f | g | o]` and the cell state.
struct LstmCellState;

impl LstmCellState {
    fn fwd<T: Real>(a: &[T], c: &[T], h: usize) -> Vec<T> {
        let mut out = vec![T::ZERO; c.len()];
        for ((o, a), c) in out
            .chunks_exact_mut(h)
            .zip(a.chunks_exact(4 * h))
            .zip(c.chunks_exact(h))
        {
            for j in 0..h {
                o[j] = a[h + j] * c[j] + a[j] * a[2 * h + j];
            }
        }
        out
    }
}

impl CustomOp2 for LstmCellState {
    fn name(&self) -> &'static str {
        "lstm-cell-state"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h) = dims(l1, l2, 4)?;
        let out = match (s1, s2) {
            (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                CpuStorage::F32(Self::fwd(slice::<f32>(s1, l1)?, slice::<f32>(s2, l2)?, h))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                CpuStorage::F64(Self::fwd(slice::<f64>(s1, l1)?, slice::<f64>(s2, l2)?, h))
            }
            _ => candle_core::bail!("lstm-cell-state: f32 or f64 inputs of one type"),
        };
        Ok((out, Shape::from((b, h))))
    }

    fn bwd(
        &self,
        act: &Tensor,
        c: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        fn run<T: Real>(
            act: &Tensor,
            c: &Tensor,
            grad: &Tensor,
        ) -> candle_core::Result<(Tensor, Tensor)> {
            let (b, h) = c.dims2()?;
            let (a, cv, d) = (values::<T>(act)?, values::<T>(c)?, values::<T>(grad)?);
            let mut da = vec![T::ZERO; b * 4 * h];
            let mut dc = vec![T::ZERO; b * h];
            for r in 0..b {
                let (ar, dar) = (
                    &a[r * 4 * h..(r + 1) * 4 * h],
                    &mut da[r * 4 * h..(r + 1) * 4 * h],
                );
                let (cr, dr, dcr) = (
                    &cv[r * h..(r + 1) * h],
                    &d[r * h..(r + 1) * h],
                    &mut dc[r * h..(r + 1) * h],
                );
                for j in 0..h {
                    dar[j] = dr[j] * ar[2 * h + j];
                    dar[h + j] = dr[j] * cr[j];
                    dar[2 * h + j] = dr[j] * ar[j];
                    dcr[j] = dr[j] * ar[h + j];
                }
            }
            Ok((
                Tensor::from_vec(da, (b, 4 * h), act.device())?,
                Tensor::from_vec(dc, (b, h), c.device())?,
            ))
        }
        let (da, dc) = match act.dtype() {
            candle_core::DType::F64 => run::<f64>(act, c, grad)?,
            _ => run::<f32>(act, c, grad)?,
        };
        Ok((Some(da), Some(dc)))
    }
}

/// `h' = o ⊙ tanh(c')` from the activated gates and the new cell state.
struct LstmCellOutput;

impl LstmCellOutput {
    fn fwd<T: Real>(a: &[T], c: &[T], h: usize) -> Vec<T> {
        let mut out = vec![T::ZERO; c.len()];
        for ((o, a), c) in out
            .chunks_exact_mut(h)
            .zip(a.chunks_exact(4 * h))
            .zip(c.chunks_exact(h))
        {
            for j in 0..h {
                o[j] = a[3 * h + j] * c[j].tanh();
            }
        }
        out
    }
}

impl CustomOp2 for LstmCellOutput {
    fn name(&self) -> &'static str {
        "lstm-cell-output"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h) = dims(l1, l2, 4)?;
        let out = match (s1, s2) {
            (CpuStorage::F32(_), CpuStorage::F32(_)) => {
                CpuStorage::F32(Self::fwd(slice::<f32>(s1, l1)?, slice::<f32>(s2, l2)?, h))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_)) => {
                CpuStorage::F64(Self::fwd(slice::<f64>(s1, l1)?, slice::<f64>(s2, l2)?, h))
            }
            _ => candle_core::bail!("lstm-cell-output: f32 or f64 inputs of one type"),
        };
        Ok((out, Shape::from((b, h))))
    }

    fn bwd(
        &self,
        act: &Tensor,
        c: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        fn run<T: Real>(
            act: &Tensor,
            c: &Tensor,
            grad: &Tensor,
        ) -> candle_core::Result<(Tensor, Tensor)> {
            let (b, h) = c.dims2()?;
            let (a, cv, d) = (values::<T>(act)?, values::<T>(c)?, values::<T>(grad)?);
            let mut da = vec![T::ZERO; b * 4 * h];
            let mut dc = vec![T::ZERO; b * h];
            for r in 0..b {
                let (ar, dar) = (
                    &a[r * 4 * h..(r + 1) * 4 * h],
                    &mut da[r * 4 * h..(r + 1) * 4 * h],
                );
                let (cr, dr, dcr) = (
                    &cv[r * h..(r + 1) * h],
                    &d[r * h..(r + 1) * h],
                    &mut dc[r * h..(r + 1) * h],
                );
                for j in 0..h {
                    let o = ar[3 * h + j];
                    let tc = cr[j].tanh();
                    dar[3 * h + j] = dr[j] * tc;
                    dcr[j] = dr[j] * o * (T::ONE - tc * tc);
                }
            }
            Ok((
                Tensor::from_vec(da, (b, 4 * h), act.device())?,
                Tensor::from_vec(dc, (b, h), c.device())?,
            ))
        }
        let (da, dc) = match act.dtype() {
            candle_core::DType::F64 => run::<f64>(act, c, grad)?,
            _ => run::<f32>(act, c, grad)?,
        };
        Ok((Some(da), Some(dc)))
    }
}

/// One LSTM step's element-wise part: `(h', c')` from the input projection `x W_ih` and the
/// hidden projection `h W_hh` (`[B, 4H]`, gates `i, f, g, o`), the bias `b_ih + b_hh` (`[4H]`)
/// and the cell state `[B, H]`.
pub fn lstm_cell(
    x_proj: &Tensor,
    h_proj: &Tensor,
    bias: &Tensor,
    c: &Tensor,
) -> candle_core::Result<(Tensor, Tensor)> {
    let act =
        x_proj
            .contiguous()?
            .apply_op3(&h_proj.contiguous()?, &bias.contiguous()?, LstmGates)?;
    let c_new = act.apply_op2(&c.contiguous()?, LstmCellState)?;
    let h_new = act.apply_op2(&c_new, LstmCellOutput)?;
    Ok((h_new, c_new))
}

/// `h'` of a GRU step from the input projection `[B, 3H]` (with `b_ih`), the hidden
/// projection `[B, 3H]` (with `b_hh`) and the hidden state `[B, H]`.
struct GruCell;

impl GruCell {
    fn fwd<T: Real>(x: &[T], hp: &[T], hs: &[T], b: usize, h: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(b * h);
        for r in 0..b {
            let (xr, hr) = (
                &x[r * 3 * h..(r + 1) * 3 * h],
                &hp[r * 3 * h..(r + 1) * 3 * h],
            );
            for j in 0..h {
                let rg = (xr[j] + hr[j]).sigmoid();
                let z = (xr[h + j] + hr[h + j]).sigmoid();
                let n = (xr[2 * h + j] + rg * hr[2 * h + j]).tanh();
                out.push(n + z * (hs[r * h + j] - n));
            }
        }
        out
    }
}

impl CustomOp3 for GruCell {
    fn name(&self) -> &'static str {
        "gru-cell"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
        s3: &CpuStorage,
        l3: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        let (b, h) = dims(l1, l3, 3)?;
        dims(l2, l3, 3)?;
        let out = match (s1, s2, s3) {
            (CpuStorage::F32(_), CpuStorage::F32(_), CpuStorage::F32(_)) => {
                CpuStorage::F32(Self::fwd(
                    slice::<f32>(s1, l1)?,
                    slice::<f32>(s2, l2)?,
                    slice::<f32>(s3, l3)?,
                    b,
                    h,
                ))
            }
            (CpuStorage::F64(_), CpuStorage::F64(_), CpuStorage::F64(_)) => {
                CpuStorage::F64(Self::fwd(
                    slice::<f64>(s1, l1)?,
                    slice::<f64>(s2, l2)?,
                    slice::<f64>(s3, l3)?,
                    b,
                    h,
                ))
            }
            _ => candle_core::bail!("gru-cell: f32 or f64 inputs of one type"),
        };
        Ok((out, Shape::from((b, h))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        hp: &Tensor,
        hs: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>, Option<Tensor>)> {
        type Grads = (Tensor, Tensor, Tensor);
        fn run<T: Real>(
            x: &Tensor,
            hp: &Tensor,
            hs: &Tensor,
            grad: &Tensor,
        ) -> candle_core::Result<Grads> {
            let (b, h) = hs.dims2()?;
            let (xv, hv, sv, d) = (
                values::<T>(x)?,
                values::<T>(hp)?,
                values::<T>(hs)?,
                values::<T>(grad)?,
            );
            let mut dx = vec![T::ZERO; b * 3 * h];
            let mut dhp = vec![T::ZERO; b * 3 * h];
            let mut dhs = vec![T::ZERO; b * h];
            for r in 0..b {
                let o = r * 3 * h;
                for j in 0..h {
                    let k = r * h + j;
                    let rg = (xv[o + j] + hv[o + j]).sigmoid();
                    let z = (xv[o + h + j] + hv[o + h + j]).sigmoid();
                    let hn = hv[o + 2 * h + j];
                    let n = (xv[o + 2 * h + j] + rg * hn).tanh();
                    let dk = d[k];
                    let dz = dk * (sv[k] - n) * z * (T::ONE - z);
                    let dn = dk * (T::ONE - z) * (T::ONE - n * n);
                    let dr = dn * hn * rg * (T::ONE - rg);
                    dx[o + j] = dr;
                    dx[o + h + j] = dz;
                    dx[o + 2 * h + j] = dn;
                    dhp[o + j] = dr;
                    dhp[o + h + j] = dz;
                    dhp[o + 2 * h + j] = dn * rg;
                    dhs[k] = dk * z;
                }
            }
            Ok((
                Tensor::from_vec(dx, (b, 3 * h), x.device())?,
                Tensor::from_vec(dhp, (b, 3 * h), hp.device())?,
                Tensor::from_vec(dhs, (b, h), hs.device())?,
            ))
        }
        let (dx, dhp, dhs) = match x.dtype() {
            candle_core::DType::F64 => run::<f64>(x, hp, hs, grad)?,
            _ => run::<f32>(x, hp, hs, grad)?,
        };
        Ok((Some(dx), Some(dhp), Some(dhs)))
    }
}

/// One GRU step's element-wise part (see the [module docs](self)).
pub fn gru_cell(x_proj: &Tensor, h_proj: &Tensor, h: &Tensor) -> candle_core::Result<Tensor> {
    x_proj
        .contiguous()?
        .apply_op3(&h_proj.contiguous()?, &h.contiguous()?, GruCell)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_tanh_and_sigmoid_are_within_a_few_ulps() {
        let mut worst = (0f32, 0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4;
            let t = (fast_tanh(x) - (x as f64).tanh() as f32).abs();
            let s = (Real::sigmoid(x) - (1.0 / (1.0 + (-(x as f64)).exp())) as f32).abs();
            worst = (worst.0.max(t), worst.1.max(s));
        }
        assert!(worst.0 <= 1e-6 && worst.1 <= 1e-6, "max |diff| {worst:?}");
        assert_eq!(fast_tanh(0.0), 0.0);
        assert_eq!(fast_tanh(50.0), fast_tanh(7.905_311));
        assert!((fast_tanh(50.0) - 1.0).abs() < 1e-6);
    }
}
