//! Smelt's interpreter for tabular ONNX graphs.
//!
//! tract runs standard ONNX well, but of the ONNX-ML operators that `skl2onnx` and `onnxmltools`
//! emit for scikit-learn, LightGBM and XGBoost models it has only `LinearClassifier`,
//! `LinearRegressor`, `Normalizer`, `CategoryMapper` and `TreeEnsembleClassifier`, and no
//! `tensor(string)` inputs for most of them, nor ZipMap's sequences of maps. These graphs are small
//! (a few preprocessing nodes before one model node), so this module runs them node by node:
//! each operator follows onnxruntime's CPU kernels (`onnxruntime/core/providers/cpu/ml/`),
//! including their binary-classification conventions, and is checked against onnxruntime's
//! outputs on the fixtures made by `tools/fixtures/onnx.py` (1e-5).
//!
//! Supported operators: see [`SUPPORTED`]. Numbers are computed in `f64` and stored in the
//! type the operator outputs (`float` for ONNX-ML operators), so results match onnxruntime's
//! `float` arithmetic to rounding.

mod attrs;
mod ops;
pub mod tensor;

use std::borrow::Cow;
use std::collections::HashMap;

use crate::error::{OnnxError, Result};
use crate::pb::{GraphProto, ModelProto, ValueInfoProto, type_proto};
pub use ops::SUPPORTED;
use tensor::{ElemType, Tensor, Value};

/// A graph input or output as declared.
#[derive(Clone, Debug, PartialEq)]
pub struct Port {
    /// Its name.
    pub name: String,
    /// Element type of a tensor (`None`: not a tensor, e.g. ZipMap's `seq(map)`).
    pub elem_type: Option<ElemType>,
    /// Dimensions (`None` for a symbolic or unknown one); empty when not declared.
    pub shape: Vec<Option<usize>>,
}

impl Port {
    /// A port as an input or output declares it.
    pub fn from_value_info(v: &ValueInfoProto) -> Port {
        let (elem_type, shape) = match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
            Some(type_proto::Value::TensorType(t)) => (
                ElemType::from_code(t.elem_type),
                t.shape
                    .as_ref()
                    .map(|s| {
                        s.dim
                            .iter()
                            .map(|d| match d.value {
                                Some(
                                    crate::pb::tensor_shape_proto::dimension::Value::DimValue(n),
                                ) => usize::try_from(n).ok(),
                                _ => None,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            ),
            None => (None, Vec::new()),
        };
        Port {
            name: v.name.clone(),
            elem_type,
            shape,
        }
    }
}

struct Step {
    op: Box<dyn ops::Op>,
    /// The category lists of an encoder (`OneHotEncoder`'s `cats_strings`; `LabelEncoder`'s and
    /// `CategoryMapper`'s string keys, as a weaker hint), for finding the categories of string
    /// inputs.
    categories: Option<(bool, Vec<String>)>,
    inputs: Vec<Option<usize>>,
    outputs: Vec<usize>,
    describe: String,
}

/// A loaded graph, ready to run.
pub struct Graph {
    inputs: Vec<(Port, usize)>,
    outputs: Vec<(Port, usize)>,
    consts: Vec<(usize, Value)>,
    steps: Vec<Step>,
    n_slots: usize,
    /// Every node's `domain:op_type`, for messages.
    pub op_types: Vec<String>,
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Graph")
            .field("inputs", &self.inputs)
            .field("outputs", &self.outputs)
            .field("nodes", &self.steps.len())
            .finish()
    }
}

/// The attributes of `node` (for reading a graph's parameters outside the interpreter).
pub(crate) fn attrs_of(node: &crate::pb::NodeProto) -> attrs::Attrs<'_> {
    attrs::Attrs::new(node)
}

/// Operators of a graph that no engine here knows, as `domain:op_type` (empty: all known).
pub fn unsupported_ops(graph: &GraphProto) -> Vec<String> {
    let mut missing: Vec<String> = graph
        .node
        .iter()
        .filter(|n| !ops::is_supported(&n.domain, &n.op_type))
        .map(|n| op_name(&n.domain, &n.op_type))
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

/// `domain:op_type`, with the default domain written `ai.onnx`.
pub fn op_name(domain: &str, op_type: &str) -> String {
    let domain = if domain.is_empty() { "ai.onnx" } else { domain };
    format!("{domain}:{op_type}")
}

impl Graph {
    /// Prepares `model`'s main graph: parses every node's attributes once and checks that every
    /// value a node reads is defined before it.
    pub fn new(model: &ModelProto) -> Result<Graph> {
        let graph = model
            .graph
            .as_ref()
            .ok_or_else(|| OnnxError::Invalid("the model has no graph".into()))?;
        let opset = model
            .opset_import
            .iter()
            .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
            .map_or(1, |o| o.version);
        let missing = unsupported_ops(graph);
        if !missing.is_empty() {
            return Err(OnnxError::Unsupported(format!(
                "the graph uses operators neither tract nor Smelt's ONNX interpreter supports: {}",
                missing.join(", ")
            )));
        }
        let mut slots: HashMap<String, usize> = HashMap::new();
        let slot = |name: &str, slots: &mut HashMap<String, usize>| -> usize {
            let n = slots.len();
            *slots.entry(name.to_string()).or_insert(n)
        };
        let mut consts = Vec::new();
        for init in &graph.initializer {
            let s = slot(&init.name, &mut slots);
            consts.push((s, Value::Tensor(Tensor::from_proto(init)?)));
        }
        let mut inputs = Vec::new();
        for i in &graph.input {
            if slots.contains_key(&i.name) {
                continue; // an initializer listed as an input too (older exporters do it)
            }
            let s = slot(&i.name, &mut slots);
            inputs.push((Port::from_value_info(i), s));
        }
        let mut steps = Vec::new();
        let mut op_types = Vec::new();
        for node in &graph.node {
            let describe = attrs::describe(node);
            let mut ins = Vec::new();
            for name in &node.input {
                if name.is_empty() {
                    ins.push(None);
                    continue;
                }
                let Some(&s) = slots.get(name) else {
                    return Err(OnnxError::Invalid(format!(
                        "{describe} reads `{name}`, which no graph input, initializer or earlier node defines"
                    )));
                };
                ins.push(Some(s));
            }
            let op = ops::build(node, opset)?;
            let a = attrs::Attrs::new(node);
            let categories = match (node.domain.as_str(), node.op_type.as_str()) {
                ("ai.onnx.ml", "OneHotEncoder") => Some((true, a.strings("cats_strings"))),
                ("ai.onnx.ml", "CategoryMapper") => Some((false, a.strings("cats_strings"))),
                ("ai.onnx.ml", "LabelEncoder") => {
                    let mut k = a.strings("keys_strings");
                    k.extend(a.strings("classes_strings"));
                    Some((false, k))
                }
                _ => None,
            }
            .filter(|(_, c)| !c.is_empty());
            let outs = node.output.iter().map(|o| slot(o, &mut slots)).collect();
            op_types.push(op_name(&node.domain, &node.op_type));
            steps.push(Step {
                op,
                categories,
                inputs: ins,
                outputs: outs,
                describe,
            });
        }
        let mut outputs = Vec::new();
        for o in &graph.output {
            let Some(&s) = slots.get(&o.name) else {
                return Err(OnnxError::Invalid(format!(
                    "graph output `{}` is produced by no node",
                    o.name
                )));
            };
            outputs.push((Port::from_value_info(o), s));
        }
        op_types.sort();
        op_types.dedup();
        Ok(Graph {
            inputs,
            outputs,
            consts,
            steps,
            n_slots: slots.len(),
            op_types,
        })
    }

    /// The graph's inputs (initializers excluded).
    pub fn inputs(&self) -> impl Iterator<Item = &Port> {
        self.inputs.iter().map(|(p, _)| p)
    }

    /// The graph's outputs.
    pub fn outputs(&self) -> impl Iterator<Item = &Port> {
        self.outputs.iter().map(|(p, _)| p)
    }

    /// Runs the graph on `inputs` (one per graph input, by name) and returns every graph output,
    /// in declaration order.
    pub fn run(&self, inputs: Vec<(String, Value)>) -> Result<Vec<(String, Value)>> {
        self.exec(inputs, |_, _| {})
    }

    /// The categories of each string input, found by running one probe row in which every
    /// string input holds its own marker and seeing which encoders (`OneHotEncoder`, else
    /// `LabelEncoder`/`CategoryMapper`) read which marker. An input no encoder reads is left out.
    pub fn string_categories(&self) -> HashMap<String, Vec<String>> {
        let marker = |i: usize| format!("\u{1}smelt-probe-{i}");
        let mut probe = Vec::new();
        for (i, (port, _)) in self.inputs.iter().enumerate() {
            let mut shape: Vec<usize> = port.shape.iter().map(|d| d.unwrap_or(1)).collect();
            if shape.is_empty() {
                shape = vec![1, 1];
            }
            shape[0] = 1;
            let n: usize = shape.iter().product();
            let data = match port.elem_type {
                Some(ElemType::Str) => tensor::Data::Str(vec![marker(i); n]),
                Some(t) => tensor::Data::from_f64(vec![0.0; n], t),
                None => return HashMap::new(),
            };
            probe.push((port.name.clone(), Value::Tensor(Tensor { shape, data })));
        }
        let mut strong: HashMap<String, Vec<String>> = HashMap::new();
        let mut weak: HashMap<String, Vec<String>> = HashMap::new();
        let names: Vec<(String, String)> = self
            .inputs
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| p.elem_type == Some(ElemType::Str))
            .map(|(i, (p, _))| (marker(i), p.name.clone()))
            .collect();
        let _ = self.exec(probe, |step, args| {
            let Some((is_strong, cats)) = &step.categories else {
                return;
            };
            let Some(Some(Value::Tensor(Tensor {
                data: tensor::Data::Str(seen),
                ..
            }))) = args.first()
            else {
                return;
            };
            for (m, name) in &names {
                if seen.contains(m) {
                    let into = if *is_strong { &mut strong } else { &mut weak };
                    let list = into.entry(name.clone()).or_default();
                    for c in cats {
                        if !list.contains(c) {
                            list.push(c.clone());
                        }
                    }
                }
            }
        });
        for (name, cats) in weak {
            strong.entry(name).or_insert(cats);
        }
        strong
    }

    fn exec(
        &self,
        inputs: Vec<(String, Value)>,
        mut tap: impl FnMut(&Step, &[Option<&Value>]),
    ) -> Result<Vec<(String, Value)>> {
        let mut values: Vec<Option<Cow<'_, Value>>> = vec![None; self.n_slots];
        for (s, v) in &self.consts {
            values[*s] = Some(Cow::Borrowed(v));
        }
        let mut given: HashMap<String, Value> = inputs.into_iter().collect();
        for (port, s) in &self.inputs {
            let Some(v) = given.remove(&port.name) else {
                return Err(OnnxError::Run(format!(
                    "no value for graph input `{}`",
                    port.name
                )));
            };
            values[*s] = Some(Cow::Owned(v));
        }
        if let Some(name) = given.keys().next() {
            return Err(OnnxError::Run(format!("the graph has no input `{name}`")));
        }
        for step in &self.steps {
            let args: Vec<Option<&Value>> = step
                .inputs
                .iter()
                .map(|s| s.and_then(|s| values[s].as_deref()))
                .collect();
            tap(step, &args);
            let outs = step
                .op
                .run(&args)
                .map_err(|e| OnnxError::Run(format!("{}: {}", step.describe, strip(e))))?;
            for (s, v) in step.outputs.iter().zip(outs) {
                values[*s] = Some(Cow::Owned(v));
            }
        }
        self.outputs
            .iter()
            .map(|(port, s)| match values[*s].take() {
                Some(v) => Ok((port.name.clone(), v.into_owned())),
                None => Err(OnnxError::Run(format!(
                    "graph output `{}` was not computed",
                    port.name
                ))),
            })
            .collect()
    }
}

fn strip(e: OnnxError) -> String {
    match e {
        OnnxError::Run(m) | OnnxError::Invalid(m) | OnnxError::Unsupported(m) => m,
        other => other.to_string(),
    }
}
