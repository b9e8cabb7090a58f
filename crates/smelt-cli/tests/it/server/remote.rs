//! `smelt train` logging to a remote server (`SMELT_TRACKING_URI=http://…`).

use super::*;

// ---------------------------------------------------------------------------------------------
// `smelt train` logging to a remote server (SMELT_TRACKING_URI=http://…).

/// Trains iris with SMELT_TRACKING_URI pointing at `uri`; returns the process output.
fn train_to(uri: &str, out: &Path, env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = crate::smelt();
    cmd.env_remove("SMELT_NO_TRACK")
        .env_remove("MLFLOW_TRACKING_TOKEN")
        .env_remove("MLFLOW_TRACKING_USERNAME")
        .env_remove("MLFLOW_TRACKING_PASSWORD")
        .env("SMELT_TRACKING_URI", uri)
        .args(["train", "data/iris.csv", "--target", "target"])
        .args(["--model", "logistic_regression", "--experiment", "remote"])
        .args(["--run-name", "over-http", "--out"])
        .arg(out);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("runs smelt train")
}

/// The one run of experiment "remote" in the server's store, read from its database.
fn remote_run(
    db: &Path,
    art: &Path,
) -> (smelt_track::tracker::Tracker, smelt_track::entities::Run) {
    let t = smelt_track::tracker::Tracker::open(
        &format!("sqlite:///{}", db.display()),
        &art.display().to_string(),
    )
    .expect("opens the server's store");
    let store = t.store().expect("a store");
    let exp = t
        .block_on(store.get_experiment_by_name("remote"))
        .expect("the experiment was created on the server");
    let mut runs = t
        .block_on(store.search_runs(&[exp.experiment_id], &Default::default()))
        .expect("search")
        .items;
    assert_eq!(runs.len(), 1);
    let run = runs.remove(0);
    (t, run)
}

#[test]
fn train_logs_to_a_remote_server() {
    let dir = tempdir();
    let (db, art) = (dir.path().join("db.sqlite"), dir.path().join("artifacts"));
    let server = Server::start(&db, &art);
    let out = dir.path().join("model");
    let o = train_to(&format!("http://{}", server.addr), &out, &[]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let (t, run) = remote_run(&db, &art);
    assert_eq!(run.info.run_name, "over-http");
    assert_eq!(run.info.status, smelt_track::entities::RunStatus::Finished);
    assert!(run.info.artifact_uri.starts_with("mlflow-artifacts:/"));
    let param = |k: &str| {
        run.data
            .params
            .iter()
            .find(|p| p.key == k)
            .map(|p| p.value.clone())
    };
    assert_eq!(param("model").as_deref(), Some("logistic_regression"));
    assert!(
        run.data
            .metrics
            .iter()
            .any(|m| m.key == "valid_accuracy" && m.value > 0.8),
        "{:?}",
        run.data.metrics
    );
    assert!(
        run.data
            .tags
            .iter()
            .any(|t| t.key == "smelt.git.commit" || t.key == "smelt.env.fingerprint")
    );
    let ds = &run.inputs.dataset_inputs[0];
    assert_eq!(
        (ds.dataset.name.as_str(), ds.dataset.digest.len()),
        ("iris", 64)
    );
    assert!(
        ds.dataset
            .profile
            .contains(&format!("\"smelt_fingerprint\":\"{}\"", ds.dataset.digest)),
        "{}",
        ds.dataset.profile
    );
    // The model went through the server's artifact proxy into its destination, byte for byte.
    crate::assert_model_artifact(&t, &run, &out);
}

#[test]
fn train_logs_to_a_server_with_auth_and_warns_on_bad_credentials() {
    let dir = tempdir();
    let (db, art) = (dir.path().join("db.sqlite"), dir.path().join("artifacts"));
    let users = dir.path().join("users.toml");
    std::fs::write(
        &users,
        "[[user]]\nname = \"ci\"\ntoken = \"tok-0123456789abcdef\"\npermission = \"write\"\n",
    )
    .expect("users file");
    let server = Server::start_with(&db, &art, &["--auth-config", &users.display().to_string()]);
    let uri = format!("http://{}", server.addr);

    // A wrong token: the fit still succeeds, with a warning that names the fix, not the secret.
    let o = train_to(
        &uri,
        &dir.path().join("m1"),
        &[("MLFLOW_TRACKING_TOKEN", "wrong-secret")],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{stderr}");
    assert!(stderr.contains("not recording this run"), "{stderr}");
    assert!(stderr.contains("MLFLOW_TRACKING_TOKEN"), "{stderr}");
    assert!(!stderr.contains("wrong-secret"), "{stderr}");

    // The right one: recorded.
    let o = train_to(
        &uri,
        &dir.path().join("m2"),
        &[("MLFLOW_TRACKING_TOKEN", "tok-0123456789abcdef")],
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && !stderr.contains("warning"),
        "{stderr}"
    );
    let (_t, run) = remote_run(&db, &art);
    assert_eq!(run.info.status, smelt_track::entities::RunStatus::Finished);
}
