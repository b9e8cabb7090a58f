//! A served model's signature: its inputs (names, types, allowed categories, whether missing
//! values are accepted), its outputs and class labels. Shown at `/v2/models/{name}` and used to
//! validate every request before it reaches the model.

use serde::Serialize;
use smelt_core::{Feature, FeatureKind, LogicalType, Output, Predictor, SharedFeatures};

/// Name of the output holding the predicted value, class label or cluster id (as MLServer's
/// scikit-learn runtime names it).
pub const PREDICT: &str = "predict";
/// Name of the output holding class probabilities, `[rows, classes]`.
pub const PREDICT_PROBA: &str = "predict_proba";
/// Name of the output holding an embedding model's vectors, FP32 `[rows, dim]`.
pub const EMBEDDING: &str = "embedding";

/// What a model takes and returns.
#[derive(Clone, Debug, Serialize)]
pub struct Signature {
    /// The input features, in the model's order.
    pub inputs: Vec<InputSpec>,
    /// The outputs.
    pub outputs: Vec<OutputSpec>,
    /// `classification`, `regression`, `clustering` or `embedding`.
    pub task: &'static str,
    /// Class labels in the order of `predict_proba`'s columns (classifiers only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<String>>,
}

/// One input feature.
#[derive(Clone, Debug, Serialize)]
pub struct InputSpec {
    /// Column name.
    pub name: String,
    /// Open Inference Protocol datatype a client sends it as (`FP64`, `INT64`, `BOOL`, `BYTES`).
    pub datatype: &'static str,
    /// Always `[-1]`: one value per row.
    pub shape: Vec<i64>,
    /// Smelt's logical type (`numeric`, `integer`, `boolean`, `categorical`, `datetime`,
    /// `text` — free text, for text models).
    #[serde(rename = "type")]
    pub ltype: LogicalType,
    /// The values a categorical feature accepts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub categories: Option<Vec<String>>,
    /// Whether `null` (a missing value) is accepted.
    pub nullable: bool,
}

/// One output.
#[derive(Clone, Debug, Serialize)]
pub struct OutputSpec {
    /// `predict`, `predict_proba` or `embedding`.
    pub name: &'static str,
    /// Its datatype.
    pub datatype: &'static str,
    /// `[-1]`, `[-1, classes]` for probabilities or `[-1, dim]` for embeddings.
    pub shape: Vec<i64>,
}

impl Signature {
    /// The signature of `model`. Whether missing values are accepted is found by scoring one row
    /// of missing values: pipelines with imputers and tree models take them, bare linear models
    /// do not.
    pub fn of(model: &dyn Predictor) -> Signature {
        let features = model.input_features();
        let nullable = accepts_missing(model);
        let inputs = features
            .iter()
            .map(|f| InputSpec {
                name: f.name.clone(),
                datatype: datatype(f),
                shape: vec![-1],
                ltype: f.ltype,
                categories: match &f.kind {
                    FeatureKind::Categorical { categories } => Some(categories.clone()),
                    FeatureKind::Numeric => None,
                },
                nullable,
            })
            .collect();
        let (task, classes, outputs) = match model.output() {
            Output::Regression => (
                "regression",
                None,
                vec![OutputSpec {
                    name: PREDICT,
                    datatype: "FP64",
                    shape: vec![-1],
                }],
            ),
            Output::Classification { classes, has_proba } => {
                let mut outputs = vec![OutputSpec {
                    name: PREDICT,
                    datatype: "BYTES",
                    shape: vec![-1],
                }];
                if has_proba {
                    outputs.push(OutputSpec {
                        name: PREDICT_PROBA,
                        datatype: "FP64",
                        shape: vec![-1, classes.len() as i64],
                    });
                }
                ("classification", Some(classes), outputs)
            }
            Output::Clustering => (
                "clustering",
                None,
                vec![OutputSpec {
                    name: PREDICT,
                    datatype: "INT64",
                    shape: vec![-1],
                }],
            ),
            Output::Embedding { dim } => (
                "embedding",
                None,
                vec![OutputSpec {
                    name: EMBEDDING,
                    datatype: "FP32",
                    shape: vec![-1, dim as i64],
                }],
            ),
        };
        Signature {
            inputs,
            outputs,
            task,
            classes,
        }
    }

    /// Whether every input accepts missing values.
    pub fn nullable(&self) -> bool {
        self.inputs.iter().all(|i| i.nullable)
    }
}

fn datatype(f: &Feature) -> &'static str {
    match (&f.kind, f.ltype) {
        (FeatureKind::Categorical { .. }, _) => "BYTES",
        (_, LogicalType::Integer) => "INT64",
        (_, LogicalType::Boolean) => "BOOL",
        (_, LogicalType::Datetime | LogicalType::Text) => "BYTES",
        _ => "FP64",
    }
}

fn accepts_missing(model: &dyn Predictor) -> bool {
    let Ok(features) = SharedFeatures::new(model.input_features().to_vec()) else {
        return false;
    };
    let k = features.len();
    // One row of missing values (free text missing too).
    match crate::decode::Rows::numeric(1, vec![f64::NAN; k]).into_dataset(&features) {
        Ok(row) => model.predict(&row).is_ok(),
        Err(_) => false,
    }
}
