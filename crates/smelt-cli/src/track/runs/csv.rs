//! The CSV of `smelt runs list --format csv`: one row per run, every metric and param (or the
//! chosen columns), values at full precision.

use std::collections::BTreeSet;
use std::io::Write;

use anyhow::Result;
use smelt_track::entities::Run;

use super::{Col, metric};
use crate::track::table::csv_field;

/// Writes the header and one row per run.
pub(super) fn write(out: &mut impl Write, runs: &[Run], chosen: &[Col]) -> Result<()> {
    let cols: Vec<Col> = if chosen.is_empty() {
        let mut all: BTreeSet<Col> = BTreeSet::new();
        for r in runs {
            all.extend(r.data.metrics.iter().map(|m| Col::Metric(m.key.clone())));
            all.extend(r.data.params.iter().map(|p| Col::Param(p.key.clone())));
        }
        all.into_iter().collect()
    } else {
        chosen.to_vec()
    };
    let mut header: Vec<String> = [
        "run_id",
        "run_name",
        "experiment_id",
        "status",
        "lifecycle_stage",
        "start_time",
        "end_time",
    ]
    .map(String::from)
    .to_vec();
    header.extend(cols.iter().map(Col::full));
    writeln!(
        out,
        "{}",
        header
            .iter()
            .map(|h| csv_field(h))
            .collect::<Vec<_>>()
            .join(",")
    )?;
    for r in runs {
        let mut row = vec![
            r.info.run_id.clone(),
            r.info.run_name.clone(),
            r.info.experiment_id.clone(),
            r.info.status.as_str().to_string(),
            r.info.lifecycle_stage.clone(),
            r.info.start_time.to_string(),
            r.info.end_time.map(|e| e.to_string()).unwrap_or_default(),
        ];
        for c in &cols {
            // Full precision in CSV: the value as logged.
            row.push(match c {
                Col::Metric(k) => metric(r, k).map(|v| v.to_string()).unwrap_or_default(),
                other => other.value(r).unwrap_or_default(),
            });
        }
        writeln!(
            out,
            "{}",
            row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(",")
        )?;
    }
    Ok(())
}
