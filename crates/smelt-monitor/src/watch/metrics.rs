//! Prometheus gauges of the watcher and the small HTTP server (`/metrics`, `/healthz`) that
//! exposes them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::WindowReport;
use crate::error::{MonitorError, Result};
use crate::estimate::{BinaryMetric, RegressionMetric};

type FGauge = Gauge<f64, AtomicU64>;

/// Labels of a model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

/// Labels of a model version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct VersionLabels {
    model: String,
    version: String,
}

/// Labels of a feature of a model version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FeatureLabels {
    model: String,
    version: String,
    feature: String,
}

/// Labels of an alert of a model version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AlertLabels {
    model: String,
    version: String,
    alert: String,
}

/// Every gauge and counter of the watcher (prefix `smelt_`).
pub struct WatchMetrics {
    registry: Registry,
    feature_drift_score: Family<FeatureLabels, FGauge>,
    feature_drift_p_value: Family<FeatureLabels, FGauge>,
    feature_drifted: Family<FeatureLabels, FGauge>,
    missing_share: Family<FeatureLabels, FGauge>,
    unseen_category_share: Family<FeatureLabels, FGauge>,
    drift_share: Family<VersionLabels, FGauge>,
    dataset_drifted: Family<VersionLabels, FGauge>,
    prediction_drift_score: Family<VersionLabels, FGauge>,
    prediction_drifted: Family<VersionLabels, FGauge>,
    window_rows: Family<VersionLabels, FGauge>,
    window_labelled_rows: Family<VersionLabels, FGauge>,
    last_window: Family<VersionLabels, FGauge>,
    alert_active: Family<AlertLabels, FGauge>,
    realized: BTreeMap<&'static str, Family<VersionLabels, FGauge>>,
    estimated: BTreeMap<&'static str, Family<VersionLabels, FGauge>>,
    rows: Family<VersionLabels, Counter>,
    files: Family<ModelLabels, Counter>,
    bad_files: Family<ModelLabels, Counter>,
    shadow_rows: Family<ModelLabels, Counter>,
    late_rows: Family<ModelLabels, Counter>,
    labels_unjoined: Family<ModelLabels, FGauge>,
}

impl std::fmt::Debug for WatchMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WatchMetrics").finish_non_exhaustive()
    }
}

impl Default for WatchMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl WatchMetrics {
    /// Every family registered, none with values yet.
    pub fn new() -> WatchMetrics {
        let mut r = Registry::with_prefix("smelt");
        macro_rules! family {
            ($name:literal, $help:literal) => {{
                let f = Family::default();
                r.register($name, $help, f.clone());
                f
            }};
        }
        let feature_drift_score = family!(
            "feature_drift_score",
            "A feature's drift statistic or distance in the last window (the method's score)"
        );
        let feature_drift_p_value = family!(
            "feature_drift_p_value",
            "A feature's drift p-value in the last window (statistical tests only)"
        );
        let feature_drifted = family!(
            "feature_drifted",
            "1 when the feature drifted in the last window"
        );
        let missing_share = family!(
            "missing_share",
            "Share of missing values of a feature in the last window"
        );
        let unseen_category_share = family!(
            "unseen_category_share",
            "Share of a categorical feature's values in the last window that the reference lacks"
        );
        let drift_share = family!(
            "drift_share",
            "Share of drifted features in the last window"
        );
        let dataset_drifted = family!(
            "dataset_drifted",
            "1 when the drift share reached its threshold in the last window"
        );
        let prediction_drift_score = family!(
            "prediction_drift_score",
            "Drift statistic or distance of the predictions in the last window"
        );
        let prediction_drifted = family!(
            "prediction_drifted",
            "1 when the predictions drifted in the last window"
        );
        let window_rows = family!("window_rows", "Rows in the last evaluated window");
        let window_labelled_rows = family!(
            "window_labelled_rows",
            "Rows of the last evaluated window with a label"
        );
        let last_window = family!(
            "watch_last_window_timestamp_seconds",
            "End of the last evaluated window (its last row for windows by rows), Unix seconds"
        );
        let alert_active = family!("alert_active", "1 while the alert is raised");
        let mut realized = BTreeMap::new();
        let names: Vec<&'static str> = BinaryMetric::ALL
            .iter()
            .map(|m| m.name())
            .chain(RegressionMetric::ALL.iter().map(|m| m.name()))
            .collect();
        for name in names {
            if realized.contains_key(name) {
                continue;
            }
            let f = Family::<VersionLabels, FGauge>::default();
            r.register(
                format!("realized_{name}"),
                format!("Realized {name} on the labelled rows of the last window"),
                f.clone(),
            );
            realized.insert(name, f);
        }
        let mut estimated = BTreeMap::new();
        for m in BinaryMetric::ALL {
            let f = Family::<VersionLabels, FGauge>::default();
            r.register(
                format!("estimated_{}", m.name()),
                format!(
                    "{} of the last window estimated without labels (CBPE)",
                    m.display_name()
                ),
                f.clone(),
            );
            estimated.insert(m.name(), f);
        }
        let rows = family!("watch_rows", "Logged rows read (shadow rows left out)");
        let files = family!("watch_files", "Prediction log files read");
        let bad_files = family!(
            "watch_bad_files",
            "Prediction log files skipped as unreadable"
        );
        let shadow_rows = family!(
            "watch_shadow_rows",
            "Shadow (challenger) rows left out of monitoring"
        );
        let late_rows = family!(
            "watch_late_rows",
            "Rows that arrived after their window was evaluated (left out)"
        );
        let labels_unjoined = family!(
            "watch_labels_unjoined",
            "Labels read that no logged row has joined"
        );
        WatchMetrics {
            registry: r,
            feature_drift_score,
            feature_drift_p_value,
            feature_drifted,
            missing_share,
            unseen_category_share,
            drift_share,
            dataset_drifted,
            prediction_drift_score,
            prediction_drifted,
            window_rows,
            window_labelled_rows,
            last_window,
            alert_active,
            realized,
            estimated,
            rows,
            files,
            bad_files,
            shadow_rows,
            late_rows,
            labels_unjoined,
        }
    }

    /// The text exposition format (OpenMetrics).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }

    /// Sets the gauges of an evaluated window (a skipped window sets only its row count).
    pub(crate) fn window(&self, w: &WindowReport, alerts: &[(String, bool)]) {
        let v = VersionLabels {
            model: w.model.clone(),
            version: w.version.clone(),
        };
        let b = |x: bool| if x { 1.0 } else { 0.0 };
        self.window_rows.get_or_create(&v).set(w.rows as f64);
        for (alert, active) in alerts {
            self.alert_active
                .get_or_create(&AlertLabels {
                    model: w.model.clone(),
                    version: w.version.clone(),
                    alert: alert.clone(),
                })
                .set(b(*active));
        }
        if w.skipped.is_some() {
            return;
        }
        if let Some(t) = w.end_us.or(w.last_us) {
            self.last_window.get_or_create(&v).set(t as f64 / 1e6);
        }
        self.drift_share.get_or_create(&v).set(w.drift_share);
        self.dataset_drifted
            .get_or_create(&v)
            .set(b(w.dataset_drifted));
        for c in &w.columns {
            let f = FeatureLabels {
                model: w.model.clone(),
                version: w.version.clone(),
                feature: c.drift.column.clone(),
            };
            match c.drift.score {
                Some(s) => {
                    self.feature_drift_score.get_or_create(&f).set(s);
                }
                None => {
                    self.feature_drift_score.remove(&f);
                }
            }
            match c.drift.p_value {
                Some(p) => {
                    self.feature_drift_p_value.get_or_create(&f).set(p);
                }
                None => {
                    self.feature_drift_p_value.remove(&f);
                }
            }
            self.feature_drifted
                .get_or_create(&f)
                .set(b(c.drift.drifted));
            self.missing_share.get_or_create(&f).set(c.missing_share);
            if let Some(u) = c.unseen_share {
                self.unseen_category_share.get_or_create(&f).set(u);
            }
        }
        if let Some(p) = &w.prediction {
            if let Some(s) = p.drift.score {
                self.prediction_drift_score.get_or_create(&v).set(s);
            }
            self.prediction_drifted
                .get_or_create(&v)
                .set(b(p.drift.drifted));
        }
        self.window_labelled_rows
            .get_or_create(&v)
            .set(w.labelled_rows as f64);
        for (name, value) in &w.realized {
            if let Some(f) = self.realized.get(name.as_str()) {
                f.get_or_create(&v).set(*value);
            }
        }
        for (name, value) in &w.estimated {
            if let Some(f) = self.estimated.get(name.as_str()) {
                f.get_or_create(&v).set(*value);
            }
        }
    }

    /// Counts a file read: its rows (per version) and shadow rows.
    pub(crate) fn file(&self, model: &str, version: &str, rows: usize, shadow: usize) {
        let m = ModelLabels {
            model: model.to_string(),
        };
        self.files.get_or_create(&m).inc();
        self.shadow_rows.get_or_create(&m).inc_by(shadow as u64);
        self.rows
            .get_or_create(&VersionLabels {
                model: model.to_string(),
                version: version.to_string(),
            })
            .inc_by(rows as u64);
    }

    /// Counts a file skipped.
    pub(crate) fn bad_file(&self, model: &str) {
        self.bad_files
            .get_or_create(&ModelLabels {
                model: model.to_string(),
            })
            .inc();
    }

    /// Counts late rows and sets the unjoined labels.
    pub(crate) fn totals(&self, model: &str, late: u64, labels_unjoined: Option<usize>) {
        let m = ModelLabels {
            model: model.to_string(),
        };
        self.late_rows.get_or_create(&m).inc_by(late);
        if let Some(u) = labels_unjoined {
            self.labels_unjoined.get_or_create(&m).set(u as f64);
        }
    }
}

/// Whether an address is on this machine only.
pub fn is_loopback(addr: &SocketAddr) -> bool {
    addr.ip().is_loopback()
}

/// Binds `addr` and serves `/metrics` and `/healthz` on `handle` until `stop` fires. A
/// non-loopback address needs `allow_remote` (the gauges name the model's features).
pub(crate) fn serve(
    metrics: Arc<WatchMetrics>,
    addr: SocketAddr,
    allow_remote: bool,
    handle: &tokio::runtime::Handle,
) -> Result<(SocketAddr, tokio::sync::oneshot::Sender<()>)> {
    if !allow_remote && !is_loopback(&addr) {
        return Err(MonitorError::Invalid(format!(
            "--listen {addr} is reachable from other machines\n\nhint: listen on 127.0.0.1, or \
             pass --allow-remote to expose the gauges (they name the model's features)"
        )));
    }
    let listener = std::net::TcpListener::bind(addr).map_err(|e| {
        MonitorError::Invalid(format!(
            "cannot listen on {addr}: {e}\n\nhint: another watcher may use the port; pass \
             --listen 127.0.0.1:PORT (0 picks a free one)"
        ))
    })?;
    let local = listener
        .local_addr()
        .map_err(|e| MonitorError::Invalid(format!("listening on {addr}: {e}")))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| MonitorError::Invalid(format!("listening on {addr}: {e}")))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let _guard = handle.enter();
    let listener = tokio::net::TcpListener::from_std(listener)
        .map_err(|e| MonitorError::Invalid(format!("listening on {addr}: {e}")))?;
    let app = axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move || {
                let m = metrics.clone();
                async move {
                    (
                        [(
                            "content-type",
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        m.encode(),
                    )
                }
            }),
        )
        .route("/healthz", axum::routing::get(|| async { "ok\n" }));
    handle.spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = served {
            tracing::warn!(error = %e, "the metrics server stopped");
        }
    });
    Ok((local, tx))
}
