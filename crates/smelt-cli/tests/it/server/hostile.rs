//! Hostile requests: path traversal in all its spellings, symlinks, oversized and malformed
//! bodies, filter injection, client-chosen artifact locations.

use super::*;

// ---------------------------------------------------------------------------------------------
// 3. Hostile requests.

/// A temporary folder with an artifact root and a sentinel folder beside it that nothing may
/// touch, and a server on them.
struct Fixture {
    dir: tempfile::TempDir,
    server: Server,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempdir();
        let sentinel = dir.path().join("sentinel");
        std::fs::create_dir_all(&sentinel).expect("sentinel dir");
        std::fs::write(sentinel.join("secret.txt"), "secret").expect("sentinel file");
        let art = dir.path().join("art");
        std::fs::create_dir_all(&art).expect("artifact dir");
        let server = Server::start(&dir.path().join("db.sqlite"), &art);
        Self { dir, server }
    }

    fn art(&self) -> PathBuf {
        self.dir.path().join("art")
    }

    /// Asserts the sentinel folder holds exactly what `new` put there.
    fn assert_sentinel_untouched(&self) {
        let sentinel = self.dir.path().join("sentinel");
        let names: Vec<String> = std::fs::read_dir(&sentinel)
            .expect("reading the sentinel dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            ["secret.txt"],
            "something was written beside the artifact root"
        );
        assert_eq!(
            std::fs::read_to_string(sentinel.join("secret.txt"))
                .ok()
                .as_deref(),
            Some("secret")
        );
        // Nothing new at the top of the temporary folder either.
        let mut top: Vec<String> = std::fs::read_dir(self.dir.path())
            .expect("reading the temp dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("db."))
            .collect();
        top.sort();
        assert_eq!(
            top,
            ["art", "sentinel"],
            "something was written outside the root"
        );
    }

    fn assert_healthy(&self) {
        let r = self.server.http().get("/health");
        assert_eq!(r.status, 200, "the server stopped serving");
    }
}

/// Spellings of "outside the artifact root" as they go on the request line.
const TRAVERSALS: &[&str] = &[
    "../sentinel/secret.txt",
    "a/../../sentinel/secret.txt",
    "%2e%2e/sentinel/secret.txt",
    "%2E%2E/sentinel/secret.txt",
    ".%2e/sentinel/secret.txt",
    "%252e%252e/sentinel/secret.txt",
    "%252e%252e%252fsentinel%252fsecret.txt",
    "..%2fsentinel%2fsecret.txt",
    "..%2Fsentinel%2Fsecret.txt",
    "a%2F..%2F..%2Fsentinel%2Fsecret.txt",
    "%2Fetc%2Fpasswd",
    "/etc/passwd",
    "//etc/passwd",
    "..%5c..%5csentinel%5csecret.txt",
    "..%5csentinel%5csecret.txt",
    "%00",
    "secret.txt%00.png",
    "..%00/sentinel/secret.txt",
    "%c0%ae%c0%ae/sentinel/secret.txt",
    "..%c0%afsentinel%c0%afsecret.txt",
];

#[test]
fn artifact_routes_refuse_traversal() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    // A legitimate file, to know the routes work at all.
    http.send_raw(
        "PUT",
        "/api/2.0/mlflow-artifacts/artifacts/ok/a.txt",
        b"fine",
    )
    .ok("a plain upload");
    let r = http.get("/api/2.0/mlflow-artifacts/artifacts/ok/a.txt");
    assert_eq!((r.status, r.body.as_slice()), (200, &b"fine"[..]));

    for t in TRAVERSALS {
        let target = format!("/api/2.0/mlflow-artifacts/artifacts/{t}");
        for method in ["GET", "PUT", "DELETE"] {
            // A fresh connection: the server may close one whose body it did not read.
            let r = fx.server.http().send_raw(method, &target, b"pwned");
            r.mlflow_error(&[400, 404], &format!("{method} {target}"));
        }
        // In a query string, bytes that are not UTF-8 decode to U+FFFD: a harmless name inside
        // the root, listed as empty. Anything else must be refused.
        let r = http.get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={t}"));
        if r.status == 200 && t.contains("%c0") {
            assert_eq!(r.json(), json!({}), "listing {t}");
        } else {
            r.mlflow_error(&[400, 404], &format!("listing {t}"));
        }
    }
    // `..;` (a Tomcat-era trick) is just a strange name: it stays inside the root.
    fx.server
        .http()
        .send_raw(
            "PUT",
            "/api/2.0/mlflow-artifacts/artifacts/..;/x.txt",
            b"odd",
        )
        .ok("PUT ..;/x.txt");
    assert!(fx.art().join("..;/x.txt").is_file());
    fx.assert_sentinel_untouched();
    assert!(
        fx.art().join("ok/a.txt").is_file(),
        "DELETE with a traversal removed a file"
    );
    fx.assert_healthy();
}

/// A backslash is not even a legal request-target character: refused before routing, or by the
/// path parser, never served.
#[test]
fn artifact_routes_refuse_raw_backslashes() {
    let fx = Fixture::new();
    for t in [
        r"..\..\sentinel\secret.txt",
        r"..\sentinel\secret.txt",
        r"a\..\..\x",
    ] {
        let target = format!("/api/2.0/mlflow-artifacts/artifacts/{t}");
        for method in ["GET", "PUT", "DELETE"] {
            // A fresh connection: the server may close one whose body it did not read.
            let r = fx.server.http().send_raw(method, &target, b"pwned");
            assert!(
                [400, 404].contains(&r.status),
                "{method} {target}: {} {}",
                r.status,
                r.text()
            );
            if r.header("content-type").is_some_and(|c| c.contains("json")) {
                r.mlflow_error(&[400, 404], &format!("{method} {target}"));
            }
        }
    }
    fx.assert_sentinel_untouched();
    fx.assert_healthy();
}

#[cfg(unix)]
#[test]
fn artifact_routes_refuse_symlinks_out_of_the_root() {
    let fx = Fixture::new();
    let art = fx.art();
    let sentinel = fx.dir.path().join("sentinel");
    let link = |target: &Path, at: &str| {
        std::os::unix::fs::symlink(target, art.join(at))
            .unwrap_or_else(|e| panic!("planting the link {at}: {e}"));
    };
    link(&sentinel, "out");
    // A link to a file outside (inside the temp folder, never a system file: tests may run as
    // root).
    link(&sentinel.join("secret.txt"), "secretlink");
    std::fs::create_dir_all(art.join("d")).expect("dir");
    link(Path::new("../../sentinel"), "d/up");
    let through = [
        "out/secret.txt",
        "d/up/secret.txt",
        "out/new.txt",
        "out/sub/new.txt",
        "d/up/sub/new.txt",
    ];
    for t in through {
        let target = format!("/api/2.0/mlflow-artifacts/artifacts/{t}");
        for method in ["GET", "PUT", "DELETE"] {
            // A fresh connection: the server may close one whose body it did not read.
            let r = fx.server.http().send_raw(method, &target, b"pwned");
            r.mlflow_error(&[400, 404], &format!("{method} {target}"));
        }
    }
    // The file link is neither read nor written through.
    for method in ["GET", "PUT"] {
        let target = "/api/2.0/mlflow-artifacts/artifacts/secretlink";
        let r = fx.server.http().send_raw(method, target, b"pwned");
        r.mlflow_error(&[400, 404], &format!("{method} {target}"));
    }
    let mut http = fx.server.http();
    for dir in ["out", "d/up", "out/sub"] {
        let r = http.get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={dir}"));
        r.mlflow_error(&[400, 404], &format!("listing {dir}"));
    }
    // The root's listing leaves the links out.
    let v = http
        .get("/api/2.0/mlflow-artifacts/artifacts")
        .ok("root listing");
    let names: Vec<&str> = v["files"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert_eq!(names, ["d"], "links out of the root are listed");
    fx.assert_sentinel_untouched();
    // Deleting a link removes the link, never what it points to.
    for t in ["secretlink", "out"] {
        let r = http.send_raw(
            "DELETE",
            &format!("/api/2.0/mlflow-artifacts/artifacts/{t}"),
            b"",
        );
        assert!(
            [200, 400, 404].contains(&r.status),
            "DELETE {t}: {}",
            r.text()
        );
    }
    fx.assert_sentinel_untouched();
    fx.assert_healthy();
}

/// The run-scoped routes (`/get-artifact`, `artifacts/list`) join the client's path to the run's
/// artifact root: the same tricks must fail there.
#[test]
fn run_artifact_routes_refuse_traversal() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    let run = create_run(&mut http, "sec");
    let v = http
        .get(&format!("{API}/runs/get?run_id={run}"))
        .ok("runs/get");
    let root = v["run"]["info"]["artifact_uri"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let rel = root
        .strip_prefix("mlflow-artifacts:/")
        .unwrap_or_else(|| panic!("unexpected artifact uri {root}"));
    http.send_raw(
        "PUT",
        &format!("/api/2.0/mlflow-artifacts/artifacts/{rel}/model/a.txt"),
        b"fine",
    )
    .ok("upload into the run");
    let r = http.get(&format!("/get-artifact?run_uuid={run}&path=model/a.txt"));
    assert_eq!((r.status, r.body.as_slice()), (200, &b"fine"[..]));
    let v = http
        .get(&format!("{API}/artifacts/list?run_id={run}&path=model"))
        .ok("artifacts/list");
    assert_eq!(v["files"][0]["path"], "model/a.txt");

    let depth = rel.split('/').count() + 1;
    let up = "../".repeat(depth);
    let escapes = [
        format!("{up}sentinel/secret.txt"),
        "../../x".to_string(),
        format!("{}sentinel/secret.txt", "%2e%2e/".repeat(depth)),
        format!("{}sentinel/secret.txt", "%252e%252e/".repeat(depth)),
        format!("{}sentinel%2fsecret.txt", "..%2f".repeat(depth)),
        "/etc/passwd".to_string(),
        "%2Fetc%2Fpasswd".to_string(),
        "..%5c..%5cx".to_string(),
        "a%00b".to_string(),
    ];
    for p in &escapes {
        let r = http.get(&format!("/get-artifact?run_uuid={run}&path={p}"));
        r.mlflow_error(&[400, 404], &format!("get-artifact {p}"));
        let r = http.get(&format!("{API}/artifacts/list?run_id={run}&path={p}"));
        r.mlflow_error(&[400, 404], &format!("artifacts/list {p}"));
    }
    for p in ["../..", "..", "%2e%2e", "model/../.."] {
        let r = http.get(&format!("{API}/artifacts/list?run_id={run}&path={p}"));
        r.mlflow_error(&[400, 404], &format!("artifacts/list {p}"));
    }
    fx.assert_sentinel_untouched();
    fx.assert_healthy();
}

#[test]
fn oversized_body_is_refused_and_the_server_keeps_serving() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    let run = create_run(&mut http, "big");
    let pad = "x".repeat(20 << 20);
    let body = json!({ "run_id": run, "tags": [{ "key": "pad", "value": pad }] }).to_string();
    // The server may answer before reading the whole body and then close: read the answer on a
    // second handle while writing, and accept a write cut short.
    let stream = TcpStream::connect(fx.server.addr).expect("connect");
    stream.set_read_timeout(Some(IO_TIMEOUT)).expect("timeout");
    stream.set_write_timeout(Some(IO_TIMEOUT)).expect("timeout");
    let reader = stream.try_clone().expect("clone");
    let answer = thread::spawn(move || read_reply(&mut BufReader::new(reader)));
    let mut w = stream;
    let head = format!(
        "POST {API}/runs/log-batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    let wrote = w
        .write_all(head.as_bytes())
        .and_then(|()| w.write_all(body.as_bytes()));
    let r = answer
        .join()
        .expect("reader thread")
        .unwrap_or_else(|e| panic!("no answer to a 20 MB body (write: {wrote:?}): {e}"));
    let code = r.mlflow_error(&[413, 429], "a 20 MB log-batch");
    eprintln!("20 MB body: {} {code}", r.status);
    drop(w);

    fx.assert_healthy();
    // The run is untouched and still writable.
    let v = http
        .get(&format!("{API}/runs/get?run_id={run}"))
        .ok("runs/get");
    assert!(
        !v["run"]["data"]["tags"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|t| t["key"] == "pad"),
        "the oversized batch was applied"
    );
    http.send_raw(
        "POST",
        &format!("{API}/runs/log-batch"),
        &batch_body(&run, 0, 5),
    )
    .ok("log-batch after the big body");
}

#[test]
fn malformed_requests_are_clean_400s() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    let run = create_run(&mut http, "bad");
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("runs/log-batch", br#"{"run_id": "#.to_vec()),
        ("runs/log-batch", b"not json at all".to_vec()),
        ("runs/log-batch", vec![0xff, 0xfe, 0x00, 0x7b]),
        ("runs/log-batch", b"[1, 2, 3]".to_vec()),
        ("runs/log-batch", b"\"a string\"".to_vec()),
        (
            "runs/log-batch",
            json!({ "run_id": run, "metrics": [{ "key": "m", "value": 1.0, "timestamp": 1, "step": "abc" }] })
                .to_string()
                .into_bytes(),
        ),
        (
            "runs/log-batch",
            json!({ "run_id": run, "metrics": [{ "key": "m", "value": "high", "timestamp": 1, "step": 0 }] })
                .to_string()
                .into_bytes(),
        ),
        (
            "runs/log-batch",
            json!({ "run_id": run, "metrics": "nope" }).to_string().into_bytes(),
        ),
        (
            "runs/log-batch",
            json!({ "run_id": run, "metrics": [{ "value": 1.0, "timestamp": 1 }] })
                .to_string()
                .into_bytes(),
        ),
        ("runs/log-batch", json!({ "metrics": [] }).to_string().into_bytes()),
        (
            "runs/log-metric",
            json!({ "run_id": run, "key": "m", "value": 1.0, "timestamp": 1, "step": "abc" })
                .to_string()
                .into_bytes(),
        ),
        (
            "runs/log-metric",
            json!({ "run_id": run, "key": "m", "value": 1.0, "timestamp": 1, "step": 1.5 })
                .to_string()
                .into_bytes(),
        ),
        (
            "runs/log-metric",
            json!({ "run_id": run, "key": "m", "value": 1.0, "timestamp": { "a": 1 } })
                .to_string()
                .into_bytes(),
        ),
        (
            "runs/log-metric",
            json!({ "run_id": run, "value": 1.0, "timestamp": 1 }).to_string().into_bytes(),
        ),
        (
            "runs/log-metric",
            json!({ "run_id": run, "key": "m", "timestamp": 1 }).to_string().into_bytes(),
        ),
        (
            "runs/log-parameter",
            json!({ "run_id": run, "key": { "a": 1 }, "value": "b" })
                .to_string()
                .into_bytes(),
        ),
        ("runs/create", json!({ "start_time": "yesterday" }).to_string().into_bytes()),
        ("experiments/create", json!({}).to_string().into_bytes()),
        (
            "experiments/create",
            json!({ "name": ["a", "b"] }).to_string().into_bytes(),
        ),
    ];
    for (route, body) in &cases {
        let r = http.send_raw("POST", &format!("{API}/{route}"), body);
        let code = r.mlflow_error(
            &[400],
            &format!("{route} {}", String::from_utf8_lossy(body)),
        );
        assert!(
            ["INVALID_PARAMETER_VALUE", "BAD_REQUEST"].contains(&code.as_str()),
            "{route} {}: {code}",
            String::from_utf8_lossy(body)
        );
    }
    // None of them logged anything.
    let v = http
        .get(&format!("{API}/runs/get?run_id={run}"))
        .ok("runs/get");
    assert!(
        v["run"]["data"]["metrics"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{v}"
    );
    fx.assert_healthy();
}

#[test]
fn unknown_routes_are_mlflow_404s() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    for target in [
        "/api/2.0/mlflow/nope",
        "/api/2.0/mlflow/runs/create/extra",
        "/api/9.9/mlflow/runs/get",
        "/nope",
        "/api/2.0/mlflow/../../etc/passwd",
    ] {
        let r = http.get(target);
        let code = r.mlflow_error(&[404], target);
        assert_eq!(code, "ENDPOINT_NOT_FOUND", "{target}");
    }
    let r = fx.server.http().post("/api/2.0/mlflow/nope", &json!({}));
    assert_eq!(r.mlflow_error(&[404], "POST nope"), "ENDPOINT_NOT_FOUND");
    // A path capture that is not UTF-8 once decoded is refused in MLflow's shape too.
    for target in [
        "/api/2.0/mlflow/logged-models/%ff%fe",
        "/api/2.0/mlflow-artifacts/artifacts/a%c0%ae",
    ] {
        let r = http.get(target);
        let code = r.mlflow_error(&[400, 404], target);
        assert_ne!(code, "INTERNAL_ERROR", "{target}");
    }
    fx.assert_healthy();
}

#[test]
fn filter_strings_are_never_sql() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    let run = create_run(&mut http, "inj");
    http.post(
        &format!("{API}/runs/log-batch"),
        &json!({
            "run_id": run,
            "params": [{ "key": "a", "value": "y" }],
            "metrics": [{ "key": "a", "value": 1.0, "timestamp": 1, "step": 0 }],
        }),
    )
    .ok("log-batch");
    let search = |http: &mut Http, filter: &str| {
        http.post(
            &format!("{API}/runs/search"),
            &json!({ "experiment_ids": ["0"], "filter": filter }),
        )
    };
    let hostile = [
        "params.a = 'x'' OR 1=1 --'",
        "params.a = 'x' OR 1=1 --",
        "params.a = 'x'; DROP TABLE runs; --'",
        "metrics.`a; DROP TABLE runs` > 0",
        "metrics.`a` > 0; DROP TABLE runs",
        "params.`a' OR '1'='1` = 'y'",
        "tags.\"x\" = '' UNION SELECT * FROM runs --'",
        "attributes.run_name = 'x\\' OR 1=1 --'",
        "params.a IN ('x') OR 1=1",
        "1=1",
    ];
    for f in hostile {
        let r = search(&mut http, f);
        if r.status == 200 {
            let v = r.json();
            let n = v["runs"].as_array().map_or(0, Vec::len);
            assert_eq!(n, 0, "filter {f:?} matched rows: {v}");
        } else {
            let code = r.mlflow_error(&[400], &format!("filter {f:?}"));
            assert_eq!(code, "INVALID_PARAMETER_VALUE", "filter {f:?}");
        }
    }
    // The tables are all there and the run is found by an honest filter.
    let v = search(&mut http, "params.a = 'y' and metrics.a > 0").ok("runs/search");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1), "{v}");
    let v = search(&mut http, "").ok("runs/search");
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(1), "{v}");
    http.get(&format!("{API}/runs/get?run_id={run}"))
        .ok("runs/get");
    create_run(&mut http, "still-works");
    fx.assert_healthy();
}

/// An experiment's `artifact_location` is chosen by the client: if a client could set it to a
/// folder of the server's machine, `/get-artifact` and `artifacts/list` would read any file there
/// (MLflow's CVE-2023-1177 family). Over HTTP a local location is refused, or at least never
/// served.
#[test]
fn client_chosen_artifact_location_cannot_read_server_files() {
    let fx = Fixture::new();
    let mut http = fx.server.http();
    let sentinel = fx.dir.path().join("sentinel");
    let locations = [
        sentinel.display().to_string(),
        format!("file://{}", sentinel.display()),
        format!("file://localhost{}", sentinel.display()),
        "/".to_string(),
        "file:///".to_string(),
    ];
    for (i, location) in locations.iter().enumerate() {
        let r = http.post(
            &format!("{API}/experiments/create"),
            &json!({ "name": format!("evil-{i}"), "artifact_location": location }),
        );
        if r.status != 200 {
            let code = r.mlflow_error(&[400], &format!("artifact_location {location}"));
            assert_eq!(code, "INVALID_PARAMETER_VALUE");
            continue;
        }
        let exp = r.json()["experiment_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let v = http
            .post(
                &format!("{API}/runs/create"),
                &json!({ "experiment_id": exp }),
            )
            .ok("runs/create");
        let run = v["run"]["info"]["run_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let rel = if location.ends_with('/') {
            format!(
                "{}/secret.txt",
                sentinel.display().to_string().trim_start_matches('/')
            )
        } else {
            "secret.txt".to_string()
        };
        let r = http.get(&format!("/get-artifact?run_uuid={run}&path={rel}"));
        eprintln!("{location}: get-artifact {rel}: {} {}", r.status, r.text());
        assert!(
            r.text() != "secret",
            "artifact_location {location}: /get-artifact served a file of the server's machine"
        );
        let r = http.get(&format!("{API}/artifacts/list?run_id={run}"));
        assert!(
            !r.text().contains("secret.txt") && !r.text().contains("\"etc\""),
            "artifact_location {location}: artifacts/list listed the server's files: {}",
            r.text()
        );
    }
    fx.assert_sentinel_untouched();
}
