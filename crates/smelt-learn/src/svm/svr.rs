//! ε-support vector regression (scikit-learn's `SVR`, libsvm's `EPSILON_SVR`).
//!
//! ```text
//! min_{α,α*} ½ (α - α*)ᵀ K (α - α*) + ε Σ (α_i + α*_i) - Σ y_i (α_i - α*_i)
//!   s.t. Σ (α_i - α*_i) = 0,  0 ≤ α_i, α*_i ≤ C_i
//! ```
//!
//! solved as a `2l`-variable problem by the SMO solver of [`super::smo`]; the prediction is
//! `f(x) = Σ (α_i - α*_i) K(x_i, x) + b`. `C_i = C · sample_weight_i`.

use faer::Mat;
use smelt_core::model::{check_sample_weight, finite_regression_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, Dataset, Feature, Fit, Output, ParamError, Prediction,
    Predictor, Registry, Result, UnknownCategory,
};

use super::qmatrix::KernelRows;
use super::smo::solve_epsilon_svr;
use super::{Gamma, Kernel, KernelFn, kernel_expansion, max_iter_serde, row_norms};
use crate::util::{from_row_major, mat};
use smelt_core::artifact::{load_common, save_common};

smelt_core::params! {
    /// Parameters of [`SVR`] (scikit-learn's `SVR`).
    pub struct SVRParams("SVR") {
        /// Kernel; default `rbf`.
        kernel: Kernel = Kernel::Rbf;
        /// Degree of the `poly` kernel, `[0, inf)`; default 3.
        degree: usize = 3, range: int_within(0, i32::MAX as i128);
        /// Kernel coefficient: `"scale"` (default), `"auto"` or a float in `[0, inf)`.
        gamma: Gamma = Gamma::Scale,
            range: check(
                "a float in [0, inf)",
                |g| match g {
                    Gamma::Value(v) => v.is_finite() && *v >= 0.0,
                    _ => true,
                },
                |g| match g {
                    Gamma::Value(v) => v.to_string(),
                    g => format!("{g:?}"),
                }
            );
        /// Constant term of `poly` and `sigmoid`, any finite float; default 0.0.
        coef0: f64 = 0.0, range: check("a finite float", |v| v.is_finite());
        /// Stopping tolerance on the maximal KKT violation, `(0, inf)`; default 1e-3.
        tol: f64 = 1e-3, range: greater(0.0);
        /// Regularisation `C`, `(0, inf)`; default 1.0.
        c: f64 = 1.0, range: greater(0.0), rename: "C";
        /// Width of the tube with no loss, `[0, inf)`; default 0.1.
        epsilon: f64 = 0.1, range: at_least(0.0);
        /// Use the shrinking heuristic; default `true`.
        shrinking: bool = true;
        /// Kernel cache in megabytes, `(0, inf)`; default 200.
        cache_size: f64 = 200.0, range: greater(0.0);
        /// Iteration cap of the solver, `[1, inf)`; default unset (`-1` in scikit-learn: no
        /// limit). A capped solve returns the current iterate (scikit-learn also warns).
        max_iter: Option<usize> = None,
            range: check(
                "an integer in [1, inf) or -1 (no limit)",
                |m| *m != Some(0),
                |_| "0".to_string()
            ),
            serde(with = "max_iter_serde"),
            setter: some(usize);
    }
}

impl SVRParams {
    fn kernel_fn(&self, gamma: f64) -> KernelFn {
        KernelFn {
            kernel: self.kernel,
            gamma,
            coef0: self.coef0,
            degree: self.degree.min(i32::MAX as usize) as i32,
        }
    }
}

const NAME: &str = "SVR";

/// A fitted support vector regressor.
#[derive(Clone, Debug)]
pub struct SVR {
    params: SVRParams,
    input: Vec<Feature>,
    gamma: f64,
    support: Vec<usize>,
    support_vectors: Vec<f64>,
    dual_coef: Vec<f64>,
    intercept: f64,
    sv: Mat<f64>,
    sv_sq: Vec<f64>,
    expansion: Mat<f64>,
}

impl Fit for SVRParams {
    type Model = SVR;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, sample_weight: Option<&[f64]>) -> Result<SVR> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let y = finite_regression_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), sample_weight)?;
        let (n, p) = (data.n_rows(), data.n_features());
        let gamma = self.gamma.resolve(data.values(), p);
        let w = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
        // Zero-weight rows are dropped, as scikit-learn's libsvm does.
        let keep: Vec<usize> = (0..n).filter(|&i| w(i) > 0.0).collect();
        let x = data.to_row_major();
        let mut xs = Vec::with_capacity(keep.len() * p);
        for &i in &keep {
            xs.extend_from_slice(&x[i * p..(i + 1) * p]);
        }
        let ys: Vec<f64> = keep.iter().map(|&i| y[i]).collect();
        let cs: Vec<f64> = keep.iter().map(|&i| self.c * w(i)).collect();
        let rows = KernelRows::new(xs, keep.len(), p, self.kernel_fn(gamma));
        let sol = solve_epsilon_svr(
            rows,
            &ys,
            &cs,
            self.epsilon,
            self.tol,
            self.shrinking,
            self.max_iter,
            self.cache_size * 1024.0 * 1024.0,
        );
        let mut support = Vec::new();
        let mut dual_coef = Vec::new();
        let mut support_vectors = Vec::new();
        for (t, &a) in sol.alpha.iter().enumerate() {
            if a != 0.0 {
                let i = keep[t];
                support.push(i);
                dual_coef.push(a);
                support_vectors.extend_from_slice(&x[i * p..(i + 1) * p]);
            }
        }
        Ok(SVR::assemble(
            self.clone(),
            data.features().to_vec(),
            gamma,
            support,
            support_vectors,
            dual_coef,
            -sol.rho,
        ))
    }
}

impl SVR {
    /// The model kind in model files.
    pub const KIND: &'static str = "svr";

    fn assemble(
        params: SVRParams,
        input: Vec<Feature>,
        gamma: f64,
        support: Vec<usize>,
        support_vectors: Vec<f64>,
        dual_coef: Vec<f64>,
        intercept: f64,
    ) -> SVR {
        let (n_sv, p) = (support.len(), input.len());
        let sv = from_row_major(n_sv, p, &support_vectors);
        let sv_sq = row_norms(&support_vectors, n_sv, p);
        let expansion = Mat::from_fn(n_sv, 1, |i, _| dual_coef[i]);
        SVR {
            params,
            input,
            gamma,
            support,
            support_vectors,
            dual_coef,
            intercept,
            sv,
            sv_sq,
            expansion,
        }
    }

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &SVRParams {
        &self.params
    }
    /// The value of `γ` used.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }
    /// Training-row indices of the support vectors.
    pub fn support(&self) -> &[usize] {
        &self.support
    }
    /// Support vectors, `n_sv × n_features`, row-major.
    pub fn support_vectors(&self) -> &[f64] {
        &self.support_vectors
    }
    /// `α_i - α*_i` of each support vector.
    pub fn dual_coef(&self) -> &[f64] {
        &self.dual_coef
    }
    /// The intercept `b`.
    pub fn intercept(&self) -> f64 {
        self.intercept
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, SVRParams) = load_common(r)?;
        let n_sv: usize = r.get("n_support")?;
        let p = input.len();
        let support = r
            .vector("support", n_sv)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let support_vectors = r.matrix("support_vectors", n_sv, p)?;
        let dual_coef = r.vector("dual_coef", n_sv)?;
        Ok(Box::new(SVR::assemble(
            params,
            input,
            r.vector("gamma", 1)?[0],
            support,
            support_vectors,
            dual_coef,
            r.vector("intercept", 1)?[0],
        )))
    }
}

impl Predictor for SVR {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let mut values = kernel_expansion(
            &self.params.kernel_fn(self.gamma),
            mat(&d),
            self.sv.as_ref(),
            &self.sv_sq,
            self.expansion.as_ref(),
        );
        for v in &mut values {
            *v += self.intercept;
        }
        Ok(Prediction::Regression { values })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        // Arrays, not JSON numbers: JSON parsing may be off by one ulp.
        w.array("gamma", &[1], &[self.gamma])?;
        w.array("intercept", &[1], &[self.intercept])?;
        let n_sv = self.support.len();
        w.put("n_support", &n_sv)?;
        let support: Vec<f64> = self.support.iter().map(|&i| i as f64).collect();
        w.array("support", &[n_sv], &support)?;
        w.array(
            "support_vectors",
            &[n_sv, self.input.len()],
            &self.support_vectors,
        )?;
        w.array("dual_coef", &[n_sv], &self.dual_coef)
    }
}
