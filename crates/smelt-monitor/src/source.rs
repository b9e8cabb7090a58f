//! Reading the two tables of a run in pieces, so that memory holds a few columns or a few
//! thousand rows at a time whatever the files' sizes: the column names from the file's schema,
//! a group of whole columns (drift and quality are computed column by column), and batches of
//! rows (a model's predictions and the multivariate scores need whole rows).
//!
//! Both go through `smelt-data`'s batch reader: only the wanted columns are decoded (Parquet
//! reads just their column chunks; CSV parses the file again but keeps only them), with the types
//! `smelt_data::read::read` would give.

use std::path::Path;

use smelt_data::polars::prelude::DataFrame;
use smelt_data::read::{ReadOptions, batches, scan};

use crate::error::{MonitorError, Result};

/// Rows of a batch read for row-wise work.
pub const BATCH_ROWS: usize = 65_536;

/// The file's column names, in order, from its schema (Parquet metadata; a CSV file's header
/// and first rows).
pub fn column_names(path: &Path, read: &ReadOptions) -> Result<Vec<String>> {
    let schema = scan(path, read)?.collect_schema().map_err(|e| {
        MonitorError::Schema(format!("{}: cannot read its columns: {e}", path.display()))
    })?;
    Ok(schema.iter_names().map(|n| n.to_string()).collect())
}

/// The whole of `names` (they must be in the file).
pub fn read_columns(path: &Path, read: &ReadOptions, names: &[String]) -> Result<DataFrame> {
    let mut out: Option<DataFrame> = None;
    for batch in batches(path, read, Some(names), 1 << 20)? {
        let batch = batch?;
        match &mut out {
            None => out = Some(batch),
            Some(o) => {
                o.vstack_mut_owned(batch)
                    .map_err(|e| MonitorError::Schema(format!("{}: {e}", path.display())))?;
            }
        }
    }
    let mut out =
        out.ok_or_else(|| MonitorError::TooFew(format!("{}: no rows", path.display())))?;
    out.rechunk_mut();
    Ok(out)
}

/// Calls `f` on each batch of `names`, in file order.
pub fn for_each_batch(
    path: &Path,
    read: &ReadOptions,
    names: &[String],
    mut f: impl FnMut(DataFrame) -> Result<()>,
) -> Result<()> {
    for batch in batches(path, read, Some(names), BATCH_ROWS)? {
        f(batch?)?;
    }
    Ok(())
}
