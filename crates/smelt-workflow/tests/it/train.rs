//! The training workflow through its public API: what a run records (through a recording
//! `Tracker`), what is saved, errors, and that a saved model predicts what the trained one did.

use std::path::PathBuf;
use std::sync::Mutex;

use smelt_data::LoadOptions;
use smelt_workflow::{Error, Event, Model, Params, TrainOptions, train};

use crate::recorder::{Recorder, data};

#[test]
fn a_tracked_fit_records_params_data_metrics_and_the_model() {
    let penguins = data("penguins.csv", "species");
    let recorder = Recorder::default();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("model");
    let opts = TrainOptions {
        tracker: Some(&recorder),
        experiment: "penguins",
        run_name: Some("lr"),
        out: Some(&dir),
        ..TrainOptions::default()
    };
    let params = Params::parse(&["C=0.5", "tol=1e-3"]).unwrap();
    let trained = train(&penguins, "logistic_regression", params, &opts).unwrap();
    let calls = recorder.calls();
    for expected in [
        "start penguins Some(\"lr\")",
        "param model=logistic_regression",
        "param preprocessing=auto",
        "param target=species",
        "param C=0.5",
        "param tol=1e-3", // as written, not 0.001
        "dataset penguins rows=344 train",
        "tag smelt.command=train",
        "metric valid_accuracy @0",
        "metric train_log_loss @0",
        "metric fit_seconds @0",
        "artifacts model",
        "finish true",
    ] {
        assert!(
            calls.iter().any(|c| c == expected),
            "{expected} in {calls:#?}"
        );
    }
    assert_eq!(calls.last().map(String::as_str), Some("finish true"));
    assert_eq!(
        trained.run.as_ref().map(|r| r.run_id.as_str()),
        Some("run-1")
    );
    // Saved where asked, with the metadata; loads back and predicts the same.
    let loaded = Model::load(&dir).unwrap();
    assert_eq!(loaded.metadata()["model"], "logistic_regression");
    assert_eq!(loaded.metadata()["data"]["rows"], 344);
    let a = trained
        .model
        .predict_file(&penguins.path, &Default::default())
        .unwrap();
    let b = loaded
        .predict_file(&penguins.path, &Default::default())
        .unwrap();
    assert!(a.equals_missing(&b));
    assert_eq!(a.height(), 344);
}

#[test]
fn tracking_failures_warn_and_close_the_run_as_failed() {
    let penguins = data("penguins.csv", "species");
    let recorder = Recorder {
        fail_artifacts: true,
        ..Recorder::default()
    };
    let warnings = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Warning(w) = e {
            warnings.lock().unwrap().push(w.to_string());
        }
    };
    let opts = TrainOptions {
        tracker: Some(&recorder),
        on_event: Some(&on_event),
        ..TrainOptions::default()
    };
    // No `out`: the model is saved to a temporary folder to be logged.
    let trained = train(&penguins, "gaussian_nb", Params::new(), &opts).unwrap();
    assert!(trained.run.is_none());
    assert_eq!(
        recorder.calls().last().map(String::as_str),
        Some("finish false")
    );
    let warnings = warnings.into_inner().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("only partly recorded") && w.contains("disk full")),
        "{warnings:?}"
    );
}

#[test]
fn rows_without_a_target_are_left_out_with_a_note() {
    // titanic: `age` has missing values; use it as a regression target.
    let titanic = data("titanic.csv", "age");
    let notes = Mutex::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::Note(n) = e {
            notes.lock().unwrap().push(n.to_string());
        }
    };
    let opts = TrainOptions {
        on_event: Some(&on_event),
        ..TrainOptions::default()
    };
    let trained = train(&titanic, "ridge", Params::new(), &opts).unwrap();
    assert_eq!(trained.rows_without_target, 557);
    assert_eq!(trained.train_rows + trained.valid_rows, 1313 - 557);
    let notes = notes.into_inner().unwrap();
    assert_eq!(
        notes,
        [
            "not used as features: `name` (free text: read by text models only (transformer_classifier, finetune_classifier); declare it `categorical` in the schema if it holds categories)",
            "left out 557 of 1,313 rows whose target `age` is missing"
        ]
    );
    assert!(trained.valid_metrics.iter().any(|(k, _)| *k == "rmse"));
}

#[test]
fn bad_requests_are_clear_errors_before_any_fit() {
    let penguins = data("penguins.csv", "species");
    let err = train(&penguins, "rigde", Params::new(), &TrainOptions::default()).unwrap_err();
    assert!(err.hint().unwrap_or_default().contains("`ridge`"), "{err}");
    let err = train(
        &penguins,
        "logistic_regression",
        Params::new().set("alpah", 1),
        &TrainOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("alpah"), "{err}");
    let opts = TrainOptions {
        valid: 1.0,
        ..TrainOptions::default()
    };
    let err = train(&penguins, "gaussian_nb", Params::new(), &opts).unwrap_err();
    assert!(matches!(err, Error::Option { .. }), "{err}");
    let err = train(&penguins, "ridge", Params::new(), &TrainOptions::default()).unwrap_err();
    assert!(
        matches!(&err, Error::WrongTask { other: None, .. })
            && err
                .hint()
                .unwrap_or_default()
                .contains("train a classifier"),
        "{err}"
    );
    let unlabelled = smelt_data::load(&penguins.path, &LoadOptions::default()).unwrap();
    let err = train(
        &unlabelled,
        "gaussian_nb",
        Params::new(),
        &TrainOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.to_string(), "gaussian_nb needs a target column");
    // Clustering needs none, and fits on every row.
    let trained = train(
        &unlabelled,
        "kmeans",
        Params::new(),
        &TrainOptions::default(),
    )
    .unwrap();
    assert_eq!(trained.valid_rows, 0);
    assert!(trained.valid_metrics.is_empty());
}

#[test]
fn a_fit_that_fails_names_the_model_and_the_file() {
    // Without preprocessing an SVM meets penguins' categorical columns and missing values.
    let penguins = data("penguins.csv", "species");
    let opts = TrainOptions {
        preprocess: false,
        ..TrainOptions::default()
    };
    let err = train(&penguins, "svc", Params::new(), &opts).unwrap_err();
    let Error::Fit { model, path, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(model, "svc");
    assert_eq!(path, &PathBuf::from(&penguins.path));
    assert!(err.to_string().starts_with("fitting svc on "), "{err}");
}

#[test]
fn calibration_and_a_tuned_threshold_are_saved_with_the_model() {
    use smelt_eval::calibrate::Method;
    use smelt_eval::calibrate::threshold::Objective;
    let cancer = data("breast_cancer.csv", "target");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m");
    let opts = TrainOptions {
        out: Some(&out),
        calibrate: Some(Method::Isotonic),
        threshold: Some(Objective::Cost {
            false_negative: 1.0,
            false_positive: 10.0,
        }),
        ..TrainOptions::default()
    };
    let trained = train(&cancer, "gaussian_nb", Params::new(), &opts).unwrap();
    assert_eq!(trained.decisions.calibration, Some(Method::Isotonic));
    let (t, objective, _) = trained.decisions.threshold.clone().unwrap();
    assert!(objective.contains("cost"), "{objective}");
    // False alarms cost ten times more: the threshold sits above one half.
    assert!(t > 0.5, "{t}");
    assert_eq!(trained.model.predictor().kind(), "thresholded");
    // The saved model applies the threshold to its calibrated probabilities.
    let loaded = Model::load(&out).unwrap();
    let frame = loaded
        .predict_frame(cancer.frame.clone(), &cancer.path)
        .unwrap();
    let labels = frame
        .column("prediction")
        .unwrap()
        .cast(&smelt_data::polars::prelude::DataType::String)
        .unwrap();
    let p1 = frame.column("proba_1").unwrap().f64().unwrap().clone();
    for (l, p) in labels.str().unwrap().iter().zip(p1.iter()) {
        assert_eq!(l.unwrap() == "1", p.unwrap() >= t);
    }
    // A threshold needs two classes.
    let penguins = data("penguins.csv", "species");
    let opts = TrainOptions {
        threshold: Some(Objective::Metric(
            smelt_eval::metrics::find("accuracy").unwrap(),
        )),
        ..TrainOptions::default()
    };
    let e = train(&penguins, "gaussian_nb", Params::new(), &opts).unwrap_err();
    assert!(format!("{e:?}").contains("two classes"), "{e:?}");
}

#[test]
fn a_trained_model_carries_a_reference_profile_of_its_training_rows() {
    // adult: numeric and categorical columns with missing values, a binary target.
    let adult = data("adult.csv", "income");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("model");
    let opts = TrainOptions {
        out: Some(&dir),
        ..TrainOptions::default()
    };
    let trained = train(&adult, "logistic_regression", Params::new(), &opts).unwrap();
    let saved = Model::load(&dir).unwrap();
    let p: smelt_core::profile::ReferenceProfile =
        serde_json::from_value(saved.metadata()["profile"].clone()).unwrap();
    assert_eq!(p.rows, trained.train_rows);
    let age = p.columns.iter().find(|c| c.name == "age").unwrap();
    let smelt_core::profile::ColumnStats::Numeric {
        quantiles,
        min,
        max,
        ..
    } = &age.stats
    else {
        panic!("age is numeric");
    };
    assert_eq!(quantiles.len(), smelt_core::profile::QUANTILES);
    assert!(quantiles[0] == *min && quantiles[200] == *max && quantiles[100] > *min);
    let wc = p.columns.iter().find(|c| c.name == "workclass").unwrap();
    let smelt_core::profile::ColumnStats::Categorical { counts, .. } = &wc.stats else {
        panic!("workclass is categorical");
    };
    assert_eq!(counts.iter().sum::<usize>() + wc.missing, p.rows);
    // The target, the predicted labels and the positive-class scores on the same rows.
    assert_eq!(p.target.as_ref().unwrap().count, p.rows);
    assert_eq!(p.prediction.as_ref().unwrap().count, p.rows);
    let smelt_core::profile::ColumnStats::Numeric { min, max, .. } =
        &p.score.as_ref().unwrap().stats
    else {
        panic!("score is numeric");
    };
    assert!(*min >= 0.0 && *max <= 1.0);
}
