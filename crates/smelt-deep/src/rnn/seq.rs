//! How a recurrent network reads a table: lag columns as sequences.
//!
//! `smelt data window` writes, for a series `y` and covariates, the columns `y_lag1 … y_lagL`
//! (`y_lag1` the latest value before the target step). Here every feature named
//! `{base}_lag{k}` is step `k` back of the channel `base`; the sequence runs from lag `L`
//! (oldest) to lag 1 (latest), one input channel per base name. A channel without some lag
//! reads 0 (its mean) there. Features without the suffix are static: standardised and joined
//! to the last hidden state before the output layer. A table without any lag column is read as
//! a sequence of one step whose channels are all its features.
//!
//! Each channel is standardised with one mean and standard deviation over all its lags (so a
//! value means the same at every step). Missing values are an error: `smelt train` imputes
//! them first (the catalogue entries' default preprocessing).
//!
//! **Change from the last value** (`predict_delta`, when the target's own lags are inputs):
//! the network predicts `y − a`, where the anchor `a` is the latest finite value of the
//! target's lags, and reads the target's lags as `(lag − a)`, scaled by their spread. The
//! forecast is then a persistence forecast plus a learned correction: it does not depend on the
//! series' level, so it extrapolates a trend past the training range (CO₂, air passengers),
//! where a network reading levels saturates.

use serde::{Deserialize, Serialize};
use smelt_core::{CoreError, Dataset, FeatureKind, Result};

/// `("demand", 12)` for `demand_lag12`; `None` without a `_lag{k}` suffix (`k ≥ 1`).
pub fn parse_lag(name: &str) -> Option<(&str, usize)> {
    let at = name.rfind("_lag")?;
    let (base, rest) = (&name[..at], &name[at + 4..]);
    if base.is_empty() || rest.is_empty() || !rest.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let k: usize = rest.parse().ok()?;
    (k >= 1).then_some((base, k))
}

/// One input channel: a series read at several lags.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    /// The series' name (`demand` for `demand_lag1 …`).
    pub name: String,
    /// Feature index of lag `k` at position `k − 1` (`None`: no such column, reads 0).
    pub lags: Vec<Option<usize>>,
    /// Training mean (of `lag − anchor` for the target's channel in delta mode).
    pub mean: f64,
    /// Training standard deviation (1 when constant).
    pub std: f64,
}

/// A static (not sequential) numeric feature.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Static {
    /// Feature index.
    pub index: usize,
    /// Training mean.
    pub mean: f64,
    /// Training standard deviation (1 when constant).
    pub std: f64,
}

/// The fitted reading of a table as sequences.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SeqEncoding {
    /// Input channels, in feature order of their first column.
    pub channels: Vec<Channel>,
    /// Time steps (the largest lag used).
    pub steps: usize,
    /// Static features.
    pub statics: Vec<Static>,
    /// The channel holding the target's own lags, when predicting the change from its latest
    /// value.
    pub delta_channel: Option<usize>,
}

/// Encoded rows: sequences `[rows, steps, channels]` and static features `[rows, statics]`,
/// row-major, and each row's anchor (0 without delta).
#[derive(Clone, Debug, Default)]
pub struct EncodedSeq {
    /// Sequences, row-major `rows × steps × channels`.
    pub seq: Vec<f32>,
    /// Static features, row-major `rows × statics`.
    pub statics: Vec<f32>,
    /// Per row, the value the prediction is relative to (0 without delta).
    pub anchor: Vec<f64>,
    /// Rows.
    pub rows: usize,
}

fn mean_std(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (mut n, mut sum, mut sq) = (0usize, 0.0, 0.0);
    for v in values.filter(|v| v.is_finite()) {
        n += 1;
        sum += v;
        sq += v * v;
    }
    if n == 0 {
        return (0.0, 1.0);
    }
    let mean = sum / n as f64;
    let var = (sq / n as f64 - mean * mean).max(0.0);
    let std = var.sqrt();
    (mean, if std > 1e-12 { std } else { 1.0 })
}

impl SeqEncoding {
    /// Reads the layout from the training features and fits the scaling. `window` keeps lags
    /// `1..=window` only (farther lag columns are left out) and is an error when a channel has
    /// fewer lags; `delta` asks for the change from the last value when the target's lags are
    /// among the channels.
    pub fn fit(
        estimator: &'static str,
        data: &Dataset<f64>,
        window: Option<usize>,
        delta: bool,
    ) -> Result<SeqEncoding> {
        let mut channels: Vec<Channel> = Vec::new();
        let mut statics = Vec::new();
        let mut any_lag = false;
        for (j, f) in data.features().iter().enumerate() {
            if matches!(f.kind, FeatureKind::Categorical { .. }) {
                return Err(CoreError::NotNumeric {
                    estimator,
                    feature: f.name.clone(),
                });
            }
            match parse_lag(&f.name) {
                Some((base, k)) => {
                    any_lag = true;
                    if window.is_some_and(|w| k > w) {
                        continue;
                    }
                    let pos = match channels.iter().position(|c| c.name == base) {
                        Some(p) => p,
                        None => {
                            channels.push(Channel {
                                name: base.to_string(),
                                lags: Vec::new(),
                                mean: 0.0,
                                std: 1.0,
                            });
                            channels.len() - 1
                        }
                    };
                    let lags = &mut channels[pos].lags;
                    if lags.len() < k {
                        lags.resize(k, None);
                    }
                    lags[k - 1] = Some(j);
                }
                None => statics.push(Static {
                    index: j,
                    mean: 0.0,
                    std: 1.0,
                }),
            }
        }
        if !any_lag {
            // A plain table: one step, every feature a channel.
            channels = statics
                .drain(..)
                .map(|s| Channel {
                    name: data.features()[s.index].name.clone(),
                    lags: vec![Some(s.index)],
                    mean: 0.0,
                    std: 1.0,
                })
                .collect();
        }
        let steps = channels.iter().map(|c| c.lags.len()).max().unwrap_or(0);
        if let Some(w) = window.filter(|_| any_lag)
            && let Some(c) = channels.iter().find(|c| c.lags.len() < w)
        {
            return Err(CoreError::BadParam {
                estimator: estimator.to_string(),
                message: format!(
                    "window={w}: the sequences are shorter than the window: channel `{name}` \
                         has lag columns up to `{name}_lag{got}`; use window <= {got}, or write \
                         longer windows with `smelt data window --lags {w}`",
                    name = c.name,
                    got = c.lags.len()
                ),
                suggestion: None,
            });
        }
        if channels.is_empty() {
            return Err(CoreError::TooFew {
                estimator,
                what: "numeric features",
                needed: 1,
                got: 0,
            });
        }
        let target = data.target_name().map(str::to_string);
        let delta_channel = if delta && any_lag {
            channels
                .iter()
                .position(|c| Some(&c.name) == target.as_ref())
        } else {
            None
        };
        let mut enc = SeqEncoding {
            channels,
            steps: steps.max(1),
            statics,
            delta_channel,
        };
        let anchors = enc.anchors(data, None);
        for (ci, c) in enc.channels.iter_mut().enumerate() {
            let delta = enc.delta_channel == Some(ci);
            let cols: Vec<&[f64]> = c.lags.iter().flatten().map(|&j| data.column(j)).collect();
            let values = cols.iter().flat_map(|col| {
                col.iter()
                    .zip(&anchors)
                    .map(move |(&v, &a)| if delta { v - a } else { v })
            });
            (c.mean, c.std) = mean_std(values);
            if delta {
                // Relative to the anchor, 0 is "no change": keep it at 0.
                c.mean = 0.0;
            }
        }
        for s in &mut enc.statics {
            (s.mean, s.std) = mean_std(data.column(s.index).iter().copied());
        }
        Ok(enc)
    }

    /// Per row, the latest finite value of the target's lags (`fallback` — the training
    /// target's mean — when every lag is missing); zeros without delta.
    pub fn anchors(&self, data: &Dataset<f64>, fallback: Option<f64>) -> Vec<f64> {
        let n = data.n_rows();
        let Some(ci) = self.delta_channel else {
            return vec![0.0; n];
        };
        let cols: Vec<&[f64]> = self.channels[ci]
            .lags
            .iter()
            .flatten()
            .map(|&j| data.column(j))
            .collect();
        (0..n)
            .map(|i| {
                cols.iter()
                    .map(|c| c[i])
                    .find(|v| v.is_finite())
                    .or(fallback)
                    .unwrap_or(0.0)
            })
            .collect()
    }

    /// Encodes `data` (conformed to the training features). Missing and infinite values are
    /// errors naming the feature and row (`smelt train`'s default preprocessing imputes the
    /// missing ones first). `fallback` is the anchor of a row whose target lags are all
    /// missing.
    pub fn encode(
        &self,
        estimator: &'static str,
        data: &Dataset<f64>,
        fallback: f64,
    ) -> Result<EncodedSeq> {
        let n = data.n_rows();
        for j in self
            .channels
            .iter()
            .flat_map(|c| c.lags.iter().flatten().copied())
            .chain(self.statics.iter().map(|s| s.index))
        {
            if let Some(m) = data.missing(j)
                && m.count_ones() > 0
            {
                return Err(CoreError::MissingValues {
                    estimator,
                    feature: data.features()[j].name.clone(),
                    row: (0..n).find(|&i| m.get(i)).unwrap_or(0),
                    count: m.count_ones(),
                });
            }
            let col = data.column(j);
            if let Some(i) = col.iter().position(|v| !v.is_finite()) {
                return Err(CoreError::NonFinite {
                    estimator,
                    feature: data.features()[j].name.clone(),
                    row: i,
                    value: col[i],
                });
            }
        }
        let anchor = self.anchors(data, Some(fallback));
        let (t, c) = (self.steps, self.channels.len());
        let mut seq = vec![0f32; n * t * c];
        for (ci, ch) in self.channels.iter().enumerate() {
            let delta = self.delta_channel == Some(ci);
            for (k1, j) in ch.lags.iter().enumerate() {
                let Some(j) = *j else { continue };
                // Lag k1 + 1 sits at step t − 1 − k1 (oldest first).
                let step = t - 1 - k1;
                for (i, &v) in data.column(j).iter().enumerate() {
                    if v.is_finite() {
                        let v = if delta { v - anchor[i] } else { v };
                        seq[(i * t + step) * c + ci] = ((v - ch.mean) / ch.std) as f32;
                    }
                }
            }
        }
        let s = self.statics.len();
        let mut statics = vec![0f32; n * s];
        for (si, st) in self.statics.iter().enumerate() {
            for (i, &v) in data.column(st.index).iter().enumerate() {
                if v.is_finite() {
                    statics[i * s + si] = ((v - st.mean) / st.std) as f32;
                }
            }
        }
        Ok(EncodedSeq {
            seq,
            statics,
            anchor,
            rows: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_names() {
        assert_eq!(parse_lag("demand_lag12"), Some(("demand", 12)));
        assert_eq!(parse_lag("a_lag_lag1"), Some(("a_lag", 1)));
        assert_eq!(parse_lag("demand_lag0"), None);
        assert_eq!(parse_lag("demand_lag"), None);
        assert_eq!(parse_lag("_lag3"), None);
        assert_eq!(parse_lag("demand_lagx"), None);
        assert_eq!(parse_lag("temperature"), None);
    }
}
