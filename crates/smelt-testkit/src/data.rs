//! Synthetic, seeded data: features ([`numeric`], [`categorical`]), one generator per task
//! ([`regression_data`], [`classification_data`], [`clustering_data`]), non-negative counts
//! ([`count_data`]), a categorical column and missing values on top of any of them
//! ([`with_category_and_missing`]), and the derived datasets the suites predict on
//! (columns reordered, dropped, poked with a non-finite value).

use smelt_core::rng::SplitMix64;
use smelt_core::{Dataset, Feature, FeatureKind, LogicalType, Target};

/// A numeric feature called `name`.
pub fn numeric(name: &str) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

/// A categorical feature called `name` with these (sorted) categories.
pub fn categorical(name: &str, categories: &[String]) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Categorical,
        kind: FeatureKind::Categorical {
            categories: categories.to_vec(),
        },
    }
}

/// `n × p` standard-normal features `x0..`, target `y = Σ (j+1)·x_j + 0.1·noise`.
pub fn regression_data(n: usize, p: usize, seed: u64) -> Dataset<f64> {
    let mut rng = SplitMix64::new(seed);
    let values: Vec<f64> = (0..n * p).map(|_| rng.normal()).collect();
    let y = (0..n)
        .map(|i| {
            (0..p)
                .map(|j| (j + 1) as f64 * values[j * n + i])
                .sum::<f64>()
                + 0.1 * rng.normal()
        })
        .collect();
    let features = (0..p).map(|j| numeric(&format!("x{j}"))).collect();
    Dataset::new(
        n,
        values,
        features,
        Some(("y".into(), Target::Regression { values: y })),
    )
    .expect("consistent shapes (test invariant)")
}

/// `n × p` features with `k` Gaussian blobs (class `c` centred at `2c` on every axis, unit
/// noise); classes named `c0..`.
pub fn classification_data(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    let mut rng = SplitMix64::new(seed);
    let codes: Vec<u32> = (0..n).map(|i| (i % k) as u32).collect();
    let mut values = vec![0.0; n * p];
    for j in 0..p {
        for i in 0..n {
            values[j * n + i] = 2.0 * codes[i] as f64 + rng.normal();
        }
    }
    let features = (0..p).map(|j| numeric(&format!("x{j}"))).collect();
    let classes = (0..k).map(|c| format!("c{c}")).collect();
    Dataset::new(
        n,
        values,
        features,
        Some(("label".into(), Target::Classification { codes, classes })),
    )
    .expect("consistent shapes (test invariant)")
}

/// The blobs of [`classification_data`] without the target: data for clustering.
pub fn clustering_data(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    without_target(&classification_data(n, p, k, seed))
}

/// The blobs of [`classification_data`] as non-negative integer counts (`round(|x|)`), for
/// estimators of counts such as multinomial naive Bayes — and valid input for every classifier.
pub fn count_data(n: usize, p: usize, k: usize, seed: u64) -> Dataset<f64> {
    let d = classification_data(n, p, k, seed);
    let values = d.values().iter().map(|v| v.abs().round()).collect();
    Dataset::new(n, values, d.features().to_vec(), d.named_target())
        .expect("consistent shapes (test invariant)")
}

/// `data` without its target (features only).
pub fn without_target(data: &Dataset<f64>) -> Dataset<f64> {
    Dataset::new(
        data.n_rows(),
        data.values().to_vec(),
        data.features().to_vec(),
        None,
    )
    .expect("consistent shapes (test invariant)")
}

/// `data` plus a categorical feature `cat` (categories `a`, `b`, `c`), with about a fraction
/// `missing` of the cells of every column set missing (NaN) — what a real table looks like to
/// `smelt train`. Rows whose cells are all missing are avoided: row `i` keeps column `i mod p`.
pub fn with_category_and_missing(data: &Dataset<f64>, missing: f64, seed: u64) -> Dataset<f64> {
    let n = data.n_rows();
    let mut rng = SplitMix64::new(seed);
    let mut cols = columns(data);
    let labels: Vec<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    let codes = (0..n).map(|_| rng.below(labels.len()) as f64).collect();
    cols.push((categorical("cat", &labels), codes));
    let p = cols.len();
    for (j, (_, values)) in cols.iter_mut().enumerate() {
        for (i, v) in values.iter_mut().enumerate() {
            if i % p != j && rng.uniform() < missing {
                *v = f64::NAN;
            }
        }
    }
    rebuild(data, cols)
}

/// A dataset with `data`'s rows and target and these columns.
pub(crate) fn rebuild(data: &Dataset<f64>, cols: Vec<(Feature, Vec<f64>)>) -> Dataset<f64> {
    let n = data.n_rows();
    let (features, values): (Vec<_>, Vec<_>) = cols.into_iter().unzip();
    let values: Vec<f64> = values.into_iter().flatten().collect();
    Dataset::new(n, values, features, data.named_target())
        .expect("consistent shapes (test invariant)")
        .with_texts_of(data)
}

/// `data` plus a free-text column `note` for text models: a few words drawn for the row's
/// class (regression: for its value's half) among filler words, so the text predicts the
/// target without giving it away.
pub fn with_text(data: &Dataset<f64>, seed: u64) -> Dataset<f64> {
    let n = data.n_rows();
    let mut rng = SplitMix64::new(seed);
    let group: Vec<usize> = match data.target() {
        Some(Target::Classification { codes, .. }) => codes.iter().map(|&c| c as usize).collect(),
        Some(Target::Regression { values }) => {
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let median = sorted.get(n / 2).copied().unwrap_or(0.0);
            values.iter().map(|&v| usize::from(v > median)).collect()
        }
        None => (0..n).map(|i| i % 3).collect(),
    };
    let words = [
        ["red", "apple", "sunny"],
        ["blue", "river", "rainy"],
        ["green", "forest", "windy"],
        ["grey", "stone", "foggy"],
    ];
    let filler = ["the", "a", "day", "with", "some", "very"];
    let texts = group
        .iter()
        .map(|&g| {
            let own = &words[g % words.len()];
            let mut t: Vec<&str> = (0..3).map(|_| filler[rng.below(filler.len())]).collect();
            t.push(own[rng.below(own.len())]);
            t.push(own[rng.below(own.len())]);
            Some(t.join(" "))
        })
        .collect();
    data.clone()
        .with_texts(vec![smelt_core::TextColumn::new("note", texts)])
        .expect("a new text column (test invariant)")
}

/// Every feature of `data` with its values.
pub(crate) fn columns(data: &Dataset<f64>) -> Vec<(Feature, Vec<f64>)> {
    data.features()
        .iter()
        .enumerate()
        .map(|(j, f)| (f.clone(), data.column(j).to_vec()))
        .collect()
}

/// The columns in reverse order, with an extra column in the middle.
pub(crate) fn reorder_with_extra(data: &Dataset<f64>) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.reverse();
    cols.insert(
        cols.len() / 2,
        (numeric("zz_extra_column"), vec![42.0; data.n_rows()]),
    );
    rebuild(data, cols)
}

/// Without the input named `name`: a feature, or a free-text column.
pub(crate) fn drop_input(data: &Dataset<f64>, name: &str) -> Dataset<f64> {
    match data.feature_index(name) {
        Some(j) => drop_feature(data, j),
        None => {
            let kept = data
                .texts()
                .iter()
                .filter(|t| t.name != name)
                .cloned()
                .collect();
            data.clone()
                .with_texts(kept)
                .expect("fewer text columns (test invariant)")
        }
    }
}

/// Without feature `j`.
pub(crate) fn drop_feature(data: &Dataset<f64>, j: usize) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.remove(j);
    rebuild(data, cols)
}

/// With an extra constant column.
pub(crate) fn add_constant(data: &Dataset<f64>) -> Dataset<f64> {
    let mut cols = columns(data);
    cols.push((numeric("zz_constant"), vec![3.0; data.n_rows()]));
    rebuild(data, cols)
}

/// With cell `(i, j)` set to `v`.
pub(crate) fn poke(data: &Dataset<f64>, i: usize, j: usize, v: f64) -> Dataset<f64> {
    let mut cols = columns(data);
    cols[j].1[i] = v;
    rebuild(data, cols)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_data_is_seeded() {
        let a = regression_data(10, 2, 1);
        let b = regression_data(10, 2, 1);
        assert_eq!(a.values(), b.values());
        let c = classification_data(9, 2, 3, 1);
        assert_eq!(c.n_rows(), 9);
    }

    #[test]
    fn derived_data() {
        let c = count_data(30, 3, 3, 2);
        assert!(c.values().iter().all(|v| *v >= 0.0 && v.fract() == 0.0));
        assert!(c.target().is_some());
        assert!(clustering_data(30, 3, 3, 2).target().is_none());
        let m = with_category_and_missing(&regression_data(40, 3, 3), 0.2, 4);
        assert_eq!(m.n_features(), 4);
        assert!(matches!(
            m.features()[3].kind,
            FeatureKind::Categorical { .. }
        ));
        let missing = m.missing_counts();
        assert!(missing.iter().all(|&k| k > 0 && k < 40), "{missing:?}");
        assert!((0..40).all(|i| m.row(i).iter().any(|v| !v.is_nan())));
        assert_eq!(m.target(), regression_data(40, 3, 3).target());
    }
}
