//! Metrics, the OpenAPI document, and unknown routes.

use axum::Json;
use axum::extract::State;
use axum::http::Uri;
use axum::response::IntoResponse;
use serde_json::Value;

use crate::app::App;
use crate::error::{ApiError, Protocol};

pub async fn metrics(State(app): State<App>) -> impl IntoResponse {
    for e in app.models.all() {
        let r = e.routing();
        let versions = [
            Some(&r.primary),
            r.previous.as_ref(),
            r.challenger.as_ref().map(|c| &c.0),
        ];
        for v in versions.into_iter().flatten() {
            v.metrics.queue_depth.set(v.batcher.queued() as i64);
        }
    }
    (
        [(
            "content-type",
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        app.metrics.encode(),
    )
}

pub async fn openapi(State(app): State<App>) -> Json<Value> {
    Json(crate::openapi::document(&app))
}

pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::not_found(
        Protocol::Plain,
        format!(
            "no route for {} (see /openapi.json for the routes)",
            uri.path()
        ),
    )
}
