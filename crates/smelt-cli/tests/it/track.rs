//! `smelt runs` and `smelt models` over a store built with the store API: tables, JSON, CSV, the
//! registry, deleting and purging (rows and artifact files), and the errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use insta_cmd::assert_cmd_snapshot;
use smelt_track::ArtifactPath;
use smelt_track::entities::{DatasetInput, DatasetRecord, KeyValue, Metric, RunStatus};
use smelt_track::store::{BatchLog, DATASET_CONTEXT_TAG, RunCreate, VersionCreate};
use smelt_track::tracker::Tracker;

use crate::{filters, smelt};

/// 2026-01-02 10:00:00 UTC.
const T0: i64 = 1_767_348_000_000;

/// A store in a temporary folder with three runs of one experiment, one of another, and a
/// registered model.
struct Fixture {
    tmp: tempfile::TempDir,
    uri: String,
    art: PathBuf,
    /// Run ids: ridge-a, ridge-b, gbdt (housing), baseline (iris).
    ids: Vec<String>,
}

struct RunSpec<'a> {
    exp: &'a str,
    name: &'a str,
    start: i64,
    took: Option<i64>,
    status: RunStatus,
    params: &'a [(&'a str, &'a str)],
    metrics: &'a [(&'a str, f64)],
    tags: &'a [(&'a str, &'a str)],
}

fn make_run(t: &Tracker, spec: &RunSpec) -> String {
    let s = t.store().expect("store");
    let run = t
        .block_on(
            s.create_run(RunCreate {
                experiment_id: spec.exp.to_string(),
                run_name: spec.name.to_string(),
                user_id: "ada".into(),
                start_time: Some(spec.start),
                tags: spec
                    .tags
                    .iter()
                    .map(|(k, v)| KeyValue::new(*k, *v))
                    .collect(),
            }),
        )
        .expect("creates a run");
    let id = run.info.run_id;
    let batch = BatchLog {
        metrics: spec
            .metrics
            .iter()
            .map(|(k, v)| Metric {
                key: k.to_string(),
                value: *v,
                timestamp: spec.start + 1000,
                step: 0,
                run_id: None,
            })
            .collect(),
        params: spec
            .params
            .iter()
            .map(|(k, v)| KeyValue::new(*k, *v))
            .collect(),
        tags: Vec::new(),
    };
    t.block_on(s.log_batch(&id, batch)).expect("logs");
    t.block_on(s.update_run(
        &id,
        Some(spec.status),
        spec.took.map(|d| spec.start + d),
        None,
    ))
    .expect("updates");
    id
}

/// Writes a file into a run's artifacts.
fn put_artifact(t: &Tracker, id: &str, path: &str, data: &'static [u8]) {
    let info = t
        .block_on(t.store().expect("store").get_run_info(id))
        .expect("run");
    let (store, base) = t.resolve_artifacts(&info.artifact_uri).expect("resolves");
    let full = base
        .join_path(&ArtifactPath::parse(path).expect("path"))
        .expect("joins");
    t.block_on(store.put_bytes(&full, bytes::Bytes::from_static(data)))
        .expect("writes");
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().expect("temp dir");
        let uri = format!(
            "sqlite:///{}",
            tmp.path().join("runs/tracking.db").display()
        );
        let art = tmp.path().join("runs/artifacts");
        let t = Tracker::open(&uri, &art.display().to_string()).expect("opens");
        let s = t.store().expect("store");
        let housing = t
            .block_on(s.create_experiment("housing", None, &[]))
            .expect("experiment");
        let iris = t
            .block_on(s.create_experiment("iris", None, &[]))
            .expect("experiment");
        let system = [
            ("smelt.task", "regression"),
            ("mlflow.source.git.commit", "0123abcd"),
        ];
        let a = make_run(
            &t,
            &RunSpec {
                exp: &housing,
                name: "ridge-a",
                start: T0,
                took: Some(65_000),
                status: RunStatus::Finished,
                params: &[("model", "ridge"), ("alpha", "0.5"), ("seed", "42")],
                metrics: &[
                    ("valid_r2", 0.6123),
                    ("valid_rmse", 0.7241),
                    ("fit_seconds", 0.12),
                ],
                tags: &system,
            },
        );
        let b = make_run(
            &t,
            &RunSpec {
                exp: &housing,
                name: "ridge-b",
                start: T0 + 3_600_000,
                took: Some(3_400),
                status: RunStatus::Finished,
                params: &[("model", "ridge"), ("alpha", "2.0"), ("seed", "42")],
                metrics: &[
                    ("valid_r2", 0.5871),
                    ("valid_rmse", 0.7502),
                    ("fit_seconds", 0.09),
                ],
                tags: &system,
            },
        );
        let c = make_run(
            &t,
            &RunSpec {
                exp: &housing,
                name: "gbdt",
                start: T0 + 7_200_000,
                took: None,
                status: RunStatus::Running,
                params: &[("model", "gbdt"), ("n_estimators", "100"), ("seed", "42")],
                metrics: &[("valid_r2", 0.8012), ("valid_rmse", 0.5105)],
                tags: &system,
            },
        );
        let d = make_run(
            &t,
            &RunSpec {
                exp: &iris,
                name: "baseline",
                start: T0 - 86_400_000,
                took: Some(900),
                status: RunStatus::Failed,
                params: &[("model", "logistic_regression")],
                metrics: &[],
                tags: &[],
            },
        );
        let input = DatasetInput {
            tags: vec![KeyValue::new(DATASET_CONTEXT_TAG, "train")],
            dataset: DatasetRecord {
                name: "housing".into(),
                digest: "b3:5f1c0a".into(),
                source_type: "local".into(),
                source: r#"{"uri": "data/housing.csv"}"#.into(),
                schema: String::new(),
                profile: r#"{"num_rows": 20640}"#.into(),
            },
        };
        t.block_on(s.log_inputs(&a, &[input], &[])).expect("input");
        put_artifact(&t, &a, "model/model.json", b"{\"kind\": \"pipeline\"}\n");
        put_artifact(&t, &a, "model/weights.bin", &[7u8; 1500]);
        put_artifact(&t, &b, "model/model.json", b"{}\n");
        t.block_on(s.create_registered_model("housing", &[], "median house value"))
            .expect("model");
        t.block_on(s.create_model_version(VersionCreate {
            name: "housing".into(),
            source: format!("runs:/{a}/model"),
            run_id: a.clone(),
            ..Default::default()
        }))
        .expect("version");
        t.block_on(s.set_registered_model_alias("housing", "champion", "1"))
            .expect("alias");
        t.block_on(s.close());
        Self {
            tmp,
            uri,
            art,
            ids: vec![a, b, c, d],
        }
    }

    /// `smelt ARGS` against this store, in UTC.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = smelt();
        c.env("SMELT_TRACKING_URI", &self.uri)
            .env("SMELT_ARTIFACTS_DESTINATION", &self.art)
            .env("TZ", "UTC")
            .env_remove("COLUMNS")
            .args(args);
        c
    }

    /// Replaces run ids (whole, then their 8-character prefixes) and the temp folder.
    fn settings(&self) -> insta::Settings {
        let mut s = filters(self.tmp.path());
        // Short ids become 8 characters too, so tables keep their alignment.
        for (id, n) in self.ids.iter().zip(["A", "B", "C", "D"]) {
            s.add_filter(id, format!("[RUN-{n}-FULL-ID]"));
            s.add_filter(&id[..8], format!("[RUN--{n}]"));
        }
        s
    }

    fn open(&self) -> Tracker {
        Tracker::open(&self.uri, &self.art.display().to_string()).expect("opens")
    }
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).expect("utf-8")
}

#[test]
fn runs_list_shows_metrics_and_differing_params() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(f.cmd(&["runs", "list"]));
    });
}

#[test]
fn runs_list_filters_orders_and_picks_columns() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(f.cmd(&[
            "runs",
            "list",
            "--experiment",
            "housing",
            "--filter",
            "metrics.valid_r2 > 0.6",
            "--order-by",
            "metrics.valid_r2 DESC",
            "--columns",
            "metrics.valid_r2,params.alpha,tags.smelt.task",
        ]));
    });
}

#[test]
fn runs_list_narrow_terminal_names_hidden_columns() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(
            f.cmd(&["runs", "list", "-e", "housing"])
                .env("COLUMNS", "72")
        );
    });
}

#[test]
fn runs_list_csv_and_json() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(f.cmd(&["runs", "list", "-e", "housing", "--format", "csv"]));
    });
    let json: serde_json::Value = serde_json::from_str(&ok(f
        .cmd(&["runs", "list", "--format", "json"])
        .output()
        .expect("runs")))
    .expect("json");
    let runs = json["runs"].as_array().expect("runs array");
    assert_eq!(runs.len(), 4);
    // MLflow's run JSON: info, data, inputs, outputs.
    assert_eq!(runs[0]["info"]["run_name"], "gbdt");
    assert_eq!(runs[0]["info"]["status"], "RUNNING");
    assert!(runs[0]["data"]["params"].as_array().is_some());
}

#[test]
fn runs_show_everything_about_a_run() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(f.cmd(&["runs", "show", &f.ids[0][..6]]));
    });
    // By name, and as JSON.
    let json: serde_json::Value = serde_json::from_str(&ok(f
        .cmd(&["runs", "show", "ridge-b", "--json"])
        .output()
        .expect("runs")))
    .expect("json");
    assert_eq!(json["run"]["info"]["run_id"], f.ids[1].as_str());
}

#[test]
fn runs_compare_marks_differences_and_best_values() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!(f.cmd(&["runs", "compare", &f.ids[0], &f.ids[1], "gbdt"]));
    });
}

#[test]
fn models_list_show_register_alias_delete() {
    let f = Fixture::new();
    let mut s = f.settings();
    // Registry times are the test's own clock.
    s.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d", "YYYY-MM-DD HH:MM");
    s.bind(|| {
        assert_cmd_snapshot!(
            "models_register",
            f.cmd(&[
                "models",
                "register",
                &f.ids[1][..8],
                "--name",
                "housing",
                "--alias",
                "challenger",
            ])
        );
        assert_cmd_snapshot!(
            "models_register_new_name",
            f.cmd(&[
                "models",
                "register",
                &format!("{}/model", f.ids[0]),
                "--name",
                "housing-ridge",
            ])
        );
        assert_cmd_snapshot!(
            "models_alias",
            f.cmd(&["models", "alias", "housing", "champion", "2"])
        );
        assert_cmd_snapshot!("models_list", f.cmd(&["models", "list"]));
        assert_cmd_snapshot!("models_show", f.cmd(&["models", "show", "housing"]));
        assert_cmd_snapshot!(
            "models_alias_delete",
            f.cmd(&["models", "alias", "housing", "challenger", "--delete"])
        );
        assert_cmd_snapshot!(
            "models_delete_version",
            f.cmd(&["models", "delete", "housing", "--version", "1"])
        );
        assert_cmd_snapshot!(
            "models_delete",
            f.cmd(&["models", "delete", "housing-ridge"])
        );
    });
    // What the commands did is in the store.
    let t = f.open();
    let m = t
        .block_on(t.store().expect("store").get_registered_model("housing"))
        .expect("model");
    assert_eq!(m.aliases.len(), 1);
    assert_eq!(
        (m.aliases[0].alias.as_str(), m.aliases[0].version.as_str()),
        ("champion", "2")
    );
    assert!(
        t.block_on(t.store().expect("store").get_model_version("housing", "1"))
            .is_err()
    );
    assert!(
        t.block_on(
            t.store()
                .expect("store")
                .get_registered_model("housing-ridge")
        )
        .is_err()
    );
    // The registered version shows up as the run's lineage.
    let shown = ok(f.cmd(&["runs", "show", &f.ids[1]]).output().expect("runs"));
    assert!(
        shown.contains("registered as\n  housing v2 @champion"),
        "{shown}"
    );
}

#[test]
fn models_errors_name_what_is_missing() {
    let f = Fixture::new();
    f.settings().bind(|| {
        assert_cmd_snapshot!("models_show_unknown", f.cmd(&["models", "show", "nope"]));
        assert_cmd_snapshot!(
            "models_alias_unknown_version",
            f.cmd(&["models", "alias", "housing", "champion", "9"])
        );
        assert_cmd_snapshot!(
            "models_register_no_artifacts",
            f.cmd(&["models", "register", "gbdt", "--name", "housing"])
        );
    });
}

#[test]
fn missing_store_is_an_error_with_a_hint_not_a_new_store() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut c = smelt();
    c.current_dir(tmp.path())
        .env_remove("SMELT_TRACKING_URI")
        .args(["runs", "list"]);
    assert_cmd_snapshot!(c);
    assert!(!tmp.path().join("smelt-runs").exists());
}

#[test]
fn unknown_and_ambiguous_runs() {
    let f = Fixture::new();
    // Two runs with the same name, and (by trying) two ids sharing their first 4 characters.
    let t = f.open();
    let exp = t
        .block_on(t.store().expect("store").get_experiment_by_name("iris"))
        .expect("iris")
        .experiment_id;
    let mut seen = std::collections::HashMap::new();
    let mut shared = None;
    for _ in 0..5000 {
        let run = t
            .block_on(t.store().expect("store").create_run(RunCreate {
                experiment_id: exp.clone(),
                run_name: "twin".into(),
                ..Default::default()
            }))
            .expect("creates");
        let prefix = run.info.run_id[..4].to_string();
        if seen.insert(prefix.clone(), run.info.run_id).is_some() {
            shared = Some(prefix);
            break;
        }
    }
    let prefix = shared.expect("two of 5000 random ids share 4 characters");
    t.block_on(t.store().expect("store").close());
    drop(t);
    let err = |args: &[&str]| {
        let o = f.cmd(args).output().expect("runs");
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8(o.stderr).expect("utf-8")
    };
    let e = err(&["runs", "show", &prefix]);
    assert!(
        e.starts_with(&format!("error: \"{prefix}\" matches 2 runs: {prefix}")),
        "{e}"
    );
    assert!(
        e.contains("hint: give more characters of the run id"),
        "{e}"
    );
    let e = err(&["runs", "show", "twin"]);
    assert!(e.contains("\"twin\" matches "), "{e}");
    f.settings().bind(|| {
        assert_cmd_snapshot!("unknown_run", f.cmd(&["runs", "show", "ffff0000ffff"]));
        assert_cmd_snapshot!(
            "too_short_prefix",
            f.cmd(&["runs", "compare", "ab", "ridge-a"])
        );
        assert_cmd_snapshot!("unknown_experiment", f.cmd(&["runs", "list", "-e", "nope"]));
        assert_cmd_snapshot!(
            "bad_filter",
            f.cmd(&["runs", "list", "--filter", "metrics.r2 >> 1"])
        );
    });
}

/// Files under a folder, recursively.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn delete_purge_removes_rows_and_artifact_files() {
    let f = Fixture::new();
    assert_eq!(files(&f.art).len(), 3);
    f.settings().bind(|| {
        // Soft delete: the run is hidden but kept, files too.
        assert_cmd_snapshot!("delete_soft", f.cmd(&["runs", "delete", "ridge-b"]));
    });
    let t = f.open();
    let info = t
        .block_on(t.store().expect("store").get_run_info(&f.ids[1]))
        .expect("kept");
    assert_eq!(info.lifecycle_stage, "deleted");
    drop(t);
    assert_eq!(files(&f.art).len(), 3);
    let listed = ok(f
        .cmd(&["runs", "list", "--deleted"])
        .output()
        .expect("runs"));
    assert!(
        listed.contains("ridge-b") && !listed.contains("ridge-a"),
        "{listed}"
    );

    f.settings().bind(|| {
        // Purge ridge-a (active: deleted then purged); ridge-b stays soft-deleted.
        assert_cmd_snapshot!(
            "delete_purge",
            f.cmd(&["runs", "delete", "ridge-a", "--purge"])
        );
    });
    let t = f.open();
    assert!(
        t.block_on(t.store().expect("store").get_run_info(&f.ids[0]))
            .is_err()
    );
    assert!(
        t.block_on(t.store().expect("store").get_run_info(&f.ids[1]))
            .is_ok()
    );
    // Its registered version is kept (MLflow keeps versions whose run is gone).
    assert!(
        t.block_on(t.store().expect("store").get_model_version("housing", "1"))
            .is_ok()
    );
    drop(t);
    let left = files(&f.art);
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(left[0].to_string_lossy().contains(&f.ids[1]));
    assert!(!f.art.join("1").join(&f.ids[0]).exists());

    f.settings().bind(|| {
        assert_cmd_snapshot!(
            "gc_nothing_old",
            f.cmd(&["runs", "gc", "--older-than", "30d"])
        );
        assert_cmd_snapshot!("gc_all", f.cmd(&["runs", "gc"]));
    });
    let t = f.open();
    assert!(
        t.block_on(t.store().expect("store").get_run_info(&f.ids[1]))
            .is_err()
    );
    drop(t);
    assert!(files(&f.art).is_empty());
}

#[test]
fn gc_removes_partial_uploads_left_by_a_crash() {
    let f = Fixture::new();
    let dir = f.art.join("1").join(&f.ids[0]).join("artifacts");
    std::fs::create_dir_all(&dir).expect("artifact dir");
    // What a killed upload leaves: a staging file nobody has written to for two hours...
    let stale = dir.join("model.json#7");
    std::fs::write(&stale, vec![0u8; 1000]).expect("stale");
    let two_hours_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(7200);
    std::fs::File::options()
        .write(true)
        .open(&stale)
        .and_then(|file| file.set_modified(two_hours_ago))
        .expect("ages the file");
    // ...and one being written right now, which must survive.
    let fresh = dir.join("big.bin#8");
    std::fs::write(&fresh, b"in flight").expect("fresh");
    let out = f.cmd(&["runs", "gc"]).output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("removed 1 partial upload left by a crash (1.0 kB)"),
        "{stdout}"
    );
    assert!(!stale.exists());
    assert!(fresh.exists());
}

#[test]
fn runs_help_is_useful() {
    assert_cmd_snapshot!(
        smelt()
            .env_remove("SMELT_TRACKING_URI")
            .env_remove("SMELT_ARTIFACTS_DESTINATION")
            .args(["runs", "list", "--help"])
    );
}

/// `smelt server` writing to a file (not a terminal) logs plain text: no ANSI colour codes.
#[test]
fn server_logs_to_a_file_without_colour_codes() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let log = tmp.path().join("server.log");
    let mut child = Command::new(insta_cmd::get_cargo_bin("smelt"))
        .current_dir(tmp.path())
        .env_remove("NO_COLOR")
        .args(["server", "--port", "0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&log).expect("log file"))
        .spawn()
        .expect("starts");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut text = String::new();
    while std::time::Instant::now() < deadline {
        text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("listening") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(text.contains("listening"), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}
