//! The fitted gradient-boosting models: the boosted trees compiled into a
//! [`TreeEnsemble`], the loss, and the fit's record (rounds, losses, split importances).

use serde::{Deserialize, Serialize};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, classification_target, finite_regression_target};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use super::boost::{BoostParams, Boosted, boost};
use super::grow::{GrowParams, LEAF};
use super::loss::Loss;
use super::{
    HistGradientBoostingClassifierParams, HistGradientBoostingParams,
    HistGradientBoostingRegressorParams, RegressionLoss, check_classifier, check_regressor,
};
use crate::ensemble::{self, DEFAULT_LEFT, MISSING_NAN, Nodes, Objective, TreeEnsemble};
use crate::tree::class_weights;

const REGRESSOR: &str = "HistGradientBoostingRegressor";
const CLASSIFIER: &str = "HistGradientBoostingClassifier";

/// Which split importance to report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportanceType {
    /// Number of splits on the feature (LightGBM's `"split"`).
    Split,
    /// Total gain of the splits on the feature (LightGBM's `"gain"`).
    Gain,
}

/// What both fitted models hold.
#[derive(Clone, Debug, PartialEq)]
struct Booster {
    input: Vec<Feature>,
    loss: Loss,
    engine: TreeEnsemble,
    n_iter: usize,
    validation_loss: Vec<f64>,
    train_loss: Vec<f64>,
    split_count: Vec<f64>,
    split_gain: Vec<f64>,
    /// The margins on the rows it was fitted on (see [`Boosted::train_margins`]); never saved,
    /// and not part of equality (a fitted model equals itself saved and loaded).
    train_margins: Transient,
}

/// Data a fitted model holds until it is saved: equal whatever it holds.
#[derive(Clone, Debug, Default)]
struct Transient(Option<Vec<f64>>);

impl PartialEq for Transient {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The fit's record, saved beside the trees.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Record {
    loss: Loss,
    n_iter: usize,
    validation_loss: Vec<f64>,
    train_loss: Vec<f64>,
}

impl<L> HistGradientBoostingParams<L> {
    fn boost_params(
        &self,
        loss: Loss,
        data: &Dataset<f64>,
        name: &'static str,
    ) -> Result<BoostParams> {
        Ok(BoostParams {
            loss,
            learning_rate: self.learning_rate,
            max_iter: self.max_iter,
            grow: GrowParams {
                max_leaf_nodes: self.max_leaf_nodes,
                max_depth: self.max_depth,
                min_samples_leaf: self.min_samples_leaf,
                min_sum_hessian: self.min_sum_hessian_in_leaf,
                l1: self.l1_regularization,
                l2: self.l2_regularization,
                min_gain: self.min_gain_to_split,
                monotonic: self.monotonic_for(data, name)?,
            },
            max_bins: self.max_bins,
            subsample: self.subsample,
            colsample_bytree: self.colsample_bytree,
            early_stopping: self.early_stopping.unwrap_or(data.n_rows() > 10_000),
            validation_fraction: self.validation_fraction,
            n_iter_no_change: self.n_iter_no_change,
            tol: self.tol,
            seed: self.random_state,
        })
    }
}

/// Checks what every booster needs of the data.
fn check_data(data: &Dataset<f64>, name: &'static str) -> Result<()> {
    if data.n_rows() == 0 {
        return Err(CoreError::TooFew {
            estimator: name,
            what: "rows",
            needed: 1,
            got: 0,
        });
    }
    if data.n_features() == 0 {
        return Err(CoreError::TooFew {
            estimator: name,
            what: "features",
            needed: 1,
            got: 0,
        });
    }
    Ok(())
}

impl Booster {
    /// Compiles the bin-space trees into the inference engine.
    fn compile(
        b: Boosted,
        input: Vec<Feature>,
        loss: Loss,
        objective: Objective,
    ) -> Result<Booster> {
        let k = loss.n_groups();
        let p = input.len();
        let mut nodes = Nodes::default();
        let (mut split_count, mut split_gain) = (vec![0.0; p], vec![0.0; p]);
        for (t, tree) in b.trees.iter().enumerate() {
            nodes.push_tree(t % k);
            for nd in &tree.nodes {
                if nd.feature == LEAF {
                    nodes.push_node(ensemble::LEAF, 0.0, 0, 0, 0, nd.value);
                    continue;
                }
                let j = nd.feature as usize;
                split_count[j] += 1.0;
                split_gain[j] += nd.gain;
                let flags = MISSING_NAN | if nd.missing_left { DEFAULT_LEFT } else { 0 };
                let m = &b.mappers[j];
                match &nd.cat {
                    Some(set) => {
                        let cats: Vec<u32> = (0..m.n_bins as u32)
                            .filter(|&c| set[(c >> 6) as usize] >> (c & 63) & 1 == 1)
                            .collect();
                        nodes.push_categorical_node(nd.feature, &cats, nd.left, nd.right, flags);
                    }
                    None => nodes.push_node(
                        nd.feature,
                        m.edges[nd.bin as usize],
                        nd.left,
                        nd.right,
                        flags,
                        nd.value,
                    ),
                }
            }
            nodes.end_tree();
        }
        let engine = TreeEnsemble::new(
            "smelt",
            input.clone(),
            k,
            b.base,
            objective,
            false,
            false,
            nodes,
        )
        .map_err(|e| CoreError::Numerical {
            estimator: "gradient boosting",
            message: format!("the fitted trees do not compile: {e}"),
        })?
        // Unseen categories count as missing (scikit-learn's rule): the default side.
        .with_unknown_category(UnknownCategory::Missing);
        Ok(Booster {
            input,
            loss,
            engine,
            n_iter: b.n_iter,
            validation_loss: b.validation_loss,
            train_loss: b.train_loss,
            split_count,
            split_gain,
            train_margins: Transient(b.train_margins),
        })
    }

    fn margins(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        self.engine.raw_margins(data)
    }

    fn importance(&self, kind: ImportanceType) -> Vec<f64> {
        match kind {
            ImportanceType::Split => self.split_count.clone(),
            ImportanceType::Gain => self.split_gain.clone(),
        }
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        w.put(
            "record",
            &Record {
                loss: self.loss,
                n_iter: self.n_iter,
                validation_loss: self.validation_loss.clone(),
                train_loss: self.train_loss.clone(),
            },
        )?;
        w.vector("split_count", &self.split_count)?;
        w.vector("split_gain", &self.split_gain)?;
        w.child("trees", |c| self.engine.save(c))
    }

    fn load(r: &ArtifactReader, input: Vec<Feature>) -> Result<Booster> {
        let rec: Record = r.get("record")?;
        let p = input.len();
        let engine = TreeEnsemble::read(&r.child("trees")?)?;
        if engine.n_groups() != rec.loss.n_groups() || engine.input_features() != input.as_slice() {
            return Err(r.invalid("the trees do not match the model's loss or input features"));
        }
        Ok(Booster {
            input,
            loss: rec.loss,
            engine,
            n_iter: rec.n_iter,
            validation_loss: rec.validation_loss,
            train_loss: rec.train_loss,
            split_count: r.vector("split_count", p)?,
            split_gain: r.vector("split_gain", p)?,
            train_margins: Transient::default(),
        })
    }
}

macro_rules! booster_accessors {
    () => {
        /// Boosting rounds kept (`n_iter_`; with early stopping, up to the best validation
        /// loss).
        pub fn n_iter(&self) -> usize {
            self.core.n_iter
        }
        /// Validation loss before the first round and after each round (empty without early
        /// stopping).
        pub fn validation_loss(&self) -> &[f64] {
            &self.core.validation_loss
        }
        /// Training loss likewise (recorded with early stopping).
        pub fn train_loss(&self) -> &[f64] {
            &self.core.train_loss
        }
        /// Split importance per input feature (raw counts or gain sums, like LightGBM's
        /// `feature_importance`).
        pub fn feature_importances(&self, kind: ImportanceType) -> Vec<f64> {
            self.core.importance(kind)
        }
        /// The compiled trees.
        pub fn ensemble(&self) -> &TreeEnsemble {
            &self.core.engine
        }
        /// Raw margins, row-major `n × groups` (log-odds, class logits, or the regression
        /// value before the inverse link).
        pub fn raw_margins(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
            self.core.margins(data)
        }
    };
}

/// A fitted histogram gradient-boosting regressor.
#[derive(Clone, Debug, PartialEq)]
pub struct HistGradientBoostingRegressor {
    params: HistGradientBoostingRegressorParams,
    core: Booster,
}

impl Fit for HistGradientBoostingRegressorParams {
    type Model = HistGradientBoostingRegressor;

    fn name(&self) -> &'static str {
        REGRESSOR
    }

    fn check(&self) -> Vec<ParamError> {
        check_regressor(self, REGRESSOR)
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
    ) -> Result<HistGradientBoostingRegressor> {
        self.validate()?;
        check_data(data, REGRESSOR)?;
        let y = finite_regression_target(REGRESSOR, data)?;
        check_sample_weight(REGRESSOR, data.n_rows(), w)?;
        let loss = match self.loss {
            RegressionLoss::SquaredError => Loss::SquaredError,
            RegressionLoss::AbsoluteError => Loss::AbsoluteError,
            RegressionLoss::Huber => Loss::Huber {
                delta: self.huber_delta,
            },
            RegressionLoss::Quantile => Loss::Quantile {
                quantile: self.quantile,
            },
            RegressionLoss::Poisson => {
                if let Some(i) = y.iter().position(|&v| v < 0.0) {
                    return Err(CoreError::BadParam {
                        estimator: REGRESSOR.into(),
                        message: format!(
                            "loss = \"poisson\" needs a non-negative target, but row {i} has {}",
                            y[i]
                        ),
                        suggestion: None,
                    });
                }
                if y.iter().all(|&v| v == 0.0) {
                    return Err(CoreError::BadParam {
                        estimator: REGRESSOR.into(),
                        message: "loss = \"poisson\" needs a target with a positive sum".into(),
                        suggestion: None,
                    });
                }
                Loss::Poisson
            }
        };
        let bp = self.boost_params(loss, data, REGRESSOR)?;
        let b = boost(data, y, w, None, &bp, REGRESSOR)?;
        Ok(HistGradientBoostingRegressor {
            params: self.clone(),
            core: Booster::compile(b, data.features().to_vec(), loss, Objective::Identity)?,
        })
    }
}

impl HistGradientBoostingRegressor {
    /// The model kind in model files.
    pub const KIND: &'static str = "hist_gradient_boosting_regressor";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &HistGradientBoostingRegressorParams {
        &self.params
    }

    booster_accessors!();

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, HistGradientBoostingRegressorParams) = load_common(r)?;
        let core = Booster::load(r, input)?;
        if core.loss.n_groups() != 1 {
            return Err(r.invalid("a regressor has one output group"));
        }
        Ok(Box::new(HistGradientBoostingRegressor { params, core }))
    }
}

impl HistGradientBoostingRegressor {
    fn prediction_of(&self, mut values: Vec<f64>) -> Prediction {
        values
            .iter_mut()
            .for_each(|v| *v = self.core.loss.inverse_link(*v));
        Prediction::Regression { values }
    }
}

impl Predictor for HistGradientBoostingRegressor {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        Some(
            self.input_features()
                .iter()
                .map(|f| f.name.clone())
                .zip(normalized(self.feature_importances(ImportanceType::Gain)))
                .collect(),
        )
    }
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.core.input
    }
    fn output(&self) -> Output {
        Output::Regression
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        Ok(self.prediction_of(self.core.margins(data)?))
    }
    fn training_prediction(&self) -> Option<Prediction> {
        self.core
            .train_margins
            .0
            .clone()
            .map(|m| self.prediction_of(m))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.core.input, &self.params)?;
        self.core.save(w)
    }
}

/// A fitted histogram gradient-boosting classifier (binary: one tree per round on the
/// log-odds; multi-class: one tree per class per round, softmax).
#[derive(Clone, Debug, PartialEq)]
pub struct HistGradientBoostingClassifier {
    params: HistGradientBoostingClassifierParams,
    classes: Vec<String>,
    core: Booster,
}

impl Fit for HistGradientBoostingClassifierParams {
    type Model = HistGradientBoostingClassifier;

    fn name(&self) -> &'static str {
        CLASSIFIER
    }

    fn check(&self) -> Vec<ParamError> {
        check_classifier(self, CLASSIFIER)
    }

    fn fit_weighted(
        &self,
        data: &Dataset<f64>,
        w: Option<&[f64]>,
    ) -> Result<HistGradientBoostingClassifier> {
        self.validate()?;
        check_data(data, CLASSIFIER)?;
        let (codes, classes) = classification_target(CLASSIFIER, data)?;
        check_sample_weight(CLASSIFIER, data.n_rows(), w)?;
        let mut weights: Option<Vec<f64>> = w.map(<[f64]>::to_vec);
        if let Some(cw) = &self.class_weight {
            let per_class = class_weights(cw, codes, classes, CLASSIFIER)?;
            let ws: Vec<f64> = codes
                .iter()
                .enumerate()
                .map(|(i, &c)| w.map_or(1.0, |w| w[i]) * per_class[c as usize])
                .collect();
            if ws.iter().all(|&v| v == 0.0) {
                return Err(CoreError::SampleWeight {
                    estimator: CLASSIFIER,
                    reason: "class_weight times sample_weight is zero for every row".into(),
                });
            }
            weights = Some(ws);
        }
        let k = classes.len();
        let (loss, objective) = if k == 2 {
            (Loss::BinaryLogLoss, Objective::Logistic { scale: 1.0 })
        } else {
            (Loss::MultiLogLoss { k }, Objective::Softmax)
        };
        let y: Vec<f64> = codes.iter().map(|&c| f64::from(c)).collect();
        let bp = self.boost_params(loss, data, CLASSIFIER)?;
        let b = boost(data, &y, weights.as_deref(), Some(codes), &bp, CLASSIFIER)?;
        Ok(HistGradientBoostingClassifier {
            params: self.clone(),
            classes: classes.to_vec(),
            core: Booster::compile(b, data.features().to_vec(), loss, objective)?,
        })
    }
}

impl HistGradientBoostingClassifier {
    /// The model kind in model files.
    pub const KIND: &'static str = "hist_gradient_boosting_classifier";

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &HistGradientBoostingClassifierParams {
        &self.params
    }

    /// Class labels, in code order (`classes_`).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    booster_accessors!();

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, HistGradientBoostingClassifierParams) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let core = Booster::load(r, input)?;
        let groups = if classes.len() == 2 { 1 } else { classes.len() };
        if classes.len() < 2 || core.loss.n_groups() != groups {
            return Err(r.invalid("the trees do not match the number of classes"));
        }
        Ok(Box::new(HistGradientBoostingClassifier {
            params,
            classes,
            core,
        }))
    }
}

impl HistGradientBoostingClassifier {
    fn prediction_of(&self, margins: &[f64]) -> Result<Prediction> {
        let proba = self
            .core
            .engine
            .proba_from_margins(margins)
            .ok_or_else(|| CoreError::Numerical {
                estimator: CLASSIFIER,
                message: "the trees have a regression objective".into(),
            })?;
        Ok(Prediction::from_proba(proba, self.classes.clone()))
    }
}

impl Predictor for HistGradientBoostingClassifier {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        Some(
            self.input_features()
                .iter()
                .map(|f| f.name.clone())
                .zip(normalized(self.feature_importances(ImportanceType::Gain)))
                .collect(),
        )
    }
    fn kind(&self) -> &str {
        Self::KIND
    }
    fn input_features(&self) -> &[Feature] {
        &self.core.input
    }
    fn output(&self) -> Output {
        Output::Classification {
            classes: self.classes.clone(),
            has_proba: true,
        }
    }
    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        self.prediction_of(&self.core.margins(data)?)
    }
    fn training_prediction(&self) -> Option<Prediction> {
        let m = self.core.train_margins.0.as_ref()?;
        self.prediction_of(m).ok()
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.core.input, &self.params)?;
        w.put("classes", &self.classes)?;
        self.core.save(w)
    }
}

/// Gains scaled to sum to 1 (all zeros stay zeros: a model without a split).
fn normalized(v: Vec<f64>) -> Vec<f64> {
    let total: f64 = v.iter().sum();
    if total > 0.0 {
        v.into_iter().map(|x| x / total).collect()
    } else {
        v
    }
}
