//! `smelt monitor watch`: live monitoring of `smelt serve`'s prediction logs, over
//! [`smelt_monitor::watch`]. The model comes from any source `smelt serve` takes; the reference
//! is its training profile unless `--reference` names a table.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use smelt_monitor::profile::{STAND_IN_CAP, table_from_profile};
use smelt_monitor::run::MonitorConfig;
use smelt_monitor::table::{ColumnRole, Table, TableOptions};
use smelt_monitor::watch::{
    self, Event, Hysteresis, LabelOptions, Summary, WatchOptions, WindowReport,
};
use smelt_monitor::window::Window;
use smelt_serve::source::Source;

use crate::Outcome;
use crate::args::TrackArgs;
use crate::serve::LogFormat;

#[derive(Args, Debug)]
pub struct WatchArgs {
    /// The prediction log folder (`smelt serve --log-dir DIR`)
    #[arg(long, value_name = "DIR")]
    pub logs: PathBuf,

    /// The served model: a model directory, models:/NAME@ALIAS, models:/NAME/VERSION,
    /// runs:/RUN_ID/PATH (its training profile is the reference)
    #[arg(long, value_name = "SOURCE")]
    pub model: String,

    /// The model's name in the logs (the `model=` folder) [default: the registered name, else
    /// the directory name, as `smelt serve` names it]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A reference table instead of the model's training profile (needed for models without
    /// one: imported XGBoost, LightGBM and ONNX models)
    #[arg(long, value_name = "TABLE")]
    pub reference: Option<PathBuf>,

    /// Windows: a period of the rows' time (30m, 1h, 1d; aligned on the epoch, UTC) or a
    /// number of rows (10000)
    #[arg(long, default_value = "1h", value_name = "PERIOD|ROWS")]
    pub window: String,

    /// Time between looks at the log folder
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    pub interval: String,

    /// How long after its end a period window waits for late files when no later row comes
    /// (more than the server's log.rotate_seconds if several servers share the folder)
    #[arg(long, default_value = "5m", value_name = "DURATION")]
    pub grace: String,

    /// Windows with fewer rows are skipped (reported, not tested)
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub min_rows: usize,

    /// Most rows a window keeps for its tests (a uniform sample beyond; counts stay exact)
    #[arg(long, default_value_t = 500_000, value_name = "N")]
    pub max_window_rows: usize,

    /// Labels for realized performance: a table, or a folder of tables, with the request id
    /// and the label (a `row` column too for requests of several rows); re-read as it grows
    #[arg(long, value_name = "PATH", requires = "label_column")]
    pub labels: Option<PathBuf>,

    /// The label column of --labels
    #[arg(long, value_name = "COLUMN", requires = "labels")]
    pub label_column: Option<String>,

    /// The request-id column of --labels
    #[arg(long, default_value = "request_id", value_name = "COLUMN")]
    pub label_id: String,

    /// Drift methods and thresholds ([drift]) and rules raising alerts ([[test]]), in TOML
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// POST alert changes (raised, cleared) as JSON to this URL
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Serve /metrics (Prometheus) and /healthz here [default: 127.0.0.1:9108; with --once,
    /// none]
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,

    /// Allow --listen on an address other machines can reach
    #[arg(long)]
    pub allow_remote: bool,

    /// Consecutive bad windows that raise an alert
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub raise_after: usize,

    /// Consecutive good windows that clear it
    #[arg(long, default_value_t = 2, value_name = "N")]
    pub clear_after: usize,

    /// Read what is there, evaluate every window (the last ones partial), print and exit: 1
    /// when an alert is active at the end
    #[arg(long)]
    pub once: bool,

    /// Print windows as JSON (with --once: one document at the end; otherwise a line per
    /// window)
    #[arg(long)]
    pub json: bool,

    /// Do not record the watch in the tracker (also: SMELT_NO_TRACK=1); runs go to the
    /// `monitoring` experiment of ./smelt-runs or SMELT_TRACKING_URI
    #[arg(long)]
    pub no_track: bool,

    /// Log format on standard error
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
}

/// `10s`, `5m`, `1h`, `0`, or plain seconds.
fn duration(text: &str, what: &str) -> Result<Duration> {
    let t = text.trim();
    if t.trim_end_matches(|c: char| c.is_ascii_alphabetic()) == "0" {
        return Ok(Duration::ZERO);
    }
    match Window::parse(t) {
        Ok(Window::Period(us)) => Ok(Duration::from_micros(us.unsigned_abs())),
        Ok(Window::Rows(secs)) => Ok(Duration::from_secs(secs as u64)),
        Err(_) => bail!("{what} `{text}`: give a duration such as 10s, 5m or 1h"),
    }
}

/// The reference: `--reference TABLE` (its model inputs and output columns), else the model's
/// training profile.
fn reference(args: &WatchArgs, loaded: &smelt_serve::source::Loaded) -> Result<Table> {
    if let Some(path) = &args.reference {
        let target = loaded.metadata["target"].as_str().map(str::to_string);
        let mut t = smelt_monitor::table::load_reference(path, &TableOptions::default())?;
        let inputs: Vec<&str> = loaded
            .predictor
            .input_features()
            .iter()
            .map(|f| f.name.as_str())
            .collect();
        t.columns.retain(|c| {
            inputs.contains(&c.name.as_str())
                || c.name == "prediction"
                || c.name.starts_with("proba_")
                || Some(&c.name) == target.as_ref()
        });
        for c in &mut t.columns {
            if c.name == "prediction" || c.name.starts_with("proba_") {
                c.role = ColumnRole::Prediction;
            } else if Some(&c.name) == target.as_ref() {
                c.role = ColumnRole::Target;
            }
        }
        if !t.columns.iter().any(|c| c.role == ColumnRole::Feature) {
            bail!(
                "{}: none of the model's inputs ({}) is a column of the reference",
                path.display(),
                inputs.join(", ")
            );
        }
        return Ok(t);
    }
    profile_reference(loaded)
}

/// The stand-in reference a model's training profile gives (an error with a hint when the model
/// has no profile).
pub(super) fn profile_reference(loaded: &smelt_serve::source::Loaded) -> Result<Table> {
    match loaded.metadata.get("profile").filter(|p| !p.is_null()) {
        Some(p) => {
            let profile: smelt_core::profile::ReferenceProfile = serde_json::from_value(p.clone())
                .with_context(|| format!("{}: the stored profile", loaded.resolved))?;
            Ok(table_from_profile(&profile, STAND_IN_CAP)?)
        }
        None => bail!(
            "{} has no training profile to compare the logs with (models imported from \
             XGBoost, LightGBM or ONNX, and models trained before profiles were stored, have \
             none)\n\nhint: pass --reference TABLE: the training data, or a period known to be good",
            loaded.resolved
        ),
    }
}

fn options(args: &WatchArgs) -> Result<WatchOptions> {
    let source = Source::parse(&args.model)?;
    let loaded = super::load_model(&args.model)?;
    let name = args.name.clone().unwrap_or_else(|| source.default_name());
    let mut o = WatchOptions::new(&args.logs, &name, reference(args, &loaded)?);
    if let smelt_core::Output::Classification { classes, .. } = loaded.predictor.output() {
        o.classes = Some(classes);
    }
    o.outcomes = super::model_outcomes(&loaded);
    if let Some(p) = &args.config {
        o.config = MonitorConfig::load(p)?;
        let names = watch::rule_metrics();
        let extra: Vec<&str> = names.iter().map(String::as_str).collect();
        o.rules = smelt_monitor::rules::load(p, &extra)?;
    }
    o.window = Window::parse(&args.window)?;
    o.interval = duration(&args.interval, "--interval")?;
    o.grace = duration(&args.grace, "--grace")?;
    o.min_rows = args.min_rows;
    o.max_window_rows = args.max_window_rows;
    o.labels = match (&args.labels, &args.label_column) {
        (Some(path), Some(col)) => Some(LabelOptions {
            path: path.clone(),
            id_column: args.label_id.clone(),
            label_column: col.clone(),
        }),
        _ => None,
    };
    o.webhook = args.webhook.clone();
    o.listen = match (args.listen, args.once) {
        (Some(a), _) => Some(a),
        (None, false) => Some(SocketAddr::from(([127, 0, 0, 1], 9108))),
        (None, true) => None,
    };
    o.allow_remote = args.allow_remote;
    o.hysteresis = Hysteresis {
        raise_after: args.raise_after.max(1),
        clear_after: args.clear_after.max(1),
    };
    o.once = args.once;
    o.source = loaded.resolved.clone();
    Ok(o)
}

fn pct(x: f64) -> String {
    format!("{:.0}%", x * 100.0)
}

/// One window in a few lines.
fn window_text(w: &WindowReport) -> String {
    let mut s = format!("{}  v{}  {} rows", w.window, w.version, w.rows);
    if w.partial {
        s.push_str(" (partial)");
    }
    if let Some(why) = &w.skipped {
        s.push_str(&format!("  skipped: {why}"));
        return s;
    }
    s.push_str(&format!(
        "  drift {}/{} features ({})",
        w.n_drifted,
        w.n_tested,
        pct(w.drift_share)
    ));
    if w.dataset_drifted {
        s.push_str("  DATASET DRIFT");
    }
    if w.prediction.as_ref().is_some_and(|p| p.drift.drifted) {
        s.push_str("  prediction drifted");
    }
    for (k, v) in &w.realized {
        if matches!(k.as_str(), "accuracy" | "roc_auc" | "mae" | "rmse") {
            s.push_str(&format!("  {k} {v:.4}"));
        }
    }
    for (k, v) in &w.estimated {
        if matches!(k.as_str(), "accuracy" | "roc_auc") {
            s.push_str(&format!("  estimated {k} {v:.4}"));
        }
    }
    if w.labelled_rows > 0 {
        s.push_str(&format!(" ({} labelled)", w.labelled_rows));
    }
    let drifted: Vec<String> = w
        .drifted()
        .iter()
        .map(|c| {
            let d = &c.drift;
            match d.p_value {
                Some(p) => format!("{} ({} p = {p:.2e} ≤ {})", d.column, d.method, d.threshold),
                None => format!(
                    "{} ({} {:.3} ≥ {})",
                    d.column,
                    d.method,
                    d.score.unwrap_or(f64::NAN),
                    d.threshold
                ),
            }
        })
        .collect();
    if !drifted.is_empty() {
        s.push_str(&format!("\n    drifted: {}", drifted.join(", ")));
    }
    for a in &w.alerts {
        let state = match a.state {
            watch::AlertState::Raised => "raised",
            watch::AlertState::Cleared => "cleared",
        };
        s.push_str(&format!(
            "\n    alert {state}: {} (value {:.4}, threshold {})",
            a.alert, a.value, a.threshold
        ));
    }
    s
}

fn summary_text(s: &Summary) -> Vec<String> {
    let st = &s.stats;
    let mut out = vec![format!(
        "{} windows evaluated, {} skipped; {} rows from {} files ({} unreadable, {} shadow rows left out, {} late)",
        st.windows,
        st.skipped_windows,
        st.rows,
        st.files,
        st.bad_files,
        st.shadow_rows,
        st.late_rows
    )];
    if st.labels > 0 {
        out.push(format!(
            "{} labels read, {} joined no logged row",
            st.labels, st.labels_unjoined
        ));
    }
    if s.active_alerts.is_empty() {
        out.push("no alert active".into());
    } else {
        for a in &s.active_alerts {
            out.push(format!(
                "ALERT v{} {} since {} (value {:.4}, threshold {})",
                a.version, a.alert, a.since, a.value, a.threshold
            ));
        }
    }
    out
}

pub fn run(args: WatchArgs) -> Result<Outcome> {
    crate::serve::init_logging(args.log_format);
    let opts = options(&args)?;
    let tracker = TrackArgs {
        experiment: watch::EXPERIMENT.into(),
        run_name: None,
        no_track: args.no_track,
    }
    .open()
    .map(|t| Box::new(t) as Box<dyn smelt_core::Tracker>);
    let stop = Arc::new(AtomicBool::new(false));
    if !args.once {
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("smelt-signal".into())
            .spawn(move || {
                if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    rt.block_on(smelt_serve::shutdown_signal());
                    flag.store(true, Ordering::Relaxed);
                }
            })
            .context("starting the signal handler")?;
    }
    let json = args.json;
    let once = args.once;
    let mut stdout = anstream::stdout();
    let mut failed_write = None;
    let summary = watch::run(opts, tracker, &stop, &mut |e| {
        let written = match e {
            Event::Window(w) if json && !once => match serde_json::to_string(w) {
                Ok(line) => writeln!(stdout, "{line}"),
                Err(e) => Err(std::io::Error::other(e)),
            },
            Event::Window(w) if !json => writeln!(stdout, "{}", window_text(w)),
            // The library logs why it waits.
            Event::Waiting(_) => Ok(()),
            Event::Listening(a) => {
                tracing::info!(address = %format!("http://{a}/metrics"), "gauges served");
                Ok(())
            }
            Event::Window(_) => Ok(()),
        };
        if let Err(e) = written
            && failed_write.is_none()
        {
            failed_write = Some(e);
        }
    })?;
    if let Some(e) = failed_write {
        return Err(e.into());
    }
    if json && once {
        writeln!(stdout, "{}", serde_json::to_string_pretty(&summary)?)?;
    } else if !json {
        writeln!(stdout)?;
        for line in summary_text(&summary) {
            writeln!(stdout, "{line}")?;
        }
    }
    Ok(if once && !summary.active_alerts.is_empty() {
        Outcome::Failed
    } else {
        Outcome::Success
    })
}
