//! Smelt models as ONNX graphs that onnxruntime (or any ONNX runtime with the ONNX-ML
//! operators) scores like `smelt predict`.
//!
//! ```
//! use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Target};
//! use smelt_learn::linear::RidgeParams;
//! use smelt_onnx::export::{ExportOptions, export_model, summary};
//!
//! let x = Feature { name: "x".into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric };
//! let y = Target::Regression { values: vec![1.0, 3.0, 5.0] };
//! let data = Dataset::new(3, vec![0.0, 1.0, 2.0], vec![x], Some(("y".into(), y)))?;
//! let model = RidgeParams::default().fit(&data)?;
//!
//! let onnx = export_model(&model, &ExportOptions::default())?;
//! assert_eq!(summary(&onnx).to_string(),
//!            "1 input (1 double); output variable double[N,1]; 3 nodes: Add, Identity, MatMul");
//! let bytes = smelt_onnx::export::encode(&onnx); // what `smelt export` writes
//! # assert!(!bytes.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What exports
//!
//! A model `smelt train` makes for these kinds, with the default preprocessing it puts in front
//! of them (and the same steps in pipelines built by hand):
//!
//! * **Linear models**: `linear_regression`, `ridge`, `lasso`, `elastic_net` and
//!   `logistic_regression` (binary and multinomial).
//! * **Trees**: `decision_tree_{classifier,regressor}`, `random_forest_{classifier,regressor}`,
//!   `extra_trees_{classifier,regressor}`.
//! * **Boosting**: `hist_gradient_boosting_{classifier,regressor}` (binary, multi-class, every
//!   regression loss, native missing values and categorical splits), and XGBoost / LightGBM
//!   models brought in with `smelt import` (`tree_ensemble`).
//! * **Preprocessing**: `column_transformer` (branches by kind or name, remainder),
//!   `simple_imputer` (every strategy, numbers and categories), `standard_scaler`,
//!   `min_max_scaler`, `robust_scaler`, `one_hot_encoder`.
//!
//! Anything else (naive Bayes, SVMs, neighbours, clustering, other encoders, calibrated or
//! thresholded models) is an [`OnnxError::Export`] naming the step and what is supported.
//!
//! # Inputs and outputs
//!
//! * **One input per input column of the model**, named like the column, shape `[N, 1]`:
//!   numeric columns (booleans as 0/1) are `tensor(double)`, NaN meaning missing; categorical
//!   columns are `tensor(string)`, the category's text, the empty string meaning missing. A
//!   category not seen in training is treated as Smelt treats it: all zeros after one-hot
//!   encoding (`handle_unknown = "ignore"`), the missing side in boosted trees.
//! * **Regression**: `variable`, `tensor(double)` `[N, 1]` (what `smelt predict` writes as
//!   `prediction`).
//! * **Classification**: `label`, `tensor(string)` `[N]`, the class label as Smelt names it,
//!   and `probabilities`, `tensor(double)` `[N, classes]`, the classes in the order of the
//!   `smelt.classes` metadata (Smelt's `proba_<class>` columns). No `ZipMap`.
//!
//! Metadata (`metadata_props`): `smelt.kind` (the estimator), `smelt.preprocessing`, `smelt.task`,
//! `smelt.inputs` (JSON: name, type and categories of each input), `smelt.classes` (JSON),
//! `smelt.missing`, and the caller's own entries ([`ExportOptions::metadata`]).
//!
//! # How it computes
//!
//! Everything is `double`, in the order of operations of Smelt's own code, so the graph scores
//! what Smelt scores to rounding (the tests check 1e-9 against Smelt and 1e-5 through
//! onnxruntime). Standard operators (opset 17): `Concat`, `Slice`, `IsNaN`, `Where`, `Equal`,
//! `Sub`, `Div`, `Mul`, `Add`, `Clip`, `MatMul`, `Sigmoid`, `Softmax`, `Exp`, `ArgMax`,
//! `Greater`, `Gather`, `Reshape`, `ReduceSum`, `Cast` (and `Abs`, `LessOrEqual`, `Less`,
//! `GreaterOrEqual`, `Floor`, `And` for some imported models). ONNX-ML (opset 3):
//! `LabelEncoder` (category text to a code) and `TreeEnsembleRegressor` with `double`
//! thresholds (`nodes_values_as_tensor`) for the tree walks. The tree node's output is `float`,
//! so it returns leaf numbers, not values: a `Gather` from a `double` table of leaf values and a
//! `ReduceSum` give the exact sums (see `export/trees.rs`). Missing values follow
//! each split's default side (`nodes_missing_value_tracks_true`). CART trees and forests read
//! their features rounded to `float` (`Cast` there and back), as they were grown; XGBoost models
//! sum their leaves in `f32` in Smelt and in `double` here, then round (a few `f32` ulps apart).

mod boosting;
mod frame;
mod graph;
mod linear;
mod preprocess;
mod trees;

use std::collections::BTreeMap;
use std::fmt;

use prost::Message;
use smelt_core::{Feature, FeatureKind, Output, Predictor, Transform};
use smelt_learn::compose::ColumnTransformer;
use smelt_learn::pipeline::Pipeline;

use crate::error::{OnnxError, Result};
use crate::pb::tensor_proto::DataType;
use crate::pb::{ModelProto, OperatorSetIdProto, StringStringEntryProto, ValueInfoProto};
use frame::{Column, Ctx, Frame, NumCol, Value};
use graph::{ML, int, value_info};

/// Opset of the default ONNX domain the graphs use.
pub const OPSET: i64 = 17;
/// Opset of the ONNX-ML domain.
pub const ML_OPSET: i64 = 3;
/// ONNX IR version written.
pub const IR_VERSION: i64 = 8;

/// Output name of a regression.
pub const VARIABLE: &str = "variable";
/// Output name of the predicted class.
pub const LABEL: &str = "label";
/// Output name of the class probabilities.
pub const PROBABILITIES: &str = "probabilities";

/// The estimator kinds that export.
const SUPPORTED_MODELS: &str = "linear_regression, ridge, lasso, elastic_net, \
     logistic_regression, decision_tree_*, random_forest_*, extra_trees_*, \
     hist_gradient_boosting_*, tree_ensemble (imported XGBoost / LightGBM)";

/// Options of [`export`].
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// The graph's name (default `smelt_<kind>`).
    pub graph_name: Option<String>,
    /// Extra `metadata_props` entries (e.g. the target's name, the training data).
    pub metadata: Vec<(String, String)>,
}

/// The ONNX model (serialised protobuf) of `model`.
pub fn export(model: &dyn Predictor, opts: &ExportOptions) -> Result<Vec<u8>> {
    Ok(encode(&export_model(model, opts)?))
}

/// The bytes of an ONNX file holding `model`.
pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

/// The ONNX model of `model` as a message (see the [module docs](self)).
pub fn export_model(model: &dyn Predictor, opts: &ExportOptions) -> Result<ModelProto> {
    let (steps, estimator) = unwrap_pipeline(model);
    if let what @ ("clustering" | "embedding") = match estimator.output() {
        Output::Clustering => "clustering",
        Output::Embedding { .. } => "embedding",
        _ => "",
    } {
        return Err(OnnxError::Export(format!(
            "`{}` is an {what} model; export supports regressors and classifiers ({SUPPORTED_MODELS})",
            estimator.kind()
        )));
    }
    let input = model.input_features();
    let mut cx = Ctx::default();
    for name in [VARIABLE, LABEL, PROBABILITIES] {
        cx.g.reserve(name);
    }
    for f in input {
        if !cx.g.reserve(&f.name) {
            return Err(OnnxError::Export(format!(
                "input column `{}` has the name of an output (or of another input); the graph's \
                 outputs are `{VARIABLE}`, `{LABEL}` and `{PROBABILITIES}`\n\
                 hint: rename the column and train again",
                f.name
            )));
        }
    }

    // Every label any step names for each categorical input.
    let mut labels: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for t in &steps {
        collect_labels(*t, &mut labels);
    }
    add_labels(estimator.input_features(), &mut labels);

    let mut frame = Frame::default();
    let mut inputs: Vec<ValueInfoProto> = Vec::with_capacity(input.len());
    let mut described = Vec::with_capacity(input.len());
    for f in input {
        let value = match &f.kind {
            FeatureKind::Numeric => {
                inputs.push(value_info(&f.name, DataType::Double, &[None, Some(1)]));
                described.push(serde_json::json!({"name": f.name, "type": "double"}));
                Value::Num(NumCol {
                    tensor: f.name.clone(),
                    col: 0,
                    width: 1,
                })
            }
            FeatureKind::Categorical { categories } => {
                let mut universe = categories.clone();
                for l in labels.get(&f.name).into_iter().flatten() {
                    if !universe.contains(l) {
                        universe.push(l.clone());
                    }
                }
                inputs.push(value_info(&f.name, DataType::String, &[None, Some(1)]));
                described.push(serde_json::json!({
                    "name": f.name, "type": "string", "categories": categories
                }));
                cx.categorical_input(&f.name, universe)
            }
        };
        frame.cols.push(Column {
            name: f.name.clone(),
            value,
        });
    }

    for t in &steps {
        frame = preprocess::apply(&mut cx, &frame, *t)?;
    }

    let head = linear::export(&mut cx, &frame, estimator)
        .or_else(|| trees::export(&mut cx, &frame, estimator))
        .or_else(|| boosting::export(&mut cx, &frame, estimator))
        .unwrap_or_else(|| {
            Err(OnnxError::Export(format!(
                "model kind `{}` has no ONNX export (supported: {SUPPORTED_MODELS})",
                estimator.kind()
            )))
        })?;

    let mut meta: Vec<(String, String)> = vec![
        ("smelt.kind".into(), estimator.kind().to_string()),
        ("smelt.preprocessing".into(), describe_steps(&steps)),
        (
            "smelt.inputs".into(),
            serde_json::Value::Array(described).to_string(),
        ),
        (
            "smelt.missing".into(),
            "numeric inputs: NaN; categorical inputs: the empty string".into(),
        ),
    ];
    let outputs = match head {
        Head::Regression { value } => {
            cx.g.push("Identity", "", &[&value], &[VARIABLE], vec![]);
            meta.push(("smelt.task".into(), "regression".into()));
            vec![value_info(VARIABLE, DataType::Double, &[None, Some(1)])]
        }
        Head::Classification {
            label,
            proba,
            classes,
        } => {
            cx.g.push("Identity", "", &[&label], &[LABEL], vec![]);
            cx.g.push("Identity", "", &[&proba], &[PROBABILITIES], vec![]);
            meta.push(("smelt.task".into(), "classification".into()));
            meta.push((
                "smelt.classes".into(),
                serde_json::to_string(&classes).unwrap_or_default(),
            ));
            vec![
                value_info(LABEL, DataType::String, &[None]),
                value_info(
                    PROBABILITIES,
                    DataType::Double,
                    &[None, Some(classes.len())],
                ),
            ]
        }
    };
    meta.extend(opts.metadata.iter().cloned());

    let uses_ml = cx.g.nodes.iter().any(|n| n.domain == ML);
    let mut opset_import = vec![OperatorSetIdProto {
        domain: String::new(),
        version: OPSET,
    }];
    if uses_ml {
        opset_import.push(OperatorSetIdProto {
            domain: ML.into(),
            version: ML_OPSET,
        });
    }
    let graph = crate::pb::GraphProto {
        node: std::mem::take(&mut cx.g.nodes),
        name: opts
            .graph_name
            .clone()
            .unwrap_or_else(|| format!("smelt_{}", estimator.kind())),
        initializer: std::mem::take(&mut cx.g.initializers),
        input: inputs,
        output: outputs,
        ..crate::pb::GraphProto::default()
    };
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import,
        producer_name: "smelt".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        domain: "ai.smelt".into(),
        model_version: 1,
        doc_string: format!(
            "Smelt `{}` model exported by smelt {}",
            estimator.kind(),
            env!("CARGO_PKG_VERSION")
        ),
        graph: Some(graph),
        metadata_props: meta
            .into_iter()
            .map(|(key, value)| StringStringEntryProto { key, value })
            .collect(),
        ..ModelProto::default()
    })
}

/// The preprocessing steps (outermost first) and the final estimator of `model`.
fn unwrap_pipeline(model: &dyn Predictor) -> (Vec<&dyn Transform>, &dyn Predictor) {
    let mut steps: Vec<&dyn Transform> = Vec::new();
    let mut at = model;
    while let Some(p) = at.as_any().and_then(|a| a.downcast_ref::<Pipeline>()) {
        steps.extend(p.steps().iter().map(|s| s.as_ref()));
        at = p.model();
    }
    (steps, at)
}

/// Adds the category labels `t` (and its nested steps) reads or writes, by column name.
fn collect_labels(t: &dyn Transform, labels: &mut BTreeMap<String, Vec<String>>) {
    add_labels(t.input_features(), labels);
    add_labels(&t.output_features(), labels);
    if let Some(ct) = t
        .as_any()
        .and_then(|a| a.downcast_ref::<ColumnTransformer>())
    {
        for (_, _, steps) in ct.branches() {
            for s in steps {
                collect_labels(s.as_ref(), labels);
            }
        }
    }
}

fn add_labels(features: &[Feature], labels: &mut BTreeMap<String, Vec<String>>) {
    for f in features {
        if let FeatureKind::Categorical { categories } = &f.kind {
            let known = labels.entry(f.name.clone()).or_default();
            for c in categories {
                if !known.contains(c) {
                    known.push(c.clone());
                }
            }
        }
    }
}

/// `column_transformer(numeric: simple_imputer > standard_scaler; categorical: …)`.
fn describe_steps(steps: &[&dyn Transform]) -> String {
    fn one(t: &dyn Transform) -> String {
        match t
            .as_any()
            .and_then(|a| a.downcast_ref::<ColumnTransformer>())
        {
            Some(ct) => {
                let branches: Vec<String> = ct
                    .branches()
                    .map(|(name, _, steps)| {
                        let inner: Vec<String> = steps.iter().map(|s| one(s.as_ref())).collect();
                        if inner.is_empty() {
                            format!("{name}: passthrough")
                        } else {
                            format!("{name}: {}", inner.join(" > "))
                        }
                    })
                    .collect();
                format!("{}({})", t.kind(), branches.join("; "))
            }
            None => t.kind().to_string(),
        }
    }
    if steps.is_empty() {
        return "none".into();
    }
    steps
        .iter()
        .map(|t| one(*t))
        .collect::<Vec<_>>()
        .join(" > ")
}

/// What the estimator's nodes end in.
pub(crate) enum Head {
    /// `[N, 1]` values.
    Regression { value: String },
    /// `[N]` labels and `[N, classes]` probabilities.
    Classification {
        label: String,
        proba: String,
        classes: Vec<String>,
    },
}

/// The labels (`[N]` strings) of class indices `idx` (`[N]` int64).
pub(crate) fn label_of(cx: &mut Ctx, idx: &str, classes: &[String]) -> String {
    let names = cx.g.strings("classes", classes);
    cx.g.op("Gather", &[&names, idx], vec![int("axis", 0)])
}

/// A classification head whose label is the most probable class (the first on ties, like
/// `Prediction::from_proba`).
pub(crate) fn classify_proba(cx: &mut Ctx, proba: String, classes: Vec<String>) -> Head {
    let idx = cx.g.op(
        "ArgMax",
        &[&proba],
        vec![int("axis", 1), int("keepdims", 0)],
    );
    let label = label_of(cx, &idx, &classes);
    Head::Classification {
        label,
        proba,
        classes,
    }
}

/// A graph input or output: name, element type and shape (`None`: the batch dimension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Port {
    /// Its name.
    pub name: String,
    /// `double`, `string`, … (ONNX's type names).
    pub elem_type: String,
    /// Dimensions; `None` for a symbolic one.
    pub shape: Vec<Option<i64>>,
}

/// What an exported model holds, for a one-line report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Graph inputs.
    pub inputs: Vec<Port>,
    /// Graph outputs.
    pub outputs: Vec<Port>,
    /// Operators (`domain:op` for other domains than ONNX's) with their node counts, by name.
    pub ops: Vec<(String, usize)>,
}

/// The inputs, outputs and operators of `model`.
pub fn summary(model: &ModelProto) -> Summary {
    let port = |v: &ValueInfoProto| {
        let (elem_type, shape) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(crate::pb::type_proto::Value::TensorType(t)) => (
                DataType::try_from(t.elem_type)
                    .map(|d| type_name(d).to_string())
                    .unwrap_or_else(|_| format!("type {}", t.elem_type)),
                t.shape
                    .as_ref()
                    .map(|s| {
                        s.dim
                            .iter()
                            .map(|d| match d.value {
                                Some(
                                    crate::pb::tensor_shape_proto::dimension::Value::DimValue(n),
                                ) => Some(n),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            None => ("?".to_string(), Vec::new()),
        };
        Port {
            name: v.name.clone(),
            elem_type,
            shape,
        }
    };
    let graph = model.graph.clone().unwrap_or_default();
    let mut ops: BTreeMap<String, usize> = BTreeMap::new();
    for n in &graph.node {
        let name = if n.domain.is_empty() {
            n.op_type.clone()
        } else {
            format!("{}:{}", n.domain, n.op_type)
        };
        *ops.entry(name).or_default() += 1;
    }
    Summary {
        inputs: graph.input.iter().map(port).collect(),
        outputs: graph.output.iter().map(port).collect(),
        ops: ops.into_iter().collect(),
    }
}

fn type_name(d: DataType) -> &'static str {
    match d {
        DataType::Double => "double",
        DataType::Float => "float",
        DataType::String => "string",
        DataType::Int64 => "int64",
        DataType::Bool => "bool",
        _ => "other",
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self
            .shape
            .iter()
            .map(|d| d.map_or_else(|| "N".to_string(), |n| n.to_string()))
            .collect();
        write!(f, "{} {}[{}]", self.name, self.elem_type, dims.join(","))
    }
}

impl fmt::Display for Summary {
    /// `7 inputs (4 double, 3 string); outputs label string[N], probabilities double[N,3];
    /// 31 nodes: ArgMax, Concat, …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for p in &self.inputs {
            *kinds.entry(p.elem_type.as_str()).or_default() += 1;
        }
        let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let outputs: Vec<String> = self.outputs.iter().map(ToString::to_string).collect();
        let nodes: usize = self.ops.iter().map(|(_, n)| n).sum();
        let ops: Vec<String> = self
            .ops
            .iter()
            .map(|(op, n)| {
                if *n == 1 {
                    op.clone()
                } else {
                    format!("{op}×{n}")
                }
            })
            .collect();
        write!(
            f,
            "{} input{} ({}); output{} {}; {} node{}: {}",
            self.inputs.len(),
            if self.inputs.len() == 1 { "" } else { "s" },
            kinds.join(", "),
            if self.outputs.len() == 1 { "" } else { "s" },
            outputs.join(", "),
            nodes,
            if nodes == 1 { "" } else { "s" },
            ops.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "test code: a failed unwrap is a failed test, with its location"
    )]

    use smelt_core::{Dataset, Fit, LogicalType};
    use smelt_learn::linear::RidgeParams;

    use super::*;

    fn num(name: &str) -> Feature {
        Feature {
            name: name.into(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        }
    }

    fn ridge_on(names: &[&str]) -> Box<dyn Predictor> {
        let n = 8;
        let values: Vec<f64> = (0..n * names.len()).map(|i| (i % 5) as f64).collect();
        let y: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let d = Dataset::new(
            n,
            values,
            names.iter().map(|s| num(s)).collect(),
            Some(("y".into(), smelt_core::Target::Regression { values: y })),
        )
        .unwrap();
        Box::new(RidgeParams::default().fit(&d).unwrap())
    }

    #[test]
    fn an_input_named_like_an_output_is_an_error() {
        let m = ridge_on(&["a", "label"]);
        let err = export(m.as_ref(), &ExportOptions::default()).unwrap_err();
        assert!(err.to_string().contains("`label`"), "{err}");
    }

    #[test]
    fn summary_lists_ports_and_ops() {
        let m = ridge_on(&["a", "b"]);
        let proto = export_model(m.as_ref(), &ExportOptions::default()).unwrap();
        let s = summary(&proto);
        assert_eq!(s.inputs.len(), 2);
        assert_eq!(s.outputs[0].to_string(), "variable double[N,1]");
        let line = s.to_string();
        assert!(
            line.starts_with("2 inputs (2 double); output variable"),
            "{line}"
        );
        assert!(line.contains("MatMul"), "{line}");
        assert!(proto.opset_import.iter().all(|o| o.domain != ML));
    }

    #[test]
    fn describe_steps_names_branches() {
        assert_eq!(describe_steps(&[]), "none");
    }
}
