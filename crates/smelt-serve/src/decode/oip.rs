//! Open Inference Protocol v2 inference requests (KServe, Triton, MLServer): named tensors with
//! a datatype and a shape, their data in the JSON body or, with the binary tensor extension,
//! after it (`Inference-Header-Content-Length` gives the JSON part's length).
//!
//! Two layouts are accepted:
//! * one tensor per feature, named like the feature, of shape `[n]` or `[n, 1]` (the layout for
//!   mixed types: numbers, `BOOL`, `BYTES` categories);
//! * one `[n, features]` tensor in the model's feature order, any name (the layout of
//!   numeric-only models, as Triton and MLServer's scikit-learn runtime use it).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{BadInput, Codec, Filler, Rows};

/// An inference request's JSON part.
#[derive(Debug, Deserialize)]
pub struct InferRequest {
    /// Echoed in the response.
    #[serde(default)]
    pub id: Option<String>,
    /// Request parameters (`binary_data_output`, …).
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Input tensors.
    pub inputs: Vec<InputTensor>,
    /// The outputs wanted (all when absent).
    #[serde(default)]
    pub outputs: Option<Vec<RequestedOutput>>,
}

/// One input tensor.
#[derive(Debug, Deserialize)]
pub struct InputTensor {
    /// Tensor name.
    pub name: String,
    /// Shape.
    pub shape: Vec<i64>,
    /// `FP64`, `INT64`, `BOOL`, `BYTES`, ….
    pub datatype: String,
    /// `binary_data_size` when the data follows the JSON part.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
    /// Flat or nested row-major data (absent for binary tensors), read flat as it is parsed.
    #[serde(default)]
    pub data: Option<Data>,
}

/// An output the client asks for.
#[derive(Debug, Deserialize)]
pub struct RequestedOutput {
    /// `predict` or `predict_proba`.
    pub name: String,
    /// `binary_data: true` asks for the binary extension.
    #[serde(default)]
    pub parameters: Option<Map<String, Value>>,
}

/// The header naming the JSON part's length in a binary-extension body.
pub const HEADER_LENGTH: &str = "inference-header-content-length";

/// Splits a body into its JSON request and the binary data after it.
pub fn parse(body: &[u8], json_len: Option<usize>) -> Result<(InferRequest, &[u8]), BadInput> {
    let (json, binary) = match json_len {
        Some(n) if n <= body.len() => body.split_at(n),
        Some(n) => {
            return Err(BadInput(format!(
                "Inference-Header-Content-Length is {n}, but the body has {} bytes",
                body.len()
            )));
        }
        None => (body, &[][..]),
    };
    let req: InferRequest = serde_json::from_slice(&super::lenient_json(json))
        .map_err(|e| BadInput(format!("the inference request is not valid: {e}")))?;
    Ok((req, binary))
}

/// One element of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Elem<'a> {
    /// A number (any numeric datatype).
    Num(f64),
    /// `BOOL`.
    Bool(bool),
    /// A `BYTES` element.
    Str(Cow<'a, str>),
    /// JSON `null`: a missing value.
    Null,
}

/// A tensor's JSON `data`, flattened row-major while it is parsed (nested lists are the same
/// elements in the same order): no `serde_json::Value` per element.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Data(pub Vec<Elem<'static>>);

impl<'de> Deserialize<'de> for Data {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Data, D::Error> {
        let mut out = Vec::new();
        d.deserialize_any(Flat(&mut out))?;
        Ok(Data(out))
    }
}

struct Flat<'o>(&'o mut Vec<Elem<'static>>);

impl<'de> serde::de::DeserializeSeed<'de> for Flat<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Flat<'_> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("tensor data: numbers, booleans, strings or null, in (nested) lists")
    }
    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.0.push(Elem::Num(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.push(Elem::Num(v as f64));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.push(Elem::Num(v as f64));
        Ok(())
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.push(Elem::Bool(v));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.0.push(Elem::Str(Cow::Owned(v.to_string())));
        Ok(())
    }
    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.0.push(Elem::Str(Cow::Owned(v)));
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.push(Elem::Null);
        Ok(())
    }
    fn visit_none<E>(self) -> Result<(), E> {
        self.0.push(Elem::Null);
        Ok(())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Flat(&mut *self.0))?.is_some() {}
        Ok(())
    }
}

/// Rows from the request's tensors.
pub fn rows(codec: &Codec, req: &InferRequest, binary: &[u8]) -> Result<Rows, BadInput> {
    if req.inputs.is_empty() {
        return Err(BadInput("the request has no inputs".into()));
    }
    if let Some(rows) = binary_matrix(codec, req, binary)? {
        return Ok(rows);
    }
    let mut offset = 0;
    let mut tensors = Vec::with_capacity(req.inputs.len());
    for t in &req.inputs {
        let elems = elements(t, binary, &mut offset)?;
        // Checked: a shape comes from the client, and its product may not fit a machine word.
        let count = t.shape.iter().try_fold(1usize, |n, &d| {
            usize::try_from(d).ok().and_then(|d| n.checked_mul(d))
        });
        match count {
            Some(count) if count == elems.len() => {}
            Some(count) => {
                return Err(BadInput(format!(
                    "input \"{}\": shape {:?} holds {count} elements, the data has {}",
                    t.name,
                    t.shape,
                    elems.len()
                )));
            }
            None => {
                return Err(BadInput(format!(
                    "input \"{}\": shape {:?} is not a tensor's shape (dimensions are counts, \
                     zero or more, whose product is the number of elements); the data has {}",
                    t.name,
                    t.shape,
                    elems.len()
                )));
            }
        }
        tensors.push(elems);
    }
    if offset != binary.len() {
        return Err(BadInput(format!(
            "{} bytes of binary data follow the JSON part, the inputs' binary_data_size add up to {offset}",
            binary.len()
        )));
    }
    let by_name = req.inputs.iter().any(|t| codec.position(&t.name).is_some());
    if by_name || codec.width() == 1 && req.inputs.len() == 1 && req.inputs[0].shape.len() == 1 {
        per_feature(codec, req, &tensors)
    } else {
        matrix(codec, req, tensors)
    }
}

/// What `tritonclient` sends by default — one `[rows, features]` FP32 or FP64 tensor in binary
/// after the JSON part — read straight into the matrix, without a list of elements in between
/// (the general path's per-element values were ~15 % of a 1,000-row request). `None` for any
/// other request, which the general path reads (and words the errors of).
fn binary_matrix(
    codec: &Codec,
    req: &InferRequest,
    binary: &[u8],
) -> Result<Option<Rows>, BadInput> {
    let ([t], false) = (req.inputs.as_slice(), codec.has_text()) else {
        return Ok(None);
    };
    let width = match t.datatype.as_str() {
        "FP32" => 4,
        "FP64" => 8,
        _ => return Ok(None),
    };
    let k = codec.width();
    let size = t
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .and_then(Value::as_u64);
    let n = match t.shape.as_slice() {
        [r, c] if *r >= 0 && *c as usize == k => *r as usize,
        _ => return Ok(None),
    };
    if t.data.is_some()
        || codec.position(&t.name).is_some()
        || size != Some(binary.len() as u64)
        || n.checked_mul(k * width) != Some(binary.len())
    {
        return Ok(None);
    }
    let mut fill = Filler::new(n, k);
    for (idx, b) in binary.chunks_exact(width).enumerate() {
        let x = if width == 4 {
            f64::from(f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        } else {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
        };
        let (i, j) = (idx / k, idx % k);
        let v = codec
            .number(j, i, x)
            .map_err(|e| BadInput(format!("input \"{}\", {}", t.name, e.0)))?;
        fill.set(i, j, v);
    }
    Ok(Some(fill.finish()))
}

fn per_feature(codec: &Codec, req: &InferRequest, tensors: &[Vec<Elem>]) -> Result<Rows, BadInput> {
    let mut at = Vec::with_capacity(codec.width());
    for j in 0..codec.width() {
        let found = if codec.width() == 1 && req.inputs.len() == 1 {
            Some(0)
        } else {
            req.inputs.iter().position(|t| t.name == codec.names()[j])
        };
        match found {
            Some(p) => at.push(p),
            None => {
                return Err(codec.missing_feature(
                    j,
                    req.inputs.iter().map(|t| t.name.as_str()),
                    "inputs",
                ));
            }
        }
    }
    let mut n = None;
    for &p in &at {
        let t = &req.inputs[p];
        let rows = match t.shape.as_slice() {
            [r] | [r, 1] => *r as usize,
            _ => {
                return Err(BadInput(format!(
                    "input \"{}\": shape {:?}; a feature's tensor has shape [rows] or [rows, 1]",
                    t.name, t.shape
                )));
            }
        };
        match n {
            None => n = Some(rows),
            Some(m) if m != rows => {
                return Err(BadInput(format!(
                    "input \"{}\" has {rows} rows, \"{}\" has {m}",
                    t.name, req.inputs[at[0]].name
                )));
            }
            Some(_) => {}
        }
    }
    let n = n.unwrap_or(0);
    let mut fill = Filler::new(n, codec.width());
    for (j, &p) in at.iter().enumerate() {
        for (i, e) in tensors[p].iter().enumerate() {
            put(&mut fill, codec, j, i, e, &req.inputs[p])?;
        }
    }
    Ok(fill.finish())
}

fn matrix(codec: &Codec, req: &InferRequest, tensors: Vec<Vec<Elem>>) -> Result<Rows, BadInput> {
    let [t] = req.inputs.as_slice() else {
        let names: Vec<&str> = req.inputs.iter().map(|t| t.name.as_str()).collect();
        return Err(BadInput(format!(
            "inputs {names:?}: send one tensor per feature, named like the features ({}), or one \
             [rows, {}] tensor in that order",
            codec.names().join(", "),
            codec.width()
        )));
    };
    let k = codec.width();
    let n = match t.shape.as_slice() {
        [r, c] if *c as usize == k => *r as usize,
        [c] if *c as usize == k => 1,
        _ => {
            return Err(BadInput(format!(
                "input \"{}\": shape {:?}, but the model takes [rows, {k}] ({}); or send one tensor per \
                 feature, named like it",
                t.name,
                t.shape,
                codec.names().join(", ")
            )));
        }
    };
    let mut fill = Filler::new(n, k);
    let elems = tensors.into_iter().next().unwrap_or_default();
    for (idx, e) in elems.iter().enumerate() {
        let (i, j) = (idx / k, idx % k);
        put(&mut fill, codec, j, i, e, t)?;
    }
    Ok(fill.finish())
}

/// Element `e` of feature `j`, row `row`, into the matrix or (free text) beside it.
fn put(
    fill: &mut Filler,
    codec: &Codec,
    j: usize,
    row: usize,
    e: &Elem,
    t: &InputTensor,
) -> Result<(), BadInput> {
    if codec.is_text(j) {
        match e {
            Elem::Str(s) => fill.text(row, j, Some(s.to_string())),
            Elem::Null => fill.text(row, j, None),
            _ => {
                return Err(BadInput(format!(
                    "input \"{}\", row {row}, feature \"{}\": expected a text (BYTES), got a number",
                    t.name,
                    codec.names()[j]
                )));
            }
        }
        return Ok(());
    }
    fill.set(row, j, cell(codec, j, row, e, t)?);
    Ok(())
}

fn cell(codec: &Codec, j: usize, row: usize, e: &Elem, t: &InputTensor) -> Result<f64, BadInput> {
    let r = match e {
        Elem::Num(x) => codec.number(j, row, *x),
        Elem::Bool(b) => codec.json(j, row, &Value::Bool(*b)),
        Elem::Str(s) => codec.text(j, row, s),
        Elem::Null => codec.missing(j, row),
    };
    r.map_err(|e| BadInput(format!("input \"{}\", {}", t.name, e.0)))
}

fn elements<'a>(
    t: &'a InputTensor,
    binary: &'a [u8],
    offset: &mut usize,
) -> Result<Vec<Elem<'a>>, BadInput> {
    let size = t
        .parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_size"))
        .map(|v| {
            v.as_u64().ok_or_else(|| {
                BadInput(format!(
                    "input \"{}\": binary_data_size must be a byte count",
                    t.name
                ))
            })
        })
        .transpose()?;
    match (size, &t.data) {
        (Some(size), _) => {
            let size = size as usize;
            let Some(bytes) = binary.get(*offset..*offset + size) else {
                return Err(BadInput(format!(
                    "input \"{}\": binary_data_size {size} runs past the end of the body",
                    t.name
                )));
            };
            *offset += size;
            from_bytes(t, bytes)
        }
        (None, Some(data)) => checked(t, data),
        (None, None) => Err(BadInput(format!(
            "input \"{}\" has neither \"data\" nor parameters.binary_data_size",
            t.name
        ))),
    }
}

/// The JSON elements of a tensor, checked against its datatype.
fn checked<'a>(t: &InputTensor, data: &'a Data) -> Result<Vec<Elem<'a>>, BadInput> {
    let dt = t.datatype.as_str();
    let mut out = Vec::with_capacity(data.0.len());
    for (i, e) in data.0.iter().enumerate() {
        let ok = match e {
            Elem::Num(_) => dt != "BYTES" && dt != "BOOL",
            Elem::Bool(_) => dt == "BOOL",
            Elem::Str(_) => dt == "BYTES",
            Elem::Null => true,
        };
        if !ok || !is_datatype(dt) {
            if !is_datatype(dt) {
                return Err(unknown_datatype(t));
            }
            let what = match e {
                Elem::Num(_) => "a number",
                Elem::Bool(_) => "a boolean",
                Elem::Str(_) => "a string",
                Elem::Null => "null",
            };
            return Err(BadInput(format!(
                "input \"{}\": datatype {dt}, but element {i} is {what}",
                t.name
            )));
        }
        out.push(match e {
            Elem::Str(s) => Elem::Str(Cow::Borrowed(s.as_ref())),
            Elem::Num(x) => Elem::Num(*x),
            Elem::Bool(b) => Elem::Bool(*b),
            Elem::Null => Elem::Null,
        });
    }
    Ok(out)
}

fn is_datatype(dt: &str) -> bool {
    matches!(
        dt,
        "BOOL"
            | "UINT8"
            | "UINT16"
            | "UINT32"
            | "UINT64"
            | "INT8"
            | "INT16"
            | "INT32"
            | "INT64"
            | "FP16"
            | "FP32"
            | "FP64"
            | "BYTES"
    )
}

fn unknown_datatype(t: &InputTensor) -> BadInput {
    BadInput(format!(
        "input \"{}\": unknown datatype {:?} (BOOL, INT8…INT64, UINT8…UINT64, FP32, FP64, BYTES)",
        t.name, t.datatype
    ))
}

fn from_bytes<'a>(t: &InputTensor, b: &'a [u8]) -> Result<Vec<Elem<'a>>, BadInput> {
    fn fixed<const W: usize>(
        t: &InputTensor,
        b: &[u8],
        f: impl Fn([u8; W]) -> f64,
    ) -> Result<Vec<Elem<'static>>, BadInput> {
        if !b.len().is_multiple_of(W) {
            return Err(BadInput(format!(
                "input \"{}\": {} bytes of {} data is not a whole number of {W}-byte elements",
                t.name,
                b.len(),
                t.datatype
            )));
        }
        Ok(b.chunks_exact(W)
            .map(|c| {
                let mut a = [0u8; W];
                a.copy_from_slice(c);
                Elem::Num(f(a))
            })
            .collect())
    }
    Ok(match t.datatype.as_str() {
        "FP64" => fixed::<8>(t, b, f64::from_le_bytes)?,
        "FP32" => fixed::<4>(t, b, |a| f64::from(f32::from_le_bytes(a)))?,
        "INT64" => fixed::<8>(t, b, |a| i64::from_le_bytes(a) as f64)?,
        "INT32" => fixed::<4>(t, b, |a| f64::from(i32::from_le_bytes(a)))?,
        "INT16" => fixed::<2>(t, b, |a| f64::from(i16::from_le_bytes(a)))?,
        "INT8" => fixed::<1>(t, b, |a| f64::from(a[0] as i8))?,
        "UINT64" => fixed::<8>(t, b, |a| u64::from_le_bytes(a) as f64)?,
        "UINT32" => fixed::<4>(t, b, |a| f64::from(u32::from_le_bytes(a)))?,
        "UINT16" => fixed::<2>(t, b, |a| f64::from(u16::from_le_bytes(a)))?,
        "UINT8" => fixed::<1>(t, b, |a| f64::from(a[0]))?,
        "BOOL" => b.iter().map(|&x| Elem::Bool(x != 0)).collect(),
        "BYTES" => {
            let mut out = Vec::new();
            let mut rest = b;
            while !rest.is_empty() {
                let Some((len, tail)) = rest.split_first_chunk::<4>() else {
                    return Err(BadInput(format!(
                        "input \"{}\": BYTES element {} has a truncated length prefix",
                        t.name,
                        out.len()
                    )));
                };
                let len = u32::from_le_bytes(*len) as usize;
                let Some(s) = tail.get(..len) else {
                    return Err(BadInput(format!(
                        "input \"{}\": BYTES element {} runs past its tensor's data",
                        t.name,
                        out.len()
                    )));
                };
                out.push(Elem::Str(String::from_utf8_lossy(s)));
                rest = &tail[len..];
            }
            out
        }
        "FP16" => {
            return Err(BadInput(format!(
                "input \"{}\": FP16 is not accepted; send FP32 or FP64",
                t.name
            )));
        }
        _ => return Err(unknown_datatype(t)),
    })
}

/// The output names a request asks for, and whether each is wanted in binary.
pub fn requested(req: &InferRequest) -> Option<Vec<(String, bool)>> {
    let all_binary = all_binary(req);
    req.outputs.as_ref().map(|outs| {
        outs.iter()
            .map(|o| {
                let binary = o
                    .parameters
                    .as_ref()
                    .and_then(|p| p.get("binary_data"))
                    .and_then(Value::as_bool)
                    .unwrap_or(all_binary);
                (o.name.clone(), binary)
            })
            .collect()
    })
}

/// Whether the request asks for every output in binary (`binary_data_output`).
pub fn all_binary(req: &InferRequest) -> bool {
    req.parameters
        .as_ref()
        .and_then(|p| p.get("binary_data_output"))
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codec() -> Codec {
        crate::decode::test_codec()
    }

    fn decode(body: &Value) -> Result<Rows, BadInput> {
        decode_with(&codec(), body)
    }

    fn decode_with(codec: &Codec, body: &Value) -> Result<Rows, BadInput> {
        let bytes = serde_json::to_vec(body).unwrap();
        let (req, bin) = parse(&bytes, None)?;
        rows(codec, &req, bin)
    }

    #[test]
    fn named_tensors_and_binary_data() {
        let r = decode(&json!({"inputs": [
            {"name": "y", "shape": [2], "datatype": "FP64", "data": [3.0, 6.0]},
            {"name": "c", "shape": [2, 1], "datatype": "BYTES", "data": [["b"], ["a"]]},
            {"name": "x", "shape": [2], "datatype": "INT32", "data": [1, 4]},
        ]}))
        .unwrap();
        assert_eq!(r.values, [1.0, 4.0, 1.0, 0.0, 3.0, 6.0]);
        // The same with x and c as binary tensors after the JSON part.
        let head = serde_json::to_vec(&json!({"inputs": [
            {"name": "x", "shape": [2], "datatype": "FP32", "parameters": {"binary_data_size": 8}},
            {"name": "c", "shape": [2], "datatype": "BYTES", "parameters": {"binary_data_size": 10}},
            {"name": "y", "shape": [2], "datatype": "FP64", "data": [3, 6]},
        ]}))
        .unwrap();
        let mut body = head.clone();
        body.extend(1f32.to_le_bytes());
        body.extend(4f32.to_le_bytes());
        for s in ["b", "a"] {
            body.extend(1u32.to_le_bytes());
            body.extend(s.as_bytes());
        }
        let (req, bin) = parse(&body, Some(head.len())).unwrap();
        assert_eq!(rows(&codec(), &req, bin).unwrap(), r);
    }

    #[test]
    fn a_binary_matrix_reads_as_its_json_twin() {
        let num = |name: &str| smelt_core::Feature {
            name: name.into(),
            ltype: smelt_core::LogicalType::Numeric,
            kind: smelt_core::FeatureKind::Numeric,
        };
        let with_missing = Codec::new(
            &[num("a"), num("b"), num("c")],
            true,
            crate::decode::Unseen::Error,
        );
        let no_missing = Codec::new(
            &[num("a"), num("b"), num("c")],
            false,
            crate::decode::Unseen::Error,
        );
        let read = |codec: &Codec, body: &[u8], head: Option<usize>| {
            let (req, bin) = parse(body, head).unwrap();
            // Whether the fast path answered (rows or an error), and what `rows` answers.
            let fast = !matches!(binary_matrix(codec, &req, bin), Ok(None));
            (fast, rows(codec, &req, bin))
        };
        for (dt, w) in [("FP32", 4), ("FP64", 8)] {
            let binary_body = |values: &[f64]| {
                let head = serde_json::to_vec(&json!({"inputs": [{"name": "input-0",
                    "shape": [2, 3], "datatype": dt, "parameters": {"binary_data_size": 6 * w}}]}))
                .unwrap();
                let mut body = head.clone();
                for &v in values {
                    if w == 4 {
                        body.extend((v as f32).to_le_bytes());
                    } else {
                        body.extend(v.to_le_bytes());
                    }
                }
                (body, head.len())
            };
            // Good rows, and a NaN: missing where the model allows it, refused in the same
            // words where it does not.
            for values in [
                [1.0, 2.5, 3.0, 4.0, 0.0, -6.5],
                [1.0, f64::NAN, 3.0, 4.0, 0.0, 6.5],
            ] {
                for codec in [&with_missing, &no_missing] {
                    let (body, head) = binary_body(&values);
                    let (fast, got) = read(codec, &body, Some(head));
                    assert!(fast, "{dt}");
                    // JSON has no NaN: the twin sends null, which reads the same.
                    let twin: Vec<Value> = values
                        .iter()
                        .map(|v| if v.is_nan() { Value::Null } else { json!(v) })
                        .collect();
                    let want = decode_with(
                        codec,
                        &json!({"inputs": [
                        {"name": "input-0", "shape": [2, 3], "datatype": "FP64", "data": twin}]}),
                    );
                    // (Debug text: NaN is not equal to itself.)
                    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{dt} {values:?}");
                }
            }
            assert!(
                read(
                    &no_missing,
                    &binary_body(&[1.0, f64::NAN, 3.0, 4.0, 0.0, 6.5]).0,
                    Some(binary_body(&[0.0; 6]).1)
                )
                .1
                .is_err()
            );
            // A size that does not add up is left to the general path's checks.
            let (body, head) = binary_body(&[1.0; 6]);
            let (fast, got) = read(&with_missing, &body[..body.len() - 1], Some(head));
            assert!(!fast && got.is_err(), "{dt}");
        }
    }

    #[test]
    fn errors() {
        let e = decode(&json!({"inputs": [
            {"name": "x", "shape": [3], "datatype": "FP64", "data": [1, 2]}]}))
        .unwrap_err();
        assert!(
            e.0.contains("shape [3] holds 3 elements, the data has 2"),
            "{e}"
        );
        // A negative dimension, and one whose product overflows (it panicked in debug builds).
        for shape in [
            json!([-1, 2]),
            json!([99_999_999_999_i64, 99_999_999_999_i64]),
        ] {
            let e = decode(&json!({"inputs": [
                {"name": "x", "shape": shape, "datatype": "FP64", "data": [1, 2]}]}))
            .unwrap_err();
            assert!(e.0.contains("is not a tensor's shape"), "{e}");
        }
        let e = decode(&json!({"inputs": [
            {"name": "x", "shape": [1], "datatype": "FP64", "data": [1]},
            {"name": "c", "shape": [1], "datatype": "BYTES", "data": ["a"]}]}))
        .unwrap_err();
        assert!(e.0.contains("missing feature \"y\""), "{e}");
        let e = decode(&json!({"inputs": [
            {"name": "x", "shape": [1], "datatype": "FP64", "data": ["one"]}]}))
        .unwrap_err();
        assert!(
            e.0.contains("datatype FP64, but element 0 is a string"),
            "{e}"
        );
        let e = decode(&json!({"inputs": [
            {"name": "input-0", "shape": [1, 2], "datatype": "FP64", "data": [1, 2]}]}))
        .unwrap_err();
        assert!(e.0.contains("the model takes [rows, 3]"), "{e}");
        let e = decode(&json!({"inputs": [
            {"name": "x", "shape": [1], "datatype": "FP65", "data": ["1"]}]}))
        .unwrap_err();
        assert!(e.0.contains("unknown datatype \"FP65\""), "{e}");
    }
}
