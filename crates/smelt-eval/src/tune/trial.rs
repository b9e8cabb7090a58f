//! A trial of a study and how it ended; the direction a study optimises in.

use serde::Serialize;
use serde_json::{Map, Value};

/// Whether the objective is maximised or minimised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Greater is better (accuracy, ROC-AUC, R²).
    Maximize,
    /// Lower is better (log loss, RMSE).
    Minimize,
}

impl Direction {
    /// The direction of a metric.
    pub fn of(greater_is_better: bool) -> Direction {
        if greater_is_better {
            Direction::Maximize
        } else {
            Direction::Minimize
        }
    }

    /// Whether `a` is strictly better than `b`.
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Direction::Maximize => a > b,
            Direction::Minimize => a < b,
        }
    }

    /// A value to minimise (the value itself, or its negation when maximising).
    pub fn loss(self, v: f64) -> f64 {
        match self {
            Direction::Maximize => -v,
            Direction::Minimize => v,
        }
    }
}

/// How a trial ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialState {
    /// The objective returned a finite value.
    Complete,
    /// Stopped early: its intermediate scores were worse than the other trials'.
    Pruned,
    /// The objective failed (for example, a parameter combination the model refuses).
    Failed,
}

/// One evaluated set of parameters.
#[derive(Clone, Debug, Serialize)]
pub struct Trial {
    /// 0-based trial number.
    pub number: usize,
    /// The parameters tried (only those active in this trial).
    pub params: Map<String, Value>,
    /// The objective's value (complete trials).
    pub value: Option<f64>,
    /// Intermediate scores reported at each step (a fold, a boosting round).
    pub intermediate: Vec<(u64, f64)>,
    /// How it ended.
    pub state: TrialState,
    /// Wall-clock seconds of the objective.
    pub seconds: f64,
    /// Why it failed.
    pub error: Option<String>,
}
