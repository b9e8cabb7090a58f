//! [`SplitWarning`] and [`check_folds`].

use std::collections::BTreeMap;
use std::fmt;

use super::{Fold, SplitInput};

/// A problem with folds that does not stop the split but may spoil a score. Fold numbers are
/// indices into the folds (from 0); classes are the codes of [`SplitInput::classes`] (name
/// them with [`SplitWarning::message`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SplitWarning {
    /// The least populated class has fewer rows than there are folds, so some test folds miss
    /// it (scikit-learn's `UserWarning` of the stratified splitters).
    SmallClass {
        /// The class code.
        class: u32,
        /// Its rows.
        members: usize,
        /// The folds per repeat.
        n_splits: usize,
    },
    /// A test fold has no rows.
    EmptyTest {
        /// The fold.
        fold: usize,
    },
    /// A training set has no rows.
    EmptyTrain {
        /// The fold.
        fold: usize,
    },
    /// Every test row of the fold has the same class (ROC AUC, for one, is undefined).
    SingleClassTest {
        /// The fold.
        fold: usize,
        /// The only class.
        class: u32,
    },
    /// Every training row of the fold has the same class (a classifier cannot be fitted).
    SingleClassTrain {
        /// The fold.
        fold: usize,
        /// The only class.
        class: u32,
    },
    /// A class has test rows but no training rows in the fold (the model cannot predict it).
    ClassMissingFromTrain {
        /// The fold.
        fold: usize,
        /// The class.
        class: u32,
        /// Its test rows.
        test_rows: usize,
    },
    /// A class has no test row in the fold (its per-class scores are undefined there).
    ClassMissingFromTest {
        /// The fold.
        fold: usize,
        /// The class.
        class: u32,
    },
}

impl SplitWarning {
    /// The warning as a sentence, classes named by `class_name` (a code → label lookup, so a
    /// caller can say "fold 3 has a single class `yes`").
    ///
    /// ```
    /// use smelt_eval::split::SplitWarning;
    ///
    /// let w = SplitWarning::SingleClassTest { fold: 3, class: 1 };
    /// let labels = ["no", "yes"];
    /// let msg = w.message(&|c| format!("`{}`", labels[c as usize]));
    /// assert_eq!(msg, "test fold 3 has a single class `yes`");
    /// assert_eq!(w.to_string(), "test fold 3 has a single class 1");
    /// ```
    pub fn message(&self, class_name: &dyn Fn(u32) -> String) -> String {
        match *self {
            SplitWarning::SmallClass {
                class,
                members,
                n_splits,
            } => format!(
                "the least populated class, {}, has only {members} rows, fewer than n_splits = {n_splits}: some test folds have none of it",
                class_name(class)
            ),
            SplitWarning::EmptyTest { fold } => format!("test fold {fold} is empty"),
            SplitWarning::EmptyTrain { fold } => format!("fold {fold} has no training rows"),
            SplitWarning::SingleClassTest { fold, class } => {
                format!("test fold {fold} has a single class {}", class_name(class))
            }
            SplitWarning::SingleClassTrain { fold, class } => format!(
                "the training set of fold {fold} has a single class {}",
                class_name(class)
            ),
            SplitWarning::ClassMissingFromTrain {
                fold,
                class,
                test_rows,
            } => format!(
                "class {} has {test_rows} test rows in fold {fold} but no training rows",
                class_name(class)
            ),
            SplitWarning::ClassMissingFromTest { fold, class } => {
                format!("test fold {fold} has no row of class {}", class_name(class))
            }
        }
    }

    /// The fold the warning is about (`None` for [`SplitWarning::SmallClass`]).
    pub fn fold(&self) -> Option<usize> {
        match *self {
            SplitWarning::SmallClass { .. } => None,
            SplitWarning::EmptyTest { fold }
            | SplitWarning::EmptyTrain { fold }
            | SplitWarning::SingleClassTest { fold, .. }
            | SplitWarning::SingleClassTrain { fold, .. }
            | SplitWarning::ClassMissingFromTrain { fold, .. }
            | SplitWarning::ClassMissingFromTest { fold, .. } => Some(fold),
        }
    }
}

impl fmt::Display for SplitWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message(&|c| c.to_string()))
    }
}

/// scikit-learn's stratified warning: the least populated class (ties: the smallest code) when
/// it has fewer than `n_splits` rows.
pub(super) fn small_class(classes: &[u32], n_splits: usize) -> Option<SplitWarning> {
    let mut counts: BTreeMap<u32, usize> = BTreeMap::new();
    for &c in classes {
        *counts.entry(c).or_default() += 1;
    }
    let (&class, &members) = counts.iter().min_by_key(|&(_, &m)| m)?;
    (members < n_splits).then_some(SplitWarning::SmallClass {
        class,
        members,
        n_splits,
    })
}

/// Problems with `folds` made from `input`, fold by fold: empty sides, and where `input` has
/// class codes, a side with a single class, a class with test rows but no training rows, a
/// class absent from a test fold. Indices outside `input` are skipped. Empty when all is well.
///
/// Works for the folds of any splitter (say, [`KFold`](super::KFold) on a classification
/// target); [`Splitter::warnings`](super::Splitter::warnings) calls it.
pub fn check_folds(input: &SplitInput<'_>, folds: &[Fold]) -> Vec<SplitWarning> {
    let mut out = Vec::new();
    let classes = input.classes.filter(|c| c.len() == input.n_rows);
    let all: BTreeMap<u32, usize> = classes.map_or_else(BTreeMap::new, |c| {
        let mut m = BTreeMap::new();
        for &k in c {
            *m.entry(k).or_insert(0usize) += 1;
        }
        m
    });
    let count = |rows: &[usize]| -> BTreeMap<u32, usize> {
        let mut m = BTreeMap::new();
        if let Some(c) = classes {
            for &i in rows {
                if let Some(&k) = c.get(i) {
                    *m.entry(k).or_insert(0usize) += 1;
                }
            }
        }
        m
    };
    for (fold, f) in folds.iter().enumerate() {
        if f.test.is_empty() {
            out.push(SplitWarning::EmptyTest { fold });
        }
        if f.train.is_empty() {
            out.push(SplitWarning::EmptyTrain { fold });
        }
        if classes.is_none() {
            continue;
        }
        let (train, test) = (count(&f.train), count(&f.test));
        // The single class of a side, where the data has several.
        let only = |m: &BTreeMap<u32, usize>| match (all.len() > 1, m.len()) {
            (true, 1) => m.keys().next().copied(),
            _ => None,
        };
        if let Some(class) = only(&test) {
            out.push(SplitWarning::SingleClassTest { fold, class });
        }
        if let Some(class) = only(&train) {
            out.push(SplitWarning::SingleClassTrain { fold, class });
        }
        for (&class, &test_rows) in &test {
            if !train.contains_key(&class) && !f.train.is_empty() {
                out.push(SplitWarning::ClassMissingFromTrain {
                    fold,
                    class,
                    test_rows,
                });
            }
        }
        if !f.test.is_empty() {
            for &class in all.keys() {
                if !test.contains_key(&class) {
                    out.push(SplitWarning::ClassMissingFromTest { fold, class });
                }
            }
        }
    }
    out
}
