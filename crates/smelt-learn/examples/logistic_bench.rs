//! Times `LogisticRegression` (lbfgs, defaults) on a synthetic binary problem, by default
//! 1M × 28 as in the performance goal, and prints the training log-loss so scikit-learn can
//! be compared at equal loss (`examples/logistic_bench.py` fits the same data).
//!
//! ```text
//! cargo run --release -p smelt-learn --example logistic_bench -- [n_rows] [n_features] [dump.bin]
//! ```
//!
//! `MAX_ITER` (environment) overrides `max_iter`; `SOLVER=saga|both` picks the solver(s). With a third argument the design matrix (column-major f64) and then the labels (as f64)
//! are written there, for the Python side.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::io::Write;
use std::time::Instant;

use smelt_core::rng::Rng;
use smelt_core::{Dataset, Fit, Target};
use smelt_learn::linear::{LogisticRegressionParams, LogisticSolver};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(Ok(1_000_000), |s| s.parse())?;
    let p: usize = args.get(2).map_or(Ok(28), |s| s.parse())?;
    let mut rng = Rng::new(42);
    let values: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let w: Vec<f64> = (0..p).map(|j| ((j % 7) as f64 - 3.0) / 4.0).collect();
    let mut z = vec![0.3; n];
    for (j, wj) in w.iter().enumerate() {
        for (i, zi) in z.iter_mut().enumerate() {
            *zi += wj * values[j * n + i];
        }
    }
    let codes: Vec<u32> = z
        .iter()
        .map(|&zi| u32::from(rng.uniform() < 1.0 / (1.0 + (-zi).exp())))
        .collect();
    if let Some(path) = args.get(3) {
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        for v in values.iter().chain(
            codes
                .iter()
                .map(|&c| f64::from(c))
                .collect::<Vec<_>>()
                .iter(),
        ) {
            f.write_all(&v.to_le_bytes())?;
        }
    }
    let features = (0..p).map(|j| numeric(&format!("x{j}"))).collect();
    let target = Target::Classification {
        codes: codes.clone(),
        classes: vec!["0".into(), "1".into()],
    };
    let data = Dataset::new(n, values, features, Some(("y".into(), target)))?;
    let solvers = match std::env::var("SOLVER").as_deref() {
        Ok("saga") => vec![LogisticSolver::Saga],
        Ok("both") => vec![LogisticSolver::Lbfgs, LogisticSolver::Saga],
        _ => vec![LogisticSolver::Lbfgs],
    };
    for solver in solvers {
        let max_iter: usize = std::env::var("MAX_ITER")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(100);
        let params = LogisticRegressionParams::default()
            .solver(solver)
            .max_iter(max_iter);
        let t = Instant::now();
        let m = params.fit(&data)?;
        let secs = t.elapsed().as_secs_f64();
        let proba = m.predict_proba(&data)?;
        let logloss = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| -proba.row(i)[c as usize].max(1e-300).ln())
            .sum::<f64>()
            / n as f64;
        println!(
            "{solver:?} n={n} p={p} threads={}: fit {secs:.3} s, n_iter {}, converged {}, log-loss {logloss:.10}",
            rayon::current_num_threads(),
            m.n_iter(),
            m.converged()
        );
    }
    Ok(())
}

fn numeric(name: &str) -> smelt_core::Feature {
    smelt_core::Feature {
        name: name.into(),
        ltype: smelt_core::LogicalType::Numeric,
        kind: smelt_core::FeatureKind::Numeric,
    }
}
