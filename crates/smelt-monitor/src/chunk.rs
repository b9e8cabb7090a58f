//! Chunks: the windows every monitoring result is computed over, with NannyML's rules
//! (`nannyml.chunk`, version 0.13.1), and the per-chunk result types shared by
//! [`crate::estimate`] and [`crate::multivariate`].
//!
//! * [`Chunker::Size`]: consecutive chunks of `chunk_size` rows, keyed `[start:end]`
//!   (inclusive row positions). The remainder (fewer than `chunk_size` rows) is kept as a short
//!   last chunk ([`Incomplete::Keep`], the default), dropped, or appended to the last full chunk
//!   (its key then runs to the last row).
//! * [`Chunker::Number`]: `chunk_size = n_rows / chunk_number` (integer division), then as
//!   `Size`; so with a remainder there is one chunk more than asked for under `Keep`, as NannyML.
//! * [`Chunker::Period`]: one chunk per calendar period holding rows (hour, day, week ending
//!   Sunday, month, quarter, year), keyed like pandas' `Period` (`2018-10`), spanning the whole
//!   period (`start_time`, `end_time` one nanosecond before the next).
//! * [`Chunker::Default`]: `Size` with `n_rows / 10` rows (about ten chunks).
//!
//! With timestamps, rows are first put in time order (stable: ties keep their order) and chunk
//! positions refer to that order; [`Chunks::rows`] maps a chunk back to the caller's rows. Size
//! chunks then carry the first and last timestamp they hold.
//!
//! ```
//! use smelt_monitor::chunk::{Chunker, Incomplete};
//!
//! let chunks = Chunker::Size { chunk_size: 4, incomplete: Incomplete::Keep }.split(10, None)?;
//! let keys: Vec<&str> = chunks.chunks.iter().map(|c| c.key.as_str()).collect();
//! assert_eq!(keys, ["[0:3]", "[4:7]", "[8:9]"]);
//! assert_eq!(chunks.rows(&chunks.chunks[2]), [8, 9]);
//! # Ok::<(), smelt_monitor::MonitorError>(())
//! ```

mod series;
mod threshold;
mod time;

use serde::{Deserialize, Serialize};

pub use series::{ChunkValue, Period, Series, nan_to_none};
pub use threshold::{Threshold, threshold_values};
pub use time::{PeriodOffset, Timestamp};

use crate::error::{MonitorError, Result};

/// What to do with the rows left over after the last full chunk (NannyML's `incomplete`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Incomplete {
    /// A last, shorter chunk (default).
    #[default]
    Keep,
    /// Leave them out.
    Drop,
    /// Add them to the last full chunk.
    Append,
}

/// How rows are grouped into chunks (NannyML's `chunk_size` / `chunk_number` /
/// `chunk_period` / default chunker).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum Chunker {
    /// Chunks of `chunk_size` rows, `>= 1`.
    Size {
        /// Rows per chunk.
        chunk_size: usize,
        /// The leftover rows.
        #[serde(default)]
        incomplete: Incomplete,
    },
    /// About `chunk_number` chunks, `>= 1`.
    Number {
        /// Chunks wanted.
        chunk_number: usize,
        /// The leftover rows.
        #[serde(default)]
        incomplete: Incomplete,
    },
    /// One chunk per calendar period; needs timestamps.
    Period {
        /// The period.
        offset: PeriodOffset,
    },
    /// About ten chunks (NannyML's `DefaultChunker`).
    #[default]
    Default,
}

/// One chunk: a run of consecutive rows (in time order when there are timestamps).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    /// NannyML's key: `[start:end]`, or the period (`2018-10`).
    pub key: String,
    /// Position of the chunk in its period's list (0-based).
    pub chunk_index: usize,
    /// First row (inclusive), a position in time order when there are timestamps.
    pub start_index: usize,
    /// Last row (inclusive).
    pub end_index: usize,
    /// Start of the chunk: the first timestamp it holds, or its period's start.
    pub start_time: Option<Timestamp>,
    /// End of the chunk: the last timestamp it holds, or its period's end.
    pub end_time: Option<Timestamp>,
}

impl Chunk {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.end_index + 1 - self.start_index
    }

    /// Always false: a chunk holds at least one row.
    pub fn is_empty(&self) -> bool {
        false
    }
}

/// The chunks of one table.
#[derive(Clone, Debug, PartialEq)]
pub struct Chunks {
    /// The chunks, in order.
    pub chunks: Vec<Chunk>,
    /// Caller's row of each time-ordered position (`None`: the identity).
    order: Option<Vec<usize>>,
}

impl Chunks {
    /// Chunks over rows in the caller's order.
    pub(crate) fn from_chunks(chunks: Vec<Chunk>) -> Chunks {
        Chunks {
            chunks,
            order: None,
        }
    }

    /// The caller's row numbers of `chunk` (in time order when there are timestamps).
    pub fn rows(&self, chunk: &Chunk) -> Vec<usize> {
        match &self.order {
            Some(order) => order[chunk.start_index..=chunk.end_index].to_vec(),
            None => (chunk.start_index..=chunk.end_index).collect(),
        }
    }

    /// Every row in time order (the caller's row numbers), `n_rows` of them.
    pub fn order(&self, n_rows: usize) -> Vec<usize> {
        self.order.clone().unwrap_or_else(|| (0..n_rows).collect())
    }

    /// Number of chunks.
    pub fn len(&self) -> usize {
        self.chunks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty()
    }
}

impl Chunker {
    /// One chunk of every row (`Number` with one chunk).
    pub fn whole() -> Chunker {
        Chunker::Number {
            chunk_number: 1,
            incomplete: Incomplete::Keep,
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<()> {
        match self {
            Chunker::Size { chunk_size: 0, .. } => Err(MonitorError::Invalid(
                "chunk_size: expected an integer >= 1, got 0".into(),
            )),
            Chunker::Number {
                chunk_number: 0, ..
            } => Err(MonitorError::Invalid(
                "chunk_number: expected an integer >= 1, got 0".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Splits `n_rows` rows (with their timestamps, if any, one per row) into chunks.
    ///
    /// Errors: no rows; a period chunker without timestamps; timestamps of another length;
    /// fewer rows than `chunk_number` (or than ten for the default chunker); `Append` with
    /// fewer rows than one chunk.
    pub fn split(&self, n_rows: usize, timestamps: Option<&[Timestamp]>) -> Result<Chunks> {
        self.validate()?;
        if n_rows == 0 {
            return Err(MonitorError::TooFew("no rows to split into chunks".into()));
        }
        if let Some(ts) = timestamps
            && ts.len() != n_rows
        {
            return Err(MonitorError::Invalid(format!(
                "{} timestamps for {n_rows} rows; give one per row",
                ts.len()
            )));
        }
        let order = timestamps.map(|ts| {
            let mut o: Vec<usize> = (0..n_rows).collect();
            o.sort_by_key(|&i| ts[i]);
            o
        });
        let sorted_ts: Option<Vec<Timestamp>> = timestamps
            .zip(order.as_ref())
            .map(|(ts, o)| o.iter().map(|&i| ts[i]).collect());
        let chunks = match self {
            Chunker::Size {
                chunk_size,
                incomplete,
            } => by_size(n_rows, *chunk_size, *incomplete, sorted_ts.as_deref())?,
            Chunker::Number {
                chunk_number,
                incomplete,
            } => {
                let size = n_rows / chunk_number;
                if size == 0 {
                    return Err(MonitorError::TooFew(format!(
                        "{n_rows} rows cannot make {chunk_number} chunks\n\nhint: ask for fewer \
                         chunks"
                    )));
                }
                by_size(n_rows, size, *incomplete, sorted_ts.as_deref())?
            }
            Chunker::Default => {
                let size = n_rows / 10;
                if size == 0 {
                    return Err(MonitorError::TooFew(format!(
                        "{n_rows} rows are too few for the default chunking (ten chunks)\n\nhint: \
                         set a chunk size"
                    )));
                }
                by_size(n_rows, size, Incomplete::Keep, sorted_ts.as_deref())?
            }
            Chunker::Period { offset } => {
                let Some(ts) = sorted_ts.as_deref() else {
                    return Err(MonitorError::Invalid(
                        "chunking by period needs a timestamp column\n\nhint: name it, or chunk \
                         by size"
                            .into(),
                    ));
                };
                by_period(ts, *offset)
            }
        };
        Ok(Chunks { chunks, order })
    }
}

fn by_size(
    n: usize,
    size: usize,
    incomplete: Incomplete,
    ts: Option<&[Timestamp]>,
) -> Result<Vec<Chunk>> {
    let make = |start: usize, len: usize| Chunk {
        key: format!("[{start}:{}]", start + len - 1),
        chunk_index: 0,
        start_index: start,
        end_index: start + len - 1,
        start_time: ts.map(|t| t[start]),
        end_time: ts.map(|t| t[start + len - 1]),
    };
    let full = n / size;
    let mut chunks: Vec<Chunk> = (0..full).map(|i| make(i * size, size)).collect();
    let rest = n % size;
    if rest != 0 {
        let last = make(full * size, rest);
        match incomplete {
            Incomplete::Keep => chunks.push(last),
            Incomplete::Drop => {}
            Incomplete::Append => {
                let Some(prev) = chunks.last_mut() else {
                    return Err(MonitorError::TooFew(format!(
                        "{n} rows are fewer than one chunk of {size}; nothing to append the \
                         remainder to\n\nhint: use `incomplete = keep` or a smaller chunk size"
                    )));
                };
                prev.key = format!("[{}:{}]", prev.start_index, last.end_index);
                prev.end_index = last.end_index;
                prev.end_time = last.end_time;
            }
        }
    }
    for (i, c) in chunks.iter_mut().enumerate() {
        c.chunk_index = i;
    }
    Ok(chunks)
}

fn by_period(ts: &[Timestamp], offset: PeriodOffset) -> Vec<Chunk> {
    let mut chunks: Vec<Chunk> = Vec::new();
    for (i, &t) in ts.iter().enumerate() {
        let (key, start, end) = offset.period_of(t);
        match chunks.last_mut() {
            Some(c) if c.key == key => c.end_index = i,
            _ => chunks.push(Chunk {
                key,
                chunk_index: chunks.len(),
                start_index: i,
                end_index: i,
                start_time: Some(start),
                end_time: Some(end),
            }),
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(c: &Chunks) -> Vec<&str> {
        c.chunks.iter().map(|c| c.key.as_str()).collect()
    }

    #[test]
    fn size_incomplete_rules() {
        let split = |incomplete| {
            Chunker::Size {
                chunk_size: 4,
                incomplete,
            }
            .split(10, None)
            .unwrap()
        };
        assert_eq!(keys(&split(Incomplete::Keep)), ["[0:3]", "[4:7]", "[8:9]"]);
        assert_eq!(keys(&split(Incomplete::Drop)), ["[0:3]", "[4:7]"]);
        let a = split(Incomplete::Append);
        assert_eq!(keys(&a), ["[0:3]", "[4:9]"]);
        assert_eq!(a.chunks[1].len(), 6);
    }

    #[test]
    fn number_and_default_rules() {
        let c = Chunker::Number {
            chunk_number: 3,
            incomplete: Incomplete::Keep,
        }
        .split(10, None)
        .unwrap();
        assert_eq!(keys(&c), ["[0:2]", "[3:5]", "[6:8]", "[9:9]"]);
        assert!(Chunker::Default.split(9, None).is_err());
        assert_eq!(Chunker::Default.split(25, None).unwrap().len(), 13);
    }

    #[test]
    fn errors_not_panics() {
        assert!(Chunker::Default.split(0, None).is_err());
        assert!(
            Chunker::Size {
                chunk_size: 0,
                incomplete: Incomplete::Keep
            }
            .split(5, None)
            .is_err()
        );
        assert!(
            Chunker::Size {
                chunk_size: 8,
                incomplete: Incomplete::Append
            }
            .split(5, None)
            .is_err()
        );
        assert!(
            Chunker::Period {
                offset: PeriodOffset::Month
            }
            .split(5, None)
            .is_err()
        );
        assert!(
            Chunker::Size {
                chunk_size: 2,
                incomplete: Incomplete::Keep
            }
            .split(5, Some(&[Timestamp(0)]))
            .is_err()
        );
    }

    #[test]
    fn timestamps_sort_rows() {
        let ts = [Timestamp(30), Timestamp(10), Timestamp(20), Timestamp(10)];
        let c = Chunker::Size {
            chunk_size: 2,
            incomplete: Incomplete::Keep,
        }
        .split(4, Some(&ts))
        .unwrap();
        assert_eq!(c.rows(&c.chunks[0]), [1, 3]);
        assert_eq!(c.rows(&c.chunks[1]), [2, 0]);
        assert_eq!(c.chunks[1].start_time, Some(Timestamp(20)));
        assert_eq!(c.chunks[1].end_time, Some(Timestamp(30)));
    }

    #[test]
    fn serde_round_trip() {
        let c = Chunker::Period {
            offset: PeriodOffset::Week,
        };
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(s, r#"{"by":"period","offset":"week"}"#);
        assert_eq!(serde_json::from_str::<Chunker>(&s).unwrap(), c);
        let d: Chunker = serde_json::from_str(r#"{"by":"size","chunk_size":5}"#).unwrap();
        assert_eq!(
            d,
            Chunker::Size {
                chunk_size: 5,
                incomplete: Incomplete::Keep
            }
        );
    }
}
