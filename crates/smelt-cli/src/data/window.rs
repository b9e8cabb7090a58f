//! `smelt data window`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::Args;
use smelt_data::read::Format;
use smelt_data::window::{WindowSpec, window};
use smelt_data::write::write_table;

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::{head, thousands};

#[derive(Args, Debug)]
pub struct WindowArgs {
    /// The series (one row per time step)
    pub file: PathBuf,

    /// Time column the rows are sorted by [default: the schema's `time` column, else the file's order]
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,

    /// Past steps of the target (and of each covariate) as columns `{name}_lag1 … {name}_lagL`
    #[arg(long, value_name = "L")]
    pub lags: usize,

    /// Steps ahead: `{target}_lag1` is the value H steps before the target
    #[arg(long, default_value_t = 1, value_name = "H")]
    pub horizon: usize,

    /// Other series read at the same lags (comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub covariates: Vec<String>,

    /// Series known at the target step (a calendar flag, a forecast): kept unlagged (comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub known: Vec<String>,

    /// Output table (.csv, .parquet, .ndjson, .arrow), written atomically
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: WindowArgs) -> Result<Outcome> {
    let format = Format::for_output(&args.out)?;
    let load = args.read.load_options()?;
    let loaded = smelt_data::load(&args.file, &load)?;
    let Some(target) = loaded.schema.target().map(|c| c.name.clone()) else {
        bail!("a window needs the series to forecast: pass `--target COLUMN`");
    };
    let spec = WindowSpec {
        target: target.clone(),
        time: args.time.clone(),
        lags: args.lags,
        horizon: args.horizon,
        covariates: args.covariates.clone(),
        known: args.known.clone(),
    };
    let mut frame = window(&loaded, &spec)?;
    write_table(&mut frame, &args.out, format)?;
    let mut out = anstream::stdout().lock();
    writeln!(
        out,
        "{} {} ({} rows) → {}: {} windows of {} lag{} × {} series, horizon {}, target `{}`",
        head("window"),
        args.file.display(),
        thousands(loaded.frame.height() as u64),
        args.out.display(),
        thousands(frame.height() as u64),
        args.lags,
        if args.lags == 1 { "" } else { "s" },
        1 + args.covariates.len(),
        args.horizon,
        target,
    )?;
    Ok(Outcome::Success)
}
