//! Linear models: least squares, ridge, lasso / elastic net, logistic regression.
//!
//! All of them fit in `f64` on the numeric feature matrix (see [`crate::util::mat`]); they need
//! numbers without missing values, so in practice they sit at the end of a
//! [`Pipeline`](crate::pipeline::Pipeline) that imputes, encodes and scales.

mod coordinate_descent;
mod least_squares;
mod logistic;

pub use coordinate_descent::{
    ElasticNet, ElasticNetParams, EnetPath, EnetPathParams, Lasso, LassoParams, Selection,
    enet_path, lasso_path,
};
pub use least_squares::{
    LinearRegression, LinearRegressionParams, Ridge, RidgeParams, RidgeSolver,
};
pub use logistic::{
    ClassWeight, LogisticRegression, LogisticRegressionParams, LogisticSolver, Penalty,
};

use smelt_core::model::require_numeric;
use smelt_core::{ArtifactReader, ArtifactWriter, Feature, Result, UnknownCategory};

use crate::util::{linear_predict, mat};

/// The fitted part of a single-output linear regressor: `y = X · coef + intercept`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearFit {
    /// Input features, in `coef` order.
    pub input: Vec<Feature>,
    /// One coefficient per feature.
    pub coef: Vec<f64>,
    /// The intercept (0 when `fit_intercept` is false).
    pub intercept: f64,
}

impl LinearFit {
    /// Predicts every row (columns matched by name).
    pub fn predict_values(
        &self,
        estimator: &'static str,
        data: &smelt_core::Dataset<f64>,
    ) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(estimator, &d)?;
        Ok(linear_predict(mat(&d), &self.coef, self.intercept))
    }

    /// Writes `coef` and `intercept`.
    pub fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.array("coef", &[self.coef.len()], &self.coef)?;
        w.put("intercept", &self.intercept)
    }

    /// Reads what [`LinearFit::save`] wrote, for `input`.
    pub fn load(r: &ArtifactReader, input: Vec<Feature>) -> Result<Self> {
        let coef = r.vector("coef", input.len())?;
        Ok(LinearFit {
            input,
            coef,
            intercept: r.get("intercept")?,
        })
    }
}

/// Implements [`smelt_core::Predictor`] and a registry loader for a fitted linear regressor
/// `struct $model { params: $params, fit: LinearFit }`.
macro_rules! linear_regressor {
    ($model:ident, $params:ty, $kind:literal, $name:literal) => {
        impl $model {
            /// The model kind in model files.
            pub const KIND: &'static str = $kind;

            /// The hyperparameters it was fitted with.
            pub fn params(&self) -> &$params {
                &self.params
            }

            /// One coefficient per input feature.
            pub fn coef(&self) -> &[f64] {
                &self.fit.coef
            }

            /// The intercept.
            pub fn intercept(&self) -> f64 {
                self.fit.intercept
            }

            /// Registry loader.
            pub fn load(
                r: &smelt_core::ArtifactReader,
                _: &smelt_core::Registry,
            ) -> smelt_core::Result<Box<dyn smelt_core::Predictor>> {
                let (input, params) = smelt_core::artifact::load_common(r)?;
                Ok(Box::new($model {
                    params,
                    fit: $crate::linear::LinearFit::load(r, input)?,
                }))
            }
        }

        impl smelt_core::Predictor for $model {
            fn as_any(&self) -> Option<&dyn std::any::Any> {
                Some(self)
            }

            fn kind(&self) -> &str {
                $kind
            }
            fn input_features(&self) -> &[smelt_core::Feature] {
                &self.fit.input
            }
            fn output(&self) -> smelt_core::Output {
                smelt_core::Output::Regression
            }
            fn predict(
                &self,
                data: &smelt_core::Dataset<f64>,
            ) -> smelt_core::Result<smelt_core::Prediction> {
                Ok(smelt_core::Prediction::Regression {
                    values: self.fit.predict_values($name, data)?,
                })
            }
            fn save(&self, w: &mut smelt_core::ArtifactWriter) -> smelt_core::Result<()> {
                smelt_core::artifact::save_common(w, &self.fit.input, &self.params)?;
                self.fit.save(w)
            }
        }
    };
}
pub(crate) use linear_regressor;
