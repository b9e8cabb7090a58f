//! Domain-classifier drift (NannyML's `DomainClassifierCalculator`).
//!
//! For each chunk, a classifier learns to tell the chunk's rows (label 1) from the reference's
//! (label 0), and its out-of-fold ROC AUC over a stratified k-fold split (scikit-learn's
//! `StratifiedKFold(5)`, not shuffled) is the drift score. A reference chunk is scored against
//! the rest of the reference (the whole reference, its own rows labelled 1), an analysis chunk
//! against the whole reference. An AUC near 0.5 means the chunk looks like the reference;
//! thresholds default to the constant band [0.45, 0.65].
//!
//! The classifier is Smelt's histogram GBDT with LightGBM's defaults (100 rounds, learning
//! rate 0.1, 31 leaves, 20 rows per leaf) where NannyML uses LightGBM itself, so AUCs agree to
//! about ±0.02, not to the digit. Chunks are scored in parallel.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::{Dataset, Feature, Fit, Prediction, Predictor, Target};
use smelt_eval::metrics::roc_auc;
use smelt_eval::split::{SplitInput, Splitter, StratifiedKFold};
use smelt_trees::gbdt::HistGradientBoostingClassifierParams;

use super::check_features;
use crate::chunk::{
    Chunk, ChunkValue, Chunker, Period, Series, Threshold, Timestamp, nan_to_none, threshold_values,
};
use crate::error::{MonitorError, Result};

/// Settings of [`DomainClassifier`] (NannyML's arguments and defaults).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DomainClassifierParams {
    /// How rows are grouped; default about ten chunks.
    pub chunker: Chunker,
    /// Cross-validation folds, `>= 2`; default 5.
    pub cv_folds_num: usize,
    /// The classifier; default LightGBM's settings.
    pub model: HistGradientBoostingClassifierParams,
    /// Alert thresholds; default constant 0.45 and 0.65.
    pub threshold: Threshold,
}

impl Default for DomainClassifierParams {
    fn default() -> Self {
        DomainClassifierParams {
            chunker: Chunker::Default,
            cv_folds_num: 5,
            model: HistGradientBoostingClassifierParams::default()
                .max_iter(100)
                .early_stopping(false),
            threshold: Threshold::Constant {
                lower: Some(0.45),
                upper: Some(0.65),
            },
        }
    }
}

/// The domain classifier fitted on a reference.
#[derive(Clone, Debug)]
pub struct DomainClassifier {
    params: DomainClassifierParams,
    features: Vec<Feature>,
    /// The reference in time order.
    reference_x: Dataset<f64>,
    lower_threshold: Option<f64>,
    upper_threshold: Option<f64>,
    reference: Series,
}

impl DomainClassifierParams {
    /// Keeps the reference (in time order) and scores its own chunks
    /// ([`DomainClassifier::reference`]).
    pub fn fit(
        &self,
        reference: &Dataset<f64>,
        timestamps: Option<&[Timestamp]>,
    ) -> Result<DomainClassifier> {
        self.chunker.validate()?;
        self.threshold.validate()?;
        if self.cv_folds_num < 2 {
            return Err(MonitorError::Invalid(format!(
                "cv_folds_num: expected an integer >= 2, got {}",
                self.cv_folds_num
            )));
        }
        if reference.n_rows() == 0 || reference.n_features() == 0 {
            return Err(MonitorError::TooFew(
                "the reference has no rows or no feature columns".into(),
            ));
        }
        let chunks = self.chunker.split(reference.n_rows(), timestamps)?;
        let order = chunks.order(reference.n_rows());
        let sorted = reference.select_rows(&order)?;
        let reference_x = Dataset::new(
            sorted.n_rows(),
            sorted.values().to_vec(),
            sorted.features().to_vec(),
            None,
        )?;
        let mut fitted = DomainClassifier {
            params: self.clone(),
            features: reference.features().to_vec(),
            reference_x,
            lower_threshold: None,
            upper_threshold: None,
            reference: Series {
                metric: "domain_classifier_auroc".into(),
                display_name: "Domain classifier AUROC".into(),
                chunks: Vec::new(),
            },
        };
        let values: Vec<f64> = chunks
            .chunks
            .par_iter()
            .map(|c| fitted.score_reference_chunk(c))
            .collect::<Result<_>>()?;
        let (lo, hi) = threshold_values(&self.threshold, &values, Some(0.0), Some(1.0), false);
        fitted.lower_threshold = lo;
        fitted.upper_threshold = hi;
        fitted.reference.chunks = fitted.points(&chunks.chunks, &values, Period::Reference);
        Ok(fitted)
    }
}

impl DomainClassifier {
    /// Groups the rows of later analysis tables with `chunker` (the reference's chunks and
    /// thresholds stay as fitted): a caller that cuts its own windows asks for one chunk a call
    /// ([`Chunker::whole`]).
    pub fn set_chunker(&mut self, chunker: Chunker) {
        self.params.chunker = chunker;
    }

    /// The reference's own chunks (period `reference`).
    pub fn reference(&self) -> &Series {
        &self.reference
    }

    /// The settings it was fitted with.
    pub fn params(&self) -> &DomainClassifierParams {
        &self.params
    }

    /// The drift score of each chunk of `analysis` (features as the reference's).
    pub fn calculate(
        &self,
        analysis: &Dataset<f64>,
        timestamps: Option<&[Timestamp]>,
    ) -> Result<Series> {
        check_features(&self.features, analysis)?;
        let chunks = self.params.chunker.split(analysis.n_rows(), timestamps)?;
        let values: Vec<f64> = chunks
            .chunks
            .par_iter()
            .map(|c| {
                let rows = chunks.rows(c);
                let x = concat(&self.reference_x, &analysis.select_rows(&rows)?)?;
                let n_ref = self.reference_x.n_rows();
                let y: Vec<u32> = (0..x.n_rows()).map(|i| u32::from(i >= n_ref)).collect();
                self.cv_auc(x, &y)
            })
            .collect::<Result<_>>()?;
        Ok(Series {
            metric: self.reference.metric.clone(),
            display_name: self.reference.display_name.clone(),
            chunks: self.points(&chunks.chunks, &values, Period::Analysis),
        })
    }

    fn score_reference_chunk(&self, c: &Chunk) -> Result<f64> {
        let y: Vec<u32> = (0..self.reference_x.n_rows())
            .map(|i| u32::from(i >= c.start_index && i <= c.end_index))
            .collect();
        self.cv_auc(self.reference_x.clone(), &y)
    }

    /// Out-of-fold ROC AUC of the classifier on `x` with labels `y` (0.5 for one class).
    fn cv_auc(&self, x: Dataset<f64>, y: &[u32]) -> Result<f64> {
        let folds = StratifiedKFold::new(self.params.cv_folds_num)
            .and_then(|cv| cv.split(&SplitInput::new(y.len()).with_classes(y)))
            .map_err(|e| MonitorError::TooFew(format!("domain classifier: {e}")))?;
        let n = x.n_rows();
        let data = Dataset::new(
            n,
            x.values().to_vec(),
            x.features().to_vec(),
            Some((
                "is_analysis".into(),
                Target::Classification {
                    codes: y.to_vec(),
                    classes: vec!["0".into(), "1".into()],
                },
            )),
        )?;
        let mut truth = Vec::with_capacity(n);
        let mut score = Vec::with_capacity(n);
        for fold in &folds {
            let train = data.select_rows(&fold.train)?;
            let test = x.select_rows(&fold.test)?;
            let model = self.params.model.fit(&train)?;
            let Prediction::Classification {
                proba: Some(proba),
                classes,
                ..
            } = model.predict(&test)?
            else {
                return Err(MonitorError::Invalid(
                    "the domain classifier returned no probabilities".into(),
                ));
            };
            // The column of class "1" (a fold may train on one class only).
            let col = classes.iter().position(|c| c == "1");
            for (k, &i) in fold.test.iter().enumerate() {
                truth.push(y[i]);
                score.push(col.map_or(0.0, |c| proba.row(k)[c]));
            }
        }
        if truth.windows(2).all(|w| w[0] == w[1]) {
            return Ok(0.5);
        }
        roc_auc(&truth, &score, None).map_err(|e| MonitorError::Invalid(e.to_string()))
    }

    fn points(&self, chunks: &[Chunk], values: &[f64], period: Period) -> Vec<ChunkValue> {
        chunks
            .iter()
            .zip(values)
            .map(|(c, &value)| ChunkValue {
                chunk: c.clone(),
                period,
                value: nan_to_none(value),
                sampling_error: None,
                realized: None,
                lower_confidence_bound: None,
                upper_confidence_bound: None,
                lower_threshold: self.lower_threshold,
                upper_threshold: self.upper_threshold,
                alert: self.upper_threshold.is_some_and(|u| value > u)
                    || self.lower_threshold.is_some_and(|l| value < l),
            })
            .collect()
    }
}

/// `a`'s rows followed by `b`'s (same features), without a target.
fn concat(a: &Dataset<f64>, b: &Dataset<f64>) -> Result<Dataset<f64>> {
    let (na, nb) = (a.n_rows(), b.n_rows());
    let mut values = Vec::with_capacity((na + nb) * a.n_features());
    for j in 0..a.n_features() {
        values.extend_from_slice(a.column(j));
        values.extend_from_slice(b.column(j));
    }
    Ok(Dataset::new(na + nb, values, a.features().to_vec(), None)?)
}
