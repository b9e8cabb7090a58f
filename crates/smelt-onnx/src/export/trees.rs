//! Tree models in ONNX without rounding their outputs to `float`.
//!
//! ONNX-ML's `TreeEnsembleRegressor` compares in `double` when its input is `double` and its
//! thresholds are given as `nodes_values_as_tensor`, but its output is `float`. So the trees
//! do not return leaf *values*: every leaf gets a number (its index among all leaves of the
//! model, exact in `float` below 2²⁴), each tree writes its leaf's number to its own output
//! column, and a `Gather` from a `double` table of leaf values turns the `[N, trees]` numbers
//! into values, which `ReduceSum` (forests, boosting) adds in `double`.
//!
//! This file holds that shared emitter ([`Forest`], [`leaf_values`]) and the CART models
//! (decision trees, random forests, extra trees). Those were grown on features rounded to
//! `f32` (scikit-learn's convention) with `x <= threshold` going left, so their input is
//! rounded the same way (`Cast` to `float` and back) before the comparisons.

use smelt_core::Predictor;
use smelt_trees::forest::{
    ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor,
};
use smelt_trees::tree::{DecisionTreeClassifier, DecisionTreeRegressor, LEAF_CHILD, Tree};

use super::Head;
use super::frame::{Ctx, Frame};
use super::graph::{f64_tensor, floats, int, ints, string, strings};
use crate::error::{OnnxError, Result};
use crate::pb::tensor_proto::DataType;

/// Leaf numbers must be exact in `float`.
const MAX_LEAVES: usize = 1 << 24;

/// How a split compares.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `x <= threshold` is the true branch.
    Leq,
    /// `x < threshold` is the true branch.
    Lt,
}

/// A node of a tree to emit.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Node {
    /// A leaf: its number among all leaves of the forest.
    Leaf(usize),
    /// A split on column `feature` of the input matrix; a missing value (NaN) takes the true
    /// branch when `missing_true`.
    Split {
        feature: usize,
        threshold: f64,
        mode: Mode,
        missing_true: bool,
        yes: usize,
        no: usize,
    },
}

/// Trees to emit (node indices are per tree) and the number of leaves in all.
#[derive(Clone, Debug, Default)]
pub(crate) struct Forest {
    pub(crate) trees: Vec<Vec<Node>>,
    pub(crate) n_leaves: usize,
}

impl Forest {
    /// A tree numbering its leaves after those of the trees already added: `node(i, next)`
    /// describes node `i`, `next` being the number of its leaf (if it is one).
    pub(crate) fn push(&mut self, n_nodes: usize, mut node: impl FnMut(usize, usize) -> Node) {
        let mut tree = Vec::with_capacity(n_nodes);
        for i in 0..n_nodes {
            let nd = node(i, self.n_leaves);
            if matches!(nd, Node::Leaf(_)) {
                self.n_leaves += 1;
            }
            tree.push(nd);
        }
        self.trees.push(tree);
    }

    /// The `[N, trees]` `int64` leaf numbers each row reaches, from the `double` matrix `x`.
    pub(crate) fn leaf_ids(&self, cx: &mut Ctx, x: &str) -> Result<String> {
        if self.n_leaves >= MAX_LEAVES {
            return Err(OnnxError::Export(format!(
                "the trees have {} leaves; at most {} export (leaf numbers must be exact in \
                 float)",
                self.n_leaves,
                MAX_LEAVES - 1
            )));
        }
        let mut a = Attrs::default();
        for (t, tree) in self.trees.iter().enumerate() {
            for (i, nd) in tree.iter().enumerate() {
                a.tree.push(t as i64);
                a.node.push(i as i64);
                match *nd {
                    Node::Leaf(id) => {
                        a.feature.push(0);
                        a.mode.push("LEAF".into());
                        a.value.push(0.0);
                        a.yes.push(0);
                        a.no.push(0);
                        a.missing.push(0);
                        a.target_tree.push(t as i64);
                        a.target_node.push(i as i64);
                        a.target_id.push(t as i64);
                        a.weight.push(id as f32);
                    }
                    Node::Split {
                        feature,
                        threshold,
                        mode,
                        missing_true,
                        yes,
                        no,
                    } => {
                        a.feature.push(feature as i64);
                        a.mode.push(
                            match mode {
                                Mode::Leq => "BRANCH_LEQ",
                                Mode::Lt => "BRANCH_LT",
                            }
                            .into(),
                        );
                        a.value.push(threshold);
                        a.yes.push(yes as i64);
                        a.no.push(no as i64);
                        a.missing.push(i64::from(missing_true));
                    }
                }
            }
        }
        let ids = cx.g.ml_op(
            "TreeEnsembleRegressor",
            &[x],
            vec![
                int("n_targets", self.trees.len() as i64),
                string("aggregate_function", "SUM"),
                string("post_transform", "NONE"),
                ints("nodes_treeids", a.tree),
                ints("nodes_nodeids", a.node),
                ints("nodes_featureids", a.feature),
                strings("nodes_modes", &a.mode),
                f64_tensor("nodes_values_as_tensor", a.value),
                ints("nodes_truenodeids", a.yes),
                ints("nodes_falsenodeids", a.no),
                ints("nodes_missing_value_tracks_true", a.missing),
                ints("target_treeids", a.target_tree),
                ints("target_nodeids", a.target_node),
                ints("target_ids", a.target_id),
                floats("target_weights", a.weight),
            ],
        );
        Ok(cx.g.cast(&ids, DataType::Int64))
    }
}

#[derive(Default)]
struct Attrs {
    tree: Vec<i64>,
    node: Vec<i64>,
    feature: Vec<i64>,
    mode: Vec<String>,
    value: Vec<f64>,
    yes: Vec<i64>,
    no: Vec<i64>,
    missing: Vec<i64>,
    target_tree: Vec<i64>,
    target_node: Vec<i64>,
    target_id: Vec<i64>,
    weight: Vec<f32>,
}

/// `[N, trees, k]` (`k > 1`) or `[N, trees]` (`k = 1`) `double` leaf values: `values` is the
/// `n_leaves × k` table (row-major) indexed by the leaf numbers `ids`.
pub(crate) fn leaf_values(cx: &mut Ctx, ids: &str, values: &[f64], k: usize) -> String {
    let n = values.len() / k.max(1);
    let dims: Vec<usize> = if k == 1 { vec![n] } else { vec![n, k] };
    let table = cx.g.f64s("leaf_values", &dims, values);
    cx.g.op("Gather", &[&table, ids], vec![int("axis", 0)])
}

/// Sum over axis 1 (the trees), keeping it or not.
pub(crate) fn sum_trees(cx: &mut Ctx, x: &str, keepdims: bool) -> String {
    let axes = cx.g.i64s("axes", &[1], &[1]);
    cx.g.op(
        "ReduceSum",
        &[x, &axes],
        vec![int("keepdims", i64::from(keepdims))],
    )
}

/// The head of `model` if it is a CART tree or forest, else `None`.
pub(crate) fn export(cx: &mut Ctx, frame: &Frame, model: &dyn Predictor) -> Option<Result<Head>> {
    let any = model.as_any()?;
    let (trees, classes, mean): (smelt_core::Result<&[Tree]>, Option<&[String]>, bool) =
        if let Some(m) = any.downcast_ref::<DecisionTreeRegressor>() {
            (Ok(std::slice::from_ref(m.tree())), None, false)
        } else if let Some(m) = any.downcast_ref::<DecisionTreeClassifier>() {
            (Ok(std::slice::from_ref(m.tree())), Some(m.classes()), false)
        } else if let Some(m) = any.downcast_ref::<RandomForestRegressor>() {
            (m.trees(), None, true)
        } else if let Some(m) = any.downcast_ref::<ExtraTreesRegressor>() {
            (m.trees(), None, true)
        } else if let Some(m) = any.downcast_ref::<RandomForestClassifier>() {
            (m.trees(), Some(m.classes()), true)
        } else if let Some(m) = any.downcast_ref::<ExtraTreesClassifier>() {
            (m.trees(), Some(m.classes()), true)
        } else {
            return None;
        };
    let trees: Vec<&Tree> = match trees {
        Ok(t) => t.iter().collect(),
        Err(e) => return Some(Err(OnnxError::Export(e.to_string()))),
    };
    Some(cart(cx, frame, model, &trees, classes, mean))
}

/// Decision trees and forests: leaf values (class fractions or means) summed over the trees,
/// divided by their number for a forest (`mean`), as `sum_trees` + division in Smelt.
fn cart(
    cx: &mut Ctx,
    frame: &Frame,
    model: &dyn Predictor,
    trees: &[&Tree],
    classes: Option<&[String]>,
    mean: bool,
) -> Result<Head> {
    if trees.is_empty() {
        return Err(OnnxError::Export(format!("{} has no trees", model.kind())));
    }
    let sub = frame.select(model.input_features(), model.kind())?;
    let cols = sub.numeric(model.kind())?;
    let x = cx.block(&cols)?;
    let x = cx.round_f32(&x);
    let k = classes.map_or(1, <[String]>::len);
    let mut forest = Forest::default();
    let mut values: Vec<f64> = Vec::new();
    for t in trees {
        if t.n_outputs != k {
            return Err(OnnxError::Export(format!(
                "{}: a tree has {} outputs, the model {k}",
                model.kind(),
                t.n_outputs
            )));
        }
        forest.push(t.node_count(), |i, next| {
            if t.left[i] == LEAF_CHILD {
                values.extend_from_slice(&t.value[i * k..(i + 1) * k]);
                Node::Leaf(next)
            } else {
                Node::Split {
                    feature: t.feature[i] as usize,
                    threshold: t.threshold[i],
                    mode: Mode::Leq,
                    missing_true: false,
                    yes: t.left[i] as usize,
                    no: t.right[i] as usize,
                }
            }
        });
    }
    let ids = forest.leaf_ids(cx, &x)?;
    let v = leaf_values(cx, &ids, &values, k);
    let average = |cx: &mut Ctx, s: String| {
        if mean {
            let n_trees = cx.g.f64_scalar("n_trees", trees.len() as f64);
            cx.g.op("Div", &[&s, &n_trees], vec![])
        } else {
            s
        }
    };
    match classes {
        None => {
            let s = sum_trees(cx, &v, true);
            let value = average(cx, s);
            Ok(Head::Regression { value })
        }
        Some(classes) => {
            let s = sum_trees(cx, &v, false);
            let proba = average(cx, s);
            Ok(super::classify_proba(cx, proba, classes.to_vec()))
        }
    }
}
