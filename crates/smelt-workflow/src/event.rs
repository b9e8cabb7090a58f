//! What the workflows tell their caller while they run (they print nothing themselves).

/// Something a caller may want to show while a workflow ([`train`](crate::train()), cross-validation,
/// tuning, the ladder) runs.
/// New kinds of events may be added (the enum is `non_exhaustive`): match with a `_` arm.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// Information (rows left out).
    Note(&'a str),
    /// A problem that does not stop the fit (tracking).
    Warning(&'a str),
    /// The fit starts: the model's name and the training rows.
    FitStarted {
        /// Catalogue name.
        model: &'a str,
        /// Rows it is fitted on.
        rows: usize,
    },
    /// The fit is over (successfully or not).
    FitFinished,
    /// A cross-validation fold is scored.
    FoldDone {
        /// 0-based fold index.
        index: usize,
        /// Number of folds.
        total: usize,
        /// The fold's score on the first metric.
        score: f64,
    },
    /// A rung of the ladder starts.
    RungStarted {
        /// 0-based rung index.
        index: usize,
        /// Number of rungs.
        total: usize,
        /// The rung's name ("gradient boosting").
        label: &'a str,
    },
    /// A rung of the ladder is scored (again after tuning).
    RungDone {
        /// 0-based rung index.
        index: usize,
        /// Number of rungs.
        total: usize,
        /// The rung's name.
        label: &'a str,
        /// The ranking metric.
        metric: &'a str,
        /// Its cross-validated mean (`None`: skipped).
        mean: Option<f64>,
        /// Its standard deviation across folds.
        std: Option<f64>,
        /// Seconds spent on the rung so far.
        seconds: f64,
        /// Why it was skipped.
        skipped: Option<&'a str>,
    },
    /// A tuning trial is over.
    TrialDone {
        /// 0-based trial number.
        number: usize,
        /// The most trials the study runs.
        total: usize,
        /// Its cross-validated score (`None`: pruned or failed).
        value: Option<f64>,
        /// Whether it was pruned.
        pruned: bool,
        /// The best score so far.
        best: Option<f64>,
    },
}
