use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use smelt_core::{Feature, FeatureKind, LogicalType, Prediction, Proba};
use smelt_data::polars::prelude::{
    AnyValue, DataFrame, DataType, HiveOptions, LazyFrame, PlRefPath, ScanArgsParquet,
    SortMultipleOptions, TimeUnit, TimeZone,
};

use super::*;

fn feature(name: &str, ltype: LogicalType) -> Feature {
    Feature {
        name: name.into(),
        ltype,
        kind: FeatureKind::Numeric,
    }
}

fn churn() -> Arc<VersionInfo> {
    VersionInfo::new(
        "churn",
        "3",
        &[
            feature("age", LogicalType::Integer),
            Feature {
                name: "colour".into(),
                ltype: LogicalType::Categorical,
                kind: FeatureKind::Categorical {
                    categories: vec!["blue".into(), "red".into()],
                },
            },
            feature("member", LogicalType::Boolean),
            feature("income", LogicalType::Numeric),
            feature("when", LogicalType::Datetime),
            // Named like an output column: written as `feature_prediction`.
            feature("prediction", LogicalType::Numeric),
        ],
    )
}

fn price() -> Arc<VersionInfo> {
    VersionInfo::new("price", "v1 beta/2", &[feature("x", LogicalType::Numeric)])
}

/// 2024-05-01T12:00:00Z plus `s` seconds.
fn at(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_714_564_800 + s)
}

fn classified(labels: Vec<u32>, proba_yes: &[f64]) -> Prediction {
    Prediction::Classification {
        labels,
        classes: vec!["no".into(), "yes".into()],
        proba: Some(Proba {
            n_classes: 2,
            values: proba_yes.iter().flat_map(|&p| [1.0 - p, p]).collect(),
        }),
    }
}

fn entry(
    id: &str,
    time: SystemTime,
    v: &Arc<VersionInfo>,
    values: Vec<f64>,
    prediction: Prediction,
) -> Entry {
    let n = prediction.len();
    Entry {
        request_id: id.into(),
        time,
        version: v.clone(),
        protocol: "predict",
        latency_us: 250,
        rows: Rows::numeric(n, values),
        prediction,
    }
}

/// Every file under `dir`, relative, sorted.
fn files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                out.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

fn scan(glob: PathBuf) -> DataFrame {
    let args = ScanArgsParquet {
        hive_options: HiveOptions::new_enabled(),
        ..Default::default()
    };
    LazyFrame::scan_parquet(PlRefPath::new(glob.to_string_lossy().as_ref()), args)
        .unwrap()
        .sort(["request_id", "row"], SortMultipleOptions::default())
        .collect()
        .unwrap()
}

fn strs(df: &DataFrame, col: &str) -> Vec<Option<String>> {
    let s = df.column(col).unwrap().as_materialized_series().clone();
    s.iter()
        .map(|v| match v {
            AnyValue::Null => None,
            AnyValue::String(s) => Some(s.to_string()),
            AnyValue::StringOwned(s) => Some(s.to_string()),
            other => Some(other.to_string()),
        })
        .collect()
}

fn f64s(df: &DataFrame, col: &str) -> Vec<Option<f64>> {
    df.column(col).unwrap().f64().unwrap().iter().collect()
}

fn dtypes(df: &DataFrame) -> Vec<(String, DataType)> {
    df.columns()
        .iter()
        .map(|c| (c.name().to_string(), c.dtype().clone()))
        .collect()
}

#[test]
fn two_models_rotated_by_rows_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LogConfig::new(dir.path());
    config.rotate_rows = 4;
    let log = PredictionLog::start(&config).unwrap();
    let (c, p) = (churn(), price());
    let nan = f64::NAN;
    let when = 1_700_000_000_000_000.0;
    // r1: 3 rows; columns age, colour, member, income, when, prediction.
    log.record(entry(
        "r1",
        at(0),
        &c,
        [
            [41.0, nan, 7.0],
            [1.0, 0.0, nan],
            [1.0, 0.0, nan],
            [1.5, nan, -2.0],
            [when, nan, when],
            [9.0, 8.0, 7.0],
        ]
        .concat(),
        classified(vec![1, 0, 0], &[0.75, 0.25, 0.5]),
    ));
    log.record(entry(
        "r2",
        at(1),
        &c,
        vec![
            30.0, 31.0, 1.0, 1.0, 0.0, 1.0, 0.5, 0.25, nan, nan, 1.0, 2.0,
        ],
        classified(vec![1, 1], &[0.625, 0.875]),
    ));
    // 5 rows ≥ 4: the first churn file is written; r3 starts the next one.
    log.record(entry(
        "r3",
        at(2),
        &c,
        vec![50.0, 1.0, 0.0, 3.0, nan, 0.0],
        classified(vec![0], &[0.125]),
    ));
    log.record(entry(
        "p1",
        at(3),
        &p,
        vec![2.0, nan],
        Prediction::Regression {
            values: vec![10.5, 11.5],
        },
    ));
    let seg = VersionInfo::new("segments", "1", &[feature("x", LogicalType::Numeric)]);
    log.record(entry(
        "",
        at(4),
        &seg,
        vec![0.5, 0.75],
        Prediction::Clustering {
            labels: vec![2, -1],
        },
    ));
    let stats = log.close();
    assert_eq!(
        stats,
        LogStats {
            recorded: 5,
            dropped: 0,
            rows_written: 10,
            files_written: 4,
            write_errors: 0,
            rows_lost: 0,
        }
    );
    assert_eq!(log.close(), stats, "close is idempotent");

    let all = files(dir.path());
    assert_eq!(all.len(), 4, "{all:?}");
    assert!(all.iter().all(|f| f.ends_with(".parquet")), "{all:?}");
    let churn_files: Vec<_> = all
        .iter()
        .filter(|f| f.starts_with("model=churn/"))
        .collect();
    assert_eq!(churn_files.len(), 2, "{all:?}");
    for f in &churn_files {
        assert!(
            f.starts_with("model=churn/version=3/date=2024-05-01/part-20240501T1200"),
            "{f}"
        );
    }
    assert!(
        all.iter()
            .any(|f| f.starts_with("model=price/version=v1%20beta%2F2/date=2024-05-01/part-")),
        "{all:?}"
    );

    // The churn version as one table, partitions included.
    let df = scan(dir.path().join("model=churn/version=3/**/*.parquet"));
    let utc = DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC));
    let expected: Vec<(String, DataType)> = [
        ("request_id", DataType::String),
        ("time", utc),
        ("model", DataType::String),
        ("version", DataType::String),
        ("protocol", DataType::String),
        ("latency_us", DataType::UInt64),
        ("row", DataType::UInt32),
        ("age", DataType::Int64),
        ("colour", DataType::String),
        ("member", DataType::Boolean),
        ("income", DataType::Float64),
        ("when", DataType::Datetime(TimeUnit::Microseconds, None)),
        ("feature_prediction", DataType::Float64),
        ("prediction", DataType::String),
        ("proba_no", DataType::Float64),
        ("proba_yes", DataType::Float64),
        ("date", DataType::Date),
    ]
    .into_iter()
    .map(|(n, t)| (n.to_string(), t))
    .collect();
    assert_eq!(dtypes(&df), expected);
    assert_eq!(df.height(), 6);
    let s = |v: &[&str]| v.iter().map(|x| Some(x.to_string())).collect::<Vec<_>>();
    assert_eq!(
        strs(&df, "request_id"),
        s(&["r1", "r1", "r1", "r2", "r2", "r3"])
    );
    assert_eq!(
        df.column("row")
            .unwrap()
            .u32()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [0, 1, 2, 0, 1, 0].map(Some)
    );
    assert_eq!(
        df.column("age")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [Some(41), None, Some(7), Some(30), Some(31), Some(50)]
    );
    assert_eq!(
        strs(&df, "colour"),
        [
            Some("red"),
            Some("blue"),
            None,
            Some("red"),
            Some("red"),
            Some("red")
        ]
        .map(|x| x.map(str::to_string))
    );
    assert_eq!(
        df.column("member")
            .unwrap()
            .bool()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [
            Some(true),
            Some(false),
            None,
            Some(false),
            Some(true),
            Some(false)
        ]
    );
    assert_eq!(
        f64s(&df, "income"),
        [
            Some(1.5),
            None,
            Some(-2.0),
            Some(0.5),
            Some(0.25),
            Some(3.0)
        ]
    );
    let when_us: Vec<Option<i64>> = df
        .column("when")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .unwrap()
        .iter()
        .collect();
    let w = Some(1_700_000_000_000_000);
    assert_eq!(when_us, [w, None, w, None, None, None]);
    assert_eq!(
        f64s(&df, "feature_prediction"),
        [9.0, 8.0, 7.0, 1.0, 2.0, 0.0].map(Some)
    );
    assert_eq!(
        strs(&df, "prediction"),
        s(&["yes", "no", "no", "yes", "yes", "no"])
    );
    assert_eq!(
        f64s(&df, "proba_yes"),
        [0.75, 0.25, 0.5, 0.625, 0.875, 0.125].map(Some)
    );
    assert_eq!(
        f64s(&df, "proba_no"),
        [0.25, 0.75, 0.5, 0.375, 0.125, 0.875].map(Some)
    );
    assert_eq!(strs(&df, "model"), s(&["churn"; 6]));
    assert_eq!(strs(&df, "version"), s(&["3"; 6]));
    assert_eq!(strs(&df, "protocol"), s(&["predict"; 6]));
    assert_eq!(
        df.column("latency_us").unwrap().u64().unwrap().get(0),
        Some(250)
    );
    let times: Vec<Option<i64>> = df
        .column("time")
        .unwrap()
        .as_materialized_series()
        .to_physical_repr()
        .i64()
        .unwrap()
        .iter()
        .collect();
    let t0 = 1_714_564_800_000_000;
    assert_eq!(
        times,
        [t0, t0, t0, t0 + 1_000_000, t0 + 1_000_000, t0 + 2_000_000].map(Some)
    );

    // The folder itself reads the same (no glob).
    let same = scan(dir.path().join("model=churn/version=3"));
    assert_eq!(dtypes(&same), dtypes(&df));
    assert!(same.equals_missing(&df));

    // Regression, under a percent-encoded version folder that reads back as served.
    let df = scan(dir.path().join("model=price/**/*.parquet"));
    assert_eq!(df.column("prediction").unwrap().dtype(), &DataType::Float64);
    assert_eq!(f64s(&df, "prediction"), [Some(10.5), Some(11.5)]);
    assert_eq!(f64s(&df, "x"), [Some(2.0), None]);
    assert_eq!(strs(&df, "version"), s(&["v1 beta/2"; 2]));

    // Clustering, with an id the writer made.
    let df = scan(dir.path().join("model=segments/**/*.parquet"));
    assert_eq!(
        df.column("prediction")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        [Some(2), Some(-1)]
    );
    let ids = strs(&df, "request_id");
    assert!(ids[0].as_deref().is_some_and(|id| id.len() > 8), "{ids:?}");
    assert_eq!(ids[0], ids[1]);
}

#[test]
fn full_queue_drops_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = LogConfig::new(dir.path());
    config.queue = 2;
    let log = PredictionLog::start(&config).unwrap();
    let (release, entered) = log.pause();
    entered.recv().unwrap();
    let p = price();
    let one = |id: &str| {
        entry(
            id,
            at(0),
            &p,
            vec![1.0],
            Prediction::Regression { values: vec![1.0] },
        )
    };
    let start = std::time::Instant::now();
    for i in 0..5 {
        log.record(one(&format!("q{i}")));
    }
    assert!(start.elapsed() < Duration::from_secs(1), "record blocked");
    assert_eq!(log.dropped(), 3);
    assert_eq!(log.queued(), 2);
    drop(release);
    let stats = log.close();
    assert_eq!(
        (stats.recorded, stats.dropped, stats.rows_written),
        (2, 3, 2)
    );
    // Closed: later entries are dropped too, without blocking.
    log.record(one("late"));
    assert_eq!(log.dropped(), 4);
    let all = files(dir.path());
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(!all.iter().any(|f| f.contains(".tmp")), "{all:?}");
}

#[test]
fn rotates_by_age_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let log =
        PredictionLog::start_with(&LogConfig::new(dir.path()), Duration::from_millis(50)).unwrap();
    let p = price();
    let one = || {
        entry(
            "a",
            SystemTime::now(),
            &p,
            vec![1.0],
            Prediction::Regression { values: vec![1.0] },
        )
    };
    log.record(one());
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while log.stats().files_written == 0 {
        assert!(std::time::Instant::now() < deadline, "no file after 10 s");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(files(dir.path()).len(), 1);
    // flush() writes what is buffered without waiting for the age.
    let log = PredictionLog::start(&LogConfig::new(dir.path())).unwrap();
    log.record(one());
    log.flush();
    assert_eq!(log.stats().files_written, 1);
    assert_eq!(files(dir.path()).len(), 2);
}

#[test]
fn failures_are_counted_and_logging_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    // A file where the model's folder should be: every write for it fails.
    std::fs::write(dir.path().join("model=price"), b"").unwrap();
    let log = PredictionLog::start(&LogConfig::new(dir.path())).unwrap();
    let p = price();
    log.record(entry(
        "a",
        at(0),
        &p,
        vec![1.0, 2.0],
        Prediction::Regression {
            values: vec![1.0, 2.0],
        },
    ));
    // Malformed: 3 values for 2 rows of 1 feature.
    let seg = VersionInfo::new("segments", "1", &[feature("x", LogicalType::Numeric)]);
    log.record(entry(
        "b",
        at(0),
        &seg,
        vec![1.0, 2.0, 3.0],
        Prediction::Clustering { labels: vec![0, 1] },
    ));
    log.record(entry(
        "c",
        at(0),
        &seg,
        vec![1.0],
        Prediction::Clustering { labels: vec![0] },
    ));
    let stats = log.close();
    assert_eq!(stats.write_errors, 1);
    assert_eq!(stats.rows_lost, 4);
    assert_eq!((stats.files_written, stats.rows_written), (1, 1));
    let all = files(dir.path());
    assert!(!all.iter().any(|f| f.contains(".tmp")), "{all:?}");
}

#[test]
fn a_changed_signature_starts_a_new_file() {
    let dir = tempfile::tempdir().unwrap();
    let log = PredictionLog::start(&LogConfig::new(dir.path())).unwrap();
    let a = VersionInfo::new("m", "1", &[feature("x", LogicalType::Numeric)]);
    let b = VersionInfo::new("m", "1", &[feature("y", LogicalType::Numeric)]);
    let reg = || Prediction::Regression { values: vec![1.0] };
    log.record(entry("1", at(0), &a, vec![1.0], reg()));
    log.record(entry(
        "2",
        at(0),
        &VersionInfo::new("m", "1", &a.features),
        vec![1.0],
        reg(),
    ));
    log.record(entry("3", at(0), &b, vec![1.0], reg()));
    // Next day: another partition.
    log.record(entry("4", at(86_400), &b, vec![1.0], reg()));
    assert_eq!(log.close().files_written, 3);
    let all = files(dir.path());
    assert_eq!(
        all.iter().filter(|f| f.contains("date=2024-05-02")).count(),
        1,
        "{all:?}"
    );
}

#[test]
fn config_sampling_and_names() {
    let c: LogConfig = toml::from_str("dir = \"/tmp/x\"\nsample = 0.25\n").unwrap();
    assert_eq!(
        (c.rotate_rows, c.rotate_seconds, c.queue, c.sample),
        (100_000, 3600, 65_536, 0.25)
    );
    assert!(
        toml::from_str::<LogConfig>("dir = \"x\"\nrotate = 1\n")
            .unwrap_err()
            .to_string()
            .contains("unknown field")
    );
    let mut bad = LogConfig::new("x");
    bad.sample = 1.5;
    assert!(bad.check().unwrap_err().to_string().contains("log.sample"));
    bad.sample = 1.0;
    bad.rotate_rows = 0;
    assert!(bad.check().is_err());

    let dir = tempfile::tempdir().unwrap();
    let mut config = LogConfig::new(dir.path());
    config.sample = 0.25;
    let log = PredictionLog::start(&config).unwrap();
    let kept = (0..1000).filter(|_| log.sampled()).count();
    assert!((249..=251).contains(&kept), "{kept}");
    config.sample = 0.0;
    assert!(!PredictionLog::start(&config).unwrap().sampled());

    assert_eq!(
        smelt_core::predlog::encode_partition("churn-v1.2_x"),
        "churn-v1.2_x"
    );
    assert_eq!(
        smelt_core::predlog::encode_partition("a/../b c"),
        "a%2F..%2Fb%20c"
    );
    assert_eq!(smelt_core::predlog::encode_partition("é"), "%C3%A9");
}
