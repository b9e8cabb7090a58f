//! A whole monitoring run on real data: Adult split in two, one half with injected drift (age
//! shifted by 8 years, a workclass share change, a missing-value jump), the other left alone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use smelt_monitor::run::{RunOptions, run};
use smelt_monitor::table::TableOptions;
use smelt_monitor::window::Window;

/// Adult's header and rows in a seeded shuffle (xorshift), so that any slices are i.i.d.
fn shuffled() -> (String, Vec<String>) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let text = std::fs::read_to_string(repo.join("data/adult.csv")).expect("adult");
    let mut lines = text.lines();
    let header = lines.next().expect("header").to_string();
    let mut body: Vec<String> = lines.map(str::to_string).collect();
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    for i in (1..body.len()).rev() {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        body.swap(i, (s % (i as u64 + 1)) as usize);
    }
    (header, body)
}

/// Writes `ref.csv` (rows 0..5000 of a seeded shuffle of adult.csv), `drifted.csv` (the next
/// 4000, edited) and `same.csv` (the next 4000, untouched) into `dir`.
pub fn adult_halves(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let (header, body) = shuffled();
    let h: Vec<&str> = header.split(',').collect();
    let col = |n: &str| h.iter().position(|c| *c == n).expect(n);
    let (age, hours, wc) = (col("age"), col("hours_per_week"), col("workclass"));
    let write = |name: &str, rows: &[String], edit: bool| {
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

/// A gradient-boosting model trained on the rows after those of [`adult_halves`].
fn adult_model(dir: &Path) -> Arc<dyn smelt_core::Predictor> {
    let (header, body) = shuffled();
    let path = dir.join("train.csv");
    std::fs::write(
        &path,
        format!("{header}\n{}\n", body[13000..25000].join("\n")),
    )
    .expect("write");
    let data = smelt_data::load(
        &path,
        &smelt_data::LoadOptions::default().with_target("income"),
    )
    .expect("load");
    let trained = smelt_workflow::train(
        &data,
        "hist_gradient_boosting_classifier",
        smelt_workflow::Params::new(),
        &smelt_workflow::train::TrainOptions::default(),
    )
    .expect("train");
    Arc::from(trained.model.into_predictor())
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
    let report = m.report(12);
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

#[test]
fn a_model_gives_prediction_drift_realized_and_estimated_performance() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, drifted, same) = adult_halves(tmp.path());
    let model = adult_model(tmp.path());
    let mut opts = options();
    opts.model = Some(model);
    opts.window = Some(Window::Rows(1000));
    let out = run(&reference, &same, &opts).expect("runs");
    let m = &out.monitoring;
    let get = |method: &str, metric: &str| {
        m.performance
            .iter()
            .find(|t| t.method == method && t.metric == metric)
            .unwrap_or_else(|| panic!("{method} {metric}: {:?}", m.performance))
    };
    // Labels exist in the current data: the estimate and the realized value agree.
    let est = get("cbpe", "roc_auc");
    let real = get("realized", "roc_auc");
    let (e, r) = (
        est.current.value.expect("estimate"),
        real.current.value.expect("realized"),
    );
    assert!((0.85..0.95).contains(&r), "{r}");
    assert!((e - r).abs() < 0.03, "estimated {e} realized {r}");
    assert_eq!(est.current.realized, real.current.value);
    assert!(est.current.lower.expect("lo") < e && e < est.current.upper.expect("hi"));
    assert_eq!(est.windows.len(), 4);
    assert!(
        est.windows
            .iter()
            .all(|w| w.rows == 1000 && w.value.is_some())
    );
    let acc = get("cbpe", "accuracy");
    assert!((acc.reference.expect("ref") - acc.current.value.expect("cur")).abs() < 0.03);
    // Unchanged data: no alert, no prediction drift, the multivariate score stays inside.
    assert!(m.alerts().is_empty(), "{:?}", m.alerts());
    let pred = m
        .drift
        .iter()
        .find(|d| d.column == "prediction")
        .expect("prediction drift");
    assert!(!pred.drifted, "{pred:?}");
    assert!(m.drift.iter().any(|d| d.column == "proba_>50K"));
    let rec = m
        .multivariate
        .iter()
        .find(|t| t.metric == "reconstruction_error")
        .expect("reconstruction");
    assert!(!rec.current.alert, "{rec:?}");
    assert!(m.measures().contains_key("estimated_roc_auc"));

    // educational_num shuffled across rows: every column's distribution is unchanged, but its
    // tie to education is broken — only the multivariate score sees it.
    let text = std::fs::read_to_string(&same).expect("read");
    let mut lines: Vec<Vec<String>> = text
        .lines()
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let j = lines[0]
        .iter()
        .position(|c| c == "educational_num")
        .expect("column");
    let n = lines.len();
    for i in 1..n {
        let k = 1 + (i * 7919) % (n - 1);
        let (a, b) = (lines[i][j].clone(), lines[k][j].clone());
        lines[i][j] = b;
        lines[k][j] = a;
    }
    let decorrelated = tmp.path().join("decorrelated.csv");
    let body: Vec<String> = lines.iter().map(|l| l.join(",")).collect();
    std::fs::write(&decorrelated, body.join("\n") + "\n").expect("write");
    let out = run(&reference, &decorrelated, &opts).expect("runs");
    let m = &out.monitoring;
    assert_eq!(m.n_drifted(), 0, "{:?}", m.drift);
    let rec = m
        .multivariate
        .iter()
        .find(|t| t.metric == "reconstruction_error")
        .expect("reconstruction");
    assert!(rec.current.alert, "{rec:?}");
    assert!(m.failed());

    // The drifted half: the report shows both sections.
    let out = run(&reference, &drifted, &opts).expect("runs");
    let m = &out.monitoring;
    let html = m.report(12).to_html().expect("html");
    assert!(html.contains("Model performance") && html.contains("Multivariate drift"));
    assert!(html.contains("ROC AUC by window (cbpe)"));

    // By slice: each relationship's estimate is close to what its labels say.
    let mut sliced = opts.clone();
    sliced.slice = Some("relationship".into());
    let out = run(&reference, &same, &sliced).expect("runs");
    let (column, by) = out.monitoring.by_slice.as_ref().expect("by slice");
    assert_eq!(column, "relationship");
    let est = by
        .iter()
        .find(|t| t.method == "cbpe" && t.metric == "accuracy")
        .expect("estimated accuracy");
    let real = by
        .iter()
        .find(|t| t.method == "realized" && t.metric == "accuracy")
        .expect("realized accuracy");
    assert_eq!(est.windows.len(), 6, "{:?}", est.windows);
    assert_eq!(est.windows[0].key, "Husband");
    for (e, r) in est.windows.iter().zip(&real.windows) {
        let (ev, rv) = (e.value.expect("estimate"), r.value.expect("realized"));
        assert!(e.rows > 100 || (ev - rv).abs() < 0.15, "{e:?} {r:?}");
        if e.rows > 400 {
            assert!(
                (ev - rv).abs() < 0.04,
                "{}: estimated {ev} realized {rv}",
                e.key
            );
        }
    }
    let html = out.monitoring.report(12).to_html().expect("html");
    assert!(html.contains("Performance by relationship"));

    // Without labels in the reference there is nothing to estimate from: a note says so.
    let mut unlabelled = opts.clone();
    unlabelled.table.target = None;
    let out = run(&reference, &same, &unlabelled).expect("runs");
    assert!(out.monitoring.performance.is_empty());
    assert!(
        out.monitoring.notes.iter().any(|n| n.contains("no labels")),
        "{:?}",
        out.monitoring.notes
    );
}

#[test]
fn score_and_prediction_columns_stand_in_for_a_model() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, _, same) = adult_halves(tmp.path());
    let model = adult_model(tmp.path());
    // Score both tables into files with prediction and probability columns.
    let add = |path: &Path, name: &str| -> PathBuf {
        let frame = smelt_data::read::read(path, &Default::default()).expect("read");
        let (_, data) = smelt_data::frame_for_model(frame.clone(), path, model.input_features())
            .expect("features");
        let pred = model.predict(&data).expect("predict");
        let mut cols = smelt_workflow::model::prediction_columns(&pred);
        let mut frame = frame;
        for c in cols.drain(..) {
            frame.with_column(c).expect("column");
        }
        let out = tmp.path().join(name);
        smelt_data::write::write_table(&mut frame, &out, smelt_data::read::Format::Parquet)
            .expect("write");
        out
    };
    let (r, c) = (
        add(&reference, "ref_scored.parquet"),
        add(&same, "same_scored.parquet"),
    );
    let mut opts = options();
    opts.table.prediction = Some("prediction".into());
    opts.table.score = Some("proba_>50K".into());
    let out = run(&r, &c, &opts).expect("runs");
    let m = &out.monitoring;
    let est = m
        .performance
        .iter()
        .find(|t| t.method == "cbpe" && t.metric == "roc_auc")
        .expect("cbpe from columns");
    let real = m
        .performance
        .iter()
        .find(|t| t.method == "realized" && t.metric == "roc_auc")
        .expect("realized from columns");
    assert!(
        (est.current.value.expect("e") - real.current.value.expect("r")).abs() < 0.03,
        "{est:?} {real:?}"
    );
}

#[test]
fn time_windows_flag_a_gap_and_a_thin_day() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, _, same) = adult_halves(tmp.path());
    // 4,000 current rows over five days: 1,000, 1,000, none, 1,000 and 200 — and a reference
    // without the time column.
    let text = std::fs::read_to_string(&same).expect("read");
    let mut lines = text.lines();
    let mut out = format!("{},ts\n", lines.next().expect("header"));
    for (i, l) in lines.take(3200).enumerate() {
        let day = match i / 1000 {
            0 => 1,
            1 => 2,
            2 => 4,
            _ => 5,
        };
        out.push_str(&format!("{l},2026-11-0{day}T{:02}:00:00\n", i % 24));
    }
    let current = tmp.path().join("timed.csv");
    std::fs::write(&current, out).expect("write");
    let mut opts = options();
    opts.table.time = Some("ts".into());
    opts.window = Some(Window::parse("1d").expect("1d"));
    let out = run(&reference, &current, &opts).expect("runs");
    let m = &out.monitoring;
    let keys: Vec<&str> = m.windows.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "2026-11-01",
            "2026-11-02",
            "2026-11-03",
            "2026-11-04",
            "2026-11-05"
        ]
    );
    let flags: Vec<Option<&str>> = m
        .windows
        .iter()
        .map(|w| w.volume_anomaly.as_deref())
        .collect();
    assert_eq!(flags[2], Some("no rows"));
    assert!(
        flags[4].is_some_and(|f| f.contains("200 rows")),
        "{flags:?}"
    );
    assert!(flags[0].is_none() && flags[1].is_none() && flags[3].is_none());
    let check = m
        .quality
        .iter()
        .find(|q| q.check == "window_volume")
        .expect("volume check");
    assert!(
        check.failed && check.message.contains("2026-11-03"),
        "{check:?}"
    );
    assert!(m.failed());
    // The empty day has no drift verdict, and the report still renders.
    assert_eq!(m.windows[2].n_columns, 0);
    assert!(m.report(12).to_html().is_ok());
}

#[test]
fn labels_from_a_separate_table_join_by_request_id() {
    let tmp = tempfile::tempdir().expect("tmp");
    let (reference, _, same) = adult_halves(tmp.path());
    let model = adult_model(tmp.path());
    // The current rows without their label but with a request id; 70 % of the labels apart.
    let text = std::fs::read_to_string(&same).expect("read");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let y = header.iter().position(|c| *c == "income").expect("income");
    let mut current = format!(
        "request_id,{}\n",
        header
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != y)
            .map(|(_, c)| *c)
            .collect::<Vec<_>>()
            .join(",")
    );
    let mut labels = String::from("request_id,income\n");
    for (i, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        let rest: Vec<&str> = f
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != y)
            .map(|(_, v)| *v)
            .collect();
        current.push_str(&format!("r{i},{}\n", rest.join(",")));
        if i % 10 < 7 {
            labels.push_str(&format!("r{i},{}\n", f[y]));
        }
    }
    labels.push_str("nobody,>50K\n");
    let (cur, lab) = (
        tmp.path().join("current.csv"),
        tmp.path().join("labels.csv"),
    );
    std::fs::write(&cur, current).expect("write");
    std::fs::write(&lab, labels).expect("write");
    let mut opts = options();
    opts.model = Some(model);
    opts.table.id = vec!["request_id".into()];
    opts.labels = Some(smelt_monitor::watch::LabelOptions {
        path: lab,
        id_column: "request_id".into(),
        label_column: "income".into(),
    });
    let out = run(&reference, &cur, &opts).expect("runs");
    let m = &out.monitoring;
    assert!(
        m.notes.iter().any(
            |n| n.contains("2800 of 4000 current rows joined") && n.contains("1 joined no row")
        ),
        "{:?}",
        m.notes
    );
    let real = m
        .performance
        .iter()
        .find(|t| t.method == "realized" && t.metric == "roc_auc")
        .expect("realized from the joined labels");
    assert!((0.85..0.95).contains(&real.current.value.expect("value")));
    assert!(m.drift.iter().any(|d| d.column == "income" && !d.drifted));
}
