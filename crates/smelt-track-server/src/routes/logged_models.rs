//! MLflow 3 logged models (`/mlflow/logged-models/...`).

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use smelt_track::store::LoggedModelCreate;

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;
use crate::params::UrlPath as Path;

type Answer = Result<Json<Value>, ApiError>;

pub(crate) async fn create(State(s): State<AppState>, p: Params) -> Answer {
    let m = s
        .store
        .create_logged_model(LoggedModelCreate {
            experiment_id: p.non_empty("experiment_id")?,
            name: p.opt_str("name")?.unwrap_or_default(),
            model_type: p.opt_str("model_type")?.unwrap_or_default(),
            source_run_id: p.opt_str("source_run_id")?.unwrap_or_default(),
            params: p.kvs("params")?,
            tags: p.kvs("tags")?,
        })
        .await?;
    Ok(Json(json!({ "model": m })))
}

pub(crate) async fn get(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    Ok(Json(
        json!({ "model": s.store.get_logged_model(&id).await? }),
    ))
}

pub(crate) async fn finalize(
    State(s): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    let m = s
        .store
        .finalize_logged_model(&id, &p.non_empty("status")?)
        .await?;
    Ok(Json(json!({ "model": m })))
}

pub(crate) async fn delete(State(s): State<AppState>, Path(id): Path<String>) -> Answer {
    s.store.delete_logged_model(&id).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn set_tags(
    State(s): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    s.store.set_logged_model_tags(&id, &p.kvs("tags")?).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn delete_tag(
    State(s): State<AppState>,
    Path((id, key)): Path<(String, String)>,
) -> Answer {
    s.store.delete_logged_model_tag(&id, &key).await?;
    Ok(Json(json!({})))
}

pub(crate) async fn log_params(
    State(s): State<AppState>,
    Path(id): Path<String>,
    p: Params,
) -> Answer {
    s.store
        .log_logged_model_params(&id, &p.kvs("params")?)
        .await?;
    Ok(Json(json!({})))
}
