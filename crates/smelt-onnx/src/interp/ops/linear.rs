//! `LinearClassifier` and `LinearRegressor` (onnxruntime's `linearclassifier.cc`,
//! `linearregressor.cc`): scores `X · coefficientsᵀ + intercepts` in `float`.

use super::post::{Post, binary_scores};
use super::{Op, arg, one};
use crate::error::Result;
use crate::interp::attrs::Attrs;
use crate::interp::tensor::{Data, Tensor, Value};

/// `X · Wᵀ + b` for `rows × cols` `x`, `targets × cols` `w`, in `float`.
fn scores(x: &[f64], rows: usize, cols: usize, w: &[f32], b: &[f32]) -> Vec<f32> {
    let targets = w.len() / cols.max(1);
    let mut out = Vec::with_capacity(rows * targets);
    for r in 0..rows {
        let xr = &x[r * cols..(r + 1) * cols];
        for t in 0..targets {
            let wt = &w[t * cols..(t + 1) * cols];
            let dot: f64 = xr
                .iter()
                .zip(wt)
                .map(|(&a, &c)| f64::from(a as f32) * f64::from(c))
                .sum();
            out.push((dot + f64::from(b.get(t).copied().unwrap_or(0.0))) as f32);
        }
    }
    out
}

fn check_width(attrs: &Attrs<'_>, w: &[f32], targets: usize) -> Result<()> {
    if targets == 0 || w.is_empty() || !w.len().is_multiple_of(targets) {
        return Err(attrs.invalid(format!(
            "{} coefficients cannot be split over {targets} targets",
            w.len()
        )));
    }
    Ok(())
}

#[derive(Debug)]
pub(crate) enum Labels {
    Str(Vec<String>),
    I64(Vec<i64>),
}

impl Labels {
    pub(crate) fn parse(attrs: &Attrs<'_>) -> Labels {
        let s = attrs.strings("classlabels_strings");
        if s.is_empty() {
            // LinearClassifier calls them `classlabels_ints`.
            let mut i = attrs.ints("classlabels_int64s");
            if i.is_empty() {
                i = attrs.ints("classlabels_ints");
            }
            Labels::I64(i)
        } else {
            Labels::Str(s)
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            Labels::Str(v) => v.len(),
            Labels::I64(v) => v.len(),
        }
    }

    /// A tensor of labels from positions into this list.
    pub(crate) fn pick(&self, idx: &[usize]) -> Data {
        match self {
            Labels::Str(v) => Data::Str(idx.iter().map(|&i| v[i].clone()).collect()),
            Labels::I64(v) => Data::I64(idx.iter().map(|&i| v[i]).collect()),
        }
    }
}

#[derive(Debug)]
pub(crate) struct LinearClassifier {
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    labels: Labels,
    post: Post,
}

impl LinearClassifier {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let coefficients = attrs.floats("coefficients");
        let intercepts = attrs.floats("intercepts");
        check_width(attrs, &coefficients, intercepts.len())?;
        let labels = Labels::parse(attrs);
        let targets = intercepts.len();
        if !(labels.len() == targets && targets > 1 || targets == 1 && labels.len() == 2) {
            return Err(attrs.invalid(format!(
                "{} class labels for {targets} score columns",
                labels.len()
            )));
        }
        Ok(Box::new(LinearClassifier {
            coefficients,
            intercepts,
            labels,
            post: Post::parse(attrs)?,
        }))
    }
}

impl Op for LinearClassifier {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let (rows, cols) = x.as_matrix(true)?;
        let targets = self.intercepts.len();
        if cols * targets != self.coefficients.len() {
            return Err(crate::OnnxError::Run(format!(
                "the input has {cols} columns, the model reads {}",
                self.coefficients.len() / targets
            )));
        }
        let s = scores(
            &x.data.to_f64()?,
            rows,
            cols,
            &self.coefficients,
            &self.intercepts,
        );
        let (labels, out) = if targets == 1 {
            let idx: Vec<usize> = s.iter().map(|&v| usize::from(v > 0.0)).collect();
            let out: Vec<f32> = s
                .iter()
                .flat_map(|&v| binary_scores(v, self.post, 1))
                .collect();
            (idx, out)
        } else {
            let mut idx = Vec::with_capacity(rows);
            let mut out = s;
            for row in out.chunks_mut(targets) {
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                idx.push(best);
                self.post.apply(row);
            }
            (idx, out)
        };
        let width = out.len() / rows.max(1);
        Ok(vec![
            Value::Tensor(Tensor::new(vec![rows], self.labels.pick(&labels))?),
            Value::Tensor(Tensor::f32_2d(rows, width, out)),
        ])
    }
}

#[derive(Debug)]
pub(crate) struct LinearRegressor {
    coefficients: Vec<f32>,
    intercepts: Vec<f32>,
    targets: usize,
    post: Post,
}

impl LinearRegressor {
    pub(crate) fn build(attrs: &Attrs<'_>, _: i64) -> Result<Box<dyn Op>> {
        let coefficients = attrs.floats("coefficients");
        let targets = usize::try_from(attrs.int_or("targets", 1))
            .map_err(|_| attrs.invalid("negative `targets`"))?;
        check_width(attrs, &coefficients, targets)?;
        let mut intercepts = attrs.floats("intercepts");
        if intercepts.is_empty() {
            intercepts = vec![0.0; targets];
        }
        Ok(Box::new(LinearRegressor {
            coefficients,
            intercepts,
            targets,
            post: Post::parse(attrs)?,
        }))
    }
}

impl Op for LinearRegressor {
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>> {
        let x = arg(inputs, 0)?;
        let (rows, cols) = x.as_matrix(true)?;
        if cols * self.targets != self.coefficients.len() {
            return Err(crate::OnnxError::Run(format!(
                "the input has {cols} columns, the model reads {}",
                self.coefficients.len() / self.targets
            )));
        }
        let mut s = scores(
            &x.data.to_f64()?,
            rows,
            cols,
            &self.coefficients,
            &self.intercepts,
        );
        if self.targets > 1 {
            s.chunks_mut(self.targets).for_each(|r| self.post.apply(r));
        } else if self.post == Post::Probit {
            s.iter_mut().for_each(|v| *v = super::post::probit(*v));
        }
        one(Tensor::f32_2d(rows, self.targets, s))
    }
}
