//! Per-chunk results: what a report or the CLI shows for one metric over time.

use serde::{Deserialize, Serialize};

use super::Chunk;

/// Which table a chunk comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The reference table (thresholds come from its chunks).
    Reference,
    /// The table being monitored.
    Analysis,
}

/// One metric on one chunk. Values that cannot be computed (no labels, a single class, an
/// empty chunk after missing values are left out) are `None` (`null` in JSON), as NannyML's NaN.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChunkValue {
    /// The chunk (key, rows, times).
    #[serde(flatten)]
    pub chunk: Chunk,
    /// Reference or analysis.
    pub period: Period,
    /// The value: estimated (CBPE, DLE), realized (labels), or the drift statistic.
    pub value: Option<f64>,
    /// Standard error of the value from sampling alone (NannyML's `sampling_error`).
    pub sampling_error: Option<f64>,
    /// The realized value where labels exist, next to an estimate.
    pub realized: Option<f64>,
    /// `value - 3 · sampling_error`, clipped to the metric's range.
    pub lower_confidence_bound: Option<f64>,
    /// `value + 3 · sampling_error`, clipped to the metric's range.
    pub upper_confidence_bound: Option<f64>,
    /// Lower alert threshold (from the reference chunks).
    pub lower_threshold: Option<f64>,
    /// Upper alert threshold.
    pub upper_threshold: Option<f64>,
    /// Whether the value is outside the thresholds.
    pub alert: bool,
}

/// One metric over all chunks of a table (or of both tables).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Series {
    /// Machine name (`roc_auc`, `mae`, `reconstruction_error`, `domain_classifier_auroc`).
    pub metric: String,
    /// Name to show (`ROC AUC`).
    pub display_name: String,
    /// One entry per chunk, in order.
    pub chunks: Vec<ChunkValue>,
}

impl Series {
    /// The values, NaN where `None` (for plotting and comparisons).
    pub fn values(&self) -> Vec<f64> {
        self.chunks
            .iter()
            .map(|c| c.value.unwrap_or(f64::NAN))
            .collect()
    }

    /// Chunks whose value raised an alert.
    pub fn alerts(&self) -> impl Iterator<Item = &ChunkValue> {
        self.chunks.iter().filter(|c| c.alert)
    }

    /// This series followed by `other`'s chunks (reference then analysis).
    pub fn concat(mut self, other: &Series) -> Series {
        self.chunks.extend(other.chunks.iter().cloned());
        self
    }
}

/// `None` for NaN (and infinities), `Some(v)` otherwise.
pub fn nan_to_none(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}
