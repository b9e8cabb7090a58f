//! How an MLP reads a table: numbers standardised (mean 0, variance 1 over the training rows;
//! a missing value becomes 0 — the mean — plus a 0/1 "was missing" column for each feature
//! that had missing training values), categorical columns as codes into an embedding table
//! with one extra row for missing and unseen categories.

use serde::{Deserialize, Serialize};
use smelt_core::{CoreError, Dataset, FeatureKind, Result};

/// The fitted encoding of the input columns.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Encoding {
    /// Per numeric feature (input column index): mean, standard deviation (1 when constant),
    /// whether it gets a missing-indicator column.
    pub numeric: Vec<NumericColumn>,
    /// Per categorical feature: input column index, categories (the embedding has one more row),
    /// embedding width.
    pub categorical: Vec<CategoricalColumn>,
}

/// A numeric input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NumericColumn {
    /// Column in the input features.
    pub index: usize,
    /// Training mean.
    pub mean: f64,
    /// Training standard deviation (1 when constant).
    pub std: f64,
    /// Whether a 0/1 missing indicator follows the value.
    pub indicator: bool,
}

/// A categorical input.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoricalColumn {
    /// Column in the input features.
    pub index: usize,
    /// Training categories; code `categories` (one past the last) is missing/unseen.
    pub categories: usize,
    /// Embedding width.
    pub width: usize,
}

/// fast.ai's rule for an embedding's width: `min(600, round(1.6 · n^0.56))`, capped at `max`.
pub fn embedding_width(rows: usize, max: usize) -> usize {
    let w = (1.6 * (rows as f64).powf(0.56)).round() as usize;
    w.clamp(1, 600).min(max.max(1))
}

/// The encoded rows: dense numbers (row-major `rows × dense_width`) and category codes
/// (row-major `rows × categorical`).
#[derive(Clone, Debug, Default)]
pub struct Encoded {
    /// Dense inputs, row-major.
    pub dense: Vec<f32>,
    /// Width of a dense row.
    pub dense_width: usize,
    /// Category codes, row-major.
    pub codes: Vec<u32>,
    /// Categorical columns.
    pub n_codes: usize,
    /// Rows.
    pub rows: usize,
}

impl Encoding {
    /// Fits the encoding on training data.
    pub fn fit(data: &Dataset<f64>, max_width: Option<usize>) -> Encoding {
        let mut numeric = Vec::new();
        let mut categorical = Vec::new();
        for (j, f) in data.features().iter().enumerate() {
            match &f.kind {
                FeatureKind::Categorical { categories } => categorical.push(CategoricalColumn {
                    index: j,
                    categories: categories.len(),
                    width: embedding_width(categories.len() + 1, max_width.unwrap_or(50)),
                }),
                FeatureKind::Numeric => {
                    let col = data.column(j);
                    let (mut n, mut sum) = (0usize, 0.0);
                    for &v in col.iter().filter(|v| v.is_finite()) {
                        n += 1;
                        sum += v;
                    }
                    let mean = if n > 0 { sum / n as f64 } else { 0.0 };
                    let ss: f64 = col
                        .iter()
                        .filter(|v| v.is_finite())
                        .map(|v| (v - mean) * (v - mean))
                        .sum();
                    let std = if n > 0 { (ss / n as f64).sqrt() } else { 0.0 };
                    numeric.push(NumericColumn {
                        index: j,
                        mean,
                        std: if std > 1e-12 { std } else { 1.0 },
                        indicator: col.iter().any(|v| v.is_nan()),
                    });
                }
            }
        }
        Encoding {
            numeric,
            categorical,
        }
    }

    /// Width of the dense part of a row.
    pub fn dense_width(&self) -> usize {
        self.numeric
            .iter()
            .map(|c| 1 + usize::from(c.indicator))
            .sum()
    }

    /// Encodes `data` (already conformed to the training features). Infinite values are an
    /// error naming the feature and row.
    pub fn encode(&self, estimator: &'static str, data: &Dataset<f64>) -> Result<Encoded> {
        let n = data.n_rows();
        let width = self.dense_width();
        let mut dense = vec![0f32; n * width];
        let mut at = 0;
        for c in &self.numeric {
            let col = data.column(c.index);
            if let Some(i) = col.iter().position(|v| v.is_infinite()) {
                return Err(CoreError::NonFinite {
                    estimator,
                    feature: data.features()[c.index].name.clone(),
                    row: i,
                    value: col[i],
                });
            }
            for (i, &v) in col.iter().enumerate() {
                let row = &mut dense[i * width..(i + 1) * width];
                if v.is_nan() {
                    row[at] = 0.0;
                    if c.indicator {
                        row[at + 1] = 1.0;
                    }
                } else {
                    row[at] = ((v - c.mean) / c.std) as f32;
                }
            }
            at += 1 + usize::from(c.indicator);
        }
        let k = self.categorical.len();
        let mut codes = vec![0u32; n * k];
        for (ci, c) in self.categorical.iter().enumerate() {
            let col = data.column(c.index);
            for (i, &v) in col.iter().enumerate() {
                let code = if v.is_finite() && v >= 0.0 && (v as usize) < c.categories {
                    v as u32
                } else {
                    c.categories as u32
                };
                codes[i * k + ci] = code;
            }
        }
        Ok(Encoded {
            dense,
            dense_width: width,
            codes,
            n_codes: k,
            rows: n,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fastai_widths() {
        assert_eq!(embedding_width(2, 50), 2);
        assert_eq!(embedding_width(10, 50), 6);
        assert_eq!(embedding_width(1000, 50), 50);
        assert_eq!(embedding_width(1000, 600), 77);
    }
}
