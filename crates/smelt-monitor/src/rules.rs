//! `smelt monitor test`: declared conditions on what a monitoring run measured, each passing or
//! failing, in Evidently's test-suite spirit.
//!
//! ```toml
//! [[test]]
//! metric = "drift_share"          # share of drifted feature columns
//! lt = 0.3
//!
//! [[test]]
//! metric = "missing_share"        # a column's share of missing values in the current data
//! column = "age"
//! lt = 0.05
//!
//! [[test]]
//! metric = "drift_score"          # a column's drift statistic or distance
//! column = "income"
//! lte = 0.1
//! ```
//!
//! Metrics: `drift_share`, `drifted_columns`, `dataset_drift` (0 or 1), `rows` (current rows),
//! `duplicate_share`, and per column (`column = …`): `drift_score`, `drift_p_value`, `drifted`
//! (0 or 1), `missing_share`, `out_of_range_share`, `new_category_share`; plus any number the
//! caller adds by name (`estimated_roc_auc`, `roc_auc`, … from performance estimation).
//! Conditions: `lt`, `lte`, `gt`, `gte`, `eq` (several in one test must all hold).

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::{MonitorError, Result};
use crate::report::Monitoring;

const METRICS: &[&str] = &[
    "drift_share",
    "drifted_columns",
    "dataset_drift",
    "rows",
    "duplicate_share",
    "drift_score",
    "drift_p_value",
    "drifted",
    "missing_share",
    "out_of_range_share",
    "new_category_share",
];

const COLUMN_METRICS: &[&str] = &[
    "drift_score",
    "drift_p_value",
    "drifted",
    "missing_share",
    "out_of_range_share",
    "new_category_share",
];

/// One declared condition.
#[derive(Clone, Debug, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// What is measured.
    pub metric: String,
    /// The column, for column metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Passes when the value is below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lt: Option<f64>,
    /// … at most.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lte: Option<f64>,
    /// … above.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gt: Option<f64>,
    /// … at least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gte: Option<f64>,
    /// … equal (to 1e-9).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eq: Option<f64>,
}

#[derive(serde::Deserialize)]
struct RulesFile {
    #[serde(default)]
    test: Vec<Rule>,
}

/// A rule's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Outcome {
    /// The rule.
    pub rule: Rule,
    /// What was measured (`None`: the metric has no value here, which fails).
    pub value: Option<f64>,
    /// Whether every condition held.
    pub passed: bool,
    /// One line: `drift_share 0.214 < 0.3: passed`.
    pub message: String,
}

impl Rule {
    /// Its name in messages: `missing_share(age) < 0.05`.
    pub fn describe(&self) -> String {
        let name = match &self.column {
            Some(c) => format!("{}({c})", self.metric),
            None => self.metric.clone(),
        };
        let conds: Vec<String> = self
            .conditions()
            .iter()
            .map(|(op, v)| format!("{op} {v}"))
            .collect();
        format!("{name} {}", conds.join(" and "))
    }

    fn conditions(&self) -> Vec<(&'static str, f64)> {
        [
            ("<", self.lt),
            ("<=", self.lte),
            (">", self.gt),
            (">=", self.gte),
            ("==", self.eq),
        ]
        .into_iter()
        .filter_map(|(op, v)| v.map(|v| (op, v)))
        .collect()
    }

    fn holds(&self, x: f64) -> bool {
        self.conditions().iter().all(|&(op, v)| match op {
            "<" => x < v,
            "<=" => x <= v,
            ">" => x > v,
            ">=" => x >= v,
            _ => (x - v).abs() <= 1e-9,
        })
    }
}

/// Reads the `[[test]]` rules of a TOML file, checking metric names (with a did-you-mean), that
/// column metrics name a column, and that each rule has a condition. `extra` names the metrics
/// the caller can measure besides the built-in ones.
pub fn load(path: &Path, extra: &[&str]) -> Result<Vec<Rule>> {
    let bad = |message: String| MonitorError::Config {
        path: path.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    parse(&text, extra).map_err(bad)
}

/// [`load`] on the file's text; the error is the message.
pub fn parse(text: &str, extra: &[&str]) -> std::result::Result<Vec<Rule>, String> {
    let file: RulesFile = toml::from_str(text).map_err(|e| e.to_string())?;
    let known: Vec<String> = METRICS.iter().chain(extra).map(|s| s.to_string()).collect();
    for (i, r) in file.test.iter().enumerate() {
        let at = format!("test {} ({})", i + 1, r.describe());
        if !known.contains(&r.metric) {
            let hint = smelt_data::closest(&r.metric, &known)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            return Err(format!(
                "{at}: unknown metric `{}`{hint} (known: {})",
                r.metric,
                known.join(", ")
            ));
        }
        if COLUMN_METRICS.contains(&r.metric.as_str()) && r.column.is_none() {
            return Err(format!("{at}: `{}` needs `column = \"…\"`", r.metric));
        }
        if r.conditions().is_empty() {
            return Err(format!(
                "{at}: no condition; add one of lt, lte, gt, gte, eq"
            ));
        }
    }
    Ok(file.test)
}

/// A metric's value in `m` (and `extra`: numbers measured elsewhere, by name).
pub fn measure(
    m: &Monitoring,
    extra: &BTreeMap<String, f64>,
    metric: &str,
    column: Option<&str>,
) -> Option<f64> {
    let drift = || column.and_then(|c| m.drift.iter().find(|d| d.column == c));
    let check = |name: &str| {
        m.quality
            .iter()
            .find(|q| q.check == name && q.column.as_deref() == column)
            .and_then(|q| q.current)
    };
    match metric {
        "drift_share" => Some(m.share()),
        "drifted_columns" => Some(m.n_drifted() as f64),
        "dataset_drift" => Some(f64::from(u8::from(m.dataset_drifted()))),
        "rows" => Some(m.current.1 as f64),
        "duplicate_share" => m
            .quality
            .iter()
            .find(|q| q.check == "duplicated_rows")
            .and_then(|q| q.current),
        "drift_score" => drift().filter(|d| d.skipped.is_none()).map(|d| d.score),
        "drift_p_value" => drift().and_then(|d| d.p_value),
        "drifted" => drift().map(|d| f64::from(u8::from(d.drifted))),
        "missing_share" => check("missing_values"),
        "out_of_range_share" => check("out_of_range"),
        "new_category_share" => check("new_categories"),
        other => extra.get(other).copied(),
    }
}

/// Every rule's outcome.
pub fn evaluate(rules: &[Rule], m: &Monitoring, extra: &BTreeMap<String, f64>) -> Vec<Outcome> {
    rules
        .iter()
        .map(|r| {
            let value = measure(m, extra, &r.metric, r.column.as_deref());
            let passed = value.is_some_and(|v| r.holds(v));
            let message = match value {
                Some(v) => format!(
                    "{} (measured {}): {}",
                    r.describe(),
                    smelt_eval::report::fmt_number(v),
                    if passed { "passed" } else { "failed" }
                ),
                None => format!(
                    "{}: no value (the column is not monitored, or the metric was not computed): failed",
                    r.describe()
                ),
            };
            Outcome {
                rule: r.clone(),
                value,
                passed,
                message,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_are_checked_when_read() {
        let ok = parse(
            "[[test]]\nmetric = \"drift_share\"\nlt = 0.3\n[[test]]\nmetric = \"missing_share\"\ncolumn = \"age\"\nlte = 0.05\n",
            &[],
        )
        .expect("valid");
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[1].describe(), "missing_share(age) <= 0.05");
        let e = parse("[[test]]\nmetric = \"drift_shares\"\nlt = 0.3\n", &[]).unwrap_err();
        assert!(e.contains("did you mean `drift_share`"), "{e}");
        let e = parse("[[test]]\nmetric = \"missing_share\"\nlt = 0.3\n", &[]).unwrap_err();
        assert!(e.contains("needs `column"), "{e}");
        let e = parse("[[test]]\nmetric = \"rows\"\n", &[]).unwrap_err();
        assert!(e.contains("no condition"), "{e}");
        let e = parse("[[test]]\nmetric = \"rows\"\nlt = 1\nbogus = 2\n", &[]).unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        assert!(
            parse(
                "[[test]]\nmetric = \"estimated_roc_auc\"\ngt = 0.8\n",
                &["estimated_roc_auc"]
            )
            .is_ok()
        );
    }

    #[test]
    fn conditions_all_hold() {
        let r = Rule {
            metric: "rows".into(),
            column: None,
            lt: None,
            lte: None,
            gt: Some(10.0),
            gte: None,
            eq: None,
        };
        assert!(r.holds(11.0) && !r.holds(10.0));
        let both = Rule {
            lt: Some(20.0),
            ..r
        };
        assert!(both.holds(15.0) && !both.holds(25.0));
        assert_eq!(both.describe(), "rows < 20 and > 10");
    }
}
