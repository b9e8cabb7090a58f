//! Prediction speed of the tree-ensemble engine on a LightGBM model of 100 trees × 31 leaves
//! (binary, 28 features; `tests/fixtures/bench_lgb_100x31.txt`, written by
//! `tools/fixtures/import.py`): one row at a time through
//! [`TreeEnsemble::predict_row_margins`], and a 200,000-row batch through
//! [`TreeEnsemble::raw_margins`] (parallel over row blocks; set `RAYON_NUM_THREADS`).
//! Rows are seeded standard-normal draws, like the model's training features. Run with
//! `cargo bench -p smelt-trees --bench predict`; `bench/predict.sh` compares with LightGBM.
//!
//! `noisy_gbdt_200k`: Smelt's own gradient boosting (100 trees × 31 leaves, the defaults)
//! fitted on 50,000 rows of a table shaped like `bench/gen_noisy.py`'s (15 numeric columns, 5 %
//! missing in three, three categorical columns of 20, 25 and 12 skewed levels, a noisy binary
//! label; same distributions, not the same draws), predicting 200,000 fresh rows: a batch with
//! categorical splits.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark on generated data: a failure should stop it"
)]

use divan::{Bencher, black_box};
use smelt_core::rng::Rng;
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Predictor, Target};
use smelt_trees::ensemble::{CATEGORICAL, TreeEnsemble};
use smelt_trees::gbdt::HistGradientBoostingClassifierParams;
use smelt_trees::import::lightgbm;

const MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/bench_lgb_100x31.txt"
);
const P: usize = 28;

fn main() {
    divan::main();
}

fn model() -> TreeEnsemble {
    lightgbm::from_text_file(MODEL).unwrap()
}

/// `n` seeded rows, row-major.
fn rows(n: usize) -> Vec<f64> {
    let mut rng = Rng::new(0);
    (0..n * P).map(|_| rng.normal()).collect()
}

/// One row's margin, cycling through 4,096 different rows (so the branch predictor cannot
/// learn one path).
#[divan::bench(sample_count = 200, sample_size = 1000)]
fn single_row(b: Bencher) {
    let m = model();
    let x = rows(4096);
    let mut out = [0.0];
    let mut i = 0;
    b.bench_local(|| {
        let row = &x[i * P..(i + 1) * P];
        i = (i + 1) % 4096;
        m.predict_row_margins(black_box(row), &mut out).unwrap();
        out[0]
    });
}

/// Raw margins of 200,000 rows (a column-major dataset, as `smelt predict` has it).
#[divan::bench(sample_count = 10)]
fn batch_200k(b: Bencher) {
    batch(b, model());
}

/// The same through the `f64` walk (the engine's batch path before the binned layout), for a
/// same-run comparison.
#[divan::bench(sample_count = 10)]
fn batch_200k_f64_walk(b: Bencher) {
    batch(b, model().with_f64_batches());
}

fn batch(b: Bencher, m: TreeEnsemble) {
    let n = 200_000;
    let x = rows(n);
    let mut values = vec![0.0; n * P];
    for i in 0..n {
        for j in 0..P {
            values[j * n + i] = x[i * P + j];
        }
    }
    let features = m
        .input_features()
        .iter()
        .map(|f| Feature {
            name: f.name.clone(),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        })
        .collect();
    let data = Dataset::new(n, values, features, None).unwrap();
    b.bench_local(|| m.raw_margins(black_box(&data)).unwrap());
}

/// Levels of the noisy table's categorical columns.
const LEVELS: [usize; 3] = [20, 25, 12];

/// `n` rows of the noisy table (column-major: 15 numeric then 3 categorical columns) and their
/// labels, like `bench/gen_noisy.py`.
fn noisy(n: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let mut fx = Rng::new(99);
    let effect: Vec<Vec<f64>> = LEVELS
        .iter()
        .map(|&k| (0..k).map(|_| 0.6 * fx.normal()).collect())
        .collect();
    let p = 15 + LEVELS.len();
    let mut values = vec![0.0; n * p];
    let mut codes = Vec::with_capacity(n);
    for i in 0..n {
        let mut x: Vec<f64> = (0..15).map(|_| rng.normal()).collect();
        x[3] = -(1.0 - rng.uniform()).ln();
        x[4] = rng.below(50) as f64;
        let mut z = 0.9 * x[0] - 0.7 * x[1].abs()
            + 0.5 * x[2] * x[5]
            + 0.4 * (2.0 * x[6]).sin()
            + 0.3 * x[3].ln_1p()
            - 0.02 * x[4]
            + if x[7] > 0.5 { 0.35 } else { 0.0 }
            - 1.15;
        for (c, &k) in LEVELS.iter().enumerate() {
            // Skewed levels: weight 1 / (level + 1)^0.8.
            let w: Vec<f64> = (1..=k).map(|v| 1.0 / (v as f64).powf(0.8)).collect();
            let mut u = rng.uniform() * w.iter().sum::<f64>();
            let level = w.iter().position(|&w| {
                u -= w;
                u < 0.0
            });
            let level = level.unwrap_or(k - 1);
            z += effect[c][level];
            values[(15 + c) * n + i] = level as f64;
        }
        for v in x.iter_mut().take(3) {
            if rng.uniform() < 0.05 {
                *v = f64::NAN;
            }
        }
        for (j, &v) in x.iter().enumerate() {
            values[j * n + i] = v;
        }
        codes.push(u32::from(rng.uniform() < 1.0 / (1.0 + (-z).exp())));
    }
    let mut features: Vec<Feature> = (0..15)
        .map(|j| Feature {
            name: format!("x{j}"),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        })
        .collect();
    for (c, &k) in LEVELS.iter().enumerate() {
        features.push(Feature {
            name: format!("c{c}"),
            ltype: LogicalType::Categorical,
            kind: FeatureKind::Categorical {
                categories: (0..k)
                    .map(|v| format!("{}{v:02}", ["a", "b", "c"][c]))
                    .collect(),
            },
        });
    }
    let target = Target::Classification {
        codes,
        classes: vec!["0".into(), "1".into()],
    };
    Dataset::new(n, values, features, Some(("y".into(), target))).unwrap()
}

/// The gradient boosting of `noisy_gbdt_200k`, fitted once.
fn noisy_model() -> &'static (TreeEnsemble, Dataset<f64>) {
    static M: std::sync::OnceLock<(TreeEnsemble, Dataset<f64>)> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let m = HistGradientBoostingClassifierParams::default()
            .early_stopping(false)
            .fit(&noisy(50_000, 1))
            .unwrap();
        let m = m.ensemble().clone();
        let n_categorical = m
            .nodes()
            .flags
            .iter()
            .filter(|&&f| f & CATEGORICAL != 0)
            .count();
        assert!(n_categorical > 100, "{n_categorical} categorical splits");
        (m, noisy(200_000, 2))
    })
}

/// Raw margins of 200,000 rows of the noisy table (categorical splits) by Smelt's gradient
/// boosting.
#[divan::bench(sample_count = 10)]
fn noisy_gbdt_200k(b: Bencher) {
    let (m, data) = noisy_model();
    b.bench_local(|| m.raw_margins(black_box(data)).unwrap());
}

/// The same through the `f64` walk.
#[divan::bench(sample_count = 10)]
fn noisy_gbdt_200k_f64_walk(b: Bencher) {
    let (m, data) = noisy_model();
    let m = m.clone().with_f64_batches();
    b.bench_local(|| m.raw_margins(black_box(data)).unwrap());
}
