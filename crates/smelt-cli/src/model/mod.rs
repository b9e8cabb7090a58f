//! `smelt train`, `smelt predict` and `smelt import`.

pub mod import;
pub mod predict;
pub mod train;
