//! Benchmark driver: loads a file into a `Dataset<f32>` and prints one JSON line with the
//! wall time of each stage, which reader parsed the file (`fast_csv` or `polars`) and the
//! process's peak RSS. Used by `bench/load.sh`.
//!
//! `cargo run --release -p smelt-data --example load_dataset -- FILE [--target COL] [--repeat N] [--polars]`
//!
//! `--polars` reads CSV files with polars alone (Smelt's reader before the fast CSV path).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::path::PathBuf;
use std::time::Instant;

use smelt_core::Dataset;
use smelt_data::convert::to_dataset;
use smelt_data::infer::{infer_schema, normalize};
use smelt_data::read::{Reader, read_polars, read_traced};
use smelt_data::{LoadOptions, Result};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let path = PathBuf::from(
        args.next()
            .expect("usage: load_dataset FILE [--target COL] [--repeat N] [--polars]"),
    );
    let mut target = None;
    let mut repeat = 1;
    let mut polars_only = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--target" => target = args.next(),
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            "--polars" => polars_only = true,
            other => panic!("unknown argument {other}"),
        }
    }
    let mut opts = LoadOptions::default();
    opts.schema.target = target;
    let is_csv = path.extension().is_some_and(|e| e == "csv");

    for _ in 0..repeat {
        let t0 = Instant::now();
        let (df, reader) = if polars_only {
            (read_polars(&path, &opts.read)?, Reader::Polars)
        } else {
            read_traced(&path, &opts.read)?
        };
        let t_read = t0.elapsed().as_secs_f64();
        let schema = infer_schema(&df, &opts.schema, &opts.infer, &path)?;
        let df = normalize(df, &schema, &path)?;
        let ds: Dataset<f32> = to_dataset(&df, &schema, &path)?;
        drop(df);
        let total = t0.elapsed().as_secs_f64();
        let peak = peak_rss_mib();
        // The preflight is part of polars' CSV path only; timed apart, after the load, to show
        // its share there.
        let preflight = if is_csv && reader == Reader::Polars {
            let t0 = Instant::now();
            let d = opts.read.csv.delimiter;
            smelt_data::read::preflight::preflight_csv(&path, d, &opts.read.csv)?;
            format!("{:.4}", t0.elapsed().as_secs_f64())
        } else {
            "null".to_string()
        };
        let reader = match reader {
            Reader::FastCsv => "fast_csv",
            Reader::Polars => "polars",
            Reader::Images => "images",
        };
        println!(
            "{{\"tool\":\"smelt\",\"file\":\"{}\",\"reader\":\"{reader}\",\"rows\":{},\"features\":{},\"read_s\":{t_read:.4},\"total_s\":{total:.4},\"preflight_s\":{preflight},\"peak_rss_mib\":{peak:.1}}}",
            path.display(),
            ds.n_rows(),
            ds.n_features(),
        );
    }
    Ok(())
}
