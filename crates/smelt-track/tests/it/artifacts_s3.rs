//! The artifact store against a real S3-compatible server.
//!
//! Runs when `SMELT_TEST_S3_ENDPOINT` is set, and prints a notice and passes otherwise:
//!
//! ```sh
//! eval "$(scripts/s3-test-server start)"   # SeaweedFS on loopback, bucket `smelt-test`
//! cargo test -p smelt-track --test it artifacts_s3
//! scripts/s3-test-server stop
//! ```
//!
//! Also read: `SMELT_TEST_S3_BUCKET` (default `smelt-test`, must exist),
//! `SMELT_TEST_S3_ACCESS_KEY_ID`, `SMELT_TEST_S3_SECRET_ACCESS_KEY`.

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use smelt_track::artifacts::{ArtifactPath, ArtifactStore, FileInfo, PART_SIZE, S3Settings};
use smelt_track::{Result, TrackError};

fn p(s: &str) -> ArtifactPath {
    ArtifactPath::parse(s).unwrap_or_else(|e| panic!("test path `{s}`: {e}"))
}

/// The store under a fresh prefix, or `None` (with a notice) when no server is configured.
#[allow(
    clippy::print_stderr,
    reason = "the notice that the S3 tests were skipped must reach the person running them"
)]
fn s3_store() -> Result<Option<(ArtifactStore, String)>> {
    let Ok(endpoint) = std::env::var("SMELT_TEST_S3_ENDPOINT") else {
        eprintln!(
            "notice: SMELT_TEST_S3_ENDPOINT is unset; skipping the S3 artifact tests \
             (start a server with `eval \"$(scripts/s3-test-server start)\"`)"
        );
        return Ok(None);
    };
    let var = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.into());
    let settings = S3Settings {
        endpoint: Some(endpoint),
        region: Some("us-east-1".into()),
        access_key_id: Some(var("SMELT_TEST_S3_ACCESS_KEY_ID", "smelt-test")),
        secret_access_key: Some(var("SMELT_TEST_S3_SECRET_ACCESS_KEY", "smelt-test-secret")),
        session_token: None,
    };
    let bucket = var("SMELT_TEST_S3_BUCKET", "smelt-test");
    let prefix = format!("it-{}", uuid::Uuid::new_v4());
    let uri = format!("s3://{bucket}/{prefix}");
    Ok(Some((ArtifactStore::open_with(&uri, &settings)?, uri)))
}

fn pattern(offset: usize, len: usize) -> Vec<u8> {
    (offset..offset + len)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

#[tokio::test]
async fn s3_put_list_get_delete() -> Result<()> {
    let Some((store, uri)) = s3_store()? else {
        return Ok(());
    };
    assert_eq!(store.root_uri(), uri);

    // Small files, one put each.
    store
        .put_bytes(&p("model/MLmodel"), Bytes::from_static(b"flavors: {}\n"))
        .await?;
    store
        .put_bytes(&p("metrics.json"), Bytes::from_static(b"{\"rmse\": 1}"))
        .await?;

    // 20 MiB streamed in uneven chunks: three parts of a multipart upload.
    let total = 20 << 20;
    let chunk = 777_777;
    let chunks = (0..total / chunk + 1).filter_map(move |i| {
        let start = i * chunk;
        (start < total).then(|| Ok(Bytes::from(pattern(start, chunk.min(total - start)))))
    });
    assert!(total > 2 * PART_SIZE);
    let n = store
        .put_stream(&p("model/data/weights.bin"), stream::iter(chunks))
        .await?;
    assert_eq!(n, total as u64);

    // One level, MLflow's form.
    let root = store.list(&ArtifactPath::root()).await?;
    assert_eq!(
        root,
        vec![
            FileInfo {
                path: p("metrics.json"),
                is_dir: false,
                file_size: Some(11)
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
            .map(|f| (f.path.as_str(), f.is_dir, f.file_size))
            .collect::<Vec<_>>(),
        [
            ("model/MLmodel", false, Some(12)),
            ("model/data", true, None)
        ]
    );
    assert!(store.list(&p("missing")).await?.is_empty());
    assert_eq!(
        store.total_size(&ArtifactPath::root()).await?,
        (total + 12 + 11) as u64
    );

    // Byte-exact back.
    let (size, mut body) = store.get_stream(&p("model/data/weights.bin")).await?;
    assert_eq!(size, total as u64);
    let mut offset = 0;
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
    assert_eq!(
        store.get_bytes(&p("model/MLmodel")).await?,
        &b"flavors: {}\n"[..]
    );

    // A missing file is NotFound with the path.
    match store.get_stream(&p("model/nope")).await {
        Err(TrackError::NotFound(m)) => assert_eq!(m, "artifact `model/nope` does not exist"),
        other => panic!("expected NotFound, got {:?}", other.map(|(n, _)| n)),
    }

    // Deleting a prefix removes every file under it, and nothing beside it. (SeaweedFS keeps
    // the emptied `model/` folder and lists it as a common prefix for a while; AWS S3 does
    // not. So files are checked, not folders.)
    store.delete(&p("model")).await?;
    assert_eq!(store.total_size(&p("model")).await?, 0);
    let files: Vec<_> = store
        .list(&ArtifactPath::root())
        .await?
        .into_iter()
        .filter(|f| !f.is_dir)
        .map(|f| f.path.to_string())
        .collect();
    assert_eq!(files, ["metrics.json"]);
    assert!(store.list(&p("model")).await?.iter().all(|f| f.is_dir));
    assert!(store.get_stream(&p("model/MLmodel")).await.is_err());
    store.delete(&ArtifactPath::root()).await?;
    assert!(
        store
            .list(&ArtifactPath::root())
            .await?
            .iter()
            .all(|f| f.is_dir)
    );
    assert_eq!(store.total_size(&ArtifactPath::root()).await?, 0);
    Ok(())
}

#[tokio::test]
async fn s3_failed_stream_leaves_nothing() -> Result<()> {
    let Some((store, _)) = s3_store()? else {
        return Ok(());
    };
    store
        .put_bytes(&p("w.bin"), Bytes::from_static(b"v1"))
        .await?;
    // Past two parts, then the client goes away: the multipart upload is aborted.
    let chunks = stream::iter(0..30).map(|i| {
        if i == 20 {
            Err(TrackError::InvalidParameter("client went away".into()))
        } else {
            Ok(Bytes::from(vec![b'x'; 1 << 20]))
        }
    });
    assert!(store.put_stream(&p("w.bin"), chunks).await.is_err());
    assert_eq!(store.get_bytes(&p("w.bin")).await?, &b"v1"[..]);
    store.delete(&ArtifactPath::root()).await?;
    Ok(())
}

#[tokio::test]
async fn s3_scoped_store() -> Result<()> {
    let Some((store, uri)) = s3_store()? else {
        return Ok(());
    };
    let run = store.scoped(&p("1/run-a/artifacts"))?;
    assert_eq!(run.root_uri(), format!("{uri}/1/run-a/artifacts"));
    run.put_bytes(&p("model/MLmodel"), Bytes::from_static(b"m"))
        .await?;
    assert_eq!(run.list(&p("model")).await?[0].path, p("model/MLmodel"));
    assert_eq!(
        store
            .get_bytes(&p("1/run-a/artifacts/model/MLmodel"))
            .await?,
        &b"m"[..]
    );
    store.delete(&ArtifactPath::root()).await?;
    Ok(())
}
