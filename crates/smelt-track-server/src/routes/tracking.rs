//! Experiments, runs, logging and metric history.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use smelt_track::entities::{DatasetInput, Metric, ModelMetric, ModelOutput, ModelRef, RunStatus};
use smelt_track::store::{BatchLog, RunCreate};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer = Result<Json<Value>, ApiError>;

fn ok() -> Answer {
    Ok(Json(json!({})))
}

pub(crate) async fn create_experiment(State(s): State<AppState>, p: Params) -> Answer {
    // MLflow's order: name, artifact_location, tags are type-checked before anything is done.
    let name = p.non_empty("name")?;
    let location = p.opt_str("artifact_location")?;
    let tags = p.kvs("tags")?;
    let location = location
        .filter(|l| !l.is_empty())
        .map(|l| client_location(&l))
        .transpose()?;
    let id = s
        .store
        .create_experiment(&name, location.as_deref(), &tags)
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
}

/// The artifact location a client may give an experiment. Serving a run's artifacts opens (and
/// creates) its folder, so a client must not pick folders of the server's machine: a relative
/// path (which MLflow resolves against the server's working directory) goes under this server's
/// artifact root instead, as `mlflow-artifacts:/PATH`; an absolute path or a `file:` URI is
/// refused; any other URI (`s3://`, `mlflow-artifacts:`, ...) is kept.
fn client_location(location: &str) -> Result<String, ApiError> {
    if !is_server_path(location) {
        return Ok(location.to_string());
    }
    let refused = || {
        ApiError::invalid(format!(
            "artifact_location `{location}` is a path on the server's file system, which clients may \
             not choose\n\nhint: leave artifact_location out (artifacts then go through this server), \
             give a relative path (kept under the server's artifact root) or use an s3:// URI"
        ))
    };
    let relative = location.trim_start_matches("./");
    let absolute = location.starts_with(['/', '\\']) || location.split_once(':').is_some();
    if absolute {
        return Err(refused());
    }
    let path = smelt_track::ArtifactPath::parse(relative).map_err(|_| refused())?;
    if path.is_root() {
        return Err(refused());
    }
    Ok(format!(
        "{}/{}",
        super::artifacts::PROXY_SCHEME,
        path.as_str()
    ))
}

/// Whether an artifact location names the server's own files: a `file:` URI or a bare path
/// (anything without a URI scheme; `C:` is a drive, not a scheme).
fn is_server_path(location: &str) -> bool {
    match location.split_once(':') {
        Some((scheme, _))
            if scheme.len() > 1
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c)) =>
        {
            scheme.eq_ignore_ascii_case("file")
        }
        _ => !location.is_empty(),
    }
}

pub(crate) async fn get_experiment(State(s): State<AppState>, p: Params) -> Answer {
    let exp = s
        .store
        .get_experiment(&p.non_empty("experiment_id")?)
        .await?;
    Ok(Json(json!({ "experiment": exp })))
}

pub(crate) async fn get_experiment_by_name(State(s): State<AppState>, p: Params) -> Answer {
    let exp = s
        .store
        .get_experiment_by_name(&p.non_empty("experiment_name")?)
        .await?;
    Ok(Json(json!({ "experiment": exp })))
}

pub(crate) async fn update_experiment(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.non_empty("experiment_id")?;
    if let Some(name) = p.opt_str("new_name")?.filter(|n| !n.is_empty()) {
        s.store.rename_experiment(&id, &name).await?;
    }
    ok()
}

pub(crate) async fn delete_experiment(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_experiment(&p.non_empty("experiment_id")?)
        .await?;
    ok()
}

pub(crate) async fn restore_experiment(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .restore_experiment(&p.non_empty("experiment_id")?)
        .await?;
    ok()
}

pub(crate) async fn set_experiment_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .set_experiment_tag(
            &p.non_empty("experiment_id")?,
            &p.non_empty("key")?,
            &p.str("value")?,
        )
        .await?;
    ok()
}

pub(crate) async fn delete_experiment_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_experiment_tag(&p.non_empty("experiment_id")?, &p.non_empty("key")?)
        .await?;
    ok()
}

pub(crate) async fn create_run(State(s): State<AppState>, p: Params) -> Answer {
    let run = s
        .store
        .create_run(RunCreate {
            experiment_id: p.opt_str("experiment_id")?.unwrap_or_default(),
            user_id: p.opt_str("user_id")?.unwrap_or_default(),
            run_name: p.opt_str("run_name")?.unwrap_or_default(),
            start_time: p.opt_i64("start_time")?,
            tags: p.kvs("tags")?,
        })
        .await?;
    Ok(Json(json!({ "run": run })))
}

pub(crate) async fn get_run(State(s): State<AppState>, p: Params) -> Answer {
    let run = s.store.get_run(&p.either(&["run_id", "run_uuid"])?).await?;
    Ok(Json(json!({ "run": run })))
}

pub(crate) async fn update_run(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.either(&["run_id", "run_uuid"])?;
    let status = match p.opt_str("status")? {
        None => None,
        Some(st) => Some(RunStatus::parse(&st).ok_or_else(|| {
            ApiError::invalid(format!(
                "Invalid run status '{st}'; expected RUNNING, SCHEDULED, FINISHED, FAILED or KILLED"
            ))
        })?),
    };
    let info = s
        .store
        .update_run(
            &id,
            status,
            p.opt_i64("end_time")?,
            p.opt_str("run_name")?.as_deref(),
        )
        .await?;
    Ok(Json(json!({ "run_info": info })))
}

pub(crate) async fn delete_run(State(s): State<AppState>, p: Params) -> Answer {
    s.store.delete_run(&p.non_empty("run_id")?).await?;
    ok()
}

pub(crate) async fn restore_run(State(s): State<AppState>, p: Params) -> Answer {
    s.store.restore_run(&p.non_empty("run_id")?).await?;
    ok()
}

pub(crate) async fn log_metric(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.either(&["run_id", "run_uuid"])?;
    let metric = Metric {
        key: p.non_empty("key")?,
        value: p
            .opt_f64("value")?
            .ok_or_else(|| ApiError::missing("value"))?,
        timestamp: p
            .opt_i64("timestamp")?
            .ok_or_else(|| ApiError::missing("timestamp"))?,
        step: p.opt_i64("step")?.unwrap_or(0),
        run_id: None,
    };
    let model_id = p.opt_str("model_id")?.unwrap_or_default();
    let model_metric = (!model_id.is_empty())
        .then(|| -> Result<ModelMetric, ApiError> {
            Ok(ModelMetric {
                key: metric.key.clone(),
                value: metric.value,
                timestamp: metric.timestamp,
                step: metric.step,
                run_id: id.clone(),
                model_id,
                dataset_name: p.opt_str("dataset_name")?.unwrap_or_default(),
                dataset_digest: p.opt_str("dataset_digest")?.unwrap_or_default(),
            })
        })
        .transpose()?;
    s.store.log_metric(&id, metric).await?;
    if let Some(m) = model_metric {
        s.store.log_logged_model_metrics(&[m]).await?;
    }
    ok()
}

/// The metrics of a log-batch that name a logged model (MLflow 3), as they also go to it.
fn model_metrics(p: &Params, run_id: &str, metrics: &[Metric]) -> Vec<ModelMetric> {
    let Some(Value::Array(items)) = p.0.get("metrics") else {
        return Vec::new();
    };
    let text = |item: &Value, key: &str| {
        item.get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    items
        .iter()
        .zip(metrics)
        .filter(|(item, _)| {
            item.get("model_id")
                .and_then(Value::as_str)
                .is_some_and(|m| !m.is_empty())
        })
        .map(|(item, m)| ModelMetric {
            key: m.key.clone(),
            value: m.value,
            timestamp: m.timestamp,
            step: m.step,
            run_id: run_id.to_string(),
            model_id: text(item, "model_id"),
            dataset_name: text(item, "dataset_name"),
            dataset_digest: text(item, "dataset_digest"),
        })
        .collect()
}

pub(crate) async fn log_param(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.either(&["run_id", "run_uuid"])?;
    s.store
        .log_param(&id, &p.non_empty("key")?, &p.str("value")?)
        .await?;
    ok()
}

pub(crate) async fn set_tag(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.either(&["run_id", "run_uuid"])?;
    s.store
        .set_tag(&id, &p.non_empty("key")?, &p.str("value")?)
        .await?;
    ok()
}

pub(crate) async fn delete_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_tag(&p.non_empty("run_id")?, &p.non_empty("key")?)
        .await?;
    ok()
}

pub(crate) async fn log_batch(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.non_empty("run_id")?;
    // MLflow's order: each list is checked to be a list, then for its required fields; those
    // are looked for only when a list does not read (the hot path reads each list once).
    let missing = |list: &str, fields: &[&str], e: ApiError| {
        p.require_item_fields(list, fields).err().unwrap_or(e)
    };
    let metrics = p
        .typed_list("metrics")
        .map_err(|e| missing("metrics", &["key", "value", "timestamp"], e))?;
    let params = p
        .kvs("params")
        .map_err(|e| missing("params", &["key"], e))?;
    let tags = p.kvs("tags").map_err(|e| missing("tags", &["key"], e))?;
    let for_models = model_metrics(&p, &id, &metrics);
    let batch = BatchLog {
        metrics,
        params,
        tags,
    };
    s.store.log_batch(&id, batch).await?;
    if !for_models.is_empty() {
        s.store.log_logged_model_metrics(&for_models).await?;
    }
    ok()
}

pub(crate) async fn log_inputs(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.non_empty("run_id")?;
    let datasets: Vec<DatasetInput> = p.typed_list("datasets")?;
    let models: Vec<ModelRef> = p.typed_list("models")?;
    s.store.log_inputs(&id, &datasets, &models).await?;
    ok()
}

pub(crate) async fn log_outputs(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.non_empty("run_id")?;
    let models: Vec<ModelOutput> = p.typed_list("models")?;
    s.store.log_outputs(&id, &models).await?;
    ok()
}

/// MLflow 2's `runs/log-model`: the MLmodel JSON is appended to the run's
/// `mlflow.log-model.history` tag, as MLflow's own store does.
pub(crate) async fn log_model(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.non_empty("run_id")?;
    let model: Value = serde_json::from_str(&p.non_empty("model_json")?)
        .map_err(|e| ApiError::invalid(format!("Invalid value for parameter 'model_json': {e}")))?;
    let run = s.store.get_run(&id).await?;
    let mut history: Vec<Value> = run
        .data
        .tags
        .iter()
        .find(|t| t.key == "mlflow.log-model.history")
        .and_then(|t| serde_json::from_str(&t.value).ok())
        .unwrap_or_default();
    history.push(model);
    s.store
        .set_tag(
            &id,
            "mlflow.log-model.history",
            &Value::Array(history).to_string(),
        )
        .await?;
    ok()
}

pub(crate) async fn get_metric_history(State(s): State<AppState>, p: Params) -> Answer {
    let id = p.either(&["run_id", "run_uuid"])?;
    let (metrics, next) = s
        .store
        .get_metric_history(
            &id,
            &p.non_empty("metric_key")?,
            p.opt_i64("max_results")?,
            p.opt_str("page_token")?.as_deref(),
        )
        .await?;
    let mut body = json!({ "metrics": metrics });
    if let Some(next) = next {
        body["next_page_token"] = json!(next);
    }
    Ok(Json(body))
}

/// Most runs in one `get-history-bulk` request (MLflow's `MAX_RUN_IDS_PER_REQUEST`).
const MAX_HISTORY_BULK_RUNS: usize = 100;

/// Most points in one `get-history-bulk` answer (MLflow's `MAX_HISTORY_RESULTS`).
const MAX_HISTORY_BULK_POINTS: i64 = 25_000;

/// The UI's `GET /ajax-api/2.0/mlflow/metrics/get-history-bulk?run_id=..&metric_key=`: whole
/// histories of several runs, by run id, then timestamp, step and value, at most `max_results`
/// points in all; unknown runs are left out, as MLflow's SQL store does.
pub(crate) async fn get_metric_history_bulk(State(s): State<AppState>, p: Params) -> Answer {
    let mut run_ids = p.str_list("run_id")?;
    if run_ids.is_empty() {
        return Err(ApiError::invalid(
            "GetMetricHistoryBulk request must specify at least one run_id.",
        ));
    }
    if run_ids.len() > MAX_HISTORY_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulk request cannot specify more than {MAX_HISTORY_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    let key = p.opt_str("metric_key")?.ok_or_else(|| {
        ApiError::invalid("GetMetricHistoryBulk request must specify a metric_key.")
    })?;
    let max = p
        .opt_i64("max_results")?
        .unwrap_or(MAX_HISTORY_BULK_POINTS)
        .clamp(0, MAX_HISTORY_BULK_POINTS);
    run_ids.sort();
    run_ids.dedup();
    let mut out: Vec<Metric> = Vec::new();
    for run_id in run_ids {
        let room = max - out.len() as i64;
        if room <= 0 {
            break;
        }
        let history = match s
            .store
            .get_metric_history_by_time(&run_id, &key, room)
            .await
        {
            Ok(history) => history,
            Err(e) if e.code() == smelt_track::ErrorCode::ResourceDoesNotExist => continue,
            Err(e) => return Err(e.into()),
        };
        out.extend(history.into_iter().map(|mut m| {
            m.run_id = Some(run_id.clone());
            m
        }));
    }
    Ok(Json(json!({ "metrics": out })))
}

/// The UI's `POST /ajax-api/2.0/mlflow/experiments/search-datasets`: the datasets used in up to
/// 20 experiments, in MLflow's words for its errors.
pub(crate) async fn search_datasets(State(s): State<AppState>, p: Params) -> Answer {
    const MAX_EXPERIMENTS: usize = 20;
    let ids = p.str_list("experiment_ids")?;
    if ids.is_empty() {
        return Err(ApiError::invalid(
            "SearchDatasets request must specify at least one experiment_id.",
        ));
    }
    if ids.len() > MAX_EXPERIMENTS {
        return Err(ApiError::invalid(format!(
            "SearchDatasets request cannot specify more than {MAX_EXPERIMENTS} experiment_ids. \
             Received {} experiment_ids.",
            ids.len()
        )));
    }
    let summaries = s.store.search_dataset_summaries(&ids).await?;
    Ok(Json(json!({ "dataset_summaries": summaries })))
}

/// Most runs in one `get-history-bulk-interval` request (MLflow's `MAX_RUNS_GET_METRIC_HISTORY_BULK`).
const MAX_BULK_RUNS: usize = 100;

/// Most points per run, and the default (MLflow's `MAX_RESULTS_PER_RUN`).
const MAX_BULK_POINTS: i64 = 2500;

/// The UI's multi-run history, downsampled on the server (`get-history-bulk-interval`).
pub(crate) async fn get_metric_history_bulk_interval(
    State(s): State<AppState>,
    p: Params,
) -> Answer {
    // MLflow's checks, in its order and words (`get_metric_history_bulk_interval_handler`).
    let run_ids = p.str_list("run_ids")?;
    if run_ids.is_empty() {
        return Err(ApiError::missing("run_ids"));
    }
    if run_ids.len() > MAX_BULK_RUNS {
        return Err(ApiError::invalid(format!(
            "GetMetricHistoryBulkInterval request must specify at most {MAX_BULK_RUNS} run_ids. \
             Received {} run_ids.",
            run_ids.len()
        )));
    }
    let key = p.non_empty("metric_key")?;
    let (start, end) = (p.opt_i64("start_step")?, p.opt_i64("end_step")?);
    let max = p.opt_i64("max_results")?.unwrap_or(MAX_BULK_POINTS);
    if !(1..=MAX_BULK_POINTS).contains(&max) {
        return Err(ApiError::invalid(format!(
            "max_results must be between 1 and {MAX_BULK_POINTS}."
        )));
    }
    match (start, end) {
        (Some(a), Some(b)) if a > b => {
            return Err(ApiError::invalid(format!(
                "end_step must be greater than start_step. Found start_step={a} and end_step={b}."
            )));
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(ApiError::invalid(
                "If either start step or end step are specified, both must be specified.",
            ));
        }
        _ => {}
    }
    let metrics = s
        .store
        .get_metric_history_sampled(&run_ids, &key, start, end, max)
        .await?;
    Ok(Json(json!({ "metrics": metrics })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_paths() {
        for l in [
            "/",
            "/etc",
            "rel/dir",
            "file:///tmp",
            "FILE:/x",
            "C:\\runs",
            "./x",
        ] {
            assert!(is_server_path(l), "{l}");
        }
        for l in ["", "mlflow-artifacts:/", "s3://bucket/p", "gs://b"] {
            assert!(!is_server_path(l), "{l}");
        }
    }

    #[test]
    fn client_locations() {
        let mapped = |l: &str| client_location(l).ok();
        assert_eq!(
            mapped("my_location").as_deref(),
            Some("mlflow-artifacts:/my_location")
        );
        assert_eq!(mapped("./a/b").as_deref(), Some("mlflow-artifacts:/a/b"));
        assert_eq!(mapped("s3://b/p").as_deref(), Some("s3://b/p"));
        for l in [
            "/etc",
            "../x",
            "a/../../x",
            "file:///tmp",
            "C:\\runs",
            ".",
            "./",
        ] {
            assert!(client_location(l).is_err(), "{l}");
        }
    }
}
