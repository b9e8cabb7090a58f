//! Alert thresholds (NannyML's `nannyml.thresholds`): a band computed from the reference
//! chunks' values, clipped to what the metric can take.

use serde::{Deserialize, Serialize};

use crate::error::{MonitorError, Result};

/// How the alert band is set from the reference chunks' values.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Threshold {
    /// Mean ± multiplier × standard deviation (population, NaN values ignored) of the
    /// reference chunks' values; a `None` multiplier gives no threshold on that side.
    /// NannyML's default for performance and reconstruction error: 3 and 3.
    StandardDeviation {
        /// Multiplier below the mean, `>= 0`; default 3.
        std_lower_multiplier: Option<f64>,
        /// Multiplier above the mean, `>= 0`; default 3.
        std_upper_multiplier: Option<f64>,
    },
    /// Fixed values (`lower < upper` when both are set).
    Constant {
        /// Lower threshold.
        lower: Option<f64>,
        /// Upper threshold.
        upper: Option<f64>,
    },
}

impl Default for Threshold {
    fn default() -> Self {
        Threshold::StandardDeviation {
            std_lower_multiplier: Some(3.0),
            std_upper_multiplier: Some(3.0),
        }
    }
}

impl Threshold {
    /// Checks the parameters (NannyML's `_validate_inputs`).
    pub fn validate(&self) -> Result<()> {
        match *self {
            Threshold::StandardDeviation {
                std_lower_multiplier,
                std_upper_multiplier,
            } => {
                for (name, v) in [
                    ("std_lower_multiplier", std_lower_multiplier),
                    ("std_upper_multiplier", std_upper_multiplier),
                ] {
                    if let Some(v) = v
                        && (v.is_nan() || v < 0.0 || v.is_infinite())
                    {
                        return Err(MonitorError::Invalid(format!(
                            "threshold: {name}: expected a finite number >= 0, got {v}"
                        )));
                    }
                }
                Ok(())
            }
            Threshold::Constant { lower, upper } => match (lower, upper) {
                (Some(l), Some(u)) if l.partial_cmp(&u) != Some(std::cmp::Ordering::Less) => {
                    Err(MonitorError::Invalid(format!(
                        "threshold: lower threshold {l} must be less than upper threshold {u}"
                    )))
                }
                _ => Ok(()),
            },
        }
    }

    /// The raw band over `values` (NaN values ignored, as `np.nanmean`/`np.nanstd`).
    pub fn band(&self, values: &[f64]) -> (Option<f64>, Option<f64>) {
        match *self {
            Threshold::StandardDeviation {
                std_lower_multiplier,
                std_upper_multiplier,
            } => {
                let ok: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
                let n = ok.len() as f64;
                let mean = ok.iter().sum::<f64>() / n;
                let std = (ok.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
                (
                    std_lower_multiplier.map(|m| mean - std * m),
                    std_upper_multiplier.map(|m| mean + std * m),
                )
            }
            Threshold::Constant { lower, upper } => (lower, upper),
        }
    }
}

/// NannyML's `calculate_threshold_values`: the band over the reference chunks' values, each
/// side replaced by its limit (or dropped, with `override_using_none`) when it reaches past it.
/// A NaN side (no reference value could be computed) is returned as `None`.
pub fn threshold_values(
    threshold: &Threshold,
    values: &[f64],
    lower_limit: Option<f64>,
    upper_limit: Option<f64>,
    override_using_none: bool,
) -> (Option<f64>, Option<f64>) {
    let (mut lower, mut upper) = threshold.band(values);
    if let (Some(limit), Some(l)) = (lower_limit, lower)
        && l <= limit
    {
        lower = (!override_using_none).then_some(limit);
    }
    if let (Some(limit), Some(u)) = (upper_limit, upper)
        && u >= limit
    {
        upper = (!override_using_none).then_some(limit);
    }
    (lower.filter(|v| !v.is_nan()), upper.filter(|v| !v.is_nan()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn std_band_ignores_nan_and_clips() {
        let t = Threshold::default();
        let (l, u) = threshold_values(&t, &[0.9, f64::NAN, 1.0], Some(0.0), Some(1.0), false);
        assert!((l.unwrap() - (0.95 - 3.0 * 0.05)).abs() < 1e-12);
        assert_eq!(u, Some(1.0));
        let (l, _) = threshold_values(&t, &[0.0, 0.1], Some(0.0), None, true);
        assert_eq!(l, None);
        let (l, u) = threshold_values(&t, &[f64::NAN], Some(0.0), Some(1.0), false);
        assert_eq!((l, u), (None, None));
    }

    #[test]
    fn validation() {
        assert!(Threshold::default().validate().is_ok());
        let bad = Threshold::StandardDeviation {
            std_lower_multiplier: Some(-1.0),
            std_upper_multiplier: None,
        };
        assert!(bad.validate().is_err());
        let bad = Threshold::Constant {
            lower: Some(0.7),
            upper: Some(0.6),
        };
        assert!(bad.validate().is_err());
    }
}
