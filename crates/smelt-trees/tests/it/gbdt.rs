//! Histogram gradient boosting: held-out quality against LightGBM and scikit-learn on real
//! data (fixtures from `tools/fixtures/gbdt.py`), the conformance suite, the losses, native
//! missing values and categories, monotonic constraints, early stopping, and bad input.
//!
//! Tolerances: boosting differs between implementations in binning and tie-breaking, so on
//! these small samples (a few thousand rows; LightGBM and scikit-learn themselves differ by
//! up to 0.006 AUC here) our held-out score must be within 0.01 AUC / 0.02 log-loss /
//! 2 % RMSE of the worse of the two references with the same hyperparameters. The full-size
//! comparison (AUC within 0.002 of LightGBM) is a benchmark: `bench/gbdt.sh`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use crate::split;
use smelt_core::{CoreError, Dataset, Fit, Prediction, Predictor};
use smelt_eval::metrics::{log_loss, rmse, roc_auc};
use smelt_testkit::{CheckEstimator, Fixture, classification_data, regression_data};
use smelt_trees::gbdt::{
    HistGradientBoostingClassifierParams as Clf, HistGradientBoostingRegressorParams as Reg,
    MonotonicCst, RegressionLoss,
};
use smelt_trees::tree::{Balanced, ClassWeight};

fn reference(fx: &Fixture, metric: &str) -> (f64, f64) {
    let s = &fx.meta["scores"];
    (
        s["lightgbm"][metric].as_f64().unwrap(),
        s["sklearn"][metric].as_f64().unwrap(),
    )
}

fn codes(d: &Dataset<f64>) -> Vec<u32> {
    match d.target().unwrap() {
        smelt_core::Target::Classification { codes, .. } => codes.clone(),
        _ => panic!("not a classification target"),
    }
}

fn proba(p: &Prediction) -> &smelt_core::Proba {
    match p {
        Prediction::Classification { proba: Some(p), .. } => p,
        _ => panic!("no probabilities"),
    }
}

fn same_params() -> Clf {
    Clf::default().early_stopping(false)
}

#[test]
fn binary_quality_matches_lightgbm_on_real_data() {
    for file in ["gbdt_credit.json", "gbdt_adult.json"] {
        let fx = Fixture::load(crate::fixture(file));
        let (train, test) = split(&fx);
        let m = same_params().fit(&train).unwrap();
        let pred = m.predict(&test).unwrap();
        let y = codes(&test);
        let p1: Vec<f64> = (0..y.len()).map(|i| proba(&pred).row(i)[1]).collect();
        let auc = roc_auc(&y, &p1, None).unwrap();
        let ll = log_loss(&y, proba(&pred), None).unwrap();
        let (lgb_auc, skl_auc) = reference(&fx, "auc");
        let (lgb_ll, skl_ll) = reference(&fx, "log_loss");
        eprintln!(
            "{file}: auc {auc:.4} (lightgbm {lgb_auc:.4}, sklearn {skl_auc:.4}); log-loss {ll:.4} (lightgbm {lgb_ll:.4}, sklearn {skl_ll:.4})"
        );
        assert!(auc >= lgb_auc.min(skl_auc) - 0.01, "{file}: AUC {auc}");
        assert!(ll <= lgb_ll.max(skl_ll) + 0.02, "{file}: log-loss {ll}");
    }
}

#[test]
fn multiclass_quality_matches_lightgbm() {
    let fx = Fixture::load(crate::fixture("gbdt_penguins.json"));
    let (train, test) = split(&fx);
    let m = same_params().fit(&train).unwrap();
    let pred = m.predict(&test).unwrap();
    let y = codes(&test);
    let ll = log_loss(&y, proba(&pred), None).unwrap();
    let (lgb_ll, skl_ll) = reference(&fx, "log_loss");
    eprintln!("penguins: log-loss {ll:.4} (lightgbm {lgb_ll:.4}, sklearn {skl_ll:.4})");
    assert!(ll <= lgb_ll.max(skl_ll) + 0.02, "log-loss {ll}");
    assert_eq!(m.ensemble().n_groups(), 3);
}

#[test]
fn regression_quality_matches_lightgbm() {
    let fx = Fixture::load(crate::fixture("gbdt_housing.json"));
    let (train, test) = split(&fx);
    let m = Reg::default().early_stopping(false).fit(&train).unwrap();
    let Prediction::Regression { values } = m.predict(&test).unwrap() else {
        panic!()
    };
    let Some(smelt_core::Target::Regression { values: y }) = test.target() else {
        panic!()
    };
    let e = rmse(y, &values, None).unwrap();
    let (lgb, skl) = reference(&fx, "rmse");
    eprintln!("housing: rmse {e:.4} (lightgbm {lgb:.4}, sklearn {skl:.4})");
    assert!(e <= lgb.max(skl) * 1.02, "rmse {e}");
}

#[test]
fn classifier_conformance() {
    let reg = smelt_trees::registry();
    let base = || Clf::default().max_iter(10).min_samples_leaf(3);
    for data in [
        classification_data(120, 3, 2, 1),
        classification_data(150, 4, 3, 2),
    ] {
        CheckEstimator::new(&base(), &reg)
            .data(data)
            .invalid(base().learning_rate(0.0), "learning_rate")
            .invalid(base().max_iter(0), "max_iter")
            .invalid(base().max_leaf_nodes(Some(1)), "max_leaf_nodes")
            .invalid(base().max_bins(256), "max_bins")
            .invalid(base().subsample(0.0), "subsample")
            .invalid(base().l2_regularization(-1.0), "l2_regularization")
            .invalid(
                base().monotonic_cst(MonotonicCst::List(vec![2])),
                "monotonic_cst",
            )
            .sample_weight()
            .run();
    }
}

#[test]
fn regressor_conformance_for_every_loss() {
    let reg = smelt_trees::registry();
    for loss in [
        RegressionLoss::SquaredError,
        RegressionLoss::AbsoluteError,
        RegressionLoss::Huber,
        RegressionLoss::Quantile,
    ] {
        let base = || Reg::default().loss(loss).max_iter(10).min_samples_leaf(3);
        CheckEstimator::new(&base(), &reg)
            .data(regression_data(100, 3, 4))
            .invalid(base().quantile(1.0), "quantile")
            .sample_weight()
            .run();
    }
}

#[test]
fn losses_fit_what_they_target() {
    let data = regression_data(400, 3, 9);
    let Some(smelt_core::Target::Regression { values: y }) = data.target() else {
        panic!()
    };
    let fit = |p: Reg| -> Vec<f64> {
        match p.max_iter(200).fit(&data).unwrap().predict(&data).unwrap() {
            Prediction::Regression { values } => values,
            _ => panic!(),
        }
    };
    // Quantile 0.9: about 90 % of the training targets lie below the prediction.
    let q = fit(Reg::default().loss(RegressionLoss::Quantile).quantile(0.9));
    let below = y.iter().zip(&q).filter(|(a, b)| a <= b).count() as f64 / y.len() as f64;
    assert!((below - 0.9).abs() < 0.05, "quantile 0.9 covers {below}");
    // Absolute error: about half below.
    let m = fit(Reg::default().loss(RegressionLoss::AbsoluteError));
    let below = y.iter().zip(&m).filter(|(a, b)| a <= b).count() as f64 / y.len() as f64;
    assert!((below - 0.5).abs() < 0.1, "median covers {below}");
    // Squared error fits closely.
    let s = fit(Reg::default());
    let spread = rmse(
        y,
        &vec![y.iter().sum::<f64>() / y.len() as f64; y.len()],
        None,
    )
    .unwrap();
    assert!(rmse(y, &s, None).unwrap() < 0.3 * spread);
}

#[test]
fn poisson_predicts_positive_rates_and_rejects_negative_targets() {
    let base = regression_data(300, 2, 5);
    let x0 = base.column(0).to_vec();
    let rate: Vec<f64> = x0.iter().map(|v| (0.5 * v).exp().round()).collect();
    let data = Dataset::new(
        300,
        base.values().to_vec(),
        base.features().to_vec(),
        Some((
            "y".into(),
            smelt_core::Target::Regression {
                values: rate.clone(),
            },
        )),
    )
    .unwrap();
    let m = Reg::default()
        .loss(RegressionLoss::Poisson)
        .fit(&data)
        .unwrap();
    let Prediction::Regression { values } = m.predict(&data).unwrap() else {
        panic!()
    };
    assert!(values.iter().all(|&v| v > 0.0));
    let mean_pred = values.iter().sum::<f64>() / 300.0;
    let mean_y = rate.iter().sum::<f64>() / 300.0;
    assert!(
        (mean_pred - mean_y).abs() < 0.05 * mean_y,
        "{mean_pred} vs {mean_y}"
    );
    let neg: Vec<f64> = rate.iter().map(|v| v - 100.0).collect();
    let bad = Dataset::new(
        300,
        base.values().to_vec(),
        base.features().to_vec(),
        Some(("y".into(), smelt_core::Target::Regression { values: neg })),
    )
    .unwrap();
    let err = Reg::default()
        .loss(RegressionLoss::Poisson)
        .fit(&bad)
        .unwrap_err();
    assert!(err.to_string().contains("non-negative"), "{err}");
}

#[test]
fn monotonic_constraint_orders_predictions() {
    let data = regression_data(500, 2, 3);
    let m = Reg::default()
        .monotonic_cst(MonotonicCst::Map([("x0".to_string(), 1)].into()))
        .fit(&data)
        .unwrap();
    // Sweep x0 with x1 fixed: predictions never decrease.
    let n = 200;
    let mut values = Vec::with_capacity(2 * n);
    values.extend((0..n).map(|i| -3.0 + 6.0 * i as f64 / n as f64));
    values.extend(std::iter::repeat_n(0.3, n));
    let sweep = Dataset::new(n, values, data.features().to_vec(), None).unwrap();
    let Prediction::Regression { values: p } = m.predict(&sweep).unwrap() else {
        panic!()
    };
    assert!(p.windows(2).all(|w| w[1] >= w[0] - 1e-12), "{p:?}");
    let err = Reg::default()
        .monotonic_cst(MonotonicCst::Map([("x9".to_string(), 1)].into()))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("x9"), "{err}");
}

#[test]
fn missing_values_learn_a_direction() {
    // y depends on whether x0 is missing: only the missing bin separates the classes.
    let n = 400;
    let mut x0 = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let missing = i % 3 == 0;
        x0.push(if missing { f64::NAN } else { (i % 7) as f64 });
        y.push(u32::from(missing));
    }
    let f = smelt_testkit::numeric("x0");
    let data = Dataset::new(
        n,
        x0,
        vec![f],
        Some((
            "y".into(),
            smelt_core::Target::Classification {
                codes: y.clone(),
                classes: vec!["a".into(), "b".into()],
            },
        )),
    )
    .unwrap();
    let m = Clf::default().max_iter(20).fit(&data).unwrap();
    let Prediction::Classification { labels, .. } = m.predict(&data).unwrap() else {
        panic!()
    };
    assert_eq!(labels, y);
}

#[test]
fn early_stopping_keeps_the_best_round() {
    let data = classification_data(3000, 5, 2, 11);
    let m = Clf::default()
        .early_stopping(true)
        .max_iter(500)
        .n_iter_no_change(5)
        .fit(&data)
        .unwrap();
    assert!(m.n_iter() < 500);
    let v = m.validation_loss();
    let best = v[1..].iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(v[m.n_iter()], best, "kept round {} of {:?}", m.n_iter(), v);
    assert_eq!(m.ensemble().n_trees(), m.n_iter());
}

#[test]
fn importances_count_splits_and_gain() {
    let data = regression_data(300, 3, 2);
    let m = Reg::default().max_iter(5).fit(&data).unwrap();
    use smelt_trees::gbdt::ImportanceType;
    let split = m.feature_importances(ImportanceType::Split);
    let gain = m.feature_importances(ImportanceType::Gain);
    assert_eq!(split.len(), 3);
    let nodes = m.ensemble().nodes();
    let n_splits = nodes
        .feature
        .iter()
        .filter(|&&f| f != smelt_trees::ensemble::LEAF)
        .count();
    assert_eq!(split.iter().sum::<f64>() as usize, n_splits);
    assert!(gain.iter().all(|&g| g >= 0.0) && gain.iter().sum::<f64>() > 0.0);
}

#[test]
fn bad_input_is_a_clear_error() {
    let data = regression_data(50, 2, 1);
    let err = Clf::default().fit(&data).unwrap_err();
    assert!(matches!(err, CoreError::WrongTask { .. }), "{err:?}");
    let err = Reg::default()
        .monotonic_cst(MonotonicCst::List(vec![1]))
        .fit(&data)
        .unwrap_err();
    assert!(err.to_string().contains("2 features"), "{err}");
    // A single row fits (a constant model) and predicts.
    let one = data.select_rows(&[0]).unwrap();
    let m = Reg::default().fit(&one).unwrap();
    assert_eq!(m.predict(&one).unwrap().len(), 1);
    // Constant and all-missing features fit a constant model.
    let n = 60;
    let mut values = vec![1.0; n];
    values.extend(vec![f64::NAN; n]);
    let feats = vec![smelt_testkit::numeric("c"), smelt_testkit::numeric("m")];
    let y: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let flat = Dataset::new(
        n,
        values,
        feats,
        Some(("y".into(), smelt_core::Target::Regression { values: y })),
    )
    .unwrap();
    let m = Reg::default().fit(&flat).unwrap();
    let Prediction::Regression { values } = m.predict(&flat).unwrap() else {
        panic!()
    };
    assert!(
        values.iter().all(|&v| (v - 29.5).abs() < 1e-9),
        "{values:?}"
    );
}

#[test]
fn row_and_feature_sampling_are_seeded_and_keep_quality() {
    let fx = Fixture::load(crate::fixture("gbdt_adult.json"));
    let (train, test) = split(&fx);
    let y = codes(&test);
    let auc = |p: Clf| {
        let m = p.fit(&train).unwrap();
        let pred = m.predict(&test).unwrap();
        let p1: Vec<f64> = (0..y.len()).map(|i| proba(&pred).row(i)[1]).collect();
        roc_auc(&y, &p1, None).unwrap()
    };
    let sampled = || {
        same_params()
            .subsample(0.7)
            .colsample_bytree(0.6)
            .random_state(3)
    };
    let a = auc(sampled());
    assert_eq!(a, auc(sampled()), "same seed, same model");
    assert_ne!(a, auc(sampled().random_state(4)), "the seed matters");
    let (lgb_auc, skl_auc) = reference(&fx, "auc");
    assert!(a >= lgb_auc.min(skl_auc) - 0.01, "AUC {a}");
}

#[test]
fn l1_and_l2_shrink_leaves() {
    let data = regression_data(300, 3, 8);
    let Some(smelt_core::Target::Regression { values: y }) = data.target() else {
        panic!()
    };
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let spread = |p: Reg| -> f64 {
        let Prediction::Regression { values } = p.fit(&data).unwrap().predict(&data).unwrap()
        else {
            panic!()
        };
        values.iter().map(|v| (v - mean).abs()).fold(0.0, f64::max)
    };
    let free = spread(Reg::default());
    assert!(spread(Reg::default().l2_regularization(1e3)) < 0.5 * free);
    // An L1 penalty above every leaf's gradient sum zeroes every leaf: the mean remains.
    assert!(spread(Reg::default().l1_regularization(1e9)) < 1e-12);
}

#[test]
fn class_weights_favour_the_weighted_class() {
    let fx = Fixture::load(crate::fixture("gbdt_credit.json"));
    let (train, test) = split(&fx);
    let positives = |p: Clf| {
        let Prediction::Classification { labels, .. } =
            p.fit(&train).unwrap().predict(&test).unwrap()
        else {
            panic!()
        };
        labels.iter().filter(|&&l| l == 0).count()
    };
    // Class 0 ("bad") is the minority: balanced weights predict it more often.
    let plain = positives(same_params());
    let balanced = positives(same_params().class_weight(ClassWeight::Balanced(Balanced::Balanced)));
    assert!(balanced > plain + 50, "{balanced} vs {plain}");
    let err = same_params()
        .class_weight(ClassWeight::Map([("nope".to_string(), 2.0)].into()))
        .fit(&train)
        .unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
}

/// The predictions on the training rows taken from boosting's own margins equal predicting
/// those rows with the fitted model, whatever stopped the boosting: early stopping (rounds
/// after the best dropped), a converged round, row sampling, every loss, multi-class, NaN and
/// categories. Rows left out by a zero weight leave it unknown; a loaded model never knows.
#[test]
fn training_predictions_from_the_margins_equal_predicting_the_training_rows() {
    fn close(a: &Prediction, b: &Prediction, what: &str) {
        let (x, y): (Vec<f64>, Vec<f64>) = match (a, b) {
            (Prediction::Regression { values: x }, Prediction::Regression { values: y }) => {
                (x.clone(), y.clone())
            }
            (
                Prediction::Classification {
                    proba: Some(pa), ..
                },
                Prediction::Classification {
                    proba: Some(pb), ..
                },
            ) => (pa.values.clone(), pb.values.clone()),
            _ => panic!("{what}: different kinds"),
        };
        assert_eq!(x.len(), y.len(), "{what}");
        let worst = x
            .iter()
            .zip(&y)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f64::max);
        assert!(worst < 1e-12, "{what}: off by {worst}");
    }
    let binary = classification_data(3000, 5, 2, 11);
    let multi = classification_data(1500, 4, 3, 12);
    let cases: Vec<(&str, Box<dyn Predictor>, &Dataset<f64>)> = vec![
        (
            "early stopping",
            Box::new(
                Clf::default()
                    .early_stopping(true)
                    .max_iter(500)
                    .n_iter_no_change(5)
                    .fit(&binary)
                    .unwrap(),
            ),
            &binary,
        ),
        (
            "sampled rows",
            Box::new(
                same_params()
                    .max_iter(30)
                    .subsample(0.6)
                    .colsample_bytree(0.7)
                    .fit(&binary)
                    .unwrap(),
            ),
            &binary,
        ),
        (
            "multi-class, early stopping",
            Box::new(
                Clf::default()
                    .early_stopping(true)
                    .max_iter(200)
                    .fit(&multi)
                    .unwrap(),
            ),
            &multi,
        ),
    ];
    let reg = regression_data(800, 3, 9);
    let mut cases = cases;
    for loss in [
        RegressionLoss::SquaredError,
        RegressionLoss::AbsoluteError,
        RegressionLoss::Huber,
        RegressionLoss::Quantile,
    ] {
        cases.push((
            "a regression loss",
            Box::new(
                Reg::default()
                    .loss(loss)
                    .early_stopping(true)
                    .max_iter(80)
                    .fit(&reg)
                    .unwrap(),
            ),
            &reg,
        ));
    }
    // Converged: one feature that cannot split past a few rounds' worth of leaves.
    let tiny = regression_data(30, 1, 3);
    cases.push((
        "converged",
        Box::new(
            Reg::default()
                .early_stopping(false)
                .min_samples_leaf(20)
                .max_iter(50)
                .fit(&tiny)
                .unwrap(),
        ),
        &tiny,
    ));
    for (what, m, data) in &cases {
        let known = m.training_prediction().unwrap_or_else(|| panic!("{what}"));
        close(&known, &m.predict(data).unwrap(), what);
    }
    // Zero-weight rows are left out of the fit: not known.
    let mut w = vec![1.0; binary.n_rows()];
    w[7] = 0.0;
    let m = same_params()
        .max_iter(5)
        .fit_weighted(&binary, Some(&w))
        .unwrap();
    assert!(m.training_prediction().is_none());
    // Saved and loaded: not known.
    let dir = tempfile::tempdir().unwrap();
    smelt_core::artifact::save(cases[0].1.as_ref(), dir.path(), serde_json::json!({})).unwrap();
    let loaded = smelt_core::artifact::load(dir.path(), &smelt_trees::registry()).unwrap();
    assert!(loaded.model.training_prediction().is_none());
}
