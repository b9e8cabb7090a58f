//! `ApiError`: a status plus MLflow's `{"error_code", "message"}`; internals are logged, not leaked.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use smelt_track::{ErrorCode, TrackError};

/// An error answered to a client.
#[derive(Debug)]
pub struct ApiError {
    /// MLflow's code.
    pub code: ErrorCode,
    /// What the client reads.
    pub message: String,
}

impl ApiError {
    /// A 400 INVALID_PARAMETER_VALUE.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::InvalidParameterValue,
            message: message.into(),
        }
    }

    /// A 400 BAD_REQUEST.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::BadRequest,
            message: message.into(),
        }
    }

    /// A 404 RESOURCE_DOES_NOT_EXIST.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::ResourceDoesNotExist,
            message: message.into(),
        }
    }

    /// A field of the wrong type, in MLflow's words (`_validate_param_against_schema`):
    /// `Invalid value 123 for parameter 'name' supplied:  Hint: Value was of type 'int'. ...`,
    /// the value as compact JSON and the type as Python names it.
    pub fn bad_value(field: &str, value: &serde_json::Value) -> Self {
        use serde_json::Value;
        let python_type = match value {
            Value::Null => "NoneType",
            Value::Bool(_) => "bool",
            Value::Number(n) if n.is_f64() => "float",
            Value::Number(_) => "int",
            Value::String(_) => "str",
            Value::Array(_) => "list",
            Value::Object(_) => "dict",
        };
        Self::invalid(format!(
            "Invalid value {value} for parameter '{field}' supplied:  Hint: Value was of type \
             '{python_type}'. See the API docs for more information about request parameters."
        ))
    }

    /// A missing required field, in MLflow's words.
    pub fn missing(field: &str) -> Self {
        Self::invalid(format!(
            "Missing value for required parameter '{field}'. See the API docs for more information about request parameters."
        ))
    }
}

impl From<TrackError> for ApiError {
    fn from(e: TrackError) -> Self {
        Self {
            code: e.code(),
            message: e.client_message(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::json!({ "error_code": self.code.as_str(), "message": self.message });
        (status, axum::Json(body)).into_response()
    }
}
