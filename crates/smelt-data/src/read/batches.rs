//! Reading a table in batches of a fixed number of rows, for work over files larger than memory
//! (`smelt predict --out` scores a table chunk by chunk).
//!
//! A reader thread reads the file piece by piece and hands batches of exactly the requested
//! number of rows (the last one shorter), in file order, to a bounded channel; the caller takes
//! them one by one ([`Batches`] is an iterator), so reading the next batch overlaps with the
//! caller's work on this one, and memory holds a few pieces whatever the file's size or the
//! number of cores:
//!
//! - CSV: blocks of [`CSV_BLOCK`] bytes, cut at the last record boundary (quote-aware), parsed
//!   by polars' CSV parser (in parallel within a block) with the types polars infers from the
//!   file's head ([`read`] infers them the same way), only the wanted columns. The file is read,
//!   not memory-mapped: a mapped file's pages count as the process's memory, all of them by the
//!   end. The preflight of [`read`] comes first (empty files, over-long lines, the line count for
//!   [`Batches::rows_hint`]), parse errors are located the same way (file, line, column,
//!   value), and the record count is checked once the last batch is read (a ragged row is an
//!   error, not nulls).
//! - NDJSON: blocks of lines, typed from the file's first `infer_rows` lines.
//! - Parquet: one row group at a time (one slice of it when it is over [`PARQUET_UNIT_BYTES`]
//!   uncompressed), only the wanted columns, the file mapped for that piece alone.
//! - Arrow IPC: polars' streaming engine.
//!
//! [`read`]: super::read

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use polars::io::parquet::read::FileMetadata;
use polars::prelude::*;

use super::options::{Format, ReadOptions};
use super::polars_glue::{csv_options, dtype_schema, guard, head};
use super::{polars_path, preflight};
use crate::error::{DataError, Result, owned};

/// Batches handed over but not yet taken, besides the one the caller holds and the one the
/// reader is filling: memory stays at a few batches whatever the file's size.
const QUEUED: usize = 1;

/// Bytes of CSV or NDJSON parsed at a time (more when one record is longer).
pub const CSV_BLOCK: usize = 16 << 20;

/// A Parquet row group larger than this (uncompressed, the wanted columns' share) is read in
/// slices of about this size, so memory follows this, not the writer's row-group size. Measured
/// on 1M-row row groups of 28 float32 columns (BENCHMARKS "Batch scoring"): 32 MiB slices score
/// in about the time of whole row groups (+2 %) with a third less peak memory; 16 MiB slices
/// take +10 %, 4 MiB slices 1.5× the time.
pub const PARQUET_UNIT_BYTES: usize = 32 << 20;

/// A table read batch by batch, in file order: each item is one batch of the requested number
/// of rows (the last one shorter), or the error that ended the read. After the last batch the
/// read is checked as a whole (CSV record count; a file without rows is
/// [`DataError::NoRows`]); iteration ends after the first error.
///
/// Dropping it early stops the reader (it finishes the piece it is parsing, then ends).
pub struct Batches {
    path: PathBuf,
    format: Format,
    opts: ReadOptions,
    csv: Option<preflight::CsvStats>,
    rows_hint: Option<u64>,
    rx: Option<Receiver<DataFrame>>,
    reader: Option<JoinHandle<Result<()>>>,
    rows: u64,
    done: bool,
}

/// How the reader thread reads the file.
enum Source {
    Csv(SchemaRef),
    Ndjson(SchemaRef),
    Parquet(Arc<FileMetadata>),
    Ipc(Box<LazyFrame>),
}

/// Reads `path` in batches of `rows` rows (see [`Batches`]), keeping only `columns` (all of them
/// when `None`; in the order given). A column that is not in the file is
/// [`DataError::MissingColumn`], reported before anything is read.
pub fn batches(
    path: &Path,
    opts: &ReadOptions,
    columns: Option<&[String]>,
    rows: usize,
) -> Result<Batches> {
    batches_in_blocks(path, opts, columns, rows, CSV_BLOCK, PARQUET_UNIT_BYTES)
}

/// [`batches`] with Parquet row groups read in pieces of at most `parquet_unit` bytes of the
/// wanted columns (uncompressed) instead of the default 32 MiB: smaller pieces cost less
/// memory and more decoding time.
pub fn batches_with_unit(
    path: &Path,
    opts: &ReadOptions,
    columns: Option<&[String]>,
    rows: usize,
    parquet_unit: usize,
) -> Result<Batches> {
    batches_in_blocks(path, opts, columns, rows, CSV_BLOCK, parquet_unit)
}

/// [`batches`] with CSV and NDJSON parsed `block` bytes at a time and Parquet row groups read
/// in pieces of `unit` bytes (tests cut records and row groups with small ones).
fn batches_in_blocks(
    path: &Path,
    opts: &ReadOptions,
    columns: Option<&[String]>,
    rows: usize,
    block: usize,
    unit: usize,
) -> Result<Batches> {
    super::check_path(path)?;
    let format = opts.format_of(path)?;
    let mut csv = None;
    let (source, schema, rows_hint) = match format {
        Format::Csv => {
            let stats = preflight::preflight_csv(path, opts.delimiter_for(path), &opts.csv)?;
            let schema = polars_path::csv_schema(path, opts)?;
            // Non-blank lines less the header: exact unless quoted fields span lines or comment
            // lines are skipped.
            let hint = stats.lines.saturating_sub(u64::from(opts.csv.has_header));
            csv = Some(stats);
            (Source::Csv(schema.clone()), schema, Some(hint))
        }
        Format::Ndjson => {
            let schema = ndjson_schema(path, opts)?;
            (Source::Ndjson(schema.clone()), schema, None)
        }
        Format::Parquet => {
            let meta = guard(path, "parquet", || {
                let mut r = ParquetReader::new(File::open(path)?);
                let meta = r.get_metadata()?.clone();
                Ok((meta, r.schema()?))
            })?;
            let (meta, arrow) = meta;
            let schema: Schema = Schema::from_arrow_schema(&arrow);
            let hint = meta.num_rows as u64;
            (Source::Parquet(meta), Arc::new(schema), Some(hint))
        }
        Format::Ipc => {
            let mut lf = polars_path::scan(path, format, opts)?;
            let schema = guard(path, "Arrow IPC", || lf.collect_schema())?;
            // From the file's metadata: no data is read.
            let count = guard(path, "Arrow IPC", || lf.clone().select([len()]).collect())?;
            let hint = count
                .columns()
                .first()
                .and_then(|c| c.get(0).ok())
                .and_then(|v| v.extract::<u64>());
            (Source::Ipc(Box::new(lf)), schema, hint)
        }
    };
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    super::check_names(path, names.iter().map(String::as_str))?;
    let columns: Vec<String> = match columns {
        None => names,
        Some(cols) => {
            for c in cols {
                if !names.contains(c) {
                    return Err(DataError::MissingColumn {
                        path: owned(path),
                        name: c.clone(),
                        available: names,
                    });
                }
            }
            cols.to_vec()
        }
    };
    let (tx, rx) = sync_channel::<DataFrame>(QUEUED);
    let rows = rows.max(1);
    let thread_path = owned(path);
    let thread_opts = opts.clone();
    let reader = std::thread::Builder::new()
        .name("smelt-read".into())
        .spawn(move || {
            let path = thread_path.as_path();
            let mut out = Rechunk {
                tx,
                rows,
                buf: None,
            };
            let wanted = columns.as_slice();
            let more = match source {
                Source::Csv(schema) => {
                    read_csv(path, &thread_opts, schema, wanted, block, &mut out)?
                }
                Source::Ndjson(schema) => read_ndjson(path, schema, wanted, block, &mut out)?,
                Source::Parquet(meta) => read_parquet(path, meta, wanted, unit, &mut out)?,
                Source::Ipc(lf) => return read_ipc(path, *lf, wanted, rows, out.tx),
            };
            if more {
                out.finish();
            }
            Ok(())
        })
        .map_err(|e| DataError::Io {
            path: owned(path),
            source: e,
        })?;
    Ok(Batches {
        path: owned(path),
        format,
        opts: opts.clone(),
        csv,
        rows_hint,
        rx: Some(rx),
        reader: Some(reader),
        rows: 0,
        done: false,
    })
}

/// Pieces of any size in, batches of `rows` rows out (the last one shorter).
struct Rechunk {
    tx: SyncSender<DataFrame>,
    rows: usize,
    buf: Option<DataFrame>,
}

impl Rechunk {
    /// Adds `piece`, sending every full batch; `false` once the receiver is gone (stop reading).
    fn push(&mut self, path: &Path, piece: DataFrame) -> Result<bool> {
        let mut buf = match self.buf.take() {
            None => piece,
            Some(mut b) => {
                b.vstack_mut_owned(piece).map_err(|e| DataError::Polars {
                    path: owned(path),
                    source: e,
                })?;
                b
            }
        };
        while buf.height() >= self.rows {
            let (batch, rest) = buf.split_at(self.rows as i64);
            if self.tx.send(batch).is_err() {
                return Ok(false);
            }
            buf = rest;
        }
        self.buf = (buf.height() > 0).then_some(buf);
        Ok(true)
    }

    /// Sends the last, short batch.
    fn finish(self) {
        if let Some(b) = self.buf {
            let _ = self.tx.send(b);
        }
    }
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> DataError + '_ {
    move |e| DataError::Io {
        path: owned(path),
        source: e,
    }
}

/// Reads up to `n` more bytes of `file` onto `buf`; `false` at the end of the file.
fn fill(file: &mut File, buf: &mut Vec<u8>, n: usize) -> std::io::Result<bool> {
    let got = file.take(n as u64).read_to_end(buf)?;
    Ok(got > 0)
}

/// Where the last complete record of `buf` ends (after its line break): the last line break
/// outside quotes, `buf` starting at a record boundary. (An odd number of quote characters in
/// a comment line would mislead it, as it would the preflight's record count.)
fn last_record_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
    match quote {
        None => memchr::memrchr(b'\n', buf).map(|i| i + 1),
        Some(q) => {
            let mut inside = false;
            let mut last = None;
            for i in memchr::memchr2_iter(q, b'\n', buf) {
                if buf[i] == q {
                    inside = !inside;
                } else if !inside {
                    last = Some(i + 1);
                }
            }
            last
        }
    }
}

/// Where the first record of `buf` ends (after its line break), skipping blank lines before it.
fn first_record_end(buf: &[u8], quote: Option<u8>) -> Option<usize> {
    let start = buf
        .iter()
        .position(|&b| b != b'\n' && b != b'\r')
        .unwrap_or(buf.len());
    let mut inside = false;
    let q = quote.unwrap_or(b'\n');
    for i in memchr::memchr2_iter(q, b'\n', &buf[start..]) {
        let i = start + i;
        if buf[i] == b'\n' {
            if !inside {
                return Some(i + 1);
            }
        } else {
            inside = !inside;
        }
    }
    None
}

/// The CSV reader: blocks cut at record boundaries, the header skipped, each block parsed with
/// the file's schema. `false` once the caller stopped.
fn read_csv(
    path: &Path,
    opts: &ReadOptions,
    schema: SchemaRef,
    columns: &[String],
    block: usize,
    out: &mut Rechunk,
) -> Result<bool> {
    let block_bytes = block.max(1);
    let quote = opts.csv.quote;
    let wanted: Arc<[PlSmallStr]> = columns
        .iter()
        .map(|c| PlSmallStr::from(c.as_str()))
        .collect();
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut buf = Vec::with_capacity(block_bytes + (1 << 20));
    let mut more = fill(&mut file, &mut buf, block_bytes).map_err(io_err(path))?;
    if buf.starts_with(b"\xEF\xBB\xBF") {
        buf.drain(..3);
    }
    let mut header = opts.csv.has_header;
    loop {
        if header {
            match first_record_end(&buf, quote) {
                Some(end) => {
                    buf.drain(..end);
                    header = false;
                }
                None if more => {
                    more = fill(&mut file, &mut buf, block_bytes).map_err(io_err(path))?;
                    continue;
                }
                None => return Ok(true), // a header alone
            }
        }
        let end = match (more, last_record_end(&buf, quote)) {
            (false, _) => buf.len(),
            (true, Some(end)) => end,
            (true, None) => {
                // One record longer than the block so far.
                more = fill(&mut file, &mut buf, block_bytes).map_err(io_err(path))?;
                continue;
            }
        };
        if end > 0 {
            let block = &buf[..end];
            let df = guard(path, "CSV", || {
                csv_options(path, opts)
                    .with_has_header(false)
                    .with_schema(Some(schema.clone()))
                    .with_columns(Some(wanted.clone()))
                    .with_raise_if_empty(false)
                    .into_reader_with_file_handle(Cursor::new(block))
                    .finish()?
                    .select(columns.iter().map(String::as_str))
            })?;
            if !out.push(path, df)? {
                return Ok(false);
            }
            buf.drain(..end);
        }
        if !more {
            return Ok(true);
        }
        more = fill(&mut file, &mut buf, block_bytes).map_err(io_err(path))?;
    }
}

/// The schema polars infers for an NDJSON file from its first `infer_rows` lines, with the
/// caller's dtype overrides (what [`super::read`] infers).
fn ndjson_schema(path: &Path, opts: &ReadOptions) -> Result<SchemaRef> {
    let file = File::open(path).map_err(io_err(path))?;
    let len = usize::try_from(file.metadata().map_err(io_err(path))?.len()).unwrap_or(usize::MAX);
    let rows = opts.csv.infer_rows.max(1);
    let head = head(&file, len, rows)
        .map_err(io_err(path))?
        .ok_or_else(|| {
            DataError::Invalid(format!("{}: the first lines are too long", path.display()))
        })?;
    let overrides = dtype_schema(&opts.dtypes);
    let df = guard(path, "NDJSON", || {
        let mut r = JsonReader::new(Cursor::new(head))
            .with_json_format(JsonFormat::JsonLines)
            .infer_schema_len(std::num::NonZeroUsize::new(rows));
        if let Some(s) = &overrides {
            r = r.with_schema_overwrite(s);
        }
        r.finish()
    })?;
    Ok(df.schema().clone())
}

/// The NDJSON reader: blocks of whole lines, each parsed with the file's schema.
fn read_ndjson(
    path: &Path,
    schema: SchemaRef,
    columns: &[String],
    block: usize,
    out: &mut Rechunk,
) -> Result<bool> {
    let block = block.max(1);
    let wanted: Vec<PlSmallStr> = columns
        .iter()
        .map(|c| PlSmallStr::from(c.as_str()))
        .collect();
    let mut file = File::open(path).map_err(io_err(path))?;
    let mut buf = Vec::with_capacity(block + (1 << 20));
    loop {
        let more = fill(&mut file, &mut buf, block).map_err(io_err(path))?;
        let end = match (more, memchr::memrchr(b'\n', &buf)) {
            (false, _) => buf.len(),
            (true, Some(i)) => i + 1,
            (true, None) => continue,
        };
        if buf[..end].iter().any(|b| !b.is_ascii_whitespace()) {
            let block = &buf[..end];
            let df = guard(path, "NDJSON", || {
                JsonReader::new(Cursor::new(block))
                    .with_json_format(JsonFormat::JsonLines)
                    .with_schema(schema.clone())
                    .with_projection(Some(wanted.clone()))
                    .finish()?
                    .select(columns.iter().map(String::as_str))
            })?;
            if !out.push(path, df)? {
                return Ok(false);
            }
        }
        buf.drain(..end);
        if !more {
            return Ok(true);
        }
    }
}

/// The Parquet reader: a row group at a time (or a slice of one, see [`PARQUET_UNIT_BYTES`]),
/// the file opened, hence mapped, for that piece alone.
fn read_parquet(
    path: &Path,
    meta: Arc<FileMetadata>,
    columns: &[String],
    unit: usize,
    out: &mut Rechunk,
) -> Result<bool> {
    let all = meta.schema().fields().len().max(1);
    let share = columns.len() as f64 / all as f64;
    let mut start = 0;
    for rg in &meta.row_groups {
        let rows = rg.num_rows();
        let bytes = (rg.total_byte_size() as f64 * share) as usize;
        let parts = bytes.div_ceil(unit.max(1)).clamp(1, rows.max(1));
        let step = rows.div_ceil(parts).max(1);
        let mut offset = 0;
        while offset < rows {
            let n = step.min(rows - offset);
            let df = guard(path, "parquet", || {
                let mut r = ParquetReader::new(File::open(path)?)
                    .with_columns(Some(columns.to_vec()))
                    .with_slice(Some((start + offset, n)));
                r.set_metadata(meta.clone());
                r.finish()?.select(columns.iter().map(String::as_str))
            })?;
            if !out.push(path, df)? {
                return Ok(false);
            }
            offset += n;
        }
        start += rows;
    }
    Ok(true)
}

/// The Arrow IPC reader: polars' streaming engine, in batches of `rows`.
fn read_ipc(
    path: &Path,
    lf: LazyFrame,
    columns: &[String],
    rows: usize,
    tx: SyncSender<DataFrame>,
) -> Result<()> {
    let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
        // The receiver is gone when the caller stopped early: stop reading.
        Ok(tx.send(batch).is_err())
    });
    let lf = lf.select(columns.iter().map(|c| col(c.as_str())).collect::<Vec<_>>());
    guard(path, "Arrow IPC", || {
        lf.sink_batches(callback, true, std::num::NonZeroUsize::new(rows))?
            .collect_with_engine(Engine::Streaming)?;
        Ok(())
    })
}

impl Batches {
    /// The number of rows in the file, when it is known before reading: from the metadata of a
    /// Parquet or Arrow IPC file, from the line count of a CSV file (an upper bound when quoted
    /// fields span lines); `None` for NDJSON.
    pub fn rows_hint(&self) -> Option<u64> {
        self.rows_hint
    }

    /// Rows handed out so far.
    pub fn rows_read(&self) -> u64 {
        self.rows
    }

    /// The end of the read: the reader's outcome, then the checks on the whole file.
    fn finish(&mut self) -> Result<()> {
        self.rx = None;
        let outcome = match self.reader.take().map(JoinHandle::join) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(e))) => Err(e),
            Some(Err(_)) => Err(DataError::Corrupt {
                path: self.path.clone(),
                format: self.format.name(),
                message: "the reader stopped unexpectedly".into(),
            }),
        };
        let delimiter = self.opts.delimiter_for(&self.path);
        if let Err(e) = outcome {
            return Err(match self.format {
                Format::Csv => {
                    preflight::refine_csv_error(&self.path, delimiter, &self.opts.csv, e)
                }
                _ => e,
            });
        }
        if let Some(stats) = &self.csv {
            let rows = usize::try_from(self.rows).unwrap_or(usize::MAX);
            preflight::check_record_count(&self.path, delimiter, &self.opts.csv, stats, rows)?;
        }
        if self.rows == 0 {
            return Err(DataError::NoRows {
                path: self.path.clone(),
            });
        }
        Ok(())
    }
}

impl Iterator for Batches {
    type Item = Result<DataFrame>;

    fn next(&mut self) -> Option<Result<DataFrame>> {
        if self.done {
            return None;
        }
        if let Some(batch) = self.rx.as_ref().and_then(|rx| rx.recv().ok()) {
            self.rows += batch.height() as u64;
            return Some(Ok(batch));
        }
        // The channel closed: the reader is done, or failed.
        self.done = true;
        self.finish().err().map(Err)
    }
}

impl Drop for Batches {
    fn drop(&mut self) {
        // Closing the channel makes the reader's next hand-over fail, which stops it.
        self.rx = None;
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
    }
}

impl std::fmt::Debug for Batches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batches")
            .field("path", &self.path)
            .field("format", &self.format)
            .field("rows_hint", &self.rows_hint)
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(dir: &Path, rows: usize, bad_line: Option<usize>) -> PathBuf {
        let mut text = String::from("id,x,name\n");
        for i in 0..rows {
            let line = i + 2;
            let x = if Some(line) == bad_line {
                "oops".to_string()
            } else {
                (i * 3).to_string()
            };
            text.push_str(&format!("{i},{x},n{}\n", i % 7));
        }
        let p = dir.join("t.csv");
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn batches_in_file_order_with_a_row_count() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(dir.path(), 10_000, None);
        let cols = ["x".to_string(), "id".to_string()];
        let b = batches(&p, &ReadOptions::default(), Some(&cols), 3_000).unwrap();
        assert_eq!(b.rows_hint(), Some(10_000));
        let frames: Vec<DataFrame> = b.collect::<Result<_>>().unwrap();
        let heights: Vec<usize> = frames.iter().map(DataFrame::height).collect();
        assert_eq!(heights, [3_000, 3_000, 3_000, 1_000]);
        assert_eq!(frames[0].get_column_names(), ["x", "id"]);
        let mut whole = frames[0].clone();
        for f in &frames[1..] {
            whole.vstack_mut(f).unwrap();
        }
        let eager = crate::read::read(&p, &ReadOptions::default()).unwrap();
        assert!(whole.equals_missing(&eager.select(["x", "id"]).unwrap()));

        // Parquet, 10 row groups: the count comes from the metadata; whole row groups or
        // slices of them.
        let pq = dir.path().join("t.parquet");
        let f = File::create(&pq).unwrap();
        ParquetWriter::new(f)
            .with_row_group_size(Some(1_000))
            .finish(&mut eager.clone())
            .unwrap();
        let b = batches(&pq, &ReadOptions::default(), None, 4_096).unwrap();
        assert_eq!(b.rows_hint(), Some(10_000));
        assert_eq!(b.map(|f| f.unwrap().height()).sum::<usize>(), 10_000);
        for unit in [1 << 30, 1_000, 1] {
            assert!(
                stacked(&pq, &ReadOptions::default(), 777, unit).equals_missing(&eager),
                "unit {unit}"
            );
        }
    }

    /// Every batch of `path` read `block` bytes at a time, stacked.
    fn stacked(path: &Path, opts: &ReadOptions, rows: usize, block: usize) -> DataFrame {
        let frames: Vec<DataFrame> = batches_in_blocks(path, opts, None, rows, block, block)
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        assert!(
            frames[..frames.len() - 1]
                .iter()
                .all(|f| f.height() == rows)
        );
        let mut whole = frames[0].clone();
        for f in &frames[1..] {
            whole.vstack_mut(f).unwrap();
        }
        whole
    }

    #[test]
    fn records_cut_across_blocks_read_as_a_whole_read_does() {
        let dir = tempfile::tempdir().unwrap();
        // A byte-order mark, blank lines before a quoted header, quoted fields with delimiters,
        // quotes and line breaks, CRLF endings, missing values, no final line break.
        let mut text = String::from("\u{feff}\n\r\n\"id\",\"note, text\",\"v\"\r\n");
        for i in 0..300 {
            let note = match i % 4 {
                0 => format!("\"line\nbreak {i}\""),
                1 => format!("\"say \"\"hi\"\", {i}\""),
                2 => String::new(),
                _ => format!("plain {i}"),
            };
            let v = if i % 7 == 0 {
                String::new()
            } else {
                format!("{}.5", i)
            };
            text.push_str(&format!("{i},{note},{v}\r\n"));
        }
        text.push_str("300,last,1.0");
        let p = dir.path().join("q.csv");
        std::fs::write(&p, &text).unwrap();
        let opts = ReadOptions::default();
        let eager = crate::read::read_polars(&p, &opts).unwrap();
        assert_eq!(eager.height(), 301);
        for block in [7, 64, 1 << 20] {
            let got = stacked(&p, &opts, 50, block);
            assert!(
                got.equals_missing(&eager),
                "block {block}: {got} vs {eager}"
            );
        }
        // Without a header line.
        let body = text.split_once("\"v\"\r\n").unwrap().1;
        let p = dir.path().join("nh.csv");
        std::fs::write(&p, body).unwrap();
        let mut opts = ReadOptions::default();
        opts.csv.has_header = false;
        let eager = crate::read::read_polars(&p, &opts).unwrap();
        assert!(stacked(&p, &opts, 64, 33).equals_missing(&eager));
    }

    #[test]
    fn ndjson_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!(
                "{{\"a\": {i}, \"b\": \"x{}\", \"c\": {}}}\n",
                i % 3,
                i as f64 / 4.0
            ));
        }
        let p = dir.path().join("t.ndjson");
        std::fs::write(&p, &text).unwrap();
        let opts = ReadOptions::default();
        let eager = crate::read::read(&p, &opts).unwrap();
        for block in [10, 100, 1 << 20] {
            assert!(
                stacked(&p, &opts, 64, block).equals_missing(&eager),
                "block {block}"
            );
        }
        let cols = ["c".to_string(), "a".to_string()];
        let b = batches(&p, &opts, Some(&cols), 1_000).unwrap();
        assert_eq!(b.rows_hint(), None);
        let f: Vec<DataFrame> = b.collect::<Result<_>>().unwrap();
        assert_eq!(f[0].get_column_names(), ["c", "a"]);
    }

    #[test]
    fn a_bad_value_is_located_and_ends_the_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(dir.path(), 50_000, Some(40_000));
        // Found when the read starts (polars' type inference may parse that far) or when it
        // reaches the line.
        let mut rows = 0;
        let err = batches(&p, &ReadOptions::default(), None, 1_000)
            .and_then(|b| {
                for f in b {
                    rows += f?.height();
                }
                Ok(())
            })
            .unwrap_err();
        assert!(rows < 40_000, "{rows}");
        assert!(
            matches!(&err, DataError::ParseValue { line: 40_000, name, .. } if name == "x"),
            "{err:?}"
        );
    }

    #[test]
    fn missing_columns_and_early_stops() {
        let dir = tempfile::tempdir().unwrap();
        let p = csv(dir.path(), 20_000, None);
        let err = batches(&p, &ReadOptions::default(), Some(&["nope".into()]), 10).unwrap_err();
        assert!(matches!(err, DataError::MissingColumn { .. }), "{err:?}");
        // Dropped after one batch: the reader stops (the test would hang otherwise).
        let mut b = batches(&p, &ReadOptions::default(), None, 100).unwrap();
        assert_eq!(b.next().unwrap().unwrap().height(), 100);
        drop(b);
        // A header without rows.
        let empty = dir.path().join("e.csv");
        std::fs::write(&empty, "a,b\n").unwrap();
        let res: Result<Vec<DataFrame>> =
            batches(&empty, &ReadOptions::default(), None, 10).and_then(|b| b.collect());
        assert!(matches!(res, Err(DataError::NoRows { .. })), "{res:?}");
    }
}
