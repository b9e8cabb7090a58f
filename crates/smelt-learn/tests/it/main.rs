//! Integration tests of smelt-learn: the conformance suite on every estimator, and reference
//! fixtures from scikit-learn (written by `tools/fixtures/*.py`).

mod cluster;
mod conformance;
mod enet;
mod linear;
mod logistic;
mod naive_bayes;
mod neighbors;
mod pca;
mod preprocessing;
mod svm;

/// Path of a fixture file under `tests/fixtures/`.
pub fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}
