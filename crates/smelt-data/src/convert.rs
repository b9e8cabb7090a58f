//! The explicit conversion from a normalised polars [`DataFrame`] to a [`Dataset`].
//!
//! Rules, column by column (roles and types come from the [`Schema`]):
//! * Only columns with the `feature` role and a tabular type (numeric, integer, boolean,
//!   categorical) become features, in table order. `id`, `time`, `group` and `ignore` columns,
//!   and datetime features, are left out — they need dedicated encoders.
//! * text features (free text) are kept beside the matrix as [`TextColumn`]s
//!   ([`Dataset::texts`]) for text models; tabular models never see them.
//! * numeric and integer values are cast to `T`; booleans become 0/1.
//! * categorical values become codes `0..k` into the sorted distinct values (the mapping is
//!   kept in [`FeatureKind::Categorical`]).
//! * a missing value becomes NaN and a set bit in the feature's missing mask.
//! * the target (role `target`) becomes [`Target::Classification`] for boolean, categorical and
//!   text columns and for integer columns with at most [`MAX_INTEGER_CLASSES`] distinct values,
//!   and [`Target::Regression`] otherwise. A missing target value is an error.
//!
//! Columns are copied in parallel straight from the Arrow buffers into one column-major
//! allocation; no intermediate `f64` copy is made.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;
use smelt_core::{
    Bitmap, Dataset, Feature, FeatureKind, Float, LogicalType, Role, Schema, Target, TextColumn,
};

use crate::error::{DataError, Result, owned};

/// An integer target with at most this many distinct values is a classification target.
pub const MAX_INTEGER_CLASSES: usize = 50;

/// How to read the target column.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskKind {
    /// Decide from the target's type (see the module docs).
    #[default]
    Auto,
    /// Always classification.
    Classification,
    /// Always regression (the target must be numeric).
    Regression,
}

/// Converts a normalised frame to a dataset with the target's task inferred.
pub fn to_dataset<T: Float>(df: &DataFrame, schema: &Schema, path: &Path) -> Result<Dataset<T>> {
    to_dataset_with(df, schema, TaskKind::Auto, path)
}

/// Converts a normalised frame to a dataset (see the module docs for the rules).
pub fn to_dataset_with<T: Float>(
    df: &DataFrame,
    schema: &Schema,
    task: TaskKind,
    path: &Path,
) -> Result<Dataset<T>> {
    let n = df.height();
    let polars_err = |e| DataError::Polars {
        path: owned(path),
        source: e,
    };
    let feats: Vec<_> = schema.tabular_features().collect();
    let mut values = vec![T::default(); n * feats.len()];
    let results: Vec<Result<(Feature, Option<Bitmap>)>> = values
        .par_chunks_mut(n.max(1))
        .zip(feats.par_iter())
        .map(|(out, cs)| {
            let s = df
                .column(&cs.name)
                .map_err(polars_err)?
                .as_materialized_series();
            let kind = fill_feature(s, cs.ltype, out).map_err(polars_err)?;
            let missing = missing_mask(s, out);
            Ok((
                Feature {
                    name: cs.name.clone(),
                    ltype: cs.ltype,
                    kind,
                },
                missing,
            ))
        })
        .collect();
    let (features, missing): (Vec<_>, Vec<_>) = results
        .into_iter()
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .unzip();
    let target = match schema.target() {
        Some(t) => {
            let s = df
                .column(&t.name)
                .map_err(polars_err)?
                .as_materialized_series();
            Some((t.name.clone(), to_target(s, t.ltype, task, path)?))
        }
        None => None,
    };
    let texts = schema
        .columns()
        .iter()
        .filter(|c| c.role == Role::Feature && c.ltype == LogicalType::Text)
        .map(|c| {
            let s = df.column(&c.name).map_err(polars_err)?;
            let s = s.cast(&DataType::String).map_err(polars_err)?;
            let values = s
                .str()
                .map_err(polars_err)?
                .iter()
                .map(|v| v.map(str::to_string))
                .collect();
            Ok(TextColumn::new(c.name.clone(), values))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Dataset::from_parts(n, values, features, missing, target)?.with_texts(texts)?)
}

fn missing_mask<T: Float>(s: &Series, out: &[T]) -> Option<Bitmap> {
    let has_nan = matches!(s.dtype(), DataType::Float32 | DataType::Float64)
        && out.iter().any(|v| v.is_nan());
    (s.null_count() > 0 || has_nan).then(|| Bitmap::from_bools(out.iter().map(|v| v.is_nan())))
}

fn fill_numeric<N, T>(ca: &ChunkedArray<N>, out: &mut [T], conv: impl Fn(N::Native) -> f64)
where
    N: PolarsNumericType,
    T: Float,
{
    let mut offset = 0;
    for arr in ca.downcast_iter() {
        let vals = arr.values().as_slice();
        let dst = &mut out[offset..offset + vals.len()];
        for (d, &v) in dst.iter_mut().zip(vals) {
            *d = T::from_f64(conv(v));
        }
        if let Some(validity) = arr.validity()
            && validity.unset_bits() > 0
        {
            for (i, valid) in validity.iter().enumerate() {
                if !valid {
                    dst[i] = T::NAN;
                }
            }
        }
        offset += vals.len();
    }
}

fn fill_feature<T: Float>(
    s: &Series,
    ltype: LogicalType,
    out: &mut [T],
) -> PolarsResult<FeatureKind> {
    match ltype {
        LogicalType::Categorical => {
            let s = s.cast(&DataType::String)?;
            let ca = s.str()?;
            let categories: Vec<String> = ca
                .iter()
                .flatten()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect();
            let index: std::collections::HashMap<&str, usize> = categories
                .iter()
                .enumerate()
                .map(|(i, c)| (c.as_str(), i))
                .collect();
            for (d, v) in out.iter_mut().zip(ca.iter()) {
                *d = match v {
                    Some(v) => T::from_f64(index[v] as f64),
                    None => T::NAN,
                };
            }
            Ok(FeatureKind::Categorical { categories })
        }
        _ => {
            match s.dtype() {
                DataType::Float32 => fill_numeric(s.f32()?, out, |v| v as f64),
                DataType::Float64 => fill_numeric(s.f64()?, out, |v| v),
                DataType::Int64 => fill_numeric(s.i64()?, out, |v| v as f64),
                DataType::Int32 => fill_numeric(s.i32()?, out, |v| v as f64),
                DataType::Boolean => {
                    for (d, v) in out.iter_mut().zip(s.bool()?.iter()) {
                        *d = match v {
                            Some(b) => T::from_f64(f64::from(u8::from(b))),
                            None => T::NAN,
                        };
                    }
                }
                _ => {
                    let f = s.cast(&DataType::Float64)?;
                    fill_numeric(f.f64()?, out, |v| v);
                }
            }
            Ok(FeatureKind::Numeric)
        }
    }
}

fn to_target(s: &Series, ltype: LogicalType, task: TaskKind, path: &Path) -> Result<Target> {
    let name = s.name().to_string();
    let polars_err = |e| DataError::Polars {
        path: owned(path),
        source: e,
    };
    if s.null_count() > 0 {
        let first = s
            .is_null()
            .iter()
            .position(|v| v == Some(true))
            .unwrap_or(0);
        return Err(DataError::BadColumn {
            path: owned(path),
            name,
            message: format!(
                "the target has {} missing values (first at row {}); drop or fill those rows",
                s.null_count(),
                first + 1
            ),
        });
    }
    let classify = match task {
        TaskKind::Classification => true,
        TaskKind::Regression => false,
        TaskKind::Auto => match ltype {
            LogicalType::Numeric => false,
            LogicalType::Integer => s.n_unique().map_err(polars_err)? <= MAX_INTEGER_CLASSES,
            _ => true,
        },
    };
    if !classify {
        if !matches!(
            ltype,
            LogicalType::Numeric | LogicalType::Integer | LogicalType::Boolean
        ) {
            return Err(DataError::BadColumn {
                path: owned(path),
                name,
                message: format!("a {ltype} target cannot be used for regression"),
            });
        }
        let f = s.cast(&DataType::Float64).map_err(polars_err)?;
        let values: Vec<f64> = f.f64().map_err(polars_err)?.no_null_iter().collect();
        if let Some(i) = values.iter().position(|v| !v.is_finite()) {
            return Err(DataError::BadColumn {
                path: owned(path),
                name,
                message: format!(
                    "row {}: the target is {}, not a finite number",
                    i + 1,
                    values[i]
                ),
            });
        }
        return Ok(Target::Regression { values });
    }
    // Classes sorted like numpy's unique: numerically for numbers, lexically for strings.
    let (classes, codes) = match s.dtype() {
        dt if dt.is_integer() || dt.is_bool() => {
            let i = s.cast(&DataType::Int64).map_err(polars_err)?;
            let vals: Vec<i64> = i.i64().map_err(polars_err)?.no_null_iter().collect();
            let uniq: Vec<i64> = vals
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let codes = vals
                .iter()
                .map(|v| uniq.binary_search(v).map_or(0, |c| c as u32))
                .collect();
            let classes = if dt.is_bool() {
                uniq.iter().map(|&v| (v == 1).to_string()).collect()
            } else {
                uniq.iter().map(i64::to_string).collect()
            };
            (classes, codes)
        }
        _ => {
            let st = s.cast(&DataType::String).map_err(polars_err)?;
            let ca = st.str().map_err(polars_err)?;
            let uniq: Vec<String> = ca
                .no_null_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .map(str::to_string)
                .collect();
            let codes = ca
                .no_null_iter()
                .map(|v| {
                    uniq.binary_search_by(|u| u.as_str().cmp(v))
                        .map_or(0, |c| c as u32)
                })
                .collect();
            (uniq, codes)
        }
    };
    Ok(Target::Classification { codes, classes })
}

/// Whether the schema's target column exists, for a clear error before conversion.
pub fn require_target(schema: &Schema, name: &str, path: &Path) -> Result<()> {
    match schema.get(name) {
        Some(c) if c.role == Role::Target => Ok(()),
        Some(_) => Err(DataError::BadColumn {
            path: owned(path),
            name: name.to_string(),
            message: "is not marked as the target".into(),
        }),
        None => Err(DataError::MissingColumn {
            path: owned(path),
            name: name.to_string(),
            available: schema.columns().iter().map(|c| c.name.clone()).collect(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::infer::{InferOptions, SchemaFile, infer_schema, normalize};

    #[test]
    fn converts_mixed_frame() {
        let df = DataFrame::new(
            4,
            vec![
                Column::new("id".into(), &[10i64, 11, 12, 13]),
                Column::new("x".into(), &[Some(1.0f64), None, Some(3.0), Some(4.0)]),
                Column::new(
                    "colour".into(),
                    &[Some("red"), Some("blue"), None, Some("red")],
                ),
                Column::new("ok".into(), &[true, false, true, true]),
                Column::new("y".into(), &["b", "a", "b", "c"]),
            ],
        )
        .unwrap();
        let file = SchemaFile {
            target: Some("y".into()),
            ..Default::default()
        };
        let p = Path::new("t.csv");
        let schema = infer_schema(&df, &file, &InferOptions::default(), p).unwrap();
        assert_eq!(schema.get("id").unwrap().role, Role::Id);
        let df = normalize(df, &schema, p).unwrap();
        let ds = to_dataset::<f32>(&df, &schema, p).unwrap();
        assert_eq!(
            ds.feature_names().collect::<Vec<_>>(),
            ["x", "colour", "ok"]
        );
        assert!(ds.is_missing(1, 0) && ds.column(0)[1].is_nan());
        assert_eq!(
            ds.features()[1].kind,
            FeatureKind::Categorical {
                categories: vec!["blue".into(), "red".into()]
            }
        );
        assert_eq!(&ds.column(1)[..2], &[1.0, 0.0]);
        assert!(ds.is_missing(2, 1));
        assert_eq!(ds.column(2), &[1.0, 0.0, 1.0, 1.0]);
        match ds.target().unwrap() {
            Target::Classification { codes, classes } => {
                assert_eq!(classes, &["a", "b", "c"]);
                assert_eq!(codes, &[1, 0, 1, 2]);
            }
            t => panic!("{t:?}"),
        }
    }

    #[test]
    fn integer_targets_sort_numerically_and_missing_targets_fail() {
        let df = DataFrame::new(3, vec![Column::new("y".into(), &[10i64, 9, 10])]).unwrap();
        let file = SchemaFile {
            target: Some("y".into()),
            ..Default::default()
        };
        let p = Path::new("t.csv");
        let schema = infer_schema(&df, &file, &InferOptions::default(), p).unwrap();
        let ds = to_dataset::<f64>(&df, &schema, p).unwrap();
        match ds.target().unwrap() {
            Target::Classification { classes, codes } => {
                assert_eq!(classes, &["9", "10"]);
                assert_eq!(codes, &[1, 0, 1]);
            }
            t => panic!("{t:?}"),
        }
        let df = DataFrame::new(2, vec![Column::new("y".into(), &[Some(1.5f64), None])]).unwrap();
        let schema = infer_schema(&df, &file, &InferOptions::default(), p).unwrap();
        let err = to_dataset::<f64>(&df, &schema, p).unwrap_err();
        assert!(err.to_string().contains("first at row 2"), "{err}");
    }
}
