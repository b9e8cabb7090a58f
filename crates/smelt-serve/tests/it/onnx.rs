//! ONNX models behind `smelt serve`: a scikit-learn pipeline exported by skl2onnx (string
//! inputs, ONNX-ML operators: the interpreter) and an MLP of standard operators (tract), answered
//! like onnxruntime answered the same rows (the fixtures of `smelt-onnx`).

use std::path::PathBuf;

use serde_json::{Value, json};

use crate::common::Server;

fn fixture(name: &str) -> (PathBuf, Value) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../smelt-onnx/tests/fixtures");
    let json = std::fs::read_to_string(dir.join(format!("{name}.json"))).expect("fixture");
    (
        dir.join(format!("{name}.onnx")),
        serde_json::from_str(&json).expect("json"),
    )
}

/// The fixture's rows as named-feature records, leaving out rows with an unknown category (the
/// server refuses those unless told to score them as missing) — with their row numbers.
fn records(case: &Value, known: &[(&str, &[&str])]) -> Vec<(usize, Value)> {
    let inputs = case["inputs"].as_array().expect("inputs");
    let n = inputs[0]["shape"][0].as_u64().expect("rows") as usize;
    (0..n)
        .filter_map(|i| {
            let mut r = serde_json::Map::new();
            for inp in inputs {
                let name = inp["name"].as_str().expect("name");
                let v = inp["data"][i].clone();
                if let Some((_, cats)) = known.iter().find(|(k, _)| *k == name) {
                    let s = v.as_str().expect("string");
                    if s.is_empty() {
                        r.insert(name.into(), Value::Null);
                        continue;
                    }
                    if !cats.contains(&s) {
                        return None;
                    }
                }
                r.insert(name.into(), v);
            }
            Some((i, Value::Object(r)))
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + b.abs())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_skl2onnx_pipeline_answers_like_onnxruntime() {
    let (path, case) = fixture("penguins_pipeline");
    let s = Server::with_models(&[("penguins", &path)]).await;
    let rows = records(
        &case,
        &[
            ("island", &["Biscoe", "Dream", "Torgersen"]),
            ("sex", &["female", "male"]),
        ],
    );
    assert!(rows.len() > 80, "{}", rows.len());
    let labels = &case["outputs"][0]["data"];
    let proba = &case["outputs"][1];
    let keys: Vec<&str> = proba["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .map(|k| k.as_str().expect("key"))
        .collect();
    let body = Value::Array(rows.iter().map(|(_, r)| r.clone()).collect());
    let (code, v) = s.post_json("/predict/penguins", &body).await;
    assert_eq!(code, 200, "{v}");
    let preds = v["predictions"].as_array().expect("predictions");
    for ((i, _), p) in rows.iter().zip(preds) {
        assert_eq!(p["prediction"], labels[*i], "row {i}");
        for (k, class) in keys.iter().enumerate() {
            let want = proba["data"][i * keys.len() + k].as_f64().expect("p");
            let got = p["probabilities"][class].as_f64().expect("p");
            assert!(
                close(got, want),
                "row {i} {class}: {got} vs onnxruntime {want}"
            );
        }
    }

    // The signature comes from the graph: features by input name, categories from its encoders.
    let (_, meta) = s.get("/v2/models/penguins").await;
    let meta: Value = serde_json::from_str(&meta).expect("json");
    let sig = &meta["parameters"]["signature"];
    assert_eq!(sig["classes"], json!(["Adelie", "Chinstrap", "Gentoo"]));
    let island = sig["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["name"] == "island")
        .expect("island");
    assert_eq!(
        island["categories"],
        json!(["Biscoe", "Dream", "Torgersen"])
    );

    // An unknown category is refused with the known ones.
    let mut bad = rows[0].1.clone();
    bad["island"] = json!("Atlantis");
    let (code, v) = s.post_json("/predict/penguins", &bad).await;
    assert_eq!(code, 400, "{v}");
    assert!(v.to_string().contains("Biscoe"), "{v}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standard_op_network_runs_on_tract_behind_the_open_inference_protocol() {
    let (path, case) = fixture("mlp_probabilities_only");
    let s = Server::with_models(&[("mlp", &path)]).await;
    let input = &case["inputs"][0];
    let n = input["shape"][0].as_u64().expect("rows") as usize;
    let (code, v) = s
        .post_json(
            "/v2/models/mlp/infer",
            &json!({"inputs": [{"name": "input", "datatype": "FP32", "shape": [n, 4], "data": input["data"]}],
                    "outputs": [{"name": "predict_proba"}]}),
        )
        .await;
    assert_eq!(code, 200, "{v}");
    let got = v["outputs"][0]["data"].as_array().expect("data");
    let want = case["outputs"][0]["data"].as_array().expect("data");
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            close(g.as_f64().expect("g"), w.as_f64().expect("w")),
            "{g} vs {w}"
        );
    }
    let (_, meta) = s.get("/v2/models/mlp").await;
    let meta: Value = serde_json::from_str(&meta).expect("json");
    assert_eq!(meta["parameters"]["imported"]["engine"], "tract", "{meta}");
    assert_eq!(
        meta["parameters"]["signature"]["classes"],
        json!(["0", "1", "2"])
    );
    s.stop().await;
}
