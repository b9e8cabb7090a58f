//! Lasso, ElasticNet and their paths against scikit-learn (fixtures from
//! `tools/fixtures/enet.py`), and through the conformance suite.
//!
//! Both sides solve to a duality gap of `1e-10·‖y‖²`. With cyclic selection the sweeps are
//! scikit-learn's (Smelt's Gram-matrix form when there are more rows than features, the
//! residual form otherwise, both equal in exact arithmetic to scikit-learn's), so the
//! coefficients, intercepts, predictions and paths agree to 1e-8 relative (+1e-9 absolute;
//! measured: ~1e-13), `n_iter` is identical and the final duality gaps agree to 1 %.
//! Random selection draws from a different generator, so only the solution is compared, at
//! 1e-4 relative + 1e-6 absolute (measured: ~5e-9).

use smelt_core::{CoreError, Fit, Prediction, Predictor};
use smelt_learn::linear::{
    ElasticNetParams, EnetPathParams, LassoParams, Selection, enet_path, lasso_path,
};
use smelt_testkit::{CheckEstimator, Fixture, FixtureCase, assert_close, regression_data};

/// Cyclic selection: the same iterates as scikit-learn.
const RTOL: f64 = 1e-8;
const ATOL: f64 = 1e-9;
/// Random selection: only the optimum is shared.
const RTOL_RANDOM: f64 = 1e-4;
const ATOL_RANDOM: f64 = 1e-6;

fn check_model(
    case: &FixtureCase,
    coef: &[f64],
    intercept: f64,
    pred: Prediction,
    n_iter: usize,
    gap: f64,
    random: bool,
) {
    let what = |k: &str| format!("{}: {k}", case.name);
    let (atol, rtol) = if random {
        (ATOL_RANDOM, RTOL_RANDOM)
    } else {
        (ATOL, RTOL)
    };
    assert_close(&what("coef"), coef, &case.vec("coef"), atol, rtol);
    assert_close(
        &what("intercept"),
        &[intercept],
        &[case.scalar("intercept")],
        atol,
        rtol,
    );
    let Prediction::Regression { values } = pred else {
        panic!("regression expected")
    };
    assert_close(&what("predict"), &values, &case.vec("predict"), atol, rtol);
    assert!(
        gap.is_finite() && gap <= 1e-9,
        "{}: dual gap {gap}",
        case.name
    );
    if !random {
        // Same algorithm, same stopping rule: the sweep count agrees to within a few sweeps
        // (ill-conditioned cases such as l1_ratio = 0 move by a few sweeps when the data
        // differs in the last bit).
        let expected = case.scalar("n_iter") as usize;
        assert!(
            n_iter.abs_diff(expected) <= 2 + expected / 20,
            "{}: n_iter {n_iter}, scikit-learn {expected}",
            case.name
        );
        assert_close(
            &what("dual_gap"),
            &[gap],
            &[case.scalar("dual_gap")],
            1e-13,
            1e-2,
        );
    }
}

fn run_fixture(file: &str, expected_cases: usize) {
    let fx = Fixture::load(crate::fixture(file));
    let data = fx.dataset();
    let mut seen = 0;
    for case in &fx.cases {
        let w = case.sample_weight.as_deref();
        match case.estimator.as_deref() {
            Some("lasso") => {
                let p: LassoParams = case.params();
                let m = p.fit_weighted(&data, w).expect(&case.name);
                let pred = m.predict(&data).expect(&case.name);
                let random = p.selection == Selection::Random;
                check_model(
                    case,
                    m.coef(),
                    m.intercept(),
                    pred,
                    m.n_iter(),
                    m.dual_gap(),
                    random,
                );
            }
            Some("elastic_net") => {
                let p: ElasticNetParams = case.params();
                let m = p.fit_weighted(&data, w).expect(&case.name);
                let pred = m.predict(&data).expect(&case.name);
                let random = p.selection == Selection::Random;
                check_model(
                    case,
                    m.coef(),
                    m.intercept(),
                    pred,
                    m.n_iter(),
                    m.dual_gap(),
                    random,
                );
            }
            Some(kind @ ("enet_path" | "lasso_path")) => {
                let p: EnetPathParams = case.params();
                let path = if kind == "lasso_path" {
                    lasso_path(&data, &p, w)
                } else {
                    enet_path(&data, &p, w)
                }
                .expect(&case.name);
                let what = |k: &str| format!("{}: {k}", case.name);
                assert_close(
                    &what("alphas"),
                    &path.alphas,
                    &case.vec("alphas"),
                    0.0,
                    1e-12,
                );
                let coefs: Vec<f64> = path.coefs.concat();
                assert_close(&what("coefs"), &coefs, &case.vec("coefs"), ATOL, RTOL);
                if case.expected.contains_key("intercepts") {
                    assert_close(
                        &what("intercepts"),
                        &path.intercepts,
                        &case.vec("intercepts"),
                        ATOL,
                        RTOL,
                    );
                } else {
                    assert!(path.intercepts.iter().all(|&b| b == 0.0));
                }
                assert!(
                    path.dual_gaps.iter().all(|&g| g <= 1e-9),
                    "{:?}",
                    path.dual_gaps
                );
            }
            other => panic!("unknown estimator {other:?}"),
        }
        seen += 1;
    }
    assert_eq!(seen, expected_cases);
}

#[test]
fn housing_matches_scikit_learn() {
    run_fixture("enet.json", 18);
}

#[test]
fn breast_cancer_wide_matches_scikit_learn() {
    // 28 rows, 30 features: the residual (non-Gram) solver.
    run_fixture("enet_cancer.json", 6);
}

#[test]
fn path_point_equals_the_estimator() {
    let data = regression_data(60, 4, 11);
    let w: Vec<f64> = (0..60).map(|i| 1.0 + (i % 4) as f64).collect();
    let params = EnetPathParams::default()
        .l1_ratio(0.6)
        .n_alphas(6)
        .fit_intercept(true)
        .tol(1e-12)
        .max_iter(100_000);
    let path = enet_path(&data, &params, Some(&w)).unwrap();
    for (k, &alpha) in path.alphas.iter().enumerate() {
        let m = ElasticNetParams::default()
            .alpha(alpha)
            .l1_ratio(0.6)
            .tol(1e-12)
            .max_iter(100_000)
            .fit_weighted(&data, Some(&w))
            .unwrap();
        assert_close("coef", m.coef(), &path.coefs[k], 1e-8, 1e-6);
        assert_close(
            "intercept",
            &[m.intercept()],
            &[path.intercepts[k]],
            1e-8,
            1e-6,
        );
    }
    // At alpha_max every coefficient is zero.
    assert!(path.coefs[0].iter().all(|&c| c == 0.0));
}

#[test]
fn lasso_is_elastic_net_with_l1_ratio_one() {
    let data = regression_data(50, 5, 3);
    let a = LassoParams::default().alpha(0.3).fit(&data).unwrap();
    let b = ElasticNetParams::default()
        .alpha(0.3)
        .l1_ratio(1.0)
        .fit(&data)
        .unwrap();
    assert_eq!(a.coef(), b.coef());
    assert_eq!(a.intercept(), b.intercept());
    assert_eq!(a.n_iter(), b.n_iter());
}

#[test]
fn path_rejects_bad_parameters() {
    let data = regression_data(20, 2, 1);
    let err = enet_path(&data, &EnetPathParams::default().l1_ratio(0.0), None).unwrap_err();
    assert!(
        matches!(&err, CoreError::Params(e) if e[0].param == "l1_ratio"),
        "{err}"
    );
    // With explicit alphas, l1_ratio = 0 (ridge) is fine.
    let ok = enet_path(
        &data,
        &EnetPathParams::default().l1_ratio(0.0).alphas(&[1.0, 0.1]),
        None,
    )
    .unwrap();
    assert_eq!(ok.alphas, vec![1.0, 0.1]);
    let err = enet_path(
        &data,
        &EnetPathParams::default()
            .eps(0.0)
            .n_alphas(0)
            .alphas(&[-1.0]),
        None,
    )
    .unwrap_err();
    let CoreError::Params(errs) = err else {
        panic!("parameter error expected")
    };
    let params: Vec<_> = errs.iter().map(|e| e.param).collect();
    assert_eq!(params, ["eps", "n_alphas", "alphas"]);
}

#[test]
fn non_convergence_reports_max_iter() {
    let data = regression_data(200, 6, 5);
    let m = LassoParams::default()
        .alpha(1e-4)
        .tol(1e-15)
        .max_iter(2)
        .fit(&data)
        .unwrap();
    assert_eq!(m.n_iter(), 2);
    assert!(m.dual_gap() > 0.0);
}

#[test]
fn classification_target_is_an_error() {
    let data = smelt_testkit::classification_data(30, 2, 2, 1);
    let err = LassoParams::default().fit(&data).unwrap_err();
    assert!(matches!(err, CoreError::WrongTask { .. }), "{err}");
}

#[test]
fn conformance_lasso() {
    let reg = smelt_learn::registry();
    for (selection, positive) in [
        (Selection::Cyclic, false),
        (Selection::Random, false),
        (Selection::Cyclic, true),
    ] {
        let p = LassoParams::default()
            .alpha(0.1)
            .selection(selection)
            .positive(positive);
        CheckEstimator::new(&p, &reg)
            .data(regression_data(40, 3, 4))
            .invalid(LassoParams::default().alpha(-1.0), "alpha")
            .invalid(LassoParams::default().tol(-1.0), "tol")
            .invalid(LassoParams::default().tol(f64::NAN), "tol")
            .invalid(LassoParams::default().max_iter(0), "max_iter")
            .sample_weight()
            .run();
    }
    // Fewer rows than features: the residual solver.
    CheckEstimator::new(&LassoParams::default().alpha(0.05), &reg)
        .data(regression_data(8, 12, 5))
        .sample_weight()
        .run();
}

#[test]
fn conformance_elastic_net() {
    let reg = smelt_learn::registry();
    for l1_ratio in [0.0, 0.5, 1.0] {
        let p = ElasticNetParams::default().alpha(0.2).l1_ratio(l1_ratio);
        CheckEstimator::new(&p, &reg)
            .data(regression_data(40, 3, 6))
            .invalid(ElasticNetParams::default().alpha(-0.1), "alpha")
            .invalid(ElasticNetParams::default().l1_ratio(1.5), "l1_ratio")
            .invalid(ElasticNetParams::default().l1_ratio(-0.1), "l1_ratio")
            .invalid(ElasticNetParams::default().tol(-1e-3), "tol")
            .invalid(ElasticNetParams::default().max_iter(0), "max_iter")
            .sample_weight()
            .run();
    }
    CheckEstimator::new(
        &ElasticNetParams::default().selection(Selection::Random),
        &reg,
    )
    .data(regression_data(10, 15, 7))
    .sample_weight()
    .run();
}
