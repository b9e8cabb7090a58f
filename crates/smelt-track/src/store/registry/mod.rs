//! The model registry: registered models, versions, aliases and tags.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, int, now_ms, text, validate};
use crate::entities::{Alias, KeyValue, ModelVersion, RegisteredModel};
use crate::error::{Result, TrackError};

/// What `model-versions/create` takes.
#[derive(Clone, Debug, Default)]
pub struct VersionCreate {
    /// Registered model name.
    pub name: String,
    /// Where the files are: `runs:/<run>/<path>`, `models:/<model_id>`, or a URI.
    pub source: String,
    /// Producing run.
    pub run_id: String,
    /// Tags.
    pub tags: Vec<KeyValue>,
    /// Link to the run elsewhere.
    pub run_link: String,
    /// Free text.
    pub description: String,
    /// MLflow 3 LoggedModel id.
    pub model_id: String,
}

const STAGES: &[&str] = &["None", "Staging", "Production", "Archived"];

impl Store {
    /// Registers a model name.
    pub async fn create_registered_model(
        &self,
        name: &str,
        tags: &[KeyValue],
        description: &str,
    ) -> Result<RegisteredModel> {
        validate::model_name(name)?;
        check_tags(tags)?;
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        let n = sqlx::query(
            "INSERT INTO registered_models (name, creation_timestamp, last_updated_timestamp, description, user_id) \
             VALUES ($1, $2, $2, $3, '') ON CONFLICT DO NOTHING",
        )
        .bind(name)
        .bind(now)
        .bind(description)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Err(TrackError::AlreadyExists(format!(
                "Registered Model (name={name}) already exists."
            )));
        }
        for t in tags {
            sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
                .bind(name)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        self.get_registered_model(name).await
    }

    /// A registered model with its tags, aliases and latest version per stage.
    pub async fn get_registered_model(&self, name: &str) -> Result<RegisteredModel> {
        let row = sqlx::query("SELECT * FROM registered_models WHERE name = $1")
            .bind(name)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| {
                TrackError::not_found(format!("Registered Model with name={name} not found"))
            })?;
        self.registered_model_from_row(&row).await
    }

    pub(crate) async fn registered_model_from_row(&self, row: &AnyRow) -> Result<RegisteredModel> {
        let name = text(row, "name")?;
        let tags = kv(sqlx::query(
            "SELECT key, value FROM registered_model_tags WHERE name = $1 ORDER BY key",
        )
        .bind(&name)
        .fetch_all(self.reader())
        .await?)?;
        let aliases = sqlx::query(
            "SELECT alias, version FROM registered_model_aliases WHERE name = $1 ORDER BY alias",
        )
        .bind(&name)
        .fetch_all(self.reader())
        .await?
        .iter()
        .map(|r| {
            Ok(Alias {
                alias: text(r, "alias")?,
                version: int(r, "version")?.to_string(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let latest_versions = self.latest_versions(&name, &[]).await?;
        Ok(RegisteredModel {
            name,
            creation_timestamp: int(row, "creation_timestamp")?,
            last_updated_timestamp: int(row, "last_updated_timestamp")?,
            user_id: text(row, "user_id")?,
            description: text(row, "description")?,
            latest_versions,
            tags,
            aliases,
        })
    }

    /// The newest version in each stage (all stages when `stages` is empty).
    pub async fn latest_versions(
        &self,
        name: &str,
        stages: &[String],
    ) -> Result<Vec<ModelVersion>> {
        let rows = sqlx::query(
            "SELECT v.* FROM model_versions v JOIN (SELECT current_stage, MAX(version) AS version FROM model_versions \
             WHERE name = $1 GROUP BY current_stage) l ON l.current_stage = v.current_stage AND l.version = v.version \
             WHERE v.name = $1 ORDER BY v.version",
        )
        .bind(name)
        .fetch_all(self.reader())
        .await?;
        let mut out = Vec::new();
        for row in &rows {
            let stage = text(row, "current_stage")?;
            if stages.is_empty() || stages.iter().any(|s| s.eq_ignore_ascii_case(&stage)) {
                out.push(self.model_version_from_row(row).await?);
            }
        }
        Ok(out)
    }

    /// Renames a registered model (its versions, tags and aliases follow).
    pub async fn rename_registered_model(
        &self,
        name: &str,
        new_name: &str,
    ) -> Result<RegisteredModel> {
        validate::model_name(new_name)?;
        self.get_registered_model(name).await?;
        if name != new_name && self.get_registered_model(new_name).await.is_ok() {
            return Err(TrackError::AlreadyExists(format!(
                "Registered Model (name={new_name}) already exists."
            )));
        }
        let mut tx = self.writer().begin().await?;
        for table in [
            "registered_models",
            "registered_model_tags",
            "registered_model_aliases",
            "model_versions",
            "model_version_tags",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET name = $1 WHERE name = $2"
            )))
            .bind(new_name)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE registered_models SET last_updated_timestamp = $1 WHERE name = $2")
            .bind(now_ms())
            .bind(new_name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_registered_model(new_name).await
    }

    /// Updates a registered model's description.
    pub async fn update_registered_model(
        &self,
        name: &str,
        description: &str,
    ) -> Result<RegisteredModel> {
        self.get_registered_model(name).await?;
        sqlx::query("UPDATE registered_models SET description = $1, last_updated_timestamp = $2 WHERE name = $3")
            .bind(description)
            .bind(now_ms())
            .bind(name)
            .execute(self.writer())
            .await?;
        self.get_registered_model(name).await
    }

    /// Deletes a registered model with all its versions, tags and aliases.
    pub async fn delete_registered_model(&self, name: &str) -> Result<()> {
        self.get_registered_model(name).await?;
        let mut tx = self.writer().begin().await?;
        for table in [
            "registered_models",
            "registered_model_tags",
            "registered_model_aliases",
            "model_versions",
            "model_version_tags",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE name = $1"
            )))
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets a registered-model tag.
    pub async fn set_registered_model_tag(&self, name: &str, key: &str, value: &str) -> Result<()> {
        check_tags(&[KeyValue::new(key, value)])?;
        self.get_registered_model(name).await?;
        sqlx::query("INSERT INTO registered_model_tags (name, key, value) VALUES ($1, $2, $3) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(key)
            .bind(value)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Deletes a registered-model tag.
    pub async fn delete_registered_model_tag(&self, name: &str, key: &str) -> Result<()> {
        self.get_registered_model(name).await?;
        sqlx::query("DELETE FROM registered_model_tags WHERE name = $1 AND key = $2")
            .bind(name)
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Creates the next version of a registered model (READY at once: the files stay where
    /// `source` says).
    pub async fn create_model_version(&self, mut req: VersionCreate) -> Result<ModelVersion> {
        self.get_registered_model(&req.name).await?;
        // MLflow 3 registers `models:/<model_id>`: the lineage goes through the logged model.
        if req.model_id.is_empty()
            && let Some(id) = req
                .source
                .strip_prefix("models:/")
                .filter(|id| id.starts_with("m-") && !id.contains('/'))
        {
            req.model_id = id.to_string();
        }
        if req.run_id.is_empty() && !req.model_id.is_empty() {
            // A source naming a model this store does not hold keeps an empty run id.
            if let Ok(m) = self.get_logged_model(&req.model_id).await {
                req.run_id = m.info.source_run_id;
            }
        }
        check_tags(&req.tags)?;
        if req.source.is_empty() {
            return Err(TrackError::invalid(
                "Missing value for required parameter 'source'.",
            ));
        }
        // The run id is stored as given, as MLflow 3.17 does: `runs:/<id>/model` with that id
        // registers whether or not this store holds the run (lineage resolves when it does).
        // A logged model's `mlflow.modelVersions` tag records the version (below).
        let now = now_ms();
        for _attempt in 0..5 {
            let mut tx = self.writer().begin().await?;
            // Numbers are never reused, as in MLflow: after the highest version is deleted the
            // next one still counts on from it (`last_version`).
            let version: i64 = sqlx::query(
                "SELECT COALESCE((SELECT MAX(version) FROM model_versions WHERE name = $1), 0), \
                 COALESCE((SELECT last_version FROM registered_models WHERE name = $1), 0)",
            )
            .bind(&req.name)
            .fetch_one(&mut *tx)
            .await
            .and_then(|row| Ok(row.try_get::<i64, _>(0)?.max(row.try_get::<i64, _>(1)?)))?
                + 1;
            let n = sqlx::query(
                "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, description, \
                 user_id, current_stage, source, run_id, run_link, status, status_message, model_id) \
                 VALUES ($1, $2, $3, $3, $4, '', 'None', $5, $6, $7, 'READY', '', $8) ON CONFLICT DO NOTHING",
            )
            .bind(&req.name)
            .bind(version)
            .bind(now)
            .bind(&req.description)
            .bind(&req.source)
            .bind(&req.run_id)
            .bind(&req.run_link)
            .bind(&req.model_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                continue;
            }
            for t in &req.tags {
                sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value")
                    .bind(&req.name)
                    .bind(version)
                    .bind(&t.key)
                    .bind(&t.value)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "UPDATE registered_models SET last_updated_timestamp = $1, last_version = $2 WHERE name = $3",
            )
            .bind(now)
            .bind(version)
            .bind(&req.name)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            if !req.model_id.is_empty() {
                self.add_model_version_to_logged_model(&req.model_id, &req.name, version)
                    .await?;
            }
            return self
                .get_model_version(&req.name, &version.to_string())
                .await;
        }
        Err(TrackError::InvalidState(format!(
            "could not allocate a version number for model '{}'",
            req.name
        )))
    }

    /// Appends `{"name": name, "version": version}` to the logged model's
    /// `mlflow.modelVersions` tag (a JSON list, written as Python's `json.dumps` does, as MLflow's
    /// `set_model_versions_tags`). A model this store does not hold is left alone.
    async fn add_model_version_to_logged_model(
        &self,
        model_id: &str,
        name: &str,
        version: i64,
    ) -> Result<()> {
        let Ok(model) = self.get_logged_model(model_id).await else {
            return Ok(());
        };
        let mut versions: Vec<serde_json::Value> = model
            .info
            .tags
            .iter()
            .find(|t| t.key == MODEL_VERSIONS_TAG)
            .and_then(|t| serde_json::from_str(&t.value).ok())
            .unwrap_or_default();
        versions.push(serde_json::json!({ "name": name, "version": version }));
        let text = versions
            .iter()
            .map(python_json)
            .collect::<Vec<_>>()
            .join(", ");
        self.set_logged_model_tags(
            model_id,
            &[KeyValue::new(MODEL_VERSIONS_TAG, format!("[{text}]"))],
        )
        .await
    }

    /// One model version.
    pub async fn get_model_version(&self, name: &str, version: &str) -> Result<ModelVersion> {
        let v = validate::version(version)?;
        let row = sqlx::query("SELECT * FROM model_versions WHERE name = $1 AND version = $2")
            .bind(name)
            .bind(v)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| {
                TrackError::not_found(format!(
                    "Model Version (name={name}, version={version}) not found"
                ))
            })?;
        self.model_version_from_row(&row).await
    }

    pub(crate) async fn model_version_from_row(&self, row: &AnyRow) -> Result<ModelVersion> {
        let name = text(row, "name")?;
        let version = int(row, "version")?;
        let tags = kv(sqlx::query("SELECT key, value FROM model_version_tags WHERE name = $1 AND version = $2 ORDER BY key")
            .bind(&name)
            .bind(version)
            .fetch_all(self.reader())
            .await?)?;
        let aliases = sqlx::query("SELECT alias FROM registered_model_aliases WHERE name = $1 AND version = $2 ORDER BY alias")
            .bind(&name)
            .bind(version)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| text(r, "alias"))
            .collect::<Result<Vec<_>>>()?;
        Ok(ModelVersion {
            name,
            version: version.to_string(),
            creation_timestamp: int(row, "creation_timestamp")?,
            last_updated_timestamp: int(row, "last_updated_timestamp")?,
            user_id: text(row, "user_id")?,
            current_stage: text(row, "current_stage")?,
            description: text(row, "description")?,
            source: text(row, "source")?,
            run_id: text(row, "run_id")?,
            status: text(row, "status")?,
            status_message: text(row, "status_message")?,
            tags,
            run_link: text(row, "run_link")?,
            aliases,
            model_id: text(row, "model_id")?,
        })
    }

    /// Updates a version's description.
    pub async fn update_model_version(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<ModelVersion> {
        self.get_model_version(name, version).await?;
        sqlx::query("UPDATE model_versions SET description = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4")
            .bind(description)
            .bind(now_ms())
            .bind(name)
            .bind(validate::version(version)?)
            .execute(self.writer())
            .await?;
        self.get_model_version(name, version).await
    }

    /// Moves a version to a legacy stage, optionally archiving the others in that stage.
    pub async fn transition_model_version_stage(
        &self,
        name: &str,
        version: &str,
        stage: &str,
        archive_existing: bool,
    ) -> Result<ModelVersion> {
        let stage = STAGES
            .iter()
            .find(|s| s.eq_ignore_ascii_case(stage))
            .ok_or_else(|| TrackError::invalid(format!("Invalid Model Version stage: {stage}. Value must be one of None, Staging, Production, Archived.")))?;
        self.get_model_version(name, version).await?;
        let v = validate::version(version)?;
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        if archive_existing && matches!(*stage, "Staging" | "Production") {
            sqlx::query("UPDATE model_versions SET current_stage = 'Archived', last_updated_timestamp = $1 WHERE name = $2 AND current_stage = $3 AND version <> $4")
                .bind(now)
                .bind(name)
                .bind(*stage)
                .bind(v)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE model_versions SET current_stage = $1, last_updated_timestamp = $2 WHERE name = $3 AND version = $4")
            .bind(*stage)
            .bind(now)
            .bind(name)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        // A stage change touches the registered model too, as in MLflow.
        sqlx::query("UPDATE registered_models SET last_updated_timestamp = $1 WHERE name = $2")
            .bind(now)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_model_version(name, version).await
    }

    /// Deletes a version (and the aliases pointing at it).
    pub async fn delete_model_version(&self, name: &str, version: &str) -> Result<()> {
        self.get_model_version(name, version).await?;
        let v = validate::version(version)?;
        let mut tx = self.writer().begin().await?;
        for table in [
            "model_versions",
            "model_version_tags",
            "registered_model_aliases",
        ] {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE name = $1 AND version = $2"
            )))
            .bind(name)
            .bind(v)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE registered_models SET last_updated_timestamp = $1 WHERE name = $2")
            .bind(now_ms())
            .bind(name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets a model-version tag.
    pub async fn set_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
        value: &str,
    ) -> Result<()> {
        check_tags(&[KeyValue::new(key, value)])?;
        self.get_model_version(name, version).await?;
        sqlx::query("INSERT INTO model_version_tags (name, version, key, value) VALUES ($1, $2, $3, $4) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value")
            .bind(name)
            .bind(validate::version(version)?)
            .bind(key)
            .bind(value)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Deletes a model-version tag.
    pub async fn delete_model_version_tag(
        &self,
        name: &str,
        version: &str,
        key: &str,
    ) -> Result<()> {
        self.get_model_version(name, version).await?;
        sqlx::query("DELETE FROM model_version_tags WHERE name = $1 AND version = $2 AND key = $3")
            .bind(name)
            .bind(validate::version(version)?)
            .bind(key)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Points an alias at a version (moving it if it pointed elsewhere).
    pub async fn set_registered_model_alias(
        &self,
        name: &str,
        alias: &str,
        version: &str,
    ) -> Result<()> {
        validate::alias(alias)?;
        self.get_model_version(name, version).await?;
        sqlx::query("INSERT INTO registered_model_aliases (name, alias, version) VALUES ($1, $2, $3) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version")
            .bind(name)
            .bind(alias)
            .bind(validate::version(version)?)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Removes an alias.
    pub async fn delete_registered_model_alias(&self, name: &str, alias: &str) -> Result<()> {
        self.get_registered_model(name).await?;
        sqlx::query("DELETE FROM registered_model_aliases WHERE name = $1 AND alias = $2")
            .bind(name)
            .bind(alias)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// The version an alias points at.
    pub async fn get_model_version_by_alias(
        &self,
        name: &str,
        alias: &str,
    ) -> Result<ModelVersion> {
        let row = sqlx::query(
            "SELECT version FROM registered_model_aliases WHERE name = $1 AND alias = $2",
        )
        .bind(name)
        .bind(alias)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| {
            TrackError::not_found(format!("Registered model alias {alias} not found."))
        })?;
        self.get_model_version(name, &int(&row, "version")?.to_string())
            .await
    }

    /// Where a version's files can be downloaded from: for `runs:/<id>/<path>` the run's artifact
    /// URI joined with the path; for `models:/m-<id>` the logged model's artifact location (a
    /// deleted one's too); for `models:/<name>/<version>` (a copied version) that version's;
    /// otherwise, or when the run or model is not in this store, the source itself.
    pub async fn get_model_version_download_uri(
        &self,
        name: &str,
        version: &str,
    ) -> Result<String> {
        let mut mv = self.get_model_version(name, version).await?;
        // Copies of copies, a few levels deep at most.
        for _ in 0..8 {
            let Some((from, from_version)) = mv
                .source
                .strip_prefix("models:/")
                .filter(|rest| !rest.starts_with("m-"))
                .and_then(|rest| rest.rsplit_once('/'))
                .filter(|(_, v)| validate::version(v).is_ok())
            else {
                break;
            };
            match self.get_model_version(from, from_version).await {
                Ok(source) => mv = source,
                Err(e) if e.code() == crate::ErrorCode::ResourceDoesNotExist => break,
                Err(e) => return Err(e),
            }
        }
        let not_here = |e: &TrackError| e.code() == crate::ErrorCode::ResourceDoesNotExist;
        if let Some(rest) = mv.source.strip_prefix("runs:/") {
            let (run, path) = rest.split_once('/').unwrap_or((rest, ""));
            return match self.get_run_info(run).await {
                Ok(info) if path.is_empty() => Ok(info.artifact_uri),
                Ok(info) => Ok(format!("{}/{path}", info.artifact_uri)),
                Err(e) if not_here(&e) => Ok(mv.source),
                Err(e) => Err(e),
            };
        }
        if let Some(id) = mv
            .source
            .strip_prefix("models:/")
            .filter(|id| id.starts_with("m-"))
        {
            let row =
                sqlx::query("SELECT artifact_location FROM logged_models WHERE model_id = $1")
                    .bind(id)
                    .fetch_optional(self.reader())
                    .await?;
            return match row {
                Some(row) => text(&row, "artifact_location"),
                None => Ok(mv.source),
            };
        }
        Ok(mv.source)
    }
}

fn check_tags(tags: &[KeyValue]) -> Result<()> {
    for t in tags {
        validate::key(validate::KeyKind::Tag, &t.key)?;
        validate::value(
            "Tag",
            &t.key,
            &t.value,
            validate::MAX_ENTITY_TAG_VALUE_LENGTH,
        )?;
    }
    Ok(())
}

fn kv(rows: Vec<AnyRow>) -> Result<Vec<KeyValue>> {
    rows.iter()
        .map(|r| Ok(KeyValue::new(text(r, "key")?, text(r, "value")?)))
        .collect()
}

/// The logged-model tag listing the registry versions made from it.
pub const MODEL_VERSIONS_TAG: &str = "mlflow.modelVersions";

/// JSON as Python's `json.dumps` writes it by default: `", "` between items, `": "` after keys.
fn python_json(v: &serde_json::Value) -> String {
    use serde_json::Value;
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(python_json).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_json(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests;
