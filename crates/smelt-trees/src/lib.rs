//! Tree models for Smelt (issue "Trees and ensembles"): they follow the estimator API of
//! `smelt_core::model` and run through `smelt_testkit::CheckEstimator` like every model.

pub mod catalog;
pub mod ensemble;
pub mod forest;
pub mod gbdt;
pub mod import;
mod prefetch;
pub mod tree;

use smelt_core::Registry;

/// Registers this crate's model kinds.
pub fn register(registry: &mut Registry) {
    registry.add_predictor(ensemble::TreeEnsemble::KIND, ensemble::TreeEnsemble::load);
    registry.add_predictor(
        gbdt::HistGradientBoostingClassifier::KIND,
        gbdt::HistGradientBoostingClassifier::load,
    );
    registry.add_predictor(
        gbdt::HistGradientBoostingRegressor::KIND,
        gbdt::HistGradientBoostingRegressor::load,
    );
    registry.add_predictor(
        tree::DecisionTreeClassifier::KIND,
        tree::DecisionTreeClassifier::load,
    );
    registry.add_predictor(
        tree::DecisionTreeRegressor::KIND,
        tree::DecisionTreeRegressor::load,
    );
    registry.add_predictor(
        forest::RandomForestClassifier::KIND,
        forest::RandomForestClassifier::load,
    );
    registry.add_predictor(
        forest::ExtraTreesClassifier::KIND,
        forest::ExtraTreesClassifier::load,
    );
    registry.add_predictor(
        forest::RandomForestRegressor::KIND,
        forest::RandomForestRegressor::load,
    );
    registry.add_predictor(
        forest::ExtraTreesRegressor::KIND,
        forest::ExtraTreesRegressor::load,
    );
}

/// A registry with this crate's kinds.
pub fn registry() -> Registry {
    let mut r = Registry::new();
    register(&mut r);
    r
}
