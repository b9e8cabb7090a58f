//! `smelt train` and `smelt predict`.

pub mod predict;
pub mod train;

/// Every model kind this build can load.
pub fn registry() -> smelt_core::Registry {
    smelt_learn::registry()
}
