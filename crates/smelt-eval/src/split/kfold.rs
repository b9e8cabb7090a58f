//! [`KFold`] and [`RepeatedKFold`].

use smelt_core::rng::Rng;

use super::{Fold, SplitInput, Splitter, check_n_splits, check_rows};
use crate::error::{EvalError, Result};

/// K-fold: `n_splits` consecutive blocks of rows (the first `n_rows % n_splits` one row
/// larger), each the test set once — scikit-learn's `KFold`. With
/// [`with_shuffle`](KFold::with_shuffle) the rows are shuffled first (seeded).
///
/// Needs only the row count.
///
/// ```
/// use smelt_eval::split::{KFold, SplitInput, Splitter};
///
/// let folds = KFold::new(3)?.split(&SplitInput::new(7))?;
/// assert_eq!(folds[0].test, vec![0, 1, 2]);
/// assert_eq!(folds[2].train, vec![0, 1, 2, 3, 4]);
/// # Ok::<(), smelt_eval::EvalError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl KFold {
    /// `n_splits` folds (at least 2), rows in order.
    pub fn new(n_splits: usize) -> Result<Self> {
        check_n_splits("KFold", n_splits)?;
        Ok(KFold {
            n_splits,
            seed: None,
        })
    }

    /// Shuffles the rows (with [`Rng`] seeded by `seed`) before cutting the blocks.
    pub fn with_shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The seed, when shuffling.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }
}

/// One k-fold pass; `rng` shuffles the rows first.
pub(super) fn kfold(n_rows: usize, n_splits: usize, rng: Option<&mut Rng>) -> Vec<Fold> {
    let mut rows: Vec<usize> = (0..n_rows).collect();
    if let Some(rng) = rng {
        rng.shuffle(&mut rows);
    }
    let mut fold_of = vec![0; n_rows];
    let (size, extra) = (n_rows / n_splits, n_rows % n_splits);
    let mut start = 0;
    for f in 0..n_splits {
        let stop = start + size + usize::from(f < extra);
        for &row in &rows[start..stop] {
            fold_of[row] = f;
        }
        start = stop;
    }
    (0..n_splits)
        .map(|f| Fold::from_mask(|i| fold_of[i] == f, n_rows))
        .collect()
}

impl Splitter for KFold {
    fn name(&self) -> String {
        match self.seed {
            None => format!("KFold(n_splits={})", self.n_splits),
            Some(s) => format!("KFold(n_splits={}, shuffle=true, seed={s})", self.n_splits),
        }
    }

    fn n_splits(&self) -> usize {
        self.n_splits
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        check_rows("KFold", self.n_splits, input.n_rows)?;
        let mut rng = self.seed.map(Rng::new);
        Ok(kfold(input.n_rows, self.n_splits, rng.as_mut()))
    }
}

/// [`KFold`] with shuffling, `n_repeats` times, each repeat with a fresh shuffle from one
/// seeded stream — scikit-learn's `RepeatedKFold`. The first repeat equals
/// `KFold::new(n_splits)?.with_shuffle(seed)`; fold `r * n_splits + f` is fold `f` of repeat
/// `r`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepeatedKFold {
    n_splits: usize,
    n_repeats: usize,
    seed: u64,
}

/// Checks `n_repeats >= 1`.
pub(super) fn check_repeats(context: &str, n_repeats: usize) -> Result<()> {
    if n_repeats >= 1 {
        Ok(())
    } else {
        Err(EvalError::input_hint(
            context,
            "n_repeats must be at least 1, got 0",
            "use n_repeats = 1 or more (10 is scikit-learn's default)",
        ))
    }
}

impl RepeatedKFold {
    /// `n_repeats` (at least 1) shuffled k-folds of `n_splits` folds (at least 2).
    pub fn new(n_splits: usize, n_repeats: usize, seed: u64) -> Result<Self> {
        check_n_splits("RepeatedKFold", n_splits)?;
        check_repeats("RepeatedKFold", n_repeats)?;
        Ok(RepeatedKFold {
            n_splits,
            n_repeats,
            seed,
        })
    }

    /// The number of repeats.
    pub fn n_repeats(&self) -> usize {
        self.n_repeats
    }
}

impl Splitter for RepeatedKFold {
    fn name(&self) -> String {
        format!(
            "RepeatedKFold(n_splits={}, n_repeats={}, seed={})",
            self.n_splits, self.n_repeats, self.seed
        )
    }

    fn n_splits(&self) -> usize {
        self.n_splits * self.n_repeats
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        check_rows("RepeatedKFold", self.n_splits, input.n_rows)?;
        let mut rng = Rng::new(self.seed);
        let mut out = Vec::with_capacity(self.n_splits * self.n_repeats);
        for _ in 0..self.n_repeats {
            out.extend(kfold(input.n_rows, self.n_splits, Some(&mut rng)));
        }
        Ok(out)
    }
}
