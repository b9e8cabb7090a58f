//! Linear models: least squares, ridge, lasso and elastic net (`X·w + b`), logistic regression
//! (binary: `σ(X·w + b)`, the label from the sign of the decision value; multinomial: softmax
//! of `X·Wᵀ + b`, the label its argmax), all as `MatMul` + `Add` in `double`.

use smelt_core::Predictor;
use smelt_learn::linear::{ElasticNet, Lasso, LinearRegression, LogisticRegression, Ridge};

use super::Head;
use super::frame::{Ctx, Frame};
use super::graph::int;
use crate::error::Result;
use crate::pb::tensor_proto::DataType;

/// The head of `model` if it is a linear model, else `None`.
pub(crate) fn export(cx: &mut Ctx, frame: &Frame, model: &dyn Predictor) -> Option<Result<Head>> {
    let any = model.as_any()?;
    let linear = |coef: &[f64], intercept: f64| (coef.to_vec(), intercept);
    let fit = if let Some(m) = any.downcast_ref::<LinearRegression>() {
        linear(m.coef(), m.intercept())
    } else if let Some(m) = any.downcast_ref::<Ridge>() {
        linear(m.coef(), m.intercept())
    } else if let Some(m) = any.downcast_ref::<Lasso>() {
        linear(m.coef(), m.intercept())
    } else if let Some(m) = any.downcast_ref::<ElasticNet>() {
        linear(m.coef(), m.intercept())
    } else if let Some(m) = any.downcast_ref::<LogisticRegression>() {
        return Some(logistic(cx, frame, m));
    } else {
        return None;
    };
    Some(regressor(cx, frame, model, &fit.0, fit.1))
}

/// The model's input columns as one `[N, p]` matrix.
fn matrix(cx: &mut Ctx, frame: &Frame, model: &dyn Predictor) -> Result<String> {
    let step = model.kind();
    let sub = frame.select(model.input_features(), step)?;
    let cols = sub.numeric(step)?;
    cx.block(&cols)
}

fn regressor(
    cx: &mut Ctx,
    frame: &Frame,
    model: &dyn Predictor,
    coef: &[f64],
    intercept: f64,
) -> Result<Head> {
    let x = matrix(cx, frame, model)?;
    let w = cx.g.f64s("coef", &[coef.len(), 1], coef);
    let b = cx.g.f64s("intercept", &[1], &[intercept]);
    let xw = cx.g.op("MatMul", &[&x, &w], vec![]);
    let value = cx.g.op("Add", &[&xw, &b], vec![]);
    Ok(Head::Regression { value })
}

fn logistic(cx: &mut Ctx, frame: &Frame, m: &LogisticRegression) -> Result<Head> {
    let x = matrix(cx, frame, m)?;
    let (k, p) = (m.n_outputs(), m.input_features().len());
    // coef is `k × p` row-major; MatMul wants `p × k`.
    let mut wt = vec![0.0; p * k];
    for c in 0..k {
        for j in 0..p {
            wt[j * k + c] = m.coef()[c * p + j];
        }
    }
    let w = cx.g.f64s("coef", &[p, k], &wt);
    let b = cx.g.f64s("intercept", &[1, k], m.intercept());
    let xw = cx.g.op("MatMul", &[&x, &w], vec![]);
    let z = cx.g.op("Add", &[&xw, &b], vec![]);
    let classes = m.classes().to_vec();
    if k == 1 {
        let p1 = cx.g.op("Sigmoid", &[&z], vec![]);
        let one = cx.g.f64_scalar("one", 1.0);
        let p0 = cx.g.op("Sub", &[&one, &p1], vec![]);
        let proba = cx.g.op("Concat", &[&p0, &p1], vec![int("axis", 1)]);
        // scikit-learn's rule: the positive class when the decision value is > 0.
        let zero = cx.g.f64_scalar("zero", 0.0);
        let positive = cx.g.op("Greater", &[&z, &zero], vec![]);
        let idx = cx.g.cast(&positive, DataType::Int64);
        let idx = cx.g.reshape(&idx, &[-1]);
        let label = super::label_of(cx, &idx, &classes);
        Ok(Head::Classification {
            label,
            proba,
            classes,
        })
    } else {
        let proba = cx.g.op("Softmax", &[&z], vec![int("axis", 1)]);
        // Argmax of the decision values, the first on ties (as `predict`).
        let idx =
            cx.g.op("ArgMax", &[&z], vec![int("axis", 1), int("keepdims", 0)]);
        let label = super::label_of(cx, &idx, &classes);
        Ok(Head::Classification {
            label,
            proba,
            classes,
        })
    }
}
