//! The batch layout: every split re-expressed on small integer bins of its input column, and
//! trees re-laid in pre-order as 8-byte nodes (see the [module docs](super)).
//!
//! A split `x <= t` (or `x < t`) only ever asks where `x` lies among the thresholds of its
//! feature. So a batch block first replaces each value by its *bin*: the number of the
//! feature's (sorted, distinct) thresholds below it (`t < x`, or `t <= x` for strict models).
//! Then `x <= t_k` is exactly `bin <= k`: the walk compares small integers, and every decision
//! is the `f64` one, bit for bit, whatever the thresholds (an `f32` threshold would not be
//! exact: a `f64` value within half an `f32` ulp of it rounds onto it). A missing value gets
//! [`NAN_BIN`], which no split's range holds, so it takes the far child like in the `f64`
//! walk. LightGBM's `Zero` missing type reads `|x| <= 1e-35` as missing, so its splits read a
//! column of their own binned that way and become plain splits. A categorical split reads a
//! column that maps up to [`CAT_CODES`] category codes (those its splits name) to bins
//! `0..CAT_CODES`, any other code or value to [`CAT_OTHER`] and a missing one to
//! [`CAT_MISSING`]; its node holds a 32-bit mask of the bins that go left (the near child),
//! tested inline.
//!
//! A node is two `u32` words: the numeric range `lo | width << 16` (a row goes to the near
//! child when `bin - lo < width`, unsigned) or the categorical mask; and the column
//! (bits 0–12), whether the near / far child is a leaf (bits 13, 14: a walk can stop as soon
//! as every lane's next node is a leaf), a categorical flag (bit 15) and the far child's offset
//! from the node (bits 16–31; 0 at a leaf, whose range is empty, so a walk stays there).

use smelt_core::{Bitmap, Dataset};

use super::node_word::{CAT_FLAG, COLUMN_MASK, FAR_LEAF, NEAR_LEAF};
use super::{
    CATEGORICAL, DEFAULT_LEFT, LEAF, MISSING_MASK, MISSING_NONE, MISSING_ZERO, Nodes,
    ZERO_THRESHOLD,
};

/// The bin of a missing value in a numeric column (outside every split's range).
const NAN_BIN: u16 = u16::MAX;
/// Category codes one categorical column can map.
const CAT_CODES: usize = 30;
/// The bin of a code (or value) the column does not map.
const CAT_OTHER: u16 = 30;
/// The bin of a missing category.
const CAT_MISSING: u16 = 31;
/// Most columns a node can address (13 bits).
const MAX_COLUMNS: usize = 1 << 13;

/// How a binned column reads its input feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Read {
    /// Rank among the thresholds; NaN is missing.
    Numeric,
    /// Rank among the thresholds; NaN and `|x| <= 1e-35` are missing (LightGBM type `Zero`).
    Zero,
    /// Rank among the category codes; NaN is missing, other values [`CAT_OTHER`].
    Categorical,
}

/// One binned input column.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Column {
    feature: usize,
    read: Read,
    /// Sorted distinct thresholds (numeric) or category codes (categorical).
    keys: Vec<f64>,
}

/// The trees as 8-byte binned nodes, with the columns a block is binned into.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Binned {
    pub(super) columns: Vec<Column>,
    /// `[range or mask, column | flag | far offset << 16]` per node, trees in pre-order.
    pub(super) nodes: Vec<[u32; 2]>,
    /// Leaf value by node index (0 at splits).
    pub(super) values: Vec<f64>,
    pub(super) roots: Vec<u32>,
    pub(super) groups: Vec<u32>,
    /// Whether any node is categorical (else the walk skips the flag test).
    pub(super) has_categorical: bool,
}

/// Which walk a batch takes over the binned layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Walker {
    /// 16 rows per tree, one at a time (the layout's reference, run by the tests only).
    #[cfg_attr(not(test), allow(dead_code, reason = "the tests' reference walk"))]
    Scalar,
    /// 64 rows per tree, 8 vectors of 8 lanes ([`super::simd`]).
    Avx2,
    /// 64 rows per tree, 4 vectors of 16 lanes (`simd512.rs`, the `avx512` feature).
    #[cfg_attr(
        not(all(target_arch = "x86_64", feature = "avx512")),
        allow(dead_code, reason = "built with the avx512 feature")
    )]
    Avx512,
}

impl Walker {
    /// The fastest walk this CPU runs; `None` without AVX2, where batches keep the `f64` walk:
    /// the scalar binned walk measured no faster than it (~8 % slower on the 100×31 LightGBM
    /// model, about even on the noisy table; BENCHMARKS.md).
    pub(super) fn best() -> Option<Walker> {
        #[cfg(target_arch = "x86_64")]
        {
            #[cfg(feature = "avx512")]
            if super::simd512::available() {
                return Some(Walker::Avx512);
            }
            if super::simd::available() {
                return Some(Walker::Avx2);
            }
        }
        None
    }

    /// Whether this CPU runs the walk.
    #[cfg(test)]
    fn runs(self) -> bool {
        match self {
            Walker::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Walker::Avx2 => super::simd::available(),
            #[cfg(all(target_arch = "x86_64", feature = "avx512"))]
            Walker::Avx512 => super::simd512::available(),
            #[allow(unreachable_patterns, reason = "depends on the target and features")]
            _ => false,
        }
    }
}

/// Where a node's column comes from while the layout is built.
fn column_of(
    columns: &mut Vec<Column>,
    index: &mut std::collections::HashMap<(usize, u8), usize>,
    feature: usize,
    read: Read,
) -> usize {
    let key = (feature, read as u8);
    *index.entry(key).or_insert_with(|| {
        columns.push(Column {
            feature,
            read,
            keys: Vec::new(),
        });
        columns.len() - 1
    })
}

/// The codes (set bits) of category bitset `k`.
fn codes(nodes: &Nodes, k: usize) -> Vec<f64> {
    let (a, b) = (
        nodes.cat_bounds[k] as usize,
        nodes.cat_bounds[k + 1] as usize,
    );
    let mut out = Vec::new();
    for (w, &word) in nodes.cat_words[a..b].iter().enumerate() {
        for bit in 0..32 {
            if word >> bit & 1 != 0 {
                out.push((w * 32 + bit) as f64);
            }
        }
    }
    out
}

fn sort_dedup(v: &mut Vec<f64>) {
    v.sort_by(f64::total_cmp);
    // -0.0 and 0.0 compare equal, so they are one threshold.
    v.dedup_by(|a, b| a == b);
}

impl Binned {
    /// The batch layout of validated `nodes`, or `None` when it cannot hold them: a tree over
    /// 65,536 nodes, a column with 65,535 or more thresholds, a categorical split naming more
    /// than [`CAT_CODES`] codes, more than 8,192 columns. (The `f64` walk then does batches.)
    pub(super) fn new(nodes: &Nodes, strict: bool) -> Option<Binned> {
        let n = nodes.feature.len();
        if n > i32::MAX as usize {
            // SIMD gathers take signed 32-bit indices.
            return None;
        }
        let mut columns: Vec<Column> = Vec::new();
        let mut index = std::collections::HashMap::new();
        // Pass 1: each split's column, and the keys of every column.
        let mut col_of = vec![0usize; n];
        for (g, col) in col_of.iter_mut().enumerate() {
            let f = nodes.feature[g];
            if f == LEAF {
                continue;
            }
            let (flags, th) = (nodes.flags[g], nodes.threshold[g]);
            let f = f as usize;
            if flags & CATEGORICAL != 0 {
                let codes = codes(nodes, th as usize);
                if codes.len() > CAT_CODES {
                    return None;
                }
                // First categorical column of the feature with room for this split's codes.
                let fits = columns.iter().position(|c| {
                    c.feature == f
                        && c.read == Read::Categorical
                        && c.keys.len() + codes.iter().filter(|k| !c.keys.contains(k)).count()
                            <= CAT_CODES
                });
                let c = fits.unwrap_or_else(|| {
                    columns.push(Column {
                        feature: f,
                        read: Read::Categorical,
                        keys: Vec::new(),
                    });
                    columns.len() - 1
                });
                for k in codes {
                    if !columns[c].keys.contains(&k) {
                        columns[c].keys.push(k);
                    }
                }
                *col = c;
            } else {
                let read = if flags & MISSING_MASK == MISSING_ZERO {
                    Read::Zero
                } else {
                    Read::Numeric
                };
                let c = column_of(&mut columns, &mut index, f, read);
                columns[c].keys.push(th);
                *col = c;
            }
        }
        if columns.len() > MAX_COLUMNS {
            return None;
        }
        for c in &mut columns {
            sort_dedup(&mut c.keys);
            if c.keys.len() >= usize::from(NAN_BIN) {
                return None;
            }
        }
        let rank = |c: &Column, v: f64| c.keys.partition_point(|&k| k < v) as u32;
        // Pass 2: the nodes, in pre-order with the missing side as the far child.
        let mut out: Vec<[u32; 2]> = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        let mut roots = Vec::with_capacity(nodes.n_trees());
        let mut has_categorical = false;
        let mut stack: Vec<(u32, Option<usize>)> = Vec::new();
        for t in 0..nodes.n_trees() {
            let base = nodes.tree_start[t];
            if nodes.tree_start[t + 1] - base > 1 << 16 {
                return None;
            }
            roots.push(out.len() as u32);
            stack.push((0, None));
            while let Some((i, parent)) = stack.pop() {
                let at = out.len();
                if let Some(p) = parent {
                    // Fits: the tree has at most 2^16 nodes.
                    out[p][1] |= ((at - p) as u32) << 16;
                }
                let g = base + i as usize;
                if nodes.feature[g] == LEAF {
                    out.push([0, NEAR_LEAF | FAR_LEAF]);
                    values.push(nodes.value[g]);
                    continue;
                }
                let (flags, th) = (nodes.flags[g], nodes.threshold[g]);
                let (left, right) = (nodes.left[g], nodes.right[g]);
                let col = &columns[col_of[g]];
                let default_left = flags & DEFAULT_LEFT != 0;
                let (word, flag, near, far) = if flags & CATEGORICAL != 0 {
                    has_categorical = true;
                    let mut mask = u32::from(default_left) << CAT_MISSING;
                    for k in codes(nodes, th as usize) {
                        mask |= 1 << rank(col, k);
                    }
                    (mask, CAT_FLAG, left, right)
                } else {
                    let k = rank(col, th);
                    let n_bins = col.keys.len() as u32 + 1;
                    let nan_left = if flags & MISSING_MASK == MISSING_NONE {
                        if strict { 0.0 < th } else { 0.0 <= th }
                    } else {
                        default_left
                    };
                    // Near child left: bins 0..=k; near child right: bins k+1..n_bins.
                    if nan_left {
                        ((k + 1) | (n_bins - k - 1) << 16, 0, right, left)
                    } else {
                        ((k + 1) << 16, 0, left, right)
                    }
                };
                let leaf = |c: u32, bit: u32| {
                    if nodes.feature[base + c as usize] == LEAF {
                        bit
                    } else {
                        0
                    }
                };
                let flag = flag | leaf(near, NEAR_LEAF) | leaf(far, FAR_LEAF);
                out.push([word, col_of[g] as u32 | flag]);
                values.push(0.0);
                stack.push((far, Some(at)));
                stack.push((near, None));
            }
        }
        Some(Binned {
            columns,
            nodes: out,
            values,
            roots,
            groups: nodes.tree_group.iter().map(|&g| g as u32).collect(),
            has_categorical,
        })
    }

    /// Values per binned row: the columns, at least one (leaves read column 0).
    pub(super) fn n_columns(&self) -> usize {
        self.columns.len().max(1)
    }

    /// Margins of rows `start..start + out.len() / base.len()` of `data` (conformed to the
    /// model's input) into `out`, row-major, by `walker`.
    #[allow(
        clippy::too_many_arguments,
        reason = "the model's decision rules travel with the block"
    )]
    pub(super) fn predict_block(
        &self,
        data: &Dataset<f64>,
        start: usize,
        strict: bool,
        f32: bool,
        base: &[f64],
        out: &mut [f64],
        walker: Walker,
    ) {
        let k = base.len();
        let rows = out.len() / k;
        // One spare bin: a SIMD gather reads a `u16` past the one it wants.
        let mut bins = vec![0u16; rows * self.n_columns() + 1];
        let column = |j: usize| (data.column(j), data.missing(j));
        match (strict, f32) {
            (true, true) => self.bin_block::<true, true>(column, start, rows, &mut bins),
            (true, false) => self.bin_block::<true, false>(column, start, rows, &mut bins),
            (false, true) => self.bin_block::<false, true>(column, start, rows, &mut bins),
            (false, false) => self.bin_block::<false, false>(column, start, rows, &mut bins),
        }
        for o in out.chunks_exact_mut(k) {
            for (o, &b) in o.iter_mut().zip(base) {
                *o = if f32 { b as f32 as f64 } else { b };
            }
        }
        if f32 {
            self.block_margins::<true>(&bins, k, out, walker);
        } else {
            self.block_margins::<false>(&bins, k, out, walker);
        }
    }

    /// Bins of rows `start..start + rows` of columns given by `column(j)` (the input
    /// features' values, NaN for missing) into `out`, row-major (`rows × n_columns`).
    pub(super) fn bin_block<'a, const STRICT: bool, const F32: bool>(
        &self,
        column: impl Fn(usize) -> (&'a [f64], Option<&'a Bitmap>),
        start: usize,
        rows: usize,
        out: &mut [u16],
    ) {
        let nc = self.n_columns();
        for (c, col) in self.columns.iter().enumerate() {
            let (values, miss) = column(col.feature);
            let values = &values[start..start + rows];
            let keys = &col.keys[..];
            for (r, &v) in values.iter().enumerate() {
                let mut v = if miss.is_some_and(|m| m.get(start + r)) {
                    f64::NAN
                } else {
                    v
                };
                if F32 {
                    v = v as f32 as f64;
                }
                out[r * nc + c] = match col.read {
                    Read::Categorical => {
                        if v.is_nan() {
                            CAT_MISSING
                        } else {
                            // Keys are whole codes: a fractional or unlisted value is other.
                            let k = keys.partition_point(|&k| k < v);
                            if keys.get(k) == Some(&v) {
                                k as u16
                            } else {
                                CAT_OTHER
                            }
                        }
                    }
                    Read::Zero if v.abs() <= ZERO_THRESHOLD => NAN_BIN,
                    _ if v.is_nan() => NAN_BIN,
                    _ => {
                        (if STRICT {
                            keys.partition_point(|&k| k <= v)
                        } else {
                            keys.partition_point(|&k| k < v)
                        }) as u16
                    }
                };
            }
        }
    }

    /// Margins of a binned block (`rows × n_columns` bins) into `out` (`rows × n_groups`,
    /// holding the base scores): [`super::ROW_LANES`] rows walk each tree in lockstep and add
    /// their leaves in tree order, like the `f64` walk.
    /// `walker` must run on this CPU (else the scalar walk runs).
    pub(super) fn block_margins<const F32: bool>(
        &self,
        bins: &[u16],
        k: usize,
        out: &mut [f64],
        walker: Walker,
    ) {
        const L: usize = super::ROW_LANES;
        let nc = self.n_columns();
        let rows = out.len() / k;
        assert!(
            bins.len() > rows * nc,
            "a binned block without its spare bin"
        );
        #[cfg(target_arch = "x86_64")]
        {
            #[cfg(feature = "avx512")]
            let w512 = walker == Walker::Avx512 && super::simd512::available();
            #[cfg(not(feature = "avx512"))]
            let w512 = false;
            let w256 = walker == Walker::Avx2 && super::simd::available();
            if (w512 || w256) && nc * rows < i32::MAX as usize {
                const SL: usize = super::simd::LANES;
                let mut leaves = [0u32; SL];
                for start in (0..rows).step_by(SL) {
                    let m = SL.min(rows - start);
                    // Spare lanes of the last group repeat its last row.
                    let row_start: [i32; SL] =
                        std::array::from_fn(|l| ((start + l.min(m - 1)) * nc) as i32);
                    for (&root, &g) in self.roots.iter().zip(&self.groups) {
                        let (nodes, root) = (&self.nodes[..], root as usize);
                        let cat = self.has_categorical;
                        // SAFETY: the CPU has the walk's features (checked just above); the
                        // layout was built by `Binned::new` (far offsets within their trees,
                        // columns below `nc`), `root` starts a tree, and every row start plus
                        // `nc` is within `bins`, which has a spare bin at the end (asserted
                        // above).
                        #[allow(unsafe_code, reason = "the SIMD walks; sound as said above")]
                        unsafe {
                            use super::simd;
                            let l = &mut leaves;
                            match (w512, cat) {
                                #[cfg(feature = "avx512")]
                                (true, true) => {
                                    super::simd512::walk::<true>(nodes, root, bins, &row_start, l)
                                }
                                #[cfg(feature = "avx512")]
                                (true, false) => {
                                    super::simd512::walk::<false>(nodes, root, bins, &row_start, l)
                                }
                                (_, true) => simd::walk::<true>(nodes, root, bins, &row_start, l),
                                (_, false) => simd::walk::<false>(nodes, root, bins, &row_start, l),
                            }
                        }
                        self.add_leaves::<F32>(&leaves[..m], start, g as usize, k, out);
                    }
                }
                return;
            }
        }
        #[cfg(not(target_arch = "x86_64"))]
        let _ = walker;
        for start in (0..rows).step_by(L) {
            let m = L.min(rows - start);
            // Spare lanes of the last group repeat its last row.
            let lane: [&[u16]; L] = std::array::from_fn(|l| {
                let r = start + l.min(m - 1);
                &bins[r * nc..(r + 1) * nc]
            });
            for (&root, &g) in self.roots.iter().zip(&self.groups) {
                let leaves = if self.has_categorical {
                    walk::<true>(&self.nodes, root as usize, &lane)
                } else {
                    walk::<false>(&self.nodes, root as usize, &lane)
                };
                self.add_leaves::<F32>(&leaves[..m], start, g as usize, k, out);
            }
        }
    }

    /// Adds the values of the leaves of rows `start..` to their margins of group `g`.
    #[inline(always)]
    fn add_leaves<const F32: bool>(
        &self,
        leaves: &[u32],
        start: usize,
        g: usize,
        k: usize,
        out: &mut [f64],
    ) {
        for (l, &i) in leaves.iter().enumerate() {
            let o = &mut out[(start + l) * k + g];
            let v = self.values[i as usize];
            *o = if F32 {
                (*o as f32 + v as f32) as f64
            } else {
                *o + v
            };
        }
    }
}

/// The leaves the lanes' rows reach from `root`, all lanes stepping together.
#[inline(always)]
fn walk<const CAT: bool>(
    nodes: &[[u32; 2]],
    root: usize,
    lane: &[&[u16]; super::ROW_LANES],
) -> [u32; super::ROW_LANES] {
    let mut idx = [root as u32; super::ROW_LANES];
    loop {
        let mut moved = false;
        for (i, row) in idx.iter_mut().zip(lane) {
            let [word, key] = nodes[*i as usize];
            let b = u32::from(row[(key & COLUMN_MASK) as usize]);
            let near = if CAT && key & CAT_FLAG != 0 {
                word >> (b & 31) & 1 != 0
            } else {
                b.wrapping_sub(word & 0xffff) < word >> 16
            };
            let next = if near { *i + 1 } else { *i + (key >> 16) };
            moved |= next != *i;
            *i = next;
        }
        if !moved {
            return idx;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test, with its location"
    )]

    use smelt_core::Feature;
    use smelt_core::rng::Rng;

    use super::super::{MISSING_NAN, Objective, TreeEnsemble};
    use super::*;

    fn numeric(n: usize) -> Vec<Feature> {
        crate::import::numeric_features((0..n).map(|j| format!("x{j}")).collect())
    }

    fn model(nodes: Nodes, p: usize, groups: usize, strict: bool, f32: bool) -> TreeEnsemble {
        let objective = if groups > 1 {
            Objective::Softmax
        } else {
            Objective::Identity
        };
        let base = vec![0.125; groups];
        TreeEnsemble::new(
            "test",
            numeric(p),
            groups,
            base,
            objective,
            strict,
            f32,
            nodes,
        )
        .unwrap()
    }

    /// The binned batch margins, by the scalar and the SIMD walk, equal the `f64` walk's
    /// single-row margins on every row of `data`.
    fn check(m: &TreeEnsemble, data: &Dataset<f64>) {
        let b = m.binned.as_ref().expect("a binned layout");
        let k = m.n_groups();
        let n = data.n_rows();
        let mut want = vec![0.0; n * k];
        for (i, out) in want.chunks_exact_mut(k).enumerate() {
            m.predict_row_margins(&data.row(i), out).unwrap();
        }
        for walker in [Walker::Scalar, Walker::Avx2, Walker::Avx512] {
            if !walker.runs() {
                continue;
            }
            let mut got = vec![0.0; n * k];
            b.predict_block(
                data,
                0,
                m.strict,
                m.single_precision,
                &m.base,
                &mut got,
                walker,
            );
            for i in 0..n * k {
                assert_eq!(
                    got[i].to_bits(),
                    want[i].to_bits(),
                    "row {}, {walker:?}: {:?}",
                    i / k,
                    data.row(i / k)
                );
            }
        }
    }

    /// Values on and around the thresholds 0.1 (not an `f32`), 2.5 and 0, the category codes
    /// and LightGBM's zero band.
    fn edge_values() -> Vec<f64> {
        let mut v = vec![
            f64::NAN,
            0.0,
            -0.0,
            1e-36,
            -1e-36,
            1e-35,
            -1e-35,
            2e-35,
            -2e-35,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
            -1.0,
            1000.0,
            1000.5,
            40.0,
            39.5,
            (1u64 << 30) as f64,
        ];
        for t in [0.1f64, 2.5, 0.1f32 as f64] {
            let up = f64::from_bits(t.to_bits() + 1);
            let down = f64::from_bits(t.to_bits() - 1);
            // Half an f32 ulp away: rounds onto the f32 neighbour in single precision.
            let half = f64::from(f32::from_bits((t as f32).to_bits() + 1)) - f64::from(t as f32);
            v.extend([t, up, down, t + half / 2.0, t - half / 2.0, -t]);
        }
        v.extend((0..34).map(f64::from));
        v
    }

    /// Every missing mode and both default sides at numeric splits, categorical splits with
    /// codes past the 32-bit mask (1000), and a column shared by several splits.
    fn every_kind_of_split() -> Nodes {
        let mut nodes = Nodes::default();
        for mode in [MISSING_NAN, MISSING_NONE, MISSING_ZERO] {
            for default in [0, DEFAULT_LEFT] {
                for th in [0.1, 2.5, 0.0, -1e-36, f64::INFINITY, f64::NEG_INFINITY] {
                    nodes.push_tree(0);
                    nodes.push_node(0, th, 1, 2, mode | default, 0.0);
                    nodes.push_categorical_node(1, &[1, 3, 40, 1000], 3, 4, default);
                    nodes.push_node(0, 2.5, 5, 6, MISSING_NAN | (DEFAULT_LEFT - default), 0.0);
                    for v in [1.0, 2.0, 4.0, 8.0] {
                        nodes.push_node(LEAF, 0.0, 0, 0, 0, v * th.abs().min(9.0) + v);
                    }
                    nodes.end_tree();
                }
            }
        }
        nodes
    }

    #[test]
    fn every_split_kind_decides_like_the_f64_walk() {
        let values = edge_values();
        let n = values.len();
        // Every value in column 0 against every value in column 1, both orders covered.
        let mut cols = vec![0.0; n * n * 2];
        for i in 0..n {
            for j in 0..n {
                cols[i * n + j] = values[i];
                cols[n * n + i * n + j] = values[j];
            }
        }
        let data = Dataset::new(n * n, cols, numeric(2), None).unwrap();
        for strict in [false, true] {
            for f32 in [false, true] {
                let m = model(every_kind_of_split(), 2, 1, strict, f32);
                let b = m.binned.as_ref().unwrap();
                assert!(b.has_categorical);
                // x0 plain, x0 zero type, x1 categorical.
                assert_eq!(b.columns.len(), 3);
                check(&m, &data);
            }
        }
    }

    #[test]
    fn random_trees_decide_like_the_f64_walk() {
        let mut rng = Rng::new(11);
        for (groups, strict, f32) in [(1, false, false), (3, true, false), (2, true, true)] {
            let p = 5;
            let nodes = super::super::tests::random_nodes(&mut rng, 40, p, groups);
            let m = model(nodes, p, groups, strict, f32);
            let n = 700;
            let values: Vec<f64> = (0..n * p)
                .map(|_| match rng.below(6) {
                    0 => f64::NAN,
                    1 => 0.0,
                    2 => -(rng.below(3) as f64),
                    3 => rng.below(50) as f64,
                    _ => (rng.below(9) as f64 - 4.0) * 0.5 + rng.below(3) as f64 * 0.25,
                })
                .collect();
            check(&m, &Dataset::new(n, values, numeric(p), None).unwrap());
        }
    }

    #[test]
    fn codes_share_columns_and_too_many_fall_back_to_the_f64_walk() {
        // Two splits of 20 codes each on one feature: two categorical columns.
        let mut nodes = Nodes::default();
        nodes.push_tree(0);
        let a: Vec<u32> = (0..20).collect();
        let b: Vec<u32> = (20..40).collect();
        nodes.push_categorical_node(0, &a, 1, 2, DEFAULT_LEFT);
        nodes.push_categorical_node(0, &b, 3, 4, 0);
        nodes.push_node(LEAF, 0.0, 0, 0, 0, 3.0);
        nodes.push_node(LEAF, 0.0, 0, 0, 0, 1.0);
        nodes.push_node(LEAF, 0.0, 0, 0, 0, 2.0);
        nodes.end_tree();
        let m = model(nodes.clone(), 1, 1, false, false);
        assert_eq!(m.binned.as_ref().unwrap().columns.len(), 2);
        let values: Vec<f64> = (-2..45).map(f64::from).chain([f64::NAN, 7.5]).collect();
        let data = Dataset::new(values.len(), values.clone(), numeric(1), None).unwrap();
        check(&m, &data);
        // One split of 31 codes: no binned layout; batches still predict the same.
        let mut big = Nodes::default();
        big.push_tree(0);
        big.push_categorical_node(0, &(0..31).collect::<Vec<u32>>(), 1, 2, 0);
        big.push_node(LEAF, 0.0, 0, 0, 0, -1.0);
        big.push_node(LEAF, 0.0, 0, 0, 0, 1.0);
        big.end_tree();
        let m = model(big, 1, 1, false, false);
        assert!(m.binned.is_none());
        let got = m.raw_margins(&data).unwrap();
        for (i, &v) in values.iter().enumerate() {
            let want = if (0.0..31.0).contains(&v) && v.fract() == 0.0 {
                -1.0
            } else {
                1.0
            };
            assert_eq!(got[i], 0.125 + want, "x = {v}");
        }
    }

    #[test]
    fn a_model_of_one_leaf_has_a_column_to_read() {
        let mut nodes = Nodes::default();
        nodes.push_tree(0);
        nodes.push_node(LEAF, 0.0, 0, 0, 0, 2.0);
        nodes.end_tree();
        let m = model(nodes, 1, 1, false, false);
        let data = Dataset::new(3, vec![1.0, f64::NAN, 3.0], numeric(1), None).unwrap();
        check(&m, &data);
        assert_eq!(m.raw_margins(&data).unwrap(), [2.125; 3]);
    }
}
