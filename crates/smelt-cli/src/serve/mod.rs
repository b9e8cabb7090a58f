//! `smelt serve`: argument parsing, logging and the runtime over [`smelt_serve`]; `smelt rollout`
//! ([`rollout`]) drives a running server.

pub mod rollout;

use std::net::IpAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use smelt_serve::config::{AuthMode, Config, ModelConfig};

use crate::Outcome;

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Models to serve: a model directory, an XGBoost .json or LightGBM .txt file,
    /// models:/NAME@ALIAS, models:/NAME/VERSION, runs:/RUN_ID/PATH; NAME=SOURCE names it
    #[arg(value_name = "MODEL")]
    pub models: Vec<String>,

    /// A TOML file with [server], [[api_key]] and [[model]] sections (see the README);
    /// flags and environment variables override it
    #[arg(long, env = "SMELT_SERVE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Interface to listen on (default 127.0.0.1); beyond loopback, API keys are required
    #[arg(long, env = "SMELT_SERVE_HOST")]
    pub host: Option<IpAddr>,

    /// Port (default 8080; 0: any free port)
    #[arg(long, env = "SMELT_SERVE_PORT")]
    pub port: Option<u16>,

    /// API keys, comma-separated (KEY or NAME:KEY); clients send `Authorization: Bearer KEY`
    #[arg(
        long,
        env = "SMELT_API_KEYS",
        value_name = "KEYS",
        hide_env_values = true
    )]
    pub api_keys: Option<String>,

    /// `none` serves without keys even beyond loopback (behind a proxy that authenticates)
    #[arg(long, value_enum)]
    pub auth: Option<AuthArg>,

    /// Most rows scored in one batch (dynamic batching; default 64)
    #[arg(long, value_name = "ROWS")]
    pub max_batch_size: Option<usize>,

    /// How long a batch waits for more requests, in microseconds (default 0)
    #[arg(long, value_name = "US")]
    pub max_queue_delay_us: Option<u64>,

    /// Requests that may wait per model before the server answers 503 (default 1024)
    #[arg(long, value_name = "N")]
    pub queue_capacity: Option<usize>,

    /// Scoring threads per model (default 1)
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,

    /// Log every scored row (inputs, outputs, latency) to Parquet files under DIR, the input of
    /// drift monitoring (see the README for the layout)
    #[arg(long, env = "SMELT_PREDICTION_LOG", value_name = "DIR")]
    pub log_dir: Option<PathBuf>,

    /// Threads for HTTP (default: one fewer than the cores, leaving one to the scoring thread;
    /// at least 1, at most 8)
    #[arg(long, value_name = "N")]
    pub http_threads: Option<usize>,

    /// Log format on standard error
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Check the configuration (file, flags and environment together) and print what would be
    /// served, without loading a model or binding a port; exit 2 on a problem
    #[arg(long)]
    pub check: bool,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum AuthArg {
    Keys,
    None,
}

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

pub fn run(args: ServeArgs) -> Result<Outcome> {
    let mut config = match &args.config {
        Some(path) => Config::from_file(path)?,
        None => Config::default(),
    };
    if let Some(h) = args.host {
        config.server.host = h;
    }
    if let Some(p) = args.port {
        config.server.port = p;
    }
    if let Some(keys) = &args.api_keys {
        config.keys_from_env(keys);
    }
    if let Some(a) = args.auth {
        config.server.auth = match a {
            AuthArg::Keys => AuthMode::Keys,
            AuthArg::None => AuthMode::None,
        };
    }
    if let Some(dir) = &args.log_dir {
        match &mut config.log {
            Some(l) => l.dir = dir.clone(),
            None => config.log = Some(smelt_serve::predlog::LogConfig::new(dir)),
        }
    }
    config
        .models
        .extend(args.models.iter().map(|m| ModelConfig::from_arg(m)));
    for m in &mut config.models {
        m.max_batch_size = args.max_batch_size.or(m.max_batch_size);
        m.max_queue_delay_us = args.max_queue_delay_us.or(m.max_queue_delay_us);
        m.queue_capacity = args.queue_capacity.or(m.queue_capacity);
        m.workers = args.workers.or(m.workers);
    }
    config.check()?;
    if args.check {
        return print_check(&config);
    }
    init_logging(args.log_format);
    let threads = args.http_threads.unwrap_or_else(|| {
        default_http_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads.max(1))
        .thread_name("smelt-http")
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = smelt_serve::bind(&config).await?;
        let local = listener.local_addr().context("reading the bound address")?;
        let app = smelt_serve::build(config).await?;
        crate::alloc::release_freed();
        let models: Vec<String> = app
            .models
            .all()
            .iter()
            .map(|e| format!("{} v{}", e.name, e.routing().primary.version))
            .collect();
        tracing::info!(
            address = %format!("http://{local}"),
            models = %models.join(", "),
            auth = app.keys.enabled(),
            startup_ms = app.started.elapsed().as_millis() as u64,
            "smelt serve ready: OIP v2 at /v2/models/NAME/infer, MLflow at /invocations, /predict/NAME, /metrics, /openapi.json"
        );
        smelt_serve::serve(app, listener, smelt_serve::shutdown_signal()).await?;
        anyhow::Ok(())
    })?;
    Ok(Outcome::Success)
}

/// `smelt serve --check`: the configuration as it would be served.
fn print_check(config: &Config) -> Result<Outcome> {
    use std::io::Write;
    let mut out = anstream::stdout().lock();
    let auth = if !config.api_keys.is_empty() {
        format!("{} API key(s)", config.api_keys.len())
    } else if config.server.auth == AuthMode::None {
        "none (--auth none)".to_string()
    } else {
        "none (loopback only)".to_string()
    };
    writeln!(
        out,
        "{} http://{}  auth: {auth}  body limit: {} bytes",
        crate::style::head("configuration is valid:"),
        config.addr(),
        config.server.max_body_bytes
    )?;
    for m in &config.models {
        let (name, _, settings) = m.resolve()?;
        let b = &settings.batching;
        writeln!(
            out,
            "  {name}  {}  (max_batch_size {}, max_queue_delay_us {}, queue_capacity {}, workers {})",
            m.source, b.max_batch_size, b.max_queue_delay_us, b.queue_capacity, b.workers
        )?;
    }
    if let Some(l) = &config.log {
        writeln!(out, "  prediction log: {}", l.dir.display())?;
    }
    writeln!(
        out,
        "{}",
        crate::style::dim(
            "(checked without loading the models: their sources are read when the server starts)"
        )
    )?;
    Ok(Outcome::Success)
}

pub(crate) fn init_logging(format: LogFormat) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into());
    let level = match filter.to_ascii_lowercase().as_str() {
        "trace" => tracing::Level::TRACE,
        "debug" => tracing::Level::DEBUG,
        "warn" => tracing::Level::WARN,
        "error" => tracing::Level::ERROR,
        _ => tracing::Level::INFO,
    };
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_max_level(level)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// HTTP threads for `cores` cores: one fewer, so the scoring thread has a core of its own (on
/// 2 cores shared with a load generator, 1 HTTP thread cut p99 in 11 of 12 alternated runs
/// against 2, at the same throughput: BENCHMARKS "Serving"); at least 1, at most 8.
fn default_http_threads(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, 8)
}

#[cfg(test)]
mod tests {
    use super::default_http_threads;

    #[test]
    fn http_threads_leave_a_core_to_scoring() {
        assert_eq!(default_http_threads(1), 1);
        assert_eq!(default_http_threads(2), 1);
        assert_eq!(default_http_threads(4), 3);
        assert_eq!(default_http_threads(64), 8);
    }
}
