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

pub mod cluster;
pub mod decomposition;
pub mod linear;
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
    registry.add_predictor(cluster::KMeans::KIND, cluster::KMeans::load);
    registry.add_predictor(
        cluster::MiniBatchKMeans::KIND,
        cluster::MiniBatchKMeans::load,
    );
    registry.add_predictor(cluster::Dbscan::KIND, cluster::Dbscan::load);
    registry.add_transform(decomposition::Pca::KIND, decomposition::Pca::load);
}

/// A registry with this crate's kinds.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register(&mut r);
    r
}
