//! [`CheckPredictor`], the conformance suite of a fitted model that has nothing to fit
//! (imported XGBoost / LightGBM ensembles), and the checks of a fitted model it shares with
//! [`crate::CheckEstimator`] (`check_fitted` and its parts).

use smelt_core::{CoreError, Dataset, Output, Prediction, Predictor, Registry};

use crate::compare::{PREDICTION_TOLERANCE, PROBA_SUM_TOLERANCE, close_row, row_of, same};
use crate::data::{drop_input, poke, reorder_with_extra};
use crate::guard::no_panic;

/// The conformance suite for an already-fitted model with no parameters to fit: an imported
/// XGBoost or LightGBM ensemble, or any [`Predictor`] built outside a `Fit`.
///
/// ```ignore
/// let model = smelt_trees::import::xgboost::from_json_file("model.json")?;
/// CheckPredictor::new(&model, &smelt_trees::registry())
///     .data(Fixture::load("model.expected.json").dataset())
///     .run();
/// ```
///
/// It checks, panicking with a message that names the model and the failed check: one
/// prediction per row, matching the declared [`Output`] (class codes in range, `predict_proba`
/// rows that are distributions summing to 1, finite regression values); save → load through
/// the registry keeps the kind, output and input features and predicts the same bits; columns
/// are resolved by name (reordered and extra columns change nothing, a missing column is
/// [`CoreError::MissingColumn`] naming it); one row alone predicts what it predicts in a batch;
/// predicting 0 rows is an error or an empty prediction; a NaN or ±inf gives finite predictions
/// or an error (with [`CheckPredictor::handles_missing`], NaN must predict); nothing panics.
///
/// These are the checks [`crate::CheckEstimator`] runs on the model it fitted; what only an
/// estimator has (invalid parameters, refit determinism, fitting on degenerate data, sample
/// weights) is left out.
pub struct CheckPredictor<'a> {
    predictor: &'a dyn Predictor,
    registry: &'a Registry,
    data: Option<Dataset<f64>>,
    label: Option<String>,
    handles_missing: bool,
    tolerance: f64,
}

impl<'a> CheckPredictor<'a> {
    /// Checks `predictor`, loading its saved copy through `registry`.
    pub fn new(predictor: &'a dyn Predictor, registry: &'a Registry) -> Self {
        CheckPredictor {
            predictor,
            registry,
            data: None,
            label: None,
            handles_missing: false,
            tolerance: PREDICTION_TOLERANCE,
        }
    }

    /// The rows to predict (with every column of the model's `input_features()`; a target,
    /// if any, is ignored).
    pub fn data(mut self, data: Dataset<f64>) -> Self {
        self.data = Some(data);
        self
    }

    /// The name messages give the model (default: its `kind()`), e.g. the file it came from.
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }

    /// The model takes missing values (XGBoost and LightGBM do): a row with a NaN must
    /// predict finite values, not an error.
    pub fn handles_missing(mut self) -> Self {
        self.handles_missing = true;
        self
    }

    /// Tolerance for "same prediction" when rows are predicted alone vs in a batch
    /// (default [`PREDICTION_TOLERANCE`], relative).
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = tol;
        self
    }

    /// Runs every check; panics naming the first that fails.
    pub fn run(self) {
        let model = self.predictor;
        let name = self.label.unwrap_or_else(|| model.kind().to_string());
        let name = name.as_str();
        let data = self
            .data
            .unwrap_or_else(|| panic!("{name}: CheckPredictor needs .data(...)"));
        assert!(
            data.n_rows() > 0,
            "{name}: CheckPredictor needs at least one row"
        );
        assert!(
            !model.input_features().is_empty(),
            "{name}: input_features() is empty"
        );
        check_fitted(
            name,
            model,
            self.registry,
            &data,
            self.tolerance,
            self.handles_missing,
        );
    }
}

/// Every check of a fitted model on `data`; returns its prediction of `data`.
pub(crate) fn check_fitted(
    name: &str,
    model: &dyn Predictor,
    registry: &Registry,
    data: &Dataset<f64>,
    tolerance: f64,
    handles_missing: bool,
) -> Prediction {
    let pred = check_predict(name, model, data);
    check_save_load(name, model, registry, data, &pred);
    check_columns_by_name(name, model, data, &pred);
    check_one_row(name, model, data, &pred, tolerance);
    check_non_finite(name, model, data, handles_missing);
    check_no_rows(name, model, data);
    pred
}

/// Predicts, panicking with the estimator's name on an error or a panic.
pub(crate) fn predict(name: &str, m: &dyn Predictor, d: &Dataset<f64>, what: &str) -> Prediction {
    no_panic(name, what, || m.predict(d)).unwrap_or_else(|e| panic!("{name}: {what}: {e}"))
}

/// One prediction per row, as `output()` declares.
pub(crate) fn check_predict(name: &str, model: &dyn Predictor, data: &Dataset<f64>) -> Prediction {
    let pred = predict(name, model, data, "predict");
    assert_eq!(pred.len(), data.n_rows(), "{name}: one prediction per row");
    check_output(name, &model.output(), &pred);
    pred
}

/// Save → load through `registry`: same kind, output, input features and predictions.
pub(crate) fn check_save_load(
    name: &str,
    model: &dyn Predictor,
    registry: &Registry,
    data: &Dataset<f64>,
    pred: &Prediction,
) {
    let dir = tempfile::tempdir().expect("temp dir (test invariant)");
    let path = dir.path().join("model");
    no_panic(name, "save", || {
        smelt_core::artifact::save(model, &path, serde_json::Value::Null)
    })
    .unwrap_or_else(|e| panic!("{name}: save failed: {e}"));
    let loaded = no_panic(name, "load", || smelt_core::artifact::load(&path, registry))
        .unwrap_or_else(|e| panic!("{name}: load failed: {e}"));
    assert_eq!(loaded.model.kind(), model.kind(), "{name}: kind after load");
    assert_eq!(
        loaded.model.output(),
        model.output(),
        "{name}: output after load"
    );
    assert_eq!(
        loaded.model.input_features(),
        model.input_features(),
        "{name}: input features after load"
    );
    let again = predict(name, loaded.model.as_ref(), data, "predict after load");
    assert!(
        same(pred, &again, 0.0),
        "{name}: the reloaded model predicts differently"
    );
}

/// Reversed columns plus an extra one predict the same; a missing column is an error naming it.
pub(crate) fn check_columns_by_name(
    name: &str,
    model: &dyn Predictor,
    data: &Dataset<f64>,
    pred: &Prediction,
) {
    let shuffled = reorder_with_extra(data);
    let again = predict(name, model, &shuffled, "predict on reordered columns");
    assert!(
        same(pred, &again, 0.0),
        "{name}: reordered columns change the predictions (columns must match by name)"
    );
    // The model's first input (a feature, or a text column a text model reads).
    if let Some(first) = model.input_features().first().map(|f| f.name.clone()) {
        let dropped = drop_input(data, &first);
        match no_panic(name, "predict without a column", || model.predict(&dropped)) {
            Err(CoreError::MissingColumn { name: col, .. }) => assert_eq!(
                col, first,
                "{name}: the missing-column error names the wrong column"
            ),
            other => panic!("{name}: predicting without `{first}` gave {other:?}"),
        }
    }
}

/// The first and last rows alone predict what they predict in the batch.
pub(crate) fn check_one_row(
    name: &str,
    model: &dyn Predictor,
    data: &Dataset<f64>,
    pred: &Prediction,
    tolerance: f64,
) {
    let last = data.n_rows() - 1;
    for i in [0, last] {
        let one = data
            .select_rows(&[i])
            .expect("row in range (test invariant)");
        let p = predict(name, model, &one, "predict one row");
        assert!(
            close_row(pred, i, &p, tolerance),
            "{name}: row {i} alone predicts {p:?}, in a batch {}",
            row_of(pred, i)
        );
    }
}

/// NaN and ±inf in the first column: finite predictions or an error, never a panic; with
/// `handles_missing`, NaN (a missing value) must predict.
pub(crate) fn check_non_finite(
    name: &str,
    model: &dyn Predictor,
    data: &Dataset<f64>,
    handles_missing: bool,
) {
    if data.n_features() == 0 {
        return;
    }
    for (v, label) in [
        (f64::NAN, "NaN"),
        (f64::INFINITY, "inf"),
        (f64::NEG_INFINITY, "-inf"),
    ] {
        let bad = poke(data, 0, 0, v);
        let got = no_panic(name, &format!("predict with {label}"), || {
            model.predict(&bad)
        });
        match got {
            Ok(p) => {
                assert_eq!(
                    p.len(),
                    data.n_rows(),
                    "{name}: one prediction per row with {label}"
                );
                assert_finite(name, &p, &format!("for a row with {label}"));
            }
            Err(e) if handles_missing && v.is_nan() => {
                panic!("{name}: predicting a row with a missing value (NaN) failed: {e}")
            }
            Err(_) => {}
        }
    }
}

/// Predicting 0 rows is an error or an empty prediction, never a panic.
pub(crate) fn check_no_rows(name: &str, model: &dyn Predictor, data: &Dataset<f64>) {
    let empty = data
        .select_rows(&[])
        .expect("empty selection (test invariant)");
    if let Ok(p) = no_panic(name, "predict on 0 rows", || model.predict(&empty)) {
        assert!(
            p.is_empty(),
            "{name}: 0 rows in, {} predictions out",
            p.len()
        );
    }
}

/// The prediction is of the declared kind: classes as `output()` says, label codes in range,
/// probabilities that are distributions, finite regression values.
pub(crate) fn check_output(name: &str, out: &Output, pred: &Prediction) {
    match (out, pred) {
        (Output::Regression, Prediction::Regression { .. }) => assert_finite(name, pred, "predict"),
        (Output::Clustering, Prediction::Clustering { .. }) => {}
        (Output::Embedding { dim }, Prediction::Embedding { dim: d, values }) => {
            assert_eq!(dim, d, "{name}: dim differs between output() and predict");
            assert!(
                values.iter().all(|v| v.is_finite()),
                "{name}: non-finite embedding values"
            );
        }
        (
            Output::Classification { classes, has_proba },
            Prediction::Classification {
                labels,
                classes: pc,
                proba,
            },
        ) => {
            assert_eq!(
                classes, pc,
                "{name}: classes differ between output() and predict"
            );
            assert!(
                labels.iter().all(|&l| (l as usize) < classes.len()),
                "{name}: a label code is out of range"
            );
            assert_eq!(*has_proba, proba.is_some(), "{name}: has_proba disagrees");
            if let Some(p) = proba {
                assert_eq!(p.n_classes, classes.len(), "{name}: proba columns");
                assert_eq!(p.n_rows(), labels.len(), "{name}: proba rows");
                for i in 0..p.n_rows() {
                    let row = p.row(i);
                    let s: f64 = row.iter().sum();
                    assert!(
                        (s - 1.0).abs() < PROBA_SUM_TOLERANCE
                            && row.iter().all(|v| (0.0..=1.0).contains(v)),
                        "{name}: predict_proba row {i} is not a distribution: {row:?}"
                    );
                }
            }
        }
        _ => panic!("{name}: output() is {out:?} but predict returned {pred:?}"),
    }
}

/// Regression values and probabilities are finite.
pub(crate) fn assert_finite(name: &str, p: &Prediction, when: &str) {
    if let Prediction::Regression { values } = p {
        assert!(
            values.iter().all(|v| v.is_finite()),
            "{name}: non-finite prediction {when}"
        );
    }
    if let Prediction::Classification { proba: Some(p), .. } = p {
        assert!(
            p.values.iter().all(|v| v.is_finite()),
            "{name}: non-finite probability {when}"
        );
    }
}
