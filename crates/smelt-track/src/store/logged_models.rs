//! MLflow 3 logged models: a model's own record, created by `log_model` before its files are
//! uploaded and finalised after.

use sqlx::any::AnyRow;

use super::sql::stored_value;
use super::{Store, int, new_id, now_ms, text, validate};
use crate::entities::{KeyValue, LoggedModel, LoggedModelData, LoggedModelInfo, ModelMetric};
use crate::error::{Result, TrackError};

/// What `logged-models` (create) takes.
#[derive(Clone, Debug, Default)]
pub struct LoggedModelCreate {
    /// Experiment id.
    pub experiment_id: String,
    /// Name (a random `adjective-noun-123` when empty, as MLflow makes them).
    pub name: String,
    /// Flavor-defined type.
    pub model_type: String,
    /// Run that logs it (stored as given, as MLflow does: it need not be a run of this store).
    pub source_run_id: String,
    /// Params.
    pub params: Vec<KeyValue>,
    /// Tags.
    pub tags: Vec<KeyValue>,
}

/// The statuses MLflow knows.
const STATUSES: &[&str] = &[
    "LOGGED_MODEL_PENDING",
    "LOGGED_MODEL_READY",
    "LOGGED_MODEL_UPLOAD_FAILED",
];

impl Store {
    /// Creates a logged model in the PENDING state.
    pub async fn create_logged_model(&self, req: LoggedModelCreate) -> Result<LoggedModel> {
        let exp = self
            .get_experiment(if req.experiment_id.is_empty() {
                "0"
            } else {
                &req.experiment_id
            })
            .await?;
        for kv in req.params.iter().chain(&req.tags) {
            validate::key(validate::KeyKind::Param, &kv.key)?;
        }
        let model_id = format!("m-{}", new_id());
        let name = if req.name.is_empty() {
            super::runs::random_run_name()
        } else {
            req.name
        };
        let location = format!(
            "{}/models/{model_id}/artifacts",
            exp.artifact_location.trim_end_matches('/')
        );
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query(
            "INSERT INTO logged_models (model_id, experiment_id, name, artifact_location, creation_timestamp, \
             last_updated_timestamp, status, status_message, lifecycle_stage, model_type, source_run_id) \
             VALUES ($1, $2, $3, $4, $5, $5, 'LOGGED_MODEL_PENDING', '', 'active', $6, $7)",
        )
        .bind(&model_id)
        .bind(validate::experiment_id(&exp.experiment_id)?)
        .bind(&name)
        .bind(&location)
        .bind(now)
        .bind(&req.model_type)
        .bind(&req.source_run_id)
        .execute(&mut *tx)
        .await?;
        for (table, items) in [
            ("logged_model_params", &req.params),
            ("logged_model_tags", &req.tags),
        ] {
            for kv in items {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
                )))
                .bind(&model_id)
                .bind(&kv.key)
                .bind(&kv.value)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        self.get_logged_model(&model_id).await
    }

    /// One logged model; a deleted one is not found, as in MLflow.
    pub async fn get_logged_model(&self, model_id: &str) -> Result<LoggedModel> {
        let row = sqlx::query(
            "SELECT * FROM logged_models WHERE model_id = $1 AND lifecycle_stage <> 'deleted'",
        )
        .bind(model_id)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| {
            TrackError::not_found(format!("Logged model with ID '{model_id}' not found."))
        })?;
        self.logged_model_from_row(&row).await
    }

    pub(crate) async fn logged_model_from_row(&self, row: &AnyRow) -> Result<LoggedModel> {
        let model_id = text(row, "model_id")?;
        let mut kvs = Vec::new();
        for table in ["logged_model_tags", "logged_model_params"] {
            kvs.push(
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT key, value FROM {table} WHERE model_id = $1 ORDER BY key"
                )))
                .bind(&model_id)
                .fetch_all(self.reader())
                .await?
                .iter()
                .map(|r| Ok(KeyValue::new(text(r, "key")?, text(r, "value")?)))
                .collect::<Result<Vec<_>>>()?,
            );
        }
        let params = kvs.pop().unwrap_or_default();
        let tags = kvs.pop().unwrap_or_default();
        let metrics = sqlx::query(
            "SELECT * FROM logged_model_metrics WHERE model_id = $1 \
             ORDER BY key, step, timestamp, run_uuid, dataset_name, dataset_digest",
        )
        .bind(&model_id)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(ModelMetric {
                key: text(r, "key")?,
                value: stored_value(r, "value", "is_nan")?,
                timestamp: int(r, "timestamp")?,
                step: int(r, "step")?,
                run_id: text(r, "run_uuid")?,
                model_id: model_id.clone(),
                dataset_name: text(r, "dataset_name")?,
                dataset_digest: text(r, "dataset_digest")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        Ok(LoggedModel {
            info: LoggedModelInfo {
                model_id,
                experiment_id: int(row, "experiment_id")?.to_string(),
                name: text(row, "name")?,
                creation_timestamp_ms: int(row, "creation_timestamp")?,
                last_updated_timestamp_ms: int(row, "last_updated_timestamp")?,
                artifact_uri: text(row, "artifact_location")?,
                status: text(row, "status")?,
                status_message: text(row, "status_message")?,
                model_type: text(row, "model_type")?,
                source_run_id: text(row, "source_run_id")?,
                tags,
                lifecycle_stage: text(row, "lifecycle_stage")?,
            },
            data: LoggedModelData { params, metrics },
        })
    }

    /// Sets a logged model's status (`finalize`): READY once its files are uploaded.
    pub async fn finalize_logged_model(&self, model_id: &str, status: &str) -> Result<LoggedModel> {
        let status = match status {
            "READY" | "2" => "LOGGED_MODEL_READY",
            "PENDING" | "1" => "LOGGED_MODEL_PENDING",
            "UPLOAD_FAILED" | "3" => "LOGGED_MODEL_UPLOAD_FAILED",
            s if STATUSES.contains(&s) => s,
            other => {
                return Err(TrackError::invalid(format!(
                    "Invalid logged model status '{other}'; expected one of {}",
                    STATUSES.join(", ")
                )));
            }
        };
        self.get_logged_model(model_id).await?;
        sqlx::query(
            "UPDATE logged_models SET status = $1, last_updated_timestamp = $2 WHERE model_id = $3",
        )
        .bind(status)
        .bind(now_ms())
        .bind(model_id)
        .execute(self.writer())
        .await?;
        self.get_logged_model(model_id).await
    }

    /// Soft-deletes a logged model.
    pub async fn delete_logged_model(&self, model_id: &str) -> Result<()> {
        self.get_logged_model(model_id).await?;
        sqlx::query("UPDATE logged_models SET lifecycle_stage = 'deleted', last_updated_timestamp = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Records metrics logged with a model id (each also logged to its run by the caller), so
    /// they show on the model and `logged-models/search` can filter by their datasets. The
    /// models must exist; a repeated (model, key, timestamp, step, run, dataset) keeps the last
    /// value.
    pub async fn log_logged_model_metrics(&self, metrics: &[ModelMetric]) -> Result<()> {
        let mut checked: Vec<&str> = Vec::new();
        for m in metrics {
            if !checked.contains(&m.model_id.as_str()) {
                self.get_logged_model(&m.model_id).await?;
                checked.push(&m.model_id);
            }
        }
        let mut tx = self.writer().begin().await?;
        for m in metrics {
            let nan = m.value.is_nan();
            sqlx::query(
                "INSERT INTO logged_model_metrics (model_id, key, timestamp, step, run_uuid, dataset_name, \
                 dataset_digest, value, is_nan) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (model_id, key, timestamp, step, run_uuid, dataset_name, dataset_digest) \
                 DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan",
            )
            .bind(&m.model_id)
            .bind(&m.key)
            .bind(m.timestamp)
            .bind(m.step)
            .bind(&m.run_id)
            .bind(&m.dataset_name)
            .bind(&m.dataset_digest)
            .bind(if nan { 0.0 } else { m.value })
            .bind(i64::from(nan))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets tags on a logged model.
    pub async fn set_logged_model_tags(&self, model_id: &str, tags: &[KeyValue]) -> Result<()> {
        self.upsert_logged_model_kv("logged_model_tags", model_id, tags)
            .await
    }

    /// Logs params on a logged model.
    pub async fn log_logged_model_params(&self, model_id: &str, params: &[KeyValue]) -> Result<()> {
        self.upsert_logged_model_kv("logged_model_params", model_id, params)
            .await
    }

    async fn upsert_logged_model_kv(
        &self,
        table: &'static str,
        model_id: &str,
        items: &[KeyValue],
    ) -> Result<()> {
        self.get_logged_model(model_id).await?;
        for kv in items {
            validate::key(validate::KeyKind::Tag, &kv.key)?;
            validate::value("Tag", &kv.key, &kv.value, validate::MAX_TAG_VALUE_LENGTH)?;
        }
        let mut tx = self.writer().begin().await?;
        for kv in items {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "INSERT INTO {table} (model_id, key, value) VALUES ($1, $2, $3) ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value"
            )))
            .bind(model_id)
            .bind(&kv.key)
            .bind(&kv.value)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE logged_models SET last_updated_timestamp = $1 WHERE model_id = $2")
            .bind(now_ms())
            .bind(model_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deletes one tag of a logged model.
    pub async fn delete_logged_model_tag(&self, model_id: &str, key: &str) -> Result<()> {
        self.get_logged_model(model_id).await?;
        let n = sqlx::query("DELETE FROM logged_model_tags WHERE model_id = $1 AND key = $2")
            .bind(model_id)
            .bind(key)
            .execute(self.writer())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(TrackError::not_found(format!(
                "No tag with key '{key}' on logged model '{model_id}'"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::backends;
    use super::*;

    #[tokio::test]
    async fn logged_model_lifecycle() {
        for (s, _dir) in backends().await {
            let run = s
                .create_run(super::super::RunCreate::default())
                .await
                .expect("run")
                .info
                .run_id;
            let lm = s
                .create_logged_model(LoggedModelCreate {
                    name: "model".into(),
                    source_run_id: run.clone(),
                    params: vec![KeyValue::new("alpha", "1")],
                    ..Default::default()
                })
                .await
                .expect("creates");
            assert!(lm.info.model_id.starts_with("m-"));
            assert_eq!(lm.info.status, "LOGGED_MODEL_PENDING");
            assert_eq!(
                lm.info.artifact_uri,
                format!("mlflow-artifacts:/0/models/{}/artifacts", lm.info.model_id)
            );
            let id = lm.info.model_id;
            assert_eq!(
                s.finalize_logged_model(&id, "LOGGED_MODEL_READY")
                    .await
                    .expect("final")
                    .info
                    .status,
                "LOGGED_MODEL_READY"
            );
            s.set_logged_model_tags(&id, &[KeyValue::new("mlflow.modelVersions", "[]")])
                .await
                .expect("tags");
            let got = s.get_logged_model(&id).await.expect("gets");
            assert_eq!(got.info.tags.len(), 1);
            assert_eq!(got.data.params, vec![KeyValue::new("alpha", "1")]);
            s.delete_logged_model_tag(&id, "mlflow.modelVersions")
                .await
                .expect("untag");
            assert!(s.finalize_logged_model(&id, "BOGUS").await.is_err());
            s.log_logged_model_metrics(&[ModelMetric {
                key: "auc".into(),
                value: f64::NAN,
                timestamp: 5,
                step: 1,
                run_id: run.clone(),
                model_id: id.clone(),
                dataset_name: "test".into(),
                dataset_digest: "d1".into(),
            }])
            .await
            .expect("model metric");
            let metrics = s.get_logged_model(&id).await.expect("gets").data.metrics;
            assert_eq!(metrics.len(), 1);
            assert!(metrics[0].value.is_nan() && metrics[0].dataset_digest == "d1");
            let on = |name: &str, digest: Option<&str>| crate::entities::DatasetFilter {
                dataset_name: name.into(),
                dataset_digest: digest.map(str::to_string),
            };
            for (datasets, found) in [
                (vec![on("test", None)], 1),
                (vec![on("test", Some("d1"))], 1),
                (vec![on("test", Some("d2"))], 0),
                (vec![on("train", None), on("test", Some("d1"))], 1),
            ] {
                let page = s
                    .search_logged_models_on(&["0".into()], &Default::default(), &datasets)
                    .await
                    .expect("search");
                assert_eq!(page.items.len(), found, "{datasets:?}");
            }
            s.delete_logged_model(&id).await.expect("deletes");
            assert_eq!(
                s.get_logged_model(&id)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.code()),
                Err(crate::ErrorCode::ResourceDoesNotExist)
            );
            // Unnamed models get distinct names; a source run need not exist here.
            let unnamed = |_| LoggedModelCreate {
                source_run_id: "123".into(),
                ..Default::default()
            };
            let a = s.create_logged_model(unnamed(0)).await.expect("a").info;
            let b = s.create_logged_model(unnamed(1)).await.expect("b").info;
            assert_ne!(a.name, b.name);
            assert_eq!(a.source_run_id, "123");
        }
    }
}
