//! API keys and per-key rate limits.
//!
//! A request carries its key as `Authorization: Bearer KEY` or `X-API-Key: KEY`. Keys are
//! compared in constant time and never logged. Health probes (`/v2/health/*`, `/ping`,
//! `/health`) and `/metrics` answer without a key, for Kubernetes and Prometheus.

use std::sync::Mutex;
use std::time::Instant;

use axum::http::{HeaderMap, header};

use crate::config::ApiKey;

/// The keys a server accepts, with their rate limiters.
pub struct Keys {
    keys: Vec<(ApiKey, Option<Mutex<Bucket>>)>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("count", &self.keys.len())
            .finish()
    }
}

/// A token bucket.
struct Bucket {
    tokens: f64,
    rate: f64,
    burst: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant) -> Result<(), f64> {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err((1.0 - self.tokens) / self.rate)
        }
    }
}

/// What a request's credentials amount to.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Allowed (the key's name, for logs).
    Allowed(Option<String>),
    /// No key, or a wrong one.
    Unauthorized,
    /// Over the key's rate: retry after this many seconds.
    Limited(u32),
}

impl Keys {
    /// The accepted keys.
    pub fn new(keys: &[ApiKey]) -> Keys {
        Keys {
            keys: keys
                .iter()
                .map(|k| {
                    let bucket = k.rate_per_second.map(|rate| {
                        let burst = k.burst.unwrap_or(rate).max(1.0);
                        Mutex::new(Bucket {
                            tokens: burst,
                            rate,
                            burst,
                            last: Instant::now(),
                        })
                    });
                    (k.clone(), bucket)
                })
                .collect(),
        }
    }

    /// Whether any key is configured (no keys: no authentication).
    pub fn enabled(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Checks a request's headers.
    pub fn check(&self, headers: &HeaderMap) -> Verdict {
        if !self.enabled() {
            return Verdict::Allowed(None);
        }
        let Some(given) = presented(headers) else {
            return Verdict::Unauthorized;
        };
        // Every key is compared, so the time taken does not tell which one nearly matched.
        let mut found = None;
        for (i, (k, _)) in self.keys.iter().enumerate() {
            if constant_time_eq(k.key.as_bytes(), given.as_bytes()) && found.is_none() {
                found = Some(i);
            }
        }
        let Some(i) = found else {
            return Verdict::Unauthorized;
        };
        let (key, bucket) = &self.keys[i];
        if let Some(b) = bucket {
            let mut b = match b.lock() {
                Ok(b) => b,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Err(wait) = b.take(Instant::now()) {
                return Verdict::Limited(wait.ceil().max(1.0) as u32);
            }
        }
        Verdict::Allowed(Some(key.name.clone()))
    }
}

fn presented(headers: &HeaderMap) -> Option<&str> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        let v = v.trim();
        if let Some(t) = v
            .strip_prefix("Bearer ")
            .or_else(|| v.strip_prefix("bearer "))
        {
            return Some(t.trim());
        }
    }
    headers
        .get("x-api-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// Paths that answer without a key: probes and metrics.
pub fn is_open_path(path: &str) -> bool {
    matches!(
        path,
        "/v2/health/live" | "/v2/health/ready" | "/ping" | "/health" | "/metrics"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn keys_and_rate_limits() {
        let keys = Keys::new(&[
            ApiKey {
                name: "a".into(),
                key: "a".repeat(20),
                rate_per_second: None,
                burst: None,
            },
            ApiKey {
                name: "slow".into(),
                key: "s".repeat(20),
                rate_per_second: Some(1.0),
                burst: Some(2.0),
            },
        ]);
        let bearer = format!("Bearer {}", "a".repeat(20));
        assert_eq!(
            keys.check(&headers(&[("authorization", &bearer)])),
            Verdict::Allowed(Some("a".into()))
        );
        assert_eq!(
            keys.check(&headers(&[("x-api-key", &"a".repeat(20))])),
            Verdict::Allowed(Some("a".into()))
        );
        assert_eq!(keys.check(&headers(&[])), Verdict::Unauthorized);
        assert_eq!(
            keys.check(&headers(&[("x-api-key", &"a".repeat(19))])),
            Verdict::Unauthorized
        );
        let slow = headers(&[("x-api-key", &"s".repeat(20))]);
        assert!(matches!(keys.check(&slow), Verdict::Allowed(_)));
        assert!(matches!(keys.check(&slow), Verdict::Allowed(_)));
        assert_eq!(keys.check(&slow), Verdict::Limited(1));
        assert!(is_open_path("/v2/health/ready") && !is_open_path("/v2/models/x/infer"));
    }
}
