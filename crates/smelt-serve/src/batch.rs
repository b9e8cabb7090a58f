//! Dynamic batching, as Triton and MLServer do it: requests for one model version wait in a
//! bounded queue; a worker thread (off the I/O runtime) takes what is queued — up to
//! `max_batch_size` rows, waiting at most `max_queue_delay` for more — scores it as one block and
//! hands each request its rows. A full queue refuses new work at once (the server answers 503
//! with `Retry-After`) instead of growing without bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TryRecvError, TrySendError};
use serde::Serialize;
use smelt_core::{Prediction, Predictor, Proba, SharedFeatures};
use tokio::sync::oneshot;

use crate::decode::Rows;
use crate::metrics::VersionMetrics;

/// Batching settings of one model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Batching {
    /// Most rows scored in one block (a single larger request is still scored whole).
    pub max_batch_size: usize,
    /// How long the worker waits for more requests once it has one (0: take what is queued).
    pub max_queue_delay_us: u64,
    /// Requests that may wait; beyond that the server answers 503.
    pub queue_capacity: usize,
    /// Worker threads scoring this model.
    pub workers: usize,
}

impl Default for Batching {
    fn default() -> Self {
        Batching {
            max_batch_size: 64,
            max_queue_delay_us: 0,
            queue_capacity: 1024,
            workers: 1,
        }
    }
}

/// The answer to one request: its predictions, or a message for the client.
pub type Answer = Result<Prediction, String>;

struct Job {
    rows: Rows,
    reply: oneshot::Sender<Answer>,
}

/// Why a request was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue is full.
    Full,
    /// The model is being unloaded.
    Closed,
}

/// The queue in front of one model version and its workers.
pub struct Batcher {
    tx: Sender<Job>,
    model: Arc<dyn Predictor>,
}

impl std::fmt::Debug for Batcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batcher")
            .field("queued", &self.tx.len())
            .finish()
    }
}

impl Batcher {
    /// Starts the workers. They stop once the batcher is dropped and its queue is drained, so
    /// replacing a version never loses a queued request.
    pub fn start(
        model: Arc<dyn Predictor>,
        settings: &Batching,
        metrics: VersionMetrics,
        thread_name: &str,
    ) -> std::io::Result<Batcher> {
        let (tx, rx) = crossbeam_channel::bounded(settings.queue_capacity.max(1));
        let features = SharedFeatures::new(model.input_features().to_vec())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        for w in 0..settings.workers.max(1) {
            let worker = Worker {
                model: model.clone(),
                features: features.clone(),
                rx: rx.clone(),
                max_rows: settings.max_batch_size.max(1),
                delay: Duration::from_micros(settings.max_queue_delay_us),
                metrics: metrics.clone(),
            };
            std::thread::Builder::new()
                .name(format!("{thread_name}-{w}"))
                .spawn(move || worker.run())?;
        }
        Ok(Batcher { tx, model })
    }

    /// The model its workers score with.
    pub fn model(&self) -> &dyn Predictor {
        self.model.as_ref()
    }

    /// Queues rows; the receiver gets the answer.
    pub fn submit(&self, rows: Rows) -> Result<oneshot::Receiver<Answer>, Refused> {
        let (reply, rx) = oneshot::channel();
        match self.tx.try_send(Job { rows, reply }) {
            Ok(()) => Ok(rx),
            Err(TrySendError::Full(_)) => Err(Refused::Full),
            Err(TrySendError::Disconnected(_)) => Err(Refused::Closed),
        }
    }

    /// Requests waiting.
    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

struct Worker {
    model: Arc<dyn Predictor>,
    /// The model's input features, shared by every batch's dataset (not copied per batch).
    features: SharedFeatures,
    rx: Receiver<Job>,
    max_rows: usize,
    delay: Duration,
    metrics: VersionMetrics,
}

impl Worker {
    fn run(self) {
        while let Ok(first) = self.rx.recv() {
            let mut rows = first.rows.n;
            let mut jobs = vec![first];
            let deadline = Instant::now() + self.delay;
            while rows < self.max_rows {
                let next = match self.rx.try_recv() {
                    Ok(j) => j,
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) if self.delay.is_zero() => break,
                    Err(TryRecvError::Empty) => match self.rx.recv_deadline(deadline) {
                        Ok(j) => j,
                        Err(_) => break,
                    },
                };
                rows += next.rows.n;
                jobs.push(next);
            }
            self.score(jobs, rows);
        }
    }

    fn score(&self, jobs: Vec<Job>, total: usize) {
        self.metrics.batch_rows.observe(total as f64);
        self.metrics.rows.inc_by(total as u64);
        if jobs.len() == 1 {
            for job in jobs {
                let answer = self.predict(job.rows);
                let _ = job.reply.send(answer);
            }
            return;
        }
        let k = self.features.len();
        let mut values = Vec::with_capacity(total * k);
        for j in 0..k {
            for job in &jobs {
                let n = job.rows.n;
                values.extend_from_slice(&job.rows.values[j * n..(j + 1) * n]);
            }
        }
        // Free text: each text feature's rows, job after job (a job without the feature — no
        // rows — adds nothing).
        let mut texts: Vec<(usize, Vec<Option<String>>)> = Vec::new();
        for (j, f) in self.features.iter().enumerate() {
            if f.ltype != smelt_core::LogicalType::Text {
                continue;
            }
            let mut column = Vec::with_capacity(total);
            for job in &jobs {
                match job.rows.texts.iter().find(|(p, _)| *p == j) {
                    Some((_, v)) => column.extend(v.iter().cloned()),
                    None => column.extend(std::iter::repeat_n(None, job.rows.n)),
                }
            }
            texts.push((j, column));
        }
        match self.predict(Rows {
            n: total,
            values,
            texts,
        }) {
            Ok(pred) => {
                let mut start = 0;
                for job in jobs {
                    let n = job.rows.n;
                    let _ = job.reply.send(Ok(take(&pred, start, n)));
                    start += n;
                }
            }
            // One request's rows failed the block: score each alone so only it fails.
            Err(_) => {
                for job in jobs {
                    let answer = self.predict(job.rows);
                    let _ = job.reply.send(answer);
                }
            }
        }
    }

    fn predict(&self, rows: Rows) -> Answer {
        let data = rows
            .into_dataset(&self.features)
            .map_err(|e| e.to_string())?;
        self.model.predict(&data).map_err(|e| e.to_string())
    }
}

/// Rows `start..start + n` of a prediction.
pub fn take(pred: &Prediction, start: usize, n: usize) -> Prediction {
    let r = start..start + n;
    match pred {
        Prediction::Regression { values } => Prediction::Regression {
            values: values[r].to_vec(),
        },
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => Prediction::Classification {
            labels: labels[r].to_vec(),
            classes: classes.clone(),
            proba: proba.as_ref().map(|p| Proba {
                n_classes: p.n_classes,
                values: p.values[start * p.n_classes..(start + n) * p.n_classes].to_vec(),
            }),
        },
        Prediction::Clustering { labels } => Prediction::Clustering {
            labels: labels[r].to_vec(),
        },
        Prediction::Embedding { dim, values } => Prediction::Embedding {
            dim: *dim,
            values: values[start * dim..(start + n) * dim].to_vec(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn take_slices_every_kind() {
        let p = Prediction::Classification {
            labels: vec![0, 1, 1],
            classes: vec!["a".into(), "b".into()],
            proba: Some(Proba {
                n_classes: 2,
                values: vec![0.9, 0.1, 0.2, 0.8, 0.3, 0.7],
            }),
        };
        let Prediction::Classification { labels, proba, .. } = take(&p, 1, 2) else {
            panic!("kind changed")
        };
        assert_eq!(labels, [1, 1]);
        assert_eq!(proba.unwrap().values, [0.2, 0.8, 0.3, 0.7]);
        let r = Prediction::Regression {
            values: vec![1.0, 2.0, 3.0],
        };
        assert_eq!(take(&r, 2, 1), Prediction::Regression { values: vec![3.0] });
    }
}
