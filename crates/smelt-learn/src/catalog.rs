//! The catalogue of estimators by name, as `smelt train --model NAME --param k=v` uses it.
//!
//! Parameters are given with scikit-learn's names; values are read as JSON when they parse
//! (`0.5`, `true`, `null`, `"l1"`, `[1, 2]`) and as strings otherwise (`penalty=l1`). An unknown
//! parameter is an error with a did-you-mean; invalid values are rejected with the
//! estimator's own checks before any fitting.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use smelt_core::text::closest;
use smelt_core::{CoreError, FitPredictor, Result};

use crate::cluster::{DbscanParams, KMeansParams, MiniBatchKMeansParams};
use crate::compose::{Branch, ColumnTransformerParams, Selector};
use crate::linear::{
    ElasticNetParams, LassoParams, LinearRegressionParams, LogisticRegressionParams, RidgeParams,
};
use crate::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use crate::neighbors::{KNeighborsClassifierParams, KNeighborsRegressorParams};
use crate::pipeline::PipelineParams;
use crate::preprocessing::{
    HandleUnknown, ImputeStrategy, OneHotEncoderParams, SimpleImputerParams, StandardScalerParams,
};
use crate::svm::{LinearSVCParams, SVCParams, SVRParams};

/// The task an estimator solves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Real-valued target.
    Regression,
    /// Class labels.
    Classification,
    /// No target (clustering).
    Clustering,
}

/// How `smelt train` prepares features for an estimator by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prep {
    /// Impute (median / most frequent), one-hot encode categoricals, standardise numbers:
    /// linear models, SVMs, neighbours, clustering.
    ImputeEncodeScale,
    /// Impute and one-hot encode, no scaling (naive Bayes).
    ImputeEncode,
    /// None: the model takes missing values and categorical features as they are
    /// (gradient boosting).
    Native,
}

/// Builds an estimator from its parameters.
pub type Builder = fn(Map<String, Value>) -> Result<Box<dyn FitPredictor>>;

/// One catalogue entry.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    /// Name on the command line (`ridge`).
    pub name: &'static str,
    /// What it predicts.
    pub task: Task,
    /// Default preprocessing.
    pub prep: Prep,
    /// One line for `--list-models`.
    pub summary: &'static str,
    build: Builder,
}

impl ModelInfo {
    /// An entry for another crate's catalogue (`smelt_trees::catalog`).
    pub const fn new(
        name: &'static str,
        task: Task,
        prep: Prep,
        summary: &'static str,
        build: Builder,
    ) -> Self {
        ModelInfo {
            name,
            task,
            prep,
            summary,
            build,
        }
    }

    /// Builds the estimator from parameters (validated).
    pub fn build(&self, params: Map<String, Value>) -> Result<Box<dyn FitPredictor>> {
        (self.build)(params)
    }
}

/// Deserialises `P` from `params` (rejecting unknown names with a did-you-mean) and validates it.
pub fn build_with<P>(params: Map<String, Value>) -> Result<Box<dyn FitPredictor>>
where
    P: Default + Serialize + DeserializeOwned + FitPredictor + 'static,
{
    let estimator = P::default().name().to_string();
    let known: Vec<String> = match serde_json::to_value(P::default()) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for (k, v) in &params {
        // An alias serde accepts (`num_leaves` for `max_leaf_nodes`) is known too.
        let alias = || {
            let one = Map::from_iter([(k.clone(), v.clone())]);
            serde_json::from_value::<P>(Value::Object(one)).is_ok()
        };
        if !known.contains(k) && !alias() {
            return Err(CoreError::BadParam {
                estimator,
                message: format!("unknown parameter `{k}` (parameters: {})", known.join(", ")),
                suggestion: closest(k, &known).map(str::to_string),
            });
        }
    }
    let p: P = serde_json::from_value(Value::Object(params)).map_err(|e| CoreError::BadParam {
        estimator: estimator.clone(),
        message: e.to_string(),
        suggestion: None,
    })?;
    let errors = p.check();
    if !errors.is_empty() {
        return Err(CoreError::Params(errors));
    }
    Ok(Box::new(p))
}

/// Every estimator `smelt train` knows.
pub fn models() -> &'static [ModelInfo] {
    const MODELS: &[ModelInfo] = &[
        ModelInfo {
            name: "linear_regression",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "ordinary least squares (QR / SVD)",
            build: build_with::<LinearRegressionParams>,
        },
        ModelInfo {
            name: "ridge",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "least squares with an L2 penalty (alpha)",
            build: build_with::<RidgeParams>,
        },
        ModelInfo {
            name: "lasso",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "least squares with an L1 penalty (coordinate descent)",
            build: build_with::<LassoParams>,
        },
        ModelInfo {
            name: "elastic_net",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "least squares with L1 + L2 penalties (coordinate descent)",
            build: build_with::<ElasticNetParams>,
        },
        ModelInfo {
            name: "logistic_regression",
            task: Task::Classification,
            prep: Prep::ImputeEncodeScale,
            summary: "logistic regression: L2/L1/elastic-net, binary and multinomial (lbfgs, saga)",
            build: build_with::<LogisticRegressionParams>,
        },
        ModelInfo {
            name: "gaussian_nb",
            task: Task::Classification,
            prep: Prep::ImputeEncode,
            summary: "Gaussian naive Bayes",
            build: build_with::<GaussianNBParams>,
        },
        ModelInfo {
            name: "multinomial_nb",
            task: Task::Classification,
            prep: Prep::ImputeEncode,
            summary: "multinomial naive Bayes (counts; features must be non-negative)",
            build: build_with::<MultinomialNBParams>,
        },
        ModelInfo {
            name: "bernoulli_nb",
            task: Task::Classification,
            prep: Prep::ImputeEncode,
            summary: "Bernoulli naive Bayes (binarised features)",
            build: build_with::<BernoulliNBParams>,
        },
        ModelInfo {
            name: "k_neighbors_classifier",
            task: Task::Classification,
            prep: Prep::ImputeEncodeScale,
            summary: "k-nearest neighbours vote (kd-tree or blocked brute force)",
            build: build_with::<KNeighborsClassifierParams>,
        },
        ModelInfo {
            name: "k_neighbors_regressor",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "k-nearest neighbours average (kd-tree or blocked brute force)",
            build: build_with::<KNeighborsRegressorParams>,
        },
        ModelInfo {
            name: "svc",
            task: Task::Classification,
            prep: Prep::ImputeEncodeScale,
            summary: "support vector classifier (SMO; rbf/linear/poly/sigmoid kernels; Platt probabilities)",
            build: build_with::<SVCParams>,
        },
        ModelInfo {
            name: "svr",
            task: Task::Regression,
            prep: Prep::ImputeEncodeScale,
            summary: "epsilon support vector regression (SMO)",
            build: build_with::<SVRParams>,
        },
        ModelInfo {
            name: "linear_svc",
            task: Task::Classification,
            prep: Prep::ImputeEncodeScale,
            summary: "linear SVM (liblinear-style dual CD / primal Newton), one-vs-rest",
            build: build_with::<LinearSVCParams>,
        },
        ModelInfo {
            name: "kmeans",
            task: Task::Clustering,
            prep: Prep::ImputeEncodeScale,
            summary: "k-means (k-means++ init, Lloyd or Elkan)",
            build: build_with::<KMeansParams>,
        },
        ModelInfo {
            name: "mini_batch_kmeans",
            task: Task::Clustering,
            prep: Prep::ImputeEncodeScale,
            summary: "mini-batch k-means",
            build: build_with::<MiniBatchKMeansParams>,
        },
        ModelInfo {
            name: "dbscan",
            task: Task::Clustering,
            prep: Prep::ImputeEncodeScale,
            summary: "density-based clustering (noise = -1)",
            build: build_with::<DbscanParams>,
        },
    ];
    MODELS
}

/// The catalogue entry called `name`.
pub fn find(name: &str) -> Result<&'static ModelInfo> {
    let all: Vec<&'static ModelInfo> = models().iter().collect();
    find_in(&all, name)
}

/// The entry called `name` in `all` (an error with a did-you-mean when absent).
pub fn find_in(all: &[&'static ModelInfo], name: &str) -> Result<&'static ModelInfo> {
    all.iter().copied().find(|m| m.name == name).ok_or_else(|| {
        let known: Vec<String> = all.iter().map(|m| m.name.to_string()).collect();
        CoreError::UnknownModel {
            name: name.to_string(),
            suggestion: closest(name, &known).map(str::to_string),
            known,
        }
    })
}

/// The default preprocessing of `prep` in front of `estimator`:
/// numeric columns → median imputation (+ standardisation); categorical columns → most-frequent
/// imputation + one-hot encoding that ignores unseen categories; [`Prep::Native`]: no step.
pub fn auto_pipeline(prep: Prep, estimator: Box<dyn FitPredictor>) -> PipelineParams {
    if prep == Prep::Native {
        return PipelineParams::from_boxed(Vec::new(), estimator);
    }
    let mut num = Branch::new("numeric", Selector::Numeric)
        .step(SimpleImputerParams::default().strategy(ImputeStrategy::Median));
    if prep == Prep::ImputeEncodeScale {
        num = num.step(StandardScalerParams::default());
    }
    let cat = Branch::new("categorical", Selector::Categorical)
        .step(SimpleImputerParams::default().strategy(ImputeStrategy::MostFrequent))
        .step(OneHotEncoderParams::default().handle_unknown(HandleUnknown::Ignore));
    let ct = ColumnTransformerParams::new().branch(num).branch(cat);
    PipelineParams::from_boxed(vec![Box::new(ct)], estimator)
}

/// Parses `key=value` pairs (values as JSON when they parse, else strings).
pub fn parse_params(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            return Err(CoreError::BadParam {
                estimator: "--param".into(),
                message: format!("`{p}` is not KEY=VALUE"),
                suggestion: None,
            });
        };
        let v = v.trim();
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_with_params_and_rejects_typos() {
        let ridge = find("ridge").unwrap();
        let p = parse_params(&["alpha=0.5".into(), "solver=svd".into()]).unwrap();
        assert!(ridge.build(p).is_ok());
        let err = ridge
            .build(parse_params(&["alpah=1".into()]).unwrap())
            .unwrap_err();
        assert!(
            matches!(&err, CoreError::BadParam { suggestion: Some(s), .. } if s == "alpha"),
            "{err:?}"
        );
        let err = ridge
            .build(parse_params(&["alpha=-1".into()]).unwrap())
            .unwrap_err();
        assert!(matches!(err, CoreError::Params(_)));
        let err = ridge
            .build(parse_params(&["solver=qr".into()]).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("qr"), "{err}");
        let err = find("rigde").unwrap_err();
        assert!(
            matches!(err, CoreError::UnknownModel { suggestion: Some(ref s), .. } if s == "ridge")
        );
        assert!(parse_params(&["novalue".into()]).is_err());
    }

    #[test]
    fn every_model_builds_with_defaults_and_is_loadable() {
        let registry = crate::registry();
        let kinds: Vec<&str> = registry.predictor_kinds().collect();
        for m in models() {
            let est = m
                .build(Map::new())
                .unwrap_or_else(|e| panic!("{}: {e}", m.name));
            assert!(!est.name().is_empty());
            assert!(!m.summary.is_empty());
            // Catalogue names are the model kinds written in model files.
            assert!(
                kinds.contains(&m.name),
                "{} is not a registered kind",
                m.name
            );
        }
    }
}
