//! A forest laid out for inference: what prediction reads, and nothing else.
//!
//! * All trees' nodes are concatenated, each tree in pre-order, so a split's left child is the
//!   next node and only the distance to its right child is stored.
//! * A node takes **8 bytes** where every tree fits (`Packed`: the threshold's f32 bits, then
//!   the feature and the right child's distance in one u32, the feature in the high bits),
//!   else 12 (`Wide`: a forest with more features than the high bits hold, or a tree deeper in
//!   nodes than the low bits count).
//! * A leaf holds, in place of the threshold, the index of its value in one table of the
//!   forest's **distinct** leaf values. Fully grown classification trees end in pure leaves, so
//!   that table has a handful of rows where the trees have hundreds of thousands of leaves.
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

/// An 8-byte node: `thr` the threshold's f32 bits (at a leaf, its value's index); `code` the
/// feature above bit `shift` (all ones at a leaf) and the right child's distance below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
struct Packed {
    thr: u32,
    code: u32,
}

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
    Packed { nodes: Vec<Packed>, shift: u32 },
    Wide(Vec<Wide>),
}

/// The trees of a forest laid out for prediction (see the module docs).
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Walk {
    nodes: Nodes,
    /// Where each tree starts in `nodes`.
    starts: Vec<usize>,
    /// The distinct leaf values, `k` per row.
    values: Vec<f64>,
    k: usize,
}

/// The index of the leaf value a row ends in, walking a packed tree from `at`.
#[inline(always)]
fn leaf_packed(nodes: &[Packed], mut at: usize, row: &[f32], shift: u32) -> usize {
    let leaf = u32::MAX >> shift;
    let mask = (1u32 << shift) - 1;
    loop {
        let n = nodes[at];
        let f = n.code >> shift;
        if f == leaf {
            return n.thr as usize;
        }
        at += if row[f as usize] <= f32::from_bits(n.thr) {
            1
        } else {
            (n.code & mask) as usize
        };
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
            Nodes::Packed { nodes, .. } => nodes.len() * size_of::<Packed>(),
            Nodes::Wide(nodes) => nodes.len() * size_of::<Wide>(),
        };
        nodes + self.values.len() * 8 + self.starts.len() * 8
    }

    /// Whether the nodes take 8 bytes (else 12).
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
            Nodes::Packed { nodes, shift } => {
                let shift = *shift;
                self.sum_with(data, in_bag, |at, row| leaf_packed(nodes, at, row, shift))
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
    /// The largest right-child distance.
    widest: u32,
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
            widest: 0,
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
                self.widest = self.widest.max(right);
                Wide {
                    feature: t.feature[i] as u32,
                    thr: f32_at_most(t.threshold[i]).to_bits(),
                    right,
                }
            };
            self.nodes.push(node);
        }
    }

    /// The forest laid out: packed when every feature and distance fits.
    pub(crate) fn finish(self) -> Walk {
        // Feature bits: enough for every feature index and the all-ones leaf mark.
        let fbits = (usize::BITS - self.n_features.leading_zeros()).max(1);
        let nodes = if fbits < 32 && u64::from(self.widest) < 1u64 << (32 - fbits) {
            let shift = 32 - fbits;
            let leaf = u32::MAX >> shift;
            let packed = self
                .nodes
                .iter()
                .map(|n| {
                    if n.feature == u32::MAX {
                        Packed {
                            thr: n.thr,
                            code: leaf << shift,
                        }
                    } else {
                        Packed {
                            thr: n.thr,
                            code: n.feature << shift | n.right,
                        }
                    }
                })
                .collect();
            Nodes::Packed {
                nodes: packed,
                shift,
            }
        } else {
            Nodes::Wide(self.nodes)
        };
        Walk {
            nodes,
            starts: self.starts,
            values: self.values,
            k: self.k,
        }
    }
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
