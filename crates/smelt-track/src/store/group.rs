//! Group commit for metric writes, the hot path of a tracking server.
//!
//! Requests that only log metrics are queued to one writer task, which takes whatever has queued
//! up (up to 512 requests or 20,000 points), checks all their runs with one query, appends all
//! their points with multi-row inserts, updates the latest values, commits once, and only then
//! acknowledges each request. Under concurrency the per-transaction cost is shared; a lone
//! request waits for nobody. A request for a missing or deleted run gets its own error without
//! failing the others.

use std::collections::HashMap;

use sqlx::AnyPool;
use tokio::sync::{mpsc, oneshot};

use super::logging::insert_metrics_multi;
use super::sql::placeholders;
use super::{Store, text};
use crate::entities::Metric;
use crate::error::{Result, TrackError};

/// Most requests one group commit takes.
const MAX_JOBS: usize = 512;
/// Most points one group commit takes (the first request is always taken whole).
const MAX_POINTS: usize = 20_000;

pub(crate) struct Job {
    run_id: String,
    metrics: Vec<Metric>,
    reply: oneshot::Sender<Result<()>>,
}

/// Starts the writer task on the current tokio runtime and returns its queue.
pub(crate) fn spawn(pool: AnyPool) -> mpsc::Sender<Job> {
    let (tx, rx) = mpsc::channel(4096);
    tokio::spawn(writer(pool, rx));
    tx
}

async fn writer(pool: AnyPool, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.recv().await {
        let mut points = first.metrics.len();
        let mut jobs = vec![first];
        while jobs.len() < MAX_JOBS && points < MAX_POINTS {
            match rx.try_recv() {
                Ok(job) => {
                    points += job.metrics.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        match commit(&pool, &jobs).await {
            Ok(outcomes) => {
                for (job, outcome) in jobs.into_iter().zip(outcomes) {
                    let _ = job.reply.send(outcome);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = jobs.len(), "group commit of metrics failed");
                let message = e.to_string();
                for job in jobs {
                    let _ = job.reply.send(Err(TrackError::Io {
                        path: "tracking database".into(),
                        source: std::io::Error::other(message.clone()),
                    }));
                }
            }
        }
    }
}

/// Writes the jobs whose runs are active in one transaction; returns each job's outcome.
async fn commit(pool: &AnyPool, jobs: &[Job]) -> Result<Vec<Result<()>>> {
    let mut tx = pool.begin().await?;
    let mut ids: Vec<&str> = jobs.iter().map(|j| j.run_id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut stage: HashMap<String, String> = HashMap::new();
    for chunk in ids.chunks(super::sql::MAX_BINDS_PER_STATEMENT) {
        let sql = format!(
            "SELECT run_uuid, lifecycle_stage FROM runs WHERE run_uuid IN ({})",
            placeholders(1, chunk.len())
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in chunk {
            q = q.bind(*id);
        }
        for row in q.fetch_all(&mut *tx).await? {
            stage.insert(text(&row, "run_uuid")?, text(&row, "lifecycle_stage")?);
        }
    }
    let mut outcomes = Vec::with_capacity(jobs.len());
    let mut items: Vec<(&str, &Metric)> = Vec::new();
    for job in jobs {
        match stage.get(&job.run_id).map(String::as_str) {
            None => outcomes.push(Err(TrackError::NotFound(format!(
                "Run '{}' not found",
                job.run_id
            )))),
            Some("active") => {
                items.extend(job.metrics.iter().map(|m| (job.run_id.as_str(), m)));
                outcomes.push(Ok(()));
            }
            Some(other) => outcomes.push(Err(TrackError::InvalidParameter(format!(
                "The run {} must be in the 'active' state. Current state is {other}.",
                job.run_id
            )))),
        }
    }
    if !items.is_empty() {
        insert_metrics_multi(&mut tx, &items).await?;
    }
    tx.commit().await?;
    Ok(outcomes)
}

impl Store {
    /// Queues metric points for the group-commit writer and waits until they are committed.
    pub(crate) async fn log_metrics_grouped(
        &self,
        run_id: &str,
        metrics: Vec<Metric>,
    ) -> Result<()> {
        let (reply, done) = oneshot::channel();
        let job = Job {
            run_id: run_id.to_string(),
            metrics,
            reply,
        };
        let closed = || TrackError::InvalidState("the tracking store is shutting down".into());
        self.metric_writer.send(job).await.map_err(|_| closed())?;
        done.await.map_err(|_| closed())?
    }
}

#[cfg(test)]
mod tests {
    use super::super::RunCreate;
    use super::super::tests::backends;
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_writers_share_commits_and_keep_every_point() {
        for (s, _dir) in backends().await {
            let mut runs = Vec::new();
            for _ in 0..4 {
                runs.push(
                    s.create_run(RunCreate::default())
                        .await
                        .expect("run")
                        .info
                        .run_id,
                );
            }
            let deleted = s
                .create_run(RunCreate::default())
                .await
                .expect("run")
                .info
                .run_id;
            s.delete_run(&deleted).await.expect("delete");
            let mut tasks = Vec::new();
            for w in 0..32 {
                let s = s.clone();
                let run = if w == 31 {
                    deleted.clone()
                } else {
                    runs[w % 4].clone()
                };
                tasks.push(tokio::spawn(async move {
                    let mut ok = 0;
                    for i in 0..20 {
                        let step = (w * 1000 + i) as i64;
                        let m = Metric {
                            key: "m".into(),
                            value: step as f64,
                            timestamp: 1,
                            step,
                            run_id: None,
                        };
                        if s.log_metric(&run, m).await.is_ok() {
                            ok += 1;
                        }
                    }
                    ok
                }));
            }
            let mut acked = 0;
            for t in tasks {
                acked += t.await.expect("task");
            }
            assert_eq!(
                acked,
                31 * 20,
                "every write to an active run is acknowledged, none to the deleted one"
            );
            let mut stored = 0;
            for run in &runs {
                let (h, _) = s
                    .get_metric_history(run, "m", None, None)
                    .await
                    .expect("history");
                stored += h.len();
                let latest = s.get_run(run).await.expect("run").data.metrics[0].step;
                assert_eq!(latest, h.iter().map(|m| m.step).max().expect("points"));
            }
            assert_eq!(stored, acked);
            let err = s
                .log_metric(
                    &deleted,
                    Metric {
                        key: "m".into(),
                        value: 1.0,
                        timestamp: 1,
                        step: 0,
                        run_id: None,
                    },
                )
                .await;
            assert!(
                err.expect_err("deleted")
                    .to_string()
                    .contains("'active' state")
            );
            let missing = s
                .log_metric(
                    "ffffffffffffffff",
                    Metric {
                        key: "m".into(),
                        value: 1.0,
                        timestamp: 1,
                        step: 0,
                        run_id: None,
                    },
                )
                .await;
            assert_eq!(
                missing.expect_err("missing").code(),
                crate::ErrorCode::ResourceDoesNotExist
            );
        }
    }
}
