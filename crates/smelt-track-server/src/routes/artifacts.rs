//! Artifacts: MLflow's proxy (`/api/2.0/mlflow-artifacts/artifacts/...`: upload, download, list,
//! delete) and the run-scoped listing (`/mlflow/artifacts/list`).
//!
//! Every path goes through [`ArtifactPath::parse`] after the HTTP layer's one percent-decoding:
//! `..`, absolute paths, backslashes, leftover `%XX` escapes and control characters are refused.
//! Uploads stream to the store with bounded memory and become visible only when complete.

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use serde_json::{Value, json};
use smelt_track::artifacts::FileInfo;
use smelt_track::{ArtifactPath, ArtifactStore, TrackError};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;
use crate::params::UrlPath as Path;

type Answer = Result<Json<Value>, ApiError>;

/// The scheme of proxied artifact URIs.
pub const PROXY_SCHEME: &str = "mlflow-artifacts:";

fn files_json(files: &[FileInfo], name: impl Fn(&FileInfo) -> String) -> Value {
    let items: Vec<Value> = files
        .iter()
        .map(|f| {
            let mut o = json!({ "path": name(f), "is_dir": f.is_dir });
            if let Some(size) = f.file_size.filter(|_| !f.is_dir) {
                o["file_size"] = json!(size);
            }
            o
        })
        .collect();
    if items.is_empty() {
        json!({})
    } else {
        json!({ "files": items })
    }
}

pub(crate) async fn upload(
    State(s): State<AppState>,
    Path(path): Path<String>,
    body: Body,
) -> Answer {
    let path = ArtifactPath::parse(&path)?;
    let stream = body
        .into_data_stream()
        .map_err(|e| TrackError::InvalidParameter(format!("upload interrupted: {e}")));
    s.artifacts.put_stream(&path, stream).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn download(
    State(s): State<AppState>,
    Path(path): Path<String>,
) -> Result<Response, ApiError> {
    let path = ArtifactPath::parse(&path)?;
    stream_file(&s.artifacts, &path).await
}

async fn stream_file(store: &ArtifactStore, path: &ArtifactPath) -> Result<Response, ApiError> {
    let (size, stream) = store.get_stream(path).await?;
    let mut resp = Body::from_stream(stream).into_response();
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(path.as_str())),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    // Never let a browser render an uploaded file as a page of this origin.
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    Ok(resp)
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or("") {
        "txt" | "log" | "md" | "yaml" | "yml" | "csv" | "MLmodel" => "text/plain; charset=utf-8",
        "json" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

pub(crate) async fn list_proxy(State(s): State<AppState>, p: Params) -> Answer {
    let dir = ArtifactPath::parse(&p.opt_str("path")?.unwrap_or_default())?;
    let files = s.artifacts.list(&dir).await?;
    Ok(Json(files_json(&files, |f| f.name().to_string())))
}

pub(crate) async fn delete(State(s): State<AppState>, Path(path): Path<String>) -> Answer {
    let path = ArtifactPath::parse(&path)?;
    s.artifacts.delete(&path).await?;
    Ok(Json(json!({})))
}

/// Resolves a run's (or model's) artifact URI to a store and a base path inside it.
pub(crate) fn resolve(s: &AppState, uri: &str) -> Result<(ArtifactStore, ArtifactPath), ApiError> {
    if let Some(rest) = uri.strip_prefix(PROXY_SCHEME) {
        return Ok((
            s.artifacts.clone(),
            ArtifactPath::parse(rest.trim_start_matches('/'))?,
        ));
    }
    Ok((ArtifactStore::open(uri)?, ArtifactPath::root()))
}

/// `GET /mlflow/artifacts/list?run_id=&path=`: paths relative to the run's artifact root.
pub(crate) async fn list_run(State(s): State<AppState>, p: Params) -> Answer {
    let run = s
        .store
        .get_run_info(&p.either(&["run_id", "run_uuid"])?)
        .await?;
    let (store, base) = resolve(&s, &run.artifact_uri)?;
    let rel = ArtifactPath::parse(&p.opt_str("path")?.unwrap_or_default())?;
    let files = store.list(&base.join_path(&rel)?).await?;
    let mut body = files_json(&files, |f| {
        if rel.is_root() {
            f.name().to_string()
        } else {
            format!("{}/{}", rel.as_str(), f.name())
        }
    });
    body["root_uri"] = json!(run.artifact_uri);
    Ok(Json(body))
}

/// The UI's `GET /get-artifact?run_uuid=&path=`.
pub(crate) async fn get_run_artifact(
    State(s): State<AppState>,
    p: Params,
) -> Result<Response, ApiError> {
    let run = s
        .store
        .get_run_info(&p.either(&["run_id", "run_uuid"])?)
        .await?;
    let (store, base) = resolve(&s, &run.artifact_uri)?;
    let rel = ArtifactPath::parse(&p.non_empty("path")?)?;
    stream_file(&store, &base.join_path(&rel)?).await
}

/// `POST /mlflow-artifacts/mpu/{create,complete,abort}/...`: MLflow's client-driven multipart
/// upload. Answered with the exact message MLflow's client recognises as "not supported", so it
/// falls back to one streamed `PUT` — which this server already streams to the store in bounded
/// memory (and to S3 as a multipart upload), so nothing is lost.
pub(crate) async fn multipart_unsupported() -> ApiError {
    ApiError {
        code: smelt_track::ErrorCode::NotImplemented,
        message: "Multipart upload is not supported for the current artifact repository".into(),
    }
}
