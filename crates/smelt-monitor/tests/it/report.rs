//! A whole monitoring run on real data: Adult split in two, one half with injected drift (age
//! shifted by 8 years, a workclass share change, a missing-value jump), the other left alone.

use std::path::{Path, PathBuf};

use smelt_monitor::run::{RunOptions, run};
use smelt_monitor::table::TableOptions;
use smelt_monitor::window::Window;

/// Writes `ref.csv` (rows 0..5000 of a seeded shuffle of adult.csv), `drifted.csv` (the next
/// 4000, edited) and `same.csv` (the next 4000, untouched) into `dir`.
pub fn adult_halves(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("data/adult.csv")).expect("adult");
    let mut lines = text.lines();
    let header = lines.next().expect("header");
    let h: Vec<&str> = header.split(',').collect();
    let col = |n: &str| h.iter().position(|c| *c == n).expect(n);
    let (age, hours, wc) = (col("age"), col("hours_per_week"), col("workclass"));
    let mut body: Vec<&str> = lines.collect();
    // A seeded shuffle (xorshift), so the halves are i.i.d.
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..body.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        body.swap(i, (s % (i as u64 + 1)) as usize);
    }
    let write = |name: &str, rows: &[&str], edit: bool| {
        let mut out = format!("{header}\n");
        for (i, l) in rows.iter().enumerate() {
            let mut f: Vec<String> = l.split(',').map(str::to_string).collect();
            if edit {
                if let Ok(a) = f[age].parse::<i64>() {
                    f[age] = (a + 8).to_string();
                }
                if i % 4 == 0 {
                    f[hours] = String::new();
                }
                if i % 10 == 0 {
                    f[wc] = "Self-emp-inc".into();
                }
            }
            out.push_str(&f.join(","));
            out.push('\n');
        }
        let p = dir.join(name);
        std::fs::write(&p, out).expect("write");
        p
    };
    (
        write("ref.csv", &body[..5000], false),
        write("drifted.csv", &body[5000..9000], true),
        write("same.csv", &body[9000..13000], false),
    )
}

fn options() -> RunOptions {
    RunOptions {
        table: TableOptions {
            target: Some("income".into()),
            ..TableOptions::default()
        },
        ..RunOptions::default()
    }
}

#[test]
fn injected_drift_and_quality_problems_are_reported_and_clean_data_passes() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, drifted, same) = adult_halves(tmp.path());
    let out = run(&reference, &drifted, &options()).expect("runs");
    let m = &out.monitoring;
    let drifted_cols: Vec<&str> = m
        .drift
        .iter()
        .filter(|d| d.drifted)
        .map(|d| d.column.as_str())
        .collect();
    assert_eq!(drifted_cols, ["age", "workclass"], "{:?}", m.drift);
    assert_eq!(m.drift[0].method, "wasserstein");
    assert!(!m.dataset_drifted());
    let failed: Vec<String> = m
        .failed_checks()
        .iter()
        .map(|q| format!("{}:{}", q.check, q.column.clone().unwrap_or_default()))
        .collect();
    assert_eq!(failed, ["missing_values:hours_per_week"]);
    assert!(m.failed());
    let target = m
        .drift
        .iter()
        .find(|d| d.column == "income")
        .expect("target");
    assert!(!target.drifted);

    // The report: summary first, the drifted columns' plots, the JSON twin with every finding.
    let report = m.report(&out.reference, &out.current, 12);
    let html = report.to_html().expect("html");
    assert!(html.contains("Monitoring report") && html.contains("age: reference and current"));
    assert!(html.contains("workclass: category shares"));
    let json = report.to_json();
    assert_eq!(json["data"]["failed"], true);
    assert_eq!(json["data"]["drift"][0]["column"], "age");

    let clean = run(&reference, &same, &options()).expect("runs");
    assert_eq!(
        clean.monitoring.n_drifted(),
        0,
        "{:?}",
        clean.monitoring.drift
    );
    assert!(
        !clean.monitoring.failed(),
        "{:?}",
        clean.monitoring.failed_checks()
    );
}

#[test]
fn windows_of_rows_each_get_a_drift_share() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, drifted, _) = adult_halves(tmp.path());
    let mut opts = options();
    opts.window = Some(Window::Rows(1000));
    let out = run(&reference, &drifted, &opts).expect("runs");
    let w = &out.monitoring.windows;
    assert_eq!(w.len(), 4);
    assert_eq!(w[0].key, "rows 1–1000");
    assert!(
        w.iter().all(|w| w.rows == 1000 && w.n_drifted >= 1),
        "{w:?}"
    );
}

#[test]
fn a_missing_target_column_is_a_clear_error() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, drifted, _) = adult_halves(tmp.path());
    let mut opts = options();
    opts.table.target = Some("incme".into());
    let e = run(&reference, &drifted, &opts).unwrap_err().to_string();
    assert!(
        e.contains("no target column `incme`") && e.contains("did you mean `income`"),
        "{e}"
    );
}
