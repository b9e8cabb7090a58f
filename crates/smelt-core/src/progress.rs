//! Live progress of long fits (networks trained for many epochs), reported to whoever listens.
//!
//! Estimators are called through the object-safe [`Fit`](crate::Fit) API, which has no place
//! for a callback; a training loop calls [`report`] instead, and a front end (the `smelt`
//! binary's progress bar) installs a listener with [`listen`]. Nothing is reported when no one
//! listens, and a report costs one uncontended lock read. Cross-validation fits folds in
//! parallel: their reports interleave, so a listener should show them as activity, not order.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// One report from a training loop.
#[derive(Clone, Debug, PartialEq)]
pub struct Progress<'a> {
    /// The estimator (`MLPClassifier`).
    pub estimator: &'a str,
    /// 1-based epoch.
    pub epoch: usize,
    /// The most epochs the fit runs (early stopping may end it sooner).
    pub epochs: usize,
    /// Mini-batches done in this epoch.
    pub step: usize,
    /// Mini-batches in an epoch.
    pub steps: usize,
    /// Mean training loss over this epoch's batches so far.
    pub loss: f64,
    /// The validation loss of the last finished epoch, when the fit holds out rows.
    pub valid_loss: Option<f64>,
    /// Training rows per second in this epoch so far.
    pub samples_per_second: f64,
    /// Whether this report closes the epoch (`step == steps`, validation done).
    pub epoch_done: bool,
}

type Listener = Arc<dyn Fn(&Progress<'_>) + Send + Sync>;

static LISTENERS: RwLock<Vec<(u64, Listener)>> = RwLock::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Installs `f` as a listener of every later report (beside any others: the binary's progress
/// bar and the workflow's live metric logging both listen), until the returned guard is
/// dropped.
pub fn listen(f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> ListenGuard {
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut l = LISTENERS.write().unwrap_or_else(|e| e.into_inner());
    l.push((id, Arc::new(f)));
    ListenGuard(id)
}

/// Removes its listener when dropped.
#[derive(Debug)]
#[must_use = "the listener is removed when the guard is dropped"]
pub struct ListenGuard(u64);

impl Drop for ListenGuard {
    fn drop(&mut self) {
        let mut l = LISTENERS.write().unwrap_or_else(|e| e.into_inner());
        l.retain(|(id, _)| *id != self.0);
    }
}

/// Whether anyone listens (a loop may skip preparing reports otherwise).
pub fn listening() -> bool {
    LISTENERS.read().map(|l| !l.is_empty()).unwrap_or(false)
}

/// Sends `p` to every listener.
pub fn report(p: &Progress<'_>) {
    let listeners: Vec<Listener> = LISTENERS
        .read()
        .map(|l| l.iter().map(|(_, f)| f.clone()).collect())
        .unwrap_or_default();
    for f in listeners {
        f(p);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn reports_reach_the_listener_until_the_guard_drops() {
        static SEEN: AtomicUsize = AtomicUsize::new(0);
        let p = Progress {
            estimator: "X",
            epoch: 1,
            epochs: 2,
            step: 1,
            steps: 1,
            loss: 0.5,
            valid_loss: None,
            samples_per_second: 10.0,
            epoch_done: true,
        };
        {
            let _g = listen(|p| {
                SEEN.fetch_add(p.epoch, Ordering::SeqCst);
            });
            assert!(listening());
            report(&p);
        }
        assert!(!listening());
        report(&p);
        assert_eq!(SEEN.load(Ordering::SeqCst), 1);
        // Two listeners both hear a report; dropping one leaves the other.
        static OTHER: AtomicUsize = AtomicUsize::new(0);
        let a = listen(|_| {
            SEEN.fetch_add(10, Ordering::SeqCst);
        });
        let b = listen(|_| {
            OTHER.fetch_add(1, Ordering::SeqCst);
        });
        report(&p);
        drop(a);
        report(&p);
        drop(b);
        assert_eq!(SEEN.load(Ordering::SeqCst), 11);
        assert_eq!(OTHER.load(Ordering::SeqCst), 2);
    }
}
