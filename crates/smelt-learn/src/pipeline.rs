//! `Pipeline`: preprocessing steps and a final estimator, fitted, saved and served as **one**
//! model — the guard against training–serving skew.
//!
//! ```
//! use smelt_core::Fit;
//! use smelt_learn::linear::RidgeParams;
//! use smelt_learn::pipeline::PipelineParams;
//! use smelt_learn::preprocessing::StandardScalerParams;
//!
//! let data = smelt_learn::util::toy_regression();
//! let model = PipelineParams::new(RidgeParams::default())
//!     .step(StandardScalerParams::default())
//!     .fit(&data)
//!     .unwrap();
//! ```

use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, FitPredictor, FitTransform,
    Output, ParamError, Prediction, Predictor, Registry, Result, Transform, UnknownCategory,
};

/// Parameters of a [`Pipeline`]: transformers in order, then an estimator.
#[derive(Debug)]
pub struct PipelineParams {
    /// Preprocessing steps, applied in order.
    pub steps: Vec<Box<dyn FitTransform>>,
    /// The final estimator.
    pub estimator: Box<dyn FitPredictor>,
}

impl PipelineParams {
    /// A pipeline ending in `estimator`, with no step yet.
    pub fn new(estimator: impl FitPredictor + 'static) -> Self {
        PipelineParams {
            steps: Vec::new(),
            estimator: Box::new(estimator),
        }
    }

    /// A pipeline from boxed parts.
    pub fn from_boxed(steps: Vec<Box<dyn FitTransform>>, estimator: Box<dyn FitPredictor>) -> Self {
        PipelineParams { steps, estimator }
    }

    /// Appends a preprocessing step.
    pub fn step(mut self, t: impl FitTransform + 'static) -> Self {
        self.steps.push(Box::new(t));
        self
    }
}

/// A fitted pipeline.
#[derive(Debug)]
pub struct Pipeline {
    input: Vec<Feature>,
    steps: Vec<Box<dyn Transform>>,
    model: Box<dyn Predictor>,
}

impl Pipeline {
    /// Kind in model files.
    pub const KIND: &'static str = "pipeline";

    /// The fitted preprocessing steps.
    pub fn steps(&self) -> &[Box<dyn Transform>] {
        &self.steps
    }

    /// The fitted final estimator.
    pub fn model(&self) -> &dyn Predictor {
        self.model.as_ref()
    }

    /// Runs the preprocessing steps only.
    pub fn transform(&self, data: &Dataset<f64>) -> Result<Dataset<f64>> {
        let mut d = data.conform(&self.input, UnknownCategory::Append)?;
        // The first step reads the input; the ones after it may rewrite what they are given.
        for t in &self.steps {
            d = std::borrow::Cow::Owned(match d {
                std::borrow::Cow::Borrowed(b) => t.transform(b)?,
                std::borrow::Cow::Owned(o) => t.transform_owned(o)?,
            });
        }
        Ok(d.into_owned())
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, registry: &Registry) -> Result<Box<dyn Predictor>> {
        let input: Vec<Feature> = r.get("input")?;
        let n: usize = r.get("n_steps")?;
        let steps = (0..n)
            .map(|s| registry.load_transform(&r.child(&format!("step{s}"))?))
            .collect::<Result<Vec<_>>>()?;
        let model = registry.load_predictor(&r.child("model")?)?;
        Ok(Box::new(Pipeline {
            input,
            steps,
            model,
        }))
    }
}

impl Fit for PipelineParams {
    type Model = Pipeline;

    fn name(&self) -> &'static str {
        "Pipeline"
    }

    fn check(&self) -> Vec<ParamError> {
        let mut out: Vec<ParamError> = self.steps.iter().flat_map(|s| s.check()).collect();
        out.extend(self.estimator.check());
        out
    }

    fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Pipeline> {
        self.validate()?;
        let mut steps = Vec::with_capacity(self.steps.len());
        let mut d = std::borrow::Cow::Borrowed(data);
        for s in &self.steps {
            let (t, out) = match d {
                std::borrow::Cow::Borrowed(b) => s.fit_transform(b)?,
                std::borrow::Cow::Owned(o) => s.fit_transform_owned(o)?,
            };
            steps.push(t);
            d = std::borrow::Cow::Owned(out);
        }
        if d.n_features() == 0 && !self.estimator.reads_text() {
            return Err(CoreError::TooFew {
                estimator: self.estimator.name(),
                what: if data.texts().is_empty() {
                    "feature column"
                } else {
                    "feature column (the table's features are free text, which only text models read: --model transformer_classifier or finetune_classifier)"
                },
                needed: 1,
                got: 0,
            });
        }
        let model = self.estimator.fit_predictor(&d, w)?;
        Ok(Pipeline {
            // Free-text columns too when the model reads them: prediction reads them back by
            // name (and only then requires them).
            input: if self.estimator.reads_text() {
                data.input_features()
            } else {
                data.features().to_vec()
            },
            steps,
            model,
        })
    }
}

impl Predictor for Pipeline {
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
        self.model.output()
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = self.transform(data)?;
        self.model.predict(&d)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        self.model.feature_importances()
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        self.model.training_history()
    }

    /// The final model's, unless a step was cross-fitted: then the model was fitted on other
    /// values than `predict` would give it, and the caller predicts.
    fn training_prediction(&self) -> Option<Prediction> {
        if self.steps.iter().any(|s| s.cross_fitted()) {
            return None;
        }
        self.model.training_prediction()
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put("input", &self.input)?;
        w.put("n_steps", &self.steps.len())?;
        for (s, t) in self.steps.iter().enumerate() {
            w.transform(&format!("step{s}"), t.as_ref())?;
        }
        w.predictor("model", self.model.as_ref())
    }
}
