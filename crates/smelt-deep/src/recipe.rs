//! The training parameters every network shares, declared once: [`deep_params!`](crate::deep_params) adds them to
//! a network's own parameters (one `smelt_core::params!` block per estimator, so each gets
//! its checks, builders and `--help-params` table), and [`Recipe`] reads them back from any of
//! those structs to build the loop's [`FitConfig`].

use serde::{Deserialize, Serialize};
use smelt_core::{CoreError, Result};

use crate::train::FitConfig;
use crate::train::optim::{OptimizerConfig, OptimizerKind};
use crate::train::schedule::{Schedule, ScheduleKind};

/// Declares a network's parameters: its own fields first, then the shared training ones
/// (optimizer, schedule, batches, epochs, early stopping, seed, device, precision,
/// checkpoints) with the
/// given defaults for `epochs`, `batch_size`, `learning_rate_init`, `lr_schedule` and
/// `early_stopping`.
#[macro_export]
macro_rules! deep_params {
    (
        $(#[$doc:meta])* $name:ident, $est:literal,
        epochs: $epochs:expr, batch_size: $bs:expr, lr: $lr:expr,
        schedule: $sched:ident, early_stopping: $es:expr,
        { $($own:tt)* }
    ) => {
        smelt_core::params! {
            $(#[$doc])*
            pub struct $name($est) {
                $($own)*
                /// Optimizer: `adam`, `adamw` or `sgd`; default `adam`.
                solver: $crate::train::optim::OptimizerKind = $crate::train::optim::OptimizerKind::Adam,
                    aliases: ["optimizer"];
                /// Base learning rate, `(0, inf)`.
                learning_rate_init: f64 = $lr, range: greater(0.0), aliases: ["lr"];
                /// Learning-rate schedule: `constant`, `step`, `cosine`, `one_cycle` or
                /// `plateau`.
                lr_schedule: $crate::train::schedule::ScheduleKind = $crate::train::schedule::ScheduleKind::$sched;
                /// Multiplier of the `step` and `plateau` schedules, `(0, 1]`; default 0.1.
                lr_gamma: f64 = 0.1, range: open_closed(0.0, 1.0);
                /// Epochs between `step` decays, or without improvement before a `plateau`
                /// decay, `>= 1`; default 10.
                lr_step_size: usize = 10, range: at_least_int(1);
                /// Mini-batches of linear learning-rate warm-up, `>= 0`; default 0.
                warmup_steps: usize = 0;
                /// Weight decay (L2 for `adam`/`sgd`, decoupled for `adamw`), `[0, inf)`;
                /// default 0.
                weight_decay: f64 = 0.0, range: at_least(0.0);
                /// SGD momentum, `[0, 1)`; default 0.9.
                momentum: f64 = 0.9, range: within(0.0, 0.999);
                /// Nesterov momentum for SGD; default `true`.
                nesterovs_momentum: bool = true;
                /// Adam's β₁, `[0, 1)`; default 0.9.
                beta_1: f64 = 0.9, range: within(0.0, 0.999_999);
                /// Adam's β₂, `[0, 1)`; default 0.999.
                beta_2: f64 = 0.999, range: within(0.0, 0.999_999);
                /// Adam's ε, `(0, inf)`; default 1e-8.
                epsilon: f64 = 1e-8, range: greater(0.0);
                /// Clip gradients to this global L2 norm, `(0, inf)`; default none.
                clip_grad_norm: Option<f64> = None, range: none_or(greater(0.0)), setter: some(f64);
                /// Rows per mini-batch, `>= 1`.
                batch_size: usize = $bs, range: at_least_int(1);
                /// The most passes over the training rows, `>= 1`.
                epochs: usize = $epochs, range: at_least_int(1), aliases: ["max_iter"];
                /// Hold out `validation_fraction` of the rows, stop after `n_iter_no_change`
                /// epochs without improvement and keep the best epoch's weights.
                early_stopping: bool = $es;
                /// Share of the training rows held out for early stopping, `(0, 1)`; default 0.1.
                validation_fraction: f64 = 0.1, range: open(0.0, 1.0);
                /// Epochs without improvement before stopping, `>= 1`; default 10.
                n_iter_no_change: usize = 10, range: at_least_int(1), aliases: ["patience"];
                /// Improvement of the validation loss that counts, `[0, inf)`; default 1e-4.
                tol: f64 = 1e-4, range: at_least(0.0);
                /// Seed of the initial weights, shuffling, dropout, augmentation and the
                /// held-out rows; default 0.
                random_state: u64 = 0, aliases: ["seed"];
                /// Where to train: `cpu`, or `cuda` / `cuda:N` in CUDA builds; default `cpu`.
                device: String = "cpu".to_string();
                /// Precision of the forward and backward passes: `f32`, or mixed precision
                /// with float32 weights, `bf16` or `f16` (loss-scaled); pays on a GPU, slower
                /// on the CPU; default `f32`.
                precision: $crate::train::precision::Precision = $crate::train::precision::Precision::F32;
                /// Write a checkpoint (weights, optimizer state, history) into this directory
                /// after every epoch; default none.
                checkpoint_dir: Option<String> = None, setter: some(String);
                /// Continue the fit from the checkpoint in this directory (same data and
                /// layout); default none.
                resume: Option<String> = None, setter: some(String);
            }
        }
    };
}

/// The shared training parameters, read from any struct declared with
/// [`deep_params!`](crate::deep_params).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Recipe {
    /// Optimizer.
    pub solver: OptimizerKind,
    /// Base learning rate.
    pub learning_rate_init: f64,
    /// Schedule.
    pub lr_schedule: ScheduleKind,
    /// Decay factor.
    pub lr_gamma: f64,
    /// Epochs per step decay / plateau patience.
    pub lr_step_size: usize,
    /// Warm-up batches.
    pub warmup_steps: usize,
    /// Weight decay.
    pub weight_decay: f64,
    /// SGD momentum.
    pub momentum: f64,
    /// Nesterov.
    pub nesterovs_momentum: bool,
    /// Adam β₁.
    pub beta_1: f64,
    /// Adam β₂.
    pub beta_2: f64,
    /// Adam ε.
    pub epsilon: f64,
    /// Gradient clipping.
    pub clip_grad_norm: Option<f64>,
    /// Batch size.
    pub batch_size: usize,
    /// Epochs.
    pub epochs: usize,
    /// Early stopping.
    pub early_stopping: bool,
    /// Held-out share.
    pub validation_fraction: f64,
    /// Patience.
    pub n_iter_no_change: usize,
    /// Improvement that counts.
    pub tol: f64,
    /// Seed.
    pub random_state: u64,
    /// Device name.
    pub device: String,
    /// Precision of the passes.
    pub precision: crate::train::precision::Precision,
    /// Checkpoint directory.
    pub checkpoint_dir: Option<String>,
    /// Checkpoint to resume.
    pub resume: Option<String>,
}

impl Recipe {
    /// The recipe in `params` (a struct declared with [`deep_params!`](crate::deep_params)).
    pub fn of<P: Serialize>(params: &P) -> Result<Recipe> {
        serde_json::to_value(params)
            .and_then(serde_json::from_value)
            .map_err(|e| CoreError::Engine {
                engine: "smelt-deep",
                message: format!("reading the training parameters: {e}"),
            })
    }

    /// The training loop's configuration.
    pub fn fit_config(&self, estimator: &'static str) -> FitConfig {
        let mut schedule = Schedule::new(self.lr_schedule, self.learning_rate_init);
        schedule.gamma = self.lr_gamma;
        schedule.step_size = self.lr_step_size;
        schedule.patience = self.lr_step_size;
        schedule.warmup_steps = self.warmup_steps;
        FitConfig {
            estimator,
            epochs: self.epochs,
            batch_size: self.batch_size,
            optimizer: OptimizerConfig {
                kind: self.solver,
                momentum: self.momentum,
                nesterov: self.nesterovs_momentum,
                betas: (self.beta_1, self.beta_2),
                eps: self.epsilon,
                weight_decay: self.weight_decay,
            },
            schedule,
            clip_grad_norm: self.clip_grad_norm,
            precision: self.precision,
            patience: self.early_stopping.then_some(self.n_iter_no_change),
            tol: self.tol,
            seed: self.random_state,
            prefetch: 4,
            checkpoint_dir: self.checkpoint_dir.as_ref().map(Into::into),
            resume: self.resume.as_ref().map(Into::into),
        }
    }
}
