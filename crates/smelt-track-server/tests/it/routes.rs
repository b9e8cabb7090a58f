use axum::http::StatusCode;
use serde_json::json;

use crate::{app, call};

#[tokio::test]
async fn experiments_runs_and_errors_in_mlflow_shapes() {
    let (app, _dir) = app(None).await;
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(json!({"name": "e"})),
        None,
    )
    .await;
    assert_eq!((s, &v), (StatusCode::OK, &json!({"experiment_id": "1"})));
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(json!({"name": "e"})),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["error_code"], "RESOURCE_ALREADY_EXISTS");
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(json!({})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    // The same route under the UI's prefix, and the Default experiment from the start.
    let (s, v) = call(
        &app,
        "GET",
        "/ajax-api/2.0/mlflow/experiments/get?experiment_id=0",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["experiment"]["name"].as_str()),
        (StatusCode::OK, Some("Default"))
    );

    let (_, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/create",
        Some(json!({"experiment_id": "1", "start_time": 5})),
        None,
    )
    .await;
    let run = v["run"]["info"]["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    assert_eq!(
        v["run"]["info"]["artifact_uri"],
        format!("mlflow-artifacts:/1/{run}/artifacts")
    );
    assert!(
        v["run"]["info"]["start_time"].is_i64(),
        "int64 as a JSON number"
    );
    let batch = json!({"run_id": run, "metrics": [{"key": "m", "value": "NaN", "timestamp": 1, "step": 0},
                       {"key": "m", "value": 2.5, "timestamp": "2", "step": 1}],
                       "params": [{"key": "p", "value": "1"}], "tags": [{"key": "t", "value": "a"}, {"key": "t", "value": "b"}]});
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/log-batch",
        Some(batch),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = call(
        &app,
        "GET",
        &format!("/api/2.0/mlflow/runs/get?run_id={run}"),
        None,
        None,
    )
    .await;
    assert_eq!(v["run"]["data"]["metrics"][0]["value"], 2.5);
    assert!(
        v["run"]["data"]["tags"]
            .as_array()
            .expect("tags")
            .iter()
            .any(|t| t["key"] == "t" && t["value"] == "b")
    );
    let (_, v) = call(
        &app,
        "GET",
        &format!("/api/2.0/mlflow/metrics/get-history?run_id={run}&metric_key=m"),
        None,
        None,
    )
    .await;
    assert_eq!(v["metrics"][0]["value"], "NaN");
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/log-parameter",
        Some(json!({"run_id": run, "key": "p", "value": "2"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let (s, v) = call(
        &app,
        "GET",
        "/api/2.0/mlflow/runs/get?run_id=0123abcd",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("RESOURCE_DOES_NOT_EXIST"))
    );
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/search",
        Some(json!({"experiment_ids": ["1"], "filter": "metrics.m > 2 OR params.p = 'x'"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["runs"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/search",
        Some(json!({"experiment_ids": ["1"], "filter": "metrics.m >> 2"})),
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );
    let (s, v) = call(&app, "GET", "/api/2.0/mlflow/no-such-route", None, None).await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::NOT_FOUND, Some("ENDPOINT_NOT_FOUND"))
    );
}

#[tokio::test]
async fn artifact_proxy_round_trip_and_traversal() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let (app, dir) = app(None).await;
    let put = Request::put("/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/a%20b.txt")
        .body(Body::from("hello"))
        .expect("req");
    assert_eq!(
        app.clone().oneshot(put).await.expect("ok").status(),
        StatusCode::OK
    );
    assert_eq!(
        std::fs::read(dir.path().join("art/0/r1/artifacts/a b.txt")).expect("on disk"),
        b"hello"
    );
    let get = Request::get("/api/2.0/mlflow-artifacts/artifacts/0/r1/artifacts/a%20b.txt")
        .body(Body::empty())
        .expect("req");
    let resp = app.clone().oneshot(get).await.expect("ok");
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        &resp.into_body().collect().await.expect("body").to_bytes()[..],
        b"hello"
    );
    let (_, v) = call(
        &app,
        "GET",
        "/api/2.0/mlflow-artifacts/artifacts?path=0/r1/artifacts",
        None,
        None,
    )
    .await;
    assert_eq!(v["files"][0]["path"], "a b.txt");
    assert_eq!(v["files"][0]["file_size"], 5);
    for evil in [
        "0/..%2F..%2Fescape",
        "%2e%2e/escape",
        "0/%252e%252e/escape",
        "0/..\\escape",
    ] {
        let put = Request::put(format!("/api/2.0/mlflow-artifacts/artifacts/{evil}"))
            .body(Body::from("x"))
            .expect("req");
        let status = app.clone().oneshot(put).await.expect("ok").status();
        assert!(status.is_client_error(), "{evil}: {status}");
    }
    assert!(!dir.path().join("escape").exists());
}

#[tokio::test]
async fn native_lineage_dataset_runs_gc_and_openapi() {
    let (app, dir) = app(None).await;
    let (_, v) = call(&app, "POST", "/api/2.0/mlflow/runs/create", Some(json!({"experiment_id": "0", "tags": [
        {"key": "mlflow.source.git.commit", "value": "abc123"}, {"key": "smelt.env.os", "value": "linux"}]})), None).await;
    let run = v["run"]["info"]["run_id"].as_str().expect("id").to_string();
    let inputs = json!({"run_id": run, "datasets": [{"tags": [{"key": "mlflow.data.context", "value": "train"}],
        "dataset": {"name": "adult", "digest": "fp-1", "source_type": "local", "source": "{\"uri\": \"adult.csv\"}",
                    "schema": "{}", "profile": "{\"num_rows\": 48842}"}}]});
    assert_eq!(
        call(
            &app,
            "POST",
            "/api/2.0/mlflow/runs/log-inputs",
            Some(inputs),
            None
        )
        .await
        .0,
        StatusCode::OK
    );
    call(
        &app,
        "POST",
        "/api/2.0/mlflow/registered-models/create",
        Some(json!({"name": "adult-gbdt"})),
        None,
    )
    .await;
    let mv = json!({"name": "adult-gbdt", "source": format!("runs:/{run}/model"), "run_id": run});
    call(
        &app,
        "POST",
        "/api/2.0/mlflow/model-versions/create",
        Some(mv),
        None,
    )
    .await;
    call(
        &app,
        "POST",
        "/api/2.0/mlflow/registered-models/alias",
        Some(json!({"name": "adult-gbdt", "alias": "champion", "version": "1"})),
        None,
    )
    .await;

    let (s, v) = call(
        &app,
        "GET",
        "/api/smelt/v1/lineage?name=adult-gbdt&alias=champion",
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["code"]["git_commit"], "abc123");
    assert_eq!(v["environment"]["os"], "linux");
    assert_eq!(v["datasets"][0]["fingerprint"], "fp-1");
    assert_eq!(v["datasets"][0]["num_rows"], 48842);
    assert_eq!(v["datasets"][0]["context"], "train");
    assert_eq!(v["run"]["info"]["run_id"], run.as_str());
    let (_, v) = call(
        &app,
        "GET",
        "/api/smelt/v1/datasets/runs?fingerprint=fp-1",
        None,
        None,
    )
    .await;
    assert_eq!(v["runs"][0]["run"]["run_id"], run.as_str());
    let (s, v) = call(
        &app,
        "GET",
        "/api/smelt/v1/lineage?name=adult-gbdt",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("INVALID_PARAMETER_VALUE"))
    );

    // gc frees a deleted run's rows and files.
    let put = axum::http::Request::put(format!(
        "/api/2.0/mlflow-artifacts/artifacts/0/{run}/artifacts/w.bin"
    ))
    .body(axum::body::Body::from(vec![7u8; 1000]))
    .expect("req");
    use tower::ServiceExt;
    assert_eq!(
        app.clone().oneshot(put).await.expect("ok").status(),
        StatusCode::OK
    );
    call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/delete",
        Some(json!({"run_id": run})),
        None,
    )
    .await;
    let (s, v) = call(&app, "POST", "/api/smelt/v1/gc", Some(json!({})), None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["purged_run_ids"][0], run.as_str());
    assert_eq!(v["artifact_bytes_freed"], 1000);
    // No crash happened, so no partial uploads were there to remove.
    assert_eq!(v["stale_staging_files_removed"], 0);
    assert!(
        !dir.path()
            .join(format!("art/0/{run}"))
            .join("artifacts/w.bin")
            .exists()
    );
    let (s, _) = call(
        &app,
        "GET",
        &format!("/api/2.0/mlflow/runs/get?run_id={run}"),
        None,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    let (s, v) = call(&app, "GET", "/api/smelt/v1/openapi.json", None, None).await;
    assert_eq!((s, v["openapi"].as_str()), (StatusCode::OK, Some("3.0.3")));
    // The web UI's answers are described too.
    for path in [
        "experiments",
        "keys",
        "metric-ranges",
        "groups",
        "table-preview",
    ] {
        assert!(
            v["paths"][format!("/api/smelt/v1/ui/{path}")]["get"].is_object(),
            "{path}"
        );
    }
    assert!(v["paths"]["/api/smelt/v1/lineage"].is_object());
}

#[tokio::test]
async fn multipart_upload_is_declined_in_the_words_mlflow_falls_back_on() {
    let (app, _dir) = app(None).await;
    let body = json!({"path": "0/r/artifacts/big.bin", "num_parts": 3});
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow-artifacts/mpu/create/0/r/artifacts/big.bin",
        Some(body),
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_IMPLEMENTED);
    // mlflow/store/artifact/http_artifact_repo.py matches this prefix to fall back to one PUT.
    assert!(v["message"].as_str().is_some_and(|m| {
        m.starts_with("Multipart upload is not supported for the current artifact repository")
    }));
}
