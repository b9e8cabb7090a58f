//! `smelt server` end to end over real HTTP: a bounded load test that counts every metric point
//! back, a kill -9 in the middle of writes, and hostile requests (path traversal in all its
//! spellings, oversized and malformed bodies, filter injection).
//!
//! The client is a few lines of HTTP/1.1 over `TcpStream` so that requests go out byte for byte
//! as written here (no client-side normalisation of `..` or `%2e`), with keep-alive and a
//! timeout on every read.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

const IO_TIMEOUT: Duration = Duration::from_secs(60);
const START_TIMEOUT: Duration = Duration::from_secs(30);

// ---------------------------------------------------------------------------------------------
// The server under test.

/// A `smelt server` child process, killed (SIGKILL) and reaped on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    /// Starts `smelt server` on `db` (a SQLite file) and `artifacts` (a folder) on a free
    /// loopback port, and waits until `/health` answers 200.
    fn start(db: &Path, artifacts: &Path) -> Self {
        Self::start_with(db, artifacts, &[])
    }

    /// [`Server::start`] with extra arguments (`--auth-config FILE`, ...).
    fn start_with(db: &Path, artifacts: &Path, extra: &[&str]) -> Self {
        let mut last = String::new();
        // The port is free when we look; another process may take it before the server binds,
        // so try a few.
        for attempt in 0..3 {
            let port = free_port();
            let log = db.with_extension(format!("server-{port}-{attempt}.log"));
            let log_file = std::fs::File::create(&log).expect("creating the server log");
            let child = Command::new(env!("CARGO_BIN_EXE_smelt"))
                .arg("server")
                .arg("--backend-store-uri")
                .arg(format!("sqlite:///{}", db.display()))
                .arg("--artifacts-destination")
                .arg(artifacts)
                .args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(extra)
                .env("NO_COLOR", "1")
                .env_remove("SMELT_BACKEND_STORE_URI")
                .env_remove("SMELT_ARTIFACTS_DESTINATION")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("spawning smelt server");
            let mut server = Self {
                child,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                log,
            };
            if server.wait_healthy() {
                return server;
            }
            last = server.log_text();
        }
        panic!("smelt server did not become healthy; its log:\n{last}");
    }

    fn wait_healthy(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            let r = Http::new(self.addr).request("GET", "/health", None);
            if r.is_ok_and(|r| r.status == 200) {
                return true;
            }
            thread::sleep(Duration::from_millis(25));
        }
        false
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn http(&self) -> Http {
        Http::new(self.addr)
    }

    /// SIGKILL (what `Child::kill` sends on unix), then reap.
    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    l.local_addr().expect("local address").port()
}

// ---------------------------------------------------------------------------------------------
// A tiny HTTP/1.1 client.

/// One answer.
#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {:?}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a 200 and returns the JSON body.
    fn ok(&self, what: &str) -> Value {
        assert_eq!(self.status, 200, "{what}: {}", self.text());
        self.json()
    }

    /// Asserts MLflow's error shape, a status in `statuses`, and returns the error code.
    fn mlflow_error(&self, statuses: &[u16], what: &str) -> String {
        assert!(
            statuses.contains(&self.status),
            "{what}: expected one of {statuses:?}, got {}: {}",
            self.status,
            self.text()
        );
        let v = self.json();
        let code = v["error_code"].as_str().unwrap_or_else(|| {
            panic!("{what}: no error_code in {v}");
        });
        assert!(v["message"].is_string(), "{what}: no message in {v}");
        code.to_string()
    }
}

/// A keep-alive connection to one server.
struct Http {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Http {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    fn connect(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, IO_TIMEOUT)?;
            s.set_read_timeout(Some(IO_TIMEOUT))?;
            s.set_write_timeout(Some(IO_TIMEOUT))?;
            s.set_nodelay(true)?;
            self.conn = Some(BufReader::new(s));
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    /// Sends one request (`target` goes on the request line exactly as given) and reads the
    /// answer. Any error drops the connection; nothing is retried.
    fn request(
        &mut self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
    ) -> std::io::Result<Reply> {
        self.request_with(method, target, body, &mut |w, b| w.write_all(b))
    }

    /// Like `request`, writing the body through `send` (to pace an upload).
    fn request_with(
        &mut self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
        send: &mut dyn FnMut(&mut TcpStream, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Reply> {
        let r = self.request_inner(method, target, body, send);
        let keep = r.as_ref().is_ok_and(|reply| {
            !reply
                .header("connection")
                .is_some_and(|c| c.eq_ignore_ascii_case("close"))
        });
        if !keep {
            self.conn = None;
        }
        r
    }

    fn request_inner(
        &mut self,
        method: &str,
        target: &str,
        body: Option<&[u8]>,
        send: &mut dyn FnMut(&mut TcpStream, &[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<Reply> {
        let host = self.addr;
        let conn = self.connect()?;
        let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {host}\r\n");
        if let Some(b) = body {
            head.push_str(&format!(
                "Content-Type: application/json\r\nContent-Length: {}\r\n",
                b.len()
            ));
        }
        head.push_str("\r\n");
        let stream = conn.get_mut();
        match body {
            // One write for a small request, so that the server sees the whole body with the
            // head (a server that answers without reading the body keeps the connection only if
            // the body already arrived).
            Some(b) if b.len() <= 64 << 10 => {
                let mut all = head.into_bytes();
                all.extend_from_slice(b);
                send(stream, &all)?;
            }
            Some(b) => {
                stream.write_all(head.as_bytes())?;
                send(stream, b)?;
            }
            None => stream.write_all(head.as_bytes())?,
        }
        stream.flush()?;
        read_reply(conn)
    }

    fn get(&mut self, target: &str) -> Reply {
        self.request("GET", target, None)
            .unwrap_or_else(|e| panic!("GET {target}: {e}"))
    }

    fn post(&mut self, target: &str, body: &Value) -> Reply {
        self.request("POST", target, Some(body.to_string().as_bytes()))
            .unwrap_or_else(|e| panic!("POST {target}: {e}"))
    }

    fn send_raw(&mut self, method: &str, target: &str, body: &[u8]) -> Reply {
        self.request(method, target, Some(body))
            .unwrap_or_else(|e| panic!("{method} {target}: {e}"))
    }
}

fn read_reply(conn: &mut BufReader<TcpStream>) -> std::io::Result<Reply> {
    let bad = |what: String| std::io::Error::new(std::io::ErrorKind::InvalidData, what);
    let mut line = String::new();
    if conn.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before the status line",
        ));
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if conn.read_line(&mut line)? == 0 {
            return Err(bad("connection closed in the headers".into()));
        }
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let (k, v) = l
            .split_once(':')
            .ok_or_else(|| bad(format!("bad header line {l:?}")))?;
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if find("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        loop {
            line.clear();
            conn.read_line(&mut line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad(format!("bad chunk size {line:?}")))?;
            if size == 0 {
                // Trailers, up to the blank line.
                loop {
                    line.clear();
                    if conn.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
                        break;
                    }
                }
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            conn.read_exact(&mut body[start..])?;
            line.clear();
            conn.read_line(&mut line)?;
        }
    } else if let Some(len) = find("content-length") {
        let len: usize = len
            .parse()
            .map_err(|_| bad(format!("bad content-length {len:?}")))?;
        body.resize(len, 0);
        conn.read_exact(&mut body)?;
    }
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

// ---------------------------------------------------------------------------------------------
// Helpers over the MLflow API.

const API: &str = "/api/2.0/mlflow";
const KEY: &str = "loss";

fn create_run(http: &mut Http, name: &str) -> String {
    let v = http
        .post(
            &format!("{API}/runs/create"),
            &json!({ "experiment_id": "0", "run_name": name, "start_time": now_ms() }),
        )
        .ok("runs/create");
    v["run"]["info"]["run_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no run_id in {v}"))
        .to_string()
}

/// A log-batch body of `n` points of [`KEY`] at steps `first..first+n`, value = step.
fn batch_body(run_id: &str, first: i64, n: i64) -> Vec<u8> {
    let ts = now_ms();
    let metrics: Vec<Value> = (first..first + n)
        .map(|step| json!({ "key": KEY, "value": step as f64, "timestamp": ts, "step": step }))
        .collect();
    json!({ "run_id": run_id, "metrics": metrics })
        .to_string()
        .into_bytes()
}

fn metric_body(run_id: &str, step: i64) -> Vec<u8> {
    json!({ "run_id": run_id, "key": KEY, "value": step as f64, "timestamp": now_ms(), "step": step })
        .to_string()
        .into_bytes()
}

/// Every point of [`KEY`] in a run's history, page by page.
fn history_steps(http: &mut Http, run_id: &str) -> Vec<(i64, f64)> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut target =
            format!("{API}/metrics/get-history?run_id={run_id}&metric_key={KEY}&max_results=25000");
        if let Some(t) = &token {
            target.push_str(&format!("&page_token={}", url_encode(t)));
        }
        let v = http.get(&target).ok("metrics/get-history");
        for m in v["metrics"].as_array().into_iter().flatten() {
            let step = m["step"]
                .as_i64()
                .or_else(|| m["step"].as_str().and_then(|s| s.parse().ok()))
                .unwrap_or_else(|| panic!("no step in {m}"));
            let value = m["value"]
                .as_f64()
                .unwrap_or_else(|| panic!("no value in {m}"));
            out.push((step, value));
        }
        match v["next_page_token"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out
}

/// The run's latest value of [`KEY`] (as `runs/get` shows it), with its step.
fn latest(http: &mut Http, run_id: &str) -> Option<(i64, f64)> {
    let v = http
        .get(&format!("{API}/runs/get?run_id={run_id}"))
        .ok("runs/get");
    let m = v["run"]["data"]["metrics"]
        .as_array()?
        .iter()
        .find(|m| m["key"] == KEY)?
        .clone();
    let step = m["step"]
        .as_i64()
        .or_else(|| m["step"].as_str().and_then(|s| s.parse().ok()))?;
    Some((step, m["value"].as_f64()?))
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every file under `dir`, recursively (links not followed).
fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            match entry.file_type() {
                Ok(t) if t.is_dir() => stack.push(entry.path()),
                Ok(_) => out.push(entry.path()),
                Err(_) => {}
            }
        }
    }
    out
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("smelt-server-it-")
        .tempdir()
        .expect("creating a temporary directory")
}

// ---------------------------------------------------------------------------------------------
// 1. Load.

/// 32 clients, each with its own run, log batches of 100 points and single points for
/// `SMELT_LOAD_SECONDS` (60 by default); every acknowledged point must come back.
#[test]
fn load_32_clients_every_point_counted() {
    const CLIENTS: usize = 32;
    let seconds: u64 = std::env::var("SMELT_LOAD_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let dir = tempdir();
    let server = Server::start(&dir.path().join("db.sqlite"), &dir.path().join("art"));
    let addr = server.addr;
    let mut setup = server.http();
    let runs: Vec<String> = (0..CLIENTS)
        .map(|i| create_run(&mut setup, &format!("load-{i}")))
        .collect();

    let start = Instant::now();
    let deadline = start + Duration::from_secs(seconds);
    let workers: Vec<_> = runs
        .iter()
        .cloned()
        .map(|run| {
            thread::spawn(move || {
                let mut http = Http::new(addr);
                let (mut step, mut requests) = (0i64, 0u64);
                while Instant::now() < deadline {
                    let r = http
                        .request(
                            "POST",
                            &format!("{API}/runs/log-batch"),
                            Some(&batch_body(&run, step, 100)),
                        )
                        .unwrap_or_else(|e| panic!("log-batch: {e}"));
                    assert_eq!(r.status, 200, "log-batch: {}", r.text());
                    step += 100;
                    let r = http
                        .request(
                            "POST",
                            &format!("{API}/runs/log-metric"),
                            Some(&metric_body(&run, step)),
                        )
                        .unwrap_or_else(|e| panic!("log-metric: {e}"));
                    assert_eq!(r.status, 200, "log-metric: {}", r.text());
                    step += 1;
                    requests += 2;
                }
                (run, step, requests)
            })
        })
        .collect();
    let results: Vec<(String, i64, u64)> = workers
        .into_iter()
        .map(|w| w.join().expect("a load client panicked"))
        .collect();
    let elapsed = start.elapsed().as_secs_f64();
    let points: i64 = results.iter().map(|r| r.1).sum();
    let requests: u64 = results.iter().map(|r| r.2).sum();
    eprintln!(
        "load: {CLIENTS} clients, {elapsed:.1} s: {points} points acknowledged in {requests} requests \
         = {:.0} points/s, {:.0} requests/s",
        points as f64 / elapsed,
        requests as f64 / elapsed
    );

    let count_start = Instant::now();
    let mut http = server.http();
    for (run, acked, _) in &results {
        let history = history_steps(&mut http, run);
        assert_eq!(
            history.len() as i64,
            *acked,
            "run {run}: points acknowledged vs stored"
        );
        let steps: Vec<i64> = history.iter().map(|p| p.0).collect();
        assert!(
            steps.iter().copied().eq(0..*acked),
            "run {run}: the steps are not exactly 0..{acked}"
        );
        assert!(history.iter().all(|(s, v)| *s as f64 == *v));
        if *acked > 0 {
            assert_eq!(
                latest(&mut http, run),
                Some((acked - 1, (acked - 1) as f64))
            );
        }
    }
    eprintln!(
        "load: counted {points} points back in {:.1} s",
        count_start.elapsed().as_secs_f64()
    );
    assert!(points > 0, "no point was logged");
}

// ---------------------------------------------------------------------------------------------
// 2. kill -9.

/// One writer's acknowledged range: steps `0..acked` of its run.
struct Writer {
    run: String,
    acked: i64,
}

/// Writers log batches and upload artifacts; the server is SIGKILLed in the middle, restarted
/// on the same store, and every acknowledged write must be there, whole.
#[test]
fn kill_9_mid_load_keeps_acknowledged_writes() {
    const WRITERS: usize = 8;
    const BATCH: i64 = 100;
    const FILE: usize = 4 << 20;
    let dir = tempdir();
    let (db, art) = (dir.path().join("db.sqlite"), dir.path().join("art"));
    let mut server = Server::start(&db, &art);
    let addr = server.addr;
    let mut setup = server.http();
    let runs: Vec<String> = (0..WRITERS)
        .map(|i| create_run(&mut setup, &format!("crash-{i}")))
        .collect();
    let stop = Arc::new(AtomicBool::new(false));

    let writers: Vec<_> = runs
        .iter()
        .cloned()
        .map(|run| {
            let stop = Arc::clone(&stop);
            thread::spawn(move || {
                let mut http = Http::new(addr);
                let mut acked = 0i64;
                while !stop.load(Ordering::Relaxed) {
                    let body = batch_body(&run, acked, BATCH);
                    match http.request("POST", &format!("{API}/runs/log-batch"), Some(&body)) {
                        Ok(r) if r.status == 200 => acked += BATCH,
                        Ok(r) => panic!("log-batch before the kill: {} {}", r.status, r.text()),
                        Err(_) => break, // The server is gone.
                    }
                }
                Writer { run, acked }
            })
        })
        .collect();

    // Uploaders: one fast, one paced so that the kill lands in the middle of a body.
    let content: Arc<Vec<u8>> = Arc::new((0..FILE).map(|i| (i % 251) as u8).collect());
    let acked_files = Arc::new(Mutex::new(Vec::<String>::new()));
    let uploaders: Vec<_> = [Duration::ZERO, Duration::from_millis(15)]
        .into_iter()
        .enumerate()
        .map(|(u, pace)| {
            let (stop, content, acked_files) = (
                Arc::clone(&stop),
                Arc::clone(&content),
                Arc::clone(&acked_files),
            );
            thread::spawn(move || {
                let mut http = Http::new(addr);
                for i in 0.. {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let name = format!("crash/u{u}/file-{i}.bin");
                    let target = format!("/api/2.0/mlflow-artifacts/artifacts/{name}");
                    let mut paced = |s: &mut TcpStream, b: &[u8]| {
                        for chunk in b.chunks(64 << 10) {
                            s.write_all(chunk)?;
                            if !pace.is_zero() {
                                thread::sleep(pace);
                            }
                        }
                        Ok(())
                    };
                    match http.request_with("PUT", &target, Some(&content), &mut paced) {
                        Ok(r) if r.status == 200 => acked_files.lock().expect("lock").push(name),
                        Ok(r) => panic!("upload before the kill: {} {}", r.status, r.text()),
                        // Cut by the kill: this one may or may not have landed, whole.
                        Err(_) => return Some(name),
                    }
                }
                None
            })
        })
        .collect();

    thread::sleep(Duration::from_secs(3));
    server.kill();
    stop.store(true, Ordering::Relaxed);
    let writers: Vec<Writer> = writers
        .into_iter()
        .map(|w| w.join().expect("a writer panicked"))
        .collect();
    let interrupted: Vec<String> = uploaders
        .into_iter()
        .filter_map(|u| u.join().expect("an uploader panicked"))
        .collect();
    let acked_files = acked_files.lock().expect("lock").clone();
    let acked: i64 = writers.iter().map(|w| w.acked).sum();
    eprintln!(
        "crash: killed with {acked} points and {} files acknowledged",
        acked_files.len()
    );
    assert!(acked > 0, "nothing was acknowledged before the kill");

    // Restart on the same store: migrations and WAL recovery must go through.
    let server = Server::start(&db, &art);
    let mut http = server.http();
    for w in &writers {
        let history = history_steps(&mut http, &w.run);
        let steps: BTreeSet<i64> = history.iter().map(|p| p.0).collect();
        assert_eq!(steps.len(), history.len(), "run {}: a step twice", w.run);
        // Batches are transactions: the stored steps are the acknowledged ones plus, at most,
        // the whole batch that was in flight.
        let n = history.len() as i64;
        assert!(
            n == w.acked || n == w.acked + BATCH,
            "run {}: {} acknowledged, {n} stored",
            w.run,
            w.acked
        );
        assert!(
            steps.iter().copied().eq(0..n),
            "run {}: the stored steps are not 0..{n}",
            w.run
        );
        // The latest value agrees with the history.
        let expect = history.iter().max_by_key(|p| p.0).copied();
        assert_eq!(
            latest(&mut http, &w.run),
            expect,
            "run {}: latest metric",
            w.run
        );
        // New writes work.
        let r = http.send_raw(
            "POST",
            &format!("{API}/runs/log-batch"),
            &batch_body(&w.run, n, 10),
        );
        r.ok("log-batch after the restart");
        assert_eq!(history_steps(&mut http, &w.run).len() as i64, n + 10);
    }
    create_run(&mut http, "after-the-crash");

    // Artifacts: whatever is listed is whole; everything acknowledged is listed and reads back.
    let mut listed = BTreeSet::new();
    for u in ["crash/u0", "crash/u1"] {
        let v = http
            .get(&format!("/api/2.0/mlflow-artifacts/artifacts?path={u}"))
            .ok("artifact listing");
        for f in v["files"].as_array().into_iter().flatten() {
            let name = format!("{u}/{}", f["path"].as_str().unwrap_or_default());
            assert_eq!(
                f["file_size"].as_u64(),
                Some(FILE as u64),
                "{name} is listed with a partial size"
            );
            listed.insert(name);
        }
    }
    for name in &acked_files {
        assert!(listed.contains(name), "acknowledged upload {name} is gone");
    }
    for name in &interrupted {
        let state = if listed.contains(name) {
            "whole"
        } else {
            "absent"
        };
        eprintln!("crash: upload cut by the kill: {name} is {state}");
    }
    let staging = walk_files(&art)
        .iter()
        .filter(|p| p.to_string_lossy().contains('#'))
        .count();
    eprintln!("crash: {staging} staging file(s) left on disk (never listed)");
    for name in interrupted
        .iter()
        .filter(|n| listed.contains(*n))
        .chain(listed.iter().rev().take(2))
    {
        let r = http.get(&format!("/api/2.0/mlflow-artifacts/artifacts/{name}"));
        assert_eq!(r.status, 200, "{name}");
        assert!(r.body == *content, "{name} reads back different bytes");
    }
    eprintln!(
        "crash: after the restart, {} files listed, all whole",
        listed.len()
    );
}

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
    let (store, base) = t
        .resolve_artifacts(&run.info.artifact_uri)
        .expect("artifacts");
    let path = base
        .join("model")
        .and_then(|p| p.join("model.json"))
        .expect("path");
    let stored = t
        .block_on(store.get_bytes(&path))
        .expect("model.json on the server");
    assert_eq!(
        &stored[..],
        &std::fs::read(out.join("model.json")).expect("local")[..]
    );
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
