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

/// A text model through the workflow: the free-text column reaches the network (and is not
/// reported as left out), the saved model reads it back from a file by name, and the
/// transformer beats the majority class clearly on the SMS table.
#[test]
fn a_transformer_reads_the_free_text_column_end_to_end() {
    let sms = data("sms_spam.csv", "label");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("model");
    let notes = std::sync::Mutex::new(Vec::<String>::new());
    let on_event = |e: smelt_workflow::Event<'_>| {
        if let smelt_workflow::Event::Note(n) = e {
            notes.lock().unwrap().push(n.to_string());
        }
    };
    let opts = TrainOptions {
        out: Some(&dir),
        on_event: Some(&on_event),
        ..TrainOptions::default()
    };
    let params = Params::parse(&[
        "epochs=2",
        "hidden_size=32",
        "num_heads=2",
        "num_layers=1",
        "intermediate_size=64",
        "vocab_size=3000",
        "max_length=48",
        "batch_size=64",
    ])
    .unwrap();
    let trained = train(&sms, "transformer", params, &opts).unwrap();
    let notes = notes.into_inner().unwrap();
    assert!(
        !notes.iter().any(|n| n.contains("`text`")),
        "the text column is an input, not left out: {notes:?}"
    );
    let accuracy = trained
        .valid_metrics
        .iter()
        .find(|(n, _)| *n == "accuracy")
        .map(|(_, v)| *v)
        .unwrap();
    // 86.8 % of the messages are ham.
    assert!(accuracy >= 0.95, "validation accuracy {accuracy}");
    let loaded = smelt_workflow::Model::load(&dir).unwrap();
    let a = trained
        .model
        .predict_file(&sms.path, &Default::default())
        .unwrap();
    let b = loaded.predict_file(&sms.path, &Default::default()).unwrap();
    assert!(a.equals_missing(&b));
    // A table without the text column is refused, naming it.
    let other = data("iris.csv", "target");
    let err = loaded
        .predict_file(&other.path, &Default::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("`text`"), "{err}");
}
