//! Naive Bayes against scikit-learn (fixtures from `tools/fixtures/nbknn.py`), the conformance
//! suite, and bad input.
//!
//! Tolerances: closed forms, so fitted arrays and joint log-likelihoods 1e-9 relative,
//! probabilities 1e-9 absolute, labels identical.

// Test helpers (not #[test] fns themselves) unwrap too: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor, Target};
use smelt_learn::naive_bayes::{BernoulliNBParams, GaussianNBParams, MultinomialNBParams};
use smelt_testkit::{
    CheckEstimator, Fixture, FixtureCase, assert_close, classification_data, numeric,
};

const RTOL: f64 = 1e-9;

fn check_prediction(case: &FixtureCase, pred: Prediction, jll: Vec<f64>) {
    let what = |k: &str| format!("{}: {k}", case.name);
    let Prediction::Classification { labels, proba, .. } = pred else {
        panic!("classification expected")
    };
    let expected: Vec<u32> = case.vec("predict").iter().map(|v| *v as u32).collect();
    assert_eq!(labels, expected, "{}", what("predict"));
    let proba = proba.expect("naive Bayes has probabilities");
    assert_close(&what("proba"), &proba.values, &case.vec("proba"), 1e-9, 0.0);
    assert_close(
        &what("joint_log_proba"),
        &jll,
        &case.vec("joint_log_proba"),
        1e-9,
        RTOL,
    );
}

fn run_fixture(file: &str) -> usize {
    let fx = Fixture::load(crate::fixture(file));
    let data = fx.dataset();
    let mut seen = 0;
    for case in &fx.cases {
        let w = case.sample_weight.as_deref();
        let what = |k: &str| format!("{file} {}: {k}", case.name);
        match case.estimator.as_deref() {
            Some("gaussian_nb") => {
                let p: GaussianNBParams = case.params();
                let m = p.fit_weighted(&data, w).unwrap();
                assert_close(&what("theta"), m.theta(), &case.vec("theta"), 1e-12, RTOL);
                assert_close(&what("var"), m.var(), &case.vec("var"), 1e-12, RTOL);
                assert_close(
                    &what("class_prior"),
                    m.class_prior(),
                    &case.vec("class_prior"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("class_count"),
                    m.class_count(),
                    &case.vec("class_count"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("epsilon"),
                    &[m.epsilon()],
                    &[case.scalar("epsilon")],
                    0.0,
                    1e-9,
                );
                check_prediction(
                    case,
                    m.predict(&data).unwrap(),
                    m.predict_joint_log_proba(&data).unwrap(),
                );
                let lp = m.predict_log_proba(&data).unwrap();
                let proba = case.vec("proba");
                for (l, p) in lp.iter().zip(&proba) {
                    assert!((l.exp() - p).abs() < 1e-9, "{}", what("log_proba"));
                }
            }
            Some("multinomial_nb") => {
                let p: MultinomialNBParams = case.params();
                let m = p.fit_weighted(&data, w).unwrap();
                assert_close(
                    &what("feature_count"),
                    m.feature_count(),
                    &case.vec("feature_count"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("class_count"),
                    m.class_count(),
                    &case.vec("class_count"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("feature_log_prob"),
                    m.feature_log_prob(),
                    &case.vec("feature_log_prob"),
                    1e-12,
                    RTOL,
                );
                assert_close(
                    &what("class_log_prior"),
                    m.class_log_prior(),
                    &case.vec("class_log_prior"),
                    1e-12,
                    RTOL,
                );
                check_prediction(
                    case,
                    m.predict(&data).unwrap(),
                    m.predict_joint_log_proba(&data).unwrap(),
                );
            }
            Some("bernoulli_nb") => {
                let p: BernoulliNBParams = case.params();
                let m = p.fit_weighted(&data, w).unwrap();
                assert_close(
                    &what("feature_count"),
                    m.feature_count(),
                    &case.vec("feature_count"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("class_count"),
                    m.class_count(),
                    &case.vec("class_count"),
                    0.0,
                    RTOL,
                );
                assert_close(
                    &what("feature_log_prob"),
                    m.feature_log_prob(),
                    &case.vec("feature_log_prob"),
                    1e-12,
                    RTOL,
                );
                assert_close(
                    &what("class_log_prior"),
                    m.class_log_prior(),
                    &case.vec("class_log_prior"),
                    1e-12,
                    RTOL,
                );
                check_prediction(
                    case,
                    m.predict(&data).unwrap(),
                    m.predict_joint_log_proba(&data).unwrap(),
                );
            }
            other => panic!("unknown estimator {other:?}"),
        }
        seen += 1;
    }
    seen
}

#[test]
fn gaussian_nb_matches_scikit_learn_on_iris_and_penguins() {
    assert_eq!(run_fixture("naive_bayes_iris.json"), 4);
    assert_eq!(run_fixture("naive_bayes_penguins.json"), 2);
}

#[test]
fn multinomial_nb_matches_scikit_learn_on_adult_counts() {
    assert_eq!(run_fixture("naive_bayes_adult.json"), 6);
}

#[test]
fn bernoulli_nb_matches_scikit_learn_on_binarised_breast_cancer() {
    assert_eq!(run_fixture("naive_bayes_cancer.json"), 4);
}

/// `classification_data` with every value made non-negative (counts for MultinomialNB).
fn count_data(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    let d = classification_data(n, p, k, seed);
    let values = d.values().iter().map(|v| v.abs().round()).collect();
    let target = d
        .target_name()
        .zip(d.target())
        .map(|(a, b)| (a.to_string(), b.clone()));
    Dataset::new(n, values, d.features().to_vec(), target).unwrap()
}

#[test]
fn conformance_gaussian_nb() {
    let reg = smelt_learn::registry();
    for params in [
        GaussianNBParams::default(),
        GaussianNBParams::default().priors(vec![0.3, 0.7]),
    ] {
        // Two classes: the suite's weights (i % 3) leave every class some weight, which a
        // class given a prior needs.
        CheckEstimator::new(&params, &reg)
            .data(classification_data(60, 3, 2, 4))
            .invalid(
                GaussianNBParams::default().var_smoothing(-1.0),
                "var_smoothing",
            )
            .invalid(
                GaussianNBParams::default().priors(vec![1.1, -0.1]),
                "priors",
            )
            .invalid(GaussianNBParams::default().priors(vec![0.2, 0.2]), "priors")
            .sample_weight()
            .run();
    }
    // epsilon = var_smoothing · max unweighted variance, as scikit-learn: with a large
    // var_smoothing, integer weights are no longer exactly repeated rows, so no weight check.
    CheckEstimator::new(&GaussianNBParams::default().var_smoothing(1e-2), &reg)
        .data(classification_data(60, 4, 3, 5))
        .run();
}

#[test]
fn conformance_multinomial_nb() {
    let reg = smelt_learn::registry();
    for params in [
        MultinomialNBParams::default(),
        MultinomialNBParams::default().alpha(0.3).fit_prior(false),
        MultinomialNBParams::default().class_prior(Some(vec![0.5, 0.5])),
    ] {
        CheckEstimator::new(&params, &reg)
            .data(count_data(50, 4, 2, 5))
            .invalid(MultinomialNBParams::default().alpha(-1.0), "alpha")
            .invalid(
                MultinomialNBParams::default().class_prior(Some(vec![-1.0, 2.0])),
                "class_prior",
            )
            .sample_weight()
            .run();
    }
}

#[test]
fn conformance_bernoulli_nb() {
    let reg = smelt_learn::registry();
    for params in [
        BernoulliNBParams::default(),
        BernoulliNBParams::default().binarize(Some(2.0)).alpha(0.5),
    ] {
        CheckEstimator::new(&params, &reg)
            .data(classification_data(50, 3, 3, 6))
            .invalid(BernoulliNBParams::default().alpha(f64::NAN), "alpha")
            .invalid(
                BernoulliNBParams::default().binarize(Some(-1.0)),
                "binarize",
            )
            .sample_weight()
            .run();
    }
}

#[test]
fn conformance_bernoulli_nb_on_binary_input() {
    let d = classification_data(50, 3, 3, 6);
    let values = d
        .values()
        .iter()
        .map(|v| if *v > 2.0 { 1.0 } else { 0.0 })
        .collect();
    let target = d
        .target_name()
        .zip(d.target())
        .map(|(a, b)| (a.to_string(), b.clone()));
    let d = Dataset::new(50, values, d.features().to_vec(), target).unwrap();
    // Not the full suite: its constant column (3.0) is not binary, which binarize = None refuses.
    let params = BernoulliNBParams::default().binarize(None).fit_prior(false);
    let w: Vec<f64> = (0..50).map(|i| (i % 3) as f64).collect();
    let rows: Vec<usize> = (0..50)
        .flat_map(|i| std::iter::repeat_n(i, i % 3))
        .collect();
    let a = params
        .fit_weighted(&d, Some(&w))
        .unwrap()
        .predict(&d)
        .unwrap();
    let b = params
        .fit(&d.select_rows(&rows).unwrap())
        .unwrap()
        .predict(&d)
        .unwrap();
    assert!(smelt_testkit::same(&a, &b, 1e-12));
    // Without binarisation the input must be 0/1 (or in [0, 1]).
    let err = params.fit(&classification_data(20, 2, 2, 1)).unwrap_err();
    assert!(err.to_string().contains("binarize"), "{err}");
}

#[test]
fn multinomial_rejects_negative_values_naming_feature_and_row() {
    let mut d = count_data(20, 3, 2, 1);
    let mut values = d.values().to_vec();
    values[20 + 7] = -2.0; // feature x1, row 7
    let target = d
        .target_name()
        .zip(d.target())
        .map(|(a, b)| (a.to_string(), b.clone()));
    d = Dataset::new(20, values, d.features().to_vec(), target).unwrap();
    let err = MultinomialNBParams::default().fit(&d).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("`x1`") && msg.contains("row 7") && msg.contains("negative"),
        "{msg}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    // One class.
    let one = Dataset::new(
        3,
        vec![1.0, 2.0, 3.0],
        vec![numeric("x")],
        Some((
            "y".into(),
            Target::Classification {
                codes: vec![0, 0, 0],
                classes: vec!["a".into()],
            },
        )),
    )
    .unwrap();
    assert!(matches!(
        GaussianNBParams::default().fit(&one),
        Err(CoreError::SingleClass { .. })
    ));
    assert!(matches!(
        MultinomialNBParams::default().fit(&one),
        Err(CoreError::SingleClass { .. })
    ));
    // Priors of the wrong length name the parameter.
    let d = classification_data(30, 2, 3, 2);
    match GaussianNBParams::default().priors(vec![0.5, 0.5]).fit(&d) {
        Err(CoreError::Params(e)) => assert_eq!(e[0].param, "priors"),
        other => panic!("{other:?}"),
    }
    match BernoulliNBParams::default()
        .class_prior(Some(vec![1.0]))
        .fit(&d)
    {
        Err(CoreError::Params(e)) => assert_eq!(e[0].param, "class_prior"),
        other => panic!("{other:?}"),
    }
    // Every feature constant and no smoothing: zero variance is an error, not NaN.
    let flat = Dataset::new(
        4,
        vec![1.0; 4],
        vec![numeric("x")],
        Some((
            "y".into(),
            Target::Classification {
                codes: vec![0, 1, 0, 1],
                classes: vec!["a".into(), "b".into()],
            },
        )),
    )
    .unwrap();
    let err = GaussianNBParams::default().fit(&flat).unwrap_err();
    assert!(err.to_string().contains("zero variance"), "{err}");
    // A prior for a class without rows: no distribution to give it.
    let d3 = classification_data(30, 2, 3, 2);
    let w: Vec<f64> = (0..30)
        .map(|i| if i % 3 == 0 { 0.0 } else { 1.0 })
        .collect();
    let err = GaussianNBParams::default()
        .priors(vec![0.2, 0.3, 0.5])
        .fit_weighted(&d3, Some(&w))
        .unwrap_err();
    assert!(err.to_string().contains("no training rows"), "{err}");
    // Regression target.
    let reg = smelt_testkit::regression_data(10, 2, 1);
    assert!(matches!(
        GaussianNBParams::default().fit(&reg),
        Err(CoreError::WrongTask { .. })
    ));
}

#[test]
fn a_class_without_rows_is_kept_with_zero_probability() {
    let d = classification_data(30, 2, 2, 3);
    let Some(Target::Classification { codes, .. }) = d.target() else {
        unreachable!()
    };
    let target = Target::Classification {
        codes: codes.clone(),
        classes: vec!["c0".into(), "c1".into(), "c2".into()],
    };
    let d = Dataset::new(
        30,
        d.values().to_vec(),
        d.features().to_vec(),
        Some(("y".into(), target)),
    )
    .unwrap();
    for pred in [
        GaussianNBParams::default()
            .fit(&d)
            .unwrap()
            .predict(&d)
            .unwrap(),
        MultinomialNBParams::default()
            .fit(&count_data(30, 2, 2, 3))
            .unwrap()
            .predict(&count_data(30, 2, 2, 3))
            .unwrap(),
        BernoulliNBParams::default()
            .fit(&d)
            .unwrap()
            .predict(&d)
            .unwrap(),
    ] {
        let Prediction::Classification {
            labels,
            proba: Some(p),
            classes,
        } = pred
        else {
            panic!()
        };
        if classes.len() == 3 {
            assert!((0..p.n_rows()).all(|i| p.row(i)[2] == 0.0));
            assert!(labels.iter().all(|&l| l < 2));
        }
    }
}
