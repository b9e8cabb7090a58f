//! The writer thread: entries become columns ([`Part`]), buffered per model version; a full or
//! old buffer becomes one Parquet file, written to a hidden `.tmp` name, synced and renamed.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use chrono::DateTime;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use smelt_core::Prediction;
use smelt_core::predlog::encode_partition as encode;
use smelt_data::polars::prelude::{ParquetCompression, ParquetWriter};

use super::part::Part;
use super::{Counters, Entry};

/// What the queue carries.
pub(crate) enum Msg {
    Entry(Box<Entry>),
    Flush(Sender<()>),
    Close,
    #[cfg(test)]
    Pause {
        entered: Sender<()>,
        release: Receiver<()>,
    },
}

const DAY_US: i64 = 86_400_000_000;

/// 8 hex digits naming this writer in file names (process id, clock and a random key).
pub(super) fn writer_id() -> String {
    use std::hash::BuildHasher;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let h = std::hash::RandomState::new().hash_one((std::process::id(), nanos));
    format!("{:08x}", h as u32)
}

pub(super) struct Writer {
    dir: PathBuf,
    rotate_rows: usize,
    rotate_after: Duration,
    id: String,
    seq: u64,
    made_ids: u64,
    counters: Arc<Counters>,
    /// One buffer per model version with rows waiting (a handful: a linear scan).
    open: Vec<Part>,
}

impl Writer {
    pub(super) fn new(
        dir: PathBuf,
        rotate_rows: usize,
        rotate_after: Duration,
        id: String,
        counters: Arc<Counters>,
    ) -> Writer {
        Writer {
            dir,
            rotate_rows,
            rotate_after,
            id,
            seq: 0,
            made_ids: 0,
            counters,
            open: Vec::new(),
        }
    }

    pub(super) fn run(mut self, rx: &Receiver<Msg>) {
        loop {
            let msg = match self.next_deadline() {
                Some(at) => match rx.recv_deadline(at) {
                    Ok(m) => Some(m),
                    Err(RecvTimeoutError::Timeout) => None,
                    Err(RecvTimeoutError::Disconnected) => break,
                },
                None => match rx.recv() {
                    Ok(m) => Some(m),
                    Err(_) => break,
                },
            };
            match msg {
                Some(Msg::Entry(e)) => self.add(*e),
                Some(Msg::Flush(ack)) => {
                    self.write_all();
                    let _ = ack.send(());
                }
                Some(Msg::Close) => {
                    // What was queued before the close still goes in.
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Entry(e) => self.add(*e),
                            Msg::Flush(ack) => {
                                let _ = ack.send(());
                            }
                            _ => {}
                        }
                    }
                    break;
                }
                #[cfg(test)]
                Some(Msg::Pause { entered, release }) => {
                    let _ = entered.send(());
                    let _ = release.recv();
                }
                None => {}
            }
            self.rotate_old();
        }
        self.write_all();
    }

    fn next_deadline(&self) -> Option<Instant> {
        self.open.iter().map(|p| p.opened + self.rotate_after).min()
    }

    fn rotate_old(&mut self) {
        let now = Instant::now();
        let mut i = 0;
        while i < self.open.len() {
            if now >= self.open[i].opened + self.rotate_after {
                let part = self.open.swap_remove(i);
                self.write(part);
            } else {
                i += 1;
            }
        }
    }

    fn write_all(&mut self) {
        for part in std::mem::take(&mut self.open) {
            self.write(part);
        }
    }

    fn add(&mut self, mut e: Entry) {
        if let Err(why) = check(&e) {
            self.counters
                .rows_lost
                .fetch_add(e.rows.n as u64, Ordering::Relaxed);
            tracing::warn!(
                model = %e.version.model,
                version = %e.version.version,
                why,
                "prediction log: malformed entry skipped"
            );
            return;
        }
        if e.request_id.is_empty() {
            self.made_ids += 1;
            e.request_id = format!("{}-{}", self.id, self.made_ids);
        }
        let time_us = micros(e.time);
        let day = time_us.div_euclid(DAY_US);
        let mut at = self.open.iter().position(|p| {
            Arc::ptr_eq(&p.info, &e.version)
                || (p.info.model == e.version.model && p.info.version == e.version.version)
        });
        if let Some(i) = at
            && !self.open[i].fits(&e, day)
        {
            let part = self.open.swap_remove(i);
            self.write(part);
            at = None;
        }
        let i = match at {
            Some(i) => i,
            None => {
                self.open.push(Part::new(&e, day));
                self.open.len() - 1
            }
        };
        let part = &mut self.open[i];
        part.push(e, time_us);
        if part.rows >= self.rotate_rows {
            let part = self.open.swap_remove(i);
            self.write(part);
        }
    }

    /// Writes one file; a failure is counted and logged, never raised.
    fn write(&mut self, part: Part) {
        let rows = part.rows as u64;
        if rows == 0 {
            return;
        }
        self.seq += 1;
        let model = part.info.model.clone();
        let version = part.info.version.clone();
        let (dir, id, seq) = (&self.dir, &self.id, self.seq);
        let result = catch_unwind(AssertUnwindSafe(|| write_file(dir, id, seq, part)));
        let error = match result {
            Ok(Ok(path)) => {
                self.counters.files_written.fetch_add(1, Ordering::Relaxed);
                self.counters
                    .rows_written
                    .fetch_add(rows, Ordering::Relaxed);
                tracing::debug!(path = %path.display(), rows, "prediction log file written");
                return;
            }
            Ok(Err(e)) => e,
            Err(_) => "the Parquet writer panicked".to_string(),
        };
        self.counters.write_errors.fetch_add(1, Ordering::Relaxed);
        self.counters.rows_lost.fetch_add(rows, Ordering::Relaxed);
        tracing::warn!(
            model = %model,
            version = %version,
            rows,
            error = %error,
            "prediction log: writing a file failed; its rows are lost"
        );
    }
}

/// An entry whose parts disagree is skipped (the writer must never index out of bounds).
fn check(e: &Entry) -> Result<(), String> {
    let n = e.rows.n;
    let k = e.version.features.len();
    if u32::try_from(n).is_err() {
        return Err(format!("{n} rows"));
    }
    if Some(e.rows.values.len()) != n.checked_mul(k) {
        return Err(format!(
            "{} values for {n} rows of {k} features",
            e.rows.values.len()
        ));
    }
    if e.prediction.len() != n {
        return Err(format!("{} predictions for {n} rows", e.prediction.len()));
    }
    if let Prediction::Classification {
        labels,
        classes,
        proba,
    } = &e.prediction
    {
        if labels.iter().any(|&l| l as usize >= classes.len()) {
            return Err("a class code beyond the classes".into());
        }
        if let Some(p) = proba
            && (p.n_classes != classes.len() || p.values.len() != n * p.n_classes)
        {
            return Err(format!(
                "probabilities of {} classes ({} values) for {} classes and {n} rows",
                p.n_classes,
                p.values.len(),
                classes.len()
            ));
        }
    }
    Ok(())
}

/// Microseconds since 1970 (negative before).
fn micros(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_micros()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_micros()).unwrap_or(i64::MAX),
    }
}

fn write_file(dir: &Path, id: &str, seq: u64, part: Part) -> Result<PathBuf, String> {
    let first = part.first_time_us();
    let stamp = DateTime::from_timestamp_micros(first).unwrap_or_default();
    let folder = dir
        .join(format!("model={}", encode(&part.info.model)))
        .join(format!("version={}", encode(&part.info.version)))
        .join(format!("date={}", stamp.format("%Y-%m-%d")));
    let name = format!(
        "part-{}-{seq:06}-{id}.parquet",
        stamp.format("%Y%m%dT%H%M%SZ")
    );
    let path = folder.join(&name);
    let tmp = folder.join(format!(".{name}.tmp"));
    let mut df = part
        .frame()
        .map_err(|e| format!("building the table: {e}"))?;
    let io =
        |what: &str, p: &Path, e: &dyn std::fmt::Display| format!("{what} {}: {e}", p.display());
    std::fs::create_dir_all(&folder).map_err(|e| io("creating", &folder, &e))?;
    let written = (|| -> Result<(), String> {
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io("creating", &tmp, &e))?;
        let mut w = BufWriter::new(file);
        ParquetWriter::new(&mut w)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(&mut df)
            .map_err(|e| io("writing", &tmp, &e))?;
        w.flush().map_err(|e| io("writing", &tmp, &e))?;
        let file = w
            .into_inner()
            .map_err(|e| io("writing", &tmp, &e.error()))?;
        file.sync_all().map_err(|e| io("syncing", &tmp, &e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io("renaming", &tmp, &e))
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename itself reaches the disk with the folder's entry.
    if let Ok(d) = File::open(&folder) {
        let _ = d.sync_all();
    }
    Ok(path)
}
