//! Decision-tree timing on 1M × 28 synthetic data (depth 10), to compare with scikit-learn on
//! the same shape and thread count:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p smelt-trees --example tree_bench
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use smelt_core::{Dataset, Fit, Predictor};
use smelt_trees::tree::{DecisionTreeClassifierParams, DecisionTreeRegressorParams};

#[allow(
    clippy::unwrap_used,
    reason = "a benchmark on generated data: a failure should stop it"
)]
fn main() {
    let (n, p) = (1_000_000, 28);
    let mut rng = smelt_core::rng::SplitMix64::new(0);
    let values: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let signal: Vec<f64> = (0..n)
        .map(|i| values[i] + values[n + i] * values[2 * n + i] + 0.5 * rng.normal())
        .collect();
    let features: Vec<_> = (0..p)
        .map(|j| smelt_testkit::numeric(&format!("x{j}")))
        .collect();
    let codes = signal.iter().map(|&s| u32::from(s > 0.0)).collect();
    let classes = vec!["0".to_string(), "1".to_string()];
    let target = smelt_core::Target::Classification { codes, classes };
    let clf = Dataset::new(
        n,
        values.clone(),
        features.clone(),
        Some(("y".into(), target)),
    )
    .unwrap();
    let reg = Dataset::new(
        n,
        values,
        features,
        Some((
            "y".into(),
            smelt_core::Target::Regression { values: signal },
        )),
    )
    .unwrap();
    let t = std::time::Instant::now();
    let m = DecisionTreeClassifierParams::default()
        .max_depth(10)
        .fit(&clf)
        .unwrap();
    let fit = t.elapsed();
    let t = std::time::Instant::now();
    m.predict(&clf).unwrap();
    eprintln!(
        "clf depth10 fit {fit:?} predict {:?} nodes {}",
        t.elapsed(),
        m.tree().node_count()
    );
    let t = std::time::Instant::now();
    let m = DecisionTreeRegressorParams::default()
        .max_depth(10)
        .fit(&reg)
        .unwrap();
    let fit = t.elapsed();
    let t = std::time::Instant::now();
    m.predict(&reg).unwrap();
    eprintln!(
        "reg depth10 fit {fit:?} predict {:?} nodes {}",
        t.elapsed(),
        m.tree().node_count()
    );
}
