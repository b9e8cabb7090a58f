//! The fast CSV reader changes nothing but speed: on the bundled datasets and on bad input,
//! `read` gives what polars alone gives (`read_polars`), frames to the bit and errors word for
//! word.

use std::path::Path;

use smelt_data::infer::{InferOptions, SchemaFile, infer_schema, normalize};
use smelt_data::polars::prelude::*;
use smelt_data::read::{ReadOptions, Reader, read_polars, read_traced};

use crate::{data_dir, temp_file};

fn fingerprint(df: &DataFrame, path: &Path) -> String {
    let schema = infer_schema(df, &SchemaFile::default(), &InferOptions::default(), path)
        .expect("schema inference");
    let df = normalize(df.clone(), &schema, path).expect("normalisation");
    smelt_data::fingerprint::fingerprint(&df, &schema, path).expect("fingerprint")
}

fn float_bits(df: &DataFrame) -> Vec<Vec<Option<u64>>> {
    df.columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::Float64)
        .map(|c| {
            c.f64()
                .expect("a Float64 column")
                .iter()
                .map(|v| v.map(f64::to_bits))
                .collect()
        })
        .collect()
}

/// Reads `path` both ways, asserts the same outcome and returns the reader `read` used.
fn same_both_ways(path: &Path, opts: &ReadOptions) -> Option<Reader> {
    match (read_traced(path, opts), read_polars(path, opts)) {
        (Ok((fast, reader)), Ok(slow)) => {
            assert!(fast.equals_missing(&slow), "{}", path.display());
            assert_eq!(fast.dtypes(), slow.dtypes(), "{}", path.display());
            assert_eq!(float_bits(&fast), float_bits(&slow), "{}", path.display());
            assert_eq!(fingerprint(&fast, path), fingerprint(&slow, path));
            Some(reader)
        }
        (Err(a), Err(b)) => {
            assert_eq!(a.to_string(), b.to_string());
            assert_eq!(a.hint(), b.hint());
            None
        }
        (a, b) => panic!(
            "{}: read gives {:?}, polars alone {:?}",
            path.display(),
            a.map(|(_, r)| r),
            b.map(|_| ())
        ),
    }
}

#[test]
fn bundled_csv_files_read_the_same_both_ways() {
    let mut fast = Vec::new();
    for entry in std::fs::read_dir(data_dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().and_then(|e| e.to_str()) != Some("csv") {
            continue;
        }
        let reader = same_both_ways(&p, &ReadOptions::default());
        if reader == Some(Reader::FastCsv) {
            fast.push(p.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    fast.sort();
    // The all-numeric tables; the others have text columns.
    assert_eq!(
        fast,
        [
            "breast_cancer.csv",
            "digits.csv",
            "housing.csv",
            "iris.csv",
            "sunspots.csv"
        ],
        "{fast:?}"
    );
}

#[test]
fn a_numeric_table_takes_the_fast_path() {
    let mut csv = b"f0,f1,f2,y\n".to_vec();
    for i in 0..5_000 {
        let x = i as f64 * 0.37 - 900.0;
        csv.extend_from_slice(format!("{x},{:.7e},{},{}\n", x / 3.0, -x / 7.0, i % 2).as_bytes());
    }
    let (_d, p) = temp_file("t.csv", &csv);
    assert_eq!(
        same_both_ways(&p, &ReadOptions::default()),
        Some(Reader::FastCsv)
    );
}

#[test]
fn bad_input_gives_the_same_errors_both_ways() {
    let mut late_text = b"id,x\n".to_vec();
    for i in 0..20_000 {
        late_text.extend_from_slice(format!("{i},{}.5\n", i % 7).as_bytes());
    }
    late_text.extend_from_slice(b"20000,n/a\n");
    let mut late_decimal = b"x\n".to_vec();
    for i in 0..20_000 {
        late_decimal.extend_from_slice(format!("{i}\n").as_bytes());
    }
    late_decimal.extend_from_slice(b"1.5\n");
    let cases: [(&str, &[u8]); 11] = [
        ("ragged_long", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n"),
        ("ragged_short", b"a,b,c\n1,2,3\n4,5\n8,9,10\n"),
        ("quoted", b"a,b\n\"x,y\",1\n\"z\"\n"),
        ("duplicate", b"a,b,a\n1,2,3\n"),
        ("header_only", b"a,b,c\n"),
        ("blank_lines", b"a,b\n1,2\n\n3,4\n\n"),
        ("utf8", b"name,age\nana,3\nb\xffb,4\n"),
        ("late_text", &late_text),
        ("late_decimal", &late_decimal),
        ("crlf_no_final_newline", b"a,b\r\n1,2\r\n3,4"),
        ("lone_carriage_return", b"a,b\n1,2\r"),
    ];
    for (name, bytes) in cases {
        let (_d, p) = temp_file(&format!("{name}.csv"), bytes);
        same_both_ways(&p, &ReadOptions::default());
    }
    let long = format!("a\n1\n{}\n", "2".repeat(200));
    let (_d, p) = temp_file("long.csv", long.as_bytes());
    let mut opts = ReadOptions::default();
    opts.csv.max_line_bytes = 100;
    assert!(same_both_ways(&p, &opts).is_none());
}
