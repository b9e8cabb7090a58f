//! The reference profile `smelt train` stores in a model's metadata (`"profile"`), so that
//! monitoring can compare live data with what the model learned from without keeping the
//! training table: per column the count, missing values and either summary statistics with
//! [`QUANTILES`] quantiles (numbers) or category counts, and the same for the model's
//! predictions on its training rows and for the target.
//!
//! Quantiles use linear interpolation between order statistics (NumPy's default), at
//! `k / (QUANTILES - 1)` for `k = 0 … QUANTILES - 1`; a monitor rebuilds a stand-in sample from
//! them (201 points: a distance such as Wasserstein or Jensen–Shannon computed on it is within
//! about 0.5 % of the quantile range of the one on the full column).

use serde::{Deserialize, Serialize};

use crate::dataset::{Dataset, FeatureKind, Target};
use crate::model::Prediction;

/// Quantiles stored per numeric column.
pub const QUANTILES: usize = 201;

/// A profile of the training data and the model's predictions on it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    /// Rows profiled.
    pub rows: usize,
    /// The model's input columns.
    pub columns: Vec<ColumnProfile>,
    /// The target, when the data had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<ColumnProfile>,
    /// The model's predictions on the profiled rows (labels for classifiers, values for
    /// regressors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<ColumnProfile>,
    /// A binary classifier's probability of its second class on the profiled rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<ColumnProfile>,
    /// A classifier's outcomes on held-out rows, for estimating its performance without labels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcomes: Option<OutcomeSample>,
}

/// Rows kept at most in an [`OutcomeSample`].
pub const OUTCOME_ROWS: usize = 2_000;

/// A classifier's outcomes on held-out rows (its validation split), evenly spaced, at most
/// [`OUTCOME_ROWS`]: what confidence-based performance estimation (CBPE) calibrates on when
/// monitoring has the model but not its training table. Training rows would not do: a model's
/// probabilities on the rows it learned from are over-confident.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutcomeSample {
    /// The classes, in the model's order.
    pub classes: Vec<String>,
    /// True class code of each row.
    pub target: Vec<u32>,
    /// Predicted class code of each row.
    pub prediction: Vec<u32>,
    /// Probability of each class, row by row (`rows × classes`), to six decimals.
    pub proba: Vec<f64>,
}

impl OutcomeSample {
    /// From held-out rows' labels and the model's prediction on them; `None` unless it is a
    /// classification with probabilities and the same classes.
    pub fn new(target: &Target, prediction: &Prediction) -> Option<OutcomeSample> {
        let (
            Target::Classification { codes, classes },
            Prediction::Classification {
                labels,
                classes: pc,
                proba: Some(p),
            },
        ) = (target, prediction)
        else {
            return None;
        };
        if classes != pc || codes.is_empty() || codes.len() != labels.len() {
            return None;
        }
        let n = codes.len();
        let step = n.div_ceil(OUTCOME_ROWS).max(1);
        let rows: Vec<usize> = (0..n).step_by(step).collect();
        let round = |x: f64| (x * 1e6).round() / 1e6;
        Some(OutcomeSample {
            classes: classes.clone(),
            target: rows.iter().map(|&i| codes[i]).collect(),
            prediction: rows.iter().map(|&i| labels[i]).collect(),
            proba: rows
                .iter()
                .flat_map(|&i| p.row(i).iter().map(|&x| round(x)).collect::<Vec<_>>())
                .collect(),
        })
    }

    /// Rows held.
    pub fn len(&self) -> usize {
        self.target.len()
    }

    /// Whether no row is held.
    pub fn is_empty(&self) -> bool {
        self.target.is_empty()
    }
}

/// One column of a [`ReferenceProfile`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColumnProfile {
    /// The column.
    pub name: String,
    /// Values present.
    pub count: usize,
    /// Values missing.
    pub missing: usize,
    /// Statistics by kind.
    #[serde(flatten)]
    pub stats: ColumnStats,
}

/// The statistics of a numeric or categorical column.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ColumnStats {
    /// Numbers.
    Numeric {
        /// Smallest value (NaN, written `null`, without values).
        #[serde(with = "nan_as_null")]
        min: f64,
        /// Largest value.
        #[serde(with = "nan_as_null")]
        max: f64,
        /// Mean.
        #[serde(with = "nan_as_null")]
        mean: f64,
        /// Standard deviation (population, `ddof = 0`).
        #[serde(with = "nan_as_null")]
        std: f64,
        /// [`QUANTILES`] quantiles, from the minimum to the maximum (empty without values).
        quantiles: Vec<f64>,
    },
    /// Categories.
    Categorical {
        /// The categories, in the model's order.
        categories: Vec<String>,
        /// Rows of each category.
        counts: Vec<usize>,
    },
}

/// NaN written as JSON `null` and read back (JSON has no NaN).
mod nan_as_null {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else {
            s.serialize_f64(*v)
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

impl ColumnProfile {
    /// A numeric column (NaN is missing).
    pub fn numeric(name: &str, values: impl IntoIterator<Item = f64>) -> ColumnProfile {
        let mut v: Vec<f64> = values.into_iter().collect();
        let total = v.len();
        v.retain(|x| !x.is_nan());
        v.sort_by(f64::total_cmp);
        let n = v.len();
        let (mean, std) = if n == 0 {
            (f64::NAN, f64::NAN)
        } else {
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / n as f64;
            (mean, var.sqrt())
        };
        let quantiles = if n == 0 {
            Vec::new()
        } else {
            (0..QUANTILES)
                .map(|k| {
                    let pos = k as f64 / (QUANTILES - 1) as f64 * (n - 1) as f64;
                    let lo = pos.floor() as usize;
                    let hi = (lo + 1).min(n - 1);
                    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
                })
                .collect()
        };
        ColumnProfile {
            name: name.to_string(),
            count: n,
            missing: total - n,
            stats: ColumnStats::Numeric {
                min: v.first().copied().unwrap_or(f64::NAN),
                max: v.last().copied().unwrap_or(f64::NAN),
                mean,
                std,
                quantiles,
            },
        }
    }

    /// A categorical column: codes into `categories` (`None` is missing).
    pub fn categorical(
        name: &str,
        categories: &[String],
        codes: impl IntoIterator<Item = Option<usize>>,
    ) -> ColumnProfile {
        let mut counts = vec![0usize; categories.len()];
        let mut missing = 0;
        for c in codes {
            match c.and_then(|c| counts.get_mut(c)) {
                Some(n) => *n += 1,
                None => missing += 1,
            }
        }
        ColumnProfile {
            name: name.to_string(),
            count: counts.iter().sum(),
            missing,
            stats: ColumnStats::Categorical {
                categories: categories.to_vec(),
                counts,
            },
        }
    }
}

impl ReferenceProfile {
    /// Profiles `data`'s features and target, and `prediction` (the model's predictions on
    /// the same rows).
    pub fn new(data: &Dataset<f64>, prediction: Option<&Prediction>) -> ReferenceProfile {
        let n = data.n_rows();
        let columns = data
            .features()
            .iter()
            .enumerate()
            .map(|(j, f)| {
                let col = data.column(j);
                match &f.kind {
                    FeatureKind::Numeric => ColumnProfile::numeric(
                        &f.name,
                        (0..n).map(|i| {
                            if data.is_missing(i, j) {
                                f64::NAN
                            } else {
                                col[i]
                            }
                        }),
                    ),
                    FeatureKind::Categorical { categories } => ColumnProfile::categorical(
                        &f.name,
                        categories,
                        (0..n).map(|i| (!data.is_missing(i, j)).then_some(col[i] as usize)),
                    ),
                }
            })
            .collect();
        let name = data.target_name().unwrap_or("target");
        let target = data.target().map(|t| match t {
            Target::Regression { values } => ColumnProfile::numeric(name, values.iter().copied()),
            Target::Classification { codes, classes } => {
                ColumnProfile::categorical(name, classes, codes.iter().map(|&c| Some(c as usize)))
            }
        });
        let (prediction, score) = match prediction {
            Some(Prediction::Regression { values }) => (
                Some(ColumnProfile::numeric("prediction", values.iter().copied())),
                None,
            ),
            Some(Prediction::Classification {
                labels,
                classes,
                proba,
            }) => (
                Some(ColumnProfile::categorical(
                    "prediction",
                    classes,
                    labels.iter().map(|&c| Some(c as usize)),
                )),
                proba
                    .as_ref()
                    .filter(|p| p.n_classes == 2)
                    .map(|p| ColumnProfile::numeric("score", (0..p.n_rows()).map(|i| p.row(i)[1]))),
            ),
            Some(Prediction::Clustering { labels }) => (
                Some(ColumnProfile::numeric(
                    "prediction",
                    labels.iter().map(|&c| c as f64),
                )),
                None,
            ),
            // A vector per row has no one-column distribution to compare.
            Some(Prediction::Embedding { .. }) | None => (None, None),
        };
        ReferenceProfile {
            rows: n,
            columns,
            target,
            prediction,
            score,
            outcomes: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        // numpy.quantile([1, 2, 3, 4, 10], [0, 0.005, 0.5, 0.995, 1]) = 1, 1.02, 3, 9.88, 10
        let p = ColumnProfile::numeric("x", [3.0, 1.0, f64::NAN, 10.0, 2.0, 4.0]);
        let ColumnStats::Numeric {
            quantiles,
            min,
            max,
            mean,
            std,
        } = &p.stats
        else {
            panic!("numeric");
        };
        assert_eq!((p.count, p.missing), (5, 1));
        assert_eq!(quantiles.len(), QUANTILES);
        for (k, want) in [(0, 1.0), (1, 1.02), (100, 3.0), (199, 9.88), (200, 10.0)] {
            assert!((quantiles[k] - want).abs() < 1e-12, "{k}: {}", quantiles[k]);
        }
        assert!(*min == 1.0 && *max == 10.0 && (*mean - 4.0).abs() < 1e-12);
        assert!((std - 10.0f64.sqrt()).abs() < 1e-12);
    }

    #[test]
    fn outcome_samples_keep_held_out_rows_evenly_and_only_for_classifiers() {
        let classes = vec!["no".to_string(), "yes".to_string()];
        let n = 5_000;
        let codes: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let values: Vec<f64> = (0..n)
            .flat_map(|i| {
                let p = (i % 7) as f64 / 7.0 + 1e-9;
                [1.0 - p, p]
            })
            .collect();
        let target = Target::Classification {
            codes: codes.clone(),
            classes: classes.clone(),
        };
        let pred = Prediction::Classification {
            labels: codes.iter().map(|&c| 1 - c).collect(),
            classes: classes.clone(),
            proba: Some(crate::model::Proba {
                n_classes: 2,
                values,
            }),
        };
        let s = OutcomeSample::new(&target, &pred).expect("a classifier with probabilities");
        assert_eq!(s.len(), 1_667); // every third row of 5,000: at most OUTCOME_ROWS
        assert!(s.len() <= OUTCOME_ROWS);
        assert_eq!((s.target[1], s.prediction[1]), (1, 0)); // row 3
        assert_eq!(s.proba.len(), 2 * s.len());
        assert!((s.proba[3] - 0.428571).abs() < 1e-12, "{}", s.proba[3]); // row 3: 3/7, rounded
        let back: OutcomeSample =
            serde_json::from_value(serde_json::to_value(&s).expect("json")).expect("back");
        assert_eq!(back, s);
        let regression = Target::Regression { values: vec![1.0] };
        assert!(OutcomeSample::new(&regression, &pred).is_none());
    }

    #[test]
    fn categories_count_and_missing() {
        let cats = vec!["a".to_string(), "b".to_string()];
        let p = ColumnProfile::categorical("c", &cats, [Some(0), Some(1), Some(1), None]);
        assert_eq!(p.count, 3);
        assert_eq!(p.missing, 1);
        let json = serde_json::to_value(&p).expect("json");
        assert_eq!(json["kind"], "categorical");
        assert_eq!(json["counts"], serde_json::json!([1, 2]));
        let back: ColumnProfile = serde_json::from_value(json).expect("back");
        assert_eq!(back, p);
        // A column without values still reads back (NaN statistics are written as null).
        let empty = ColumnProfile::numeric("e", [f64::NAN]);
        let text = serde_json::to_string(&empty).expect("json");
        assert!(text.contains("\"mean\":null"), "{text}");
        let back: ColumnProfile = serde_json::from_str(&text).expect("back");
        assert_eq!(back.missing, 1);
    }
}
