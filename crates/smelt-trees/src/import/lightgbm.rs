//! LightGBM's text model format (`Booster.save_model("m.txt")`).
//!
//! A header of `key=value` lines (`num_tree_per_iteration`, `max_feature_idx`, `objective`,
//! `feature_names`), then one block per tree (`Tree=t`) up to `end of trees`. A tree with `L`
//! leaves has `L - 1` internal nodes: `split_feature`, `threshold`, `decision_type`,
//! `left_child` / `right_child` (a negative child `c` is leaf `!c`), and `leaf_value` (the
//! shrinkage is already folded in). `decision_type` bits: 1 categorical, 2 default left,
//! bits 2–3 the missing type (0 None: NaN read as 0; 1 Zero: 0 and NaN go to the default side;
//! 2 NaN: NaN goes to the default side). A row goes left when `x <= threshold` (in `f64`).
//! Tree `t` adds to class `t % num_tree_per_iteration`; the boost-from-average start is in
//! the first trees' leaves, so the base margin is 0.
//!
//! A categorical split (`decision_type` bit 0) holds in `threshold` the index `k` of its
//! bitset, `cat_threshold[cat_boundaries[k]..cat_boundaries[k + 1]]` (32 categories per word);
//! the codes in the set go left, every other value — NaN, negative, unseen — right
//! (`Tree::CategoricalDecision`). Categorical features are listed by the parameters' `[categorical_feature: …]`
//! (or, without it, are those whose `feature_infos` is a list of categories rather than a
//! `[min:max]` range); a model trained on pandas ends with `pandas_categorical:` — the labels
//! of the categorical features, in order.

use std::collections::HashMap;
use std::path::Path;

use smelt_core::Result;

use serde_json::Value;
use smelt_core::{Feature, UnknownCategory};

use super::{MAX_CATEGORY_WORDS, bad, categorical_feature, label, numeric_features, read};
use crate::ensemble::{
    DEFAULT_LEFT, LEAF, MAX_CATEGORY, MAX_FEATURES, MISSING_NAN, MISSING_NONE, MISSING_ZERO, Nodes,
    Objective, TreeEnsemble,
};

/// Objectives this importer reads.
const SUPPORTED: &str =
    "binary, multiclass, regression, regression_l1, huber, fair, quantile, mape";

/// Reads a LightGBM text model file.
pub fn from_text_file(path: impl AsRef<Path>) -> Result<TreeEnsemble> {
    let path = path.as_ref();
    from_text_str(&read(path)?, path)
}

/// `key=value` lines of one section.
fn section(lines: &[&str]) -> HashMap<String, String> {
    lines
        .iter()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// Reads a LightGBM text model; `path` names it in errors.
pub fn from_text_str(text: &str, path: &Path) -> Result<TreeEnsemble> {
    let lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim()) != Some("tree") {
        return Err(bad(
            path,
            "not a LightGBM text model (the first line is not `tree`)",
        ));
    }
    let end = lines
        .iter()
        .position(|l| l.trim() == "end of trees")
        .ok_or_else(|| bad(path, "no `end of trees` line: the file is truncated"))?;
    let first_tree = lines[..end]
        .iter()
        .position(|l| l.starts_with("Tree="))
        .unwrap_or(end);
    let header = section(&lines[..first_tree]);
    if lines[..first_tree]
        .iter()
        .any(|l| l.trim() == "average_output")
    {
        return Err(bad(
            path,
            "random-forest models (average_output) are not supported",
        ));
    }
    let get = |key: &str| -> Result<&String> {
        header
            .get(key)
            .ok_or_else(|| bad(path, format!("header: missing field `{key}`")))
    };
    let usize_of = |key: &str| -> Result<usize> {
        get(key)?
            .parse()
            .map_err(|e| bad(path, format!("header: field `{key}`: {e}")))
    };
    let per_iter = usize_of("num_tree_per_iteration")?;
    let n_features = usize_of("max_feature_idx")?.saturating_add(1);
    if n_features > MAX_FEATURES {
        return Err(bad(
            path,
            format!("header: max_feature_idx + 1 = {n_features} is too many features"),
        ));
    }
    let names: Vec<String> = match header.get("feature_names") {
        Some(s) => s.split_whitespace().map(str::to_string).collect(),
        None => (0..n_features).map(|j| format!("Column_{j}")).collect(),
    };
    if names.len() != n_features {
        return Err(bad(
            path,
            format!(
                "header: {} feature names but max_feature_idx + 1 = {n_features}",
                names.len()
            ),
        ));
    }
    let obj_line = get("objective")?;
    let mut tokens = obj_line.split_whitespace();
    let obj_name = tokens.next().unwrap_or("");
    let opts: HashMap<&str, &str> = tokens.filter_map(|t| t.split_once(':')).collect();
    let unsupported = |what: &str| {
        bad(
            path,
            format!("objective `{what}` is not supported (supported: {SUPPORTED})"),
        )
    };
    let objective = match obj_name {
        "binary" => {
            let scale = match opts.get("sigmoid") {
                Some(s) => s
                    .parse::<f64>()
                    .map_err(|e| bad(path, format!("header: objective sigmoid `{s}`: {e}")))?,
                None => 1.0,
            };
            Objective::Logistic { scale }
        }
        "multiclass" => Objective::Softmax,
        "regression" | "regression_l1" | "huber" | "fair" | "quantile" | "mape" => {
            if obj_line.split_whitespace().any(|t| t == "sqrt") {
                return Err(unsupported(obj_line));
            }
            Objective::Identity
        }
        _ => return Err(unsupported(obj_line)),
    };
    if per_iter == 0 {
        return Err(bad(path, "header: num_tree_per_iteration is 0"));
    }

    // Tree blocks.
    let mut starts: Vec<usize> = (first_tree..end)
        .filter(|&i| lines[i].starts_with("Tree="))
        .collect();
    starts.push(end);
    let n_trees = starts.len() - 1;
    if let Some(sizes) = header.get("tree_sizes") {
        let expected = sizes.split_whitespace().count();
        if expected != n_trees {
            return Err(bad(
                path,
                format!("the header lists {expected} trees but the file has {n_trees}"),
            ));
        }
    }
    let input = input_features(&lines[end..], &header, names, path)?;
    let mut nodes = Nodes::default();
    let mut cat_words = 0usize;
    for t in 0..n_trees {
        let block = section(&lines[starts[t]..starts[t + 1]]);
        let ctx = format!("tree {t}");
        let raw = |key: &str| -> Result<&String> {
            block
                .get(key)
                .ok_or_else(|| bad(path, format!("{ctx}: missing field `{key}`")))
        };
        fn list<T: std::str::FromStr>(s: &str) -> std::result::Result<Vec<T>, String>
        where
            T::Err: std::fmt::Display,
        {
            s.split_whitespace()
                .map(|x| x.parse::<T>().map_err(|e| format!("`{x}`: {e}")))
                .collect()
        }
        // 1-based line of `key=` in this tree's block (the block's first line when absent).
        let line = |key: &str| {
            let block = &lines[starts[t]..starts[t + 1]];
            let at = block
                .iter()
                .position(|l| l.split_once('=').is_some_and(|(k, _)| k.trim() == key));
            starts[t] + at.unwrap_or(0) + 1
        };
        let parse_err = |key: &str, e: String| {
            bad(
                path,
                format!("{ctx}: field `{key}` (line {}): {e}", line(key)),
            )
        };
        let num_leaves: usize = raw("num_leaves")?
            .parse()
            .map_err(|e: std::num::ParseIntError| parse_err("num_leaves", e.to_string()))?;
        if block.get("is_linear").is_some_and(|v| v != "0") {
            return Err(bad(path, format!("{ctx}: linear trees are not supported")));
        }
        let leaf_value: Vec<f64> =
            list(raw("leaf_value")?).map_err(|e| parse_err("leaf_value", e))?;
        if num_leaves == 0 || leaf_value.len() != num_leaves {
            return Err(bad(
                path,
                format!(
                    "{ctx}: field `leaf_value` has {} values for num_leaves = {num_leaves}",
                    leaf_value.len()
                ),
            ));
        }
        let n_internal = num_leaves - 1;
        nodes.push_tree(t % per_iter);
        if n_internal > 0 {
            let feature: Vec<u32> =
                list(raw("split_feature")?).map_err(|e| parse_err("split_feature", e))?;
            let threshold: Vec<f64> =
                list(raw("threshold")?).map_err(|e| parse_err("threshold", e))?;
            let decision: Vec<u8> =
                list(raw("decision_type")?).map_err(|e| parse_err("decision_type", e))?;
            let left: Vec<i64> =
                list(raw("left_child")?).map_err(|e| parse_err("left_child", e))?;
            let right: Vec<i64> =
                list(raw("right_child")?).map_err(|e| parse_err("right_child", e))?;
            for (key, len) in [
                ("split_feature", feature.len()),
                ("threshold", threshold.len()),
                ("decision_type", decision.len()),
                ("left_child", left.len()),
                ("right_child", right.len()),
            ] {
                if len != n_internal {
                    return Err(bad(
                        path,
                        format!(
                            "{ctx}: field `{key}` (line {}) has {len} entries, expected {n_internal} (num_leaves - 1)",
                            line(key)
                        ),
                    ));
                }
            }
            // Internal nodes first, then leaf `l` at `n_internal + l`.
            let child = |c: i64, i: usize, key: &str| -> Result<u32> {
                let idx = if c >= 0 { c } else { n_internal as i64 + !c };
                u32::try_from(idx)
                    .map_err(|_| bad(path, format!("{ctx}, node {i}: field `{key}` is {c}")))
            };
            let bitsets = if decision.iter().any(|d| d & 1 != 0) {
                let bounds: Vec<usize> =
                    list(raw("cat_boundaries")?).map_err(|e| parse_err("cat_boundaries", e))?;
                let words: Vec<u32> =
                    list(raw("cat_threshold")?).map_err(|e| parse_err("cat_threshold", e))?;
                if bounds.first() != Some(&0)
                    || bounds.last() != Some(&words.len())
                    || bounds.windows(2).any(|w| w[1] < w[0])
                {
                    return Err(bad(
                        path,
                        format!(
                            "{ctx}: field `cat_boundaries` does not cut the {} words of `cat_threshold`",
                            words.len()
                        ),
                    ));
                }
                Some((bounds, words))
            } else {
                None
            };
            for i in 0..n_internal {
                let d = decision[i];
                // `bitsets` is read above whenever a split is categorical.
                if d & 1 != 0
                    && let Some((bounds, words)) = &bitsets
                {
                    let th = threshold[i];
                    let k = th as usize;
                    if !(th >= 0.0 && th.fract() == 0.0 && k + 1 < bounds.len()) {
                        return Err(bad(
                            path,
                            format!(
                                "{ctx}, node {i}: field `threshold` is {th}, not one of the {} category bitsets",
                                bounds.len() - 1
                            ),
                        ));
                    }
                    let set = &words[bounds[k]..bounds[k + 1]];
                    cat_words += set.len();
                    if set.len() > (MAX_CATEGORY / 32) as usize || cat_words > MAX_CATEGORY_WORDS {
                        return Err(bad(
                            path,
                            format!("{ctx}, node {i}: the category bitsets are too large"),
                        ));
                    }
                    // NaN, negative and unseen codes go right: the default side is right.
                    nodes.push_categorical_words(
                        feature[i],
                        set,
                        child(left[i], i, "left_child")?,
                        child(right[i], i, "right_child")?,
                        0,
                    );
                    continue;
                }
                let missing = match (d >> 2) & 3 {
                    0 => MISSING_NONE,
                    1 => MISSING_ZERO,
                    2 => MISSING_NAN,
                    m => {
                        return Err(bad(
                            path,
                            format!(
                                "{ctx}, node {i}: unknown missing type {m} in decision_type {d}"
                            ),
                        ));
                    }
                };
                let flags = missing | if d & 2 != 0 { DEFAULT_LEFT } else { 0 };
                nodes.push_node(
                    feature[i],
                    threshold[i],
                    child(left[i], i, "left_child")?,
                    child(right[i], i, "right_child")?,
                    flags,
                    0.0,
                );
            }
        }
        for v in leaf_value {
            nodes.push_node(LEAF, 0.0, 0, 0, 0, v);
        }
        nodes.end_tree();
    }
    let n_groups = per_iter;
    TreeEnsemble::new(
        "lightgbm",
        input,
        n_groups,
        vec![0.0; n_groups],
        objective,
        false,
        false,
        nodes,
    )
    .map(|m| m.with_unknown_category(UnknownCategory::Missing))
    .map_err(|e| bad(path, e))
}

/// The input features: categorical (with the `pandas_categorical` labels when the file has
/// them) or numeric. `tail`: the lines from `end of trees` on (parameters, pandas line).
fn input_features(
    tail: &[&str],
    header: &HashMap<String, String>,
    names: Vec<String>,
    path: &Path,
) -> Result<Vec<Feature>> {
    let n = names.len();
    let mut is_cat = vec![false; n];
    let declared = tail
        .iter()
        .find_map(|l| l.trim().strip_prefix("[categorical_feature:"))
        .map(|v| v.trim().trim_end_matches(']').trim());
    match declared {
        Some(list) if !list.is_empty() => {
            for item in list.split(',').map(str::trim) {
                let item = item.strip_prefix("name:").unwrap_or(item);
                let j = item
                    .parse::<usize>()
                    .ok()
                    .or_else(|| names.iter().position(|nm| nm == item))
                    .filter(|&j| j < n)
                    .ok_or_else(|| {
                        bad(
                            path,
                            format!("parameters: categorical_feature `{item}` is not a feature"),
                        )
                    })?;
                is_cat[j] = true;
            }
        }
        Some(_) => {}
        None => {
            if let Some(infos) = header.get("feature_infos") {
                for (j, info) in infos.split_whitespace().enumerate().take(n) {
                    is_cat[j] = info != "none" && !info.starts_with('[');
                }
            }
        }
    }
    let pandas = tail
        .iter()
        .find_map(|l| l.strip_prefix("pandas_categorical:"))
        .map(str::trim);
    let labels: Option<Vec<Vec<String>>> = match pandas {
        None | Some("null") | Some("") => None,
        Some(text) => {
            let v: Value = serde_json::from_str(text)
                .map_err(|e| bad(path, format!("pandas_categorical: not a JSON list: {e}")))?;
            let lists = v
                .as_array()
                .and_then(|a| {
                    a.iter()
                        .map(|l| l.as_array()?.iter().map(label).collect::<Option<Vec<_>>>())
                        .collect::<Option<Vec<_>>>()
                })
                .ok_or_else(|| bad(path, "pandas_categorical: not a list of category lists"))?;
            Some(lists)
        }
    };
    let n_cat = is_cat.iter().filter(|&&c| c).count();
    let mut labels = match labels {
        Some(l) if l.len() != n_cat => {
            return Err(bad(
                path,
                format!(
                    "pandas_categorical has {} category lists for {n_cat} categorical features",
                    l.len()
                ),
            ));
        }
        Some(l) => l.into_iter().map(Some).collect(),
        None => vec![None; n_cat],
    }
    .into_iter();
    names
        .into_iter()
        .zip(is_cat)
        .map(
            |(name, cat)| match cat.then(|| labels.next()).flatten().flatten() {
                Some(l) => categorical_feature(path, name, l),
                None => Ok(numeric_features(vec![name]).remove(0)),
            },
        )
        .collect()
}
