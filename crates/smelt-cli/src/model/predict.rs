//! `smelt predict MODEL_DIR DATA [--out FILE]`: printing over [`smelt_workflow::Model`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use smelt_data::polars::prelude::*;
use smelt_data::read::Format;
use smelt_workflow::Model;

use crate::Outcome;
use crate::args::ReadArgs;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model directory written by `smelt train`
    pub model: PathBuf,

    /// The table to score; it needs the model's input columns (any order; extra columns are ignored)
    pub file: PathBuf,

    /// Output file (.parquet, .csv, .ndjson, .arrow); CSV on standard output when omitted
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Input columns copied into the output before the predictions, e.g. an id (comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub keep: Vec<String>,

    /// Worker threads (default: all cores)
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: PredictArgs) -> Result<Outcome> {
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let model = Model::load(&args.model)?;
    let opts = args.read.load_options()?;
    let raw = smelt_data::read::read(&args.file, &opts.read)?;
    let mut cols = Vec::new();
    if !args.keep.is_empty() {
        // `keep` columns are copied as they are in the file (not through the model's schema).
        for k in &args.keep {
            let c = raw
                .column(k)
                .map_err(|_| smelt_data::DataError::MissingColumn {
                    path: args.file.clone(),
                    name: k.clone(),
                    available: raw
                        .get_column_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                })?;
            cols.push(c.clone());
        }
    }
    let mut df = model.predict_frame(raw, &args.file)?;
    let n = df.height();
    if !cols.is_empty() {
        cols.extend(df.into_columns());
        df = DataFrame::new(n, cols)?;
    }
    match &args.out {
        Some(path) => {
            let format = Format::from_path(path)?;
            smelt_data::write::write_table(&mut df, path, format)?;
            eprintln!("wrote {n} predictions to {}", path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            CsvWriter::new(&mut out).finish(&mut df)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Success)
}
