//! `smelt runs delete`: marks runs deleted, or with `--purge` removes them and their artifacts.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};

use super::{DeleteArgs, report_purged};
use crate::Outcome;
use crate::style::dim;
use crate::track::store::{Tracking, short_id};

pub(super) fn run(t: &Tracking, a: DeleteArgs, out: &mut impl Write) -> Result<Outcome> {
    // Resolve every run first, so a typo deletes nothing.
    let runs = a
        .runs
        .iter()
        .map(|r| t.resolve_run(r))
        .collect::<Result<Vec<_>>>()?;
    let mut names = BTreeMap::new();
    let mut ids = Vec::new();
    for r in &runs {
        let id = r.info.run_id.clone();
        if ids.contains(&id) {
            continue;
        }
        if r.info.lifecycle_stage == "deleted" {
            if !a.purge {
                writeln!(
                    out,
                    "{} {} ({}) was deleted already",
                    dim("skipped"),
                    short_id(&id),
                    r.info.run_name
                )?;
            }
        } else {
            t.block_on(t.store().delete_run(&id))
                .with_context(|| format!("deleting run {id}"))?;
            writeln!(out, "deleted {} ({})", short_id(&id), r.info.run_name)?;
        }
        names.insert(id.clone(), r.info.run_name.clone());
        ids.push(id);
    }
    if a.purge {
        let purged = t
            .block_on(t.store().purge_runs(&ids))
            .context("purging runs")?;
        report_purged(t, &purged, &names, out)?;
    } else {
        writeln!(
            out,
            "{}",
            dim("deleted runs stay in the store until `smelt runs gc` (or `delete --purge`)")
        )?;
    }
    Ok(Outcome::Success)
}
