//! Arguments shared by the data commands: how to read a file.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use smelt_data::LoadOptions;
use smelt_data::infer::SchemaFile;
use smelt_data::read::{CsvOptions, Format};

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Parquet,
    Ndjson,
    Ipc,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Ndjson => Format::Ndjson,
            FormatArg::Ipc => Format::Ipc,
        }
    }
}

/// How to read the input file.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Reading")]
pub struct ReadArgs {
    /// File format [default: from the extension: .csv/.tsv, .parquet, .ndjson/.jsonl, .arrow/.ipc/.feather]
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,

    /// CSV field delimiter: one character, or `tab` [default: `,`; tab for .tsv]
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,

    /// The CSV file has no header line (columns are named column_1, column_2, ...)
    #[arg(long)]
    pub no_header: bool,

    /// CSV quote character, or `none` to disable quoting
    #[arg(long, value_name = "CHAR", default_value = "\"")]
    pub quote: String,

    /// Extra strings read as missing, besides the empty field (comma-separated, repeatable)
    #[arg(long, value_name = "VALUES", value_delimiter = ',')]
    pub null_values: Vec<String>,

    /// Skip CSV lines starting with this character
    #[arg(long, value_name = "CHAR")]
    pub comment: Option<String>,

    /// Reject CSV lines longer than this many bytes
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_line_bytes: u64,

    /// Schema file (TOML) overriding inferred types and marking target/id/time/group columns
    #[arg(long, value_name = "FILE")]
    pub schema: Option<PathBuf>,

    /// The target column (overrides the schema file's `target`)
    #[arg(long, value_name = "COLUMN")]
    pub target: Option<String>,
}

fn one_char(arg: &str, value: &str) -> Result<u8> {
    let b = match value {
        "tab" | "\\t" => b'\t',
        v if v.len() == 1 && v.is_ascii() => v.as_bytes()[0],
        v => bail!("--{arg} must be a single ASCII character (or `tab`), got \"{v}\""),
    };
    Ok(b)
}

impl ReadArgs {
    pub fn load_options(&self) -> Result<LoadOptions> {
        let mut csv = CsvOptions::default();
        if let Some(d) = &self.delimiter {
            csv.delimiter = one_char("delimiter", d)?;
        }
        csv.has_header = !self.no_header;
        csv.quote = match self.quote.as_str() {
            "none" | "" => None,
            q => Some(one_char("quote", q)?),
        };
        csv.null_values = self.null_values.clone();
        csv.comment_prefix = self.comment.clone();
        csv.max_line_bytes = self.max_line_bytes;
        let mut opts = LoadOptions::default();
        opts.read.csv = csv;
        opts.read.format = self.format.map(Into::into);
        if let Some(path) = &self.schema {
            opts.schema = SchemaFile::from_path(path)?;
        }
        if let Some(t) = &self.target {
            opts.schema.target = Some(t.clone());
        }
        Ok(opts)
    }
}

/// Where a command records its run (`smelt train`, `cv`, `tune`, `ladder`).
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Tracking")]
pub struct TrackArgs {
    /// Experiment the run is recorded in (created if missing)
    #[arg(long, default_value = "Default", value_name = "NAME")]
    pub experiment: String,

    /// Name of the recorded run [default: generated]
    #[arg(long, value_name = "NAME")]
    pub run_name: Option<String>,

    /// Do not record the run (also: SMELT_NO_TRACK=1). Runs go to ./smelt-runs, or to
    /// SMELT_TRACKING_URI and SMELT_ARTIFACTS_DESTINATION
    #[arg(long)]
    pub no_track: bool,
}

impl TrackArgs {
    /// The run's tracker, unless tracking is off; a store that cannot be opened is a warning.
    pub fn open(&self) -> Option<smelt_track::tracker::Tracker> {
        if self.no_track || std::env::var_os("SMELT_NO_TRACK").is_some_and(|v| v != "0") {
            return None;
        }
        smelt_track::tracker::Tracker::open_project(".")
            .map_err(|e| eprintln!("warning: not recording this run: {e}"))
            .ok()
    }
}
