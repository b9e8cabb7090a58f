//! The store's tables, versioned migrations, and the one DDL both SQL backends run.
//!
//! Every statement here is portable between SQLite (3.35+) and PostgreSQL (12+): `BIGINT`,
//! `DOUBLE PRECISION` and `TEXT` columns, no autoincrement (ids are computed in the insert), no
//! dialect-specific functions. Placeholders in the store's queries are `$1, $2, …`, which both
//! backends accept. Migrations are applied in one transaction each, recorded in `smelt_schema`,
//! and only ever appended to: never edit a shipped migration, add a new one.

/// One schema migration: its version and its statements.
pub struct Migration {
    /// Strictly increasing from 1.
    pub version: i64,
    /// What it changes, for the log.
    pub description: &'static str,
    /// Statements, run in order inside one transaction.
    pub statements: &'static [&'static str],
    /// Data that Rust must write after the statements, in the same transaction.
    pub fill: Option<Fill>,
}

/// What a migration fills in for existing rows, beyond its statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fill {
    /// `latest_metrics.value_text` (SQLite's own float-to-text is correct to 15–16 digits only).
    LatestValueText,
    /// `metric_buckets` from the stored points (see `store/buckets.rs`).
    MetricBuckets,
}

/// All migrations, oldest first.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "experiments, runs, params, tags, metrics, datasets, registry, logged models",
        statements: &[
            // Experiments. `name` is unique across active and deleted ones, as in MLflow:
            // a deleted experiment's name is free again only after garbage collection.
            "CREATE TABLE experiments (
            experiment_id BIGINT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            artifact_location TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL,
            creation_time BIGINT NOT NULL,
            last_update_time BIGINT NOT NULL
        )",
            "CREATE TABLE experiment_tags (
            experiment_id BIGINT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (experiment_id, key)
        )",
            // Runs. `deleted_time` is set when the run is soft-deleted (for `gc --older-than`).
            "CREATE TABLE runs (
            run_uuid TEXT PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            name TEXT NOT NULL,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            start_time BIGINT NOT NULL,
            end_time BIGINT,
            lifecycle_stage TEXT NOT NULL,
            artifact_uri TEXT NOT NULL,
            deleted_time BIGINT
        )",
            "CREATE INDEX runs_by_experiment ON runs (experiment_id, lifecycle_stage, start_time)",
            "CREATE TABLE params (
            run_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_uuid, key)
        )",
            "CREATE INDEX params_by_key ON params (key, value)",
            "CREATE TABLE tags (
            run_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_uuid, key)
        )",
            "CREATE INDEX tags_by_key ON tags (key, value)",
            // The full, append-only metric history. A NaN is stored as value 0 with is_nan 1
            // (SQLite turns a NaN double into NULL).
            "CREATE TABLE metrics (
            run_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            timestamp BIGINT NOT NULL,
            step BIGINT NOT NULL,
            is_nan BIGINT NOT NULL
        )",
            "CREATE INDEX metrics_by_run_key_step ON metrics (run_uuid, key, step)",
            // The latest value per (run, key): the largest (step, timestamp, value), as MLflow
            // defines it. Kept on every write, so search never scans the history.
            "CREATE TABLE latest_metrics (
            run_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            timestamp BIGINT NOT NULL,
            step BIGINT NOT NULL,
            is_nan BIGINT NOT NULL,
            PRIMARY KEY (run_uuid, key)
        )",
            "CREATE INDEX latest_metrics_by_key_value ON latest_metrics (key, value)",
            // Dataset inputs: one row per distinct dataset in an experiment; `digest` is Smelt's
            // fingerprint when Smelt logged it; `profile` is JSON (row count and more).
            "CREATE TABLE datasets (
            dataset_uuid TEXT PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            name TEXT NOT NULL,
            digest TEXT NOT NULL,
            source_type TEXT NOT NULL,
            source TEXT NOT NULL,
            schema TEXT NOT NULL,
            profile TEXT NOT NULL,
            UNIQUE (experiment_id, name, digest)
        )",
            "CREATE TABLE run_inputs (
            run_uuid TEXT NOT NULL,
            dataset_uuid TEXT NOT NULL,
            PRIMARY KEY (run_uuid, dataset_uuid)
        )",
            "CREATE INDEX run_inputs_by_dataset ON run_inputs (dataset_uuid)",
            "CREATE TABLE run_input_tags (
            run_uuid TEXT NOT NULL,
            dataset_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (run_uuid, dataset_uuid, key)
        )",
            // Model registry.
            "CREATE TABLE registered_models (
            name TEXT PRIMARY KEY,
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL,
            description TEXT NOT NULL,
            user_id TEXT NOT NULL
        )",
            "CREATE TABLE registered_model_tags (
            name TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (name, key)
        )",
            "CREATE TABLE registered_model_aliases (
            name TEXT NOT NULL,
            alias TEXT NOT NULL,
            version BIGINT NOT NULL,
            PRIMARY KEY (name, alias)
        )",
            "CREATE TABLE model_versions (
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL,
            description TEXT NOT NULL,
            user_id TEXT NOT NULL,
            current_stage TEXT NOT NULL,
            source TEXT NOT NULL,
            run_id TEXT NOT NULL,
            run_link TEXT NOT NULL,
            status TEXT NOT NULL,
            status_message TEXT NOT NULL,
            model_id TEXT NOT NULL,
            PRIMARY KEY (name, version)
        )",
            "CREATE INDEX model_versions_by_run ON model_versions (run_id)",
            "CREATE TABLE model_version_tags (
            name TEXT NOT NULL,
            version BIGINT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (name, version, key)
        )",
            // MLflow 3 logged models.
            "CREATE TABLE logged_models (
            model_id TEXT PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            name TEXT NOT NULL,
            artifact_location TEXT NOT NULL,
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL,
            status TEXT NOT NULL,
            status_message TEXT NOT NULL,
            lifecycle_stage TEXT NOT NULL,
            model_type TEXT NOT NULL,
            source_run_id TEXT NOT NULL
        )",
            "CREATE INDEX logged_models_by_experiment ON logged_models (experiment_id, creation_timestamp)",
            "CREATE TABLE logged_model_tags (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (model_id, key)
        )",
            "CREATE TABLE logged_model_params (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            PRIMARY KEY (model_id, key)
        )",
            "CREATE TABLE run_outputs (
            run_uuid TEXT NOT NULL,
            model_id TEXT NOT NULL,
            step BIGINT NOT NULL,
            PRIMARY KEY (run_uuid, model_id)
        )",
        ],
        fill: None,
    },
    Migration {
        version: 2,
        description: "metric history index covers values, so histories and chart downsampling read only the index",
        statements: &[
            "CREATE INDEX metrics_history ON metrics (run_uuid, key, step, timestamp, value, is_nan)",
            "DROP INDEX metrics_by_run_key_step",
        ],
        fill: None,
    },
    Migration {
        version: 3,
        description: "latest metric values also as exact text, so a search page is read as one row",
        statements: &["ALTER TABLE latest_metrics ADD COLUMN value_text TEXT"],
        fill: Some(Fill::LatestValueText),
    },
    Migration {
        version: 4,
        description: "per-bucket summaries of metric histories, so charts of long histories read a few hundred rows",
        // A bucket of NaN points only has no extremes (`has_extremes = 0`, the extreme
        // columns 0).
        statements: &["CREATE TABLE metric_buckets (
            run_uuid TEXT NOT NULL,
            key TEXT NOT NULL,
            level BIGINT NOT NULL,
            bucket BIGINT NOT NULL,
            first_step BIGINT NOT NULL,
            first_ts BIGINT NOT NULL,
            first_value DOUBLE PRECISION NOT NULL,
            first_nan BIGINT NOT NULL,
            has_extremes BIGINT NOT NULL,
            min_value DOUBLE PRECISION NOT NULL,
            min_step BIGINT NOT NULL,
            max_value DOUBLE PRECISION NOT NULL,
            max_step BIGINT NOT NULL,
            PRIMARY KEY (run_uuid, key, level, bucket)
        )"],
        fill: Some(Fill::MetricBuckets),
    },
    Migration {
        version: 5,
        description: "MLflow 3 logged models: metrics logged with a model id, and models a run used as input",
        // `dataset_name`/`dataset_digest` are '' when the metric names no dataset.
        statements: &[
            "CREATE TABLE logged_model_metrics (
            model_id TEXT NOT NULL,
            key TEXT NOT NULL,
            timestamp BIGINT NOT NULL,
            step BIGINT NOT NULL,
            run_uuid TEXT NOT NULL,
            dataset_name TEXT NOT NULL,
            dataset_digest TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            is_nan BIGINT NOT NULL,
            PRIMARY KEY (model_id, key, timestamp, step, run_uuid, dataset_name, dataset_digest)
        )",
            "CREATE INDEX logged_model_metrics_by_dataset ON logged_model_metrics (dataset_name, dataset_digest)",
            "CREATE TABLE run_model_inputs (
            run_uuid TEXT NOT NULL,
            model_id TEXT NOT NULL,
            PRIMARY KEY (run_uuid, model_id)
        )",
        ],
        fill: None,
    },
    Migration {
        version: 6,
        description: "registered models remember their highest version, so a deleted version's number is never reused",
        statements: &[
            "ALTER TABLE registered_models ADD COLUMN last_version BIGINT NOT NULL DEFAULT 0",
            "UPDATE registered_models SET last_version = COALESCE((SELECT MAX(v.version) FROM model_versions v \
             WHERE v.name = registered_models.name), 0)",
        ],
        fill: None,
    },
];

/// A metric value as `latest_metrics.value_text` holds it: the shortest decimal that reads back
/// as the same `f64` (`inf`, `-inf`; NaN is stored as `0` with `is_nan = 1`).
pub fn value_text(v: f64) -> String {
    if v.is_nan() {
        "0".to_owned()
    } else {
        format!("{v:e}")
    }
}
