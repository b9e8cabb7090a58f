//! Random forests and extremely randomized trees (scikit-learn's `RandomForestClassifier`,
//! `RandomForestRegressor`, `ExtraTreesClassifier`, `ExtraTreesRegressor`).
//!
//! A forest is `n_estimators` CART trees grown independently (in parallel over trees with
//! rayon) by the grower of [`crate::tree`], each on its own random stream:
//!
//! * **Rows.** With `bootstrap` (random forests' default) tree `t` sees a bootstrap sample:
//!   `max_samples` draws with replacement (all `n` rows by default), uniform, or proportional to
//!   the sample weights (times the class weights) when given — scikit-learn 1.9's frequency
//!   semantics — and the draw counts become the tree's sample weights. Without `bootstrap`
//!   (extra trees' default) every tree sees every row with its sample weight.
//! * **Splits.** Random forests take the best split over `max_features` randomly chosen
//!   features per node (classifier default `"sqrt"`, regressor `1.0` = all). Extra trees draw
//!   one threshold per candidate feature uniformly between the node's smallest and largest
//!   value and keep the best of those.
//! * **Prediction.** The classifier averages the trees' leaf class fractions
//!   (`predict_proba`, scikit-learn's soft voting) and predicts the most probable class; the
//!   regressor averages the trees' predictions.
//! * **Out-of-bag estimate** (`oob_score`, bootstrap only): each training row is predicted by
//!   the trees whose bootstrap left it out; `oob_score` is the accuracy (classifier) or R²
//!   (regressor) of those predictions on the training rows, unweighted. As in scikit-learn, a
//!   row no tree left out has an all-zero prediction and still counts.
//! * **Feature importances**: the mean of the trees' normalised impurity-decrease importances
//!   (trees that are a single leaf left out), normalised again.
//!
//! **Determinism.** The per-tree seeds are drawn from `random_state` before any tree is grown
//! and trees are collected and summed in index order, so a fit is the same whatever the number
//! of threads. The bootstrap and feature draws cannot follow numpy's random streams, so a
//! forest matches scikit-learn's statistically (held-out scores), not tree by tree.
//!
//! Not implemented (rejected as unknown parameters): `warm_start`, `min_weight_fraction_leaf`,
//! `min_impurity_decrease`, `monotonic_cst`, missing values in features, and `n_jobs` (the
//! thread count is rayon's, `RAYON_NUM_THREADS`). `random_state` defaults to 0, not `None`.
//!
//! ```
//! use smelt_core::Fit;
//! use smelt_trees::forest::RandomForestClassifierParams;
//!
//! let data = smelt_testkit::classification_data(200, 4, 2, 0);
//! let model = RandomForestClassifierParams::default()
//!     .n_estimators(20)
//!     .oob_score(true)
//!     .fit(&data)?;
//! assert!(model.oob_score().is_some_and(|s| s > 0.8));
//! let proba = model.predict_proba(&data)?; // n × 2, rows sum to 1
//! assert_eq!(proba.len(), 400);
//! assert_eq!(model.feature_importances().len(), 4);
//! # Ok::<(), smelt_core::CoreError>(())
//! ```
//!
//! **Model files** keep all trees as one set of flat node arrays in pre-order, each in the
//! smallest exact type (`compact.rs`: `trees_format` 2, ~1/5 of format 1's f64 arrays);
//! files of format 1 (`tree_start` offsets, `feature`, `threshold`, `right`, `value`,
//! `impurity`, node sample counts, all f64) still load.

mod classifier;
mod compact;
mod regressor;

pub use classifier::{
    ClassWeightPreset, ClassifierKind, ExtraTreesClassifier, ExtraTreesClassifierParams,
    ForestClassWeight, ForestClassifier, RandomForestClassifier, RandomForestClassifierParams,
};
pub use regressor::{
    ExtraTreesRegressor, ExtraTreesRegressorParams, ForestRegressor, RandomForestRegressor,
    RandomForestRegressorParams, RegressorKind,
};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::rng::Rng;
use smelt_core::{ArtifactReader, ArtifactWriter, Dataset, ParamCheck, Result};

use compact::f32_at_most;

use crate::tree::{Columns, Grow, LEAF_CHILD, LEAF_FEATURE, MaxFeatures, Splitter, Target, Tree};

/// Rows per parallel block at prediction: large, so that each (deep, fully grown) tree is
/// walked by many rows while its nodes are in cache.
const BLOCK: usize = 8192;

/// The bootstrap sample size (scikit-learn's `max_samples`): a count, or a fraction of the
/// number of rows (of the total sample weight when weights are given).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MaxSamples {
    /// This many draws, `>= 1`.
    Count(usize),
    /// `max(1, floor(fraction · n))`, fraction in `(0, 1]`.
    Fraction(f64),
}

/// The growth and sampling settings shared by the four forests.
#[derive(Clone, Debug)]
pub(crate) struct ForestSpec {
    pub n_estimators: usize,
    pub max_depth: Option<usize>,
    pub min_samples_split: usize,
    pub min_samples_leaf: usize,
    pub max_features: Option<MaxFeatures>,
    pub bootstrap: bool,
    pub oob_score: bool,
    pub max_samples: Option<MaxSamples>,
    pub random_state: u64,
    pub splitter: Splitter,
    pub ccp_alpha: f64,
    pub max_leaf_nodes: Option<usize>,
}

impl ForestSpec {
    /// Adds the rules across this spec's fields to `c` (the ranges of each field are the
    /// params' declared ones).
    pub(crate) fn check(&self, c: ParamCheck) -> ParamCheck {
        c.require(
            self.bootstrap || self.max_samples.is_none(),
            "max_samples",
            "None when bootstrap=false (set bootstrap=true to subsample)",
            format!("{:?}", self.max_samples),
        )
        .require(
            self.bootstrap || !self.oob_score,
            "oob_score",
            "false when bootstrap=false (out-of-bag estimates need bootstrap=true)",
            self.oob_score,
        )
    }
}

/// The per-class reweighting of each bootstrap sample (`class_weight="balanced_subsample"`).
pub(crate) struct SubsampleBalance<'a> {
    pub codes: &'a [u32],
    pub k: usize,
}

/// A fitted set of trees with, when out-of-bag estimates were asked for, each tree's in-bag
/// rows as a bitset.
pub(crate) struct Grown {
    pub trees: Vec<Tree>,
    pub in_bag: Option<Vec<Vec<u64>>>,
}

/// Grows the forest's trees on `cols`. `w` are the combined sample × class weights (`None`:
/// all ones): bootstrap draws are proportional to them, and without bootstrap they are the
/// trees' sample weights.
pub(crate) fn grow_forest(
    cols: &Columns,
    target: Target<'_>,
    w: Option<&[f64]>,
    spec: &ForestSpec,
    max_features: usize,
    balance: Option<SubsampleBalance<'_>>,
) -> Grown {
    let n = cols.n_rows();
    let n_boot = spec.bootstrap.then(|| n_bootstrap(n, &spec.max_samples, w));
    let cum: Option<Vec<f64>> = w.map(|w| {
        w.iter()
            .scan(0.0, |s, &v| {
                *s += v;
                Some(*s)
            })
            .collect()
    });
    let ones;
    let base: &[f64] = match w {
        Some(w) => w,
        None => {
            ones = vec![1.0; n];
            &ones
        }
    };
    let mut rng = Rng::new(spec.random_state);
    let seeds: Vec<u64> = (0..spec.n_estimators).map(|_| rng.next_u64()).collect();
    let results: Vec<(Tree, Option<Vec<u64>>)> = seeds
        .par_iter()
        .map(|&seed| {
            let mut rng = Rng::new(seed);
            let (weights, in_bag) = match n_boot {
                Some(n_boot) => {
                    let counts = draw(&mut rng, n, n_boot, cum.as_deref());
                    let mut weights: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
                    if let Some(b) = &balance {
                        let per_class = balanced(b.codes, b.k, &counts);
                        weights
                            .iter_mut()
                            .zip(b.codes)
                            .for_each(|(wi, &c)| *wi *= per_class[c as usize]);
                    }
                    let bag = spec.oob_score.then(|| {
                        let mut bits = vec![0u64; n.div_ceil(64)];
                        for (i, &c) in counts.iter().enumerate() {
                            if c > 0 {
                                bits[i / 64] |= 1 << (i % 64);
                            }
                        }
                        bits
                    });
                    (std::borrow::Cow::Owned(weights), bag)
                }
                None => (std::borrow::Cow::Borrowed(base), None),
            };
            let g = Grow {
                max_depth: spec.max_depth,
                min_samples_split: spec.min_samples_split,
                min_samples_leaf: spec.min_samples_leaf,
                max_features,
                random_state: rng.next_u64(),
                splitter: spec.splitter,
                max_leaf_nodes: spec.max_leaf_nodes,
                parallel: false,
            };
            let tree = crate::tree::grow(cols, target, &weights, &g).pruned(spec.ccp_alpha);
            (tree, in_bag)
        })
        .collect();
    let mut trees = Vec::with_capacity(results.len());
    let mut bags = Vec::with_capacity(results.len());
    for (t, b) in results {
        trees.push(t);
        bags.extend(b);
    }
    Grown {
        trees,
        in_bag: spec.oob_score.then_some(bags),
    }
}

/// scikit-learn's `_get_n_samples_bootstrap`.
fn n_bootstrap(n: usize, max_samples: &Option<MaxSamples>, w: Option<&[f64]>) -> usize {
    match max_samples {
        None => n,
        Some(MaxSamples::Count(c)) => *c,
        Some(MaxSamples::Fraction(f)) => {
            let total = w.map_or(n as f64, |w| w.iter().sum());
            ((f * total) as usize).max(1)
        }
    }
}

/// Draw counts of `n_boot` draws with replacement from `n` rows, uniform or proportional to
/// the weights whose running sums are `cum`.
fn draw(rng: &mut Rng, n: usize, n_boot: usize, cum: Option<&[f64]>) -> Vec<u32> {
    let mut counts = vec![0u32; n];
    match cum {
        None => (0..n_boot).for_each(|_| counts[rng.below(n)] += 1),
        Some(cum) => {
            let total = cum.last().copied().unwrap_or(0.0);
            for _ in 0..n_boot {
                let u = rng.uniform() * total;
                // The first row whose running sum passes u (zero-weight rows never do).
                let i = cum.partition_point(|&c| c <= u).min(n - 1);
                counts[i] += 1;
            }
        }
    }
    counts
}

/// `"balanced"` class weights of a bootstrap sample: `n_boot / (k_present · count_c)` from the
/// draw counts (scikit-learn's `compute_sample_weight("balanced", y, indices=…)`).
fn balanced(codes: &[u32], k: usize, counts: &[u32]) -> Vec<f64> {
    let mut per = vec![0.0; k];
    for (&c, &n) in codes.iter().zip(counts) {
        per[c as usize] += f64::from(n);
    }
    let total: f64 = per.iter().sum();
    let present = per.iter().filter(|&&v| v > 0.0).count() as f64;
    per.iter()
        .map(|&v| if v > 0.0 { total / (present * v) } else { 0.0 })
        .collect()
}

/// A node of a tree laid out for inference (12 bytes): the left child is the next node.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Node {
    /// Split feature, or `u32::MAX` at a leaf.
    feature: u32,
    /// The largest f32 `<=` the f64 threshold: for an f32 feature value `x`,
    /// `x <= threshold` exactly when `x <= thr`.
    thr: f32,
    /// Right child, or at a leaf the node's own index (for its value).
    right: u32,
}

fn inference_nodes(t: &Tree) -> Vec<Node> {
    (0..t.node_count())
        .map(|i| {
            if t.left[i] == LEAF_CHILD {
                Node {
                    feature: u32::MAX,
                    thr: 0.0,
                    right: i as u32,
                }
            } else {
                Node {
                    feature: t.feature[i] as u32,
                    thr: f32_at_most(t.threshold[i]),
                    right: t.right[i] as u32,
                }
            }
        })
        .collect()
}

/// Per row of `data` (already conformed to the model's features), the sum of the trees'
/// leaf values (`n × k`, row-major) and how many trees were summed. With `in_bag`, a tree
/// counts for a row only when the row is out of its bag. Rows are processed in parallel
/// blocks, each walking every tree in turn (the tree stays in cache for the block); within a
/// row, trees are summed in index order (deterministic).
/// The trees laid out for inference, built once per fitted forest (on first use) and kept: a
/// forest of deep trees has millions of nodes, and laying them out again for every call made a
/// one-row prediction cost as much as thousands of rows (what a model server does all day).
#[derive(Clone, Debug, Default)]
pub(crate) struct InferenceNodes(std::sync::OnceLock<Vec<Vec<Node>>>);

/// A cache of what the trees already say: two forests are equal whether or not it is built.
impl PartialEq for InferenceNodes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl InferenceNodes {
    pub(crate) fn get(&self, trees: &[Tree]) -> &[Vec<Node>] {
        self.0
            .get_or_init(|| trees.par_iter().map(inference_nodes).collect())
    }
}

pub(crate) fn sum_trees(
    trees: &[Tree],
    flat: &[Vec<Node>],
    data: &Dataset<f64>,
    k: usize,
    in_bag: Option<&[Vec<u64>]>,
) -> (Vec<f64>, Vec<u32>) {
    let n = data.n_rows();
    let p = data.n_features();
    let cols: Vec<&[f64]> = (0..p).map(|j| data.column(j)).collect();
    let mut sums = vec![0.0; n * k];
    let mut counts = vec![0u32; n];
    // At least two blocks per thread, when there are rows enough.
    let block = n
        .div_ceil(2 * rayon::current_num_threads())
        .clamp(256, BLOCK);
    sums.par_chunks_mut(block * k)
        .zip(counts.par_chunks_mut(block))
        .enumerate()
        .for_each(|(b, (s, c))| {
            let start = b * block;
            let rows = c.len();
            // The block row-major, rounded to f32 as the trees were grown.
            let mut x = vec![0f32; rows * p];
            for (j, col) in cols.iter().enumerate() {
                for i in 0..rows {
                    x[i * p + j] = col[start + i] as f32;
                }
            }
            for (ti, (t, nodes)) in trees.iter().zip(flat).enumerate() {
                for i in 0..rows {
                    if let Some(bags) = in_bag {
                        let r = start + i;
                        if bags[ti][r / 64] >> (r % 64) & 1 == 1 {
                            continue;
                        }
                    }
                    let row = &x[i * p..(i + 1) * p];
                    let mut at = 0usize;
                    let leaf = loop {
                        let nd = nodes[at];
                        if nd.feature == u32::MAX {
                            break nd.right as usize;
                        }
                        at = if row[nd.feature as usize] <= nd.thr {
                            at + 1
                        } else {
                            nd.right as usize
                        };
                    };
                    let v = &t.value[leaf * k..(leaf + 1) * k];
                    s[i * k..(i + 1) * k]
                        .iter_mut()
                        .zip(v)
                        .for_each(|(a, b)| *a += b);
                    c[i] += 1;
                }
            }
        });
    (sums, counts)
}

/// Mean of the trees' normalised importances (single-leaf trees left out), normalised.
pub(crate) fn importances(trees: &[Tree], n_features: usize) -> Vec<f64> {
    let mut imp = vec![0.0; n_features];
    let mut used = 0usize;
    for t in trees.iter().filter(|t| t.node_count() > 1) {
        imp.iter_mut()
            .zip(t.feature_importances(n_features))
            .for_each(|(a, b)| *a += b);
        used += 1;
    }
    if used > 0 {
        imp.iter_mut().for_each(|v| *v /= used as f64);
    }
    let total: f64 = imp.iter().sum();
    if total > 0.0 {
        imp.iter_mut().for_each(|v| *v /= total);
    }
    imp
}

/// Writes the trees in the compact layout of [`compact`].
pub(crate) fn save_trees(w: &mut ArtifactWriter, trees: &[Tree], k: usize) -> Result<()> {
    #[cfg(test)]
    if compact::tests::WRITE_V1.with(std::cell::Cell::get) {
        return save_trees_v1(w, trees, k);
    }
    compact::save(w, trees, k)
}

/// Writes the trees as format 1 did (eight f64 arrays per node); kept to write the files
/// that check old files still load.
#[cfg(test)]
pub(crate) fn save_trees_v1(w: &mut ArtifactWriter, trees: &[Tree], k: usize) -> Result<()> {
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
                return Err(smelt_core::CoreError::Artifact {
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

/// Reads trees written by [`save_trees`] (or by format 1, before `trees_format`), checking
/// every tree is well formed.
pub(crate) fn load_trees(r: &ArtifactReader, n_features: usize, k: usize) -> Result<Vec<Tree>> {
    if r.has("trees_format") {
        return compact::load(r, n_features, k);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_draws_follow_the_weights_and_skip_zero_weights() {
        let w = [0.0, 1.0, 3.0, 0.0];
        let cum: Vec<f64> = w
            .iter()
            .scan(0.0, |s, &v| {
                *s += v;
                Some(*s)
            })
            .collect();
        let counts = draw(&mut Rng::new(1), 4, 40_000, Some(&cum));
        assert_eq!((counts[0], counts[3]), (0, 0));
        let ratio = f64::from(counts[2]) / f64::from(counts[1]);
        assert!((ratio - 3.0).abs() < 0.15, "{ratio}");
        let uniform = draw(&mut Rng::new(1), 4, 400, None);
        assert_eq!(uniform.iter().sum::<u32>(), 400);
    }

    #[test]
    fn bootstrap_sizes_follow_sklearn() {
        assert_eq!(n_bootstrap(10, &None, None), 10);
        assert_eq!(n_bootstrap(10, &Some(MaxSamples::Count(3)), None), 3);
        assert_eq!(n_bootstrap(10, &Some(MaxSamples::Fraction(0.55)), None), 5);
        assert_eq!(
            n_bootstrap(10, &Some(MaxSamples::Fraction(0.5)), Some(&[2.0; 10])),
            10
        );
        assert_eq!(n_bootstrap(10, &Some(MaxSamples::Fraction(0.01)), None), 1);
    }

    #[test]
    fn subsample_balance_weighs_classes_by_their_draws() {
        // Class 0 drawn 3 times, class 1 once: weights 4 / (2·3) and 4 / (2·1).
        let b = balanced(&[0, 0, 1, 1], 2, &[2, 1, 0, 1]);
        assert!((b[0] - 4.0 / 6.0).abs() < 1e-15 && (b[1] - 2.0).abs() < 1e-15);
    }
}
