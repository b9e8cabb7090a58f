//! `smelt_onnx::export`: models `smelt train` makes (the catalogue's default preprocessing in
//! front of each exportable estimator, fitted on `data/penguins.csv` — categorical columns and
//! missing values —) and imported XGBoost / LightGBM models (smelt-trees' import fixtures:
//! categorical splits, codes read as numbers, LightGBM's zero-as-missing, XGBoost's `x < t`)
//! export to graphs of the documented shape, and score what Smelt scores: the exported bytes
//! are loaded with [`OnnxModel`] and their outputs compared with `Predictor::predict`, to 1e-9
//! relative (1e-6 for XGBoost, which sums in `f32`). The check against onnxruntime itself is
//! `scripts/test-onnx-export`.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use prost::Message;
use serde_json::{Map, Value as Json, json};
use smelt_core::catalog::ModelInfo;
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Prediction, Predictor, Target};
use smelt_learn::catalog::auto_pipeline;
use smelt_onnx::OnnxModel;
use smelt_onnx::export::{ExportOptions, export, export_model, summary};
use smelt_onnx::interp::tensor::{Data, Value};
use smelt_onnx::pb::ModelProto;
use smelt_trees::ensemble::TreeEnsemble;
use smelt_trees::import::{lightgbm, xgboost};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A column of the penguins table: numbers, or labels (`None`: missing).
enum Col {
    Num(Vec<f64>),
    Text(Vec<Option<String>>),
}

/// `data/penguins.csv` by column name (a plain CSV: no quotes; an empty field is missing).
fn penguins_columns() -> Vec<(String, Col)> {
    let text = std::fs::read_to_string(repo().join("data/penguins.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    header
        .iter()
        .enumerate()
        .map(|(j, name)| {
            let cells: Vec<&str> = rows.iter().map(|r| r[j]).collect();
            let numeric = cells
                .iter()
                .all(|c| c.is_empty() || c.parse::<f64>().is_ok());
            let col = if numeric {
                Col::Num(
                    cells
                        .iter()
                        .map(|c| c.parse().unwrap_or(f64::NAN))
                        .collect(),
                )
            } else {
                Col::Text(
                    cells
                        .iter()
                        .map(|c| (!c.is_empty()).then(|| c.to_string()))
                        .collect(),
                )
            };
            (name.to_string(), col)
        })
        .collect()
}

/// Labels sorted, and each cell's code (NaN: missing).
fn codes(cells: &[Option<String>]) -> (Vec<String>, Vec<f64>) {
    let labels: Vec<String> = cells
        .iter()
        .flatten()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let codes = cells
        .iter()
        .map(|c| match c {
            Some(l) => labels.iter().position(|x| x == l).unwrap() as f64,
            None => f64::NAN,
        })
        .collect();
    (labels, codes)
}

/// The penguins with `target` taken out (rows without a target left out), the other columns as
/// features; `binary` turns the species into "Gentoo" / "other".
fn penguins(target: &str, binary: bool) -> Dataset<f64> {
    let cols = penguins_columns();
    let keep: Vec<usize> = match &cols.iter().find(|(n, _)| n == target).unwrap().1 {
        Col::Num(v) => (0..v.len()).filter(|&i| !v[i].is_nan()).collect(),
        Col::Text(v) => (0..v.len()).filter(|&i| v[i].is_some()).collect(),
    };
    let n = keep.len();
    let mut features = Vec::new();
    let mut values = Vec::new();
    let mut y = None;
    for (name, col) in cols {
        match col {
            Col::Num(v) => {
                let v: Vec<f64> = keep.iter().map(|&i| v[i]).collect();
                if name == target {
                    y = Some(Target::Regression { values: v });
                } else {
                    features.push(Feature {
                        name,
                        ltype: LogicalType::Numeric,
                        kind: FeatureKind::Numeric,
                    });
                    values.extend(v);
                }
            }
            Col::Text(v) => {
                let mut v: Vec<Option<String>> = keep.iter().map(|&i| v[i].clone()).collect();
                if name == target {
                    if binary {
                        for c in v.iter_mut().flatten() {
                            if c != "Gentoo" {
                                *c = "other".into();
                            }
                        }
                    }
                    let (classes, c) = codes(&v);
                    y = Some(Target::Classification {
                        codes: c.iter().map(|&x| x as u32).collect(),
                        classes,
                    });
                } else {
                    let (categories, c) = codes(&v);
                    features.push(Feature {
                        name,
                        ltype: LogicalType::Categorical,
                        kind: FeatureKind::Categorical { categories },
                    });
                    values.extend(c);
                }
            }
        }
    }
    Dataset::new(n, values, features, Some((target.into(), y.unwrap()))).unwrap()
}

/// The catalogue entry `name`, with test-sized parameters.
fn fit(name: &str, params: Json, data: &Dataset<f64>) -> Box<dyn Predictor> {
    let info: &ModelInfo = smelt_learn::catalog::models()
        .iter()
        .chain(smelt_trees::catalog::models())
        .find(|m| m.name == name)
        .unwrap();
    let params: Map<String, Json> = serde_json::from_value(params).unwrap();
    let est = info.build(params).unwrap();
    Box::new(auto_pipeline(info.prep, est).fit(data).unwrap())
}

/// The graph's output `name` as numbers or strings.
fn output<'a>(outs: &'a [(String, Value)], name: &str) -> &'a Data {
    let (_, v) = outs.iter().find(|(n, _)| n == name).unwrap();
    &v.tensor(name).unwrap().data
}

/// `|a - b| <= tol · max(1, |b|)` elementwise; returns the largest relative difference.
fn close(what: &str, got: &[f64], want: &[f64], tol: f64) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(err <= tol, "{what}[{i}]: ONNX {g}, Smelt {w}");
        worst = worst.max(err);
    }
    worst
}

/// Exports `model`, checks the graph's ports, scores `data` with the exported bytes and
/// compares with Smelt's predictions (printing the largest difference).
#[allow(
    clippy::print_stderr,
    reason = "test output: the measured deviation, read when a tolerance is tuned"
)]
fn check(what: &str, model: &dyn Predictor, data: &Dataset<f64>, tol: f64) -> ModelProto {
    let bytes = export(model, &ExportOptions::default()).unwrap();
    let proto = ModelProto::decode(bytes.as_slice()).unwrap();
    check_ports(what, model, &proto);
    let onnx = OnnxModel::from_bytes(&bytes).unwrap();
    // Loaded back, the file has the model's signature: its features (categories included, from
    // `smelt.inputs`) and its classes (`smelt.classes`).
    let kinds = |f: &[Feature]| -> Vec<(String, FeatureKind)> {
        f.iter().map(|f| (f.name.clone(), f.kind.clone())).collect()
    };
    assert_eq!(
        kinds(onnx.input_features()),
        kinds(model.input_features()),
        "{what}: features"
    );
    assert_eq!(onnx.output(), model.output(), "{what}: output");
    let outs = onnx.run(data).unwrap();
    match model.predict(data).unwrap() {
        Prediction::Regression { values } => {
            let Data::F64(got) = output(&outs, "variable") else {
                panic!("{what}: `variable` is not double");
            };
            let worst = close(what, got, &values, tol);
            eprintln!(
                "{what}: {} rows, max relative difference {worst:e}",
                values.len()
            );
        }
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => {
            let Data::Str(got) = output(&outs, "label") else {
                panic!("{what}: `label` is not a string");
            };
            let want: Vec<&str> = labels
                .iter()
                .map(|&c| classes[c as usize].as_str())
                .collect();
            assert_eq!(got, &want, "{what}: labels");
            let Data::F64(p) = output(&outs, "probabilities") else {
                panic!("{what}: `probabilities` is not double");
            };
            let worst = close(what, p, &proba.unwrap().values, tol);
            eprintln!(
                "{what}: {} rows, labels equal, max probability difference {worst:e}",
                got.len()
            );
        }
        other => panic!("{what}: unexpected prediction {other:?}"),
    }
    proto
}

/// One `[N, 1]` input per model input (double or string), the documented outputs, and the
/// metadata.
fn check_ports(what: &str, model: &dyn Predictor, proto: &ModelProto) {
    let s = summary(proto);
    let inputs: Vec<String> = s.inputs.iter().map(ToString::to_string).collect();
    let want: Vec<String> = model
        .input_features()
        .iter()
        .map(|f| match f.kind {
            FeatureKind::Numeric => format!("{} double[N,1]", f.name),
            FeatureKind::Categorical { .. } => format!("{} string[N,1]", f.name),
        })
        .collect();
    assert_eq!(inputs, want, "{what}: inputs");
    let outputs: Vec<String> = s.outputs.iter().map(ToString::to_string).collect();
    let meta = |key: &str| {
        proto
            .metadata_props
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.clone())
    };
    match model.output() {
        smelt_core::Output::Regression => {
            assert_eq!(outputs, ["variable double[N,1]"], "{what}");
            assert_eq!(meta("smelt.task").as_deref(), Some("regression"));
        }
        smelt_core::Output::Classification { classes, .. } => {
            let k = classes.len();
            assert_eq!(
                outputs,
                [
                    "label string[N]".to_string(),
                    format!("probabilities double[N,{k}]")
                ],
                "{what}"
            );
            let listed: Vec<String> =
                serde_json::from_str(&meta("smelt.classes").unwrap()).unwrap();
            assert_eq!(listed, classes, "{what}: classes");
        }
        smelt_core::Output::Clustering | smelt_core::Output::Embedding { .. } => {
            panic!("{what}: a clustering or embedding model exported")
        }
    }
    assert_eq!(proto.producer_name, "smelt");
    assert!(meta("smelt.kind").is_some() && meta("smelt.inputs").is_some());
    // No ZipMap, and no float-only operator on the numbers' path but the tree walk.
    assert!(
        s.ops.iter().all(|(op, _)| op != "ai.onnx.ml:ZipMap"),
        "{what}"
    );
}

#[test]
fn linear_models_on_penguins_match() {
    let reg = penguins("body_mass_g", false);
    for name in ["linear_regression", "ridge", "lasso", "elastic_net"] {
        let m = fit(name, json!({}), &reg);
        let proto = check(name, m.as_ref(), &reg, 1e-9);
        let ops: Vec<String> = summary(&proto).ops.into_iter().map(|(o, _)| o).collect();
        assert!(ops.contains(&"MatMul".to_string()), "{name}: {ops:?}");
        assert!(
            ops.contains(&"ai.onnx.ml:LabelEncoder".to_string()),
            "{name}"
        );
    }
    let multi = penguins("species", false);
    let m = fit("logistic_regression", json!({}), &multi);
    check("logistic_regression multinomial", m.as_ref(), &multi, 1e-9);
    let binary = penguins("species", true);
    let m = fit("logistic_regression", json!({}), &binary);
    check("logistic_regression binary", m.as_ref(), &binary, 1e-9);
}

#[test]
fn trees_and_forests_on_penguins_match() {
    let reg = penguins("body_mass_g", false);
    let multi = penguins("species", false);
    let binary = penguins("species", true);
    let small = json!({"n_estimators": 15});
    for (name, params) in [
        ("decision_tree_regressor", json!({})),
        ("random_forest_regressor", small.clone()),
        ("extra_trees_regressor", small.clone()),
    ] {
        let m = fit(name, params, &reg);
        check(name, m.as_ref(), &reg, 1e-9);
    }
    for (name, params) in [
        ("decision_tree_classifier", json!({})),
        ("random_forest_classifier", small.clone()),
        ("extra_trees_classifier", small.clone()),
    ] {
        for (task, data) in [("multi", &multi), ("binary", &binary)] {
            let m = fit(name, params.clone(), data);
            check(&format!("{name} {task}"), m.as_ref(), data, 1e-9);
        }
    }
}

#[test]
fn gradient_boosting_on_penguins_matches() {
    let reg = penguins("body_mass_g", false);
    for loss in ["squared_error", "absolute_error", "poisson"] {
        let m = fit(
            "hist_gradient_boosting_regressor",
            json!({"max_iter": 30, "loss": loss}),
            &reg,
        );
        let proto = check(&format!("hgb regressor {loss}"), m.as_ref(), &reg, 1e-9);
        // Native categories: no one-hot step, the splits read the labels.
        let s = summary(&proto);
        assert!(s.inputs.iter().any(|p| p.elem_type == "string"));
    }
    for (task, data) in [
        ("multi", penguins("species", false)),
        ("binary", penguins("species", true)),
    ] {
        let m = fit(
            "hist_gradient_boosting_classifier",
            json!({"max_iter": 30}),
            &data,
        );
        check(&format!("hgb classifier {task}"), m.as_ref(), &data, 1e-9);
    }
}

/// smelt-trees' import fixtures: the XGBoost / LightGBM model and its rows.
fn fixture(stem: &str) -> (TreeEnsemble, Dataset<f64>) {
    let dir = repo().join("crates/smelt-trees/tests/fixtures");
    let model = if stem.starts_with("import_xgb") {
        xgboost::from_json_file(dir.join(format!("{stem}.json"))).unwrap()
    } else {
        lightgbm::from_text_file(dir.join(format!("{stem}.txt"))).unwrap()
    };
    let text = std::fs::read_to_string(dir.join(format!("{stem}.expected.json"))).unwrap();
    let v: Json = serde_json::from_str(&text).unwrap();
    let names: Vec<String> = serde_json::from_value(v["feature_names"].clone()).unwrap();
    let rows: Vec<Vec<Option<f64>>> = serde_json::from_value(v["x"].clone()).unwrap();
    let (n, p) = (rows.len(), names.len());
    let mut values = vec![0.0; n * p];
    for (i, r) in rows.iter().enumerate() {
        for j in 0..p {
            values[j * n + i] = r[j].unwrap_or(f64::NAN);
        }
    }
    let cats: std::collections::HashMap<String, Vec<String>> =
        serde_json::from_value(v["categorical"].clone()).unwrap_or_default();
    let features = names
        .into_iter()
        .map(|name| match cats.get(&name) {
            Some(labels) => Feature {
                ltype: LogicalType::Categorical,
                kind: FeatureKind::Categorical {
                    categories: labels.clone(),
                },
                name,
            },
            None => Feature {
                name,
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            },
        })
        .collect();
    (model, Dataset::new(n, values, features, None).unwrap())
}

#[test]
fn imported_xgboost_and_lightgbm_models_match() {
    for stem in [
        "import_lgb_binary",
        "import_lgb_multi",
        "import_lgb_reg",
        "import_lgb_zero",
        "import_lgb_cat",
        "import_lgb_cat_codes",
        "import_xgb_binary",
        "import_xgb_multi",
        "import_xgb_reg",
        "import_xgb_cat",
        "import_xgb_cat_multi",
    ] {
        let (m, data) = fixture(stem);
        // XGBoost sums its leaves in f32, the graph in double (then rounds).
        let tol = if m.single_precision() { 1e-6 } else { 1e-9 };
        check(stem, &m, &data, tol);
    }
}

#[test]
fn unsupported_models_are_named() {
    let multi = penguins("species", false);
    let m = fit("gaussian_nb", json!({}), &multi);
    let err = export(m.as_ref(), &ExportOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("gaussian_nb") && msg.contains("supported:"),
        "{msg}"
    );

    let reg = penguins("body_mass_g", false);
    let m = fit("kmeans", json!({"n_clusters": 3}), &reg);
    let err = export(m.as_ref(), &ExportOptions::default()).unwrap_err();
    assert!(err.to_string().contains("clustering"), "{err}");
}

#[test]
fn metadata_and_options_are_written() {
    let reg = penguins("body_mass_g", false);
    let m = fit("ridge", json!({}), &reg);
    let opts = ExportOptions {
        graph_name: Some("penguins".into()),
        metadata: vec![("smelt.target".into(), "body_mass_g".into())],
    };
    let proto = export_model(m.as_ref(), &opts).unwrap();
    let graph = proto.graph.as_ref().unwrap();
    assert_eq!(graph.name, "penguins");
    let keys: Vec<&str> = proto
        .metadata_props
        .iter()
        .map(|e| e.key.as_str())
        .collect();
    for k in [
        "smelt.kind",
        "smelt.preprocessing",
        "smelt.inputs",
        "smelt.missing",
        "smelt.task",
        "smelt.target",
    ] {
        assert!(keys.contains(&k), "{k} missing from {keys:?}");
    }
    let prep = &proto
        .metadata_props
        .iter()
        .find(|e| e.key == "smelt.preprocessing")
        .unwrap()
        .value;
    assert!(
        prep.starts_with("column_transformer(numeric: simple_imputer > standard_scaler"),
        "{prep}"
    );
    let inputs: Json = serde_json::from_str(
        &proto
            .metadata_props
            .iter()
            .find(|e| e.key == "smelt.inputs")
            .unwrap()
            .value,
    )
    .unwrap();
    assert_eq!(inputs[0]["name"], "species");
    assert_eq!(inputs[0]["type"], "string");
    assert_eq!(
        inputs[0]["categories"],
        json!(["Adelie", "Chinstrap", "Gentoo"])
    );
    let opsets: Vec<(&str, i64)> = proto
        .opset_import
        .iter()
        .map(|o| (o.domain.as_str(), o.version))
        .collect();
    assert_eq!(opsets, [("", 17), ("ai.onnx.ml", 3)]);
    // A missing category is the empty string: the label encoder maps it to the missing code.
    let enc = graph
        .node
        .iter()
        .find(|n| n.op_type == "LabelEncoder")
        .unwrap();
    let keys = enc
        .attribute
        .iter()
        .find(|a| a.name == "keys_strings")
        .unwrap();
    assert!(keys.strings.iter().any(Vec::is_empty));
}
