//! Numbers that polars' CSV type inference reads as text: `nan`, `inf`, `-Infinity`, `1e999`
//! and missing-value markers such as `NA` or `null` in an otherwise numeric column. pandas reads
//! such a column as floats (NaN, ±inf, missing); so does Smelt: a text column whose every
//! value is a number, one of these words, or a missing marker becomes a `Float64` column.
//! Any other value leaves the column as it is, so a real text column never changes.

use polars::prelude::*;

use std::path::Path;

use crate::error::{DataError, Result};

/// Markers pandas reads as missing by default (its `na_values`), compared case-sensitively as
/// pandas does; they turn a value missing only inside a column that is otherwise numeric.
const MISSING: &[&str] = &[
    "", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
    "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null",
];

/// What one text value is as a number.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Value {
    /// A number (±inf and NaN included).
    Number(f64),
    /// A missing-value marker.
    Missing,
}

/// Reads `s` as pandas' CSV reader would in a float column, or `None` when it is text. NaN
/// spellings are NaN (as polars reads `NaN`); the markers in [`MISSING`] that are not NaN
/// spellings are missing.
fn value(s: &str) -> Option<Value> {
    let t = s.trim();
    if let Ok(v) = t.parse::<f64>() {
        // Rust reads `nan`, `inf` and `infinity` in any case, with a sign, and overflows to ±inf.
        return Some(Value::Number(v));
    }
    MISSING.contains(&t).then_some(Value::Missing)
}

/// Converts each text column of `df` that holds only numbers, NaN/infinity spellings and
/// missing markers (with at least one number that needed this: a word such as `nan`, or an
/// overflow to infinity) into a `Float64` column.
pub(super) fn convert(path: &Path, mut df: DataFrame) -> Result<DataFrame> {
    let err = |source| DataError::Polars {
        path: path.to_path_buf(),
        source,
    };
    let names: Vec<PlSmallStr> = df
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().clone())
        .collect();
    for name in names {
        let Some(values) = floats(df.column(&name).map_err(err)?).map_err(err)? else {
            continue;
        };
        df.replace(&name, values.into_column()).map_err(err)?;
    }
    Ok(df)
}

/// The text column `col` as floats when every value reads as one ([`value`]) and at least one is a
/// number; `None` otherwise.
fn floats(col: &Column) -> PolarsResult<Option<Float64Chunked>> {
    let strings = col.str()?;
    let mut out = Vec::with_capacity(strings.len());
    let mut numbers = 0usize;
    for s in strings.iter() {
        match s.map(value) {
            None => out.push(None),
            Some(None) => return Ok(None),
            Some(Some(Value::Missing)) => out.push(None),
            Some(Some(Value::Number(v))) => {
                numbers += 1;
                out.push(Some(v));
            }
        }
    }
    if numbers == 0 {
        return Ok(None);
    }
    Ok(Some(Float64Chunked::from_iter_options(
        col.name().clone(),
        out.into_iter(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(values: &[Option<&str>]) -> DataFrame {
        df!("x" => values, "id" => (0..values.len() as i64).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn reads_pandas_special_values() {
        let df = convert(
            Path::new("t.csv"),
            frame(&[
                Some("1.5"),
                Some("nan"),
                Some("inf"),
                Some("-Infinity"),
                Some("1e999"),
                Some("NA"),
                None,
                Some("-inf"),
            ]),
        )
        .unwrap();
        let x = df.column("x").unwrap().f64().unwrap();
        let v: Vec<Option<f64>> = x.iter().collect();
        assert_eq!(v[0], Some(1.5));
        assert!(v[1].unwrap().is_nan());
        assert_eq!(v[2], Some(f64::INFINITY));
        assert_eq!(v[3], Some(f64::NEG_INFINITY));
        assert_eq!(v[4], Some(f64::INFINITY));
        assert_eq!(v[5], None);
        assert_eq!(v[6], None);
        assert_eq!(v[7], Some(f64::NEG_INFINITY));
    }

    #[test]
    fn leaves_text_alone() {
        for values in [
            vec![Some("1.5"), Some("abc")],
            vec![Some("NA"), Some("N/A")],
            vec![Some("Namibia"), Some("NA")],
        ] {
            let df = convert(Path::new("t.csv"), frame(&values)).unwrap();
            assert_eq!(
                df.column("x").unwrap().dtype(),
                &DataType::String,
                "{values:?}"
            );
        }
    }
}
