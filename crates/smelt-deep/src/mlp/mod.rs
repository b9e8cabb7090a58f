//! Feed-forward networks for tabular data: `MLPClassifier` and `MLPRegressor`, with
//! scikit-learn's parameter names where they exist (`hidden_layer_sizes`, `activation`,
//! `solver`, `learning_rate_init`, `batch_size`, `early_stopping`, `validation_fraction`,
//! `n_iter_no_change`, `tol`, `beta_1`, `beta_2`, `epsilon`, `momentum`, `nesterovs_momentum`)
//! and PyTorch's training machinery for the rest ([`crate::train`]).
//!
//! The network reads the table itself ([`encode`]): numbers standardised with missing values
//! imputed by the mean plus a missing-indicator column, categorical columns embedded (fast.ai's
//! width rule), so its catalogue entries take the data as it is (`Prep::Native`). Regression
//! targets are standardised for training and scaled back on prediction. With
//! `early_stopping` (the default) a seeded `validation_fraction` of the training rows is held
//! out, the fit stops after `n_iter_no_change` epochs without improvement and the best
//! epoch's weights are kept.

pub mod encode;
pub mod net;

use candle_core::{DType, Device, Tensor};
use smelt_core::artifact::{ArrayData, load_common, save_common};
use smelt_core::model::{check_sample_weight, classification_target, finite_regression_target};
use smelt_core::rng::Rng;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Proba, Registry, Result, UnknownCategory,
};

use crate::error::DeepError;
use crate::recipe::Recipe;
use crate::train::{self, Batch, BatchSource, History, Loss, Network};
use encode::{Encoded, Encoding};
use net::{Activation, Net, NetSpec};

impl From<DeepError> for CoreError {
    fn from(e: DeepError) -> Self {
        match e {
            DeepError::Core(e) => e,
            DeepError::Io { path, source } => CoreError::Io { path, source },
            DeepError::Invalid { path, message } => CoreError::Artifact { path, message },
            other => CoreError::Engine {
                engine: "candle",
                message: other.to_string(),
            },
        }
    }
}

macro_rules! mlp_params {
    ($(#[$doc:meta])* $name:ident, $est:literal) => {
        $crate::deep_params! {
            $(#[$doc])* $name, $est, epochs: 200, batch_size: 256, lr: 1e-3,
            schedule: Constant, early_stopping: true,
            {
                /// Width of each hidden layer, in order; default `[256, 128]`.
                hidden_layer_sizes: Vec<usize> = vec![256, 128],
                    range: check_debug("widths of at least 1", |v: &Vec<usize>| v.iter().all(|&w| w >= 1));
                /// Hidden non-linearity: `relu`, `tanh`, `gelu` or `logistic`; default `relu`.
                activation: Activation = Activation::Relu;
                /// Dropout probability after each hidden layer, `[0, 1)`; default 0.
                dropout: f64 = 0.0, range: within(0.0, 0.99);
                /// Largest embedding width of a categorical column, `>= 1`; default 50.
                max_embedding_dim: usize = 50, range: at_least_int(1);
            }
        }
    };
}

mlp_params! {
    /// Parameters of [`Mlp`] as a classifier (softmax cross-entropy).
    MLPClassifierParams, "MLPClassifier"
}

mlp_params! {
    /// Parameters of [`Mlp`] as a regressor (mean squared error on the standardised target).
    MLPRegressorParams, "MLPRegressor"
}

/// The layout parameters of either params struct (the training ones are a [`Recipe`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Layout {
    hidden_layer_sizes: Vec<usize>,
    activation: Activation,
    dropout: f64,
    max_embedding_dim: usize,
}

fn layout<P: serde::Serialize>(p: &P) -> Result<Layout> {
    serde_json::to_value(p)
        .and_then(serde_json::from_value)
        .map_err(|e| CoreError::Engine {
            engine: "smelt-deep",
            message: format!("reading the MLP's parameters: {e}"),
        })
}

/// A fitted feed-forward network (classifier or regressor).
#[derive(Debug)]
pub struct Mlp {
    estimator: &'static str,
    params: serde_json::Value,
    input: Vec<Feature>,
    encoding: Encoding,
    /// Class labels (classification) or `None` (regression).
    classes: Option<Vec<String>>,
    /// Regression target mean and standard deviation.
    target_scale: (f64, f64),
    net: Net,
    history: History,
}

/// Rows of a table, encoded, as mini-batches.
struct TableSource<'a> {
    x: &'a Encoded,
    rows: Vec<usize>,
    target: Target<'a>,
    device: &'a Device,
}

enum Target<'a> {
    Codes(&'a [u32]),
    Values(&'a [f32]),
    /// Prediction: no target (an empty tensor).
    None,
}

impl BatchSource for TableSource<'_> {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }

    fn batch(&self, rows: &[usize], _augment: Option<u64>) -> crate::Result<Batch> {
        let x = self.x;
        let (w, k) = (x.dense_width, x.n_codes);
        let mut dense = Vec::with_capacity(rows.len() * w);
        let mut codes = Vec::with_capacity(rows.len() * k);
        for &r in rows {
            let i = self.rows[r];
            dense.extend_from_slice(&x.dense[i * w..(i + 1) * w]);
            codes.extend_from_slice(&x.codes[i * k..(i + 1) * k]);
        }
        let n = rows.len();
        let err = DeepError::candle("building a batch");
        let make = || -> candle_core::Result<Batch> {
            let mut inputs = vec![Tensor::from_vec(dense, (n, w), self.device)?];
            if k > 0 {
                inputs.push(Tensor::from_vec(codes, (n, k), self.device)?);
            }
            let target = match self.target {
                Target::Codes(c) => {
                    let t: Vec<u32> = rows.iter().map(|&r| c[self.rows[r]]).collect();
                    Tensor::from_vec(t, n, self.device)?
                }
                Target::Values(v) => {
                    let t: Vec<f32> = rows.iter().map(|&r| v[self.rows[r]]).collect();
                    Tensor::from_vec(t, (n, 1), self.device)?
                }
                Target::None => Tensor::zeros(0, DType::F32, self.device)?,
            };
            Ok(Batch {
                inputs,
                target,
                rows: n,
            })
        };
        make().map_err(err)
    }
}

fn fit_mlp(
    estimator: &'static str,
    params: serde_json::Value,
    layout: &Layout,
    recipe: &Recipe,
    data: &Dataset<f64>,
    weights: Option<&[f64]>,
    classification: bool,
) -> Result<Mlp> {
    check_sample_weight(estimator, data.n_rows(), weights)?;
    if weights.is_some() {
        return Err(CoreError::SampleWeight {
            estimator,
            reason: "the MLP does not take sample weights; resample the rows instead".into(),
        });
    }
    let device = train::device(&recipe.device)?;
    let n = data.n_rows();
    if n == 0 {
        return Err(CoreError::TooFew {
            estimator,
            what: "rows",
            needed: 1,
            got: 0,
        });
    }
    let (codes, classes, values, target_scale) = if classification {
        let (codes, classes) = classification_target(estimator, data)?;
        (
            Some(codes.to_vec()),
            Some(classes.to_vec()),
            None,
            (0.0, 1.0),
        )
    } else {
        let y = finite_regression_target(estimator, data)?;
        let mean = y.iter().sum::<f64>() / n as f64;
        let var = y.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
        let std = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
        let scaled: Vec<f32> = y.iter().map(|v| ((v - mean) / std) as f32).collect();
        (None, None, Some(scaled), (mean, std))
    };
    let encoding = Encoding::fit(data, Some(layout.max_embedding_dim));
    let x = encoding.encode(estimator, data)?;
    let outputs = classes.as_ref().map_or(1, Vec::len);
    let emb: Vec<(usize, usize)> = encoding
        .categorical
        .iter()
        .map(|c| (c.categories + 1, c.width))
        .collect();
    let spec = NetSpec {
        dense: x.dense_width,
        embeddings: emb,
        hidden: layout.hidden_layer_sizes.clone(),
        outputs,
        activation: layout.activation,
        dropout: layout.dropout,
    };
    let widths = spec.hidden.iter().chain(std::iter::once(&spec.outputs));
    let mut fan_in = spec.dense + spec.embeddings.iter().map(|e| e.1).sum::<usize>();
    let (mut acts, mut weights) = (fan_in as u64, 0u64);
    for &w in widths {
        acts += 3 * w as u64;
        weights += ((fan_in + 1) * w) as u64;
        fan_in = w;
    }
    weights += spec
        .embeddings
        .iter()
        .map(|e| (e.0 * e.1) as u64)
        .sum::<u64>();
    crate::memory::check(
        estimator,
        acts,
        recipe.batch_size.min(n),
        weights,
        crate::memory::available(),
        "use fewer or narrower hidden layers",
    )?;
    let net = Net::new(&spec, recipe.random_state, &device)
        .map_err(DeepError::candle("initialising the network"))?;
    let (train_rows, valid_rows) = if recipe.early_stopping && n >= 2 {
        train::holdout(
            n,
            recipe.validation_fraction,
            codes.as_deref(),
            recipe.random_state,
        )
    } else {
        ((0..n).collect(), Vec::new())
    };
    let target = |_: ()| match (&codes, &values) {
        (Some(c), _) => Target::Codes(c),
        (None, Some(v)) => Target::Values(v),
        (None, None) => Target::None,
    };
    let train_src = TableSource {
        x: &x,
        rows: train_rows,
        target: target(()),
        device: &device,
    };
    let valid_src = TableSource {
        x: &x,
        rows: valid_rows,
        target: target(()),
        device: &device,
    };
    let config = recipe.fit_config(estimator);
    let loss = if classification {
        Loss::CrossEntropy
    } else {
        Loss::Mse
    };
    let valid = (!valid_src.rows.is_empty()).then_some(&valid_src as &dyn BatchSource);
    let history = train::fit(&net, loss, &train_src, valid, &config)?;
    Ok(Mlp {
        estimator,
        params,
        input: data.features().to_vec(),
        encoding,
        classes,
        target_scale,
        net,
        history,
    })
}

macro_rules! fit_impl {
    ($params:ident, $est:literal, $classification:expr) => {
        impl Fit for $params {
            type Model = Mlp;

            fn name(&self) -> &'static str {
                $est
            }

            fn check(&self) -> Vec<ParamError> {
                self.check_ranges()
            }

            fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Mlp> {
                self.validate()?;
                let params = serde_json::to_value(self).unwrap_or_default();
                fit_mlp(
                    $est,
                    params,
                    &layout(self)?,
                    &Recipe::of(self)?,
                    data,
                    w,
                    $classification,
                )
            }
        }
    };
}

fit_impl!(MLPClassifierParams, "MLPClassifier", true);
fit_impl!(MLPRegressorParams, "MLPRegressor", false);

/// Rows scored per forward pass at prediction.
const PREDICT_CHUNK: usize = 8192;

impl Mlp {
    /// The model kind of a classifier in model files (the catalogue name).
    pub const KIND: &'static str = "mlp_classifier";
    /// The model kind of a regressor.
    pub const REGRESSOR_KIND: &'static str = "mlp_regressor";

    /// What the fit recorded per epoch.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// The input encoding (standardisation, embeddings).
    pub fn encoding(&self) -> &Encoding {
        &self.encoding
    }

    /// The network's outputs for `data`: logits or standardised values, row-major.
    fn outputs(&self, data: &Dataset<f64>) -> Result<(Vec<f32>, usize)> {
        let d = data.conform(&self.input, UnknownCategory::Missing)?;
        let x = self.encoding.encode(self.estimator, &d)?;
        let device = self.net.params.device().clone();
        let src = TableSource {
            x: &x,
            rows: (0..x.rows).collect(),
            target: Target::None,
            device: &device,
        };
        let k = self.classes.as_ref().map_or(1, Vec::len);
        let mut out = Vec::with_capacity(x.rows * k);
        let mut rng = Rng::new(0);
        let rows: Vec<usize> = (0..x.rows).collect();
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let b = batch_inputs(&src, chunk)?;
            let y = self
                .net
                .forward(&b, false, &mut rng)
                .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
                .map_err(DeepError::candle("forward pass"))?;
            out.extend_from_slice(&y);
        }
        Ok((out, k))
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, serde_json::Value) = load_common(r)?;
        let estimator: String = r.get("estimator")?;
        let estimator = match estimator.as_str() {
            "MLPClassifier" => "MLPClassifier",
            "MLPRegressor" => "MLPRegressor",
            other => return Err(r.invalid(format!("unknown MLP estimator `{other}`"))),
        };
        let encoding: Encoding = r.get("encoding")?;
        let classes: Option<Vec<String>> = r.get("classes")?;
        let target_scale: (f64, f64) = r.get("target_scale")?;
        let history: History = r.get("history")?;
        let activation: Activation = r.get("activation")?;
        let dropout: f64 = r.get("dropout")?;
        let n_emb: usize = r.get("n_embeddings")?;
        let n_layers: usize = r.get("n_layers")?;
        let device = Device::Cpu;
        let tensor = |name: &str, ndim: usize| crate::weights::get(r, name, ndim, &device);
        let embeddings = (0..n_emb)
            .map(|i| {
                let name = format!("embedding.{i}");
                candle_core::Var::from_tensor(&tensor(&name, 2)?)
                    .map_err(|e| r.invalid(format!("`{name}`: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let layers = (0..n_layers)
            .map(|i| {
                Ok((
                    tensor(&format!("layer.{i}.weight"), 2)?,
                    tensor(&format!("layer.{i}.bias"), 1)?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        if layers.is_empty() || embeddings.len() != encoding.categorical.len() {
            return Err(r.invalid("the network's layers do not match its input encoding"));
        }
        let net = Net::from_layers(embeddings, &layers, activation, dropout)
            .map_err(|e| r.invalid(format!("the network's layers: {e}")))?;
        Ok(Box::new(Mlp {
            estimator,
            params,
            input,
            encoding,
            classes,
            target_scale,
            net,
            history,
        }))
    }
}

fn batch_inputs(src: &TableSource<'_>, rows: &[usize]) -> Result<Vec<Tensor>> {
    Ok(src.batch(rows, None)?.inputs)
}

impl Predictor for Mlp {
    fn kind(&self) -> &str {
        if self.classes.is_some() {
            Self::KIND
        } else {
            Self::REGRESSOR_KIND
        }
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        match &self.classes {
            Some(classes) => Output::Classification {
                classes: classes.clone(),
                has_proba: true,
            },
            None => Output::Regression,
        }
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let (out, k) = self.outputs(data)?;
        match &self.classes {
            Some(classes) => {
                let mut values = vec![0f64; out.len()];
                for (row, probs) in out.chunks(k).zip(values.chunks_mut(k)) {
                    train::softmax_row(row, probs);
                }
                Ok(Prediction::from_proba(
                    Proba {
                        n_classes: k,
                        values,
                    },
                    classes.clone(),
                ))
            }
            None => {
                let (mean, std) = self.target_scale;
                Ok(Prediction::Regression {
                    values: out.iter().map(|&v| f64::from(v) * std + mean).collect(),
                })
            }
        }
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        Some(self.history.series())
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("estimator", self.estimator)?;
        w.put("encoding", &self.encoding)?;
        w.put("classes", &self.classes)?;
        w.put("target_scale", &self.target_scale)?;
        w.put("history", &self.history)?;
        w.put("activation", &self.net.activation)?;
        w.put("dropout", &self.net.dropout)?;
        w.put("n_embeddings", &self.net.embeddings.len())?;
        w.put("n_layers", &self.net.layers.0.len())?;
        let weights = net::weights(&self.net).map_err(|e| CoreError::Engine {
            engine: "candle",
            message: format!("reading the weights: {e}"),
        })?;
        let mut it = weights.into_iter();
        for i in 0..self.net.embeddings.len() {
            if let Some((shape, v)) = it.next() {
                w.typed(&format!("embedding.{i}"), &shape, ArrayData::F32(v))?;
            }
        }
        for i in 0..self.net.layers.0.len() {
            for part in ["weight", "bias"] {
                if let Some((shape, v)) = it.next() {
                    w.typed(&format!("layer.{i}.{part}"), &shape, ArrayData::F32(v))?;
                }
            }
        }
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
