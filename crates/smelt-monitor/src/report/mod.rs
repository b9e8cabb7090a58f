//! The monitoring report: one self-contained HTML page and its JSON twin (smelt-eval's report
//! layer), built from a [`Monitoring`] result — the drift table sorted by strength, the
//! distributions of drifted columns, the data-quality checks, drift over time windows, and the
//! model's realized and estimated performance and multivariate drift (`performance.rs`).

mod performance;

use serde::Serialize;
use serde_json::json;
use smelt_eval::plot;
use smelt_eval::report::{
    Block, Cell, Report, Section, Stat, Table as ReportTable, fmt_count, fmt_number, fmt_percent,
};

use crate::performance::Tracked;
use crate::quality::QualityCheck;
use crate::table::{ColumnRole, MISSING, Values};

/// One column's drift, as the report shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct DriftRow {
    /// The column.
    pub column: String,
    /// `numeric` or `categorical`.
    pub kind: String,
    /// Feature, target or prediction.
    pub role: ColumnRole,
    /// The method (Evidently's name: `ks`, `wasserstein`, `jensenshannon`, …).
    pub method: String,
    /// The statistic or distance.
    pub score: f64,
    /// The p-value, for tests.
    pub p_value: Option<f64>,
    /// The threshold: drift when the p-value is at or below it (tests) or the score at or
    /// above it (distances).
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Why the column could not be tested, if it could not (no values on one side).
    pub skipped: Option<String>,
}

impl DriftRow {
    /// A column's drift as the report shows it.
    pub fn of(d: &crate::drift::ColumnDrift) -> DriftRow {
        DriftRow {
            column: d.column.clone(),
            kind: match d.kind {
                crate::drift::ColumnKind::Numerical => "numeric".into(),
                crate::drift::ColumnKind::Categorical => "categorical".into(),
            },
            role: ColumnRole::from(d.role),
            method: d.method.name().to_string(),
            score: d.score.unwrap_or(f64::NAN),
            p_value: d.p_value,
            threshold: d.threshold,
            drifted: d.drifted,
            skipped: d.cannot_test.clone(),
        }
    }

    /// How strong the drift is relative to its threshold (1 at the threshold, larger is
    /// stronger), for sorting.
    pub fn strength(&self) -> f64 {
        if self.skipped.is_some() {
            return f64::NEG_INFINITY;
        }
        match self.p_value {
            Some(p) => self.threshold / p.max(1e-300),
            None if self.threshold > 0.0 => self.score / self.threshold,
            None => self.score,
        }
    }
}

/// Drift in one time window of the current data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct WindowRow {
    /// The window (`2026-12-01`, or `rows 1–1000`).
    pub key: String,
    /// Rows in it.
    pub rows: usize,
    /// Columns drifted in it.
    pub n_drifted: usize,
    /// Columns tested in it.
    pub n_columns: usize,
    /// Their share.
    pub share: f64,
    /// Whether the window drifted as a whole.
    pub drifted: bool,
    /// Why its row count is anomalous (time windows), if it is.
    pub volume_anomaly: Option<String>,
}

/// Everything one monitoring run found.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Monitoring {
    /// The reference file and its rows.
    pub reference: (String, usize),
    /// The current file and its rows.
    pub current: (String, usize),
    /// Drift per column, strongest first.
    pub drift: Vec<DriftRow>,
    /// Share of drifted columns above which the dataset drifted.
    pub share_threshold: f64,
    /// Data-quality checks.
    pub quality: Vec<QualityCheck>,
    /// Drift per time window, when the current data has a time column.
    pub windows: Vec<WindowRow>,
    /// Realized and estimated performance (empty without a model's outputs).
    pub performance: Vec<Tracked>,
    /// Multivariate drift scores.
    pub multivariate: Vec<Tracked>,
    /// Performance per slice: the slice column and the metrics, each slice one of their
    /// windows.
    pub by_slice: Option<(String, Vec<Tracked>)>,
    /// What was not computed, and why.
    pub notes: Vec<String>,
    /// The values behind the distribution plots of drifted columns (not in the JSON).
    #[serde(skip)]
    pub plots: Vec<PlotData>,
}

/// Values kept for one column's distribution plot: an evenly spaced sample of numbers, or the
/// category shares.
#[derive(Clone, Debug, PartialEq)]
pub enum PlotData {
    /// Numbers (at most [`PLOT_VALUES`] a side).
    Numeric {
        /// The column.
        column: String,
        /// Reference values.
        reference: Vec<f64>,
        /// Current values.
        current: Vec<f64>,
    },
    /// Category shares among present values.
    Categorical {
        /// The column.
        column: String,
        /// The categories.
        labels: Vec<String>,
        /// Reference shares.
        reference: Vec<f64>,
        /// Current shares.
        current: Vec<f64>,
    },
}

/// Numbers kept a side for a distribution plot.
pub const PLOT_VALUES: usize = 100_000;

impl PlotData {
    /// The column it is about.
    pub fn column(&self) -> &str {
        match self {
            PlotData::Numeric { column, .. } | PlotData::Categorical { column, .. } => column,
        }
    }

    /// What a column's plot needs, from its reference and current values (`None` when their
    /// kinds differ).
    pub fn of(reference: &Values, current: &Values, column: &str) -> Option<PlotData> {
        let sample = |v: &[f64]| -> Vec<f64> {
            let step = v.len().div_ceil(PLOT_VALUES).max(1);
            v.iter()
                .step_by(step)
                .copied()
                .filter(|x| !x.is_nan())
                .collect()
        };
        match (reference, current) {
            (Values::Numeric(r), Values::Numeric(c)) => Some(PlotData::Numeric {
                column: column.to_string(),
                reference: sample(r),
                current: sample(c),
            }),
            (Values::Categorical { codes: r, labels }, Values::Categorical { codes: c, .. }) => {
                let shares = |codes: &[u32]| -> Vec<f64> {
                    let mut n = vec![0.0; labels.len()];
                    let mut total = 0.0;
                    for &k in codes.iter().filter(|&&k| k != MISSING) {
                        if let Some(x) = n.get_mut(k as usize) {
                            *x += 1.0;
                            total += 1.0;
                        }
                    }
                    n.iter()
                        .map(|x| if total > 0.0 { x / total } else { 0.0 })
                        .collect()
                };
                Some(PlotData::Categorical {
                    column: column.to_string(),
                    labels: labels.clone(),
                    reference: shares(r),
                    current: shares(c),
                })
            }
            _ => None,
        }
    }
}

impl Monitoring {
    /// Columns tested (not skipped).
    pub fn n_tested(&self) -> usize {
        self.drift.iter().filter(|d| d.skipped.is_none()).count()
    }

    /// Columns drifted.
    pub fn n_drifted(&self) -> usize {
        self.drift.iter().filter(|d| d.drifted).count()
    }

    /// Share of drifted columns among the tested features (target and prediction drift are
    /// reported on their own).
    pub fn share(&self) -> f64 {
        let feats: Vec<&DriftRow> = self
            .drift
            .iter()
            .filter(|d| d.role == ColumnRole::Feature && d.skipped.is_none())
            .collect();
        if feats.is_empty() {
            return 0.0;
        }
        feats.iter().filter(|d| d.drifted).count() as f64 / feats.len() as f64
    }

    /// Whether the dataset drifted (the share of drifted features at or above the threshold).
    pub fn dataset_drifted(&self) -> bool {
        self.n_tested() > 0 && self.share() >= self.share_threshold
    }

    /// Failed quality checks.
    pub fn failed_checks(&self) -> Vec<&QualityCheck> {
        self.quality.iter().filter(|q| q.failed).collect()
    }

    /// Performance and multivariate scores whose value on the whole current data left their
    /// thresholds.
    pub fn alerts(&self) -> Vec<&Tracked> {
        self.performance
            .iter()
            .chain(&self.multivariate)
            .filter(|t| t.current.alert)
            .collect()
    }

    /// The performance and multivariate values on the whole current data by rule name
    /// (`estimated_roc_auc`, `realized_mae`, `reconstruction_error`), for `[[test]]` rules.
    pub fn measures(&self) -> std::collections::BTreeMap<String, f64> {
        self.performance
            .iter()
            .chain(&self.multivariate)
            .filter_map(|t| t.current.value.map(|v| (t.measure_name(), v)))
            .collect()
    }

    /// Whether anything failed (what makes `smelt monitor report` exit with 1).
    pub fn failed(&self) -> bool {
        self.dataset_drifted()
            || !self.failed_checks().is_empty()
            || !self.alerts().is_empty()
            || self
                .drift
                .iter()
                .any(|d| d.drifted && d.role != ColumnRole::Feature)
    }

    /// Plain-language findings, most important first.
    pub fn summary(&self) -> Vec<String> {
        let mut s = Vec::new();
        let feats = self
            .drift
            .iter()
            .filter(|d| d.role == ColumnRole::Feature && d.skipped.is_none())
            .count();
        let drifted: Vec<&str> = self
            .drift
            .iter()
            .filter(|d| d.role == ColumnRole::Feature && d.drifted)
            .map(|d| d.column.as_str())
            .collect();
        s.push(format!(
            "{}: {} of {} columns drifted ({}; the dataset drifts at {}){}.",
            if self.dataset_drifted() {
                "Dataset drift"
            } else {
                "No dataset drift"
            },
            drifted.len(),
            fmt_count(feats),
            fmt_percent(self.share()),
            fmt_percent(self.share_threshold),
            if drifted.is_empty() {
                String::new()
            } else {
                format!(
                    ": {}{}",
                    drifted[..drifted.len().min(6)].join(", "),
                    if drifted.len() > 6 { ", …" } else { "" }
                )
            }
        ));
        for role in [ColumnRole::Target, ColumnRole::Prediction] {
            if let Some(d) = self.drift.iter().find(|d| d.role == role) {
                let what = if role == ColumnRole::Target {
                    "Target"
                } else {
                    "Prediction"
                };
                s.push(format!(
                    "{what} `{}` {} ({} {}).",
                    d.column,
                    if d.drifted {
                        "drifted"
                    } else {
                        "did not drift"
                    },
                    d.method,
                    describe_score(d)
                ));
            }
        }
        let failed = self.failed_checks();
        if failed.is_empty() {
            s.push(format!(
                "Data quality: all {} checks passed.",
                fmt_count(self.quality.len())
            ));
        } else {
            s.push(format!(
                "Data quality: {} of {} checks failed — {}{}.",
                failed.len(),
                fmt_count(self.quality.len()),
                failed
                    .iter()
                    .take(3)
                    .map(|q| match &q.column {
                        Some(c) => format!("`{c}`: {}", q.message),
                        None => q.message.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                if failed.len() > 3 { "; …" } else { "" }
            ));
        }
        if !self.windows.is_empty() {
            let bad = self.windows.iter().filter(|w| w.drifted).count();
            s.push(format!(
                "{} of {} time windows drifted.",
                bad,
                self.windows.len()
            ));
        }
        s.extend(performance::summary(&self.performance, &self.multivariate));
        s.extend(self.notes.iter().cloned());
        s
    }

    /// The report (at most `max_plots` distribution plots, of the most drifted columns).
    pub fn report(&self, max_plots: usize) -> Report {
        let mut r = Report::new("Drift and data quality");
        r.kind = "Monitoring report".into();
        r.subtitle = Some(format!("{} against {}", self.current.0, self.reference.0));
        r.meta = vec![
            (
                "Reference".into(),
                format!(
                    "{} ({} rows)",
                    self.reference.0,
                    fmt_count(self.reference.1)
                ),
            ),
            (
                "Current".into(),
                format!("{} ({} rows)", self.current.0, fmt_count(self.current.1)),
            ),
            ("Columns tested".into(), fmt_count(self.n_tested())),
        ];
        r.summary = self.summary();
        r.sections.push(Section::new(
            "Overview",
            vec![Block::Stats(vec![
                Stat {
                    label: "Drifted columns".into(),
                    value: Cell::count(self.n_drifted()),
                    detail: Some(format!("of {}", fmt_count(self.n_tested()))),
                },
                Stat {
                    label: "Drift share".into(),
                    value: Cell::percent(self.share()),
                    detail: Some(format!(
                        "dataset drifts at {}",
                        fmt_percent(self.share_threshold)
                    )),
                },
                Stat {
                    label: "Failed quality checks".into(),
                    value: Cell::count(self.failed_checks().len()),
                    detail: Some(format!("of {}", fmt_count(self.quality.len()))),
                },
            ])],
        ));
        r.sections.push(Section::new(
            "Drift",
            vec![Block::Table(self.drift_table())],
        ));
        let plots = self.plot_blocks(max_plots);
        if !plots.is_empty() {
            r.sections
                .push(Section::new("Distributions of drifted columns", plots));
        }
        r.sections.push(Section::new(
            "Data quality",
            vec![Block::Table(self.quality_table())],
        ));
        if !self.windows.is_empty() {
            r.sections
                .push(Section::new("Drift over time", self.window_blocks()));
        }
        if !self.performance.is_empty() {
            r.sections.push(Section::new(
                "Model performance",
                performance::blocks(&self.performance),
            ));
        }
        if let Some((column, tracked)) = &self.by_slice {
            r.sections.push(Section::new(
                format!("Performance by {column}"),
                performance::slice_blocks(column, tracked),
            ));
        }
        if !self.multivariate.is_empty() {
            r.sections.push(Section::new(
                "Multivariate drift",
                performance::blocks(&self.multivariate),
            ));
        }
        r.data = json!({
            "dataset_drift": self.dataset_drifted(),
            "drift_share": self.share(),
            "share_threshold": self.share_threshold,
            "failed": self.failed(),
            "drift": self.drift,
            "quality": self.quality,
            "windows": self.windows,
            "performance": self.performance,
            "multivariate": self.multivariate,
            "by_slice": self.by_slice,
            "notes": self.notes,
        });
        r
    }

    fn drift_table(&self) -> ReportTable {
        let mut t = ReportTable::new([
            "Column",
            "Type",
            "Role",
            "Method",
            "Score",
            "p-value",
            "Threshold",
            "Drift",
        ]);
        for (i, d) in self.drift.iter().enumerate() {
            t.push_row(vec![
                Cell::text(&d.column),
                Cell::text(&d.kind),
                Cell::text(match d.role {
                    ColumnRole::Feature => "feature",
                    ColumnRole::Target => "target",
                    ColumnRole::Prediction => "prediction",
                }),
                Cell::text(&d.method),
                if d.skipped.is_some() {
                    Cell::text("—")
                } else {
                    Cell::number(d.score)
                },
                match d.p_value {
                    Some(p) => Cell::number(p),
                    None => Cell::text("—"),
                },
                Cell::number(d.threshold),
                Cell::text(match (&d.skipped, d.drifted) {
                    (Some(why), _) => format!("not tested: {why}"),
                    (None, true) => "drifted".into(),
                    (None, false) => "no".into(),
                }),
            ]);
            if d.drifted {
                t.flagged.push(i);
            }
        }
        t.with_caption(
            "Sorted by strength: drifted columns first. Tests (ks, chisquare, z, …) drift when the p-value is at or below the threshold; distances (wasserstein, jensenshannon, psi, …) when the score is at or above it.",
        )
    }

    fn quality_table(&self) -> ReportTable {
        let mut t = ReportTable::new([
            "Check",
            "Column",
            "Reference",
            "Current",
            "Result",
            "Detail",
        ]);
        let mut rows: Vec<&QualityCheck> = self.quality.iter().collect();
        rows.sort_by_key(|q| !q.failed);
        for (i, q) in rows.iter().enumerate() {
            let num = |v: Option<f64>| match (v, q.check) {
                (None, _) => Cell::text("—"),
                (Some(x), "constant_column" | "window_volume") => Cell::count(x as usize),
                (Some(x), _) => Cell::percent(x),
            };
            t.push_row(vec![
                Cell::text(q.check.replace('_', " ")),
                Cell::text(q.column.clone().unwrap_or_else(|| "(all)".into())),
                num(q.reference),
                num(q.current),
                Cell::text(if q.failed { "failed" } else { "passed" }),
                Cell::text(&q.message),
            ]);
            if q.failed {
                t.flagged.push(i);
            }
        }
        t
    }

    fn window_blocks(&self) -> Vec<Block> {
        let keys: Vec<&str> = self.windows.iter().map(|w| w.key.as_str()).collect();
        let shares: Vec<f64> = self.windows.iter().map(|w| w.share).collect();
        let alerts: Vec<bool> = self.windows.iter().map(|w| w.drifted).collect();
        let mut blocks = Vec::new();
        if let Ok(p) = plot::window_series(
            "Share of drifted columns by window",
            &keys,
            &shares,
            &[],
            &[],
            &[self.share_threshold],
            &alerts,
            "Drift share",
        ) {
            blocks.push(Block::plot(p, json!({"windows": keys, "share": shares})));
        }
        let mut t = ReportTable::new([
            "Window",
            "Rows",
            "Drifted columns",
            "Share",
            "Drift",
            "Volume",
        ]);
        for (i, w) in self.windows.iter().enumerate() {
            t.push_row(vec![
                Cell::text(&w.key),
                Cell::count(w.rows),
                Cell::text(format!("{} of {}", w.n_drifted, w.n_columns)),
                Cell::percent(w.share),
                Cell::text(if w.drifted { "drifted" } else { "no" }),
                Cell::text(w.volume_anomaly.as_deref().unwrap_or("usual")),
            ]);
            if w.drifted || w.volume_anomaly.is_some() {
                t.flagged.push(i);
            }
        }
        blocks.push(Block::Table(t));
        blocks
    }

    fn plot_blocks(&self, max_plots: usize) -> Vec<Block> {
        let mut out = Vec::new();
        for d in self.drift.iter().filter(|d| d.drifted).take(max_plots) {
            let Some(data) = self.plots.iter().find(|p| p.column() == d.column) else {
                continue;
            };
            let plot = match data {
                PlotData::Numeric {
                    column,
                    reference,
                    current,
                } => plot::distribution_overlay(column, reference, current)
                    .ok()
                    .map(|p| (p, json!({"column": column, "kind": "numeric"}))),
                PlotData::Categorical {
                    column,
                    labels,
                    reference,
                    current,
                } => plot::category_shares(column, labels, reference, current, 12)
                    .ok()
                    .map(|p| {
                        (
                            p,
                            json!({"column": column, "labels": labels, "reference": reference, "current": current}),
                        )
                    }),
            };
            if let Some((p, data)) = plot {
                out.push(Block::plot(p, data));
            }
        }
        out
    }
}

fn describe_score(d: &DriftRow) -> String {
    match d.p_value {
        Some(p) => format!(
            "p = {}, threshold {}",
            fmt_number(p),
            fmt_number(d.threshold)
        ),
        None => format!(
            "{} against {}",
            fmt_number(d.score),
            fmt_number(d.threshold)
        ),
    }
}
