//! `smelt predict MODEL_DIR DATA [--out FILE]`: printing over [`smelt_workflow::Model`].
//! With `--out`, the table is scored chunk by chunk ([`Model::predict_stream`]: bounded memory,
//! the output written atomically) under a progress bar; on standard output, at once.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use smelt_core::UnseenCategory;
use smelt_data::polars::prelude::*;
use smelt_workflow::StreamOptions;
use smelt_workflow::stream::DEFAULT_CHUNK_ROWS;

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::thousands;

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// The model: a directory written by `smelt train` or `smelt import`, models:/NAME@ALIAS,
    /// models:/NAME/VERSION, runs:/RUN_ID/model, or an .onnx, XGBoost .json or LightGBM .txt file
    pub model: String,

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

    /// Rows read and scored at a time with `--out` (memory grows with it)
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CHUNK_ROWS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub chunk_rows: usize,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: PredictArgs) -> Result<Outcome> {
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let model = super::open::open_for_inference(&args.model)?;
    let opts = args.read.load_options()?;
    if let Some(path) = &args.out {
        let stream = StreamOptions {
            chunk_rows: args.chunk_rows,
            keep: args.keep.clone(),
            format: None,
        };
        let bar = if anstream::stderr().is_terminal() {
            let b = ProgressBar::new_spinner();
            b.set_style(
                ProgressStyle::with_template("{spinner} {human_pos} rows scored [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(100));
            b
        } else {
            ProgressBar::hidden()
        };
        let mut progress = |done: u64, total: Option<u64>| {
            // The spinner becomes a bar once the row count is known (not for NDJSON).
            if let Some(total) = total {
                if bar.length().is_none() {
                    bar.set_style(
                        ProgressStyle::with_template(
                            "{bar:30} {human_pos}/{human_len} rows [{elapsed}<{eta}]",
                        )
                        .unwrap_or_else(|_| ProgressStyle::default_bar()),
                    );
                }
                // A CSV file's count is its line count, an upper bound; never below the rows done.
                bar.set_length(total.max(done));
            }
            bar.set_position(done);
        };
        let summary = model.predict_stream(&args.file, &opts.read, path, &stream, &mut progress);
        bar.finish_and_clear();
        let summary = summary?;
        eprintln!(
            "wrote {} predictions to {} ({} rows/s)",
            thousands(summary.rows),
            path.display(),
            thousands(summary.rows_per_second().round() as u64)
        );
        warn_unseen(&summary.unseen);
        return Ok(Outcome::Success);
    }
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
    let (mut df, unseen) = model.predict_frame_and_unseen(raw, &args.file)?;
    let n = df.height();
    if !cols.is_empty() {
        cols.extend(df.into_columns());
        df = DataFrame::new(n, cols)?;
    }
    let mut out = std::io::stdout().lock();
    CsvWriter::new(&mut out).finish(&mut df)?;
    out.flush()?;
    warn_unseen(&unseen);
    Ok(Outcome::Success)
}

/// Categories the model never saw in training, on standard error (see
/// [`smelt_core::unseen_category_warnings`]). Their rows are scored, as the model scores a
/// category it does not know, but a user should know they are there (a typo, a new value
/// upstream).
fn warn_unseen(unseen: &[UnseenCategory]) {
    for w in smelt_core::unseen_category_warnings(unseen) {
        eprintln!("warning: {w}");
    }
}
