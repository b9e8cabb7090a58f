//! Gaussian naive Bayes: one normal distribution per class and feature (see the
//! [module docs](super) for the likelihood).
//!
//! Means and variances are the (sample-weighted) per-class moments; every variance is
//! increased by `epsilon = var_smoothing · max_j var(X_j)` (the unweighted variance of the
//! widest feature, as scikit-learn) so that a feature constant within a class does not give an
//! infinite likelihood.

use rayon::prelude::*;
use smelt_core::model::{check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use super::{BLOCK, class_counts, classify, log_normalize, prior_length_error, prior_ok};
use crate::util::mat;
use smelt_core::artifact::{load_common, save_common};

const NAME: &str = "GaussianNB";

smelt_core::params! {
    /// Parameters of [`GaussianNB`] (scikit-learn's `GaussianNB`).
    pub struct GaussianNBParams("GaussianNB") {
        /// Class prior probabilities, one per class in class order, non-negative and summing to 1;
        /// default `None` (the empirical class frequencies, sample-weighted).
        priors: Option<Vec<f64>> = None,
            range: check(
                "non-negative probabilities summing to 1, or unset",
                |p| prior_ok(p.as_deref(), true),
                |p| format!("{:?}", p.as_deref().unwrap_or(&[]))
            ),
            setter: some(Vec<f64>);
        /// Fraction of the largest feature variance added to every variance for stability,
        /// `[0, inf)`; default 1e-9.
        var_smoothing: f64 = 1e-9, range: at_least(0.0);
    }
}

/// A fitted Gaussian naive Bayes classifier.
#[derive(Clone, Debug, PartialEq)]
pub struct GaussianNB {
    params: GaussianNBParams,
    input: Vec<Feature>,
    classes: Vec<String>,
    /// Per-class means, row-major `k × p`.
    theta: Vec<f64>,
    /// Per-class variances (with `epsilon` added), row-major `k × p`.
    var: Vec<f64>,
    class_count: Vec<f64>,
    class_prior: Vec<f64>,
    epsilon: f64,
}

impl Fit for GaussianNBParams {
    type Model = GaussianNB;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        self.check_ranges()
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<GaussianNB> {
        self.validate()?;
        require_numeric(NAME, data)?;
        let (codes, classes) = classification_target(NAME, data)?;
        check_sample_weight(NAME, data.n_rows(), w)?;
        let k = classes.len();
        if let Some(p) = &self.priors
            && p.len() != k
        {
            return Err(prior_length_error(NAME, "priors", p.len(), k));
        }
        let x = mat(data);
        let (n, p) = (x.nrows(), x.ncols());
        let class_count = class_counts(codes, k, w);

        // Per feature (in parallel): the unweighted variance for epsilon, and the per-class
        // weighted mean and variance (two passes, as numpy's average of squared deviations).
        let per_feature: Vec<(f64, Vec<f64>, Vec<f64>)> = (0..p)
            .into_par_iter()
            .map(|j| {
                let col = &data.column(j)[..n];
                let mean = col.iter().sum::<f64>() / n as f64;
                let var_all = col.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
                let mut sum = vec![0.0; k];
                for (i, &v) in col.iter().enumerate() {
                    sum[codes[i] as usize] += w.map_or(v, |w| w[i] * v);
                }
                // A class of (numerically) zero weight keeps a zero mean and variance, as
                // scikit-learn's `_update_mean_variance` does.
                let live = |c: usize| class_count[c].abs() > 1e-8;
                let mu: Vec<f64> = (0..k)
                    .map(|c| {
                        if live(c) {
                            sum[c] / class_count[c]
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let mut ss = vec![0.0; k];
                for (i, &v) in col.iter().enumerate() {
                    let c = codes[i] as usize;
                    let d = v - mu[c];
                    ss[c] += w.map_or(d * d, |w| w[i] * d * d);
                }
                let var = (0..k)
                    .map(|c| if live(c) { ss[c] / class_count[c] } else { 0.0 })
                    .collect();
                (var_all, mu, var)
            })
            .collect();
        let epsilon = self.var_smoothing
            * per_feature
                .iter()
                .map(|f| f.0)
                .fold(f64::NEG_INFINITY, f64::max)
                .max(0.0);
        let mut theta = vec![0.0; k * p];
        let mut var = vec![0.0; k * p];
        for (j, (_, mu, v)) in per_feature.iter().enumerate() {
            for c in 0..k {
                theta[c * p + j] = mu[c];
                var[c * p + j] = v[c] + epsilon;
            }
        }
        let class_prior = match &self.priors {
            Some(pr) => pr.clone(),
            None => {
                let total: f64 = class_count.iter().sum();
                class_count.iter().map(|c| c / total).collect()
            }
        };
        // A zero variance (a feature constant within a class, with nothing added by
        // var_smoothing) makes the likelihood infinite; scikit-learn returns NaN there.
        for c in 0..k {
            if class_prior[c] == 0.0 {
                continue;
            }
            if class_count[c].abs() <= 1e-8 {
                return Err(CoreError::Numerical {
                    estimator: NAME,
                    message: format!(
                        "class {:?} has no training rows (or zero total weight) but `priors` \
                         gives it probability {}; there is no distribution to score it with",
                        classes[c], class_prior[c]
                    ),
                });
            }
            if let Some(j) = (0..p).find(|&j| var[c * p + j].is_nan() || var[c * p + j] <= 0.0) {
                return Err(CoreError::Numerical {
                    estimator: NAME,
                    message: format!(
                        "feature `{}` has zero variance in class {:?} and var_smoothing adds \
                         none (every feature is constant); raise var_smoothing or drop the feature",
                        data.features()[j].name,
                        classes[c]
                    ),
                });
            }
        }
        Ok(GaussianNB {
            params: self.clone(),
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            theta,
            var,
            class_count,
            class_prior,
            epsilon,
        })
    }
}

impl GaussianNB {
    /// The model kind in model files.
    pub const KIND: &'static str = "gaussian_nb";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &GaussianNBParams {
        &self.params
    }
    /// Class labels, in code order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// Per-class feature means, row-major `n_classes × n_features` (`theta_`).
    pub fn theta(&self) -> &[f64] {
        &self.theta
    }
    /// Per-class feature variances including `epsilon`, row-major (`var_`).
    pub fn var(&self) -> &[f64] {
        &self.var
    }
    /// Sample-weighted number of training rows per class (`class_count_`).
    pub fn class_count(&self) -> &[f64] {
        &self.class_count
    }
    /// Class prior probabilities (`class_prior_`).
    pub fn class_prior(&self) -> &[f64] {
        &self.class_prior
    }
    /// The variance added to every variance (`epsilon_`).
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Joint log-likelihoods `log P(c) + log P(x|c)`, row-major `n × n_classes`
    /// (`predict_joint_log_proba`).
    pub fn predict_joint_log_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(NAME, &d)?;
        let (n, p, k) = (d.n_rows(), d.n_features(), self.classes.len());
        // Per class: log prior - ½ Σ_j log(2π σ²_cj).
        let consts: Vec<f64> = (0..k)
            .map(|c| {
                let norm: f64 = self.var[c * p..(c + 1) * p]
                    .iter()
                    .map(|v| (2.0 * std::f64::consts::PI * v).ln())
                    .sum();
                -0.5 * norm
            })
            .collect();
        let mut jll = vec![0.0; n * k];
        jll.par_chunks_mut(BLOCK * k)
            .enumerate()
            .for_each(|(b, out)| {
                let start = b * BLOCK;
                let rows = out.len() / k;
                let mut acc = vec![0.0; rows];
                for c in 0..k {
                    let prior = self.class_prior[c];
                    if prior == 0.0 {
                        (0..rows).for_each(|r| out[r * k + c] = f64::NEG_INFINITY);
                        continue;
                    }
                    acc.iter_mut().for_each(|a| *a = 0.0);
                    for j in 0..p {
                        let col = &d.column(j)[start..start + rows];
                        let (t, v) = (self.theta[c * p + j], self.var[c * p + j]);
                        for (a, xv) in acc.iter_mut().zip(col) {
                            let dx = xv - t;
                            *a += dx * dx / v;
                        }
                    }
                    let lp = prior.ln();
                    for (r, a) in acc.iter().enumerate() {
                        out[r * k + c] = lp + (consts[c] - 0.5 * a);
                    }
                }
            });
        Ok(jll)
    }

    /// Log class probabilities, row-major `n × n_classes` (`predict_log_proba`).
    pub fn predict_log_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let mut jll = self.predict_joint_log_proba(data)?;
        log_normalize(&mut jll, self.classes.len());
        Ok(jll)
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, GaussianNBParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let (k, p) = (classes.len(), input.len());
        Ok(Box::new(GaussianNB {
            theta: r.matrix("theta", k, p)?,
            var: r.matrix("var", k, p)?,
            class_count: r.vector("class_count", k)?,
            class_prior: r.vector("class_prior", k)?,
            epsilon: r.get("epsilon")?,
            params,
            input,
            classes,
        }))
    }
}

impl Predictor for GaussianNB {
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
        Ok(classify(self.predict_joint_log_proba(data)?, &self.classes))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        let (k, p) = (self.classes.len(), self.input.len());
        w.put("classes", &self.classes)?;
        w.array("theta", &[k, p], &self.theta)?;
        w.array("var", &[k, p], &self.var)?;
        w.array("class_count", &[k], &self.class_count)?;
        w.array("class_prior", &[k], &self.class_prior)?;
        w.put("epsilon", &self.epsilon)
    }
}
