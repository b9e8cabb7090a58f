//! Values flowing through the interpreter: dense tensors and ZipMap's sequences of maps.

use crate::error::{OnnxError, Result};
use crate::pb::TensorProto;

/// Element data of a tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    /// `tensor(float)`.
    F32(Vec<f32>),
    /// `tensor(double)`.
    F64(Vec<f64>),
    /// `tensor(int64)`.
    I64(Vec<i64>),
    /// `tensor(int32)` (and narrower integers, widened).
    I32(Vec<i32>),
    /// `tensor(bool)`.
    Bool(Vec<bool>),
    /// `tensor(string)`.
    Str(Vec<String>),
}

/// ONNX element types the interpreter holds (`TensorProto.DataType` codes).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ElemType {
    /// 1
    F32,
    /// 11
    F64,
    /// 7
    I64,
    /// 6 (and 2, 3, 4, 5: narrower integers)
    I32,
    /// 9
    Bool,
    /// 8
    Str,
}

impl ElemType {
    /// From ONNX's `DataType` code.
    pub fn from_code(code: i32) -> Option<ElemType> {
        Some(match code {
            1 => ElemType::F32,
            11 => ElemType::F64,
            7 => ElemType::I64,
            2..=6 | 12 => ElemType::I32,
            9 => ElemType::Bool,
            8 => ElemType::Str,
            _ => return None,
        })
    }

    /// ONNX's `DataType` code.
    pub fn code(self) -> i32 {
        match self {
            ElemType::F32 => 1,
            ElemType::F64 => 11,
            ElemType::I64 => 7,
            ElemType::I32 => 6,
            ElemType::Bool => 9,
            ElemType::Str => 8,
        }
    }

    /// The name ONNX gives it in `tensor(…)`.
    pub fn name(self) -> &'static str {
        match self {
            ElemType::F32 => "float",
            ElemType::F64 => "double",
            ElemType::I64 => "int64",
            ElemType::I32 => "int32",
            ElemType::Bool => "bool",
            ElemType::Str => "string",
        }
    }

    /// Whether values are numbers (not strings).
    pub fn is_numeric(self) -> bool {
        self != ElemType::Str
    }
}

/// A dense tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    /// Dimensions.
    pub shape: Vec<usize>,
    /// Elements, row-major.
    pub data: Data,
}

/// Keys of ZipMap's maps.
#[derive(Clone, Debug, PartialEq)]
pub enum MapKeys {
    /// `classlabels_strings`.
    Str(Vec<String>),
    /// `classlabels_int64s`.
    I64(Vec<i64>),
}

/// A value: a tensor, or ZipMap's sequence of maps (one map per row, the same keys in every map).
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A dense tensor.
    Tensor(Tensor),
    /// `seq(map(key, float))`: row-major `n_rows × keys.len()` values.
    Maps {
        /// The keys of every map, in order.
        keys: MapKeys,
        /// Values, row-major.
        values: Vec<f32>,
    },
}

impl Value {
    /// The tensor, or an error naming `what` when this is a sequence of maps.
    pub fn tensor(&self, what: &str) -> Result<&Tensor> {
        match self {
            Value::Tensor(t) => Ok(t),
            Value::Maps { .. } => Err(OnnxError::Run(format!(
                "{what}: expected a tensor, got a sequence of maps"
            ))),
        }
    }
}

impl Data {
    /// The element type.
    pub fn elem_type(&self) -> ElemType {
        match self {
            Data::F32(_) => ElemType::F32,
            Data::F64(_) => ElemType::F64,
            Data::I64(_) => ElemType::I64,
            Data::I32(_) => ElemType::I32,
            Data::Bool(_) => ElemType::Bool,
            Data::Str(_) => ElemType::Str,
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            Data::F32(v) => v.len(),
            Data::F64(v) => v.len(),
            Data::I64(v) => v.len(),
            Data::I32(v) => v.len(),
            Data::Bool(v) => v.len(),
            Data::Str(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Numbers as `f64` (strings are an error).
    pub fn to_f64(&self) -> Result<Vec<f64>> {
        Ok(match self {
            Data::F32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::F64(v) => v.clone(),
            Data::I64(v) => v.iter().map(|&x| x as f64).collect(),
            Data::I32(v) => v.iter().map(|&x| f64::from(x)).collect(),
            Data::Bool(v) => v.iter().map(|&x| f64::from(u8::from(x))).collect(),
            Data::Str(_) => {
                return Err(OnnxError::Run(
                    "expected a numeric tensor, got tensor(string)".into(),
                ));
            }
        })
    }

    /// Numbers as `i64`, truncating floats toward zero like a C cast (strings are an error).
    pub fn to_i64(&self) -> Result<Vec<i64>> {
        Ok(match self {
            Data::I64(v) => v.clone(),
            Data::I32(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Data::Bool(v) => v.iter().map(|&x| i64::from(x)).collect(),
            Data::F32(v) => v.iter().map(|&x| x as i64).collect(),
            Data::F64(v) => v.iter().map(|&x| x as i64).collect(),
            Data::Str(_) => {
                return Err(OnnxError::Run(
                    "expected a numeric tensor, got tensor(string)".into(),
                ));
            }
        })
    }

    /// `f64` values stored as `ty` (numbers are rounded or truncated like a C cast; `Str` writes
    /// them as text).
    pub fn from_f64(values: Vec<f64>, ty: ElemType) -> Data {
        match ty {
            ElemType::F32 => Data::F32(values.into_iter().map(|x| x as f32).collect()),
            ElemType::F64 => Data::F64(values),
            ElemType::I64 => Data::I64(values.into_iter().map(|x| x as i64).collect()),
            ElemType::I32 => Data::I32(values.into_iter().map(|x| x as i32).collect()),
            ElemType::Bool => Data::Bool(values.into_iter().map(|x| x != 0.0).collect()),
            ElemType::Str => Data::Str(values.into_iter().map(|x| x.to_string()).collect()),
        }
    }

    /// The elements at `idx`, in that order.
    pub fn gather(&self, idx: &[usize]) -> Data {
        fn pick<T: Clone>(v: &[T], idx: &[usize]) -> Vec<T> {
            idx.iter().map(|&i| v[i].clone()).collect()
        }
        match self {
            Data::F32(v) => Data::F32(pick(v, idx)),
            Data::F64(v) => Data::F64(pick(v, idx)),
            Data::I64(v) => Data::I64(pick(v, idx)),
            Data::I32(v) => Data::I32(pick(v, idx)),
            Data::Bool(v) => Data::Bool(pick(v, idx)),
            Data::Str(v) => Data::Str(pick(v, idx)),
        }
    }

    /// Elements of several tensors of one type, one after another.
    pub fn concat(parts: &[&Data]) -> Result<Data> {
        let Some(first) = parts.first() else {
            return Err(OnnxError::Run("nothing to concatenate".into()));
        };
        let ty = first.elem_type();
        if let Some(p) = parts.iter().find(|p| p.elem_type() != ty) {
            return Err(OnnxError::Run(format!(
                "cannot concatenate tensor({}) with tensor({})",
                ty.name(),
                p.elem_type().name()
            )));
        }
        macro_rules! cat {
            ($var:ident) => {{
                let mut out = Vec::new();
                for p in parts {
                    if let Data::$var(v) = p {
                        out.extend_from_slice(v);
                    }
                }
                Data::$var(out)
            }};
        }
        Ok(match ty {
            ElemType::F32 => cat!(F32),
            ElemType::F64 => cat!(F64),
            ElemType::I64 => cat!(I64),
            ElemType::I32 => cat!(I32),
            ElemType::Bool => cat!(Bool),
            ElemType::Str => cat!(Str),
        })
    }
}

impl Tensor {
    /// A tensor; `data` must hold the product of `shape` elements.
    pub fn new(shape: Vec<usize>, data: Data) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != data.len() {
            return Err(OnnxError::Run(format!(
                "a tensor of shape {shape:?} needs {n} elements, got {}",
                data.len()
            )));
        }
        Ok(Tensor { shape, data })
    }

    /// A 2-D float tensor.
    pub fn f32_2d(rows: usize, cols: usize, values: Vec<f32>) -> Tensor {
        Tensor {
            shape: vec![rows, cols],
            data: Data::F32(values),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The element type.
    pub fn elem_type(&self) -> ElemType {
        self.data.elem_type()
    }

    /// `(rows, columns)` of a tabular input: `[N, C]` as is, `[N]` as `[N, 1]`... except that the
    /// ONNX-ML operators read a 1-D tensor as one row (`[C]` → `[1, C]`), which `one_row_1d` asks for.
    pub fn as_matrix(&self, one_row_1d: bool) -> Result<(usize, usize)> {
        match self.shape.as_slice() {
            [] => Ok((1, 1)),
            [c] if one_row_1d => Ok((1, *c)),
            [n] => Ok((*n, 1)),
            [n, c] => Ok((*n, *c)),
            [n, rest @ ..] => Ok((*n, rest.iter().product())),
        }
    }

    /// A tensor from an initializer or a `Constant`'s value.
    pub fn from_proto(t: &TensorProto) -> Result<Tensor> {
        let name = if t.name.is_empty() {
            "a constant"
        } else {
            t.name.as_str()
        };
        if !t.external_data.is_empty() || t.data_location == Some(1) {
            return Err(OnnxError::Unsupported(format!(
                "tensor `{name}` keeps its data in an external file; save the model with its data inside (onnx.save_model(..., save_as_external_data=False))"
            )));
        }
        let shape: Vec<usize> = t
            .dims
            .iter()
            .map(|&d| usize::try_from(d))
            .collect::<std::result::Result<_, _>>()
            .map_err(|_| OnnxError::Invalid(format!("tensor `{name}` has a negative dimension")))?;
        let n: usize = shape.iter().product();
        let raw = &t.raw_data;
        let bad = |what: &str| OnnxError::Invalid(format!("tensor `{name}`: {what}"));
        macro_rules! from_raw {
            ($ty:ty, $size:expr) => {{
                if raw.len() != n * $size {
                    return Err(bad("raw data does not match its shape"));
                }
                raw.chunks_exact($size)
                    .map(|c| {
                        let mut b = [0u8; $size];
                        b.copy_from_slice(c);
                        <$ty>::from_le_bytes(b)
                    })
                    .collect::<Vec<$ty>>()
            }};
        }
        let data = match t.data_type {
            1 => Data::F32(if raw.is_empty() {
                t.float_data.clone()
            } else {
                from_raw!(f32, 4)
            }),
            11 => Data::F64(if raw.is_empty() {
                t.double_data.clone()
            } else {
                from_raw!(f64, 8)
            }),
            7 => Data::I64(if raw.is_empty() {
                t.int64_data.clone()
            } else {
                from_raw!(i64, 8)
            }),
            6 => Data::I32(if raw.is_empty() {
                t.int32_data.clone()
            } else {
                from_raw!(i32, 4)
            }),
            2 => Data::I32(if raw.is_empty() {
                t.int32_data.clone()
            } else {
                raw.iter().map(|&b| i32::from(b)).collect()
            }),
            3 => Data::I32(if raw.is_empty() {
                t.int32_data.clone()
            } else {
                raw.iter().map(|&b| i32::from(b as i8)).collect()
            }),
            9 => Data::Bool(if raw.is_empty() {
                t.int32_data.iter().map(|&b| b != 0).collect()
            } else {
                raw.iter().map(|&b| b != 0).collect()
            }),
            8 => Data::Str(
                t.string_data
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect(),
            ),
            other => {
                return Err(OnnxError::Unsupported(format!(
                    "tensor `{name}` has element type {other}, which Smelt's ONNX interpreter does not handle (float, double, int64, int32, bool and string are supported)"
                )));
            }
        };
        if data.len() != n {
            return Err(bad(&format!("{} values for shape {shape:?}", data.len())));
        }
        Ok(Tensor { shape, data })
    }
}
