//! `smelt train` / `smelt predict`: output, artifacts, and every bad input of the
//! Classical ML issue, each a clear error.

use insta_cmd::assert_cmd_snapshot;

use crate::{filters, smelt};

fn train(args: &[&str], out: &std::path::Path) -> std::process::Output {
    let mut c = smelt();
    c.arg("train").args(args).arg("--out").arg(out);
    c.output().expect("smelt runs")
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Trains into a new temporary directory, asserting success; returns it and the model path.
fn trained(args: &[&str]) -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let m = tmp.path().join("m");
    let o = train(args, &m);
    assert!(o.status.success(), "{}", stderr(&o));
    (tmp, m)
}

/// Runs `smelt` with `args`, asserting exit code 2; returns standard error.
fn fails(cmd: &mut std::process::Command) -> String {
    let o = cmd.output().expect("smelt runs");
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    stderr(&o)
}

/// `smelt predict MODEL FILE`.
fn predict(m: &std::path::Path, file: &std::path::Path) -> std::process::Command {
    let mut c = smelt();
    c.arg("predict").arg(m).arg(file);
    c
}

#[test]
fn train_ridge_on_housing() {
    let tmp = tempfile::tempdir().unwrap();
    let mut settings = filters(tmp.path());
    settings.add_filter(r"in \d+\.\d+s", "in [TIME]");
    settings.bind(|| {
        assert_cmd_snapshot!(
            smelt()
                .args([
                    "train",
                    "data/housing.csv",
                    "--target",
                    "med_house_val",
                    "--model",
                    "ridge",
                    "--param",
                    "alpha=0.5",
                    "--out",
                ])
                .arg(tmp.path().join("m"))
        );
    });
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("m/model.json")).unwrap()).unwrap();
    assert_eq!(manifest["kind"], "pipeline");
    assert_eq!(manifest["metadata"]["model"], "ridge");
    assert_eq!(manifest["metadata"]["params"]["alpha"], 0.5);
    assert_eq!(manifest["input"].as_array().unwrap().len(), 8);
    assert!(
        manifest["metadata"]["metrics"]["validation"]["r2"]
            .as_f64()
            .unwrap()
            > 0.5
    );

    // Predict writes one row per input row.
    let preds = tmp.path().join("p.csv");
    let out = smelt()
        .arg("predict")
        .arg(tmp.path().join("m"))
        .arg("data/housing.csv")
        .arg("--out")
        .arg(&preds)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&preds).unwrap();
    assert_eq!(text.lines().next(), Some("prediction"));
    assert_eq!(text.lines().count(), 20641);
}

/// Mixed types with missing values (penguins): classification with the automatic pipeline;
/// columns matched by name at predict time.
#[test]
fn classification_pipeline_columns_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let o = train(
        &[
            "data/penguins.csv",
            "--target",
            "species",
            "--model",
            "logistic_regression",
            "--json",
        ],
        &m,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let acc = v["metadata"]["metrics"]["validation"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(acc > 0.95, "validation accuracy {acc}");
    assert!(
        v["metadata"]["metrics"]["validation"]["log_loss"]
            .as_f64()
            .is_some()
    );

    // Reordered columns, an extra column, and the target dropped: same predictions.
    let text = std::fs::read_to_string(crate::repo_root().join("data/penguins.csv")).unwrap();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let mut reordered = String::new();
    for r in &rows {
        let mut cols: Vec<&str> = r.iter().rev().copied().collect();
        cols.push(if reordered.is_empty() { "extra" } else { "1" });
        reordered.push_str(&cols.join(","));
        reordered.push('\n');
    }
    let shuffled = tmp.path().join("shuffled.csv");
    std::fs::write(&shuffled, reordered).unwrap();
    let predict = |file: &std::path::Path| {
        let o = smelt().arg("predict").arg(&m).arg(file).output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let a = predict(&crate::repo_root().join("data/penguins.csv"));
    assert_eq!(a, predict(&shuffled));
    assert!(
        a.starts_with("prediction,proba_Adelie,proba_Chinstrap,proba_Gentoo\n"),
        "{}",
        &a[..80]
    );
}

#[test]
fn list_models() {
    assert_cmd_snapshot!(smelt().args(["train", "--list-models"]));
}

#[test]
fn help_params() {
    assert_cmd_snapshot!(smelt().args(["train", "--model", "ridge", "--help-params"]));
}

#[test]
fn kmeans_without_target() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let o = train(
        &["data/iris.csv", "--model", "kmeans", "-p", "n_clusters=3"],
        &m,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = smelt()
        .arg("predict")
        .arg(&m)
        .arg("data/iris.csv")
        .output()
        .unwrap();
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(text.starts_with("cluster\n"));
    assert_eq!(text.lines().count(), 151);
}

// ---- bad input: one test each ----

#[test]
fn unknown_model_suggests_a_name() {
    assert_cmd_snapshot!(smelt().args([
        "train",
        "data/iris.csv",
        "--target",
        "target",
        "--model",
        "logistic_regresion",
        "--out",
        "/nonexistent/m"
    ]));
}

#[test]
fn unknown_param_suggests_a_name() {
    assert_cmd_snapshot!(smelt().args([
        "train",
        "data/iris.csv",
        "--target",
        "target",
        "--model",
        "svc",
        "-p",
        "gama=2",
        "--out",
        "/nonexistent/m"
    ]));
}

#[test]
fn invalid_param_value_names_the_parameter() {
    assert_cmd_snapshot!(smelt().args([
        "train",
        "data/iris.csv",
        "--target",
        "target",
        "--model",
        "svc",
        "-p",
        "C=-1",
        "--out",
        "/nonexistent/m"
    ]));
}

#[test]
fn nan_without_imputer_names_feature_and_row() {
    let tmp = tempfile::tempdir().unwrap();
    let o = train(
        &[
            "data/penguins.csv",
            "--target",
            "species",
            "--model",
            "logistic_regression",
            "--no-preprocess",
            "--valid",
            "0",
        ],
        &tmp.path().join("m"),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("categorical") || e.contains("missing value"),
        "{e}"
    );
    // Numeric features only, with a missing value.
    let csv = tmp.path().join("nan.csv");
    std::fs::write(
        &csv,
        "a,b,y\n1,2,0.5\n2,,1.5\n3,1,0.25\n4,5,1.75\n5,2,0.5\n",
    )
    .unwrap();
    let o = train(
        &[
            csv.to_str().unwrap(),
            "--target",
            "y",
            "--model",
            "ridge",
            "--no-preprocess",
            "--valid",
            "0",
        ],
        &tmp.path().join("m"),
    );
    let e = stderr(&o);
    assert!(
        e.contains("feature `b` has 1 missing value(s) (first at row 1)"),
        "{e}"
    );
    assert!(e.contains("hint: add an imputer"), "{e}");
}

#[test]
fn string_in_numeric_column_at_predict_names_line_and_column() {
    let (tmp, m) = trained(&[
        "data/housing.csv",
        "--target",
        "med_house_val",
        "--model",
        "ridge",
    ]);
    let text = std::fs::read_to_string(crate::repo_root().join("data/housing.csv")).unwrap();
    let mut rows: Vec<String> = text.lines().take(5).map(String::from).collect();
    let mut cols: Vec<String> = rows[3].split(',').map(String::from).collect();
    cols[1] = "forty".into();
    rows[3] = cols.join(",");
    let bad = tmp.path().join("bad.csv");
    std::fs::write(&bad, rows.join("\n") + "\n").unwrap();
    let e = fails(&mut predict(&m, &bad));
    assert!(
        e.contains("row 3") && e.contains("house_age") && e.contains("\"forty\""),
        "{e}"
    );
}

#[test]
fn single_class_target_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("one.csv");
    std::fs::write(&csv, "x,y\n1,a\n2,a\n3,a\n4,a\n5,a\n6,a\n").unwrap();
    let o = train(
        &[
            csv.to_str().unwrap(),
            "--target",
            "y",
            "--model",
            "logistic_regression",
        ],
        &tmp.path().join("m"),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("single class (\"a\")"), "{e}");
}

#[test]
fn more_clusters_than_rows_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("few.csv");
    std::fs::write(&csv, "x,z\n1,2\n2,3\n3,1\n").unwrap();
    let o = train(
        &[
            csv.to_str().unwrap(),
            "--model",
            "kmeans",
            "-p",
            "n_clusters=8",
            "--valid",
            "0",
        ],
        &tmp.path().join("m"),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("8") && e.contains("3"), "{e}");
}

#[test]
fn missing_column_at_predict_suggests_a_name() {
    let (tmp, m) = trained(&[
        "data/iris.csv",
        "--target",
        "target",
        "--model",
        "gaussian_nb",
    ]);
    let text = std::fs::read_to_string(crate::repo_root().join("data/iris.csv")).unwrap();
    let header = text.lines().next().unwrap().to_string();
    let first = header.split(',').next().unwrap().to_string();
    let renamed = text.replacen(&first, &first.to_uppercase(), 1);
    let bad = tmp.path().join("renamed.csv");
    std::fs::write(&bad, renamed).unwrap();
    let o = smelt().arg("predict").arg(&m).arg(&bad).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains(&format!("`{first}`")) && e.contains("did you mean"),
        "{e}"
    );
}

#[test]
fn unseen_category_is_encoded_as_zeros() {
    let (tmp, m) = trained(&[
        "data/penguins.csv",
        "--target",
        "species",
        "--model",
        "logistic_regression",
    ]);
    let text = std::fs::read_to_string(crate::repo_root().join("data/penguins.csv")).unwrap();
    let f = tmp.path().join("new.csv");
    std::fs::write(&f, text.replacen(",Torgersen,", ",Atlantis,", 1)).unwrap();
    let o = predict(&m, &f).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().count(), 345);
}

#[test]
fn regressor_on_a_class_target_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let mut c = smelt();
    c.args([
        "train",
        "data/iris.csv",
        "--target",
        "target",
        "--model",
        "ridge",
        "--out",
    ])
    .arg(tmp.path().join("m"));
    let e = fails(&mut c);
    assert!(
        e.contains("ridge is a regression model, but the target `target` is made of classes"),
        "{e}"
    );
}

#[test]
fn corrupted_model_is_refused() {
    let (_tmp, m) = trained(&[
        "data/housing.csv",
        "--target",
        "med_house_val",
        "--model",
        "ridge",
    ]);
    let arrays = m.join("arrays.safetensors");
    let mut bytes = std::fs::read(&arrays).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x55;
    std::fs::write(&arrays, bytes).unwrap();
    let e = fails(&mut predict(&m, std::path::Path::new("data/housing.csv")));
    assert!(e.contains("checksum"), "{e}");
}

#[test]
fn rows_without_a_target_are_left_out_with_a_note() {
    let tmp = tempfile::tempdir().unwrap();
    let csv = tmp.path().join("t.csv");
    std::fs::write(
        &csv,
        "x,y\n1,2.0\n2,\n3,6.1\n4,8.0\n5,9.9\n6,12.2\n7,\n8,16.1\n",
    )
    .unwrap();
    let o = train(
        &[
            csv.to_str().unwrap(),
            "--target",
            "y",
            "--model",
            "linear_regression",
            "--valid",
            "0",
        ],
        &tmp.path().join("m"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("note: left out 2 of 8 rows whose target `y` is missing"),
        "{}",
        stderr(&o)
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("m/model.json")).unwrap()).unwrap();
    assert_eq!(manifest["metadata"]["data"]["rows_without_target"], 2);
    assert_eq!(manifest["metadata"]["data"]["rows"], 6);
}

#[test]
fn import_xgboost_then_predict() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("xgb");
    let fixture =
        crate::repo_root().join("crates/smelt-trees/tests/fixtures/import_xgb_binary.json");
    let o = smelt()
        .arg("import")
        .arg(&fixture)
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = predict(&m, std::path::Path::new("data/breast_cancer.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("prediction,proba_0,proba_1\n"),
        "{}",
        &out[..40]
    );
    assert_eq!(out.lines().count(), 570);
    // A truncated model file is a clear error naming the file.
    let cut = tmp.path().join("cut.json");
    let text = std::fs::read_to_string(&fixture).unwrap();
    std::fs::write(&cut, &text[..text.len() / 2]).unwrap();
    let mut c = smelt();
    c.arg("import")
        .arg(&cut)
        .arg("--out")
        .arg(tmp.path().join("x"));
    let e = fails(&mut c);
    assert!(e.contains("cut.json"), "{e}");
}

#[test]
fn gradient_boosting_takes_missing_values_and_categories_natively() {
    // credit.csv has missing values in string and integer columns: no imputer, no encoder.
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let o = train(
        &[
            "data/credit.csv",
            "--target",
            "status",
            "--model",
            "hist_gradient_boosting_classifier",
            "--param",
            "num_leaves=15",
            "--param",
            "max_iter=50",
            "--json",
        ],
        &m,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let acc = v["metadata"]["metrics"]["validation"]["accuracy"]
        .as_f64()
        .unwrap();
    assert!(acc > 0.75, "validation accuracy {acc}");
    let model: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(m.join("model.json")).unwrap()).unwrap();
    let text = model.to_string();
    assert!(
        text.contains("hist_gradient_boosting_classifier"),
        "{text:.300}"
    );
    assert!(
        !text.contains("one_hot_encoder") && !text.contains("simple_imputer"),
        "no preprocessing steps expected"
    );
    let o = predict(&m, &crate::repo_root().join("data/credit.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("prediction,proba_bad,proba_good\n"),
        "{}",
        &out[..60]
    );
    assert_eq!(out.lines().count(), 4455);
}

#[test]
fn imported_lightgbm_categorical_model_reads_labels_from_a_csv() {
    // The fixture's rows (adult, string categories, 8 % missing) written back as a CSV with
    // labels: `smelt predict` must map them to the model's categories by label and reproduce
    // LightGBM's probabilities.
    let tmp = tempfile::tempdir().unwrap();
    let fx_dir = crate::repo_root().join("crates/smelt-trees/tests/fixtures");
    let expected: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fx_dir.join("import_lgb_cat.expected.json")).unwrap(),
    )
    .unwrap();
    let names: Vec<&str> = expected["feature_names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let cats = &expected["categorical"];
    let mut csv = names.join(",");
    csv.push('\n');
    for row in expected["x"].as_array().unwrap() {
        let cells: Vec<String> = row
            .as_array()
            .unwrap()
            .iter()
            .zip(&names)
            .map(|(v, name)| match (v.as_f64(), cats.get(*name)) {
                (None, _) => String::new(),
                (Some(code), Some(labels)) => labels[code as usize].as_str().unwrap().to_string(),
                (Some(x), None) => format!("{x}"),
            })
            .collect();
        csv.push_str(&cells.join(","));
        csv.push('\n');
    }
    let data = tmp.path().join("rows.csv");
    std::fs::write(&data, csv).unwrap();
    let m = tmp.path().join("lgb");
    let o = smelt()
        .arg("import")
        .arg(fx_dir.join("import_lgb_cat.txt"))
        .arg("--out")
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = predict(&m, &data).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    let want = expected["proba"].as_array().unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("prediction,proba_0,proba_1"));
    let mut n = 0;
    for (line, w) in lines.zip(want) {
        let got: f64 = line.rsplit(',').next().unwrap().parse().unwrap();
        let w = w[1].as_f64().unwrap();
        assert!((got - w).abs() < 1e-6, "row {n}: {got} vs LightGBM {w}");
        n += 1;
    }
    assert_eq!(n, want.len());
}

/// `smelt train` records a run: params, metrics, the dataset's fingerprint, the code and
/// environment tags, and the model as artifacts, readable back through the store.
#[test]
fn train_records_a_run_with_data_params_metrics_and_model() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:///{}", tmp.path().join("runs.db").display());
    let art = tmp.path().join("art");
    let out = tmp.path().join("model");
    let status = smelt()
        .env_remove("SMELT_NO_TRACK")
        .env("SMELT_TRACKING_URI", &db)
        .env("SMELT_ARTIFACTS_DESTINATION", &art)
        .args([
            "train",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "logistic_regression",
        ])
        .args([
            "-p",
            "C=0.5",
            "--experiment",
            "iris-test",
            "--run-name",
            "lr-c05",
            "--out",
        ])
        .arg(&out)
        .output()
        .expect("runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(String::from_utf8_lossy(&status.stdout).contains("Tracked run"));

    let t = smelt_track::tracker::Tracker::open(&db, &art.display().to_string())
        .expect("opens the store");
    let exp = t
        .block_on(
            t.store()
                .expect("store")
                .get_experiment_by_name("iris-test"),
        )
        .expect("experiment");
    let q = smelt_track::store::SearchQuery::default();
    let runs = t
        .block_on(
            t.store()
                .expect("store")
                .search_runs(&[exp.experiment_id], &q),
        )
        .expect("search");
    assert_eq!(runs.items.len(), 1);
    let run = &runs.items[0];
    assert_eq!(run.info.run_name, "lr-c05");
    assert_eq!(run.info.status, smelt_track::entities::RunStatus::Finished);
    let param = |k: &str| {
        run.data
            .params
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.as_str())
    };
    assert_eq!(param("C"), Some("0.5"));
    assert_eq!(param("model"), Some("logistic_regression"));
    let metric = |k: &str| {
        run.data
            .metrics
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.value)
    };
    assert!(
        metric("valid_accuracy").is_some_and(|v| v > 0.8),
        "{:?}",
        run.data.metrics
    );
    let tag = |k: &str| {
        run.data
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.as_str())
    };
    assert!(tag("smelt.env.fingerprint").is_some_and(|f| f.starts_with("b3:")));
    assert_eq!(tag("smelt.task"), Some("classification"));
    // The dataset input carries the same fingerprint `smelt data inspect` reports.
    let ds = &run.inputs.dataset_inputs[0];
    assert_eq!(ds.dataset.name, "iris");
    assert_eq!(ds.dataset.digest.len(), 64);
    assert!(
        ds.dataset.profile.contains("\"num_rows\":150"),
        "{}",
        ds.dataset.profile
    );
    // The model files, byte for byte.
    crate::assert_model_artifact(&t, run, &out);
}

#[test]
fn predict_scores_an_onnx_file_from_skl2onnx() {
    // A scikit-learn pipeline (imputers, scaler, one-hot, logistic regression) converted by
    // skl2onnx, scored on the whole penguins table (missing `sex` reaches the graph as "").
    let onnx = crate::repo_root().join("crates/smelt-onnx/tests/fixtures/penguins_pipeline.onnx");
    let o = predict(&onnx, std::path::Path::new("data/penguins.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("prediction,proba_Adelie,proba_Chinstrap,proba_Gentoo\n"),
        "{}",
        &out[..60]
    );
    let truth: Vec<String> = std::fs::read_to_string(crate::repo_root().join("data/penguins.csv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let preds: Vec<&str> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(preds.len(), 344);
    let right = preds.iter().zip(&truth).filter(|(p, t)| *p == t).count();
    assert!(right >= 330, "{right} of 344 right");
    // A file that is not ONNX is a clear error naming it.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.onnx");
    std::fs::write(&bad, "not a model").unwrap();
    let e = fails(&mut predict(
        &bad,
        std::path::Path::new("data/penguins.csv"),
    ));
    assert!(
        e.contains("bad.onnx") && e.contains("not an ONNX model"),
        "{e}"
    );
}

/// Every command that takes a model takes a registry or run URI too, resolved through the
/// project's store; a table given where the model belongs is named with the usage.
#[test]
fn predict_eval_and_export_take_registry_uris_and_swapped_arguments_get_the_usage() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(crate::repo_root().join("data/adult.csv")).unwrap();
    let data = tmp.path().join("a.csv");
    std::fs::write(
        &data,
        text.lines().take(1501).collect::<Vec<_>>().join("\n") + "\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        smelt()
            .current_dir(tmp.path())
            .env_remove("SMELT_NO_TRACK")
            .env_remove("SMELT_TRACKING_URI")
            .args(args)
            .output()
            .unwrap()
    };
    let o = run(&[
        "train",
        "a.csv",
        "--target",
        "income",
        "--model",
        "logistic_regression",
        "--out",
        "m",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let run_id = stdout
        .split("Tracked run ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("{stdout}"))
        .to_string();
    let o = run(&[
        "models", "register", &run_id, "--name", "adult", "--alias", "champion",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let direct = run(&["predict", "m", "a.csv"]);
    assert!(direct.status.success());
    for uri in ["models:/adult@champion", "models:/adult/1", "models:/adult"] {
        let o = run(&["predict", uri, "a.csv"]);
        assert!(
            o.status.success(),
            "{uri}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let (a, b) = (
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&direct.stdout),
        );
        let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
        assert!(
            first.is_none() && a.lines().count() == b.lines().count(),
            "{uri}: line {first:?}: {:?} vs {:?}",
            first.and_then(|k| a.lines().nth(k)),
            first.and_then(|k| b.lines().nth(k))
        );
    }
    let o = run(&[
        "eval",
        "models:/adult@champion",
        "a.csv",
        "--target",
        "income",
        "--report",
        "r.html",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("Evaluated models:/adult@champion"));
    let o = run(&["export", "models:/adult/1", "--out", "m.onnx"]);
    assert!(o.status.success() && tmp.path().join("m.onnx").is_file());

    // Data first, model second: the usage, not an OS error.
    let o = run(&["predict", "a.csv", "models:/adult@champion"]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`a.csv` is a table, not a model")
            && stderr.contains("smelt predict MODEL DATA"),
        "{stderr}"
    );
    // An alias nobody set: the registry says so.
    let o = run(&["predict", "models:/adult@nope", "a.csv"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nope"));
}

/// A parameter value of the wrong type names the parameter, the model and what it takes.
#[test]
fn a_parameter_of_the_wrong_type_is_named_with_what_it_takes() {
    let tmp = tempfile::tempdir().unwrap();
    let o = smelt()
        .args([
            "train",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "random_forest_classifier",
            "-p",
            "n_estimators=abc",
            "--out",
        ])
        .arg(tmp.path().join("m"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("RandomForestClassifier")
            && stderr.contains("parameter `n_estimators` = \"abc\": expected a whole number"),
        "{stderr}"
    );
}

/// Short names people bring (`random_forest`, `gbdt`, `xgboost`) pick the classifier or the
/// regressor from the target; a near-typo of one is pointed at it; an unknown name gets the
/// nearest few names, not the whole catalogue.
#[test]
fn short_model_names_follow_the_target_and_unknown_names_get_the_nearest_few() {
    let tmp = tempfile::tempdir().unwrap();
    let train = |target: &str, model: &str| {
        smelt()
            .args([
                "train",
                "data/iris.csv",
                "--target",
                target,
                "--model",
                model,
                "--out",
            ])
            .arg(tmp.path().join(model))
            .output()
            .unwrap()
    };
    for (target, model, kind) in [
        ("target", "random_forest", "random_forest_classifier"),
        (
            "sepal_length_cm",
            "gbdt",
            "hist_gradient_boosting_regressor",
        ),
        ("target", "xgboost", "hist_gradient_boosting_classifier"),
    ] {
        let o = train(target, model);
        assert!(
            o.status.success(),
            "{model}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let meta = std::fs::read_to_string(tmp.path().join(model).join("model.json")).unwrap();
        assert!(
            meta.contains(&format!("\"model\": \"{kind}\""))
                || meta.contains(&format!("\"model\":\"{kind}\"")),
            "{model}: {meta:.300}"
        );
    }
    let o = train("target", "randm_forest");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("did you mean `random_forest`"), "{stderr}");
    let o = train("target", "prophet");
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("the nearest names:") && !stderr.contains("dbscan, hist_gradient"),
        "{stderr}"
    );
}

/// `smelt cv` and `smelt tune` take the short names too, resolved from the target.
#[test]
fn cv_and_tune_take_short_model_names() {
    let o = smelt()
        .args([
            "cv",
            "data/iris.csv",
            "--target",
            "sepal_length_cm",
            "--model",
            "random_forest",
            "-p",
            "n_estimators=5",
            "--folds",
            "2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("random_forest_regressor"), "{stdout}");
    let o = smelt()
        .args([
            "tune",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "gbdt",
            "-p",
            "learning_rate=loguniform(0.01,0.3)",
            "-p",
            "max_iter=10",
            "--trials",
            "2",
            "--folds",
            "2",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("hist_gradient_boosting_classifier"),
        "{stdout}"
    );
}

/// A classifier asked for a real-valued target (or a regressor for classes) fails before any
/// work, naming the model of the other task and the short name.
#[test]
fn a_classifier_on_a_continuous_target_suggests_the_regressor() {
    let run = |cmd: &str, target: &str, model: &str| {
        let mut c = smelt();
        c.args([cmd, "data/iris.csv", "--target", target, "--model", model]);
        if cmd == "train" {
            c.args(["--out", "/nonexistent/m"]);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let e = run("train", "sepal_length_cm", "random_forest_classifier");
    assert!(
        e.contains("random_forest_classifier is a classification model, but the target `sepal_length_cm` is real-valued")
            && e.contains("`--model random_forest_regressor`")
            && e.contains("`--model random_forest`"),
        "{e}"
    );
    let e = run("cv", "sepal_length_cm", "gaussian_nb");
    assert!(e.contains("train a regressor, such as"), "{e}");
    let e = run("train", "target", "linear_regression");
    assert!(
        e.contains("is made of classes") && e.contains("train a classifier"),
        "{e}"
    );
}

/// An output file whose extension names no format Smelt writes gets the output formats as
/// the hint (not `--format`, which is about inputs).
#[test]
fn predict_to_a_spreadsheet_names_the_output_formats() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    let o = smelt()
        .args([
            "train",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "dummy",
            "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = smelt()
        .arg("predict")
        .arg(&model)
        .arg("data/iris.csv")
        .arg("--out")
        .arg(tmp.path().join("p.xlsx"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{e}");
    assert!(
        e.contains("cannot tell the output format from the extension `xlsx`")
            && e.contains("name the output file .csv")
            && e.contains("spreadsheets are not written")
            && !e.contains("--format"),
        "{e}"
    );
}

/// Columns that are not features (free text, ids, ignored) are named with the reason.
#[test]
fn train_says_which_columns_are_not_features() {
    let o = smelt()
        .args([
            "train",
            "data/titanic.csv",
            "--target",
            "survived",
            "--model",
            "dummy",
            "--out",
        ])
        .arg(tempfile::tempdir().unwrap().path().join("m"))
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{e}");
    assert!(
        e.contains("note: not used as features: `name` (free text"),
        "{e}"
    );
}

/// `smelt eval` reads the true values from the column the model was trained on.
#[test]
fn eval_takes_the_target_from_the_model() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    let o = smelt()
        .args([
            "train",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "dummy",
            "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = smelt()
        .arg("eval")
        .arg(&model)
        .arg("data/iris.csv")
        .arg("--report")
        .arg(tmp.path().join("r.html"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout.contains("accuracy"), "{stdout}");
}

/// `smelt serve --check` validates the configuration (file, flags and environment together)
/// without loading a model or binding a port: what would be served, or the problem (exit 2).
#[test]
fn serve_check_validates_without_serving() {
    let tmp = tempfile::tempdir().unwrap();
    let model = tmp.path().join("m");
    std::fs::create_dir(&model).unwrap();
    let config = tmp.path().join("serve.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nport = 9099\n\n[[model]]\nname = \"churn\"\nsource = \"{}\"\nmax_batch_size = 32\n",
            model.display()
        ),
    )
    .unwrap();
    let o = smelt()
        .args(["serve", "--check", "--workers", "2", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("configuration is valid: http://127.0.0.1:9099")
            && stdout.contains("churn")
            && stdout.contains("max_batch_size 32")
            && stdout.contains("workers 2"),
        "{stdout}"
    );
    // A typo'd key, a public address without keys: refused, with the reason.
    std::fs::write(&config, "[server]\nprot = 1\n").unwrap();
    let o = smelt()
        .args(["serve", "--check", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("prot"));
    let o = smelt()
        .args(["serve", "--check", "--host", "0.0.0.0"])
        .arg(&model)
        .env_remove("SMELT_API_KEYS")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("without authentication"));
}

/// scikit-learn's `n_jobs` among the parameters is the thread setting, not an unknown parameter.
#[test]
fn n_jobs_is_the_thread_setting() {
    let tmp = tempfile::tempdir().unwrap();
    let o = smelt()
        .args([
            "train",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "random_forest",
            "-p",
            "n_estimators=5",
            "-p",
            "n_jobs=2",
            "--out",
        ])
        .arg(tmp.path().join("m"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let meta = std::fs::read_to_string(tmp.path().join("m/model.json")).unwrap();
    assert!(!meta.contains("n_jobs"), "not a model parameter");
    let o = smelt()
        .args([
            "cv",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "knn",
        ])
        .args(["-p", "n_jobs=0"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("`n_jobs` = 0"));
}
