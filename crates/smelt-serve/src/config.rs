//! Configuration: a TOML file, then environment variables, then command-line flags (each
//! overriding the one before).
//!
//! ```toml
//! [server]
//! host = "127.0.0.1"          # beyond loopback, API keys are required unless auth = "none"
//! port = 8080
//! max_body_bytes = 8388608
//! request_timeout_ms = 10000
//! auth = "keys"               # "keys" (when any are given) or "none"
//! reload_interval_s = 30      # how often registry aliases are checked for a new version (0: never)
//! tracking_uri = "http://tracking:5000"   # where models:/ and runs:/ come from (default: SMELT_TRACKING_URI, ./smelt-runs)
//!
//! [[api_key]]                 # or SMELT_API_KEYS="key1,name2:key2"
//! name = "frontend"
//! key = "…"
//! rate_per_second = 200       # optional per-key rate limit
//! burst = 400
//!
//! [log]                       # prediction logging to Parquet (the input of monitoring); off without it
//! dir = "predictions"
//! rotate_rows = 100000
//! rotate_seconds = 3600
//! sample = 1.0
//!
//! [[model]]
//! name = "churn"
//! source = "models:/churn@champion"   # a folder, .json (XGBoost), .txt (LightGBM), models:/…, runs:/…
//! max_batch_size = 64
//! max_queue_delay_us = 0
//! queue_capacity = 1024
//! workers = 1
//! unseen_category = "error"   # or "missing"
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::batch::Batching;
use crate::decode::Unseen;
use crate::endpoint::ModelSettings;
use crate::error::{Result, ServeError};
use crate::source::Source;

/// The whole configuration.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Server settings.
    #[serde(default)]
    pub server: ServerConfig,
    /// API keys.
    #[serde(default, rename = "api_key")]
    pub api_keys: Vec<ApiKey>,
    /// Models to serve.
    #[serde(default, rename = "model")]
    pub models: Vec<ModelConfig>,
    /// Prediction logging (off without it).
    #[serde(default)]
    pub log: Option<crate::predlog::LogConfig>,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to bind.
    pub host: IpAddr,
    /// Port (0: any free port).
    pub port: u16,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest a request may take before a 503.
    pub request_timeout_ms: u64,
    /// `keys` or `none`.
    pub auth: AuthMode,
    /// Seconds between checks of registry aliases for a new version (0: never).
    pub reload_interval_s: u64,
    /// Where registry models are copied to (default: a folder in the system's temp dir).
    pub cache_dir: Option<PathBuf>,
    /// The tracking store or server `models:/` and `runs:/` sources come from (default:
    /// `SMELT_TRACKING_URI`, else `./smelt-runs`).
    pub tracking_uri: Option<String>,
    /// With a store URI: where its proxied artifacts live (as `smelt server
    /// --artifacts-destination`).
    pub artifacts_destination: Option<String>,
    /// The model `/invocations` scores (default: the first).
    pub default_model: Option<String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::from([127, 0, 0, 1]),
            port: 8080,
            max_body_bytes: 8 << 20,
            request_timeout_ms: 10_000,
            auth: AuthMode::Keys,
            reload_interval_s: 30,
            cache_dir: None,
            tracking_uri: None,
            artifacts_destination: None,
            default_model: None,
        }
    }
}

/// Whether requests need a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthMode {
    /// Keys are required when any are configured (and must be, beyond loopback).
    #[default]
    Keys,
    /// No authentication, even beyond loopback (behind a trusted proxy).
    None,
}

/// One API key.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKey {
    /// A name for logs and metrics.
    pub name: String,
    /// The secret.
    pub key: String,
    /// Requests per second allowed (none: unlimited).
    #[serde(default)]
    pub rate_per_second: Option<f64>,
    /// Requests allowed in a burst (default: one second's worth).
    #[serde(default)]
    pub burst: Option<f64>,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("name", &self.name)
            .field("key", &"[redacted]")
            .field("rate_per_second", &self.rate_per_second)
            .finish()
    }
}

/// One `[[model]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Name in URLs (default: from the source).
    #[serde(default)]
    pub name: Option<String>,
    /// Where it comes from.
    pub source: String,
    /// See [`Batching`].
    #[serde(default)]
    pub max_batch_size: Option<usize>,
    /// See [`Batching`].
    #[serde(default)]
    pub max_queue_delay_us: Option<u64>,
    /// See [`Batching`].
    #[serde(default)]
    pub queue_capacity: Option<usize>,
    /// See [`Batching`].
    #[serde(default)]
    pub workers: Option<usize>,
    /// See [`Unseen`].
    #[serde(default)]
    pub unseen_category: Option<Unseen>,
    /// Version label to show.
    #[serde(default)]
    pub version: Option<String>,
}

impl ModelConfig {
    /// A model given on the command line: `SOURCE` or `NAME=SOURCE`.
    pub fn from_arg(arg: &str) -> ModelConfig {
        let (name, source) = match arg.split_once('=') {
            Some((n, s)) if !n.contains('/') && !n.contains(':') && !n.is_empty() => {
                (Some(n.to_string()), s.to_string())
            }
            _ => (None, arg.to_string()),
        };
        ModelConfig {
            name,
            source,
            max_batch_size: None,
            max_queue_delay_us: None,
            queue_capacity: None,
            workers: None,
            unseen_category: None,
            version: None,
        }
    }

    /// The parsed source, its name and settings.
    pub fn resolve(&self) -> Result<(String, Source, ModelSettings)> {
        let source = Source::parse(&self.source)?;
        let name = self.name.clone().unwrap_or_else(|| source.default_name());
        check_name(&name)?;
        let d = Batching::default();
        let batching = Batching {
            max_batch_size: self.max_batch_size.unwrap_or(d.max_batch_size),
            max_queue_delay_us: self.max_queue_delay_us.unwrap_or(d.max_queue_delay_us),
            queue_capacity: self.queue_capacity.unwrap_or(d.queue_capacity),
            workers: self.workers.unwrap_or(d.workers),
        };
        if batching.max_batch_size == 0 || batching.queue_capacity == 0 || batching.workers == 0 {
            return Err(ServeError::Config(format!(
                "model \"{name}\": max_batch_size, queue_capacity and workers must be at least 1"
            )));
        }
        Ok((
            name,
            source,
            ModelSettings {
                batching,
                unseen_category: self.unseen_category.unwrap_or_default(),
                version: self.version.clone(),
            },
        ))
    }
}

/// Model names appear in URLs: letters, digits, `-`, `_`, `.`.
pub fn check_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.starts_with('.')
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(ServeError::Config(format!(
            "model name {name:?}: use letters, digits, '-', '_' and '.' (it appears in URLs); \
             name it with NAME=SOURCE"
        )));
    }
    Ok(())
}

impl Config {
    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|source| ServeError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|e| ServeError::Config(format!("{}: {e}", path.display())))
    }

    /// Adds keys from `SMELT_API_KEYS` (`key` or `name:key`, comma-separated).
    pub fn keys_from_env(&mut self, value: &str) {
        for (i, item) in value
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .enumerate()
        {
            let (name, key) = match item.split_once(':') {
                Some((n, k)) if !n.is_empty() && !k.is_empty() => (n.to_string(), k.to_string()),
                _ => (format!("env-{}", i + 1), item.to_string()),
            };
            self.api_keys.push(ApiKey {
                name,
                key,
                rate_per_second: None,
                burst: None,
            });
        }
    }

    /// The address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.server.host, self.server.port)
    }

    /// Checks what can be checked before loading anything: at least one model, unique names,
    /// keys beyond loopback, sane limits.
    pub fn check(&self) -> Result<()> {
        if self.models.is_empty() {
            return Err(ServeError::Config(
                "no model to serve: give one (smelt serve MODEL_DIR, smelt serve models:/NAME@ALIAS) \
                 or list them in a config file's [[model]] entries"
                    .into(),
            ));
        }
        if !self.server.host.is_loopback()
            && self.api_keys.is_empty()
            && self.server.auth != AuthMode::None
        {
            return Err(ServeError::Config(format!(
                "refusing to listen on {} without authentication: set API keys (SMELT_API_KEYS=KEY or \
                 [[api_key]] in the config file), or pass --auth none if a trusted proxy in front \
                 does it",
                self.server.host
            )));
        }
        for k in &self.api_keys {
            if k.key.len() < 16 {
                return Err(ServeError::Config(format!(
                    "API key \"{}\" is {} characters; use at least 16 (e.g. `openssl rand -hex 24`)",
                    k.name,
                    k.key.len()
                )));
            }
            if let Some(r) = k.rate_per_second
                && !(r > 0.0 && r.is_finite())
            {
                return Err(ServeError::Config(format!(
                    "API key \"{}\": rate_per_second must be a positive number",
                    k.name
                )));
            }
        }
        if let Some(l) = &self.log {
            l.check()?;
        }
        if self.server.max_body_bytes < 1024 {
            return Err(ServeError::Config(
                "server.max_body_bytes must be at least 1024".into(),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for m in &self.models {
            let (name, _, _) = m.resolve()?;
            if !seen.insert(name.clone()) {
                return Err(ServeError::Config(format!(
                    "two models are named \"{name}\"; name them with NAME=SOURCE or name = \"…\""
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_env_and_checks() {
        let mut c: Config = toml::from_str(
            r#"
            [server]
            host = "0.0.0.0"
            port = 9000
            [[model]]
            name = "churn"
            source = "models:/churn@champion"
            max_batch_size = 32
            "#,
        )
        .unwrap();
        assert_eq!(c.addr().port(), 9000);
        let e = c.check().unwrap_err().to_string();
        assert!(e.contains("without authentication"), "{e}");
        c.keys_from_env("short");
        assert!(c.check().unwrap_err().to_string().contains("at least 16"));
        c.api_keys.clear();
        c.keys_from_env("ci:0123456789abcdef0123, 0123456789abcdef0124");
        c.check().unwrap();
        assert_eq!(c.api_keys[0].name, "ci");
        assert_eq!(c.api_keys[1].name, "env-2");
        let (name, _, s) = c.models[0].resolve().unwrap();
        assert_eq!((name.as_str(), s.batching.max_batch_size), ("churn", 32));
        let bad: std::result::Result<Config, _> = toml::from_str("[server]\nprot = 1\n");
        assert!(
            bad.unwrap_err()
                .to_string()
                .contains("unknown field `prot`")
        );
        assert_eq!(
            ModelConfig::from_arg("a=models:/x/1").name.as_deref(),
            Some("a")
        );
        assert_eq!(ModelConfig::from_arg("models:/x/1").name, None);
        assert!(check_name("a b").is_err());
    }
}
