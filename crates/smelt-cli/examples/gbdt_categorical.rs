//! Native categorical splits vs one-hot encoding, on a real mixed-type dataset (part of
//! `bench/gbdt.sh`; `bench/gbdt_categorical.py` runs LightGBM the same way).
//!
//! ```text
//! cargo run --release -p smelt-cli --example gbdt_categorical -- data/adult.csv income [repeat]
//! ```
//!
//! For `adult.csv` the split is UCI's own (rows 16,281.. train, the first 16,281 rows test,
//! see `data/README.md`); other files use the last 20 % of rows as the test set. Prints one
//! JSON line per variant: histogram gradient boosting (100 rounds, 31 leaves, learning rate
//! 0.1, no early stopping) on the categorical columns as they are, and behind the automatic
//! `smelt train` preprocessing for models without native support (impute, one-hot encode).

use std::path::Path;
use std::time::Instant;

use smelt_core::{Dataset, FitPredictor, Prediction, Target};
use smelt_learn::catalog::{Prep, auto_pipeline};
use smelt_learn::metrics::{log_loss, roc_auc};
use smelt_trees::gbdt::HistGradientBoostingClassifierParams;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let path = Path::new(args.get(1).map_or("data/adult.csv", String::as_str));
    let target = args.get(2).map_or("income", String::as_str);
    let repeat: usize = args.get(3).map_or(Ok(3), |s| s.parse())?;
    let loaded = smelt_data::load(
        path,
        &smelt_data::LoadOptions::default().with_target(target),
    )?;
    let data: Dataset<f64> =
        smelt_data::convert::to_dataset(&loaded.frame, &loaded.schema, &loaded.path)?;
    let n = data.n_rows();
    let n_test = if path.file_name().is_some_and(|f| f == "adult.csv") {
        16_281
    } else {
        n / 5
    };
    let (test_rows, train_rows): (Vec<usize>, Vec<usize>) = if n_test == 16_281 {
        ((0..n_test).collect(), (n_test..n).collect())
    } else {
        ((n - n_test..n).collect(), (0..n - n_test).collect())
    };
    let train = data.select_rows(&train_rows)?;
    let test = data.select_rows(&test_rows)?;
    let Some(Target::Classification { codes, .. }) = test.target() else {
        return Err("the target is not a class".into());
    };
    let n_cat = data
        .features()
        .iter()
        .filter(|f| matches!(f.kind, smelt_core::FeatureKind::Categorical { .. }))
        .count();
    let params = || {
        HistGradientBoostingClassifierParams::default()
            .max_iter(100)
            .early_stopping(false)
    };
    let variants: Vec<(&str, Box<dyn FitPredictor>)> = vec![
        ("native", Box::new(params())),
        (
            "one_hot",
            Box::new(auto_pipeline(Prep::ImputeEncode, Box::new(params()))),
        ),
    ];
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
        let Prediction::Classification { proba: Some(p), .. } = model.predict(&test)? else {
            return Err("no probabilities".into());
        };
        let p1: Vec<f64> = (0..codes.len()).map(|i| p.row(i)[1]).collect();
        println!(
            r#"{{"tool":"smelt","task":"gbdt_categorical_{name}","data":"{}","train_rows":{},"categorical_features":{n_cat},"threads":{threads},"seconds_median":{:.4},"quality":{{"auc":{:.5},"log_loss":{:.6}}}}}"#,
            path.display(),
            train.n_rows(),
            secs[secs.len() / 2],
            roc_auc(codes, &p1),
            log_loss(codes, &p),
        );
    }
    Ok(())
}
