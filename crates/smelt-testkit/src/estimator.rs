//! [`CheckEstimator`], the conformance suite of an estimator: its parameters are checked and
//! fitted here, then the model goes through the checks every fitted model passes
//! (`predictor::check_fitted`, shared with [`crate::CheckPredictor`]).

use smelt_core::{CoreError, Dataset, FitPredictor, Predictor, Registry};

use crate::compare::{PREDICTION_TOLERANCE, SAMPLE_WEIGHT_TOLERANCE, same};
use crate::data::{add_constant, poke};
use crate::guard::no_panic;
use crate::predictor::{assert_finite, check_fitted, predict};

/// The conformance suite for one estimator configuration (see the crate docs).
pub struct CheckEstimator<'a> {
    estimator: &'a dyn FitPredictor,
    registry: &'a Registry,
    data: Option<Dataset<f64>>,
    invalid: Vec<(Box<dyn FitPredictor + 'a>, &'static str)>,
    sample_weight: bool,
    handles_missing: bool,
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
            handles_missing: false,
            tolerance: PREDICTION_TOLERANCE,
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

    /// The estimator takes missing values (NaN) — natively (gradient boosting) or through its
    /// imputing pipeline: fitting on data with a NaN must succeed and predict finite values,
    /// and the fitted model must predict finite values for a row with a NaN (otherwise either
    /// may be a clear error instead, as for ±inf).
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

        // The fitted model: predict, output, save -> load, columns by name, one row alone,
        // non-finite values and 0 rows at predict time (shared with CheckPredictor).
        let model = fit(&data, "fit").unwrap_or_else(|e| panic!("{name}: fit failed: {e}"));
        let pred = check_fitted(
            name,
            model.as_ref(),
            self.registry,
            &data,
            self.tolerance,
            self.handles_missing,
        );

        // Determinism.
        let again = fit(&data, "second fit").unwrap_or_else(|e| panic!("{name}: refit: {e}"));
        let pred2 = predict(name, again.as_ref(), &data, "predict after refit");
        assert!(
            same(&pred, &pred2, 0.0),
            "{name}: two fits with the same seed predict differently"
        );

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
            let fitted = fit(&bad, &format!("fit with {label}"));
            if self.handles_missing && v.is_nan() {
                let m = fitted
                    .unwrap_or_else(|e| panic!("{name}: fit with a missing value (NaN): {e}"));
                let p = predict(name, m.as_ref(), &bad, "predict after fitting with NaN");
                assert_finite(name, &p, "after fitting with a missing value (NaN)");
            } else if let Ok(m) = fitted
                && let Ok(p) = no_panic(name, "predict with a non-finite value", || m.predict(&bad))
            {
                assert_finite(name, &p, &format!("after fitting with {label}"));
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
                same(&a, &b, SAMPLE_WEIGHT_TOLERANCE),
                "{name}: integer sample weights differ from repeated rows"
            );
            let bad = no_panic(name, "fit with bad weights", || {
                self.estimator.fit_predictor(&data, Some(&w[..n - 1]))
            });
            assert!(bad.is_err(), "{name}: wrong-length weights accepted");
        }
    }
}
