//! Every kind of bad input gives a located, one-line error and never a panic.

use smelt_data::read::{ReadOptions, read};
use smelt_data::{DataError, LoadOptions, load};

use crate::temp_file;

fn read_err(name: &str, bytes: &[u8]) -> DataError {
    let (_d, p) = temp_file(name, bytes);
    read(&p, &ReadOptions::default()).expect_err("should fail")
}

#[test]
fn ragged_row_with_too_many_fields() {
    let e = read_err("r.csv", b"a,b,c\n1,2,3\n4,5,6,7\n8,9,10\n");
    assert!(
        matches!(
            e,
            DataError::RaggedRow {
                line: 3,
                expected: 3,
                found: 4,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .ends_with("r.csv:3: expected 3 fields (as in the header), found 4"),
        "{e}"
    );
}

#[test]
fn ragged_row_with_too_few_fields() {
    let e = read_err("r.csv", b"a,b,c\n1,2,3\n4,5\n8,9,10\n");
    assert!(
        matches!(
            e,
            DataError::RaggedRow {
                line: 3,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn ragged_row_in_a_quoted_file() {
    let e = read_err("r.csv", b"a,b\n\"x,y\",1\n\"z\"\n");
    assert!(
        matches!(
            e,
            DataError::RaggedRow {
                line: 3,
                expected: 2,
                found: 1,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn invalid_utf8() {
    let e = read_err("u.csv", b"name,age\nana,3\nb\xffb,4\n");
    assert!(
        matches!(
            e,
            DataError::InvalidUtf8 {
                line: 3,
                column: 1,
                byte: 0xff,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.hint().unwrap().contains("iconv"));
}

#[test]
fn non_numeric_value_in_numeric_column() {
    let mut csv = b"id,x\n".to_vec();
    for i in 0..20_000 {
        csv.extend_from_slice(format!("{i},{}.5\n", i % 7).as_bytes());
    }
    csv.extend_from_slice(b"20000,n/a\n");
    let e = read_err("n.csv", &csv);
    match &e {
        DataError::ParseValue {
            line,
            column,
            name,
            value,
            expected,
            ..
        } => {
            assert_eq!(
                (
                    *line,
                    *column,
                    name.as_str(),
                    value.as_str(),
                    expected.as_str()
                ),
                (20_002, 2, "x", "n/a", "number")
            );
        }
        e => panic!("{e:?}"),
    }
    assert!(e.hint().unwrap().contains("--null-values \"n/a\""));
}

#[test]
fn decimal_after_integers_widens_instead_of_failing() {
    let mut csv = b"x\n".to_vec();
    for i in 0..20_000 {
        csv.extend_from_slice(format!("{i}\n").as_bytes());
    }
    csv.extend_from_slice(b"1.5\n");
    let (_d, p) = temp_file("w.csv", &csv);
    let df = read(&p, &ReadOptions::default()).unwrap();
    assert_eq!(df.height(), 20_001);
    assert_eq!(
        df.column("x").unwrap().dtype(),
        &polars::prelude::DataType::Float64
    );
}

#[test]
fn empty_file() {
    assert!(matches!(read_err("e.csv", b""), DataError::Empty { .. }));
}

#[test]
fn header_only() {
    let e = read_err("h.csv", b"a,b,c\n");
    assert!(matches!(e, DataError::NoRows { .. }), "{e:?}");
}

#[test]
fn duplicate_column_names() {
    let e = read_err("d.csv", b"a,b,a\n1,2,3\n");
    assert!(
        matches!(&e, DataError::DuplicateColumn { name, first: 1, second: 3, .. } if name == "a"),
        "{e:?}"
    );
}

#[test]
fn missing_target_column_suggests_the_closest() {
    let (_d, p) = temp_file("t.csv", b"age,income\n1,2\n");
    let e = load(&p, &LoadOptions::default().with_target("incme")).unwrap_err();
    assert!(matches!(e, DataError::MissingColumn { .. }), "{e:?}");
    assert_eq!(e.hint().as_deref(), Some("did you mean `income`?"));
}

#[test]
fn file_that_does_not_exist() {
    let e = read(
        std::path::Path::new("/no/such/file.csv"),
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(e, DataError::NotFound { .. }));
    assert_eq!(e.to_string(), "/no/such/file.csv: no such file");
}

#[test]
fn directory_instead_of_file() {
    let d = tempfile::tempdir().unwrap();
    let e = read(d.path(), &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::IsDirectory { .. }));
}

#[test]
fn unknown_extension() {
    let e = read_err("data.xlsx", b"a\n1\n");
    assert!(matches!(e, DataError::UnknownFormat { .. }));
}

#[test]
fn over_long_line_is_rejected_before_parsing() {
    // The limit is configurable; a 1 GB line is rejected the same way by the default 256 MiB
    // limit (see `one_gigabyte_line` below, run with `--ignored`).
    let mut csv = b"a,b\n1,2\n".to_vec();
    csv.extend(std::iter::repeat_n(b'x', 5000));
    csv.extend_from_slice(b",3\n");
    let (_d, p) = temp_file("long.csv", &csv);
    let mut opts = ReadOptions::default();
    opts.csv.max_line_bytes = 4096;
    let e = read(&p, &opts).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::LineTooLong {
                line: 3,
                limit: 4096,
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn one_gigabyte_line() {
    // A sparse 1 GiB file of one line (no newline): rejected after a streaming scan, without
    // allocating the line.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("giant.csv");
    let f = std::fs::File::create(&p).unwrap();
    std::io::Write::write_all(&mut &f, b"a,b\n1,").unwrap();
    f.set_len(1 << 30).unwrap();
    let e = read(&p, &ReadOptions::default()).unwrap_err();
    assert!(matches!(e, DataError::LineTooLong { line: 2, .. }), "{e:?}");
}

#[test]
fn truncated_parquet() {
    let full = std::fs::read(crate::data_dir().join("adult.parquet")).unwrap();
    let e = read_err("cut.parquet", &full[..full.len() / 2]);
    assert!(
        matches!(
            e,
            DataError::Corrupt {
                format: "parquet",
                ..
            }
        ),
        "{e:?}"
    );
    let e = read_err("junk.parquet", b"this is not parquet at all");
    assert!(matches!(e, DataError::Corrupt { .. }), "{e:?}");
}

#[test]
fn truncated_parquet_tail() {
    // Cut inside the data pages but keep the footer: decoding fails, and must not panic.
    let full = std::fs::read(crate::data_dir().join("adult.parquet")).unwrap();
    let mut bytes = full.clone();
    for b in bytes.iter_mut().skip(100).take(50_000) {
        *b = 0xAB;
    }
    let (_d, p) = temp_file("garbled.parquet", &bytes);
    let e = read(&p, &ReadOptions::default()).unwrap_err();
    assert!(
        matches!(e, DataError::Corrupt { .. } | DataError::Polars { .. }),
        "{e:?}"
    );
}

#[test]
fn schema_and_rules_files_with_typos() {
    let (_d, p) = temp_file(
        "schema.toml",
        b"target = \"y\"\n[colums]\nx = \"numeric\"\n",
    );
    let e = smelt_data::infer::SchemaFile::from_path(&p).unwrap_err();
    assert!(matches!(e, DataError::Config { line: 2, .. }), "{e:?}");
    assert_eq!(e.hint().as_deref(), Some("did you mean `columns`?"));
    let (_d, p) = temp_file("rules.toml", b"[columns.x]\nmin = 0\nmaxx = 3\n");
    let e = smelt_data::validate::Rules::from_path(&p).unwrap_err();
    assert!(matches!(e, DataError::Config { line: 3, .. }), "{e:?}");
    assert_eq!(e.hint().as_deref(), Some("did you mean `max`?"));
}

/// Python's `csv.writer` ends lines with CRLF: errors must name the same line as for LF files
/// (a bad value past the inferred head, a ragged row), and header names carry no `\r`.
#[test]
fn crlf_files_report_the_same_lines_as_lf_files() {
    for eol in ["\n", "\r\n"] {
        let mut text = format!("a,b{eol}");
        for i in 1..15_000 {
            let row = if i == 11_999 {
                "oops,2".to_string()
            } else {
                format!("{i},{}", i * 2)
            };
            text.push_str(&row);
            text.push_str(eol);
        }
        let e = read_err("v.csv", text.as_bytes());
        assert!(
            matches!(
                &e,
                DataError::ParseValue {
                    line: 12_000,
                    column: 1,
                    ..
                }
            ),
            "{eol:?}: {e:?}"
        );
        let e = read_err(
            "r.csv",
            format!("a,b,c{eol}1,2,3{eol}4,5{eol}6,7,8{eol}").as_bytes(),
        );
        assert!(
            matches!(e, DataError::RaggedRow { line: 3, .. }),
            "{eol:?}: {e:?}"
        );
        let (_d, p) = temp_file("ok.csv", format!("a,b{eol}1,2{eol}3,4{eol}").as_bytes());
        let df = read(&p, &ReadOptions::default()).expect("reads");
        let names: Vec<String> = df
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(names, ["a", "b"], "{eol:?}");
    }
}

/// A `;` or tab file read with the default `,` is not silently one column: the error names the
/// delimiter it holds, and the hint how to pass it.
#[test]
fn a_file_with_another_delimiter_is_named_not_read_as_one_column() {
    let e = read_err("semi.csv", b"a;b;c\n1;2;3\n");
    assert!(
        e.to_string().contains("holds `;`")
            && e.hint().as_deref() == Some("pass `--delimiter ';'`"),
        "{e} {:?}",
        e.hint()
    );
    let e = read_err("tab.txt", b"a\tb\n1\t2\n");
    assert_eq!(e.hint().as_deref(), Some("pass `--delimiter tab`"), "{e}");
    // One real column still reads.
    let (_d, p) = temp_file("one.csv", b"x\n1\n2\n");
    assert_eq!(read(&p, &ReadOptions::default()).expect("reads").width(), 1);
}
