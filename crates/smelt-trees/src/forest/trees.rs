//! The trees a fitted forest holds: whole (as fitted, or loaded to be saved or exported again),
//! or only what prediction reads (loaded for inference: a server, `smelt predict`).
//!
//! A whole forest keeps every tree's node arrays (~90 bytes a node) and lays them out for
//! prediction on first use. A lean one is read from the file one tree at a time straight into
//! that layout ([`Walk`], 8 bytes a split with the leaves folded in, plus a table of distinct
//! leaf values) with the feature importances computed on the way, so a 1.4M-node forest costs
//! ~5.5 MB instead of ~140 MB. It
//! predicts bit-identically, and refuses to be saved or exported
//! ([`CoreError::InferenceOnly`]).

use std::sync::OnceLock;

use smelt_core::{ArtifactReader, ArtifactWriter, CoreError, Dataset, Result};

use super::compact;
use super::walk::{Walk, WalkBuilder, walk_of};
use crate::tree::{LEAF_CHILD, LEAF_FEATURE, Tree};

/// A forest's trees (see the module docs).
#[derive(Clone, Debug)]
pub(crate) enum Trees {
    /// Every tree whole, laid out for prediction on first use.
    Whole {
        trees: Vec<Tree>,
        walk: OnceLock<Walk>,
        n_features: usize,
        k: usize,
    },
    /// Loaded for inference only.
    Lean { walk: Walk, importances: Vec<f64> },
}

/// Whole forests are equal when their trees are (the layout is a cache of them); lean ones when
/// their layouts and importances are.
impl PartialEq for Trees {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Trees::Whole { trees: a, .. }, Trees::Whole { trees: b, .. }) => a == b,
            (
                Trees::Lean {
                    walk: a,
                    importances: ia,
                },
                Trees::Lean {
                    walk: b,
                    importances: ib,
                },
            ) => a == b && ia == ib,
            _ => false,
        }
    }
}

impl Trees {
    /// Fitted trees over `n_features` features with `k` values per node.
    pub(crate) fn whole(trees: Vec<Tree>, n_features: usize, k: usize) -> Self {
        Trees::Whole {
            trees,
            walk: OnceLock::new(),
            n_features,
            k,
        }
    }

    /// The trees as laid out for prediction.
    pub(crate) fn walk(&self) -> &Walk {
        match self {
            Trees::Whole {
                trees,
                walk,
                n_features,
                k,
            } => walk.get_or_init(|| walk_of(trees, *n_features, *k)),
            Trees::Lean { walk, .. } => walk,
        }
    }

    /// Number of trees.
    pub(crate) fn len(&self) -> usize {
        match self {
            Trees::Whole { trees, .. } => trees.len(),
            Trees::Lean { walk, .. } => walk.n_trees(),
        }
    }

    /// Per row, the sum of the trees' leaf values (`n × k`) and how many were summed (see
    /// [`Walk::sum`]).
    pub(crate) fn sum(
        &self,
        data: &Dataset<f64>,
        in_bag: Option<&[Vec<u64>]>,
    ) -> (Vec<f64>, Vec<u32>) {
        self.walk().sum(data, in_bag)
    }

    /// The trees whole, unless loaded for inference only.
    pub(crate) fn trees(&self, estimator: &'static str) -> Result<&[Tree]> {
        match self {
            Trees::Whole { trees, .. } => Ok(trees),
            Trees::Lean { .. } => Err(CoreError::InferenceOnly {
                estimator,
                what: "hand out its trees (export or save it)",
            }),
        }
    }

    /// Mean normalised impurity decrease per feature.
    pub(crate) fn importances(&self, n_features: usize) -> Vec<f64> {
        match self {
            Trees::Whole { trees, .. } => {
                let mut imp = Importances::new(n_features);
                trees.iter().for_each(|t| imp.add(t));
                imp.finish()
            }
            Trees::Lean { importances, .. } => importances.clone(),
        }
    }

    /// Writes the trees in the compact layout of [`compact`].
    pub(crate) fn save(
        &self,
        w: &mut ArtifactWriter,
        estimator: &'static str,
        k: usize,
    ) -> Result<()> {
        let trees = match self {
            Trees::Whole { trees, .. } => trees,
            Trees::Lean { .. } => {
                return Err(CoreError::InferenceOnly {
                    estimator,
                    what: "be saved",
                });
            }
        };
        #[cfg(test)]
        if compact::tests::WRITE_V1.with(std::cell::Cell::get) {
            return save_v1(w, trees, k);
        }
        compact::save(w, trees, k)
    }

    /// Reads the trees written by [`Trees::save`] (or by format 1, before `trees_format`),
    /// checking every tree is well formed: whole, or lean when the reader loads for inference
    /// only.
    pub(crate) fn load(r: &ArtifactReader, n_features: usize, k: usize) -> Result<Self> {
        if !r.inference_only() {
            let trees = if r.has("trees_format") {
                compact::load(r, n_features, k)?
            } else {
                load_v1(r, n_features, k)?
            };
            return Ok(Trees::whole(trees, n_features, k));
        }
        let mut walk = WalkBuilder::new(n_features, k);
        let mut imp = Importances::new(n_features);
        let mut each = |t: Tree| {
            walk.push(&t);
            imp.add(&t);
        };
        if r.has("trees_format") {
            compact::for_each(r, n_features, k, each)?;
        } else {
            load_v1(r, n_features, k)?.into_iter().for_each(&mut each);
        }
        Ok(Trees::Lean {
            walk: walk.finish(),
            importances: imp.finish(),
        })
    }
}

/// The mean of the trees' normalised importances (single-leaf trees left out), normalised.
struct Importances {
    sum: Vec<f64>,
    used: usize,
}

impl Importances {
    fn new(n_features: usize) -> Self {
        Importances {
            sum: vec![0.0; n_features],
            used: 0,
        }
    }

    fn add(&mut self, t: &Tree) {
        if t.node_count() > 1 {
            let imp = t.feature_importances(self.sum.len());
            self.sum.iter_mut().zip(imp).for_each(|(a, b)| *a += b);
            self.used += 1;
        }
    }

    fn finish(mut self) -> Vec<f64> {
        if self.used > 0 {
            let used = self.used as f64;
            self.sum.iter_mut().for_each(|v| *v /= used);
        }
        let total: f64 = self.sum.iter().sum();
        if total > 0.0 {
            self.sum.iter_mut().for_each(|v| *v /= total);
        }
        self.sum
    }
}

/// Writes the trees as format 1 did (eight f64 arrays per node); kept to write the files
/// that check old files still load.
#[cfg(test)]
fn save_v1(w: &mut ArtifactWriter, trees: &[Tree], k: usize) -> Result<()> {
    let total: usize = trees.iter().map(Tree::node_count).sum();
    let mut start = Vec::with_capacity(trees.len() + 1);
    let (mut feature, mut threshold, mut right) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    let mut value = Vec::with_capacity(total * k);
    let (mut impurity, mut n_node, mut w_node) = (
        Vec::with_capacity(total),
        Vec::with_capacity(total),
        Vec::with_capacity(total),
    );
    let mut offset = 0usize;
    for (ti, t) in trees.iter().enumerate() {
        start.push(offset as f64);
        for i in 0..t.node_count() {
            if t.left[i] != LEAF_CHILD && t.left[i] != i as i64 + 1 {
                return Err(CoreError::Artifact {
                    path: smelt_core::artifact::MANIFEST.into(),
                    message: format!("tree {ti} is not numbered in pre-order (node {i})"),
                });
            }
        }
        feature.extend(t.feature.iter().map(|&f| f as f64));
        threshold.extend_from_slice(&t.threshold);
        right.extend(t.right.iter().map(|&r| r as f64));
        value.extend_from_slice(&t.value);
        impurity.extend_from_slice(&t.impurity);
        n_node.extend_from_slice(&t.n_node_samples);
        w_node.extend_from_slice(&t.weighted_n_node_samples);
        offset += t.node_count();
    }
    start.push(offset as f64);
    w.put("n_trees", &trees.len())?;
    w.put("n_nodes", &total)?;
    w.vector("tree_start", &start)?;
    w.vector("feature", &feature)?;
    w.vector("threshold", &threshold)?;
    w.vector("right", &right)?;
    w.array("value", &[total, k], &value)?;
    w.vector("impurity", &impurity)?;
    w.vector("n_node_samples", &n_node)?;
    w.vector("weighted_n_node_samples", &w_node)
}

/// Reads trees of format 1 (eight f64 arrays per node, before `trees_format`).
fn load_v1(r: &ArtifactReader, n_features: usize, k: usize) -> Result<Vec<Tree>> {
    let n_trees: usize = r.get("n_trees")?;
    let total: usize = r.get("n_nodes")?;
    let start = r.vector("tree_start", n_trees + 1)?;
    let feature = r.vector("feature", total)?;
    let threshold = r.vector("threshold", total)?;
    let right = r.vector("right", total)?;
    let value = r.matrix("value", total, k)?;
    let impurity = r.vector("impurity", total)?;
    let n_node = r.vector("n_node_samples", total)?;
    let w_node = r.vector("weighted_n_node_samples", total)?;
    if n_trees == 0 {
        return Err(r.invalid("a forest needs at least one tree"));
    }
    let mut trees = Vec::with_capacity(n_trees);
    for t in 0..n_trees {
        let (a, b) = (start[t], start[t + 1]);
        if !(a >= 0.0 && b > a && b <= total as f64 && a.fract() == 0.0 && b.fract() == 0.0)
            || (t == 0 && a != 0.0)
            || (t + 1 == n_trees && b != total as f64)
        {
            return Err(r.invalid(format!("tree {t}: bad node offsets {a}..{b}")));
        }
        let (a, b) = (a as usize, b as usize);
        let feat: Vec<i64> = feature[a..b].iter().map(|&f| f as i64).collect();
        let left = feat
            .iter()
            .enumerate()
            .map(|(i, &f)| {
                if f == LEAF_FEATURE {
                    LEAF_CHILD
                } else {
                    i as i64 + 1
                }
            })
            .collect();
        let tree = Tree {
            feature: feat,
            threshold: threshold[a..b].to_vec(),
            left,
            right: right[a..b].iter().map(|&v| v as i64).collect(),
            value: value[a * k..b * k].to_vec(),
            n_outputs: k,
            impurity: impurity[a..b].to_vec(),
            n_node_samples: n_node[a..b].to_vec(),
            weighted_n_node_samples: w_node[a..b].to_vec(),
        };
        tree.check_shape(n_features)
            .map_err(|m| r.invalid(format!("tree {t}: {m}")))?;
        trees.push(tree);
    }
    Ok(trees)
}
