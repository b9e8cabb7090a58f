//! `smelt cv`, `smelt tune`, `smelt ladder` and `smelt eval` end to end: what they print and
//! write, and their bad inputs.

use crate::smelt;

fn run(args: &[&str]) -> std::process::Output {
    smelt().args(args).output().expect("smelt runs")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn cv_prints_per_fold_scores() {
    let o = run(&[
        "cv",
        "data/penguins.csv",
        "--target",
        "species",
        "--model",
        "logistic_regression",
        "--folds",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("StratifiedKFold(n_splits=3"), "{out}");
    assert!(
        out.contains("accuracy ↑") && out.contains("log_loss ↓") && out.contains("fold 2"),
        "{out}"
    );
    let o = run(&[
        "cv",
        "data/housing.csv",
        "--target",
        "med_house_val",
        "--model",
        "ridge",
        "--metric",
        "rmse",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["metrics"][0]["metric"], "rmse");
    assert_eq!(v["per_fold"].as_array().unwrap().len(), 5);
    let o = run(&["cv", "--list-metrics"]);
    assert!(stdout(&o).contains("neg_log_loss"));
}

#[test]
fn cv_bad_inputs_are_clear() {
    let o = run(&[
        "cv",
        "data/penguins.csv",
        "--target",
        "species",
        "--model",
        "logistic_regression",
        "--metric",
        "rmse",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rmse"), "{}", stderr(&o));
    let o = run(&["cv", "data/penguins.csv", "--model", "logistic_regression"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--target"), "{}", stderr(&o));
    let o = run(&[
        "cv",
        "data/penguins.csv",
        "--target",
        "species",
        "--model",
        "logistic_regression",
        "--folds",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("n_splits"), "{}", stderr(&o));
}

#[test]
fn tune_searches_and_saves_the_best() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let o = smelt()
        .args([
            "tune",
            "data/breast_cancer.csv",
            "--target",
            "target",
            "--model",
            "logistic_regression",
            "-p",
            "C=loguniform(1e-3,10)",
            "-p",
            "max_iter=300",
            "--trials",
            "12",
            "--folds",
            "3",
            "--out",
        ])
        .arg(&m)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("12 trials")
            && out.contains("best parameters")
            && out.contains("max_iter=300"),
        "{out}"
    );
    assert!(m.join("model.json").is_file());
    let o = run(&[
        "tune",
        "data/breast_cancer.csv",
        "--target",
        "target",
        "--model",
        "logistic_regression",
        "-p",
        "C=uniform(5,1)",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("empty"), "{}", stderr(&o));
    let o = run(&[
        "tune",
        "data/breast_cancer.csv",
        "--target",
        "target",
        "--model",
        "logistic_regression",
        "-p",
        "C=1",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nothing to search"), "{}", stderr(&o));
}

#[test]
fn ladder_then_eval_write_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("model");
    let report = tmp.path().join("ladder.html");
    let o = smelt()
        .args([
            "ladder",
            "data/titanic.csv",
            "--target",
            "survived",
            "--budget",
            "15s",
            "--folds",
            "3",
            "--out",
        ])
        .arg(&m)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("★") && out.contains("gradient boosting") && out.contains("baseline"),
        "{out}"
    );
    assert!(report.is_file() && report.with_extension("json").is_file());
    assert!(m.join("model.json").is_file());
    let eval_report = tmp.path().join("eval.html");
    let o = smelt()
        .arg("eval")
        .arg(&m)
        .args([
            "data/titanic.csv",
            "--target",
            "survived",
            "--slice",
            "sex",
            "--report",
        ])
        .arg(&eval_report)
        .arg("--plots")
        .arg(tmp.path().join("plots"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("roc_auc"), "{}", stdout(&o));
    let html = std::fs::read_to_string(&eval_report).unwrap();
    assert!(html.contains("Slices") && html.contains("female"));
    // Every plot of the report, as PNG (with its PNG signature) and SVG.
    let pngs: Vec<_> = std::fs::read_dir(tmp.path().join("plots"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "png"))
        .collect();
    assert!(pngs.len() >= 5, "{pngs:?}");
    assert!(std::fs::read(&pngs[0]).unwrap().starts_with(b"\x89PNG"));
    assert!(pngs[0].with_extension("svg").is_file());
}

/// `smelt cv --learning-curve` and `--validation-curve` print one row per size or value, write
/// the plot, and refuse a malformed sweep with the expected form.
#[test]
fn cv_draws_learning_and_validation_curves() {
    let tmp = tempfile::tempdir().unwrap();
    let plot = tmp.path().join("lc.png");
    let o = smelt()
        .args([
            "cv",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "knn",
            "--learning-curve",
            "--train-sizes",
            "0.3,0.6,1",
            "--plot",
        ])
        .arg(&plot)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("Learning curve of k_neighbors_classifier")
            && stdout.contains("accuracy ↑"),
        "{stdout}"
    );
    // Three sizes of the 120 training rows of each fold: 36, 72, 120.
    for n in ["36 ", "72 ", "120 "] {
        assert!(
            stdout.lines().any(|l| l.trim_start().starts_with(n)),
            "{n}: {stdout}"
        );
    }
    let png = std::fs::read(&plot).unwrap();
    assert!(png.starts_with(b"\x89PNG") && png.len() > 10_000);

    let o = smelt()
        .args([
            "cv",
            "data/iris.csv",
            "--target",
            "target",
            "--model",
            "knn",
            "--validation-curve",
            "n_neighbors=1,5,25",
            "--json",
            "--plot",
        ])
        .arg(tmp.path().join("vc.svg"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let points = v["curve"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert_eq!(points[0]["x"], 1);
    // One neighbour remembers the training rows.
    assert_eq!(points[0]["train_mean"], 1.0);
    assert!(
        std::fs::read_to_string(tmp.path().join("vc.svg"))
            .unwrap()
            .contains("<svg")
    );

    for (sweep, message) in [
        ("n_neighbors", "takes PARAM=V1,V2"),
        ("n_neighbors=3", "at least two values"),
        ("n_neigbors=1,3", "n_neigbors"),
    ] {
        let o = smelt()
            .args([
                "cv",
                "data/iris.csv",
                "--target",
                "target",
                "--model",
                "knn",
                "--validation-curve",
                sweep,
                "--plot",
            ])
            .arg(tmp.path().join("x.svg"))
            .output()
            .unwrap();
        let e = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{e}");
        assert!(e.contains(message), "{sweep}: {e}");
    }
}

/// `smelt tune --sampler halving` prints its rungs: configurations and rows, a third of them
/// promoted to three times the rows.
#[test]
fn tune_by_successive_halving_shows_its_rungs() {
    let o = smelt()
        .args([
            "tune",
            "data/penguins.csv",
            "--target",
            "species",
            "--model",
            "logistic",
            "-p",
            "C=loguniform(0.001,100)",
            "--sampler",
            "halving",
            "--trials",
            "9",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        stdout.contains("9 trials (6 pruned, 0 failed)")
            && stdout.contains("successive halving sampler")
            && stdout.contains("rungs  9 × 92 rows → 3 × 275 rows"),
        "{stdout}"
    );
}
