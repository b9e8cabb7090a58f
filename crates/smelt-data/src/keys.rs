//! Row keys for splits and folds: group ids and time stamps read from a table's columns, with
//! the checks every split needs (the column exists, has no missing values, has a usable type).

use std::collections::HashMap;

use polars::prelude::{DataType, Series};
use smelt_core::{LogicalType, Role};

use crate::Loaded;
use crate::error::{DataError, Result};

/// The column to use for `role`: the one named explicitly (which must exist), or the first
/// column the schema gives that role (`None` when there is none).
pub fn column_for(loaded: &Loaded, explicit: Option<&str>, role: Role) -> Result<Option<String>> {
    if let Some(c) = explicit {
        if loaded.schema.get(c).is_none() {
            return Err(DataError::MissingColumn {
                path: loaded.path.clone(),
                name: c.to_string(),
                available: loaded
                    .schema
                    .columns()
                    .iter()
                    .map(|c| c.name.clone())
                    .collect(),
            });
        }
        return Ok(Some(c.to_string()));
    }
    Ok(loaded.schema.with_role(role).next().map(|c| c.name.clone()))
}

fn series<'a>(loaded: &'a Loaded, name: &str) -> Result<&'a Series> {
    loaded
        .frame
        .column(name)
        .map(|c| c.as_materialized_series())
        .map_err(|source| DataError::Polars {
            path: loaded.path.clone(),
            source,
        })
}

/// One code per row for the values of `name` (codes in order of first appearance). Missing
/// values are an error: a split cannot place them.
pub fn group_codes(loaded: &Loaded, name: &str) -> Result<Vec<u32>> {
    let s = series(loaded, name)?;
    if s.null_count() > 0 {
        return Err(DataError::BadColumn {
            path: loaded.path.clone(),
            name: name.to_string(),
            message: format!(
                "{} missing values; a split cannot place them (fill or drop those rows)",
                s.null_count()
            ),
        });
    }
    let polars = |source| DataError::Polars {
        path: loaded.path.clone(),
        source,
    };
    let st = s.cast(&DataType::String).map_err(polars)?;
    let ca = st.str().map_err(polars)?;
    let mut map: HashMap<&str, u32> = HashMap::new();
    let mut out = Vec::with_capacity(ca.len());
    for v in ca.iter() {
        let next = map.len() as u32;
        out.push(*map.entry(v.unwrap_or("")).or_insert(next));
    }
    Ok(out)
}

/// The time stamps of `name` as integers (datetimes in their physical unit), and whether it is
/// a datetime column. The column must be a datetime or integer column without missing values.
pub fn time_values(loaded: &Loaded, name: &str) -> Result<(Vec<i64>, bool)> {
    let ltype = loaded.schema.get(name).map(|c| c.ltype);
    if !matches!(ltype, Some(LogicalType::Datetime | LogicalType::Integer)) {
        return Err(DataError::BadColumn {
            path: loaded.path.clone(),
            name: name.to_string(),
            message: format!(
                "a time column must be a datetime or integer column, found {}",
                ltype.map_or("?", |t| t.as_str())
            ),
        });
    }
    let s = series(loaded, name)?;
    if s.null_count() > 0 {
        return Err(DataError::BadColumn {
            path: loaded.path.clone(),
            name: name.to_string(),
            message: format!(
                "{} missing values; a temporal split cannot place them",
                s.null_count()
            ),
        });
    }
    let polars = |source| DataError::Polars {
        path: loaded.path.clone(),
        source,
    };
    let phys = s
        .to_physical_repr()
        .cast(&DataType::Int64)
        .map_err(polars)?;
    let values = phys.i64().map_err(polars)?.no_null_iter().collect();
    Ok((values, ltype == Some(LogicalType::Datetime)))
}
