//! Leakage-safe, seeded splits: random, stratified, group and temporal, and their k-fold
//! variants (the same code drives cross-validation).
//!
//! All work on row indices ([`SplitInputs`] → [`Split`]), so they apply to a DataFrame, a
//! [`smelt_core::Dataset`] or anything else with rows. Randomness comes from SplitMix64 seeded
//! by the caller: the same seed gives the same split on every machine and in every future
//! version of Smelt (the generator is ours, not a dependency's, for exactly that reason).
//!
//! | strategy | guarantee |
//! |---|---|
//! | random | `round(n × test)` rows in test |
//! | stratified | each class split in the same proportions (largest-remainder rounding) |
//! | group | no group on both sides; `ceil(groups × test)` groups in test (as scikit-learn's `GroupShuffleSplit`) |
//! | temporal | every train time < every test time, minus an optional gap; ties stay together |
//!
//! Index lists are returned in ascending row order (temporal: ascending time).

use std::collections::HashMap;

use crate::error::{DataError, Result};

/// Train/validation/test row indices.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Split {
    /// Rows to fit on.
    pub train: Vec<usize>,
    /// Rows for early stopping and model selection (empty unless asked for).
    pub valid: Vec<usize>,
    /// Held-out rows.
    pub test: Vec<usize>,
}

/// What a split may look at, one entry per row.
#[derive(Clone, Debug, Default)]
pub struct SplitInputs {
    /// Number of rows.
    pub n_rows: usize,
    /// Class codes, for stratification.
    pub labels: Option<Vec<u32>>,
    /// Group codes, for group splits.
    pub groups: Option<Vec<u32>>,
    /// Times (any monotone integer scale: µs, days, years), for temporal splits.
    pub times: Option<Vec<i64>>,
}

/// A split strategy.
#[derive(Clone, Debug, PartialEq)]
pub enum Strategy {
    /// Uniformly random rows.
    Random,
    /// Random within each class of `labels`.
    Stratified,
    /// Whole groups of `groups`.
    Group,
    /// By `times`: the most recent rows are held out; train rows end `gap` time units before
    /// the first held-out time.
    Temporal {
        /// Time units left out between train and the next part (same unit as `times`).
        gap: i64,
    },
}

/// Fractions and seed of a split.
#[derive(Clone, Debug, PartialEq)]
pub struct SplitSpec {
    /// The strategy.
    pub strategy: Strategy,
    /// Fraction held out for test, in (0, 1).
    pub test: f64,
    /// Fraction held out for validation, in [0, 1); `test + valid < 1`.
    pub valid: f64,
    /// Seed of the random generator (ignored by temporal splits).
    pub seed: u64,
}

impl Default for SplitSpec {
    fn default() -> Self {
        SplitSpec {
            strategy: Strategy::Random,
            test: 0.2,
            valid: 0.0,
            seed: 0,
        }
    }
}

/// The generator of every split (re-exported from `smelt_core::rng`, where it is pinned by
/// reference values).
pub use smelt_core::rng::SplitMix64;

fn check_spec(spec: &SplitSpec, n: usize) -> Result<()> {
    let ok = |f: f64| f.is_finite() && (0.0..1.0).contains(&f);
    if !ok(spec.test) || spec.test == 0.0 {
        return Err(DataError::Invalid(format!(
            "test fraction must be in (0, 1), got {}",
            spec.test
        )));
    }
    if !ok(spec.valid) || spec.test + spec.valid >= 1.0 {
        return Err(DataError::Invalid(format!(
            "validation fraction must be in [0, 1) with test + validation < 1, got test {} and validation {}",
            spec.test, spec.valid
        )));
    }
    if n < 2 {
        return Err(DataError::Invalid(format!(
            "cannot split {n} row(s): need at least 2"
        )));
    }
    Ok(())
}

fn need<'a, T>(v: &'a Option<Vec<T>>, what: &str, n: usize) -> Result<&'a [T]> {
    let v = v
        .as_deref()
        .ok_or_else(|| DataError::Invalid(format!("this split needs a {what} column")))?;
    if v.len() != n {
        return Err(DataError::Invalid(format!(
            "{what} column has {} values for {n} rows",
            v.len()
        )));
    }
    Ok(v)
}

/// Sizes of the test and validation parts for `n` items.
fn part_sizes(n: usize, spec: &SplitSpec) -> (usize, usize) {
    let test = ((n as f64 * spec.test).round() as usize).clamp(1, n - 1);
    let valid = if spec.valid > 0.0 {
        ((n as f64 * spec.valid).round() as usize).clamp(1, n - test - 1)
    } else {
        0
    };
    (test, valid)
}

/// Splits rows by the spec.
///
/// ```
/// use smelt_data::split::{split, SplitInputs, SplitSpec, Strategy};
/// let inputs = SplitInputs { n_rows: 10, ..Default::default() };
/// let s = split(&inputs, &SplitSpec { test: 0.3, ..Default::default() }).unwrap();
/// assert_eq!((s.train.len(), s.test.len()), (7, 3));
/// assert_eq!(s, split(&inputs, &SplitSpec { test: 0.3, ..Default::default() }).unwrap());
/// ```
pub fn split(inputs: &SplitInputs, spec: &SplitSpec) -> Result<Split> {
    let n = inputs.n_rows;
    check_spec(spec, n)?;
    let mut rng = SplitMix64::new(spec.seed);
    let mut out = match &spec.strategy {
        Strategy::Random => {
            let mut idx: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut idx);
            let (t, v) = part_sizes(n, spec);
            Split {
                test: idx[..t].to_vec(),
                valid: idx[t..t + v].to_vec(),
                train: idx[t + v..].to_vec(),
            }
        }
        Strategy::Stratified => stratified(need(&inputs.labels, "label", n)?, spec, &mut rng)?,
        Strategy::Group => group(need(&inputs.groups, "group", n)?, spec, &mut rng)?,
        Strategy::Temporal { gap } => {
            return temporal(need(&inputs.times, "time", n)?, spec, *gap);
        }
    };
    out.train.sort_unstable();
    out.valid.sort_unstable();
    out.test.sort_unstable();
    Ok(out)
}

fn stratified(labels: &[u32], spec: &SplitSpec, rng: &mut SplitMix64) -> Result<Split> {
    let n = labels.len();
    let mut by_class: Vec<Vec<usize>> = Vec::new();
    for (i, &c) in labels.iter().enumerate() {
        let c = c as usize;
        if by_class.len() <= c {
            by_class.resize_with(c + 1, Vec::new);
        }
        by_class[c].push(i);
    }
    by_class.retain(|c| !c.is_empty());
    let (n_test, n_valid) = part_sizes(n, spec);
    if n_test < by_class.len() {
        return Err(DataError::Invalid(format!(
            "a stratified split needs at least one test row per class: {} classes but {n_test} test rows; raise the test fraction",
            by_class.len()
        )));
    }
    let counts: Vec<usize> = by_class.iter().map(Vec::len).collect();
    let test_alloc = allocate(&counts, n_test);
    let rest: Vec<usize> = counts.iter().zip(&test_alloc).map(|(c, t)| c - t).collect();
    let valid_alloc = allocate(&rest, n_valid);
    let mut out = Split::default();
    for ((mut rows, t), v) in by_class.into_iter().zip(test_alloc).zip(valid_alloc) {
        rng.shuffle(&mut rows);
        out.test.extend_from_slice(&rows[..t]);
        out.valid.extend_from_slice(&rows[t..t + v]);
        out.train.extend_from_slice(&rows[t + v..]);
    }
    Ok(out)
}

/// Spreads `total` over buckets in proportion to `counts` (largest remainder, ties to the
/// earlier bucket), never more than a bucket holds.
fn allocate(counts: &[usize], total: usize) -> Vec<usize> {
    let sum: usize = counts.iter().sum();
    if sum == 0 {
        return vec![0; counts.len()];
    }
    let exact: Vec<f64> = counts
        .iter()
        .map(|&c| c as f64 * total as f64 / sum as f64)
        .collect();
    let mut alloc: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut left = total.saturating_sub(alloc.iter().sum());
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| {
        let ra = exact[a] - exact[a].floor();
        let rb = exact[b] - exact[b].floor();
        rb.total_cmp(&ra).then(a.cmp(&b))
    });
    for &i in order.iter().cycle().take(order.len() * 2) {
        if left == 0 {
            break;
        }
        if alloc[i] < counts[i] {
            alloc[i] += 1;
            left -= 1;
        }
    }
    alloc
}

fn group(groups: &[u32], spec: &SplitSpec, rng: &mut SplitMix64) -> Result<Split> {
    let mut uniq: Vec<u32> = groups.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    if uniq.len() < 2 {
        return Err(DataError::Invalid(format!(
            "a group split needs at least 2 groups, found {}",
            uniq.len()
        )));
    }
    rng.shuffle(&mut uniq);
    let g = uniq.len();
    let n_test = ((g as f64 * spec.test).ceil() as usize).clamp(1, g - 1);
    let n_valid = if spec.valid > 0.0 {
        ((g as f64 * spec.valid).ceil() as usize).clamp(1, g - n_test - 1)
    } else {
        0
    };
    if g - n_test - n_valid == 0 {
        return Err(DataError::Invalid(format!(
            "not enough groups ({g}) for train, validation and test"
        )));
    }
    let side: HashMap<u32, u8> = uniq
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            (
                k,
                if i < n_test {
                    2
                } else if i < n_test + n_valid {
                    1
                } else {
                    0
                },
            )
        })
        .collect();
    let mut out = Split::default();
    for (i, k) in groups.iter().enumerate() {
        match side[k] {
            2 => out.test.push(i),
            1 => out.valid.push(i),
            _ => out.train.push(i),
        }
    }
    Ok(out)
}

fn temporal(times: &[i64], spec: &SplitSpec, gap: i64) -> Result<Split> {
    if gap < 0 {
        return Err(DataError::Invalid(format!(
            "the gap must not be negative, got {gap}"
        )));
    }
    let n = times.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (times[i], i));
    let (n_test, n_valid) = part_sizes(n, spec);
    // Cut points move earlier to the first row of a tie, so equal times never straddle a cut.
    let cut = |pos: usize| -> usize {
        let mut p = pos;
        while p > 0 && times[order[p - 1]] == times[order[p]] {
            p -= 1;
        }
        p
    };
    let test_start = cut(n - n_test);
    let valid_start = if n_valid > 0 {
        cut(test_start.saturating_sub(n_valid))
    } else {
        test_start
    };
    let mut out = Split {
        test: order[test_start..].to_vec(),
        valid: order[valid_start..test_start].to_vec(),
        train: Vec::new(),
    };
    let first_held = times[order[valid_start.min(n - 1)]];
    let train_end = first_held.saturating_sub(gap);
    out.train = order[..valid_start]
        .iter()
        .copied()
        .filter(|&i| times[i] < train_end)
        .collect();
    if !out.valid.is_empty() && gap > 0 {
        let test_first = times[order[test_start]];
        out.valid
            .retain(|&i| times[i] < test_first.saturating_sub(gap));
    }
    if out.train.is_empty() {
        return Err(DataError::Invalid(
            "the temporal split leaves no training rows: lower the test fraction or the gap".into(),
        ));
    }
    if out.test.is_empty() || test_start == 0 {
        return Err(DataError::Invalid(
            "all rows share one time value, so no row can be held out after the training rows"
                .into(),
        ));
    }
    Ok(out)
}

/// K-fold variants of each strategy: `k` (train, test) pairs, each row in exactly one test fold
/// (temporal: an expanding window, like scikit-learn's `TimeSeriesSplit`, with `k` test folds
/// after the first block).
pub fn folds(inputs: &SplitInputs, strategy: &Strategy, k: usize, seed: u64) -> Result<Vec<Split>> {
    let n = inputs.n_rows;
    if k < 2 || k > n {
        return Err(DataError::Invalid(format!(
            "k-fold needs 2 <= k <= rows, got k = {k} for {n} rows"
        )));
    }
    let mut rng = SplitMix64::new(seed);
    let assign: Vec<usize> = match strategy {
        Strategy::Random => {
            let mut idx: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut idx);
            let mut a = vec![0; n];
            for (pos, &i) in idx.iter().enumerate() {
                a[i] = pos * k / n;
            }
            a
        }
        Strategy::Stratified => {
            let labels = need(&inputs.labels, "label", n)?;
            let mut by_class: HashMap<u32, Vec<usize>> = HashMap::new();
            for (i, &c) in labels.iter().enumerate() {
                by_class.entry(c).or_default().push(i);
            }
            let mut classes: Vec<_> = by_class.into_iter().collect();
            classes.sort_by_key(|(c, _)| *c);
            let mut a = vec![0; n];
            let mut next = 0;
            for (_, mut rows) in classes {
                rng.shuffle(&mut rows);
                for i in rows {
                    a[i] = next % k;
                    next += 1;
                }
            }
            a
        }
        Strategy::Group => {
            let groups = need(&inputs.groups, "group", n)?;
            let mut sizes: HashMap<u32, usize> = HashMap::new();
            for &g in groups {
                *sizes.entry(g).or_default() += 1;
            }
            if sizes.len() < k {
                return Err(DataError::Invalid(format!(
                    "group k-fold needs at least k = {k} groups, found {}",
                    sizes.len()
                )));
            }
            // Largest groups first into the lightest fold (scikit-learn's GroupKFold), with a
            // seeded shuffle breaking ties between equal sizes.
            let mut order: Vec<(u32, usize)> = sizes.into_iter().collect();
            order.sort_by_key(|&(g, _)| g);
            rng.shuffle(&mut order);
            order.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
            let mut load = vec![0usize; k];
            let mut fold_of = HashMap::new();
            for (g, size) in order {
                let f = (0..k).min_by_key(|&f| (load[f], f)).unwrap_or(0);
                load[f] += size;
                fold_of.insert(g, f);
            }
            groups.iter().map(|g| fold_of[g]).collect()
        }
        Strategy::Temporal { gap } => {
            let times = need(&inputs.times, "time", n)?;
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by_key(|&i| (times[i], i));
            let block = n / (k + 1);
            if block == 0 {
                return Err(DataError::Invalid(format!(
                    "too few rows ({n}) for {k} time folds"
                )));
            }
            let mut out = Vec::with_capacity(k);
            for f in 0..k {
                let start = n - (k - f) * block;
                let end = if f + 1 == k { n } else { start + block };
                let first = times[order[start]];
                let test: Vec<usize> = order[start..end]
                    .iter()
                    .copied()
                    .filter(|&i| times[i] >= first)
                    .collect();
                let train: Vec<usize> = order[..start]
                    .iter()
                    .copied()
                    .filter(|&i| times[i] < first.saturating_sub(*gap))
                    .collect();
                out.push(Split {
                    train,
                    valid: Vec::new(),
                    test,
                });
            }
            return Ok(out);
        }
    };
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| assign[i] == f);
            Split {
                train,
                valid: Vec::new(),
                test,
            }
        })
        .collect())
}

/// Parses a gap such as `7d`, `12h`, `30m`, `45s`, `2w` into microseconds, or a bare integer
/// (for integer time columns) as is.
pub fn parse_gap(s: &str, datetime: bool) -> Result<i64> {
    let s = s.trim();
    if let Ok(v) = s.parse::<i64>() {
        return Ok(v);
    }
    let bad = || {
        DataError::Invalid(format!(
            "cannot read the gap \"{s}\": use a number with a unit such as 30s, 15m, 12h, 7d or 2w{}",
            if datetime {
                ""
            } else {
                " (or a plain number for an integer time column)"
            }
        ))
    };
    let (num, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).ok_or_else(bad)?);
    let v: i64 = num.trim().parse().map_err(|_| bad())?;
    let mult: i64 = match unit {
        "s" => 1_000_000,
        "m" | "min" => 60_000_000,
        "h" => 3_600_000_000,
        "d" => 86_400_000_000,
        "w" => 7 * 86_400_000_000,
        _ => return Err(bad()),
    };
    if !datetime {
        return Err(DataError::Invalid(format!(
            "the gap \"{s}\" has a unit but the time column is not a datetime: give a plain number"
        )));
    }
    v.checked_mul(mult).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn inputs(n: usize) -> SplitInputs {
        SplitInputs {
            n_rows: n,
            labels: Some((0..n).map(|i| u32::from(i % 10 == 0)).collect()),
            groups: Some((0..n).map(|i| (i / 7) as u32).collect()),
            times: Some((0..n).map(|i| ((n - i) / 3) as i64).collect()),
        }
    }

    fn assert_partition(s: &Split, n: usize) {
        let all: HashSet<usize> = s
            .train
            .iter()
            .chain(&s.valid)
            .chain(&s.test)
            .copied()
            .collect();
        assert_eq!(
            all.len(),
            s.train.len() + s.valid.len() + s.test.len(),
            "overlap"
        );
        assert!(all.len() <= n);
    }

    #[test]
    fn random_is_seeded_and_sized() {
        let inp = inputs(1000);
        let spec = SplitSpec {
            test: 0.25,
            valid: 0.1,
            ..Default::default()
        };
        let a = split(&inp, &spec).unwrap();
        assert_eq!(
            (a.test.len(), a.valid.len(), a.train.len()),
            (250, 100, 650)
        );
        assert_partition(&a, 1000);
        assert_eq!(a, split(&inp, &spec).unwrap());
        let b = split(&inp, &SplitSpec { seed: 1, ..spec }).unwrap();
        assert_ne!(a.test, b.test);
    }

    #[test]
    fn stratified_keeps_proportions() {
        let inp = inputs(1000); // 10 % positives
        let spec = SplitSpec {
            strategy: Strategy::Stratified,
            test: 0.2,
            ..Default::default()
        };
        let s = split(&inp, &spec).unwrap();
        let labels = inp.labels.as_ref().unwrap();
        let pos = s.test.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!((s.test.len(), pos), (200, 20));
        assert_partition(&s, 1000);
        assert_eq!(s.train.len() + s.test.len(), 1000);
    }

    #[test]
    fn group_never_straddles() {
        let inp = inputs(700);
        let spec = SplitSpec {
            strategy: Strategy::Group,
            test: 0.3,
            valid: 0.1,
            seed: 3,
        };
        let s = split(&inp, &spec).unwrap();
        let g = inp.groups.as_ref().unwrap();
        let test_groups: HashSet<u32> = s.test.iter().map(|&i| g[i]).collect();
        let valid_groups: HashSet<u32> = s.valid.iter().map(|&i| g[i]).collect();
        assert!(
            s.train
                .iter()
                .all(|&i| !test_groups.contains(&g[i]) && !valid_groups.contains(&g[i]))
        );
        assert!(test_groups.is_disjoint(&valid_groups));
        assert_eq!(test_groups.len(), 30); // ceil(100 groups × 0.3)
        assert_eq!(s.train.len() + s.valid.len() + s.test.len(), 700);
    }

    #[test]
    fn temporal_is_strictly_before_with_gap_and_ties() {
        let inp = inputs(300);
        let t = inp.times.as_ref().unwrap();
        for gap in [0, 5] {
            let spec = SplitSpec {
                strategy: Strategy::Temporal { gap },
                test: 0.2,
                ..Default::default()
            };
            let s = split(&inp, &spec).unwrap();
            let max_train = s.train.iter().map(|&i| t[i]).max().unwrap();
            let min_test = s.test.iter().map(|&i| t[i]).min().unwrap();
            assert!(
                max_train < min_test - gap,
                "gap {gap}: {max_train} vs {min_test}"
            );
            assert_partition(&s, 300);
        }
        let flat = SplitInputs {
            n_rows: 5,
            times: Some(vec![1; 5]),
            ..Default::default()
        };
        let spec = SplitSpec {
            strategy: Strategy::Temporal { gap: 0 },
            ..Default::default()
        };
        assert!(split(&flat, &spec).is_err());
    }

    #[test]
    fn bad_fractions_and_missing_inputs() {
        let inp = SplitInputs {
            n_rows: 10,
            ..Default::default()
        };
        for (test, valid) in [(0.0, 0.0), (1.0, 0.0), (0.5, 0.5), (f64::NAN, 0.0)] {
            assert!(
                split(
                    &inp,
                    &SplitSpec {
                        test,
                        valid,
                        ..Default::default()
                    }
                )
                .is_err()
            );
        }
        let spec = SplitSpec {
            strategy: Strategy::Stratified,
            ..Default::default()
        };
        assert!(
            split(&inp, &spec)
                .unwrap_err()
                .to_string()
                .contains("label column")
        );
    }

    #[test]
    fn kfold_variants_cover_every_row_once() {
        let inp = inputs(200);
        for strategy in [Strategy::Random, Strategy::Stratified, Strategy::Group] {
            let f = folds(&inp, &strategy, 5, 7).unwrap();
            let mut seen = vec![0; 200];
            for s in &f {
                assert_eq!(s.train.len() + s.test.len(), 200);
                for &i in &s.test {
                    seen[i] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{strategy:?}");
        }
        let g = inp.groups.as_ref().unwrap();
        for s in folds(&inp, &Strategy::Group, 5, 7).unwrap() {
            let tg: HashSet<u32> = s.test.iter().map(|&i| g[i]).collect();
            assert!(s.train.iter().all(|&i| !tg.contains(&g[i])));
        }
        let t = inp.times.as_ref().unwrap();
        for s in folds(&inp, &Strategy::Temporal { gap: 2 }, 4, 0).unwrap() {
            let max_train = s.train.iter().map(|&i| t[i]).max().unwrap();
            let min_test = s.test.iter().map(|&i| t[i]).min().unwrap();
            assert!(max_train < min_test - 2);
        }
    }

    #[test]
    fn gaps_parse() {
        assert_eq!(parse_gap("7d", true).unwrap(), 7 * 86_400_000_000);
        assert_eq!(parse_gap("3", false).unwrap(), 3);
        assert!(parse_gap("3 fortnights", true).is_err());
        assert!(parse_gap("1h", false).is_err());
    }
}
