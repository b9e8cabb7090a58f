//! The column pass of a run: both tables read a group of whole columns at a time (as many as fit
//! in [`GROUP_BYTES`]), each group's drift, window drift, quality checks, row hashes and plot
//! values computed, then the group dropped. What the row pass needs — the feature list with its
//! shared category labels, the target, prediction and score columns — is kept.

use std::path::Path;

use rayon::prelude::*;
use smelt_core::{Feature, FeatureKind};

use super::{Reference, RunOptions, drift_rows};
use crate::drift::DriftConfig;
use crate::error::Result;
use crate::quality::{self, QualityCheck, RowHashes};
use crate::report::{DriftRow, PlotData};
use crate::source;
use crate::table::{self, Column, ColumnRole, SchemaIssue, Table, Values};
use crate::text;
use crate::window::Slice;

/// Column data held at once, both tables together (values and the frame they come from).
pub const GROUP_BYTES: usize = 96 << 20;

/// What the column pass found and keeps.
#[derive(Debug, Default)]
pub(super) struct ColumnPass {
    pub drift: Vec<DriftRow>,
    pub quality: Vec<QualityCheck>,
    /// Per window: (feature columns drifted, feature columns tested).
    pub windows: Vec<(usize, usize)>,
    pub plots: Vec<PlotData>,
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Numeric and categorical features read alike from both tables (categories: the shared
    /// labels), for the row pass.
    pub features: Vec<Feature>,
    /// The target, prediction and score columns of each table.
    pub roles_reference: Vec<Column>,
    pub roles_current: Vec<Column>,
    pub notes: Vec<String>,
}

/// The columns of `names` in groups: the first alone (to learn the row counts), then as many
/// as fit in [`GROUP_BYTES`].
fn next_group(names: &[String], start: usize, rows: Option<usize>) -> usize {
    let per_column = rows.map_or(usize::MAX, |r| (r * 8 * 3).max(1));
    let n = match rows {
        None => 1,
        Some(_) => (GROUP_BYTES / per_column).max(1),
    };
    (start + n).min(names.len())
}

/// Drift settings for the columns of one group.
fn group_config(config: &DriftConfig, names: &[String]) -> DriftConfig {
    let mut c = config.clone();
    c.columns.retain(|k, _| names.contains(k));
    c
}

pub(super) fn column_pass(
    source_ref: Reference<'_>,
    current: &Path,
    opts: &RunOptions,
    monitored: &[String],
    current_names: &[String],
    slices: &[Slice],
) -> Result<ColumnPass> {
    let read = &opts.table.read;
    let config = &opts.config.drift;
    let mut out = ColumnPass {
        windows: vec![(0, 0); slices.len()],
        ..ColumnPass::default()
    };
    let (mut reference_hashes, mut current_hashes): (Option<RowHashes>, Option<RowHashes>) =
        (None, None);
    let mut start = 0;
    let mut rows_seen: Option<usize> = None;
    while start < monitored.len() {
        let end = next_group(monitored, start, rows_seen);
        let group = &monitored[start..end];
        start = end;
        let mut rt = match source_ref {
            Reference::File(path) => table::reference_from_frame(
                source::read_columns(path, read, group)?,
                path,
                &opts.table,
            )?,
            Reference::Table(t) => Table {
                path: t.path.clone(),
                n_rows: t.n_rows,
                columns: t
                    .columns
                    .iter()
                    .filter(|c| group.contains(&c.name))
                    .cloned()
                    .collect(),
                time: None,
                texts: Vec::new(),
            },
        };
        let present: Vec<String> = group
            .iter()
            .filter(|n| current_names.contains(n))
            .cloned()
            .collect();
        let (ct, issues) = if present.is_empty() {
            let issues = group
                .iter()
                .map(|n| SchemaIssue::Missing { column: n.clone() })
                .collect();
            (None, issues)
        } else {
            let frame = source::read_columns(current, read, &present)?;
            let (ct, issues) = table::current_from_frame(frame, current, &mut rt, &opts.table)?;
            (Some(ct), issues)
        };
        out.reference_rows = rt.n_rows;
        let target = opts.table.target.as_deref();
        for issue in issues {
            match &issue {
                SchemaIssue::Missing { column } if Some(column.as_str()) == target => {
                    let outputs = opts.model.is_some()
                        || opts.table.prediction.is_some()
                        || opts.table.score.is_some();
                    if !outputs {
                        continue;
                    }
                    out.notes.push(format!(
                        "The current data has no `{column}` column: no labels, so performance is estimated, not measured."
                    ));
                }
                _ => out.quality.extend(quality::schema_checks(&[issue])),
            }
        }
        out.roles_reference.extend(
            rt.columns
                .iter()
                .filter(|c| c.role != ColumnRole::Feature)
                .cloned(),
        );
        let rh = reference_hashes.get_or_insert_with(|| RowHashes::new(rt.n_rows));
        let Some(ct) = ct else {
            rh.add(&rt.columns);
            continue;
        };
        rows_seen = Some(rt.n_rows + ct.n_rows);
        out.current_rows = ct.n_rows;
        let ch = current_hashes.get_or_insert_with(|| RowHashes::new(ct.n_rows));
        out.roles_current.extend(
            ct.columns
                .iter()
                .filter(|c| c.role != ColumnRole::Feature)
                .cloned(),
        );
        // Row hashes on one core while the other starts on the drift tests.
        let config = group_config(config, group);
        let ((), found) = rayon::join(
            || {
                rh.add(&rt.columns);
                ch.add(&ct.columns);
            },
            || group_findings(&mut out, &rt, &ct, opts, slices, &config),
        );
        found?;
    }
    if let (Some(rh), Some(ch)) = (&reference_hashes, &current_hashes) {
        out.quality
            .push(quality::duplicates_check(rh, ch, &opts.config.quality));
    }
    Ok(out)
}

/// Drift, window drift, quality checks, plots and features of one group of columns.
fn group_findings(
    out: &mut ColumnPass,
    rt: &Table,
    ct: &Table,
    opts: &RunOptions,
    slices: &[Slice],
    config: &DriftConfig,
) -> Result<()> {
    let drift = drift_rows(rt, ct, None, config)?;
    for d in &drift {
        let Some(c) = ct.column(&d.column) else {
            continue;
        };
        out.drift.push(DriftRow::of(d));
        if d.drifted
            && let Some(r) = rt.column(&d.column)
            && let Some(p) = PlotData::of(&r.values, &c.values, &d.column)
        {
            out.plots.push(p);
        }
    }
    for (k, s) in slices.iter().enumerate() {
        for d in drift_rows(rt, ct, Some(&s.rows), config)? {
            if d.role == crate::drift::Role::Feature && d.cannot_test.is_none() {
                out.windows[k].1 += 1;
                out.windows[k].0 += usize::from(d.drifted);
            }
        }
    }
    let checks: Vec<Vec<QualityCheck>> = ct
        .columns
        .par_iter()
        .filter_map(|c| {
            rt.column(&c.name)
                .map(|r| quality::column_checks(r, c, &opts.config.quality))
        })
        .collect();
    out.quality.extend(checks.into_iter().flatten());
    let derived: Vec<String> = rt
        .texts
        .iter()
        .flat_map(|t| [text::length_name(&t.column), text::oov_name(&t.column)])
        .collect();
    for c in ct
        .columns
        .iter()
        .filter(|c| c.role == ColumnRole::Feature && !derived.contains(&c.name))
    {
        let Some(r) = rt.column(&c.name) else {
            continue;
        };
        let kind = match (&r.values, &c.values) {
            (Values::Numeric(_), Values::Numeric(_)) => FeatureKind::Numeric,
            (Values::Categorical { labels, .. }, Values::Categorical { .. }) => {
                FeatureKind::Categorical {
                    categories: labels.clone(),
                }
            }
            _ => continue,
        };
        out.features.push(Feature {
            name: c.name.clone(),
            ltype: r.ltype,
            kind,
        });
    }
    Ok(())
}
