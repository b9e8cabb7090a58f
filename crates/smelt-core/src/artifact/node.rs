//! The two halves of a model's saved node: [`ArtifactWriter`] collects small values (JSON) and
//! arrays (safetensors) while a model saves itself, [`ArtifactReader`] hands them back while it
//! loads. Plain data only; this module knows no model trait (`model.rs` builds on it, and
//! `artifact/mod.rs` on both).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::dataset::Feature;
use crate::error::{CoreError, Result};

/// The `format` field of every manifest.
pub const FORMAT: &str = "smelt-model";
/// The manifest format version this build writes and reads.
pub const FORMAT_VERSION: u64 = 1;
/// Manifest file name inside a model directory.
pub const MANIFEST: &str = "model.json";
/// Arrays file name inside a model directory.
pub const ARRAYS: &str = "arrays.safetensors";

/// Named arrays: shape and row-major values.
pub(super) type Arrays = HashMap<String, (Vec<usize>, ArrayData)>;

/// The values of a stored array with their element type. Most arrays are `F64`
/// ([`ArtifactWriter::array`]); models with large integer or single-precision arrays (the
/// node arrays of forests) store them as such with [`ArtifactWriter::typed`].
#[derive(Clone, Debug, PartialEq)]
pub enum ArrayData {
    /// 64-bit floats.
    F64(Vec<f64>),
    /// 32-bit floats.
    F32(Vec<f32>),
    /// Unsigned 32-bit integers.
    U32(Vec<u32>),
    /// Unsigned 16-bit integers.
    U16(Vec<u16>),
    /// Bytes.
    U8(Vec<u8>),
}

impl ArrayData {
    /// The number of values.
    pub fn len(&self) -> usize {
        match self {
            ArrayData::F64(v) => v.len(),
            ArrayData::F32(v) => v.len(),
            ArrayData::U32(v) => v.len(),
            ArrayData::U16(v) => v.len(),
            ArrayData::U8(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type's name (safetensors' dtype names).
    pub fn dtype(&self) -> &'static str {
        match self {
            ArrayData::F64(_) => "F64",
            ArrayData::F32(_) => "F32",
            ArrayData::U32(_) => "U32",
            ArrayData::U16(_) => "U16",
            ArrayData::U8(_) => "U8",
        }
    }
}

/// Collects a model's parameters and arrays while it saves itself.
#[derive(Debug)]
pub struct ArtifactWriter {
    prefix: String,
    pub(super) node: Map<String, Value>,
    pub(super) arrays: Vec<(String, Vec<usize>, ArrayData)>,
}

impl ArtifactWriter {
    pub(super) fn new(prefix: String) -> Self {
        ArtifactWriter {
            prefix,
            node: Map::new(),
            arrays: Vec::new(),
        }
    }

    /// Stores a small serialisable value (parameters, class labels, scalars).
    pub fn put<T: Serialize + ?Sized>(&mut self, key: &str, value: &T) -> Result<()> {
        let v = serde_json::to_value(value).map_err(|e| CoreError::Artifact {
            path: PathBuf::from(MANIFEST),
            message: format!("cannot serialise `{}{key}`: {e}", self.prefix),
        })?;
        self.node.insert(key.to_string(), v);
        Ok(())
    }

    /// Stores an array of the given shape (row-major for 2-D arrays).
    pub fn array(&mut self, key: &str, shape: &[usize], data: &[f64]) -> Result<()> {
        self.typed(key, shape, ArrayData::F64(data.to_vec()))
    }

    /// Stores an array of the given shape with its own element type.
    pub fn typed(&mut self, key: &str, shape: &[usize], data: ArrayData) -> Result<()> {
        let expected: usize = shape.iter().product();
        if expected != data.len() {
            return Err(CoreError::LengthMismatch {
                name: format!("{}{key}", self.prefix),
                expected,
                got: data.len(),
            });
        }
        let name = format!("{}{key}", self.prefix);
        self.node
            .insert(key.to_string(), serde_json::json!({ "$array": name }));
        self.arrays.push((name, shape.to_vec(), data));
        Ok(())
    }

    /// Stores a 1-D array.
    pub fn vector(&mut self, key: &str, data: &[f64]) -> Result<()> {
        self.array(key, &[data.len()], data)
    }

    /// Stores a nested node (a pipeline step, a sub-model) written by `f`.
    pub fn child(
        &mut self,
        key: &str,
        f: impl FnOnce(&mut ArtifactWriter) -> Result<()>,
    ) -> Result<()> {
        let mut w = ArtifactWriter::new(format!("{}{key}.", self.prefix));
        f(&mut w)?;
        self.node.insert(key.to_string(), Value::Object(w.node));
        self.arrays.extend(w.arrays);
        Ok(())
    }
}

/// Reads a model's parameters and arrays back while it loads itself.
#[derive(Clone, Debug)]
pub struct ArtifactReader {
    pub(super) path: Arc<Path>,
    pub(super) node: Arc<Map<String, Value>>,
    pub(super) prefix: String,
    pub(super) arrays: Arc<Arrays>,
    pub(super) inference_only: bool,
}

impl ArtifactReader {
    fn corrupt(&self, message: String) -> CoreError {
        CoreError::Artifact {
            path: self.path.to_path_buf(),
            message,
        }
    }

    /// The model directory this comes from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the model is being loaded only to predict (a server, `smelt predict`): a model
    /// may then keep just what prediction reads and refuse to be saved again. See
    /// [`super::load_for_inference`].
    pub fn inference_only(&self) -> bool {
        self.inference_only
    }

    /// Whether `key` is present.
    pub fn has(&self, key: &str) -> bool {
        self.node.contains_key(key)
    }

    /// Reads a small value stored with [`ArtifactWriter::put`].
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<T> {
        let v = self
            .node
            .get(key)
            .ok_or_else(|| self.corrupt(format!("missing field `{}{key}`", self.prefix)))?;
        serde_json::from_value(v.clone())
            .map_err(|e| self.corrupt(format!("field `{}{key}`: {e}", self.prefix)))
    }

    /// Reads an array stored with [`ArtifactWriter::array`], checking its number of dimensions.
    pub fn array(&self, key: &str, ndim: usize) -> Result<(Vec<usize>, Vec<f64>)> {
        match self.typed(key, ndim)? {
            (shape, ArrayData::F64(data)) => Ok((shape, data)),
            (_, other) => Err(self.corrupt(format!(
                "array `{}{key}` has dtype {}, expected F64",
                self.prefix,
                other.dtype()
            ))),
        }
    }

    /// Reads an array of any element type (stored with [`ArtifactWriter::typed`]), checking
    /// its number of dimensions.
    pub fn typed(&self, key: &str, ndim: usize) -> Result<(Vec<usize>, ArrayData)> {
        let name = self
            .node
            .get(key)
            .and_then(|v| v.get("$array"))
            .and_then(Value::as_str)
            .ok_or_else(|| self.corrupt(format!("missing array `{}{key}`", self.prefix)))?;
        let (shape, data) = self
            .arrays
            .get(name)
            .ok_or_else(|| self.corrupt(format!("array `{name}` is not in {ARRAYS}")))?;
        if shape.len() != ndim {
            return Err(self.corrupt(format!(
                "array `{name}` has {} dimensions, expected {ndim}",
                shape.len()
            )));
        }
        Ok((shape.clone(), data.clone()))
    }

    /// Reads a 1-D array of exactly `len` values.
    pub fn vector(&self, key: &str, len: usize) -> Result<Vec<f64>> {
        let (shape, data) = self.array(key, 1)?;
        if shape[0] != len {
            return Err(self.corrupt(format!(
                "array `{}{key}` has {} values, expected {len}",
                self.prefix, shape[0]
            )));
        }
        Ok(data)
    }

    /// Reads a 2-D row-major array of exactly `rows × cols` values.
    pub fn matrix(&self, key: &str, rows: usize, cols: usize) -> Result<Vec<f64>> {
        let (shape, data) = self.array(key, 2)?;
        if shape != [rows, cols] {
            return Err(self.corrupt(format!(
                "array `{}{key}` has shape {shape:?}, expected [{rows}, {cols}]",
                self.prefix
            )));
        }
        Ok(data)
    }

    /// The nested node `key`.
    pub fn child(&self, key: &str) -> Result<ArtifactReader> {
        let node = self
            .node
            .get(key)
            .and_then(Value::as_object)
            .ok_or_else(|| self.corrupt(format!("missing node `{}{key}`", self.prefix)))?;
        Ok(ArtifactReader {
            path: self.path.clone(),
            node: Arc::new(node.clone()),
            prefix: format!("{}{key}.", self.prefix),
            arrays: self.arrays.clone(),
            inference_only: self.inference_only,
        })
    }

    /// An error for a value that is present but inconsistent.
    pub fn invalid(&self, message: impl Into<String>) -> CoreError {
        self.corrupt(message.into())
    }
}

/// Saves the input features and the parameters, the two fields every model has.
pub fn save_common<P: Serialize>(
    w: &mut ArtifactWriter,
    input: &[Feature],
    params: &P,
) -> Result<()> {
    w.put("input", input)?;
    w.put("params", params)
}

/// Reads back what [`save_common`] wrote.
pub fn load_common<P: DeserializeOwned>(r: &ArtifactReader) -> Result<(Vec<Feature>, P)> {
    Ok((r.get("input")?, r.get("params")?))
}
