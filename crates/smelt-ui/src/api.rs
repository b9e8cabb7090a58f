//! The JSON answers the UI needs beside MLflow's API (`/api/smelt/v1/ui/...`), errors shaped as
//! MLflow's (`{"error_code", "message"}`).

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use smelt_track::{ErrorCode, Store, TrackError};

/// An error as MLflow's body (`{"error_code", "message"}`): a store error (internals go to the log
/// only), or a request whose query does not read.
pub(crate) struct UiError {
    code: ErrorCode,
    message: String,
}

impl From<TrackError> for UiError {
    fn from(e: TrackError) -> Self {
        Self {
            code: e.code(),
            message: e.client_message(),
        }
    }
}

impl From<QueryRejection> for UiError {
    fn from(e: QueryRejection) -> Self {
        Self {
            code: ErrorCode::InvalidParameterValue,
            message: e.body_text(),
        }
    }
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (
            status,
            Json(json!({ "error_code": self.code.as_str(), "message": self.message })),
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
pub(crate) async fn keys(
    State(store): State<Store>,
    q: Result<Query<KeysQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = q?;
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
pub(crate) async fn metric_ranges(
    State(store): State<Store>,
    q: Result<Query<RunQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = q?;
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
pub(crate) async fn groups(
    State(store): State<Store>,
    q: Result<Query<GroupsQuery>, QueryRejection>,
) -> Answer {
    let Query(q) = q?;
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
