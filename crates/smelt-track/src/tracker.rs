//! `Tracker`: the blocking library API that Smelt's commands use to record what they do (the
//! data, the code, the parameters, the metrics and the model), in the project's local store or a
//! team's database, readable by `smelt runs`, `smelt server` and MLflow's clients.
//!
//! Artifacts of runs use `mlflow-artifacts:` URIs, as `smelt server` hands out: the tracker maps
//! them to its artifact destination (by default `smelt-runs/artifacts`), which is the server's
//! default destination too, so runs logged from the command line are downloadable through the
//! server and the other way round.
//!
//! With `SMELT_TRACKING_URI=http://host:port` the tracker logs to a tracking server instead
//! (`smelt server` or MLflow's, through [`crate::remote`]); the store-reading helpers
//! ([`Tracker::store`], [`Tracker::resolve_artifacts`]) then answer with an error naming the
//! server.
//!
//! ```no_run
//! # fn main() -> smelt_track::Result<()> {
//! use smelt_track::tracker::Tracker;
//!
//! let tracker = Tracker::open_project(".")?;
//! let run = tracker.start_run("housing", Some("ridge-0.5"))?;
//! run.log_params(&[("alpha", "0.5")])?;
//! run.log_metric("valid_rmse", 0.71, 0)?;
//! run.finish(true)?;
//! # Ok(())
//! # }
//! ```

use std::path::{Path, PathBuf};
use std::process::Command;

use bytes::Bytes;
use smelt_core::TrackingError;
use smelt_core::track::DatasetLog;

use crate::artifacts::{ArtifactPath, ArtifactStore};
use crate::entities::{DatasetInput, DatasetRecord, KeyValue, Metric, RunStatus};
use crate::error::{Result, TrackError};
use crate::remote::Remote;
use crate::store::{BatchLog, DATASET_CONTEXT_TAG, RunCreate, Store, now_ms};

/// Where a project's local tracking store lives, relative to the project directory.
pub const LOCAL_STORE_DIR: &str = "smelt-runs";

/// The scheme of artifact URIs the tracker and the server share.
pub const PROXY_SCHEME: &str = "mlflow-artifacts:";

/// Where a tracker records: an open tracking store plus the artifact destination behind
/// `mlflow-artifacts:` URIs, or a tracking server.
pub struct Tracker {
    rt: tokio::runtime::Runtime,
    sink: Sink,
}

enum Sink {
    Store {
        store: Store,
        artifacts: ArtifactStore,
    },
    Server(Remote),
}

impl std::fmt::Debug for Tracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Tracker");
        match &self.sink {
            Sink::Store { store, .. } => d.field("store", &store.backend()),
            Sink::Server(r) => d.field("server", &r.uri()),
        };
        d.finish_non_exhaustive()
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|source| TrackError::Io {
            path: "tokio runtime".into(),
            source,
        })
}

impl Tracker {
    /// The project's local store: `<dir>/smelt-runs/tracking.db` and `<dir>/smelt-runs/artifacts`,
    /// unless `SMELT_TRACKING_URI` (and `SMELT_ARTIFACTS_DESTINATION`) name others.
    pub fn open_project(dir: impl AsRef<Path>) -> Result<Self> {
        let base = dir.as_ref().join(LOCAL_STORE_DIR);
        let uri = std::env::var("SMELT_TRACKING_URI")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| format!("sqlite:///{}", base.join("tracking.db").display()));
        if uri.starts_with("http://") || uri.starts_with("https://") {
            return Self::open_server(&uri);
        }
        let artifacts = std::env::var("SMELT_ARTIFACTS_DESTINATION")
            .ok()
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| base.join("artifacts").display().to_string());
        Self::open(&uri, &artifacts)
    }

    /// A store URI (`sqlite:///…`, `postgresql://…`) and an artifact destination (a folder,
    /// `file://`, `s3://`).
    pub fn open(store_uri: &str, artifacts_destination: &str) -> Result<Self> {
        let rt = runtime()?;
        let store = rt.block_on(Store::open(store_uri, PROXY_SCHEME))?;
        let artifacts = ArtifactStore::open(artifacts_destination)?;
        Ok(Self {
            rt,
            sink: Sink::Store { store, artifacts },
        })
    }

    /// A tracking server (`http://host:port`, `https://…`): `smelt server` or MLflow's. Its
    /// credentials come from MLflow's variables (see [`crate::remote`]).
    pub fn open_server(uri: &str) -> Result<Self> {
        Ok(Self {
            rt: runtime()?,
            sink: Sink::Server(Remote::new(uri)?),
        })
    }

    /// The tracking server's URI when the tracker logs to one.
    pub fn server_uri(&self) -> Option<&str> {
        match &self.sink {
            Sink::Store { .. } => None,
            Sink::Server(r) => Some(r.uri()),
        }
    }

    /// The tracking server's client when the tracker logs to one.
    pub fn remote(&self) -> Option<&Remote> {
        match &self.sink {
            Sink::Store { .. } => None,
            Sink::Server(r) => Some(r),
        }
    }

    /// The store, for queries beyond logging; an error when the tracker logs to a server.
    pub fn store(&self) -> Result<&Store> {
        match &self.sink {
            Sink::Store { store, .. } => Ok(store),
            Sink::Server(r) => Err(server_not_store(r)),
        }
    }

    /// Runs a future of the store on the tracker's runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    /// The artifact store and base path behind a run's or model's artifact URI.
    pub fn resolve_artifacts(&self, uri: &str) -> Result<(ArtifactStore, ArtifactPath)> {
        match (uri.strip_prefix(PROXY_SCHEME), &self.sink) {
            (Some(rest), Sink::Store { artifacts, .. }) => Ok((
                artifacts.clone(),
                ArtifactPath::parse(rest.trim_start_matches('/'))?,
            )),
            (Some(_), Sink::Server(r)) => Err(server_not_store(r)),
            (None, _) => Ok((ArtifactStore::open(uri)?, ArtifactPath::root())),
        }
    }

    /// Starts a run in the named experiment (created if missing), tagged with the code version
    /// (git commit and dirty flag), the command line, the user and the environment.
    pub fn start_run(&self, experiment: &str, run_name: Option<&str>) -> Result<ActiveRun<'_>> {
        self.start_run_tagged(experiment, run_name, Vec::new())
    }

    fn start_run_tagged(
        &self,
        experiment: &str,
        run_name: Option<&str>,
        extra: Vec<KeyValue>,
    ) -> Result<ActiveRun<'_>> {
        let mut tags = context_tags();
        tags.extend(extra);
        let create = |experiment_id| RunCreate {
            experiment_id,
            run_name: run_name.unwrap_or_default().to_string(),
            user_id: std::env::var("USER").unwrap_or_default(),
            start_time: None,
            tags,
        };
        let info = match &self.sink {
            Sink::Store { store, .. } => self.rt.block_on(async {
                let exp_id = match store.get_experiment_by_name(experiment).await {
                    Ok(e) if e.lifecycle_stage == "active" => e.experiment_id,
                    Ok(e) => {
                        return Err(TrackError::InvalidState(format!(
                            "experiment '{experiment}' (id {}) is deleted; restore it or pick another name",
                            e.experiment_id
                        )));
                    }
                    Err(TrackError::NotFound(_)) => {
                        store.create_experiment(experiment, None, &[]).await?
                    }
                    Err(e) => return Err(e),
                };
                Ok(store.create_run(create(exp_id)).await?.info)
            })?,
            Sink::Server(r) => self.rt.block_on(async {
                let exp_id = r.experiment_id(experiment).await?;
                r.create_run(&create(exp_id)).await
            })?,
        };
        Ok(ActiveRun {
            tracker: self,
            run_id: info.run_id,
            experiment_id: info.experiment_id,
            artifact_uri: info.artifact_uri,
            run_name: info.run_name,
        })
    }
}

/// A run being recorded. Call [`ActiveRun::finish`] at the end; a run dropped without it stays
/// `RUNNING` (as a crashed process leaves it).
#[derive(Debug)]
pub struct ActiveRun<'t> {
    tracker: &'t Tracker,
    /// The run's id.
    pub run_id: String,
    /// Its experiment's id.
    pub experiment_id: String,
    /// Root of its artifacts.
    pub artifact_uri: String,
    /// Its display name.
    pub run_name: String,
}

impl ActiveRun<'_> {
    fn batch(&self, batch: BatchLog) -> Result<()> {
        let t = self.tracker;
        match &t.sink {
            Sink::Store { store, .. } => t.rt.block_on(store.log_batch(&self.run_id, batch)),
            Sink::Server(r) => t.rt.block_on(r.log_batch(&self.run_id, &batch)),
        }
    }

    /// Logs params (immutable once logged), 100 per request.
    pub fn log_params(&self, params: &[(&str, &str)]) -> Result<()> {
        for chunk in params.chunks(100) {
            let params = chunk.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
            self.batch(BatchLog {
                params,
                ..BatchLog::default()
            })?;
        }
        Ok(())
    }

    /// Logs one metric point at a step (an epoch, a fold, a trial).
    pub fn log_metric(&self, key: &str, value: f64, step: i64) -> Result<()> {
        self.log_metrics(&[(key, value)], step)
    }

    /// Logs several metrics at one step.
    pub fn log_metrics(&self, metrics: &[(&str, f64)], step: i64) -> Result<()> {
        let now = now_ms();
        for chunk in metrics.chunks(1000) {
            let metrics = chunk
                .iter()
                .map(|(k, v)| Metric {
                    key: (*k).to_string(),
                    value: *v,
                    timestamp: now,
                    step,
                    run_id: None,
                })
                .collect();
            self.batch(BatchLog {
                metrics,
                ..BatchLog::default()
            })?;
        }
        Ok(())
    }

    /// Sets tags (last write wins).
    pub fn set_tags(&self, tags: &[(&str, &str)]) -> Result<()> {
        for chunk in tags.chunks(100) {
            let tags = chunk.iter().map(|(k, v)| KeyValue::new(*k, *v)).collect();
            self.batch(BatchLog {
                tags,
                ..BatchLog::default()
            })?;
        }
        Ok(())
    }

    /// Records a dataset the run used: its name, Smelt fingerprint (the digest), where it came
    /// from, its schema (JSON), its row count, and what it was used for (`train`, `eval`, ...).
    pub fn log_dataset(
        &self,
        name: &str,
        fingerprint: &str,
        source: &Path,
        schema_json: &str,
        rows: u64,
        context: &str,
    ) -> Result<()> {
        let input = DatasetInput {
            tags: vec![KeyValue::new(DATASET_CONTEXT_TAG, context)],
            dataset: DatasetRecord {
                name: name.to_string(),
                digest: fingerprint.to_string(),
                source_type: "local".into(),
                source: serde_json::json!({ "uri": source.display().to_string() }).to_string(),
                schema: schema_json.to_string(),
                // The fingerprint again, whole: a server that limits digests (MLflow's: 36
                // characters) keeps a shortened one.
                profile: serde_json::json!({ "num_rows": rows, "smelt_fingerprint": fingerprint })
                    .to_string(),
            },
        };
        let t = self.tracker;
        match &t.sink {
            Sink::Store { store, .. } => {
                t.rt.block_on(store.log_inputs(&self.run_id, &[input], &[]))
            }
            Sink::Server(r) => t.rt.block_on(r.log_inputs(&self.run_id, &[input])),
        }
    }

    /// Copies a local file or folder into the run's artifacts under `artifact_path` (empty: the
    /// root). Each file is streamed and written atomically.
    pub fn log_artifacts(&self, local: &Path, artifact_path: &str) -> Result<u64> {
        let t = self.tracker;
        // Through a server's artifact proxy, or straight into the store behind the run's URI.
        enum Dest<'a> {
            Proxy(&'a Remote),
            Store(ArtifactStore),
        }
        let (dest_store, base) = match (&t.sink, self.artifact_uri.strip_prefix(PROXY_SCHEME)) {
            (Sink::Server(r), Some(rest)) => (
                Dest::Proxy(r),
                ArtifactPath::parse(rest.trim_start_matches('/'))?,
            ),
            _ => {
                let (store, base) = t.resolve_artifacts(&self.artifact_uri)?;
                (Dest::Store(store), base)
            }
        };
        let base = if artifact_path.is_empty() {
            base
        } else {
            base.join_path(&ArtifactPath::parse(artifact_path)?)?
        };
        let mut files = Vec::new();
        collect_files(local, PathBuf::new(), &mut files)?;
        let mut total = 0;
        for (abs, rel) in files {
            let rel = rel.to_string_lossy().replace('\\', "/");
            let dest = if rel.is_empty() {
                let name = local
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                base.join(&name)?
            } else {
                base.join_path(&ArtifactPath::parse(&rel)?)?
            };
            // Streamed in 1 MiB chunks: an artifact of any size costs one chunk of memory.
            total += std::fs::metadata(&abs)
                .map_err(|source| TrackError::Io {
                    path: abs.display().to_string(),
                    source,
                })?
                .len();
            match &dest_store {
                Dest::Proxy(r) => {
                    t.rt.block_on(r.put_artifact(dest.as_str(), file_chunks(abs)))?
                }
                Dest::Store(store) => {
                    t.rt.block_on(store.put_stream(&dest, file_chunks(abs)))?;
                }
            }
        }
        Ok(total)
    }

    /// Starts a child run in the same experiment (a cross-validation fold, a search trial),
    /// linked by MLflow's `mlflow.parentRunId` tag so MLflow's UI nests it.
    pub fn start_child(&self, run_name: Option<&str>) -> Result<ActiveRun<'_>> {
        let t = self.tracker;
        let name = match &t.sink {
            Sink::Store { store, .. } => {
                t.rt.block_on(store.get_experiment(&self.experiment_id))?
                    .name
            }
            Sink::Server(r) => t.rt.block_on(r.experiment_name(&self.experiment_id))?,
        };
        let parent = vec![KeyValue::new(
            crate::store::PARENT_RUN_TAG,
            self.run_id.clone(),
        )];
        t.start_run_tagged(&name, run_name, parent)
    }

    /// Ends the run: FINISHED, or FAILED when `ok` is false.
    pub fn finish(self, ok: bool) -> Result<()> {
        let status = if ok {
            RunStatus::Finished
        } else {
            RunStatus::Failed
        };
        let t = self.tracker;
        match &t.sink {
            Sink::Store { store, .. } => {
                t.rt.block_on(store.update_run(&self.run_id, Some(status), Some(now_ms()), None))?;
            }
            Sink::Server(r) => {
                t.rt.block_on(r.finish_run(&self.run_id, status, now_ms()))?
            }
        }
        Ok(())
    }
}

/// A file as a stream of chunks of at most 1 MiB.
fn file_chunks(path: PathBuf) -> impl futures::Stream<Item = Result<Bytes>> + Send + 'static {
    use tokio::io::AsyncReadExt as _;
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| TrackError::Io { path, source }
    };
    futures::stream::try_unfold(
        (None::<tokio::fs::File>, path),
        move |(file, path)| async move {
            let mut file = match file {
                Some(f) => f,
                None => tokio::fs::File::open(&path).await.map_err(io(&path))?,
            };
            let mut buf = vec![0u8; 1 << 20];
            let n = file.read(&mut buf).await.map_err(io(&path))?;
            if n == 0 {
                return Ok(None);
            }
            buf.truncate(n);
            Ok(Some((Bytes::from(buf), (Some(file), path))))
        },
    )
}

fn server_not_store(r: &Remote) -> TrackError {
    TrackError::BadUri {
        uri: r.uri().to_string(),
        reason: "this reads the tracking store directly, and the URI names a tracking server; \
                 point it at the server's database (sqlite:/// or postgresql://), or use the server's \
                 API or MLflow's client"
            .into(),
    }
}

fn collect_files(path: &Path, rel: PathBuf, out: &mut Vec<(PathBuf, PathBuf)>) -> Result<()> {
    let io = |source| TrackError::Io {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::symlink_metadata(path).map_err(io)?;
    if meta.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)
            .map_err(io)?
            .collect::<std::io::Result<_>>()
            .map_err(io)?;
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            collect_files(&e.path(), rel.join(e.file_name()), out)?;
        }
    } else if meta.is_file() {
        out.push((path.to_path_buf(), rel));
    }
    // Symbolic links are not followed: an artifact is what the folder holds.
    Ok(())
}

/// Tags every run gets: code version, command line, user, environment.
fn context_tags() -> Vec<KeyValue> {
    let mut tags = vec![
        KeyValue::new("mlflow.source.type", "LOCAL"),
        KeyValue::new(
            "mlflow.source.name",
            std::env::args().collect::<Vec<_>>().join(" "),
        ),
        KeyValue::new("smelt.version", env!("CARGO_PKG_VERSION")),
    ];
    if let Ok(user) = std::env::var("USER") {
        tags.push(KeyValue::new("mlflow.user", user));
    }
    if let Some((commit, dirty)) = git_version() {
        tags.push(KeyValue::new("mlflow.source.git.commit", commit));
        tags.push(KeyValue::new("smelt.git.dirty", dirty.to_string()));
    }
    let env = environment();
    let fingerprint = blake3::hash(
        env.iter()
            .map(|(k, v)| format!("{k}={v}\n"))
            .collect::<String>()
            .as_bytes(),
    );
    for (k, v) in env {
        tags.push(KeyValue::new(format!("smelt.env.{k}"), v));
    }
    tags.push(KeyValue::new(
        "smelt.env.fingerprint",
        format!("b3:{}", &fingerprint.to_hex()[..16]),
    ));
    tags
}

/// The git commit of the working directory and whether it has uncommitted changes.
fn git_version() -> Option<(String, bool)> {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let status = Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()?;
    Some((commit, !status.stdout.is_empty()))
}

/// What the environment fingerprint covers: Smelt's version, OS, CPU architecture and model,
/// core count.
fn environment() -> Vec<(&'static str, String)> {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    vec![
        ("smelt_version", env!("CARGO_PKG_VERSION").to_string()),
        ("os", std::env::consts::OS.to_string()),
        ("arch", std::env::consts::ARCH.to_string()),
        ("cpu", cpu),
        (
            "cores",
            std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .to_string(),
        ),
    ]
}

/// The library-facing face of a tracker: workflows (`smelt train`, evaluation, the ladder)
/// log through `&dyn smelt_core::Tracker`, without depending on this crate.
impl smelt_core::Tracker for Tracker {
    fn start_run(
        &self,
        experiment: &str,
        run_name: Option<&str>,
    ) -> std::result::Result<Box<dyn smelt_core::Run + '_>, TrackingError> {
        Ok(Box::new(
            Tracker::start_run(self, experiment, run_name).map_err(TrackingError::new)?,
        ))
    }

    fn server_uri(&self) -> Option<&str> {
        Tracker::server_uri(self)
    }
}

impl smelt_core::Run for ActiveRun<'_> {
    fn id(&self) -> &str {
        &self.run_id
    }

    fn log_params(&self, params: &[(&str, &str)]) -> std::result::Result<(), TrackingError> {
        ActiveRun::log_params(self, params).map_err(TrackingError::new)
    }

    fn log_metrics(
        &self,
        metrics: &[(&str, f64)],
        step: i64,
    ) -> std::result::Result<(), TrackingError> {
        ActiveRun::log_metrics(self, metrics, step).map_err(TrackingError::new)
    }

    fn set_tags(&self, tags: &[(&str, &str)]) -> std::result::Result<(), TrackingError> {
        ActiveRun::set_tags(self, tags).map_err(TrackingError::new)
    }

    fn log_dataset(&self, d: &DatasetLog<'_>) -> std::result::Result<(), TrackingError> {
        ActiveRun::log_dataset(
            self,
            d.name,
            d.fingerprint,
            d.source,
            d.schema_json,
            d.rows,
            d.context,
        )
        .map_err(TrackingError::new)
    }

    fn log_artifacts(
        &self,
        local: &Path,
        artifact_path: &str,
    ) -> std::result::Result<u64, TrackingError> {
        ActiveRun::log_artifacts(self, local, artifact_path).map_err(TrackingError::new)
    }

    fn start_child(
        &self,
        run_name: Option<&str>,
    ) -> std::result::Result<Box<dyn smelt_core::Run + '_>, TrackingError> {
        Ok(Box::new(
            ActiveRun::start_child(self, run_name).map_err(TrackingError::new)?,
        ))
    }

    fn finish(self: Box<Self>, ok: bool) -> std::result::Result<(), TrackingError> {
        ActiveRun::finish(*self, ok).map_err(TrackingError::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracks_a_run_end_to_end() {
        let dir = tempfile::tempdir().expect("temp dir");
        let t = Tracker::open(
            &format!("sqlite:///{}", dir.path().join("db.sqlite").display()),
            &dir.path().join("art").display().to_string(),
        )
        .expect("opens");
        let run = t.start_run("exp", Some("r1")).expect("starts");
        run.log_params(&[("alpha", "0.5"), ("model", "ridge")])
            .expect("params");
        for epoch in 0..3 {
            run.log_metric("loss", 1.0 / f64::from(epoch + 1), i64::from(epoch))
                .expect("metric");
        }
        run.log_dataset(
            "housing",
            "b3:abcd",
            Path::new("data/housing.csv"),
            "{}",
            20640,
            "train",
        )
        .expect("dataset");
        let model = dir.path().join("model");
        std::fs::create_dir_all(model.join("sub")).expect("mkdir");
        std::fs::write(model.join("model.json"), b"{}").expect("write");
        std::fs::write(model.join("sub/w.bin"), [1u8, 2, 3]).expect("write");
        assert_eq!(run.log_artifacts(&model, "model").expect("artifacts"), 5);
        let id = run.run_id.clone();
        let uri = run.artifact_uri.clone();
        assert!(uri.starts_with("mlflow-artifacts:/1/"), "{uri}");
        run.finish(true).expect("finishes");

        let got = t
            .block_on(t.store().expect("store").get_run(&id))
            .expect("reads back");
        assert_eq!(got.info.status, RunStatus::Finished);
        assert_eq!(got.info.run_name, "r1");
        assert_eq!(got.data.metrics[0].step, 2);
        assert!(
            got.data
                .tags
                .iter()
                .any(|t| t.key == "smelt.env.fingerprint")
        );
        assert_eq!(got.inputs.dataset_inputs[0].dataset.digest, "b3:abcd");
        let (store, base) = t.resolve_artifacts(&uri).expect("resolves");
        let bytes = t
            .block_on(
                store.get_bytes(
                    &base
                        .join("model")
                        .and_then(|p| p.join("sub"))
                        .and_then(|p| p.join("w.bin"))
                        .expect("path"),
                ),
            )
            .expect("reads");
        assert_eq!(&bytes[..], &[1, 2, 3]);
        let parent = t.start_run("exp", Some("cv")).expect("parent");
        let fold = parent.start_child(Some("fold-0")).expect("child");
        fold.log_metric("auc", 0.9, 0).expect("fold metric");
        let child = t
            .block_on(t.store().expect("store").get_run(&fold.run_id))
            .expect("child run");
        assert!(
            child
                .data
                .tags
                .iter()
                .any(|t| t.key == "mlflow.parentRunId" && t.value == parent.run_id)
        );
        assert_eq!(child.info.experiment_id, parent.experiment_id);
        // The same experiment is reused, not created twice.
        let again = t.start_run("exp", None).expect("second run");
        assert_eq!(again.experiment_id, "1");
        assert!(!again.run_name.is_empty(), "a generated name");
    }
}
