//! A `Tracker` that records every call, and the bundled data, for the workflow's tests.

use std::path::Path;
use std::sync::Mutex;

use smelt_core::track::DatasetLog;
use smelt_core::{Run, Tracker, TrackingError};
use smelt_data::LoadOptions;

pub fn data(file: &str, target: &str) -> smelt_data::Loaded {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(file);
    smelt_data::load(&path, &LoadOptions::default().with_target(target))
        .expect("bundled data loads")
}

/// Everything the workflow told the tracker, in order.
#[derive(Debug, Default)]
pub struct Recorder {
    pub calls: Mutex<Vec<String>>,
    pub fail_artifacts: bool,
}

impl Recorder {
    fn push(&self, s: String) {
        self.calls.lock().expect("no poisoned lock").push(s);
    }
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("no poisoned lock").clone()
    }
}

#[derive(Debug)]
struct RecordedRun<'a>(&'a Recorder);

impl Tracker for Recorder {
    fn start_run(
        &self,
        experiment: &str,
        run_name: Option<&str>,
    ) -> Result<Box<dyn Run + '_>, TrackingError> {
        self.push(format!("start {experiment} {run_name:?}"));
        Ok(Box::new(RecordedRun(self)))
    }
    fn server_uri(&self) -> Option<&str> {
        None
    }
}

impl Run for RecordedRun<'_> {
    fn id(&self) -> &str {
        "run-1"
    }
    fn log_params(&self, params: &[(&str, &str)]) -> Result<(), TrackingError> {
        for (k, v) in params {
            self.0.push(format!("param {k}={v}"));
        }
        Ok(())
    }
    fn log_metrics(&self, metrics: &[(&str, f64)], step: i64) -> Result<(), TrackingError> {
        for (k, v) in metrics {
            assert!(v.is_finite(), "{k}");
            self.0.push(format!("metric {k} @{step}"));
        }
        Ok(())
    }
    fn set_tags(&self, tags: &[(&str, &str)]) -> Result<(), TrackingError> {
        for (k, v) in tags {
            self.0.push(format!("tag {k}={v}"));
        }
        Ok(())
    }
    fn log_dataset(&self, d: &DatasetLog<'_>) -> Result<(), TrackingError> {
        assert_eq!(d.fingerprint.len(), 64);
        self.0
            .push(format!("dataset {} rows={} {}", d.name, d.rows, d.context));
        Ok(())
    }
    fn log_artifacts(&self, local: &Path, artifact_path: &str) -> Result<u64, TrackingError> {
        if self.0.fail_artifacts {
            return Err(TrackingError::new("disk full"));
        }
        // The model directory is complete when it is logged.
        assert!(local.join("model.json").is_file());
        assert!(local.join("arrays.safetensors").is_file());
        self.0.push(format!("artifacts {artifact_path}"));
        Ok(1)
    }
    fn start_child(&self, name: Option<&str>) -> Result<Box<dyn Run + '_>, TrackingError> {
        self.0.push(format!("child {}", name.unwrap_or("")));
        Ok(Box::new(RecordedRun(self.0)))
    }
    fn finish(self: Box<Self>, ok: bool) -> Result<(), TrackingError> {
        self.0.push(format!("finish {ok}"));
        Ok(())
    }
}
