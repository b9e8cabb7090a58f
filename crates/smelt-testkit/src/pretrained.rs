//! Pretrained models that tests need but the repository does not carry (too large to commit).

use std::path::{Path, PathBuf};

/// The all-MiniLM-L6-v2 directory (sentence-transformers, 91 MB): `$SMELT_MINILM_DIR`, else
/// `shared/data/minilm` beside the checkout, else `~/.cache/smelt-minilm` (where
/// `scripts/fetch-minilm` puts it; `scripts/test` runs that when none is found).
///
/// `None` when there is none: the caller skips, after a note on standard error. Under `CI`
/// (set by `.ci/run`) a missing model panics instead, so CI never passes by skipping.
#[allow(clippy::print_stderr, reason = "says why the test is skipped")]
pub fn minilm_dir() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("SMELT_MINILM_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(root.join("../shared/data/minilm"));
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cache/smelt-minilm"));
    }
    if let Some(d) = candidates
        .iter()
        .find(|d| d.join("model.safetensors").is_file())
    {
        return Some(d.clone());
    }
    let msg = format!(
        "no all-MiniLM-L6-v2 directory (looked in {candidates:?}); run scripts/fetch-minilm or set SMELT_MINILM_DIR"
    );
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("note: skipped: {msg}");
    None
}
