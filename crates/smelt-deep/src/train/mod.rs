//! The training machinery every network shares.
//!
//! A network ([`Network`]) owns its variables and computes outputs from a batch's inputs; a
//! [`BatchSource`] turns row indices into tensors (gathering table rows, decoding and
//! augmenting images); [`fit`] runs the epochs:
//!
//! - rows shuffled each epoch by a seeded stream derived from `(seed, epoch)` — so a resumed
//!   run draws exactly what an uninterrupted one would — and batches built on a background
//!   thread (a bounded queue of `prefetch` batches) while the network trains on the last one;
//! - the optimizer ([`optim`]) with the learning rate of the [`schedule`] for every batch,
//!   gradients clipped to a global norm when asked;
//! - after each epoch, the loss on the held-out rows; early stopping after `patience` epochs
//!   without an improvement of more than `tol`, the best epoch's weights restored at the end;
//! - a non-finite loss stops the fit with an error naming the epoch and batch (the last
//!   checkpoint, when checkpointing, holds the last good epoch);
//! - checkpoints ([`checkpoint`]) after each epoch: weights, optimizer state, schedule and
//!   early-stopping state, history; `resume` continues one exactly;
//! - with `precision` `bf16` or `f16`, the passes in half precision and the weights updated
//!   in float32 ([`precision`]);
//! - progress reported through [`smelt_core::progress`] (the CLI's bar) and the per-epoch
//!   history returned for the tracker.

pub mod checkpoint;
pub mod optim;
pub mod precision;
pub mod schedule;

use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Tensor, Var};
use smelt_core::CoreError;
use smelt_core::progress::{Progress, listening, report};
use smelt_core::rng::Rng;

use crate::error::{DeepError, Result};
use optim::{Optimizer, OptimizerConfig, clip_factor, grad_norm};
use precision::{LossScale, Precision};
use schedule::Schedule;

/// The tensors of one mini-batch.
#[derive(Debug)]
pub struct Batch {
    /// The network's inputs (features, category codes, pixels, token ids…).
    pub inputs: Vec<Tensor>,
    /// Class codes (`u32`, shape `[rows]`) or regression targets (`f32`, `[rows, outputs]`).
    pub target: Tensor,
    /// Rows in the batch.
    pub rows: usize,
}

/// Where batches come from.
pub trait BatchSource: Sync {
    /// Rows available.
    fn n_rows(&self) -> usize;
    /// The batch of `rows` (indices into this source). `augment` seeds random augmentation
    /// of training batches (`None`: evaluation, no augmentation).
    fn batch(&self, rows: &[usize], augment: Option<u64>) -> Result<Batch>;
}

/// A network trained by [`fit`].
pub trait Network: Sync {
    /// The trainable variables, in a fixed order (checkpoints rely on it).
    fn vars(&self) -> Vec<Var>;
    /// State that is not trained by the optimizer but belongs to the weights (batch-norm
    /// running statistics): kept with the best epoch's weights and in checkpoints.
    fn buffers(&self) -> Vec<Var> {
        Vec::new()
    }
    /// The outputs for a batch's inputs: logits `[rows, classes]` or values `[rows, outputs]`.
    /// `train` turns on dropout (drawn from `rng`) and batch statistics.
    fn forward(&self, inputs: &[Tensor], train: bool, rng: &mut Rng)
    -> candle_core::Result<Tensor>;
    /// The same network with every variable and buffer converted to `dtype` (new variables,
    /// in the same order), for mixed-precision training ([`precision`]); `None` where the
    /// network has no such copy.
    fn with_dtype(&self, dtype: DType) -> candle_core::Result<Option<Box<dyn Network>>> {
        let _ = dtype;
        Ok(None)
    }
}

/// Class probabilities (softmax, in f64) of one row of logits, written into `out`.
pub(crate) fn softmax_row(logits: &[f32], out: &mut [f64]) {
    let max = logits.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    for (o, &v) in out.iter_mut().zip(logits) {
        *o = f64::from(v - max).exp();
    }
    let sum: f64 = out.iter().sum();
    for o in out.iter_mut() {
        *o /= sum;
    }
}

/// The training objective.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Softmax cross-entropy on class codes (mean over rows).
    CrossEntropy,
    /// Mean squared error (mean over rows and outputs).
    Mse,
}

impl Loss {
    /// The mean loss of `out` against `target`.
    pub fn compute(self, out: &Tensor, target: &Tensor) -> candle_core::Result<Tensor> {
        match self {
            Loss::CrossEntropy => crate::kernels::cross_entropy(out, target),
            Loss::Mse => candle_nn::loss::mse(out, target),
        }
    }
}

/// How [`fit`] trains.
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// The estimator's name in messages and progress (`MLPClassifier`).
    pub estimator: &'static str,
    /// The most epochs.
    pub epochs: usize,
    /// Rows per mini-batch.
    pub batch_size: usize,
    /// The update rule.
    pub optimizer: OptimizerConfig,
    /// The learning rate per batch.
    pub schedule: Schedule,
    /// Clip gradients to this global L2 norm.
    pub clip_grad_norm: Option<f64>,
    /// The precision of the forward and backward passes (weights stay float32).
    pub precision: Precision,
    /// Stop after this many epochs without improvement of the validation loss (needs
    /// validation rows; `None`: run every epoch). The best epoch's weights are kept either way
    /// when there are validation rows.
    pub patience: Option<usize>,
    /// The improvement that counts (absolute, on the validation loss).
    pub tol: f64,
    /// Seeds shuffling, dropout and augmentation.
    pub seed: u64,
    /// Batches prepared ahead on the loader thread.
    pub prefetch: usize,
    /// Where checkpoints are written after every epoch.
    pub checkpoint_dir: Option<PathBuf>,
    /// A checkpoint directory to continue from.
    pub resume: Option<PathBuf>,
}

/// What [`fit`] recorded.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct History {
    /// Mean training loss per epoch.
    pub train_loss: Vec<f64>,
    /// Validation loss per epoch (empty without validation rows).
    pub valid_loss: Vec<f64>,
    /// Learning rate at the end of each epoch.
    pub learning_rate: Vec<f64>,
    /// Seconds per epoch.
    pub epoch_seconds: Vec<f64>,
    /// 1-based epoch whose weights were kept (the best validation loss, else the last).
    pub best_epoch: usize,
    /// Whether early stopping ended the fit before `epochs`.
    pub stopped_early: bool,
}

impl History {
    /// The series for the tracker (`train_loss`, `valid_loss`, `learning_rate`).
    pub fn series(&self) -> Vec<(String, Vec<f64>)> {
        let mut out = vec![("train_loss".to_string(), self.train_loss.clone())];
        if !self.valid_loss.is_empty() {
            out.push(("valid_loss".to_string(), self.valid_loss.clone()));
        }
        out.push(("learning_rate".to_string(), self.learning_rate.clone()));
        out
    }
}

/// The early-stopping and plateau state carried between epochs (and in checkpoints).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct LoopState {
    pub epoch: usize,
    pub best_loss: f64,
    pub bad_epochs: usize,
    pub history: History,
    pub schedule: Schedule,
    pub optimizer_steps: u64,
    /// float16's loss scale (absent from checkpoints written before mixed precision).
    #[serde(default)]
    pub loss_scale: LossScale,
}

/// A seed for `(seed, epoch, purpose)`: epochs draw independent streams.
fn stream(seed: u64, epoch: usize, purpose: u64) -> u64 {
    let mut x = seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(epoch as u64 + 1);
    x ^= purpose.wrapping_mul(0xD1B5_4A32_D192_ED03);
    smelt_core::rng::SplitMix64::new(x).next_u64()
}

/// Runs `f` on a worker of rayon's global pool and waits for it (at once when this thread is a
/// worker already). A training step is a few dozen ops, each a matrix product or an
/// element-wise pass split over rayon's threads: from a worker the step's own thread takes a
/// share of each, while from an outside thread every op is handed to the pool and the thread
/// sleeps until it is done: a wake-up per op.
fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    rayon::join(f, || ()).0
}

/// Copies of the variables' current values.
fn snapshot(vars: &[Var]) -> candle_core::Result<Vec<Tensor>> {
    vars.iter().map(|v| v.as_tensor().copy()).collect()
}

fn restore(vars: &[Var], values: &[Tensor]) -> candle_core::Result<()> {
    for (v, t) in vars.iter().zip(values) {
        v.set(t)?;
    }
    Ok(())
}

/// A scalar tensor's value as f64.
pub fn scalar(t: &Tensor) -> candle_core::Result<f64> {
    Ok(f64::from(t.to_dtype(DType::F32)?.to_scalar::<f32>()?))
}

/// The half-precision copy of a network trained in mixed precision ([`precision`]), with the
/// float32 variables and buffers it mirrors (the same order).
struct Mixed {
    dtype: DType,
    net: Box<dyn Network>,
    halves: Vec<Var>,
    masters: Vec<Var>,
    half_buffers: Vec<Var>,
    buffers: Vec<Var>,
}

impl Mixed {
    /// The copy `config.precision` asks for (`None` for float32).
    fn new(net: &dyn Network, config: &FitConfig) -> Result<Option<Mixed>> {
        let Some(dtype) = config.precision.half() else {
            return Ok(None);
        };
        let what = || format!("converting the network to {}", config.precision.name());
        let half = net
            .with_dtype(dtype)
            .map_err(DeepError::candle(what()))?
            .ok_or_else(|| {
                DeepError::Input(format!(
                    "{}: `precision={}` is not available for this network; use `precision=f32`",
                    config.estimator,
                    config.precision.name()
                ))
            })?;
        let float =
            |v: Vec<Var>| -> Vec<Var> { v.into_iter().filter(|v| v.dtype().is_float()).collect() };
        let mixed = Mixed {
            dtype,
            halves: float(half.vars()),
            masters: float(net.vars()),
            half_buffers: half.buffers(),
            buffers: net.buffers(),
            net: half,
        };
        if mixed.halves.len() != mixed.masters.len()
            || mixed.half_buffers.len() != mixed.buffers.len()
        {
            return Err(DeepError::Input(format!(
                "{}: the {} copy of the network does not have the same variables",
                config.estimator,
                config.precision.name()
            )));
        }
        Ok(Some(mixed))
    }

    /// Each variable of `to` ← its partner in `from`, converted to its own element type.
    fn assign(to: &[Var], from: &[Var]) -> candle_core::Result<()> {
        for (t, f) in to.iter().zip(from) {
            t.set(&f.as_tensor().to_dtype(t.dtype())?)?;
        }
        Ok(())
    }

    /// The half-precision variables ← the float32 ones (after every update).
    fn pull(&self) -> candle_core::Result<()> {
        Self::assign(&self.halves, &self.masters)
    }

    /// Every half-precision variable and buffer ← the float32 ones (after resuming).
    fn pull_all(&self) -> candle_core::Result<()> {
        self.pull()?;
        Self::assign(&self.half_buffers, &self.buffers)
    }

    /// The float32 buffers ← the half-precision ones the passes updated (batch-norm
    /// statistics), so the float32 network is complete.
    fn push_buffers(&self) -> candle_core::Result<()> {
        Self::assign(&self.buffers, &self.half_buffers)
    }

    /// Re-keys the half-precision variables' gradients to the float32 variables, widened.
    fn widen(&self, grads: &mut GradStore) -> candle_core::Result<()> {
        for (h, m) in self.halves.iter().zip(&self.masters) {
            if let Some(g) = grads.remove(h.as_tensor()) {
                grads.insert(m.as_tensor(), g.to_dtype(m.dtype())?);
            }
        }
        Ok(())
    }
}

/// `net`'s outputs for `inputs` in float32: with `half`, float32 inputs are narrowed first
/// and the outputs widened back.
fn forward_f32(
    net: &dyn Network,
    inputs: &[Tensor],
    train: bool,
    rng: &mut Rng,
    half: Option<DType>,
) -> candle_core::Result<Tensor> {
    let Some(dtype) = half else {
        return net.forward(inputs, train, rng);
    };
    let inputs = inputs
        .iter()
        .map(|t| {
            if t.dtype() == DType::F32 {
                t.to_dtype(dtype)
            } else {
                Ok(t.clone())
            }
        })
        .collect::<candle_core::Result<Vec<_>>>()?;
    net.forward(&inputs, train, rng)?.to_dtype(DType::F32)
}

/// The mean loss of `net` over every row of `source`, in evaluation mode.
pub fn evaluate(
    net: &dyn Network,
    loss: Loss,
    source: &dyn BatchSource,
    batch_size: usize,
) -> Result<f64> {
    evaluate_in(net, loss, source, batch_size, None)
}

/// [`evaluate`] with the passes in `half` precision.
fn evaluate_in(
    net: &dyn Network,
    loss: Loss,
    source: &dyn BatchSource,
    batch_size: usize,
    half: Option<DType>,
) -> Result<f64> {
    let n = source.n_rows();
    let mut rng = Rng::new(0);
    let mut sum = 0.0;
    let rows: Vec<usize> = (0..n).collect();
    for chunk in rows.chunks(batch_size.max(1)) {
        let b = source.batch(chunk, None)?;
        let rng = &mut rng;
        let l = on_pool(move || -> Result<f64> {
            let out = forward_f32(net, &b.inputs, false, rng, half)
                .map_err(DeepError::candle("validation forward pass"))?;
            loss.compute(&out, &b.target)
                .and_then(|l| scalar(&l))
                .map_err(DeepError::candle("validation loss"))
        })?;
        sum += l * b.rows as f64;
    }
    Ok(sum / n.max(1) as f64)
}

/// Trains `net` on `train`, watching `valid` (see the [module docs](self)).
pub fn fit(
    net: &dyn Network,
    loss: Loss,
    train: &dyn BatchSource,
    valid: Option<&dyn BatchSource>,
    config: &FitConfig,
) -> Result<History> {
    let vars = net.vars();
    let mixed = Mixed::new(net, config)?;
    // The network the passes run through: the half-precision copy in mixed precision.
    let run: &dyn Network = mixed.as_ref().map_or(net, |m| m.net.as_ref());
    let half = mixed.as_ref().map(|m| m.dtype);
    let mut opt = Optimizer::new(vars.clone(), config.optimizer);
    // Everything the weights are: what the best epoch keeps and checkpoints hold.
    let state_vars: Vec<Var> = vars.iter().cloned().chain(net.buffers()).collect();
    let n = train.n_rows();
    let bs = config.batch_size.max(1).min(n.max(1));
    let steps = n.div_ceil(bs);
    let total_steps = steps * config.epochs;
    let mut state = LoopState {
        epoch: 0,
        // Finite (JSON has no infinity: the state goes into checkpoints).
        best_loss: f64::MAX,
        bad_epochs: 0,
        history: History::default(),
        schedule: config.schedule.clone(),
        optimizer_steps: 0,
        loss_scale: LossScale::default(),
    };
    let mut best: Option<Vec<Tensor>> = None;
    if let Some(dir) = &config.resume {
        let resumed = checkpoint::load(dir, &state_vars)?;
        opt.restore(resumed.state.optimizer_steps, &resumed.optimizer);
        best = resumed.best;
        state = resumed.state;
        if let Some(m) = &mixed {
            m.pull_all()
                .map_err(DeepError::candle("restoring the half-precision copy"))?;
        }
    }
    let valid = valid.filter(|v| v.n_rows() > 0);
    let candle = |what: &'static str| DeepError::candle(what);
    while state.epoch < config.epochs {
        let epoch = state.epoch;
        let started = Instant::now();
        let mut order: Vec<usize> = (0..n).collect();
        Rng::new(stream(config.seed, epoch, 1)).shuffle(&mut order);
        let mut dropout = Rng::new(stream(config.seed, epoch, 2));
        let augment = stream(config.seed, epoch, 3);
        let mut loss_sum = 0.0;
        let mut seen = 0usize;
        let mut lr = state.schedule.rate(epoch, epoch * steps, total_steps);
        let outcome: Result<()> = std::thread::scope(|s| {
            let (tx, rx) = sync_channel::<Result<Batch>>(config.prefetch.max(1));
            let order = &order;
            s.spawn(move || {
                for (i, chunk) in order.chunks(bs).enumerate() {
                    let b = train.batch(chunk, Some(augment.wrapping_add(i as u64)));
                    if tx.send(b).is_err() {
                        break;
                    }
                }
            });
            for (step, batch) in rx.iter().enumerate() {
                let b = batch?;
                let step_lr = state
                    .schedule
                    .rate(epoch, epoch * steps + step, total_steps);
                let opt = &mut opt;
                let dropout = &mut dropout;
                let vars = &vars;
                let mixed = &mixed;
                let loss_scale = &mut state.loss_scale;
                // One step, run on a worker of rayon's pool (see `on_pool`).
                let value = on_pool(move || -> Result<f64> {
                    let out = forward_f32(run, &b.inputs, true, dropout, half)
                        .map_err(candle("forward pass"))?;
                    let l = loss.compute(&out, &b.target).map_err(candle("loss"))?;
                    let value = scalar(&l).map_err(candle("loss"))?;
                    if !value.is_finite() {
                        return Ok(value);
                    }
                    let scaled = config.precision == Precision::F16;
                    let factor = if scaled { loss_scale.factor } else { 1.0 };
                    let mut grads = if scaled { l.affine(factor, 0.0) } else { Ok(l) }
                        .and_then(|l| l.backward())
                        .map_err(candle("backward pass"))?;
                    if let Some(m) = mixed {
                        m.widen(&mut grads)
                            .map_err(candle("widening the gradients"))?;
                    }
                    let mut scale = 1.0 / factor;
                    if scaled || config.clip_grad_norm.is_some() {
                        let norm = grad_norm(vars, &grads).map_err(candle("clipping"))? / factor;
                        if scaled && !loss_scale.update(norm.is_finite()) {
                            // float16 overflowed: skip the step with a smaller scale next.
                            return Ok(value);
                        }
                        if let Some(max) = config.clip_grad_norm {
                            scale *= clip_factor(norm, max);
                        }
                    }
                    opt.step(&grads, step_lr, scale)
                        .map_err(candle("optimizer step"))?;
                    if let Some(m) = mixed {
                        m.pull()
                            .map_err(candle("refreshing the half-precision copy"))?;
                    }
                    Ok(value)
                })?;
                if !value.is_finite() {
                    return Err(CoreError::Numerical {
                        estimator: config.estimator,
                        message: format!(
                            "the training loss became {value} at epoch {}, batch {} of {steps}; \
                             lower the learning rate (`learning_rate`), clip gradients \
                             (`clip_grad_norm`) or check the inputs for extreme values{}",
                            epoch + 1,
                            step + 1,
                            match &config.checkpoint_dir {
                                Some(d) if epoch > 0 => format!(
                                    "; the last good checkpoint (epoch {epoch}) is in {}",
                                    d.display()
                                ),
                                _ => String::new(),
                            }
                        ),
                    }
                    .into());
                }
                lr = step_lr;
                loss_sum += value * b.rows as f64;
                seen += b.rows;
                if listening() && (step % 8 == 7 || step + 1 == steps) {
                    report(&Progress {
                        estimator: config.estimator,
                        epoch: epoch + 1,
                        epochs: config.epochs,
                        step: step + 1,
                        steps,
                        loss: loss_sum / seen.max(1) as f64,
                        valid_loss: state.history.valid_loss.last().copied(),
                        samples_per_second: seen as f64 / started.elapsed().as_secs_f64().max(1e-9),
                        epoch_done: false,
                    });
                }
            }
            Ok(())
        });
        outcome?;
        if let Some(m) = &mixed {
            m.push_buffers()
                .map_err(candle("keeping the batch-norm statistics"))?;
        }
        let train_loss = loss_sum / seen.max(1) as f64;
        let h = &mut state.history;
        h.train_loss.push(train_loss);
        h.learning_rate.push(lr);
        let mut stop = false;
        if let Some(v) = valid {
            let vl = evaluate_in(run, loss, v, bs.max(1024), half)?;
            h.valid_loss.push(vl);
            state.schedule.observe(vl);
            if vl < state.best_loss - config.tol {
                state.best_loss = vl;
                state.bad_epochs = 0;
                h.best_epoch = epoch + 1;
                best = Some(snapshot(&state_vars).map_err(candle("keeping the best weights"))?);
            } else {
                state.bad_epochs += 1;
                if config.patience.is_some_and(|p| state.bad_epochs >= p) {
                    stop = true;
                }
            }
        } else {
            h.best_epoch = epoch + 1;
        }
        h.epoch_seconds.push(started.elapsed().as_secs_f64());
        state.epoch += 1;
        state.optimizer_steps = opt.steps();
        if listening() {
            report(&Progress {
                estimator: config.estimator,
                epoch: epoch + 1,
                epochs: config.epochs,
                step: steps,
                steps,
                loss: train_loss,
                valid_loss: state.history.valid_loss.last().copied(),
                samples_per_second: seen as f64 / started.elapsed().as_secs_f64().max(1e-9),
                epoch_done: true,
            });
        }
        if let Some(dir) = &config.checkpoint_dir {
            checkpoint::save(dir, &state_vars, &opt, best.as_deref(), &state)?;
        }
        if stop {
            state.history.stopped_early = state.epoch < config.epochs;
            break;
        }
    }
    if let Some(b) = &best {
        restore(&state_vars, b).map_err(candle("restoring the best weights"))?;
    }
    Ok(state.history)
}

/// The training and held-out row indices of `n` rows: a seeded shuffle, stratified for classes (every
/// class keeps at least one training row).
pub fn holdout(
    n: usize,
    fraction: f64,
    codes: Option<&[u32]>,
    seed: u64,
) -> (Vec<usize>, Vec<usize>) {
    let mut rng = Rng::new(seed ^ 0x5EED_0F0F);
    let mut train = Vec::new();
    let mut valid = Vec::new();
    let groups: Vec<Vec<usize>> = match codes {
        Some(c) => {
            let k = c.iter().map(|&v| v as usize + 1).max().unwrap_or(0);
            let mut g = vec![Vec::new(); k];
            for (i, &v) in c.iter().enumerate() {
                g[v as usize].push(i);
            }
            g
        }
        None => vec![(0..n).collect()],
    };
    for mut g in groups {
        rng.shuffle(&mut g);
        let take = ((g.len() as f64) * fraction).round() as usize;
        let take = take.min(g.len().saturating_sub(1));
        valid.extend_from_slice(&g[..take]);
        train.extend_from_slice(&g[take..]);
    }
    train.sort_unstable();
    valid.sort_unstable();
    (train, valid)
}

/// The device to train on: `cpu`, or `cuda` / `cuda:N` in builds with the `cuda` feature.
pub fn device(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        d if d == "cuda" || d.starts_with("cuda:") => {
            let ordinal = d
                .strip_prefix("cuda:")
                .map(|i| {
                    i.parse::<usize>().map_err(|_| {
                        DeepError::Input(format!("device `{d}`: expected cuda or cuda:N"))
                    })
                })
                .transpose()?
                .unwrap_or(0);
            if !candle_core::utils::cuda_is_available() {
                return Err(DeepError::Input(format!(
                    "device `{d}`: this build of smelt has no CUDA support; rebuild with \
                     `--features cuda` (needs the CUDA toolkit) or use `device=cpu`"
                )));
            }
            Device::new_cuda(ordinal).map_err(DeepError::candle(format!("opening {d}")))
        }
        other => Err(DeepError::Input(format!(
            "unknown device `{other}` (devices: cpu, cuda, cuda:N)"
        ))),
    }
}
