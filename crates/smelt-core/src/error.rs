use std::path::PathBuf;

use thiserror::Error;

/// One hyperparameter outside its allowed range.
#[derive(Clone, Debug, PartialEq)]
pub struct ParamError {
    /// Estimator name, e.g. `Ridge`.
    pub estimator: &'static str,
    /// Parameter name as in the reference library, e.g. `alpha`.
    pub param: &'static str,
    /// The allowed values, e.g. `a float in [0, inf)`.
    pub allowed: String,
    /// The value received, as written by the user.
    pub got: String,
}

impl std::fmt::Display for ParamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: parameter `{}` must be {}, got {}",
            self.estimator, self.param, self.allowed, self.got
        )
    }
}

/// Errors of the core types and of every model built on them (fit, predict, save, load).
///
/// Model errors live here, not in each estimator crate, because the object-safe
/// [`Predictor`](crate::Predictor) interface that serving and evaluation use must return one
/// error type for every model kind.
#[derive(Debug, Error)]
pub enum CoreError {
    /// Two columns of a dataset or schema share a name.
    #[error("duplicate column name `{name}`")]
    DuplicateColumn { name: String },
    /// A column's length differs from the dataset's row count.
    #[error("column `{name}` has {got} values but the dataset has {expected} rows")]
    LengthMismatch {
        name: String,
        expected: usize,
        got: usize,
    },
    /// A class code with no label: the target declares fewer classes.
    #[error(
        "target `{target}`: row {row} has class code {code}, but only {n_classes} class label(s) are declared"
    )]
    UnknownClass {
        target: String,
        row: usize,
        code: u32,
        n_classes: usize,
    },
    /// A row index outside `0..n_rows`.
    #[error("row index {index} is out of bounds for a dataset of {n_rows} rows")]
    RowOutOfBounds { index: usize, n_rows: usize },
    /// A name that does not exist in the schema or dataset.
    #[error("no column named `{name}`")]
    UnknownColumn { name: String },

    /// One or more hyperparameters are invalid (all of them are listed).
    #[error("{}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
    Params(Vec<ParamError>),
    /// A column the model was trained on is absent at predict time.
    #[error("column `{name}` is missing from the input (the model was trained with it)")]
    MissingColumn {
        name: String,
        suggestion: Option<String>,
    },
    /// A column has a different kind than at training time.
    #[error("column `{name}`: expected {expected} values, got {got}")]
    TypeMismatch {
        name: String,
        expected: String,
        got: String,
    },
    /// A categorical value never seen in training.
    #[error("column `{name}`: category {value:?} was not seen in training")]
    UnknownCategory { name: String, value: String },
    /// A model name no catalogue knows.
    #[error("unknown model `{name}`")]
    UnknownModel {
        name: String,
        suggestion: Option<String>,
        known: Vec<String>,
    },
    /// A hyperparameter that does not exist or does not parse.
    #[error("{estimator}: {message}")]
    BadParam {
        estimator: String,
        message: String,
        suggestion: Option<String>,
    },
    /// A missing value where the estimator cannot take one.
    #[error("{estimator}: feature `{feature}` has {count} missing value(s) (first at row {row})")]
    MissingValues {
        estimator: &'static str,
        feature: String,
        row: usize,
        count: usize,
    },
    /// An infinite value in a feature.
    #[error("{estimator}: feature `{feature}` has a non-finite value ({value}) at row {row}")]
    NonFinite {
        estimator: &'static str,
        feature: String,
        row: usize,
        value: f64,
    },
    /// A categorical feature given to an estimator that needs numbers.
    #[error("{estimator}: feature `{feature}` is categorical; this estimator needs numbers")]
    NotNumeric {
        estimator: &'static str,
        feature: String,
    },
    /// The dataset has no target but the estimator is supervised.
    #[error("{estimator}: the data has no target column")]
    NoTarget { estimator: &'static str },
    /// A regression target given to a classifier or vice versa.
    #[error("{estimator} is a {expected} estimator but the target `{target}` is {got}")]
    WrongTask {
        estimator: &'static str,
        expected: &'static str,
        target: String,
        got: &'static str,
    },
    /// A classification target with fewer than two classes.
    #[error(
        "{estimator}: the target `{target}` has a single class ({class:?}); a classifier needs at least two"
    )]
    SingleClass {
        estimator: &'static str,
        target: String,
        class: String,
    },
    /// Too few rows (or rows per class) for the estimator.
    #[error("{estimator}: needs at least {needed} {what}, got {got}")]
    TooFew {
        estimator: &'static str,
        what: &'static str,
        needed: usize,
        got: usize,
    },
    /// Sample weights of the wrong length or with negative/non-finite entries.
    #[error("{estimator}: invalid sample weights: {reason}")]
    SampleWeight {
        estimator: &'static str,
        reason: String,
    },
    /// A numerical failure (singular system, divergence) the user can act on.
    #[error("{estimator}: {message}")]
    Numerical {
        estimator: &'static str,
        message: String,
    },
    /// A model file that cannot be read: corrupted, truncated or hand-edited.
    #[error("{path}: {message}", path = .path.display())]
    Artifact { path: PathBuf, message: String },
    /// A model file written by a newer or unknown format version.
    #[error("{path}: model format version {found} is not supported (this build reads version {supported})", path = .path.display())]
    ArtifactVersion {
        path: PathBuf,
        found: u64,
        supported: u64,
    },
    /// A model kind no registered loader knows.
    #[error("{path}: unknown model kind `{kind}`", path = .path.display())]
    UnknownKind { path: PathBuf, kind: String },
    /// A model scored by another engine (an ONNX graph) failed.
    #[error("{engine}: {message}")]
    Engine {
        engine: &'static str,
        message: String,
    },
    /// A model loaded only to predict ([`crate::artifact::load_for_inference`]) asked for what
    /// it did not keep.
    #[error(
        "{estimator} was loaded for inference only and keeps just what prediction reads: it cannot {what}"
    )]
    InferenceOnly {
        estimator: &'static str,
        what: &'static str,
    },
    /// An I/O failure on a model file.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl CoreError {
    /// A one-line suggestion for the user, when there is one.
    pub fn hint(&self) -> Option<String> {
        Some(match self {
            CoreError::MissingColumn {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            CoreError::MissingColumn { .. } => {
                "predict with the columns the model was trained on (see `input` in model.json)"
                    .into()
            }
            CoreError::UnknownModel {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`? (`smelt train --list-models` lists them)"),
            CoreError::UnknownModel { name, known, .. } => {
                // The few nearest names, not the whole catalogue.
                let mut near: Vec<&String> = known.iter().collect();
                // Edits to the name or to a candidate's start of the same length (a long name
                // is not far from its own prefix).
                let cost = |k: &str| {
                    let cut = (0..=name.len().min(k.len()))
                        .rev()
                        .find(|&i| k.is_char_boundary(i))
                        .unwrap_or(0);
                    crate::text::levenshtein(name, k).min(crate::text::levenshtein(name, &k[..cut]) + 1)
                };
                near.sort_by_key(|k| cost(k));
                let near: Vec<&str> = near.iter().take(5).map(|s| s.as_str()).collect();
                format!(
                    "the nearest names: {} (`smelt train --list-models` lists them all)",
                    near.join(", ")
                )
            }
            CoreError::BadParam {
                suggestion: Some(s),
                ..
            } => format!("did you mean `{s}`?"),
            CoreError::UnknownCategory { .. } => {
                "set handle_unknown = \"ignore\" on the encoder to encode unseen categories as all zeros"
                    .into()
            }
            CoreError::MissingValues { .. } => {
                "add an imputer (SimpleImputer) before this estimator, or use `smelt train`, which adds one"
                    .into()
            }
            CoreError::NonFinite { .. } => {
                "replace infinite values, or mark them as missing and impute them".into()
            }
            CoreError::NotNumeric { .. } => {
                "encode it first (OneHotEncoder / OrdinalEncoder), or use `smelt train`, which does".into()
            }
            CoreError::NoTarget { .. } => "mark the target column (`--target COL`)".into(),
            CoreError::SingleClass { .. } => {
                "check the target column and any filtering that left one class".into()
            }
            CoreError::ArtifactVersion { .. } => {
                "load it with the Smelt version that wrote it, or upgrade Smelt".into()
            }
            CoreError::Artifact { .. } => {
                "the model directory is damaged; save or download it again".into()
            }
            CoreError::UnknownKind { .. } => {
                "this model kind comes from a crate or version this build does not include".into()
            }
            CoreError::InferenceOnly { .. } => {
                "load the model whole (smelt_core::artifact::load; `smelt export` does) to save or \
                 export it"
                    .into()
            }
            _ => return None,
        })
    }
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
