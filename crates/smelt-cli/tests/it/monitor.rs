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

    // No reference table: the model's training profile stands in (age shifted by 8 years is
    // found; performance estimated from the held-out outcomes).
    let shifted_dir = tmp.path().join("shifted");
    std::fs::create_dir_all(&shifted_dir).unwrap();
    let (_, shifted) = tables(&shifted_dir, true);
    let o = smelt()
        .args(["monitor", "report", "--current"])
        .arg(&shifted)
        .arg("--model")
        .arg(&model)
        .arg("--report")
        .arg(tmp.path().join("profile.html"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("1 of 14 columns drifted")
            && stdout.contains("age")
            && stdout.contains("Estimated performance (CBPE, without labels): ROC AUC")
            && stdout.contains("the reference is a model's profile"),
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
fn bad_current_data_is_named_never_a_crash() {
    let tmp = tempfile::tempdir().unwrap();
    let (r, _) = tables(tmp.path(), false);
    let report = |current: &std::path::Path| {
        smelt()
            .args(["monitor", "report", "--reference"])
            .arg(&r)
            .arg("--current")
            .arg(current)
            .args(["--target", "income", "--report"])
            .arg(tmp.path().join("m.html"))
            .output()
            .unwrap()
    };
    // A header without rows: exit 2, the file named, a hint.
    let empty = tmp.path().join("empty.csv");
    let header = std::fs::read_to_string(&r).unwrap();
    std::fs::write(&empty, format!("{}\n", header.lines().next().unwrap())).unwrap();
    let o = report(&empty);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("empty.csv") && stderr.contains("no data rows") && stderr.contains("hint:"),
        "{stderr}"
    );
    // Columns that share nothing with the reference: a report whose quality checks name each
    // missing column, exit 1; no note about labels without a model.
    let other = tmp.path().join("other.csv");
    std::fs::write(&other, "q,r\n1,2\n3,4\n").unwrap();
    let o = report(&other);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("`age` is in the reference but not in the current data")
            && !stdout.contains("no labels"),
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

/// `smelt serve --log-dir` on a model trained with `smelt train`, fed clean then shifted rows,
/// stopped (SIGTERM: the log is flushed), then `smelt monitor watch --once` over its logs: the
/// shifted window is named and the watch exits 1; over clean logs it exits 0.
#[test]
#[cfg(unix)]
fn watch_once_over_served_logs_names_the_drifted_window_and_gates_on_alerts() {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    let tmp = tempfile::tempdir().unwrap();
    let text =
        std::fs::read_to_string(crate::repo_root().join("data/adult.csv")).expect("adult.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let body: Vec<&str> = lines.collect();
    let train = tmp.path().join("train.csv");
    std::fs::write(
        &train,
        format!("{}\n{}\n", header.join(","), body[..4000].join("\n")),
    )
    .unwrap();
    let model = tmp.path().join("adult");
    let o = smelt()
        .args(["train"])
        .arg(&train)
        .args([
            "--target",
            "income",
            "--model",
            "logistic_regression",
            "--out",
        ])
        .arg(&model)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // Categories the model saw (a category it never saw is sent as missing: the server refuses
    // unseen categories).
    let seen: Vec<std::collections::HashSet<&str>> = (0..14)
        .map(|j| {
            body[..4000]
                .iter()
                .filter_map(|l| l.split(',').nth(j))
                .collect()
        })
        .collect();
    // One request of 100 rows: the 14 features, `age` and `hours_per_week` + 30 when shifted.
    let request = |rows: &[&str], shift: bool| -> String {
        let data: Vec<serde_json::Value> = rows
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let row: Vec<serde_json::Value> = f[..14]
                    .iter()
                    .enumerate()
                    .map(|(j, v)| match v.parse::<f64>() {
                        Ok(x) if shift && (j == 0 || j == 12) => serde_json::json!(x + 30.0),
                        Ok(x) => serde_json::json!(x),
                        Err(_) if v.is_empty() || !seen[j].contains(v) => serde_json::Value::Null,
                        Err(_) => serde_json::json!(v),
                    })
                    .collect();
                serde_json::Value::Array(row)
            })
            .collect();
        serde_json::json!({"dataframe_split": {"columns": &header[..14], "data": data}}).to_string()
    };
    let post = |port: u16, id: &str, body: &str| -> String {
        let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "POST /invocations HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nx-request-id: {id}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    // Serves the model with a prediction log, sends the batches, stops the server with SIGTERM.
    let serve_and_send = |logs: &std::path::Path, batches: &[(usize, bool)]| {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        /// The server, killed if the test fails before stopping it.
        struct Guard(std::process::Child);
        impl Drop for Guard {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let mut server = std::process::Command::new(insta_cmd::get_cargo_bin("smelt"))
            .arg("serve")
            .arg(&model)
            .args(["--port", &port.to_string(), "--log-dir"])
            .arg(logs)
            .env("NO_COLOR", "1")
            .env("SMELT_NO_TRACK", "1")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map(Guard)
            .expect("smelt serve");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "smelt serve did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        for (k, &(start, shift)) in batches.iter().enumerate() {
            let reply = post(
                port,
                &format!("req-{k}"),
                &request(&body[start..start + 100], shift),
            );
            assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
        }
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &server.0.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        assert!(server.0.wait().unwrap().success());
    };
    let clean: Vec<(usize, bool)> = (0..20).map(|k| (4000 + k * 100, false)).collect();
    let shifted: Vec<(usize, bool)> = (0..20).map(|k| (6000 + k * 100, true)).collect();
    let drifting = tmp.path().join("logs");
    serve_and_send(&drifting, &[clean.clone(), shifted].concat());
    let watch = |logs: &std::path::Path| {
        smelt()
            .args(["monitor", "watch", "--once", "--window", "2000", "--logs"])
            .arg(logs)
            .arg("--model")
            .arg(&model)
            .output()
            .unwrap()
    };
    let o = watch(&drifting);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let shifted_window = stdout
        .lines()
        .position(|l| l.starts_with("rows 2001–4000  v1  2000 rows"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let drifted_line = stdout.lines().nth(shifted_window + 1).unwrap_or_default();
    assert!(
        drifted_line.contains("drifted: ")
            && drifted_line.contains("age")
            && drifted_line.contains("hours_per_week"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALERT v1 feature_drift:age since rows 2001–4000"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("rows 1–2000  v1  2000 rows  drift 0/14")),
        "{stdout}"
    );
    // No labels arrive, yet each window's ROC AUC is estimated (CBPE on the model's held-out
    // outcomes, saved in its profile).
    assert!(stdout.contains("estimated roc_auc 0."), "{stdout}");

    // Clean traffic only: no alert, exit 0.
    let calm = tmp.path().join("calm");
    serve_and_send(&calm, &clean);
    let o = watch(&calm);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(stdout.contains("no alert active"), "{stdout}");
}
