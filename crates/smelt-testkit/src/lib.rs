//! Dev-only test support: the conformance suites, synthetic data, reference fixtures,
//! tolerances.
//!
//! | module | what it holds |
//! |---|---|
//! | `estimator` | [`CheckEstimator`]: the suite of an estimator (params → fit → model) |
//! | `transformer` | [`CheckTransformer`]: the suite of a transformer |
//! | `predictor` | [`CheckPredictor`]: the suite of a fitted model with nothing to fit (imported XGBoost / LightGBM), and the checks of a fitted model that `CheckEstimator` shares |
//! | `compare` | [`same`], [`assert_close`], [`same_partition`] and the default tolerances ([`PREDICTION_TOLERANCE`]…) |
//! | `data` | seeded synthetic data: [`regression_data`], [`classification_data`], [`clustering_data`], [`count_data`], [`with_category_and_missing`], [`without_target`]; features [`numeric`], [`categorical`] |
//! | `fixture` | [`Fixture`], [`FixtureCase`]: the reference files of `tools/fixtures/*.py` |
//! | `guard` | (private) a panic inside the code under test becomes a failed check naming it |
//! | `pretrained` | [`minilm_dir`]: where the all-MiniLM-L6-v2 model is, for the tests that need it |
//!
//! Every item is re-exported at the crate root (`smelt_testkit::CheckEstimator`,
//! `smelt_testkit::regression_data`…). The modules depend downwards only: `guard`, `compare`
//! and `data` depend on no other module; `fixture` on `data`; `predictor` on `guard`,
//! `compare` and `data`; `estimator` on `predictor` (and the three below it); `transformer` on
//! `guard`, `compare` and `data`.
//!
//! # The conformance suites
//! [`CheckEstimator`] is Smelt's `check_estimator` (after scikit-learn's
//! `sklearn/utils/estimator_checks.py`). Every estimator — here and in every later crate
//! (trees, boosting, neural nets) — runs through it; `smelt-workflow`'s `tests/it/conformance.rs`
//! runs it on every model of the catalogue, alone and in its default preprocessing pipeline
//! (scikit-learn's `test_common.py`), so a newly registered model is checked without opting in:
//!
//! ```ignore
//! CheckEstimator::new(&RidgeParams::default(), &smelt_learn::registry())
//!     .data(testkit::regression_data(40, 3, 7))
//!     .invalid(RidgeParams::default().alpha(-1.0), "alpha")
//!     .run();
//! ```
//!
//! It checks, panicking with a message that names the estimator and the failed check:
//! invalid hyperparameters are rejected at fit with the parameter named; fitting twice gives
//! identical predictions (same seed, same model); save → load gives identical predictions;
//! columns are resolved by name (reordered and extra columns work, a missing column is an
//! error naming it); a single row predicts what it predicts in a batch; a constant column is
//! fine; NaN and ±inf in features are either handled (finite predictions) or a clear error;
//! fitting on empty data is an error, predicting 0 rows an error or an empty prediction;
//! `predict_proba` rows are probabilities summing to 1; predictions match the declared
//! [`Output`](smelt_core::Output); and nothing panics. With
//! [`sample_weight`](CheckEstimator::sample_weight), integer sample weights must equal repeated
//! rows; with [`handles_missing`](CheckEstimator::handles_missing) (gradient boosting, any
//! imputing pipeline), NaN must fit and predict finite values rather than be an error.
//!
//! [`CheckPredictor`] runs the checks of a *fitted* model on a
//! [`Predictor`](smelt_core::Predictor) that has no parameters to fit — an imported XGBoost or
//! LightGBM ensemble: output as declared, probabilities summing to 1, save → load through a
//! registry, columns by name, one row alone, 0 rows, NaN and ±inf (finite predictions or an
//! error; with [`handles_missing`](CheckPredictor::handles_missing), NaN must predict), no
//! panic. `CheckEstimator` runs the very same functions on the model it fitted, so the two
//! suites cannot drift apart:
//!
//! ```ignore
//! let model = smelt_trees::import::xgboost::from_json_file("model.json")?;
//! CheckPredictor::new(&model, &smelt_trees::registry())
//!     .data(Fixture::load("model.expected.json").dataset())
//!     .handles_missing()
//!     .run();
//! ```
//!
//! [`CheckTransformer`] is the same for transformers (`StandardScaler`, `OneHotEncoder`,
//! `TargetEncoder`, `ColumnTransformer`, `PCA`…): output columns as declared, `fit_transform` =
//! `transform` on the training data (except cross-fitted encoders), determinism, save → load,
//! columns by name, one row alone, empty data, NaN/inf.

mod compare;
mod data;
mod estimator;
mod fixture;
mod guard;
mod predictor;
mod pretrained;
mod transformer;

pub use compare::{
    PREDICTION_TOLERANCE, PROBA_SUM_TOLERANCE, SAMPLE_WEIGHT_TOLERANCE, TRANSFORM_TOLERANCE,
    assert_close, same, same_partition,
};
pub use data::{
    categorical, classification_data, clustering_data, count_data, numeric, regression_data,
    with_category_and_missing, with_text, without_target,
};
pub use estimator::CheckEstimator;
pub use fixture::{Fixture, FixtureCase};
pub use predictor::CheckPredictor;
pub use pretrained::minilm_dir;
pub use transformer::CheckTransformer;
