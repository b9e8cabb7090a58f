//! `smelt server` end to end over real HTTP: a bounded load test that counts every metric point
//! back (`load.rs`), a kill -9 in the middle of writes (`crash.rs`), hostile requests — path
//! traversal in all its spellings, oversized and malformed bodies, filter injection
//! (`hostile.rs`) — and `smelt train` logging to a server (`remote.rs`). This file holds the
//! harness: the server process, an HTTP client and helpers over the MLflow API.
//!
//! The client is a few lines of HTTP/1.1 over `TcpStream` so that requests go out byte for byte
//! as written here (no client-side normalisation of `..` or `%2e`), with keep-alive and a
//! timeout on every read.

mod crash;
mod hostile;
mod load;
mod remote;

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
