//! The reader options: the file [`Format`], the [`CsvOptions`] dialect and limits, and
//! [`ReadOptions`], which holds both and the caller's dtype overrides. Plain data, with no
//! knowledge of any reader.

use std::path::Path;

use polars::prelude::DataType;
use serde::{Deserialize, Serialize};

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
    /// The format's name in messages (`CSV`, `parquet`, `NDJSON`, `Arrow IPC`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Csv => "CSV",
            Format::Parquet => "parquet",
            Format::Ndjson => "NDJSON",
            Format::Ipc => "Arrow IPC",
        }
    }

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

    /// The format an output file's extension asks for: as [`Format::from_path`], with an
    /// error about writing (there is no `--format` for outputs to point at).
    pub fn for_output(path: &Path) -> Result<Format> {
        Format::from_path(path).map_err(|e| match e {
            DataError::UnknownFormat { path, ext } => DataError::UnknownOutputFormat { path, ext },
            other => other,
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
