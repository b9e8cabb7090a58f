//! Baselines that ignore the features (scikit-learn's `sklearn.dummy`): the score any real
//! model must beat, and the first rung of `smelt ladder`.
//!
//! * [`DummyClassifierParams`]: `prior` (default; the class frequencies as probabilities, the
//!   most frequent class as the label) or `most_frequent` (the same label, a one-hot
//!   probability), both sample-weighted;
//! * [`DummyRegressorParams`]: `mean` (default, weighted) or `median` (weighted, as
//!   scikit-learn's `_weighted_percentile` at 50).

use serde::{Deserialize, Serialize};
use smelt_core::model::{check_sample_weight, classification_target, finite_regression_target};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use smelt_core::artifact::{load_common, save_common};

/// What [`DummyClassifier`] predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassifierStrategy {
    /// Class frequencies as probabilities; the most frequent class as the label.
    #[default]
    Prior,
    /// The most frequent class, with probability 1.
    MostFrequent,
}

/// What [`DummyRegressor`] predicts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RegressorStrategy {
    /// The (weighted) mean of the target.
    #[default]
    Mean,
    /// The (weighted) median of the target.
    Median,
}

smelt_core::params! {
    /// Parameters of [`DummyClassifier`] (scikit-learn's `DummyClassifier`).
    pub struct DummyClassifierParams("DummyClassifier") {
        /// `prior` (default) or `most_frequent`.
        strategy: ClassifierStrategy = ClassifierStrategy::Prior;
    }
}

smelt_core::params! {
    /// Parameters of [`DummyRegressor`] (scikit-learn's `DummyRegressor`).
    pub struct DummyRegressorParams("DummyRegressor") {
        /// `mean` (default) or `median`.
        strategy: RegressorStrategy = RegressorStrategy::Mean;
    }
}

/// A fitted constant classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct DummyClassifier {
    params: DummyClassifierParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// The probabilities every row gets.
    proba: Vec<f64>,
}

/// A fitted constant regressor.
#[derive(Clone, Debug, PartialEq)]
pub struct DummyRegressor {
    params: DummyRegressorParams,
    input: Vec<Feature>,
    constant: f64,
}

impl Fit for DummyClassifierParams {
    type Model = DummyClassifier;

    fn name(&self) -> &'static str {
        "DummyClassifier"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<DummyClassifier> {
        self.validate()?;
        no_rows("DummyClassifier", data)?;
        let (codes, classes) = classification_target("DummyClassifier", data)?;
        check_sample_weight("DummyClassifier", data.n_rows(), w)?;
        let mut count = vec![0.0; classes.len()];
        for (i, &c) in codes.iter().enumerate() {
            count[c as usize] += w.map_or(1.0, |w| w[i]);
        }
        let total: f64 = count.iter().sum();
        let prior: Vec<f64> = count.iter().map(|c| c / total).collect();
        let proba = match self.strategy {
            ClassifierStrategy::Prior => prior,
            ClassifierStrategy::MostFrequent => {
                let best = smelt_core::model::argmax(&prior);
                (0..prior.len())
                    .map(|k| f64::from(u8::from(k == best)))
                    .collect()
            }
        };
        Ok(DummyClassifier {
            params: self.clone(),
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            proba,
        })
    }
}

impl Fit for DummyRegressorParams {
    type Model = DummyRegressor;

    fn name(&self) -> &'static str {
        "DummyRegressor"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<DummyRegressor> {
        self.validate()?;
        no_rows("DummyRegressor", data)?;
        let y = finite_regression_target("DummyRegressor", data)?;
        check_sample_weight("DummyRegressor", data.n_rows(), w)?;
        let constant = match self.strategy {
            RegressorStrategy::Mean => {
                let (mut s, mut t) = (0.0, 0.0);
                for (i, v) in y.iter().enumerate() {
                    let wi = w.map_or(1.0, |w| w[i]);
                    s += wi * v;
                    t += wi;
                }
                s / t
            }
            RegressorStrategy::Median => weighted_median(y, w),
        };
        Ok(DummyRegressor {
            params: self.clone(),
            input: data.features().to_vec(),
            constant,
        })
    }
}

/// Fitting on no rows is an error, as for every estimator.
fn no_rows(estimator: &'static str, data: &Dataset<f64>) -> Result<()> {
    if data.n_rows() == 0 {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows",
            needed: 1,
            got: 0,
        });
    }
    Ok(())
}

/// scikit-learn's median: `np.median` without weights (the mean of the two middle values of
/// an even count); with weights, `_weighted_percentile(y, w, 50)`: the smallest value whose
/// cumulative weight reaches half the total.
fn weighted_median(y: &[f64], w: Option<&[f64]>) -> f64 {
    let mut pairs: Vec<(f64, f64)> = y
        .iter()
        .enumerate()
        .map(|(i, &v)| (v, w.map_or(1.0, |w| w[i])))
        .filter(|p| p.1 > 0.0)
        .collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    if w.is_none() {
        let n = pairs.len();
        return if n % 2 == 1 {
            pairs[n / 2].0
        } else {
            0.5 * (pairs[n / 2 - 1].0 + pairs[n / 2].0)
        };
    }
    let half = 0.5 * pairs.iter().map(|p| p.1).sum::<f64>();
    let mut acc = 0.0;
    for &(v, wt) in &pairs {
        acc += wt;
        if acc >= half {
            return v;
        }
    }
    pairs.last().map_or(f64::NAN, |p| p.0)
}

impl DummyClassifier {
    /// The model kind in model files.
    pub const KIND: &'static str = "dummy_classifier";

    /// The probabilities every row gets, in class order.
    pub fn proba(&self) -> &[f64] {
        &self.proba
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, DummyClassifierParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let proba = r.vector("proba", classes.len())?;
        Ok(Box::new(DummyClassifier {
            params,
            input,
            classes,
            proba,
        }))
    }
}

impl DummyRegressor {
    /// The model kind in model files.
    pub const KIND: &'static str = "dummy_regressor";

    /// The value every row gets.
    pub fn constant(&self) -> f64 {
        self.constant
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, DummyRegressorParams) = load_common(r)?;
        let constant: f64 = r.get("constant")?;
        if !constant.is_finite() {
            return Err(r.invalid("the constant is not a finite number"));
        }
        Ok(Box::new(DummyRegressor {
            params,
            input,
            constant,
        }))
    }
}

impl Predictor for DummyClassifier {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        // The features are ignored, but the model's input contract still holds: every column
        // it was trained with must be there, with its kind.
        let n = data.conform(&self.input, UnknownCategory::Append)?.n_rows();
        let k = self.classes.len();
        let mut values = Vec::with_capacity(n * k);
        for _ in 0..n {
            values.extend_from_slice(&self.proba);
        }
        Ok(Prediction::from_proba(
            Proba {
                n_classes: k,
                values,
            },
            self.classes.clone(),
        ))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.array("proba", &[self.classes.len()], &self.proba)
    }
}

impl Predictor for DummyRegressor {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let n = data.conform(&self.input, UnknownCategory::Append)?.n_rows();
        Ok(Prediction::Regression {
            values: vec![self.constant; n],
        })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("constant", &self.constant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_median_matches_scikit_learn() {
        // scikit-learn 1.9's DummyRegressor(strategy="median"): 2.5 and 2 unweighted; with
        // weights [1, 1, 1, 3] → 3 and [1, 1, 1, 4] → 4.
        assert_eq!(weighted_median(&[1., 2., 3., 4.], None), 2.5);
        assert_eq!(weighted_median(&[3., 1., 2.], None), 2.0);
        assert_eq!(
            weighted_median(&[1., 2., 3., 4.], Some(&[1., 1., 1., 3.])),
            3.0
        );
        assert_eq!(
            weighted_median(&[1., 2., 3., 4.], Some(&[1., 1., 1., 4.])),
            4.0
        );
    }
}
