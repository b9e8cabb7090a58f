//! Runs and everything logged to them: params, metrics, tags, dataset inputs, model outputs.

use std::collections::{BTreeMap, HashMap};

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, int, new_id, now_ms, text, validate};
use crate::entities::{
    DatasetInput, DatasetRecord, KeyValue, Metric, ModelOutput, ModelRef, Run, RunData, RunInfo,
    RunInputs, RunOutputs, RunStatus,
};
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

/// What `runs/log-batch` takes.
#[derive(Clone, Debug, Default)]
pub struct BatchLog {
    /// Appended, never overwritten.
    pub metrics: Vec<Metric>,
    /// Immutable: the same value again is fine, another value is an error.
    pub params: Vec<KeyValue>,
    /// Last write wins, within the request too.
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
             OR EXISTS (SELECT 1 FROM run_outputs x WHERE x.run_uuid = r.run_uuid) THEN 1 ELSE 0 END";
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
            runs.push(c.into_run()?);
        }
        if !with_io.is_empty() {
            self.attach_inputs_outputs(&mut runs, &with_io).await?;
        }
        Ok((runs, n))
    }

    /// `column IN (…)` over the ids in one JSON array bound at `ph` (one bind however many ids:
    /// SQLite resolves each `$N` by a linear scan, so long bind lists cost quadratic time).
    fn in_json_ids(&self, column: &str, ph: &str) -> String {
        match self.backend {
            super::Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each({ph}))"),
            super::Backend::Postgres => {
                format!("{column} IN (SELECT json_array_elements_text({ph}::json))")
            }
        }
    }

    /// Loads dataset inputs and model outputs for `runs[i]`, `i` in `which`.
    async fn attach_inputs_outputs(&self, runs: &mut [Run], which: &[usize]) -> Result<()> {
        let index: HashMap<String, usize> = which
            .iter()
            .map(|&i| (runs[i].info.run_id.clone(), i))
            .collect();
        let ids = serde_json::to_string(&index.keys().collect::<Vec<_>>()).map_err(|source| {
            TrackError::Json {
                what: "run ids",
                source,
            }
        })?;
        let sql = format!(
            "SELECT i.run_uuid, d.dataset_uuid, d.name, d.digest, d.source_type, d.source, d.schema, d.profile \
             FROM run_inputs i JOIN datasets d ON d.dataset_uuid = i.dataset_uuid WHERE {} \
             ORDER BY d.name, d.digest",
            self.in_json_ids("i.run_uuid", "$1")
        );
        let inputs = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(self.reader())
            .await?;
        if !inputs.is_empty() {
            let sql = format!(
                "SELECT run_uuid, dataset_uuid, key, value FROM run_input_tags WHERE {} ORDER BY key",
                self.in_json_ids("run_uuid", "$1")
            );
            let mut input_tags: HashMap<(String, String), Vec<KeyValue>> = HashMap::new();
            for row in sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&ids)
                .fetch_all(self.reader())
                .await?
            {
                input_tags
                    .entry((text(&row, "run_uuid")?, text(&row, "dataset_uuid")?))
                    .or_default()
                    .push(KeyValue::new(text(&row, "key")?, text(&row, "value")?));
            }
            for row in inputs {
                let run = text(&row, "run_uuid")?;
                let Some(&i) = index.get(&run) else { continue };
                let tags = input_tags
                    .remove(&(run, text(&row, "dataset_uuid")?))
                    .unwrap_or_default();
                runs[i].inputs.dataset_inputs.push(DatasetInput {
                    tags,
                    dataset: dataset_from_row(&row)?,
                });
            }
        }
        let sql = format!(
            "SELECT run_uuid, model_id, step FROM run_outputs WHERE {} ORDER BY step",
            self.in_json_ids("run_uuid", "$1")
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(self.reader())
            .await?
        {
            let Some(&i) = index.get(&text(&row, "run_uuid")?) else {
                continue;
            };
            runs[i].outputs.model_outputs.push(ModelOutput {
                model_id: text(&row, "model_id")?,
                step: int(&row, "step")?,
            });
        }
        Ok(())
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

    /// Logs one metric point.
    pub async fn log_metric(&self, run_id: &str, metric: Metric) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                metrics: vec![metric],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Logs one param.
    pub async fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                params: vec![KeyValue::new(key, value)],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Sets one tag.
    pub async fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                tags: vec![KeyValue::new(key, value)],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Logs metrics, params and tags in one transaction, with MLflow's semantics and limits.
    pub async fn log_batch(&self, run_id: &str, batch: BatchLog) -> Result<()> {
        validate::run_id(run_id)?;
        let (nm, np, nt) = (batch.metrics.len(), batch.params.len(), batch.tags.len());
        if nm > validate::MAX_BATCH_METRICS {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} metrics. Got {nm} metrics. Please split up \
                 metrics across multiple requests and try again.",
                validate::MAX_BATCH_METRICS
            )));
        }
        if np + nt > validate::MAX_BATCH_PARAMS_TAGS {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} params and tags together. Got {} params and \
                 {} tags.",
                validate::MAX_BATCH_PARAMS_TAGS,
                np,
                nt
            )));
        }
        if nm + np + nt > validate::MAX_BATCH_TOTAL {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} entities. Got {}.",
                validate::MAX_BATCH_TOTAL,
                nm + np + nt
            )));
        }
        for m in &batch.metrics {
            validate::key(validate::KeyKind::Metric, &m.key)?;
        }
        let mut params: BTreeMap<&str, &str> = BTreeMap::new();
        for p in &batch.params {
            validate::key(validate::KeyKind::Param, &p.key)?;
            validate::value("Param", &p.key, &p.value, validate::MAX_PARAM_VALUE_LENGTH)?;
            if let Some(prev) = params.insert(&p.key, &p.value)
                && prev != p.value
            {
                return Err(TrackError::invalid(format!(
                    "Duplicate parameter keys have been submitted: ['{}']. Please ensure the request contains \
                     only one param value per param key.",
                    p.key
                )));
            }
        }
        for t in &batch.tags {
            validate::key(validate::KeyKind::Tag, &t.key)?;
            validate::value("Tag", &t.key, &t.value, validate::MAX_TAG_VALUE_LENGTH)?;
        }
        let tags = dedupe_last(batch.tags);
        if params.is_empty() && tags.is_empty() {
            if batch.metrics.is_empty() {
                return self
                    .get_run_info(run_id)
                    .await
                    .and_then(|info| check_active(&info));
            }
            // The hot path: concurrent metric writes share one transaction (group commit).
            return self.log_metrics_grouped(run_id, batch.metrics).await;
        }

        let mut tx = self.writer().begin().await?;
        let stage: Option<String> =
            sqlx::query("SELECT lifecycle_stage FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>(0))
                .transpose()?;
        match stage.as_deref() {
            None => return Err(TrackError::not_found(format!("Run '{run_id}' not found"))),
            Some("active") => {}
            Some(other) => {
                return Err(TrackError::invalid(format!(
                    "The run {run_id} must be in the 'active' state. Current state is {other}."
                )));
            }
        }
        if !params.is_empty() {
            let keys: Vec<&str> = params.keys().copied().collect();
            let sql = format!(
                "SELECT key, value FROM params WHERE run_uuid = $1 AND key IN ({})",
                placeholders(2, keys.len())
            );
            let existing = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(run_id), &keys)
                .fetch_all(&mut *tx)
                .await?;
            let mut known = std::collections::HashSet::new();
            for row in existing {
                let (k, v) = (text(&row, "key")?, text(&row, "value")?);
                if let Some(new) = params.get(k.as_str())
                    && *new != v
                {
                    return Err(TrackError::invalid(format!(
                        "Changing param values is not allowed. Param with key='{k}' was already logged with \
                         value='{v}' for run ID='{run_id}'. Attempted logging new value '{new}'."
                    )));
                }
                known.insert(k);
            }
            let fresh: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| !known.contains(**k))
                .map(|(k, v)| (*k, *v))
                .collect();
            if !fresh.is_empty() {
                let sql = format!(
                    "INSERT INTO params (run_uuid, key, value) VALUES {}",
                    tuples(fresh.len(), 3)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, v) in fresh {
                    q = q.bind(run_id).bind(k).bind(v);
                }
                q.execute(&mut *tx).await?;
            }
        }
        if !batch.metrics.is_empty() {
            insert_metrics(&mut tx, run_id, &batch.metrics).await?;
        }
        if !tags.is_empty() {
            insert_tags(&mut tx, run_id, &tags).await?;
            if let Some(name) = tags.iter().rev().find(|t| t.key == RUN_NAME_TAG) {
                sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
                    .bind(&name.value)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a run tag.
    pub async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let info = self.get_run_info(run_id).await?;
        check_active(&info)?;
        let n = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(self.writer())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(TrackError::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    /// The full history of one metric of one run, ordered by step then timestamp, paged.
    pub async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<(Vec<Metric>, Option<String>)> {
        self.get_run_info(run_id).await?;
        let offset = super::decode_page_token(page_token)?;
        let limit = match max_results {
            Some(n) if n < 1 => {
                return Err(TrackError::invalid(format!(
                    "max_results must be ≥ 1, got {n}"
                )));
            }
            Some(n) => n,
            None => i64::MAX,
        };
        let rows = sqlx::query(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
             ORDER BY step, timestamp, value LIMIT $3 OFFSET $4",
        )
        .bind(run_id)
        .bind(key)
        .bind(limit.saturating_add(1))
        .bind(offset)
        .fetch_all(self.reader())
        .await?;
        let mut out = rows
            .iter()
            .map(metric_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next = if (out.len() as i64) > limit {
            out.truncate(limit as usize);
            Some(super::encode_page_token(offset + limit))
        } else {
            None
        };
        Ok((out, next))
    }

    /// A metric's history over several runs, downsampled on the server to at most about
    /// `max_points` per run: the step range is cut into equal buckets and each bucket keeps its
    /// first, lowest and highest point, so spikes survive and a million-point history comes back
    /// in one small answer. Points of a bucket carry the timestamp of its first step. Steps outside `[start_step, end_step]` are left out.
    pub async fn get_metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_points: i64,
    ) -> Result<Vec<Metric>> {
        let max_points = max_points.clamp(3, 100_000);
        let (from, to) = (start_step.unwrap_or(i64::MIN), end_step.unwrap_or(i64::MAX));
        let mut out = Vec::new();
        for run_id in run_ids {
            self.get_run_info(run_id).await?;
            // A short history comes back whole: read at most one point more than allowed.
            let rows = sqlx::query(
                "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
                 AND step >= $3 AND step <= $4 ORDER BY step, timestamp LIMIT $5",
            )
            .bind(run_id)
            .bind(key)
            .bind(from)
            .bind(to)
            .bind(max_points + 1)
            .fetch_all(self.reader())
            .await?;
            if rows.len() as i64 <= max_points {
                for row in &rows {
                    let mut m = metric_from_row(row)?;
                    m.run_id = Some(run_id.clone());
                    out.push(m);
                }
                continue;
            }
            // Index seeks for the step range (the history index is ordered by step).
            let range = sqlx::query(
                "SELECT MIN(step), MAX(step) FROM metrics WHERE run_uuid = $1 AND key = $2 AND step >= $3 AND step <= $4",
            )
            .bind(run_id)
            .bind(key)
            .bind(from)
            .bind(to)
            .fetch_one(self.reader())
            .await?;
            let (Some(lo), Some(hi)) = (
                range.try_get::<Option<i64>, _>(0)?,
                range.try_get::<Option<i64>, _>(1)?,
            ) else {
                continue;
            };
            // Buckets of equal step width, each aggregated by one range scan of the covering
            // index (no sort), then the steps of its extremes found by scans that stop at the
            // first match.
            let buckets = (max_points / 3).max(1);
            let width = ((hi - lo) / buckets + 1).max(1);
            let mut start = lo;
            while start <= hi {
                let end = start.saturating_add(width).min(hi.saturating_add(1));
                let agg = sqlx::query(
                    "SELECT MIN(step) AS s0, MIN(CASE WHEN is_nan = 0 THEN value END) AS lo_v, \
                     MAX(CASE WHEN is_nan = 0 THEN value END) AS hi_v \
                     FROM metrics WHERE run_uuid = $1 AND key = $2 AND step >= $3 AND step < $4",
                )
                .bind(run_id)
                .bind(key)
                .bind(start)
                .bind(end)
                .fetch_one(self.reader())
                .await?;
                let bucket = (start, end);
                start = end;
                let Some(s0) = agg.try_get::<Option<i64>, _>("s0")? else {
                    continue;
                };
                let first = sqlx::query(
                    "SELECT value, timestamp, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 AND step = $3 \
                     ORDER BY timestamp LIMIT 1",
                )
                .bind(run_id)
                .bind(key)
                .bind(s0)
                .fetch_one(self.reader())
                .await?;
                let ts: i64 = first.try_get("timestamp")?;
                let first_value = if int(&first, "is_nan")? != 0 {
                    f64::NAN
                } else {
                    first.try_get::<f64, _>("value")?
                };
                let mut pts = vec![(s0, first_value)];
                for col in ["lo_v", "hi_v"] {
                    let Some(v) = agg.try_get::<Option<f64>, _>(col)? else {
                        continue;
                    };
                    let step: Option<i64> = sqlx::query(
                        "SELECT step FROM metrics WHERE run_uuid = $1 AND key = $2 AND step >= $3 AND step < $4 \
                         AND is_nan = 0 AND value = $5 ORDER BY step LIMIT 1",
                    )
                    .bind(run_id)
                    .bind(key)
                    .bind(bucket.0)
                    .bind(bucket.1)
                    .bind(v)
                    .fetch_optional(self.reader())
                    .await?
                    .map(|r| r.try_get::<i64, _>(0))
                    .transpose()?;
                    if let Some(step) = step {
                        pts.push((step, v));
                    }
                }
                pts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
                pts.dedup_by(|a, b| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
                for (step, value) in pts {
                    out.push(Metric {
                        key: key.to_string(),
                        value,
                        timestamp: ts,
                        step,
                        run_id: Some(run_id.clone()),
                    });
                }
            }
        }
        Ok(out)
    }

    /// Records datasets (and MLflow 3 models) a run used.
    pub async fn log_inputs(
        &self,
        run_id: &str,
        datasets: &[DatasetInput],
        models: &[ModelRef],
    ) -> Result<()> {
        let info = self.get_run_info(run_id).await?;
        check_active(&info)?;
        let eid = validate::experiment_id(&info.experiment_id)?;
        let mut tx = self.writer().begin().await?;
        for input in datasets {
            let d = &input.dataset;
            if d.name.is_empty() || d.digest.is_empty() {
                return Err(TrackError::invalid(
                    "a dataset input needs a name and a digest",
                ));
            }
            sqlx::query(
                "INSERT INTO datasets (dataset_uuid, experiment_id, name, digest, source_type, source, schema, profile) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (experiment_id, name, digest) DO NOTHING",
            )
            .bind(new_id())
            .bind(eid)
            .bind(&d.name)
            .bind(&d.digest)
            .bind(&d.source_type)
            .bind(&d.source)
            .bind(&d.schema)
            .bind(&d.profile)
            .execute(&mut *tx)
            .await?;
            let uuid: String = sqlx::query("SELECT dataset_uuid FROM datasets WHERE experiment_id = $1 AND name = $2 AND digest = $3")
                .bind(eid)
                .bind(&d.name)
                .bind(&d.digest)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            sqlx::query("INSERT INTO run_inputs (run_uuid, dataset_uuid) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(run_id)
                .bind(&uuid)
                .execute(&mut *tx)
                .await?;
            for t in &input.tags {
                sqlx::query(
                    "INSERT INTO run_input_tags (run_uuid, dataset_uuid, key, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (run_uuid, dataset_uuid, key) DO UPDATE SET value = excluded.value",
                )
                .bind(run_id)
                .bind(&uuid)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await?;
            }
        }
        // Model inputs are accepted and recorded as outputs are not: MLflow stores them for
        // lineage only; Smelt does not track them yet beyond acknowledging the call.
        let _ = models;
        tx.commit().await?;
        Ok(())
    }

    /// Records models a run produced (MLflow 3 `runs/outputs`).
    pub async fn log_outputs(&self, run_id: &str, models: &[ModelOutput]) -> Result<()> {
        let info = self.get_run_info(run_id).await?;
        check_active(&info)?;
        let mut tx = self.writer().begin().await?;
        for m in models {
            sqlx::query(
                "INSERT INTO run_outputs (run_uuid, model_id, step) VALUES ($1, $2, $3) \
                 ON CONFLICT (run_uuid, model_id) DO UPDATE SET step = excluded.step",
            )
            .bind(run_id)
            .bind(&m.model_id)
            .bind(m.step)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs that used a dataset with this digest (fingerprint), newest first: `(run info,
    /// dataset name, context)`.
    pub async fn runs_using_dataset(&self, digest: &str) -> Result<Vec<(RunInfo, String, String)>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_INFO_COLUMNS}, d.name AS dataset_name, \
             COALESCE((SELECT t.value FROM run_input_tags t WHERE t.run_uuid = i.run_uuid \
               AND t.dataset_uuid = i.dataset_uuid AND t.key = $2), '') AS context \
             FROM datasets d JOIN run_inputs i ON i.dataset_uuid = d.dataset_uuid \
             JOIN runs r ON r.run_uuid = i.run_uuid WHERE d.digest = $1 ORDER BY r.start_time DESC, r.run_uuid"
        )))
        .bind(digest)
        .bind(DATASET_CONTEXT_TAG)
        .fetch_all(self.reader())
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    run_info_from_row(row)?,
                    text(row, "dataset_name")?,
                    text(row, "context")?,
                ))
            })
            .collect()
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
            "params",
            "tags",
            "run_inputs",
            "run_input_tags",
            "run_outputs",
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

fn check_active(info: &RunInfo) -> Result<()> {
    if info.lifecycle_stage != "active" {
        return Err(TrackError::invalid(format!(
            "The run {} must be in the 'active' state. Current state is {}.",
            info.run_id, info.lifecycle_stage
        )));
    }
    Ok(())
}

/// Keeps the last value of each key, in first-seen order.
fn dedupe_last(tags: Vec<KeyValue>) -> Vec<KeyValue> {
    let mut order: Vec<String> = Vec::new();
    let mut last: HashMap<String, String> = HashMap::new();
    for t in tags {
        if !last.contains_key(&t.key) {
            order.push(t.key.clone());
        }
        last.insert(t.key, t.value);
    }
    order
        .into_iter()
        .filter_map(|k| last.remove(&k).map(|v| KeyValue { key: k, value: v }))
        .collect()
}

async fn insert_tags(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    tags: &[KeyValue],
) -> Result<()> {
    if tags.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "INSERT INTO tags (run_uuid, key, value) VALUES {} ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value",
        tuples(tags.len(), 3)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in tags {
        q = q.bind(run_id).bind(&t.key).bind(&t.value);
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

/// Orders metric points as MLflow picks the latest: by step, then timestamp, then value (NaN lowest).
fn later(a: &Metric, b: &Metric) -> bool {
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then_with(|| a.value.total_cmp(&b.value))
        .is_gt()
}

async fn insert_metrics(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    metrics: &[Metric],
) -> Result<()> {
    let items: Vec<(&str, &Metric)> = metrics.iter().map(|m| (run_id, m)).collect();
    insert_metrics_multi(tx, &items).await
}

/// Appends metric points of one or more runs (multi-row inserts of 100 rows), then moves each
/// (run, key)'s latest value forward with one upsert per 100 keys that keeps the stored point
/// when it is later.
pub(crate) async fn insert_metrics_multi(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    items: &[(&str, &Metric)],
) -> Result<()> {
    for chunk in items.chunks(MAX_BINDS_PER_STATEMENT / 6) {
        let sql = format!(
            "INSERT INTO metrics (run_uuid, key, value, timestamp, step, is_nan) VALUES {}",
            tuples(chunk.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (run_id, m) in chunk {
            let nan = m.value.is_nan();
            q = q
                .bind(*run_id)
                .bind(&m.key)
                .bind(if nan { 0.0 } else { m.value })
                .bind(m.timestamp)
                .bind(m.step)
                .bind(i64::from(nan));
        }
        q.execute(&mut **tx).await?;
    }
    let mut latest: BTreeMap<(&str, &str), &Metric> = BTreeMap::new();
    for (run_id, m) in items {
        match latest.get(&(*run_id, m.key.as_str())) {
            Some(prev) if !later(m, prev) => {}
            _ => {
                latest.insert((run_id, &m.key), m);
            }
        }
    }
    let latest: Vec<(&(&str, &str), &&Metric)> = latest.iter().collect();
    for chunk in latest.chunks(MAX_BINDS_PER_STATEMENT / 7) {
        let sql = format!(
            "INSERT INTO latest_metrics AS l (run_uuid, key, value, timestamp, step, is_nan, value_text) VALUES {} \
             ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, \
             step = excluded.step, is_nan = excluded.is_nan, value_text = excluded.value_text \
             WHERE excluded.step > l.step OR (excluded.step = l.step AND (excluded.timestamp > l.timestamp \
             OR (excluded.timestamp = l.timestamp AND excluded.is_nan = 0 AND (l.is_nan = 1 OR excluded.value > l.value))))",
            tuples(chunk.len(), 7)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((run_id, key), m) in chunk {
            let nan = m.value.is_nan();
            q = q
                .bind(*run_id)
                .bind(*key)
                .bind(if nan { 0.0 } else { m.value })
                .bind(m.timestamp)
                .bind(m.step)
                .bind(i64::from(nan))
                .bind(crate::schema::value_text(m.value));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Most bound values per statement. SQLite looks a `$N` parameter's name up by a linear scan
/// (`sqlite3_bind_parameter_name`, once per parameter as sqlx binds), so binding is quadratic in
/// the parameter count: 6,000 parameters cost more than the insert itself (measured: multi-row
/// inserts of 1,000 points ran the log-batch capacity down from 78k to 29k points/s).
pub(crate) const MAX_BINDS_PER_STATEMENT: usize = 600;

/// `$a, $a+1, …` for an IN list of `n` items.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, $3), ($4, $5, $6), …` for a multi-row VALUES list.
pub(crate) fn tuples(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
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

trait IntoRun {
    fn into_run(self) -> Result<Run>;
}

impl IntoRun for CompactRun {
    fn into_run(self) -> Result<Run> {
        let (id, exp, name, user, status, start, end, stage, uri, mut params, mut tags, metrics, _) =
            self;
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
}

fn parse_json<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|source| TrackError::Json {
        what: "run params, tags or metrics",
        source,
    })
}

pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &[&'q str],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in values {
        q = q.bind(*v);
    }
    q
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

pub(crate) fn metric_from_row(row: &AnyRow) -> Result<Metric> {
    let nan = int(row, "is_nan")? != 0;
    Ok(Metric {
        key: text(row, "key")?,
        value: if nan {
            f64::NAN
        } else {
            row.try_get::<f64, _>("value")?
        },
        timestamp: int(row, "timestamp")?,
        step: int(row, "step")?,
        run_id: None,
    })
}

fn dataset_from_row(row: &AnyRow) -> Result<DatasetRecord> {
    Ok(DatasetRecord {
        name: text(row, "name")?,
        digest: text(row, "digest")?,
        source_type: text(row, "source_type")?,
        source: text(row, "source")?,
        schema: text(row, "schema")?,
        profile: text(row, "profile")?,
    })
}

/// A memorable run name, as MLflow makes them (`adjective-noun-123`).
fn random_run_name() -> String {
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
    use super::super::tests::backends;
    use super::*;

    fn m(key: &str, value: f64, timestamp: i64, step: i64) -> Metric {
        Metric {
            key: key.into(),
            value,
            timestamp,
            step,
            run_id: None,
        }
    }

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
    async fn nan_and_infinite_metrics() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            s.log_metric(&id, m("v", f64::NAN, 1, 0))
                .await
                .expect("nan");
            s.log_metric(&id, m("w", f64::INFINITY, 1, 0))
                .await
                .expect("inf");
            s.log_metric(&id, m("w", f64::NEG_INFINITY, 2, 0))
                .await
                .expect("-inf");
            let run = s.get_run(&id).await.expect("gets");
            let v = run.data.metrics.iter().find(|x| x.key == "v").expect("v");
            let w = run.data.metrics.iter().find(|x| x.key == "w").expect("w");
            assert!(v.value.is_nan());
            assert_eq!(w.value, f64::NEG_INFINITY);
        }
    }

    #[tokio::test]
    async fn batch_limits_and_duplicates() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            let too_many = (0..1001).map(|i| m("k", i as f64, 0, i)).collect();
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics: too_many,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let params = (0..101)
                .map(|i| KeyValue::new(format!("p{i}"), "v"))
                .collect();
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        params,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let dup = vec![KeyValue::new("p", "1"), KeyValue::new("p", "2")];
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        params: dup,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let ok = (0..1000).map(|i| m("k", i as f64, 0, i)).collect();
            s.log_batch(
                &id,
                BatchLog {
                    metrics: ok,
                    ..Default::default()
                },
            )
            .await
            .expect("1000 is allowed");
            assert_eq!(
                s.get_metric_history(&id, "k", None, None)
                    .await
                    .expect("history")
                    .0
                    .len(),
                1000
            );
            let bad_key = BatchLog {
                metrics: vec![m("../x", 1.0, 0, 0)],
                ..Default::default()
            };
            assert!(s.log_batch(&id, bad_key).await.is_err());
        }
    }

    #[tokio::test]
    async fn sampled_history_keeps_extremes() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            for chunk in 0..10 {
                let ms = (0..1000)
                    .map(|i| {
                        let step = chunk * 1000 + i;
                        m(
                            "loss",
                            if step == 4321 {
                                100.0
                            } else {
                                (step % 7) as f64
                            },
                            step,
                            step,
                        )
                    })
                    .collect();
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics: ms,
                        ..Default::default()
                    },
                )
                .await
                .expect("batch");
            }
            let pts = s
                .get_metric_history_sampled(std::slice::from_ref(&id), "loss", None, None, 300)
                .await
                .expect("sampled");
            assert!(pts.len() <= 320 && pts.len() > 50, "{}", pts.len());
            assert!(
                pts.iter().any(|p| p.value == 100.0),
                "the spike survives downsampling"
            );
            assert!(pts.windows(2).all(|w| w[0].step <= w[1].step));
            let window = s
                .get_metric_history_sampled(&[id], "loss", Some(10), Some(19), 300)
                .await
                .expect("window");
            assert_eq!(window.len(), 10);
        }
    }

    #[tokio::test]
    async fn inputs_outputs_and_purge() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            let ds = DatasetInput {
                tags: vec![KeyValue::new(DATASET_CONTEXT_TAG, "train")],
                dataset: DatasetRecord {
                    name: "adult".into(),
                    digest: "b3:abc".into(),
                    source_type: "local".into(),
                    source: "{}".into(),
                    schema: String::new(),
                    profile: "{\"num_rows\": 10}".into(),
                },
            };
            s.log_inputs(&id, std::slice::from_ref(&ds), &[])
                .await
                .expect("inputs");
            s.log_inputs(&id, std::slice::from_ref(&ds), &[])
                .await
                .expect("again is idempotent");
            s.log_outputs(
                &id,
                &[ModelOutput {
                    model_id: "m-1".into(),
                    step: 3,
                }],
            )
            .await
            .expect("outputs");
            let run = s.get_run(&id).await.expect("gets");
            assert_eq!(run.inputs.dataset_inputs, vec![ds]);
            assert_eq!(run.outputs.model_outputs[0].step, 3);
            s.log_metric(&id, m("x", 1.0, 1, 0)).await.expect("metric");
            assert!(
                s.purge_deleted_runs(None).await.expect("purge").is_empty(),
                "active runs stay"
            );
            s.delete_run(&id).await.expect("deletes");
            let purged = s.purge_deleted_runs(None).await.expect("purge");
            assert_eq!(purged.len(), 1);
            assert_eq!(
                s.get_run(&id).await.expect_err("gone").code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
            let left: i64 = sqlx::query("SELECT COUNT(*) FROM metrics")
                .fetch_one(s.reader())
                .await
                .expect("count")
                .try_get(0)
                .expect("int");
            assert_eq!(left, 0);
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

    #[test]
    fn dedupe_keeps_last_value() {
        let d = dedupe_last(vec![
            KeyValue::new("a", "1"),
            KeyValue::new("b", "2"),
            KeyValue::new("a", "3"),
        ]);
        assert_eq!(d, vec![KeyValue::new("a", "3"), KeyValue::new("b", "2")]);
    }
}
