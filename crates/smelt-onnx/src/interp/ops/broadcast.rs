//! NumPy-style broadcasting and axis helpers for the standard operators.

use crate::error::{OnnxError, Result};

/// The shape `a` and `b` broadcast to.
pub(crate) fn shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for (i, o) in out.iter_mut().enumerate() {
        let da = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            1
        };
        let db = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            1
        };
        *o = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => {
                return Err(OnnxError::Run(format!(
                    "shapes {a:?} and {b:?} do not broadcast"
                )));
            }
        };
    }
    Ok(out)
}

/// For each element of a tensor of shape `out`, the flat index of the element of a tensor of
/// shape `inp` (broadcast to `out`) it reads.
pub(crate) fn index_map(out: &[usize], inp: &[usize]) -> Vec<usize> {
    let total: usize = out.iter().product();
    if out == inp {
        return (0..total).collect();
    }
    let n = out.len();
    let padded: Vec<usize> = (0..n)
        .map(|i| {
            if i + inp.len() >= n {
                inp[i + inp.len() - n]
            } else {
                1
            }
        })
        .collect();
    let mut strides = vec![0; n];
    let mut s = 1;
    for i in (0..n).rev() {
        strides[i] = if padded[i] == 1 { 0 } else { s };
        s *= padded[i];
    }
    let mut idx = vec![0usize; n];
    let mut map = Vec::with_capacity(total);
    for _ in 0..total {
        map.push(idx.iter().zip(&strides).map(|(i, s)| i * s).sum());
        for d in (0..n).rev() {
            idx[d] += 1;
            if idx[d] < out[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    map
}

/// A possibly negative `axis` of a rank-`rank` tensor as a position.
pub(crate) fn axis(axis: i64, rank: usize) -> Result<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return Err(OnnxError::Run(format!(
            "axis {axis} is out of range for a rank-{rank} tensor"
        )));
    }
    Ok(a as usize)
}

/// `(outer, n, inner)` sizes around `axis`.
pub(crate) fn split(shape: &[usize], axis: usize) -> (usize, usize, usize) {
    let outer = shape[..axis].iter().product();
    let n = shape.get(axis).copied().unwrap_or(1);
    let inner = shape.get(axis + 1..).map_or(1, |s| s.iter().product());
    (outer, n, inner)
}
