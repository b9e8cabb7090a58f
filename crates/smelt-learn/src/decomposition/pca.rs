//! Principal component analysis (scikit-learn's `PCA`).
//!
//! With `X̃ = X − x̄` (column means) and its SVD `X̃ = U S Vᵀ`, the components are the rows of
//! `Vᵀ`, the explained variances `S² / (n − 1)`, and the transform is `(X − x̄) Vₖ`
//! (divided by `√explained_variance` when `whiten`). Signs follow scikit-learn's
//! `svd_flip(u_based_decision=False)`: in each component the entry of largest magnitude is
//! positive.
//!
//! Solvers (`svd_solver`):
//!
//! * `covariance_eigh`: eigendecomposition of the `p × p` covariance `X̃ᵀX̃ / (n − 1)`,
//!   accumulated over row blocks of `X̃` in parallel (one pass over the data, no copy of it).
//!   By far the fastest for tall, skinny data, and what `auto` picks when `p ≤ 1000` and
//!   `n ≥ 10 p` (scikit-learn's rule). Squaring the condition number costs precision only in
//!   directions of tiny variance.
//! * `full`: thin SVD of the centred copy of `X` (exact, `O(n p²)` with a larger constant).
//! * `randomized`: Halko et al.'s randomized SVD: `Q` = orthonormal basis of `X̃ Ω` (Ω Gaussian,
//!   `p × (k + n_oversamples)`), refined by `iterated_power` power iterations re-orthonormalised
//!   by QR (scikit-learn uses LU for more than 2 iterations; both span the same subspace), then
//!   the SVD of the small `Qᵀ X̃`. The centring is implicit (`X̃ Ω = X Ω − 1 (x̄ᵀ Ω)`), so `X` is
//!   not copied.
//!
//! `auto` follows scikit-learn: `covariance_eigh` for tall-skinny data, else `full` when
//! `max(n, p) ≤ 500` or `n_components` is a fraction, else `randomized` when
//! `n_components < 0.8 · min(n, p)`, else `full`.

use crate::util::{tall_mul, tall_t_mul};
use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par, Side};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::model::require_numeric;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, FeatureKind, Fit, FitTransform,
    LogicalType, ParamError, Registry, Result, Transform, UnknownCategory,
};

use smelt_core::rng::Rng;

use smelt_core::artifact::{load_common, save_common};

use crate::util::mat;

/// How many components to keep (scikit-learn's `n_components`).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NComponents {
    /// Exactly this many, `[1, min(n_rows, n_features)]`.
    Count(usize),
    /// The fewest components whose explained variance ratio exceeds this fraction, `(0, 1)`
    /// (`full` and `covariance_eigh` solvers).
    Fraction(f64),
}

impl std::fmt::Display for NComponents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NComponents::Count(c) => write!(f, "{c}"),
            NComponents::Fraction(x) => write!(f, "{x}"),
        }
    }
}

/// The SVD solver (scikit-learn's `svd_solver`); see the `decomposition::pca` module docs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SvdSolver {
    /// Chosen by shape (scikit-learn's rule).
    #[default]
    Auto,
    /// Exact thin SVD of the centred data.
    Full,
    /// Eigendecomposition of the covariance matrix.
    CovarianceEigh,
    /// Randomized truncated SVD.
    Randomized,
}

/// Power iterations of the randomized solver (scikit-learn's `iterated_power`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "PowerRepr", into = "PowerRepr")]
pub enum IteratedPower {
    /// 7 when `n_components < 0.1 · min(n, p)`, else 4.
    #[default]
    Auto,
    /// This many.
    Count(usize),
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum PowerRepr {
    Count(usize),
    Name(String),
}

impl TryFrom<PowerRepr> for IteratedPower {
    type Error = String;
    fn try_from(r: PowerRepr) -> std::result::Result<Self, String> {
        match r {
            PowerRepr::Count(n) => Ok(IteratedPower::Count(n)),
            PowerRepr::Name(s) if s == "auto" => Ok(IteratedPower::Auto),
            PowerRepr::Name(s) => Err(format!(
                "iterated_power must be \"auto\" or an integer, got {s:?}"
            )),
        }
    }
}

impl From<IteratedPower> for PowerRepr {
    fn from(p: IteratedPower) -> Self {
        match p {
            IteratedPower::Auto => PowerRepr::Name("auto".into()),
            IteratedPower::Count(c) => PowerRepr::Count(c),
        }
    }
}

smelt_core::params! {
    /// Parameters of [`Pca`] (scikit-learn's `PCA`).
    pub struct PcaParams("PCA") {
        /// Components to keep: `None` (default: `min(n_rows, n_features)`), an integer in
        /// `[1, min(n_rows, n_features)]`, or a variance fraction in `(0, 1)`.
        n_components: Option<NComponents> = None, setter: none;
        /// Scale the outputs to unit variance; default `false`.
        whiten: bool = false;
        /// `auto` (default), `full`, `covariance_eigh` or `randomized`.
        svd_solver: SvdSolver = SvdSolver::Auto;
        /// Power iterations of `randomized`, `"auto"` (default) or `[0, inf)`.
        iterated_power: IteratedPower = IteratedPower::Auto, setter: none;
        /// Extra random directions of `randomized`, `[0, inf)`; default 10.
        n_oversamples: usize = 10;
        /// Seed of `randomized`; default 0.
        random_state: u64 = 0;
    }
}

impl PcaParams {
    /// Keeps `k` components.
    pub fn n_components(mut self, k: usize) -> Self {
        self.n_components = Some(NComponents::Count(k));
        self
    }
    /// Keeps the fewest components explaining more than `f` of the variance.
    pub fn variance_fraction(mut self, f: f64) -> Self {
        self.n_components = Some(NComponents::Fraction(f));
        self
    }
    /// Sets `iterated_power`.
    pub fn iterated_power(mut self, v: usize) -> Self {
        self.iterated_power = IteratedPower::Count(v);
        self
    }
}

/// A fitted PCA.
#[derive(Clone, Debug, PartialEq)]
pub struct Pca {
    params: PcaParams,
    input: Vec<Feature>,
    mean: Vec<f64>,
    /// Row-major `n_components × n_features`.
    components: Vec<f64>,
    explained_variance: Vec<f64>,
    explained_variance_ratio: Vec<f64>,
    singular_values: Vec<f64>,
    noise_variance: f64,
    n_samples: usize,
}

const NAME: &str = "PCA";

/// Rows per block of the covariance accumulation.
const BLOCK: usize = 4096;

/// Column means.
fn means(x: MatRef<'_, f64>) -> Vec<f64> {
    let n = x.nrows();
    (0..x.ncols())
        .into_par_iter()
        .map(|j| x.col(j).iter().sum::<f64>() / n as f64)
        .collect()
}

/// `(X − x̄)ᵀ(X − x̄)`, accumulated over row blocks (in parallel, added in block order).
fn centred_gram(x: MatRef<'_, f64>, mean: &[f64]) -> Mat<f64> {
    let (n, p) = (x.nrows(), x.ncols());
    let nb = n.div_ceil(BLOCK);
    let parts: Vec<Mat<f64>> = (0..nb)
        .into_par_iter()
        .map(|b| {
            let r0 = b * BLOCK;
            let len = BLOCK.min(n - r0);
            let xb = x.subrows(r0, len);
            let c = Mat::from_fn(len, p, |i, j| xb[(i, j)] - mean[j]);
            let mut g = Mat::<f64>::zeros(p, p);
            matmul(
                g.as_mut(),
                Accum::Replace,
                c.transpose(),
                c.as_ref(),
                1.0,
                Par::Seq,
            );
            g
        })
        .collect();
    let mut g = Mat::<f64>::zeros(p, p);
    for part in parts {
        g += part;
    }
    g
}

/// scikit-learn's `svd_flip(u_based_decision=False)` on the rows of `vt` (k × p, row-major):
/// the entry of largest magnitude (first on ties) of each row becomes positive.
fn svd_flip_rows(vt: &mut [f64], p: usize) {
    for row in vt.chunks_mut(p.max(1)) {
        let mut best = 0;
        for (j, v) in row.iter().enumerate() {
            if v.abs() > row[best].abs() {
                best = j;
            }
        }
        if row.get(best).is_some_and(|v| *v < 0.0) {
            row.iter_mut().for_each(|v| *v = -*v);
        }
    }
}

fn numerical(message: String) -> CoreError {
    CoreError::Numerical {
        estimator: NAME,
        message,
    }
}

/// Spectrum of the centred data: `(explained variance (all), Vᵀ rows (all, row-major),
/// singular values (all))`.
type Spectrum = (Vec<f64>, Vec<f64>, Vec<f64>);

fn full_svd(x: MatRef<'_, f64>, mean: &[f64]) -> Result<Spectrum> {
    let (n, p) = (x.nrows(), x.ncols());
    let mut xc = Mat::<f64>::zeros(n, p);
    xc.par_col_chunks_mut(1)
        .enumerate()
        .for_each(|(j, mut col)| {
            for i in 0..n {
                col[(i, 0)] = x[(i, j)] - mean[j];
            }
        });
    let svd = xc
        .thin_svd()
        .map_err(|e| numerical(format!("SVD did not converge: {e:?}")))?;
    let s = svd.S().column_vector();
    let v = svd.V();
    let r = s.nrows();
    let sv: Vec<f64> = (0..r).map(|i| s[i]).collect();
    let ev = sv.iter().map(|s| s * s / (n as f64 - 1.0)).collect();
    let mut vt = Vec::with_capacity(r * p);
    for c in 0..r {
        vt.extend((0..p).map(|j| v[(j, c)]));
    }
    Ok((ev, vt, sv))
}

fn covariance_eigh(x: MatRef<'_, f64>, mean: &[f64]) -> Result<Spectrum> {
    let (n, p) = (x.nrows(), x.ncols());
    let mut c = centred_gram(x, mean);
    c *= faer::Scale(1.0 / (n as f64 - 1.0));
    let evd = c
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| numerical(format!("eigendecomposition did not converge: {e:?}")))?;
    let s = evd.S().column_vector();
    let u = evd.U();
    // Eigenvalues come in increasing order: reverse, and clip rounding below zero.
    let ev: Vec<f64> = (0..p).rev().map(|i| s[i].max(0.0)).collect();
    let sv = ev.iter().map(|e| (e * (n as f64 - 1.0)).sqrt()).collect();
    let mut vt = Vec::with_capacity(p * p);
    for c in (0..p).rev() {
        vt.extend((0..p).map(|j| u[(j, c)]));
    }
    Ok((ev, vt, sv))
}

/// An orthonormal basis of the columns of a tall `y`, by SVQB twice (Stathopoulos & Wu):
/// `YᵀY = V Λ Vᵀ`, `Q = Y V Λ^{-1/2}`. Two passes give orthogonality to rounding when
/// `cond(Y) < ~1e6`; `None` when `Y` is (numerically) rank deficient.
fn orthonormalise(y: Mat<f64>) -> Option<Mat<f64>> {
    let l = y.ncols();
    let mut q = y;
    for _ in 0..2 {
        let g = tall_t_mul(q.as_ref(), q.as_ref());
        let evd = g.self_adjoint_eigen(Side::Lower).ok()?;
        let s = evd.S().column_vector();
        let u = evd.U();
        let max = (0..l).map(|i| s[i]).fold(0.0, f64::max);
        let tiny = |v: f64| v.is_nan() || v <= max * 1e-13;
        if max.is_nan() || max <= 0.0 || (0..l).any(|i| tiny(s[i])) {
            return None;
        }
        let m = Mat::from_fn(l, l, |i, j| u[(i, j)] / s[j].sqrt());
        q = tall_mul(q.as_ref(), m.as_ref());
    }
    Some(q)
}

/// Randomized SVD of `X − 1 x̄ᵀ` (implicit centring); the top `k` triplets. `None` when the
/// sampled subspace is rank deficient (the caller falls back to an exact solver).
fn randomized(
    x: MatRef<'_, f64>,
    mean: &[f64],
    k: usize,
    oversamples: usize,
    n_iter: usize,
    seed: u64,
) -> Result<Option<Spectrum>> {
    let (n, p) = (x.nrows(), x.ncols());
    let l = (k + oversamples).min(n.min(p));
    let mut rng = Rng::new(seed);
    let mut q = Mat::<f64>::zeros(p, l);
    for c in 0..l {
        for j in 0..p {
            q[(j, c)] = rng.normal();
        }
    }
    // A Q = X Q − 1 (x̄ᵀ Q)
    let a_mul = |q: &Mat<f64>| -> Mat<f64> {
        let mut y = tall_mul(x, q.as_ref());
        for c in 0..q.ncols() {
            let s: f64 = (0..p).map(|j| mean[j] * q[(j, c)]).sum();
            for v in y.col_as_slice_mut(c) {
                *v -= s;
            }
        }
        y
    };
    // Aᵀ Z = Xᵀ Z − x̄ (1ᵀ Z)
    let at_mul = |z: &Mat<f64>| -> Mat<f64> {
        let mut y = tall_t_mul(x, z.as_ref());
        for c in 0..z.ncols() {
            let s: f64 = z.col_as_slice(c).iter().sum();
            for j in 0..p {
                y[(j, c)] -= mean[j] * s;
            }
        }
        y
    };
    for _ in 0..n_iter {
        let Some(y) = orthonormalise(a_mul(&q)) else {
            return Ok(None);
        };
        // p × l: small, so faer's QR.
        q = at_mul(&y).qr().compute_thin_Q();
    }
    let Some(q) = orthonormalise(a_mul(&q)) else {
        return Ok(None);
    };
    // B = Qᵀ A = (Aᵀ Q)ᵀ, l × p.
    let b = at_mul(&q).transpose().to_owned();
    let svd = b
        .thin_svd()
        .map_err(|e| numerical(format!("SVD did not converge: {e:?}")))?;
    let s = svd.S().column_vector();
    let v = svd.V();
    let k = k.min(s.nrows());
    let sv: Vec<f64> = (0..k).map(|i| s[i]).collect();
    let ev = sv.iter().map(|s| s * s / (n as f64 - 1.0)).collect();
    let mut vt = Vec::with_capacity(k * p);
    for c in 0..k {
        vt.extend((0..p).map(|j| v[(j, c)]));
    }
    Ok(Some((ev, vt, sv)))
}

impl Fit for PcaParams {
    type Model = Pca;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let (ok, allowed) = match self.n_components {
            None => (true, ""),
            Some(NComponents::Count(c)) => (c >= 1, "an integer in [1, min(n_rows, n_features)]"),
            Some(NComponents::Fraction(_)) if self.svd_solver == SvdSolver::Randomized => (
                false,
                "an integer with svd_solver = \"randomized\" (a variance fraction needs the full spectrum)",
            ),
            Some(NComponents::Fraction(f)) => (f > 0.0 && f < 1.0, "a float in (0, 1)"),
        };
        let shown = self
            .n_components
            .map_or_else(|| "None".to_string(), |c| c.to_string());
        self.range_check(NAME)
            .require(ok, "n_components", allowed, shown)
            .finish()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Pca> {
        self.validate()?;
        if w.is_some() {
            return Err(CoreError::SampleWeight {
                estimator: NAME,
                reason: "PCA does not take sample weights".into(),
            });
        }
        require_numeric(NAME, data)?;
        let (n, p) = (data.n_rows(), data.n_features());
        if n < 2 {
            return Err(CoreError::TooFew {
                estimator: NAME,
                what: "rows",
                needed: 2,
                got: n,
            });
        }
        let r = n.min(p);
        let requested = match self.n_components {
            None => r,
            Some(NComponents::Count(c)) => c,
            Some(NComponents::Fraction(_)) => 0,
        };
        if requested > r {
            return Err(CoreError::TooFew {
                estimator: NAME,
                what: "rows and features (n_components <= min(n_rows, n_features))",
                needed: requested,
                got: r,
            });
        }
        let fraction = matches!(self.n_components, Some(NComponents::Fraction(_)));
        let solver = match self.svd_solver {
            SvdSolver::Auto if p <= 1000 && n >= 10 * p => SvdSolver::CovarianceEigh,
            SvdSolver::Auto if n.max(p) <= 500 || fraction => SvdSolver::Full,
            SvdSolver::Auto if (requested as f64) < 0.8 * r as f64 => SvdSolver::Randomized,
            SvdSolver::Auto => SvdSolver::Full,
            s => s,
        };
        let x = mat(data);
        let mean = means(x);
        let (ev_all, vt_all, sv_all) = match solver {
            SvdSolver::Randomized => {
                let n_iter = match self.iterated_power {
                    IteratedPower::Count(c) => c,
                    IteratedPower::Auto if (requested as f64) < 0.1 * r as f64 => 7,
                    IteratedPower::Auto => 4,
                };
                match randomized(
                    x,
                    &mean,
                    requested,
                    self.n_oversamples,
                    n_iter,
                    self.random_state,
                )? {
                    Some(s) => s,
                    // Rank-deficient data: the exact solver, truncated to k below.
                    None if p <= n => covariance_eigh(x, &mean)?,
                    None => full_svd(x, &mean)?,
                }
            }
            SvdSolver::Full => full_svd(x, &mean)?,
            _ => covariance_eigh(x, &mean)?,
        };
        let (k, ratio_all, noise) = if solver == SvdSolver::Randomized {
            // Total variance from the data, since only k singular values are known.
            let total: f64 = (0..p)
                .into_par_iter()
                .map(|j| {
                    let c = x.col(j);
                    c.iter().map(|v| (v - mean[j]) * (v - mean[j])).sum::<f64>()
                })
                .collect::<Vec<_>>()
                .iter()
                .sum::<f64>()
                / (n as f64 - 1.0);
            let k = requested.min(ev_all.len());
            let noise = if k < r {
                (total - ev_all[..k].iter().sum::<f64>()) / (r - k) as f64
            } else {
                0.0
            };
            let ratio = ev_all.iter().map(|e| e / total).collect::<Vec<_>>();
            (k, ratio, noise)
        } else {
            let total: f64 = ev_all.iter().sum();
            let ratio: Vec<f64> = ev_all.iter().map(|e| e / total).collect();
            let k = match self.n_components {
                Some(NComponents::Fraction(f)) => {
                    // searchsorted(cumsum, f, side="right") + 1
                    let mut acc = 0.0;
                    let below = ratio
                        .iter()
                        .take_while(|r| {
                            acc += *r;
                            acc <= f
                        })
                        .count();
                    (below + 1).min(ratio.len())
                }
                _ => requested,
            };
            let noise = if k < r {
                let rest = &ev_all[k..];
                rest.iter().sum::<f64>() / rest.len() as f64
            } else {
                0.0
            };
            (k, ratio, noise)
        };
        let mut components = vt_all[..k * p].to_vec();
        svd_flip_rows(&mut components, p);
        Ok(Pca {
            params: self.clone(),
            input: data.features().to_vec(),
            mean,
            components,
            explained_variance: ev_all[..k].to_vec(),
            explained_variance_ratio: ratio_all[..k].to_vec(),
            singular_values: sv_all[..k].to_vec(),
            noise_variance: noise,
            n_samples: n,
        })
    }
}

impl FitTransform for PcaParams {
    fn name(&self) -> &'static str {
        NAME
    }
    fn check(&self) -> Vec<ParamError> {
        Fit::check(self)
    }
    fn fit_transform(&self, data: &Dataset<f64>) -> Result<(Box<dyn Transform>, Dataset<f64>)> {
        let m = self.fit(data)?;
        let out = m.transform(data)?;
        Ok((Box::new(m), out))
    }
}

fn numeric(name: String) -> Feature {
    Feature {
        name,
        ltype: LogicalType::Numeric,
        kind: FeatureKind::Numeric,
    }
}

impl Pca {
    /// The transformer kind in model files.
    pub const KIND: &'static str = "pca";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &PcaParams {
        &self.params
    }

    /// Number of components kept.
    pub fn n_components(&self) -> usize {
        self.explained_variance.len()
    }

    /// Principal axes, row-major `n_components × n_features`, sign-normalised like
    /// scikit-learn's `svd_flip(u_based_decision=False)`.
    pub fn components(&self) -> &[f64] {
        &self.components
    }

    /// Variance along each component (`S² / (n − 1)`).
    pub fn explained_variance(&self) -> &[f64] {
        &self.explained_variance
    }

    /// Fraction of the total variance along each component.
    pub fn explained_variance_ratio(&self) -> &[f64] {
        &self.explained_variance_ratio
    }

    /// Singular values of the centred data.
    pub fn singular_values(&self) -> &[f64] {
        &self.singular_values
    }

    /// Column means of the training data.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Probabilistic PCA noise variance: the mean variance of the discarded directions.
    pub fn noise_variance(&self) -> f64 {
        self.noise_variance
    }

    /// Rows seen in training.
    pub fn n_samples(&self) -> usize {
        self.n_samples
    }

    /// Components as a `p × k` matrix, scaled for whitening when asked (`scale_up`: multiply by
    /// `√ev`, for the inverse; otherwise divide).
    fn projection(&self, scale_up: bool) -> Mat<f64> {
        let p = self.input.len();
        let k = self.n_components();
        let scale: Vec<f64> = self
            .explained_variance
            .iter()
            .map(|e| {
                if !self.params.whiten {
                    1.0
                } else {
                    let s = e.sqrt().max(f64::EPSILON);
                    if scale_up { s } else { 1.0 / s }
                }
            })
            .collect();
        Mat::from_fn(p, k, |j, c| self.components[c * p + j] * scale[c])
    }

    /// Maps component scores back to the feature space: `Z Vₖᵀ + x̄` (undoing the whitening).
    /// The input has the columns [`Transform::output_features`] names (`pc1`…); the output the
    /// training features.
    pub fn inverse_transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let outs = self.output_features();
        let d = data.conform(&outs, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let z = mat(&d);
        let pr = self.projection(true);
        let y = z * pr.transpose();
        let n = d.n_rows();
        let p = self.input.len();
        let mut values = Vec::with_capacity(n * p);
        for j in 0..p {
            values.extend(y.col_as_slice(j).iter().map(|v| v + self.mean[j]));
        }
        let features = self.input.iter().map(|f| numeric(f.name.clone())).collect();
        Dataset::new(n, values, features, data.named_target())
    }

    /// Registry loader (a transformer).
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Transform>> {
        Ok(Box::new(Self::load_pca(r)?))
    }

    /// Reads back what [`Transform::save`] wrote.
    pub fn load_pca(r: &ArtifactReader) -> Result<Pca> {
        let (input, params): (Vec<Feature>, PcaParams) = load_common(r)?;
        let p = input.len();
        let k: usize = r.get("n_components")?;
        Ok(Pca {
            mean: r.vector("mean", p)?,
            components: r.matrix("components", k, p)?,
            explained_variance: r.vector("explained_variance", k)?,
            explained_variance_ratio: r.vector("explained_variance_ratio", k)?,
            singular_values: r.vector("singular_values", k)?,
            noise_variance: r.get("noise_variance")?,
            n_samples: r.get("n_samples")?,
            input,
            params,
        })
    }
}

impl Transform for Pca {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output_features(&self) -> Vec<Feature> {
        (1..=self.n_components())
            .map(|c| numeric(format!("pc{c}")))
            .collect()
    }

    fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let x = mat(&d);
        let pr = self.projection(false);
        let y = x * &pr;
        // Centre after projecting (x̄ᵀ P once), so X is never copied.
        let shift =
            MatRef::from_column_major_slice(&self.mean, self.mean.len(), 1).transpose() * &pr;
        let n = d.n_rows();
        let k = self.n_components();
        let mut values = Vec::with_capacity(n * k);
        for c in 0..k {
            let s = shift[(0, c)];
            values.extend(y.col_as_slice(c).iter().map(|v| v - s));
        }
        Dataset::new(n, values, self.output_features(), data.named_target())
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        let (k, p) = (self.n_components(), self.input.len());
        w.put("n_components", &k)?;
        w.array("mean", &[p], &self.mean)?;
        w.array("components", &[k, p], &self.components)?;
        w.array("explained_variance", &[k], &self.explained_variance)?;
        w.array(
            "explained_variance_ratio",
            &[k],
            &self.explained_variance_ratio,
        )?;
        w.array("singular_values", &[k], &self.singular_values)?;
        w.put("noise_variance", &self.noise_variance)?;
        w.put("n_samples", &self.n_samples)
    }
}
