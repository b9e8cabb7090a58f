//! What a watch reports: each window's findings, the session's counts, its summary, and the
//! events its caller hears of.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use serde::Serialize;

use super::alert::{ActiveAlert, AlertEvent};
use crate::drift::ColumnDrift;
use crate::rules::Outcome;

/// A monitored column in one window.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ColumnReport {
    /// Its drift against the reference.
    #[serde(flatten)]
    pub drift: ColumnDrift,
    /// Share of missing values in the window.
    pub missing_share: f64,
    /// Categorical columns: share of the window's values the reference never had.
    pub unseen_share: Option<f64>,
}

/// One evaluated (or skipped) window of one model version.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowReport {
    /// The model, as logged.
    pub model: String,
    /// The model version.
    pub version: String,
    /// The window's index among this version's windows in the session, from 0.
    pub index: u64,
    /// `2026-12-01 06:00` (periods) or `rows 1–5000`.
    pub window: String,
    /// Period windows: start (µs since 1970).
    pub start_us: Option<i64>,
    /// Period windows: end (µs since 1970).
    pub end_us: Option<i64>,
    /// Time of its earliest row (µs since 1970).
    pub first_us: Option<i64>,
    /// Time of its latest row (µs since 1970).
    pub last_us: Option<i64>,
    /// Rows in the window.
    pub rows: usize,
    /// Rows kept for the tests (fewer than `rows` past `max_window_rows`).
    pub kept_rows: usize,
    /// Evaluated before it was complete (`once`).
    pub partial: bool,
    /// Why the window was not evaluated (too few rows).
    pub skipped: Option<String>,
    /// Share of drifted features among those tested.
    pub drift_share: f64,
    /// Features drifted.
    pub n_drifted: usize,
    /// Features tested.
    pub n_tested: usize,
    /// Whether the share reached `[drift] share`.
    pub dataset_drifted: bool,
    /// The features.
    pub columns: Vec<ColumnReport>,
    /// The predictions.
    pub prediction: Option<ColumnReport>,
    /// A binary classifier's score (`proba_<class>`).
    pub score: Option<ColumnReport>,
    /// Realized metrics on the labelled rows (`accuracy`, `roc_auc`, `mae`, …).
    pub realized: BTreeMap<String, f64>,
    /// A binary classifier's metrics estimated without labels (CBPE: `roc_auc`, `accuracy`, …).
    pub estimated: BTreeMap<String, f64>,
    /// Rows with a label.
    pub labelled_rows: usize,
    /// The `[[test]]` rules' outcomes.
    pub rules: Vec<Outcome>,
    /// Alerts raised or cleared by this window.
    pub alerts: Vec<AlertEvent>,
    /// Alerts of this version active after this window.
    pub active_alerts: Vec<String>,
}

impl WindowReport {
    /// The drifted features, strongest first.
    pub fn drifted(&self) -> Vec<&ColumnReport> {
        let mut v: Vec<&ColumnReport> = self.columns.iter().filter(|c| c.drift.drifted).collect();
        let strength = |c: &ColumnReport| match c.drift.p_value {
            Some(p) => c.drift.threshold / p.max(1e-300),
            None => c.drift.score.unwrap_or(0.0) / c.drift.threshold.max(1e-300),
        };
        v.sort_by(|a, b| strength(b).total_cmp(&strength(a)));
        v
    }
}

/// Counts over a session.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Stats {
    /// Log files read.
    pub files: u64,
    /// Log files skipped as unreadable.
    pub bad_files: u64,
    /// Rows read (shadow rows left out).
    pub rows: u64,
    /// Shadow rows left out.
    pub shadow_rows: u64,
    /// Rows that came after their window was evaluated.
    pub late_rows: u64,
    /// Rows without a time (left out of period windows).
    pub untimed_rows: u64,
    /// Windows evaluated.
    pub windows: u64,
    /// Windows skipped (too few rows).
    pub skipped_windows: u64,
    /// Labels read.
    pub labels: usize,
    /// Labels that joined no logged row.
    pub labels_unjoined: usize,
    /// Rows in windows not evaluated yet.
    pub pending_rows: usize,
}

/// How a session ended.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    /// The windows evaluated (all of them with `once`; the loop reports them as they come and
    /// keeps none).
    pub windows: Vec<WindowReport>,
    /// Alerts active at the end.
    pub active_alerts: Vec<ActiveAlert>,
    /// Counts.
    pub stats: Stats,
}

/// What the watch tells its caller as it goes.
#[derive(Debug)]
pub enum Event<'a> {
    /// A window was evaluated (or skipped).
    Window(&'a WindowReport),
    /// Nothing to read yet, and why.
    Waiting(&'a str),
    /// The gauges are served here.
    Listening(SocketAddr),
}
