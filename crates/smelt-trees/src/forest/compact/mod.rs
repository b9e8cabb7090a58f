//! The compact form of a forest's saved node arrays (`trees_format: 2`).
//!
//! Format 1 (files written before it, still read by `super::trees`) stored eight f64
//! arrays per node. Format 2 stores only what cannot be derived, each array in the smallest
//! type that holds it exactly, all trees concatenated in pre-order:
//!
//! * `node_feature` — per node, the split feature + 1, or 0 at a leaf, as u8/u16/u32 (the
//!   smallest that fits). The left child of a split is the next node and its right child the
//!   node after the left subtree, so neither is stored, nor are the trees' offsets.
//! * `threshold` — per split, f32: the largest f32 not above the f64 threshold. Forests
//!   compare f32-rounded inputs with exactly this value ([`super::Node`]), so every decision
//!   is the one of the f64 threshold; the loaded `Tree::threshold` holds it widened to f64.
//! * `leaf_value` (`n_leaves × k`), `impurity` of splits, `leaf_impurity` — f64 values in
//!   the cheapest exact encoding (see [`put_f64s`]): f32 where that is exact plus the
//!   exceptions, or only the non-zero values, or plain f64. Bit-identical.
//! * `leaf_samples`, `leaf_weight` — the leaves' row counts and weights (u8/u16/u32 when the
//!   weights are whole numbers, as bootstrap counts are). A split's count and weight are the
//!   sums of its children's (checked when saving; `split_samples` / `split_weight` are stored
//!   when not exact).
//! * A split's value is its children's values averaged by weight, checked when saving to
//!   within 1e-12 (relative, at least 1e-12 absolute); `split_value` is stored when any
//!   differs by more. Predictions read leaf values only.

use smelt_core::artifact::ArrayData;
use smelt_core::{ArtifactReader, ArtifactWriter, CoreError, Result};

use crate::tree::{LEAF_CHILD, LEAF_FEATURE, Tree};

/// The `trees_format` of this layout.
pub(crate) const TREES_FORMAT: u64 = 2;

/// Tolerance of derived split values (relative, and absolute below 1).
const VALUE_TOL: f64 = 1e-12;

fn artifact_error(message: String) -> CoreError {
    CoreError::Artifact {
        path: smelt_core::artifact::MANIFEST.into(),
        message,
    }
}

/// The largest f32 not above `t` (`t` not NaN).
pub(crate) fn f32_at_most(t: f64) -> f32 {
    let f = t as f32;
    if f64::from(f) <= t {
        return f;
    }
    // The next f32 below f (f > t, so f is not -inf), as `f32::next_down` (Rust 1.86).
    let b = f.to_bits();
    if f == f32::INFINITY {
        f32::MAX
    } else if f == 0.0 {
        -f32::from_bits(1)
    } else if f > 0.0 {
        f32::from_bits(b - 1)
    } else {
        f32::from_bits(b + 1)
    }
}

/// Writes `v` as u8, u16 or u32, the smallest that holds its largest value.
fn put_uints(w: &mut ArtifactWriter, key: &str, v: &[u32]) -> Result<()> {
    let max = v.iter().copied().max().unwrap_or(0);
    let data = if max <= u32::from(u8::MAX) {
        ArrayData::U8(v.iter().map(|&x| x as u8).collect())
    } else if max <= u32::from(u16::MAX) {
        ArrayData::U16(v.iter().map(|&x| x as u16).collect())
    } else {
        ArrayData::U32(v.to_vec())
    };
    w.typed(key, &[v.len()], data)
}

/// Reads what [`put_uints`] wrote: exactly `len` values.
fn get_uints(r: &ArtifactReader, key: &str, len: usize) -> Result<Vec<u32>> {
    let (_, data) = r.typed(key, 1)?;
    let v: Vec<u32> = match data {
        ArrayData::U8(v) => v.into_iter().map(u32::from).collect(),
        ArrayData::U16(v) => v.into_iter().map(u32::from).collect(),
        ArrayData::U32(v) => v,
        other => {
            return Err(r.invalid(format!(
                "array `{key}` has dtype {}, expected an unsigned integer type",
                other.dtype()
            )));
        }
    };
    if v.len() != len {
        return Err(r.invalid(format!(
            "array `{key}` has {} values, expected {len}",
            v.len()
        )));
    }
    Ok(v)
}

/// Writes f64 values exactly in the cheapest of three encodings: f32 (`key`) with the values
/// f32 does not hold exactly listed beside (`key_fix_at`, `key_fix`); only the non-zero
/// values (`key_nonzero_at`, `key`); or plain f64.
pub(crate) fn put_f64s(w: &mut ArtifactWriter, key: &str, v: &[f64]) -> Result<()> {
    if v.len() > u32::MAX as usize {
        return w.vector(key, v);
    }
    let inexact: Vec<u32> = (0..v.len())
        .filter(|&i| f64::from(v[i] as f32).to_bits() != v[i].to_bits())
        .map(|i| i as u32)
        .collect();
    let nonzero: Vec<u32> = (0..v.len())
        .filter(|&i| v[i].to_bits() != 0)
        .map(|i| i as u32)
        .collect();
    let (dense, as_f32, sparse) = (
        8 * v.len(),
        4 * v.len() + 12 * inexact.len(),
        12 * nonzero.len(),
    );
    if sparse <= as_f32 && sparse < dense {
        let vals: Vec<f64> = nonzero.iter().map(|&i| v[i as usize]).collect();
        put_uints(w, &format!("{key}_nonzero_at"), &nonzero)?;
        w.vector(key, &vals)
    } else if as_f32 < dense {
        let f: Vec<f32> = v.iter().map(|&x| x as f32).collect();
        w.typed(key, &[v.len()], ArrayData::F32(f))?;
        if !inexact.is_empty() {
            let vals: Vec<f64> = inexact.iter().map(|&i| v[i as usize]).collect();
            put_uints(w, &format!("{key}_fix_at"), &inexact)?;
            w.vector(&format!("{key}_fix"), &vals)?;
        }
        Ok(())
    } else {
        w.vector(key, v)
    }
}

/// Reads what [`put_f64s`] wrote: exactly `len` values.
pub(crate) fn get_f64s(r: &ArtifactReader, key: &str, len: usize) -> Result<Vec<f64>> {
    let nz_key = format!("{key}_nonzero_at");
    if r.has(&nz_key) {
        let (_, at) = r.typed(&nz_key, 1)?;
        let at = get_uints(r, &nz_key, at.len())?;
        let vals = r.vector(key, at.len())?;
        let mut out = vec![0.0; len];
        for (&i, &x) in at.iter().zip(&vals) {
            *out.get_mut(i as usize)
                .ok_or_else(|| r.invalid(format!("`{nz_key}`: index {i} out of {len}")))? = x;
        }
        return Ok(out);
    }
    let (shape, data) = r.typed(key, 1)?;
    if shape[0] != len {
        return Err(r.invalid(format!(
            "array `{key}` has {} values, expected {len}",
            shape[0]
        )));
    }
    let mut out: Vec<f64> = match data {
        ArrayData::F64(v) => v,
        ArrayData::F32(v) => v.into_iter().map(f64::from).collect(),
        other => {
            return Err(r.invalid(format!(
                "array `{key}` has dtype {}, expected F64 or F32",
                other.dtype()
            )));
        }
    };
    let fix_key = format!("{key}_fix_at");
    if r.has(&fix_key) {
        let (_, at) = r.typed(&fix_key, 1)?;
        let at = get_uints(r, &fix_key, at.len())?;
        let vals = r.vector(&format!("{key}_fix"), at.len())?;
        for (&i, &x) in at.iter().zip(&vals) {
            *out.get_mut(i as usize)
                .ok_or_else(|| r.invalid(format!("`{fix_key}`: index {i} out of {len}")))? = x;
        }
    }
    Ok(out)
}

/// The whole-number weights as u32, when every one is.
fn whole(v: &[f64]) -> Option<Vec<u32>> {
    v.iter()
        .map(|&x| (x >= 0.0 && x <= f64::from(u32::MAX) && x.fract() == 0.0).then_some(x as u32))
        .collect()
}

/// What a loader takes from the file rather than deriving from a split's children.
#[derive(Clone, Copy, Default)]
struct Stored {
    samples: bool,
    weight: bool,
    value: bool,
}

/// Fills a split's row count, weight and value from its children (each unless `stored`),
/// last node first (children come after their parent in pre-order).
fn derive_splits(t: &mut Tree, stored: Stored) {
    let k = t.n_outputs;
    for i in (0..t.node_count()).rev() {
        if t.left[i] == LEAF_CHILD {
            continue;
        }
        let (l, r) = (t.left[i] as usize, t.right[i] as usize);
        if !stored.samples {
            t.n_node_samples[i] = t.n_node_samples[l] + t.n_node_samples[r];
        }
        let w = &mut t.weighted_n_node_samples;
        if !stored.weight {
            w[i] = w[l] + w[r];
        }
        if !stored.value {
            let (wl, wr, wi) = (w[l], w[r], w[i]);
            for c in 0..k {
                t.value[i * k + c] = (wl * t.value[l * k + c] + wr * t.value[r * k + c]) / wi;
            }
        }
    }
}

/// Writes the trees in the compact layout (see the module docs).
pub(crate) fn save(w: &mut ArtifactWriter, trees: &[Tree], k: usize) -> Result<()> {
    let total: usize = trees.iter().map(Tree::node_count).sum();
    let mut feature = Vec::with_capacity(total);
    let mut threshold = Vec::new();
    let (mut leaf_value, mut split_value) = (Vec::new(), Vec::new());
    let (mut split_impurity, mut leaf_impurity) = (Vec::new(), Vec::new());
    let (mut leaf_n, mut leaf_w) = (Vec::new(), Vec::new());
    let (mut split_n, mut split_w) = (Vec::new(), Vec::new());
    let mut store = Stored::default();
    for (ti, t) in trees.iter().enumerate() {
        for i in 0..t.node_count() {
            let leaf = t.left[i] == LEAF_CHILD;
            if !leaf && t.left[i] != i as i64 + 1 {
                return Err(artifact_error(format!(
                    "tree {ti} is not numbered in pre-order (node {i})"
                )));
            }
            let n = t.n_node_samples[i];
            let v = &t.value[i * k..(i + 1) * k];
            if leaf {
                if !(n >= 0.0 && n <= f64::from(u32::MAX) && n.fract() == 0.0) {
                    return Err(artifact_error(format!(
                        "tree {ti} node {i}: row count {n} is not a whole number"
                    )));
                }
                feature.push(0);
                leaf_value.extend_from_slice(v);
                leaf_impurity.push(t.impurity[i]);
                leaf_n.push(n as u32);
                leaf_w.push(t.weighted_n_node_samples[i]);
            } else {
                feature.push(t.feature[i] as u32 + 1);
                threshold.push(f32_at_most(t.threshold[i]));
                split_value.extend_from_slice(v);
                split_impurity.push(t.impurity[i]);
                split_n.push(n);
                split_w.push(t.weighted_n_node_samples[i]);
            }
        }
        // What the loader will derive, checked against what the tree holds.
        let mut d = t.clone();
        derive_splits(&mut d, Stored::default());
        store.samples |= d.n_node_samples != t.n_node_samples;
        store.weight |= d.weighted_n_node_samples != t.weighted_n_node_samples;
        store.value |= !d
            .value
            .iter()
            .zip(&t.value)
            .all(|(a, b)| (a - b).abs() <= VALUE_TOL * b.abs().max(1.0));
    }
    w.put("trees_format", &TREES_FORMAT)?;
    w.put("n_trees", &trees.len())?;
    w.put("n_nodes", &total)?;
    w.put("n_leaves", &leaf_n.len())?;
    put_uints(w, "node_feature", &feature)?;
    w.typed("threshold", &[threshold.len()], ArrayData::F32(threshold))?;
    put_f64s(w, "leaf_value", &leaf_value)?;
    put_f64s(w, "impurity", &split_impurity)?;
    put_f64s(w, "leaf_impurity", &leaf_impurity)?;
    put_uints(w, "leaf_samples", &leaf_n)?;
    match whole(&leaf_w) {
        Some(u) => put_uints(w, "leaf_weight", &u)?,
        None => put_f64s(w, "leaf_weight", &leaf_w)?,
    }
    if store.samples {
        put_f64s(w, "split_samples", &split_n)?;
    }
    if store.weight {
        put_f64s(w, "split_weight", &split_w)?;
    }
    // Values derived from stored weights were not checked: store them too.
    if store.value || store.weight {
        put_f64s(w, "split_value", &split_value)?;
    }
    Ok(())
}

/// Reads trees written by [`save`], checking every tree is well formed.
pub(crate) fn load(r: &ArtifactReader, n_features: usize, k: usize) -> Result<Vec<Tree>> {
    let mut trees = Vec::new();
    for_each(r, n_features, k, |t| trees.push(t))?;
    Ok(trees)
}

/// Reads trees written by [`save`] one at a time, checking every tree is well formed, and
/// hands each to `each` (a loader that keeps only part of them never holds them all).
pub(crate) fn for_each(
    r: &ArtifactReader,
    n_features: usize,
    k: usize,
    mut each: impl FnMut(Tree),
) -> Result<()> {
    let format: u64 = r.get("trees_format")?;
    if format != TREES_FORMAT {
        return Err(r.invalid(format!(
            "trees_format {format} is not supported (this build reads 1 and {TREES_FORMAT})"
        )));
    }
    let n_trees: usize = r.get("n_trees")?;
    let total: usize = r.get("n_nodes")?;
    let n_leaves: usize = r.get("n_leaves")?;
    if n_trees == 0 || n_leaves < n_trees || n_leaves > total {
        return Err(r.invalid(format!(
            "{n_trees} trees, {total} nodes and {n_leaves} leaves do not make a forest"
        )));
    }
    let n_splits = total - n_leaves;
    let feature = get_uints(r, "node_feature", total)?;
    let threshold = match r.typed("threshold", 1)? {
        (s, ArrayData::F32(v)) if s == [n_splits] => v,
        (s, d) => {
            return Err(r.invalid(format!(
                "array `threshold` is {} of shape {s:?}, expected F32 of [{n_splits}]",
                d.dtype()
            )));
        }
    };
    let leaf_value = get_f64s(r, "leaf_value", n_leaves * k)?;
    let split_impurity = get_f64s(r, "impurity", n_splits)?;
    let leaf_impurity = get_f64s(r, "leaf_impurity", n_leaves)?;
    let leaf_n = get_uints(r, "leaf_samples", n_leaves)?;
    let leaf_w: Vec<f64> = match r.typed("leaf_weight", 1)?.1 {
        ArrayData::U8(_) | ArrayData::U16(_) | ArrayData::U32(_) => {
            get_uints(r, "leaf_weight", n_leaves)?
                .into_iter()
                .map(f64::from)
                .collect()
        }
        _ => get_f64s(r, "leaf_weight", n_leaves)?,
    };
    let split_n = if r.has("split_samples") {
        Some(get_f64s(r, "split_samples", n_splits)?)
    } else {
        None
    };
    let split_w = if r.has("split_weight") {
        Some(get_f64s(r, "split_weight", n_splits)?)
    } else {
        None
    };
    let split_value = if r.has("split_value") {
        Some(get_f64s(r, "split_value", n_splits * k)?)
    } else {
        None
    };

    let (mut at, mut leaf, mut split) = (0usize, 0usize, 0usize);
    for ti in 0..n_trees {
        let start = at;
        let mut t = Tree {
            feature: Vec::new(),
            threshold: Vec::new(),
            left: Vec::new(),
            right: Vec::new(),
            value: Vec::new(),
            n_outputs: k,
            impurity: Vec::new(),
            n_node_samples: Vec::new(),
            weighted_n_node_samples: Vec::new(),
        };
        // Splits whose right child is the node after their left subtree, not yet reached.
        let mut open: Vec<usize> = Vec::new();
        loop {
            let f = *feature
                .get(at)
                .ok_or_else(|| r.invalid(format!("tree {ti} runs past the last node")))?;
            let i = at - start;
            if f == 0 && leaf >= n_leaves {
                return Err(r.invalid(format!("tree {ti} has more leaves than the file")));
            }
            if f == 0 {
                t.feature.push(LEAF_FEATURE);
                t.threshold.push(-2.0);
                t.left.push(LEAF_CHILD);
                t.right.push(LEAF_CHILD);
                t.value
                    .extend_from_slice(&leaf_value[leaf * k..(leaf + 1) * k]);
                t.impurity.push(leaf_impurity[leaf]);
                t.n_node_samples.push(f64::from(leaf_n[leaf]));
                t.weighted_n_node_samples.push(leaf_w[leaf]);
                leaf += 1;
            } else {
                let s = *threshold
                    .get(split)
                    .ok_or_else(|| r.invalid("more splits than thresholds"))?;
                t.feature.push(i64::from(f - 1));
                t.threshold.push(f64::from(s));
                t.left.push(i as i64 + 1);
                t.right.push(LEAF_CHILD); // set when its left subtree ends
                match &split_value {
                    Some(v) => t.value.extend_from_slice(&v[split * k..(split + 1) * k]),
                    None => t.value.extend(std::iter::repeat_n(0.0, k)),
                }
                t.impurity.push(split_impurity[split]);
                t.n_node_samples
                    .push(split_n.as_ref().map_or(0.0, |v| v[split]));
                t.weighted_n_node_samples
                    .push(split_w.as_ref().map_or(0.0, |v| v[split]));
                split += 1;
                open.push(i);
            }
            at += 1;
            if f == 0 {
                match open.pop() {
                    Some(p) => t.right[p] = (at - start) as i64,
                    None => break,
                }
            }
        }
        let stored = Stored {
            samples: split_n.is_some(),
            weight: split_w.is_some(),
            value: split_value.is_some(),
        };
        derive_splits(&mut t, stored);
        t.check_shape(n_features)
            .map_err(|m| r.invalid(format!("tree {ti}: {m}")))?;
        each(t);
    }
    if at != total {
        return Err(r.invalid(format!("the trees hold {at} nodes, the file {total}")));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
