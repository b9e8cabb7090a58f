//! What a browsing UI asks for beside MLflow's API: run counts and last activity per experiment,
//! the param, metric and tag keys in use (column pickers, filter completion), and each metric's
//! lowest and highest value, read from the coarsest bucket summaries (never a history scan).

use serde::Serialize;
use sqlx::Row;

use super::buckets::LEVELS;
use super::{Store, validate};
use crate::error::Result;

/// Runs counted in an experiment and when one last started or ended.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ExperimentActivity {
    /// The experiment.
    pub experiment_id: String,
    /// Its active (not deleted) runs.
    pub runs: i64,
    /// Of those, the runs still `RUNNING`.
    pub running: i64,
    /// Latest start or end time of a run, in ms since the epoch; `None` without runs.
    pub last_activity: Option<i64>,
}

/// The keys logged in some runs, each list sorted.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct KeysInUse {
    /// Parameter keys.
    pub params: Vec<String>,
    /// Metric keys.
    pub metrics: Vec<String>,
    /// Tag keys.
    pub tags: Vec<String>,
}

/// A metric's extremes over its whole history.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MetricRange {
    /// The metric key.
    pub key: String,
    /// Lowest non-NaN value (`None` when every point is NaN).
    pub min: Option<f64>,
    /// Highest non-NaN value.
    pub max: Option<f64>,
}

/// How many of an experiment's latest runs [`Store::keys_in_use`] reads: enough to name every key a
/// team uses, bounded so that the answer stays instant with 100,000 runs.
pub const KEYS_FROM_LATEST_RUNS: i64 = 2_000;

/// A metric summarised over a group of runs (NaN values left out).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GroupMetric {
    /// The metric key.
    pub key: String,
    /// Runs of the group with a (non-NaN) latest value.
    pub count: i64,
    /// Mean, lowest and highest latest value; `None` without values.
    pub mean: Option<f64>,
    /// Lowest.
    pub min: Option<f64>,
    /// Highest.
    pub max: Option<f64>,
}

/// The runs sharing one value of a param or tag.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunGroup {
    /// The value (`None`: runs without that param or tag).
    pub value: Option<String>,
    /// How many runs.
    pub runs: i64,
    /// The requested metrics over those runs.
    pub metrics: Vec<GroupMetric>,
}

/// Most groups [`Store::group_runs`] answers (the largest first).
pub const MAX_GROUPS: i64 = 500;
/// Most metrics one grouping summarises.
pub const MAX_GROUP_METRICS: usize = 20;

impl Store {
    /// The active runs of an experiment that match `filter` (MLflow's grammar), grouped by the
    /// value of a param or tag (`by`: `params.<key>` or `tags.<key>`), each group with its run
    /// count and the mean, min and max of `metrics`' latest values — over all matching runs,
    /// not a page. Largest groups first, at most [`MAX_GROUPS`].
    pub async fn group_runs(
        &self,
        experiment_id: &str,
        filter: &str,
        by: &str,
        metrics: &[String],
    ) -> Result<Vec<RunGroup>> {
        use crate::error::TrackError;
        use crate::filter::{Bind, SearchKind, bind_all, compile_where, parse_filter};
        let (table, key) = match by.split_once('.') {
            Some(("params" | "param", k)) if !k.is_empty() => ("params", k),
            Some(("tags" | "tag", k)) if !k.is_empty() => ("tags", k),
            _ => {
                return Err(TrackError::InvalidParameter(format!(
                    "group by `{by}`: expected params.<key> or tags.<key>"
                )));
            }
        };
        if metrics.len() > MAX_GROUP_METRICS {
            return Err(TrackError::InvalidParameter(format!(
                "at most {MAX_GROUP_METRICS} metrics per grouping, got {}",
                metrics.len()
            )));
        }
        let mut binds = vec![
            Bind::Int(validate::experiment_id(experiment_id)?),
            Bind::Text(key.trim_matches('`').to_string()),
        ];
        let mut joins = format!(" LEFT JOIN {table} g ON g.run_uuid = r.run_uuid AND g.key = $2");
        let mut cols = String::new();
        for (i, m) in metrics.iter().enumerate() {
            binds.push(Bind::Text(m.clone()));
            let ph = binds.len();
            joins.push_str(&format!(
                " LEFT JOIN latest_metrics m{i} ON m{i}.run_uuid = r.run_uuid AND m{i}.key = ${ph}"
            ));
            let v = format!("CASE WHEN m{i}.is_nan = 0 THEN m{i}.value END");
            cols.push_str(&format!(", COUNT({v}), AVG({v}), MIN({v}), MAX({v})"));
        }
        let filter = match parse_filter(SearchKind::Runs, filter)? {
            Some(expr) => format!(
                " AND ({})",
                compile_where(SearchKind::Runs, &expr, &mut binds)
            ),
            None => String::new(),
        };
        // Table names and aliases are fixed above; every value is a bind.
        let sql = format!(
            "SELECT g.value, COUNT(*){cols} FROM runs r{joins} WHERE r.experiment_id = $1 \
             AND r.lifecycle_stage = 'active'{filter} GROUP BY g.value \
             ORDER BY COUNT(*) DESC, g.value LIMIT {MAX_GROUPS}"
        );
        let rows = sqlx::query_with(sqlx::AssertSqlSafe(sql), bind_all(&binds)?)
            .fetch_all(self.reader())
            .await?;
        rows.iter()
            .map(|r| {
                let metrics = metrics
                    .iter()
                    .enumerate()
                    .map(|(i, key)| {
                        let at = 2 + 4 * i;
                        Ok(GroupMetric {
                            key: key.clone(),
                            count: r.try_get(at)?,
                            mean: r.try_get(at + 1)?,
                            min: r.try_get(at + 2)?,
                            max: r.try_get(at + 3)?,
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(RunGroup {
                    value: r.try_get(0)?,
                    runs: r.try_get(1)?,
                    metrics,
                })
            })
            .collect()
    }

    /// Run counts and last activity of every experiment that has active runs.
    pub async fn experiment_activity(&self) -> Result<Vec<ExperimentActivity>> {
        let rows = sqlx::query(
            "SELECT experiment_id, COUNT(*), \
             SUM(CASE WHEN status = 'RUNNING' THEN 1 ELSE 0 END), \
             MAX(CASE WHEN end_time IS NOT NULL AND end_time > start_time THEN end_time ELSE start_time END) \
             FROM runs WHERE lifecycle_stage = 'active' GROUP BY experiment_id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExperimentActivity {
                    experiment_id: r.try_get::<i64, _>(0)?.to_string(),
                    runs: r.try_get(1)?,
                    running: r.try_get::<Option<i64>, _>(2)?.unwrap_or(0),
                    last_activity: r.try_get(3)?,
                })
            })
            .collect()
    }

    /// The param, metric and tag keys of the latest [`KEYS_FROM_LATEST_RUNS`] active runs of
    /// the given experiments.
    pub async fn keys_in_use(&self, experiment_ids: &[String]) -> Result<KeysInUse> {
        if experiment_ids.is_empty() {
            return Ok(KeysInUse::default());
        }
        let ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id).map(|i| i.to_string()))
            .collect::<Result<Vec<_>>>()?
            .join(", ");
        let mut out = KeysInUse::default();
        for (table, into) in [
            ("params", &mut out.params),
            ("latest_metrics", &mut out.metrics),
            ("tags", &mut out.tags),
        ] {
            // The ids are integers validated above; nothing from the client is spliced in.
            let sql = format!(
                "SELECT DISTINCT key FROM {table} WHERE run_uuid IN (SELECT run_uuid FROM runs \
                 WHERE experiment_id IN ({ids}) AND lifecycle_stage = 'active' \
                 ORDER BY start_time DESC LIMIT {KEYS_FROM_LATEST_RUNS}) ORDER BY key"
            );
            *into = sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()?;
        }
        Ok(out)
    }

    /// The lowest and highest value of each metric of a run, from the coarsest bucket level
    /// (a handful of rows per metric, exact: every write folds into every level).
    pub async fn metric_ranges(&self, run_id: &str) -> Result<Vec<MetricRange>> {
        self.get_run_info(run_id).await?;
        let keys: Vec<String> =
            sqlx::query("SELECT key FROM latest_metrics WHERE run_uuid = $1 ORDER BY key")
                .bind(run_id)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| r.try_get::<String, _>(0))
                .collect::<std::result::Result<_, _>>()?;
        let mut out = Vec::with_capacity(keys.len());
        for key in keys {
            let row = sqlx::query(
                "SELECT MIN(min_value), MAX(max_value) FROM metric_buckets \
                 WHERE run_uuid = $1 AND key = $2 AND level = $3 AND has_extremes = 1",
            )
            .bind(run_id)
            .bind(&key)
            .bind(i64::from(LEVELS))
            .fetch_one(self.reader())
            .await?;
            out.push(MetricRange {
                key,
                min: row.try_get(0)?,
                max: row.try_get(1)?,
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{backends, m};
    use crate::entities::{KeyValue, RunStatus};
    use crate::store::{BatchLog, RunCreate};

    #[tokio::test]
    async fn activity_keys_and_ranges() {
        for (s, _dir) in backends().await {
            let exp = s.create_experiment("ui", None, &[]).await.expect("exp");
            let mut ids = Vec::new();
            for i in 0..3_i64 {
                let run = s
                    .create_run(RunCreate {
                        experiment_id: exp.clone(),
                        start_time: Some(1_000 + i),
                        tags: vec![KeyValue::new(format!("t{i}"), "x")],
                        ..Default::default()
                    })
                    .await
                    .expect("run")
                    .info
                    .run_id;
                ids.push(run);
            }
            s.update_run(&ids[0], Some(RunStatus::Finished), Some(5_000), None)
                .await
                .expect("ends");
            // A history of 5,000 points with one spike and a NaN: the extremes must be exact.
            let points: Vec<_> = (0..5_000_i64)
                .map(|k| {
                    let v = match k {
                        1_234 => 99.5,
                        4_000 => f64::NAN,
                        _ => (k as f64).sin(),
                    };
                    m("loss", v, k, k)
                })
                .collect();
            for chunk in points.chunks(500) {
                s.log_batch(
                    &ids[1],
                    BatchLog {
                        metrics: chunk.to_vec(),
                        params: if chunk[0].step == 0 {
                            vec![KeyValue::new("lr", "0.1")]
                        } else {
                            Vec::new()
                        },
                        ..Default::default()
                    },
                )
                .await
                .expect("logs");
            }
            let act = s.experiment_activity().await.expect("activity");
            let a = act.iter().find(|a| a.experiment_id == exp).expect("listed");
            assert_eq!((a.runs, a.running), (3, 2));
            assert_eq!(a.last_activity, Some(5_000));
            let keys = s
                .keys_in_use(std::slice::from_ref(&exp))
                .await
                .expect("keys");
            assert_eq!(keys.params, ["lr"]);
            assert_eq!(keys.metrics, ["loss"]);
            assert!(
                ["t0", "t1", "t2"]
                    .iter()
                    .all(|t| keys.tags.iter().any(|k| k == t))
            );
            assert!(s.keys_in_use(&["x'".into()]).await.is_err());
            let ranges = s.metric_ranges(&ids[1]).await.expect("ranges");
            let brute_min = points
                .iter()
                .map(|p| p.value)
                .filter(|v| !v.is_nan())
                .fold(f64::INFINITY, f64::min);
            assert_eq!(ranges.len(), 1);
            assert_eq!(ranges[0].max, Some(99.5));
            assert_eq!(ranges[0].min, Some(brute_min));
            assert!(s.metric_ranges("nope").await.is_err());
        }
    }

    #[tokio::test]
    async fn groups_cover_every_matching_run() {
        for (s, _dir) in backends().await {
            let exp = s.create_experiment("groups", None, &[]).await.expect("exp");
            for i in 0..12_i64 {
                let id = s
                    .create_run(RunCreate {
                        experiment_id: exp.clone(),
                        ..Default::default()
                    })
                    .await
                    .expect("run")
                    .info
                    .run_id;
                let model = ["gbdt", "lr", "forest"][(i % 3) as usize];
                let mut metrics = vec![m("auc", i as f64, 0, 0)];
                if i == 3 {
                    metrics[0].value = f64::NAN; // left out of the summary, still counted as a run
                }
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics,
                        params: if i < 11 {
                            vec![KeyValue::new("model", model)]
                        } else {
                            Vec::new()
                        },
                        ..Default::default()
                    },
                )
                .await
                .expect("logs");
            }
            let groups = s
                .group_runs(&exp, "", "params.model", &["auc".into()])
                .await
                .expect("groups");
            let by = |v: Option<&str>| {
                groups
                    .iter()
                    .find(|g| g.value.as_deref() == v)
                    .expect("group")
                    .clone()
            };
            // gbdt: 0, 3 (NaN), 6, 9; lr: 1, 4, 7, 10; forest: 2, 5, 8; none: 11.
            let gbdt = by(Some("gbdt"));
            assert_eq!((gbdt.runs, gbdt.metrics[0].count), (4, 3));
            assert_eq!(gbdt.metrics[0].mean, Some(5.0));
            assert_eq!(
                (gbdt.metrics[0].min, gbdt.metrics[0].max),
                (Some(0.0), Some(9.0))
            );
            assert_eq!(by(Some("lr")).runs, 4);
            assert_eq!(by(Some("forest")).metrics[0].mean, Some(5.0));
            assert_eq!(by(None).runs, 1);
            assert_eq!(groups.iter().map(|g| g.runs).sum::<i64>(), 12);
            // With a filter: only matching runs are grouped.
            let filtered = s
                .group_runs(&exp, "metrics.auc >= 6", "params.model", &[])
                .await
                .expect("filtered");
            assert_eq!(filtered.iter().map(|g| g.runs).sum::<i64>(), 6);
            assert!(s.group_runs(&exp, "", "metrics.auc", &[]).await.is_err());
        }
    }
}
