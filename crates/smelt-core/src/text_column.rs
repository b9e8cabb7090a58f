//! [`TextColumn`]: one free-text column carried beside a dataset's matrix (see
//! `texts.rs` for how datasets and models use it).

use serde::{Deserialize, Serialize};

/// One free-text column: a value per row, `None` where it is missing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TextColumn {
    /// Column name in the source table.
    pub name: String,
    /// One value per row.
    pub values: Vec<Option<String>>,
}

impl TextColumn {
    /// A column from its name and values.
    pub fn new(name: impl Into<String>, values: Vec<Option<String>>) -> Self {
        TextColumn {
            name: name.into(),
            values,
        }
    }

    /// The rows `rows`, in that order.
    pub(crate) fn take(&self, rows: &[usize]) -> TextColumn {
        TextColumn {
            name: self.name.clone(),
            values: rows.iter().map(|&i| self.values[i].clone()).collect(),
        }
    }
}
