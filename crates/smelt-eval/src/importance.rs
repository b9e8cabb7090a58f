//! Model inspection: permutation importance (scikit-learn's
//! `sklearn.inspection.permutation_importance`).
//!
//! The importance of a feature is how much the model's score drops when that feature's
//! values (and its missing-value marks) are shuffled across rows, breaking its link with the
//! target while keeping its distribution; repeated `n_repeats` times with seeded shuffles.
//! The score is [`crate::metrics::score`]: accuracy for classifiers, R² for regressors (what
//! scikit-learn's default `scoring=None` uses). Works for any fitted [`Predictor`], tree
//! ensembles and pipelines included; features are evaluated in parallel.

use rayon::prelude::*;
use smelt_core::{Bitmap, CoreError, Dataset, Predictor, Result};

use crate::EvalError;
use smelt_core::rng::Rng;

/// The permutation importance of one feature.
#[derive(Clone, Debug, PartialEq)]
pub struct PermutationImportance {
    /// The feature's name.
    pub feature: String,
    /// Mean score drop over the repeats (`importances_mean`).
    pub mean: f64,
    /// Standard deviation of the drops (`importances_std`, population formula like numpy).
    pub std: f64,
    /// The drop of each repeat (`importances`).
    pub drops: Vec<f64>,
}

/// Permutation importance of every feature of `data` (which must have the target the model
/// was trained for) for `model`; `n_repeats >= 1` shuffles per feature, seeded by
/// `random_state` (each feature's shuffles depend only on the seed and the feature's position,
/// not on the thread count).
///
/// ```
/// use smelt_core::Fit;
/// use smelt_eval::importance::permutation_importance;
/// use smelt_learn::linear::LinearRegressionParams;
///
/// let data = smelt_learn::util::toy_regression();
/// let model = LinearRegressionParams::default().fit(&data)?;
/// let imp = permutation_importance(&model, &data, 5, 0)?;
/// assert_eq!(imp.len(), data.n_features());
/// # Ok::<(), smelt_core::CoreError>(())
/// ```
pub fn permutation_importance(
    model: &dyn Predictor,
    data: &Dataset<f64>,
    n_repeats: usize,
    random_state: u64,
) -> Result<Vec<PermutationImportance>> {
    if n_repeats == 0 {
        return Err(CoreError::BadParam {
            estimator: "permutation_importance".into(),
            message: "n_repeats must be at least 1".into(),
            suggestion: None,
        });
    }
    let baseline = score(model, data)?;
    let n = data.n_rows();
    let p = data.n_features();
    let target = match (data.target_name(), data.target()) {
        (Some(name), Some(t)) => Some((name.to_string(), t.clone())),
        _ => None,
    };
    (0..p)
        .into_par_iter()
        .map(|j| {
            let mut rng = Rng::new(random_state ^ (j as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut values = data.values().to_vec();
            let original = data.column(j);
            let mask = data.missing(j);
            let mut perm: Vec<usize> = (0..n).collect();
            let mut drops = Vec::with_capacity(n_repeats);
            for _ in 0..n_repeats {
                rng.shuffle(&mut perm);
                for (o, &src) in values[j * n..(j + 1) * n].iter_mut().zip(&perm) {
                    *o = original[src];
                }
                let missing: Vec<Option<Bitmap>> = (0..p)
                    .map(|k| {
                        if k == j {
                            mask.map(|m| Bitmap::from_bools(perm.iter().map(|&src| m.get(src))))
                        } else {
                            data.missing(k).cloned()
                        }
                    })
                    .collect();
                let shuffled = Dataset::from_parts(
                    n,
                    values.clone(),
                    data.features().to_vec(),
                    missing,
                    target.clone(),
                )?;
                drops.push(baseline - score(model, &shuffled)?);
            }
            let mean = drops.iter().sum::<f64>() / n_repeats as f64;
            let var = drops.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / n_repeats as f64;
            Ok(PermutationImportance {
                feature: data.features()[j].name.clone(),
                mean,
                std: var.sqrt(),
                drops,
            })
        })
        .collect()
}

/// [`crate::metrics::score`] with its error as a model error (this module's error type).
fn score(model: &dyn Predictor, data: &Dataset<f64>) -> Result<f64> {
    crate::metrics::score(model, data).map_err(|e| match e {
        EvalError::Model(e) => e,
        other => CoreError::Numerical {
            estimator: "permutation_importance",
            message: other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use smelt_core::{Feature, FeatureKind, Fit, LogicalType, Target};
    use smelt_learn::linear::LinearRegressionParams;

    #[test]
    fn unused_features_have_zero_importance_and_used_ones_rank_by_weight() {
        let n = 500;
        let mut rng = Rng::new(3);
        let x: Vec<f64> = (0..3 * n).map(|_| rng.normal()).collect();
        // y = 3·x0 + 1·x1; x2 unused.
        let y: Vec<f64> = (0..n).map(|i| 3.0 * x[i] + x[n + i]).collect();
        let features = (0..3)
            .map(|j| Feature {
                name: format!("x{j}"),
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            })
            .collect();
        let data = Dataset::new(
            n,
            x,
            features,
            Some(("y".into(), Target::Regression { values: y })),
        )
        .unwrap();
        let model = LinearRegressionParams::default().fit(&data).unwrap();
        let imp = permutation_importance(&model, &data, 5, 1).unwrap();
        assert!(imp[0].mean > imp[1].mean && imp[1].mean > 0.1, "{imp:?}");
        // Exactly zero coefficient up to rounding: shuffling x2 changes nothing.
        assert!(imp[2].mean.abs() < 1e-9, "{imp:?}");
        // Importance of a unit-variance feature with weight w is about 2·w²/Var(y) in R².
        assert!((imp[0].mean - 2.0 * 9.0 / 10.0).abs() < 0.25, "{imp:?}");
        assert_eq!(imp[0].drops.len(), 5);
        // Seeded: the same again.
        assert_eq!(imp, permutation_importance(&model, &data, 5, 1).unwrap());
        assert!(permutation_importance(&model, &data, 0, 1).is_err());
    }
}
