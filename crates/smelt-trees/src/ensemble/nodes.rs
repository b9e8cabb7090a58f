//! The construction and storage format of an ensemble: flat node arrays, their builder and
//! their validation (see the [module docs](super)).

use super::{
    CATEGORICAL, DEFAULT_LEFT, KNOWN_FLAGS, LEAF, MAX_CATEGORY, MISSING_MASK, MISSING_NAN,
};

/// The trees of an ensemble as flat node arrays (all trees concatenated; child indices are
/// relative to their tree's first node).
///
/// ```
/// use smelt_core::{Feature, FeatureKind, LogicalType};
/// use smelt_trees::ensemble::{DEFAULT_LEFT, LEAF, Nodes, Objective, TreeEnsemble};
///
/// // One tree: x0 < 2.5 ? (x1 in {1, 4} ? 10 : 20) : 30; a missing x0 goes left.
/// let mut nodes = Nodes::default();
/// nodes.push_tree(0);
/// nodes.push_node(0, 2.5, 1, 4, DEFAULT_LEFT, 0.0);
/// nodes.push_categorical_node(1, &[1, 4], 2, 3, 0);
/// nodes.push_node(LEAF, 0.0, 0, 0, 0, 10.0);
/// nodes.push_node(LEAF, 0.0, 0, 0, 0, 20.0);
/// nodes.push_node(LEAF, 0.0, 0, 0, 0, 30.0);
/// nodes.end_tree();
/// let input = ["x0", "x1"]
///     .map(|name| Feature {
///         name: name.into(),
///         ltype: LogicalType::Numeric,
///         kind: FeatureKind::Numeric,
///     })
///     .to_vec();
/// let m = TreeEnsemble::new("smelt", input, 1, vec![0.5], Objective::Identity, true, false, nodes)
///     .unwrap();
/// let mut out = [0.0];
/// m.predict_row_margins(&[1.0, 4.0], &mut out)?;
/// assert_eq!(out, [10.5]);
/// m.predict_row_margins(&[f64::NAN, 2.0], &mut out)?;
/// assert_eq!(out, [20.5]);
/// m.predict_row_margins(&[3.0, 4.0], &mut out)?;
/// assert_eq!(out, [30.5]);
/// # Ok::<(), smelt_core::CoreError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Nodes {
    /// Index of each tree's first node, plus the total at the end (`n_trees + 1` entries).
    pub tree_start: Vec<usize>,
    /// Output group of each tree (its class for multi-class models, else 0).
    pub tree_group: Vec<usize>,
    /// Split feature, or [`LEAF`].
    pub feature: Vec<u32>,
    /// Split threshold; at a [`CATEGORICAL`] split the index of its category bitset (unused at
    /// leaves).
    pub threshold: Vec<f64>,
    /// Left child (relative to the tree's first node).
    pub left: Vec<u32>,
    /// Right child.
    pub right: Vec<u32>,
    /// [`DEFAULT_LEFT`], a missing mode and [`CATEGORICAL`].
    pub flags: Vec<u8>,
    /// Leaf value (unused at internal nodes).
    pub value: Vec<f64>,
    /// The category bitsets of the categorical splits, concatenated: category `c` is in bitset
    /// `k` when bit `c % 32` of word `cat_bounds[k] + c / 32` is set (LightGBM's layout).
    pub cat_words: Vec<u32>,
    /// Where each bitset starts in `cat_words`, plus the total at the end (`n_bitsets + 1`
    /// entries; empty when there is no categorical split).
    pub cat_bounds: Vec<u32>,
}

impl Nodes {
    /// Starts a tree of output group `group`; add its nodes with [`Nodes::push_node`] (children
    /// relative to the tree's first node), then close it with [`Nodes::end_tree`].
    pub fn push_tree(&mut self, group: usize) {
        if self.tree_start.is_empty() {
            self.tree_start.push(0);
        }
        self.tree_group.push(group);
        self.tree_start.push(self.feature.len());
    }

    /// Adds a node to the last tree: a numeric split (`feature`, `threshold`, children, flags)
    /// or, with `feature` = [`LEAF`], a leaf of value `value`.
    pub fn push_node(
        &mut self,
        feature: u32,
        threshold: f64,
        left: u32,
        right: u32,
        flags: u8,
        value: f64,
    ) {
        self.feature.push(feature);
        self.threshold.push(threshold);
        self.left.push(left);
        self.right.push(right);
        self.flags.push(flags);
        self.value.push(value);
    }

    /// Adds a categorical split to the last tree: a row goes `left` when its value of
    /// `feature` is a category code in `left_categories`, `right` for any other value, and to
    /// the [`DEFAULT_LEFT`] side of `flags` when missing. Codes must be below 2²⁴ (larger ones
    /// make [`Nodes::validate`] fail); the order and repeats of `left_categories` do not matter.
    pub fn push_categorical_node(
        &mut self,
        feature: u32,
        left_categories: &[u32],
        left: u32,
        right: u32,
        flags: u8,
    ) {
        let top = left_categories.iter().copied().max().map_or(0, |c| {
            // A code beyond the limit yields a bitset one word too long, which `validate`
            // reports, rather than an allocation of up to 512 MiB.
            c.min(MAX_CATEGORY) as usize + 1
        });
        let mut words = vec![0u32; top.div_ceil(32)];
        for &c in left_categories {
            if c < MAX_CATEGORY {
                words[c as usize / 32] |= 1 << (c % 32);
            }
        }
        self.push_categorical_words(feature, &words, left, right, flags);
    }

    /// [`Nodes::push_categorical_node`] with the category set given as a bitset.
    pub(crate) fn push_categorical_words(
        &mut self,
        feature: u32,
        words: &[u32],
        left: u32,
        right: u32,
        flags: u8,
    ) {
        if self.cat_bounds.is_empty() {
            self.cat_bounds.push(0);
        }
        let k = self.cat_bounds.len() - 1;
        self.cat_words.extend_from_slice(words);
        // Saturates only past 4 Gi words, which `validate` then reports as inconsistent.
        self.cat_bounds
            .push(u32::try_from(self.cat_words.len()).unwrap_or(u32::MAX));
        self.push_node(
            feature,
            k as f64,
            left,
            right,
            (flags & DEFAULT_LEFT) | CATEGORICAL,
            0.0,
        );
    }

    /// Closes the last tree.
    pub fn end_tree(&mut self) {
        if let Some(last) = self.tree_start.last_mut() {
            *last = self.feature.len();
        }
    }

    /// Number of trees.
    pub fn n_trees(&self) -> usize {
        self.tree_group.len()
    }

    /// Number of category bitsets (categorical splits).
    fn n_bitsets(&self) -> usize {
        self.cat_bounds.len().saturating_sub(1)
    }

    /// Checks the arrays are consistent: lengths, feature and group ranges, every tree a tree
    /// (children after their parent within their tree, no node with two parents, so every
    /// walk ends), known flags, category bitsets within `cat_words`. The message names the
    /// tree and node.
    pub fn validate(&self, n_features: usize, n_groups: usize) -> Result<(), String> {
        let n = self.feature.len();
        for (name, len) in [
            ("threshold", self.threshold.len()),
            ("left", self.left.len()),
            ("right", self.right.len()),
            ("flags", self.flags.len()),
            ("value", self.value.len()),
        ] {
            if len != n {
                return Err(format!(
                    "node array `{name}` has {len} entries, expected {n}"
                ));
            }
        }
        if self.tree_start.len() != self.tree_group.len() + 1
            || self.tree_start.first().is_some_and(|&s| s != 0)
            || self.tree_start.last().is_some_and(|&s| s != n)
        {
            return Err("tree offsets do not match the node arrays".into());
        }
        self.validate_bitsets()?;
        let mut parents: Vec<u8> = Vec::new();
        for t in 0..self.n_trees() {
            let (a, b) = (self.tree_start[t], self.tree_start[t + 1]);
            if b <= a {
                return Err(format!("tree {t} has no nodes"));
            }
            if self.tree_group[t] >= n_groups {
                return Err(format!(
                    "tree {t} belongs to output group {}, but the model has {n_groups}",
                    self.tree_group[t]
                ));
            }
            let size = b - a;
            parents.clear();
            parents.resize(size, 0);
            for i in 0..size {
                let f = self.feature[a + i];
                if f == LEAF {
                    if !self.value[a + i].is_finite() {
                        return Err(format!("tree {t}, node {i}: leaf value is not finite"));
                    }
                    continue;
                }
                if f as usize >= n_features {
                    return Err(format!(
                        "tree {t}, node {i}: split feature {f} is out of range (the model has {n_features} features)"
                    ));
                }
                for (side, c) in [("left", self.left[a + i]), ("right", self.right[a + i])] {
                    let c = c as usize;
                    if c <= i || c >= size {
                        return Err(format!(
                            "tree {t}, node {i}: {side} child {c} is invalid (the tree has {size} nodes)"
                        ));
                    }
                    if parents[c] != 0 {
                        return Err(format!(
                            "tree {t}, node {i}: {side} child {c} already has a parent (not a tree)"
                        ));
                    }
                    parents[c] = 1;
                }
                let (flags, th) = (self.flags[a + i], self.threshold[a + i]);
                if flags & !KNOWN_FLAGS != 0 {
                    return Err(format!(
                        "tree {t}, node {i}: unknown flag bits in {flags:#x}"
                    ));
                }
                if flags & MISSING_MASK == MISSING_MASK {
                    return Err(format!("tree {t}, node {i}: unknown missing-value mode"));
                }
                if flags & CATEGORICAL != 0 {
                    if flags & MISSING_MASK != MISSING_NAN {
                        return Err(format!(
                            "tree {t}, node {i}: a categorical split takes only the NaN missing mode"
                        ));
                    }
                    if !(th >= 0.0 && th.fract() == 0.0 && th < self.n_bitsets() as f64) {
                        return Err(format!(
                            "tree {t}, node {i}: category bitset {th} does not exist (the model has {})",
                            self.n_bitsets()
                        ));
                    }
                } else if th.is_nan() {
                    return Err(format!("tree {t}, node {i}: threshold is NaN"));
                }
            }
        }
        Ok(())
    }

    fn validate_bitsets(&self) -> Result<(), String> {
        if self.cat_bounds.is_empty() {
            return if self.cat_words.is_empty() {
                Ok(())
            } else {
                Err("category words without bitset bounds".into())
            };
        }
        if self.cat_bounds[0] != 0
            || self.cat_bounds.last().map(|&b| b as usize) != Some(self.cat_words.len())
        {
            return Err(format!(
                "category bitset bounds do not span the {} category words",
                self.cat_words.len()
            ));
        }
        for (k, w) in self.cat_bounds.windows(2).enumerate() {
            if w[1] < w[0] {
                return Err(format!("category bitset {k} ends before it starts"));
            }
            if w[1] - w[0] > MAX_CATEGORY / 32 {
                return Err(format!(
                    "category bitset {k} covers more than {MAX_CATEGORY} categories"
                ));
            }
        }
        Ok(())
    }
}
