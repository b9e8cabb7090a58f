//! The HTTP surface: Open Inference Protocol v2 ([`oip`]), MLflow scoring ([`mlflow`]), the
//! named-feature route ([`named`]), OpenAI's embeddings API ([`openai`]), rollouts ([`admin`]), and health, metrics and the OpenAPI
//! document ([`ops`]).

mod admin;
mod mlflow;
mod named;
mod oip;
mod openai;
mod ops;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::app::App;
use crate::auth::{Verdict, is_open_path};
use crate::endpoint::Version;
use crate::error::{ApiError, Protocol};

/// The whole application.
pub fn router(app: App) -> Router {
    let timeout = Duration::from_millis(app.config.server.request_timeout_ms);
    let limit = app.config.server.max_body_bytes;
    Router::new()
        // Open Inference Protocol v2.
        .route("/v2", get(oip::server_metadata))
        .route("/v2/health/live", get(oip::live))
        .route("/v2/health/ready", get(oip::ready))
        .route("/v2/models", get(oip::list))
        .route("/v2/repository/index", post(oip::repository_index))
        .route("/v2/models/{name}", get(oip::model_metadata))
        .route("/v2/models/{name}/ready", get(oip::model_ready))
        .route("/v2/models/{name}/config", get(oip::model_config))
        .route("/v2/models/{name}/infer", post(oip::infer))
        .route(
            "/v2/models/{name}/versions/{version}",
            get(oip::version_metadata),
        )
        .route(
            "/v2/models/{name}/versions/{version}/ready",
            get(oip::version_ready),
        )
        .route(
            "/v2/models/{name}/versions/{version}/infer",
            post(oip::infer_version),
        )
        // MLflow scoring server.
        .route("/invocations", post(mlflow::invocations))
        .route("/ping", get(mlflow::ping))
        .route("/health", get(mlflow::ping))
        .route("/version", get(mlflow::version))
        // People.
        .route("/predict/{name}", post(named::predict))
        // OpenAI's embeddings API, for embedding models.
        .route("/v1/embeddings", post(openai::embeddings))
        // Rollouts.
        .route("/admin/models", get(admin::list))
        .route("/admin/models/{name}", get(admin::show))
        .route("/admin/models/{name}/deploy", post(admin::deploy))
        .route(
            "/admin/models/{name}/challenger",
            post(admin::challenge).delete(admin::end_challenge),
        )
        .route("/admin/models/{name}/split", post(admin::split))
        .route("/admin/models/{name}/promote", post(admin::promote))
        .route("/admin/models/{name}/rollback", post(admin::rollback))
        // Operations.
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(ops::openapi))
        .fallback(ops::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .layer(axum::middleware::from_fn_with_state(
            (app.clone(), timeout),
            guard,
        ))
        .with_state(app)
}

/// A scoring request's headers and body. axum's `HeaderMap` extractor copies the headers; this
/// one moves them out of the request, which is not used after.
pub(crate) struct Scoring {
    /// The request's headers.
    pub headers: HeaderMap,
    /// The request's body, within `server.max_body_bytes`.
    pub body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Scoring {
    type Rejection = BytesRejection;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let headers = std::mem::take(&mut parts.headers);
        let body = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Scoring { headers, body })
    }
}

/// In front of every route, in one layer (each layer costs a boxed future per request): API
/// keys and rate limits, the request id, the request timeout, the body-limit answer.
async fn guard(
    State((app, timeout)): State<(App, Duration)>,
    req: Request,
    next: Next,
) -> Response {
    let path = req.uri().path();
    if !is_open_path(path) {
        match app.keys.check(req.headers()) {
            Verdict::Allowed(_) => {}
            Verdict::Unauthorized => {
                let mut r = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    protocol_of(path),
                    "missing or wrong API key: send Authorization: Bearer KEY or X-API-Key: KEY",
                )
                .into_response();
                r.headers_mut()
                    .insert("www-authenticate", HeaderValue::from_static("Bearer"));
                return r;
            }
            Verdict::Limited(after) => {
                return ApiError {
                    status: StatusCode::TOO_MANY_REQUESTS,
                    message: format!("rate limit of this API key exceeded; retry in {after} s"),
                    protocol: protocol_of(path),
                    retry_after: Some(after),
                }
                .into_response();
            }
        }
    }
    // Every request has an id (the client's `X-Request-Id`, else one made here): echoed in the
    // answer, and the key of its rows in the prediction log.
    let mut req = req;
    let id = match req.headers().get("x-request-id").filter(|v| v.len() <= 128) {
        Some(v) => v.clone(),
        None => {
            // From the string's own buffer, not a copy of it.
            let v = HeaderValue::from_maybe_shared(Bytes::from(next_request_id()))
                .unwrap_or(HeaderValue::from_static("-"));
            req.headers_mut().insert("x-request-id", v.clone());
            v
        }
    };
    let mut resp = with_timeout(req, next, timeout).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp = ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            Protocol::Plain,
            format!(
                "request body over the limit of {} bytes (server.max_body_bytes)",
                app.config.server.max_body_bytes
            ),
        )
        .into_response();
    }
    // Every answer carries the id, refusals included.
    resp.headers_mut().insert("x-request-id", id);
    resp
}

/// `<process>-<n>`: unique within a server's life, cheap (no randomness per request).
fn next_request_id() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    static PROCESS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let p = PROCESS.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        std::process::id().rotate_left(16) ^ nanos
    });
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!("{p:08x}-{n:x}")
}

async fn with_timeout(req: Request, next: Next, timeout: Duration) -> Response {
    // A `Uri` clone shares its bytes: no copy of the path for the requests that do not time out.
    let uri = req.uri().clone();
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(r) => r,
        Err(_) => {
            let path = uri.path();
            tracing::warn!(
                path,
                timeout_ms = timeout.as_millis() as u64,
                "request timed out"
            );
            ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!("the request took longer than {} ms", timeout.as_millis()),
                protocol: protocol_of(path),
                retry_after: Some(1),
            }
            .into_response()
        }
    }
}

fn protocol_of(path: &str) -> Protocol {
    if path.starts_with("/v2") {
        Protocol::Oip
    } else if path == "/invocations" {
        Protocol::Mlflow
    } else if path.starts_with("/v1/") {
        Protocol::OpenAi
    } else {
        Protocol::Plain
    }
}

/// Records a scoring request's metrics and returns its response.
pub(crate) fn finish(
    app: &App,
    model: &str,
    version: Option<&Version>,
    protocol: Protocol,
    start: Instant,
    result: Result<Response, ApiError>,
) -> Response {
    let resp = match result {
        Ok(r) => r,
        Err(e) => {
            if e.status.is_server_error() {
                tracing::warn!(model, status = e.status.as_u16(), message = %e.message, "request failed");
            } else {
                tracing::debug!(model, status = e.status.as_u16(), message = %e.message, "bad request");
            }
            e.into_response()
        }
    };
    match version {
        Some(v) => {
            v.metrics.latency.observe(start.elapsed().as_secs_f64());
            if resp.status() == StatusCode::OK {
                let i = match protocol {
                    Protocol::Oip => 0,
                    Protocol::Mlflow => 1,
                    Protocol::Plain => 2,
                    Protocol::OpenAi => 3,
                };
                v.metrics.ok[i].inc();
            } else {
                app.metrics
                    .request(model, &v.version, protocol.label(), resp.status().as_u16());
            }
        }
        None => {
            // A name the server does not serve comes from the client: counted under one label,
            // so requests for made-up names cannot grow the metrics without bound.
            let model = if app.models.get(model).is_some() {
                model
            } else {
                UNKNOWN_MODEL
            };
            app.metrics
                .request(model, "-", protocol.label(), resp.status().as_u16());
        }
    }
    resp
}

/// The `model` label of requests for a model the server does not serve.
const UNKNOWN_MODEL: &str = "(unknown)";

/// A JSON response from bytes already serialised.
pub(crate) fn json_bytes(body: Vec<u8>) -> Response {
    Response::builder()
        .header("content-type", "application/json")
        .body(Body::from(body))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}
