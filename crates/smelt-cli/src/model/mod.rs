//! `smelt train`, `smelt predict`, `smelt import` and `smelt export`.

pub mod export;
pub mod import;
pub mod predict;
pub mod train;
