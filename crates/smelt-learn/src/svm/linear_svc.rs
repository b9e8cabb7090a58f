//! Linear support vector classification (scikit-learn's `LinearSVC`, liblinear's L2-regularised
//! solvers), one-vs-rest for more than two classes.
//!
//! With `x̃ = (x, intercept_scaling)` (the intercept is a penalised feature, as in liblinear)
//! each binary problem (`y = ±1`) is
//!
//! ```text
//! min_w ½‖w‖² + Σ_i C_i ξ(y_i w·x̃_i)     ξ(m) = max(0, 1 - m)² (squared_hinge) or max(0, 1 - m) (hinge)
//! ```
//!
//! * `dual = true`: coordinate descent on the dual (Hsieh et al. 2008) with random order and
//!   shrinking; stops when the projected-gradient spread is below `tol`.
//! * `dual = false` (squared hinge only): Newton's method on the primal with the generalised
//!   Hessian `I + 2 X_Iᵀ diag(C_I) X_I` (`I` = rows with margin < 1), formed block by block in
//!   parallel and solved by Cholesky, with Armijo backtracking; stops when
//!   `‖∇f‖ ≤ tol · max(min(n₊, n₋), 1) / n · ‖∇f(0)‖`, liblinear's rule.
//!
//! `dual = "auto"` picks the dual when there are fewer rows than features or the loss is
//! `hinge`, the primal otherwise (scikit-learn 1.9). `intercept_ = intercept_scaling · w_bias`.

use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatRef, Par, Side};
use rayon::prelude::*;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use super::{ClassWeight, class_weights, dot};
use crate::util::mat;
use smelt_core::artifact::{load_common, save_common};
use smelt_core::rng::Rng;

/// The penalty of [`LinearSVC`] (only `l2`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// `½‖w‖²`.
    #[default]
    L2,
}

/// The loss of [`LinearSVC`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearSvcLoss {
    /// `max(0, 1 - m)`.
    Hinge,
    /// `max(0, 1 - m)²` (the default).
    #[default]
    SquaredHinge,
}

/// Which problem [`LinearSVC`] solves: `"auto"`, `true` (dual) or `false` (primal).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Dual {
    /// Dual when `n_samples < n_features` or the loss is `hinge`, primal otherwise.
    #[default]
    Auto,
    /// Dual coordinate descent.
    True,
    /// Primal Newton (squared hinge only).
    False,
}

impl Serialize for Dual {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Dual::Auto => s.serialize_str("auto"),
            Dual::True => s.serialize_bool(true),
            Dual::False => s.serialize_bool(false),
        }
    }
}

impl<'de> Deserialize<'de> for Dual {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Bool(bool),
            Name(String),
        }
        match Repr::deserialize(d)? {
            Repr::Bool(true) => Ok(Dual::True),
            Repr::Bool(false) => Ok(Dual::False),
            Repr::Name(n) if n == "auto" => Ok(Dual::Auto),
            Repr::Name(n) => Err(serde::de::Error::custom(format!(
                "dual must be \"auto\", true or false, got {n:?}"
            ))),
        }
    }
}

smelt_core::params! {
    /// Parameters of [`LinearSVC`] (scikit-learn's `LinearSVC`; `multi_class` is always `ovr`).
    pub struct LinearSVCParams("LinearSVC") {
        /// Penalty; only `l2` (default).
        penalty: Penalty = Penalty::L2;
        /// Loss: `squared_hinge` (default) or `hinge`.
        loss: LinearSvcLoss = LinearSvcLoss::SquaredHinge;
        /// `"auto"` (default), `true` or `false`; `false` needs `squared_hinge`.
        dual: Dual = Dual::Auto;
        /// Stopping tolerance, `(0, inf)`; default 1e-4.
        tol: f64 = 1e-4, range: greater(0.0);
        /// Regularisation `C`, `(0, inf)`; default 1.0.
        c: f64 = 1.0, range: greater(0.0), rename: "C";
        /// Fit an intercept (a penalised constant feature); default `true`.
        fit_intercept: bool = true;
        /// Value of the constant feature, `(0, inf)`; default 1.0.
        intercept_scaling: f64 = 1.0, range: greater(0.0);
        /// Per-class multipliers of `C`: unset (default), `"balanced"` or `{label: weight}`.
        class_weight: Option<ClassWeight> = None, setter: some(ClassWeight);
        /// Seed of the dual solver's coordinate order; default 0.
        random_state: u64 = 0;
        /// Iteration cap (dual: passes over the data; primal: Newton steps), `[1, inf)`;
        /// default 1000.
        max_iter: usize = 1000, range: at_least_int(1);
    }
}

impl LinearSVCParams {
    /// Whether the dual problem is solved for `n` rows and `p` features.
    pub fn uses_dual(&self, n: usize, p: usize) -> bool {
        match self.dual {
            Dual::True => true,
            Dual::False => false,
            Dual::Auto => n < p || self.loss == LinearSvcLoss::Hinge,
        }
    }
}

const NAME: &str = "LinearSVC";

/// A fitted linear support vector classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearSVC {
    params: LinearSVCParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// Codes of the trained classes (ascending).
    labels: Vec<u32>,
    /// `n_out × p`, row-major (`n_out = 1` for two classes).
    coef: Vec<f64>,
    intercept: Vec<f64>,
}

/// One binary problem: labels `±1` and per-row bounds `C_i`.
struct Binary {
    y: Vec<f64>,
    c: Vec<f64>,
}

/// The design of the kept rows: column-major `n × p` plus the bias value (0: none).
struct Design<'a> {
    xc: MatRef<'a, f64>,
    xr: Vec<f64>,
    bias: f64,
}

impl Design<'_> {
    fn p(&self) -> usize {
        self.xc.ncols()
    }
}

/// Dual coordinate descent (liblinear's `solve_l2r_l1l2_svc`). Returns `(w, w_bias)`.
fn solve_dual(
    d: &Design,
    b: &Binary,
    hinge: bool,
    eps: f64,
    max_iter: usize,
    rng: &mut Rng,
) -> (Vec<f64>, f64) {
    let l = b.y.len();
    let p = d.p();
    let mut w = vec![0.0; p];
    let mut wb = 0.0;
    let mut alpha = vec![0.0; l];
    let (diag, ub): (Vec<f64>, Vec<f64>) =
        b.c.iter()
            .map(|&c| {
                if hinge {
                    (0.0, c)
                } else {
                    (0.5 / c, f64::INFINITY)
                }
            })
            .unzip();
    let qd: Vec<f64> = (0..l)
        .map(|i| {
            let r = &d.xr[i * p..(i + 1) * p];
            diag[i] + dot(r, r) + d.bias * d.bias
        })
        .collect();
    let mut index: Vec<usize> = (0..l).collect();
    let mut active = l;
    let mut pgmax_old = f64::INFINITY;
    let mut pgmin_old = f64::NEG_INFINITY;
    let mut iter = 0;
    while iter < max_iter {
        let mut pgmax_new = f64::NEG_INFINITY;
        let mut pgmin_new = f64::INFINITY;
        rng.shuffle(&mut index[..active]);
        let mut s = 0;
        while s < active {
            let i = index[s];
            let yi = b.y[i];
            let r = &d.xr[i * p..(i + 1) * p];
            let g = yi * (dot(&w, r) + wb * d.bias) - 1.0 + alpha[i] * diag[i];
            let c = ub[i];
            let mut pg = 0.0;
            if alpha[i] == 0.0 {
                if g > pgmax_old {
                    active -= 1;
                    index.swap(s, active);
                    continue;
                } else if g < 0.0 {
                    pg = g;
                }
            } else if alpha[i] == c {
                if g < pgmin_old {
                    active -= 1;
                    index.swap(s, active);
                    continue;
                } else if g > 0.0 {
                    pg = g;
                }
            } else {
                pg = g;
            }
            pgmax_new = pgmax_new.max(pg);
            pgmin_new = pgmin_new.min(pg);
            if pg.abs() > 1e-12 && qd[i] > 0.0 {
                let old = alpha[i];
                alpha[i] = (alpha[i] - g / qd[i]).max(0.0).min(c);
                let delta = (alpha[i] - old) * yi;
                for (wj, xj) in w.iter_mut().zip(r) {
                    *wj += delta * xj;
                }
                wb += delta * d.bias;
            }
            s += 1;
        }
        iter += 1;
        if pgmax_new - pgmin_new <= eps {
            if active == l {
                break;
            }
            active = l;
            pgmax_old = f64::INFINITY;
            pgmin_old = f64::NEG_INFINITY;
            continue;
        }
        pgmax_old = if pgmax_new <= 0.0 {
            f64::INFINITY
        } else {
            pgmax_new
        };
        pgmin_old = if pgmin_new >= 0.0 {
            f64::NEG_INFINITY
        } else {
            pgmin_new
        };
    }
    (w, wb)
}

/// Rows per block when forming the Hessian.
const HBLOCK: usize = 4096;

/// Primal Newton on the squared hinge loss. Returns `(w, w_bias)`.
fn solve_primal(d: &Design, b: &Binary, eps: f64, max_iter: usize) -> Result<(Vec<f64>, f64)> {
    let l = b.y.len();
    let p = d.p();
    let has_bias = d.bias != 0.0;
    let m = p + usize::from(has_bias);
    let x = d.xc;
    // z = X̃ w
    let margin = |w: &[f64]| -> Vec<f64> {
        let wm = Mat::from_fn(p, 1, |j, _| w[j]);
        let mut z = Mat::<f64>::zeros(l, 1);
        faer::linalg::matmul::matmul(
            z.as_mut(),
            Accum::Replace,
            x,
            &wm,
            1.0,
            faer::get_global_parallelism(),
        );
        let wb = if has_bias { w[p] * d.bias } else { 0.0 };
        (0..l).map(|i| z[(i, 0)] + wb).collect()
    };
    let objective = |w: &[f64], z: &[f64]| -> f64 {
        let reg = 0.5 * dot(w, w);
        reg + z
            .iter()
            .zip(&b.y)
            .zip(&b.c)
            .map(|((&zi, &yi), &ci)| {
                let m = 1.0 - yi * zi;
                if m > 0.0 { ci * m * m } else { 0.0 }
            })
            .sum::<f64>()
    };
    let gradient = |w: &[f64], z: &[f64]| -> Vec<f64> {
        // v_i = 2 C_i (z_i - y_i) on the active rows.
        let v = Mat::from_fn(l, 1, |i, _| {
            if 1.0 - b.y[i] * z[i] > 0.0 {
                2.0 * b.c[i] * (z[i] - b.y[i])
            } else {
                0.0
            }
        });
        let mut g = Mat::<f64>::zeros(p, 1);
        faer::linalg::matmul::matmul(
            g.as_mut(),
            Accum::Replace,
            x.transpose(),
            &v,
            1.0,
            faer::get_global_parallelism(),
        );
        let mut out: Vec<f64> = (0..p).map(|j| g[(j, 0)] + w[j]).collect();
        if has_bias {
            let s: f64 = (0..l).map(|i| v[(i, 0)]).sum();
            out.push(w[p] + d.bias * s);
        }
        out
    };
    let hessian = |z: &[f64]| -> Mat<f64> {
        let blocks: Vec<usize> = (0..l.div_ceil(HBLOCK)).collect();
        let parts: Vec<Mat<f64>> = blocks
            .par_iter()
            .map(|&blk| {
                let r0 = blk * HBLOCK;
                let nb = HBLOCK.min(l - r0);
                let xb = Mat::from_fn(nb, m, |t, j| {
                    let i = r0 + t;
                    if 1.0 - b.y[i] * z[i] > 0.0 {
                        let s = (2.0 * b.c[i]).sqrt();
                        if j < p { s * x[(i, j)] } else { s * d.bias }
                    } else {
                        0.0
                    }
                });
                let mut h = Mat::<f64>::zeros(m, m);
                faer::linalg::matmul::matmul(
                    h.as_mut(),
                    Accum::Replace,
                    xb.transpose(),
                    &xb,
                    1.0,
                    Par::Seq,
                );
                h
            })
            .collect();
        let mut h = Mat::<f64>::identity(m, m);
        for part in parts {
            h += part;
        }
        h
    };
    let pos = b.y.iter().filter(|&&y| y > 0.0).count();
    let eps_primal = eps * (pos.min(l - pos).max(1) as f64) / l as f64;
    let mut w = vec![0.0; m];
    let mut z = margin(&w);
    let mut f = objective(&w, &z);
    let mut g = gradient(&w, &z);
    let g0 = dot(&g, &g).sqrt();
    for _ in 0..max_iter {
        let gn = dot(&g, &g).sqrt();
        if gn <= eps_primal * g0 || gn == 0.0 {
            break;
        }
        let h = hessian(&z);
        let llt = h.llt(Side::Lower).map_err(|e| CoreError::Numerical {
            estimator: NAME,
            message: format!("the Newton system is not positive definite: {e:?}"),
        })?;
        let rhs = Mat::from_fn(m, 1, |j, _| -g[j]);
        let step = llt.solve(&rhs);
        let s: Vec<f64> = (0..m).map(|j| step[(j, 0)]).collect();
        let xs = margin(&s);
        let gs = dot(&g, &s);
        let mut t = 1.0;
        let mut accepted = false;
        while t > 1e-12 {
            let wt: Vec<f64> = w.iter().zip(&s).map(|(a, b)| a + t * b).collect();
            let zt: Vec<f64> = z.iter().zip(&xs).map(|(a, b)| a + t * b).collect();
            let ft = objective(&wt, &zt);
            if ft <= f + 0.01 * t * gs {
                w = wt;
                z = zt;
                f = ft;
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            break;
        }
        g = gradient(&w, &z);
    }
    let wb = if has_bias { w[p] } else { 0.0 };
    w.truncate(p);
    Ok((w, wb))
}

impl Fit for LinearSVCParams {
    type Model = LinearSVC;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let c = self.range_check(NAME).require(
            !(self.dual == Dual::False && self.loss == LinearSvcLoss::Hinge),
            "dual",
            "true or \"auto\" with loss=\"hinge\" (the primal needs squared_hinge)",
            "false",
        );
        match &self.class_weight {
            Some(cw) => cw.check(c),
            None => c,
        }
        .finish()
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        sample_weight: Option<&[f64]>,
    ) -> Result<LinearSVC> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let (codes, classes) = classification_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), sample_weight)?;
        let (n, p) = (data.n_rows(), data.n_features());
        let w = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
        // liblinear's "balanced" uses the weighted class sizes.
        let mut counts = vec![0.0; classes.len()];
        for i in 0..n {
            counts[codes[i] as usize] += w(i);
        }
        let cw = class_weights(NAME, self.class_weight.as_ref(), classes, &counts)?;
        // Zero-weight rows have no influence; drop them (C_i = 0 makes the dual degenerate).
        let keep: Vec<usize> = (0..n).filter(|&i| w(i) > 0.0).collect();
        let labels: Vec<u32> = (0..classes.len() as u32)
            .filter(|&c| keep.iter().any(|&i| codes[i] == c))
            .collect();
        if labels.len() < 2 {
            return Err(CoreError::SingleClass {
                estimator: NAME,
                target: data.target_name().unwrap_or("target").to_string(),
                class: labels
                    .first()
                    .map(|&c| classes[c as usize].clone())
                    .unwrap_or_default(),
            });
        }
        let x = mat(data);
        let owned;
        let xc = if keep.len() == n {
            x
        } else {
            owned = Mat::from_fn(keep.len(), p, |t, j| x[(keep[t], j)]);
            owned.as_ref()
        };
        let dual = self.uses_dual(n, p);
        let xr = if dual {
            let mut v = Vec::with_capacity(keep.len() * p);
            for &i in &keep {
                v.extend((0..p).map(|j| x[(i, j)]));
            }
            v
        } else {
            Vec::new()
        };
        let design = Design {
            xc,
            xr,
            bias: if self.fit_intercept {
                self.intercept_scaling
            } else {
                0.0
            },
        };
        // Two classes: one problem with the second class positive; otherwise one per class.
        let problems: Vec<Binary> = if labels.len() == 2 {
            let (neg, pos) = (labels[0], labels[1]);
            let (cn, cp) = (self.c * cw[neg as usize], self.c * cw[pos as usize]);
            vec![Binary {
                y: keep
                    .iter()
                    .map(|&i| if codes[i] == pos { 1.0 } else { -1.0 })
                    .collect(),
                c: keep
                    .iter()
                    .map(|&i| w(i) * if codes[i] == pos { cp } else { cn })
                    .collect(),
            }]
        } else {
            labels
                .iter()
                .map(|&k| Binary {
                    y: keep
                        .iter()
                        .map(|&i| if codes[i] == k { 1.0 } else { -1.0 })
                        .collect(),
                    c: keep
                        .iter()
                        .map(|&i| {
                            w(i) * if codes[i] == k {
                                self.c * cw[k as usize]
                            } else {
                                self.c
                            }
                        })
                        .collect(),
                })
                .collect()
        };
        let mut seeds = Rng::new(self.random_state);
        let rngs: Vec<Rng> = problems.iter().map(|_| seeds.fork()).collect();
        let hinge = self.loss == LinearSvcLoss::Hinge;
        let sols: Vec<Result<(Vec<f64>, f64)>> = problems
            .par_iter()
            .zip(rngs)
            .map(|(b, mut rng)| {
                if dual {
                    Ok(solve_dual(
                        &design,
                        b,
                        hinge,
                        self.tol,
                        self.max_iter,
                        &mut rng,
                    ))
                } else {
                    solve_primal(&design, b, self.tol, self.max_iter)
                }
            })
            .collect();
        let mut coef = Vec::with_capacity(sols.len() * p);
        let mut intercept = Vec::with_capacity(sols.len());
        for s in sols {
            let (wv, wb) = s?;
            coef.extend(wv);
            intercept.push(wb * design.bias);
        }
        Ok(LinearSVC {
            params: self.clone(),
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            labels,
            coef,
            intercept,
        })
    }
}

impl LinearSVC {
    /// The model kind in model files.
    pub const KIND: &'static str = "linear_svc";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &LinearSVCParams {
        &self.params
    }
    /// Class labels (code order).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// Coefficients, `n_out × n_features` row-major (`n_out = 1` for two classes, where
    /// positive scores mean the second class).
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }
    /// Intercepts, one per output.
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// Scores `X · coefᵀ + intercept`: `n` values for two classes, else `n × n_classes`
    /// row-major (over the trained classes).
    pub fn decision_function(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let p = self.input.len();
        let n_out = self.intercept.len();
        let coef = Mat::from_fn(p, n_out, |j, o| self.coef[o * p + j]);
        let mut s = Mat::<f64>::zeros(d.n_rows(), n_out);
        faer::linalg::matmul::matmul(
            s.as_mut(),
            Accum::Replace,
            mat(&d),
            &coef,
            1.0,
            faer::get_global_parallelism(),
        );
        let mut out = Vec::with_capacity(d.n_rows() * n_out);
        for i in 0..d.n_rows() {
            for o in 0..n_out {
                out.push(s[(i, o)] + self.intercept[o]);
            }
        }
        Ok(out)
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, LinearSVCParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let labels: Vec<u32> = r.get("labels")?;
        if labels.len() < 2 || labels.iter().any(|&c| c as usize >= classes.len()) {
            return Err(r.invalid("inconsistent classes and labels"));
        }
        let n_out = if labels.len() == 2 { 1 } else { labels.len() };
        let coef = r.matrix("coef", n_out, input.len())?;
        let intercept = r.vector("intercept", n_out)?;
        Ok(Box::new(LinearSVC {
            params,
            input,
            classes,
            labels,
            coef,
            intercept,
        }))
    }
}

impl Predictor for LinearSVC {
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.input
    }
    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: false,
        }
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let scores = self.decision_function(data)?;
        let labels = if self.labels.len() == 2 {
            scores
                .iter()
                .map(|&s| {
                    if s > 0.0 {
                        self.labels[1]
                    } else {
                        self.labels[0]
                    }
                })
                .collect()
        } else {
            scores
                .chunks_exact(self.labels.len())
                .map(|row| self.labels[smelt_core::model::argmax(row)])
                .collect()
        };
        Ok(Prediction::Classification {
            labels,
            classes: self.classes.clone(),
            proba: None,
        })
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.put("labels", &self.labels)?;
        let n_out = self.intercept.len();
        w.array("coef", &[n_out, self.input.len()], &self.coef)?;
        w.array("intercept", &[n_out], &self.intercept)
    }
}
