//! The workflow's error type: the data layer's and the models' errors, plus what only the
//! workflow can get wrong (options, a fit that failed on a named file).

use std::path::PathBuf;

use smelt_core::CoreError;
use smelt_data::DataError;
use smelt_eval::EvalError;
use thiserror::Error;

/// Result of a workflow call.
pub type Result<T> = std::result::Result<T, Error>;

/// What can go wrong in training or prediction.
#[derive(Debug, Error)]
pub enum Error {
    /// Reading, typing or converting a table.
    #[error(transparent)]
    Data(#[from] DataError),
    /// A model error outside the fit (parameters, prediction, a model file).
    #[error(transparent)]
    Model(#[from] CoreError),
    /// An evaluation error (a metric, folds, a search space).
    #[error(transparent)]
    Eval(#[from] EvalError),
    /// The fit itself failed.
    #[error("fitting {model} on {}", path.display())]
    Fit {
        /// The catalogue name of the model.
        model: String,
        /// The training table.
        path: PathBuf,
        /// Why (boxed: it is large, and rare).
        #[source]
        source: Box<CoreError>,
    },
    /// Predicting failed.
    #[error("predicting {}", path.display())]
    Predict {
        /// The scored table.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<CoreError>,
    },
    /// Scoring one chunk of a table scored chunk by chunk ([`crate::Model::predict_stream`])
    /// failed; a row number in `source` counts within the chunk.
    #[error(
        "scoring rows {first}–{last} of {} (a row number below is one of these, counted from the first)",
        path.display()
    )]
    Chunk {
        /// The scored table.
        path: PathBuf,
        /// The chunk's first row (1-based).
        first: u64,
        /// The chunk's last row.
        last: u64,
        /// Why.
        #[source]
        source: Box<Error>,
    },
    /// A supervised model without a target column.
    #[error("{model} needs a target column")]
    NoTarget {
        /// The catalogue name of the model.
        model: String,
    },
    /// A classifier for a real-valued target, or a regressor for classes.
    #[error("{model} is a {} model, but the target `{target}` is {got}", task_word(*task))]
    WrongTask {
        /// The catalogue name of the model.
        model: String,
        /// Its task.
        task: smelt_core::catalog::Task,
        /// The target column.
        target: String,
        /// What the target is.
        got: &'static str,
        /// The catalogue model of the other task, when the model has one.
        other: Option<&'static str>,
        /// The short name that picks by the target, when there is one.
        short: Option<&'static str>,
    },
    /// No column is left to learn from.
    #[error("{}: no feature column to train on", path.display())]
    NoFeatures {
        /// The training table.
        path: PathBuf,
    },
    /// An option out of its range.
    #[error("{option} must be {allowed}, got {got}")]
    Option {
        /// The option's name.
        option: &'static str,
        /// What it may be.
        allowed: &'static str,
        /// What it was.
        got: String,
    },
    /// The sentence encoder failed (loading the model directory, or embedding texts).
    #[error("sentence encoder {}", model.display())]
    Encoder {
        /// The model directory.
        model: PathBuf,
        /// Why (boxed: it is large, and rare).
        #[source]
        source: Box<smelt_deep::DeepError>,
    },
    /// `smelt embed` could not choose the text column: none, or several, and none named.
    #[error("{}: {}", path.display(), text_column_problem(found, columns))]
    TextColumn {
        /// The table.
        path: PathBuf,
        /// Its text columns (strings with many distinct values).
        found: Vec<String>,
        /// All its columns.
        columns: Vec<String>,
    },
    /// A row's text is empty, blank or missing.
    #[error("{}: row {row}: column `{column}` is empty", path.display())]
    EmptyText {
        /// The table.
        path: PathBuf,
        /// The text column.
        column: String,
        /// The row, counted from 1 (the header is not a row).
        row: usize,
    },
    /// A polars operation on a table failed.
    #[error("{context}: {source}")]
    Table {
        /// What was being done.
        context: String,
        /// Why.
        #[source]
        source: smelt_data::polars::error::PolarsError,
    },
}

impl Error {
    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Data(e) => e.hint(),
            Error::Model(e) => e.hint(),
            Error::Eval(e) => e.hint(),
            Error::Fit { source, .. } | Error::Predict { source, .. } => source.hint(),
            Error::Chunk { source, .. } => source.hint(),
            Error::NoTarget { .. } => Some("mark the target column (`--target COL`)".into()),
            Error::NoFeatures { .. } => Some(
                "check the schema: every other column is an id, ignored, text or a date".into(),
            ),
            Error::WrongTask {
                task,
                target,
                other,
                short,
                ..
            } => {
                let want = match task {
                    smelt_core::catalog::Task::Classification => "regressor",
                    _ => "classifier",
                };
                let mut h = match other {
                    Some(o) => format!("train the {want}: `--model {o}`"),
                    None if want == "regressor" => {
                        "train a regressor, such as `--model hist_gradient_boosting_regressor` or `--model linear_regression`".to_string()
                    }
                    None => {
                        "train a classifier, such as `--model hist_gradient_boosting_classifier` or `--model logistic_regression`".to_string()
                    }
                };
                if let Some(s) = short {
                    h.push_str(&format!(
                        " (or `--model {s}`, which picks the classifier or the regressor from the target)"
                    ));
                }
                if want == "regressor" {
                    h.push_str(&format!(
                        "; if `{target}` holds class codes, declare it categorical in the schema (`[columns] {target} = \"categorical\"`)"
                    ));
                } else {
                    h.push_str(&format!(
                        "; if `{target}` is a count or a score, declare it numeric in the schema (`[columns] {target} = \"numeric\"`)"
                    ));
                }
                Some(h)
            }
            Error::Option { .. } | Error::Table { .. } => None,
            Error::Encoder { source, .. } => source.hint(),
            Error::TextColumn { found, columns, .. } => Some(match found.first() {
                Some(f) => format!("name one: `--column {f}`"),
                None => format!(
                    "name the column of texts: `--column {}`",
                    columns.first().map_or("NAME", String::as_str)
                ),
            }),
            Error::EmptyText { .. } => Some(
                "pass `--allow-empty` to embed it anyway, as sentence-transformers does: from [CLS] [SEP] alone, a vector that says nothing about the row"
                    .into(),
            ),
        }
    }
}

fn text_column_problem(found: &[String], columns: &[String]) -> String {
    let list = |v: &[String]| {
        v.iter()
            .map(|c| format!("`{c}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if found.is_empty() {
        format!("no text column among {}", list(columns))
    } else {
        format!("several text columns: {}", list(found))
    }
}

fn task_word(task: smelt_core::catalog::Task) -> &'static str {
    match task {
        smelt_core::catalog::Task::Classification => "classification",
        smelt_core::catalog::Task::Regression => "regression",
        _ => "clustering",
    }
}
