//! The state every handler shares, and the one path every protocol's request takes to a
//! prediction ([`App::score`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Instant, SystemTime};

use axum::http::{HeaderMap, StatusCode};
use smelt_core::Prediction;

use crate::auth::Keys;
use crate::batch::Refused;
use crate::config::Config;
use crate::decode::{BadInput, Codec, Rows};
use crate::endpoint::{Endpoint, Models, Version};
use crate::error::{ApiError, Protocol};
use crate::metrics::Metrics;
use crate::predlog::{Entry, PredictionLog};
use crate::source::Lookup;

/// Shared state.
#[derive(Clone, Debug)]
pub struct App(pub Arc<AppInner>);

/// What [`App`] holds.
#[derive(Debug)]
pub struct AppInner {
    /// The endpoints.
    pub models: Models,
    /// Prometheus metrics.
    pub metrics: Metrics,
    /// API keys.
    pub keys: Keys,
    /// The configuration it started with.
    pub config: Config,
    /// Ready to serve (models loaded, not shutting down).
    pub ready: AtomicBool,
    /// When the process started serving.
    pub started: Instant,
    /// Where registry and run models come from and are copied to.
    pub lookup: Lookup,
    /// The prediction log, when configured.
    pub log: Option<PredictionLog>,
}

impl std::ops::Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

impl App {
    /// Whether `/v2/health/ready` answers 200.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// An endpoint by name, or a 404 naming the loaded ones.
    pub fn endpoint(&self, name: &str, protocol: Protocol) -> Result<Arc<Endpoint>, ApiError> {
        self.models.get(name).ok_or_else(|| {
            let names = self.models.names();
            let hint = smelt_core::text::closest(name, &names)
                .map(|c| format!("; did you mean \"{c}\"?"))
                .unwrap_or_default();
            ApiError::not_found(
                protocol,
                format!(
                    "no model named \"{name}\" (served: {}){hint}",
                    names.join(", ")
                ),
            )
        })
    }

    /// Scores rows on an endpoint: the version named in the URL, else the one its traffic split
    /// picks; a shadow challenger scores a copy in the background.
    pub async fn score(
        &self,
        endpoint: &Endpoint,
        version: Option<&str>,
        headers: &HeaderMap,
        protocol: Protocol,
        decode: impl Fn(&Codec) -> Result<Rows, BadInput>,
    ) -> Result<(Arc<Version>, Prediction), ApiError> {
        let (started, time) = (Instant::now(), SystemTime::now());
        let (answer, shadow) = match version {
            Some(v) => match endpoint.version(v) {
                Some(found) => (found, None),
                None => {
                    return Err(ApiError::not_found(
                        protocol,
                        format!(
                            "model \"{}\" has no version \"{v}\" loaded (serving {})",
                            endpoint.name,
                            endpoint.routing().primary.version
                        ),
                    ));
                }
            },
            None => {
                let route = endpoint.route(|h| {
                    headers
                        .get(h)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                });
                (route.answer, route.shadow)
            }
        };
        // Each version reads the request through its own signature.
        let rows = decode_off_the_loop(headers, || decode(&answer.codec))
            .map_err(|e| ApiError::bad_request(protocol, e.0))?;
        if rows.n == 0 {
            return Err(ApiError::bad_request(protocol, "the request has no rows"));
        }
        // Logged requests keep a copy of their rows (the batcher consumes them).
        let logged = self.log.as_ref().is_some_and(PredictionLog::sampled);
        // Copied only for what keeps it (the log, the shadow's task).
        let request_id = || {
            headers
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        // The answer goes to the shadow's task too, which compares the two.
        let mut to_shadow = None;
        if let Some(s) = shadow {
            let copy = decode_off_the_loop(headers, || decode(&s.codec));
            let metrics = self.clone();
            let request_id = request_id();
            let (tx, answered) = tokio::sync::oneshot::channel::<Prediction>();
            to_shadow = Some(tx);
            tokio::spawn(async move {
                let code = match copy {
                    Ok(rows) => {
                        let kept = logged.then(|| rows.clone());
                        match submit(&s, rows).await {
                            Ok(p) => {
                                if let Ok(answer) = answered.await
                                    && let Some(a) = crate::agreement::compare(&answer, &p)
                                {
                                    metrics.metrics.shadow(&s.model, &s.version, &a);
                                }
                                if let (Some(log), Some(rows)) = (&metrics.log, kept) {
                                    log.record(Entry {
                                        request_id,
                                        time,
                                        version: s.log.clone(),
                                        protocol: "shadow",
                                        latency_us: micros(started),
                                        rows,
                                        prediction: p,
                                    });
                                }
                                200
                            }
                            Err(_) => 500,
                        }
                    }
                    Err(_) => 400,
                };
                metrics
                    .metrics
                    .request(&s.model, &s.version, "shadow", code);
            });
        }
        let kept = logged.then(|| rows.clone());
        match submit(&answer, rows).await {
            Ok(p) => {
                if let Some(tx) = to_shadow {
                    let _ = tx.send(p.clone());
                }
                if let (Some(log), Some(rows)) = (&self.log, kept) {
                    log.record(Entry {
                        request_id: request_id(),
                        time,
                        version: answer.log.clone(),
                        protocol: protocol.label(),
                        latency_us: micros(started),
                        rows,
                        prediction: p.clone(),
                    });
                }
                Ok((answer, p))
            }
            Err(Failure::Full) => Err(ApiError {
                status: StatusCode::SERVICE_UNAVAILABLE,
                message: format!(
                    "model \"{}\" is at capacity ({} requests queued); retry shortly",
                    answer.model,
                    answer.batcher.queued()
                ),
                protocol,
                retry_after: Some(1),
            }),
            Err(Failure::Closed) => {
                // The version was swapped out between routing and queueing: the new one answers.
                let now = endpoint.routing().primary.clone();
                Err(ApiError {
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    message: format!(
                        "model \"{}\" version {} was just replaced by {}; retry",
                        answer.model, answer.version, now.version
                    ),
                    protocol,
                    retry_after: Some(1),
                })
            }
            Err(Failure::Model(msg)) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                protocol,
                format!("the model could not score these rows: {msg}"),
            )),
            Err(Failure::Lost) => Err(ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                protocol,
                "internal error while scoring; the request was not scored",
            )),
        }
    }
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

enum Failure {
    Full,
    Closed,
    Model(String),
    Lost,
}

async fn submit(v: &Version, rows: Rows) -> Result<Prediction, Failure> {
    let rx = v.batcher.submit(rows).map_err(|r| match r {
        Refused::Full => Failure::Full,
        Refused::Closed => Failure::Closed,
    })?;
    match rx.await {
        Ok(Ok(p)) => Ok(p),
        Ok(Err(msg)) => Err(Failure::Model(msg)),
        Err(_) => Err(Failure::Lost),
    }
}

/// Bodies at least this long are decoded with [`tokio::task::block_in_place`].
const LARGE_BODY: u64 = 64 << 10;

/// Runs `decode` on this thread; for a large body (its `content-length` at least
/// [`LARGE_BODY`]) on a multi-thread runtime, first hands this worker's other connections to
/// another thread, so a request of thousands of rows (milliseconds of JSON) neither stalls the
/// small requests behind it nor keeps a second large one from being decoded on another core.
fn decode_off_the_loop<T>(headers: &HeaderMap, decode: impl FnOnce() -> T) -> T {
    let large = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
        .is_some_and(|n| n >= LARGE_BODY);
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if large && multi {
        tokio::task::block_in_place(decode)
    } else {
        decode()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;

    fn with_length(n: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(axum::http::header::CONTENT_LENGTH, n.into());
        h
    }

    /// Whether another task on the runtime ran while `decode` held its thread.
    fn others_ran_meanwhile(rt: &tokio::runtime::Runtime, headers: &HeaderMap) -> bool {
        let headers = headers.clone();
        rt.block_on(async move {
            // A task of the runtime (on its worker), as a request handler is.
            tokio::spawn(async move {
                let other = Arc::new(AtomicBool::new(false));
                let flag = other.clone();
                tokio::spawn(async move { flag.store(true, Ordering::Release) });
                decode_off_the_loop(&headers, || {
                    let until = Instant::now() + Duration::from_millis(300);
                    while !other.load(Ordering::Acquire) && Instant::now() < until {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    other.load(Ordering::Acquire)
                })
            })
            .await
            .unwrap()
        })
    }

    /// On a one-worker multi-thread runtime, a large body's decoding leaves the worker's other
    /// tasks free to run; a small body is decoded in place; on a current-thread runtime (where
    /// handing on would panic) everything is decoded in place.
    #[test]
    fn large_bodies_do_not_stall_the_other_connections() {
        let multi = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        assert!(others_ran_meanwhile(&multi, &with_length(LARGE_BODY)));
        assert!(!others_ran_meanwhile(&multi, &with_length(LARGE_BODY - 1)));
        assert!(!others_ran_meanwhile(&multi, &HeaderMap::new()));
        let single = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        assert!(!others_ran_meanwhile(&single, &with_length(LARGE_BODY)));
    }
}
