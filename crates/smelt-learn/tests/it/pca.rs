//! PCA against scikit-learn (fixtures from `tools/fixtures/pca.py`), and the transformer
//! checks the predictor conformance suite cannot run (save/load, columns by name, determinism,
//! invalid parameters, NaN).
//!
//! Tolerances: `full` and `covariance_eigh` 1e-6 (components with their sign, variances,
//! singular values, transform); `randomized` 1e-4.

use smelt_core::{CoreError, Dataset, Fit, FitTransform, Transform};
use smelt_learn::decomposition::{NComponents, Pca, PcaParams, SvdSolver};
use smelt_testkit::{Fixture, assert_close, numeric, regression_data};

fn columns(d: &Dataset<f64>) -> Vec<f64> {
    d.values().to_vec()
}

/// Row-major values of the first `rows` rows.
fn head_row_major(d: &Dataset<f64>, rows: usize) -> Vec<f64> {
    (0..rows).flat_map(|i| d.row(i)).collect()
}

#[test]
fn pca_matches_scikit_learn() {
    let fx = Fixture::load(crate::fixture("pca.json"));
    let data = fx.dataset();
    let mut seen = 0;
    for case in &fx.cases {
        let params: PcaParams = case.params();
        let tol = if params.svd_solver == SvdSolver::Randomized {
            1e-4
        } else {
            1e-6
        };
        let m = params.fit(&data).unwrap();
        let what = |k: &str| format!("{}: {k}", case.name);
        assert_eq!(
            m.n_components(),
            case.scalar("n_components") as usize,
            "{}",
            case.name
        );
        assert_close(
            &what("components"),
            m.components(),
            &case.vec("components"),
            tol,
            tol,
        );
        assert_close(
            &what("explained_variance"),
            m.explained_variance(),
            &case.vec("explained_variance"),
            tol,
            tol,
        );
        assert_close(
            &what("explained_variance_ratio"),
            m.explained_variance_ratio(),
            &case.vec("explained_variance_ratio"),
            tol,
            tol,
        );
        assert_close(
            &what("singular_values"),
            m.singular_values(),
            &case.vec("singular_values"),
            tol,
            tol,
        );
        assert_close(&what("mean"), m.mean(), &case.vec("mean"), 1e-12, 1e-9);
        assert_close(
            &what("noise_variance"),
            &[m.noise_variance()],
            &[case.scalar("noise_variance")],
            tol,
            tol,
        );
        let t = m.transform(&data).unwrap();
        assert_close(
            &what("transform"),
            &head_row_major(&t, 5),
            &case.vec("transform"),
            tol,
            tol,
        );
        let back = m
            .inverse_transform(&t.select_rows(&[0, 1, 2]).unwrap())
            .unwrap();
        assert_close(
            &what("inverse_transform"),
            &head_row_major(&back, 3),
            &case.vec("inverse_transform"),
            tol,
            tol,
        );
        seen += 1;
    }
    assert_eq!(seen, 10);
}

#[test]
fn solvers_agree() {
    // Tall-skinny synthetic data with a clear spectrum: every solver finds the same top axes.
    let data = regression_data(400, 6, 3);
    let fit = |s| {
        PcaParams::default()
            .n_components(3)
            .svd_solver(s)
            .fit(&data)
            .unwrap()
    };
    let full = fit(SvdSolver::Full);
    for s in [SvdSolver::CovarianceEigh, SvdSolver::Auto] {
        let m = fit(s);
        assert_close(
            &format!("{s:?}"),
            m.components(),
            full.components(),
            1e-9,
            1e-9,
        );
        assert_close(
            &format!("{s:?} variance"),
            m.explained_variance(),
            full.explained_variance(),
            1e-9,
            1e-9,
        );
    }
}

#[test]
fn transform_round_trips_and_names_columns() {
    let data = regression_data(50, 4, 1);
    let m = PcaParams::default().fit(&data).unwrap();
    let t = m.transform(&data).unwrap();
    let names: Vec<&str> = t.feature_names().collect();
    assert_eq!(names, ["pc1", "pc2", "pc3", "pc4"]);
    assert_eq!(t.target(), data.target(), "the target is carried through");
    // All components: the inverse transform gives the data back.
    let back = m.inverse_transform(&t).unwrap();
    assert_close("round trip", &columns(&back), &columns(&data), 1e-9, 1e-9);
    // Whitened outputs have unit variance.
    let w = PcaParams::default().whiten(true).fit(&data).unwrap();
    let tw = w.transform(&data).unwrap();
    for j in 0..4 {
        let c = tw.column(j);
        let var = c.iter().map(|v| v * v).sum::<f64>() / 49.0;
        assert!((var - 1.0).abs() < 1e-9, "pc{} variance {var}", j + 1);
    }
    let back = w.inverse_transform(&tw).unwrap();
    assert_close(
        "whiten round trip",
        &columns(&back),
        &columns(&data),
        1e-9,
        1e-9,
    );
}

#[test]
fn save_load_determinism_and_columns_by_name() {
    let data = regression_data(80, 5, 2);
    let reg = smelt_learn::registry();
    for solver in [
        SvdSolver::Full,
        SvdSolver::CovarianceEigh,
        SvdSolver::Randomized,
    ] {
        let params = PcaParams::default().n_components(2).svd_solver(solver);
        let m = params.fit(&data).unwrap();
        let again = params.fit(&data).unwrap();
        assert_eq!(m, again, "{solver:?}: two fits differ");
        let t = m.transform(&data).unwrap();

        // Save / load through the transformer registry (a nested transformer node).
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        smelt_core::artifact::save(&Wrap(Box::new(m.clone())), &path, serde_json::Value::Null)
            .unwrap();
        let loaded = smelt_core::artifact::load(&path, &wrap_registry(&reg)).unwrap();
        let _ = loaded;
        let back = LOADED
            .with(|l| l.borrow_mut().take())
            .expect("transform loaded");
        assert_eq!(back.kind(), "pca");
        assert_eq!(back.input_features(), m.input_features());
        assert_eq!(back.output_features(), m.output_features());
        let t2 = back.transform(&data).unwrap();
        assert_eq!(
            columns(&t),
            columns(&t2),
            "{solver:?}: reloaded transform differs"
        );

        // Columns by name: reversed, with an extra column.
        let n = data.n_rows();
        let mut feats = Vec::new();
        let mut values = Vec::new();
        for j in (0..data.n_features()).rev() {
            feats.push(data.features()[j].clone());
            values.extend_from_slice(data.column(j));
            if j == 2 {
                feats.push(numeric("zz_extra"));
                values.extend(std::iter::repeat_n(7.0, n));
            }
        }
        let shuffled = Dataset::new(n, values, feats, None).unwrap();
        assert_eq!(columns(&m.transform(&shuffled).unwrap()), columns(&t));
        // A missing column is named.
        let dropped = Dataset::new(
            n,
            data.values()[n..].to_vec(),
            data.features()[1..].to_vec(),
            None,
        )
        .unwrap();
        match m.transform(&dropped) {
            Err(CoreError::MissingColumn { name, .. }) => assert_eq!(name, "x0"),
            other => panic!("expected a missing column, got {other:?}"),
        }
    }
}

#[test]
fn fit_transform_is_fit_then_transform() {
    let data = regression_data(30, 3, 4);
    let p = PcaParams::default().n_components(2);
    let (m, t) = FitTransform::fit_transform(&p, &data).unwrap();
    assert_eq!(columns(&t), columns(&m.transform(&data).unwrap()));
}

#[test]
fn invalid_params_are_named() {
    let data = regression_data(30, 3, 4);
    let bad = [
        (PcaParams::default().n_components(0), "n_components"),
        (PcaParams::default().variance_fraction(1.5), "n_components"),
        (
            PcaParams::default()
                .variance_fraction(0.5)
                .svd_solver(SvdSolver::Randomized),
            "n_components",
        ),
    ];
    for (p, param) in bad {
        assert!(Fit::check(&p).iter().any(|e| e.param == param), "{p:?}");
        match p.fit(&data) {
            Err(CoreError::Params(errs)) => assert!(errs.iter().any(|e| e.param == param)),
            other => panic!("{p:?}: expected a parameter error, got {other:?}"),
        }
    }
    // More components than min(n_rows, n_features): a data error naming the counts.
    let err = PcaParams::default().n_components(4).fit(&data).unwrap_err();
    assert!(
        matches!(
            err,
            CoreError::TooFew {
                needed: 4,
                got: 3,
                ..
            }
        ),
        "{err:?}"
    );
    // Sample weights are refused.
    let err = PcaParams::default()
        .fit_weighted(&data, Some(&[1.0; 30]))
        .unwrap_err();
    assert!(matches!(err, CoreError::SampleWeight { .. }), "{err:?}");
    let p: PcaParams = serde_json::from_value(serde_json::json!({
        "n_components": 0.8, "svd_solver": "covariance_eigh", "iterated_power": "auto"
    }))
    .unwrap();
    assert_eq!(p.n_components, Some(NComponents::Fraction(0.8)));
}

#[test]
fn bad_data_is_an_error() {
    let data = regression_data(30, 3, 4);
    let mut values = data.values().to_vec();
    values[5] = f64::NAN;
    let nan = Dataset::new(30, values, data.features().to_vec(), None).unwrap();
    let err = PcaParams::default().fit(&nan).unwrap_err();
    assert!(
        matches!(err, CoreError::MissingValues { row: 5, .. }),
        "{err:?}"
    );
    let m = PcaParams::default().fit(&data).unwrap();
    assert!(matches!(
        m.transform(&nan).unwrap_err(),
        CoreError::MissingValues { .. }
    ));
    let one = data.select_rows(&[0]).unwrap();
    assert!(matches!(
        PcaParams::default().fit(&one).unwrap_err(),
        CoreError::TooFew { needed: 2, .. }
    ));
    let empty = data.select_rows(&[]).unwrap();
    assert!(PcaParams::default().fit(&empty).is_err());
}

// The model file format stores a predictor at its top level; a transformer is saved as a
// nested node. `Wrap` is a minimal predictor holding one, so the transformer's own save and
// registry loader are exercised end to end.

use std::cell::RefCell;

thread_local! {
    static LOADED: RefCell<Option<Box<dyn Transform>>> = const { RefCell::new(None) };
}

#[derive(Debug)]
struct Wrap(Box<dyn Transform>);

impl smelt_core::Predictor for Wrap {
    fn kind(&self) -> &str {
        "test_wrap"
    }
    fn input_features(&self) -> &[smelt_core::Feature] {
        self.0.input_features()
    }
    fn output(&self) -> smelt_core::Output {
        smelt_core::Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> smelt_core::Result<smelt_core::Prediction> {
        let t = self.0.transform(data)?;
        Ok(smelt_core::Prediction::Regression {
            values: t.column(0).to_vec(),
        })
    }
    fn save(&self, w: &mut smelt_core::ArtifactWriter) -> smelt_core::Result<()> {
        w.transform("step", self.0.as_ref())
    }
}

fn load_wrap(
    r: &smelt_core::ArtifactReader,
    reg: &smelt_core::Registry,
) -> smelt_core::Result<Box<dyn smelt_core::Predictor>> {
    let t = reg.load_transform(&r.child("step")?)?;
    let again = reg.load_transform(&r.child("step")?)?;
    LOADED.with(|l| *l.borrow_mut() = Some(again));
    Ok(Box::new(Wrap(t)))
}

fn wrap_registry(base: &smelt_core::Registry) -> smelt_core::Registry {
    let mut r = base.clone();
    r.add_predictor("test_wrap", load_wrap);
    // The real loader must be the one registered by smelt_learn.
    let _ = Pca::KIND;
    r
}
