//! The operators, one family per file, and the table that builds them from a node.

mod broadcast;
mod linear;
mod post;
mod prep;
mod standard;
mod tree;

use std::fmt::Debug;

use crate::error::{OnnxError, Result};
use crate::interp::attrs::Attrs;
use crate::interp::tensor::{Tensor, Value};
use crate::pb::NodeProto;

/// A prepared operator: attributes parsed and checked once.
pub(crate) trait Op: Send + Sync + Debug {
    /// Runs on the node's inputs (`None` for an omitted optional input).
    fn run(&self, inputs: &[Option<&Value>]) -> Result<Vec<Value>>;
}

type Builder = fn(&Attrs<'_>, i64) -> Result<Box<dyn Op>>;

/// Every operator the interpreter runs, as `(domain, op_type)`.
pub const SUPPORTED: &[(&str, &str)] = &[
    ("ai.onnx.ml", "ArrayFeatureExtractor"),
    ("ai.onnx.ml", "Binarizer"),
    ("ai.onnx.ml", "CategoryMapper"),
    ("ai.onnx.ml", "FeatureVectorizer"),
    ("ai.onnx.ml", "Imputer"),
    ("ai.onnx.ml", "LabelEncoder"),
    ("ai.onnx.ml", "LinearClassifier"),
    ("ai.onnx.ml", "LinearRegressor"),
    ("ai.onnx.ml", "Normalizer"),
    ("ai.onnx.ml", "OneHotEncoder"),
    ("ai.onnx.ml", "Scaler"),
    ("ai.onnx.ml", "TreeEnsembleClassifier"),
    ("ai.onnx.ml", "TreeEnsembleRegressor"),
    ("ai.onnx.ml", "ZipMap"),
    ("", "Abs"),
    ("", "Add"),
    ("", "And"),
    ("", "ArgMax"),
    ("", "ArgMin"),
    ("", "Cast"),
    ("", "CastLike"),
    ("", "Ceil"),
    ("", "Clip"),
    ("", "Concat"),
    ("", "Constant"),
    ("", "ConstantOfShape"),
    ("", "Div"),
    ("", "Dropout"),
    ("", "Equal"),
    ("", "Erf"),
    ("", "Exp"),
    ("", "Flatten"),
    ("", "Floor"),
    ("", "Gather"),
    ("", "Gemm"),
    ("", "Greater"),
    ("", "GreaterOrEqual"),
    ("", "Identity"),
    ("", "IsInf"),
    ("", "IsNaN"),
    ("", "LeakyRelu"),
    ("", "Less"),
    ("", "LessOrEqual"),
    ("", "Log"),
    ("", "LogSoftmax"),
    ("", "MatMul"),
    ("", "Max"),
    ("", "Mean"),
    ("", "Min"),
    ("", "Mul"),
    ("", "Neg"),
    ("", "Not"),
    ("", "Or"),
    ("", "Pow"),
    ("", "Reciprocal"),
    ("", "ReduceLogSumExp"),
    ("", "ReduceMax"),
    ("", "ReduceMean"),
    ("", "ReduceMin"),
    ("", "ReduceSum"),
    ("", "ReduceSumSquare"),
    ("", "Relu"),
    ("", "Reshape"),
    ("", "Round"),
    ("", "Shape"),
    ("", "Sigmoid"),
    ("", "Sign"),
    ("", "Slice"),
    ("", "Softmax"),
    ("", "Softplus"),
    ("", "Sqrt"),
    ("", "Squeeze"),
    ("", "Sub"),
    ("", "Sum"),
    ("", "Tanh"),
    ("", "Transpose"),
    ("", "Unsqueeze"),
    ("", "Where"),
    ("", "Xor"),
];

fn norm_domain(domain: &str) -> &str {
    if domain == "ai.onnx" { "" } else { domain }
}

/// Whether the interpreter runs `domain:op_type`.
pub(crate) fn is_supported(domain: &str, op_type: &str) -> bool {
    let d = norm_domain(domain);
    SUPPORTED.iter().any(|&(sd, so)| sd == d && so == op_type)
}

fn builder(domain: &str, op_type: &str) -> Option<Builder> {
    let b: Builder = match (norm_domain(domain), op_type) {
        ("ai.onnx.ml", "ArrayFeatureExtractor") => prep::ArrayFeatureExtractor::build,
        ("ai.onnx.ml", "Binarizer") => prep::Binarizer::build,
        ("ai.onnx.ml", "CategoryMapper") => prep::CategoryMapper::build,
        ("ai.onnx.ml", "FeatureVectorizer") => prep::FeatureVectorizer::build,
        ("ai.onnx.ml", "Imputer") => prep::Imputer::build,
        ("ai.onnx.ml", "LabelEncoder") => prep::LabelEncoder::build,
        ("ai.onnx.ml", "Normalizer") => prep::Normalizer::build,
        ("ai.onnx.ml", "OneHotEncoder") => prep::OneHotEncoder::build,
        ("ai.onnx.ml", "Scaler") => prep::Scaler::build,
        ("ai.onnx.ml", "ZipMap") => prep::ZipMap::build,
        ("ai.onnx.ml", "LinearClassifier") => linear::LinearClassifier::build,
        ("ai.onnx.ml", "LinearRegressor") => linear::LinearRegressor::build,
        ("ai.onnx.ml", "TreeEnsembleClassifier") => tree::TreeEnsemble::build_classifier,
        ("ai.onnx.ml", "TreeEnsembleRegressor") => tree::TreeEnsemble::build_regressor,
        ("", op) => return standard::builder(op),
        _ => return None,
    };
    Some(b)
}

/// Builds the operator of `node` (`opset`: the model's default-domain opset version).
pub(crate) fn build(node: &NodeProto, opset: i64) -> Result<Box<dyn Op>> {
    let attrs = Attrs::new(node);
    let Some(b) = builder(&node.domain, &node.op_type) else {
        return Err(OnnxError::Unsupported(format!(
            "{} is not supported by Smelt's ONNX interpreter",
            attrs.describe()
        )));
    };
    b(&attrs, opset)
}

/// Input `i`, which the operator requires.
pub(crate) fn arg<'a>(inputs: &[Option<&'a Value>], i: usize) -> Result<&'a Tensor> {
    match inputs.get(i).copied().flatten() {
        Some(v) => v.tensor(&format!("input {i}")),
        None => Err(OnnxError::Run(format!("input {i} is missing"))),
    }
}

/// Optional input `i`.
pub(crate) fn opt_arg<'a>(inputs: &[Option<&'a Value>], i: usize) -> Result<Option<&'a Tensor>> {
    match inputs.get(i).copied().flatten() {
        Some(v) => v.tensor(&format!("input {i}")).map(Some),
        None => Ok(None),
    }
}

/// One output tensor.
pub(crate) fn one(t: Tensor) -> Result<Vec<Value>> {
    Ok(vec![Value::Tensor(t)])
}
