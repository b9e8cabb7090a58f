//! Cross-validation splitters: scikit-learn's `model_selection` k-fold family, on row indices.
//!
//! A [`Splitter`] turns a [`SplitInput`] (the row count, and where needed class codes, group
//! ids or a time order) into owned [`Fold`]s: sorted train and test row indices. Splits are
//! cheap and computed once, up front, so a cross-validation loop can hand the folds to as many
//! threads as it likes.
//!
//! | splitter | rows of a test fold | use it when |
//! |---|---|---|
//! | [`KFold`] | a contiguous block (or a seeded shuffle) | rows are independent; regression |
//! | [`StratifiedKFold`] | each class spread evenly over the folds | classification, above all with rare classes |
//! | [`GroupKFold`] | whole groups, folds of similar size | several rows per patient, user, session…: no group on both sides |
//! | [`StratifiedGroupKFold`] | whole groups, class balance kept as well as the groups allow | groups *and* imbalanced classes |
//! | [`TimeSeriesSplit`] | the next block in time; train is everything earlier (optionally a window, a gap) | forecasting; anything where the future must not leak into the past |
//! | [`RepeatedKFold`] | [`KFold`] with shuffling, repeated with fresh shuffles | small data: average over repeats for a steadier estimate |
//! | [`RepeatedStratifiedKFold`] | [`StratifiedKFold`] with shuffling, repeated | small, imbalanced classification data |
//! | [`PredefinedSplit`] | the fold each row was given (`-1`: always train) | a fixed validation set, or folds made elsewhere |
//!
//! # Parity with scikit-learn
//!
//! Without shuffling every splitter returns exactly scikit-learn 1.9's folds (committed
//! fixtures, `tools/fixtures/splitters.py`): [`KFold`], [`StratifiedKFold`] (class order of first
//! appearance, round-robin allocation), [`GroupKFold`] (largest groups first into the lightest
//! fold), [`StratifiedGroupKFold`] (including numpy's floating-point summation order, which
//! decides its ties), [`TimeSeriesSplit`] and [`PredefinedSplit`]. With shuffling,
//! scikit-learn's numpy generator cannot be reproduced: Smelt shuffles at the same points with
//! [`smelt_core::rng::Rng`], seeded, so a seed gives the same folds on every machine and in every
//! future version; the folds keep the same guarantees (sizes, class balance, whole groups).
//!
//! Deliberate differences, each an error where scikit-learn would hand back something
//! unusable: a test fold left empty by [`StratifiedGroupKFold`], a [`PredefinedSplit`] fold
//! that leaves no training row, and [`PredefinedSplit`] fold ids below `-1`.
//!
//! # Warnings
//!
//! Like scikit-learn, [`StratifiedKFold`] returns folds when some class has fewer members than
//! `n_splits` (it refuses only when *every* class does). Those folds, and folds of any splitter
//! on classification data, can be poor: a test fold of a single class (ROC AUC is undefined),
//! a class missing from a training set. [`Splitter::warnings`] lists such problems as
//! [`SplitWarning`]s (with scikit-learn's "least populated class" warning first for the
//! stratified splitters); [`SplitWarning::message`] names classes by label.
//!
//! # Relation to `smelt_data::split`
//!
//! `smelt_data::split::folds` (the `smelt data split --folds` command) assigns folds with its
//! own algorithms (a seeded round-robin over shuffled classes, a seeded tie-break between equal
//! groups, tie-aware time blocks) and SplitMix64; its output is fixed by CLI snapshots. The
//! splitters here reproduce scikit-learn instead, so the two are different algorithms and share
//! no code.
//!
//! # Example
//!
//! ```
//! use smelt_eval::split::{SplitInput, Splitter, StratifiedKFold};
//!
//! let classes = [0, 0, 0, 0, 1, 1, 0, 0, 1, 0];
//! let cv = StratifiedKFold::new(2)?;
//! let folds = cv.split(&SplitInput::new(10).with_classes(&classes))?;
//! assert_eq!(folds.len(), 2);
//! // Fold 0 tests 4 of class 0's 7 rows and 1 of class 1's 3: the first ones, in row order.
//! assert_eq!(folds[0].test, vec![0, 1, 2, 3, 4]);
//! assert_eq!(folds[0].train, vec![5, 6, 7, 8, 9]);
//! assert!(cv.warnings(&SplitInput::new(10).with_classes(&classes), &folds).is_empty());
//! # Ok::<(), smelt_eval::EvalError>(())
//! ```

mod group;
mod kfold;
mod predefined;
mod stratified;
mod time;
mod warn;

pub use group::GroupKFold;
pub use kfold::{KFold, RepeatedKFold};
pub use predefined::PredefinedSplit;
pub use stratified::{RepeatedStratifiedKFold, StratifiedGroupKFold, StratifiedKFold};
pub use time::{TimeSeriesSplit, time_order};
pub use warn::{SplitWarning, check_folds};

use crate::error::{EvalError, Result};

/// One train/test pair of row indices, each sorted ascending and disjoint.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Fold {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows to score on.
    pub test: Vec<usize>,
}

impl Fold {
    /// The fold with only its first `n` training rows (all of them when it has fewer), the
    /// test rows unchanged: a learning curve's or successive halving's smaller resource.
    pub fn with_train_rows(&self, n: usize) -> Fold {
        Fold {
            train: self.train[..n.min(self.train.len())].to_vec(),
            test: self.test.clone(),
        }
    }

    /// The fold whose test rows are those with `in_test[i]`, the rest train.
    pub(crate) fn from_mask(in_test: impl Fn(usize) -> bool, n_rows: usize) -> Fold {
        let (test, train) = (0..n_rows).partition(|&i| in_test(i));
        Fold { train, test }
    }
}

/// What a splitter may look at: the row count and, per row, what the splitter needs.
///
/// * `classes`: class codes (any `u32` values, one per row) for the stratified splitters. Codes
///   need not be dense; [`StratifiedKFold`] orders classes by first appearance and
///   [`StratifiedGroupKFold`] by code, as scikit-learn does with its labels.
/// * `groups`: group ids, one per row, for the group splitters. Any column becomes ids by
///   coding its distinct values (`u64` fits integers, hashes, dictionary codes). Ids are
///   compared as numbers: to reproduce scikit-learn's folds for string groups, number the
///   labels in sorted order (as `np.unique` would).
/// * `order`: for [`TimeSeriesSplit`], the rows in time order (a permutation of `0..n_rows`;
///   see [`time_order`]), so a table with a time column need not be sorted first. Without it,
///   rows are taken to be in time order already, as scikit-learn assumes.
///
/// Splitters ignore what they do not use (as scikit-learn's `KFold` ignores `y`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitInput<'a> {
    /// Number of rows.
    pub n_rows: usize,
    /// Class codes, one per row (stratified splitters).
    pub classes: Option<&'a [u32]>,
    /// Group ids, one per row (group splitters).
    pub groups: Option<&'a [u64]>,
    /// Rows in time order, a permutation of `0..n_rows` ([`TimeSeriesSplit`]).
    pub order: Option<&'a [usize]>,
}

impl<'a> SplitInput<'a> {
    /// `n_rows` rows with nothing else.
    pub fn new(n_rows: usize) -> Self {
        SplitInput {
            n_rows,
            ..Default::default()
        }
    }

    /// With class codes (one per row).
    pub fn with_classes(mut self, classes: &'a [u32]) -> Self {
        self.classes = Some(classes);
        self
    }

    /// With group ids (one per row).
    pub fn with_groups(mut self, groups: &'a [u64]) -> Self {
        self.groups = Some(groups);
        self
    }

    /// With the rows' time order (a permutation of `0..n_rows`, earliest first).
    pub fn with_order(mut self, order: &'a [usize]) -> Self {
        self.order = Some(order);
        self
    }

    /// The class codes, checked: present and one per row.
    pub(crate) fn need_classes(&self, context: &str) -> Result<&'a [u32]> {
        let classes = self.classes.ok_or_else(|| {
            EvalError::input_hint(
                context,
                "needs class codes (one per row) to stratify on",
                "pass them with `SplitInput::with_classes`; for a regression target use KFold",
            )
        })?;
        check_len(context, "classes", classes.len(), self.n_rows)?;
        Ok(classes)
    }

    /// The group ids, checked: present and one per row.
    pub(crate) fn need_groups(&self, context: &str) -> Result<&'a [u64]> {
        let groups = self.groups.ok_or_else(|| {
            EvalError::input_hint(
                context,
                "needs group ids (one per row) to keep each group on one side",
                "pass them with `SplitInput::with_groups` (code any column's values as integers)",
            )
        })?;
        check_len(context, "groups", groups.len(), self.n_rows)?;
        Ok(groups)
    }
}

/// Checks that a per-row input has one value per row.
fn check_len(context: &str, what: &str, len: usize, n_rows: usize) -> Result<()> {
    if len == n_rows {
        Ok(())
    } else {
        Err(EvalError::input_hint(
            context,
            format!("`{what}` has {len} values for {n_rows} rows"),
            format!("pass one entry of `{what}` per row, in row order"),
        ))
    }
}

/// A cross-validation splitter (object-safe: keep one as `Box<dyn Splitter>`).
pub trait Splitter: Send + Sync + std::fmt::Debug {
    /// The splitter and its parameters, as scikit-learn prints them
    /// (`KFold(n_splits=5, shuffle=true, seed=0)`).
    fn name(&self) -> String;

    /// How many folds [`Splitter::split`] returns, counting repeats (for [`PredefinedSplit`],
    /// the number of distinct fold ids).
    fn n_splits(&self) -> usize;

    /// The folds, in order (repeated splitters: repeat by repeat). Errors name the problem
    /// (too few rows, classes or groups, a missing or mis-sized input) with a hint.
    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>>;

    /// Problems with folds this splitter made from `input` that do not stop a split but may
    /// spoil a score ([`check_folds`]; stratified splitters first add scikit-learn's warning
    /// about a class with fewer members than `n_splits`).
    fn warnings(&self, input: &SplitInput<'_>, folds: &[Fold]) -> Vec<SplitWarning> {
        check_folds(input, folds)
    }
}

/// Checks `n_splits >= 2` (every k-fold splitter).
pub(crate) fn check_n_splits(context: &str, n_splits: usize) -> Result<()> {
    if n_splits >= 2 {
        Ok(())
    } else {
        Err(EvalError::input_hint(
            context,
            format!("n_splits must be at least 2, got {n_splits}"),
            "cross-validation needs at least one train/test split: use n_splits = 2 or more (5 is usual)",
        ))
    }
}

/// Checks `n_splits <= n_rows` (scikit-learn's `_BaseKFold.split`).
pub(crate) fn check_rows(context: &str, n_splits: usize, n_rows: usize) -> Result<()> {
    if n_splits <= n_rows {
        Ok(())
    } else {
        Err(EvalError::input_hint(
            context,
            format!("cannot make {n_splits} folds from {n_rows} rows"),
            format!("lower n_splits to at most {n_rows}, or split more rows"),
        ))
    }
}

/// Sorted distinct values and, per row, the index of its value among them (`np.unique`'s
/// `return_inverse`).
pub(crate) fn unique_inverse<T: Ord + Copy>(values: &[T]) -> (Vec<T>, Vec<usize>) {
    let mut uniq = values.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let inverse = values
        .iter()
        .map(|v| uniq.binary_search(v).unwrap_or_default())
        .collect();
    (uniq, inverse)
}
