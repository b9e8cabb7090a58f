//! This crate's estimators for `smelt train --model NAME` (the types are
//! [`smelt_core::catalog`]'s).

use smelt_core::catalog::{ModelInfo, Prep, Task};

use crate::forest::{
    ExtraTreesClassifierParams, ExtraTreesRegressorParams, RandomForestClassifierParams,
    RandomForestRegressorParams,
};
use crate::gbdt::{HistGradientBoostingClassifierParams, HistGradientBoostingRegressorParams};
use crate::tree::{DecisionTreeClassifierParams, DecisionTreeRegressorParams};

/// The tree estimators `smelt train` knows.
pub fn models() -> &'static [ModelInfo] {
    const MODELS: &[ModelInfo] = &[
        ModelInfo::of::<HistGradientBoostingClassifierParams>(
            "hist_gradient_boosting_classifier",
            Task::Classification,
            Prep::Native,
            "histogram gradient boosting (LightGBM-style; native missing values and categories)",
        ),
        ModelInfo::of::<HistGradientBoostingRegressorParams>(
            "hist_gradient_boosting_regressor",
            Task::Regression,
            Prep::Native,
            "histogram gradient boosting: squared/absolute error, Huber, quantile, Poisson",
        ),
        ModelInfo::of::<DecisionTreeClassifierParams>(
            "decision_tree_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "CART decision tree (gini / entropy)",
        ),
        ModelInfo::of::<DecisionTreeRegressorParams>(
            "decision_tree_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "CART regression tree (squared error)",
        ),
        ModelInfo::of::<RandomForestClassifierParams>(
            "random_forest_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "random forest: bootstrap samples, best splits over sqrt(p) random features",
        ),
        ModelInfo::of::<RandomForestRegressorParams>(
            "random_forest_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "random forest regressor: bootstrap samples, best splits",
        ),
        ModelInfo::of::<ExtraTreesClassifierParams>(
            "extra_trees_classifier",
            Task::Classification,
            Prep::ImputeEncode,
            "extremely randomized trees: random thresholds over sqrt(p) random features",
        ),
        ModelInfo::of::<ExtraTreesRegressorParams>(
            "extra_trees_regressor",
            Task::Regression,
            Prep::ImputeEncode,
            "extremely randomized trees regressor: random thresholds",
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
            assert!(!m.params().is_empty(), "{}", m.name);
            for p in m.params() {
                // Each documented default (and each alias) is accepted as given.
                let one = serde_json::Map::from_iter([(p.name.to_string(), p.default.clone())]);
                assert!(m.build(one).is_ok(), "{}: default of {}", m.name, p.name);
                for a in p.aliases {
                    let one = serde_json::Map::from_iter([(a.to_string(), p.default.clone())]);
                    assert!(m.build(one).is_ok(), "{}: alias {a}", m.name);
                }
            }
            assert!(kinds.contains(&m.name), "{}", m.name);
        }
    }
}
