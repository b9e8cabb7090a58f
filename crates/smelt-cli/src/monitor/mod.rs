//! `smelt monitor report` and `smelt monitor test`: argument parsing and printing over
//! [`smelt_monitor::run`].

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use smelt_monitor::run::{MonitorConfig, RunOptions};
use smelt_monitor::table::TableOptions;
use smelt_monitor::window::Window;

use crate::Outcome;
use crate::args::ReadArgs;
use crate::style::head;

mod watch;

#[derive(Subcommand, Debug)]
pub enum MonitorCommand {
    /// Compare current data with the reference: drift per column, data quality, drift over time
    /// windows; an HTML report with a JSON twin. Exits with 1 when the dataset drifts or a
    /// check fails, so it can gate a pipeline.
    #[command(
        after_help = "Examples:\n  smelt monitor report --reference train.parquet --current today.parquet\n  smelt monitor report --reference train.csv --current logs.csv --target income --prediction prediction --time ts --window 1d --report out/monitor.html\n  smelt monitor report --reference ref.csv --current cur.csv --config monitor.toml --json"
    )]
    Report(ReportArgs),
    /// Check declared conditions (`[[test]]` in a TOML file: drift share < 0.3, missing share of
    /// `age` < 5 %, …); exits with 1 when one fails.
    #[command(
        after_help = "Examples:\n  smelt monitor test --reference ref.csv --current cur.csv --rules monitor.toml\n\nmonitor.toml:\n  [[test]]\n  metric = \"drift_share\"\n  lt = 0.3\n\n  [[test]]\n  metric = \"missing_share\"\n  column = \"age\"\n  lt = 0.05"
    )]
    Test(TestArgs),
    /// Watch `smelt serve`'s prediction logs live: drift per window against the model's training
    /// profile, realized performance once labels arrive, alerts (logged, posted to a webhook)
    /// that rise and clear with hysteresis, Prometheus gauges at /metrics, results in the
    /// tracker. With --once, evaluates what is there and exits with 1 when an alert is active.
    #[command(
        after_help = "Examples:\n  smelt monitor watch --logs preds/ --model out/model\n  smelt monitor watch --logs preds/ --model models:/churn@champion --window 1h --webhook http://alerts:9000/hook\n  smelt monitor watch --logs preds/ --model out/model --labels labels/ --label-column churned --config monitor.toml\n  smelt monitor watch --logs preds/ --model out/model --window 10000 --once --json"
    )]
    Watch(watch::WatchArgs),
}

#[derive(Args, Debug)]
pub struct Common {
    /// The reference table (the training data, or a period known to be good); default: the
    /// profile --model was trained with
    #[arg(long, value_name = "FILE")]
    pub reference: Option<PathBuf>,

    /// The current table (recent data, scored rows, a prediction log export)
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,

    /// The model's prediction column, monitored for prediction drift
    #[arg(long, value_name = "COLUMN")]
    pub prediction: Option<String>,

    /// A binary classifier's probability of the positive class (the target's second label):
    /// estimated performance (CBPE) without --model
    #[arg(long, value_name = "COLUMN")]
    pub score: Option<String>,

    /// A model (directory, models:/NAME@ALIAS, models:/NAME/VERSION, runs:/ID/PATH, .onnx) that
    /// scores both tables: prediction drift, realized and estimated performance
    #[arg(long, value_name = "MODEL")]
    pub model: Option<String>,

    /// Performance per value of this column of the current data (the 20 largest slices)
    #[arg(long, value_name = "COLUMN")]
    pub slice: Option<String>,

    /// Labels that arrived apart (a table or a folder of tables), joined to the current rows by
    /// request id (and `row`): realized performance and target drift
    #[arg(long, value_name = "PATH")]
    pub labels: Option<PathBuf>,

    /// The request-id column of the current data and of --labels
    #[arg(long, value_name = "COLUMN", default_value = "request_id")]
    pub label_id: String,

    /// The label column of --labels (default: the --target name)
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,

    /// The event-time column (for --window by period)
    #[arg(long, value_name = "COLUMN")]
    pub time: Option<String>,

    /// Cut the current data into windows: a period of the time column (1h, 1d, 1w) or a number of rows (5000)
    #[arg(long, value_name = "PERIOD|ROWS")]
    pub window: Option<String>,

    /// Columns not to monitor (comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Identifier columns (never monitored; comma-separated)
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub id: Vec<String>,

    /// Drift methods and thresholds per column, quality thresholds ([drift], [quality] in TOML)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub read: ReadArgs,
}

impl Common {
    /// Runs the monitoring: against `--reference`, else against the profile `--model` carries.
    fn run(&self) -> Result<smelt_monitor::run::Run> {
        let model = self.model.as_deref().map(load_model).transpose()?;
        let mut opts = self.options(model.as_ref())?;
        if let Some(reference) = &self.reference {
            return Ok(smelt_monitor::run::run(reference, &self.current, &opts)?);
        }
        let Some(m) = &model else {
            bail!(
                "no reference: give --reference TABLE (the training data, or a period known to be good), or --model with the model whose training profile to compare with"
            );
        };
        let stand_in = watch::profile_reference(m)?;
        // The profile's target is the label column unless --target names another.
        if opts.table.target.is_none() {
            opts.table.target = stand_in
                .columns
                .iter()
                .find(|c| c.role == smelt_monitor::table::ColumnRole::Target)
                .map(|c| c.name.clone());
        }
        Ok(smelt_monitor::run::run_on_profile(
            &stand_in,
            &self.current,
            &opts,
        )?)
    }

    fn options(&self, model: Option<&smelt_serve::source::Loaded>) -> Result<RunOptions> {
        let load = self.read.load_options()?;
        let read = load.read;
        let config = match &self.config {
            Some(p) => MonitorConfig::load(p)?,
            None => MonitorConfig::default(),
        };
        Ok(RunOptions {
            table: TableOptions {
                // `--target` (from the reading options): the label, monitored for target drift.
                target: load.schema.target.clone(),
                prediction: self.prediction.clone(),
                score: self.score.clone(),
                time: self.time.clone(),
                ignore: self.ignore.clone(),
                id: self.id.clone(),
                read,
            },
            config,
            window: self.window.as_deref().map(Window::parse).transpose()?,
            model: model.map(|m| m.predictor.clone()),
            model_outcomes: model.and_then(model_outcomes),
            slice: self.slice.clone(),
            labels: match &self.labels {
                None => None,
                Some(path) => {
                    let Some(column) = self
                        .label_column
                        .clone()
                        .or_else(|| load.schema.target.clone())
                    else {
                        bail!(
                            "--labels needs --target (the label's column in the reference) or --label-column"
                        );
                    };
                    Some(smelt_monitor::watch::LabelOptions {
                        path: path.clone(),
                        id_column: self.label_id.clone(),
                        label_column: column,
                    })
                }
            },
        })
    }
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub common: Common,

    /// Where the HTML report is written (a JSON twin goes next to it)
    #[arg(long, default_value = "monitor.html", value_name = "FILE")]
    pub report: PathBuf,

    /// Print the findings as JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TestArgs {
    #[command(flatten)]
    pub common: Common,

    /// The TOML file of `[[test]]` conditions
    #[arg(long, value_name = "FILE")]
    pub rules: PathBuf,

    /// Print the outcomes as JSON
    #[arg(long)]
    pub json: bool,
}

/// The held-out outcomes a trained classifier's profile carries (CBPE calibrates on them).
fn model_outcomes(m: &smelt_serve::source::Loaded) -> Option<smelt_core::profile::OutcomeSample> {
    let o = m.metadata.get("profile")?.get("outcomes")?;
    serde_json::from_value(o.clone()).ok()
}

/// Loads a model as `smelt serve` does (any source it takes), for scoring the tables.
fn load_model(text: &str) -> Result<smelt_serve::source::Loaded> {
    crate::model::open::load(text)
}

pub fn run(cmd: MonitorCommand) -> Result<Outcome> {
    match cmd {
        MonitorCommand::Report(args) => report(args),
        MonitorCommand::Test(args) => test(args),
        MonitorCommand::Watch(args) => watch::run(args),
    }
}

fn report(args: ReportArgs) -> Result<Outcome> {
    let out = args.common.run()?;
    let m = &out.monitoring;
    if let Some(dir) = args.report.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create `{}`", dir.display()))?;
    }
    let report = m.report(12);
    let json_path = report.write(&args.report)?;
    let mut stdout = anstream::stdout();
    if args.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&report.to_json())?
        )?;
    } else {
        for line in m.summary() {
            writeln!(stdout, "{line}")?;
        }
        let drifted: Vec<_> = m.drift.iter().filter(|d| d.drifted).take(10).collect();
        if !drifted.is_empty() {
            writeln!(stdout, "\n{}", head("Drifted columns"))?;
            for d in drifted {
                let detail = match d.p_value {
                    Some(p) => format!("p = {p:.3e} (≤ {})", d.threshold),
                    None => format!("{:.4} (≥ {})", d.score, d.threshold),
                };
                writeln!(stdout, "  {:<24} {:<15} {detail}", d.column, d.method)?;
            }
        }
        writeln!(
            stdout,
            "\nreport: {} (JSON: {})",
            args.report.display(),
            json_path.display()
        )?;
    }
    Ok(if m.failed() {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}

fn test(args: TestArgs) -> Result<Outcome> {
    let names = smelt_monitor::performance::measure_names();
    let extra: Vec<&str> = names.iter().map(String::as_str).collect();
    let rules = smelt_monitor::rules::load(&args.rules, &extra)?;
    let out = args.common.run()?;
    let outcomes =
        smelt_monitor::rules::evaluate(&rules, &out.monitoring, &out.monitoring.measures());
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    let mut stdout = anstream::stdout();
    if args.json {
        writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "passed": failed == 0,
                "tests": outcomes,
            }))?
        )?;
    } else {
        for o in &outcomes {
            writeln!(
                stdout,
                "{} {}",
                if o.passed { "PASS" } else { "FAIL" },
                o.message
            )?;
        }
        writeln!(
            stdout,
            "\n{} of {} tests passed",
            outcomes.len() - failed,
            outcomes.len()
        )?;
    }
    Ok(if failed == 0 {
        Outcome::Success
    } else {
        Outcome::Failed
    })
}
