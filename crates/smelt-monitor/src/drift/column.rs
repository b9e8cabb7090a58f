//! One column's reference and current values, borrowed from the caller.

use serde::{Deserialize, Serialize};

use crate::stats::sort::{count_distinct_union, sorted_finite};

/// The code of a missing categorical value.
pub const MISSING: u32 = u32::MAX;

/// How a column's values are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// Numbers (ordered).
    Numerical,
    /// Categories (unordered labels).
    Categorical,
}

/// What a column is to the model: drift of a feature, of the target (when labels exist) or of
/// the predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// An input feature.
    #[default]
    Feature,
    /// The label (target drift).
    Target,
    /// The model's output (prediction drift).
    Prediction,
}

/// A column's values in the reference and the current data.
#[derive(Clone, Copy, Debug)]
pub enum ColumnValues<'a> {
    /// Numbers; NaN and ±∞ are missing (Evidently drops both).
    Numerical {
        /// Reference values.
        reference: &'a [f64],
        /// Current values.
        current: &'a [f64],
    },
    /// Codes into `labels`, one shared list for both sides; [`MISSING`] (or any code past the
    /// list) is missing.
    Categorical {
        /// Reference codes.
        reference: &'a [u32],
        /// Current codes.
        current: &'a [u32],
        /// The labels the codes index.
        labels: &'a [String],
    },
}

/// A named column to test for drift.
#[derive(Clone, Copy, Debug)]
pub struct ColumnInput<'a> {
    /// The column's name (the key of per-column overrides).
    pub name: &'a str,
    /// Feature, target or prediction.
    pub role: Role,
    /// Its values on both sides.
    pub values: ColumnValues<'a>,
}

impl<'a> ColumnInput<'a> {
    /// A numerical feature.
    pub fn numerical(name: &'a str, reference: &'a [f64], current: &'a [f64]) -> Self {
        ColumnInput {
            name,
            role: Role::Feature,
            values: ColumnValues::Numerical { reference, current },
        }
    }

    /// A categorical feature.
    pub fn categorical(
        name: &'a str,
        reference: &'a [u32],
        current: &'a [u32],
        labels: &'a [String],
    ) -> Self {
        ColumnInput {
            name,
            role: Role::Feature,
            values: ColumnValues::Categorical {
                reference,
                current,
                labels,
            },
        }
    }

    /// The same column with another role.
    pub fn with_role(mut self, role: Role) -> Self {
        self.role = role;
        self
    }

    /// Numerical or categorical.
    pub fn kind(&self) -> ColumnKind {
        match self.values {
            ColumnValues::Numerical { .. } => ColumnKind::Numerical,
            ColumnValues::Categorical { .. } => ColumnKind::Categorical,
        }
    }

    /// Row counts on both sides, missing values included.
    pub fn rows(&self) -> (usize, usize) {
        match self.values {
            ColumnValues::Numerical { reference, current } => (reference.len(), current.len()),
            ColumnValues::Categorical {
                reference, current, ..
            } => (reference.len(), current.len()),
        }
    }
}

/// A column's values ready for every method: sorted finite numbers or counts per category.
#[derive(Clone, Debug)]
pub(crate) enum Prepared {
    Numerical {
        reference: Vec<f64>,
        current: Vec<f64>,
    },
    Categorical {
        /// Counts per present category, categories in ascending order of label.
        reference: Vec<u64>,
        current: Vec<u64>,
    },
}

/// What every method needs to know about a column.
#[derive(Clone, Debug)]
pub(crate) struct Summary {
    pub prepared: Prepared,
    pub n_reference: usize,
    pub n_current: usize,
    pub rows_reference: usize,
    pub rows_current: usize,
    /// Distinct non-missing values over both sides.
    pub n_unique: usize,
}

impl Summary {
    pub fn of(input: &ColumnInput<'_>) -> Summary {
        let (rows_reference, rows_current) = input.rows();
        match input.values {
            ColumnValues::Numerical { reference, current } => {
                let finite = sorted_finite;
                let (r, c) = rayon::join(|| finite(reference), || finite(current));
                let n_unique = count_distinct_union(&r, &c);
                Summary {
                    n_reference: r.len(),
                    n_current: c.len(),
                    rows_reference,
                    rows_current,
                    n_unique,
                    prepared: Prepared::Numerical {
                        reference: r,
                        current: c,
                    },
                }
            }
            ColumnValues::Categorical {
                reference,
                current,
                labels,
            } => {
                let k = labels.len();
                let count = |codes: &[u32]| -> Vec<u64> {
                    let mut counts = vec![0u64; k];
                    for &c in codes {
                        if let Some(slot) = counts.get_mut(c as usize) {
                            *slot += 1;
                        }
                    }
                    counts
                };
                let (cr, cc) = (count(reference), count(current));
                let mut order: Vec<usize> = (0..k).filter(|&i| cr[i] + cc[i] > 0).collect();
                order.sort_by(|&a, &b| labels[a].cmp(&labels[b]));
                let r: Vec<u64> = order.iter().map(|&i| cr[i]).collect();
                let c: Vec<u64> = order.iter().map(|&i| cc[i]).collect();
                Summary {
                    n_reference: r.iter().sum::<u64>() as usize,
                    n_current: c.iter().sum::<u64>() as usize,
                    rows_reference,
                    rows_current,
                    n_unique: order.len(),
                    prepared: Prepared::Categorical {
                        reference: r,
                        current: c,
                    },
                }
            }
        }
    }

    pub fn missing_reference(&self) -> u64 {
        (self.rows_reference - self.n_reference) as u64
    }

    pub fn missing_current(&self) -> u64 {
        (self.rows_current - self.n_current) as u64
    }
}
