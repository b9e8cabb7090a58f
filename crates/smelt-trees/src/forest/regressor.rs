//! `RandomForestRegressor` and `ExtraTreesRegressor` (see the [module docs](super)).

use serde::Serialize;
use serde::de::DeserializeOwned;
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, finite_regression_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, Dataset, Feature, Fit, Output, ParamError, Prediction,
    Predictor, Registry, Result, UnknownCategory,
};

use super::{ForestSpec, MaxSamples, Trees, grow_forest};
use crate::tree::{Columns, MaxFeatures, RegressionCriterion, Splitter, Target, Tree};

/// The forest regressor kinds: implemented by [`RandomForestRegressorParams`] and
/// [`ExtraTreesRegressorParams`].
pub trait RegressorKind:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The model kind in model files.
    const KIND: &'static str;
    /// The estimator name in messages.
    const NAME: &'static str;
}

macro_rules! regressor_params {
    ($(#[$doc:meta])* $name:ident, $est:literal, $kind:literal, $boot:literal, $splitter:expr) => {
        smelt_core::params! {
            $(#[$doc])*
            pub struct $name($est) {
                /// Number of trees, `>= 1`; default 100.
                n_estimators: usize = 100, range: at_least_int(1);
                /// Split quality: `"squared_error"`, `"friedman_mse"` or `"absolute_error"`;
                /// default `"squared_error"`.
                criterion: RegressionCriterion = RegressionCriterion::SquaredError;
                /// Maximum depth, `>= 1`; default `None` (grow until pure or too small).
                max_depth: Option<usize> = None,
                    range: none_or(at_least_int(1)),
                    setter: some(usize);
                /// Fewest rows a node needs to be split, `>= 2`; default 2.
                min_samples_split: usize = 2, range: at_least_int(2);
                /// Fewest rows each child must keep, `>= 1`; default 1.
                min_samples_leaf: usize = 1, range: at_least_int(1);
                /// Features considered per split: `None` (all), a count, a fraction in `(0, 1]`,
                /// `"sqrt"` or `"log2"`; default `1.0` (all).
                max_features: Option<MaxFeatures> = Some(MaxFeatures::Fraction(1.0)),
                    range: check(
                        "None, an integer in [1, n_features], a float in (0, 1], \"sqrt\" or \"log2\"",
                        MaxFeatures::valid,
                        MaxFeatures::describe
                    );
                /// Whether each tree sees a bootstrap sample of the rows; default `true` for
                /// random forests, `false` for extra trees.
                bootstrap: bool = $boot;
                /// Whether to compute the out-of-bag R² (bootstrap only); default `false`.
                oob_score: bool = false;
                /// Bootstrap sample size (bootstrap only): `None` (the number of rows), a count or
                /// a fraction; default `None`.
                max_samples: Option<MaxSamples> = None,
                    range: check_debug(
                        "None, an integer in [1, inf) or a float in (0, 1]",
                        |m| match m {
                            None => true,
                            Some(MaxSamples::Count(c)) => *c >= 1,
                            Some(MaxSamples::Fraction(f)) => *f > 0.0 && *f <= 1.0,
                        }
                    ),
                    setter: some(MaxSamples);
                /// Seed of the bootstrap samples and the trees' feature draws; default 0.
                random_state: u64 = 0;
                /// Minimal cost-complexity pruning of every tree (see the decision trees),
                /// `>= 0`; default 0 (no pruning).
                ccp_alpha: f64 = 0.0, range: at_least(0.0);
                /// Grow each tree best first up to this many leaves, `>= 2`; default `None`.
                max_leaf_nodes: Option<usize> = None,
                    range: none_or(at_least_int(2)),
                    setter: some(usize);
            }
        }

        impl $name {
            fn spec(&self) -> ForestSpec {
                ForestSpec {
                    n_estimators: self.n_estimators,
                    max_depth: self.max_depth,
                    min_samples_split: self.min_samples_split,
                    min_samples_leaf: self.min_samples_leaf,
                    max_features: self.max_features.clone(),
                    bootstrap: self.bootstrap,
                    oob_score: self.oob_score,
                    max_samples: self.max_samples.clone(),
                    random_state: self.random_state,
                    splitter: $splitter,
                    ccp_alpha: self.ccp_alpha,
                    max_leaf_nodes: self.max_leaf_nodes,
                }
            }
        }

        impl RegressorKind for $name {
            const KIND: &'static str = $kind;
            const NAME: &'static str = $est;
        }

        impl Fit for $name {
            type Model = ForestRegressor<$name>;

            fn name(&self) -> &'static str {
                $est
            }

            fn check(&self) -> Vec<ParamError> {
                self.spec().check(self.range_check($est)).finish()
            }

            fn fit_weighted(
                &self,
                data: &Dataset<f64>,
                w: Option<&[f64]>,
            ) -> Result<ForestRegressor<$name>> {
                self.validate()?;
                fit(self, self.spec(), self.criterion, data, w)
            }
        }
    };
}

regressor_params!(
    /// Parameters of [`RandomForestRegressor`] (scikit-learn's `RandomForestRegressor`):
    /// bootstrap samples and best splits (over all features by default).
    RandomForestRegressorParams,
    "RandomForestRegressor",
    "random_forest_regressor",
    true,
    Splitter::Best
);

regressor_params!(
    /// Parameters of [`ExtraTreesRegressor`] (scikit-learn's `ExtraTreesRegressor`): all rows
    /// by default, and one random threshold per candidate feature.
    ExtraTreesRegressorParams,
    "ExtraTreesRegressor",
    "extra_trees_regressor",
    false,
    Splitter::Random
);

/// A fitted forest regressor (random forest or extra trees, by `P`).
#[derive(Clone, Debug, PartialEq)]
pub struct ForestRegressor<P> {
    params: P,
    input: Vec<Feature>,
    max_features: usize,
    trees: Trees,
    oob_score: Option<f64>,
    oob_prediction: Option<Vec<f64>>,
}

/// A fitted random forest regressor.
pub type RandomForestRegressor = ForestRegressor<RandomForestRegressorParams>;
/// A fitted extra-trees regressor.
pub type ExtraTreesRegressor = ForestRegressor<ExtraTreesRegressorParams>;

/// R² of `pred` against `y` (scikit-learn's `r2_score`: 1 for a perfect fit of a constant
/// target, 0 for an imperfect one).
fn r2(y: &[f64], pred: &[f64]) -> f64 {
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(pred).map(|(a, b)| (a - b).powi(2)).sum();
    if ss_tot == 0.0 {
        if ss_res == 0.0 { 1.0 } else { 0.0 }
    } else {
        1.0 - ss_res / ss_tot
    }
}

fn fit<P: RegressorKind>(
    params: &P,
    spec: ForestSpec,
    criterion: RegressionCriterion,
    data: &Dataset<f64>,
    w: Option<&[f64]>,
) -> Result<ForestRegressor<P>> {
    let name = P::NAME;
    require_numeric(name, data)?;
    let y = finite_regression_target(name, data)?;
    check_sample_weight(name, data.n_rows(), w)?;
    let max_features = MaxFeatures::resolve(&spec.max_features, data.n_features(), name)?;
    let cols = Columns::new(data, spec.splitter == Splitter::Best);
    let grown = grow_forest(
        &cols,
        Target::Reg {
            y,
            loss: criterion.loss(),
        },
        w,
        &spec,
        max_features,
        None,
    );
    drop(cols);
    let trees = Trees::whole(grown.trees, data.n_features(), 1);
    let (oob_score, oob_prediction) = match &grown.in_bag {
        None => (None, None),
        Some(bags) => {
            let (sums, counts) = trees.sum(data, Some(bags));
            let pred: Vec<f64> = sums
                .iter()
                .zip(&counts)
                .map(|(s, &c)| s / f64::from(c.max(1)))
                .collect();
            (Some(r2(y, &pred)), Some(pred))
        }
    };
    Ok(ForestRegressor {
        params: params.clone(),
        input: data.features().to_vec(),
        max_features,
        trees,
        oob_score,
        oob_prediction,
    })
}

impl<P: RegressorKind> ForestRegressor<P> {
    /// The model kind in model files.
    pub const KIND: &'static str = P::KIND;

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &P {
        &self.params
    }
    /// The fitted trees (`estimators_`), as flat node arrays; an error for a forest loaded
    /// for inference only ([`smelt_core::artifact::load_for_inference`]), which keeps just
    /// what prediction reads.
    pub fn trees(&self) -> Result<&[Tree]> {
        self.trees.trees(P::NAME)
    }
    /// Bytes the trees take as laid out for prediction (what a forest loaded for inference
    /// only holds).
    pub fn inference_bytes(&self) -> usize {
        self.trees.walk().bytes()
    }
    /// Number of features considered per split (`max_features` resolved).
    pub fn max_features(&self) -> usize {
        self.max_features
    }
    /// Mean normalised impurity decrease per feature (`feature_importances_`).
    pub fn feature_importances(&self) -> Vec<f64> {
        self.trees.importances(self.input.len())
    }
    /// Out-of-bag R² on the training rows (`oob_score_`), when fitted with `oob_score`.
    pub fn oob_score(&self) -> Option<f64> {
        self.oob_score
    }
    /// Out-of-bag predictions of the training rows (`oob_prediction_`; 0 for a row no tree
    /// left out), when fitted with `oob_score`.
    pub fn oob_prediction(&self) -> Option<&[f64]> {
        self.oob_prediction.as_deref()
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, P) = load_common(r)?;
        let trees = Trees::load(r, input.len(), 1)?;
        let oob_score: Option<f64> = r.get("oob_score")?;
        let oob_prediction = if r.has("oob_prediction") {
            let n: usize = r.get("n_oob_rows")?;
            Some(r.vector("oob_prediction", n)?)
        } else {
            None
        };
        Ok(Box::new(ForestRegressor {
            max_features: r.get("max_features")?,
            params,
            input,
            trees,
            oob_score,
            oob_prediction,
        }))
    }
}

impl<P: RegressorKind> Predictor for ForestRegressor<P> {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        Some(
            self.input_features()
                .iter()
                .map(|f| f.name.clone())
                .zip(self.feature_importances())
                .collect(),
        )
    }
    fn kind(&self) -> &str {
        P::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(P::NAME, &d)?;
        let (sums, _) = self.trees.sum(&d, None);
        let n = self.trees.len() as f64;
        Ok(Prediction::Regression {
            values: sums.into_iter().map(|s| s / n).collect(),
        })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("max_features", &self.max_features)?;
        w.put("oob_score", &self.oob_score)?;
        if let Some(oob) = &self.oob_prediction {
            w.put("n_oob_rows", &oob.len())?;
            w.vector("oob_prediction", oob)?;
        }
        self.trees.save(w, P::NAME, 1)
    }
}
