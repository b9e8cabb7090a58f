use axum::http::StatusCode;
use serde_json::json;

use crate::{app, call};

const CFG: &str = r#"
[[user]]
name = "admin"
password = "admin-password"
permission = "admin"

[[user]]
name = "ci"
token = "ci-token-0123456789"
permission = "write"
[user.experiments]
"1" = "read"

[[user]]
name = "viewer"
password = "viewer-password"
permission = "read"
"#;

fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn permissions_per_user_and_experiment() {
    let (app, _dir) = app(Some(CFG)).await;
    let admin = basic("admin", "admin-password");
    let viewer = basic("viewer", "viewer-password");
    let ci = "Bearer ci-token-0123456789";

    // No or bad credentials: 401 with MLflow's error JSON; health stays open for probes.
    let (s, v) = call(
        &app,
        "GET",
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        None,
        None,
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("UNAUTHENTICATED"))
    );
    let (s, _) = call(
        &app,
        "GET",
        "/api/2.0/mlflow/experiments/get?experiment_id=0",
        None,
        Some(&basic("admin", "nope")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, _) = call(&app, "GET", "/health", None, None).await;
    assert_eq!(s, StatusCode::OK);

    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(json!({"name": "one"})),
        Some(&admin),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/create",
        Some(json!({"name": "two"})),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::OK);

    // The viewer reads but does not write.
    let (s, _) = call(
        &app,
        "GET",
        "/api/2.0/mlflow/experiments/get?experiment_id=1",
        None,
        Some(&viewer),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/create",
        Some(json!({"experiment_id": "1"})),
        Some(&viewer),
    )
    .await;
    assert_eq!(
        (s, v["error_code"].as_str()),
        (StatusCode::FORBIDDEN, Some("PERMISSION_DENIED"))
    );

    // ci writes to experiment 2 but only reads experiment 1, also through a run id.
    let (s, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/create",
        Some(json!({"experiment_id": "2"})),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let run2 = v["run"]["info"]["run_id"].as_str().expect("id").to_string();
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/create",
        Some(json!({"experiment_id": "1"})),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, v) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/create",
        Some(json!({"experiment_id": "1"})),
        Some(&admin),
    )
    .await;
    let run1 = v["run"]["info"]["run_id"].as_str().expect("id").to_string();
    let m = |run: &str| json!({"run_id": run, "key": "m", "value": 1.0, "timestamp": 1});
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        Some(m(&run2)),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/runs/log-metric",
        Some(m(&run1)),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &app,
        "GET",
        &format!("/api/2.0/mlflow/runs/get?run_id={run1}"),
        None,
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "read is allowed");
    let (s, _) = call(
        &app,
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/1/x/artifacts/f.txt",
        None,
        Some(ci),
    )
    .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "artifacts of experiment 1 are read-only for ci"
    );

    // Deleting an experiment needs admin.
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/delete",
        Some(json!({"experiment_id": "2"})),
        Some(ci),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(
        &app,
        "POST",
        "/api/2.0/mlflow/experiments/delete",
        Some(json!({"experiment_id": "2"})),
        Some(&admin),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
}
