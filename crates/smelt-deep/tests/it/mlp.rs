//! The MLP through the estimator API and the training loop's guarantees.

use smelt_core::{Fit, Prediction, Predictor};
use smelt_deep::mlp::{MLPClassifierParams, MLPRegressorParams};
use smelt_deep::train::precision::Precision;
use smelt_testkit::{
    CheckEstimator, classification_data, regression_data, with_category_and_missing,
};

fn small() -> MLPClassifierParams {
    MLPClassifierParams::default()
        .hidden_layer_sizes(vec![16])
        .epochs(30)
}

#[test]
fn classifier_passes_the_estimator_suite() {
    let reg = smelt_deep::registry();
    CheckEstimator::new(&small(), &reg)
        .data(classification_data(80, 3, 3, 1))
        .invalid(small().learning_rate_init(0.0), "learning_rate_init")
        .invalid(small().hidden_layer_sizes(vec![4, 0]), "hidden_layer_sizes")
        .invalid(small().dropout(1.0), "dropout")
        .handles_missing()
        .run();
}

#[test]
fn regressor_passes_the_estimator_suite() {
    let reg = smelt_deep::registry();
    CheckEstimator::new(
        &MLPRegressorParams::default()
            .hidden_layer_sizes(vec![16])
            .epochs(30),
        &reg,
    )
    .data(with_category_and_missing(
        &regression_data(80, 3, 2),
        0.1,
        3,
    ))
    .handles_missing()
    .run();
}

fn accuracy(p: &Prediction, data: &smelt_core::Dataset<f64>) -> f64 {
    let Prediction::Classification { labels, .. } = p else {
        panic!("not a classification")
    };
    let Some(smelt_core::Target::Classification { codes, .. }) = data.target() else {
        panic!("no classes")
    };
    labels.iter().zip(codes).filter(|(a, b)| a == b).count() as f64 / codes.len() as f64
}

#[test]
fn learns_separable_classes_with_every_optimizer_and_schedule() {
    let data = classification_data(300, 4, 3, 7);
    for (solver, schedule) in [
        ("adam", "constant"),
        ("adamw", "cosine"),
        ("sgd", "one_cycle"),
        ("adam", "step"),
        ("adam", "plateau"),
    ] {
        let params: MLPClassifierParams = serde_json::from_value(serde_json::json!({
            "hidden_layer_sizes": [32],
            "solver": solver,
            "lr_schedule": schedule,
            "learning_rate_init": if solver == "sgd" { 0.05 } else { 0.01 },
            "epochs": 60,
            "early_stopping": false,
            "weight_decay": 1e-4,
        }))
        .expect("params");
        let model = params.fit(&data).expect("fit");
        let acc = accuracy(&model.predict(&data).expect("predict"), &data);
        assert!(acc > 0.9, "{solver}/{schedule}: training accuracy {acc}");
        let h = model.history();
        assert_eq!(h.train_loss.len(), 60);
        assert!(
            h.train_loss[59] < h.train_loss[0],
            "{solver}/{schedule}: {h:?}"
        );
    }
}

#[test]
fn regression_fits_a_linear_target() {
    let data = regression_data(400, 3, 4);
    let model = MLPRegressorParams::default()
        .hidden_layer_sizes(vec![32])
        .learning_rate_init(0.01)
        .fit(&data)
        .expect("fit");
    let Prediction::Regression { values } = model.predict(&data).expect("predict") else {
        panic!()
    };
    let Some(smelt_core::Target::Regression { values: y }) = data.target() else {
        panic!()
    };
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = y.iter().zip(&values).map(|(a, b)| (a - b).powi(2)).sum();
    let r2 = 1.0 - ss_res / ss_tot;
    assert!(r2 > 0.95, "r2 {r2}");
}

#[test]
fn early_stopping_keeps_the_best_epoch() {
    // Few rows, a wide network and a large rate: the validation loss turns up early.
    let data = classification_data(60, 3, 2, 11);
    let model = MLPClassifierParams::default()
        .hidden_layer_sizes(vec![256, 256])
        .learning_rate_init(0.05)
        .n_iter_no_change(3)
        .validation_fraction(0.3)
        .epochs(500)
        .fit(&data)
        .expect("fit");
    let h = model.history();
    assert!(h.stopped_early, "{h:?}");
    assert!(h.train_loss.len() < 500);
    let best = h.valid_loss[h.best_epoch - 1];
    assert!(h.valid_loss.iter().all(|&v| v >= best), "{h:?}");
    // Stopped `n_iter_no_change` epochs after the best.
    assert_eq!(h.train_loss.len(), h.best_epoch + 3);
}

#[test]
fn fits_are_reproducible_and_seeds_matter() {
    let data = with_category_and_missing(&classification_data(120, 3, 2, 5), 0.1, 6);
    let fit = |seed: u64| {
        let m = small()
            .dropout(0.2)
            .random_state(seed)
            .fit(&data)
            .expect("fit");
        let Prediction::Classification { proba, .. } = m.predict(&data).expect("predict") else {
            panic!()
        };
        proba.expect("proba").values
    };
    assert_eq!(fit(1), fit(1));
    assert_ne!(fit(1), fit(2));
}

#[test]
fn resuming_a_finished_run_changes_nothing() {
    let data = classification_data(150, 3, 3, 9);
    let dir = tempfile::tempdir().expect("tempdir");
    let ck = dir.path().join("ck");
    let base = || {
        small()
            .dropout(0.1)
            .n_iter_no_change(100)
            .lr_schedule(smelt_deep::train::schedule::ScheduleKind::Cosine)
            .epochs(6)
    };
    let straight = base()
        .checkpoint_dir(ck.display().to_string())
        .fit(&data)
        .expect("fit with checkpoints");
    let state = std::fs::read_to_string(ck.join("checkpoint.json")).expect("state");
    assert!(state.contains("\"epoch\": 6"), "{state}");
    let resumed = base()
        .resume(ck.display().to_string())
        .fit(&data)
        .expect("resume of a finished run");
    let p = |m: &smelt_deep::mlp::Mlp| match m.predict(&data).expect("predict") {
        Prediction::Classification { proba, .. } => proba.expect("proba").values,
        _ => panic!(),
    };
    assert_eq!(p(&straight), p(&resumed));
    assert_eq!(straight.history(), resumed.history());
}

#[test]
fn resuming_after_an_interruption_matches_an_uninterrupted_fit() {
    let data = classification_data(150, 3, 3, 9);
    // float32, and float16 mixed precision (its loss scale travels in the checkpoint).
    for precision in [Precision::F32, Precision::F16] {
        let dir = tempfile::tempdir().expect("tempdir");
        let ck = dir.path().join("ck");
        let base = |epochs: usize| {
            small()
                .precision(precision)
                .dropout(0.1)
                .early_stopping(true)
                .n_iter_no_change(100)
                .epochs(epochs)
        };
        let straight = base(6).fit(&data).expect("fit");
        // Interrupted after 3 epochs (a constant schedule does not depend on the planned
        // length).
        base(3)
            .checkpoint_dir(ck.display().to_string())
            .fit(&data)
            .expect("first half");
        let resumed = base(6)
            .resume(ck.display().to_string())
            .fit(&data)
            .expect("second half");
        let (a, b) = (straight.history(), resumed.history());
        assert_eq!(a.train_loss, b.train_loss, "{precision:?}");
        assert_eq!(a.valid_loss, b.valid_loss, "{precision:?}");
        let p = |m: &smelt_deep::mlp::Mlp| match m.predict(&data).expect("predict") {
            Prediction::Classification { proba, .. } => proba.expect("proba").values,
            _ => panic!(),
        };
        assert_eq!(p(&straight), p(&resumed), "{precision:?}");
    }
}

#[test]
fn a_checkpoint_of_another_network_is_refused() {
    let data = classification_data(60, 3, 2, 9);
    let dir = tempfile::tempdir().expect("tempdir");
    let ck = dir.path().join("ck");
    small()
        .epochs(1)
        .checkpoint_dir(ck.display().to_string())
        .fit(&data)
        .expect("fit");
    let err = small()
        .hidden_layer_sizes(vec![8])
        .resume(ck.display().to_string())
        .fit(&data)
        .expect_err("other layout");
    assert!(err.to_string().contains("different network"), "{err}");
    let err = small()
        .resume(dir.path().join("nowhere").display().to_string())
        .fit(&data)
        .expect_err("no checkpoint");
    assert!(
        err.to_string().contains("not a checkpoint directory"),
        "{err}"
    );
}

#[test]
fn a_diverging_loss_stops_with_a_clear_error() {
    let data = regression_data(100, 3, 4);
    let err = MLPRegressorParams::default()
        .hidden_layer_sizes(vec![64, 64])
        .solver(smelt_deep::train::optim::OptimizerKind::Sgd)
        .learning_rate_init(1e6)
        .early_stopping(false)
        .fit(&data)
        .expect_err("diverges");
    let msg = err.to_string();
    assert!(
        msg.contains("MLPRegressor") && msg.contains("training loss became"),
        "{msg}"
    );
    assert!(msg.contains("learning_rate"), "{msg}");
}

#[test]
fn infinite_features_and_unknown_devices_are_named() {
    let mut data = classification_data(40, 2, 2, 1);
    data.rewrite_values(|v, _| v[3] = f64::INFINITY);
    let err = small().fit(&data).expect_err("inf");
    assert!(err.to_string().contains("row 3"), "{err}");
    let data = classification_data(40, 2, 2, 1);
    let err = small().device("tpu".into()).fit(&data).expect_err("device");
    assert!(err.to_string().contains("unknown device `tpu`"), "{err}");
    #[cfg(not(feature = "cuda"))]
    {
        let err = small()
            .device("cuda".into())
            .fit(&data)
            .expect_err("no cuda");
        assert!(err.to_string().contains("--features cuda"), "{err}");
    }
}

#[test]
fn history_reaches_the_predictor_interface() {
    let data = classification_data(60, 3, 2, 9);
    let m = small()
        .epochs(4)
        .early_stopping(false)
        .fit(&data)
        .expect("fit");
    let h = Predictor::training_history(&m).expect("history");
    let names: Vec<&str> = h.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["train_loss", "learning_rate"]);
    assert_eq!(h[0].1.len(), 4);
}
