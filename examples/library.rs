//! Smelt as a library, end to end on bundled data: load the Adult census extract, train two
//! catalogue models (logistic regression with automatic preprocessing, gradient boosting on
//! the raw columns), record both runs, keep the better one, save it, load it back and score
//! a table.
//!
//! ```text
//! cargo run -p smelt --example library [-- DATA.csv TARGET]
//! ```
//!
//! Runs go to `./smelt-runs` (see them with `smelt runs list`), or to `SMELT_TRACKING_URI`.

#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example (or benchmark) program: printing is its output"
)]

use std::error::Error;
use std::path::{Path, PathBuf};

use smelt::{Event, LoadOptions, Model, Params, TrainOptions};

fn main() -> Result<(), Box<dyn Error>> {
    // The repository root (this example is built as part of crates/smelt).
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap_or(Path::new("."));
    let mut args = std::env::args().skip(1);
    let file = args
        .next()
        .map_or_else(|| root.join("data/adult.csv"), PathBuf::from);
    let target = args.next().unwrap_or_else(|| "income".to_string());

    // Read, type and normalise the table; `income` is what we predict.
    let data = smelt::load(&file, &LoadOptions::default().with_target(&target))?;
    println!(
        "loaded {} rows × {} columns from {}",
        data.frame.height(),
        data.frame.width(),
        file.display()
    );

    // Record every fit in the project's tracking store.
    let tracker = smelt::tracking::open_project(".")?;
    let show = |e: Event<'_>| match e {
        Event::Note(m) => eprintln!("note: {m}"),
        Event::Warning(m) => eprintln!("warning: {m}"),
        Event::FitStarted { model, rows } => eprintln!("fitting {model} on {rows} rows…"),
        _ => {}
    };
    let opts = TrainOptions {
        tracker: Some(&tracker),
        experiment: "library-example",
        on_event: Some(&show),
        ..TrainOptions::default()
    };

    let candidates = [
        ("logistic_regression", Params::new().set("C", 1.0)),
        (
            "hist_gradient_boosting_classifier",
            Params::new().set("max_iter", 100),
        ),
    ];
    let mut best: Option<(f64, smelt::Trained)> = None;
    for (name, params) in candidates {
        let trained = Model::train_with(&data, name, params, &opts)?;
        let log_loss = metric(&trained.valid_metrics, "log_loss");
        println!(
            "{name:<35} validation accuracy {:.4}  log-loss {log_loss:.4}  ({:.2} s, run {})",
            metric(&trained.valid_metrics, "accuracy"),
            trained.fit_seconds,
            trained
                .run
                .as_ref()
                .map_or("not recorded", |r| r.run_id.as_str())
        );
        if best.as_ref().is_none_or(|(b, _)| log_loss < *b) {
            best = Some((log_loss, trained));
        }
    }
    let Some((_, best)) = best else {
        return Err("no model was trained".into());
    };

    // Save the better model as plain data, load it back, and score the table with it.
    let dir = std::env::temp_dir().join("smelt-library-example-model");
    best.model.save(&dir)?;
    let model = Model::load(&dir)?;
    let predictions = model.predict_file(&file, &Default::default())?;
    println!(
        "kept {} (saved to {}); first predictions:\n{}",
        best.info.name,
        dir.display(),
        predictions.head(Some(5))
    );
    Ok(())
}

/// A named metric, NaN when absent.
fn metric(metrics: &smelt::Metrics, name: &str) -> f64 {
    metrics
        .iter()
        .find(|(k, _)| *k == name)
        .map_or(f64::NAN, |(_, v)| *v)
}
