//! `MinMaxScaler` and `RobustScaler`.
//!
//! * `MinMaxScaler`: `x · scale + min` with `scale = (hi - lo) / (max - min)` and
//!   `min = lo - data_min · scale`, mapping the training range onto `feature_range = (lo, hi)`
//!   (optionally clipped at transform time).
//! * `RobustScaler`: `(x - median) / (q_max - q_min)`, the interquartile range by default, so
//!   outliers do not set the scale. Quantiles use numpy's default linear interpolation
//!   (`np.nanpercentile`); with `unit_variance` the scale is divided by
//!   `Φ⁻¹(q_max) - Φ⁻¹(q_min)`, so a normal feature ends with unit variance.
//!
//! Missing values (NaN) are ignored when fitting and kept when transforming, as in
//! scikit-learn; a range below `10·eps` counts as zero and gets scale 1
//! (scikit-learn's `_handle_zeros_in_scale`). Neither takes sample weights (scikit-learn's
//! do not either).

use rayon::prelude::*;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, ParamError, Registry, Result,
    Transform, UnknownCategory,
};

use super::{
    fit_then_transform, map_columns, map_columns_owned, reject_infinite, require_numeric_kinds,
};
use smelt_core::artifact::{load_common, save_common};

/// scikit-learn's `_handle_zeros_in_scale`: near-zero scales become 1.
fn nonzero_scale(s: f64) -> f64 {
    if s < 10.0 * f64::EPSILON { 1.0 } else { s }
}

fn no_weights(estimator: &'static str, w: Option<&[f64]>) -> Result<()> {
    match w {
        Some(_) => Err(CoreError::SampleWeight {
            estimator,
            reason: "this transformer does not use sample weights".into(),
        }),
        None => Ok(()),
    }
}

fn no_rows(estimator: &'static str) -> CoreError {
    CoreError::TooFew {
        estimator,
        what: "rows",
        needed: 1,
        got: 0,
    }
}

// ---------------------------------------------------------------------------------------------
// MinMaxScaler
// ---------------------------------------------------------------------------------------------

smelt_core::params! {
    /// Parameters of [`MinMaxScaler`].
    pub struct MinMaxScalerParams("MinMaxScaler") {
        /// Target range `(lo, hi)` (default `(0, 1)`; needs `lo < hi`, both finite).
        feature_range: (f64, f64) = (0.0, 1.0),
            range: check(
                "a pair (min, max) of finite floats with min < max",
                |&(lo, hi)| lo.is_finite() && hi.is_finite() && lo < hi,
                |(lo, hi)| format!("({lo}, {hi})")
            ),
            setter: none;
        /// Clip transformed values to `feature_range` (default `false`).
        clip: bool = false;
    }
}

impl MinMaxScalerParams {
    /// Sets `feature_range`.
    pub fn feature_range(mut self, lo: f64, hi: f64) -> Self {
        self.feature_range = (lo, hi);
        self
    }
}

/// A fitted min-max scaler.
#[derive(Clone, Debug, PartialEq)]
pub struct MinMaxScaler {
    params: MinMaxScalerParams,
    input: Vec<Feature>,
    data_min: Vec<f64>,
    data_max: Vec<f64>,
    scale: Vec<f64>,
    min: Vec<f64>,
}

impl MinMaxScaler {
    /// Kind in model files.
    pub const KIND: &'static str = "min_max_scaler";

    /// Per-feature minimum seen in training (NaN ignored).
    pub fn data_min(&self) -> &[f64] {
        &self.data_min
    }
    /// Per-feature maximum seen in training (NaN ignored).
    pub fn data_max(&self) -> &[f64] {
        &self.data_max
    }
    /// Per-feature multiplier.
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }
    /// Per-feature offset added after scaling (scikit-learn's `min_`).
    pub fn min(&self) -> &[f64] {
        &self.min
    }
    /// The hyperparameters it was fitted with (`feature_range`, `clip`).
    pub fn params(&self) -> &MinMaxScalerParams {
        &self.params
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, MinMaxScalerParams) = load_common(r)?;
        let p = input.len();
        Ok(Box::new(MinMaxScaler {
            params,
            data_min: r.vector("data_min", p)?,
            data_max: r.vector("data_max", p)?,
            scale: r.vector("scale", p)?,
            min: r.vector("min", p)?,
            input,
        }))
    }
}

impl Fit for MinMaxScalerParams {
    type Model = MinMaxScaler;

    fn name(&self) -> &'static str {
        "MinMaxScaler"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<MinMaxScaler> {
        self.validate()?;
        no_weights("MinMaxScaler", w)?;
        require_numeric_kinds("MinMaxScaler", data)?;
        reject_infinite("MinMaxScaler", data)?;
        if data.n_rows() == 0 {
            return Err(no_rows("MinMaxScaler"));
        }
        let (lo, hi) = self.feature_range;
        let stats: Vec<(f64, f64)> = (0..data.n_features())
            .into_par_iter()
            .map(|j| {
                let (mn, mx) = data
                    .column(j)
                    .iter()
                    .filter(|v| !v.is_nan())
                    .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                        (a.min(v), b.max(v))
                    });
                // A feature with no value at all: an empty range (NaN stays NaN).
                if mn > mx { (0.0, 0.0) } else { (mn, mx) }
            })
            .collect();
        let (data_min, data_max): (Vec<f64>, Vec<f64>) = stats.into_iter().unzip();
        let scale: Vec<f64> = data_min
            .iter()
            .zip(&data_max)
            .map(|(mn, mx)| (hi - lo) / nonzero_scale(mx - mn))
            .collect();
        let min = data_min
            .iter()
            .zip(&scale)
            .map(|(m, s)| lo - m * s)
            .collect();
        Ok(MinMaxScaler {
            params: self.clone(),
            input: data.features().to_vec(),
            data_min,
            data_max,
            scale,
            min,
        })
    }
}

fit_then_transform!(MinMaxScalerParams);

impl MinMaxScaler {
    /// What column `j`'s values become.
    fn column(&self, j: usize) -> impl Fn(f64) -> f64 + use<> {
        let (lo, hi) = self.params.feature_range;
        let clip = self.params.clip;
        let (s, m) = (self.scale[j], self.min[j]);
        move |v| {
            let t = v * s + m;
            // NaN stays NaN (f64::clamp would keep it too, but be explicit).
            if clip && !t.is_nan() {
                t.clamp(lo, hi)
            } else {
                t
            }
        }
    }
}

impl Transform for MinMaxScaler {
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
        require_numeric_kinds("MinMaxScaler", &d)?;
        map_columns(data, &d, &self.input, |j| self.column(j))
    }

    fn transform_owned(&self, data: Dataset<f64>) -> Result<Dataset<f64>> {
        if data.features() != self.input.as_slice() {
            return self.transform(&data);
        }
        require_numeric_kinds("MinMaxScaler", &data)?;
        Ok(map_columns_owned(data, |j| self.column(j)))
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.vector("data_min", &self.data_min)?;
        w.vector("data_max", &self.data_max)?;
        w.vector("scale", &self.scale)?;
        w.vector("min", &self.min)
    }
}

// ---------------------------------------------------------------------------------------------
// RobustScaler
// ---------------------------------------------------------------------------------------------

smelt_core::params! {
    /// Parameters of [`RobustScaler`].
    pub struct RobustScalerParams("RobustScaler") {
        /// Subtract the median (default `true`).
        with_centering: bool = true;
        /// Divide by the quantile range (default `true`).
        with_scaling: bool = true;
        /// Quantile range in percent `(q_min, q_max)` (default `(25, 75)`;
        /// `0 <= q_min <= q_max <= 100`).
        quantile_range: (f64, f64) = (25.0, 75.0),
            range: check(
                "a pair (q_min, q_max) with 0 <= q_min <= q_max <= 100",
                |&(a, b)| 0.0 <= a && a <= b && b <= 100.0,
                |(a, b)| format!("({a}, {b})")
            ),
            setter: none;
        /// Divide the scale by `Φ⁻¹(q_max/100) - Φ⁻¹(q_min/100)` so normal features end with
        /// unit variance (default `false`).
        unit_variance: bool = false;
    }
}

impl RobustScalerParams {
    /// Sets `quantile_range` (percent).
    pub fn quantile_range(mut self, q_min: f64, q_max: f64) -> Self {
        self.quantile_range = (q_min, q_max);
        self
    }
}

/// A fitted robust scaler.
#[derive(Clone, Debug, PartialEq)]
pub struct RobustScaler {
    params: RobustScalerParams,
    input: Vec<Feature>,
    /// Per-feature median (0 without centering).
    center: Vec<f64>,
    /// Per-feature scale (1 without scaling).
    scale: Vec<f64>,
}

impl RobustScaler {
    /// Kind in model files.
    pub const KIND: &'static str = "robust_scaler";

    /// Per-feature median subtracted (all 0 when `with_centering` is false).
    pub fn center(&self) -> &[f64] {
        &self.center
    }
    /// Per-feature divisor (all 1 when `with_scaling` is false).
    pub fn scale(&self) -> &[f64] {
        &self.scale
    }
    /// The hyperparameters it was fitted with (`with_centering`, `with_scaling`).
    pub fn params(&self) -> &RobustScalerParams {
        &self.params
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        let (input, params): (Vec<Feature>, RobustScalerParams) = load_common(r)?;
        let p = input.len();
        Ok(Box::new(RobustScaler {
            params,
            center: r.vector("center", p)?,
            scale: r.vector("scale", p)?,
            input,
        }))
    }
}

/// `np.percentile(sorted, q)` with linear interpolation (`q` in percent) on sorted, NaN-free
/// values, computed like numpy (virtual index `(n-1)·q/100`, `_lerp` from the nearer end).
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let q = q / 100.0;
    let virtual_index = (n as f64 * q + (1.0 - q)) - 1.0;
    let lo = virtual_index.floor().clamp(0.0, (n - 1) as f64);
    let gamma = virtual_index - virtual_index.floor();
    let i = lo as usize;
    let (a, b) = (sorted[i], sorted[(i + 1).min(n - 1)]);
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// The standard normal CDF by Marsaglia's series `½ + φ(x)(x + x³/3 + x⁵/15 + …)`, accurate to
/// a few ulps for the moderate arguments quantile ranges give.
fn norm_cdf(x: f64) -> f64 {
    if x < -8.0 {
        return 0.0;
    }
    if x > 8.0 {
        return 1.0;
    }
    let (mut sum, mut term) = (x, x);
    let x2 = x * x;
    let mut k = 1.0;
    while term.abs() > 1e-18 * sum.abs().max(1e-300) {
        k += 2.0;
        term *= x2 / k;
        sum += term;
        if k > 1000.0 {
            break;
        }
    }
    0.5 + sum * (-0.5 * x2).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The standard normal quantile `Φ⁻¹(p)`: Acklam's rational approximation refined by Newton
/// steps on [`norm_cdf`].
pub fn norm_ppf(p: f64) -> f64 {
    if p.is_nan() || !(0.0..=1.0).contains(&p) {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    let mut x = if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    };
    if x.abs() < 8.0 {
        for _ in 0..3 {
            let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
            if pdf == 0.0 {
                break;
            }
            x -= (norm_cdf(x) - p) / pdf;
        }
    }
    x
}

impl Fit for RobustScalerParams {
    type Model = RobustScaler;

    fn name(&self) -> &'static str {
        "RobustScaler"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<RobustScaler> {
        self.validate()?;
        no_weights("RobustScaler", w)?;
        require_numeric_kinds("RobustScaler", data)?;
        reject_infinite("RobustScaler", data)?;
        if data.n_rows() == 0 {
            return Err(no_rows("RobustScaler"));
        }
        let (q_min, q_max) = self.quantile_range;
        let adjust = if self.unit_variance {
            norm_ppf(q_max / 100.0) - norm_ppf(q_min / 100.0)
        } else {
            1.0
        };
        let stats: Vec<(f64, f64)> = (0..data.n_features())
            .into_par_iter()
            .map(|j| {
                let mut v: Vec<f64> = data
                    .column(j)
                    .iter()
                    .copied()
                    .filter(|v| !v.is_nan())
                    .collect();
                if v.is_empty() {
                    // No value at all: leave the feature as is (NaN stays NaN).
                    return (0.0, 1.0);
                }
                v.sort_unstable_by(f64::total_cmp);
                let center = if self.with_centering {
                    let n = v.len();
                    if n % 2 == 1 {
                        v[n / 2]
                    } else {
                        (v[n / 2 - 1] + v[n / 2]) / 2.0
                    }
                } else {
                    0.0
                };
                let scale = if self.with_scaling {
                    let range = percentile_sorted(&v, q_max) - percentile_sorted(&v, q_min);
                    nonzero_scale(range) / adjust
                } else {
                    1.0
                };
                (center, scale)
            })
            .collect();
        let (center, scale) = stats.into_iter().unzip();
        Ok(RobustScaler {
            params: self.clone(),
            input: data.features().to_vec(),
            center,
            scale,
        })
    }
}

fit_then_transform!(RobustScalerParams);

impl RobustScaler {
    /// What column `j`'s values become: as scikit-learn (subtract, then divide), for
    /// bit-level parity.
    fn column(&self, j: usize) -> impl Fn(f64) -> f64 + use<> {
        let (centering, scaling) = (self.params.with_centering, self.params.with_scaling);
        let (c, s) = (self.center[j], self.scale[j]);
        move |v| {
            let v = if centering { v - c } else { v };
            if scaling { v / s } else { v }
        }
    }
}

impl Transform for RobustScaler {
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
        require_numeric_kinds("RobustScaler", &d)?;
        map_columns(data, &d, &self.input, |j| self.column(j))
    }

    fn transform_owned(&self, data: Dataset<f64>) -> Result<Dataset<f64>> {
        if data.features() != self.input.as_slice() {
            return self.transform(&data);
        }
        require_numeric_kinds("RobustScaler", &data)?;
        Ok(map_columns_owned(data, |j| self.column(j)))
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.vector("center", &self.center)?;
        w.vector("scale", &self.scale)
    }
}

#[cfg(test)]
mod tests {
    use super::super::numeric_feature;
    use super::*;

    fn one(values: Vec<f64>) -> Dataset<f64> {
        Dataset::new(values.len(), values, vec![numeric_feature("x")], None).unwrap()
    }

    #[test]
    fn percentiles_like_numpy() {
        let v = [1.0, 2.0, 4.0, 8.0];
        // np.percentile([1,2,4,8], [25, 50, 75, 10]) = [1.75, 3., 5., 1.3]
        assert!((percentile_sorted(&v, 25.0) - 1.75).abs() < 1e-15);
        assert!((percentile_sorted(&v, 50.0) - 3.0).abs() < 1e-15);
        assert!((percentile_sorted(&v, 75.0) - 5.0).abs() < 1e-15);
        assert!((percentile_sorted(&v, 10.0) - 1.3).abs() < 1e-15);
        assert_eq!(percentile_sorted(&v, 100.0), 8.0);
        assert_eq!(percentile_sorted(&v, 0.0), 1.0);
    }

    #[test]
    fn normal_quantiles() {
        // scipy.stats.norm.ppf
        assert!((norm_ppf(0.75) - 0.674_489_750_196_081_7).abs() < 1e-15);
        assert!((norm_ppf(0.975) - 1.959_963_984_540_054).abs() < 1e-14);
        assert!((norm_ppf(0.01) + 2.326_347_874_040_841).abs() < 1e-14);
        assert!((norm_ppf(0.5)).abs() < 1e-16);
        assert_eq!(norm_ppf(0.0), f64::NEG_INFINITY);
    }

    #[test]
    fn min_max_maps_range_and_clips() {
        let d = one(vec![2.0, 4.0, f64::NAN, 6.0]);
        let m = MinMaxScalerParams::default()
            .feature_range(-1.0, 1.0)
            .clip(true)
            .fit(&d)
            .unwrap();
        let out = m.transform(&d).unwrap();
        assert_eq!(out.column(0)[0], -1.0);
        assert_eq!(out.column(0)[1], 0.0);
        assert!(out.is_missing(2, 0));
        let out = m.transform(&one(vec![10.0])).unwrap();
        assert_eq!(out.column(0), &[1.0]);
    }

    #[test]
    fn robust_uses_median_and_iqr() {
        let d = one(vec![1.0, 2.0, 4.0, 8.0, f64::NAN]);
        let m = RobustScalerParams::default().fit(&d).unwrap();
        assert_eq!(m.center(), &[3.0]);
        assert!((m.scale()[0] - 3.25).abs() < 1e-15);
    }

    #[test]
    fn invalid_ranges_are_named() {
        let e = MinMaxScalerParams::default()
            .feature_range(1.0, 1.0)
            .check();
        assert_eq!(e[0].param, "feature_range");
        let e = RobustScalerParams::default()
            .quantile_range(80.0, 20.0)
            .check();
        assert_eq!(e[0].param, "quantile_range");
    }
}
