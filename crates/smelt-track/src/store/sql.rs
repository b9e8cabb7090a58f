//! Small SQL-building helpers shared by the store's modules.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::Result;

/// A stored double and its NaN flag read back: NaN is stored as 0 with the flag set (neither
/// backend keeps NaN in an indexed column the same way).
pub(crate) fn stored_value(row: &AnyRow, value: &str, is_nan: &str) -> Result<f64> {
    Ok(if row.try_get::<i64, _>(is_nan)? != 0 {
        f64::NAN
    } else {
        row.try_get(value)?
    })
}

/// Most bound values per statement. SQLite looks a `$N` parameter's name up by a linear scan
/// (`sqlite3_bind_parameter_name`, once per parameter as sqlx binds), so binding is quadratic in
/// the parameter count: 6,000 parameters cost more than the insert itself (measured: multi-row
/// inserts of 1,000 points ran the log-batch capacity down from 78k to 29k points/s).
pub(crate) const MAX_BINDS_PER_STATEMENT: usize = 600;

/// `$a, $a+1, …` for an IN list of `n` items.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `($1, $2, $3), ($4, $5, $6), …` for a multi-row VALUES list.
pub(crate) fn tuples(rows: usize, cols: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", placeholders(r * cols + 1, cols)))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn bind_all<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    values: &[&'q str],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    for v in values {
        q = q.bind(*v);
    }
    q
}
