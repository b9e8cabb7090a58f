//! [`CheckTransformer`], the conformance suite of a transformer (after
//! [`crate::CheckEstimator`]).

use smelt_core::{CoreError, Dataset, FitTransform, Registry, Transform};

use crate::compare::{TRANSFORM_TOLERANCE, assert_same, same_value};
use crate::data::{drop_feature, poke, reorder_with_extra};
use crate::guard::no_panic;

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
            tolerance: TRANSFORM_TOLERANCE,
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
    /// `fit_transform` and `transform` (default [`TRANSFORM_TOLERANCE`], relative).
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
