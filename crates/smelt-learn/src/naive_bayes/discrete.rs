//! Multinomial and Bernoulli naive Bayes: per-class feature counts, smoothed with `alpha`
//! (see the [module docs](super) for the likelihoods).
//!
//! Both count `N_cj = Σ_{i in c} w_i x_ij` (with `x` binarised at `binarize` for
//! [`BernoulliNB`]), so integer sample weights are exactly repeated rows.

use rayon::prelude::*;
use serde::Serialize;
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use super::{
    BLOCK, class_counts, class_log_prior, classify, log_normalize, prior_length_error, prior_ok,
};
use smelt_core::artifact::{load_common, save_common};

/// scikit-learn's floor for `alpha` when `force_alpha` is false.
const ALPHA_FLOOR: f64 = 1e-10;

smelt_core::params! {
    /// Parameters of [`MultinomialNB`] (scikit-learn's `MultinomialNB`).
    pub struct MultinomialNBParams("MultinomialNB") {
        /// Additive (Laplace/Lidstone) smoothing, `[0, inf)`; default 1.0. A scalar (scikit-learn
        /// also takes one value per feature).
        alpha: f64 = 1.0, range: at_least(0.0);
        /// Keep `alpha` as given even below 1e-10 (default `true`); when false, smaller values are
        /// raised to 1e-10.
        force_alpha: bool = true;
        /// Learn the class prior from the data (default `true`); when false it is uniform.
        fit_prior: bool = true;
        /// Class prior probabilities, one per class, non-negative; default `None`. Overrides
        /// `fit_prior`.
        class_prior: Option<Vec<f64>> = None,
            range: check(
                "non-negative numbers, not all zero, or unset",
                |p| prior_ok(p.as_deref(), false),
                |p| format!("{:?}", p.as_deref().unwrap_or(&[]))
            );
    }
}

smelt_core::params! {
    /// Parameters of [`BernoulliNB`] (scikit-learn's `BernoulliNB`).
    pub struct BernoulliNBParams("BernoulliNB") {
        /// Additive (Laplace/Lidstone) smoothing, `[0, inf)`; default 1.0.
        alpha: f64 = 1.0, range: at_least(0.0);
        /// Keep `alpha` as given even below 1e-10 (default `true`).
        force_alpha: bool = true;
        /// Threshold, `[0, inf)` or `None`: features are 1 when `x > binarize`, else 0; `None`
        /// takes the input as already binary. Default 0.0.
        binarize: Option<f64> = Some(0.0), range: unset_or(at_least(0.0));
        /// Learn the class prior from the data (default `true`); when false it is uniform.
        fit_prior: bool = true;
        /// Class prior probabilities, one per class, non-negative; default `None`.
        class_prior: Option<Vec<f64>> = None,
            range: check(
                "non-negative numbers, not all zero, or unset",
                |p| prior_ok(p.as_deref(), false),
                |p| format!("{:?}", p.as_deref().unwrap_or(&[]))
            );
    }
}

/// Which event model.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Model {
    Multinomial,
    /// With the binarisation threshold.
    Bernoulli(Option<f64>),
}

/// The fitted state shared by both: counts and the smoothed log-probabilities.
#[derive(Clone, Debug, PartialEq)]
struct Counts {
    model: Model,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// `N_cj`, row-major `k × p`.
    feature_count: Vec<f64>,
    class_count: Vec<f64>,
    /// `log p_cj`, row-major `k × p`.
    feature_log_prob: Vec<f64>,
    class_log_prior: Vec<f64>,
}

impl Counts {
    /// Counts, smooths and computes the priors.
    #[allow(
        clippy::too_many_arguments,
        reason = "one internal fit shared by the discrete models; each argument is distinct data"
    )]
    fn fit(
        name: &'static str,
        model: Model,
        alpha: f64,
        force_alpha: bool,
        fit_prior: bool,
        class_prior: Option<&[f64]>,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
    ) -> Result<Counts> {
        require_numeric(name, data)?;
        let (codes, classes) = classification_target(name, data)?;
        check_sample_weight(name, data.n_rows(), w)?;
        let k = classes.len();
        if let Some(pr) = class_prior
            && pr.len() != k
        {
            return Err(prior_length_error(name, "class_prior", pr.len(), k));
        }
        if model == Model::Multinomial {
            for (j, f) in data.features().iter().enumerate() {
                if let Some(i) = data.column(j).iter().position(|v| *v < 0.0) {
                    return Err(CoreError::Numerical {
                        estimator: name,
                        message: format!(
                            "feature `{}` has a negative value ({}) at row {i}; multinomial naive \
                             Bayes needs counts or frequencies (non-negative)",
                            f.name,
                            data.column(j)[i]
                        ),
                    });
                }
            }
        }
        if model == Model::Bernoulli(None) {
            // Without binarisation the values are taken as presence (probabilities); outside
            // [0, 1] the smoothed probabilities leave [0, 1] and the likelihood is NaN.
            for (j, f) in data.features().iter().enumerate() {
                if let Some(i) = data.column(j).iter().position(|v| !(0.0..=1.0).contains(v)) {
                    return Err(CoreError::Numerical {
                        estimator: name,
                        message: format!(
                            "feature `{}` has the value {} at row {i}; with binarize = None the \
                             features must be binary (0/1); set binarize to a threshold",
                            f.name,
                            data.column(j)[i]
                        ),
                    });
                }
            }
        }
        let p = data.n_features();
        let per_feature: Vec<Vec<f64>> = (0..p)
            .into_par_iter()
            .map(|j| {
                let mut s = vec![0.0; k];
                for (i, &v) in data.column(j).iter().enumerate() {
                    let v = transform(model, v);
                    s[codes[i] as usize] += w.map_or(v, |w| w[i] * v);
                }
                s
            })
            .collect();
        let mut feature_count = vec![0.0; k * p];
        for (j, s) in per_feature.iter().enumerate() {
            for c in 0..k {
                feature_count[c * p + j] = s[c];
            }
        }
        let class_count = class_counts(codes, k, w);
        let mut counts = Counts {
            model,
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            feature_count,
            class_count,
            feature_log_prob: Vec::new(),
            class_log_prior: Vec::new(),
        };
        counts.smooth(alpha, force_alpha, fit_prior, class_prior);
        Ok(counts)
    }

    /// `feature_log_prob` and `class_log_prior` from the counts (also run on load, so a saved
    /// model stores only what it learned).
    fn smooth(&mut self, alpha: f64, force_alpha: bool, fit_prior: bool, prior: Option<&[f64]>) {
        let alpha = if !force_alpha && alpha < ALPHA_FLOOR {
            ALPHA_FLOOR
        } else {
            alpha
        };
        let (k, p) = (self.classes.len(), self.input.len());
        let mut flp = vec![0.0; k * p];
        for c in 0..k {
            let row = &self.feature_count[c * p..(c + 1) * p];
            let denom = match self.model {
                Model::Multinomial => row.iter().map(|v| v + alpha).sum::<f64>(),
                Model::Bernoulli(_) => self.class_count[c] + 2.0 * alpha,
            };
            let ld = denom.ln();
            for j in 0..p {
                flp[c * p + j] = (row[j] + alpha).ln() - ld;
            }
        }
        self.feature_log_prob = flp;
        self.class_log_prior = class_log_prior(&self.class_count, prior, fit_prior);
    }

    fn jll(&self, name: &'static str, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(name, &d)?;
        let (n, p, k) = (d.n_rows(), d.n_features(), self.classes.len());
        // BernoulliNB: log(1 - p_cj), the log-probability of a feature being absent.
        let neg: Vec<f64> = match self.model {
            Model::Multinomial => Vec::new(),
            Model::Bernoulli(_) => self
                .feature_log_prob
                .iter()
                .map(|l| (1.0 - l.exp()).ln())
                .collect(),
        };
        let mut jll = vec![0.0; n * k];
        jll.par_chunks_mut(BLOCK * k)
            .enumerate()
            .for_each(|(b, out)| {
                let start = b * BLOCK;
                let rows = out.len() / k;
                let mut acc = vec![0.0; rows];
                for c in 0..k {
                    acc.iter_mut().for_each(|a| *a = 0.0);
                    for j in 0..p {
                        let col = &d.column(j)[start..start + rows];
                        let l = self.feature_log_prob[c * p + j];
                        match self.model {
                            // Zeros skipped: with alpha = 0 an unseen feature has log p = -inf,
                            // and 0 · -inf must count as 0.
                            Model::Multinomial => {
                                for (a, &x) in acc.iter_mut().zip(col) {
                                    if x != 0.0 {
                                        *a += x * l;
                                    }
                                }
                            }
                            Model::Bernoulli(_) => {
                                let nl = neg[c * p + j];
                                for (a, &x) in acc.iter_mut().zip(col) {
                                    let x = transform(self.model, x);
                                    *a += if x == 1.0 {
                                        l
                                    } else if x == 0.0 {
                                        nl
                                    } else {
                                        x * l + (1.0 - x) * nl
                                    };
                                }
                            }
                        }
                    }
                    let lp = self.class_log_prior[c];
                    for (r, a) in acc.iter().enumerate() {
                        out[r * k + c] = a + lp;
                    }
                }
            });
        Ok(jll)
    }

    fn save<P: Serialize>(&self, w: &mut ArtifactWriter, params: &P) -> Result<()> {
        save_common(w, &self.input, params)?;
        let (k, p) = (self.classes.len(), self.input.len());
        w.put("classes", &self.classes)?;
        w.array("feature_count", &[k, p], &self.feature_count)?;
        w.array("class_count", &[k], &self.class_count)
    }

    fn load(r: &ArtifactReader, model: Model, input: Vec<Feature>) -> Result<Counts> {
        let classes: Vec<String> = r.get("classes")?;
        let (k, p) = (classes.len(), input.len());
        Ok(Counts {
            model,
            feature_count: r.matrix("feature_count", k, p)?,
            class_count: r.vector("class_count", k)?,
            input,
            classes,
            feature_log_prob: Vec::new(),
            class_log_prior: Vec::new(),
        })
    }
}

/// The value the event model sees: `x > threshold` as 0/1 for a binarising Bernoulli model.
#[inline]
fn transform(model: Model, x: f64) -> f64 {
    match model {
        Model::Bernoulli(Some(t)) => {
            if x > t {
                1.0
            } else {
                0.0
            }
        }
        _ => x,
    }
}

/// A fitted multinomial naive Bayes classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct MultinomialNB {
    params: MultinomialNBParams,
    counts: Counts,
}

/// A fitted Bernoulli naive Bayes classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct BernoulliNB {
    params: BernoulliNBParams,
    counts: Counts,
}

impl Fit for MultinomialNBParams {
    type Model = MultinomialNB;

    fn name(&self) -> &'static str {
        "MultinomialNB"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    /// Fits; a negative feature value is an error naming the feature and row.
    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<MultinomialNB> {
        self.validate()?;
        let counts = Counts::fit(
            "MultinomialNB",
            Model::Multinomial,
            self.alpha,
            self.force_alpha,
            self.fit_prior,
            self.class_prior.as_deref(),
            data,
            w,
        )?;
        Ok(MultinomialNB {
            params: self.clone(),
            counts,
        })
    }
}

impl Fit for BernoulliNBParams {
    type Model = BernoulliNB;

    fn name(&self) -> &'static str {
        "BernoulliNB"
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<BernoulliNB> {
        self.validate()?;
        let counts = Counts::fit(
            "BernoulliNB",
            Model::Bernoulli(self.binarize),
            self.alpha,
            self.force_alpha,
            self.fit_prior,
            self.class_prior.as_deref(),
            data,
            w,
        )?;
        Ok(BernoulliNB {
            params: self.clone(),
            counts,
        })
    }
}

macro_rules! discrete_nb {
    ($model:ident, $params:ident, $kind:literal, $name:literal, $event:expr) => {
        impl $model {
            /// The model kind in model files.
            pub const KIND: &'static str = $kind;

            /// The hyperparameters it was fitted with.
            pub fn params(&self) -> &$params {
                &self.params
            }
            /// Class labels, in code order.
            pub fn classes(&self) -> &[String] {
                &self.counts.classes
            }
            /// Sample-weighted feature sums per class, row-major `n_classes × n_features`
            /// (`feature_count_`).
            pub fn feature_count(&self) -> &[f64] {
                &self.counts.feature_count
            }
            /// Sample-weighted rows per class (`class_count_`).
            pub fn class_count(&self) -> &[f64] {
                &self.counts.class_count
            }
            /// Smoothed log-probabilities of the features per class, row-major
            /// (`feature_log_prob_`).
            pub fn feature_log_prob(&self) -> &[f64] {
                &self.counts.feature_log_prob
            }
            /// Log class priors (`class_log_prior_`).
            pub fn class_log_prior(&self) -> &[f64] {
                &self.counts.class_log_prior
            }

            /// Joint log-likelihoods, row-major `n × n_classes` (`predict_joint_log_proba`).
            pub fn predict_joint_log_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
                self.counts.jll($name, data)
            }

            /// Log class probabilities, row-major `n × n_classes` (`predict_log_proba`).
            pub fn predict_log_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
                let mut jll = self.counts.jll($name, data)?;
                log_normalize(&mut jll, self.counts.classes.len());
                Ok(jll)
            }

            /// Registry loader.
            pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
                let (input, params): (Vec<Feature>, $params) = load_common(r)?;
                let event: fn(&$params) -> Model = $event;
                let mut counts = Counts::load(r, event(&params), input)?;
                counts.smooth(
                    params.alpha,
                    params.force_alpha,
                    params.fit_prior,
                    params.class_prior.as_deref(),
                );
                Ok(Box::new($model { params, counts }))
            }
        }

        impl Predictor for $model {
            fn kind(&self) -> &str {
                Self::KIND
            }
            fn input_features(&self) -> &[Feature] {
                &self.counts.input
            }
            fn output(&self) -> Output {
                Output::Classification {
                    classes: self.counts.classes.clone(),
                    has_proba: true,
                }
            }
            fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
                Ok(classify(
                    self.counts.jll($name, data)?,
                    &self.counts.classes,
                ))
            }
            fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
                self.counts.save(w, &self.params)
            }
        }
    };
}

discrete_nb!(
    MultinomialNB,
    MultinomialNBParams,
    "multinomial_nb",
    "MultinomialNB",
    |_| Model::Multinomial
);
discrete_nb!(
    BernoulliNB,
    BernoulliNBParams,
    "bernoulli_nb",
    "BernoulliNB",
    |p| Model::Bernoulli(p.binarize)
);
