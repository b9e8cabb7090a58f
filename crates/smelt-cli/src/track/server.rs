//! `smelt server`: the tracking server with MLflow's REST API.

use std::net::{IpAddr, SocketAddr};

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::Outcome;

#[derive(Args, Debug)]
pub struct ServerArgs {
    /// Where runs, metrics and the registry are stored: sqlite:///PATH (relative) or
    /// sqlite:////ABS/PATH, or postgresql://USER:PASS@HOST:PORT/DB
    #[arg(
        long,
        env = "SMELT_BACKEND_STORE_URI",
        default_value = "sqlite:///smelt-runs/tracking.db"
    )]
    pub backend_store_uri: String,

    /// Where proxied artifacts are written: a folder, file:///ABS/PATH, or s3://BUCKET/PREFIX
    #[arg(
        long,
        env = "SMELT_ARTIFACTS_DESTINATION",
        default_value = "smelt-runs/artifacts"
    )]
    pub artifacts_destination: String,

    /// Interface to listen on; anything but loopback requires authentication
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,

    /// Port to listen on (0: any free port)
    #[arg(long, default_value_t = 5000)]
    pub port: u16,

    /// Users and permissions (TOML; see the README): turns authentication on. Required when
    /// --host is not loopback
    #[arg(long, env = "SMELT_AUTH_CONFIG", value_name = "FILE")]
    pub auth_config: Option<std::path::PathBuf>,
}

pub fn run(args: ServerArgs) -> Result<Outcome> {
    let auth = match &args.auth_config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Some(std::sync::Arc::new(
                smelt_track_server::auth::AuthConfig::parse(&path.display().to_string(), &text)?,
            ))
        }
        None => None,
    };
    if !args.host.is_loopback() && auth.is_none() {
        bail!(
            "refusing to listen on {} without authentication\n\nhint: pass --auth-config FILE with users and \
             permissions (see README, \"Tracking server\"), or bind to 127.0.0.1 (the default)",
            args.host
        );
    }
    init_logging();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get().min(4)))
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async move {
        let store = smelt_track::Store::open(&args.backend_store_uri, "mlflow-artifacts:")
            .await
            .with_context(|| format!("opening the tracking store {}", args.backend_store_uri))?;
        let artifacts = smelt_track::ArtifactStore::open(&args.artifacts_destination)
            .with_context(|| {
                format!(
                    "opening the artifact destination {}",
                    args.artifacts_destination
                )
            })?;
        let state = smelt_track_server::AppState {
            store,
            artifacts,
            auth,
        };
        let addr = SocketAddr::new(args.host, args.port);
        smelt_track_server::serve(state, addr, |local| {
            tracing::info!(
                "smelt server listening on http://{local} (store {})",
                args.backend_store_uri
            );
        })
        .await
        .with_context(|| format!("serving on {addr}"))
    })?;
    Ok(Outcome::Success)
}

/// The same logging as `smelt serve` (`RUST_LOG` level, plain text without colour codes when
/// standard error is not a terminal, so a log file holds no ANSI escapes).
fn init_logging() {
    crate::serve::init_logging(crate::serve::LogFormat::Text);
}
