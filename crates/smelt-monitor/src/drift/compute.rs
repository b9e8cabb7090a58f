//! Drift of one column, of all columns (in parallel), and of the dataset.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::choose::choose;
use super::column::{ColumnInput, ColumnKind, Prepared, Role, Summary};
use super::config::DriftConfig;
use super::method::Method;
use super::permutation::tvd_p_value;
use crate::error::{MonitorError, Result};
use crate::stats::sort::joint_value_counts;
use crate::stats::{
    Alternative, Binned, anderson_ksamp_sorted, chi2_contingency, chisquare,
    cramervonmises_2samp_sorted, hellinger, hellinger_numeric, jensenshannon, kl_div,
    ks_2samp_sorted, mannwhitneyu_sorted, psi, total_variation, wasserstein_normed, z_proportions,
};

/// The drift verdict for one column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnDrift {
    /// The column's name.
    pub column: String,
    /// Feature, target or prediction.
    pub role: Role,
    /// Numerical or categorical.
    pub kind: ColumnKind,
    /// The method used (set, or Evidently's default choice).
    pub method: Method,
    /// The test statistic or the distance; None when the column cannot be tested.
    pub score: Option<f64>,
    /// The p-value of a test (None for distances and untested columns).
    pub p_value: Option<f64>,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether the column drifted.
    pub drifted: bool,
    /// Non-missing reference values.
    pub n_reference: usize,
    /// Non-missing current values.
    pub n_current: usize,
    /// Distinct non-missing values over both sides.
    pub n_unique: usize,
    /// The change in the share of missing values (which the method itself does not see).
    pub missing: MissingShift,
    /// Why the column could not be tested (no values on a side, too few for the method).
    pub cannot_test: Option<String>,
}

impl ColumnDrift {
    /// Evidently's `drift_score`: the p-value of a test, the distance otherwise.
    pub fn drift_score(&self) -> Option<f64> {
        self.p_value.or(self.score)
    }
}

/// Missing values on both sides: the methods drop them, so a jump in their share is reported
/// here, by a two-proportion Z-test and a least change.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MissingShift {
    /// Share of missing reference values.
    pub reference: f64,
    /// Share of missing current values.
    pub current: f64,
    /// The Z-test's p-value (1 when no side has rows or both shares are 0 or 1).
    pub p_value: f64,
    /// `p_value < missing_threshold` and `|current - reference| ≥ missing_min_change`.
    pub shifted: bool,
}

/// Drift of one column with the method and threshold `config` sets for it (or Evidently's
/// default choice and threshold).
///
/// Only a method that does not apply to the column's kind (an order-based test on a categorical
/// column) is an error; a column without values on a side, or too few for the method, is
/// returned with `cannot_test` set and `drifted = false`.
///
/// ```
/// use smelt_monitor::drift::{ColumnInput, DriftConfig, Method, column_drift};
///
/// let reference: Vec<f64> = (0..2000).map(|i| (i % 100) as f64).collect();
/// let current: Vec<f64> = reference.iter().map(|v| v + 30.0).collect();
/// let d = column_drift(&ColumnInput::numerical("x", &reference, &current), &DriftConfig::default()).unwrap();
/// assert_eq!(d.method, Method::Wasserstein);
/// assert!(d.drifted); // shifted by about one standard deviation
/// ```
pub fn column_drift(input: &ColumnInput<'_>, config: &DriftConfig) -> Result<ColumnDrift> {
    let kind = input.kind();
    let rule = config.rule_for(input.name, kind);
    if let Some(m) = rule.method
        && !m.applies_to(kind)
    {
        return Err(MonitorError::Invalid(format!(
            "column `{}`: drift method `{m}` needs numbers, and the column is categorical",
            input.name
        )));
    }
    let summary = Summary::of(input);
    let method = rule
        .method
        .unwrap_or_else(|| choose(kind, summary.n_reference, summary.n_unique));
    let threshold = rule.threshold.unwrap_or_else(|| method.default_threshold());
    let missing = missing_shift(&summary, config);
    let mut out = ColumnDrift {
        column: input.name.to_string(),
        role: input.role,
        kind,
        method,
        score: None,
        p_value: None,
        threshold,
        drifted: false,
        n_reference: summary.n_reference,
        n_current: summary.n_current,
        n_unique: summary.n_unique,
        missing,
        cannot_test: None,
    };
    let side = match (summary.n_reference, summary.n_current) {
        (0, 0) => Some("reference and current"),
        (0, _) => Some("reference"),
        (_, 0) => Some("current"),
        _ => None,
    };
    if let Some(side) = side {
        out.cannot_test = Some(format!("no values in {side}"));
        return Ok(out);
    }
    match evaluate(method, &summary.prepared, config.seed) {
        Ok((score, p)) => {
            out.score = Some(score);
            out.p_value = p;
            out.drifted = method.is_drift(p.unwrap_or(score), threshold);
        }
        Err(e) => out.cannot_test = Some(e.to_string()),
    }
    Ok(out)
}

/// [`column_drift`] of every column, in parallel on rayon's pool, in the input order.
///
/// A per-column setting naming no column of the input is an error (with the closest name).
pub fn drift_columns(
    columns: &[ColumnInput<'_>],
    config: &DriftConfig,
) -> Result<Vec<ColumnDrift>> {
    let names: Vec<String> = columns.iter().map(|c| c.name.to_string()).collect();
    for name in config.columns.keys() {
        if !names.contains(name) {
            let hint = smelt_core::text::closest(name, &names)
                .map(|c| format!("\n\nhint: did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(MonitorError::Invalid(format!(
                "drift settings name column `{name}`, which the data does not have{hint}"
            )));
        }
    }
    columns
        .par_iter()
        .map(|c| column_drift(c, config))
        .collect()
}

/// The dataset-level verdict.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DatasetDrift {
    /// Columns tested.
    pub n_columns: usize,
    /// Columns that drifted.
    pub n_drifted: usize,
    /// `n_drifted / n_columns` (0 without columns).
    pub share: f64,
    /// `share ≥ share_threshold` (and at least one column tested).
    pub drifted: bool,
    /// Columns that could not be tested (not counted above).
    pub n_not_tested: usize,
    /// Columns whose missing share shifted.
    pub n_missing_shifted: usize,
}

/// Evidently's dataset drift: the share of drifted columns against `share_threshold` (0.5 by
/// default), over every column given (Evidently counts the target and prediction columns too;
/// filter by [`Role`] for features only). Untested columns are left out of the share.
///
/// ```
/// use smelt_monitor::drift::{ColumnInput, DriftConfig, dataset_drift, drift_columns};
///
/// let a: Vec<f64> = (0..500).map(|i| i as f64).collect();
/// let b: Vec<f64> = a.iter().map(|v| v + 200.0).collect();
/// let cols = [ColumnInput::numerical("same", &a, &a), ColumnInput::numerical("moved", &a, &b)];
/// let d = dataset_drift(&drift_columns(&cols, &DriftConfig::default()).unwrap(), 0.5);
/// assert_eq!((d.n_columns, d.n_drifted, d.drifted), (2, 1, true));
/// ```
pub fn dataset_drift(columns: &[ColumnDrift], share_threshold: f64) -> DatasetDrift {
    let tested: Vec<&ColumnDrift> = columns.iter().filter(|c| c.cannot_test.is_none()).collect();
    let n_columns = tested.len();
    let n_drifted = tested.iter().filter(|c| c.drifted).count();
    let share = if n_columns == 0 {
        0.0
    } else {
        n_drifted as f64 / n_columns as f64
    };
    DatasetDrift {
        n_columns,
        n_drifted,
        share,
        drifted: n_columns > 0 && share >= share_threshold,
        n_not_tested: columns.len() - n_columns,
        n_missing_shifted: columns.iter().filter(|c| c.missing.shifted).count(),
    }
}

fn missing_shift(s: &Summary, config: &DriftConfig) -> MissingShift {
    let share = |missing: u64, rows: usize| {
        if rows == 0 {
            0.0
        } else {
            missing as f64 / rows as f64
        }
    };
    let (mr, mc) = (s.missing_reference(), s.missing_current());
    let reference = share(mr, s.rows_reference);
    let current = share(mc, s.rows_current);
    let p_value = z_proportions(mr, s.rows_reference as u64, mc, s.rows_current as u64)
        .map(|r| r.p_value)
        .unwrap_or(1.0);
    MissingShift {
        reference,
        current,
        p_value,
        shifted: p_value < config.missing_threshold
            && (current - reference).abs() >= config.missing_min_change,
    }
}

/// Counts over the union of values: categories as they are, numbers by distinct value.
fn counts(p: &Prepared) -> (Vec<u64>, Vec<u64>) {
    match p {
        Prepared::Numerical { reference, current } => {
            let (_, a, b) = joint_value_counts(reference, current);
            (a, b)
        }
        Prepared::Categorical { reference, current } => (reference.clone(), current.clone()),
    }
}

fn binned(p: &Prepared) -> Binned {
    match p {
        Prepared::Numerical { reference, current } => Binned::numeric(reference, current),
        Prepared::Categorical { reference, current } => Binned::from_counts(reference, current),
    }
}

fn numbers(p: &Prepared, method: Method) -> Result<(&[f64], &[f64])> {
    match p {
        Prepared::Numerical { reference, current } => Ok((reference, current)),
        Prepared::Categorical { .. } => Err(MonitorError::Invalid(format!(
            "drift method `{method}` needs a numerical column"
        ))),
    }
}

/// The method's score and p-value on non-empty prepared values.
fn evaluate(method: Method, p: &Prepared, seed: u64) -> Result<(f64, Option<f64>)> {
    Ok(match method {
        Method::Ks => {
            let (a, b) = numbers(p, method)?;
            let r = ks_2samp_sorted(a, b)?;
            (r.statistic, Some(r.p_value))
        }
        Method::ChiSquare => {
            let (r, c) = counts(p);
            if r.len() < 2 {
                (0.0, Some(1.0)) // one value on both sides: nothing can differ
            } else {
                let (nr, nc) = (r.iter().sum::<u64>() as f64, c.iter().sum::<u64>() as f64);
                let k_norm = nc / nr;
                let f_exp: Vec<f64> = r.iter().map(|&v| v as f64 * k_norm).collect();
                let f_obs: Vec<f64> = c.iter().map(|&v| v as f64).collect();
                let t = chisquare(&f_obs, &f_exp)?;
                (t.statistic, Some(t.p_value))
            }
        }
        Method::Chi2Contingency => {
            let (r, c) = counts(p);
            let (rf, cf): (Vec<f64>, Vec<f64>) = (
                r.iter().map(|&v| v as f64).collect(),
                c.iter().map(|&v| v as f64).collect(),
            );
            let t = chi2_contingency(&rf, &cf)?;
            (t.statistic, Some(t.p_value))
        }
        Method::Z => {
            // The first value (in ascending order) against all others.
            let (r, c) = counts(p);
            let (nr, nc) = (r.iter().sum::<u64>(), c.iter().sum::<u64>());
            let t = z_proportions(nr - r[0], nr, nc - c[0], nc)?;
            (t.statistic, Some(t.p_value))
        }
        Method::Wasserstein => {
            let (a, b) = numbers(p, method)?;
            (wasserstein_normed(a, b), None)
        }
        Method::JensenShannon => {
            let h = binned(p);
            (jensenshannon(&h.reference, &h.current), None)
        }
        Method::Psi => {
            let h = binned(p).with_zeroes_filled();
            (psi(&h.reference, &h.current), None)
        }
        Method::KlDiv => {
            let h = binned(p).with_zeroes_filled();
            (kl_div(&h.reference, &h.current), None)
        }
        Method::Hellinger => match p {
            Prepared::Numerical { reference, current } => {
                (hellinger_numeric(reference, current), None)
            }
            Prepared::Categorical { reference, current } => {
                let h = Binned::from_counts(reference, current);
                (hellinger(&h.reference, &h.current), None)
            }
        },
        Method::Anderson => {
            let (a, b) = numbers(p, method)?;
            if a.first() == b.first() && a.first() == a.last() && b.first() == b.last() {
                (0.0, Some(1.0)) // one value on both sides: undefined in SciPy, no drift here
            } else {
                let r = anderson_ksamp_sorted(&[a, b])?;
                (r.statistic, Some(r.p_value))
            }
        }
        Method::CramerVonMises => {
            let (a, b) = numbers(p, method)?;
            let r = cramervonmises_2samp_sorted(a, b)?;
            (r.statistic, Some(r.p_value))
        }
        Method::MannWhitney => {
            let (a, b) = numbers(p, method)?;
            let r = mannwhitneyu_sorted(a, b, Alternative::TwoSided)?;
            (r.statistic, Some(r.p_value))
        }
        Method::Tvd => {
            let (r, c) = counts(p);
            let (rf, cf): (Vec<f64>, Vec<f64>) = (
                r.iter().map(|&v| v as f64).collect(),
                c.iter().map(|&v| v as f64).collect(),
            );
            let observed = total_variation(&rf, &cf);
            (observed, Some(tvd_p_value(&r, &c, observed, seed)))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_side_cannot_be_tested() {
        let a = [f64::NAN, f64::NAN];
        let b = [1.0, 2.0];
        let d = column_drift(
            &ColumnInput::numerical("x", &a, &b),
            &DriftConfig::default(),
        )
        .expect("not an error");
        assert_eq!(d.cannot_test.as_deref(), Some("no values in reference"));
        assert!(!d.drifted);
        assert_eq!(d.score, None);
        assert_eq!(d.missing.reference, 1.0);
    }

    #[test]
    fn order_test_on_categories_is_an_error() {
        let mut config = DriftConfig::default();
        config.categorical.method = Some(Method::Ks);
        let labels = vec!["a".to_string()];
        let err = column_drift(&ColumnInput::categorical("c", &[0], &[0], &labels), &config)
            .expect_err("ks needs numbers");
        assert!(err.to_string().contains("needs numbers"));
    }

    #[test]
    fn single_value_every_method() {
        let a = [3.0; 40];
        for m in Method::ALL {
            let mut config = DriftConfig::default();
            config.all.method = Some(m);
            let d = column_drift(&ColumnInput::numerical("x", &a, &a), &config).expect("valid");
            assert!(!d.drifted, "{m}: {d:?}");
            assert!(d.cannot_test.is_none(), "{m}: {d:?}");
        }
    }

    #[test]
    fn roles_are_kept_and_counted() {
        let a: Vec<f64> = (0..50).map(f64::from).collect();
        let b: Vec<f64> = a.iter().map(|v| v + 100.0).collect();
        let cols = [
            ColumnInput::numerical("x", &a, &a),
            ColumnInput::numerical("y", &a, &b).with_role(Role::Target),
            ColumnInput::numerical("p", &a, &b).with_role(Role::Prediction),
        ];
        let d = drift_columns(&cols, &DriftConfig::default()).expect("valid");
        assert_eq!(d[1].role, Role::Target);
        assert!(d[1].drifted && d[2].drifted && !d[0].drifted);
        assert_eq!(dataset_drift(&d, 0.5).n_drifted, 2);
    }

    #[test]
    fn unknown_override_column_suggests() {
        let mut config = DriftConfig::default();
        config.columns.insert("agee".into(), Default::default());
        let a = [1.0, 2.0];
        let err =
            drift_columns(&[ColumnInput::numerical("age", &a, &a)], &config).expect_err("typo");
        assert!(err.to_string().contains("did you mean `age`?"), "{err}");
    }
}
