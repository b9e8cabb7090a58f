//! Classical machine learning for Smelt — scikit-learn's role, minus the trees.
//!
//! Every estimator follows the API of [`smelt_core::model`]: a params struct with
//! scikit-learn's defaults and builder methods, [`Fit::fit`](smelt_core::Fit::fit) returning a
//! fitted type that implements [`Predictor`](smelt_core::Predictor) (or
//! [`Transform`](smelt_core::Transform)), and save/load through the safe model format of
//! [`smelt_core::artifact`].
//!
//! ```
//! use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Predictor, Prediction, Target};
//! use smelt_learn::linear::RidgeParams;
//!
//! let x = Feature { name: "x".into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric };
//! let y = Target::Regression { values: vec![1.0, 3.0, 5.0] };
//! let data = Dataset::new(3, vec![0.0, 1.0, 2.0], vec![x], Some(("y".into(), y))).unwrap();
//! let model = RidgeParams::default().alpha(0.0).fit(&data).unwrap();
//! assert!((model.coef()[0] - 2.0).abs() < 1e-12);
//! let Prediction::Regression { values } = model.predict(&data).unwrap() else { unreachable!() };
//! assert!((values[1] - 3.0).abs() < 1e-12);
//! ```

pub mod catalog;
pub mod cluster;
pub mod compose;
pub mod decomposition;
pub mod dummy;
pub mod linear;
pub mod naive_bayes;
pub mod neighbors;
pub mod pipeline;
pub mod preprocessing;
pub mod seasonal_naive;
pub mod svm;
pub mod util;

use smelt_core::Registry;

/// Registers every model and transformer kind of this crate, so that
/// [`smelt_core::artifact::load`] can read their files.
pub fn register(registry: &mut Registry) {
    registry.add_predictor(
        linear::LinearRegression::KIND,
        linear::LinearRegression::load,
    );
    registry.add_predictor(linear::Ridge::KIND, linear::Ridge::load);
    registry.add_predictor(pipeline::Pipeline::KIND, pipeline::Pipeline::load);
    registry.add_transform(
        compose::ColumnTransformer::KIND,
        compose::ColumnTransformer::load,
    );
    registry.add_transform(
        preprocessing::StandardScaler::KIND,
        preprocessing::StandardScaler::load,
    );
    registry.add_transform(
        preprocessing::SimpleImputer::KIND,
        preprocessing::SimpleImputer::load,
    );
    registry.add_transform(
        preprocessing::OneHotEncoder::KIND,
        preprocessing::OneHotEncoder::load,
    );
    registry.add_transform(
        preprocessing::MinMaxScaler::KIND,
        preprocessing::MinMaxScaler::load,
    );
    registry.add_transform(
        preprocessing::RobustScaler::KIND,
        preprocessing::RobustScaler::load,
    );
    registry.add_transform(
        preprocessing::OrdinalEncoder::KIND,
        preprocessing::OrdinalEncoder::load,
    );
    registry.add_transform(
        preprocessing::TargetEncoder::KIND,
        preprocessing::TargetEncoder::load,
    );
    registry.add_transform(
        preprocessing::PolynomialFeatures::KIND,
        preprocessing::PolynomialFeatures::load,
    );
    registry.add_predictor(linear::Lasso::KIND, linear::Lasso::load);
    registry.add_predictor(linear::ElasticNet::KIND, linear::ElasticNet::load);
    registry.add_predictor(
        linear::LogisticRegression::KIND,
        linear::LogisticRegression::load,
    );
    registry.add_predictor(naive_bayes::GaussianNB::KIND, naive_bayes::GaussianNB::load);
    registry.add_predictor(dummy::DummyClassifier::KIND, dummy::DummyClassifier::load);
    registry.add_predictor(dummy::DummyRegressor::KIND, dummy::DummyRegressor::load);
    registry.add_predictor(
        seasonal_naive::SeasonalNaive::KIND,
        seasonal_naive::SeasonalNaive::load,
    );
    registry.add_predictor(svm::SVC::KIND, svm::SVC::load);
    registry.add_predictor(svm::SVR::KIND, svm::SVR::load);
    registry.add_predictor(svm::LinearSVC::KIND, svm::LinearSVC::load);
    registry.add_predictor(cluster::KMeans::KIND, cluster::KMeans::load);
    registry.add_predictor(cluster::Dbscan::KIND, cluster::Dbscan::load);
    registry.add_transform(decomposition::Pca::KIND, decomposition::Pca::load);
    registry.add_predictor(
        naive_bayes::MultinomialNB::KIND,
        naive_bayes::MultinomialNB::load,
    );
    registry.add_predictor(
        naive_bayes::BernoulliNB::KIND,
        naive_bayes::BernoulliNB::load,
    );
    registry.add_predictor(
        neighbors::KNeighborsClassifier::KIND,
        neighbors::KNeighborsClassifier::load,
    );
    registry.add_predictor(
        neighbors::KNeighborsRegressor::KIND,
        neighbors::KNeighborsRegressor::load,
    );
    registry.add_predictor(
        cluster::MiniBatchKMeans::KIND,
        cluster::MiniBatchKMeans::load,
    );
}

/// Sets the number of worker threads of every estimator (rayon's global pool and faer's
/// parallelism). Call it once, before any fit; later calls keep the first pool.
pub fn set_threads(n: usize) {
    let n = n.max(1);
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    faer::set_global_parallelism(if n == 1 {
        faer::Par::Seq
    } else {
        faer::Par::rayon(n)
    });
}

/// A registry with this crate's kinds.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register(&mut r);
    r
}
