//! A model's outputs and the labels on one table's rows, as the performance calculations take
//! them: from a model's predictions, from a table's own prediction and score columns, or from
//! the held-out outcomes a trained classifier's profile carries.

use smelt_core::Prediction;

use crate::table::{Column, ColumnRole, MISSING, Table, Values};

/// A model's outputs and the labels on one table's rows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcomes {
    /// The classes (codes index them); `None` for a regressor.
    pub classes: Option<Vec<String>>,
    /// True class codes or values; NaN where missing.
    pub y_true: Option<Vec<f64>>,
    /// Predicted class codes or values; NaN where missing.
    pub y_pred: Option<Vec<f64>>,
    /// Probability of each class (classifiers), one column per class.
    pub proba: Vec<Vec<f64>>,
}

fn code_of(classes: &[String], label: &str) -> f64 {
    classes
        .iter()
        .position(|c| c == label)
        .map_or(f64::NAN, |k| k as f64)
}

/// A column's values as class codes into `classes` (by label) or as numbers.
pub(crate) fn codes_of(col: &Column, classes: Option<&[String]>) -> Vec<f64> {
    match (&col.values, classes) {
        (Values::Categorical { codes, labels }, Some(classes)) => {
            let map: Vec<f64> = labels.iter().map(|l| code_of(classes, l)).collect();
            codes
                .iter()
                .map(|&c| {
                    if c == MISSING {
                        f64::NAN
                    } else {
                        map[c as usize]
                    }
                })
                .collect()
        }
        (Values::Numeric(v), Some(classes)) => v
            .iter()
            .map(|x| {
                if x.is_nan() {
                    f64::NAN
                } else {
                    code_of(classes, &smelt_core::number_label(*x))
                }
            })
            .collect(),
        (Values::Categorical { codes, .. }, None) => codes
            .iter()
            .map(|&c| if c == MISSING { f64::NAN } else { c as f64 })
            .collect(),
        (Values::Numeric(v), None) => v.clone(),
    }
}

impl Outcomes {
    /// From a model's prediction on the table's rows (the target, if any, is read from the
    /// table's target column and mapped onto the model's classes by label).
    pub fn from_prediction(pred: &Prediction, table: &Table) -> Outcomes {
        let target = table.columns.iter().find(|c| c.role == ColumnRole::Target);
        match pred {
            Prediction::Regression { values } => Outcomes {
                classes: None,
                y_true: target.map(|t| codes_of(t, None)),
                y_pred: Some(values.clone()),
                proba: Vec::new(),
            },
            Prediction::Classification {
                labels,
                classes,
                proba,
            } => Outcomes {
                y_true: target.map(|t| codes_of(t, Some(classes))),
                y_pred: Some(labels.iter().map(|&c| c as f64).collect()),
                proba: proba
                    .as_ref()
                    .map(|p| {
                        (0..p.n_classes)
                            .map(|k| (0..p.n_rows()).map(|i| p.row(i)[k]).collect())
                            .collect()
                    })
                    .unwrap_or_default(),
                classes: Some(classes.clone()),
            },
            // Cluster ids and vectors have no performance to track against a target.
            Prediction::Clustering { .. } | Prediction::Embedding { .. } => Outcomes::default(),
        }
    }

    /// From the table's own columns: the target, the prediction and a binary classifier's
    /// score (`score`: the probability of the target's second label).
    pub fn from_columns(table: &Table, score: Option<&str>) -> Outcomes {
        let target = table.columns.iter().find(|c| c.role == ColumnRole::Target);
        let prediction = table
            .columns
            .iter()
            .find(|c| c.role == ColumnRole::Prediction && Some(c.name.as_str()) != score);
        let classes = match target.map(|t| &t.values) {
            Some(Values::Categorical { labels, .. }) => Some(labels.clone()),
            _ => None,
        };
        let score = score.and_then(|s| table.column(s));
        let proba = match (score.map(|c| &c.values), &classes) {
            (Some(Values::Numeric(p)), Some(c)) if c.len() == 2 => {
                vec![p.iter().map(|x| 1.0 - x).collect(), p.clone()]
            }
            _ => Vec::new(),
        };
        Outcomes {
            y_true: target.map(|t| codes_of(t, classes.as_deref())),
            y_pred: prediction.map(|p| codes_of(p, classes.as_deref())),
            proba,
            classes,
        }
    }

    /// From the held-out outcomes a trained classifier's profile carries
    /// ([`smelt_core::profile::OutcomeSample`]): a labelled reference for CBPE when the
    /// monitored tables have no labels.
    pub fn from_sample(s: &smelt_core::profile::OutcomeSample) -> Outcomes {
        let (n, k) = (s.len(), s.classes.len());
        Outcomes {
            classes: Some(s.classes.clone()),
            y_true: Some(s.target.iter().map(|&c| f64::from(c)).collect()),
            y_pred: Some(s.prediction.iter().map(|&c| f64::from(c)).collect()),
            proba: if s.proba.len() == n * k {
                (0..k)
                    .map(|c| (0..n).map(|i| s.proba[i * k + c]).collect())
                    .collect()
            } else {
                Vec::new()
            },
        }
    }

    /// The outcomes of `rows` (in that order).
    pub(crate) fn subset(&self, rows: &[usize]) -> Outcomes {
        let pick = |v: &Vec<f64>| rows.iter().map(|&i| v[i]).collect::<Vec<f64>>();
        Outcomes {
            classes: self.classes.clone(),
            y_true: self.y_true.as_ref().map(pick),
            y_pred: self.y_pred.as_ref().map(pick),
            proba: self.proba.iter().map(pick).collect(),
        }
    }

    /// Whether some row has a label.
    pub fn has_labels(&self) -> bool {
        self.y_true
            .as_ref()
            .is_some_and(|y| y.iter().any(|v| !v.is_nan()))
    }

    /// Classes, for a classifier.
    pub(crate) fn n_classes(&self) -> Option<usize> {
        self.classes.as_ref().map(Vec::len)
    }
}
