//! Tuning the strong rungs inside the ladder's time budget.

use std::time::Instant;

use smelt_eval::metrics::registry::Scorer;
use smelt_eval::tune::Space;

use super::rungs::Plan;
use super::{LadderSpec, Rung, emit_rung};
use crate::catalog::with_preprocessing;
use crate::error::Result;
use crate::folds::Folds;
use crate::prepare::Prepared;
use crate::select::{drop_unavailable, emit, run_cv};
use crate::train::{Event, TrainOptions};
use crate::tune::{SamplerKind, TuneSpec, run_study};

#[allow(clippy::too_many_arguments, reason = "the ladder's state, passed once")]
pub(super) fn tune_strong_rungs(
    rungs: &mut [Rung],
    plan: &[Plan],
    p: &Prepared,
    folds: &Folds,
    primary: &'static Scorer,
    scorers: &[&'static Scorer],
    spec: &LadderSpec,
    started: Instant,
    opts: &TrainOptions<'_>,
    quiet: &TrainOptions<'_>,
) -> Result<()> {
    // Strongest first: gradient boosting, then the forest, then the linear model.
    let order: Vec<usize> = (0..rungs.len())
        .rev()
        .filter(|&i| !plan[i].3.is_empty() && rungs[i].result.is_some())
        .collect();
    let mut left = order.len();
    for i in order {
        let remaining = spec.budget.saturating_sub(started.elapsed());
        // Keep a fifth of what is left for the final fit and the calibration check.
        let share = remaining.mul_f64(0.8 / left as f64);
        left -= 1;
        let one_cv = rungs[i].seconds.max(1e-3);
        let trials = ((share.as_secs_f64() / one_cv).floor() as usize).min(20);
        if trials < 3 {
            continue;
        }
        let mut space = Space::new();
        for s in plan[i].3 {
            if let Some((k, v)) = s.split_once('=') {
                space.add_text(k, v)?;
            }
        }
        let tune = TuneSpec {
            space,
            sampler: SamplerKind::Tpe,
            trials,
            timeout: Some(share),
            metric: Some(primary.name.to_string()),
            prune: true,
            seed: spec.seed,
        };
        emit(
            opts,
            Event::Note(&format!(
                "tuning {} ({} trials at most, {:.0}s)",
                rungs[i].label,
                trials,
                share.as_secs_f64()
            )),
        );
        let t0 = Instant::now();
        let (study, _, _, _) = run_study(
            p,
            rungs[i].info,
            &rungs[i].params,
            &tune,
            &folds.folds,
            primary,
            quiet,
            None,
        );
        let default_score = rungs[i]
            .result
            .as_ref()
            .and_then(|r| r.metric(primary.name))
            .map(|m| m.mean);
        if let (Some(b), Some(d)) = (study.best(), default_score)
            && let Some(v) = b.value
            && primary.better(v, d)
        {
            let mut params = rungs[i].params.clone();
            for (k, val) in &b.params {
                params = params.set(k, val.clone());
            }
            let est = with_preprocessing(
                rungs[i].info,
                rungs[i].info.build(params.as_map().clone())?,
                opts.preprocess,
            );
            if let Ok(mut r) = run_cv(&est, &p.data, &folds.folds, scorers, quiet, None) {
                drop_unavailable(&mut r, quiet);
                rungs[i].params = params;
                rungs[i].result = Some(r);
            }
        }
        rungs[i].trials = study.trials().to_vec();
        rungs[i].seconds += t0.elapsed().as_secs_f64();
        emit_rung(opts, &rungs[i], i, rungs.len(), primary);
    }
    Ok(())
}
