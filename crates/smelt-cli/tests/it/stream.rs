//! `smelt predict --out` scores chunk by chunk and writes atomically: killed with SIGKILL while
//! writing, it leaves either nothing at the output path or the complete file, never part of one.

use std::path::Path;
use std::time::{Duration, Instant};

use smelt_data::read::ReadOptions;

use crate::smelt;

/// Trains ridge on the bundled housing data into `dir/m`.
fn ridge(dir: &Path) -> std::path::PathBuf {
    let m = dir.join("m");
    let o = smelt()
        .args([
            "train",
            "data/housing.csv",
            "--target",
            "med_house_val",
            "--model",
            "ridge",
            "--out",
        ])
        .arg(&m)
        .output()
        .expect("smelt runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    m
}

/// The bundled housing rows `times` times over, as CSV.
fn big_housing(path: &Path, times: usize) -> u64 {
    let text =
        std::fs::read_to_string(crate::repo_root().join("data/housing.csv")).expect("bundled");
    let (header, body) = text.split_once('\n').expect("a header line");
    let mut out = String::with_capacity(header.len() + body.len() * times + 1);
    out.push_str(header);
    out.push('\n');
    for _ in 0..times {
        out.push_str(body);
        if !body.ends_with('\n') {
            out.push('\n');
        }
    }
    std::fs::write(path, out).expect("written");
    (body.trim_end().lines().count() * times) as u64
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A temporary file of the output's, with data in it.
fn writing(dir: &Path) -> bool {
    std::fs::read_dir(dir).expect("directory").any(|e| {
        let e = e.expect("entry");
        e.file_name().to_string_lossy().starts_with(".smelt-tmp-")
            && e.metadata().is_ok_and(|m| m.len() > 0)
    })
}

#[test]
fn predict_out_streams_with_a_summary_line() {
    let tmp = tempfile::tempdir().unwrap();
    let m = ridge(tmp.path());
    let out_dir = tmp.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("p.parquet");
    let o = smelt()
        .args(["predict"])
        .arg(&m)
        .arg("data/housing.parquet")
        .args(["--keep", "med_house_val", "--chunk-rows", "3000", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(
        err.starts_with(&format!("wrote 20,640 predictions to {} (", out.display()))
            && err.trim_end().ends_with(" rows/s)"),
        "{err}"
    );
    let df = smelt_data::read::read(&out, &ReadOptions::default()).unwrap();
    assert_eq!(df.shape(), (20_640, 2));
    assert_eq!(entries(&out_dir), ["p.parquet"]);
    // The same predictions as on standard output (the whole table at once).
    let o = smelt()
        .args(["predict"])
        .arg(&m)
        .arg("data/housing.parquet")
        .output()
        .unwrap();
    let csv = out_dir.join("whole.csv");
    std::fs::write(&csv, &o.stdout).unwrap();
    let whole = smelt_data::read::read(&csv, &ReadOptions::default()).unwrap();
    assert_eq!(
        df.column("prediction").unwrap(),
        whole.column("prediction").unwrap()
    );
    // --chunk-rows 0 is refused by the parser.
    let o = smelt()
        .args(["predict"])
        .arg(&m)
        .arg("data/housing.parquet")
        .args(["--chunk-rows", "0", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
}

/// Categories the model never saw are scored, and said on standard error with their rows over
/// the whole table (counted across chunks), whether streamed or printed.
#[test]
fn predict_and_eval_warn_of_categories_unseen_in_training() {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("m");
    let o = smelt()
        .args(["train", "data/penguins.csv", "--target", "species"])
        .args(["--model", "decision_tree_classifier", "--out"])
        .arg(&m)
        .output()
        .expect("smelt runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text =
        std::fs::read_to_string(crate::repo_root().join("data/penguins.csv")).expect("bundled");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let col = lines[0]
        .split(',')
        .position(|c| c == "island")
        .expect("the column");
    // Data rows 10, 150 and 300: chunks 1, 2 and 3 of 100 rows.
    for (row, value) in [(10, "Atlantis"), (150, "Atlantis"), (300, "Dream ")] {
        let mut cells: Vec<&str> = lines[row].split(',').collect();
        cells[col] = value;
        lines[row] = cells.join(",");
    }
    let csv = tmp.path().join("new.csv");
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let want = [
        "warning: column `island`: 3 rows have a category the model never saw in training, scored as an unknown category: \"Atlantis\" (2), \"Dream \" (1)",
    ];
    for streamed in [true, false] {
        let mut cmd = smelt();
        cmd.args(["predict"]).arg(&m).arg(&csv);
        if streamed {
            cmd.args(["--chunk-rows", "100", "--out"])
                .arg(tmp.path().join("p.parquet"));
        }
        let o = cmd.output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{err}");
        let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning")).collect();
        assert_eq!(warnings, want, "streamed: {streamed}\n{err}");
    }
    // `smelt eval` says the same, and so does its report.
    let report = tmp.path().join("r.html");
    let o = smelt()
        .arg("eval")
        .arg(&m)
        .arg(&csv)
        .arg("--report")
        .arg(&report)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let warnings: Vec<&str> = err.lines().filter(|l| l.starts_with("warning")).collect();
    assert_eq!(warnings, want, "eval\n{err}");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        html.contains("a category the model never saw in training"),
        "the report's notes"
    );
}

#[test]
fn predict_out_killed_while_writing_leaves_no_partial_file() {
    let tmp = tempfile::tempdir().unwrap();
    let m = ridge(tmp.path());
    let input = tmp.path().join("big.csv");
    let rows = big_housing(&input, 20); // 412,800 rows
    for format in ["parquet", "csv"] {
        let out_dir = tmp.path().join(format!("out-{format}"));
        std::fs::create_dir(&out_dir).unwrap();
        let out = out_dir.join(format!("p.{format}"));
        let mut child = smelt()
            .arg("predict")
            .arg(&m)
            .arg(&input)
            .args(["--chunk-rows", "8192", "--out"])
            .arg(&out)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Kill it (SIGKILL) as soon as the temporary output has data in it.
        let start = Instant::now();
        let mut killed = false;
        loop {
            if writing(&out_dir) {
                child.kill().unwrap();
                killed = true;
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            assert!(start.elapsed() < Duration::from_secs(300), "no progress");
            std::thread::sleep(Duration::from_millis(2));
        }
        let status = child.wait().unwrap();
        if killed {
            assert!(!status.success());
        }
        // Nothing at the output path, or the whole file; a temporary file may be left.
        if out.exists() {
            let df = smelt_data::read::read(&out, &ReadOptions::default()).unwrap();
            assert_eq!(df.height() as u64, rows);
        } else {
            assert!(killed, "finished without writing {}", out.display());
        }
        assert!(
            entries(&out_dir)
                .iter()
                .all(|e| e.starts_with(".smelt-tmp-") || *e == format!("p.{format}")),
            "{:?}",
            entries(&out_dir)
        );
        // Run to completion, it writes the whole file and leaves no temporary file of its own.
        let before = entries(&out_dir).len() - usize::from(out.exists());
        let o = smelt()
            .arg("predict")
            .arg(&m)
            .arg(&input)
            .args(["--chunk-rows", "65536", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let df = smelt_data::read::read(&out, &ReadOptions::default()).unwrap();
        assert_eq!(df.height() as u64, rows);
        assert_eq!(entries(&out_dir).len(), before + 1);
    }
}
