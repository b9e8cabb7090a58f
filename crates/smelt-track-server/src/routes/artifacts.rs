//! Artifacts: MLflow's proxy (`/api/2.0/mlflow-artifacts/artifacts/...`: upload, download, list,
//! delete) and the run-scoped listing (`/mlflow/artifacts/list`).
//!
//! Every path goes through [`ArtifactPath::parse`] after the HTTP layer's one percent-decoding:
//! `..`, absolute paths, backslashes, leftover `%XX` escapes and control characters are refused.
//! Uploads stream to the store with bounded memory and become visible only when complete.

use axum::Json;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
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

/// A path a client names under a run's or model's artifacts; refused as MLflow's
/// `validate_path_is_safe` words it ("Invalid path"), the reason going to the debug log.
fn safe_path(raw: &str) -> Result<ArtifactPath, ApiError> {
    ArtifactPath::parse(raw).map_err(|e| {
        tracing::debug!(path = raw, error = %e, "refused an artifact path");
        ApiError::invalid("Invalid path")
    })
}

/// One level under `base/rel` of `store`, listed as MLflow's run and logged-model listings
/// answer: paths relative to `base`, and `root_uri`.
async fn list_under(
    store: &ArtifactStore,
    base: &ArtifactPath,
    rel: &ArtifactPath,
    root_uri: &str,
) -> Answer {
    let files = store.list(&base.join_path(rel)?).await?;
    let mut body = files_json(&files, |f| {
        if rel.is_root() {
            f.name().to_string()
        } else {
            format!("{}/{}", rel.as_str(), f.name())
        }
    });
    body["root_uri"] = json!(root_uri);
    Ok(Json(body))
}

/// `GET /mlflow/artifacts/list?run_id=&path=`: paths relative to the run's artifact root.
pub(crate) async fn list_run(State(s): State<AppState>, p: Params) -> Answer {
    let run = s
        .store
        .get_run_info(&p.either(&["run_id", "run_uuid"])?)
        .await?;
    let rel = safe_path(&p.opt_str("path")?.unwrap_or_default())?;
    let (store, base) = resolve(&s, &run.artifact_uri)?;
    list_under(&store, &base, &rel, &run.artifact_uri).await
}

/// The UI's `GET /get-artifact?run_uuid=&path=`.
pub(crate) async fn get_run_artifact(
    State(s): State<AppState>,
    p: Params,
) -> Result<Response, ApiError> {
    let (store, path) = run_file(&s, &p).await?;
    let mut resp = stream_file(&store, &path).await?;
    if p.opt_str("preview")?.as_deref() == Some("html") {
        sandboxed_html(path.as_str(), resp.headers_mut());
    }
    Ok(resp)
}

/// The store and full path of the file a request names by `run_id` (or `run_uuid`) and `path`
/// under that run's artifacts.
pub(crate) async fn run_file(
    s: &AppState,
    p: &Params,
) -> Result<(ArtifactStore, ArtifactPath), ApiError> {
    let id = p.either(&["run_id", "run_uuid"])?;
    let rel = safe_path(&p.non_empty("path")?)?;
    let run = s.store.get_run_info(&id).await?;
    let (store, base) = resolve(s, &run.artifact_uri)?;
    let path = base.join_path(&rel)?;
    Ok((store, path))
}

/// The web UI shows HTML reports inline (`/get-artifact?...&preview=html`), sandboxed by the
/// response itself: the CSP `sandbox` directive gives the page an opaque origin (it cannot read
/// this server's cookies, storage or API, even when opened directly in a tab), and nothing may be
/// fetched — only the page's own inline styles, scripts and `data:` images run. Every other
/// download stays an attachment.
///
/// Rewrites a download's headers for that view when `path` is an HTML file.
fn sandboxed_html(path: &str, headers: &mut HeaderMap) {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    if ext != "html" && ext != "htm" {
        return;
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("inline"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; \
             style-src 'unsafe-inline'; img-src data: blob:; font-src data:",
        ),
    );
}

/// Largest file the UI's `upload-artifact` takes (MLflow's limit).
const MAX_UI_UPLOAD: usize = 10 * 1024 * 1024;

/// The UI's `POST /ajax-api/2.0/mlflow/upload-artifact?run_uuid=&path=` with the file as the
/// body (at most 10 MB), in MLflow's order of checks and words.
pub(crate) async fn upload_run_artifact(
    State(s): State<AppState>,
    RawQuery(query): RawQuery,
    body: Body,
) -> Answer {
    let p = Params::from_query(query.as_deref().unwrap_or(""));
    let run_id = p
        .opt_str("run_uuid")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify run_uuid."))?;
    let raw = p
        .opt_str("path")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| ApiError::invalid("Request must specify path."))?;
    let rel = safe_path(&raw)?;
    let too_large = || ApiError::invalid("Artifact size is too large. Max size is 10MB.");
    let data = axum::body::to_bytes(body, MAX_UI_UPLOAD)
        .await
        .map_err(|_| too_large())?;
    if data.is_empty() {
        return Err(ApiError::invalid("Request must specify data."));
    }
    let run = s.store.get_run_info(&run_id).await?;
    let (store, base) = resolve(&s, &run.artifact_uri)?;
    store.put_bytes(&base.join_path(&rel)?, data).await?;
    Ok(Json(json!({})))
}

/// The UI's `GET /model-versions/get-artifact?name=&version=&path=`: a file of a registered
/// model version, under its download URI when that is in this server's artifact store.
pub(crate) async fn get_model_version_artifact(
    State(s): State<AppState>,
    p: Params,
) -> Result<Response, ApiError> {
    let rel = safe_path(&p.str("path")?)?;
    let uri = s
        .store
        .get_model_version_download_uri(&p.non_empty("name")?, &p.non_empty("version")?)
        .await?;
    // A version's source is the client's choice: only files under this server's own artifact
    // root are served (never a path or bucket the client named).
    let Some(rest) = uri.strip_prefix(PROXY_SCHEME) else {
        return Err(ApiError::invalid(format!(
            "model version source `{uri}` is not stored by this server; download it from there"
        )));
    };
    let (store, base) = (
        s.artifacts.clone(),
        ArtifactPath::parse(rest.trim_start_matches('/'))?,
    );
    stream_file(&store, &base.join_path(&rel)?).await
}

/// `GET /mlflow/logged-models/{id}/artifacts/directories?artifact_directory_path=`.
pub(crate) async fn list_logged_model(
    State(s): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let rel = safe_path(&p.opt_str("artifact_directory_path")?.unwrap_or_default())?;
    let model = s.store.get_logged_model(&id).await?;
    let (store, base) = resolve(&s, &model.info.artifact_uri)?;
    list_under(&store, &base, &rel, &model.info.artifact_uri).await
}

/// `GET /mlflow/logged-models/{id}/artifacts/files?artifact_file_path=`.
pub(crate) async fn get_logged_model_file(
    State(s): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let raw = p
        .opt_str("artifact_file_path")?
        .filter(|r| !r.is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "Request must include the \"artifact_file_path\" query parameter.",
            )
        })?;
    let rel = safe_path(&raw)?;
    let model = s.store.get_logged_model(&id).await?;
    let (store, base) = resolve(&s, &model.info.artifact_uri)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_html_is_made_inline_and_sandboxed() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("attachment"),
        );
        sandboxed_html("a/b/notes.txt", &mut h);
        assert_eq!(h[header::CONTENT_DISPOSITION], "attachment");
        assert!(h.get(header::CONTENT_SECURITY_POLICY).is_none());
        sandboxed_html("a/report.HTML", &mut h);
        assert_eq!(h[header::CONTENT_DISPOSITION], "inline");
        let csp = h[header::CONTENT_SECURITY_POLICY].to_str().unwrap_or("");
        assert!(csp.starts_with("sandbox allow-scripts;") && csp.contains("default-src 'none'"));
    }
}
