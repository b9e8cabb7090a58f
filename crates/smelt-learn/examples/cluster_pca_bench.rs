//! Timing of KMeans (k = 8, 200k × 28) and PCA(10) (1M × 28) on synthetic data, to compare with
//! scikit-learn at the same thread count:
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p smelt-learn --example cluster_pca_bench
//! ```
//!
//! The data: 8 Gaussian blobs (centres uniform in [-5, 5]^28, unit noise), from a fixed seed.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::time::Instant;

use smelt_core::rng::Rng;
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType};
use smelt_learn::cluster::{KMeansAlgorithm, KMeansParams, MiniBatchKMeansParams};
use smelt_learn::decomposition::PcaParams;

fn blobs(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f64> = (0..k * p).map(|_| rng.uniform() * 10.0 - 5.0).collect();
    let labels: Vec<usize> = (0..n).map(|_| rng.below(k)).collect();
    let mut values = vec![0.0; n * p];
    for j in 0..p {
        for i in 0..n {
            values[j * n + i] = centres[labels[i] * p + j] + rng.normal();
        }
    }
    let features = (0..p)
        .map(|j| Feature {
            name: format!("x{j}"),
            ltype: LogicalType::Numeric,
            kind: FeatureKind::Numeric,
        })
        .collect();
    Dataset::new(n, values, features, None).expect("consistent shapes")
}

fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..reps {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(r);
    }
    (best, out.expect("reps >= 1"))
}

fn main() {
    println!("threads: {}", rayon::current_num_threads());
    let data = blobs(200_000, 28, 8, 0);
    for algo in [KMeansAlgorithm::Lloyd, KMeansAlgorithm::Elkan] {
        let p = KMeansParams::default().n_clusters(8).algorithm(algo);
        let (t, m) = best_of(3, || p.fit(&data).expect("fit"));
        println!(
            "KMeans(k=8, {algo:?}) 200000x28: {t:.3} s, {} iterations, inertia {:.6e}",
            m.n_iter(),
            m.inertia()
        );
    }
    let p = MiniBatchKMeansParams::default().n_clusters(8);
    let (t, m) = best_of(3, || p.fit(&data).expect("fit"));
    println!(
        "MiniBatchKMeans(k=8) 200000x28: {t:.3} s, {} steps, inertia {:.6e}",
        m.n_steps(),
        m.inertia()
    );
    drop(data);
    let data = blobs(1_000_000, 28, 8, 1);
    let p = PcaParams::default().n_components(10);
    let (t, m) = best_of(3, || p.fit(&data).expect("fit"));
    println!(
        "PCA(10, auto = covariance_eigh) 1000000x28: {t:.3} s, explained variance[0] {:.6}",
        m.explained_variance()[0]
    );
    let p = PcaParams::default()
        .n_components(10)
        .svd_solver(smelt_learn::decomposition::SvdSolver::Randomized);
    let (t, _) = best_of(1, || p.fit(&data).expect("fit"));
    println!("PCA(10, randomized) 1000000x28: {t:.3} s");
}
