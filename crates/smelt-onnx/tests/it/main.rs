//! smelt-onnx end to end: every reference fixture against onnxruntime's outputs (`fixtures`),
//! bad files and inputs (`errors`), and `smelt export` scored back (`export`).

mod errors;
mod export;
mod fixtures;
