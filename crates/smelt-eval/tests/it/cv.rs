//! Cross-validation against scikit-learn's `cross_validate` / `cross_val_predict`, and the
//! guarantees scikit-learn users rely on: no fold sees another's statistics, clear errors.

use smelt_core::{
    ArtifactWriter, Dataset, Feature, Fit, FitPredictor, Output, ParamError, Prediction, Predictor,
    Result as CoreResult, Target,
};
use smelt_eval::cv::{CvOptions, cross_validate};
use smelt_eval::metrics::registry::find;
use smelt_eval::split::{Fold, KFold, SplitInput, Splitter, StratifiedKFold};
use smelt_learn::linear::LogisticRegressionParams;
use smelt_learn::pipeline::PipelineParams;
use smelt_learn::preprocessing::StandardScalerParams;
use smelt_testkit::Fixture;
use smelt_testkit::assert_close;

fn fixture(name: &str) -> Fixture {
    Fixture::load(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

fn logistic_pipeline() -> PipelineParams {
    let lr: LogisticRegressionParams =
        serde_json::from_value(serde_json::json!({"max_iter": 10000, "tol": 1e-10})).unwrap();
    PipelineParams::new(lr).step(StandardScalerParams::default())
}

#[test]
fn matches_scikit_learn_cross_validate() {
    let f = fixture("cv_cancer.json");
    let data = f.dataset();
    let folds = KFold::new(5)
        .unwrap()
        .split(&SplitInput::new(data.n_rows()))
        .unwrap();
    let scorers = [
        find("accuracy").unwrap(),
        find("roc_auc").unwrap(),
        find("neg_log_loss").unwrap(),
    ];
    let r = cross_validate(
        &logistic_pipeline(),
        &data,
        &folds,
        &scorers,
        None,
        &CvOptions::default(),
    )
    .unwrap();
    let case = &f.cases[0];
    assert_eq!(r.folds.len(), 5);
    assert_eq!(r.test[0].folds, case.vec("accuracy"));
    assert_close("roc_auc", &r.test[1].folds, &case.vec("roc_auc"), 1e-9, 0.0);
    assert_close(
        "log_loss",
        &r.test[2].folds,
        &case.vec("log_loss"),
        1e-6,
        1e-5,
    );
    assert_eq!(r.test[2].metric, "log_loss");
    assert!(!r.test[2].greater_is_better);
    let Some(Prediction::Classification { proba: Some(p), .. }) = &r.oof else {
        panic!("no out-of-fold probabilities");
    };
    assert_close("oof proba", &p.values, &case.vec("oof_proba"), 1e-6, 1e-5);
    // Sequential and capped-thread runs give the same numbers.
    let opts = CvOptions {
        threads: Some(1),
        ..CvOptions::default()
    };
    let again = cross_validate(&logistic_pipeline(), &data, &folds, &scorers, None, &opts).unwrap();
    assert_eq!(again.test[1].folds, r.test[1].folds);
}

/// A model that predicts, for each row, the value its pipeline's scaler gave feature 0: the
/// scaled value reveals the mean and scale the scaler was fitted with.
#[derive(Clone, Debug, Default, serde::Deserialize)]
struct EchoParams;

#[derive(Debug)]
struct Echo {
    input: Vec<Feature>,
}

impl Fit for EchoParams {
    type Model = Echo;
    fn name(&self) -> &'static str {
        "Echo"
    }
    fn check(&self) -> Vec<ParamError> {
        Vec::new()
    }
    fn fit_weighted(&self, data: &Dataset<f64>, _: Option<&[f64]>) -> CoreResult<Echo> {
        Ok(Echo {
            input: data.features().to_vec(),
        })
    }
}

impl Predictor for Echo {
    fn kind(&self) -> &str {
        "echo"
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> CoreResult<Prediction> {
        Ok(Prediction::Regression {
            values: data.column(0).to_vec(),
        })
    }
    fn save(&self, _: &mut ArtifactWriter) -> CoreResult<()> {
        Ok(())
    }
}

#[test]
fn preprocessing_is_fitted_inside_each_fold() {
    let data = smelt_testkit::regression_data(200, 3, 7);
    let folds = KFold::new(4)
        .unwrap()
        .with_shuffle(3)
        .split(&SplitInput::new(200))
        .unwrap();
    let pipe = PipelineParams::new(EchoParams).step(StandardScalerParams::default());
    let opts = CvOptions {
        keep_models: true,
        ..CvOptions::default()
    };
    let r = cross_validate(&pipe, &data, &folds, &[find("r2").unwrap()], None, &opts).unwrap();
    let x = data.column(0);
    let Some(Prediction::Regression { values: scaled }) = &r.oof else {
        panic!("no out-of-fold predictions");
    };
    for fold in &folds {
        // The scaler of this fold: mean and (population) std of its own training rows only.
        let train: Vec<f64> = fold.train.iter().map(|&i| x[i]).collect();
        let mean = train.iter().sum::<f64>() / train.len() as f64;
        let std =
            (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / train.len() as f64).sqrt();
        for &i in &fold.test {
            assert!((scaled[i] - (x[i] - mean) / std).abs() < 1e-12, "row {i}");
        }
        // And not the statistics of all rows.
        let all_mean = x.iter().sum::<f64>() / x.len() as f64;
        assert!((mean - all_mean).abs() > 1e-9);
    }
    assert!(r.folds.iter().all(|f| f.model.is_some()));
}

#[test]
fn errors_name_the_fold_and_the_class() {
    // Sorted labels and unshuffled k-fold: the first fold's training rows are all class `b`.
    let n = 20;
    let mut data = smelt_testkit::classification_data(n, 2, 2, 1);
    let codes: Vec<u32> = (0..n).map(|i| u32::from(i >= 5)).collect();
    data = Dataset::new(
        n,
        data.values().to_vec(),
        data.features().to_vec(),
        Some((
            "y".into(),
            Target::Classification {
                codes,
                classes: vec!["a".into(), "b".into()],
            },
        )),
    )
    .unwrap();
    let folds: Vec<Fold> = vec![
        Fold {
            train: (5..20).collect(),
            test: (0..5).collect(),
        },
        Fold {
            train: (0..15).collect(),
            test: (15..20).collect(),
        },
    ];
    let est = LogisticRegressionParams::default();
    let e = cross_validate(
        &est,
        &data,
        &folds,
        &[find("accuracy").unwrap()],
        None,
        &CvOptions::default(),
    )
    .unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("fold 0") && msg.contains("`b`"), "{msg}");
    assert!(e.hint().unwrap().contains("stratified"), "{:?}", e.hint());
    // ROC-AUC on a test fold with one class is undefined there: NaN, and a note naming the
    // fold; the other metrics still count.
    let folds = vec![Fold {
        train: (0..15).collect(),
        test: (15..20).collect(),
    }];
    let r = cross_validate(
        &est,
        &data,
        &folds,
        &[find("roc_auc").unwrap(), find("accuracy").unwrap()],
        None,
        &CvOptions::default(),
    )
    .unwrap();
    assert!(r.folds[0].test[0].is_nan() && r.test[0].mean.is_nan());
    assert!(r.test[1].mean.is_finite());
    let notes = r.notes();
    assert!(
        notes[0].starts_with("fold 0: roc_auc is undefined"),
        "{notes:?}"
    );
    // No target; a fold naming a row past the end.
    let unlabeled = smelt_testkit::without_target(&data);
    assert!(
        cross_validate(
            &est,
            &unlabeled,
            &folds,
            &[find("accuracy").unwrap()],
            None,
            &CvOptions::default()
        )
        .is_err()
    );
    let bad = vec![Fold {
        train: (0..15).collect(),
        test: vec![99],
    }];
    let e = cross_validate(
        &est,
        &data,
        &bad,
        &[find("accuracy").unwrap()],
        None,
        &CvOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("row 99"), "{e}");
}

#[test]
fn learning_and_validation_curves() {
    let data = smelt_testkit::classification_data(300, 4, 2, 3);
    let classes = match data.target() {
        Some(Target::Classification { codes, .. }) => codes.clone(),
        _ => unreachable!(),
    };
    let folds = StratifiedKFold::new(3)
        .unwrap()
        .split(&SplitInput::new(300).with_classes(&classes))
        .unwrap();
    let acc = find("accuracy").unwrap();
    let lc = smelt_eval::curves::learning_curve(
        &LogisticRegressionParams::default(),
        &data,
        &folds,
        acc,
        &[0.1, 0.5, 1.0],
        &CvOptions::default(),
    )
    .unwrap();
    assert_eq!(lc.points.len(), 3);
    assert_eq!(lc.points[0].x, serde_json::json!(20));
    assert_eq!(lc.points[2].x, serde_json::json!(200));
    assert!(lc.points[2].valid_mean > 0.5);
    let build = |v: &serde_json::Value| -> smelt_eval::Result<Box<dyn FitPredictor>> {
        let p: LogisticRegressionParams = serde_json::from_value(serde_json::json!({ "C": v }))
            .map_err(|e| smelt_eval::EvalError::input("C", e.to_string()))?;
        Ok(Box::new(p))
    };
    let vc = smelt_eval::curves::validation_curve(
        &build,
        "C",
        &[serde_json::json!(0.001), serde_json::json!(1.0)],
        &data,
        &folds,
        acc,
        &CvOptions::default(),
    )
    .unwrap();
    assert_eq!(vc.x_label, "C");
    assert_eq!(vc.points.len(), 2);
    assert!(
        smelt_eval::curves::learning_curve(
            &LogisticRegressionParams::default(),
            &data,
            &folds,
            acc,
            &[0.0],
            &CvOptions::default()
        )
        .is_err()
    );
}
