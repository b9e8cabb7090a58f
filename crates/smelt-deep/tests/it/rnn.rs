//! LSTM and GRU regressors through the estimator API; layer shapes; bad input; and the
//! forward pass against PyTorch's `nn.LSTM` / `nn.GRU` on fixtures.

use candle_core::{Device, Tensor, Var};
use smelt_core::rng::Rng;
use smelt_core::{Dataset, Fit, Prediction, Predictor, Target};
use smelt_deep::rnn::cell::{CellKind, Direction, Recurrent, RecurrentSpec};
use smelt_deep::rnn::{GRURegressorParams, LSTMRegressorParams, Rnn};
use smelt_testkit::{CheckEstimator, numeric};

/// Windows of a noisy sine with period 12: `y_lag1..y_lag{lags}`, a covariate `x_lag1..` (a
/// phase signal), a static feature `s`, target `y`.
pub(crate) fn sine_windows(n: usize, lags: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let len = n + lags;
    let series: Vec<f64> = (0..len)
        .map(|t| (t as f64 * std::f64::consts::TAU / 12.0).sin() * 10.0 + 50.0 + 0.3 * rng.normal())
        .collect();
    let cov: Vec<f64> = (0..len).map(|t| ((t % 12) as f64) / 12.0).collect();
    let mut features = Vec::new();
    let mut values = Vec::new();
    for (name, s) in [("y", &series), ("x", &cov)] {
        for k in 1..=lags {
            features.push(numeric(&format!("{name}_lag{k}")));
            values.extend((0..n).map(|i| s[i + lags - k]));
        }
    }
    features.push(numeric("s"));
    values.extend((0..n).map(|i| (i % 3) as f64));
    let y: Vec<f64> = (0..n).map(|i| series[i + lags]).collect();
    Dataset::new(
        n,
        values,
        features,
        Some(("y".into(), Target::Regression { values: y })),
    )
    .expect("dataset")
}

fn lstm() -> LSTMRegressorParams {
    LSTMRegressorParams::default().hidden_size(8).epochs(5)
}

fn values(p: Prediction) -> Vec<f64> {
    match p {
        Prediction::Regression { values } => values,
        other => panic!("not a regression: {other:?}"),
    }
}

#[test]
fn lstm_passes_the_estimator_suite() {
    let reg = smelt_deep::registry();
    CheckEstimator::new(&lstm(), &reg)
        .data(sine_windows(60, 4, 1))
        .invalid(lstm().hidden_size(0), "hidden_size")
        .invalid(lstm().num_layers(0), "num_layers")
        .invalid(lstm().dropout(1.0), "dropout")
        .run();
}

#[test]
fn gru_passes_the_estimator_suite() {
    let reg = smelt_deep::registry();
    CheckEstimator::new(
        &GRURegressorParams::default()
            .hidden_size(8)
            .epochs(5)
            .num_layers(2)
            .bidirectional(true),
        &reg,
    )
    .data(sine_windows(60, 4, 2))
    .run();
}

#[test]
fn learns_a_sine_and_beats_persistence() {
    let data = sine_windows(400, 12, 3);
    let train: Vec<usize> = (0..320).collect();
    let test: Vec<usize> = (320..400).collect();
    let (tr, te) = (
        data.select_rows(&train).expect("rows"),
        data.select_rows(&test).expect("rows"),
    );
    let Some(Target::Regression { values: y }) = te.target() else {
        panic!("no target")
    };
    let lag1 = te.column(te.feature_index("y_lag1").expect("lag1"));
    let rmse = |p: &[f64]| {
        (p.iter().zip(y).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / y.len() as f64).sqrt()
    };
    let persistence = rmse(lag1);
    for (name, model) in [
        (
            "lstm",
            Box::new(
                LSTMRegressorParams::default()
                    .hidden_size(16)
                    .epochs(60)
                    .fit(&tr)
                    .expect("fit"),
            ) as Box<dyn Predictor>,
        ),
        (
            "gru",
            Box::new(
                GRURegressorParams::default()
                    .hidden_size(16)
                    .epochs(60)
                    .fit(&tr)
                    .expect("fit"),
            ),
        ),
    ] {
        let err = rmse(&values(model.predict(&te).expect("predict")));
        assert!(
            err < 0.5 * persistence,
            "{name}: test RMSE {err} vs persistence {persistence}"
        );
    }
}

#[test]
fn stacked_bidirectional_layers_have_the_documented_shapes() {
    let dev = Device::Cpu;
    let mut rng = Rng::new(0);
    for kind in [CellKind::Lstm, CellKind::Gru] {
        let spec = RecurrentSpec {
            kind,
            inputs: 3,
            hidden: 5,
            layers: 2,
            bidirectional: true,
            dropout: 0.0,
        };
        let rec = Recurrent::new(&spec, &mut rng, &dev).expect("layers");
        assert_eq!(rec.layers.len(), 2);
        assert_eq!(rec.output_width().expect("width"), 10);
        // The second layer reads both directions of the first.
        let d = &rec.layers[1][0];
        assert_eq!(d.w_ih.as_tensor().dims(), [10, kind.gates() * 5]);
        assert_eq!(d.w_hh.as_tensor().dims(), [5, kind.gates() * 5]);
        let x = Tensor::randn(0f32, 1.0, (4, 7, 3), &dev).expect("x");
        let h = rec.forward(&x, false, &mut rng).expect("forward");
        assert_eq!(h.dims(), [4, 10]);
        let seq = rec.forward_sequence(&x).expect("sequence");
        assert_eq!(seq.dims(), [4, 7, 10]);
        // h_n: the forward direction's last step and the backward direction's first.
        let last = seq
            .narrow(1, 6, 1)
            .and_then(|t| t.squeeze(1))
            .expect("last");
        let first = seq
            .narrow(1, 0, 1)
            .and_then(|t| t.squeeze(1))
            .expect("first");
        let fwd = (h.narrow(1, 0, 5).expect("h") - last.narrow(1, 0, 5).expect("l"))
            .and_then(|d| d.abs()?.max_all()?.to_scalar::<f32>())
            .expect("diff");
        let bwd = (h.narrow(1, 5, 5).expect("h") - first.narrow(1, 5, 5).expect("f"))
            .and_then(|d| d.abs()?.max_all()?.to_scalar::<f32>())
            .expect("diff");
        assert!(fwd < 1e-6 && bwd < 1e-6, "{kind:?}: {fwd} {bwd}");
    }
}

#[test]
fn a_window_longer_than_the_sequences_is_an_error() {
    let data = sine_windows(40, 4, 4);
    let err = lstm().window(12).fit(&data).unwrap_err().to_string();
    assert!(
        err.contains("shorter than the window")
            && err.contains("`y_lag4`")
            && err.contains("--lags 12"),
        "{err}"
    );
    // A window within the lags uses the latest lags only.
    let model = lstm().window(2).fit(&data).expect("fit");
    assert_eq!(model.encoding().steps, 2);
}

#[test]
fn a_missing_lag_column_at_prediction_is_an_error_naming_it() {
    let data = sine_windows(40, 3, 5);
    let model = lstm().fit(&data).expect("fit");
    let names: Vec<String> = data
        .feature_names()
        .filter(|n| *n != "y_lag2")
        .map(str::to_string)
        .collect();
    let cols: Vec<usize> = names.iter().filter_map(|n| data.feature_index(n)).collect();
    let features = cols.iter().map(|&j| data.features()[j].clone()).collect();
    let values = cols.iter().flat_map(|&j| data.column(j).to_vec()).collect();
    let fewer = Dataset::new(data.n_rows(), values, features, None).expect("dataset");
    let err = model.predict(&fewer).unwrap_err().to_string();
    assert!(err.contains("`y_lag2`"), "{err}");
}

#[test]
fn missing_values_are_an_error_naming_the_feature() {
    let data = sine_windows(30, 3, 6);
    let j = data.feature_index("y_lag2").expect("column");
    let mut values = data.values().to_vec();
    values[j * 30 + 4] = f64::NAN;
    let bad =
        Dataset::new(30, values, data.features().to_vec(), data.named_target()).expect("dataset");
    let err = lstm().fit(&bad).unwrap_err().to_string();
    assert!(err.contains("`y_lag2`") && err.contains("row 4"), "{err}");
}

#[test]
fn predicts_the_level_with_or_without_delta() {
    // A trend the training rows never reach: the delta model follows it, the level model
    // cannot go far past the training range.
    let n = 200;
    let lags = 4;
    let series: Vec<f64> = (0..n + lags).map(|t| t as f64).collect();
    let mut features = Vec::new();
    let mut values = Vec::new();
    for k in 1..=lags {
        features.push(numeric(&format!("y_lag{k}")));
        values.extend((0..n).map(|i| series[i + lags - k]));
    }
    let y: Vec<f64> = (0..n).map(|i| series[i + lags]).collect();
    let data = Dataset::new(
        n,
        values,
        features,
        Some(("y".into(), Target::Regression { values: y })),
    )
    .expect("dataset");
    let train = data
        .select_rows(&(0..150).collect::<Vec<_>>())
        .expect("rows");
    let test = data
        .select_rows(&(150..200).collect::<Vec<_>>())
        .expect("rows");
    let model = LSTMRegressorParams::default()
        .hidden_size(8)
        .epochs(30)
        .fit(&train)
        .expect("fit");
    let p = values_of(&model, &test);
    let worst = p
        .iter()
        .enumerate()
        .map(|(i, v)| (v - (154 + i) as f64).abs())
        .fold(0.0, f64::max);
    assert!(worst < 2.0, "delta model off by {worst} on the trend");
}

fn values_of(model: &Rnn, data: &Dataset<f64>) -> Vec<f64> {
    values(model.predict(data).expect("predict"))
}

/// `crates/smelt-deep/tests/fixtures/rnn_reference.json`, written by
/// `tools/fixtures/make_rnn.py` with PyTorch.
#[derive(serde::Deserialize)]
struct Reference {
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    name: String,
    kind: String,
    input_size: usize,
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    /// `[batch, steps, input]`, flattened.
    x: Vec<f32>,
    batch: usize,
    steps: usize,
    /// PyTorch's parameters by name (`weight_ih_l0`, `bias_hh_l1_reverse`, …), flattened in
    /// PyTorch's layout.
    params: std::collections::HashMap<String, Vec<f32>>,
    /// The output sequence `[batch, steps, hidden · directions]`, flattened.
    output: Vec<f32>,
}

fn transpose(v: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0f32; v.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = v[r * cols + c];
        }
    }
    out
}

#[test]
fn forward_matches_pytorch() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/rnn_reference.json"
    );
    let text = std::fs::read_to_string(path).expect("fixture");
    let reference: Reference = serde_json::from_str(&text).expect("fixture JSON");
    let dev = Device::Cpu;
    assert!(reference.cases.len() >= 4);
    for case in &reference.cases {
        let kind = match case.kind.as_str() {
            "lstm" => CellKind::Lstm,
            "gru" => CellKind::Gru,
            other => panic!("unknown kind {other}"),
        };
        let g = kind.gates() * case.hidden_size;
        let dirs = if case.bidirectional { 2 } else { 1 };
        let var = |name: &str, shape: &[usize], v: Vec<f32>| {
            Var::from_tensor(&Tensor::from_vec(v, shape, &dev).expect(name)).expect(name)
        };
        let mut layers = Vec::new();
        for l in 0..case.num_layers {
            let fan_in = if l == 0 {
                case.input_size
            } else {
                case.hidden_size * dirs
            };
            let mut layer = Vec::new();
            for d in 0..dirs {
                let suffix = if d == 1 { "_reverse" } else { "" };
                let p = |what: &str| {
                    case.params
                        .get(&format!("{what}_l{l}{suffix}"))
                        .unwrap_or_else(|| panic!("{}: no {what}_l{l}{suffix}", case.name))
                        .clone()
                };
                layer.push(Direction {
                    w_ih: var("w_ih", &[fan_in, g], transpose(&p("weight_ih"), g, fan_in)),
                    w_hh: var(
                        "w_hh",
                        &[case.hidden_size, g],
                        transpose(&p("weight_hh"), g, case.hidden_size),
                    ),
                    b_ih: var("b_ih", &[g], p("bias_ih")),
                    b_hh: var("b_hh", &[g], p("bias_hh")),
                });
            }
            layers.push(layer);
        }
        let rec = Recurrent {
            kind,
            layers,
            dropout: 0.0,
        };
        let x = Tensor::from_vec(
            case.x.clone(),
            (case.batch, case.steps, case.input_size),
            &dev,
        )
        .expect("x");
        let out = rec
            .forward_sequence(&x)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .expect("forward");
        // The composed tensor operations (other devices' path) agree too.
        let composed = rec
            .forward_sequence_unfused(&x)
            .and_then(|t| t.flatten_all()?.to_vec1::<f32>())
            .expect("forward");
        for (path, out) in [("fused", &out), ("composed", &composed)] {
            assert_eq!(out.len(), case.output.len(), "{}", case.name);
            let worst = out
                .iter()
                .zip(&case.output)
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(
                worst < 1e-5,
                "{} ({path}): largest difference {worst}",
                case.name
            );
        }
    }
}

#[test]
fn a_batch_beyond_the_machine_is_refused_with_the_numbers() {
    // 50,000 units: the recurrent weights alone are 10¹⁰ values (with gradients and Adam's
    // moments, hundreds of GB); refused before anything is allocated.
    let data = sine_windows(40, 4, 7);
    let err = lstm()
        .hidden_size(50_000)
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("GB of memory") && err.contains("available") && err.contains("hidden_size"),
        "{err}"
    );
}
