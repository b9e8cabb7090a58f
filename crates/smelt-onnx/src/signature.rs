//! How an ONNX graph's inputs and outputs map onto Smelt's features and predictions.
//!
//! * **Inputs.** One graph input of shape `[N, k]` is `k` numeric features named `x0 … x{k-1}`
//!   (scikit-learn's names for unnamed columns). Several inputs of shape `[N, 1]` (skl2onnx's
//!   convention for data frames, and `smelt export`'s) are one feature each, named by the input;
//!   a wider input among several gives `NAME_0 … NAME_{k-1}`. `string` inputs are categorical
//!   features whose categories are the ones the graph's encoders know; a missing category is
//!   given to the graph as the empty string. Numeric inputs take NaN for a missing value
//!   (integer inputs cannot hold one).
//! * **Outputs.** A classifier has a label output (`int64` or `string`) and/or a probability
//!   output (a `float` tensor `[N, classes]`, or ZipMap's maps). Class labels come from ZipMap's
//!   keys, else the classifier node's `classlabels_*`, else `metadata_props["classes"]`, else an
//!   initializer named `classes` (skl2onnx's MLP), else `0 … C-1`. Anything else with one real
//!   output is a regressor (its first column is the prediction).
//! * Files written by `smelt export` say it all in their metadata (`smelt.inputs` with each
//!   categorical input's categories, `smelt.classes`), which wins over what the graph shows.

use std::collections::HashMap;

use smelt_core::LogicalType;
use smelt_core::model::Output;
use smelt_core::{Feature, FeatureKind};

use crate::error::{OnnxError, Result};
use crate::interp::Port;
use crate::interp::tensor::{ElemType, Tensor};
use crate::pb::ModelProto;

/// One graph input and the features it holds.
#[derive(Clone, Debug)]
pub(crate) struct InputSpec {
    pub name: String,
    pub elem: ElemType,
    /// Columns (features) it holds.
    pub width: usize,
    /// Shape has a second axis (`[N, k]`), else `[N]`.
    pub two_d: bool,
    /// Position of its first feature.
    pub first: usize,
}

/// What the outputs are.
#[derive(Clone, Debug)]
pub(crate) enum Outputs {
    Classifier {
        classes: Vec<String>,
        label: Option<String>,
        proba: Option<String>,
    },
    Regressor {
        value: String,
    },
}

#[derive(Clone, Debug)]
pub(crate) struct Signature {
    pub features: Vec<Feature>,
    pub inputs: Vec<InputSpec>,
    pub outputs: Outputs,
}

impl Signature {
    pub(crate) fn output(&self) -> Output {
        match &self.outputs {
            Outputs::Classifier { classes, proba, .. } => Output::Classification {
                classes: classes.clone(),
                has_proba: proba.is_some(),
            },
            Outputs::Regressor { .. } => Output::Regression,
        }
    }
}

/// The signature of a graph with these inputs and outputs (`categories`: of string inputs).
pub(crate) fn signature(
    model: &ModelProto,
    inputs: &[Port],
    outputs: &[Port],
    categories: &HashMap<String, Vec<String>>,
    initializer: impl Fn(&str) -> Option<Tensor>,
) -> Result<Signature> {
    let mut categories = categories.clone();
    categories.extend(exported_categories(model));
    let mut features = Vec::new();
    let mut specs = Vec::new();
    let single = inputs.len() == 1;
    for p in inputs {
        let Some(elem) = p.elem_type else {
            return Err(OnnxError::Unsupported(format!(
                "input `{}` is not a tensor; Smelt scores models whose inputs are tensors",
                p.name
            )));
        };
        let (width, two_d) = match p.shape.as_slice() {
            [] | [_] => (1, false),
            [_, Some(k)] => (*k, true),
            [_, None] => {
                return Err(OnnxError::Unsupported(format!(
                    "input `{}` does not declare its number of columns; Smelt needs it to know the model's features",
                    p.name
                )));
            }
            s => {
                return Err(OnnxError::Unsupported(format!(
                    "input `{}` has rank {}; Smelt scores tabular models (inputs of shape [N] or [N, k])",
                    p.name,
                    s.len()
                )));
            }
        };
        let kind = if elem == ElemType::Str {
            let cats = categories.get(&p.name).cloned().ok_or_else(|| {
                OnnxError::Unsupported(format!(
                    "string input `{}` feeds no encoder whose categories Smelt can read (OneHotEncoder, LabelEncoder, CategoryMapper)",
                    p.name
                ))
            })?;
            FeatureKind::Categorical { categories: cats }
        } else {
            FeatureKind::Numeric
        };
        let ltype = match elem {
            ElemType::Str => LogicalType::Categorical,
            ElemType::I64 | ElemType::I32 => LogicalType::Integer,
            ElemType::Bool => LogicalType::Boolean,
            ElemType::F32 | ElemType::F64 => LogicalType::Numeric,
        };
        specs.push(InputSpec {
            name: p.name.clone(),
            elem,
            width,
            two_d,
            first: features.len(),
        });
        for j in 0..width {
            let name = match (single, width) {
                (true, w) if w > 1 || two_d_name(p) => format!("x{j}"),
                (_, 1) => p.name.clone(),
                _ => format!("{}_{j}", p.name),
            };
            features.push(Feature {
                name,
                ltype,
                kind: kind.clone(),
            });
        }
    }
    let outputs = interpret_outputs(model, outputs, initializer)?;
    Ok(Signature {
        features,
        inputs: specs,
        outputs,
    })
}

/// The categories `smelt export` wrote for its string inputs (`smelt.inputs`).
fn exported_categories(model: &ModelProto) -> HashMap<String, Vec<String>> {
    let Some(p) = model
        .metadata_props
        .iter()
        .find(|p| p.key == "smelt.inputs")
    else {
        return HashMap::new();
    };
    let Ok(serde_json::Value::Array(list)) = serde_json::from_str(&p.value) else {
        return HashMap::new();
    };
    list.iter()
        .filter_map(|i| {
            let name = i.get("name")?.as_str()?;
            let cats = i.get("categories")?.as_array()?;
            Some((
                name.to_string(),
                cats.iter()
                    .filter_map(|c| c.as_str().map(str::to_string))
                    .collect(),
            ))
        })
        .collect()
}

/// A lone `[N, 1]` numeric input named like a matrix (`input`, `X`, `float_input`) still names
/// its one column `x0`.
fn two_d_name(p: &Port) -> bool {
    p.shape.len() == 2
        && p.elem_type != Some(ElemType::Str)
        && matches!(
            p.name.as_str(),
            "input" | "X" | "x" | "float_input" | "features"
        )
}

fn interpret_outputs(
    model: &ModelProto,
    outputs: &[Port],
    initializer: impl Fn(&str) -> Option<Tensor>,
) -> Result<Outputs> {
    let graph = model.graph.as_ref();
    let label = outputs
        .iter()
        .find(|o| {
            matches!(
                o.elem_type,
                Some(ElemType::Str | ElemType::I64 | ElemType::I32)
            )
        })
        .map(|o| o.name.clone());
    let maps = outputs.iter().find(|o| o.elem_type.is_none());
    let real = outputs
        .iter()
        .find(|o| matches!(o.elem_type, Some(ElemType::F32 | ElemType::F64)));
    // Class labels: ZipMap's keys, else the last classifier node's, else metadata, else `classes`.
    let node_labels = |ops: &[&str]| -> Option<Vec<String>> {
        graph?
            .node
            .iter()
            .rev()
            .filter(|n| ops.contains(&n.op_type.as_str()))
            .find_map(|n| {
                let a = crate::interp::attrs_of(n);
                let s = a.strings("classlabels_strings");
                if !s.is_empty() {
                    return Some(s);
                }
                let mut i = a.ints("classlabels_int64s");
                if i.is_empty() {
                    i = a.ints("classlabels_ints");
                }
                (!i.is_empty()).then(|| i.iter().map(i64::to_string).collect())
            })
    };
    let mut classes = node_labels(&["ZipMap"])
        .or_else(|| {
            node_labels(&[
                "TreeEnsembleClassifier",
                "LinearClassifier",
                "SVMClassifier",
            ])
        })
        .or_else(|| {
            model
                .metadata_props
                .iter()
                .find(|p| p.key == "smelt.classes" || p.key == "classes")
                .and_then(|p| serde_json::from_str::<Vec<serde_json::Value>>(&p.value).ok())
                .map(|v| {
                    v.iter()
                        .map(|c| match c {
                            serde_json::Value::String(s) => s.clone(),
                            other => other.to_string(),
                        })
                        .collect()
                })
        })
        .or_else(|| {
            let t = initializer("classes")?;
            match t.data {
                crate::interp::tensor::Data::Str(v) => Some(v),
                d => Some(d.to_i64().ok()?.iter().map(i64::to_string).collect()),
            }
        });
    // A lone real output several columns wide holds class probabilities (Smelt has no
    // multi-output regression).
    let wide = real.is_some_and(|r| r.shape.get(1).copied().flatten().is_some_and(|w| w > 1));
    let proba = maps.or(if label.is_some() || wide { real } else { None });
    if label.is_some() || maps.is_some() || wide {
        if classes.is_none() {
            let width = proba.and_then(|p| p.shape.get(1).copied().flatten());
            classes = width.map(|c| (0..c).map(|k| k.to_string()).collect());
        }
        let Some(classes) = classes else {
            return Err(OnnxError::Unsupported(
                "the model's outputs look like a classifier's, but its class labels cannot be found (no ZipMap, classifier node, `classes` metadata or probability width)".into(),
            ));
        };
        return Ok(Outputs::Classifier {
            classes,
            label,
            proba: proba.map(|p| p.name.clone()),
        });
    }
    match real {
        Some(r) => Ok(Outputs::Regressor {
            value: r.name.clone(),
        }),
        None => Err(OnnxError::Unsupported(format!(
            "the model's outputs ({}) are neither a classifier's (label and/or probabilities) nor a regressor's (a float tensor)",
            outputs
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
