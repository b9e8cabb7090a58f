//! XGBoost's JSON model format (`Booster.save_model("m.json")`, XGBoost ≥ 1.0).
//!
//! `learner.gradient_booster.model.trees[t]` holds per-node arrays: `left_children` /
//! `right_children` (-1 at leaves), `split_indices`, `split_conditions` (the threshold, or the
//! leaf value at leaves), `default_left` and `split_type` (1: categorical). `tree_info[t]` is
//! the tree's class. A row goes left when `x < threshold` (compared in `f32`); a missing value
//! goes to the default side.
//!
//! A categorical split (`enable_categorical=True`) lists its categories in `categories`
//! (`categories_nodes[k]` is the node, its list `categories[categories_segments[k]..][..
//! categories_sizes[k]]`). XGBoost sends the listed categories **right** and every other code
//! left (`common::Decision`: "not in the set" is true, true is left), so the importer swaps
//! the children: the engine's left set is XGBoost's list. `learner.feature_types` marks
//! categorical features `c`; XGBoost ≥ 3.1 stores their labels in
//! `gradient_booster.model.cats.enc` (per feature: UTF-8 bytes cut by `offsets`, or numbers),
//! in code order. `learner_model_param.base_score` is in prediction space (a
//! probability for `binary:logistic`, turned into the margin `logit(p)`; XGBoost ≥ 3 writes it
//! as a bracketed list, one per class).

use std::path::Path;

use serde_json::Value;
use smelt_core::Result;

use super::{MAX_CATEGORY_WORDS, bad, categorical_feature, label, numeric_features, read};
use crate::ensemble::{
    DEFAULT_LEFT, LEAF, MAX_CATEGORY, MAX_FEATURES, MISSING_NAN, Nodes, Objective, TreeEnsemble,
};

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
    if num_feature > MAX_FEATURES {
        return Err(bad(
            path,
            format!("learner.learner_model_param.num_feature is {num_feature}: too many features"),
        ));
    }
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

    let categorical: Vec<bool> = match learner.get("feature_types").and_then(Value::as_array) {
        Some(a) if !a.is_empty() => {
            if a.len() != num_feature {
                return Err(bad(
                    path,
                    format!(
                        "learner.feature_types has {} entries but num_feature is {num_feature}",
                        a.len()
                    ),
                ));
            }
            a.iter().map(|t| t.as_str() == Some("c")).collect()
        }
        _ => vec![false; num_feature],
    };

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

    let labels = match model.get("cats") {
        Some(cats) => category_labels(cats, num_feature, path)?,
        None => vec![None; num_feature],
    };
    let input = names
        .into_iter()
        .zip(labels)
        .zip(&categorical)
        .map(|((name, labels), &is_cat)| match labels {
            Some(l) if is_cat => categorical_feature(path, name, l),
            _ => Ok(numeric_features(vec![name]).remove(0)),
        })
        .collect::<Result<Vec<_>>>()?;

    let mut nodes = Nodes::default();
    let mut cat_words = 0usize;
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
        let cats = if split_type.iter().any(|&s| s != 0) {
            Some(TreeCategories::read(tree, n, &ctx, path)?)
        } else {
            None
        };
        let group = info[t];
        nodes.push_tree(group);
        for i in 0..n {
            // XGBoost keeps thresholds and leaves in f32.
            let c = cond[i] as f32 as f64;
            if left[i] == -1 {
                nodes.push_node(LEAF, 0.0, 0, 0, 0, c);
                continue;
            }
            let idx = |v: i64, key: &str| {
                u32::try_from(v)
                    .map_err(|_| bad(path, format!("{ctx}, node {i}: field `{key}` is {v}")))
            };
            if split_type[i] != 0 {
                let set = match &cats {
                    Some(c) if split_type[i] == 1 => c.of(i, &ctx, path)?,
                    _ => {
                        return Err(bad(
                            path,
                            format!("{ctx}, node {i}: unknown split_type {}", split_type[i]),
                        ));
                    }
                };
                cat_words += set.iter().max().map_or(0, |&c| c as usize / 32 + 1);
                if cat_words > MAX_CATEGORY_WORDS {
                    return Err(bad(
                        path,
                        format!(
                            "{ctx}, node {i}: the categorical splits' category sets are too large"
                        ),
                    ));
                }
                // XGBoost's listed categories go right: they are the engine's left set.
                let flags = if default_left[i] != 0 {
                    0
                } else {
                    DEFAULT_LEFT
                };
                nodes.push_categorical_node(
                    idx(split[i], "split_indices")?,
                    &set,
                    idx(right[i], "right_children")?,
                    idx(left[i], "left_children")?,
                    flags,
                );
                continue;
            }
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
        "xgboost", input, n_groups, base, objective, true, true, nodes,
    )
    .map_err(|e| bad(path, e))
}

/// The category lists of one tree's categorical splits.
struct TreeCategories {
    /// `(node, start, len)` into `categories`.
    spans: Vec<(i64, usize, usize)>,
    categories: Vec<i64>,
}

impl TreeCategories {
    fn read(tree: &Value, n_nodes: usize, ctx: &str, path: &Path) -> Result<TreeCategories> {
        let ints = |key: &str| -> Result<Vec<i64>> {
            tree.get(key)
                .and_then(Value::as_array)
                .and_then(|a| a.iter().map(Value::as_i64).collect())
                .ok_or_else(|| {
                    bad(
                        path,
                        format!("{ctx}: field `{key}` is missing or not a list of integers"),
                    )
                })
        };
        let categories = ints("categories")?;
        let nodes = ints("categories_nodes")?;
        let segments = ints("categories_segments")?;
        let sizes = ints("categories_sizes")?;
        if segments.len() != nodes.len() || sizes.len() != nodes.len() {
            return Err(bad(
                path,
                format!(
                    "{ctx}: fields `categories_nodes`, `categories_segments` and `categories_sizes` differ in length"
                ),
            ));
        }
        let mut spans = Vec::with_capacity(nodes.len());
        for (k, ((&node, &seg), &size)) in nodes.iter().zip(&segments).zip(&sizes).enumerate() {
            let span = usize::try_from(seg)
                .ok()
                .zip(usize::try_from(size).ok())
                .filter(|&(a, l)| a.checked_add(l).is_some_and(|b| b <= categories.len()));
            let Some((a, l)) = span.filter(|_| (0..n_nodes as i64).contains(&node)) else {
                return Err(bad(
                    path,
                    format!(
                        "{ctx}: categorical split {k} (node {node}, segment {seg}, size {size}) is out of range"
                    ),
                ));
            };
            spans.push((node, a, l));
        }
        Ok(TreeCategories { spans, categories })
    }

    /// The categories XGBoost lists at node `i` (checked to be codes below 2^24).
    fn of(&self, i: usize, ctx: &str, path: &Path) -> Result<Vec<u32>> {
        let &(_, a, l) = self.spans.iter().find(|s| s.0 == i as i64).ok_or_else(|| {
            bad(
                path,
                format!(
                    "{ctx}, node {i}: categorical split without categories (`categories_nodes`)"
                ),
            )
        })?;
        self.categories[a..a + l]
            .iter()
            .map(|&c| {
                u32::try_from(c)
                    .ok()
                    .filter(|&c| c < MAX_CATEGORY)
                    .ok_or_else(|| {
                        bad(
                            path,
                            format!("{ctx}, node {i}: category {c} is not a category code"),
                        )
                    })
            })
            .collect()
    }
}

/// Category labels per feature from `gradient_booster.model.cats` (XGBoost ≥ 3.1): `None`
/// for features without recorded categories.
fn category_labels(
    cats: &Value,
    n_features: usize,
    path: &Path,
) -> Result<Vec<Option<Vec<String>>>> {
    let ctx = "learner.gradient_booster.model.cats";
    let Some(enc) = cats.get("enc").and_then(Value::as_array) else {
        return Ok(vec![None; n_features]);
    };
    if enc.is_empty() {
        return Ok(vec![None; n_features]);
    }
    if enc.len() != n_features {
        return Err(bad(
            path,
            format!(
                "{ctx}.enc has {} entries for {n_features} features",
                enc.len()
            ),
        ));
    }
    enc.iter()
        .enumerate()
        .map(|(j, e)| {
            let err = |what: &str| bad(path, format!("{ctx}.enc[{j}]: {what}"));
            let values = e
                .get("values")
                .and_then(Value::as_array)
                .ok_or_else(|| err("missing list `values`"))?;
            if values.is_empty() {
                return Ok(None);
            }
            let offsets: Vec<usize> = match e.get("offsets").and_then(Value::as_array) {
                Some(o) => o
                    .iter()
                    .map(|v| v.as_u64().and_then(|v| usize::try_from(v).ok()))
                    .collect::<Option<_>>()
                    .ok_or_else(|| err("`offsets` is not a list of positions"))?,
                None => Vec::new(),
            };
            if offsets.is_empty() {
                // Numeric categories.
                return values
                    .iter()
                    .map(|v| match v {
                        Value::Number(_) => label(v),
                        _ => None,
                    })
                    .collect::<Option<Vec<_>>>()
                    .map(Some)
                    .ok_or_else(|| err("`values` is not a list of numbers"));
            }
            // Strings: UTF-8 bytes, label c spanning offsets[c]..offsets[c + 1].
            let bytes: Vec<u8> = values
                .iter()
                .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
                .collect::<Option<_>>()
                .ok_or_else(|| err("`values` is not a list of bytes"))?;
            offsets
                .windows(2)
                .map(|w| {
                    let s = bytes
                        .get(w[0]..w[1])
                        .ok_or_else(|| err("`offsets` out of range"))?;
                    String::from_utf8(s.to_vec()).map_err(|_| err("a category is not UTF-8"))
                })
                .collect::<Result<Vec<_>>>()
                .map(Some)
        })
        .collect()
}
