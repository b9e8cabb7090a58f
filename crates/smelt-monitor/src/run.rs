//! One monitoring run: read the reference and current tables, test every column for drift,
//! check data quality, cut the current data into windows — what `smelt monitor report` and
//! `smelt monitor test` do.
//!
//! The configuration file (`--config monitor.toml`) has a `[drift]` section (methods and
//! thresholds, see [`crate::drift::DriftConfig`]), a `[quality]` section
//! ([`QualityOptions`]), `[performance]` ([`PerformanceOptions`]) and `[multivariate]`
//! ([`MultivariateOptions`]), and may hold the `[[test]]` rules of `smelt monitor test`.

use std::path::Path;
use std::sync::Arc;

use smelt_core::{Prediction, Predictor};

use crate::drift::{self, ColumnDrift, ColumnInput, ColumnKind, DriftConfig};
use crate::error::{MonitorError, Result};
use crate::performance::{self, MultivariateOptions, Outcomes, PerformanceOptions};
use crate::quality::{self, QualityOptions};
use crate::report::{DriftRow, Monitoring, WindowRow};
use crate::table::{self, Column, ColumnRole, Table, TableOptions, Values};
use crate::window::{self, Window};

/// The settings of a configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonitorConfig {
    /// `[drift]`.
    pub drift: DriftConfig,
    /// `[quality]`.
    pub quality: QualityOptions,
    /// `[performance]`.
    pub performance: PerformanceOptions,
    /// `[multivariate]`.
    pub multivariate: MultivariateOptions,
}

fn section<T: serde::de::DeserializeOwned + Default>(
    doc: &toml::Table,
    name: &str,
    bad: &dyn Fn(String) -> MonitorError,
) -> Result<T> {
    match doc.get(name) {
        Some(v) => v
            .clone()
            .try_into::<T>()
            .map_err(|e| bad(format!("[{name}]: {e}"))),
        None => Ok(T::default()),
    }
}

impl MonitorConfig {
    /// Reads a TOML file: `[drift]`, `[quality]`, `[[test]]` (anything else is an error with a
    /// did-you-mean).
    pub fn load(path: &Path) -> Result<MonitorConfig> {
        let bad = |message: String| MonitorError::Config {
            path: path.display().to_string(),
            message,
        };
        let text =
            std::fs::read_to_string(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        let doc: toml::Table = toml::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let known = ["drift", "quality", "performance", "multivariate", "test"];
        for key in doc.keys() {
            if !known.contains(&key.as_str()) {
                let names: Vec<String> = known.iter().map(|s| s.to_string()).collect();
                let hint = smelt_data::closest(key, &names)
                    .map(|c| format!("; did you mean `[{c}]`?"))
                    .unwrap_or_default();
                return Err(bad(format!(
                    "unknown section `{key}`{hint} (sections: [drift], [quality], [performance], [multivariate], [[test]])"
                )));
            }
        }
        let drift = DriftConfig::from_toml_section(&text, path)?;
        Ok(MonitorConfig {
            drift,
            quality: section(&doc, "quality", &bad)?,
            performance: section(&doc, "performance", &bad)?,
            multivariate: section(&doc, "multivariate", &bad)?,
        })
    }
}

/// What a run needs besides the two files.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Columns' parts and reading.
    pub table: TableOptions,
    /// Methods and thresholds.
    pub config: MonitorConfig,
    /// Windows over the current data, if any.
    pub window: Option<Window>,
    /// A model scoring both tables: its predictions are monitored for drift and give the
    /// performance estimates (otherwise the tables' own prediction and score columns do).
    pub model: Option<Arc<dyn Predictor>>,
}

/// A finished run: the findings and the tables they came from (for the report's plots).
#[derive(Debug)]
pub struct Run {
    /// The findings.
    pub monitoring: Monitoring,
    /// The reference table.
    pub reference: Table,
    /// The current table.
    pub current: Table,
}

fn role(r: ColumnRole) -> drift::Role {
    match r {
        ColumnRole::Feature => drift::Role::Feature,
        ColumnRole::Target => drift::Role::Target,
        ColumnRole::Prediction => drift::Role::Prediction,
    }
}

/// Drift of every current column against the reference (`rows`: a subset of the current rows).
fn drift_rows(
    reference: &Table,
    current: &Table,
    rows: Option<&[usize]>,
    config: &DriftConfig,
) -> Result<Vec<ColumnDrift>> {
    // Owned subsets first, so the inputs can borrow them.
    let subsets: Vec<Option<Values>> = current
        .columns
        .iter()
        .map(|c| {
            rows.map(|rows| match &c.values {
                Values::Numeric(v) => Values::Numeric(rows.iter().map(|&i| v[i]).collect()),
                Values::Categorical { codes, labels } => Values::Categorical {
                    codes: rows.iter().map(|&i| codes[i]).collect(),
                    labels: labels.clone(),
                },
            })
        })
        .collect();
    let mut inputs = Vec::new();
    for (c, sub) in current.columns.iter().zip(&subsets) {
        let Some(rc) = reference.column(&c.name) else {
            continue;
        };
        let cv = sub.as_ref().unwrap_or(&c.values);
        let input = match (&rc.values, cv) {
            (Values::Numeric(r), Values::Numeric(v)) => ColumnInput::numerical(&c.name, r, v),
            (Values::Categorical { codes: r, labels }, Values::Categorical { codes: v, .. }) => {
                ColumnInput::categorical(&c.name, r, v, labels)
            }
            _ => continue,
        };
        inputs.push(input.with_role(role(c.role)));
    }
    drift::drift_columns(&inputs, config)
}

fn to_row(d: &ColumnDrift, table_role: ColumnRole) -> DriftRow {
    DriftRow {
        column: d.column.clone(),
        kind: match d.kind {
            ColumnKind::Numerical => "numeric".into(),
            ColumnKind::Categorical => "categorical".into(),
        },
        role: table_role,
        method: d.method.name().to_string(),
        score: d.score.unwrap_or(f64::NAN),
        p_value: d.p_value,
        threshold: d.threshold,
        drifted: d.drifted,
        skipped: d.cannot_test.clone(),
    }
}

/// Scores a table file with the model (its input columns read with their training types).
fn score(
    model: &dyn Predictor,
    path: &Path,
    read: &smelt_data::read::ReadOptions,
) -> Result<Prediction> {
    let frame = smelt_data::read::read(path, read)?;
    let (_, data) = smelt_data::frame_for_model(frame, path, model.input_features())?;
    model.predict(&data).map_err(|e| {
        MonitorError::Schema(format!(
            "{}: the model could not score it: {e}",
            path.display()
        ))
    })
}

/// Adds the model's prediction (and a binary classifier's positive-class probability) to a
/// table as prediction columns, replacing columns of the same names.
fn attach(table: &mut Table, pred: &Prediction) {
    let mut add = |name: String, values: Values| {
        table.columns.retain(|c| c.name != name);
        table.columns.push(Column {
            name,
            ltype: match values {
                Values::Numeric(_) => smelt_core::LogicalType::Numeric,
                Values::Categorical { .. } => smelt_core::LogicalType::Categorical,
            },
            role: ColumnRole::Prediction,
            values,
        });
    };
    match pred {
        Prediction::Regression { values } => {
            add("prediction".into(), Values::Numeric(values.clone()))
        }
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => {
            add(
                "prediction".into(),
                Values::Categorical {
                    codes: labels.clone(),
                    labels: classes.clone(),
                },
            );
            if let Some(p) = proba.as_ref().filter(|p| p.n_classes == 2) {
                add(
                    format!("proba_{}", classes[1]),
                    Values::Numeric((0..p.n_rows()).map(|i| p.row(i)[1]).collect()),
                );
            }
        }
        Prediction::Clustering { labels } => add(
            "prediction".into(),
            Values::Numeric(labels.iter().map(|&c| c as f64).collect()),
        ),
    }
}

/// Drift share of every window.
fn window_rows(
    reference: &Table,
    current: &Table,
    slices: &[window::Slice],
    config: &DriftConfig,
) -> Result<Vec<WindowRow>> {
    let mut windows = Vec::new();
    for s in slices {
        let d = drift_rows(reference, current, Some(&s.rows), config)?;
        let feats: Vec<&ColumnDrift> = d
            .iter()
            .filter(|c| c.role == drift::Role::Feature && c.cannot_test.is_none())
            .collect();
        let n_drifted = feats.iter().filter(|c| c.drifted).count();
        let share = if feats.is_empty() {
            0.0
        } else {
            n_drifted as f64 / feats.len() as f64
        };
        windows.push(WindowRow {
            key: s.key.clone(),
            rows: s.rows.len(),
            n_drifted,
            n_columns: feats.len(),
            share,
            drifted: !feats.is_empty() && share >= config.share,
            volume_anomaly: None,
        });
    }
    Ok(windows)
}

/// Runs everything on two files.
pub fn run(reference: &Path, current: &Path, opts: &RunOptions) -> Result<Run> {
    let mut rt = table::load_reference(reference, &opts.table)?;
    let (mut ct, issues) = table::load_current(current, &mut rt, &opts.table)?;
    let mut notes = Vec::new();
    let (ro, co) = match &opts.model {
        Some(model) => {
            let rp = score(model.as_ref(), reference, &opts.table.read)?;
            let ro = Outcomes::from_prediction(&rp, &rt);
            attach(&mut rt, &rp);
            let co = match score(model.as_ref(), current, &opts.table.read) {
                Ok(cp) => {
                    let co = Outcomes::from_prediction(&cp, &ct);
                    attach(&mut ct, &cp);
                    co
                }
                Err(e) => {
                    notes.push(format!(
                        "The model was not applied to the current data: {e}"
                    ));
                    Outcomes::default()
                }
            };
            (ro, co)
        }
        None => (
            Outcomes::from_columns(&rt, opts.table.score.as_deref()),
            Outcomes::from_columns(&ct, opts.table.score.as_deref()),
        ),
    };
    let config = &opts.config.drift;
    let drift = drift_rows(&rt, &ct, None, config)?;
    let role_of = |name: &str| ct.column(name).map_or(ColumnRole::Feature, |c| c.role);
    let mut rows: Vec<DriftRow> = drift
        .iter()
        .map(|d| to_row(d, role_of(&d.column)))
        .collect();
    rows.sort_by(|a, b| {
        b.drifted
            .cmp(&a.drifted)
            .then(b.strength().total_cmp(&a.strength()))
            .then(a.column.cmp(&b.column))
    });
    let mut quality = quality::check(&rt, &ct, &issues, &opts.config.quality);
    let slices = match opts.window {
        Some(w) => window::slices(ct.n_rows, ct.time.as_deref(), w)?.0,
        None => Vec::new(),
    };
    let mut windows = window_rows(&rt, &ct, &slices, config)?;
    // Volume is only news for windows of time (windows of rows hold the same number each).
    if matches!(opts.window, Some(Window::Period(_))) && windows.len() > 1 {
        let keys: Vec<&str> = windows.iter().map(|w| w.key.as_str()).collect();
        let rows: Vec<usize> = windows.iter().map(|w| w.rows).collect();
        let (check, anomalies) =
            quality::window_volume(&keys, &rows, opts.config.quality.volume_factor);
        quality.push(check);
        for (w, a) in windows.iter_mut().zip(anomalies) {
            w.volume_anomaly = a;
        }
    }
    let computed = match performance::feature_datasets(&rt, &ct) {
        Ok((rf, cf)) => {
            let outputs_fit = co.y_pred.as_ref().is_none_or(|p| p.len() == ct.n_rows);
            let empty = Outcomes::default();
            performance::compute(
                &performance::Inputs {
                    reference: &ro,
                    current: if outputs_fit { &co } else { &empty },
                    reference_features: &rf,
                    current_features: &cf,
                    windows: &slices,
                },
                &opts.config.performance,
                &opts.config.multivariate,
            )
        }
        Err(e) => performance::Computed {
            notes: vec![format!(
                "Performance and multivariate drift not computed: {e}"
            )],
            ..Default::default()
        },
    };
    notes.extend(computed.notes);
    let name = |p: &Path| {
        p.file_name().map_or_else(
            || p.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    };
    Ok(Run {
        monitoring: Monitoring {
            reference: (name(reference), rt.n_rows),
            current: (name(current), ct.n_rows),
            drift: rows,
            share_threshold: config.share,
            quality,
            windows,
            performance: computed.performance,
            multivariate: computed.multivariate,
            notes,
        },
        reference: rt,
        current: ct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_file_reads_drift_quality_and_tests_and_names_a_typo() {
        let dir = tempfile::tempdir().expect("tmp");
        let ok = dir.path().join("monitor.toml");
        std::fs::write(
            &ok,
            "[drift]\nshare = 0.3\n[drift.columns.age]\nmethod = \"psi\"\n\n[quality]\nout_of_range_share = 0.05\n\n[[test]]\nmetric = \"rows\"\ngt = 10\n",
        )
        .expect("write");
        let c = MonitorConfig::load(&ok).expect("valid");
        assert!((c.drift.share - 0.3).abs() < 1e-12);
        assert!((c.quality.out_of_range_share - 0.05).abs() < 1e-12);
        assert!(c.drift.columns.contains_key("age"));
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[qualty]\nout_of_range_share = 0.05\n").expect("write");
        let e = MonitorConfig::load(&bad).unwrap_err().to_string();
        assert!(
            e.contains("bad.toml") && e.contains("did you mean `[quality]`"),
            "{e}"
        );
        std::fs::write(&bad, "[quality]\nout_of_range = 0.05\n").expect("write");
        let e = MonitorConfig::load(&bad).unwrap_err().to_string();
        assert!(e.contains("[quality]") && e.contains("out_of_range"), "{e}");
    }
}
