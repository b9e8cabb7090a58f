//! `RandomForestClassifier` and `ExtraTreesClassifier` (see the [module docs](super)).

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{argmax, check_sample_weight, classification_target, require_numeric};
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use super::{ForestSpec, MaxSamples, SubsampleBalance, Trees, grow_forest};
use crate::tree::{Columns, Criterion, FeatureRule, MaxFeatures, Splitter, Target, Tree};

/// Class weights of a forest classifier (scikit-learn's `class_weight`): a preset or a map
/// from class label to weight (absent classes weigh 1).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ForestClassWeight {
    /// `"balanced"` or `"balanced_subsample"`.
    Preset(ClassWeightPreset),
    /// Label → weight.
    Map(BTreeMap<String, f64>),
}

/// The class-weight presets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeightPreset {
    /// `Σw / (k · Σw_c)` from the (sample-weighted) class totals of the training rows, `k`
    /// the number of classes present.
    Balanced,
    /// The same computed on each tree's bootstrap sample (draw counts); equal to `Balanced`
    /// without bootstrap.
    BalancedSubsample,
}

/// The forest classifier kinds: implemented by [`RandomForestClassifierParams`] and
/// [`ExtraTreesClassifierParams`].
pub trait ClassifierKind:
    Clone + std::fmt::Debug + PartialEq + Serialize + DeserializeOwned + Send + Sync + 'static
{
    /// The model kind in model files.
    const KIND: &'static str;
    /// The estimator name in messages.
    const NAME: &'static str;
}

macro_rules! classifier_params {
    ($(#[$doc:meta])* $name:ident, $est:literal, $kind:literal, $boot:literal, $splitter:expr) => {
        smelt_core::params! {
            $(#[$doc])*
            pub struct $name($est) {
                /// Number of trees, `>= 1`; default 100.
                n_estimators: usize = 100, range: at_least_int(1);
                /// Split quality: `"gini"`, `"entropy"` or `"log_loss"`; default `"gini"`.
                criterion: Criterion = Criterion::Gini;
                /// Maximum depth, `>= 1`; default `None` (grow until pure or too small).
                max_depth: Option<usize> = None,
                    range: none_or(at_least_int(1)),
                    setter: some(usize);
                /// Fewest rows a node needs to be split, `>= 2`; default 2.
                min_samples_split: usize = 2, range: at_least_int(2);
                /// Fewest rows each child must keep, `>= 1`; default 1.
                min_samples_leaf: usize = 1, range: at_least_int(1);
                /// Features considered per split: `None` (all), a count, a fraction in `(0, 1]`,
                /// `"sqrt"` or `"log2"`; default `"sqrt"`.
                max_features: Option<MaxFeatures> = Some(MaxFeatures::Rule(FeatureRule::Sqrt)),
                    range: check(
                        "None, an integer in [1, n_features], a float in (0, 1], \"sqrt\" or \"log2\"",
                        MaxFeatures::valid,
                        MaxFeatures::describe
                    );
                /// Whether each tree sees a bootstrap sample of the rows; default `true` for
                /// random forests, `false` for extra trees.
                bootstrap: bool = $boot;
                /// Whether to compute the out-of-bag accuracy (bootstrap only); default `false`.
                oob_score: bool = false;
                /// Bootstrap sample size (bootstrap only): `None` (the number of rows), a count or
                /// a fraction; default `None`.
                max_samples: Option<MaxSamples> = None,
                    range: check_debug(
                        "None, an integer in [1, inf) or a float in (0, 1]",
                        |m| match m {
                            None => true,
                            Some(MaxSamples::Count(c)) => *c >= 1,
                            Some(MaxSamples::Fraction(f)) => *f > 0.0 && *f <= 1.0,
                        }
                    ),
                    setter: some(MaxSamples);
                /// Class weights: `None`, `"balanced"`, `"balanced_subsample"` or a map of label
                /// to weight; default `None`.
                class_weight: Option<ForestClassWeight> = None, setter: some(ForestClassWeight);
                /// Seed of the bootstrap samples and the trees' feature draws; default 0.
                random_state: u64 = 0;
                /// Minimal cost-complexity pruning of every tree (see the decision trees),
                /// `>= 0`; default 0 (no pruning).
                ccp_alpha: f64 = 0.0, range: at_least(0.0);
                /// Grow each tree best first up to this many leaves, `>= 2`; default `None`.
                max_leaf_nodes: Option<usize> = None,
                    range: none_or(at_least_int(2)),
                    setter: some(usize);
            }
        }

        impl $name {
            fn spec(&self) -> ForestSpec {
                ForestSpec {
                    n_estimators: self.n_estimators,
                    max_depth: self.max_depth,
                    min_samples_split: self.min_samples_split,
                    min_samples_leaf: self.min_samples_leaf,
                    max_features: self.max_features.clone(),
                    bootstrap: self.bootstrap,
                    oob_score: self.oob_score,
                    max_samples: self.max_samples.clone(),
                    random_state: self.random_state,
                    splitter: $splitter,
                    ccp_alpha: self.ccp_alpha,
                    max_leaf_nodes: self.max_leaf_nodes,
                }
            }
        }

        impl ClassifierKind for $name {
            const KIND: &'static str = $kind;
            const NAME: &'static str = $est;
        }

        impl Fit for $name {
            type Model = ForestClassifier<$name>;

            fn name(&self) -> &'static str {
                $est
            }

            fn check(&self) -> Vec<ParamError> {
                let weights_ok = match &self.class_weight {
                    Some(ForestClassWeight::Map(m)) => {
                        m.values().all(|v| v.is_finite() && *v >= 0.0)
                    }
                    _ => true,
                };
                self.spec()
                    .check(self.range_check($est))
                    .require(
                        weights_ok,
                        "class_weight",
                        "None, \"balanced\", \"balanced_subsample\" or a map of finite \
                         non-negative weights",
                        format!("{:?}", self.class_weight),
                    )
                    .finish()
            }

            fn fit_weighted(
                &self,
                data: &Dataset<f64>,
                w: Option<&[f64]>,
            ) -> Result<ForestClassifier<$name>> {
                self.validate()?;
                fit(self, self.spec(), self.criterion, &self.class_weight, data, w)
            }
        }
    };
}

classifier_params!(
    /// Parameters of [`RandomForestClassifier`] (scikit-learn's `RandomForestClassifier`):
    /// bootstrap samples and best splits over `max_features` random features.
    RandomForestClassifierParams,
    "RandomForestClassifier",
    "random_forest_classifier",
    true,
    Splitter::Best
);

classifier_params!(
    /// Parameters of [`ExtraTreesClassifier`] (scikit-learn's `ExtraTreesClassifier`): all rows
    /// by default, and one random threshold per candidate feature.
    ExtraTreesClassifierParams,
    "ExtraTreesClassifier",
    "extra_trees_classifier",
    false,
    Splitter::Random
);

/// A fitted forest classifier (random forest or extra trees, by `P`).
#[derive(Clone, Debug, PartialEq)]
pub struct ForestClassifier<P> {
    params: P,
    input: Vec<Feature>,
    classes: Vec<String>,
    max_features: usize,
    trees: Trees,
    oob_score: Option<f64>,
    oob_decision_function: Option<Vec<f64>>,
}

/// A fitted random forest classifier.
pub type RandomForestClassifier = ForestClassifier<RandomForestClassifierParams>;
/// A fitted extra-trees classifier.
pub type ExtraTreesClassifier = ForestClassifier<ExtraTreesClassifierParams>;

/// Per-class multipliers of the sample weights (`None` when there are none to apply at fit).
fn class_multipliers(
    name: &'static str,
    cw: &Option<ForestClassWeight>,
    bootstrap: bool,
    codes: &[u32],
    classes: &[String],
    w: Option<&[f64]>,
) -> Result<Option<Vec<f64>>> {
    let k = classes.len();
    match cw {
        None => Ok(None),
        Some(ForestClassWeight::Preset(ClassWeightPreset::BalancedSubsample)) if bootstrap => {
            Ok(None)
        }
        Some(ForestClassWeight::Preset(_)) => {
            let mut per = vec![0.0; k];
            for (i, &c) in codes.iter().enumerate() {
                per[c as usize] += w.map_or(1.0, |w| w[i]);
            }
            let total: f64 = per.iter().sum();
            let present = per.iter().filter(|&&v| v > 0.0).count() as f64;
            Ok(Some(
                per.iter()
                    .map(|&v| if v > 0.0 { total / (present * v) } else { 0.0 })
                    .collect(),
            ))
        }
        Some(ForestClassWeight::Map(m)) => {
            if let Some(bad) = m.keys().find(|l| !classes.contains(l)) {
                return Err(CoreError::BadParam {
                    estimator: name.into(),
                    message: format!(
                        "class_weight names class {bad:?}, which is not in the target (classes: \
                         {classes:?})"
                    ),
                    suggestion: None,
                });
            }
            Ok(Some(
                classes
                    .iter()
                    .map(|c| m.get(c).copied().unwrap_or(1.0))
                    .collect(),
            ))
        }
    }
}

fn fit<P: ClassifierKind>(
    params: &P,
    spec: ForestSpec,
    criterion: Criterion,
    class_weight: &Option<ForestClassWeight>,
    data: &Dataset<f64>,
    w: Option<&[f64]>,
) -> Result<ForestClassifier<P>> {
    let name = P::NAME;
    require_numeric(name, data)?;
    let (codes, classes) = classification_target(name, data)?;
    check_sample_weight(name, data.n_rows(), w)?;
    let k = classes.len();
    let multipliers = class_multipliers(name, class_weight, spec.bootstrap, codes, classes, w)?;
    let combined: Option<Vec<f64>> = match multipliers {
        None => w.map(<[f64]>::to_vec),
        Some(m) => Some(
            codes
                .iter()
                .enumerate()
                .map(|(i, &c)| w.map_or(1.0, |w| w[i]) * m[c as usize])
                .collect(),
        ),
    };
    if combined
        .as_ref()
        .is_some_and(|c| c.iter().all(|&v| v == 0.0))
    {
        return Err(CoreError::SampleWeight {
            estimator: name,
            reason: "class_weight times sample_weight is zero for every row".into(),
        });
    }
    let max_features = MaxFeatures::resolve(&spec.max_features, data.n_features(), name)?;
    let cols = Columns::new(data, spec.splitter == Splitter::Best);
    let target = Target::Class {
        codes,
        k,
        entropy: criterion != Criterion::Gini,
    };
    let balance = matches!(
        class_weight,
        Some(ForestClassWeight::Preset(
            ClassWeightPreset::BalancedSubsample
        ))
    )
    .then_some(SubsampleBalance { codes, k });
    let grown = grow_forest(
        &cols,
        target,
        combined.as_deref(),
        &spec,
        max_features,
        balance,
    );
    drop(cols);
    let trees = Trees::whole(grown.trees, data.n_features(), k);
    let (oob_score, oob_decision_function) = match &grown.in_bag {
        None => (None, None),
        Some(bags) => {
            let (mut sums, counts) = trees.sum(data, Some(bags));
            sums.par_chunks_mut(k).zip(&counts).for_each(|(row, &c)| {
                let c = f64::from(c.max(1));
                row.iter_mut().for_each(|v| *v /= c);
            });
            let hits = sums
                .chunks(k)
                .zip(codes)
                .filter(|(row, c)| argmax(row) == **c as usize)
                .count();
            (Some(hits as f64 / codes.len() as f64), Some(sums))
        }
    };
    Ok(ForestClassifier {
        params: params.clone(),
        input: data.features().to_vec(),
        classes: classes.to_vec(),
        max_features,
        trees,
        oob_score,
        oob_decision_function,
    })
}

impl<P: ClassifierKind> ForestClassifier<P> {
    /// The model kind in model files.
    pub const KIND: &'static str = P::KIND;

    /// The hyperparameters it was fitted with.
    pub fn params(&self) -> &P {
        &self.params
    }
    /// Class labels, in code order (`classes_`).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }
    /// The fitted trees (`estimators_`), as flat node arrays; an error for a forest loaded
    /// for inference only ([`smelt_core::artifact::load_for_inference`]), which keeps just
    /// what prediction reads.
    pub fn trees(&self) -> Result<&[Tree]> {
        self.trees.trees(P::NAME)
    }
    /// Bytes the trees take as laid out for prediction (what a forest loaded for inference
    /// only holds).
    pub fn inference_bytes(&self) -> usize {
        self.trees.walk().bytes()
    }
    /// Number of features considered per split (`max_features` resolved).
    pub fn max_features(&self) -> usize {
        self.max_features
    }
    /// Mean normalised impurity decrease per feature (`feature_importances_`).
    pub fn feature_importances(&self) -> Vec<f64> {
        self.trees.importances(self.input.len())
    }
    /// Out-of-bag accuracy on the training rows (`oob_score_`), when fitted with `oob_score`.
    pub fn oob_score(&self) -> Option<f64> {
        self.oob_score
    }
    /// Out-of-bag class probabilities of the training rows, row-major `n × n_classes`
    /// (`oob_decision_function_`; all zeros for a row no tree left out), when fitted with
    /// `oob_score`.
    pub fn oob_decision_function(&self) -> Option<&[f64]> {
        self.oob_decision_function.as_deref()
    }

    /// Class probabilities, row-major `n × n_classes`: the mean of the trees' leaf class
    /// fractions.
    pub fn predict_proba(&self, data: &Dataset<f64>) -> Result<Vec<f64>> {
        let d = data.conform(&self.input, UnknownCategory::Error)?;
        require_numeric(P::NAME, &d)?;
        let (mut sums, _) = self.trees.sum(&d, None);
        let n = self.trees.len() as f64;
        sums.par_iter_mut().for_each(|v| *v /= n);
        Ok(sums)
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, P) = load_common(r)?;
        let classes: Vec<String> = r.get("classes")?;
        let k = classes.len();
        let trees = Trees::load(r, input.len(), k)?;
        let oob_score: Option<f64> = r.get("oob_score")?;
        let oob_decision_function = if r.has("oob_decision_function") {
            let n: usize = r.get("n_oob_rows")?;
            Some(r.matrix("oob_decision_function", n, k)?)
        } else {
            None
        };
        Ok(Box::new(ForestClassifier {
            max_features: r.get("max_features")?,
            params,
            input,
            classes,
            trees,
            oob_score,
            oob_decision_function,
        }))
    }
}

impl<P: ClassifierKind> Predictor for ForestClassifier<P> {
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }

    fn feature_importances(&self) -> Option<Vec<(String, f64)>> {
        Some(
            self.input_features()
                .iter()
                .map(|f| f.name.clone())
                .zip(self.feature_importances())
                .collect(),
        )
    }
    fn kind(&self) -> &str {
        P::KIND
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
        let values = self.predict_proba(data)?;
        let proba = Proba {
            n_classes: self.classes.len(),
            values,
        };
        Ok(Prediction::from_proba(proba, self.classes.clone()))
    }
    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("classes", &self.classes)?;
        w.put("max_features", &self.max_features)?;
        w.put("oob_score", &self.oob_score)?;
        if let Some(oob) = &self.oob_decision_function {
            let k = self.classes.len();
            w.put("n_oob_rows", &(oob.len() / k))?;
            w.array("oob_decision_function", &[oob.len() / k, k], oob)?;
        }
        self.trees.save(w, P::NAME, self.classes.len())
    }
}
