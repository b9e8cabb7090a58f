//! The evaluation plots: well-formed, labelled, deterministic SVG; PNG of the right size; clear
//! errors on bad input. `gallery` (ignored; run with `--ignored`) writes every plot to
//! `$SMELT_PLOT_DIR` (default `/tmp/smelt-plots`) as one HTML page and PNGs, for looking at.

use smelt_core::rng::Rng;
use smelt_eval::EvalError;
use smelt_eval::plot::{
    self, Curve, MAX_POINTS, PNG_SCALE, ParamValues, Plot, Reliability, Scores,
};

/// Scores of `n` negatives ~ N(0, 1) and positives ~ N(separation, 1).
fn scores(seed: u64, n: usize, separation: f64) -> (Vec<f64>, Vec<bool>) {
    let mut rng = Rng::new(seed);
    let mut s = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let positive = i % 3 == 0;
        s.push(rng.normal() + if positive { separation } else { 0.0 });
        y.push(positive);
    }
    (s, y)
}

fn sigmoid(v: f64) -> f64 {
    1.0 / (1.0 + (-v).exp())
}

/// ROC points, AUC, precision–recall points, AP and the positive rate.
fn curves(label: &str, seed: u64, separation: f64) -> (Curve, Curve) {
    let (s, y) = scores(seed, 600, separation);
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let p = y.iter().filter(|v| **v).count() as f64;
    let n = y.len() as f64 - p;
    let (mut tp, mut fp) = (0.0, 0.0);
    let (mut fpr, mut tpr) = (vec![0.0], vec![0.0]);
    let (mut recall, mut precision) = (vec![0.0], vec![1.0]);
    let (mut auc, mut ap) = (0.0, 0.0);
    for &i in &order {
        if y[i] {
            tp += 1.0;
            ap += (tp / (tp + fp)) / p;
        } else {
            fp += 1.0;
            auc += tp / p / n;
        }
        fpr.push(fp / n);
        tpr.push(tp / p);
        recall.push(tp / p);
        precision.push(tp / (tp + fp));
    }
    (
        Curve::new(label, fpr, tpr).with_score(auc),
        Curve::new(label, recall, precision)
            .with_score(ap)
            .with_baseline(p / y.len() as f64),
    )
}

fn reliability_series(label: &str, seed: u64, temperature: f64) -> Reliability {
    let (s, y) = scores(seed, 3000, 1.5);
    let bins = 10;
    let mut sum = vec![0.0; bins];
    let mut pos = vec![0.0; bins];
    let mut count = vec![0usize; bins];
    for (v, t) in s.iter().zip(&y) {
        let p = sigmoid((v - 0.75) * temperature);
        let b = ((p * bins as f64) as usize).min(bins - 1);
        sum[b] += p;
        pos[b] += f64::from(u8::from(*t));
        count[b] += 1;
    }
    let keep: Vec<usize> = (0..bins).filter(|b| count[*b] > 0).collect();
    Reliability {
        label: label.into(),
        mean_predicted: keep.iter().map(|&b| sum[b] / count[b] as f64).collect(),
        fraction_positive: keep.iter().map(|&b| pos[b] / count[b] as f64).collect(),
        counts: keep.iter().map(|&b| count[b]).collect(),
    }
}

fn regression(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut rng = Rng::new(7);
    let mut predicted = Vec::with_capacity(n);
    let mut actual = Vec::with_capacity(n);
    for _ in 0..n {
        let x = 50.0 + 20.0 * rng.normal();
        predicted.push(x);
        actual.push(x + (2.0 + 0.08 * x.abs()) * rng.normal());
    }
    (predicted, actual)
}

/// Every plot with representative data, with the texts each must contain.
fn all_plots() -> Vec<(&'static str, Plot, Vec<&'static str>)> {
    let mut rng = Rng::new(7);
    let drift_ref: Vec<f64> = (0..2000).map(|_| 40.0 + 12.0 * rng.normal()).collect();
    let drift_cur: Vec<f64> = (0..1500).map(|_| 46.0 + 14.0 * rng.normal()).collect();
    let (roc_a, pr_a) = curves("Gradient boosting", 1, 1.6);
    let (roc_b, pr_b) = curves("Logistic regression", 2, 1.0);
    let classes = ["setosa", "versicolor", "virginica"];
    let confusion = vec![
        vec![50.0, 0.0, 0.0],
        vec![0.0, 47.0, 3.0],
        vec![0.0, 4.0, 1246.0],
    ];
    let normalized: Vec<Vec<f64>> = confusion
        .iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            row.iter().map(|v| v / total).collect()
        })
        .collect();
    let sizes = [100.0, 325.0, 550.0, 775.0, 1000.0];
    let train = [0.99, 0.97, 0.955, 0.95, 0.948];
    let train_sd = [0.005, 0.006, 0.004, 0.004, 0.003];
    let valid = [0.82, 0.88, 0.905, 0.915, 0.92];
    let valid_sd = [0.04, 0.03, 0.02, 0.018, 0.015];
    let c = [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0];
    let c_train = [0.70, 0.80, 0.90, 0.95, 0.985, 0.999];
    let c_valid = [0.69, 0.79, 0.87, 0.89, 0.86, 0.80];
    let c_sd = [0.02; 6];
    let kernels: Vec<String> = ["linear", "poly", "rbf", "sigmoid"]
        .map(String::from)
        .to_vec();
    let k_train = [0.88, 0.93, 0.97, 0.71];
    let k_valid = [0.86, 0.87, 0.91, 0.70];
    let k_sd = [0.01, 0.02, 0.015, 0.04];
    let features: Vec<String> = (0..30)
        .map(|i| match i {
            0 => "petal_length".to_string(),
            1 => "a_rather_long_feature_name_from_one_hot_encoding=category_value".to_string(),
            i => format!("feature_{i:02}"),
        })
        .collect();
    let mut rng = Rng::new(3);
    let importances: Vec<f64> = (0..30)
        .map(|i| 0.3 / (1.0 + i as f64) + 0.01 * rng.normal())
        .collect();
    let importance_sd: Vec<f64> = (0..30).map(|i| 0.02 / (1.0 + 0.2 * i as f64)).collect();
    let (predicted, actual) = regression(12_000);
    let residual: Vec<f64> = actual.iter().zip(&predicted).map(|(a, p)| a - p).collect();
    let (small_p, small_a) = regression(300);
    let (s, y) = scores(5, 4000, 1.8);
    let by_class = vec![
        s.iter()
            .zip(&y)
            .filter(|(_, t)| !**t)
            .map(|(v, _)| sigmoid(*v - 0.9))
            .collect(),
        s.iter()
            .zip(&y)
            .filter(|(_, t)| **t)
            .map(|(v, _)| sigmoid(*v - 0.9))
            .collect(),
    ];
    let mut rng = Rng::new(11);
    let mut trials: Vec<f64> = (0..60)
        .map(|i| 0.93 - 0.08 * rng.uniform() * (1.0 - i as f64 / 90.0))
        .collect();
    trials[17] = f64::NAN;
    let many: Vec<String> = (0..12)
        .map(|i| {
            format!(
                "{} category {i}",
                ["short", "a much longer class name"][i % 2]
            )
        })
        .collect();
    let many_matrix: Vec<Vec<f64>> = (0..12)
        .map(|i| {
            (0..12)
                .map(|j| {
                    if i == j {
                        80.0 + 10.0 * i as f64
                    } else {
                        ((i * 7 + j * 3) % 9) as f64
                    }
                })
                .collect()
        })
        .collect();
    let signed = ["age", "income", "noise_1", "noise_2", "zip_code"];
    vec![
        (
            "confusion_matrix_many",
            plot::confusion_matrix(&many_matrix, &many, false).unwrap(),
            vec!["Confusion matrix", "short category 0", "Predicted label"],
        ),
        (
            "importance_signed",
            plot::importance(
                &signed,
                &[0.12, 0.08, 0.001, -0.004, -0.02],
                &[],
                None,
                "Decrease in R²",
            )
            .unwrap(),
            vec!["Feature importance", "zip_code", "Decrease in R²"],
        ),
        (
            "roc",
            plot::roc(&[roc_a.clone(), roc_b.clone()]).unwrap(),
            vec![
                "ROC curve",
                "False positive rate",
                "True positive rate",
                "Gradient boosting (AUC = ",
                "Chance (AUC = 0.500)",
            ],
        ),
        (
            "roc_single",
            plot::roc(&[roc_a]).unwrap(),
            vec!["ROC curve", "Gradient boosting (AUC = "],
        ),
        (
            "precision_recall",
            plot::precision_recall(&[pr_a, pr_b]).unwrap(),
            vec![
                "Precision–recall curve",
                "Recall",
                "Precision",
                "Logistic regression (AP = ",
                "No skill (AP = 0.333)",
            ],
        ),
        (
            "reliability",
            plot::reliability(&[
                reliability_series("Random forest", 4, 3.0),
                reliability_series("Naive Bayes", 4, 0.6),
            ])
            .unwrap(),
            vec![
                "Reliability diagram",
                "Mean predicted probability",
                "Fraction of positives",
                "Samples",
                "Perfectly calibrated",
                "Naive Bayes",
            ],
        ),
        (
            "confusion_matrix",
            plot::confusion_matrix(&confusion, &classes, false).unwrap(),
            vec![
                "Confusion matrix",
                "Predicted label",
                "True label",
                "versicolor",
                "1,246",
            ],
        ),
        (
            "confusion_matrix_normalized",
            plot::confusion_matrix(&normalized, &classes, true).unwrap(),
            vec!["Confusion matrix (normalized)", "0.94", "1.00"],
        ),
        (
            "learning_curve",
            plot::learning_curve(
                &sizes,
                Scores::new(&train, &train_sd),
                Scores::new(&valid, &valid_sd),
                "Accuracy",
            )
            .unwrap(),
            vec![
                "Learning curve",
                "Training examples",
                "Accuracy",
                "Training score",
                "Validation score",
            ],
        ),
        (
            "validation_curve_log",
            plot::validation_curve(
                "C",
                ParamValues::Log(&c),
                Scores::new(&c_train, &c_sd),
                Scores::new(&c_valid, &c_sd),
                "ROC AUC",
            )
            .unwrap(),
            vec![
                "Validation curve: C",
                "ROC AUC",
                "10⁻³",
                "100",
                "Validation score",
            ],
        ),
        (
            "validation_curve_categorical",
            plot::validation_curve(
                "kernel",
                ParamValues::Categorical(&kernels),
                Scores::new(&k_train, &k_sd),
                Scores::new(&k_valid, &k_sd),
                "F1 (macro)",
            )
            .unwrap(),
            vec![
                "Validation curve: kernel",
                "sigmoid",
                "F1 (macro)",
                "Training score",
            ],
        ),
        (
            "importance",
            plot::importance(
                &features,
                &importances,
                &importance_sd,
                Some(15),
                "Decrease in accuracy",
            )
            .unwrap(),
            vec![
                "Feature importance",
                "top 15 of 30 features",
                "petal_length",
                "Decrease in accuracy",
                "…",
            ],
        ),
        (
            "residuals",
            plot::residuals(&predicted, &residual).unwrap(),
            vec![
                "Residuals",
                "Predicted value",
                "Residual (actual − predicted)",
                "5,000 of 12,000 points shown",
            ],
        ),
        (
            "predicted_vs_actual",
            plot::predicted_vs_actual(&small_p, &small_a).unwrap(),
            vec![
                "Predicted vs actual",
                "Actual value",
                "Perfect prediction",
                "Samples",
            ],
        ),
        (
            "score_distributions",
            plot::score_distributions(&by_class, &["negative", "positive"]).unwrap(),
            vec![
                "Score distribution by class",
                "Predicted score",
                "Density",
                "positive (n = 1,334)",
            ],
        ),
        (
            "tuning_history",
            plot::tuning_history(&trials, true, "Accuracy").unwrap(),
            vec![
                "Tuning history",
                "Trial",
                "Accuracy",
                "Best so far",
                "1 failed trial not shown",
            ],
        ),
        (
            "distribution_overlay",
            plot::distribution_overlay("age", &drift_ref, &drift_cur).unwrap(),
            vec![
                "age: reference and current",
                "reference (n = 2,000)",
                "current (n = 1,500)",
                "Density",
            ],
        ),
        (
            "category_shares",
            plot::category_shares(
                "workclass",
                &[
                    "Private",
                    "Self-emp",
                    "Local-gov",
                    "State-gov",
                    "Never-worked",
                ],
                &[0.70, 0.11, 0.08, 0.06, 0.05],
                &[0.62, 0.15, 0.08, 0.10, 0.05],
                4,
            )
            .unwrap(),
            vec![
                "workclass: category shares",
                "4 largest of 5 categories",
                "Private",
                "reference",
                "current",
                "Share of rows",
            ],
        ),
        (
            "window_series",
            plot::window_series(
                "Drift share by day",
                &["12-01", "12-02", "12-03", "12-04", "12-05", "12-06"],
                &[0.05, 0.08, 0.07, 0.21, 0.42, 0.55],
                &[0.0, 0.02, 0.01, 0.12, 0.33, 0.46],
                &[0.1, 0.14, 0.13, 0.3, 0.51, 0.64],
                &[0.5],
                &[false, false, false, false, false, true],
                "Share of drifted columns",
            )
            .unwrap(),
            vec!["Drift share by day", "12-06", "Share of drifted columns"],
        ),
    ]
}

/// A minimal XML check: tags balance, attributes are quoted, text has no raw markup.
fn check_well_formed(svg: &str) {
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{}",
        &svg[..80]
    );
    let mut stack: Vec<String> = vec![];
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let text = &rest[..start];
        assert!(!text.contains('>'), "raw > in text: {text}");
        if let Some(amp) = text.find('&') {
            let entity = &text[amp..];
            assert!(
                ["&lt;", "&gt;", "&amp;", "&quot;"]
                    .iter()
                    .any(|e| entity.starts_with(e)),
                "raw & in text: {text}"
            );
        }
        let end = rest[start..].find('>').expect("unclosed tag") + start;
        let tag = &rest[start + 1..end];
        assert_eq!(
            tag.matches('"').count() % 2,
            0,
            "unbalanced quotes in <{tag}>"
        );
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
        } else if !tag.ends_with('/') {
            let name = tag.split_whitespace().next().unwrap().to_string();
            stack.push(name);
        }
        rest = &rest[end + 1..];
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(rest.trim(), "");
}

/// The text contents of an SVG, unescaped.
fn texts(svg: &str) -> Vec<String> {
    svg.split("<text ")
        .skip(1)
        .chain(svg.split("<title>").skip(1))
        .map(|t| {
            let t = t.split_once('>').map_or(t, |(_, b)| b);
            let t = t.split('<').next().unwrap();
            t.replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&quot;", "\"")
                .replace("&amp;", "&")
        })
        .collect()
}

#[test]
fn every_plot_is_well_formed_labelled_and_deterministic() {
    let first = all_plots();
    let second = all_plots();
    for ((name, plot, wanted), (_, again, _)) in first.iter().zip(&second) {
        let svg = plot.to_svg();
        check_well_formed(&svg);
        let found = texts(&svg);
        for w in wanted {
            assert!(
                found.iter().any(|t| t.contains(w)),
                "{name}: no text contains {w:?}; texts: {found:?}"
            );
        }
        assert_eq!(svg, again.to_svg(), "{name}: not deterministic");
        assert_eq!(svg, plot.to_svg(), "{name}: not deterministic");
        assert!(svg.len() < 300_000, "{name}: {} bytes", svg.len());
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{name}");
    }
}

#[test]
fn svg_stays_compact() {
    let plots = all_plots();
    let size = |n: &str| plots.iter().find(|p| p.0 == n).unwrap().1.to_svg().len();
    assert!(size("roc") < 40_000, "roc: {} bytes", size("roc"));
    assert!(size("confusion_matrix") < 20_000);
    assert!(
        size("residuals") < 250_000,
        "residuals: {}",
        size("residuals")
    );
    // A ROC curve of 100,000 thresholds is thinned to what a pixel can show.
    let n = 100_000;
    let x: Vec<f64> = (0..=n).map(|i| i as f64 / n as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| v.powf(0.3)).collect();
    let svg = plot::roc(&[Curve::new("big", x, y).with_score(0.77)])
        .unwrap()
        .to_svg();
    assert!(svg.len() < 40_000, "{} bytes", svg.len());
}

#[test]
fn png_has_the_plot_size_times_the_scale() {
    let plots = all_plots();
    let (_, plot, _) = &plots[0];
    let png = plot.to_png().unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&png[12..16], b"IHDR");
    let dimension = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    let (w, h) = plot.size();
    assert_eq!(
        (dimension(16), dimension(20)),
        (w * PNG_SCALE, h * PNG_SCALE)
    );
    assert!(png.ends_with(b"IEND\xaeB`\x82"));
    assert_eq!(png, plot.to_png().unwrap(), "PNG not deterministic");
    let dir = std::env::temp_dir().join(format!("smelt-plot-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    plot.write_png(dir.join("roc.png")).unwrap();
    plot.write_svg(dir.join("roc.svg")).unwrap();
    assert_eq!(std::fs::read(dir.join("roc.png")).unwrap(), png);
    std::fs::remove_dir_all(&dir).unwrap();
    let error = plot.write_png("/nonexistent-folder/x.png").unwrap_err();
    assert!(error.to_string().contains("cannot write"), "{error}");
}

fn assert_input_error(result: Result<Plot, EvalError>, needle: &str) {
    match result {
        Err(e) => assert!(
            e.to_string().contains(needle),
            "error {e:?} does not mention {needle:?}"
        ),
        Ok(plot) => panic!(
            "expected an error about {needle:?}, got a plot {:?}",
            plot.title()
        ),
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let nan = f64::NAN;
    // Curves.
    assert_input_error(plot::roc(&[]), "no curves");
    assert_input_error(
        plot::roc(&[Curve::new("a", vec![0.0], vec![0.0])]),
        "single point",
    );
    assert_input_error(plot::roc(&[Curve::new("a", vec![], vec![])]), "empty");
    assert_input_error(
        plot::roc(&[Curve::new("a", vec![0.0, nan], vec![0.0, 1.0])]),
        "non-finite",
    );
    assert_input_error(
        plot::roc(&[Curve::new("a", vec![0.0, 1.0], vec![0.0])]),
        "has 2 values",
    );
    assert_input_error(
        plot::roc(&[Curve::new("a", vec![0.0, 2.0], vec![0.0, 1.0])]),
        "outside [0, 1]",
    );
    assert_input_error(
        plot::precision_recall(&[
            Curve::new("a", vec![0.0, 1.0], vec![1.0, 0.5]).with_baseline(1.5)
        ]),
        "outside [0, 1]",
    );
    assert_input_error(plot::reliability(&[]), "no series");
    assert_input_error(
        plot::reliability(&[Reliability {
            label: "a".into(),
            mean_predicted: vec![0.1, 0.5],
            fraction_positive: vec![0.1],
            counts: vec![1, 2],
        }]),
        "fraction_positive",
    );
    // Matrix.
    assert_input_error(plot::confusion_matrix::<&str>(&[], &[], false), "empty");
    assert_input_error(
        plot::confusion_matrix(&[vec![1.0, 2.0], vec![3.0]], &["a", "b"], false),
        "a row",
    );
    assert_input_error(
        plot::confusion_matrix(&[vec![1.0, nan], vec![3.0, 4.0]], &["a", "b"], false),
        "non-finite",
    );
    assert_input_error(
        plot::confusion_matrix(&[vec![1.0]], &["a", "b"], false),
        "labels",
    );
    assert_input_error(
        plot::confusion_matrix(&[vec![-1.0]], &["a"], false),
        "negative",
    );
    // Lines.
    let s = Scores::new(&[0.5], &[]);
    assert_input_error(plot::learning_curve(&[10.0], s, s, "m"), "single point");
    assert_input_error(plot::learning_curve(&[], s, s, "m"), "empty");
    let two = Scores::new(&[0.5, 0.6], &[0.1, -0.1]);
    assert_input_error(plot::learning_curve(&[1.0, 2.0], two, two, "m"), "negative");
    let with_nan = [0.5, nan];
    let two = Scores::new(&with_nan, &[]);
    assert_input_error(
        plot::learning_curve(&[1.0, 2.0], two, two, "m"),
        "non-finite",
    );
    let ok = Scores::new(&[0.5, 0.6], &[]);
    assert_input_error(
        plot::validation_curve("C", ParamValues::Log(&[0.0, 1.0]), ok, ok, "m"),
        "log axis",
    );
    assert_input_error(
        plot::validation_curve("k", ParamValues::Categorical(&[]), ok, ok, "m"),
        "empty",
    );
    assert_input_error(plot::tuning_history(&[], true, "m"), "empty");
    assert_input_error(
        plot::tuning_history(&[nan, nan], true, "m"),
        "all 2 trials failed",
    );
    // Bars and scatter.
    assert_input_error(plot::importance::<&str>(&[], &[], &[], None, "x"), "empty");
    assert_input_error(
        plot::importance(&["a"], &[1.0], &[], Some(0), "x"),
        "`top` is 0",
    );
    assert_input_error(
        plot::importance(&["a", "b"], &[1.0], &[], None, "x"),
        "names",
    );
    assert_input_error(plot::residuals(&[], &[]), "empty");
    assert_input_error(plot::residuals(&[1.0, 2.0], &[1.0]), "has 2 values");
    assert_input_error(
        plot::predicted_vs_actual(&[1.0, f64::INFINITY], &[1.0, 2.0]),
        "non-finite",
    );
    assert_input_error(plot::score_distributions::<&str>(&[], &[]), "no classes");
    assert_input_error(plot::score_distributions(&[vec![]], &["a"]), "empty");
    assert_input_error(
        plot::score_distributions(&[vec![0.1]], &["a", "b"]),
        "labels",
    );
}

#[test]
fn single_points_and_flat_data_still_draw() {
    // One point, or all points equal, is a degenerate range, widened rather than divided by.
    for plot in [
        plot::residuals(&[1.0], &[0.0]).unwrap(),
        plot::predicted_vs_actual(&[3.0, 3.0], &[3.0, 3.0]).unwrap(),
        plot::tuning_history(&[0.5], false, "Log loss").unwrap(),
        plot::score_distributions(&[vec![0.5]], &["only"]).unwrap(),
        plot::importance(&["a"], &[0.0], &[], None, "x").unwrap(),
        plot::confusion_matrix(&[vec![0.0]], &["a"], false).unwrap(),
        plot::learning_curve(
            &[1.0, 2.0],
            Scores::new(&[0.5, 0.5], &[]),
            Scores::new(&[0.5, 0.5], &[]),
            "m",
        )
        .unwrap(),
    ] {
        let svg = plot.to_svg();
        check_well_formed(&svg);
        assert!(!svg.contains("NaN"), "{}", plot.title());
    }
}

#[test]
fn large_scatter_is_sampled_and_says_so() {
    let n = MAX_POINTS * 3 + 7;
    let x: Vec<f64> = (0..n).map(|i| i as f64).collect();
    let svg = plot::residuals(&x, &x).unwrap().to_svg();
    assert_eq!(svg.matches("<circle").count(), MAX_POINTS);
    assert!(svg.contains("5,000 of 15,007 points shown"));
    let svg = plot::residuals(&x[..100], &x[..100]).unwrap().to_svg();
    assert_eq!(svg.matches("<circle").count(), 100);
    assert!(!svg.contains("points shown"));
}

#[test]
#[ignore = "writes files for looking at; run with --ignored"]
fn gallery() {
    let dir = std::path::PathBuf::from(
        std::env::var("SMELT_PLOT_DIR").unwrap_or_else(|_| "/tmp/smelt-plots".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();
    let mut html = String::from(
        "<!doctype html><meta charset=\"utf-8\"><title>smelt plots</title>\
         <style>body{margin:16px;background:#f4f4f4;font-family:sans-serif}\
         figure{display:inline-block;margin:8px;background:#fff;box-shadow:0 1px 3px #0003}\
         figcaption{font-size:12px;color:#666;padding:2px 8px}</style>\n",
    );
    for (name, plot, _) in all_plots() {
        let svg = plot.to_svg();
        html.push_str(&format!(
            "<figure>{svg}<figcaption>{name}: {} bytes</figcaption></figure>\n",
            svg.len()
        ));
        plot.write_svg(dir.join(format!("{name}.svg"))).unwrap();
        plot.write_png(dir.join(format!("{name}.png"))).unwrap();
    }
    std::fs::write(dir.join("index.html"), html).unwrap();
}
