//! The artifact store: run and model files on a local folder or S3-compatible storage, over
//! `object_store`, with every path checked by [`ArtifactPath`].
//!
//! - **Writes are atomic.** A local upload goes to a staging file beside the target
//!   (`name#1`) and is renamed into place when complete; an S3 upload is one `PUT` or a
//!   multipart upload that the server publishes only on completion. A stream that fails midway
//!   leaves nothing at the path (the staging file is removed, the multipart upload aborted).
//! - **Memory is bounded.** [`ArtifactStore::put_stream`] holds at most one part being filled
//!   plus [`MAX_PARTS_IN_FLIGHT`] parts being written, each [`PART_SIZE`] bytes: about 24 MiB
//!   whatever the artifact's size. Streams shorter than one part are written with a single put.
//! - **Listings follow MLflow.** [`ArtifactStore::list`] returns one level, with paths relative
//!   to the store's root (as `LocalArtifactRepository.list_artifacts` and the tracking server's
//!   `/mlflow/artifacts/list` do), folders with no size, sorted by path. The artifact proxy
//!   (`GET /mlflow-artifacts/artifacts?path=`) sends only the last component
//!   ([`FileInfo::name`]) and its client joins it back onto the listed path
//!   (`mlflow/server/handlers.py` `_list_artifacts_mlflow_artifacts`,
//!   `mlflow/store/artifact/http_artifact_repo.py` `list_artifacts`). Listing a missing folder or
//!   a file gives an empty list.
//! - **Local links stay inside.** Symbolic links that resolve outside the root are refused on
//!   read and write and left out of listings, sizes and deletes (see `local.rs`).
//!
//! ```no_run
//! # async fn demo() -> smelt_track::Result<()> {
//! use bytes::Bytes;
//! use smelt_track::artifacts::{ArtifactPath, ArtifactStore};
//!
//! let store = ArtifactStore::open("file:///var/lib/smelt/artifacts")?;
//! let path = ArtifactPath::parse("0/abc123/artifacts/model/MLmodel")?;
//! store.put_bytes(&path, Bytes::from_static(b"flavors: {}\n")).await?;
//! let listing = store.list(&path.parent().unwrap_or_default()).await?;
//! assert_eq!(listing[0].path, path);
//! # Ok(())
//! # }
//! ```

mod local;
mod path;

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};

pub use path::{ArtifactPath, MAX_COMPONENT_BYTES, MAX_PATH_BYTES};

use crate::error::{Result, TrackError};

/// Bytes per part of a streamed upload (S3 needs at least 5 MiB for all parts but the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Parts of one streamed upload being written at once.
pub const MAX_PARTS_IN_FLIGHT: usize = 2;

/// One entry of a listing, as MLflow's `FileInfo`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileInfo {
    /// The path, relative to the store's root.
    pub path: ArtifactPath,
    /// Whether it is a folder (a common prefix on S3).
    pub is_dir: bool,
    /// Size in bytes; `None` for folders.
    pub file_size: Option<u64>,
}

impl FileInfo {
    /// The last component of the path: what the artifact proxy's list answers with.
    pub fn name(&self) -> &str {
        self.path.file_name().unwrap_or_default()
    }
}

/// Connection settings for `s3://` stores. `None` leaves a setting to `object_store`'s defaults.
#[derive(Clone, Default)]
pub struct S3Settings {
    /// Endpoint URL of an S3-compatible server (`http://127.0.0.1:9000`); `None` for AWS.
    /// An `http://` endpoint allows plain HTTP.
    pub endpoint: Option<String>,
    /// Region; `us-east-1` when unset.
    pub region: Option<String>,
    /// Access key id.
    pub access_key_id: Option<String>,
    /// Secret access key.
    pub secret_access_key: Option<String>,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl S3Settings {
    /// Reads `AWS_ENDPOINT_URL` (else `MLFLOW_S3_ENDPOINT_URL`), `AWS_REGION` (else
    /// `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN`.
    pub fn from_env() -> Self {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            endpoint: var("AWS_ENDPOINT_URL").or_else(|| var("MLFLOW_S3_ENDPOINT_URL")),
            region: var("AWS_REGION").or_else(|| var("AWS_DEFAULT_REGION")),
            access_key_id: var("AWS_ACCESS_KEY_ID"),
            secret_access_key: var("AWS_SECRET_ACCESS_KEY"),
            session_token: var("AWS_SESSION_TOKEN"),
        }
    }

    fn apply(&self, mut builder: AmazonS3Builder) -> AmazonS3Builder {
        if let Some(endpoint) = &self.endpoint {
            builder = builder
                .with_endpoint(endpoint)
                .with_allow_http(endpoint.starts_with("http://"));
        }
        builder = builder.with_region(self.region.as_deref().unwrap_or("us-east-1"));
        if let Some(v) = &self.access_key_id {
            builder = builder.with_access_key_id(v);
        }
        if let Some(v) = &self.secret_access_key {
            builder = builder.with_secret_access_key(v);
        }
        if let Some(v) = &self.session_token {
            builder = builder.with_token(v);
        }
        builder
    }
}

impl fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let redacted = |v: &Option<String>| v.as_ref().map(|_| "<redacted>");
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &redacted(&self.secret_access_key))
            .field("session_token", &redacted(&self.session_token))
            .finish()
    }
}

#[derive(Clone, Debug)]
enum Backend {
    /// A folder; `root` is canonical.
    Local { root: PathBuf },
    /// A bucket, through a `PrefixStore` when the URI has a prefix.
    S3,
}

/// Files under one root: a local folder or an S3 bucket and prefix. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ArtifactStore {
    store: Arc<dyn ObjectStore>,
    backend: Backend,
    uri: String,
    /// The part of the root below what `store` sees (see [`ArtifactStore::scoped`]).
    base: ArtifactPath,
}

impl ArtifactStore {
    /// Opens the store at `uri`: `file:///abs/path`, a plain path (made absolute, created if
    /// missing) or `s3://bucket/prefix` (settings from the environment:
    /// `AmazonS3Builder::from_env()` for every `AWS_*` option, then [`S3Settings::from_env`]).
    pub fn open(uri: &str) -> Result<Self> {
        Self::open_inner(uri, AmazonS3Builder::from_env(), &S3Settings::from_env())
    }

    /// [`ArtifactStore::open`] with S3 settings given, ignoring the environment.
    pub fn open_with(uri: &str, s3: &S3Settings) -> Result<Self> {
        Self::open_inner(uri, AmazonS3Builder::new(), s3)
    }

    fn open_inner(uri: &str, builder: AmazonS3Builder, s3: &S3Settings) -> Result<Self> {
        let bad = |reason: &str| TrackError::BadUri {
            uri: uri.to_string(),
            reason: reason.to_string(),
        };
        match split_scheme(uri) {
            Some(("file", rest)) => {
                let path = rest
                    .strip_prefix("//localhost/")
                    .map(|p| format!("/{p}"))
                    .or_else(|| rest.strip_prefix("//").map(str::to_string))
                    .ok_or_else(|| bad("a file URI needs an absolute path: file:///path"))?;
                if !path.starts_with('/') {
                    return Err(bad("a file URI names no host but localhost"));
                }
                let path = percent_decode(&path).ok_or_else(|| bad("bad percent-encoding"))?;
                Self::open_local(uri, PathBuf::from(path))
            }
            Some(("s3" | "s3a", rest)) => {
                let rest = rest
                    .strip_prefix("//")
                    .ok_or_else(|| bad("expected s3://bucket/prefix"))?;
                let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
                if bucket.is_empty() {
                    return Err(bad("the bucket name is empty"));
                }
                let prefix = prefix.trim_end_matches('/');
                let prefix = ObjectPath::parse(prefix).map_err(|e| bad(&e.to_string()))?;
                let s3 = s3
                    .apply(builder)
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| bad(&e.to_string()))?;
                let store: Arc<dyn ObjectStore> = if prefix.as_ref().is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.clone()))
                };
                let uri = if prefix.as_ref().is_empty() {
                    format!("s3://{bucket}")
                } else {
                    format!("s3://{bucket}/{prefix}")
                };
                Ok(Self {
                    store,
                    backend: Backend::S3,
                    uri,
                    base: ArtifactPath::root(),
                })
            }
            Some((scheme, _)) => Err(bad(&format!(
                "scheme `{scheme}` is not supported; use file:// or s3://, or a plain path"
            ))),
            None => Self::open_local(uri, PathBuf::from(uri)),
        }
    }

    fn open_local(uri: &str, path: PathBuf) -> Result<Self> {
        if path.as_os_str().is_empty() {
            return Err(TrackError::BadUri {
                uri: uri.to_string(),
                reason: "the path is empty".to_string(),
            });
        }
        let io = |source| TrackError::Io {
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&path).map_err(io)?;
        let root = std::fs::canonicalize(&path).map_err(io)?;
        let store = LocalFileSystem::new_with_prefix(&root)?.with_automatic_cleanup(true);
        let uri = format!("file://{}", root.display());
        Ok(Self {
            store: Arc::new(store),
            backend: Backend::Local { root },
            uri,
            base: ArtifactPath::root(),
        })
    }

    /// The root as a URI: `file:///canonical/path` or `s3://bucket/prefix`, with the scope of
    /// [`ArtifactStore::scoped`] appended.
    pub fn root_uri(&self) -> String {
        if self.base.is_root() {
            self.uri.clone()
        } else {
            format!("{}/{}", self.uri.trim_end_matches('/'), self.base)
        }
    }

    /// Whether the store is a local folder.
    pub fn is_local(&self) -> bool {
        matches!(self.backend, Backend::Local { .. })
    }

    /// The same store rooted at `sub` (a run's `<experiment>/<run>/artifacts`, say), sharing the
    /// connection. Paths given to and returned by the scoped store are relative to `sub`.
    /// Local links are still checked against the folder the store was opened on.
    pub fn scoped(&self, sub: &ArtifactPath) -> Result<ArtifactStore> {
        Ok(Self {
            base: self.base.join_path(sub)?,
            ..self.clone()
        })
    }

    fn full(&self, path: &ArtifactPath) -> Result<ArtifactPath> {
        self.base.join_path(path)
    }

    /// Checks a local path against symbolic-link escapes (no-op on S3) and makes the key.
    async fn key(&self, path: &ArtifactPath) -> Result<ObjectPath> {
        let full = self.full(path)?;
        if let Backend::Local { root } = &self.backend {
            let (root, checked) = (root.clone(), full.clone());
            blocking(move || local::resolve(&root, &checked).map(drop)).await?;
        }
        object_key(&full)
    }

    /// Writes `data` at `path` in one put, replacing what is there.
    pub async fn put_bytes(&self, path: &ArtifactPath, data: Bytes) -> Result<()> {
        let key = self.file_key(path).await?;
        self.store
            .put(&key, PutPayload::from(data))
            .await
            .map_err(|e| map_error(e, path))?;
        Ok(())
    }

    /// Writes a stream at `path`, replacing what is there, and returns the bytes written.
    ///
    /// Memory stays bounded (see the module docs). If `stream` yields an error, or the store
    /// fails, nothing is left at `path` and the error is returned. If the future is dropped
    /// midway, a local staging file is removed by `object_store`; an S3 multipart upload is left
    /// for the bucket's lifecycle rule to abort.
    pub async fn put_stream<S>(&self, path: &ArtifactPath, stream: S) -> Result<u64>
    where
        S: Stream<Item = Result<Bytes>> + Send,
    {
        let key = self.file_key(path).await?;
        let mut stream = std::pin::pin!(stream);
        let mut first = Vec::new();
        let mut total = 0u64;
        let mut buffered = 0usize;
        while buffered < PART_SIZE {
            match stream.next().await {
                Some(chunk) => {
                    let chunk = chunk?;
                    buffered += chunk.len();
                    first.push(chunk);
                }
                None => {
                    self.store
                        .put(&key, PutPayload::from_iter(first))
                        .await
                        .map_err(|e| map_error(e, path))?;
                    return Ok(buffered as u64);
                }
            }
        }
        let upload = self
            .store
            .put_multipart(&key)
            .await
            .map_err(|e| map_error(e, path))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        for chunk in first {
            total += chunk.len() as u64;
            writer.put(chunk);
        }
        loop {
            if let Err(e) = writer.wait_for_capacity(MAX_PARTS_IN_FLIGHT).await {
                abort(writer, path).await;
                return Err(map_error(e, path));
            }
            match stream.next().await {
                Some(Ok(chunk)) => {
                    total += chunk.len() as u64;
                    writer.put(chunk);
                }
                Some(Err(e)) => {
                    abort(writer, path).await;
                    return Err(e);
                }
                None => break,
            }
        }
        writer.finish().await.map_err(|e| map_error(e, path))?;
        Ok(total)
    }

    /// The size of the file at `path` and a stream of its bytes.
    pub async fn get_stream(
        &self,
        path: &ArtifactPath,
    ) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        let key = self.file_key(path).await?;
        let got = self.store.get(&key).await.map_err(|e| map_error(e, path))?;
        let size = got.meta.size;
        let shown = path.clone();
        let stream = got
            .into_stream()
            .map_err(move |e| map_error(e, &shown))
            .boxed();
        Ok((size, stream))
    }

    /// The whole file at `path` in memory: for small files (`MLmodel`, `requirements.txt`).
    pub async fn get_bytes(&self, path: &ArtifactPath) -> Result<Bytes> {
        let (_, stream) = self.get_stream(path).await?;
        let chunks: Vec<Bytes> = stream.try_collect().await?;
        Ok(chunks.concat().into())
    }

    /// One level under `dir`; see the module docs for the form.
    pub async fn list(&self, dir: &ArtifactPath) -> Result<Vec<FileInfo>> {
        if let Backend::Local { root } = &self.backend {
            let (root, base, dir) = (root.clone(), self.base.clone(), dir.clone());
            return blocking(move || local::list_dir(&root, &base, &dir)).await;
        }
        let full = self.full(dir)?;
        let prefix = object_key(&full)?;
        let listed = self
            .store
            .list_with_delimiter((!full.is_root()).then_some(&prefix))
            .await
            .map_err(|e| map_error(e, dir))?;
        let mut files = Vec::new();
        for folder in listed.common_prefixes {
            if let Some(path) = self.relative(&folder) {
                files.push(FileInfo {
                    path,
                    is_dir: true,
                    file_size: None,
                });
            }
        }
        for object in listed.objects {
            // A folder marker (`dir/` as an empty object) names the listed folder itself.
            if object.location == prefix {
                continue;
            }
            if let Some(path) = self.relative(&object.location) {
                files.push(FileInfo {
                    path,
                    is_dir: false,
                    file_size: Some(object.size),
                });
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(files)
    }

    /// Removes the file at `path` or everything under it (the whole store for the root):
    /// for hard deletes and garbage collection. Nothing there is not an error.
    pub async fn delete(&self, path: &ArtifactPath) -> Result<()> {
        let full = self.full(path)?;
        if let Backend::Local { root } = &self.backend {
            let root = root.clone();
            return blocking(move || local::delete(&root, &full)).await;
        }
        let key = object_key(&full)?;
        let mut keys: Vec<ObjectPath> = self
            .store
            .list((!full.is_root()).then_some(&key))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| map_error(e, path))?;
        if !full.is_root() {
            keys.push(key);
        }
        let deleted = self
            .store
            .delete_stream(futures::stream::iter(keys.into_iter().map(Ok)).boxed());
        deleted
            .try_for_each(|_| async { Ok(()) })
            .await
            .or_else(|e| match e {
                object_store::Error::NotFound { .. } => Ok(()),
                e => Err(map_error(e, path)),
            })
    }

    /// Removes what interrupted local uploads left behind: staging files (`name#N`) not written
    /// to for `older_than`. Returns the files removed and their bytes. An S3 store has nothing
    /// to remove: a failed multipart upload is aborted, and one cut off by a crash is the
    /// bucket's lifecycle rule's to expire (`AbortIncompleteMultipartUpload`).
    pub async fn remove_stale_staging(
        &self,
        older_than: std::time::Duration,
    ) -> Result<(u64, u64)> {
        let full = self.full(&ArtifactPath::root())?;
        if let Backend::Local { root } = &self.backend {
            let dir = local::resolve(root, &full)?;
            return blocking(move || local::remove_stale_staging(&dir, older_than)).await;
        }
        Ok((0, 0))
    }

    /// Bytes stored at `path`: the file's size, or the sum over everything under it.
    pub async fn total_size(&self, path: &ArtifactPath) -> Result<u64> {
        let full = self.full(path)?;
        if let Backend::Local { root } = &self.backend {
            let root = root.clone();
            return blocking(move || local::total_size(&root, &full)).await;
        }
        let key = object_key(&full)?;
        let mut total: u64 = self
            .store
            .list((!full.is_root()).then_some(&key))
            .try_fold(0u64, |acc, meta| async move { Ok(acc + meta.size) })
            .await
            .map_err(|e| map_error(e, path))?;
        if !full.is_root() {
            match self.store.head(&key).await {
                Ok(meta) => total += meta.size,
                Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(map_error(e, path)),
            }
        }
        Ok(total)
    }

    /// The key of a file: not the root, checked for link escapes.
    async fn file_key(&self, path: &ArtifactPath) -> Result<ObjectPath> {
        if path.is_root() && self.base.is_root() {
            return Err(TrackError::invalid("artifact path is empty; name a file"));
        }
        self.key(path).await
    }

    /// A listed S3 key, relative to `base`; `None` (with a warning) for keys that are not
    /// valid artifact paths, which this store would refuse to read.
    fn relative(&self, location: &ObjectPath) -> Option<ArtifactPath> {
        let parts: Vec<String> = location
            .parts()
            .map(|p| percent_decode(p.as_ref()).unwrap_or_else(|| p.as_ref().to_string()))
            .collect();
        let joined = parts.join("/");
        let Ok(path) = ArtifactPath::parse(&joined) else {
            tracing::warn!(key = %location, "skipping an object whose key is not a valid artifact path");
            return None;
        };
        let base = self.base.as_str();
        if base.is_empty() {
            return Some(path);
        }
        let rest = path.as_str().strip_prefix(base)?.strip_prefix('/')?;
        ArtifactPath::parse(rest).ok()
    }
}

/// Aborts a multipart upload after a failure, logging (not returning) a failure to abort.
async fn abort(writer: WriteMultipart, path: &ArtifactPath) {
    if let Err(e) = writer.abort().await {
        tracing::warn!(path = %path, error = %e, "could not abort a multipart upload");
    }
}

/// The object key of a checked path: the path itself, so keys match MLflow's.
fn object_key(path: &ArtifactPath) -> Result<ObjectPath> {
    ObjectPath::parse(path.as_str()).map_err(|e| TrackError::ObjectStore(e.into()))
}

fn map_error(e: object_store::Error, path: &ArtifactPath) -> TrackError {
    match e {
        object_store::Error::NotFound { .. } => {
            TrackError::not_found(format!("artifact `{path}` does not exist"))
        }
        e => TrackError::ObjectStore(e),
    }
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| TrackError::Io {
            path: "<blocking task>".to_string(),
            source: std::io::Error::other(e),
        })?
}

/// `scheme:rest` for a scheme of two or more characters (one letter is a Windows drive).
fn split_scheme(uri: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = uri.split_once(':')?;
    let mut chars = scheme.chars();
    let valid = scheme.len() > 1
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    valid.then_some((scheme, rest))
}

/// Decodes `%XX` escapes; `None` for a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests;
