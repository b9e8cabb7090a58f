//! Logical schema inference, the TOML schema file, and normalisation to canonical types.
//!
//! Inference maps physical dtypes to [`LogicalType`]s and looks at string columns more
//! closely, over their first [`InferOptions::sample_rows`] rows: `true`/`false` strings are
//! boolean, ISO 8601 dates and timestamps are datetime, strings with few distinct values are
//! categorical, the rest is text. Columns named `id` or `*_id` whose sampled values are all
//! distinct get the `id` role, datetime columns the `time` role, so neither becomes a feature by
//! accident. A schema file overrides any of this:
//!
//! ```toml
//! target = "income"          # the label
//! id = ["customer_id"]       # never features
//! time = ["signup_date"]
//! group = ["household"]
//! ignore = ["fnlwgt"]
//!
//! [columns]                  # logical type overrides
//! zip_code = "categorical"
//! notes = "text"
//! ```
//!
//! [`normalize`] then casts every column to one canonical physical type per logical type
//! (numeric → f32/f64, integer → i64, boolean → bool, categorical/text → string,
//! datetime → µs since the epoch), so the same table read from CSV or Parquet is the same
//! frame, and so has the same fingerprint.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{ColumnSchema, LogicalType, Role, Schema};

use crate::error::{DataError, Result, closest, owned};

/// Thresholds for inference.
#[derive(Clone, Debug)]
pub struct InferOptions {
    /// A string column is categorical when it has at most this many distinct values ...
    pub categorical_max_unique: usize,
    /// ... and at most this fraction of its non-missing values are distinct.
    pub categorical_max_ratio: f64,
    /// Rows of each string column examined (the same in eager and streaming reads, so the
    /// inferred schema does not depend on how the file was read).
    pub sample_rows: usize,
}

impl Default for InferOptions {
    fn default() -> Self {
        InferOptions {
            categorical_max_unique: 1000,
            categorical_max_ratio: 0.5,
            sample_rows: 100_000,
        }
    }
}

/// The schema override file: roles and logical types by column name.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaFile {
    /// The target column.
    #[serde(default)]
    pub target: Option<String>,
    /// Row identifiers.
    #[serde(default)]
    pub id: Vec<String>,
    /// Event-time columns.
    #[serde(default)]
    pub time: Vec<String>,
    /// Group keys.
    #[serde(default)]
    pub group: Vec<String>,
    /// Columns to drop before modelling.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Logical type per column.
    #[serde(default)]
    pub columns: BTreeMap<String, LogicalType>,
}

impl SchemaFile {
    /// Reads and checks a schema file.
    pub fn from_path(path: &Path) -> Result<SchemaFile> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::NotFound { path: owned(path) },
            _ => DataError::Io {
                path: owned(path),
                source: e,
            },
        })?;
        parse_toml(
            &text,
            path,
            &["target", "id", "time", "group", "ignore", "columns"],
        )
    }

    fn role_of(&self, name: &str) -> Option<Role> {
        if self.target.as_deref() == Some(name) {
            Some(Role::Target)
        } else if self.id.iter().any(|n| n == name) {
            Some(Role::Id)
        } else if self.time.iter().any(|n| n == name) {
            Some(Role::Time)
        } else if self.group.iter().any(|n| n == name) {
            Some(Role::Group)
        } else if self.ignore.iter().any(|n| n == name) {
            Some(Role::Ignore)
        } else {
            None
        }
    }

    fn mentioned(&self) -> impl Iterator<Item = &String> {
        self.target
            .iter()
            .chain(&self.id)
            .chain(&self.time)
            .chain(&self.group)
            .chain(&self.ignore)
            .chain(self.columns.keys())
    }
}

/// Parses a TOML config file, turning serde's message into a located [`DataError::Config`]
/// with a "did you mean" hint for misspelt keys.
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(
    text: &str,
    path: &Path,
    known_keys: &[&str],
) -> Result<T> {
    toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map(|s| line_col(text, s.start)).unwrap_or((1, 1));
        let message = e.message().trim().to_string();
        // serde lists the keys it expected ("expected one of `a`, `b`"); fall back to ours.
        let mut known: Vec<String> = message
            .split("expected one of")
            .nth(1)
            .map(|l| {
                l.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        if known.is_empty() {
            known = known_keys.iter().map(|s| s.to_string()).collect();
        }
        let hint = message
            .split('`')
            .nth(1)
            .filter(|_| message.starts_with("unknown"))
            .and_then(|bad| closest(bad, &known).map(|c| format!("did you mean `{c}`?")))
            .or_else(|| Some(format!("known keys: {}", known.join(", "))));
        DataError::Config {
            path: PathBuf::from(path),
            line,
            column,
            message,
            hint,
        }
    })
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Infers the logical schema of a frame, applying the overrides in `file`.
pub fn infer_schema(
    df: &DataFrame,
    file: &SchemaFile,
    opts: &InferOptions,
    path: &Path,
) -> Result<Schema> {
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in file.mentioned() {
        if !names.contains(name) {
            return Err(DataError::MissingColumn {
                path: owned(path),
                name: name.clone(),
                available: names.clone(),
            });
        }
    }
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            let name = c.name().to_string();
            let ltype = match file.columns.get(&name) {
                Some(t) => *t,
                None => infer_type(c.as_materialized_series(), opts),
            };
            let role = file
                .role_of(&name)
                .unwrap_or_else(|| default_role(&name, ltype, c, opts));
            ColumnSchema { name, ltype, role }
        })
        .collect();
    Ok(Schema::new(columns)?)
}

fn default_role(name: &str, ltype: LogicalType, c: &Column, opts: &InferOptions) -> Role {
    if ltype == LogicalType::Datetime {
        return Role::Time;
    }
    let lower = name.to_ascii_lowercase();
    let id_like = lower == "id" || lower.ends_with("_id") || lower == "uuid";
    if id_like
        && matches!(
            ltype,
            LogicalType::Integer | LogicalType::Text | LogicalType::Categorical
        )
    {
        let head = c.as_materialized_series().head(Some(opts.sample_rows));
        if head.null_count() == 0 && head.n_unique().is_ok_and(|u| u == head.len()) {
            return Role::Id;
        }
    }
    Role::Feature
}

/// The logical type of one column, from its dtype and (for strings) its values.
pub fn infer_type(s: &Series, opts: &InferOptions) -> LogicalType {
    match s.dtype() {
        DataType::Float32 | DataType::Float64 => LogicalType::Numeric,
        dt if dt.is_integer() => LogicalType::Integer,
        DataType::Boolean => LogicalType::Boolean,
        DataType::Date | DataType::Datetime(_, _) => LogicalType::Datetime,
        DataType::String => infer_string(s, opts),
        DataType::Null => LogicalType::Numeric,
        _ => LogicalType::Text,
    }
}

fn infer_string(s: &Series, opts: &InferOptions) -> LogicalType {
    let head = s.head(Some(opts.sample_rows));
    let Ok(ca) = head.str() else {
        return LogicalType::Text;
    };
    let non_null = ca.len() - ca.null_count();
    if non_null == 0 {
        return LogicalType::Numeric;
    }
    if ca.iter().flatten().all(|v| parse_bool(v).is_some()) {
        return LogicalType::Boolean;
    }
    if ca.iter().flatten().all(|v| parse_datetime(v).is_some()) {
        return LogicalType::Datetime;
    }
    let mut distinct = HashSet::new();
    let limit = opts.categorical_max_unique;
    for v in ca.iter().flatten() {
        distinct.insert(v);
        if distinct.len() > limit {
            return LogicalType::Text;
        }
    }
    if distinct.len() as f64 <= opts.categorical_max_ratio * non_null as f64 || distinct.len() <= 2
    {
        LogicalType::Categorical
    } else {
        LogicalType::Text
    }
}

/// `true`/`false` in any letter case.
pub fn parse_bool(v: &str) -> Option<bool> {
    if v.eq_ignore_ascii_case("true") {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses an ISO 8601 date or timestamp to microseconds since the Unix epoch (UTC):
/// `YYYY-MM-DD`, optionally followed by `T` or a space, `HH:MM[:SS[.fraction]]` and `Z` or an
/// offset `±HH:MM` / `±HHMM`. A timestamp without an offset is read as UTC.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = b.get(r)?;
        if part.iter().all(u8::is_ascii_digit) {
            std::str::from_utf8(part).ok()?.parse().ok()
        } else {
            None
        }
    };
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) {
        return None;
    }
    let mut micros = days_from_civil(y, mo, d) * 86_400_000_000;
    if b.len() == 10 {
        return Some(micros);
    }
    if !(b[10] == b'T' || b[10] == b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let (h, mi) = (num(11..13)?, num(14..16)?);
    if h > 23 || mi > 59 {
        return None;
    }
    micros += (h * 3600 + mi * 60) * 1_000_000;
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        let sec = num(i + 1..i + 3)?;
        if sec > 60 {
            return None;
        }
        micros += sec * 1_000_000;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut end = start;
            while end < b.len() && b[end].is_ascii_digit() {
                end += 1;
            }
            if end == start {
                return None;
            }
            let digits = &s[start..end.min(start + 6)];
            let frac: i64 = digits.parse().ok()?;
            micros += frac * 10i64.pow(6 - digits.len() as u32);
            i = end;
        }
    }
    match b.get(i) {
        None => Some(micros),
        Some(b'Z') if i + 1 == b.len() => Some(micros),
        Some(&sign @ (b'+' | b'-')) => {
            let oh = num(i + 1..i + 3)?;
            let om = match b.len() - i {
                6 if b[i + 3] == b':' => num(i + 4..i + 6)?,
                5 => num(i + 3..i + 5)?,
                3 => 0,
                _ => return None,
            };
            let offset = (oh * 3600 + om * 60) * 1_000_000;
            Some(if sign == b'+' {
                micros - offset
            } else {
                micros + offset
            })
        }
        _ => None,
    }
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The canonical datetime dtype: microseconds, no time zone (instants in UTC).
pub fn datetime_dtype() -> DataType {
    DataType::Datetime(TimeUnit::Microseconds, None)
}

/// Casts every column to the canonical physical type of its logical type. Values that do
/// not fit (a non-date string in a datetime column, a decimal in an integer column) are
/// errors naming the column, row and value.
pub fn normalize(df: DataFrame, schema: &Schema, path: &Path) -> Result<DataFrame> {
    let height = df.height();
    let columns = df
        .into_columns()
        .into_iter()
        .zip(schema.columns())
        .map(|(c, cs)| normalize_column(c, cs.ltype, path))
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(height, columns).map_err(|e| DataError::Polars {
        path: owned(path),
        source: e,
    })
}

fn bad_value(path: &Path, name: &str, row: usize, value: &str, expected: &str) -> DataError {
    DataError::BadColumn {
        path: owned(path),
        name: name.to_string(),
        message: format!("row {}: cannot read \"{value}\" as {expected}", row + 1),
    }
}

/// Parses every non-missing string with `parse`, keeping missing values missing; the first
/// value that does not parse is an error naming the column, row and value.
fn parse_strings<T>(
    s: &Series,
    path: &Path,
    expected: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<Option<T>>> {
    let ca = s.str().map_err(|e| DataError::Polars {
        path: owned(path),
        source: e,
    })?;
    ca.iter()
        .enumerate()
        .map(|(i, v)| match v {
            None => Ok(None),
            Some(v) => parse(v.trim())
                .map(Some)
                .ok_or_else(|| bad_value(path, s.name(), i, v, expected)),
        })
        .collect()
}

fn normalize_column(c: Column, ltype: LogicalType, path: &Path) -> Result<Column> {
    let s = c.as_materialized_series();
    let name = s.name().clone();
    let dtype = s.dtype().clone();
    let polars_err = |e| DataError::Polars {
        path: owned(path),
        source: e,
    };
    let out: Series = match (ltype, &dtype) {
        (LogicalType::Numeric, DataType::Float32 | DataType::Float64) => return Ok(c),
        (LogicalType::Numeric, DataType::String) => {
            let out = parse_strings(s, path, "a number", |v| v.parse::<f64>().ok())?;
            Float64Chunked::from_iter_options(name.clone(), out.into_iter()).into_series()
        }
        (LogicalType::Numeric, _) => s.cast(&DataType::Float64).map_err(polars_err)?,
        (LogicalType::Integer, DataType::Int64) => return Ok(c),
        (LogicalType::Integer, DataType::Float32 | DataType::Float64) => {
            let f = s.cast(&DataType::Float64).map_err(polars_err)?;
            let ca = f.f64().map_err(polars_err)?;
            if let Some((i, v)) = ca
                .iter()
                .enumerate()
                .find(|(_, v)| v.is_some_and(|x| x.fract() != 0.0 || !x.is_finite()))
            {
                return Err(bad_value(
                    path,
                    &name,
                    i,
                    &format!("{}", v.unwrap_or_default()),
                    "an integer",
                ));
            }
            f.cast(&DataType::Int64).map_err(polars_err)?
        }
        (LogicalType::Integer, DataType::String) => {
            let out = parse_strings(s, path, "an integer", |v| v.parse::<i64>().ok())?;
            Int64Chunked::from_iter_options(name.clone(), out.into_iter()).into_series()
        }
        (LogicalType::Integer, _) => s.strict_cast(&DataType::Int64).map_err(polars_err)?,
        (LogicalType::Boolean, DataType::Boolean) => return Ok(c),
        (LogicalType::Boolean, DataType::String) => {
            let out = parse_strings(s, path, "true/false", parse_bool)?;
            BooleanChunked::from_iter_options(name.clone(), out.into_iter()).into_series()
        }
        (LogicalType::Boolean, dt) if dt.is_integer() => {
            let i = s.cast(&DataType::Int64).map_err(polars_err)?;
            let ca = i.i64().map_err(polars_err)?;
            if let Some((row, v)) = ca
                .iter()
                .enumerate()
                .find(|(_, v)| v.is_some_and(|x| x != 0 && x != 1))
            {
                return Err(bad_value(
                    path,
                    &name,
                    row,
                    &v.unwrap_or_default().to_string(),
                    "0/1",
                ));
            }
            i.cast(&DataType::Boolean).map_err(polars_err)?
        }
        (LogicalType::Boolean, _) => {
            return Err(DataError::BadColumn {
                path: owned(path),
                name: name.to_string(),
                message: format!("a {dtype} column cannot be read as boolean"),
            });
        }
        (LogicalType::Categorical | LogicalType::Text, DataType::String) => return Ok(c),
        (LogicalType::Categorical | LogicalType::Text, _) => {
            s.cast(&DataType::String).map_err(polars_err)?
        }
        (LogicalType::Datetime, DataType::String) => {
            let out = parse_strings(s, path, "an ISO 8601 date or timestamp", parse_datetime)?;
            Int64Chunked::from_iter_options(name.clone(), out.into_iter())
                .into_series()
                .cast(&datetime_dtype())
                .map_err(polars_err)?
        }
        (LogicalType::Datetime, DataType::Datetime(TimeUnit::Microseconds, None)) => return Ok(c),
        (LogicalType::Datetime, DataType::Date | DataType::Datetime(_, _)) => {
            // Strip any zone: polars stores UTC instants, which is what we keep.
            let phys = match &dtype {
                DataType::Date => s
                    .cast(&DataType::Int32)
                    .and_then(|d| d.cast(&DataType::Int64))
                    .map(|d| d * 86_400_000_000i64)
                    .map_err(polars_err)?,
                DataType::Datetime(unit, _) => {
                    let raw = s.to_physical_repr().into_owned();
                    match unit {
                        TimeUnit::Nanoseconds => raw / 1000i64,
                        TimeUnit::Microseconds => raw,
                        TimeUnit::Milliseconds => raw * 1000i64,
                    }
                }
                _ => unreachable!("matched Date | Datetime above"),
            };
            phys.cast(&datetime_dtype()).map_err(polars_err)?
        }
        (LogicalType::Datetime, _) => {
            return Err(DataError::BadColumn {
                path: owned(path),
                name: name.to_string(),
                message: format!("a {dtype} column cannot be read as datetime"),
            });
        }
    };
    Ok(out.with_name(name).into_column())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_iso_datetimes() {
        assert_eq!(parse_datetime("1970-01-01"), Some(0));
        assert_eq!(parse_datetime("1970-01-02T00:00:01"), Some(86_401_000_000));
        assert_eq!(
            parse_datetime("2013-01-01T05:00:00Z"),
            Some(1_357_016_400_000_000)
        );
        assert_eq!(
            parse_datetime("2013-01-01 06:00:00+01:00"),
            parse_datetime("2013-01-01T05:00:00Z")
        );
        assert_eq!(
            parse_datetime("2018-01-01 00:00:00.5"),
            Some(1_514_764_800_500_000)
        );
        assert_eq!(parse_datetime("1969-12-31"), Some(-86_400_000_000));
        assert_eq!(parse_datetime("2024-02-29"), Some(19_782 * 86_400_000_000));
        for bad in [
            "2023-02-29",
            "2023-13-01",
            "2023-1-01",
            "hello",
            "2023-01-01T25:00",
            "2023-01-01X",
        ] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn infers_string_kinds() {
        let opts = InferOptions::default();
        let b = Series::new("b".into(), &["True", "false", "TRUE"]);
        assert_eq!(infer_type(&b, &opts), LogicalType::Boolean);
        let d = Series::new("d".into(), &["2020-01-01", "2020-01-02"]);
        assert_eq!(infer_type(&d, &opts), LogicalType::Datetime);
        let c = Series::new("c".into(), &["a", "b", "a", "a", "b", "a"]);
        assert_eq!(infer_type(&c, &opts), LogicalType::Categorical);
        let t = Series::new("t".into(), &["the cat", "a dog", "one fish", "two fish"]);
        assert_eq!(infer_type(&t, &opts), LogicalType::Text);
        let i = Series::new("i".into(), &[1i64, 2, 3]);
        assert_eq!(infer_type(&i, &opts), LogicalType::Integer);
    }

    #[test]
    fn schema_file_typo_names_the_line() {
        let text = "target = \"y\"\n\n[columns]\nage = \"integr\"\n";
        let err = parse_toml::<SchemaFile>(text, Path::new("s.toml"), &["target", "columns"])
            .unwrap_err();
        match err {
            DataError::Config { line, .. } => assert_eq!(line, 4),
            e => panic!("unexpected {e:?}"),
        }
        let text = "tagret = \"y\"\n";
        let err = parse_toml::<SchemaFile>(text, Path::new("s.toml"), &["target", "columns"])
            .unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean `target`?"));
    }

    #[test]
    fn normalizes_strings_to_canonical_types() {
        let df = DataFrame::new(
            2,
            vec![
                Column::new("when".into(), &["2020-01-01", "2020-01-02T12:00:00"]),
                Column::new("flag".into(), &["True", "False"]),
                Column::new("n".into(), &[1.0f64, 2.0]),
            ],
        )
        .unwrap();
        let schema = infer_schema(
            &df,
            &SchemaFile::default(),
            &InferOptions::default(),
            Path::new("x"),
        )
        .unwrap();
        let out = normalize(df, &schema, Path::new("x")).unwrap();
        assert_eq!(out.column("when").unwrap().dtype(), &datetime_dtype());
        assert_eq!(out.column("flag").unwrap().dtype(), &DataType::Boolean);
        assert_eq!(schema.get("when").unwrap().role, Role::Time);
        let mut forced = SchemaFile::default();
        forced.columns.insert("n".into(), LogicalType::Integer);
        let df = DataFrame::new(1, vec![Column::new("n".into(), &[1.5f64])]).unwrap();
        let schema = infer_schema(&df, &forced, &InferOptions::default(), Path::new("x")).unwrap();
        let err = normalize(df, &schema, Path::new("x")).unwrap_err();
        assert!(
            err.to_string()
                .contains("row 1: cannot read \"1.5\" as an integer"),
            "{err}"
        );
    }
}
