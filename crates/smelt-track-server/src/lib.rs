//! `smelt server`: Smelt's tracking store behind MLflow's REST API 2.0, so MLflow's own clients
//! (Python `mlflow`, its UI's calls, the Java and R clients) talk to it unchanged.
//!
//! Every route is served under `/api/2.0` and `/ajax-api/2.0` (the registry also under the old
//! `/api/2.0/preview`), with MLflow's JSON conventions and error codes.

pub mod auth;
mod error;
mod params;
mod routes;

use std::net::SocketAddr;

use axum::Router;
use axum::routing::{get, post};
use smelt_track::{ArtifactStore, Store};

pub use error::ApiError;

/// What every handler sees.
#[derive(Clone)]
pub struct AppState {
    /// The tracking store.
    pub store: Store,
    /// Where proxied artifacts (`mlflow-artifacts:/...`) live.
    pub artifacts: ArtifactStore,
    /// Users and permissions; `None`: no authentication (loopback only).
    pub auth: Option<std::sync::Arc<auth::AuthConfig>>,
}

/// The web UI's handlers read the store from the server's state.
impl axum::extract::FromRef<AppState> for Store {
    fn from_ref(state: &AppState) -> Self {
        state.store.clone()
    }
}

/// The MLflow release whose REST API this server implements: what `GET /version` answers, so
/// MLflow clients turn on the features of that release.
pub const MLFLOW_API_VERSION: &str = "3.17.2";

/// `GET /version`: [`MLFLOW_API_VERSION`] as MLflow answers it (plain text), and Smelt's own
/// version in the `x-smelt-version` header.
async fn version() -> impl axum::response::IntoResponse {
    (
        [("x-smelt-version", env!("CARGO_PKG_VERSION"))],
        MLFLOW_API_VERSION,
    )
}

/// `GET /api/smelt/v1/version`: `{"smelt": "<version>", "mlflow_api": "3.17.2"}`.
async fn smelt_version() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({
        "smelt": env!("CARGO_PKG_VERSION"),
        "mlflow_api": MLFLOW_API_VERSION,
    }))
}

/// The MLflow API routes, relative to a version prefix such as `/api/2.0`.
fn api() -> Router<AppState> {
    use routes::{logged_models as lm, search, tracking as t};
    Router::new()
        // Experiments.
        .route("/mlflow/experiments/create", post(t::create_experiment))
        .route("/mlflow/experiments/get", get(t::get_experiment))
        .route(
            "/mlflow/experiments/get-by-name",
            get(t::get_experiment_by_name),
        )
        .route(
            "/mlflow/experiments/search",
            get(search::experiments).post(search::experiments),
        )
        .route("/mlflow/experiments/update", post(t::update_experiment))
        .route("/mlflow/experiments/delete", post(t::delete_experiment))
        .route("/mlflow/experiments/restore", post(t::restore_experiment))
        .route(
            "/mlflow/experiments/set-experiment-tag",
            post(t::set_experiment_tag),
        )
        .route(
            "/mlflow/experiments/delete-experiment-tag",
            post(t::delete_experiment_tag),
        )
        // Runs.
        .route("/mlflow/runs/create", post(t::create_run))
        .route("/mlflow/runs/get", get(t::get_run))
        .route("/mlflow/runs/update", post(t::update_run))
        .route("/mlflow/runs/delete", post(t::delete_run))
        .route("/mlflow/runs/restore", post(t::restore_run))
        .route("/mlflow/runs/search", post(search::runs).get(search::runs))
        .route("/mlflow/runs/log-metric", post(t::log_metric))
        .route("/mlflow/runs/log-parameter", post(t::log_param))
        .route("/mlflow/runs/set-tag", post(t::set_tag))
        .route("/mlflow/runs/delete-tag", post(t::delete_tag))
        .route("/mlflow/runs/log-batch", post(t::log_batch))
        .route("/mlflow/runs/log-inputs", post(t::log_inputs))
        .route("/mlflow/runs/log-model", post(t::log_model))
        .route("/mlflow/runs/outputs", post(t::log_outputs))
        .route("/mlflow/artifacts/list", get(routes::artifacts::list_run))
        .route("/mlflow/metrics/get-history", get(t::get_metric_history))
        .route(
            "/mlflow/metrics/get-history-bulk",
            get(t::get_metric_history_bulk),
        )
        .route(
            "/mlflow/experiments/search-datasets",
            post(t::search_datasets),
        )
        .route(
            "/mlflow/upload-artifact",
            post(routes::artifacts::upload_run_artifact),
        )
        .route(
            "/mlflow/metrics/get-history-bulk-interval",
            get(t::get_metric_history_bulk_interval),
        )
        // MLflow 3 logged models.
        .route("/mlflow/logged-models", post(lm::create))
        .route("/mlflow/logged-models/search", post(search::logged_models))
        .route(
            "/mlflow/logged-models/{id}",
            get(lm::get).patch(lm::finalize).delete(lm::delete),
        )
        .route(
            "/mlflow/logged-models/{id}/tags",
            axum::routing::patch(lm::set_tags),
        )
        .route(
            "/mlflow/logged-models/{id}/tags/{key}",
            axum::routing::delete(lm::delete_tag),
        )
        .route("/mlflow/logged-models/{id}/params", post(lm::log_params))
        .route(
            "/mlflow/logged-models/{id}/artifacts/directories",
            get(routes::artifacts::list_logged_model),
        )
        .route(
            "/mlflow/logged-models/{id}/artifacts/files",
            get(routes::artifacts::get_logged_model_file),
        )
        .merge(registry())
}

fn registry() -> Router<AppState> {
    use axum::routing::{delete, patch};
    use routes::{registry as reg, search};
    Router::new()
        .route(
            "/mlflow/registered-models/create",
            post(reg::create_registered_model),
        )
        .route(
            "/mlflow/registered-models/get",
            get(reg::get_registered_model),
        )
        .route(
            "/mlflow/registered-models/search",
            get(search::registered_models).post(search::registered_models),
        )
        .route(
            "/mlflow/registered-models/rename",
            post(reg::rename_registered_model),
        )
        .route(
            "/mlflow/registered-models/update",
            patch(reg::update_registered_model),
        )
        .route(
            "/mlflow/registered-models/delete",
            delete(reg::delete_registered_model),
        )
        .route(
            "/mlflow/registered-models/get-latest-versions",
            get(reg::get_latest_versions).post(reg::get_latest_versions),
        )
        .route(
            "/mlflow/registered-models/set-tag",
            post(reg::set_registered_model_tag),
        )
        .route(
            "/mlflow/registered-models/delete-tag",
            delete(reg::delete_registered_model_tag),
        )
        .route(
            "/mlflow/registered-models/alias",
            post(reg::set_alias)
                .delete(reg::delete_alias)
                .get(reg::get_by_alias),
        )
        .route(
            "/mlflow/model-versions/create",
            post(reg::create_model_version),
        )
        .route("/mlflow/model-versions/get", get(reg::get_model_version))
        .route(
            "/mlflow/model-versions/search",
            get(search::model_versions).post(search::model_versions),
        )
        .route(
            "/mlflow/model-versions/update",
            patch(reg::update_model_version),
        )
        .route(
            "/mlflow/model-versions/delete",
            delete(reg::delete_model_version),
        )
        .route(
            "/mlflow/model-versions/transition-stage",
            post(reg::transition_stage),
        )
        .route(
            "/mlflow/model-versions/get-download-uri",
            get(reg::get_download_uri),
        )
        .route(
            "/mlflow/model-versions/set-tag",
            post(reg::set_model_version_tag),
        )
        .route(
            "/mlflow/model-versions/delete-tag",
            delete(reg::delete_model_version_tag),
        )
}

fn artifact_proxy() -> Router<AppState> {
    use routes::artifacts as a;
    Router::new()
        .route("/artifacts", get(a::list_proxy))
        .route("/artifacts/", get(a::list_proxy))
        .route(
            "/artifacts/{*path}",
            get(a::download)
                .put(a::upload)
                .post(a::upload)
                .delete(a::delete),
        )
        .route("/mpu/{*path}", post(a::multipart_unsupported))
        // Artifacts are streamed: no whole-body limit (the JSON routes keep theirs).
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The whole application: API routes under both prefixes, health and version, and MLflow-shaped
/// answers for unknown routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/2.0", api())
        .nest("/ajax-api/2.0", api())
        .nest("/api/2.0/preview", registry())
        .nest("/ajax-api/2.0/preview", registry())
        .nest("/api/2.0/mlflow-artifacts", artifact_proxy())
        .nest("/ajax-api/2.0/mlflow-artifacts", artifact_proxy())
        .route("/get-artifact", get(routes::artifacts::get_run_artifact))
        .route(
            "/model-versions/get-artifact",
            get(routes::artifacts::get_model_version_artifact),
        )
        // MLflow's UI (and its tests) also ask with a doubled slash, which MLflow's server takes.
        .route(
            "//model-versions/get-artifact",
            get(routes::artifacts::get_model_version_artifact),
        )
        .route("/api/smelt/v1/lineage", get(routes::native::lineage))
        .route(
            "/api/smelt/v1/datasets/runs",
            get(routes::native::dataset_runs),
        )
        .route("/api/smelt/v1/gc", post(routes::native::gc))
        .route("/api/smelt/v1/openapi.json", get(routes::native::openapi))
        // The web UI: `/`, `/ui/...` and `/api/smelt/v1/ui/...` (crate smelt-ui).
        .merge(smelt_ui::router())
        .route(
            "/api/smelt/v1/ui/table-preview",
            get(routes::preview::table_preview),
        )
        .route("/health", get(|| async { "OK" }))
        .route("/version", get(version))
        .route("/api/smelt/v1/version", get(smelt_version))
        .fallback(|uri: axum::http::Uri| async move {
            ApiError {
                code: smelt_track::ErrorCode::EndpointNotFound,
                message: format!("no route for {}", uri.path()),
            }
        })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::check,
        ))
        .with_state(state)
}

/// Serves `router` on `addr` until Ctrl-C or SIGTERM, then closes the store cleanly.
pub async fn serve(
    state: AppState,
    addr: SocketAddr,
    ready: impl FnOnce(SocketAddr),
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    let store = state.store.clone();
    ready(local);
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}
