//! Operators that move data without computing: `Identity`, `Concat`, reshapes, `Transpose`,
//! `Shape`, `Gather`, `Slice` and constants.

use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::ops::broadcast::{axis, split};
use crate::interp::ops::{Op, arg, one, opt_arg};
use crate::interp::tensor::{Data, Tensor, Value};

#[derive(Debug)]
pub(super) struct Identity;

impl Op for Identity {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        match inputs.first().copied().flatten() {
            Some(v) => Ok(vec![v.clone()]),
            None => Err(OnnxError::Run("input 0 is missing".into())),
        }
    }
}

#[derive(Debug)]
pub(super) struct Concat {
    axis: i64,
}

impl Concat {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Reshape {
    op: String,
    axis: i64,
    axes: Vec<i64>,
    allow_zero: bool,
}

impl Reshape {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Transpose {
    perm: Vec<i64>,
}

impl Transpose {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct ShapeOf;

impl Op for ShapeOf {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let dims: Vec<i64> = x.shape.iter().map(|&d| d as i64).collect();
        one(Tensor::new(vec![dims.len()], Data::I64(dims))?)
    }
}

#[derive(Debug)]
pub(super) struct Gather {
    axis: i64,
}

impl Gather {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Slice {
    starts: Vec<i64>,
    ends: Vec<i64>,
    axes: Vec<i64>,
}

impl Slice {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct Constant {
    value: Tensor,
}

impl Constant {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
pub(super) struct ConstantOfShape {
    value: Tensor,
}

impl ConstantOfShape {
    pub(super) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
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
