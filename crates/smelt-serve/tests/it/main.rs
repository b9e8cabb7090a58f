//! `smelt serve` end to end over loopback: every protocol against the workflow's own
//! predictions, bad requests, auth, back-pressure, rollouts under load, the registry.

mod common;
mod embedding;
mod errors;
mod load;
mod onnx;
mod protocols;
mod registry;
mod text;
