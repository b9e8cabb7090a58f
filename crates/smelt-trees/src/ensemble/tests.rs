#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use smelt_core::rng::Rng;
use smelt_core::{LogicalType, artifact};

use super::*;

fn numeric(n: usize) -> Vec<Feature> {
    crate::import::numeric_features((0..n).map(|j| format!("x{j}")).collect())
}

fn categorical(name: &str, labels: &[&str]) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Categorical,
        kind: FeatureKind::Categorical {
            categories: labels.iter().map(|s| s.to_string()).collect(),
        },
    }
}

/// One tree: a categorical split on feature 0 (`left_categories`, `flags`) between leaves
/// -1 (left) and +1 (right).
fn stump(left_categories: &[u32], flags: u8) -> Nodes {
    let mut nodes = Nodes::default();
    nodes.push_tree(0);
    nodes.push_categorical_node(0, left_categories, 1, 2, flags);
    nodes.push_node(LEAF, 0.0, 0, 0, 0, -1.0);
    nodes.push_node(LEAF, 0.0, 0, 0, 0, 1.0);
    nodes.end_tree();
    nodes
}

fn regressor(input: Vec<Feature>, nodes: Nodes, strict: bool, f32: bool) -> TreeEnsemble {
    TreeEnsemble::new(
        "test",
        input,
        1,
        vec![0.0],
        Objective::Identity,
        strict,
        f32,
        nodes,
    )
    .unwrap()
}

fn margin(m: &TreeEnsemble, row: &[f64]) -> f64 {
    let mut out = [0.0];
    m.predict_row_margins(row, &mut out).unwrap();
    out[0]
}

#[test]
fn categorical_split_sends_only_listed_codes_left() {
    for default in [0, DEFAULT_LEFT] {
        let m = regressor(numeric(1), stump(&[1, 3, 40], default), true, false);
        for (x, want) in [
            (1.0, -1.0),
            (3.0, -1.0),
            (40.0, -1.0),
            (0.0, 1.0),
            (2.0, 1.0),
            (39.0, 1.0),
            (41.0, 1.0),
            (64.0, 1.0),
            (1e9, 1.0),
            (-1.0, 1.0),
            (1.5, 1.0),
            (f64::INFINITY, 1.0),
            (f64::NEG_INFINITY, 1.0),
        ] {
            assert_eq!(margin(&m, &[x]), want, "x = {x}");
        }
        let nan = if default == DEFAULT_LEFT { -1.0 } else { 1.0 };
        assert_eq!(margin(&m, &[f64::NAN]), nan);
    }
    // An empty set sends every code right.
    let m = regressor(numeric(1), stump(&[], 0), true, false);
    assert_eq!(margin(&m, &[0.0]), 1.0);
}

#[test]
fn categorical_features_map_labels_and_reject_numeric_splits() {
    let input = vec![categorical("colour", &["blue", "green", "red"])];
    let m = regressor(input.clone(), stump(&[2], 0), false, false);
    // The data names its categories in another order: codes are mapped by label.
    let data = Dataset::new(
        3,
        vec![0.0, 1.0, 2.0],
        vec![categorical("colour", &["red", "blue", "green"])],
        None,
    )
    .unwrap();
    assert_eq!(m.raw_margins(&data).unwrap(), [-1.0, 1.0, 1.0]);
    let unseen = Dataset::new(1, vec![0.0], vec![categorical("colour", &["pink"])], None).unwrap();
    let e = m.raw_margins(&unseen).unwrap_err();
    assert!(matches!(e, CoreError::UnknownCategory { .. }), "{e}");
    // LightGBM's rule: an unseen label is missing (here: right).
    let m = m.with_unknown_category(UnknownCategory::Missing);
    assert_eq!(m.raw_margins(&unseen).unwrap(), [1.0]);

    let mut nodes = Nodes::default();
    nodes.push_tree(0);
    nodes.push_node(0, 0.5, 1, 2, 0, 0.0);
    nodes.push_node(LEAF, 0.0, 0, 0, 0, -1.0);
    nodes.push_node(LEAF, 0.0, 0, 0, 0, 1.0);
    nodes.end_tree();
    let e = TreeEnsemble::new(
        "test",
        input,
        1,
        vec![0.0],
        Objective::Identity,
        true,
        false,
        nodes,
    )
    .unwrap_err();
    assert!(
        e.contains("numeric split on the categorical feature `colour`"),
        "{e}"
    );
}

#[test]
fn validate_reports_bad_bitsets_and_shared_children() {
    let check = |nodes: &Nodes, want: &str| {
        let e = nodes.validate(1, 1).unwrap_err();
        assert!(e.contains(want), "{e}");
    };
    let mut n = stump(&[1], 0);
    n.threshold[0] = 1.0;
    check(&n, "category bitset 1 does not exist");
    let mut n = stump(&[1], 0);
    n.cat_bounds[1] = 2;
    check(&n, "do not span");
    let mut n = stump(&[1], 0);
    n.flags[0] |= MISSING_ZERO;
    check(&n, "only the NaN missing mode");
    let mut n = stump(&[1], 0);
    n.flags[0] |= 1 << 6;
    check(&n, "unknown flag bits");
    check(&stump(&[u32::MAX], 0), "covers more than");
    let mut n = stump(&[1], 0);
    n.right[0] = 1;
    check(&n, "already has a parent");
    let mut n = Nodes {
        cat_words: vec![1],
        ..stump(&[1], 0)
    };
    n.cat_bounds.clear();
    check(&n, "without bitset bounds");
}

#[test]
fn predict_row_checks_lengths() {
    let m = regressor(numeric(2), stump(&[0], 0), true, false);
    let mut out = [0.0];
    let e = m.predict_row_margins(&[1.0], &mut out).unwrap_err();
    assert!(e.to_string().contains("a row of 1 values"), "{e}");
    let e = m.predict_row_margins(&[1.0, 2.0], &mut []).unwrap_err();
    assert!(e.to_string().contains("room for 0 margins"), "{e}");
}

/// Random valid trees: numeric splits of every missing mode and categorical splits, the
/// nodes stored in a shuffled (non pre-order) layout.
pub(super) fn random_nodes(
    rng: &mut Rng,
    n_trees: usize,
    n_features: usize,
    groups: usize,
) -> Nodes {
    let mut nodes = Nodes::default();
    for t in 0..n_trees {
        nodes.push_tree(t % groups);
        // Breadth-first: node i's children get the next free indices.
        let leaves = 1 + rng.below(12);
        let internal = leaves - 1;
        let mut next = 1u32;
        for i in 0..internal + leaves {
            if i < internal {
                let (l, r) = (next, next + 1);
                next += 2;
                let f = rng.below(n_features) as u32;
                let default = if rng.below(2) == 0 { DEFAULT_LEFT } else { 0 };
                if rng.below(4) == 0 {
                    let cats: Vec<u32> = (0..rng.below(4)).map(|_| rng.below(40) as u32).collect();
                    nodes.push_categorical_node(f, &cats, l, r, default);
                } else {
                    let mode = [MISSING_NAN, MISSING_NONE, MISSING_ZERO][rng.below(3)];
                    let th = (rng.below(9) as f64 - 4.0) * 0.5;
                    nodes.push_node(f, th, l, r, mode | default, 0.0);
                }
            } else {
                nodes.push_node(LEAF, 0.0, 0, 0, 0, rng.normal());
            }
        }
        nodes.end_tree();
    }
    nodes
}

/// The leaf of tree `t` by the plain rules on the construction arrays.
fn reference_leaf(n: &Nodes, t: usize, x: &[f64], strict: bool) -> f64 {
    let base = n.tree_start[t];
    let mut i = base;
    while n.feature[i] != LEAF {
        let v = x[n.feature[i] as usize];
        let flags = n.flags[i];
        let dl = flags & DEFAULT_LEFT != 0;
        let left = if flags & CATEGORICAL != 0 {
            if v.is_nan() {
                dl
            } else {
                let k = n.threshold[i] as usize;
                let words = &n.cat_words[n.cat_bounds[k] as usize..n.cat_bounds[k + 1] as usize];
                v >= 0.0
                    && v.fract() == 0.0
                    && v < 32.0 * words.len() as f64
                    && words[v as usize / 32] >> (v as usize % 32) & 1 == 1
            }
        } else {
            let v0 = if v.is_nan() { 0.0 } else { v };
            let cmp = |v: f64| {
                if strict {
                    v < n.threshold[i]
                } else {
                    v <= n.threshold[i]
                }
            };
            match flags & MISSING_MASK {
                MISSING_NAN if v.is_nan() => dl,
                MISSING_NAN | MISSING_NONE => cmp(v0),
                _ if v0.abs() <= ZERO_THRESHOLD => dl,
                _ => cmp(v0),
            }
        };
        i = base + if left { n.left[i] } else { n.right[i] } as usize;
    }
    n.value[i]
}

#[test]
fn walk_layout_matches_the_plain_rules() {
    let mut rng = Rng::new(7);
    for (groups, strict, f32) in [
        (1, true, false),
        (1, false, false),
        (3, true, true),
        (1, true, true),
    ] {
        let p = 4;
        let nodes = random_nodes(&mut rng, 30, p, groups);
        let objective = if groups > 1 {
            Objective::Softmax
        } else {
            Objective::Identity
        };
        let m = TreeEnsemble::new(
            "test",
            numeric(p),
            groups,
            vec![0.25; groups],
            objective,
            strict,
            f32,
            nodes.clone(),
        )
        .unwrap();
        let n = 500;
        let values: Vec<f64> = (0..n * p)
            .map(|_| match rng.below(6) {
                0 => f64::NAN,
                1 => 0.0,
                2 => -(rng.below(3) as f64),
                3 => rng.below(50) as f64,
                _ => (rng.below(9) as f64 - 4.0) * 0.5 + if rng.below(2) == 0 { 0.0 } else { 0.25 },
            })
            .collect();
        let data = Dataset::new(n, values, numeric(p), None).unwrap();
        assert!(m.has_binned_batches());
        let batch = m.raw_margins(&data).unwrap();
        assert_eq!(
            m.clone().with_f64_batches().raw_margins(&data).unwrap(),
            batch
        );
        // A batch of a few rows walks them one by one: the same bits.
        let few = data.select_rows(&[3, 1, 4, 1, 5]).unwrap();
        let want: Vec<f64> = [3, 1, 4, 1, 5]
            .iter()
            .flat_map(|&i| batch[i * groups..(i + 1) * groups].to_vec())
            .collect();
        assert_eq!(m.raw_margins(&few).unwrap(), want);
        let mut out = vec![0.0; groups];
        for i in 0..n {
            let row = data.row(i);
            m.predict_row_margins(&row, &mut out).unwrap();
            assert_eq!(out, batch[i * groups..(i + 1) * groups], "row {i}");
            let x: Vec<f64> = row
                .iter()
                .map(|&v| if f32 { v as f32 as f64 } else { v })
                .collect();
            for (g, &got) in out.iter().enumerate() {
                let want = if f32 {
                    let mut acc = 0.25f32;
                    for t in (0..nodes.n_trees()).filter(|&t| nodes.tree_group[t] == g) {
                        acc += reference_leaf(&nodes, t, &x, strict) as f32;
                    }
                    acc as f64
                } else {
                    (0..nodes.n_trees())
                        .filter(|&t| nodes.tree_group[t] == g)
                        .map(|t| reference_leaf(&nodes, t, &x, strict))
                        .fold(0.25, |a, b| a + b)
                };
                assert_eq!(got, want, "row {i}, group {g}");
            }
        }
    }
}

#[test]
fn categorical_model_round_trips() {
    let mut rng = Rng::new(3);
    let nodes = random_nodes(&mut rng, 10, 3, 1);
    assert!(!nodes.cat_bounds.is_empty());
    let m =
        regressor(numeric(3), nodes, false, false).with_unknown_category(UnknownCategory::Missing);
    let dir = tempfile::tempdir().unwrap();
    artifact::save(&m, dir.path(), serde_json::json!({})).unwrap();
    let back = artifact::load(dir.path(), &crate::registry()).unwrap();
    let data = Dataset::new(
        4,
        (0..12).map(|v| v as f64 - 2.0).collect(),
        numeric(3),
        None,
    )
    .unwrap();
    assert_eq!(
        back.model.predict(&data).unwrap(),
        m.predict(&data).unwrap()
    );
    // Bitset bounds that do not match the words are caught on load.
    let path = dir.path().join("model.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["model"]["cat_bounds"]["$array"], "cat_bounds");
    v["model"]["cat_bounds"]["$array"] = "left".into();
    std::fs::write(&path, v.to_string()).unwrap();
    let e = artifact::load(dir.path(), &crate::registry()).unwrap_err();
    assert!(e.to_string().contains("category bitset"), "{e}");
}
