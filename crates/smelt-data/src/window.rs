//! Windows of a time series for forecasting: one row per forecast, the past as lag columns.
//!
//! For a series `y` (rows in time order, after sorting by the time column when there is one),
//! lags `L` and horizon `H`, the row of target step `s` (`s ≥ L + H − 1`) holds
//!
//! - `y_lag1 … y_lagL`: the values at steps `s − H, s − H − 1, …, s − H − L + 1` — `y_lag1` is
//!   the latest value known `H` steps before the target (`H = 1`: the step just before it);
//! - the same lags of every covariate (`temperature_lag1 …`);
//! - the value at step `s` of every *known* covariate (a calendar flag, a forecast), under its
//!   own name: known in advance, so not lagged;
//! - `y` at step `s`, the target, under its own name;
//! - the time column's value at step `s` (role `time`), so temporal splits hold out the latest
//!   targets.
//!
//! That is the convention `lstm_regressor`/`gru_regressor` read (`{base}_lag{k}` = `k` steps
//! back) and `seasonal_naive` forecasts from. A missing value inside a window stays missing
//! (null) in its lag column: the models read it as missing. The time column must be a datetime
//! or integer column with distinct values; rows are sorted by it. A series shorter than
//! `L + H` rows is an error.
//!
//! ```no_run
//! use smelt_data::window::{WindowSpec, window};
//! let loaded = smelt_data::load("data/air_passengers.csv".as_ref(), &Default::default()).unwrap();
//! let spec = WindowSpec::new("passengers", 12);
//! let windows = window(&loaded, &spec).unwrap();
//! assert_eq!(windows.height(), loaded.frame.height() - 12);
//! ```

use polars::prelude::*;
use smelt_core::{LogicalType, Role};

use crate::Loaded;
use crate::error::{DataError, Result};
use crate::keys::{column_for, time_values};

/// What [`window`] builds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// The series to forecast.
    pub target: String,
    /// The time column (default: the schema's `time` column; none: the file's row order).
    pub time: Option<String>,
    /// Lags of the target and of each covariate, `>= 1`.
    pub lags: usize,
    /// Steps ahead of the latest lag the target is, `>= 1`.
    pub horizon: usize,
    /// Series read at the same lags as the target.
    pub covariates: Vec<String>,
    /// Series known at the target step (not lagged).
    pub known: Vec<String>,
}

impl WindowSpec {
    /// `lags` lags of `target`, horizon 1, no covariates, the schema's time column.
    pub fn new(target: &str, lags: usize) -> WindowSpec {
        WindowSpec {
            target: target.to_string(),
            time: None,
            lags,
            horizon: 1,
            covariates: Vec::new(),
            known: Vec::new(),
        }
    }
}

/// The column of name `name` as f64 values (`None` for missing ones).
fn values(loaded: &Loaded, name: &str) -> Result<Vec<Option<f64>>> {
    column_for(loaded, Some(name), Role::Feature)?;
    let ltype = loaded.schema.get(name).map(|c| c.ltype);
    if !matches!(
        ltype,
        Some(LogicalType::Numeric | LogicalType::Integer | LogicalType::Boolean)
    ) {
        return Err(DataError::BadColumn {
            path: loaded.path.clone(),
            name: name.to_string(),
            message: format!(
                "a windowed series must be numeric, found {}",
                ltype.map_or("?", |t| t.as_str())
            ),
        });
    }
    let polars = |source| DataError::Polars {
        path: loaded.path.clone(),
        source,
    };
    let s = loaded
        .frame
        .column(name)
        .map_err(polars)?
        .as_materialized_series()
        .cast(&DataType::Float64)
        .map_err(polars)?;
    Ok(s.f64().map_err(polars)?.iter().collect())
}

/// The windows of `loaded` (see the [module docs](self)).
pub fn window(loaded: &Loaded, spec: &WindowSpec) -> Result<DataFrame> {
    if spec.lags == 0 || spec.horizon == 0 {
        return Err(DataError::Invalid(format!(
            "lags ({}) and horizon ({}) must be at least 1",
            spec.lags, spec.horizon
        )));
    }
    let path = &loaded.path;
    let polars = |source| DataError::Polars {
        path: path.clone(),
        source,
    };
    let n = loaded.frame.height();
    // Row order: by the time column when there is one.
    let time = column_for(loaded, spec.time.as_deref(), Role::Time)?;
    let order: Vec<usize> = match &time {
        Some(col) => {
            let (t, _) = time_values(loaded, col)?;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| t[i]);
            if let Some(w) = order.windows(2).find(|w| t[w[0]] == t[w[1]]) {
                let raw = loaded
                    .frame
                    .column(col)
                    .and_then(|c| c.get(w[1]).map(|v| v.to_string()))
                    .unwrap_or_default();
                return Err(DataError::BadColumn {
                    path: path.clone(),
                    name: col.clone(),
                    message: format!(
                        "duplicate time {raw} (data rows {} and {}): a window needs one value \
                         per step; aggregate or filter to one series first",
                        w[0].min(w[1]) + 1,
                        w[0].max(w[1]) + 1
                    ),
                });
            }
            order
        }
        None => (0..n).collect(),
    };
    let (lags, h) = (spec.lags, spec.horizon);
    if n < lags + h {
        return Err(DataError::TooShort {
            path: path.clone(),
            rows: n,
            lags,
            horizon: h,
        });
    }
    // Target steps s = lags + h − 1 .. n (in sorted order).
    let first = lags + h - 1;
    let targets: Vec<usize> = (first..n).collect();
    let mut columns: Vec<Column> = Vec::new();
    if let Some(col) = &time {
        let idx = IdxCa::from_vec(
            "idx".into(),
            targets.iter().map(|&s| order[s] as IdxSize).collect(),
        );
        let c = loaded.frame.column(col).map_err(polars)?;
        columns.push(c.take(&idx).map_err(polars)?);
    }
    let lagged = std::iter::once(&spec.target).chain(&spec.covariates);
    for name in lagged {
        let v = values(loaded, name)?;
        for k in 1..=lags {
            let col: Float64Chunked = targets.iter().map(|&s| v[order[s + 1 - h - k]]).collect();
            columns.push(col.with_name(format!("{name}_lag{k}").into()).into_column());
        }
    }
    for name in &spec.known {
        if *name == spec.target {
            return Err(DataError::Invalid(format!(
                "`{name}` is the target: it cannot be a known covariate"
            )));
        }
        let v = values(loaded, name)?;
        let col: Float64Chunked = targets.iter().map(|&s| v[order[s]]).collect();
        columns.push(col.with_name(name.as_str().into()).into_column());
    }
    let y = values(loaded, &spec.target)?;
    let col: Float64Chunked = targets.iter().map(|&s| y[order[s]]).collect();
    columns.push(col.with_name(spec.target.as_str().into()).into_column());
    DataFrame::new(targets.len(), columns).map_err(polars)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::infer::{InferOptions, SchemaFile, infer_schema, normalize};

    fn loaded(df: DataFrame) -> Loaded {
        let path = PathBuf::from("series.csv");
        let schema = infer_schema(&df, &SchemaFile::default(), &InferOptions::default(), &path)
            .expect("schema");
        let frame = normalize(df, &schema, &path).expect("normalize");
        Loaded {
            path,
            frame,
            schema,
        }
    }

    fn series() -> Loaded {
        // Shuffled time stamps: the window sorts them.
        loaded(
            df!(
                "t" => [3i64, 1, 2, 5, 4, 6],
                "y" => [30.0, 10.0, 20.0, 50.0, 40.0, 60.0],
                "x" => [3.0, 1.0, 2.0, 5.0, 4.0, 6.0],
            )
            .expect("frame"),
        )
    }

    fn col(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
        df.column(name)
            .expect(name)
            .as_materialized_series()
            .cast(&DataType::Float64)
            .expect("f64")
            .f64()
            .expect("f64")
            .iter()
            .collect()
    }

    #[test]
    fn lags_are_the_steps_before_the_target_in_time_order() {
        let mut spec = WindowSpec::new("y", 2);
        spec.time = Some("t".into());
        spec.covariates = vec!["x".into()];
        let w = window(&series(), &spec).expect("window");
        let names: Vec<&str> = w.get_column_names().iter().map(|s| s.as_str()).collect();
        assert_eq!(names, ["t", "y_lag1", "y_lag2", "x_lag1", "x_lag2", "y"]);
        assert_eq!(col(&w, "t"), [Some(3.0), Some(4.0), Some(5.0), Some(6.0)]);
        assert_eq!(
            col(&w, "y"),
            [Some(30.0), Some(40.0), Some(50.0), Some(60.0)]
        );
        assert_eq!(
            col(&w, "y_lag1"),
            [Some(20.0), Some(30.0), Some(40.0), Some(50.0)]
        );
        assert_eq!(
            col(&w, "y_lag2"),
            [Some(10.0), Some(20.0), Some(30.0), Some(40.0)]
        );
        assert_eq!(
            col(&w, "x_lag2"),
            [Some(1.0), Some(2.0), Some(3.0), Some(4.0)]
        );
    }

    #[test]
    fn a_horizon_moves_the_target_away_from_the_lags() {
        let mut spec = WindowSpec::new("y", 2);
        spec.time = Some("t".into());
        spec.horizon = 3;
        spec.known = vec!["x".into()];
        let w = window(&series(), &spec).expect("window");
        // Target steps 5 and 6 (1-based); lag 1 is 3 steps before the target.
        assert_eq!(col(&w, "y"), [Some(50.0), Some(60.0)]);
        assert_eq!(col(&w, "y_lag1"), [Some(20.0), Some(30.0)]);
        assert_eq!(col(&w, "y_lag2"), [Some(10.0), Some(20.0)]);
        // A known covariate is the value at the target step.
        assert_eq!(col(&w, "x"), [Some(5.0), Some(6.0)]);
    }

    #[test]
    fn missing_values_stay_missing() {
        let l = loaded(df!("y" => [Some(1.0), None, Some(3.0), Some(4.0)]).expect("frame"));
        let w = window(&l, &WindowSpec::new("y", 1)).expect("window");
        assert_eq!(col(&w, "y_lag1"), [Some(1.0), None, Some(3.0)]);
        assert_eq!(col(&w, "y"), [None, Some(3.0), Some(4.0)]);
    }

    #[test]
    fn a_series_shorter_than_the_window_is_an_error() {
        let mut spec = WindowSpec::new("y", 5);
        spec.horizon = 2;
        let err = window(&series(), &spec).unwrap_err();
        assert!(matches!(
            err,
            DataError::TooShort {
                rows: 6,
                lags: 5,
                horizon: 2,
                ..
            }
        ));
        let text = err.to_string();
        assert!(
            text.contains("series.csv") && text.contains("6 rows"),
            "{text}"
        );
        assert!(err.hint().is_some_and(|h| h.contains("at most 4")));
    }

    #[test]
    fn duplicate_times_are_an_error_naming_the_rows() {
        let l = loaded(df!("t" => [1i64, 2, 2, 3], "y" => [1.0, 2.0, 3.0, 4.0]).expect("frame"));
        let mut spec = WindowSpec::new("y", 1);
        spec.time = Some("t".into());
        let err = window(&l, &spec).unwrap_err().to_string();
        assert!(
            err.contains("duplicate time 2") && err.contains("rows 2 and 3"),
            "{err}"
        );
    }

    #[test]
    fn unknown_and_text_columns_are_errors() {
        let err = window(&series(), &WindowSpec::new("nope", 1)).unwrap_err();
        assert!(matches!(err, DataError::MissingColumn { .. }), "{err}");
        let l = loaded(df!("y" => ["a", "b", "c"]).expect("frame"));
        let err = window(&l, &WindowSpec::new("y", 1))
            .unwrap_err()
            .to_string();
        assert!(err.contains("must be numeric"), "{err}");
    }
}
