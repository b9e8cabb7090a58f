//! Support vector machines: [`SVC`] and [`SVR`] (kernel machines solved by SMO, as libsvm) and
//! [`LinearSVC`] (liblinear's dual coordinate descent and primal Newton solvers).
//!
//! Kernel machines solve the dual problem
//!
//! ```text
//! min_α  ½ αᵀQα + pᵀα    subject to  yᵀα = 0,  0 ≤ α_i ≤ C_i
//! ```
//!
//! with `Q_ij = y_i y_j K(x_i, x_j)` and predict `f(x) = Σ_i y_i α_i K(x_i, x) - ρ`. The rows
//! with `α_i > 0` are the support vectors. `C_i = C · class_weight[y_i] · sample_weight_i`, as
//! scikit-learn's libsvm does. Kernels:
//!
//! ```text
//! linear   K(x, z) = x·z
//! poly     K(x, z) = (γ x·z + coef0)^degree
//! rbf      K(x, z) = exp(-γ ‖x - z‖²)
//! sigmoid  K(x, z) = tanh(γ x·z + coef0)
//! ```
//!
//! with `γ = 1 / (n_features · Var(X))` for `gamma = "scale"` and `1 / n_features` for
//! `"auto"`. Every estimator here needs numeric features without missing values; scale them
//! first (a `StandardScaler` in a pipeline), as for scikit-learn.
//!
//! ```
//! use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Prediction, Predictor, Target};
//! use smelt_learn::svm::SVCParams;
//!
//! let x = Feature { name: "x".into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric };
//! let y = Target::Classification { codes: vec![0, 0, 0, 1, 1, 1], classes: vec!["a".into(), "b".into()] };
//! let data = Dataset::new(6, vec![-3.0, -2.0, -1.0, 1.0, 2.0, 3.0], vec![x], Some(("y".into(), y))).unwrap();
//! let model = SVCParams::default().c(10.0).fit(&data).unwrap();
//! assert_eq!(model.n_support(), &[2, 2]); // as scikit-learn: rows 0, 2, 3, 5
//! let dec = model.decision_function(&data).unwrap();
//! assert!(dec[0] < 0.0 && dec[5] > 0.0); // positive: the second class
//! let Prediction::Classification { labels, .. } = model.predict(&data).unwrap() else { unreachable!() };
//! assert_eq!(labels, vec![0, 0, 0, 1, 1, 1]);
//! ```

mod linear_svc;
mod platt;
mod qmatrix;
mod smo;
mod svc;
mod svr;

pub use linear_svc::{Dual, LinearSVC, LinearSVCParams, LinearSvcLoss, Penalty};
pub use svc::{DecisionShape, SVC, SVCParams};
pub use svr::{SVR, SVRParams};

use std::collections::BTreeMap;

use faer::{Accum, Mat, MatRef, Par};
use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smelt_core::{CoreError, ParamCheck, ParamError, Result};

/// The kernel of [`SVC`] and [`SVR`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// `x·z`.
    Linear,
    /// `(γ x·z + coef0)^degree`.
    Poly,
    /// `exp(-γ ‖x - z‖²)` (the default).
    #[default]
    Rbf,
    /// `tanh(γ x·z + coef0)`.
    Sigmoid,
}

/// The kernel coefficient `γ`: `"scale"`, `"auto"` or a number.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Gamma {
    /// `1 / (n_features · Var(X))` over all values of `X` (1 when the variance is 0).
    #[default]
    Scale,
    /// `1 / n_features`.
    Auto,
    /// A fixed value in `[0, inf)`.
    Value(f64),
}

impl Serialize for Gamma {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Gamma::Scale => s.serialize_str("scale"),
            Gamma::Auto => s.serialize_str("auto"),
            Gamma::Value(v) => s.serialize_f64(*v),
        }
    }
}

impl<'de> Deserialize<'de> for Gamma {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Value(f64),
        }
        match Repr::deserialize(d)? {
            Repr::Value(v) => Ok(Gamma::Value(v)),
            Repr::Name(n) if n == "scale" => Ok(Gamma::Scale),
            Repr::Name(n) if n == "auto" => Ok(Gamma::Auto),
            Repr::Name(n) => Err(serde::de::Error::custom(format!(
                "gamma must be \"scale\", \"auto\" or a number, got {n:?}"
            ))),
        }
    }
}

impl Gamma {
    /// The value of `γ` for the training matrix `x` (any layout: only the values matter).
    pub(crate) fn resolve(self, values: &[f64], n_features: usize) -> f64 {
        match self {
            Gamma::Value(v) => v,
            Gamma::Auto => 1.0 / n_features.max(1) as f64,
            Gamma::Scale => {
                let n = values.len() as f64;
                if values.is_empty() {
                    return 1.0;
                }
                let mean = values.iter().sum::<f64>() / n;
                let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                if var == 0.0 {
                    1.0
                } else {
                    1.0 / (n_features.max(1) as f64 * var)
                }
            }
        }
    }
}

/// Per-class multipliers of `C`: `"balanced"` or a map from class label to weight.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    /// `n_samples / (n_classes · count(class))`.
    Balanced,
    /// Explicit weights by class label (classes not listed weigh 1).
    Weights(BTreeMap<String, f64>),
}

impl Serialize for ClassWeight {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ClassWeight::Balanced => s.serialize_str("balanced"),
            ClassWeight::Weights(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ClassWeight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Map(BTreeMap<String, f64>),
        }
        match Repr::deserialize(d)? {
            Repr::Map(m) => Ok(ClassWeight::Weights(m)),
            Repr::Name(n) if n == "balanced" => Ok(ClassWeight::Balanced),
            Repr::Name(n) => Err(serde::de::Error::custom(format!(
                "class_weight must be \"balanced\" or a map of class to weight, got {n:?}"
            ))),
        }
    }
}

impl ClassWeight {
    /// Checks the explicit weights (finite, non-negative).
    fn check(&self, c: ParamCheck) -> ParamCheck {
        match self {
            ClassWeight::Balanced => c,
            ClassWeight::Weights(m) => {
                let bad = m.iter().find(|(_, v)| !v.is_finite() || **v < 0.0);
                c.require(
                    bad.is_none(),
                    "class_weight",
                    "\"balanced\" or non-negative finite weights",
                    bad.map(|(k, v)| format!("{k}: {v}")).unwrap_or_default(),
                )
            }
        }
    }
}

/// One weight per class (code order). `counts` are the (possibly weighted) class sizes used by
/// `"balanced"`; an explicit weight for a label that is not a class is a parameter error.
pub(crate) fn class_weights(
    estimator: &'static str,
    cw: Option<&ClassWeight>,
    classes: &[String],
    counts: &[f64],
) -> Result<Vec<f64>> {
    match cw {
        None => Ok(vec![1.0; classes.len()]),
        Some(ClassWeight::Balanced) => {
            let present = counts.iter().filter(|&&c| c > 0.0).count() as f64;
            let total: f64 = counts.iter().sum();
            Ok(counts
                .iter()
                .map(|&c| if c > 0.0 { total / (present * c) } else { 1.0 })
                .collect())
        }
        Some(ClassWeight::Weights(m)) => {
            if let Some(k) = m.keys().find(|k| !classes.contains(k)) {
                return Err(CoreError::Params(vec![ParamError {
                    estimator,
                    param: "class_weight",
                    allowed: format!("weights for the classes {classes:?}"),
                    got: format!("a weight for {k:?}"),
                }]));
            }
            Ok(classes
                .iter()
                .map(|c| m.get(c).copied().unwrap_or(1.0))
                .collect())
        }
    }
}

/// `max_iter` as scikit-learn spells it: `-1` (or null) means no limit.
pub(crate) mod max_iter_serde {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(n) => s.serialize_u64(*n as u64),
            None => s.serialize_i64(-1),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        let v: Option<i64> = Option::deserialize(d)?;
        Ok(match v {
            None => None,
            Some(n) if n < 0 => None,
            Some(n) => Some(n as usize),
        })
    }
}

/// A kernel with its coefficients resolved.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct KernelFn {
    pub kernel: Kernel,
    pub gamma: f64,
    pub coef0: f64,
    pub degree: i32,
}

impl KernelFn {
    /// `K(x, z)` from `x·z` and the squared norms (only rbf uses them).
    #[inline]
    pub fn eval_dot(&self, dot: f64, xx: f64, zz: f64) -> f64 {
        match self.kernel {
            Kernel::Linear => dot,
            Kernel::Poly => (self.gamma * dot + self.coef0).powi(self.degree),
            Kernel::Rbf => (-self.gamma * (xx + zz - 2.0 * dot)).exp(),
            Kernel::Sigmoid => (self.gamma * dot + self.coef0).tanh(),
        }
    }
}

/// `x·z` with four accumulators (vectorises; the order is fixed, so results are reproducible).
#[inline]
pub(crate) fn dot(x: &[f64], z: &[f64]) -> f64 {
    let n = x.len().min(z.len());
    let (x, z) = (&x[..n], &z[..n]);
    let mut acc = [0.0f64; 4];
    let chunks = n / 4;
    for c in 0..chunks {
        let k = 4 * c;
        acc[0] += x[k] * z[k];
        acc[1] += x[k + 1] * z[k + 1];
        acc[2] += x[k + 2] * z[k + 2];
        acc[3] += x[k + 3] * z[k + 3];
    }
    let mut s = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for k in 4 * chunks..n {
        s += x[k] * z[k];
    }
    s
}

/// Rows per block when predicting (bounds the `block × n_sv` kernel matrix).
const BLOCK: usize = 256;

/// Kernel expansion for prediction: `out = K(X, SV) · coef` (`n × n_out`, row-major), with
/// `sv` the support vectors (`n_sv × p`) and `coef` the `n_sv × n_out` expansion weights. The
/// kernel matrix is formed block by block from one GEMM (`X · SVᵀ`), in parallel over blocks.
pub(crate) fn kernel_expansion(
    k: &KernelFn,
    x: MatRef<'_, f64>,
    sv: MatRef<'_, f64>,
    sv_sq: &[f64],
    coef: MatRef<'_, f64>,
) -> Vec<f64> {
    let n = x.nrows();
    let n_out = coef.ncols();
    let n_sv = sv.nrows();
    let mut out = vec![0.0; n * n_out];
    out.par_chunks_mut(BLOCK * n_out)
        .enumerate()
        .for_each(|(b, chunk)| {
            let start = b * BLOCK;
            let nb = chunk.len() / n_out.max(1);
            let xb = x.subrows(start, nb);
            let mut g = Mat::<f64>::zeros(nb, n_sv);
            faer::linalg::matmul::matmul(
                g.as_mut(),
                Accum::Replace,
                xb,
                sv.transpose(),
                1.0,
                Par::Seq,
            );
            if k.kernel != Kernel::Linear {
                let xsq: Vec<f64> = (0..nb)
                    .map(|i| {
                        let r = xb.row(i);
                        (0..r.ncols()).map(|j| r[j] * r[j]).sum()
                    })
                    .collect();
                for (j, &zz) in sv_sq.iter().enumerate() {
                    let col = g.col_mut(j).try_as_col_major_mut();
                    if let Some(col) = col {
                        for (v, &xx) in col.as_slice_mut().iter_mut().zip(&xsq) {
                            *v = k.eval_dot(*v, xx, zz);
                        }
                    }
                }
            }
            let mut d = Mat::<f64>::zeros(nb, n_out);
            faer::linalg::matmul::matmul(d.as_mut(), Accum::Replace, &g, coef, 1.0, Par::Seq);
            for i in 0..nb {
                for o in 0..n_out {
                    chunk[i * n_out + o] = d[(i, o)];
                }
            }
        });
    out
}

/// Squared norm of every row of a row-major `n × p` matrix.
pub(crate) fn row_norms(x: &[f64], n: usize, p: usize) -> Vec<f64> {
    if p == 0 {
        return vec![0.0; n];
    }
    x.chunks_exact(p).map(|r| dot(r, r)).collect()
}
