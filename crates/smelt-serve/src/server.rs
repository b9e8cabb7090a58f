//! Starting, running and stopping a server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::app::{App, AppInner};
use crate::auth::Keys;
use crate::config::Config;
use crate::endpoint::{Endpoint, Models, Version};
use crate::error::{Result, ServeError};
use crate::metrics::Metrics;
use crate::source::{Lookup, Pick, Source};

/// Loads every configured model (in parallel) and returns the application state, ready.
pub async fn build(config: Config) -> Result<App> {
    config.check()?;
    let cache = config
        .server
        .cache_dir
        .clone()
        .unwrap_or_else(|| Lookup::project().cache);
    std::fs::create_dir_all(&cache).map_err(|source| ServeError::Io {
        path: cache.clone(),
        source,
    })?;
    let metrics = Metrics::new();
    let models = Models::default();
    let app = App(Arc::new(AppInner {
        models,
        metrics,
        keys: Keys::new(&config.api_keys),
        config: config.clone(),
        ready: AtomicBool::new(false),
        started: Instant::now(),
        log: config
            .log
            .as_ref()
            .map(crate::predlog::PredictionLog::start)
            .transpose()?,
        lookup: Lookup {
            tracking_uri: config.server.tracking_uri.clone(),
            artifacts_destination: config.server.artifacts_destination.clone(),
            cache: cache.clone(),
        },
    }));
    let mut tasks = Vec::new();
    for m in &config.models {
        let (name, source, settings) = m.resolve()?;
        let app2 = app.clone();
        tasks.push(tokio::task::spawn_blocking(move || {
            Version::load(&name, &source, &settings, &app2.metrics, &app2.lookup)
                .map(|v| (name, settings, v))
        }));
    }
    for t in tasks {
        let (name, settings, v) = t
            .await
            .map_err(|e| ServeError::Config(format!("loading a model: {e}")))??;
        tracing::info!(
            model = %name,
            version = %v.version,
            source = %v.resolved,
            load_ms = (v.load_seconds * 1e3).round(),
            inputs = v.signature.inputs.len(),
            "model loaded"
        );
        app.models.insert(Endpoint::new(&name, settings, v));
    }
    // The first in the configuration answers /invocations unless another is named.
    if let Some(first) = config.models.first().and_then(|m| m.resolve().ok()) {
        app.models.set_default(&first.0);
    }
    if let Some(d) = &config.server.default_model {
        if app.models.get(d).is_none() {
            return Err(ServeError::Config(format!(
                "server.default_model \"{d}\" is not among the served models ({})",
                app.models.names().join(", ")
            )));
        }
        app.models.set_default(d);
    }
    app.ready.store(true, Ordering::Release);
    Ok(app)
}

/// Binds the configured address.
pub async fn bind(config: &Config) -> Result<tokio::net::TcpListener> {
    let addr = config.addr();
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Io {
            path: PathBuf::from(addr.to_string()),
            source,
        })
}

/// Serves until `shutdown` resolves, then stops taking requests and finishes those in flight.
pub async fn serve(
    app: App,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let addr = listener.local_addr().ok();
    let reload = tokio::spawn(reload_loop(app.clone()));
    let app2 = app.clone();
    let result = axum::serve(listener, crate::routes::router(app.clone()))
        .with_graceful_shutdown(async move {
            shutdown.await;
            app2.ready.store(false, Ordering::Release);
            tracing::info!("shutting down: finishing requests in flight");
        })
        .await;
    reload.abort();
    let a = app.clone();
    if let Ok(Some(s)) = tokio::task::spawn_blocking(move || {
        a.log.as_ref().map(crate::predlog::PredictionLog::close)
    })
    .await
    {
        tracing::info!(
            rows = s.rows_written,
            files = s.files_written,
            dropped = s.dropped,
            write_errors = s.write_errors,
            "prediction log closed"
        );
    }
    result.map_err(|source| ServeError::Io {
        path: PathBuf::from(addr.map_or_else(|| "socket".into(), |a: SocketAddr| a.to_string())),
        source,
    })
}

/// Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

/// Hot reload: every `reload_interval_s`, a model served from a registry alias (or its latest
/// version) is checked; when the alias points elsewhere, the new version is loaded beside the
/// old and swapped in (the old is kept for rollback), without dropping a request.
async fn reload_loop(app: App) {
    let every = app.config.server.reload_interval_s;
    if every == 0 {
        return;
    }
    let mut tick = tokio::time::interval(Duration::from_secs(every));
    tick.tick().await;
    loop {
        tick.tick().await;
        for e in app.models.all() {
            let current = e.routing().primary.clone();
            if !matches!(
                current.source,
                Source::Registry {
                    pick: Pick::Alias(_) | Pick::Latest,
                    ..
                }
            ) {
                continue;
            }
            let source = current.source.clone();
            let app2 = app.clone();
            let e2 = e.clone();
            let checked = tokio::task::spawn_blocking(move || {
                let now = crate::source::registry_version(&source, &app2.lookup)?;
                match now {
                    // The registry's number, not the label (a configured label stays the same).
                    Some(v) if v != current.source_version => {
                        Version::load(&e2.name, &source, &e2.settings, &app2.metrics, &app2.lookup)
                            .map(Some)
                    }
                    _ => Ok(None),
                }
            })
            .await;
            match checked {
                Ok(Ok(Some(v))) => {
                    tracing::info!(model = %e.name, version = %v.version, "registry alias moved: new version deployed");
                    e.deploy(v);
                }
                Ok(Ok(None)) => {}
                Ok(Err(err)) => {
                    tracing::warn!(model = %e.name, error = %err, "hot reload check failed")
                }
                Err(err) => tracing::warn!(model = %e.name, error = %err, "hot reload task failed"),
            }
        }
    }
}
