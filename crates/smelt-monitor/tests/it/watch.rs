//! `smelt monitor watch` as a library: prediction logs written in `smelt serve`'s layout (a
//! helper below writes them with polars) read window by window, drift found where the data
//! moved, alerts with hysteresis, shadow rows, bad files, labels, the webhook, `/metrics` and
//! the tracker.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smelt_core::profile::{ColumnProfile, ReferenceProfile};
use smelt_core::rng::SplitMix64;
use smelt_core::track::{DatasetLog, Run, Tracker, TrackingError};
use smelt_data::polars::prelude::*;
use smelt_monitor::MonitorError;
use smelt_monitor::profile::{STAND_IN_CAP, table_from_profile};
use smelt_monitor::watch::{self, AlertState, Hysteresis, LabelOptions, WatchOptions, Watcher};
use smelt_monitor::window::Window;

/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000;
const HOUR: i64 = 3_600_000_000;
const CLASSES: [&str; 2] = ["no", "yes"];

/// A time long after every logged row (closes every window by the clock).
fn later() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(2_000_000_000)
}

/// Before every logged row (no window closes by the clock).
fn before() -> SystemTime {
    UNIX_EPOCH + Duration::from_micros(T0 as u64)
}

/// One logged row.
#[derive(Clone, Debug)]
struct Row {
    id: String,
    t_us: i64,
    row: u32,
    x: f64,
    /// A feature named `time`: logged as `feature_time`.
    time_feature: f64,
    c: Option<&'static str>,
    protocol: &'static str,
}

fn proba_yes(x: f64) -> f64 {
    1.0 / (1.0 + (-(x - 0.5) * 3.0).exp())
}

/// `n` rows from `start_us`, `step_us` apart, in requests of `per_request` rows; `shift` moves
/// `x` by 2 and the categories of `c` (with 10 % of a category the reference never had).
fn rows(
    n: usize,
    start_us: i64,
    step_us: i64,
    shift: bool,
    seed: u64,
    per_request: usize,
) -> Vec<Row> {
    let mut rng = SplitMix64::new(seed);
    (0..n)
        .map(|i| {
            let u = rng.uniform();
            let c = if shift {
                match u {
                    u if u < 0.1 => "a",
                    u if u < 0.3 => "b",
                    u if u < 0.9 => "c",
                    _ => "d",
                }
            } else {
                match u {
                    u if u < 0.5 => "a",
                    u if u < 0.8 => "b",
                    _ => "c",
                }
            };
            Row {
                id: format!("s{seed}-r{}", i / per_request),
                t_us: start_us + i as i64 * step_us,
                row: (i % per_request) as u32,
                x: rng.normal() + if shift { 2.0 } else { 0.0 },
                time_feature: rng.uniform(),
                c: (rng.uniform() > 0.02).then_some(c),
                protocol: "predict",
            }
        })
        .collect()
}

/// The reference: a profile of 5000 clean rows (features `x`, `time`, `c`; target `y`; the
/// prediction and the score).
fn reference() -> smelt_monitor::table::Table {
    let r = rows(5000, T0, 1, false, 99, 1);
    let cats: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
    let classes: Vec<String> = CLASSES.map(String::from).to_vec();
    let code = |c: Option<&str>| c.and_then(|c| cats.iter().position(|k| k == c));
    let pred = |x: f64| usize::from(proba_yes(x) >= 0.5);
    let profile = ReferenceProfile {
        rows: r.len(),
        columns: vec![
            ColumnProfile::numeric("x", r.iter().map(|r| r.x)),
            ColumnProfile::numeric("time", r.iter().map(|r| r.time_feature)),
            ColumnProfile::categorical("c", &cats, r.iter().map(|r| code(r.c))),
        ],
        target: Some(ColumnProfile::categorical(
            "y",
            &classes,
            r.iter().map(|r| Some(pred(r.x))),
        )),
        prediction: Some(ColumnProfile::categorical(
            "prediction",
            &classes,
            r.iter().map(|r| Some(pred(r.x))),
        )),
        score: Some(ColumnProfile::numeric(
            "score",
            r.iter().map(|r| proba_yes(r.x)),
        )),
        outcomes: None,
    };
    table_from_profile(&profile, STAND_IN_CAP).expect("stand-in")
}

/// Writes `rows` as one log file of `version`, in the documented layout.
fn write_log(dir: &Path, version: &str, rows: &[Row], seq: u32) -> PathBuf {
    let first = chrono::DateTime::from_timestamp_micros(rows[0].t_us).expect("time");
    let folder = dir
        .join("model=adult%20model")
        .join(format!("version={version}"))
        .join(format!("date={}", first.format("%Y-%m-%d")));
    std::fs::create_dir_all(&folder).expect("folder");
    let path = folder.join(format!(
        "part-{}-{seq:06}-0000beef.parquet",
        first.format("%Y%m%dT%H%M%SZ")
    ));
    let n = rows.len();
    let p: Vec<f64> = rows.iter().map(|r| proba_yes(r.x)).collect();
    let mut df = DataFrame::new(
        n,
        vec![
            Column::new(
                "request_id".into(),
                rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ),
            Int64Chunked::from_vec("time".into(), rows.iter().map(|r| r.t_us).collect())
                .into_datetime(TimeUnit::Microseconds, Some(TimeZone::UTC))
                .into_column(),
            Column::new("model".into(), vec!["adult model"; n]),
            Column::new("version".into(), vec![version; n]),
            Column::new(
                "protocol".into(),
                rows.iter().map(|r| r.protocol).collect::<Vec<_>>(),
            ),
            Column::new("latency_us".into(), vec![120u64; n]),
            Column::new("row".into(), rows.iter().map(|r| r.row).collect::<Vec<_>>()),
            Column::new("x".into(), rows.iter().map(|r| r.x).collect::<Vec<_>>()),
            Column::new(
                "feature_time".into(),
                rows.iter().map(|r| r.time_feature).collect::<Vec<_>>(),
            ),
            Column::new("c".into(), rows.iter().map(|r| r.c).collect::<Vec<_>>()),
            Column::new(
                "prediction".into(),
                p.iter()
                    .map(|&p| CLASSES[usize::from(p >= 0.5)])
                    .collect::<Vec<_>>(),
            ),
            Column::new(
                "proba_no".into(),
                p.iter().map(|p| 1.0 - p).collect::<Vec<_>>(),
            ),
            Column::new("proba_yes".into(), p),
        ],
    )
    .expect("frame");
    let f = std::fs::File::create(&path).expect("create");
    ParquetWriter::new(f).finish(&mut df).expect("parquet");
    path
}

fn options(dir: &Path, window: Window) -> WatchOptions {
    let mut o = WatchOptions::new(dir, "adult model", reference());
    o.window = window;
    o.grace = Duration::ZERO;
    o.source = "test".into();
    o
}

/// A tracker that writes down what it is told.
#[derive(Debug, Default, Clone)]
struct Notes(Arc<Mutex<Vec<String>>>);

impl Notes {
    fn push(&self, s: String) {
        self.0.lock().expect("lock").push(s);
    }
    fn all(&self) -> Vec<String> {
        self.0.lock().expect("lock").clone()
    }
}

#[derive(Debug, Default)]
struct FakeTracker(Notes);

#[derive(Debug)]
struct FakeRun(Notes);

impl Tracker for FakeTracker {
    fn start_run(
        &self,
        experiment: &str,
        run_name: Option<&str>,
    ) -> Result<Box<dyn Run + '_>, TrackingError> {
        self.0
            .push(format!("start {experiment} {}", run_name.unwrap_or("-")));
        Ok(Box::new(FakeRun(self.0.clone())))
    }
    fn server_uri(&self) -> Option<&str> {
        None
    }
}

impl Run for FakeRun {
    fn id(&self) -> &str {
        "run-1"
    }
    fn log_params(&self, params: &[(&str, &str)]) -> Result<(), TrackingError> {
        for (k, v) in params {
            self.0.push(format!("param {k}={v}"));
        }
        Ok(())
    }
    fn log_metrics(&self, metrics: &[(&str, f64)], step: i64) -> Result<(), TrackingError> {
        for (k, v) in metrics {
            self.0.push(format!("metric {k}@{step}={v}"));
        }
        Ok(())
    }
    fn set_tags(&self, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        for (k, v) in tags {
            self.0.push(format!("tag {k}={v}"));
        }
        Ok(())
    }
    fn log_dataset(&self, _: &DatasetLog<'_>) -> Result<(), TrackingError> {
        Ok(())
    }
    fn log_artifacts(&self, _: &Path, _: &str) -> Result<u64, TrackingError> {
        Ok(0)
    }
    fn start_child(&self, _: Option<&str>) -> Result<Box<dyn Run + '_>, TrackingError> {
        Ok(Box::new(FakeRun(self.0.clone())))
    }
    fn finish(self: Box<Self>, ok: bool) -> Result<(), TrackingError> {
        self.0.push(format!("finish {ok}"));
        Ok(())
    }
}

#[test]
fn hourly_windows_find_the_shifted_hour_and_skip_shadow_rows_and_bad_files() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // Hour 0 clean (with shadow rows that are shifted: a challenger's, not the traffic), hour 1
    // shifted, hour 2 clean, hour 3 too few rows.
    let mut h0 = rows(1000, T0, 3_000_000, false, 1, 1);
    let mut shadow = rows(400, T0, 5_000_000, true, 2, 1);
    for r in &mut shadow {
        r.protocol = "shadow";
    }
    h0.extend(shadow);
    write_log(dir, "1", &h0, 1);
    write_log(dir, "1", &rows(1000, T0 + HOUR, 3_000_000, true, 3, 1), 2);
    // A file being written and a corrupt one: the first is never read, the second is skipped.
    let h2 = write_log(
        dir,
        "1",
        &rows(1000, T0 + 2 * HOUR, 3_000_000, false, 4, 1),
        3,
    );
    let folder = h2.parent().expect("folder").to_path_buf();
    std::fs::write(folder.join(".part-x.parquet.tmp"), b"PAR1 half written").expect("tmp file");
    std::fs::write(
        folder.join("part-20260101T020000Z-000009-0000dead.parquet"),
        b"not parquet",
    )
    .expect("corrupt");
    write_log(
        dir,
        "1",
        &rows(50, T0 + 3 * HOUR, 1_000_000, false, 5, 1),
        4,
    );

    let notes = Notes::default();
    let tracker = FakeTracker(notes.clone());
    let mut w = Watcher::new(options(dir, Window::Period(HOUR)), Some(&tracker)).expect("watcher");
    let reports = w.poll(later(), false).expect("poll");
    let keys: Vec<&str> = reports.iter().map(|r| r.window.as_str()).collect();
    assert_eq!(
        keys,
        [
            "2026-01-01 00:00",
            "2026-01-01 01:00",
            "2026-01-01 02:00",
            "2026-01-01 03:00"
        ]
    );
    assert_eq!(
        reports.iter().map(|r| r.rows).collect::<Vec<_>>(),
        [1000, 1000, 1000, 50]
    );
    let drifted = |i: usize| -> Vec<&str> {
        reports[i]
            .drifted()
            .iter()
            .map(|c| c.drift.column.as_str())
            .collect()
    };
    assert!(
        !reports[0].dataset_drifted && drifted(0).is_empty(),
        "{:?}",
        drifted(0)
    );
    assert!(reports[1].dataset_drifted, "{:?}", reports[1].columns);
    assert_eq!(drifted(1), ["x", "c"]);
    assert!(!reports[2].dataset_drifted && drifted(2).is_empty());
    assert!(
        reports[3]
            .skipped
            .as_deref()
            .is_some_and(|s| s.contains("50 rows"))
    );
    // The feature named `time` was found under `feature_time` and tested.
    let time = reports[0]
        .columns
        .iter()
        .find(|c| c.drift.column == "time")
        .expect("time feature");
    assert!(
        time.drift.cannot_test.is_none(),
        "{:?}",
        time.drift.cannot_test
    );
    // The predictions moved with x; the category the reference lacks is measured.
    assert!(
        reports[1]
            .prediction
            .as_ref()
            .is_some_and(|p| p.drift.drifted)
    );
    let c = reports[1]
        .columns
        .iter()
        .find(|c| c.drift.column == "c")
        .expect("c");
    assert!(
        c.unseen_share.is_some_and(|u| (u - 0.1).abs() < 0.04),
        "{:?}",
        c.unseen_share
    );
    assert!(c.missing_share > 0.0 && c.missing_share < 0.06);

    // Alerts: raised by hour 1, not yet cleared after one good hour (clear_after = 2).
    assert!(
        reports[1]
            .alerts
            .iter()
            .any(|a| a.alert == "dataset_drift" && a.state == AlertState::Raised)
    );
    assert!(
        reports[2]
            .active_alerts
            .contains(&"dataset_drift".to_string())
    );
    let stats = w.stats();
    assert_eq!((stats.files, stats.bad_files), (4, 1));
    assert_eq!((stats.rows, stats.shadow_rows), (3050, 400));
    assert_eq!((stats.windows, stats.skipped_windows), (3, 1));

    // The tracker: one run for version 1, a step per window.
    let summary = w.finish(reports);
    assert!(
        summary
            .active_alerts
            .iter()
            .any(|a| a.alert == "dataset_drift")
    );
    let notes = notes.all();
    assert_eq!(notes[0], "start monitoring watch adult model v1");
    for want in [
        "tag smelt.monitor.model=adult model",
        "tag smelt.monitor.version=1",
        "tag smelt.monitor.source=test",
        "metric drift_share@0=0",
        "metric drift_share@1=0.6666666666666666",
        "metric dataset_drift@1=1",
        "metric rows@2=1000",
        "finish true",
    ] {
        assert!(notes.iter().any(|n| n == want), "{want} not in {notes:#?}");
    }
    assert!(notes.iter().any(|n| n.starts_with("metric drift.x@1=")));
    assert!(
        !notes.iter().any(|n| n.contains("@3=")),
        "the skipped window is not logged"
    );
}

#[test]
fn a_period_window_closes_when_a_later_row_arrives_and_late_rows_are_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = &tmp.path().join("logs");
    let mut w = Watcher::new(options(dir, Window::Period(HOUR)), None).expect("watcher");
    // Nothing yet: a clear wait, no error.
    assert!(w.poll(before(), false).expect("poll").is_empty());
    assert!(
        w.waiting().is_some_and(|m| m.contains("does not exist")),
        "{:?}",
        w.waiting()
    );
    write_log(dir, "1", &rows(300, T0, 1_000_000, false, 1, 1), 1);
    assert!(
        w.poll(before(), false).expect("poll").is_empty(),
        "hour 0 is still open"
    );
    write_log(dir, "1", &rows(300, T0 + HOUR, 1_000_000, false, 2, 1), 2);
    let r = w.poll(before(), false).expect("poll");
    assert_eq!(r.len(), 1);
    assert_eq!(
        (r[0].window.as_str(), r[0].rows, r[0].partial),
        ("2026-01-01 00:00", 300, false)
    );
    // Rows of hour 0 arriving now are late: counted, left out.
    write_log(dir, "1", &rows(20, T0 + 10, 1, false, 3, 1), 3);
    assert!(w.poll(before(), false).expect("poll").is_empty());
    assert_eq!(w.stats().late_rows, 20);
    // Flushing evaluates the open hour, marked partial.
    let r = w.poll(before(), true).expect("poll");
    assert_eq!((r.len(), r[0].partial), (1, true));
}

#[test]
fn alerts_rise_after_n_bad_windows_do_not_flap_and_clear_after_m_good() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let pattern = [
        true, false, true, false, true, true, false, true, false, false,
    ];
    let mut all = Vec::new();
    for (k, &bad) in pattern.iter().enumerate() {
        all.extend(rows(
            2000,
            T0 + k as i64 * 2_000_000_000,
            1_000_000,
            bad,
            10 + k as u64,
            1,
        ));
    }
    write_log(dir, "1", &all, 1);
    // Windows of 2000 rows: the normed Wasserstein distance of a clean sample of n rows is of
    // order 1/√n, so a few hundred rows would come close to Evidently's 0.1 by chance.
    let mut o = options(dir, Window::Rows(2000));
    o.hysteresis = Hysteresis {
        raise_after: 2,
        clear_after: 2,
    };
    let mut w = Watcher::new(o, None).expect("watcher");
    let r = w.poll(later(), false).expect("poll");
    assert_eq!(r.len(), 10);
    assert_eq!(r[0].window, "rows 1–2000");

    let events: Vec<(usize, AlertState)> = r
        .iter()
        .enumerate()
        .flat_map(|(i, w)| {
            w.alerts
                .iter()
                .filter(|a| a.alert == "dataset_drift")
                .map(move |a| (i, a.state))
        })
        .collect();
    // Alternating bad and good never raises; two bad in a row do; one good window between bad
    // ones does not clear; two good ones do.
    assert_eq!(events, [(5, AlertState::Raised), (9, AlertState::Cleared)]);
}

#[test]
fn labels_join_by_request_id_and_row_and_the_rest_are_counted() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    // 600 rows in requests of 3 rows.
    let logged = rows(600, T0, 1_000_000, false, 7, 3);
    write_log(dir, "1", &logged, 1);
    // Labels for every other row: the prediction, except every 5th labelled row; plus 5
    // labels for requests that were never logged.
    let mut csv = String::from("request_id,row,label\n");
    let mut labelled = 0;
    let mut right = 0;
    for (i, r) in logged.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let predicted = CLASSES[usize::from(proba_yes(r.x) >= 0.5)];
        let wrong = (i / 2) % 5 == 0;
        let label = if wrong {
            CLASSES[usize::from(predicted == "no")]
        } else {
            predicted
        };
        csv.push_str(&format!("{},{},{label}\n", r.id, r.row));
        labelled += 1;
        right += usize::from(!wrong);
    }
    for k in 0..5 {
        csv.push_str(&format!("nobody-{k},0,yes\n"));
    }
    let labels = tmp.path().join("labels.csv");
    std::fs::write(&labels, csv).expect("labels");
    let mut o = options(dir, Window::Rows(1000));
    o.labels = Some(LabelOptions {
        path: labels,
        id_column: "request_id".into(),
        label_column: "label".into(),
    });
    let mut w = Watcher::new(o, None).expect("watcher");
    let r = w.poll(later(), true).expect("poll");
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].labelled_rows, labelled);
    let accuracy = r[0].realized["accuracy"];
    assert!(
        (accuracy - right as f64 / labelled as f64).abs() < 1e-12,
        "{accuracy}"
    );
    assert!(r[0].realized.contains_key("roc_auc"));
    let s = w.stats();
    assert_eq!((s.labels, s.labels_unjoined), (labelled + 5, 5));

    // The labels file grows and more rows are logged: both are read on the next round.
    let more = rows(200, T0 + 1_000_000_000, 1_000_000, false, 8, 1);
    write_log(dir, "1", &more, 2);
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(tmp.path().join("labels.csv"))
        .expect("labels");
    for r in &more {
        writeln!(file, "{},{},yes", r.id, r.row).expect("append");
    }
    drop(file);
    let r = w.poll(later(), true).expect("poll");
    assert_eq!((r.len(), r[0].labelled_rows), (1, 200));
    assert_eq!(w.stats().labels, labelled + 205);
}

/// A one-route HTTP server collecting request bodies.
fn collector() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let b = bodies.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let b = b.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(conn.try_clone().expect("clone"));
                let mut conn = conn;
                loop {
                    let mut len = 0usize;
                    let mut line = String::new();
                    let mut first = true;
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        if first {
                            assert!(line.starts_with("POST /hook"), "{line}");
                            first = false;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            len = v.trim().parse().unwrap_or(0);
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    let mut body = vec![0; len];
                    if reader.read_exact(&mut body).is_err() {
                        return;
                    }
                    b.lock()
                        .expect("lock")
                        .push(String::from_utf8_lossy(&body).into_owned());
                    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
                }
            });
        }
    });
    (url, bodies)
}

fn get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        s,
        "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .expect("send");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

#[test]
fn alerts_are_posted_to_the_webhook_and_gauges_are_served() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write_log(dir, "1", &rows(1000, T0, 1_000_000, false, 1, 1), 1);
    write_log(dir, "1", &rows(1000, T0 + HOUR, 1_000_000, true, 2, 1), 2);
    let (url, bodies) = collector();
    let mut o = options(dir, Window::Period(HOUR));
    o.webhook = Some(url);
    o.listen = Some("127.0.0.1:0".parse().expect("addr"));
    let mut w = Watcher::new(o, None).expect("watcher");
    let addr = w.metrics_addr().expect("served");
    let r = w.poll(later(), false).expect("poll");
    assert_eq!(r.len(), 2);
    let page = get(addr, "/metrics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    for want in [
        "smelt_feature_drift_score{model=\"adult model\",version=\"1\",feature=\"x\"}",
        "smelt_feature_drifted{model=\"adult model\",version=\"1\",feature=\"x\"} 1",
        "smelt_drift_share{model=\"adult model\",version=\"1\"} 0.666",
        "smelt_missing_share{model=\"adult model\",version=\"1\",feature=\"c\"}",
        "smelt_prediction_drift_score{model=\"adult model\",version=\"1\"}",
        "smelt_window_rows{model=\"adult model\",version=\"1\"} 1000",
        "smelt_alert_active{model=\"adult model\",version=\"1\",alert=\"dataset_drift\"} 1",
        "smelt_watch_rows_total{model=\"adult model\",version=\"1\"} 2000",
        "smelt_watch_files_total{model=\"adult model\"} 2",
        "smelt_watch_last_window_timestamp_seconds{model=\"adult model\",version=\"1\"} 1767232800",
    ] {
        assert!(page.contains(want), "{want} not in\n{page}");
    }
    assert!(get(addr, "/healthz").ends_with("ok\n"));
    let summary = w.finish(r);
    assert!(!summary.active_alerts.is_empty());
    let bodies = bodies.lock().expect("lock").clone();
    let events: Vec<serde_json::Value> = bodies
        .iter()
        .map(|b| serde_json::from_str(b).expect("JSON body"))
        .collect();
    let drift = events
        .iter()
        .find(|e| e["alert"] == "dataset_drift")
        .unwrap_or_else(|| panic!("no dataset_drift in {bodies:?}"));
    assert_eq!(drift["model"], "adult model");
    assert_eq!(drift["version"], "1");
    assert_eq!(drift["window"], "2026-01-01 01:00");
    assert_eq!(drift["state"], "raised");
    assert_eq!(drift["threshold"], 0.5);
    assert!(drift["value"].as_f64().is_some_and(|v| v > 0.6));
    assert!(drift["time"].as_str().is_some_and(|t| t.ends_with('Z')));
}

#[test]
fn a_failing_webhook_is_not_fatal_and_remote_listening_needs_consent() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    write_log(dir, "1", &rows(400, T0, 1_000_000, true, 2, 1), 1);
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", closed.local_addr().expect("addr"));
    drop(closed);
    let mut o = options(dir, Window::Period(HOUR));
    o.webhook = Some(url);
    let mut w = Watcher::new(o, None).expect("watcher");
    let r = w.poll(later(), true).expect("poll");
    assert!(!r[0].alerts.is_empty());
    w.finish(r);

    let mut o = options(dir, Window::Period(HOUR));
    o.listen = Some("0.0.0.0:0".parse().expect("addr"));
    let e = Watcher::new(o, None).unwrap_err().to_string();
    assert!(e.contains("--allow-remote"), "{e}");
}

#[test]
fn once_without_logs_names_the_models_that_have_some() {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    let stop = AtomicBool::new(false);
    let mut o = options(&dir.join("nowhere"), Window::Rows(100));
    o.once = true;
    let e = watch::run(o, None, &stop, &mut |_| {}).unwrap_err();
    assert!(
        matches!(e, MonitorError::Logs(_)) && e.to_string().contains("does not exist"),
        "{e}"
    );

    write_log(dir, "1", &rows(200, T0, 1, false, 1, 1), 1);
    let mut o = options(dir, Window::Rows(100));
    o.model = "adult-model".into();
    o.once = true;
    let e = watch::run(o, None, &stop, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("models with logs: adult model"), "{e}");
    assert!(e.contains("did you mean `--name adult model`"), "{e}");

    let mut o = options(dir, Window::Rows(150));
    o.once = true;
    let mut seen = Vec::new();
    let s = watch::run(o, None, &stop, &mut |e| {
        if let watch::Event::Window(w) = e {
            seen.push((w.window.clone(), w.partial));
        }
    })
    .expect("once");
    assert_eq!(
        seen,
        [
            ("rows 1–150".to_string(), false),
            ("rows 151–200".to_string(), true)
        ]
    );
    assert_eq!(s.windows.len(), 2);
    assert!(s.windows[1].skipped.is_some(), "50 rows < min_rows");
}

#[test]
fn keeps_up_with_logged_rows() {
    // A test-sized throughput check (the goal is 50,000 rows/s on one core; release
    // measurements are in BENCHMARKS.md): 20 files of 5000 rows, windows of 10,000 rows.
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path();
    for k in 0..20 {
        write_log(
            dir,
            "1",
            &rows(5000, T0 + k * 5000, 1, k % 4 == 3, 100 + k as u64, 1),
            k as u32,
        );
    }
    let mut o = options(dir, Window::Rows(10_000));
    o.once = true;
    let started = std::time::Instant::now();
    let s = watch::run(o, None, &AtomicBool::new(false), &mut |_| {}).expect("once");
    let secs = started.elapsed().as_secs_f64();
    assert_eq!((s.stats.rows, s.windows.len()), (100_000, 10));
    eprintln!(
        "watch: 100,000 rows in {secs:.2} s ({:.0} rows/s, debug build)",
        1e5 / secs
    );
}
