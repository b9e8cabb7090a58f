//! Scalers: `StandardScaler` (`(x - mean) / std`).
//!
//! Missing values (NaN) are ignored when fitting and kept when transforming, as in
//! scikit-learn; a constant feature gets scale 1 (scikit-learn's `_handle_zeros_in_scale`).

use smelt_core::{
    ArtifactReader, ArtifactWriter, Dataset, Feature, Fit, ParamError, Registry, Result, Transform,
    UnknownCategory,
};

use super::{
    fit_then_transform, map_columns, map_columns_owned, reject_infinite, require_numeric_kinds,
};
use smelt_core::artifact::{load_common, save_common};

smelt_core::params! {
    /// Parameters of [`StandardScaler`].
    pub struct StandardScalerParams("StandardScaler") {
        /// Subtract the mean (default `true`).
        with_mean: bool = true;
        /// Divide by the standard deviation (population, `ddof = 0`; default `true`).
        with_std: bool = true;
    }
}

/// A fitted standard scaler.
#[derive(Clone, Debug, PartialEq)]
pub struct StandardScaler {
    params: StandardScalerParams,
    input: Vec<Feature>,
    mean: Vec<f64>,
    scale: Vec<f64>,
}

impl StandardScaler {
    /// Kind in model files.
    pub const KIND: &'static str = "standard_scaler";

    /// Per-feature mean (NaN ignored).
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Per-feature scale (standard deviation, 1 for constant features).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, StandardScalerParams) = load_common(r)?;
        let p = input.len();
        Ok(Box::new(StandardScaler {
            params,
            mean: r.vector("mean", p)?,
            scale: r.vector("scale", p)?,
            input,
        }))
    }
}

/// NaN-ignoring mean and population variance (two-pass for accuracy).
fn nan_mean_var(col: &[f64]) -> (f64, f64) {
    let (mut s, mut n) = (0.0, 0usize);
    for &v in col {
        if !v.is_nan() {
            s += v;
            n += 1;
        }
    }
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = s / n as f64;
    let var = col
        .iter()
        .filter(|v| !v.is_nan())
        .map(|v| (v - mean) * (v - mean))
        .sum::<f64>()
        / n as f64;
    (mean, var)
}

impl Fit for StandardScalerParams {
    type Model = StandardScaler;

    fn name(&self) -> &'static str {
        "StandardScaler"
    }

    fn check(&self) -> Vec<ParamError> {
        Vec::new()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, _w: Option<&[f64]>) -> Result<StandardScaler> {
        self.validate()?;
        require_numeric_kinds("StandardScaler", data)?;
        reject_infinite("StandardScaler", data)?;
        if data.n_rows() == 0 {
            return Err(smelt_core::CoreError::TooFew {
                estimator: "StandardScaler",
                what: "rows",
                needed: 1,
                got: 0,
            });
        }
        let (mut mean, mut scale) = (Vec::new(), Vec::new());
        for j in 0..data.n_features() {
            let (m, v) = nan_mean_var(data.column(j));
            // A feature with no value at all: leave it unchanged (NaN stays NaN).
            let m = if m.is_nan() { 0.0 } else { m };
            let sd = v.sqrt();
            // scikit-learn treats a scale below 10·eps·|mean| as zero (constant feature).
            let sd = if sd.is_nan() || sd <= 10.0 * f64::EPSILON * m.abs().max(1.0) {
                1.0
            } else {
                sd
            };
            mean.push(if self.with_mean { m } else { 0.0 });
            scale.push(if self.with_std { sd } else { 1.0 });
        }
        Ok(StandardScaler {
            params: self.clone(),
            input: data.features().to_vec(),
            mean,
            scale,
        })
    }
}

fit_then_transform!(StandardScalerParams);

impl StandardScaler {
    /// What column `j`'s values become.
    fn column(&self, j: usize) -> impl Fn(f64) -> f64 + use<> {
        let (m, s) = (self.mean[j], self.scale[j]);
        move |v| (v - m) / s
    }
}

impl Transform for StandardScaler {
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
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric_kinds("StandardScaler", &d)?;
        map_columns(data, &d, &self.input, |j| self.column(j))
    }

    fn transform_owned(&self, data: Dataset<f64>) -> Result<Dataset<f64>> {
        if data.features() != self.input.as_slice() {
            return self.transform(&data);
        }
        require_numeric_kinds("StandardScaler", &data)?;
        Ok(map_columns_owned(data, |j| self.column(j)))
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.vector("mean", &self.mean)?;
        w.vector("scale", &self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standardises_ignoring_nan() {
        let f = super::super::numeric_feature("x");
        let d = Dataset::new(4, vec![1.0, 3.0, f64::NAN, 5.0], vec![f], None).unwrap();
        let s = StandardScalerParams::default().fit(&d).unwrap();
        assert_eq!(s.mean(), &[3.0]);
        let sd = (8.0f64 / 3.0).sqrt();
        assert!((s.scale()[0] - sd).abs() < 1e-15);
        let out = s.transform(&d).unwrap();
        assert!((out.column(0)[0] + 2.0 / sd).abs() < 1e-15);
        assert!(out.is_missing(2, 0));
    }

    #[test]
    fn constant_feature_has_unit_scale() {
        let f = super::super::numeric_feature("x");
        let d = Dataset::new(3, vec![2.0; 3], vec![f], None).unwrap();
        let s = StandardScalerParams::default().fit(&d).unwrap();
        assert_eq!(s.scale(), &[1.0]);
    }
}
