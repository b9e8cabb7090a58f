//! The one error type of the tracking store, with MLflow's error codes.

/// Results of the tracking store.
pub type Result<T, E = TrackError> = std::result::Result<T, E>;

/// MLflow's error codes (`mlflow/protos/databricks.proto`), the part of the contract clients branch on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// A request field is missing, malformed or out of range (HTTP 400).
    InvalidParameterValue,
    /// The request is malformed as a whole (HTTP 400).
    BadRequest,
    /// The entity to create exists already (HTTP 400).
    ResourceAlreadyExists,
    /// The entity named does not exist (HTTP 404).
    ResourceDoesNotExist,
    /// No such route (HTTP 404).
    EndpointNotFound,
    /// Authenticated, but not allowed (HTTP 403).
    PermissionDenied,
    /// No or bad credentials (HTTP 401).
    Unauthenticated,
    /// Too large or too many (HTTP 429).
    ResourceExhausted,
    /// The store is in a state that does not allow the operation (HTTP 500).
    InvalidState,
    /// Anything else on the server's side (HTTP 500).
    InternalError,
    /// Recognised but not implemented (HTTP 501).
    NotImplemented,
}

impl ErrorCode {
    /// The name MLflow gives the code in `error_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidParameterValue => "INVALID_PARAMETER_VALUE",
            Self::BadRequest => "BAD_REQUEST",
            Self::ResourceAlreadyExists => "RESOURCE_ALREADY_EXISTS",
            Self::ResourceDoesNotExist => "RESOURCE_DOES_NOT_EXIST",
            Self::EndpointNotFound => "ENDPOINT_NOT_FOUND",
            Self::PermissionDenied => "PERMISSION_DENIED",
            Self::Unauthenticated => "UNAUTHENTICATED",
            Self::ResourceExhausted => "RESOURCE_EXHAUSTED",
            Self::InvalidState => "INVALID_STATE",
            Self::InternalError => "INTERNAL_ERROR",
            Self::NotImplemented => "NOT_IMPLEMENTED",
        }
    }

    /// The HTTP status MLflow maps the code to (`mlflow/exceptions.py`).
    pub fn http_status(self) -> u16 {
        match self {
            Self::InvalidParameterValue | Self::BadRequest | Self::ResourceAlreadyExists => 400,
            Self::ResourceDoesNotExist | Self::EndpointNotFound => 404,
            Self::PermissionDenied => 403,
            Self::Unauthenticated => 401,
            Self::ResourceExhausted => 429,
            Self::InvalidState | Self::InternalError => 500,
            Self::NotImplemented => 501,
        }
    }
}

/// Everything that can go wrong in the tracking store.
#[derive(Debug, thiserror::Error)]
pub enum TrackError {
    /// A request field is missing, malformed or out of range.
    #[error("{0}")]
    InvalidParameter(String),
    /// The entity exists already.
    #[error("{0}")]
    AlreadyExists(String),
    /// The entity does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The entity is in a state that forbids the operation (a deleted run logged to, say).
    #[error("{0}")]
    InvalidState(String),
    /// A search filter or order_by clause that does not parse.
    #[error("invalid filter `{input}` at character {position}: {message}")]
    Filter {
        /// The filter string as given.
        input: String,
        /// Zero-based character offset of the problem.
        position: usize,
        /// What was expected.
        message: String,
    },
    /// An artifact path that escapes its root or is otherwise unsafe.
    #[error("invalid artifact path `{path}`: {reason}")]
    UnsafePath {
        /// The path as given.
        path: String,
        /// Why it was refused.
        reason: &'static str,
    },
    /// A store URI that is not understood.
    #[error("unsupported store URI `{uri}`: {reason}")]
    BadUri {
        /// The URI as given.
        uri: String,
        /// Why it was refused.
        reason: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The artifact store failed.
    #[error("artifact store error: {0}")]
    ObjectStore(#[from] object_store::Error),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The path operated on.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A remote tracking server could not be reached or refused a call.
    #[error("tracking server {uri}: {message}")]
    Remote {
        /// The server's base URI.
        uri: String,
        /// What failed.
        message: String,
    },
    /// Stored JSON that does not parse (a damaged database).
    #[error("stored JSON in {what} does not parse: {source}")]
    Json {
        /// Which stored field.
        what: &'static str,
        /// The parse error.
        source: serde_json::Error,
    },
}

impl TrackError {
    /// The MLflow error code this error maps to.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidParameter(_)
            | Self::Filter { .. }
            | Self::UnsafePath { .. }
            | Self::BadUri { .. } => ErrorCode::InvalidParameterValue,
            Self::AlreadyExists(_) => ErrorCode::ResourceAlreadyExists,
            Self::NotFound(_) => ErrorCode::ResourceDoesNotExist,
            Self::InvalidState(_) => ErrorCode::InvalidState,
            Self::ObjectStore(object_store::Error::NotFound { .. }) => {
                ErrorCode::ResourceDoesNotExist
            }
            Self::Database(_)
            | Self::ObjectStore(_)
            | Self::Io { .. }
            | Self::Json { .. }
            | Self::Remote { .. } => ErrorCode::InternalError,
        }
    }

    /// Whether the message may be shown to a remote client as is (internals are logged, not leaked).
    pub fn is_client_error(&self) -> bool {
        self.code().http_status() < 500
    }

    /// What a remote client is told: the message of a client error as is; for anything else the
    /// full error (SQL, file paths) goes to the log and the client gets a generic line.
    pub fn client_message(&self) -> String {
        if self.is_client_error() {
            self.to_string()
        } else {
            tracing::error!(error = %self, "internal error answering a request");
            "internal error; see the server log".to_string()
        }
    }

    pub(crate) fn invalid(msg: impl Into<String>) -> Self {
        Self::InvalidParameter(msg.into())
    }

    pub(crate) fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }
}
