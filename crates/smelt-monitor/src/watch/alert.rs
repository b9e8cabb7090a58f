//! Alerts with hysteresis, and the webhook they are posted to.
//!
//! Every gauge with a threshold is observed once per evaluated window as good or bad. An alert
//! is raised after `raise_after` consecutive bad windows and cleared only after `clear_after`
//! consecutive good ones, so a gauge hovering at its threshold does not flap: with the defaults
//! (1 and 2) a single bad window raises, and alternating bad and good windows keep the alert
//! raised. A window where a gauge has no value (too few rows, no labels yet) leaves its alert
//! and its streaks as they were.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;

/// When an alert is raised and cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hysteresis {
    /// Consecutive bad windows that raise an alert (at least 1; default 1).
    pub raise_after: usize,
    /// Consecutive good windows that clear it (at least 1; default 2).
    pub clear_after: usize,
}

impl Default for Hysteresis {
    fn default() -> Self {
        Hysteresis {
            raise_after: 1,
            clear_after: 2,
        }
    }
}

/// One gauge's verdict on one window.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The alert's name: `dataset_drift`, `feature_drift:<feature>`, `prediction_drift`, or
    /// `rule:<rule>` for a `[[test]]` rule.
    pub alert: String,
    /// Whether the window breaks the threshold.
    pub bad: bool,
    /// The measured value.
    pub value: f64,
    /// The threshold it was compared with.
    pub threshold: f64,
}

/// Raised or cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// The alert is now active.
    Raised,
    /// The alert is no longer active.
    Cleared,
}

/// An alert raised or cleared: what is logged and posted to the webhook.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertEvent {
    /// The model, as logged.
    pub model: String,
    /// The model version.
    pub version: String,
    /// The window whose evaluation changed the alert.
    pub window: String,
    /// The alert's name (see [`Observation::alert`]).
    pub alert: String,
    /// Raised or cleared.
    pub state: AlertState,
    /// The value measured in that window.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
    /// When it changed (RFC 3339, UTC).
    pub time: String,
}

/// An alert active now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ActiveAlert {
    /// The model version.
    pub version: String,
    /// The alert's name.
    pub alert: String,
    /// The window that raised it.
    pub since: String,
    /// The last value measured.
    pub value: f64,
    /// The threshold.
    pub threshold: f64,
}

#[derive(Clone, Debug, Default)]
struct Track {
    active: bool,
    bad: usize,
    good: usize,
    since: String,
    value: f64,
    threshold: f64,
}

/// Every alert's state, per model version.
#[derive(Debug, Default)]
pub(crate) struct Alerts {
    hysteresis: Hysteresis,
    tracks: BTreeMap<(String, String), Track>,
}

impl Alerts {
    pub fn new(hysteresis: Hysteresis) -> Alerts {
        Alerts {
            hysteresis: Hysteresis {
                raise_after: hysteresis.raise_after.max(1),
                clear_after: hysteresis.clear_after.max(1),
            },
            tracks: BTreeMap::new(),
        }
    }

    /// Feeds one window's observations; returns the alerts raised or cleared by it.
    pub fn observe(
        &mut self,
        model: &str,
        version: &str,
        window: &str,
        observations: &[Observation],
    ) -> Vec<AlertEvent> {
        let mut out = Vec::new();
        for o in observations {
            let t = self
                .tracks
                .entry((version.to_string(), o.alert.clone()))
                .or_default();
            t.value = o.value;
            t.threshold = o.threshold;
            let changed = if o.bad {
                t.bad += 1;
                t.good = 0;
                (!t.active && t.bad >= self.hysteresis.raise_after).then(|| {
                    t.active = true;
                    t.since = window.to_string();
                    AlertState::Raised
                })
            } else {
                t.good += 1;
                t.bad = 0;
                (t.active && t.good >= self.hysteresis.clear_after).then(|| {
                    t.active = false;
                    AlertState::Cleared
                })
            };
            if let Some(state) = changed {
                out.push(AlertEvent {
                    model: model.to_string(),
                    version: version.to_string(),
                    window: window.to_string(),
                    alert: o.alert.clone(),
                    state,
                    value: o.value,
                    threshold: o.threshold,
                    time: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                });
            }
        }
        out
    }

    /// Alerts active now, by version and name.
    pub fn active(&self) -> Vec<ActiveAlert> {
        self.tracks
            .iter()
            .filter(|(_, t)| t.active)
            .map(|((version, alert), t)| ActiveAlert {
                version: version.clone(),
                alert: alert.clone(),
                since: t.since.clone(),
                value: t.value,
                threshold: t.threshold,
            })
            .collect()
    }

    /// Every alert seen for a version and whether it is active (for the gauges).
    pub fn states(&self, version: &str) -> Vec<(String, bool)> {
        self.tracks
            .iter()
            .filter(|((v, _), _)| v == version)
            .map(|((_, a), t)| (a.clone(), t.active))
            .collect()
    }
}

/// Logs an alert change: a warning when raised, an info line when cleared.
pub(crate) fn log(e: &AlertEvent) {
    match e.state {
        AlertState::Raised => tracing::warn!(
            model = %e.model,
            version = %e.version,
            window = %e.window,
            alert = %e.alert,
            value = e.value,
            threshold = e.threshold,
            "monitoring alert raised"
        ),
        AlertState::Cleared => tracing::info!(
            model = %e.model,
            version = %e.version,
            window = %e.window,
            alert = %e.alert,
            value = e.value,
            threshold = e.threshold,
            "monitoring alert cleared"
        ),
    }
}

/// How long one webhook request may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per alert change (the first and two retries, 0.5 s then 1 s apart).
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// Posts alert changes as JSON to a URL, on the watcher's runtime; a failure is logged, never
/// fatal.
#[derive(Debug)]
pub(crate) struct Webhook {
    url: String,
    client: reqwest::Client,
    handle: tokio::runtime::Handle,
    pending: Vec<tokio::task::JoinHandle<()>>,
}

impl Webhook {
    pub fn new(url: &str, handle: tokio::runtime::Handle) -> crate::Result<Webhook> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| crate::MonitorError::Invalid(format!("webhook URL `{url}`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(crate::MonitorError::Invalid(format!(
                "webhook URL `{url}`: give an http:// or https:// URL"
            )));
        }
        let client = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .map_err(|e| crate::MonitorError::Invalid(format!("webhook client: {e}")))?;
        Ok(Webhook {
            url: url.to_string(),
            client,
            handle,
            pending: Vec::new(),
        })
    }

    /// Posts `e` in the background.
    pub fn send(&mut self, e: &AlertEvent) {
        self.pending.retain(|h| !h.is_finished());
        let body = match serde_json::to_vec(e) {
            Ok(b) => b,
            Err(err) => {
                tracing::warn!(error = %err, "cannot encode the alert for the webhook");
                return;
            }
        };
        let (client, url, alert) = (self.client.clone(), self.url.clone(), e.alert.clone());
        self.pending.push(self.handle.spawn(async move {
            let mut last = String::new();
            for attempt in 0..WEBHOOK_ATTEMPTS {
                if attempt > 0 {
                    tokio::time::sleep(Duration::from_millis(500 << (attempt - 1))).await;
                }
                let sent = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => return,
                    Ok(r) => last = format!("HTTP {}", r.status()),
                    Err(e) => last = e.to_string(),
                }
            }
            tracing::warn!(
                webhook = %url,
                alert = %alert,
                error = %last,
                attempts = WEBHOOK_ATTEMPTS,
                "the alert webhook failed"
            );
        }));
    }

    /// Waits for the posts in flight (each bounded by its timeout and retries).
    pub fn wait(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        self.handle.block_on(async move {
            for h in pending {
                let _ = h.await;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(bad: bool) -> Observation {
        Observation {
            alert: "dataset_drift".into(),
            bad,
            value: if bad { 0.8 } else { 0.1 },
            threshold: 0.5,
        }
    }

    fn run(h: Hysteresis, seq: &[bool]) -> Vec<(usize, AlertState)> {
        let mut a = Alerts::new(h);
        seq.iter()
            .enumerate()
            .flat_map(|(i, &b)| {
                a.observe("m", "1", &format!("w{i}"), &[obs(b)])
                    .into_iter()
                    .map(move |e| (i, e.state))
            })
            .collect()
    }

    #[test]
    fn raised_after_n_bad_cleared_after_m_good_and_no_flapping() {
        let h = Hysteresis {
            raise_after: 2,
            clear_after: 2,
        };
        // Alternating: never two bad in a row, never raised.
        assert!(run(h, &[true, false, true, false, true, false]).is_empty());
        assert_eq!(
            run(h, &[true, true, false, true, false, false]),
            [(1, AlertState::Raised), (5, AlertState::Cleared)]
        );
        // Defaults: one bad window raises; alternating afterwards keeps it raised.
        assert_eq!(
            run(Hysteresis::default(), &[true, false, true, false, false]),
            [(0, AlertState::Raised), (4, AlertState::Cleared)]
        );
    }
}
