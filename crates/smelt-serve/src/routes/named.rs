//! `POST /predict/{model}`: named features for people — one object, or a list of objects.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::Value;

use super::{Scoring, finish};
use crate::app::App;
use crate::decode::{BadInput, Codec, Rows, fast, table};
use crate::encode;
use crate::error::Protocol;

const P: Protocol = Protocol::Plain;

/// Good requests take the fast path (no JSON tree); anything else is read again through the
/// tree, which words the error.
fn decode(codec: &Codec, body: &[u8]) -> Result<Rows, BadInput> {
    if let Some(rows) = fast::records(codec, body) {
        return Ok(rows);
    }
    let json: Value = serde_json::from_slice(body)
        .map_err(|e| BadInput(format!("the body is not valid JSON: {e}")))?;
    match &json {
        Value::Object(obj) => table::record(codec, obj),
        Value::Array(items) => table::records(codec, items, "the request"),
        other => Err(BadInput(format!(
            "expected an object of feature values or a list of them, got {}",
            table::kind(other)
        ))),
    }
}

pub async fn predict(
    State(app): State<App>,
    Path(name): Path<String>,
    Scoring { headers, body }: Scoring,
) -> Response {
    let start = Instant::now();
    let mut served = None;
    let result = async {
        let endpoint = app.endpoint(&name, P)?;
        let body = crate::decode::lenient_json(&body);
        let single = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
        let (v, pred) = app
            .score(&endpoint, None, &headers, P, |codec| decode(codec, &body))
            .await?;
        served = Some(v);
        Ok(super::json_bytes(encode::named_bytes(&pred, single)))
    }
    .await;
    finish(&app, &name, served.as_deref(), P, start, result)
}
