//! The tracker's client for a remote tracking server: `smelt server`, or MLflow's own, over the
//! MLflow REST API 2.0 (`SMELT_TRACKING_URI=http://host:5000`).
//!
//! It speaks what MLflow's Python client speaks for the same calls, so a run logged by
//! `smelt train` against a team's server looks like one logged from Python: experiments by
//! name (created on first use), `runs/create`, `runs/log-batch`, `runs/log-inputs`,
//! `runs/update`, and artifacts uploaded through the server's proxy
//! (`PUT /api/2.0/mlflow-artifacts/artifacts/<exp>/<run>/artifacts/<path>`) when the run's
//! artifact URI is `mlflow-artifacts:`; any other artifact URI (`s3://`, a folder) is written
//! directly, as MLflow's client does.
//!
//! Credentials use MLflow's variables: `MLFLOW_TRACKING_TOKEN` (a bearer token) or
//! `MLFLOW_TRACKING_USERNAME` + `MLFLOW_TRACKING_PASSWORD` (basic auth). They are sent only in
//! headers and never appear in errors or logs.

use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use crate::entities::{DatasetInput, RunInfo, RunStatus};
use crate::error::{Result, TrackError};
use crate::store::{BatchLog, RunCreate};

/// The longest dataset digest MLflow's server accepts (`MAX_DATASET_DIGEST_SIZE`).
const MLFLOW_MAX_DIGEST: usize = 36;

/// A connection to a tracking server.
#[derive(Clone)]
pub struct Remote {
    http: reqwest::Client,
    base: String,
    auth: Option<String>,
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remote")
            .field("base", &self.base)
            .field("auth", &self.auth.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl Remote {
    /// A client for the server at `uri` (`http://` or `https://`, with an optional path
    /// prefix), with credentials from MLflow's environment variables.
    pub fn new(uri: &str) -> Result<Self> {
        let token = std::env::var("MLFLOW_TRACKING_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
        let user = std::env::var("MLFLOW_TRACKING_USERNAME")
            .ok()
            .filter(|u| !u.is_empty());
        let password = std::env::var("MLFLOW_TRACKING_PASSWORD").unwrap_or_default();
        Self::with_auth(
            uri,
            token.as_deref(),
            user.as_deref().map(|u| (u, &*password)),
        )
    }

    /// A client with explicit credentials: a bearer token, or a user and password.
    pub fn with_auth(uri: &str, token: Option<&str>, basic: Option<(&str, &str)>) -> Result<Self> {
        let bad = |reason: &str| TrackError::BadUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        let rest = uri
            .strip_prefix("http://")
            .or_else(|| uri.strip_prefix("https://"))
            .ok_or_else(|| bad("a tracking server URI starts with http:// or https://"))?;
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("the URI names no host"));
        }
        if rest.split('/').next().is_some_and(|h| h.contains('@')) {
            return Err(bad(
                "put credentials in MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD, not in the URI",
            ));
        }
        let auth = match (token, basic) {
            (Some(t), _) => Some(format!("Bearer {t}")),
            (None, Some((u, p))) => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )),
            (None, None) => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
            .build()
            .map_err(|e| bad(&format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base: uri.trim_end_matches('/').to_string(),
            auth,
        })
    }

    /// The server's base URI.
    pub fn uri(&self) -> &str {
        &self.base
    }

    fn request(&self, method: reqwest::Method, url: String) -> reqwest::RequestBuilder {
        let r = self.http.request(method, url);
        match &self.auth {
            Some(a) => r.header(reqwest::header::AUTHORIZATION, a),
            None => r,
        }
    }

    /// Sends a request and reads its JSON answer; MLflow-shaped errors become [`TrackError`]s
    /// carrying the server's code and message.
    async fn send(&self, req: reqwest::RequestBuilder, what: &str) -> Result<Value> {
        let unreachable = |e: reqwest::Error| TrackError::Remote {
            uri: self.base.clone(),
            message: format!("{what}: {}", without_url(&e)),
        };
        let resp = req.send().await.map_err(unreachable)?;
        let status = resp.status();
        let body = resp.bytes().await.map_err(unreachable)?;
        if status.is_success() {
            if body.is_empty() {
                return Ok(json!({}));
            }
            return serde_json::from_slice(&body).map_err(|e| TrackError::Remote {
                uri: self.base.clone(),
                message: format!("{what}: the answer is not JSON ({e})"),
            });
        }
        let parsed: Option<Value> = serde_json::from_slice(&body).ok();
        let code = parsed
            .as_ref()
            .and_then(|v| v.get("error_code"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let message = parsed
            .as_ref()
            .and_then(|v| v.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&body[..body.len().min(300)])
                    .trim()
                    .to_string()
            });
        Err(match (status.as_u16(), code) {
            (_, "RESOURCE_DOES_NOT_EXIST") | (404, "") => TrackError::NotFound(message),
            (_, "RESOURCE_ALREADY_EXISTS") => TrackError::AlreadyExists(message),
            (_, "INVALID_PARAMETER_VALUE") => TrackError::InvalidParameter(message),
            (401, _) | (403, _) => TrackError::Remote {
                uri: self.base.clone(),
                message: format!(
                    "{what}: {} {message} (set MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD)",
                    status.as_u16()
                ),
            },
            _ => TrackError::Remote {
                uri: self.base.clone(),
                message: format!("{what}: HTTP {} {code} {message}", status.as_u16()),
            },
        })
    }

    async fn post(&self, route: &str, body: Value) -> Result<Value> {
        let req = self
            .request(
                reqwest::Method::POST,
                format!("{}/api/2.0/mlflow/{route}", self.base),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string());
        self.send(req, route).await
    }

    async fn get(&self, route: &str, query: &[(&str, &str)]) -> Result<Value> {
        let req = self
            .request(
                reqwest::Method::GET,
                format!("{}/api/2.0/mlflow/{route}", self.base),
            )
            .query(query);
        self.send(req, route).await
    }

    /// `GET /api/2.0/mlflow/ROUTE` with a query, as JSON (`model-versions/get`, `runs/get`, …).
    pub async fn get_json(&self, route: &str, query: &[(&str, &str)]) -> Result<Value> {
        self.get(route, query).await
    }

    /// The entries one level under a proxied artifact path (an `mlflow-artifacts:/` URI without
    /// its scheme): `(name, is_dir)`.
    pub async fn list_artifacts(&self, path: &str) -> Result<Vec<(String, bool)>> {
        let req = self
            .request(
                reqwest::Method::GET,
                format!("{}/api/2.0/mlflow-artifacts/artifacts", self.base),
            )
            .query(&[("path", path)]);
        let v = self.send(req, "listing artifacts").await?;
        Ok(v["files"]
            .as_array()
            .map(|files| {
                files
                    .iter()
                    .filter_map(|f| {
                        let name = f["path"].as_str()?;
                        let name = name.rsplit('/').next().unwrap_or(name).to_string();
                        Some((name, f["is_dir"].as_bool().unwrap_or(false)))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Downloads one proxied artifact.
    pub async fn download_artifact(&self, path: &str) -> Result<Bytes> {
        let what = format!("downloading {path}");
        let unreachable = |e: reqwest::Error| TrackError::Remote {
            uri: self.base.clone(),
            message: format!("{what}: {}", without_url(&e)),
        };
        let resp = self
            .request(
                reqwest::Method::GET,
                format!("{}/api/2.0/mlflow-artifacts/artifacts/{path}", self.base),
            )
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status();
        if !status.is_success() {
            return Err(TrackError::Remote {
                uri: self.base.clone(),
                message: format!("{what}: HTTP {}", status.as_u16()),
            });
        }
        resp.bytes().await.map_err(unreachable)
    }

    /// The id of the active experiment `name`, created when missing.
    pub async fn experiment_id(&self, name: &str) -> Result<String> {
        match self
            .get("experiments/get-by-name", &[("experiment_name", name)])
            .await
        {
            Ok(v) => {
                let e = &v["experiment"];
                let id = str_field(e, "experiment_id")?;
                if e["lifecycle_stage"].as_str() == Some("deleted") {
                    return Err(TrackError::InvalidState(format!(
                        "experiment '{name}' (id {id}) is deleted on {}; restore it or pick another name",
                        self.base
                    )));
                }
                Ok(id)
            }
            Err(TrackError::NotFound(_)) => {
                match self
                    .post("experiments/create", json!({ "name": name }))
                    .await
                {
                    Ok(v) => str_field(&v, "experiment_id"),
                    // Created meanwhile by another process.
                    Err(TrackError::AlreadyExists(_)) => {
                        let v = self
                            .get("experiments/get-by-name", &[("experiment_name", name)])
                            .await?;
                        str_field(&v["experiment"], "experiment_id")
                    }
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The name of experiment `id`.
    pub async fn experiment_name(&self, id: &str) -> Result<String> {
        let v = self
            .get("experiments/get", &[("experiment_id", id)])
            .await?;
        str_field(&v["experiment"], "name")
    }

    /// `runs/create`.
    pub async fn create_run(&self, req: &RunCreate) -> Result<RunInfo> {
        let mut body = json!({
            "experiment_id": req.experiment_id,
            "user_id": req.user_id,
            "start_time": req.start_time.unwrap_or_else(crate::store::now_ms),
            "tags": req.tags,
        });
        if !req.run_name.is_empty() {
            body["run_name"] = json!(req.run_name);
        }
        let v = self.post("runs/create", body).await?;
        run_info(&v["run"]["info"])
    }

    /// `runs/log-batch`.
    pub async fn log_batch(&self, run_id: &str, batch: &BatchLog) -> Result<()> {
        self.post(
            "runs/log-batch",
            json!({
                "run_id": run_id,
                "metrics": batch.metrics,
                "params": batch.params,
                "tags": batch.tags,
            }),
        )
        .await
        .map(drop)
    }

    /// `runs/log-inputs` (datasets). MLflow's server limits a dataset digest to 36 characters
    /// and a Smelt fingerprint has 64: when the server refuses the digest, the inputs go again
    /// with digests cut to 36 (the whole fingerprint stays in the dataset's profile).
    pub async fn log_inputs(&self, run_id: &str, datasets: &[DatasetInput]) -> Result<()> {
        let send = |datasets: &[DatasetInput]| {
            self.post(
                "runs/log-inputs",
                json!({ "run_id": run_id, "datasets": datasets }),
            )
        };
        match send(datasets).await {
            Err(TrackError::InvalidParameter(m))
                if m.contains("digest") && datasets.iter().any(|d| d.dataset.digest.len() > 36) =>
            {
                let short: Vec<DatasetInput> = datasets
                    .iter()
                    .cloned()
                    .map(|mut d| {
                        d.dataset.digest.truncate(MLFLOW_MAX_DIGEST);
                        d
                    })
                    .collect();
                send(&short).await.map(drop)
            }
            other => other.map(drop),
        }
    }

    /// `runs/update`: the final status and end time.
    pub async fn finish_run(&self, run_id: &str, status: RunStatus, end_time: i64) -> Result<()> {
        self.post(
            "runs/update",
            json!({ "run_id": run_id, "run_uuid": run_id, "status": status.as_str(), "end_time": end_time }),
        )
        .await
        .map(drop)
    }

    /// Uploads one artifact through the server's proxy from a stream of chunks (chunked
    /// transfer encoding: memory stays bounded by one chunk whatever the file's size); `path`
    /// is what follows `mlflow-artifacts:/` (`<exp>/<run>/artifacts/<file>`), already checked by
    /// [`crate::ArtifactPath`].
    pub async fn put_artifact<S>(&self, path: &str, stream: S) -> Result<()>
    where
        S: futures::Stream<Item = Result<Bytes>> + Send + 'static,
    {
        let body = reqwest::Body::wrap_stream(stream);
        let encoded: Vec<String> = path.split('/').map(percent_encode).collect();
        let req = self
            .request(
                reqwest::Method::PUT,
                format!(
                    "{}/api/2.0/mlflow-artifacts/artifacts/{}",
                    self.base,
                    encoded.join("/")
                ),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        self.send(req, "artifact upload").await.map(drop)
    }
}

/// A reqwest error's text without the URL (which could carry a query with secrets).
fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "");
    }
    let kind = if e.is_connect() {
        "cannot connect"
    } else if e.is_timeout() {
        "timed out"
    } else {
        "request failed"
    };
    format!("{kind} ({})", s.trim())
}

fn str_field(v: &Value, key: &str) -> Result<String> {
    match &v[key] {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(TrackError::InvalidState(format!(
            "the tracking server's answer has no '{key}'"
        ))),
    }
}

fn run_info(v: &Value) -> Result<RunInfo> {
    let status = v["status"].as_str().unwrap_or("RUNNING");
    Ok(RunInfo {
        run_id: str_field(v, "run_id")?,
        run_uuid: str_field(v, "run_id")?,
        run_name: v["run_name"].as_str().unwrap_or_default().to_string(),
        experiment_id: str_field(v, "experiment_id")?,
        user_id: v["user_id"].as_str().unwrap_or_default().to_string(),
        status: RunStatus::parse(status).unwrap_or(RunStatus::Running),
        start_time: v["start_time"]
            .as_i64()
            .or_else(|| v["start_time"].as_str().and_then(|s| s.parse().ok()))
            .unwrap_or(0),
        end_time: None,
        artifact_uri: str_field(v, "artifact_uri")?,
        lifecycle_stage: v["lifecycle_stage"]
            .as_str()
            .unwrap_or("active")
            .to_string(),
    })
}

/// Percent-encodes one path segment (RFC 3986 unreserved characters pass).
fn percent_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_checked_and_secrets_redacted() {
        assert!(Remote::with_auth("ftp://x", None, None).is_err());
        assert!(Remote::with_auth("http://", None, None).is_err());
        let e = Remote::with_auth("http://u:p@host:5000", None, None).expect_err("creds in URI");
        assert!(e.to_string().contains("MLFLOW_TRACKING_TOKEN"), "{e}");
        let r = Remote::with_auth("http://host:5000/", Some("s3cr3t"), None).expect("ok");
        assert_eq!(r.uri(), "http://host:5000");
        assert!(!format!("{r:?}").contains("s3cr3t"));
        let r = Remote::with_auth("https://host/mlflow", None, Some(("ann", "pw"))).expect("ok");
        assert_eq!(r.auth.as_deref(), Some("Basic YW5uOnB3"));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(percent_encode("model v1.json"), "model%20v1.json");
        assert_eq!(percent_encode("a%2F"), "a%252F");
        assert_eq!(percent_encode("résumé"), "r%C3%A9sum%C3%A9");
    }

    #[tokio::test]
    async fn an_unreachable_server_is_a_clear_error() {
        // Port 9 (discard) on loopback: nothing listens there in the test environment.
        let r = Remote::with_auth("http://127.0.0.1:9", None, None).expect("client");
        let e = r.experiment_id("x").await.expect_err("no server");
        let msg = e.to_string();
        assert!(msg.contains("http://127.0.0.1:9"), "{msg}");
        assert!(msg.contains("cannot connect"), "{msg}");
    }
}
