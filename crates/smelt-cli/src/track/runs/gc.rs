//! `smelt runs gc`: purges deleted runs (optionally only older ones) and partial uploads.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use smelt_track::store::now_ms;

use super::{GcArgs, report_purged};
use crate::Outcome;
use crate::style::bytes;
use crate::track::store::{Tracking, parse_age};

pub(super) fn run(t: &Tracking, a: GcArgs, out: &mut impl Write) -> Result<Outcome> {
    let cutoff = match &a.older_than {
        Some(age) => Some(now_ms() - parse_age(age)?),
        None => None,
    };
    let purged = t
        .block_on(t.store().purge_deleted_runs(cutoff))
        .context("purging deleted runs")?;
    // Partial uploads a crash left in the artifact folder (untouched for an hour).
    let (store, _) = t
        .artifacts(smelt_track::tracker::PROXY_SCHEME)
        .context("opening the artifact destination")?;
    let (stale, stale_bytes) = t
        .block_on(store.remove_stale_staging(std::time::Duration::from_secs(3600)))
        .context("removing partial uploads")?;
    if stale > 0 {
        writeln!(
            out,
            "removed {stale} partial upload{} left by a crash ({})",
            if stale == 1 { "" } else { "s" },
            bytes(stale_bytes)
        )?;
    }
    if purged.is_empty() {
        writeln!(
            out,
            "nothing to purge: no deleted runs{}",
            a.older_than
                .as_ref()
                .map(|a| format!(" older than {a}"))
                .unwrap_or_default()
        )?;
        return Ok(Outcome::Success);
    }
    report_purged(t, &purged, &BTreeMap::new(), out)?;
    Ok(Outcome::Success)
}
