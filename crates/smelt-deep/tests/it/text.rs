//! Text classifiers: a transformer trained from scratch and a pretrained encoder fine-tuned
//! (fully and with LoRA), through the estimator API; the errors on bad text input.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use smelt_core::{
    CoreError, Dataset, Feature, FeatureKind, Fit, LogicalType, Prediction, Predictor, Target,
    TextColumn,
};
use smelt_deep::text::{FinetuneClassifierParams, TransformerClassifierParams};

/// `n` short texts whose class is decided by which of two word lists they draw from (with
/// shared filler words), and a numeric column the models must ignore.
pub(crate) fn sentiment(n: usize, seed: u64) -> Dataset<f64> {
    let good = [
        "great",
        "lovely",
        "perfect",
        "comfortable",
        "beautiful",
        "soft",
    ];
    let bad = [
        "awful",
        "cheap",
        "itchy",
        "returned",
        "tight",
        "disappointing",
    ];
    let filler = [
        "the", "dress", "fabric", "was", "really", "and", "fit", "colour",
    ];
    let mut rng = smelt_core::rng::Rng::new(seed);
    let mut texts = Vec::new();
    let mut codes = Vec::new();
    for i in 0..n {
        let class = (i % 2) as u32;
        let words = if class == 1 { &good } else { &bad };
        let mut t = Vec::new();
        for _ in 0..6 {
            t.push(filler[rng.below(filler.len())]);
        }
        t.insert(rng.below(t.len()), words[rng.below(words.len())]);
        t.insert(rng.below(t.len()), words[rng.below(words.len())]);
        texts.push(Some(t.join(" ")));
        codes.push(class);
    }
    let x = Feature {
        name: "x".into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    };
    let target = Target::Classification {
        codes,
        classes: vec!["no".into(), "yes".into()],
    };
    Dataset::new(n, vec![0.0; n], vec![x], Some(("liked".into(), target)))
        .unwrap()
        .with_texts(vec![TextColumn::new("review", texts)])
        .unwrap()
}

fn accuracy(p: &Prediction, data: &Dataset<f64>) -> f64 {
    let Prediction::Classification { labels, .. } = p else {
        panic!("not a classification")
    };
    let Some(Target::Classification { codes, .. }) = data.target() else {
        panic!("no classes")
    };
    labels.iter().zip(codes).filter(|(a, b)| a == b).count() as f64 / codes.len() as f64
}

fn roundtrip(model: &dyn Predictor) -> Box<dyn Predictor> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m");
    smelt_core::artifact::save(model, &path, serde_json::Value::Null).unwrap();
    smelt_core::artifact::load(&path, &smelt_deep::registry())
        .unwrap()
        .model
}

pub(crate) fn small() -> TransformerClassifierParams {
    TransformerClassifierParams::default()
        .hidden_size(32)
        .num_heads(2)
        .num_layers(1)
        .intermediate_size(64)
        .vocab_size(100)
        .max_length(16)
        .epochs(12)
}

#[test]
fn transformer_from_scratch_learns_words_and_round_trips() {
    let train = sentiment(240, 1);
    let test = sentiment(100, 2);
    let model = small().fit(&train).unwrap();
    let p = model.predict(&test).unwrap();
    let acc = accuracy(&p, &test);
    assert!(acc >= 0.9, "test accuracy {acc}");
    assert_eq!(model.input_features()[0].ltype, LogicalType::Text);
    assert_eq!(model.kind(), "transformer_classifier");
    let loaded = roundtrip(&model);
    let q = loaded.predict(&test).unwrap();
    let (
        Prediction::Classification { proba: Some(a), .. },
        Prediction::Classification { proba: Some(b), .. },
    ) = (&p, &q)
    else {
        panic!("no probabilities")
    };
    for (x, y) in a.values.iter().zip(&b.values) {
        assert!((x - y).abs() < 1e-6, "{x} vs {y}");
    }
    // Seeded: the same fit twice gives the same model.
    let again = small().fit(&train).unwrap().predict(&test).unwrap();
    let Prediction::Classification { proba: Some(c), .. } = &again else {
        panic!()
    };
    assert_eq!(a.values, c.values);
}

#[test]
fn bad_text_input_is_named() {
    let data = sentiment(20, 3);
    // No free-text column.
    let plain = data
        .select_rows(&(0..20).collect::<Vec<_>>())
        .unwrap()
        .with_texts(Vec::new())
        .unwrap();
    let err = small().fit(&plain).unwrap_err().to_string();
    assert!(err.contains("no free-text column"), "{err}");
    // A named column that is not there.
    let err = small()
        .text_columns(vec!["title".into()])
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`title`") && err.contains("review"), "{err}");
    // An empty text.
    let mut texts: Vec<Option<String>> = data.text("review").unwrap().values.clone();
    texts[7] = Some("   ".into());
    let holed = data
        .clone()
        .with_texts(vec![TextColumn::new("review", texts)])
        .unwrap();
    let err = small().fit(&holed).unwrap_err().to_string();
    assert!(err.contains("row 7"), "{err}");
    // Prediction on a table without the column.
    let model = small().epochs(1).fit(&data).unwrap();
    let err = model.predict(&plain).unwrap_err();
    assert!(
        matches!(&err, CoreError::MissingColumn { name, .. } if name == "review"),
        "{err:?}"
    );
}

/// The MiniLM directory, when present.
fn minilm() -> Option<std::path::PathBuf> {
    smelt_testkit::minilm_dir()
}

#[test]
fn finetuning_minilm_fully_and_with_lora() {
    let Some(dir) = minilm() else {
        eprintln!("skipped: no all-MiniLM-L6-v2 directory (scripts/fetch-minilm)");
        return;
    };
    let train = sentiment(48, 4);
    let test = sentiment(40, 5);
    let base = FinetuneClassifierParams::default()
        .encoder(dir.display().to_string())
        .max_length(16)
        .batch_size(8)
        .early_stopping(false);
    let full = base
        .clone()
        .epochs(2)
        .learning_rate_init(1e-4)
        .fit(&train)
        .unwrap();
    let acc = accuracy(&full.predict(&test).unwrap(), &test);
    assert!(acc >= 0.8, "fully fine-tuned accuracy {acc}");
    assert_eq!(full.kind(), "finetune_classifier");
    // LoRA: the encoder frozen, the update merged into the saved weights.
    let lora = base
        .lora_rank(4)
        .epochs(6)
        .learning_rate_init(5e-3)
        .fit(&train)
        .unwrap();
    let p = lora.predict(&test).unwrap();
    let acc = accuracy(&p, &test);
    assert!(acc >= 0.8, "LoRA accuracy {acc}");
    let q = roundtrip(&lora).predict(&test).unwrap();
    let (
        Prediction::Classification { proba: Some(a), .. },
        Prediction::Classification { proba: Some(b), .. },
    ) = (&p, &q)
    else {
        panic!("no probabilities")
    };
    for (x, y) in a.values.iter().zip(&b.values) {
        assert!(
            (x - y).abs() < 1e-4,
            "merged LoRA weights changed a probability: {x} vs {y}"
        );
    }
}

#[test]
fn finetune_without_an_encoder_says_where_it_looked() {
    let err = FinetuneClassifierParams::default()
        .encoder("/nonexistent/encoder".into())
        .fit(&sentiment(10, 6))
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/encoder"), "{err}");
}

/// Autograd against central finite differences (f64) through the text network's layers:
/// embeddings, LayerNorm, masked multi-head attention, GELU, mean pooling, the head — and
/// LoRA's factors on a frozen encoder.
#[test]
fn text_network_gradients_match_finite_differences() {
    use candle_core::{DType, Device, Tensor};
    use smelt_deep::encoder::config::{Activation, BertConfig};
    use smelt_deep::text::net::TextNet;
    use smelt_deep::train::{Loss, Network};

    let cfg = BertConfig {
        vocab_size: 11,
        hidden_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        intermediate_size: 12,
        hidden_act: Activation::Gelu,
        max_position_embeddings: 6,
        type_vocab_size: 1,
        layer_norm_eps: 1e-12,
        position_embedding_type: "absolute".into(),
        model_type: None,
    };
    let dev = Device::Cpu;
    // Two sequences, the second padded after 3 tokens.
    let ids = Tensor::new(&[[2u32, 5, 7, 9, 3], [2, 4, 3, 0, 0]], &dev).unwrap();
    let mask = Tensor::new(&[[1f32, 1., 1., 1., 1.], [1., 1., 1., 0., 0.]], &dev).unwrap();
    let target = Tensor::new(&[1u32, 0], &dev).unwrap();
    let inputs = [ids, mask];
    let check = |net: &TextNet| {
        let loss = |net: &TextNet| -> f64 {
            let mut rng = smelt_core::rng::Rng::new(0);
            let out = net.forward(&inputs, false, &mut rng).unwrap();
            Loss::CrossEntropy
                .compute(&out, &target)
                .unwrap()
                .to_scalar::<f64>()
                .unwrap()
        };
        let mut rng = smelt_core::rng::Rng::new(0);
        let out = net.forward(&inputs, false, &mut rng).unwrap();
        let grads = Loss::CrossEntropy
            .compute(&out, &target)
            .unwrap()
            .backward()
            .unwrap();
        let mut checked = 0;
        for var in net.vars() {
            let g = grads
                .get(&var)
                .expect("a gradient for every trained variable");
            let g: Vec<f64> = g.flatten_all().unwrap().to_vec1().unwrap();
            let base = var.as_tensor().copy().unwrap();
            let values: Vec<f64> = base.flatten_all().unwrap().to_vec1().unwrap();
            for k in (0..values.len()).step_by((values.len() / 4).max(1)) {
                let bump = |d: f64| {
                    let mut v = values.clone();
                    v[k] += d;
                    var.set(&Tensor::from_vec(v, base.shape(), &dev).unwrap())
                        .unwrap();
                    let y = loss(net);
                    var.set(&base).unwrap();
                    y
                };
                let eps = 1e-6;
                let numeric = (bump(eps) - bump(-eps)) / (2.0 * eps);
                assert!(
                    (numeric - g[k]).abs() <= 1e-6 + 1e-4 * numeric.abs(),
                    "variable of shape {:?}, entry {k}: autograd {} vs finite differences {numeric}",
                    base.dims(),
                    g[k]
                );
                checked += 1;
            }
        }
        checked
    };
    let mut net = TextNet::new_in(&cfg, 2, 0.0, 3, &dev, DType::F64).unwrap();
    assert!(check(&net) > 60);
    // LoRA: only A, B and the head are trained; B is set off zero so A gets a gradient.
    net.add_lora(2, 4.0, 5).unwrap();
    let vars = net.vars();
    assert_eq!(
        vars.len(),
        2 * 2 + 2,
        "A and B on query and value, and the head"
    );
    for v in &vars {
        if v.dims() == [2, 8] {
            let t = Tensor::randn(0f64, 0.3, (2, 8), &dev).unwrap();
            v.set(&t).unwrap();
        }
    }
    assert!(check(&net) > 10);
}

#[test]
fn a_batch_beyond_the_machine_is_refused_with_the_numbers() {
    // One text of 30,000 words: attention alone keeps heads × 30,000² values per layer.
    let long = vec!["fabric"; 30_000].join(" ");
    let texts = vec![Some(long), Some("short text".into())];
    let target = Target::Classification {
        codes: vec![0, 1],
        classes: vec!["no".into(), "yes".into()],
    };
    let data = Dataset::new(2, Vec::new(), Vec::new(), Some(("y".into(), target)))
        .unwrap()
        .with_texts(vec![TextColumn::new("t", texts)])
        .unwrap();
    let err = small()
        .max_length(40_000)
        .early_stopping(false)
        .fit(&data)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("GB of memory") && err.contains("available"),
        "{err}"
    );
}
