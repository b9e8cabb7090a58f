//! [`TimeSeriesSplit`] and [`time_order`].

use super::{Fold, SplitInput, Splitter, check_n_splits};
use crate::error::{EvalError, Result};

/// Time-series cross-validation: the rows, in time order, end in `n_splits` consecutive test
/// blocks; each fold trains on the rows before its block (less a `gap`, at most the last
/// `max_train_size`) — scikit-learn's `TimeSeriesSplit`, reproduced exactly.
///
/// * test blocks have `test_size` rows (default `n_rows / (n_splits + 1)`), the last block
///   ending at the last row;
/// * `gap` rows just before each test block are left out of its training set (set it to the
///   forecast horizon so a lag feature cannot see the test period);
/// * `max_train_size` keeps only the most recent rows of each training set (a sliding window
///   instead of an expanding one).
///
/// Rows are taken in [`SplitInput::order`] when given (see [`time_order`]), else in row order
/// (scikit-learn assumes sorted rows). Positions are counted in that order, so rows sharing a
/// timestamp can fall on both sides of a cut; `smelt_data::split` has tie-aware time splits.
/// The fold's indices are row numbers, sorted.
///
/// ```
/// use smelt_eval::split::{SplitInput, Splitter, TimeSeriesSplit};
///
/// let cv = TimeSeriesSplit::new(3)?.with_gap(1);
/// let folds = cv.split(&SplitInput::new(8))?;
/// // Test blocks of 8 / (3 + 1) = 2 rows; row 1 is the gap before the first.
/// assert_eq!(folds[0].train, vec![0]);
/// assert_eq!(folds[0].test, vec![2, 3]);
/// assert_eq!(folds[2].train, vec![0, 1, 2, 3, 4]);
/// assert_eq!(folds[2].test, vec![6, 7]);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeSeriesSplit {
    n_splits: usize,
    gap: usize,
    max_train_size: Option<usize>,
    test_size: Option<usize>,
}

const CONTEXT: &str = "TimeSeriesSplit";

impl TimeSeriesSplit {
    /// `n_splits` test blocks (at least 2), no gap, expanding training sets.
    pub fn new(n_splits: usize) -> Result<Self> {
        check_n_splits(CONTEXT, n_splits)?;
        Ok(TimeSeriesSplit {
            n_splits,
            gap: 0,
            max_train_size: None,
            test_size: None,
        })
    }

    /// Leaves `gap` rows out between each training set and its test block.
    pub fn with_gap(mut self, gap: usize) -> Self {
        self.gap = gap;
        self
    }

    /// Keeps at most the last `max_train_size` rows (at least 1) of each training set.
    pub fn with_max_train_size(mut self, max_train_size: usize) -> Result<Self> {
        if max_train_size == 0 {
            return Err(EvalError::input_hint(
                CONTEXT,
                "max_train_size must be at least 1, got 0",
                "leave it unset for expanding training sets",
            ));
        }
        self.max_train_size = Some(max_train_size);
        Ok(self)
    }

    /// Test blocks of `test_size` rows (at least 1) instead of `n_rows / (n_splits + 1)`.
    pub fn with_test_size(mut self, test_size: usize) -> Result<Self> {
        if test_size == 0 {
            return Err(EvalError::input_hint(
                CONTEXT,
                "test_size must be at least 1, got 0",
                "leave it unset for n_rows / (n_splits + 1) rows per test block",
            ));
        }
        self.test_size = Some(test_size);
        Ok(self)
    }
}

/// Checks that `order` is a permutation of `0..n`.
fn check_order(order: &[usize], n: usize) -> Result<()> {
    if order.len() != n {
        return Err(EvalError::input_hint(
            CONTEXT,
            format!("`order` has {} values for {n} rows", order.len()),
            "pass every row number once, earliest first (`time_order` builds it from a time column)",
        ));
    }
    let mut seen = vec![false; n];
    for (pos, &row) in order.iter().enumerate() {
        if row >= n {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!("`order` names row {row} (at position {pos}), but there are only {n} rows"),
                "`order` must be a permutation of the row numbers 0..n_rows",
            ));
        }
        if std::mem::replace(&mut seen[row], true) {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!("`order` lists row {row} twice (again at position {pos})"),
                "`order` must be a permutation of the row numbers 0..n_rows",
            ));
        }
    }
    Ok(())
}

impl Splitter for TimeSeriesSplit {
    fn name(&self) -> String {
        let mut s = format!("TimeSeriesSplit(n_splits={}", self.n_splits);
        if self.gap > 0 {
            s.push_str(&format!(", gap={}", self.gap));
        }
        if let Some(m) = self.max_train_size {
            s.push_str(&format!(", max_train_size={m}"));
        }
        if let Some(t) = self.test_size {
            s.push_str(&format!(", test_size={t}"));
        }
        s.push(')');
        s
    }

    fn n_splits(&self) -> usize {
        self.n_splits
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        let (n, k, gap) = (input.n_rows, self.n_splits, self.gap);
        if let Some(order) = input.order {
            check_order(order, n)?;
        }
        if k + 1 > n {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!(
                    "cannot make {k} splits from {n} rows: {} blocks (a first training block and {k} test blocks) need at least {} rows",
                    k + 1,
                    k + 1
                ),
                format!("lower n_splits to at most {}", n.saturating_sub(1)),
            ));
        }
        let test_size = self.test_size.unwrap_or(n / (k + 1));
        let held = test_size.saturating_mul(k).saturating_add(gap);
        if held >= n {
            // With a fixed test size, fewer splits help; the default size follows n_splits.
            let fit = n.saturating_sub(gap + 1) / test_size;
            let max_gap = n.saturating_sub(test_size.saturating_mul(k).saturating_add(1));
            let hint = match (self.test_size, fit >= 2, max_gap > 0) {
                (Some(_), true, _) => {
                    format!("lower n_splits to at most {fit}, or lower test_size or gap")
                }
                (_, _, true) => {
                    format!("lower the gap to at most {max_gap}, or lower n_splits or test_size")
                }
                _ => "lower n_splits, test_size or gap, or split more rows".to_string(),
            };
            return Err(EvalError::input_hint(
                CONTEXT,
                format!(
                    "too many splits ({k}) for {n} rows with test_size {test_size} and gap {gap}: the first training set would be empty"
                ),
                hint,
            ));
        }
        let row = |p: usize| input.order.map_or(p, |o| o[p]);
        let rows = |range: std::ops::Range<usize>| {
            let mut v: Vec<usize> = range.map(row).collect();
            v.sort_unstable();
            v
        };
        Ok((0..k)
            .map(|f| {
                let test_start = n - k * test_size + f * test_size;
                let train_end = test_start - gap;
                let train_start = match self.max_train_size {
                    Some(m) if m < train_end => train_end - m,
                    _ => 0,
                };
                Fold {
                    train: rows(train_start..train_end),
                    test: rows(test_start..test_start + test_size),
                }
            })
            .collect())
    }
}

/// The rows in time order, earliest first (ties in row order): what
/// [`SplitInput::with_order`] takes, from any sortable time column (`i64` microseconds, days,
/// years…). Rows with a missing time should be dropped before splitting.
///
/// ```
/// use smelt_eval::split::time_order;
///
/// assert_eq!(time_order(&[2021, 2019, 2020, 2019]), vec![1, 3, 2, 0]);
/// ```
pub fn time_order<T: Ord>(times: &[T]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..times.len()).collect();
    order.sort_by(|&a, &b| times[a].cmp(&times[b]));
    order
}
