//! Smelt's web UI, served by `smelt server` at `/`: experiments, the runs table, run pages with
//! an artifact browser, metric charts that zoom into server-side downsampled windows, run
//! comparison and the model registry.
//!
//! The front end is plain JavaScript modules and CSS under `assets/` (no build step, no Node),
//! plus uPlot for time series; every file is compiled into the binary with `include_bytes!`,
//! compressed once on first request and served with an `ETag`. The pages talk to the server
//! through MLflow's REST API (`/ajax-api/2.0/mlflow/...`, as MLflow's own UI does) and the few
//! answers here under `/api/smelt/v1/ui/` that MLflow's API lacks (run counts per experiment, keys
//! in use, metric extremes, run groups).
//!
//! [`router`] is generic over the server's state: anything the tracking [`Store`] can be taken
//! from (`axum::extract::FromRef`), so the server's authentication layer wraps these routes too.

mod api;
mod assets;

use axum::Router;
use axum::extract::FromRef;
use axum::routing::get;
use smelt_track::Store;

pub use assets::{ASSETS, Asset};

/// The UI's routes: the page at `/` (and `/ui/`), its assets under `/ui/`, `/favicon.ico`, and
/// the JSON answers under `/api/smelt/v1/ui/`.
pub fn router<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    Store: FromRef<S>,
{
    Router::new()
        .route("/", get(assets::index))
        .route("/ui", get(assets::index))
        .route("/ui/", get(assets::index))
        .route("/ui/{*file}", get(assets::file))
        .route("/favicon.ico", get(assets::favicon))
        .route("/api/smelt/v1/ui/experiments", get(api::experiments))
        .route("/api/smelt/v1/ui/keys", get(api::keys))
        .route("/api/smelt/v1/ui/metric-ranges", get(api::metric_ranges))
        .route("/api/smelt/v1/ui/groups", get(api::groups))
}
