//! Integration tests of the data layer: bad input, real datasets, format independence.

mod bad_input;
mod datasets;
mod fast_csv;

use std::path::{Path, PathBuf};

/// The repository's bundled example data.
pub fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data")
}

/// Writes `bytes` to a file called `name` in a new temporary directory.
pub fn temp_file(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write temp file");
    (dir, p)
}
