//! Experiments: create, read, rename, tag, delete and restore.

use sqlx::Row;

use super::{Store, int, now_ms, text, validate};
use crate::entities::{Experiment, KeyValue};
use crate::error::{Result, TrackError};

/// Which lifecycle stages a search returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ViewType {
    /// Only active entities (the default).
    #[default]
    ActiveOnly,
    /// Only deleted ones.
    DeletedOnly,
    /// Both.
    All,
}

impl ViewType {
    /// Parses MLflow's names (`ACTIVE_ONLY`, `DELETED_ONLY`, `ALL`; also 1, 2, 3).
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "ACTIVE_ONLY" | "1" | "" => Ok(Self::ActiveOnly),
            "DELETED_ONLY" | "2" => Ok(Self::DeletedOnly),
            "ALL" | "3" => Ok(Self::All),
            other => Err(TrackError::invalid(format!(
                "Invalid view_type '{other}'; expected ACTIVE_ONLY, DELETED_ONLY or ALL"
            ))),
        }
    }

    /// The SQL condition on a `lifecycle_stage` column.
    pub(crate) fn sql(self, column: &str) -> String {
        match self {
            Self::ActiveOnly => format!("{column} = 'active'"),
            Self::DeletedOnly => format!("{column} = 'deleted'"),
            Self::All => "1 = 1".to_string(),
        }
    }
}

impl Store {
    pub(super) async fn ensure_default_experiment(&self) -> Result<()> {
        let exists = sqlx::query("SELECT 1 FROM experiments WHERE experiment_id = 0")
            .fetch_optional(self.writer())
            .await?
            .is_some();
        if !exists {
            let now = now_ms();
            sqlx::query(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, \
                 last_update_time) VALUES (0, 'Default', $1, 'active', $2, $2) ON CONFLICT DO NOTHING",
            )
            .bind(format!("{}/0", self.artifact_root()))
            .bind(now)
            .execute(self.writer())
            .await?;
        }
        Ok(())
    }

    /// Creates an experiment and returns its id. `artifact_location` defaults to
    /// `<artifact root>/<id>`.
    pub async fn create_experiment(
        &self,
        name: &str,
        artifact_location: Option<&str>,
        tags: &[KeyValue],
    ) -> Result<String> {
        validate::experiment_name(name)?;
        for t in tags {
            validate::key(validate::KeyKind::Tag, &t.key)?;
            validate::value(
                "Tag",
                &t.key,
                &t.value,
                validate::MAX_ENTITY_TAG_VALUE_LENGTH,
            )?;
        }
        // Ids are MAX + 1; on PostgreSQL two concurrent creates can race for one id, so retry.
        for _attempt in 0..5 {
            let mut tx = self.writer().begin().await?;
            if sqlx::query("SELECT 1 FROM experiments WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *tx)
                .await?
                .is_some()
            {
                return Err(TrackError::AlreadyExists(format!(
                    "Experiment(name={name}) already exists."
                )));
            }
            let id: i64 =
                sqlx::query("SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments")
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get(0)?;
            let location = match artifact_location.filter(|l| !l.is_empty()) {
                Some(l) => l.to_string(),
                None => format!("{}/{id}", self.artifact_root()),
            };
            let now = now_ms();
            let inserted = sqlx::query(
                "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, \
                 last_update_time) VALUES ($1, $2, $3, 'active', $4, $4) ON CONFLICT DO NOTHING",
            )
            .bind(id)
            .bind(name)
            .bind(location)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted == 0 {
                continue;
            }
            for t in tags {
                sqlx::query(
                    "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3)",
                )
                .bind(id)
                .bind(&t.key)
                .bind(&t.value)
                .execute(&mut *tx)
                .await?;
            }
            match tx.commit().await {
                Ok(()) => return Ok(id.to_string()),
                Err(e) if is_unique_violation(&e) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(TrackError::AlreadyExists(format!(
            "Experiment(name={name}) already exists."
        )))
    }

    /// One experiment by id.
    pub async fn get_experiment(&self, id: &str) -> Result<Experiment> {
        let eid = validate::experiment_id(id)?;
        let row = sqlx::query("SELECT * FROM experiments WHERE experiment_id = $1")
            .bind(eid)
            .fetch_optional(self.reader())
            .await?
            .ok_or_else(|| TrackError::not_found(format!("No Experiment with id={id} exists")))?;
        let mut exp = experiment_from_row(&row)?;
        exp.tags = self.experiment_tags(eid).await?;
        Ok(exp)
    }

    /// One experiment by name (the active one if a deleted one has the same name).
    pub async fn get_experiment_by_name(&self, name: &str) -> Result<Experiment> {
        let row = sqlx::query(
            "SELECT * FROM experiments WHERE name = $1 ORDER BY CASE WHEN lifecycle_stage = 'active' THEN 0 ELSE 1 END LIMIT 1",
        )
        .bind(name)
        .fetch_optional(self.reader())
        .await?
        .ok_or_else(|| TrackError::not_found(format!("Could not find experiment with name '{name}'")))?;
        let mut exp = experiment_from_row(&row)?;
        exp.tags = self.experiment_tags(int(&row, "experiment_id")?).await?;
        Ok(exp)
    }

    pub(crate) async fn experiment_tags(&self, id: i64) -> Result<Vec<KeyValue>> {
        sqlx::query("SELECT key, value FROM experiment_tags WHERE experiment_id = $1 ORDER BY key")
            .bind(id)
            .fetch_all(self.reader())
            .await?
            .iter()
            .map(|r| Ok(KeyValue::new(text(r, "key")?, text(r, "value")?)))
            .collect()
    }

    /// Renames an experiment.
    pub async fn rename_experiment(&self, id: &str, new_name: &str) -> Result<()> {
        validate::experiment_name(new_name)?;
        let exp = self.get_experiment(id).await?;
        if exp.lifecycle_stage != "active" {
            return Err(TrackError::invalid(format!(
                "Cannot rename a non-active experiment {id} (it is {})",
                exp.lifecycle_stage
            )));
        }
        let result = sqlx::query(
            "UPDATE experiments SET name = $1, last_update_time = $2 WHERE experiment_id = $3",
        )
        .bind(new_name)
        .bind(now_ms())
        .bind(validate::experiment_id(id)?)
        .execute(self.writer())
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(TrackError::AlreadyExists(format!(
                "Experiment(name={new_name}) already exists."
            ))),
            Err(e) => Err(e.into()),
        }
    }

    /// Marks an experiment and its active runs deleted. The Default experiment can be deleted too,
    /// as in MLflow.
    pub async fn delete_experiment(&self, id: &str) -> Result<()> {
        let eid = validate::experiment_id(id)?;
        let exp = self.get_experiment(id).await?;
        if exp.lifecycle_stage == "deleted" {
            return Err(TrackError::invalid(format!(
                "Experiment {id} is already deleted"
            )));
        }
        let now = now_ms();
        let mut tx = self.writer().begin().await?;
        sqlx::query("UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = $1 WHERE experiment_id = $2")
            .bind(now)
            .bind(eid)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = 'deleted', deleted_time = $1 WHERE experiment_id = $2 AND lifecycle_stage = 'active'",
        )
        .bind(now)
        .bind(eid)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Restores a deleted experiment and the runs deleted with it.
    pub async fn restore_experiment(&self, id: &str) -> Result<()> {
        let eid = validate::experiment_id(id)?;
        let exp = self.get_experiment(id).await?;
        if exp.lifecycle_stage != "deleted" {
            return Err(TrackError::invalid(format!(
                "Cannot restore an experiment that is not deleted: {id}"
            )));
        }
        let mut tx = self.writer().begin().await?;
        sqlx::query("UPDATE experiments SET lifecycle_stage = 'active', last_update_time = $1 WHERE experiment_id = $2")
            .bind(now_ms())
            .bind(eid)
            .execute(&mut *tx)
            .await?;
        // Runs deleted at the moment the experiment was (not those deleted one by one before).
        sqlx::query(
            "UPDATE runs SET lifecycle_stage = 'active', deleted_time = NULL WHERE experiment_id = $1 AND deleted_time = $2",
        )
        .bind(eid)
        .bind(exp.last_update_time)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Sets (or overwrites) an experiment tag.
    pub async fn set_experiment_tag(&self, id: &str, key: &str, value: &str) -> Result<()> {
        validate::key(validate::KeyKind::Tag, key)?;
        validate::value("Tag", key, value, validate::MAX_ENTITY_TAG_VALUE_LENGTH)?;
        let eid = validate::experiment_id(id)?;
        let exp = self.get_experiment(id).await?;
        if exp.lifecycle_stage != "active" {
            return Err(TrackError::invalid(format!(
                "The experiment {id} must be in the 'active' state. Current state is {}.",
                exp.lifecycle_stage
            )));
        }
        sqlx::query(
            "INSERT INTO experiment_tags (experiment_id, key, value) VALUES ($1, $2, $3) \
             ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
        )
        .bind(eid)
        .bind(key)
        .bind(value)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Deletes an experiment tag.
    pub async fn delete_experiment_tag(&self, id: &str, key: &str) -> Result<()> {
        let eid = validate::experiment_id(id)?;
        self.get_experiment(id).await?;
        let n = sqlx::query("DELETE FROM experiment_tags WHERE experiment_id = $1 AND key = $2")
            .bind(eid)
            .bind(key)
            .execute(self.writer())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(TrackError::not_found(format!(
                "No tag with name: {key} in experiment {id}"
            )));
        }
        Ok(())
    }
}

pub(crate) fn experiment_from_row(row: &sqlx::any::AnyRow) -> Result<Experiment> {
    Ok(Experiment {
        experiment_id: int(row, "experiment_id")?.to_string(),
        name: text(row, "name")?,
        artifact_location: text(row, "artifact_location")?,
        lifecycle_stage: text(row, "lifecycle_stage")?,
        last_update_time: int(row, "last_update_time")?,
        creation_time: int(row, "creation_time")?,
        tags: Vec::new(),
    })
}

/// Whether a database error is a unique-constraint violation (either backend).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            matches!(db.kind(), sqlx::error::ErrorKind::UniqueViolation)
                || db.message().contains("UNIQUE constraint failed")
                || db.code().as_deref() == Some("23505")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::backends;
    use super::*;

    #[tokio::test]
    async fn experiment_lifecycle() {
        for (s, _dir) in backends().await {
            let id = s
                .create_experiment("e1", None, &[KeyValue::new("team", "a")])
                .await
                .expect("creates");
            assert_eq!(id, "1");
            let e = s.get_experiment(&id).await.expect("gets");
            assert_eq!(
                (e.name.as_str(), e.artifact_location.as_str()),
                ("e1", "mlflow-artifacts:/1")
            );
            assert_eq!(e.tags, vec![KeyValue::new("team", "a")]);
            let dup = s
                .create_experiment("e1", None, &[])
                .await
                .expect_err("duplicate");
            assert_eq!(dup.code(), crate::ErrorCode::ResourceAlreadyExists);
            s.rename_experiment(&id, "e2").await.expect("renames");
            assert_eq!(
                s.get_experiment_by_name("e2")
                    .await
                    .expect("by name")
                    .experiment_id,
                "1"
            );
            assert_eq!(
                s.get_experiment_by_name("e1")
                    .await
                    .expect_err("old name")
                    .code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
            s.set_experiment_tag(&id, "team", "b").await.expect("tag");
            assert_eq!(
                s.get_experiment(&id).await.expect("gets").tags,
                vec![KeyValue::new("team", "b")]
            );
            s.delete_experiment_tag(&id, "team").await.expect("untag");
            s.delete_experiment(&id).await.expect("deletes");
            assert_eq!(
                s.get_experiment(&id).await.expect("gets").lifecycle_stage,
                "deleted"
            );
            s.restore_experiment(&id).await.expect("restores");
            assert_eq!(
                s.get_experiment(&id).await.expect("gets").lifecycle_stage,
                "active"
            );
            assert_eq!(
                s.get_experiment("99").await.expect_err("missing").code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
            assert_eq!(
                s.get_experiment("x").await.expect_err("bad id").code(),
                crate::ErrorCode::InvalidParameterValue
            );
        }
    }
}
