//! Calibration against scikit-learn's `CalibratedClassifierCV`, saved models, thresholds.

use smelt_core::{Predictor, Target};
use smelt_eval::calibrate::threshold::{Objective, Thresholded, positive_proba, tune_threshold};
use smelt_eval::calibrate::{Calibrated, CalibratedParams, Method};
use smelt_eval::metrics::registry::find;
use smelt_learn::naive_bayes::GaussianNBParams;
use smelt_testkit::CheckPredictor;
use smelt_testkit::Fixture;
use smelt_testkit::assert_close;

fn fixture(name: &str) -> Fixture {
    Fixture::load(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn registry() -> smelt_core::Registry {
    let mut r = smelt_learn::registry();
    smelt_eval::register(&mut r);
    r
}

fn calibrated(method: Method, ensemble: bool, data: &smelt_core::Dataset<f64>) -> Calibrated {
    let params = CalibratedParams {
        estimator: Box::new(GaussianNBParams::default()),
        method,
        folds: 3,
        ensemble,
    };
    smelt_core::Fit::fit(&params, data).unwrap()
}

#[test]
fn matches_calibrated_classifier_cv() {
    for file in ["calibration_cancer.json", "calibration_iris.json"] {
        let f = fixture(file);
        let data = f.dataset();
        for case in &f.cases {
            let method: Method = case.params["method"].as_str().unwrap().parse().unwrap();
            let ensemble = case.params["ensemble"].as_bool().unwrap();
            let m = calibrated(method, ensemble, &data);
            assert_eq!(m.n_members(), if ensemble { 3 } else { 1 });
            let smelt_core::Prediction::Classification { proba: Some(p), .. } =
                m.predict(&data).unwrap()
            else {
                panic!("no probabilities");
            };
            // Isotonic is exact arithmetic; Platt scaling is an optimisation (scikit-learn
            // stops L-BFGS at gtol 1e-6, Smelt runs Newton to convergence).
            let tol = match method {
                Method::Isotonic => 1e-9,
                Method::Sigmoid => 2e-4,
            };
            assert_close(
                &format!("{file} {}", case.name),
                &p.values,
                &case.vec("proba"),
                tol,
                0.0,
            );
        }
    }
}

#[test]
fn calibrated_and_thresholded_models_save_and_load() {
    let f = fixture("calibration_cancer.json");
    let data = f.dataset();
    let r = registry();
    let m = calibrated(Method::Isotonic, true, &data);
    CheckPredictor::new(&m, &r).data(data.clone()).run();
    let t = Thresholded::new(Box::new(m), 0.3, "f1".into()).unwrap();
    CheckPredictor::new(&t, &r).data(data.clone()).run();
    // The threshold decides the labels.
    let smelt_core::Prediction::Classification {
        labels,
        proba: Some(p),
        ..
    } = t.predict(&data).unwrap()
    else {
        panic!()
    };
    for (i, &l) in labels.iter().enumerate() {
        assert_eq!(l, u32::from(p.row(i)[1] >= 0.3));
    }
}

#[test]
fn thresholds_for_a_metric_and_for_a_cost() {
    let f = fixture("calibration_cancer.json");
    let data = f.dataset();
    let m = calibrated(Method::Sigmoid, true, &data);
    let Some(target @ Target::Classification { classes, .. }) = data.target() else {
        panic!()
    };
    let p = positive_proba(&m.predict(&data).unwrap(), classes).unwrap();
    let f1 = tune_threshold(target, &p, None, Objective::Metric(find("f1").unwrap())).unwrap();
    assert_eq!(f1.curve.len(), 100);
    assert!(f1.curve.iter().all(|(_, v)| *v <= f1.value));
    // Missing a positive costs 10 times a false alarm: the threshold goes down.
    let costly = tune_threshold(
        target,
        &p,
        None,
        Objective::Cost {
            false_negative: 10.0,
            false_positive: 1.0,
        },
    )
    .unwrap();
    let cheap = tune_threshold(
        target,
        &p,
        None,
        Objective::Cost {
            false_negative: 1.0,
            false_positive: 10.0,
        },
    )
    .unwrap();
    assert!(
        costly.threshold < cheap.threshold,
        "{} vs {}",
        costly.threshold,
        cheap.threshold
    );
    assert!(costly.curve.iter().all(|(_, v)| *v >= costly.value));
    assert!(
        tune_threshold(
            target,
            &p[1..],
            None,
            Objective::Metric(find("f1").unwrap())
        )
        .is_err()
    );
}

#[test]
fn calibration_refuses_what_it_cannot_do() {
    let f = fixture("calibration_iris.json");
    let data = f.dataset();
    let params = CalibratedParams {
        estimator: Box::new(GaussianNBParams::default()),
        method: Method::Sigmoid,
        folds: 60,
        ensemble: true,
    };
    let e = smelt_core::Fit::fit(&params, &data)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("class `") && e.contains("60") && e.contains("folds"),
        "{e}"
    );
    assert!("platt".parse::<Method>().is_ok() && "beta".parse::<Method>().is_err());
}
