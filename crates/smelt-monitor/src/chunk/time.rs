//! Timestamps (UTC nanoseconds, as pandas) and calendar periods (pandas' `Period` for the
//! offsets NannyML's `PeriodBasedChunker` is used with).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{MonitorError, Result};

const NS_PER_SEC: i64 = 1_000_000_000;
const NS_PER_DAY: i64 = 86_400 * NS_PER_SEC;

/// A point in time: nanoseconds since 1970-01-01T00:00:00 UTC (pandas' `Timestamp.value`),
/// written in JSON as ISO 8601 (`2018-10-30T18:00:00`, fractional seconds only when non-zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// From whole seconds since the epoch.
    pub fn from_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(NS_PER_SEC))
    }

    /// From microseconds since the epoch (Smelt's datetime columns).
    pub fn from_micros(us: i64) -> Self {
        Timestamp(us.saturating_mul(1_000))
    }

    /// From milliseconds since the epoch.
    pub fn from_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }

    /// From a civil UTC date and time.
    pub fn from_civil(year: i64, month: u32, day: u32, h: u32, m: u32, s: u32) -> Self {
        let days = days_from_civil(year, month, day);
        Timestamp(
            days * NS_PER_DAY
                + (i64::from(h) * 3600 + i64::from(m) * 60 + i64::from(s)) * NS_PER_SEC,
        )
    }

    fn split(self) -> (i64, i64) {
        (self.0.div_euclid(NS_PER_DAY), self.0.rem_euclid(NS_PER_DAY))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, ns) = self.split();
        let (y, mo, d) = civil_from_days(days);
        let secs = ns / NS_PER_SEC;
        let frac = ns % NS_PER_SEC;
        write!(
            f,
            "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )?;
        if frac != 0 {
            let digits = format!("{frac:09}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl FromStr for Timestamp {
    type Err = MonitorError;

    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS[.f]` (or a space for `T`), UTC.
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            MonitorError::Invalid(format!(
                "cannot parse {s:?} as a timestamp (YYYY-MM-DDTHH:MM:SS[.fff])"
            ))
        };
        let (date, time) = match s.find(['T', ' ']) {
            Some(i) => (&s[..i], Some(&s[i + 1..])),
            None => (s, None),
        };
        let mut parts = date.splitn(3, '-');
        let year: i64 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let month: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        let day: u32 = parts.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        let mut ns = days_from_civil(year, month, day) * NS_PER_DAY;
        if let Some(time) = time {
            let (hms, frac) = match time.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (time, None),
            };
            let mut it = hms.splitn(3, ':');
            let h: i64 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let m: i64 = it.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let sec: i64 = it
                .next()
                .map_or(Some(0), |p| p.parse().ok())
                .ok_or_else(bad)?;
            if h > 23 || m > 59 || sec > 60 {
                return Err(bad());
            }
            ns += (h * 3600 + m * 60 + sec) * NS_PER_SEC;
            if let Some(frac) = frac {
                if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let padded = format!("{frac:0<9}");
                ns += padded.parse::<i64>().map_err(|_| bad())?;
            }
        }
        Ok(Timestamp(ns))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A calendar period (pandas' offset aliases as NannyML's `chunk_period` takes them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodOffset {
    /// An hour (`"h"`): keys like `2018-10-30 05:00`.
    Hour,
    /// A day (`"D"`): `2018-10-30`.
    Day,
    /// A week ending on Sunday (`"W"`, pandas' `W-SUN`): `2018-10-29/2018-11-04`.
    Week,
    /// A calendar month (`"M"`): `2018-10`.
    Month,
    /// A calendar quarter (`"Q"`): `2018Q4`.
    Quarter,
    /// A calendar year (`"Y"`, `"A"`): `2018`.
    Year,
}

impl FromStr for PeriodOffset {
    type Err = MonitorError;

    fn from_str(s: &str) -> Result<Self> {
        Ok(match s {
            "h" | "H" => PeriodOffset::Hour,
            "D" | "d" => PeriodOffset::Day,
            "W" | "W-SUN" | "w" => PeriodOffset::Week,
            "M" | "ME" | "m" => PeriodOffset::Month,
            "Q" | "QE" | "Q-DEC" | "q" => PeriodOffset::Quarter,
            "Y" | "YE" | "A" | "Y-DEC" | "A-DEC" | "y" => PeriodOffset::Year,
            _ => {
                return Err(MonitorError::Invalid(format!(
                    "chunk period {s:?} is not supported\n\nhint: use one of h, D, W, M, Q, Y"
                )));
            }
        })
    }
}

impl PeriodOffset {
    /// The period holding `t`: its key (pandas' `str(Period)`), first and last instant
    /// (pandas' `start_time` and `end_time`, one nanosecond before the next period).
    pub fn period_of(self, t: Timestamp) -> (String, Timestamp, Timestamp) {
        let (days, ns) = t.split();
        let (y, m, d) = civil_from_days(days);
        let day_start = |days: i64| days * NS_PER_DAY;
        let (key, start, next) = match self {
            PeriodOffset::Hour => {
                let h = ns / (3600 * NS_PER_SEC);
                let start = day_start(days) + h * 3600 * NS_PER_SEC;
                (
                    format!("{y:04}-{m:02}-{d:02} {h:02}:00"),
                    start,
                    start + 3600 * NS_PER_SEC,
                )
            }
            PeriodOffset::Day => (
                format!("{y:04}-{m:02}-{d:02}"),
                day_start(days),
                day_start(days + 1),
            ),
            PeriodOffset::Week => {
                // 1970-01-01 was a Thursday: Monday-based weekday = (days + 3) mod 7.
                let monday = days - (days + 3).rem_euclid(7);
                let (y0, m0, d0) = civil_from_days(monday);
                let (y1, m1, d1) = civil_from_days(monday + 6);
                (
                    format!("{y0:04}-{m0:02}-{d0:02}/{y1:04}-{m1:02}-{d1:02}"),
                    day_start(monday),
                    day_start(monday + 7),
                )
            }
            PeriodOffset::Month => {
                let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
                (
                    format!("{y:04}-{m:02}"),
                    day_start(days_from_civil(y, m, 1)),
                    day_start(days_from_civil(ny, nm, 1)),
                )
            }
            PeriodOffset::Quarter => {
                let q = (m - 1) / 3;
                let first = q * 3 + 1;
                let (ny, nm) = if q == 3 { (y + 1, 1) } else { (y, first + 3) };
                (
                    format!("{y:04}Q{}", q + 1),
                    day_start(days_from_civil(y, first, 1)),
                    day_start(days_from_civil(ny, nm, 1)),
                )
            }
            PeriodOffset::Year => (
                format!("{y:04}"),
                day_start(days_from_civil(y, 1, 1)),
                day_start(days_from_civil(y + 1, 1, 1)),
            ),
        };
        (key, Timestamp(start), Timestamp(next - 1))
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = (if mp < 10 { mp + 3 } else { mp - 9 }) as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 1, 59, 365, 10_957, 17_834, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(17_834), (2018, 10, 30));
    }

    #[test]
    fn display_and_parse() {
        let t = Timestamp::from_civil(2018, 10, 30, 18, 0, 0);
        assert_eq!(t.to_string(), "2018-10-30T18:00:00");
        assert_eq!("2018-10-30T18:00:00".parse::<Timestamp>().unwrap(), t);
        let u = Timestamp(t.0 + 848_000_000);
        assert_eq!(u.to_string(), "2018-10-30T18:00:00.848");
        assert_eq!("2018-10-30 18:00:00.848".parse::<Timestamp>().unwrap(), u);
        assert_eq!(
            "2018-10-30".parse::<Timestamp>().unwrap().to_string(),
            "2018-10-30T00:00:00"
        );
        assert!("2018-13-01".parse::<Timestamp>().is_err());
        assert!("yesterday".parse::<Timestamp>().is_err());
        let json = serde_json::to_string(&u).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), u);
    }

    #[test]
    fn periods_like_pandas() {
        let t = Timestamp::from_civil(2018, 10, 31, 5, 30, 0);
        let (k, s, e) = PeriodOffset::Week.period_of(t);
        assert_eq!(k, "2018-10-29/2018-11-04");
        assert_eq!(s.to_string(), "2018-10-29T00:00:00");
        assert_eq!(e.to_string(), "2018-11-04T23:59:59.999999999");
        assert_eq!(PeriodOffset::Month.period_of(t).0, "2018-10");
        assert_eq!(PeriodOffset::Quarter.period_of(t).0, "2018Q4");
        assert_eq!(PeriodOffset::Year.period_of(t).0, "2018");
        assert_eq!(PeriodOffset::Day.period_of(t).0, "2018-10-31");
        assert_eq!(PeriodOffset::Hour.period_of(t).0, "2018-10-31 05:00");
        assert_eq!(
            PeriodOffset::Quarter.period_of(t).2.to_string(),
            "2018-12-31T23:59:59.999999999"
        );
        assert!("fortnight".parse::<PeriodOffset>().is_err());
    }
}
