//! Linear models against scikit-learn (fixtures from `tools/fixtures/linear.py`).
//!
//! Tolerances: closed forms (QR, Cholesky, SVD) 1e-6 relative; conjugate gradient 1e-4.

use smelt_core::{Fit, Prediction, Predictor};
use smelt_learn::linear::{LinearRegressionParams, RidgeParams, RidgeSolver};
use smelt_testkit::{Fixture, assert_close};

#[test]
fn linear_and_ridge_match_scikit_learn() {
    let fx = Fixture::load(crate::fixture("linear.json"));
    let data = fx.dataset();
    let mut seen = 0;
    for case in &fx.cases {
        let w = case.sample_weight.as_deref();
        let (coef, intercept, pred, tol) = match case.estimator.as_deref() {
            Some("linear_regression") => {
                let p: LinearRegressionParams = case.params();
                let m = p.fit_weighted(&data, w).unwrap();
                let pred = m.predict(&data).unwrap();
                (m.coef().to_vec(), m.intercept(), pred, 1e-6)
            }
            Some("ridge") => {
                let p: RidgeParams = case.params();
                let tol = if p.solver == RidgeSolver::SparseCg {
                    1e-4
                } else {
                    1e-6
                };
                let m = p.fit_weighted(&data, w).unwrap();
                let pred = m.predict(&data).unwrap();
                (m.coef().to_vec(), m.intercept(), pred, tol)
            }
            other => panic!("unknown estimator {other:?}"),
        };
        let what = |k: &str| format!("{}: {k}", case.name);
        assert_close(&what("coef"), &coef, &case.vec("coef"), 1e-8, tol);
        assert_close(
            &what("intercept"),
            &[intercept],
            &[case.scalar("intercept")],
            1e-8,
            tol,
        );
        if case.expected.contains_key("predict") {
            let Prediction::Regression { values } = pred else {
                panic!("regression expected")
            };
            assert_close(&what("predict"), &values, &case.vec("predict"), 1e-8, tol);
        }
        seen += 1;
    }
    assert_eq!(seen, 10);
}
