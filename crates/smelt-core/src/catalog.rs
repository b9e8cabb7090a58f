//! The catalogue types: what an estimator crate declares about each model it offers, so that
//! one list (`smelt::models()`) serves the CLI, the library, the docs and the conformance suite.
//!
//! Each estimator crate exposes `models() -> &'static [ModelInfo]`; an entry names the model,
//! its task, its default preprocessing and a builder from JSON parameters. Parameters are given
//! with scikit-learn's names; [`parse_params`] reads `key=value` pairs with values as JSON when
//! they parse (`0.5`, `true`, `null`, `"l1"`, `[1, 2]`) and as strings otherwise (`penalty=l1`).
//! An unknown parameter is an error with a did-you-mean; invalid values are rejected by the
//! estimator's own checks before any fitting ([`build_with`]).

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::params::{DeclaredParams, ParamSpec};
use crate::text::closest;
use crate::{CoreError, FitPredictor, Result};

/// The task an estimator solves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// Real-valued target.
    Regression,
    /// Class labels.
    Classification,
    /// No target (clustering).
    Clustering,
}

/// How `smelt train` prepares features for an estimator by default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prep {
    /// Impute (median / most frequent), one-hot encode categoricals, standardise numbers:
    /// linear models, SVMs, neighbours, clustering.
    ImputeEncodeScale,
    /// Impute and one-hot encode, no scaling (naive Bayes).
    ImputeEncode,
    /// None: the model takes missing values and categorical features as they are
    /// (gradient boosting).
    Native,
}

/// Builds an estimator from its parameters.
pub type Builder = fn(Map<String, Value>) -> Result<Box<dyn FitPredictor>>;

/// The parameter table of an estimator's params struct ([`DeclaredParams::specs`]).
pub type Specs = fn() -> &'static [ParamSpec];

fn no_specs() -> &'static [ParamSpec] {
    &[]
}

/// One catalogue entry.
#[derive(Clone, Copy, Debug)]
pub struct ModelInfo {
    /// Name on the command line (`ridge`).
    pub name: &'static str,
    /// What it predicts.
    pub task: Task,
    /// Default preprocessing.
    pub prep: Prep,
    /// One line for `--list-models`.
    pub summary: &'static str,
    build: Builder,
    params: Specs,
}

impl ModelInfo {
    /// An entry for another crate's catalogue, with a hand-written builder and no parameter
    /// table (prefer [`ModelInfo::of`]).
    pub const fn new(
        name: &'static str,
        task: Task,
        prep: Prep,
        summary: &'static str,
        build: Builder,
    ) -> Self {
        ModelInfo {
            name,
            task,
            prep,
            summary,
            build,
            params: no_specs,
        }
    }

    /// The entry of the estimator whose parameters are `P` (declared with
    /// [`params!`](crate::params!)): built by [`build_with::<P>`](build_with), documented by
    /// `P`'s parameter table.
    pub const fn of<P>(name: &'static str, task: Task, prep: Prep, summary: &'static str) -> Self
    where
        P: DeclaredParams + DeserializeOwned + FitPredictor,
    {
        ModelInfo {
            name,
            task,
            prep,
            summary,
            build: build_with::<P>,
            params: <P as DeclaredParams>::specs,
        }
    }

    /// The estimator's parameters: name, type, default, allowed values, doc, aliases (empty
    /// for entries made with [`ModelInfo::new`]).
    pub fn params(&self) -> &'static [ParamSpec] {
        (self.params)()
    }

    /// Builds the estimator from parameters (validated).
    pub fn build(&self, params: Map<String, Value>) -> Result<Box<dyn FitPredictor>> {
        (self.build)(params)
    }
}

/// Deserialises `P` from `params` (rejecting unknown names with a did-you-mean) and validates it.
pub fn build_with<P>(params: Map<String, Value>) -> Result<Box<dyn FitPredictor>>
where
    P: Default + Serialize + DeserializeOwned + FitPredictor + 'static,
{
    let estimator = P::default().name().to_string();
    let known: Vec<String> = match serde_json::to_value(P::default()) {
        Ok(Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    };
    for (k, v) in &params {
        // An alias serde accepts (`num_leaves` for `max_leaf_nodes`) is known too.
        let alias = || {
            let one = Map::from_iter([(k.clone(), v.clone())]);
            serde_json::from_value::<P>(Value::Object(one)).is_ok()
        };
        if !known.contains(k) && !alias() {
            return Err(CoreError::BadParam {
                estimator,
                message: format!("unknown parameter `{k}` (parameters: {})", known.join(", ")),
                suggestion: closest(k, &known).map(str::to_string),
            });
        }
    }
    // The parameter whose value does not fit, named with the type it wants.
    let culprit = params.iter().find_map(|(k, v)| {
        let one = Map::from_iter([(k.clone(), v.clone())]);
        serde_json::from_value::<P>(Value::Object(one))
            .err()
            .map(|e| (k.clone(), v.clone(), e.to_string()))
    });
    let p: P = serde_json::from_value(Value::Object(params)).map_err(|e| CoreError::BadParam {
        estimator: estimator.clone(),
        message: match &culprit {
            Some((k, v, why)) => match expected_kind(why) {
                Some(kind) => format!("parameter `{k}` = {v}: expected {kind} ({why})"),
                None => format!("parameter `{k}` = {v}: {why}"),
            },
            None => e.to_string(),
        },
        suggestion: None,
    })?;
    let errors = p.check();
    if !errors.is_empty() {
        return Err(CoreError::Params(errors));
    }
    Ok(Box::new(p))
}

/// What a serde type error's expected Rust type means to a user (`usize` → a whole number).
fn expected_kind(serde_message: &str) -> Option<&'static str> {
    let expected = serde_message.rsplit("expected ").next()?;
    Some(match expected.trim() {
        "usize" | "u8" | "u16" | "u32" | "u64" => "a whole number, 0 or more",
        "isize" | "i8" | "i16" | "i32" | "i64" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        _ => return None,
    })
}

/// The entry called `name` in `all` (an error with a did-you-mean when absent).
pub fn find_in(all: &[&'static ModelInfo], name: &str) -> Result<&'static ModelInfo> {
    all.iter().copied().find(|m| m.name == name).ok_or_else(|| {
        let known: Vec<String> = all.iter().map(|m| m.name.to_string()).collect();
        CoreError::UnknownModel {
            name: name.to_string(),
            suggestion: closest(name, &known).map(str::to_string),
            known,
        }
    })
}

/// Parses `key=value` pairs (values as JSON when they parse, else strings).
pub fn parse_params(pairs: &[String]) -> Result<Map<String, Value>> {
    let mut out = Map::new();
    for p in pairs {
        let Some((k, v)) = p.split_once('=') else {
            return Err(CoreError::BadParam {
                estimator: "--param".into(),
                message: format!("`{p}` is not KEY=VALUE"),
                suggestion: None,
            });
        };
        let v = v.trim();
        let value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_as_json_or_strings() {
        let p =
            parse_params(&["alpha=0.5".into(), "solver=svd".into(), "x = [1, 2]".into()]).unwrap();
        assert_eq!(p["alpha"], Value::from(0.5));
        assert_eq!(p["solver"], Value::from("svd"));
        assert_eq!(p["x"], serde_json::json!([1, 2]));
        assert!(parse_params(&["novalue".into()]).is_err());
    }
}
