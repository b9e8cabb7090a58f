//! Benchmark driver: loads a file into a `Dataset<f32>` and prints one JSON line with the
//! wall time of each stage and the process's peak RSS. Used by `bench/load.sh`.
//!
//! `cargo run --release -p smelt-data --example load_dataset -- FILE [--target COL] [--repeat N]`

use std::path::PathBuf;
use std::time::Instant;

use smelt_core::Dataset;
use smelt_data::convert::to_dataset;
use smelt_data::infer::{infer_schema, normalize};
use smelt_data::read::read;
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
            .expect("usage: load_dataset FILE [--target COL] [--repeat N]"),
    );
    let mut target = None;
    let mut repeat = 1;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--target" => target = args.next(),
            "--repeat" => repeat = args.next().and_then(|v| v.parse().ok()).unwrap_or(1),
            other => panic!("unknown argument {other}"),
        }
    }
    let mut opts = LoadOptions::default();
    opts.schema.target = target;

    for _ in 0..repeat {
        // The CSV preflight alone (it also runs inside `read`), to see its share.
        let t0 = Instant::now();
        if path.extension().is_some_and(|e| e == "csv") {
            let d = opts.read.csv.delimiter;
            smelt_data::diagnose::preflight_csv(&path, d, &opts.read.csv)?;
        }
        let t_pre = t0.elapsed().as_secs_f64();
        let t0 = Instant::now();
        let df = read(&path, &opts.read)?;
        let t_read = t0.elapsed().as_secs_f64();
        let schema = infer_schema(&df, &opts.schema, &opts.infer, &path)?;
        let df = normalize(df, &schema, &path)?;
        let ds: Dataset<f32> = to_dataset(&df, &schema, &path)?;
        drop(df);
        let total = t0.elapsed().as_secs_f64();
        println!(
            "{{\"tool\":\"smelt\",\"file\":\"{}\",\"rows\":{},\"features\":{},\"preflight_s\":{t_pre:.4},\"read_s\":{t_read:.4},\"total_s\":{total:.4},\"peak_rss_mib\":{:.1}}}",
            path.display(),
            ds.n_rows(),
            ds.n_features(),
            peak_rss_mib()
        );
    }
    Ok(())
}
