//! Errors of starting a server (config, model loading) and the answers to bad requests.

use std::path::PathBuf;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Why a server could not start or a model could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// A model source that cannot be used.
    #[error("model source {source_text:?}: {message}")]
    Source {
        /// The source as written.
        source_text: String,
        /// Why.
        message: String,
    },
    /// A model that failed to load.
    #[error("loading {what}: {message}")]
    Load {
        /// What was being loaded.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// A bad configuration.
    #[error("{0}")]
    Config(String),
    /// A file or socket error.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Result with [`ServeError`].
pub type Result<T> = std::result::Result<T, ServeError>;

/// Which protocol's error shape a route answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Open Inference Protocol v2: `{"error": "..."}`.
    Oip,
    /// MLflow scoring: `{"error_code": "BAD_REQUEST", "message": "..."}`.
    Mlflow,
    /// The named-feature route and the rest: `{"error": "..."}`.
    Plain,
    /// OpenAI's embeddings API (`/v1/embeddings`): `{"error": {"message": "...", "type": …}}`.
    OpenAi,
}

impl Protocol {
    /// The label used in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Protocol::Oip => "oip",
            Protocol::Mlflow => "mlflow",
            Protocol::Plain => "predict",
            Protocol::OpenAi => "openai",
        }
    }
}

/// An error answer: a status and a message meant for the client (never internal details).
#[derive(Debug)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// What the client is told.
    pub message: String,
    /// The body's shape.
    pub protocol: Protocol,
    /// Seconds for `Retry-After` (back-pressure answers).
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// A 400 with `message`.
    pub fn bad_request(protocol: Protocol, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::BAD_REQUEST, protocol, message)
    }

    /// A 404 with `message`.
    pub fn not_found(protocol: Protocol, message: impl Into<String>) -> ApiError {
        Self::new(StatusCode::NOT_FOUND, protocol, message)
    }

    /// Any status.
    pub fn new(status: StatusCode, protocol: Protocol, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            protocol,
            retry_after: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = match self.protocol {
            Protocol::Mlflow => serde_json::json!({
                "error_code": match self.status.as_u16() {
                    400 | 413 | 415 => "BAD_REQUEST",
                    404 => "RESOURCE_DOES_NOT_EXIST",
                    429 => "REQUEST_LIMIT_EXCEEDED",
                    401 => "UNAUTHENTICATED",
                    403 => "PERMISSION_DENIED",
                    503 => "TEMPORARILY_UNAVAILABLE",
                    _ => "INTERNAL_ERROR",
                },
                "message": self.message,
            }),
            Protocol::Oip | Protocol::Plain => serde_json::json!({ "error": self.message }),
            Protocol::OpenAi => serde_json::json!({ "error": {
                "message": self.message,
                "type": match self.status.as_u16() {
                    401 => "authentication_error",
                    404 => "not_found_error",
                    429 => "rate_limit_error",
                    400..=499 => "invalid_request_error",
                    _ => "server_error",
                },
                "param": null,
                "code": null,
            }}),
        };
        let mut resp = (self.status, axum::Json(body)).into_response();
        if let Some(s) = self.retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        resp
    }
}
