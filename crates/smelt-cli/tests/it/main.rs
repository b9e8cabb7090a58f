//! Snapshot tests of the `smelt` binary: output, exit codes and error text.
//! Review changes with `cargo insta review`.

mod data;
mod embed;
mod export;
mod model;
mod monitor;
mod pipeline_reference;
mod quickstart;
mod select;
mod server;
mod stream;
mod track;

use std::path::PathBuf;
use std::process::Command;

/// `smelt` run from the repository root, so paths like `data/iris.csv` work.
pub fn smelt() -> Command {
    let mut c = Command::new(insta_cmd::get_cargo_bin("smelt"));
    // Runs are recorded only where a test asks for it (with its own SMELT_TRACKING_URI).
    c.current_dir(repo_root())
        .env("NO_COLOR", "1")
        .env("SMELT_NO_TRACK", "1");
    c
}

/// The run's `model/model.json` artifact equals the local `out/model.json`, byte for byte.
pub fn assert_model_artifact(
    t: &smelt_track::tracker::Tracker,
    run: &smelt_track::entities::Run,
    out: &std::path::Path,
) {
    let (store, base) = t
        .resolve_artifacts(&run.info.artifact_uri)
        .expect("artifacts");
    let path = base
        .join("model")
        .and_then(|p| p.join("model.json"))
        .expect("path");
    let stored = t
        .block_on(store.get_bytes(&path))
        .expect("model.json stored");
    assert_eq!(
        &stored[..],
        &std::fs::read(out.join("model.json")).expect("local model.json")[..]
    );
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Snapshot settings replacing a temporary directory with `[TMP]`.
pub fn filters(tmp: &std::path::Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&tmp.display().to_string()), "[TMP]");
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}
