//! `smelt data split`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use smelt_core::{LogicalType, Role};
use smelt_data::keys::{group_codes, time_values};
use smelt_data::polars::prelude::*;
use smelt_data::profile::iso_micros;
use smelt_data::read::Format;
use smelt_data::split::{SplitInputs, SplitSpec, Strategy, parse_gap, split};
use smelt_data::{Loaded, fingerprint::fingerprint, write::write_dir};

use crate::Outcome;
use crate::args::{FormatArg, ReadArgs};
use crate::style::{head, thousands};

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum StrategyArg {
    /// Uniformly random rows
    Random,
    /// Random within each class of the target (or --stratify column)
    Stratified,
    /// Whole groups of the --group column on one side only
    Group,
    /// By the --time column: train strictly before validation before test
    Temporal,
}

#[derive(Args, Debug)]
pub struct SplitArgs {
    /// The file to split
    pub file: PathBuf,

    /// How rows are assigned
    #[arg(long, value_enum, default_value = "random")]
    pub strategy: StrategyArg,

    /// Output directory (must not exist, unless --overwrite); gets train/test[/valid] files and split.json
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Fraction of rows (of groups, for --strategy group) held out for test
    #[arg(long, default_value_t = 0.2, value_name = "FRACTION")]
    pub test: f64,

    /// Fraction held out for validation (0 = no validation file)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    pub valid: f64,

    /// Random seed; the same seed gives the same split on every machine
    #[arg(long, default_value_t = 0)]
    pub seed: u64,

    /// Column whose classes are kept in proportion [default: the target]
    #[arg(long, value_name = "COLUMN")]
    pub stratify: Option<String>,

    /// Group column [default: the schema's `group` column]
    #[arg(long, value_name = "COLUMN")]
    pub group: Option<String>,

    /// Time column [default: the schema's `time` column]
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,

    /// Time left out between train and the held-out rows, e.g. 7d, 12h, 30m (a plain number for integer time columns)
    #[arg(long, value_name = "DURATION")]
    pub gap: Option<String>,

    /// Output format [default: the input's]
    #[arg(long, value_enum)]
    pub out_format: Option<FormatArg>,

    /// Replace the output directory if it exists
    #[arg(long)]
    pub overwrite: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

fn column_for(
    loaded: &Loaded,
    explicit: &Option<String>,
    role: Role,
    what: &str,
    flag: &str,
) -> Result<String> {
    match smelt_data::keys::column_for(loaded, explicit.as_deref(), role)? {
        Some(c) => Ok(c),
        None => bail!("a {what} split needs a column: pass `{flag} COLUMN`"),
    }
}

pub fn run(args: SplitArgs) -> Result<Outcome> {
    let load = args.read.load_options()?;
    let loaded = smelt_data::load(&args.file, &load)?;
    let df = &loaded.frame;
    let mut inputs = SplitInputs {
        n_rows: df.height(),
        ..Default::default()
    };
    let (strategy, by) = match args.strategy {
        StrategyArg::Random => (Strategy::Random, None),
        StrategyArg::Stratified => {
            let col = match (&args.stratify, loaded.schema.target()) {
                (Some(c), _) => column_for(
                    &loaded,
                    &Some(c.clone()),
                    Role::Target,
                    "stratified",
                    "--stratify",
                )?,
                (None, Some(t)) => t.name.clone(),
                (None, None) => bail!(
                    "a stratified split needs a label column: pass `--target COLUMN` or `--stratify COLUMN`"
                ),
            };
            inputs.labels = Some(group_codes(&loaded, &col)?);
            (Strategy::Stratified, Some(col))
        }
        StrategyArg::Group => {
            let col = column_for(&loaded, &args.group, Role::Group, "group", "--group")?;
            inputs.groups = Some(group_codes(&loaded, &col)?);
            (Strategy::Group, Some(col))
        }
        StrategyArg::Temporal => {
            let col = column_for(&loaded, &args.time, Role::Time, "temporal", "--time")?;
            let (times, is_dt) = time_values(&loaded, &col)?;
            inputs.times = Some(times);
            let gap = match &args.gap {
                Some(g) => parse_gap(g, is_dt)?,
                None => 0,
            };
            (Strategy::Temporal { gap }, Some(col))
        }
    };
    if args.gap.is_some() && !matches!(strategy, Strategy::Temporal { .. }) {
        bail!("--gap applies to --strategy temporal only");
    }
    let spec = SplitSpec {
        strategy: strategy.clone(),
        test: args.test,
        valid: args.valid,
        seed: args.seed,
    };
    let parts = split(&inputs, &spec)?;

    let format: Format = match args.out_format {
        Some(f) => f.into(),
        None => load.read.format_of(&args.file)?,
    };
    let take = |rows: &[usize]| -> Result<DataFrame> {
        let idx = IdxCa::from_vec("idx".into(), rows.iter().map(|&i| i as IdxSize).collect());
        Ok(df.take(&idx)?)
    };
    let mut tables = vec![("train".to_string(), take(&parts.train)?)];
    if !parts.valid.is_empty() {
        tables.push(("valid".to_string(), take(&parts.valid)?));
    }
    tables.push(("test".to_string(), take(&parts.test)?));

    let source_fp = loaded.fingerprint()?;
    let mut part_meta = serde_json::Map::new();
    let mut ranges = Vec::new();
    for (name, t) in &tables {
        let fp = fingerprint(t, &loaded.schema, &args.file)?;
        let mut m = json!({ "rows": t.height(), "fingerprint": fp, "file": format!("{name}.{}", format.as_str()) });
        if let (Strategy::Temporal { .. }, Some(col)) = (&strategy, &by) {
            let s = t
                .column(col)?
                .as_materialized_series()
                .to_physical_repr()
                .cast(&DataType::Int64)?;
            let ca = s.i64()?;
            if let (Some(lo), Some(hi)) = (ca.min(), ca.max()) {
                let dt = loaded
                    .schema
                    .get(col)
                    .is_some_and(|c| c.ltype == LogicalType::Datetime);
                let f = |v: i64| if dt { iso_micros(v) } else { v.to_string() };
                m["time_range"] = json!([f(lo), f(hi)]);
                ranges.push((name.clone(), f(lo), f(hi)));
            }
        }
        part_meta.insert(name.clone(), m);
    }
    let strategy_name = match &strategy {
        Strategy::Random => "random",
        Strategy::Stratified => "stratified",
        Strategy::Group => "group",
        Strategy::Temporal { .. } => "temporal",
    };
    let meta = json!({
        "smelt_version": env!("CARGO_PKG_VERSION"),
        "source": args.file.display().to_string(),
        "source_rows": df.height(),
        "source_fingerprint": source_fp,
        "strategy": strategy_name,
        "column": by,
        "gap": match strategy { Strategy::Temporal { gap } => Some(gap), _ => None },
        "test_fraction": args.test,
        "valid_fraction": args.valid,
        "seed": args.seed,
        "parts": part_meta,
    });
    let meta_bytes = serde_json::to_vec_pretty(&meta)?;
    write_dir(
        &mut tables,
        &[("split.json".into(), meta_bytes)],
        &args.out,
        format,
        args.overwrite,
    )?;

    let mut out = anstream::stdout().lock();
    let by_text = by
        .as_ref()
        .map(|c| format!(" by `{c}`"))
        .unwrap_or_default();
    writeln!(
        out,
        "{} {} ({} rows): {strategy_name}{by_text}, seed {} → {}",
        head("split"),
        args.file.display(),
        thousands(df.height() as u64),
        args.seed,
        args.out.display()
    )?;
    for (name, t) in &tables {
        let range = ranges
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, lo, hi)| format!("  {lo} → {hi}"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {name:<5}  {:>10} rows  {}{range}",
            thousands(t.height() as u64),
            args.out
                .join(format!("{name}.{}", format.as_str()))
                .display()
        )?;
    }
    let dropped = df.height() - parts.train.len() - parts.valid.len() - parts.test.len();
    if dropped > 0 {
        writeln!(
            out,
            "  ({} rows inside the gap left out)",
            thousands(dropped as u64)
        )?;
    }
    Ok(Outcome::Success)
}
