//! Experiments, runs, logging and metric history.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use smelt_track::entities::{DatasetInput, Metric, ModelOutput, ModelRef, RunStatus};
use smelt_track::store::{BatchLog, RunCreate};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer = Result<Json<Value>, ApiError>;

fn ok() -> Answer {
    Ok(Json(json!({})))
}

pub(crate) async fn create_experiment(State(s): State<AppState>, p: Params) -> Answer {
    let name = p.non_empty("name")?;
    let location = p.opt_str("artifact_location")?;
    if let Some(loc) = location.as_deref().filter(|l| is_server_path(l)) {
        // Serving a run's artifacts opens (and creates) its folder: a client must not pick
        // folders of the server's machine.
        return Err(ApiError::invalid(format!(
            "artifact_location `{loc}` is a path on the server's file system, which clients may not \
             choose\n\nhint: leave artifact_location out (artifacts then go through this server) or \
             use an s3:// URI"
        )));
    }
    let id = s
        .store
        .create_experiment(&name, location.as_deref(), &p.kvs("tags")?)
        .await?;
    Ok(Json(json!({ "experiment_id": id })))
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
    s.store.log_metric(&id, metric).await?;
    ok()
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
    let batch = BatchLog {
        metrics: p.typed_list("metrics")?,
        params: p.kvs("params")?,
        tags: p.kvs("tags")?,
    };
    s.store.log_batch(&id, batch).await?;
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

/// The UI's multi-run history, downsampled on the server (`get-history-bulk-interval`).
pub(crate) async fn get_metric_history_bulk_interval(
    State(s): State<AppState>,
    p: Params,
) -> Answer {
    let run_ids = p.str_list("run_ids")?;
    if run_ids.is_empty() {
        return Err(ApiError::missing("run_ids"));
    }
    if run_ids.len() > 100 {
        return Err(ApiError::invalid(format!(
            "at most 100 run_ids per request, got {}",
            run_ids.len()
        )));
    }
    let max = p.opt_i64("max_results")?.unwrap_or(320);
    let metrics = s
        .store
        .get_metric_history_sampled(
            &run_ids,
            &p.non_empty("metric_key")?,
            p.opt_i64("start_step")?,
            p.opt_i64("end_step")?,
            max,
        )
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
}
