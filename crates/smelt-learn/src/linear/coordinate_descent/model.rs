//! The fitted [`ElasticNet`] and [`Lasso`], and their `Fit` implementations.

use smelt_core::{Dataset, Fit, ParamError, Result};

use super::params::{ElasticNetParams, LassoParams, Selection, Solver};
use super::path::{Alphas, solve_path};
use crate::linear::LinearFit;

/// A fitted elastic net.
#[derive(Clone, Debug, PartialEq)]
pub struct ElasticNet {
    params: ElasticNetParams,
    fit: LinearFit,
    n_iter: usize,
    dual_gap: f64,
}

/// A fitted lasso.
#[derive(Clone, Debug, PartialEq)]
pub struct Lasso {
    params: LassoParams,
    fit: LinearFit,
    n_iter: usize,
    dual_gap: f64,
}

/// Accessors, [`smelt_core::Predictor`] and the registry loader of a coordinate-descent model
/// `struct $model { params, fit: LinearFit, n_iter, dual_gap }`: `linear_regressor!` plus the
/// solver's diagnostics, which the model file keeps too.
macro_rules! cd_regressor {
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

            /// Sweeps over the features until the stopping criterion held (`max_iter` when it
            /// never did).
            pub fn n_iter(&self) -> usize {
                self.n_iter
            }

            /// The duality gap at the end, on the scale of the objective (an upper bound of
            /// the distance to the optimal objective value).
            pub fn dual_gap(&self) -> f64 {
                self.dual_gap
            }

            /// Registry loader.
            pub fn load(
                r: &smelt_core::ArtifactReader,
                _: &smelt_core::Registry,
            ) -> Result<Box<dyn smelt_core::Predictor>> {
                let (input, params) = smelt_core::artifact::load_common(r)?;
                let coef = r.vector("coef", input.len())?;
                let scalars = r.vector("scalars", 2)?;
                Ok(Box::new($model {
                    params,
                    fit: LinearFit {
                        input,
                        coef,
                        intercept: scalars[0],
                    },
                    n_iter: r.get("n_iter")?,
                    dual_gap: scalars[1],
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
            fn predict(&self, data: &Dataset<f64>) -> Result<smelt_core::Prediction> {
                Ok(smelt_core::Prediction::Regression {
                    values: self.fit.predict_values($name, data)?,
                })
            }
            fn save(&self, w: &mut smelt_core::ArtifactWriter) -> Result<()> {
                smelt_core::artifact::save_common(w, &self.fit.input, &self.params)?;
                w.array("coef", &[self.fit.coef.len()], &self.fit.coef)?;
                // Intercept and gap in the safetensors file, not the JSON: serde_json (without
                // its `float_roundtrip` feature) may read a float back 1 ulp off.
                w.array("scalars", &[2], &[self.fit.intercept, self.dual_gap])?;
                w.put("n_iter", &self.n_iter)
            }
        }
    };
}

cd_regressor!(ElasticNet, ElasticNetParams, "elastic_net", "ElasticNet");
cd_regressor!(Lasso, LassoParams, "lasso", "Lasso");

impl Fit for ElasticNetParams {
    type Model = ElasticNet;

    fn name(&self) -> &'static str {
        "ElasticNet"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<ElasticNet> {
        self.validate()?;
        let solver = Solver {
            max_iter: self.max_iter,
            tol: self.tol,
            positive: self.positive,
            random: self.selection == Selection::Random,
            random_state: self.random_state,
        };
        let (fit, n_iter, dual_gap) = fit_one(
            "ElasticNet",
            data,
            w,
            self.fit_intercept,
            self.l1_ratio,
            self.alpha,
            solver,
        )?;
        Ok(ElasticNet {
            params: self.clone(),
            fit,
            n_iter,
            dual_gap,
        })
    }
}

impl Fit for LassoParams {
    type Model = Lasso;

    fn name(&self) -> &'static str {
        "Lasso"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Lasso> {
        self.validate()?;
        let solver = Solver {
            max_iter: self.max_iter,
            tol: self.tol,
            positive: self.positive,
            random: self.selection == Selection::Random,
            random_state: self.random_state,
        };
        let (fit, n_iter, dual_gap) = fit_one(
            "Lasso",
            data,
            w,
            self.fit_intercept,
            1.0,
            self.alpha,
            solver,
        )?;
        Ok(Lasso {
            params: self.clone(),
            fit,
            n_iter,
            dual_gap,
        })
    }
}

pub(super) fn fit_one(
    name: &'static str,
    data: &Dataset<f64>,
    w: Option<&[f64]>,
    fit_intercept: bool,
    l1_ratio: f64,
    alpha: f64,
    solver: Solver,
) -> Result<(LinearFit, usize, f64)> {
    let path = solve_path(
        name,
        data,
        w,
        fit_intercept,
        l1_ratio,
        Alphas::Given(vec![alpha]),
        solver,
    )?;
    let coef = path.coefs.into_iter().next().unwrap_or_default();
    let fit = LinearFit {
        input: data.features().to_vec(),
        coef,
        intercept: path.intercepts.first().copied().unwrap_or(0.0),
    };
    let n_iter = path.n_iters.first().copied().unwrap_or(0);
    let gap = path.dual_gaps.first().copied().unwrap_or(0.0);
    Ok((fit, n_iter, gap))
}
