//! Network weights in model files: each tensor an f32 array under its own key, written and
//! read back the same way by every network.

use candle_core::{DType, Device, Tensor};
use smelt_core::artifact::ArrayData;
use smelt_core::{ArtifactReader, ArtifactWriter, CoreError, Result};

/// Writes `t` as an f32 array under `key`.
pub(crate) fn put(w: &mut ArtifactWriter, key: &str, t: &Tensor) -> Result<()> {
    let values = t
        .to_dtype(DType::F32)
        .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
        .map_err(|e| CoreError::Engine {
            engine: "candle",
            message: format!("reading weight `{key}`: {e}"),
        })?;
    w.typed(key, t.dims(), ArrayData::F32(values))
}

/// Reads the f32 array under `key` (`ndim` dimensions) as a tensor on `device`; another
/// element type or shape is an error naming the key.
pub(crate) fn get(r: &ArtifactReader, key: &str, ndim: usize, device: &Device) -> Result<Tensor> {
    let (shape, data) = r.typed(key, ndim)?;
    let ArrayData::F32(values) = data else {
        return Err(r.invalid(format!("`{key}`: expected f32 weights")));
    };
    Tensor::from_vec(values, shape, device).map_err(|e| r.invalid(format!("`{key}`: {e}")))
}
