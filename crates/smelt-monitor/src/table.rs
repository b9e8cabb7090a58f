//! Reference and current tables, read the way Smelt reads any table and aligned column by
//! column: the current table is read with the reference's types, categories share one label
//! list (the reference's, then labels only the current table has), and what does not line up —
//! missing, extra or retyped columns — becomes a [`SchemaIssue`] for the report instead of an
//! error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Role};
use smelt_data::polars::prelude::*;
use smelt_data::read::ReadOptions;

use crate::error::{MonitorError, Result};
use crate::text::{self, Vocabulary};

/// The code of a missing category.
pub const MISSING: u32 = u32::MAX;

/// What a column is to the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnRole {
    /// A model input.
    Feature,
    /// The label (target drift, realised performance).
    Target,
    /// The model's prediction (prediction drift).
    Prediction,
}

impl From<crate::drift::Role> for ColumnRole {
    fn from(r: crate::drift::Role) -> ColumnRole {
        match r {
            crate::drift::Role::Feature => ColumnRole::Feature,
            crate::drift::Role::Target => ColumnRole::Target,
            crate::drift::Role::Prediction => ColumnRole::Prediction,
        }
    }
}

impl From<ColumnRole> for crate::drift::Role {
    fn from(r: ColumnRole) -> crate::drift::Role {
        match r {
            ColumnRole::Feature => crate::drift::Role::Feature,
            ColumnRole::Target => crate::drift::Role::Target,
            ColumnRole::Prediction => crate::drift::Role::Prediction,
        }
    }
}

/// One column's values.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Numbers; NaN is missing.
    Numeric(Vec<f64>),
    /// Codes into `labels`; [`MISSING`] is missing.
    Categorical {
        /// One code per row.
        codes: Vec<u32>,
        /// The label of each code.
        labels: Vec<String>,
    },
}

impl Values {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Values::Numeric(v) => v.len(),
            Values::Categorical { codes, .. } => codes.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of missing values.
    pub fn missing(&self) -> usize {
        match self {
            Values::Numeric(v) => v.iter().filter(|x| x.is_nan()).count(),
            Values::Categorical { codes, .. } => codes.iter().filter(|&&c| c == MISSING).count(),
        }
    }
}

/// A column of a table.
#[derive(Clone, Debug, PartialEq)]
pub struct Column {
    /// Its name.
    pub name: String,
    /// Its logical type (in the reference).
    pub ltype: LogicalType,
    /// What it is to the model.
    pub role: ColumnRole,
    /// Its values.
    pub values: Values,
}

/// A table, column by column.
#[derive(Clone, Debug)]
pub struct Table {
    /// The file it was read from.
    pub path: PathBuf,
    /// Number of rows.
    pub n_rows: usize,
    /// The columns monitored (features, target, prediction), in file order.
    pub columns: Vec<Column>,
    /// The time column's values (microseconds since the epoch; `None` where missing), when
    /// one is named.
    pub time: Option<Vec<Option<i64>>>,
    /// The reference's text columns (monitored through their length and out-of-vocabulary
    /// columns, see [`crate::text`]); empty for a current table.
    pub texts: Vec<Vocabulary>,
}

impl Table {
    /// A column by name.
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// A way reference and current tables differ in their columns.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(tag = "issue", rename_all = "snake_case")]
pub enum SchemaIssue {
    /// A reference column the current table lacks.
    Missing {
        /// The column.
        column: String,
    },
    /// A current column the reference lacks (not monitored).
    Extra {
        /// The column.
        column: String,
    },
    /// A column whose values no longer fit the reference's type (numbers that became text).
    Retyped {
        /// The column.
        column: String,
        /// Its type in the reference.
        reference: String,
        /// Why the current values do not fit.
        message: String,
    },
}

impl std::fmt::Display for SchemaIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SchemaIssue::Missing { column } => {
                write!(
                    f,
                    "`{column}` is in the reference but not in the current data"
                )
            }
            SchemaIssue::Extra { column } => write!(
                f,
                "`{column}` is in the current data but not in the reference (not monitored)"
            ),
            SchemaIssue::Retyped {
                column,
                reference,
                message,
            } => write!(
                f,
                "`{column}` was {reference} in the reference; now {message}"
            ),
        }
    }
}

/// Which columns play which part, and how files are read.
#[derive(Clone, Debug, Default)]
pub struct TableOptions {
    /// The label column.
    pub target: Option<String>,
    /// The model's prediction column.
    pub prediction: Option<String>,
    /// A binary classifier's probability of the positive class (the target's second label).
    pub score: Option<String>,
    /// The event-time column (windows).
    pub time: Option<String>,
    /// Columns left out.
    pub ignore: Vec<String>,
    /// Identifier columns (never monitored; the join key for labels).
    pub id: Vec<String>,
    /// How files are read.
    pub read: ReadOptions,
}

impl TableOptions {
    fn role(&self, name: &str) -> ColumnRole {
        if self.target.as_deref() == Some(name) {
            ColumnRole::Target
        } else if self.prediction.as_deref() == Some(name) || self.score.as_deref() == Some(name) {
            ColumnRole::Prediction
        } else {
            ColumnRole::Feature
        }
    }

    /// Schema settings for a frame holding `names` (only the columns it has are named, so a
    /// frame of some columns reads as the whole file's would).
    fn schema_file(&self, names: &[String]) -> smelt_data::infer::SchemaFile {
        let keep = |v: &[String]| -> Vec<String> {
            v.iter().filter(|n| names.contains(n)).cloned().collect()
        };
        smelt_data::infer::SchemaFile {
            time: keep(&self.time.iter().cloned().collect::<Vec<_>>()),
            ignore: keep(&self.ignore),
            id: keep(&self.id),
            ..Default::default()
        }
    }

    /// Columns never monitored: the time, id and ignored columns.
    pub fn skipped(&self, name: &str) -> bool {
        self.time.as_deref() == Some(name)
            || self.id.iter().any(|n| n == name)
            || self.ignore.iter().any(|n| n == name)
    }
}

fn check_named(path: &Path, frame: &DataFrame, opts: &TableOptions) -> Result<()> {
    let names = names_of(frame);
    require(path, &names, "target", opts.target.as_ref())?;
    require(path, &names, "prediction", opts.prediction.as_ref())?;
    require(path, &names, "score", opts.score.as_ref())?;
    require(path, &names, "time", opts.time.as_ref())
}

/// `name` (the `what` column) must be one of `names` (a did-you-mean otherwise).
pub(crate) fn require(
    path: &Path,
    names: &[String],
    what: &str,
    name: Option<&String>,
) -> Result<()> {
    if let Some(n) = name
        && !names.contains(n)
    {
        let hint = smelt_data::closest(n, names)
            .map(|c| format!("; did you mean `{c}`?"))
            .unwrap_or_default();
        return Err(MonitorError::Schema(format!(
            "{}: no {what} column `{n}`{hint}",
            path.display()
        )));
    }
    Ok(())
}

/// The time column's values: microseconds since the epoch, `None` where missing.
pub fn time_values(frame: &DataFrame, name: &str, path: &Path) -> Result<Vec<Option<i64>>> {
    let bad = |e: String| {
        MonitorError::Schema(format!(
            "{}: the time column `{name}` is not a date or time: {e}",
            path.display()
        ))
    };
    let s = frame
        .column(name)
        .map_err(|e| bad(e.to_string()))?
        .as_materialized_series();
    // ISO 8601 text (CSV, JSON) parsed as `smelt-data` reads dates; native dates and times in
    // microseconds; integers as they are.
    if let Ok(ca) = s.str() {
        return ca
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                None => Ok(None),
                Some(v) => smelt_data::infer::parse_datetime(v)
                    .map(Some)
                    .ok_or_else(|| {
                        bad(format!(
                            "row {}: `{v}` is not an ISO 8601 date or timestamp",
                            i + 1
                        ))
                    }),
            })
            .collect();
    }
    let s = match s.dtype() {
        DataType::Date | DataType::Datetime(_, _) => s
            .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
            .map_err(|e| bad(e.to_string()))?,
        _ => s.clone(),
    };
    let s = s.cast(&DataType::Int64).map_err(|e| bad(e.to_string()))?;
    let ca = s.i64().map_err(|e| bad(e.to_string()))?;
    Ok(ca.iter().collect())
}

fn columns_of(ds: &Dataset<f64>, opts: &TableOptions) -> Vec<Column> {
    ds.features()
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let col = ds.column(j);
            let values = match &f.kind {
                FeatureKind::Numeric => Values::Numeric(
                    (0..ds.n_rows())
                        .map(|i| {
                            if ds.is_missing(i, j) {
                                f64::NAN
                            } else {
                                col[i]
                            }
                        })
                        .collect(),
                ),
                FeatureKind::Categorical { categories } => Values::Categorical {
                    codes: (0..ds.n_rows())
                        .map(|i| {
                            if ds.is_missing(i, j) {
                                MISSING
                            } else {
                                col[i] as u32
                            }
                        })
                        .collect(),
                    labels: categories.clone(),
                },
            };
            Column {
                name: f.name.clone(),
                ltype: f.ltype,
                role: opts.role(&f.name),
                values,
            }
        })
        .collect()
}

/// A text column's derived numeric columns, `col (length)` and `col (OOV share)`.
fn text_columns(column: &str, d: text::Derived) -> [Column; 2] {
    let numeric = |name: String, values: Vec<f64>| Column {
        name,
        ltype: LogicalType::Numeric,
        role: ColumnRole::Feature,
        values: Values::Numeric(values),
    };
    [
        numeric(text::length_name(column), d.length),
        numeric(text::oov_name(column), d.oov),
    ]
}

/// A column's values as text (numbers and other types written out).
fn strings<'a>(frame: &'a DataFrame, name: &str, path: &Path) -> Result<Vec<Option<&'a str>>> {
    let bad = |e: PolarsError| MonitorError::Schema(format!("{}: `{name}`: {e}", path.display()));
    let col = frame.column(name).map_err(bad)?;
    let ca = col.str().map_err(bad)?;
    Ok(ca.iter().collect())
}

/// Reads the reference table, inferring types as `smelt train` does.
///
/// The reference need not have the time column (a training table often has none); the
/// current data must, for windows by period.
pub fn load_reference(path: &Path, opts: &TableOptions) -> Result<Table> {
    let frame = smelt_data::read::read(path, &opts.read)?;
    check_named(
        path,
        &frame,
        &TableOptions {
            time: None,
            ..opts.clone()
        },
    )?;
    reference_from_frame(frame, path, opts)
}

fn names_of(frame: &DataFrame) -> Vec<String> {
    frame
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// [`load_reference`] on a frame already read: the whole file, or some of its columns (the
/// types inferred per column, so a frame of some columns gives those columns as the whole
/// file would). The time column is read when the frame has it.
pub fn reference_from_frame(frame: DataFrame, path: &Path, opts: &TableOptions) -> Result<Table> {
    let names = names_of(&frame);
    let file = opts.schema_file(&names);
    let loaded_schema = smelt_data::infer::infer_schema(&frame, &file, &Default::default(), path)?;
    let frame = smelt_data::infer::normalize(frame, &loaded_schema, path)?;
    let mut schema = loaded_schema.clone();
    // The target and prediction are monitored like features.
    for name in [&opts.target, &opts.prediction, &opts.score]
        .into_iter()
        .flatten()
    {
        if let Ok(c) = schema.get_mut(name) {
            c.role = Role::Feature;
        }
    }
    let ds = smelt_data::convert::to_dataset::<f64>(&frame, &schema, path)?;
    let time = match &opts.time {
        Some(t) if names.contains(t) => Some(time_values(&frame, t, path)?),
        _ => None,
    };
    let mut columns = columns_of(&ds, opts);
    let n_rows = ds.n_rows();
    drop(ds);
    let mut texts = Vec::new();
    for c in loaded_schema.columns() {
        if c.ltype == LogicalType::Text && c.role == Role::Feature {
            let rows = strings(&frame, &c.name, path)?;
            let (derived, vocab) = text::reference_values(&c.name, &rows);
            columns.extend(text_columns(&c.name, derived));
            texts.push(vocab);
        }
    }
    Ok(Table {
        path: path.to_path_buf(),
        n_rows,
        columns,
        time,
        texts,
    })
}

/// Reads the current table with the reference's columns and types. Columns that are missing,
/// extra or no longer fit their type are reported, not fatal; categories are recoded into one
/// label list shared with the reference (whose labels keep their codes).
pub fn load_current(
    path: &Path,
    reference: &mut Table,
    opts: &TableOptions,
) -> Result<(Table, Vec<SchemaIssue>)> {
    let frame = smelt_data::read::read(path, &opts.read)?;
    check_named(path, &frame, opts)?;
    current_from_frame(frame, path, reference, opts)
}

/// [`load_current`] on a frame already read (the whole file or the columns of a reference
/// frame; extra columns are reported only for a whole file's frame, by the caller otherwise).
pub fn current_from_frame(
    frame: DataFrame,
    path: &Path,
    reference: &mut Table,
    opts: &TableOptions,
) -> Result<(Table, Vec<SchemaIssue>)> {
    let names = names_of(&frame);
    let mut issues = Vec::new();
    let mut wanted: Vec<Feature> = Vec::new();
    let derived: Vec<String> = reference
        .texts
        .iter()
        .flat_map(|t| [text::length_name(&t.column), text::oov_name(&t.column)])
        .collect();
    for c in &reference.columns {
        if derived.contains(&c.name) {
            continue; // made from the text column below
        }
        if !names.contains(&c.name) {
            issues.push(SchemaIssue::Missing {
                column: c.name.clone(),
            });
            continue;
        }
        wanted.push(Feature {
            name: c.name.clone(),
            ltype: c.ltype,
            kind: FeatureKind::Numeric,
        });
    }
    let skip: Vec<&String> = opts
        .ignore
        .iter()
        .chain(&opts.id)
        .chain(opts.time.iter())
        .collect();
    for n in &names {
        let text = reference.texts.iter().any(|t| &t.column == n);
        if reference.column(n).is_none() && !skip.contains(&n) && !text {
            issues.push(SchemaIssue::Extra { column: n.clone() });
        }
    }
    // Columns whose values do not fit the reference type are found one at a time: each is
    // reported and left out, and the rest read again.
    let ds = loop {
        match smelt_data::frame_for_model(frame.clone(), path, &wanted) {
            Ok((_, ds)) => break ds,
            Err(e) => {
                let column = match &e {
                    smelt_data::DataError::ParseValue { name, .. }
                    | smelt_data::DataError::BadColumn { name, .. } => name.clone(),
                    _ => return Err(e.into()),
                };
                let msg = e.to_string();
                let Some(pos) = wanted.iter().position(|f| f.name == column) else {
                    return Err(e.into());
                };
                let f = wanted.remove(pos);
                issues.push(SchemaIssue::Retyped {
                    column: f.name.clone(),
                    reference: f.ltype.as_str().into(),
                    message: msg,
                });
            }
        }
    };
    let mut columns = columns_of(&ds, opts);
    for vocab in &reference.texts {
        if names.contains(&vocab.column) {
            let derived = vocab.current_values(&strings(&frame, &vocab.column, path)?);
            columns.extend(text_columns(&vocab.column, derived));
        } else {
            issues.push(SchemaIssue::Missing {
                column: vocab.column.clone(),
            });
        }
    }
    for col in &mut columns {
        let Some(rc) = reference.columns.iter_mut().find(|c| c.name == col.name) else {
            continue;
        };
        share_labels(&mut rc.values, &mut col.values);
    }
    let time = match &opts.time {
        Some(t) if names.contains(t) => Some(time_values(&frame, t, path)?),
        _ => None,
    };
    Ok((
        Table {
            path: path.to_path_buf(),
            n_rows: ds.n_rows(),
            columns,
            time,
            texts: Vec::new(),
        },
        issues,
    ))
}

/// Recodes `current`'s categories into `reference`'s label list, appending labels only the
/// current data has (the reference's codes do not change).
fn share_labels(reference: &mut Values, current: &mut Values) {
    let (
        Values::Categorical {
            labels: ref_labels, ..
        },
        Values::Categorical { codes, labels },
    ) = (reference, current)
    else {
        return;
    };
    let mut index: HashMap<String, u32> = ref_labels
        .iter()
        .enumerate()
        .map(|(k, l)| (l.clone(), k as u32))
        .collect();
    let remap: Vec<u32> = labels
        .iter()
        .map(|l| {
            *index.entry(l.clone()).or_insert_with(|| {
                ref_labels.push(l.clone());
                (ref_labels.len() - 1) as u32
            })
        })
        .collect();
    for c in codes.iter_mut() {
        if *c != MISSING {
            *c = remap[*c as usize];
        }
    }
    *labels = ref_labels.clone();
}
