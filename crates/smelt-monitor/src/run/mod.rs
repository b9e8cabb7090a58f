//! One monitoring run: read the reference and current tables, test every column for drift,
//! check data quality, cut the current data into windows — what `smelt monitor report` and
//! `smelt monitor test` do.
//!
//! The configuration file (`--config monitor.toml`) has a `[drift]` section (methods and
//! thresholds, see [`crate::drift::DriftConfig`]), a `[quality]` section
//! ([`QualityOptions`]), `[performance]` ([`PerformanceOptions`]) and `[multivariate]`
//! ([`MultivariateOptions`]), and may hold the `[[test]]` rules of `smelt monitor test`.

use std::path::Path;
use std::sync::Arc;

use smelt_core::Predictor;

use crate::drift::{self, ColumnDrift, ColumnInput, DriftConfig};
use crate::error::{MonitorError, Result};
use crate::performance::{self, MultivariateOptions, Outcomes, PerformanceOptions, Tracked};
use crate::quality::{self, QualityOptions};
use crate::report::{DriftRow, Monitoring, PlotData, WindowRow};
use crate::source;
use crate::table::{self, Column, ColumnRole, Table, TableOptions, Values};
use crate::window::{self, Window};

mod columns;
mod rows;

/// The settings of a configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorConfig {
    /// `[drift]`.
    pub drift: DriftConfig,
    /// `[quality]`.
    pub quality: QualityOptions,
    /// `[performance]`.
    pub performance: PerformanceOptions,
    /// `[multivariate]`.
    pub multivariate: MultivariateOptions,
}

fn section<T: serde::de::DeserializeOwned + Default>(
    doc: &toml::Table,
    name: &str,
    bad: &dyn Fn(String) -> MonitorError,
) -> Result<T> {
    match doc.get(name) {
        Some(v) => v
            .clone()
            .try_into::<T>()
            .map_err(|e| bad(format!("[{name}]: {e}"))),
        None => Ok(T::default()),
    }
}

impl MonitorConfig {
    /// Reads a TOML file: `[drift]`, `[quality]`, `[[test]]` (anything else is an error with a
    /// did-you-mean).
    pub fn load(path: &Path) -> Result<MonitorConfig> {
        let bad = |message: String| MonitorError::Config {
            path: path.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let doc: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let known = ["drift", "quality", "performance", "multivariate", "test"];
        for key in doc.keys() {
            if !known.contains(&key.as_str()) {
                let names: Vec<String> = known.iter().map(|s| s.to_string()).collect();
                let hint = smelt_data::closest(key, &names)
                    .map(|c| format!("; did you mean `[{c}]`?"))
                    .unwrap_or_default();
                return Err(bad(format!(
                    "unknown section `{key}`{hint} (sections: [drift], [quality], [performance], [multivariate], [[test]])"
                )));
            }
        }
        let drift = DriftConfig::from_toml_section(&text, path)?;
        Ok(MonitorConfig {
            drift,
            quality: section(&doc, "quality", &bad)?,
            performance: section(&doc, "performance", &bad)?,
            multivariate: section(&doc, "multivariate", &bad)?,
        })
    }
}

/// What a run needs besides the two files.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Columns' parts and reading.
    pub table: TableOptions,
    /// Methods and thresholds.
    pub config: MonitorConfig,
    /// Windows over the current data, if any.
    pub window: Option<Window>,
    /// A model scoring both tables: its predictions are monitored for drift and give the
    /// performance estimates (otherwise the tables' own prediction and score columns do).
    pub model: Option<Arc<dyn Predictor>>,
    /// The model's held-out outcomes (its profile's), the labelled reference CBPE calibrates on
    /// when the reference table has no labels.
    pub model_outcomes: Option<smelt_core::profile::OutcomeSample>,
    /// A column of the current data whose values cut it into slices, each with its own
    /// performance (the 20 most frequent values; the rest together as `(other)`).
    pub slice: Option<String>,
    /// Labels that arrived apart from the current data (a table or folder with the request id
    /// and the label), joined to its rows by `(request_id, row)` as `smelt monitor watch` does;
    /// the joined labels are the current target (`--target` names it in the reference).
    pub labels: Option<crate::labels::LabelOptions>,
}

/// The current data's labels from a separate table, joined by request id (and `row` when the
/// current data has one): the target column, and a note on what joined.
fn joined_labels(
    current: &Path,
    current_names: &[String],
    opts: &RunOptions,
    lo: &crate::labels::LabelOptions,
    reference_target: &Column,
) -> Result<(Column, String)> {
    let read = &opts.table.read;
    table::require(current, current_names, "request id", Some(&lo.id_column))?;
    let mut wanted = vec![lo.id_column.clone()];
    if current_names.iter().any(|n| n == "row") {
        wanted.push("row".into());
    }
    let frame = source::read_columns(current, read, &wanted)?;
    let bad = |e: smelt_data::polars::prelude::PolarsError| {
        MonitorError::Schema(format!("{}: {e}", current.display()))
    };
    use smelt_data::polars::prelude::DataType;
    let ids = frame
        .column(&lo.id_column)
        .map_err(bad)?
        .as_materialized_series()
        .cast(&DataType::String)
        .map_err(bad)?;
    let ids = ids.str().map_err(bad)?;
    let rows: Vec<u32> = match frame.column("row") {
        Ok(r) => r
            .as_materialized_series()
            .cast(&DataType::UInt32)
            .map_err(bad)?
            .u32()
            .map_err(bad)?
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect(),
        Err(_) => vec![0; frame.height()],
    };
    let mut labels = crate::labels::Labels::new(lo.clone());
    labels.refresh();
    let read_n = labels.len();
    let found: Vec<Option<crate::labels::Label>> = ids
        .iter()
        .zip(&rows)
        .map(|(id, &r)| id.and_then(|id| labels.take(&(id.to_string(), r)).cloned()))
        .collect();
    let joined = found.iter().filter(|l| l.is_some()).count();
    let values = match &reference_target.values {
        Values::Categorical { labels: known, .. } => {
            let mut known = known.clone();
            let codes = found
                .iter()
                .map(|l| match l.as_ref().and_then(|l| l.text.clone()) {
                    Some(t) => match known.iter().position(|k| *k == t) {
                        Some(k) => k as u32,
                        None => {
                            known.push(t);
                            (known.len() - 1) as u32
                        }
                    },
                    None => table::MISSING,
                })
                .collect();
            Values::Categorical {
                codes,
                labels: known,
            }
        }
        Values::Numeric(_) => Values::Numeric(
            found
                .iter()
                .map(|l| l.as_ref().map_or(f64::NAN, |l| l.num))
                .collect(),
        ),
    };
    let note = format!(
        "Labels: {joined} of {} current rows joined from {} by `{}`{} ({} labels read, {} joined no row).",
        found.len(),
        lo.path.display(),
        lo.id_column,
        if wanted.len() > 1 { " and `row`" } else { "" },
        read_n,
        labels.unjoined()
    );
    Ok((
        Column {
            name: reference_target.name.clone(),
            ltype: reference_target.ltype,
            role: ColumnRole::Target,
            values,
        },
        note,
    ))
}

/// Slices shown at most (the rest are pooled).
const MAX_SLICES: usize = 20;

/// The current data's rows grouped by the values of `column` (numbers read as their labels,
/// missing values as `(missing)`), largest first.
fn slice_groups(path: &Path, opts: &RunOptions, column: &str) -> Result<Vec<window::Slice>> {
    let frame = source::read_columns(path, &opts.table.read, &[column.to_string()])?;
    let s = frame
        .column(column)
        .map_err(|e| MonitorError::Schema(format!("{}: {e}", path.display())))?
        .as_materialized_series()
        .cast(&smelt_data::polars::prelude::DataType::String)
        .map_err(|e| MonitorError::Schema(format!("{}: `{column}`: {e}", path.display())))?;
    let ca = s
        .str()
        .map_err(|e| MonitorError::Schema(format!("{}: `{column}`: {e}", path.display())))?;
    let mut by: std::collections::HashMap<String, Vec<usize>> = Default::default();
    for (i, v) in ca.iter().enumerate() {
        by.entry(v.map_or_else(|| "(missing)".to_string(), str::to_string))
            .or_default()
            .push(i);
    }
    let mut groups: Vec<window::Slice> = by
        .into_iter()
        .map(|(key, rows)| window::Slice { key, rows })
        .collect();
    groups.sort_by(|a, b| b.rows.len().cmp(&a.rows.len()).then(a.key.cmp(&b.key)));
    if groups.len() > MAX_SLICES {
        let mut rows: Vec<usize> = groups
            .drain(MAX_SLICES - 1..)
            .flat_map(|g| g.rows)
            .collect();
        rows.sort_unstable();
        groups.push(window::Slice {
            key: "(other)".into(),
            rows,
        });
    }
    Ok(groups)
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// The findings (and the values behind the report's plots).
    pub monitoring: Monitoring,
}

/// Drift of every current column against the reference (`rows`: a subset of the current rows).
fn drift_rows(
    reference: &Table,
    current: &Table,
    rows: Option<&[usize]>,
    config: &DriftConfig,
) -> Result<Vec<ColumnDrift>> {
    // Owned subsets first, so the inputs can borrow them.
    let subsets: Vec<Option<Values>> = current
        .columns
        .iter()
        .map(|c| {
            rows.map(|rows| match &c.values {
                Values::Numeric(v) => Values::Numeric(rows.iter().map(|&i| v[i]).collect()),
                Values::Categorical { codes, labels } => Values::Categorical {
                    codes: rows.iter().map(|&i| codes[i]).collect(),
                    labels: labels.clone(),
                },
            })
        })
        .collect();
    let mut inputs = Vec::new();
    for (c, sub) in current.columns.iter().zip(&subsets) {
        let Some(rc) = reference.column(&c.name) else {
            continue;
        };
        let cv = sub.as_ref().unwrap_or(&c.values);
        let input = match (&rc.values, cv) {
            (Values::Numeric(r), Values::Numeric(v)) => ColumnInput::numerical(&c.name, r, v),
            (Values::Categorical { codes: r, labels }, Values::Categorical { codes: v, .. }) => {
                ColumnInput::categorical(&c.name, r, v, labels)
            }
            _ => continue,
        };
        inputs.push(input.with_role(c.role.into()));
    }
    drift::drift_columns(&inputs, config)
}

/// The model's prediction (and a binary classifier's positive-class probability) as
/// prediction columns.
fn prediction_columns(p: &rows::Predictions) -> Vec<Column> {
    let column = |name: String, values: Values| Column {
        name,
        ltype: match values {
            Values::Numeric(_) => smelt_core::LogicalType::Numeric,
            Values::Categorical { .. } => smelt_core::LogicalType::Categorical,
        },
        role: ColumnRole::Prediction,
        values,
    };
    match &p.classes {
        None => vec![column(
            "prediction".into(),
            Values::Numeric(p.y_pred.clone()),
        )],
        Some(classes) => {
            let mut out = vec![column(
                "prediction".into(),
                Values::Categorical {
                    codes: p.y_pred.iter().map(|&c| c as u32).collect(),
                    labels: classes.clone(),
                },
            )];
            if classes.len() == 2 && p.proba.len() == 2 {
                out.push(column(
                    format!("proba_{}", classes[1]),
                    Values::Numeric(p.proba[1].clone()),
                ));
            }
            out
        }
    }
}

/// Drift of the model's prediction columns (`current`) against the reference's, replacing any
/// row for the same columns, with the plot values of those that drifted.
fn prediction_drift(
    reference: &Table,
    current: &Table,
    config: &DriftConfig,
    drift: &mut Vec<DriftRow>,
    plots: &mut Vec<PlotData>,
) -> Result<()> {
    for d in drift_rows(reference, current, None, config)? {
        if d.drifted
            && let (Some(r), Some(c)) = (reference.column(&d.column), current.column(&d.column))
            && let Some(p) = PlotData::of(&r.values, &c.values, &d.column)
        {
            plots.push(p);
        }
        drift.retain(|x| x.column != d.column);
        drift.push(DriftRow::of(&d));
    }
    Ok(())
}

/// A table of some columns (the prediction columns, for their drift).
fn table_of(path: &Path, columns: Vec<Column>) -> Table {
    Table {
        path: path.to_path_buf(),
        n_rows: columns.first().map_or(0, |c| c.values.len()),
        columns,
        time: None,
        texts: Vec::new(),
    }
}

/// Drift share of every window from its (drifted, tested) feature counts.
fn window_rows(
    slices: &[window::Slice],
    counts: &[(usize, usize)],
    share_threshold: f64,
) -> Vec<WindowRow> {
    slices
        .iter()
        .zip(counts)
        .map(|(s, &(n_drifted, n_columns))| {
            let share = if n_columns == 0 {
                0.0
            } else {
                n_drifted as f64 / n_columns as f64
            };
            WindowRow {
                key: s.key.clone(),
                rows: s.rows.len(),
                n_drifted,
                n_columns,
                share,
                drifted: n_columns > 0 && share >= share_threshold,
                volume_anomaly: None,
            }
        })
        .collect()
}

/// Where the reference comes from.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Reference<'a> {
    /// A table file, read a few columns at a time.
    File(&'a Path),
    /// A table in memory: the stand-in a model's profile gives ([`crate::profile`]).
    Table(&'a Table),
}

impl Reference<'_> {
    fn path(&self) -> &Path {
        match self {
            Reference::File(p) => p,
            Reference::Table(t) => &t.path,
        }
    }
}

/// Runs everything on two files, a few columns or a batch of rows at a time (see the
/// column and row passes in `run/columns.rs` and `run/rows.rs`), so memory does not grow with
/// the files.
pub fn run(reference: &Path, current: &Path, opts: &RunOptions) -> Result<Run> {
    run_with(Reference::File(reference), current, opts)
}

/// [`run`] against a reference in memory: the stand-in sample of a model's profile
/// ([`crate::profile::table_from_profile`]; its `prediction` and `proba_*` columns are compared
/// with the model's predictions on the current data). A profile holds each column's
/// distribution but no rows, so there is no multivariate drift, and performance is estimated from
/// the model's held-out outcomes ([`RunOptions::model_outcomes`]) when it has them.
pub fn run_on_profile(reference: &Table, current: &Path, opts: &RunOptions) -> Result<Run> {
    run_with(Reference::Table(reference), current, opts)
}

fn run_with(source_ref: Reference<'_>, current: &Path, opts: &RunOptions) -> Result<Run> {
    let t = &opts.table;
    let read = &t.read;
    let reference = source_ref.path();
    // A profile's prediction columns are compared with the model's, not read from the current
    // data.
    let profile_predictions: Vec<Column> = match source_ref {
        Reference::Table(tab) => tab
            .columns
            .iter()
            .filter(|c| c.role == ColumnRole::Prediction)
            .cloned()
            .collect(),
        Reference::File(_) => Vec::new(),
    };
    let reference_names = match source_ref {
        Reference::File(p) => source::column_names(p, read)?,
        Reference::Table(tab) => tab
            .columns
            .iter()
            .filter(|c| c.role != ColumnRole::Prediction)
            .map(|c| c.name.clone())
            .collect(),
    };
    let current_names = source::column_names(current, read)?;
    if let Reference::File(_) = source_ref {
        table::require(reference, &reference_names, "target", t.target.as_ref())?;
        table::require(
            reference,
            &reference_names,
            "prediction",
            t.prediction.as_ref(),
        )?;
        table::require(reference, &reference_names, "score", t.score.as_ref())?;
    }
    table::require(current, &current_names, "prediction", t.prediction.as_ref())?;
    table::require(current, &current_names, "score", t.score.as_ref())?;
    let config = &opts.config.drift;
    // A per-column setting must name a column (checked once; each group sees its own).
    for name in config.columns.keys() {
        if !reference_names.contains(name) {
            let hint = smelt_data::closest(name, &reference_names)
                .map(|c| format!("\n\nhint: did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(MonitorError::Invalid(format!(
                "drift settings name column `{name}`, which the data does not have{hint}"
            )));
        }
    }
    let time = match &t.time {
        Some(name) if current_names.contains(name) => {
            let frame = source::read_columns(current, read, std::slice::from_ref(name))?;
            Some(table::time_values(&frame, name, current)?)
        }
        Some(name) if matches!(opts.window, Some(Window::Period(_))) => {
            table::require(current, &current_names, "time", Some(name))?;
            None
        }
        _ => None,
    };
    let monitored: Vec<String> = reference_names
        .iter()
        .filter(|n| !t.skipped(n))
        .cloned()
        .collect();
    let mut quality = quality::schema_checks(
        &current_names
            .iter()
            .filter(|n| !reference_names.contains(n) && !t.skipped(n))
            .map(|n| table::SchemaIssue::Extra { column: n.clone() })
            .collect::<Vec<_>>(),
    );
    // The current rows are known once a column is read; windows by period need only the time.
    let n_current = match &time {
        Some(tv) => tv.len(),
        None => source::read_columns(current, read, &current_names[..1])?.height(),
    };
    let slices = match opts.window {
        Some(w) => window::slices(n_current, time.as_deref(), w)?.0,
        None => Vec::new(),
    };
    let cols = columns::column_pass(
        source_ref,
        current,
        opts,
        &monitored,
        &current_names,
        &slices,
    )?;
    quality.extend(cols.quality);
    let mut notes = cols.notes;
    let mut drift = cols.drift;
    let mut plots = cols.plots;

    // Labels from a separate table become the current target.
    let mut roles_current = cols.roles_current.clone();
    if let Some(lo) = &opts.labels {
        let Some(rt) = cols
            .roles_reference
            .iter()
            .find(|c| c.role == ColumnRole::Target)
        else {
            return Err(MonitorError::Invalid(
                "--labels needs --target: the label's column in the reference (its type and classes)".into(),
            ));
        };
        let (target, note) = joined_labels(current, &current_names, opts, lo, rt)?;
        notes.retain(|n| !n.contains("no labels"));
        notes.push(note);
        let rtab = table_of(reference, vec![rt.clone()]);
        let ctab = table_of(current, vec![target.clone()]);
        for d in drift_rows(&rtab, &ctab, None, config)? {
            drift.retain(|x| x.column != d.column);
            drift.push(DriftRow::of(&d));
        }
        roles_current.retain(|c| c.role != ColumnRole::Target);
        roles_current.push(target);
    }

    // The row pass: a model's outputs, the reconstruction error, features DLE needs.
    let perf = &opts.config.performance;
    let multi = &opts.config.multivariate;
    let regressor_model = opts
        .model
        .as_ref()
        .is_some_and(|m| matches!(m.output(), smelt_core::Output::Regression));
    // A profile has no rows: nothing multivariate, no reference side to the row pass.
    let reference_file = match source_ref {
        Reference::File(p) => Some(p),
        Reference::Table(_) => {
            if multi.reconstruction || multi.domain_classifier {
                notes.push(
                    "No multivariate drift: the reference is a model's profile, which holds each column's distribution but no rows (give --reference TABLE for it)."
                        .into(),
                );
            }
            None
        }
    };
    let rows_on = reference_file.is_some();
    let keep_current = rows_on
        && (multi.domain_classifier || (regressor_model && perf.estimate && t.target.is_some()));
    let wants = rows::Wants {
        model: opts.model.as_ref(),
        reconstruction: multi.reconstruction && rows_on,
        sample: rows_on && (multi.reconstruction || keep_current),
        current_features: keep_current,
        max_reference_rows: multi.max_reference_rows.min(perf.max_reference_rows).max(1),
    };
    let row = if opts.model.is_some() || wants.reconstruction || keep_current {
        rows::row_pass(
            reference_file,
            current,
            opts,
            &cols.features,
            cols.reference_rows,
            &slices,
            &wants,
        )?
    } else {
        rows::RowPass::default()
    };
    notes.extend(row.notes);
    let (ro, co) = match (&row.reference_predictions, &row.current_predictions) {
        // A profile: its prediction columns against the model's on the current data; its
        // columns are independent draws, so they cannot stand for labelled outcomes.
        (None, cp) if !rows_on => {
            if let Some(cp) = cp {
                let rtab = table_of(reference, profile_predictions.clone());
                let ctab = table_of(current, prediction_columns(cp));
                prediction_drift(&rtab, &ctab, config, &mut drift, &mut plots)?;
            }
            (
                Outcomes::default(),
                cp.as_ref()
                    .map(|p| p.outcomes(&roles_current))
                    .unwrap_or_default(),
            )
        }
        (Some(rp), cp) => {
            // The model's outputs are monitored like the tables' own prediction columns.
            let rcols = prediction_columns(rp);
            let (rtab, ctab) = (
                table_of(reference, rcols),
                table_of(
                    current,
                    cp.as_ref().map(prediction_columns).unwrap_or_default(),
                ),
            );
            prediction_drift(&rtab, &ctab, config, &mut drift, &mut plots)?;
            (
                rp.outcomes(&cols.roles_reference),
                cp.as_ref()
                    .map(|p| p.outcomes(&roles_current))
                    .unwrap_or_default(),
            )
        }
        _ => (
            Outcomes::from_columns(
                &table_of(reference, cols.roles_reference.clone()),
                t.score.as_deref(),
            ),
            Outcomes::from_columns(
                &table_of(current, roles_current.clone()),
                t.score.as_deref(),
            ),
        ),
    };
    // Without labels in the reference, the model's own held-out outcomes stand in (CBPE
    // calibrates on them; the thresholds come from their chunks).
    let ro = match &opts.model_outcomes {
        Some(sample) if !ro.has_labels() && co.y_pred.is_some() => {
            notes.push(format!(
                "The reference has no labels: the reference performance comes from the model's {} held-out validation rows saved with it.",
                smelt_core::text::thousands(sample.len() as u64)
            ));
            Outcomes::from_sample(sample)
        }
        _ => ro,
    };
    drift.sort_by(|a, b| {
        b.drifted
            .cmp(&a.drifted)
            .then(b.strength().total_cmp(&a.strength()))
            .then(a.column.cmp(&b.column))
    });
    let mut windows = window_rows(&slices, &cols.windows, config.share);
    // Volume is only news for windows of time (windows of rows hold the same number each).
    if matches!(opts.window, Some(Window::Period(_))) && windows.len() > 1 {
        let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
        let rows: Vec<usize> = windows.iter().map(|w| w.rows).collect();
        let (check, anomalies) =
            quality::window_volume(&keys, &rows, opts.config.quality.volume_factor);
        quality.push(check);
        for (w, a) in windows.iter_mut().zip(anomalies) {
            w.volume_anomaly = a;
        }
    }
    let inputs = performance::Inputs {
        reference: &ro,
        current: &co,
        reference_sample: row.reference_sample.as_ref(),
        reference_rows: &row.sample_rows,
        current_features: row.current_features.as_ref(),
        current_rows: n_current,
        windows: &slices,
    };
    let computed = performance::compute(&inputs, perf, multi);
    notes.extend(computed.notes);
    // Performance per slice: the same calculations, each slice one "window".
    let by_slice = match &opts.slice {
        Some(column) if !computed.performance.is_empty() => {
            table::require(current, &current_names, "slice", Some(column))?;
            let groups = slice_groups(current, opts, column)?;
            let sliced = performance::compute(
                &performance::Inputs {
                    windows: &groups,
                    ..inputs
                },
                perf,
                &MultivariateOptions {
                    reconstruction: false,
                    domain_classifier: false,
                    ..multi.clone()
                },
            );
            Some((column.clone(), sliced.performance))
        }
        Some(column) => {
            notes.push(format!(
                "No performance by `{column}`: the model's performance is not computed here."
            ));
            None
        }
        None => None,
    };
    let mut multivariate: Vec<Tracked> = row.reconstruction.into_iter().collect();
    multivariate.extend(computed.multivariate);
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    Ok(Run {
        monitoring: Monitoring {
            reference: (name(reference), cols.reference_rows),
            current: (name(current), n_current),
            drift,
            share_threshold: config.share,
            quality,
            windows,
            performance: computed.performance,
            multivariate,
            by_slice,
            notes,
            plots,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_reads_drift_quality_and_tests_and_names_a_typo() {
        let dir = tempfile::tempdir().expect("tmp");
        let ok = dir.path().join("monitor.toml");
        std::fs::write(
            &ok,
            "[drift]\nshare = 0.3\n[drift.columns.age]\nmethod = \"psi\"\n\n[quality]\nout_of_range_share = 0.05\n\n[[test]]\nmetric = \"rows\"\ngt = 10\n",
        )
        .expect("write");
        let c = MonitorConfig::load(&ok).expect("valid");
        assert!((c.drift.share - 0.3).abs() < 1e-12);
        assert!((c.quality.out_of_range_share - 0.05).abs() < 1e-12);
        assert!(c.drift.columns.contains_key("age"));
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[qualty]\nout_of_range_share = 0.05\n").expect("write");
        let e = MonitorConfig::load(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml") && e.contains("did you mean `[quality]`"),
            "{e}"
        );
        std::fs::write(&bad, "[quality]\nout_of_range = 0.05\n").expect("write");
        let e = MonitorConfig::load(&bad).unwrap_err().to_string();
        assert!(e.contains("[quality]") && e.contains("out_of_range"), "{e}");
    }
}
