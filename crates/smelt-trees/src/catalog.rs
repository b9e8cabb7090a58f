//! This crate's estimators for `smelt train --model NAME` (see `smelt_learn::catalog`).

use smelt_learn::catalog::{ModelInfo, Prep, Task, build_with};

use crate::forest::{
    ExtraTreesClassifierParams, ExtraTreesRegressorParams, RandomForestClassifierParams,
    RandomForestRegressorParams,
};
use crate::gbdt::{HistGradientBoostingClassifierParams, HistGradientBoostingRegressorParams};
use crate::tree::{DecisionTreeClassifierParams, DecisionTreeRegressorParams};

/// The tree estimators `smelt train` knows.
pub fn models() -> &'static [ModelInfo] {
    const MODELS: &[ModelInfo] = &[
        ModelInfo::new(
            "hist_gradient_boosting_classifier",
            Task::Classification,
            Prep::Native,
            "histogram gradient boosting (LightGBM-style; native missing values and categories)",
            build_with::<HistGradientBoostingClassifierParams>,
        ),
        ModelInfo::new(
            "hist_gradient_boosting_regressor",
            Task::Regression,
            Prep::Native,
            "histogram gradient boosting: squared/absolute error, Huber, quantile, Poisson",
            build_with::<HistGradientBoostingRegressorParams>,
        ),
        ModelInfo::new(
            "decision_tree_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "CART decision tree (gini / entropy)",
            build_with::<DecisionTreeClassifierParams>,
        ),
        ModelInfo::new(
            "decision_tree_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "CART regression tree (squared error)",
            build_with::<DecisionTreeRegressorParams>,
        ),
        ModelInfo::new(
            "random_forest_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "random forest: bootstrap samples, best splits over sqrt(p) random features",
            build_with::<RandomForestClassifierParams>,
        ),
        ModelInfo::new(
            "random_forest_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "random forest regressor: bootstrap samples, best splits",
            build_with::<RandomForestRegressorParams>,
        ),
        ModelInfo::new(
            "extra_trees_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "extremely randomized trees: random thresholds over sqrt(p) random features",
            build_with::<ExtraTreesClassifierParams>,
        ),
        ModelInfo::new(
            "extra_trees_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "extremely randomized trees regressor: random thresholds",
            build_with::<ExtraTreesRegressorParams>,
        ),
    ];
    MODELS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_builds_and_is_a_registered_kind() {
        let registry = crate::registry();
        let kinds: Vec<&str> = registry.predictor_kinds().collect();
        for m in models() {
            assert!(m.build(serde_json::Map::new()).is_ok(), "{}", m.name);
            assert!(kinds.contains(&m.name), "{}", m.name);
        }
    }
}
