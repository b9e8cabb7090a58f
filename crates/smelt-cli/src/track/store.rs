//! Opening the tracking store for `smelt runs` and `smelt models`, finding runs by id, prefix or
//! name, and formatting times.

use anyhow::{Context, Result, bail};
use clap::Args;
use smelt_track::entities::{Experiment, Run};
use smelt_track::store::{SearchQuery, ViewType};
use smelt_track::tracker::{LOCAL_STORE_DIR, Tracker};
use smelt_track::{ArtifactPath, ArtifactStore, Backend, Store, TrackError};

/// The project's local store, as `smelt train` and `smelt server` use it.
pub const DEFAULT_TRACKING_URI: &str = "sqlite:///smelt-runs/tracking.db";

/// Shortest run id prefix accepted.
pub const MIN_PREFIX: usize = 4;

/// Which tracking store to read.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Store")]
pub struct StoreArgs {
    /// The tracking store: sqlite:///PATH (relative), sqlite:////ABS/PATH or
    /// postgresql://USER@HOST:PORT/DB
    #[arg(
        long,
        global = true,
        env = "SMELT_TRACKING_URI",
        default_value = DEFAULT_TRACKING_URI,
        value_name = "URI"
    )]
    pub tracking_uri: String,

    /// Where `mlflow-artifacts:` run artifacts live: a folder, file:///ABS/PATH or s3://BUCKET/PREFIX
    /// [default: smelt-runs/artifacts]
    #[arg(
        long,
        global = true,
        env = "SMELT_ARTIFACTS_DESTINATION",
        value_name = "URI"
    )]
    pub artifacts_destination: Option<String>,
}

/// An open store and the artifact destination behind `mlflow-artifacts:` URIs.
pub struct Tracking {
    tracker: Tracker,
    store: Store,
}

impl Tracking {
    /// Opens an existing store; a missing SQLite file is an error, never a new empty store.
    pub fn open(args: &StoreArgs) -> Result<Self> {
        let (backend, url) = smelt_track::store::parse_store_uri(&args.tracking_uri)
            .with_context(|| format!("--tracking-uri {}", args.tracking_uri))?;
        if backend == Backend::Sqlite {
            let path = url
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or_default();
            if !std::path::Path::new(path).is_file() {
                bail!(
                    "no tracking store at {path}\n\nhint: train with `smelt train DATA --target COLUMN --model MODEL` \
                     (it records every run), start `smelt server`, or pass --tracking-uri"
                );
            }
        }
        let artifacts = match &args.artifacts_destination {
            Some(a) if !a.is_empty() => a.clone(),
            _ => format!("{LOCAL_STORE_DIR}/artifacts"),
        };
        let tracker = Tracker::open(&args.tracking_uri, &artifacts)
            .with_context(|| format!("opening the tracking store {}", args.tracking_uri))?;
        let store = tracker.store()?.clone();
        Ok(Self { tracker, store })
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Runs a store future to completion.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.tracker.block_on(f)
    }

    /// The artifact store and base path behind a run's artifact URI.
    pub fn artifacts(&self, uri: &str) -> smelt_track::Result<(ArtifactStore, ArtifactPath)> {
        self.tracker.resolve_artifacts(uri)
    }

    /// Every experiment in the given lifecycle stages.
    pub fn experiments(&self, view: ViewType) -> Result<Vec<Experiment>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let q = SearchQuery {
                view_type: view,
                page_token: token,
                ..Default::default()
            };
            let page = self
                .block_on(self.store().search_experiments(&q))
                .context("listing experiments")?;
            out.extend(page.items);
            match page.next_page_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// An experiment by id or name.
    pub fn experiment(&self, key: &str) -> Result<Experiment> {
        let by_id = if !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) {
            match self.block_on(self.store().get_experiment(key)) {
                Ok(e) => Some(e),
                Err(TrackError::NotFound(_)) => None,
                Err(e) => return Err(e).context(format!("experiment `{key}`")),
            }
        } else {
            None
        };
        if let Some(e) = by_id {
            return Ok(e);
        }
        match self.block_on(self.store().get_experiment_by_name(key)) {
            Ok(e) => Ok(e),
            Err(TrackError::NotFound(_)) => {
                let mut names: Vec<String> = self
                    .experiments(ViewType::ActiveOnly)?
                    .into_iter()
                    .map(|e| e.name)
                    .collect();
                names.sort();
                bail!(
                    "no experiment named or numbered \"{key}\"\n\nhint: the experiments are: {}",
                    names.join(", ")
                )
            }
            Err(e) => Err(e).context(format!("experiment `{key}`")),
        }
    }

    /// Finds one run by full id, unique id prefix (at least [`MIN_PREFIX`] hex digits) or exact
    /// name, deleted runs included.
    pub fn resolve_run(&self, key: &str) -> Result<Run> {
        let key = key.trim();
        let is_hex = !key.is_empty() && key.bytes().all(|b| b.is_ascii_hexdigit());
        if is_hex && key.len() == 32 {
            return match self.block_on(self.store().get_run(&key.to_ascii_lowercase())) {
                Ok(r) => Ok(r),
                Err(TrackError::NotFound(_)) => bail!(not_found(key)),
                Err(e) => Err(e).context(format!("reading run {key}")),
            };
        }
        let mut found = Vec::new();
        if is_hex && key.len() >= MIN_PREFIX {
            let filter = format!("attributes.run_id LIKE '{}%'", key.to_ascii_lowercase());
            found = self.search_all(&filter)?;
        }
        if found.is_empty()
            && let Some(quoted) = quote(key)
        {
            found = self.search_all(&format!("attributes.run_name = {quoted}"))?;
        }
        match found.len() {
            0 if is_hex && key.len() < MIN_PREFIX => bail!(
                "run id prefix \"{key}\" is too short: give at least {MIN_PREFIX} characters\n\nhint: list runs with `smelt runs list`"
            ),
            0 => bail!(not_found(key)),
            1 => Ok(found.remove(0)),
            n => {
                let list: Vec<String> = found
                    .iter()
                    .take(5)
                    .map(|r| format!("{} ({})", r.info.run_id, r.info.run_name))
                    .collect();
                bail!(
                    "\"{key}\" matches {n} runs: {}{}\n\nhint: give more characters of the run id",
                    list.join(", "),
                    if n > 5 { ", ..." } else { "" }
                )
            }
        }
    }

    /// Runs of all experiments matching a filter, deleted ones included (at most 100).
    fn search_all(&self, filter: &str) -> Result<Vec<Run>> {
        let ids: Vec<String> = self
            .experiments(ViewType::All)?
            .into_iter()
            .map(|e| e.experiment_id)
            .collect();
        let q = SearchQuery {
            filter: filter.to_string(),
            view_type: ViewType::All,
            max_results: Some(100),
            ..Default::default()
        };
        let page = self
            .block_on(self.store().search_runs(&ids, &q))
            .context("searching runs")?;
        Ok(page.items)
    }
}

fn not_found(key: &str) -> String {
    format!(
        "no run with id, id prefix or name \"{key}\"\n\nhint: list runs with `smelt runs list --all`"
    )
}

/// A filter string literal, or `None` when the text holds both quote characters.
fn quote(s: &str) -> Option<String> {
    if !s.contains('\'') {
        Some(format!("'{s}'"))
    } else if !s.contains('"') {
        Some(format!("\"{s}\""))
    } else {
        None
    }
}

/// The first 8 characters of a run id.
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// Milliseconds since the epoch as local time, `2026-01-02 14:03`.
pub fn local_time(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M").to_string()
        }
        chrono::LocalResult::None => ms.to_string(),
    }
}

/// Milliseconds since the epoch as local time with seconds and the offset.
pub fn local_time_full(ms: i64) -> String {
    use chrono::TimeZone;
    match chrono::Local.timestamp_millis_opt(ms) {
        chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => {
            t.format("%Y-%m-%d %H:%M:%S %:z").to_string()
        }
        chrono::LocalResult::None => ms.to_string(),
    }
}

/// A span of milliseconds: `850ms`, `4.2s`, `3m 05s`, `2h 10m`, `3d 4h`.
pub fn duration(ms: i64) -> String {
    if ms < 0 {
        return "-".into();
    }
    let s = ms / 1000;
    match s {
        _ if ms < 1000 => format!("{ms}ms"),
        0..60 => format!("{:.1}s", ms as f64 / 1000.0),
        60..3600 => format!("{}m {:02}s", s / 60, s % 60),
        3600..86400 => format!("{}h {:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d {}h", s / 86400, (s % 86400) / 3600),
    }
}

/// A run's duration, `running` while it has no end time.
pub fn run_duration(run: &Run) -> String {
    match run.info.end_time {
        Some(end) => duration(end - run.info.start_time),
        None => "-".into(),
    }
}

/// Parses `30d`, `12h`, `90m`, `45s`, `2w` into milliseconds.
pub fn parse_age(s: &str) -> Result<i64> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: i64 = num
        .parse()
        .ok()
        .filter(|_| !num.is_empty())
        .with_context(|| {
            format!("--older-than: cannot read \"{s}\" as an age\n\nhint: use a number and a unit: 30d, 12h, 2w")
        })?;
    let unit_ms: i64 = match unit {
        "s" => 1_000,
        "m" | "min" => 60_000,
        "h" => 3_600_000,
        "d" | "" => 86_400_000,
        "w" => 7 * 86_400_000,
        _ => bail!(
            "--older-than: unknown unit \"{unit}\" in \"{s}\"\n\nhint: use s, m, h, d or w: 30d, 12h, 2w"
        ),
    };
    n.checked_mul(unit_ms)
        .with_context(|| format!("--older-than: \"{s}\" is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration(850), "850ms");
        assert_eq!(duration(4_200), "4.2s");
        assert_eq!(duration(185_000), "3m 05s");
        assert_eq!(duration(7_800_000), "2h 10m");
        assert_eq!(duration(3 * 86_400_000 + 4 * 3_600_000), "3d 4h");
    }

    #[test]
    fn ages_parse_with_units() {
        assert_eq!(parse_age("30d").ok(), Some(30 * 86_400_000));
        assert_eq!(parse_age("12h").ok(), Some(12 * 3_600_000));
        assert_eq!(parse_age("2w").ok(), Some(14 * 86_400_000));
        assert_eq!(parse_age("7").ok(), Some(7 * 86_400_000));
        assert!(parse_age("d").is_err());
        assert!(parse_age("3y").is_err());
    }

    #[test]
    fn filter_literals_pick_a_free_quote() {
        assert_eq!(quote("a").as_deref(), Some("'a'"));
        assert_eq!(quote("it's").as_deref(), Some("\"it's\""));
        assert_eq!(quote("'\""), None);
    }
}
