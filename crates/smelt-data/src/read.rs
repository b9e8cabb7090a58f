//! Reading tables: CSV (delimiter, header, quoting and null markers configurable), Parquet,
//! NDJSON and Arrow IPC, eagerly ([`read`]) or lazily ([`scan`], for streaming over files that
//! do not fit in memory).
//!
//! polars does the parsing, except for clean numeric CSV files, which `fastcsv` reads
//! in parallel to the same result, faster. Smelt adds what polars leaves out: a preflight that rejects empty
//! files, directories and over-long lines before any allocation, strict field counts (polars
//! fills short rows with nulls, which would lose data silently), and on any parse failure a
//! second, careful pass ([`crate::diagnose`]) that turns polars' byte offsets into a file, line,
//! column and value.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde::{Deserialize, Serialize};

use crate::diagnose;
use crate::error::{DataError, Result};

/// A supported file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// Delimited text (`.csv`, `.tsv`, `.txt`).
    Csv,
    /// Apache Parquet.
    Parquet,
    /// Newline-delimited JSON (`.ndjson`, `.jsonl`).
    Ndjson,
    /// Arrow IPC file (`.arrow`, `.ipc`, `.feather`).
    Ipc,
}

impl Format {
    /// The format implied by a path's extension.
    pub fn from_path(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        Ok(match ext.as_str() {
            "csv" | "tsv" | "txt" => Format::Csv,
            "parquet" | "pq" => Format::Parquet,
            "ndjson" | "jsonl" => Format::Ndjson,
            "arrow" | "ipc" | "feather" => Format::Ipc,
            _ => {
                return Err(DataError::UnknownFormat {
                    path: path.to_path_buf(),
                    ext,
                });
            }
        })
    }

    /// Lower-case name (`csv`, `parquet`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
            Format::Ndjson => "ndjson",
            Format::Ipc => "ipc",
        }
    }
}

/// CSV dialect and safety limits.
#[derive(Clone, Debug)]
pub struct CsvOptions {
    /// Field delimiter (default `,`; `\t` for `.tsv` files when left at the default).
    pub delimiter: u8,
    /// Whether the first line holds column names (default `true`).
    pub has_header: bool,
    /// Quote character, or `None` to disable quoting (default `"`).
    pub quote: Option<u8>,
    /// Extra strings read as missing, besides the empty field (e.g. `NA`, `?`).
    pub null_values: Vec<String>,
    /// Lines starting with this prefix are skipped.
    pub comment_prefix: Option<String>,
    /// Longest physical line accepted, in bytes (default 256 MiB); guards against reading a
    /// corrupt or binary file as one giant field.
    pub max_line_bytes: u64,
    /// Rows polars looks at to infer column types (default 10,000).
    pub infer_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            has_header: true,
            quote: Some(b'"'),
            null_values: Vec::new(),
            comment_prefix: None,
            max_line_bytes: 256 << 20,
            infer_rows: 10_000,
        }
    }
}

/// How to read a file.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// Format; inferred from the extension when `None`.
    pub format: Option<Format>,
    /// CSV dialect (ignored for other formats).
    pub csv: CsvOptions,
    /// Physical dtypes forced for some columns (CSV and NDJSON), e.g. from a schema file.
    pub dtypes: Vec<(String, DataType)>,
}

impl ReadOptions {
    /// The format of `path`: the explicit one, else the extension's.
    pub fn format_of(&self, path: &Path) -> Result<Format> {
        match self.format {
            Some(f) => Ok(f),
            None => Format::from_path(path),
        }
    }

    pub(crate) fn delimiter_for(&self, path: &Path) -> u8 {
        let is_tsv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        if is_tsv && self.csv.delimiter == b',' {
            b'\t'
        } else {
            self.csv.delimiter
        }
    }
}

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
    check_path(path)?;
    let format = opts.format_of(path)?;
    let mut reader = Reader::Polars;
    let fast = match format {
        Format::Csv if fast_csv => crate::fastcsv::read(path, opts)?,
        _ => None,
    };
    let df = match format {
        Format::Csv => match fast {
            Some(df) => {
                reader = Reader::FastCsv;
                df
            }
            None => read_csv(path, opts)?,
        },
        Format::Parquet => guard(path, "parquet", || {
            let f = File::open(path)?;
            ParquetReader::new(f).finish()
        })?,
        Format::Ipc => guard(path, "Arrow IPC", || {
            let f = File::open(path)?;
            IpcReader::new(f).finish()
        })?,
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
            })?
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
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let polars_err = |source| DataError::Polars {
        path: path.to_path_buf(),
        source,
    };
    let lf = match format {
        Format::Csv => {
            diagnose::preflight_csv(path, opts.delimiter_for(path), &opts.csv)?;
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

/// The schema polars infers for a CSV file, with the caller's dtype overrides applied.
fn csv_schema(path: &Path, opts: &ReadOptions) -> Result<SchemaRef> {
    head_schema(path, opts)
        .map_err(|e| diagnose::refine_csv_error(path, opts.delimiter_for(path), &opts.csv, e))
}

/// [`csv_schema`] without locating errors: polars reads the first `infer_rows` rows and infers
/// their types exactly as a full read of the file does.
fn head_schema(path: &Path, opts: &ReadOptions) -> Result<SchemaRef> {
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
pub(crate) fn head_schema_of(path: &Path, head: Vec<u8>, opts: &ReadOptions) -> Result<SchemaRef> {
    let df = guard(path, "CSV", || {
        csv_options(path, opts)
            .with_n_rows(Some(opts.csv.infer_rows.max(1)))
            .into_reader_with_file_handle(std::io::Cursor::new(head))
            .finish()
    })?;
    Ok(Arc::new(df.schema().as_ref().clone()))
}

fn dtype_schema(dtypes: &[(String, DataType)]) -> Option<Schema> {
    (!dtypes.is_empty()).then(|| {
        dtypes
            .iter()
            .map(|(n, t)| Field::new(n.as_str().into(), t.clone()))
            .collect()
    })
}

/// The CSV null markers in polars' form (the empty field is always missing besides these).
fn null_values(c: &CsvOptions) -> Option<NullValues> {
    (!c.null_values.is_empty())
        .then(|| NullValues::AllColumns(c.null_values.iter().map(|s| s.as_str().into()).collect()))
}

fn csv_options(path: &Path, opts: &ReadOptions) -> CsvReadOptions {
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

/// polars' CSV path: preflight, parse (widening integer columns that turn out to hold decimals),
/// record count; every failure located by [`diagnose`].
pub(crate) fn read_csv(path: &Path, opts: &ReadOptions) -> Result<DataFrame> {
    let delimiter = opts.delimiter_for(path);
    let stats = diagnose::preflight_csv(path, delimiter, &opts.csv)?;
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
                diagnose::check_record_count(path, delimiter, &opts.csv, &stats, df.height())?;
                return Ok(df);
            }
            Err(e) => {
                let err = diagnose::refine_csv_error(path, delimiter, &opts.csv, e);
                if let DataError::ParseValue {
                    name,
                    value,
                    expected,
                    ..
                } = &err
                    && expected == "integer"
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

/// Runs a polars read, turning errors and panics (polars panics on some corrupt inputs) into
/// [`DataError`]s naming the file.
pub(crate) fn guard<T>(
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

pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

/// Rejects duplicate column names (formats other than CSV can carry them too).
fn check_columns(path: &Path, df: &DataFrame) -> Result<()> {
    let mut seen = std::collections::HashMap::new();
    for (i, name) in df.get_column_names().iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i + 1) {
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

/// A path for messages: as given by the user.
pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_path_buf()
}
