//! The model registry: registered models, versions, aliases, tags.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use smelt_track::store::VersionCreate;

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer = Result<Json<Value>, ApiError>;

fn ok() -> Answer {
    Ok(Json(json!({})))
}

pub(crate) async fn create_registered_model(State(s): State<AppState>, p: Params) -> Answer {
    let m = s
        .store
        .create_registered_model(
            &p.non_empty("name")?,
            &p.kvs("tags")?,
            &p.opt_str("description")?.unwrap_or_default(),
        )
        .await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub(crate) async fn get_registered_model(State(s): State<AppState>, p: Params) -> Answer {
    Ok(Json(
        json!({ "registered_model": s.store.get_registered_model(&p.non_empty("name")?).await? }),
    ))
}

pub(crate) async fn rename_registered_model(State(s): State<AppState>, p: Params) -> Answer {
    let m = s
        .store
        .rename_registered_model(&p.non_empty("name")?, &p.non_empty("new_name")?)
        .await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub(crate) async fn update_registered_model(State(s): State<AppState>, p: Params) -> Answer {
    let m = s
        .store
        .update_registered_model(
            &p.non_empty("name")?,
            &p.opt_str("description")?.unwrap_or_default(),
        )
        .await?;
    Ok(Json(json!({ "registered_model": m })))
}

pub(crate) async fn delete_registered_model(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_registered_model(&p.non_empty("name")?)
        .await?;
    ok()
}

pub(crate) async fn get_latest_versions(State(s): State<AppState>, p: Params) -> Answer {
    let name = p.non_empty("name")?;
    s.store.get_registered_model(&name).await?;
    let versions = s
        .store
        .latest_versions(&name, &p.str_list("stages")?)
        .await?;
    Ok(Json(json!({ "model_versions": versions })))
}

pub(crate) async fn set_registered_model_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .set_registered_model_tag(
            &p.non_empty("name")?,
            &p.non_empty("key")?,
            &p.str("value")?,
        )
        .await?;
    ok()
}

pub(crate) async fn delete_registered_model_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_registered_model_tag(&p.non_empty("name")?, &p.non_empty("key")?)
        .await?;
    ok()
}

pub(crate) async fn set_alias(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .set_registered_model_alias(
            &p.non_empty("name")?,
            &p.non_empty("alias")?,
            &p.non_empty("version")?,
        )
        .await?;
    ok()
}

pub(crate) async fn delete_alias(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_registered_model_alias(&p.non_empty("name")?, &p.non_empty("alias")?)
        .await?;
    ok()
}

pub(crate) async fn get_by_alias(State(s): State<AppState>, p: Params) -> Answer {
    let v = s
        .store
        .get_model_version_by_alias(&p.non_empty("name")?, &p.non_empty("alias")?)
        .await?;
    Ok(Json(json!({ "model_version": v })))
}

pub(crate) async fn create_model_version(State(s): State<AppState>, p: Params) -> Answer {
    let v = s
        .store
        .create_model_version(VersionCreate {
            name: p.non_empty("name")?,
            source: p.non_empty("source")?,
            run_id: p.opt_str("run_id")?.unwrap_or_default(),
            tags: p.kvs("tags")?,
            run_link: p.opt_str("run_link")?.unwrap_or_default(),
            description: p.opt_str("description")?.unwrap_or_default(),
            model_id: p.opt_str("model_id")?.unwrap_or_default(),
        })
        .await?;
    Ok(Json(json!({ "model_version": v })))
}

pub(crate) async fn get_model_version(State(s): State<AppState>, p: Params) -> Answer {
    let v = s
        .store
        .get_model_version(&p.non_empty("name")?, &p.non_empty("version")?)
        .await?;
    Ok(Json(json!({ "model_version": v })))
}

pub(crate) async fn update_model_version(State(s): State<AppState>, p: Params) -> Answer {
    let v = s
        .store
        .update_model_version(
            &p.non_empty("name")?,
            &p.non_empty("version")?,
            &p.opt_str("description")?.unwrap_or_default(),
        )
        .await?;
    Ok(Json(json!({ "model_version": v })))
}

pub(crate) async fn delete_model_version(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_model_version(&p.non_empty("name")?, &p.non_empty("version")?)
        .await?;
    ok()
}

pub(crate) async fn transition_stage(State(s): State<AppState>, p: Params) -> Answer {
    let v = s
        .store
        .transition_model_version_stage(
            &p.non_empty("name")?,
            &p.non_empty("version")?,
            &p.non_empty("stage")?,
            p.opt_bool("archive_existing_versions")?.unwrap_or(false),
        )
        .await?;
    Ok(Json(json!({ "model_version": v })))
}

pub(crate) async fn get_download_uri(State(s): State<AppState>, p: Params) -> Answer {
    let uri = s
        .store
        .get_model_version_download_uri(&p.non_empty("name")?, &p.non_empty("version")?)
        .await?;
    Ok(Json(json!({ "artifact_uri": uri })))
}

pub(crate) async fn set_model_version_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .set_model_version_tag(
            &p.non_empty("name")?,
            &p.non_empty("version")?,
            &p.non_empty("key")?,
            &p.str("value")?,
        )
        .await?;
    ok()
}

pub(crate) async fn delete_model_version_tag(State(s): State<AppState>, p: Params) -> Answer {
    s.store
        .delete_model_version_tag(
            &p.non_empty("name")?,
            &p.non_empty("version")?,
            &p.non_empty("key")?,
        )
        .await?;
    ok()
}
