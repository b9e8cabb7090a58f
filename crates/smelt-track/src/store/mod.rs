//! The tracking store: experiments, runs and their logged values, datasets, the model registry and
//! MLflow 3 logged models, over SQLite or PostgreSQL through one code path (sqlx's `Any` driver).
//!
//! SQLite runs in WAL mode with one writer connection (writes are serialised in-process, so no
//! `SQLITE_BUSY` under load) and a pool of readers; PostgreSQL uses one pool for both.
//! Migrations in [`crate::schema`] are applied on open.

mod buckets;
mod experiments;
mod group;
mod inputs;
mod logged_models;
mod logging;
mod overview;
mod registry;
mod runs;
mod search;
mod sql;
mod tags;
pub mod validate;

use std::str::FromStr;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

use crate::error::{Result, TrackError};
use crate::schema::{Fill, MIGRATIONS, value_text};

pub use experiments::ViewType;
pub use logged_models::LoggedModelCreate;
pub use logging::BatchLog;
pub use overview::{
    ExperimentActivity, GroupMetric, KEYS_FROM_LATEST_RUNS, KeysInUse, MAX_GROUP_METRICS,
    MAX_GROUPS, MetricRange, RunGroup,
};
pub use registry::VersionCreate;
pub use runs::{DATASET_CONTEXT_TAG, PARENT_RUN_TAG, RUN_NAME_TAG, RunCreate};
pub use search::{MAX_RUNS_PAGE, Page, SearchQuery};

/// Which SQL database is behind the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// The tracking store.
#[derive(Clone, Debug)]
pub struct Store {
    write: AnyPool,
    read: AnyPool,
    backend: Backend,
    artifact_root: String,
    metric_writer: tokio::sync::mpsc::Sender<group::Job>,
    stats: std::sync::Arc<PlannerStats>,
}

/// When SQLite's query-planner statistics were last gathered (PostgreSQL's autovacuum keeps its
/// own). Without statistics SQLite guesses that an experiment holds few runs, and a search with a
/// selective filter (`metrics.auc > 0.9` over 10,000 runs) walks every run of the experiment
/// instead of the few hundred the metric index finds; with them it picks the cheaper side.
#[derive(Debug, Default)]
struct PlannerStats {
    /// Runs in the database (counted at open, then incremented by `create_run`).
    runs: std::sync::atomic::AtomicI64,
    /// `runs` when `ANALYZE` last ran (0: never, in this process).
    analyzed_at: std::sync::atomic::AtomicI64,
    /// An `ANALYZE` is under way.
    running: std::sync::atomic::AtomicBool,
}

/// Fewest runs worth gathering statistics for; below this every plan is fast.
const ANALYZE_MIN_RUNS: i64 = 1_000;

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new 32-hex-digit id (a UUID4 without dashes, as MLflow's run ids).
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Turns an MLflow/SQLAlchemy store URI into a sqlx one, and names the backend.
///
/// `sqlite:///relative.db` and `sqlite:////absolute.db` follow SQLAlchemy (three slashes, then the
/// path); a plain file path is taken as SQLite; `postgresql://`, `postgres://` and
/// `postgresql+psycopg2://` are PostgreSQL.
pub fn parse_store_uri(uri: &str) -> Result<(Backend, String)> {
    let bad = |reason: &str| TrackError::BadUri {
        uri: uri.to_string(),
        reason: reason.to_string(),
    };
    if let Some(rest) = uri.strip_prefix("sqlite://") {
        let path = rest
            .strip_prefix('/')
            .ok_or_else(|| bad("use sqlite:///relative.db or sqlite:////abs/path.db"))?;
        if path.is_empty() {
            return Err(bad("no database file given"));
        }
        if path == ":memory:" {
            return Err(bad(
                "an in-memory SQLite store would vanish with the process; give a file",
            ));
        }
        return Ok((Backend::Sqlite, format!("sqlite://{path}?mode=rwc")));
    }
    if let Some((scheme, rest)) = uri.split_once("://") {
        let base = scheme.split('+').next().unwrap_or(scheme);
        return match base {
            "postgresql" | "postgres" => Ok((Backend::Postgres, format!("postgres://{rest}"))),
            "mysql" | "mssql" => Err(bad(
                "MySQL and SQL Server are not supported; use SQLite or PostgreSQL",
            )),
            "http" | "https" => Err(bad(
                "this names a tracking server, and a store (its database) is needed here: pass the \
                 server's --backend-store-uri (sqlite:/// or postgresql://), or use the server's API",
            )),
            _ => Err(bad(
                "expected sqlite:///PATH or postgresql://USER@HOST:PORT/DB",
            )),
        };
    }
    if uri.is_empty() {
        return Err(bad("empty"));
    }
    Ok((Backend::Sqlite, format!("sqlite://{uri}?mode=rwc")))
}

impl Store {
    /// Opens (creating if needed) the store at `uri` and applies pending migrations.
    /// `artifact_root` is where new experiments put their artifacts: `mlflow-artifacts:/` when a
    /// server proxies them, or a `file://` / `s3://` URI.
    pub async fn open(uri: &str, artifact_root: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let (backend, url) = parse_store_uri(uri)?;
        if backend == Backend::Sqlite {
            // Create the parent folder of the database file.
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or("");
            if let Some(parent) = std::path::Path::new(path)
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
            {
                std::fs::create_dir_all(parent).map_err(|source| TrackError::Io {
                    path: parent.display().to_string(),
                    source,
                })?;
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let (write, read) = match backend {
            Backend::Sqlite => {
                let write = sqlite_pool(1).connect_with(options.clone()).await?;
                // The writer creates the file and switches it to WAL before readers open it.
                let read = sqlite_pool(4).connect_with(options).await?;
                (write, read)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_with(options)
                    .await?;
                (pool.clone(), pool)
            }
        };
        let metric_writer = group::spawn(write.clone());
        let store = Self {
            write,
            read,
            backend,
            artifact_root: artifact_root.trim_end_matches('/').to_string(),
            metric_writer,
            stats: Default::default(),
        };
        store.migrate().await?;
        store.ensure_default_experiment().await?;
        if backend == Backend::Sqlite {
            // The largest rowid: the run count (give or take deleted runs) without a scan.
            // (On the writer's connection, open already: a reader connection would cost a few
            // milliseconds of start-up.)
            let runs: i64 = sqlx::query("SELECT COALESCE(MAX(rowid), 0) FROM runs")
                .fetch_one(&store.write)
                .await?
                .try_get(0)?;
            let analyzed: i64 = sqlx::query(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'",
            )
            .fetch_one(&store.write)
            .await?
            .try_get(0)?;
            store.stats.runs.store(runs, Ordering::Relaxed);
            if analyzed > 0 {
                store.stats.analyzed_at.store(runs, Ordering::Relaxed);
            }
            store.runs_created(0);
        }
        Ok(store)
    }

    /// Notes `n` new runs and, on SQLite, refreshes the planner's statistics in the background
    /// once the runs table has doubled since they were last gathered (from
    /// [`ANALYZE_MIN_RUNS`] on). `analysis_limit` keeps each pass to a few milliseconds.
    pub(crate) fn runs_created(&self, n: i64) {
        if self.backend != Backend::Sqlite {
            return;
        }
        let runs = self.stats.runs.fetch_add(n, Ordering::Relaxed) + n;
        let at = self.stats.analyzed_at.load(Ordering::Relaxed);
        if runs < ANALYZE_MIN_RUNS.max(2 * at) || self.stats.running.swap(true, Ordering::AcqRel) {
            return;
        }
        let (write, stats) = (self.write.clone(), self.stats.clone());
        tokio::spawn(async move {
            let t0 = std::time::Instant::now();
            let out = async {
                let mut conn = write.acquire().await?;
                sqlx::query("PRAGMA analysis_limit = 1000")
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("ANALYZE").execute(&mut *conn).await?;
                Ok::<_, sqlx::Error>(())
            }
            .await;
            match out {
                Ok(()) => {
                    stats.analyzed_at.store(runs, Ordering::Relaxed);
                    tracing::debug!(runs, elapsed = ?t0.elapsed(), "refreshed SQLite planner statistics");
                }
                Err(e) => tracing::warn!("could not refresh SQLite planner statistics: {e}"),
            }
            stats.running.store(false, Ordering::Release);
        });
    }

    /// The SQL backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where new experiments put their artifacts.
    pub fn artifact_root(&self) -> &str {
        &self.artifact_root
    }

    /// The schema version the database is at.
    pub async fn schema_version(&self) -> Result<i64> {
        let row = sqlx::query("SELECT MAX(version) FROM smelt_schema")
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get::<Option<i64>, _>(0)?.unwrap_or(0))
    }

    async fn migrate(&self) -> Result<()> {
        sqlx::query("CREATE TABLE IF NOT EXISTS smelt_schema (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)")
            .execute(&self.write)
            .await?;
        let current: i64 = sqlx::query("SELECT MAX(version) FROM smelt_schema")
            .fetch_one(&self.write)
            .await?
            .try_get::<Option<i64>, _>(0)?
            .unwrap_or(0);
        let newest = MIGRATIONS.last().map_or(0, |m| m.version);
        if current > newest {
            return Err(TrackError::InvalidState(format!(
                "the tracking database is at schema version {current}, newer than this smelt knows ({newest}); \
                 upgrade smelt"
            )));
        }
        // All pending migrations in one transaction: a new database is created in one commit,
        // and a failed upgrade leaves the old schema untouched.
        let pending: Vec<_> = MIGRATIONS.iter().filter(|m| m.version > current).collect();
        if !pending.is_empty() {
            let mut tx = self.write.begin().await?;
            for m in pending {
                tracing::info!(
                    version = m.version,
                    description = m.description,
                    "applying tracking-store migration"
                );
                for stmt in m.statements {
                    sqlx::query(*stmt).execute(&mut *tx).await?;
                }
                match m.fill {
                    Some(Fill::LatestValueText) => backfill_value_text(&mut tx).await?,
                    Some(Fill::MetricBuckets) => buckets::backfill(&mut tx).await?,
                    None => {}
                }
                sqlx::query("INSERT INTO smelt_schema (version, applied_ms) VALUES ($1, $2)")
                    .bind(m.version)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
        }
        Ok(())
    }

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.read
    }

    pub(crate) fn writer(&self) -> &AnyPool {
        &self.write
    }

    /// Closes all connections (checkpointing SQLite's WAL).
    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }
}

/// Writes `latest_metrics.value_text` for rows logged before it existed.
async fn backfill_value_text(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    let rows =
        sqlx::query("SELECT run_uuid, key, value FROM latest_metrics WHERE value_text IS NULL")
            .fetch_all(&mut **tx)
            .await?;
    for row in rows {
        let value: f64 = row.try_get("value")?;
        sqlx::query("UPDATE latest_metrics SET value_text = $1 WHERE run_uuid = $2 AND key = $3")
            .bind(value_text(value))
            .bind(text(&row, "run_uuid")?)
            .bind(text(&row, "key")?)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

fn sqlite_pool(n: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(n)
        .min_connections(if n == 1 { 1 } else { 0 })
        .idle_timeout(None)
        .acquire_timeout(Duration::from_secs(60))
        .after_connect(|conn, _meta| {
            Box::pin(async move {
                // WAL: readers never block the writer. synchronous=NORMAL is durable across a
                // process crash (kill -9); case_sensitive_like makes LIKE match MLflow's
                // semantics (the filter compiler relies on it); busy_timeout covers other processes.
                // Reads go through a memory map (no pread and copy per page; the kernel's page
                // cache is shared by all connections) and a 16 MiB page cache per connection.
                for pragma in [
                    "PRAGMA mmap_size = 268435456",
                    "PRAGMA cache_size = -16384",
                    "PRAGMA journal_mode = WAL",
                    "PRAGMA synchronous = NORMAL",
                    "PRAGMA busy_timeout = 10000",
                    "PRAGMA case_sensitive_like = ON",
                    "PRAGMA foreign_keys = OFF",
                ] {
                    sqlx::query(pragma).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
}

/// Reads a text column.
pub(crate) fn text(row: &AnyRow, col: &str) -> Result<String> {
    Ok(row.try_get::<String, _>(col)?)
}

/// Reads a BIGINT column.
pub(crate) fn int(row: &AnyRow, col: &str) -> Result<i64> {
    Ok(row.try_get::<i64, _>(col)?)
}

/// An opaque page token: base64 of `{"offset": N}`, as MLflow's SQL store makes it.
pub fn encode_page_token(offset: i64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{{\"offset\": {offset}}}"))
}

/// Reads a page token made by [`encode_page_token`]; empty means the first page.
pub fn decode_page_token(token: Option<&str>) -> Result<i64> {
    use base64::Engine as _;
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Ok(0);
    };
    let bad = || {
        TrackError::invalid(format!(
            "Invalid page token, could not base64-decode: '{token}'"
        ))
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(token)
        .map_err(|_| bad())?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    v.get("offset")
        .and_then(serde_json::Value::as_i64)
        .filter(|o| *o >= 0)
        .ok_or_else(|| {
            TrackError::invalid(format!(
                "Invalid page token '{token}': no non-negative offset"
            ))
        })
}

/// Validates `max_results` against an upper bound, with a default.
pub fn max_results(given: Option<i64>, default: i64, max: i64) -> Result<i64> {
    match given {
        None => Ok(default),
        Some(n) if (1..=max).contains(&n) => Ok(n),
        Some(n) => Err(TrackError::invalid(format!(
            "Invalid value {n} for parameter 'max_results' supplied. It must be at most {max} and at least 1."
        ))),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh SQLite store in a temp dir, or a PostgreSQL one when `SMELT_TEST_PG_URL` is set and
    /// `pg` is asked for (a new database per call).
    pub(crate) async fn sqlite_store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let uri = format!("sqlite:///{}", dir.path().join("db.sqlite").display());
        let store = Store::open(&uri, "mlflow-artifacts:").await.expect("opens");
        (store, dir)
    }

    /// The stores every store test runs on: SQLite always, and PostgreSQL when
    /// `SMELT_TEST_PG_URL` is set (a fresh schema per call, through the connection's
    /// `search_path`).
    /// A metric point, for tests.
    pub(crate) fn m(key: &str, value: f64, timestamp: i64, step: i64) -> crate::entities::Metric {
        crate::entities::Metric {
            key: key.into(),
            value,
            timestamp,
            step,
            run_id: None,
        }
    }

    pub(crate) async fn backends() -> Vec<(Store, Option<tempfile::TempDir>)> {
        let (sqlite, dir) = sqlite_store().await;
        let mut out = vec![(sqlite, Some(dir))];
        if let Ok(url) = std::env::var("SMELT_TEST_PG_URL") {
            use sqlx::Connection as _;
            sqlx::any::install_default_drivers();
            let schema = format!("store_test_{}", new_id());
            let mut conn = sqlx::AnyConnection::connect(&url)
                .await
                .expect("connects to SMELT_TEST_PG_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut conn)
                .await
                .expect("schema");
            let sep = if url.contains('?') { '&' } else { '?' };
            let uri = format!("{url}{sep}options=-c%20search_path%3D{schema}");
            let store = Store::open(&uri, "mlflow-artifacts:")
                .await
                .expect("opens the PostgreSQL store");
            assert_eq!(store.backend(), Backend::Postgres);
            out.push((store, None));
        }
        out
    }

    #[test]
    fn store_uris() {
        assert_eq!(
            parse_store_uri("sqlite:////tmp/a.db").ok(),
            Some((Backend::Sqlite, "sqlite:///tmp/a.db?mode=rwc".into()))
        );
        assert_eq!(
            parse_store_uri("sqlite:///rel/a.db").ok(),
            Some((Backend::Sqlite, "sqlite://rel/a.db?mode=rwc".into()))
        );
        assert_eq!(
            parse_store_uri("postgresql+psycopg2://u:p@127.0.0.1:5432/db").ok(),
            Some((Backend::Postgres, "postgres://u:p@127.0.0.1:5432/db".into()))
        );
        for bad in [
            "mysql://x/y",
            "sqlite://",
            "sqlite:///",
            "sqlite:///:memory:",
            "ftp://x",
            "",
        ] {
            assert!(parse_store_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_tokens_round_trip_and_reject_garbage() {
        assert_eq!(
            decode_page_token(Some(&encode_page_token(1000))).ok(),
            Some(1000)
        );
        assert_eq!(decode_page_token(None).ok(), Some(0));
        assert_eq!(decode_page_token(Some("")).ok(), Some(0));
        // MLflow's own token format decodes too.
        assert_eq!(
            decode_page_token(Some("eyJvZmZzZXQiOiAxMDAwfQ==")).ok(),
            Some(1000)
        );
        assert!(decode_page_token(Some("not base64!")).is_err());
        assert!(decode_page_token(Some("e30=")).is_err()); // {}
    }

    #[tokio::test]
    async fn upgrade_from_v2_fills_latest_value_text_exactly() {
        // A database made by a Smelt that knew migrations 1 and 2 only, with latest metrics.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("db.sqlite");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        {
            use sqlx::Connection as _;
            sqlx::any::install_default_drivers();
            let mut conn = sqlx::AnyConnection::connect(&url).await.expect("connects");
            sqlx::query("CREATE TABLE smelt_schema (version BIGINT PRIMARY KEY, applied_ms BIGINT NOT NULL)")
                .execute(&mut conn)
                .await
                .expect("schema table");
            for m in &MIGRATIONS[..2] {
                for stmt in m.statements {
                    sqlx::query(*stmt)
                        .execute(&mut conn)
                        .await
                        .expect("old DDL");
                }
                sqlx::query("INSERT INTO smelt_schema VALUES ($1, 0)")
                    .bind(m.version)
                    .execute(&mut conn)
                    .await
                    .expect("version");
            }
            sqlx::query("INSERT INTO experiments VALUES (1, 'e', 'a', 'active', 0, 0)")
                .execute(&mut conn)
                .await
                .expect("experiment");
            sqlx::query("INSERT INTO runs VALUES ('r1', 1, 'n', 'u', 'FINISHED', 1, 2, 'active', 'a/r1', NULL)")
                .execute(&mut conn)
                .await
                .expect("run");
            // A 2,000-point history with a spike, for the bucket summaries (migration 4).
            for step in 0..2000_i64 {
                let v = if step == 1234 {
                    99.0
                } else {
                    (step % 10) as f64
                };
                sqlx::query("INSERT INTO metrics VALUES ('r1', 'h', $1, $2, $3, 0)")
                    .bind(v)
                    .bind(step)
                    .bind(step)
                    .execute(&mut conn)
                    .await
                    .expect("history");
            }
            for (key, value, nan) in [
                ("a", 0.1 + 0.2, 0),
                ("b", 4.425_160_402_714_337_5e284, 0),
                ("c", f64::NEG_INFINITY, 0),
                ("d", 0.0, 1),
            ] {
                sqlx::query("INSERT INTO latest_metrics VALUES ('r1', $1, $2, 5, 6, $3)")
                    .bind(key)
                    .bind(value)
                    .bind(nan)
                    .execute(&mut conn)
                    .await
                    .expect("metric");
            }
        }
        let store = Store::open(
            &format!("sqlite:///{}", path.display()),
            "mlflow-artifacts:",
        )
        .await
        .expect("upgrades");
        assert_eq!(
            store.schema_version().await.ok(),
            Some(MIGRATIONS.len() as i64)
        );
        let run = store.get_run("r1").await.expect("run");
        let values: Vec<(String, u64)> = run
            .data
            .metrics
            .iter()
            .map(|m| (m.key.clone(), m.value.to_bits()))
            .collect();
        assert_eq!(
            values[..3],
            [
                ("a".to_string(), (0.1f64 + 0.2).to_bits()),
                ("b".to_string(), 4.425_160_402_714_337_5e284f64.to_bits()),
                ("c".to_string(), f64::NEG_INFINITY.to_bits()),
            ]
        );
        assert!(run.data.metrics[3].value.is_nan());
        let sampled = store
            .get_metric_history_sampled(&["r1".to_string()], "h", None, None, 30)
            .await
            .expect("sampled from the backfilled summaries");
        assert!(
            sampled.len() <= 30 && sampled.len() >= 10,
            "{}",
            sampled.len()
        );
        assert!(sampled.iter().any(|m| m.step == 1234 && m.value == 99.0));
    }

    #[tokio::test]
    async fn opens_migrates_and_reopens() {
        let (store, dir) = sqlite_store().await;
        assert_eq!(
            store.schema_version().await.ok(),
            Some(MIGRATIONS.len() as i64)
        );
        store.close().await;
        let uri = format!("sqlite:///{}", dir.path().join("db.sqlite").display());
        let again = Store::open(&uri, "mlflow-artifacts:")
            .await
            .expect("reopens");
        let exp = again.get_experiment("0").await.expect("default experiment");
        assert_eq!(exp.name, "Default");
    }
}
