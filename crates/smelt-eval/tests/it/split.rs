//! Cross-validation splitters: exact parity with scikit-learn 1.9.1 on committed fixtures
//! (`tools/fixtures/splitters.py`), properties of the shuffled splitters, pinned seeded
//! output, and the errors and warnings.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use smelt_eval::split::{
    Fold, GroupKFold, KFold, PredefinedSplit, RepeatedKFold, RepeatedStratifiedKFold, SplitInput,
    SplitWarning, Splitter, StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit, check_folds,
    time_order,
};
use smelt_eval::{EvalError, Result};

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/splitters.json");
    let text = std::fs::read_to_string(path).expect("tests/fixtures/splitters.json");
    serde_json::from_str(&text).expect("the fixture is JSON")
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_u64().expect("an index") as usize)
        .collect()
}

/// The splitter a fixture case describes.
fn splitter_of(case: &Value) -> Result<Box<dyn Splitter>> {
    let p = &case["params"];
    let k = || p["n_splits"].as_u64().expect("n_splits") as usize;
    Ok(match case["splitter"].as_str().expect("splitter") {
        "KFold" => Box::new(KFold::new(k())?),
        "StratifiedKFold" => Box::new(StratifiedKFold::new(k())?),
        "GroupKFold" => Box::new(GroupKFold::new(k())?),
        "StratifiedGroupKFold" => Box::new(StratifiedGroupKFold::new(k())?),
        "TimeSeriesSplit" => {
            let mut t = TimeSeriesSplit::new(k())?;
            if let Some(g) = p["gap"].as_u64() {
                t = t.with_gap(g as usize);
            }
            if let Some(m) = p["max_train_size"].as_u64() {
                t = t.with_max_train_size(m as usize)?;
            }
            if let Some(s) = p["test_size"].as_u64() {
                t = t.with_test_size(s as usize)?;
            }
            Box::new(t)
        }
        "PredefinedSplit" => Box::new(PredefinedSplit::new(
            case["test_fold"]
                .as_array()
                .expect("test_fold")
                .iter()
                .map(|x| x.as_i64().expect("a fold id"))
                .collect(),
        )?),
        other => panic!("unknown splitter {other}"),
    })
}

#[test]
fn split_parity_with_scikit_learn() {
    let fx = fixture();
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut checked = BTreeMap::<String, usize>::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let n = case["n"].as_u64().unwrap() as usize;
        let y: Option<Vec<u32>> = case
            .get("y")
            .map(|v| usizes(v).into_iter().map(|c| c as u32).collect());
        let g: Option<Vec<u64>> = case
            .get("groups")
            .map(|v| usizes(v).into_iter().map(|c| c as u64).collect());
        let mut input = SplitInput::new(n);
        if let Some(y) = &y {
            input = input.with_classes(y);
        }
        if let Some(g) = &g {
            input = input.with_groups(g);
        }
        let got = splitter_of(case).and_then(|s| {
            let folds = s.split(&input)?;
            assert_eq!(folds.len(), s.n_splits(), "{name}: n_splits");
            // scikit-learn's UserWarning <=> our SmallClass warning.
            let small = s
                .warnings(&input, &folds)
                .iter()
                .any(|w| matches!(w, SplitWarning::SmallClass { .. }));
            assert_eq!(small, case["warned"].as_bool().unwrap(), "{name}: warning");
            Ok(folds)
        });
        if case.get("error").is_some() || case.get("empty_test_fold").is_some() {
            let err = got.expect_err(name);
            assert!(err.hint().is_some(), "{name}: {err} has no hint");
        } else {
            let got = got.unwrap_or_else(|e| panic!("{name}: {e}"));
            let want: Vec<Fold> = case["folds"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| Fold {
                    train: usizes(&f["train"]),
                    test: usizes(&f["test"]),
                })
                .collect();
            assert_eq!(got, want, "{name}");
        }
        *checked
            .entry(case["splitter"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert_eq!(checked.len(), 6, "{checked:?}");
}

/// Rows with seeded classes (imbalanced, three classes) and groups of varied size.
fn data(n: usize) -> (Vec<u32>, Vec<u64>) {
    let classes = (0..n)
        .map(|i| match (i * 7919) % 10 {
            0 => 2,
            1..=3 => 1,
            _ => 0,
        })
        .collect();
    let groups = (0..n).map(|i| ((i * 31) % 23 + i % 3) as u64).collect();
    (classes, groups)
}

/// Each repeat's test folds partition the rows; train is the complement of test.
fn assert_partitions(folds: &[Fold], n: usize, per_repeat: usize) {
    assert_eq!(folds.len() % per_repeat, 0);
    for repeat in folds.chunks(per_repeat) {
        let mut seen = vec![0; n];
        for f in repeat {
            assert!(f.test.windows(2).all(|w| w[0] < w[1]), "test sorted");
            assert!(f.train.windows(2).all(|w| w[0] < w[1]), "train sorted");
            assert!(!f.test.is_empty());
            let test: BTreeSet<usize> = f.test.iter().copied().collect();
            assert!(f.train.iter().all(|i| !test.contains(i)), "train ∩ test");
            assert_eq!(f.train.len() + f.test.len(), n);
            for &i in &f.test {
                seen[i] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "every row in one test fold");
    }
}

/// Each class's test count per fold is within one row of its proportional share.
fn assert_stratified(folds: &[Fold], classes: &[u32], k: usize) {
    let mut totals = BTreeMap::<u32, usize>::new();
    for &c in classes {
        *totals.entry(c).or_default() += 1;
    }
    for f in folds {
        for (&c, &total) in &totals {
            let got = f.test.iter().filter(|&&i| classes[i] == c).count() as f64;
            let share = total as f64 / k as f64;
            assert!((got - share).abs() < 1.0, "class {c}: {got} vs {share}");
        }
    }
}

/// No group has rows on both sides of any fold.
fn assert_groups_whole(folds: &[Fold], groups: &[u64]) {
    for f in folds {
        let test: BTreeSet<u64> = f.test.iter().map(|&i| groups[i]).collect();
        assert!(f.train.iter().all(|&i| !test.contains(&groups[i])));
    }
}

#[test]
fn split_shuffled_kfold_properties() {
    let n = 103;
    let a = KFold::new(5).unwrap().with_shuffle(7);
    let folds = a.split(&SplitInput::new(n)).unwrap();
    assert_partitions(&folds, n, 5);
    let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
    assert_eq!(sizes, [21, 21, 21, 20, 20]);
    assert_eq!(folds, a.split(&SplitInput::new(n)).unwrap());
    let other = KFold::new(5).unwrap().with_shuffle(8);
    assert_ne!(folds, other.split(&SplitInput::new(n)).unwrap());
    assert_ne!(
        folds,
        KFold::new(5).unwrap().split(&SplitInput::new(n)).unwrap()
    );
    assert_eq!(a.seed(), Some(7));
    assert_eq!(a.name(), "KFold(n_splits=5, shuffle=true, seed=7)");
}

#[test]
fn split_shuffled_stratified_properties() {
    let n = 211;
    let (classes, groups) = data(n);
    let input = SplitInput::new(n)
        .with_classes(&classes)
        .with_groups(&groups);
    for k in [2, 3, 5, 10] {
        let s = StratifiedKFold::new(k).unwrap().with_shuffle(3);
        let folds = s.split(&input).unwrap();
        assert_partitions(&folds, n, k);
        assert_stratified(&folds, &classes, k);
        assert_eq!(folds, s.split(&input).unwrap());
        let plain = StratifiedKFold::new(k).unwrap().split(&input).unwrap();
        assert_ne!(folds, plain);
        // Shuffling moves rows, not the per-fold class counts.
        for (a, b) in folds.iter().zip(&plain) {
            for c in 0..3 {
                let count = |f: &Fold| f.test.iter().filter(|&&i| classes[i] == c).count();
                assert_eq!(count(a), count(b));
            }
        }
        let other = StratifiedKFold::new(k).unwrap().with_shuffle(4);
        assert_ne!(folds, other.split(&input).unwrap());
    }
}

#[test]
fn split_shuffled_group_properties() {
    let n = 150;
    let (classes, groups) = data(n);
    let input = SplitInput::new(n)
        .with_classes(&classes)
        .with_groups(&groups);
    let n_groups = groups.iter().collect::<BTreeSet<_>>().len();
    for seed in [0, 1, 2] {
        let g = GroupKFold::new(4).unwrap().with_shuffle(seed);
        let folds = g.split(&input).unwrap();
        assert_partitions(&folds, n, 4);
        assert_groups_whole(&folds, &groups);
        // Equal group counts per fold (np.array_split).
        let per_fold: Vec<usize> = folds
            .iter()
            .map(|f| {
                f.test
                    .iter()
                    .map(|&i| groups[i])
                    .collect::<BTreeSet<_>>()
                    .len()
            })
            .collect();
        assert_eq!(per_fold.iter().sum::<usize>(), n_groups);
        assert!(per_fold.iter().max().unwrap() - per_fold.iter().min().unwrap() <= 1);
        assert_eq!(folds, g.split(&input).unwrap());

        let sg = StratifiedGroupKFold::new(3).unwrap().with_shuffle(seed);
        let folds = sg.split(&input).unwrap();
        assert_partitions(&folds, n, 3);
        assert_groups_whole(&folds, &groups);
        assert_eq!(folds, sg.split(&input).unwrap());
    }
    let a = GroupKFold::new(4)
        .unwrap()
        .with_shuffle(0)
        .split(&input)
        .unwrap();
    let b = GroupKFold::new(4)
        .unwrap()
        .with_shuffle(1)
        .split(&input)
        .unwrap();
    assert_ne!(a, b);
    let plain = GroupKFold::new(4).unwrap().split(&input).unwrap();
    assert_partitions(&plain, n, 4);
    assert_groups_whole(&plain, &groups);
    let a = StratifiedGroupKFold::new(3).unwrap().with_shuffle(0);
    let b = StratifiedGroupKFold::new(3).unwrap().with_shuffle(1);
    assert_ne!(a.split(&input).unwrap(), b.split(&input).unwrap());
}

#[test]
fn split_repeated_properties() {
    let n = 97;
    let (classes, _) = data(n);
    let input = SplitInput::new(n).with_classes(&classes);
    let r = RepeatedKFold::new(4, 3, 11).unwrap();
    assert_eq!((r.n_splits(), r.n_repeats()), (12, 3));
    let folds = r.split(&input).unwrap();
    assert_eq!(folds.len(), 12);
    assert_partitions(&folds, n, 4);
    // The first repeat is the shuffled KFold of the same seed; later repeats differ.
    let once = KFold::new(4)
        .unwrap()
        .with_shuffle(11)
        .split(&input)
        .unwrap();
    assert_eq!(folds[..4], once[..]);
    assert_ne!(folds[..4], folds[4..8]);
    assert_eq!(folds, r.split(&input).unwrap());

    let rs = RepeatedStratifiedKFold::new(5, 2, 11).unwrap();
    assert_eq!(rs.n_splits(), 10);
    let folds = rs.split(&input).unwrap();
    assert_partitions(&folds, n, 5);
    assert_stratified(&folds, &classes, 5);
    let once = StratifiedKFold::new(5)
        .unwrap()
        .with_shuffle(11)
        .split(&input)
        .unwrap();
    assert_eq!(folds[..5], once[..]);
    assert_ne!(folds[..5], folds[5..]);
    assert_ne!(
        folds,
        RepeatedStratifiedKFold::new(5, 2, 12)
            .unwrap()
            .split(&input)
            .unwrap()
    );
    assert_eq!(
        rs.name(),
        "RepeatedStratifiedKFold(n_splits=5, n_repeats=2, seed=11)"
    );
}

/// The exact first fold for a seed: a change in how the generator is used changes these.
#[test]
fn split_pinned_seeded_output() {
    let (classes, groups) = data(20);
    let input = SplitInput::new(20)
        .with_classes(&classes)
        .with_groups(&groups);
    let first = |s: &dyn Splitter| s.split(&input).unwrap().swap_remove(0).test;
    assert_eq!(
        first(&KFold::new(4).unwrap().with_shuffle(42)),
        PINNED_KFOLD
    );
    assert_eq!(
        first(&StratifiedKFold::new(4).unwrap().with_shuffle(42)),
        PINNED_STRATIFIED
    );
    assert_eq!(
        first(&GroupKFold::new(4).unwrap().with_shuffle(42)),
        PINNED_GROUP
    );
    assert_eq!(
        first(&StratifiedGroupKFold::new(4).unwrap().with_shuffle(42)),
        PINNED_STRATIFIED_GROUP
    );
    let repeated = RepeatedKFold::new(4, 2, 42).unwrap().split(&input).unwrap();
    assert_eq!(repeated[4].test, PINNED_REPEATED_SECOND);
}

// Computed once with `smelt_core::rng::Rng`; they must never change.
const PINNED_KFOLD: [usize; 5] = [3, 4, 13, 14, 18];
const PINNED_STRATIFIED: [usize; 5] = [0, 2, 5, 11, 18];
const PINNED_GROUP: [usize; 5] = [2, 9, 12, 14, 19];
const PINNED_STRATIFIED_GROUP: [usize; 5] = [0, 1, 5, 9, 13];
const PINNED_REPEATED_SECOND: [usize; 5] = [2, 4, 6, 18, 19];

#[test]
fn split_time_order_and_window() {
    // Rows stored newest first: the order puts them back in time.
    let times: Vec<i64> = (0..12).rev().collect();
    let order = time_order(&times);
    assert_eq!(order, (0..12).rev().collect::<Vec<_>>());
    let cv = TimeSeriesSplit::new(3)
        .unwrap()
        .with_gap(1)
        .with_max_train_size(4)
        .unwrap();
    let folds = cv.split(&SplitInput::new(12).with_order(&order)).unwrap();
    let sorted = cv.split(&SplitInput::new(12)).unwrap();
    for (f, s) in folds.iter().zip(&sorted) {
        let flip = |v: &[usize]| {
            let mut v: Vec<usize> = v.iter().map(|&i| 11 - i).collect();
            v.sort_unstable();
            v
        };
        assert_eq!(f.train, flip(&s.train));
        assert_eq!(f.test, flip(&s.test));
        // Every training time is before every test time, with the gap.
        let last_train = f.train.iter().map(|&i| times[i]).max().unwrap();
        let first_test = f.test.iter().map(|&i| times[i]).min().unwrap();
        assert!(last_train + 1 < first_test);
        assert!(f.train.len() <= 4);
    }
    assert_eq!(
        cv.name(),
        "TimeSeriesSplit(n_splits=3, gap=1, max_train_size=4)"
    );
    // A bad order is refused.
    for bad in [vec![0, 1, 2], vec![0; 12], (1..13).collect::<Vec<_>>()] {
        let err = cv.split(&SplitInput::new(12).with_order(&bad)).unwrap_err();
        assert!(err.to_string().contains("`order`"), "{err}");
    }
}

/// The message and hint of an error.
fn refuse(r: Result<impl std::fmt::Debug>) -> (String, String) {
    let e: EvalError = r.expect_err("an error");
    (e.to_string(), e.hint().unwrap_or_default())
}

#[test]
fn split_errors_name_the_problem() {
    let (m, h) = refuse(KFold::new(1));
    assert!(m.contains("n_splits must be at least 2, got 1"), "{m}");
    assert!(h.contains("2 or more"), "{h}");
    assert!(StratifiedKFold::new(0).is_err());
    assert!(GroupKFold::new(1).is_err());
    assert!(StratifiedGroupKFold::new(1).is_err());
    assert!(TimeSeriesSplit::new(1).is_err());
    let (m, _) = refuse(RepeatedKFold::new(3, 0, 0));
    assert!(m.contains("n_repeats"), "{m}");
    assert!(RepeatedStratifiedKFold::new(1, 2, 0).is_err());

    let (m, h) = refuse(KFold::new(6).unwrap().split(&SplitInput::new(5)));
    assert_eq!(m, "KFold: cannot make 6 folds from 5 rows");
    assert!(h.contains("at most 5"), "{h}");

    // Stratified: classes missing, mis-sized, every class too small.
    let (m, h) = refuse(StratifiedKFold::new(2).unwrap().split(&SplitInput::new(4)));
    assert!(m.contains("class codes"), "{m}");
    assert!(h.contains("with_classes"), "{h}");
    let (m, _) = refuse(
        StratifiedKFold::new(2)
            .unwrap()
            .split(&SplitInput::new(4).with_classes(&[0, 1, 0])),
    );
    assert_eq!(m, "StratifiedKFold: `classes` has 3 values for 4 rows");
    let classes = [0, 1, 2, 0, 1, 2, 0, 1];
    let (m, h) = refuse(
        StratifiedKFold::new(4)
            .unwrap()
            .split(&SplitInput::new(8).with_classes(&classes)),
    );
    assert!(m.contains("every class"), "{m}");
    assert!(h.contains("at most 3"), "{h}");

    // Groups: missing, mis-sized, too few.
    let (m, _) = refuse(GroupKFold::new(2).unwrap().split(&SplitInput::new(4)));
    assert!(m.contains("group ids"), "{m}");
    let (m, _) = refuse(
        GroupKFold::new(2)
            .unwrap()
            .split(&SplitInput::new(4).with_groups(&[1, 2])),
    );
    assert!(m.contains("`groups` has 2 values for 4 rows"), "{m}");
    let (m, h) = refuse(
        GroupKFold::new(3)
            .unwrap()
            .split(&SplitInput::new(4).with_groups(&[1, 1, 2, 2])),
    );
    assert_eq!(m, "GroupKFold: cannot make 3 folds from 2 distinct groups");
    assert!(h.contains("at most 2"), "{h}");

    // Time series: too many splits for the rows, gap and test size; zero sizes.
    let (m, h) = refuse(
        TimeSeriesSplit::new(3)
            .unwrap()
            .with_gap(1)
            .with_test_size(3)
            .unwrap()
            .split(&SplitInput::new(10)),
    );
    assert!(
        m.contains("too many splits (3) for 10 rows with test_size 3 and gap 1"),
        "{m}"
    );
    assert!(h.contains("at most 2"), "{h}");
    assert!(TimeSeriesSplit::new(2).unwrap().with_test_size(0).is_err());
    assert!(
        TimeSeriesSplit::new(2)
            .unwrap()
            .with_max_train_size(0)
            .is_err()
    );
    let (m, _) = refuse(TimeSeriesSplit::new(5).unwrap().split(&SplitInput::new(5)));
    assert!(m.contains("cannot make 5 splits from 5 rows"), "{m}");

    // Predefined: length, ids below -1, no test fold, a fold with every row.
    let p = PredefinedSplit::new(vec![0, 1, -1]).unwrap();
    let (m, h) = refuse(p.split(&SplitInput::new(4)));
    assert_eq!(m, "PredefinedSplit: `test_fold` has 3 entries for 4 rows");
    assert!(h.contains("-1"), "{h}");
    let (m, _) = refuse(PredefinedSplit::new(vec![0, -2]));
    assert!(m.contains("test_fold[1] is -2"), "{m}");
    assert!(PredefinedSplit::new(vec![-1, -1]).is_err());
    let (m, _) = refuse(
        PredefinedSplit::new(vec![3, 3])
            .unwrap()
            .split(&SplitInput::new(2)),
    );
    assert!(m.contains("fold 3 holds every row"), "{m}");
    assert_eq!(p.fold_ids(), [0, 1]);
}

#[test]
fn split_warnings_for_small_classes_and_poor_folds() {
    // Class 2 has 2 rows for 3 folds: folds are returned, with scikit-learn's warning first.
    let classes = [0, 0, 0, 1, 1, 1, 0, 2, 1, 0, 0, 2];
    let input = SplitInput::new(12).with_classes(&classes);
    let s = StratifiedKFold::new(3).unwrap();
    let folds = s.split(&input).unwrap();
    let w = s.warnings(&input, &folds);
    assert_eq!(
        w[0],
        SplitWarning::SmallClass {
            class: 2,
            members: 2,
            n_splits: 3
        }
    );
    assert!(w.contains(&SplitWarning::ClassMissingFromTest { fold: 0, class: 2 }));
    assert!(w[0].fold().is_none());
    let labels = ["no", "yes", "maybe"];
    let name = |c: u32| format!("`{}`", labels[c as usize]);
    assert_eq!(
        w[0].message(&name),
        "the least populated class, `maybe`, has only 2 rows, fewer than n_splits = 3: some test folds have none of it"
    );

    // KFold on sorted labels: single-class test folds and classes missing from training.
    let classes = [0, 0, 0, 0, 1, 1];
    let input = SplitInput::new(6).with_classes(&classes);
    let k = KFold::new(3).unwrap();
    let folds = k.split(&input).unwrap();
    let w = k.warnings(&input, &folds);
    assert!(w.contains(&SplitWarning::SingleClassTest { fold: 0, class: 0 }));
    assert!(w.contains(&SplitWarning::ClassMissingFromTrain {
        fold: 2,
        class: 1,
        test_rows: 2
    }));
    assert!(w.contains(&SplitWarning::SingleClassTrain { fold: 2, class: 0 }));
    assert_eq!(
        SplitWarning::SingleClassTest { fold: 3, class: 1 }.message(&name),
        "test fold 3 has a single class `yes`"
    );
    // Without classes only empty sides are checked.
    let hand = [Fold {
        train: vec![],
        test: vec![0, 1],
    }];
    assert_eq!(
        check_folds(&SplitInput::new(2), &hand),
        [SplitWarning::EmptyTrain { fold: 0 }]
    );
    // Balanced folds: nothing to say.
    let classes = [0, 1, 0, 1, 0, 1];
    let input = SplitInput::new(6).with_classes(&classes);
    let s = StratifiedKFold::new(3).unwrap();
    assert!(s.warnings(&input, &s.split(&input).unwrap()).is_empty());
}

#[test]
fn split_is_object_safe_and_named() {
    let all: Vec<Box<dyn Splitter>> = vec![
        Box::new(KFold::new(3).unwrap()),
        Box::new(StratifiedKFold::new(3).unwrap()),
        Box::new(GroupKFold::new(3).unwrap()),
        Box::new(StratifiedGroupKFold::new(3).unwrap()),
        Box::new(TimeSeriesSplit::new(3).unwrap()),
        Box::new(RepeatedKFold::new(3, 2, 0).unwrap()),
        Box::new(RepeatedStratifiedKFold::new(3, 2, 0).unwrap()),
        Box::new(PredefinedSplit::new(vec![0, 1, 2, 0, 1, 2, 0, 1, 2, -1, -1, -1]).unwrap()),
    ];
    let (classes, groups) = data(12);
    let input = SplitInput::new(12)
        .with_classes(&classes)
        .with_groups(&groups);
    let names: Vec<String> = all.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "KFold(n_splits=3)",
            "StratifiedKFold(n_splits=3)",
            "GroupKFold(n_splits=3)",
            "StratifiedGroupKFold(n_splits=3)",
            "TimeSeriesSplit(n_splits=3)",
            "RepeatedKFold(n_splits=3, n_repeats=2, seed=0)",
            "RepeatedStratifiedKFold(n_splits=3, n_repeats=2, seed=0)",
            "PredefinedSplit(rows=12, folds=3)",
        ]
    );
    // Folds are owned and sent across threads.
    std::thread::scope(|s| {
        for sp in &all {
            s.spawn(|| {
                let folds = sp.split(&input).unwrap();
                assert_eq!(folds.len(), sp.n_splits(), "{}", sp.name());
            });
        }
    });
}

#[test]
fn split_time_series_hints_fit_the_defaults() {
    // Default test size (20 / 4 = 5): 15 rows held out, a gap of 5 leaves no training row.
    let cv = TimeSeriesSplit::new(3).unwrap().with_gap(5);
    let (m, h) = refuse(cv.split(&SplitInput::new(20)));
    assert!(m.contains("test_size 5 and gap 5"), "{m}");
    assert!(h.contains("gap to at most 4"), "{h}");
    let ok = TimeSeriesSplit::new(3).unwrap().with_gap(4);
    assert_eq!(ok.split(&SplitInput::new(20)).unwrap()[0].train, [0]);
    // A huge test size does not overflow.
    let big = TimeSeriesSplit::new(2)
        .unwrap()
        .with_test_size(usize::MAX)
        .unwrap();
    assert!(big.split(&SplitInput::new(20)).is_err());
}
