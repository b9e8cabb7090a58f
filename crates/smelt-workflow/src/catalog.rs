//! Every model this build offers, from every estimator crate: the combined catalogue (names,
//! tasks, default preprocessing, builders) and the combined registry (loaders of saved models).
//!
//! An estimator crate adds its models in two places, both read here: its `models()` list (for
//! training by name) and its `register` function (for loading saved files).

use serde_json::{Map, Value};
use smelt_core::catalog::{ModelInfo, find_in};
use smelt_core::{FitPredictor, Registry};
use smelt_learn::catalog::auto_pipeline;
use smelt_learn::pipeline::PipelineParams;

use crate::error::Result;

/// Every model `smelt train` and [`crate::Model::train`] know: smelt-learn's, then
/// smelt-trees'.
pub fn models() -> Vec<&'static ModelInfo> {
    smelt_learn::catalog::models()
        .iter()
        .chain(smelt_trees::catalog::models())
        .collect()
}

/// The catalogue entry called `name`; an unknown name is an error with a did-you-mean.
pub fn find_model(name: &str) -> Result<&'static ModelInfo> {
    Ok(find_in(&models(), name)?)
}

/// The estimator with the model's default preprocessing in front (impute, encode, scale as
/// the catalogue says), or alone when `preprocess` is false. The pipeline is the unit fitted
/// everywhere — in training, in each cross-validation fold, in each tuning trial.
pub fn with_preprocessing(
    info: &ModelInfo,
    estimator: Box<dyn FitPredictor>,
    preprocess: bool,
) -> PipelineParams {
    if preprocess {
        auto_pipeline(info.prep, estimator)
    } else {
        PipelineParams::from_boxed(Vec::new(), estimator)
    }
}

/// Every model kind this build can load from a model file (the calibrated and thresholded
/// wrappers of `smelt-eval` included).
pub fn registry() -> Registry {
    let mut r = smelt_learn::registry();
    smelt_trees::register(&mut r);
    smelt_eval::register(&mut r);
    r
}

/// Hyperparameters by scikit-learn's names, as JSON values.
///
/// ```
/// use smelt_workflow::Params;
///
/// let p = Params::new().set("max_iter", 50).set("learning_rate", 0.1);
/// let q = Params::parse(&["max_iter=50", "learning_rate=0.1"]).unwrap();
/// assert_eq!(p, q);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Params {
    values: Map<String, Value>,
    /// The text each value was parsed from, when it came from `key=value` pairs: a run logs
    /// `1e-3` as the user wrote it, not as `0.001`.
    text: Map<String, Value>,
}

impl PartialEq for Params {
    fn eq(&self, other: &Self) -> bool {
        self.values == other.values
    }
}

impl Params {
    /// No parameter: every default.
    pub fn new() -> Self {
        Params::default()
    }

    /// Sets `name` to `value`.
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.text.remove(name);
        self.values.insert(name.to_string(), value.into());
        self
    }

    /// Parses `key=value` pairs as the command line gives them: values as JSON when they parse
    /// (`0.5`, `true`, `null`, `"l1"`, `[1, 2]`), as strings otherwise (`penalty=l1`).
    pub fn parse<S: AsRef<str>>(pairs: &[S]) -> Result<Self> {
        let pairs: Vec<String> = pairs.iter().map(|p| p.as_ref().to_string()).collect();
        let values = smelt_core::catalog::parse_params(&pairs)?;
        let text = pairs
            .iter()
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.trim().to_string(), Value::from(v.trim())))
            .collect();
        Ok(Params { values, text })
    }

    /// Each parameter as text, for a run's params: as written when parsed from `key=value`,
    /// else strings as they are and other values as JSON.
    pub fn as_text(&self) -> Vec<(String, String)> {
        self.values
            .iter()
            .map(|(k, v)| {
                let text = match self.text.get(k).unwrap_or(v) {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), text)
            })
            .collect()
    }

    /// The parameters as a JSON object.
    pub fn as_map(&self) -> &Map<String, Value> {
        &self.values
    }

    /// The parameters as a JSON object, owned.
    pub fn into_map(self) -> Map<String, Value> {
        self.values
    }
}

impl From<Map<String, Value>> for Params {
    fn from(values: Map<String, Value>) -> Self {
        Params {
            values,
            text: Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_keep_the_text_they_were_parsed_from() {
        let p = Params::parse(&["tol=1e-3", "solver=svd", "C = 2"]).unwrap();
        assert_eq!(p.as_map()["tol"], Value::from(0.001));
        assert_eq!(
            p.as_text(),
            [("C", "2"), ("solver", "svd"), ("tol", "1e-3")]
                .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        let p = p.set("tol", 0.5);
        assert_eq!(p.as_text()[2], ("tol".to_string(), "0.5".to_string()));
    }

    #[test]
    fn catalogue_and_registry_agree() {
        let registry = registry();
        let kinds: Vec<&str> = registry.predictor_kinds().collect();
        let all = models();
        assert!(all.len() >= 24, "{} models", all.len());
        for m in &all {
            // Catalogue names are the kinds written in model files.
            assert!(kinds.contains(&m.name), "{} is not loadable", m.name);
        }
        let mut names: Vec<&str> = all.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len(), "a model name is listed twice");
        assert!(find_model("hist_gradient_boosting_classifier").is_ok());
        let hint = find_model("rigde").unwrap_err().hint().unwrap_or_default();
        assert!(hint.contains("`ridge`"), "{hint}");
    }
}
