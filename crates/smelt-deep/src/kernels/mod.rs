//! Our own CPU kernels for the layers where candle's op-by-op execution missed issue 18's speed
//! goals (BENCHMARKS.md, "Networks"; ARCHITECTURE.md, "Our own code").
//!
//! candle runs every layer as a chain of small ops, each allocating its output, and its
//! autograd adds a zero-filled buffer and an addition per gradient edge. Each kernel here is one
//! candle custom op (`CustomOp1/2/3`) whose forward and backward passes are a few loops over
//! contiguous memory around candle's own matrix product, so autograd sees one node per layer:
//!
//! - [`linear`]: `act(x·W + b)`, bias and activation applied in the product's output pass;
//! - [`mlp`]: a whole stack of dense layers (the MLP) as one node, its weights in one flat
//!   vector, each block of rows run through every layer on one thread;
//! - [`cross_entropy`]: mean softmax cross-entropy on class codes in one pass, its gradient in
//!   one more;
//! - [`conv2d`]: a convolution as im2col and one matrix product, the backward pass as two
//!   products and a col2im (candle's goes through a direct `conv_transpose2d`);
//! - [`max_pool2d`]: non-overlapping max-pooling routing the gradient to each window's maximum;
//! - [`batch_norm`]: training-mode batch normalisation (optionally followed by ReLU) with its
//!   closed-form backward pass; [`batch_norm_eval`] with the running statistics in one pass;
//! - [`batch_norm_relu_pool`]: batch norm, ReLU and max-pooling as one node (the CNN's stage
//!   after each convolution), so the normalised tensor is never materialised for autograd;
//! - [`conv_bn_relu_pool`]: the whole stage, convolution included, as one node (the `cnn`
//!   layout's stages in training), so the convolution's output is not an autograd edge either;
//! - [`adam_step`]: Adam's update of a weight and its moments in place, one pass.
//!
//! Every kernel takes f32 and f64 CPU tensors (the finite-difference checks run in f64); on
//! other devices or dtypes each falls back to the same computation in plain candle ops, so the
//! `cuda` build trains as before.

mod adam;
mod bnpool;
mod conv;
mod gemm;
mod linear;
mod loss;
mod mlp;
mod norm;
mod stage;

pub use adam::{AdamHyper, adam_step};
pub use bnpool::batch_norm_relu_pool;
pub use conv::{conv2d, max_pool2d};
pub(crate) use gemm::{View, matmul};
pub use linear::{Act, linear};
pub use loss::cross_entropy;
pub use mlp::{Dropout, Layers, mlp};
pub use norm::{batch_norm, batch_norm_eval};
pub use stage::{Stage, conv_bn_relu_pool};

use candle_core::{CpuStorage, DType, Device, Layout, Result, Storage, Tensor, WithDType};

/// Defines `pub(crate) fn $name(...)` that runs its body compiled for AVX2 + FMA when the CPU
/// has them (the body is inlined into a `#[target_feature]` copy), else as plain code.
macro_rules! simd_fn {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        pub(crate) fn $name($($arg: $ty),*) {
            #[inline(always)]
            fn portable($($arg: $ty),*) $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                fn avx2($($arg: $ty),*) {
                    portable($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    #[allow(unsafe_code, reason = "calling a target_feature function after detecting the features")]
                    // SAFETY: the CPU has AVX2 and FMA (detected just above).
                    unsafe {
                        return avx2($($arg),*);
                    }
                }
            }
            portable($($arg),*)
        }
    };
}

pub(crate) use simd_fn;

/// The float types the kernels run on.
pub(crate) trait Real:
    WithDType
    + 'static
    + Copy
    + PartialOrd
    + Send
    + Sync
    + std::ops::Add<Output = Self>
    + std::ops::Sub<Output = Self>
    + std::ops::Mul<Output = Self>
    + std::ops::Div<Output = Self>
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::Neg<Output = Self>
{
    fn of(v: f64) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sqrt(self) -> Self;
    fn tanh(self) -> Self;
}

macro_rules! real {
    ($t:ty) => {
        impl Real for $t {
            #[inline]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn exp(self) -> Self {
                <$t>::exp(self)
            }
            #[inline]
            fn ln(self) -> Self {
                <$t>::ln(self)
            }
            #[inline]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline]
            fn tanh(self) -> Self {
                <$t>::tanh(self)
            }
        }
    };
}
real!(f32);
real!(f64);

/// The `[cols, rows]` transpose of a row-major `[rows, cols]` matrix.
pub(crate) fn transpose<T: Real>(m: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut t = vec![T::of(0.0); m.len()];
    for (i, row) in m.chunks_exact(cols).enumerate().take(rows) {
        for (j, &v) in row.iter().enumerate() {
            t[j * rows + i] = v;
        }
    }
    t
}

/// Whether the kernels handle tensors of this device and dtype (else: plain candle ops).
pub(crate) fn native(t: &Tensor) -> bool {
    matches!(t.device(), Device::Cpu) && matches!(t.dtype(), DType::F32 | DType::F64)
}

/// The contiguous values of a CPU storage under `layout`.
pub(crate) fn slice<'a, T: WithDType>(s: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("smelt kernel: non-contiguous input")
    };
    Ok(&s.as_slice::<T>()?[start..end])
}

/// Runs `f` on a CPU tensor's contiguous values (the tensor is made contiguous first).
pub(crate) fn with_values<T: WithDType, R>(t: &Tensor, f: impl FnOnce(&[T]) -> R) -> Result<R> {
    let t = t.contiguous()?;
    let (storage, layout) = t.storage_and_layout();
    match &*storage {
        Storage::Cpu(s) => Ok(f(slice::<T>(s, layout)?)),
        _ => candle_core::bail!("smelt kernel: expected a CPU tensor"),
    }
}

/// The largest absolute difference between two f64 tensors of one shape (the kernels' tests).
#[cfg(test)]
pub(crate) fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b)
        .and_then(|d| d.abs()?.flatten_all()?.max(0)?.to_scalar::<f64>())
        .expect("difference")
}
