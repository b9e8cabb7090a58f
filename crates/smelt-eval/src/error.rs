//! The evaluation crate's error type. Every error names what was wrong (the metric, the
//! argument, the index, the fold) and most carry a hint.

use smelt_core::CoreError;
use thiserror::Error;

/// Result of an evaluation call.
pub type Result<T> = std::result::Result<T, EvalError>;

/// What can go wrong in evaluation.
#[derive(Debug, Error)]
pub enum EvalError {
    /// Two inputs that must be parallel have different lengths.
    #[error("{context}: `{left}` has {left_len} values but `{right}` has {right_len}")]
    Length {
        /// The metric or function (`roc_auc`).
        context: String,
        /// The first argument's name (`y_true`).
        left: &'static str,
        /// Its length.
        left_len: usize,
        /// The second argument's name (`y_score`).
        right: &'static str,
        /// Its length.
        right_len: usize,
    },
    /// A value that must be finite is NaN or infinite.
    #[error("{context}: `{argument}` has a non-finite value ({value}) at index {index}")]
    NonFinite {
        /// The metric or function.
        context: String,
        /// The argument's name.
        argument: &'static str,
        /// The first offending position.
        index: usize,
        /// The value there.
        value: f64,
    },
    /// An input the function cannot use (an empty slice, a single class, a bad option).
    #[error("{context}: {message}")]
    Input {
        /// The metric or function.
        context: String,
        /// What is wrong.
        message: String,
        /// How to fix it.
        hint: Option<String>,
    },
    /// A metric name the registry does not know.
    #[error("unknown metric `{name}`")]
    UnknownMetric {
        /// The name asked for.
        name: String,
        /// The closest known name.
        suggestion: Option<String>,
    },
    /// A tuning trial stopped early by the pruner (an objective returns it as is).
    #[error("trial {trial} was pruned at step {step}")]
    Pruned {
        /// The trial's number.
        trial: usize,
        /// The step of the report that stopped it.
        step: u64,
    },
    /// A model error (fit, predict, parameters).
    #[error(transparent)]
    Model(#[from] CoreError),
}

impl EvalError {
    /// A hint for the user, where there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            EvalError::Length { .. } => {
                Some("pass one prediction per true value, in the same order".into())
            }
            EvalError::NonFinite { .. } => Some(
                "scores and probabilities must be finite numbers; check the model's output".into(),
            ),
            EvalError::Input { hint, .. } => hint.clone(),
            EvalError::UnknownMetric { suggestion, .. } => Some(match suggestion {
                Some(s) => format!("did you mean `{s}`? `smelt eval --list-metrics` lists them"),
                None => "`smelt eval --list-metrics` lists the known metrics".into(),
            }),
            EvalError::Pruned { .. } => None,
            EvalError::Model(e) => e.hint(),
        }
    }

    /// An [`EvalError::Input`] error.
    pub fn input(context: impl Into<String>, message: impl Into<String>) -> Self {
        EvalError::Input {
            context: context.into(),
            message: message.into(),
            hint: None,
        }
    }

    /// An [`EvalError::Input`] error with a hint.
    pub fn input_hint(
        context: impl Into<String>,
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> Self {
        EvalError::Input {
            context: context.into(),
            message: message.into(),
            hint: Some(hint.into()),
        }
    }
}

/// Checks that two parallel inputs have the same length.
pub fn check_lengths(
    context: &str,
    left: (&'static str, usize),
    right: (&'static str, usize),
) -> Result<()> {
    if left.1 == right.1 {
        Ok(())
    } else {
        Err(EvalError::Length {
            context: context.to_string(),
            left: left.0,
            left_len: left.1,
            right: right.0,
            right_len: right.1,
        })
    }
}

/// Checks that every value is finite.
pub fn check_finite(context: &str, argument: &'static str, values: &[f64]) -> Result<()> {
    match values.iter().position(|v| !v.is_finite()) {
        None => Ok(()),
        Some(index) => Err(EvalError::NonFinite {
            context: context.to_string(),
            argument,
            index,
            value: values[index],
        }),
    }
}

/// Checks that an input is not empty.
pub fn check_not_empty(context: &str, argument: &'static str, len: usize) -> Result<()> {
    if len == 0 {
        Err(EvalError::input(
            context,
            format!("`{argument}` is empty: there is nothing to evaluate"),
        ))
    } else {
        Ok(())
    }
}
