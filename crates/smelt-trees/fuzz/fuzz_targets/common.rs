//! What both targets do with a model that parsed: predict a few rows, one at a time and as a
//! batch, and check the two agree. Neither may panic, index out of bounds or loop forever.

use smelt_core::{Dataset, Feature, FeatureKind, Predictor};
use smelt_trees::ensemble::TreeEnsemble;

/// Rows probing every kind of split: missing, zero, ±1, huge, negative and small codes.
const PROBES: [f64; 8] = [f64::NAN, 0.0, 1.0, -1.0, 3.0, 1e30, -1e-36, 2.5];

pub fn exercise(m: &TreeEnsemble) {
    let p = m.input_features().len();
    // Huge inputs are valid but slow to probe; their parsing was the interesting part.
    if p > 4096 || m.nodes().feature.len() > 1 << 20 {
        return;
    }
    let k = m.n_groups();
    let mut out = vec![0.0; k];
    let mut batch = Vec::with_capacity(PROBES.len() * p);
    for (r, &v) in PROBES.iter().enumerate() {
        let row: Vec<f64> = (0..p)
            .map(|j| {
                if (j + r) % 3 == 0 {
                    v
                } else {
                    PROBES[(j + r) % 8]
                }
            })
            .collect();
        m.predict_row_margins(&row, &mut out)
            .expect("a row of the right length");
        batch.push((row, out.clone()));
    }
    assert!(m.predict_row_margins(&vec![0.0; p + 1], &mut out).is_err());
    // The same rows as a dataset (categorical features take the values as codes; a code
    // beyond the categories is an unknown category, so keep them in range there).
    let n = PROBES.len();
    let mut values = vec![0.0; n * p];
    for (i, (row, _)) in batch.iter().enumerate() {
        for j in 0..p {
            values[j * n + i] = row[j];
        }
    }
    let features: Vec<Feature> = m.input_features().to_vec();
    let mut codes_ok = true;
    for (j, f) in features.iter().enumerate() {
        if let FeatureKind::Categorical { categories } = &f.kind {
            for v in &mut values[j * n..(j + 1) * n] {
                if !v.is_nan() {
                    *v = (v.abs().floor() % categories.len().max(1) as f64).max(0.0);
                }
            }
            codes_ok &= !categories.is_empty();
        }
    }
    if !codes_ok {
        return;
    }
    let Ok(data) = Dataset::new(n, values, features, None) else {
        return;
    };
    let margins = m
        .raw_margins(&data)
        .expect("rows in the model's own layout");
    assert_eq!(margins.len(), n * k);
    let _ = m.predict(&data).expect("predict");
}
