//! Rollouts over HTTP (`smelt serve` also drives them from the CLI through these routes):
//!
//! * `GET /admin/models[/{name}]`: what answers, what is kept for rollback, the challenger
//! * `POST /admin/models/{name}/deploy {"source": …}`: a new primary; the old one is kept loaded
//! * `POST /admin/models/{name}/challenger {"source": …, "split": …}`: load a challenger, with
//!   `{"canary": {"percent": 10}}`, `{"sticky": {"percent": 50, "header": "x-user-id"}}` or
//!   `"shadow"`; `DELETE` removes it
//! * `POST /admin/models/{name}/split {…}`: change the split
//! * `POST /admin/models/{name}/promote`: the challenger answers; the old primary is kept
//! * `POST /admin/models/{name}/rollback`: the previous version answers again, at once

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::app::App;
use crate::endpoint::{Endpoint, Routing, Split, Version};
use crate::error::{ApiError, Protocol};
use crate::source::Source;

const P: Protocol = Protocol::Plain;

fn describe(v: &Version) -> Value {
    json!({
        "version": v.version,
        "source": v.resolved,
        "loaded_at": chrono::DateTime::<chrono::Utc>::from(v.loaded_at).to_rfc3339(),
        "load_seconds": v.load_seconds,
        "queued": v.batcher.queued(),
    })
}

/// The routing as JSON; a challenger that scored in shadow also shows how far its answers
/// agree with the answering version's.
pub fn routing_json(app: &App, e: &Endpoint, r: &Routing) -> Value {
    json!({
        "name": e.name,
        "primary": describe(&r.primary),
        "previous": r.previous.as_deref().map(describe),
        "challenger": r.challenger.as_ref().map(|(v, s)| {
            let mut d = describe(v);
            d["split"] = serde_json::to_value(s).unwrap_or(Value::Null);
            if let Some(a) = app.metrics.shadow_total(&e.name, &v.version) {
                d["shadow_agreement"] = json!({
                    "rows": a.rows,
                    "agreeing": a.agreeing,
                    "share": a.agreeing as f64 / a.rows as f64,
                    "mean_abs_difference": a.difference / a.rows as f64,
                });
            }
            d
        }),
    })
}

pub async fn list(State(app): State<App>) -> Json<Value> {
    Json(Value::Array(
        app.models
            .all()
            .iter()
            .map(|e| routing_json(&app, e, &e.routing()))
            .collect(),
    ))
}

pub async fn show(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    Ok(Json(routing_json(&app, &e, &e.routing())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoadBody {
    source: String,
    #[serde(default)]
    split: Option<Split>,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &Bytes, what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(P, format!("{what}: {e}")))
}

fn check_split(split: &Split) -> Result<(), ApiError> {
    match split {
        Split::Canary { percent } | Split::Sticky { percent, .. }
            if !(0.0..=100.0).contains(percent) =>
        {
            Err(ApiError::bad_request(
                P,
                format!("split percent {percent} is not between 0 and 100"),
            ))
        }
        _ => Ok(()),
    }
}

async fn load(app: &App, e: &Endpoint, source: &str) -> Result<Version, ApiError> {
    let source = Source::parse(source).map_err(|err| ApiError::bad_request(P, err.to_string()))?;
    let mut settings = e.settings.clone();
    if settings.version.is_none()
        && matches!(
            source,
            Source::Dir(_) | Source::Xgboost(_) | Source::Lightgbm(_) | Source::Onnx(_)
        )
    {
        settings.version = Some(e.next_label());
    }
    let (app2, name) = (app.clone(), e.name.clone());
    let loaded = tokio::task::spawn_blocking(move || {
        Version::load(&name, &source, &settings, &app2.metrics, &app2.lookup)
    })
    .await
    .map_err(|_| {
        ApiError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            P,
            "loading failed",
        )
    })?;
    loaded.map_err(|err| ApiError::bad_request(P, err.to_string()))
}

pub async fn deploy(
    State(app): State<App>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let b: LoadBody = parse(&body, "deploy body ({\"source\": …})")?;
    let v = load(&app, &e, &b.source).await?;
    tracing::info!(model = %name, version = %v.version, source = %v.resolved, "deployed");
    let r = e.deploy(v);
    Ok(Json(routing_json(&app, &e, &r)))
}

pub async fn challenge(
    State(app): State<App>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let b: LoadBody = parse(&body, "challenger body ({\"source\": …, \"split\": …})")?;
    let split = b.split.unwrap_or(Split::Canary { percent: 10.0 });
    check_split(&split)?;
    let v = load(&app, &e, &b.source).await?;
    tracing::info!(model = %name, version = %v.version, ?split, "challenger loaded");
    let r = e.challenge(v, split);
    Ok(Json(routing_json(&app, &e, &r)))
}

pub async fn split(
    State(app): State<App>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let split: Split = parse(&body, "split body")?;
    check_split(&split)?;
    let r = e.resplit(split).map_err(|m| ApiError::bad_request(P, m))?;
    Ok(Json(routing_json(&app, &e, &r)))
}

pub async fn promote(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let r = e.promote().map_err(|m| ApiError::bad_request(P, m))?;
    tracing::info!(model = %name, version = %r.primary.version, "promoted");
    Ok(Json(routing_json(&app, &e, &r)))
}

pub async fn rollback(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let r = e.rollback().map_err(|m| ApiError::bad_request(P, m))?;
    tracing::info!(model = %name, version = %r.primary.version, "rolled back");
    Ok(Json(routing_json(&app, &e, &r)))
}

pub async fn end_challenge(
    State(app): State<App>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let e = app.endpoint(&name, P)?;
    let r = e.end_challenge();
    Ok(Json(routing_json(&app, &e, &r)))
}
