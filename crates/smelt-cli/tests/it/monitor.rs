//! `smelt monitor report` and `smelt monitor test`: exit codes that gate a pipeline, the report
//! files, the rules file's errors.

use crate::smelt;

/// `ref.csv` and `cur.csv` from adult.csv: the current rows have `age` shifted by 8 years.
fn tables(dir: &std::path::Path, shift: bool) -> (std::path::PathBuf, std::path::PathBuf) {
    let text =
        std::fs::read_to_string(crate::repo_root().join("data/adult.csv")).expect("adult.csv");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let body: Vec<&str> = lines.collect();
    let write = |name: &str, rows: &[&str], shift: bool| {
        let mut out = format!("{header}\n");
        for l in rows {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if shift {
                f[0] = (f[0].parse::<i64>().expect("age") + 8).to_string();
            }
            out.push_str(&f.join(","));
            out.push('\n');
        }
        let p = dir.join(name);
        std::fs::write(&p, out).expect("written");
        p
    };
    (
        write("ref.csv", &body[..3000], false),
        write("cur.csv", &body[3000..6000], shift),
    )
}

#[test]
fn report_writes_html_and_json_and_test_exits_1_when_a_rule_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, c) = tables(tmp.path(), true);
    let html = tmp.path().join("out/monitor.html");
    let o = smelt()
        .args(["monitor", "report", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .args(["--target", "income", "--report"])
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    // One drifted column of 14 is no dataset drift, and no quality check fails: exit 0.
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("1 of 14 columns drifted") && stdout.contains("age"),
        "{stdout}"
    );
    assert!(html.is_file() && tmp.path().join("out/monitor.json").is_file());

    // A rule that the shifted `age` breaks fails the test suite: exit 1.
    let rules = tmp.path().join("monitor.toml");
    std::fs::write(
        &rules,
        "[[test]]\nmetric = \"drift_share\"\nlt = 0.3\n\n[[test]]\nmetric = \"drifted\"\ncolumn = \"age\"\neq = 0\n",
    )
    .unwrap();
    let o = smelt()
        .args(["monitor", "test", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("PASS drift_share < 0.3"), "{stdout}");
    assert!(stdout.contains("FAIL drifted(age) == 0"), "{stdout}");
    assert!(stdout.contains("1 of 2 tests passed"), "{stdout}");
}

#[test]
fn a_model_directory_adds_prediction_drift_and_estimated_performance_to_report_and_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, c) = tables(tmp.path(), false);
    let text =
        std::fs::read_to_string(crate::repo_root().join("data/adult.csv")).expect("adult.csv");
    let train: Vec<&str> = text
        .lines()
        .take(1)
        .chain(text.lines().skip(6001).take(8000))
        .collect();
    let train_csv = tmp.path().join("train.csv");
    std::fs::write(&train_csv, train.join("\n") + "\n").unwrap();
    let model = tmp.path().join("model");
    let o = smelt()
        .args(["train"])
        .arg(&train_csv)
        .args([
            "--target",
            "income",
            "--model",
            "hist_gradient_boosting_classifier",
            "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = tmp.path().join("monitor.html");
    let o = smelt()
        .args(["monitor", "report", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .args(["--target", "income", "--window", "1000", "--model"])
        .arg(&model)
        .arg("--report")
        .arg(&html)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("Estimated performance (CBPE, without labels): ROC AUC")
            && stdout.contains("Realized performance (labels): ROC AUC"),
        "{stdout}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(tmp.path().join("monitor.json")).unwrap())
            .unwrap();
    let perf = json["data"]["performance"].as_array().expect("performance");
    assert!(perf.iter().any(|t| t["method"] == "cbpe" && t["windows"].as_array().is_some_and(|w| w.len() == 3)));

    // Without labels anywhere, the model's held-out outcomes (saved in its profile) are what
    // CBPE calibrates on.
    let o = smelt()
        .args(["monitor", "report", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .args(["--ignore", "income", "--model"])
        .arg(&model)
        .arg("--report")
        .arg(tmp.path().join("nolabels.html"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("Estimated performance (CBPE, without labels): ROC AUC")
            && stdout.contains("held-out validation rows saved with it")
            && !stdout.contains("Realized performance"),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );

    // Rules read the estimate by name.
    let rules = tmp.path().join("monitor.toml");
    std::fs::write(
        &rules,
        "[[test]]\nmetric = \"estimated_roc_auc\"\ngt = 0.8\n\n[[test]]\nmetric = \"estimated_accuracy\"\ngt = 0.99\n",
    )
    .unwrap();
    let o = smelt()
        .args(["monitor", "test", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .args(["--target", "income", "--model"])
        .arg(&model)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("PASS estimated_roc_auc > 0.8"), "{stdout}");
    assert!(
        stdout.contains("FAIL estimated_accuracy > 0.99"),
        "{stdout}"
    );
}

#[test]
fn a_typo_in_the_rules_file_names_the_test_and_suggests_the_metric() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, c) = tables(tmp.path(), false);
    let rules = tmp.path().join("monitor.toml");
    std::fs::write(&rules, "[[test]]\nmetric = \"drift_shares\"\nlt = 0.3\n").unwrap();
    let o = smelt()
        .args(["monitor", "test", "--reference"])
        .arg(&r)
        .arg("--current")
        .arg(&c)
        .arg("--rules")
        .arg(&rules)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("monitor.toml") && stderr.contains("did you mean `drift_share`"),
        "{stderr}"
    );
}
