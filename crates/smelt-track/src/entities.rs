//! The MLflow data model, serialised exactly as MLflow's REST API writes it: protobuf JSON with
//! snake_case names, int64 as JSON numbers, non-finite doubles as `"NaN"`, `"Infinity"`,
//! `"-Infinity"`, and unset optional fields left out.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A key/value pair: a run tag, an experiment tag, a param, a registry tag.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValue {
    /// The key.
    pub key: String,
    /// The value.
    pub value: String,
}

impl KeyValue {
    /// A pair from anything string-like.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

/// An experiment: a named group of runs.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Experiment {
    /// Decimal id; `"0"` is the Default experiment.
    pub experiment_id: String,
    /// Unique name.
    pub name: String,
    /// Where its runs' artifacts go.
    pub artifact_location: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
    /// Milliseconds since the epoch.
    pub last_update_time: i64,
    /// Milliseconds since the epoch.
    pub creation_time: i64,
    /// Experiment tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// One metric point.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    /// Metric name.
    pub key: String,
    /// The value; NaN and ±infinity are allowed.
    #[serde(serialize_with = "ser_f64", deserialize_with = "de_f64")]
    pub value: f64,
    /// Milliseconds since the epoch.
    #[serde(deserialize_with = "de_i64")]
    pub timestamp: i64,
    /// Training step (0 when not given).
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
    /// Set only in multi-run answers (bulk history).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
}

/// What a run is doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Still going.
    Running,
    /// Queued.
    Scheduled,
    /// Ended well.
    Finished,
    /// Ended in an error.
    Failed,
    /// Stopped from outside.
    Killed,
}

impl RunStatus {
    /// MLflow's name for the status.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Running => "RUNNING",
            Self::Scheduled => "SCHEDULED",
            Self::Finished => "FINISHED",
            Self::Failed => "FAILED",
            Self::Killed => "KILLED",
        }
    }

    /// Parses MLflow's name (case-sensitive, as the protobuf enum).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "RUNNING" => Self::Running,
            "SCHEDULED" => Self::Scheduled,
            "FINISHED" => Self::Finished,
            "FAILED" => Self::Failed,
            "KILLED" => Self::Killed,
            _ => return None,
        })
    }

    /// Whether the run has ended.
    pub fn is_terminated(self) -> bool {
        matches!(self, Self::Finished | Self::Failed | Self::Killed)
    }
}

/// A run's metadata.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunInfo {
    /// 32 hex digits.
    pub run_id: String,
    /// The same id, under its deprecated name (old clients read it).
    pub run_uuid: String,
    /// Display name.
    pub run_name: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Who started it.
    pub user_id: String,
    /// Status name.
    pub status: RunStatus,
    /// Milliseconds since the epoch.
    pub start_time: i64,
    /// Milliseconds since the epoch, once ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<i64>,
    /// Root of the run's artifacts (`mlflow-artifacts:/<exp>/<run>/artifacts` when proxied).
    pub artifact_uri: String,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// A run's logged values: the latest value of each metric, params and tags.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct RunData {
    /// Latest value per metric key.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<Metric>,
    /// Params, immutable once logged.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    /// Tags, last write wins.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
}

/// A dataset as MLflow describes it; Smelt puts its fingerprint in `digest` and the row count in
/// `profile`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetRecord {
    /// Name.
    pub name: String,
    /// Content digest (Smelt: the dataset fingerprint).
    pub digest: String,
    /// Kind of source (`local`, `http`, `s3`, ...).
    #[serde(default)]
    pub source_type: String,
    /// Source as JSON text.
    #[serde(default)]
    pub source: String,
    /// Schema as JSON text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub schema: String,
    /// Profile as JSON text (row count, ...).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
}

/// A dataset a run used, with its tags (`mlflow.data.context`: train, eval, ...).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetInput {
    /// Input tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// The dataset.
    pub dataset: DatasetRecord,
}

/// A dataset some run of an experiment used, with the input's context tag (MLflow's
/// `DatasetSummary` of `experiments/search-datasets`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DatasetSummary {
    /// The experiment.
    pub experiment_id: String,
    /// The dataset's name.
    pub name: String,
    /// Its digest.
    pub digest: String,
    /// The `mlflow.data.context` tag of the input (`training`, `eval`, ...), if set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
}

/// A model a run used as input (MLflow 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelRef {
    /// LoggedModel id.
    pub model_id: String,
}

/// Inputs of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunInputs {
    /// Datasets.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dataset_inputs: Vec<DatasetInput>,
    /// Models.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_inputs: Vec<ModelRef>,
}

impl RunInputs {
    /// No datasets and no models.
    pub fn is_empty(&self) -> bool {
        self.dataset_inputs.is_empty() && self.model_inputs.is_empty()
    }
}

/// A model a run produced (MLflow 3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOutput {
    /// LoggedModel id.
    pub model_id: String,
    /// Step at which it was logged.
    #[serde(default, deserialize_with = "de_i64")]
    pub step: i64,
}

/// Outputs of a run.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct RunOutputs {
    /// Models.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model_outputs: Vec<ModelOutput>,
}

impl RunOutputs {
    /// No models.
    pub fn is_empty(&self) -> bool {
        self.model_outputs.is_empty()
    }
}

/// A whole run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Run {
    /// Metadata.
    pub info: RunInfo,
    /// Logged values.
    pub data: RunData,
    /// Datasets and models used (left out when empty, as FastTrackML does: MLflow's client
    /// reads a missing field as empty and parses a big search page measurably faster).
    #[serde(skip_serializing_if = "RunInputs::is_empty")]
    pub inputs: RunInputs,
    /// Models produced (left out when empty).
    #[serde(skip_serializing_if = "RunOutputs::is_empty")]
    pub outputs: RunOutputs,
}

/// An alias of a registered model: a name pointing at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alias {
    /// `champion`, `challenger`, ...
    pub alias: String,
    /// Version number as a string, as MLflow sends it.
    pub version: String,
}

/// A registered model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RegisteredModel {
    /// Unique name.
    pub name: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Creator.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    /// Free text.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The newest version per stage (legacy stages API).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub latest_versions: Vec<ModelVersion>,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// Aliases.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
}

/// One version of a registered model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ModelVersion {
    /// The registered model's name.
    pub name: String,
    /// Version number as a string.
    pub version: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp: i64,
    /// Creator.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user_id: String,
    /// Legacy stage: `None`, `Staging`, `Production`, `Archived`.
    pub current_stage: String,
    /// Free text; always sent, `""` included, as MLflow's store does (its client reads a
    /// missing one as `None`).
    pub description: String,
    /// Where the model's files are (`runs:/…`, `models:/…`, `mlflow-artifacts:/…`).
    pub source: String,
    /// The run that produced it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_id: String,
    /// `PENDING_REGISTRATION`, `FAILED_REGISTRATION` or `READY`.
    pub status: String,
    /// Why registration failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// Link to the run in another workspace.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub run_link: String,
    /// Aliases pointing at this version.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// MLflow 3 LoggedModel id.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_id: String,
}

/// Metadata of an MLflow 3 logged model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoggedModelInfo {
    /// `m-` and 32 hex digits.
    pub model_id: String,
    /// The experiment it belongs to.
    pub experiment_id: String,
    /// Name.
    pub name: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp_ms: i64,
    /// Milliseconds since the epoch.
    pub last_updated_timestamp_ms: i64,
    /// Where its files are.
    pub artifact_uri: String,
    /// `LOGGED_MODEL_PENDING`, `LOGGED_MODEL_READY` or `LOGGED_MODEL_UPLOAD_FAILED`.
    pub status: String,
    /// Why the upload failed.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status_message: String,
    /// Flavor-defined type.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub model_type: String,
    /// The run that logged it.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub source_run_id: String,
    /// Tags.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<KeyValue>,
    /// `active` or `deleted`.
    pub lifecycle_stage: String,
}

/// Params and metrics of a logged model.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct LoggedModelData {
    /// Params.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<KeyValue>,
    /// Metrics logged with its id (`runs/log-metric` with `model_id`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub metrics: Vec<ModelMetric>,
}

/// A metric logged to a run with an MLflow 3 logged model's id, and the evaluation dataset it
/// was computed on: MLflow's `Metric` with `model_id`, `dataset_name` and `dataset_digest`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelMetric {
    /// Metric name.
    pub key: String,
    /// The value; NaN and ±infinity are allowed.
    #[serde(serialize_with = "ser_f64")]
    pub value: f64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Training step.
    pub step: i64,
    /// The run it was logged to.
    pub run_id: String,
    /// The logged model.
    pub model_id: String,
    /// The dataset's name (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dataset_name: String,
    /// The dataset's digest (empty: none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub dataset_digest: String,
}

/// One entry of `logged-models/search`'s `datasets`: a dataset name and, optionally, digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct DatasetFilter {
    /// The dataset's name.
    pub dataset_name: String,
    /// Its digest (any when `None`).
    #[serde(default)]
    pub dataset_digest: Option<String>,
}

/// An MLflow 3 logged model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct LoggedModel {
    /// Metadata.
    pub info: LoggedModelInfo,
    /// Params and metrics.
    pub data: LoggedModelData,
}

/// Writes a double as protobuf JSON does: a number, or `"NaN"`, `"Infinity"`, `"-Infinity"`.
pub fn ser_f64<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_nan() {
        s.serialize_str("NaN")
    } else if v.is_infinite() {
        s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
    } else {
        s.serialize_f64(*v)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrStr {
    F(f64),
    S(String),
}

/// Reads a double as protobuf JSON allows: a number or a string (`"NaN"`, `"Infinity"`, `"1.5"`).
pub fn de_f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    match NumOrStr::deserialize(d)? {
        NumOrStr::F(f) => Ok(f),
        NumOrStr::S(s) => match s.as_str() {
            "NaN" | "nan" => Ok(f64::NAN),
            "Infinity" | "inf" => Ok(f64::INFINITY),
            "-Infinity" | "-inf" => Ok(f64::NEG_INFINITY),
            other => other.trim().parse().map_err(|_| {
                serde::de::Error::custom(format!("expected a number, got \"{other}\""))
            }),
        },
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrStr {
    I(i64),
    F(f64),
    S(String),
}

/// Reads an int64 as protobuf JSON allows: a number or a decimal string.
pub fn de_i64<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    match IntOrStr::deserialize(d)? {
        IntOrStr::I(i) => Ok(i),
        IntOrStr::F(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
        IntOrStr::F(f) => Err(serde::de::Error::custom(format!(
            "expected an integer, got {f}"
        ))),
        IntOrStr::S(s) => s
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected an integer, got \"{s}\""))),
    }
}

/// Like [`de_i64`], for optional fields.
pub fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Option::<IntOrStr>::deserialize(d)?
        .map(|v| match v {
            IntOrStr::I(i) => Ok(i),
            IntOrStr::F(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Ok(f as i64),
            IntOrStr::F(f) => Err(serde::de::Error::custom(format!(
                "expected an integer, got {f}"
            ))),
            IntOrStr::S(s) => s
                .trim()
                .parse()
                .map_err(|_| serde::de::Error::custom(format!("expected an integer, got \"{s}\""))),
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_finite_metrics_round_trip_as_protobuf_json_strings() {
        for (v, text) in [
            (f64::NAN, "\"NaN\""),
            (f64::INFINITY, "\"Infinity\""),
            (f64::NEG_INFINITY, "\"-Infinity\""),
        ] {
            let m = Metric {
                key: "m".into(),
                value: v,
                timestamp: 1,
                step: 2,
                run_id: None,
            };
            let json = serde_json::to_string(&m).expect("serialises");
            assert!(json.contains(text), "{json}");
            let back: Metric = serde_json::from_str(&json).expect("parses");
            assert_eq!(back.value.is_nan(), v.is_nan());
            if !v.is_nan() {
                assert_eq!(back.value, v);
            }
        }
    }

    #[test]
    fn int64_fields_accept_numbers_and_strings() {
        let m: Metric =
            serde_json::from_str(r#"{"key":"k","value":"1.5","timestamp":"12","step":3}"#)
                .expect("parses");
        assert_eq!((m.value, m.timestamp, m.step), (1.5, 12, 3));
        let m: Metric =
            serde_json::from_str(r#"{"key":"k","value":1,"timestamp":12}"#).expect("parses");
        assert_eq!(m.step, 0);
        assert!(
            serde_json::from_str::<Metric>(r#"{"key":"k","value":1,"timestamp":"x"}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Metric>(r#"{"key":"k","value":1,"timestamp":1.5}"#).is_err()
        );
    }

    #[test]
    fn run_status_names() {
        for s in ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"] {
            assert_eq!(RunStatus::parse(s).map(RunStatus::as_str), Some(s));
        }
        assert_eq!(RunStatus::parse("finished"), None);
    }
}
