//! Evaluating a saved model on a labelled table — what `smelt eval` does — and the pieces the
//! ladder's report shares with it: slice columns read from a table (features or not), the
//! default slice columns, the model report.

use std::path::Path;

use smelt_core::{Dataset, LogicalType, Prediction, Predictor, Role, Target};
use smelt_data::Loaded;
use smelt_data::polars::prelude::DataType;
use smelt_eval::importance::{PermutationImportance, permutation_importance};
use smelt_eval::metrics::registry::Scorer;
use smelt_eval::report::{ModelReportInput, Report, model_report};
use smelt_eval::slices::{
    SliceColumn, SliceOptions, SliceReport, SliceValues, confident_errors, slice_metrics,
};

use crate::error::{Error, Result};
use crate::event::Event;
use crate::model::Model;
use crate::prepare::prepare;

/// The values of `names` in `table`, as slice columns: numbers stay numbers (binned by
/// quantiles), everything else is read as text. A name not in the table is an error with a
/// did-you-mean.
pub fn slice_columns(table: &Loaded, names: &[String]) -> Result<Vec<SliceColumn>> {
    let mut out = Vec::with_capacity(names.len());
    for name in names {
        let Some(col) = table.schema.get(name) else {
            return Err(Error::Data(smelt_data::DataError::MissingColumn {
                path: table.path.clone(),
                name: name.clone(),
                available: table
                    .schema
                    .columns()
                    .iter()
                    .map(|c| c.name.clone())
                    .collect(),
            }));
        };
        let s = table
            .frame
            .column(name)
            .map_err(|source| Error::Table {
                context: format!("reading `{name}` for slices"),
                source,
            })?
            .as_materialized_series()
            .clone();
        let table_err = |source| Error::Table {
            context: format!("reading `{name}` for slices"),
            source,
        };
        let values = if matches!(col.ltype, LogicalType::Numeric | LogicalType::Integer) {
            let f = s.cast(&DataType::Float64).map_err(table_err)?;
            SliceValues::Numeric(
                f.f64()
                    .map_err(table_err)?
                    .iter()
                    .map(|v| v.unwrap_or(f64::NAN))
                    .collect(),
            )
        } else {
            let t = s.cast(&DataType::String).map_err(table_err)?;
            SliceValues::Categorical(
                t.str()
                    .map_err(table_err)?
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect(),
            )
        };
        out.push(SliceColumn {
            name: name.clone(),
            values,
        });
    }
    Ok(out)
}

/// Columns worth slicing by when none are named: the group column, then categorical or
/// boolean features with 2–20 values (at most four in all).
pub fn default_slices(table: &Loaded) -> Vec<String> {
    let mut out: Vec<String> = table
        .schema
        .with_role(Role::Group)
        .map(|c| c.name.clone())
        .collect();
    for c in table.schema.tabular_features() {
        if out.len() >= 4 {
            break;
        }
        if !matches!(c.ltype, LogicalType::Categorical | LogicalType::Boolean) {
            continue;
        }
        let distinct = table
            .frame
            .column(&c.name)
            .ok()
            .and_then(|s| s.n_unique().ok())
            .unwrap_or(0);
        if (2..=20).contains(&distinct) {
            out.push(c.name.clone());
        }
    }
    out
}

/// Permutation importance of `model` on at most `max_rows` rows of `data` (the first ones:
/// pass held-out rows), 5 repeats.
pub fn importance_on(
    model: &dyn Predictor,
    data: &Dataset<f64>,
    max_rows: usize,
    seed: u64,
) -> Result<Vec<PermutationImportance>> {
    let rows: Vec<usize> = (0..data.n_rows().min(max_rows)).collect();
    let d = data.select_rows(&rows)?;
    Ok(permutation_importance(model, &d, 5, seed)?)
}

/// What [`evaluate`] returns.
#[derive(Debug)]
pub struct Evaluation {
    /// The report (write it with [`Report::write`]).
    pub report: Report,
    /// The standard metrics of the task on the table.
    pub metrics: Vec<(&'static str, f64)>,
    /// The slices, when asked.
    pub slices: Option<SliceReport>,
    /// Rows evaluated.
    pub rows: usize,
}

/// Evaluates `model` on the labelled table `data`: the task's metrics, slices by `slices`
/// (columns of the table, features or not), the most confident errors, permutation importance
/// (on up to 5,000 rows), and the report.
pub fn evaluate(
    model: &Model,
    data: &Loaded,
    slices: &[String],
    on_event: Option<&dyn Fn(Event<'_>)>,
) -> Result<Evaluation> {
    let Some(target_col) = data.schema.target() else {
        return Err(Error::NoTarget {
            model: "evaluation".into(),
        });
    };
    let target_name = target_col.name.clone();
    let p = prepare(data, on_event)?;
    let target = p.data.target().ok_or_else(|| Error::NoTarget {
        model: "evaluation".into(),
    })?;
    // Categories the model never saw are scored as unknown ones: said, not silent.
    let unseen = smelt_core::unseen_category_warnings(
        &p.data.unseen_categories(model.predictor().input_features()),
    );
    if let Some(f) = on_event {
        for w in &unseen {
            f(Event::Warning(w));
        }
    }
    let pred = model
        .predictor()
        .predict(&p.data)
        .map_err(|source| Error::Predict {
            path: data.path.clone(),
            source: Box::new(source),
        })?;
    check_task(target, &pred, &data.path)?;
    let metrics = smelt_eval::metrics::evaluate(target, &pred, None)?;
    let scorers: Vec<&'static Scorer> = metrics
        .iter()
        .filter_map(|(n, _)| smelt_eval::metrics::find(n).ok())
        .collect();
    let slice_report = if slices.is_empty() {
        None
    } else {
        let cols = slice_columns(&p.table, slices)?;
        Some(slice_metrics(
            target,
            &pred,
            &cols,
            &scorers,
            &SliceOptions::default(),
        )?)
    };
    let errors = confident_errors(target, &pred, 20)?;
    let importance = importance_on(model.predictor(), &p.data, 5_000, 0).ok();
    let file = |path: &Path| {
        path.file_name().map_or_else(
            || path.display().to_string(),
            |f| f.to_string_lossy().into_owned(),
        )
    };
    let kind = model
        .metadata()
        .get("model")
        .and_then(|m| m.as_str())
        .unwrap_or(model.predictor().kind())
        .to_string();
    let mut input = ModelReportInput::new(format!("{kind} on {}", file(&data.path)), target, &pred);
    input.model = Some(kind);
    input.data = Some(data.path.display().to_string());
    input.target_name = Some(target_name);
    input.slices = slice_report.as_ref();
    input.errors = Some(&errors);
    input.importance = importance.as_deref();
    let own = model.predictor().feature_importances();
    input.own_importance = own.as_deref();
    if p.rows_without_target > 0 {
        input.notes.push(format!(
            "{} rows without a target value were left out",
            p.rows_without_target
        ));
    }
    input.notes.extend(unseen);
    let report = model_report(&input)?;
    Ok(Evaluation {
        report,
        metrics,
        slices: slice_report,
        rows: p.data.n_rows(),
    })
}

/// A regression model on class labels (or the reverse) is a clear error, not nonsense metrics.
fn check_task(target: &Target, pred: &Prediction, path: &Path) -> Result<()> {
    let ok = matches!(
        (target, pred),
        (Target::Regression { .. }, Prediction::Regression { .. })
            | (
                Target::Classification { .. },
                Prediction::Classification { .. }
            )
    );
    if ok {
        return Ok(());
    }
    Err(Error::Eval(smelt_eval::EvalError::input_hint(
        path.display().to_string(),
        "the model's task does not match the target's (a regressor on class labels, or a classifier on numbers)",
        "evaluate a model trained for this target",
    )))
}
