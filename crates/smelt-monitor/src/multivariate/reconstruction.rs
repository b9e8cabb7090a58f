//! Data-reconstruction drift (NannyML's `DataReconstructionDriftCalculator`).
//!
//! Fitted on the reference: imputation values (numeric: the mean; categorical: the most
//! frequent category, the smallest on ties, as scikit-learn's `SimpleImputer`), each
//! category's share of the reference (`category_encoders.CountEncoder(normalize=True)`; a
//! category the reference lacks gets 0), a standard scaler and a PCA keeping the fewest
//! components that explain more than 65 % of the variance (`smelt_learn`, scikit-learn's).
//!
//! A row's reconstruction error is `‖z − ẑ‖₂`, `z` its standardised encoding and `ẑ` the
//! projection of `z` on the components mapped back. Per chunk: the mean error, its sampling
//! error `std(ddof = 1) / √n`, confidence bounds ±3 sampling errors (the lower clipped at 0),
//! thresholds mean ± 3 std of the reference chunks' values (a lower one at or below 0 is
//! dropped), and an alert when the value is not strictly inside them.

use serde::{Deserialize, Serialize};
use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Transform};
use smelt_learn::decomposition::{NComponents, Pca, PcaParams};
use smelt_learn::preprocessing::{StandardScaler, StandardScalerParams};

use super::check_features;
use crate::chunk::{
    ChunkValue, Chunker, Chunks, Period, Series, Threshold, Timestamp, nan_to_none,
    threshold_values,
};
use crate::error::{MonitorError, Result};

/// Settings of [`DataReconstruction`] (NannyML's arguments and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DataReconstructionParams {
    /// How rows are grouped; default about ten chunks.
    pub chunker: Chunker,
    /// Components kept: a variance fraction in `(0, 1)` (default 0.65) or a count.
    pub n_components: NComponents,
    /// Alert thresholds; default mean ± 3 std of the reference chunks.
    pub threshold: Threshold,
}

impl Default for DataReconstructionParams {
    fn default() -> Self {
        DataReconstructionParams {
            chunker: Chunker::Default,
            n_components: NComponents::Fraction(0.65),
            threshold: Threshold::default(),
        }
    }
}

/// How one column is encoded before scaling.
#[derive(Clone, Debug, PartialEq)]
enum Encoding {
    /// Missing values become this mean.
    Numeric { fill: f64 },
    /// Missing values become `fill` (a code); each code becomes its reference share.
    Categorical { fill: f64, share: Vec<f64> },
}

/// The data-reconstruction calculator fitted on a reference.
#[derive(Clone, Debug)]
pub struct DataReconstruction {
    params: DataReconstructionParams,
    features: Vec<Feature>,
    encodings: Vec<Encoding>,
    scaler: StandardScaler,
    pca: Pca,
    lower_threshold: Option<f64>,
    upper_threshold: Option<f64>,
    reference: Series,
}

fn numeric(name: &str) -> Feature {
    Feature {
        name: name.into(),
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

impl DataReconstructionParams {
    /// Fits on the reference's features (with their timestamps, if chunked by time) and
    /// computes its own chunks ([`DataReconstruction::reference`]).
    pub fn fit(
        &self,
        reference: &Dataset<f64>,
        timestamps: Option<&[Timestamp]>,
    ) -> Result<DataReconstruction> {
        self.chunker.validate()?;
        self.threshold.validate()?;
        let n = reference.n_rows();
        if n == 0 {
            return Err(MonitorError::TooFew("the reference has no rows".into()));
        }
        if reference.n_features() == 0 {
            return Err(MonitorError::Schema(
                "the reference has no feature columns".into(),
            ));
        }
        let mut encodings = Vec::new();
        for (j, f) in reference.features().iter().enumerate() {
            let col = reference.column(j);
            let present: Vec<f64> = col.iter().copied().filter(|v| !v.is_nan()).collect();
            if present.is_empty() {
                return Err(MonitorError::TooFew(format!(
                    "column `{}` has no values in the reference",
                    f.name
                )));
            }
            encodings.push(match &f.kind {
                FeatureKind::Numeric => Encoding::Numeric {
                    fill: present.iter().sum::<f64>() / present.len() as f64,
                },
                FeatureKind::Categorical { categories } => {
                    let k = categories.len().max(1);
                    let mut counts = vec![0usize; k];
                    for &v in &present {
                        if let Some(c) = counts.get_mut(v as usize) {
                            *c += 1;
                        }
                    }
                    // Most frequent, smallest code on ties.
                    let mode =
                        (0..k).fold(0, |best, c| if counts[c] > counts[best] { c } else { best });
                    counts[mode] += n - present.len();
                    Encoding::Categorical {
                        fill: mode as f64,
                        share: counts.iter().map(|&c| c as f64 / n as f64).collect(),
                    }
                }
            });
        }
        let encoded = encode(reference, &encodings)?;
        let scaler = StandardScalerParams::default().fit(&encoded)?;
        let scaled = scaler.transform(&encoded)?;
        let pca_params = match self.n_components {
            NComponents::Count(k) => PcaParams::default().n_components(k),
            NComponents::Fraction(f) => PcaParams::default().variance_fraction(f),
        };
        let pca = pca_params.fit(&scaled)?;
        let mut fitted = DataReconstruction {
            params: self.clone(),
            features: reference.features().to_vec(),
            encodings,
            scaler,
            pca,
            lower_threshold: None,
            upper_threshold: None,
            reference: Series {
                metric: "reconstruction_error".into(),
                display_name: "Reconstruction error".into(),
                chunks: Vec::new(),
            },
        };
        let chunks = self.chunker.split(n, timestamps)?;
        let errors = fitted.row_errors(reference)?;
        let stats: Vec<(f64, f64)> = chunks
            .chunks
            .iter()
            .map(|c| chunk_stats(&errors, &chunks.rows(c)))
            .collect();
        let values: Vec<f64> = stats.iter().map(|s| s.0).collect();
        let (lo, hi) = threshold_values(&self.threshold, &values, Some(0.0), None, true);
        fitted.lower_threshold = lo;
        fitted.upper_threshold = hi;
        fitted.reference.chunks = fitted.points(&chunks, &stats, Period::Reference);
        Ok(fitted)
    }
}

/// Mean error and its sampling error over `rows`.
fn chunk_stats(errors: &[f64], rows: &[usize]) -> (f64, f64) {
    let n = rows.len() as f64;
    let mean = rows.iter().map(|&i| errors[i]).sum::<f64>() / n;
    let var = rows
        .iter()
        .map(|&i| (errors[i] - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    (mean, var.sqrt() / n.sqrt())
}

/// Imputed, frequency-encoded, all-numeric copy of `data`.
fn encode(data: &Dataset<f64>, encodings: &[Encoding]) -> Result<Dataset<f64>> {
    let n = data.n_rows();
    let mut values = Vec::with_capacity(n * encodings.len());
    for (j, e) in encodings.iter().enumerate() {
        let col = data.column(j);
        match e {
            Encoding::Numeric { fill } => {
                values.extend(col.iter().map(|&v| if v.is_nan() { *fill } else { v }));
            }
            Encoding::Categorical { fill, share } => values.extend(col.iter().map(|&v| {
                let code = if v.is_nan() { *fill } else { v };
                share.get(code as usize).copied().unwrap_or(0.0)
            })),
        }
    }
    let features = data.features().iter().map(|f| numeric(&f.name)).collect();
    Ok(Dataset::new(n, values, features, None)?)
}

impl DataReconstruction {
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

    /// Components kept by the PCA.
    pub fn n_components(&self) -> usize {
        self.pca.n_components()
    }

    /// The settings it was fitted with.
    pub fn params(&self) -> &DataReconstructionParams {
        &self.params
    }

    /// Each row's reconstruction error.
    pub fn row_errors(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        check_features(&self.features, data)?;
        let z = self.scaler.transform(&encode(data, &self.encodings)?)?;
        let back = self.pca.inverse_transform(&self.pca.transform(&z)?)?;
        let n = z.n_rows();
        let mut sq = vec![0.0; n];
        for j in 0..z.n_features() {
            for ((s, a), b) in sq.iter_mut().zip(z.column(j)).zip(back.column(j)) {
                *s += (a - b) * (a - b);
            }
        }
        Ok(sq.into_iter().map(f64::sqrt).collect())
    }

    /// The value on `rows` of row `errors` ([`DataReconstruction::row_errors`], computed batch
    /// by batch): mean, sampling error, bounds and alert as [`DataReconstruction::calculate`]
    /// gives a chunk.
    pub fn summarize(&self, errors: &[f64], rows: &[usize]) -> ChunkValue {
        let chunk = crate::chunk::Chunk {
            key: format!("[0:{}]", rows.len().saturating_sub(1)),
            chunk_index: 0,
            start_index: 0,
            end_index: rows.len().saturating_sub(1),
            start_time: None,
            end_time: None,
        };
        let stats = if rows.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            chunk_stats(errors, rows)
        };
        let chunks = Chunks::from_chunks(vec![chunk]);
        let mut points = self.points(&chunks, &[stats], Period::Analysis);
        points.remove(0)
    }

    /// The reconstruction error of each chunk of `analysis` (features as the reference's).
    pub fn calculate(
        &self,
        analysis: &Dataset<f64>,
        timestamps: Option<&[Timestamp]>,
    ) -> Result<Series> {
        check_features(&self.features, analysis)?;
        let chunks = self.params.chunker.split(analysis.n_rows(), timestamps)?;
        let errors = self.row_errors(analysis)?;
        let stats: Vec<(f64, f64)> = chunks
            .chunks
            .iter()
            .map(|c| chunk_stats(&errors, &chunks.rows(c)))
            .collect();
        Ok(Series {
            metric: self.reference.metric.clone(),
            display_name: self.reference.display_name.clone(),
            chunks: self.points(&chunks, &stats, Period::Analysis),
        })
    }

    fn points(&self, chunks: &Chunks, stats: &[(f64, f64)], period: Period) -> Vec<ChunkValue> {
        chunks
            .chunks
            .iter()
            .zip(stats)
            .map(|(c, &(value, se))| {
                let lo = self.lower_threshold.unwrap_or(f64::NEG_INFINITY);
                let hi = self.upper_threshold.unwrap_or(f64::INFINITY);
                let (lcb, ucb) = if se.is_nan() {
                    (f64::NAN, f64::NAN)
                } else {
                    ((value - 3.0 * se).max(0.0), value + 3.0 * se)
                };
                ChunkValue {
                    chunk: c.clone(),
                    period,
                    value: nan_to_none(value),
                    sampling_error: nan_to_none(se),
                    realized: None,
                    lower_confidence_bound: nan_to_none(lcb),
                    upper_confidence_bound: nan_to_none(ucb),
                    lower_threshold: self.lower_threshold,
                    upper_threshold: self.upper_threshold,
                    alert: !(lo < value && value < hi),
                }
            })
            .collect()
    }
}
