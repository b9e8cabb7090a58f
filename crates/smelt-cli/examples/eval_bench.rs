//! Smelt's side of `bench/eval.sh`: ROC-AUC, log loss and average precision over 10,000,000
//! binary predictions (issue "Evaluation", performance goal 1).
//!
//! ```text
//! cargo run --release -p smelt-cli --example eval_bench -- /tmp/smelt-benchdata [repeat] [n]
//! ```
//!
//! Generates `n` (default 10,000,000) labels and scores from a fixed seed and writes them to
//! `DIR/eval_<n>.bin` (`n` little-endian `f64` scores, then `n` `u8` labels), so that
//! `bench/eval_metrics.py` reads the same data with `numpy.fromfile`. Labels are 1 with
//! probability 0.3; a score is the logistic of `1.5·y − 0.8 + N(0, 1)`, and every other score is
//! rounded to 3 decimals, so about half the samples share their score with others (ties).
//! Then times `roc_auc`, `log_loss_binary` and `average_precision` (input checks included,
//! as scikit-learn's validation is in its times), best of `repeat` (default 5) runs each, and
//! prints one JSON line per metric with its value to 17 significant digits.
//!
//! ```text
//! cargo run --release -p smelt-cli --example eval_bench -- cv FILE [threads]
//! ```
//!
//! Goal 2's phases, as `smelt cv FILE --target y --model logistic_regression --no-stratify
//! --no-shuffle --folds 5 --metric accuracy --no-track --threads N` runs them: times the read
//! (`smelt_data::load`) and `smelt_workflow::cross_validate` apart and prints one JSON line with
//! both and the fold accuracies.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::io::Write;
use std::path::Path;
use std::time::Instant;

use smelt_core::rng::Rng;
use smelt_eval::metrics::{average_precision, log_loss_binary, roc_auc};

fn best<T>(repeat: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = None;
    let mut best = f64::INFINITY;
    for _ in 0..repeat {
        let t = Instant::now();
        let v = f();
        best = best.min(t.elapsed().as_secs_f64());
        out = Some(v);
    }
    (best, out.expect("repeat >= 1"))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("cv") {
        return cv(&args[2..]);
    }
    let dir = args.get(1).map_or("/tmp/smelt-benchdata", String::as_str);
    let repeat: usize = args.get(2).map_or(Ok(5), |s| s.parse())?;
    let n: usize = args.get(3).map_or(Ok(10_000_000), |s| s.parse())?;
    let threads = rayon::current_num_threads();

    let t = Instant::now();
    let mut rng = Rng::new(20_261_124);
    let mut y8 = Vec::with_capacity(n);
    let mut score = Vec::with_capacity(n);
    for i in 0..n {
        let y = u8::from(rng.uniform() < 0.3);
        let z = 1.5 * f64::from(y) - 0.8 + rng.normal();
        let mut p = 1.0 / (1.0 + (-z).exp());
        if i % 2 == 0 {
            p = (p * 1000.0).round() / 1000.0;
        }
        y8.push(y);
        score.push(p);
    }
    let path = Path::new(dir).join(format!("eval_{n}.bin"));
    std::fs::create_dir_all(dir)?;
    let mut bytes = Vec::with_capacity(n * 9);
    for s in &score {
        bytes.extend_from_slice(&s.to_le_bytes());
    }
    bytes.extend_from_slice(&y8);
    std::fs::File::create(&path)?.write_all(&bytes)?;
    drop(bytes);
    let positives = y8.iter().filter(|&&y| y == 1).count();
    eprintln!(
        "# wrote {} ({n} samples, {positives} positive) in {:.2} s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
    let y: Vec<u32> = y8.iter().map(|&v| u32::from(v)).collect();

    let emit = |task: &str, secs: f64, value: f64| {
        println!(
            "{{\"tool\":\"smelt\",\"task\":\"{task}\",\"n\":{n},\"threads\":{threads},\
             \"seconds\":{secs:.4},\"value\":{value:.17e}}}"
        );
    };
    let (secs, v) = best(repeat, || roc_auc(&y, &score, None));
    emit("roc_auc", secs, v?);
    let (secs, v) = best(repeat, || log_loss_binary(&y, &score, None));
    emit("log_loss", secs, v?);
    let (secs, v) = best(repeat, || average_precision(&y, &score, None));
    emit("average_precision", secs, v?);
    Ok(())
}

/// Goal 2: `smelt cv`'s read and cross-validation, timed apart.
fn cv(args: &[String]) -> Result<(), Box<dyn std::error::Error>> {
    let file = args.first().ok_or("cv FILE [threads]")?;
    let threads: usize = args.get(1).map_or(Ok(2), |s| s.parse())?;
    smelt_learn::set_threads(threads);
    let t = Instant::now();
    let data = smelt_data::load(
        Path::new(file),
        &smelt_data::LoadOptions::default().with_target("y"),
    )?;
    let load_s = t.elapsed().as_secs_f64();
    let spec = smelt_workflow::CvSpec {
        folds: 5,
        kind: smelt_workflow::FoldKind::KFold,
        shuffle: false,
        ..smelt_workflow::CvSpec::default()
    };
    let t = Instant::now();
    let cv = smelt_workflow::cross_validate(
        &data,
        "logistic_regression",
        smelt_workflow::Params::parse::<&str>(&[])?,
        &spec,
        &["accuracy".to_string()],
        &smelt_workflow::TrainOptions::default(),
    )?;
    let cv_s = t.elapsed().as_secs_f64();
    let folds: Vec<String> = cv.result.test[0]
        .folds
        .iter()
        .map(|v| format!("{v:.10}"))
        .collect();
    let fits: Vec<String> = cv
        .result
        .folds
        .iter()
        .map(|f| format!("{:.4}", f.fit_seconds))
        .collect();
    println!(
        "{{\"tool\":\"smelt\",\"task\":\"cv_logistic_5fold\",\"rows\":{},\"threads\":{threads},\
         \"load_seconds\":{load_s:.4},\"cv_seconds\":{cv_s:.4},\"fold_accuracy\":[{}],\
         \"fit_seconds\":[{}]}}",
        cv.rows,
        folds.join(","),
        fits.join(",")
    );
    Ok(())
}
