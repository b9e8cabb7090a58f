//! A light driver for profiling gradient boosting on a CSV table (it builds with the trees
//! crate alone, unlike `smelt-cli`'s `gbdt_real`, which `bench/gbdt.sh` times): the same
//! hyperparameters (100 rounds, 31 leaves, learning rate 0.1, no early stopping), on its
//! training rows (the first 80 %). Columns that parse as numbers (empty cells missing) are numeric, the others
//! categorical (codes in sorted order, empty cells missing); a numeric target with a
//! fractional value is regression, anything else classification.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p smelt-trees --example gbdt_prof -- \
//!     data/credit.csv status [repeat] [fit-only]
//! valgrind --tool=callgrind target/release/examples/gbdt_prof data/credit.csv status 1
//! ```
//!
//! Prints one JSON line: the median fit's wall seconds, the CPU seconds of all fits (and of
//! computing the margins after each), a fingerprint of the model's margins on the training
//! rows and the held-out quality on the last 20 % (AUC for binary targets, else RMSE).

#![allow(
    clippy::print_stdout,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::collections::BTreeSet;
use std::time::Instant;

use smelt_core::{Dataset, Fit, Target};
use smelt_trees::gbdt::{
    HistGradientBoostingClassifierParams, HistGradientBoostingRegressorParams,
};

type AnyError = Box<dyn std::error::Error>;

/// Reads `path` into a dataset with target `target`.
fn read(path: &str, target: &str) -> Result<Dataset<f64>, AnyError> {
    let mut rdr = csv::Reader::from_path(path)?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let mut cells: Vec<Vec<String>> = vec![Vec::new(); header.len()];
    for rec in rdr.records() {
        let rec = rec?;
        for (col, v) in cells.iter_mut().zip(rec.iter()) {
            col.push(v.to_string());
        }
    }
    let t = header
        .iter()
        .position(|h| h == target)
        .ok_or_else(|| format!("no column `{target}`"))?;
    let n = cells[t].len();
    let numeric = |col: &[String]| col.iter().all(|v| v.is_empty() || v.parse::<f64>().is_ok());
    let mut values = Vec::new();
    let mut features = Vec::new();
    for (j, col) in cells.iter().enumerate() {
        if j == t {
            continue;
        }
        if numeric(col) {
            values.extend(col.iter().map(|v| v.parse().unwrap_or(f64::NAN)));
            features.push(smelt_testkit::numeric(&header[j]));
        } else {
            let cats: Vec<String> = col
                .iter()
                .filter(|v| !v.is_empty())
                .cloned()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            values.extend(
                col.iter()
                    .map(|v| cats.binary_search(v).map_or(f64::NAN, |c| c as f64)),
            );
            features.push(smelt_testkit::categorical(&header[j], &cats));
        }
    }
    let ycol = &cells[t];
    let regression = numeric(ycol) && ycol.iter().any(|v| v.contains('.'));
    let target_data = if regression {
        Target::Regression {
            values: ycol.iter().map(|v| v.parse().unwrap_or(f64::NAN)).collect(),
        }
    } else {
        let classes: Vec<String> = ycol
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let codes = ycol
            .iter()
            .map(|v| classes.binary_search(v).map_or(0, |c| c as u32))
            .collect();
        Target::Classification { codes, classes }
    };
    Ok(Dataset::new(
        n,
        values,
        features,
        Some((target.to_string(), target_data)),
    )?)
}

/// CPU seconds (user + system, all threads) of this process, from `/proc/self/stat`.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = after.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn main() -> Result<(), AnyError> {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("data/credit.csv", String::as_str);
    let target = args.get(2).map_or("status", String::as_str);
    let repeat: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    // `fit-only`: no margins (profiles of the fit alone); the fingerprint is then of nothing.
    let margins_too = args.get(4).is_none_or(|a| a != "fit-only");
    let all = read(path, target)?;
    // The training rows of `gbdt_real` (the first 80 %; adult's UCI split aside).
    let n = all.n_rows();
    let data = all.select_rows(&(0..n - n / 5).collect::<Vec<_>>())?;
    let test = all.select_rows(&(n - n / 5..n).collect::<Vec<_>>())?;
    let regression = matches!(data.target(), Some(Target::Regression { .. }));
    let mut secs = Vec::new();
    let cpu0 = cpu_seconds();
    let mut margins = Vec::new();
    let mut test_margins = Vec::new();
    for _ in 0..repeat.max(1) {
        let t = Instant::now();
        if regression {
            let m = HistGradientBoostingRegressorParams::default()
                .max_iter(100)
                .early_stopping(false)
                .fit(&data)?;
            secs.push(t.elapsed().as_secs_f64());
            if margins_too {
                margins = m.raw_margins(&data)?;
                test_margins = m.raw_margins(&test)?;
            }
        } else {
            let m = HistGradientBoostingClassifierParams::default()
                .max_iter(100)
                .early_stopping(false)
                .fit(&data)?;
            secs.push(t.elapsed().as_secs_f64());
            if margins_too {
                margins = m.raw_margins(&data)?;
                test_margins = m.raw_margins(&test)?;
            }
        }
    }
    // A fingerprint of the model: FNV-1a over the bits of its margins on the training rows
    // (equal fingerprints: the same trees, up to a change that moves no row).
    let fingerprint = margins.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, m| {
        (h ^ m.to_bits()).wrapping_mul(0x0100_0000_01b3)
    });
    let cpu = match (cpu0, cpu_seconds()) {
        (Some(a), Some(b)) => format!("{:.3}", b - a),
        _ => "null".into(),
    };
    secs.sort_by(f64::total_cmp);
    // Held-out quality on the last 20 % (as `gbdt_real`): AUC of the margins (binary) or RMSE.
    let quality = match test.target() {
        _ if test_margins.is_empty() => "null".to_string(),
        Some(Target::Regression { values }) => {
            format!(
                r#"{{"rmse":{:.6}}}"#,
                smelt_eval::metrics::rmse(values, &test_margins, None)?
            )
        }
        Some(Target::Classification { codes, classes }) if classes.len() == 2 => {
            let auc = smelt_eval::metrics::roc_auc(codes, &test_margins, None)?;
            format!(r#"{{"auc":{auc:.5}}}"#)
        }
        _ => "null".to_string(),
    };
    println!(
        r#"{{"task":"gbdt_prof","data":"{path}","rows":{},"features":{},"fits":{},"seconds_median":{:.4},"seconds_min":{:.4},"cpu_seconds_all_fits":{cpu},"fingerprint":"{fingerprint:016x}","quality":{quality}}}"#,
        data.n_rows(),
        data.n_features(),
        secs.len(),
        secs[secs.len() / 2],
        secs[0],
    );
    Ok(())
}
