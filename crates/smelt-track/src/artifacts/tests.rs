//! Tests of the local store: put/get/list/delete, atomic writes, link escapes, bounded memory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use bytes::Bytes;
use futures::stream::{self, StreamExt};

use super::*;

fn p(s: &str) -> ArtifactPath {
    ArtifactPath::parse(s).unwrap_or_else(|e| panic!("test path `{s}`: {e}"))
}

fn open_temp() -> Result<(tempfile::TempDir, ArtifactStore)> {
    let dir = tempfile::tempdir().map_err(|source| TrackError::Io {
        path: "tempdir".into(),
        source,
    })?;
    let store = ArtifactStore::open(&format!("file://{}", dir.path().display()))?;
    Ok((dir, store))
}

/// Entries of a folder on disk, staging files included, sorted.
fn names_on_disk(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Pseudo-random bytes, so that a misplaced part shows up in a comparison.
fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn put_get_list_delete_roundtrip() -> Result<()> {
    let (_dir, store) = open_temp()?;
    store
        .put_bytes(&p("model/MLmodel"), Bytes::from_static(b"flavors: {}\n"))
        .await?;
    store
        .put_bytes(&p("model/data/weights.bin"), Bytes::from(vec![7u8; 1000]))
        .await?;
    store
        .put_bytes(&p("metrics.json"), Bytes::from_static(b"{}"))
        .await?;

    assert_eq!(
        store.get_bytes(&p("model/MLmodel")).await?,
        &b"flavors: {}\n"[..]
    );
    let (size, _) = store.get_stream(&p("model/data/weights.bin")).await?;
    assert_eq!(size, 1000);

    let root = store.list(&ArtifactPath::root()).await?;
    assert_eq!(
        root,
        vec![
            FileInfo {
                path: p("metrics.json"),
                is_dir: false,
                file_size: Some(2)
            },
            FileInfo {
                path: p("model"),
                is_dir: true,
                file_size: None
            },
        ]
    );
    let model = store.list(&p("model")).await?;
    assert_eq!(
        model
            .iter()
            .map(|f| (f.path.as_str(), f.name(), f.is_dir))
            .collect::<Vec<_>>(),
        [
            ("model/MLmodel", "MLmodel", false),
            ("model/data", "data", true)
        ]
    );
    // MLflow lists a missing folder, or a file, as empty.
    assert!(store.list(&p("nope")).await?.is_empty());
    assert!(store.list(&p("metrics.json")).await?.is_empty());

    assert_eq!(
        store.total_size(&ArtifactPath::root()).await?,
        12 + 1000 + 2
    );
    assert_eq!(store.total_size(&p("model")).await?, 1012);
    assert_eq!(store.total_size(&p("metrics.json")).await?, 2);
    assert_eq!(store.total_size(&p("nope")).await?, 0);

    store.delete(&p("model")).await?;
    assert_eq!(store.list(&ArtifactPath::root()).await?.len(), 1);
    assert!(matches!(
        store.get_bytes(&p("model/MLmodel")).await,
        Err(TrackError::NotFound(m)) if m == "artifact `model/MLmodel` does not exist"
    ));
    store.delete(&p("model")).await?; // deleting nothing is fine
    store.delete(&ArtifactPath::root()).await?;
    assert!(store.list(&ArtifactPath::root()).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn overwrite_replaces() -> Result<()> {
    let (_dir, store) = open_temp()?;
    store.put_bytes(&p("a"), Bytes::from_static(b"one")).await?;
    store
        .put_bytes(&p("a"), Bytes::from_static(b"two!"))
        .await?;
    assert_eq!(store.get_bytes(&p("a")).await?, &b"two!"[..]);
    Ok(())
}

#[tokio::test]
async fn deleting_a_file_prunes_empty_folders() -> Result<()> {
    let (dir, store) = open_temp()?;
    store
        .put_bytes(&p("a/b/c/file"), Bytes::from_static(b"x"))
        .await?;
    store
        .put_bytes(&p("a/keep"), Bytes::from_static(b"y"))
        .await?;
    store.delete(&p("a/b/c/file")).await?;
    assert!(
        !dir.path().join("a/b").exists(),
        "empty folders are removed"
    );
    assert_eq!(store.list(&p("a")).await?.len(), 1);
    Ok(())
}

#[tokio::test]
async fn root_path_is_not_a_file() -> Result<()> {
    let (_dir, store) = open_temp()?;
    let err = store.put_bytes(&ArtifactPath::root(), Bytes::new()).await;
    assert!(
        matches!(err, Err(TrackError::InvalidParameter(m)) if m == "artifact path is empty; name a file")
    );
    assert!(store.get_stream(&ArtifactPath::root()).await.is_err());
    Ok(())
}

#[tokio::test]
async fn scoped_store_sees_paths_relative_to_its_scope() -> Result<()> {
    let (_dir, store) = open_temp()?;
    let run = store.scoped(&p("1/run-a/artifacts"))?;
    run.put_bytes(&p("model/MLmodel"), Bytes::from_static(b"m"))
        .await?;
    assert_eq!(run.list(&p("model")).await?[0].path, p("model/MLmodel"));
    assert_eq!(
        store
            .get_bytes(&p("1/run-a/artifacts/model/MLmodel"))
            .await?,
        &b"m"[..]
    );
    assert!(run.root_uri().ends_with("/1/run-a/artifacts"));
    run.delete(&ArtifactPath::root()).await?;
    assert_eq!(store.total_size(&p("1")).await?, 0);
    Ok(())
}

#[tokio::test]
async fn small_stream_is_one_put() -> Result<()> {
    let (_dir, store) = open_temp()?;
    let chunks = vec![
        Ok(Bytes::from_static(b"hello ")),
        Ok(Bytes::from_static(b"world")),
    ];
    let n = store
        .put_stream(&p("greeting.txt"), stream::iter(chunks))
        .await?;
    assert_eq!(n, 11);
    assert_eq!(
        store.get_bytes(&p("greeting.txt")).await?,
        &b"hello world"[..]
    );
    let empty = store
        .put_stream(&p("empty"), stream::iter(Vec::<Result<Bytes>>::new()))
        .await?;
    assert_eq!(empty, 0);
    assert_eq!(store.total_size(&p("empty")).await?, 0);
    Ok(())
}

#[tokio::test]
async fn large_stream_roundtrips_byte_exact() -> Result<()> {
    let (_dir, store) = open_temp()?;
    let chunk = 1_000_003; // not a divisor of PART_SIZE: parts straddle chunks
    let total = 3 * PART_SIZE + 12_345;
    let chunks = (0..total.div_ceil(chunk)).map(move |i| {
        Ok(Bytes::from(pattern(
            i * chunk,
            chunk.min(total - i * chunk),
        )))
    });
    let n = store
        .put_stream(&p("big.bin"), stream::iter(chunks))
        .await?;
    assert_eq!(n, total as u64);
    let (size, body) = store.get_stream(&p("big.bin")).await?;
    assert_eq!(size, total as u64);
    let mut offset = 0;
    let mut body = body;
    while let Some(piece) = body.next().await {
        let piece = piece?;
        assert_eq!(
            &piece[..],
            &pattern(offset, piece.len())[..],
            "bytes at {offset}"
        );
        offset += piece.len();
    }
    assert_eq!(offset, total);
    Ok(())
}

/// A stream of `count` chunks of `len` bytes that fails after `fail_after` chunks, noting
/// whether the target file was ever visible while the upload ran.
fn failing_stream(
    count: usize,
    len: usize,
    fail_after: usize,
    target: PathBuf,
    seen: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes>> + Send {
    stream::iter(0..count).map(move |i| {
        if target.exists() {
            seen.store(true, Ordering::SeqCst);
        }
        if i == fail_after {
            return Err(TrackError::invalid("client went away"));
        }
        Ok(Bytes::from(vec![b'x'; len]))
    })
}

#[tokio::test]
async fn failed_multipart_stream_leaves_nothing() -> Result<()> {
    let (dir, store) = open_temp()?;
    let target = dir.path().join("model/weights.bin");
    let seen = Arc::new(AtomicBool::new(false));
    // 20 MiB in, past two parts, then an error.
    let s = failing_stream(40, 1 << 20, 20, target.clone(), seen.clone());
    let err = store.put_stream(&p("model/weights.bin"), s).await;
    assert!(matches!(err, Err(TrackError::InvalidParameter(m)) if m == "client went away"));
    assert!(
        !seen.load(Ordering::SeqCst),
        "the target was visible mid-upload"
    );
    assert!(!target.exists());
    // The staging file (`weights.bin#1`) is gone too.
    assert_eq!(
        names_on_disk(&dir.path().join("model")),
        Vec::<String>::new()
    );
    assert!(store.list(&p("model")).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn failed_stream_keeps_the_previous_version() -> Result<()> {
    let (dir, store) = open_temp()?;
    store
        .put_bytes(&p("w.bin"), Bytes::from_static(b"v1"))
        .await?;
    let seen = Arc::new(AtomicBool::new(false));
    let s = failing_stream(40, 1 << 20, 12, dir.path().join("unused"), seen);
    assert!(store.put_stream(&p("w.bin"), s).await.is_err());
    assert_eq!(store.get_bytes(&p("w.bin")).await?, &b"v1"[..]);
    assert_eq!(names_on_disk(dir.path()), ["w.bin"]);
    Ok(())
}

#[tokio::test]
async fn failed_small_stream_writes_nothing() -> Result<()> {
    let (dir, store) = open_temp()?;
    let seen = Arc::new(AtomicBool::new(false));
    let s = failing_stream(4, 1000, 2, dir.path().join("x"), seen);
    assert!(store.put_stream(&p("x"), s).await.is_err());
    assert!(names_on_disk(dir.path()).is_empty());
    Ok(())
}

#[tokio::test]
async fn in_progress_upload_is_not_listed() -> Result<()> {
    let (dir, store) = open_temp()?;
    // A staging file left by a crashed process is neither listed nor counted.
    std::fs::write(dir.path().join("half.bin#1"), b"partial").map_err(|source| TrackError::Io {
        path: "half.bin#1".into(),
        source,
    })?;
    assert!(store.list(&ArtifactPath::root()).await?.is_empty());
    assert_eq!(store.total_size(&ArtifactPath::root()).await?, 0);
    Ok(())
}

/// Bytes whose owner counts how many bytes are alive, and the most ever alive at once.
struct Tracked {
    data: Vec<u8>,
    live: Arc<AtomicUsize>,
}

impl AsRef<[u8]> for Tracked {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.fetch_sub(self.data.len(), Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_stream_memory_is_bounded() -> Result<()> {
    let (_dir, store) = open_temp()?;
    let live = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let chunk = 1 << 20;
    let total = 100 << 20;
    let (l, pk) = (live.clone(), peak.clone());
    let chunks = stream::iter(0..total / chunk).map(move |i| {
        let now = l.fetch_add(chunk, Ordering::SeqCst) + chunk;
        pk.fetch_max(now, Ordering::SeqCst);
        let owner = Tracked {
            data: pattern(i * chunk, chunk),
            live: l.clone(),
        };
        Ok(Bytes::from_owner(owner))
    });
    let n = store.put_stream(&p("huge.bin"), chunks).await?;
    assert_eq!(n, total as u64);
    let peak = peak.load(Ordering::SeqCst);
    // One part filling, MAX_PARTS_IN_FLIGHT parts writing, and the chunk just made.
    let bound = (MAX_PARTS_IN_FLIGHT + 1) * PART_SIZE + chunk;
    assert!(peak <= bound, "peak {peak} bytes alive, bound {bound}");
    assert!(
        peak < total / 3,
        "peak {peak} bytes alive for a {total}-byte upload"
    );
    assert_eq!(live.load(Ordering::SeqCst), 0, "every chunk was released");
    assert_eq!(store.total_size(&p("huge.bin")).await?, total as u64);
    Ok(())
}

#[cfg(unix)]
mod links {
    use super::*;
    use std::os::unix::fs::symlink;

    fn link(target: &std::path::Path, at: &std::path::Path) -> Result<()> {
        symlink(target, at).map_err(|source| TrackError::Io {
            path: at.display().to_string(),
            source,
        })
    }

    #[tokio::test]
    async fn link_to_etc_is_refused_on_read_and_list() -> Result<()> {
        // mlflow/mlflow#18964: a link inside the artifact folder made any file readable.
        let (dir, store) = open_temp()?;
        link(std::path::Path::new("/etc"), &dir.path().join("etc"))?;
        link(
            std::path::Path::new("/etc/passwd"),
            &dir.path().join("passwd"),
        )?;
        store
            .put_bytes(&p("ok.txt"), Bytes::from_static(b"ok"))
            .await?;

        for path in ["etc/passwd", "passwd", "etc/hostname"] {
            let err = store.get_stream(&p(path)).await.err();
            assert!(
                matches!(&err, Some(TrackError::UnsafePath { reason, .. })
                    if reason.contains("outside the artifact root")),
                "{path}: {err:?}"
            );
        }
        assert!(matches!(
            store.list(&p("etc")).await,
            Err(TrackError::UnsafePath { .. })
        ));
        // The links are left out of the root's listing and of sizes.
        let listed = store.list(&ArtifactPath::root()).await?;
        assert_eq!(
            listed.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["ok.txt"]
        );
        assert_eq!(store.total_size(&ArtifactPath::root()).await?, 2);
        // Writing through the link is refused too.
        assert!(matches!(
            store
                .put_bytes(&p("etc/evil"), Bytes::from_static(b"x"))
                .await,
            Err(TrackError::UnsafePath { .. })
        ));
        assert!(!std::path::Path::new("/etc/evil").exists());
        Ok(())
    }

    #[tokio::test]
    async fn delete_removes_links_not_their_targets() -> Result<()> {
        let (dir, store) = open_temp()?;
        let outside = tempfile::tempdir().map_err(|source| TrackError::Io {
            path: "tempdir".into(),
            source,
        })?;
        std::fs::write(outside.path().join("precious"), b"keep").map_err(|source| {
            TrackError::Io {
                path: "precious".into(),
                source,
            }
        })?;
        link(outside.path(), &dir.path().join("out"))?;
        assert!(
            store.delete(&p("out/precious")).await.is_err(),
            "refused through the link"
        );
        store.delete(&ArtifactPath::root()).await?;
        assert!(
            outside.path().join("precious").exists(),
            "the target survives"
        );
        assert!(
            names_on_disk(dir.path()).is_empty(),
            "the link itself is gone"
        );
        Ok(())
    }

    #[tokio::test]
    async fn links_inside_the_root_are_followed() -> Result<()> {
        let (dir, store) = open_temp()?;
        store
            .put_bytes(&p("real/file"), Bytes::from_static(b"data"))
            .await?;
        link(&dir.path().join("real"), &dir.path().join("alias"))?;
        assert_eq!(store.get_bytes(&p("alias/file")).await?, &b"data"[..]);
        let listed = store.list(&ArtifactPath::root()).await?;
        assert_eq!(listed.len(), 2);
        assert!(listed.iter().all(|f| f.is_dir));
        Ok(())
    }
}

#[test]
fn open_parses_uris() -> Result<()> {
    let dir = tempfile::tempdir().map_err(|source| TrackError::Io {
        path: "tempdir".into(),
        source,
    })?;
    let plain = dir.path().join("plain");
    let store = ArtifactStore::open(&plain.display().to_string())?;
    assert!(store.is_local());
    assert!(plain.is_dir(), "a missing folder is created");
    let uri = format!("file://{}", dir.path().join("with%20space").display());
    let store = ArtifactStore::open(&uri)?;
    assert!(store.root_uri().ends_with("/with space"));
    assert!(dir.path().join("with space").is_dir());
    let local = format!("file://localhost{}", dir.path().display());
    assert!(ArtifactStore::open(&local).is_ok());

    let settings = S3Settings {
        endpoint: Some("http://127.0.0.1:1".into()),
        ..S3Settings::default()
    };
    let s3 = ArtifactStore::open_with("s3://bucket/some/prefix/", &settings)?;
    assert!(!s3.is_local());
    assert_eq!(s3.root_uri(), "s3://bucket/some/prefix");
    assert_eq!(
        ArtifactStore::open_with("s3://bucket", &settings)?.root_uri(),
        "s3://bucket"
    );

    for bad in [
        "gs://bucket/x",
        "hdfs://nn/x",
        "mlflow-artifacts:/x",
        "runs:/abc/model",
        "file:relative",
        "file://otherhost/x",
        "s3://",
        "s3:bucket",
        "s3://bucket/a//b",
        "",
    ] {
        assert!(
            matches!(
                ArtifactStore::open_with(bad, &settings),
                Err(TrackError::BadUri { .. })
            ),
            "{bad:?} should be a bad URI"
        );
    }
    Ok(())
}

#[test]
fn settings_debug_hides_secrets() {
    let s = S3Settings {
        secret_access_key: Some("hunter2".into()),
        session_token: Some("tok".into()),
        ..S3Settings::default()
    };
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("tok\""),
        "{shown}"
    );
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%20b").as_deref(), Some("a b"));
    assert_eq!(percent_decode("50% done"), None);
    assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
    assert_eq!(percent_decode("%ff"), None);
}
