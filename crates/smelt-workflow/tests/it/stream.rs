//! `Model::predict_stream`: chunk by chunk, the same predictions as the whole table at once
//! (categories included), every output format, and nothing at the output path — not even a
//! temporary file — when scoring fails part-way.

use std::path::{Path, PathBuf};

use smelt_data::polars::prelude::*;
use smelt_data::read::{Format, ReadOptions};
use smelt_workflow::{Error, Model, Params, StreamOptions, TrainOptions, train};

use crate::recorder::data;

fn bundled(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(file)
}

/// Gradient boosting on Adult: native categories (workclass, education, ...), integer and
/// numeric columns.
fn adult_gbdt() -> Model {
    let adult = data("adult.csv", "income");
    let params = Params::parse(&["max_iter=20"]).expect("parameters");
    train(
        &adult,
        "hist_gradient_boosting_classifier",
        params,
        &TrainOptions::default(),
    )
    .expect("trains")
    .model
}

fn read(path: &Path) -> DataFrame {
    smelt_data::read::read(path, &ReadOptions::default()).expect("table reads")
}

/// The files in `dir`, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("directory")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn stream(
    model: &Model,
    input: &Path,
    out: &Path,
    opts: &StreamOptions,
) -> smelt_workflow::Result<smelt_workflow::StreamSummary> {
    model.predict_stream(input, &ReadOptions::default(), out, opts, &mut |_, _| {})
}

#[test]
fn streamed_predictions_equal_the_whole_table_in_every_format() {
    let model = adult_gbdt();
    let tmp = tempfile::tempdir().unwrap();
    for input in ["adult.csv", "adult.parquet"] {
        let input = bundled(input);
        let whole = model.predict_file(&input, &ReadOptions::default()).unwrap();
        let keep = read(&input).column("income").unwrap().clone();
        let mut expected = DataFrame::new(
            whole.height(),
            [vec![keep], whole.columns().to_vec()].concat(),
        )
        .unwrap();
        assert_eq!(
            expected.get_column_names(),
            ["income", "prediction", "proba_<=50K", "proba_>50K"]
        );
        for (ext, format) in [
            ("parquet", Format::Parquet),
            ("csv", Format::Csv),
            ("ndjson", Format::Ndjson),
            ("arrow", Format::Ipc),
        ] {
            let out = tmp.path().join(format!("p.{ext}"));
            let opts = StreamOptions {
                chunk_rows: 5_000, // 10 chunks, the last one short
                keep: vec!["income".into()],
                ..StreamOptions::default()
            };
            let mut calls = Vec::new();
            let summary = model
                .predict_stream(&input, &ReadOptions::default(), &out, &opts, &mut |d, t| {
                    calls.push((d, t))
                })
                .unwrap();
            assert_eq!(summary.rows, 48_842);
            assert_eq!(summary.chunks, 10);
            assert_eq!(calls.len(), 10);
            assert_eq!(calls[0], (5_000, Some(48_842)));
            assert_eq!(calls[9], (48_842, Some(48_842)));
            // Written as the whole table would be, byte for byte where the format allows.
            let whole_out = tmp.path().join(format!("whole.{ext}"));
            smelt_data::write::write_table(&mut expected, &whole_out, format).unwrap();
            if format == Format::Csv || format == Format::Ndjson {
                assert_eq!(
                    std::fs::read_to_string(&out).unwrap(),
                    std::fs::read_to_string(&whole_out).unwrap(),
                    "{}",
                    out.display()
                );
            }
            let got = read(&out);
            assert!(
                got.equals_missing(&read(&whole_out)),
                "{}: {got} vs {expected}",
                out.display()
            );
        }
        assert_eq!(
            listing(tmp.path()),
            [
                "p.arrow",
                "p.csv",
                "p.ndjson",
                "p.parquet",
                "whole.arrow",
                "whole.csv",
                "whole.ndjson",
                "whole.parquet"
            ]
        );
    }
}

#[test]
fn a_numeric_column_that_turns_decimal_after_the_first_chunk_is_read_as_numbers() {
    // Integers in the first rows, decimals later: a whole-table read widens the column, a
    // stream parses the model's numeric inputs as numbers from the start. Same predictions.
    let housing = data("housing.csv", "med_house_val");
    let model = train(
        &housing,
        "ridge",
        Params::new(),
        &TrainOptions {
            valid: 0.0,
            ..TrainOptions::default()
        },
    )
    .unwrap()
    .model;
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(bundled("housing.csv")).unwrap();
    let header = text.lines().next().unwrap();
    let col = header.split(',').position(|c| c == "house_age").unwrap();
    let last = text.lines().count() - 1;
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                return line.to_string();
            }
            // `41.0` → `41` (whole numbers in the bundled file), the last one `41.5`.
            let mut fields: Vec<String> = line.split(',').map(String::from).collect();
            let whole = fields[col].trim_end_matches(".0").to_string();
            assert!(whole.parse::<i64>().is_ok(), "{whole}");
            fields[col] = if i == last {
                format!("{whole}.5")
            } else {
                whole
            };
            fields.join(",")
        })
        .collect();
    let input = tmp.path().join("h.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let whole = model.predict_file(&input, &ReadOptions::default()).unwrap();
    let out = tmp.path().join("p.parquet");
    let opts = StreamOptions {
        chunk_rows: 4_096,
        ..StreamOptions::default()
    };
    stream(&model, &input, &out, &opts).unwrap();
    assert!(read(&out).equals_missing(&whole));
}

#[test]
fn an_error_part_way_leaves_no_file_and_no_temporary_file() {
    let model = adult_gbdt();
    let tmp = tempfile::tempdir().unwrap();
    // 60,000 rows (Adult's, then its first ones again); line 50,000 has an age that is not a
    // number.
    let text = std::fs::read_to_string(bundled("adult.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let rows: Vec<String> = lines[1..].to_vec();
    lines.extend(rows.iter().take(60_001 - lines.len()).cloned());
    let mut fields: Vec<String> = lines[49_999].split(',').map(String::from).collect();
    fields[0] = "forty".into();
    lines[49_999] = fields.join(",");
    let input_dir = tempfile::tempdir().unwrap();
    let input = input_dir.path().join("big.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    for ext in ["parquet", "csv"] {
        let out = tmp.path().join(format!("p.{ext}"));
        let opts = StreamOptions {
            chunk_rows: 8_192,
            ..StreamOptions::default()
        };
        let err = stream(&model, &input, &out, &opts).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("50000") && msg.contains("age") && msg.contains("forty"),
            "{msg}"
        );
        assert!(listing(tmp.path()).is_empty(), "{:?}", listing(tmp.path()));
    }
    // A file already at the output path stays as it was.
    let out = tmp.path().join("p.csv");
    std::fs::write(&out, "old\n").unwrap();
    let opts = StreamOptions::default();
    assert!(stream(&model, &input, &out, &opts).is_err());
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old\n");
    assert_eq!(listing(tmp.path()), ["p.csv"]);
}

#[test]
fn bad_options_and_columns_fail_before_any_file_is_made() {
    let model = adult_gbdt();
    let tmp = tempfile::tempdir().unwrap();
    let input = bundled("adult.csv");
    let out = tmp.path().join("p.parquet");
    let missing = StreamOptions {
        keep: vec!["customer".into()],
        ..StreamOptions::default()
    };
    let err = stream(&model, &input, &out, &missing).unwrap_err();
    assert!(err.to_string().contains("customer"), "{err}");
    let zero = StreamOptions {
        chunk_rows: 0,
        ..StreamOptions::default()
    };
    assert!(matches!(
        stream(&model, &input, &out, &zero),
        Err(Error::Option { .. })
    ));
    let unknown = tmp.path().join("p.xlsx");
    assert!(stream(&model, &input, &unknown, &StreamOptions::default()).is_err());
    assert!(listing(tmp.path()).is_empty());
    // An output directory that does not exist.
    let nowhere = tmp.path().join("no/such/dir/p.csv");
    assert!(stream(&model, &input, &nowhere, &StreamOptions::default()).is_err());
}

#[test]
fn a_scoring_error_in_a_later_chunk_names_the_chunk_rows() {
    // Ridge without preprocessing refuses missing values; row 10,000 has one.
    let housing = data("housing.csv", "med_house_val");
    let model = train(
        &housing,
        "ridge",
        Params::new(),
        &TrainOptions {
            valid: 0.0,
            preprocess: false,
            ..TrainOptions::default()
        },
    )
    .unwrap()
    .model;
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(bundled("housing.csv")).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let mut fields: Vec<String> = lines[10_000].split(',').map(String::from).collect();
    fields[1] = String::new();
    lines[10_000] = fields.join(",");
    let input = tmp.path().join("h.csv");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = tmp.path().join("p.csv");
    let opts = StreamOptions {
        chunk_rows: 4_096,
        ..StreamOptions::default()
    };
    let err = stream(&model, &input, &out, &opts).unwrap_err();
    let Error::Chunk {
        first,
        last,
        source,
        ..
    } = &err
    else {
        panic!("{err:?}");
    };
    assert_eq!((*first, *last), (8_193, 12_288));
    // Row 10,000 is the chunk's 1,808th (the predictor counts from 0).
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(source.as_ref());
    while let Some(c) = cause {
        chain.push(c.to_string());
        cause = c.source();
    }
    assert!(chain.iter().any(|c| c.contains("row 1807")), "{chain:?}");
    assert!(
        err.to_string().starts_with("scoring rows 8193–12288 of "),
        "{err}"
    );
    assert_eq!(listing(tmp.path()), ["h.csv"]);
}
