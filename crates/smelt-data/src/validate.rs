//! Validation rules, written in TOML, checked against a table; **every** violation is
//! reported, with its column and up to [`Rules::max_examples`] row numbers (1-based data rows,
//! the header not counted) and a total count.
//!
//! ```toml
//! [table]
//! min_rows = 100                  # row-count bounds
//! max_rows = 10_000_000
//! required_columns = ["age", "income"]
//! no_duplicate_rows = true
//!
//! [columns.age]
//! type = "integer"                # logical type: numeric, integer, boolean, categorical, datetime, text
//! max_null_fraction = 0.0
//! min = 0
//! max = 120
//!
//! [columns.income]
//! allowed = ["<=50K", ">50K"]     # allowed categories
//!
//! [columns.email]
//! regex = '^[^@\s]+@[^@\s]+$'     # every non-missing value must match (whole value)
//! unique = true
//! ```
//!
//! The rules file is itself validated: an unknown rule or section is an error naming it, its
//! line and the closest known rule.

use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{LogicalType, Schema};

use crate::error::{DataError, Result, closest, owned};
use crate::infer::parse_toml;

/// Table-wide rules.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableRules {
    /// Fewest rows allowed.
    pub min_rows: Option<u64>,
    /// Most rows allowed.
    pub max_rows: Option<u64>,
    /// Columns that must exist.
    #[serde(default)]
    pub required_columns: Vec<String>,
    /// Reject rows that repeat an earlier row exactly.
    #[serde(default)]
    pub no_duplicate_rows: bool,
}

/// Rules for one column.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnRules {
    /// The column must exist (implied by any other rule on it).
    #[serde(default)]
    pub required: bool,
    /// Expected logical type (`numeric` also accepts `integer`).
    #[serde(rename = "type")]
    pub ltype: Option<LogicalType>,
    /// Largest fraction of missing values allowed, in [0, 1].
    pub max_null_fraction: Option<f64>,
    /// Smallest value allowed (numbers; datetimes as µs since the epoch).
    pub min: Option<f64>,
    /// Largest value allowed.
    pub max: Option<f64>,
    /// The only values allowed.
    pub allowed: Option<Vec<String>>,
    /// Every value distinct.
    #[serde(default)]
    pub unique: bool,
    /// A regular expression every non-missing value must match in full.
    pub regex: Option<String>,
}

/// A rules file.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Table-wide rules.
    #[serde(default)]
    pub table: TableRules,
    /// Rules per column name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnRules>,
    /// Example rows reported per violation (default 10).
    #[serde(default = "default_examples")]
    pub max_examples: usize,
}

fn default_examples() -> usize {
    10
}

impl Rules {
    /// Reads and checks a rules file.
    pub fn from_path(path: &Path) -> Result<Rules> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::NotFound { path: owned(path) },
            std::io::ErrorKind::IsADirectory => DataError::IsDirectory { path: owned(path) },
            _ => DataError::Io {
                path: owned(path),
                source: e,
            },
        })?;
        Self::from_toml(&text, path)
    }

    /// Parses and checks rules from TOML text (`path` is used in messages).
    pub fn from_toml(text: &str, path: &Path) -> Result<Rules> {
        let rules: Rules = parse_toml(text, path, &["table", "columns", "max_examples"])?;
        for (name, c) in &rules.columns {
            let at = |message: String| {
                let offset = text.find(&format!("columns.{name}")).unwrap_or(0);
                let (line, column) = crate::infer::line_col(text, offset);
                DataError::Config {
                    path: PathBuf::from(path),
                    line,
                    column,
                    message: format!("column `{name}`: {message}"),
                    hint: None,
                }
            };
            if let Some(f) = c.max_null_fraction
                && !(0.0..=1.0).contains(&f)
            {
                return Err(at(format!("max_null_fraction must be in [0, 1], got {f}")));
            }
            if let (Some(lo), Some(hi)) = (c.min, c.max)
                && lo > hi
            {
                return Err(at(format!("min ({lo}) is greater than max ({hi})")));
            }
            if let Some(r) = &c.regex
                && let Err(e) = regex::Regex::new(r)
            {
                return Err(at(format!(
                    "invalid regex: {}",
                    e.to_string().replace('\n', " ")
                )));
            }
        }
        if let (Some(lo), Some(hi)) = (rules.table.min_rows, rules.table.max_rows)
            && lo > hi
        {
            return Err(DataError::Invalid(format!(
                "{}: min_rows ({lo}) is greater than max_rows ({hi})",
                path.display()
            )));
        }
        Ok(rules)
    }
}

/// One broken rule.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// The rule (`min`, `unique`, `required_columns`, ...).
    pub rule: String,
    /// The column, for column rules.
    pub column: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How many rows (or columns) break it.
    pub count: u64,
    /// First offending rows, 1-based (the header not counted).
    pub rows: Vec<u64>,
    /// Their values, as text.
    pub values: Vec<String>,
}

/// The outcome of a validation.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The file checked.
    pub path: PathBuf,
    /// Rows checked.
    pub rows: u64,
    /// Rules checked.
    pub rules_checked: usize,
    /// Every violation, in rules-file order.
    pub violations: Vec<Violation>,
}

impl Report {
    /// Whether every rule held.
    pub fn is_ok(&self) -> bool {
        self.violations.is_empty()
    }
}

struct Collector {
    cap: usize,
    count: u64,
    rows: Vec<u64>,
    values: Vec<String>,
}

impl Collector {
    fn new(cap: usize) -> Self {
        Collector {
            cap,
            count: 0,
            rows: Vec::new(),
            values: Vec::new(),
        }
    }
    fn push(&mut self, row: usize, value: impl FnOnce() -> String) {
        self.count += 1;
        if self.rows.len() < self.cap {
            self.rows.push(row as u64 + 1);
            self.values.push(value());
        }
    }
    fn into_violation(self, rule: &str, column: &str, message: String) -> Option<Violation> {
        (self.count > 0).then(|| Violation {
            rule: rule.to_string(),
            column: Some(column.to_string()),
            message,
            count: self.count,
            rows: self.rows,
            values: self.values,
        })
    }
}

/// Checks a normalised table against the rules.
pub fn validate(df: &DataFrame, schema: &Schema, rules: &Rules, path: &Path) -> Result<Report> {
    let polars_err = |e| DataError::Polars {
        path: owned(path),
        source: e,
    };
    let n = df.height() as u64;
    let cap = rules.max_examples;
    let mut out = Vec::new();
    let mut checked = 0;
    let names: Vec<String> = schema.columns().iter().map(|c| c.name.clone()).collect();
    let table_violation = |rule: &str, message: String, count: u64| Violation {
        rule: rule.into(),
        column: None,
        message,
        count,
        rows: vec![],
        values: vec![],
    };

    let t = &rules.table;
    if let Some(lo) = t.min_rows {
        checked += 1;
        if n < lo {
            out.push(table_violation(
                "min_rows",
                format!("{n} rows, fewer than the minimum {lo}"),
                1,
            ));
        }
    }
    if let Some(hi) = t.max_rows {
        checked += 1;
        if n > hi {
            out.push(table_violation(
                "max_rows",
                format!("{n} rows, more than the maximum {hi}"),
                1,
            ));
        }
    }
    if !t.required_columns.is_empty() {
        checked += 1;
        let missing: Vec<&String> = t
            .required_columns
            .iter()
            .filter(|c| !names.contains(c))
            .collect();
        if !missing.is_empty() {
            let list: Vec<String> = missing
                .iter()
                .map(|m| match closest(m, &names) {
                    Some(c) => format!("`{m}` (did you mean `{c}`?)"),
                    None => format!("`{m}`"),
                })
                .collect();
            out.push(table_violation(
                "required_columns",
                format!("missing required column(s): {}", list.join(", ")),
                missing.len() as u64,
            ));
        }
    }
    if t.no_duplicate_rows {
        checked += 1;
        let dups = duplicate_rows(df).map_err(polars_err)?;
        if !dups.is_empty() {
            let mut c = Collector::new(cap);
            for (row, first) in &dups {
                c.push(*row, || format!("same as row {}", first + 1));
            }
            let mut v = c
                .into_violation(
                    "no_duplicate_rows",
                    "",
                    format!("{} rows repeat an earlier row", dups.len()),
                )
                .expect("non-empty duplicates give a violation");
            v.column = None;
            out.push(v);
        }
    }

    for (name, r) in &rules.columns {
        let Some(cs) = schema.get(name) else {
            checked += 1;
            let hint = closest(name, &names)
                .map(|c| format!(" (did you mean `{c}`?)"))
                .unwrap_or_default();
            out.push(Violation {
                rule: "required".into(),
                column: Some(name.clone()),
                message: format!("column `{name}` is missing{hint}"),
                count: 1,
                rows: vec![],
                values: vec![],
            });
            continue;
        };
        let s = df
            .column(name)
            .map_err(polars_err)?
            .as_materialized_series();
        if r.required {
            checked += 1;
        }
        if let Some(want) = r.ltype {
            checked += 1;
            let ok = cs.ltype == want
                || (want == LogicalType::Numeric && cs.ltype == LogicalType::Integer);
            if !ok {
                out.push(Violation {
                    rule: "type".into(),
                    column: Some(name.clone()),
                    message: format!("expected {want}, found {}", cs.ltype),
                    count: 1,
                    rows: vec![],
                    values: vec![],
                });
            }
        }
        if let Some(maxf) = r.max_null_fraction {
            checked += 1;
            let nulls = s.null_count() as u64 + nan_count(s);
            let frac = if n == 0 { 0.0 } else { nulls as f64 / n as f64 };
            if frac > maxf {
                let mut c = Collector::new(cap);
                let is_null = s.is_null();
                for (i, v) in is_null.iter().enumerate() {
                    if v == Some(true) {
                        c.push(i, || "<missing>".into());
                    }
                }
                c.count = nulls;
                out.extend(c.into_violation(
                    "max_null_fraction",
                    name,
                    format!(
                        "{:.2}% missing ({nulls} of {n}), more than the allowed {:.2}%",
                        frac * 100.0,
                        maxf * 100.0
                    ),
                ));
            }
        }
        if r.min.is_some() || r.max.is_some() {
            checked += usize::from(r.min.is_some()) + usize::from(r.max.is_some());
            match numeric_values(s) {
                Some(vals) => {
                    let (lo, hi) = (
                        r.min.unwrap_or(f64::NEG_INFINITY),
                        r.max.unwrap_or(f64::INFINITY),
                    );
                    let mut c = Collector::new(cap);
                    for (i, v) in vals.into_iter().enumerate() {
                        if let Some(v) = v
                            && (v < lo || v > hi || v.is_nan())
                        {
                            c.push(i, || fmt_num(v));
                        }
                    }
                    let range = match (r.min, r.max) {
                        (Some(a), Some(b)) => format!("[{}, {}]", fmt_num(a), fmt_num(b)),
                        (Some(a), None) => format!(">= {}", fmt_num(a)),
                        (None, Some(b)) => format!("<= {}", fmt_num(b)),
                        (None, None) => unreachable!("checked above"),
                    };
                    let count = c.count;
                    out.extend(c.into_violation(
                        "range",
                        name,
                        format!("{count} values outside {range}"),
                    ));
                }
                None => out.push(Violation {
                    rule: "range".into(),
                    column: Some(name.clone()),
                    message: format!(
                        "min/max need a numeric or datetime column, found {}",
                        cs.ltype
                    ),
                    count: 1,
                    rows: vec![],
                    values: vec![],
                }),
            }
        }
        if let Some(allowed) = &r.allowed {
            checked += 1;
            let st = s.cast(&DataType::String).map_err(polars_err)?;
            let allowed_set: std::collections::HashSet<&str> =
                allowed.iter().map(String::as_str).collect();
            let mut c = Collector::new(cap);
            let mut unexpected: BTreeMap<String, u64> = BTreeMap::new();
            for (i, v) in st.str().map_err(polars_err)?.iter().enumerate() {
                if let Some(v) = v
                    && !allowed_set.contains(v)
                {
                    c.push(i, || v.to_string());
                    *unexpected.entry(v.to_string()).or_default() += 1;
                }
            }
            let mut top: Vec<_> = unexpected.into_iter().collect();
            top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
            let list: Vec<String> = top
                .iter()
                .take(5)
                .map(|(v, k)| format!("\"{v}\" ×{k}"))
                .collect();
            let count = c.count;
            out.extend(c.into_violation(
                "allowed",
                name,
                format!("{count} values not in the allowed set: {}", list.join(", ")),
            ));
        }
        if r.unique {
            checked += 1;
            let st = s.cast(&DataType::String).map_err(polars_err)?;
            let mut first: HashMap<&str, usize> = HashMap::new();
            let mut c = Collector::new(cap);
            for (i, v) in st.str().map_err(polars_err)?.iter().enumerate() {
                if let Some(v) = v {
                    if let Some(&f) = first.get(v) {
                        c.push(i, || format!("{v} (first at row {})", f + 1));
                    } else {
                        first.insert(v, i);
                    }
                }
            }
            let count = c.count;
            out.extend(c.into_violation(
                "unique",
                name,
                format!("{count} values repeat an earlier value"),
            ));
        }
        if let Some(pattern) = &r.regex {
            checked += 1;
            let re = regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_err(|e| DataError::Invalid(format!("column `{name}`: invalid regex: {e}")))?;
            let st = s.cast(&DataType::String).map_err(polars_err)?;
            let mut c = Collector::new(cap);
            for (i, v) in st.str().map_err(polars_err)?.iter().enumerate() {
                if let Some(v) = v
                    && !re.is_match(v)
                {
                    c.push(i, || v.to_string());
                }
            }
            let count = c.count;
            out.extend(c.into_violation(
                "regex",
                name,
                format!("{count} values do not match /{pattern}/"),
            ));
        }
    }
    Ok(Report {
        path: owned(path),
        rows: n,
        rules_checked: checked,
        violations: out,
    })
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn nan_count(s: &Series) -> u64 {
    match s.dtype() {
        DataType::Float32 => s.f32().map_or(0, |c| {
            c.iter().flatten().filter(|v| v.is_nan()).count() as u64
        }),
        DataType::Float64 => s.f64().map_or(0, |c| {
            c.iter().flatten().filter(|v| v.is_nan()).count() as u64
        }),
        _ => 0,
    }
}

fn numeric_values(s: &Series) -> Option<Vec<Option<f64>>> {
    let phys = s.to_physical_repr();
    if !(phys.dtype().is_primitive_numeric() || phys.dtype().is_bool()) {
        return None;
    }
    let f = phys.cast(&DataType::Float64).ok()?;
    Some(f.f64().ok()?.iter().collect())
}

/// (row, first row it repeats) for every exact repeat, by row hash then value comparison.
fn duplicate_rows(df: &DataFrame) -> PolarsResult<Vec<(usize, usize)>> {
    let n = df.height();
    let mut hashes = vec![0u64; n];
    let cols: Vec<Series> = df
        .columns()
        .iter()
        .map(|c| c.as_materialized_series().cast(&DataType::String))
        .collect::<PolarsResult<_>>()?;
    for s in &cols {
        for (i, v) in s.str()?.iter().enumerate() {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            hashes[i].hash(&mut h);
            v.hash(&mut h);
            hashes[i] = h.finish();
        }
    }
    let strs: Vec<&StringChunked> = cols.iter().map(|s| s.str()).collect::<PolarsResult<_>>()?;
    let same = |a: usize, b: usize| strs.iter().all(|c| c.get(a) == c.get(b));
    let mut first: HashMap<u64, Vec<usize>> = HashMap::new();
    let mut out = Vec::new();
    for (i, &h) in hashes.iter().enumerate() {
        let bucket = first.entry(h).or_default();
        match bucket.iter().find(|&&j| same(i, j)) {
            Some(&j) => out.push((i, j)),
            None => bucket.push(i),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{InferOptions, SchemaFile, infer_schema, normalize};

    fn frame() -> (DataFrame, Schema) {
        let df = DataFrame::new(
            5,
            vec![
                Column::new(
                    "age".into(),
                    &[Some(30i64), Some(-1), None, Some(200), Some(30)],
                ),
                Column::new("colour".into(), &["red", "blue", "mauve", "red", "red"]),
                Column::new(
                    "email".into(),
                    &["a@x.org", "b@x.org", "nope", "d@x.org", "a@x.org"],
                ),
            ],
        )
        .unwrap();
        let p = Path::new("t.csv");
        let schema =
            infer_schema(&df, &SchemaFile::default(), &InferOptions::default(), p).unwrap();
        (normalize(df, &schema, p).unwrap(), schema)
    }

    fn rules(text: &str) -> Rules {
        Rules::from_toml(text, Path::new("rules.toml")).unwrap()
    }

    #[test]
    fn reports_every_violation_with_rows() {
        let (df, schema) = frame();
        let r = rules(
            r#"
            [table]
            min_rows = 10
            required_columns = ["age", "salary"]
            no_duplicate_rows = true
            [columns.age]
            type = "integer"
            min = 0
            max = 120
            max_null_fraction = 0.1
            [columns.colour]
            allowed = ["red", "blue"]
            [columns.email]
            regex = '[^@]+@[^@]+'
            unique = true
            [columns.ghost]
            required = true
            "#,
        );
        let rep = validate(&df, &schema, &r, Path::new("t.csv")).unwrap();
        let by_rule: Vec<(&str, u64, Vec<u64>)> = rep
            .violations
            .iter()
            .map(|v| (v.rule.as_str(), v.count, v.rows.clone()))
            .collect();
        assert_eq!(
            by_rule,
            vec![
                ("min_rows", 1, vec![]),
                ("required_columns", 1, vec![]),
                ("no_duplicate_rows", 1, vec![5]),
                ("max_null_fraction", 1, vec![3]),
                ("range", 2, vec![2, 4]),
                ("allowed", 1, vec![3]),
                ("unique", 1, vec![5]),
                ("regex", 1, vec![3]),
                ("required", 1, vec![]),
            ]
        );
        assert!(!rep.is_ok());
        assert!(rep.violations[1].message.contains("`salary`"));
    }

    #[test]
    fn examples_are_capped_but_counted() {
        let df = DataFrame::new(
            100,
            vec![Column::new(
                "x".into(),
                (0..100).map(|i| i as f64).collect::<Vec<_>>(),
            )],
        )
        .unwrap();
        let p = Path::new("t.csv");
        let schema =
            infer_schema(&df, &SchemaFile::default(), &InferOptions::default(), p).unwrap();
        let r = rules("max_examples = 3\n[columns.x]\nmax = 49.5\n");
        let rep = validate(&df, &schema, &r, p).unwrap();
        assert_eq!(rep.violations[0].count, 50);
        assert_eq!(rep.violations[0].rows, vec![51, 52, 53]);
    }

    #[test]
    fn rules_file_typos_are_located() {
        let text = "[table]\nmin_rows = 1\n\n[columns.age]\nmax_nul_fraction = 0.1\n";
        let err = Rules::from_toml(text, Path::new("rules.toml")).unwrap_err();
        match &err {
            DataError::Config { line, message, .. } => {
                assert_eq!(*line, 5);
                assert!(message.contains("max_nul_fraction"), "{message}");
            }
            e => panic!("{e:?}"),
        }
        assert_eq!(
            err.hint().as_deref(),
            Some("did you mean `max_null_fraction`?")
        );
        let err = Rules::from_toml("[tabel]\n", Path::new("r.toml")).unwrap_err();
        assert_eq!(err.hint().as_deref(), Some("did you mean `table`?"));
        let err =
            Rules::from_toml("[columns.a]\nmin = 3\nmax = 1\n", Path::new("r.toml")).unwrap_err();
        assert!(err.to_string().contains("min (3) is greater than max (1)"));
        let err = Rules::from_toml("[columns.a]\nregex = '('\n", Path::new("r.toml")).unwrap_err();
        assert!(err.to_string().contains("invalid regex"));
    }
}
