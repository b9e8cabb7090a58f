//! The graph under construction: nodes in order, constants (initializers), unique value names,
//! and the ONNX messages they become.

use std::collections::HashSet;

use crate::pb::tensor_proto::DataType;
use crate::pb::tensor_shape_proto::{Dimension, dimension};
use crate::pb::{
    AttributeProto, NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
    attribute_proto::AttributeType, type_proto,
};

/// The ONNX-ML operator domain.
pub(crate) const ML: &str = "ai.onnx.ml";

/// Nodes and constants of the graph being written.
#[derive(Debug, Default)]
pub(crate) struct Graph {
    pub(crate) nodes: Vec<NodeProto>,
    pub(crate) initializers: Vec<TensorProto>,
    names: HashSet<String>,
    next: usize,
}

impl Graph {
    /// Marks `name` as taken (graph inputs and outputs), so no internal value gets it.
    pub(crate) fn reserve(&mut self, name: &str) -> bool {
        self.names.insert(name.to_string())
    }

    /// A new value name starting with `hint`, unlike every name so far.
    pub(crate) fn fresh(&mut self, hint: &str) -> String {
        loop {
            let name = format!("{hint}_{}", self.next);
            self.next += 1;
            if self.names.insert(name.clone()) {
                return name;
            }
        }
    }

    /// Appends a node of the default domain with one output, named after `op`.
    pub(crate) fn op(&mut self, op: &str, inputs: &[&str], attrs: Vec<AttributeProto>) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.push(op, "", inputs, &[&out], attrs);
        out
    }

    /// Appends a node of the ONNX-ML domain with one output.
    pub(crate) fn ml_op(
        &mut self,
        op: &str,
        inputs: &[&str],
        attrs: Vec<AttributeProto>,
    ) -> String {
        let out = self.fresh(&op.to_lowercase());
        self.push(op, ML, inputs, &[&out], attrs);
        out
    }

    /// Appends a node writing the given (already reserved) output names.
    pub(crate) fn push(
        &mut self,
        op: &str,
        domain: &str,
        inputs: &[&str],
        outputs: &[&str],
        attribute: Vec<AttributeProto>,
    ) {
        let name = format!("{}_{}", op, self.nodes.len());
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: outputs.iter().map(|s| s.to_string()).collect(),
            name,
            op_type: op.to_string(),
            domain: domain.to_string(),
            attribute,
            ..NodeProto::default()
        });
    }

    fn constant(&mut self, hint: &str, mut t: TensorProto) -> String {
        let name = self.fresh(hint);
        t.name = name.clone();
        self.initializers.push(t);
        name
    }

    /// A `double` constant of shape `dims` (row-major `values`).
    pub(crate) fn f64s(&mut self, hint: &str, dims: &[usize], values: &[f64]) -> String {
        let t = TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Double as i32,
            double_data: values.to_vec(),
            ..TensorProto::default()
        };
        self.constant(hint, t)
    }

    /// A `double` scalar constant.
    pub(crate) fn f64_scalar(&mut self, hint: &str, v: f64) -> String {
        self.f64s(hint, &[], &[v])
    }

    /// An `int64` constant of shape `dims`.
    pub(crate) fn i64s(&mut self, hint: &str, dims: &[usize], values: &[i64]) -> String {
        let t = TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: DataType::Int64 as i32,
            int64_data: values.to_vec(),
            ..TensorProto::default()
        };
        self.constant(hint, t)
    }

    /// An `int64` scalar constant.
    pub(crate) fn i64_scalar(&mut self, hint: &str, v: i64) -> String {
        self.i64s(hint, &[], &[v])
    }

    /// A 1-D `string` constant.
    pub(crate) fn strings(&mut self, hint: &str, values: &[String]) -> String {
        let t = TensorProto {
            dims: vec![values.len() as i64],
            data_type: DataType::String as i32,
            string_data: values.iter().map(|s| s.as_bytes().to_vec()).collect(),
            ..TensorProto::default()
        };
        self.constant(hint, t)
    }

    /// `x` reshaped to `shape` (one entry may be -1).
    pub(crate) fn reshape(&mut self, x: &str, shape: &[i64]) -> String {
        let s = self.i64s("shape", &[shape.len()], shape);
        self.op("Reshape", &[x, &s], vec![])
    }

    /// `x` cast to `to`.
    pub(crate) fn cast(&mut self, x: &str, to: DataType) -> String {
        self.op("Cast", &[x], vec![int("to", to as i64)])
    }
}

/// An integer attribute.
pub(crate) fn int(name: &str, v: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: v,
        ..AttributeProto::default()
    }
}

/// An attribute of integers.
pub(crate) fn ints(name: &str, v: Vec<i64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: v,
        ..AttributeProto::default()
    }
}

/// An attribute of floats.
pub(crate) fn floats(name: &str, v: Vec<f32>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Floats as i32,
        floats: v,
        ..AttributeProto::default()
    }
}

/// A string attribute.
pub(crate) fn string(name: &str, v: &str) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::String as i32,
        s: v.as_bytes().to_vec(),
        ..AttributeProto::default()
    }
}

/// An attribute of strings.
pub(crate) fn strings(name: &str, v: &[String]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Strings as i32,
        strings: v.iter().map(|s| s.as_bytes().to_vec()).collect(),
        ..AttributeProto::default()
    }
}

/// A tensor attribute holding a 1-D `double` tensor (`*_as_tensor` attributes of ONNX-ML).
pub(crate) fn f64_tensor(name: &str, v: Vec<f64>) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Tensor as i32,
        t: Some(TensorProto {
            dims: vec![v.len() as i64],
            data_type: DataType::Double as i32,
            double_data: v,
            ..TensorProto::default()
        }),
        ..AttributeProto::default()
    }
}

/// A graph input or output: a tensor of `elem` with dimensions `dims` (`None`: the batch
/// dimension `N`).
pub(crate) fn value_info(name: &str, elem: DataType, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None => dimension::Value::DimParam("N".into()),
            }),
            ..Dimension::default()
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
            ..TypeProto::default()
        }),
        ..ValueInfoProto::default()
    }
}
