use thiserror::Error;

/// Errors raised when building or slicing core types.
#[derive(Debug, Error, PartialEq)]
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
    /// A row index outside `0..n_rows`.
    #[error("row index {index} is out of bounds for a dataset of {n_rows} rows")]
    RowOutOfBounds { index: usize, n_rows: usize },
    /// A name that does not exist in the schema or dataset.
    #[error("no column named `{name}`")]
    UnknownColumn { name: String },
}

/// Result type of this crate.
pub type Result<T> = std::result::Result<T, CoreError>;
