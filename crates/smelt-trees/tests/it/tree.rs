//! Decision trees against scikit-learn (fixtures from `tools/fixtures/tree.py`), the
//! conformance suite, and bad input.
//!
//! The fixtures fit on the first `n_train` rows and predict the held-out rest. Only
//! configurations whose tree does not depend on scikit-learn's random feature order (no exact
//! ties between features) are in the fixtures. Tolerances: tree shape (node count, depth,
//! leaves, rows per node) and held-out labels identical; impurities 1e-12 absolute; held-out
//! probabilities 1e-12, regression predictions 1e-9 relative; where scikit-learn's own refits
//! with other seeds agree on them, split features identical, feature importances 1e-9 and
//! thresholds 1e-12 (both split on float32-rounded features). Cases cover Gini / entropy /
//! class weights, squared and absolute error (weighted-median leaves), best-first growth
//! (`max_leaf_nodes`; scikit-learn's expansion-order node arrays are renumbered in pre-order by
//! the generator), and `ccp_alpha` pruning, whose pruning path (effective alphas and subtree impurities) must match
//! scikit-learn's `cost_complexity_pruning_path` to 1e-12 absolute + 1e-9 relative.

// Test helpers (not #[test] fns themselves) unwrap too: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use crate::split;
use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor};
use smelt_testkit::{CheckEstimator, Fixture, FixtureCase, assert_close, classification_data};
use smelt_trees::tree::{
    ClassWeight, Criterion, DecisionTreeClassifierParams, DecisionTreeRegressorParams, FeatureRule,
    MaxFeatures, RegressionCriterion, Tree,
};

fn check_tree(file: &str, case: &FixtureCase, t: &Tree, depth: usize, importances: &[f64]) {
    let what = |k: &str| format!("{file} {}: {k}", case.name);
    assert_eq!(
        t.node_count(),
        case.scalar("node_count") as usize,
        "{}",
        what("node_count")
    );
    assert_eq!(depth, case.scalar("depth") as usize, "{}", what("depth"));
    assert_eq!(
        t.n_leaves(),
        case.scalar("n_leaves") as usize,
        "{}",
        what("n_leaves")
    );
    assert_eq!(
        t.n_node_samples,
        case.vec("n_node_samples"),
        "{}",
        what("n_node_samples")
    );
    assert_close(
        &what("impurity"),
        &t.impurity,
        &case.vec("impurity"),
        1e-12,
        0.0,
    );
    // Which of several equally good features a split uses (and so the importances) is
    // compared only where scikit-learn's refits with other seeds agree on it.
    if case.scalar("same_arrays") == 1.0 {
        assert_close(
            &what("feature_importances"),
            importances,
            &case.vec("feature_importances"),
            1e-9,
            0.0,
        );
        let feature: Vec<f64> = t.feature.iter().map(|&f| f as f64).collect();
        assert_eq!(feature, case.vec("feature"), "{}", what("feature"));
        assert_close(
            &what("threshold"),
            &t.threshold,
            &case.vec("threshold"),
            1e-12,
            0.0,
        );
    }
}

/// The pruning path of the unpruned tree against scikit-learn's
/// `cost_complexity_pruning_path`.
fn check_path(file: &str, case: &FixtureCase, t: &Tree) {
    let (alphas, impurities) = t.cost_complexity_pruning_path();
    let what = |k: &str| format!("{file} {}: {k}", case.name);
    assert_close(
        &what("ccp_alphas"),
        &alphas,
        &case.vec("ccp_alphas"),
        1e-12,
        1e-9,
    );
    assert_close(
        &what("ccp_impurities"),
        &impurities,
        &case.vec("ccp_impurities"),
        1e-12,
        1e-9,
    );
}

fn run_fixture(file: &str) -> usize {
    let fx = Fixture::load(crate::fixture(file));
    let (train, test) = split(&fx);
    let mut seen = 0;
    for case in &fx.cases {
        let w = case.sample_weight.as_deref();
        let what = |k: &str| format!("{file} {}: {k}", case.name);
        match case.estimator.as_deref() {
            Some("decision_tree_classifier") => {
                let p: DecisionTreeClassifierParams = case.params();
                let m = p.fit_weighted(&train, w).unwrap();
                if case.expected.contains_key("ccp_alphas") {
                    let full = p.clone().ccp_alpha(0.0).fit_weighted(&train, w).unwrap();
                    check_path(file, case, full.tree());
                }
                check_tree(file, case, m.tree(), m.depth(), &m.feature_importances());
                let Prediction::Classification { labels, proba, .. } = m.predict(&test).unwrap()
                else {
                    panic!("classification expected")
                };
                let expected: Vec<u32> = case.vec("predict").iter().map(|v| *v as u32).collect();
                assert_eq!(labels, expected, "{}", what("predict"));
                assert_close(
                    &what("proba"),
                    &proba.unwrap().values,
                    &case.vec("proba"),
                    1e-12,
                    0.0,
                );
            }
            Some("decision_tree_regressor") => {
                let p: DecisionTreeRegressorParams = case.params();
                let m = p.fit_weighted(&train, w).unwrap();
                if case.expected.contains_key("ccp_alphas") {
                    let full = p.clone().ccp_alpha(0.0).fit_weighted(&train, w).unwrap();
                    check_path(file, case, full.tree());
                }
                check_tree(file, case, m.tree(), m.depth(), &m.feature_importances());
                let Prediction::Regression { values } = m.predict(&test).unwrap() else {
                    panic!("regression expected")
                };
                assert_close(&what("predict"), &values, &case.vec("predict"), 1e-12, 1e-9);
            }
            other => panic!("unknown estimator {other:?}"),
        }
        seen += 1;
    }
    seen
}

#[test]
fn classifier_matches_sklearn_breast_cancer() {
    assert!(run_fixture("tree_breast_cancer.json") >= 5);
}

#[test]
fn classifier_matches_sklearn_penguins() {
    assert!(run_fixture("tree_penguins.json") >= 5);
}

#[test]
fn regressor_matches_sklearn_housing() {
    assert!(run_fixture("tree_housing.json") >= 8);
}

#[test]
fn pruning_shrinks_with_alpha_and_keeps_preorder() {
    let data = housing();
    let full = DecisionTreeRegressorParams::default()
        .min_samples_leaf(3)
        .fit(&data)
        .unwrap();
    let (alphas, impurities) = full.tree().cost_complexity_pruning_path();
    assert_eq!(alphas[0], 0.0);
    assert!(alphas.windows(2).all(|w| w[0] <= w[1]));
    assert!(impurities.windows(2).all(|w| w[0] <= w[1] + 1e-12));
    let mut last = full.tree().node_count();
    for &a in &alphas[1..] {
        let t = full.tree().pruned(a);
        assert!(t.node_count() <= last);
        last = t.node_count();
        // Pre-order: a split's left child is the next node.
        for i in 0..t.node_count() {
            assert!(t.left[i] == -1 || t.left[i] == i as i64 + 1);
        }
    }
    // The last alpha prunes down to the root.
    assert_eq!(last, 1);
    let root = DecisionTreeRegressorParams::default()
        .ccp_alpha(1e9)
        .fit(&data)
        .unwrap();
    assert_eq!(root.tree().node_count(), 1);
}

fn housing() -> Dataset<f64> {
    split(&Fixture::load(crate::fixture("tree_housing.json"))).0
}

fn penguins() -> Dataset<f64> {
    split(&Fixture::load(crate::fixture("tree_penguins.json"))).0
}

/// Adds the sample-weight check when `on`.
fn weighted(c: CheckEstimator<'_>, on: bool) -> CheckEstimator<'_> {
    if on { c.sample_weight() } else { c }
}

#[test]
fn classifier_conformance() {
    let reg = smelt_trees::registry();
    fn invalid(c: CheckEstimator<'_>) -> CheckEstimator<'_> {
        let base = DecisionTreeClassifierParams::default;
        c.invalid(base().max_depth(0), "max_depth")
            .invalid(base().min_samples_split(1), "min_samples_split")
            .invalid(base().min_samples_leaf(0), "min_samples_leaf")
            .invalid(base().max_features(MaxFeatures::Count(0)), "max_features")
            .invalid(
                base().max_features(MaxFeatures::Fraction(1.5)),
                "max_features",
            )
            .invalid(
                base().class_weight(ClassWeight::Map([("c0".to_string(), -1.0)].into())),
                "class_weight",
            )
            .invalid(base().ccp_alpha(f64::NAN), "ccp_alpha")
            .invalid(base().max_leaf_nodes(1), "max_leaf_nodes")
    }
    let base = DecisionTreeClassifierParams::default;
    let configs = [
        base(),
        base().criterion(Criterion::Entropy).max_depth(4),
        base()
            .max_features(MaxFeatures::Rule(FeatureRule::Sqrt))
            .random_state(3),
        base().min_samples_leaf(3).min_samples_split(8),
        base().ccp_alpha(0.01),
        base().max_leaf_nodes(6),
    ];
    // min_samples_leaf / min_samples_split count rows, not weight (as scikit-learn), so
    // integer weights equal repeated rows only with their defaults.
    for p in &configs {
        let plain = p.min_samples_leaf == 1 && p.min_samples_split == 2;
        weighted(
            invalid(CheckEstimator::new(p, &reg)).data(penguins()),
            plain,
        )
        .run();
        weighted(
            CheckEstimator::new(p, &reg).data(classification_data(120, 4, 3, 5)),
            plain,
        )
        .run();
    }
    // Balanced class weights come from unweighted class counts (as scikit-learn), so integer
    // weights are not repeated rows there: no sample-weight check.
    let balanced = base().class_weight(serde_json::from_str("\"balanced\"").unwrap());
    invalid(CheckEstimator::new(&balanced, &reg))
        .data(penguins())
        .run();
}

#[test]
fn regressor_conformance() {
    let reg = smelt_trees::registry();
    let base = DecisionTreeRegressorParams::default;
    let configs = [
        base(),
        base().max_depth(5),
        base().max_features(MaxFeatures::Count(3)).random_state(9),
        base().min_samples_leaf(4).min_samples_split(10),
        base().criterion(RegressionCriterion::AbsoluteError),
        base()
            .criterion(RegressionCriterion::AbsoluteError)
            .max_depth(4)
            .ccp_alpha(0.01),
        base().ccp_alpha(0.005),
        base().max_leaf_nodes(10),
    ];
    for p in &configs {
        // Row counts, not weights, bound the leaves (as scikit-learn): see the classifier.
        // Absolute errors tie exactly between split positions, and which one wins is decided
        // by rounding (as in scikit-learn), which differs between weights and repeated rows.
        let plain = p.min_samples_leaf == 1
            && p.min_samples_split == 2
            && p.criterion != RegressionCriterion::AbsoluteError;
        weighted(CheckEstimator::new(p, &reg), plain)
            .data(housing())
            .invalid(base().max_depth(0), "max_depth")
            .invalid(base().min_samples_split(0), "min_samples_split")
            .invalid(base().min_samples_leaf(0), "min_samples_leaf")
            .invalid(
                base().max_features(MaxFeatures::Fraction(0.0)),
                "max_features",
            )
            .invalid(base().ccp_alpha(-1.0), "ccp_alpha")
            .invalid(base().max_leaf_nodes(0), "max_leaf_nodes")
            .run();
    }
}

#[test]
fn params_parse_sklearn_spellings() {
    let p: DecisionTreeClassifierParams = serde_json::from_str(
        r#"{"criterion": "log_loss", "max_depth": 3, "max_features": "log2",
            "class_weight": "balanced", "random_state": 4}"#,
    )
    .unwrap();
    assert_eq!(p.max_features, Some(MaxFeatures::Rule(FeatureRule::Log2)));
    assert!(matches!(p.class_weight, Some(ClassWeight::Balanced(_))));
    let p: DecisionTreeRegressorParams =
        serde_json::from_str(r#"{"max_features": 0.5, "max_depth": null}"#).unwrap();
    assert_eq!(p.max_features, Some(MaxFeatures::Fraction(0.5)));
    let p: DecisionTreeRegressorParams = serde_json::from_str(r#"{"max_features": 2}"#).unwrap();
    assert_eq!(p.max_features, Some(MaxFeatures::Count(2)));
    let p: DecisionTreeRegressorParams =
        serde_json::from_str(r#"{"criterion": "absolute_error", "ccp_alpha": 0.5}"#).unwrap();
    assert_eq!(p.criterion, RegressionCriterion::AbsoluteError);
    assert_eq!(p.ccp_alpha, 0.5);
    let p: DecisionTreeRegressorParams =
        serde_json::from_str(r#"{"criterion": "friedman_mse"}"#).unwrap();
    assert_eq!(p.criterion, RegressionCriterion::FriedmanMse);
    assert!(serde_json::from_str::<DecisionTreeRegressorParams>(r#"{"alpha": 1}"#).is_err());
}

#[test]
fn bad_input() {
    let data = penguins();
    // More features asked for than there are.
    let err = DecisionTreeClassifierParams::default()
        .max_features(MaxFeatures::Count(99))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, CoreError::BadParam { .. }), "{err:?}");
    // A class weight for a class that does not exist.
    let err = DecisionTreeClassifierParams::default()
        .class_weight(ClassWeight::Map([("nope".to_string(), 2.0)].into()))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, CoreError::BadParam { .. }), "{err:?}");
    // A single class.
    let Some(smelt_core::Target::Classification { codes, .. }) = data.target() else {
        panic!("classification fixture")
    };
    let one: Vec<usize> = (0..data.n_rows()).filter(|&i| codes[i] == 0).collect();
    assert!(matches!(
        DecisionTreeClassifierParams::default().fit(&data.select_rows(&one).unwrap()),
        Err(CoreError::SingleClass { .. })
    ));
    // A missing value: rejected with the feature named.
    let mut values: Vec<f64> = (0..data.n_features())
        .flat_map(|j| data.column(j).to_vec())
        .collect();
    values[3] = f64::NAN;
    let with_nan = Dataset::new(
        data.n_rows(),
        values,
        data.features().to_vec(),
        Some(("y".into(), data.target().unwrap().clone())),
    )
    .unwrap();
    assert!(matches!(
        DecisionTreeClassifierParams::default().fit(&with_nan),
        Err(CoreError::MissingValues { .. })
    ));
    // Regression target to a classifier and vice versa.
    assert!(matches!(
        DecisionTreeClassifierParams::default().fit(&housing()),
        Err(CoreError::WrongTask { .. })
    ));
    assert!(matches!(
        DecisionTreeRegressorParams::default().fit(&data),
        Err(CoreError::WrongTask { .. })
    ));
}

#[test]
fn max_features_subsets_change_with_seed_and_pure_data_is_one_leaf() {
    let data = housing();
    let fit = |s: u64| {
        DecisionTreeRegressorParams::default()
            .max_features(MaxFeatures::Count(2))
            .max_depth(4)
            .random_state(s)
            .fit(&data)
            .unwrap()
    };
    assert_eq!(fit(1).tree(), fit(1).tree());
    assert!((0..5).any(|s| fit(s).tree() != fit(s + 5).tree()));
    // A constant target: nothing to split.
    let n = 10;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let d = Dataset::new(
        n,
        x,
        vec![smelt_testkit::numeric("x")],
        Some((
            "y".into(),
            smelt_core::Target::Regression {
                values: vec![2.5; n],
            },
        )),
    )
    .unwrap();
    let m = DecisionTreeRegressorParams::default().fit(&d).unwrap();
    assert_eq!(m.tree().node_count(), 1);
    let Prediction::Regression { values } = m.predict(&d).unwrap() else {
        panic!()
    };
    assert!(values.iter().all(|&v| v == 2.5));
}
