//! Tests of the compact forest layout: old files, bit-identical predictions, sizes.

use std::cell::Cell;
use std::path::{Path, PathBuf};

use smelt_core::rng::SplitMix64;
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Predictor, Target};

use super::*;
use crate::forest::{
    ClassWeightPreset, ForestClassWeight, RandomForestClassifier, RandomForestClassifierParams,
    RandomForestRegressor, RandomForestRegressorParams,
};

thread_local! {
    /// Makes this thread's forests save in format 1 (to write the old-file fixtures and
    /// compare sizes).
    pub(crate) static WRITE_V1: Cell<bool> = const { Cell::new(false) };
}

fn feature(name: String) -> Feature {
    Feature {
        name,
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

/// A noisy table as the automatic preprocessing hands it to a forest: 6 numeric columns
/// (3 with 5 % missing values, imputed by the mean 0 — or left NaN with `nan`, which
/// forests refuse),
/// 3 string categoricals one-hot encoded (4 + 6 + 8 columns), and a binary label with
/// logistic noise (~30 % positives) or a continuous target with heavy noise.
fn noisy_table(n: usize, seed: u64, nan: bool, regression: bool) -> Dataset<f64> {
    shaped_table(n, seed, nan, regression, 6, &[4, 6, 8])
}

/// [`noisy_table`] with `numeric` numeric columns and categoricals of `cats` categories.
fn shaped_table(
    n: usize,
    seed: u64,
    nan: bool,
    regression: bool,
    numeric: usize,
    cats_of: &[usize],
) -> Dataset<f64> {
    let mut rng = SplitMix64::new(seed);
    let mut cols: Vec<Vec<f64>> = Vec::new();
    let mut names = Vec::new();
    for j in 0..numeric {
        let mut c: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        if j < 3 {
            for v in c.iter_mut() {
                if rng.uniform() < 0.05 {
                    *v = if nan { f64::NAN } else { 0.0 };
                }
            }
        }
        cols.push(c);
        names.push(format!("x{j}"));
    }
    let mut cats = Vec::new();
    for (g, &m) in cats_of.iter().enumerate() {
        let codes: Vec<usize> = (0..n)
            .map(|_| (rng.uniform() * m as f64) as usize)
            .collect();
        for c in 0..m {
            cols.push(codes.iter().map(|&v| f64::from(u8::from(v == c))).collect());
            names.push(format!("cat{g}_{c}"));
        }
        cats.push(codes);
    }
    let score: Vec<f64> = (0..n)
        .map(|i| {
            let x = |j: usize| if cols[j][i].is_nan() { 0.0 } else { cols[j][i] };
            x(0) - 0.7 * x(1) + 0.5 * x(2) * x(3) + 0.3 * cats[0][i] as f64
                - 0.4 * (cats[1][i] % 3) as f64
                + rng.normal()
        })
        .collect();
    let target = if regression {
        Target::Regression {
            values: score.iter().map(|s| 1000.0 * s + 1e4).collect(),
        }
    } else {
        let codes = score
            .iter()
            .map(|&s| u32::from(rng.uniform() < 1.0 / (1.0 + (-(s - 1.0)).exp())))
            .collect();
        Target::Classification {
            codes,
            classes: vec!["no".into(), "yes".into()],
        }
    };
    let features = names.into_iter().map(feature).collect();
    Dataset::new(n, cols.concat(), features, Some(("y".into(), target))).expect("consistent shapes")
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn models(n: usize, trees: usize) -> Vec<(&'static str, Box<dyn Predictor>)> {
    let cls = noisy_table(n, 7, false, false);
    let reg = noisy_table(n, 8, false, true);
    vec![
        (
            "classifier",
            Box::new(
                RandomForestClassifierParams::default()
                    .n_estimators(trees)
                    .fit(&cls)
                    .expect("fit"),
            ),
        ),
        (
            "regressor",
            Box::new(
                RandomForestRegressorParams::default()
                    .n_estimators(trees)
                    .fit(&reg)
                    .expect("fit"),
            ),
        ),
        (
            "balanced",
            Box::new(
                RandomForestClassifierParams::default()
                    .n_estimators(trees)
                    .class_weight(ForestClassWeight::Preset(ClassWeightPreset::Balanced))
                    .fit(&cls)
                    .expect("fit"),
            ),
        ),
    ]
}

fn trees_of(m: &dyn Predictor) -> &[Tree] {
    let any = m.as_any().expect("forests are Any");
    if let Some(f) = any.downcast_ref::<RandomForestClassifier>() {
        f.trees().expect("whole")
    } else {
        any.downcast_ref::<RandomForestRegressor>()
            .expect("a random forest")
            .trees()
            .expect("whole")
    }
}

fn bits(p: &smelt_core::Prediction) -> Vec<u64> {
    match p {
        smelt_core::Prediction::Regression { values } => {
            values.iter().map(|v| v.to_bits()).collect()
        }
        smelt_core::Prediction::Classification { proba, .. } => proba
            .as_ref()
            .expect("proba")
            .values
            .iter()
            .map(|v| v.to_bits())
            .collect(),
        _ => unreachable!("forests predict values or classes"),
    }
}

fn size(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(smelt_core::artifact::ARRAYS))
        .expect("arrays file")
        .len()
}

/// Writes `tests/fixtures/forest_v1_*`: small forests saved in format 1 (the layout every
/// forest file had before `trees_format` 2) and their predictions on a noisy table.
#[test]
#[ignore = "writes the committed fixtures"]
fn write_v1_fixtures() {
    WRITE_V1.with(|c| c.set(true));
    let data = noisy_table(200, 11, false, false);
    for (name, m) in models(300, 5) {
        let dir = fixtures().join(format!("forest_v1_{name}"));
        smelt_core::artifact::save(m.as_ref(), &dir, serde_json::json!({})).expect("save");
        let p = bits(&m.predict(&data).expect("predict"));
        std::fs::write(
            dir.join("expected.json"),
            serde_json::to_string(&p).expect("json"),
        )
        .expect("write");
    }
    WRITE_V1.with(|c| c.set(false));
}

#[test]
fn old_files_still_load_and_predict_the_same() {
    let data = noisy_table(200, 11, false, false);
    for name in ["classifier", "regressor", "balanced"] {
        let dir = fixtures().join(format!("forest_v1_{name}"));
        let manifest = std::fs::read_to_string(dir.join("model.json")).expect("manifest");
        assert!(
            !manifest.contains("trees_format"),
            "{name} is a format-1 file"
        );
        let m = smelt_core::artifact::load(&dir, &crate::registry())
            .expect("load")
            .model;
        let expected: Vec<u64> =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        assert_eq!(bits(&m.predict(&data).unwrap()), expected, "{name}");
        // Saved again, it is a compact file with the same predictions.
        let tmp = tempfile::tempdir().unwrap();
        smelt_core::artifact::save(m.as_ref(), tmp.path(), serde_json::json!({})).unwrap();
        let back = smelt_core::artifact::load(tmp.path(), &crate::registry()).unwrap();
        assert_eq!(
            bits(&back.model.predict(&data).unwrap()),
            expected,
            "{name}"
        );
        assert!(size(tmp.path()) * 4 <= size(&dir), "{name}: compact ≤ 1/4");
    }
}

#[test]
fn inconsistent_compact_files_are_errors() {
    let (_, m) = models(300, 3).swap_remove(0);
    let tmp = tempfile::tempdir().unwrap();
    smelt_core::artifact::save(m.as_ref(), tmp.path(), serde_json::json!({})).unwrap();
    let path = tmp.path().join(smelt_core::artifact::MANIFEST);
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let n = |key: &str| good["model"][key].as_u64().unwrap();
    let cases = [
        ("n_trees", serde_json::json!(n("n_trees") + 1)),
        ("n_trees", serde_json::json!(u64::MAX)),
        ("n_trees", serde_json::json!(0)),
        ("n_nodes", serde_json::json!(n("n_nodes") + 1)),
        ("n_leaves", serde_json::json!(n("n_leaves") - 1)),
        ("n_leaves", serde_json::json!(n("n_leaves") + 1)),
        ("trees_format", serde_json::json!(3)),
        ("threshold", serde_json::json!({"$array": "leaf_samples"})),
        (
            "node_feature",
            serde_json::json!({"$array": "leaf_samples"}),
        ),
    ];
    for (key, value) in cases {
        let mut bad = good.clone();
        bad["model"][key] = value.clone();
        std::fs::write(&path, serde_json::to_vec(&bad).unwrap()).unwrap();
        let err = smelt_core::artifact::load(tmp.path(), &crate::registry()).map(|_| ());
        assert!(err.is_err(), "{key} = {value} loaded");
    }
}

#[test]
fn compact_files_predict_bit_identically_and_keep_the_trees() {
    let data = noisy_table(3000, 12, false, false);
    for (name, m) in models(4000, 8) {
        let (v1, v2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        WRITE_V1.with(|c| c.set(true));
        smelt_core::artifact::save(m.as_ref(), v1.path(), serde_json::json!({})).unwrap();
        WRITE_V1.with(|c| c.set(false));
        smelt_core::artifact::save(m.as_ref(), v2.path(), serde_json::json!({})).unwrap();
        let back = smelt_core::artifact::load(v2.path(), &crate::registry())
            .unwrap()
            .model;
        assert_eq!(
            bits(&back.predict(&data).unwrap()),
            bits(&m.predict(&data).unwrap()),
            "{name}"
        );
        assert_eq!(
            back.feature_importances(),
            m.feature_importances(),
            "{name}: importances bit-identical"
        );
        let ratio = size(v2.path()) as f64 / size(v1.path()) as f64;
        eprintln!(
            "{name}: {} → {} bytes ({ratio:.3})",
            size(v1.path()),
            size(v2.path())
        );
        assert!(ratio <= 0.25, "{name}: {ratio}");
        for (a, b) in trees_of(back.as_ref()).iter().zip(trees_of(m.as_ref())) {
            assert_eq!(a.feature, b.feature);
            assert_eq!((&a.left, &a.right), (&b.left, &b.right));
            assert_eq!(a.impurity, b.impurity);
            assert_eq!(a.n_node_samples, b.n_node_samples);
            assert_eq!(a.weighted_n_node_samples, b.weighted_n_node_samples);
            for i in 0..a.node_count() {
                if a.left[i] == LEAF_CHILD {
                    assert_eq!(
                        a.value[i * a.n_outputs..(i + 1) * a.n_outputs],
                        b.value[i * b.n_outputs..(i + 1) * b.n_outputs]
                    );
                } else {
                    assert_eq!(a.threshold[i], f64::from(f32_at_most(b.threshold[i])));
                }
            }
            for (x, y) in a.value.iter().zip(&b.value) {
                assert!(
                    (x - y).abs() <= VALUE_TOL * y.abs().max(1.0),
                    "{name}: {x} {y}"
                );
            }
        }
    }
}

/// The size benchmark of BENCHMARKS.md ("Random forest"): 100 trees on 200k rows (classifier)
/// and 50k rows (regressor) of the noisy shape (15 numeric columns, 3 of them with
/// 5 % imputed missing values, 3 categoricals one-hot encoded into 12 + 20 + 25 columns, a
/// noisy binary label or target), saved in both formats. Run optimised:
/// `cargo test -p smelt-trees --lib --config 'profile.dev.package.smelt-trees.opt-level=3'
/// --config 'profile.dev.package.smelt-core.opt-level=3' forest_file_sizes -- --ignored
/// --nocapture`.
#[test]
#[ignore = "benchmark: minutes"]
fn forest_file_sizes() {
    let shape = |n, seed, regression| shaped_table(n, seed, false, regression, 15, &[12, 20, 25]);
    let cls = shape(200_000, 21, false);
    let reg = shape(50_000, 23, true);
    let t = std::time::Instant::now();
    let c: Box<dyn Predictor> = Box::new(
        RandomForestClassifierParams::default()
            .n_estimators(100)
            .fit(&cls)
            .unwrap(),
    );
    eprintln!("classifier fit {:.1} s", t.elapsed().as_secs_f64());
    let t = std::time::Instant::now();
    let r: Box<dyn Predictor> = Box::new(
        RandomForestRegressorParams::default()
            .n_estimators(100)
            .fit(&reg)
            .unwrap(),
    );
    eprintln!("regressor fit {:.1} s", t.elapsed().as_secs_f64());
    for (name, m, test) in [
        ("classifier, 200k rows", c, shape(50_000, 22, false)),
        ("regressor, 50k rows", r, shape(50_000, 24, true)),
    ] {
        let nodes: usize = trees_of(m.as_ref()).iter().map(Tree::node_count).sum();
        let (v1, v2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        WRITE_V1.with(|c| c.set(true));
        smelt_core::artifact::save(m.as_ref(), v1.path(), serde_json::json!({})).unwrap();
        WRITE_V1.with(|c| c.set(false));
        smelt_core::artifact::save(m.as_ref(), v2.path(), serde_json::json!({})).unwrap();
        let p = bits(&m.predict(&test).unwrap());
        let mut diff = 0f64;
        for (format, dir) in [("format 1", v1.path()), ("compact", v2.path())] {
            let t = std::time::Instant::now();
            let back = smelt_core::artifact::load(dir, &crate::registry())
                .unwrap()
                .model;
            let load_s = t.elapsed().as_secs_f64();
            let q = bits(&back.predict(&test).unwrap());
            for (x, y) in p.iter().zip(&q) {
                diff = diff.max((f64::from_bits(*x) - f64::from_bits(*y)).abs());
            }
            eprintln!(
                "{name} ({nodes} nodes), {format}: {} bytes, load {load_s:.2} s, \
                 predictions bit-identical: {}",
                size(dir),
                p == q
            );
        }
        eprintln!(
            "{name}: ratio {:.3}, max abs diff {diff:e}",
            size(v2.path()) as f64 / size(v1.path()) as f64
        );
    }
}

#[test]
fn f32_thresholds_compare_like_f64_ones() {
    let mut rng = smelt_core::rng::Rng::new(3);
    for _ in 0..10_000 {
        let t = rng.normal() * 10f64.powi(rng.below(20) as i32 - 10);
        let x = (t + rng.normal() * t.abs() * 1e-7) as f32;
        assert_eq!(f64::from(x) <= t, x <= f32_at_most(t), "{x} {t}");
        let x = t as f32;
        assert_eq!(f64::from(x) <= t, x <= f32_at_most(t), "{x} {t}");
    }
    assert_eq!(f32_at_most(1e300), f32::MAX);
    assert_eq!(f32_at_most(-1e300), f32::NEG_INFINITY);
}
