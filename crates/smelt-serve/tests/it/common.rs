//! A served model for the tests: penguins (numeric, categorical and missing cells) fitted by the
//! workflow, a server on a free loopback port, and the reference predictions.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::{Map, Value};
use smelt_serve::config::{Config, ModelConfig};
use smelt_workflow::{Model, Params};

pub fn data_path(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(file)
}

/// A fitted model saved in a folder that lives as long as the test binary.
pub fn model_dir(name: &str, model: &str, target: &str, file: &str) -> PathBuf {
    static ROOT: OnceLock<tempfile::TempDir> = OnceLock::new();
    let root = ROOT.get_or_init(|| tempfile::tempdir().expect("temp dir"));
    let dir = root.path().join(name);
    if dir.join("model.json").is_file() {
        return dir;
    }
    let data = smelt_data::load(
        &data_path(file),
        &smelt_data::LoadOptions::default().with_target(target),
    )
    .expect("bundled data loads");
    let trained = Model::train(&data, model, Params::default()).expect("trains");
    trained.model.save(&dir).expect("saves");
    dir
}

pub fn penguins() -> PathBuf {
    model_dir("penguins", "logistic_regression", "species", "penguins.csv")
}

pub fn penguins_forest() -> PathBuf {
    model_dir(
        "penguins-forest",
        "random_forest_classifier",
        "species",
        "penguins.csv",
    )
}

/// The penguins rows as JSON objects (features only; empty cells as null).
pub fn penguin_records() -> Vec<Value> {
    let mut r = csv::Reader::from_path(data_path("penguins.csv")).expect("csv");
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    r.records()
        .map(|rec| {
            let rec = rec.expect("record");
            let mut m = Map::new();
            for (h, v) in header.iter().zip(rec.iter()) {
                if h == "species" {
                    continue;
                }
                let value = if v.is_empty() {
                    Value::Null
                } else if let Ok(x) = v.parse::<f64>() {
                    serde_json::json!(x)
                } else {
                    Value::from(v)
                };
                m.insert(h.clone(), value);
            }
            Value::Object(m)
        })
        .collect()
}

/// What `smelt predict` gives for the penguins table: (label, probabilities) per row.
pub fn reference(dir: &Path) -> Vec<(String, Vec<f64>)> {
    let model = Model::load(dir).expect("loads");
    let frame = model
        .predict_file(&data_path("penguins.csv"), &Default::default())
        .expect("predicts");
    let labels = frame.column("prediction").expect("prediction column");
    let labels = labels.str().expect("strings");
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .filter(|n| n.starts_with("proba_"))
        .map(|n| n.to_string())
        .collect();
    (0..frame.height())
        .map(|i| {
            let probs = names
                .iter()
                .map(|n| {
                    frame
                        .column(n)
                        .expect("column")
                        .f64()
                        .expect("f64")
                        .get(i)
                        .expect("value")
                })
                .collect();
            (labels.get(i).expect("label").to_string(), probs)
        })
        .collect()
}

/// A running server and a client for it.
pub struct Server {
    pub base: String,
    pub client: reqwest::Client,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    pub handle: Option<tokio::task::JoinHandle<smelt_serve::Result<()>>>,
}

impl Server {
    pub async fn start(mut config: Config) -> Server {
        config.server.port = 0;
        config.server.reload_interval_s = config.server.reload_interval_s.min(1);
        let listener = smelt_serve::bind(&config).await.expect("binds");
        let addr = listener.local_addr().expect("address");
        let app = smelt_serve::build(config).await.expect("builds");
        let (stop, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(smelt_serve::serve(app, listener, async move {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            client: reqwest::Client::new(),
            stop: Some(stop),
            handle: Some(handle),
        }
    }

    pub async fn with_models(models: &[(&str, &Path)]) -> Server {
        let mut config = Config::default();
        for (name, dir) in models {
            config
                .models
                .push(ModelConfig::from_arg(&format!("{name}={}", dir.display())));
        }
        Server::start(config).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        let r = self
            .client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("sends");
        let status = r.status().as_u16();
        let text = r.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str) -> (u16, String) {
        let r = self.client.get(self.url(path)).send().await.expect("sends");
        (r.status().as_u16(), r.text().await.expect("body"))
    }

    /// Tells the server to shut down (as SIGTERM does) without waiting for it.
    pub fn begin_stop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }

    /// Stops taking requests, finishes those in flight, and returns once the server is down.
    pub async fn stop(mut self) {
        self.begin_stop();
        if let Some(h) = self.handle.take() {
            h.await.expect("joins").expect("serves cleanly");
        }
    }
}
