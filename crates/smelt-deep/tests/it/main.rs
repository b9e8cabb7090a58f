//! smelt-deep's integration tests: the estimator suites, the training loop's guarantees
//! (determinism, exact resume, early stopping, the NaN guard) and gradient checks.

mod cnn;
mod encoder;
mod gradients;
mod mlp;
mod precision;
mod rnn;
mod text;
