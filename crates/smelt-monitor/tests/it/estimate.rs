//! Chunking, realized and estimated performance (CBPE, DLE) and multivariate drift against
//! NannyML 0.13.1 on its own synthetic datasets; fixtures from
//! `tools/fixtures/monitor_nannyml.py` (tests/fixtures/nannyml/).
//!
//! Tolerances (see each test): chunking, realized values, thresholds, calibrated probabilities
//! and the CBPE estimates (binary and multiclass) exactly or to 1e-9 (same formulas; isotonic
//! regression equal to scikit-learn's, calibration decided on scikit-learn's own splits); the
//! ROC AUC sampling error to 1e-3 relative, 5e-3 multiclass (NannyML ranks tied scores with
//! numpy's unstable quicksort); the reconstruction error to 1e-6 relative (PCA through a
//! different eigensolver); DLE (Smelt's GBDT for LightGBM) to 6 % on analysis chunks and the
//! domain classifier's AUC to 0.04, alerts equal where the value is clear of the threshold.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test, with its location"
)]
#![allow(
    clippy::print_stderr,
    reason = "the comparisons print the largest differences seen (run with --nocapture)"
)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use smelt_core::rng::SplitMix64;
use smelt_core::{Dataset, Feature};
use smelt_monitor::MonitorError;
use smelt_monitor::chunk::{
    ChunkValue, Chunker, Incomplete, PeriodOffset, Series, Threshold, Timestamp,
};
use smelt_monitor::estimate::{
    BinaryColumns, BinaryMetric, CbpeParams, DleParams, Metrics, MulticlassColumns, Outputs,
    Performance, RealizedParams, RegressionColumns, RegressionMetric, join_by_id,
    realized_by_slice,
};
use smelt_monitor::multivariate::{DataReconstructionParams, DomainClassifierParams};
use smelt_testkit::{categorical, numeric};

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nannyml")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN))
        .collect()
}

fn opt(v: &Value) -> Vec<Option<f64>> {
    v.as_array().unwrap().iter().map(Value::as_f64).collect()
}

fn bools(v: &Value) -> Vec<bool> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_bool().unwrap())
        .collect()
}

fn size(n: usize) -> Chunker {
    Chunker::Size {
        chunk_size: n,
        incomplete: Incomplete::Keep,
    }
}

/// Labels of a column as strings (booleans as `False`/`True`, numbers as written).
fn labels(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| match x {
            Value::Bool(true) => "True".to_string(),
            Value::Bool(false) => "False".to_string(),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

/// The reference and analysis feature tables (categories from the reference, sorted).
fn tables(
    fx: &Value,
    numeric_cols: &[&str],
    categorical_cols: &[&str],
    order: &[&str],
) -> (Dataset<f64>, Dataset<f64>) {
    let build = |table: &Value, cats: &[(String, Vec<String>)]| {
        let n = table[order[0]].as_array().unwrap().len();
        let mut values = Vec::new();
        let mut features: Vec<Feature> = Vec::new();
        for &name in order {
            if numeric_cols.contains(&name) {
                values.extend(floats(&table[name]));
                features.push(numeric(name));
            } else {
                let (_, categories) = cats.iter().find(|(c, _)| c == name).unwrap();
                values.extend(labels(&table[name]).iter().map(|l| {
                    categories
                        .iter()
                        .position(|c| c == l)
                        .map_or(f64::NAN, |i| i as f64)
                }));
                features.push(categorical(name, categories));
            }
        }
        Dataset::new(n, values, features, None).unwrap()
    };
    let cats: Vec<(String, Vec<String>)> = categorical_cols
        .iter()
        .map(|&c| {
            let set: BTreeSet<String> = labels(&fx["reference"][c]).into_iter().collect();
            (c.to_string(), set.into_iter().collect())
        })
        .collect();
    (
        build(&fx["reference"], &cats),
        build(&fx["analysis"], &cats),
    )
}

const LOAN_ORDER: [&str; 7] = [
    "car_value",
    "salary_range",
    "debt_to_income_ratio",
    "loan_length",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
    "driver_tenure",
];
const LOAN_NUMERIC: [&str; 4] = [
    "car_value",
    "debt_to_income_ratio",
    "loan_length",
    "driver_tenure",
];
const LOAN_CATEGORICAL: [&str; 3] = [
    "salary_range",
    "repaid_loan_on_prev_car",
    "size_of_downpayment",
];

struct Diff {
    what: String,
    max_abs: f64,
    max_rel: f64,
}

impl Diff {
    fn new(what: &str) -> Diff {
        Diff {
            what: what.into(),
            max_abs: 0.0,
            max_rel: 0.0,
        }
    }

    /// Compares one value (both absent, or both present and within `atol` or `rtol`).
    fn check(&mut self, at: &str, got: Option<f64>, want: Option<f64>, atol: f64, rtol: f64) {
        match (got, want) {
            (None, None) => {}
            (Some(g), Some(w)) => {
                let d = (g - w).abs();
                let r = d / w.abs().max(1e-300);
                self.max_abs = self.max_abs.max(d);
                self.max_rel = self.max_rel.max(r);
                assert!(
                    d <= atol || r <= rtol,
                    "{} {at}: got {g}, NannyML {w} (|d| {d:e}, rel {r:e})",
                    self.what
                );
            }
            _ => panic!("{} {at}: got {got:?}, NannyML {want:?}", self.what),
        }
    }

    fn report(&self) {
        eprintln!(
            "{}: max |diff| {:.3e}, max rel {:.3e}",
            self.what, self.max_abs, self.max_rel
        );
    }
}

/// Reference and analysis chunks of `perf` (NannyML reports both periods in one frame).
fn both(reference: &Series, analysis: &Series) -> Vec<ChunkValue> {
    reference.clone().concat(analysis).chunks
}

fn check_chunks(points: &[ChunkValue], expected: &Value) {
    let keys = expected["key"].as_array().unwrap();
    assert_eq!(points.len(), keys.len());
    for (p, k) in points.iter().zip(keys) {
        assert_eq!(p.chunk.key, k.as_str().unwrap());
    }
    let periods: Vec<&str> = expected["period"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for (p, want) in points.iter().zip(periods) {
        let got = serde_json::to_value(p.period).unwrap();
        assert_eq!(got, want);
    }
}

#[test]
fn chunking_matches_nannyml() {
    let fx = fixture("chunking.json");
    let ts: Vec<Timestamp> = fx["timestamps_ms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| Timestamp::from_millis(v.as_i64().unwrap()))
        .collect();
    for case in fx["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (chunker, with_ts) = match name {
            "size_300_keep" => (size(300), false),
            "size_300_drop" => (
                Chunker::Size {
                    chunk_size: 300,
                    incomplete: Incomplete::Drop,
                },
                false,
            ),
            "size_300_append" => (
                Chunker::Size {
                    chunk_size: 300,
                    incomplete: Incomplete::Append,
                },
                false,
            ),
            "size_300_keep_ts" => (size(300), true),
            "number_7" => (
                Chunker::Number {
                    chunk_number: 7,
                    incomplete: Incomplete::Keep,
                },
                false,
            ),
            "number_7_append" => (
                Chunker::Number {
                    chunk_number: 7,
                    incomplete: Incomplete::Append,
                },
                false,
            ),
            "default" => (Chunker::Default, false),
            "period_M" => (
                Chunker::Period {
                    offset: "M".parse::<PeriodOffset>().unwrap(),
                },
                true,
            ),
            "period_W" => (
                Chunker::Period {
                    offset: "W".parse().unwrap(),
                },
                true,
            ),
            "period_Q" => (
                Chunker::Period {
                    offset: "Q".parse().unwrap(),
                },
                true,
            ),
            other => panic!("unknown case {other}"),
        };
        let chunks = chunker
            .split(ts.len(), with_ts.then_some(ts.as_slice()))
            .unwrap();
        let want = case["chunks"].as_array().unwrap();
        assert_eq!(chunks.len(), want.len(), "{name}: number of chunks");
        for (c, w) in chunks.chunks.iter().zip(want) {
            assert_eq!(c.key, w["key"].as_str().unwrap(), "{name}");
            assert_eq!(
                c.start_index as u64,
                w["start_index"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(
                c.end_index as u64,
                w["end_index"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(c.len() as u64, w["len"].as_u64().unwrap(), "{name}");
            assert_eq!(
                c.start_time.map(|t| t.0),
                w["start_time"].as_i64(),
                "{name} {}",
                c.key
            );
            assert_eq!(
                c.end_time.map(|t| t.0),
                w["end_time"].as_i64(),
                "{name} {}",
                c.key
            );
        }
    }
}

fn loan_columns(table: &Value, labelled: bool) -> (Vec<f64>, Vec<f64>, Option<Vec<f64>>) {
    (
        floats(&table["y_pred_proba"]),
        floats(&table["y_pred"]),
        labelled.then(|| floats(&table["repaid"])),
    )
}

#[test]
fn cbpe_matches_nannyml() {
    let fx = fixture("car_loan.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let (rp, ry, rt) = loan_columns(&fx["reference"], true);
    let (ap, ay, _) = loan_columns(&fx["analysis"], false);
    let reference = BinaryColumns {
        y_pred_proba: &rp,
        y_pred: Some(&ry),
        y_true: rt.as_deref(),
        timestamps: None,
    };
    let analysis = BinaryColumns {
        y_pred_proba: &ap,
        y_pred: Some(&ay),
        y_true: None,
        timestamps: None,
    };
    let params = CbpeParams {
        chunker: size(chunk),
        ..CbpeParams::default()
    };
    let cbpe = params.fit(&reference).unwrap();
    let want = &fx["cbpe"];
    assert_eq!(
        cbpe.is_calibrated(),
        want["needs_calibration"].as_bool().unwrap()
    );
    let mut cal = Diff::new("cbpe calibrated probabilities");
    for (i, (&p, w)) in ap
        .iter()
        .zip(floats(&want["calibrated_analysis_proba"]))
        .enumerate()
    {
        cal.check(
            &format!("row {i}"),
            Some(cbpe.calibrator().calibrate(p)),
            Some(w),
            1e-9,
            0.0,
        );
    }
    cal.report();
    let est = cbpe.estimate(&analysis).unwrap();
    for m in BinaryMetric::ALL {
        let w = &want["metrics"][m.name()];
        let points = both(
            cbpe.reference().get(m.name()).unwrap(),
            est.get(m.name()).unwrap(),
        );
        check_chunks(&points, &want["chunks"]);
        // NannyML ranks tied scores in an unstable order for ROC AUC's sampling error.
        let (se_rtol, cb_atol) = if m == BinaryMetric::RocAuc {
            (1e-3, 1e-4)
        } else {
            (1e-9, 1e-9)
        };
        let mut d = Diff::new(&format!("cbpe {m}"));
        let mut se = Diff::new(&format!("cbpe {m} sampling error"));
        for (i, p) in points.iter().enumerate() {
            let at = format!("chunk {i}");
            d.check(&at, p.value, opt(&w["value"])[i], 1e-9, 0.0);
            se.check(
                &at,
                p.sampling_error,
                opt(&w["sampling_error"])[i],
                1e-12,
                se_rtol,
            );
            d.check(&at, p.realized, opt(&w["realized"])[i], 1e-9, 0.0);
            d.check(
                &at,
                p.upper_threshold,
                opt(&w["upper_threshold"])[i],
                1e-9,
                0.0,
            );
            d.check(
                &at,
                p.lower_threshold,
                opt(&w["lower_threshold"])[i],
                1e-9,
                0.0,
            );
            se.check(
                &at,
                p.upper_confidence_bound,
                opt(&w["upper_confidence_bound"])[i],
                cb_atol,
                0.0,
            );
            se.check(
                &at,
                p.lower_confidence_bound,
                opt(&w["lower_confidence_bound"])[i],
                cb_atol,
                0.0,
            );
            assert_eq!(p.alert, bools(&w["alert"])[i], "cbpe {m} {at}: alert");
        }
        d.report();
        se.report();
    }
}

#[test]
fn multiclass_cbpe_matches_nannyml() {
    let fx = fixture("multiclass.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let cols = |t: &Value| -> (Vec<Vec<f64>>, Vec<f64>, Vec<f64>) {
        let proba = (0..3).map(|c| floats(&t[format!("proba_{c}")])).collect();
        (proba, floats(&t["y_pred"]), floats(&t["y_true"]))
    };
    let (rp, ry, rt) = cols(&fx["reference"]);
    let (ap, ay, _) = cols(&fx["analysis"]);
    let rp: Vec<&[f64]> = rp.iter().map(Vec::as_slice).collect();
    let ap: Vec<&[f64]> = ap.iter().map(Vec::as_slice).collect();
    let reference = MulticlassColumns {
        y_pred_proba: &rp,
        y_pred: &ry,
        y_true: Some(&rt),
        timestamps: None,
    };
    let analysis = MulticlassColumns {
        y_pred_proba: &ap,
        y_pred: &ay,
        y_true: None,
        timestamps: None,
    };
    let params = CbpeParams {
        chunker: size(chunk),
        ..CbpeParams::default()
    };
    let cbpe = params.fit_multiclass(&reference).unwrap();
    let want = &fx["cbpe"];
    let classes: Vec<&str> = fx["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let expected: Vec<bool> = classes
        .iter()
        .map(|c| want["calibrated"][*c].as_bool().unwrap())
        .collect();
    assert_eq!(cbpe.calibrated(), expected);
    let est = cbpe.estimate(&analysis).unwrap();
    for m in BinaryMetric::ALL {
        let w = &want["metrics"][m.name()];
        let points = both(
            cbpe.reference().get(m.name()).unwrap(),
            est.get(m.name()).unwrap(),
        );
        check_chunks(&points, &want["chunks"]);
        let (se_rtol, cb_atol) = if m == BinaryMetric::RocAuc {
            (5e-3, 2e-4)
        } else {
            (1e-9, 1e-9)
        };
        let mut d = Diff::new(&format!("multiclass cbpe {m}"));
        let mut se = Diff::new(&format!("multiclass cbpe {m} sampling error"));
        for (i, p) in points.iter().enumerate() {
            let at = format!("chunk {i}");
            d.check(&at, p.value, opt(&w["value"])[i], 1e-9, 0.0);
            d.check(&at, p.realized, opt(&w["realized"])[i], 1e-9, 0.0);
            d.check(
                &at,
                p.upper_threshold,
                opt(&w["upper_threshold"])[i],
                1e-9,
                0.0,
            );
            d.check(
                &at,
                p.lower_threshold,
                opt(&w["lower_threshold"])[i],
                1e-9,
                0.0,
            );
            se.check(
                &at,
                p.sampling_error,
                opt(&w["sampling_error"])[i],
                1e-12,
                se_rtol,
            );
            se.check(
                &at,
                p.upper_confidence_bound,
                opt(&w["upper_confidence_bound"])[i],
                cb_atol,
                0.0,
            );
            se.check(
                &at,
                p.lower_confidence_bound,
                opt(&w["lower_confidence_bound"])[i],
                cb_atol,
                0.0,
            );
            assert_eq!(
                p.alert,
                bools(&w["alert"])[i],
                "multiclass cbpe {m} {at}: alert"
            );
        }
        d.report();
        se.report();
    }
}

#[test]
fn realized_classification_matches_nannyml() {
    let fx = fixture("car_loan.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let (rp, ry, rt) = loan_columns(&fx["reference"], true);
    let (ap, ay, at) = loan_columns(&fx["analysis"], true);
    let (rt, at) = (rt.unwrap(), at.unwrap());
    let cols = |p, y, t| BinaryColumns {
        y_pred_proba: p,
        y_pred: Some(y),
        y_true: Some(t),
        timestamps: None,
    };
    let params = RealizedParams {
        metrics: Metrics::Binary(BinaryMetric::ALL.to_vec()),
        chunker: size(chunk),
        threshold: Threshold::default(),
    };
    let fitted = params.fit(&Outputs::Binary(cols(&rp, &ry, &rt))).unwrap();
    let perf = fitted
        .calculate(&Outputs::Binary(cols(&ap, &ay, &at)))
        .unwrap();
    compare_realized(
        &fitted.reference().concat(&perf),
        &fx["realized"],
        "realized binary",
    );
}

fn compare_realized(perf: &Performance, want: &Value, what: &str) {
    for s in &perf.series {
        let w = &want["metrics"][s.metric.as_str()];
        check_chunks(&s.chunks, &want["chunks"]);
        let mut d = Diff::new(&format!("{what} {}", s.metric));
        for (i, p) in s.chunks.iter().enumerate() {
            let at = format!("chunk {i}");
            d.check(&at, p.value, opt(&w["value"])[i], 1e-9, 1e-12);
            let se_rtol = if s.metric == "roc_auc" { 1e-3 } else { 1e-9 };
            d.check(
                &at,
                p.sampling_error,
                opt(&w["sampling_error"])[i],
                1e-12,
                se_rtol,
            );
            d.check(
                &at,
                p.upper_threshold,
                opt(&w["upper_threshold"])[i],
                1e-9,
                1e-12,
            );
            d.check(
                &at,
                p.lower_threshold,
                opt(&w["lower_threshold"])[i],
                1e-9,
                1e-12,
            );
            assert_eq!(
                p.alert,
                bools(&w["alert"])[i],
                "{what} {} {at}: alert",
                s.metric
            );
        }
        d.report();
    }
}

fn price_tables(fx: &Value) -> (Dataset<f64>, Dataset<f64>) {
    tables(
        fx,
        &[
            "car_age",
            "km_driven",
            "price_new",
            "accident_count",
            "door_count",
        ],
        &["fuel", "transmission"],
        &[
            "car_age",
            "km_driven",
            "price_new",
            "accident_count",
            "door_count",
            "fuel",
            "transmission",
        ],
    )
}

#[test]
fn realized_regression_matches_nannyml() {
    let fx = fixture("car_price.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let (rp, rt) = (
        floats(&fx["reference"]["y_pred"]),
        floats(&fx["reference"]["y_true"]),
    );
    let (ap, at) = (
        floats(&fx["analysis"]["y_pred"]),
        floats(&fx["analysis"]["y_true"]),
    );
    let params = RealizedParams {
        metrics: Metrics::Regression(vec![
            RegressionMetric::Mae,
            RegressionMetric::Mape,
            RegressionMetric::Mse,
            RegressionMetric::Rmse,
        ]),
        chunker: size(chunk),
        threshold: Threshold::default(),
    };
    let reference = RegressionColumns {
        y_pred: &rp,
        y_true: Some(&rt),
        timestamps: None,
    };
    let fitted = params.fit(&Outputs::Regression(reference)).unwrap();
    let analysis = RegressionColumns {
        y_pred: &ap,
        y_true: Some(&at),
        timestamps: None,
    };
    let perf = fitted.calculate(&Outputs::Regression(analysis)).unwrap();
    compare_realized(
        &fitted.reference().concat(&perf),
        &fx["realized"],
        "realized regression",
    );
}

#[test]
fn dle_close_to_nannyml() {
    let fx = fixture("car_price.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let (ref_x, ana_x) = price_tables(&fx);
    let (rp, rt) = (
        floats(&fx["reference"]["y_pred"]),
        floats(&fx["reference"]["y_true"]),
    );
    let ap = floats(&fx["analysis"]["y_pred"]);
    let params = DleParams {
        chunker: size(chunk),
        ..DleParams::default()
    };
    let reference = RegressionColumns {
        y_pred: &rp,
        y_true: Some(&rt),
        timestamps: None,
    };
    let dle = params.fit(&ref_x, &reference).unwrap();
    let analysis = RegressionColumns {
        y_pred: &ap,
        y_true: None,
        timestamps: None,
    };
    let est = dle.estimate(&ana_x, &analysis).unwrap();
    let want = &fx["dle"];
    for m in ["mae", "mape", "mse", "rmse"] {
        let w = &want["metrics"][m];
        let points = both(dle.reference().get(m).unwrap(), est.get(m).unwrap());
        check_chunks(&points, &want["chunks"]);
        let mut exact = Diff::new(&format!("dle {m} sampling error, realized, thresholds"));
        let mut ana = Diff::new(&format!("dle {m} estimate (analysis)"));
        let mut refd = Diff::new(&format!("dle {m} estimate (reference)"));
        for (i, p) in points.iter().enumerate() {
            let at = format!("chunk {i}");
            exact.check(
                &at,
                p.sampling_error,
                opt(&w["sampling_error"])[i],
                1e-12,
                1e-9,
            );
            exact.check(&at, p.realized, opt(&w["realized"])[i], 1e-9, 1e-12);
            exact.check(
                &at,
                p.upper_threshold,
                opt(&w["upper_threshold"])[i],
                1e-9,
                1e-12,
            );
            exact.check(
                &at,
                p.lower_threshold,
                opt(&w["lower_threshold"])[i],
                1e-9,
                1e-12,
            );
            let value = opt(&w["value"])[i];
            // Loss models differ (Smelt's GBDT vs LightGBM): looser on the reference, which
            // both models were trained on and overfit differently.
            if p.period == smelt_monitor::chunk::Period::Analysis {
                ana.check(&at, p.value, value, 0.0, 0.06);
            } else {
                refd.check(&at, p.value, value, 0.0, 0.10);
            }
            // Alerts agree wherever the estimate is clear of the thresholds by 3 %.
            let (v, up, lo) = (value.unwrap(), p.upper_threshold, p.lower_threshold);
            let clear = up.is_none_or(|u| (v - u).abs() > 0.03 * u.abs())
                && lo.is_none_or(|l| (v - l).abs() > 0.03 * l.abs());
            if clear {
                assert_eq!(p.alert, bools(&w["alert"])[i], "dle {m} {at}: alert");
            }
        }
        exact.report();
        ana.report();
        refd.report();
    }
}

#[test]
fn data_reconstruction_matches_nannyml() {
    let fx = fixture("car_loan.json");
    let chunk = fx["chunk_size"].as_u64().unwrap() as usize;
    let (ref_x, ana_x) = tables(&fx, &LOAN_NUMERIC, &LOAN_CATEGORICAL, &LOAN_ORDER);
    let params = DataReconstructionParams {
        chunker: size(chunk),
        ..DataReconstructionParams::default()
    };
    let fitted = params.fit(&ref_x, None).unwrap();
    let want = &fx["data_reconstruction"];
    assert_eq!(
        fitted.n_components() as u64,
        want["n_components"].as_u64().unwrap()
    );
    let series = fitted.calculate(&ana_x, None).unwrap();
    let points = both(fitted.reference(), &series);
    check_chunks(&points, &want["chunks"]);
    let w = &want["values"];
    let mut d = Diff::new("reconstruction error");
    for (i, p) in points.iter().enumerate() {
        let at = format!("chunk {i}");
        d.check(&at, p.value, opt(&w["value"])[i], 0.0, 1e-6);
        d.check(
            &at,
            p.sampling_error,
            opt(&w["sampling_error"])[i],
            0.0,
            1e-6,
        );
        d.check(
            &at,
            p.upper_confidence_bound,
            opt(&w["upper_confidence_bound"])[i],
            0.0,
            1e-6,
        );
        d.check(
            &at,
            p.lower_confidence_bound,
            opt(&w["lower_confidence_bound"])[i],
            0.0,
            1e-6,
        );
        d.check(
            &at,
            p.upper_threshold,
            opt(&w["upper_threshold"])[i],
            0.0,
            1e-6,
        );
        d.check(
            &at,
            p.lower_threshold,
            opt(&w["lower_threshold"])[i],
            0.0,
            1e-6,
        );
        assert_eq!(p.alert, bools(&w["alert"])[i], "reconstruction {at}: alert");
    }
    d.report();
}

#[test]
fn domain_classifier_close_to_nannyml() {
    let fx = fixture("car_loan.json");
    let want = &fx["domain_classifier"];
    let chunk = want["chunk_size"].as_u64().unwrap() as usize;
    let (ref_x, ana_x) = tables(&fx, &LOAN_NUMERIC, &LOAN_CATEGORICAL, &LOAN_ORDER);
    let params = DomainClassifierParams {
        chunker: size(chunk),
        ..DomainClassifierParams::default()
    };
    let fitted = params.fit(&ref_x, None).unwrap();
    let series = fitted.calculate(&ana_x, None).unwrap();
    let points = both(fitted.reference(), &series);
    check_chunks(&points, &want["chunks"]);
    let w = &want["values"];
    let mut d = Diff::new("domain classifier AUROC");
    for (i, p) in points.iter().enumerate() {
        let at = format!("chunk {i}");
        let value = opt(&w["value"])[i];
        d.check(&at, p.value, value, 0.04, 0.0);
        assert_eq!(p.upper_threshold, Some(0.65));
        assert_eq!(p.lower_threshold, Some(0.45));
        let v = value.unwrap();
        if (v - 0.65).abs() > 0.04 && (v - 0.45).abs() > 0.04 {
            assert_eq!(
                p.alert,
                bools(&w["alert"])[i],
                "domain classifier {at}: alert"
            );
        }
    }
    d.report();
}

/// Gaussian rows with unit-variance marginals and correlation `rho` between consecutive
/// features (an AR(1) chain): every marginal is N(0, 1) whatever `rho`.
fn correlated(n: usize, p: usize, rho: f64, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = SplitMix64::new(seed);
    let mut cols = vec![Vec::with_capacity(n); p];
    for _ in 0..n {
        let mut prev = rng.normal();
        cols[0].push(prev);
        for col in cols.iter_mut().skip(1) {
            prev = rho * prev + (1.0 - rho * rho).sqrt() * rng.normal();
            col.push(prev);
        }
    }
    cols
}

fn dataset(cols: &[Vec<f64>]) -> Dataset<f64> {
    let n = cols[0].len();
    let features = (0..cols.len()).map(|j| numeric(&format!("x{j}"))).collect();
    Dataset::new(n, cols.concat(), features, None).unwrap()
}

/// Largest gap between two empirical CDFs (the two-sample Kolmogorov–Smirnov statistic).
fn ks(a: &[f64], b: &[f64]) -> f64 {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

#[test]
fn covariance_change_with_unchanged_marginals_is_detected() {
    let p = 4;
    let reference = correlated(20_000, p, 0.8, 1);
    // The same marginals (N(0, 1) each, by construction), the correlations reversed in sign.
    let analysis = correlated(10_000, p, -0.8, 2);
    // Marginals unchanged: per-column KS statistics at the level of two samples of the same
    // law (the 1 % critical value for n = 20,000 and m = 10,000 is 1.63 · √(3/20,000) ≈ 0.020).
    for j in 0..p {
        let d = ks(&reference[j], &analysis[j]);
        assert!(d < 0.020, "column x{j}: KS {d}");
    }
    // A control without change.
    let same = correlated(10_000, p, 0.8, 3);
    let params = DataReconstructionParams {
        chunker: size(1000),
        ..DataReconstructionParams::default()
    };
    let fitted = params.fit(&dataset(&reference), None).unwrap();
    assert!(fitted.reference().chunks.iter().all(|c| !c.alert));
    let control = fitted.calculate(&dataset(&same), None).unwrap();
    assert!(
        control.chunks.iter().all(|c| !c.alert),
        "false alarm without a change: {:?}",
        control.values()
    );
    let drifted = fitted.calculate(&dataset(&analysis), None).unwrap();
    assert!(
        drifted.chunks.iter().all(|c| c.alert),
        "covariance change missed: {:?}",
        drifted.values()
    );
    let upper = fitted.reference().chunks[0].upper_threshold.unwrap();
    let lowest = drifted
        .chunks
        .iter()
        .filter_map(|c| c.value)
        .fold(f64::INFINITY, f64::min);
    assert!(
        lowest > 1.5 * upper,
        "margin: {lowest} vs threshold {upper}"
    );
}

#[test]
fn results_serialise_for_reports() {
    let fx = fixture("car_loan.json");
    let (rp, ry, rt) = loan_columns(&fx["reference"], true);
    let reference = BinaryColumns {
        y_pred_proba: &rp,
        y_pred: Some(&ry),
        y_true: rt.as_deref(),
        timestamps: None,
    };
    let cbpe = CbpeParams {
        metrics: vec![BinaryMetric::RocAuc, BinaryMetric::F1],
        chunker: size(500),
        ..CbpeParams::default()
    }
    .fit(&reference)
    .unwrap();
    let json = serde_json::to_string(cbpe.reference()).unwrap();
    let back: Performance = serde_json::from_str(&json).unwrap();
    assert_eq!(&back, cbpe.reference());
    let v: Value = serde_json::from_str(&json).unwrap();
    let first = &v["series"][0]["chunks"][0];
    for key in [
        "key",
        "start_index",
        "end_index",
        "period",
        "value",
        "lower_confidence_bound",
        "upper_confidence_bound",
        "lower_threshold",
        "upper_threshold",
        "alert",
    ] {
        assert!(first.get(key).is_some(), "missing {key} in {first}");
    }
    let params: CbpeParams = serde_json::from_str(
        r#"{"metrics": ["roc_auc"], "chunker": {"by": "size", "chunk_size": 100}}"#,
    )
    .unwrap();
    assert_eq!(params.metrics, [BinaryMetric::RocAuc]);
}

#[test]
fn errors_for_bad_inputs() {
    let fx = fixture("car_loan.json");
    let (ref_x, ana_x) = tables(&fx, &LOAN_NUMERIC, &LOAN_CATEGORICAL, &LOAN_ORDER);
    let fitted = DataReconstructionParams {
        chunker: size(250),
        ..DataReconstructionParams::default()
    }
    .fit(&ref_x, None)
    .unwrap();
    // A missing column names it.
    let keep: Vec<usize> = (0..ana_x.n_rows()).collect();
    let values: Vec<f64> = ana_x.values()[ana_x.n_rows()..].to_vec();
    let features = ana_x.features()[1..].to_vec();
    let missing = Dataset::new(keep.len(), values, features, None).unwrap();
    match fitted.calculate(&missing, None) {
        Err(MonitorError::Schema(m)) => assert!(m.contains("car_value"), "{m}"),
        other => panic!("expected a schema error, got {other:?}"),
    }
    // No rows.
    let empty = ana_x.select_rows(&[]).unwrap();
    assert!(fitted.calculate(&empty, None).is_err());
    // A single class in the labels: realized values are absent, nothing panics.
    let p = vec![0.7; 40];
    let y = vec![1.0; 40];
    let ones = BinaryColumns {
        y_pred_proba: &p,
        y_pred: Some(&y),
        y_true: Some(&y),
        timestamps: None,
    };
    let cbpe = CbpeParams {
        chunker: size(10),
        ..CbpeParams::default()
    }
    .fit(&ones)
    .unwrap();
    let auc = cbpe.reference().get("roc_auc").unwrap();
    assert!(auc.chunks.iter().all(|c| c.realized.is_none()));
    // Labels joined by id.
    let joined = join_by_id(&["r1", "r2"], &["r2"], &[1.0]).unwrap();
    assert!(joined[0].is_nan() && joined[1] == 1.0);
    assert!(join_by_id(&["r1"], &["r1", "r1"], &[0.0, 1.0]).is_err());
}

#[test]
fn realized_per_slice() {
    let fx = fixture("car_loan.json");
    let (rp, ry, rt) = loan_columns(&fx["reference"], true);
    let (ap, ay, at) = loan_columns(&fx["analysis"], true);
    let rslice = labels(&fx["reference"]["repaid_loan_on_prev_car"]);
    let aslice = labels(&fx["analysis"]["repaid_loan_on_prev_car"]);
    let params = RealizedParams {
        metrics: Metrics::Binary(vec![BinaryMetric::Accuracy]),
        chunker: Chunker::Number {
            chunk_number: 4,
            incomplete: Incomplete::Keep,
        },
        threshold: Threshold::default(),
    };
    let r = BinaryColumns {
        y_pred_proba: &rp,
        y_pred: Some(&ry),
        y_true: rt.as_deref(),
        timestamps: None,
    };
    let a = BinaryColumns {
        y_pred_proba: &ap,
        y_pred: Some(&ay),
        y_true: at.as_deref(),
        timestamps: None,
    };
    let by = realized_by_slice(
        &params,
        &Outputs::Binary(r),
        &rslice,
        &Outputs::Binary(a),
        &aslice,
    )
    .unwrap();
    assert_eq!(by.keys().collect::<Vec<_>>(), ["False", "True"]);
    for perf in by.values() {
        let s = perf.get("accuracy").unwrap();
        assert!(
            s.chunks
                .iter()
                .all(|c| c.value.is_some_and(|v| (0.5..=1.0).contains(&v)))
        );
    }
}
