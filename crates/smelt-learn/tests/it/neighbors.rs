//! k-nearest neighbours against scikit-learn (fixtures from `tools/fixtures/nbknn.py`), kd-tree
//! vs brute force, ties, the conformance suite and bad input.
//!
//! Tolerances: neighbour indices identical; distances 1e-9 relative (both compute
//! `Σ (q_j - t_j)²` exactly for the returned neighbours); uniform-weight probabilities exact
//! (1e-15), distance-weighted ones and regression predictions 1e-12 relative.

// Test helpers (not #[test] fns themselves) unwrap too: a failure is the test failing.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor, Target};
use smelt_learn::neighbors::{
    Algorithm, KNeighborsClassifierParams, KNeighborsRegressorParams, Metric, Weights,
};
use smelt_testkit::{
    CheckEstimator, Fixture, assert_close, classification_data, numeric, regression_data,
};

/// The fixture's held-out query rows (`x_query`) as a dataset without target.
fn queries(file: &str, fx: &Fixture) -> Dataset<f64> {
    let text = std::fs::read_to_string(crate::fixture(file)).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let rows: Vec<Vec<f64>> = serde_json::from_value(v["x_query"].clone()).unwrap();
    let (n, p) = (rows.len(), fx.feature_names.len());
    let mut values = vec![0.0; n * p];
    for (i, r) in rows.iter().enumerate() {
        for (j, x) in r.iter().enumerate() {
            values[j * n + i] = *x;
        }
    }
    let feats = fx.feature_names.iter().map(|f| numeric(f)).collect();
    Dataset::new(n, values, feats, None).unwrap()
}

fn fit_method(case: &smelt_testkit::FixtureCase) -> String {
    case.expected["fit_method"].as_str().unwrap().to_string()
}

#[test]
fn classifier_matches_scikit_learn_on_breast_cancer() {
    let file = "neighbors_cancer.json";
    let fx = Fixture::load(crate::fixture(file));
    let (data, q) = (fx.dataset(), queries(file, &fx));
    for case in &fx.cases {
        let what = |k: &str| format!("{}: {k}", case.name);
        let p: KNeighborsClassifierParams = case.params();
        let m = p.fit(&data).unwrap();
        assert_eq!(m.fit_method(), fit_method(case), "{}", what("fit_method"));
        let (dist, ind) = m.kneighbors(&q, p.n_neighbors).unwrap();
        let ind: Vec<f64> = ind.iter().map(|&i| i as f64).collect();
        assert_eq!(ind, case.vec("kneighbors_indices"), "{}", what("indices"));
        assert_close(
            &what("distances"),
            &dist,
            &case.vec("kneighbors_distances"),
            1e-12,
            1e-9,
        );
        let tol = if p.weights == Weights::Uniform {
            1e-15
        } else {
            1e-12
        };
        let Prediction::Classification { labels, proba, .. } = m.predict(&q).unwrap() else {
            panic!()
        };
        let expected: Vec<u32> = case.vec("predict").iter().map(|v| *v as u32).collect();
        assert_eq!(labels, expected, "{}", what("predict"));
        assert_close(
            &what("proba"),
            &proba.unwrap().values,
            &case.vec("proba"),
            tol,
            0.0,
        );
        // On the training rows (each its own neighbour at distance 0). scikit-learn's brute
        // force computes that distance as ‖x‖² + ‖x‖² - 2 x·x, a tiny positive number, so with
        // distance weights its proba is only nearly one-hot; ours is exactly (the kd-tree's).
        let train = m.predict_proba(&data).unwrap();
        let expected = case.vec("proba_train");
        let atol = if fit_method(case) == "brute" && p.weights == Weights::Distance {
            1e-6
        } else {
            tol
        };
        assert_close(&what("proba_train"), &train.values, &expected, atol, 0.0);
        if p.weights == Weights::Distance {
            let Some(Target::Classification { codes, .. }) = data.target() else {
                panic!()
            };
            for (i, &c) in codes.iter().enumerate() {
                assert_eq!(train.row(i)[c as usize], 1.0, "{}", what("exact match"));
            }
        }
    }
}

#[test]
fn regressor_matches_scikit_learn_on_housing() {
    let file = "neighbors_housing.json";
    let fx = Fixture::load(crate::fixture(file));
    let (data, q) = (fx.dataset(), queries(file, &fx));
    for case in &fx.cases {
        let what = |k: &str| format!("{}: {k}", case.name);
        let p: KNeighborsRegressorParams = case.params();
        let m = p.fit(&data).unwrap();
        assert_eq!(m.fit_method(), fit_method(case), "{}", what("fit_method"));
        let (dist, ind) = m.kneighbors(&q, p.n_neighbors).unwrap();
        let ind: Vec<f64> = ind.iter().map(|&i| i as f64).collect();
        assert_eq!(ind, case.vec("kneighbors_indices"), "{}", what("indices"));
        assert_close(
            &what("distances"),
            &dist,
            &case.vec("kneighbors_distances"),
            1e-12,
            1e-9,
        );
        let Prediction::Regression { values } = m.predict(&q).unwrap() else {
            panic!()
        };
        assert_close(
            &what("predict"),
            &values,
            &case.vec("predict"),
            1e-12,
            1e-12,
        );
        // As for the classifier: exact zero self-distance here, nearly zero in scikit-learn's
        // brute force.
        let Prediction::Regression { values } = m.predict(&data).unwrap() else {
            panic!()
        };
        let rtol = if fit_method(case) == "brute" && p.weights == Weights::Distance {
            1e-6
        } else {
            1e-12
        };
        assert_close(
            &what("predict_train"),
            &values,
            &case.vec("predict_train"),
            1e-12,
            rtol,
        );
        if p.weights == Weights::Distance {
            assert_eq!(&values, fx.y.as_ref().unwrap(), "{}", what("exact match"));
        }
    }
}

#[test]
fn kd_tree_and_brute_force_agree() {
    for (n, p, k) in [(3000, 4, 7), (2000, 20, 5), (500, 2, 1), (40, 3, 40)] {
        let train = regression_data(n, p, 11);
        let q = regression_data(300, p, 12);
        for metric in [Metric::Euclidean, Metric::Manhattan] {
            let fit = |a| {
                KNeighborsRegressorParams::default()
                    .n_neighbors(k)
                    .algorithm(a)
                    .metric(metric)
                    .leaf_size(8)
                    .fit(&train)
                    .unwrap()
            };
            let (tree, brute) = (fit(Algorithm::KdTree), fit(Algorithm::Brute));
            let (dt, it) = tree.kneighbors(&q, k).unwrap();
            let (db, ib) = brute.kneighbors(&q, k).unwrap();
            assert_eq!(it, ib, "n={n} p={p} k={k} {metric:?}: indices");
            assert_eq!(dt, db, "n={n} p={p} k={k} {metric:?}: distances");
            for row in dt.chunks(k) {
                assert!(row.windows(2).all(|w| w[0] <= w[1]), "sorted");
            }
        }
    }
}

/// Integer lattice points (many exact ties): both structures return the smallest indices among
/// equidistant rows, so predictions are deterministic and agree.
#[test]
fn ties_resolve_to_the_smaller_training_index() {
    let n = 400;
    let mut values = vec![0.0; n * 2];
    for i in 0..n {
        values[i] = (i % 10) as f64;
        values[n + i] = ((i / 10) % 10) as f64; // every point 4 times
    }
    let y = Target::Regression {
        values: (0..n).map(|i| i as f64).collect(),
    };
    let data = Dataset::new(
        n,
        values,
        vec![numeric("a"), numeric("b")],
        Some(("y".into(), y)),
    )
    .unwrap();
    let q = data.select_rows(&(0..50).collect::<Vec<_>>()).unwrap();
    for k in [1, 3, 6, 9] {
        let fit = |a| {
            KNeighborsRegressorParams::default()
                .n_neighbors(k)
                .algorithm(a)
                .fit(&data)
                .unwrap()
        };
        let (dt, it) = fit(Algorithm::KdTree).kneighbors(&q, k).unwrap();
        let (db, ib) = fit(Algorithm::Brute).kneighbors(&q, k).unwrap();
        assert_eq!(it, ib, "k={k}");
        assert_eq!(dt, db, "k={k}");
        // Reference: sort every training row by (distance, index).
        for (r, row) in it.chunks(k).enumerate() {
            let (qa, qb) = ((r % 10) as f64, ((r / 10) % 10) as f64);
            let mut all: Vec<(f64, usize)> = (0..n)
                .map(|i| {
                    let (a, b) = ((i % 10) as f64, ((i / 10) % 10) as f64);
                    ((a - qa).powi(2) + (b - qb).powi(2), i)
                })
                .collect();
            all.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)));
            let want: Vec<usize> = all[..k].iter().map(|p| p.1).collect();
            assert_eq!(row, &want[..], "query {r}, k={k}");
        }
    }
}

#[test]
fn distance_weights_give_exact_matches_all_the_weight() {
    let data = regression_data(50, 3, 3);
    let Some(Target::Regression { values: y }) = data.target() else {
        unreachable!()
    };
    for a in [Algorithm::KdTree, Algorithm::Brute] {
        let m = KNeighborsRegressorParams::default()
            .weights(Weights::Distance)
            .algorithm(a)
            .fit(&data)
            .unwrap();
        let Prediction::Regression { values } = m.predict(&data).unwrap() else {
            panic!()
        };
        assert_eq!(&values, y, "{a:?}");
    }
}

#[test]
fn conformance_k_neighbors_classifier() {
    let reg = smelt_learn::registry();
    let base = KNeighborsClassifierParams::default;
    for params in [
        base(),
        base().algorithm(Algorithm::KdTree).leaf_size(3),
        base()
            .algorithm(Algorithm::Brute)
            .weights(Weights::Distance)
            .n_neighbors(3),
        base().metric(Metric::Manhattan).weights(Weights::Distance),
        base().p(3.0).algorithm(Algorithm::Brute),
        base().p(1.5).algorithm(Algorithm::KdTree),
    ] {
        CheckEstimator::new(&params, &reg)
            .data(classification_data(60, 3, 3, 7))
            .invalid(base().n_neighbors(0), "n_neighbors")
            .invalid(base().leaf_size(0), "leaf_size")
            .invalid(base().p(0.5), "p")
            .run();
    }
}

#[test]
fn conformance_k_neighbors_regressor() {
    let reg = smelt_learn::registry();
    let base = KNeighborsRegressorParams::default;
    for params in [
        base(),
        base()
            .algorithm(Algorithm::KdTree)
            .weights(Weights::Distance)
            .leaf_size(2),
        base().algorithm(Algorithm::Brute).n_neighbors(2),
        base().metric(Metric::Manhattan),
        base().p(4.0).weights(Weights::Distance),
    ] {
        CheckEstimator::new(&params, &reg)
            .data(regression_data(50, 4, 8))
            .invalid(base().n_neighbors(0), "n_neighbors")
            .invalid(base().p(f64::INFINITY), "p")
            .run();
    }
    // High dimension: "auto" picks brute force (the GEMM path).
    let d = regression_data(80, 20, 9);
    let m = base().fit(&d).unwrap();
    assert_eq!(m.fit_method(), "brute");
    CheckEstimator::new(&base(), &reg).data(d).run();
}

#[test]
fn bad_input_is_a_clear_error() {
    let d = classification_data(6, 2, 2, 1);
    // More neighbours than rows.
    let err = KNeighborsClassifierParams::default()
        .n_neighbors(7)
        .fit(&d)
        .unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::TooFew {
                needed: 7,
                got: 6,
                ..
            }
        ),
        "{err:?}"
    );
    // No sample weights (as scikit-learn).
    let err = KNeighborsClassifierParams::default()
        .n_neighbors(2)
        .fit_weighted(&d, Some(&[1.0; 6]))
        .unwrap_err();
    assert!(matches!(err, CoreError::SampleWeight { .. }), "{err:?}");
    // kneighbors with k out of range.
    let m = KNeighborsClassifierParams::default()
        .n_neighbors(2)
        .fit(&d)
        .unwrap();
    assert!(m.kneighbors(&d, 0).is_err());
    assert!(m.kneighbors(&d, 7).is_err());
    assert_eq!(m.kneighbors(&d, 6).unwrap().1.len(), 36);
    // Wrong task.
    let r = regression_data(10, 2, 1);
    assert!(matches!(
        KNeighborsClassifierParams::default().fit(&r),
        Err(CoreError::WrongTask { .. })
    ));
    // Unknown parameter names are refused by serde.
    let bad: Result<KNeighborsRegressorParams, _> =
        serde_json::from_value(serde_json::json!({"n_neighbours": 3}));
    assert!(bad.is_err());
}
