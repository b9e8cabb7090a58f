//! Labels that arrive after the predictions: a table (or a folder of tables) with the request
//! id and the label, re-read as it grows, joined to logged rows by `(request_id, row)`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use smelt_data::polars::prelude::*;
use smelt_data::read::ReadOptions;

/// Where labels come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabelOptions {
    /// A table (CSV, Parquet, NDJSON, Arrow IPC), or a folder of them (files starting with `.`
    /// and `.tmp` files left out).
    pub path: PathBuf,
    /// The column holding the request id (`request_id`).
    pub id_column: String,
    /// The column holding the label.
    pub label_column: String,
}

/// One label: its text (classes are compared as text) and its number (regression).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Label {
    pub text: Option<String>,
    pub num: f64,
}

/// Every label read so far.
#[derive(Debug)]
pub(crate) struct Labels {
    opts: LabelOptions,
    /// `(request_id, row)` → the label and whether a logged row joined it.
    map: HashMap<(String, u32), (Label, bool)>,
    /// Each file's size and time when read.
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    /// Files that failed, warned about once per state.
    failed: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    waiting_said: bool,
}

fn is_table(p: &Path) -> bool {
    let name = p
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    !name.starts_with('.') && !name.ends_with(".tmp")
}

fn state(p: &Path) -> Option<(u64, Option<SystemTime>)> {
    let m = std::fs::metadata(p).ok()?;
    Some((m.len(), m.modified().ok()))
}

impl Labels {
    pub fn new(opts: LabelOptions) -> Labels {
        Labels {
            opts,
            map: HashMap::new(),
            seen: HashMap::new(),
            failed: HashMap::new(),
            waiting_said: false,
        }
    }

    /// Labels read so far.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Labels no logged row has joined (yet).
    pub fn unjoined(&self) -> usize {
        self.map.values().filter(|(_, j)| !j).count()
    }

    /// The label of a logged row, marking it joined.
    pub fn take(&mut self, key: &(String, u32)) -> Option<&Label> {
        let (l, joined) = self.map.get_mut(key)?;
        *joined = true;
        Some(l)
    }

    /// Reads the files that are new or changed since the last call.
    pub fn refresh(&mut self) {
        let files: Vec<PathBuf> = if self.opts.path.is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(&self.opts.path)
                .map(|d| {
                    d.flatten()
                        .map(|e| e.path())
                        .filter(|p| p.is_file() && is_table(p))
                        .collect()
                })
                .unwrap_or_default();
            v.sort();
            v
        } else if self.opts.path.is_file() {
            vec![self.opts.path.clone()]
        } else {
            if !self.waiting_said {
                self.waiting_said = true;
                tracing::info!(
                    labels = %self.opts.path.display(),
                    "no labels yet; waiting for the file"
                );
            }
            return;
        };
        for f in files {
            let Some(now) = state(&f) else { continue };
            if self.seen.get(&f) == Some(&now) || self.failed.get(&f) == Some(&now) {
                continue;
            }
            match self.read(&f) {
                Ok(()) => {
                    self.failed.remove(&f);
                    self.seen.insert(f, now);
                }
                Err(e) => {
                    tracing::warn!(
                        file = %f.display(),
                        error = %e,
                        "skipping a labels file that cannot be read (retried when it changes)"
                    );
                    self.failed.insert(f, now);
                }
            }
        }
    }

    fn read(&mut self, path: &Path) -> Result<(), String> {
        let df =
            smelt_data::read::read(path, &ReadOptions::default()).map_err(|e| e.to_string())?;
        let col = |name: &str| -> Result<Series, String> {
            df.column(name)
                .map(|c| c.as_materialized_series().clone())
                .map_err(|_| {
                    let names: Vec<String> = df
                        .get_column_names()
                        .iter()
                        .map(|s| s.to_string())
                        .collect();
                    let hint = smelt_core::text::closest(name, &names)
                        .map(|c| format!("; did you mean `{c}`?"))
                        .unwrap_or_default();
                    format!("no column `{name}`{hint}")
                })
        };
        let p = |e: PolarsError| e.to_string();
        let ids = col(&self.opts.id_column)?
            .cast(&DataType::String)
            .map_err(p)?;
        let labels = col(&self.opts.label_column)?;
        let text = labels.cast(&DataType::String).map_err(p)?;
        let num = labels.cast(&DataType::Float64).map_err(p)?;
        let rows: Option<Series> = match df.column("row") {
            Ok(c) => Some(
                c.as_materialized_series()
                    .cast(&DataType::UInt32)
                    .map_err(p)?,
            ),
            Err(_) => None,
        };
        let (ids, text, num) = (
            ids.str().map_err(p)?,
            text.str().map_err(p)?,
            num.f64().map_err(p)?,
        );
        let rows = rows.as_ref().map(|r| r.u32()).transpose().map_err(p)?;
        for i in 0..ids.len() {
            let Some(id) = ids.get(i) else { continue };
            let (t, x) = (text.get(i), num.get(i));
            if t.is_none() && x.is_none() {
                continue;
            }
            let row = rows.and_then(|r| r.get(i)).unwrap_or(0);
            let label = Label {
                text: t.map(str::to_string),
                num: x.unwrap_or(f64::NAN),
            };
            let key = (id.to_string(), row);
            let joined = self.map.get(&key).is_some_and(|(_, j)| *j);
            self.map.insert(key, (label, joined));
        }
        Ok(())
    }
}
