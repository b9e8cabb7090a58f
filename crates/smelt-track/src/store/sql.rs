//! Small SQL-building helpers shared by the store's modules.

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
