//! Router tests with `oneshot` (no socket): MLflow's JSON shapes, errors, auth.

mod auth;
mod routes;
mod tracker_remote;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use smelt_track::{ArtifactStore, Store};
use smelt_track_server::{AppState, auth::AuthConfig, router};
use tower::ServiceExt;

/// A router over a fresh store in a temp dir.
pub async fn app(auth: Option<&str>) -> (Router, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(
        &format!("sqlite:///{}", dir.path().join("db.sqlite").display()),
        "mlflow-artifacts:",
    )
    .await
    .expect("store");
    let artifacts =
        ArtifactStore::open(&dir.path().join("art").display().to_string()).expect("artifacts");
    let auth = auth.map(|text| {
        std::sync::Arc::new(AuthConfig::parse("auth.toml", text).expect("auth config"))
    });
    (
        router(AppState {
            store,
            artifacts,
            auth,
        }),
        dir,
    )
}

/// Sends a request and returns the status and the JSON body (Null when not JSON).
pub async fn call(
    app: &Router,
    method: &str,
    uri: &str,
    body: Option<Value>,
    auth: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let body = match body {
        Some(v) => {
            req = req.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let resp = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
