//! `smelt predict MODEL_DIR DATA [--out FILE]`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use smelt_core::Prediction;
use smelt_data::polars::prelude::*;
use smelt_data::read::Format;

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

fn prediction_columns(pred: &Prediction) -> Vec<Column> {
    match pred {
        Prediction::Regression { values } => {
            vec![Column::new("prediction".into(), values.as_slice())]
        }
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => {
            let names: Vec<&str> = labels
                .iter()
                .map(|&c| classes[c as usize].as_str())
                .collect();
            let mut cols = vec![Column::new("prediction".into(), names)];
            if let Some(p) = proba {
                for (k, c) in classes.iter().enumerate() {
                    let v: Vec<f64> = (0..p.n_rows()).map(|i| p.row(i)[k]).collect();
                    cols.push(Column::new(format!("proba_{c}").into(), v));
                }
            }
            cols
        }
        Prediction::Clustering { labels } => {
            vec![Column::new("cluster".into(), labels.as_slice())]
        }
    }
}

pub fn run(args: PredictArgs) -> Result<Outcome> {
    if let Some(n) = args.threads {
        smelt_learn::set_threads(n);
    }
    let loaded = smelt_core::artifact::load(&args.model, &super::registry())?;
    let model = loaded.model;
    let opts = args.read.load_options()?;
    let (_, data) = smelt_data::load_for_model(&args.file, &opts.read, model.input_features())?;
    let pred = model
        .predict(&data)
        .with_context(|| format!("predicting {}", args.file.display()))?;

    let mut cols = Vec::new();
    if !args.keep.is_empty() {
        // `keep` columns are copied as they are in the file (not through the model's schema).
        let raw = smelt_data::read::read(&args.file, &opts.read)?;
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
    cols.extend(prediction_columns(&pred));
    let mut df = DataFrame::new(pred.len(), cols)?;
    match &args.out {
        Some(path) => {
            let format = Format::from_path(path)?;
            smelt_data::write::write_table(&mut df, path, format)?;
            eprintln!("wrote {} predictions to {}", pred.len(), path.display());
        }
        None => {
            let mut out = std::io::stdout().lock();
            CsvWriter::new(&mut out).finish(&mut df)?;
            out.flush()?;
        }
    }
    Ok(Outcome::Success)
}
