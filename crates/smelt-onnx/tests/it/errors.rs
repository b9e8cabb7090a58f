//! Bad ONNX files and bad inputs get clear errors, never a panic.

use std::path::Path;

use prost::Message;
use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Predictor};
use smelt_onnx::OnnxModel;
use smelt_onnx::pb::{
    GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorShapeProto, TypeProto,
    ValueInfoProto, tensor_shape_proto, type_proto,
};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("{name}.onnx")),
    )
    .expect("fixture")
}

fn tensor_info(name: &str, elem: i32, dims: &[Option<i64>]) -> ValueInfoProto {
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: elem,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|d| tensor_shape_proto::Dimension {
                            value: d.map(tensor_shape_proto::dimension::Value::DimValue),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn model_with(node: NodeProto) -> Vec<u8> {
    ModelProto {
        ir_version: 8,
        opset_import: vec![
            OperatorSetIdProto {
                domain: String::new(),
                version: 17,
            },
            OperatorSetIdProto {
                domain: "com.example".into(),
                version: 1,
            },
        ],
        graph: Some(GraphProto {
            node: vec![node],
            input: vec![tensor_info("x", 1, &[None, Some(3)])],
            output: vec![tensor_info("y", 1, &[None, Some(1)])],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

#[test]
fn garbage_and_truncated_files_are_not_onnx_models() {
    let err = OnnxModel::from_bytes(b"this is a CSV file,\n1,2,3\n").unwrap_err();
    assert!(err.to_string().contains("not an ONNX model"), "{err}");
    let whole = fixture("rf_regressor");
    let err = OnnxModel::from_bytes(&whole[..whole.len() / 2]).unwrap_err();
    assert!(
        err.to_string().contains("not an ONNX model") || err.to_string().contains("invalid"),
        "{err}"
    );
}

#[test]
fn a_missing_file_names_its_path() {
    let err = OnnxModel::load(Path::new("/no/such/model.onnx")).unwrap_err();
    assert!(err.to_string().contains("/no/such/model.onnx"), "{err}");
}

#[test]
fn unknown_operators_are_listed_by_domain_and_name() {
    let bytes = model_with(NodeProto {
        op_type: "FancyOp".into(),
        domain: "com.example".into(),
        input: vec!["x".into()],
        output: vec!["y".into()],
        ..Default::default()
    });
    let err = OnnxModel::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("com.example:FancyOp"), "{err}");
}

#[test]
fn a_node_reading_an_undefined_value_is_reported() {
    let bytes = model_with(NodeProto {
        op_type: "Scaler".into(),
        domain: "ai.onnx.ml".into(),
        name: "scale".into(),
        input: vec!["nowhere".into()],
        output: vec!["y".into()],
        ..Default::default()
    });
    let err = OnnxModel::from_bytes(&bytes).unwrap_err().to_string();
    assert!(err.contains("`scale`") && err.contains("nowhere"), "{err}");
}

#[test]
fn scoring_without_a_feature_names_it() {
    let m = OnnxModel::from_bytes(&fixture("penguins_pipeline")).expect("loads");
    let features = vec![Feature {
        name: "bill_length_mm".into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }];
    let data = Dataset::new(1, vec![40.0], features, None).expect("dataset");
    let err = m.predict(&data).unwrap_err().to_string();
    assert!(err.contains("bill_depth_mm"), "{err}");
}

#[test]
fn an_integer_input_refuses_a_missing_value() {
    let m = OnnxModel::from_bytes(&fixture("int64_categorical_onehot")).expect("loads");
    let features = m.input_features().to_vec();
    let n = features.len();
    let mut values = vec![1.0; n];
    let year = features
        .iter()
        .position(|f| f.name == "year")
        .expect("year");
    values[year] = f64::NAN;
    let data = Dataset::new(1, values, features, None).expect("dataset");
    let err = m.predict(&data).unwrap_err().to_string();
    assert!(err.contains("year") && err.contains("int64"), "{err}");
}
