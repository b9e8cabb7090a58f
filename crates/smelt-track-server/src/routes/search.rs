//! The search endpoints: runs, experiments, registered models, model versions, logged models.

use axum::Json;
use axum::extract::State;
use serde::ser::{Serialize, SerializeMap, Serializer};
use smelt_track::store::{Page, SearchQuery, ViewType};

use crate::AppState;
use crate::error::ApiError;
use crate::params::Params;

type Answer<T> = Result<Json<Paged<T>>, ApiError>;

fn query(p: &Params, view_key: &str) -> Result<SearchQuery, ApiError> {
    query_with_order(p, view_key, p.str_list("order_by")?)
}

fn query_with_order(
    p: &Params,
    view_key: &str,
    order_by: Vec<String>,
) -> Result<SearchQuery, ApiError> {
    Ok(SearchQuery {
        filter: p.opt_str("filter")?.unwrap_or_default(),
        order_by,
        max_results: p.opt_i64("max_results")?,
        page_token: p.opt_str("page_token")?,
        view_type: ViewType::parse(&p.opt_str(view_key)?.unwrap_or_default())?,
    })
}

/// `logged-models/search`'s `order_by`: MLflow sends objects (`{"field_name", "ascending"}`);
/// strings (`"creation_timestamp DESC"`) are taken too.
fn logged_model_order(p: &Params) -> Result<Vec<String>, ApiError> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Order {
        Text(String),
        Field {
            field_name: String,
            #[serde(default = "ascending")]
            ascending: bool,
        },
    }
    fn ascending() -> bool {
        true
    }
    if let Ok(texts) = p.str_list("order_by") {
        return Ok(texts);
    }
    Ok(p.typed_list::<Order>("order_by")?
        .into_iter()
        .map(|o| match o {
            Order::Text(t) => t,
            Order::Field {
                field_name,
                ascending,
            } => format!("{field_name} {}", if ascending { "ASC" } else { "DESC" }),
        })
        .collect())
}

/// A page as MLflow sends it: `{"<key>": [...], "next_page_token": "..."}`. Serialized
/// straight from the items (a `serde_json::Value` in between would copy every run of a big
/// search into a tree of maps first).
pub(crate) struct Paged<T> {
    key: &'static str,
    page: Page<T>,
}

impl<T: Serialize> Serialize for Paged<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let token = self.page.next_page_token.as_ref();
        let mut map = serializer.serialize_map(Some(1 + usize::from(token.is_some())))?;
        map.serialize_entry(self.key, &self.page.items)?;
        if let Some(t) = token {
            map.serialize_entry("next_page_token", t)?;
        }
        map.end()
    }
}

fn paged<T: Serialize>(key: &'static str, page: Page<T>) -> Answer<T> {
    Ok(Json(Paged { key, page }))
}

pub(crate) async fn runs(
    State(s): State<AppState>,
    p: Params,
) -> Answer<smelt_track::entities::Run> {
    let ids = p.str_list("experiment_ids")?;
    let page = s
        .store
        .search_runs(&ids, &query(&p, "run_view_type")?)
        .await?;
    paged("runs", page)
}

pub(crate) async fn experiments(
    State(s): State<AppState>,
    p: Params,
) -> Answer<smelt_track::entities::Experiment> {
    paged(
        "experiments",
        s.store.search_experiments(&query(&p, "view_type")?).await?,
    )
}

pub(crate) async fn registered_models(
    State(s): State<AppState>,
    p: Params,
) -> Answer<smelt_track::entities::RegisteredModel> {
    paged(
        "registered_models",
        s.store
            .search_registered_models(&query(&p, "view_type")?)
            .await?,
    )
}

pub(crate) async fn model_versions(
    State(s): State<AppState>,
    p: Params,
) -> Answer<smelt_track::entities::ModelVersion> {
    paged(
        "model_versions",
        s.store
            .search_model_versions(&query(&p, "view_type")?)
            .await?,
    )
}

pub(crate) async fn logged_models(
    State(s): State<AppState>,
    p: Params,
) -> Answer<smelt_track::entities::LoggedModel> {
    let ids = p.str_list("experiment_ids")?;
    let q = query_with_order(&p, "view_type", logged_model_order(&p)?)?;
    let datasets: Vec<smelt_track::entities::DatasetFilter> = p.typed_list("datasets")?;
    let page = s.store.search_logged_models_on(&ids, &q, &datasets).await?;
    paged("models", page)
}
