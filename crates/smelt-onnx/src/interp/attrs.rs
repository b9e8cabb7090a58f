//! Reading a node's attributes, with errors that name the node.

use crate::error::{OnnxError, Result};
use crate::interp::tensor::Tensor;
use crate::pb::{AttributeProto, NodeProto};

/// A node's attributes.
pub(crate) struct Attrs<'a> {
    node: &'a NodeProto,
}

impl<'a> Attrs<'a> {
    pub(crate) fn new(node: &'a NodeProto) -> Self {
        Attrs { node }
    }

    /// The node's operator.
    pub(crate) fn op_type(&self) -> &'a str {
        &self.node.op_type
    }

    /// `node `NAME` (OpType)`, for messages.
    pub(crate) fn describe(&self) -> String {
        describe(self.node)
    }

    fn get(&self, name: &str) -> Option<&'a AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    /// Whether the attribute is present.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.get(name).map(|a| a.i)
    }

    pub(crate) fn int_or(&self, name: &str, default: i64) -> i64 {
        self.int(name).unwrap_or(default)
    }

    pub(crate) fn float(&self, name: &str) -> Option<f32> {
        self.get(name).map(|a| a.f)
    }

    pub(crate) fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(|a| String::from_utf8_lossy(&a.s).into_owned())
    }

    pub(crate) fn floats(&self, name: &str) -> Vec<f32> {
        self.get(name).map(|a| a.floats.clone()).unwrap_or_default()
    }

    pub(crate) fn ints(&self, name: &str) -> Vec<i64> {
        self.get(name).map(|a| a.ints.clone()).unwrap_or_default()
    }

    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        self.get(name)
            .map(|a| {
                a.strings
                    .iter()
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn tensor(&self, name: &str) -> Result<Option<Tensor>> {
        match self.get(name).and_then(|a| a.t.as_ref()) {
            Some(t) => Tensor::from_proto(t).map(Some),
            None => Ok(None),
        }
    }

    /// A list of reals given either as `NAME` (floats) or `NAME_as_tensor` (a double tensor, as
    /// ai.onnx.ml opset 3 allows), read as `f64`.
    pub(crate) fn reals(&self, name: &str) -> Result<Vec<f64>> {
        if let Some(t) = self.tensor(&format!("{name}_as_tensor"))? {
            return t.data.to_f64();
        }
        Ok(self.floats(name).into_iter().map(f64::from).collect())
    }

    /// An error about this node.
    pub(crate) fn invalid(&self, what: impl std::fmt::Display) -> OnnxError {
        OnnxError::Invalid(format!("{}: {what}", self.describe()))
    }
}

/// `node `NAME` (OpType)`.
pub(crate) fn describe(node: &NodeProto) -> String {
    let op = if node.domain.is_empty() || node.domain == "ai.onnx" {
        node.op_type.clone()
    } else {
        format!("{}:{}", node.domain, node.op_type)
    };
    if node.name.is_empty() {
        format!("node ({op})")
    } else {
        format!("node `{}` ({op})", node.name)
    }
}
