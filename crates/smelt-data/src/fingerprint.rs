//! Dataset fingerprints: a BLAKE3 hash of the canonical data and schema.
//!
//! The hash covers, in order: a format tag, the row count, and for each column its name, its
//! logical type and every value in a canonical encoding — numbers as IEEE-754 `f64` bits
//! (`-0.0` folded into `0.0`, one NaN), integers, datetimes (µs) as `i64`, booleans as one
//! byte, strings as length-prefixed UTF-8, and a marker byte for missing values. Physical
//! types, chunking, compression and file format do not enter it: the same table as CSV and as
//! Parquet has one fingerprint. Roles do not enter it either (choosing a different target does
//! not change the data).
//!
//! Columns are hashed in parallel; [`Fingerprinter`] also takes a table batch by batch, for
//! streaming over files larger than memory.

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use smelt_core::{LogicalType, Schema};

use crate::error::{DataError, Result, owned};

const TAG: &[u8] = b"smelt-fingerprint-v1";
const MISSING: u8 = 0;
const PRESENT: u8 = 1;

/// Incremental fingerprint over batches of one table.
pub struct Fingerprinter {
    columns: Vec<(String, LogicalType, blake3::Hasher)>,
    rows: u64,
}

impl Fingerprinter {
    /// Starts a fingerprint for tables of this schema.
    pub fn new(schema: &Schema) -> Self {
        Fingerprinter {
            columns: schema
                .columns()
                .iter()
                .map(|c| (c.name.clone(), c.ltype, blake3::Hasher::new()))
                .collect(),
            rows: 0,
        }
    }

    /// Adds the next batch of rows (columns in schema order, normalised types).
    pub fn update(&mut self, batch: &DataFrame, path: &Path) -> Result<()> {
        if batch.width() != self.columns.len() {
            return Err(DataError::Invalid(format!(
                "{}: batch has {} columns, schema has {}",
                path.display(),
                batch.width(),
                self.columns.len()
            )));
        }
        self.columns
            .par_iter_mut()
            .zip(batch.columns().par_iter())
            .try_for_each(|((_, ltype, h), c)| hash_column(h, *ltype, c.as_materialized_series()))
            .map_err(|e| DataError::Polars {
                path: owned(path),
                source: e,
            })?;
        self.rows += batch.height() as u64;
        Ok(())
    }

    /// The hex-encoded fingerprint.
    pub fn finish(self) -> String {
        let mut h = blake3::Hasher::new();
        h.update(TAG);
        h.update(&self.rows.to_le_bytes());
        h.update(&(self.columns.len() as u64).to_le_bytes());
        for (name, ltype, col) in &self.columns {
            h.update(&(name.len() as u64).to_le_bytes());
            h.update(name.as_bytes());
            h.update(ltype.as_str().as_bytes());
            h.update(col.finalize().as_bytes());
        }
        h.finalize().to_hex().to_string()
    }
}

/// Fingerprint of a whole normalised frame.
pub fn fingerprint(df: &DataFrame, schema: &Schema, path: &Path) -> Result<String> {
    let mut f = Fingerprinter::new(schema);
    f.update(df, path)?;
    Ok(f.finish())
}

/// Buffered writer into a hasher: BLAKE3 is fastest on large updates.
struct Buf<'a> {
    h: &'a mut blake3::Hasher,
    buf: Vec<u8>,
}

impl<'a> Buf<'a> {
    fn new(h: &'a mut blake3::Hasher) -> Self {
        Buf {
            h,
            buf: Vec::with_capacity(1 << 16),
        }
    }
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        if self.buf.len() + bytes.len() > (1 << 16) {
            self.h.update(&self.buf);
            self.buf.clear();
        }
        if bytes.len() > (1 << 16) {
            self.h.update(bytes);
        } else {
            self.buf.extend_from_slice(bytes);
        }
    }
}

impl Drop for Buf<'_> {
    fn drop(&mut self) {
        self.h.update(&self.buf);
    }
}

#[inline]
fn canonical_f64(v: f64) -> [u8; 8] {
    let v = if v == 0.0 {
        0.0
    } else if v.is_nan() {
        f64::NAN
    } else {
        v
    };
    v.to_bits().to_le_bytes()
}

fn hash_column(h: &mut blake3::Hasher, ltype: LogicalType, s: &Series) -> PolarsResult<()> {
    let mut b = Buf::new(h);
    match ltype {
        LogicalType::Numeric => {
            let f = if matches!(s.dtype(), DataType::Float32 | DataType::Float64) {
                std::borrow::Cow::Borrowed(s)
            } else {
                std::borrow::Cow::Owned(s.cast(&DataType::Float64)?)
            };
            match f.dtype() {
                DataType::Float32 => {
                    for v in f.f32()?.iter() {
                        match v {
                            Some(x) => {
                                b.put(&[PRESENT]);
                                b.put(&canonical_f64(x as f64));
                            }
                            None => b.put(&[MISSING]),
                        }
                    }
                }
                _ => {
                    for v in f.f64()?.iter() {
                        match v {
                            Some(x) => {
                                b.put(&[PRESENT]);
                                b.put(&canonical_f64(x));
                            }
                            None => b.put(&[MISSING]),
                        }
                    }
                }
            }
        }
        LogicalType::Integer | LogicalType::Datetime => {
            let phys = s.to_physical_repr();
            let i = phys.cast(&DataType::Int64)?;
            for v in i.i64()?.iter() {
                match v {
                    Some(x) => {
                        b.put(&[PRESENT]);
                        b.put(&x.to_le_bytes());
                    }
                    None => b.put(&[MISSING]),
                }
            }
        }
        LogicalType::Boolean => {
            let c = s.cast(&DataType::Boolean)?;
            for v in c.bool()?.iter() {
                b.put(&[match v {
                    None => MISSING,
                    Some(false) => 2,
                    Some(true) => 3,
                }]);
            }
        }
        LogicalType::Categorical | LogicalType::Text => {
            let c = s.cast(&DataType::String)?;
            for v in c.str()?.iter() {
                match v {
                    Some(x) => {
                        b.put(&[PRESENT]);
                        b.put(&(x.len() as u64).to_le_bytes());
                        b.put(x.as_bytes());
                    }
                    None => b.put(&[MISSING]),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::{ColumnSchema, Role};

    fn schema(types: &[(&str, LogicalType)]) -> Schema {
        Schema::new(
            types
                .iter()
                .map(|(n, t)| ColumnSchema {
                    name: n.to_string(),
                    ltype: *t,
                    role: Role::Feature,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn independent_of_chunking_and_float_width() {
        let s = schema(&[("x", LogicalType::Numeric), ("c", LogicalType::Categorical)]);
        let df = DataFrame::new(
            3,
            vec![
                Column::new("x".into(), &[Some(1.5f64), None, Some(-0.0)]),
                Column::new("c".into(), &[Some("a"), Some("b"), None]),
            ],
        )
        .unwrap();
        let whole = fingerprint(&df, &s, Path::new("t")).unwrap();
        let mut inc = Fingerprinter::new(&s);
        inc.update(&df.slice(0, 2), Path::new("t")).unwrap();
        inc.update(&df.slice(2, 1), Path::new("t")).unwrap();
        assert_eq!(inc.finish(), whole);

        let df32 = DataFrame::new(
            3,
            vec![
                Column::new("x".into(), &[Some(1.5f32), None, Some(0.0)]),
                Column::new("c".into(), &[Some("a"), Some("b"), None]),
            ],
        )
        .unwrap();
        assert_eq!(fingerprint(&df32, &s, Path::new("t")).unwrap(), whole);
    }

    #[test]
    fn sensitive_to_values_names_types_and_missingness() {
        let s = schema(&[("x", LogicalType::Numeric)]);
        let base = |v: Option<f64>| {
            let df = DataFrame::new(2, vec![Column::new("x".into(), &[Some(1.0), v])]).unwrap();
            fingerprint(&df, &s, Path::new("t")).unwrap()
        };
        assert_ne!(base(Some(2.0)), base(Some(2.000001)));
        assert_ne!(base(None), base(Some(0.0)));
        let df = DataFrame::new(1, vec![Column::new("x".into(), &[1.0f64])]).unwrap();
        let other = schema(&[("x", LogicalType::Integer)]);
        assert_ne!(
            fingerprint(&df, &s, Path::new("t")).unwrap(),
            fingerprint(&df, &other, Path::new("t")).unwrap()
        );
        // Strings: length prefixes keep ["ab", "c"] apart from ["a", "bc"].
        let st = schema(&[("s", LogicalType::Text)]);
        let f = |a: &str, b: &str| {
            let df = DataFrame::new(2, vec![Column::new("s".into(), &[a, b])]).unwrap();
            fingerprint(&df, &st, Path::new("t")).unwrap()
        };
        assert_ne!(f("ab", "c"), f("a", "bc"));
    }
}
