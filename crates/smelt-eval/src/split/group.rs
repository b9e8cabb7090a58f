//! [`GroupKFold`].

use smelt_core::rng::Rng;

use super::{Fold, SplitInput, Splitter, check_n_splits, check_rows, unique_inverse};
use crate::error::{EvalError, Result};

/// K-fold over groups: every group lands in exactly one test fold, so no group is on both
/// sides of a split — scikit-learn's `GroupKFold`.
///
/// Without shuffling (scikit-learn 1.9's algorithm, reproduced exactly) the groups go, largest
/// first, into the fold with the fewest rows so far (ties: the later group id first, the first
/// such fold), so folds have similar row counts. With [`with_shuffle`](GroupKFold::with_shuffle)
/// the distinct groups are shuffled (seeded) and cut into `n_splits` runs of equal group count
/// (the first `n_groups % n_splits` one group longer): fold sizes in rows then vary with the
/// group sizes.
///
/// Needs [`SplitInput::groups`]; at least `n_splits` distinct groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupKFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl GroupKFold {
    /// `n_splits` folds (at least 2), balanced by rows.
    pub fn new(n_splits: usize) -> Result<Self> {
        check_n_splits("GroupKFold", n_splits)?;
        Ok(GroupKFold {
            n_splits,
            seed: None,
        })
    }

    /// Shuffles the groups (with [`Rng`] seeded by `seed`) and splits them into equal counts.
    pub fn with_shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// Checks that there are at least `n_splits` distinct groups.
pub(super) fn check_groups(context: &str, n_splits: usize, n_groups: usize) -> Result<()> {
    if n_splits <= n_groups {
        Ok(())
    } else {
        Err(EvalError::input_hint(
            context,
            format!("cannot make {n_splits} folds from {n_groups} distinct groups"),
            format!(
                "lower n_splits to at most {n_groups}: every test fold needs at least one whole group"
            ),
        ))
    }
}

impl Splitter for GroupKFold {
    fn name(&self) -> String {
        match self.seed {
            None => format!("GroupKFold(n_splits={})", self.n_splits),
            Some(s) => format!(
                "GroupKFold(n_splits={}, shuffle=true, seed={s})",
                self.n_splits
            ),
        }
    }

    fn n_splits(&self) -> usize {
        self.n_splits
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        let groups = input.need_groups("GroupKFold")?;
        let (n, k) = (input.n_rows, self.n_splits);
        check_rows("GroupKFold", k, n)?;
        let (uniq, group_of) = unique_inverse(groups);
        let n_groups = uniq.len();
        check_groups("GroupKFold", k, n_groups)?;
        let mut fold_of_group = vec![0usize; n_groups];
        match self.seed {
            Some(seed) => {
                let mut perm: Vec<usize> = (0..n_groups).collect();
                Rng::new(seed).shuffle(&mut perm);
                // np.array_split: the first n_groups % k runs one longer.
                let (size, extra) = (n_groups / k, n_groups % k);
                let mut start = 0;
                for f in 0..k {
                    let stop = start + size + usize::from(f < extra);
                    for &g in &perm[start..stop] {
                        fold_of_group[g] = f;
                    }
                    start = stop;
                }
            }
            None => {
                let mut sizes = vec![0usize; n_groups];
                for &g in &group_of {
                    sizes[g] += 1;
                }
                // np.argsort(sizes, kind="stable")[::-1]: largest first, ties by later group.
                let mut by_size: Vec<usize> = (0..n_groups).collect();
                by_size.sort_by_key(|&g| sizes[g]);
                by_size.reverse();
                let mut load = vec![0usize; k];
                for g in by_size {
                    let mut lightest = 0;
                    for f in 1..k {
                        if load[f] < load[lightest] {
                            lightest = f;
                        }
                    }
                    load[lightest] += sizes[g];
                    fold_of_group[g] = lightest;
                }
            }
        }
        Ok((0..k)
            .map(|f| Fold::from_mask(|i| fold_of_group[group_of[i]] == f, n))
            .collect())
    }
}
