//! The whole pipeline `smelt train` builds, against scikit-learn's on a real mixed-type table
//! with missing values (fixture: `tools/fixtures/pipeline.py`). Through the library API, on data
//! read by `smelt-data` exactly as the CLI reads it.
//!
//! Tolerances: probabilities 1e-5 (L-BFGS at tol 1e-10 on both sides); ridge predictions 1e-8.

use serde_json::Value;
use smelt_core::catalog::Prep;
use smelt_core::{Fit, Prediction, Predictor};
use smelt_data::{LoadOptions, load};
use smelt_learn::catalog::auto_pipeline;
use smelt_learn::linear::{LogisticRegressionParams, RidgeParams};

fn fixture() -> Value {
    let path = crate::repo_root().join("crates/smelt-cli/tests/fixtures/pipeline_penguins.json");
    let bytes = std::fs::read(path).expect("fixture file");
    serde_json::from_slice(&bytes).expect("fixture JSON")
}

#[test]
fn logistic_pipeline_matches_scikit_learn_on_penguins() {
    let fx = fixture();
    let path = crate::repo_root().join("data/penguins.csv");
    let loaded = load(&path, &LoadOptions::default().with_target("species")).unwrap();
    let data =
        smelt_data::convert::to_dataset::<f64>(&loaded.frame, &loaded.schema, &path).unwrap();
    let lr = LogisticRegressionParams {
        tol: 1e-10,
        max_iter: 10_000,
        ..Default::default()
    };
    let model = auto_pipeline(Prep::ImputeEncodeScale, Box::new(lr))
        .fit(&data)
        .unwrap();
    let Prediction::Classification {
        labels,
        classes,
        proba: Some(p),
    } = model.predict(&data).unwrap()
    else {
        panic!("classification with probabilities expected")
    };
    let expected_classes: Vec<String> = serde_json::from_value(fx["classes"].clone()).unwrap();
    assert_eq!(classes, expected_classes);
    let expected: Vec<Vec<f64>> = serde_json::from_value(fx["proba"].clone()).unwrap();
    assert_eq!(p.n_rows(), expected.len());
    for (i, row) in expected.iter().enumerate() {
        for (k, e) in row.iter().enumerate() {
            let got = p.row(i)[k];
            assert!((got - e).abs() < 1e-5, "row {i} class {k}: {got} vs {e}");
        }
    }
    let expected_labels: Vec<String> = serde_json::from_value(fx["labels"].clone()).unwrap();
    let got: Vec<&str> = labels
        .iter()
        .map(|&c| classes[c as usize].as_str())
        .collect();
    assert_eq!(got, expected_labels);
}

#[test]
fn ridge_pipeline_matches_scikit_learn_on_penguins() {
    let fx = fixture();
    // Rows with a known body mass (the target must not be missing).
    let text = std::fs::read_to_string(crate::repo_root().join("data/penguins.csv")).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, l)| *i == 0 || l.split(',').nth(5).is_some_and(|v| !v.is_empty()))
        .map(|(_, l)| l)
        .collect();
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("penguins_mass.csv");
    std::fs::write(&path, kept.join("\n") + "\n").unwrap();
    let loaded = load(&path, &LoadOptions::default().with_target("body_mass_g")).unwrap();
    let data = smelt_data::convert::to_dataset_with::<f64>(
        &loaded.frame,
        &loaded.schema,
        smelt_data::convert::TaskKind::Regression,
        &path,
    )
    .unwrap();
    let model = auto_pipeline(Prep::ImputeEncodeScale, Box::new(RidgeParams::default()))
        .fit(&data)
        .unwrap();
    let Prediction::Regression { values } = model.predict(&data).unwrap() else {
        panic!("regression expected")
    };
    let expected: Vec<f64> = serde_json::from_value(fx["ridge_predict"].clone()).unwrap();
    assert_eq!(values.len(), expected.len());
    for (i, (a, b)) in values.iter().zip(&expected).enumerate() {
        assert!(
            (a - b).abs() < 1e-8 * b.abs().max(1.0),
            "row {i}: {a} vs {b}"
        );
    }
}
