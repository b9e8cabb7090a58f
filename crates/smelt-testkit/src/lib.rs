//! Dev-only test support: the estimator conformance suite, reference fixtures, tolerances.
//!
//! # The conformance suite
//! [`CheckEstimator`] is Smelt's `check_estimator` (after scikit-learn's
//! `sklearn/utils/estimator_checks.py`). Every estimator — here and in every later crate
//! (trees, boosting, neural nets, imported models) — runs through it:
//!
//! ```ignore
//! CheckEstimator::new(&RidgeParams::default(), &smelt_learn::registry())
//!     .data(testkit::regression_data(40, 3, 7))
//!     .invalid(RidgeParams::default().alpha(-1.0), "alpha")
//!     .run();
//! ```
//!
//! It checks, panicking with a message that names the failed check:
//! invalid hyperparameters are rejected at fit with the parameter named; fitting twice gives
//! identical predictions (same seed, same model); save → load gives identical predictions;
//! columns are resolved by name (reordered and extra columns work, a missing column is an
//! error naming it); a single row predicts what it predicts in a batch; a constant column is
//! fine; NaN and ±inf in features are either handled (finite predictions) or a clear error;
//! empty data is an error; `predict_proba` rows are probabilities summing to 1; predictions
//! match the declared [`Output`]; and nothing panics.
//!
//! [`CheckTransformer`] is the same for transformers (`StandardScaler`, `OneHotEncoder`,
//! `TargetEncoder`…): output columns as declared, `fit_transform` = `transform` on the training
//! data (except cross-fitted encoders), determinism, save → load, columns by name, one row
//! alone, empty data, NaN/inf.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use serde::Deserialize;
use smelt_core::{
    CoreError, Dataset, Feature, FeatureKind, FitPredictor, FitTransform, LogicalType, Output,
    Prediction, Predictor, Registry, Target, Transform,
};

/// The conformance suite for one estimator configuration (see the crate docs).
pub struct CheckEstimator<'a> {
    estimator: &'a dyn FitPredictor,
    registry: &'a Registry,
    data: Option<Dataset<f64>>,
    invalid: Vec<(Box<dyn FitPredictor + 'a>, &'static str)>,
    sample_weight: bool,
    tolerance: f64,
}

impl<'a> CheckEstimator<'a> {
    /// Checks `estimator`, loading saved models through `registry`.
    pub fn new(estimator: &'a dyn FitPredictor, registry: &'a Registry) -> Self {
        CheckEstimator {
            estimator,
            registry,
            data: None,
            invalid: Vec::new(),
            sample_weight: false,
            tolerance: 1e-9,
        }
    }

    /// The training data (regression or classification, as the estimator needs).
    pub fn data(mut self, data: Dataset<f64>) -> Self {
        self.data = Some(data);
        self
    }

    /// An invalid configuration and the parameter its error must name.
    pub fn invalid(mut self, params: impl FitPredictor + 'a, param: &'static str) -> Self {
        self.invalid.push((Box::new(params), param));
        self
    }

    /// Also check that sample weights are honoured (integer weights = repeated rows).
    pub fn sample_weight(mut self) -> Self {
        self.sample_weight = true;
        self
    }

    /// Tolerance for "same prediction" when rows are predicted alone vs in a batch
    /// (default 1e-9, relative).
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = tol;
        self
    }

    /// Runs every check; panics naming the first that fails.
    pub fn run(self) {
        let name = self.estimator.name();
        let data = self
            .data
            .clone()
            .unwrap_or_else(|| panic!("{name}: CheckEstimator needs .data(...)"));
        let fit = |d: &Dataset<f64>, what: &str| -> smelt_core::Result<Box<dyn Predictor>> {
            no_panic(name, what, || self.estimator.fit_predictor(d, None))
        };

        // Invalid hyperparameters.
        for (bad, param) in &self.invalid {
            let listed = bad.check();
            assert!(
                listed.iter().any(|e| e.param == *param),
                "{name}: check() does not list `{param}` as invalid: {listed:?}"
            );
            match no_panic(name, "fit with invalid params", || {
                bad.fit_predictor(&data, None)
            }) {
                Err(CoreError::Params(errs)) => assert!(
                    errs.iter().any(|e| e.param == *param),
                    "{name}: the error does not name `{param}`: {errs:?}"
                ),
                Err(e) => panic!("{name}: invalid `{param}` gave {e:?}, not a parameter error"),
                Ok(_) => panic!("{name}: invalid `{param}` was accepted at fit"),
            }
        }

        // Fit, predict, output consistency.
        let model = fit(&data, "fit").unwrap_or_else(|e| panic!("{name}: fit failed: {e}"));
        let pred = predict(name, model.as_ref(), &data, "predict");
        assert_eq!(pred.len(), data.n_rows(), "{name}: one prediction per row");
        check_output(name, &model.output(), &pred);

        // Determinism.
        let again = fit(&data, "second fit").unwrap_or_else(|e| panic!("{name}: refit: {e}"));
        let pred2 = predict(name, again.as_ref(), &data, "predict after refit");
        assert!(
            same(&pred, &pred2, 0.0),
            "{name}: two fits with the same seed predict differently"
        );

        // Save -> load.
        let dir = tempfile::tempdir().expect("temp dir (test invariant)");
        let path = dir.path().join("model");
        no_panic(name, "save", || {
            smelt_core::artifact::save(model.as_ref(), &path, serde_json::Value::Null)
        })
        .unwrap_or_else(|e| panic!("{name}: save failed: {e}"));
        let loaded = no_panic(name, "load", || {
            smelt_core::artifact::load(&path, self.registry)
        })
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
        let pred3 = predict(name, loaded.model.as_ref(), &data, "predict after load");
        assert!(
            same(&pred, &pred3, 0.0),
            "{name}: the reloaded model predicts differently"
        );

        // Columns by name: reversed order plus an extra column.
        let shuffled = reorder_with_extra(&data);
        let pred4 = predict(
            name,
            model.as_ref(),
            &shuffled,
            "predict on reordered columns",
        );
        assert!(
            same(&pred, &pred4, 0.0),
            "{name}: reordered columns change the predictions (columns must match by name)"
        );
        if data.n_features() > 0 {
            let first = data.features()[0].name.clone();
            let dropped = drop_feature(&data, 0);
            match no_panic(name, "predict without a column", || model.predict(&dropped)) {
                Err(CoreError::MissingColumn { name: col, .. }) => assert_eq!(col, first),
                other => panic!("{name}: predicting without `{first}` gave {other:?}"),
            }
        }

        // One row alone predicts what it predicts in a batch.
        let last = data.n_rows() - 1;
        for i in [0, last] {
            let one = data
                .select_rows(&[i])
                .expect("row in range (test invariant)");
            let p = predict(name, model.as_ref(), &one, "predict one row");
            assert!(
                close_row(&pred, i, &p, self.tolerance),
                "{name}: row {i} alone predicts {p:?}, in a batch {:?}",
                row_of(&pred, i)
            );
        }

        // A constant column.
        let with_const = add_constant(&data);
        let m = fit(&with_const, "fit with a constant column")
            .unwrap_or_else(|e| panic!("{name}: a constant column made fit fail: {e}"));
        let p = predict(
            name,
            m.as_ref(),
            &with_const,
            "predict with a constant column",
        );
        assert_finite(name, &p, "with a constant column");

        // NaN and inf: handled or a clear error, never a panic.
        for (v, label) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            if data.n_features() == 0 {
                break;
            }
            let bad = poke(&data, 0, 0, v);
            if let Ok(m) = fit(&bad, &format!("fit with {label}")) {
                if let Ok(p) = no_panic(name, "predict with a non-finite value", || m.predict(&bad))
                {
                    assert_finite(name, &p, &format!("after fitting with {label}"));
                }
            }
            let _ = no_panic(name, "predict on a non-finite value", || {
                model.predict(&bad)
            });
        }

        // Empty data.
        let empty = data
            .select_rows(&[])
            .expect("empty selection (test invariant)");
        assert!(
            fit(&empty, "fit on empty data").is_err(),
            "{name}: fitting on 0 rows must be an error"
        );

        // One training row: either fits or errors, no panic.
        let one = data.select_rows(&[0]).expect("row 0 (test invariant)");
        let _ = fit(&one, "fit on one row");

        // Sample weights: integer weights equal repeated rows.
        if self.sample_weight {
            let n = data.n_rows();
            let w: Vec<f64> = (0..n).map(|i| (i % 3) as f64).collect();
            let rows: Vec<usize> = (0..n).flat_map(|i| std::iter::repeat_n(i, i % 3)).collect();
            let weighted = no_panic(name, "fit with sample weights", || {
                self.estimator.fit_predictor(&data, Some(&w))
            })
            .unwrap_or_else(|e| panic!("{name}: weighted fit failed: {e}"));
            let repeated = fit(
                &data
                    .select_rows(&rows)
                    .expect("rows in range (test invariant)"),
                "fit on repeated rows",
            )
            .unwrap_or_else(|e| panic!("{name}: fit on repeated rows failed: {e}"));
            let a = predict(name, weighted.as_ref(), &data, "predict (weighted)");
            let b = predict(name, repeated.as_ref(), &data, "predict (repeated)");
            assert!(
                same(&a, &b, 1e-6),
                "{name}: integer sample weights differ from repeated rows"
            );
            let bad = no_panic(name, "fit with bad weights", || {
                self.estimator.fit_predictor(&data, Some(&w[..n - 1]))
            });
            assert!(bad.is_err(), "{name}: wrong-length weights accepted");
        }
    }
}

/// The conformance suite for one transformer configuration (after `CheckEstimator`):
///
/// ```ignore
/// CheckTransformer::new(&MinMaxScalerParams::default(), &smelt_learn::registry())
///     .data(testkit::regression_data(40, 3, 7))
///     .invalid(MinMaxScalerParams::default().feature_range(1.0, 0.0), "feature_range")
///     .run();
/// ```
///
/// It checks, panicking with a message that names the failed check: invalid hyperparameters
/// are rejected with the parameter named; `fit_transform` gives one row per input row, the
/// columns `output_features()` declares and the input's target; `fit_transform` on the
/// training data equals `transform` of it (unless [`CheckTransformer::cross_fitted`]);
/// fitting twice gives identical output; save → load gives identical output; columns are
/// resolved by name (reordered and extra columns change nothing, a missing column is
/// [`CoreError::MissingColumn`] naming it); one row alone transforms as in a batch; fitting on
/// empty data is an error; NaN and ±inf are handled or a clear error; nothing panics.
pub struct CheckTransformer<'a> {
    transformer: &'a dyn FitTransform,
    registry: &'a Registry,
    data: Option<Dataset<f64>>,
    invalid: Vec<(Box<dyn FitTransform + 'a>, &'static str)>,
    cross_fitted: bool,
    tolerance: f64,
}

impl<'a> CheckTransformer<'a> {
    /// Checks `transformer`, loading saved transformers through `registry`.
    pub fn new(transformer: &'a dyn FitTransform, registry: &'a Registry) -> Self {
        CheckTransformer {
            transformer,
            registry,
            data: None,
            invalid: Vec::new(),
            cross_fitted: false,
            tolerance: 1e-12,
        }
    }

    /// The training data (with a target when the transformer needs one).
    pub fn data(mut self, data: Dataset<f64>) -> Self {
        self.data = Some(data);
        self
    }

    /// An invalid configuration and the parameter its error must name.
    pub fn invalid(mut self, params: impl FitTransform + 'a, param: &'static str) -> Self {
        self.invalid.push((Box::new(params), param));
        self
    }

    /// The transformer encodes training rows out of fold in `fit_transform` (`TargetEncoder`),
    /// so its output differs from `transform` of the training data by design.
    pub fn cross_fitted(mut self) -> Self {
        self.cross_fitted = true;
        self
    }

    /// Tolerance for "same output" between a row alone and in a batch, and between
    /// `fit_transform` and `transform` (default 1e-12, relative).
    pub fn tolerance(mut self, tol: f64) -> Self {
        self.tolerance = tol;
        self
    }

    /// Runs every check; panics naming the first that fails.
    pub fn run(self) {
        let name = self.transformer.name();
        let data = self
            .data
            .clone()
            .unwrap_or_else(|| panic!("{name}: CheckTransformer needs .data(...)"));
        type Fitted = (Box<dyn Transform>, Dataset<f64>);
        let fit = |d: &Dataset<f64>, what: &str| -> smelt_core::Result<Fitted> {
            no_panic(name, what, || self.transformer.fit_transform(d))
        };
        let transform = |t: &dyn Transform, d: &Dataset<f64>, what: &str| -> Dataset<f64> {
            no_panic(name, what, || t.transform(d))
                .unwrap_or_else(|e| panic!("{name}: {what}: {e}"))
        };

        // Invalid hyperparameters.
        for (bad, param) in &self.invalid {
            let listed = bad.check();
            assert!(
                listed.iter().any(|e| e.param == *param),
                "{name}: check() does not list `{param}` as invalid: {listed:?}"
            );
            match no_panic(name, "fit with invalid params", || bad.fit_transform(&data)) {
                Err(CoreError::Params(errs)) => assert!(
                    errs.iter().any(|e| e.param == *param),
                    "{name}: the error does not name `{param}`: {errs:?}"
                ),
                Err(e) => panic!("{name}: invalid `{param}` gave {e:?}, not a parameter error"),
                Ok(_) => panic!("{name}: invalid `{param}` was accepted at fit"),
            }
        }

        // fit_transform: shape, declared features, target carried through.
        let (t, out) = fit(&data, "fit_transform")
            .unwrap_or_else(|e| panic!("{name}: fit_transform failed: {e}"));
        assert_eq!(
            out.n_rows(),
            data.n_rows(),
            "{name}: one output row per input row"
        );
        assert_eq!(
            out.features(),
            &t.output_features()[..],
            "{name}: the output columns differ from output_features()"
        );
        assert_eq!(
            t.input_features().len(),
            data.n_features(),
            "{name}: input_features() must list every column it was fitted on"
        );
        assert_eq!(
            out.target(),
            data.target(),
            "{name}: the target is not carried through"
        );
        assert_eq!(out.target_name(), data.target_name(), "{name}: target name");

        // transform of the training data.
        let tr = transform(t.as_ref(), &data, "transform");
        assert_eq!(tr.features(), out.features(), "{name}: transform's columns");
        assert_eq!(
            tr.target(),
            data.target(),
            "{name}: transform drops the target"
        );
        if !self.cross_fitted {
            assert_same(
                name,
                "fit_transform vs transform",
                &out,
                &tr,
                self.tolerance,
            );
        }

        // Determinism.
        let (t2, out2) = fit(&data, "second fit").unwrap_or_else(|e| panic!("{name}: refit: {e}"));
        assert_same(name, "two fit_transforms", &out, &out2, 0.0);
        let tr2 = transform(t2.as_ref(), &data, "transform after refit");
        assert_same(name, "two fits' transforms", &tr, &tr2, 0.0);

        // Save -> load.
        let dir = tempfile::tempdir().expect("temp dir (test invariant)");
        let path = dir.path().join("transformer");
        no_panic(name, "save", || {
            smelt_core::artifact::save_transform(t.as_ref(), &path, serde_json::Value::Null)
        })
        .unwrap_or_else(|e| panic!("{name}: save failed: {e}"));
        let loaded = no_panic(name, "load", || {
            smelt_core::artifact::load_transform(&path, self.registry)
        })
        .unwrap_or_else(|e| panic!("{name}: load failed: {e}"));
        assert_eq!(loaded.kind(), t.kind(), "{name}: kind after load");
        assert_eq!(
            loaded.input_features(),
            t.input_features(),
            "{name}: input features after load"
        );
        assert_eq!(
            loaded.output_features(),
            t.output_features(),
            "{name}: output features after load"
        );
        let tr3 = transform(loaded.as_ref(), &data, "transform after load");
        assert_same(name, "transform after save/load", &tr, &tr3, 0.0);

        // Columns by name: reversed order plus an extra column.
        let shuffled = reorder_with_extra(&data);
        let tr4 = transform(t.as_ref(), &shuffled, "transform on reordered columns");
        assert_same(
            name,
            "transform on reordered columns (columns must match by name)",
            &tr,
            &tr4,
            0.0,
        );
        if data.n_features() > 0 {
            let first = data.features()[0].name.clone();
            let dropped = drop_feature(&data, 0);
            match no_panic(name, "transform without a column", || t.transform(&dropped)) {
                Err(CoreError::MissingColumn { name: col, .. }) => assert_eq!(col, first),
                other => panic!("{name}: transforming without `{first}` gave {other:?}"),
            }
        }

        // One row alone transforms as in a batch.
        let last = data.n_rows() - 1;
        for i in [0, last] {
            let one = data
                .select_rows(&[i])
                .expect("row in range (test invariant)");
            let o = transform(t.as_ref(), &one, "transform one row");
            assert_eq!(o.n_rows(), 1, "{name}: one row in, one row out");
            let (a, b) = (tr.row(i), o.row(0));
            assert!(
                a.len() == b.len()
                    && a.iter()
                        .zip(&b)
                        .all(|(x, y)| same_value(*x, *y, self.tolerance)),
                "{name}: row {i} alone transforms to {b:?}, in a batch to {a:?}"
            );
        }

        // NaN and inf: handled or a clear error, never a panic.
        for (v, label) in [
            (f64::NAN, "NaN"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
        ] {
            for j in 0..data.n_features().min(2) {
                let bad = poke(&data, 0, j, v);
                if let Ok((m, _)) = fit(&bad, &format!("fit with {label}")) {
                    let _ = no_panic(
                        name,
                        "transform after fitting on a non-finite value",
                        || m.transform(&bad),
                    );
                }
                let _ = no_panic(name, "transform of a non-finite value", || {
                    t.transform(&bad)
                });
            }
        }

        // Empty data.
        let empty = data
            .select_rows(&[])
            .expect("empty selection (test invariant)");
        assert!(
            fit(&empty, "fit on empty data").is_err(),
            "{name}: fitting on 0 rows must be an error"
        );
        let _ = no_panic(name, "transform of 0 rows", || t.transform(&empty));

        // One training row: either fits or errors, no panic.
        let one = data.select_rows(&[0]).expect("row 0 (test invariant)");
        let _ = fit(&one, "fit on one row");
    }
}

fn same_value(a: f64, b: f64, tol: f64) -> bool {
    (a.is_nan() && b.is_nan()) || close(a, b, tol)
}

/// Panics unless two datasets have the same columns and values (NaN equals NaN).
fn assert_same(name: &str, what: &str, a: &Dataset<f64>, b: &Dataset<f64>, tol: f64) {
    assert_eq!(a.features(), b.features(), "{name}: {what}: columns differ");
    assert_eq!(a.n_rows(), b.n_rows(), "{name}: {what}: row counts differ");
    for j in 0..a.n_features() {
        for (i, (x, y)) in a.column(j).iter().zip(b.column(j)).enumerate() {
            assert!(
                same_value(*x, *y, tol),
                "{name}: {what}: column `{}` row {i}: {x} vs {y}",
                a.features()[j].name
            );
        }
    }
}

fn no_panic<T>(name: &str, what: &str, f: impl FnOnce() -> T) -> T {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(v) => v,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            panic!("{name}: panicked during {what}: {msg}")
        }
    }
}

fn predict(name: &str, m: &dyn Predictor, d: &Dataset<f64>, what: &str) -> Prediction {
    no_panic(name, what, || m.predict(d)).unwrap_or_else(|e| panic!("{name}: {what}: {e}"))
}

fn check_output(name: &str, out: &Output, pred: &Prediction) {
    match (out, pred) {
        (Output::Regression, Prediction::Regression { .. }) => assert_finite(name, pred, "predict"),
        (Output::Clustering, Prediction::Clustering { .. }) => {}
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
                        (s - 1.0).abs() < 1e-9 && row.iter().all(|v| (0.0..=1.0).contains(v)),
                        "{name}: predict_proba row {i} is not a distribution: {row:?}"
                    );
                }
            }
        }
        _ => panic!("{name}: output() is {out:?} but predict returned {pred:?}"),
    }
}

fn assert_finite(name: &str, p: &Prediction, when: &str) {
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

fn close(a: f64, b: f64, tol: f64) -> bool {
    a == b || (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
}

/// Whether two predictions agree (exactly when `tol` is 0).
pub fn same(a: &Prediction, b: &Prediction, tol: f64) -> bool {
    match (a, b) {
        (Prediction::Regression { values: x }, Prediction::Regression { values: y }) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| close(*a, *b, tol))
        }
        (
            Prediction::Classification {
                labels: la,
                proba: pa,
                ..
            },
            Prediction::Classification {
                labels: lb,
                proba: pb,
                ..
            },
        ) => {
            la == lb
                && match (pa, pb) {
                    (Some(x), Some(y)) => x
                        .values
                        .iter()
                        .zip(&y.values)
                        .all(|(a, b)| close(*a, *b, tol)),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Prediction::Clustering { labels: x }, Prediction::Clustering { labels: y }) => x == y,
        _ => false,
    }
}

fn row_of(p: &Prediction, i: usize) -> String {
    match p {
        Prediction::Regression { values } => format!("{}", values[i]),
        Prediction::Classification { labels, proba, .. } => {
            format!("{} {:?}", labels[i], proba.as_ref().map(|p| p.row(i)))
        }
        Prediction::Clustering { labels } => format!("{}", labels[i]),
    }
}

fn close_row(batch: &Prediction, i: usize, one: &Prediction, tol: f64) -> bool {
    match (batch, one) {
        (Prediction::Regression { values: a }, Prediction::Regression { values: b }) => {
            close(a[i], b[0], tol)
        }
        (
            Prediction::Classification {
                labels: la,
                proba: pa,
                ..
            },
            Prediction::Classification {
                labels: lb,
                proba: pb,
                ..
            },
        ) => {
            la[i] == lb[0]
                && match (pa, pb) {
                    (Some(x), Some(y)) => x
                        .row(i)
                        .iter()
                        .zip(y.row(0))
                        .all(|(a, b)| close(*a, *b, tol)),
                    (None, None) => true,
                    _ => false,
                }
        }
        (Prediction::Clustering { labels: a }, Prediction::Clustering { labels: b }) => {
            a[i] == b[0]
        }
        _ => false,
    }
}

fn rebuild(data: &Dataset<f64>, cols: Vec<(Feature, Vec<f64>)>) -> Dataset<f64> {
    let n = data.n_rows();
    let (features, values): (Vec<_>, Vec<_>) = cols.into_iter().unzip();
    let values: Vec<f64> = values.into_iter().flatten().collect();
    let target = data
        .target_name()
        .zip(data.target())
        .map(|(n, t)| (n.to_string(), t.clone()));
    Dataset::new(n, values, features, target).expect("consistent shapes (test invariant)")
}

fn columns(data: &Dataset<f64>) -> Vec<(Feature, Vec<f64>)> {
    data.features()
        .iter()
        .enumerate()
        .map(|(j, f)| (f.clone(), data.column(j).to_vec()))
        .collect()
}

fn reorder_with_extra(data: &Dataset<f64>) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.reverse();
    cols.insert(
        cols.len() / 2,
        (numeric("zz_extra_column"), vec![42.0; data.n_rows()]),
    );
    rebuild(data, cols)
}

fn drop_feature(data: &Dataset<f64>, j: usize) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.remove(j);
    rebuild(data, cols)
}

fn add_constant(data: &Dataset<f64>) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.push((numeric("zz_constant"), vec![3.0; data.n_rows()]));
    rebuild(data, cols)
}

fn poke(data: &Dataset<f64>, i: usize, j: usize, v: f64) -> Dataset<f64> {
    let mut cols = columns(data);
    cols[j].1[i] = v;
    rebuild(data, cols)
}

/// A numeric feature called `name`.
pub fn numeric(name: &str) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

/// A categorical feature called `name` with these (sorted) categories.
pub fn categorical(name: &str, categories: &[String]) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Categorical,
        kind: FeatureKind::Categorical {
            categories: categories.to_vec(),
        },
    }
}

/// A deterministic pseudo-random stream (SplitMix64) for synthetic test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// Seeded stream.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `[0, 1)`.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// `n × p` standard-normal features `x0..`, target `y = Σ (j+1)·x_j + 0.1·noise`.
pub fn regression_data(n: usize, p: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let values: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let y = (0..n)
        .map(|i| {
            (0..p)
                .map(|j| (j + 1) as f64 * values[j * n + i])
                .sum::<f64>()
                + 0.1 * rng.normal()
        })
        .collect();
    let features = (0..p).map(|j| numeric(&format!("x{j}"))).collect();
    Dataset::new(
        n,
        values,
        features,
        Some(("y".into(), Target::Regression { values: y })),
    )
    .expect("consistent shapes (test invariant)")
}

/// `n × p` features with `k` Gaussian blobs (class `c` centred at `2c` on every axis, unit
/// noise); classes named `c0..`.
pub fn classification_data(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    let mut rng = Rng::new(seed);
    let codes: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
    let mut values = vec![0.0; n * p];
    for j in 0..p {
        for i in 0..n {
            values[j * n + i] = 2.0 * codes[i] as f64 + rng.normal();
        }
    }
    let features = (0..p).map(|j| numeric(&format!("x{j}"))).collect();
    let classes = (0..k).map(|c| format!("c{c}")).collect();
    Dataset::new(
        n,
        values,
        features,
        Some(("label".into(), Target::Classification { codes, classes })),
    )
    .expect("consistent shapes (test invariant)")
}

/// A reference fixture written by `tools/fixtures/*.py`: a numeric design matrix, a target,
/// and one or more cases (parameters + expected outputs from the reference library).
#[derive(Debug, Deserialize)]
pub struct Fixture {
    /// Versions, dataset, seed.
    #[serde(default)]
    pub meta: serde_json::Value,
    /// Feature names.
    pub feature_names: Vec<String>,
    /// Rows of the design matrix (`null` reads as NaN, a missing value).
    #[serde(deserialize_with = "rows_with_nan")]
    pub x: Vec<Vec<f64>>,
    /// Categorical columns: name → sorted category labels; that column of `x` holds codes
    /// into the labels (NaN = missing). Other columns are numeric.
    #[serde(default)]
    pub categorical: std::collections::BTreeMap<String, Vec<String>>,
    /// Real-valued target, for regression fixtures.
    #[serde(default)]
    pub y: Option<Vec<f64>>,
    /// Class codes `0..k`, for classification fixtures.
    #[serde(default)]
    pub y_class: Option<Vec<u32>>,
    /// Class labels of the codes.
    #[serde(default)]
    pub classes: Option<Vec<String>>,
    /// Parameter sets and the reference outputs.
    pub cases: Vec<FixtureCase>,
}

/// One case of a [`Fixture`].
#[derive(Debug, Deserialize)]
pub struct FixtureCase {
    /// Case name, shown on failure.
    pub name: String,
    /// Which estimator of the family, when a fixture holds several.
    #[serde(default)]
    pub estimator: Option<String>,
    /// Parameters (reference names, which are also Smelt's).
    #[serde(default)]
    pub params: serde_json::Value,
    /// Per-row sample weights, when the case uses them.
    #[serde(default)]
    pub sample_weight: Option<Vec<f64>>,
    /// Expected outputs by name (`coef`, `intercept`, `predict`, `proba`, …).
    pub expected: serde_json::Map<String, serde_json::Value>,
}

impl Fixture {
    /// Reads a fixture file.
    pub fn load(path: impl AsRef<Path>) -> Fixture {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()))
    }

    /// The design matrix and target as a dataset.
    pub fn dataset(&self) -> Dataset<f64> {
        let n = self.x.len();
        let p = self.feature_names.len();
        let mut values = vec![0.0; n * p];
        for (i, row) in self.x.iter().enumerate() {
            assert_eq!(row.len(), p, "fixture row {i} has {} values", row.len());
            for (j, v) in row.iter().enumerate() {
                values[j * n + i] = *v;
            }
        }
        let features = self
            .feature_names
            .iter()
            .map(|f| match self.categorical.get(f) {
                Some(cats) => categorical(f, cats),
                None => numeric(f),
            })
            .collect();
        let target = match (&self.y, &self.y_class) {
            (Some(y), _) => Some(("y".to_string(), Target::Regression { values: y.clone() })),
            (None, Some(codes)) => Some((
                "y".to_string(),
                Target::Classification {
                    codes: codes.clone(),
                    classes: self.classes.clone().unwrap_or_else(|| {
                        let k = codes.iter().max().map_or(0, |m| *m as usize + 1);
                        (0..k).map(|c| c.to_string()).collect()
                    }),
                },
            )),
            (None, None) => None,
        };
        Dataset::new(n, values, features, target).expect("fixture shapes")
    }
}

impl FixtureCase {
    /// Expected vector `key`.
    pub fn vec(&self, key: &str) -> Vec<f64> {
        let v = self
            .expected
            .get(key)
            .unwrap_or_else(|| panic!("case {}: no expected `{key}`", self.name));
        flatten(v)
    }

    /// The case's parameters as Smelt's params type (same names as the reference library).
    pub fn params<P: serde::de::DeserializeOwned>(&self) -> P {
        serde_json::from_value(self.params.clone())
            .unwrap_or_else(|e| panic!("case {}: params: {e}", self.name))
    }

    /// Expected scalar `key`.
    pub fn scalar(&self, key: &str) -> f64 {
        self.vec(key)[0]
    }
}

fn rows_with_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Vec<f64>>, D::Error> {
    let rows: Vec<Vec<Option<f64>>> = Deserialize::deserialize(d)?;
    Ok(rows
        .into_iter()
        .map(|r| r.into_iter().map(|v| v.unwrap_or(f64::NAN)).collect())
        .collect())
}

fn flatten(v: &serde_json::Value) -> Vec<f64> {
    match v {
        serde_json::Value::Array(a) => a.iter().flat_map(flatten).collect(),
        serde_json::Value::Number(n) => vec![n.as_f64().unwrap_or(f64::NAN)],
        serde_json::Value::Null => vec![f64::NAN],
        other => panic!("expected numbers, found {other}"),
    }
}

/// Asserts `|a - b| <= atol + rtol·|b|` element-wise, naming the first offending index.
pub fn assert_close(what: &str, actual: &[f64], expected: &[f64], atol: f64, rtol: f64) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: length {} vs expected {}",
        actual.len(),
        expected.len()
    );
    for (i, (a, b)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs() || (a.is_nan() && b.is_nan()),
            "{what}[{i}]: got {a}, expected {b} (atol {atol}, rtol {rtol})"
        );
    }
}

/// Whether two labelings are the same partition (equal up to renaming the labels).
pub fn same_partition(a: &[i64], b: &[i64]) -> bool {
    use std::collections::HashMap;
    if a.len() != b.len() {
        return false;
    }
    let mut ab = HashMap::new();
    let mut ba = HashMap::new();
    a.iter()
        .zip(b)
        .all(|(x, y)| *ab.entry(*x).or_insert(*y) == *y && *ba.entry(*y).or_insert(*x) == *x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_up_to_renaming() {
        assert!(same_partition(&[0, 0, 1, 2], &[5, 5, 3, 1]));
        assert!(!same_partition(&[0, 0, 1], &[1, 2, 2]));
    }

    #[test]
    fn synthetic_data_is_seeded() {
        let a = regression_data(10, 2, 1);
        let b = regression_data(10, 2, 1);
        assert_eq!(a.values(), b.values());
        let c = classification_data(9, 2, 3, 1);
        assert_eq!(c.n_rows(), 9);
    }
}
