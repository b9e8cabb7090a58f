//! Integration tests of smelt-trees: reference fixtures from scikit-learn, XGBoost and
//! LightGBM (written by `tools/fixtures/*.py`) and the conformance suite on every estimator.

mod forest;
mod gbdt;
mod import;
mod tree;

/// Path of a fixture file under `tests/fixtures/`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
