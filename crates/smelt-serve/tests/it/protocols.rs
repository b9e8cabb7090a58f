use serde_json::{Value, json};

use crate::common::{Server, penguin_records, penguins, reference};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protocol_matches_smelt_predict() {
    let dir = penguins();
    let want = reference(&dir);
    let records = penguin_records();
    let s = Server::with_models(&[("penguins", &dir)]).await;

    // /predict, one object per request (all 344 rows, so the batcher mixes them).
    let mut tasks = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let client = s.client.clone();
        let url = s.url("/predict/penguins");
        let r = r.clone();
        tasks.push(tokio::spawn(async move {
            let v: Value = client
                .post(url)
                .json(&r)
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
        let p = &v["probabilities"];
        for (k, class) in ["Adelie", "Chinstrap", "Gentoo"].iter().enumerate() {
            assert!(close(p[class].as_f64().unwrap(), want[i].1[k]), "row {i}");
        }
    }

    // /predict with a list.
    let (code, v) = s
        .post_json("/predict/penguins", &Value::Array(records.clone()))
        .await;
    assert_eq!(code, 200);
    let got: Vec<&str> = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["prediction"].as_str().unwrap())
        .collect();
    let labels: Vec<&str> = want.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(got, labels);

    // MLflow: dataframe_records, dataframe_split, instances, inputs (columns), CSV.
    let (code, v) = s
        .post_json("/invocations", &json!({"dataframe_records": records}))
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["predictions"], json!(labels));
    let columns: Vec<String> = records[0].as_object().unwrap().keys().cloned().collect();
    let data: Vec<Value> = records
        .iter()
        .map(|r| Value::Array(columns.iter().map(|c| r[c].clone()).collect()))
        .collect();
    let (code, v) = s
        .post_json(
            "/invocations",
            &json!({"dataframe_split": {"columns": columns, "data": data}}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["predictions"], json!(labels));
    let (_, v) = s
        .post_json("/invocations", &json!({"instances": records}))
        .await;
    assert_eq!(v["predictions"], json!(labels));
    let cols: serde_json::Map<String, Value> = columns
        .iter()
        .map(|c| {
            (
                c.clone(),
                Value::Array(records.iter().map(|r| r[c].clone()).collect()),
            )
        })
        .collect();
    let (_, v) = s.post_json("/invocations", &json!({"inputs": cols})).await;
    assert_eq!(v["predictions"], json!(labels));
    let csv = std::fs::read(crate::common::data_path("penguins.csv")).unwrap();
    let r = s
        .client
        .post(s.url("/invocations"))
        .header("content-type", "text/csv")
        .body(csv)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["predictions"], json!(labels));

    // OIP v2: one tensor per feature, JSON.
    let meta: Value = serde_json::from_str(&s.get("/v2/models/penguins").await.1).unwrap();
    let inputs: Vec<Value> = meta["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let name = i["name"].as_str().unwrap();
            let dt = i["datatype"].as_str().unwrap();
            let data: Vec<Value> = records
                .iter()
                .map(|r| match (&r[name], dt) {
                    (Value::Number(n), "BYTES") => Value::from(n.to_string()),
                    (v, _) => v.clone(),
                })
                .collect();
            json!({"name": name, "datatype": dt, "shape": [records.len()], "data": data})
        })
        .collect();
    let (code, v) = s
        .post_json(
            "/v2/models/penguins/infer",
            &json!({"id": "q1", "inputs": inputs}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["id"], "q1");
    assert_eq!(v["model_version"], "1");
    assert_eq!(v["outputs"][0]["name"], "predict");
    assert_eq!(v["outputs"][0]["data"], json!(labels));
    assert_eq!(v["outputs"][1]["shape"], json!([records.len(), 3]));
    let proba = v["outputs"][1]["data"].as_array().unwrap();
    for (i, w) in want.iter().enumerate() {
        for k in 0..3 {
            assert!(close(proba[i * 3 + k].as_f64().unwrap(), w.1[k]));
        }
    }
    // Only predict_proba, in binary.
    let (code, v) = s
        .post_json(
            "/v2/models/penguins/versions/1/infer",
            &json!({
        "inputs": inputs, "outputs": [{"name": "predict", "parameters": {"binary_data": false}}]}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["outputs"].as_array().unwrap().len(), 1);

    // Metadata, health, metrics, OpenAPI.
    assert_eq!(meta["platform"], "smelt");
    let sig = &meta["parameters"]["signature"];
    assert_eq!(sig["classes"], json!(["Adelie", "Chinstrap", "Gentoo"]));
    assert!(
        sig["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "island"
                && i["categories"].as_array().is_some_and(|c| c.len() == 3))
    );
    assert_eq!(s.get("/v2/health/live").await.0, 200);
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
    assert_eq!(s.get("/v2/models/penguins/ready").await.0, 200);
    assert_eq!(s.get("/ping").await.0, 200);
    let (_, m) = s.get("/metrics").await;
    assert!(m.contains("smelt_requests_total{model=\"penguins\",version=\"1\",protocol=\"predict\",code=\"200\"}"), "{m}");
    assert!(m.contains("smelt_batch_rows_bucket"), "{m}");
    let (_, o) = s.get("/openapi.json").await;
    let o: Value = serde_json::from_str(&o).unwrap();
    assert!(o["paths"]["/predict/{name}"]["post"].is_object());
    assert!(o["paths"]["/v1/embeddings"]["post"].is_object());
    assert_eq!(
        o["paths"]["/predict/{name}"]["post"]["parameters"][0]["schema"]["enum"],
        json!(["penguins"])
    );
    s.stop().await;
}

/// Every metric family counts what was asked of it, and names the client made up share one
/// label (they cannot grow `/metrics` without bound).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_every_request() {
    fn value(metrics: &str, series: &str) -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{metrics}"))
            .parse()
            .unwrap()
    }
    let s = Server::with_models(&[("p", &penguins())]).await;
    let records = penguin_records();
    // Sequential, so each request is its own batch: 1 + 2 + 3 rows in three batches.
    for n in 1..=3 {
        let (code, _) = s.post_json("/predict/p", &json!(records[..n])).await;
        assert_eq!(code, 200);
    }
    let (code, _) = s
        .post_json("/predict/p", &json!({"island": "Biscoe"}))
        .await;
    assert_eq!(code, 400);
    for i in 0..5 {
        let (code, _) = s
            .post_json(&format!("/predict/made-up-{i}"), &json!({}))
            .await;
        assert_eq!(code, 404);
    }
    let (_, m) = s.get("/metrics").await;
    let v = r#"{model="p",version="1"}"#;
    assert_eq!(
        value(
            &m,
            r#"smelt_requests_total{model="p",version="1",protocol="predict",code="200"}"#
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            r#"smelt_requests_total{model="p",version="-",protocol="predict",code="400"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            r#"smelt_requests_total{model="(unknown)",version="-",protocol="predict",code="404"}"#
        ),
        5.0
    );
    assert!(!m.contains("made-up"), "{m}");
    assert_eq!(
        value(&m, &format!("smelt_request_duration_seconds_count{v}")),
        3.0
    );
    assert!(value(&m, &format!("smelt_request_duration_seconds_sum{v}")) > 0.0);
    assert_eq!(value(&m, &format!("smelt_batch_rows_count{v}")), 3.0);
    assert_eq!(value(&m, &format!("smelt_batch_rows_sum{v}")), 6.0);
    assert_eq!(value(&m, &format!("smelt_rows_total{v}")), 6.0);
    assert_eq!(value(&m, &format!("smelt_queue_depth{v}")), 0.0);
    assert!(value(&m, &format!("smelt_model_load_seconds{v}")) > 0.0);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prediction_log_holds_every_scored_row() {
    let dir = penguins();
    let logs = tempfile::tempdir().unwrap();
    let mut config = smelt_serve::config::Config::default();
    config
        .models
        .push(smelt_serve::config::ModelConfig::from_arg(&format!(
            "p={}",
            dir.display()
        )));
    config.log = Some(smelt_serve::predlog::LogConfig::new(logs.path()));
    let s = Server::start(config).await;
    let records = penguin_records();
    let r = s
        .client
        .post(s.url("/predict/p"))
        .header("x-request-id", "req-7")
        .json(&Value::Array(records[..5].to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "req-7");
    let r = s
        .client
        .post(s.url("/predict/p"))
        .json(&records[5])
        .send()
        .await
        .unwrap();
    let made = r.headers()["x-request-id"].to_str().unwrap().to_string();
    assert!(!made.is_empty());
    let (code, _) = s.post_json("/predict/p", &json!({"island": 1})).await;
    assert_eq!(code, 400);
    s.stop().await;
    // Stopping the server closed the log: the rows are on disk.
    use smelt_data::polars::prelude::*;
    let glob = format!("{}/model=p/version=1/**/*.parquet", logs.path().display());
    let df = LazyFrame::scan_parquet(PlRefPath::new(&glob), ScanArgsParquet::default())
        .unwrap()
        .collect()
        .unwrap();
    assert_eq!(df.height(), 6, "{df}");
    let ids: Vec<String> = df
        .column("request_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    assert_eq!(ids[..5], ["req-7"; 5]);
    assert_eq!(ids[5], made);
    let island = df.column("island").unwrap();
    assert_eq!(island.str().unwrap().get(0), records[0]["island"].as_str());
    assert!(df.column("proba_Adelie").is_ok() && df.column("prediction").is_ok());
}
