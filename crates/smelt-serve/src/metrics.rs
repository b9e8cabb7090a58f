//! Prometheus metrics at `/metrics`: requests by model, version, protocol and status; latency
//! and batch-size histograms; queue depth; model load time.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of a model version.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    /// Model name.
    pub model: String,
    /// Version.
    pub version: String,
}

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// Model name (`-` when the request named none that exists).
    pub model: String,
    /// Version.
    pub version: String,
    /// `oip`, `mlflow`, `predict`.
    pub protocol: String,
    /// HTTP status.
    pub code: u16,
}

/// Every metric the server keeps.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<VersionLabels, Histogram>,
    batch_rows: Family<VersionLabels, Histogram>,
    queue_depth: Family<VersionLabels, Gauge>,
    load_seconds: Family<VersionLabels, Gauge<f64, AtomicU64>>,
    rows: Family<VersionLabels, Counter>,
    shadow_rows: Family<VersionLabels, Counter>,
    shadow_agreeing: Family<VersionLabels, Counter>,
    shadow_difference: Family<VersionLabels, Counter<f64, AtomicU64>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

/// The handles of one model version, resolved once so the hot path does no label lookups.
#[derive(Clone, Debug)]
pub struct VersionMetrics {
    /// Request latency (seconds, decode to encode).
    pub latency: Histogram,
    /// Rows per batch the model scored.
    pub batch_rows: Histogram,
    /// Jobs waiting in the batcher's queue (set on scrape).
    pub queue_depth: Gauge,
    /// Rows scored.
    pub rows: Counter,
    /// Answered 200, by protocol (`oip`, `mlflow`, `predict`): the common case, counted without a
    /// label lookup.
    pub ok: [Counter; 4],
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry with every family registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("smelt");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<VersionLabels, Histogram>::new_with_constructor(|| {
            // 20 µs … ~5 s.
            Histogram::new(exponential_buckets(20e-6, 2.0, 19))
        });
        let batch_rows = Family::<VersionLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(1.0, 2.0, 14))
        });
        let queue_depth = Family::<VersionLabels, Gauge>::default();
        let load_seconds = Family::<VersionLabels, Gauge<f64, AtomicU64>>::default();
        let rows = Family::<VersionLabels, Counter>::default();
        registry.register(
            "requests",
            "Requests by model, version, protocol and HTTP status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to its answer, per model version",
            latency.clone(),
        );
        registry.register(
            "batch_rows",
            "Rows per batch scored by a model version (dynamic batching)",
            batch_rows.clone(),
        );
        registry.register(
            "queue_depth",
            "Requests waiting in a model version's batch queue",
            queue_depth.clone(),
        );
        registry.register(
            "model_load_seconds",
            "Time taken to load a model version",
            load_seconds.clone(),
        );
        registry.register("rows", "Rows scored per model version", rows.clone());
        let shadow_rows = Family::<VersionLabels, Counter>::default();
        let shadow_agreeing = Family::<VersionLabels, Counter>::default();
        let shadow_difference = Family::<VersionLabels, Counter<f64, AtomicU64>>::default();
        registry.register(
            "shadow_rows",
            "Rows a shadow challenger version scored beside the answering version",
            shadow_rows.clone(),
        );
        registry.register(
            "shadow_agreeing_rows",
            "Shadow rows whose answer agrees with the answering version's (same class; numbers within 1e-6 relative)",
            shadow_agreeing.clone(),
        );
        registry.register(
            "shadow_abs_difference",
            "Sum over shadow rows of the absolute difference from the answering version (largest class-probability gap, or value gap); divide by shadow_rows for the mean",
            shadow_difference.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            batch_rows,
            queue_depth,
            load_seconds,
            rows,
            shadow_rows,
            shadow_agreeing,
            shadow_difference,
        }
    }

    /// What a shadow version's agreement with the answering version adds up to so far, or
    /// `None` before it scored a row.
    pub fn shadow_total(&self, model: &str, version: &str) -> Option<crate::agreement::Agreement> {
        let labels = VersionLabels {
            model: model.to_string(),
            version: version.to_string(),
        };
        let rows = self.shadow_rows.get_or_create(&labels).get();
        (rows > 0).then(|| crate::agreement::Agreement {
            rows,
            agreeing: self.shadow_agreeing.get_or_create(&labels).get(),
            difference: self.shadow_difference.get_or_create(&labels).get(),
        })
    }

    /// Counts a shadow version's agreement with the answering version on one request.
    pub fn shadow(&self, model: &str, version: &str, a: &crate::agreement::Agreement) {
        let labels = VersionLabels {
            model: model.to_string(),
            version: version.to_string(),
        };
        self.shadow_rows.get_or_create(&labels).inc_by(a.rows);
        self.shadow_agreeing
            .get_or_create(&labels)
            .inc_by(a.agreeing);
        self.shadow_difference
            .get_or_create(&labels)
            .inc_by(a.difference);
    }

    /// The handles of a model version; records its load time.
    pub fn version(&self, model: &str, version: &str, load_seconds: f64) -> VersionMetrics {
        let labels = VersionLabels {
            model: model.to_string(),
            version: version.to_string(),
        };
        self.load_seconds.get_or_create(&labels).set(load_seconds);
        VersionMetrics {
            latency: self.latency.get_or_create(&labels).clone(),
            batch_rows: self.batch_rows.get_or_create(&labels).clone(),
            queue_depth: self.queue_depth.get_or_create(&labels).clone(),
            rows: self.rows.get_or_create(&labels).clone(),
            ok: ["oip", "mlflow", "predict", "openai"].map(|protocol| {
                self.requests
                    .get_or_create(&RequestLabels {
                        model: model.to_string(),
                        version: version.to_string(),
                        protocol: protocol.to_string(),
                        code: 200,
                    })
                    .clone()
            }),
        }
    }

    /// Counts one answered request.
    pub fn request(&self, model: &str, version: &str, protocol: &str, code: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                model: model.to_string(),
                version: version.to_string(),
                protocol: protocol.to_string(),
                code,
            })
            .inc();
    }

    /// The text exposition format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Shared handle.
pub type SharedMetrics = Arc<Metrics>;
