//! `smelt train`, `smelt predict`, `smelt import` and `smelt export`.

pub mod export;
pub mod import;
pub mod open;
pub mod predict;
pub mod train;
