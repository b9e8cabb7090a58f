//! Serving from the registry: `models:/name@alias`, and hot reload when the alias moves.

use serde_json::Value;
use smelt_track::store::VersionCreate;
use smelt_track::tracker::Tracker;

use crate::common::{Server, penguin_records, penguins, penguins_forest};
use smelt_serve::config::{Config, ModelConfig};

#[allow(
    unsafe_code,
    reason = "set_var is unsafe in edition 2024; see the SAFETY note"
)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_an_alias_and_follows_it() {
    let root = tempfile::tempdir().unwrap();
    let db = format!("sqlite:///{}", root.path().join("t.db").display());
    let artifacts = root.path().join("artifacts").display().to_string();
    // Only this test reads these variables (the server's loader opens the project's store).
    // SAFETY: set before any thread of this test reads the environment; other tests do not read them.
    unsafe {
        std::env::set_var("SMELT_TRACKING_URI", &db);
        std::env::set_var("SMELT_ARTIFACTS_DESTINATION", &artifacts);
    }
    let (v1, v2) = (penguins(), penguins_forest());
    let register = move |dir: std::path::PathBuf, db: String, artifacts: String| {
        let t = Tracker::open(&db, &artifacts).unwrap();
        let run = t.start_run("serve-test", Some("fit")).unwrap();
        run.log_artifacts(&dir, "model").unwrap();
        let id = run.run_id.clone();
        run.finish(true).unwrap();
        let store = t.store().unwrap();
        let _ = t.block_on(store.create_registered_model("penguins", &[], ""));
        let v = t
            .block_on(store.create_model_version(VersionCreate {
                name: "penguins".into(),
                source: format!("runs:/{id}/model"),
                run_id: id,
                ..Default::default()
            }))
            .unwrap();
        t.block_on(store.set_registered_model_alias("penguins", "champion", &v.version))
            .unwrap();
        v.version
    };
    let (d, a) = (db.clone(), artifacts.clone());
    let first = tokio::task::spawn_blocking(move || register(v1, d, a))
        .await
        .unwrap();
    assert_eq!(first, "1");
    let mut config = Config::default();
    config.server.cache_dir = Some(root.path().join("cache"));
    config.server.reload_interval_s = 1;
    config
        .models
        .push(ModelConfig::from_arg("models:/penguins@champion"));
    let s = Server::start(config).await;
    let meta: Value = serde_json::from_str(&s.get("/v2/models/penguins").await.1).unwrap();
    assert_eq!(meta["parameters"]["version"], "1");
    assert_eq!(meta["parameters"]["source"], "models:/penguins/1");
    let (code, _) = s
        .post_json("/predict/penguins", &penguin_records()[0])
        .await;
    assert_eq!(code, 200);
    // Move the alias: the server loads version 2 within a few seconds.
    let (d, a) = (db.clone(), artifacts.clone());
    let second = tokio::task::spawn_blocking(move || register(v2, d, a))
        .await
        .unwrap();
    assert_eq!(second, "2");
    let mut now = String::new();
    for _ in 0..50 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let meta: Value = serde_json::from_str(&s.get("/v2/models/penguins").await.1).unwrap();
        now = meta["parameters"]["version"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if now == "2" {
            break;
        }
    }
    assert_eq!(now, "2", "the server did not follow the alias");
    let (code, v) = s
        .post_json("/predict/penguins", &penguin_records()[0])
        .await;
    assert_eq!(code, 200, "{v}");
    s.stop().await;
}
