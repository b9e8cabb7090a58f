//! Gradient boosting on real datasets, against LightGBM with the same hyperparameters (part
//! of `bench/gbdt.sh`; `bench/gbdt_real.py` runs LightGBM the same way): held-out quality, and
//! native categorical splits vs one-hot encoding.
//!
//! ```text
//! cargo run --release -p smelt-cli --example gbdt_real -- data/adult.csv income [repeat] [native]
//! ```
//!
//! For `adult.csv` the split is UCI's own (rows 16,281.. train, the first 16,281 rows test,
//! see `data/README.md`); other files use the last 20 % of rows as the test set. Prints one
//! JSON line per variant: histogram gradient boosting (100 rounds, 31 leaves, learning rate
//! 0.1, no early stopping) on the columns as they are (categorical columns split natively,
//! missing values routed natively), and, when the data has categorical columns, behind the
//! automatic `smelt train` preprocessing of models without native support (impute, one-hot).
//! Quality: AUC and log-loss (binary), accuracy and log-loss (multi-class), RMSE (regression).
//! A fourth argument `native` runs the native variant only (the large noisy table of
//! `bench/gbdt.sh`, where the one-hot variant would only add minutes).

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::path::Path;
use std::time::Instant;

use smelt_core::catalog::Prep;
use smelt_core::{Dataset, FeatureKind, FitPredictor, Prediction, Target};
use smelt_eval::metrics::{accuracy, log_loss, rmse, roc_auc};
use smelt_learn::catalog::auto_pipeline;
use smelt_trees::gbdt::{
    HistGradientBoostingClassifierParams, HistGradientBoostingRegressorParams,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(args.get(1).map_or("data/adult.csv", String::as_str));
    let target = args.get(2).map_or("income", String::as_str);
    let repeat: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let native_only = match args.get(4).map(String::as_str) {
        None | Some("all") => false,
        Some("native") => true,
        Some(other) => return Err(format!("variants: `native` or `all`, not `{other}`").into()),
    };
    let loaded = smelt_data::load(
        path,
        &smelt_data::LoadOptions::default().with_target(target),
    )?;
    let data: Dataset<f64> =
        smelt_data::convert::to_dataset(&loaded.frame, &loaded.schema, &loaded.path)?;
    let n = data.n_rows();
    let uci = path.file_name().is_some_and(|f| f == "adult.csv");
    let (test_rows, train_rows): (Vec<usize>, Vec<usize>) = if uci {
        ((0..16_281).collect(), (16_281..n).collect())
    } else {
        ((n - n / 5..n).collect(), (0..n - n / 5).collect())
    };
    let train = data.select_rows(&train_rows)?;
    let test = data.select_rows(&test_rows)?;
    let n_cat = data
        .features()
        .iter()
        .filter(|f| matches!(f.kind, FeatureKind::Categorical { .. }))
        .count();
    let regression = matches!(data.target(), Some(Target::Regression { .. }));
    let make = || -> Box<dyn FitPredictor> {
        if regression {
            Box::new(
                HistGradientBoostingRegressorParams::default()
                    .max_iter(100)
                    .early_stopping(false),
            )
        } else {
            Box::new(
                HistGradientBoostingClassifierParams::default()
                    .max_iter(100)
                    .early_stopping(false),
            )
        }
    };
    let mut variants: Vec<(&str, Box<dyn FitPredictor>)> = vec![("native", make())];
    if n_cat > 0 && !native_only {
        variants.push((
            "one_hot",
            Box::new(auto_pipeline(Prep::ImputeEncode, make())),
        ));
    }
    let threads = rayon::current_num_threads();
    for (name, est) in variants {
        let mut secs = Vec::new();
        let mut model = None;
        for _ in 0..repeat {
            let t = Instant::now();
            let m = est.fit_predictor(&train, None)?;
            secs.push(t.elapsed().as_secs_f64());
            model = Some(m);
        }
        let model = model.ok_or("repeat must be >= 1")?;
        secs.sort_by(f64::total_cmp);
        let quality = match (test.target(), model.predict(&test)?) {
            (Some(Target::Regression { values: y }), Prediction::Regression { values }) => {
                format!(r#"{{"rmse":{:.6}}}"#, rmse(y, &values, None)?)
            }
            (
                Some(Target::Classification { codes, classes }),
                Prediction::Classification {
                    labels,
                    proba: Some(p),
                    ..
                },
            ) if classes.len() == 2 => {
                let p1: Vec<f64> = (0..codes.len()).map(|i| p.row(i)[1]).collect();
                format!(
                    r#"{{"auc":{:.5},"log_loss":{:.6},"accuracy":{:.5}}}"#,
                    roc_auc(codes, &p1, None)?,
                    log_loss(codes, &p, None)?,
                    accuracy(codes, &labels, None)?
                )
            }
            (
                Some(Target::Classification { codes, .. }),
                Prediction::Classification {
                    labels,
                    proba: Some(p),
                    ..
                },
            ) => format!(
                r#"{{"log_loss":{:.6},"accuracy":{:.5}}}"#,
                log_loss(codes, &p, None)?,
                accuracy(codes, &labels, None)?
            ),
            _ => return Err("unexpected prediction".into()),
        };
        println!(
            r#"{{"tool":"smelt","task":"gbdt_real_{name}","data":"{}","train_rows":{},"categorical_features":{n_cat},"threads":{threads},"seconds_median":{:.4},"quality":{quality}}}"#,
            path.display(),
            train.n_rows(),
            secs[secs.len() / 2],
        );
    }
    Ok(())
}
