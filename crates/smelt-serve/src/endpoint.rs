//! What the server holds: model endpoints by name, each with the version that answers, the
//! previous one (kept loaded for instant rollback) and an optional challenger with its traffic
//! split (canary, sticky A/B, shadow).
//!
//! A request takes an `Arc` of the routing it saw; swapping versions replaces the routing, and
//! the old version's batcher finishes every request it already queued before its workers stop —
//! so a promotion or rollback under load loses nothing.

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::batch::{Batcher, Batching};
use crate::decode::{Codec, Unseen};
use crate::error::{Result, ServeError};
use crate::metrics::{Metrics, VersionMetrics};
use crate::signature::Signature;
use crate::source::{self, Lookup, Source};

/// One loaded model version, ready to score.
#[derive(Debug)]
pub struct Version {
    /// The endpoint's name.
    pub model: String,
    /// Version label (the registry's number, else `1`, unless the configuration names one).
    pub version: String,
    /// The registry's version number it was loaded as (`1` for paths), whatever its label: what
    /// hot reload compares with the alias.
    pub source_version: String,
    /// What was loaded.
    pub resolved: String,
    /// The source it was loaded from.
    pub source: Source,
    /// Inputs and outputs.
    pub signature: Signature,
    /// Request decoding for its inputs.
    pub codec: Codec,
    /// Its queue and workers.
    pub batcher: Batcher,
    /// Saved metadata.
    pub metadata: Value,
    /// Seconds spent loading.
    pub load_seconds: f64,
    /// When it was loaded.
    pub loaded_at: SystemTime,
    /// Its metric handles.
    pub metrics: VersionMetrics,
    /// What the prediction log records of it (names, version, features).
    pub log: Arc<crate::predlog::VersionInfo>,
}

impl Version {
    /// Loads `source` and starts its batcher.
    pub fn load(
        model: &str,
        source: &Source,
        settings: &ModelSettings,
        metrics: &Metrics,
        lookup: &Lookup,
    ) -> Result<Version> {
        let loaded = source::load(source, lookup)?;
        let signature = Signature::of(loaded.predictor.as_ref());
        let codec = Codec::new(
            loaded.predictor.input_features(),
            signature.nullable(),
            settings.unseen_category,
        );
        let source_version = loaded.version.clone();
        let version = settings.version.clone().unwrap_or(loaded.version);
        let vm = metrics.version(model, &version, loaded.load_seconds);
        let log =
            crate::predlog::VersionInfo::new(model, &version, loaded.predictor.input_features());
        let batcher = Batcher::start(
            loaded.predictor,
            &settings.batching,
            vm.clone(),
            &format!("score-{model}"),
        )
        .map_err(|e| ServeError::Config(format!("starting the workers of {model}: {e}")))?;
        Ok(Version {
            model: model.to_string(),
            version,
            source_version,
            resolved: loaded.resolved,
            source: source.clone(),
            signature,
            codec,
            batcher,
            metadata: loaded.metadata,
            load_seconds: loaded.load_seconds,
            loaded_at: SystemTime::now(),
            metrics: vm,
            log,
        })
    }
}

/// Per-model settings (the config file's `[[model]]` entries, less name and source).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelSettings {
    /// Dynamic batching.
    pub batching: Batching,
    /// What to do with a category the model never saw.
    pub unseen_category: Unseen,
    /// The version label to show (default: the registry's version, else `1`).
    pub version: Option<String>,
}

/// How traffic is shared with a challenger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// `percent` of requests, spread evenly.
    Canary {
        /// Share of requests for the challenger, 0–100.
        percent: f64,
    },
    /// `percent` of request keys, always the same version for one key (the value of the
    /// `key` header, e.g. a user id).
    Sticky {
        /// Share of keys for the challenger, 0–100.
        percent: f64,
        /// The request header whose value is hashed (`X-Smelt-Key` by default).
        #[serde(default = "default_key_header")]
        header: String,
    },
    /// Every request is also scored by the challenger (its answer recorded, not returned).
    Shadow,
}

fn default_key_header() -> String {
    "x-smelt-key".into()
}

/// Which versions answer.
#[derive(Debug, Clone)]
pub struct Routing {
    /// The version that answers (the champion).
    pub primary: Arc<Version>,
    /// The version before it, kept loaded for rollback.
    pub previous: Option<Arc<Version>>,
    /// A challenger and how it shares traffic.
    pub challenger: Option<(Arc<Version>, Split)>,
}

/// The route a request takes.
#[derive(Debug)]
pub struct Route {
    /// The version that answers.
    pub answer: Arc<Version>,
    /// A version that scores the request in the shadow.
    pub shadow: Option<Arc<Version>>,
}

/// A served model name.
#[derive(Debug)]
pub struct Endpoint {
    /// The name in URLs.
    pub name: String,
    /// Its settings.
    pub settings: ModelSettings,
    routing: RwLock<Arc<Routing>>,
    counter: AtomicU64,
    next_label: AtomicU64,
}

impl Endpoint {
    /// An endpoint answering with `primary`.
    pub fn new(name: &str, settings: ModelSettings, primary: Version) -> Endpoint {
        Endpoint {
            name: name.to_string(),
            settings,
            routing: RwLock::new(Arc::new(Routing {
                primary: Arc::new(primary),
                previous: None,
                challenger: None,
            })),
            counter: AtomicU64::new(0),
            next_label: AtomicU64::new(2),
        }
    }

    /// A version label for a model loaded from a path (registry versions bring their own): `2`,
    /// `3`, … after the first, so every loaded version can be named in
    /// `/v2/models/{name}/versions/{v}`.
    pub fn next_label(&self) -> String {
        loop {
            let n = self.next_label.fetch_add(1, Ordering::Relaxed).to_string();
            if self.version(&n).is_none() {
                return n;
            }
        }
    }

    /// The routing now.
    pub fn routing(&self) -> Arc<Routing> {
        match self.routing.read() {
            Ok(r) => r.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn replace(
        &self,
        f: impl FnOnce(&Routing) -> std::result::Result<Routing, String>,
    ) -> std::result::Result<Arc<Routing>, String> {
        let mut guard = match self.routing.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        let next = Arc::new(f(&guard)?);
        *guard = next.clone();
        Ok(next)
    }

    /// The version for a request: `key` is the sticky-split header's value when present.
    pub fn route(&self, key: impl Fn(&str) -> Option<String>) -> Route {
        let r = self.routing();
        let Some((challenger, split)) = &r.challenger else {
            return Route {
                answer: r.primary.clone(),
                shadow: None,
            };
        };
        let to_challenger = match split {
            Split::Shadow => {
                return Route {
                    answer: r.primary.clone(),
                    shadow: Some(challenger.clone()),
                };
            }
            Split::Canary { percent } => {
                let n = self.counter.fetch_add(1, Ordering::Relaxed);
                // A low-discrepancy sequence: exactly `percent` of every 100 requests, spread out.
                let x = (n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 11) as f64 / (1u64 << 53) as f64;
                x * 100.0 < *percent
            }
            Split::Sticky { percent, header } => match key(header) {
                Some(k) => {
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    k.hash(&mut h);
                    (h.finish() % 10_000) as f64 / 100.0 < *percent
                }
                None => false,
            },
        };
        Route {
            answer: if to_challenger {
                challenger.clone()
            } else {
                r.primary.clone()
            },
            shadow: None,
        }
    }

    /// A loaded version by its label (primary, previous or challenger).
    pub fn version(&self, label: &str) -> Option<Arc<Version>> {
        let r = self.routing();
        [
            Some(&r.primary),
            r.previous.as_ref(),
            r.challenger.as_ref().map(|c| &c.0),
        ]
        .into_iter()
        .flatten()
        .find(|v| v.version == label)
        .cloned()
    }

    /// Replaces the primary (hot reload, deploy): the old one becomes `previous`.
    pub fn deploy(&self, v: Version) -> Arc<Routing> {
        let v = Arc::new(v);
        self.replace(|r| {
            Ok(Routing {
                primary: v,
                previous: Some(r.primary.clone()),
                challenger: r.challenger.clone(),
            })
        })
        .unwrap_or_else(|_| self.routing())
    }

    /// Sets a challenger with its split (replacing any other).
    pub fn challenge(&self, v: Version, split: Split) -> Arc<Routing> {
        let v = Arc::new(v);
        self.replace(|r| {
            Ok(Routing {
                primary: r.primary.clone(),
                previous: r.previous.clone(),
                challenger: Some((v, split)),
            })
        })
        .unwrap_or_else(|_| self.routing())
    }

    /// Changes the challenger's split.
    pub fn resplit(&self, split: Split) -> std::result::Result<Arc<Routing>, String> {
        self.replace(|r| match &r.challenger {
            Some((c, _)) => Ok(Routing {
                primary: r.primary.clone(),
                previous: r.previous.clone(),
                challenger: Some((c.clone(), split)),
            }),
            None => Err(format!("model \"{}\" has no challenger", self.name)),
        })
    }

    /// The challenger becomes the primary; the primary is kept as `previous`.
    pub fn promote(&self) -> std::result::Result<Arc<Routing>, String> {
        self.replace(|r| match &r.challenger {
            Some((c, _)) => Ok(Routing {
                primary: c.clone(),
                previous: Some(r.primary.clone()),
                challenger: None,
            }),
            None => Err(format!(
                "model \"{}\" has no challenger to promote; load one first",
                self.name
            )),
        })
    }

    /// Back to the previous version at once (it never left memory); the current one becomes
    /// `previous`, so a rollback can itself be undone. Drops any challenger.
    pub fn rollback(&self) -> std::result::Result<Arc<Routing>, String> {
        self.replace(|r| match &r.previous {
            Some(p) => Ok(Routing {
                primary: p.clone(),
                previous: Some(r.primary.clone()),
                challenger: None,
            }),
            None => Err(format!(
                "model \"{}\" has no previous version to roll back to",
                self.name
            )),
        })
    }

    /// Removes the challenger.
    pub fn end_challenge(&self) -> Arc<Routing> {
        self.replace(|r| {
            Ok(Routing {
                primary: r.primary.clone(),
                previous: r.previous.clone(),
                challenger: None,
            })
        })
        .unwrap_or_else(|_| self.routing())
    }
}

/// Every endpoint, by name (sorted, for listings).
#[derive(Debug, Default)]
pub struct Models {
    endpoints: RwLock<BTreeMap<String, Arc<Endpoint>>>,
    /// The endpoint `/invocations` scores (the first loaded unless configured).
    default: RwLock<Option<String>>,
}

impl Models {
    /// Adds an endpoint (the first becomes the default for `/invocations`).
    pub fn insert(&self, e: Endpoint) {
        let name = e.name.clone();
        if let Ok(mut d) = self.default.write()
            && d.is_none()
        {
            *d = Some(name.clone());
        }
        if let Ok(mut m) = self.endpoints.write() {
            m.insert(name, Arc::new(e));
        }
    }

    /// An endpoint by name.
    pub fn get(&self, name: &str) -> Option<Arc<Endpoint>> {
        self.endpoints.read().ok()?.get(name).cloned()
    }

    /// All endpoints.
    pub fn all(&self) -> Vec<Arc<Endpoint>> {
        self.endpoints
            .read()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Names of all endpoints.
    pub fn names(&self) -> Vec<String> {
        self.endpoints
            .read()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The endpoint `/invocations` scores.
    pub fn default_endpoint(&self) -> Option<Arc<Endpoint>> {
        let name = self.default.read().ok()?.clone()?;
        self.get(&name)
    }

    /// Makes `name` the default endpoint.
    pub fn set_default(&self, name: &str) {
        if let Ok(mut d) = self.default.write() {
            *d = Some(name.to_string());
        }
    }
}
