//! Prediction speed of the tree-ensemble engine on a LightGBM model of 100 trees × 31 leaves
//! (binary, 28 features; `tests/fixtures/bench_lgb_100x31.txt`, written by
//! `tools/fixtures/import.py`): one row at a time through
//! [`TreeEnsemble::predict_row_margins`], and a 200,000-row batch through
//! [`TreeEnsemble::raw_margins`] (parallel over row blocks; set `RAYON_NUM_THREADS`).
//! Rows are seeded standard-normal draws, like the model's training features. Run with
//! `cargo bench -p smelt-trees --bench predict`; `bench/predict.sh` compares with LightGBM.

#![allow(
    clippy::unwrap_used,
    reason = "a benchmark on generated data: a failure should stop it"
)]

use divan::{Bencher, black_box};
use smelt_core::rng::Rng;
use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Predictor};
use smelt_trees::ensemble::TreeEnsemble;
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
