use std::time::Duration;

use serde_json::{Value, json};

use crate::common::{Server, penguin_records, penguins};
use smelt_serve::config::{ApiKey, Config, ModelConfig};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_precise_4xx_and_good_ones_still_work() {
    let s = Server::with_models(&[("penguins", &penguins())]).await;
    let good = penguin_records()[0].clone();
    let mut no_island = good.clone();
    no_island.as_object_mut().unwrap().remove("island");
    let mut typo = no_island.clone();
    typo["Island"] = json!("Biscoe");
    let mut unseen = good.clone();
    unseen["island"] = json!("Atlantis");
    let mut wrong = good.clone();
    wrong["bill_length_mm"] = json!("long");
    let cases: Vec<(&str, Value, u16, &str)> = vec![
        (
            "/predict/penguins",
            no_island,
            400,
            "missing feature \"island\"",
        ),
        (
            "/predict/penguins",
            typo,
            400,
            "did you mean to send \"Island\" as \"island\"",
        ),
        (
            "/predict/penguins",
            unseen,
            400,
            "unseen category \"Atlantis\"",
        ),
        (
            "/predict/penguins",
            wrong,
            400,
            "feature \"bill_length_mm\": expected a number, got \"long\"",
        ),
        (
            "/predict/penguins",
            json!(3),
            400,
            "expected an object of feature values",
        ),
        (
            "/predict/penguins",
            json!([]),
            400,
            "the request has no rows",
        ),
        (
            "/predict/pengiuns",
            good.clone(),
            404,
            "did you mean \"penguins\"",
        ),
        (
            "/invocations",
            json!({"records": []}),
            400,
            "none of dataframe_split",
        ),
        (
            "/invocations",
            json!({"dataframe_split": {"columns": ["x"], "data": [[1]]}}),
            400,
            "missing feature",
        ),
        (
            "/v2/models/penguins/infer",
            json!({"inputs": [{"name": "island", "shape": [2], "datatype": "BYTES", "data": ["Biscoe"]}]}),
            400,
            "shape [2] holds 2 elements",
        ),
        (
            "/v2/models/penguins/infer",
            json!({"inputs": []}),
            400,
            "no inputs",
        ),
        (
            "/v2/models/penguins/infer",
            json!({"input": []}),
            400,
            "not valid",
        ),
        (
            "/v2/models/penguins/versions/9/infer",
            json!({"inputs": []}),
            404,
            "no version \"9\"",
        ),
    ];
    for (path, body, code, msg) in cases {
        let (got, v) = s.post_json(path, &body).await;
        assert_eq!(got, code, "{path} {body}: {v}");
        let text = v.to_string();
        assert!(
            text.contains(&msg.replace('"', "\\\"")),
            "{path}: {text} lacks {msg}"
        );
        // MLflow's error shape on /invocations.
        if path == "/invocations" {
            assert_eq!(v["error_code"], "BAD_REQUEST");
        }
    }
    // Not JSON, the wrong content type, a body over the limit.
    let r = s
        .client
        .post(s.url("/predict/penguins"))
        .body("{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = s
        .client
        .post(s.url("/invocations"))
        .header("content-type", "application/xml")
        .body("<a/>")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let (code, _) = s.get("/no/such/route").await;
    assert_eq!(code, 404);
    // Still serving.
    let (code, v) = s.post_json("/predict/penguins", &good).await;
    assert_eq!(code, 200, "{v}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_and_rate_limits() {
    let mut config = Config::default();
    config.models.push(ModelConfig::from_arg(&format!(
        "p={}",
        penguins().display()
    )));
    let key = "k".repeat(24);
    config.api_keys.push(ApiKey {
        name: "t".into(),
        key: key.clone(),
        rate_per_second: Some(1.0),
        burst: Some(2.0),
    });
    let s = Server::start(config).await;
    let good = penguin_records()[0].clone();
    let r = s
        .client
        .post(s.url("/predict/p"))
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = s
        .client
        .post(s.url("/predict/p"))
        .bearer_auth("wrong")
        .json(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Probes and metrics answer without a key.
    assert_eq!(s.get("/v2/health/ready").await.0, 200);
    assert_eq!(s.get("/metrics").await.0, 200);
    assert_eq!(s.get("/v2/models/p").await.0, 401);
    let mut codes = Vec::new();
    for _ in 0..3 {
        let r = s
            .client
            .post(s.url("/predict/p"))
            .header("x-api-key", &key)
            .json(&good)
            .send()
            .await
            .unwrap();
        if r.status() == 429 {
            assert!(r.headers().contains_key("retry-after"));
        }
        codes.push(r.status().as_u16());
    }
    assert_eq!(codes, [200, 200, 429]);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_open_beyond_loopback() {
    let mut config = Config::default();
    config.server.host = "0.0.0.0".parse().unwrap();
    config
        .models
        .push(ModelConfig::from_arg(&penguins().display().to_string()));
    let e = smelt_serve::build(config).await.unwrap_err().to_string();
    assert!(e.contains("without authentication"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_get_413() {
    let mut config = Config::default();
    config.models.push(ModelConfig::from_arg(&format!(
        "p={}",
        penguins().display()
    )));
    // Small limit, small excess: the whole body fits the socket buffers, so the client is done
    // writing before the server answers (a large body can meet a reset instead of the 413).
    config.server.max_body_bytes = 4096;
    let s = Server::start(config).await;
    let r = s
        .client
        .post(s.url("/predict/p"))
        .body(vec![b' '; 16 << 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    assert!(
        r.headers().contains_key("x-request-id"),
        "the refusal carries the request id"
    );
    let v: Value = r.json().await.unwrap();
    assert!(
        v["error"].as_str().unwrap().contains("max_body_bytes"),
        "{v}"
    );
    let (code, _) = s.post_json("/predict/p", &penguin_records()[0]).await;
    assert_eq!(code, 200);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_requests_time_out_with_503() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut config = Config::default();
    config.models.push(ModelConfig::from_arg(&format!(
        "p={}",
        penguins().display()
    )));
    config.server.request_timeout_ms = 300;
    let s = Server::start(config).await;
    // A client that announces a body and stops sending it halfway (a stalled upload).
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    conn.write_all(
        b"POST /predict/p HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"island\": ",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut buf = [0u8; 4096];
        // Up to the end of the JSON error body (the connection may stay open).
        while !answer.ends_with(b"}") {
            match conn.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 10 s");
    let waited = started.elapsed();
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
    assert!(
        text.to_ascii_lowercase().contains("retry-after: 1"),
        "{text}"
    );
    assert!(text.contains("took longer than 300 ms"), "{text}");
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    // The server goes on answering.
    let (code, _) = s.post_json("/predict/p", &penguin_records()[0]).await;
    assert_eq!(code, 200);
    s.stop().await;
}
