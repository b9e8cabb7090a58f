//! The library's `Tracker` logging to this server over real HTTP (`Tracker::open_server`), as
//! `smelt train` does with `SMELT_TRACKING_URI=http://…`: artifacts of any size stream through
//! the artifact proxy (chunked uploads) and arrive byte for byte, empty files included.

use smelt_track::entities::RunStatus;
use smelt_track::tracker::Tracker;
use smelt_track::{ArtifactStore, Store};
use smelt_track_server::{AppState, serve};

#[test]
fn tracker_logs_runs_and_streams_artifacts_to_a_server() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = format!("sqlite:///{}", dir.path().join("db.sqlite").display());
    let art = dir.path().join("art");
    // The server on its own thread and runtime, on a free loopback port.
    let (tx, rx) = std::sync::mpsc::channel();
    let (db2, art2) = (db.clone(), art.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let state = AppState {
                store: Store::open(&db2, "mlflow-artifacts:").await.expect("store"),
                artifacts: ArtifactStore::open(&art2.display().to_string()).expect("artifacts"),
                auth: None,
            };
            let addr = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
            let _ = serve(state, addr, move |a| {
                let _ = tx.send(a);
            })
            .await;
        });
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the server starts");

    let t = Tracker::open_server(&format!("http://{addr}")).expect("tracker");
    assert!(
        t.store().is_err(),
        "a server-backed tracker has no store to read"
    );
    let run = t.start_run("remote-lib", Some("r1")).expect("starts");
    run.log_params(&[("alpha", "0.5")]).expect("params");
    run.log_metrics(&[("loss", 0.25), ("nan", f64::NAN)], 3)
        .expect("metrics");
    let child = run.start_child(Some("fold-0")).expect("child run");
    child.finish(true).expect("child finishes");
    // A folder with an empty file and one of 3 MiB + 7 bytes (several 1 MiB chunks).
    let local = dir.path().join("model");
    std::fs::create_dir_all(local.join("sub")).expect("mkdir");
    std::fs::write(local.join("empty.txt"), b"").expect("write");
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 7)
        .map(|i| (i * 31 % 251) as u8)
        .collect();
    std::fs::write(local.join("sub/weights.bin"), &big).expect("write");
    let sent = run.log_artifacts(&local, "model").expect("artifacts");
    assert_eq!(sent, big.len() as u64);
    let (id, exp) = (run.run_id.clone(), run.experiment_id.clone());
    run.finish(true).expect("finishes");

    let base = art.join(&exp).join(&id).join("artifacts/model");
    assert_eq!(
        std::fs::read(base.join("sub/weights.bin")).expect("big file"),
        big
    );
    assert_eq!(
        std::fs::read(base.join("empty.txt"))
            .expect("empty file")
            .len(),
        0
    );
    // The run as the server stored it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let got = rt.block_on(async {
        let store = Store::open(&db, "mlflow-artifacts:").await.expect("store");
        store.get_run(&id).await.expect("run")
    });
    assert_eq!(got.info.status, RunStatus::Finished);
    assert_eq!(got.info.run_name, "r1");
    assert_eq!(got.data.params[0].value, "0.5");
    let loss = got
        .data
        .metrics
        .iter()
        .find(|m| m.key == "loss")
        .expect("loss");
    assert_eq!((loss.value, loss.step), (0.25, 3));
    assert!(
        got.data
            .metrics
            .iter()
            .any(|m| m.key == "nan" && m.value.is_nan())
    );
}
