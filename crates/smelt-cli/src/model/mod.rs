//! `smelt train`, `smelt predict` and `smelt import`.

pub mod import;
pub mod predict;
pub mod train;

/// Every model kind this build can load.
pub fn registry() -> smelt_core::Registry {
    let mut r = smelt_learn::registry();
    smelt_trees::register(&mut r);
    r
}
