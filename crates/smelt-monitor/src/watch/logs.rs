//! Reading the prediction logs `smelt serve --log-dir` writes (the layout is the contract at the
//! top of `smelt-serve`'s `predlog` module): the new files of one model, each read once, its
//! columns mapped to the reference's.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::{Path, PathBuf};

use smelt_data::polars::prelude::*;

use super::buffer::{Batch, Col};

pub use smelt_core::predlog::{
    decode_partition as decode, encode_partition as encode, feature_columns as log_names,
};

/// The models with logs under `dir` (decoded `model=` folder names), sorted.
pub fn models_present(dir: &Path) -> Vec<String> {
    let mut out: Vec<String> = partitions(dir, "model")
        .into_iter()
        .map(|(v, _)| v)
        .collect();
    out.sort();
    out
}

/// `(decoded value, folder)` of each `key=value` folder in `dir`.
fn partitions(dir: &Path, key: &str) -> Vec<(String, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let prefix = format!("{key}=");
    let mut out: Vec<(String, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let value = name.strip_prefix(&prefix)?;
            Some((decode(value), e.path()))
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

/// A monitored column: where it is in the log files and how it is read.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    /// The reference's name.
    pub name: String,
    /// The log file's column name.
    pub log: String,
    /// Categories: the shared label list (the reference's first, then those only logs have).
    pub dict: Option<Dict>,
}

/// A label list that grows as new categories are logged.
#[derive(Clone, Debug, Default)]
pub(crate) struct Dict {
    pub labels: Vec<String>,
    index: HashMap<String, u32>,
}

impl Dict {
    pub fn new(labels: &[String]) -> Dict {
        Dict {
            labels: labels.to_vec(),
            index: labels
                .iter()
                .enumerate()
                .map(|(k, l)| (l.clone(), k as u32))
                .collect(),
        }
    }

    fn code(&mut self, label: &str) -> u32 {
        if let Some(&c) = self.index.get(label) {
            return c;
        }
        let c = self.labels.len() as u32;
        self.labels.push(label.to_string());
        self.index.insert(label.to_string(), c);
        c
    }
}

/// What the log folder holds for the model.
#[derive(Debug)]
pub(crate) enum Listing {
    /// The folder does not exist.
    NoDir,
    /// No `model=` folder for this model (the models present).
    NoModel(Vec<String>),
    /// New files, `(version, path)`, in time order within each version.
    Files(Vec<(String, PathBuf)>),
}

/// The reader's memory: files read, files refused.
#[derive(Debug, Default)]
pub(crate) struct LogReader {
    dir: PathBuf,
    model: String,
    done: HashSet<PathBuf>,
    /// Bad files and their size when refused (retried when it changes, warned about once).
    bad: HashMap<PathBuf, u64>,
}

fn is_part(name: &str) -> bool {
    !name.starts_with('.') && name.starts_with("part-") && name.ends_with(".parquet")
}

impl LogReader {
    pub fn new(dir: &Path, model: &str) -> LogReader {
        LogReader {
            dir: dir.to_path_buf(),
            model: model.to_string(),
            ..LogReader::default()
        }
    }

    /// The model's folder.
    pub fn model_dir(&self) -> PathBuf {
        self.dir.join(format!("model={}", encode(&self.model)))
    }

    /// Files not read yet (dotfiles and `.tmp` files being written left out), by version, then
    /// date folder, then name (names sort by the time of their first row). Files that were
    /// read and have since been removed (log retention) are forgotten.
    pub fn list(&mut self) -> Listing {
        if !self.dir.is_dir() {
            return Listing::NoDir;
        }
        let model_dir = self.model_dir();
        if !model_dir.is_dir() {
            return Listing::NoModel(models_present(&self.dir));
        }
        let mut out = Vec::new();
        let mut present: HashSet<PathBuf> = HashSet::new();
        for (version, vdir) in partitions(&model_dir, "version") {
            for (_, ddir) in partitions(&vdir, "date") {
                let Ok(entries) = std::fs::read_dir(&ddir) else {
                    continue;
                };
                let mut files: Vec<PathBuf> = entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter(|e| is_part(&e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .inspect(|p| {
                        present.insert(p.clone());
                    })
                    .filter(|p| !self.done.contains(p))
                    .filter(|p| match self.bad.get(p) {
                        Some(&len) => std::fs::metadata(p).is_ok_and(|m| m.len() != len),
                        None => true,
                    })
                    .collect();
                files.sort();
                out.extend(files.into_iter().map(|p| (version.clone(), p)));
            }
        }
        self.done.retain(|p| present.contains(p));
        self.bad.retain(|p, _| present.contains(p));
        Listing::Files(out)
    }

    /// Reads one file; `None` when it cannot be read (warned about once, retried if its size
    /// changes). The file is remembered either way.
    pub fn read(
        &mut self,
        version: &str,
        path: &Path,
        slots: &mut [Slot],
        keys: bool,
    ) -> Option<Batch> {
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_file(path, slots, keys)
        }));
        let err = match read {
            Ok(Ok(mut batch)) => {
                self.done.insert(path.to_path_buf());
                self.bad.remove(path);
                batch.version = version.to_string();
                return Some(batch);
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "the reader failed on malformed data".to_string(),
        };
        let len = std::fs::metadata(path).map_or(0, |m| m.len());
        if self.bad.insert(path.to_path_buf(), len).is_none() {
            tracing::warn!(
                file = %path.display(),
                error = %err,
                "skipping a prediction log file that cannot be read (corrupt or partly written)"
            );
        }
        None
    }
}

fn series(df: &DataFrame, name: &str) -> Option<Series> {
    df.column(name)
        .ok()
        .map(|c| c.as_materialized_series().clone())
}

/// Microseconds of a `time` column (datetime of any unit, or integers taken as µs).
fn micros(s: &Series) -> PolarsResult<Vec<Option<i64>>> {
    let scale = match s.dtype() {
        DataType::Datetime(TimeUnit::Nanoseconds, _) => -1000,
        DataType::Datetime(TimeUnit::Milliseconds, _) => 1000,
        _ => 1,
    };
    let ints = s.cast(&DataType::Int64)?;
    Ok(ints
        .i64()?
        .iter()
        .map(|t| {
            t.map(|t| {
                if scale < 0 {
                    t.div_euclid(-scale)
                } else {
                    t.saturating_mul(scale)
                }
            })
        })
        .collect())
}

fn read_file(path: &Path, slots: &mut [Slot], keys: bool) -> PolarsResult<Batch> {
    let mut reader = ParquetReader::new(File::open(path)?);
    let schema = reader.schema()?;
    let mut wanted: Vec<String> = ["time", "protocol"].iter().map(|s| s.to_string()).collect();
    if keys {
        wanted.extend(["request_id".to_string(), "row".to_string()]);
    }
    wanted.extend(slots.iter().map(|s| s.log.clone()));
    wanted.retain(|c| schema.contains(c));
    wanted.dedup();
    let df = reader.with_columns(Some(wanted)).finish()?;
    let height = df.height();
    // Served rows only: a challenger's shadow scoring is not the traffic.
    let keep: Vec<bool> = match series(&df, "protocol") {
        Some(p) => p
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v != Some("shadow"))
            .collect(),
        None => vec![true; height],
    };
    let n = keep.iter().filter(|&&k| k).count();
    let pick = |v: Vec<Option<i64>>| -> Vec<Option<i64>> {
        v.into_iter()
            .zip(&keep)
            .filter_map(|(x, &k)| k.then_some(x))
            .collect()
    };
    let time = match series(&df, "time") {
        Some(s) => pick(micros(&s)?),
        None => vec![None; n],
    };
    let mut absent = Vec::new();
    let mut cols = Vec::with_capacity(slots.len());
    for slot in slots.iter_mut() {
        let Some(s) = series(&df, &slot.log) else {
            absent.push(slot.name.clone());
            cols.push(match slot.dict {
                Some(_) => Col::Cat(vec![crate::table::MISSING; n]),
                None => Col::Num(vec![f64::NAN; n]),
            });
            continue;
        };
        cols.push(match &mut slot.dict {
            Some(dict) => {
                let s = s.cast(&DataType::String)?;
                Col::Cat(
                    s.str()?
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(v, _)| v.map_or(crate::table::MISSING, |v| dict.code(v)))
                        .collect(),
                )
            }
            None => {
                let s = s.cast(&DataType::Float64)?;
                Col::Num(
                    s.f64()?
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(v, _)| v.unwrap_or(f64::NAN))
                        .collect(),
                )
            }
        });
    }
    let keys = if keys {
        let ids: Vec<String> = match series(&df, "request_id") {
            Some(s) => s
                .cast(&DataType::String)?
                .str()?
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.unwrap_or_default().to_string())
                .collect(),
            None => vec![String::new(); n],
        };
        let rows: Vec<u32> = match series(&df, "row") {
            Some(s) => s
                .cast(&DataType::UInt32)?
                .u32()?
                .iter()
                .zip(&keep)
                .filter(|(_, k)| **k)
                .map(|(v, _)| v.unwrap_or(0))
                .collect(),
            None => vec![0; n],
        };
        Some(ids.into_iter().zip(rows).collect())
    } else {
        None
    };
    Ok(Batch {
        version: String::new(),
        n,
        time,
        cols,
        keys,
        shadow: height - n,
        absent,
    })
}
