//! C-support vector classification (scikit-learn's `SVC`, libsvm's `C_SVC`).
//!
//! Multi-class problems are split one-vs-one, as libsvm does: one binary SVM per pair of
//! classes `(a, b)` (`a < b`, class `a` as +1) on the rows of those two classes; a row is
//! predicted by voting (`f_ab(x) > 0` votes for `a`), ties going to the lower class. The pairs
//! are trained in parallel. With `probability = true`, each pair also gets a Platt sigmoid
//! fitted on 5-fold cross-validated decision values (folds drawn from `random_state`), and the
//! pairwise probabilities are coupled into class probabilities (see [`super::platt`]).

use faer::Mat;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use super::platt::{multiclass_probability, sigmoid_predict, sigmoid_train};
use super::qmatrix::KernelRows;
use super::smo::solve_c_svc;
use super::{
    ClassWeight, Gamma, Kernel, KernelFn, class_weights, kernel_expansion, max_iter_serde,
    row_norms,
};
use crate::util::{from_row_major, mat};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::rng::Rng;

/// Shape of [`SVC::decision_function`] for more than two classes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecisionShape {
    /// One column per class: votes plus a bounded sum of confidences (scikit-learn's default).
    #[default]
    Ovr,
    /// One column per pair of classes `(a, b)`, `a < b`: the pair's decision value.
    Ovo,
}

smelt_core::params! {
    /// Parameters of [`SVC`] (scikit-learn's `SVC`).
    pub struct SVCParams("SVC") {
        /// Regularisation `C` (the bound on each `α_i`), `(0, inf)`; default 1.0.
        c: f64 = 1.0, range: greater(0.0), rename: "C";
        /// Kernel; default `rbf`.
        kernel: Kernel = Kernel::Rbf;
        /// Degree of the `poly` kernel, `[0, inf)`; default 3.
        degree: usize = 3, range: int_within(0, i32::MAX as i128);
        /// Kernel coefficient of `rbf`, `poly`, `sigmoid`: `"scale"` (default), `"auto"` or a
        /// float in `[0, inf)`.
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
        /// Use the shrinking heuristic; default `true`.
        shrinking: bool = true;
        /// Fit Platt probabilities (5-fold internal cross-validation, ~5× slower); default `false`.
        probability: bool = false;
        /// Stopping tolerance on the maximal KKT violation, `(0, inf)`; default 1e-3.
        tol: f64 = 1e-3, range: greater(0.0);
        /// Kernel cache in megabytes, `(0, inf)`; default 200. Shared by the pairs trained at once.
        cache_size: f64 = 200.0, range: greater(0.0);
        /// Per-class multipliers of `C`: unset (default), `"balanced"` or `{label: weight}`.
        class_weight: Option<ClassWeight> = None, setter: some(ClassWeight);
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
        /// Seed of the probability folds; default 0.
        random_state: u64 = 0;
        /// Shape of the decision function for more than two classes; default `ovr`.
        decision_function_shape: DecisionShape = DecisionShape::Ovr;
        /// Break voting ties by the `ovr` decision function (more than two classes); default false.
        break_ties: bool = false;
    }
}

impl SVCParams {
    pub(crate) fn kernel_fn(&self, gamma: f64) -> KernelFn {
        KernelFn {
            kernel: self.kernel,
            gamma,
            coef0: self.coef0,
            degree: self.degree.min(i32::MAX as usize) as i32,
        }
    }
}

const NAME: &str = "SVC";

/// A fitted support vector classifier.
#[derive(Clone, Debug)]
pub struct SVC {
    params: SVCParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// Codes of the classes the model was trained on (ascending): libsvm's labels.
    labels: Vec<u32>,
    gamma: f64,
    support: Vec<usize>,
    /// `n_sv × p`, row-major, grouped by class.
    support_vectors: Vec<f64>,
    n_support: Vec<usize>,
    /// libsvm's `sv_coef`: `(k - 1) × n_sv`, row-major.
    dual_coef: Vec<f64>,
    /// One `ρ` per pair.
    rho: Vec<f64>,
    prob_a: Option<Vec<f64>>,
    prob_b: Option<Vec<f64>>,
    // Derived.
    sv: Mat<f64>,
    sv_sq: Vec<f64>,
    expansion: Mat<f64>,
}

/// What one pair's training returns.
struct PairFit {
    /// `y_i α_i` for the rows of the pair (class a first).
    coef: Vec<f64>,
    rho: f64,
    prob: Option<(f64, f64)>,
}

/// Decision values of a fitted binary problem at rows `test` of `rows`: `Σ coef_t K - ρ`.
fn decide(rows: &KernelRows, train: &[usize], coef: &[f64], rho: f64, test: usize) -> f64 {
    train
        .iter()
        .zip(coef)
        .filter(|(_, c)| **c != 0.0)
        .map(|(&t, c)| c * rows.eval(t, test))
        .sum::<f64>()
        - rho
}

/// Copies rows `idx` of a row-major matrix.
fn gather(x: &[f64], p: usize, idx: &[usize]) -> Vec<f64> {
    let mut out = Vec::with_capacity(idx.len() * p);
    for &i in idx {
        out.extend_from_slice(&x[i * p..(i + 1) * p]);
    }
    out
}

#[derive(Clone, Copy)]
struct Problem<'a> {
    x: &'a [f64],
    p: usize,
    k: KernelFn,
    tol: f64,
    shrinking: bool,
    max_iter: Option<usize>,
    cache_bytes: f64,
}

impl Problem<'_> {
    /// Trains the binary SVM on rows `idx` (of `self.x`) with labels `y` and bounds `c`.
    fn solve(&self, idx: &[usize], y: &[f64], c: &[f64]) -> (Vec<f64>, f64) {
        let rows = KernelRows::new(gather(self.x, self.p, idx), idx.len(), self.p, self.k);
        let sol = solve_c_svc(
            rows,
            y,
            c,
            self.tol,
            self.shrinking,
            self.max_iter,
            self.cache_bytes,
        );
        (sol.alpha, sol.rho)
    }

    /// libsvm's `svm_binary_svc_probability`: Platt's sigmoid on 5-fold CV decision values.
    fn probability(&self, idx: &[usize], y: &[f64], c: &[f64], rng: &mut Rng) -> (f64, f64) {
        let l = idx.len();
        let nr_fold = 5;
        let mut perm: Vec<usize> = (0..l).collect();
        rng.shuffle(&mut perm);
        let all = KernelRows::new(gather(self.x, self.p, idx), idx.len(), self.p, self.k);
        // The folds are independent: train them in parallel, sharing the cache budget.
        let sub_problem = Problem {
            cache_bytes: self.cache_bytes / nr_fold as f64,
            ..*self
        };
        let per_fold: Vec<Vec<(usize, f64)>> = (0..nr_fold)
            .into_par_iter()
            .map(|fold| {
                let (begin, end) = (fold * l / nr_fold, (fold + 1) * l / nr_fold);
                let test = &perm[begin..end];
                let train: Vec<usize> = perm[..begin].iter().chain(&perm[end..]).copied().collect();
                let pos = train.iter().filter(|&&t| y[t] > 0.0).count();
                let neg = train.len() - pos;
                let fixed = match (pos, neg) {
                    (0, 0) => Some(0.0),
                    (_, 0) => Some(1.0),
                    (0, _) => Some(-1.0),
                    _ => None,
                };
                if let Some(v) = fixed {
                    return test.iter().map(|&t| (t, v)).collect();
                }
                let sub: Vec<usize> = train.iter().map(|&t| idx[t]).collect();
                let ys: Vec<f64> = train.iter().map(|&t| y[t]).collect();
                let cs: Vec<f64> = train.iter().map(|&t| c[t]).collect();
                let (coef, rho) = sub_problem.solve(&sub, &ys, &cs);
                test.iter()
                    .map(|&t| (t, decide(&all, &train, &coef, rho, t)))
                    .collect()
            })
            .collect();
        let mut dec = vec![0.0; l];
        for (t, v) in per_fold.into_iter().flatten() {
            dec[t] = v;
        }
        let pos: Vec<bool> = y.iter().map(|&v| v > 0.0).collect();
        sigmoid_train(&dec, &pos)
    }
}

impl Fit for SVCParams {
    type Model = SVC;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let c = self.range_check(NAME).require(
            !(self.break_ties && self.decision_function_shape == DecisionShape::Ovo),
            "break_ties",
            "false when decision_function_shape is \"ovo\"",
            self.break_ties,
        );
        match &self.class_weight {
            Some(cw) => cw.check(c),
            None => c,
        }
        .finish()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, sample_weight: Option<&[f64]>) -> Result<SVC> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let (codes, classes) = classification_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), sample_weight)?;
        let (n, p) = (data.n_rows(), data.n_features());
        let gamma = self.gamma.resolve(data.values(), p);
        let mut counts = vec![0.0; classes.len()];
        for &c in codes {
            counts[c as usize] += 1.0;
        }
        let cw = class_weights(NAME, self.class_weight.as_ref(), classes, &counts)?;
        let w = |i: usize| sample_weight.map_or(1.0, |w| w[i]);
        // Rows grouped by class, zero-weight rows dropped (as scikit-learn's libsvm does).
        let mut groups: Vec<Vec<usize>> = vec![Vec::new(); classes.len()];
        for i in 0..n {
            if w(i) > 0.0 {
                groups[codes[i] as usize].push(i);
            }
        }
        let labels: Vec<u32> = (0..classes.len() as u32)
            .filter(|&c| !groups[c as usize].is_empty())
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
        let k = labels.len();
        let x = data.to_row_major();
        let pairs: Vec<(usize, usize)> = (0..k)
            .flat_map(|a| (a + 1..k).map(move |b| (a, b)))
            .collect();
        let threads = rayon::current_num_threads().clamp(1, pairs.len());
        let prob = Problem {
            x: &x,
            p,
            k: self.kernel_fn(gamma),
            tol: self.tol,
            shrinking: self.shrinking,
            max_iter: self.max_iter,
            cache_bytes: self.cache_size * 1024.0 * 1024.0 / threads as f64,
        };
        let mut seeds = Rng::new(self.random_state);
        let pair_rngs: Vec<Rng> = pairs.iter().map(|_| seeds.fork()).collect();
        let fits: Vec<PairFit> = pairs
            .par_iter()
            .zip(pair_rngs)
            .map(|(&(a, b), mut rng)| {
                let ga = &groups[labels[a] as usize];
                let gb = &groups[labels[b] as usize];
                let idx: Vec<usize> = ga.iter().chain(gb).copied().collect();
                let y: Vec<f64> = (0..idx.len())
                    .map(|t| if t < ga.len() { 1.0 } else { -1.0 })
                    .collect();
                let c: Vec<f64> = idx
                    .iter()
                    .map(|&i| self.c * cw[codes[i] as usize] * w(i))
                    .collect();
                let probab = self
                    .probability
                    .then(|| prob.probability(&idx, &y, &c, &mut rng));
                let (coef, rho) = prob.solve(&idx, &y, &c);
                PairFit {
                    coef,
                    rho,
                    prob: probab,
                }
            })
            .collect();

        // Support vectors: rows with a non-zero coefficient in any pair, grouped by class.
        let starts: Vec<usize> = labels
            .iter()
            .scan(0, |s, &c| {
                let v = *s;
                *s += groups[c as usize].len();
                Some(v)
            })
            .collect();
        let total: usize = labels.iter().map(|&c| groups[c as usize].len()).sum();
        let mut nonzero = vec![false; total];
        for (f, &(a, b)) in fits.iter().zip(&pairs) {
            let na = groups[labels[a] as usize].len();
            for (t, &cf) in f.coef.iter().enumerate() {
                if cf != 0.0 {
                    let g = if t < na {
                        starts[a] + t
                    } else {
                        starts[b] + t - na
                    };
                    nonzero[g] = true;
                }
            }
        }
        let grouped: Vec<usize> = labels
            .iter()
            .flat_map(|&c| groups[c as usize].iter().copied())
            .collect();
        let n_support: Vec<usize> = (0..k)
            .map(|a| {
                let len = groups[labels[a] as usize].len();
                nonzero[starts[a]..starts[a] + len]
                    .iter()
                    .filter(|&&z| z)
                    .count()
            })
            .collect();
        // Position of each grouped row among the support vectors.
        let mut sv_pos = vec![usize::MAX; total];
        let mut support = Vec::new();
        for g in 0..total {
            if nonzero[g] {
                sv_pos[g] = support.len();
                support.push(grouped[g]);
            }
        }
        let n_sv = support.len();
        let mut dual_coef = vec![0.0; (k - 1) * n_sv];
        for (f, &(a, b)) in fits.iter().zip(&pairs) {
            let na = groups[labels[a] as usize].len();
            for (t, &cf) in f.coef.iter().enumerate() {
                let (g, row) = if t < na {
                    (starts[a] + t, b - 1)
                } else {
                    (starts[b] + t - na, a)
                };
                if nonzero[g] {
                    dual_coef[row * n_sv + sv_pos[g]] = cf;
                }
            }
        }
        let (prob_a, prob_b) = if self.probability {
            let (a, b): (Vec<f64>, Vec<f64>) =
                fits.iter().map(|f| f.prob.unwrap_or((0.0, 0.0))).unzip();
            (Some(a), Some(b))
        } else {
            (None, None)
        };
        let support_vectors = gather(&x, p, &support);
        Ok(SVC::assemble(
            self.clone(),
            data.features().to_vec(),
            classes.to_vec(),
            labels,
            gamma,
            support,
            support_vectors,
            n_support,
            dual_coef,
            fits.iter().map(|f| f.rho).collect(),
            prob_a,
            prob_b,
        ))
    }
}

impl SVC {
    /// The model kind in model files.
    pub const KIND: &'static str = "svc";

    #[allow(
        clippy::too_many_arguments,
        reason = "assembles the fitted model from each distinct piece of the solution"
    )]
    fn assemble(
        params: SVCParams,
        input: Vec<Feature>,
        classes: Vec<String>,
        labels: Vec<u32>,
        gamma: f64,
        support: Vec<usize>,
        support_vectors: Vec<f64>,
        n_support: Vec<usize>,
        dual_coef: Vec<f64>,
        rho: Vec<f64>,
        prob_a: Option<Vec<f64>>,
        prob_b: Option<Vec<f64>>,
    ) -> SVC {
        let p = input.len();
        let n_sv = support.len();
        let k = labels.len();
        let sv = from_row_major(n_sv, p, &support_vectors);
        let sv_sq = row_norms(&support_vectors, n_sv, p);
        let n_pairs = k * (k - 1) / 2;
        let starts: Vec<usize> = n_support
            .iter()
            .scan(0, |s, &c| {
                let v = *s;
                *s += c;
                Some(v)
            })
            .collect();
        let mut expansion = Mat::<f64>::zeros(n_sv, n_pairs);
        let mut pair = 0;
        for a in 0..k {
            for b in a + 1..k {
                for t in 0..n_support[a] {
                    let s = starts[a] + t;
                    expansion[(s, pair)] = dual_coef[(b - 1) * n_sv + s];
                }
                for t in 0..n_support[b] {
                    let s = starts[b] + t;
                    expansion[(s, pair)] = dual_coef[a * n_sv + s];
                }
                pair += 1;
            }
        }
        SVC {
            params,
            input,
            classes,
            labels,
            gamma,
            support,
            support_vectors,
            n_support,
            dual_coef,
            rho,
            prob_a,
            prob_b,
            sv,
            sv_sq,
            expansion,
        }
    }

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &SVCParams {
        &self.params
    }

    /// Class labels (all classes of the training target, in code order).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// The value of `γ` used (after resolving `"scale"` / `"auto"`).
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// Training-row indices of the support vectors, grouped by class.
    pub fn support(&self) -> &[usize] {
        &self.support
    }

    /// Support vectors, `n_sv × n_features`, row-major.
    pub fn support_vectors(&self) -> &[f64] {
        &self.support_vectors
    }

    /// Number of support vectors of each trained class.
    pub fn n_support(&self) -> &[usize] {
        &self.n_support
    }

    fn binary(&self) -> bool {
        self.labels.len() == 2
    }

    /// Dual coefficients `y_i α_i`, `(n_classes - 1) × n_sv` row-major, in scikit-learn's
    /// layout and sign (for two classes, positive values pull towards the second class).
    pub fn dual_coef(&self) -> Vec<f64> {
        if self.binary() {
            self.dual_coef.iter().map(|v| -v).collect()
        } else {
            self.dual_coef.clone()
        }
    }

    /// Intercepts, one per pair of classes, with scikit-learn's sign.
    pub fn intercept(&self) -> Vec<f64> {
        if self.binary() {
            self.rho.clone()
        } else {
            self.rho.iter().map(|r| -r).collect()
        }
    }

    /// Platt's `A` per pair (scikit-learn's `probA_`), when fitted with probabilities.
    pub fn prob_a(&self) -> Option<&[f64]> {
        self.prob_a.as_deref()
    }

    /// Platt's `B` per pair (scikit-learn's `probB_`), when fitted with probabilities.
    pub fn prob_b(&self) -> Option<&[f64]> {
        self.prob_b.as_deref()
    }

    /// libsvm's pairwise decision values, `n × n_pairs` row-major (`> 0`: first class of the
    /// pair).
    fn pairwise(&self, data: &Dataset<f64>) -> Result<(usize, Vec<f64>)> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let mut dec = kernel_expansion(
            &self.params.kernel_fn(self.gamma),
            mat(&d),
            self.sv.as_ref(),
            &self.sv_sq,
            self.expansion.as_ref(),
        );
        let np = self.rho.len();
        for row in dec.chunks_exact_mut(np.max(1)) {
            for (v, r) in row.iter_mut().zip(&self.rho) {
                *v -= r;
            }
        }
        Ok((d.n_rows(), dec))
    }

    /// scikit-learn's `_ovr_decision_function`: votes plus confidences squashed into
    /// `(-1/3, 1/3)`, `n × k` row-major.
    fn ovr(&self, n: usize, dec: &[f64]) -> Vec<f64> {
        let k = self.labels.len();
        let np = self.rho.len();
        let mut out = vec![0.0; n * k];
        for i in 0..n {
            let row = &dec[i * np..(i + 1) * np];
            let mut votes = vec![0.0; k];
            let mut conf = vec![0.0; k];
            let mut pair = 0;
            for a in 0..k {
                for b in a + 1..k {
                    let v = row[pair];
                    conf[a] += v;
                    conf[b] -= v;
                    if v < 0.0 {
                        votes[b] += 1.0;
                    } else {
                        votes[a] += 1.0;
                    }
                    pair += 1;
                }
            }
            for c in 0..k {
                out[i * k + c] = votes[c] + conf[c] / (3.0 * (conf[c].abs() + 1.0));
            }
        }
        out
    }

    /// scikit-learn's `decision_function`: for two classes one value per row (positive: the
    /// second class); otherwise `n × n_classes` (`ovr`, default) or `n × n_pairs` (`ovo`)
    /// row-major, over the trained classes.
    pub fn decision_function(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let (n, dec) = self.pairwise(data)?;
        if self.binary() {
            return Ok(dec.iter().map(|v| -v).collect());
        }
        Ok(match self.params.decision_function_shape {
            DecisionShape::Ovo => dec,
            DecisionShape::Ovr => self.ovr(n, &dec),
        })
    }

    /// Class probabilities (`n × n_classes`, row-major), when fitted with `probability`.
    fn proba(&self, n: usize, dec: &[f64]) -> Option<Proba> {
        let (pa, pb) = (self.prob_a.as_ref()?, self.prob_b.as_ref()?);
        let k = self.labels.len();
        let np = self.rho.len();
        let nc = self.classes.len();
        let min_prob = 1e-7;
        let mut values = vec![0.0; n * nc];
        let mut r = vec![0.0; k * k];
        let mut pk = vec![0.0; k];
        for i in 0..n {
            let row = &dec[i * np..(i + 1) * np];
            let mut pair = 0;
            for a in 0..k {
                for b in a + 1..k {
                    let v = sigmoid_predict(row[pair], pa[pair], pb[pair])
                        .clamp(min_prob, 1.0 - min_prob);
                    r[a * k + b] = v;
                    r[b * k + a] = 1.0 - v;
                    pair += 1;
                }
            }
            if k == 2 {
                pk[0] = r[1];
                pk[1] = r[2];
            } else {
                multiclass_probability(k, &r, &mut pk);
            }
            let s: f64 = pk.iter().sum();
            for (c, &v) in self.labels.iter().zip(&pk) {
                values[i * nc + *c as usize] = v / s;
            }
        }
        Some(Proba {
            n_classes: nc,
            values,
        })
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, SVCParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let labels: Vec<u32> = r.get("labels")?;
        let n_support: Vec<usize> = r.get("n_support")?;
        let k = labels.len();
        if k < 2 || n_support.len() != k || labels.iter().any(|&c| c as usize >= classes.len()) {
            return Err(r.invalid("inconsistent classes, labels and n_support"));
        }
        let n_sv: usize = n_support.iter().sum();
        let p = input.len();
        let support: Vec<usize> = r
            .vector("support", n_sv)?
            .into_iter()
            .map(|v| v as usize)
            .collect();
        let support_vectors = r.matrix("support_vectors", n_sv, p)?;
        let dual_coef = r.matrix("dual_coef", k - 1, n_sv)?;
        let rho = r.vector("rho", k * (k - 1) / 2)?;
        let (prob_a, prob_b) = if r.has("prob_a") {
            (
                Some(r.vector("prob_a", rho.len())?),
                Some(r.vector("prob_b", rho.len())?),
            )
        } else {
            (None, None)
        };
        Ok(Box::new(SVC::assemble(
            params,
            input,
            classes,
            labels,
            r.vector("gamma", 1)?[0],
            support,
            support_vectors,
            n_support,
            dual_coef,
            rho,
            prob_a,
            prob_b,
        )))
    }
}

impl Predictor for SVC {
    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: self.prob_a.is_some(),
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let (n, dec) = self.pairwise(data)?;
        let k = self.labels.len();
        let np = self.rho.len();
        let labels: Vec<u32> = if self.params.break_ties && k > 2 {
            let ovr = self.ovr(n, &dec);
            ovr.chunks_exact(k)
                .map(|row| self.labels[smelt_core::model::argmax(row)])
                .collect()
        } else {
            dec.chunks_exact(np)
                .map(|row| {
                    let mut votes = vec![0usize; k];
                    let mut pair = 0;
                    for a in 0..k {
                        for b in a + 1..k {
                            if row[pair] > 0.0 {
                                votes[a] += 1;
                            } else {
                                votes[b] += 1;
                            }
                            pair += 1;
                        }
                    }
                    let mut best = 0;
                    for c in 1..k {
                        if votes[c] > votes[best] {
                            best = c;
                        }
                    }
                    self.labels[best]
                })
                .collect()
        };
        Ok(Prediction::Classification {
            labels,
            classes: self.classes.clone(),
            proba: self.proba(n, &dec),
        })
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.put("labels", &self.labels)?;
        // Arrays, not JSON numbers: JSON parsing may be off by one ulp.
        w.array("gamma", &[1], &[self.gamma])?;
        w.put("n_support", &self.n_support)?;
        let n_sv = self.support.len();
        let support: Vec<f64> = self.support.iter().map(|&i| i as f64).collect();
        w.array("support", &[n_sv], &support)?;
        w.array(
            "support_vectors",
            &[n_sv, self.input.len()],
            &self.support_vectors,
        )?;
        w.array("dual_coef", &[self.labels.len() - 1, n_sv], &self.dual_coef)?;
        w.array("rho", &[self.rho.len()], &self.rho)?;
        if let (Some(a), Some(b)) = (&self.prob_a, &self.prob_b) {
            w.array("prob_a", &[a.len()], a)?;
            w.array("prob_b", &[b.len()], b)?;
        }
        Ok(())
    }
}
