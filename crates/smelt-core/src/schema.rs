//! Logical column types and roles.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{CoreError, Result};

/// The logical type of a column, independent of how a file format stores it.
///
/// Physical types map onto logical ones as follows: floating point → `Numeric`; integers →
/// `Integer`; booleans → `Boolean`; strings with few distinct values → `Categorical`, with
/// many → `Text`; dates and timestamps (native, or ISO 8601 strings) → `Datetime`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogicalType {
    /// Real-valued measurement (stored as `f64`).
    Numeric,
    /// Whole numbers (stored as `i64`); a feature like any numeric one.
    Integer,
    /// `true` / `false`.
    Boolean,
    /// A string from a small set of values; encoded as integer codes in a [`crate::Dataset`].
    Categorical,
    /// A point in time (microseconds since the Unix epoch, UTC).
    Datetime,
    /// Free text; never a tabular feature (a text model or an embedding consumes it).
    Text,
}

impl LogicalType {
    /// All types, in the order they are documented.
    pub const ALL: [LogicalType; 6] = [
        LogicalType::Numeric,
        LogicalType::Integer,
        LogicalType::Boolean,
        LogicalType::Categorical,
        LogicalType::Datetime,
        LogicalType::Text,
    ];

    /// The name used in schema files and reports (`numeric`, `integer`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            LogicalType::Numeric => "numeric",
            LogicalType::Integer => "integer",
            LogicalType::Boolean => "boolean",
            LogicalType::Categorical => "categorical",
            LogicalType::Datetime => "datetime",
            LogicalType::Text => "text",
        }
    }

    /// Parses a type name as written in schema files.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// Whether a column of this type can be a tabular feature.
    pub fn is_tabular(self) -> bool {
        !matches!(self, LogicalType::Text | LogicalType::Datetime)
    }
}

impl fmt::Display for LogicalType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a column is for. Only `Feature` columns enter the feature matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An input to the model (the default).
    #[default]
    Feature,
    /// The label to predict.
    Target,
    /// A row identifier: kept for joins and reports, never a feature.
    Id,
    /// The event time: drives temporal splits, never a feature.
    Time,
    /// A group key (patient, customer, series): drives group splits, never a feature.
    Group,
    /// Dropped before modelling.
    Ignore,
}

impl Role {
    /// The name used in schema files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Feature => "feature",
            Role::Target => "target",
            Role::Id => "id",
            Role::Time => "time",
            Role::Group => "group",
            Role::Ignore => "ignore",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One column of a [`Schema`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Column name, unique within the schema.
    pub name: String,
    /// Logical type.
    #[serde(rename = "type")]
    pub ltype: LogicalType,
    /// Role in modelling.
    pub role: Role,
}

/// The ordered columns of a table with their logical types and roles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schema {
    columns: Vec<ColumnSchema>,
}

impl Schema {
    /// Builds a schema, rejecting duplicate names.
    pub fn new(columns: Vec<ColumnSchema>) -> Result<Self> {
        let mut seen = std::collections::HashSet::new();
        for c in &columns {
            if !seen.insert(c.name.as_str()) {
                return Err(CoreError::DuplicateColumn {
                    name: c.name.clone(),
                });
            }
        }
        Ok(Schema { columns })
    }

    /// The columns in table order.
    pub fn columns(&self) -> &[ColumnSchema] {
        &self.columns
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the schema has no column.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column called `name`.
    pub fn get(&self, name: &str) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Mutable access to the column called `name`.
    pub fn get_mut(&mut self, name: &str) -> Result<&mut ColumnSchema> {
        self.columns
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or_else(|| CoreError::UnknownColumn {
                name: name.to_string(),
            })
    }

    /// The target column, if one is marked.
    pub fn target(&self) -> Option<&ColumnSchema> {
        self.columns.iter().find(|c| c.role == Role::Target)
    }

    /// Columns with the given role, in table order.
    pub fn with_role(&self, role: Role) -> impl Iterator<Item = &ColumnSchema> {
        self.columns.iter().filter(move |c| c.role == role)
    }

    /// Feature columns that can enter a tabular feature matrix (text and datetime features are
    /// left to dedicated encoders).
    pub fn tabular_features(&self) -> impl Iterator<Item = &ColumnSchema> {
        self.columns
            .iter()
            .filter(|c| c.role == Role::Feature && c.ltype.is_tabular())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(name: &str, ltype: LogicalType, role: Role) -> ColumnSchema {
        ColumnSchema {
            name: name.into(),
            ltype,
            role,
        }
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let err = Schema::new(vec![
            col("a", LogicalType::Numeric, Role::Feature),
            col("a", LogicalType::Integer, Role::Feature),
        ])
        .unwrap_err();
        assert!(matches!(err, CoreError::DuplicateColumn { ref name } if name == "a"));
    }

    #[test]
    fn roles_keep_ids_out_of_features() {
        let s = Schema::new(vec![
            col("id", LogicalType::Integer, Role::Id),
            col("x", LogicalType::Numeric, Role::Feature),
            col("when", LogicalType::Datetime, Role::Time),
            col("note", LogicalType::Text, Role::Feature),
            col("y", LogicalType::Boolean, Role::Target),
        ])
        .unwrap();
        let feats: Vec<_> = s.tabular_features().map(|c| c.name.as_str()).collect();
        assert_eq!(feats, ["x"]);
        assert_eq!(s.target().map(|c| c.name.as_str()), Some("y"));
    }

    #[test]
    fn type_names_round_trip() {
        for t in LogicalType::ALL {
            assert_eq!(LogicalType::parse(t.as_str()), Some(t));
        }
        assert_eq!(LogicalType::parse("float"), None);
    }
}
