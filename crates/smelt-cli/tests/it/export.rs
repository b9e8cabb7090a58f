//! `smelt export MODEL --format onnx --out FILE`: the file and its one-line summary, and each
//! bad input a clear error. (onnxruntime's scores are checked by `scripts/test-onnx-export`.)

use insta_cmd::assert_cmd_snapshot;

use crate::{filters, smelt};

/// Trains `model` on the penguins into a new temporary directory; returns it and the model.
fn trained(model: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let m = tmp.path().join("m");
    let o = smelt()
        .args([
            "train",
            "data/penguins.csv",
            "--target",
            "species",
            "--model",
            model,
        ])
        .arg("--out")
        .arg(&m)
        .output()
        .expect("smelt runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (tmp, m)
}

#[test]
fn export_onnx_writes_the_file_and_says_what_is_in_it() {
    let (tmp, m) = trained("logistic_regression");
    let out = tmp.path().join("penguins.onnx");
    let mut s = filters(tmp.path());
    s.add_filter(r"\(\d+(\.\d)? (B|KiB|MiB)\)", "([SIZE])");
    s.bind(|| {
        assert_cmd_snapshot!(
            smelt()
                .arg("export")
                .arg(&m)
                .args(["--format", "onnx", "--out"])
                .arg(&out)
        );
    });
    let onnx = smelt_onnx::OnnxModel::load(&out).expect("an ONNX model");
    assert!(onnx.producer().starts_with("smelt "), "{}", onnx.producer());
    // Written atomically: nothing but the model directory and the file beside it.
    let mut names: Vec<String> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["m", "penguins.onnx"]);
}

#[test]
fn export_of_an_unsupported_model_names_it() {
    let (tmp, m) = trained("gaussian_nb");
    let s = filters(tmp.path());
    s.bind(|| {
        assert_cmd_snapshot!(
            smelt()
                .arg("export")
                .arg(&m)
                .arg("--out")
                .arg(tmp.path().join("nb.onnx"))
        );
    });
    assert!(!tmp.path().join("nb.onnx").exists());
}

#[test]
fn export_into_a_missing_directory_is_an_error() {
    let (tmp, m) = trained("decision_tree_classifier");
    let s = filters(tmp.path());
    s.bind(|| {
        assert_cmd_snapshot!(
            smelt()
                .arg("export")
                .arg(&m)
                .arg("--out")
                .arg(tmp.path().join("no/such/dir/m.onnx"))
        );
    });
}

#[test]
fn export_of_a_missing_model_is_an_error() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let s = filters(tmp.path());
    s.bind(|| {
        assert_cmd_snapshot!(
            smelt()
                .arg("export")
                .arg(tmp.path().join("nothing"))
                .arg("--out")
                .arg(tmp.path().join("m.onnx"))
        );
    });
}
