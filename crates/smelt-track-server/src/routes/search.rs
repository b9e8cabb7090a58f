//! The search endpoints: runs, experiments, registered models, model versions, logged models.

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use smelt_track::store::{Page, SearchQuery, ViewType};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer = Result<Json<Value>, ApiError>;

fn query(p: &Params, view_key: &str) -> Result<SearchQuery, ApiError> {
    Ok(SearchQuery {
        filter: p.opt_str("filter")?.unwrap_or_default(),
        order_by: p.str_list("order_by")?,
        max_results: p.opt_i64("max_results")?,
        page_token: p.opt_str("page_token")?,
        view_type: ViewType::parse(&p.opt_str(view_key)?.unwrap_or_default())?,
    })
}

fn paged<T: serde::Serialize>(key: &str, page: Page<T>) -> Answer {
    let mut body = json!({ key: page.items });
    if let Some(t) = page.next_page_token {
        body["next_page_token"] = json!(t);
    }
    Ok(Json(body))
}

pub(crate) async fn runs(State(s): State<AppState>, p: Params) -> Answer {
    let ids = p.str_list("experiment_ids")?;
    let page = s
        .store
        .search_runs(&ids, &query(&p, "run_view_type")?)
        .await?;
    paged("runs", page)
}

pub(crate) async fn experiments(State(s): State<AppState>, p: Params) -> Answer {
    paged(
        "experiments",
        s.store.search_experiments(&query(&p, "view_type")?).await?,
    )
}

pub(crate) async fn registered_models(State(s): State<AppState>, p: Params) -> Answer {
    paged(
        "registered_models",
        s.store
            .search_registered_models(&query(&p, "view_type")?)
            .await?,
    )
}

pub(crate) async fn model_versions(State(s): State<AppState>, p: Params) -> Answer {
    paged(
        "model_versions",
        s.store
            .search_model_versions(&query(&p, "view_type")?)
            .await?,
    )
}

pub(crate) async fn logged_models(State(s): State<AppState>, p: Params) -> Answer {
    let ids = p.str_list("experiment_ids")?;
    let page = s
        .store
        .search_logged_models(&ids, &query(&p, "view_type")?)
        .await?;
    paged("models", page)
}
