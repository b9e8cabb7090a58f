//! Hyperparameter tuning: search spaces, samplers and studies — Optuna's role.
//!
//! * [`space`]: what is searched, in one grammar for the command line and TOML files
//!   (`C=loguniform(1e-3,10)`, conditional parameters).
//! * [`Study`]: asks a [`Sampler`] for parameters, runs the objective, keeps every
//!   [`Trial`]; an optional [`MedianPruner`] stops trials whose intermediate scores (fold by
//!   fold, round by round) fall below the median of the others.
//! * Samplers: [`GridSampler`], [`RandomSampler`] and [`TpeSampler`] (Optuna's default).
//! * [`halving`]: successive halving and Hyperband over a resource (rows, rounds).
//!
//! The objective is any closure, so the same study tunes a model's cross-validated score, a
//! validation score, or anything else. Samplers are seeded: the same seed gives the same
//! trials on every machine.
//!
//! ```
//! use smelt_eval::tune::{Direction, Space, Study, TpeSampler};
//!
//! let space = Space::from_args(&["x=uniform(-5, 5)".into(), "kind=choice(a, b)".into()])?;
//! let mut study = Study::new(space, Direction::Minimize, Box::new(TpeSampler::new(0)));
//! study.optimize(40, None, |trial| {
//!     let x = trial.params()["x"].as_f64().unwrap_or(0.0);
//!     let penalty = if trial.params()["kind"] == "b" { 0.0 } else { 1.0 };
//!     Ok((x - 1.0).powi(2) + penalty)
//! }, |_, _| {})?;
//! let best = study.best().expect("a complete trial");
//! assert!(best.value.unwrap() < 0.5);
//! # Ok::<(), smelt_eval::EvalError>(())
//! ```

pub mod halving;
mod sampler;
pub mod space;
mod study;
mod tpe;
mod trial;

pub use sampler::{GridSampler, RandomSampler, Sampler};
pub use space::{Condition, Dist, Param, Space};
pub use study::{Direction, MedianPruner, Study, Trial, TrialContext, TrialState};
pub use tpe::TpeSampler;
