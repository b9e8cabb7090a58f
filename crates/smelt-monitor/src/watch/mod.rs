//! Live monitoring over the prediction logs of `smelt serve --log-dir` (`smelt monitor watch`).
//!
//! # What is watched
//!
//! The Parquet files of one model under `DIR/model=<name>/version=*/date=*/part-*.parquet` (the
//! layout `smelt-serve`'s `predlog` module documents). Each file is read once, when it appears
//! (files are immutable once renamed into place; dotfiles and `.tmp` files being written are
//! left out); a file that cannot be read is skipped with a warning and tried again only if its
//! size changes. Columns are matched to the reference's by name (a feature logged as
//! `feature_<name>` because its name collides with a log column is found under that name);
//! rows of `protocol = "shadow"` — a challenger scoring in the shadow of the served version —
//! are not the served traffic and are left out (counted). Every model version is watched on
//! its own, against the same reference.
//!
//! The reference is usually the model's training profile turned into a stand-in table
//! ([`crate::profile::table_from_profile`]), or any table read with
//! [`crate::table::load_reference`].
//!
//! # Windows
//!
//! `--window 1h` cuts a version's rows by their `time` into tumbling periods aligned on the
//! Unix epoch (so `1d` windows are UTC days). A period window is evaluated once a row at or
//! after its end has been read, or once the clock has passed its end plus `grace` (when the
//! traffic pauses). Rows that arrive after their window was evaluated are counted as late and
//! left out: give `grace` more than the server's `log.rotate_seconds` when several servers
//! share the folder. `--window 10000` cuts consecutive rows (in file order) instead. A window
//! with fewer than `min_rows` rows is reported as skipped, neither drift nor an all-clear. A
//! window keeps at most `max_window_rows` rows for the tests (a uniform reservoir sample):
//! its row count stays exact, its shares and tests come from the sample. With `once`, what is
//! there is read, every window evaluated (the last ones even if incomplete, marked partial),
//! and the watch ends.
//!
//! Small windows are noisy: the normed Wasserstein distance of a clean window of `n` rows is of
//! order `1/√n`, so a window of a few hundred rows comes near Evidently's threshold of 0.1 by
//! chance alone. Prefer windows of a few thousand rows or more (`min_rows` only guards against
//! the smallest).
//!
//! # Per window
//!
//! Drift of every monitored column with [`crate::drift::drift_columns`] and the `[drift]`
//! settings (Evidently's choice of method and thresholds), the share of drifted features and
//! the dataset verdict, drift of the predictions (the `prediction` column; class labels for a
//! classifier) and of a binary classifier's score, each feature's missing share and (for
//! categories) the share of values the reference never had, and realized performance on the
//! rows whose label has arrived.
//!
//! # Labels
//!
//! `labels` names a table, or a folder of tables, with a request-id column and a label column,
//! read again whenever a file grows or appears. A label joins the logged row with the same
//! `request_id` and, for requests of several rows, the same `row` (the label table's `row`
//! column, from 0; without one, a label joins the request's first row, which is its only row
//! for single-row requests). A label joins rows of windows evaluated after it was read; labels
//! that have joined no logged row are counted and reported (`labels_unjoined`), never an error.
//!
//! # Alerts
//!
//! Every gauge with a threshold raises an alert ([`alert`]): `dataset_drift` (the drift share
//! at or above `[drift] share`), `feature_drift:<feature>` (the feature drifted),
//! `prediction_drift`, and `rule:<rule>` for each `[[test]]` rule of the configuration file
//! (`drift_share`, `drifted`, `missing_share`, `new_category_share`, … and `realized_accuracy`,
//! `realized_roc_auc`, `realized_mae`, … on the labelled rows, `prediction_drift_score`,
//! `labelled_rows`). An alert is raised after `raise_after` consecutive bad windows (default 1)
//! and cleared only after `clear_after` consecutive good ones (default 2), so it does not flap.
//! A change is logged (`tracing`: a warning when raised, info when cleared) and, with a
//! webhook, posted as JSON (`model`, `version`, `window`, `alert`, `state`: `raised` or
//! `cleared`, `value`, `threshold`, `time`) with a 5 s timeout and two retries; a failing
//! webhook is logged, never fatal.
//!
//! # Gauges
//!
//! With `listen`, `/metrics` (Prometheus' text format) and `/healthz` are served ([`metrics`]):
//! `smelt_feature_drift_score`, `smelt_feature_drift_p_value`, `smelt_feature_drifted`,
//! `smelt_missing_share`, `smelt_unseen_category_share` (labels `model`, `version`,
//! `feature`); `smelt_drift_share`, `smelt_dataset_drifted`, `smelt_prediction_drift_score`,
//! `smelt_prediction_drifted`, `smelt_window_rows`, `smelt_window_labelled_rows`,
//! `smelt_realized_<metric>` (`accuracy`, `roc_auc`, `f1`, `mae`, `rmse`, …),
//! `smelt_watch_last_window_timestamp_seconds` (labels `model`, `version`);
//! `smelt_alert_active` (`model`, `version`, `alert`); and the counters
//! `smelt_watch_rows_total`, `smelt_watch_files_total`, `smelt_watch_bad_files_total`,
//! `smelt_watch_shadow_rows_total`, `smelt_watch_late_rows_total` and the gauge
//! `smelt_watch_labels_unjoined`. A non-loopback address needs `allow_remote`.
//!
//! # Tracking
//!
//! With a tracker, each model version watched gets one run per session in the experiment
//! `monitoring` (tags `smelt.monitor.model`, `smelt.monitor.version`, `smelt.monitor.source`),
//! and each evaluated window logs, at step = the window's index, `rows`, `drift_share`,
//! `drifted_features`, `dataset_drift`, `prediction_drift_score`, `prediction_drifted`,
//! `drift.<feature>` (the feature's statistic or distance), `labelled_rows` and
//! `realized_<metric>`. Tracking failures are warnings.

pub mod alert;
mod buffer;
mod evaluate;
pub mod logs;
pub mod metrics;
mod results;
mod track;

use std::collections::{BTreeMap, HashSet};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use smelt_core::Tracker;

pub use crate::labels::LabelOptions;
pub use alert::{ActiveAlert, AlertEvent, AlertState, Hysteresis, Observation};
pub use metrics::WatchMetrics;
pub use results::{ColumnReport, Event, Stats, Summary, WindowReport};
pub use track::EXPERIMENT;

use crate::error::{MonitorError, Result};
use crate::rules::Rule;
use crate::run::MonitorConfig;
use crate::table::{ColumnRole, MISSING, Table, Values};
use crate::window::Window;
use buffer::Windows;
use logs::{Dict, Listing, LogReader, Slot};

/// What to watch and how.
#[derive(Clone, Debug)]
pub struct WatchOptions {
    /// The folder `smelt serve --log-dir` writes.
    pub logs: PathBuf,
    /// The model's name as logged (the `model=` partition).
    pub model: String,
    /// The reference the windows are compared with (features, and the prediction and score
    /// columns when it has them; a target column is not monitored here).
    pub reference: Table,
    /// A classifier's classes in the model's order (the `proba_<class>` columns, realized
    /// metrics); `None`: taken from the reference's categorical `prediction` column, if any.
    pub classes: Option<Vec<String>>,
    /// A binary classifier's held-out outcomes (its profile's): CBPE calibrates on them and
    /// estimates each window's performance without labels (`estimated_roc_auc`, …).
    pub outcomes: Option<smelt_core::profile::OutcomeSample>,
    /// `[drift]` (methods, thresholds, the dataset share) and `[quality]`.
    pub config: MonitorConfig,
    /// `[[test]]` rules checked on every window (each a possible alert).
    pub rules: Vec<Rule>,
    /// Windows by period of the rows' time, or by number of rows.
    pub window: Window,
    /// How long after a period window's end the clock closes it (default 5 minutes).
    pub grace: Duration,
    /// Time between looks at the folder (default 10 s).
    pub interval: Duration,
    /// Fewer rows than this and a window is skipped (default 100).
    pub min_rows: usize,
    /// Most rows a window keeps for its tests (a reservoir sample; default 500,000).
    pub max_window_rows: usize,
    /// Labels, joined by request id.
    pub labels: Option<LabelOptions>,
    /// A URL alert changes are posted to.
    pub webhook: Option<String>,
    /// Where `/metrics` and `/healthz` are served (none: no server).
    pub listen: Option<SocketAddr>,
    /// Allow `listen` beyond loopback.
    pub allow_remote: bool,
    /// When alerts are raised and cleared.
    pub hysteresis: Hysteresis,
    /// Read what is there, evaluate every window (the last ones partial), and stop.
    pub once: bool,
    /// What the reference and model came from (a tag of the tracker's runs).
    pub source: String,
}

impl WatchOptions {
    /// Defaults: windows of one hour, 5 minutes' grace, a look every 10 s, at least 100 rows a
    /// window, no labels, webhook or server, alerts after 1 bad window and cleared after 2 good.
    pub fn new(logs: impl Into<PathBuf>, model: &str, reference: Table) -> WatchOptions {
        WatchOptions {
            logs: logs.into(),
            model: model.to_string(),
            reference,
            classes: None,
            outcomes: None,
            config: MonitorConfig::default(),
            rules: Vec::new(),
            window: Window::Period(3_600_000_000),
            grace: Duration::from_secs(300),
            interval: Duration::from_secs(10),
            min_rows: 100,
            max_window_rows: 500_000,
            labels: None,
            webhook: None,
            listen: None,
            allow_remote: false,
            hysteresis: Hysteresis::default(),
            once: false,
            source: String::new(),
        }
    }
}

#[derive(Debug)]
struct VersionState {
    windows: Windows,
    next_index: u64,
}

/// The watcher's state; [`Watcher::poll`] does one round (testable without sleeping).
pub struct Watcher<'t> {
    opts: WatchOptions,
    reader: LogReader,
    slots: Vec<Slot>,
    ref_index: Vec<usize>,
    known: Vec<Option<Vec<bool>>>,
    classes: Option<Vec<String>>,
    cbpe: Option<crate::estimate::Cbpe>,
    versions: BTreeMap<String, VersionState>,
    labels: Option<crate::labels::Labels>,
    alerts: alert::Alerts,
    metrics: Arc<WatchMetrics>,
    runtime: Option<tokio::runtime::Runtime>,
    server: Option<(SocketAddr, tokio::sync::oneshot::Sender<()>)>,
    webhook: Option<alert::Webhook>,
    tracking: Option<track::Tracking<'t>>,
    stats: Stats,
    waiting: Option<String>,
    absent_said: HashSet<String>,
}

impl std::fmt::Debug for Watcher<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watcher")
            .field("logs", &self.opts.logs)
            .field("model", &self.opts.model)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

/// The metric names the watcher gives `[[test]]` rules besides the built-in ones
/// (`realized_<metric>`, `labelled_rows`, `prediction_drift_score`, `prediction_drifted`).
pub fn rule_metrics() -> Vec<String> {
    let mut names: Vec<String> = crate::estimate::BinaryMetric::ALL
        .iter()
        .map(|m| m.name())
        .chain(
            crate::estimate::RegressionMetric::ALL
                .iter()
                .map(|m| m.name()),
        )
        .flat_map(|n| [format!("realized_{n}"), format!("estimated_{n}")])
        .collect();
    names.sort();
    names.dedup();
    names.extend(
        [
            "labelled_rows",
            "prediction_drift_score",
            "prediction_drifted",
        ]
        .map(String::from),
    );
    names
}

impl<'t> Watcher<'t> {
    /// Checks the options, maps the reference's columns to the log's, starts the runtime for
    /// the webhook and the gauges' server when asked for.
    pub fn new(opts: WatchOptions, tracker: Option<&'t dyn Tracker>) -> Result<Watcher<'t>> {
        if matches!(opts.window, Window::Period(p) if p <= 0)
            || matches!(opts.window, Window::Rows(0))
        {
            return Err(MonitorError::Invalid(format!(
                "window {:?}: give a positive period or number of rows",
                opts.window
            )));
        }
        let reference = &opts.reference;
        let classes = opts.classes.clone().or_else(|| {
            reference
                .column("prediction")
                .and_then(|c| match &c.values {
                    Values::Categorical { labels, .. } => Some(labels.clone()),
                    Values::Numeric(_) => None,
                })
        });
        let proba: Vec<String> = classes
            .iter()
            .flatten()
            .map(|c| format!("proba_{c}"))
            .collect();
        let monitored: Vec<usize> = (0..reference.columns.len())
            .filter(|&i| reference.columns[i].role != ColumnRole::Target)
            .collect();
        if monitored.is_empty() {
            return Err(MonitorError::Schema(
                "the reference has no column to monitor".into(),
            ));
        }
        let features: Vec<&str> = monitored
            .iter()
            .map(|&i| &reference.columns[i])
            .filter(|c| c.role == ColumnRole::Feature)
            .map(|c| c.name.as_str())
            .collect();
        let mut feature_logs = logs::log_names(&features, &proba).into_iter();
        let mut slots = Vec::new();
        let mut known = Vec::new();
        for &i in &monitored {
            let c = &reference.columns[i];
            let log = match c.role {
                ColumnRole::Feature => feature_logs.next().unwrap_or_else(|| c.name.clone()),
                _ => c.name.clone(),
            };
            let (dict, k) = match &c.values {
                Values::Categorical { codes, labels } => {
                    let mut k = vec![false; labels.len()];
                    for &code in codes.iter().filter(|&&x| x != MISSING) {
                        if let Some(slot) = k.get_mut(code as usize) {
                            *slot = true;
                        }
                    }
                    (Some(Dict::new(labels)), Some(k))
                }
                Values::Numeric(_) => (None, None),
            };
            slots.push(Slot {
                name: c.name.clone(),
                log,
                dict,
            });
            known.push(k);
        }
        let names: Vec<String> = slots.iter().map(|s| s.name.clone()).collect();
        for name in opts.config.drift.columns.keys() {
            if !names.contains(name) {
                let hint = smelt_core::text::closest(name, &names)
                    .map(|c| format!("\n\nhint: did you mean `{c}`?"))
                    .unwrap_or_default();
                return Err(MonitorError::Invalid(format!(
                    "drift settings name column `{name}`, which is not monitored{hint}"
                )));
            }
        }
        let needs_runtime = opts.webhook.is_some() || opts.listen.is_some();
        let runtime = if needs_runtime {
            Some(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(1)
                    .thread_name("smelt-watch")
                    .enable_all()
                    .build()
                    .map_err(|e| MonitorError::Invalid(format!("starting the runtime: {e}")))?,
            )
        } else {
            None
        };
        let metrics = Arc::new(WatchMetrics::new());
        let (server, webhook) = match &runtime {
            Some(rt) => (
                opts.listen
                    .map(|a| metrics::serve(metrics.clone(), a, opts.allow_remote, rt.handle()))
                    .transpose()?,
                opts.webhook
                    .as_deref()
                    .map(|u| alert::Webhook::new(u, rt.handle().clone()))
                    .transpose()?,
            ),
            None => (None, None),
        };
        let tracking = tracker.map(|t| {
            let params = vec![
                ("window".to_string(), window_text(opts.window)),
                ("min_rows".to_string(), opts.min_rows.to_string()),
                ("logs".to_string(), opts.logs.display().to_string()),
                (
                    "drift_share".to_string(),
                    opts.config.drift.share.to_string(),
                ),
            ];
            track::Tracking::new(t, &opts.model, &opts.source, params)
        });
        // A binary classifier with held-out outcomes: its performance is estimated per window.
        let cbpe = match (&opts.outcomes, &classes) {
            (Some(o), Some(c)) if c.len() == 2 && &o.classes == c => {
                match crate::performance::fit_cbpe(&crate::performance::Outcomes::from_sample(o)) {
                    Ok(f) => Some(f),
                    Err(e) => {
                        tracing::warn!(error = %e, "performance will not be estimated");
                        None
                    }
                }
            }
            _ => None,
        };
        Ok(Watcher {
            reader: LogReader::new(&opts.logs, &opts.model),
            ref_index: monitored,
            known,
            classes,
            cbpe,
            versions: BTreeMap::new(),
            labels: opts.labels.clone().map(crate::labels::Labels::new),
            alerts: alert::Alerts::new(opts.hysteresis),
            metrics,
            runtime,
            server,
            webhook,
            tracking,
            stats: Stats::default(),
            waiting: None,
            absent_said: HashSet::new(),
            slots,
            opts,
        })
    }

    /// Where the gauges are served (the bound address, for `listen` on port 0).
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.server.as_ref().map(|s| s.0)
    }

    /// The gauges.
    pub fn metrics(&self) -> &WatchMetrics {
        &self.metrics
    }

    /// Why nothing was read yet, if nothing was (`the folder … does not exist`, `no logs for
    /// model …`, `no files under …`).
    pub fn waiting(&self) -> Option<&str> {
        self.waiting.as_deref()
    }

    /// Counts so far.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.late_rows = self.versions.values().map(|v| v.windows.late).sum();
        s.untimed_rows = self.versions.values().map(|v| v.windows.untimed).sum();
        s.pending_rows = self.versions.values().map(|v| v.windows.pending()).sum();
        if let Some(l) = &self.labels {
            s.labels = l.len();
            s.labels_unjoined = l.unjoined();
        }
        s
    }

    /// Alerts active now.
    pub fn active_alerts(&self) -> Vec<ActiveAlert> {
        self.alerts.active()
    }

    fn wait(&mut self, why: String) {
        if !self.opts.once && self.waiting.as_deref() != Some(why.as_str()) {
            tracing::info!("waiting for prediction logs: {why}");
        }
        self.waiting = Some(why);
    }

    /// One round: reads new labels and log files, then evaluates the windows that are complete
    /// at `now` (with `flush`, every window). Alerts, gauges and the tracker are updated; the
    /// windows are returned in order, version by version.
    pub fn poll(&mut self, now: SystemTime, flush: bool) -> Result<Vec<WindowReport>> {
        if let Some(l) = &mut self.labels {
            l.refresh();
        }
        let late_before: u64 = self.versions.values().map(|v| v.windows.late).sum();
        match self.reader.list() {
            Listing::NoDir => self.wait(format!(
                "the folder {} does not exist",
                self.opts.logs.display()
            )),
            Listing::NoModel(present) => {
                let msg = no_model_message(&self.opts.model, &self.opts.logs, &present);
                self.wait(msg);
            }
            Listing::Files(files) => {
                if files.is_empty() && self.stats.files == 0 {
                    self.wait(format!(
                        "no files under {}",
                        self.reader.model_dir().display()
                    ));
                }
                for (version, path) in files {
                    self.read(&version, &path);
                }
            }
        }
        // Labels seen only in logs join the reference's label list (its codes unchanged).
        for (slot, &ri) in self.slots.iter().zip(&self.ref_index) {
            if let (Some(dict), Values::Categorical { labels, .. }) =
                (&slot.dict, &mut self.opts.reference.columns[ri].values)
                && labels.len() != dict.labels.len()
            {
                labels.clone_from(&dict.labels);
            }
        }
        let (now_us, grace_us) = (
            micros(now),
            i64::try_from(self.opts.grace.as_micros()).unwrap_or(i64::MAX),
        );
        let mut closed = Vec::new();
        for (version, state) in &mut self.versions {
            for c in state.windows.take_closed(now_us, grace_us, flush) {
                closed.push((version.clone(), state.next_index, c));
                state.next_index += 1;
            }
        }
        let mut reports = Vec::with_capacity(closed.len());
        for (version, index, c) in closed {
            reports.push(self.evaluate(&version, index, c)?);
        }
        let late: u64 = self.versions.values().map(|v| v.windows.late).sum();
        let unjoined = self.labels.as_ref().map(crate::labels::Labels::unjoined);
        self.metrics
            .totals(&self.opts.model, late - late_before, unjoined);
        Ok(reports)
    }

    fn read(&mut self, version: &str, path: &std::path::Path) {
        let keys = self.labels.is_some();
        let Some(batch) = self.reader.read(version, path, &mut self.slots, keys) else {
            self.stats.bad_files += 1;
            self.metrics.bad_file(&self.opts.model);
            return;
        };
        self.waiting = None;
        self.stats.files += 1;
        self.stats.rows += batch.n as u64;
        self.stats.shadow_rows += batch.shadow as u64;
        self.metrics
            .file(&self.opts.model, version, batch.n, batch.shadow);
        for a in &batch.absent {
            if self.absent_said.insert(format!("{version}\u{0}{a}")) {
                tracing::warn!(
                    file = %path.display(),
                    column = %a,
                    "the prediction log has no column for this reference column; it counts as missing"
                );
            }
        }
        let (window, cap) = (self.opts.window, self.opts.max_window_rows);
        self.versions
            .entry(version.to_string())
            .or_insert_with(|| VersionState {
                windows: Windows::new(window, cap),
                next_index: 0,
            })
            .windows
            .add(&batch);
    }

    fn evaluate(
        &mut self,
        version: &str,
        index: u64,
        closed: buffer::Closed,
    ) -> Result<WindowReport> {
        let ctx = evaluate::Context {
            model: &self.opts.model,
            reference: &self.opts.reference,
            slots: &self.slots,
            ref_index: &self.ref_index,
            known: &self.known,
            classes: self.classes.as_deref(),
            cbpe: self.cbpe.as_ref(),
            drift: &self.opts.config.drift,
            rules: &self.opts.rules,
            min_rows: self.opts.min_rows,
        };
        let (mut report, obs) =
            evaluate::evaluate(&ctx, version, index, closed, self.labels.as_mut())?;
        if report.skipped.is_some() {
            self.stats.skipped_windows += 1;
        } else {
            self.stats.windows += 1;
        }
        report.alerts = self
            .alerts
            .observe(&self.opts.model, version, &report.window, &obs);
        for e in &report.alerts {
            alert::log(e);
            if let Some(w) = &mut self.webhook {
                w.send(e);
            }
        }
        let states = self.alerts.states(version);
        report.active_alerts = states
            .iter()
            .filter(|(_, active)| *active)
            .map(|(a, _)| a.clone())
            .collect();
        self.metrics.window(&report, &states);
        if let Some(t) = &mut self.tracking {
            t.log(&report);
        }
        Ok(report)
    }

    /// Ends the session: waits for webhook posts in flight, closes the tracker's runs and stops
    /// the gauges' server.
    pub fn finish(mut self, windows: Vec<WindowReport>) -> Summary {
        if let Some(w) = &mut self.webhook {
            w.wait();
        }
        if let Some(t) = self.tracking.take() {
            t.finish();
        }
        if let Some((_, stop)) = self.server.take() {
            let _ = stop.send(());
        }
        let summary = Summary {
            windows,
            active_alerts: self.alerts.active(),
            stats: self.stats(),
        };
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
        summary
    }
}

fn window_text(w: Window) -> String {
    match w {
        Window::Rows(n) => format!("{n} rows"),
        Window::Period(us) => format!("{}s", us / 1_000_000),
    }
}

/// The message for a model without logs: the models present, and the closest name.
fn no_model_message(model: &str, dir: &std::path::Path, present: &[String]) -> String {
    let mut msg = format!(
        "no logs for model `{model}` under {} (no folder model={})",
        dir.display(),
        logs::encode(model)
    );
    if present.is_empty() {
        msg.push_str("; no model has logs there yet");
    } else {
        msg.push_str(&format!("; models with logs: {}", present.join(", ")));
        if let Some(c) = smelt_core::text::closest(model, present) {
            msg.push_str(&format!("\n\nhint: did you mean `--name {c}`?"));
        }
    }
    msg
}

/// Runs a watch: with `once`, one round over what is there (an error when there are no logs
/// at all); otherwise rounds every `interval` until `stop` is set (Ctrl-C, SIGTERM: the caller
/// sets it). `on_event` hears of every window as it is evaluated.
pub fn run(
    opts: WatchOptions,
    tracker: Option<Box<dyn Tracker>>,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Summary> {
    let once = opts.once;
    let interval = opts.interval.max(Duration::from_millis(10));
    let mut w = Watcher::new(opts, tracker.as_deref())?;
    if let Some(a) = w.metrics_addr() {
        on_event(Event::Listening(a));
    }
    if once {
        let reports = w.poll(SystemTime::now(), true)?;
        if w.stats.files == 0
            && let Some(why) = w.waiting.clone()
        {
            w.finish(Vec::new());
            return Err(MonitorError::Logs(format!(
                "no prediction logs to watch: {why}"
            )));
        }
        for r in &reports {
            on_event(Event::Window(r));
        }
        return Ok(w.finish(reports));
    }
    let mut said: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let reports = match w.poll(SystemTime::now(), false) {
            Ok(r) => r,
            Err(e) => {
                w.finish(Vec::new());
                return Err(e);
            }
        };
        for r in &reports {
            on_event(Event::Window(r));
        }
        if w.waiting != said {
            said.clone_from(&w.waiting);
            if let Some(why) = &said {
                on_event(Event::Waiting(why));
            }
        }
        let until = Instant::now() + interval;
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep((until - Instant::now()).min(Duration::from_millis(100)));
        }
    }
    Ok(w.finish(Vec::new()))
}
