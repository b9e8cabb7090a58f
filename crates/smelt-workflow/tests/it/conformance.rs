//! Conformance over the whole catalogue, after scikit-learn's `sklearn/tests/test_common.py`:
//! every model `smelt_workflow::models()` lists goes through `smelt_testkit::CheckEstimator`
//! with its default parameters, alone and inside the default preprocessing pipeline
//! `smelt train` fits (`smelt_learn::catalog::auto_pipeline`). Nothing opts in by hand: a model
//! registered tomorrow is checked by these loops, on data chosen from its task.
//!
//! Also here: `Pipeline`, `ColumnTransformer` and `PCA` under the suites, and
//! `CheckPredictor` on every imported XGBoost / LightGBM model among smelt-trees' fixtures.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::Map;
use smelt_core::Dataset;
use smelt_core::catalog::{ModelInfo, Prep, Task};
use smelt_learn::catalog::auto_pipeline;
use smelt_learn::compose::{Branch, ColumnTransformerParams, Remainder, Selector};
use smelt_learn::decomposition::PcaParams;
use smelt_learn::linear::{LogisticRegressionParams, RidgeParams};
use smelt_learn::pipeline::PipelineParams;
use smelt_learn::preprocessing::{
    HandleUnknown, ImputeStrategy, OneHotEncoderParams, SimpleImputerParams, StandardScalerParams,
};
use smelt_testkit::{
    CheckEstimator, CheckPredictor, CheckTransformer, Fixture, clustering_data, count_data,
    regression_data, with_category_and_missing, with_text,
};
use smelt_trees::import::{lightgbm, xgboost};

/// Rows of every synthetic dataset: enough for every default (k-means' 8 clusters, the
/// 5 neighbours of kNN, DBSCAN's `min_samples`), small enough for the dev profile.
const ROWS: usize = 60;
/// Numeric features.
const FEATURES: usize = 3;
/// Classes of classification data, and blobs of clustering data.
const CLASSES: usize = 3;
/// Fraction of the cells set missing in the data of the preprocessing pipelines.
const MISSING: f64 = 0.1;

/// Catalogue entries known to fail a suite: `(model, suite, why)`. Each must still fail (the
/// test says so once it passes, so the list cannot outlive the bug).
const KNOWN_FAILURES: &[(&str, Suite, &str)] = &[
    (
        "seasonal_naive",
        Suite::Alone,
        "a forecasting baseline: it needs the target's lag columns (`smelt data window`), which synthetic tables lack",
    ),
    (
        "seasonal_naive",
        Suite::Pipeline,
        "a forecasting baseline: it needs the target's lag columns (`smelt data window`), which synthetic tables lack",
    ),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Suite {
    /// `CheckEstimator` on the bare estimator.
    Alone,
    /// `CheckEstimator` on `auto_pipeline(info.prep, estimator)`.
    Pipeline,
}

/// Data for a task, the same for every model of that task.
fn data_for(task: Task, seed: u64) -> Dataset<f64> {
    match task {
        Task::Regression => regression_data(ROWS, FEATURES, seed),
        // Non-negative integer features (Gaussian blobs as counts): valid input for every
        // classifier, and what count models (multinomial naive Bayes) require.
        Task::Classification => count_data(ROWS, FEATURES, CLASSES, seed),
        // Features only: clustering has no target.
        Task::Clustering => clustering_data(ROWS, FEATURES, CLASSES, seed),
    }
}

/// What `smelt train` sees: the task's data plus a categorical column, with missing values
/// in every column.
fn table_for(task: Task, seed: u64) -> Dataset<f64> {
    with_category_and_missing(&data_for(task, seed), MISSING, seed + 100)
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Runs `check` on every catalogue model, then fails listing every model that failed (not
/// only the first) and every known failure that now passes.
#[allow(
    clippy::print_stderr,
    reason = "test output: each model's run time and known failures, read with --nocapture"
)]
fn for_every_model(suite: Suite, check: impl Fn(&ModelInfo)) {
    let models = smelt_workflow::models();
    assert!(!models.is_empty(), "the catalogue is empty");
    let start = Instant::now();
    let mut failures = Vec::new();
    for info in &models {
        let known = KNOWN_FAILURES
            .iter()
            .find(|(name, s, _)| *name == info.name && *s == suite);
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| check(info)));
        eprintln!("{suite:?} {}: {:.2?}", info.name, t.elapsed());
        match (outcome, known) {
            (Ok(()), None) => {}
            (Err(p), None) => failures.push(format!("{}: {}", info.name, panic_message(p))),
            (Ok(()), Some((_, _, why))) => failures.push(format!(
                "{}: passes now; remove it from KNOWN_FAILURES ({why})",
                info.name
            )),
            (Err(p), Some(_)) => {
                eprintln!(
                    "{suite:?} {}: known failure: {}",
                    info.name,
                    panic_message(p)
                );
            }
        }
    }
    eprintln!(
        "{suite:?}: {} models in {:.2?}",
        models.len(),
        start.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{suite:?}: {} of {} catalogue models fail:\n{}",
        failures.len(),
        models.len(),
        failures.join("\n")
    );
}

#[test]
fn every_catalogue_model_conforms() {
    let registry = smelt_workflow::registry();
    for_every_model(Suite::Alone, |info| {
        let estimator = info
            .build(Map::new())
            .unwrap_or_else(|e| panic!("{}: default parameters rejected: {e}", info.name));
        // Text models read a free-text column; the others must ignore it.
        let data = with_text(&data_for(info.task, 1), 1);
        let check = CheckEstimator::new(estimator.as_ref(), &registry).data(data);
        // `Prep::Native` declares that the model takes missing values as they are.
        if info.prep == Prep::Native {
            check.handles_missing().run();
        } else {
            check.run();
        }
    });
}

#[test]
fn every_catalogue_model_conforms_in_its_default_pipeline() {
    let registry = smelt_workflow::registry();
    for_every_model(Suite::Pipeline, |info| {
        let estimator = info
            .build(Map::new())
            .unwrap_or_else(|e| panic!("{}: default parameters rejected: {e}", info.name));
        let pipeline = auto_pipeline(info.prep, estimator);
        // Every default pipeline imputes, or ends in a model that takes missing values.
        CheckEstimator::new(&pipeline, &registry)
            .data(with_text(&table_for(info.task, 2), 2))
            .handles_missing()
            .run();
    });
}

#[test]
fn the_catalogue_covers_every_task() {
    let models = smelt_workflow::models();
    for task in [Task::Regression, Task::Classification, Task::Clustering] {
        assert!(
            models.iter().any(|m| m.task == task),
            "no {task:?} model in the catalogue"
        );
    }
}

#[test]
fn pipelines_conform() {
    let registry = smelt_workflow::registry();
    let ridge =
        || PipelineParams::new(RidgeParams::default()).step(StandardScalerParams::default());
    CheckEstimator::new(&ridge(), &registry)
        .data(regression_data(ROWS, FEATURES, 3))
        .invalid(
            PipelineParams::new(RidgeParams::default().alpha(-1.0))
                .step(StandardScalerParams::default()),
            "alpha",
        )
        .invalid(
            PipelineParams::new(RidgeParams::default()).step(PcaParams::default().n_components(0)),
            "n_components",
        )
        .run();
    let logistic = PipelineParams::new(LogisticRegressionParams::default())
        .step(StandardScalerParams::default())
        .step(PcaParams::default().n_components(2));
    CheckEstimator::new(&logistic, &registry)
        .data(count_data(ROWS, FEATURES, CLASSES, 4))
        .run();
}

/// `smelt train`'s preprocessing: impute, scale numbers, impute and one-hot encode categories.
fn default_prep() -> ColumnTransformerParams {
    let num = Branch::new("numeric", Selector::Numeric)
        .step(SimpleImputerParams::default().strategy(ImputeStrategy::Median))
        .step(StandardScalerParams::default());
    let cat = Branch::new("categorical", Selector::Categorical)
        .step(SimpleImputerParams::default().strategy(ImputeStrategy::MostFrequent))
        .step(OneHotEncoderParams::default().handle_unknown(HandleUnknown::Ignore));
    ColumnTransformerParams::new().branch(num).branch(cat)
}

#[test]
fn column_transformer_conforms() {
    let registry = smelt_workflow::registry();
    let table = with_category_and_missing(&regression_data(ROWS, FEATURES, 5), MISSING, 6);
    CheckTransformer::new(&default_prep(), &registry)
        .data(table.clone())
        .invalid(
            ColumnTransformerParams::new()
                .branch(Branch::new("a", Selector::Numeric))
                .branch(Branch::new("a", Selector::Categorical)),
            "branches",
        )
        .invalid(
            ColumnTransformerParams::new().branch(
                Branch::new("numeric", Selector::Numeric)
                    .step(PcaParams::default().n_components(0)),
            ),
            "n_components",
        )
        .run();
    // Columns by name, the rest passed through.
    let by_name = ColumnTransformerParams::new()
        .branch(
            Branch::new("scaled", Selector::Names(vec!["x1".into(), "x0".into()]))
                .step(SimpleImputerParams::default())
                .step(StandardScalerParams::default()),
        )
        .remainder(Remainder::Passthrough);
    CheckTransformer::new(&by_name, &registry)
        .data(regression_data(ROWS, FEATURES, 7))
        .run();
}

#[test]
fn pca_conforms() {
    let registry = smelt_workflow::registry();
    for params in [
        PcaParams::default(),
        PcaParams::default().n_components(2),
        PcaParams::default().n_components(2).whiten(true),
        PcaParams::default().variance_fraction(0.9),
    ] {
        CheckTransformer::new(&params, &registry)
            .data(regression_data(ROWS, FEATURES + 1, 8))
            .invalid(PcaParams::default().n_components(0), "n_components")
            .invalid(PcaParams::default().variance_fraction(1.5), "n_components")
            .run();
    }
}

fn trees_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../smelt-trees/tests/fixtures")
}

/// Every imported model among smelt-trees' fixtures (`import_xgb_*.json`,
/// `import_lgb_*.txt`), each with the rows of its `*.expected.json`.
#[test]
fn imported_models_conform() {
    let registry = smelt_workflow::registry();
    let dir = trees_fixtures();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            !name.ends_with(".expected.json")
                && ((name.starts_with("import_xgb_") && name.ends_with(".json"))
                    || (name.starts_with("import_lgb_") && name.ends_with(".txt")))
        })
        .collect();
    files.sort();
    let (mut xgb, mut lgb) = (0, 0);
    for path in &files {
        let stem = path.file_stem().unwrap().to_string_lossy().to_string();
        let model = if stem.starts_with("import_xgb_") {
            xgb += 1;
            xgboost::from_json_file(path)
        } else {
            lgb += 1;
            lightgbm::from_text_file(path)
        }
        .unwrap_or_else(|e| panic!("{stem}: import failed: {e}"));
        let data = Fixture::load(dir.join(format!("{stem}.expected.json"))).dataset();
        let t = Instant::now();
        // XGBoost and LightGBM take missing values (the fixtures' rows have some).
        CheckPredictor::new(&model, &registry)
            .label(stem.as_str())
            .handles_missing()
            .data(data)
            .run();
        eprintln!("CheckPredictor {stem}: {:.2?}", t.elapsed());
    }
    assert!(xgb > 0 && lgb > 0, "no XGBoost or no LightGBM fixture");
}
