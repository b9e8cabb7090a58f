//! Drift settings and their TOML file: the dataset drift share, a method and threshold for all
//! columns, per column kind, and per column (Evidently's `method`/`num_method`/`cat_method`/
//! `per_column_method` and the matching thresholds; a column's own setting wins, then its
//! kind's, then the one for all columns, then Evidently's default choice and the method's
//! default threshold).
//!
//! ```toml
//! [drift]
//! share = 0.5                 # dataset drift when at least this share of columns drift
//! # method = "psi"            # every column (else the default choice per column)
//! # threshold = 0.2
//! missing_threshold = 0.05    # p-value of the missing-share Z-test
//! missing_min_change = 0.01   # and the least change of the missing share that counts
//! seed = 0                    # the TVD permutations' generator
//!
//! [drift.numerical]
//! method = "ks"
//!
//! [drift.categorical]
//! threshold = 0.2
//!
//! [drift.columns.age]
//! method = "psi"
//! threshold = 0.2
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use toml::Spanned;

use super::column::ColumnKind;
use super::method::{Method, unknown_method_message};
use crate::error::{MonitorError, Result};

/// A method and/or threshold for a set of columns.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The method (None: the default choice).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<Method>,
    /// The threshold (None: the method's default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

/// Drift settings (the `[drift]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftConfig {
    /// Dataset drift when the share of drifted columns is at least this; default 0.5
    /// (Evidently's `drift_share`), in `[0, 1]`.
    pub share: f64,
    /// For every column.
    pub all: Rule,
    /// For numerical columns.
    pub numerical: Rule,
    /// For categorical columns.
    pub categorical: Rule,
    /// Per column, by name.
    pub columns: BTreeMap<String, Rule>,
    /// The missing share has shifted when the two-proportion Z-test's p-value is below this;
    /// default 0.05, in `(0, 1]`.
    pub missing_threshold: f64,
    /// … and the missing share moved by at least this (absolute); default 0.01, in `[0, 1]`.
    pub missing_min_change: f64,
    /// Seed of the TVD permutations; default 0.
    pub seed: u64,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            share: 0.5,
            all: Rule::default(),
            numerical: Rule::default(),
            categorical: Rule::default(),
            columns: BTreeMap::new(),
            missing_threshold: 0.05,
            missing_min_change: 0.01,
            seed: 0,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    drift: Option<RawDrift>,
}

#[derive(Deserialize)]
struct RawDocument {
    drift: Option<RawDrift>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDrift {
    share: Option<Spanned<f64>>,
    method: Option<Spanned<String>>,
    threshold: Option<Spanned<f64>>,
    numerical: Option<RawRule>,
    categorical: Option<RawRule>,
    columns: Option<BTreeMap<String, RawRule>>,
    missing_threshold: Option<Spanned<f64>>,
    missing_min_change: Option<Spanned<f64>>,
    seed: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    method: Option<Spanned<String>>,
    threshold: Option<Spanned<f64>>,
}

impl DriftConfig {
    /// Reads a drift settings file (only a `[drift]` table).
    pub fn from_path(path: &Path) -> Result<DriftConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| MonitorError::Config {
            path: path.display().to_string(),
            message: format!("cannot read the file: {e}"),
        })?;
        DriftConfig::from_toml(&text, path)
    }

    /// Parses a drift settings file (only a `[drift]` table; `path` names it in errors).
    ///
    /// ```
    /// use std::path::Path;
    /// use smelt_monitor::drift::{DriftConfig, Method};
    ///
    /// let c = DriftConfig::from_toml(
    ///     "[drift]\nshare = 0.3\n[drift.columns.age]\nmethod = \"psi\"\nthreshold = 0.2\n",
    ///     Path::new("drift.toml"),
    /// ).unwrap();
    /// assert_eq!(c.share, 0.3);
    /// assert_eq!(c.columns["age"].method, Some(Method::Psi));
    ///
    /// let err = DriftConfig::from_toml("[drift.columns.age]\nmethod = \"psy\"\n", Path::new("drift.toml"))
    ///     .unwrap_err().to_string();
    /// assert!(err.starts_with("drift.toml: line 2, column 10: unknown drift method `psy`"), "{err}");
    /// assert!(err.contains("did you mean `psi`?"));
    /// ```
    pub fn from_toml(text: &str, path: &Path) -> Result<DriftConfig> {
        let raw: RawFile = toml::from_str(text).map_err(|e| toml_error(&e, text, path))?;
        DriftConfig::from_raw(raw.drift, text, path)
    }

    /// Parses the `[drift]` table of a larger settings file, ignoring its other tables.
    pub fn from_toml_section(text: &str, path: &Path) -> Result<DriftConfig> {
        let raw: RawDocument = toml::from_str(text).map_err(|e| toml_error(&e, text, path))?;
        DriftConfig::from_raw(raw.drift, text, path)
    }

    fn from_raw(raw: Option<RawDrift>, text: &str, path: &Path) -> Result<DriftConfig> {
        let mut c = DriftConfig::default();
        let Some(raw) = raw else {
            return Ok(c);
        };
        let at = |span: std::ops::Range<usize>, message: String| {
            let (line, col) = line_col(text, span.start);
            MonitorError::Config {
                path: path.display().to_string(),
                message: format!("line {line}, column {col}: {message}"),
            }
        };
        let fraction = |v: &Spanned<f64>, key: &str, lo_open: bool| -> Result<f64> {
            let x = *v.get_ref();
            let ok = if lo_open {
                x > 0.0 && x <= 1.0
            } else {
                (0.0..=1.0).contains(&x)
            };
            if ok {
                Ok(x)
            } else {
                let range = if lo_open { "(0, 1]" } else { "[0, 1]" };
                Err(at(v.span(), format!("`{key}` must be in {range}, got {x}")))
            }
        };
        let rule = |r: &RawRule| -> Result<Rule> {
            let method = match &r.method {
                Some(m) => Some(
                    m.get_ref()
                        .parse::<Method>()
                        .map_err(|_| at(m.span(), unknown_method_message(m.get_ref())))?,
                ),
                None => None,
            };
            let threshold = match &r.threshold {
                Some(t) => {
                    let x = *t.get_ref();
                    if !x.is_finite() || x < 0.0 {
                        return Err(at(
                            t.span(),
                            format!("`threshold` must be a number ≥ 0, got {x}"),
                        ));
                    }
                    if x > 1.0 && method.is_some_and(Method::has_p_value) {
                        return Err(at(
                            t.span(),
                            format!("`threshold` of a p-value must be in [0, 1], got {x}"),
                        ));
                    }
                    Some(x)
                }
                None => None,
            };
            Ok(Rule { method, threshold })
        };
        if let Some(s) = &raw.share {
            c.share = fraction(s, "share", false)?;
        }
        if let Some(s) = &raw.missing_threshold {
            c.missing_threshold = fraction(s, "missing_threshold", true)?;
        }
        if let Some(s) = &raw.missing_min_change {
            c.missing_min_change = fraction(s, "missing_min_change", false)?;
        }
        if let Some(s) = raw.seed {
            c.seed = s;
        }
        c.all = rule(&RawRule {
            method: raw.method.clone(),
            threshold: raw.threshold.clone(),
        })?;
        if let Some(r) = &raw.numerical {
            c.numerical = rule(r)?;
        }
        if let Some(r) = &raw.categorical {
            c.categorical = rule(r)?;
        }
        if let Some(cols) = &raw.columns {
            for (name, r) in cols {
                c.columns.insert(name.clone(), rule(r)?);
            }
        }
        Ok(c)
    }

    /// The method and threshold set for a column (None where the default applies).
    pub fn rule_for(&self, column: &str, kind: ColumnKind) -> Rule {
        let own = self.columns.get(column);
        let by_kind = match kind {
            ColumnKind::Numerical => &self.numerical,
            ColumnKind::Categorical => &self.categorical,
        };
        Rule {
            method: own
                .and_then(|r| r.method)
                .or(by_kind.method)
                .or(self.all.method),
            threshold: own
                .and_then(|r| r.threshold)
                .or(by_kind.threshold)
                .or(self.all.threshold),
        }
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML error located by line and column; an unknown key gets the closest known one.
fn toml_error(e: &toml::de::Error, text: &str, path: &Path) -> MonitorError {
    let location = match e.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("line {line}, column {col}: ")
        }
        None => String::new(),
    };
    let msg = e.message().trim();
    let message = match unknown_field(msg) {
        Some((key, expected)) => {
            let hint = match smelt_core::text::closest(&key, &expected) {
                Some(c) => format!("did you mean `{c}`?"),
                None => format!("known keys: {}", expected.join(", ")),
            };
            format!("unknown key `{key}`\n\nhint: {hint}")
        }
        None => msg.to_string(),
    };
    MonitorError::Config {
        path: path.display().to_string(),
        message: format!("{location}{message}"),
    }
}

/// The key and the expected keys of serde's "unknown field `x`, expected `a` or `b`" message.
fn unknown_field(msg: &str) -> Option<(String, Vec<String>)> {
    let rest = msg.strip_prefix("unknown field `")?;
    let (key, rest) = rest.split_once('`')?;
    let expected: Vec<String> = rest
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect();
    Some((key.to_string(), expected))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<DriftConfig> {
        DriftConfig::from_toml(text, Path::new("d.toml"))
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(parse("").expect("valid"), DriftConfig::default());
    }

    #[test]
    fn unknown_key_suggests() {
        let err = parse("[drift]\nshare = 0.5\n[drift.columns.age]\nmehtod = \"psi\"\n")
            .expect_err("typo")
            .to_string();
        assert!(
            err.starts_with("d.toml: line 4, column 1: unknown key `mehtod`"),
            "{err}"
        );
        assert!(err.contains("did you mean `method`?"), "{err}");
        let err = parse("[drfit]\nshare = 0.5\n")
            .expect_err("typo")
            .to_string();
        assert!(err.contains("did you mean `drift`?"), "{err}");
    }

    #[test]
    fn integers_are_numbers() {
        let c = parse("[drift]\nshare = 1\n[drift.numerical]\nthreshold = 0\n").expect("valid");
        assert_eq!((c.share, c.numerical.threshold), (1.0, Some(0.0)));
    }

    #[test]
    fn share_out_of_range() {
        let err = parse("[drift]\nshare = 1.5\n")
            .expect_err("range")
            .to_string();
        assert!(
            err.contains("line 2, column 9: `share` must be in [0, 1], got 1.5"),
            "{err}"
        );
    }

    #[test]
    fn p_value_threshold_above_one() {
        let err = parse("[drift.numerical]\nmethod = \"ks\"\nthreshold = 2\n")
            .expect_err("range")
            .to_string();
        assert!(err.contains("line 3"), "{err}");
    }

    #[test]
    fn precedence_column_then_kind_then_all() {
        let c = parse(
            "[drift]\nmethod = \"psi\"\nthreshold = 0.3\n[drift.categorical]\nmethod = \"TVD\"\n\
             [drift.columns.x]\nthreshold = 0.05\n",
        )
        .expect("valid");
        let r = c.rule_for("x", ColumnKind::Categorical);
        assert_eq!(r.method, Some(Method::Tvd));
        assert_eq!(r.threshold, Some(0.05));
        let r = c.rule_for("y", ColumnKind::Numerical);
        assert_eq!(r.method, Some(Method::Psi));
        assert_eq!(r.threshold, Some(0.3));
    }

    #[test]
    fn section_of_a_larger_file() {
        let c = DriftConfig::from_toml_section(
            "[quality]\nx = 1\n[drift]\nshare = 0.2\n",
            Path::new("m.toml"),
        )
        .expect("valid");
        assert_eq!(c.share, 0.2);
    }
}
