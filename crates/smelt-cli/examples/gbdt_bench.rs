//! Smelt's side of `bench/gbdt.sh`: the gradient-boosting goals of the issue "Trees and
//! ensembles" on the benchmark data of `bench/gen_data.py` (800k training rows × 28 features,
//! 200k test rows; reading the CSVs is not timed).
//!
//! ```text
//! cargo run --release -p smelt-cli --example gbdt_bench -- /tmp/smelt-benchdata [repeat]
//! ```
//!
//! Prints one JSON line per measurement, as `../shared/bench/tabular.py` does for LightGBM
//! and XGBoost: the fit (100 rounds, 31 leaves, learning rate 0.1, max_bins 255, no early
//! stopping — LightGBM's settings) with test AUC and log-loss and the fit's peak RSS (the
//! kernel's peak mark is reset before each fit); batch prediction of the 200k test rows; and
//! single-row prediction through `TreeEnsemble::predict_row_margins`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::path::Path;
use std::time::Instant;

use smelt_core::{Dataset, Fit, Prediction, Predictor, Target};
use smelt_eval::metrics::{log_loss, roc_auc};
use smelt_trees::gbdt::HistGradientBoostingClassifierParams;

fn status_kib(field: &str) -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // Clock ticks are 100 per second on Linux.
    (tick(11) + tick(12)) / 100.0
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn load(path: &Path) -> Result<Dataset<f64>, Box<dyn std::error::Error>> {
    let loaded = smelt_data::load(path, &smelt_data::LoadOptions::default().with_target("y"))?;
    Ok(smelt_data::convert::to_dataset(
        &loaded.frame,
        &loaded.schema,
        &loaded.path,
    )?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir = Path::new(args.get(1).map_or("/tmp/smelt-benchdata", String::as_str));
    let repeat: usize = args.get(2).map_or(Ok(3), |s| s.parse())?;
    let train = load(&dir.join("clf_train.csv"))?;
    let test = load(&dir.join("clf_test.csv"))?;
    let threads = rayon::current_num_threads();
    let params = HistGradientBoostingClassifierParams::default()
        .max_iter(100)
        .max_leaf_nodes(Some(31))
        .learning_rate(0.1)
        .max_bins(255)
        .early_stopping(false);

    let mut secs = Vec::new();
    let mut cpu = Vec::new();
    let mut peaks = Vec::new();
    let before = status_kib("VmRSS").unwrap_or(0);
    let mut model = None;
    for _ in 0..repeat {
        // Reset the peak-RSS mark (Linux >= 4.0), as tabular.py does for the references.
        let _ = std::fs::write("/proc/self/clear_refs", "5");
        let (t, c) = (Instant::now(), cpu_seconds());
        let m = params.fit(&train)?;
        secs.push(t.elapsed().as_secs_f64());
        cpu.push(cpu_seconds() - c);
        peaks.push(status_kib("VmHWM").unwrap_or(0));
        model = Some(m);
    }
    let model = model.ok_or("repeat must be >= 1")?;
    let Prediction::Classification { proba: Some(p), .. } = model.predict(&test)? else {
        return Err("no probabilities".into());
    };
    let Some(Target::Classification { codes, .. }) = test.target() else {
        return Err("no class target".into());
    };
    let p1: Vec<f64> = (0..codes.len()).map(|i| p.row(i)[1]).collect();
    let all: Vec<f64> = secs.iter().map(|s| (s * 1e4).round() / 1e4).collect();
    let peak = peaks.iter().copied().max().unwrap_or(0);
    println!(
        r#"{{"tool":"smelt","task":"gbdt_fit_800k_100r_31l","threads":{threads},"seconds_median":{:.4},"seconds_all":{all:?},"cpu_s":{:.2},"quality":{{"auc":{:.5},"log_loss":{:.6}}},"n_trees":{},"rss_before_fit_mib":{:.1},"peak_rss_during_fit_mib":{:.1},"fit_extra_mib":{:.1}}}"#,
        median(&mut secs),
        median(&mut cpu),
        roc_auc(codes, &p1, None)?,
        log_loss(codes, &p, None)?,
        model.ensemble().n_trees(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        peak.saturating_sub(before) as f64 / 1024.0,
    );

    let mut secs = Vec::new();
    for _ in 0..repeat.max(3) {
        let t = Instant::now();
        let out = model.predict(&test)?;
        secs.push(t.elapsed().as_secs_f64());
        std::hint::black_box(out);
    }
    println!(
        r#"{{"tool":"smelt","task":"gbdt_predict_200k","threads":{threads},"seconds_median":{:.4}}}"#,
        median(&mut secs)
    );

    let engine = model.ensemble();
    let row: Vec<f64> = (0..test.n_features()).map(|j| test.column(j)[0]).collect();
    let mut out = vec![0.0; engine.n_groups()];
    let n = 200_000;
    let t = Instant::now();
    for _ in 0..n {
        engine.predict_row_margins(std::hint::black_box(&row), &mut out)?;
        std::hint::black_box(&out);
    }
    println!(
        r#"{{"tool":"smelt","task":"gbdt_predict_1row_us","seconds_median":{:.3}}}"#,
        t.elapsed().as_secs_f64() / n as f64 * 1e6
    );
    Ok(())
}
