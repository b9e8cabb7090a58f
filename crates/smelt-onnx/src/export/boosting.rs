//! Boosted trees: Smelt's histogram gradient boosting and imported XGBoost / LightGBM models,
//! all held by the flat tree engine ([`TreeEnsemble`]).
//!
//! Numeric splits map to `BRANCH_LEQ` (`x <= t`) or `BRANCH_LT` (XGBoost's `x < t`) with the
//! node's missing-value side as `nodes_missing_value_tracks_true`; LightGBM's missing type
//! `None` (NaN read as 0) becomes the side 0 goes to, and type `Zero` reads values within
//! 1e-35 of zero as missing in a derived column. Categorical splits (a set of category codes
//! going left) become one derived column per split: 0 for a row that goes left, 1 for one that
//! goes right, NaN for a missing one, compared with `BRANCH_LT 0.5`; for a categorical input it
//! is a lookup by label, for a numeric input (imported models reading codes as numbers) a
//! bitset lookup of the integer value. Margins are `base + Σ leaves` per output group in
//! `double` (see [`super::trees`]), then the identity (`exp` for the Poisson loss), a sigmoid
//! or a softmax.

use std::collections::BTreeMap;

use smelt_core::{FeatureKind, Output, Predictor};
use smelt_trees::ensemble::{
    CATEGORICAL, DEFAULT_LEFT, LEAF, MISSING_NONE, MISSING_ZERO, Nodes, Objective, TreeEnsemble,
};
use smelt_trees::gbdt::{
    HistGradientBoostingClassifier, HistGradientBoostingRegressor, RegressionLoss,
};

use super::Head;
use super::frame::{Ctx, Frame, NumCol, Value, columns_of};
use super::graph::int;
use super::trees::{Forest, Mode, Node, leaf_values, sum_trees};
use crate::error::{OnnxError, Result};
use crate::pb::tensor_proto::DataType;

/// LightGBM's `kZeroThreshold`.
const ZERO_THRESHOLD: f64 = 1e-35;
/// Largest bitset table (codes × splits) exported for a numeric input read as codes.
const MAX_TABLE: usize = 1 << 24;

/// The head of `model` if it is a boosted-tree model, else `None`.
pub(crate) fn export(cx: &mut Ctx, frame: &Frame, model: &dyn Predictor) -> Option<Result<Head>> {
    let any = model.as_any()?;
    if let Some(m) = any.downcast_ref::<HistGradientBoostingRegressor>() {
        let poisson = m.params().loss == RegressionLoss::Poisson;
        return Some(ensemble(cx, frame, m.ensemble(), None, poisson));
    }
    if let Some(m) = any.downcast_ref::<HistGradientBoostingClassifier>() {
        let classes = Some(m.classes().to_vec());
        return Some(ensemble(cx, frame, m.ensemble(), classes, false));
    }
    if let Some(m) = any.downcast_ref::<TreeEnsemble>() {
        let classes = match m.output() {
            Output::Classification { classes, .. } => Some(classes),
            _ => None,
        };
        return Some(ensemble(cx, frame, m, classes, false));
    }
    None
}

/// Whether category `c` is in bitset `k`.
fn in_set(nodes: &Nodes, k: usize, c: usize) -> bool {
    let (a, b) = (
        nodes.cat_bounds[k] as usize,
        nodes.cat_bounds[k + 1] as usize,
    );
    let w = a + c / 32;
    w < b
        && nodes
            .cat_words
            .get(w)
            .is_some_and(|&x| x >> (c % 32) & 1 == 1)
}

/// Words in bitset `k`.
fn set_words(nodes: &Nodes, k: usize) -> usize {
    (nodes.cat_bounds[k + 1] - nodes.cat_bounds[k]) as usize
}

fn ensemble(
    cx: &mut Ctx,
    frame: &Frame,
    e: &TreeEnsemble,
    classes: Option<Vec<String>>,
    poisson: bool,
) -> Result<Head> {
    let input = e.input_features();
    let sub = frame.select(input, "tree ensemble")?;
    let nodes = e.nodes();
    let f32_mode = e.single_precision();

    // The numeric inputs as one matrix (rounded to f32 for XGBoost), column `num_pos[j]`.
    let num_feats: Vec<usize> = (0..input.len())
        .filter(|&j| matches!(sub.cols[j].value, Value::Num(_)))
        .collect();
    let mut cols: Vec<NumCol> = Vec::new();
    let mut num_pos: Vec<Option<usize>> = vec![None; input.len()];
    if !num_feats.is_empty() {
        let raw: Vec<NumCol> = num_feats
            .iter()
            .filter_map(|&j| match &sub.cols[j].value {
                Value::Num(n) => Some(n.clone()),
                Value::Cat { .. } => None,
            })
            .collect();
        let mut x = cx.block(&raw)?;
        if f32_mode {
            x = cx.round_f32(&x);
        }
        let w = num_feats.len();
        for (pos, &j) in num_feats.iter().enumerate() {
            num_pos[j] = Some(pos);
            cols.push(NumCol {
                tensor: x.clone(),
                col: pos,
                width: w,
            });
        }
    }

    // What the splits need beyond the numeric inputs.
    let mut zero_feats: Vec<usize> = Vec::new();
    let mut splits_of: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (g, &f) in nodes.feature.iter().enumerate() {
        let flags = nodes.flags[g];
        if f == LEAF {
            continue;
        }
        let j = f as usize;
        if flags & CATEGORICAL != 0 {
            let k = nodes.threshold[g] as usize;
            let ks = splits_of.entry(j).or_default();
            if !ks.contains(&k) {
                ks.push(k);
            }
        } else if flags & (MISSING_NONE | MISSING_ZERO) == MISSING_ZERO && !zero_feats.contains(&j)
        {
            zero_feats.push(j);
        }
    }

    // LightGBM's `Zero` type: values within 1e-35 of 0 become NaN (the missing side).
    let mut zero_pos: Vec<Option<usize>> = vec![None; input.len()];
    if !zero_feats.is_empty() {
        let src: Vec<NumCol> = zero_feats
            .iter()
            .map(|&j| numeric_col(&cols, &num_pos, input, j))
            .collect::<Result<_>>()?;
        let x = cx.block(&src)?;
        let abs = cx.g.op("Abs", &[&x], vec![]);
        let eps = cx.g.f64_scalar("zero_threshold", ZERO_THRESHOLD);
        let small = cx.g.op("LessOrEqual", &[&abs, &eps], vec![]);
        let nan = cx.g.f64_scalar("nan", f64::NAN);
        let y = cx.g.op("Where", &[&small, &nan, &x], vec![]);
        let names = zero_feats.iter().map(|&j| input[j].name.clone());
        for (c, &j) in columns_of(&y, names).into_iter().zip(&zero_feats) {
            if let Value::Num(n) = c.value {
                zero_pos[j] = Some(cols.len());
                cols.push(n);
            }
        }
    }

    // Categorical splits: one 0 (left) / 1 (right) / NaN (missing) column per split.
    let mut split_pos: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (&j, ks) in &splits_of {
        let t = match (&input[j].kind, &sub.cols[j].value) {
            (FeatureKind::Categorical { categories }, Value::Cat { cat, code }) => {
                let (cat, code) = (*cat, code.clone());
                let n = cx.n_codes(cat);
                let mut table = vec![f64::NAN; n * ks.len()];
                for (c, label) in categories.iter().enumerate() {
                    let row = cx.code_of(cat, label);
                    if row < 2 {
                        continue;
                    }
                    for (s, &k) in ks.iter().enumerate() {
                        table[row as usize * ks.len() + s] =
                            if in_set(nodes, k, c) { 0.0 } else { 1.0 };
                    }
                }
                cx.lookup(cat, &code, &table, ks.len())
            }
            _ => {
                let x = numeric_col(&cols, &num_pos, input, j)?;
                let x = cx.block(&[x])?;
                codes_as_numbers(cx, &x, nodes, ks, &input[j].name)?
            }
        };
        let names = ks.iter().map(|k| format!("{}#{k}", input[j].name));
        for (c, &k) in columns_of(&t, names).into_iter().zip(ks) {
            if let Value::Num(n) = c.value {
                split_pos.insert((j, k), cols.len());
                cols.push(n);
            }
        }
    }

    let x = if cols.is_empty() {
        // Only leaves: the trees read nothing, but the node needs an input of N rows.
        match sub.cols.first().map(|c| &c.value) {
            Some(Value::Num(n)) => cx.block(std::slice::from_ref(n))?,
            Some(Value::Cat { code, .. }) => cx.g.cast(code, DataType::Double),
            None => {
                return Err(OnnxError::Export(
                    "the tree ensemble reads no input column".into(),
                ));
            }
        }
    } else {
        cx.block(&cols)?
    };

    let mode = if e.strict() { Mode::Lt } else { Mode::Leq };
    let mut forest = Forest::default();
    let mut values: Vec<f64> = Vec::new();
    let round = |v: f64| if f32_mode { f64::from(v as f32) } else { v };
    let mut failed: Option<OnnxError> = None;
    for t in 0..nodes.n_trees() {
        let a = nodes.tree_start[t];
        let size = nodes.tree_start[t + 1] - a;
        forest.push(size, |i, next| {
            let g = a + i;
            let (f, flags, th) = (nodes.feature[g], nodes.flags[g], nodes.threshold[g]);
            if f == LEAF {
                values.push(round(nodes.value[g]));
                return Node::Leaf(next);
            }
            let j = f as usize;
            let default_left = flags & DEFAULT_LEFT != 0;
            let (yes, no) = (nodes.left[g] as usize, nodes.right[g] as usize);
            let (feature, threshold, mode, missing_true) = if flags & CATEGORICAL != 0 {
                let col = split_pos.get(&(j, th as usize)).copied();
                (col, 0.5, Mode::Lt, default_left)
            } else {
                match flags & (MISSING_NONE | MISSING_ZERO) {
                    MISSING_ZERO => (zero_pos[j], th, mode, default_left),
                    MISSING_NONE => {
                        let zero_left = if mode == Mode::Lt {
                            0.0 < th
                        } else {
                            0.0 <= th
                        };
                        (num_pos[j], th, mode, zero_left)
                    }
                    _ => (num_pos[j], th, mode, default_left),
                }
            };
            let feature = feature.unwrap_or_else(|| {
                failed.get_or_insert_with(|| {
                    OnnxError::Export(format!(
                        "tree {t}, node {i}: no input column for its split on `{}`",
                        input[j].name
                    ))
                });
                0
            });
            Node::Split {
                feature,
                threshold,
                mode,
                missing_true,
                yes,
                no,
            }
        });
    }
    if let Some(err) = failed {
        return Err(err);
    }

    let ids = forest.leaf_ids(cx, &x)?;
    let v = leaf_values(cx, &ids, &values, 1);
    let n_groups = e.n_groups();
    let base: Vec<f64> = e.base_score().iter().map(|&b| round(b)).collect();
    let margins = if n_groups == 1 {
        let s = sum_trees(cx, &v, true);
        let b = cx.g.f64s("base_score", &[1], &base);
        cx.g.op("Add", &[&s, &b], vec![])
    } else {
        let n_trees = nodes.n_trees();
        let mut m = vec![0.0; n_trees * n_groups];
        for (t, &grp) in nodes.tree_group.iter().enumerate() {
            m[t * n_groups + grp] = 1.0;
        }
        let m = cx.g.f64s("tree_groups", &[n_trees, n_groups], &m);
        let s = cx.g.op("MatMul", &[&v, &m], vec![]);
        let b = cx.g.f64s("base_score", &[1, n_groups], &base);
        cx.g.op("Add", &[&s, &b], vec![])
    };
    let margins = if f32_mode {
        cx.round_f32(&margins)
    } else {
        margins
    };

    match (e.objective(), classes) {
        (Objective::Identity, _) => {
            let value = if poisson {
                cx.g.op("Exp", &[&margins], vec![])
            } else {
                margins
            };
            Ok(Head::Regression { value })
        }
        (Objective::Logistic { scale }, Some(classes)) => {
            let z = if *scale == 1.0 {
                margins
            } else {
                let s = cx.g.f64_scalar("sigmoid_scale", *scale);
                cx.g.op("Mul", &[&margins, &s], vec![])
            };
            let p1 = cx.g.op("Sigmoid", &[&z], vec![]);
            let one = cx.g.f64_scalar("one", 1.0);
            let p0 = cx.g.op("Sub", &[&one, &p1], vec![]);
            let proba = cx.g.op("Concat", &[&p0, &p1], vec![int("axis", 1)]);
            Ok(super::classify_proba(cx, proba, classes))
        }
        (Objective::Softmax, Some(classes)) => {
            let proba = cx.g.op("Softmax", &[&margins], vec![int("axis", 1)]);
            Ok(super::classify_proba(cx, proba, classes))
        }
        (_, None) => Err(OnnxError::Export(
            "a classification objective without class labels".into(),
        )),
    }
}

/// The matrix column of numeric input `j`.
fn numeric_col(
    cols: &[NumCol],
    num_pos: &[Option<usize>],
    input: &[smelt_core::Feature],
    j: usize,
) -> Result<NumCol> {
    num_pos[j]
        .and_then(|p| cols.get(p).cloned())
        .ok_or_else(|| {
            OnnxError::Export(format!(
                "a numeric split on the categorical input `{}`",
                input[j].name
            ))
        })
}

/// Category splits on a numeric input `x` (`[N, 1]`) that holds codes: a non-negative integer
/// below the bitsets' size is looked up, any other number goes right, NaN stays NaN.
fn codes_as_numbers(
    cx: &mut Ctx,
    x: &str,
    nodes: &Nodes,
    ks: &[usize],
    name: &str,
) -> Result<String> {
    let len = ks.iter().map(|&k| set_words(nodes, k)).max().unwrap_or(0) * 32;
    if len == 0 {
        // Every set is empty: every code goes right.
        let zero = cx.g.f64_scalar("zero", 0.0);
        let z = cx.g.op("Mul", &[x, &zero], vec![]);
        let one = cx.g.f64s("ones", &[1, ks.len()], &vec![1.0; ks.len()]);
        let right = cx.g.op("Add", &[&z, &one], vec![]);
        let nan = cx.g.op("IsNaN", &[x], vec![]);
        let nan_v = cx.g.f64_scalar("nan", f64::NAN);
        return Ok(cx.g.op("Where", &[&nan, &nan_v, &right], vec![]));
    }
    if len * ks.len() > MAX_TABLE {
        return Err(OnnxError::Export(format!(
            "the category splits on `{name}` name codes up to {len}; at most {} codes × splits \
             export",
            MAX_TABLE
        )));
    }
    let mut table = vec![1.0; len * ks.len()];
    for c in 0..len {
        for (s, &k) in ks.iter().enumerate() {
            if in_set(nodes, k, c) {
                table[c * ks.len() + s] = 0.0;
            }
        }
    }
    let zero = cx.g.f64_scalar("zero", 0.0);
    let top = cx.g.f64_scalar("code_limit", len as f64);
    let ge = cx.g.op("GreaterOrEqual", &[x, &zero], vec![]);
    let lt = cx.g.op("Less", &[x, &top], vec![]);
    let fl = cx.g.op("Floor", &[x], vec![]);
    let whole = cx.g.op("Equal", &[&fl, x], vec![]);
    let in_range = cx.g.op("And", &[&ge, &lt], vec![]);
    let valid = cx.g.op("And", &[&in_range, &whole], vec![]);
    let safe = cx.g.op("Where", &[&valid, x, &zero], vec![]);
    let idx = cx.g.cast(&safe, DataType::Int64);
    let t = cx.g.f64s("category_sets", &[len, ks.len()], &table);
    let looked = cx.g.op("Gather", &[&t, &idx], vec![int("axis", 0)]);
    let looked = cx.g.reshape(&looked, &[-1, ks.len() as i64]);
    let one = cx.g.f64_scalar("one", 1.0);
    let ind = cx.g.op("Where", &[&valid, &looked, &one], vec![]);
    let nan = cx.g.op("IsNaN", &[x], vec![]);
    let nan_v = cx.g.f64_scalar("nan", f64::NAN);
    Ok(cx.g.op("Where", &[&nan, &nan_v, &ind], vec![]))
}
