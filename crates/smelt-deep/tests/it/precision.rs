//! Mixed precision (`precision=bf16|f16`): the passes in half precision, the weights kept and
//! updated in float32. Every network trains with it; the result tracks float32's without
//! equalling it (so the half-precision passes really ran); the saved model is float32. (Exact
//! resume in mixed precision: `mlp::resuming_after_an_interruption_matches_an_uninterrupted_fit`.)

use smelt_core::{Fit, Prediction, Predictor};
use smelt_deep::cnn::CNNClassifierParams;
use smelt_deep::mlp::MLPClassifierParams;
use smelt_deep::rnn::{GRURegressorParams, LSTMRegressorParams};
use smelt_deep::train::History;
use smelt_deep::train::precision::Precision;
use smelt_testkit::classification_data;

fn proba(m: &dyn Predictor, data: &smelt_core::Dataset<f64>) -> Vec<f64> {
    match m.predict(data).expect("predict") {
        Prediction::Classification { proba, .. } => proba.expect("proba").values,
        other => panic!("not a classification: {other:?}"),
    }
}

/// The loss fell to under `share` of the first epoch's.
fn learned(h: &History, share: f64, what: &str) {
    let (first, last) = (h.train_loss[0], h.train_loss[h.train_loss.len() - 1]);
    assert!(
        last.is_finite() && last < share * first,
        "{what}: training loss {first} -> {last}"
    );
}

fn mlp() -> MLPClassifierParams {
    MLPClassifierParams::default()
        .hidden_layer_sizes(vec![32])
        .learning_rate_init(0.01)
        .early_stopping(false)
        .epochs(40)
}

#[test]
fn mixed_precision_mlp_tracks_float32() {
    let data = classification_data(300, 4, 3, 7);
    let full = mlp().fit(&data).expect("f32 fit");
    let p32 = proba(&full, &data);
    for precision in [Precision::Bf16, Precision::F16] {
        let m = mlp().precision(precision).fit(&data).expect("mixed fit");
        let (h, h32) = (m.history(), full.history());
        learned(h, 0.5, precision.name());
        assert_ne!(
            h.train_loss, h32.train_loss,
            "{precision:?}: the same losses as float32 to the last bit"
        );
        let last = |h: &History| h.train_loss[h.train_loss.len() - 1];
        assert!(
            (last(h) - last(h32)).abs() < 0.05,
            "{precision:?}: final loss {} vs float32's {}",
            last(h),
            last(h32)
        );
        let gap = proba(&m, &data)
            .iter()
            .zip(&p32)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(
            gap < 0.15,
            "{precision:?}: probabilities {gap} from float32's"
        );
        // The saved model holds float32 weights and predicts as the fitted one.
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m");
        smelt_core::artifact::save(&m, &path, serde_json::Value::Null).expect("save");
        let back = smelt_core::artifact::load(&path, &smelt_deep::registry()).expect("load");
        assert_eq!(proba(back.model.as_ref(), &data), proba(&m, &data));
    }
}

#[test]
fn every_network_trains_in_bfloat16() {
    // CNN and ResNet (convolutions, batch norm and its statistics, pooling).
    let (train, test) = super::cnn::split(&super::cnn::digits(), 5);
    let (train, _) = super::cnn::split(&train, 3);
    for arch in [
        smelt_deep::cnn::Architecture::Cnn,
        smelt_deep::cnn::Architecture::Resnet,
    ] {
        let params = CNNClassifierParams::default()
            .architecture(arch)
            .channels(vec![8, 16])
            .dense_units(32)
            .epochs(3);
        let full = params.clone().fit(&train).expect("cnn fit");
        let m = params
            .precision(Precision::Bf16)
            .fit(&train)
            .expect("mixed cnn fit");
        let (h, h32) = (m.history(), full.history());
        learned(h, 0.9, &format!("{arch:?}"));
        let last = |h: &History| h.train_loss[h.train_loss.len() - 1];
        assert!(
            (last(h) - last(h32)).abs() < 0.1 * last(h32),
            "{arch:?}: final loss {} vs float32's {}",
            last(h),
            last(h32)
        );
        let p = proba(&m, &test);
        assert!(p.iter().all(|v| v.is_finite()), "{arch:?}: {p:?}");
    }
    // LSTM and GRU, stacked and bidirectional.
    let data = super::rnn::sine_windows(200, 12, 3);
    let lstm = LSTMRegressorParams::default()
        .hidden_size(8)
        .num_layers(2)
        .bidirectional(true)
        .epochs(8)
        .early_stopping(false)
        .precision(Precision::Bf16)
        .fit(&data)
        .expect("lstm fit");
    learned(lstm.history(), 0.7, "lstm");
    let gru = GRURegressorParams::default()
        .hidden_size(8)
        .epochs(8)
        .early_stopping(false)
        .precision(Precision::Bf16)
        .fit(&data)
        .expect("gru fit");
    learned(gru.history(), 0.8, "gru");
    // A transformer from scratch.
    let text = super::text::sentiment(160, 1);
    let full = super::text::small().epochs(6).fit(&text).expect("fit");
    let t = super::text::small()
        .epochs(6)
        .precision(Precision::Bf16)
        .fit(&text)
        .expect("transformer fit");
    let (h, h32) = (t.history(), full.history());
    learned(h, 0.98, "transformer");
    let last = |h: &History| h.train_loss[h.train_loss.len() - 1];
    assert!(
        (last(h) - last(h32)).abs() < 0.1 * last(h32),
        "transformer: final loss {} vs float32's {}",
        last(h),
        last(h32)
    );
}
