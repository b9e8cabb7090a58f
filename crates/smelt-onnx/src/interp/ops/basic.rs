//! The standard ONNX operators tabular exporters emit around the ONNX-ML ones (casts, reshapes,
//! concatenation, arithmetic, activations, reductions, matrix products), computed in `f64` and
//! stored in the type each operator outputs.

use super::broadcast::{self, axis, index_map, split};
use super::{Builder, Op, arg, one, opt_arg};
use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::tensor::{Data, ElemType, Tensor, Value};

pub(super) fn builder(op: &str) -> Option<Builder> {
    Some(match op {
        "Abs" | "Neg" | "Exp" | "Log" | "Sqrt" | "Relu" | "Sigmoid" | "Tanh" | "Reciprocal"
        | "Floor" | "Ceil" | "Round" | "Sign" | "Erf" | "Softplus" | "LeakyRelu" => Unary::build,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => Arith::build,
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" => {
            Compare::build
        }
        "Max" | "Min" | "Sum" | "Mean" => Variadic::build,
        "Not" | "IsNaN" | "IsInf" => Test::build,
        "Where" => |_, _| Ok(Box::new(Where)),
        "Cast" | "CastLike" => Cast::build,
        "Identity" | "Dropout" => |_, _| Ok(Box::new(Identity)),
        "Concat" => Concat::build,
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => Reshape::build,
        "Transpose" => Transpose::build,
        "Shape" => |_, _| Ok(Box::new(ShapeOf)),
        "Gather" => Gather::build,
        "Slice" => Slice::build,
        "Constant" => Constant::build,
        "ConstantOfShape" => ConstantOfShape::build,
        "MatMul" | "Gemm" => Gemm::build,
        "Softmax" | "LogSoftmax" => Softmax::build,
        "ArgMax" | "ArgMin" => ArgMax::build,
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceSumSquare"
        | "ReduceLogSumExp" => Reduce::build,
        "Clip" => Clip::build,
        _ => return None,
    })
}

fn float_out(ty: ElemType) -> ElemType {
    if ty == ElemType::F64 {
        ElemType::F64
    } else {
        ElemType::F32
    }
}

#[derive(Debug)]
struct Unary {
    f: fn(f64, f64) -> f64,
    alpha: f64,
}

impl Unary {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let f: fn(f64, f64) -> f64 = match attrs.op_type() {
            "Abs" => |x, _| x.abs(),
            "Neg" => |x, _| -x,
            "Exp" => |x, _| x.exp(),
            "Log" => |x, _| x.ln(),
            "Sqrt" => |x, _| x.sqrt(),
            "Relu" => |x, _| if x > 0.0 { x } else { 0.0 },
            "Sigmoid" => |x, _| 1.0 / (1.0 + (-x).exp()),
            "Tanh" => |x, _| x.tanh(),
            "Reciprocal" => |x, _| 1.0 / x,
            "Floor" => |x, _| x.floor(),
            "Ceil" => |x, _| x.ceil(),
            "Round" => |x, _| x.round_ties_even(),
            "Sign" => |x, _| {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    x
                }
            },
            "Erf" => |x, _| libm_erf(x),
            "Softplus" => |x, _| (x.exp()).ln_1p(),
            _ => |x, a| if x < 0.0 { a * x } else { x },
        };
        Ok(Box::new(Unary {
            f,
            alpha: f64::from(attrs.float("alpha").unwrap_or(0.01)),
        }))
    }
}

/// `erf` (Abramowitz–Stegun 7.1.26 is not accurate enough; this is the series/continued-fraction
/// pair from Numerical Recipes' `erfc` Chebyshev fit, relative error < 1.2e-7).
fn libm_erf(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let r = t
        * (-z * z - 1.265_512_23
            + t * (1.000_023_68
                + t * (0.374_091_96
                    + t * (0.096_784_18
                        + t * (-0.186_288_06
                            + t * (0.278_868_07
                                + t * (-1.135_203_98
                                    + t * (1.488_515_87
                                        + t * (-0.822_152_23 + t * 0.170_872_77)))))))))
            .exp();
    if x >= 0.0 { 1.0 - r } else { r - 1.0 }
}

impl Op for Unary {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let v: Vec<f64> = x
            .data
            .to_f64()?
            .into_iter()
            .map(|v| (self.f)(v, self.alpha))
            .collect();
        one(Tensor::new(
            x.shape.clone(),
            Data::from_f64(v, x.elem_type()),
        )?)
    }
}

/// Broadcasts `a` and `b`: the output shape and, per output element, the two input indices.
fn pair(a: &Tensor, b: &Tensor) -> Result<(Vec<usize>, Vec<usize>, Vec<usize>)> {
    let s = broadcast::shape(&a.shape, &b.shape)?;
    let ia = index_map(&s, &a.shape);
    let ib = index_map(&s, &b.shape);
    Ok((s, ia, ib))
}

#[derive(Debug)]
struct Arith {
    f: fn(f64, f64) -> f64,
}

impl Arith {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let f: fn(f64, f64) -> f64 = match attrs.op_type() {
            "Add" => |a, b| a + b,
            "Sub" => |a, b| a - b,
            "Mul" => |a, b| a * b,
            "Div" => |a, b| a / b,
            _ => f64::powf,
        };
        Ok(Box::new(Arith { f }))
    }
}

impl Op for Arith {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
        let (s, ia, ib) = pair(a, b)?;
        let (va, vb) = (a.data.to_f64()?, b.data.to_f64()?);
        let v = ia
            .iter()
            .zip(&ib)
            .map(|(&i, &j)| (self.f)(va[i], vb[j]))
            .collect();
        one(Tensor::new(s, Data::from_f64(v, a.elem_type()))?)
    }
}

#[derive(Debug)]
struct Compare {
    op: String,
}

impl Compare {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Compare {
            op: attrs.op_type().to_string(),
        }))
    }
}

impl Op for Compare {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let (a, b) = (arg(inputs, 0)?, arg(inputs, 1)?);
        let (s, ia, ib) = pair(a, b)?;
        let out: Vec<bool> = match (&a.data, &b.data, self.op.as_str()) {
            (Data::Str(x), Data::Str(y), "Equal") => {
                ia.iter().zip(&ib).map(|(&i, &j)| x[i] == y[j]).collect()
            }
            _ => {
                let (x, y) = (a.data.to_f64()?, b.data.to_f64()?);
                let f: fn(f64, f64) -> bool = match self.op.as_str() {
                    "Equal" => |a, b| a == b,
                    "Less" => |a, b| a < b,
                    "Greater" => |a, b| a > b,
                    "LessOrEqual" => |a, b| a <= b,
                    "GreaterOrEqual" => |a, b| a >= b,
                    "And" => |a, b| a != 0.0 && b != 0.0,
                    "Or" => |a, b| a != 0.0 || b != 0.0,
                    _ => |a, b| (a != 0.0) != (b != 0.0),
                };
                ia.iter().zip(&ib).map(|(&i, &j)| f(x[i], y[j])).collect()
            }
        };
        one(Tensor::new(s, Data::Bool(out))?)
    }
}

#[derive(Debug)]
struct Variadic {
    op: String,
}

impl Variadic {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Variadic {
            op: attrs.op_type().to_string(),
        }))
    }
}

impl Op for Variadic {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let first = arg(inputs, 0)?;
        let mut shape = first.shape.clone();
        let mut acc = first.data.to_f64()?;
        for i in 1..inputs.len() {
            let t = arg(inputs, i)?;
            let s = broadcast::shape(&shape, &t.shape)?;
            let (ia, ib) = (index_map(&s, &shape), index_map(&s, &t.shape));
            let v = t.data.to_f64()?;
            acc = ia
                .iter()
                .zip(&ib)
                .map(|(&a, &b)| match self.op.as_str() {
                    "Max" => acc[a].max(v[b]),
                    "Min" => acc[a].min(v[b]),
                    _ => acc[a] + v[b],
                })
                .collect();
            shape = s;
        }
        if self.op == "Mean" {
            let n = inputs.len() as f64;
            acc.iter_mut().for_each(|v| *v /= n);
        }
        one(Tensor::new(shape, Data::from_f64(acc, first.elem_type()))?)
    }
}

#[derive(Debug)]
struct Test {
    op: String,
}

impl Test {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Test {
            op: attrs.op_type().to_string(),
        }))
    }
}

impl Op for Test {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let v = x.data.to_f64()?;
        let out = v
            .iter()
            .map(|&v| match self.op.as_str() {
                "Not" => v == 0.0,
                "IsNaN" => v.is_nan(),
                _ => v.is_infinite(),
            })
            .collect();
        one(Tensor::new(x.shape.clone(), Data::Bool(out))?)
    }
}

#[derive(Debug)]
struct Where;

impl Op for Where {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let (c, x, y) = (arg(inputs, 0)?, arg(inputs, 1)?, arg(inputs, 2)?);
        let s = broadcast::shape(&broadcast::shape(&c.shape, &x.shape)?, &y.shape)?;
        let (ic, ix, iy) = (
            index_map(&s, &c.shape),
            index_map(&s, &x.shape),
            index_map(&s, &y.shape),
        );
        let cond = c.data.to_f64()?;
        let both = Data::concat(&[&x.data, &y.data])?;
        let off = x.len();
        let idx: Vec<usize> = (0..ic.len())
            .map(|k| {
                if cond[ic[k]] != 0.0 {
                    ix[k]
                } else {
                    off + iy[k]
                }
            })
            .collect();
        one(Tensor::new(s, both.gather(&idx))?)
    }
}

#[derive(Debug)]
struct Cast {
    to: Option<ElemType>,
}

impl Cast {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let to = match attrs.int("to") {
            Some(code) => Some(ElemType::from_code(code as i32).ok_or_else(|| {
                OnnxError::Unsupported(format!(
                    "{}: casting to element type {code} is not supported",
                    attrs.describe()
                ))
            })?),
            None => None, // CastLike: the second input's type
        };
        Ok(Box::new(Cast { to }))
    }
}

impl Op for Cast {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let to = match self.to {
            Some(t) => t,
            None => arg(inputs, 1)?.elem_type(),
        };
        let data = match (&x.data, to) {
            (d, t) if d.elem_type() == t => d.clone(),
            (Data::Str(v), t) => Data::from_f64(
                v.iter()
                    .map(|s| s.trim().parse::<f64>().unwrap_or(f64::NAN))
                    .collect(),
                t,
            ),
            (Data::I64(v), ElemType::Str) => Data::Str(v.iter().map(i64::to_string).collect()),
            (Data::I32(v), ElemType::Str) => Data::Str(v.iter().map(i32::to_string).collect()),
            (Data::F32(v), ElemType::Str) => Data::Str(v.iter().map(f32::to_string).collect()),
            (d, t) => Data::from_f64(d.to_f64()?, t),
        };
        one(Tensor::new(x.shape.clone(), data)?)
    }
}

#[derive(Debug)]
struct Identity;

impl Op for Identity {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        match inputs.first().copied().flatten() {
            Some(v) => Ok(vec![v.clone()]),
            None => Err(OnnxError::Run("input 0 is missing".into())),
        }
    }
}

#[derive(Debug)]
struct Concat {
    axis: i64,
}

impl Concat {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Concat {
            axis: attrs
                .int("axis")
                .ok_or_else(|| attrs.invalid("needs `axis`"))?,
        }))
    }
}

impl Op for Concat {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let parts: Vec<&Tensor> = (0..inputs.len())
            .map(|i| arg(inputs, i))
            .collect::<Result<_>>()?;
        let first = parts
            .first()
            .ok_or_else(|| OnnxError::Run("no inputs".into()))?;
        let rank = first.shape.len();
        let ax = axis(self.axis, rank)?;
        let mut shape = first.shape.clone();
        shape[ax] = 0;
        for p in &parts {
            if p.shape.len() != rank
                || p.shape
                    .iter()
                    .enumerate()
                    .any(|(d, &n)| d != ax && n != first.shape[d])
            {
                return Err(OnnxError::Run(format!(
                    "cannot concatenate shapes {:?} and {:?} on axis {ax}",
                    first.shape, p.shape
                )));
            }
            shape[ax] += p.shape[ax];
        }
        let outer: usize = first.shape[..ax].iter().product();
        let all = Data::concat(&parts.iter().map(|p| &p.data).collect::<Vec<_>>())?;
        let mut offsets = Vec::with_capacity(parts.len());
        let mut off = 0;
        for p in &parts {
            offsets.push(off);
            off += p.len();
        }
        let mut idx = Vec::with_capacity(all.len());
        for o in 0..outer {
            for (p, &start) in parts.iter().zip(&offsets) {
                let chunk = p.len() / outer.max(1);
                idx.extend(start + o * chunk..start + (o + 1) * chunk);
            }
        }
        one(Tensor::new(shape, all.gather(&idx))?)
    }
}

/// Flatten, Reshape, Squeeze and Unsqueeze: the same data under a new shape.
#[derive(Debug)]
struct Reshape {
    op: String,
    axis: i64,
    axes: Vec<i64>,
    allow_zero: bool,
}

impl Reshape {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let op = attrs.op_type().to_string();
        Ok(Box::new(Reshape {
            axis: attrs.int_or("axis", 1),
            axes: attrs.ints("axes"),
            allow_zero: attrs.int_or("allowzero", 0) != 0,
            op,
        }))
    }
}

impl Op for Reshape {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let total = x.len();
        let rank = x.shape.len();
        let axes = match opt_arg(inputs, 1)? {
            Some(t) if self.op != "Reshape" => t.data.to_i64()?,
            _ => self.axes.clone(),
        };
        let shape = match self.op.as_str() {
            "Flatten" => {
                let a = if self.axis < 0 {
                    self.axis + rank as i64
                } else {
                    self.axis
                };
                let a = usize::try_from(a)
                    .ok()
                    .filter(|&a| a <= rank)
                    .ok_or_else(|| OnnxError::Run(format!("axis {} is out of range", self.axis)))?;
                vec![x.shape[..a].iter().product(), x.shape[a..].iter().product()]
            }
            "Squeeze" => {
                let drop: Vec<usize> = if axes.is_empty() {
                    (0..rank).filter(|&d| x.shape[d] == 1).collect()
                } else {
                    axes.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?
                };
                x.shape
                    .iter()
                    .enumerate()
                    .filter(|(d, _)| !drop.contains(d))
                    .map(|(_, &n)| n)
                    .collect()
            }
            "Unsqueeze" => {
                let out_rank = rank + axes.len();
                let mut add: Vec<usize> = axes
                    .iter()
                    .map(|&a| axis(a, out_rank))
                    .collect::<Result<_>>()?;
                add.sort_unstable();
                let mut it = x.shape.iter();
                (0..out_rank)
                    .map(|d| {
                        if add.contains(&d) {
                            1
                        } else {
                            it.next().copied().unwrap_or(1)
                        }
                    })
                    .collect()
            }
            _ => {
                let want = arg(inputs, 1)?.data.to_i64()?;
                let mut shape = Vec::with_capacity(want.len());
                let mut infer = None;
                for (d, &w) in want.iter().enumerate() {
                    shape.push(match w {
                        0 if !self.allow_zero => x.shape.get(d).copied().unwrap_or(1),
                        -1 => {
                            infer = Some(d);
                            1
                        }
                        w if w >= 0 => w as usize,
                        w => return Err(OnnxError::Run(format!("bad dimension {w}"))),
                    });
                }
                if let Some(d) = infer {
                    let known: usize = shape.iter().product();
                    shape[d] = total.checked_div(known).unwrap_or(0);
                }
                shape
            }
        };
        if shape.iter().product::<usize>() != total {
            return Err(OnnxError::Run(format!(
                "cannot reshape {:?} into {shape:?}",
                x.shape
            )));
        }
        one(Tensor::new(shape, x.data.clone())?)
    }
}

#[derive(Debug)]
struct Transpose {
    perm: Vec<i64>,
}

impl Transpose {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Transpose {
            perm: attrs.ints("perm"),
        }))
    }
}

impl Op for Transpose {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let rank = x.shape.len();
        let perm: Vec<usize> = if self.perm.is_empty() {
            (0..rank).rev().collect()
        } else {
            self.perm
                .iter()
                .map(|&p| axis(p, rank))
                .collect::<Result<_>>()?
        };
        let shape: Vec<usize> = perm.iter().map(|&p| x.shape[p]).collect();
        let mut strides = vec![1; rank];
        for d in (0..rank.saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * x.shape[d + 1];
        }
        let total = x.len();
        let mut idx = Vec::with_capacity(total);
        let mut at = vec![0usize; rank];
        for _ in 0..total {
            idx.push(at.iter().zip(&perm).map(|(&i, &p)| i * strides[p]).sum());
            for d in (0..rank).rev() {
                at[d] += 1;
                if at[d] < shape[d] {
                    break;
                }
                at[d] = 0;
            }
        }
        one(Tensor::new(shape, x.data.gather(&idx))?)
    }
}

#[derive(Debug)]
struct ShapeOf;

impl Op for ShapeOf {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let dims: Vec<i64> = x.shape.iter().map(|&d| d as i64).collect();
        one(Tensor::new(vec![dims.len()], Data::I64(dims))?)
    }
}

#[derive(Debug)]
struct Gather {
    axis: i64,
}

impl Gather {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Gather {
            axis: attrs.int_or("axis", 0),
        }))
    }
}

impl Op for Gather {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let (x, i) = (arg(inputs, 0)?, arg(inputs, 1)?);
        let ax = axis(self.axis, x.shape.len())?;
        let (outer, n, inner) = split(&x.shape, ax);
        let picks = i.data.to_i64()?;
        let picks: Vec<usize> = picks
            .iter()
            .map(|&p| {
                let q = if p < 0 { p + n as i64 } else { p };
                usize::try_from(q)
                    .ok()
                    .filter(|&q| q < n)
                    .ok_or_else(|| OnnxError::Run(format!("index {p} is out of range for {n}")))
            })
            .collect::<Result<_>>()?;
        let mut idx = Vec::with_capacity(outer * picks.len() * inner);
        for o in 0..outer {
            for &p in &picks {
                idx.extend((0..inner).map(|k| (o * n + p) * inner + k));
            }
        }
        let mut shape = x.shape[..ax].to_vec();
        shape.extend(&i.shape);
        shape.extend(&x.shape[ax + 1..]);
        one(Tensor::new(shape, x.data.gather(&idx))?)
    }
}

#[derive(Debug)]
struct Slice {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Vec<i64>,
}

impl Slice {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Slice {
            starts: attrs.ints("starts"),
            ends: attrs.ints("ends"),
            axes: attrs.ints("axes"),
        }))
    }
}

impl Op for Slice {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let get = |i: usize, dflt: &[i64]| -> Result<Vec<i64>> {
            Ok(match opt_arg(inputs, i)? {
                Some(t) => t.data.to_i64()?,
                None => dflt.to_vec(),
            })
        };
        let starts = get(1, &self.starts)?;
        let ends = get(2, &self.ends)?;
        let rank = x.shape.len();
        let axes: Vec<usize> = {
            let a = get(3, &self.axes)?;
            if a.is_empty() {
                (0..starts.len()).collect()
            } else {
                a.iter().map(|&a| axis(a, rank)).collect::<Result<_>>()?
            }
        };
        let steps = get(4, &[])?;
        let mut ranges: Vec<Vec<usize>> = x.shape.iter().map(|&n| (0..n).collect()).collect();
        for (k, &ax) in axes.iter().enumerate() {
            let n = x.shape[ax] as i64;
            let step = steps.get(k).copied().unwrap_or(1);
            if step == 0 {
                return Err(OnnxError::Run("a slice step is 0".into()));
            }
            let clamp = |v: i64, lo: i64, hi: i64| v.clamp(lo, hi);
            let norm = |v: i64| if v < 0 { v + n } else { v };
            let (s, e) = (
                norm(starts[k]),
                norm(ends.get(k).copied().unwrap_or(i64::MAX)),
            );
            let mut r = Vec::new();
            if step > 0 {
                let (mut i, e) = (clamp(s, 0, n), clamp(e, 0, n));
                while i < e {
                    r.push(i as usize);
                    i += step;
                }
            } else {
                let (mut i, e) = (clamp(s, -1, n - 1), clamp(e, -1, n - 1));
                while i > e {
                    r.push(i as usize);
                    i += step;
                }
            }
            ranges[ax] = r;
        }
        let shape: Vec<usize> = ranges.iter().map(Vec::len).collect();
        let mut strides = vec![1; rank];
        for d in (0..rank.saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * x.shape[d + 1];
        }
        let total: usize = shape.iter().product();
        let mut idx = Vec::with_capacity(total);
        let mut at = vec![0usize; rank];
        for _ in 0..total {
            idx.push((0..rank).map(|d| ranges[d][at[d]] * strides[d]).sum());
            for d in (0..rank).rev() {
                at[d] += 1;
                if at[d] < shape[d] {
                    break;
                }
                at[d] = 0;
            }
        }
        one(Tensor::new(shape, x.data.gather(&idx))?)
    }
}

#[derive(Debug)]
struct Constant {
    value: Tensor,
}

impl Constant {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let value = if let Some(t) = attrs.tensor("value")? {
            t
        } else if let Some(f) = attrs.float("value_float") {
            Tensor::new(vec![], Data::F32(vec![f]))?
        } else if attrs.has("value_floats") {
            let v = attrs.floats("value_floats");
            Tensor::new(vec![v.len()], Data::F32(v))?
        } else if let Some(i) = attrs.int("value_int") {
            Tensor::new(vec![], Data::I64(vec![i]))?
        } else if attrs.has("value_ints") {
            let v = attrs.ints("value_ints");
            Tensor::new(vec![v.len()], Data::I64(v))?
        } else if let Some(s) = attrs.string("value_string") {
            Tensor::new(vec![], Data::Str(vec![s]))?
        } else if attrs.has("value_strings") {
            let v = attrs.strings("value_strings");
            Tensor::new(vec![v.len()], Data::Str(v))?
        } else {
            return Err(attrs.invalid("has no value"));
        };
        Ok(Box::new(Constant { value }))
    }
}

impl Op for Constant {
    fn run(&self, _: &[Option<&Value>]) -> Result<Vec<Value>> {
        one(self.value.clone())
    }
}

#[derive(Debug)]
struct ConstantOfShape {
    value: Tensor,
}

impl ConstantOfShape {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let value = attrs
            .tensor("value")?
            .unwrap_or(Tensor::new(vec![1], Data::F32(vec![0.0]))?);
        if value.len() != 1 {
            return Err(attrs.invalid("`value` must hold one element"));
        }
        Ok(Box::new(ConstantOfShape { value }))
    }
}

impl Op for ConstantOfShape {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let shape: Vec<usize> = arg(inputs, 0)?
            .data
            .to_i64()?
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| OnnxError::Run(format!("bad dimension {d}"))))
            .collect::<Result<_>>()?;
        let n = shape.iter().product();
        one(Tensor::new(shape, self.value.data.gather(&vec![0; n]))?)
    }
}

/// MatMul (2-D, or a vector on either side) and Gemm.
#[derive(Debug)]
struct Gemm {
    gemm: bool,
    alpha: f64,
    beta: f64,
    trans_a: bool,
    trans_b: bool,
}

impl Gemm {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
struct Softmax {
    axis: i64,
    log: bool,
    legacy: bool,
}

impl Softmax {
    fn build(attrs: &Attrs<'_>, opset: i64) -> Result<Box<dyn Op>> {
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
struct ArgMax {
    axis: i64,
    keep: bool,
    last: bool,
    min: bool,
}

impl ArgMax {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
struct Reduce {
    op: String,
    axes: Vec<i64>,
    keep: bool,
    noop_empty: bool,
}

impl Reduce {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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

#[derive(Debug)]
struct Clip {
    min: Option<f32>,
    max: Option<f32>,
}

impl Clip {
    fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        Ok(Box::new(Clip {
            min: attrs.float("min"),
            max: attrs.float("max"),
        }))
    }
}

impl Op for Clip {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let bound = |i: usize, dflt: Option<f32>, none: f64| -> Result<f64> {
            Ok(match opt_arg(inputs, i)? {
                Some(t) => t.data.to_f64()?.first().copied().unwrap_or(none),
                None => dflt.map_or(none, f64::from),
            })
        };
        let lo = bound(1, self.min, f64::NEG_INFINITY)?;
        let hi = bound(2, self.max, f64::INFINITY)?;
        let v = x
            .data
            .to_f64()?
            .into_iter()
            .map(|v| v.max(lo).min(hi))
            .collect();
        one(Tensor::new(
            x.shape.clone(),
            Data::from_f64(v, x.elem_type()),
        )?)
    }
}
