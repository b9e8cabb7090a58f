//! The image classifier: the estimator suite, digits in a smoke-sized run, both
//! architectures, save/load, and clear errors for tables that are not images.

use std::path::Path;

use smelt_core::{Dataset, Feature, Fit, Prediction, Predictor, Target};
use smelt_deep::cnn::{Architecture, CNNClassifierParams};
use smelt_testkit::{CheckEstimator, numeric};

/// `data/digits.csv`: 1,797 8×8 images (label first, then 64 pixels).
pub(crate) fn digits() -> Dataset<f64> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/digits.csv");
    let mut r = csv::Reader::from_path(&path).expect("digits.csv");
    let mut labels = Vec::new();
    let mut pixels: Vec<Vec<f64>> = vec![Vec::new(); 64];
    for rec in r.records() {
        let rec = rec.expect("record");
        labels.push(rec[0].parse::<u32>().expect("label"));
        for j in 0..64 {
            pixels[j].push(rec[j + 1].parse::<f64>().expect("pixel"));
        }
    }
    let n = labels.len();
    let features: Vec<Feature> = (0..64).map(|j| numeric(&format!("pixel{j}"))).collect();
    let values: Vec<f64> = pixels.into_iter().flatten().collect();
    let classes: Vec<String> = (0..10).map(|c| c.to_string()).collect();
    Dataset::new(
        n,
        values,
        features,
        Some((
            "label".to_string(),
            Target::Classification {
                codes: labels,
                classes,
            },
        )),
    )
    .expect("dataset")
}

pub(crate) fn split(d: &Dataset<f64>, test_every: usize) -> (Dataset<f64>, Dataset<f64>) {
    let (test, train): (Vec<usize>, Vec<usize>) =
        (0..d.n_rows()).partition(|i| i % test_every == 0);
    (
        d.select_rows(&train).expect("train"),
        d.select_rows(&test).expect("test"),
    )
}

fn accuracy(m: &dyn Predictor, d: &Dataset<f64>) -> f64 {
    let Prediction::Classification { labels, .. } = m.predict(d).expect("predict") else {
        panic!()
    };
    let Some(Target::Classification { codes, .. }) = d.target() else {
        panic!()
    };
    labels.iter().zip(codes).filter(|(a, b)| a == b).count() as f64 / codes.len() as f64
}

#[test]
fn the_classifier_passes_the_estimator_suite() {
    let reg = smelt_deep::registry();
    let (train, _) = split(&digits(), 10);
    let small = || {
        CNNClassifierParams::default()
            .channels(vec![4])
            .dense_units(8)
            .epochs(2)
    };
    CheckEstimator::new(&small(), &reg)
        .data(
            train
                .select_rows(&(0..120).collect::<Vec<_>>())
                .expect("rows"),
        )
        .invalid(small().channels(vec![]), "channels")
        .invalid(small().image_shape(vec![1, 8]), "image_shape")
        .run();
}

#[test]
fn digits_reach_90_percent_in_a_smoke_run() {
    let (train, test) = split(&digits(), 5);
    // The smoke bar: ≥ 90 % in a run sized for about a minute on 2 cores (sized by the
    // epochs, not asserted: timings belong in benchmarks); the full run is in BENCHMARKS.md.
    for (arch, epochs, bar) in [(Architecture::Cnn, 6, 0.9), (Architecture::Resnet, 6, 0.75)] {
        let model = CNNClassifierParams::default()
            .architecture(arch)
            .channels(vec![16, 32])
            .epochs(epochs)
            .fit(&train)
            .expect("fit");
        let acc = accuracy(&model, &test);
        assert!(acc >= bar, "{arch:?}: test accuracy {acc}");
        // Saved and loaded, it predicts the same.
        let dir = tempfile::tempdir().expect("tmp");
        smelt_core::artifact::save(&model, dir.path(), serde_json::Value::Null).expect("save");
        let loaded = smelt_core::artifact::load(dir.path(), &smelt_deep::registry()).expect("load");
        assert_eq!(
            model.predict(&test).expect("a"),
            loaded.model.predict(&test).expect("b")
        );
    }
}

#[test]
fn tables_that_are_not_images_are_named() {
    let d = digits()
        .select_rows(&(0..50).collect::<Vec<_>>())
        .expect("rows");
    // 64 pixels but the wrong shape given.
    let err = CNNClassifierParams::default()
        .image_shape(vec![1, 4, 4])
        .epochs(1)
        .fit(&d)
        .expect_err("shape");
    assert!(err.to_string().contains("need 16 pixel columns"), "{err}");
    // 10 columns: no square image, read as one row of 10 pixels.
    let small = smelt_testkit::classification_data(30, 10, 2, 1);
    let m = CNNClassifierParams::default()
        .epochs(1)
        .fit(&small)
        .expect("a row of pixels");
    assert_eq!(m.image_shape(), [1, 1, 10]);
    // A NaN pixel is named.
    let mut nan = d.clone();
    nan.rewrite_values(|v, n| v[3 * n + 7] = f64::NAN);
    let err = CNNClassifierParams::default()
        .epochs(1)
        .fit(&nan)
        .expect_err("nan");
    assert!(err.to_string().contains("pixel3"), "{err}");
}
