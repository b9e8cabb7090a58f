//! Searches with MLflow's filter and order_by grammar (plus OR and parentheses), paged with
//! opaque tokens. Filters are parsed by [`crate::filter`] and compiled to bound SQL; nothing a
//! client sends is ever spliced into a query.

use sqlx::{AssertSqlSafe, Row};

use super::experiments::{ViewType, experiment_from_row};
use super::runs::RUN_INFO_COLUMNS;
use super::{Store, decode_page_token, encode_page_token, max_results, validate};
use crate::entities::{Experiment, LoggedModel, ModelVersion, RegisteredModel, Run};
use crate::error::{Result, TrackError};
use crate::filter::{
    Bind, SearchKind, bind_all, compile_order_by, compile_order_by_joined, compile_where,
    parse_filter, parse_order_by,
};

/// Most runs one search page may return (MLflow guarantees at least 50,000).
pub const MAX_RUNS_PAGE: i64 = 50_000;

/// Pages smaller than this are read by their ids (see `Store::search_runs_by_ids`); larger ones
/// in one statement (their ids would be too many binds).
const PAGE_BY_IDS: i64 = 2_000;

/// One page of a search.
#[derive(Clone, Debug)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Token for the next page; `None` on the last.
    pub next_page_token: Option<String>,
}

/// A search request, shared by all kinds.
#[derive(Clone, Debug, Default)]
pub struct SearchQuery {
    /// Filter string (empty: everything).
    pub filter: String,
    /// order_by clauses.
    pub order_by: Vec<String>,
    /// Page size (each kind has its default and maximum).
    pub max_results: Option<i64>,
    /// Token from the previous page.
    pub page_token: Option<String>,
    /// Lifecycle stages to include.
    pub view_type: ViewType,
}

/// The parts of a search statement after the caller's own conditions.
struct Clauses {
    /// ` LEFT JOIN …` of the ordering entities (runs only), or empty.
    joins: String,
    /// ` AND (filter)`, or empty.
    filter: String,
    /// The `ORDER BY` list (without the keywords).
    order: String,
    /// ` LIMIT $a OFFSET $b`.
    limit: String,
}

impl Clauses {
    /// ` ORDER BY … LIMIT … OFFSET …`.
    fn tail(&self) -> String {
        format!(" ORDER BY {}{}", self.order, self.limit)
    }
}

/// Compiles the filter and order_by of `q`, and the page's limit (one extra row, to know
/// whether another page follows) and offset.
fn clauses(
    kind: SearchKind,
    q: &SearchQuery,
    binds: &mut Vec<Bind>,
    limit: i64,
    offset: i64,
) -> Result<Clauses> {
    let filter = parse_filter(kind, &q.filter)?;
    let order = parse_order_by(kind, &q.order_by)?;
    let filter = match filter {
        Some(expr) => format!(" AND ({})", compile_where(kind, &expr, binds)),
        None => String::new(),
    };
    // Runs sort by joined metrics, params and tags (the statement is built for it); the other
    // kinds' few rows keep the lookups.
    let (joins, order) = if kind == SearchKind::Runs {
        compile_order_by_joined(kind, &order, binds)
    } else {
        (String::new(), compile_order_by(kind, &order, binds))
    };
    binds.push(Bind::Int(limit + 1));
    let lim = binds.len();
    binds.push(Bind::Int(offset));
    let off = binds.len();
    Ok(Clauses {
        joins,
        filter,
        order,
        limit: format!(" LIMIT ${lim} OFFSET ${off}"),
    })
}

fn page<T>(mut items: Vec<T>, limit: i64, offset: i64) -> Page<T> {
    let next_page_token = if items.len() as i64 > limit {
        items.truncate(limit as usize);
        Some(encode_page_token(offset + limit))
    } else {
        None
    };
    Page {
        items,
        next_page_token,
    }
}

impl Store {
    /// `runs/search`: runs of the given experiments matching a filter, ordered and paged.
    pub async fn search_runs(
        &self,
        experiment_ids: &[String],
        q: &SearchQuery,
    ) -> Result<Page<Run>> {
        let limit = max_results(q.max_results, 1000, MAX_RUNS_PAGE)?;
        let offset = decode_page_token(q.page_token.as_deref())?;
        if experiment_ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let mut binds = Vec::new();
        for id in experiment_ids {
            binds.push(Bind::Int(validate::experiment_id(id)?));
        }
        let ids = (1..=binds.len())
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let c = clauses(SearchKind::Runs, q, &mut binds, limit, offset)?;
        let from = format!(
            "FROM runs r{} WHERE r.experiment_id IN ({ids}) AND {}{}",
            c.joins,
            q.view_type.sql("r.lifecycle_stage"),
            c.filter,
        );
        if limit < PAGE_BY_IDS {
            return self
                .search_runs_by_ids(&from, &c, binds, limit, offset)
                .await;
        }
        // The page (one row more than asked, to know whether another follows), numbered in
        // its order; `load_runs` reads it back as one row.
        let source = format!(
            "SELECT {RUN_INFO_COLUMNS}, ROW_NUMBER() OVER (ORDER BY {}) AS pos {from}{}",
            c.order,
            c.tail(),
        );
        let (items, rows) = self.load_runs(&source, binds, offset + limit).await?;
        Ok(Page {
            items,
            next_page_token: (rows > limit).then(|| encode_page_token(offset + limit)),
        })
    }

    /// A page of up to [`PAGE_BY_IDS`] runs in two steps: the page's ids in order (an ordered,
    /// limited scan), then those runs numbered by their place. Numbering in the same statement
    /// (`ROW_NUMBER() OVER (ORDER BY …)`) evaluates a metric or param order a second time for
    /// every run of the experiment: a sort by a metric over 10,000 runs took 75 ms that way and
    /// 25 ms this way (SQLite). The run that a concurrent delete removes between the two steps
    /// is left out of the page, as if deleted a moment earlier.
    async fn search_runs_by_ids(
        &self,
        from: &str,
        c: &Clauses,
        binds: Vec<Bind>,
        limit: i64,
        offset: i64,
    ) -> Result<Page<Run>> {
        let sql = format!("SELECT r.run_uuid {from}{}", c.tail());
        let ids: Vec<String> = sqlx::query_with(AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| r.try_get::<String, _>(0))
            .collect::<std::result::Result<_, _>>()?;
        let rows = ids.len() as i64;
        if ids.is_empty() {
            return Ok(Page {
                items: Vec::new(),
                next_page_token: None,
            });
        }
        let mut page_binds = Vec::with_capacity(ids.len());
        let mut cases = String::new();
        let mut list = Vec::with_capacity(ids.len());
        for (i, id) in ids.into_iter().enumerate() {
            page_binds.push(Bind::Text(id));
            let ph = page_binds.len();
            // Positions are computed integers, never client text.
            cases.push_str(&format!(" WHEN ${ph} THEN {}", offset + i as i64 + 1));
            list.push(format!("${ph}"));
        }
        let source = format!(
            "SELECT {RUN_INFO_COLUMNS}, CASE r.run_uuid{cases} END AS pos FROM runs r \
             WHERE r.run_uuid IN ({})",
            list.join(", ")
        );
        let (items, _) = self.load_runs(&source, page_binds, offset + limit).await?;
        Ok(Page {
            items,
            next_page_token: (rows > limit).then(|| encode_page_token(offset + limit)),
        })
    }

    /// `experiments/search`.
    pub async fn search_experiments(&self, q: &SearchQuery) -> Result<Page<Experiment>> {
        let limit = max_results(q.max_results, 1000, 50_000)?;
        let offset = decode_page_token(q.page_token.as_deref())?;
        let mut binds = Vec::new();
        let c = clauses(SearchKind::Experiments, q, &mut binds, limit, offset)?;
        let sql = format!(
            "SELECT e.* FROM experiments e WHERE {}{}{}",
            q.view_type.sql("e.lifecycle_stage"),
            c.filter,
            c.tail()
        );
        let rows = sqlx::query_with(AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut e = experiment_from_row(row)?;
            e.tags = self
                .experiment_tags(super::int(row, "experiment_id")?)
                .await?;
            items.push(e);
        }
        Ok(page(items, limit, offset))
    }

    /// `registered-models/search`.
    pub async fn search_registered_models(&self, q: &SearchQuery) -> Result<Page<RegisteredModel>> {
        let limit = max_results(q.max_results, 100, 1000)?;
        let offset = decode_page_token(q.page_token.as_deref())?;
        let mut binds = Vec::new();
        let c = clauses(SearchKind::RegisteredModels, q, &mut binds, limit, offset)?;
        let sql = format!(
            "SELECT m.* FROM registered_models m WHERE 1 = 1{}{}",
            c.filter,
            c.tail()
        );
        let rows = sqlx::query_with(AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.registered_model_from_row(row).await?);
        }
        Ok(page(items, limit, offset))
    }

    /// `model-versions/search`.
    pub async fn search_model_versions(&self, q: &SearchQuery) -> Result<Page<ModelVersion>> {
        let limit = max_results(q.max_results, 10_000, 200_000)?;
        let offset = decode_page_token(q.page_token.as_deref())?;
        let mut binds = Vec::new();
        let c = clauses(SearchKind::ModelVersions, q, &mut binds, limit, offset)?;
        let sql = format!(
            "SELECT v.* FROM model_versions v WHERE 1 = 1{}{}",
            c.filter,
            c.tail()
        );
        let rows = sqlx::query_with(AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.model_version_from_row(row).await?);
        }
        Ok(page(items, limit, offset))
    }

    /// `logged-models/search`.
    pub async fn search_logged_models(
        &self,
        experiment_ids: &[String],
        q: &SearchQuery,
    ) -> Result<Page<LoggedModel>> {
        self.search_logged_models_on(experiment_ids, q, &[]).await
    }

    /// `logged-models/search` with its `datasets` filter: only models with a metric logged on
    /// one of `datasets` (a name, and the digest too when given), as MLflow does.
    pub async fn search_logged_models_on(
        &self,
        experiment_ids: &[String],
        q: &SearchQuery,
        datasets: &[crate::entities::DatasetFilter],
    ) -> Result<Page<LoggedModel>> {
        let limit = max_results(q.max_results, 100, 10_000)?;
        let offset = decode_page_token(q.page_token.as_deref())?;
        let mut binds = Vec::new();
        for id in experiment_ids {
            binds.push(Bind::Int(validate::experiment_id(id)?));
        }
        let exp_sql = if experiment_ids.is_empty() {
            return Err(TrackError::invalid(
                "Missing value for required parameter 'experiment_ids'.",
            ));
        } else {
            format!(
                "lm.experiment_id IN ({})",
                (1..=binds.len())
                    .map(|i| format!("${i}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let mut on_datasets = Vec::new();
        for d in datasets {
            binds.push(Bind::Text(d.dataset_name.clone()));
            let mut cond = format!("x.dataset_name = ${}", binds.len());
            if let Some(digest) = &d.dataset_digest {
                binds.push(Bind::Text(digest.clone()));
                cond.push_str(&format!(" AND x.dataset_digest = ${}", binds.len()));
            }
            on_datasets.push(format!("({cond})"));
        }
        let dataset_sql = if on_datasets.is_empty() {
            String::new()
        } else {
            format!(
                " AND EXISTS (SELECT 1 FROM logged_model_metrics x WHERE x.model_id = lm.model_id AND ({}))",
                on_datasets.join(" OR ")
            )
        };
        let c = clauses(SearchKind::LoggedModels, q, &mut binds, limit, offset)?;
        let sql = format!(
            "SELECT lm.* FROM logged_models lm WHERE {exp_sql} AND {}{dataset_sql}{}{}",
            q.view_type.sql("lm.lifecycle_stage"),
            c.filter,
            c.tail()
        );
        let rows = sqlx::query_with(AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for row in &rows {
            items.push(self.logged_model_from_row(row).await?);
        }
        Ok(page(items, limit, offset))
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::backends;
    use super::super::{BatchLog, RunCreate};
    use super::*;
    use crate::entities::{KeyValue, Metric};

    /// Small pages (read by their ids, ordering entities joined) and large ones (one statement
    /// numbered by a window) order alike: numbers, then NaN, then runs without the metric, ties
    /// broken by a param, then start time.
    #[tokio::test]
    async fn small_and_large_pages_order_alike() {
        for (s, _dir) in backends().await {
            let exp = s.create_experiment("order", None, &[]).await.expect("exp");
            for i in 0..30_i64 {
                let id = s
                    .create_run(RunCreate {
                        experiment_id: exp.clone(),
                        start_time: Some(i),
                        ..Default::default()
                    })
                    .await
                    .expect("run")
                    .info
                    .run_id;
                let value = match i {
                    0..=19 => (i % 7) as f64,
                    20..=22 => f64::NAN,
                    _ => continue, // no metric, no param
                };
                let batch = BatchLog {
                    metrics: vec![Metric {
                        key: "m".into(),
                        value,
                        timestamp: 0,
                        step: 0,
                        run_id: None,
                    }],
                    params: vec![KeyValue::new("p", format!("{}", i % 3))],
                    tags: vec![],
                };
                s.log_batch(&id, batch).await.expect("log");
            }
            let ids = [exp.clone()];
            let order = vec!["metrics.m DESC".to_string(), "params.p ASC".to_string()];
            let mut small = Vec::new();
            let mut token = None;
            loop {
                let page = s
                    .search_runs(
                        &ids,
                        &SearchQuery {
                            order_by: order.clone(),
                            max_results: Some(7),
                            page_token: token,
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("page");
                small.extend(page.items);
                token = page.next_page_token;
                if token.is_none() {
                    break;
                }
            }
            let large = s
                .search_runs(
                    &ids,
                    &SearchQuery {
                        order_by: order.clone(),
                        max_results: Some(PAGE_BY_IDS + 1),
                        ..Default::default()
                    },
                )
                .await
                .expect("large page")
                .items;
            let key = |r: &Run| r.info.run_id.clone();
            assert_eq!(
                small.iter().map(key).collect::<Vec<_>>(),
                large.iter().map(key).collect::<Vec<_>>()
            );
            let m = |r: &Run| r.data.metrics.first().map(|x| x.value);
            let p = |r: &Run| r.data.params.first().map(|x| x.value.clone());
            assert_eq!(small.len(), 30);
            // Numbers descending, ties by the param ascending, then NaN, then missing.
            for w in small[..20].windows(2) {
                let (a, b) = (m(&w[0]).unwrap_or(f64::NAN), m(&w[1]).unwrap_or(f64::NAN));
                assert!(a > b || (a == b && p(&w[0]) <= p(&w[1])), "{a} {b}");
            }
            assert!(small[20..23].iter().all(|r| m(r).is_some_and(f64::is_nan)));
            assert!(small[23..].iter().all(|r| m(r).is_none()));
            // Without the metric and param: start time descending.
            assert!(
                small[23..]
                    .windows(2)
                    .all(|w| w[0].info.start_time > w[1].info.start_time)
            );
        }
    }

    /// Latest metric values reach searches and `get_run` bit for bit (they travel as text
    /// inside the per-run JSON aggregate), NaN and infinities included, and params and tags
    /// come back sorted by key.
    #[tokio::test]
    async fn run_values_round_trip_exactly_through_search_and_get() {
        let mut values = vec![
            0.1 + 0.2,
            1.0 / 3.0,
            -0.0,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            5e-324,
            1e-7,
            123_456_789.123_456_79,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ];
        // Random bit patterns (a fixed xorshift sequence), non-finite ones skipped.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        while values.len() < 500 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if v.is_finite() {
                values.push(v);
            }
        }
        for (s, _dir) in backends().await {
            let exp = s.create_experiment("bits", None, &[]).await.expect("exp");
            let id = s
                .create_run(RunCreate {
                    experiment_id: exp.clone(),
                    ..Default::default()
                })
                .await
                .expect("run")
                .info
                .run_id;
            let metrics = values
                .iter()
                .enumerate()
                .map(|(i, &value)| Metric {
                    key: format!("m{i:03}"),
                    value,
                    timestamp: 1_700_000_000_000 + i as i64,
                    step: i as i64,
                    run_id: None,
                })
                .collect::<Vec<_>>();
            let batch = BatchLog {
                metrics: metrics.clone(),
                params: vec![KeyValue::new("z", "last"), KeyValue::new("a", "first")],
                tags: vec![KeyValue::new("t2", "\"quoted\" ✓"), KeyValue::new("t1", "")],
            };
            s.log_batch(&id, batch).await.expect("log");
            let searched = s
                .search_runs(std::slice::from_ref(&exp), &SearchQuery::default())
                .await
                .expect("search")
                .items;
            let got = s.get_run(&id).await.expect("get");
            // (Debug text, since NaN != NaN.)
            assert_eq!(format!("{searched:?}"), format!("{:?}", vec![got.clone()]));
            assert_eq!(got.data.metrics.len(), metrics.len());
            for (want, have) in metrics.iter().zip(&got.data.metrics) {
                assert_eq!(want.key, have.key);
                assert_eq!((want.timestamp, want.step), (have.timestamp, have.step));
                if want.value.is_nan() {
                    assert!(have.value.is_nan(), "{}: {}", want.key, have.value);
                } else {
                    // -0.0 may come back as 0.0 from PostgreSQL's float8 text; compare by value.
                    assert!(
                        want.value.to_bits() == have.value.to_bits()
                            || (want.value == 0.0 && have.value == 0.0),
                        "{}: {:e} came back as {:e}",
                        want.key,
                        want.value,
                        have.value
                    );
                }
            }
            let keys = |kv: &[KeyValue]| kv.iter().map(|k| k.key.clone()).collect::<Vec<_>>();
            assert_eq!(keys(&got.data.params), ["a", "z"]);
            assert_eq!(keys(&got.data.tags), ["mlflow.runName", "t1", "t2"]);
            assert!(
                got.data
                    .tags
                    .iter()
                    .any(|t| t.key == "t2" && t.value == "\"quoted\" ✓")
            );
        }
    }

    #[tokio::test]
    async fn search_runs_filters_orders_and_pages() {
        for (s, _dir) in backends().await {
            let exp = s.create_experiment("e", None, &[]).await.expect("exp");
            for i in 0..25 {
                let id = s
                    .create_run(RunCreate {
                        experiment_id: exp.clone(),
                        start_time: Some(i),
                        ..Default::default()
                    })
                    .await
                    .expect("run")
                    .info
                    .run_id;
                let batch = BatchLog {
                    metrics: vec![Metric {
                        key: "auc".into(),
                        value: i as f64 / 25.0,
                        timestamp: 0,
                        step: 0,
                        run_id: None,
                    }],
                    params: vec![KeyValue::new(
                        "model",
                        if i % 2 == 0 { "lr" } else { "gbdt" },
                    )],
                    tags: vec![],
                };
                s.log_batch(&id, batch).await.expect("log");
            }
            let q = |filter: &str| SearchQuery {
                filter: filter.into(),
                ..Default::default()
            };
            let ids = [exp.clone()];
            assert_eq!(
                s.search_runs(&ids, &q("")).await.expect("all").items.len(),
                25
            );
            let hits = s
                .search_runs(&ids, &q("metrics.auc > 0.5 and params.model = 'lr'"))
                .await
                .expect("search");
            assert!(
                hits.items
                    .iter()
                    .all(|r| r.data.params[0].value == "lr" && r.data.metrics[0].value > 0.5)
            );
            assert_eq!(hits.items.len(), 6); // i in 14, 16, …, 24
            let either = s
                .search_runs(&ids, &q("metrics.auc < 0.1 OR metrics.auc >= 0.96"))
                .await
                .expect("or");
            assert_eq!(either.items.len(), 4); // 0, 1, 2, 24
            // Default order: start_time DESC.
            let all = s.search_runs(&ids, &q("")).await.expect("all");
            assert_eq!(all.items[0].info.start_time, 24);
            // order_by a metric, then paging through with tokens.
            let mut seen = Vec::new();
            let mut token = None;
            loop {
                let p = s
                    .search_runs(
                        &ids,
                        &SearchQuery {
                            order_by: vec!["metrics.auc ASC".into()],
                            max_results: Some(10),
                            page_token: token,
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("page");
                seen.extend(p.items.iter().map(|r| r.data.metrics[0].value));
                token = p.next_page_token;
                if token.is_none() {
                    break;
                }
            }
            assert_eq!(seen.len(), 25);
            assert!(seen.windows(2).all(|w| w[0] <= w[1]));
            let err = s
                .search_runs(&ids, &q("metrics.auc >> 1"))
                .await
                .expect_err("bad filter");
            assert_eq!(err.code(), crate::ErrorCode::InvalidParameterValue);
            // Deleted runs only with the view type.
            let victim = all.items[0].info.run_id.clone();
            s.delete_run(&victim).await.expect("delete");
            assert_eq!(
                s.search_runs(&ids, &q(""))
                    .await
                    .expect("active")
                    .items
                    .len(),
                24
            );
            let deleted = SearchQuery {
                view_type: ViewType::DeletedOnly,
                ..Default::default()
            };
            assert_eq!(
                s.search_runs(&ids, &deleted)
                    .await
                    .expect("deleted")
                    .items
                    .len(),
                1
            );
        }
    }

    #[tokio::test]
    async fn search_experiments_models_and_versions() {
        for (s, _dir) in backends().await {
            s.create_experiment("alpha-1", None, &[KeyValue::new("team", "x")])
                .await
                .expect("e1");
            s.create_experiment("beta-1", None, &[]).await.expect("e2");
            let q = |filter: &str| SearchQuery {
                filter: filter.into(),
                ..Default::default()
            };
            let found = s
                .search_experiments(&q("name LIKE 'alpha%'"))
                .await
                .expect("search");
            assert_eq!(found.items.len(), 1);
            assert_eq!(found.items[0].tags, vec![KeyValue::new("team", "x")]);
            assert_eq!(
                s.search_experiments(&q("")).await.expect("all").items.len(),
                3
            );
            s.create_registered_model("iris-clf", &[], "")
                .await
                .expect("m");
            s.create_registered_model("wine", &[], "").await.expect("m");
            let models = s
                .search_registered_models(&q("name ILIKE 'IRIS%'"))
                .await
                .expect("models");
            assert_eq!(models.items.len(), 1);
            let run = s
                .create_run(RunCreate::default())
                .await
                .expect("run")
                .info
                .run_id;
            for _ in 0..3 {
                s.create_model_version(super::super::VersionCreate {
                    name: "iris-clf".into(),
                    source: "models:/m-1".into(),
                    run_id: run.clone(),
                    ..Default::default()
                })
                .await
                .expect("version");
            }
            let vs = s
                .search_model_versions(&q(&format!("run_id IN ('{run}')")))
                .await
                .expect("versions");
            assert_eq!(
                vs.items
                    .iter()
                    .map(|v| v.version.as_str())
                    .collect::<Vec<_>>(),
                ["3", "2", "1"]
            );
        }
    }
}
