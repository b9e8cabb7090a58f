//! Import of gradient-boosted tree models saved by other libraries into the flat
//! [`TreeEnsemble`](crate::ensemble::TreeEnsemble) engine:
//!
//! - [`xgboost::from_json_file`]: XGBoost's JSON model (`Booster.save_model("m.json")`),
//!   objectives `binary:logistic`, `multi:softprob`, `multi:softmax`, `reg:squarederror`.
//! - [`lightgbm::from_text_file`]: LightGBM's text model (`Booster.save_model("m.txt")`),
//!   objectives `binary`, `multiclass`, `regression` (and the other identity-link regressions).
//!
//! The imported model predicts what the library predicts: raw margins equal `output_margin` /
//! `raw_score`, probabilities equal `predict_proba`. Classes are named `"0".."k-1"`, features
//! by the model's feature names. Categorical splits are not supported yet and are reported
//! with the tree and node; so are linear trees, vector leaves and other objectives.
//! Errors on damaged files are [`CoreError::Artifact`] naming the file, the tree and the field.

pub mod lightgbm;
pub mod xgboost;

use std::path::Path;

use smelt_core::{CoreError, Feature, FeatureKind, LogicalType};

/// An error about the model file at `path`.
pub(crate) fn bad(path: &Path, message: impl Into<String>) -> CoreError {
    CoreError::Artifact {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Reads the whole file.
pub(crate) fn read(path: &Path) -> smelt_core::Result<String> {
    std::fs::read_to_string(path).map_err(|source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Numeric input features with these names.
pub(crate) fn numeric_features(names: Vec<String>) -> Vec<Feature> {
    names
        .into_iter()
        .map(|name| Feature {
            name,
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        })
        .collect()
}
