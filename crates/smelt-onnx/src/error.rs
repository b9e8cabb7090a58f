//! Errors of ONNX import and export.

use std::path::PathBuf;

/// What went wrong reading, scoring or writing an ONNX model.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The bytes are not an ONNX model (protobuf decoding failed).
    #[error(
        "not an ONNX model: {0}\nhint: give a .onnx file written by an ONNX exporter (skl2onnx, onnxmltools, torch.onnx, smelt export)"
    )]
    Decode(String),
    /// The graph uses something neither engine supports.
    #[error("{0}")]
    Unsupported(String),
    /// The graph is malformed (a missing attribute, an input no node produces, …).
    #[error("invalid ONNX graph: {0}")]
    Invalid(String),
    /// Scoring failed (a shape or type the graph does not accept).
    #[error("scoring the ONNX model failed: {0}")]
    Run(String),
    /// The model cannot be exported to ONNX.
    #[error("cannot export to ONNX: {0}")]
    Export(String),
}

/// Result with [`OnnxError`].
pub type Result<T, E = OnnxError> = std::result::Result<T, E>;

impl From<OnnxError> for smelt_core::CoreError {
    fn from(e: OnnxError) -> Self {
        smelt_core::CoreError::Engine {
            engine: "onnx",
            message: e.to_string(),
        }
    }
}
