//! XGBoost's JSON model format (`Booster.save_model("m.json")`, XGBoost ≥ 1.0).
//!
//! `learner.gradient_booster.model.trees[t]` holds per-node arrays: `left_children` /
//! `right_children` (-1 at leaves), `split_indices`, `split_conditions` (the threshold, or the
//! leaf value at leaves), `default_left` and `split_type` (1: categorical). `tree_info[t]` is
//! the tree's class. A row goes left when `x < threshold` (compared in `f32`); a missing value
//! goes to the default side. `learner_model_param.base_score` is in prediction space (a
//! probability for `binary:logistic`, turned into the margin `logit(p)`; XGBoost ≥ 3 writes it
//! as a bracketed list, one per class).

use std::path::Path;

use serde_json::Value;
use smelt_core::Result;

use super::{bad, numeric_features, read};
use crate::ensemble::{DEFAULT_LEFT, LEAF, MISSING_NAN, Nodes, Objective, TreeEnsemble};

/// Objectives this importer reads.
const SUPPORTED: &str = "binary:logistic, multi:softprob, multi:softmax, reg:squarederror";

/// Reads an XGBoost JSON model file.
pub fn from_json_file(path: impl AsRef<Path>) -> Result<TreeEnsemble> {
    let path = path.as_ref();
    from_json_str(&read(path)?, path)
}

/// Reads an XGBoost JSON model from text; `path` names it in errors.
pub fn from_json_str(text: &str, path: &Path) -> Result<TreeEnsemble> {
    let v: Value = serde_json::from_str(text).map_err(|e| {
        bad(
            path,
            format!("not a valid XGBoost JSON model (truncated or corrupted?): {e}"),
        )
    })?;
    let field = |v: &'_ Value, key: &str, ctx: &str| -> Result<Value> {
        v.get(key)
            .cloned()
            .ok_or_else(|| bad(path, format!("{ctx}: missing field `{key}`")))
    };
    let learner = field(&v, "learner", "model")?;
    let objective = field(&learner, "objective", "learner")?;
    let objective = objective
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(path, "learner.objective: missing field `name`"))?
        .to_string();
    let lmp = field(&learner, "learner_model_param", "learner")?;
    let param = |key: &str| -> Result<String> {
        match field(&lmp, key, "learner.learner_model_param")? {
            Value::String(s) => Ok(s),
            other => Ok(other.to_string()),
        }
    };
    let num_feature: usize = param("num_feature")?.parse().map_err(|e| {
        bad(
            path,
            format!("learner.learner_model_param.num_feature: {e}"),
        )
    })?;
    let num_class: usize = param("num_class")?
        .parse()
        .map_err(|e| bad(path, format!("learner.learner_model_param.num_class: {e}")))?;
    if let Ok(t) = param("num_target")
        && t != "1"
    {
        return Err(bad(
            path,
            format!("multi-target models (num_target = {t}) are not supported"),
        ));
    }
    let base_text = param("base_score")?;
    let base_raw: Vec<f64> = base_text
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| {
            bad(
                path,
                format!("learner.learner_model_param.base_score `{base_text}`: {e}"),
            )
        })?;
    let (objective, n_groups) = match objective.as_str() {
        "binary:logistic" => (Objective::Logistic { scale: 1.0 }, 1),
        "multi:softprob" | "multi:softmax" => (Objective::Softmax, num_class),
        "reg:squarederror" => (Objective::Identity, 1),
        other => {
            return Err(bad(
                path,
                format!("objective `{other}` is not supported (supported: {SUPPORTED})"),
            ));
        }
    };
    let base: Vec<f64> = match (base_raw.len(), n_groups) {
        (1, k) => vec![base_raw[0]; k],
        (a, k) if a == k => base_raw,
        (a, k) => {
            return Err(bad(
                path,
                format!("base_score has {a} values for {k} output group(s)"),
            ));
        }
    };
    // Probability to margin, like the objective's ProbToMargin (identity for the others).
    let base = base
        .into_iter()
        .map(|b| match objective {
            Objective::Logistic { .. } => {
                if b > 0.0 && b < 1.0 {
                    {
                        // XGBoost's ProbToMargin, in f32: -log(1/p - 1).
                        let p = b as f32;
                        Ok(-((1.0 / p - 1.0).ln()) as f64)
                    }
                } else {
                    Err(bad(
                        path,
                        format!("base_score {b} is not a probability in (0, 1)"),
                    ))
                }
            }
            _ => Ok(b),
        })
        .collect::<Result<Vec<f64>>>()?;

    let names: Vec<String> = match learner.get("feature_names").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => a
            .iter()
            .map(|n| {
                n.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad(path, "learner.feature_names: not a list of strings"))
            })
            .collect::<Result<_>>()?,
        _ => (0..num_feature).map(|j| format!("f{j}")).collect(),
    };
    if names.len() != num_feature {
        return Err(bad(
            path,
            format!(
                "learner.feature_names has {} names but num_feature is {num_feature}",
                names.len()
            ),
        ));
    }

    let gb = field(&learner, "gradient_booster", "learner")?;
    let gb_name = gb.get("name").and_then(Value::as_str).unwrap_or("");
    if gb_name != "gbtree" {
        return Err(bad(
            path,
            format!("booster `{gb_name}` is not supported (only gbtree)"),
        ));
    }
    let model = field(&gb, "model", "learner.gradient_booster")?;
    let trees = field(&model, "trees", "learner.gradient_booster.model")?;
    let trees = trees
        .as_array()
        .ok_or_else(|| bad(path, "learner.gradient_booster.model.trees: not a list"))?;
    let info = field(&model, "tree_info", "learner.gradient_booster.model")?;
    let info: Vec<usize> = info
        .as_array()
        .and_then(|a| a.iter().map(|g| g.as_u64().map(|g| g as usize)).collect())
        .ok_or_else(|| {
            bad(
                path,
                "learner.gradient_booster.model.tree_info: not a list of class indices",
            )
        })?;
    if info.len() != trees.len() {
        return Err(bad(
            path,
            format!(
                "tree_info has {} entries for {} trees (truncated?)",
                info.len(),
                trees.len()
            ),
        ));
    }

    let mut nodes = Nodes::default();
    for (t, tree) in trees.iter().enumerate() {
        let ctx = format!("tree {t}");
        let ints = |key: &str| -> Result<Vec<i64>> {
            field(tree, key, &ctx)?
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|x| x.as_i64().or_else(|| x.as_bool().map(i64::from)))
                        .collect()
                })
                .ok_or_else(|| {
                    bad(
                        path,
                        format!("{ctx}: field `{key}` is not a list of integers"),
                    )
                })
        };
        let floats = |key: &str| -> Result<Vec<f64>> {
            field(tree, key, &ctx)?
                .as_array()
                .and_then(|a| a.iter().map(Value::as_f64).collect())
                .ok_or_else(|| {
                    bad(
                        path,
                        format!("{ctx}: field `{key}` is not a list of numbers"),
                    )
                })
        };
        if let Some(s) = tree
            .get("tree_param")
            .and_then(|p| p.get("size_leaf_vector"))
            .and_then(Value::as_str)
            && s != "1"
            && s != "0"
        {
            return Err(bad(
                path,
                format!("{ctx}: vector leaves (size_leaf_vector = {s}) are not supported"),
            ));
        }
        let left = ints("left_children")?;
        let right = ints("right_children")?;
        let split = ints("split_indices")?;
        let cond = floats("split_conditions")?;
        let default_left = ints("default_left")?;
        let split_type = if tree.get("split_type").is_some() {
            ints("split_type")?
        } else {
            vec![0; left.len()]
        };
        let n = left.len();
        for (key, len) in [
            ("right_children", right.len()),
            ("split_indices", split.len()),
            ("split_conditions", cond.len()),
            ("default_left", default_left.len()),
            ("split_type", split_type.len()),
        ] {
            if len != n {
                return Err(bad(
                    path,
                    format!("{ctx}: field `{key}` has {len} entries, `left_children` has {n}"),
                ));
            }
        }
        let group = info[t];
        nodes.push_tree(group);
        for i in 0..n {
            // XGBoost keeps thresholds and leaves in f32.
            let c = cond[i] as f32 as f64;
            if left[i] == -1 {
                nodes.push_node(LEAF, 0.0, 0, 0, 0, c);
                continue;
            }
            if split_type[i] != 0 {
                return Err(bad(
                    path,
                    format!("{ctx}, node {i}: categorical splits are not supported yet"),
                ));
            }
            let idx = |v: i64, key: &str| {
                u32::try_from(v)
                    .map_err(|_| bad(path, format!("{ctx}, node {i}: field `{key}` is {v}")))
            };
            let flags = MISSING_NAN
                | if default_left[i] != 0 {
                    DEFAULT_LEFT
                } else {
                    0
                };
            nodes.push_node(
                idx(split[i], "split_indices")?,
                c,
                idx(left[i], "left_children")?,
                idx(right[i], "right_children")?,
                flags,
                0.0,
            );
        }
        nodes.end_tree();
    }
    TreeEnsemble::new(
        "xgboost",
        numeric_features(names),
        n_groups,
        base,
        objective,
        true,
        true,
        nodes,
    )
    .map_err(|e| bad(path, e))
}
