//! The fast reader against polars' own CSV path, on generated and bundled files.

use std::path::PathBuf;

use super::*;
use crate::infer::{InferOptions, SchemaFile, infer_schema, normalize};
use crate::read::options::CsvOptions;
use crate::read::read_polars;

/// SplitMix64, for generated files that are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, bytes).expect("write test file");
    p
}

fn fingerprint_of(df: &DataFrame, path: &Path) -> String {
    let schema =
        infer_schema(df, &SchemaFile::default(), &InferOptions::default(), path).expect("infer");
    let df = normalize(df.clone(), &schema, path).expect("normalize");
    crate::fingerprint::fingerprint(&df, &schema, path).expect("fingerprint")
}

/// Asserts that two frames are equal to the bit: names, dtypes, nulls, values.
fn assert_identical(fast: &DataFrame, slow: &DataFrame, what: &str) {
    assert_eq!(fast.shape(), slow.shape(), "{what}: shape");
    assert!(fast.equals_missing(slow), "{what}: frames differ");
    for (a, b) in fast.columns().iter().zip(slow.columns()) {
        assert_eq!(a.name(), b.name(), "{what}");
        assert_eq!(a.dtype(), b.dtype(), "{what}: column {}", a.name());
        assert_eq!(
            a.null_count(),
            b.null_count(),
            "{what}: column {}",
            a.name()
        );
        if a.dtype() == &DataType::Float64 {
            let bits = |c: &polars::prelude::Column| -> Vec<Option<u64>> {
                c.f64()
                    .expect("f64")
                    .iter()
                    .map(|v| v.map(f64::to_bits))
                    .collect()
            };
            assert_eq!(bits(a), bits(b), "{what}: column {} bits", a.name());
        }
    }
}

/// Reads `path` with the fast reader (chunks of `chunk` bytes) and with polars; when the fast
/// reader takes the file, both frames and fingerprints must be identical. Returns whether
/// it took the file.
fn same_as_polars(path: &Path, opts: &ReadOptions, chunk: usize) -> bool {
    let what = format!("{} (chunk {chunk})", path.display());
    let Some(fast) = read_chunked(path, opts, chunk).expect("no I/O error") else {
        return false;
    };
    let slow = read_polars(path, opts)
        .unwrap_or_else(|e| panic!("{what}: fast reader took a file polars rejects: {e}"));
    assert_identical(&fast, &slow, &what);
    assert_eq!(
        fingerprint_of(&fast, path),
        fingerprint_of(&slow, path),
        "{what}"
    );
    true
}

/// A float in one of many notations; `odd` adds hand-picked edge cases (signs, huge and
/// tiny values, long mantissas) whose inferred type is polars' choice.
fn float_text(rng: &mut Rng, odd: bool) -> String {
    let v = match rng.below(6) {
        0 => rng.unit() * 10.0 - 5.0,
        1 => (rng.unit() - 0.5) * 1e12,
        2 => (rng.unit() - 0.5) * 1e-9,
        3 => f64::from_bits(rng.next() & !(0x7ff << 52) | (rng.below(2046) + 1) << 52),
        4 => (rng.below(2001) as f64 - 1000.0) / 8.0,
        _ => (rng.unit() - 0.5) as f32 as f64,
    };
    match rng.below(12) {
        0 => format!("{v:e}"),
        1 => format!("{v:E}"),
        2 => format!("{v:.3}"),
        3 => format!("{v:.7e}"),
        4 => format!("{v:.20}"),
        5 if odd => rng
            .pick(&[
                "-0.0",
                "-0",
                "0",
                "0.0",
                ".5",
                "-.5",
                "5.",
                "+1.5",
                "1e5",
                "1E-5",
                "-1e+05",
                "007.25",
                "0.1000000000000000055511151231257827",
                "123456789012345678901234",
                "9007199254740993",
                "2.2250738585072011e-308",
                "4.9e-324",
                "1.7976931348623157e308",
                "1e400",
                "-1e-400",
                "0.000000000000000000000000000001",
                "100000000000000000000000.5",
            ])
            .to_string(),
        5 => rng
            .pick(&["-0.0", "0.0", ".5", "-.5", "5.", "1E-5", "-1e+05"])
            .to_string(),
        6 => format!("{:.6}", v as f32),
        _ => format!("{v}"),
    }
}

fn int_text(rng: &mut Rng, odd: bool) -> String {
    match rng.below(8) {
        0 if odd => rng
            .pick(&[
                "0",
                "-0",
                "+5",
                "007",
                "-007",
                "9223372036854775807",
                "-9223372036854775808",
                "0000000000000000000000000000042",
                "+0",
            ])
            .to_string(),
        0 => rng
            .pick(&["0", "-0", "9223372036854775807", "-9223372036854775808"])
            .to_string(),
        1 => (rng.next() as i64).to_string(),
        _ => (rng.below(2001) as i64 - 1000).to_string(),
    }
}

/// A random numeric CSV: float and integer columns, empty fields and null markers, `\n` or
/// `\r\n`, with or without a final line break; `odd` adds edge-case numbers and blank
/// lines (an empty field of a one-column file).
fn numeric_csv(rng: &mut Rng, nulls: &[&str], odd: bool) -> Vec<u8> {
    let n_cols = 1 + rng.below(5) as usize;
    let n_rows = 1 + rng.below(40) as usize;
    let floats: Vec<bool> = (0..n_cols).map(|_| rng.below(4) != 0).collect();
    let crlf = rng.below(3) == 0;
    let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    let mut out = Vec::new();
    let names: Vec<String> = (0..n_cols).map(|j| format!("c{j}")).collect();
    out.extend_from_slice(names.join(",").as_bytes());
    out.extend_from_slice(eol);
    for r in 0..n_rows {
        let mut fields = Vec::new();
        for &is_float in &floats {
            // The first row has values so polars infers numbers, not strings.
            let missing = r > 0 && rng.below(8) == 0;
            let field = if missing && (nulls.is_empty() || rng.below(2) == 0) {
                if n_cols == 1 && !odd {
                    "NA".to_string() // not a blank line
                } else {
                    String::new()
                }
            } else if missing {
                rng.pick(nulls).to_string()
            } else if is_float {
                float_text(rng, odd)
            } else {
                int_text(rng, odd)
            };
            fields.push(field);
        }
        out.extend_from_slice(fields.join(",").as_bytes());
        if r + 1 < n_rows || rng.below(3) != 0 {
            out.extend_from_slice(eol);
        }
    }
    out
}

const CHUNKS: [usize; 8] = [1, 2, 3, 5, 8, 13, 64, CHUNK_BYTES];

#[test]
fn generated_files_equal_the_polars_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(7);
    for i in 0..300 {
        let null_sets: [&[&str]; 3] = [&[], &["NA"], &["NA", "-999", "?"]];
        let nulls = *rng.pick(&null_sets);
        let bytes = numeric_csv(&mut rng, nulls, true);
        let path = write(&dir, &format!("g{i}.csv"), &bytes);
        let mut opts = ReadOptions::default();
        opts.csv.null_values = nulls.iter().map(|s| s.to_string()).collect();
        if rng.below(4) == 0 {
            opts.csv.infer_rows = 1 + rng.below(5) as usize;
        }
        for chunk in CHUNKS {
            same_as_polars(&path, &opts, chunk);
        }
    }
}

#[test]
fn clean_generated_files_take_the_fast_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut rng = Rng(8);
    for i in 0..200 {
        let null_sets: [&[&str]; 2] = [&["NA"], &["NA", "-999", "?"]];
        let nulls = *rng.pick(&null_sets);
        let bytes = numeric_csv(&mut rng, nulls, false);
        let path = write(&dir, &format!("c{i}.csv"), &bytes);
        let mut opts = ReadOptions::default();
        opts.csv.null_values = nulls.iter().map(|s| s.to_string()).collect();
        for chunk in CHUNKS {
            assert!(
                same_as_polars(&path, &opts, chunk),
                "not taken (chunk {chunk}): {:?}",
                String::from_utf8_lossy(&bytes)
            );
        }
    }
}

#[test]
fn chunk_boundaries_on_every_byte() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bytes = b"a,b\r\n1.5,2\r\n-0.0,\r\n,3\r\n4e-3,-7\r\n.5,8";
    let path = write(&dir, "b.csv", bytes);
    for chunk in 1..=bytes.len() + 1 {
        assert!(same_as_polars(&path, &ReadOptions::default(), chunk));
    }
    let no_header = write(&dir, "n.csv", b"1,2\n3,4\n");
    let mut opts = ReadOptions::default();
    opts.csv.has_header = false;
    for chunk in 1..=9 {
        assert!(same_as_polars(&no_header, &opts, chunk));
    }
}

#[test]
fn one_column_one_row_and_tabs() {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in [
        ("one.csv", &b"x\n1.25\n"[..]),
        ("one_int.csv", b"x\n-3"),
        ("one_col.csv", b"x\n1\n2\n\n"),
        ("wide.tsv", b"a\tb\tc\n1\t2.5\t\n4\t\t6e1\n"),
    ] {
        let path = write(&dir, name, bytes);
        for chunk in [1, 4, CHUNK_BYTES] {
            let taken = same_as_polars(&path, &ReadOptions::default(), chunk);
            // A blank line is polars' to handle.
            assert_eq!(taken, name != "one_col.csv", "{name}");
        }
    }
}

#[test]
fn out_of_scope_files_go_to_polars() {
    let dir = tempfile::tempdir().expect("temp dir");
    let long = format!("a\n{}\n", "1".repeat(300));
    type SetOptions = Box<dyn Fn(&mut CsvOptions)>;
    let cases: Vec<(&str, Vec<u8>, SetOptions)> = vec![
        (
            "quote in a field",
            b"a,b\n\"1\",2\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "quote in the header",
            b"\"a\",b\n1,2\n".to_vec(),
            Box::new(|_| {}),
        ),
        ("string column", b"a,b\nx,1\n".to_vec(), Box::new(|_| {})),
        (
            "boolean column",
            b"a,b\ntrue,1\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "too many fields",
            b"a,b\n1,2\n3,4,5\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "too few fields",
            b"a,b\n1,2\n3\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "text in an int column",
            b"a\n1\n2\nabc\n".to_vec(),
            Box::new(|c| c.infer_rows = 2),
        ),
        (
            "decimal in an int column",
            b"a\n1\n2\n1.5\n".to_vec(),
            Box::new(|c| c.infer_rows = 2),
        ),
        (
            "exponent in an int column",
            b"a\n1\n2\n1e5\n".to_vec(),
            Box::new(|c| c.infer_rows = 2),
        ),
        (
            "overflowing int",
            b"a\n1\n2\n9223372036854775808\n".to_vec(),
            Box::new(|c| c.infer_rows = 2),
        ),
        (
            "text in a float column",
            b"a\n1.5\n2.5\nn/a\n".to_vec(),
            Box::new(|c| c.infer_rows = 2),
        ),
        (
            "leading space",
            b"a,b\n1.5,2\n 2.5,3\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "trailing space",
            b"a,b\n1.5,2\n2.5 ,3\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "space in an int column",
            b"a,b\n1.5,2\n2.5, 3\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "long line",
            long.into_bytes(),
            Box::new(|c| c.max_line_bytes = 100),
        ),
        (
            "blank line",
            b"a,b\n1,2\n\n3,4\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "blank line before the header",
            b"\na,b\n1,2\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "comment prefix",
            b"a,b\n1,2\n".to_vec(),
            Box::new(|c| c.comment_prefix = Some("#".into())),
        ),
        (
            "duplicate names",
            b"a,b,a\n1,2,3\n".to_vec(),
            Box::new(|_| {}),
        ),
        ("header only", b"a,b\n".to_vec(), Box::new(|_| {})),
        (
            "stray carriage return",
            b"a,b\n1,2\r3,4\n".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "carriage return at the end",
            b"a,b\n1,2\r".to_vec(),
            Box::new(|_| {}),
        ),
        (
            "dot as delimiter",
            b"a.b\n1.2\n".to_vec(),
            Box::new(|c| c.delimiter = b'.'),
        ),
        (
            "marker with the delimiter",
            b"a,b\n1,2\n".to_vec(),
            Box::new(|c| c.null_values = vec!["x,y".into()]),
        ),
    ];
    for (what, bytes, set) in cases {
        let path = write(&dir, "s.csv", &bytes);
        let mut opts = ReadOptions::default();
        set(&mut opts.csv);
        for chunk in [1, 3, CHUNK_BYTES] {
            let got = read_chunked(&path, &opts, chunk).expect("no I/O error");
            assert!(
                got.is_none(),
                "{what} (chunk {chunk}): taken by the fast reader"
            );
        }
    }
}

#[test]
fn odd_numbers_match_polars_whichever_path_reads_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let tokens = [
        "NaN",
        "nan",
        "-nan",
        "inf",
        "-inf",
        "+inf",
        "infinity",
        "-Infinity",
        "1e",
        "1e+",
        ".",
        "-",
        "+",
        "1.2.3",
        "--1",
        "0x10",
        "1_000",
        "١",
        "1e-7",
        "1E+300",
        "-0e0",
        "00.00",
        "5.",
    ];
    for (i, t) in tokens.iter().enumerate() {
        for body in [
            format!("a,b\n1.5,1\n{t},2\n"),
            format!("a,b\n{t},1\n2.5,2\n"),
        ] {
            let path = write(&dir, &format!("o{i}.csv"), body.as_bytes());
            let opts = ReadOptions::default();
            let polars = read_polars(&path, &opts);
            if let Some(fast) = read_chunked(&path, &opts, 4).expect("no I/O error") {
                let slow = polars.unwrap_or_else(|e| panic!("{t}: polars fails: {e}"));
                assert_identical(&fast, &slow, t);
            }
        }
    }
}

#[test]
fn null_markers_are_compared_before_parsing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "m.csv", b"a,b\n1.5,1\n-999,-999\nNA,2\n");
    let mut opts = ReadOptions::default();
    opts.csv.null_values = vec!["-999".into(), "NA".into()];
    assert!(same_as_polars(&path, &opts, CHUNK_BYTES));
    let df = read_chunked(&path, &opts, CHUNK_BYTES)
        .expect("no I/O error")
        .expect("in scope");
    assert_eq!(df.column("a").expect("a").null_count(), 2);
    assert_eq!(df.column("b").expect("b").null_count(), 1);
}

#[test]
fn dtype_overrides_apply() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = write(&dir, "d.csv", b"a,b\n1,2\n3,4\n");
    let mut opts = ReadOptions {
        dtypes: vec![("a".into(), DataType::Float64)],
        ..Default::default()
    };
    assert!(same_as_polars(&path, &opts, 3));
    opts.dtypes = vec![("a".into(), DataType::String)];
    assert!(
        read_chunked(&path, &opts, 3)
            .expect("no I/O error")
            .is_none()
    );
}

#[test]
fn short_decimals_equal_fast_float() {
    let mut rng = Rng(11);
    let alphabet = b"0123456789.-+eE,\n\r x";
    let check = |s: &[u8]| {
        let ours = parse_f64(s).map(|(v, n)| (v.to_bits(), n));
        let theirs = fast_float2::parse_partial::<f64, _>(s)
            .ok()
            .map(|(v, n)| (v.to_bits(), n));
        assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(s));
    };
    for _ in 0..200_000 {
        // Digit strings of every length around the 8-byte blocks and the 19-digit limit.
        let mut s = Vec::new();
        if rng.below(2) == 0 {
            s.push(b'-');
        }
        for _ in 0..rng.below(24) {
            s.push(b'0' + rng.below(10) as u8);
        }
        if rng.below(4) != 0 {
            s.push(b'.');
            for _ in 0..rng.below(26) {
                s.push(b'0' + rng.below(10) as u8);
            }
        }
        if rng.below(4) == 0 {
            s.push(*rng.pick(alphabet));
        }
        check(&s);
        // Random bytes from the number alphabet.
        let t: Vec<u8> = (0..rng.below(12)).map(|_| *rng.pick(alphabet)).collect();
        check(&t);
        // Shortest round-trip text of random doubles.
        let v = f64::from_bits(rng.next());
        check(format!("{v}").as_bytes());
        check(format!("{v:e},").as_bytes());
    }
    for s in [
        "9007199254740992",
        "9007199254740993",
        "0.9007199254740993",
        "1234567890123456789",
        "12345678901234567890",
        "0000000000000000001.5",
    ] {
        check(s.as_bytes());
    }
}
