//! Forests against scikit-learn (fixtures from `tools/fixtures/forest.py`), the exact
//! single-tree equivalence, the conformance suite, determinism and bad input.
//!
//! Bootstrap samples and feature draws cannot follow numpy's random streams, so forests are
//! compared by score: the fixtures record scikit-learn's mean (and spread) over
//! `random_state` 0..7 of the held-out score and of the out-of-bag score, and Smelt's forest
//! (`random_state` 0) must be within **0.03 accuracy** (classifiers: 5 of breast cancer's
//! 169 held-out rows, 3 of penguins' 103) or **0.02 R²** (regressors) of that mean, for both.
//! The exact check: a random forest of one tree with `bootstrap = false` and all features is
//! the decision tree (same node sizes, impurities to 1e-12, probabilities / predictions to
//! 1e-12).

// Test helpers (not #[test] fns themselves) unwrap too: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use crate::split;
use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor, Target};
use smelt_testkit::{CheckEstimator, Fixture, assert_close, classification_data};
use smelt_trees::forest::{
    ClassWeightPreset, ExtraTreesClassifierParams, ExtraTreesRegressorParams, ForestClassWeight,
    MaxSamples, RandomForestClassifierParams, RandomForestRegressorParams,
};
use smelt_trees::tree::{DecisionTreeClassifierParams, DecisionTreeRegressorParams, MaxFeatures};

const ACCURACY_MARGIN: f64 = 0.03;
const R2_MARGIN: f64 = 0.02;

fn accuracy(p: &Prediction, data: &Dataset<f64>) -> f64 {
    let (Prediction::Classification { labels, .. }, Some(Target::Classification { codes, .. })) =
        (p, data.target())
    else {
        panic!("classification expected")
    };
    labels.iter().zip(codes).filter(|(a, b)| a == b).count() as f64 / codes.len() as f64
}

fn r2(p: &Prediction, data: &Dataset<f64>) -> f64 {
    let (Prediction::Regression { values }, Some(Target::Regression { values: y })) =
        (p, data.target())
    else {
        panic!("regression expected")
    };
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let res: f64 = y.iter().zip(values).map(|(a, b)| (a - b).powi(2)).sum();
    1.0 - res / tot
}

#[allow(
    clippy::print_stderr,
    reason = "test output: the measured deviation, read when a tolerance is tuned"
)]
fn within(what: &str, got: f64, mean: f64, std: f64, margin: f64) {
    eprintln!("{what}: smelt {got:.4}, scikit-learn {mean:.4} ± {std:.4}");
    assert!(
        (got - mean).abs() <= margin,
        "{what}: smelt {got:.4} vs scikit-learn {mean:.4} ± {std:.4} (margin {margin})"
    );
}

fn run_fixture(file: &str) -> usize {
    let fx = Fixture::load(crate::fixture(file));
    let (train, test) = split(&fx);
    for case in &fx.cases {
        let w = case.sample_weight.as_deref();
        let what = |k: &str| format!("{file} {} {k}", case.name);
        let (mean, std) = (case.scalar("score_mean"), case.scalar("score_std"));
        let oob = case
            .expected
            .contains_key("oob_mean")
            .then(|| (case.scalar("oob_mean"), case.scalar("oob_std")));
        let (score, oob_score, margin) = match case.estimator.as_deref() {
            Some("random_forest_classifier") => {
                let m = case
                    .params::<RandomForestClassifierParams>()
                    .fit_weighted(&train, w)
                    .unwrap();
                let s = accuracy(&m.predict(&test).unwrap(), &test);
                (s, m.oob_score(), ACCURACY_MARGIN)
            }
            Some("extra_trees_classifier") => {
                let m = case
                    .params::<ExtraTreesClassifierParams>()
                    .fit_weighted(&train, w)
                    .unwrap();
                let s = accuracy(&m.predict(&test).unwrap(), &test);
                (s, m.oob_score(), ACCURACY_MARGIN)
            }
            Some("random_forest_regressor") => {
                let m = case
                    .params::<RandomForestRegressorParams>()
                    .fit_weighted(&train, w)
                    .unwrap();
                (
                    r2(&m.predict(&test).unwrap(), &test),
                    m.oob_score(),
                    R2_MARGIN,
                )
            }
            Some("extra_trees_regressor") => {
                let m = case
                    .params::<ExtraTreesRegressorParams>()
                    .fit_weighted(&train, w)
                    .unwrap();
                (
                    r2(&m.predict(&test).unwrap(), &test),
                    m.oob_score(),
                    R2_MARGIN,
                )
            }
            other => panic!("unknown estimator {other:?}"),
        };
        within(&what("held-out score"), score, mean, std, margin);
        assert_eq!(oob.is_some(), oob_score.is_some(), "{}", what("oob"));
        if let (Some((om, os)), Some(got)) = (oob, oob_score) {
            within(&what("oob score"), got, om, os, margin);
        }
    }
    fx.cases.len()
}

#[test]
fn classifiers_score_like_sklearn_breast_cancer() {
    assert!(run_fixture("forest_breast_cancer.json") >= 7);
}

#[test]
fn classifiers_score_like_sklearn_penguins() {
    assert!(run_fixture("forest_penguins.json") >= 4);
}

#[test]
fn regressors_score_like_sklearn_housing() {
    assert!(run_fixture("forest_housing.json") >= 5);
}

#[test]
fn one_tree_without_bootstrap_is_the_decision_tree() {
    // Configurations whose tree scikit-learn's refits with other seeds agree on (no exact
    // ties between features, which the random feature order would break differently).
    for (file, leaf) in [("tree_breast_cancer.json", 20), ("tree_penguins.json", 5)] {
        let (train, test) = split(&Fixture::load(crate::fixture(file)));
        let forest = RandomForestClassifierParams::default()
            .n_estimators(1)
            .bootstrap(false)
            .max_features(None)
            .min_samples_leaf(leaf)
            .fit(&train)
            .unwrap();
        let tree = DecisionTreeClassifierParams::default()
            .min_samples_leaf(leaf)
            .fit(&train)
            .unwrap();
        let (f, t) = (&forest.trees().unwrap()[0], tree.tree());
        assert_eq!(f.n_node_samples, t.n_node_samples, "{file}");
        assert_close(file, &f.impurity, &t.impurity, 1e-12, 0.0);
        assert_close(
            file,
            &forest.predict_proba(&test).unwrap(),
            &tree.predict_proba(&test).unwrap(),
            1e-12,
            0.0,
        );
        // The same partition can come from different (equally good) features.
        if f.feature == t.feature {
            assert_close(
                file,
                &forest.feature_importances(),
                &tree.feature_importances(),
                1e-9,
                0.0,
            );
        }
    }
    let (train, test) = split(&Fixture::load(crate::fixture("tree_housing.json")));
    let forest = RandomForestRegressorParams::default()
        .n_estimators(1)
        .bootstrap(false)
        .min_samples_leaf(5)
        .fit(&train)
        .unwrap();
    let tree = DecisionTreeRegressorParams::default()
        .min_samples_leaf(5)
        .fit(&train)
        .unwrap();
    assert_eq!(
        forest.trees().unwrap()[0].n_node_samples,
        tree.tree().n_node_samples
    );
    let (Prediction::Regression { values: a }, Prediction::Regression { values: b }) =
        (forest.predict(&test).unwrap(), tree.predict(&test).unwrap())
    else {
        panic!("regression expected")
    };
    assert_close("housing", &a, &b, 1e-12, 1e-12);
}

fn penguins() -> Dataset<f64> {
    split(&Fixture::load(crate::fixture("forest_penguins.json"))).0
}

fn housing() -> Dataset<f64> {
    let d = split(&Fixture::load(crate::fixture("forest_housing.json"))).0;
    d.select_rows(&(0..300).collect::<Vec<_>>()).unwrap()
}

#[test]
fn classifier_conformance() {
    let reg = smelt_trees::registry();
    let rf = RandomForestClassifierParams::default;
    let et = ExtraTreesClassifierParams::default;
    let bad_weight = ForestClassWeight::Map([("c0".to_string(), -1.0)].into());
    for p in [
        rf().n_estimators(10),
        rf().n_estimators(10).oob_score(true).max_depth(4),
        rf().n_estimators(8)
            .class_weight(ForestClassWeight::Preset(
                ClassWeightPreset::BalancedSubsample,
            ))
            .max_samples(MaxSamples::Fraction(0.7)),
    ] {
        for data in [penguins(), classification_data(120, 4, 3, 5)] {
            CheckEstimator::new(&p, &reg)
                .data(data)
                .invalid(rf().n_estimators(0), "n_estimators")
                .invalid(rf().bootstrap(false).oob_score(true), "oob_score")
                .invalid(
                    rf().bootstrap(false).max_samples(MaxSamples::Count(5)),
                    "max_samples",
                )
                .invalid(rf().max_samples(MaxSamples::Fraction(1.5)), "max_samples")
                .invalid(rf().class_weight(bad_weight.clone()), "class_weight")
                .invalid(rf().min_samples_leaf(0), "min_samples_leaf")
                .run();
        }
    }
    // Extra trees without bootstrap: integer weights are repeated rows.
    for p in [
        et().n_estimators(10),
        et().n_estimators(10)
            .criterion(smelt_trees::tree::Criterion::Entropy),
    ] {
        for data in [penguins(), classification_data(120, 4, 3, 5)] {
            CheckEstimator::new(&p, &reg)
                .data(data)
                .sample_weight()
                .invalid(et().n_estimators(0), "n_estimators")
                .invalid(et().oob_score(true), "oob_score")
                .invalid(
                    et().max_features(Some(MaxFeatures::Count(0))),
                    "max_features",
                )
                .run();
        }
    }
}

#[test]
fn regressor_conformance() {
    let reg = smelt_trees::registry();
    let rf = RandomForestRegressorParams::default;
    let et = ExtraTreesRegressorParams::default;
    for p in [
        rf().n_estimators(10),
        rf().n_estimators(10)
            .oob_score(true)
            .max_features(Some(MaxFeatures::Count(3))),
        rf().n_estimators(6).max_leaf_nodes(12).ccp_alpha(0.001),
    ] {
        CheckEstimator::new(&p, &reg)
            .data(housing())
            .invalid(rf().n_estimators(0), "n_estimators")
            .invalid(rf().bootstrap(false).oob_score(true), "oob_score")
            .invalid(rf().max_samples(MaxSamples::Count(0)), "max_samples")
            .invalid(rf().max_depth(0), "max_depth")
            .invalid(rf().max_leaf_nodes(1), "max_leaf_nodes")
            .run();
    }
    for p in [
        et().n_estimators(10),
        et().n_estimators(10).max_depth(5),
        et().n_estimators(5)
            .criterion(smelt_trees::tree::RegressionCriterion::AbsoluteError)
            .ccp_alpha(0.001),
    ] {
        CheckEstimator::new(&p, &reg)
            .data(housing())
            .sample_weight()
            .invalid(et().n_estimators(0), "n_estimators")
            .invalid(et().min_samples_split(1), "min_samples_split")
            .invalid(et().ccp_alpha(-0.5), "ccp_alpha")
            .run();
    }
}

#[test]
fn fits_are_the_same_whatever_the_thread_count() {
    let data = penguins();
    let fit = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let rf = RandomForestClassifierParams::default()
                .n_estimators(12)
                .oob_score(true)
                .random_state(7)
                .fit(&data)
                .unwrap();
            let et = ExtraTreesRegressorParams::default()
                .n_estimators(6)
                .random_state(7)
                .fit(&housing())
                .unwrap();
            (rf, et)
        })
    };
    let (a, b) = (fit(1), fit(3));
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    // Another seed gives another forest.
    let other = RandomForestClassifierParams::default()
        .n_estimators(12)
        .oob_score(true)
        .random_state(8)
        .fit(&data)
        .unwrap();
    assert_ne!(other.trees().unwrap(), a.0.trees().unwrap());
}

#[test]
fn oob_and_importances_are_kept_and_saved() {
    let data = penguins();
    let m = RandomForestClassifierParams::default()
        .n_estimators(20)
        .oob_score(true)
        .fit(&data)
        .unwrap();
    let k = m.classes().len();
    let oob = m.oob_decision_function().unwrap();
    assert_eq!(oob.len(), data.n_rows() * k);
    // With 20 trees every row is out of some bag: each row is a probability vector.
    for row in oob.chunks(k) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }
    let imp = m.feature_importances();
    assert_eq!(imp.len(), data.n_features());
    assert!((imp.iter().sum::<f64>() - 1.0).abs() < 1e-12);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    smelt_core::artifact::save(&m, &path, serde_json::Value::Null).unwrap();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path.join("model.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["model"]["oob_score"].as_f64(),
        m.oob_score(),
        "oob_score in model.json"
    );
    assert!(manifest["model"]["oob_decision_function"]["$array"].is_string());
    // One tree: most rows are in its bag, and those have no out-of-bag prediction (zeros,
    // as scikit-learn).
    let one = RandomForestRegressorParams::default()
        .n_estimators(1)
        .oob_score(true)
        .fit(&housing())
        .unwrap();
    let pred = one.oob_prediction().unwrap();
    assert!(pred.contains(&0.0) && pred.iter().any(|&v| v != 0.0));
}

#[test]
fn bad_input() {
    let data = penguins();
    let rf = RandomForestClassifierParams::default().n_estimators(5);
    // More features than there are.
    let err = rf
        .clone()
        .max_features(Some(MaxFeatures::Count(99)))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, CoreError::BadParam { .. }), "{err:?}");
    // A class weight for a class that does not exist.
    let err = rf
        .clone()
        .class_weight(ForestClassWeight::Map([("nope".to_string(), 2.0)].into()))
        .fit(&data)
        .unwrap_err();
    assert!(matches!(err, CoreError::BadParam { .. }), "{err:?}");
    // A single row: one class, an error naming it; the regressor predicts the row's value.
    let one = data.select_rows(&[0]).unwrap();
    assert!(matches!(rf.fit(&one), Err(CoreError::SingleClass { .. })));
    let h = housing();
    let row = h.select_rows(&[3]).unwrap();
    let m = RandomForestRegressorParams::default()
        .n_estimators(4)
        .fit(&row)
        .unwrap();
    let Some(Target::Regression { values: y }) = row.target() else {
        panic!()
    };
    assert_eq!(
        m.predict(&h).unwrap(),
        Prediction::Regression {
            values: vec![y[0]; h.n_rows()]
        }
    );
    // Constant features: every tree is one leaf, predicting the class fractions.
    let n = 40;
    let codes: Vec<u32> = (0..n).map(|i| u32::from(i % 4 == 0)).collect();
    let d = Dataset::new(
        n,
        vec![1.5; 2 * n],
        vec![smelt_testkit::numeric("a"), smelt_testkit::numeric("b")],
        Some((
            "y".into(),
            Target::Classification {
                codes,
                classes: vec!["no".into(), "yes".into()],
            },
        )),
    )
    .unwrap();
    let m = ExtraTreesClassifierParams::default()
        .n_estimators(3)
        .fit(&d)
        .unwrap();
    assert!(m.trees().unwrap().iter().all(|t| t.node_count() == 1));
    assert_close(
        "constant",
        &m.predict_proba(&d).unwrap()[..2],
        &[0.75, 0.25],
        1e-12,
        0.0,
    );
    assert_eq!(m.feature_importances(), vec![0.0, 0.0]);
    // Wrong task and zero class weights.
    assert!(matches!(
        rf.fit(&housing()),
        Err(CoreError::WrongTask { .. })
    ));
    let zero = ForestClassWeight::Map(m.classes().iter().map(|c| (c.clone(), 0.0)).collect());
    assert!(matches!(
        RandomForestClassifierParams::default()
            .class_weight(zero)
            .fit(&d),
        Err(CoreError::SampleWeight { .. })
    ));
}

#[test]
fn params_parse_sklearn_spellings() {
    let p: RandomForestClassifierParams = serde_json::from_str(
        r#"{"n_estimators": 10, "max_features": null, "class_weight": "balanced_subsample",
            "max_samples": 0.5, "oob_score": true}"#,
    )
    .unwrap();
    assert_eq!(p.max_features, None);
    assert_eq!(p.max_samples, Some(MaxSamples::Fraction(0.5)));
    assert_eq!(
        p.class_weight,
        Some(ForestClassWeight::Preset(
            ClassWeightPreset::BalancedSubsample
        ))
    );
    let p = ExtraTreesRegressorParams::default();
    assert_eq!(p.max_features, Some(MaxFeatures::Fraction(1.0)));
    assert!(!p.bootstrap);
    assert!(RandomForestRegressorParams::default().bootstrap);
    assert!(serde_json::from_str::<ExtraTreesClassifierParams>(r#"{"n_jobs": 2}"#).is_err());
}

#[test]
fn forests_loaded_for_inference_predict_the_same_from_a_fraction_of_the_memory() {
    let reg = smelt_trees::registry();
    let cls = classification_data(3000, 6, 3, 11);
    let models: Vec<Box<dyn Predictor>> = vec![
        Box::new(
            RandomForestClassifierParams::default()
                .n_estimators(20)
                .fit(&cls)
                .unwrap(),
        ),
        Box::new(
            ExtraTreesClassifierParams::default()
                .n_estimators(10)
                .fit(&penguins())
                .unwrap(),
        ),
        Box::new(
            RandomForestRegressorParams::default()
                .n_estimators(10)
                .oob_score(true)
                .fit(&housing())
                .unwrap(),
        ),
        Box::new(
            ExtraTreesRegressorParams::default()
                .n_estimators(10)
                .fit(&housing())
                .unwrap(),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (i, m) in models.iter().enumerate() {
        let path = dir.path().join(format!("m{i}"));
        smelt_core::artifact::save(m.as_ref(), &path, serde_json::Value::Null).unwrap();
        let whole = smelt_core::artifact::load(&path, &reg).unwrap().model;
        let lean = smelt_core::artifact::load_for_inference(&path, &reg)
            .unwrap()
            .model;
        let data = if i < 1 {
            cls.clone()
        } else if i == 1 {
            penguins()
        } else {
            housing()
        };
        // Bit-identical predictions and importances.
        let (a, b) = (whole.predict(&data).unwrap(), lean.predict(&data).unwrap());
        assert_eq!(format!("{a:?}"), format!("{b:?}"), "model {i}");
        assert_eq!(
            whole.feature_importances(),
            lean.feature_importances(),
            "model {i}"
        );
        // It keeps what prediction reads, so it cannot be saved (nothing is written).
        let again = dir.path().join(format!("again{i}"));
        let err =
            smelt_core::artifact::save(lean.as_ref(), &again, serde_json::Value::Null).unwrap_err();
        assert!(
            matches!(err, CoreError::InferenceOnly { .. }),
            "model {i}: {err}"
        );
        assert!(err.to_string().contains("inference only"), "{err}");
        assert!(!again.exists());
    }
    // The random forest classifier's trees are refused whole, and its layout is small: 8 bytes
    // a node and a table of leaf values far smaller than the leaves.
    let path = dir.path().join("m0");
    let lean = smelt_core::artifact::load_for_inference(&path, &reg)
        .unwrap()
        .model;
    let lean = lean
        .as_any()
        .unwrap()
        .downcast_ref::<smelt_trees::forest::RandomForestClassifier>()
        .unwrap();
    assert!(matches!(lean.trees(), Err(CoreError::InferenceOnly { .. })));
    let whole = models[0]
        .as_any()
        .unwrap()
        .downcast_ref::<smelt_trees::forest::RandomForestClassifier>()
        .unwrap();
    let nodes: usize = whole.trees().unwrap().iter().map(|t| t.node_count()).sum();
    assert_eq!(whole.inference_bytes(), lean.inference_bytes());
    assert!(
        lean.inference_bytes() < 8 * nodes + 8 * 20 + nodes,
        "{} bytes for {nodes} nodes",
        lean.inference_bytes()
    );
}
