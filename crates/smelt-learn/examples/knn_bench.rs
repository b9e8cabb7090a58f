//! kNN predict timing on synthetic standard-normal data:
//! `RAYON_NUM_THREADS=2 cargo run --release -p smelt-learn --example knn_bench -- [n] [d] [nq] [algorithm]`
//! (default 200000 28 10000 auto). The scikit-learn counterpart, same shapes and threads:
//!
//! ```text
//! X = rng.standard_normal((n, d)); Q = rng2.standard_normal((nq, d))
//! with threadpool_limits(2):
//!     m = KNeighborsRegressor(algorithm=alg, n_jobs=2).fit(X, X[:, 0]); m.predict(Q)
//! ```

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::time::Instant;

use smelt_core::rng::Rng;
use smelt_core::{Dataset, Fit, Predictor, Target};
use smelt_learn::neighbors::{Algorithm, KNeighborsRegressorParams};
use smelt_testkit::numeric;

fn data(n: usize, d: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let values: Vec<f64> = (0..n * d).map(|_| rng.normal()).collect();
    let y = (0..n).map(|i| values[i]).collect();
    let feats = (0..d).map(|j| numeric(&format!("x{j}"))).collect();
    Dataset::new(
        n,
        values,
        feats,
        Some(("y".into(), Target::Regression { values: y })),
    )
    .expect("shapes")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let arg = |i: usize, def: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(def);
    let (n, d, nq) = (arg(1, 200_000), arg(2, 28), arg(3, 10_000));
    let algorithm = match args.get(4).map(String::as_str) {
        Some("kd_tree") => Algorithm::KdTree,
        Some("brute") => Algorithm::Brute,
        _ => Algorithm::Auto,
    };
    let train = data(n, d, 1);
    let q = data(nq, d, 2);
    let t = Instant::now();
    let m = KNeighborsRegressorParams::default()
        .algorithm(algorithm)
        .fit(&train)
        .expect("fit");
    let fit_s = t.elapsed().as_secs_f64();
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let t = Instant::now();
        let p = m.predict(&q).expect("predict");
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(p);
    }
    println!(
        "smelt kNN n={n} d={d} nq={nq} method={} threads={}: fit {fit_s:.3}s, predict {best:.3}s (best of 3)",
        m.fit_method(),
        rayon::current_num_threads()
    );
}
