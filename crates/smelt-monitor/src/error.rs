//! Errors of monitoring.

/// What went wrong while monitoring.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    /// A table or log could not be read.
    #[error(transparent)]
    Data(#[from] smelt_data::DataError),
    /// Reference and current data do not fit together (missing, extra or retyped columns).
    #[error("{0}")]
    Schema(String),
    /// Not enough data for a computation (an empty window, a column with no values).
    #[error("{0}")]
    TooFew(String),
    /// A configuration file (drift overrides, test rules) is invalid.
    #[error("{path}: {message}")]
    Config {
        /// The file.
        path: String,
        /// What is wrong, with the line where known.
        message: String,
    },
    /// An invalid argument (an unknown method name, a threshold out of range).
    #[error("{0}")]
    Invalid(String),
    /// A model could not be used (fitting a helper model, scoring).
    #[error(transparent)]
    Model(#[from] smelt_core::CoreError),
    /// No prediction logs to watch (the folder or the model's partition is missing), with the
    /// models that do have logs.
    #[error("{0}")]
    Logs(String),
}

impl MonitorError {
    /// What to do about it, when the error it wraps knows (a file's problem, a model's).
    pub fn hint(&self) -> Option<String> {
        match self {
            MonitorError::Data(e) => e.hint(),
            MonitorError::Model(e) => e.hint(),
            _ => None,
        }
    }
}

/// Result with [`MonitorError`].
pub type Result<T, E = MonitorError> = std::result::Result<T, E>;
