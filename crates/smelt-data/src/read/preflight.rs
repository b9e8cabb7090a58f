//! Checks that polars does not make, and precise locations for the errors it does raise.
//!
//! * [`check_path`] runs first, for every format: the path must be a non-empty regular file.
//! * [`preflight_csv`] runs before parsing, at memchr speed: it finds over-long lines, duplicate
//!   header names, and counts lines and delimiters.
//! * [`check_record_count`] runs after a successful parse. polars accepts rows with too *few*
//!   fields and fills them with nulls; that is silent data loss, so Smelt rejects them. In a file
//!   without quote characters the delimiter count settles it; otherwise a full record scan does.
//! * [`refine_csv_error`] runs only when polars fails: a careful scan with the `csv` crate finds
//!   the line, field and value behind polars' message.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use polars::prelude::PolarsError;

use super::options::CsvOptions;
use crate::error::{DataError, Expected, Result, first_line, owned};

/// Checks that `path` is a non-empty regular file and returns its size in bytes.
pub fn check_path(path: &Path) -> Result<u64> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound {
            path: path.to_path_buf(),
        },
        _ => DataError::Io {
            path: path.to_path_buf(),
            source: e,
        },
    })?;
    if meta.is_dir() {
        return Err(DataError::IsDirectory {
            path: path.to_path_buf(),
        });
    }
    if meta.len() == 0 {
        return Err(DataError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(meta.len())
}

/// What the preflight learned about a CSV file.
#[derive(Clone, Debug, Default)]
pub struct CsvStats {
    /// Non-blank physical lines (header included).
    pub lines: u64,
    /// Delimiter bytes in the whole file.
    pub delimiters: u64,
    /// Whether the quote character occurs anywhere.
    pub has_quote: bool,
    /// Fields in the header line.
    pub header_fields: usize,
    /// Column names from the header (or `column_1..` without one).
    pub names: Vec<String>,
}

/// Scans the raw bytes once: line lengths, line and delimiter counts, header names.
pub fn preflight_csv(path: &Path, delimiter: u8, opts: &CsvOptions) -> Result<CsvStats> {
    let (header_fields, names) = header_names(path, delimiter, opts)?;
    let mut stats = CsvStats {
        header_fields,
        names,
        ..Default::default()
    };

    let mut file = File::open(path).map_err(|e| DataError::Io {
        path: owned(path),
        source: e,
    })?;
    let mut buf = vec![0u8; 8 << 20];
    let mut line_no: u64 = 1;
    let mut cur_len: u64 = 0;
    let quote = opts.quote.unwrap_or(0);
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::Io {
            path: owned(path),
            source: e,
        })?;
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        stats.delimiters += memchr::memchr_iter(delimiter, chunk).count() as u64;
        if opts.quote.is_some() && !stats.has_quote {
            stats.has_quote = memchr::memchr(quote, chunk).is_some();
        }
        let mut start = 0;
        for nl in memchr::memchr_iter(b'\n', chunk) {
            cur_len += (nl - start) as u64;
            if cur_len > opts.max_line_bytes {
                return Err(too_long(path, line_no, cur_len, opts));
            }
            if cur_len > 1 || (cur_len == 1 && chunk.get(nl.wrapping_sub(1)) != Some(&b'\r')) {
                stats.lines += 1;
            }
            line_no += 1;
            cur_len = 0;
            start = nl + 1;
        }
        cur_len += (n - start) as u64;
        if cur_len > opts.max_line_bytes {
            return Err(too_long(path, line_no, cur_len, opts));
        }
    }
    if cur_len > 0 {
        stats.lines += 1;
    }
    Ok(stats)
}

/// The number of fields in the first record and the column names: the header's (rejecting a
/// name used twice) or `column_1..` without a header.
pub(crate) fn header_names(
    path: &Path,
    delimiter: u8,
    opts: &CsvOptions,
) -> Result<(usize, Vec<String>)> {
    let header = header_fields(path, delimiter, opts)?;
    let n = header.len();
    // A `;`, tab or `|` file read with the default `,` is one column: say which delimiter it has.
    if n == 1 && opts.has_header {
        let name = &header[0];
        let shown = |b: u8| {
            if b == b'\t' {
                "\\t".to_string()
            } else {
                char::from(b).to_string()
            }
        };
        if let Some(&other) = [b';', b'\t', b'|']
            .iter()
            .find(|&&c| c != delimiter && name.as_bytes().contains(&c))
        {
            let mut header = name.clone();
            if header.len() > 60 {
                let cut = (0..=60)
                    .rev()
                    .find(|&i| header.is_char_boundary(i))
                    .unwrap_or(0);
                header.truncate(cut);
                header.push('…');
            }
            return Err(DataError::OtherDelimiter {
                path: owned(path),
                header,
                found: shown(other),
                used: shown(delimiter),
            });
        }
    }
    if !opts.has_header {
        return Ok((n, (1..=n).map(|i| format!("column_{i}")).collect()));
    }
    let mut seen = std::collections::HashMap::new();
    for (i, name) in header.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i + 1) {
            return Err(DataError::DuplicateColumn {
                path: owned(path),
                name: name.clone(),
                first,
                second: i + 1,
            });
        }
    }
    Ok((n, header))
}

fn too_long(path: &Path, line: u64, len: u64, opts: &CsvOptions) -> DataError {
    DataError::LineTooLong {
        path: owned(path),
        line,
        len,
        limit: opts.max_line_bytes,
    }
}

fn reader_builder(delimiter: u8, opts: &CsvOptions) -> csv::ReaderBuilder {
    let mut b = csv::ReaderBuilder::new();
    // Records end at `\n` only: with the default terminator a CRLF file's records are numbered
    // from the `\n` left over after each `\r`, one line too early. A `\r` before it stays at the
    // end of the last field, where values are trimmed and header names stripped of it.
    b.terminator(csv::Terminator::Any(b'\n'))
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .quoting(opts.quote.is_some())
        .quote(opts.quote.unwrap_or(b'"'));
    if let Some(p) = &opts.comment_prefix
        && p.len() == 1
    {
        b.comment(Some(p.as_bytes()[0]));
    }
    b
}

fn header_fields(path: &Path, delimiter: u8, opts: &CsvOptions) -> Result<Vec<String>> {
    // The header is within the first line, which the line-length limit bounds. The reader
    // pulls the file in small buffers, so only the header's bytes are read.
    let file = File::open(path).map_err(|e| DataError::Io {
        path: owned(path),
        source: e,
    })?;
    let limit = opts.max_line_bytes.min(64 << 20) + 1;
    let mut rdr = reader_builder(delimiter, opts).from_reader(file.take(limit));
    let mut rec = csv::ByteRecord::new();
    match rdr.read_byte_record(&mut rec) {
        Ok(true) => {}
        Ok(false) => return Err(DataError::Empty { path: owned(path) }),
        Err(e) => {
            let msg = e.to_string();
            return Err(match e.into_kind() {
                csv::ErrorKind::Io(source) => DataError::Io {
                    path: owned(path),
                    source,
                },
                _ => {
                    DataError::Invalid(format!("{}: cannot read the header: {msg}", path.display()))
                }
            });
        }
    }
    rec.iter()
        .enumerate()
        .map(|(i, f)| match std::str::from_utf8(f) {
            Ok(s) => Ok(s
                .trim_start_matches('\u{feff}')
                .trim_end_matches('\r')
                .to_string()),
            Err(e) => Err(DataError::InvalidUtf8 {
                path: owned(path),
                line: 1,
                column: i + 1,
                byte: f[e.valid_up_to()],
            }),
        })
        .collect()
}

/// Checks that every record has as many fields as the header; call after polars parsed
/// `rows` data rows without error.
pub fn check_record_count(
    path: &Path,
    delimiter: u8,
    opts: &CsvOptions,
    stats: &CsvStats,
    rows: usize,
) -> Result<()> {
    let records = rows as u64 + u64::from(opts.has_header);
    let fast_path_ok = !stats.has_quote
        && opts.comment_prefix.is_none()
        && stats.lines == records
        && stats.delimiters == records * (stats.header_fields as u64).saturating_sub(1);
    if fast_path_ok {
        return Ok(());
    }
    match scan_records(path, delimiter, opts, None)? {
        Some(err) => Err(err),
        None => Ok(()),
    }
}

/// Scans all records with the `csv` crate and returns the first structural problem (field
/// count, UTF-8) or, when `typed` names a column and its expected type, the first value that
/// does not parse as that type.
fn scan_records(
    path: &Path,
    delimiter: u8,
    opts: &CsvOptions,
    typed: Option<(usize, &str, Expected)>,
) -> Result<Option<DataError>> {
    let file = File::open(path).map_err(|e| DataError::Io {
        path: owned(path),
        source: e,
    })?;
    let mut rdr = reader_builder(delimiter, opts)
        .buffer_capacity(1 << 20)
        .from_reader(file);
    let mut rec = csv::ByteRecord::new();
    let mut expected = None;
    loop {
        match rdr.read_byte_record(&mut rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Ok(Some(DataError::Invalid(format!(
                    "{}:{line}: {e}",
                    path.display()
                ))));
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.is_empty() || f == b"\r") {
            continue; // blank line
        }
        let n = *expected.get_or_insert(rec.len());
        for (i, field) in rec.iter().enumerate() {
            if let Err(e) = std::str::from_utf8(field) {
                return Ok(Some(DataError::InvalidUtf8 {
                    path: owned(path),
                    line,
                    column: i + 1,
                    byte: field[e.valid_up_to()],
                }));
            }
        }
        if rec.len() != n {
            return Ok(Some(DataError::RaggedRow {
                path: owned(path),
                line,
                expected: n,
                found: rec.len(),
            }));
        }
        let is_header = opts.has_header && line == 1;
        if let (Some((col, name, expect)), false) = (typed, is_header)
            && let Some(raw) = rec.get(col)
        {
            let value = String::from_utf8_lossy(raw);
            let v = value.trim();
            let is_null = v.is_empty() || opts.null_values.iter().any(|n| n == v);
            if !is_null && !accepts(expect, v) {
                return Ok(Some(DataError::ParseValue {
                    path: owned(path),
                    line,
                    column: col + 1,
                    name: name.to_string(),
                    value: truncate(&value, 80),
                    expected: expect,
                }));
            }
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n).collect::<String>())
    }
}

/// What a column of polars dtype `d` (`i64`, `f64`, `bool`, ...) expects; `None` for a dtype
/// whose values are not checked here.
fn expected_of_dtype(d: &str) -> Option<Expected> {
    let d = d.to_ascii_lowercase();
    if d.starts_with('i') || d.starts_with('u') {
        Some(Expected::Integer)
    } else if d.starts_with('f') {
        Some(Expected::Number)
    } else if d.starts_with("bool") {
        Some(Expected::Boolean)
    } else {
        None
    }
}

/// Whether the trimmed, non-null value `v` parses as `expected`.
fn accepts(expected: Expected, v: &str) -> bool {
    match expected {
        Expected::Integer => v.parse::<i64>().is_ok(),
        Expected::Number => v.parse::<f64>().is_ok(),
        Expected::Boolean => matches!(v.to_ascii_lowercase().as_str(), "true" | "false"),
    }
}

/// Turns a polars CSV error into a located [`DataError`], re-reading the file to find where.
pub fn refine_csv_error(
    path: &Path,
    delimiter: u8,
    opts: &CsvOptions,
    err: DataError,
) -> DataError {
    let DataError::Polars { source, .. } = &err else {
        return err;
    };
    let msg = source.to_string();
    if matches!(source, PolarsError::NoData(_)) || msg.contains("empty CSV") {
        return DataError::Empty { path: owned(path) };
    }
    // A parse failure names the column and the dtype it expected.
    let typed = parse_failure(&msg).and_then(|(name, dtype)| {
        let names = header_fields(path, delimiter, opts).ok()?;
        let idx = if opts.has_header {
            names.iter().position(|n| *n == name)?
        } else {
            name.strip_prefix("column_")?
                .parse::<usize>()
                .ok()?
                .checked_sub(1)?
        };
        Some((idx, name, expected_of_dtype(&dtype)?))
    });
    let found = match &typed {
        Some((idx, name, expect)) => {
            scan_records(path, delimiter, opts, Some((*idx, name, *expect)))
        }
        None => scan_records(path, delimiter, opts, None),
    };
    match found {
        Ok(Some(located)) => located,
        Ok(None) => DataError::Invalid(format!("{}: {}", path.display(), first_line(&msg))),
        Err(e) => e,
    }
}

/// Extracts (column name, dtype) from polars' "could not parse `v` as dtype `i64` at column 'x'".
fn parse_failure(msg: &str) -> Option<(String, String)> {
    let after_dtype = msg.split("as dtype `").nth(1)?;
    let dtype = after_dtype.split('`').next()?.to_string();
    let after_col = msg.split("at column '").nth(1)?;
    let name = after_col.split('\'').next()?.to_string();
    Some((name, dtype))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_polars_parse_failure_messages() {
        let msg = "could not parse `abc` as dtype `i64` at column 'age' (column number 2)";
        assert_eq!(
            parse_failure(msg),
            Some(("age".to_string(), "i64".to_string()))
        );
        assert!(parse_failure("something else").is_none());
    }

    #[test]
    fn expectations() {
        assert!(accepts(Expected::Integer, "-12") && !accepts(Expected::Integer, "1.5"));
        assert!(accepts(Expected::Number, "1e-3") && !accepts(Expected::Number, "n/a"));
        assert!(accepts(Expected::Boolean, "True") && !accepts(Expected::Boolean, "yes"));
        assert_eq!(expected_of_dtype("i64"), Some(Expected::Integer));
        assert_eq!(expected_of_dtype("f32"), Some(Expected::Number));
        assert_eq!(expected_of_dtype("bool"), Some(Expected::Boolean));
        assert_eq!(expected_of_dtype("str"), None);
    }
}
