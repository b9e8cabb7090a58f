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
//! by the model's feature names. Linear trees, vector leaves and other objectives are
//! reported as unsupported. Errors on damaged files are [`CoreError::Artifact`] naming the
//! file, the tree and the field.
//!
//! **Categorical splits** become the engine's category-set splits
//! ([`Nodes::push_categorical_node`](crate::ensemble::Nodes::push_categorical_node)). When the
//! file records the category labels (XGBoost ≥ 3.1 trained on pandas `category` columns:
//! `cats`; LightGBM trained on pandas: the `pandas_categorical` line), the input feature is
//! declared [`FeatureKind::Categorical`] with those labels in the library's code order, so a
//! CSV's categories are mapped to the library's codes by label. Without labels (models trained
//! on integer-coded arrays) the feature is numeric and its values are the category codes
//! themselves. An unseen label is an error for XGBoost models (XGBoost refuses it too) and a
//! missing value for LightGBM models (LightGBM's pandas path makes it NaN, which goes right).
//! One divergence on values that are not category codes: both libraries truncate a fractional
//! value to an integer code, the engine sends it to the "other categories" side.

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

/// A categorical input feature whose codes `0..labels.len()` name `labels` (in the library's
/// order); labels must be distinct.
pub(crate) fn categorical_feature(
    path: &Path,
    name: String,
    labels: Vec<String>,
) -> smelt_core::Result<Feature> {
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = labels.iter().find(|l| !seen.insert(l.as_str())) {
        return Err(bad(
            path,
            format!("feature `{name}`: category {dup:?} is listed twice"),
        ));
    }
    Ok(Feature {
        name,
        ltype: LogicalType::Categorical,
        kind: FeatureKind::Categorical { categories: labels },
    })
}

/// A category label read from a JSON value: strings as they are, numbers the way a numeric
/// column's values read as labels (`3`, `2.5`), like `Dataset::conform`.
pub(crate) fn label(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => {
            let x = n.as_f64()?;
            Some(if x.fract() == 0.0 && x.abs() < 1e15 {
                format!("{}", x as i64)
            } else {
                format!("{x}")
            })
        }
        _ => None,
    }
}

/// Bitset words allowed over all categorical splits of a model (64 MiB): a bound on what a
/// small damaged file can make the importer allocate.
pub(crate) const MAX_CATEGORY_WORDS: usize = 1 << 24;
