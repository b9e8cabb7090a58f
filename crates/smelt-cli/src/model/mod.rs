//! `smelt train`, `smelt predict`, `smelt import`, `smelt export` and `smelt embed`.

pub mod embed;
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

/// scikit-learn's `n_jobs` given among the parameters (`-p n_jobs=2`): Smelt's thread setting,
/// not a model parameter, so it is taken out of `params` and stands for `--threads` when that is
/// not given (`-1`, scikit-learn's "all cores", leaves the default).
pub(crate) fn take_n_jobs(params: &mut Vec<String>, threads: &mut Option<usize>) -> Result<()> {
    let mut rest = Vec::with_capacity(params.len());
    for p in params.drain(..) {
        match p.split_once('=') {
            Some((k, v)) if k.trim() == "n_jobs" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    anyhow::anyhow!(
                        "`n_jobs` = {v:?}: expected a whole number (the threads to use; -1: all cores)"
                    )
                })?;
                match n {
                    -1 => {}
                    n if n >= 1 => *threads = threads.or(Some(n as usize)),
                    _ => bail!(
                        "`n_jobs` = {n}: use a number of threads of 1 or more, or -1 for all cores"
                    ),
                }
            }
            _ => rest.push(p),
        }
    }
    *params = rest;
    Ok(())
}
