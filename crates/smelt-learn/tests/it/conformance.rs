//! Every estimator of this crate through `smelt_testkit::CheckEstimator`.

use smelt_learn::linear::{LinearRegressionParams, RidgeParams, RidgeSolver};
use smelt_testkit::{CheckEstimator, regression_data};

#[test]
fn linear_regression() {
    CheckEstimator::new(&LinearRegressionParams::default(), &smelt_learn::registry())
        .data(regression_data(40, 3, 1))
        .sample_weight()
        .run();
}

#[test]
fn ridge() {
    let reg = smelt_learn::registry();
    for solver in [RidgeSolver::Auto, RidgeSolver::Svd, RidgeSolver::SparseCg] {
        CheckEstimator::new(&RidgeParams::default().solver(solver), &reg)
            .data(regression_data(40, 3, 2))
            .invalid(RidgeParams::default().alpha(-0.5), "alpha")
            .invalid(RidgeParams::default().tol(0.0), "tol")
            .sample_weight()
            .run();
    }
}
