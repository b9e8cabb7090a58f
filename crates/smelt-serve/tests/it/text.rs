//! A text model served: the free-text feature arrives as a JSON string, a `dataframe_split`
//! cell, a CSV field or a `BYTES` tensor element, and every protocol answers what `smelt
//! predict` gives for the same texts.

use serde_json::{Value, json};
use smelt_workflow::{Model, Params};

use crate::common::{Server, data_path};

/// A small transformer trained on the SMS table (one epoch: the test is about serving).
fn sms_model() -> (tempfile::TempDir, std::path::PathBuf) {
    let data = smelt_data::load(
        &data_path("sms_spam.csv"),
        &smelt_data::LoadOptions::default().with_target("label"),
    )
    .expect("bundled data loads");
    let params = Params::parse(&[
        "epochs=1",
        "hidden_size=16",
        "num_heads=2",
        "num_layers=1",
        "intermediate_size=32",
        "vocab_size=1000",
        "max_length=32",
        "batch_size=64",
    ])
    .expect("params");
    let trained = Model::train(&data, "transformer_classifier", params).expect("trains");
    let root = tempfile::tempdir().expect("temp dir");
    let dir = root.path().join("sms");
    trained.model.save(&dir).expect("saves");
    (root, dir)
}

/// The first `n` messages and what `smelt predict` gives for them: (label, P(spam)).
fn reference(dir: &std::path::Path, n: usize) -> (Vec<String>, Vec<(String, f64)>) {
    let mut r = csv::Reader::from_path(data_path("sms_spam.csv")).expect("csv");
    let texts: Vec<String> = r
        .records()
        .take(n)
        .map(|rec| rec.expect("record")[1].to_string())
        .collect();
    let frame = Model::load(dir)
        .expect("loads")
        .predict_file(&data_path("sms_spam.csv"), &Default::default())
        .expect("predicts");
    let labels = frame.column("prediction").expect("prediction");
    let labels = labels.str().expect("strings");
    let spam = frame.column("proba_spam").expect("proba_spam");
    let spam = spam.f64().expect("f64");
    let want = (0..n)
        .map(|i| {
            (
                labels.get(i).expect("label").to_string(),
                spam.get(i).expect("p"),
            )
        })
        .collect();
    (texts, want)
}

fn close(a: f64, b: f64) -> bool {
    // Batches pad to their longest text; the masked padding changes nothing but the order
    // of float additions.
    (a - b).abs() <= 1e-5
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_model_is_served_by_every_protocol() {
    let (_root, dir) = sms_model();
    let (texts, want) = reference(&dir, 24);
    let logs = tempfile::tempdir().unwrap();
    let mut config = smelt_serve::config::Config::default();
    config
        .models
        .push(smelt_serve::config::ModelConfig::from_arg(&format!(
            "sms={}",
            dir.display()
        )));
    config.log = Some(smelt_serve::predlog::LogConfig::new(logs.path()));
    let s = Server::start(config).await;

    // The signature: one BYTES input of type text.
    let meta: Value = serde_json::from_str(&s.get("/v2/models/sms").await.1).unwrap();
    assert_eq!(meta["inputs"][0]["name"], "text", "{meta}");
    assert_eq!(meta["inputs"][0]["datatype"], "BYTES", "{meta}");
    assert_eq!(
        meta["parameters"]["signature"]["inputs"][0]["type"], "text",
        "{meta}"
    );

    // /predict, one object per request, concurrently (the batcher mixes lengths).
    let mut tasks = Vec::new();
    for (i, t) in texts.iter().enumerate() {
        let client = s.client.clone();
        let url = s.url("/predict/sms");
        let body = json!({ "text": t });
        tasks.push(tokio::spawn(async move {
            let v: Value = client
                .post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            (i, v)
        }));
    }
    for t in tasks {
        let (i, v) = t.await.unwrap();
        assert_eq!(v["prediction"], want[i].0, "row {i}: {v}");
        let p = v["probabilities"]["spam"].as_f64().unwrap();
        assert!(close(p, want[i].1), "row {i}: {p} vs {}", want[i].1);
    }
    let labels: Vec<&str> = want.iter().map(|w| w.0.as_str()).collect();

    // MLflow: dataframe_split and a CSV body.
    let data: Vec<Value> = texts.iter().map(|t| json!([t])).collect();
    let (code, v) = s
        .post_json(
            "/invocations",
            &json!({"dataframe_split": {"columns": ["text"], "data": data}}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["predictions"], json!(labels));
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["text"]).unwrap();
    for t in &texts {
        csv.write_record([t]).unwrap();
    }
    let r = s
        .client
        .post(s.url("/invocations"))
        .header("content-type", "text/csv")
        .body(csv.into_inner().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["predictions"], json!(labels));

    // Open Inference Protocol: a BYTES tensor.
    let (code, v) = s
        .post_json(
            "/v2/models/sms/infer",
            &json!({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [texts.len()], "data": texts}]}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["outputs"][0]["data"], json!(labels));

    // A number where the text goes: 400 naming the feature; the server keeps serving.
    let (code, v) = s.post_json("/predict/sms", &json!({"text": 5})).await;
    assert_eq!(code, 400, "{v}");
    assert!(v.to_string().contains("a text"), "{v}");
    let (code, _) = s.post_json("/predict/sms", &json!({"text": "ok"})).await;
    assert_eq!(code, 200);
    s.stop().await;
    // The prediction log keeps the texts as strings.
    use smelt_data::polars::prelude::*;
    let glob = format!("{}/model=sms/version=1/**/*.parquet", logs.path().display());
    let df = LazyFrame::scan_parquet(PlRefPath::new(&glob), ScanArgsParquet::default())
        .unwrap()
        .collect()
        .unwrap();
    let logged: Vec<Option<&str>> = df.column("text").unwrap().str().unwrap().iter().collect();
    assert!(logged.contains(&Some(texts[0].as_str())), "{df}");
    assert!(logged.contains(&Some("ok")), "{df}");
}
