//! From a loaded table to what estimators fit on: rows without a target left out (and said
//! so), the feature matrix built. Training, cross-validation, tuning and the ladder all start
//! here, so they see the same rows.

use smelt_core::text::thousands;
use smelt_core::{Dataset, LogicalType, Role, Schema};
use smelt_data::Loaded;
use smelt_data::convert::TaskKind;

use crate::error::{Error, Result};
use crate::event::Event;

/// A table ready for fitting.
#[derive(Debug)]
pub struct Prepared {
    /// The rows kept (those with a target value), with the original schema and path: the
    /// columns that are not features (ids, time, groups) stay available for folds and slices.
    pub table: Loaded,
    /// The feature matrix and target of the kept rows, in the same order.
    pub data: Dataset<f64>,
    /// Rows left out because their target was missing.
    pub rows_without_target: usize,
    /// The fingerprint of the whole table as read.
    pub fingerprint: String,
}

/// Leaves out rows without a target value (reported through `on_event`) and builds the
/// feature matrix, the task decided by the target's type. A table with no feature column is
/// an error.
pub fn prepare(loaded: &Loaded, on_event: Option<&dyn Fn(Event<'_>)>) -> Result<Prepared> {
    prepare_with(loaded, TaskKind::Auto, on_event)
}

/// [`prepare`] with the task forced (an integer target read as classes or as numbers).
pub fn prepare_with(
    loaded: &Loaded,
    task: TaskKind,
    on_event: Option<&dyn Fn(Event<'_>)>,
) -> Result<Prepared> {
    let path = loaded.path.as_path();
    let fingerprint = loaded.fingerprint()?;
    let mut frame = loaded.frame.clone();
    let mut dropped = 0;
    if let Some(t) = loaded.schema.target().map(|t| t.name.clone()) {
        let before = frame.height();
        frame = frame
            .drop_nulls(Some(&[t.as_str()]))
            .map_err(|source| Error::Table {
                context: format!("leaving out rows without `{t}`"),
                source,
            })?;
        dropped = before - frame.height();
        if dropped > 0
            && let Some(f) = on_event
        {
            f(Event::Note(&format!(
                "left out {} of {} rows whose target `{t}` is missing",
                thousands(dropped as u64),
                thousands(before as u64)
            )));
        }
    }
    let data = smelt_data::convert::to_dataset_with::<f64>(&frame, &loaded.schema, task, path)?;
    if data.n_features() == 0 && data.texts().is_empty() {
        return Err(Error::NoFeatures {
            path: path.to_path_buf(),
        });
    }
    Ok(Prepared {
        table: Loaded {
            path: loaded.path.clone(),
            frame,
            schema: loaded.schema.clone(),
        },
        data,
        rows_without_target: dropped,
        fingerprint,
    })
}

impl Prepared {
    /// The same table restricted to `rows` (in that order): the frame, the matrix and the
    /// target together, so folds and slices of the subset still see every column.
    pub fn subset(&self, rows: &[usize]) -> Result<Prepared> {
        use smelt_data::polars::prelude::{IdxCa, IdxSize};
        let idx = IdxCa::from_vec("idx".into(), rows.iter().map(|&i| i as IdxSize).collect());
        let frame = self.table.frame.take(&idx).map_err(|source| Error::Table {
            context: "taking the rows of a fold".into(),
            source,
        })?;
        Ok(Prepared {
            table: Loaded {
                path: self.table.path.clone(),
                frame,
                schema: self.table.schema.clone(),
            },
            data: self.data.select_rows(rows)?,
            rows_without_target: 0,
            fingerprint: self.fingerprint.clone(),
        })
    }
}

/// The columns of `schema` that are not features of a model, each with why: ids, time and
/// group keys, ignored columns, free text (unless the model reads it: `reads_text`) and dates
/// (which need features derived first).
pub fn left_out(schema: &Schema, reads_text: bool) -> Vec<(&str, &'static str)> {
    schema
        .columns()
        .iter()
        .filter_map(|c| {
            let why = match (c.role, c.ltype) {
                (Role::Target, _) => return None,
                (Role::Feature, LogicalType::Text) if reads_text => return None,
                (Role::Feature, LogicalType::Text) => {
                    "free text: read by text models only (transformer_classifier, finetune_classifier); declare it `categorical` in the schema if it holds categories"
                }
                (Role::Feature, LogicalType::Datetime) => {
                    "a date: derive features from it (year, weekday), or mark it the `time` column"
                }
                (Role::Feature, _) => return None,
                (Role::Id, _) => "an id",
                (Role::Time, _) => "the time column",
                (Role::Group, _) => "a group key",
                (Role::Ignore, _) => "ignored by the schema",
            };
            Some((c.name.as_str(), why))
        })
        .collect()
}

/// One line naming the columns [`left_out`] of the features, or `None` when every column is
/// a feature or the target.
pub fn left_out_note(schema: &Schema, reads_text: bool) -> Option<String> {
    let out = left_out(schema, reads_text);
    if out.is_empty() {
        return None;
    }
    let list: Vec<String> = out
        .iter()
        .map(|(n, why)| format!("`{n}` ({why})"))
        .collect();
    Some(format!("not used as features: {}", list.join(", ")))
}
