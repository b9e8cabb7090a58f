//! A parallel reader for clean numeric CSV files, tried by [`crate::read::read`] before polars.
//!
//! **Scope.** Every column polars infers for the file (over its first `infer_rows` rows, with
//! the caller's dtype overrides) is `Int64` or `Float64`; no comment prefix; the delimiter cannot
//! occur in a number; no null marker contains the delimiter, the quote or a line break; every
//! line ends in `\n` or `\r\n` (the last one may end the file) and is no longer than
//! `max_line_bytes`; no line is blank; the header has no duplicate name and no quote character;
//! every data line has exactly the header's number of fields, and every field is empty, a null
//! marker (→ null), or a number that polars' own number parser reads whole. Anything else, a
//! quote character in a field included, returns `Ok(None)` and the polars path (preflight,
//! parse, located errors) runs unchanged; so this module reports no data error, only I/O
//! errors.
//!
//! **Same result.** Column names and dtypes come from polars' inference over the file's head,
//! which is what its full read infers too; floats are parsed by the function polars calls
//! (`fast_float2`), integers by the same (`atoi_simd`), on the same bytes; null markers are
//! compared before parsing, as polars does; a null slot holds `0`, as polars' builders leave it.
//! The frame equals the polars path's to the bit, so fingerprints, inference and conversion
//! downstream do not change (`tests` below compare both paths on generated files).
//!
//! **Speed.** polars' parse of the 800k × 29 benchmark CSV takes ~0.36 s on two threads, pandas'
//! whole load ~0.4 s; this reader takes ~0.18 s (`BENCHMARKS.md`). polars infers the types from
//! the file's head read into memory (at most 64 MiB), while the file is read in chunks of
//! [`CHUNK_BYTES`] with positioned reads, twice, in parallel (rayon):
//! 1. count the line starts in each chunk (memchr) and measure the longest line;
//! 2. allocate each final column once, split it into the chunks' disjoint row ranges
//!    (`split_at_mut`), and let each chunk parse its lines straight into them; short plain
//!    decimals are read eight digits at a time ([`number::short_decimal`]).
//!
//! The columns become polars columns without a copy. Reading rather than memory-mapping costs
//! a second copy out of the page cache (~10 ms here) but needs no `unsafe`, cannot fault when
//! the file shrinks underneath, and keeps resident memory at the columns plus one chunk buffer
//! per thread.

use std::fs::File;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{DataError, Result, owned};
use crate::read::options::ReadOptions;
use crate::read::{polars_glue, preflight};

mod number;
use number::parse_f64;

/// Bytes per chunk: many more chunks than threads on large files (load balance), small enough
/// that a chunk's bytes stay in the L2/L3 cache while it is parsed.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;

/// Longest line this reader takes (besides `max_line_bytes`); longer ones go to polars, so a
/// chunk buffer stays small.
const MAX_LINE_BYTES: u64 = 16 << 20;

/// Reads `path` if it is in scope (see the module docs); `Ok(None)` otherwise.
pub(crate) fn read(path: &Path, opts: &ReadOptions) -> Result<Option<DataFrame>> {
    read_chunked(path, opts, CHUNK_BYTES)
}

/// [`read()`] with a given chunk size (tests use tiny chunks to hit every boundary case).
pub(crate) fn read_chunked(
    path: &Path,
    opts: &ReadOptions,
    chunk_bytes: usize,
) -> Result<Option<DataFrame>> {
    let c = &opts.csv;
    let dialect = Dialect {
        delimiter: opts.delimiter_for(path),
        nulls: c
            .null_values
            .iter()
            .map(|v| v.as_bytes().to_vec())
            .collect(),
    };
    if c.comment_prefix.is_some() || !delimiter_in_scope(dialect.delimiter, c.quote) {
        return Ok(None);
    }
    let unsafe_marker = |m: &Vec<u8>| {
        m.iter()
            .any(|&b| b == dialect.delimiter || b == b'\n' || b == b'\r' || Some(b) == c.quote)
    };
    if dialect.nulls.iter().any(unsafe_marker) {
        return Ok(None);
    }
    // The header as the preflight sees it: a duplicate name or an unreadable header is the
    // polars path's to report.
    let n_header = match preflight::header_names(path, dialect.delimiter, c) {
        Ok((n, _)) => n,
        Err(e @ DataError::Io { .. }) => return Err(e),
        Err(_) => return Ok(None),
    };

    let io_err = |e| DataError::Io {
        path: owned(path),
        source: e,
    };
    let file = File::open(path).map_err(io_err)?;
    let Ok(len) = usize::try_from(file.metadata().map_err(io_err)?.len()) else {
        return Ok(None);
    };
    let max_line = usize::try_from(c.max_line_bytes.min(MAX_LINE_BYTES)).unwrap_or(usize::MAX);
    let chunk_bytes = chunk_bytes.max(1);
    // polars' own type inference over the file's head (any failure there is the polars path's
    // to report), beside the first pass: it is single-threaded and takes as long.
    let head_lines = c
        .infer_rows
        .max(1)
        .saturating_add(usize::from(c.has_header));
    let Some(head) = polars_glue::head(&file, len, head_lines).map_err(io_err)? else {
        return Ok(None);
    };
    let (layout, schema) = rayon::join(
        || scan(&file, len, chunk_bytes, max_line, c.has_header),
        || polars_glue::head_schema_of(path, head, opts),
    );
    let Some(layout) = layout.map_err(io_err)? else {
        return Ok(None);
    };
    if layout.rows == 0 {
        return Ok(None);
    }
    if c.has_header
        && (layout.header.is_empty()
            || c.quote
                .is_some_and(|q| memchr::memchr(q, &layout.header).is_some()))
    {
        // polars skips blank lines before the header; quoted names may span lines.
        return Ok(None);
    }
    let Ok(schema) = schema else {
        return Ok(None);
    };
    if schema.len() != n_header {
        return Ok(None);
    }
    let Some(kinds) = schema
        .iter_values()
        .map(|dt| match dt {
            DataType::Float64 => Some(Kind::Float),
            DataType::Int64 => Some(Kind::Int),
            _ => None,
        })
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };

    let Some(columns) = parse(&file, &layout, &kinds, &dialect).map_err(io_err)? else {
        return Ok(None);
    };
    let Some(columns) = schema
        .iter_names()
        .zip(columns)
        .map(|(name, col)| col.into_column(name.clone()))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(None);
    };
    // A frame polars refuses (it should not happen: the names are polars' own) is the polars
    // path's to report.
    Ok(DataFrame::new(layout.rows, columns).ok())
}

/// The delimiter and null markers, as bytes.
struct Dialect {
    delimiter: u8,
    nulls: Vec<Vec<u8>>,
}

impl Dialect {
    fn is_null(&self, field: &[u8]) -> bool {
        self.nulls.iter().any(|m| m.as_slice() == field)
    }
}

/// A delimiter that cannot be part of a number (`inf`, `nan` and exponents included) nor of a
/// line break, and is not the quote character.
fn delimiter_in_scope(d: u8, quote: Option<u8>) -> bool {
    !(d.is_ascii_alphanumeric()
        || matches!(d, b'+' | b'-' | b'.' | b'\n' | b'\r')
        || !d.is_ascii()
        || Some(d) == quote)
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Float,
    Int,
}

/// Where the lines are: chunks that start at a line start, with their number of data rows.
struct Layout {
    /// `(start, end, rows)` byte ranges covering the file from its first line to its end.
    chunks: Vec<(usize, usize, usize)>,
    /// Data rows in the file.
    rows: usize,
    /// The first line (without its line break), the header if there is one.
    header: Vec<u8>,
    has_header: bool,
}

/// What the first pass learns about one chunk `[a, b)` of the file.
#[derive(Clone, Copy, Debug, Default)]
struct ChunkScan {
    /// Line starts in `[a, b)`.
    starts: usize,
    /// The first of them.
    first_start: Option<usize>,
    /// First and last `\n` in `[a, b)`.
    first_nl: Option<usize>,
    last_nl: Option<usize>,
    /// Longest line between two `\n` of this chunk (bytes, without the `\n`).
    max_inner: usize,
}

/// Reads `[from, from + buf.len())` of the file.
#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], from: usize) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.read_exact_at(buf, from as u64)
}

/// Reads `[from, from + buf.len())` of the file.
#[cfg(windows)]
fn read_at(file: &File, mut buf: &mut [u8], mut from: usize) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        match file.seek_read(buf, from as u64) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => {
                buf = &mut buf[n..];
                from += n;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `buf[..n]`, grown (never shrunk or re-zeroed) as needed.
fn buffer(buf: &mut Vec<u8>, n: usize) -> &mut [u8] {
    if buf.len() < n {
        buf.resize(n, 0);
    }
    &mut buf[..n]
}

/// First pass: line starts per chunk and the longest line. `None` when a line is longer than
/// `max_line`.
fn scan(
    file: &File,
    len: usize,
    chunk_bytes: usize,
    max_line: usize,
    has_header: bool,
) -> std::io::Result<Option<Layout>> {
    let n_chunks = len.div_ceil(chunk_bytes);
    let scans = (0..n_chunks)
        .into_par_iter()
        .map_init(Vec::new, |buf, k| {
            let a = k * chunk_bytes;
            let b = (a + chunk_bytes).min(len);
            // One byte before the chunk says whether `a` starts a line.
            let from = a.saturating_sub(1);
            let bytes = buffer(buf, b - from);
            read_at(file, bytes, from)?;
            let (starts_at_a, body) = match a {
                0 => (true, &bytes[..]),
                _ => (bytes.first() == Some(&b'\n'), bytes.get(1..).unwrap_or(&[])),
            };
            let mut s = ChunkScan::default();
            let mut newlines = 0;
            for i in memchr::memchr_iter(b'\n', body) {
                let q = a + i;
                if let Some(p) = s.last_nl {
                    s.max_inner = s.max_inner.max(q - p - 1);
                } else {
                    s.first_nl = Some(q);
                }
                s.last_nl = Some(q);
                newlines += 1;
            }
            // A `\n` at `b - 1` starts a line in the next chunk (or ends the file).
            let ends_at_b = s.last_nl == Some(b - 1);
            s.starts = usize::from(starts_at_a) + newlines - usize::from(ends_at_b);
            s.first_start = if starts_at_a {
                Some(a)
            } else {
                s.first_nl.map(|q| q + 1).filter(|&p| p < b)
            };
            Ok(s)
        })
        .collect::<std::io::Result<Vec<ChunkScan>>>()?;

    // The longest line, across chunk boundaries too.
    let mut longest = 0;
    let mut line_start = 0;
    for s in &scans {
        if let (Some(first), Some(last)) = (s.first_nl, s.last_nl) {
            longest = longest.max(first - line_start).max(s.max_inner);
            line_start = last + 1;
        }
    }
    longest = longest.max(len - line_start.min(len));
    if longest > max_line {
        return Ok(None);
    }

    let starts: Vec<(usize, usize)> = scans
        .iter()
        .filter_map(|s| s.first_start.map(|p| (p, s.starts)))
        .collect();
    let mut chunks = Vec::with_capacity(starts.len());
    let mut rows = 0;
    for (i, &(start, n)) in starts.iter().enumerate() {
        let end = starts.get(i + 1).map_or(len, |&(next, _)| next);
        // The first chunk starts at byte 0, with the header line if there is one.
        let data_rows = if i == 0 && has_header {
            n.saturating_sub(1)
        } else {
            n
        };
        rows += data_rows;
        chunks.push((start, end, data_rows));
    }
    let first_line_end = scans.iter().find_map(|s| s.first_nl).unwrap_or(len);
    let mut header = vec![0; first_line_end.min(max_line)];
    read_at(file, &mut header, 0)?;
    if header.last() == Some(&b'\r') {
        header.pop();
    }
    Ok(Some(Layout {
        chunks,
        rows,
        header,
        has_header,
    }))
}

/// A column being filled.
enum Column {
    Float(Vec<f64>),
    Int(Vec<i64>),
}

impl Column {
    /// The polars column, without copying the values; `None` if the validity cannot be built
    /// (not expected; the polars path then reads the file).
    fn into_column(
        self,
        name: PlSmallStr,
        valid: Option<Vec<bool>>,
    ) -> Option<polars::prelude::Column> {
        // polars' bitmap type is reachable only through an array's values, so the validity is
        // built as a boolean column first (only for columns that have nulls).
        let validity = match valid {
            None => None,
            Some(valid) => {
                let mask = BooleanChunked::from_slice(PlSmallStr::EMPTY, &valid);
                let mut arrays = mask.downcast_iter();
                match (arrays.next(), arrays.next()) {
                    (Some(a), None) if a.len() == valid.len() => Some(a.values().clone()),
                    _ => return None,
                }
            }
        };
        Some(match self {
            Column::Float(v) => Float64Chunked::from_vec_validity(name, v, validity).into_column(),
            Column::Int(v) => Int64Chunked::from_vec_validity(name, v, validity).into_column(),
        })
    }
}

/// A chunk's rows of one column.
enum Rows<'a> {
    Float(&'a mut [f64]),
    Int(&'a mut [i64]),
}

/// A parsed column and, when it has nulls, its validity.
struct Parsed {
    values: Column,
    valid: Option<Vec<bool>>,
}

impl Parsed {
    fn into_column(self, name: PlSmallStr) -> Option<polars::prelude::Column> {
        self.values.into_column(name, self.valid)
    }
}

/// Second pass: every chunk parses its lines into its own rows of the final columns. `None`
/// when any line is out of scope.
fn parse(
    file: &File,
    layout: &Layout,
    kinds: &[Kind],
    dialect: &Dialect,
) -> std::io::Result<Option<Vec<Parsed>>> {
    let n = layout.rows;
    let mut columns: Vec<Column> = kinds
        .iter()
        .map(|k| match k {
            Kind::Float => Column::Float(vec![0.0; n]),
            Kind::Int => Column::Int(vec![0; n]),
        })
        .collect();

    // Split every column into the chunks' row ranges.
    let mut per_chunk: Vec<Vec<Rows>> = layout
        .chunks
        .iter()
        .map(|_| Vec::with_capacity(kinds.len()))
        .collect();
    for col in columns.iter_mut() {
        match col {
            Column::Float(v) => {
                let mut rest = v.as_mut_slice();
                for (&(_, _, rows), out) in layout.chunks.iter().zip(per_chunk.iter_mut()) {
                    let Some((head, tail)) = rest.split_at_mut_checked(rows) else {
                        return Ok(None);
                    };
                    out.push(Rows::Float(head));
                    rest = tail;
                }
            }
            Column::Int(v) => {
                let mut rest = v.as_mut_slice();
                for (&(_, _, rows), out) in layout.chunks.iter().zip(per_chunk.iter_mut()) {
                    let Some((head, tail)) = rest.split_at_mut_checked(rows) else {
                        return Ok(None);
                    };
                    out.push(Rows::Int(head));
                    rest = tail;
                }
            }
        }
    }

    let out_of_scope = AtomicBool::new(false);
    let last = layout.chunks.len().saturating_sub(1);
    let results = layout
        .chunks
        .par_iter()
        .zip(per_chunk)
        .enumerate()
        .map_init(Vec::new, |buf, (k, (&(start, end, _), mut out))| {
            if out_of_scope.load(Ordering::Relaxed) {
                return Ok(None);
            }
            let bytes = buffer(buf, end - start);
            read_at(file, bytes, start)?;
            let mut bytes: &[u8] = bytes;
            if k == 0 && layout.has_header {
                let skip = memchr::memchr(b'\n', bytes).map_or(bytes.len(), |q| q + 1);
                bytes = bytes.get(skip..).unwrap_or(&[]);
            }
            let valid = parse_lines(bytes, &mut out, dialect, k == last);
            if valid.is_none() {
                out_of_scope.store(true, Ordering::Relaxed);
            }
            Ok(valid)
        })
        .collect::<std::io::Result<Vec<Option<Vec<Option<Vec<bool>>>>>>>()?;
    let Some(per_chunk_valid) = results.into_iter().collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };

    // A column's validity, where any of its chunks has a null.
    let mut parsed = Vec::with_capacity(columns.len());
    for (j, values) in columns.into_iter().enumerate() {
        let has_nulls = per_chunk_valid
            .iter()
            .any(|chunk| chunk.get(j).is_some_and(Option::is_some));
        let valid = has_nulls.then(|| {
            let mut valid = Vec::with_capacity(n);
            for (chunk, &(_, _, rows)) in per_chunk_valid.iter().zip(&layout.chunks) {
                match chunk.get(j) {
                    Some(Some(v)) => valid.extend_from_slice(v),
                    _ => valid.resize(valid.len() + rows, true),
                }
            }
            valid
        });
        if valid.as_ref().is_some_and(|v| v.len() != n) {
            return Ok(None);
        }
        parsed.push(Parsed { values, valid });
    }
    Ok(Some(parsed))
}

/// Parses `out`'s rows from `bytes`, which hold exactly that many lines. Returns each column's
/// validity (`None` for a column without nulls), or `None` when a line is out of scope.
/// `at_eof`: the bytes end the file, so the last line may lack its line break.
fn parse_lines(
    bytes: &[u8],
    out: &mut [Rows],
    dialect: &Dialect,
    at_eof: bool,
) -> Option<Vec<Option<Vec<bool>>>> {
    let rows = match out.first() {
        Some(Rows::Float(v)) => v.len(),
        Some(Rows::Int(v)) => v.len(),
        None => return None,
    };
    let n_cols = out.len();
    let delimiter = dialect.delimiter;
    let mut valid: Vec<Option<Vec<bool>>> = vec![None; n_cols];
    let mut null = |j: usize, row: usize| {
        if let Some(v) = valid.get_mut(j)
            && let Some(bit) = v.get_or_insert_with(|| vec![true; rows]).get_mut(row)
        {
            *bit = false;
        }
    };
    let mut pos = 0;
    for row in 0..rows {
        // A blank line: polars' handling of those is not ours to copy.
        match bytes.get(pos..)? {
            [b'\n', ..] | [b'\r', b'\n', ..] | [] => return None,
            _ => {}
        }
        for (j, col) in out.iter_mut().enumerate() {
            let rest = bytes.get(pos..)?;
            let last = j + 1 == n_cols;
            let len = match col {
                Rows::Float(v) => {
                    let slot = v.get_mut(row)?;
                    match parse_f64(rest) {
                        // The number ends where the field does: it was read from exactly the
                        // bytes `fast_float2::parse` gets from polars, as a delimiter or line
                        // break cannot continue a number.
                        Some((value, len)) if ends_field(rest, len, delimiter, last) => {
                            if !dialect.nulls.is_empty() && dialect.is_null(rest.get(..len)?) {
                                null(j, row);
                            } else {
                                *slot = value;
                            }
                            len
                        }
                        _ => {
                            let len = null_field(rest, delimiter, last, dialect)?;
                            null(j, row);
                            len
                        }
                    }
                }
                Rows::Int(v) => {
                    let slot = v.get_mut(row)?;
                    let len = field_len(rest, delimiter);
                    if !ends_field(rest, len, delimiter, last) {
                        return None;
                    }
                    let field = rest.get(..len)?;
                    if field.is_empty() || dialect.is_null(field) {
                        null(j, row);
                    } else if matches!(field.first(), Some(b' ' | b'\t')) {
                        return None; // polars would skip the whitespace first
                    } else {
                        *slot = atoi_simd::parse::<i64, true, true>(field).ok()?;
                    }
                    len
                }
            };
            pos += len;
            pos += match bytes.get(pos) {
                _ if !last => 1, // the delimiter, checked by `ends_field`
                Some(b'\n') => 1,
                Some(_) => 2, // `\r\n`, checked by `ends_field`
                None if at_eof => 0,
                None => return None,
            };
        }
    }
    (pos == bytes.len()).then_some(valid)
}

/// Whether the field that starts `rest` ends after `len` bytes: at the delimiter, or at the end
/// of the line for the last field.
fn ends_field(rest: &[u8], len: usize, delimiter: u8, last: bool) -> bool {
    match rest.get(len) {
        Some(&d) if !last => d == delimiter,
        Some(b'\n') | None => last,
        Some(b'\r') => last && rest.get(len + 1) == Some(&b'\n'),
        Some(_) => false,
    }
}

/// Length of the field that starts `rest`: up to the delimiter or the line break.
fn field_len(rest: &[u8], delimiter: u8) -> usize {
    rest.iter()
        .position(|&b| b == delimiter || b == b'\n' || b == b'\r')
        .unwrap_or(rest.len())
}

/// The length of the field that starts `rest` if it is empty or a null marker.
fn null_field(rest: &[u8], delimiter: u8, last: bool, dialect: &Dialect) -> Option<usize> {
    let len = field_len(rest, delimiter);
    let field = rest.get(..len)?;
    (ends_field(rest, len, delimiter, last) && (field.is_empty() || dialect.is_null(field)))
        .then_some(len)
}

#[cfg(test)]
mod tests;
