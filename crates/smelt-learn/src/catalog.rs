//! This crate's estimators by name (the catalogue types are [`smelt_core::catalog`]'s), and
//! the default preprocessing `smelt train` puts in front of an estimator ([`auto_pipeline`]).

use smelt_core::catalog::{ModelInfo, Prep, Task, find_in};
use smelt_core::{FitPredictor, Result};

use crate::cluster::{DbscanParams, KMeansParams, MiniBatchKMeansParams};
use crate::compose::{Branch, ColumnTransformerParams, Selector};
use crate::dummy::{DummyClassifierParams, DummyRegressorParams};
use crate::linear::{
    ElasticNetParams, LassoParams, LinearRegressionParams, LogisticRegressionParams, RidgeParams,
};
use crate::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use crate::neighbors::{KNeighborsClassifierParams, KNeighborsRegressorParams};
use crate::pipeline::PipelineParams;
use crate::preprocessing::{
    HandleUnknown, ImputeStrategy, OneHotEncoderParams, SimpleImputerParams, StandardScalerParams,
};
use crate::seasonal_naive::SeasonalNaiveParams;
use crate::svm::{LinearSVCParams, SVCParams, SVRParams};

/// Every estimator `smelt train` knows.
pub fn models() -> &'static [ModelInfo] {
    const MODELS: &[ModelInfo] = &[
        ModelInfo::of::<DummyClassifierParams>(
            "dummy_classifier",
            Task::Classification,
            Prep::Native,
            "baseline that ignores the features: class frequencies (prior) or the majority class",
        ),
        ModelInfo::of::<DummyRegressorParams>(
            "dummy_regressor",
            Task::Regression,
            Prep::Native,
            "baseline that ignores the features: the target's mean or median",
        ),
        ModelInfo::of::<SeasonalNaiveParams>(
            "seasonal_naive",
            Task::Regression,
            Prep::Native,
            "forecasting baseline: the value one season earlier, from the lag columns of `smelt data window` (season=1: the last value)",
        ),
        ModelInfo::of::<LinearRegressionParams>(
            "linear_regression",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "ordinary least squares (QR / SVD)",
        ),
        ModelInfo::of::<RidgeParams>(
            "ridge",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "least squares with an L2 penalty (alpha)",
        ),
        ModelInfo::of::<LassoParams>(
            "lasso",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "least squares with an L1 penalty (coordinate descent)",
        ),
        ModelInfo::of::<ElasticNetParams>(
            "elastic_net",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "least squares with L1 + L2 penalties (coordinate descent)",
        ),
        ModelInfo::of::<LogisticRegressionParams>(
            "logistic_regression",
            Task::Classification,
            Prep::ImputeEncodeScale,
            "logistic regression: L2/L1/elastic-net, binary and multinomial (lbfgs, saga)",
        ),
        ModelInfo::of::<GaussianNBParams>(
            "gaussian_nb",
            Task::Classification,
            Prep::ImputeEncode,
            "Gaussian naive Bayes",
        ),
        ModelInfo::of::<MultinomialNBParams>(
            "multinomial_nb",
            Task::Classification,
            Prep::ImputeEncode,
            "multinomial naive Bayes (counts; features must be non-negative)",
        ),
        ModelInfo::of::<BernoulliNBParams>(
            "bernoulli_nb",
            Task::Classification,
            Prep::ImputeEncode,
            "Bernoulli naive Bayes (binarised features)",
        ),
        ModelInfo::of::<KNeighborsClassifierParams>(
            "k_neighbors_classifier",
            Task::Classification,
            Prep::ImputeEncodeScale,
            "k-nearest neighbours vote (kd-tree or blocked brute force)",
        ),
        ModelInfo::of::<KNeighborsRegressorParams>(
            "k_neighbors_regressor",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "k-nearest neighbours average (kd-tree or blocked brute force)",
        ),
        ModelInfo::of::<SVCParams>(
            "svc",
            Task::Classification,
            Prep::ImputeEncodeScale,
            "support vector classifier (SMO; rbf/linear/poly/sigmoid kernels; Platt probabilities)",
        ),
        ModelInfo::of::<SVRParams>(
            "svr",
            Task::Regression,
            Prep::ImputeEncodeScale,
            "epsilon support vector regression (SMO)",
        ),
        ModelInfo::of::<LinearSVCParams>(
            "linear_svc",
            Task::Classification,
            Prep::ImputeEncodeScale,
            "linear SVM (liblinear-style dual CD / primal Newton), one-vs-rest",
        ),
        ModelInfo::of::<KMeansParams>(
            "kmeans",
            Task::Clustering,
            Prep::ImputeEncodeScale,
            "k-means (k-means++ init, Lloyd or Elkan)",
        ),
        ModelInfo::of::<MiniBatchKMeansParams>(
            "mini_batch_kmeans",
            Task::Clustering,
            Prep::ImputeEncodeScale,
            "mini-batch k-means",
        ),
        ModelInfo::of::<DbscanParams>(
            "dbscan",
            Task::Clustering,
            Prep::ImputeEncodeScale,
            "density-based clustering (noise = -1)",
        ),
    ];
    MODELS
}

/// The catalogue entry called `name`.
pub fn find(name: &str) -> Result<&'static ModelInfo> {
    let all: Vec<&'static ModelInfo> = models().iter().collect();
    find_in(&all, name)
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

#[cfg(test)]
mod tests {
    use serde_json::Map;
    use smelt_core::CoreError;
    use smelt_core::catalog::parse_params;

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
            // The parameter table lists every parameter, with docs, in serde's names.
            assert!(!m.params().is_empty(), "{} has no parameter table", m.name);
            for p in m.params() {
                assert!(!p.doc.is_empty(), "{}: {} has no doc", m.name, p.name);
                let one = Map::from_iter([(p.name.to_string(), p.default.clone())]);
                assert!(m.build(one).is_ok(), "{}: default of {}", m.name, p.name);
            }
            // Catalogue names are the model kinds written in model files.
            assert!(
                kinds.contains(&m.name),
                "{} is not a registered kind",
                m.name
            );
        }
    }
}
