//! Input checks with MLflow's limits and wording (`mlflow/utils/validation.py`).

use crate::error::{Result, TrackError};

/// Longest metric, param or tag key.
pub const MAX_KEY_LENGTH: usize = 250;
/// Longest param value.
pub const MAX_PARAM_VALUE_LENGTH: usize = 6000;
/// Longest run tag value.
pub const MAX_TAG_VALUE_LENGTH: usize = 8000;
/// Longest experiment or registry tag value.
pub const MAX_ENTITY_TAG_VALUE_LENGTH: usize = 5000;
/// Longest experiment name.
pub const MAX_EXPERIMENT_NAME_LENGTH: usize = 500;
/// Most metrics in one log-batch request.
pub const MAX_BATCH_METRICS: usize = 1000;
/// Most params plus tags in one log-batch request.
pub const MAX_BATCH_PARAMS_TAGS: usize = 100;
/// Most entities of all kinds in one log-batch request.
pub const MAX_BATCH_TOTAL: usize = 1000;

/// What a key names, for messages.
#[derive(Clone, Copy, Debug)]
pub enum KeyKind {
    /// A metric name.
    Metric,
    /// A param name.
    Param,
    /// A tag name.
    Tag,
}

impl KeyKind {
    fn noun(self) -> &'static str {
        match self {
            Self::Metric => "metric",
            Self::Param => "param",
            Self::Tag => "tag",
        }
    }
}

/// Checks a metric, param or tag key: 1–250 characters from alphanumerics, `_ - . : /` and
/// space, and not path-like (`..`, a leading `/`, `a//b`).
pub fn key(kind: KeyKind, key: &str) -> Result<()> {
    let noun = kind.noun();
    if key.is_empty() {
        return Err(TrackError::invalid(format!(
            "{noun} name must not be empty"
        )));
    }
    if key.chars().count() > MAX_KEY_LENGTH {
        return Err(TrackError::invalid(format!(
            "{noun} name '{}…' exceeds the maximum length of {MAX_KEY_LENGTH} characters",
            key.chars().take(40).collect::<String>()
        )));
    }
    if !key
        .chars()
        .all(|c| c.is_alphanumeric() || "_-. :/".contains(c))
    {
        return Err(TrackError::invalid(format!(
            "Invalid {noun} name: '{key}'. Names may only contain alphanumerics, underscores (_), dashes (-), \
             periods (.), spaces ( ), colon(:) and slashes (/)."
        )));
    }
    if is_path_like(key) {
        return Err(TrackError::invalid(format!(
            "Invalid {noun} name: '{key}'. Names cannot resolve to a different path (no '..', leading '/', \
             '//' or '.' segments)."
        )));
    }
    Ok(())
}

/// MLflow's `path_not_unique`: the name differs from its normalised POSIX path, or is `.`,
/// or starts with `..` or `/`.
fn is_path_like(name: &str) -> bool {
    if name.starts_with('/') || name.starts_with("..") || name == "." {
        return true;
    }
    let trimmed = name.strip_suffix('/').unwrap_or(name);
    trimmed
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || trimmed != name
}

/// Checks a value's length against a limit.
pub fn value(kind: &str, key: &str, value: &str, max: usize) -> Result<()> {
    let n = value.chars().count();
    if n > max {
        return Err(TrackError::invalid(format!(
            "{kind} '{key}' had length {n}, which exceeded length limit of {max}"
        )));
    }
    Ok(())
}

/// Checks an experiment name.
pub fn experiment_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(TrackError::invalid(
            "Invalid experiment name: '' (it must not be empty)",
        ));
    }
    if name.chars().count() > MAX_EXPERIMENT_NAME_LENGTH {
        return Err(TrackError::invalid(format!(
            "experiment name exceeds the maximum length of {MAX_EXPERIMENT_NAME_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Checks a run id: 1–256 characters of `[a-zA-Z0-9_-]` (MLflow's `_RUN_ID_REGEX`).
pub fn run_id(id: &str) -> Result<()> {
    if id.is_empty()
        || id.len() > 256
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(TrackError::invalid(format!("Invalid run ID: '{id}'")));
    }
    Ok(())
}

/// Parses an experiment id (a non-negative decimal integer).
pub fn experiment_id(id: &str) -> Result<i64> {
    id.trim()
        .parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .ok_or_else(|| TrackError::invalid(format!("Invalid experiment ID: '{id}'")))
}

/// Checks a registered model name: non-empty, no `/`-path tricks, at most 256 characters.
pub fn model_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(TrackError::invalid(
            "Registered model name cannot be empty.",
        ));
    }
    if name.chars().count() > 256 {
        return Err(TrackError::invalid(
            "Registered model name exceeds 256 characters.",
        ));
    }
    if name.contains('/') || name.contains('\0') || name == "." || name == ".." {
        return Err(TrackError::invalid(format!(
            "Invalid model name: '{name}'. Names cannot contain '/' or be '.' or '..'."
        )));
    }
    Ok(())
}

/// Checks an alias name: `[A-Za-z0-9_-]`, 1–255 characters, not `latest` and not `v<digits>`
/// (those would shadow `models:/name/latest` and `models:/name/v3`).
pub fn alias(alias: &str) -> Result<()> {
    let bad = alias.is_empty()
        || alias.len() > 255
        || !alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if bad {
        return Err(TrackError::invalid(format!(
            "Invalid alias name: '{alias}'. Aliases may only contain alphanumerics, underscores and dashes."
        )));
    }
    let lower = alias.to_ascii_lowercase();
    if lower == "latest"
        || (lower.len() > 1
            && lower.starts_with('v')
            && lower[1..].bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(TrackError::invalid(format!(
            "Invalid alias name: '{alias}'. Aliases cannot be 'latest' or of the form 'v<number>'."
        )));
    }
    Ok(())
}

/// Parses a model version number.
pub fn version(v: &str) -> Result<i64> {
    let n = v.trim().parse::<i64>().map_err(|_| {
        // MLflow's words (`utils/validation.py` `not_integer_value`).
        TrackError::invalid(format!(
            "Parameter 'version' must be an integer, got '{v}'."
        ))
    })?;
    if n < 1 {
        return Err(TrackError::invalid(format!(
            "Model version must be an integer ≥ 1, got '{v}'"
        )));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_mlflow_rules() {
        for ok in ["loss", "val/loss", "a b", "f1:macro", "x-y_z.w", "épsilon"] {
            assert!(key(KeyKind::Metric, ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "a*b", "../x", "/abs", "a//b", ".", "a/./b", "a/../b", "tab\tkey", "a/",
        ] {
            assert!(key(KeyKind::Param, bad).is_err(), "{bad}");
        }
        assert!(key(KeyKind::Tag, &"k".repeat(250)).is_ok());
        assert!(key(KeyKind::Tag, &"k".repeat(251)).is_err());
    }

    #[test]
    fn value_limits() {
        assert!(value("Param", "p", &"x".repeat(6000), MAX_PARAM_VALUE_LENGTH).is_ok());
        let err =
            value("Param", "p", &"x".repeat(6001), MAX_PARAM_VALUE_LENGTH).expect_err("too long");
        assert!(err.to_string().contains("6001"), "{err}");
    }

    #[test]
    fn ids_and_names() {
        assert_eq!(experiment_id("12").ok(), Some(12));
        assert!(experiment_id("-1").is_err() && experiment_id("x").is_err());
        assert!(run_id("0123abcdef").is_ok() && run_id("a/b").is_err() && run_id("").is_err());
        assert!(
            model_name("iris").is_ok() && model_name("a/b").is_err() && model_name(" ").is_err()
        );
        assert!(alias("champion").is_ok() && alias("latest").is_err() && alias("v3").is_err());
        assert!(alias("version").is_ok() && alias("a b").is_err());
        assert_eq!(version("3").ok(), Some(3));
        assert!(version("0").is_err() && version("x").is_err());
    }
}
