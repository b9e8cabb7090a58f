//! polars' reading path: every format, and the CSV files outside the fast reader's scope.
//! A CSV read is preflighted, parsed (widening integer columns that turn out to hold
//! decimals) and its record count checked, every failure located by [`preflight`]; a lazy
//! [`scan`] gets the same preflight and located errors.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::options::{Format, ReadOptions};
use super::polars_glue::{
    csv_options, dtype_schema, guard, head, head_schema, head_schema_of, null_values,
};
use super::preflight;
use crate::error::{DataError, Expected, Result};

/// Reads `path`, a file in `format`, with polars.
pub(super) fn read(path: &Path, format: Format, opts: &ReadOptions) -> Result<DataFrame> {
    match format {
        Format::Csv => read_csv(path, opts),
        Format::Parquet => guard(path, "parquet", || {
            let f = File::open(path)?;
            ParquetReader::new(f).finish()
        }),
        Format::Ipc => guard(path, "Arrow IPC", || {
            let f = File::open(path)?;
            IpcReader::new(f).finish()
        }),
        Format::Ndjson => {
            let overrides = dtype_schema(&opts.dtypes);
            guard(path, "NDJSON", || {
                let f = File::open(path)?;
                let mut r = JsonReader::new(f)
                    .with_json_format(JsonFormat::JsonLines)
                    .infer_schema_len(std::num::NonZeroUsize::new(opts.csv.infer_rows.max(1)));
                if let Some(s) = &overrides {
                    r = r.with_schema_overwrite(s);
                }
                r.finish()
            })
        }
    }
}

/// polars' CSV path: preflight, parse (widening integer columns that turn out to hold decimals),
/// record count; every failure located by [`preflight`].
fn read_csv(path: &Path, opts: &ReadOptions) -> Result<DataFrame> {
    let delimiter = opts.delimiter_for(path);
    let stats = preflight::preflight_csv(path, delimiter, &opts.csv)?;
    // polars infers each column's type from the first `infer_rows` rows. When a column that
    // looked integral turns out to hold a decimal further down, widen it to f64 and read again
    // rather than failing; a value that is not a number at all is a real error.
    let mut opts = opts.clone();
    for _ in 0..64 {
        let attempt = guard(path, "CSV", || {
            csv_options(path, &opts)
                .try_into_reader_with_file_path(Some(path.to_path_buf()))?
                .finish()
        });
        match attempt {
            Ok(df) => {
                preflight::check_record_count(path, delimiter, &opts.csv, &stats, df.height())?;
                return Ok(df);
            }
            Err(e) => {
                let err = preflight::refine_csv_error(path, delimiter, &opts.csv, e);
                if let DataError::ParseValue {
                    name,
                    value,
                    expected,
                    ..
                } = &err
                    && *expected == Expected::Integer
                    && value.trim().parse::<f64>().is_ok()
                    && !opts.dtypes.iter().any(|(n, _)| n == name)
                {
                    opts.dtypes.push((name.clone(), DataType::Float64));
                    continue;
                }
                return Err(err);
            }
        }
    }
    Err(DataError::Invalid(format!(
        "{}: too many columns changed type while reading",
        path.display()
    )))
}

/// A lazy scan of `path`, a file in `format`; a CSV file is preflighted first.
pub(super) fn scan(path: &Path, format: Format, opts: &ReadOptions) -> Result<LazyFrame> {
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let polars_err = |source| DataError::Polars {
        path: path.to_path_buf(),
        source,
    };
    let lf = match format {
        Format::Csv => {
            preflight::preflight_csv(path, opts.delimiter_for(path), &opts.csv)?;
            let schema = csv_schema(path, opts)?;
            let c = &opts.csv;
            LazyCsvReader::new(pl_path)
                .with_has_header(c.has_header)
                .with_separator(opts.delimiter_for(path))
                .with_quote_char(c.quote)
                .with_null_values(null_values(c))
                .with_missing_is_null(true)
                .with_comment_prefix(c.comment_prefix.as_deref().map(Into::into))
                .with_schema(Some(schema))
                .finish()
                .map_err(polars_err)?
        }
        Format::Parquet => {
            LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).map_err(polars_err)?
        }
        Format::Ipc => LazyFrame::scan_ipc(pl_path, Default::default(), Default::default())
            .map_err(polars_err)?,
        Format::Ndjson => LazyJsonLineReader::new(pl_path)
            .with_infer_schema_length(std::num::NonZeroUsize::new(opts.csv.infer_rows.max(1)))
            .finish()
            .map_err(polars_err)?,
    };
    Ok(lf)
}

/// The schema polars infers for a CSV file, with the caller's dtype overrides applied: from the
/// file's head in memory when its lines are its records (no comment lines, no quote character
/// below the header line), as the fast reader does — polars' head read of a file path maps the
/// file and parses well beyond the head (see [`head_schema_of`]) —, from the file otherwise.
pub(super) fn csv_schema(path: &Path, opts: &ReadOptions) -> Result<SchemaRef> {
    let c = &opts.csv;
    let lines = c
        .infer_rows
        .max(1)
        .saturating_add(usize::from(c.has_header));
    let head = match c.comment_prefix {
        Some(_) => None,
        None => {
            let io_err = |e| DataError::Io {
                path: path.to_path_buf(),
                source: e,
            };
            let file = File::open(path).map_err(io_err)?;
            let len = usize::try_from(file.metadata().map_err(io_err)?.len()).unwrap_or(usize::MAX);
            head(&file, len, lines).map_err(io_err)?
        }
    };
    let head = head.filter(|h| {
        let body = if c.has_header {
            memchr::memchr(b'\n', h).map_or(h.len(), |i| i + 1)
        } else {
            0
        };
        c.quote.is_none_or(|q| {
            memchr::memchr(q, &h[body..]).is_none()
                && memchr::memchr_iter(q, &h[..body]).count().is_multiple_of(2)
        })
    });
    match head {
        Some(h) => head_schema_of(path, h, opts),
        None => head_schema(path, opts),
    }
    .map_err(|e| preflight::refine_csv_error(path, opts.delimiter_for(path), c, e))
}
