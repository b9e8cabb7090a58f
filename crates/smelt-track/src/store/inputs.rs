//! What runs used and produced: dataset inputs (with Smelt fingerprints as digests) and MLflow 3
//! model outputs.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::runs::{DATASET_CONTEXT_TAG, RUN_INFO_COLUMNS, check_active, run_info_from_row};
use super::{Store, int, new_id, text, validate};
use crate::entities::{
    DatasetInput, DatasetRecord, DatasetSummary, KeyValue, ModelOutput, ModelRef, Run, RunInfo,
};
use crate::error::{Result, TrackError};

impl Store {
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

    /// Loads dataset and model inputs and model outputs for `runs[i]`, `i` in `which`.
    pub(super) async fn attach_inputs_outputs(
        &self,
        runs: &mut [Run],
        which: &[usize],
    ) -> Result<()> {
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
            "SELECT run_uuid, model_id FROM run_model_inputs WHERE {} ORDER BY model_id",
            self.in_json_ids("run_uuid", "$1")
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .fetch_all(self.reader())
            .await?
        {
            if let Some(&i) = index.get(&text(&row, "run_uuid")?) {
                runs[i].inputs.model_inputs.push(ModelRef {
                    model_id: text(&row, "model_id")?,
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
        // Models used as inputs (MLflow 3 lineage), as MLflow stores them: by id, unchecked.
        for m in models {
            sqlx::query(
                "INSERT INTO run_model_inputs (run_uuid, model_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            )
            .bind(run_id)
            .bind(&m.model_id)
            .execute(&mut *tx)
            .await?;
        }
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

    /// The datasets runs of these experiments used, once per (experiment, name, digest,
    /// context): what MLflow's UI lists beside runs (`experiments/search-datasets`). At most
    /// 1,000, as MLflow's store answers.
    pub async fn search_dataset_summaries(
        &self,
        experiment_ids: &[String],
    ) -> Result<Vec<DatasetSummary>> {
        let ids = experiment_ids
            .iter()
            .map(|id| validate::experiment_id(id))
            .collect::<Result<Vec<_>>>()?;
        let ids = serde_json::to_string(&ids).map_err(|source| TrackError::Json {
            what: "experiment ids",
            source,
        })?;
        let sql = format!(
            "SELECT DISTINCT d.experiment_id, d.name, d.digest, t.value AS context \
             FROM datasets d JOIN run_inputs i ON i.dataset_uuid = d.dataset_uuid \
             LEFT JOIN run_input_tags t ON t.run_uuid = i.run_uuid AND t.dataset_uuid = i.dataset_uuid \
             AND t.key = $2 WHERE {} ORDER BY d.experiment_id, d.name, d.digest, t.value LIMIT 1000",
            match self.backend {
                super::Backend::Sqlite => self.in_json_ids("d.experiment_id", "$1"),
                super::Backend::Postgres => {
                    "d.experiment_id IN (SELECT json_array_elements_text($1::json)::BIGINT)".into()
                }
            }
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .bind(DATASET_CONTEXT_TAG)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|row| {
                Ok(DatasetSummary {
                    experiment_id: int(row, "experiment_id")?.to_string(),
                    name: text(row, "name")?,
                    digest: text(row, "digest")?,
                    context: row.try_get::<Option<String>, _>("context")?,
                })
            })
            .collect()
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

#[cfg(test)]
mod tests {
    use super::super::tests::{backends, m};
    use super::*;
    use crate::entities::{KeyValue, ModelOutput};
    use crate::store::RunCreate;

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
            s.log_inputs(
                &id,
                std::slice::from_ref(&ds),
                &[ModelRef {
                    model_id: "m-0".into(),
                }],
            )
            .await
            .expect("again is idempotent, with a model input");
            assert_eq!(
                s.search_dataset_summaries(&["0".to_string(), "7".to_string()])
                    .await
                    .expect("summaries"),
                vec![DatasetSummary {
                    experiment_id: "0".into(),
                    name: "adult".into(),
                    digest: "b3:abc".into(),
                    context: Some("train".into()),
                }]
            );
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
            assert_eq!(run.inputs.model_inputs[0].model_id, "m-0");
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
}
