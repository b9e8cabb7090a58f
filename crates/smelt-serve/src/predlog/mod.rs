//! Prediction logging: every scored request — request id, time, model and version, inputs,
//! outputs, latency — written to rotating Parquet files off the hot path. These files are what
//! monitoring (drift detection) reads, so their layout below is a contract.
//!
//! # On the request path
//!
//! [`PredictionLog::record`] only moves an [`Entry`] (boxed) into a bounded queue
//! (`queue` entries); it never blocks and never waits for a disk. When the queue is full the
//! entry is dropped and counted ([`PredictionLog::dropped`]): a slow disk costs log records,
//! never request latency. [`PredictionLog::sampled`] decides, before the caller copies anything,
//! whether this request is logged (`sample`: the fraction logged, spread evenly over requests).
//! One background thread (`smelt-predlog`) turns entries into columns and writes the files.
//!
//! # Layout
//!
//! ```text
//! DIR/model=<model>/version=<version>/date=<YYYY-MM-DD>/part-<YYYYMMDDTHHMMSSZ>-<seq>-<writer>.parquet
//! ```
//!
//! * Hive-style partitions: `model`, `version` and `date` (the UTC date of the rows' `time`).
//!   Partition values are percent-encoded: letters, digits, `-`, `_` and `.` stay, every other
//!   byte becomes `%XX` (so a path never holds a separator, and polars, pyarrow and DuckDB decode
//!   the value back to the model or version as served). A file never spans two dates.
//! * `part-…`: the UTC time of the file's first row, a sequence number counting this writer's
//!   files from 1 (six digits or more), and 8 hex digits naming the writer (process), so servers
//!   sharing `DIR` never overwrite each other's files. Names sort by time within a folder.
//! * One table per model version: columns differ between models (their features and outputs) and
//!   may differ between versions. Read a version with polars'
//!   `scan_parquet("DIR/model=M/version=V/**/*.parquet")` (hive partitioning on; the glob leaves
//!   out a `.tmp` file being written, which a plain folder scan would refuse to mix with the
//!   `.parquet` files for the few milliseconds it exists), `pd.read_parquet("DIR/model=M/version=V")`
//!   (pyarrow, which skips files starting with `.`), or DuckDB's
//!   `read_parquet('DIR/model=M/version=V/**/*.parquet', hive_partitioning = true)`. The `model`
//!   and `version` partitions repeat the file columns of the same names (polars keeps the
//!   file's string type for them; `date` is read as a date).
//!
//! # Columns
//!
//! One row per scored row (a request of 3 rows gives 3 rows), in this order:
//!
//! | column | type | |
//! |---|---|---|
//! | `request_id` | string | the request's id as the server gave it (else `<writer>-<n>`, made by the log); shared by its rows |
//! | `time` | `datetime[µs, UTC]` | when the request arrived |
//! | `model` | string | endpoint name |
//! | `version` | string | version label |
//! | `protocol` | string | `oip`, `mlflow`, `predict`, or `shadow` for a challenger's shadow scoring |
//! | `latency_us` | u64 | request latency in microseconds (decode to prediction) |
//! | `row` | u32 | index of the row within its request, from 0 |
//! | *one per input feature* | natural type | in the model's feature order, named as the feature |
//! | `prediction` | string / f64 / i64 | class label (classifiers), value (regression), cluster id (clustering; -1 is noise) |
//! | `proba_<class>` | f64 | one per class in the model's class order, classifiers with probabilities only |
//!
//! Feature columns: numeric → f64; integer → i64 (a non-integral value a client sent is rounded);
//! boolean → bool; categorical → string (the category, not its code); datetime → `datetime[µs]` (no
//! time zone, as in Smelt's canonical frames, values UTC). Missing values are nulls. A feature
//! whose name is taken by a fixed or output column above, or by the `date` partition, is written
//! as `feature_<name>` (more `feature_` prefixes until the name is free).
//!
//! # Rotation and atomicity
//!
//! Rows are buffered in memory per model version and written as one file (zstd-compressed)
//! once `rotate_rows` rows are buffered (a file may pass it by one request's rows), once its
//! first row is `rotate_seconds` old, when a row's date differs from the file's, when the model
//! version's inputs or outputs change under the same labels, on [`PredictionLog::flush`], and on
//! [`PredictionLog::close`] (or drop). A file is written to `.<name>.tmp` in its folder, flushed
//! to disk (`fsync`), renamed to its name, and the folder is synced: a reader never sees a half
//! file under a `.parquet` name. A process killed outright loses what it had buffered (at most
//! `rotate_rows` rows or `rotate_seconds` per model version) and may leave a `.tmp` file.
//!
//! A failed write (disk full, permissions) is logged (`tracing::warn!`) and counted
//! ([`LogStats::write_errors`], [`LogStats::rows_lost`]); its rows are discarded and logging goes on.

mod part;
mod writer;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crossbeam_channel::{Sender, TrySendError};
use serde::Deserialize;
use smelt_core::{Feature, Prediction};

use crate::decode::Rows;
use crate::error::{Result, ServeError};
use writer::{Msg, Writer};

/// The `[log]` section of the server's configuration.
///
/// ```toml
/// [log]
/// dir = "/var/lib/smelt/predictions"
/// rotate_rows = 100000      # a file is closed after this many rows …
/// rotate_seconds = 3600     # … or once its first row is this old
/// queue = 65536             # records waiting for the writer; beyond that they are dropped
/// sample = 1.0              # fraction of requests logged
/// ```
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// The folder the partitions go under (created if missing).
    pub dir: PathBuf,
    /// Rows after which a file is closed.
    #[serde(default = "default_rotate_rows")]
    pub rotate_rows: usize,
    /// Seconds after which a file is closed.
    #[serde(default = "default_rotate_seconds")]
    pub rotate_seconds: u64,
    /// Entries that may wait for the writer.
    #[serde(default = "default_queue")]
    pub queue: usize,
    /// Fraction of requests logged, 0–1.
    #[serde(default = "default_sample")]
    pub sample: f64,
}

fn default_rotate_rows() -> usize {
    100_000
}

fn default_rotate_seconds() -> u64 {
    3600
}

fn default_queue() -> usize {
    65_536
}

fn default_sample() -> f64 {
    1.0
}

impl LogConfig {
    /// Defaults, writing under `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LogConfig {
        LogConfig {
            dir: dir.into(),
            rotate_rows: default_rotate_rows(),
            rotate_seconds: default_rotate_seconds(),
            queue: default_queue(),
            sample: default_sample(),
        }
    }

    /// Checks the limits.
    pub fn check(&self) -> Result<()> {
        let bad = |m: &str| Err(ServeError::Config(format!("log.{m}")));
        if self.dir.as_os_str().is_empty() {
            return bad("dir must name a folder");
        }
        if self.rotate_rows == 0 {
            return bad("rotate_rows must be at least 1");
        }
        if self.rotate_seconds == 0 {
            return bad("rotate_seconds must be at least 1");
        }
        if self.queue == 0 {
            return bad("queue must be at least 1");
        }
        if !(0.0..=1.0).contains(&self.sample) {
            return bad(&format!(
                "sample must be between 0 and 1, got {}",
                self.sample
            ));
        }
        Ok(())
    }
}

/// What the log needs to know about a loaded model version: built once when the version is
/// loaded and shared by all its entries (an `Arc` clone per request, no string copies).
#[derive(Clone, Debug, PartialEq)]
pub struct VersionInfo {
    /// Endpoint name.
    pub model: String,
    /// Version label.
    pub version: String,
    /// Input features in the model's order (the columns of [`Rows`]).
    pub features: Vec<Feature>,
}

impl VersionInfo {
    /// Shared description of a model version.
    pub fn new(model: &str, version: &str, features: &[Feature]) -> Arc<VersionInfo> {
        Arc::new(VersionInfo {
            model: model.to_string(),
            version: version.to_string(),
            features: features.to_vec(),
        })
    }
}

/// One scored request.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The request's id (empty: the writer makes one, unique in the log).
    pub request_id: String,
    /// When the request arrived.
    pub time: SystemTime,
    /// The version that scored it.
    pub version: Arc<VersionInfo>,
    /// `oip`, `mlflow`, `predict` ([`crate::Protocol::label`]) or `shadow`.
    pub protocol: &'static str,
    /// Latency in microseconds.
    pub latency_us: u64,
    /// The request's feature matrix, as scored.
    pub rows: Rows,
    /// The model's answer for those rows.
    pub prediction: Prediction,
}

/// Counts since the log started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LogStats {
    /// Entries queued for the writer.
    pub recorded: u64,
    /// Entries dropped because the queue was full (or the log closed).
    pub dropped: u64,
    /// Rows written to files.
    pub rows_written: u64,
    /// Files written.
    pub files_written: u64,
    /// Files that failed to write.
    pub write_errors: u64,
    /// Rows lost to failed writes or malformed entries.
    pub rows_lost: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    recorded: AtomicU64,
    dropped: AtomicU64,
    rows_written: AtomicU64,
    files_written: AtomicU64,
    write_errors: AtomicU64,
    rows_lost: AtomicU64,
}

impl Counters {
    fn stats(&self) -> LogStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        LogStats {
            recorded: get(&self.recorded),
            dropped: get(&self.dropped),
            rows_written: get(&self.rows_written),
            files_written: get(&self.files_written),
            write_errors: get(&self.write_errors),
            rows_lost: get(&self.rows_lost),
        }
    }
}

/// The prediction log: a queue and the thread that writes it. Share it behind an `Arc` (all
/// methods take `&self`); closing it flushes every buffered row.
pub struct PredictionLog {
    tx: Sender<Msg>,
    counters: Arc<Counters>,
    sample: f64,
    ticket: AtomicU64,
    thread: Mutex<Option<JoinHandle<()>>>,
    dir: PathBuf,
}

impl std::fmt::Debug for PredictionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PredictionLog")
            .field("dir", &self.dir)
            .field("sample", &self.sample)
            .field("queued", &self.tx.len())
            .field("stats", &self.counters.stats())
            .finish()
    }
}

impl PredictionLog {
    /// Checks `config`, creates its folder (failing now, not at the first write, when it cannot
    /// be written) and starts the writer thread.
    pub fn start(config: &LogConfig) -> Result<PredictionLog> {
        Self::start_with(config, Duration::from_secs(config.rotate_seconds))
    }

    fn start_with(config: &LogConfig, rotate_after: Duration) -> Result<PredictionLog> {
        config.check()?;
        let io = |source| ServeError::Io {
            path: config.dir.clone(),
            source,
        };
        std::fs::create_dir_all(&config.dir).map_err(io)?;
        let writer_id = writer::writer_id();
        let probe = config.dir.join(format!(".smelt-probe-{writer_id}"));
        std::fs::write(&probe, b"").map_err(io)?;
        let _ = std::fs::remove_file(&probe);
        let (tx, rx) = crossbeam_channel::bounded(config.queue);
        let counters = Arc::new(Counters::default());
        let writer = Writer::new(
            config.dir.clone(),
            config.rotate_rows,
            rotate_after,
            writer_id,
            counters.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("smelt-predlog".into())
            .spawn(move || writer.run(&rx))
            .map_err(|e| ServeError::Config(format!("starting the prediction log writer: {e}")))?;
        Ok(PredictionLog {
            tx,
            counters,
            sample: config.sample,
            ticket: AtomicU64::new(0),
            thread: Mutex::new(Some(thread)),
            dir: config.dir.clone(),
        })
    }

    /// Whether to log the next request (call once per request, before copying its rows): a
    /// `sample` share of requests, spread evenly (a low-discrepancy sequence, no randomness).
    pub fn sampled(&self) -> bool {
        if self.sample >= 1.0 {
            return true;
        }
        if self.sample <= 0.0 {
            return false;
        }
        let n = self.ticket.fetch_add(1, Ordering::Relaxed);
        let x = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
        x < self.sample
    }

    /// Queues an entry for the writer. Never blocks: when the queue is full (or the log is
    /// closed) the entry is dropped and counted.
    pub fn record(&self, entry: Entry) {
        match self.tx.try_send(Msg::Entry(Box::new(entry))) {
            Ok(()) => {
                self.counters.recorded.fetch_add(1, Ordering::Relaxed);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                let dropped = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // At the 1st, 2nd, 4th, 8th … drop: a trace of the trouble without a flood.
                if dropped.is_power_of_two() {
                    tracing::warn!(
                        dropped,
                        queue = self.tx.capacity().unwrap_or(0),
                        "prediction log queue full: entries dropped (the writer is behind)"
                    );
                }
            }
        }
    }

    /// Entries dropped so far.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Entries waiting for the writer.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }

    /// Counts since the start.
    pub fn stats(&self) -> LogStats {
        self.counters.stats()
    }

    /// The folder written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes every buffered row to files now and waits until done (not for the request path).
    pub fn flush(&self) {
        let (ack, done) = crossbeam_channel::bounded(1);
        if self.tx.send(Msg::Flush(ack)).is_ok() {
            let _ = done.recv();
        }
    }

    /// Writes everything queued and buffered, and stops the writer (waiting for it). Later
    /// entries are dropped. Idempotent; dropping the log does the same.
    pub fn close(&self) -> LogStats {
        let handle = match self.thread.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = self.tx.send(Msg::Close);
            if handle.join().is_err() {
                tracing::warn!("the prediction log writer panicked; buffered rows are lost");
            }
        }
        self.counters.stats()
    }

    /// Test hook: the writer stops at this message until `release` gets a value or is dropped;
    /// `entered` hears when it got there.
    #[cfg(test)]
    fn pause(&self) -> (Sender<()>, crossbeam_channel::Receiver<()>) {
        let (entered_tx, entered) = crossbeam_channel::bounded(1);
        let (release, release_rx) = crossbeam_channel::bounded(1);
        let sent = self.tx.send(Msg::Pause {
            entered: entered_tx,
            release: release_rx,
        });
        assert!(sent.is_ok(), "writer gone");
        (release, entered)
    }
}

impl Drop for PredictionLog {
    fn drop(&mut self) {
        self.close();
    }
}
