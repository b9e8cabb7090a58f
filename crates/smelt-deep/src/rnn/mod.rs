//! Recurrent networks for sequences: `LSTMRegressor` and `GRURegressor` (`lstm_regressor`,
//! `gru_regressor`; `smelt train --model lstm|gru`), stacked and bidirectional, on the
//! training machinery of [`crate::train`].
//!
//! The table is read as sequences by its lag columns ([`seq`]): what `smelt data window`
//! writes from a time series (`y_lag1 … y_lagL`, covariates likewise), one channel per
//! series, oldest step first; other numeric features are static inputs joined to the last
//! hidden state. The network is `num_layers` recurrent layers of `hidden_size` units
//! ([`cell`], PyTorch's equations and gate order), the last layer's final hidden state (both
//! directions when `bidirectional`) and the static features into a linear output layer.
//!
//! The target is standardised for training and scaled back on prediction; with
//! `predict_delta` (the default) and the target's own lags among the inputs, the network
//! predicts the change from the latest lag, so the forecast follows the series' level.
//!
//! With `early_stopping` (the default) the **last** `validation_fraction` of the training rows
//! — the latest windows when the rows are in time order, as `smelt data window` writes them
//! and `smelt train`'s temporal split keeps them — is held out, not a random share: overlapping
//! windows of neighbouring steps would otherwise sit on both sides.

pub mod cell;
mod fused;
pub mod seq;
mod sequence;

use candle_core::{DType, Device, Tensor, Var};
use smelt_core::artifact::{load_common, save_common};
use smelt_core::model::{check_sample_weight, finite_regression_target};
use smelt_core::rng::Rng;
use smelt_core::{
    ArtifactReader, ArtifactWriter, CoreError, Dataset, Feature, Fit, Output, ParamError,
    Prediction, Predictor, Registry, Result, UnknownCategory,
};

use crate::error::DeepError;
use crate::recipe::Recipe;
use crate::train::{self, Batch, BatchSource, History, Loss, Network};
use cell::{CellKind, Direction, Recurrent, RecurrentSpec};
use seq::{EncodedSeq, SeqEncoding};

macro_rules! rnn_params {
    ($(#[$doc:meta])* $name:ident, $est:literal) => {
        $crate::deep_params! {
            $(#[$doc])* $name, $est, epochs: 100, batch_size: 64, lr: 3e-3,
            schedule: Constant, early_stopping: true,
            {
                /// Hidden units of each recurrent layer (per direction), `>= 1`; default 64.
                hidden_size: usize = 64, range: at_least_int(1);
                /// Stacked recurrent layers, `>= 1`; default 1.
                num_layers: usize = 1, range: at_least_int(1);
                /// Run each layer forwards and backwards and join both final states; default
                /// `false`.
                bidirectional: bool = false;
                /// Dropout on the outputs of every recurrent layer but the last (PyTorch's
                /// `dropout`), `[0, 1)`; default 0.
                dropout: f64 = 0.0, range: within(0.0, 0.99);
                /// Use lags `1..=window` of each series only (default: every lag column);
                /// a series with fewer lag columns is an error.
                window: Option<usize> = None, range: none_or(at_least_int(1)), setter: some(usize);
                /// Predict the change from the target's latest lag (when its lags are
                /// inputs) instead of the level; default `true`.
                predict_delta: bool = true;
            }
        }
    };
}

rnn_params! {
    /// Parameters of an LSTM regressor ([`Rnn`] with LSTM cells).
    LSTMRegressorParams, "LSTMRegressor"
}

rnn_params! {
    /// Parameters of a GRU regressor ([`Rnn`] with GRU cells).
    GRURegressorParams, "GRURegressor"
}

/// The layout parameters of either params struct (the training ones are a [`Recipe`]).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
struct Layout {
    hidden_size: usize,
    num_layers: usize,
    bidirectional: bool,
    dropout: f64,
    window: Option<usize>,
    predict_delta: bool,
}

fn layout<P: serde::Serialize>(p: &P) -> Result<Layout> {
    serde_json::to_value(p)
        .and_then(serde_json::from_value)
        .map_err(|e| CoreError::Engine {
            engine: "smelt-deep",
            message: format!("reading the recurrent network's parameters: {e}"),
        })
}

/// The network: recurrent layers, then a linear layer on the final hidden state and the static
/// features.
#[derive(Debug)]
pub struct RnnNet {
    /// The recurrent stack.
    pub rec: Recurrent,
    /// Output weight `[hidden · directions + statics, outputs]`.
    pub head_w: Var,
    /// Output bias `[outputs]`.
    pub head_b: Var,
}

impl RnnNet {
    /// A freshly initialised network (PyTorch's initialisation; the recurrent weights drawn
    /// first, then the output layer).
    pub fn new(
        spec: &RecurrentSpec,
        statics: usize,
        outputs: usize,
        seed: u64,
        dev: &Device,
    ) -> candle_core::Result<RnnNet> {
        let mut rng = Rng::new(seed);
        let rec = Recurrent::new(spec, &mut rng, dev)?;
        let (head_w, head_b) =
            crate::init::linear(rec.output_width()? + statics, outputs, &mut rng, dev)?;
        Ok(RnnNet {
            rec,
            head_w,
            head_b,
        })
    }

    /// The same network in `dtype` (new variables): f64 for gradient checks.
    pub fn to_dtype(&self, dtype: DType) -> candle_core::Result<RnnNet> {
        let conv = |v: &Var| train::precision::converted(v, dtype);
        Ok(RnnNet {
            rec: self.rec.to_dtype(dtype)?,
            head_w: conv(&self.head_w)?,
            head_b: conv(&self.head_b)?,
        })
    }
}

impl Network for RnnNet {
    fn with_dtype(&self, dtype: DType) -> candle_core::Result<Option<Box<dyn Network>>> {
        Ok(Some(Box::new(self.to_dtype(dtype)?)))
    }

    fn vars(&self) -> Vec<Var> {
        let mut v = self.rec.vars();
        v.push(self.head_w.clone());
        v.push(self.head_b.clone());
        v
    }

    /// `inputs[0]`: sequences `[rows, steps, channels]`; `inputs[1]`: static features
    /// `[rows, statics]` (absent without them).
    fn forward(
        &self,
        inputs: &[Tensor],
        train: bool,
        rng: &mut Rng,
    ) -> candle_core::Result<Tensor> {
        let mut h = self.rec.forward(&inputs[0], train, rng)?;
        if let Some(s) = inputs.get(1) {
            h = Tensor::cat(&[&h, s], 1)?;
        }
        h.matmul(self.head_w.as_tensor())?
            .broadcast_add(self.head_b.as_tensor())
    }
}

/// A fitted recurrent regressor.
#[derive(Debug)]
pub struct Rnn {
    estimator: &'static str,
    params: serde_json::Value,
    input: Vec<Feature>,
    encoding: SeqEncoding,
    /// Mean and standard deviation of the (delta) target.
    target_scale: (f64, f64),
    /// The training target's mean: the anchor of a row whose target lags are all missing.
    target_mean: f64,
    net: RnnNet,
    history: History,
}

/// Encoded rows as mini-batches.
struct SeqSource<'a> {
    x: &'a EncodedSeq,
    steps: usize,
    channels: usize,
    statics: usize,
    rows: Vec<usize>,
    /// Standardised targets (empty at prediction).
    target: &'a [f32],
    device: &'a Device,
}

impl BatchSource for SeqSource<'_> {
    fn n_rows(&self) -> usize {
        self.rows.len()
    }

    fn batch(&self, rows: &[usize], _augment: Option<u64>) -> crate::Result<Batch> {
        let (t, c, s) = (self.steps, self.channels, self.statics);
        let n = rows.len();
        let mut seq = Vec::with_capacity(n * t * c);
        let mut st = Vec::with_capacity(n * s);
        let mut y = Vec::with_capacity(if self.target.is_empty() { 0 } else { n });
        for &r in rows {
            let i = self.rows[r];
            seq.extend_from_slice(&self.x.seq[i * t * c..(i + 1) * t * c]);
            st.extend_from_slice(&self.x.statics[i * s..(i + 1) * s]);
            if !self.target.is_empty() {
                y.push(self.target[i]);
            }
        }
        let make = || -> candle_core::Result<Batch> {
            let mut inputs = vec![Tensor::from_vec(seq, (n, t, c), self.device)?];
            if s > 0 {
                inputs.push(Tensor::from_vec(st, (n, s), self.device)?);
            }
            let target = if y.is_empty() {
                Tensor::zeros(0, DType::F32, self.device)?
            } else {
                Tensor::from_vec(y, (n, 1), self.device)?
            };
            Ok(Batch {
                inputs,
                target,
                rows: n,
            })
        };
        make().map_err(DeepError::candle("building a batch"))
    }
}

fn fit_rnn(
    estimator: &'static str,
    kind: CellKind,
    params: serde_json::Value,
    layout: &Layout,
    recipe: &Recipe,
    data: &Dataset<f64>,
    weights: Option<&[f64]>,
) -> Result<Rnn> {
    check_sample_weight(estimator, data.n_rows(), weights)?;
    if weights.is_some() {
        return Err(CoreError::SampleWeight {
            estimator,
            reason: "recurrent networks do not take sample weights; resample the rows instead"
                .into(),
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
    let y = finite_regression_target(estimator, data)?;
    let target_mean = y.iter().sum::<f64>() / n as f64;
    let encoding = SeqEncoding::fit(estimator, data, layout.window, layout.predict_delta)?;
    let x = encoding.encode(estimator, data, target_mean)?;
    let deltas: Vec<f64> = y.iter().zip(&x.anchor).map(|(v, a)| v - a).collect();
    let mean = deltas.iter().sum::<f64>() / n as f64;
    let var = deltas.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let std = if var.sqrt() > 1e-12 { var.sqrt() } else { 1.0 };
    let target: Vec<f32> = deltas.iter().map(|v| ((v - mean) / std) as f32).collect();
    let spec = RecurrentSpec {
        kind,
        inputs: encoding.channels.len(),
        hidden: layout.hidden_size,
        layers: layout.num_layers,
        bidirectional: layout.bidirectional,
        dropout: layout.dropout,
    };
    // Refuse a batch that will not fit: per row, every step of every layer and direction keeps
    // its projections, gate activations and states for the backward pass.
    let dirs = if spec.bidirectional { 2 } else { 1 };
    let g = (kind.gates() * spec.hidden) as u64;
    let per_step = (spec.layers * dirs) as u64 * (4 * g + 3 * spec.hidden as u64);
    let acts = (encoding.steps * encoding.channels.len()) as u64 + encoding.steps as u64 * per_step;
    let weights: u64 = (0..spec.layers)
        .map(|l| {
            let fan_in = if l == 0 {
                spec.inputs
            } else {
                spec.hidden * dirs
            };
            (dirs * (fan_in + spec.hidden + 2)) as u64 * g
        })
        .sum::<u64>()
        + (spec.hidden * dirs + encoding.statics.len() + 1) as u64;
    crate::memory::check(
        estimator,
        acts,
        recipe.batch_size.min(n),
        weights,
        crate::memory::available(),
        "use a shorter window (`window`), fewer layers or a smaller `hidden_size`",
    )?;
    let net = RnnNet::new(
        &spec,
        encoding.statics.len(),
        1,
        recipe.random_state,
        &device,
    )
    .map_err(DeepError::candle("initialising the network"))?;
    // The latest rows are held out: in time order, the validation windows follow the
    // training ones.
    let n_valid = if recipe.early_stopping && n >= 2 {
        ((n as f64 * recipe.validation_fraction).round() as usize).clamp(1, n - 1)
    } else {
        0
    };
    let source = |rows: Vec<usize>| SeqSource {
        x: &x,
        steps: encoding.steps,
        channels: encoding.channels.len(),
        statics: encoding.statics.len(),
        rows,
        target: &target,
        device: &device,
    };
    let train_src = source((0..n - n_valid).collect());
    let valid_src = source((n - n_valid..n).collect());
    let config = recipe.fit_config(estimator);
    let valid = (n_valid > 0).then_some(&valid_src as &dyn BatchSource);
    let history = train::fit(&net, Loss::Mse, &train_src, valid, &config)?;
    Ok(Rnn {
        estimator,
        params,
        input: data.features().to_vec(),
        encoding,
        target_scale: (mean, std),
        target_mean,
        net,
        history,
    })
}

macro_rules! fit_impl {
    ($params:ident, $est:literal, $kind:expr) => {
        impl Fit for $params {
            type Model = Rnn;

            fn name(&self) -> &'static str {
                $est
            }

            fn check(&self) -> Vec<ParamError> {
                self.check_ranges()
            }

            fn fit_weighted(&self, data: &Dataset<f64>, w: Option<&[f64]>) -> Result<Rnn> {
                self.validate()?;
                let params = serde_json::to_value(self).unwrap_or_default();
                fit_rnn(
                    $est,
                    $kind,
                    params,
                    &layout(self)?,
                    &Recipe::of(self)?,
                    data,
                    w,
                )
            }
        }
    };
}

fit_impl!(LSTMRegressorParams, "LSTMRegressor", CellKind::Lstm);
fit_impl!(GRURegressorParams, "GRURegressor", CellKind::Gru);

/// Rows scored per forward pass at prediction.
const PREDICT_CHUNK: usize = 4096;

impl Rnn {
    /// The model kind of an LSTM regressor in model files (the catalogue name).
    pub const LSTM_KIND: &'static str = "lstm_regressor";
    /// The model kind of a GRU regressor.
    pub const GRU_KIND: &'static str = "gru_regressor";

    /// What the fit recorded per epoch.
    pub fn history(&self) -> &History {
        &self.history
    }

    /// How the table is read as sequences.
    pub fn encoding(&self) -> &SeqEncoding {
        &self.encoding
    }

    /// The network.
    pub fn net(&self) -> &RnnNet {
        &self.net
    }

    /// Registry loader.
    pub fn load(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let (input, params): (Vec<Feature>, serde_json::Value) = load_common(r)?;
        let estimator: String = r.get("estimator")?;
        let (estimator, kind) = match estimator.as_str() {
            "LSTMRegressor" => ("LSTMRegressor", CellKind::Lstm),
            "GRURegressor" => ("GRURegressor", CellKind::Gru),
            other => {
                return Err(r.invalid(format!("unknown recurrent estimator `{other}`")));
            }
        };
        let encoding: SeqEncoding = r.get("encoding")?;
        let target_scale: (f64, f64) = r.get("target_scale")?;
        let target_mean: f64 = r.get("target_mean")?;
        let history: History = r.get("history")?;
        let dropout: f64 = r.get("dropout")?;
        let n_layers: usize = r.get("n_layers")?;
        let directions: usize = r.get("directions")?;
        let device = Device::Cpu;
        let tensor = |name: &str, ndim: usize| -> Result<Var> {
            let t = crate::weights::get(r, name, ndim, &device)?;
            Var::from_tensor(&t).map_err(|e| r.invalid(format!("`{name}`: {e}")))
        };
        let mut layers = Vec::with_capacity(n_layers);
        for l in 0..n_layers {
            let mut dirs = Vec::with_capacity(directions);
            for d in 0..directions {
                let p = format!("rnn.{l}.{d}");
                dirs.push(Direction {
                    w_ih: tensor(&format!("{p}.w_ih"), 2)?,
                    w_hh: tensor(&format!("{p}.w_hh"), 2)?,
                    b_ih: tensor(&format!("{p}.b_ih"), 1)?,
                    b_hh: tensor(&format!("{p}.b_hh"), 1)?,
                });
            }
            layers.push(dirs);
        }
        let net = RnnNet {
            rec: Recurrent {
                kind,
                layers,
                dropout,
            },
            head_w: tensor("head.weight", 2)?,
            head_b: tensor("head.bias", 1)?,
        };
        let expect = (
            encoding.channels.len(),
            net.rec.output_width().unwrap_or(0) + encoding.statics.len(),
        );
        let got = (
            net.rec
                .layers
                .first()
                .and_then(|l| l.first())
                .and_then(|d| d.w_ih.as_tensor().dim(0).ok())
                .unwrap_or(0),
            net.head_w.as_tensor().dim(0).unwrap_or(0),
        );
        if n_layers == 0 || expect != got {
            return Err(r.invalid("the network's layers do not match its input encoding"));
        }
        Ok(Box::new(Rnn {
            estimator,
            params,
            input,
            encoding,
            target_scale,
            target_mean,
            net,
            history,
        }))
    }
}

impl Predictor for Rnn {
    fn kind(&self) -> &str {
        match self.net.rec.kind {
            CellKind::Lstm => Self::LSTM_KIND,
            CellKind::Gru => Self::GRU_KIND,
        }
    }

    fn input_features(&self) -> &[Feature] {
        &self.input
    }

    fn output(&self) -> Output {
        Output::Regression
    }

    fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
        let d = data.conform(&self.input, UnknownCategory::Missing)?;
        let x = self.encoding.encode(self.estimator, &d, self.target_mean)?;
        let device = self.net.head_w.device().clone();
        let src = SeqSource {
            x: &x,
            steps: self.encoding.steps,
            channels: self.encoding.channels.len(),
            statics: self.encoding.statics.len(),
            rows: (0..x.rows).collect(),
            target: &[],
            device: &device,
        };
        let (mean, std) = self.target_scale;
        let mut values = Vec::with_capacity(x.rows);
        let mut rng = Rng::new(0);
        let rows: Vec<usize> = (0..x.rows).collect();
        for chunk in rows.chunks(PREDICT_CHUNK) {
            let b = src.batch(chunk, None)?;
            let y = self
                .net
                .forward(&b.inputs, false, &mut rng)
                .and_then(|t| t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>())
                .map_err(DeepError::candle("forward pass"))?;
            values.extend(
                y.iter()
                    .zip(chunk)
                    .map(|(&v, &i)| x.anchor[i] + f64::from(v) * std + mean),
            );
        }
        Ok(Prediction::Regression { values })
    }

    fn training_history(&self) -> Option<Vec<(String, Vec<f64>)>> {
        Some(self.history.series())
    }

    fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
        save_common(w, &self.input, &self.params)?;
        w.put("estimator", self.estimator)?;
        w.put("encoding", &self.encoding)?;
        w.put("target_scale", &self.target_scale)?;
        w.put("target_mean", &self.target_mean)?;
        w.put("history", &self.history)?;
        w.put("dropout", &self.net.rec.dropout)?;
        w.put("n_layers", &self.net.rec.layers.len())?;
        w.put(
            "directions",
            &self.net.rec.layers.first().map_or(1, Vec::len),
        )?;
        let mut put =
            |name: String, v: &Var| -> Result<()> { crate::weights::put(w, &name, v.as_tensor()) };
        for (l, layer) in self.net.rec.layers.iter().enumerate() {
            for (k, d) in layer.iter().enumerate() {
                let p = format!("rnn.{l}.{k}");
                put(format!("{p}.w_ih"), &d.w_ih)?;
                put(format!("{p}.w_hh"), &d.w_hh)?;
                put(format!("{p}.b_ih"), &d.b_ih)?;
                put(format!("{p}.b_hh"), &d.b_hh)?;
            }
        }
        put("head.weight".into(), &self.net.head_w)?;
        put("head.bias".into(), &self.net.head_b)?;
        Ok(())
    }

    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}
