//! The error type of the data layer. Every variant names the file and, where it is known, the
//! line (1-based, counting the header) and column; `Display` is one line, and [`DataError::hint`]
//! gives the fix to print after it.

use std::fmt;
use std::path::{Path, PathBuf};

pub use smelt_core::text::{closest, levenshtein};
use thiserror::Error;

/// Errors raised while reading, inferring, validating, splitting or writing data.
#[derive(Debug, Error)]
pub enum DataError {
    /// The input path does not exist.
    #[error("{path}: no such file")]
    NotFound { path: PathBuf },
    /// The input path is a directory.
    #[error("{path}: is a directory, not a data file")]
    IsDirectory { path: PathBuf },
    /// An image of an image folder that cannot be used (unreadable, another size).
    #[error("{path}: {message}", path = .path.display())]
    Image { path: PathBuf, message: String },
    /// The extension does not name a supported format.
    #[error("{path}: cannot tell the format from the extension `{ext}`")]
    UnknownFormat { path: PathBuf, ext: String },
    /// An output file's extension does not name a format Smelt writes.
    #[error("{path}: cannot tell the output format from the extension `{ext}`")]
    UnknownOutputFormat { path: PathBuf, ext: String },
    /// The file has zero bytes.
    #[error("{path}: the file is empty")]
    Empty { path: PathBuf },
    /// The file has a header but no data row.
    #[error("{path}: the file has a header but no data rows")]
    NoRows { path: PathBuf },
    /// A CSV header read as one column holds another common delimiter: the file is likely
    /// delimited by it.
    #[error(
        "{path}: the header is one column, `{header}`, but holds `{found}`: the file looks delimited by `{found}`, not `{used}`"
    )]
    OtherDelimiter {
        path: PathBuf,
        header: String,
        found: String,
        used: String,
    },
    /// A CSV record has more or fewer fields than the header.
    #[error("{path}:{line}: expected {expected} fields (as in the header), found {found}")]
    RaggedRow {
        path: PathBuf,
        line: u64,
        expected: usize,
        found: usize,
    },
    /// Bytes that are not UTF-8.
    #[error("{path}:{line}:{column}: invalid UTF-8 (byte 0x{byte:02x})")]
    InvalidUtf8 {
        path: PathBuf,
        line: u64,
        column: usize,
        byte: u8,
    },
    /// A physical line longer than the configured maximum.
    #[error("{path}:{line}: line is {len} bytes long, over the limit of {limit} bytes")]
    LineTooLong {
        path: PathBuf,
        line: u64,
        len: u64,
        limit: u64,
    },
    /// A value that does not parse as its column's type.
    #[error("{path}:{line}:{column}: column `{name}`: cannot parse \"{value}\" as {expected}")]
    ParseValue {
        path: PathBuf,
        line: u64,
        column: usize,
        name: String,
        value: String,
        expected: Expected,
    },
    /// A header that names one column twice.
    #[error("{path}: duplicate column name `{name}` (columns {first} and {second})")]
    DuplicateColumn {
        path: PathBuf,
        name: String,
        first: usize,
        second: usize,
    },
    /// A column the caller asked for is not in the table.
    #[error("{path}: no column named `{name}`")]
    MissingColumn {
        path: PathBuf,
        name: String,
        available: Vec<String>,
    },
    /// A column has a type the operation cannot use.
    #[error("{path}: column `{name}`: {message}")]
    BadColumn {
        path: PathBuf,
        name: String,
        message: String,
    },
    /// A Parquet/IPC file that cannot be decoded (truncated, corrupt, not that format).
    #[error("{path}: not a readable {format} file: {message}")]
    Corrupt {
        path: PathBuf,
        format: &'static str,
        message: String,
    },
    /// A configuration file (schema, rules) that is not valid.
    #[error("{path}:{line}:{column}: {message}")]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        hint: Option<String>,
    },
    /// A series too short for the window asked of it (`smelt data window`).
    #[error(
        "{path}: the series has {rows} rows, shorter than the window: {lags} lags + horizon {horizon} need at least {needed}",
        path = .path.display(),
        needed = .lags + .horizon
    )]
    TooShort {
        path: PathBuf,
        rows: usize,
        lags: usize,
        horizon: usize,
    },
    /// An invalid argument (split fractions, seeds, strategies).
    #[error("{0}")]
    Invalid(String),
    /// Any other error from polars, with the file it concerns.
    #[error("{path}: {source}")]
    Polars {
        path: PathBuf,
        #[source]
        source: polars::error::PolarsError,
    },
    /// An IO error, with the file it concerns.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An error from the core types.
    #[error(transparent)]
    Core(#[from] smelt_core::CoreError),
}

impl DataError {
    /// A suggestion to print after the error, if there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            DataError::NotFound { .. } => "check the path; relative paths start at the current directory".into(),
            DataError::IsDirectory { .. } => "pass a file inside the directory (a folder is read only when it holds PNG/JPEG images, directly or in one folder per class)".into(),
            DataError::Image { .. } => "an image folder holds PNG or JPEG files of one size, in one sub-folder per class (the label) or all directly in it".into(),
            DataError::UnknownFormat { .. } => {
                "use a .csv, .tsv, .parquet, .ndjson/.jsonl or .arrow/.ipc/.feather file, or pass `--format`".into()
            }
            DataError::UnknownOutputFormat { ext, .. } => {
                let excel = if matches!(ext.as_str(), "xlsx" | "xls" | "xlsm" | "ods") {
                    " (spreadsheets are not written; a .csv file opens in them)"
                } else {
                    ""
                };
                format!("name the output file .csv, .tsv, .parquet, .ndjson/.jsonl or .arrow/.ipc/.feather{excel}")
            }
            DataError::Empty { .. } => "the file has no header and no rows; was it fully written?".into(),
            DataError::NoRows { .. } => "add data rows, or check that the file was fully written".into(),
            DataError::OtherDelimiter { found, .. } if found == "\\t" => {
                "pass `--delimiter tab`".into()
            }
            DataError::OtherDelimiter { found, .. } => format!("pass `--delimiter '{found}'`"),
            DataError::RaggedRow { .. } => {
                "fix that line, or check the delimiter (`--delimiter`) and quoting (`--quote`)".into()
            }
            DataError::InvalidUtf8 { .. } => {
                "re-encode the file as UTF-8, e.g. `iconv -f latin1 -t utf-8 FILE > FILE.utf8`".into()
            }
            DataError::LineTooLong { .. } => {
                "check the line ending and quoting, or raise the limit with `--max-line-bytes`".into()
            }
            DataError::ParseValue { name, value, .. } => format!(
                "pass `--null-values \"{value}\"` if it marks a missing value, or declare the column as text in a schema file (`[columns] {name} = \"text\"`)"
            ),
            DataError::DuplicateColumn { .. } => "rename one of the columns in the header".into(),
            DataError::MissingColumn { name, available, .. } => match closest(name, available) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("available columns: {}", preview(available)),
            },
            DataError::Corrupt { .. } => "the file may be truncated; write it again".into(),
            DataError::Config { hint, .. } => return hint.clone(),
            DataError::TooShort { rows, horizon, .. } => format!(
                "use fewer lags (at most {}) or a longer series",
                rows.saturating_sub(*horizon)
            ),
            DataError::Core(e) => return e.hint(),
            _ => return None,
        })
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, DataError>;

/// The type a value failed to parse as, in [`DataError::ParseValue`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Expected {
    /// A whole number (a column of an integer dtype).
    Integer,
    /// A number (a column of a float dtype).
    Number,
    /// `true` or `false`, in any case.
    Boolean,
}

impl Expected {
    /// The name printed in messages: `integer`, `number` or `boolean`.
    pub fn as_str(self) -> &'static str {
        match self {
            Expected::Integer => "integer",
            Expected::Number => "number",
            Expected::Boolean => "boolean",
        }
    }
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A path for messages: as given by the user.
pub(crate) fn owned(path: &Path) -> PathBuf {
    path.to_path_buf()
}

/// The first line of an error message, trimmed.
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}

fn preview(names: &[String]) -> String {
    let shown: Vec<_> = names.iter().take(12).map(|n| format!("`{n}`")).collect();
    let more = names.len().saturating_sub(12);
    if more > 0 {
        format!("{} and {more} more", shown.join(", "))
    } else {
        shown.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let cols = vec![
            "income".to_string(),
            "age".to_string(),
            "workclass".to_string(),
        ];
        assert_eq!(closest("incme", &cols), Some("income"));
        assert_eq!(closest("Income", &cols), Some("income"));
        assert_eq!(closest("salary", &cols), None);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("tabel", "table"), 1);
    }
}
