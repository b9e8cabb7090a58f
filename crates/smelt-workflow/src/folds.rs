//! Cross-validation folds for a prepared table: which splitter fits the data (stratified for
//! classes, group folds when rows share a group, time-ordered folds when rows have a time),
//! and the warnings the folds deserve.

use smelt_core::catalog::Task;
use smelt_core::{Role, Target};
use smelt_eval::split::{
    Fold, GroupKFold, KFold, RepeatedKFold, RepeatedStratifiedKFold, SplitInput, Splitter,
    StratifiedGroupKFold, StratifiedKFold, TimeSeriesSplit, time_order,
};

use crate::error::{Error, Result};
use crate::prepare::Prepared;

/// Which kind of folds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum FoldKind {
    /// Group folds when the schema declares a group column, time-ordered folds when it
    /// declares a time column, stratified folds for classification, plain k-fold otherwise.
    #[default]
    Auto,
    /// Plain k-fold.
    KFold,
    /// Stratified k-fold (classification).
    Stratified,
    /// No group on both sides of a fold; the column, or the schema's group column.
    Group(Option<String>),
    /// Train on the past, test on the future; the column, or the schema's time column.
    Time(Option<String>),
}

/// How to cut a table into folds; the default is 5 shuffled folds, seed 0, chosen by
/// [`FoldKind::Auto`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CvSpec {
    /// Number of folds (at least 2).
    pub folds: usize,
    /// Which kind.
    pub kind: FoldKind,
    /// Shuffle rows (or groups) before cutting (never for time folds).
    pub shuffle: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Repeats with different shuffles (k-fold and stratified only).
    pub repeats: usize,
    /// Rows left out between training and test rows (time folds).
    pub gap: usize,
}

impl Default for CvSpec {
    fn default() -> Self {
        CvSpec {
            folds: 5,
            kind: FoldKind::Auto,
            shuffle: true,
            seed: 0,
            repeats: 1,
            gap: 0,
        }
    }
}

/// Folds and what was chosen.
#[derive(Clone, Debug)]
pub struct Folds {
    /// The folds (row indices into the prepared data).
    pub folds: Vec<Fold>,
    /// The splitter, as scikit-learn would print it (`StratifiedKFold(n_splits=5, ...)`).
    pub splitter: String,
    /// The column the folds follow (groups or time), if any.
    pub column: Option<String>,
    /// Problems worth telling the user (a small class, a fold with one class).
    pub warnings: Vec<String>,
}

/// Cuts `p` into folds for a model of `task` (see [`FoldKind`]).
pub fn make_folds(p: &Prepared, task: Task, spec: &CvSpec) -> Result<Folds> {
    let n = p.data.n_rows();
    let classes = match (task, p.data.target()) {
        (Task::Classification, Some(Target::Classification { codes, .. })) => {
            Some(codes.as_slice())
        }
        _ => None,
    };
    let labels: Option<&[String]> = match p.data.target() {
        Some(Target::Classification { classes, .. }) => Some(classes),
        _ => None,
    };
    let schema_col = |role| {
        smelt_data::keys::column_for(&p.table, None, role)
            .ok()
            .flatten()
    };
    let kind = match &spec.kind {
        FoldKind::Auto => match (schema_col(Role::Group), schema_col(Role::Time)) {
            (Some(g), _) => FoldKind::Group(Some(g)),
            (None, Some(t)) => FoldKind::Time(Some(t)),
            _ if classes.is_some() => FoldKind::Stratified,
            _ => FoldKind::KFold,
        },
        other => other.clone(),
    };
    let resolve =
        |explicit: &Option<String>, role: Role, what: &str, flag: &str| -> Result<String> {
            smelt_data::keys::column_for(&p.table, explicit.as_deref(), role)?.ok_or_else(|| {
                Error::Eval(smelt_eval::EvalError::input_hint(
                    "folds",
                    format!("{what} folds need a {what} column"),
                    format!(
                        "pass `{flag} COLUMN`, or give a column the `{}` role in the schema",
                        role.as_str()
                    ),
                ))
            })
        };
    let seeded = |s: u64| spec.seed.wrapping_add(s);
    let mut input = SplitInput::new(n);
    let groups: Vec<u64>;
    let order: Vec<usize>;
    let (splitter, column): (Box<dyn Splitter>, Option<String>) = match &kind {
        FoldKind::Group(col) => {
            let col = resolve(col, Role::Group, "group", "--group")?;
            groups = smelt_data::keys::group_codes(&p.table, &col)?
                .into_iter()
                .map(u64::from)
                .collect();
            input = input.with_groups(&groups);
            let s: Box<dyn Splitter> = match classes {
                Some(c) => {
                    input = input.with_classes(c);
                    let s = StratifiedGroupKFold::new(spec.folds)?;
                    Box::new(if spec.shuffle {
                        s.with_shuffle(seeded(0))
                    } else {
                        s
                    })
                }
                None => {
                    let s = GroupKFold::new(spec.folds)?;
                    Box::new(if spec.shuffle {
                        s.with_shuffle(seeded(0))
                    } else {
                        s
                    })
                }
            };
            (s, Some(col))
        }
        FoldKind::Time(col) => {
            let col = resolve(col, Role::Time, "time", "--time")?;
            let (times, _) = smelt_data::keys::time_values(&p.table, &col)?;
            order = time_order(&times);
            input = input.with_order(&order);
            (
                Box::new(TimeSeriesSplit::new(spec.folds)?.with_gap(spec.gap)),
                Some(col),
            )
        }
        FoldKind::Stratified => {
            let Some(c) = classes else {
                return Err(Error::Eval(smelt_eval::EvalError::input_hint(
                    "folds",
                    "stratified folds need a classification target",
                    "use k-fold folds for a regression target",
                )));
            };
            input = input.with_classes(c);
            let s: Box<dyn Splitter> = if spec.repeats > 1 {
                Box::new(RepeatedStratifiedKFold::new(
                    spec.folds,
                    spec.repeats,
                    seeded(0),
                )?)
            } else {
                let s = StratifiedKFold::new(spec.folds)?;
                Box::new(if spec.shuffle {
                    s.with_shuffle(seeded(0))
                } else {
                    s
                })
            };
            (s, None)
        }
        FoldKind::KFold | FoldKind::Auto => {
            if let Some(c) = classes {
                input = input.with_classes(c);
            }
            let s: Box<dyn Splitter> = if spec.repeats > 1 {
                Box::new(RepeatedKFold::new(spec.folds, spec.repeats, seeded(0))?)
            } else {
                let s = KFold::new(spec.folds)?;
                Box::new(if spec.shuffle {
                    s.with_shuffle(seeded(0))
                } else {
                    s
                })
            };
            (s, None)
        }
    };
    let folds = splitter.split(&input)?;
    let name_of = |c: u32| {
        labels
            .and_then(|l| l.get(c as usize))
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let warnings = splitter
        .warnings(&input, &folds)
        .iter()
        .map(|w| w.message(&name_of))
        .collect();
    Ok(Folds {
        folds,
        splitter: splitter.name(),
        column,
        warnings,
    })
}

/// The folds with each training part in a seeded random order, so that its first `n` rows
/// are a random subset of it (learning curves, successive halving); time-ordered folds keep
/// their order, the past first.
pub(crate) fn shuffled_training_rows(folds: &Folds, seed: u64) -> Vec<Fold> {
    let mut out = folds.folds.clone();
    if !folds.splitter.starts_with("TimeSeriesSplit") {
        let mut rng = smelt_core::rng::SplitMix64::new(seed);
        for f in &mut out {
            rng.shuffle(&mut f.train);
        }
    }
    out
}
