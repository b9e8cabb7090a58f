//! Authentication and per-experiment permissions.
//!
//! Off by default, and required by `smelt server` whenever it listens beyond loopback. Users
//! come from a TOML file; each has a password (HTTP Basic, what MLflow's client sends for
//! `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD`) and/or a token (`Authorization:
//! Bearer`, MLflow's `MLFLOW_TRACKING_TOKEN`), a default permission, and per-experiment
//! overrides:
//!
//! ```toml
//! [[user]]
//! name = "ci"
//! token = "…"              # or password = "…"
//! permission = "write"     # none | read | write | admin: every experiment and the registry
//! [user.experiments]       # overrides by experiment id
//! "3" = "read"
//! ```
//!
//! `read` allows GETs and searches, `write` logging and creating, `admin` deleting and restoring
//! experiments and deleting registered models. Secrets are compared in constant time and never
//! logged (the user list's `Debug` redacts them).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;
use smelt_track::ErrorCode;
use std::collections::BTreeMap;

use crate::AppState;
use crate::error::ApiError;
use crate::params::{MAX_JSON_BODY, Params};

/// What a user may do in an experiment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// Nothing.
    #[default]
    None,
    /// Read runs, metrics, artifacts, models.
    Read,
    /// Also log, create and update.
    Write,
    /// Also delete and restore.
    Admin,
}

/// One user of the server.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    /// Login name (Basic auth).
    pub name: String,
    /// Basic-auth password.
    #[serde(default)]
    pub password: Option<String>,
    /// Bearer token.
    #[serde(default)]
    pub token: Option<String>,
    /// Permission everywhere unless overridden.
    #[serde(default)]
    pub permission: Permission,
    /// Per-experiment overrides, by experiment id.
    #[serde(default)]
    pub experiments: BTreeMap<String, Permission>,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("permission", &self.permission)
            .field("experiments", &self.experiments)
            .finish()
    }
}

impl User {
    fn permission_in(&self, experiment: Option<&str>) -> Permission {
        experiment
            .and_then(|e| self.experiments.get(e).copied())
            .unwrap_or(self.permission)
    }
}

/// The users of a server.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Users.
    #[serde(default, rename = "user")]
    pub users: Vec<User>,
}

/// Why an auth file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// The TOML does not parse.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A user without a secret, a duplicate name, an empty secret.
    #[error("{path}: user `{user}`: {message}")]
    User {
        /// The file.
        path: String,
        /// The user.
        user: String,
        /// What is wrong.
        message: &'static str,
    },
}

impl AuthConfig {
    /// Parses and checks an auth file's text.
    pub fn parse(path: &str, text: &str) -> Result<Self, AuthConfigError> {
        let cfg: Self = toml::from_str(text).map_err(|e| AuthConfigError::Parse {
            path: path.into(),
            message: e.to_string(),
        })?;
        let mut seen = std::collections::HashSet::new();
        for u in &cfg.users {
            let bad = |message| AuthConfigError::User {
                path: path.into(),
                user: u.name.clone(),
                message,
            };
            if !seen.insert(u.name.as_str()) {
                return Err(bad("listed twice"));
            }
            if u.password.is_none() && u.token.is_none() {
                return Err(bad("needs a password or a token"));
            }
            if u.password.as_deref().is_some_and(|p| p.len() < 8)
                || u.token.as_deref().is_some_and(|t| t.len() < 16)
            {
                return Err(bad(
                    "passwords need at least 8 characters and tokens at least 16",
                ));
            }
        }
        if cfg.users.is_empty() {
            return Err(AuthConfigError::Parse {
                path: path.into(),
                message: "no [[user]] entries".into(),
            });
        }
        Ok(cfg)
    }

    /// The user the request's `Authorization` header names, if the secret matches.
    fn authenticate(&self, header: Option<&HeaderValue>) -> Option<&User> {
        let value = header?.to_str().ok()?;
        if let Some(token) = value.strip_prefix("Bearer ").map(str::trim) {
            return self.users.iter().find(|u| {
                u.token
                    .as_deref()
                    .is_some_and(|t| ct_eq(t.as_bytes(), token.as_bytes()))
            });
        }
        let encoded = value.strip_prefix("Basic ")?.trim();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (name, password) = text.split_once(':')?;
        self.users.iter().find(|u| {
            u.name == name
                && u.password
                    .as_deref()
                    .is_some_and(|p| ct_eq(p.as_bytes(), password.as_bytes()))
        })
    }
}

/// Equality that takes the same time wherever the first difference is.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The permission a request needs, from its method and route.
fn required(method: &Method, path: &str) -> Permission {
    let admin = [
        "/experiments/delete",
        "/experiments/restore",
        "/registered-models/delete",
    ];
    if admin.iter().any(|a| path.ends_with(a)) {
        return Permission::Admin;
    }
    let reads = ["/search", "/get-history-bulk-interval"];
    if *method == Method::GET
        || method == Method::HEAD
        || (*method == Method::POST && reads.iter().any(|r| path.ends_with(r)))
    {
        Permission::Read
    } else {
        Permission::Write
    }
}

/// The experiments a request touches, found from its fields (experiment ids, run ids, artifact
/// paths, logged-model ids). Empty: the registry or a server-wide route.
async fn experiments_of(state: &AppState, path: &str, p: &Params) -> Result<Vec<String>, ApiError> {
    let mut out = p.str_list("experiment_ids")?;
    if let Some(id) = p.opt_str("experiment_id")? {
        out.push(id);
    }
    for key in ["run_id", "run_uuid"] {
        if let Some(run) = p.opt_str(key)?.filter(|r| !r.is_empty()) {
            // A missing run is reported by the handler itself.
            if let Ok(info) = state.store.get_run_info(&run).await {
                out.push(info.experiment_id);
            }
        }
    }
    if let Some(rest) = path.split("/mlflow-artifacts/artifacts/").nth(1) {
        out.push(rest.split('/').next().unwrap_or("").to_string());
    } else if path.contains("/mlflow-artifacts/artifacts") {
        // A listing: `?path=<exp>/...`.
        out.push(
            p.opt_str("path")?
                .unwrap_or_default()
                .split('/')
                .next()
                .unwrap_or("")
                .to_string(),
        );
    }
    if let Some(rest) = path.split("/logged-models/").nth(1) {
        let id = rest.split('/').next().unwrap_or("");
        if id.starts_with("m-")
            && let Ok(m) = state.store.get_logged_model(id).await
        {
            out.push(m.info.experiment_id);
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn unauthenticated() -> Response {
    let mut resp = ApiError { code: ErrorCode::Unauthenticated, message: "credentials required: HTTP Basic (MLFLOW_TRACKING_USERNAME / MLFLOW_TRACKING_PASSWORD) or a Bearer token (MLFLOW_TRACKING_TOKEN)".into() }.into_response();
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"smelt\""),
    );
    resp
}

/// The middleware: authenticate, find what the request touches, check the permission.
pub(crate) async fn check(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let Some(auth) = state.auth.clone() else {
        return next.run(req).await;
    };
    let path = req.uri().path().to_string();
    if path == "/health" || path == "/version" {
        return next.run(req).await;
    }
    let Some(user) = auth
        .authenticate(req.headers().get(header::AUTHORIZATION))
        .cloned()
    else {
        return unauthenticated();
    };
    let need = required(req.method(), &path);
    // Read the fields (the JSON body of a non-GET API call is buffered and handed on).
    let (parts, body) = req.into_parts();
    let query = parts.uri.query().unwrap_or("").to_string();
    let is_upload = path.contains("/mlflow-artifacts/artifacts/") && parts.method != Method::GET;
    let (params, body) = if parts.method == Method::GET || is_upload {
        (Params::from_query(&query), body)
    } else {
        let bytes = match axum::body::to_bytes(body, MAX_JSON_BODY).await {
            Ok(b) => b,
            Err(_) => {
                return ApiError {
                    code: ErrorCode::ResourceExhausted,
                    message: "request body over the limit".into(),
                }
                .into_response();
            }
        };
        let mut p = Params::from_body(&bytes).unwrap_or_default();
        for (k, v) in Params::from_query(&query).0 {
            p.0.entry(k).or_insert(v);
        }
        (p, Body::from(bytes))
    };
    let experiments = match experiments_of(&state, &path, &params).await {
        Ok(e) => e,
        Err(e) => return e.into_response(),
    };
    let allowed = if experiments.is_empty() {
        user.permission >= need
    } else {
        experiments
            .iter()
            .all(|e| user.permission_in(Some(e)) >= need)
    };
    if !allowed {
        tracing::info!(user = %user.name, path = %path, "permission denied");
        return ApiError {
            code: ErrorCode::PermissionDenied,
            message: format!(
                "user `{}` lacks {:?} permission for this request",
                user.name, need
            )
            .to_lowercase(),
        }
        .into_response();
    }
    next.run(Request::from_parts(parts, body)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: &str = r#"
[[user]]
name = "alice"
password = "correct horse"
permission = "admin"

[[user]]
name = "ci"
token = "tok-0123456789abcdef"
permission = "write"
[user.experiments]
"2" = "read"
"#;

    #[test]
    fn parses_and_authenticates() {
        let cfg = AuthConfig::parse("auth.toml", CFG).expect("parses");
        let basic = |u: &str, p: &str| {
            HeaderValue::from_str(&format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            ))
            .expect("header")
        };
        assert_eq!(
            cfg.authenticate(Some(&basic("alice", "correct horse")))
                .map(|u| u.name.as_str()),
            Some("alice")
        );
        assert!(
            cfg.authenticate(Some(&basic("alice", "wrong horse!")))
                .is_none()
        );
        assert!(
            cfg.authenticate(Some(&basic("ci", ""))).is_none(),
            "ci has no password"
        );
        let bearer = HeaderValue::from_static("Bearer tok-0123456789abcdef");
        let ci = cfg.authenticate(Some(&bearer)).expect("token");
        assert_eq!(ci.permission_in(Some("2")), Permission::Read);
        assert_eq!(ci.permission_in(Some("3")), Permission::Write);
        assert!(cfg.authenticate(None).is_none());
        assert!(
            !format!("{:?}", cfg).contains("correct horse"),
            "secrets are redacted"
        );
    }

    #[test]
    fn rejects_weak_or_broken_files() {
        assert!(
            AuthConfig::parse("a", "[[user]]\nname = \"x\"\n").is_err(),
            "no secret"
        );
        assert!(AuthConfig::parse("a", "[[user]]\nname = \"x\"\npassword = \"short\"\n").is_err());
        assert!(AuthConfig::parse("a", "").is_err(), "no users");
        assert!(
            AuthConfig::parse(
                "a",
                "[[user]]\nname = \"x\"\npassword = \"longenough\"\nrole = \"x\"\n"
            )
            .is_err()
        );
        let dup = "[[user]]\nname = \"x\"\npassword = \"longenough\"\n[[user]]\nname = \"x\"\npassword = \"longenough\"\n";
        assert!(AuthConfig::parse("a", dup).is_err());
    }

    #[test]
    fn permissions_by_route() {
        assert_eq!(
            required(&Method::GET, "/api/2.0/mlflow/runs/get"),
            Permission::Read
        );
        assert_eq!(
            required(&Method::POST, "/api/2.0/mlflow/runs/search"),
            Permission::Read
        );
        assert_eq!(
            required(&Method::POST, "/api/2.0/mlflow/runs/log-batch"),
            Permission::Write
        );
        assert_eq!(
            required(&Method::PUT, "/api/2.0/mlflow-artifacts/artifacts/1/x"),
            Permission::Write
        );
        assert_eq!(
            required(&Method::POST, "/api/2.0/mlflow/experiments/delete"),
            Permission::Admin
        );
        assert_eq!(
            required(&Method::DELETE, "/api/2.0/mlflow/registered-models/delete"),
            Permission::Admin
        );
    }
}
