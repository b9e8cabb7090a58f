//! `smelt cv --learning-curve` and `smelt cv --validation-curve PARAM=V1,V2,…`: printing over
//! [`smelt_workflow::curves`], the plot written beside.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use smelt_workflow::curves::{Curved, learning_curve, validation_curve};
use smelt_workflow::{Event, Params, TrainOptions};

use crate::Outcome;
use crate::style::{dim, head, thousands};

/// What `smelt cv` asks of a curve (its own flags, read by `cv.rs`).
pub struct CurveArgs<'a> {
    pub metrics: &'a [String],
    pub json: bool,
    pub no_preprocess: bool,
    pub spec: smelt_workflow::CvSpec,
    /// `PARAM=V1,V2,…` for a validation curve; a learning curve otherwise.
    pub validation_curve: Option<&'a str>,
    pub train_sizes: &'a [f64],
    pub plot: Option<PathBuf>,
}

/// Runs the curve `args` asks for on the loaded `data`.
pub fn run(
    args: &CurveArgs<'_>,
    data: &smelt_data::Loaded,
    model: &str,
    params: Params,
) -> Result<Outcome> {
    if args.metrics.len() > 1 {
        bail!("a curve follows one metric: give one --metric");
    }
    let show = |e: Event<'_>| match e {
        Event::Note(m) if !args.json => eprintln!("note: {m}"),
        Event::Warning(m) => eprintln!("warning: {m}"),
        _ => {}
    };
    let opts = TrainOptions {
        preprocess: !args.no_preprocess,
        on_event: Some(&show),
        ..TrainOptions::default()
    };
    let metric = args.metrics.first().map(String::as_str);
    let spec = args.spec.clone();
    let (curved, kind) = match args.validation_curve {
        Some(sweep) => {
            let (param, values) = parse_sweep(sweep)?;
            let c = validation_curve(data, model, params, &param, &values, &spec, metric, &opts)?;
            (c, "validation_curve")
        }
        None => {
            let c = learning_curve(data, model, params, &spec, metric, args.train_sizes, &opts)?;
            (c, "learning_curve")
        }
    };
    let plot_path = args
        .plot
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{kind}.svg")));
    write_plot(&curved, &plot_path)?;
    print(args, data, &curved, kind, &plot_path)
}

/// `PARAM=V1,V2,…` → the parameter and its values (JSON where they parse, text otherwise).
fn parse_sweep(sweep: &str) -> Result<(String, Vec<Value>)> {
    let Some((param, list)) = sweep.split_once('=') else {
        bail!("--validation-curve takes PARAM=V1,V2,..., e.g. alpha=0.01,0.1,1,10; got `{sweep}`");
    };
    let param = param.trim().to_string();
    let mut values = Vec::new();
    for v in list.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let p = Params::parse(&[format!("{param}={v}")])?;
        values.push(p.as_map().get(&param).cloned().unwrap_or(Value::Null));
    }
    if values.len() < 2 {
        bail!("--validation-curve needs at least two values of `{param}`, comma-separated");
    }
    Ok((param, values))
}

fn write_plot(curved: &Curved, path: &std::path::Path) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let png = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("png"));
    if png {
        curved.plot.write_png(path)?;
    } else {
        curved.plot.write_svg(path)?;
    }
    Ok(())
}

fn print(
    args: &CurveArgs<'_>,
    data: &smelt_data::Loaded,
    c: &Curved,
    kind: &str,
    plot: &std::path::Path,
) -> Result<Outcome> {
    let mut out = anstream::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(
            &mut out,
            &json!({"model": c.info.name, "rows": c.rows, "folds": c.folds.splitter,
                    "kind": kind, "curve": c.curve, "plot": plot.display().to_string()}),
        )?;
        writeln!(out)?;
        return Ok(Outcome::Success);
    }
    let what = if kind == "learning_curve" {
        "Learning curve of"
    } else {
        "Validation curve of"
    };
    let better = if c.curve.greater_is_better {
        "↑"
    } else {
        "↓"
    };
    writeln!(
        out,
        "{} {} on {} ({} rows) with {}, {} {better}",
        head(what),
        c.info.name,
        data.path.display(),
        thousands(c.rows as u64),
        c.folds.splitter,
        c.curve.metric
    )?;
    let xs: Vec<String> = c
        .curve
        .points
        .iter()
        .map(|p| match &p.x {
            Value::String(s) => s.clone(),
            Value::Number(n) if kind == "learning_curve" => {
                thousands(n.as_u64().unwrap_or_default())
            }
            other => other.to_string(),
        })
        .collect();
    let w = xs
        .iter()
        .map(|x| x.chars().count())
        .chain([c.curve.x_label.chars().count()])
        .max()
        .unwrap_or(8);
    writeln!(
        out,
        "  {:<w$}  {:>10} {:>8}  {:>10} {:>8}",
        c.curve.x_label, "train", "± std", "validation", "± std"
    )?;
    let best = c
        .curve
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.valid_mean.is_finite())
        .max_by(|(_, a), (_, b)| {
            let o = a.valid_mean.total_cmp(&b.valid_mean);
            if c.curve.greater_is_better {
                o
            } else {
                o.reverse()
            }
        })
        .map(|(i, _)| i);
    for (i, (p, x)) in c.curve.points.iter().zip(&xs).enumerate() {
        let mark = if kind == "validation_curve" && Some(i) == best {
            "  ← best"
        } else {
            ""
        };
        writeln!(
            out,
            "  {x:<w$}  {:>10.4} {:>8.4}  {:>10.4} {:>8.4}{mark}",
            p.train_mean, p.train_std, p.valid_mean, p.valid_std
        )?;
    }
    writeln!(out, "{} {}", head("Plot"), plot.display())?;
    if kind == "learning_curve"
        && let (Some(first), Some(last)) = (c.curve.points.first(), c.curve.points.last())
    {
        let gap = (last.train_mean - last.valid_mean).abs();
        let gain = (last.valid_mean - first.valid_mean).abs();
        writeln!(
            out,
            "{}",
            dim(&format!(
                "train–validation gap at the full size {gap:.4}; validation moved {gain:.4} from the smallest size"
            ))
        )?;
    }
    Ok(Outcome::Success)
}
