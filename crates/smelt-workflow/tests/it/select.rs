//! Cross-validation and tuning by name: folds chosen for the data, metrics, a tracked parent
//! run with a child per fold or trial, errors.

use std::cell::RefCell;

use smelt_eval::tune::{Space, TrialState};
use smelt_workflow::{
    CvSpec, Error, Event, FoldKind, Params, SamplerKind, TrainOptions, TuneSpec, cross_validate,
    tune,
};

use crate::recorder::{Recorder, data};

#[test]
fn cross_validation_is_stratified_and_tracked_fold_by_fold() {
    let penguins = data("penguins.csv", "species");
    let recorder = Recorder::default();
    let opts = TrainOptions {
        tracker: Some(&recorder),
        experiment: "cv",
        ..TrainOptions::default()
    };
    let cv = cross_validate(
        &penguins,
        "logistic_regression",
        Params::new(),
        &CvSpec::default(),
        &[],
        &opts,
    )
    .unwrap();
    assert!(
        cv.folds.splitter.starts_with("StratifiedKFold(n_splits=5"),
        "{}",
        cv.folds.splitter
    );
    assert_eq!(cv.result.folds.len(), 5);
    assert_eq!(cv.rows, 344);
    let names: Vec<&str> = cv.result.test.iter().map(|s| s.metric.as_str()).collect();
    assert_eq!(names[0], "accuracy");
    assert!(
        names.contains(&"roc_auc_ovr") && names.contains(&"log_loss"),
        "{names:?}"
    );
    let acc = cv.result.metric("accuracy").unwrap();
    assert!(acc.mean > 0.95 && acc.std < 0.05, "{acc:?}");
    let calls = recorder.calls();
    for expected in [
        "tag smelt.command=cv",
        "dataset penguins rows=344 cv",
        "child fold 0",
        "child fold 4",
        "metric valid_accuracy @0",
        "metric cv_accuracy_mean @0",
        "metric cv_log_loss_std @0",
    ] {
        assert!(
            calls.iter().any(|c| c == expected),
            "{expected} in {calls:#?}"
        );
    }
    assert_eq!(calls.iter().filter(|c| *c == "finish true").count(), 6);
    assert!(cv.run.is_some());
}

#[test]
fn group_and_time_folds_follow_their_columns() {
    let weather = data("seattle_weather.csv", "weather");
    let spec = CvSpec {
        folds: 4,
        kind: FoldKind::Time(Some("date".into())),
        ..CvSpec::default()
    };
    let cv = cross_validate(
        &weather,
        "decision_tree_classifier",
        Params::new().set("max_depth", 4),
        &spec,
        &["accuracy".into()],
        &TrainOptions::default(),
    )
    .unwrap();
    assert!(
        cv.folds.splitter.starts_with("TimeSeriesSplit"),
        "{}",
        cv.folds.splitter
    );
    // Each fold trains on the past only: every training row comes before every test row.
    for f in &cv.folds.folds {
        assert!(f.train.iter().max() < f.test.iter().min());
    }
    let penguins = data("penguins.csv", "species");
    let spec = CvSpec {
        folds: 3,
        kind: FoldKind::Group(Some("island".into())),
        ..CvSpec::default()
    };
    let cv = cross_validate(
        &penguins,
        "logistic_regression",
        Params::new(),
        &spec,
        &["accuracy".into()],
        &TrainOptions::default(),
    );
    // Three islands, three folds: a fold whose training islands lack a species is reported,
    // not a panic.
    match cv {
        Ok(cv) => assert_eq!(cv.folds.column.as_deref(), Some("island")),
        Err(e) => assert!(e.to_string().contains("fold"), "{e}"),
    }
}

#[test]
fn bad_requests_are_clear_errors() {
    let penguins = data("penguins.csv", "species");
    let opts = TrainOptions::default();
    let e = cross_validate(
        &penguins,
        "logistic_regression",
        Params::new(),
        &CvSpec::default(),
        &["rmse".into()],
        &opts,
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("rmse") && e.contains("regression"), "{e}");
    let e = cross_validate(
        &penguins,
        "logistic_regression",
        Params::new(),
        &CvSpec::default(),
        &["acuracy".into()],
        &opts,
    )
    .unwrap_err();
    assert!(e.hint().unwrap().contains("accuracy"), "{:?}", e.hint());
    let spec = CvSpec {
        kind: FoldKind::Time(None),
        ..CvSpec::default()
    };
    let e = cross_validate(
        &penguins,
        "logistic_regression",
        Params::new(),
        &spec,
        &[],
        &opts,
    )
    .unwrap_err();
    assert!(e.hint().unwrap().contains("--time"), "{:?}", e.hint());
    let e = cross_validate(
        &penguins,
        "kmeans",
        Params::new(),
        &CvSpec::default(),
        &[],
        &opts,
    )
    .unwrap_err();
    assert!(e.to_string().contains("clustering"), "{e}");
    let spec = TuneSpec {
        space: Space::from_args(&["Cc=loguniform(0.01, 10)".into()]).unwrap(),
        ..TuneSpec::default()
    };
    let e = tune(
        &penguins,
        "logistic_regression",
        Params::new(),
        &spec,
        &CvSpec::default(),
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::Model(_)) && e.hint().unwrap().contains("`C`"),
        "{e} {:?}",
        e.hint()
    );
}

#[test]
fn tuning_finds_better_parameters_and_tracks_each_trial() {
    let cancer = data("breast_cancer.csv", "target");
    let recorder = Recorder::default();
    let events = RefCell::new(Vec::new());
    let on_event = |e: Event<'_>| {
        if let Event::TrialDone { number, .. } = e {
            events.borrow_mut().push(number);
        }
    };
    let opts = TrainOptions {
        tracker: Some(&recorder),
        on_event: Some(&on_event),
        ..TrainOptions::default()
    };
    let spec = TuneSpec {
        space: Space::from_args(&["C=loguniform(1e-4, 10)".into()]).unwrap(),
        sampler: SamplerKind::Tpe,
        trials: 14,
        metric: Some("roc_auc".into()),
        ..TuneSpec::default()
    };
    let cv = CvSpec {
        folds: 3,
        ..CvSpec::default()
    };
    let t = tune(
        &cancer,
        "logistic_regression",
        Params::new().set("max_iter", 500),
        &spec,
        &cv,
        &opts,
    )
    .unwrap();
    assert_eq!(t.trials.len(), 14);
    assert_eq!(*events.borrow(), (0..14).collect::<Vec<_>>());
    assert_eq!(t.scorer.name, "roc_auc");
    let best = t.trials[t.best].value.unwrap();
    assert!(best > 0.99, "{best}");
    assert!(t.trials.iter().filter_map(|x| x.value).all(|v| v <= best));
    assert!(t.best_params.as_map().contains_key("C") && t.best_params.as_map()["max_iter"] == 500);
    assert!(t.overhead_seconds < 0.05, "{}", t.overhead_seconds);
    let calls = recorder.calls();
    for expected in [
        "tag smelt.command=tune",
        "child trial 0",
        "child trial 13",
        "metric best_cv_roc_auc @0",
        "tag smelt.sampler=tpe",
    ] {
        assert!(
            calls.iter().any(|c| c == expected),
            "{expected} in {calls:#?}"
        );
    }
}

#[test]
fn the_ladder_climbs_on_shared_folds_and_reports() {
    use smelt_workflow::ladder::LadderSpec;
    use std::time::Duration;
    let titanic = data("titanic.csv", "survived");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("model");
    let recorder = Recorder::default();
    let opts = TrainOptions {
        out: Some(&out),
        tracker: Some(&recorder),
        ..TrainOptions::default()
    };
    let spec = LadderSpec {
        budget: Duration::from_secs(20),
        cv: CvSpec {
            folds: 3,
            ..CvSpec::default()
        },
        ..LadderSpec::default()
    };
    let l = smelt_workflow::ladder(&titanic, &spec, &opts).unwrap();
    let labels: Vec<&str> = l.rungs.iter().map(|r| r.label).collect();
    assert_eq!(
        labels,
        [
            "dummy (class prior)",
            "logistic regression",
            "decision tree",
            "random forest",
            "gradient boosting"
        ]
    );
    assert_eq!(l.scorers[0].name, "roc_auc");
    // The dummy ranks at chance; the best rung beats it clearly.
    let auc = |i: usize| {
        l.rungs[i]
            .result
            .as_ref()
            .unwrap()
            .metric("roc_auc")
            .unwrap()
            .mean
    };
    assert!((auc(0) - 0.5).abs() < 1e-9);
    assert!(auc(l.best) > 0.8 && l.best > 0);
    assert!(l.rungs.iter().all(|r| r.result.is_some()), "{:?}", l.notes);
    // Every rung saw the same folds: the out-of-fold predictions cover every row.
    assert!(
        l.rungs
            .iter()
            .all(|r| r.result.as_ref().unwrap().oof.is_some())
    );
    assert!(
        l.notes.iter().any(|n| n.contains("name")),
        "the text column is noted: {:?}",
        l.notes
    );
    assert!(
        l.summary.iter().any(|s| s.contains("baseline")),
        "{:?}",
        l.summary
    );
    assert!(l.calibration.is_some());
    assert!(out.join("model.json").is_file());
    let calls = recorder.calls();
    for expected in [
        "tag smelt.command=ladder",
        "child gradient boosting",
        "artifacts model",
    ] {
        assert!(
            calls.iter().any(|c| c == expected),
            "{expected} in {calls:#?}"
        );
    }
    let report = smelt_workflow::ladder_report::ladder_report(&l, "titanic.csv", &[]).unwrap();
    let html = report.to_html().unwrap();
    for needle in [
        "Leaderboard",
        "gradient boosting",
        "Calibration of the best rung",
        "<svg",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    assert!(html.len() < 2_000_000);
    let json = report.to_json();
    assert_eq!(json["data"]["rungs"].as_array().unwrap().len(), 5);
}

#[test]
fn a_budget_too_small_skips_rungs_with_a_reason() {
    use smelt_workflow::ladder::LadderSpec;
    use std::time::Duration;
    let penguins = data("penguins.csv", "species");
    let spec = LadderSpec {
        budget: Duration::from_millis(1),
        tune: false,
        ..LadderSpec::default()
    };
    let l = smelt_workflow::ladder(&penguins, &spec, &TrainOptions::default()).unwrap();
    // The baseline always runs; the rest are skipped and say why.
    assert!(l.rungs[0].result.is_some());
    assert!(
        l.rungs[1..]
            .iter()
            .all(|r| r.skipped.as_deref().is_some_and(|s| s.contains("budget")))
    );
    assert_eq!(l.best, 0);
}

#[test]
fn evaluation_of_a_saved_model_with_slices() {
    let titanic = data("titanic.csv", "survived");
    let trained = smelt_workflow::train(
        &titanic,
        "logistic_regression",
        Params::new(),
        &TrainOptions::default(),
    )
    .unwrap();
    let ev = smelt_workflow::evaluate::evaluate(
        &trained.model,
        &titanic,
        &["sex".into(), "age".into()],
        None,
    )
    .unwrap();
    assert_eq!(ev.rows, 1313);
    assert_eq!(ev.metrics[0].0, "accuracy");
    let slices = ev.slices.as_ref().unwrap();
    assert!(
        slices
            .slices
            .iter()
            .any(|s| s.column == "sex" && s.value == "female")
    );
    assert!(
        slices
            .slices
            .iter()
            .any(|s| s.column == "age" && s.value == "(missing)")
    );
    let html = ev.report.to_html().unwrap();
    assert!(html.contains("Slices") && html.contains("female"));
    let e = smelt_workflow::evaluate::evaluate(&trained.model, &titanic, &["sexx".into()], None)
        .unwrap_err();
    assert!(e.to_string().contains("sexx"), "{e}");
}

#[test]
fn nested_cross_validation_scores_tuning_on_unseen_folds() {
    let cancer = data("breast_cancer.csv", "target");
    let spec = TuneSpec {
        space: Space::from_args(&["C=loguniform(1e-3, 10)".into()]).unwrap(),
        trials: 6,
        metric: Some("roc_auc".into()),
        ..TuneSpec::default()
    };
    let outer = CvSpec {
        folds: 3,
        ..CvSpec::default()
    };
    let inner = CvSpec {
        folds: 2,
        ..CvSpec::default()
    };
    let n = smelt_workflow::nested_cv(
        &cancer,
        "logistic_regression",
        Params::new().set("max_iter", 300),
        &spec,
        &outer,
        &inner,
        &TrainOptions::default(),
    )
    .unwrap();
    assert_eq!(n.folds.len(), 3);
    assert!(
        n.folds
            .iter()
            .all(|f| f.params.contains_key("C") && f.outer > 0.95 && f.inner > 0.95)
    );
    assert!(n.mean > 0.97 && n.std < 0.05, "{n:?}");
}

#[test]
fn tree_models_report_their_own_importance_beside_permutation_importance() {
    let titanic = data("titanic.csv", "survived");
    for (model, params) in [
        (
            "hist_gradient_boosting_classifier",
            Params::new().set("max_iter", 20),
        ),
        (
            "random_forest_classifier",
            Params::new().set("n_estimators", 20),
        ),
    ] {
        let trained =
            smelt_workflow::train(&titanic, model, params, &TrainOptions::default()).unwrap();
        let own = trained
            .model
            .predictor()
            .feature_importances()
            .expect("trees have importances");
        let total: f64 = own.iter().map(|(_, v)| v).sum();
        assert!((total - 1.0).abs() < 1e-9, "{model}: {total}");
        assert!(own.iter().any(|(n, _)| n.contains("sex")), "{own:?}");
        let ev = smelt_workflow::evaluate::evaluate(&trained.model, &titanic, &[], None).unwrap();
        assert!(
            ev.report.to_html().unwrap().contains("own importance"),
            "{model}"
        );
    }
    // A linear model has none.
    let lr = smelt_workflow::train(
        &titanic,
        "logistic_regression",
        Params::new(),
        &TrainOptions::default(),
    )
    .unwrap();
    assert!(lr.model.predictor().feature_importances().is_none());
}

/// A learning curve's full-size point is the plain cross-validation on the same folds (ridge
/// does not depend on the order of its training rows), and its smaller sizes train on fewer
/// rows; a validation curve's point for a value is the cross-validation with that value.
#[test]
fn curves_agree_with_cross_validation() {
    use smelt_workflow::curves::{learning_curve, validation_curve};
    let housing = data("housing.csv", "med_house_val");
    let spec = CvSpec::default();
    let opts = TrainOptions::default();
    let metric = ["rmse".to_string()];
    let cv = cross_validate(&housing, "ridge", Params::new(), &spec, &metric, &opts).unwrap();
    let lc = learning_curve(
        &housing,
        "ridge",
        Params::new(),
        &spec,
        Some("rmse"),
        &[0.25, 1.0],
        &opts,
    )
    .unwrap();
    let full = &lc.curve.points[1];
    assert!(
        (full.valid_mean - cv.result.test[0].mean).abs() < 1e-9,
        "{full:?}"
    );
    assert_eq!(lc.curve.points[0].x, 16512 / 4);
    assert_eq!(full.x, 16512);

    let cv10 = cross_validate(
        &housing,
        "ridge",
        Params::new().set("alpha", 1000.0),
        &spec,
        &metric,
        &opts,
    )
    .unwrap();
    let vc = validation_curve(
        &housing,
        "ridge",
        Params::new(),
        "alpha",
        &[1.0.into(), 1000.0.into()],
        &spec,
        Some("rmse"),
        &opts,
    )
    .unwrap();
    assert!((vc.curve.points[1].valid_mean - cv10.result.test[0].mean).abs() < 1e-9);
    assert!(vc.curve.points[1].valid_mean > vc.curve.points[0].valid_mean);
    let err = validation_curve(
        &housing,
        "ridge",
        Params::new(),
        "alpah",
        &[1.0.into(), 2.0.into()],
        &spec,
        None,
        &opts,
    )
    .unwrap_err();
    assert!(err.to_string().contains("alpah"), "{err}");
}

/// Successive halving: the configurations on few rows, a third promoted to three times the
/// rows, up to each fold's full training part; only those that reached it are complete, and
/// the best is one of them. Hyperband runs brackets over the same rows.
#[test]
fn halving_promotes_a_third_to_three_times_the_rows() {
    let penguins = data("penguins.csv", "species");
    let mut space = Space::new();
    space.add_text("C", "loguniform(0.001, 100)").unwrap();
    let spec = TuneSpec {
        space,
        sampler: SamplerKind::Halving,
        trials: 9,
        ..TuneSpec::default()
    };
    let tuned = tune(
        &penguins,
        "logistic_regression",
        Params::new(),
        &spec,
        &CvSpec::default(),
        &TrainOptions::default(),
    )
    .unwrap();
    assert_eq!(tuned.trials.len(), 9);
    // 344 rows, 5 folds: 275 training rows in the smallest fold; 9 configurations → 2 rungs.
    let rows: Vec<Vec<u64>> = tuned
        .trials
        .iter()
        .map(|t| t.intermediate.iter().map(|(r, _)| *r).collect())
        .collect();
    let full = rows.iter().filter(|r| r.len() == 2).count();
    assert_eq!(full, 3, "{rows:?}");
    for r in rows.iter().filter(|r| r.len() == 2) {
        assert_eq!(r[1], 275);
        assert_eq!(r[0], (275.0f64 / 3.0).round() as u64);
    }
    let best = &tuned.trials[tuned.best];
    assert_eq!(best.state, TrialState::Complete);
    assert_eq!(
        tuned
            .trials
            .iter()
            .filter(|t| t.state == TrialState::Pruned)
            .count(),
        6
    );
    let top = tuned
        .trials
        .iter()
        .filter(|t| t.state == TrialState::Complete)
        .filter_map(|t| t.value)
        .fold(f64::NEG_INFINITY, f64::max);
    assert_eq!(best.value, Some(top));

    let spec = TuneSpec {
        sampler: SamplerKind::Hyperband,
        ..spec
    };
    let tuned = tune(
        &penguins,
        "logistic_regression",
        Params::new(),
        &spec,
        &CvSpec::default(),
        &TrainOptions::default(),
    )
    .unwrap();
    assert!(tuned.trials.len() > 3);
    assert!(
        tuned.trials[tuned.best]
            .intermediate
            .last()
            .is_some_and(|(r, _)| *r == 275)
    );
}
