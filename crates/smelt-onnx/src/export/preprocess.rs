//! Preprocessing steps as ONNX nodes: `ColumnTransformer` (column routing), `SimpleImputer`,
//! `StandardScaler`, `MinMaxScaler`, `RobustScaler` and `OneHotEncoder`, each computing what
//! its `transform` computes, in the same order of operations (so results agree to the bit).

use smelt_core::{FeatureKind, Transform};
use smelt_learn::compose::ColumnTransformer;
use smelt_learn::preprocessing::{
    MinMaxScaler, OneHotEncoder, RobustScaler, SimpleImputer, StandardScaler,
};

use super::frame::{Ctx, Frame, MISSING, NumCol, Value, columns_of};
use crate::error::{OnnxError, Result};

/// The preprocessing kinds that export.
pub(crate) const SUPPORTED: &str = "column_transformer, simple_imputer, standard_scaler, \
                                    min_max_scaler, robust_scaler, one_hot_encoder";

/// `frame` after step `t`.
pub(crate) fn apply(cx: &mut Ctx, frame: &Frame, t: &dyn Transform) -> Result<Frame> {
    let any = t.as_any();
    if let Some(ct) = any.and_then(|a| a.downcast_ref::<ColumnTransformer>()) {
        return column_transformer(cx, frame, ct);
    }
    if let Some(imp) = any.and_then(|a| a.downcast_ref::<SimpleImputer>()) {
        return imputer(cx, frame, imp);
    }
    if let Some(s) = any.and_then(|a| a.downcast_ref::<StandardScaler>()) {
        let sub = frame.select(s.input_features(), "StandardScaler")?;
        return map_numeric(cx, &sub, "StandardScaler", |cx, x| {
            let w = s.mean().len();
            let m = cx.g.f64s("mean", &[1, w], s.mean());
            let sc = cx.g.f64s("scale", &[1, w], s.scale());
            let centred = cx.g.op("Sub", &[x, &m], vec![]);
            cx.g.op("Div", &[&centred, &sc], vec![])
        });
    }
    if let Some(s) = any.and_then(|a| a.downcast_ref::<MinMaxScaler>()) {
        let sub = frame.select(s.input_features(), "MinMaxScaler")?;
        return map_numeric(cx, &sub, "MinMaxScaler", |cx, x| {
            let w = s.scale().len();
            let sc = cx.g.f64s("scale", &[1, w], s.scale());
            let mn = cx.g.f64s("min", &[1, w], s.min());
            let scaled = cx.g.op("Mul", &[x, &sc], vec![]);
            let y = cx.g.op("Add", &[&scaled, &mn], vec![]);
            let p = s.params();
            if p.clip {
                let lo = cx.g.f64_scalar("lo", p.feature_range.0);
                let hi = cx.g.f64_scalar("hi", p.feature_range.1);
                cx.g.op("Clip", &[&y, &lo, &hi], vec![])
            } else {
                y
            }
        });
    }
    if let Some(s) = any.and_then(|a| a.downcast_ref::<RobustScaler>()) {
        let sub = frame.select(s.input_features(), "RobustScaler")?;
        return map_numeric(cx, &sub, "RobustScaler", |cx, x| {
            let w = s.center().len();
            let p = s.params();
            let mut y = x.to_string();
            if p.with_centering {
                let c = cx.g.f64s("center", &[1, w], s.center());
                y = cx.g.op("Sub", &[&y, &c], vec![]);
            }
            if p.with_scaling {
                let sc = cx.g.f64s("scale", &[1, w], s.scale());
                y = cx.g.op("Div", &[&y, &sc], vec![]);
            }
            y
        });
    }
    if let Some(enc) = any.and_then(|a| a.downcast_ref::<OneHotEncoder>()) {
        return one_hot(cx, frame, enc);
    }
    Err(OnnxError::Export(format!(
        "preprocessing step `{}` has no ONNX export (supported: {SUPPORTED})",
        t.kind()
    )))
}

/// Applies `f` to the (all numeric) columns of `sub` as one matrix; the output columns keep
/// their names.
fn map_numeric(
    cx: &mut Ctx,
    sub: &Frame,
    step: &str,
    f: impl FnOnce(&mut Ctx, &str) -> String,
) -> Result<Frame> {
    let cols = sub.numeric(step)?;
    if cols.is_empty() {
        return Ok(Frame::default());
    }
    let x = cx.block(&cols)?;
    let y = f(cx, &x);
    Ok(Frame {
        cols: columns_of(&y, sub.cols.iter().map(|c| c.name.clone())),
    })
}

/// Each branch's columns through its steps, the outputs side by side, then the remainder.
fn column_transformer(cx: &mut Ctx, frame: &Frame, ct: &ColumnTransformer) -> Result<Frame> {
    let mut out = Frame::default();
    for (name, columns, steps) in ct.branches() {
        let mut sub = frame.select(columns, &format!("ColumnTransformer branch `{name}`"))?;
        if !columns.is_empty() {
            for s in steps {
                sub = apply(cx, &sub, s.as_ref())?;
            }
        }
        out.cols.extend(sub.cols);
    }
    let rest = frame.select(ct.remainder(), "ColumnTransformer remainder")?;
    out.cols.extend(rest.cols);
    Ok(out)
}

/// Numbers: `Where(IsNaN(x), fill, x)` on all numeric columns at once; categories: the
/// missing code replaced by the code of the fill label.
fn imputer(cx: &mut Ctx, frame: &Frame, imp: &SimpleImputer) -> Result<Frame> {
    let input = imp.input_features();
    let mut sub = frame.select(input, "SimpleImputer")?;
    let stats = imp.statistics();
    let numeric: Vec<usize> = (0..sub.cols.len())
        .filter(|&j| matches!(sub.cols[j].value, Value::Num(_)))
        .collect();
    if !numeric.is_empty() {
        let cols: Vec<NumCol> = numeric
            .iter()
            .filter_map(|&j| match &sub.cols[j].value {
                Value::Num(n) => Some(n.clone()),
                Value::Cat { .. } => None,
            })
            .collect();
        let w = cols.len();
        let x = cx.block(&cols)?;
        let fill: Vec<f64> = numeric.iter().map(|&j| stats[j]).collect();
        let fill = cx.g.f64s("fill", &[1, w], &fill);
        let nan = cx.g.op("IsNaN", &[&x], vec![]);
        let y = cx.g.op("Where", &[&nan, &fill, &x], vec![]);
        for (col, &j) in numeric.iter().enumerate() {
            sub.cols[j].value = Value::Num(NumCol {
                tensor: y.clone(),
                col,
                width: w,
            });
        }
    }
    for (j, f) in input.iter().enumerate() {
        let (FeatureKind::Categorical { categories }, Value::Cat { cat, code }) =
            (&f.kind, &sub.cols[j].value)
        else {
            continue;
        };
        let (cat, code) = (*cat, code.clone());
        let s = stats[j];
        let label = (s >= 0.0 && s.fract() == 0.0)
            .then(|| categories.get(s as usize))
            .flatten()
            .ok_or_else(|| {
                OnnxError::Export(format!(
                    "SimpleImputer: column `{}` is filled with category code {s}, which it does \
                     not have",
                    f.name
                ))
            })?;
        let fill = cx.code_of(cat, label);
        let missing = cx.g.i64_scalar("missing", MISSING);
        let is_missing = cx.g.op("Equal", &[&code, &missing], vec![]);
        let fill = cx.g.i64_scalar("fill_code", fill);
        let filled = cx.g.op("Where", &[&is_missing, &fill, &code], vec![]);
        sub.cols[j].value = Value::Cat { cat, code: filled };
    }
    Ok(sub)
}

/// Numeric columns pass through; each categorical column becomes one 0/1 column per kept
/// category (a lookup by code: unseen and missing rows are all zeros, Smelt's
/// `handle_unknown = "ignore"`).
fn one_hot(cx: &mut Ctx, frame: &Frame, enc: &OneHotEncoder) -> Result<Frame> {
    let input = enc.input_features();
    let sub = frame.select(input, "OneHotEncoder")?;
    let mut out = Frame::default();
    for (f, col) in input.iter().zip(&sub.cols) {
        let (FeatureKind::Categorical { categories }, Value::Cat { cat, code }) =
            (&f.kind, &col.value)
        else {
            out.cols.push(col.clone());
            continue;
        };
        let first = enc.first_kept(categories.len());
        let width = categories.len().saturating_sub(first);
        if width == 0 {
            continue;
        }
        let n = cx.n_codes(*cat);
        let mut table = vec![0.0; n * width];
        for (i, label) in categories.iter().enumerate().skip(first) {
            let c = cx.code_of(*cat, label);
            if c >= 2 {
                table[c as usize * width + (i - first)] = 1.0;
            }
        }
        let t = cx.lookup(*cat, code, &table, width);
        let names = categories[first..]
            .iter()
            .map(|c| format!("{}_{}", f.name, c));
        out.cols.extend(columns_of(&t, names));
    }
    Ok(out)
}
