//! Smelt's own API (`/api/smelt/v1`, described by `openapi.json`): what MLflow's API does not
//! cover. Lineage from a model version back to its run, code, environment and data; the runs that
//! used a dataset fingerprint; garbage collection of deleted runs.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer = Result<Json<Value>, ApiError>;

/// The OpenAPI 3 document of this API.
pub const OPENAPI: &str = include_str!("../../openapi.json");

pub(crate) async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI)
}

/// `GET /api/smelt/v1/lineage?name=&version=` (or `&alias=`): a model version, the run that
/// produced it (params, metrics), its code version and environment, and its datasets with their
/// fingerprints, schemas and row counts.
pub(crate) async fn lineage(State(s): State<AppState>, p: Params) -> Answer {
    let name = p.non_empty("name")?;
    let version = match (p.opt_str("version")?, p.opt_str("alias")?) {
        (Some(v), _) => s.store.get_model_version(&name, &v).await?,
        (None, Some(a)) => s.store.get_model_version_by_alias(&name, &a).await?,
        (None, None) => return Err(ApiError::missing("version")),
    };
    let mut body = json!({ "model_version": version });
    if !version.model_id.is_empty()
        && let Ok(m) = s.store.get_logged_model(&version.model_id).await
    {
        body["logged_model"] = json!(m);
    }
    if version.run_id.is_empty() {
        return Ok(Json(body));
    }
    let run = s.store.get_run(&version.run_id).await?;
    let tag = |k: &str| {
        run.data
            .tags
            .iter()
            .find(|t| t.key == k)
            .map(|t| t.value.clone())
    };
    let environment: serde_json::Map<String, Value> = run
        .data
        .tags
        .iter()
        .filter_map(|t| {
            t.key
                .strip_prefix("smelt.env.")
                .map(|k| (k.to_string(), json!(t.value)))
        })
        .collect();
    let datasets: Vec<Value> = run
        .inputs
        .dataset_inputs
        .iter()
        .map(|d| {
            let profile: Value = serde_json::from_str(&d.dataset.profile).unwrap_or(Value::Null);
            let context = d.tags.iter().find(|t| t.key == smelt_track::store::DATASET_CONTEXT_TAG).map(|t| t.value.clone());
            json!({
                "name": d.dataset.name,
                "fingerprint": d.dataset.digest,
                "source": serde_json::from_str::<Value>(&d.dataset.source).unwrap_or(json!(d.dataset.source)),
                "schema": serde_json::from_str::<Value>(&d.dataset.schema).unwrap_or(Value::Null),
                "num_rows": profile.get("num_rows").cloned().unwrap_or(Value::Null),
                "context": context,
            })
        })
        .collect();
    body["code"] = json!({
        "git_commit": tag("mlflow.source.git.commit"),
        "git_dirty": tag("smelt.git.dirty").map(|d| d == "true"),
        "source": tag("mlflow.source.name"),
    });
    body["environment"] = Value::Object(environment);
    body["datasets"] = json!(datasets);
    body["run"] = json!(run);
    Ok(Json(body))
}

/// `GET /api/smelt/v1/datasets/runs?fingerprint=`: every run that used a dataset with that
/// fingerprint.
pub(crate) async fn dataset_runs(State(s): State<AppState>, p: Params) -> Answer {
    let fp = p.non_empty("fingerprint")?;
    let runs: Vec<Value> = s
        .store
        .runs_using_dataset(&fp)
        .await?
        .into_iter()
        .map(|(info, name, context)| json!({ "run": info, "dataset_name": name, "context": context }))
        .collect();
    Ok(Json(json!({ "fingerprint": fp, "runs": runs })))
}

/// How long a staging file (`name#N`) must go unwritten before gc treats it as left by a crash.
pub(crate) const STALE_STAGING: std::time::Duration = std::time::Duration::from_secs(3600);

/// `POST /api/smelt/v1/gc {"older_than_ms": N}`: hard-deletes runs deleted more than N ms ago
/// (all deleted runs when absent) with their metrics, params, tags and artifacts, removes
/// partial uploads a crash left in the artifact folder, and reports what was freed. Admin only
/// when authentication is on.
pub(crate) async fn gc(State(s): State<AppState>, p: Params) -> Answer {
    let cutoff = p
        .opt_i64("older_than_ms")?
        .map(|age| smelt_track::store::now_ms() - age.max(0));
    let purged = s.store.purge_deleted_runs(cutoff).await?;
    let mut freed = 0u64;
    let mut failed = Vec::new();
    for (id, uri) in &purged {
        match crate::routes::artifacts::resolve(&s, uri) {
            Ok((store, base)) => {
                freed += store.total_size(&base).await.unwrap_or(0);
                if let Err(e) = store.delete(&base).await {
                    tracing::warn!(run = %id, error = %e, "could not delete a purged run's artifacts");
                    failed.push(id.clone());
                }
            }
            Err(_) => failed.push(id.clone()),
        }
    }
    // Partial uploads a crash left behind (an upload in progress writes continuously, so an
    // hour without a write means nobody is writing).
    let (stale_files, stale_bytes) = s
        .artifacts
        .remove_stale_staging(STALE_STAGING)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "could not remove stale staging files");
            (0, 0)
        });
    let ids: Vec<&String> = purged.iter().map(|(id, _)| id).collect();
    Ok(Json(json!({
        "purged_run_ids": ids,
        "artifact_bytes_freed": freed,
        "artifact_delete_failed": failed,
        "stale_staging_files_removed": stale_files,
        "stale_staging_bytes_freed": stale_bytes,
    })))
}
