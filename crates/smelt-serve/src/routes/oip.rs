//! Open Inference Protocol v2 (KServe's "V2", Triton's HTTP/REST, MLServer).

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::{Scoring, finish, json_bytes};
use crate::app::App;
use crate::decode::oip as req;
use crate::encode;
use crate::endpoint::Version;
use crate::error::{ApiError, Protocol};

const P: Protocol = Protocol::Oip;

pub async fn server_metadata() -> Json<Value> {
    Json(json!({
        "name": "smelt",
        "version": env!("CARGO_PKG_VERSION"),
        "extensions": ["binary_tensor_data", "model_repository"],
    }))
}

pub async fn live() -> StatusCode {
    StatusCode::OK
}

pub async fn ready(State(app): State<App>) -> StatusCode {
    if app.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    }
}

/// Every model with its versions (not part of the protocol; handy for people).
pub async fn list(State(app): State<App>) -> Json<Value> {
    let models: Vec<Value> = app
        .models
        .all()
        .iter()
        .map(|e| {
            let r = e.routing();
            json!({"name": e.name, "version": r.primary.version, "platform": "smelt",
                   "task": r.primary.signature.task})
        })
        .collect();
    Json(json!({ "models": models }))
}

/// Triton's repository index (`tritonclient`'s `get_model_repository_index`).
pub async fn repository_index(State(app): State<App>) -> Json<Value> {
    let models: Vec<Value> = app
        .models
        .all()
        .iter()
        .map(|e| json!({"name": e.name, "version": e.routing().primary.version, "state": "READY"}))
        .collect();
    Json(Value::Array(models))
}

fn metadata(app: &App, name: &str, v: Option<&str>) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(name, P)?;
    let r = e.routing();
    let version = match v {
        Some(v) => e.version(v).ok_or_else(|| no_version(name, v))?,
        None => r.primary.clone(),
    };
    let mut versions = vec![r.primary.version.clone()];
    versions.extend(r.previous.iter().map(|p| p.version.clone()));
    versions.extend(r.challenger.iter().map(|c| c.0.version.clone()));
    versions.dedup();
    Ok(Json(json!({
        "name": name,
        "versions": versions,
        "platform": "smelt",
        "inputs": version.signature.inputs.iter().map(|i| json!({
            "name": i.name, "datatype": i.datatype, "shape": i.shape,
        })).collect::<Vec<_>>(),
        "outputs": version.signature.outputs,
        "parameters": {
            "version": version.version,
            "source": version.resolved,
            "task": version.signature.task,
            "signature": version.signature,
            // Imported models: what wrote them and what scores them (`tract` for ONNX graphs
            // of standard operators, Smelt's interpreter for ONNX-ML ones).
            "imported": version.metadata.get("imported_from").map(|from| json!({
                "from": from,
                "producer": version.metadata.get("producer"),
                "engine": version.metadata.get("engine"),
            })),
        },
    })))
}

fn no_version(name: &str, v: &str) -> ApiError {
    ApiError::not_found(P, format!("model \"{name}\" has no version \"{v}\" loaded"))
}

pub async fn model_metadata(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    metadata(&app, &name, None)
}

pub async fn version_metadata(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    metadata(&app, &name, Some(&version))
}

pub async fn model_ready(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    app.endpoint(&name, P)?;
    Ok(if app.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    })
}

pub async fn version_ready(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let e = app.endpoint(&name, P)?;
    e.version(&version)
        .ok_or_else(|| no_version(&name, &version))?;
    Ok(StatusCode::OK)
}

/// Triton's model configuration, as far as it applies (`tritonclient`'s `get_model_config`).
pub async fn model_config(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let v = e.routing().primary.clone();
    Ok(Json(json!({
        "name": name,
        "platform": "smelt",
        "backend": "smelt",
        "max_batch_size": e.settings.batching.max_batch_size,
        "dynamic_batching": {
            "max_queue_delay_microseconds": e.settings.batching.max_queue_delay_us,
        },
        "input": v.signature.inputs.iter().map(|i| json!({
            "name": i.name, "data_type": format!("TYPE_{}", i.datatype.replace("BYTES", "STRING")), "dims": [1],
        })).collect::<Vec<_>>(),
        "output": v.signature.outputs.iter().map(|o| json!({
            "name": o.name, "data_type": format!("TYPE_{}", o.datatype.replace("BYTES", "STRING")),
            "dims": &o.shape[1..].iter().copied().chain(std::iter::once(1)).take(1).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
    })))
}

pub async fn infer(
    State(app): State<App>,
    Path(name): Path<String>,
    Scoring { headers, body }: Scoring,
) -> Response {
    run(app, name, None, headers, body).await
}

pub async fn infer_version(
    State(app): State<App>,
    Path((name, version)): Path<(String, String)>,
    Scoring { headers, body }: Scoring,
) -> Response {
    run(app, name, Some(version), headers, body).await
}

async fn run(
    app: App,
    name: String,
    version: Option<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let mut served: Option<std::sync::Arc<Version>> = None;
    let result = async {
        let endpoint = app.endpoint(&name, P)?;
        let json_len = match headers.get(req::HEADER_LENGTH) {
            Some(v) => Some(
                v.to_str()
                    .ok()
                    .and_then(|s| s.trim().parse::<usize>().ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(
                            P,
                            "Inference-Header-Content-Length is not a byte count",
                        )
                    })?,
            ),
            None => None,
        };
        let (request, binary) =
            req::parse(&body, json_len).map_err(|e| ApiError::bad_request(P, e.0))?;
        let (v, pred) = app
            .score(&endpoint, version.as_deref(), &headers, P, |codec| {
                req::rows(codec, &request, binary)
            })
            .await?;
        served = Some(v.clone());
        let wanted = req::requested(&request);
        let (json, bin) = encode::oip(
            &name,
            &v.version,
            request.id.as_deref(),
            &pred,
            wanted.as_deref(),
            req::all_binary(&request),
        )
        .map_err(|e| ApiError::bad_request(P, e))?;
        if bin.is_empty() {
            return Ok(json_bytes(json));
        }
        let len = json.len();
        let mut out = json;
        out.extend(bin);
        Ok((
            [
                ("content-type", "application/octet-stream".to_string()),
                ("inference-header-content-length", len.to_string()),
            ],
            out,
        )
            .into_response())
    }
    .await;
    finish(&app, &name, served.as_deref(), P, start, result)
}
