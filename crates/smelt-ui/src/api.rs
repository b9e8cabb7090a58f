//! The JSON answers the UI needs beside MLflow's API (`/api/smelt/v1/ui/...`), errors shaped as
//! MLflow's (`{"error_code", "message"}`).

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use smelt_track::{Store, TrackError};

/// A store error as MLflow's error body; internals go to the log only.
pub(crate) struct UiError(TrackError);

impl From<TrackError> for UiError {
    fn from(e: TrackError) -> Self {
        Self(e)
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        let message = if self.0.is_client_error() {
            self.0.to_string()
        } else {
            tracing::error!(error = %self.0, "internal error answering a UI request");
            "internal error; see the server log".to_string()
        };
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(json!({ "error_code": code.as_str(), "message": message })),
        )
            .into_response()
    }
}

type Answer = Result<Json<Value>, UiError>;

/// `GET /api/smelt/v1/ui/experiments`: run counts, running runs and last activity per experiment.
pub(crate) async fn experiments(State(store): State<Store>) -> Answer {
    Ok(Json(
        json!({ "experiments": store.experiment_activity().await? }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct KeysQuery {
    /// One experiment (one id, so the server's permission check sees exactly what is read).
    experiment_id: String,
}

/// `GET /api/smelt/v1/ui/keys?experiment_id=1`: the param, metric and tag keys of the
/// experiment's latest runs, for column pickers and filter completion.
pub(crate) async fn keys(State(store): State<Store>, Query(q): Query<KeysQuery>) -> Answer {
    let keys = store.keys_in_use(&[q.experiment_id]).await?;
    Ok(Json(json!({
        "keys": keys,
        "from_latest_runs": smelt_track::store::KEYS_FROM_LATEST_RUNS,
    })))
}

#[derive(Deserialize)]
pub(crate) struct RunQuery {
    run_id: String,
}

/// `GET /api/smelt/v1/ui/metric-ranges?run_id=`: each metric's lowest and highest value.
pub(crate) async fn metric_ranges(State(store): State<Store>, Query(q): Query<RunQuery>) -> Answer {
    Ok(Json(
        json!({ "ranges": store.metric_ranges(&q.run_id).await? }),
    ))
}

#[derive(Deserialize)]
pub(crate) struct GroupsQuery {
    experiment_id: String,
    /// `params.<key>` or `tags.<key>`.
    by: String,
    #[serde(default)]
    filter: String,
    /// Comma-separated metric keys to summarise per group.
    #[serde(default)]
    metrics: String,
}

/// `GET /api/smelt/v1/ui/groups?experiment_id=&by=params.model&filter=&metrics=auc,loss`: every
/// matching run of the experiment grouped by a param or tag, with counts and metric mean/min/max
/// (the runs table's group headers: over all runs, not one page).
pub(crate) async fn groups(State(store): State<Store>, Query(q): Query<GroupsQuery>) -> Answer {
    let metrics: Vec<String> = q
        .metrics
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(str::to_string)
        .collect();
    let groups = store
        .group_runs(&q.experiment_id, &q.filter, &q.by, &metrics)
        .await?;
    Ok(Json(json!({
        "groups": groups,
        "max_groups": smelt_track::store::MAX_GROUPS,
    })))
}
