//! Window results logged to the tracker: one run per model version watched in a session
//! (experiment `monitoring`), a step per window.

use std::collections::BTreeMap;

use smelt_core::{Run, Tracker};

use super::WindowReport;

/// The experiment watch runs go to.
pub const EXPERIMENT: &str = "monitoring";

/// A metric name MLflow accepts (letters, digits, `_`, `-`, `.`, ` `, `/`; others become `_`).
fn metric_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ' ' | '/') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The runs of a session (`None` for a version whose run could not be started: warned once).
pub(crate) struct Tracking<'t> {
    tracker: &'t dyn Tracker,
    runs: BTreeMap<String, Option<Box<dyn Run + 't>>>,
    params: Vec<(String, String)>,
    tags: Vec<(String, String)>,
    failed: bool,
}

impl std::fmt::Debug for Tracking<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tracking")
            .field("runs", &self.runs.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl<'t> Tracking<'t> {
    /// `params` are logged on each run; `model` and `source` tag them.
    pub fn new(
        tracker: &'t dyn Tracker,
        model: &str,
        source: &str,
        params: Vec<(String, String)>,
    ) -> Tracking<'t> {
        Tracking {
            tracker,
            runs: BTreeMap::new(),
            params,
            tags: vec![
                ("smelt.monitor.model".into(), model.to_string()),
                ("smelt.monitor.source".into(), source.to_string()),
            ],
            failed: false,
        }
    }

    fn warn(&mut self, what: &str, e: &dyn std::fmt::Display) {
        if !self.failed {
            self.failed = true;
            tracing::warn!(error = %e, "{what}; monitoring goes on without it");
        }
    }

    fn run(&mut self, model: &str, version: &str) -> Option<&dyn Run> {
        if !self.runs.contains_key(version) {
            let name = format!("watch {model} v{version}");
            let started = self.tracker.start_run(EXPERIMENT, Some(&name));
            let run = match started {
                Ok(run) => {
                    let mut tags: Vec<(&str, &str)> = self
                        .tags
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    tags.push(("smelt.monitor.version", version));
                    let params: Vec<(&str, &str)> = self
                        .params
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let logged = run.set_tags(&tags).and_then(|()| run.log_params(&params));
                    if let Err(e) = logged {
                        self.warn("cannot record the watch run's tags", &e);
                    }
                    Some(run)
                }
                Err(e) => {
                    self.warn("cannot start a tracking run for the watch", &e);
                    None
                }
            };
            self.runs.insert(version.to_string(), run);
        }
        self.runs.get(version).and_then(|r| r.as_deref())
    }

    /// Logs an evaluated window at step = its index.
    pub fn log(&mut self, w: &WindowReport) {
        if w.skipped.is_some() {
            return;
        }
        let mut points: Vec<(String, f64)> = vec![
            ("rows".into(), w.rows as f64),
            ("drift_share".into(), w.drift_share),
            ("drifted_features".into(), w.n_drifted as f64),
            (
                "dataset_drift".into(),
                f64::from(u8::from(w.dataset_drifted)),
            ),
        ];
        if let Some(p) = &w.prediction {
            if let Some(s) = p.drift.score {
                points.push(("prediction_drift_score".into(), s));
            }
            points.push((
                "prediction_drifted".into(),
                f64::from(u8::from(p.drift.drifted)),
            ));
        }
        for c in &w.columns {
            if let Some(s) = c.drift.score {
                points.push((metric_name(&format!("drift.{}", c.drift.column)), s));
            }
        }
        if w.labelled_rows > 0 {
            points.push(("labelled_rows".into(), w.labelled_rows as f64));
        }
        points.extend(
            w.realized
                .iter()
                .map(|(k, v)| (format!("realized_{k}"), *v)),
        );
        points.extend(
            w.estimated
                .iter()
                .map(|(k, v)| (format!("estimated_{k}"), *v)),
        );
        points.retain(|(_, v)| v.is_finite());
        let refs: Vec<(&str, f64)> = points.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        let step = i64::try_from(w.index).unwrap_or(i64::MAX);
        let logged = match self.run(&w.model, &w.version) {
            Some(run) => run.log_metrics(&refs, step),
            None => return,
        };
        if let Err(e) = logged {
            self.warn("cannot log the window's metrics to the tracker", &e);
        }
    }

    /// Ends every run (FINISHED).
    pub fn finish(self) {
        for run in self.runs.into_values().flatten() {
            if let Err(e) = run.finish(true) {
                tracing::warn!(error = %e, "cannot close the watch's tracking run");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn metric_names_keep_what_mlflow_accepts() {
        assert_eq!(
            super::metric_name("drift.native-country"),
            "drift.native-country"
        );
        assert_eq!(super::metric_name("drift.a:b(c)"), "drift.a_b_c_");
    }
}
