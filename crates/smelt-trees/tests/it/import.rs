//! XGBoost / LightGBM import: margins and probabilities equal the libraries' own predictions
//! to 1e-6 relative (fixtures from `tools/fixtures/import.py`: 20-tree models on
//! breast_cancer, iris and housing samples with 8 % of the values missing, and categorical
//! models on adult and penguins predicted through category labels), artifacts round-trip, and
//! damaged files or unsupported models fail with errors naming the file, tree and field.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use std::path::Path;

use serde_json::Value;
use smelt_core::{
    CoreError, Dataset, Feature, FeatureKind, LogicalType, Prediction, Predictor, artifact,
};
use smelt_trees::ensemble::TreeEnsemble;
use smelt_trees::import::{lightgbm, xgboost};

use crate::fixture;

/// Rows of an expected-values file as a dataset (null = missing), with the expected margins
/// and probabilities (row-major).
fn expected(stem: &str) -> (Dataset<f64>, Vec<f64>, Option<Vec<f64>>) {
    let text = std::fs::read_to_string(fixture(&format!("{stem}.expected.json"))).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let names: Vec<String> = serde_json::from_value(v["feature_names"].clone()).unwrap();
    let rows: Vec<Vec<Option<f64>>> = serde_json::from_value(v["x"].clone()).unwrap();
    let (n, p) = (rows.len(), names.len());
    let mut values = vec![0.0; n * p];
    for (i, r) in rows.iter().enumerate() {
        for j in 0..p {
            values[j * n + i] = r[j].unwrap_or(f64::NAN);
        }
    }
    // Categorical columns hold codes into the sorted labels (not the model's code order).
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
    let flat = |key: &str| -> Option<Vec<f64>> {
        let m: Option<Vec<Vec<f64>>> = serde_json::from_value(v[key].clone()).unwrap();
        m.map(|m| m.concat())
    };
    (
        Dataset::new(n, values, features, None).unwrap(),
        flat("margin").unwrap(),
        flat("proba"),
    )
}

/// `|a - e| <= tol · max(1, |e|)` elementwise.
#[allow(
    clippy::print_stderr,
    reason = "test output: the measured deviation, read when a tolerance is tuned"
)]
fn assert_close(what: &str, got: &[f64], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let mut worst = 0.0f64;
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let err = (g - w).abs() / w.abs().max(1.0);
        assert!(err <= tol, "{what}[{i}]: got {g}, expected {w}");
        worst = worst.max(err);
    }
    eprintln!("{what}: max relative error {worst:e}");
}

fn load(stem: &str) -> TreeEnsemble {
    if stem.starts_with("import_xgb") {
        xgboost::from_json_file(fixture(&format!("{stem}.json"))).unwrap()
    } else {
        lightgbm::from_text_file(fixture(&format!("{stem}.txt"))).unwrap()
    }
}

/// Margins and probabilities equal the library's, to 1e-6; a save / load round trip predicts
/// the same bits.
fn check(stem: &str, n_groups: usize, classes: Option<usize>) {
    check_trees(stem, 20 * n_groups, n_groups, classes);
}

/// [`check`] for a model of `n_trees` trees.
fn check_trees(stem: &str, n_trees: usize, n_groups: usize, classes: Option<usize>) {
    let m = load(stem);
    assert_eq!(m.n_trees(), n_trees, "{stem}: trees");
    assert_eq!(m.n_groups(), n_groups);
    let (data, margin, proba) = expected(stem);
    assert!(
        data.missing_counts().iter().sum::<usize>() > 0,
        "{stem}: no missing values"
    );
    let got = m.raw_margins(&data).unwrap();
    assert_close(&format!("{stem} margin"), &got, &margin, 1e-6);
    // The binned batch layout decides every split like the f64 walk: the same bits.
    assert!(m.has_binned_batches(), "{stem}: no binned layout");
    let f64_walk = m.clone().with_f64_batches().raw_margins(&data).unwrap();
    assert_eq!(got, f64_walk, "{stem}: binned and f64 batches differ");
    let pred = m.predict(&data).unwrap();
    match (&pred, classes) {
        (
            Prediction::Classification {
                labels,
                classes: names,
                proba: Some(p),
            },
            Some(k),
        ) => {
            let want = proba.expect("fixture has probabilities");
            assert_close(&format!("{stem} proba"), &p.values, &want, 1e-6);
            assert_eq!(names.len(), k);
            assert_eq!(names[k - 1], (k - 1).to_string());
            assert_eq!(labels, &p.argmax());
        }
        (Prediction::Regression { values }, None) => assert_eq!(values, &got),
        (other, _) => panic!("{stem}: unexpected prediction {other:?}"),
    }
    let dir = tempfile::tempdir().unwrap();
    artifact::save(&m, dir.path(), serde_json::json!({})).unwrap();
    let back = artifact::load(dir.path(), &smelt_trees::registry()).unwrap();
    assert_eq!(back.model.kind(), "tree_ensemble");
    assert_eq!(back.model.output(), m.output());
    assert_eq!(back.model.predict(&data).unwrap(), pred, "{stem}: reloaded");
}

#[test]
fn xgboost_binary_logistic_matches() {
    check("import_xgb_binary", 1, Some(2));
}

#[test]
fn xgboost_multi_softprob_matches() {
    check("import_xgb_multi", 3, Some(3));
}

#[test]
fn xgboost_regression_matches() {
    check("import_xgb_reg", 1, None);
}

#[test]
fn lightgbm_binary_matches() {
    check("import_lgb_binary", 1, Some(2));
}

#[test]
fn lightgbm_multiclass_matches() {
    check("import_lgb_multi", 3, Some(3));
}

#[test]
fn lightgbm_regression_matches() {
    // Trained without missing values: splits of missing type None (NaN read as 0).
    check("import_lgb_reg", 1, None);
}

#[test]
fn lightgbm_zero_as_missing_matches() {
    check("import_lgb_zero", 1, None);
}

#[test]
fn benchmark_model_matches() {
    // The 100-tree x 31-leaf model of benches/predict.rs and bench/predict.sh.
    check_trees("bench_lgb_100x31", 100, 1, Some(2));
}

#[test]
fn xgboost_categorical_partition_splits_match() {
    check("import_xgb_cat", 1, Some(2));
}

#[test]
fn xgboost_categorical_one_hot_splits_match() {
    check("import_xgb_cat_multi", 3, Some(3));
}

#[test]
fn lightgbm_categorical_matches() {
    check("import_lgb_cat", 1, Some(2));
}

#[test]
fn lightgbm_integer_coded_categorical_matches() {
    check("import_lgb_cat_codes", 3, Some(3));
}

fn categories(f: &Feature) -> Option<&[String]> {
    match &f.kind {
        FeatureKind::Categorical { categories } => Some(categories),
        FeatureKind::Numeric => None,
    }
}

#[test]
fn categorical_features_carry_the_model_labels() {
    // XGBoost's `cats` and LightGBM's `pandas_categorical`: labels in the library's code order
    // (first appearance in the training sample, so not sorted).
    for stem in ["import_xgb_cat", "import_lgb_cat"] {
        let m = load(stem);
        let input = m.input_features();
        let work = input.iter().find(|f| f.name == "workclass").unwrap();
        let labels = categories(work).unwrap();
        assert_eq!(labels[0], "Private", "{stem}");
        let mut sorted = labels.to_vec();
        sorted.sort();
        assert_ne!(sorted, labels, "{stem}");
        assert!(categories(input.iter().find(|f| f.name == "age").unwrap()).is_none());
    }
    // Trained on integer codes: numeric features whose values are the codes.
    let m = load("import_lgb_cat_codes");
    assert!(m.input_features().iter().all(|f| categories(f).is_none()));
    assert!(m.nodes().cat_words.iter().any(|&w| w != 0));
}

#[test]
fn unseen_categories_follow_the_library() {
    for stem in ["import_xgb_cat", "import_lgb_cat"] {
        let m = load(stem);
        let (data, _, _) = expected(stem);
        let j = data.feature_index("workclass").unwrap();
        let rows = data.select_rows(&[0, 1, 2]).unwrap();
        // Row values as they are, with `workclass` a label the model never saw ("Zz") or
        // missing.
        let with = |label: Option<&str>| {
            let mut features = rows.features().to_vec();
            let mut values: Vec<f64> = (0..rows.n_features())
                .flat_map(|c| rows.column(c).to_vec())
                .collect();
            let mut cats = categories(&features[j]).unwrap().to_vec();
            cats.push("Zz".into());
            features[j].kind = FeatureKind::Categorical {
                categories: cats.clone(),
            };
            let code = label.map_or(f64::NAN, |l| {
                cats.iter().position(|c| c == l).unwrap() as f64
            });
            values[j * 3..j * 3 + 3].fill(code);
            Dataset::new(3, values, features, None).unwrap()
        };
        let unseen = m.raw_margins(&with(Some("Zz")));
        if stem.contains("xgb") {
            let e = unseen.unwrap_err();
            assert!(
                matches!(&e, CoreError::UnknownCategory { name, value } if name == "workclass" && value == "Zz"),
                "{e}"
            );
        } else {
            // LightGBM: an unseen category is missing (NaN), which goes right like LightGBM.
            assert_eq!(unseen.unwrap(), m.raw_margins(&with(None)).unwrap());
        }
    }
}

#[test]
fn single_rows_match_the_batch() {
    for (stem, k) in [
        ("import_xgb_cat_multi", 3),
        ("import_lgb_cat", 1),
        ("import_lgb_zero", 1),
    ] {
        let m = load(stem);
        let (data, _, _) = expected(stem);
        let d = data
            .conform(m.input_features(), smelt_core::UnknownCategory::Error)
            .unwrap();
        let batch = m.raw_margins(&data).unwrap();
        let mut out = vec![0.0; k];
        for i in 0..d.n_rows() {
            let row: Vec<f64> = (0..d.n_features())
                .map(|j| {
                    if d.is_missing(i, j) {
                        f64::NAN
                    } else {
                        d.column(j)[i]
                    }
                })
                .collect();
            m.predict_row_margins(&row, &mut out).unwrap();
            assert_eq!(out, batch[i * k..(i + 1) * k], "{stem} row {i}");
        }
    }
}

#[test]
fn columns_are_matched_by_name() {
    let m = load("import_lgb_multi");
    let (data, margin, _) = expected("import_lgb_multi");
    let n = data.n_rows();
    let p = data.n_features();
    let order: Vec<usize> = (0..p).rev().collect();
    let values: Vec<f64> = order
        .iter()
        .flat_map(|&j| data.column(j).to_vec())
        .collect();
    let features = order.iter().map(|&j| data.features()[j].clone()).collect();
    let reversed = Dataset::new(n, values, features, None).unwrap();
    assert_close(
        "reversed",
        &m.raw_margins(&reversed).unwrap(),
        &margin,
        1e-6,
    );
    let fewer = reversed.select_rows(&[0, 1]).unwrap();
    assert_eq!(m.raw_margins(&fewer).unwrap().len(), 2 * 3);
    // A missing column is an error naming it.
    let cut = Dataset::new(
        n,
        values_without_first(&data),
        data.features()[1..].to_vec(),
        None,
    )
    .unwrap();
    let e = m.predict(&cut).unwrap_err();
    assert!(matches!(e, CoreError::MissingColumn { .. }), "{e}");
}

fn values_without_first(d: &Dataset<f64>) -> Vec<f64> {
    (1..d.n_features())
        .flat_map(|j| d.column(j).to_vec())
        .collect()
}

fn xgb_err(stem: &str, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(fixture(&format!("{stem}.json"))).unwrap();
    let e = xgboost::from_json_str(&edit(&text), Path::new("m.json")).unwrap_err();
    assert!(matches!(e, CoreError::Artifact { .. }), "{e}");
    let s = e.to_string();
    assert!(s.starts_with("m.json: "), "{s}");
    s
}

fn lgb_err(stem: &str, edit: impl Fn(&str) -> String) -> String {
    let text = std::fs::read_to_string(fixture(&format!("{stem}.txt"))).unwrap();
    let e = lightgbm::from_text_str(&edit(&text), Path::new("m.txt")).unwrap_err();
    assert!(matches!(e, CoreError::Artifact { .. }), "{e}");
    let s = e.to_string();
    assert!(s.starts_with("m.txt: "), "{s}");
    s
}

/// The JSON model with `f` applied to tree `t`.
fn edit_xgb_tree(text: &str, t: usize, f: impl Fn(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(text).unwrap();
    f(&mut v["learner"]["gradient_booster"]["model"]["trees"][t]);
    v.to_string()
}

#[test]
fn xgboost_damaged_files_are_reported() {
    let s = xgb_err("import_xgb_binary", |t| t[..t.len() / 2].to_string());
    assert!(s.contains("truncated"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 3, |tree| tree["left_children"] = serde_json::json!("x"))
    });
    assert!(s.contains("tree 3") && s.contains("left_children"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 2, |tree| {
            tree["split_conditions"].as_array_mut().unwrap().pop();
        })
    });
    assert!(
        s.contains("tree 2") && s.contains("split_conditions"),
        "{s}"
    );
    // A child pointing back up would loop forever.
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 1, |tree| tree["left_children"][0] = serde_json::json!(0))
    });
    assert!(
        s.contains("tree 1, node 0") && s.contains("left child"),
        "{s}"
    );
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 4, |tree| {
            tree["split_indices"][0] = serde_json::json!(99)
        })
    });
    assert!(
        s.contains("tree 4, node 0") && s.contains("feature 99"),
        "{s}"
    );
    let e = xgboost::from_json_file(fixture("no_such_model.json")).unwrap_err();
    assert!(matches!(e, CoreError::Io { .. }), "{e}");
}

#[test]
fn xgboost_unsupported_models_are_reported() {
    let s = xgb_err("import_xgb_reg", |t| {
        t.replace("\"reg:squarederror\"", "\"reg:gamma\"")
    });
    assert!(s.contains("objective `reg:gamma` is not supported"), "{s}");
    // A categorical split type without the category lists.
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 5, |tree| tree["split_type"][0] = serde_json::json!(1))
    });
    assert!(
        s.contains("tree 5, node 0: categorical split without categories"),
        "{s}"
    );
    let s = xgb_err("import_xgb_binary", |t| {
        edit_xgb_tree(t, 5, |tree| tree["split_type"][0] = serde_json::json!(2))
    });
    assert!(s.contains("tree 5, node 0: unknown split_type 2"), "{s}");
}

#[test]
fn lightgbm_damaged_files_are_reported() {
    let s = lgb_err("import_lgb_binary", |t| t[..t.len() / 2].to_string());
    assert!(s.contains("truncated"), "{s}");
    let s = lgb_err("import_lgb_binary", |t| {
        t.replacen("threshold=", "threshold=abc ", 3)
    });
    assert!(s.contains("tree 0") && s.contains("threshold"), "{s}");
    // Dropping one tree block: the header's tree count disagrees.
    let s = lgb_err("import_lgb_binary", |t| {
        let a = t.find("Tree=7\n").unwrap();
        let b = t.find("Tree=8\n").unwrap();
        format!("{}{}", &t[..a], &t[b..])
    });
    assert!(s.contains("trees"), "{s}");
    let s = lgb_err("import_lgb_binary", |t| {
        t.replacen("left_child=", "left_child=1 ", 2)
    });
    assert!(s.contains("left_child"), "{s}");
}

#[test]
fn lightgbm_unsupported_models_are_reported() {
    let s = lgb_err("import_lgb_reg", |t| {
        t.replace("objective=regression", "objective=poisson")
    });
    assert!(s.contains("objective `poisson` is not supported"), "{s}");
    // Decision type 9: categorical bit set on the first split of tree 0, which has no
    // category bitsets.
    let s = lgb_err("import_lgb_reg", |t| {
        let a = t.find("decision_type=").unwrap() + "decision_type=".len();
        let b = a + t[a..].find(' ').unwrap();
        format!("{}9{}", &t[..a], &t[b..])
    });
    assert!(s.contains("tree 0: missing field `cat_boundaries`"), "{s}");
}

#[test]
fn xgboost_other_objectives_and_boosters_are_reported() {
    for obj in [
        "rank:pairwise",
        "rank:ndcg",
        "reg:tweedie",
        "survival:cox",
        "binary:hinge",
    ] {
        let s = xgb_err("import_xgb_binary", |t| {
            t.replace("\"binary:logistic\"", &format!("\"{obj}\""))
        });
        assert!(
            s.contains(&format!("objective `{obj}` is not supported (supported: ")),
            "{s}"
        );
    }
    let s = xgb_err("import_xgb_binary", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["learner"]["gradient_booster"]["name"] = "gblinear".into();
        v.to_string()
    });
    assert!(s.contains("booster `gblinear` is not supported"), "{s}");
}

#[test]
fn xgboost_corrupted_files_are_reported() {
    // Cut anywhere: never a panic, always an error naming the file.
    let text = std::fs::read_to_string(fixture("import_xgb_cat.json")).unwrap();
    for cut in [0, 1, 10, text.len() / 3, text.len() - 2] {
        let s = xgb_err("import_xgb_cat", |_| text[..cut].to_string());
        assert!(s.contains("not a valid XGBoost JSON model"), "{s}");
    }
    let s = xgb_err("import_xgb_binary", |_| "\u{0}\u{1}binary{}".into());
    assert!(s.contains("not a valid XGBoost JSON model"), "{s}");
    let s = xgb_err("import_xgb_binary", |_| "{}".into());
    assert!(s.contains("missing field `learner`"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["learner"]["learner_model_param"]["num_feature"] = "4000000000".into();
        v.to_string()
    });
    assert!(s.contains("num_feature") && s.contains("too many"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["learner"]["learner_model_param"]["base_score"] = "[x]".into();
        v.to_string()
    });
    assert!(s.contains("base_score `[x]`"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["learner"]["gradient_booster"]["model"]["tree_info"]
            .as_array_mut()
            .unwrap()
            .pop();
        v.to_string()
    });
    assert!(s.contains("tree_info has 19 entries for 20 trees"), "{s}");
}

#[test]
fn xgboost_damaged_categorical_splits_are_reported() {
    // The first tree with a categorical split.
    let text = std::fs::read_to_string(fixture("import_xgb_cat.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap();
    let trees = v["learner"]["gradient_booster"]["model"]["trees"]
        .as_array()
        .unwrap();
    let t = trees
        .iter()
        .position(|tree| !tree["categories_nodes"].as_array().unwrap().is_empty())
        .unwrap();
    let s = xgb_err("import_xgb_cat", |text| {
        edit_xgb_tree(text, t, |tree| {
            tree["categories_segments"][0] = 10_000.into()
        })
    });
    assert!(
        s.contains(&format!("tree {t}: categorical split 0")) && s.contains("out of range"),
        "{s}"
    );
    let s = xgb_err("import_xgb_cat", |text| {
        edit_xgb_tree(text, t, |tree| tree["categories"][0] = (-3).into())
    });
    assert!(s.contains("category -3 is not a category code"), "{s}");
    let s = xgb_err("import_xgb_cat", |text| {
        edit_xgb_tree(text, t, |tree| tree["categories"][0] = (1i64 << 40).into())
    });
    assert!(s.contains("is not a category code"), "{s}");
    let s = xgb_err("import_xgb_cat", |text| {
        edit_xgb_tree(text, t, |tree| {
            tree["categories_sizes"].as_array_mut().unwrap().pop();
        })
    });
    assert!(s.contains("differ in length"), "{s}");
    let s = xgb_err("import_xgb_cat", |text| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["learner"]["gradient_booster"]["model"]["cats"]["enc"][1]["offsets"][1] = 9999.into();
        v.to_string()
    });
    assert!(s.contains("cats.enc[1]: `offsets` out of range"), "{s}");
    let s = xgb_err("import_xgb_cat", |text| {
        let mut v: Value = serde_json::from_str(text).unwrap();
        v["learner"]["feature_types"].as_array_mut().unwrap().pop();
        v.to_string()
    });
    assert!(s.contains("learner.feature_types has 13 entries"), "{s}");
}

#[test]
fn lightgbm_other_objectives_are_reported() {
    for obj in [
        "lambdarank",
        "rank_xendcg",
        "multiclassova num_class:3 sigmoid:1",
        "cross_entropy",
        "poisson",
        "regression sqrt",
    ] {
        let s = lgb_err("import_lgb_binary", |t| {
            t.replace("objective=binary sigmoid:1", &format!("objective={obj}"))
        });
        assert!(
            s.contains(&format!("objective `{obj}` is not supported (supported: ")),
            "{s}"
        );
    }
}

#[test]
fn lightgbm_corrupted_files_are_reported() {
    let text = std::fs::read_to_string(fixture("import_lgb_cat.txt")).unwrap();
    for cut in [0, 5, text.len() / 3, text.find("end of trees").unwrap()] {
        let s = lgb_err("import_lgb_cat", |_| text[..cut].to_string());
        assert!(
            s.contains("truncated") || s.contains("not a LightGBM text model"),
            "{s}"
        );
    }
    let s = lgb_err("import_lgb_binary", |_| "\u{0}\u{ff}garbage".into());
    assert!(s.contains("not a LightGBM text model"), "{s}");
    // Field errors name the line.
    let line = text
        .lines()
        .position(|l| l.starts_with("threshold="))
        .unwrap()
        + 1;
    let s = lgb_err("import_lgb_cat", |t| {
        t.replacen("threshold=", "threshold=abc ", 1)
    });
    assert!(
        s.contains(&format!("tree 0: field `threshold` (line {line}): `abc`")),
        "{s}"
    );
    let s = lgb_err("import_lgb_binary", |t| {
        t.replace("max_feature_idx=29", "max_feature_idx=99999999999")
    });
    assert!(s.contains("too many features"), "{s}");
    let s = lgb_err("import_lgb_binary", |t| {
        t.replace("max_feature_idx=29", "max_feature_idx=-1")
    });
    assert!(s.contains("header: field `max_feature_idx`"), "{s}");
    let s = lgb_err("import_lgb_binary", |t| {
        t.replacen("num_leaves=", "num_leaves=9", 1)
    });
    assert!(s.contains("tree 0: field `leaf_value`"), "{s}");
}

#[test]
fn lightgbm_damaged_categorical_splits_are_reported() {
    let text = std::fs::read_to_string(fixture("import_lgb_cat.txt")).unwrap();
    // The first tree with a categorical split, and its line numbers.
    let block = text.find("num_cat=1").unwrap();
    let t: usize = text[..block]
        .rfind("Tree=")
        .map(|a| text[a + 5..].lines().next().unwrap().parse().unwrap())
        .unwrap();
    let replace_in_tree = |t_text: &str, key: &str, value: &str| -> String {
        let a = t_text[block..].find(&format!("\n{key}=")).unwrap() + block + 1;
        let b = a + t_text[a..].find('\n').unwrap();
        format!("{}{key}={value}{}", &t_text[..a], &t_text[b..])
    };
    let s = lgb_err("import_lgb_cat", |x| {
        replace_in_tree(x, "cat_boundaries", "0 5")
    });
    assert!(
        s.contains(&format!("tree {t}: field `cat_boundaries` does not cut")),
        "{s}"
    );
    let s = lgb_err("import_lgb_cat", |x| {
        replace_in_tree(x, "cat_threshold", "1 x")
    });
    assert!(
        s.contains(&format!("tree {t}: field `cat_threshold` (line ")),
        "{s}"
    );
    // A categorical split whose threshold names a bitset that does not exist.
    let field = |key: &str| -> Vec<String> {
        let a = text[block..].find(&format!("\n{key}=")).unwrap() + block + key.len() + 2;
        let b = a + text[a..].find('\n').unwrap();
        text[a..b].split(' ').map(str::to_string).collect()
    };
    let node = field("decision_type")
        .iter()
        .position(|d| d.parse::<u8>().unwrap() & 1 == 1)
        .unwrap();
    let mut th = field("threshold");
    th[node] = "7".into();
    let s = lgb_err("import_lgb_cat", |x| {
        replace_in_tree(x, "threshold", &th.join(" "))
    });
    assert!(
        s.contains(&format!(
            "tree {t}, node {node}: field `threshold` is 7.0, not one of the 1 category bitsets"
        )),
        "{s}"
    );
    let s = lgb_err("import_lgb_cat", |x| {
        x.replace(
            "pandas_categorical:[[",
            "pandas_categorical:[[\"extra\"], [",
        )
    });
    assert!(
        s.contains("pandas_categorical has 9 category lists for 8 categorical features"),
        "{s}"
    );
    let s = lgb_err("import_lgb_cat", |x| {
        x.replace("pandas_categorical:[[", "pandas_categorical:[{")
    });
    assert!(s.contains("pandas_categorical: not a JSON list"), "{s}");
    let s = lgb_err("import_lgb_cat", |x| {
        x.replace(
            "pandas_categorical:[[\"Private\"",
            "pandas_categorical:[[\"Self-emp-inc\"",
        )
    });
    assert!(
        s.contains("category \"Self-emp-inc\" is listed twice"),
        "{s}"
    );
}

/// Inputs that once could panic or exhaust memory (found reviewing the parsers for the fuzz
/// targets in `fuzz/`): each is now an error naming the file and field.
#[test]
fn hostile_counts_and_indices_are_errors() {
    // A leaf child of i64::MIN overflowed `n_internal + !c`.
    let s = lgb_err("import_lgb_binary", |t| {
        t.replacen("left_child=", "left_child=-9223372036854775808 ", 1)
    });
    assert!(s.contains("tree 0") && s.contains("left_child"), "{s}");
    // A categorical threshold of 1e300 overflowed the bitset index.
    let s = lgb_err("import_lgb_cat", |x| {
        let block = x.find("num_cat=1").unwrap();
        let a = x[block..].find("\nthreshold=").unwrap() + block + "\nthreshold=".len();
        let d = x[block..].find("\ndecision_type=").unwrap() + block + "\ndecision_type=".len();
        let e = d + x[d..].find('\n').unwrap();
        let cat = x[d..e]
            .split(' ')
            .position(|v| v.parse::<u8>().unwrap() & 1 == 1)
            .unwrap();
        let b = a + x[a..].find('\n').unwrap();
        let mut th: Vec<&str> = x[a..b].split(' ').collect();
        th[cat] = "1e300";
        format!("{}{}{}", &x[..a], th.join(" "), &x[b..])
    });
    assert!(s.contains("field `threshold` is 1e300"), "{s}");
    // Output-group counts that would allocate per row.
    let s = lgb_err("import_lgb_multi", |t| {
        t.replace(
            "num_tree_per_iteration=3",
            "num_tree_per_iteration=4000000000",
        )
    });
    assert!(s.contains("num_tree_per_iteration is 4000000000"), "{s}");
    let s = xgb_err("import_xgb_multi", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        v["learner"]["learner_model_param"]["num_class"] = "1000000000000".into();
        v.to_string()
    });
    assert!(s.contains("too many classes"), "{s}");
    // A repeated feature name: such a model could never be given its columns.
    let s = lgb_err("import_lgb_multi", |t| {
        let a = t.find("feature_names=").unwrap() + "feature_names=".len();
        let b = a + t[a..].find('\n').unwrap();
        let names: Vec<&str> = t[a..b].split(' ').collect();
        let dup = vec![names[0]; names.len()].join(" ");
        format!("{}{dup}{}", &t[..a], &t[b..])
    });
    assert!(s.contains("appears twice"), "{s}");
    let s = xgb_err("import_xgb_binary", |t| {
        let mut v: Value = serde_json::from_str(t).unwrap();
        let names = v["learner"]["feature_names"].as_array_mut().unwrap();
        names[1] = names[0].clone();
        v.to_string()
    });
    assert!(s.contains("appears twice"), "{s}");
}
