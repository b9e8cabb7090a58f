//! LogisticRegression against scikit-learn 1.9 (fixtures from `tools/fixtures/logistic.py`),
//! the conformance suite, and bad input.
//!
//! Tolerances: every fixture case is fitted with `tol = 1e-10` in both implementations, so
//! both sit at the optimum; coefficients, intercepts and probabilities must agree to
//! `1e-6 + 1e-5·|ref|` (L-BFGS and SAGA alike; measured: at most 2.5e-7 relative, most cases
//! below 1e-9, see the printed `max |Δ|`); predicted labels are identical.

use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor, Target};
use smelt_learn::linear::{ClassWeight, LogisticRegressionParams, LogisticSolver, Penalty};
use smelt_testkit::{
    CheckEstimator, Fixture, assert_close, classification_data, numeric, regression_data,
};

#[allow(
    clippy::print_stdout,
    reason = "test output: the measured deviation, read when a tolerance is tuned"
)]
fn check_fixture(file: &str, n_cases: usize) {
    let fx = Fixture::load(crate::fixture(file));
    let data = fx.dataset();
    let mut seen = 0;
    for case in &fx.cases {
        assert_eq!(case.estimator.as_deref(), Some("logistic_regression"));
        let p: LogisticRegressionParams = case.params();
        let (atol, rtol) = (1e-6, 1e-5);
        let m = p
            .fit_weighted(&data, case.sample_weight.as_deref())
            .unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert!(
            m.converged(),
            "{}: did not converge in {} iterations",
            case.name,
            m.n_iter()
        );
        let what = |k: &str| format!("{file} {}: {k}", case.name);
        assert_close(&what("coef"), m.coef(), &case.vec("coef"), atol, rtol);
        assert_close(
            &what("intercept"),
            m.intercept(),
            &case.vec("intercept"),
            atol,
            rtol,
        );
        let Prediction::Classification { labels, proba, .. } = m.predict(&data).expect("predict")
        else {
            panic!("classification expected")
        };
        let proba = proba.expect("probabilities");
        assert_close(
            &what("proba"),
            &proba.values,
            &case.vec("proba"),
            atol,
            rtol,
        );
        let expected: Vec<u32> = case.vec("predict").iter().map(|&v| v as u32).collect();
        assert_eq!(labels, expected, "{}: labels", what("predict"));
        // decision_function agrees with the coefficients and the probabilities.
        let dec = m.decision_function(&data).expect("decision_function");
        assert_eq!(dec.len(), data.n_rows() * m.n_outputs());
        let err = |a: &[f64], b: &[f64]| {
            a.iter()
                .zip(b)
                .map(|(x, y)| (x - y).abs() / (1.0 + y.abs()))
                .fold(0.0f64, f64::max)
        };
        println!(
            "{file} {}: n_iter {} (scikit-learn {}), max |Δ|/(1+|ref|): coef {:.1e}, proba {:.1e}",
            case.name,
            m.n_iter(),
            case.scalar("n_iter"),
            err(m.coef(), &case.vec("coef")),
            err(&proba.values, &case.vec("proba")),
        );
        seen += 1;
    }
    assert_eq!(seen, n_cases);
}

#[test]
fn binary_matches_scikit_learn() {
    check_fixture("logistic_binary.json", 8);
}

#[test]
fn multinomial_matches_scikit_learn() {
    check_fixture("logistic_multiclass.json", 7);
}

#[test]
fn unpenalized_matches_scikit_learn() {
    check_fixture("logistic_unpenalized.json", 3);
}

#[test]
fn conformance_lbfgs() {
    let reg = smelt_learn::registry();
    let bad = LogisticRegressionParams::default;
    for k in [2, 3] {
        // The default tol (1e-4 on the gradient) stops weighted and repeated-row fits at
        // slightly different points; the tighter tol compares the optima.
        CheckEstimator::new(&LogisticRegressionParams::default().tol(1e-10), &reg)
            .data(classification_data(60, 3, k, 1))
            .invalid(bad().c(0.0), "C")
            .invalid(bad().c(-1.0), "C")
            .invalid(bad().l1_ratio(1.5), "l1_ratio")
            .invalid(bad().tol(-1e-3), "tol")
            .invalid(bad().l1_ratio(1.0), "solver")
            .invalid(bad().penalty(Penalty::Elasticnet).l1_ratio(0.5), "solver")
            .invalid(
                bad().class_weight(Some(ClassWeight::Map(
                    [("c0".to_string(), -1.0)].into_iter().collect(),
                ))),
                "class_weight",
            )
            .sample_weight()
            .run();
        CheckEstimator::new(
            &LogisticRegressionParams::default()
                .c(0.3)
                .tol(1e-10)
                .fit_intercept(false)
                .class_weight(Some(ClassWeight::Balanced)),
            &reg,
        )
        .data(classification_data(60, 3, k, 2))
        .sample_weight()
        .run();
    }
}

#[test]
fn conformance_unpenalized() {
    // Overlapping classes (a noisy threshold on a regression target): the optimum is finite.
    let reg = smelt_learn::registry();
    let d = regression_data(80, 3, 5);
    let Some(Target::Regression { values }) = d.target() else {
        unreachable!()
    };
    let codes = values
        .iter()
        .map(|&v| u32::from(v > 0.0))
        .collect::<Vec<_>>();
    let noisy: Vec<f64> = d.values().iter().map(|v| v * 0.3).collect();
    let data = Dataset::new(
        80,
        noisy,
        d.features().to_vec(),
        Some((
            "y".into(),
            Target::Classification {
                codes,
                classes: vec!["neg".into(), "pos".into()],
            },
        )),
    )
    .unwrap();
    CheckEstimator::new(
        &LogisticRegressionParams::default()
            .c(f64::INFINITY)
            .tol(1e-8),
        &reg,
    )
    .data(data)
    .run();
}

#[test]
fn conformance_saga() {
    let reg = smelt_learn::registry();
    // Four classes: with three, the suite's weights (row i weighs i % 3) drop class 0 entirely,
    // and its unpenalised intercept then drifts forever, which SAGA's stop never accepts.
    for (k, l1_ratio) in [(2, 1.0), (4, 0.5), (2, 0.0)] {
        CheckEstimator::new(
            &LogisticRegressionParams::default()
                .solver(LogisticSolver::Saga)
                .l1_ratio(l1_ratio)
                .c(0.1)
                .tol(1e-12)
                .max_iter(20000),
            &reg,
        )
        .data(classification_data(60, 3, k, 3))
        .invalid(
            LogisticRegressionParams::default()
                .solver(LogisticSolver::Saga)
                .c(f64::NAN),
            "C",
        )
        .sample_weight()
        .run();
    }
}

#[test]
fn class_weight_equals_sample_weight() {
    let data = classification_data(90, 3, 3, 4);
    let Some(Target::Classification { codes, .. }) = data.target() else {
        unreachable!()
    };
    let map: std::collections::BTreeMap<String, f64> =
        [("c0".to_string(), 2.0), ("c2".to_string(), 0.5)]
            .into_iter()
            .collect();
    let a = LogisticRegressionParams::default()
        .tol(1e-10)
        .class_weight(Some(ClassWeight::Map(map)))
        .fit(&data)
        .unwrap();
    let w: Vec<f64> = codes.iter().map(|&c| [2.0, 1.0, 0.5][c as usize]).collect();
    let b = LogisticRegressionParams::default()
        .tol(1e-10)
        .fit_weighted(&data, Some(&w))
        .unwrap();
    assert_close("coef", a.coef(), b.coef(), 1e-8, 1e-6);
    assert_eq!(a.coef().len(), 9);
    assert_eq!(a.classes(), ["c0", "c1", "c2"]);
}

#[test]
fn stopping_at_max_iter_is_not_an_error() {
    let data = classification_data(60, 3, 3, 6);
    let m = LogisticRegressionParams::default()
        .max_iter(2)
        .tol(1e-12)
        .fit(&data)
        .unwrap();
    assert!(!m.converged());
    assert_eq!(m.n_iter(), 2);
    let m = LogisticRegressionParams::default()
        .solver(LogisticSolver::Saga)
        .max_iter(1)
        .tol(0.0)
        .fit(&data)
        .unwrap();
    assert!(!m.converged());
    assert_eq!(m.n_iter(), 1);
}

#[test]
fn bad_input_is_a_clear_error() {
    let p = LogisticRegressionParams::default();
    // One class.
    let one = classification_data(10, 2, 1, 1);
    assert!(matches!(p.fit(&one), Err(CoreError::SingleClass { .. })));
    // A regression target.
    let reg = regression_data(10, 2, 1);
    assert!(matches!(p.fit(&reg), Err(CoreError::WrongTask { .. })));
    // A class weight for a label the target does not have.
    let data = classification_data(20, 2, 2, 1);
    let map = [("c0".to_string(), 2.0), ("nope".to_string(), 1.0)]
        .into_iter()
        .collect();
    let err = p
        .clone()
        .class_weight(Some(ClassWeight::Map(map)))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    // Weights that cancel every row.
    let w: Vec<f64> = (0..20)
        .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
        .collect();
    let map = [("c0".to_string(), 0.0)].into_iter().collect();
    let err = p
        .clone()
        .class_weight(Some(ClassWeight::Map(map)))
        .fit_weighted(&data, Some(&w))
        .unwrap_err();
    assert!(matches!(err, CoreError::SampleWeight { .. }), "{err}");
    // A categorical feature.
    let mut cat = classification_data(20, 1, 2, 1);
    let f = smelt_core::Feature {
        kind: smelt_core::FeatureKind::Categorical {
            categories: vec!["a".into(), "b".into(), "c".into(), "d".into(), "e".into()],
        },
        ..numeric("x0")
    };
    cat = Dataset::new(
        20,
        cat.values()
            .iter()
            .map(|v| v.abs().floor().min(4.0))
            .collect(),
        vec![f],
        cat.target_name()
            .zip(cat.target())
            .map(|(n, t)| (n.to_string(), t.clone())),
    )
    .unwrap();
    assert!(matches!(p.fit(&cat), Err(CoreError::NotNumeric { .. })));
}
