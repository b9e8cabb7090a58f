//! Direct loss estimation for regressors (NannyML's `DLE`).
//!
//! On the labelled reference, a gradient-boosting regressor per loss learns each row's loss —
//! |y − ŷ| (MAE), |y − ŷ| / max(|y|, ε) (MAPE), (y − ŷ)² (MSE, RMSE), (ln(1 + y) − ln(1 + ŷ))²
//! (MSLE, RMSLE) — from the features and the prediction ŷ. A chunk's estimate is the mean of
//! the predicted losses (negative ones taken as 0), its square root for RMSE and RMSLE.
//! Sampling errors, thresholds (from the realized values of the reference chunks, lower limit
//! 0) and confidence bounds (lower limit 0) follow NannyML.
//!
//! The loss model is Smelt's histogram GBDT ([`HistGradientBoostingRegressorParams`]) with
//! LightGBM's defaults (100 rounds, learning rate 0.1, 31 leaves, 20 rows per leaf, 255 bins,
//! no early stopping); categorical features are split natively, as NannyML passes them to
//! LightGBM. Binning and split details differ from LightGBM, so estimates agree with NannyML's
//! to a few percent, not to the digit (the reference chunks, which the model has seen, agree
//! least: both learners overfit them, differently).

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::{Deserialize, Serialize};
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Prediction, Predictor, Target};
use smelt_trees::gbdt::{HistGradientBoostingRegressor, HistGradientBoostingRegressorParams};

use super::metrics::RegressionMetric;
use super::realized::{
    FittedMetric, check_non_negative, fit_metric, need_labels, regression_pairs,
};
use super::sampling::regression_components;
use super::{Method, Performance, RegressionColumns};
use crate::chunk::{Chunker, Chunks, Period, Series, Threshold, nan_to_none};
use crate::error::{MonitorError, Result};

/// Settings of [`Dle`].
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DleParams {
    /// Metrics to estimate; default MAE, MAPE, MSE, RMSE (the log metrics need non-negative
    /// targets, so they are asked for by name).
    pub metrics: Vec<RegressionMetric>,
    /// How rows are grouped; default about ten chunks.
    pub chunker: Chunker,
    /// Alert thresholds; default mean ± 3 std of the reference chunks.
    pub threshold: Threshold,
    /// Per-metric threshold overrides.
    pub thresholds: BTreeMap<RegressionMetric, Threshold>,
    /// The loss model; default LightGBM's settings (see the module docs).
    pub model: HistGradientBoostingRegressorParams,
}

impl Default for DleParams {
    fn default() -> Self {
        DleParams {
            metrics: vec![
                RegressionMetric::Mae,
                RegressionMetric::Mape,
                RegressionMetric::Mse,
                RegressionMetric::Rmse,
            ],
            chunker: Chunker::Default,
            threshold: Threshold::default(),
            thresholds: BTreeMap::new(),
            model: lightgbm_defaults(),
        }
    }
}

/// Smelt's GBDT set as LightGBM's `LGBMRegressor()`: 100 rounds, no early stopping.
pub fn lightgbm_defaults() -> HistGradientBoostingRegressorParams {
    HistGradientBoostingRegressorParams::default()
        .max_iter(100)
        .early_stopping(false)
}

/// DLE fitted on a reference.
#[derive(Clone, Debug)]
pub struct Dle {
    params: DleParams,
    features: Vec<Feature>,
    pred_name: String,
    /// One loss model per metric (RMSE shares MSE's loss, RMSLE MSLE's).
    models: Vec<HistGradientBoostingRegressor>,
    fitted: Vec<FittedMetric>,
    reference: Performance,
}

/// The metric whose row loss `m` learns (RMSE and MSE share one).
fn loss_of(m: RegressionMetric) -> RegressionMetric {
    match m {
        RegressionMetric::Rmse => RegressionMetric::Mse,
        RegressionMetric::Rmsle => RegressionMetric::Msle,
        m => m,
    }
}

/// The features with the prediction as one more numeric column, named `name`.
fn with_prediction(
    features: &Dataset<f64>,
    y_pred: &[f64],
    name: &str,
    target: Option<Vec<f64>>,
) -> Result<Dataset<f64>> {
    let mut values = features.values().to_vec();
    values.extend_from_slice(y_pred);
    let mut cols = features.features().to_vec();
    cols.push(Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    });
    let target = target.map(|v| ("loss".to_string(), Target::Regression { values: v }));
    Ok(Dataset::new(features.n_rows(), values, cols, target)?)
}

fn check_rows(features: &Dataset<f64>, n: usize) -> Result<()> {
    if features.n_rows() != n {
        return Err(MonitorError::Invalid(format!(
            "the feature table has {} rows but y_pred has {n}; give one per row",
            features.n_rows()
        )));
    }
    Ok(())
}

impl DleParams {
    /// Fits the loss models and thresholds on a labelled reference (`features`: one row per
    /// prediction) and estimates the reference's own chunks ([`Dle::reference`]).
    pub fn fit(&self, features: &Dataset<f64>, reference: &RegressionColumns<'_>) -> Result<Dle> {
        if self.metrics.is_empty() {
            return Err(MonitorError::Invalid(
                "no metrics given\n\nhint: name at least one of mae, mape, mse, rmse, msle, rmsle"
                    .into(),
            ));
        }
        self.chunker.validate()?;
        self.threshold.validate()?;
        for t in self.thresholds.values() {
            t.validate()?;
        }
        reference.validate()?;
        check_rows(features, reference.len())?;
        let y_true = need_labels(reference.y_true)?;
        let labelled: Vec<usize> = (0..reference.len())
            .filter(|&i| !y_true[i].is_nan() && !reference.y_pred[i].is_nan())
            .collect();
        if labelled.is_empty() {
            return Err(MonitorError::TooFew(
                "no reference row has both a target and a prediction".into(),
            ));
        }
        let t: Vec<f64> = labelled.iter().map(|&i| y_true[i]).collect();
        let p: Vec<f64> = labelled.iter().map(|&i| reference.y_pred[i]).collect();
        let chunks = self.chunker.split(reference.len(), reference.timestamps)?;
        let mut pred_name = "y_pred".to_string();
        while features.feature_index(&pred_name).is_some() {
            pred_name.insert(0, '_');
        }
        let mut models = Vec::new();
        let mut fitted = Vec::new();
        let mut trained: BTreeMap<RegressionMetric, HistGradientBoostingRegressor> =
            BTreeMap::new();
        for &m in &self.metrics {
            check_non_negative(m, &t, &p)?;
            let values: Vec<f64> = chunks
                .chunks
                .iter()
                .map(|c| {
                    let (t, p) = regression_pairs(y_true, reference.y_pred, &chunks.rows(c));
                    m.realized(&t, &p)
                })
                .collect();
            let threshold = self.thresholds.get(&m).unwrap_or(&self.threshold);
            fitted.push(fit_metric(
                m.name(),
                m.display_name(),
                regression_components(m, &t, &p),
                (Some(0.0), None),
                threshold,
                &values,
            ));
            let key = loss_of(m);
            let model = match trained.get(&key) {
                Some(model) => model.clone(),
                None => {
                    let loss: Vec<f64> = t
                        .iter()
                        .zip(&p)
                        .map(|(&t, &p)| key.row_loss(t, p))
                        .collect();
                    let train = features.select_rows(&labelled)?;
                    let data = with_prediction(&train, &p, &pred_name, Some(loss))?;
                    let model = self.model.fit(&data)?;
                    trained.insert(key, model.clone());
                    model
                }
            };
            models.push(model);
        }
        let mut dle = Dle {
            params: self.clone(),
            features: features.features().to_vec(),
            pred_name,
            models,
            fitted,
            reference: Performance {
                method: Method::Dle,
                series: Vec::new(),
            },
        };
        dle.reference = dle.run(features, reference, &chunks, Period::Reference)?;
        Ok(dle)
    }
}

impl Dle {
    /// Groups the rows of later analysis tables with `chunker` (the reference's chunks and
    /// thresholds stay as fitted): a caller that cuts its own windows asks for one chunk a call
    /// ([`Chunker::whole`]).
    pub fn set_chunker(&mut self, chunker: Chunker) {
        self.params.chunker = chunker;
    }

    /// The reference's chunks, estimated (period `reference`, realized values beside).
    pub fn reference(&self) -> &Performance {
        &self.reference
    }

    /// The settings it was fitted with.
    pub fn params(&self) -> &DleParams {
        &self.params
    }

    /// Estimates every metric on each chunk of `analysis` (`features`: its feature table, the
    /// same columns, kinds and categories as the reference's; targets optional).
    pub fn estimate(
        &self,
        features: &Dataset<f64>,
        analysis: &RegressionColumns<'_>,
    ) -> Result<Performance> {
        analysis.validate()?;
        check_rows(features, analysis.len())?;
        if features.features() != self.features.as_slice() {
            let expected: Vec<&str> = self.features.iter().map(|f| f.name.as_str()).collect();
            let got: Vec<&str> = features.feature_names().collect();
            return Err(MonitorError::Schema(format!(
                "the analysis features differ from the reference's (names, kinds or categories): \
                 expected {expected:?}, got {got:?}\n\nhint: conform the analysis table to the \
                 reference's schema"
            )));
        }
        let chunks = self
            .params
            .chunker
            .split(analysis.len(), analysis.timestamps)?;
        self.run(features, analysis, &chunks, Period::Analysis)
    }

    fn run(
        &self,
        features: &Dataset<f64>,
        data: &RegressionColumns<'_>,
        chunks: &Chunks,
        period: Period,
    ) -> Result<Performance> {
        let x = with_prediction(features, data.y_pred, &self.pred_name, None)?;
        let mut series = Vec::new();
        let mut cache: BTreeMap<RegressionMetric, Vec<f64>> = BTreeMap::new();
        for ((&m, f), model) in self
            .params
            .metrics
            .iter()
            .zip(&self.fitted)
            .zip(&self.models)
        {
            let losses = match cache.entry(loss_of(m)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let Prediction::Regression { values } = model.predict(&x)? else {
                        return Err(MonitorError::Invalid(
                            "the loss model did not return a regression".into(),
                        ));
                    };
                    e.insert(values.into_iter().map(|v| v.max(0.0)).collect())
                }
            };
            let mut points = Vec::new();
            for c in &chunks.chunks {
                let rows = chunks.rows(c);
                let mean = rows.iter().map(|&i| losses[i]).sum::<f64>() / rows.len() as f64;
                let value = m.from_mean_loss(mean);
                let n_pred = rows.iter().filter(|&&i| !data.y_pred[i].is_nan()).count();
                let realized = data.y_true.and_then(|y| {
                    let (t, p) = regression_pairs(y, data.y_pred, &rows);
                    nan_to_none(m.realized(&t, &p))
                });
                points.push(f.point(c, period, value, n_pred, realized));
            }
            series.push(Series {
                metric: f.name.clone(),
                display_name: f.display_name.clone(),
                chunks: points,
            });
        }
        Ok(Performance {
            method: Method::Dle,
            series,
        })
    }
}
