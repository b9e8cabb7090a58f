//! Reading tables: CSV (delimiter, header, quoting and null markers configurable), Parquet,
//! NDJSON and Arrow IPC, eagerly ([`read`]), lazily ([`scan`], for streaming over files that
//! do not fit in memory) or in batches of a fixed number of rows ([`batches`]).
//!
//! polars does the parsing, except for clean numeric CSV files, which `fastcsv` reads
//! in parallel to the same result, faster. Smelt adds what polars leaves out: a preflight that rejects empty
//! files, directories and over-long lines before any allocation, strict field counts (polars
//! fills short rows with nulls, which would lose data silently), and on any parse failure a
//! second, careful pass ([`preflight`]) that turns polars' byte offsets into a file, line,
//! column and value.
//!
//! This module is the dispatch, the only one that knows both CSV readers. Below it, imports go
//! one way: `fastcsv` (the fast reader) and `polars_path` (polars' reader, every format) both
//! use `polars_glue` (polars' options, head-of-file type inference, error wrapping) and
//! [`preflight`]; everything uses `options` ([`Format`], [`CsvOptions`], [`ReadOptions`]).

use std::path::Path;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{DataError, Result};

mod batches;
mod fastcsv;
pub mod images;
mod options;
mod polars_glue;
mod polars_path;
pub mod preflight;
mod specials;

pub use batches::{Batches, batches, batches_with_unit};
pub use options::{CsvOptions, Format, ReadOptions};
pub use preflight::check_path;

/// Reads a whole file into a DataFrame.
///
/// ```no_run
/// use smelt_data::read::{read, ReadOptions};
/// let df = read("data/iris.csv".as_ref(), &ReadOptions::default()).unwrap();
/// println!("{} rows", df.height());
/// ```
pub fn read(path: &Path, opts: &ReadOptions) -> Result<DataFrame> {
    read_traced(path, opts).map(|(df, _)| df)
}

/// Which parser read a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reader {
    /// Smelt's parallel reader for clean numeric CSV files (`fastcsv`).
    FastCsv,
    /// polars' reader (every format; CSV files outside the fast reader's scope).
    Polars,
    /// A folder of images ([`images`]).
    Images,
}

/// [`read`], also telling which parser read the file (for benchmarks and tests).
pub fn read_traced(path: &Path, opts: &ReadOptions) -> Result<(DataFrame, Reader)> {
    read_with(path, opts, true)
}

/// [`read`] with polars alone, never the fast CSV reader: the reference that reader is tested
/// and benchmarked against.
#[doc(hidden)]
pub fn read_polars(path: &Path, opts: &ReadOptions) -> Result<DataFrame> {
    read_with(path, opts, false).map(|(df, _)| df)
}

fn read_with(path: &Path, opts: &ReadOptions, fast_csv: bool) -> Result<(DataFrame, Reader)> {
    if path.is_dir() && images::is_image_folder(path) {
        return Ok((images::read_folder(path)?, Reader::Images));
    }
    check_path(path)?;
    let format = opts.format_of(path)?;
    let fast = match format {
        Format::Csv if fast_csv => fastcsv::read(path, opts)?,
        _ => None,
    };
    let (df, reader) = match fast {
        Some(df) => (df, Reader::FastCsv),
        None => {
            let df = polars_path::read(path, format, opts)?;
            let df = match format {
                Format::Csv => specials::convert(path, df)?,
                _ => df,
            };
            (df, Reader::Polars)
        }
    };
    check_columns(path, &df)?;
    if df.height() == 0 {
        return Err(DataError::NoRows {
            path: path.to_path_buf(),
        });
    }
    Ok((df, reader))
}

/// A lazy scan of the file, for streaming statistics over data larger than memory.
/// The CSV preflight and diagnosis apply as in [`read`].
pub fn scan(path: &Path, opts: &ReadOptions) -> Result<LazyFrame> {
    check_path(path)?;
    let format = opts.format_of(path)?;
    polars_path::scan(path, format, opts)
}

/// Rejects duplicate column names (formats other than CSV can carry them too).
fn check_columns(path: &Path, df: &DataFrame) -> Result<()> {
    check_names(path, df.get_column_names().iter().map(|n| n.as_str()))
}

/// [`check_columns`] over the names alone.
fn check_names<'a>(path: &Path, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (i, name) in names.enumerate() {
        if let Some(first) = seen.insert(name, i + 1) {
            return Err(DataError::DuplicateColumn {
                path: path.to_path_buf(),
                name: name.to_string(),
                first,
                second: i + 1,
            });
        }
    }
    Ok(())
}
