use insta_cmd::assert_cmd_snapshot;

use crate::{filters, smelt};

#[test]
fn inspect_iris() {
    assert_cmd_snapshot!(smelt().args(["data", "inspect", "data/iris.csv", "--target", "target"]));
}

#[test]
fn inspect_mixed_types_and_missing() {
    assert_cmd_snapshot!(smelt().args(["data", "inspect", "data/titanic.csv"]));
}

#[test]
fn inspect_json() {
    let out = smelt()
        .args(["data", "inspect", "data/penguins.csv", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 344);
    assert_eq!(v["columns"].as_array().unwrap().len(), 8);
    let sex = v["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "sex")
        .unwrap();
    assert_eq!(sex["missing"], 11);
    assert_eq!(sex["type"], "categorical");
    insta::assert_json_snapshot!(v["columns"][2]);
}

#[test]
fn inspect_csv_and_parquet_agree() {
    let fp = |f: &str| {
        let out = smelt()
            .args(["data", "inspect", f, "--json"])
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["fingerprint"].as_str().unwrap().to_string()
    };
    assert_eq!(fp("data/housing.csv"), fp("data/housing.parquet"));
}

#[test]
fn validate_passes() {
    assert_cmd_snapshot!(smelt().args([
        "data",
        "validate",
        "data/adult.csv",
        "--rules",
        "examples/adult.rules.toml"
    ]));
}

#[test]
fn validate_reports_every_violation() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "max_examples = 3\n[table]\nmax_rows = 100\n[columns.age]\nmax = 60\n[columns.race]\nallowed = [\"White\", \"Black\"]\n[columns.salary]\nmin = 0\n").unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args(["data", "validate", "data/adult.csv", "--rules"])
            .arg(&rules)
    );
}

#[test]
fn validate_json() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "[columns.body_mass_g]\nmax_null_fraction = 0.0\n").unwrap();
    let out = smelt()
        .args(["data", "validate", "data/penguins.csv", "--json", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["violations"][0]["rule"], "max_null_fraction");
    assert_eq!(v["violations"][0]["rows"], serde_json::json!([4, 272]));
}

#[test]
fn rules_file_typo() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("r.toml");
    std::fs::write(&rules, "[table]\nmin_rows = 1\n\n[columns.age]\nmaxx = 3\n").unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args(["data", "validate", "data/adult.csv", "--rules"])
            .arg(&rules)
    );
}

#[test]
fn split_stratified_writes_whole_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("adult");
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args([
                "data",
                "split",
                "data/adult.parquet",
                "--strategy",
                "stratified",
                "--target",
                "income",
                "--valid",
                "0.1",
                "--seed",
                "7",
                "--out"
            ])
            .arg(&out)
    );
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("split.json")).unwrap()).unwrap();
    assert_eq!(meta["parts"]["test"]["rows"], 9768);
    assert_eq!(meta["seed"], 7);
    // The parts re-read to the fingerprints recorded for them.
    let test = smelt_data::load(&out.join("test.parquet"), &Default::default()).unwrap();
    assert_eq!(
        meta["parts"]["test"]["fingerprint"],
        test.fingerprint().unwrap()
    );
    // A second split to the same place is refused, and leaves the first intact.
    let again = smelt()
        .args(["data", "split", "data/adult.parquet", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));
    assert!(out.join("valid.parquet").exists());
}

#[test]
fn split_temporal_with_gap() {
    let dir = tempfile::tempdir().unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args([
                "data",
                "split",
                "data/nyc_weather.parquet",
                "--strategy",
                "temporal",
                "--gap",
                "12h",
                "--out"
            ])
            .arg(dir.path().join("w"))
    );
}

#[test]
fn split_group() {
    let dir = tempfile::tempdir().unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args([
                "data",
                "split",
                "data/txhousing.csv",
                "--strategy",
                "group",
                "--group",
                "city",
                "--seed",
                "1",
                "--out"
            ])
            .arg(dir.path().join("tx"))
    );
}

#[test]
fn split_failure_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(
        smelt()
            .args(["data", "split", "data/iris.csv", "--test", "1.5", "--out"])
            .arg(&out)
    );
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn error_missing_file() {
    assert_cmd_snapshot!(smelt().args(["data", "inspect", "data/nope.csv"]));
}

#[test]
fn error_directory() {
    assert_cmd_snapshot!(smelt().args(["data", "inspect", "data"]));
}

#[test]
fn error_target_typo() {
    assert_cmd_snapshot!(smelt().args(["data", "inspect", "data/adult.csv", "--target", "incom"]));
}

#[test]
fn error_ragged_csv() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    std::fs::write(&f, "a,b,c\n1,2,3\n4,5\n").unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(smelt().args(["data", "inspect"]).arg(&f));
}

#[test]
fn error_bad_number() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.csv");
    let mut s = String::from("x,y\n");
    for i in 0..12_000 {
        s.push_str(&format!("{i},{}\n", i % 3));
    }
    s.push_str("1,n/a\n");
    std::fs::write(&f, s).unwrap();
    let _g = filters(dir.path()).bind_to_scope();
    assert_cmd_snapshot!(smelt().args(["data", "inspect"]).arg(&f));
}

#[test]
fn null_values_flag_fixes_it() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("na.csv");
    std::fs::write(&f, "x,y\n1,2\n3,NA\n").unwrap();
    let out = smelt()
        .args(["data", "inspect", "--json", "--null-values", "NA"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["columns"][1]["missing"], 1);
    assert_eq!(v["columns"][1]["type"], "integer");
}

#[test]
fn semicolon_delimited_without_header() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x.csv");
    std::fs::write(&f, "1;\"a;b\"\n2;c\n").unwrap();
    let out = smelt()
        .args([
            "data",
            "inspect",
            "--json",
            "--delimiter",
            ";",
            "--no-header",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["columns"][1]["name"], "column_2");
    assert_eq!(v["rows"], 2);
}

#[test]
fn help_is_useful() {
    assert_cmd_snapshot!(smelt().args(["data", "split", "--help"]));
}

#[test]
fn piped_output_has_no_colour() {
    let out = std::process::Command::new(insta_cmd::get_cargo_bin("smelt"))
        .current_dir(crate::repo_root())
        .args(["data", "inspect", "data/iris.csv"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains('\u{1b}'));
}

/// `nan`, `inf`, `-Infinity`, `1e999` and `NA` in a numeric column read as pandas reads them
/// (NaN, ±inf, missing), not as text; a real text column stays text.
#[test]
fn nan_and_infinity_spellings_keep_a_column_numeric() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("specials.csv");
    std::fs::write(
        &f,
        "x,y,name\n1.5,0,a\nnan,1,b\ninf,0,c\n-Infinity,1,d\n1e999,0,NA\nNA,1,f\n",
    )
    .unwrap();
    let out = smelt()
        .args(["data", "inspect", "--json"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["columns"][0]["type"], "numeric", "{v}");
    // `nan` is NaN, `NA` is missing: both count as missing, as pandas' isna() counts them.
    assert_eq!(v["columns"][0]["missing"], 2, "{v}");
    assert_ne!(v["columns"][2]["type"], "numeric", "{v}");
}

/// `smelt data window` then `smelt train --model lstm` and `seasonal_naive` on the windows:
/// the temporal split holds out the latest rows, the LSTM beats the seasonal-naive baseline on
/// air passengers, and a series shorter than the window is a clear error.
#[test]
fn window_then_lstm_beats_seasonal_naive() {
    let tmp = tempfile::tempdir().unwrap();
    let windows = tmp.path().join("air12.parquet");
    let out = smelt()
        .args([
            "data",
            "window",
            "data/air_passengers.csv",
            "--target",
            "passengers",
        ])
        .args(["--lags", "12", "--out"])
        .arg(&windows)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("132 windows of 12 lags"));
    let rmse = |model: &[&str]| -> f64 {
        let out = smelt()
            .arg("train")
            .arg(&windows)
            .args(["--target", "passengers", "--json", "--out"])
            .arg(tmp.path().join(model[0]))
            .args(["--model"])
            .args(model)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let m = &v["metadata"];
        assert_eq!(m["split"]["valid_rows"], 26, "{m}");
        assert_eq!(m["split"]["time"], "date", "{m}");
        m["metrics"]["validation"]["rmse"].as_f64().unwrap()
    };
    let naive = rmse(&["seasonal_naive", "-p", "season=12"]);
    let lstm = rmse(&["lstm", "-p", "hidden_size=16"]);
    assert!(lstm < naive, "lstm rmse {lstm} vs seasonal naive {naive}");

    let err = smelt()
        .args([
            "data",
            "window",
            "data/air_passengers.csv",
            "--target",
            "passengers",
        ])
        .args(["--lags", "140", "--horizon", "6", "--out"])
        .arg(tmp.path().join("x.parquet"))
        .output()
        .unwrap();
    assert_eq!(err.status.code(), Some(2));
    let text = String::from_utf8_lossy(&err.stderr);
    assert!(
        text.contains("the series has 144 rows, shorter than the window")
            && text.contains("at most 138"),
        "{text}"
    );
}
