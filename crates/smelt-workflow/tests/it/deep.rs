//! Networks through the training workflow: per-epoch histories reach the tracker, saved
//! networks load and predict the same, and the MLP on Adult does at least as well as
//! logistic regression (the bar for a feed-forward network on tabular data).

use smelt_workflow::{Params, TrainOptions, train};

use crate::recorder::{Recorder, data};

#[test]
fn a_network_logs_its_loss_curves_per_epoch() {
    let penguins = data("penguins.csv", "species");
    let recorder = Recorder::default();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("model");
    let opts = TrainOptions {
        tracker: Some(&recorder),
        out: Some(&dir),
        ..TrainOptions::default()
    };
    let params = Params::parse(&["epochs=5", "hidden_layer_sizes=[16]"]).unwrap();
    let trained = train(&penguins, "mlp_classifier", params, &opts).unwrap();
    let calls = recorder.calls();
    for step in 1..=5 {
        for name in ["train_loss", "valid_loss", "learning_rate"] {
            let expected = format!("metric {name} @{step}");
            assert!(calls.contains(&expected), "{expected} in {calls:#?}");
        }
    }
    assert!(!calls.iter().any(|c| c == "metric train_loss @6"));
    let loaded = smelt_workflow::Model::load(&dir).unwrap();
    let a = trained
        .model
        .predict_file(&penguins.path, &Default::default())
        .unwrap();
    let b = loaded
        .predict_file(&penguins.path, &Default::default())
        .unwrap();
    assert!(a.equals_missing(&b));
    assert!(trained.valid_metrics.iter().any(|(n, _)| *n == "accuracy"));
}

/// Validation ROC AUC of `model` on Adult (the workflow's seeded 80/20 split).
fn adult_auc(model: &str, params: &[&str]) -> f64 {
    let adult = data("adult.csv", "income");
    let trained = train(
        &adult,
        model,
        Params::parse(params).expect("parameters"),
        &TrainOptions::default(),
    )
    .expect("trains");
    trained
        .valid_metrics
        .iter()
        .find(|(n, _)| *n == "roc_auc")
        .map(|(_, v)| *v)
        .expect("roc_auc among the validation metrics")
}

#[test]
fn the_mlp_on_adult_is_at_least_as_good_as_logistic_regression() {
    let logistic = adult_auc("logistic_regression", &[]);
    // Defaults but for a 20-epoch cap, to keep the dev-profile test short.
    let mlp = adult_auc("mlp_classifier", &["epochs=20"]);
    assert!(
        mlp >= logistic,
        "MLP validation AUC {mlp:.4} < logistic regression's {logistic:.4}"
    );
}
