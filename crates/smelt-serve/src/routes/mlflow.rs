//! MLflow's scoring server protocol (`mlflow models serve`): `POST /invocations` with
//! `dataframe_split`, `dataframe_records`, `instances` or `inputs` JSON, or a CSV body;
//! `/ping`, `/health`, `/version`.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::Response;
use serde_json::Value;

use super::{Scoring, finish};
use crate::app::App;
use crate::decode::{BadInput, csv_body, table};
use crate::encode;
use crate::error::{ApiError, Protocol};

const P: Protocol = Protocol::Mlflow;

pub async fn ping(State(app): State<App>) -> (StatusCode, &'static str) {
    if app.is_ready() {
        (StatusCode::OK, "\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
    }
}

pub async fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

const FORMATS: &str = "dataframe_split, dataframe_records, instances or inputs";

pub async fn invocations(State(app): State<App>, Scoring { headers, body }: Scoring) -> Response {
    let start = Instant::now();
    let mut served = None;
    let mut name = "-".to_string();
    let result = async {
        let endpoint = app
            .models
            .default_endpoint()
            .ok_or_else(|| ApiError::not_found(P, "no model is served"))?;
        name = endpoint.name.clone();
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("application/json")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let (v, pred) = match ctype.as_str() {
            "text/csv" => {
                app.score(&endpoint, None, &headers, P, |codec| {
                    csv_body::rows(codec, &body)
                })
                .await?
            }
            "application/json" | "" => {
                let json: Value = serde_json::from_slice(&crate::decode::lenient_json(&body))
                    .map_err(|e| {
                        ApiError::bad_request(P, format!("the body is not valid JSON: {e}"))
                    })?;
                let Value::Object(obj) = &json else {
                    return Err(ApiError::bad_request(
                        P,
                        format!("expected a JSON object with one of {FORMATS}"),
                    ));
                };
                let keys: Vec<&str> = [
                    "dataframe_split",
                    "dataframe_records",
                    "instances",
                    "inputs",
                ]
                .into_iter()
                .filter(|k| obj.contains_key(*k))
                .collect();
                let [key] = keys.as_slice() else {
                    return Err(ApiError::bad_request(
                        P,
                        if keys.is_empty() {
                            let got: Vec<&str> = obj.keys().map(String::as_str).collect();
                            format!("the body has none of {FORMATS} (it has {got:?})")
                        } else {
                            format!("the body has {keys:?}; send exactly one of {FORMATS}")
                        },
                    ));
                };
                let key = *key;
                let data = &obj[key];
                app.score(&endpoint, None, &headers, P, |codec| match key {
                    "dataframe_split" => table::split(codec, data),
                    "dataframe_records" => match data {
                        Value::Array(items) => table::records(codec, items, key),
                        other => Err(BadInput(format!(
                            "dataframe_records: expected a list of objects, got {}",
                            table::kind(other)
                        ))),
                    },
                    _ => table::instances(codec, data, key),
                })
                .await?
            }
            other => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    P,
                    format!(
                        "content type {other:?} is not supported; send application/json or text/csv"
                    ),
                ));
            }
        };
        served = Some(v);
        Ok(axum::response::IntoResponse::into_response(Json(
            encode::mlflow(&pred),
        )))
    }
    .await;
    finish(&app, &name, served.as_deref(), P, start, result)
}
