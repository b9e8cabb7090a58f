//! Per-bucket summaries of metric histories, kept on write, so a chart of a million-point
//! history is read from a few hundred rows instead of a scan of the history.
//!
//! For each (run, key) and each level `L` in `1..=LEVELS`, the steps are cut into aligned
//! buckets of `16^L` steps (16, 256, 4,096, 65,536 and 1,048,576), and each bucket keeps its
//! first point (lowest step, then earliest timestamp), and its lowest and highest values with
//! their steps (NaN never counts as either). Every metric write folds its points into the
//! buckets of all levels (one upsert per touched bucket, merged with what is stored), in the
//! same transaction as the points, so the summaries are always exact.
//!
//! A downsampled read ([`Store::get_metric_history_sampled`]) picks the coarsest level that
//! still has at least as many buckets over the step range as the answer has room for, merges
//! neighbouring buckets down to that number, and summarises from the raw points only the (at
//! most two) edge buckets that a caller's `start_step`/`end_step` cut through.

use std::collections::BTreeMap;

use sqlx::Row;

use super::Store;
use super::sql::{MAX_BINDS_PER_STATEMENT, stored_value, tuples};
use crate::entities::Metric;
use crate::error::Result;

/// Levels of buckets: widths `16^1 ..= 16^LEVELS` steps.
pub(crate) const LEVELS: u32 = 5;

/// The step width of a level's buckets.
pub(crate) fn width(level: u32) -> i64 {
    16_i64.pow(level)
}

/// What a bucket (or a merge of neighbouring buckets) remembers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Summary {
    /// Step and timestamp of the first point (lowest step, then earliest timestamp).
    pub first: (i64, i64),
    /// Its value (may be NaN).
    pub first_value: f64,
    /// Lowest non-NaN value and the lowest step it occurs at.
    pub min: Option<(f64, i64)>,
    /// Highest non-NaN value and the lowest step it occurs at.
    pub max: Option<(f64, i64)>,
}

impl Summary {
    /// A summary of one point.
    pub fn point(step: i64, timestamp: i64, value: f64) -> Self {
        let extreme = (!value.is_nan()).then_some((value, step));
        Self {
            first: (step, timestamp),
            first_value: value,
            min: extreme,
            max: extreme,
        }
    }

    /// Folds `other` into `self`.
    pub fn merge(&mut self, other: &Summary) {
        if other.first < self.first {
            self.first = other.first;
            self.first_value = other.first_value;
        }
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(if (b.0, b.1) < (a.0, a.1) { b } else { a }),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            // Highest value; among equal values the lowest step.
            (Some(a), Some(b)) => Some(if b.0 > a.0 || (b.0 == a.0 && b.1 < a.1) {
                b
            } else {
                a
            }),
            (a, b) => a.or(b),
        };
    }

    /// The points a chart shows for this bucket: first, lowest, highest, by step, without
    /// repeats; all carry the first point's timestamp.
    pub fn points(&self, key: &str, run_id: &str) -> Vec<Metric> {
        let mut pts = vec![(self.first.0, self.first_value)];
        pts.extend(self.min.map(|(v, s)| (s, v)));
        pts.extend(self.max.map(|(v, s)| (s, v)));
        pts.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        pts.dedup_by(|a, b| a.0 == b.0 && a.1.to_bits() == b.1.to_bits());
        pts.into_iter()
            .map(|(step, value)| Metric {
                key: key.to_string(),
                value,
                timestamp: self.first.1,
                step,
                run_id: Some(run_id.to_string()),
            })
            .collect()
    }
}

/// Summaries keyed by (run, key, level, bucket).
pub(crate) type Buckets = BTreeMap<(String, String, u32, i64), Summary>;

/// Folds one point into the buckets of every level.
pub(crate) fn add(out: &mut Buckets, run_id: &str, key: &str, step: i64, ts: i64, value: f64) {
    let p = Summary::point(step, ts, value);
    for level in 1..=LEVELS {
        let bucket = step.div_euclid(width(level));
        out.entry((run_id.to_string(), key.to_string(), level, bucket))
            .and_modify(|s| s.merge(&p))
            .or_insert(p);
    }
}

/// Merges `buckets` into the stored summaries.
pub(crate) async fn upsert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    buckets: &Buckets,
) -> Result<()> {
    // The stored row `b` and the new one `excluded` each summarise their points; every column
    // below is computed from the old row, so the order of the assignments does not matter.
    const FIRST: &str = "(excluded.first_step < b.first_step OR (excluded.first_step = b.first_step \
                         AND excluded.first_ts < b.first_ts))";
    const MIN: &str = "(b.has_extremes = 0 OR (excluded.has_extremes = 1 AND (excluded.min_value < b.min_value \
                       OR (excluded.min_value = b.min_value AND excluded.min_step < b.min_step))))";
    const MAX: &str = "(b.has_extremes = 0 OR (excluded.has_extremes = 1 AND (excluded.max_value > b.max_value \
                       OR (excluded.max_value = b.max_value AND excluded.max_step < b.max_step))))";
    let rows: Vec<_> = buckets.iter().collect();
    for chunk in rows.chunks(MAX_BINDS_PER_STATEMENT / 13) {
        let sql = format!(
            "INSERT INTO metric_buckets AS b (run_uuid, key, level, bucket, first_step, first_ts, first_value, \
             first_nan, has_extremes, min_value, min_step, max_value, max_step) VALUES {} \
             ON CONFLICT (run_uuid, key, level, bucket) DO UPDATE SET \
             first_step = CASE WHEN {FIRST} THEN excluded.first_step ELSE b.first_step END, \
             first_ts = CASE WHEN {FIRST} THEN excluded.first_ts ELSE b.first_ts END, \
             first_value = CASE WHEN {FIRST} THEN excluded.first_value ELSE b.first_value END, \
             first_nan = CASE WHEN {FIRST} THEN excluded.first_nan ELSE b.first_nan END, \
             has_extremes = CASE WHEN b.has_extremes = 1 OR excluded.has_extremes = 1 THEN 1 ELSE 0 END, \
             min_value = CASE WHEN {MIN} THEN excluded.min_value ELSE b.min_value END, \
             min_step = CASE WHEN {MIN} THEN excluded.min_step ELSE b.min_step END, \
             max_value = CASE WHEN {MAX} THEN excluded.max_value ELSE b.max_value END, \
             max_step = CASE WHEN {MAX} THEN excluded.max_step ELSE b.max_step END",
            tuples(chunk.len(), 13)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((run, key, level, bucket), s) in chunk {
            let nan = s.first_value.is_nan();
            q = q
                .bind(run.as_str())
                .bind(key.as_str())
                .bind(i64::from(*level))
                .bind(*bucket)
                .bind(s.first.0)
                .bind(s.first.1)
                .bind(if nan { 0.0 } else { s.first_value })
                .bind(i64::from(nan))
                .bind(i64::from(s.min.is_some()))
                .bind(s.min.map_or(0.0, |m| m.0))
                .bind(s.min.map_or(0, |m| m.1))
                .bind(s.max.map_or(0.0, |m| m.0))
                .bind(s.max.map_or(0, |m| m.1));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Builds the summaries of every stored point (the migration that adds the table), one metric
/// history at a time, streamed: memory stays bounded by one history's buckets however many
/// points the store holds.
pub(crate) async fn backfill(tx: &mut sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
    use futures::TryStreamExt as _;
    let histories = sqlx::query("SELECT DISTINCT run_uuid, key FROM metrics")
        .fetch_all(&mut **tx)
        .await?;
    for h in histories {
        let (run, key): (String, String) = (h.try_get("run_uuid")?, h.try_get("key")?);
        let mut out = Buckets::new();
        {
            let mut rows = sqlx::query(
                "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2",
            )
            .bind(&run)
            .bind(&key)
            .fetch(&mut **tx);
            while let Some(row) = rows.try_next().await? {
                let value = stored_value(&row, "value", "is_nan")?;
                add(
                    &mut out,
                    &run,
                    &key,
                    row.try_get("step")?,
                    row.try_get("timestamp")?,
                    value,
                );
            }
        }
        upsert(tx, &out).await?;
    }
    Ok(())
}

/// How a downsampled read covers `[lo, hi]` with at most `target` buckets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// The level read.
    pub level: u32,
    /// Its bucket width in steps.
    pub width: i64,
    /// First and last bucket index over `[lo, hi]`.
    pub first: i64,
    pub last: i64,
    /// Neighbouring buckets merged into one point group.
    pub group: i64,
}

/// The coarsest level with at least `target` buckets over `[lo, hi]` (else the finest), and
/// how many of its buckets to merge so that at most `target` remain.
pub(crate) fn plan(lo: i64, hi: i64, target: i64) -> Plan {
    let target = target.max(1);
    let count = |level: u32| hi.div_euclid(width(level)) - lo.div_euclid(width(level)) + 1;
    let level = (1..=LEVELS)
        .rev()
        .find(|&l| count(l) >= target)
        .unwrap_or(1);
    let n = count(level);
    Plan {
        level,
        width: width(level),
        first: lo.div_euclid(width(level)),
        last: hi.div_euclid(width(level)),
        group: (n + target - 1) / target,
    }
}

impl Store {
    /// A downsampled history of one run from the bucket summaries: at most `target` buckets
    /// over `[lo, hi]` (the steps present within the caller's `[from, to]`).
    pub(crate) async fn sampled_from_buckets(
        &self,
        run_id: &str,
        key: &str,
        (from, to): (i64, i64),
        (lo, hi): (i64, i64),
        target: i64,
    ) -> Result<Vec<Metric>> {
        let Plan {
            level,
            width: w,
            first,
            last,
            group,
        } = plan(lo, hi, target);
        let rows = sqlx::query(
            "SELECT bucket, first_step, first_ts, first_value, first_nan, has_extremes, min_value, min_step, max_value, max_step \
             FROM metric_buckets WHERE run_uuid = $1 AND key = $2 AND level = $3 AND bucket >= $4 AND bucket <= $5 \
             ORDER BY bucket",
        )
        .bind(run_id)
        .bind(key)
        .bind(i64::from(level))
        .bind(first)
        .bind(last)
        .fetch_all(self.reader())
        .await?;
        let mut stored = BTreeMap::new();
        for row in &rows {
            let first_value = stored_value(row, "first_value", "first_nan")?;
            let has = row.try_get::<i64, _>("has_extremes")? != 0;
            let pair = |v: &str, s: &str| -> Result<Option<(f64, i64)>> {
                Ok(if has {
                    Some((row.try_get::<f64, _>(v)?, row.try_get::<i64, _>(s)?))
                } else {
                    None
                })
            };
            stored.insert(
                row.try_get::<i64, _>("bucket")?,
                Summary {
                    first: (row.try_get("first_step")?, row.try_get("first_ts")?),
                    first_value,
                    min: pair("min_value", "min_step")?,
                    max: pair("max_value", "max_step")?,
                },
            );
        }
        // Edge buckets that reach outside [from, to] are summarised from the raw points inside.
        for edge in [first, last] {
            let start = edge.saturating_mul(w);
            let end = start.saturating_add(w - 1);
            if start < from || end > to {
                let s = self
                    .raw_summary(run_id, key, start.max(from), end.min(to))
                    .await?;
                match s {
                    Some(s) => stored.insert(edge, s),
                    None => stored.remove(&edge),
                };
            }
        }
        let mut merged: BTreeMap<i64, Summary> = BTreeMap::new();
        for (bucket, s) in stored {
            merged
                .entry((bucket - first).div_euclid(group))
                .and_modify(|m| m.merge(&s))
                .or_insert(s);
        }
        Ok(merged
            .values()
            .flat_map(|s| s.points(key, run_id))
            .collect())
    }

    /// The summary of the raw points of `[start, end]` (inclusive), if any.
    async fn raw_summary(
        &self,
        run_id: &str,
        key: &str,
        start: i64,
        end: i64,
    ) -> Result<Option<Summary>> {
        let rows = sqlx::query(
            "SELECT step, timestamp, value, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
             AND step >= $3 AND step <= $4",
        )
        .bind(run_id)
        .bind(key)
        .bind(start)
        .bind(end)
        .fetch_all(self.reader())
        .await?;
        let mut out: Option<Summary> = None;
        for row in rows {
            let value = stored_value(&row, "value", "is_nan")?;
            let p = Summary::point(row.try_get("step")?, row.try_get("timestamp")?, value);
            match &mut out {
                Some(s) => s.merge(&p),
                None => out = Some(p),
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::backends;
    use super::*;
    use crate::store::{BatchLog, RunCreate};

    /// A fixed xorshift sequence.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> i64 {
            (self.next() % n) as i64
        }
    }

    /// Downsampled reads equal a brute-force summary of the raw points over the same buckets,
    /// whatever order and grouping the points were logged in (summaries merged across many
    /// commits), with NaN, ties, repeated and negative steps, and caller ranges that cut
    /// buckets.
    #[tokio::test]
    async fn sampled_reads_equal_brute_force_over_raw_points() {
        for (s, _dir) in backends().await {
            let mut rng = Rng(0x5EED_1234_ABCD_0001);
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("run")
                .info
                .run_id;
            let mut points = Vec::new();
            for i in 0..6000 {
                let step = rng.below(70_000) - 3_000;
                let value = match rng.below(50) {
                    0 => f64::NAN,
                    1 => 7.0, // ties
                    _ => (rng.below(1_000_000) as f64) / 1000.0 - 500.0,
                };
                points.push(Metric {
                    key: "loss".into(),
                    value,
                    timestamp: rng.below(1000),
                    step,
                    run_id: None,
                });
                // Batches of varying sizes, and single calls.
                if rng.below(10) == 0 || i == 5999 {
                    s.log_batch(
                        &id,
                        BatchLog {
                            metrics: std::mem::take(&mut points).into_iter().collect(),
                            ..Default::default()
                        },
                    )
                    .await
                    .expect("batch");
                }
            }
            let raw = s
                .get_metric_history(&id, "loss", Some(100_000), None)
                .await
                .expect("history")
                .0;
            assert_eq!(raw.len(), 6000);
            for (max_points, range) in [
                (3, None),
                (30, None),
                (300, None),
                (999, None),
                (300, Some((-2_500, 40_123))),
                (60, Some((17, 66_000))),
                (30, Some((1_000, 1_900))),
                (250, Some((0, 5_000))),
                (2, Some((-3_000, 0))),
            ] {
                let (from, to) = range.unwrap_or((i64::MIN, i64::MAX));
                let got = s
                    .get_metric_history_sampled(
                        std::slice::from_ref(&id),
                        "loss",
                        range.map(|r| r.0),
                        range.map(|r| r.1),
                        max_points,
                    )
                    .await
                    .expect("sampled");
                let inside: Vec<&Metric> = raw
                    .iter()
                    .filter(|m| m.step >= from && m.step <= to)
                    .collect();
                assert!(
                    got.len() as i64 <= max_points,
                    "{} > {max_points}",
                    got.len()
                );
                if inside.len() as i64 <= max_points * super::super::logging::ROW_SAMPLED_FACTOR {
                    // A short history: MLflow's row sampling.
                    let want: Vec<Metric> = super::super::logging::sample_rows(
                        inside.iter().map(|m| (*m).clone()).collect(),
                        max_points,
                    )
                    .into_iter()
                    .map(|mut m| {
                        m.run_id = Some(id.clone());
                        m
                    })
                    .collect();
                    assert_eq!(
                        format!("{got:?}"),
                        format!("{want:?}"),
                        "max_points {max_points}, range {range:?}"
                    );
                    continue;
                }
                let mut want = brute_force(&inside, (max_points / 3).max(1), &id);
                if max_points < 3 {
                    want = super::super::logging::sample_rows(want, max_points);
                }
                assert_eq!(
                    format!("{got:?}"),
                    format!("{want:?}"),
                    "max_points {max_points}, range {range:?}"
                );
                if max_points < 3 {
                    continue;
                }
                // The extremes of the range always survive.
                let top = inside
                    .iter()
                    .filter(|m| !m.value.is_nan())
                    .map(|m| m.value)
                    .fold(f64::MIN, f64::max);
                assert!(got.iter().any(|m| m.value == top));
            }
        }
    }

    /// The bucket summaries of `inside` computed from the raw points.
    fn brute_force(inside: &[&Metric], target: i64, run_id: &str) -> Vec<Metric> {
        let lo = inside.iter().map(|m| m.step).min().expect("points");
        let hi = inside.iter().map(|m| m.step).max().expect("points");
        let p = plan(lo, hi, target);
        let mut want = Vec::new();
        let mut k = 0;
        while p.first + k * p.group <= p.last {
            let start = (p.first + k * p.group) * p.width;
            let end = (p.first + (k + 1) * p.group) * p.width - 1;
            let mut acc: Option<Summary> = None;
            for m in inside.iter().filter(|m| m.step >= start && m.step <= end) {
                let pt = Summary::point(m.step, m.timestamp, m.value);
                match &mut acc {
                    Some(a) => a.merge(&pt),
                    None => acc = Some(pt),
                }
            }
            if let Some(a) = acc {
                want.extend(a.points("loss", run_id));
            }
            k += 1;
        }
        want
    }

    /// MLflow 3.17.2's answers for short histories (`get-history-bulk-interval`): 10 steps with
    /// `max_results=5` give steps 0, 2, 4, 6, 9; 20 steps give 0, 4, 8, 12, 19; two points per
    /// step keep (step, timestamp) order; fewer points than asked come back whole.
    #[tokio::test]
    async fn short_histories_are_sampled_by_row_as_mlflow_does() {
        for (s, _dir) in backends().await {
            let mut ids = Vec::new();
            for (steps, per_step) in [(10, 1), (20, 1), (10, 2), (3, 1)] {
                let id = s
                    .create_run(RunCreate::default())
                    .await
                    .expect("run")
                    .info
                    .run_id;
                let metrics = (0..steps)
                    .flat_map(|step| {
                        (1..=per_step).map(move |ts| Metric {
                            key: "m".into(),
                            value: 10.0,
                            timestamp: ts,
                            step,
                            run_id: None,
                        })
                    })
                    .collect();
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics,
                        ..Default::default()
                    },
                )
                .await
                .expect("batch");
                ids.push(id);
            }
            let steps = |i: usize| {
                let s = &s;
                let id = ids[i].clone();
                async move {
                    s.get_metric_history_sampled(&[id], "m", None, None, 5)
                        .await
                        .expect("sampled")
                        .iter()
                        .map(|m| (m.step, m.timestamp))
                        .collect::<Vec<_>>()
                }
            };
            let plain = |v: &[i64]| v.iter().map(|&st| (st, 1)).collect::<Vec<_>>();
            assert_eq!(steps(0).await, plain(&[0, 2, 4, 6, 9]));
            assert_eq!(steps(1).await, plain(&[0, 4, 8, 12, 19]));
            assert_eq!(steps(2).await, vec![(0, 1), (2, 1), (4, 1), (6, 1), (9, 2)]);
            assert_eq!(steps(3).await, plain(&[0, 1, 2]));
        }
    }

    #[test]
    fn merge_keeps_first_lowest_highest() {
        let mut s = Summary::point(10, 5, 1.0);
        s.merge(&Summary::point(3, 9, f64::NAN));
        s.merge(&Summary::point(12, 1, -2.0));
        s.merge(&Summary::point(14, 1, -2.0));
        s.merge(&Summary::point(7, 1, 4.0));
        assert_eq!(s.first, (3, 9));
        assert!(s.first_value.is_nan());
        assert_eq!(s.min, Some((-2.0, 12)));
        assert_eq!(s.max, Some((4.0, 7)));
        let pts = s.points("k", "r");
        let steps: Vec<i64> = pts.iter().map(|p| p.step).collect();
        assert_eq!(steps, [3, 7, 12]);
        assert!(pts.iter().all(|p| p.timestamp == 9));
    }

    #[test]
    fn buckets_are_aligned_for_negative_steps_too() {
        let mut b = Buckets::new();
        add(&mut b, "r", "k", -1, 0, 1.0);
        add(&mut b, "r", "k", 0, 0, 2.0);
        assert!(b.contains_key(&("r".into(), "k".into(), 1, -1)));
        assert!(b.contains_key(&("r".into(), "k".into(), 1, 0)));
        assert_eq!(b.len(), 2 * LEVELS as usize);
    }
}
