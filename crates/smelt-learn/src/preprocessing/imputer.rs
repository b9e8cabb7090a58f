//! `SimpleImputer`: replaces missing values (NaN) per feature with the mean, median, most
//! frequent value or a constant learned at fit time.
//!
//! Categorical features are imputed on their codes (`most_frequent` or `constant`, the constant
//! being a category label); `mean`/`median` on a categorical feature is an error, as in
//! scikit-learn for strings. A feature with no observed value at all is imputed with
//! `fill_value` (or 0), not dropped as scikit-learn does, so the output keeps the input
//! columns and serving stays shape-stable.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, ParamError,
    Registry, Result, Transform, UnknownCategory,
};

use super::{fit_then_transform, map_columns, map_columns_owned, reject_infinite};
use smelt_core::artifact::{load_common, save_common};

/// How [`SimpleImputer`] fills a missing value.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImputeStrategy {
    /// Feature mean (numeric features).
    #[default]
    Mean,
    /// Feature median (numeric features).
    Median,
    /// Most frequent value; the smallest on ties (scikit-learn's rule).
    MostFrequent,
    /// `fill_value`.
    Constant,
}

smelt_core::params! {
    /// Parameters of [`SimpleImputer`].
    pub struct SimpleImputerParams("SimpleImputer") {
        /// Strategy (default `mean`).
        strategy: ImputeStrategy = ImputeStrategy::Mean;
        /// Value for `constant` on numeric features (default 0).
        fill_value: Option<f64> = None,
            range: check(
                "a finite float",
                |v| v.is_none_or(f64::is_finite),
                |v| v.map(|x| x.to_string()).unwrap_or_default()
            ),
            setter: some(f64);
        /// Label for `constant` on categorical features (default `"missing_value"`).
        fill_category: Option<String> = None, setter: none;
    }
}

/// A fitted imputer.
#[derive(Clone, Debug, PartialEq)]
pub struct SimpleImputer {
    params: SimpleImputerParams,
    /// Input features; a categorical one filled with a new constant label has it appended.
    input: Vec<Feature>,
    /// Fill value per feature (a code for categorical features).
    statistics: Vec<f64>,
}

impl SimpleImputer {
    /// Kind in model files.
    pub const KIND: &'static str = "simple_imputer";

    /// The fill value of each feature (category code for categorical features).
    pub fn statistics(&self) -> &[f64] {
        &self.statistics
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, SimpleImputerParams) = load_common(r)?;
        let statistics = r.vector("statistics", input.len())?;
        Ok(Box::new(SimpleImputer {
            params,
            input,
            statistics,
        }))
    }
}

/// The median by selection (linear time, no full sort: the imputer's fit was a quarter of a
/// cross-validation's time in `bench/eval.sh` with a sort). The same value a sort gives.
fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let n = v.len();
    let (left, &mut upper, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        upper
    } else {
        // The lower middle value is the largest of the left part.
        let lower = left.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lower + upper) / 2.0
    }
}

fn most_frequent(col: &[f64]) -> f64 {
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for v in col.iter().filter(|v| !v.is_nan()) {
        *counts.entry(v.to_bits()).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(b, c)| (f64::from_bits(b), c))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.total_cmp(&a.0)))
        .map_or(f64::NAN, |(v, _)| v)
}

impl Fit for SimpleImputerParams {
    type Model = SimpleImputer;

    fn name(&self) -> &'static str {
        "SimpleImputer"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, _w: Option<&[f64]>) -> Result<SimpleImputer> {
        self.validate()?;
        reject_infinite("SimpleImputer", data)?;
        if data.n_rows() == 0 {
            return Err(CoreError::TooFew {
                estimator: "SimpleImputer",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let mut input = data.features().to_vec();
        let mut statistics = Vec::with_capacity(input.len());
        for (j, f) in input.iter_mut().enumerate() {
            let col = data.column(j);
            let observed = || col.iter().copied().filter(|v| !v.is_nan());
            let stat = match (&mut f.kind, self.strategy) {
                (
                    FeatureKind::Categorical { .. },
                    ImputeStrategy::Mean | ImputeStrategy::Median,
                ) => {
                    return Err(CoreError::NotNumeric {
                        estimator: "SimpleImputer",
                        feature: f.name.clone(),
                    });
                }
                (FeatureKind::Categorical { categories }, ImputeStrategy::Constant) => {
                    let label = self
                        .fill_category
                        .clone()
                        .unwrap_or_else(|| "missing_value".into());
                    match categories.iter().position(|c| *c == label) {
                        Some(k) => k as f64,
                        None => {
                            categories.push(label);
                            (categories.len() - 1) as f64
                        }
                    }
                }
                (_, ImputeStrategy::Mean) => {
                    let (s, n) = observed().fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                    if n == 0 { f64::NAN } else { s / n as f64 }
                }
                (_, ImputeStrategy::Median) => median(observed().collect()),
                (_, ImputeStrategy::MostFrequent) => most_frequent(col),
                (FeatureKind::Numeric, ImputeStrategy::Constant) => self.fill_value.unwrap_or(0.0),
            };
            let stat = if stat.is_nan() {
                match &f.kind {
                    FeatureKind::Categorical { .. } => 0.0,
                    FeatureKind::Numeric => self.fill_value.unwrap_or(0.0),
                }
            } else {
                stat
            };
            statistics.push(stat);
        }
        Ok(SimpleImputer {
            params: self.clone(),
            input,
            statistics,
        })
    }
}

fit_then_transform!(SimpleImputerParams);

impl SimpleImputer {
    /// What column `j`'s values become: missing ones its statistic.
    fn column(&self, j: usize) -> impl Fn(f64) -> f64 + use<> {
        let fill = self.statistics[j];
        move |v| if v.is_nan() { fill } else { v }
    }
}

impl Transform for SimpleImputer {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        self.input.clone()
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        // Unseen categories pass through (appended codes): the encoder after us decides.
        let d = data.conform(&self.input, UnknownCategory::Append)?;
        // The conformed features (categories as the input has them, unseen ones appended).
        let features = d.features().to_vec();
        map_columns(data, &d, &features, |j| self.column(j))
    }

    fn transform_owned(&self, data: Dataset<f64>) -> Result<Dataset<f64>> {
        if data.features() != self.input.as_slice() {
            return self.transform(&data);
        }
        Ok(map_columns_owned(data, |j| self.column(j)))
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.vector("statistics", &self.statistics)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn median_by_selection_equals_median_by_sorting() {
        let mut rng = smelt_core::rng::Rng::new(7);
        for n in 1..40 {
            let v: Vec<f64> = (0..n).map(|_| (rng.uniform() * 10.0).floor()).collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            let expected = if n % 2 == 1 {
                sorted[n / 2]
            } else {
                (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
            };
            assert_eq!(median(v), expected, "n = {n}");
        }
        assert!(median(Vec::new()).is_nan());
    }

    use super::*;
    use smelt_core::LogicalType;

    fn ds() -> Dataset<f64> {
        let num = super::super::numeric_feature("x");
        let cat = Feature {
            name: "c".into(),
            ltype: LogicalType::Categorical,
            kind: FeatureKind::Categorical {
                categories: vec!["a".into(), "b".into()],
            },
        };
        Dataset::new(
            5,
            vec![1.0, f64::NAN, 3.0, 10.0, 3.0, 1.0, 1.0, f64::NAN, 0.0, 1.0],
            vec![num, cat],
            None,
        )
        .unwrap()
    }

    #[test]
    fn strategies() {
        let d = ds();
        let only_x = d
            .conform(&d.features()[..1], UnknownCategory::Error)
            .unwrap();
        let fit = |s| {
            SimpleImputerParams::default()
                .strategy(s)
                .fit(&only_x)
                .unwrap()
        };
        assert_eq!(fit(ImputeStrategy::Mean).statistics(), &[17.0 / 4.0]);
        assert_eq!(fit(ImputeStrategy::Median).statistics(), &[3.0]);
        assert_eq!(fit(ImputeStrategy::MostFrequent).statistics(), &[3.0]);
        let m = SimpleImputerParams::default()
            .strategy(ImputeStrategy::MostFrequent)
            .fit(&d)
            .unwrap();
        assert_eq!(m.statistics(), &[3.0, 1.0]);
        let out = m.transform(&d).unwrap();
        assert_eq!(out.column(1), &[1.0, 1.0, 1.0, 0.0, 1.0]);
        assert!(out.missing(1).is_none());
    }

    #[test]
    fn mean_on_categorical_is_an_error() {
        let err = SimpleImputerParams::default().fit(&ds()).unwrap_err();
        assert!(matches!(err, CoreError::NotNumeric { ref feature, .. } if feature == "c"));
    }

    #[test]
    fn constant_category_is_added() {
        let m = SimpleImputerParams::default()
            .strategy(ImputeStrategy::Constant)
            .fit(&ds())
            .unwrap();
        let out = m.transform(&ds()).unwrap();
        assert_eq!(out.column(1)[2], 2.0);
        assert!(matches!(&out.features()[1].kind,
            FeatureKind::Categorical { categories } if categories[2] == "missing_value"));
    }
}
