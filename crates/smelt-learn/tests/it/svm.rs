//! Support vector machines against scikit-learn (fixtures from `tools/fixtures/svm.py`), and
//! every configuration through `CheckEstimator`.
//!
//! Tolerances: both sides solve to a tight tolerance (libsvm `tol = 1e-8`, liblinear
//! `tol = 1e-10`); decision values, dual coefficients and intercepts agree within
//! `1e-6 + 1e-6·|expected|` (SVC, SVR; measured ≤ 5e-10 absolute, the fixtures' rounding),
//! LinearSVC `coef`, intercepts and decision values within `1e-5 + 1e-5·|expected|` (measured
//! ≤ 3e-6 relative); predicted labels, the number of support vectors and the support
//! indices are identical. Platt probabilities come from libsvm's internal 5-fold CV, whose
//! folds depend on libsvm's own RNG, so they cannot match exactly: the test asks that the
//! log-loss be within 20 % (+0.01) of scikit-learn's and that the most probable class equal
//! the predicted class on at least 90 % of the rows (scikit-learn itself does not guarantee
//! 100 %).

use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor, Target};
use smelt_learn::svm::{
    ClassWeight, DecisionShape, Dual, Gamma, Kernel, LinearSVCParams, LinearSvcLoss, SVCParams,
    SVRParams,
};
use smelt_testkit::{
    CheckEstimator, Fixture, FixtureCase, assert_close, classification_data, regression_data,
};

/// libsvm problems (SVC, SVR): the fixtures hold 10 significant digits and the two solvers
/// land on the same optimum, so decision values agree to ~5e-10; 1e-6 leaves room for
/// platform differences.
const TOL: f64 = 1e-6;
/// LinearSVC: the primal Newton solver stops on a relative gradient norm, a little before
/// liblinear's trust-region solver; coefficients agree to ~1e-6 relative.
const LINEAR_TOL: f64 = 1e-5;

/// scikit-learn's `support_` indexes the rows left after dropping zero-weight rows; Smelt's
/// indexes the training rows.
fn expected_support(case: &FixtureCase) -> Vec<f64> {
    let sup = case.vec("support");
    match &case.sample_weight {
        None => sup,
        Some(w) => {
            let kept: Vec<usize> = (0..w.len()).filter(|&i| w[i] > 0.0).collect();
            sup.iter().map(|&t| kept[t as usize] as f64).collect()
        }
    }
}

fn labels_of(p: &Prediction) -> Vec<f64> {
    match p {
        Prediction::Classification { labels, .. } => labels.iter().map(|&l| l as f64).collect(),
        other => panic!("classification expected, got {other:?}"),
    }
}

fn check_svc(case: &FixtureCase, data: &Dataset<f64>) {
    let w = case.sample_weight.as_deref();
    let what = |k: &str| format!("{}: {k}", case.name);
    let p: SVCParams = case.params();
    let m = p.fit_weighted(data, w).expect("fit");
    let pred = m.predict(data).expect("predict");
    assert_eq!(labels_of(&pred), case.vec("predict"), "{}", what("predict"));
    let ns: Vec<f64> = m.n_support().iter().map(|&v| v as f64).collect();
    assert_eq!(ns, case.vec("n_support"), "{}", what("n_support"));
    let sup: Vec<f64> = m.support().iter().map(|&v| v as f64).collect();
    assert_eq!(sup, expected_support(case), "{}", what("support"));
    let dec = m.decision_function(data).expect("decision_function");
    assert_close(
        &what("decision_function"),
        &dec,
        &case.vec("decision_function"),
        TOL,
        TOL,
    );
    assert_close(
        &what("dual_coef"),
        &m.dual_coef(),
        &case.vec("dual_coef"),
        TOL,
        TOL,
    );
    assert_close(
        &what("intercept"),
        &m.intercept(),
        &case.vec("intercept"),
        TOL,
        TOL,
    );
    if case.expected.contains_key("log_loss") {
        let Prediction::Classification {
            labels,
            proba: Some(proba),
            ..
        } = &pred
        else {
            panic!("{}", what("probabilities expected"))
        };
        let Some(Target::Classification { codes, .. }) = data.target() else {
            panic!("classification fixture")
        };
        let ll = -codes
            .iter()
            .enumerate()
            .map(|(i, &c)| proba.row(i)[c as usize].max(1e-15).ln())
            .sum::<f64>()
            / codes.len() as f64;
        let expected = case.scalar("log_loss");
        assert!(
            (ll - expected).abs() <= 0.2 * expected + 0.01,
            "{}: log-loss {ll} vs scikit-learn's {expected}",
            case.name
        );
        let agree = proba
            .argmax()
            .iter()
            .zip(labels)
            .filter(|(a, b)| a == b)
            .count() as f64
            / labels.len() as f64;
        assert!(
            agree >= 0.9,
            "{}: argmax of proba agrees with predict on {agree}",
            case.name
        );
    }
}

fn check_linear_svc(case: &FixtureCase, data: &Dataset<f64>) {
    let w = case.sample_weight.as_deref();
    let what = |k: &str| format!("{}: {k}", case.name);
    let p: LinearSVCParams = case.params();
    let m = p.fit_weighted(data, w).expect("fit");
    assert_close(
        &what("coef"),
        m.coef(),
        &case.vec("coef"),
        LINEAR_TOL,
        LINEAR_TOL,
    );
    assert_close(
        &what("intercept"),
        m.intercept(),
        &case.vec("intercept"),
        LINEAR_TOL,
        LINEAR_TOL,
    );
    let dec = m.decision_function(data).expect("decision_function");
    assert_close(
        &what("decision_function"),
        &dec,
        &case.vec("decision_function"),
        LINEAR_TOL,
        LINEAR_TOL,
    );
    let pred = m.predict(data).expect("predict");
    assert_eq!(labels_of(&pred), case.vec("predict"), "{}", what("predict"));
}

fn classification_fixture(file: &str) -> usize {
    let fx = Fixture::load(crate::fixture(file));
    let data = fx.dataset();
    for case in &fx.cases {
        match case.estimator.as_deref() {
            Some("svc") => check_svc(case, &data),
            Some("linear_svc") => check_linear_svc(case, &data),
            other => panic!("unknown estimator {other:?}"),
        }
    }
    fx.cases.len()
}

#[test]
fn svc_and_linear_svc_match_scikit_learn_on_breast_cancer() {
    assert_eq!(classification_fixture("svm_breast_cancer.json"), 16);
}

#[test]
fn svc_and_linear_svc_match_scikit_learn_on_penguins() {
    assert_eq!(classification_fixture("svm_penguins.json"), 18);
}

#[test]
fn svc_and_linear_svc_match_scikit_learn_on_iris() {
    assert_eq!(classification_fixture("svm_iris.json"), 18);
}

#[test]
fn svr_matches_scikit_learn_on_housing() {
    let fx = Fixture::load(crate::fixture("svm_housing.json"));
    let data = fx.dataset();
    for case in &fx.cases {
        let what = |k: &str| format!("{}: {k}", case.name);
        let p: SVRParams = case.params();
        let m = p
            .fit_weighted(&data, case.sample_weight.as_deref())
            .unwrap();
        let Prediction::Regression { values } = m.predict(&data).unwrap() else {
            panic!("regression expected")
        };
        assert_close(&what("predict"), &values, &case.vec("predict"), TOL, TOL);
        assert_eq!(
            m.support().len() as f64,
            case.scalar("n_support"),
            "{}",
            what("n_support")
        );
        let sup: Vec<f64> = m.support().iter().map(|&v| v as f64).collect();
        assert_eq!(sup, expected_support(case), "{}", what("support"));
        assert_close(
            &what("dual_coef"),
            m.dual_coef(),
            &case.vec("dual_coef"),
            TOL,
            TOL,
        );
        assert_close(
            &what("intercept"),
            &[m.intercept()],
            &case.vec("intercept"),
            TOL,
            TOL,
        );
    }
    assert_eq!(fx.cases.len(), 7);
}

#[test]
fn probabilities_are_deterministic_given_random_state() {
    let data = classification_data(60, 2, 3, 4);
    let fit = |seed| {
        SVCParams::default()
            .probability(true)
            .random_state(seed)
            .fit(&data)
            .unwrap()
    };
    let (a, b) = (fit(3), fit(3));
    assert_eq!(a.prob_a(), b.prob_a());
    assert_eq!(a.prob_b(), b.prob_b());
    assert_ne!(
        a.prob_a(),
        fit(4).prob_a(),
        "another seed draws other folds"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    // A single class.
    let mut one = classification_data(20, 2, 2, 1);
    one = one
        .select_rows(&(0..20).step_by(2).collect::<Vec<_>>())
        .unwrap();
    for err in [
        SVCParams::default().fit(&one).unwrap_err(),
        LinearSVCParams::default().fit(&one).unwrap_err(),
    ] {
        assert!(matches!(err, CoreError::SingleClass { .. }), "{err:?}");
    }
    // Weights that remove every row of one class.
    let data = classification_data(20, 2, 2, 1);
    let w: Vec<f64> = (0..20).map(|i| (i % 2) as f64).collect();
    let err = SVCParams::default()
        .fit_weighted(&data, Some(&w))
        .unwrap_err();
    assert!(matches!(err, CoreError::SingleClass { .. }), "{err:?}");
    // Wrong task.
    let reg = regression_data(20, 2, 1);
    assert!(matches!(
        SVCParams::default().fit(&reg).unwrap_err(),
        CoreError::WrongTask { .. }
    ));
    assert!(matches!(
        SVRParams::default().fit(&data).unwrap_err(),
        CoreError::WrongTask { .. }
    ));
    // A class weight for an unknown class.
    let mut map = std::collections::BTreeMap::new();
    map.insert("nope".to_string(), 2.0);
    let err = SVCParams::default()
        .class_weight(ClassWeight::Weights(map))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("class_weight"), "{err}");
    // hinge loss has no primal solver.
    let err = LinearSVCParams::default()
        .loss(LinearSvcLoss::Hinge)
        .dual(Dual::False)
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("`dual`"), "{err}");
}

#[test]
fn params_use_scikit_learn_spellings() {
    let p: SVCParams = serde_json::from_value(serde_json::json!({
        "C": 2.0, "gamma": "auto", "kernel": "poly", "max_iter": -1,
        "class_weight": {"a": 2.0}, "decision_function_shape": "ovo"
    }))
    .unwrap();
    assert_eq!(p.c, 2.0);
    assert_eq!(p.gamma, Gamma::Auto);
    assert_eq!(p.kernel, Kernel::Poly);
    assert_eq!(p.max_iter, None);
    assert_eq!(p.decision_function_shape, DecisionShape::Ovo);
    let back = serde_json::to_value(&p).unwrap();
    assert_eq!(back["gamma"], "auto");
    assert_eq!(back["max_iter"], -1);
    let s: SVRParams = serde_json::from_value(serde_json::json!({"gamma": 0.5})).unwrap();
    assert_eq!(s.gamma, Gamma::Value(0.5));
    let l: LinearSVCParams =
        serde_json::from_value(serde_json::json!({"dual": false, "loss": "hinge"})).unwrap();
    assert_eq!((l.dual, l.loss), (Dual::False, LinearSvcLoss::Hinge));
    assert!(serde_json::from_value::<SVCParams>(serde_json::json!({"gamma": "x"})).is_err());
    assert!(
        serde_json::from_value::<LinearSVCParams>(serde_json::json!({"penalty": "l1"})).is_err()
    );
}

#[test]
fn tiny_cache_gives_the_same_model() {
    // A cache too small for the kernel matrix forces evictions and recomputation.
    let data = classification_data(300, 3, 2, 9);
    let big = SVCParams::default().tol(1e-8).fit(&data).unwrap();
    let small = SVCParams::default()
        .tol(1e-8)
        .cache_size(0.001)
        .fit(&data)
        .unwrap();
    let (a, b) = (
        big.decision_function(&data).unwrap(),
        small.decision_function(&data).unwrap(),
    );
    assert_close("decision", &a, &b, 1e-6, 1e-6);
}

// Conformance.

fn svc_invalid(c: CheckEstimator<'_>) -> CheckEstimator<'_> {
    c.invalid(SVCParams::default().c(0.0), "C")
        .invalid(SVCParams::default().c(-1.0), "C")
        .invalid(SVCParams::default().gamma(Gamma::Value(-0.1)), "gamma")
        .invalid(SVCParams::default().tol(0.0), "tol")
        .invalid(SVCParams::default().degree(usize::MAX), "degree")
        .invalid(SVCParams::default().cache_size(0.0), "cache_size")
        .invalid(SVCParams::default().max_iter(0), "max_iter")
        .invalid(SVCParams::default().coef0(f64::NAN), "coef0")
}

#[test]
fn svc_conformance() {
    let reg = smelt_learn::registry();
    // Tight tolerance, so that weighted and repeated-row fits reach the same optimum, and a
    // fixed gamma ("scale" depends on the variance, which repeating rows changes).
    let tight = SVCParams::default().tol(1e-10).gamma(Gamma::Value(0.3));
    let configs = [
        tight.clone(),
        tight.clone().kernel(Kernel::Linear),
        tight.clone().kernel(Kernel::Poly).coef0(1.0),
        tight
            .clone()
            .kernel(Kernel::Sigmoid)
            .gamma(Gamma::Value(0.1)),
        tight.clone().break_ties(true),
        tight.clone().class_weight(ClassWeight::Balanced),
        tight.clone().shrinking(false),
    ];
    for (k, p) in configs.iter().enumerate() {
        for n_classes in [2, 3] {
            svc_invalid(CheckEstimator::new(p, &reg))
                .data(classification_data(45, 3, n_classes, 10 + k as u64))
                .sample_weight()
                .run();
        }
    }
    // With probabilities the internal CV folds differ between weighted and repeated rows, so
    // the sample-weight check (equal probabilities) does not apply.
    for (k, p) in [
        SVCParams::default().probability(true),
        SVCParams::default()
            .kernel(Kernel::Linear)
            .probability(true),
        SVCParams::default().kernel(Kernel::Poly).probability(true),
    ]
    .iter()
    .enumerate()
    {
        for n_classes in [2, 3] {
            svc_invalid(CheckEstimator::new(p, &reg))
                .data(classification_data(45, 3, n_classes, 20 + k as u64))
                .run();
        }
    }
}

#[test]
fn svr_conformance() {
    let reg = smelt_learn::registry();
    let tight = SVRParams::default().tol(1e-10).gamma(Gamma::Value(0.3));
    for p in [
        tight.clone(),
        tight.clone().kernel(Kernel::Linear),
        tight.clone().kernel(Kernel::Poly).coef0(1.0),
        tight.clone().epsilon(0.0).shrinking(false),
        // Every row inside the tube: no support vectors, a constant prediction.
        tight.clone().epsilon(1e3),
    ] {
        CheckEstimator::new(&p, &reg)
            .data(regression_data(40, 3, 5))
            .invalid(SVRParams::default().c(0.0), "C")
            .invalid(SVRParams::default().epsilon(-0.1), "epsilon")
            .invalid(SVRParams::default().gamma(Gamma::Value(-1.0)), "gamma")
            .invalid(SVRParams::default().tol(-1.0), "tol")
            .invalid(SVRParams::default().degree(usize::MAX), "degree")
            .sample_weight()
            .run();
    }
}

#[test]
fn linear_svc_conformance() {
    let reg = smelt_learn::registry();
    for p in [
        LinearSVCParams::default(),
        LinearSVCParams::default().dual(Dual::True),
        LinearSVCParams::default().loss(LinearSvcLoss::Hinge),
        LinearSVCParams::default().fit_intercept(false),
    ] {
        for n_classes in [2, 3] {
            CheckEstimator::new(&p, &reg)
                .data(classification_data(45, 3, n_classes, 7))
                .invalid(LinearSVCParams::default().c(0.0), "C")
                .invalid(LinearSVCParams::default().tol(0.0), "tol")
                .invalid(
                    LinearSVCParams::default().intercept_scaling(0.0),
                    "intercept_scaling",
                )
                .invalid(LinearSVCParams::default().max_iter(0), "max_iter")
                .invalid(
                    LinearSVCParams::default()
                        .loss(LinearSvcLoss::Hinge)
                        .dual(Dual::False),
                    "dual",
                )
                .sample_weight()
                .run();
        }
    }
}
