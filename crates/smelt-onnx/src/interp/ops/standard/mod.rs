//! The standard ONNX operators tabular exporters emit around the ONNX-ML ones, computed in `f64`
//! and stored in the type each operator outputs: element-wise arithmetic, comparisons, casts and
//! activations (`elementwise.rs`), shapes, concatenation and indexing (`shape.rs`), matrix
//! products, softmax, arg-max and reductions (`math.rs`).

mod elementwise;
mod math;
mod shape;

use elementwise::{Arith, Cast, Clip, Compare, Test, Unary, Variadic, Where};
use math::{ArgMax, Gemm, Reduce, Softmax};
use shape::{
    Concat, Constant, ConstantOfShape, Gather, Identity, Reshape, ShapeOf, Slice, Transpose,
};

use super::Builder;

pub(in crate::interp) fn builder(op: &str) -> Option<Builder> {
    Some(match op {
        "Abs" | "Neg" | "Exp" | "Log" | "Sqrt" | "Relu" | "Sigmoid" | "Tanh" | "Reciprocal"
        | "Floor" | "Ceil" | "Round" | "Sign" | "Erf" | "Softplus" | "LeakyRelu" => Unary::build,
        "Add" | "Sub" | "Mul" | "Div" | "Pow" => Arith::build,
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "And" | "Or" | "Xor" => {
            Compare::build
        }
        "Max" | "Min" | "Sum" | "Mean" => Variadic::build,
        "Not" | "IsNaN" | "IsInf" => Test::build,
        "Where" => |_, _| Ok(Box::new(Where)),
        "Cast" | "CastLike" => Cast::build,
        "Identity" | "Dropout" => |_, _| Ok(Box::new(Identity)),
        "Concat" => Concat::build,
        "Flatten" | "Reshape" | "Squeeze" | "Unsqueeze" => Reshape::build,
        "Transpose" => Transpose::build,
        "Shape" => |_, _| Ok(Box::new(ShapeOf)),
        "Gather" => Gather::build,
        "Slice" => Slice::build,
        "Constant" => Constant::build,
        "ConstantOfShape" => ConstantOfShape::build,
        "MatMul" | "Gemm" => Gemm::build,
        "Softmax" | "LogSoftmax" => Softmax::build,
        "ArgMax" | "ArgMin" => ArgMax::build,
        "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceSumSquare"
        | "ReduceLogSumExp" => Reduce::build,
        "Clip" => Clip::build,
        _ => return None,
    })
}
