//! Runs: creating, reading (a page as one row), updating, deleting and purging them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::tags::{dedupe_last, insert_tags};
use super::{Store, int, new_id, now_ms, text, validate};
use crate::entities::{KeyValue, Metric, Run, RunData, RunInfo, RunInputs, RunOutputs, RunStatus};
use crate::error::{Result, TrackError};
use crate::filter::Bind;

/// The tag MLflow keeps equal to the run name.
pub const RUN_NAME_TAG: &str = "mlflow.runName";
/// The tag naming a run's parent (nested runs: CV folds, search trials).
pub const PARENT_RUN_TAG: &str = "mlflow.parentRunId";
/// The input tag naming what a dataset was used for (train, eval, ...).
pub const DATASET_CONTEXT_TAG: &str = "mlflow.data.context";

/// What `runs/create` takes.
#[derive(Clone, Debug, Default)]
pub struct RunCreate {
    /// Experiment id; `"0"` (Default) when empty.
    pub experiment_id: String,
    /// Who starts it (else the `mlflow.user` tag, else empty).
    pub user_id: String,
    /// Display name; generated when empty (and no `mlflow.runName` tag).
    pub run_name: String,
    /// Milliseconds since the epoch; now when `None`.
    pub start_time: Option<i64>,
    /// Initial tags.
    pub tags: Vec<KeyValue>,
}

/// The columns [`run_info_from_row`] reads, over the runs table aliased `r`.
pub(crate) const RUN_INFO_COLUMNS: &str = "r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, \
     r.end_time, r.lifecycle_stage, r.artifact_uri";

impl Store {
    /// Starts a run.
    pub async fn create_run(&self, req: RunCreate) -> Result<Run> {
        let exp_id = if req.experiment_id.is_empty() {
            "0"
        } else {
            req.experiment_id.as_str()
        };
        let exp = self.get_experiment(exp_id).await?;
        if exp.lifecycle_stage != "active" {
            return Err(TrackError::invalid(format!(
                "The experiment {exp_id} must be in the 'active' state. Current state is {}.",
                exp.lifecycle_stage
            )));
        }
        let mut tags = dedupe_last(req.tags);
        for t in &tags {
            validate::key(validate::KeyKind::Tag, &t.key)?;
            validate::value("Tag", &t.key, &t.value, validate::MAX_TAG_VALUE_LENGTH)?;
        }
        let tag_name = tags
            .iter()
            .find(|t| t.key == RUN_NAME_TAG)
            .map(|t| t.value.clone());
        let run_name = match (req.run_name.is_empty(), tag_name) {
            (false, Some(t)) if t != req.run_name => {
                return Err(TrackError::invalid(format!(
                    "Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different \
                     values (run_name='{}', mlflow.runName='{t}').",
                    req.run_name
                )));
            }
            (false, _) => req.run_name,
            (true, Some(t)) => t,
            (true, None) => random_run_name(),
        };
        if !tags.iter().any(|t| t.key == RUN_NAME_TAG) {
            tags.push(KeyValue::new(RUN_NAME_TAG, run_name.clone()));
        }
        let user_id = if req.user_id.is_empty() {
            tags.iter()
                .find(|t| t.key == "mlflow.user")
                .map(|t| t.value.clone())
                .unwrap_or_default()
        } else {
            req.user_id
        };
        let run_id = new_id();
        let artifact_uri = format!(
            "{}/{run_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        let start_time = req.start_time.unwrap_or_else(now_ms);
        let eid = validate::experiment_id(exp_id)?;
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO runs (run_uuid, experiment_id, name, user_id, status, start_time, end_time, lifecycle_stage, \
             artifact_uri) VALUES ($1, $2, $3, $4, 'RUNNING', $5, NULL, 'active', $6)",
        )
        .bind(&run_id)
        .bind(eid)
        .bind(&run_name)
        .bind(&user_id)
        .bind(start_time)
        .bind(&artifact_uri)
        .execute(&mut *tx)
        .await?;
        insert_tags(&mut tx, &run_id, &tags).await?;
        tx.commit().await?;
        self.runs_created(1);
        Ok(Run {
            info: RunInfo {
                run_uuid: run_id.clone(),
                run_id,
                run_name,
                experiment_id: exp.experiment_id,
                user_id,
                status: RunStatus::Running,
                start_time,
                end_time: None,
                artifact_uri,
                lifecycle_stage: "active".into(),
            },
            data: RunData {
                metrics: Vec::new(),
                params: Vec::new(),
                tags,
            },
            inputs: RunInputs::default(),
            outputs: RunOutputs::default(),
        })
    }

    /// A run's metadata only.
    pub async fn get_run_info(&self, run_id: &str) -> Result<RunInfo> {
        validate::run_id(run_id)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_INFO_COLUMNS} FROM runs r WHERE r.run_uuid = $1"
        )))
        .bind(run_id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| TrackError::not_found(format!("Run '{run_id}' not found")))?;
        run_info_from_row(&row)
    }

    /// A whole run: info, latest metrics, params, tags, inputs and outputs.
    pub async fn get_run(&self, run_id: &str) -> Result<Run> {
        validate::run_id(run_id)?;
        let source =
            format!("SELECT {RUN_INFO_COLUMNS}, 1 AS pos FROM runs r WHERE r.run_uuid = $1");
        let (mut runs, _) = self
            .load_runs(&source, vec![Bind::Text(run_id.to_owned())], 1)
            .await?;
        runs.pop()
            .ok_or_else(|| TrackError::not_found(format!("Run '{run_id}' not found")))
    }

    /// Whole runs from `source`: a `SELECT` of [`RUN_INFO_COLUMNS`] (over `runs r`) plus a
    /// `pos` column giving their order, with its binds. Returns the first `keep` runs by `pos`
    /// and how many rows `source` gave.
    ///
    /// sqlx hands every row from SQLite's thread to the async side, one thread switch each, so
    /// the whole answer is one row: a JSON array with one compact array per run — info, params,
    /// tags and latest metrics (their exact `value_text`), and whether the run has inputs or
    /// outputs, which are then loaded for those runs alone. The MLflow JSON shape stays in
    /// [`crate::entities`].
    pub(crate) async fn load_runs(
        &self,
        source: &str,
        mut binds: Vec<Bind>,
        keep: i64,
    ) -> Result<(Vec<Run>, i64)> {
        let sqlite = self.backend == super::Backend::Sqlite;
        let (array, agg) = if sqlite {
            ("json_array", "json_group_array")
        } else {
            ("json_build_array", "json_agg")
        };
        // A side table's rows of this run as a JSON array of arrays.
        let side = |cols: &str, table: &str| {
            let inner = format!(
                "SELECT {agg}({array}({cols})) FROM {table} kv WHERE kv.run_uuid = r.run_uuid"
            );
            if sqlite {
                format!("json(({inner}))")
            } else {
                format!("COALESCE(({inner}), '[]'::json)")
            }
        };
        let has_io = "CASE WHEN EXISTS (SELECT 1 FROM run_inputs x WHERE x.run_uuid = r.run_uuid) \
             OR EXISTS (SELECT 1 FROM run_outputs x WHERE x.run_uuid = r.run_uuid) \
             OR EXISTS (SELECT 1 FROM run_model_inputs x WHERE x.run_uuid = r.run_uuid) THEN 1 ELSE 0 END";
        let run = format!(
            "{array}(r.run_uuid, r.experiment_id, r.name, r.user_id, r.status, r.start_time, r.end_time, \
             r.lifecycle_stage, r.artifact_uri, {}, {}, {}, {has_io})",
            side("kv.key, kv.value", "params"),
            side("kv.key, kv.value", "tags"),
            side(
                "kv.key, COALESCE(kv.value_text, ''), kv.timestamp, kv.step, kv.is_nan",
                "latest_metrics"
            ),
        );
        binds.push(Bind::Int(keep));
        let keep_ph = binds.len();
        let runs_json = if sqlite {
            format!("{agg}({run} ORDER BY r.pos) FILTER (WHERE r.pos <= ${keep_ph})")
        } else {
            format!(
                "COALESCE({agg}({run} ORDER BY r.pos) FILTER (WHERE r.pos <= ${keep_ph}), '[]'::json)::text"
            )
        };
        let sql = format!("SELECT COUNT(*) AS n, {runs_json} AS runs FROM ({source}) r");
        let row = sqlx::query_with(sqlx::AssertSqlSafe(sql), crate::filter::bind_all(&binds)?)
            .fetch_one(self.reader())
            .await?;
        let n = int(&row, "n")?;
        let compact: Vec<CompactRun> = parse_json(&text(&row, "runs")?)?;
        let mut runs = Vec::with_capacity(compact.len());
        let mut with_io = Vec::new();
        for c in compact {
            if c.12 != 0 {
                with_io.push(runs.len());
            }
            runs.push(run_from_compact(c)?);
        }
        if !with_io.is_empty() {
            self.attach_inputs_outputs(&mut runs, &with_io).await?;
        }
        Ok((runs, n))
    }

    /// Updates status, end time and/or name; returns the new info.
    pub async fn update_run(
        &self,
        run_id: &str,
        status: Option<RunStatus>,
        end_time: Option<i64>,
        run_name: Option<&str>,
    ) -> Result<RunInfo> {
        let info = self.get_run_info(run_id).await?;
        check_active(&info)?;
        let mut tx = self.writer().begin().await?;
        if let Some(status) = status {
            sqlx::query("UPDATE runs SET status = $1 WHERE run_uuid = $2")
                .bind(status.as_str())
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(end) = end_time {
            sqlx::query("UPDATE runs SET end_time = $1 WHERE run_uuid = $2")
                .bind(end)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
        }
        if let Some(name) = run_name.filter(|n| !n.is_empty()) {
            sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
                .bind(name)
                .bind(run_id)
                .execute(&mut *tx)
                .await?;
            insert_tags(&mut tx, run_id, &[KeyValue::new(RUN_NAME_TAG, name)]).await?;
        }
        tx.commit().await?;
        self.get_run_info(run_id).await
    }

    /// Soft-deletes a run (restorable until garbage collection).
    pub async fn delete_run(&self, run_id: &str) -> Result<()> {
        self.get_run_info(run_id).await?;
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = $1 WHERE run_uuid = $2",
        )
        .bind(now_ms())
        .bind(run_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Restores a soft-deleted run.
    pub async fn restore_run(&self, run_id: &str) -> Result<()> {
        self.get_run_info(run_id).await?;
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE run_uuid = $1",
        )
        .bind(run_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Permanently removes deleted runs (all of them, or those deleted before `older_than_ms`)
    /// with everything logged to them, and returns their ids and artifact URIs so the caller can
    /// free the artifacts too.
    pub async fn purge_deleted_runs(
        &self,
        older_than_ms: Option<i64>,
    ) -> Result<Vec<(String, String)>> {
        let cutoff = older_than_ms.unwrap_or(i64::MAX);
        let rows = sqlx::query(
            "SELECT run_uuid, artifact_uri FROM runs WHERE lifecycle_stage = 'deleted' AND COALESCE(deleted_time, 0) <= $1",
        )
        .bind(cutoff)
        .fetch_all(self.reader())
        .await?;
        let mut purged = Vec::new();
        for row in rows {
            let (id, uri) = (text(&row, "run_uuid")?, text(&row, "artifact_uri")?);
            self.purge_run(&id).await?;
            purged.push((id, uri));
        }
        Ok(purged)
    }

    /// Permanently removes the given runs, which must be deleted already (`smelt runs delete
    /// --purge`), and returns their ids and artifact URIs like [`Store::purge_deleted_runs`].
    pub async fn purge_runs(&self, run_ids: &[String]) -> Result<Vec<(String, String)>> {
        let mut purged = Vec::new();
        for id in run_ids {
            let info = self.get_run_info(id).await?;
            if info.lifecycle_stage != "deleted" {
                return Err(TrackError::InvalidState(format!(
                    "run '{id}' is not deleted; delete it before purging it"
                )));
            }
            self.purge_run(id).await?;
            purged.push((info.run_id, info.artifact_uri));
        }
        Ok(purged)
    }

    /// Removes one run and everything logged to it, in one transaction.
    async fn purge_run(&self, id: &str) -> Result<()> {
        let mut tx = self.writer().begin().await?;
        for table in [
            "metrics",
            "latest_metrics",
            "metric_buckets",
            "params",
            "tags",
            "run_inputs",
            "run_input_tags",
            "run_outputs",
            "run_model_inputs",
            "runs",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE run_uuid = $1"
            )))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

pub(super) fn check_active(info: &RunInfo) -> Result<()> {
    if info.lifecycle_stage != "active" {
        return Err(TrackError::invalid(format!(
            "The run {} must be in the 'active' state. Current state is {}.",
            info.run_id, info.lifecycle_stage
        )));
    }
    Ok(())
}

/// One run as [`Store::load_runs`] reads it: run id, experiment id, name, user, status, start,
/// end, lifecycle stage, artifact URI, params `[key, value]`, tags `[key, value]`, latest
/// metrics `[key, value_text, timestamp, step, is_nan]`, has inputs or outputs.
type CompactRun = (
    String,
    i64,
    String,
    String,
    String,
    i64,
    Option<i64>,
    String,
    String,
    Vec<(String, String)>,
    Vec<(String, String)>,
    Vec<(String, String, i64, i64, i64)>,
    i64,
);

/// The [`Run`] a [`CompactRun`] describes (its inputs and outputs empty).
fn run_from_compact(c: CompactRun) -> Result<Run> {
    let (id, exp, name, user, status, start, end, stage, uri, mut params, mut tags, metrics, _) = c;
    params.sort();
    tags.sort();
    let mut metrics = metrics
        .into_iter()
        .map(|(key, value, timestamp, step, is_nan)| {
            let value = if is_nan != 0 {
                f64::NAN
            } else {
                value.parse::<f64>().map_err(|_| {
                    TrackError::InvalidState(format!(
                        "metric '{key}' of run '{id}' has no readable latest value in the store"
                    ))
                })?
            };
            Ok(Metric {
                key,
                value,
                timestamp,
                step,
                run_id: None,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    metrics.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(Run {
        info: RunInfo {
            run_uuid: id.clone(),
            run_id: id,
            run_name: name,
            experiment_id: exp.to_string(),
            user_id: user,
            status: RunStatus::parse(&status).ok_or_else(|| {
                TrackError::InvalidState(format!(
                    "stored run status '{status}' is not one MLflow knows"
                ))
            })?,
            start_time: start,
            end_time: end,
            artifact_uri: uri,
            lifecycle_stage: stage,
        },
        data: RunData {
            metrics,
            params: params
                .into_iter()
                .map(|(k, v)| KeyValue::new(k, v))
                .collect(),
            tags: tags.into_iter().map(|(k, v)| KeyValue::new(k, v)).collect(),
        },
        inputs: RunInputs::default(),
        outputs: RunOutputs::default(),
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|source| TrackError::Json {
        what: "run params, tags or metrics",
        source,
    })
}

pub(crate) fn run_info_from_row(row: &AnyRow) -> Result<RunInfo> {
    let id = text(row, "run_uuid")?;
    let status = text(row, "status")?;
    Ok(RunInfo {
        run_uuid: id.clone(),
        run_id: id,
        run_name: text(row, "name")?,
        experiment_id: int(row, "experiment_id")?.to_string(),
        user_id: text(row, "user_id")?,
        status: RunStatus::parse(&status).ok_or_else(|| {
            TrackError::InvalidState(format!(
                "stored run status '{status}' is not one MLflow knows"
            ))
        })?,
        start_time: int(row, "start_time")?,
        end_time: row.try_get::<Option<i64>, _>("end_time")?,
        artifact_uri: text(row, "artifact_uri")?,
        lifecycle_stage: text(row, "lifecycle_stage")?,
    })
}

/// A memorable run name, as MLflow makes them (`adjective-noun-123`).
pub(crate) fn random_run_name() -> String {
    const ADJ: &[&str] = &[
        "amber", "bold", "brisk", "calm", "clever", "crisp", "dapper", "eager", "gentle",
        "glowing", "honest", "jolly", "keen", "lucid", "merry", "nimble", "polished", "quick",
        "rare", "shiny", "sleek", "steady", "sturdy", "sunny", "tidy", "vivid", "warm", "wise",
    ];
    const NOUN: &[&str] = &[
        "anvil", "bellows", "billet", "bloom", "casting", "crucible", "ember", "flux", "forge",
        "furnace", "ingot", "kiln", "ladle", "mould", "ore", "quench", "slag", "smelter", "spark",
        "tongs", "tuyere",
    ];
    let u = uuid::Uuid::new_v4();
    let b = u.as_bytes();
    format!(
        "{}-{}-{}",
        ADJ[b[0] as usize % ADJ.len()],
        NOUN[b[1] as usize % NOUN.len()],
        u16::from_le_bytes([b[2], b[3]]) % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{backends, m};
    use super::*;
    use crate::entities::{KeyValue, RunStatus};
    use crate::store::{BatchLog, RunCreate};

    #[tokio::test]
    async fn run_lifecycle_and_logging() {
        for (s, _dir) in backends().await {
            let run = s
                .create_run(RunCreate {
                    run_name: "r1".into(),
                    tags: vec![KeyValue::new("mlflow.user", "ada")],
                    ..Default::default()
                })
                .await
                .expect("creates");
            let id = run.info.run_id.clone();
            assert_eq!(
                run.info.artifact_uri,
                format!("mlflow-artifacts:/0/{id}/artifacts")
            );
            assert_eq!(run.info.user_id, "ada");
            s.log_param(&id, "alpha", "0.5").await.expect("param");
            s.log_param(&id, "alpha", "0.5")
                .await
                .expect("same value again is fine");
            let err = s
                .log_param(&id, "alpha", "0.6")
                .await
                .expect_err("params are immutable");
            assert_eq!(err.code(), crate::ErrorCode::InvalidParameterValue);
            assert!(
                err.to_string()
                    .contains("Changing param values is not allowed"),
                "{err}"
            );
            for step in 0..5 {
                s.log_metric(&id, m("loss", 1.0 / (step + 1) as f64, 100 + step, step))
                    .await
                    .expect("metric");
            }
            s.log_metric(&id, m("loss", 9.0, 1, 2))
                .await
                .expect("an older step does not become latest");
            s.set_tag(&id, "t", "a").await.expect("tag");
            s.log_batch(
                &id,
                BatchLog {
                    tags: vec![KeyValue::new("t", "b"), KeyValue::new("t", "c")],
                    ..Default::default()
                },
            )
            .await
            .expect("batch");
            let got = s.get_run(&id).await.expect("gets");
            assert_eq!(got.data.params, vec![KeyValue::new("alpha", "0.5")]);
            assert_eq!(got.data.metrics.len(), 1);
            assert_eq!(
                (got.data.metrics[0].value, got.data.metrics[0].step),
                (0.2, 4)
            );
            assert!(got.data.tags.contains(&KeyValue::new("t", "c")));
            assert!(got.data.tags.contains(&KeyValue::new(RUN_NAME_TAG, "r1")));
            let (hist, next) = s
                .get_metric_history(&id, "loss", None, None)
                .await
                .expect("history");
            assert_eq!(hist.len(), 6);
            assert!(next.is_none());
            assert!(
                hist.windows(2)
                    .all(|w| (w[0].step, w[0].timestamp) <= (w[1].step, w[1].timestamp))
            );
            let (page, next) = s
                .get_metric_history(&id, "loss", Some(4), None)
                .await
                .expect("page 1");
            assert_eq!(page.len(), 4);
            let (rest, next) = s
                .get_metric_history(&id, "loss", Some(4), next.as_deref())
                .await
                .expect("page 2");
            assert_eq!((rest.len(), next), (2, None));
            s.delete_tag(&id, "t").await.expect("untag");
            assert_eq!(
                s.delete_tag(&id, "t").await.expect_err("gone").code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
            let info = s
                .update_run(&id, Some(RunStatus::Finished), Some(999), Some("r2"))
                .await
                .expect("updates");
            assert_eq!(
                (info.status, info.end_time, info.run_name.as_str()),
                (RunStatus::Finished, Some(999), "r2")
            );
            s.delete_run(&id).await.expect("deletes");
            let err = s
                .log_metric(&id, m("x", 1.0, 1, 0))
                .await
                .expect_err("deleted runs take no metrics");
            assert!(
                err.to_string().contains("must be in the 'active' state"),
                "{err}"
            );
            s.restore_run(&id).await.expect("restores");
            s.log_metric(&id, m("x", 1.0, 1, 0))
                .await
                .expect("active again");
            assert_eq!(
                s.get_run("0123456789abcdef")
                    .await
                    .expect_err("missing")
                    .code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
        }
    }

    #[tokio::test]
    async fn purge_runs_removes_only_the_named_deleted_runs() {
        for (s, _dir) in backends().await {
            let mut ids = Vec::new();
            for _ in 0..3 {
                let run = s.create_run(RunCreate::default()).await.expect("creates");
                s.delete_run(&run.info.run_id).await.expect("deletes");
                ids.push(run.info.run_id);
            }
            let active = s.create_run(RunCreate::default()).await.expect("creates");
            let err = s
                .purge_runs(std::slice::from_ref(&active.info.run_id))
                .await
                .expect_err("an active run is not purged");
            assert_eq!(err.code(), crate::ErrorCode::InvalidState);
            let purged = s.purge_runs(&ids[..2]).await.expect("purges");
            assert_eq!(
                purged.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(),
                [ids[0].as_str(), ids[1].as_str()]
            );
            assert!(purged[0].1.ends_with(&format!("{}/artifacts", ids[0])));
            assert!(s.get_run_info(&ids[0]).await.is_err());
            assert!(s.get_run_info(&ids[1]).await.is_err());
            let kept = s
                .get_run_info(&ids[2])
                .await
                .expect("other deleted run kept");
            assert_eq!(kept.lifecycle_stage, "deleted");
            assert!(s.get_run_info(&active.info.run_id).await.is_ok());
        }
    }
}
