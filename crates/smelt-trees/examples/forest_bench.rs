//! Smelt's side of `bench/forest.sh`: RandomForestClassifier (scikit-learn defaults:
//! 100 trees, `max_features = "sqrt"`, fully grown, bootstrap) on the first 200,000 rows of
//! the benchmark table of `bench/gen_data.py` (`clf_train.csv`), scored by ROC AUC on the
//! 200,000 rows of `clf_test.csv`. Reading the CSV is not timed.
//!
//! ```text
//! RAYON_NUM_THREADS=2 cargo run --release -p smelt-trees --example forest_bench -- \
//!     /tmp/smelt-benchdata [n_trees] [train_rows]
//! ```
//!
//! Prints one JSON line: fit (wall and CPU) and predict seconds, test AUC, node count.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::path::Path;
use std::time::Instant;

use smelt_core::{Dataset, Fit, Target};
use smelt_trees::forest::RandomForestClassifierParams;

/// Reads the first `limit` rows of a benchmark CSV (features `f0..`, target `y` last).
fn read(path: &Path, limit: usize) -> Result<Dataset<f64>, Box<dyn std::error::Error>> {
    let mut rdr = csv::Reader::from_path(path)?;
    let header: Vec<String> = rdr.headers()?.iter().map(str::to_string).collect();
    let p = header.len() - 1;
    let mut cols: Vec<Vec<f64>> = vec![Vec::new(); p];
    let mut codes = Vec::new();
    for rec in rdr.records().take(limit) {
        let rec = rec?;
        for (j, col) in cols.iter_mut().enumerate() {
            col.push(rec[j].parse()?);
        }
        codes.push(rec[p].parse::<u32>()?);
    }
    let n = codes.len();
    let features = header[..p]
        .iter()
        .map(|name| smelt_testkit::numeric(name))
        .collect();
    let target = Target::Classification {
        codes,
        classes: vec!["0".into(), "1".into()],
    };
    Ok(Dataset::new(
        n,
        cols.concat(),
        features,
        Some(("y".into(), target)),
    )?)
}

/// CPU seconds (user + system, all threads) this process has used, from `/proc/self/stat`
/// (clock ticks of 1/100 s); `None` where that file is not there.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of the file (utime, stime) are 12 and 13 after the command name.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// ROC AUC of scores for the positive class (ties counted half).
fn auc(score: &[f64], y: &[u32]) -> f64 {
    let mut idx: Vec<usize> = (0..score.len()).collect();
    idx.sort_by(|&a, &b| score[a].total_cmp(&score[b]));
    let (mut rank_sum, mut i) = (0.0, 0);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && score[idx[j + 1]] == score[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += (i..=j).filter(|&k| y[idx[k]] == 1).count() as f64 * mid;
        i = j + 1;
    }
    let pos = y.iter().filter(|&&c| c == 1).count() as f64;
    let neg = y.len() as f64 - pos;
    (rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map_or("/tmp/smelt-benchdata", String::as_str));
    let n_trees: usize = args.get(2).map_or(Ok(100), |s| s.parse())?;
    let rows: usize = args.get(3).map_or(Ok(200_000), |s| s.parse())?;
    let train = read(&dir.join("clf_train.csv"), rows)?;
    let test = read(&dir.join("clf_test.csv"), usize::MAX)?;
    let params = RandomForestClassifierParams::default()
        .n_estimators(n_trees)
        .random_state(0);
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let model = params.fit(&train)?;
    let fit = t.elapsed().as_secs_f64();
    let fit_cpu = cpu
        .zip(cpu_seconds())
        .map(|(a, b)| ((b - a) * 100.0).round() / 100.0);
    let t = Instant::now();
    let proba = model.predict_proba(&test)?;
    let predict = t.elapsed().as_secs_f64();
    let Some(Target::Classification { codes, .. }) = test.target() else {
        return Err("classification target expected".into());
    };
    let pos: Vec<f64> = proba.chunks(2).map(|r| r[1]).collect();
    let nodes: usize = model.trees()?.iter().map(|t| t.node_count()).sum();
    println!(
        "{}",
        serde_json::json!({
            "tool": "smelt",
            "task": "random_forest_classifier_fit",
            "threads": rayon::current_num_threads(),
            "rows": train.n_rows(),
            "n_estimators": n_trees,
            "fit_seconds": (fit * 1000.0).round() / 1000.0,
            "fit_cpu_seconds": fit_cpu,
            "predict_seconds": (predict * 1000.0).round() / 1000.0,
            "test_auc": (auc(&pos, codes) * 1e5).round() / 1e5,
            "nodes": nodes,
        })
    );
    Ok(())
}
