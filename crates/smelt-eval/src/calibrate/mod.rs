//! Probability calibration (scikit-learn's `CalibratedClassifierCV`): a classifier whose
//! probabilities are mapped through a calibrator fitted on predictions for rows the classifier
//! did not train on.
//!
//! * [`Method::Sigmoid`] — Platt scaling, two parameters, good for small calibration sets and
//!   for the S-shaped distortions of margin-based models;
//! * [`Method::Isotonic`] — a non-decreasing step map, more flexible, needs more rows.
//!
//! With `ensemble = true` (scikit-learn's default) each of the `k` stratified folds yields a
//! (classifier fitted on the other folds, calibrator fitted on this fold) pair and predictions
//! average the pairs; with `ensemble = false` one calibrator is fitted on the out-of-fold
//! probabilities of all rows and the classifier is refitted on everything. Multiclass
//! probabilities are calibrated one class against the rest and renormalised.
//!
//! The calibrated model is an ordinary [`Predictor`]: it is saved in the model file (kind
//! `calibrated`, with its members and calibrators) so `smelt predict` and serving return
//! calibrated probabilities.

mod isotonic;
mod sigmoid;
pub mod threshold;

use serde::{Deserialize, Serialize};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, FitPredictor, Output,
    ParamError, Prediction, Predictor, Proba, Registry, Result, model::classification_target,
};

pub use isotonic::Isotonic;
pub use sigmoid::Sigmoid;

use crate::split::{SplitInput, Splitter, StratifiedKFold};

/// How probabilities are calibrated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Platt scaling.
    Sigmoid,
    /// Isotonic regression.
    Isotonic,
}

impl std::str::FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "sigmoid" | "platt" => Ok(Method::Sigmoid),
            "isotonic" => Ok(Method::Isotonic),
            other => Err(format!(
                "unknown calibration method `{other}` (use sigmoid or isotonic)"
            )),
        }
    }
}

/// One fitted calibrator of one class's probability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "snake_case")]
pub enum Calibrator {
    /// Platt scaling.
    Sigmoid(Sigmoid),
    /// Isotonic regression.
    Isotonic(Isotonic),
}

impl Calibrator {
    /// Fits `method` on one class's probabilities against "is this class".
    pub fn fit(method: Method, p: &[f64], is_class: &[bool], w: Option<&[f64]>) -> Calibrator {
        match method {
            Method::Sigmoid => Calibrator::Sigmoid(Sigmoid::fit(p, is_class, w)),
            Method::Isotonic => {
                let y: Vec<f64> = is_class.iter().map(|&b| f64::from(u8::from(b))).collect();
                Calibrator::Isotonic(Isotonic::fit(p, &y, w))
            }
        }
    }

    /// The calibrated value of `p`.
    pub fn apply(&self, p: f64) -> f64 {
        match self {
            Calibrator::Sigmoid(s) => s.predict(p),
            Calibrator::Isotonic(i) => i.predict(p),
        }
    }
}

/// An unfitted calibrated classifier.
#[derive(Debug)]
pub struct CalibratedParams {
    /// The classifier to calibrate (a pipeline or any model with probabilities).
    pub estimator: Box<dyn FitPredictor>,
    /// Sigmoid or isotonic.
    pub method: Method,
    /// Stratified folds for cross-fitting (scikit-learn: 5).
    pub folds: usize,
    /// Average one (classifier, calibrator) pair per fold (scikit-learn's default), or refit
    /// one classifier on all rows with one calibrator.
    pub ensemble: bool,
}

impl CalibratedParams {
    /// Calibrates `estimator` with `method`, 5 folds, as an ensemble.
    pub fn new(estimator: Box<dyn FitPredictor>, method: Method) -> Self {
        CalibratedParams {
            estimator,
            method,
            folds: 5,
            ensemble: true,
        }
    }
}

/// A fitted calibrated classifier (see the module docs).
#[derive(Debug)]
pub struct Calibrated {
    input: Vec<Feature>,
    classes: Vec<String>,
    method: Method,
    /// Each member: a classifier and one calibrator per class (one for binary tasks, of the
    /// positive class).
    members: Vec<(Box<dyn Predictor>, Vec<Calibrator>)>,
}

const NAME: &str = "CalibratedClassifier";

impl Calibrated {
    /// The model-file kind.
    pub const KIND: &'static str = "calibrated";

    /// The calibration method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// How many (classifier, calibrators) pairs are averaged.
    pub fn n_members(&self) -> usize {
        self.members.len()
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, registry: &Registry) -> Result<Box<dyn Predictor>> {
        let input: Vec<Feature> = r.get("input")?;
        let classes: Vec<String> = r.get("classes")?;
        let method: Method = r.get("method")?;
        let n: usize = r.get("n_members")?;
        let members = (0..n)
            .map(|i| {
                let model = registry.load_predictor(&r.child(&format!("member{i}"))?)?;
                let cals: Vec<Calibrator> = r.get(&format!("calibrators{i}"))?;
                let expected = if classes.len() == 2 { 1 } else { classes.len() };
                if cals.len() != expected {
                    return Err(r.invalid(format!(
                        "member {i} has {} calibrators, expected {expected}",
                        cals.len()
                    )));
                }
                Ok((model, cals))
            })
            .collect::<Result<Vec<_>>>()?;
        if members.is_empty() {
            return Err(r.invalid("a calibrated model needs at least one member"));
        }
        Ok(Box::new(Calibrated {
            input,
            classes,
            method,
            members,
        }))
    }
}

/// Registers the model kinds of this crate (`calibrated`, `thresholded`).
pub fn register(registry: &mut Registry) {
    registry.add_predictor(Calibrated::KIND, Calibrated::load);
    registry.add_predictor(threshold::Thresholded::KIND, threshold::Thresholded::load);
}

/// The probabilities of `pred` as columns aligned to `classes` (by label; a class the model
/// does not know gets 0).
pub(crate) fn aligned_proba(
    pred: &Prediction,
    classes: &[String],
    who: &'static str,
) -> Result<Vec<Vec<f64>>> {
    let Prediction::Classification {
        classes: pc,
        proba: Some(p),
        ..
    } = pred
    else {
        return Err(CoreError::BadParam {
            estimator: who.into(),
            message: "the classifier gives no class probabilities".into(),
            suggestion: Some("calibrate a model with probabilities (logistic regression, trees, boosting, naive Bayes)".into()),
        });
    };
    let n = p.n_rows();
    let mut cols = vec![vec![0.0; n]; classes.len()];
    for (j, c) in pc.iter().enumerate() {
        if let Some(k) = classes.iter().position(|t| t == c) {
            for (i, v) in cols[k].iter_mut().enumerate() {
                *v = p.row(i)[j];
            }
        }
    }
    Ok(cols)
}

/// Calibrated, normalised probabilities of one member (row-major).
fn member_proba(cols: &[Vec<f64>], cals: &[Calibrator]) -> Vec<f64> {
    let k = cols.len();
    let n = cols.first().map_or(0, Vec::len);
    let mut out = vec![0.0; n * k];
    if k == 2 {
        for i in 0..n {
            let p = cals[0].apply(cols[1][i]);
            out[i * 2] = 1.0 - p;
            out[i * 2 + 1] = p;
        }
        return out;
    }
    for i in 0..n {
        let row = &mut out[i * k..(i + 1) * k];
        for (j, v) in row.iter_mut().enumerate() {
            *v = cals[j].apply(cols[j][i]);
        }
        let s: f64 = row.iter().sum();
        for v in row.iter_mut() {
            *v = if s == 0.0 { 1.0 / k as f64 } else { *v / s };
            // scikit-learn rounds values a hair above 1 back to 1.
            if *v > 1.0 && *v <= 1.0 + 1e-5 {
                *v = 1.0;
            }
        }
    }
    out
}

fn fit_calibrators(
    method: Method,
    cols: &[Vec<f64>],
    codes: &[u32],
    w: Option<&[f64]>,
) -> Vec<Calibrator> {
    let k = cols.len();
    let classes: Vec<usize> = if k == 2 { vec![1] } else { (0..k).collect() };
    classes
        .iter()
        .map(|&c| {
            let is_c: Vec<bool> = codes.iter().map(|&y| y as usize == c).collect();
            Calibrator::fit(method, &cols[c], &is_c, w)
        })
        .collect()
}

impl Fit for CalibratedParams {
    type Model = Calibrated;

    fn name(&self) -> &'static str {
        NAME
    }

    fn check(&self) -> Vec<ParamError> {
        let mut out = self.estimator.check();
        if self.folds < 2 {
            out.push(ParamError {
                estimator: NAME,
                param: "cv",
                allowed: "an integer of at least 2".into(),
                got: self.folds.to_string(),
            });
        }
        out
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Calibrated> {
        self.validate()?;
        let (codes, classes) = classification_target(NAME, data)?;
        // Every class needs a member in each fold, as scikit-learn requires.
        let mut counts = vec![0usize; classes.len()];
        for &c in codes {
            counts[c as usize] += 1;
        }
        if let Some((c, &n)) = counts
            .iter()
            .enumerate()
            .find(|(_, n)| **n > 0 && **n < self.folds)
        {
            return Err(CoreError::BadParam {
                estimator: NAME.into(),
                message: format!(
                    "class `{}` has {n} row(s), fewer than the {} calibration folds",
                    classes[c], self.folds
                ),
                suggestion: Some("use fewer folds (`cv`) or more data".into()),
            });
        }
        let split_error = |e: crate::EvalError| CoreError::BadParam {
            estimator: NAME.into(),
            message: e.to_string(),
            suggestion: e.hint(),
        };
        let folds = StratifiedKFold::new(self.folds)
            .map_err(split_error)?
            .split(&SplitInput::new(data.n_rows()).with_classes(codes))
            .map_err(split_error)?;
        let take = |rows: &[usize]| w.map(|w| rows.iter().map(|&i| w[i]).collect::<Vec<_>>());
        let mut members = Vec::new();
        let mut oof: Vec<Vec<f64>> = vec![vec![0.0; data.n_rows()]; classes.len()];
        for fold in &folds {
            let train = data.select_rows(&fold.train)?;
            let test = data.select_rows(&fold.test)?;
            let model = self
                .estimator
                .fit_predictor(&train, take(&fold.train).as_deref())?;
            let cols = aligned_proba(&model.predict(&test)?, classes, NAME)?;
            if self.ensemble {
                let y: Vec<u32> = fold.test.iter().map(|&i| codes[i]).collect();
                let cals = fit_calibrators(self.method, &cols, &y, take(&fold.test).as_deref());
                members.push((model, cals));
            } else {
                for (k, col) in cols.iter().enumerate() {
                    for (r, &i) in fold.test.iter().enumerate() {
                        oof[k][i] = col[r];
                    }
                }
            }
        }
        if !self.ensemble {
            let cals = fit_calibrators(self.method, &oof, codes, w);
            let model = self.estimator.fit_predictor(data, w)?;
            members.push((model, cals));
        }
        Ok(Calibrated {
            input: data.features().to_vec(),
            classes: classes.to_vec(),
            method: self.method,
            members,
        })
    }
}

impl Predictor for Calibrated {
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

    /// The mean of the members' importances (features matched by name).
    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        let mut sum: Vec<(String, f64)> = Vec::new();
        for (model, _) in &self.members {
            for (name, v) in model.feature_importances()? {
                match sum.iter_mut().find(|(n, _)| *n == name) {
                    Some(e) => e.1 += v,
                    None => sum.push((name, v)),
                }
            }
        }
        let m = self.members.len() as f64;
        Some(sum.into_iter().map(|(n, v)| (n, v / m)).collect())
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let k = self.classes.len();
        let mut sum = vec![0.0; data.n_rows() * k];
        for (model, cals) in &self.members {
            let cols = aligned_proba(&model.predict(data)?, &self.classes, NAME)?;
            for (s, v) in sum.iter_mut().zip(member_proba(&cols, cals)) {
                *s += v;
            }
        }
        let m = self.members.len() as f64;
        for s in sum.iter_mut() {
            *s /= m;
        }
        Ok(Prediction::from_proba(
            Proba {
                n_classes: k,
                values: sum,
            },
            self.classes.clone(),
        ))
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put("input", &self.input)?;
        w.put("classes", &self.classes)?;
        w.put("method", &self.method)?;
        w.put("n_members", &self.members.len())?;
        for (i, (model, cals)) in self.members.iter().enumerate() {
            w.predictor(&format!("member{i}"), model.as_ref())?;
            w.put(&format!("calibrators{i}"), cals)?;
        }
        Ok(())
    }
}
