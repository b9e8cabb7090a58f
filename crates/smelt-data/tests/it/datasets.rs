//! The real datasets bundled in `data/`: every one loads, converts and fingerprints, and the
//! CSV and Parquet copies of a table have the same fingerprint.

use smelt_core::{LogicalType, Role, Target};
use smelt_data::convert::to_dataset;
use smelt_data::polars::prelude::DataType;
use smelt_data::{LoadOptions, load};

use crate::data_dir;

#[test]
fn every_bundled_dataset_loads() {
    let mut seen = 0;
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let p = entry.unwrap().path();
        let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "csv" | "parquet") {
            continue;
        }
        let loaded =
            load(&p, &LoadOptions::default()).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(loaded.frame.height() > 0);
        let ds = to_dataset::<f32>(&loaded.frame, &loaded.schema, &p).unwrap();
        assert_eq!(ds.n_rows(), loaded.frame.height());
        assert_eq!(loaded.fingerprint().unwrap().len(), 64);
        seen += 1;
    }
    assert!(seen >= 10, "only {seen} datasets found");
}

#[test]
fn csv_and_parquet_have_one_fingerprint() {
    for name in ["adult", "housing", "nyc_weather", "car_loan"] {
        let csv = load(
            &data_dir().join(format!("{name}.csv")),
            &LoadOptions::default(),
        )
        .unwrap();
        let pq = load(
            &data_dir().join(format!("{name}.parquet")),
            &LoadOptions::default(),
        )
        .unwrap();
        assert_eq!(csv.schema, pq.schema, "{name}: schemas differ");
        assert_eq!(
            csv.fingerprint().unwrap(),
            pq.fingerprint().unwrap(),
            "{name}"
        );
    }
}

#[test]
fn adult_schema_and_dataset() {
    let p = data_dir().join("adult.csv");
    let loaded = load(&p, &LoadOptions::default().with_target("income")).unwrap();
    let s = &loaded.schema;
    assert_eq!(s.len(), 15);
    assert_eq!(s.get("age").unwrap().ltype, LogicalType::Integer);
    assert_eq!(s.get("workclass").unwrap().ltype, LogicalType::Categorical);
    assert_eq!(s.get("income").unwrap().role, Role::Target);
    let ds = to_dataset::<f32>(&loaded.frame, s, &p).unwrap();
    assert_eq!((ds.n_rows(), ds.n_features()), (48_842, 14));
    // 2,799 missing workclass values, as documented for the dataset.
    let wc = ds.feature_index("workclass").unwrap();
    assert_eq!(ds.missing_counts()[wc], 2799);
    match ds.target().unwrap() {
        Target::Classification { classes, codes } => {
            assert_eq!(classes, &["<=50K", ">50K"]);
            let pos = codes.iter().filter(|&&c| c == 1).count() as f64 / codes.len() as f64;
            assert!((pos - 0.239).abs() < 0.001, "{pos}");
        }
        t => panic!("{t:?}"),
    }
}

#[test]
fn timestamps_become_time_columns() {
    let p = data_dir().join("nyc_weather.csv");
    let loaded = load(&p, &LoadOptions::default()).unwrap();
    let c = loaded.schema.get("time_hour").unwrap();
    assert_eq!((c.ltype, c.role), (LogicalType::Datetime, Role::Time));
    let p = data_dir().join("car_loan.csv");
    let loaded = load(&p, &LoadOptions::default()).unwrap();
    assert_eq!(
        loaded.schema.get("timestamp").unwrap().ltype,
        LogicalType::Datetime
    );
    assert_eq!(loaded.schema.get("id").unwrap().role, Role::Id);
    assert_eq!(
        loaded.schema.get("repaid_loan_on_prev_car").unwrap().ltype,
        LogicalType::Boolean
    );
}

#[test]
fn profile_streaming_equals_in_memory() {
    use smelt_data::profile::{ProfileOptions, profile_file};
    for name in ["car_loan.csv", "adult.parquet", "nyc_weather.csv"] {
        let p = data_dir().join(name);
        let eager = profile_file(
            &p,
            &LoadOptions::default(),
            &ProfileOptions::default(),
            &|_| {},
        )
        .unwrap();
        let opts = ProfileOptions {
            streaming: Some(true),
            ..Default::default()
        };
        let streamed = profile_file(&p, &LoadOptions::default(), &opts, &|_| {}).unwrap();
        assert!(streamed.streamed && !eager.streamed);
        assert_eq!(eager.fingerprint, streamed.fingerprint, "{name}");
        assert_eq!(eager.rows, streamed.rows);
        assert_eq!(eager.columns, streamed.columns, "{name}");
        // The profile's fingerprint is the load fingerprint.
        let loaded = load(&p, &LoadOptions::default()).unwrap();
        assert_eq!(loaded.fingerprint().unwrap(), eager.fingerprint);
    }
}

#[test]
fn profile_matches_pandas_describe_on_adult() {
    // pandas: df.age.describe() -> mean 38.643585, std 13.710510, 25% 28, 50% 37, 75% 48
    use smelt_data::profile::{ProfileOptions, profile_file};
    let p = data_dir().join("adult.csv");
    let prof = profile_file(
        &p,
        &LoadOptions::default(),
        &ProfileOptions::default(),
        &|_| {},
    )
    .unwrap();
    let age = prof.columns.iter().find(|c| c.name == "age").unwrap();
    let n = age.numeric.as_ref().unwrap();
    assert_eq!(
        (n.min, n.q25, n.q50, n.q75, n.max),
        (17.0, 28.0, 37.0, 48.0, 90.0)
    );
    assert!(
        (n.mean - 38.643585).abs() < 1e-6 && (n.std - 13.710510).abs() < 1e-6,
        "{n:?}"
    );
    let wc = prof.columns.iter().find(|c| c.name == "workclass").unwrap();
    assert_eq!(wc.missing, 2799);
    assert_eq!(wc.top[0], ("Private".to_string(), 33906));
    assert_eq!(wc.distinct, 8);
}

#[test]
fn every_format_round_trips_to_one_fingerprint() {
    use smelt_data::read::Format;
    use smelt_data::write::write_table;
    let src = load(&data_dir().join("penguins.csv"), &LoadOptions::default()).unwrap();
    let want = src.fingerprint().unwrap();
    let dir = tempfile::tempdir().unwrap();
    for (ext, format) in [
        ("parquet", Format::Parquet),
        ("ndjson", Format::Ndjson),
        ("arrow", Format::Ipc),
        ("csv", Format::Csv),
    ] {
        let p = dir.path().join(format!("penguins.{ext}"));
        let mut df = src.frame.clone();
        write_table(&mut df, &p, format).unwrap();
        let back = load(&p, &LoadOptions::default()).unwrap();
        assert_eq!(back.schema, src.schema, "{ext}");
        assert_eq!(back.fingerprint().unwrap(), want, "{ext}");
    }
}

/// `data/mnist_png`: a folder per digit, ten 28×28 grey PNGs each.
#[test]
fn an_image_folder_reads_as_a_pixel_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist_png");
    let df = smelt_data::read::read(&dir, &Default::default()).expect("image folder");
    assert_eq!(df.height(), 100);
    assert_eq!(df.width(), 2 + 28 * 28);
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .take(3)
        .map(|s| s.to_string())
        .collect();
    assert_eq!(names, ["path", "label", "pixel0"]);
    let label = df.column("label").expect("label");
    assert_eq!(label.str().expect("str").get(0), Some("0"));
    assert_eq!(label.str().expect("str").get(99), Some("9"));
    // The same pixels as the table the PNGs were made from (mnist5k row 0 is `0/0.png`).
    let table = smelt_data::read::read(
        &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist5k.parquet"),
        &Default::default(),
    )
    .expect("mnist5k");
    let path = df
        .column("path")
        .expect("path")
        .str()
        .expect("str")
        .get(0)
        .map(str::to_string);
    let row: usize = path
        .as_deref()
        .and_then(|p| p.rsplit('/').next())
        .and_then(|f| f.strip_suffix(".png"))
        .and_then(|r| r.parse().ok())
        .expect("row number in the file name");
    for j in [0usize, 300, 400, 783] {
        let name = format!("pixel{j}");
        let a = df.column(&name).expect("a").i64().expect("i64").get(0);
        let b = table
            .column(&name)
            .expect("b")
            .cast(&DataType::Int64)
            .expect("cast");
        assert_eq!(a, b.i64().expect("i64").get(row), "{name}");
    }
    // And through schema inference: `label` the target, `path` never a feature.
    let loaded = load(&dir, &Default::default()).expect("load");
    assert_eq!(loaded.frame.height(), 100);
    let path = loaded.schema.get("path").expect("path column");
    assert!(
        path.role != Role::Feature || !path.ltype.is_tabular(),
        "{path:?}"
    );
}

#[test]
fn a_broken_or_odd_sized_image_is_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let class = tmp.path().join("a");
    std::fs::create_dir(&class).expect("dir");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/mnist_png/0");
    let first = std::fs::read_dir(&src)
        .expect("pngs")
        .next()
        .expect("one")
        .expect("entry")
        .path();
    std::fs::copy(&first, class.join("1.png")).expect("copy");
    std::fs::write(class.join("2.png"), b"not a png").expect("write");
    let err = smelt_data::read::read(tmp.path(), &Default::default()).expect_err("broken");
    assert!(
        err.to_string().contains("2.png") && err.to_string().contains("cannot decode"),
        "{err}"
    );
    // A 1×1 PNG beside 28×28 ones.
    std::fs::remove_file(class.join("2.png")).expect("rm");
    let one = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00:~\x9bU\x00\x00\x00\nIDATx\x9cc\x00\x01\x00\x00\x05\x00\x01\r\n-\xb4\x00\x00\x00\x00IEND\xaeB`\x82";
    std::fs::write(class.join("3.png"), one).expect("write");
    let err = smelt_data::read::read(tmp.path(), &Default::default()).expect_err("size");
    assert!(
        err.to_string().contains("3.png") && err.to_string().contains("one size"),
        "{err}"
    );
}
