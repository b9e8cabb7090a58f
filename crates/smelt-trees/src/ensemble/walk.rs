//! The walk layout: every tree re-laid in pre-order as 16-byte nodes, and the steps that walk
//! it (see the [module docs](super)).

use super::{
    CATEGORICAL, DEFAULT_LEFT, LANES, LEAF, MISSING_MASK, MISSING_NONE, MISSING_ZERO, Nodes,
    ROW_LANES, TreeEnsemble, ZERO_THRESHOLD,
};

/// Walk-layout node kind (top byte of [`WalkNode::key`]): a numeric split whose near child
/// (the next node) is its left child; missing values go to the far child, the right one.
const KIND_NEAR_LEFT: u32 = 0;
/// A numeric split whose near child is its right child; missing values go to the far child,
/// the left one. (Leaves are `KIND_NEAR_LEFT` nodes with a NaN threshold whose far child is
/// themselves, so a walk can take extra steps at a leaf without leaving it.)
const KIND_NEAR_RIGHT: u32 = 1;
/// Kinds from here on are `KIND_OTHER | flags` (categorical splits, LightGBM's missing type
/// `Zero`): near child left, decided by [`decide`].
const KIND_OTHER: u32 = 0x10;
/// The feature bits of [`WalkNode::key`].
const FEATURE_BITS: u32 = (1 << 24) - 1;

/// One node of the walk layout (16 bytes; see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub(super) struct WalkNode {
    /// The threshold's `f64` bits (NaN at a leaf); at a categorical split, the bitset's first
    /// word (low 32 bits) and word count (high 32 bits).
    data: u64,
    /// The split feature (bits 0–23) and the node kind (bits 24–31).
    key: u32,
    /// Absolute index of the far child (the near child is the next node); a leaf's own index.
    pub(super) far: u32,
}

/// Every tree in pre-order in one array, with each tree's root and output group, and the leaf
/// values beside the nodes.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Walk {
    pub(super) nodes: Vec<WalkNode>,
    /// Leaf value by node index (0 at splits).
    pub(super) values: Vec<f64>,
    pub(super) roots: Vec<u32>,
    pub(super) groups: Vec<u32>,
}

impl Walk {
    /// The walk layout of validated `nodes`. Missing type `None` (NaN read as 0) becomes a
    /// fixed side for NaN (the side 0 goes to), and each numeric split keeps its missing side
    /// as the far child, so every numeric split but LightGBM's `Zero` type is one comparison.
    pub(super) fn new(nodes: &Nodes, strict: bool) -> Walk {
        let n = nodes.feature.len();
        let mut out: Vec<WalkNode> = Vec::with_capacity(n);
        let mut values = Vec::with_capacity(n);
        let mut roots = Vec::with_capacity(nodes.n_trees());
        // (node in its tree, parent to point at it as its far child)
        let mut stack: Vec<(u32, Option<usize>)> = Vec::new();
        for t in 0..nodes.n_trees() {
            let base = nodes.tree_start[t];
            roots.push(out.len() as u32);
            stack.push((0, None));
            while let Some((i, parent)) = stack.pop() {
                let at = out.len();
                if let Some(p) = parent {
                    out[p].far = at as u32;
                }
                let g = base + i as usize;
                let feature = nodes.feature[g];
                if feature == LEAF {
                    out.push(WalkNode {
                        data: f64::NAN.to_bits(),
                        key: KIND_NEAR_LEFT << 24,
                        far: at as u32,
                    });
                    values.push(nodes.value[g]);
                    continue;
                }
                let flags = nodes.flags[g];
                let th = nodes.threshold[g];
                let (left, right) = (nodes.left[g], nodes.right[g]);
                let (data, kind, near, far) = if flags & CATEGORICAL != 0 {
                    let k = th as usize;
                    let (a, b) = (nodes.cat_bounds[k], nodes.cat_bounds[k + 1]);
                    let data = u64::from(a) | u64::from(b - a) << 32;
                    (data, KIND_OTHER | u32::from(flags), left, right)
                } else if flags & MISSING_MASK == MISSING_ZERO {
                    (th.to_bits(), KIND_OTHER | u32::from(flags), left, right)
                } else {
                    let nan_left = if flags & MISSING_MASK == MISSING_NONE {
                        goes_left_dyn(strict, 0.0, th)
                    } else {
                        flags & DEFAULT_LEFT != 0
                    };
                    if nan_left {
                        (th.to_bits(), KIND_NEAR_RIGHT, right, left)
                    } else {
                        (th.to_bits(), KIND_NEAR_LEFT, left, right)
                    }
                };
                out.push(WalkNode {
                    data,
                    key: feature | kind << 24,
                    far: 0,
                });
                values.push(0.0);
                // Pre-order: the near subtree comes next, the far one after it.
                stack.push((far, Some(at)));
                stack.push((near, None));
            }
        }
        Walk {
            nodes: out,
            values,
            roots,
            groups: nodes.tree_group.iter().map(|&g| g as u32).collect(),
        }
    }
}

/// `x < t` (strict) or `x <= t`; false for a NaN `x`.
#[inline(always)]
fn goes_left<const STRICT: bool>(x: f64, t: f64) -> bool {
    if STRICT { x < t } else { x <= t }
}

fn goes_left_dyn(strict: bool, x: f64, t: f64) -> bool {
    if strict { x < t } else { x <= t }
}

/// The side a [`KIND_OTHER`] node sends `x` to (true: left).
#[inline(never)]
fn decide<const STRICT: bool>(flags: u8, x: f64, data: u64, words: &[u32]) -> bool {
    let default_left = flags & DEFAULT_LEFT != 0;
    if x.is_nan() {
        // Categorical: missing; Zero: NaN is read as 0, which goes to the default side.
        return default_left;
    }
    if flags & CATEGORICAL != 0 {
        let (start, len) = ((data & 0xffff_ffff) as usize, (data >> 32) as usize);
        // Fails for negative, fractional, infinite and too large values alike.
        if !(x >= 0.0 && x < (len * 32) as f64 && x.fract() == 0.0) {
            return false;
        }
        let c = x as usize;
        return words
            .get(start + c / 32)
            .is_some_and(|w| w >> (c % 32) & 1 != 0);
    }
    if (-ZERO_THRESHOLD..=ZERO_THRESHOLD).contains(&x) {
        default_left
    } else {
        goes_left::<STRICT>(x, f64::from_bits(data))
    }
}

/// The node after node `i` on `row`'s path (`i` itself at a leaf).
#[inline(always)]
pub(super) fn step<const STRICT: bool, const F32: bool>(
    nodes: &[WalkNode],
    words: &[u32],
    i: usize,
    row: &[f64],
) -> usize {
    let n = nodes[i];
    let kind = n.key >> 24;
    let mut x = row[(n.key & FEATURE_BITS) as usize];
    if F32 {
        x = x as f32 as f64;
    }
    let t = f64::from_bits(n.data);
    let near = if kind < KIND_OTHER {
        // Branch-free: the side the comparison picks, flipped for a near right child; a NaN
        // (missing) takes the far child either way.
        (goes_left::<STRICT>(x, t) ^ (kind == KIND_NEAR_RIGHT)) & !x.is_nan()
    } else {
        decide::<STRICT>((kind & 0xf) as u8, x, n.data, words)
    };
    if near { i + 1 } else { n.far as usize }
}

/// The leaf value `row` reaches from root `i`.
#[inline(always)]
pub(super) fn leaf<const STRICT: bool, const F32: bool>(
    walk: &Walk,
    words: &[u32],
    mut i: usize,
    row: &[f64],
) -> f64 {
    while walk.nodes[i].far as usize != i {
        i = step::<STRICT, F32>(&walk.nodes, words, i, row);
    }
    walk.values[i]
}

/// The walks over this layout: one row, and a row-major block (CPUs without AVX2, models without
/// a binned layout).
impl TreeEnsemble {
    /// Raw margins of one row of the right length: [`LANES`] trees at a time walk in
    /// lockstep (independent paths overlap in the pipeline); their leaves are then added in
    /// tree order, so the sums do not depend on the grouping.
    #[inline]
    pub(super) fn row_margins<const STRICT: bool, const F32: bool>(
        &self,
        row: &[f64],
        out: &mut [f64],
    ) {
        let (walk, words) = (&self.walk, &self.nodes.cat_words[..]);
        let nodes = &walk.nodes[..];
        for (o, &b) in out.iter_mut().zip(&self.base) {
            *o = if F32 { b as f32 as f64 } else { b };
        }
        let mut add = |g: u32, v: f64| {
            let o = &mut out[g as usize];
            // Rounding every partial sum to f32 is summing in f32.
            *o = if F32 {
                (*o as f32 + v as f32) as f64
            } else {
                *o + v
            };
        };
        let roots = walk.roots.chunks_exact(LANES);
        let groups = walk.groups.chunks_exact(LANES);
        let (rest_roots, rest_groups) = (roots.remainder(), groups.remainder());
        for (roots, groups) in roots.zip(groups) {
            let mut idx: [usize; LANES] = std::array::from_fn(|l| roots[l] as usize);
            while idx.iter().any(|&i| nodes[i].far as usize != i) {
                for i in idx.iter_mut() {
                    *i = step::<STRICT, F32>(nodes, words, *i, row);
                }
            }
            for (&i, &g) in idx.iter().zip(groups) {
                add(g, walk.values[i]);
            }
        }
        for (&r, &g) in rest_roots.iter().zip(rest_groups) {
            add(g, leaf::<STRICT, F32>(walk, words, r as usize, row));
        }
    }

    /// Margins of a row-major block of rows of `p` values: [`ROW_LANES`] rows walk each tree in
    /// lockstep, so their independent paths overlap in the pipeline (a single path is a chain
    /// of dependent loads). Each row still adds its trees in order, so the sums are the
    /// single-row ones bit for bit.
    pub(super) fn block_margins<const STRICT: bool, const F32: bool>(
        &self,
        x: &[f64],
        p: usize,
        out: &mut [f64],
    ) {
        let k = self.n_groups;
        let (walk, words) = (&self.walk, &self.nodes.cat_words[..]);
        let nodes = &walk.nodes[..];
        for o in out.chunks_exact_mut(k) {
            for (o, &b) in o.iter_mut().zip(&self.base) {
                *o = if F32 { b as f32 as f64 } else { b };
            }
        }
        let rows = out.len() / k;
        for start in (0..rows).step_by(ROW_LANES) {
            let m = ROW_LANES.min(rows - start);
            // Spare lanes of the last group repeat its last row.
            let lane: [&[f64]; ROW_LANES] = std::array::from_fn(|l| {
                let r = start + l.min(m - 1);
                &x[r * p..(r + 1) * p]
            });
            for (&root, &g) in walk.roots.iter().zip(&walk.groups) {
                let mut idx = [root as usize; ROW_LANES];
                while idx.iter().any(|&i| nodes[i].far as usize != i) {
                    for l in 0..ROW_LANES {
                        idx[l] = step::<STRICT, F32>(nodes, words, idx[l], lane[l]);
                    }
                }
                for (l, &i) in idx.iter().enumerate().take(m) {
                    let o = &mut out[(start + l) * k + g as usize];
                    let v = walk.values[i];
                    *o = if F32 {
                        (*o as f32 + v as f32) as f64
                    } else {
                        *o + v
                    };
                }
            }
        }
    }
}
