//! Every fixture of `tests/fixtures/` (made by `tools/fixtures/onnx.py` with skl2onnx,
//! onnxmltools and onnxruntime): Smelt's engines must give onnxruntime's outputs, labels
//! exactly and numbers to 1e-5.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use smelt_core::{Dataset, FeatureKind, Prediction, Predictor};
use smelt_onnx::interp::Graph;
use smelt_onnx::interp::tensor::{Data, MapKeys, Tensor, Value};
use smelt_onnx::pb::ModelProto;
use smelt_onnx::{Engine, OnnxModel};

const TOL: f64 = 1e-5;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    json: Json,
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir())
        .expect("fixtures folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "onnx"))
        .collect();
    entries.sort();
    for p in entries {
        let name = p.file_stem().expect("stem").to_string_lossy().into_owned();
        let json: Json =
            serde_json::from_str(&std::fs::read_to_string(p.with_extension("json")).expect("json"))
                .expect("valid json");
        out.push(Case {
            name,
            bytes: std::fs::read(&p).expect("onnx"),
            json,
        });
    }
    assert!(
        out.len() >= 20,
        "expected the fixtures, found {}",
        out.len()
    );
    out
}

fn num(v: &Json) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn shape(v: &Json) -> Vec<usize> {
    v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect()
}

fn input_tensor(v: &Json) -> Tensor {
    let data = v["data"].as_array().expect("data");
    let d = match v["elem_type"].as_str().expect("type") {
        "float" => Data::F32(data.iter().map(|x| num(x) as f32).collect()),
        "double" => Data::F64(data.iter().map(num).collect()),
        "int64" => Data::I64(data.iter().map(|x| x.as_i64().expect("int")).collect()),
        "string" => Data::Str(
            data.iter()
                .map(|x| x.as_str().expect("str").to_string())
                .collect(),
        ),
        other => panic!("type {other}"),
    };
    Tensor::new(shape(v), d).expect("tensor")
}

fn inputs(c: &Case) -> Vec<(String, Value)> {
    c.json["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| {
            (
                i["name"].as_str().expect("name").to_string(),
                Value::Tensor(input_tensor(i)),
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= TOL * (1.0 + b.abs())
}

/// Compares one output with onnxruntime's; `Err` says how it differs.
fn compare(case: &str, want: &Json, got: &Value) -> Result<(), String> {
    let name = want["name"].as_str().expect("name");
    let data = want["data"].as_array().expect("data");
    let (values, strings): (Vec<f64>, Vec<String>) = match got {
        Value::Maps { keys, values } => {
            let want_keys: Vec<String> = want["keys"]
                .as_array()
                .expect("keys")
                .iter()
                .map(|k| k.as_str().map_or_else(|| k.to_string(), str::to_string))
                .collect();
            let got_keys: Vec<String> = match keys {
                MapKeys::Str(v) => v.clone(),
                MapKeys::I64(v) => v.iter().map(i64::to_string).collect(),
            };
            if want_keys != got_keys {
                return Err(format!("{case}/{name}: keys {got_keys:?} != {want_keys:?}"));
            }
            (values.iter().map(|&v| f64::from(v)).collect(), vec![])
        }
        Value::Tensor(t) => match &t.data {
            Data::Str(v) => (vec![], v.clone()),
            d => (d.to_f64().expect("numbers"), vec![]),
        },
    };
    if !strings.is_empty() || data.first().is_some_and(Json::is_string) {
        let want_s: Vec<String> = data
            .iter()
            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
            .collect();
        if strings != want_s {
            let bad: Vec<usize> = (0..want_s.len().min(strings.len()))
                .filter(|&i| strings[i] != want_s[i])
                .collect();
            return Err(format!(
                "{case}/{name}: {} strings differ (first rows {:?}), lengths {} vs {}",
                bad.len(),
                &bad[..bad.len().min(5)],
                strings.len(),
                want_s.len()
            ));
        }
        return Ok(());
    }
    if values.len() != data.len() {
        return Err(format!(
            "{case}/{name}: {} values, onnxruntime has {}",
            values.len(),
            data.len()
        ));
    }
    let mut worst = (0usize, 0.0f64);
    let mut bad = 0;
    for (i, (g, w)) in values.iter().zip(data).enumerate() {
        let w = num(w);
        if !close(*g, w) {
            bad += 1;
            let d = (g - w).abs();
            if d > worst.1 || worst.1.is_nan() {
                worst = (i, d);
            }
        }
    }
    if bad > 0 {
        let (i, d) = worst;
        return Err(format!(
            "{case}/{name}: {bad} of {} values differ; worst at {i}: {} vs onnxruntime {} (|d| = {d:e})",
            values.len(),
            values[i],
            num(&data[i])
        ));
    }
    Ok(())
}

fn check_outputs(c: &Case, got: &[(String, Value)], errors: &mut Vec<String>) {
    for want in c.json["outputs"].as_array().expect("outputs") {
        let name = want["name"].as_str().expect("name");
        match got.iter().find(|(n, _)| n == name) {
            Some((_, v)) => {
                if let Err(e) = compare(&c.name, want, v) {
                    errors.push(e);
                }
            }
            None => errors.push(format!("{}: no output `{name}`", c.name)),
        }
    }
}

#[test]
fn the_interpreter_gives_onnxruntimes_outputs_on_every_fixture() {
    let mut errors = Vec::new();
    for c in cases() {
        let proto: ModelProto = prost::Message::decode(c.bytes.as_slice()).expect("decode");
        let graph = match Graph::new(&proto) {
            Ok(g) => g,
            Err(e) => {
                errors.push(format!("{}: {e}", c.name));
                continue;
            }
        };
        match graph.run(inputs(&c)) {
            Ok(out) => check_outputs(&c, &out, &mut errors),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn tract_gives_onnxruntimes_outputs_on_the_standard_graphs() {
    let mut errors = Vec::new();
    let mut ran = 0;
    for c in cases() {
        let standard = c.json["ops"]
            .as_array()
            .expect("ops")
            .iter()
            .all(|o| o.as_str().is_some_and(|o| o.starts_with("ai.onnx:")));
        if !standard {
            continue;
        }
        let m = OnnxModel::from_bytes(&c.bytes).expect("loads");
        assert_eq!(m.engine(), Engine::Tract, "{}", c.name);
        let data = dataset(&m, &c);
        match m.run(&data) {
            Ok(out) => check_outputs(&c, &out, &mut errors),
            Err(e) => errors.push(format!("{}: {e}", c.name)),
        }
        ran += 1;
    }
    assert!(ran >= 3, "standard-op fixtures: {ran}");
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

/// The fixture's inputs as a Smelt dataset with the model's features (string inputs become
/// category codes; `""` is missing; rows holding a category the model does not know are
/// returned in `unseen`).
fn dataset_rows(m: &OnnxModel, c: &Case) -> (Dataset<f64>, Vec<usize>) {
    let feats = m.input_features().to_vec();
    let ins = inputs(c);
    let n = match &ins[0].1 {
        Value::Tensor(t) => t.shape[0],
        Value::Maps { .. } => unreachable!(),
    };
    let mut cols: Vec<Vec<f64>> = vec![Vec::with_capacity(n); feats.len()];
    let mut unseen = Vec::new();
    let mut at = 0;
    for (_, v) in &ins {
        let Value::Tensor(t) = v else { unreachable!() };
        let width = t.len() / n;
        for j in 0..width {
            let f = &feats[at + j];
            for i in 0..n {
                let k = i * width + j;
                cols[at + j].push(match (&t.data, &f.kind) {
                    (Data::Str(s), FeatureKind::Categorical { categories }) => {
                        if s[k].is_empty() {
                            f64::NAN
                        } else if let Some(p) = categories.iter().position(|c| c == &s[k]) {
                            p as f64
                        } else {
                            unseen.push(i);
                            f64::NAN
                        }
                    }
                    (d, _) => d.to_f64().expect("numbers")[k],
                });
            }
        }
        at += width;
    }
    let values = cols.into_iter().flatten().collect();
    (
        Dataset::new(n, values, feats, None).expect("dataset"),
        unseen,
    )
}

fn dataset(m: &OnnxModel, c: &Case) -> Dataset<f64> {
    dataset_rows(m, c).0
}

#[test]
fn onnx_models_predict_like_onnxruntime_through_the_predictor_interface() {
    let mut checked = 0;
    let mut errors = Vec::new();
    for c in cases() {
        let m = match OnnxModel::from_bytes(&c.bytes) {
            Ok(m) => m,
            Err(e) => {
                // Only the non-tabular fixture may be refused.
                if c.name != "label_encoder" {
                    errors.push(format!("{}: {e}", c.name));
                }
                continue;
            }
        };
        let (data, unseen) = dataset_rows(&m, &c);
        let pred = match m.predict(&data) {
            Ok(p) => p,
            Err(e) => {
                errors.push(format!("{}: {e}", c.name));
                continue;
            }
        };
        let outputs = c.json["outputs"].as_array().expect("outputs");
        match pred {
            Prediction::Classification {
                labels,
                classes,
                proba,
            } => {
                let want: Vec<String> = c.json["classes"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .map(|x| x.as_str().map_or_else(|| x.to_string(), str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                if !want.is_empty() && want != classes {
                    errors.push(format!("{}: classes {classes:?} != {want:?}", c.name));
                }
                let label_out = outputs.iter().find(|o| {
                    o["kind"] == "tensor"
                        && matches!(o["elem_type"].as_str(), Some("string" | "int64"))
                });
                if let Some(lo) = label_out {
                    for (i, (l, w)) in labels
                        .iter()
                        .zip(lo["data"].as_array().expect("data"))
                        .enumerate()
                    {
                        if unseen.contains(&i) {
                            continue;
                        }
                        let w = w.as_str().map_or_else(|| w.to_string(), str::to_string);
                        if classes[*l as usize] != w {
                            errors.push(format!(
                                "{}: row {i}: {} != {w}",
                                c.name, classes[*l as usize]
                            ));
                            break;
                        }
                    }
                }
                if let (Some(p), Some(po)) = (
                    proba,
                    outputs.iter().find(|o| {
                        o["kind"] == "zipmap"
                            || (o["elem_type"] == "float"
                                && o["shape"].as_array().is_some_and(|s| s.len() == 2))
                    }),
                ) {
                    let wd = po["data"].as_array().expect("data");
                    for (k, (g, w)) in p.values.iter().zip(wd).enumerate() {
                        if !unseen.contains(&(k / p.n_classes)) && !close(*g, num(w)) {
                            errors.push(format!("{}: proba {k}: {g} vs {}", c.name, num(w)));
                            break;
                        }
                    }
                }
            }
            Prediction::Regression { values } => {
                let w = outputs[0]["data"].as_array().expect("data");
                let width = w.len() / values.len().max(1);
                for (i, v) in values.iter().enumerate() {
                    if !close(*v, num(&w[i * width])) {
                        errors.push(format!(
                            "{}: row {i}: {v} vs {}",
                            c.name,
                            num(&w[i * width])
                        ));
                        break;
                    }
                }
            }
            Prediction::Clustering { .. } | Prediction::Embedding { .. } => {
                errors.push(format!("{}: clustering or embedding?", c.name));
            }
        }
        checked += 1;
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
    assert!(checked >= 19, "checked {checked}");
}

#[test]
fn string_inputs_get_the_categories_of_the_encoders_they_feed() {
    let c = cases()
        .into_iter()
        .find(|c| c.name == "penguins_pipeline")
        .expect("penguins fixture");
    let m = OnnxModel::from_bytes(&c.bytes).expect("loads");
    let cats = |name: &str| {
        m.input_features()
            .iter()
            .find(|f| f.name == name)
            .map(|f| match &f.kind {
                FeatureKind::Categorical { categories } => categories.clone(),
                FeatureKind::Numeric => vec![],
            })
            .expect("feature")
    };
    assert_eq!(cats("island"), ["Biscoe", "Dream", "Torgersen"]);
    assert_eq!(cats("sex"), ["female", "male"]);
    assert_eq!(m.engine(), Engine::Interpreter);
}
