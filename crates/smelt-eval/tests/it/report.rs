//! Evaluation reports: the model report of a binary, a multiclass and a regression model —
//! sections, numbers, one SVG per plot, no network reference, escaped text, a JSON twin with
//! the same numbers — and the page as headless Chromium draws it (`chromium` must be
//! installed where `CI` is set; elsewhere the test is skipped without it). The pages and
//! screenshots land in `$SMELT_REPORT_DIR` (default: `smelt-report` in the temporary folder).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use smelt_core::{Dataset, Fit, Prediction, Predictor, Target};
use smelt_eval::importance::permutation_importance;
use smelt_eval::metrics::{self, registry::find};
use smelt_eval::report::{
    Block, Cell, ModelReportInput, Report, Section, Table, fmt_number, model_report,
};
use smelt_eval::slices::{SliceColumn, SliceOptions, SliceValues, confident_errors, slice_metrics};
use smelt_learn::linear::{LinearRegressionParams, LogisticRegressionParams};
use smelt_learn::naive_bayes::GaussianNBParams;
use smelt_testkit::Fixture;

/// Where the pages and screenshots go.
fn out_dir() -> PathBuf {
    let dir = std::env::var_os("SMELT_REPORT_DIR")
        .map_or_else(|| std::env::temp_dir().join("smelt-report"), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A model, its data and its prediction, renamed classes included.
struct Case {
    data: Dataset<f64>,
    target: Target,
    pred: Prediction,
    model: Box<dyn Predictor>,
}

fn rename(target: &mut Target, pred: &mut Prediction, names: &[&str]) {
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    if let Target::Classification { classes, .. } = target {
        *classes = names.clone();
    }
    if let Prediction::Classification { classes, .. } = pred {
        *classes = names;
    }
}

/// Gaussian naive Bayes on the breast cancer fixture: a good ranker, badly calibrated.
fn binary_case(names: &[&str]) -> Case {
    let f = Fixture::load(format!(
        "{}/tests/fixtures/calibration_cancer.json",
        env!("CARGO_MANIFEST_DIR")
    ));
    let data = f.dataset();
    let model = GaussianNBParams::default().fit(&data).unwrap();
    let mut pred = model.predict(&data).unwrap();
    let mut target = data.target().unwrap().clone();
    rename(&mut target, &mut pred, names);
    Case {
        data,
        target,
        pred,
        model: Box::new(model),
    }
}

/// Logistic regression on four overlapping blobs.
fn multiclass_case() -> Case {
    let data = smelt_testkit::classification_data(1200, 2, 4, 7);
    let model = LogisticRegressionParams::default().fit(&data).unwrap();
    let mut pred = model.predict(&data).unwrap();
    let mut target = data.target().unwrap().clone();
    rename(
        &mut target,
        &mut pred,
        &["bronze", "silver", "gold", "platinum"],
    );
    Case {
        data,
        target,
        pred,
        model: Box::new(model),
    }
}

/// A straight line fitted to a curved, noisier-at-the-top target.
fn regression_case() -> Case {
    let n = 1500;
    let mut rng = smelt_core::rng::Rng::new(3);
    let x: Vec<f64> = (0..3 * n).map(|_| rng.normal()).collect();
    let y: Vec<f64> = (0..n)
        .map(|i| {
            let (a, b, c) = (x[i], x[n + i], x[2 * n + i]);
            3.0 * a
                + 1.5 * b
                + 0.2 * c
                + 0.8 * a * a
                + (0.5 + 0.3 * (a + 2.0).max(0.0)) * rng.normal()
        })
        .collect();
    let features = ["rooms", "income", "age"]
        .iter()
        .map(|s| smelt_testkit::numeric(s))
        .collect();
    let data = Dataset::new(
        n,
        x,
        features,
        Some(("price".into(), Target::Regression { values: y })),
    )
    .unwrap();
    let model = LinearRegressionParams::default().fit(&data).unwrap();
    let pred = model.predict(&data).unwrap();
    let target = data.target().unwrap().clone();
    Case {
        data,
        target,
        pred,
        model: Box::new(model),
    }
}

/// The full report of a case: slices by two columns, errors, importance.
fn full_report(case: &Case, title: &str, model: &str, data: &str) -> Report {
    let n = case.data.n_rows();
    let sites = ["north", "south", "east"];
    let columns = vec![
        SliceColumn {
            name: case.data.features()[0].name.clone(),
            values: SliceValues::Numeric(case.data.column(0).to_vec()),
        },
        SliceColumn {
            name: "site".into(),
            values: SliceValues::Categorical(
                (0..n)
                    .map(|i| Some(sites[(i * 7 / 5) % 3].to_string()))
                    .collect(),
            ),
        },
    ];
    let scorers: Vec<_> = match case.target {
        Target::Classification { .. } => vec![find("accuracy").unwrap()],
        Target::Regression { .. } => vec![find("mae").unwrap(), find("r2").unwrap()],
    };
    let slices = slice_metrics(
        &case.target,
        &case.pred,
        &columns,
        &scorers,
        &SliceOptions {
            bootstrap: 100,
            ..SliceOptions::default()
        },
    )
    .unwrap();
    let errors = confident_errors(&case.target, &case.pred, 10).unwrap();
    let importance = permutation_importance(case.model.as_ref(), &case.data, 3, 0).unwrap();
    let mut input = ModelReportInput::new(title, &case.target, &case.pred);
    input.model = Some(model.into());
    input.data = Some(data.into());
    input.target_name = case.data.target_name().map(str::to_string);
    input.slices = Some(&slices);
    input.errors = Some(&errors);
    input.importance = Some(&importance);
    input.notes = vec!["Evaluated on the training rows: scores are optimistic.".into()];
    model_report(&input).unwrap()
}

/// Checks every page must pass; returns the HTML and the JSON twin as written.
fn check_page(report: &Report, name: &str) -> (String, Value) {
    let path = out_dir().join(format!("{name}.html"));
    let json_path = report.write(&path).unwrap();
    assert_eq!(json_path, path.with_extension("json"));
    let html = std::fs::read_to_string(&path).unwrap();
    assert_eq!(html, report.to_html().unwrap(), "written = rendered");
    assert_eq!(report.to_html().unwrap(), html, "deterministic");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.len() < 2_000_000, "{name}: {} bytes", html.len());
    // No network: the only URL is the SVG namespace.
    let local = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!local.contains("http://"), "{name} references http");
    assert!(!local.contains("https://"), "{name} references https");
    assert!(!local.contains("<link"), "{name} links a resource");
    assert!(!local.contains(" src="), "{name} loads a resource");
    // One <svg> per plot block.
    fn count_plots(blocks: &[Block]) -> usize {
        blocks
            .iter()
            .map(|b| match b {
                Block::Plot { .. } => 1,
                Block::Columns(inner) => count_plots(inner),
                _ => 0,
            })
            .sum()
    }
    let plots: usize = report.sections.iter().map(|s| count_plots(&s.blocks)).sum();
    assert_eq!(
        html.matches("<svg").count(),
        plots,
        "{name}: one svg per plot"
    );
    for section in &report.sections {
        assert!(
            html.contains(&format!("<h2>{}</h2>", section.title)),
            "{name}: section {}",
            section.title
        );
    }
    for sentence in &report.summary {
        assert!(
            html.contains(&escape(sentence)),
            "{name}: summary {sentence}"
        );
    }
    let json: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(json, report.to_json());
    (html, json)
}

/// Text as the page escapes it (minijinja's HTML escaping).
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#x27;")
        .replace('/', "&#x2f;")
}

/// The value of a metric in the JSON twin's Metrics table.
fn table_metric(json: &Value, label: &str) -> f64 {
    let metrics = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "metrics")
        .unwrap();
    let rows = metrics["blocks"][0]["rows"].as_array().unwrap();
    let row = rows.iter().find(|r| r["Metric"] == label).unwrap();
    row["Value"].as_f64().unwrap()
}

fn section_titles(report: &Report) -> Vec<&str> {
    report.sections.iter().map(|s| s.title.as_str()).collect()
}

#[test]
fn binary_report() {
    let case = binary_case(&["malignant", "benign"]);
    let report = full_report(
        &case,
        "Breast cancer: Gaussian naive Bayes",
        "gaussian_nb",
        "breast_cancer.csv (training rows)",
    );
    assert_eq!(
        section_titles(&report),
        [
            "Summary",
            "Metrics",
            "Confusion matrix",
            "ROC and precision–recall",
            "Calibration",
            "Score distributions",
            "Per-class scores",
            "Slices",
            "Most confident errors",
            "Feature importance",
            "Notes",
        ]
    );
    let (html, json) = check_page(&report, "binary");
    // 2 confusion matrices, ROC, PR, reliability, scores, importance.
    assert_eq!(html.matches("<svg").count(), 7);

    // Key numbers, computed independently, shown with three decimals and kept in JSON.
    let Target::Classification { codes, .. } = &case.target else {
        unreachable!()
    };
    let Prediction::Classification {
        labels,
        proba: Some(p),
        ..
    } = &case.pred
    else {
        unreachable!()
    };
    let p1: Vec<f64> = p.values.iter().skip(1).step_by(2).copied().collect();
    let auc = metrics::roc_auc(codes, &p1, None).unwrap();
    let acc = metrics::accuracy(codes, labels, None).unwrap();
    let ece = metrics::expected_calibration_error(codes, &p1, 10, None).unwrap();
    for v in [auc, acc, ece] {
        assert!(html.contains(&fmt_number(v)), "{}", fmt_number(v));
    }
    assert!(html.contains(&format!("ROC-AUC {}", fmt_number(auc))));
    assert_eq!(json["data"]["task"], "classification");
    assert_eq!(json["data"]["metrics"]["roc_auc"].as_f64(), Some(auc));
    assert_eq!(json["data"]["metrics"]["accuracy"].as_f64(), Some(acc));
    assert_eq!(json["data"]["metrics"]["ece"].as_f64(), Some(ece));
    assert_eq!(table_metric(&json, "ROC-AUC"), auc);
    assert_eq!(table_metric(&json, "Accuracy"), acc);
    // The plots' numbers are in the JSON twin.
    let text = json.to_string();
    for key in [
        "\"fpr\"",
        "\"tpr\"",
        "\"fraction_positive\"",
        "\"counts\"",
        "\"drops\"",
    ] {
        assert!(text.contains(key), "{key}");
    }
    // Naive Bayes is over-confident, and the summary says where.
    assert!(
        report.summary.iter().any(|s| s.contains("over-confident")),
        "{:?}",
        report.summary
    );
    assert!((2..=4).contains(&report.summary.len()));
}

#[test]
fn multiclass_report() {
    let case = multiclass_case();
    let report = full_report(
        &case,
        "Tiers: logistic regression",
        "logistic_regression",
        "tiers.parquet",
    );
    assert_eq!(
        section_titles(&report),
        [
            "Summary",
            "Metrics",
            "Confusion matrix",
            "ROC and precision–recall (one-vs-rest)",
            "Calibration",
            "Score distributions",
            "Per-class scores",
            "Slices",
            "Most confident errors",
            "Feature importance",
            "Notes",
        ]
    );
    let (html, json) = check_page(&report, "multiclass");
    assert_eq!(html.matches("<svg").count(), 7);
    let acc = json["data"]["metrics"]["accuracy"].as_f64().unwrap();
    let f1 = json["data"]["metrics"]["f1_macro"].as_f64().unwrap();
    assert_eq!(table_metric(&json, "Accuracy"), acc);
    assert!(html.contains(&fmt_number(acc)) && html.contains(&fmt_number(f1)));
    assert!(json["data"]["metrics"]["roc_auc_ovr"].is_number());
    assert!(json["data"]["metrics"]["top_label_ece"].is_number());
    // One ROC curve per class.
    let ranking = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "ranking")
        .unwrap();
    let roc = ranking["blocks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["type"] == "plot")
        .unwrap();
    assert_eq!(roc["data"]["curves"].as_array().unwrap().len(), 4);
    for class in ["bronze", "silver", "gold", "platinum"] {
        assert!(html.contains(class));
    }
    assert!(report.summary.iter().any(|s| s.contains("hardest class")));
}

#[test]
fn regression_report() {
    let case = regression_case();
    let report = full_report(
        &case,
        "House prices: linear regression",
        "linear_regression",
        "houses.csv",
    );
    assert_eq!(
        section_titles(&report),
        [
            "Summary",
            "Metrics",
            "Residuals",
            "Slices",
            "Most confident errors",
            "Feature importance",
            "Notes",
        ]
    );
    let (html, json) = check_page(&report, "regression");
    // Residuals, predicted vs actual, importance.
    assert_eq!(html.matches("<svg").count(), 3);
    let (Target::Regression { values: y }, Prediction::Regression { values: p }) =
        (&case.target, &case.pred)
    else {
        unreachable!()
    };
    let r2 = metrics::r2(y, p, None).unwrap();
    let rmse = metrics::rmse(y, p, None).unwrap();
    assert!(html.contains(&format!("R² {}", fmt_number(r2))));
    assert!(html.contains(&fmt_number(rmse)));
    assert_eq!(json["data"]["metrics"]["r2"].as_f64(), Some(r2));
    assert_eq!(table_metric(&json, "RMSE"), rmse);
    assert!(html.contains("Error quantiles"));
    assert_eq!(json["data"]["task"], "regression");
}

#[test]
fn text_is_escaped() {
    let case = binary_case(&["<b>", "a & \"b\""]);
    let mut input = ModelReportInput::new("<script>alert(1)</script>", &case.target, &case.pred);
    input.model = Some("<i>model</i>".into());
    input.notes = vec!["<img src=x onerror=alert(1)>".into()];
    let report = model_report(&input).unwrap();
    let html = report.to_html().unwrap();
    assert!(!html.contains("<b>"), "a class label became a tag");
    assert!(!html.contains("<i>model"));
    assert!(!html.contains("<script>alert"));
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;b&gt;"));
    assert!(html.contains(&escape("<script>alert(1)</script>")));
    // The JSON twin holds the text as is.
    let json = report.to_json();
    assert_eq!(json["title"], "<script>alert(1)</script>");
}

#[test]
fn degenerate_plots_become_notes() {
    // Every row of one class: no ROC curve, no calibration error — but a report.
    let target = Target::Classification {
        codes: vec![1; 40],
        classes: vec!["no".into(), "yes".into()],
    };
    let values: Vec<f64> = (0..40)
        .flat_map(|i| {
            let p = f64::from(i) / 40.0;
            [1.0 - p, p]
        })
        .collect();
    let pred = Prediction::from_proba(
        smelt_core::Proba {
            n_classes: 2,
            values,
        },
        vec!["no".into(), "yes".into()],
    );
    let report = model_report(&ModelReportInput::new("One class", &target, &pred)).unwrap();
    let html = report.to_html().unwrap();
    assert!(html.contains("No ROC curve for"), "a note says why");
    assert!(html.contains("Confusion matrix"));

    // A model without probabilities: no ranking or calibration sections, a note.
    let pred = Prediction::Classification {
        labels: vec![1; 40],
        classes: vec!["no".into(), "yes".into()],
        proba: None,
    };
    let report = model_report(&ModelReportInput::new("Labels", &target, &pred)).unwrap();
    assert!(!section_titles(&report).contains(&"Calibration"));
    assert!(report.to_html().unwrap().contains("no class probabilities"));

    // Mismatched inputs are errors, not reports.
    let short = Prediction::Regression { values: vec![1.0] };
    assert!(model_report(&ModelReportInput::new("x", &target, &short)).is_err());
}

#[test]
fn many_classes_are_capped() {
    let data = smelt_testkit::classification_data(1200, 2, 12, 1);
    let model = GaussianNBParams::default().fit(&data).unwrap();
    let pred = model.predict(&data).unwrap();
    let report = model_report(&ModelReportInput::new(
        "Twelve",
        data.target().unwrap(),
        &pred,
    ))
    .unwrap();
    let json = report.to_json();
    let ranking = json["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "ranking")
        .unwrap();
    assert_eq!(
        ranking["blocks"][1]["data"]["curves"]
            .as_array()
            .unwrap()
            .len(),
        8
    );
    let html = report.to_html().unwrap();
    assert!(html.contains("Curves are drawn for the 8 largest of 12 classes."));
    assert_eq!(html.matches("<svg").count(), 6);
}

#[test]
fn generic_report_round_trips() {
    let mut report = Report::new("Candidates");
    report.summary.push("Rung 3 wins.".into());
    let mut t = Table::new(["Rung", "Score"]);
    for (i, s) in [0.8, 0.9, 0.85, 0.7].iter().enumerate() {
        t.push_row(vec![
            Cell::count(i + 1),
            Cell::number(*s).with_interval(s - 0.02, s + 0.02),
        ]);
    }
    t.highlighted.push(1);
    t.flagged.push(3);
    report
        .sections
        .push(Section::new("Results", vec![Block::Table(t)]));
    report.sections.push(Section::new(
        "Results",
        vec![Block::Paragraph("again".into())],
    ));
    let html = report.to_html().unwrap();
    assert!(html.contains(r#"<tr class="highlight">"#));
    assert!(html.contains(r#"<tr class="flag">"#));
    assert!(html.contains(r#"id="results-2""#), "section ids are unique");
    assert!(html.contains(r#"data-sort="0.9""#));
    let json = report.to_json();
    let row = &json["sections"][0]["blocks"][0]["rows"][1];
    assert_eq!(row["Score"]["value"], 0.9);
    assert_eq!(row["Rung"], 2.0);
}

/// Headless Chromium draws the pages: a screenshot of each, not blank, not one colour.
#[test]
fn chromium_renders_the_pages() {
    let Some(chromium) = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
    else {
        assert!(
            std::env::var_os("CI").is_none(),
            "chromium is not installed (CI must install it)"
        );
        eprintln!("skipped: chromium is not installed");
        return;
    };
    let dir = out_dir();
    let cases = [
        (
            "binary",
            full_report(
                &binary_case(&["malignant", "benign"]),
                "Breast cancer: Gaussian naive Bayes",
                "gaussian_nb",
                "breast_cancer.csv (training rows)",
            ),
        ),
        (
            "multiclass",
            full_report(
                &multiclass_case(),
                "Tiers: logistic regression",
                "logistic_regression",
                "tiers.parquet",
            ),
        ),
        (
            "regression",
            full_report(
                &regression_case(),
                "House prices: linear regression",
                "linear_regression",
                "houses.csv",
            ),
        ),
    ];
    for (name, report) in &cases {
        let html = dir.join(format!("{name}.html"));
        report.write(&html).unwrap();
        let png = dir.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        let height = std::env::var("SMELT_REPORT_HEIGHT").unwrap_or_else(|_| "4000".into());
        let out = Command::new(chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                &format!("--window-size=1280,{height}"),
                &format!("--screenshot={}", png.display()),
            ])
            .arg(format!("file://{}", html.display()))
            .output()
            .unwrap();
        assert!(
            png.exists(),
            "{name}: no screenshot; chromium said {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let (w, h, pixels) = decode_png(&png);
        assert_eq!(w, 1280, "{name}");
        let background = pixels[0];
        let other = pixels.iter().filter(|p| **p != background).count();
        let mut colours = pixels.clone();
        colours.sort_unstable();
        colours.dedup();
        assert!(colours.len() > 100, "{name}: {} colours", colours.len());
        assert!(
            other * 10 > pixels.len(),
            "{name}: mostly blank ({other} of {} pixels differ from the background)",
            pixels.len()
        );
        eprintln!(
            "{name}: {w}×{h}, {} colours -> {}",
            colours.len(),
            png.display()
        );
    }
}

/// Decodes an 8-bit RGB or RGBA PNG into (width, height, one u32 per pixel).
fn decode_png(path: &Path) -> (usize, usize, Vec<u32>) {
    let bytes = std::fs::read(path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let (mut pos, mut idat) = (8, Vec::new());
    let (mut width, mut height, mut channels) = (0, 0, 0);
    while pos + 8 <= bytes.len() {
        let len = u32::from_be_bytes(bytes[pos..pos + 4].try_into().unwrap()) as usize;
        let kind = &bytes[pos + 4..pos + 8];
        let body = &bytes[pos + 8..pos + 8 + len];
        match kind {
            b"IHDR" => {
                width = u32::from_be_bytes(body[0..4].try_into().unwrap()) as usize;
                height = u32::from_be_bytes(body[4..8].try_into().unwrap()) as usize;
                assert_eq!(body[8], 8, "bit depth");
                assert_eq!(body[12], 0, "interlaced");
                channels = match body[9] {
                    2 => 3,
                    6 => 4,
                    t => panic!("colour type {t}"),
                };
            }
            b"IDAT" => idat.extend_from_slice(body),
            b"IEND" => break,
            _ => {}
        }
        pos += 12 + len;
    }
    let raw = fdeflate::decompress_to_vec(&idat).unwrap();
    let stride = width * channels;
    assert_eq!(raw.len(), height * (stride + 1));
    let mut out = vec![0u8; height * stride];
    for y in 0..height {
        let filter = raw[y * (stride + 1)];
        let line = &raw[y * (stride + 1) + 1..(y + 1) * (stride + 1)];
        for x in 0..stride {
            let a = if x >= channels {
                out[y * stride + x - channels]
            } else {
                0
            };
            let b = if y > 0 { out[(y - 1) * stride + x] } else { 0 };
            let c = if x >= channels && y > 0 {
                out[(y - 1) * stride + x - channels]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => {
                    let p = i16::from(a) + i16::from(b) - i16::from(c);
                    let (pa, pb, pc) = (
                        (p - i16::from(a)).abs(),
                        (p - i16::from(b)).abs(),
                        (p - i16::from(c)).abs(),
                    );
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("filter {f}"),
            };
            out[y * stride + x] = line[x].wrapping_add(predicted);
        }
    }
    let pixels = out
        .chunks_exact(channels)
        .map(|p| u32::from_be_bytes([p[0], p[1], p[2], 0]))
        .collect();
    (width, height, pixels)
}
