//! [`StratifiedKFold`], [`RepeatedStratifiedKFold`] and [`StratifiedGroupKFold`].

use smelt_core::rng::Rng;

use super::group::check_groups;
use super::kfold::check_repeats;
use super::warn::small_class;
use super::{
    Fold, SplitInput, SplitWarning, Splitter, check_folds, check_n_splits, check_rows,
    unique_inverse,
};
use crate::error::{EvalError, Result};

/// Stratified k-fold: each class is spread over the folds as evenly as its size allows, so
/// every fold keeps the class proportions (each class within one row of its proportional
/// share) — scikit-learn's `StratifiedKFold`, reproduced exactly without shuffling.
///
/// Classes are taken in order of first appearance; rows of all classes, sorted by class, are
/// dealt round-robin to the folds to fix each fold's count per class, and each class's rows
/// then fill its folds in row order (as consecutive blocks). With
/// [`with_shuffle`](StratifiedKFold::with_shuffle) each class's fold labels are shuffled
/// (seeded, one [`Rng`] stream over the classes in order): the counts per fold stay the same.
///
/// Needs [`SplitInput::classes`]. Refuses when every class has fewer than `n_splits` rows;
/// when only some do, returns folds and [`Splitter::warnings`] reports
/// [`SplitWarning::SmallClass`] (scikit-learn's warning) and the folds that miss a class.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StratifiedKFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl StratifiedKFold {
    /// `n_splits` folds (at least 2), class rows in order.
    pub fn new(n_splits: usize) -> Result<Self> {
        check_n_splits("StratifiedKFold", n_splits)?;
        Ok(StratifiedKFold {
            n_splits,
            seed: None,
        })
    }

    /// Shuffles each class's rows over its folds (with [`Rng`] seeded by `seed`).
    pub fn with_shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// Class index of every row (classes numbered by first appearance) and each class's count.
fn encode_by_appearance(classes: &[u32]) -> (Vec<usize>, Vec<usize>, Vec<u32>) {
    let mut index = std::collections::HashMap::new();
    let mut counts: Vec<usize> = Vec::new();
    let mut codes = Vec::new();
    let encoded = classes
        .iter()
        .map(|&c| {
            let k = *index.entry(c).or_insert_with(|| {
                counts.push(0);
                codes.push(c);
                counts.len() - 1
            });
            counts[k] += 1;
            k
        })
        .collect();
    (encoded, counts, codes)
}

/// Refuses when every class has fewer than `n_splits` members (scikit-learn's error).
fn check_some_class_fits(
    context: &str,
    n_splits: usize,
    counts: &[usize],
    codes: &[u32],
) -> Result<()> {
    let Some((largest, &members)) = counts.iter().enumerate().max_by_key(|&(i, c)| (c, !i)) else {
        return Ok(());
    };
    if members >= n_splits {
        return Ok(());
    }
    Err(EvalError::input_hint(
        context,
        format!(
            "n_splits = {n_splits} is more than the rows of every class (the largest, class {}, has {members})",
            codes[largest]
        ),
        format!(
            "lower n_splits to at most {members}, or use KFold if stratification does not matter"
        ),
    ))
}

/// One stratified k-fold pass (scikit-learn's `_make_test_folds`).
fn stratified(classes: &[u32], n_splits: usize, mut rng: Option<&mut Rng>) -> Result<Vec<Fold>> {
    let n = classes.len();
    let (encoded, counts, codes) = encode_by_appearance(classes);
    check_some_class_fits("StratifiedKFold", n_splits, &counts, &codes)?;
    // Positions of the class-sorted rows dealt round-robin: class c occupies positions
    // [start, start + count); fold f gets those with position % n_splits == f.
    let mut fold_of = vec![0usize; n];
    let mut rows_of: Vec<Vec<usize>> = vec![Vec::new(); counts.len()];
    for (row, &c) in encoded.iter().enumerate() {
        rows_of[c].push(row);
    }
    let mut start = 0;
    for (c, rows) in rows_of.iter().enumerate() {
        let mut labels: Vec<usize> = Vec::with_capacity(rows.len());
        for f in 0..n_splits {
            let first = start + (f + n_splits - start % n_splits) % n_splits;
            let end = start + counts[c];
            let alloc = if first < end {
                (end - first).div_ceil(n_splits)
            } else {
                0
            };
            labels.extend(std::iter::repeat_n(f, alloc));
        }
        if let Some(rng) = rng.as_deref_mut() {
            rng.shuffle(&mut labels);
        }
        for (&row, &f) in rows.iter().zip(&labels) {
            fold_of[row] = f;
        }
        start += counts[c];
    }
    Ok((0..n_splits)
        .map(|f| Fold::from_mask(|i| fold_of[i] == f, n))
        .collect())
}

/// The stratified splitters' warnings: the least populated class first, then the folds'.
fn stratified_warnings(
    input: &SplitInput<'_>,
    folds: &[Fold],
    n_splits: usize,
) -> Vec<SplitWarning> {
    let mut out: Vec<SplitWarning> = input
        .classes
        .and_then(|c| small_class(c, n_splits))
        .into_iter()
        .collect();
    out.extend(check_folds(input, folds));
    out
}

impl Splitter for StratifiedKFold {
    fn name(&self) -> String {
        match self.seed {
            None => format!("StratifiedKFold(n_splits={})", self.n_splits),
            Some(s) => format!(
                "StratifiedKFold(n_splits={}, shuffle=true, seed={s})",
                self.n_splits
            ),
        }
    }

    fn n_splits(&self) -> usize {
        self.n_splits
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        let classes = input.need_classes("StratifiedKFold")?;
        check_rows("StratifiedKFold", self.n_splits, input.n_rows)?;
        let mut rng = self.seed.map(Rng::new);
        stratified(classes, self.n_splits, rng.as_mut())
    }

    fn warnings(&self, input: &SplitInput<'_>, folds: &[Fold]) -> Vec<SplitWarning> {
        stratified_warnings(input, folds, self.n_splits)
    }
}

/// [`StratifiedKFold`] with shuffling, `n_repeats` times from one seeded stream —
/// scikit-learn's `RepeatedStratifiedKFold`. The first repeat equals
/// `StratifiedKFold::new(n_splits)?.with_shuffle(seed)`; fold `r * n_splits + f` is fold `f`
/// of repeat `r`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepeatedStratifiedKFold {
    n_splits: usize,
    n_repeats: usize,
    seed: u64,
}

impl RepeatedStratifiedKFold {
    /// `n_repeats` (at least 1) shuffled stratified k-folds of `n_splits` folds (at least 2).
    pub fn new(n_splits: usize, n_repeats: usize, seed: u64) -> Result<Self> {
        check_n_splits("RepeatedStratifiedKFold", n_splits)?;
        check_repeats("RepeatedStratifiedKFold", n_repeats)?;
        Ok(RepeatedStratifiedKFold {
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

impl Splitter for RepeatedStratifiedKFold {
    fn name(&self) -> String {
        format!(
            "RepeatedStratifiedKFold(n_splits={}, n_repeats={}, seed={})",
            self.n_splits, self.n_repeats, self.seed
        )
    }

    fn n_splits(&self) -> usize {
        self.n_splits * self.n_repeats
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        let classes = input.need_classes("RepeatedStratifiedKFold")?;
        check_rows("RepeatedStratifiedKFold", self.n_splits, input.n_rows)?;
        let mut rng = Rng::new(self.seed);
        let mut out = Vec::with_capacity(self.n_splits * self.n_repeats);
        for _ in 0..self.n_repeats {
            out.extend(stratified(classes, self.n_splits, Some(&mut rng))?);
        }
        Ok(out)
    }

    fn warnings(&self, input: &SplitInput<'_>, folds: &[Fold]) -> Vec<SplitWarning> {
        stratified_warnings(input, folds, self.n_splits)
    }
}

/// Stratified k-fold over groups: whole groups go to the test folds (none on both sides)
/// while keeping each fold's class distribution close to the whole's — scikit-learn's
/// `StratifiedGroupKFold`, reproduced exactly without shuffling.
///
/// Groups are taken by decreasing spread of their class counts (standard deviation; ties in
/// group id order, or in a seeded shuffled order with
/// [`with_shuffle`](StratifiedGroupKFold::with_shuffle)); each goes to the fold where the mean
/// over classes of the folds' spread of class shares is smallest (near-ties: the fold with
/// fewer rows). This is a greedy heuristic: balance depends on the group sizes, and unlike
/// scikit-learn a test fold left without any group is an error (lower `n_splits`).
///
/// Needs [`SplitInput::classes`] and [`SplitInput::groups`]; at least `n_splits` distinct groups;
/// refuses when every class has fewer than `n_splits` rows and warns, like
/// [`StratifiedKFold`], when some do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StratifiedGroupKFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl StratifiedGroupKFold {
    /// `n_splits` folds (at least 2), groups in id order where the heuristic ties.
    pub fn new(n_splits: usize) -> Result<Self> {
        check_n_splits("StratifiedGroupKFold", n_splits)?;
        Ok(StratifiedGroupKFold {
            n_splits,
            seed: None,
        })
    }

    /// Shuffles the groups (with [`Rng`] seeded by `seed`) before the greedy assignment.
    pub fn with_shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }
}

/// numpy's pairwise summation of a contiguous run (`np.add.reduce` on float64), started from
/// 0: what `np.sum`, `np.mean` and `np.std` compute along a contiguous axis, to the last bit.
fn np_sum(a: &[f64]) -> f64 {
    const BLOCK: usize = 128;
    fn pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            a.iter().fold(0.0, |s, &v| s + v)
        } else if n <= BLOCK {
            let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
            let mut i = 8;
            while i < n - n % 8 {
                for (j, rj) in r.iter_mut().enumerate() {
                    *rj += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            for &v in &a[i..] {
                res += v;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            pairwise(&a[..n2]) + pairwise(&a[n2..])
        }
    }
    0.0 + pairwise(a)
}

/// `np.std` of values summed with `sum` (numpy's `_var`: mean = sum / n, then the sum of
/// squared deviations / n, then the square root).
fn np_std(values: &[f64], sum: fn(&[f64]) -> f64) -> f64 {
    let n = values.len() as f64;
    let mean = sum(values) / n;
    let sq: Vec<f64> = values
        .iter()
        .map(|&v| {
            let d = v - mean;
            d * d
        })
        .collect();
    (sum(&sq) / n).sqrt()
}

/// Summation along a non-contiguous axis (axis 0 of a matrix with several columns): numpy adds
/// row after row.
fn seq_sum(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |s, &v| s + v)
}

/// `np.isclose` with its default tolerances (both finite or equal).
fn np_isclose(a: f64, b: f64) -> bool {
    if a.is_finite() && b.is_finite() {
        (a - b).abs() <= 1e-8 + 1e-5 * b.abs()
    } else {
        a == b
    }
}

/// scikit-learn's `_find_best_fold`: the fold where adding `group` keeps the class shares most
/// even (mean over classes of the standard deviation over folds of count / class total).
fn best_fold(per_fold: &mut [Vec<f64>], class_totals: &[f64], group: &[f64]) -> usize {
    let (k, n_classes) = (per_fold.len(), class_totals.len());
    // Axis 0 of a (k, C) array is summed row by row unless C == 1 (then it is contiguous).
    let axis0: fn(&[f64]) -> f64 = if n_classes == 1 { np_sum } else { seq_sum };
    let mut best = 0;
    let mut min_eval = f64::INFINITY;
    let mut min_samples = f64::INFINITY;
    let mut column = vec![0.0; k];
    let mut std_per_class = vec![0.0; n_classes];
    for i in 0..k {
        for (v, g) in per_fold[i].iter_mut().zip(group) {
            *v += g;
        }
        for (c, s) in std_per_class.iter_mut().enumerate() {
            for (f, x) in column.iter_mut().enumerate() {
                *x = per_fold[f][c] / class_totals[c];
            }
            *s = np_std(&column, axis0);
        }
        for (v, g) in per_fold[i].iter_mut().zip(group) {
            *v -= g;
        }
        let eval = np_sum(&std_per_class) / n_classes as f64;
        let samples = np_sum(&per_fold[i]);
        if eval < min_eval || (np_isclose(eval, min_eval) && samples < min_samples) {
            min_eval = eval;
            min_samples = samples;
            best = i;
        }
    }
    best
}

impl Splitter for StratifiedGroupKFold {
    fn name(&self) -> String {
        match self.seed {
            None => format!("StratifiedGroupKFold(n_splits={})", self.n_splits),
            Some(s) => format!(
                "StratifiedGroupKFold(n_splits={}, shuffle=true, seed={s})",
                self.n_splits
            ),
        }
    }

    fn n_splits(&self) -> usize {
        self.n_splits
    }

    fn split(&self, input: &SplitInput<'_>) -> Result<Vec<Fold>> {
        const CONTEXT: &str = "StratifiedGroupKFold";
        let classes = input.need_classes(CONTEXT)?;
        let groups = input.need_groups(CONTEXT)?;
        let (n, k) = (input.n_rows, self.n_splits);
        check_rows(CONTEXT, k, n)?;
        let (class_codes, class_of) = unique_inverse(classes);
        let mut counts = vec![0usize; class_codes.len()];
        for &c in &class_of {
            counts[c] += 1;
        }
        check_some_class_fits(CONTEXT, k, &counts, &class_codes)?;
        let (uniq_groups, mut group_of) = unique_inverse(groups);
        let n_groups = uniq_groups.len();
        check_groups(CONTEXT, k, n_groups)?;
        let n_classes = class_codes.len();
        let mut per_group = vec![vec![0.0f64; n_classes]; n_groups];
        for (&g, &c) in group_of.iter().zip(&class_of) {
            per_group[g][c] += 1.0;
        }
        if let Some(seed) = self.seed {
            let mut perm: Vec<usize> = (0..n_groups).collect();
            Rng::new(seed).shuffle(&mut perm);
            let mut inverse = vec![0; n_groups];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p] = i;
            }
            per_group = perm.iter().map(|&p| per_group[p].clone()).collect();
            for g in &mut group_of {
                *g = inverse[*g];
            }
        }
        let spread: Vec<f64> = per_group.iter().map(|r| np_std(r, np_sum)).collect();
        let mut order: Vec<usize> = (0..n_groups).collect();
        // np.argsort(-std, kind="stable"): largest spread first, ties in order.
        order.sort_by(|&a, &b| spread[b].total_cmp(&spread[a]));
        let class_totals: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
        let mut per_fold = vec![vec![0.0f64; n_classes]; k];
        let mut fold_of_group = vec![0usize; n_groups];
        for g in order {
            let best = best_fold(&mut per_fold, &class_totals, &per_group[g]);
            for (v, x) in per_fold[best].iter_mut().zip(&per_group[g]) {
                *v += x;
            }
            fold_of_group[g] = best;
        }
        let folds: Vec<Fold> = (0..k)
            .map(|f| Fold::from_mask(|i| fold_of_group[group_of[i]] == f, n))
            .collect();
        if let Some(empty) = folds.iter().position(|f| f.test.is_empty()) {
            return Err(EvalError::input_hint(
                CONTEXT,
                format!(
                    "test fold {empty} received no group: {n_groups} groups could not be spread over {k} folds while keeping the class balance"
                ),
                "lower n_splits, or use GroupKFold (which fills every fold)",
            ));
        }
        Ok(folds)
    }

    fn warnings(&self, input: &SplitInput<'_>, folds: &[Fold]) -> Vec<SplitWarning> {
        stratified_warnings(input, folds, self.n_splits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn np_sum_and_std_match_numpy_to_the_bit() {
        // Values from numpy 2.4 (`a.sum()`, `np.std(a)`); a plain left-to-right sum differs.
        let a = [
            1e16, 1.0, -1e16, 3.5, 1e-3, 7.25, 1e15, 0.1, 0.2, 0.3, -1e15, 0.7, 1.1, 2.2, 3.3, 4.4,
            5.5, 1e10, -1e10, 0.9,
        ];
        assert_eq!(np_sum(&a), 30.65);
        assert_ne!(seq_sum(&a), 30.65);
        assert_eq!(np_std(&a, np_sum), 3178049716415714.5);
        // Over 128 values: the recursive halves.
        let b: Vec<f64> = (0..300).map(|i| i as f64 * 0.1 + 1e-7).collect();
        assert_eq!(np_sum(&b), 4485.00003);
        assert_eq!(seq_sum(&b), 4485.000030000002);
    }

    #[test]
    fn np_isclose_defaults() {
        assert!(np_isclose(1.0, 1.0 + 1e-6));
        assert!(!np_isclose(1.0, 1.001));
        assert!(!np_isclose(0.5, f64::INFINITY));
        assert!(np_isclose(f64::INFINITY, f64::INFINITY));
    }

    #[test]
    fn allocation_matches_round_robin() {
        // Class counts 7 and 3 over 3 folds: round robin over the class-sorted rows.
        let classes = [0, 0, 0, 0, 0, 0, 0, 1, 1, 1];
        let folds = stratified(&classes, 3, None).unwrap();
        let per_fold: Vec<(usize, usize)> = folds
            .iter()
            .map(|f| {
                let ones = f.test.iter().filter(|&&i| classes[i] == 1).count();
                (f.test.len() - ones, ones)
            })
            .collect();
        assert_eq!(per_fold, [(3, 1), (2, 1), (2, 1)]);
    }
}
