//! `smelt train`, `smelt predict`, `smelt import` and `smelt export`.

pub mod export;
pub mod import;
pub mod open;
pub mod predict;
pub mod train;

use anyhow::{Result, bail};
use smelt_core::catalog::Task;
use smelt_data::LoadOptions;
use smelt_workflow::Params;

/// Checks a `--model` name and its `--param`s before the data loads, so a typo does not wait
/// for a large file. A short name (`random_forest`, `gbdt`) waits for the target, which picks
/// the classifier or the regressor; `supervised` says the command needs a target whatever the
/// model (cross-validation, tuning).
pub(crate) fn check_model_early(
    name: &str,
    params: &Params,
    opts: &LoadOptions,
    supervised: bool,
) -> Result<()> {
    if smelt_workflow::short_name(name).is_none() {
        let info = smelt_workflow::resolve_model(name, None)?;
        info.build(params.as_map().clone())?;
        if (supervised || info.task != Task::Clustering) && opts.schema.target.is_none() {
            bail!("{} needs a target: pass --target COLUMN", info.name);
        }
    } else if opts.schema.target.is_none() {
        bail!("`{name}` needs a target: pass --target COLUMN");
    }
    Ok(())
}
