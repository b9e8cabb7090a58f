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

/// A fixture's first `meta.n_train` rows (training) and the rest (held out).
#[allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]
pub fn split(fx: &smelt_testkit::Fixture) -> (smelt_core::Dataset<f64>, smelt_core::Dataset<f64>) {
    let data = fx.dataset();
    let n_train = fx.meta["n_train"].as_u64().unwrap() as usize;
    let train: Vec<usize> = (0..n_train).collect();
    let test: Vec<usize> = (n_train..data.n_rows()).collect();
    (
        data.select_rows(&train).unwrap(),
        data.select_rows(&test).unwrap(),
    )
}
