//! `smelt data`: inspect, validate, split and window tables.

mod inspect;
mod split;
mod validate;
mod window;

use anyhow::Result;
use clap::Subcommand;

use crate::Outcome;

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Show a table's schema, size, missing values, summary statistics, top categories and
    /// fingerprint.
    ///
    /// Types are inferred (numeric, integer, boolean, categorical, datetime, text) and can be
    /// overridden with `--schema FILE`. Files over 2 GB are streamed in batches, so a file larger
    /// than memory can be inspected; `--streaming` forces that.
    #[command(
        after_help = "Examples:\n  smelt data inspect data/adult.csv\n  smelt data inspect data/adult.parquet --json | jq .fingerprint"
    )]
    Inspect(inspect::InspectArgs),
    /// Check a table against validation rules (TOML); exits with 1 if any rule is broken.
    ///
    /// Every violation is reported with its column, a count and the first offending rows
    /// (1-based data rows, not counting the header). See README.md for the rules format.
    #[command(
        after_help = "Example:\n  smelt data validate data/adult.csv --rules examples/adult.rules.toml"
    )]
    Validate(validate::ValidateArgs),
    /// Split a table into train/test (and optionally validation) files, seeded and leakage-safe.
    ///
    /// Strategies: `random`; `stratified` (class proportions kept, by --target); `group` (no group
    /// on both sides, by --group); `temporal` (every train row strictly before every test row,
    /// by --time, with an optional --gap). The output directory appears whole or not at all, with
    /// a `split.json` recording the parameters and the fingerprints of the source and each part.
    #[command(
        after_help = "Examples:\n  smelt data split data/adult.csv --strategy stratified --target income --out splits/adult\n  smelt data split data/nyc_weather.csv --strategy temporal --time time_hour --gap 1d --out splits/weather"
    )]
    Split(split::SplitArgs),
    /// Turn a time series into forecasting windows: one row per target step, the past as lag
    /// columns (`{col}_lag1` = the latest value before the target), for `lstm`, `gru` and
    /// `seasonal_naive`.
    ///
    /// Rows are sorted by the time column (duplicate times are an error); each output row
    /// holds the target's and every covariate's last L values, the known covariates at the
    /// target step, the target and its time. Missing values inside a window stay missing. A
    /// series shorter than lags + horizon rows is an error.
    #[command(
        after_help = "Examples:\n  smelt data window data/air_passengers.csv --target passengers --lags 24 --out air24.parquet\n  smelt train air24.parquet --target passengers --model lstm --out lstm-air\n  smelt data window elec_demand.csv --target demand --lags 48 --covariates temperature --known work_day --out elec48.parquet"
    )]
    Window(window::WindowArgs),
}

pub fn run(cmd: DataCommand) -> Result<Outcome> {
    match cmd {
        DataCommand::Inspect(a) => inspect::run(a),
        DataCommand::Validate(a) => validate::run(a),
        DataCommand::Split(a) => split::run(a),
        DataCommand::Window(a) => window::run(a),
    }
}
