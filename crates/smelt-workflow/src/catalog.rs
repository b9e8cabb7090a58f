//! Every model this build offers, from every estimator crate: the combined catalogue (names,
//! tasks, default preprocessing, builders) and the combined registry (loaders of saved models).
//!
//! An estimator crate adds its models in two places, both read here: its `models()` list (for
//! training by name) and its `register` function (for loading saved files).

use serde_json::{Map, Value};
use smelt_core::catalog::Task;
use smelt_core::catalog::{ModelInfo, find_in};
use smelt_core::{FitPredictor, Registry};
use smelt_learn::catalog::auto_pipeline;
use smelt_learn::pipeline::PipelineParams;

use crate::error::Result;

/// Every model `smelt train` and [`crate::Model::train`] know: smelt-learn's, then
/// smelt-trees', then smelt-deep's.
pub fn models() -> Vec<&'static ModelInfo> {
    smelt_learn::catalog::models()
        .iter()
        .chain(smelt_trees::catalog::models())
        .chain(smelt_deep::catalog::models())
        .collect()
}

/// The catalogue entry called `name`; an unknown name is an error with a did-you-mean.
pub fn find_model(name: &str) -> Result<&'static ModelInfo> {
    Ok(find_in(&models(), name)?)
}

/// Short names people bring from other tools, standing for a classifier or a regressor (the
/// target decides which): `(names, classifier, regressor)`.
const SHORT_NAMES: &[(&[&str], Option<&str>, Option<&str>)] = &[
    (
        &["random_forest", "rf", "forest"],
        Some("random_forest_classifier"),
        Some("random_forest_regressor"),
    ),
    (
        &["extra_trees"],
        Some("extra_trees_classifier"),
        Some("extra_trees_regressor"),
    ),
    (
        &["decision_tree", "tree", "cart"],
        Some("decision_tree_classifier"),
        Some("decision_tree_regressor"),
    ),
    (
        &[
            "gradient_boosting",
            "hist_gradient_boosting",
            "gbdt",
            "gbm",
            "boosting",
            "lightgbm",
            "lgbm",
            "xgboost",
            "xgb",
        ],
        Some("hist_gradient_boosting_classifier"),
        Some("hist_gradient_boosting_regressor"),
    ),
    (
        &["k_neighbors", "knn", "kneighbors"],
        Some("k_neighbors_classifier"),
        Some("k_neighbors_regressor"),
    ),
    (&["logistic", "logreg"], Some("logistic_regression"), None),
    (&["linear", "ols"], None, Some("linear_regression")),
    (&["svm"], Some("svc"), Some("svr")),
    (
        &["mlp", "neural_network", "nn"],
        Some("mlp_classifier"),
        Some("mlp_regressor"),
    ),
    (&["lstm"], None, Some("lstm_regressor")),
    (&["gru"], None, Some("gru_regressor")),
    (&["transformer"], Some("transformer_classifier"), None),
    (
        &["finetune", "fine_tune"],
        Some("finetune_classifier"),
        None,
    ),
    (
        &["dummy", "baseline"],
        Some("dummy_classifier"),
        Some("dummy_regressor"),
    ),
];

/// The classifier and the regressor a short name stands for (`random_forest`, `gbdt`,
/// `xgboost`, …), or `None` when it is not one.
pub fn short_name(name: &str) -> Option<(Option<&'static str>, Option<&'static str>)> {
    let norm = name.trim().to_ascii_lowercase().replace('-', "_");
    SHORT_NAMES
        .iter()
        .find(|(names, _, _)| names.contains(&norm.as_str()))
        .map(|&(_, c, r)| (c, r))
}

/// The catalogue model `name` means for a `task`: a catalogue name as it is, or a short name
/// ([`short_name`]) resolved to its classifier or regressor. Without a task, a short name that
/// stands for both is an error asking for the full name.
pub fn resolve_model(name: &str, task: Option<Task>) -> Result<&'static ModelInfo> {
    let Some((classifier, regressor)) = short_name(name) else {
        // A near-typo of a short name (`randm_forest`) is pointed at it.
        return find_model(name).map_err(|e| match e {
            crate::Error::Model(smelt_core::CoreError::UnknownModel {
                name,
                suggestion: None,
                known,
            }) => {
                let shorts: Vec<String> = SHORT_NAMES
                    .iter()
                    .flat_map(|(names, _, _)| names.iter().map(|n| n.to_string()))
                    .collect();
                let suggestion = smelt_core::text::closest(&name, &shorts).map(str::to_string);
                crate::Error::Model(smelt_core::CoreError::UnknownModel {
                    name,
                    suggestion,
                    known,
                })
            }
            other => other,
        });
    };
    let pick = match task {
        Some(Task::Classification) => classifier.or(regressor),
        Some(Task::Regression) => regressor.or(classifier),
        _ if classifier.is_none() || regressor.is_none() => classifier.or(regressor),
        _ => None,
    };
    match pick {
        Some(p) => find_model(p),
        None => Err(smelt_core::CoreError::UnknownModel {
            name: name.to_string(),
            suggestion: classifier.map(str::to_string),
            known: [classifier, regressor]
                .into_iter()
                .flatten()
                .map(str::to_string)
                .collect(),
        }
        .into()),
    }
}

/// The model `name` means for the table `data` ([`resolve_model`] with the target's task),
/// checked against the target: a classifier on a real-valued target, or a regressor on
/// classes (text, booleans, integers with few values), is an error naming the model that fits
/// ([`Error::WrongTask`](crate::Error::WrongTask)), before any work is done.
pub fn model_for(name: &str, data: &smelt_data::Loaded) -> Result<&'static ModelInfo> {
    let task = task_of(data);
    let info = resolve_model(name, task)?;
    let (Some(target), Some(task)) = (data.schema.target(), task) else {
        return Ok(info);
    };
    let got = match (info.task, task) {
        (Task::Classification, Task::Regression) => "real-valued (a regression target)",
        (Task::Regression, Task::Classification) => "made of classes (a classification target)",
        _ => return Ok(info),
    };
    let (short, other) = counterpart(info);
    Err(crate::Error::WrongTask {
        model: info.name.to_string(),
        task: info.task,
        target: target.name.clone(),
        got,
        other,
        short,
    })
}

/// The catalogue model of the other task that `info` pairs with (`random_forest_classifier` →
/// `random_forest_regressor`), and the short name that stands for both, when there is one.
fn counterpart(info: &ModelInfo) -> (Option<&'static str>, Option<&'static str>) {
    for (names, classifier, regressor) in SHORT_NAMES {
        if *classifier == Some(info.name) {
            return (
                names.first().copied().filter(|_| regressor.is_some()),
                *regressor,
            );
        }
        if *regressor == Some(info.name) {
            return (
                names.first().copied().filter(|_| classifier.is_some()),
                *classifier,
            );
        }
    }
    (None, None)
}

/// The task a loaded table's target asks for, as training would infer it (classes for text,
/// booleans and integer columns with few values; regression for numbers), or `None` without a
/// target.
pub fn task_of(data: &smelt_data::Loaded) -> Option<Task> {
    let target = data.schema.target()?;
    Some(match target.ltype {
        smelt_core::LogicalType::Numeric => Task::Regression,
        smelt_core::LogicalType::Integer => {
            let few = data
                .frame
                .column(&target.name)
                .ok()
                .and_then(|c| c.as_materialized_series().n_unique().ok())
                .is_some_and(|n| n <= smelt_data::convert::MAX_INTEGER_CLASSES);
            if few {
                Task::Classification
            } else {
                Task::Regression
            }
        }
        _ => Task::Classification,
    })
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
    smelt_deep::register(&mut r);
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
