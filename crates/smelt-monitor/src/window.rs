//! Time windows over the current data: `--window 1d` groups rows by calendar period of the time
//! column (UTC), `--window 5000` by consecutive rows.

use chrono::{DateTime, Utc};

use crate::error::{MonitorError, Result};

/// How the current data is cut into windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Window {
    /// Periods of this many microseconds of the time column, aligned on the Unix epoch (so
    /// `1d` windows are calendar days in UTC).
    Period(i64),
    /// Consecutive rows, this many per window (the last may be shorter).
    Rows(usize),
}

impl Window {
    /// Parses `30m`, `6h`, `1d`, `7d`, `1w` (a period) or a plain number of rows (`5000`).
    pub fn parse(text: &str) -> Result<Window> {
        let t = text.trim();
        let bad = || {
            MonitorError::Invalid(format!(
                "window `{text}`: give a period (30m, 6h, 1d, 1w) or a number of rows (5000)"
            ))
        };
        if let Ok(n) = t.parse::<usize>() {
            return if n == 0 {
                Err(bad())
            } else {
                Ok(Window::Rows(n))
            };
        }
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (num, unit) = t.split_at(split);
        let n: i64 = num.parse().map_err(|_| bad())?;
        let unit_us: i64 = match unit {
            "s" => 1_000_000,
            "m" | "min" => 60_000_000,
            "h" => 3_600_000_000,
            "d" => 86_400_000_000,
            "w" => 7 * 86_400_000_000,
            _ => return Err(bad()),
        };
        if n <= 0 {
            return Err(bad());
        }
        Ok(Window::Period(n * unit_us))
    }
}

/// Periods at most between the first and the last window for the empty ones between them to be
/// listed.
const MAX_WINDOWS: i64 = 100_000;

/// One window: its label and its rows.
#[derive(Clone, Debug, PartialEq)]
pub struct Slice {
    /// `2026-12-01` (day windows), `2026-12-01 06:00` (shorter periods) or `rows 1–5000`.
    pub key: String,
    /// Row indices, in order.
    pub rows: Vec<usize>,
}

fn label(start_us: i64, period_us: i64) -> String {
    let Some(t) = DateTime::<Utc>::from_timestamp_micros(start_us) else {
        return start_us.to_string();
    };
    if period_us % 86_400_000_000 == 0 {
        t.format("%Y-%m-%d").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M").to_string()
    }
}

/// Cuts `n` rows into windows; `time` is needed for periods (rows without a time are left out
/// and counted in the second value). Periods with no row between the first and the last are
/// returned as empty windows.
pub fn slices(
    n: usize,
    time: Option<&[Option<i64>]>,
    window: Window,
) -> Result<(Vec<Slice>, usize)> {
    match window {
        Window::Rows(size) => Ok((
            (0..n)
                .step_by(size)
                .map(|start| {
                    let end = (start + size).min(n);
                    Slice {
                        key: format!("rows {}–{}", start + 1, end),
                        rows: (start..end).collect(),
                    }
                })
                .collect(),
            0,
        )),
        Window::Period(p) => {
            let time = time.ok_or_else(|| {
                MonitorError::Invalid(
                    "a window by period needs the time column: pass --time COLUMN".into(),
                )
            })?;
            let mut by: std::collections::BTreeMap<i64, Vec<usize>> = Default::default();
            let mut untimed = 0;
            for (i, t) in time.iter().enumerate() {
                match t {
                    Some(t) => by.entry(t.div_euclid(p)).or_default().push(i),
                    None => untimed += 1,
                }
            }
            // Periods between the first and the last with no row are windows too (empty): a
            // gap in the data is what a volume check must see.
            let span = match (by.keys().next(), by.keys().next_back()) {
                (Some(&a), Some(&b)) => b - a + 1,
                _ => 0,
            };
            if span > by.len() as i64 && span <= MAX_WINDOWS {
                let first = by.keys().next().copied().unwrap_or(0);
                for k in first..first + span {
                    by.entry(k).or_default();
                }
            }
            Ok((
                by.into_iter()
                    .map(|(k, rows)| Slice {
                        key: label(k * p, p),
                        rows,
                    })
                    .collect(),
                untimed,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse_and_cut() {
        assert_eq!(
            Window::parse("1d").ok(),
            Some(Window::Period(86_400_000_000))
        );
        assert_eq!(Window::parse("500").ok(), Some(Window::Rows(500)));
        assert!(
            Window::parse("1y").is_err()
                && Window::parse("0").is_err()
                && Window::parse("d").is_err()
        );
        let (s, _) = slices(5, None, Window::Rows(2)).expect("rows");
        assert_eq!(
            s.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            ["rows 1–2", "rows 3–4", "rows 5–5"]
        );
        let day = 86_400_000_000i64;
        let t = [Some(day + 5), None, Some(3 * day), Some(day + 7), Some(-1)];
        let (s, untimed) = slices(5, Some(&t), Window::Period(day)).expect("days");
        assert_eq!(untimed, 1);
        assert_eq!(
            s.iter().map(|s| s.key.as_str()).collect::<Vec<_>>(),
            [
                "1969-12-31",
                "1970-01-01",
                "1970-01-02",
                "1970-01-03",
                "1970-01-04"
            ]
        );
        assert_eq!(s[2].rows, [0, 3]);
        assert!(s[1].rows.is_empty() && s[3].rows.is_empty());
        assert!(slices(3, None, Window::Period(day)).is_err());
    }
}
