//! Predictions to response bodies, per protocol.

use serde_json::{Map, Value, json};
use smelt_core::Prediction;

use crate::signature::{EMBEDDING, PREDICT, PREDICT_PROBA};

/// Class labels as JSON: numbers when every label is an integer (as the model was trained on
/// integer classes), strings otherwise.
fn label_values(classes: &[String]) -> Vec<Value> {
    let ints: Option<Vec<i64>> = classes.iter().map(|c| c.parse::<i64>().ok()).collect();
    match ints {
        Some(v) => v.into_iter().map(Value::from).collect(),
        None => classes.iter().map(|c| Value::from(c.as_str())).collect(),
    }
}

/// The `predict` values of each row.
pub fn predictions(pred: &Prediction) -> Vec<Value> {
    match pred {
        Prediction::Regression { values } => values.iter().map(|&v| json_f64(v)).collect(),
        Prediction::Classification {
            labels, classes, ..
        } => {
            let l = label_values(classes);
            labels.iter().map(|&c| l[c as usize].clone()).collect()
        }
        Prediction::Clustering { labels } => labels.iter().map(|&c| Value::from(c)).collect(),
        Prediction::Embedding { dim, values } => values
            .chunks_exact((*dim).max(1))
            .map(|row| Value::Array(row.iter().map(|&v| json_f32(v)).collect()))
            .collect(),
    }
}

fn json_f64(v: f64) -> Value {
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// An f32 as the JSON number of its shortest decimal (`0.1`, not `0.10000000149011612`).
fn json_f32(v: f32) -> Value {
    if !v.is_finite() {
        return Value::Null;
    }
    // f32's Display is its shortest round-trip decimal; as an f64 it prints the same digits.
    v.to_string().parse::<f64>().map_or(Value::Null, json_f64)
}

/// MLflow scoring: `{"predictions": [...]}`.
pub fn mlflow(pred: &Prediction) -> Value {
    json!({ "predictions": predictions(pred) })
}

/// Writes one JSON value (strings escaped, floats shortest round-trip) without building a tree.
fn put<T: serde::Serialize + ?Sized>(out: &mut Vec<u8>, v: &T) {
    // Serialising a string or a number into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

fn put_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        put(out, &v);
    } else {
        out.extend_from_slice(b"null");
    }
}

/// A JSON list of f32s, each as its shortest decimal (non-finite ones as `null`).
fn put_f32s(out: &mut Vec<u8>, values: &[f32]) {
    out.push(b'[');
    for (k, &v) in values.iter().enumerate() {
        if k > 0 {
            out.push(b',');
        }
        if v.is_finite() {
            put(out, &v);
        } else {
            out.extend_from_slice(b"null");
        }
    }
    out.push(b']');
}

/// OpenAI's embeddings answer: `{"object": "list", "data": [{"object": "embedding", "index":
/// i, "embedding": […]}, …], "model": …, "usage": {"prompt_tokens": n, "total_tokens": n}}`,
/// each vector a list of numbers or, with `base64`, its little-endian f32 bytes in base64.
pub fn openai_embeddings(model: &str, pred: &Prediction, base64: bool, tokens: usize) -> Vec<u8> {
    use base64::Engine as _;
    let mut out = Vec::with_capacity(128 + pred.len() * 8 * 400);
    out.extend_from_slice(b"{\"object\":\"list\",\"data\":[");
    for i in 0..pred.len() {
        let Some(row) = pred.embedding(i) else { break };
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"object\":\"embedding\",\"index\":");
        put(&mut out, &i);
        out.extend_from_slice(b",\"embedding\":");
        if base64 {
            let bytes: Vec<u8> = row.iter().flat_map(|v| v.to_le_bytes()).collect();
            put(
                &mut out,
                &base64::engine::general_purpose::STANDARD.encode(bytes),
            );
        } else {
            put_f32s(&mut out, row);
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"],\"model\":");
    put(&mut out, model);
    out.extend_from_slice(b",\"usage\":{\"prompt_tokens\":");
    put(&mut out, &tokens);
    out.extend_from_slice(b",\"total_tokens\":");
    put(&mut out, &tokens);
    out.extend_from_slice(b"}}");
    out
}

/// One row's `{"prediction": …, "probabilities": {…}}` (`{"embedding": […]}` for an embedding
/// model), written directly.
fn named_row(out: &mut Vec<u8>, pred: &Prediction, labels: &[Value], i: usize) {
    if let Some(row) = pred.embedding(i) {
        out.extend_from_slice(b"{\"embedding\":");
        put_f32s(out, row);
        out.push(b'}');
        return;
    }
    out.extend_from_slice(b"{\"prediction\":");
    match pred {
        Prediction::Regression { values } => put_f64(out, values[i]),
        Prediction::Classification { labels: codes, .. } => {
            put(out, &labels[codes[i] as usize]);
        }
        Prediction::Clustering { labels } => put(out, &labels[i]),
        // Written above.
        Prediction::Embedding { .. } => {}
    }
    if let Prediction::Classification {
        classes,
        proba: Some(p),
        ..
    } = pred
    {
        out.extend_from_slice(b",\"probabilities\":{");
        for (k, (c, &x)) in classes.iter().zip(p.row(i)).enumerate() {
            if k > 0 {
                out.push(b',');
            }
            put(out, c.as_str());
            out.push(b':');
            put_f64(out, x);
        }
        out.push(b'}');
    }
    out.push(b'}');
}

/// [`named`] as bytes, written directly (the hot path of `/predict`).
pub fn named_bytes(pred: &Prediction, single: bool) -> Vec<u8> {
    let labels = match pred {
        Prediction::Classification { classes, .. } => label_values(classes),
        _ => Vec::new(),
    };
    let mut out = Vec::with_capacity(64 + 48 * pred.len());
    if single && pred.len() == 1 {
        named_row(&mut out, pred, &labels, 0);
        return out;
    }
    out.extend_from_slice(b"{\"predictions\":[");
    for i in 0..pred.len() {
        if i > 0 {
            out.push(b',');
        }
        named_row(&mut out, pred, &labels, i);
    }
    out.extend_from_slice(b"]}");
    out
}

/// `/predict`: per row `{"prediction": …, "probabilities": {"class": p, …}}`; one object for a
/// one-object request.
#[cfg(test)]
pub fn named(pred: &Prediction, single: bool) -> Value {
    let values = predictions(pred);
    let rows: Vec<Value> = values
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let mut row = Map::new();
            if let Prediction::Embedding { .. } = pred {
                row.insert("embedding".into(), v);
                return Value::Object(row);
            }
            row.insert("prediction".into(), v);
            if let Prediction::Classification {
                classes,
                proba: Some(p),
                ..
            } = pred
            {
                let probs: Map<String, Value> = classes
                    .iter()
                    .zip(p.row(i))
                    .map(|(c, &x)| (c.clone(), json_f64(x)))
                    .collect();
                row.insert("probabilities".into(), Value::Object(probs));
            }
            Value::Object(row)
        })
        .collect();
    if single && rows.len() == 1 {
        rows.into_iter().next().unwrap_or(Value::Null)
    } else {
        json!({ "predictions": rows })
    }
}

/// An output tensor: its name, type and shape, and its values borrowed from the prediction,
/// written out in JSON or as bytes for the binary extension only when that form is asked for.
struct Tensor<'a> {
    name: &'static str,
    datatype: &'static str,
    shape: Vec<usize>,
    data: Data<'a>,
}

/// An output tensor's values.
enum Data<'a> {
    F64(&'a [f64]),
    F32(&'a [f32]),
    I64(&'a [i64]),
    /// Class codes, sent as the classes' names (`BYTES`).
    Labels(&'a [u32], &'a [String]),
}

impl Data<'_> {
    fn json(&self) -> Vec<Value> {
        match *self {
            Data::F64(v) => v.iter().map(|&x| json_f64(x)).collect(),
            Data::F32(v) => v.iter().map(|&x| json_f32(x)).collect(),
            Data::I64(v) => v.iter().map(|&x| Value::from(x)).collect(),
            Data::Labels(codes, classes) => codes
                .iter()
                .map(|&c| Value::from(classes[c as usize].as_str()))
                .collect(),
        }
    }

    /// The binary extension's little-endian bytes (`BYTES`: a u32 length before each string).
    fn bytes(&self) -> Vec<u8> {
        match *self {
            Data::F64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::F32(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::I64(v) => v.iter().flat_map(|x| x.to_le_bytes()).collect(),
            Data::Labels(codes, classes) => {
                let mut bytes = Vec::new();
                for &c in codes {
                    let s = classes[c as usize].as_bytes();
                    bytes.extend((s.len() as u32).to_le_bytes());
                    bytes.extend(s);
                }
                bytes
            }
        }
    }
}

fn tensors(pred: &Prediction) -> Vec<Tensor<'_>> {
    let n = pred.len();
    match pred {
        Prediction::Regression { values } => vec![Tensor {
            name: PREDICT,
            datatype: "FP64",
            shape: vec![n],
            data: Data::F64(values),
        }],
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => {
            let mut out = vec![Tensor {
                name: PREDICT,
                datatype: "BYTES",
                shape: vec![n],
                data: Data::Labels(labels, classes),
            }];
            if let Some(p) = proba {
                out.push(Tensor {
                    name: PREDICT_PROBA,
                    datatype: "FP64",
                    shape: vec![n, p.n_classes],
                    data: Data::F64(&p.values),
                });
            }
            out
        }
        Prediction::Clustering { labels } => vec![Tensor {
            name: PREDICT,
            datatype: "INT64",
            shape: vec![n],
            data: Data::I64(labels),
        }],
        Prediction::Embedding { dim, values } => vec![Tensor {
            name: EMBEDDING,
            datatype: "FP32",
            shape: vec![n, *dim],
            data: Data::F32(values),
        }],
    }
}

/// An OIP v2 inference response: the JSON part and the binary data after it (empty unless an
/// output was asked for in binary). `wanted`: the requested outputs and whether each is binary
/// (all outputs in JSON when `None`).
pub fn oip(
    model: &str,
    version: &str,
    id: Option<&str>,
    pred: &Prediction,
    wanted: Option<&[(String, bool)]>,
    all_binary: bool,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    let all = tensors(pred);
    if let Some(w) = wanted
        && let Some((bad, _)) = w.iter().find(|(n, _)| !all.iter().any(|t| t.name == n))
    {
        let names: Vec<&str> = all.iter().map(|t| t.name).collect();
        return Err(format!(
            "unknown output \"{bad}\"; this model has {}",
            names.join(", ")
        ));
    }
    let mut outputs = Vec::new();
    let mut binary = Vec::new();
    for t in all {
        let as_binary = match wanted {
            Some(w) => match w.iter().find(|(n, _)| n == t.name) {
                Some((_, b)) => *b,
                None => continue,
            },
            None => all_binary,
        };
        let mut o = Map::new();
        o.insert("name".into(), t.name.into());
        o.insert("datatype".into(), t.datatype.into());
        o.insert("shape".into(), json!(t.shape));
        if as_binary {
            let bytes = t.data.bytes();
            o.insert(
                "parameters".into(),
                json!({ "binary_data_size": bytes.len() }),
            );
            binary.extend(bytes);
        } else {
            o.insert("data".into(), Value::Array(t.data.json()));
        }
        outputs.push(Value::Object(o));
    }
    let mut body = Map::new();
    body.insert("model_name".into(), model.into());
    body.insert("model_version".into(), version.into());
    if let Some(id) = id {
        body.insert("id".into(), id.into());
    }
    body.insert("outputs".into(), Value::Array(outputs));
    let json = serde_json::to_vec(&Value::Object(body)).map_err(|e| e.to_string())?;
    Ok((json, binary))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::Proba;

    fn clf() -> Prediction {
        Prediction::Classification {
            labels: vec![1, 0],
            classes: vec!["0".into(), "1".into()],
            proba: Some(Proba {
                n_classes: 2,
                values: vec![0.25, 0.75, 0.5, 0.5],
            }),
        }
    }

    #[test]
    fn shapes_per_protocol() {
        assert_eq!(mlflow(&clf()), json!({"predictions": [1, 0]}));
        assert_eq!(
            named(&crate::batch::take(&clf(), 0, 1), true),
            json!({"prediction": 1, "probabilities": {"0": 0.25, "1": 0.75}})
        );
        // The direct writer says the same as the tree.
        for (p, single) in [(crate::batch::take(&clf(), 0, 1), true), (clf(), false)] {
            let direct: Value = serde_json::from_slice(&named_bytes(&p, single)).unwrap();
            assert_eq!(direct, named(&p, single));
        }
        let r = Prediction::Regression {
            values: vec![1.5, f64::NAN],
        };
        let direct: Value = serde_json::from_slice(&named_bytes(&r, false)).unwrap();
        assert_eq!(direct, named(&r, false));
        let (j, b) = oip("m", "1", Some("r1"), &clf(), None, false).unwrap();
        let v: Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["id"], "r1");
        assert_eq!(v["outputs"][1]["shape"], json!([2, 2]));
        assert_eq!(v["outputs"][0]["data"], json!(["1", "0"]));
        assert!(b.is_empty());
        let want = vec![(PREDICT_PROBA.to_string(), true)];
        let (j, b) = oip("m", "1", None, &clf(), Some(&want), false).unwrap();
        let v: Value = serde_json::from_slice(&j).unwrap();
        assert_eq!(v["outputs"].as_array().unwrap().len(), 1);
        assert_eq!(v["outputs"][0]["parameters"]["binary_data_size"], 32);
        assert_eq!(b.len(), 32);
        let e = oip("m", "1", None, &clf(), Some(&[("x".into(), false)]), false).unwrap_err();
        assert!(e.contains("unknown output \"x\""), "{e}");
    }
}
