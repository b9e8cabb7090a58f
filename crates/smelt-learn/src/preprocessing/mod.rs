//! Preprocessing transformers: imputation, scaling, encoding, polynomial features.
//!
//! Each is a params type implementing [`Fit`](smelt_core::Fit) (model: the fitted transformer)
//! and [`FitTransform`](smelt_core::FitTransform) (the object-safe face a
//! [`Pipeline`](crate::pipeline::Pipeline) holds); the fitted type implements
//! [`Transform`](smelt_core::Transform). Transformers read **all** the columns of the data they
//! are fitted on; route subsets with [`ColumnTransformer`](crate::compose::ColumnTransformer).
//! Columns are matched by name at transform time; the target is carried through.

mod encoders;
mod imputer;
mod ordinal;
mod polynomial;
mod scalers;
mod scalers_more;
mod target_encoder;

pub use encoders::{HandleUnknown, OneHotDrop, OneHotEncoder, OneHotEncoderParams};
pub use imputer::{ImputeStrategy, SimpleImputer, SimpleImputerParams};
pub use ordinal::{OrdinalEncoder, OrdinalEncoderParams, OrdinalUnknown};
pub use polynomial::{PolynomialFeatures, PolynomialFeaturesParams};
pub use scalers::{StandardScaler, StandardScalerParams};
pub use scalers_more::{MinMaxScaler, MinMaxScalerParams, RobustScaler, RobustScalerParams};
pub use target_encoder::{Smooth, TargetEncoder, TargetEncoderParams, TargetType};

use rayon::prelude::*;
use smelt_core::{Bitmap, CoreError, Dataset, Feature, FeatureKind, LogicalType, Result};

/// Builds the output of a transformer: columns (feature + values) and the input's target.
pub fn output_dataset(
    source: &Dataset<f64>,
    cols: Vec<(Feature, Vec<f64>)>,
) -> Result<Dataset<f64>> {
    let n = source.n_rows();
    let mut features = Vec::with_capacity(cols.len());
    let mut values = Vec::with_capacity(n * cols.len());
    let mut missing = Vec::with_capacity(cols.len());
    for (f, v) in cols {
        if v.len() != n {
            return Err(CoreError::LengthMismatch {
                name: f.name,
                expected: n,
                got: v.len(),
            });
        }
        let m = Bitmap::of_nan(&v);
        missing.push(m);
        values.extend_from_slice(&v);
        features.push(f);
    }
    let target = source.named_target();
    Dataset::from_parts(n, values, features, missing, target)
}

/// Builds the output dataset of `features` (one per input column of `conformed`): value `v`
/// of input column `j` becomes `column(j)(v)`. Columns in parallel, written straight into the
/// one feature matrix of the output.
pub(crate) fn map_columns<F: Fn(f64) -> f64>(
    source: &Dataset<f64>,
    conformed: &Dataset<f64>,
    features: &[Feature],
    column: impl Fn(usize) -> F + Sync,
) -> Result<Dataset<f64>> {
    let n = source.n_rows();
    let mut values = vec![0.0; n * features.len()];
    let missing: Vec<Option<Bitmap>> = if n == 0 {
        vec![None; features.len()]
    } else {
        values
            .par_chunks_mut(n)
            .enumerate()
            .map(|(j, out)| {
                let f = column(j);
                for (o, &v) in out.iter_mut().zip(conformed.column(j)) {
                    *o = f(v);
                }
                Bitmap::of_nan(out)
            })
            .collect()
    };
    let target = source.named_target();
    Dataset::from_parts(n, values, features.to_vec(), missing, target)
}

/// [`map_columns`] in place, for a dataset whose features are already the transformer's
/// (its matrix is rewritten, nothing is allocated).
pub(crate) fn map_columns_owned<F: Fn(f64) -> f64>(
    mut data: Dataset<f64>,
    column: impl Fn(usize) -> F + Sync,
) -> Dataset<f64> {
    data.rewrite_values(|values, n| {
        if n == 0 {
            return;
        }
        values.par_chunks_mut(n).enumerate().for_each(|(j, col)| {
            let f = column(j);
            for v in col.iter_mut() {
                *v = f(*v);
            }
        });
    });
    data
}

/// A numeric output feature called `name`.
pub fn numeric_feature(name: impl Into<String>) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

/// Checks that every feature is numeric (NaN allowed: scalers ignore it in fit and keep it).
pub fn require_numeric_kinds(estimator: &'static str, data: &Dataset<f64>) -> Result<()> {
    for f in data.features() {
        if matches!(f.kind, FeatureKind::Categorical { .. }) {
            return Err(CoreError::NotNumeric {
                estimator,
                feature: f.name.clone(),
            });
        }
    }
    Ok(())
}

/// Rejects ±inf (NaN is a missing value and allowed).
pub fn reject_infinite(estimator: &'static str, data: &Dataset<f64>) -> Result<()> {
    for (j, f) in data.features().iter().enumerate() {
        if let Some(i) = data.column(j).iter().position(|v| v.is_infinite()) {
            return Err(CoreError::NonFinite {
                estimator,
                feature: f.name.clone(),
                row: i,
                value: data.column(j)[i],
            });
        }
    }
    Ok(())
}

/// Implements [`smelt_core::FitTransform`] for a params type whose `Fit::Model` is a
/// [`smelt_core::Transform`]: fit, then transform the training data.
macro_rules! fit_then_transform {
    ($params:ty) => {
        impl smelt_core::FitTransform for $params {
            fn name(&self) -> &'static str {
                smelt_core::Fit::name(self)
            }
            fn check(&self) -> Vec<smelt_core::ParamError> {
                smelt_core::Fit::check(self)
            }
            fn fit_transform(
                &self,
                data: &smelt_core::Dataset<f64>,
            ) -> smelt_core::Result<(Box<dyn smelt_core::Transform>, smelt_core::Dataset<f64>)>
            {
                let fitted = smelt_core::Fit::fit(self, data)?;
                let out = smelt_core::Transform::transform(&fitted, data)?;
                Ok((Box::new(fitted), out))
            }
            fn fit_transform_owned(
                &self,
                data: smelt_core::Dataset<f64>,
            ) -> smelt_core::Result<(Box<dyn smelt_core::Transform>, smelt_core::Dataset<f64>)>
            {
                let fitted = smelt_core::Fit::fit(self, &data)?;
                let out = smelt_core::Transform::transform_owned(&fitted, data)?;
                Ok((Box::new(fitted), out))
            }
        }
    };
}
pub(crate) use fit_then_transform;

#[cfg(test)]
mod tests {
    use smelt_core::{Dataset, Fit, Transform};

    use super::*;

    /// Rewriting a dataset in place gives what transforming a copy gives: values, missing
    /// masks, features and target, for every transformer that keeps columns in place.
    #[test]
    fn transform_owned_equals_transform() {
        let mut d = smelt_testkit::regression_data(200, 4, 7);
        // Some missing values, so the imputer and the masks have work.
        d.rewrite_values(|v, n| {
            for j in 0..4 {
                v[j * n + 3 * j + 1] = f64::NAN;
            }
        });
        let fitted: Vec<Box<dyn Transform>> = vec![
            Box::new(SimpleImputerParams::default().fit(&d).unwrap()),
            Box::new(StandardScalerParams::default().fit(&d).unwrap()),
            Box::new(MinMaxScalerParams::default().fit(&d).unwrap()),
            Box::new(RobustScalerParams::default().fit(&d).unwrap()),
        ];
        for t in &fitted {
            let copy = t.transform(&d).unwrap();
            let owned: Dataset<f64> = t.transform_owned(d.clone()).unwrap();
            let same = |a: &Dataset<f64>, b: &Dataset<f64>| {
                a.features() == b.features()
                    && a.target() == b.target()
                    && a.values()
                        .iter()
                        .zip(b.values())
                        .all(|(x, y)| x.to_bits() == y.to_bits())
                    && (0..a.n_features()).all(|j| a.missing(j) == b.missing(j))
            };
            assert!(same(&copy, &owned), "{}", t.kind());
        }
    }
}
