//! Live progress of long fits (networks trained for many epochs), reported to whoever listens.
//!
//! Estimators are called through the object-safe [`Fit`](crate::Fit) API, which has no place
//! for a callback; a training loop calls [`report`] instead, and a front end (the `smelt`
//! binary's progress bar) installs a listener with [`listen`]. Nothing is reported when no one
//! listens, and a report costs one uncontended lock read. Cross-validation fits folds in
//! parallel: their reports interleave, so a listener should show them as activity, not order.

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

static LISTENER: RwLock<Option<Listener>> = RwLock::new(None);

/// Installs `f` as the listener of every later report (replacing any), until the returned
/// guard is dropped.
pub fn listen(f: impl Fn(&Progress<'_>) + Send + Sync + 'static) -> ListenGuard {
    let mut l = LISTENER.write().unwrap_or_else(|e| e.into_inner());
    *l = Some(Arc::new(f));
    ListenGuard(())
}

/// Removes the listener when dropped.
#[derive(Debug)]
#[must_use = "the listener is removed when the guard is dropped"]
pub struct ListenGuard(());

impl Drop for ListenGuard {
    fn drop(&mut self) {
        let mut l = LISTENER.write().unwrap_or_else(|e| e.into_inner());
        *l = None;
    }
}

/// Whether anyone listens (a loop may skip preparing reports otherwise).
pub fn listening() -> bool {
    LISTENER.read().map(|l| l.is_some()).unwrap_or(false)
}

/// Sends `p` to the listener, if there is one.
pub fn report(p: &Progress<'_>) {
    let l = LISTENER.read().ok().and_then(|l| l.clone());
    if let Some(f) = l {
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
    }
}
