//! Logistic regression (scikit-learn 1.9's `LogisticRegression`): binary and multinomial.
//!
//! With `K` classes, decision values are `z = W x + b` — one row of `W` for two classes
//! (`P(class 1) = σ(z)`), `K` rows otherwise (`P = softmax(z)`, the multinomial model). The fit
//! minimises, over `W` and the unpenalised intercept `b`,
//!
//! ```text
//! C · Σᵢ sᵢ ℓ(W xᵢ + b, yᵢ)  +  (1 − ρ)/2 · ‖W‖²  +  ρ · ‖W‖₁
//! ```
//!
//! with `ℓ` the log-loss, `sᵢ` the sample weight times the class weight of row `i`, `ρ` the
//! `l1_ratio` and no penalty when `C = inf`. Both solvers minimise a rescaled copy with the same
//! minimiser, as scikit-learn does: L-BFGS (`lbfgs`, l2 or no penalty) the mean
//! `(1/S) Σᵢ sᵢ ℓᵢ + ‖W‖² / (2 C S)` with `S = Σᵢ sᵢ`; SAGA (`saga`, every penalty)
//! `(1/n) Σᵢ sᵢ ℓᵢ + α/2 ‖W‖² + β ‖W‖₁` with `α = (1 − ρ)/(C n)`, `β = ρ/(C n)`.
//!
//! A run that stops at `max_iter` is kept (scikit-learn warns), with
//! [`LogisticRegression::converged`] false.
//!
//! ```
//! use smelt_core::{Dataset, Feature, FeatureKind, Fit, LogicalType, Predictor, Target};
//! use smelt_learn::linear::LogisticRegressionParams;
//!
//! let x = Feature { name: "x".into(), ltype: LogicalType::Numeric, kind: FeatureKind::Numeric };
//! let y = Target::Classification { codes: vec![0, 0, 1, 0, 1, 1], classes: vec!["no".into(), "yes".into()] };
//! let data = Dataset::new(6, vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0], vec![x], Some(("y".into(), y))).unwrap();
//! let model = LogisticRegressionParams::default().fit(&data).unwrap();
//! assert!(model.coef()[0] > 0.0);
//! let proba = model.predict_proba(&data).unwrap();
//! assert!(proba.row(5)[1] > 0.5);
//! ```

mod lbfgs;
mod objective;
mod saga;

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use smelt_core::rng::Rng;

use smelt_core::artifact::{load_common, save_common};

use crate::util::{linear_predict, mat};

const NAME: &str = "LogisticRegression";

/// The penalty on the coefficients (scikit-learn's `penalty`, deprecated there since 1.8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Penalty {
    /// Chosen by `l1_ratio` and `C`, scikit-learn 1.9's default (spelt `deprecated` there):
    /// `l1_ratio` 0 → l2, 1 → l1, in between → elastic net; `C = inf` → none.
    #[default]
    #[serde(alias = "deprecated")]
    Auto,
    /// `½‖W‖²`.
    L2,
    /// `‖W‖₁` (needs `saga`).
    L1,
    /// `ρ‖W‖₁ + (1 − ρ)/2 ‖W‖²` with `ρ = l1_ratio` (needs `saga`).
    Elasticnet,
    /// No penalty (`C` and `l1_ratio` are ignored); also JSON `null`, as scikit-learn's `None`.
    None,
}

/// The optimiser.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogisticSolver {
    /// Limited-memory BFGS on the smooth objective (l2 or no penalty).
    #[default]
    Lbfgs,
    /// SAGA, a variance-reduced stochastic proximal gradient (every penalty); converges fast
    /// only on standardised features.
    Saga,
}

/// Per-class weights, multiplied into the sample weights.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassWeight {
    /// `S / (k · S_c)`: total weight over (number of classes × weight of the class).
    Balanced,
    /// Weight by class label; unlisted classes weigh 1.
    Map(BTreeMap<String, f64>),
}

impl Serialize for ClassWeight {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            ClassWeight::Balanced => s.serialize_str("balanced"),
            ClassWeight::Map(m) => m.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ClassWeight {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Name(String),
            Map(BTreeMap<String, f64>),
        }
        match Raw::deserialize(d)? {
            Raw::Name(s) if s == "balanced" => Ok(ClassWeight::Balanced),
            Raw::Name(s) => Err(serde::de::Error::custom(format!(
                "class_weight must be \"balanced\" or a map from class label to weight, got {s:?}"
            ))),
            Raw::Map(m) => Ok(ClassWeight::Map(m)),
        }
    }
}

smelt_core::params! {
    /// Parameters of [`LogisticRegression`] (scikit-learn's `LogisticRegression`).
    pub struct LogisticRegressionParams("LogisticRegression") {
        /// Penalty; default `auto` (from `l1_ratio` and `C`, as scikit-learn 1.9). `null` or
        /// `"none"`: no penalty.
        penalty: Penalty = Penalty::Auto, serde(deserialize_with = "penalty_or_null");
        /// Inverse regularisation strength, `(0, inf]`; default 1.0. `inf` (the string `"inf"` in
        /// JSON) means no penalty.
        c: f64 = 1.0,
            range: check("a float in (0, inf] (inf: no penalty)", |c| *c > 0.0),
            rename: "C",
            serde(with = "float_or_inf");
        /// Elastic-net mixing `ρ`, `[0, 1]`: 0 = l2, 1 = l1; default 0.
        l1_ratio: f64 = 0.0, range: within(0.0, 1.0);
        /// Stopping tolerance, `[0, inf)`; default 1e-4. L-BFGS: on the largest gradient entry of
        /// the mean-scaled objective; SAGA: on the relative change of the weights over an epoch.
        tol: f64 = 1e-4, range: at_least(0.0);
        /// Fit an (unpenalised) intercept; default `true`.
        fit_intercept: bool = true;
        /// Class weights: none (default), `"balanced"` or a map label → weight (`[0, inf)`).
        class_weight: Option<ClassWeight> = None;
        /// Seed of SAGA's row sampling; default 0.
        random_state: u64 = 0;
        /// LogisticSolver; default `lbfgs`.
        solver: LogisticSolver = LogisticSolver::Lbfgs;
        /// Iteration cap (L-BFGS iterations or SAGA epochs), `[0, inf)`; default 100.
        max_iter: usize = 100;
    }
}

fn penalty_or_null<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Penalty, D::Error> {
    Ok(Option::<Penalty>::deserialize(d)?.unwrap_or(Penalty::None))
}

/// `C` as a JSON number, or the string `"inf"` (JSON has no infinity).
mod float_or_inf {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(*v)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Num(f64),
            Str(String),
        }
        match Raw::deserialize(d)? {
            Raw::Num(v) => Ok(v),
            Raw::Str(s) => s.trim().parse::<f64>().map_err(|_| {
                serde::de::Error::custom(format!("expected a number or \"inf\", got {s:?}"))
            }),
        }
    }
}

impl LogisticRegressionParams {
    /// The penalty in effect (`auto` resolved; never [`Penalty::Auto`]).
    pub fn effective_penalty(&self) -> Penalty {
        match self.penalty {
            Penalty::Auto if self.c.is_infinite() => Penalty::None,
            Penalty::Auto if self.l1_ratio == 0.0 => Penalty::L2,
            Penalty::Auto if self.l1_ratio == 1.0 => Penalty::L1,
            Penalty::Auto => Penalty::Elasticnet,
            p => p,
        }
    }

    /// `(l1, l2)`: the penalty `l1‖W‖₁ + l2/2 ‖W‖²` next to `Σᵢ sᵢ ℓᵢ` (i.e. divided by `C`).
    fn strengths(&self) -> (f64, f64) {
        let inv_c = if self.c.is_finite() {
            1.0 / self.c
        } else {
            0.0
        };
        match self.effective_penalty() {
            Penalty::L2 => (0.0, inv_c),
            Penalty::L1 => (inv_c, 0.0),
            Penalty::Elasticnet => (inv_c * self.l1_ratio, inv_c * (1.0 - self.l1_ratio)),
            Penalty::None | Penalty::Auto => (0.0, 0.0),
        }
    }

    /// Weight of each class (in code order) for this target.
    fn class_weights(
        &self,
        classes: &[String],
        codes: &[u32],
        sw: Option<&[f64]>,
    ) -> Result<Vec<f64>> {
        let k = classes.len();
        match &self.class_weight {
            None => Ok(vec![1.0; k]),
            Some(ClassWeight::Balanced) => {
                let mut count = vec![0.0; k];
                for (i, &c) in codes.iter().enumerate() {
                    count[c as usize] += sw.map_or(1.0, |w| w[i]);
                }
                let total: f64 = count.iter().sum();
                // Classes count when they carry weight, so zero weights act like absent rows
                // (scikit-learn divides by zero there); such a class gets 0, which no row uses.
                let n_present = count.iter().filter(|&&c| c > 0.0).count() as f64;
                Ok(count
                    .iter()
                    .map(|&c| {
                        if c > 0.0 {
                            total / (n_present * c)
                        } else {
                            0.0
                        }
                    })
                    .collect())
            }
            Some(ClassWeight::Map(m)) => {
                let weights: Vec<f64> = classes
                    .iter()
                    .map(|c| m.get(c).copied().unwrap_or(1.0))
                    .collect();
                // scikit-learn's rule: keys that name no class are an error unless every
                // class has a weight.
                let named = classes.iter().filter(|c| m.contains_key(*c)).count();
                if named < k && named != m.len() {
                    let unknown: Vec<&String> =
                        m.keys().filter(|key| !classes.contains(key)).collect();
                    return Err(CoreError::Params(vec![ParamError {
                        estimator: NAME,
                        param: "class_weight",
                        allowed: format!(
                            "a map from class labels ({}) to weights",
                            classes.join(", ")
                        ),
                        got: format!("unknown label(s) {unknown:?}"),
                    }]));
                }
                Ok(weights)
            }
        }
    }
}

impl Fit for LogisticRegressionParams {
    type Model = LogisticRegression;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let mut check = self.range_check(NAME);
        if let Some(ClassWeight::Map(m)) = &self.class_weight {
            for (label, &w) in m {
                check = check.require(
                    w.is_finite() && w >= 0.0,
                    "class_weight",
                    "finite, non-negative weights",
                    format!("{w} for class {label:?}"),
                );
            }
        }
        let penalty = self.effective_penalty();
        check
            .require(
                !(self.solver == LogisticSolver::Lbfgs
                    && matches!(penalty, Penalty::L1 | Penalty::Elasticnet)),
                "solver",
                "\"saga\" for an l1 or elastic-net penalty (l1_ratio > 0); lbfgs supports l2 and none",
                "\"lbfgs\"",
            )
            .finish()
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        sample_weight: Option<&[f64]>,
    ) -> Result<LogisticRegression> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let (codes, classes) = classification_target(NAME, data)?;
        let (n, p) = (data.n_rows(), data.n_features());
        check_sample_weight(NAME, n, sample_weight)?;
        let class_w = self.class_weights(classes, codes, sample_weight)?;
        let s: Vec<f64> = codes
            .iter()
            .enumerate()
            .map(|(i, &c)| sample_weight.map_or(1.0, |w| w[i]) * class_w[c as usize])
            .collect();
        let s_sum: f64 = s.iter().sum();
        if !(s_sum > 0.0 && s_sum.is_finite()) {
            return Err(CoreError::SampleWeight {
                estimator: NAME,
                reason: format!("the sample weights times the class weights sum to {s_sum}"),
            });
        }
        let k = if classes.len() == 2 { 1 } else { classes.len() };
        let (l1, l2) = self.strengths();
        let (theta, n_iter, converged) = match self.solver {
            LogisticSolver::Lbfgs => {
                let mut obj = objective::Objective::new(
                    data.values(),
                    n,
                    p,
                    codes,
                    &s,
                    k,
                    self.fit_intercept,
                    l2 / s_sum,
                );
                let x0 = vec![0.0; obj.dim()];
                let opts = lbfgs::Options {
                    max_iter: self.max_iter,
                    gtol: self.tol,
                    ftol: 64.0 * f64::EPSILON,
                    memory: 10,
                    max_ls: 50,
                };
                let r = lbfgs::minimize(|x, g| obj.eval(x, g), x0, &opts);
                (r.x, r.n_iter, r.converged)
            }
            LogisticSolver::Saga => {
                let rows = data.to_row_major();
                let problem = saga::Saga {
                    x: &rows,
                    n,
                    p,
                    y: codes,
                    sw: &s,
                    k,
                    fit_intercept: self.fit_intercept,
                    alpha: l2 / n as f64,
                    beta: l1 / n as f64,
                };
                let mut rng = Rng::new(self.random_state);
                let r = problem.solve(self.max_iter, self.tol, &mut rng);
                if !r.finite {
                    return Err(CoreError::Numerical {
                        estimator: NAME,
                        message: format!(
                            "SAGA diverged (non-finite weights) in epoch {}; standardise the features (StandardScaler)",
                            r.n_iter
                        ),
                    });
                }
                (r.theta, r.n_iter, r.converged)
            }
        };
        if theta.iter().any(|v| !v.is_finite()) {
            return Err(CoreError::Numerical {
                estimator: NAME,
                message: "the coefficients are not finite; standardise the features".into(),
            });
        }
        let d = p + usize::from(self.fit_intercept);
        let mut coef = Vec::with_capacity(k * p);
        let mut intercept = vec![0.0; k];
        for c in 0..k {
            coef.extend_from_slice(&theta[c * d..c * d + p]);
            if self.fit_intercept {
                intercept[c] = theta[c * d + p];
            }
        }
        Ok(LogisticRegression {
            params: self.clone(),
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            coef,
            intercept,
            n_iter,
            converged,
        })
    }
}

/// A fitted logistic regression.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticRegression {
    params: LogisticRegressionParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// Row-major `k' × p`.
    coef: Vec<f64>,
    intercept: Vec<f64>,
    n_iter: usize,
    converged: bool,
}

impl LogisticRegression {
    /// The model kind in model files.
    pub const KIND: &'static str = "logistic_regression";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &LogisticRegressionParams {
        &self.params
    }

    /// Class labels, in code order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Rows of [`coef`](Self::coef): 1 for two classes (the positive class is the second),
    /// the number of classes otherwise.
    pub fn n_outputs(&self) -> usize {
        self.intercept.len()
    }

    /// Coefficients, row-major `n_outputs × n_features` (scikit-learn's `coef_`).
    pub fn coef(&self) -> &[f64] {
        &self.coef
    }

    /// Intercepts, one per output (zeros without `fit_intercept`).
    pub fn intercept(&self) -> &[f64] {
        &self.intercept
    }

    /// Iterations run: L-BFGS iterations or SAGA epochs.
    pub fn n_iter(&self) -> usize {
        self.n_iter
    }

    /// Whether the solver met `tol` within `max_iter` (scikit-learn warns when not).
    pub fn converged(&self) -> bool {
        self.converged
    }

    /// Decision values `X Wᵀ + b`, row-major `n_rows × n_outputs` (columns matched by name).
    pub fn decision_function(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let cols = self.decision_columns(data)?;
        let (k, n) = (cols.len(), cols.first().map_or(0, Vec::len));
        let mut out = vec![0.0; n * k];
        for (c, col) in cols.iter().enumerate() {
            for (i, v) in col.iter().enumerate() {
                out[i * k + c] = *v;
            }
        }
        Ok(out)
    }

    /// Class probabilities (columns matched by name).
    pub fn predict_proba(&self, data: &Dataset<f64>) -> Result<Proba> {
        let cols = self.decision_columns(data)?;
        Ok(self.proba_of(&cols))
    }

    /// One decision-value column per output.
    fn decision_columns(&self, data: &Dataset<f64>) -> Result<Vec<Vec<f64>>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let x = mat(&d);
        let p = self.input.len();
        Ok((0..self.n_outputs())
            .map(|c| linear_predict(x, &self.coef[c * p..(c + 1) * p], self.intercept[c]))
            .collect())
    }

    fn proba_of(&self, cols: &[Vec<f64>]) -> Proba {
        let n_classes = self.classes.len();
        let n = cols.first().map_or(0, Vec::len);
        let mut values = vec![0.0; n * n_classes];
        if cols.len() == 1 {
            for (i, &z) in cols[0].iter().enumerate() {
                let p1 = if z >= 0.0 {
                    1.0 / (1.0 + (-z).exp())
                } else {
                    let e = z.exp();
                    e / (1.0 + e)
                };
                values[2 * i] = 1.0 - p1;
                values[2 * i + 1] = p1;
            }
        } else {
            for i in 0..n {
                let row = &mut values[i * n_classes..(i + 1) * n_classes];
                let max = cols.iter().fold(f64::NEG_INFINITY, |m, c| m.max(c[i]));
                let mut sum = 0.0;
                for (r, col) in row.iter_mut().zip(cols) {
                    *r = (col[i] - max).exp();
                    sum += *r;
                }
                row.iter_mut().for_each(|r| *r /= sum);
            }
        }
        Proba { n_classes, values }
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, LogisticRegressionParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        if classes.len() < 2 {
            return Err(r.invalid(format!(
                "a logistic regression needs at least 2 classes, the file has {}",
                classes.len()
            )));
        }
        let k = if classes.len() == 2 { 1 } else { classes.len() };
        let coef = r.matrix("coef", k, input.len())?;
        let intercept = r.vector("intercept", k)?;
        Ok(Box::new(LogisticRegression {
            params,
            input,
            classes,
            coef,
            intercept,
            n_iter: r.get("n_iter")?,
            converged: r.get("converged")?,
        }))
    }
}

impl Predictor for LogisticRegression {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn kind(&self) -> &str {
        Self::KIND
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let cols = self.decision_columns(data)?;
        let n = cols.first().map_or(0, Vec::len);
        // scikit-learn: z > 0 for two classes, argmax (first on ties) otherwise.
        let labels = if cols.len() == 1 {
            cols[0].iter().map(|&z| u32::from(z > 0.0)).collect()
        } else {
            (0..n)
                .map(|i| {
                    let mut best = 0;
                    for (c, col) in cols.iter().enumerate() {
                        if col[i] > cols[best][i] {
                            best = c;
                        }
                    }
                    best as u32
                })
                .collect()
        };
        Ok(Prediction::Classification {
            labels,
            classes: self.classes.clone(),
            proba: Some(self.proba_of(&cols)),
        })
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.array("coef", &[self.n_outputs(), self.input.len()], &self.coef)?;
        w.array("intercept", &[self.n_outputs()], &self.intercept)?;
        w.put("n_iter", &self.n_iter)?;
        w.put("converged", &self.converged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_deserialize_like_scikit_learn() {
        let p: LogisticRegressionParams = serde_json::from_value(serde_json::json!({
            "C": "inf", "penalty": null, "class_weight": {"a": 2.0}, "solver": "saga"
        }))
        .unwrap();
        assert!(p.c.is_infinite());
        assert_eq!(p.penalty, Penalty::None);
        assert_eq!(p.solver, LogisticSolver::Saga);
        let p: LogisticRegressionParams =
            serde_json::from_value(serde_json::json!({"penalty": "deprecated", "l1_ratio": 1.0, "class_weight": "balanced"}))
                .unwrap();
        assert_eq!(p.effective_penalty(), Penalty::L1);
        assert_eq!(p.class_weight, Some(ClassWeight::Balanced));
        // Round trip, infinity included.
        let q = LogisticRegressionParams::default().c(f64::INFINITY);
        let back: LogisticRegressionParams =
            serde_json::from_value(serde_json::to_value(&q).unwrap()).unwrap();
        assert_eq!(back, q);
        assert_eq!(back.effective_penalty(), Penalty::None);
        assert!(
            serde_json::from_value::<LogisticRegressionParams>(
                serde_json::json!({"class_weight": "equal"})
            )
            .is_err()
        );
    }

    #[test]
    fn check_lists_every_violation() {
        let p = LogisticRegressionParams::default()
            .c(0.0)
            .l1_ratio(1.5)
            .tol(-1.0);
        let errs: Vec<&str> = p.check().iter().map(|e| e.param).collect();
        assert_eq!(errs, ["C", "l1_ratio", "tol", "solver"]);
        assert!(
            LogisticRegressionParams::default()
                .l1_ratio(0.5)
                .solver(LogisticSolver::Saga)
                .check()
                .is_empty()
        );
        assert!(
            LogisticRegressionParams::default()
                .penalty(Penalty::None)
                .check()
                .is_empty()
        );
    }
}
