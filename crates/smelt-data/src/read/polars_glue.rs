//! What every polars read shares: [`ReadOptions`] as polars' CSV options, polars' type
//! inference over a file's head (the fast CSV reader takes its column types from it too), and
//! [`guard`], which runs a polars call and turns its errors and panics into [`DataError`]s
//! naming the file.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::options::{CsvOptions, ReadOptions};
use crate::error::{DataError, Result, first_line};

/// The schema polars infers for a CSV file, with the caller's dtype overrides applied, without
/// locating errors (see `polars_path::csv_schema`): polars reads the first `infer_rows` rows and infers
/// their types exactly as a full read of the file does.
pub(super) fn head_schema(path: &Path, opts: &ReadOptions) -> Result<SchemaRef> {
    let head = guard(path, "CSV", || {
        csv_options(path, opts)
            .with_n_rows(Some(opts.csv.infer_rows.max(1)))
            .try_into_reader_with_file_path(Some(path.to_path_buf()))?
            .finish()
    })?;
    Ok(Arc::new(head.schema().as_ref().clone()))
}

/// [`head_schema`] from the start of the file in memory. `head` must hold the header and the
/// first `infer_rows` data lines, or the whole file: polars' type inference reads no more (its
/// head read of a file path parses far beyond `n_rows`, 0.15 s and 100 MB on the 220 MB
/// benchmark file).
pub(super) fn head_schema_of(path: &Path, head: Vec<u8>, opts: &ReadOptions) -> Result<SchemaRef> {
    let df = guard(path, "CSV", || {
        csv_options(path, opts)
            .with_n_rows(Some(opts.csv.infer_rows.max(1)))
            .into_reader_with_file_handle(std::io::Cursor::new(head))
            .finish()
    })?;
    Ok(Arc::new(df.schema().as_ref().clone()))
}

/// Largest head [`head`] reads: polars' default 10,000 inference rows are a few MB.
const MAX_HEAD_BYTES: usize = 64 << 20;

/// The first `lines` lines of `file` (with their line breaks; `len` bytes long), or all of it if
/// it has fewer; `None` if that is over [`MAX_HEAD_BYTES`].
pub(super) fn head(file: &File, len: usize, lines: usize) -> std::io::Result<Option<Vec<u8>>> {
    const BLOCK: usize = 256 << 10;
    let mut reader = file;
    reader.seek(SeekFrom::Start(0))?;
    let mut head = Vec::new();
    let mut seen = 0;
    while head.len() < len {
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let from = head.len();
        let n = (len - from).min(BLOCK);
        head.resize(from + n, 0);
        reader.read_exact(&mut head[from..])?;
        for q in memchr::memchr_iter(b'\n', &head[from..]) {
            seen += 1;
            if seen == lines {
                head.truncate(from + q + 1);
                return Ok(Some(head));
            }
        }
    }
    Ok(Some(head))
}

/// The caller's dtype overrides as a polars schema; `None` when there are none.
pub(super) fn dtype_schema(dtypes: &[(String, DataType)]) -> Option<Schema> {
    (!dtypes.is_empty()).then(|| {
        dtypes
            .iter()
            .map(|(n, t)| Field::new(n.as_str().into(), t.clone()))
            .collect()
    })
}

/// The CSV null markers in polars' form (the empty field is always missing besides these).
pub(super) fn null_values(c: &CsvOptions) -> Option<NullValues> {
    (!c.null_values.is_empty())
        .then(|| NullValues::AllColumns(c.null_values.iter().map(|s| s.as_str().into()).collect()))
}

/// [`ReadOptions`] as polars' CSV reader options for `path`.
pub(super) fn csv_options(path: &Path, opts: &ReadOptions) -> CsvReadOptions {
    let c = &opts.csv;
    let delimiter = opts.delimiter_for(path);
    let mut o = CsvReadOptions::default()
        .with_has_header(c.has_header)
        .with_infer_schema_length(Some(c.infer_rows))
        .with_raise_if_empty(true)
        .map_parse_options(|p| {
            let mut p = p
                .with_separator(delimiter)
                .with_quote_char(c.quote)
                .with_null_values(null_values(c))
                .with_missing_is_null(true)
                .with_truncate_ragged_lines(false)
                .with_try_parse_dates(false);
            if let Some(prefix) = &c.comment_prefix {
                p = p.with_comment_prefix(Some(prefix.as_str()));
            }
            p
        });
    if let Some(s) = dtype_schema(&opts.dtypes) {
        o = o.with_schema_overwrite(Some(Arc::new(s)));
    }
    o
}

/// Runs a polars read, turning errors and panics (polars panics on some corrupt inputs) into
/// [`DataError`]s naming the file.
pub(super) fn guard<T>(
    path: &Path,
    format: &'static str,
    f: impl FnOnce() -> PolarsResult<T>,
) -> Result<T> {
    let out = crate::quiet_panics(f);
    match out {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(classify(path, format, e)),
        Err(msg) => Err(DataError::Corrupt {
            path: path.to_path_buf(),
            format,
            message: msg,
        }),
    }
}

fn classify(path: &Path, format: &'static str, e: PolarsError) -> DataError {
    match (&e, format) {
        (PolarsError::IO { error, .. }, _) if error.kind() == std::io::ErrorKind::NotFound => {
            DataError::NotFound {
                path: path.to_path_buf(),
            }
        }
        (PolarsError::Duplicate(_), _) => duplicate_column(path, &e),
        (_, "parquet" | "Arrow IPC") => DataError::Corrupt {
            path: path.to_path_buf(),
            format,
            message: first_line(&e.to_string()),
        },
        _ => DataError::Polars {
            path: path.to_path_buf(),
            source: e,
        },
    }
}

fn duplicate_column(path: &Path, e: &PolarsError) -> DataError {
    let msg = e.to_string();
    let name = msg.split('\'').nth(1).unwrap_or("?").to_string();
    DataError::DuplicateColumn {
        path: path.to_path_buf(),
        name,
        first: 0,
        second: 0,
    }
}
