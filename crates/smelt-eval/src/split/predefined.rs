//! [`PredefinedSplit`].

use super::{Fold, SplitInput, Splitter};
use crate::error::{EvalError, Result};

/// Folds given row by row: `test_fold[i]` is the fold whose test set holds row `i`, `-1`
/// keeps the row in every training set — scikit-learn's `PredefinedSplit`, reproduced exactly.
/// Folds come in increasing id order; ids need not be consecutive.
///
/// Use it for a fixed validation set (`-1` for training rows, `0` for validation rows: one
/// fold) or for folds made elsewhere. Unlike scikit-learn, ids below `-1` are refused (they are
/// more likely a mistake than a fold), and so is a fold holding every row, which would leave
/// nothing to train on.
///
/// ```
/// use smelt_eval::split::{PredefinedSplit, SplitInput, Splitter};
///
/// let cv = PredefinedSplit::new(vec![0, 1, -1, 1])?;
/// assert_eq!(cv.n_splits(), 2);
/// let folds = cv.split(&SplitInput::new(4))?;
/// assert_eq!((folds[1].train.clone(), folds[1].test.clone()), (vec![0, 2], vec![1, 3]));
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredefinedSplit {
    test_fold: Vec<i64>,
    ids: Vec<i64>,
}

const CONTEXT: &str = "PredefinedSplit";

impl PredefinedSplit {
    /// From one fold id per row (`-1`: never in a test set). Needs at least one id other than
    /// `-1`, and none below `-1`.
    pub fn new(test_fold: Vec<i64>) -> Result<Self> {
        if let Some(pos) = test_fold.iter().position(|&f| f < -1) {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!(
                    "test_fold[{pos}] is {}: fold ids must be -1 (always train) or 0 and above",
                    test_fold[pos]
                ),
                "mark rows that should never be tested with -1",
            ));
        }
        let mut ids: Vec<i64> = test_fold.iter().copied().filter(|&f| f != -1).collect();
        ids.sort_unstable();
        ids.dedup();
        if ids.is_empty() {
            return Err(EvalError::input_hint(
                CONTEXT,
                "every row is -1 (always train), so there is no test fold",
                "give the rows of each test fold a fold id of 0 or above",
            ));
        }
        Ok(PredefinedSplit { test_fold, ids })
    }

    /// The fold ids in the order of the folds.
    pub fn fold_ids(&self) -> &[i64] {
        &self.ids
    }
}

impl Splitter for PredefinedSplit {
    fn name(&self) -> String {
        format!(
            "PredefinedSplit(rows={}, folds={})",
            self.test_fold.len(),
            self.ids.len()
        )
    }

    fn n_splits(&self) -> usize {
        self.ids.len()
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        let n = self.test_fold.len();
        if input.n_rows != n {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!("`test_fold` has {n} entries for {} rows", input.n_rows),
                "give one fold id per row (-1 keeps the row in every training set)",
            ));
        }
        self.ids
            .iter()
            .map(|&id| {
                let fold = Fold::from_mask(|i| self.test_fold[i] == id, n);
                if fold.train.is_empty() {
                    return Err(EvalError::input_hint(
                        CONTEXT,
                        format!("fold {id} holds every row, leaving no row to train on"),
                        "use at least two fold ids, or mark training rows with -1",
                    ));
                }
                Ok(fold)
            })
            .collect()
    }
}
