//! [`OnnxModel`]: an ONNX file scored as a Smelt [`Predictor`].

use std::path::Path;
use std::sync::Arc;

use prost::Message;
use smelt_core::ArtifactWriter;
use smelt_core::CoreError;
use smelt_core::model::{Output, Prediction, Predictor, Proba};
use smelt_core::{Dataset, Feature, FeatureKind};

use crate::error::{OnnxError, Result};
use crate::interp::tensor::{Data, ElemType, MapKeys, Tensor, Value};
use crate::interp::{Graph, Port};
use crate::pb::ModelProto;
use crate::signature::{Outputs, Signature, signature};

use tract_onnx::prelude::{
    Framework, InferenceFact, InferenceModelExt, IntoRunnable, IntoTValue, TValue,
    TypedRunnableModel, tvec,
};

/// Which engine scores a model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// tract: graphs of standard ONNX operators only (neural nets, linear algebra).
    Tract,
    /// Smelt's interpreter ([`crate::interp`]): graphs with ONNX-ML operators.
    Interpreter,
}

impl Engine {
    /// Its name in messages and model metadata.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Tract => "tract",
            Engine::Interpreter => "smelt-onnx interpreter",
        }
    }
}

enum Runner {
    Tract(Arc<TypedRunnableModel>),
    Interp(Graph),
}

/// An ONNX model, ready to score.
pub struct OnnxModel {
    runner: Runner,
    engine: Engine,
    signature: Signature,
    ops: Vec<String>,
    producer: String,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel")
            .field("engine", &self.engine)
            .field("producer", &self.producer)
            .field("features", &self.signature.features.len())
            .field("ops", &self.ops)
            .finish()
    }
}

fn decode(bytes: &[u8]) -> Result<ModelProto> {
    ModelProto::decode(bytes).map_err(|e| OnnxError::Decode(e.to_string()))
}

impl OnnxModel {
    /// Loads an `.onnx` file.
    pub fn load(path: &Path) -> Result<OnnxModel> {
        let bytes = std::fs::read(path).map_err(|source| OnnxError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        OnnxModel::from_bytes(&bytes).map_err(|e| match e {
            OnnxError::Io { .. } => e,
            other => OnnxError::Invalid(format!("{}: {other}", path.display())),
        })
    }

    /// Loads a model from its bytes, choosing the engine: tract when every operator is a
    /// standard one and every input numeric, else Smelt's interpreter.
    pub fn from_bytes(bytes: &[u8]) -> Result<OnnxModel> {
        let proto = decode(bytes)?;
        let graph = proto
            .graph
            .as_ref()
            .ok_or_else(|| OnnxError::Invalid("the model has no graph".into()))?;
        let standard = graph
            .node
            .iter()
            .all(|n| n.domain.is_empty() || n.domain == "ai.onnx");
        let engine = if standard {
            Engine::Tract
        } else {
            Engine::Interpreter
        };
        OnnxModel::with_proto(proto, engine)
    }

    /// Loads a model on the given engine (tests compare the two on standard graphs).
    pub fn from_bytes_with(bytes: &[u8], engine: Engine) -> Result<OnnxModel> {
        OnnxModel::with_proto(decode(bytes)?, engine)
    }

    fn with_proto(proto: ModelProto, engine: Engine) -> Result<OnnxModel> {
        // The interpreter's graph reads the ports and finds string categories, for both engines.
        let graph = Graph::new(&proto);
        let (graph, ports_in, ports_out) = match graph {
            Ok(g) => {
                let i: Vec<Port> = g.inputs().cloned().collect();
                let o: Vec<Port> = g.outputs().cloned().collect();
                (Some(g), i, o)
            }
            // tract may run a standard graph the interpreter cannot prepare.
            Err(_) if engine == Engine::Tract => {
                let g = proto
                    .graph
                    .as_ref()
                    .ok_or_else(|| OnnxError::Invalid("the model has no graph".into()))?;
                let inits: Vec<&str> = g.initializer.iter().map(|t| t.name.as_str()).collect();
                let i = g
                    .input
                    .iter()
                    .filter(|v| !inits.contains(&v.name.as_str()))
                    .map(Port::from_value_info)
                    .collect();
                let o = g.output.iter().map(Port::from_value_info).collect();
                (None, i, o)
            }
            Err(e) => return Err(e),
        };
        let categories = graph
            .as_ref()
            .map(Graph::string_categories)
            .unwrap_or_default();
        let init = |name: &str| {
            proto
                .graph
                .as_ref()?
                .initializer
                .iter()
                .find(|t| t.name == name)
                .and_then(|t| Tensor::from_proto(t).ok())
        };
        let signature = signature(&proto, &ports_in, &ports_out, &categories, init)?;
        let ops = match &graph {
            Some(g) => g.op_types.clone(),
            None => {
                let mut v: Vec<String> = proto
                    .graph
                    .iter()
                    .flat_map(|g| &g.node)
                    .map(|n| crate::interp::op_name(&n.domain, &n.op_type))
                    .collect();
                v.sort();
                v.dedup();
                v
            }
        };
        let producer = format!("{} {}", proto.producer_name, proto.producer_version)
            .trim()
            .to_string();
        let runner = match engine {
            // With the interpreter, a graph that failed to prepare returned its error above.
            Engine::Interpreter => Runner::Interp(graph.ok_or_else(|| {
                OnnxError::Invalid("the interpreter could not prepare the graph".into())
            })?),
            Engine::Tract => Runner::Tract(tract_plan(&proto, &signature)?),
        };
        Ok(OnnxModel {
            runner,
            engine,
            signature,
            ops,
            producer,
        })
    }

    /// The engine scoring it.
    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The graph's operators, as sorted `domain:op_type`.
    pub fn ops(&self) -> &[String] {
        &self.ops
    }

    /// The tool that wrote the file (`skl2onnx 1.20.0`).
    pub fn producer(&self) -> &str {
        &self.producer
    }

    /// Runs the graph on `data`'s features and returns its raw outputs by name.
    pub fn run(&self, data: &Dataset<f64>) -> Result<Vec<(String, Value)>> {
        let data = data
            .conform(&self.signature.features, smelt_core::UnknownCategory::Error)
            .map_err(|e| OnnxError::Run(e.to_string()))?;
        let n = data.n_rows();
        let mut inputs = Vec::with_capacity(self.signature.inputs.len());
        for spec in &self.signature.inputs {
            let cols = spec.first..spec.first + spec.width;
            let shape = if spec.two_d {
                vec![n, spec.width]
            } else {
                vec![n]
            };
            let mut vals = Vec::with_capacity(n * spec.width);
            for i in 0..n {
                for j in cols.clone() {
                    vals.push(if data.is_missing(i, j) {
                        f64::NAN
                    } else {
                        data.column(j)[i]
                    });
                }
            }
            let tensor_data = match spec.elem {
                ElemType::Str => {
                    let mut out = Vec::with_capacity(vals.len());
                    for (k, &v) in vals.iter().enumerate() {
                        let j = spec.first + k % spec.width;
                        let FeatureKind::Categorical { categories } =
                            &self.signature.features[j].kind
                        else {
                            return Err(OnnxError::Run("a string input without categories".into()));
                        };
                        out.push(if v.is_nan() {
                            String::new()
                        } else {
                            categories.get(v as usize).cloned().unwrap_or_default()
                        });
                    }
                    Data::Str(out)
                }
                ElemType::I64 | ElemType::I32 | ElemType::Bool => {
                    if let Some(k) = vals.iter().position(|v| v.is_nan()) {
                        return Err(OnnxError::Run(format!(
                            "row {}: `{}` is missing, and the model's input `{}` is {} (it cannot hold a missing value)",
                            k / spec.width,
                            self.signature.features[spec.first + k % spec.width].name,
                            spec.name,
                            spec.elem.name()
                        )));
                    }
                    Data::from_f64(vals, spec.elem)
                }
                t => Data::from_f64(vals, t),
            };
            inputs.push((
                spec.name.clone(),
                Value::Tensor(Tensor::new(shape, tensor_data)?),
            ));
        }
        match &self.runner {
            Runner::Interp(g) => g.run(inputs),
            Runner::Tract(plan) => run_tract(plan, inputs),
        }
    }
}

fn tract_err(e: impl std::fmt::Display) -> OnnxError {
    OnnxError::Run(format!("tract: {e:#}"))
}

/// tract's optimised plan, with the batch axis symbolic.
fn tract_plan(proto: &ModelProto, sig: &Signature) -> Result<Arc<TypedRunnableModel>> {
    let onnx = tract_onnx::onnx();
    let mut model = onnx
        .model_for_proto_model(proto)
        .map_err(|e| OnnxError::Unsupported(format!("tract cannot load the graph: {e:#}")))?;
    let batch = model.symbols.sym("N");
    for (i, spec) in sig.inputs.iter().enumerate() {
        let dt = match spec.elem {
            ElemType::F32 => f32::datum_type_of(),
            ElemType::F64 => f64::datum_type_of(),
            ElemType::I64 => i64::datum_type_of(),
            ElemType::I32 => i32::datum_type_of(),
            ElemType::Bool => bool::datum_type_of(),
            ElemType::Str => {
                return Err(OnnxError::Unsupported(
                    "tract does not take string inputs".into(),
                ));
            }
        };
        let shape: Vec<tract_onnx::prelude::TDim> = if spec.two_d {
            vec![batch.clone().into(), (spec.width as i64).into()]
        } else {
            vec![batch.clone().into()]
        };
        model
            .set_input_fact(i, InferenceFact::dt_shape(dt, shape))
            .map_err(tract_err)?;
    }
    model
        .into_optimized()
        .and_then(|m| m.into_runnable())
        .map_err(|e| OnnxError::Unsupported(format!("tract cannot prepare the graph: {e:#}")))
}

trait DatumOf {
    fn datum_type_of() -> tract_onnx::prelude::DatumType;
}

impl<T: tract_onnx::prelude::Datum> DatumOf for T {
    fn datum_type_of() -> tract_onnx::prelude::DatumType {
        T::datum_type()
    }
}

fn run_tract(
    plan: &Arc<TypedRunnableModel>,
    inputs: Vec<(String, Value)>,
) -> Result<Vec<(String, Value)>> {
    let mut tv: tract_onnx::prelude::TVec<TValue> = tvec![];
    for (_, v) in &inputs {
        let t = v.tensor("input")?;
        let tt = match &t.data {
            Data::F32(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, d),
            Data::F64(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, d),
            Data::I64(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, d),
            Data::I32(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, d),
            Data::Bool(d) => tract_onnx::prelude::Tensor::from_shape(&t.shape, d),
            Data::Str(_) => return Err(OnnxError::Run("tract does not take string inputs".into())),
        }
        .map_err(tract_err)?;
        tv.push(tt.into_tvalue());
    }
    let outs = plan.run(tv).map_err(tract_err)?;
    let names: Vec<String> = plan
        .model()
        .output_outlets()
        .map_err(tract_err)?
        .iter()
        .map(|o| {
            plan.model()
                .outlet_label(*o)
                .map(str::to_string)
                .unwrap_or_else(|| plan.model().node(o.node).name.clone())
        })
        .collect();
    let mut result = Vec::with_capacity(outs.len());
    for (name, o) in names.into_iter().zip(outs) {
        let shape = o.shape().to_vec();
        use tract_onnx::prelude::DatumType as D;
        let data = match o.datum_type() {
            D::F32 => Data::F32(
                o.cast_to::<f32>()
                    .map_err(tract_err)?
                    .to_plain_array_view::<f32>()
                    .map_err(tract_err)?
                    .iter()
                    .copied()
                    .collect(),
            ),
            D::F64 => Data::F64(
                o.cast_to::<f64>()
                    .map_err(tract_err)?
                    .to_plain_array_view::<f64>()
                    .map_err(tract_err)?
                    .iter()
                    .copied()
                    .collect(),
            ),
            D::Bool => Data::Bool(
                o.to_plain_array_view::<bool>()
                    .map_err(tract_err)?
                    .iter()
                    .copied()
                    .collect(),
            ),
            D::I32 => Data::I32(
                o.cast_to::<i32>()
                    .map_err(tract_err)?
                    .to_plain_array_view::<i32>()
                    .map_err(tract_err)?
                    .iter()
                    .copied()
                    .collect(),
            ),
            _ => Data::I64(
                o.cast_to::<i64>()
                    .map_err(tract_err)?
                    .to_plain_array_view::<i64>()
                    .map_err(tract_err)?
                    .iter()
                    .copied()
                    .collect(),
            ),
        };
        result.push((name, Value::Tensor(Tensor::new(shape, data)?)));
    }
    Ok(result)
}

impl OnnxModel {
    /// Scores `data`: the raw outputs read as a Smelt prediction.
    pub fn predict_onnx(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let n = data.n_rows();
        let outs = self.run(data)?;
        let get = |name: &str| {
            outs.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v)
                .ok_or_else(|| OnnxError::Run(format!("the graph did not return `{name}`")))
        };
        match &self.signature.outputs {
            Outputs::Regressor { value } => {
                let t = get(value)?.tensor(value)?;
                let width = t.len().checked_div(n).unwrap_or(1);
                let v = t.data.to_f64()?;
                Ok(Prediction::Regression {
                    values: (0..n).map(|i| v[i * width.max(1)]).collect(),
                })
            }
            Outputs::Classifier {
                classes,
                label,
                proba,
            } => {
                let proba = match proba {
                    Some(name) => Some(match get(name)? {
                        Value::Maps { keys, values } => {
                            let k = match keys {
                                MapKeys::Str(v) => v.len(),
                                MapKeys::I64(v) => v.len(),
                            };
                            Proba {
                                n_classes: k,
                                values: values.iter().map(|&v| f64::from(v)).collect(),
                            }
                        }
                        Value::Tensor(t) => Proba {
                            n_classes: classes.len(),
                            values: t.data.to_f64()?,
                        },
                    }),
                    None => None,
                };
                if let Some(p) = &proba
                    && (p.n_classes != classes.len() || p.values.len() != n * classes.len())
                {
                    return Err(OnnxError::Run(format!(
                        "the probabilities have {} values for {n} rows and {} classes",
                        p.values.len(),
                        classes.len()
                    )));
                }
                let labels: Vec<u32> = match label {
                    Some(name) => {
                        let t = get(name)?.tensor(name)?;
                        let text: Vec<String> = match &t.data {
                            Data::Str(v) => v.clone(),
                            d => d.to_i64()?.iter().map(i64::to_string).collect(),
                        };
                        text.iter()
                            .map(|l| {
                                classes.iter().position(|c| c == l).map(|p| p as u32).ok_or_else(
                                    || {
                                        OnnxError::Run(format!(
                                            "the model predicted `{l}`, which is not one of its classes ({})",
                                            classes.join(", ")
                                        ))
                                    },
                                )
                            })
                            .collect::<Result<_>>()?
                    }
                    None => proba.as_ref().map(Proba::argmax).unwrap_or_default(),
                };
                if labels.len() != n {
                    return Err(OnnxError::Run(format!(
                        "the graph returned {} labels for {n} rows",
                        labels.len()
                    )));
                }
                Ok(Prediction::Classification {
                    labels,
                    classes: classes.clone(),
                    proba,
                })
            }
        }
    }
}

impl Predictor for OnnxModel {
    fn kind(&self) -> &str {
        "onnx"
    }

    fn input_features(&self) -> &[Feature] {
        &self.signature.features
    }

    fn output(&self) -> Output {
        self.signature.output()
    }

    fn predict(&self, data: &Dataset<f64>) -> smelt_core::Result<Prediction> {
        self.predict_onnx(data).map_err(CoreError::from)
    }

    fn save(&self, _: &mut ArtifactWriter) -> smelt_core::Result<()> {
        Err(CoreError::Engine {
            engine: "onnx",
            message: "an ONNX model is served and scored from its .onnx file; it is not saved as a Smelt model (export Smelt models to ONNX with `smelt export`)".into(),
        })
    }
}
