//! `smelt embed`: errors before and after the model loads, and a small table embedded end to
//! end. The runs that need all-MiniLM-L6-v2 find it as smelt-deep's tests do
//! (`SMELT_MINILM_DIR`, `../shared/data/minilm`, `~/.cache/smelt-minilm`); without it they
//! fail under `CI` and print a note otherwise.

use std::path::{Path, PathBuf};

use insta_cmd::assert_cmd_snapshot;

use crate::{filters, regex_escape, smelt};

fn model_dir() -> Option<PathBuf> {
    smelt_testkit::minilm_dir()
}

fn write_csv(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("texts.csv");
    std::fs::write(&p, text).expect("write csv");
    p
}

#[test]
fn a_missing_model_directory_is_named() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let out = tmp.path().join("emb.parquet");
    let _f = filters(tmp.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args(["embed", "/no/such/model", "data/reviews.parquet", "--out"])
            .arg(&out)
    );
}

#[test]
fn embeds_a_table_one_row_per_text() {
    let Some(model) = model_dir() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let csv = write_csv(
        tmp.path(),
        "id,text\n7,The weather is lovely today.\n8,\"It's so sunny outside!\"\n9,He drove to the stadium.\n",
    );
    let out = tmp.path().join("emb.parquet");
    let o = smelt()
        .arg("embed")
        .arg(&model)
        .arg(&csv)
        .args(["--keep", "id", "--out"])
        .arg(&out)
        .output()
        .expect("smelt runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.contains("embedded 3 texts of `text` (384 values each)"),
        "{err}"
    );
    let df = smelt_data::read::read(&out, &Default::default()).expect("output reads");
    assert_eq!(df.shape(), (3, 385));
    let names = df.get_column_names();
    assert_eq!(names[0].as_str(), "id");
    assert_eq!(names[1].as_str(), "emb_0");
    assert_eq!(names[384].as_str(), "emb_383");
    // The first value of the float64 reference's vector for the first sentence.
    let v = df
        .column("emb_0")
        .expect("emb_0")
        .f32()
        .expect("f32")
        .get(0);
    assert!(v.is_some_and(|v| (v - 0.019196).abs() < 1e-4), "{v:?}");
}

#[test]
fn an_empty_text_names_its_row_and_several_text_columns_are_listed() {
    let Some(model) = model_dir() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");
    let csv = write_csv(
        tmp.path(),
        "id,text\n1,A man is eating food.\n2,\n3,A man rides a horse.\n",
    );
    let out = tmp.path().join("emb.csv");
    let _f = filters(tmp.path()).bind_to_scope();
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&model.display().to_string()), "[MODEL]");
    let _g = s.bind_to_scope();
    assert_cmd_snapshot!(
        "embed_empty_text",
        smelt()
            .arg("embed")
            .arg(&model)
            .arg(&csv)
            .arg("--out")
            .arg(&out)
    );
    assert!(!out.exists(), "nothing is written on error");
    let o = smelt()
        .arg("embed")
        .arg(&model)
        .arg(&csv)
        .args(["--allow-empty", "--out"])
        .arg(&out)
        .output()
        .expect("smelt runs");
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success() && err.contains("note: 1 empty"), "{err}");
    assert_cmd_snapshot!(
        "embed_several_text_columns",
        smelt()
            .arg("embed")
            .arg(&model)
            .args(["data/reviews.parquet", "--out"])
            .arg(&out)
    );
}
