//! An embedding model served: all-MiniLM-L6-v2 straight from its sentence-transformers
//! directory. Every protocol answers the vectors `SentenceEncoder::embed` gives for the same
//! texts; the signature says `embedding`; bad texts get a 4xx and the server keeps serving.

use serde_json::{Value, json};
use smelt_deep::encoder::{EmbedOptions, SentenceEncoder};

use crate::common::Server;

const TEXTS: [&str; 4] = [
    "A man is eating food.",
    "A man rides a horse.",
    "The new movie is awesome",
    "Where is the train station?",
];

/// Row `i` of a JSON list of lists, as f32.
fn vector(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("a list")
        .iter()
        .map(|x| x.as_f64().expect("a number") as f32)
        .collect()
}

fn assert_same(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (k, (a, b)) in got.iter().zip(want).enumerate() {
        // JSON carries each f32's shortest decimal, which reads back as the same f32.
        assert_eq!(a, b, "{what}: component {k}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentence_transformers_directory_is_served_by_every_protocol() {
    let Some(dir) = smelt_testkit::minilm_dir() else {
        return;
    };
    let want = SentenceEncoder::load(&dir)
        .expect("loads")
        .embed(&TEXTS, &EmbedOptions::default())
        .expect("embeds");
    let logs = tempfile::tempdir().unwrap();
    let mut config = smelt_serve::config::Config::default();
    config
        .models
        .push(smelt_serve::config::ModelConfig::from_arg(&format!(
            "minilm={}",
            dir.display()
        )));
    config.log = Some(smelt_serve::predlog::LogConfig::new(logs.path()));
    let s = Server::start(config).await;

    // The signature: one BYTES input `text`, one FP32 [-1, 384] output.
    let meta: Value = serde_json::from_str(&s.get("/v2/models/minilm").await.1).unwrap();
    assert_eq!(meta["inputs"][0]["name"], "text", "{meta}");
    assert_eq!(meta["inputs"][0]["datatype"], "BYTES", "{meta}");
    assert_eq!(meta["outputs"][0]["name"], "embedding", "{meta}");
    assert_eq!(meta["outputs"][0]["datatype"], "FP32", "{meta}");
    assert_eq!(meta["outputs"][0]["shape"], json!([-1, 384]), "{meta}");
    assert_eq!(
        meta["parameters"]["signature"]["task"], "embedding",
        "{meta}"
    );

    // /predict: one object → one vector; a list → a list.
    let (code, v) = s
        .post_json("/predict/minilm", &json!({"text": TEXTS[0]}))
        .await;
    assert_eq!(code, 200, "{v}");
    assert_same(&vector(&v["embedding"]), want.row(0), "/predict one");
    let records: Vec<Value> = TEXTS.iter().map(|t| json!({ "text": t })).collect();
    let (code, v) = s.post_json("/predict/minilm", &json!(records)).await;
    assert_eq!(code, 200, "{v}");
    for (i, row) in v["predictions"].as_array().unwrap().iter().enumerate() {
        assert_same(&vector(&row["embedding"]), want.row(i), "/predict list");
    }

    // MLflow scoring: a list of vectors, as MLflow's sentence-transformers flavour answers.
    let (code, v) = s
        .post_json("/invocations", &json!({"inputs": {"text": TEXTS}}))
        .await;
    assert_eq!(code, 200, "{v}");
    for (i, row) in v["predictions"].as_array().unwrap().iter().enumerate() {
        assert_same(&vector(row), want.row(i), "MLflow");
    }

    // Open Inference Protocol: a BYTES tensor in, FP32 [n, 384] out (JSON, then binary).
    let request = json!({"inputs": [{"name": "text", "datatype": "BYTES", "shape": [TEXTS.len()], "data": TEXTS}]});
    let (code, v) = s.post_json("/v2/models/minilm/infer", &request).await;
    assert_eq!(code, 200, "{v}");
    let out = &v["outputs"][0];
    assert_eq!(out["name"], "embedding");
    assert_eq!(out["datatype"], "FP32");
    assert_eq!(out["shape"], json!([TEXTS.len(), 384]));
    assert_same(&vector(&out["data"]), want.as_slice(), "OIP JSON");
    let mut binary = request.clone();
    binary["outputs"] = json!([{"name": "embedding", "parameters": {"binary_data": true}}]);
    let r = s
        .client
        .post(s.url("/v2/models/minilm/infer"))
        .json(&binary)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let header: usize = r
        .headers()
        .get("inference-header-content-length")
        .expect("binary answer")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let bytes = r.bytes().await.unwrap();
    let floats: Vec<f32> = bytes[header..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_same(&floats, want.as_slice(), "OIP binary");

    // OpenAI's embeddings API: floats, then base64 (what OpenAI's client asks for).
    let (code, v) = s
        .post_json(
            "/v1/embeddings",
            &json!({"model": "minilm", "input": TEXTS}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    assert_eq!(v["object"], "list");
    assert_eq!(v["model"], "minilm");
    let tokens = v["usage"]["prompt_tokens"].as_u64().unwrap();
    assert!(tokens > TEXTS.len() as u64 * 2, "{v}");
    assert_eq!(v["usage"]["total_tokens"], tokens);
    for (i, d) in v["data"].as_array().unwrap().iter().enumerate() {
        assert_eq!(d["object"], "embedding");
        assert_eq!(d["index"], i);
        assert_same(&vector(&d["embedding"]), want.row(i), "/v1/embeddings");
    }
    let (code, v) = s
        .post_json(
            "/v1/embeddings",
            &json!({"model": "minilm", "input": TEXTS[2], "encoding_format": "base64", "dimensions": 384}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(v["data"][0]["embedding"].as_str().unwrap())
        .unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_same(&floats, want.row(2), "/v1/embeddings base64");
    for (body, words) in [
        (
            json!({"model": "minilm", "input": [[101, 102]]}),
            "token ids",
        ),
        (json!({"model": "minilm", "input": []}), "empty list"),
        (
            json!({"model": "minilm", "input": "x", "dimensions": 64}),
            "384 values",
        ),
        (json!({"model": "minilm"}), "`input` is required"),
        (
            json!({"model": "minilm", "input": "x", "encoding_format": "int8"}),
            "base64",
        ),
    ] {
        let (code, v) = s.post_json("/v1/embeddings", &body).await;
        assert_eq!(code, 400, "{body}: {v}");
        assert_eq!(v["error"]["type"], "invalid_request_error", "{v}");
        let msg = v["error"]["message"].as_str().unwrap();
        assert!(msg.contains(words), "{body}: {msg}");
    }
    let (code, v) = s
        .post_json("/v1/embeddings", &json!({"model": "nope", "input": "x"}))
        .await;
    assert_eq!(code, 404, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("minilm"),
        "{v}"
    );

    // An empty text: 422 naming the row; a number: 400 naming the feature; still serving.
    let (code, v) = s
        .post_json(
            "/predict/minilm",
            &json!([{"text": "fine"}, {"text": "  "}]),
        )
        .await;
    assert_eq!(code, 422, "{v}");
    assert!(v.to_string().contains("row 1"), "{v}");
    let (code, v) = s.post_json("/predict/minilm", &json!({"text": 5})).await;
    assert_eq!(code, 400, "{v}");
    let (code, v) = s
        .post_json("/predict/minilm", &json!({"text": TEXTS[1]}))
        .await;
    assert_eq!(code, 200, "{v}");
    assert_same(&vector(&v["embedding"]), want.row(1), "after errors");
    s.stop().await;

    // The prediction log keeps each text and its vector (a list of f32 per row).
    use smelt_data::polars::prelude::*;
    let glob = format!(
        "{}/model=minilm/version=1/**/*.parquet",
        logs.path().display()
    );
    let df = LazyFrame::scan_parquet(PlRefPath::new(&glob), ScanArgsParquet::default())
        .unwrap()
        .collect()
        .unwrap();
    let pred = df.column("prediction").unwrap();
    assert_eq!(
        pred.dtype(),
        &DataType::List(Box::new(DataType::Float32)),
        "{df}"
    );
    let texts: Vec<Option<&str>> = df.column("text").unwrap().str().unwrap().iter().collect();
    let i = texts
        .iter()
        .position(|t| *t == Some(TEXTS[3]))
        .expect("logged");
    let row = pred.list().unwrap().get_as_series(i).unwrap();
    let row: Vec<f32> = row.f32().unwrap().into_no_null_iter().collect();
    assert_same(&row, want.row(3), "logged vector");
}
