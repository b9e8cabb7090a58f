//! Metrics against scikit-learn 1.9 on the committed fixtures (`tools/fixtures/metrics.py`),
//! to 1e-9 (relative above 1), and the error cases.

use serde_json::Value;
use smelt_core::{Prediction, Proba, Target};
use smelt_eval::EvalError;
use smelt_eval::metrics::classification::{self as cls, Average, KappaWeights, Normalize};
use smelt_eval::metrics::{
    clustering, probabilistic as prob, ranking, registry, regression as reg,
};

const TOL: f64 = 1e-9;

fn fixture(area: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/metrics_{area}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::INFINITY))
        .collect()
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn i64s(v: &Value) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_i64().unwrap())
        .collect()
}

#[track_caller]
fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0) || (got.is_infinite() && got == want),
        "{what}: got {got}, scikit-learn {want}"
    );
}

#[track_caller]
fn close_all(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths {got:?} vs {want:?}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        close(*g, *w, &format!("{what}[{i}]"));
    }
}

fn average(name: &str) -> Average {
    match name {
        "binary" => Average::Binary { pos_label: 1 },
        "micro" => Average::Micro,
        "macro" => Average::Macro,
        "weighted" => Average::Weighted,
        other => panic!("average {other}"),
    }
}

/// Runs `f(case, weighted, label)` on every case of a fixture; returns the count.
fn each(fx: &Value, mut f: impl FnMut(&str, &Value, bool, &Value, &str)) -> usize {
    let cases = fx["cases"].as_array().unwrap();
    for c in cases {
        let metric = c["metric"].as_str().unwrap();
        let weighted = c["weighted"].as_bool().unwrap();
        let label = format!("{metric} {} weighted={weighted}", c["params"]);
        f(metric, &c["params"], weighted, &c["expected"], &label);
    }
    cases.len()
}

#[test]
fn classification_matches_sklearn() {
    let fx = fixture("classification");
    let i = &fx["inputs"];
    let (yb, pb, wb) = (u32s(&i["yb"]), u32s(&i["pb"]), f64s(&i["wb"]));
    let (ym, pm, wm) = (u32s(&i["ym"]), u32s(&i["pm"]), f64s(&i["wm"]));
    let (yz, pz) = (u32s(&i["yz"]), u32s(&i["pz"]));
    let sb = f64s(&i["sb"]);
    let proba = Proba {
        n_classes: i["n_classes"].as_u64().unwrap() as usize,
        values: f64s(&i["proba"]),
    };
    let n = each(&fx, |metric, params, weighted, want, label| {
        let (tag, rest) = metric.rsplit_once('_').unwrap();
        let (y, p, w): (&[u32], &[u32], &[f64]) = match rest {
            "binary" => (&yb, &pb, &wb),
            "multi" => (&ym, &pm, &wm),
            "division" => (&yz, &pz, &wb),
            _ => panic!("{metric}"),
        };
        let w = weighted.then_some(w);
        match tag {
            "accuracy" => close(
                cls::accuracy(y, p, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "balanced_accuracy" => close(
                cls::balanced_accuracy(y, p, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "mcc" => close(
                cls::matthews_corrcoef(y, p, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "kappa" => {
                let kw = match params["weights"].as_str().unwrap() {
                    "none" => KappaWeights::None,
                    "linear" => KappaWeights::Linear,
                    _ => KappaWeights::Quadratic,
                };
                close(
                    cls::cohen_kappa(y, p, kw, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            "prf" | "prf_zero" => {
                let avg = average(params["average"].as_str().unwrap());
                let beta = params["beta"].as_f64().unwrap();
                close(
                    cls::precision(y, p, avg, w).unwrap(),
                    want["precision"].as_f64().unwrap(),
                    label,
                );
                close(
                    cls::recall(y, p, avg, w).unwrap(),
                    want["recall"].as_f64().unwrap(),
                    label,
                );
                close(
                    cls::fbeta(y, p, beta, avg, w).unwrap(),
                    want["fscore"].as_f64().unwrap(),
                    label,
                );
                if beta == 1.0 {
                    close(
                        cls::f1(y, p, avg, w).unwrap(),
                        want["fscore"].as_f64().unwrap(),
                        label,
                    );
                }
            }
            "report" => {
                let r = cls::classification_report(y, p, 1.0, w).unwrap();
                close_all(&r.precision, &f64s(&want["precision"]), label);
                close_all(&r.recall, &f64s(&want["recall"]), label);
                close_all(&r.fscore, &f64s(&want["fscore"]), label);
                close_all(&r.support, &f64s(&want["support"]), label);
            }
            "confusion" => {
                let norm = match params["normalize"].as_str().unwrap() {
                    "none" => Normalize::None,
                    "true" => Normalize::True,
                    "pred" => Normalize::Pred,
                    _ => Normalize::All,
                };
                let cm = cls::confusion_matrix(y, p, norm, w).unwrap();
                close_all(&cm.values, &f64s(want), label);
            }
            "top_k" => {
                let k = params["k"].as_u64().unwrap() as usize;
                let got = if rest == "multi" {
                    cls::top_k_accuracy(&ym, &proba, k, w).unwrap()
                } else {
                    let two = Proba {
                        n_classes: 2,
                        values: sb.iter().flat_map(|&s| [1.0 - s, s]).collect(),
                    };
                    cls::top_k_accuracy(&yb, &two, k, w).unwrap()
                };
                close(got, want.as_f64().unwrap(), label);
            }
            _ => panic!("unknown case {metric}"),
        }
    });
    assert!(n > 90, "{n} cases");
}

#[test]
fn ranking_matches_sklearn() {
    let fx = fixture("ranking");
    let i = &fx["inputs"];
    let (yb, sb, wb) = (u32s(&i["yb"]), f64s(&i["sb"]), f64s(&i["wb"]));
    let (ym, wm) = (u32s(&i["ym"]), f64s(&i["wm"]));
    let proba = Proba {
        n_classes: i["n_classes"].as_u64().unwrap() as usize,
        values: f64s(&i["proba"]),
    };
    each(&fx, |metric, params, weighted, want, label| {
        let w = weighted.then_some(wb.as_slice());
        let drop = params["drop_intermediate"].as_bool().unwrap_or(true);
        match metric {
            "roc_auc" => close(
                ranking::roc_auc(&yb, &sb, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "average_precision" => close(
                ranking::average_precision(&yb, &sb, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "roc_curve" => {
                let c = ranking::roc_curve(&yb, &sb, w, drop).unwrap();
                close_all(&c.fpr, &f64s(&want["fpr"]), label);
                close_all(&c.tpr, &f64s(&want["tpr"]), label);
                close_all(&c.thresholds, &f64s(&want["thresholds"]), label);
            }
            "precision_recall_curve" => {
                let c = ranking::precision_recall_curve(&yb, &sb, w, drop).unwrap();
                close_all(&c.precision, &f64s(&want["precision"]), label);
                close_all(&c.recall, &f64s(&want["recall"]), label);
                close_all(&c.thresholds, &f64s(&want["thresholds"]), label);
            }
            "roc_auc_ovr" => {
                let avg = average(params["average"].as_str().unwrap());
                let w = weighted.then_some(wm.as_slice());
                close(
                    ranking::roc_auc_ovr(&ym, &proba, avg, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            "roc_auc_ovo" => {
                let avg = average(params["average"].as_str().unwrap());
                close(
                    ranking::roc_auc_ovo(&ym, &proba, avg).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            "roc_auc_const" => close(
                ranking::roc_auc(&yb, &vec![0.3; yb.len()], None).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "roc_auc_perfect" => {
                let s: Vec<f64> = yb.iter().map(|&y| f64::from(y) + 0.5).collect();
                close(
                    ranking::roc_auc(&yb, &s, None).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            _ => panic!("unknown case {metric}"),
        }
    });
}

#[test]
fn probabilistic_matches_sklearn() {
    let fx = fixture("probabilistic");
    let i = &fx["inputs"];
    let (yb, pp, wb) = (u32s(&i["yb"]), f64s(&i["pp"]), f64s(&i["wb"]));
    let (ym, wm) = (u32s(&i["ym"]), f64s(&i["wm"]));
    let proba = Proba {
        n_classes: i["n_classes"].as_u64().unwrap() as usize,
        values: f64s(&i["proba"]),
    };
    let two = Proba {
        n_classes: 2,
        values: pp.iter().flat_map(|&p| [1.0 - p, p]).collect(),
    };
    each(&fx, |metric, params, weighted, want, label| {
        let w = weighted.then_some(wb.as_slice());
        let wmu = weighted.then_some(wm.as_slice());
        let bins = params["n_bins"].as_u64().unwrap_or(10) as usize;
        match metric {
            "log_loss_binary" => {
                close(
                    prob::log_loss_binary(&yb, &pp, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
                close(
                    prob::log_loss(&yb, &two, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            "log_loss_multi" => close(
                prob::log_loss(&ym, &proba, wmu).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "brier_binary" => {
                close(
                    prob::brier_binary(&yb, &pp, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
                close(
                    prob::brier(&yb, &two, w).unwrap(),
                    want.as_f64().unwrap(),
                    label,
                );
            }
            "brier_multi" => close(
                prob::brier(&ym, &proba, wmu).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "ece" => close(
                prob::expected_calibration_error(&yb, &pp, bins, w).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "top_label_ece" => close(
                prob::top_label_calibration_error(&ym, &proba, bins, wmu).unwrap(),
                want.as_f64().unwrap(),
                label,
            ),
            "calibration_curve" => {
                let strategy = match params["strategy"].as_str().unwrap() {
                    "uniform" => prob::Strategy::Uniform,
                    _ => prob::Strategy::Quantile,
                };
                let c = prob::calibration_curve(&yb, &pp, bins, strategy).unwrap();
                close_all(&c.prob_true, &f64s(&want["prob_true"]), label);
                close_all(&c.prob_pred, &f64s(&want["prob_pred"]), label);
                assert_eq!(c.counts.iter().sum::<usize>(), yb.len());
                assert_eq!(c.edges.len(), bins + 1);
            }
            _ => panic!("unknown case {metric}"),
        }
    });
}

#[test]
fn regression_matches_sklearn() {
    let fx = fixture("regression");
    let i = &fx["inputs"];
    let (y, p, y0, wr) = (
        f64s(&i["yr"]),
        f64s(&i["pr"]),
        f64s(&i["yr_zero"]),
        f64s(&i["wr"]),
    );
    each(&fx, |metric, params, weighted, want, label| {
        let w = weighted.then_some(wr.as_slice());
        let want = want.as_f64().unwrap();
        let got = match metric {
            "mae" => reg::mae(&y, &p, w),
            "mse" => reg::mse(&y, &p, w),
            "rmse" => reg::rmse(&y, &p, w),
            "r2" => reg::r2(&y, &p, w),
            "explained_variance" => reg::explained_variance(&y, &p, w),
            "mape" => reg::mape(&y, &p, w),
            "median_ae" => reg::median_ae(&y, &p, w),
            "median_ae_odd" => reg::median_ae(&y[..51], &p[..51], w.map(|w| &w[..51])),
            "median_ae_unit_weights" => reg::median_ae(&y, &p, Some(&vec![1.0; y.len()])),
            "pinball" => reg::pinball(&y, &p, params["alpha"].as_f64().unwrap(), w),
            "poisson_zero" => reg::mean_poisson_deviance(&y0, &p, w),
            "gamma" => reg::mean_gamma_deviance(&y, &p, w),
            "tweedie" => reg::mean_tweedie_deviance(&y, &p, params["power"].as_f64().unwrap(), w),
            "max_error" => reg::max_error(&y, &p),
            "r2_constant_exact" => reg::r2(&[2.0; 4], &[2.0; 4], None),
            "r2_constant_miss" => reg::r2(&[2.0; 4], &[2.0, 2.0, 2.0, 3.0], None),
            _ => panic!("unknown case {metric}"),
        };
        close(got.unwrap(), want, label);
    });
}

#[test]
fn clustering_matches_sklearn() {
    let fx = fixture("clustering");
    let i = &fx["inputs"];
    let x = f64s(&i["x"]);
    let d = i["n_features"].as_u64().unwrap() as usize;
    let (lab, noisy, lt, lp) = (
        i64s(&i["labels"]),
        i64s(&i["labels_noisy"]),
        i64s(&i["lt"]),
        i64s(&i["lp"]),
    );
    each(&fx, |metric, _, _, want, label| {
        let want = want.as_f64().unwrap();
        let got = match metric {
            "silhouette" => clustering::silhouette(&x, d, &lab),
            "silhouette_noise" => clustering::silhouette(&x, d, &noisy),
            "ari" => clustering::adjusted_rand(&lt, &lp),
            "ami" => clustering::adjusted_mutual_info(&lt, &lp),
            "ari_small" => clustering::adjusted_rand(&[0, 0, 1, 2], &[0, 0, 1, 1]),
            "ami_small" => clustering::adjusted_mutual_info(&[0, 0, 1, 2], &[0, 0, 1, 1]),
            "ami_one_vs_many" => clustering::adjusted_mutual_info(&[0, 0, 0, 0], &[0, 1, 2, 3]),
            _ => panic!("unknown case {metric}"),
        };
        close(got.unwrap(), want, label);
    });
}

// ------------------------------------------------------------------------- edge cases

#[test]
fn perfect_predictions() {
    let y = [0, 1, 2, 1, 0];
    assert_eq!(cls::accuracy(&y, &y, None).unwrap(), 1.0);
    assert_eq!(cls::f1(&y, &y, Average::Macro, None).unwrap(), 1.0);
    assert_eq!(cls::matthews_corrcoef(&y, &y, None).unwrap(), 1.0);
    assert_eq!(
        cls::cohen_kappa(&y, &y, KappaWeights::Quadratic, None).unwrap(),
        1.0
    );
    assert_eq!(
        ranking::roc_auc(&[0, 1, 1], &[0.1, 0.8, 0.9], None).unwrap(),
        1.0
    );
    assert_eq!(
        ranking::average_precision(&[0, 1, 1], &[0.1, 0.8, 0.9], None).unwrap(),
        1.0
    );
    let v = [1.5, -2.0, 3.0];
    assert_eq!(reg::r2(&v, &v, None).unwrap(), 1.0);
    assert_eq!(reg::rmse(&v, &v, None).unwrap(), 0.0);
}

#[test]
fn zero_weights_leave_samples_out() {
    // The third sample has weight 0: as if absent.
    let y = [0, 1, 1];
    let s = [0.2, 0.7, 0.1];
    let w = [1.0, 1.0, 0.0];
    assert_eq!(ranking::roc_auc(&y, &s, Some(&w)).unwrap(), 1.0);
    let c = ranking::roc_curve(&y, &s, Some(&w), false).unwrap();
    assert_eq!(c.thresholds.len(), 3);
}

#[test]
fn large_input_is_exact() {
    // Past the parallel sort threshold, with many ties: equals the rank formula.
    let n = 200_000;
    let y: Vec<u32> = (0..n).map(|i| ((i * 7919) % 3 == 0) as u32).collect();
    let s: Vec<f64> = (0..n)
        .map(|i| ((i * 104_729) % 1000) as f64 / 1000.0 + 0.01 * f64::from(y[i]))
        .collect();
    let auc = ranking::roc_auc(&y, &s, None).unwrap();
    let w = vec![1.0; n];
    let auc_w = ranking::roc_auc(&y, &s, Some(&w)).unwrap();
    assert!((auc - auc_w).abs() < 1e-12, "{auc} vs {auc_w}");
    let ll =
        prob::log_loss_binary(&y, &s.iter().map(|v| v.min(1.0)).collect::<Vec<_>>(), None).unwrap();
    assert!(ll.is_finite());
}

// ------------------------------------------------------------------------- errors

#[track_caller]
fn input_error(e: EvalError, needle: &str) {
    match &e {
        EvalError::Input { message, .. } => {
            assert!(message.contains(needle), "`{message}` lacks `{needle}`")
        }
        other => panic!("expected an input error, got {other:?}"),
    }
}

#[test]
fn lengths_name_both_arguments() {
    for e in [
        cls::accuracy(&[0, 1], &[0], None).unwrap_err(),
        ranking::roc_auc(&[0, 1], &[0.5], None).unwrap_err(),
        reg::mae(&[1.0], &[1.0, 2.0], None).unwrap_err(),
        prob::log_loss(
            &[0, 1],
            &Proba {
                n_classes: 2,
                values: vec![0.5, 0.5],
            },
            None,
        )
        .unwrap_err(),
        clustering::adjusted_rand(&[0, 1], &[0]).unwrap_err(),
    ] {
        assert!(matches!(e, EvalError::Length { .. }), "{e:?}");
        let m = e.to_string();
        assert!(m.contains("`y_true`") || m.contains("`labels_true`"), "{m}");
        assert!(m.contains("`y_") || m.contains("`labels_pred`"), "{m}");
    }
    let e = reg::r2(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0])).unwrap_err();
    assert!(e.to_string().contains("`sample_weight`"), "{e}");
}

#[test]
fn empty_inputs_are_errors() {
    input_error(
        cls::accuracy(&[], &[], None).unwrap_err(),
        "`y_true` is empty",
    );
    input_error(
        ranking::roc_auc(&[], &[], None).unwrap_err(),
        "`y_true` is empty",
    );
    input_error(
        reg::median_ae(&[], &[], None).unwrap_err(),
        "`y_true` is empty",
    );
}

#[test]
fn non_finite_values_are_errors() {
    match ranking::roc_auc(&[0, 1], &[0.5, f64::NAN], None).unwrap_err() {
        EvalError::NonFinite {
            argument, index, ..
        } => assert_eq!((argument, index), ("y_score", 1)),
        e => panic!("{e:?}"),
    }
    let e = reg::rmse(&[1.0, f64::INFINITY], &[1.0, 2.0], None).unwrap_err();
    assert!(e.to_string().contains("`y_true`"), "{e}");
    let e = prob::log_loss_binary(&[0], &[f64::NAN], None).unwrap_err();
    assert!(e.to_string().contains("`y_proba`"), "{e}");
}

#[test]
fn bad_weights_are_errors() {
    input_error(
        cls::accuracy(&[0, 1], &[0, 1], Some(&[1.0, -1.0])).unwrap_err(),
        "negative",
    );
    input_error(
        ranking::average_precision(&[0, 1], &[0.1, 0.2], Some(&[0.0, 0.0])).unwrap_err(),
        "all zero",
    );
    let e = reg::mae(&[1.0], &[1.0], Some(&[f64::NAN])).unwrap_err();
    assert!(
        matches!(
            e,
            EvalError::NonFinite {
                argument: "sample_weight",
                ..
            }
        ),
        "{e:?}"
    );
}

#[test]
fn undefined_metrics_are_errors() {
    input_error(
        ranking::roc_auc(&[0, 0], &[0.1, 0.2], None).unwrap_err(),
        "only class 0 is present",
    );
    input_error(
        ranking::roc_curve(&[1, 1], &[0.1, 0.2], None, true).unwrap_err(),
        "needs both classes",
    );
    input_error(
        ranking::average_precision(&[0, 0], &[0.1, 0.2], None).unwrap_err(),
        "no positive sample",
    );
    input_error(
        ranking::roc_auc(&[0, 2], &[0.1, 0.2], None).unwrap_err(),
        "binary",
    );
    let p = Proba {
        n_classes: 3,
        values: vec![0.2, 0.3, 0.5, 0.1, 0.8, 0.1],
    };
    input_error(
        ranking::roc_auc_ovr(&[0, 1], &p, Average::Macro, None).unwrap_err(),
        "class 2 has no sample",
    );
    let bad = Proba {
        n_classes: 3,
        values: vec![0.2, 0.3, 0.4, 0.1, 0.8, 0.1],
    };
    input_error(
        ranking::roc_auc_ovo(&[0, 1], &bad, Average::Macro).unwrap_err(),
        "sum to",
    );
    input_error(
        cls::f1(
            &[0, 1, 2],
            &[0, 1, 2],
            Average::Binary { pos_label: 1 },
            None,
        )
        .unwrap_err(),
        "multiclass",
    );
    input_error(
        cls::cohen_kappa(&[3, 3], &[3, 3], KappaWeights::None, None).unwrap_err(),
        "single label",
    );
    input_error(
        clustering::silhouette(&[0.0, 1.0], 1, &[0, 1]).unwrap_err(),
        "2 distinct labels for 2 samples",
    );
    input_error(
        reg::mean_gamma_deviance(&[0.0], &[1.0], None).unwrap_err(),
        "`y_true`",
    );
    input_error(
        reg::mean_poisson_deviance(&[1.0], &[0.0], None).unwrap_err(),
        "`y_pred`",
    );
    input_error(
        prob::brier_binary(&[0], &[1.2], None).unwrap_err(),
        "outside [0, 1]",
    );
    input_error(
        prob::log_loss(
            &[3],
            &Proba {
                n_classes: 2,
                values: vec![0.5, 0.5],
            },
            None,
        )
        .unwrap_err(),
        "class code 3",
    );
}

// ------------------------------------------------------------------------- registry

fn binary_target() -> Target {
    Target::Classification {
        codes: vec![0, 1, 1, 0, 1],
        classes: vec!["no".into(), "yes".into()],
    }
}

fn binary_pred(proba: bool) -> Prediction {
    Prediction::Classification {
        labels: vec![0, 1, 0, 0, 1],
        classes: vec!["no".into(), "yes".into()],
        proba: proba.then(|| Proba {
            n_classes: 2,
            values: vec![0.8, 0.2, 0.3, 0.7, 0.6, 0.4, 0.9, 0.1, 0.2, 0.8],
        }),
    }
}

#[test]
fn registry_finds_both_names() {
    let s = registry::find("neg_root_mean_squared_error").unwrap();
    assert_eq!(s.name, "rmse");
    assert!(std::ptr::eq(s, registry::find("rmse").unwrap()));
    assert!(!s.greater_is_better);
    assert_eq!(s.signed(2.0), -2.0);
    assert!(s.better(1.0, 2.0));
    assert!(registry::find("roc_auc").unwrap().better(0.9, 0.8));
    match registry::find("f1_macr").unwrap_err() {
        EvalError::UnknownMetric { name, suggestion } => {
            assert_eq!(name, "f1_macr");
            assert_eq!(suggestion.as_deref(), Some("f1_macro"));
        }
        e => panic!("{e:?}"),
    }
    for s in registry::scorers() {
        assert!(!s.doc.is_empty());
        assert!(
            std::ptr::eq(registry::find(s.sklearn).unwrap(), s),
            "{}",
            s.sklearn
        );
    }
}

#[test]
fn scorer_maps_classes_by_label() {
    // The model's classes are in another order than the target's: matched by label.
    let target = Target::Classification {
        codes: vec![0, 1, 2, 1],
        classes: vec!["a".into(), "b".into(), "c".into()],
    };
    let pred = Prediction::Classification {
        labels: vec![2, 1, 0, 1],
        classes: vec!["c".into(), "b".into(), "a".into()],
        proba: None,
    };
    let acc = registry::find("accuracy").unwrap();
    assert_eq!(acc.score(&target, &pred, None).unwrap(), 1.0);
}

#[test]
fn evaluate_binary_standard_set() {
    let m = registry::evaluate(&binary_target(), &binary_pred(true), None).unwrap();
    let names: Vec<&str> = m.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        registry::standard(registry::ScorerTask::Classification, 2)
    );
    let get = |n: &str| m.iter().find(|(k, _)| *k == n).unwrap().1;
    assert_eq!(get("accuracy"), 0.8);
    let y = [0, 1, 1, 0, 1];
    let p1 = [0.2, 0.7, 0.4, 0.1, 0.8];
    assert_eq!(get("roc_auc"), ranking::roc_auc(&y, &p1, None).unwrap());
    close(
        get("log_loss"),
        prob::log_loss_binary(&y, &p1, None).unwrap(),
        "log_loss",
    );
    close(
        get("brier"),
        prob::brier_binary(&y, &p1, None).unwrap(),
        "brier",
    );
    // Without probabilities the probability metrics are left out.
    let m = registry::evaluate(&binary_target(), &binary_pred(false), None).unwrap();
    let names: Vec<&str> = m.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        ["accuracy", "balanced_accuracy", "f1", "precision", "recall"]
    );
}

#[test]
fn evaluate_skips_undefined_metrics() {
    // A one-class validation set: ROC-AUC is left out, the rest computed.
    let target = Target::Classification {
        codes: vec![1, 1],
        classes: vec!["no".into(), "yes".into()],
    };
    let pred = Prediction::Classification {
        labels: vec![1, 0],
        classes: vec!["no".into(), "yes".into()],
        proba: Some(Proba {
            n_classes: 2,
            values: vec![0.3, 0.7, 0.6, 0.4],
        }),
    };
    let m = registry::evaluate(&target, &pred, None).unwrap();
    assert!(m.iter().all(|(n, _)| *n != "roc_auc"));
    assert_eq!(m[0], ("accuracy", 0.5));
    assert!(m.iter().any(|(n, _)| *n == "log_loss"));
}

#[test]
fn evaluate_regression_and_mismatch() {
    let target = Target::Regression {
        values: vec![1.0, 2.0, 3.0],
    };
    let pred = Prediction::Regression {
        values: vec![1.0, 2.0, 5.0],
    };
    let m = registry::evaluate(&target, &pred, Some(&[1.0, 1.0, 2.0])).unwrap();
    let names: Vec<&str> = m.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["r2", "rmse", "mae", "median_ae"]);
    close(m[2].1, 1.0, "weighted mae");
    // A regression target against class predictions is an error, not an empty result.
    assert!(registry::evaluate(&target, &binary_pred(false), None).is_err());
    // Lengths still fail loudly.
    let short = Prediction::Regression { values: vec![1.0] };
    assert!(matches!(
        registry::evaluate(&target, &short, None).unwrap_err(),
        EvalError::Length { .. }
    ));
}

#[test]
fn clustering_scorers_take_cluster_labels() {
    let target = Target::Classification {
        codes: vec![0, 0, 1, 1],
        classes: vec!["a".into(), "b".into()],
    };
    let pred = Prediction::Clustering {
        labels: vec![5, 5, -1, -1],
    };
    let ari = registry::find("adjusted_rand_score").unwrap();
    assert_eq!(ari.score(&target, &pred, None).unwrap(), 1.0);
    assert!(registry::evaluate(&target, &pred, None).unwrap().is_empty());
}
