//! A forest laid out for inference: what prediction reads, and nothing else.
//!
//! * All trees' splits are concatenated, each tree in pre-order.
//! * **Leaves are folded into their parents** (`Packed`, 8 bytes a split): a split stores, per
//!   side, whether that child is a leaf. A child that is a split is the next node when it is the
//!   only split child or the left one; the right one of two split children is found by its
//!   distance. A leaf child is the index of its value in one table of the forest's **distinct**
//!   leaf values; a split with two leaf children points at a (deduplicated) pair of such
//!   indices. A fully grown tree has about as many leaves as splits, so this halves the nodes
//!   and a walk reads one node fewer. A node is the threshold's f32 bits, then one u32: the
//!   feature in the high bits, the two leaf flags, and the distance or index below them.
//! * Where a forest's features or a tree's size do not fit those bits, every node takes 12
//!   bytes (`Wide`: leaves kept as nodes; a split's left child is the next node and only the
//!   distance to its right child is stored).
//! * Fully grown classification trees end in pure leaves, so the value table has a handful of
//!   rows where the trees have hundreds of thousands of leaves.
//!
//! A split compares the f32-rounded input with the largest f32 not above the f64 threshold
//! (`f32_at_most`), which takes the f64 threshold's decision for every f32 input (the trees
//! were grown on f32-rounded features).

use std::collections::HashMap;

use rayon::prelude::*;
use smelt_core::Dataset;

use super::compact::f32_at_most;
use crate::tree::{LEAF_CHILD, Tree};

/// Rows per parallel block at prediction: large, so that each (deep, fully grown) tree is
/// walked by many rows while its nodes are in cache.
const BLOCK: usize = 8192;

/// An 8-byte split: `thr` the threshold's f32 bits; `code` the feature above bit `shift`, then
/// the flags [`LEFT_LEAF`] and [`RIGHT_LEAF`], then (the low `shift - 2` bits) the right
/// child's distance when both children are splits, a leaf child's value index when one is, the
/// index of the pair of value indices when both are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Packed {
    thr: u32,
    code: u32,
}

/// In a packed split's flags: the left child is a leaf.
const LEFT_LEAF: u32 = 2;
/// In a packed split's flags: the right child is a leaf.
const RIGHT_LEAF: u32 = 1;
/// In a packed forest's tree starts: the tree is a single leaf, whose value index is the rest.
const LEAF_ROOT: usize = 1 << (usize::BITS - 1);

/// A 12-byte node: the feature (`u32::MAX` at a leaf), the threshold's f32 bits (at a leaf,
/// its value's index) and the right child's distance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Wide {
    feature: u32,
    thr: u32,
    right: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Nodes {
    Packed {
        nodes: Vec<Packed>,
        shift: u32,
        /// The value indices of splits whose children are both leaves (left, right).
        pairs: Vec<[u32; 2]>,
    },
    Wide(Vec<Wide>),
}

/// The trees of a forest laid out for prediction (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Walk {
    nodes: Nodes,
    /// Where each tree starts in `nodes` (packed: or [`LEAF_ROOT`] and its value index).
    starts: Vec<usize>,
    /// The distinct leaf values, `k` per row.
    values: Vec<f64>,
    k: usize,
}

/// The index of the leaf value a row ends in, walking a packed tree from `root`.
#[inline(always)]
fn leaf_packed(
    nodes: &[Packed],
    pairs: &[[u32; 2]],
    root: usize,
    row: &[f32],
    shift: u32,
) -> usize {
    if root & LEAF_ROOT != 0 {
        return root & !LEAF_ROOT;
    }
    let low = (1u32 << (shift - 2)) - 1;
    let mut at = root;
    loop {
        let n = nodes[at];
        let flags = (n.code >> (shift - 2)) & 3;
        let field = n.code & low;
        let leaf = |side: usize| {
            if flags == LEFT_LEAF | RIGHT_LEAF {
                pairs[field as usize][side] as usize
            } else {
                field as usize
            }
        };
        if row[(n.code >> shift) as usize] <= f32::from_bits(n.thr) {
            if flags & LEFT_LEAF != 0 {
                return leaf(0);
            }
            at += 1;
        } else {
            if flags & RIGHT_LEAF != 0 {
                return leaf(1);
            }
            at += if flags & LEFT_LEAF != 0 {
                1
            } else {
                field as usize
            };
        }
    }
}

/// [`leaf_packed`] for wide nodes.
#[inline(always)]
fn leaf_wide(nodes: &[Wide], mut at: usize, row: &[f32]) -> usize {
    loop {
        let n = nodes[at];
        if n.feature == u32::MAX {
            return n.thr as usize;
        }
        at += if row[n.feature as usize] <= f32::from_bits(n.thr) {
            1
        } else {
            n.right as usize
        };
    }
}

impl Walk {
    /// Number of trees.
    pub(crate) fn n_trees(&self) -> usize {
        self.starts.len()
    }

    /// Bytes held by the nodes and the value table (what a loaded forest costs).
    pub(crate) fn bytes(&self) -> usize {
        let nodes = match &self.nodes {
            Nodes::Packed { nodes, pairs, .. } => {
                nodes.len() * size_of::<Packed>() + pairs.len() * size_of::<[u32; 2]>()
            }
            Nodes::Wide(nodes) => nodes.len() * size_of::<Wide>(),
        };
        nodes + self.values.len() * 8 + self.starts.len() * 8
    }

    /// Whether the leaves are folded into 8-byte splits (else 12-byte nodes).
    #[cfg(test)]
    pub(crate) fn packed(&self) -> bool {
        matches!(self.nodes, Nodes::Packed { .. })
    }

    /// Per row of `data` (already conformed to the model's features), the sum of the trees'
    /// leaf values (`n × k`, row-major) and how many trees were summed. With `in_bag`, a tree
    /// counts for a row only when the row is out of its bag. Rows are processed in parallel
    /// blocks, each walking every tree in turn (the tree stays in cache for the block); within
    /// a row, trees are summed in index order (deterministic).
    pub(crate) fn sum(
        &self,
        data: &Dataset<f64>,
        in_bag: Option<&[Vec<u64>]>,
    ) -> (Vec<f64>, Vec<u32>) {
        match &self.nodes {
            Nodes::Packed {
                nodes,
                shift,
                pairs,
            } => {
                let shift = *shift;
                self.sum_with(data, in_bag, |at, row| {
                    leaf_packed(nodes, pairs, at, row, shift)
                })
            }
            Nodes::Wide(nodes) => self.sum_with(data, in_bag, |at, row| leaf_wide(nodes, at, row)),
        }
    }

    fn sum_with<F>(
        &self,
        data: &Dataset<f64>,
        in_bag: Option<&[Vec<u64>]>,
        leaf: F,
    ) -> (Vec<f64>, Vec<u32>)
    where
        F: Fn(usize, &[f32]) -> usize + Sync,
    {
        let (n, p, k) = (data.n_rows(), data.n_features(), self.k);
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
                for (ti, &root) in self.starts.iter().enumerate() {
                    for i in 0..rows {
                        if let Some(bags) = in_bag {
                            let r = start + i;
                            if bags[ti][r / 64] >> (r % 64) & 1 == 1 {
                                continue;
                            }
                        }
                        let v = leaf(root, &x[i * p..(i + 1) * p]);
                        s[i * k..(i + 1) * k]
                            .iter_mut()
                            .zip(&self.values[v * k..(v + 1) * k])
                            .for_each(|(a, b)| *a += b);
                        c[i] += 1;
                    }
                }
            });
        (sums, counts)
    }
}

/// Lays trees out one at a time (so a loader never holds them all whole).
pub(crate) struct WalkBuilder {
    n_features: usize,
    k: usize,
    nodes: Vec<Wide>,
    starts: Vec<usize>,
    values: Vec<f64>,
    /// Leaf values seen (their f64 bits) → their row in `values`; `[u64; 2]` keys when
    /// `k <= 2` (no allocation per leaf), vectors otherwise.
    small: HashMap<[u64; 2], u32>,
    large: HashMap<Vec<u64>, u32>,
}

impl WalkBuilder {
    /// A builder for trees over `n_features` features with `k` values per node.
    pub(crate) fn new(n_features: usize, k: usize) -> Self {
        WalkBuilder {
            n_features,
            k,
            nodes: Vec::new(),
            starts: Vec::new(),
            values: Vec::new(),
            small: HashMap::new(),
            large: HashMap::new(),
        }
    }

    /// The row of `v` in the value table, added when new.
    fn value(&mut self, v: &[f64]) -> u32 {
        let next = (self.values.len() / self.k.max(1)) as u32;
        let row = if self.k <= 2 {
            let mut key = [0u64; 2];
            key.iter_mut().zip(v).for_each(|(a, b)| *a = b.to_bits());
            *self.small.entry(key).or_insert(next)
        } else {
            *self
                .large
                .entry(v.iter().map(|x| x.to_bits()).collect())
                .or_insert(next)
        };
        if row == next {
            self.values.extend_from_slice(v);
        }
        row
    }

    /// Adds one tree (numbered in pre-order: a split's left child is the next node).
    pub(crate) fn push(&mut self, t: &Tree) {
        let k = self.k;
        self.starts.push(self.nodes.len());
        self.nodes.reserve(t.node_count());
        for i in 0..t.node_count() {
            let node = if t.left[i] == LEAF_CHILD {
                Wide {
                    feature: u32::MAX,
                    thr: self.value(&t.value[i * k..(i + 1) * k]),
                    right: 0,
                }
            } else {
                debug_assert_eq!(t.left[i], i as i64 + 1, "trees are numbered in pre-order");
                let right = (t.right[i] - i as i64) as u32;
                Wide {
                    feature: t.feature[i] as u32,
                    thr: f32_at_most(t.threshold[i]).to_bits(),
                    right,
                }
            };
            self.nodes.push(node);
        }
    }

    /// The forest laid out: leaves folded into packed splits when every feature, distance and
    /// index fits, else wide nodes.
    pub(crate) fn finish(self) -> Walk {
        let (nodes, starts) = match fold_leaves(&self.nodes, &self.starts, self.n_features) {
            Some((nodes, starts)) => (nodes, starts),
            None => (Nodes::Wide(self.nodes), self.starts),
        };
        Walk {
            nodes,
            starts,
            values: self.values,
            k: self.k,
        }
    }
}

/// Wide pre-order trees (`starts` into `wide`) as packed splits with their leaves folded in
/// (see the module docs), and the trees' new starts; `None` when a feature index, distance or
/// value index does not fit the bits.
fn fold_leaves(wide: &[Wide], starts: &[usize], n_features: usize) -> Option<(Nodes, Vec<usize>)> {
    // Feature bits: enough for the largest feature index.
    let fbits = (usize::BITS - n_features.saturating_sub(1).leading_zeros()).max(1);
    let shift = 32u32.checked_sub(fbits).filter(|&s| s >= 3)?;
    let low = (1u32 << (shift - 2)) - 1;
    let is_leaf = |n: &Wide| n.feature == u32::MAX;
    let mut nodes = Vec::with_capacity(wide.len() / 2 + 1);
    let mut new_starts = Vec::with_capacity(starts.len());
    let mut pairs: Vec<[u32; 2]> = Vec::new();
    let mut pair_of: HashMap<[u32; 2], u32> = HashMap::new();
    // Per node of the tree at hand: how many splits precede it (its index once leaves go).
    let mut rank: Vec<u32> = Vec::new();
    for (t, &s) in starts.iter().enumerate() {
        let tree = &wide[s..starts.get(t + 1).copied().unwrap_or(wide.len())];
        let root = tree.first()?;
        if is_leaf(root) {
            new_starts.push(LEAF_ROOT | root.thr as usize);
            continue;
        }
        new_starts.push(nodes.len());
        rank.clear();
        let mut splits = 0u32;
        for n in tree {
            rank.push(splits);
            splits += u32::from(!is_leaf(n));
        }
        for (i, n) in tree.iter().enumerate() {
            if is_leaf(n) {
                continue;
            }
            let r = i + n.right as usize;
            let (left, right) = (tree.get(i + 1)?, tree.get(r)?);
            let field = match (is_leaf(left), is_leaf(right)) {
                (false, false) => rank[r] - rank[i],
                (true, false) => left.thr,
                (false, true) => right.thr,
                (true, true) => *pair_of.entry([left.thr, right.thr]).or_insert_with(|| {
                    pairs.push([left.thr, right.thr]);
                    (pairs.len() - 1) as u32
                }),
            };
            if field > low || u64::from(n.feature) >= 1u64 << fbits {
                return None;
            }
            let flags = u32::from(is_leaf(left)) << 1 | u32::from(is_leaf(right));
            nodes.push(Packed {
                thr: n.thr,
                code: n.feature << shift | flags << (shift - 2) | field,
            });
        }
    }
    Some((
        Nodes::Packed {
            nodes,
            shift,
            pairs,
        },
        new_starts,
    ))
}

/// A forest's trees laid out.
pub(crate) fn walk_of(trees: &[Tree], n_features: usize, k: usize) -> Walk {
    let mut b = WalkBuilder::new(n_features, k);
    trees.iter().for_each(|t| b.push(t));
    b.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stump on `feature`: `x <= thr` → leaf values `a`, else `b`.
    fn stump(feature: i64, thr: f64, a: &[f64], b: &[f64]) -> Tree {
        Tree {
            feature: vec![
                feature,
                crate::tree::LEAF_FEATURE,
                crate::tree::LEAF_FEATURE,
            ],
            threshold: vec![thr, -2.0, -2.0],
            left: vec![1, LEAF_CHILD, LEAF_CHILD],
            right: vec![2, LEAF_CHILD, LEAF_CHILD],
            value: [&[0.5, 0.5][..a.len()], a, b].concat(),
            n_outputs: a.len(),
            impurity: vec![0.5, 0.0, 0.0],
            n_node_samples: vec![2.0, 1.0, 1.0],
            weighted_n_node_samples: vec![2.0, 1.0, 1.0],
        }
    }

    #[test]
    fn equal_leaf_values_share_one_row_and_wide_nodes_walk_as_packed_ones() {
        let trees = vec![
            stump(0, 0.5, &[1.0, 0.0], &[0.0, 1.0]),
            stump(1, -1.0, &[0.0, 1.0], &[1.0, 0.0]),
        ];
        let w = walk_of(&trees, 2, 2);
        assert!(w.packed());
        assert_eq!(w.values, vec![1.0, 0.0, 0.0, 1.0]);
        let data = smelt_testkit::classification_data(50, 2, 2, 3);
        let (sums, counts) = w.sum(&data, None);
        // Too many features for the high bits: the same walk on 12-byte nodes.
        let wide = walk_of(&trees, 1 << 31, 2);
        assert!(!wide.packed());
        assert_eq!(wide.sum(&data, None), (sums.clone(), counts));
        for i in 0..50 {
            let x = [data.column(0)[i] as f32, data.column(1)[i] as f32];
            let first = if x[0] <= 0.5 { [1.0, 0.0] } else { [0.0, 1.0] };
            let second = if x[1] <= -1.0 { [0.0, 1.0] } else { [1.0, 0.0] };
            assert_eq!(sums[2 * i], first[0] + second[0]);
            assert_eq!(sums[2 * i + 1], first[1] + second[1]);
        }
    }

    /// A random pre-order tree over `p` features with `k` values a node: splits down to
    /// `depth`, each child a leaf with probability 0.3 (so every mix of leaf and split
    /// children occurs); leaf values from a small set, so they repeat.
    fn random_tree(rng: &mut smelt_core::rng::Rng, p: usize, k: usize, depth: usize) -> Tree {
        fn grow(t: &mut Tree, rng: &mut smelt_core::rng::Rng, p: usize, k: usize, depth: usize) {
            let i = t.feature.len();
            t.impurity.push(0.0);
            t.n_node_samples.push(1.0);
            t.weighted_n_node_samples.push(1.0);
            if depth == 0 || rng.uniform() < 0.3 {
                t.feature.push(crate::tree::LEAF_FEATURE);
                t.threshold.push(-2.0);
                t.left.push(LEAF_CHILD);
                t.right.push(LEAF_CHILD);
                for _ in 0..k {
                    t.value.push(rng.below(4) as f64 * 0.25);
                }
                return;
            }
            t.feature.push(rng.below(p) as i64);
            t.threshold.push(rng.normal());
            t.left.push(i as i64 + 1);
            t.right.push(0);
            t.value.extend(std::iter::repeat_n(0.0, k));
            grow(t, rng, p, k, depth - 1);
            t.right[i] = t.feature.len() as i64;
            grow(t, rng, p, k, depth - 1);
        }
        let mut t = Tree {
            feature: vec![],
            threshold: vec![],
            left: vec![],
            right: vec![],
            value: vec![],
            n_outputs: k,
            impurity: vec![],
            n_node_samples: vec![],
            weighted_n_node_samples: vec![],
        };
        grow(&mut t, rng, p, k, depth);
        t
    }

    #[test]
    fn folded_leaves_walk_as_the_wide_nodes_and_take_half_the_room() {
        let mut rng = smelt_core::rng::Rng::new(4);
        let data = smelt_testkit::classification_data(300, 5, 2, 9);
        for k in [1, 2, 3] {
            // Single leaves, stumps and deeper trees, with every mix of children.
            let trees: Vec<Tree> = (0..40)
                .map(|d| random_tree(&mut rng, 5, k, d % 9))
                .collect();
            assert!(
                trees.iter().any(|t| t.node_count() == 1),
                "a single-leaf tree"
            );
            let packed = walk_of(&trees, 5, k);
            let wide = walk_of(&trees, 1 << 31, k);
            assert!(packed.packed() && !wide.packed());
            assert_eq!(packed.sum(&data, None), wide.sum(&data, None), "k = {k}");
            let all: usize = trees.iter().map(Tree::node_count).sum();
            let Nodes::Packed { nodes, .. } = &packed.nodes else {
                unreachable!()
            };
            let splits = trees
                .iter()
                .flat_map(|t| &t.left)
                .filter(|&&l| l != LEAF_CHILD)
                .count();
            assert_eq!(
                nodes.len(),
                splits,
                "one packed node per split, none per leaf"
            );
            assert!(splits * 2 < all + 40, "{splits} splits of {all} nodes");
        }
    }

    #[test]
    fn a_threshold_between_f32_values_decides_as_the_f64_one() {
        // 0.1 is not an f32: the f32 just above it must go right, just below it left.
        let w = walk_of(&[stump(0, 0.1, &[1.0], &[2.0])], 1, 1);
        let above = f32::from_bits(0.1f32.to_bits());
        assert!(f64::from(above) > 0.1);
        let below = f32::from_bits(above.to_bits() - 1);
        let x = smelt_core::Feature {
            name: "x".into(),
            ltype: smelt_core::LogicalType::Numeric,
            kind: smelt_core::FeatureKind::Numeric,
        };
        let data =
            Dataset::new(2, vec![f64::from(above), f64::from(below)], vec![x], None).unwrap();
        assert_eq!(w.sum(&data, None).0, vec![2.0, 1.0]);
    }
}
