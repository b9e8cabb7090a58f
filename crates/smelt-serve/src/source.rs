//! Where a served model comes from, and loading it.
//!
//! * a model directory written by `smelt train` / `smelt import` / the library;
//! * an XGBoost JSON model (`.json`) or a LightGBM text model (`.txt`), through Smelt's tree engine;
//! * the registry: `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `models:/NAME` (its latest
//!   version), and a run's files: `runs:/RUN_ID/PATH` — from the project's tracking store
//!   (`./smelt-runs`, or `SMELT_TRACKING_URI` / `SMELT_ARTIFACTS_DESTINATION`).
//!
//! Model files are data (JSON + safetensors); nothing in them is executed.

use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use smelt_core::Predictor;
use smelt_track::tracker::Tracker;
use smelt_track::{ArtifactPath, ArtifactStore};

use crate::error::{Result, ServeError};

/// Where registry and run sources are looked up, and where their files are copied to.
#[derive(Clone, Debug, Default)]
pub struct Lookup {
    /// The tracking store or server (`sqlite:///…`, `postgresql://…`, `http://…`); default: the
    /// project's (`SMELT_TRACKING_URI`, else `./smelt-runs`).
    pub tracking_uri: Option<String>,
    /// Where a local store's proxied artifacts live (with a store URI; default as for the project).
    pub artifacts_destination: Option<String>,
    /// The folder registry and run models are copied into.
    pub cache: PathBuf,
}

impl Lookup {
    /// The project's tracking store (`SMELT_TRACKING_URI`, else `./smelt-runs`) and a cache in
    /// the system's temporary folder, as `smelt serve` uses without a config file: what a
    /// command that loads one model (`smelt monitor --model models:/…`) needs.
    pub fn project() -> Lookup {
        Lookup {
            tracking_uri: None,
            artifacts_destination: None,
            cache: std::env::temp_dir().join("smelt-serve-cache"),
        }
    }
}

/// A model source as written on the command line or in the config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A Smelt model directory.
    Dir(PathBuf),
    /// An XGBoost JSON model file.
    Xgboost(PathBuf),
    /// A LightGBM text model file.
    Lightgbm(PathBuf),
    /// An ONNX model file (scored by `smelt-onnx`: tract, or its interpreter for ONNX-ML graphs).
    Onnx(PathBuf),
    /// A registered model's version.
    Registry {
        /// Registered model name.
        name: String,
        /// Which version.
        pick: Pick,
    },
    /// A path under a run's artifacts.
    Run {
        /// Run id.
        run_id: String,
        /// Path under the run's artifacts (`model` by default).
        path: String,
    },
}

/// A version of a registered model.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pick {
    /// `models:/name/3`.
    Version(String),
    /// `models:/name@champion`.
    Alias(String),
    /// `models:/name`: the newest version.
    Latest,
}

impl Source {
    /// Parses a source: a `models:/` or `runs:/` URI, or a path.
    pub fn parse(text: &str) -> Result<Source> {
        let bad = |why: &str| ServeError::Source {
            source_text: text.to_string(),
            message: why.to_string(),
        };
        if let Some(rest) = text.strip_prefix("models:/") {
            let rest = rest.trim_matches('/');
            if let Some((name, alias)) = rest.split_once('@') {
                if name.is_empty() || alias.is_empty() {
                    return Err(bad("expected models:/NAME@ALIAS"));
                }
                return Ok(Source::Registry {
                    name: name.into(),
                    pick: Pick::Alias(alias.into()),
                });
            }
            return match rest.split_once('/') {
                Some((name, v)) if !name.is_empty() && v.parse::<u64>().is_ok() => {
                    Ok(Source::Registry {
                        name: name.into(),
                        pick: Pick::Version(v.into()),
                    })
                }
                Some((name, "latest")) if !name.is_empty() => Ok(Source::Registry {
                    name: name.into(),
                    pick: Pick::Latest,
                }),
                None if !rest.is_empty() => Ok(Source::Registry {
                    name: rest.into(),
                    pick: Pick::Latest,
                }),
                _ => Err(bad(
                    "expected models:/NAME@ALIAS, models:/NAME/VERSION or models:/NAME",
                )),
            };
        }
        if let Some(rest) = text.strip_prefix("runs:/") {
            let rest = rest.trim_matches('/');
            let (run_id, path) = rest.split_once('/').unwrap_or((rest, "model"));
            if run_id.is_empty() {
                return Err(bad("expected runs:/RUN_ID/PATH"));
            }
            return Ok(Source::Run {
                run_id: run_id.into(),
                path: path.into(),
            });
        }
        let path = PathBuf::from(text);
        if path.is_dir() {
            return Ok(Source::Dir(path));
        }
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") if path.is_file() => Ok(Source::Xgboost(path)),
            Some("txt") if path.is_file() => Ok(Source::Lightgbm(path)),
            Some("onnx") if path.is_file() => Ok(Source::Onnx(path)),
            _ if !path.exists() => Err(bad(
                "no such file or directory; give a model directory (smelt train --out), an XGBoost \
                 .json, LightGBM .txt or .onnx file, models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH",
            )),
            _ => Err(bad(
                "not a model directory, an XGBoost .json, a LightGBM .txt or an .onnx model file",
            )),
        }
    }

    /// A default name to serve it under: the registered name, or the file or folder name.
    pub fn default_name(&self) -> String {
        match self {
            Source::Dir(p) | Source::Xgboost(p) | Source::Lightgbm(p) | Source::Onnx(p) => p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "model".into()),
            Source::Registry { name, .. } => name.clone(),
            Source::Run { run_id, .. } => format!("run-{}", &run_id[..run_id.len().min(8)]),
        }
    }
}

/// A loaded model.
#[derive(Debug)]
pub struct Loaded {
    /// The predictor (a whole pipeline for trained models).
    pub predictor: Arc<dyn Predictor>,
    /// Metadata saved beside it (what it was trained on, its metrics).
    pub metadata: Value,
    /// Its version: the registry's version number, else `1`.
    pub version: String,
    /// What was loaded, for logs and `/v2/models/{name}` (a path or `models:/name/3`).
    pub resolved: String,
    /// Seconds spent loading.
    pub load_seconds: f64,
}

/// Loads a model; registry sources are fetched into `cache` first.
pub fn load(source: &Source, lookup: &Lookup) -> Result<Loaded> {
    let start = Instant::now();
    let (model, version, resolved) = open_as(source, lookup, true)?;
    let metadata = model.metadata().clone();
    Ok(Loaded {
        predictor: Arc::from(model.into_predictor()),
        metadata,
        version,
        resolved,
        load_seconds: start.elapsed().as_secs_f64(),
    })
}

/// Opens a model as a [`smelt_workflow::Model`] (predictor and metadata), with its version
/// (the registry's, else `1`) and what was opened (a path or `models:/name/3`): what a command
/// that scores, evaluates or exports one model needs.
pub fn open(source: &Source, lookup: &Lookup) -> Result<(smelt_workflow::Model, String, String)> {
    open_as(source, lookup, false)
}

/// [`open`] for a command that only predicts (`smelt predict`, `smelt eval`): the model keeps
/// just what prediction reads ([`smelt_workflow::Model::load_for_inference`]), so it cannot be
/// saved or exported again.
pub fn open_for_inference(
    source: &Source,
    lookup: &Lookup,
) -> Result<(smelt_workflow::Model, String, String)> {
    open_as(source, lookup, true)
}

fn open_as(
    source: &Source,
    lookup: &Lookup,
    inference: bool,
) -> Result<(smelt_workflow::Model, String, String)> {
    let read = |dir: &Path| {
        if inference {
            smelt_workflow::Model::load_for_inference(dir)
        } else {
            smelt_workflow::Model::load(dir)
        }
    };
    let failed = |what: &str, e: &dyn std::fmt::Display| ServeError::Load {
        what: what.to_string(),
        message: e.to_string(),
    };
    let one = |m: smelt_workflow::Model, p: &Path| (m, "1".to_string(), p.display().to_string());
    Ok(match source {
        Source::Dir(dir) => one(
            read(dir).map_err(|e| failed(&dir.display().to_string(), &e))?,
            dir,
        ),
        Source::Xgboost(p) => one(
            smelt_workflow::Model::new(
                Box::new(
                    smelt_trees::import::xgboost::from_json_file(p)
                        .map_err(|e| failed(&p.display().to_string(), &e))?,
                ),
                json!({"imported_from": "xgboost", "source": p.display().to_string()}),
            ),
            p,
        ),
        Source::Lightgbm(p) => one(
            smelt_workflow::Model::new(
                Box::new(
                    smelt_trees::import::lightgbm::from_text_file(p)
                        .map_err(|e| failed(&p.display().to_string(), &e))?,
                ),
                json!({"imported_from": "lightgbm", "source": p.display().to_string()}),
            ),
            p,
        ),
        Source::Onnx(p) => {
            let m =
                smelt_onnx::OnnxModel::load(p).map_err(|e| failed(&p.display().to_string(), &e))?;
            let meta = json!({
                "imported_from": "onnx",
                "source": p.display().to_string(),
                "producer": m.producer(),
                "engine": m.engine().name(),
                "ops": m.ops(),
            });
            one(smelt_workflow::Model::new(Box::new(m), meta), p)
        }
        Source::Registry { .. } | Source::Run { .. } => {
            let (dir, version, resolved) = fetch(source, lookup)?;
            let m = read(&dir).map_err(|e| failed(&resolved, &e))?;
            (m, version, resolved)
        }
    })
}

/// The registry version a source names now (for hot reload: a moved alias gives another).
pub fn registry_version(source: &Source, lookup: &Lookup) -> Result<Option<String>> {
    let Source::Registry { name, pick } = source else {
        return Ok(None);
    };
    let tracker = open_tracker(lookup)?;
    if let Some(remote) = tracker.remote() {
        let v = tracker
            .block_on(remote_version(remote, name, pick))
            .map_err(track_err(&format!("models:/{name}")))?;
        return Ok(Some(v));
    }
    let store = tracker.store().map_err(track_err("the tracking store"))?;
    let v = tracker
        .block_on(pick_version(store, name, pick))
        .map_err(track_err(&format!("models:/{name}")))?;
    Ok(Some(v.version))
}

/// The version a registry source names, asked of a tracking server (`smelt server` or MLflow's).
async fn remote_version(
    remote: &smelt_track::remote::Remote,
    name: &str,
    pick: &Pick,
) -> smelt_track::Result<String> {
    let version = |v: &Value| v["model_version"]["version"].as_str().map(str::to_string);
    let found = match pick {
        Pick::Version(v) => version(
            &remote
                .get_json("model-versions/get", &[("name", name), ("version", v)])
                .await?,
        ),
        Pick::Alias(a) => version(
            &remote
                .get_json("registered-models/alias", &[("name", name), ("alias", a)])
                .await?,
        ),
        Pick::Latest => remote
            .get_json("registered-models/get-latest-versions", &[("name", name)])
            .await?["model_versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["version"].as_str())
            .max_by_key(|v| v.parse::<u64>().unwrap_or(0))
            .map(str::to_string),
    };
    found.ok_or_else(|| {
        smelt_track::TrackError::NotFound(format!("Registered model {name} has no such version."))
    })
}

/// Downloads a proxied artifact folder (`mlflow-artifacts:/…`) from a tracking server.
fn download_remote<'a>(
    remote: &'a smelt_track::remote::Remote,
    path: String,
    to: PathBuf,
) -> std::pin::Pin<Box<dyn Future<Output = std::result::Result<(), String>> + 'a>> {
    Box::pin(async move {
        std::fs::create_dir_all(&to).map_err(|e| format!("{}: {e}", to.display()))?;
        for (name, is_dir) in remote
            .list_artifacts(&path)
            .await
            .map_err(|e| e.to_string())?
        {
            // Names come from the server: one path component, nothing that climbs out.
            if name.is_empty() || name == "." || name == ".." || name.contains(['/', '\\']) {
                return Err(format!("the server listed a bad file name {name:?}"));
            }
            let child = format!("{}/{name}", path.trim_end_matches('/'));
            if is_dir {
                download_remote(remote, child, to.join(&name)).await?;
            } else {
                let bytes = remote
                    .download_artifact(&child)
                    .await
                    .map_err(|e| e.to_string())?;
                std::fs::write(to.join(&name), &bytes)
                    .map_err(|e| format!("{}: {e}", to.join(&name).display()))?;
            }
        }
        Ok(())
    })
}

fn open_tracker(lookup: &Lookup) -> Result<Tracker> {
    let opened = match &lookup.tracking_uri {
        Some(uri) if uri.starts_with("http://") || uri.starts_with("https://") => {
            Tracker::open_server(uri)
        }
        Some(uri) => {
            let artifacts = lookup.artifacts_destination.clone().unwrap_or_else(|| {
                Path::new(smelt_track::tracker::LOCAL_STORE_DIR)
                    .join("artifacts")
                    .display()
                    .to_string()
            });
            Tracker::open(uri, &artifacts)
        }
        None => Tracker::open_project("."),
    };
    opened.map_err(track_err("the tracking store"))
}

fn track_err(what: &str) -> impl Fn(smelt_track::TrackError) -> ServeError + '_ {
    move |e| ServeError::Load {
        what: what.to_string(),
        message: e.to_string(),
    }
}

async fn pick_version(
    store: &smelt_track::Store,
    name: &str,
    pick: &Pick,
) -> smelt_track::Result<smelt_track::entities::ModelVersion> {
    match pick {
        Pick::Version(v) => store.get_model_version(name, v).await,
        Pick::Alias(a) => store.get_model_version_by_alias(name, a).await,
        Pick::Latest => {
            let all = store.latest_versions(name, &[]).await?;
            all.into_iter()
                .max_by_key(|v| v.version.parse::<u64>().unwrap_or(0))
                .ok_or_else(|| {
                    smelt_track::TrackError::NotFound(format!(
                        "Registered model {name} has no versions."
                    ))
                })
        }
    }
}

/// Copies a registry or run model into `cache/<key>` (kept when already there: versions and
/// run files do not change) and returns the folder, the version and a description.
/// A short, stable hash (FNV-1a, 64 bits, hex) naming a cache entry.
fn short_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

fn fetch(source: &Source, lookup: &Lookup) -> Result<(PathBuf, String, String)> {
    let cache = lookup.cache.as_path();
    let tracker = open_tracker(lookup)?;
    if let Some(remote) = tracker.remote() {
        return fetch_remote(&tracker, remote, source, cache);
    }
    let store = tracker.store().map_err(track_err("the tracking store"))?;
    let (uri, version, resolved, key) = match source {
        Source::Registry { name, pick } => {
            let v = tracker
                .block_on(pick_version(store, name, pick))
                .map_err(track_err(&format!("models:/{name}")))?;
            let uri = tracker
                .block_on(store.get_model_version_download_uri(name, &v.version))
                .map_err(track_err(&format!("models:/{name}/{}", v.version)))?;
            // Where the files are names the store too: two projects' `adult` v1 differ.
            let key = format!("{}-v{}-{}", sanitize(name), v.version, short_hash(&uri));
            (
                uri,
                v.version.clone(),
                format!("models:/{name}/{}", v.version),
                key,
            )
        }
        Source::Run { run_id, path } => {
            let run = tracker
                .block_on(store.get_run(run_id))
                .map_err(track_err(&format!("runs:/{run_id}")))?;
            let uri = format!(
                "{}/{}",
                run.info.artifact_uri.trim_end_matches('/'),
                path.trim_matches('/')
            );
            let key = format!("run-{}-{}", sanitize(run_id), sanitize(path));
            (uri, "1".into(), format!("runs:/{run_id}/{path}"), key)
        }
        Source::Dir(p) | Source::Xgboost(p) | Source::Lightgbm(p) | Source::Onnx(p) => {
            return Ok((p.clone(), "1".into(), p.display().to_string()));
        }
    };
    let dir = cache.join(&key);
    if dir.join("model.json").is_file() {
        return Ok((dir, version, resolved));
    }
    let (artifacts, base) = tracker
        .resolve_artifacts(&uri)
        .map_err(track_err(&resolved))?;
    let staging = staging_dir(cache);
    let _ = std::fs::remove_dir_all(&staging);
    tracker
        .block_on(download(&artifacts, &base, &staging))
        .map_err(|e| ServeError::Load {
            what: format!("{resolved} ({uri})"),
            message: e,
        })?;
    finish_fetch(staging, dir, version, resolved, &uri)
}

/// [`fetch`] from a tracking server: the version and its download URI over MLflow's REST API,
/// the files through the server's artifact proxy.
fn fetch_remote(
    tracker: &Tracker,
    remote: &smelt_track::remote::Remote,
    source: &Source,
    cache: &Path,
) -> Result<(PathBuf, String, String)> {
    let server = remote.uri().to_string();
    let (uri, version, resolved) = match source {
        Source::Registry { name, pick } => {
            let v = tracker
                .block_on(remote_version(remote, name, pick))
                .map_err(track_err(&format!("models:/{name} on {server}")))?;
            let uri = tracker
                .block_on(remote.get_json(
                    "model-versions/get-download-uri",
                    &[("name", name), ("version", &v)],
                ))
                .map_err(track_err(&format!("models:/{name}/{v} on {server}")))?["artifact_uri"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            (uri, v.clone(), format!("models:/{name}/{v}"))
        }
        Source::Run { run_id, path } => {
            let run = tracker
                .block_on(remote.get_json("runs/get", &[("run_id", run_id)]))
                .map_err(track_err(&format!("runs:/{run_id} on {server}")))?;
            let root = run["run"]["info"]["artifact_uri"]
                .as_str()
                .unwrap_or_default();
            (
                format!("{}/{}", root.trim_end_matches('/'), path.trim_matches('/')),
                "1".into(),
                format!("runs:/{run_id}/{path}"),
            )
        }
        Source::Dir(p) | Source::Xgboost(p) | Source::Lightgbm(p) | Source::Onnx(p) => {
            return Ok((p.clone(), "1".into(), p.display().to_string()));
        }
    };
    let Some(path) = uri.strip_prefix("mlflow-artifacts:") else {
        return Err(ServeError::Load {
            what: resolved,
            message: format!(
                "its files are at {uri:?}, which this server cannot fetch through {server}'s \
                 artifact proxy (expected an mlflow-artifacts:/ URI; start the tracking server \
                 with proxied artifacts)"
            ),
        });
    };
    let path = path.trim_start_matches('/').to_string();
    let key = format!("remote-{}", sanitize(&format!("{server}-{path}")));
    let dir = cache.join(&key);
    if dir.join("model.json").is_file() {
        return Ok((dir, version, resolved));
    }
    let staging = staging_dir(cache);
    let _ = std::fs::remove_dir_all(&staging);
    tracker
        .block_on(download_remote(remote, path, staging.clone()))
        .map_err(|e| ServeError::Load {
            what: format!("{resolved} ({uri})"),
            message: e,
        })?;
    finish_fetch(staging, dir, version, resolved, &uri)
}

/// A fresh folder name for one download (several models may be fetched at once, even the same one).
fn staging_dir(cache: &Path) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    cache.join(format!(".staging-{}-{n}", std::process::id()))
}

/// Moves a downloaded model into place once it is complete.
fn finish_fetch(
    staging: PathBuf,
    dir: PathBuf,
    version: String,
    resolved: String,
    uri: &str,
) -> Result<(PathBuf, String, String)> {
    if !staging.join("model.json").is_file() {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(ServeError::Load {
            what: resolved,
            message: format!("no Smelt model at {uri} (no model.json)"),
        });
    }
    match std::fs::rename(&staging, &dir) {
        Ok(()) => {}
        // Another server fetched it meanwhile: use theirs.
        Err(_) if dir.join("model.json").is_file() => {
            let _ = std::fs::remove_dir_all(&staging);
        }
        Err(e) => {
            return Err(ServeError::Io {
                path: dir.clone(),
                source: e,
            });
        }
    }
    Ok((dir, version, resolved))
}

fn download<'a>(
    store: &'a ArtifactStore,
    dir: &'a ArtifactPath,
    to: &'a Path,
) -> std::pin::Pin<Box<dyn Future<Output = std::result::Result<(), String>> + 'a>> {
    Box::pin(async move {
        std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
        for f in store.list(dir).await.map_err(|e| e.to_string())? {
            // Paths come back relative to the store's root, checked (no `..`, no absolute parts).
            let name = f
                .path
                .file_name()
                .ok_or_else(|| format!("bad artifact path {}", f.path.as_str()))?
                .to_string();
            let target = to.join(&name);
            if f.is_dir {
                download(store, &f.path, &target).await?;
            } else {
                let bytes = store.get_bytes(&f.path).await.map_err(|e| e.to_string())?;
                std::fs::write(&target, &bytes)
                    .map_err(|e| format!("{}: {e}", target.display()))?;
            }
        }
        Ok(())
    })
}

/// A name safe as one path component.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect::<String>()
        .trim_start_matches('.')
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_registry_and_run_uris() {
        assert_eq!(
            Source::parse("models:/churn@champion").unwrap(),
            Source::Registry {
                name: "churn".into(),
                pick: Pick::Alias("champion".into())
            }
        );
        assert_eq!(
            Source::parse("models:/churn/3").unwrap(),
            Source::Registry {
                name: "churn".into(),
                pick: Pick::Version("3".into())
            }
        );
        assert_eq!(
            Source::parse("models:/churn").unwrap(),
            Source::Registry {
                name: "churn".into(),
                pick: Pick::Latest
            }
        );
        assert_eq!(
            Source::parse("runs:/abc123/model").unwrap(),
            Source::Run {
                run_id: "abc123".into(),
                path: "model".into()
            }
        );
        assert!(Source::parse("models:/").is_err());
        let e = Source::parse("/no/such/model").unwrap_err().to_string();
        assert!(e.contains("no such file or directory"), "{e}");
        assert_eq!(sanitize("../a/b"), "_a_b");
    }
}
