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
//!
//! **Prediction** walks the trees laid out in 8-byte splits, leaves folded into them, with a
//! table of distinct leaf values (`walk.rs`). A forest loaded for inference only
//! ([`smelt_core::artifact::load_for_inference`], what `smelt serve` and `smelt predict` do)
//! keeps nothing else (`trees.rs`): ~5.5 MB for 1.4M nodes instead of ~140 MB.

mod classifier;
mod compact;
mod regressor;
mod trees;
mod walk;

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
use smelt_core::ParamCheck;
use smelt_core::rng::Rng;

pub(crate) use trees::Trees;

use crate::tree::{Columns, Grow, MaxFeatures, Splitter, Target, Tree};

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
