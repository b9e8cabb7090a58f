//! Text columns on real reviews: monitored through their length and out-of-vocabulary share,
//! quiet on unchanged text, drifted when reviews are truncated or a new vocabulary arrives.

use std::path::{Path, PathBuf};

use smelt_data::polars::prelude::*;
use smelt_monitor::run::{RunOptions, run};

fn reviews() -> DataFrame {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    smelt_data::read::read(&repo.join("data/reviews.parquet"), &Default::default()).expect("read")
}

/// Rows `from..from + n` with `edit` applied to each review text.
fn write(
    dir: &Path,
    name: &str,
    frame: &DataFrame,
    from: usize,
    n: usize,
    edit: &dyn Fn(usize, &str) -> String,
) -> PathBuf {
    let mut part = frame.slice(from as i64, n);
    let texts: Vec<Option<String>> = part
        .column("review_text")
        .expect("column")
        .str()
        .expect("text")
        .iter()
        .enumerate()
        .map(|(i, t)| t.map(|t| edit(i, t)))
        .collect();
    part.with_column(Column::new("review_text".into(), texts))
        .expect("replace");
    let path = dir.join(name);
    smelt_data::write::write_table(&mut part, &path, smelt_data::read::Format::Parquet)
        .expect("write");
    path
}

#[test]
fn text_columns_drift_by_length_and_vocabulary() {
    let tmp = tempfile::tempdir().expect("tmp");
    let frame = reviews();
    let same = |_: usize, t: &str| t.to_string();
    let reference = write(tmp.path(), "ref.parquet", &frame, 0, 6000, &same);
    let clean = write(tmp.path(), "clean.parquet", &frame, 6000, 4000, &same);
    let truncated = write(tmp.path(), "cut.parquet", &frame, 6000, 4000, &|_, t| {
        t.chars().take(60).collect()
    });
    // A third of the reviews arrive in words the reference never used.
    let foreign = write(
        tmp.path(),
        "foreign.parquet",
        &frame,
        6000,
        4000,
        &|i, t| {
            if i % 3 == 0 {
                t.split_whitespace()
                    .map(|w| format!("qz{}", w.len()))
                    .collect::<Vec<_>>()
                    .join(" ")
            } else {
                t.to_string()
            }
        },
    );
    let opts = RunOptions::default();
    let drifted = |path: &Path| -> Vec<String> {
        let out = run(&reference, path, &opts).expect("runs");
        assert!(
            out.monitoring
                .drift
                .iter()
                .any(|d| d.column == "review_text (OOV share)"),
            "{:?}",
            out.monitoring.drift
        );
        out.monitoring
            .drift
            .iter()
            .filter(|d| d.drifted && d.column.starts_with("review_text"))
            .map(|d| d.column.clone())
            .collect()
    };
    assert!(drifted(&clean).is_empty());
    let out = run(&reference, &clean, &opts).expect("runs");
    let schema: Vec<&String> = out
        .monitoring
        .quality
        .iter()
        .filter(|q| q.check == "schema")
        .map(|q| &q.message)
        .collect();
    assert!(schema.is_empty(), "{schema:?}");
    // (Cutting words in half also makes unknown words: the OOV share may drift too.)
    assert!(drifted(&truncated).contains(&"review_text (length)".to_string()));
    assert!(drifted(&foreign).contains(&"review_text (OOV share)".to_string()));
}
