//! What one single-row batch costs the scoring thread, model aside: the request's rows turned
//! into the model's input dataset and predicted, as `batch::Worker` does it, timed in a loop.
//! A batch of one row is what a lightly loaded server scores, so this per-batch cost is paid by
//! every request there (BENCHMARKS.md, "Serving → Per-batch cost of the scoring thread").
//!
//! `cargo run --release -p smelt-serve --example score_cost -- MODEL [ROWS]`, where MODEL is
//! anything `smelt serve` takes (a model directory, an XGBoost `.json`, a LightGBM `.txt`).
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark helper prints its timings"
)]

use std::process::ExitCode;
use std::time::Instant;

use smelt_core::{FeatureKind, SharedFeatures};
use smelt_serve::decode::Rows;
use smelt_serve::source::{Lookup, Source, load};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(model) = args.next() else {
        eprintln!("usage: score_cost MODEL [ROWS]");
        return ExitCode::FAILURE;
    };
    let rows: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(200_000);
    match run(&model, rows) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("score_cost: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(model: &str, n: usize) -> Result<(), Box<dyn std::error::Error>> {
    let model = load(&Source::parse(model)?, &Lookup::project())?.predictor;
    let features = SharedFeatures::new(model.input_features().to_vec())?;
    // One row: 1.5 for numbers, the first category for categorical features.
    let values = features
        .iter()
        .map(|f| match f.kind {
            FeatureKind::Numeric => 1.5,
            FeatureKind::Categorical { .. } => 0.0,
        })
        .collect();
    let row = Rows::numeric(1, values);
    for round in 1..=5 {
        let start = Instant::now();
        for _ in 0..n {
            let data = row.clone().into_dataset(&features)?;
            std::hint::black_box(model.predict(&data)?);
        }
        let per_row = start.elapsed().as_secs_f64() * 1e9 / n as f64;
        println!("round {round}: {per_row:.0} ns per single-row batch");
    }
    Ok(())
}
