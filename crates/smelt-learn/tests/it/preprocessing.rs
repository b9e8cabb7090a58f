//! Preprocessing transformers: reference fixtures from scikit-learn on real mixed-type data
//! with missing values (`tools/fixtures/preprocessing.py`), the cross-fitting of
//! `TargetEncoder`, and every transformer through `smelt_testkit::CheckTransformer`.
//!
//! Tolerances: closed forms (scalers, imputers, encoders, polynomial features, target
//! encodings) agree with scikit-learn to 1e-12 (absolute + relative).

// Test helpers outside `#[test]` functions: a panic is the wanted failure report.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]

use smelt_core::{CoreError, Dataset, Feature, FeatureKind, Fit, FitTransform, Target, Transform};
use smelt_learn::preprocessing::*;
use smelt_testkit::{CheckTransformer, Fixture, FixtureCase, assert_close};

use crate::fixture;

const TOL: f64 = 1e-12;

fn load(name: &str) -> (Fixture, Dataset<f64>) {
    let f = Fixture::load(fixture(name));
    let d = f.dataset();
    (f, d)
}

/// Columns `cols` of `data` (by name), rows `rows`; with `compact`, categorical features keep
/// only the categories present (what a table holding just those rows would declare, and what
/// scikit-learn sees).
fn select(
    data: &Dataset<f64>,
    cols: &[String],
    rows: Option<&[usize]>,
    compact: bool,
) -> Dataset<f64> {
    let feats: Vec<Feature> = cols
        .iter()
        .map(|c| {
            let j = data
                .feature_index(c)
                .unwrap_or_else(|| panic!("no column {c}"));
            data.features()[j].clone()
        })
        .collect();
    let d = data
        .conform(&feats, smelt_core::UnknownCategory::Error)
        .unwrap()
        .into_owned();
    let d = match rows {
        Some(r) => d.select_rows(r).unwrap(),
        None => d,
    };
    if !compact {
        return d;
    }
    let n = d.n_rows();
    let mut features = Vec::new();
    let mut values = Vec::new();
    for (j, f) in d.features().iter().enumerate() {
        let col = d.column(j);
        match &f.kind {
            FeatureKind::Numeric => {
                features.push(f.clone());
                values.extend_from_slice(col);
            }
            FeatureKind::Categorical { categories } => {
                let mut seen = vec![false; categories.len()];
                for v in col.iter().filter(|v| !v.is_nan()) {
                    seen[*v as usize] = true;
                }
                let mut remap = vec![0.0; categories.len()];
                let mut kept = Vec::new();
                for (k, c) in categories.iter().enumerate() {
                    if seen[k] {
                        remap[k] = kept.len() as f64;
                        kept.push(c.clone());
                    }
                }
                features.push(smelt_testkit::categorical(&f.name, &kept));
                values.extend(
                    col.iter()
                        .map(|&v| if v.is_nan() { v } else { remap[v as usize] }),
                );
            }
        }
    }
    let target = d
        .target_name()
        .zip(d.target())
        .map(|(n, t)| (n.to_string(), t.clone()));
    Dataset::new(n, values, features, target).unwrap()
}

fn strings(case: &FixtureCase, key: &str) -> Vec<String> {
    case.expected[key]
        .as_array()
        .unwrap_or_else(|| panic!("{}: `{key}` is not a list", case.name))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn indices(case: &FixtureCase, key: &str) -> Option<Vec<usize>> {
    case.expected.get(key).map(|v| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as usize)
            .collect()
    })
}

fn transformer(case: &FixtureCase) -> Box<dyn FitTransform> {
    match case.estimator.as_deref() {
        Some("standard_scaler") => Box::new(case.params::<StandardScalerParams>()),
        Some("min_max_scaler") => Box::new(case.params::<MinMaxScalerParams>()),
        Some("robust_scaler") => Box::new(case.params::<RobustScalerParams>()),
        Some("simple_imputer") => Box::new(case.params::<SimpleImputerParams>()),
        Some("ordinal_encoder") => Box::new(case.params::<OrdinalEncoderParams>()),
        Some("one_hot_encoder") => Box::new(case.params::<OneHotEncoderParams>()),
        Some("target_encoder") => Box::new(case.params::<TargetEncoderParams>()),
        Some("polynomial_features") => Box::new(case.params::<PolynomialFeaturesParams>()),
        other => panic!("{}: unknown estimator {other:?}", case.name),
    }
}

/// Output labels of a dataset whose columns are all categorical, row-major.
fn labels(d: &Dataset<f64>) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..d.n_rows() {
        for (j, f) in d.features().iter().enumerate() {
            let FeatureKind::Categorical { categories } = &f.kind else {
                panic!("column {} is not categorical", f.name)
            };
            out.push(categories[d.column(j)[i] as usize].clone());
        }
    }
    out
}

fn run_fixture(name: &str) {
    let (fx, data) = load(name);
    assert!(!fx.cases.is_empty());
    for case in &fx.cases {
        let cols = strings(case, "input");
        let train_rows = indices(case, "train_rows");
        let rows = indices(case, "rows");
        let train = select(&data, &cols, train_rows.as_deref(), true);
        let t = transformer(case);
        let (fitted, ft) = t
            .fit_transform(&train)
            .unwrap_or_else(|e| panic!("{}: fit: {e}", case.name));
        let new = select(&data, &cols, rows.as_deref(), false);
        let out = fitted
            .transform(&new)
            .unwrap_or_else(|e| panic!("{}: transform: {e}", case.name));
        let names: Vec<&str> = out.feature_names().collect();
        assert_eq!(
            names,
            strings(case, "output_names"),
            "{}: output names",
            case.name
        );
        if case.expected.contains_key("output_labels") {
            let want: Vec<String> = case.expected["output_labels"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|r| {
                    r.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_string())
                })
                .collect();
            assert_eq!(labels(&out), want, "{}: output labels", case.name);
        } else {
            assert_close(
                &case.name,
                &out.to_row_major(),
                &case.vec("output"),
                TOL,
                TOL,
            );
        }
        if case.expected.contains_key("fit_transform") {
            // Unshuffled folds are scikit-learn's (KFold / StratifiedKFold).
            assert_close(
                &format!("{} fit_transform", case.name),
                &ft.to_row_major(),
                &case.vec("fit_transform"),
                TOL,
                TOL,
            );
        }
    }
}

#[test]
fn fixtures_penguins() {
    run_fixture("preprocessing_penguins.json");
}

#[test]
fn fixtures_titanic() {
    run_fixture("preprocessing_titanic.json");
}

#[test]
fn fixtures_adult() {
    run_fixture("preprocessing_adult.json");
}

#[test]
fn target_encodings_match_sklearn() {
    for name in [
        "preprocessing_penguins.json",
        "preprocessing_titanic.json",
        "preprocessing_adult.json",
    ] {
        let (fx, data) = load(name);
        for case in fx
            .cases
            .iter()
            .filter(|c| c.expected.contains_key("encodings"))
        {
            let cols = strings(case, "input");
            let d = select(&data, &cols, None, true);
            let m = case.params::<TargetEncoderParams>().fit(&d).unwrap();
            let got: Vec<f64> = (0..cols.len())
                .flat_map(|j| {
                    m.encodings(j)
                        .into_iter()
                        .flatten()
                        .copied()
                        .collect::<Vec<_>>()
                })
                .collect();
            assert_close(&case.name, &got, &case.vec("encodings"), TOL, TOL);
            assert_close(
                &case.name,
                m.target_mean(),
                &case.vec("target_mean"),
                TOL,
                TOL,
            );
        }
    }
}

fn categorical_only(data: &Dataset<f64>) -> Dataset<f64> {
    let cols: Vec<String> = data
        .features()
        .iter()
        .filter(|f| matches!(f.kind, FeatureKind::Categorical { .. }))
        .map(|f| f.name.clone())
        .collect();
    select(data, &cols, None, true)
}

/// Each training row of `fit_transform` is encoded by a model fitted on the other folds only.
#[test]
fn cross_fitting_uses_other_folds_only() {
    for name in [
        "preprocessing_penguins.json",
        "preprocessing_titanic.json",
        "preprocessing_adult.json",
    ] {
        let data = categorical_only(&load(name).1);
        for smooth in [Smooth::Auto, Smooth::Value(3.0)] {
            let p = TargetEncoderParams::default()
                .smooth(smooth)
                .random_state(7);
            let folds = p.folds(&data).unwrap();
            let (_, ft) = p.fit_transform(&data).unwrap();
            for f in 0..p.cv {
                let train: Vec<usize> = (0..data.n_rows()).filter(|&i| folds[i] != f).collect();
                let test: Vec<usize> = (0..data.n_rows()).filter(|&i| folds[i] == f).collect();
                assert!(!test.is_empty(), "{name}: fold {f} is empty");
                let m = p
                    .fit(&select(&data, &names(&data), Some(&train), true))
                    .unwrap();
                let out = m.transform(&data.select_rows(&test).unwrap()).unwrap();
                let want = ft.select_rows(&test).unwrap();
                assert_close(
                    &format!("{name} fold {f}"),
                    &out.to_row_major(),
                    &want.to_row_major(),
                    TOL,
                    TOL,
                );
            }
        }
    }
}

fn names(d: &Dataset<f64>) -> Vec<String> {
    d.feature_names().map(str::to_string).collect()
}

/// Changing one row's target changes the encodings of rows in other folds, never its own
/// fold's (so never its own encoding).
#[test]
fn a_rows_own_target_never_enters_its_encoding() {
    let data = categorical_only(&load("preprocessing_adult.json").1);
    let p = TargetEncoderParams::default().random_state(3);
    let folds = p.folds(&data).unwrap();
    let (_, before) = p.fit_transform(&data).unwrap();
    let Some(Target::Regression { values }) = data.target() else {
        panic!("adult fixture has a continuous target")
    };
    let r = 17;
    let mut y = values.clone();
    y[r] += 1000.0;
    let changed = Dataset::new(
        data.n_rows(),
        data.values().to_vec(),
        data.features().to_vec(),
        Some(("y".into(), Target::Regression { values: y })),
    )
    .unwrap();
    assert_eq!(
        p.folds(&changed).unwrap(),
        folds,
        "KFold does not depend on y"
    );
    let (_, after) = p.fit_transform(&changed).unwrap();
    let mut others_changed = 0;
    for i in 0..data.n_rows() {
        let same = before.row(i) == after.row(i);
        if folds[i] == folds[r] {
            assert!(same, "row {i} (fold of row {r}) changed");
        } else if !same {
            others_changed += 1;
        }
    }
    assert!(others_changed > 0, "no row of another fold changed");
}

#[test]
fn target_encoder_bad_targets() {
    let (_, data) = load("preprocessing_titanic.json");
    let d = categorical_only(&data);
    let err = TargetEncoderParams::default()
        .target_type(TargetType::Multiclass)
        .fit(&d)
        .unwrap_err();
    assert!(matches!(err, CoreError::WrongTask { .. }), "{err:?}");
    let err = TargetEncoderParams::default()
        .target_type(TargetType::Continuous)
        .fit(&d)
        .unwrap_err();
    assert!(matches!(err, CoreError::WrongTask { .. }), "{err:?}");
    // No target.
    let no_target =
        Dataset::new(d.n_rows(), d.values().to_vec(), d.features().to_vec(), None).unwrap();
    let err = TargetEncoderParams::default().fit(&no_target).unwrap_err();
    assert!(matches!(err, CoreError::NoTarget { .. }), "{err:?}");
    // More folds than rows.
    let few = d.select_rows(&[0, 1, 2]).unwrap();
    assert!(TargetEncoderParams::default().fit_transform(&few).is_err());
}

#[test]
fn polynomial_rejects_categorical_and_nan() {
    let (_, data) = load("preprocessing_penguins.json");
    let err = PolynomialFeaturesParams::default().fit(&data).unwrap_err();
    assert!(matches!(err, CoreError::NotNumeric { .. }), "{err:?}");
    let num = select(&data, &["bill_length_mm".to_string()], None, false);
    let mut v = num.values().to_vec();
    v[3] = f64::NAN;
    let num = Dataset::new(v.len(), v, num.features().to_vec(), None).unwrap();
    let err = PolynomialFeaturesParams::default().fit(&num).unwrap_err();
    assert!(matches!(err, CoreError::MissingValues { .. }), "{err:?}");
}

// ---------------------------------------------------------------------------------------------
// Conformance
// ---------------------------------------------------------------------------------------------

fn numeric_cols(data: &Dataset<f64>) -> Dataset<f64> {
    let cols: Vec<String> = data
        .features()
        .iter()
        .filter(|f| matches!(f.kind, FeatureKind::Numeric))
        .map(|f| f.name.clone())
        .collect();
    select(data, &cols, None, false)
}

fn complete_rows(data: &Dataset<f64>) -> Dataset<f64> {
    let rows: Vec<usize> = (0..data.n_rows())
        .filter(|&i| data.row(i).iter().all(|v| !v.is_nan()))
        .collect();
    data.select_rows(&rows).unwrap()
}

fn datasets() -> Vec<(&'static str, Dataset<f64>)> {
    [
        "preprocessing_penguins.json",
        "preprocessing_titanic.json",
        "preprocessing_adult.json",
    ]
    .into_iter()
    .map(|n| (n, load(n).1))
    .collect()
}

#[test]
fn conformance_scalers() {
    let reg = smelt_learn::registry();
    for (_, data) in datasets() {
        let num = numeric_cols(&data);
        CheckTransformer::new(&StandardScalerParams::default(), &reg)
            .data(num.clone())
            .run();
        for p in [
            MinMaxScalerParams::default(),
            MinMaxScalerParams::default()
                .feature_range(-1.0, 2.0)
                .clip(true),
        ] {
            CheckTransformer::new(&p, &reg)
                .data(num.clone())
                .invalid(
                    MinMaxScalerParams::default().feature_range(1.0, 0.0),
                    "feature_range",
                )
                .run();
        }
        for p in [
            RobustScalerParams::default(),
            RobustScalerParams::default()
                .quantile_range(10.0, 90.0)
                .unit_variance(true),
            RobustScalerParams::default().with_centering(false),
        ] {
            CheckTransformer::new(&p, &reg)
                .data(num.clone())
                .invalid(
                    RobustScalerParams::default().quantile_range(50.0, 101.0),
                    "quantile_range",
                )
                .run();
        }
    }
}

#[test]
fn conformance_imputer() {
    let reg = smelt_learn::registry();
    for (_, data) in datasets() {
        let num = numeric_cols(&data);
        for s in [ImputeStrategy::Mean, ImputeStrategy::Median] {
            CheckTransformer::new(&SimpleImputerParams::default().strategy(s), &reg)
                .data(num.clone())
                .invalid(
                    SimpleImputerParams::default()
                        .strategy(s)
                        .fill_value(f64::NAN),
                    "fill_value",
                )
                .run();
        }
        for s in [ImputeStrategy::MostFrequent, ImputeStrategy::Constant] {
            CheckTransformer::new(&SimpleImputerParams::default().strategy(s), &reg)
                .data(data.clone())
                .run();
        }
    }
}

#[test]
fn conformance_encoders() {
    let reg = smelt_learn::registry();
    for (name, data) in datasets() {
        // OneHotEncoder (error) needs categorical columns without missing values.
        let cols: Vec<String> = data
            .features()
            .iter()
            .enumerate()
            .filter(|(j, f)| matches!(f.kind, FeatureKind::Numeric) || data.missing(*j).is_none())
            .map(|(_, f)| f.name.clone())
            .collect();
        let no_missing = select(&data, &cols, None, true);
        for drop in [OneHotDrop::None, OneHotDrop::First, OneHotDrop::IfBinary] {
            CheckTransformer::new(&OneHotEncoderParams::default().drop(drop), &reg)
                .data(no_missing.clone())
                .run();
        }
        CheckTransformer::new(
            &OneHotEncoderParams::default().handle_unknown(HandleUnknown::Ignore),
            &reg,
        )
        .data(data.clone())
        .run();

        for p in [
            OrdinalEncoderParams::default(),
            OrdinalEncoderParams::default()
                .use_encoded_value(-1.0)
                .encoded_missing_value(-2.0),
        ] {
            CheckTransformer::new(&p, &reg)
                .data(data.clone())
                .invalid(
                    OrdinalEncoderParams::default().unknown_value(Some(-1.0)),
                    "unknown_value",
                )
                .invalid(
                    OrdinalEncoderParams::default().encoded_missing_value(0.5),
                    "encoded_missing_value",
                )
                .run();
        }

        for smooth in [Smooth::Auto, Smooth::Value(2.0)] {
            for shuffle in [true, false] {
                let p = TargetEncoderParams::default()
                    .smooth(smooth)
                    .shuffle(shuffle);
                CheckTransformer::new(&p, &reg)
                    .data(data.clone())
                    .cross_fitted()
                    .invalid(
                        TargetEncoderParams::default().smooth(Smooth::Value(-1.0)),
                        "smooth",
                    )
                    .invalid(TargetEncoderParams::default().cv(1), "cv")
                    .run();
            }
        }
        let _ = name;
    }
}

#[test]
fn conformance_polynomial() {
    let reg = smelt_learn::registry();
    for (_, data) in datasets() {
        let num = complete_rows(&numeric_cols(&data));
        for p in [
            PolynomialFeaturesParams::default(),
            PolynomialFeaturesParams::default()
                .degree(3)
                .interaction_only(true)
                .include_bias(false),
        ] {
            CheckTransformer::new(&p, &reg)
                .data(num.clone())
                .invalid(
                    PolynomialFeaturesParams::default()
                        .degree(0)
                        .include_bias(false),
                    "degree",
                )
                .run();
        }
    }
}
