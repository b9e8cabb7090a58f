//! Tables in JSON: MLflow's scoring formats and the named-feature objects of `/predict`.
//!
//! * `{"dataframe_split": {"columns": [...], "data": [[...], ...]}}` (pandas' `orient="split"`)
//! * `{"dataframe_records": [{"col": v, ...}, ...]}`
//! * `{"instances": ...}` / `{"inputs": ...}`: a list of objects, a list of rows in the model's
//!   feature order, or an object of columns (TensorFlow Serving's row and column formats)
//! * `/predict/{model}`: one object, or a list of objects

use serde_json::{Map, Value};

use super::{BadInput, Codec, Filler, Rows};

/// Rows from a list of `{"feature": value}` objects; `what` names the list in messages.
pub fn records(codec: &Codec, items: &[Value], what: &str) -> Result<Rows, BadInput> {
    let mut fill = Filler::new(items.len(), codec.width());
    for (i, item) in items.iter().enumerate() {
        let Value::Object(obj) = item else {
            return Err(BadInput(format!(
                "{what}[{i}]: expected an object of feature values, got {}",
                kind(item)
            )));
        };
        record_into(codec, obj, i, &mut fill, &format!("{what}[{i}]"))?;
    }
    Ok(fill.finish())
}

/// One object of named features.
pub fn record(codec: &Codec, obj: &Map<String, Value>) -> Result<Rows, BadInput> {
    let mut fill = Filler::new(1, codec.width());
    record_into(codec, obj, 0, &mut fill, "the request")?;
    Ok(fill.finish())
}

fn record_into(
    codec: &Codec,
    obj: &Map<String, Value>,
    row: usize,
    fill: &mut Filler,
    where_: &str,
) -> Result<(), BadInput> {
    for (j, name) in codec.names().iter().enumerate() {
        match obj.get(name) {
            Some(v) => fill.json(codec, row, j, v)?,
            None => {
                return Err(codec.missing_feature(j, obj.keys().map(String::as_str), where_));
            }
        }
    }
    Ok(())
}

/// Rows from `columns` + `data` (pandas' split orientation).
pub fn split(codec: &Codec, split: &Value) -> Result<Rows, BadInput> {
    let Value::Object(obj) = split else {
        return Err(BadInput(format!(
            "dataframe_split: expected an object with \"columns\" and \"data\", got {}",
            kind(split)
        )));
    };
    let data = match obj.get("data") {
        Some(Value::Array(d)) => d,
        Some(other) => {
            return Err(BadInput(format!(
                "dataframe_split.data: expected a list of rows, got {}",
                kind(other)
            )));
        }
        None => return Err(BadInput("dataframe_split: no \"data\"".into())),
    };
    let columns: Vec<&str> = match obj.get("columns") {
        Some(Value::Array(c)) => c
            .iter()
            .enumerate()
            .map(|(k, v)| {
                v.as_str().ok_or_else(|| {
                    BadInput(format!(
                        "dataframe_split.columns[{k}]: expected a column name, got {}",
                        kind(v)
                    ))
                })
            })
            .collect::<Result<_, _>>()?,
        // Without names, pandas' split data is in the model's column order.
        None => codec.names().iter().map(String::as_str).collect(),
        Some(other) => {
            return Err(BadInput(format!(
                "dataframe_split.columns: expected a list of names, got {}",
                kind(other)
            )));
        }
    };
    rows_by_position(codec, &columns, data, "dataframe_split.data")
}

/// Rows from lists of values whose positions are named by `columns`.
fn rows_by_position(
    codec: &Codec,
    columns: &[&str],
    data: &[Value],
    what: &str,
) -> Result<Rows, BadInput> {
    let mut at = Vec::with_capacity(codec.width());
    for (j, name) in codec.names().iter().enumerate() {
        match columns.iter().position(|c| c == name) {
            Some(p) => at.push(p),
            None => {
                return Err(codec.missing_feature(j, columns.iter().copied(), "dataframe_split"));
            }
        }
    }
    let mut fill = Filler::new(data.len(), codec.width());
    for (i, row) in data.iter().enumerate() {
        let Value::Array(cells) = row else {
            return Err(BadInput(format!(
                "{what}[{i}]: expected a list of {} values, got {}",
                columns.len(),
                kind(row)
            )));
        };
        if cells.len() != columns.len() {
            return Err(BadInput(format!(
                "{what}[{i}]: {} values for {} columns",
                cells.len(),
                columns.len()
            )));
        }
        for (j, &p) in at.iter().enumerate() {
            fill.json(codec, i, j, &cells[p])?;
        }
    }
    Ok(fill.finish())
}

/// Rows from an object of columns: `{"feature": [v0, v1, ...], ...}` (or one value each).
pub fn columns(codec: &Codec, obj: &Map<String, Value>, what: &str) -> Result<Rows, BadInput> {
    let mut n = None;
    for (j, name) in codec.names().iter().enumerate() {
        let len = match obj.get(name) {
            Some(Value::Array(a)) => a.len(),
            Some(_) => 1,
            None => return Err(codec.missing_feature(j, obj.keys().map(String::as_str), what)),
        };
        match n {
            None => n = Some(len),
            Some(m) if m != len => {
                return Err(BadInput(format!(
                    "{what}: column \"{name}\" has {len} values, \"{}\" has {m}",
                    codec.names()[0]
                )));
            }
            Some(_) => {}
        }
    }
    let n = n.unwrap_or(0);
    let mut fill = Filler::new(n, codec.width());
    for (j, name) in codec.names().iter().enumerate() {
        match obj.get(name) {
            Some(Value::Array(a)) => {
                for (i, v) in a.iter().enumerate() {
                    fill.json(codec, i, j, v)?;
                }
            }
            Some(v) => fill.json(codec, 0, j, v)?,
            None => {}
        }
    }
    Ok(fill.finish())
}

/// `instances` / `inputs`: a list of objects, a list of rows in feature order, or an object of
/// columns.
pub fn instances(codec: &Codec, v: &Value, what: &str) -> Result<Rows, BadInput> {
    match v {
        Value::Array(items) if items.iter().all(Value::is_object) => records(codec, items, what),
        Value::Array(items) if items.iter().all(Value::is_array) => {
            let names: Vec<&str> = codec.names().iter().map(String::as_str).collect();
            rows_by_position(codec, &names, items, what)
        }
        // One row of scalars in feature order.
        Value::Array(items) if items.len() == codec.width() && !items.iter().any(is_nested) => {
            let names: Vec<&str> = codec.names().iter().map(String::as_str).collect();
            rows_by_position(codec, &names, std::slice::from_ref(v), what)
        }
        Value::Array(_) => Err(BadInput(format!(
            "{what}: expected a list of objects ({{\"feature\": value}}) or a list of rows with {} \
             values each ({})",
            codec.width(),
            codec.names().join(", ")
        ))),
        Value::Object(obj) => columns(codec, obj, what),
        other => Err(BadInput(format!(
            "{what}: expected a list of rows or an object of columns, got {}",
            kind(other)
        ))),
    }
}

fn is_nested(v: &Value) -> bool {
    v.is_array() || v.is_object()
}

/// The JSON type of a value, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn codec() -> Codec {
        crate::decode::test_codec()
    }

    const WANT: [f64; 6] = [1.0, 4.0, 1.0, 0.0, 3.0, 6.0];

    #[test]
    fn every_shape_gives_the_same_rows() {
        let c = codec();
        let r = records(
            &c,
            &[
                json!({"y": 3, "c": "b", "x": 1, "id": 9}),
                json!({"x": 4, "y": 6, "c": "a"}),
            ],
            "dataframe_records",
        )
        .unwrap();
        assert_eq!((r.n, r.values.as_slice()), (2, WANT.as_slice()));
        let s = split(
            &c,
            &json!({"columns": ["c", "y", "x"], "data": [["b", 3, 1], ["a", 6, 4]]}),
        )
        .unwrap();
        assert_eq!(s, r);
        let i = instances(&c, &json!([[1, "b", 3], [4, "a", 6]]), "instances").unwrap();
        assert_eq!(i, r);
        let o = instances(
            &c,
            &json!({"x": [1, 4], "c": ["b", "a"], "y": [3, 6]}),
            "inputs",
        )
        .unwrap();
        assert_eq!(o, r);
        let one = instances(&c, &json!([1, "b", 3]), "instances").unwrap();
        assert_eq!((one.n, one.values), (1, vec![1.0, 1.0, 3.0]));
    }

    #[test]
    fn shape_errors_say_where() {
        let c = codec();
        let e = records(&c, &[json!({"x": 1, "c": "a"})], "dataframe_records").unwrap_err();
        assert!(
            e.0.contains("dataframe_records[0]: missing feature \"y\""),
            "{e}"
        );
        let e = split(&c, &json!({"columns": ["x", "c", "y"], "data": [[1, "a"]]})).unwrap_err();
        assert!(
            e.0.contains("dataframe_split.data[0]: 2 values for 3 columns"),
            "{e}"
        );
        let e = records(&c, &[json!({"x": 1, "c": "a", "Y": 2})], "r").unwrap_err();
        assert!(e.0.contains("did you mean to send \"Y\" as \"y\""), "{e}");
        let e = columns(
            &c,
            json!({"x": [1, 2], "c": ["a"], "y": [1, 2]})
                .as_object()
                .unwrap(),
            "inputs",
        )
        .unwrap_err();
        assert!(e.0.contains("column \"c\" has 1 values"), "{e}");
    }
}
