//! Data-quality checks on the current data against the reference: schema changes, missing-rate
//! jumps, values outside the reference's range, categories the reference never had, columns
//! that became constant, duplicated rows.
//!
//! Default conditions (each a field of [`QualityOptions`]):
//!
//! | check | fails when |
//! |---|---|
//! | missing or retyped column | always |
//! | missing values | the current share exceeds the reference's by more than 1 point and 10 % |
//! | out of range (numbers) | more than 1 % of current values lie outside the reference's min–max |
//! | new categories | more than 1 % of current values are categories the reference lacks |
//! | constant column | the current data holds one value where the reference held several |
//! | duplicated rows | the current share exceeds the reference's by more than 1 point |
//!
//! Evidently's column tests use similar conditions relative to the reference (its
//! `TestShareOfMissingValues` allows the reference share + 10 %); Smelt adds the absolute slack
//! so that a column with 0.1 % missing values does not fail at 0.12 %.

use std::collections::HashSet;

use crate::table::{Column, MISSING, SchemaIssue, Table, Values};

/// Thresholds of the checks.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QualityOptions {
    /// Missing values: allowed rise of the share, in points (0.01 = 1 point)…
    pub missing_points: f64,
    /// …and relative to the reference share (0.1 = 10 %); both must be exceeded.
    pub missing_relative: f64,
    /// Largest share of numbers outside the reference's range.
    pub out_of_range_share: f64,
    /// Largest share of categories the reference lacks.
    pub new_category_share: f64,
    /// Allowed rise of the share of duplicated rows, in points.
    pub duplicate_points: f64,
    /// Time windows whose row count is off the median window's by more than this factor
    /// (fewer than median / factor, or more than median × factor) are volume anomalies; an
    /// empty window always is.
    pub volume_factor: f64,
}

impl Default for QualityOptions {
    fn default() -> Self {
        QualityOptions {
            missing_points: 0.01,
            missing_relative: 0.1,
            out_of_range_share: 0.01,
            new_category_share: 0.01,
            duplicate_points: 0.01,
            volume_factor: 2.0,
        }
    }
}

/// One check's outcome.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct QualityCheck {
    /// The check (`missing_values`, `out_of_range`, `new_categories`, `constant_column`,
    /// `duplicated_rows`, `schema`, `window_volume`).
    pub check: &'static str,
    /// The column, for column checks.
    pub column: Option<String>,
    /// The measured value on the reference (a share), where there is one.
    pub reference: Option<f64>,
    /// The measured value on the current data.
    pub current: Option<f64>,
    /// Whether the condition failed.
    pub failed: bool,
    /// One plain sentence.
    pub message: String,
}

/// `part / whole`, 0 when `whole` is 0.
pub(crate) fn share(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

fn pct(x: f64) -> String {
    smelt_eval::report::fmt_percent(x)
}

/// Every check on `current` against `reference`, schema issues first.
pub fn check(
    reference: &Table,
    current: &Table,
    issues: &[SchemaIssue],
    opts: &QualityOptions,
) -> Vec<QualityCheck> {
    let mut out = schema_checks(issues);
    for cur in &current.columns {
        let Some(refc) = reference.column(&cur.name) else {
            continue;
        };
        out.extend(column_checks(refc, cur, opts));
    }
    let (mut rh, mut ch) = (
        RowHashes::new(reference.n_rows),
        RowHashes::new(current.n_rows),
    );
    rh.add(&reference.columns);
    ch.add(&current.columns);
    out.push(duplicates_check(&rh, &ch, opts));
    out
}

/// The `schema` checks: one per missing, extra or retyped column (extra columns pass).
pub fn schema_checks(issues: &[SchemaIssue]) -> Vec<QualityCheck> {
    issues
        .iter()
        .map(|i| {
            let column = match i {
                SchemaIssue::Missing { column }
                | SchemaIssue::Extra { column }
                | SchemaIssue::Retyped { column, .. } => column.clone(),
            };
            QualityCheck {
                check: "schema",
                column: Some(column),
                reference: None,
                current: None,
                failed: !matches!(i, SchemaIssue::Extra { .. }),
                message: i.to_string(),
            }
        })
        .collect()
}

/// The `duplicated_rows` check from both tables' row hashes.
pub fn duplicates_check(
    reference: &RowHashes,
    current: &RowHashes,
    opts: &QualityOptions,
) -> QualityCheck {
    let (rd, cd) = (reference.duplicate_share(), current.duplicate_share());
    QualityCheck {
        check: "duplicated_rows",
        column: None,
        reference: Some(rd),
        current: Some(cd),
        failed: cd - rd > opts.duplicate_points,
        message: format!(
            "{} of current rows repeat an earlier row (reference {})",
            pct(cd),
            pct(rd)
        ),
    }
}

/// A 64-bit hash per row, built column by column (so a table read a few columns at a time is
/// hashed as a whole): two rows with equal monitored values get equal hashes; two different
/// rows collide with probability ~n²/2⁶⁴.
#[derive(Clone, Debug)]
pub struct RowHashes(Vec<u64>);

impl RowHashes {
    /// `rows` rows, no column yet.
    pub fn new(rows: usize) -> RowHashes {
        RowHashes(vec![0x9E37_79B9_7F4A_7C15; rows])
    }

    /// Mixes these columns' values in (each as long as the table).
    pub fn add(&mut self, columns: &[Column]) {
        let mix = |h: &mut u64, v: u64| {
            let mut x = (*h ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 31;
            *h = x.wrapping_mul(0x94D0_49BB_1331_11EB) ^ (x >> 29);
        };
        for c in columns {
            match &c.values {
                Values::Numeric(v) => {
                    for (h, x) in self.0.iter_mut().zip(v) {
                        mix(h, x.to_bits());
                    }
                }
                Values::Categorical { codes, .. } => {
                    for (h, &x) in self.0.iter_mut().zip(codes) {
                        mix(h, u64::from(x) | (1 << 40));
                    }
                }
            }
        }
    }

    /// Share of rows equal to an earlier row.
    pub fn duplicate_share(&self) -> f64 {
        let mut sorted = self.0.clone();
        sorted.sort_unstable();
        let dup = sorted.windows(2).filter(|w| w[0] == w[1]).count();
        share(dup, sorted.len())
    }
}

/// The missing-value, range or new-category, and constant-column checks of one column.
pub fn column_checks(refc: &Column, cur: &Column, opts: &QualityOptions) -> Vec<QualityCheck> {
    let mut out = Vec::new();
    let name = Some(cur.name.clone());
    let (rm, cm) = (
        share(refc.values.missing(), refc.values.len()),
        share(cur.values.missing(), cur.values.len()),
    );
    out.push(QualityCheck {
        check: "missing_values",
        column: name.clone(),
        reference: Some(rm),
        current: Some(cm),
        failed: cm - rm > opts.missing_points && cm > rm * (1.0 + opts.missing_relative),
        message: format!("{} missing (reference {})", pct(cm), pct(rm)),
    });
    match (&refc.values, &cur.values) {
        (Values::Numeric(r), Values::Numeric(c)) => {
            // Comparisons with NaN are false: missing values take no part, without a branch.
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for &x in r {
                lo = if x < lo { x } else { lo };
                hi = if x > hi { x } else { hi };
            }
            let (mut present, mut outside) = (0usize, 0usize);
            for &x in c {
                present += usize::from(!x.is_nan());
                outside += usize::from(x < lo || x > hi);
            }
            if lo <= hi {
                let s = share(outside, present);
                out.push(QualityCheck {
                    check: "out_of_range",
                    column: name.clone(),
                    reference: None,
                    current: Some(s),
                    failed: s > opts.out_of_range_share,
                    message: format!(
                        "{} of values outside the reference's range [{}, {}]",
                        pct(s),
                        smelt_eval::report::fmt_number(lo),
                        smelt_eval::report::fmt_number(hi)
                    ),
                });
            }
        }
        (Values::Categorical { codes: rc, labels }, Values::Categorical { codes: cc, .. }) => {
            let known: HashSet<u32> = rc.iter().copied().filter(|&c| c != MISSING).collect();
            let present = cc.iter().filter(|&&c| c != MISSING).count();
            let mut new_labels: Vec<&str> = Vec::new();
            let mut new = 0;
            for &c in cc.iter().filter(|&&c| c != MISSING) {
                if !known.contains(&c) {
                    new += 1;
                    let l = labels.get(c as usize).map_or("?", String::as_str);
                    if new_labels.len() < 5 && !new_labels.contains(&l) {
                        new_labels.push(l);
                    }
                }
            }
            let s = share(new, present);
            out.push(QualityCheck {
                check: "new_categories",
                column: name.clone(),
                reference: None,
                current: Some(s),
                failed: s > opts.new_category_share,
                message: if new == 0 {
                    "no category the reference lacks".into()
                } else {
                    format!(
                        "{} of values are categories the reference lacks ({})",
                        pct(s),
                        new_labels
                            .iter()
                            .map(|l| format!("\"{l}\""))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
            });
        }
        _ => {}
    }
    let (rd, cd) = (distinct(&refc.values), distinct(&cur.values));
    if cd <= 1 {
        out.push(QualityCheck {
            check: "constant_column",
            column: name,
            reference: Some(rd as f64),
            current: Some(cd as f64),
            failed: rd > 1,
            message: if rd > 1 {
                format!("one distinct value now (reference {rd})")
            } else {
                "constant in the reference too".into()
            },
        });
    }
    out
}

/// Distinct non-missing values, counting at most 2 (enough to tell constant columns).
fn distinct(v: &Values) -> usize {
    match v {
        Values::Numeric(x) => {
            let mut first: Option<f64> = None;
            for &a in x.iter().filter(|a| !a.is_nan()) {
                match first {
                    None => first = Some(a),
                    Some(f) if f != a => return 2,
                    _ => {}
                }
            }
            usize::from(first.is_some())
        }
        Values::Categorical { codes, .. } => {
            let mut first: Option<u32> = None;
            for &c in codes.iter().filter(|&&c| c != MISSING) {
                match first {
                    None => first = Some(c),
                    Some(f) if f != c => return 2,
                    _ => {}
                }
            }
            usize::from(first.is_some())
        }
    }
}

/// Why a window's row count is anomalous against the median window's, if it is (an empty window
/// always is).
pub fn volume_anomaly(rows: usize, median: f64, factor: f64) -> Option<String> {
    let n = rows as f64;
    if rows == 0 {
        Some("no rows".into())
    } else if n * factor < median {
        Some(format!(
            "{} rows, under 1/{} of the median window's {}",
            smelt_eval::report::fmt_count(rows),
            smelt_eval::report::fmt_number(factor),
            smelt_eval::report::fmt_number(median)
        ))
    } else if n > median * factor {
        Some(format!(
            "{} rows, over {}× the median window's {}",
            smelt_eval::report::fmt_count(rows),
            smelt_eval::report::fmt_number(factor),
            smelt_eval::report::fmt_number(median)
        ))
    } else {
        None
    }
}

/// The `window_volume` check over time windows' row counts (`keys` name them).
pub fn window_volume(
    keys: &[&str],
    rows: &[usize],
    factor: f64,
) -> (QualityCheck, Vec<Option<String>>) {
    let mut sorted = rows.to_vec();
    sorted.sort_unstable();
    let median = match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2] as f64,
        n => (sorted[n / 2 - 1] + sorted[n / 2]) as f64 / 2.0,
    };
    let anomalies: Vec<Option<String>> = rows
        .iter()
        .map(|&r| volume_anomaly(r, median, factor))
        .collect();
    let bad: Vec<String> = keys
        .iter()
        .zip(&anomalies)
        .filter_map(|(k, a)| a.as_ref().map(|a| format!("{k} ({a})")))
        .collect();
    let check = QualityCheck {
        check: "window_volume",
        column: None,
        reference: None,
        current: Some(bad.len() as f64),
        failed: !bad.is_empty(),
        message: if bad.is_empty() {
            format!(
                "every window holds between 1/{f} and {f}× the median window's rows",
                f = smelt_eval::report::fmt_number(factor)
            )
        } else {
            format!(
                "{} of {} windows off the usual volume: {}{}",
                bad.len(),
                rows.len(),
                bad[..bad.len().min(5)].join(", "),
                if bad.len() > 5 { ", …" } else { "" }
            )
        },
    };
    (check, anomalies)
}
