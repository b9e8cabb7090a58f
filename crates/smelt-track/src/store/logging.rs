//! What is logged to runs: metrics (appended, latest values kept), params (immutable), tags
//! (last write wins), and metric histories, whole or downsampled.

use std::collections::BTreeMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::runs::{RUN_NAME_TAG, check_active};
use super::sql::{MAX_BINDS_PER_STATEMENT, bind_all, placeholders, stored_value, tuples};
use super::tags::{dedupe_last, insert_tags};
use super::{Store, int, text, validate};
use crate::entities::{KeyValue, Metric};
use crate::error::{Result, TrackError};

/// What `runs/log-batch` takes.
#[derive(Clone, Debug, Default)]
pub struct BatchLog {
    /// Appended, never overwritten.
    pub metrics: Vec<Metric>,
    /// Immutable: the same value again is fine, another value is an error.
    pub params: Vec<KeyValue>,
    /// Last write wins, within the request too.
    pub tags: Vec<KeyValue>,
}

impl Store {
    /// Logs one metric point.
    pub async fn log_metric(&self, run_id: &str, metric: Metric) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                metrics: vec![metric],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Logs one param.
    pub async fn log_param(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                params: vec![KeyValue::new(key, value)],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Sets one tag.
    pub async fn set_tag(&self, run_id: &str, key: &str, value: &str) -> Result<()> {
        self.log_batch(
            run_id,
            BatchLog {
                tags: vec![KeyValue::new(key, value)],
                ..BatchLog::default()
            },
        )
        .await
    }

    /// Logs metrics, params and tags in one transaction, with MLflow's semantics and limits.
    pub async fn log_batch(&self, run_id: &str, batch: BatchLog) -> Result<()> {
        validate::run_id(run_id)?;
        let (nm, np, nt) = (batch.metrics.len(), batch.params.len(), batch.tags.len());
        if nm > validate::MAX_BATCH_METRICS {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} metrics. Got {nm} metrics. Please split up \
                 metrics across multiple requests and try again.",
                validate::MAX_BATCH_METRICS
            )));
        }
        if np + nt > validate::MAX_BATCH_PARAMS_TAGS {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} params and tags together. Got {} params and \
                 {} tags.",
                validate::MAX_BATCH_PARAMS_TAGS,
                np,
                nt
            )));
        }
        if nm + np + nt > validate::MAX_BATCH_TOTAL {
            return Err(TrackError::invalid(format!(
                "A batch logging request can contain at most {} entities. Got {}.",
                validate::MAX_BATCH_TOTAL,
                nm + np + nt
            )));
        }
        for m in &batch.metrics {
            validate::key(validate::KeyKind::Metric, &m.key)?;
        }
        let mut params: BTreeMap<&str, &str> = BTreeMap::new();
        for p in &batch.params {
            validate::key(validate::KeyKind::Param, &p.key)?;
            validate::value("Param", &p.key, &p.value, validate::MAX_PARAM_VALUE_LENGTH)?;
            if let Some(prev) = params.insert(&p.key, &p.value)
                && prev != p.value
            {
                return Err(TrackError::invalid(format!(
                    "Duplicate parameter keys have been submitted: ['{}']. Please ensure the request contains \
                     only one param value per param key.",
                    p.key
                )));
            }
        }
        for t in &batch.tags {
            validate::key(validate::KeyKind::Tag, &t.key)?;
            validate::value("Tag", &t.key, &t.value, validate::MAX_TAG_VALUE_LENGTH)?;
        }
        let tags = dedupe_last(batch.tags);
        if params.is_empty() && tags.is_empty() {
            if batch.metrics.is_empty() {
                return self
                    .get_run_info(run_id)
                    .await
                    .and_then(|info| check_active(&info));
            }
            // The hot path: concurrent metric writes share one transaction (group commit).
            return self.log_metrics_grouped(run_id, batch.metrics).await;
        }

        let mut tx = self.writer().begin().await?;
        let stage: Option<String> =
            sqlx::query("SELECT lifecycle_stage FROM runs WHERE run_uuid = $1")
                .bind(run_id)
                .fetch_optional(&mut *tx)
                .await?
                .map(|r| r.try_get::<String, _>(0))
                .transpose()?;
        match stage.as_deref() {
            None => return Err(TrackError::not_found(format!("Run '{run_id}' not found"))),
            Some("active") => {}
            Some(other) => {
                return Err(TrackError::invalid(format!(
                    "The run {run_id} must be in the 'active' state. Current state is {other}."
                )));
            }
        }
        if !params.is_empty() {
            let keys: Vec<&str> = params.keys().copied().collect();
            let sql = format!(
                "SELECT key, value FROM params WHERE run_uuid = $1 AND key IN ({})",
                placeholders(2, keys.len())
            );
            let existing = bind_all(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(run_id), &keys)
                .fetch_all(&mut *tx)
                .await?;
            let mut known = std::collections::HashSet::new();
            for row in existing {
                let (k, v) = (text(&row, "key")?, text(&row, "value")?);
                if let Some(new) = params.get(k.as_str())
                    && *new != v
                {
                    return Err(TrackError::invalid(format!(
                        "Changing param values is not allowed. Param with key='{k}' was already logged with \
                         value='{v}' for run ID='{run_id}'. Attempted logging new value '{new}'."
                    )));
                }
                known.insert(k);
            }
            let fresh: Vec<(&str, &str)> = params
                .iter()
                .filter(|(k, _)| !known.contains(**k))
                .map(|(k, v)| (*k, *v))
                .collect();
            if !fresh.is_empty() {
                let sql = format!(
                    "INSERT INTO params (run_uuid, key, value) VALUES {}",
                    tuples(fresh.len(), 3)
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (k, v) in fresh {
                    q = q.bind(run_id).bind(k).bind(v);
                }
                q.execute(&mut *tx).await?;
            }
        }
        if !batch.metrics.is_empty() {
            insert_metrics(&mut tx, run_id, &batch.metrics).await?;
        }
        if !tags.is_empty() {
            insert_tags(&mut tx, run_id, &tags).await?;
            if let Some(name) = tags.iter().rev().find(|t| t.key == RUN_NAME_TAG) {
                sqlx::query("UPDATE runs SET name = $1 WHERE run_uuid = $2")
                    .bind(&name.value)
                    .bind(run_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Deletes a run tag.
    pub async fn delete_tag(&self, run_id: &str, key: &str) -> Result<()> {
        let info = self.get_run_info(run_id).await?;
        check_active(&info)?;
        let n = sqlx::query("DELETE FROM tags WHERE run_uuid = $1 AND key = $2")
            .bind(run_id)
            .bind(key)
            .execute(self.writer())
            .await?
            .rows_affected();
        if n == 0 {
            return Err(TrackError::not_found(format!(
                "No tag with name: {key} in run with id {run_id}"
            )));
        }
        Ok(())
    }

    /// The first `limit` points of one metric of one run in time order (timestamp, step, value;
    /// NaN first among equals), as MLflow's `get-history-bulk` answers them.
    pub async fn get_metric_history_by_time(
        &self,
        run_id: &str,
        key: &str,
        limit: i64,
    ) -> Result<Vec<Metric>> {
        self.get_run_info(run_id).await?;
        let rows = sqlx::query(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
             ORDER BY timestamp, step, is_nan DESC, value LIMIT $3",
        )
        .bind(run_id)
        .bind(key)
        .bind(limit.max(0))
        .fetch_all(self.reader())
        .await?;
        rows.iter().map(metric_from_row).collect()
    }

    /// The full history of one metric of one run, ordered by step then timestamp, paged.
    pub async fn get_metric_history(
        &self,
        run_id: &str,
        key: &str,
        max_results: Option<i64>,
        page_token: Option<&str>,
    ) -> Result<(Vec<Metric>, Option<String>)> {
        self.get_run_info(run_id).await?;
        let offset = super::decode_page_token(page_token)?;
        let limit = match max_results {
            Some(n) if n < 1 => {
                return Err(TrackError::invalid(format!(
                    "max_results must be ≥ 1, got {n}"
                )));
            }
            Some(n) => n,
            None => i64::MAX,
        };
        let rows = sqlx::query(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
             ORDER BY step, timestamp, value LIMIT $3 OFFSET $4",
        )
        .bind(run_id)
        .bind(key)
        .bind(limit.saturating_add(1))
        .bind(offset)
        .fetch_all(self.reader())
        .await?;
        let mut out = rows
            .iter()
            .map(metric_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next = if (out.len() as i64) > limit {
            out.truncate(limit as usize);
            Some(super::encode_page_token(offset + limit))
        } else {
            None
        };
        Ok((out, next))
    }

    /// A metric's history over several runs, downsampled on the server to at most
    /// `max_points` per run.
    ///
    /// A history of up to `ROW_SAMPLED_FACTOR × max_points` points is sampled by row as
    /// MLflow 3.17's SQL store does it (`_sample_rows_with_window_functions`): the points, in
    /// (step, timestamp, value) order, are cut into `max_points` near-equal runs (SQL's `NTILE`)
    /// and the first of each kept, then the last point replaces the last kept one (or is added
    /// when there is room) so the chart reaches the end. A longer history is read from the bucket
    /// summaries kept on write (see `store/buckets.rs`): the step range is cut into aligned
    /// buckets and each keeps its first, lowest and highest point, so spikes survive and a
    /// million-point history comes back in one small answer; those points carry the timestamp of
    /// their bucket's first point. Steps outside `[start_step, end_step]` are left out.
    pub async fn get_metric_history_sampled(
        &self,
        run_ids: &[String],
        key: &str,
        start_step: Option<i64>,
        end_step: Option<i64>,
        max_points: i64,
    ) -> Result<Vec<Metric>> {
        let max_points = max_points.clamp(1, 100_000);
        let row_limit = max_points.saturating_mul(ROW_SAMPLED_FACTOR);
        let (from, to) = (start_step.unwrap_or(i64::MIN), end_step.unwrap_or(i64::MAX));
        let mut out = Vec::new();
        for run_id in run_ids {
            self.get_run_info(run_id).await?;
            // A short history is sampled by row. Whether it is short is one index probe (the
            // row past the limit, skipped over inside the database), not rows decoded here.
            let long = sqlx::query(
                "SELECT step FROM metrics WHERE run_uuid = $1 AND key = $2 AND step >= $3 AND step <= $4 \
                 ORDER BY step, timestamp LIMIT 1 OFFSET $5",
            )
            .bind(run_id)
            .bind(key)
            .bind(from)
            .bind(to)
            .bind(row_limit)
            .fetch_optional(self.reader())
            .await?
            .is_some();
            if !long {
                let rows = sqlx::query(
                    "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = $1 AND key = $2 \
                     AND step >= $3 AND step <= $4 ORDER BY step, timestamp",
                )
                .bind(run_id)
                .bind(key)
                .bind(from)
                .bind(to)
                .fetch_all(self.reader())
                .await?;
                let points = rows
                    .iter()
                    .map(metric_from_row)
                    .collect::<Result<Vec<_>>>()?;
                out.extend(sample_rows(points, max_points).into_iter().map(|mut m| {
                    m.run_id = Some(run_id.clone());
                    m
                }));
                continue;
            }
            // The step range: two index seeks (one query with MIN and MAX would scan the range).
            let mut ends = [None, None];
            for (i, order) in ["ASC", "DESC"].iter().enumerate() {
                ends[i] = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT step FROM metrics WHERE run_uuid = $1 AND key = $2 AND step >= $3 AND step <= $4 \
                     ORDER BY step {order} LIMIT 1"
                )))
                .bind(run_id)
                .bind(key)
                .bind(from)
                .bind(to)
                .fetch_optional(self.reader())
                .await?
                .map(|r| r.try_get::<i64, _>(0))
                .transpose()?;
            }
            let [Some(lo), Some(hi)] = ends else {
                continue;
            };
            let summarised = self
                .sampled_from_buckets(
                    run_id,
                    key,
                    (from, to),
                    (lo, hi),
                    (max_points.max(3) / 3).max(1),
                )
                .await?;
            // One bucket gives up to three points: fewer asked for keeps the first and last.
            out.extend(if max_points < 3 {
                sample_rows(summarised, max_points)
            } else {
                summarised
            });
        }
        Ok(out)
    }
}

/// Histories of up to this many times the points asked for are sampled by row, as MLflow does;
/// longer ones from the bucket summaries.
pub(crate) const ROW_SAMPLED_FACTOR: i64 = 4;

/// MLflow's row sampling of one history: `points` in (step, timestamp, value, NaN last) order
/// cut into `max` runs whose sizes differ by at most one, longer runs first (SQL's `NTILE`),
/// the first point of each kept; the last point replaces the last kept one, or is added when
/// fewer than `max` were kept.
pub(crate) fn sample_rows(mut points: Vec<Metric>, max: i64) -> Vec<Metric> {
    let order = |m: &Metric| (m.step, m.timestamp, m.value.is_nan());
    points.sort_by(|a, b| {
        order(a).cmp(&order(b)).then_with(|| {
            let v = |m: &Metric| if m.value.is_nan() { 0.0 } else { m.value };
            v(a).total_cmp(&v(b))
        })
    });
    let n = points.len();
    let max = usize::try_from(max.max(1)).unwrap_or(usize::MAX);
    if n <= max {
        return points;
    }
    let (size, longer) = (n / max, n % max);
    let mut kept = Vec::with_capacity(max);
    let mut start = 0;
    for bucket in 0..max {
        kept.push(points[start].clone());
        start += size + usize::from(bucket < longer);
    }
    if let Some(last) = points.last() {
        let same = |a: &Metric, b: &Metric| {
            (a.step, a.timestamp, a.value.is_nan()) == (b.step, b.timestamp, b.value.is_nan())
                && (a.value.is_nan() || a.value == b.value)
        };
        if kept.last().is_some_and(|k| !same(k, last)) {
            if kept.len() >= max {
                kept.pop();
            }
            kept.push(last.clone());
        }
    }
    kept
}

/// Orders metric points as MLflow picks the latest: by step, then timestamp, then value (NaN lowest).
fn later(a: &Metric, b: &Metric) -> bool {
    (a.step, a.timestamp)
        .cmp(&(b.step, b.timestamp))
        .then_with(|| a.value.total_cmp(&b.value))
        .is_gt()
}

async fn insert_metrics(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    run_id: &str,
    metrics: &[Metric],
) -> Result<()> {
    let items: Vec<(&str, &Metric)> = metrics.iter().map(|m| (run_id, m)).collect();
    insert_metrics_multi(tx, &items).await
}

/// Appends metric points of one or more runs (multi-row inserts of 100 rows), then moves each
/// (run, key)'s latest value forward with one upsert per 100 keys that keeps the stored point
/// when it is later.
pub(crate) async fn insert_metrics_multi(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    items: &[(&str, &Metric)],
) -> Result<()> {
    for chunk in items.chunks(MAX_BINDS_PER_STATEMENT / 6) {
        let sql = format!(
            "INSERT INTO metrics (run_uuid, key, value, timestamp, step, is_nan) VALUES {}",
            tuples(chunk.len(), 6)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (run_id, m) in chunk {
            let nan = m.value.is_nan();
            q = q
                .bind(*run_id)
                .bind(&m.key)
                .bind(if nan { 0.0 } else { m.value })
                .bind(m.timestamp)
                .bind(m.step)
                .bind(i64::from(nan));
        }
        q.execute(&mut **tx).await?;
    }
    let mut summaries = super::buckets::Buckets::new();
    for (run_id, m) in items {
        super::buckets::add(&mut summaries, run_id, &m.key, m.step, m.timestamp, m.value);
    }
    super::buckets::upsert(tx, &summaries).await?;
    let mut latest: BTreeMap<(&str, &str), &Metric> = BTreeMap::new();
    for (run_id, m) in items {
        match latest.get(&(*run_id, m.key.as_str())) {
            Some(prev) if !later(m, prev) => {}
            _ => {
                latest.insert((run_id, &m.key), m);
            }
        }
    }
    let latest: Vec<(&(&str, &str), &&Metric)> = latest.iter().collect();
    for chunk in latest.chunks(MAX_BINDS_PER_STATEMENT / 7) {
        let sql = format!(
            "INSERT INTO latest_metrics AS l (run_uuid, key, value, timestamp, step, is_nan, value_text) VALUES {} \
             ON CONFLICT (run_uuid, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp, \
             step = excluded.step, is_nan = excluded.is_nan, value_text = excluded.value_text \
             WHERE excluded.step > l.step OR (excluded.step = l.step AND (excluded.timestamp > l.timestamp \
             OR (excluded.timestamp = l.timestamp AND excluded.is_nan = 0 AND (l.is_nan = 1 OR excluded.value > l.value))))",
            tuples(chunk.len(), 7)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for ((run_id, key), m) in chunk {
            let nan = m.value.is_nan();
            q = q
                .bind(*run_id)
                .bind(*key)
                .bind(if nan { 0.0 } else { m.value })
                .bind(m.timestamp)
                .bind(m.step)
                .bind(i64::from(nan))
                .bind(crate::schema::value_text(m.value));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

pub(crate) fn metric_from_row(row: &AnyRow) -> Result<Metric> {
    Ok(Metric {
        key: text(row, "key")?,
        value: stored_value(row, "value", "is_nan")?,
        timestamp: int(row, "timestamp")?,
        step: int(row, "step")?,
        run_id: None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::tests::{backends, m};
    use crate::entities::KeyValue;
    use crate::store::{BatchLog, RunCreate};

    #[tokio::test]
    async fn nan_and_infinite_metrics() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            s.log_metric(&id, m("v", f64::NAN, 1, 0))
                .await
                .expect("nan");
            s.log_metric(&id, m("w", f64::INFINITY, 1, 0))
                .await
                .expect("inf");
            s.log_metric(&id, m("w", f64::NEG_INFINITY, 2, 0))
                .await
                .expect("-inf");
            let run = s.get_run(&id).await.expect("gets");
            let v = run.data.metrics.iter().find(|x| x.key == "v").expect("v");
            let w = run.data.metrics.iter().find(|x| x.key == "w").expect("w");
            assert!(v.value.is_nan());
            assert_eq!(w.value, f64::NEG_INFINITY);
        }
    }

    #[tokio::test]
    async fn batch_limits_and_duplicates() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            let too_many = (0..1001).map(|i| m("k", i as f64, 0, i)).collect();
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics: too_many,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let params = (0..101)
                .map(|i| KeyValue::new(format!("p{i}"), "v"))
                .collect();
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        params,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let dup = vec![KeyValue::new("p", "1"), KeyValue::new("p", "2")];
            assert!(
                s.log_batch(
                    &id,
                    BatchLog {
                        params: dup,
                        ..Default::default()
                    }
                )
                .await
                .is_err()
            );
            let ok = (0..1000).map(|i| m("k", i as f64, 0, i)).collect();
            s.log_batch(
                &id,
                BatchLog {
                    metrics: ok,
                    ..Default::default()
                },
            )
            .await
            .expect("1000 is allowed");
            assert_eq!(
                s.get_metric_history(&id, "k", None, None)
                    .await
                    .expect("history")
                    .0
                    .len(),
                1000
            );
            let bad_key = BatchLog {
                metrics: vec![m("../x", 1.0, 0, 0)],
                ..Default::default()
            };
            assert!(s.log_batch(&id, bad_key).await.is_err());
        }
    }

    #[tokio::test]
    async fn sampled_history_keeps_extremes() {
        for (s, _dir) in backends().await {
            let id = s
                .create_run(RunCreate::default())
                .await
                .expect("creates")
                .info
                .run_id;
            for chunk in 0..10 {
                let ms = (0..1000)
                    .map(|i| {
                        let step = chunk * 1000 + i;
                        m(
                            "loss",
                            if step == 4321 {
                                100.0
                            } else {
                                (step % 7) as f64
                            },
                            step,
                            step,
                        )
                    })
                    .collect();
                s.log_batch(
                    &id,
                    BatchLog {
                        metrics: ms,
                        ..Default::default()
                    },
                )
                .await
                .expect("batch");
            }
            let pts = s
                .get_metric_history_sampled(std::slice::from_ref(&id), "loss", None, None, 300)
                .await
                .expect("sampled");
            assert!(pts.len() <= 320 && pts.len() > 50, "{}", pts.len());
            assert!(
                pts.iter().any(|p| p.value == 100.0),
                "the spike survives downsampling"
            );
            assert!(pts.windows(2).all(|w| w[0].step <= w[1].step));
            let window = s
                .get_metric_history_sampled(&[id], "loss", Some(10), Some(19), 300)
                .await
                .expect("window");
            assert_eq!(window.len(), 10);
        }
    }
}
