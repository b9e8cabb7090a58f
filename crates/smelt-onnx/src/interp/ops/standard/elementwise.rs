//! Element-wise operators: arithmetic with broadcasting, comparisons, logic, activations, casts,
//! `Where` and `Clip`.

use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::ops::broadcast::{self, index_map};
use crate::interp::ops::{Op, arg, one, opt_arg};
use crate::interp::tensor::{Data, ElemType, Tensor, Value};

#[derive(Debug)]
pub(super) struct Unary {
    f: fn(f64, f64) -> f64,
    alpha: f64,
}

impl Unary {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
            "Erf" => |x, _| libm::erf(x),
            "Softplus" => |x, _| (x.exp()).ln_1p(),
            _ => |x, a| if x < 0.0 { a * x } else { x },
        };
        Ok(Box::new(Unary {
            f,
            alpha: f64::from(attrs.float("alpha").unwrap_or(0.01)),
        }))
    }
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
pub(super) struct Arith {
    f: fn(f64, f64) -> f64,
}

impl Arith {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Compare {
    op: String,
}

impl Compare {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Variadic {
    op: String,
}

impl Variadic {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Test {
    op: String,
}

impl Test {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Where;

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
pub(super) struct Cast {
    to: Option<ElemType>,
}

impl Cast {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Clip {
    min: Option<f32>,
    max: Option<f32>,
}

impl Clip {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
