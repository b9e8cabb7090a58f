//! `smelt tune DATA --target COL --model NAME --param 'C=loguniform(1e-3,10)' ...`: argument
//! parsing and printing over [`smelt_workflow::tune()`].

use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use smelt_eval::tune::space::value_text;
use smelt_eval::tune::{Space, TrialState};
use smelt_workflow::{Event, Params, SamplerKind, TrainOptions, TuneSpec};

use super::FoldArgs;
use crate::Outcome;
use crate::args::{ReadArgs, TrackArgs};
use crate::style::{dim, head, num, thousands};

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum SamplerArg {
    /// Tree-structured Parzen Estimator (Optuna's default)
    Tpe,
    /// Independent random draws
    Random,
    /// Every combination of a grid (5 values per numeric range)
    Grid,
    /// Successive halving: --trials random configurations on few training rows, the best third
    /// promoted to three times the rows, up to the full folds
    Halving,
    /// Hyperband: brackets of successive halving, from many configurations on few rows to few
    /// on all of them (--trials does not apply)
    Hyperband,
}

#[derive(Args, Debug)]
pub struct TuneArgs {
    /// The table (CSV, Parquet, NDJSON, Arrow IPC)
    pub file: PathBuf,

    /// Estimator to tune (see `smelt train --list-models`)
    #[arg(long, short, value_name = "NAME")]
    pub model: String,

    /// A parameter: fixed (`max_iter=500`) or searched (`C=loguniform(1e-3,10)`,
    /// `max_depth=int(2,12)`, `criterion=choice(gini,entropy)`) (repeatable)
    #[arg(long = "param", short = 'p', value_name = "KEY=VALUE")]
    pub params: Vec<String>,

    /// A TOML file declaring the search space (conditional parameters: `when = { .. }`)
    #[arg(long, value_name = "FILE")]
    pub space: Option<PathBuf>,

    /// How many trials
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub trials: usize,

    /// Stop starting trials after this long (`90s`, `5m`, `1h`)
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// The sampler
    #[arg(long, value_enum, default_value_t = SamplerArg::Tpe)]
    pub sampler: SamplerArg,

    /// The metric to optimise [default: the task's first standard metric]
    #[arg(long, value_name = "NAME")]
    pub metric: Option<String>,

    /// Run every fold of every trial (default: stop trials whose running score falls below
    /// the median, as Optuna's MedianPruner)
    #[arg(long)]
    pub no_prune: bool,

    /// Fit the best parameters on the table and save the model here
    #[arg(long, value_name = "DIR", conflicts_with = "nested")]
    pub out: Option<PathBuf>,

    /// Nested cross-validation: a study inside each outer fold (3 inner folds), its best
    /// parameters scored on the outer test rows — an unbiased estimate of the tuned model
    #[arg(long)]
    pub nested: bool,

    /// Fit the estimator on the features as they are: no imputation, encoding or scaling
    #[arg(long)]
    pub no_preprocess: bool,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    /// Print the result as JSON
    #[arg(long)]
    pub json: bool,

    #[command(flatten)]
    pub folds: FoldArgs,

    #[command(flatten)]
    pub track: TrackArgs,

    #[command(flatten)]
    pub read: ReadArgs,
}

/// `90s`, `5m`, `1h`, `1h30m`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration> {
    let s = s.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if secs.is_finite() && secs > 0.0 {
            return Ok(Duration::from_secs_f64(secs));
        }
        bail!("the duration `{s}` must be positive");
    }
    let mut total = 0.0;
    let mut num = String::new();
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => bail!("cannot read the duration `{s}`: write it like 90s, 5m or 1h30m"),
        };
        let v: f64 = num.parse().with_context(|| {
            format!("cannot read the duration `{s}`: write it like 90s, 5m or 1h30m")
        })?;
        total += v * unit;
        num.clear();
    }
    if !num.is_empty() || total <= 0.0 {
        bail!("cannot read the duration `{s}`: write it like 90s, 5m or 1h30m");
    }
    Ok(Duration::from_secs_f64(total))
}

/// Splits `--param` values into fixed parameters and a search space.
fn split_params(args: &TuneArgs) -> Result<(Params, Space)> {
    let mut space = match &args.space {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the search space {}", path.display()))?;
            Space::from_toml(&text, &path.display().to_string())?
        }
        None => Space::new(),
    };
    let mut fixed = Vec::new();
    for p in &args.params {
        let Some((name, value)) = p.split_once('=') else {
            bail!("`{p}` is not KEY=VALUE: write for example `--param C=loguniform(1e-3,10)`");
        };
        if value.contains('(') {
            space.add_text(name.trim(), value.trim())?;
        } else {
            fixed.push(p.clone());
        }
    }
    if space.is_fixed() {
        bail!(
            "nothing to search: give a range such as `--param C=loguniform(1e-3,10)` or `--space space.toml`"
        );
    }
    Ok((Params::parse(&fixed)?, space))
}

pub fn run(mut args: TuneArgs) -> Result<Outcome> {
    crate::model::take_n_jobs(&mut args.params, &mut args.threads)?;
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let (base, space) = split_params(&args)?;
    let timeout = args.timeout.as_deref().map(parse_duration).transpose()?;
    let opts = args.read.load_options()?;
    crate::model::check_model_early(&args.model, &Params::new(), &opts, true)?;
    let data = smelt_data::load(&args.file, &opts)?;
    let tracker = args.track.open();
    let quiet = args.json || !anstream::stderr().is_terminal();
    let bar = RefCell::new(None::<ProgressBar>);
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("note: {m}"),
        Event::Warning(m) => eprintln!("warning: {m}"),
        Event::TrialDone {
            total,
            best,
            value,
            pruned,
            number,
        } if !quiet => {
            let mut b = bar.borrow_mut();
            let b = b.get_or_insert_with(|| {
                let b = ProgressBar::new(total as u64);
                b.set_style(
                    ProgressStyle::with_template("{bar:30} {pos}/{len} trials [{elapsed}] {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                b
            });
            b.inc(1);
            let last = match (value, pruned) {
                (Some(v), _) => num(v),
                (None, true) => "pruned".into(),
                (None, false) => "failed".into(),
            };
            b.set_message(format!(
                "best {}  (trial {number}: {last})",
                best.map_or_else(|| "-".to_string(), num)
            ));
        }
        _ => {}
    };
    let spec = TuneSpec {
        space,
        sampler: match args.sampler {
            SamplerArg::Tpe => SamplerKind::Tpe,
            SamplerArg::Random => SamplerKind::Random,
            SamplerArg::Grid => SamplerKind::Grid,
            SamplerArg::Halving => SamplerKind::Halving,
            SamplerArg::Hyperband => SamplerKind::Hyperband,
        },
        trials: args.trials,
        timeout,
        metric: args.metric.clone(),
        prune: !args.no_prune,
        seed: args.folds.seed,
    };
    let train_opts = TrainOptions {
        preprocess: !args.no_preprocess,
        tracker: tracker.as_ref().map(|t| t as &dyn smelt_core::Tracker),
        experiment: &args.track.experiment,
        run_name: args.track.run_name.as_deref(),
        on_event: Some(&show),
        ..TrainOptions::default()
    };
    if args.nested {
        return nested(&args, &data, base, &spec, &train_opts);
    }
    let tuned = smelt_workflow::tune(
        &data,
        &args.model,
        base,
        &spec,
        &args.folds.spec(),
        &train_opts,
    );
    if let Some(b) = bar.borrow().as_ref() {
        b.finish_and_clear();
    }
    let tuned = tuned?;
    let best = &tuned.trials[tuned.best];
    let count = |s: TrialState| tuned.trials.iter().filter(|t| t.state == s).count();
    let saved = match &args.out {
        Some(dir) => {
            let o = TrainOptions {
                out: Some(dir),
                tracker: None,
                on_event: None,
                ..train_opts
            };
            Some(smelt_workflow::train(
                &data,
                &args.model,
                tuned.best_params.clone(),
                &o,
            )?)
        }
        None => None,
    };
    let mut out = anstream::stdout().lock();
    if args.json {
        let trials: Vec<_> = tuned.trials.iter().map(|t| json!(t)).collect();
        let mut result = json!({
            "model": tuned.info.name, "metric": tuned.scorer.name,
            "greater_is_better": tuned.scorer.greater_is_better, "folds": tuned.folds.splitter,
            "best_trial": best.number, "best_value": best.value,
            "best_params": serde_json::Value::Object(tuned.best_params.as_map().clone()),
            "seconds": tuned.seconds, "overhead_seconds_per_trial": tuned.overhead_seconds,
            "trials": trials,
        });
        if let Some(r) = &tuned.run {
            result["run"] = json!({"run_id": r.run_id, "experiment": r.experiment});
        }
        serde_json::to_writer_pretty(&mut out, &result)?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} {} on {}: {} trials ({} pruned, {} failed) in {:.1}s, {} sampler, {}",
        head("Tuned"),
        tuned.info.name,
        args.file.display(),
        thousands(tuned.trials.len() as u64),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        tuned.seconds,
        spec_name(args.sampler),
        tuned.folds.splitter
    )?;
    if matches!(args.sampler, SamplerArg::Halving | SamplerArg::Hyperband) {
        // How many configurations reached each number of rows.
        let mut rungs: std::collections::BTreeMap<u64, usize> = Default::default();
        for t in &tuned.trials {
            for (rows, _) in &t.intermediate {
                *rungs.entry(*rows).or_default() += 1;
            }
        }
        let line: Vec<String> = rungs
            .iter()
            .map(|(rows, n)| format!("{n} × {} rows", thousands(*rows)))
            .collect();
        writeln!(out, "  rungs  {}", line.join(" → "))?;
    }
    writeln!(
        out,
        "  best {} {} (trial {})",
        tuned.scorer.name,
        best.value.map_or_else(|| "-".into(), num),
        best.number
    )?;
    let shown: Vec<String> = tuned
        .best_params
        .as_map()
        .iter()
        .map(|(k, v)| format!("{k}={}", value_text(v)))
        .collect();
    writeln!(out, "  best parameters  {}", shown.join("  "))?;
    match (&args.out, saved) {
        (Some(dir), Some(t)) => {
            let line = t
                .valid_metrics
                .iter()
                .map(|(k, v)| format!("{k} {}", num(*v)))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(
                out,
                "{} {} with the best parameters  {}",
                head("Saved"),
                dir.display(),
                dim(&format!("(validation: {line})"))
            )?;
        }
        _ => {
            let flags: String = shown.iter().map(|p| format!(" -p {p}")).collect();
            writeln!(
                out,
                "  {}",
                dim(&format!(
                    "(fit it: smelt train {} --target {} --model {}{flags} --out DIR)",
                    args.file.display(),
                    data.schema.target().map_or("TARGET", |t| t.name.as_str()),
                    tuned.info.name
                ))
            )?;
        }
    }
    if let Some(r) = &tuned.run {
        let short = &r.run_id[..8.min(r.run_id.len())];
        writeln!(
            out,
            "{} run {short} in experiment `{}` with a child run per {}  {}",
            head("Tracked"),
            r.experiment,
            if matches!(args.sampler, SamplerArg::Halving | SamplerArg::Hyperband) {
                "evaluation"
            } else {
                "trial"
            },
            dim(&format!("(smelt runs show {short})"))
        )?;
    }
    Ok(Outcome::Success)
}

fn nested(
    args: &TuneArgs,
    data: &smelt_data::Loaded,
    base: Params,
    spec: &TuneSpec,
    opts: &TrainOptions<'_>,
) -> Result<Outcome> {
    let inner = smelt_workflow::CvSpec {
        folds: 3,
        ..args.folds.spec()
    };
    let quiet = TrainOptions {
        on_event: None,
        ..*opts
    };
    let n = smelt_workflow::nested_cv(
        data,
        &args.model,
        base,
        spec,
        &args.folds.spec(),
        &inner,
        &quiet,
    )?;
    let mut out = anstream::stdout().lock();
    if args.json {
        let folds: Vec<_> = n
            .folds
            .iter()
            .map(|f| json!({"params": f.params, "inner": f.inner, "outer": f.outer}))
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &json!({"metric": n.scorer.name, "mean": n.mean, "std": n.std, "folds": folds, "outer": n.splitter}),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    writeln!(
        out,
        "{} {} with {} outer folds ({}), {} trials per study",
        head("Nested cross-validation of"),
        smelt_workflow::resolve_model(&args.model, smelt_workflow::task_of(data))
            .map_or(args.model.as_str(), |i| i.name),
        n.folds.len(),
        n.splitter,
        args.trials
    )?;
    writeln!(
        out,
        "  {:<6} {:>10} {:>10}  best parameters",
        "fold", "inner", "outer"
    )?;
    for (k, f) in n.folds.iter().enumerate() {
        let params: Vec<String> = f
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", value_text(v)))
            .collect();
        writeln!(
            out,
            "  {k:<6} {:>10.4} {:>10.4}  {}",
            f.inner,
            f.outer,
            params.join("  ")
        )?;
    }
    writeln!(
        out,
        "  {} {}: {:.4} ± {:.4}  {}",
        head("unbiased estimate of the tuned model's"),
        n.scorer.name,
        n.mean,
        n.std,
        dim("(the inner scores are optimistic: each is the best of a search)")
    )?;
    Ok(Outcome::Success)
}

fn spec_name(s: SamplerArg) -> &'static str {
    match s {
        SamplerArg::Tpe => "TPE",
        SamplerArg::Random => "random",
        SamplerArg::Grid => "grid",
        SamplerArg::Halving => "successive halving",
        SamplerArg::Hyperband => "Hyperband",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("2.5").unwrap(), Duration::from_millis(2500));
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("0").is_err());
    }
}
