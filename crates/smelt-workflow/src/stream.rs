//! Scoring a table chunk by chunk ([`Model::predict_stream`]): bounded memory whatever the
//! table's size, reading, scoring and writing overlapped, the output written atomically.
//!
//! Three stages run at once: a reader thread reads and parses the next chunk
//! ([`smelt_data::read::batches`]: CSV and NDJSON in blocks, Parquet a row group at a time,
//! parsed and decoded on polars' pool), the calling thread scores this one (the predictors spread
//! a chunk's rows over rayon's pool), and a writer thread appends the previous one's predictions
//! to a temporary file beside the output ([`TableWriter`]). Bounded queues between the stages
//! keep a few chunks in memory at most. The temporary file is renamed onto the output only once
//! every row is scored and the file is on disk: an error (a bad value on line 9,000,000) leaves
//! no file at the output path and no temporary file either.
//!
//! Each chunk is typed exactly as a whole table would be ([`smelt_data::frame_for_model`]: the
//! model's columns with their training types, categories matched by label against the model's),
//! so the predictions are those of [`Model::predict_frame`] on the whole table, row for row. One
//! difference in reading CSV and NDJSON: the model's numeric inputs are parsed as numbers from
//! the start (a whole-table read infers a column's type from its first rows and widens an integer
//! column that later holds a decimal; a stream cannot go back), which gives the same values.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use smelt_core::{LogicalType, UnseenCategory};
use smelt_data::polars::prelude::{Column, DataFrame, DataType};
use smelt_data::read::{Format, ReadOptions};
use smelt_data::write::TableWriter;

use crate::error::{Error, Result};
use crate::model::Model;

/// Rows per chunk unless told otherwise: large enough that every core has thousands of rows to
/// score, small enough that a chunk of a wide table stays in the tens of megabytes.
pub const DEFAULT_CHUNK_ROWS: usize = 131_072;

/// Chunks waiting between two stages (scored and not yet written): with the chunk being read,
/// scored and written, memory holds a handful of chunks.
const QUEUED: usize = 1;

/// How [`Model::predict_stream`] scores a table.
#[derive(Clone, Debug)]
pub struct StreamOptions {
    /// Rows per chunk. Default [`DEFAULT_CHUNK_ROWS`].
    pub chunk_rows: usize,
    /// Input columns copied into the output before the predictions (e.g. an id), as they are in
    /// the file.
    pub keep: Vec<String>,
    /// The output's format; from its extension when `None`.
    pub format: Option<Format>,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            chunk_rows: DEFAULT_CHUNK_ROWS,
            keep: Vec::new(),
            format: None,
        }
    }
}

/// What a streamed scoring did.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamSummary {
    /// Rows scored (and written).
    pub rows: u64,
    /// Chunks they were scored in.
    pub chunks: u64,
    /// Wall time, reading to rename.
    pub seconds: f64,
    /// Categories of the table the model never saw in training, with their rows over the whole
    /// table (see [`Model::predict_frame_and_unseen`]): by feature, then by value.
    pub unseen: Vec<UnseenCategory>,
}

impl StreamSummary {
    /// Rows scored per second of wall time.
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl Model {
    /// Scores the table at `input` chunk by chunk and writes the predictions to `out` (the
    /// columns of [`Model::predict_frame`], after `opts.keep`), atomically: nothing is at `out`
    /// until every row is scored and written to disk, and a failure leaves nothing behind
    /// (see the [module docs](crate::stream)). `progress` is called after each chunk with the
    /// rows scored so far and the table's row count when known beforehand (Parquet and Arrow
    /// IPC metadata; a CSV file's line count, an upper bound when quoted fields span lines).
    pub fn predict_stream(
        &self,
        input: &Path,
        read: &ReadOptions,
        out: &Path,
        opts: &StreamOptions,
        progress: &mut dyn FnMut(u64, Option<u64>),
    ) -> Result<StreamSummary> {
        let start = Instant::now();
        if opts.chunk_rows == 0 {
            return Err(Error::Option {
                option: "chunk_rows",
                allowed: "at least 1",
                got: "0".into(),
            });
        }
        let format = match opts.format {
            Some(f) => f,
            None => Format::for_output(out)?,
        };
        let inputs = self.predictor().input_features();
        let mut columns = opts.keep.clone();
        let mut read = read.clone();
        for f in inputs {
            if !columns.contains(&f.name) {
                columns.push(f.name.clone());
            }
            // Numbers from the start (see the module docs); a kept column stays as in the file.
            if f.ltype == LogicalType::Numeric
                && !opts.keep.contains(&f.name)
                && !read.dtypes.iter().any(|(n, _)| *n == f.name)
            {
                read.dtypes.push((f.name.clone(), DataType::Float64));
            }
        }
        // The temporary output first: an unwritable directory fails before any reading.
        let writer = TableWriter::create(out, format)?;
        if input.is_dir() {
            // A folder of images is decoded whole (image by image, in parallel), then scored
            // and written as one chunk.
            let mut writer = writer;
            let frame = smelt_data::read::read(input, &read)?;
            let rows = frame.height() as u64;
            let (mut scored, unseen) = self.score_chunk(frame, input, &opts.keep)?;
            writer.write(&mut scored)?;
            writer.finish()?;
            progress(rows, Some(rows));
            return Ok(StreamSummary {
                rows,
                chunks: 1,
                seconds: start.elapsed().as_secs_f64(),
                unseen,
            });
        }
        let batches = smelt_data::read::batches(input, &read, Some(&columns), opts.chunk_rows)?;
        let total = batches.rows_hint();

        std::thread::scope(|scope| {
            let (tx, rx) = sync_channel::<DataFrame>(QUEUED);
            let writing = std::thread::Builder::new()
                .name("smelt-write".into())
                .spawn_scoped(scope, move || -> Result<TableWriter> {
                    let mut writer = writer;
                    for mut frame in rx {
                        writer.write(&mut frame)?;
                    }
                    Ok(writer)
                })
                .map_err(|e| smelt_data::DataError::Io {
                    path: out.to_path_buf(),
                    source: e,
                })?;
            let mut chunks = 0;
            // Unseen categories over all chunks, by (feature position, value): every one is of
            // an input feature, so the position is found.
            let position = |name: &str| {
                inputs
                    .iter()
                    .position(|f| f.name == name)
                    .unwrap_or(usize::MAX)
            };
            let mut unseen: BTreeMap<(usize, String, String), u64> = BTreeMap::new();
            let scored = (|| -> Result<u64> {
                let mut done = 0u64;
                for batch in batches {
                    let batch = batch?;
                    let n = batch.height() as u64;
                    let (frame, new) = self.score_chunk(batch, input, &opts.keep).map_err(|e| {
                        if done == 0 {
                            // Row numbers in the first chunk are the table's.
                            e
                        } else {
                            Error::Chunk {
                                path: input.to_path_buf(),
                                first: done + 1,
                                last: done + n,
                                source: Box::new(e),
                            }
                        }
                    })?;
                    for u in new {
                        *unseen
                            .entry((position(&u.feature), u.feature, u.value))
                            .or_default() += u.rows;
                    }
                    if tx.send(frame).is_err() {
                        break; // The writer failed; its error is reported below.
                    }
                    done += n;
                    chunks += 1;
                    progress(done, total);
                }
                Ok(done)
            })();
            drop(tx);
            let written = match writing.join() {
                Ok(w) => w,
                Err(panic) => std::panic::resume_unwind(panic),
            };
            // A scoring error comes first; either way, a writer dropped unfinished removes its
            // temporary file.
            let rows = scored?;
            let writer = written?;
            debug_assert_eq!(writer.rows(), rows);
            writer.finish()?;
            Ok(StreamSummary {
                rows,
                chunks,
                seconds: start.elapsed().as_secs_f64(),
                unseen: unseen
                    .into_iter()
                    .map(|((_, feature, value), rows)| UnseenCategory {
                        feature,
                        value,
                        rows,
                    })
                    .collect(),
            })
        })
    }

    /// One chunk's output: the kept columns, then the predictions.
    fn score_chunk(
        &self,
        batch: DataFrame,
        path: &Path,
        keep: &[String],
    ) -> Result<(DataFrame, Vec<UnseenCategory>)> {
        let kept = keep
            .iter()
            .map(|k| batch.column(k).cloned())
            .collect::<std::result::Result<Vec<Column>, _>>()
            .map_err(|source| Error::Table {
                context: "copying the kept columns".into(),
                source,
            })?;
        self.predict_frame_with(batch, path, kept)
    }
}
