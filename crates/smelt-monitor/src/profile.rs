//! A reference [`Table`] rebuilt from the [`ReferenceProfile`] that `smelt train` stores in a
//! model's metadata (`"profile"`), so that a model can be monitored without its training table.
//!
//! The stand-in has one row per profiled row, at most [`STAND_IN_CAP`] (200,000) rows: a larger
//! profile is scaled down, every column's counts (categories and missing values) multiplied by
//! `cap / rows` and rounded by largest remainder, so shares stay as profiled to 1/cap. Drift
//! methods see shares and distributions, not counts, except the choice of method (Evidently's
//! cut at 1000 reference values, which a capped stand-in still passes) and the p-values of tests,
//! which a larger reference makes only slightly more sensitive.
//!
//! * Categorical columns are expanded exactly from their counts (missing rows as
//!   [`MISSING`]).
//! * Numeric columns get `count` present values drawn by the inverse of the profile's quantile
//!   function at probabilities `(i + 0.5) / count`, interpolating linearly between the
//!   [`QUANTILES`](smelt_core::profile::QUANTILES) stored quantiles, plus NaN rows in
//!   proportion to `missing`. A column whose quantiles hold at most [`DISCRETE_MAX`] distinct
//!   values (a flag, a count, a rating) is discrete: it is drawn from the step inverse (each
//!   quantile's value for the probabilities nearest to it) so the stand-in keeps the column's
//!   few values — Evidently's choice of method depends on the number of distinct values, and a
//!   chi-square test on five values must not see two hundred. A quantile interpolated between
//!   two of those values (at most one per jump, where the jump falls between order statistics)
//!   is moved to the nearer of its neighbours first.
//!
//! The stand-in's quantiles equal the profile's within one quantile step (`1/200` of
//! probability), so a distance computed against it (Wasserstein, Jensen–Shannon) is within about
//! half a percent of the quantile range of the one against the training column.
//!
//! Columns: the model's inputs (role feature), the target (role target, named as in training),
//! the prediction (`prediction`, role prediction: labels for classifiers, values for
//! regressors) and a binary classifier's score, named as the prediction log names it,
//! `proba_<second class>` (`score` when the classes are not known), role prediction.

use std::path::PathBuf;

use smelt_core::LogicalType;
use smelt_core::profile::{ColumnProfile, ColumnStats, ReferenceProfile};

use crate::error::{MonitorError, Result};
use crate::table::{Column, ColumnRole, MISSING, Table, Values};

/// Most rows of a stand-in reference (a larger profile is scaled down to it).
pub const STAND_IN_CAP: usize = 200_000;

/// A numeric column whose quantiles hold at most this many distinct values is drawn as a
/// discrete column (step inverse CDF).
pub const DISCRETE_MAX: usize = 20;

/// The stand-in reference of `profile`, at most `cap` rows (use [`STAND_IN_CAP`]; at least 1).
///
/// ```
/// use smelt_core::profile::{ColumnProfile, ReferenceProfile};
/// use smelt_monitor::profile::{STAND_IN_CAP, table_from_profile};
///
/// let x: Vec<f64> = (0..1000).map(|i| f64::from(i % 7)).collect();
/// let profile = ReferenceProfile {
///     rows: 1000,
///     columns: vec![ColumnProfile::numeric("x", x)],
///     target: None,
///     prediction: None,
///     score: None,
///     outcomes: None,
/// };
/// let t = table_from_profile(&profile, STAND_IN_CAP)?;
/// assert_eq!(t.n_rows, 1000);
/// let smelt_monitor::table::Values::Numeric(v) = &t.columns[0].values else { unreachable!() };
/// let mut distinct: Vec<f64> = v.clone();
/// distinct.sort_by(f64::total_cmp);
/// distinct.dedup();
/// assert_eq!(distinct, [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0]); // a discrete column stays discrete
/// # Ok::<(), smelt_monitor::MonitorError>(())
/// ```
pub fn table_from_profile(profile: &ReferenceProfile, cap: usize) -> Result<Table> {
    if profile.rows == 0 {
        return Err(MonitorError::TooFew(
            "the model's reference profile has no rows".into(),
        ));
    }
    let n = profile.rows.min(cap.max(1));
    let mut columns = Vec::with_capacity(profile.columns.len() + 3);
    for c in &profile.columns {
        columns.push(column(c, &c.name, ColumnRole::Feature, n)?);
    }
    if let Some(t) = &profile.target {
        columns.push(column(t, &t.name, ColumnRole::Target, n)?);
    }
    if let Some(p) = &profile.prediction {
        columns.push(column(p, "prediction", ColumnRole::Prediction, n)?);
    }
    if let Some(s) = &profile.score {
        columns.push(column(s, &score_name(profile), ColumnRole::Prediction, n)?);
    }
    Ok(Table {
        path: PathBuf::from("profile"),
        n_rows: n,
        columns,
        time: None,
        texts: Vec::new(),
    })
}

/// The name of a binary classifier's score column, as the prediction log writes it:
/// `proba_<second class>` when the profile's prediction names the classes, else `score`.
pub fn score_name(profile: &ReferenceProfile) -> String {
    match profile.prediction.as_ref().map(|p| &p.stats) {
        Some(ColumnStats::Categorical { categories, .. }) if categories.len() == 2 => {
            format!("proba_{}", categories[1])
        }
        _ => "score".into(),
    }
}

fn column(c: &ColumnProfile, name: &str, role: ColumnRole, n: usize) -> Result<Column> {
    let (ltype, values) = match &c.stats {
        ColumnStats::Categorical { categories, counts } => {
            if counts.len() != categories.len() {
                return Err(MonitorError::Invalid(format!(
                    "the profile of `{}` has {} counts for {} categories",
                    c.name,
                    counts.len(),
                    categories.len()
                )));
            }
            let mut all = counts.clone();
            all.push(c.missing);
            let scaled = scale(&all, n);
            let mut codes = Vec::with_capacity(n);
            for (k, &m) in scaled.iter().enumerate() {
                let code = if k < categories.len() {
                    k as u32
                } else {
                    MISSING
                };
                codes.extend(std::iter::repeat_n(code, m));
            }
            (
                LogicalType::Categorical,
                Values::Categorical {
                    codes,
                    labels: categories.clone(),
                },
            )
        }
        ColumnStats::Numeric { quantiles, .. } => {
            let mut q: Vec<f64> = quantiles
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect();
            q.sort_by(f64::total_cmp);
            let (present, missing) = if q.is_empty() {
                (0, n)
            } else {
                let s = scale(&[c.count, c.missing], n);
                (s[0], s[1])
            };
            let mut v = draw(&q, c.count, present);
            v.extend(std::iter::repeat_n(f64::NAN, missing));
            (LogicalType::Numeric, Values::Numeric(v))
        }
    };
    Ok(Column {
        name: name.to_string(),
        ltype,
        role,
        values,
    })
}

/// `counts` scaled to sum to `n` (largest remainder; all to the last entry when they sum to 0).
fn scale(counts: &[usize], n: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        let mut out = vec![0; counts.len()];
        if let Some(last) = out.last_mut() {
            *last = n;
        }
        return out;
    }
    if total == n {
        return counts.to_vec();
    }
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 * n as f64 / total as f64)
        .collect();
    let mut out: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut short = n.saturating_sub(out.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let (fa, fb) = (exact[a] - exact[a].floor(), exact[b] - exact[b].floor());
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &k in order.iter().cycle().take(counts.len() * 2) {
        if short == 0 {
            break;
        }
        out[k] += 1;
        short -= 1;
    }
    out
}

/// `m` values by the inverse of the quantile function `q` (sorted, at `k / (len - 1)`) of a
/// column of `count` values: step inverse for a discrete column, linear otherwise.
fn draw(q: &[f64], count: usize, m: usize) -> Vec<f64> {
    if q.is_empty() || m == 0 {
        return Vec::new();
    }
    let last = q.len() - 1;
    if last == 0 {
        return vec![q[0]; m];
    }
    let snapped = snap(q, count);
    let mut distinct = snapped.clone();
    distinct.dedup();
    let discrete = distinct.len() <= DISCRETE_MAX;
    (0..m)
        .map(|i| {
            let pos = (i as f64 + 0.5) / m as f64 * last as f64;
            if discrete {
                snapped[(pos.round() as usize).min(last)]
            } else {
                let lo = (pos.floor() as usize).min(last);
                let hi = (lo + 1).min(last);
                q[lo] + (q[hi] - q[lo]) * (pos - lo as f64)
            }
        })
        .collect()
}

/// `q` with each quantile that was interpolated between two distinct order statistics (strictly
/// between its neighbours, at a fractional position among `count` values) moved to the nearer
/// neighbour.
fn snap(q: &[f64], count: usize) -> Vec<f64> {
    let last = q.len() - 1;
    let mut out = q.to_vec();
    if count < 2 {
        return out;
    }
    for k in 1..last {
        let pos = k as f64 / last as f64 * (count - 1) as f64;
        let fractional = pos - pos.floor() > 1e-9;
        let (a, x, b) = (q[k - 1], q[k], q[k + 1]);
        if fractional && a < x && x < b {
            out[k] = if x - a <= b - x { a } else { b };
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_scale_to_the_cap_by_largest_remainder() {
        assert_eq!(scale(&[3, 1], 4), [3, 1]);
        assert_eq!(scale(&[1, 1, 1], 2), [1, 1, 0]);
        assert_eq!(scale(&[5, 5], 3).iter().sum::<usize>(), 3);
        assert_eq!(scale(&[0, 0], 3), [0, 3]);
    }

    #[test]
    fn interpolated_quantiles_between_two_values_are_snapped() {
        // 0/1 column of 1000 rows, 375 ones: quantile 125 (position 624.375) falls between the
        // last 0 and the first 1, at 0.375.
        let v: Vec<f64> = (0..1000).map(|i| f64::from(u8::from(i >= 625))).collect();
        let p = ColumnProfile::numeric("flag", v);
        let ColumnStats::Numeric { quantiles, .. } = &p.stats else {
            panic!("numeric");
        };
        assert!((quantiles[125] - 0.375).abs() < 1e-12);
        let drawn = draw(quantiles, p.count, 1000);
        assert!(drawn.iter().all(|&x| x == 0.0 || x == 1.0));
        let ones = drawn.iter().filter(|&&x| x == 1.0).count();
        assert!((ones as i64 - 375).abs() <= 5, "{ones}");
    }

    #[test]
    fn an_empty_profile_is_an_error_and_an_empty_column_is_missing() {
        let mut p = ReferenceProfile {
            rows: 0,
            columns: vec![ColumnProfile::numeric("x", [f64::NAN])],
            target: None,
            prediction: None,
            score: None,
            outcomes: None,
        };
        assert!(table_from_profile(&p, 10).is_err());
        p.rows = 1;
        let t = table_from_profile(&p, 10).expect("one row");
        assert_eq!(t.columns[0].values.missing(), 1);
    }
}
