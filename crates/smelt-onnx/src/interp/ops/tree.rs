//! `TreeEnsembleClassifier` and `TreeEnsembleRegressor`, as onnxruntime computes them
//! (`tree_ensemble_common.h`, `tree_ensemble_aggregator.h`): nodes compare the input as it is
//! given (double inputs are not rounded) against thresholds in their own precision; leaf weights
//! are summed tree by tree in the weights' precision (`float` unless given `_as_tensor` in double),
//! then aggregated, offset by `base_values` and post-transformed with onnxruntime's
//! binary-classification conventions.

use std::collections::HashMap;

use super::linear::Labels;
use super::post::{Post, binary_scores};
use super::{Op, arg};
use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::tensor::{Tensor, Value};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Leq,
    Lt,
    Gte,
    Gt,
    Eq,
    Neq,
    Leaf,
}

#[derive(Clone, Debug)]
struct Node {
    feature: usize,
    threshold: f64,
    mode: Mode,
    yes: usize,
    no: usize,
    missing_yes: bool,
    /// `(target or class, weight)` of a leaf.
    weights: Vec<(usize, f64)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Average,
    Min,
    Max,
}

#[derive(Debug)]
enum Kind {
    Regressor {
        targets: usize,
        aggregate: Aggregate,
    },
    Classifier {
        labels: Labels,
        binary_case: bool,
        all_positive: bool,
    },
}

/// A tree ensemble, either kind.
#[derive(Debug)]
pub(crate) struct TreeEnsemble {
    nodes: Vec<Node>,
    roots: Vec<usize>,
    base: Vec<f64>,
    post: Post,
    /// Weights given as floats: sums are rounded to `float` after each tree, as onnxruntime's are.
    float_sums: bool,
    n_features: usize,
    kind: Kind,
}

fn usizes(attrs: &Attrs<'_>, name: &str) -> Result<Vec<usize>> {
    attrs
        .ints(name)
        .into_iter()
        .map(usize::try_from)
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| attrs.invalid(format!("negative value in `{name}`")))
}

impl TreeEnsemble {
    pub(crate) fn build_regressor(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let targets = usize::try_from(attrs.int_or("n_targets", 1))
            .map_err(|_| attrs.invalid("negative n_targets"))?;
        let aggregate = match attrs
            .string("aggregate_function")
            .as_deref()
            .unwrap_or("SUM")
        {
            "SUM" => Aggregate::Sum,
            "AVERAGE" => Aggregate::Average,
            "MIN" => Aggregate::Min,
            "MAX" => Aggregate::Max,
            other => return Err(attrs.invalid(format!("unknown aggregate_function `{other}`"))),
        };
        Self::build(attrs, "target", Kind::Regressor { targets, aggregate })
    }

    pub(crate) fn build_classifier(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let labels = Labels::parse(attrs);
        if labels.len() == 0 {
            return Err(attrs.invalid("needs classlabels_strings or classlabels_int64s"));
        }
        let weights = attrs.reals("class_weights")?;
        let ids = attrs.ints("class_ids");
        let mut classes: Vec<i64> = ids.clone();
        classes.sort_unstable();
        classes.dedup();
        Self::build(
            attrs,
            "class",
            Kind::Classifier {
                binary_case: labels.len() == 2 && classes.len() == 1,
                all_positive: weights.iter().all(|&w| w >= 0.0),
                labels,
            },
        )
    }

    fn build(attrs: &Attrs<'_>, prefix: &str, kind: Kind) -> Result<Box<dyn Op>> {
        let tree_ids = attrs.ints("nodes_treeids");
        let node_ids = attrs.ints("nodes_nodeids");
        let features = usizes(attrs, "nodes_featureids")?;
        let modes = attrs.strings("nodes_modes");
        let thresholds = attrs.reals("nodes_values")?;
        let yes = attrs.ints("nodes_truenodeids");
        let no = attrs.ints("nodes_falsenodeids");
        let missing = attrs.ints("nodes_missing_value_tracks_true");
        let n = tree_ids.len();
        for (name, len) in [
            ("nodes_nodeids", node_ids.len()),
            ("nodes_featureids", features.len()),
            ("nodes_modes", modes.len()),
            ("nodes_truenodeids", yes.len()),
            ("nodes_falsenodeids", no.len()),
        ] {
            if len != n {
                return Err(attrs.invalid(format!("{name} has {len} entries, nodes_treeids {n}")));
            }
        }
        if !thresholds.is_empty() && thresholds.len() != n {
            return Err(attrs.invalid(format!(
                "nodes_values has {} entries for {n} nodes",
                thresholds.len()
            )));
        }
        let index: HashMap<(i64, i64), usize> = tree_ids
            .iter()
            .zip(&node_ids)
            .enumerate()
            .map(|(i, (&t, &id))| ((t, id), i))
            .collect();
        let find = |t: i64, id: i64| -> Result<usize> {
            index.get(&(t, id)).copied().ok_or_else(|| {
                attrs.invalid(format!(
                    "tree {t} refers to node {id}, which it does not have"
                ))
            })
        };
        let mut nodes = Vec::with_capacity(n);
        let mut roots = Vec::new();
        for i in 0..n {
            if i == 0 || tree_ids[i] != tree_ids[i - 1] {
                if roots.iter().any(|&r: &usize| tree_ids[r] == tree_ids[i]) {
                    return Err(attrs.invalid(format!(
                        "the nodes of tree {} are not listed together",
                        tree_ids[i]
                    )));
                }
                roots.push(i);
            }
            let mode = match modes[i].as_str() {
                "BRANCH_LEQ" => Mode::Leq,
                "BRANCH_LT" => Mode::Lt,
                "BRANCH_GTE" => Mode::Gte,
                "BRANCH_GT" => Mode::Gt,
                "BRANCH_EQ" => Mode::Eq,
                "BRANCH_NEQ" => Mode::Neq,
                "LEAF" => Mode::Leaf,
                other => return Err(attrs.invalid(format!("unknown node mode `{other}`"))),
            };
            let (y, f) = if mode == Mode::Leaf {
                (i, i)
            } else {
                (find(tree_ids[i], yes[i])?, find(tree_ids[i], no[i])?)
            };
            nodes.push(Node {
                feature: features[i],
                threshold: thresholds.get(i).copied().unwrap_or(0.0),
                mode,
                yes: y,
                no: f,
                missing_yes: missing.get(i).is_some_and(|&m| m != 0),
                weights: Vec::new(),
            });
        }
        let w_tree = attrs.ints(&format!("{prefix}_treeids"));
        let w_node = attrs.ints(&format!("{prefix}_nodeids"));
        let w_id = usizes(attrs, &format!("{prefix}_ids"))?;
        let w_val = attrs.reals(&format!("{prefix}_weights"))?;
        let float_sums = !attrs.has(&format!("{prefix}_weights_as_tensor"));
        if w_node.len() != w_tree.len() || w_id.len() != w_tree.len() || w_val.len() != w_tree.len()
        {
            return Err(attrs.invalid(format!(
                "{prefix}_treeids, _nodeids, _ids and _weights differ in length"
            )));
        }
        let width = match &kind {
            Kind::Regressor { targets, .. } => *targets,
            Kind::Classifier { labels, .. } => labels.len(),
        };
        for k in 0..w_tree.len() {
            let i = find(w_tree[k], w_node[k])?;
            if w_id[k] >= width {
                return Err(
                    attrs.invalid(format!("{prefix}_ids has {} for {width} outputs", w_id[k]))
                );
            }
            nodes[i].weights.push((w_id[k], w_val[k]));
        }
        let base = attrs.reals("base_values")?;
        let n_features = nodes
            .iter()
            .filter(|n| n.mode != Mode::Leaf)
            .map(|n| n.feature + 1)
            .max()
            .unwrap_or(0);
        Ok(Box::new(TreeEnsemble {
            nodes,
            roots,
            base,
            post: Post::parse(attrs)?,
            float_sums,
            n_features,
            kind,
        }))
    }

    fn leaf(&self, root: usize, row: &[f64]) -> &Node {
        let mut i = root;
        loop {
            let n = &self.nodes[i];
            if n.mode == Mode::Leaf {
                return n;
            }
            let x = row[n.feature];
            let t = n.threshold;
            let go = match n.mode {
                Mode::Leq => x <= t,
                Mode::Lt => x < t,
                Mode::Gte => x >= t,
                Mode::Gt => x > t,
                Mode::Eq => x == t,
                Mode::Neq => x != t,
                Mode::Leaf => true,
            } || (n.missing_yes && x.is_nan());
            i = if go { n.yes } else { n.no };
        }
    }

    fn round(&self, v: f64) -> f64 {
        if self.float_sums {
            f64::from(v as f32)
        } else {
            v
        }
    }

    /// Per output: the aggregated weight and whether any leaf gave one.
    fn sums(&self, row: &[f64], width: usize, agg: Aggregate) -> Vec<(f64, bool)> {
        let mut out = vec![(0.0, false); width];
        for &r in &self.roots {
            for &(k, w) in &self.leaf(r, row).weights {
                let (s, has) = &mut out[k];
                *s = match agg {
                    Aggregate::Sum | Aggregate::Average => self.round(*s + w),
                    Aggregate::Min if *has => s.min(w),
                    Aggregate::Max if *has => s.max(w),
                    Aggregate::Min | Aggregate::Max => w,
                };
                *has = true;
            }
        }
        out
    }
}

impl Op for TreeEnsemble {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let (rows, cols) = x.as_matrix(true)?;
        if cols < self.n_features {
            return Err(OnnxError::Run(format!(
                "the input has {cols} columns, the trees read {}",
                self.n_features
            )));
        }
        let v = x.data.to_f64()?;
        match &self.kind {
            Kind::Regressor { targets, aggregate } => {
                let mut out = Vec::with_capacity(rows * targets);
                let n_trees = self.roots.len().max(1) as f64;
                for r in 0..rows {
                    let s = self.sums(&v[r * cols..(r + 1) * cols], *targets, *aggregate);
                    if *targets == 1 {
                        let origin = if self.base.len() == 1 {
                            self.base[0]
                        } else {
                            0.0
                        };
                        let mut score = s[0].0;
                        if *aggregate == Aggregate::Average {
                            score = self.round(score / n_trees);
                        }
                        let mut z = (score + origin) as f32;
                        if self.post == Post::Probit {
                            z = super::post::probit(z);
                        }
                        out.push(z);
                    } else {
                        let use_base = self.base.len() == *targets;
                        let mut row: Vec<f32> = s
                            .iter()
                            .enumerate()
                            .map(|(k, &(sc, _))| {
                                let sc = if *aggregate == Aggregate::Average {
                                    sc / n_trees
                                } else {
                                    sc
                                };
                                (sc + if use_base { self.base[k] } else { 0.0 }) as f32
                            })
                            .collect();
                        self.post.apply(&mut row);
                        out.extend(row);
                    }
                }
                Ok(vec![Value::Tensor(Tensor::f32_2d(rows, *targets, out))])
            }
            Kind::Classifier {
                labels,
                binary_case,
                all_positive,
            } => {
                let n = labels.len();
                let mut picks = Vec::with_capacity(rows);
                let mut out = Vec::with_capacity(rows * n);
                for r in 0..rows {
                    let mut p = self.sums(&v[r * cols..(r + 1) * cols], n, Aggregate::Sum);
                    let (pick, scores) = self.finish(&mut p, *binary_case, *all_positive);
                    picks.push(pick);
                    let mut row = scores;
                    row.resize(n, 0.0);
                    out.extend(row);
                }
                Ok(vec![
                    Value::Tensor(Tensor::new(vec![rows], labels.pick(&picks))?),
                    Value::Tensor(Tensor::f32_2d(rows, n, out)),
                ])
            }
        }
    }
}

impl TreeEnsemble {
    /// onnxruntime's `TreeAggregatorClassifier::FinalizeScores`: the picked class (a position
    /// in the labels) and the scores it writes.
    fn finish(
        &self,
        p: &mut Vec<(f64, bool)>,
        binary_case: bool,
        all_positive: bool,
    ) -> (usize, Vec<f32>) {
        let base = &self.base;
        if p.len() > 2 {
            for (k, &b) in base.iter().enumerate().take(p.len()) {
                let (s, has) = &mut p[k];
                *s = if *has { *s + b } else { b };
                *has = true;
            }
            let mut best: Option<usize> = None;
            for (k, &(s, has)) in p.iter().enumerate() {
                if has && best.is_none_or(|b| s > p[b].0) {
                    best = Some(k);
                }
            }
            let mut scores: Vec<f32> = p
                .iter()
                .map(|&(s, has)| if has { s as f32 } else { 0.0 })
                .collect();
            self.post.apply(&mut scores);
            return (best.unwrap_or(0), scores);
        }
        // Two classes.
        let mut add_second = -1;
        if base.len() == 2 {
            if p[1].1 {
                p[1].0 = base[1] + p[0].0;
                p[0].0 = -p[1].0;
            } else {
                p[1].0 += base[1];
                p[0].0 += base[0];
            }
        } else if base.len() == 1 {
            p[0].0 += base[0];
            if !p[1].1 {
                p.pop();
            }
        } else if base.is_empty() {
            add_second = 3;
            if !p[1].1 {
                p.pop();
            }
        }
        let (s0, h0) = p[0];
        let (s1, h1) = if p.len() == 2 && p[1].1 {
            p[1]
        } else {
            (0.0, false)
        };
        let pos = if h1 {
            s1
        } else if h0 {
            s0
        } else {
            0.0
        };
        let pick = if binary_case {
            if all_positive {
                if pos > 0.5 {
                    add_second = 0;
                    1
                } else {
                    add_second = 1;
                    0
                }
            } else if pos > 0.0 {
                add_second = 2;
                1
            } else {
                add_second = 3;
                0
            }
        } else {
            usize::from(pos > 0.0)
        };
        let scores = if p.len() >= 2 {
            let mut s: Vec<f32> = p.iter().map(|&(s, _)| s as f32).collect();
            self.post.apply(&mut s);
            s
        } else {
            binary_scores(p[0].0 as f32, self.post, add_second)
        };
        (pick, scores)
    }
}
