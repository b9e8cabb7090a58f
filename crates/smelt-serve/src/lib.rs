//! `smelt serve`: Smelt models behind the protocols existing clients already speak.
//!
//! * **Open Inference Protocol v2** (KServe, Triton, MLServer): `/v2`, `/v2/health/{live,ready}`,
//!   `/v2/models/{name}[/versions/{v}][/ready|/infer]`, JSON tensors and the binary tensor
//!   extension — `tritonclient[http]` works unchanged.
//! * **MLflow scoring** (`mlflow models serve`): `POST /invocations` with `dataframe_split`,
//!   `dataframe_records`, `instances`, `inputs` or CSV; `/ping`, `/health`, `/version`.
//! * **Named features** for people: `POST /predict/{model}` with one object or a list; the
//!   OpenAPI document at `/openapi.json`.
//! * **OpenAI's embeddings API** for embedding models (a sentence-transformers directory):
//!   `POST /v1/embeddings`, floats or base64 — OpenAI's client works unchanged.
//!
//! Requests are checked against each model's [`signature::Signature`] (missing feature, wrong
//! type, wrong shape, unseen category, missing value where the model takes none) and answered
//! with a 4xx that names the row, feature and value — before they reach the model, so one bad
//! request never fails a batch of good ones. Good requests for one model are scored together
//! ([`batch`]: dynamic batching on worker threads off the I/O runtime, a bounded queue that
//! answers 503 + `Retry-After` when full). Versions swap without losing a request
//! ([`endpoint`]: deploy, canary, sticky A/B, shadow, promote, instant rollback, hot reload when
//! a registry alias moves). Prometheus metrics at `/metrics`; API keys with per-key rate limits
//! ([`auth`]), required beyond loopback.
//!
//! ```no_run
//! # async fn run() -> Result<(), smelt_serve::ServeError> {
//! use smelt_serve::config::{Config, ModelConfig};
//!
//! let mut config = Config::default();
//! config.models.push(ModelConfig::from_arg("churn=models:/churn@champion"));
//! let listener = smelt_serve::bind(&config).await?;
//! let app = smelt_serve::build(config).await?;
//! smelt_serve::serve(app, listener, smelt_serve::shutdown_signal()).await?;
//! # Ok(()) }
//! ```

pub mod agreement;
pub mod app;
pub mod auth;
pub mod batch;
pub mod config;
pub mod decode;
mod encode;
pub mod endpoint;
mod error;
pub mod metrics;
mod openapi;
pub mod predlog;
mod routes;
mod server;
pub mod signature;
pub mod source;

pub use app::App;
pub use error::{ApiError, Protocol, Result, ServeError};
pub use routes::router;
pub use server::{bind, build, serve, shutdown_signal};
