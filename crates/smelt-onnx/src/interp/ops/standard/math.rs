//! `MatMul`/`Gemm`, `Softmax`/`LogSoftmax`, `ArgMax`/`ArgMin` and the reductions.

use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::ops::broadcast::{axis, index_map, split};
use crate::interp::ops::{Op, arg, one, opt_arg};
use crate::interp::tensor::{Data, ElemType, Tensor, Value};

/// MatMul (2-D, or a vector on either side) and Gemm.
#[derive(Debug)]
pub(super) struct Gemm {
    gemm: bool,
    alpha: f64,
    beta: f64,
    trans_a: bool,
    trans_b: bool,
}

impl Gemm {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Gemm {
            gemm: attrs.op_type() == "Gemm",
            alpha: f64::from(attrs.float("alpha").unwrap_or(1.0)),
            beta: f64::from(attrs.float("beta").unwrap_or(1.0)),
            trans_a: attrs.int_or("transA", 0) != 0,
            trans_b: attrs.int_or("transB", 0) != 0,
        }))
    }
}

impl Op for Gemm {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
        let dims = |t: &Tensor, left: bool, trans: bool| -> Result<(usize, usize, bool)> {
            let (r, c, vec) = match t.shape.as_slice() {
                [n] if left => (1, *n, true),
                [n] => (*n, 1, true),
                [r, c] => (*r, *c, false),
                s => {
                    return Err(OnnxError::Run(format!(
                        "matrix products of rank-{} tensors are not supported",
                        s.len()
                    )));
                }
            };
            Ok(if trans { (c, r, vec) } else { (r, c, vec) })
        };
        let (m, k, a_vec) = dims(a, true, self.trans_a)?;
        let (k2, n, b_vec) = dims(b, false, self.trans_b)?;
        if k != k2 {
            return Err(OnnxError::Run(format!(
                "cannot multiply {:?} by {:?}",
                a.shape, b.shape
            )));
        }
        let (va, vb) = (a.data.to_f64()?, b.data.to_f64()?);
        let at = |i: usize, p: usize| {
            if self.trans_a {
                va[p * m + i]
            } else {
                va[i * k + p]
            }
        };
        let bt = |p: usize, j: usize| {
            if self.trans_b {
                vb[j * k + p]
            } else {
                vb[p * n + j]
            }
        };
        let mut out = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0;
                for p in 0..k {
                    s += at(i, p) * bt(p, j);
                }
                out[i * n + j] = s * if self.gemm { self.alpha } else { 1.0 };
            }
        }
        if self.gemm
            && let Some(c) = opt_arg(inputs, 2)?
        {
            let ic = index_map(&[m, n], &c.shape);
            let vc = c.data.to_f64()?;
            for (o, &i) in out.iter_mut().zip(&ic) {
                *o += self.beta * vc[i];
            }
        }
        let shape = match (a_vec, b_vec, self.gemm) {
            (true, true, false) => vec![],
            (true, false, false) => vec![n],
            (false, true, false) => vec![m],
            _ => vec![m, n],
        };
        one(Tensor::new(
            shape,
            Data::from_f64(out, float_out(a.elem_type())),
        )?)
    }
}

#[derive(Debug)]
pub(super) struct Softmax {
    axis: i64,
    log: bool,
    legacy: bool,
}

impl Softmax {
    pub(super) fn build(attrs: &Attrs<'_>, opset: i64) -> Result<Box<dyn Op>> {
        let legacy = opset < 13;
        Ok(Box::new(Softmax {
            axis: attrs.int_or("axis", if legacy { 1 } else { -1 }),
            log: attrs.op_type() == "LogSoftmax",
            legacy,
        }))
    }
}

impl Op for Softmax {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let ax = axis(self.axis, x.shape.len())?;
        let (outer, n, inner) = if self.legacy {
            // Opset < 13: the input is flattened to 2-D at `axis`.
            (
                x.shape[..ax].iter().product(),
                x.shape[ax..].iter().product(),
                1,
            )
        } else {
            split(&x.shape, ax)
        };
        let mut v = x.data.to_f64()?;
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                let max = (0..n).map(|k| v[at(k)]).fold(f64::NEG_INFINITY, f64::max);
                let sum: f64 = (0..n).map(|k| (v[at(k)] - max).exp()).sum();
                for k in 0..n {
                    let e = v[at(k)] - max;
                    v[at(k)] = if self.log {
                        e - sum.ln()
                    } else {
                        e.exp() / sum
                    };
                }
            }
        }
        one(Tensor::new(
            x.shape.clone(),
            Data::from_f64(v, x.elem_type()),
        )?)
    }
}

#[derive(Debug)]
pub(super) struct ArgMax {
    axis: i64,
    keep: bool,
    last: bool,
    min: bool,
}

impl ArgMax {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(ArgMax {
            axis: attrs.int_or("axis", 0),
            keep: attrs.int_or("keepdims", 1) != 0,
            last: attrs.int_or("select_last_index", 0) != 0,
            min: attrs.op_type() == "ArgMin",
        }))
    }
}

impl Op for ArgMax {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let ax = axis(self.axis, x.shape.len())?;
        let (outer, n, inner) = split(&x.shape, ax);
        let v = x.data.to_f64()?;
        let mut out = Vec::with_capacity(outer * inner);
        for o in 0..outer {
            for i in 0..inner {
                let mut best = 0;
                for k in 1..n {
                    let (a, b) = (v[(o * n + k) * inner + i], v[(o * n + best) * inner + i]);
                    let better = if self.min { a < b } else { a > b };
                    if better || (self.last && a == b) {
                        best = k;
                    }
                }
                out.push(best as i64);
            }
        }
        let mut shape = x.shape.clone();
        if self.keep {
            shape[ax] = 1;
        } else {
            shape.remove(ax);
        }
        one(Tensor::new(shape, Data::I64(out))?)
    }
}

#[derive(Debug)]
pub(super) struct Reduce {
    op: String,
    axes: Vec<i64>,
    keep: bool,
    noop_empty: bool,
}

impl Reduce {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Reduce {
            op: attrs.op_type().to_string(),
            axes: attrs.ints("axes"),
            keep: attrs.int_or("keepdims", 1) != 0,
            noop_empty: attrs.int_or("noop_with_empty_axes", 0) != 0,
        }))
    }
}

impl Op for Reduce {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let rank = x.shape.len();
        let axes = match opt_arg(inputs, 1)? {
            Some(t) => t.data.to_i64()?,
            None => self.axes.clone(),
        };
        if axes.is_empty() && self.noop_empty {
            return one(x.clone());
        }
        let mut red: Vec<usize> = if axes.is_empty() {
            (0..rank).collect()
        } else {
            axes.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?
        };
        red.sort_unstable();
        red.dedup();
        let mut v = x.data.to_f64()?;
        let mut shape = x.shape.clone();
        // One axis at a time, from the last, so positions stay valid.
        for &ax in red.iter().rev() {
            let (outer, n, inner) = split(&shape, ax);
            let mut out = Vec::with_capacity(outer * inner);
            for o in 0..outer {
                for i in 0..inner {
                    let vals = (0..n).map(|k| v[(o * n + k) * inner + i]);
                    out.push(match self.op.as_str() {
                        "ReduceMax" => vals.fold(f64::NEG_INFINITY, f64::max),
                        "ReduceMin" => vals.fold(f64::INFINITY, f64::min),
                        "ReduceSumSquare" => vals.map(|x| x * x).sum(),
                        "ReduceMean" => vals.sum::<f64>() / n as f64,
                        "ReduceLogSumExp" => {
                            let all: Vec<f64> = vals.collect();
                            let m = all.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                            m + all.iter().map(|x| (x - m).exp()).sum::<f64>().ln()
                        }
                        _ => vals.sum(),
                    });
                }
            }
            v = out;
            shape[ax] = 1;
        }
        if !self.keep {
            shape = shape
                .iter()
                .enumerate()
                .filter(|(d, _)| !red.contains(d))
                .map(|(_, &n)| n)
                .collect();
        }
        one(Tensor::new(shape, Data::from_f64(v, x.elem_type()))?)
    }
}

/// Matrix products of `float` stay `float`; `double` stays `double`.
fn float_out(ty: ElemType) -> ElemType {
    if ty == ElemType::F64 {
        ElemType::F64
    } else {
        ElemType::F32
    }
}
