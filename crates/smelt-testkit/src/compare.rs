//! Comparisons and tolerances: predictions ([`same`]), vectors against reference values
//! ([`assert_close`]), clusterings ([`same_partition`]) and transformed datasets.

use std::collections::HashMap;

use smelt_core::{Dataset, Prediction};

/// Default relative tolerance of "the same prediction" between a row predicted alone and in a
/// batch ([`crate::CheckEstimator::tolerance`], [`crate::CheckPredictor::tolerance`]).
pub const PREDICTION_TOLERANCE: f64 = 1e-9;

/// Default relative tolerance of "the same output" of a transformer between a row alone and
/// in a batch, and between `fit_transform` and `transform` ([`crate::CheckTransformer::tolerance`]).
pub const TRANSFORM_TOLERANCE: f64 = 1e-12;

/// Relative tolerance between a model fitted with integer sample weights and one fitted on
/// the rows repeated that many times ([`crate::CheckEstimator::sample_weight`]).
pub const SAMPLE_WEIGHT_TOLERANCE: f64 = 1e-6;

/// How far a row of `predict_proba` may sum away from 1.
pub const PROBA_SUM_TOLERANCE: f64 = 1e-9;

/// `a` and `b` agree to `tol`, relative to `1 + max(|a|, |b|)` (exactly when `tol` is 0).
pub(crate) fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// [`close`], with NaN equal to NaN.
pub(crate) fn same_value(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || close(a, b, tol)
}

/// Whether two predictions agree (exactly when `tol` is 0).
pub fn same(a: &Prediction, b: &Prediction, tol: f64) -> bool {
    match (a, b) {
        (Prediction::Regression { values: x }, Prediction::Regression { values: y }) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(*a, *b, tol))
        }
        (
            Prediction::Classification {
                labels: la,
                proba: pa,
                ..
            },
            Prediction::Classification {
                labels: lb,
                proba: pb,
                ..
            },
        ) => {
            la == lb
                && match (pa, pb) {
                    (Some(x), Some(y)) => x
                        .values
                        .iter()
                        .zip(&y.values)
                        .all(|(a, b)| close(*a, *b, tol)),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Prediction::Clustering { labels: x }, Prediction::Clustering { labels: y }) => x == y,
        (
            Prediction::Embedding { dim: da, values: a },
            Prediction::Embedding { dim: db, values: b },
        ) => {
            da == db
                && a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| close(f64::from(*x), f64::from(*y), tol))
        }
        _ => false,
    }
}

/// Row `i` of a prediction, for messages.
pub(crate) fn row_of(p: &Prediction, i: usize) -> String {
    match p {
        Prediction::Regression { values } => format!("{}", values[i]),
        Prediction::Classification { labels, proba, .. } => {
            format!("{} {:?}", labels[i], proba.as_ref().map(|p| p.row(i)))
        }
        Prediction::Clustering { labels } => format!("{}", labels[i]),
        Prediction::Embedding { .. } => format!("{:?}", p.embedding(i)),
    }
}

/// Whether row `i` of `batch` agrees with the single row of `one`.
pub(crate) fn close_row(batch: &Prediction, i: usize, one: &Prediction, tol: f64) -> bool {
    match (batch, one) {
        (Prediction::Regression { values: a }, Prediction::Regression { values: b }) => {
            close(a[i], b[0], tol)
        }
        (
            Prediction::Classification {
                labels: la,
                proba: pa,
                ..
            },
            Prediction::Classification {
                labels: lb,
                proba: pb,
                ..
            },
        ) => {
            la[i] == lb[0]
                && match (pa, pb) {
                    (Some(x), Some(y)) => x
                        .row(i)
                        .iter()
                        .zip(y.row(0))
                        .all(|(a, b)| close(*a, *b, tol)),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Prediction::Clustering { labels: a }, Prediction::Clustering { labels: b }) => {
            a[i] == b[0]
        }
        (Prediction::Embedding { .. }, Prediction::Embedding { .. }) => {
            match (batch.embedding(i), one.embedding(0)) {
                (Some(a), Some(b)) => a
                    .iter()
                    .zip(b)
                    .all(|(x, y)| close(f64::from(*x), f64::from(*y), tol)),
                _ => false,
            }
        }
        _ => false,
    }
}

/// Panics unless two datasets have the same columns and values (NaN equals NaN).
pub(crate) fn assert_same(name: &str, what: &str, a: &Dataset<f64>, b: &Dataset<f64>, tol: f64) {
    assert_eq!(a.features(), b.features(), "{name}: {what}: columns differ");
    assert_eq!(a.n_rows(), b.n_rows(), "{name}: {what}: row counts differ");
    for j in 0..a.n_features() {
        for (i, (x, y)) in a.column(j).iter().zip(b.column(j)).enumerate() {
            assert!(
                same_value(*x, *y, tol),
                "{name}: {what}: column `{}` row {i}: {x} vs {y}",
                a.features()[j].name
            );
        }
    }
}

/// Asserts `|a - b| <= atol + rtol·|b|` element-wise, naming the first offending index.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan()),
            "{what}[{i}]: got {a}, expected {b} (atol {atol}, rtol {rtol})"
        );
    }
}

/// Whether two labelings are the same partition (equal up to renaming the labels).
pub fn same_partition(a: &[i64], b: &[i64]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ab = HashMap::new();
    let mut ba = HashMap::new();
    a.iter()
        .zip(b)
        .all(|(x, y)| *ab.entry(*x).or_insert(*y) == *y && *ba.entry(*y).or_insert(*x) == *x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_up_to_renaming() {
        assert!(same_partition(&[0, 0, 1, 2], &[5, 5, 3, 1]));
        assert!(!same_partition(&[0, 0, 1], &[1, 2, 2]));
    }

    #[test]
    fn tolerances_are_relative() {
        assert!(close(1e6, 1e6 + 1e-4, 1e-9));
        assert!(!close(1.0, 1.0 + 1e-6, 1e-9));
        assert!(same_value(f64::NAN, f64::NAN, 0.0));
        assert!(!close(f64::NAN, f64::NAN, 1.0));
    }
}
