//! The ONNX-ML preprocessing operators (onnxruntime's `scaler.cc`, `imputer.cc`,
//! `onehotencoder.cc`, `label_encoder.cc`, `normalizer.cc`, `binarizer.cc`, `zipmap.cc`,
//! `array_feature_extractor.cc`, `feature_vectorizer.cc`, `category_mapper.cc`).

use std::collections::HashMap;

use super::linear::Labels;
use super::{Op, arg, one};
use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::tensor::{Data, ElemType, MapKeys, Tensor, Value};

/// Per-column parameter `v` (one value for all columns, or one per column), at column `j`.
fn per_col<T: Copy>(v: &[T], j: usize) -> T {
    if v.len() == 1 { v[0] } else { v[j] }
}

fn check_cols(len: usize, cols: usize, what: &str) -> Result<()> {
    if len != 1 && len != cols {
        return Err(OnnxError::Run(format!(
            "{what} has {len} values for {cols} columns"
        )));
    }
    Ok(())
}

/// `Scaler`: `(x - offset) * scale`, as `float`.
#[derive(Debug)]
pub(crate) struct Scaler {
    offset: Vec<f32>,
    scale: Vec<f32>,
}

impl Scaler {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let offset = attrs.floats("offset");
        let scale = attrs.floats("scale");
        if offset.is_empty() || scale.is_empty() {
            return Err(attrs.invalid("needs `offset` and `scale`"));
        }
        Ok(Box::new(Scaler { offset, scale }))
    }
}

impl Op for Scaler {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let cols = *x.shape.last().unwrap_or(&1);
        check_cols(self.offset.len(), cols, "offset")?;
        check_cols(self.scale.len(), cols, "scale")?;
        let v = x.data.to_f64()?;
        let out = v
            .iter()
            .enumerate()
            .map(|(i, &x)| {
                let j = i % cols.max(1);
                ((x - f64::from(per_col(&self.offset, j))) * f64::from(per_col(&self.scale, j)))
                    as f32
            })
            .collect();
        one(Tensor::new(x.shape.clone(), Data::F32(out))?)
    }
}

/// `Imputer`: replaces `replaced_value_*` (NaN by default for floats) by the imputed value.
#[derive(Debug)]
pub(crate) struct Imputer {
    floats: Vec<f32>,
    ints: Vec<i64>,
    replaced_float: f32,
    replaced_int: i64,
}

impl Imputer {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let floats = attrs.floats("imputed_value_floats");
        let ints = attrs.ints("imputed_value_int64s");
        if floats.is_empty() && ints.is_empty() {
            return Err(attrs.invalid("needs imputed_value_floats or imputed_value_int64s"));
        }
        Ok(Box::new(Imputer {
            floats,
            ints,
            replaced_float: attrs.float("replaced_value_float").unwrap_or(0.0),
            replaced_int: attrs.int_or("replaced_value_int64", 0),
        }))
    }
}

impl Op for Imputer {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let cols = *x.shape.last().unwrap_or(&1);
        let data = match &x.data {
            Data::F32(_) | Data::F64(_) if self.floats.is_empty() => {
                return Err(OnnxError::Run(
                    "a float input needs imputed_value_floats".into(),
                ));
            }
            Data::F32(v) => {
                check_cols(self.floats.len(), cols, "imputed_value_floats")?;
                let r = self.replaced_float;
                Data::F32(
                    v.iter()
                        .enumerate()
                        .map(|(i, &v)| {
                            let hit = if r.is_nan() { v.is_nan() } else { v == r };
                            if hit {
                                per_col(&self.floats, i % cols.max(1))
                            } else {
                                v
                            }
                        })
                        .collect(),
                )
            }
            Data::F64(v) => {
                check_cols(self.floats.len(), cols, "imputed_value_floats")?;
                let r = f64::from(self.replaced_float);
                Data::F64(
                    v.iter()
                        .enumerate()
                        .map(|(i, &v)| {
                            let hit = if r.is_nan() { v.is_nan() } else { v == r };
                            if hit {
                                f64::from(per_col(&self.floats, i % cols.max(1)))
                            } else {
                                v
                            }
                        })
                        .collect(),
                )
            }
            Data::I64(_) | Data::I32(_) => {
                if self.ints.is_empty() {
                    return Err(OnnxError::Run(
                        "an integer input needs imputed_value_int64s".into(),
                    ));
                }
                check_cols(self.ints.len(), cols, "imputed_value_int64s")?;
                let v = x.data.to_i64()?;
                Data::I64(
                    v.iter()
                        .enumerate()
                        .map(|(i, &v)| {
                            if v == self.replaced_int {
                                per_col(&self.ints, i % cols.max(1))
                            } else {
                                v
                            }
                        })
                        .collect(),
                )
            }
            other => {
                return Err(OnnxError::Run(format!(
                    "tensor({}) input is not supported",
                    other.elem_type().name()
                )));
            }
        };
        one(Tensor::new(x.shape.clone(), data)?)
    }
}

/// `OneHotEncoder`: a new last axis of `float` indicators.
#[derive(Debug)]
pub(crate) struct OneHotEncoder {
    strings: HashMap<String, usize>,
    ints: HashMap<i64, usize>,
    n: usize,
    zeros: bool,
}

impl OneHotEncoder {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let s = attrs.strings("cats_strings");
        let i = attrs.ints("cats_int64s");
        let n = s.len().max(i.len());
        if n == 0 {
            return Err(attrs.invalid("needs cats_strings or cats_int64s"));
        }
        Ok(Box::new(OneHotEncoder {
            strings: s.into_iter().enumerate().map(|(k, c)| (c, k)).collect(),
            ints: i.into_iter().enumerate().map(|(k, c)| (c, k)).collect(),
            n,
            zeros: attrs.int_or("zeros", 1) != 0,
        }))
    }
}

impl Op for OneHotEncoder {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let codes: Vec<Option<usize>> = match &x.data {
            Data::Str(v) => v.iter().map(|s| self.strings.get(s).copied()).collect(),
            other => other
                .to_i64()?
                .iter()
                .map(|i| self.ints.get(i).copied())
                .collect(),
        };
        let mut out = vec![0.0f32; codes.len() * self.n];
        for (r, c) in codes.iter().enumerate() {
            match c {
                Some(k) => out[r * self.n + k] = 1.0,
                None if self.zeros => {}
                None => {
                    return Err(OnnxError::Run(format!(
                        "element {r} is not one of the encoder's categories (zeros = 0)"
                    )));
                }
            }
        }
        let mut shape = x.shape.clone();
        shape.push(self.n);
        one(Tensor::new(shape, Data::F32(out))?)
    }
}

/// Keys or values of a `LabelEncoder`.
#[derive(Debug, Clone)]
enum Column {
    Str(Vec<String>),
    I64(Vec<i64>),
    F32(Vec<f32>),
}

impl Column {
    fn len(&self) -> usize {
        match self {
            Column::Str(v) => v.len(),
            Column::I64(v) => v.len(),
            Column::F32(v) => v.len(),
        }
    }
}

/// `LabelEncoder`: a map from keys to values (opset 1's `classes_strings` form too).
#[derive(Debug)]
pub(crate) struct LabelEncoder {
    keys: Column,
    values: Column,
    default_str: String,
    default_i64: i64,
    default_f32: f32,
}

fn column(attrs: &Attrs<'_>, prefix: &str) -> Result<Option<Column>> {
    if let Some(t) = attrs.tensor(&format!("{prefix}_tensor"))? {
        return Ok(Some(match t.data {
            Data::Str(v) => Column::Str(v),
            Data::F32(v) => Column::F32(v),
            other => Column::I64(other.to_i64()?),
        }));
    }
    let s = attrs.strings(&format!("{prefix}_strings"));
    if !s.is_empty() {
        return Ok(Some(Column::Str(s)));
    }
    let i = attrs.ints(&format!("{prefix}_int64s"));
    if !i.is_empty() {
        return Ok(Some(Column::I64(i)));
    }
    let f = attrs.floats(&format!("{prefix}_floats"));
    if !f.is_empty() {
        return Ok(Some(Column::F32(f)));
    }
    Ok(None)
}

impl LabelEncoder {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let mut default_str = attrs
            .string("default_string")
            .unwrap_or_else(|| "_Unused".into());
        let mut default_i64 = attrs.int_or("default_int64", -1);
        let mut default_f32 = attrs.float("default_float").unwrap_or(-0.0);
        if let Some(t) = attrs.tensor("default_tensor")? {
            match &t.data {
                Data::Str(v) if !v.is_empty() => default_str = v[0].clone(),
                Data::F32(v) if !v.is_empty() => default_f32 = v[0],
                d if !d.is_empty() && d.elem_type() != ElemType::Str => {
                    default_i64 = d.to_i64()?[0];
                }
                _ => {}
            }
        }
        let classes = attrs.strings("classes_strings");
        let (keys, values) = if !classes.is_empty() {
            // Opset 1: strings <-> their position.
            let n = classes.len() as i64;
            (Column::Str(classes), Column::I64((0..n).collect()))
        } else {
            match (column(attrs, "keys")?, column(attrs, "values")?) {
                (Some(k), Some(v)) if k.len() == v.len() => (k, v),
                (Some(k), Some(v)) => {
                    return Err(attrs.invalid(format!("{} keys but {} values", k.len(), v.len())));
                }
                _ => return Err(attrs.invalid("needs keys_* and values_*")),
            }
        };
        Ok(Box::new(LabelEncoder {
            keys,
            values,
            default_str,
            default_i64,
            default_f32,
        }))
    }

    /// The positions of `x`'s elements among `keys` (`None`: not a key).
    fn positions<K: PartialEq>(keys: &[K], x: &[K]) -> Vec<Option<usize>> {
        x.iter().map(|v| keys.iter().position(|k| k == v)).collect()
    }

    /// The value at each key position, the default where there is none.
    fn values_at(&self, idx: &[Option<usize>]) -> Data {
        match &self.values {
            Column::Str(vals) => Data::Str(
                idx.iter()
                    .map(|p| p.map_or_else(|| self.default_str.clone(), |p| vals[p].clone()))
                    .collect(),
            ),
            Column::I64(vals) => Data::I64(
                idx.iter()
                    .map(|p| p.map_or(self.default_i64, |p| vals[p]))
                    .collect(),
            ),
            Column::F32(vals) => Data::F32(
                idx.iter()
                    .map(|p| p.map_or(self.default_f32, |p| vals[p]))
                    .collect(),
            ),
        }
    }
}

impl Op for LabelEncoder {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let idx = match (&self.keys, &x.data) {
            (Column::Str(k), Data::Str(v)) => {
                let index: HashMap<&str, usize> =
                    k.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
                v.iter().map(|s| index.get(s.as_str()).copied()).collect()
            }
            (Column::I64(k), d) if d.elem_type() != ElemType::Str => {
                Self::positions(k, &d.to_i64()?)
            }
            (Column::F32(k), Data::F32(v)) => Self::positions(k, v),
            (_, d) => {
                return Err(OnnxError::Run(format!(
                    "tensor({}) input does not match the encoder's keys",
                    d.elem_type().name()
                )));
            }
        };
        one(Tensor::new(x.shape.clone(), self.values_at(&idx))?)
    }
}

/// `Normalizer`: each row divided by its max, L1 or L2 norm, as `float`.
#[derive(Debug)]
pub(crate) struct Normalizer {
    norm: String,
}

impl Normalizer {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let norm = attrs.string("norm").unwrap_or_else(|| "MAX".into());
        if !matches!(norm.as_str(), "MAX" | "L1" | "L2") {
            return Err(attrs.invalid(format!("unknown norm `{norm}` (MAX, L1 or L2)")));
        }
        Ok(Box::new(Normalizer { norm }))
    }
}

impl Op for Normalizer {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let (rows, cols) = x.as_matrix(true)?;
        let v: Vec<f32> = x.data.to_f64()?.iter().map(|&v| v as f32).collect();
        let mut out = Vec::with_capacity(v.len());
        for r in 0..rows {
            let row = &v[r * cols..(r + 1) * cols];
            let d = match self.norm.as_str() {
                "MAX" => row.iter().copied().fold(f32::MIN, f32::max),
                "L1" => row.iter().map(|x| x.abs()).sum(),
                _ => row.iter().map(|x| x * x).sum::<f32>().sqrt(),
            };
            out.extend(row.iter().map(|&x| if d != 0.0 { x / d } else { x }));
        }
        one(Tensor::new(x.shape.clone(), Data::F32(out))?)
    }
}

/// `Binarizer`: 1 above `threshold`, else 0, in the input's type.
#[derive(Debug)]
pub(crate) struct Binarizer {
    threshold: f32,
}

impl Binarizer {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Binarizer {
            threshold: attrs.float("threshold").unwrap_or(0.0),
        }))
    }
}

impl Op for Binarizer {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let t = f64::from(self.threshold);
        let v: Vec<f64> = x
            .data
            .to_f64()?
            .into_iter()
            .map(|v| {
                if v.is_nan() {
                    v
                } else if v > t {
                    1.0
                } else {
                    0.0
                }
            })
            .collect();
        one(Tensor::new(
            x.shape.clone(),
            Data::from_f64(v, x.elem_type()),
        )?)
    }
}

/// `ZipMap`: class probabilities as one map per row.
#[derive(Debug)]
pub(crate) struct ZipMap {
    keys: MapKeys,
    n: usize,
}

impl ZipMap {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let keys = match Labels::parse(attrs) {
            Labels::Str(v) => MapKeys::Str(v),
            Labels::I64(v) => MapKeys::I64(v),
        };
        let n = match &keys {
            MapKeys::Str(v) => v.len(),
            MapKeys::I64(v) => v.len(),
        };
        if n == 0 {
            return Err(attrs.invalid("needs classlabels_strings or classlabels_int64s"));
        }
        Ok(Box::new(ZipMap { keys, n }))
    }
}

impl Op for ZipMap {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let (_, cols) = x.as_matrix(true)?;
        if cols != self.n {
            return Err(OnnxError::Run(format!(
                "{cols} score columns for {} class labels",
                self.n
            )));
        }
        let values = x.data.to_f64()?.iter().map(|&v| v as f32).collect();
        Ok(vec![Value::Maps {
            keys: self.keys.clone(),
            values,
        }])
    }
}

/// `ArrayFeatureExtractor`: columns of the last axis by index.
#[derive(Debug)]
pub(crate) struct ArrayFeatureExtractor;

impl ArrayFeatureExtractor {
    pub(crate) fn build(_: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(ArrayFeatureExtractor))
    }
}

impl Op for ArrayFeatureExtractor {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let idx = arg(inputs, 1)?.data.to_i64()?;
        let cols = *x.shape.last().unwrap_or(&1);
        let rows = x.len() / cols.max(1);
        let mut take = Vec::with_capacity(rows * idx.len());
        for &i in &idx {
            if i < 0 || i as usize >= cols {
                return Err(OnnxError::Run(format!(
                    "index {i} is out of range for {cols} columns"
                )));
            }
        }
        for r in 0..rows {
            take.extend(idx.iter().map(|&i| r * cols + i as usize));
        }
        let mut shape = if x.shape.len() <= 1 {
            vec![1]
        } else {
            x.shape[..x.shape.len() - 1].to_vec()
        };
        shape.push(idx.len());
        one(Tensor::new(shape, x.data.gather(&take))?)
    }
}

/// `FeatureVectorizer`: inputs side by side as `float` columns.
#[derive(Debug)]
pub(crate) struct FeatureVectorizer {
    dims: Vec<usize>,
}

impl FeatureVectorizer {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let dims = attrs
            .ints("inputdimensions")
            .into_iter()
            .map(usize::try_from)
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| attrs.invalid("negative inputdimensions"))?;
        Ok(Box::new(FeatureVectorizer { dims }))
    }
}

impl Op for FeatureVectorizer {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let parts: Vec<&Tensor> = (0..inputs.len())
            .map(|i| arg(inputs, i))
            .collect::<Result<_>>()?;
        if parts.len() != self.dims.len() {
            return Err(OnnxError::Run(format!(
                "{} inputs for {} inputdimensions",
                parts.len(),
                self.dims.len()
            )));
        }
        let rows = parts
            .first()
            .map_or(0, |p| p.shape.first().copied().unwrap_or(1));
        let width: usize = self.dims.iter().sum();
        let mut out = vec![0.0f32; rows * width];
        let mut at = 0;
        for (p, &d) in parts.iter().zip(&self.dims) {
            let (prow, pcols) = p.as_matrix(false)?;
            if prow != rows {
                return Err(OnnxError::Run(format!(
                    "inputs have {rows} and {prow} rows"
                )));
            }
            let v = p.data.to_f64()?;
            for r in 0..rows {
                for c in 0..d.min(pcols) {
                    out[r * width + at + c] = v[r * pcols + c] as f32;
                }
            }
            at += d;
        }
        one(Tensor::f32_2d(rows, width, out))
    }
}

/// `CategoryMapper`: strings to integers or back.
#[derive(Debug)]
pub(crate) struct CategoryMapper {
    to_int: HashMap<String, i64>,
    to_str: HashMap<i64, String>,
    default_int: i64,
    default_str: String,
}

impl CategoryMapper {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let s = attrs.strings("cats_strings");
        let i = attrs.ints("cats_int64s");
        if s.len() != i.len() {
            return Err(attrs.invalid("cats_strings and cats_int64s differ in length"));
        }
        Ok(Box::new(CategoryMapper {
            to_int: s.iter().cloned().zip(i.iter().copied()).collect(),
            to_str: i.into_iter().zip(s).collect(),
            default_int: attrs.int_or("default_int64", -1),
            default_str: attrs
                .string("default_string")
                .unwrap_or_else(|| "_Unused".into()),
        }))
    }
}

impl Op for CategoryMapper {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let data = match &x.data {
            Data::Str(v) => Data::I64(
                v.iter()
                    .map(|s| self.to_int.get(s).copied().unwrap_or(self.default_int))
                    .collect(),
            ),
            other => Data::Str(
                other
                    .to_i64()?
                    .iter()
                    .map(|i| {
                        self.to_str
                            .get(i)
                            .cloned()
                            .unwrap_or_else(|| self.default_str.clone())
                    })
                    .collect(),
            ),
        };
        one(Tensor::new(x.shape.clone(), data)?)
    }
}
