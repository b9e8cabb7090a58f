//! `smelt embed MODEL_DIR TEXTS --out FILE`: sentence vectors of a table's text column, printing
//! over [`smelt_workflow::embed`] (a progress bar with sentences/s, then a summary).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use smelt_workflow::embed::{EmbedSpec, embed_file};

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::thousands;

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// A sentence-transformers model directory with a BERT backbone (config.json,
    /// tokenizer.json, model.safetensors, modules.json, 1_Pooling/), e.g. all-MiniLM-L6-v2
    pub model: PathBuf,

    /// The table of texts (CSV, Parquet, NDJSON, Arrow IPC)
    pub file: PathBuf,

    /// Output file (.parquet, .csv, .ndjson, .arrow): the `--keep` columns, then the vector as
    /// f32 columns emb_0, emb_1, …; one row per input row, in order
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// The column of texts [default: the table's only text column]
    #[arg(long, value_name = "NAME")]
    pub column: Option<String>,

    /// Input columns copied into the output before the vector, e.g. an id (comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub keep: Vec<String>,

    /// Texts per forward pass (texts of similar length are batched together)
    #[arg(long, default_value_t = 32, value_name = "N",
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub batch_size: usize,

    /// Embed empty, blank and missing texts as sentence-transformers does (from [CLS] [SEP]
    /// alone: the same vector for all of them) instead of stopping at the first one
    #[arg(long)]
    pub allow_empty: bool,

    #[command(flatten)]
    pub read: ReadArgs,
}

pub fn run(args: EmbedArgs) -> Result<Outcome> {
    let opts = args.read.load_options()?;
    let spec = EmbedSpec {
        column: args.column.clone(),
        keep: args.keep.clone(),
        batch_size: args.batch_size,
        allow_empty: args.allow_empty,
    };
    let bar = if anstream::stderr().is_terminal() {
        let b = ProgressBar::new_spinner();
        b.set_style(
            ProgressStyle::with_template("{spinner} loading the model and the table [{elapsed}]")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.enable_steady_tick(Duration::from_millis(100));
        b
    } else {
        ProgressBar::hidden()
    };
    let mut progress = |done: usize, total: usize| {
        if bar.length().is_none() {
            bar.set_style(
                ProgressStyle::with_template(
                    "{bar:30} {human_pos}/{human_len} texts, {per_sec} [{elapsed}<{eta}]",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_length(total as u64);
            bar.reset_elapsed();
        }
        bar.set_position(done as u64);
    };
    let done = embed_file(
        &args.model,
        &args.file,
        &opts.read,
        &args.out,
        &spec,
        &mut progress,
    );
    bar.finish_and_clear();
    let done = done?;
    eprintln!(
        "embedded {} texts of `{}` ({} values each) into {}: {} sentences/s (model loaded in {:.1} s)",
        thousands(done.rows as u64),
        done.column,
        done.dim,
        args.out.display(),
        thousands(done.sentences_per_second().round() as u64),
        done.load_seconds
    );
    if done.empty > 0 {
        eprintln!(
            "note: {} empty, blank or missing texts were embedded from [CLS] [SEP] alone (--allow-empty): their vectors say nothing about the rows",
            thousands(done.empty as u64)
        );
    }
    Ok(Outcome::Success)
}
