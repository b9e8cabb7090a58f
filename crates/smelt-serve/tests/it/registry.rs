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
    config.server.tracking_uri = Some(db.clone());
    config.server.artifacts_destination = Some(artifacts.clone());
    config.server.reload_interval_s = 1;
    config
        .models
        .push(ModelConfig::from_arg("models:/penguins@champion"));
    // A configured label does not stop it following the alias.
    let mut labelled = ModelConfig::from_arg("labelled=models:/penguins@champion");
    labelled.version = Some("prod".into());
    config.models.push(labelled);
    let s = Server::start(config).await;
    let meta: Value = serde_json::from_str(&s.get("/v2/models/penguins").await.1).unwrap();
    assert_eq!(meta["parameters"]["version"], "1");
    assert_eq!(meta["parameters"]["source"], "models:/penguins/1");
    let (code, _) = s
        .post_json("/predict/penguins", &penguin_records()[0])
        .await;
    assert_eq!(code, 200);
    // Nothing moved: no reload, for the labelled model either (its label is not the registry's
    // version).
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    let routing: Value = serde_json::from_str(&s.get("/admin/models/labelled").await.1).unwrap();
    assert!(
        routing["previous"].is_null(),
        "reloaded without a change: {routing}"
    );
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
    let mut source = String::new();
    for _ in 0..50 {
        let meta: Value = serde_json::from_str(&s.get("/v2/models/labelled").await.1).unwrap();
        source = meta["parameters"]["source"]
            .as_str()
            .unwrap_or("")
            .to_string();
        if source == "models:/penguins/2" {
            assert_eq!(meta["parameters"]["version"], "prod");
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(
        source, "models:/penguins/2",
        "the labelled model did not follow the alias"
    );
    let (code, v) = s
        .post_json("/predict/penguins", &penguin_records()[0])
        .await;
    assert_eq!(code, 200, "{v}");
    s.stop().await;
}

/// The same from a tracking server (`smelt server`): the version over MLflow's REST API, the
/// files through its artifact proxy.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_from_a_tracking_server() {
    let root = tempfile::tempdir().unwrap();
    let store = smelt_track::Store::open(
        &format!("sqlite:///{}", root.path().join("t.db").display()),
        "mlflow-artifacts:",
    )
    .await
    .unwrap();
    let artifacts =
        smelt_track::ArtifactStore::open(&root.path().join("a").display().to_string()).unwrap();
    let state = smelt_track_server::AppState {
        store,
        artifacts,
        auth: None,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let uri = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, smelt_track_server::router(state)).await });
    let dir = penguins();
    let u = uri.clone();
    let run_id = tokio::task::spawn_blocking(move || {
        let t = Tracker::open_server(&u).unwrap();
        let run = t.start_run("serve-test", Some("fit")).unwrap();
        run.log_artifacts(&dir, "model").unwrap();
        let id = run.run_id.clone();
        run.finish(true).unwrap();
        id
    })
    .await
    .unwrap();
    let c = reqwest::Client::new();
    let api = |p: &str| format!("{uri}/api/2.0/mlflow/{p}");
    c.post(api("registered-models/create"))
        .json(&serde_json::json!({"name": "pg"}))
        .send()
        .await
        .unwrap();
    let v: Value = c
        .post(api("model-versions/create"))
        .json(&serde_json::json!({"name": "pg", "source": format!("runs:/{run_id}/model"), "run_id": run_id}))
        .send().await.unwrap().json().await.unwrap();
    assert_eq!(v["model_version"]["version"], "1", "{v}");
    let r = c
        .post(api("registered-models/alias"))
        .json(&serde_json::json!({"name": "pg", "alias": "prod", "version": "1"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let mut config = Config::default();
    config.server.cache_dir = Some(root.path().join("cache"));
    config.server.tracking_uri = Some(uri.clone());
    config.models.push(ModelConfig::from_arg("models:/pg@prod"));
    config.models.push(ModelConfig::from_arg(&format!(
        "byrun=runs:/{run_id}/model"
    )));
    let s = Server::start(config).await;
    for name in ["pg", "byrun"] {
        let (code, v) = s
            .post_json(&format!("/predict/{name}"), &penguin_records()[0])
            .await;
        assert_eq!(code, 200, "{name}: {v}");
    }
    let meta: Value = serde_json::from_str(&s.get("/v2/models/pg").await.1).unwrap();
    assert_eq!(meta["parameters"]["source"], "models:/pg/1");
    s.stop().await;
}
