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
//!    decimals are read eight digits at a time ([`short_decimal`]).
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

use crate::diagnose;
use crate::error::{DataError, Result};
use crate::read::{self, ReadOptions, owned};

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
    let n_header = match diagnose::header_names(path, dialect.delimiter, c) {
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
    let Some(head) = head(&file, len, head_lines).map_err(io_err)? else {
        return Ok(None);
    };
    let (layout, schema) = rayon::join(
        || scan(&file, len, chunk_bytes, max_line, c.has_header),
        || read::head_schema_of(path, head, opts),
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

/// Largest head [`head`] reads: polars' default 10,000 inference rows are a few MB.
const MAX_HEAD_BYTES: usize = 64 << 20;

/// The file's first `lines` lines (with their line breaks), or all of it if it has fewer;
/// `None` if that is over [`MAX_HEAD_BYTES`].
fn head(file: &File, len: usize, lines: usize) -> std::io::Result<Option<Vec<u8>>> {
    const BLOCK: usize = 256 << 10;
    let mut head = Vec::new();
    let mut seen = 0;
    while head.len() < len {
        if head.len() > MAX_HEAD_BYTES {
            return Ok(None);
        }
        let from = head.len();
        let n = (len - from).min(BLOCK);
        head.resize(from + n, 0);
        read_at(file, &mut head[from..], from)?;
        for q in memchr::memchr_iter(b'\n', &head[from..]) {
            seen += 1;
            if seen == lines {
                head.truncate(from + q + 1);
                return Ok(Some(head));
            }
        }
    }
    Ok(Some(head))
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
        if let Some(v) = valid.get_mut(j) {
            if let Some(bit) = v.get_or_insert_with(|| vec![true; rows]).get_mut(row) {
                *bit = false;
            }
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

/// The number at the start of `s` and its length in bytes, exactly as
/// `fast_float2::parse_partial::<f64>` reads it (the function behind polars' `fast_float2::parse`).
#[inline(always)]
fn parse_f64(s: &[u8]) -> Option<(f64, usize)> {
    short_decimal(s).or_else(|| fast_float2::parse_partial::<f64, _>(s).ok())
}

/// Exact powers of ten, as in `fast_float2`'s fast path.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// `fast_float2`'s fast path, with the digits read eight at a time: a plain decimal
/// `-?digits[.digits]` with at most 19 digits, at most 22 of them after the point, a mantissa
/// `m ≤ 2^53` and no exponent is `m / 10^k` in one IEEE division of two exact operands.
/// `fast_float2` computes that same expression for such input (`Number::try_fast_path`), so the
/// bits agree; anything else returns `None` for `fast_float2` itself to read. Measured on the
/// benchmark file: 9 ns per field against `fast_float2`'s 15.
#[inline(always)]
fn short_decimal(s: &[u8]) -> Option<(f64, usize)> {
    let negative = s.first() == Some(&b'-');
    let start = usize::from(negative);
    let mut mantissa = 0u64;
    let mut i = digits(s, start, &mut mantissa);
    let mut n_digits = i - start;
    let mut n_fraction = 0;
    if s.get(i) == Some(&b'.') {
        let from = i + 1;
        i = digits(s, from, &mut mantissa);
        n_fraction = i - from;
        n_digits += n_fraction;
    }
    if n_digits == 0 || n_digits > 19 || mantissa > 1 << 53 || matches!(s.get(i), Some(b'e' | b'E'))
    {
        return None;
    }
    let value = mantissa as f64 / *POW10.get(n_fraction)?;
    // The sign as a bit, not a branch: signs are random in data, branches on them mispredict.
    Some((
        f64::from_bits(value.to_bits() | u64::from(negative) << 63),
        i,
    ))
}

/// Reads the decimal digits of `s` from `i` into `mantissa` (wrapping, as `fast_float2` does;
/// more than 19 digits are rejected by the caller) and returns the position after them.
#[inline(always)]
fn digits(s: &[u8], mut i: usize, mantissa: &mut u64) -> usize {
    const POW10_INT: [u64; 9] = [
        1,
        10,
        100,
        1_000,
        10_000,
        100_000,
        1_000_000,
        10_000_000,
        100_000_000,
    ];
    while let Some(eight) = s.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let v = u64::from_le_bytes(*eight);
        let d = v.wrapping_sub(0x3030_3030_3030_3030);
        // A byte's high bit is set here if it is not a digit; bytes after the first non-digit
        // may carry garbage, but only the leading digits count.
        let non_digit = (v.wrapping_add(0x4646_4646_4646_4646) | d) & 0x8080_8080_8080_8080;
        let n = (non_digit.trailing_zeros() / 8) as usize; // 0..=8
        if n == 0 {
            return i;
        }
        // Keep the `n` leading digits, as the last ones of an 8-digit number.
        let d = if n == 8 { d } else { d << (8 * (8 - n)) };
        *mantissa = mantissa
            .wrapping_mul(POW10_INT[n])
            .wrapping_add(eight_digits(d));
        i += n;
        if n < 8 {
            return i;
        }
    }
    while let Some(&b) = s.get(i) {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d));
        i += 1;
    }
    i
}

/// The number written by eight digit values (one per byte, first digit in the lowest byte).
#[inline(always)]
fn eight_digits(v: u64) -> u64 {
    // fast_float2's `parse_8digits`, after its subtraction of `'0'`.
    const MASK: u64 = 0x0000_00FF_0000_00FF;
    const MUL1: u64 = 0x000F_4240_0000_0064;
    const MUL2: u64 = 0x0000_2710_0000_0001;
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let v1 = (v & MASK).wrapping_mul(MUL1);
    let v2 = ((v >> 16) & MASK).wrapping_mul(MUL2);
    u64::from((v1.wrapping_add(v2) >> 32) as u32)
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
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::infer::{InferOptions, SchemaFile, infer_schema, normalize};
    use crate::read::CsvOptions;

    /// SplitMix64, for generated files that are the same on every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len() as u64) as usize]
        }
        fn unit(&mut self) -> f64 {
            (self.next() >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).expect("write test file");
        p
    }

    fn fingerprint_of(df: &DataFrame, path: &Path) -> String {
        let schema = infer_schema(df, &SchemaFile::default(), &InferOptions::default(), path)
            .expect("infer");
        let df = normalize(df.clone(), &schema, path).expect("normalize");
        crate::fingerprint::fingerprint(&df, &schema, path).expect("fingerprint")
    }

    /// Asserts that two frames are equal to the bit: names, dtypes, nulls, values.
    fn assert_identical(fast: &DataFrame, slow: &DataFrame, what: &str) {
        assert_eq!(fast.shape(), slow.shape(), "{what}: shape");
        assert!(fast.equals_missing(slow), "{what}: frames differ");
        for (a, b) in fast.columns().iter().zip(slow.columns()) {
            assert_eq!(a.name(), b.name(), "{what}");
            assert_eq!(a.dtype(), b.dtype(), "{what}: column {}", a.name());
            assert_eq!(
                a.null_count(),
                b.null_count(),
                "{what}: column {}",
                a.name()
            );
            if a.dtype() == &DataType::Float64 {
                let bits = |c: &polars::prelude::Column| -> Vec<Option<u64>> {
                    c.f64()
                        .expect("f64")
                        .iter()
                        .map(|v| v.map(f64::to_bits))
                        .collect()
                };
                assert_eq!(bits(a), bits(b), "{what}: column {} bits", a.name());
            }
        }
    }

    /// Reads `path` with the fast reader (chunks of `chunk` bytes) and with polars; when the fast
    /// reader takes the file, both frames and fingerprints must be identical. Returns whether
    /// it took the file.
    fn same_as_polars(path: &Path, opts: &ReadOptions, chunk: usize) -> bool {
        let what = format!("{} (chunk {chunk})", path.display());
        let Some(fast) = read_chunked(path, opts, chunk).expect("no I/O error") else {
            return false;
        };
        let slow = read::read_polars(path, opts)
            .unwrap_or_else(|e| panic!("{what}: fast reader took a file polars rejects: {e}"));
        assert_identical(&fast, &slow, &what);
        assert_eq!(
            fingerprint_of(&fast, path),
            fingerprint_of(&slow, path),
            "{what}"
        );
        true
    }

    /// A float in one of many notations; `odd` adds hand-picked edge cases (signs, huge and
    /// tiny values, long mantissas) whose inferred type is polars' choice.
    fn float_text(rng: &mut Rng, odd: bool) -> String {
        let v = match rng.below(6) {
            0 => rng.unit() * 10.0 - 5.0,
            1 => (rng.unit() - 0.5) * 1e12,
            2 => (rng.unit() - 0.5) * 1e-9,
            3 => f64::from_bits(rng.next() & !(0x7ff << 52) | (rng.below(2046) + 1) << 52),
            4 => (rng.below(2001) as f64 - 1000.0) / 8.0,
            _ => (rng.unit() - 0.5) as f32 as f64,
        };
        match rng.below(12) {
            0 => format!("{v:e}"),
            1 => format!("{v:E}"),
            2 => format!("{v:.3}"),
            3 => format!("{v:.7e}"),
            4 => format!("{v:.20}"),
            5 if odd => rng
                .pick(&[
                    "-0.0",
                    "-0",
                    "0",
                    "0.0",
                    ".5",
                    "-.5",
                    "5.",
                    "+1.5",
                    "1e5",
                    "1E-5",
                    "-1e+05",
                    "007.25",
                    "0.1000000000000000055511151231257827",
                    "123456789012345678901234",
                    "9007199254740993",
                    "2.2250738585072011e-308",
                    "4.9e-324",
                    "1.7976931348623157e308",
                    "1e400",
                    "-1e-400",
                    "0.000000000000000000000000000001",
                    "100000000000000000000000.5",
                ])
                .to_string(),
            5 => rng
                .pick(&["-0.0", "0.0", ".5", "-.5", "5.", "1E-5", "-1e+05"])
                .to_string(),
            6 => format!("{:.6}", v as f32),
            _ => format!("{v}"),
        }
    }

    fn int_text(rng: &mut Rng, odd: bool) -> String {
        match rng.below(8) {
            0 if odd => rng
                .pick(&[
                    "0",
                    "-0",
                    "+5",
                    "007",
                    "-007",
                    "9223372036854775807",
                    "-9223372036854775808",
                    "0000000000000000000000000000042",
                    "+0",
                ])
                .to_string(),
            0 => rng
                .pick(&["0", "-0", "9223372036854775807", "-9223372036854775808"])
                .to_string(),
            1 => (rng.next() as i64).to_string(),
            _ => (rng.below(2001) as i64 - 1000).to_string(),
        }
    }

    /// A random numeric CSV: float and integer columns, empty fields and null markers, `\n` or
    /// `\r\n`, with or without a final line break; `odd` adds edge-case numbers and blank
    /// lines (an empty field of a one-column file).
    fn numeric_csv(rng: &mut Rng, nulls: &[&str], odd: bool) -> Vec<u8> {
        let n_cols = 1 + rng.below(5) as usize;
        let n_rows = 1 + rng.below(40) as usize;
        let floats: Vec<bool> = (0..n_cols).map(|_| rng.below(4) != 0).collect();
        let crlf = rng.below(3) == 0;
        let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
        let mut out = Vec::new();
        let names: Vec<String> = (0..n_cols).map(|j| format!("c{j}")).collect();
        out.extend_from_slice(names.join(",").as_bytes());
        out.extend_from_slice(eol);
        for r in 0..n_rows {
            let mut fields = Vec::new();
            for &is_float in &floats {
                // The first row has values so polars infers numbers, not strings.
                let missing = r > 0 && rng.below(8) == 0;
                let field = if missing && (nulls.is_empty() || rng.below(2) == 0) {
                    if n_cols == 1 && !odd {
                        "NA".to_string() // not a blank line
                    } else {
                        String::new()
                    }
                } else if missing {
                    rng.pick(nulls).to_string()
                } else if is_float {
                    float_text(rng, odd)
                } else {
                    int_text(rng, odd)
                };
                fields.push(field);
            }
            out.extend_from_slice(fields.join(",").as_bytes());
            if r + 1 < n_rows || rng.below(3) != 0 {
                out.extend_from_slice(eol);
            }
        }
        out
    }

    const CHUNKS: [usize; 8] = [1, 2, 3, 5, 8, 13, 64, CHUNK_BYTES];

    #[test]
    fn generated_files_equal_the_polars_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Rng(7);
        for i in 0..300 {
            let null_sets: [&[&str]; 3] = [&[], &["NA"], &["NA", "-999", "?"]];
            let nulls = *rng.pick(&null_sets);
            let bytes = numeric_csv(&mut rng, nulls, true);
            let path = write(&dir, &format!("g{i}.csv"), &bytes);
            let mut opts = ReadOptions::default();
            opts.csv.null_values = nulls.iter().map(|s| s.to_string()).collect();
            if rng.below(4) == 0 {
                opts.csv.infer_rows = 1 + rng.below(5) as usize;
            }
            for chunk in CHUNKS {
                same_as_polars(&path, &opts, chunk);
            }
        }
    }

    #[test]
    fn clean_generated_files_take_the_fast_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut rng = Rng(8);
        for i in 0..200 {
            let null_sets: [&[&str]; 2] = [&["NA"], &["NA", "-999", "?"]];
            let nulls = *rng.pick(&null_sets);
            let bytes = numeric_csv(&mut rng, nulls, false);
            let path = write(&dir, &format!("c{i}.csv"), &bytes);
            let mut opts = ReadOptions::default();
            opts.csv.null_values = nulls.iter().map(|s| s.to_string()).collect();
            for chunk in CHUNKS {
                assert!(
                    same_as_polars(&path, &opts, chunk),
                    "not taken (chunk {chunk}): {:?}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    #[test]
    fn chunk_boundaries_on_every_byte() {
        let dir = tempfile::tempdir().expect("temp dir");
        let bytes = b"a,b\r\n1.5,2\r\n-0.0,\r\n,3\r\n4e-3,-7\r\n.5,8";
        let path = write(&dir, "b.csv", bytes);
        for chunk in 1..=bytes.len() + 1 {
            assert!(same_as_polars(&path, &ReadOptions::default(), chunk));
        }
        let no_header = write(&dir, "n.csv", b"1,2\n3,4\n");
        let mut opts = ReadOptions::default();
        opts.csv.has_header = false;
        for chunk in 1..=9 {
            assert!(same_as_polars(&no_header, &opts, chunk));
        }
    }

    #[test]
    fn one_column_one_row_and_tabs() {
        let dir = tempfile::tempdir().expect("temp dir");
        for (name, bytes) in [
            ("one.csv", &b"x\n1.25\n"[..]),
            ("one_int.csv", b"x\n-3"),
            ("one_col.csv", b"x\n1\n2\n\n"),
            ("wide.tsv", b"a\tb\tc\n1\t2.5\t\n4\t\t6e1\n"),
        ] {
            let path = write(&dir, name, bytes);
            for chunk in [1, 4, CHUNK_BYTES] {
                let taken = same_as_polars(&path, &ReadOptions::default(), chunk);
                // A blank line is polars' to handle.
                assert_eq!(taken, name != "one_col.csv", "{name}");
            }
        }
    }

    #[test]
    fn out_of_scope_files_go_to_polars() {
        let dir = tempfile::tempdir().expect("temp dir");
        let long = format!("a\n{}\n", "1".repeat(300));
        type SetOptions = Box<dyn Fn(&mut CsvOptions)>;
        let cases: Vec<(&str, Vec<u8>, SetOptions)> = vec![
            (
                "quote in a field",
                b"a,b\n\"1\",2\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "quote in the header",
                b"\"a\",b\n1,2\n".to_vec(),
                Box::new(|_| {}),
            ),
            ("string column", b"a,b\nx,1\n".to_vec(), Box::new(|_| {})),
            (
                "boolean column",
                b"a,b\ntrue,1\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "too many fields",
                b"a,b\n1,2\n3,4,5\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "too few fields",
                b"a,b\n1,2\n3\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "text in an int column",
                b"a\n1\n2\nabc\n".to_vec(),
                Box::new(|c| c.infer_rows = 2),
            ),
            (
                "decimal in an int column",
                b"a\n1\n2\n1.5\n".to_vec(),
                Box::new(|c| c.infer_rows = 2),
            ),
            (
                "exponent in an int column",
                b"a\n1\n2\n1e5\n".to_vec(),
                Box::new(|c| c.infer_rows = 2),
            ),
            (
                "overflowing int",
                b"a\n1\n2\n9223372036854775808\n".to_vec(),
                Box::new(|c| c.infer_rows = 2),
            ),
            (
                "text in a float column",
                b"a\n1.5\n2.5\nn/a\n".to_vec(),
                Box::new(|c| c.infer_rows = 2),
            ),
            (
                "leading space",
                b"a,b\n1.5,2\n 2.5,3\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "trailing space",
                b"a,b\n1.5,2\n2.5 ,3\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "space in an int column",
                b"a,b\n1.5,2\n2.5, 3\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "long line",
                long.into_bytes(),
                Box::new(|c| c.max_line_bytes = 100),
            ),
            (
                "blank line",
                b"a,b\n1,2\n\n3,4\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "blank line before the header",
                b"\na,b\n1,2\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "comment prefix",
                b"a,b\n1,2\n".to_vec(),
                Box::new(|c| c.comment_prefix = Some("#".into())),
            ),
            (
                "duplicate names",
                b"a,b,a\n1,2,3\n".to_vec(),
                Box::new(|_| {}),
            ),
            ("header only", b"a,b\n".to_vec(), Box::new(|_| {})),
            (
                "stray carriage return",
                b"a,b\n1,2\r3,4\n".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "carriage return at the end",
                b"a,b\n1,2\r".to_vec(),
                Box::new(|_| {}),
            ),
            (
                "dot as delimiter",
                b"a.b\n1.2\n".to_vec(),
                Box::new(|c| c.delimiter = b'.'),
            ),
            (
                "marker with the delimiter",
                b"a,b\n1,2\n".to_vec(),
                Box::new(|c| c.null_values = vec!["x,y".into()]),
            ),
        ];
        for (what, bytes, set) in cases {
            let path = write(&dir, "s.csv", &bytes);
            let mut opts = ReadOptions::default();
            set(&mut opts.csv);
            for chunk in [1, 3, CHUNK_BYTES] {
                let got = read_chunked(&path, &opts, chunk).expect("no I/O error");
                assert!(
                    got.is_none(),
                    "{what} (chunk {chunk}): taken by the fast reader"
                );
            }
        }
    }

    #[test]
    fn odd_numbers_match_polars_whichever_path_reads_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let tokens = [
            "NaN",
            "nan",
            "-nan",
            "inf",
            "-inf",
            "+inf",
            "infinity",
            "-Infinity",
            "1e",
            "1e+",
            ".",
            "-",
            "+",
            "1.2.3",
            "--1",
            "0x10",
            "1_000",
            "١",
            "1e-7",
            "1E+300",
            "-0e0",
            "00.00",
            "5.",
        ];
        for (i, t) in tokens.iter().enumerate() {
            for body in [
                format!("a,b\n1.5,1\n{t},2\n"),
                format!("a,b\n{t},1\n2.5,2\n"),
            ] {
                let path = write(&dir, &format!("o{i}.csv"), body.as_bytes());
                let opts = ReadOptions::default();
                let polars = read::read_polars(&path, &opts);
                if let Some(fast) = read_chunked(&path, &opts, 4).expect("no I/O error") {
                    let slow = polars.unwrap_or_else(|e| panic!("{t}: polars fails: {e}"));
                    assert_identical(&fast, &slow, t);
                }
            }
        }
    }

    #[test]
    fn null_markers_are_compared_before_parsing() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "m.csv", b"a,b\n1.5,1\n-999,-999\nNA,2\n");
        let mut opts = ReadOptions::default();
        opts.csv.null_values = vec!["-999".into(), "NA".into()];
        assert!(same_as_polars(&path, &opts, CHUNK_BYTES));
        let df = read_chunked(&path, &opts, CHUNK_BYTES)
            .expect("no I/O error")
            .expect("in scope");
        assert_eq!(df.column("a").expect("a").null_count(), 2);
        assert_eq!(df.column("b").expect("b").null_count(), 1);
    }

    #[test]
    fn dtype_overrides_apply() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write(&dir, "d.csv", b"a,b\n1,2\n3,4\n");
        let mut opts = ReadOptions {
            dtypes: vec![("a".into(), DataType::Float64)],
            ..Default::default()
        };
        assert!(same_as_polars(&path, &opts, 3));
        opts.dtypes = vec![("a".into(), DataType::String)];
        assert!(
            read_chunked(&path, &opts, 3)
                .expect("no I/O error")
                .is_none()
        );
    }

    #[test]
    fn short_decimals_equal_fast_float() {
        let mut rng = Rng(11);
        let alphabet = b"0123456789.-+eE,\n\r x";
        let check = |s: &[u8]| {
            let ours = parse_f64(s).map(|(v, n)| (v.to_bits(), n));
            let theirs = fast_float2::parse_partial::<f64, _>(s)
                .ok()
                .map(|(v, n)| (v.to_bits(), n));
            assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(s));
        };
        for _ in 0..200_000 {
            // Digit strings of every length around the 8-byte blocks and the 19-digit limit.
            let mut s = Vec::new();
            if rng.below(2) == 0 {
                s.push(b'-');
            }
            for _ in 0..rng.below(24) {
                s.push(b'0' + rng.below(10) as u8);
            }
            if rng.below(4) != 0 {
                s.push(b'.');
                for _ in 0..rng.below(26) {
                    s.push(b'0' + rng.below(10) as u8);
                }
            }
            if rng.below(4) == 0 {
                s.push(*rng.pick(alphabet));
            }
            check(&s);
            // Random bytes from the number alphabet.
            let t: Vec<u8> = (0..rng.below(12)).map(|_| *rng.pick(alphabet)).collect();
            check(&t);
            // Shortest round-trip text of random doubles.
            let v = f64::from_bits(rng.next());
            check(format!("{v}").as_bytes());
            check(format!("{v:e},").as_bytes());
        }
        for s in [
            "9007199254740992",
            "9007199254740993",
            "0.9007199254740993",
            "1234567890123456789",
            "12345678901234567890",
            "0000000000000000001.5",
        ] {
            check(s.as_bytes());
        }
    }
}
