//! The row pass of a run, when a model scores the tables or multivariate drift is on: both
//! tables read in batches of whole rows. The model's outputs are kept for every row (a few
//! numbers a row); the features are kept for an evenly spaced sample of reference rows (what the
//! PCA and DLE learn from) and, for the current data, only as each row's reconstruction error —
//! unless DLE (a regressor's estimated performance) or the domain classifier needs them whole.

use std::path::Path;
use std::sync::Arc;

use smelt_core::{Dataset, Feature, Prediction, Predictor};

use super::RunOptions;
use crate::error::{MonitorError, Result};
use crate::multivariate::{DataReconstruction, DataReconstructionParams};
use crate::performance::{Outcomes, Tracked, reconstruction};
use crate::source;
use crate::table::{Column, ColumnRole};
use crate::window::Slice;

/// What the row pass found and keeps.
#[derive(Debug, Default)]
pub(super) struct RowPass {
    /// The model's outputs (without labels yet) on each table, when a model scored them.
    pub reference_predictions: Option<Predictions>,
    pub current_predictions: Option<Predictions>,
    /// Features of sampled reference rows, and which rows.
    pub reference_sample: Option<Dataset<f64>>,
    pub sample_rows: Vec<usize>,
    /// The current data's features, when kept.
    pub current_features: Option<Dataset<f64>>,
    pub reconstruction: Option<Tracked>,
    pub notes: Vec<String>,
}

/// A model's predictions gathered batch by batch.
#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Predictions {
    /// Classes, for a classifier.
    pub classes: Option<Vec<String>>,
    /// Class codes or values.
    pub y_pred: Vec<f64>,
    /// Probability of each class (classifiers with probabilities).
    pub proba: Vec<Vec<f64>>,
    /// Whether the model predicts vectors (embeddings): no outcomes to track.
    pub vectors: bool,
}

impl Predictions {
    fn push(&mut self, p: &Prediction) {
        match p {
            Prediction::Regression { values } => self.y_pred.extend_from_slice(values),
            Prediction::Classification {
                labels,
                classes,
                proba,
            } => {
                self.classes.get_or_insert_with(|| classes.clone());
                self.y_pred.extend(labels.iter().map(|&c| f64::from(c)));
                if let Some(p) = proba {
                    self.proba.resize_with(p.n_classes, Vec::new);
                    for i in 0..p.n_rows() {
                        for (k, col) in self.proba.iter_mut().enumerate() {
                            col.push(p.row(i)[k]);
                        }
                    }
                }
            }
            Prediction::Clustering { labels } => {
                self.y_pred.extend(labels.iter().map(|&c| c as f64));
            }
            Prediction::Embedding { .. } => self.vectors = true,
        }
    }

    /// With the labels of `roles`' target column, as the performance calculations take them.
    pub fn outcomes(&self, roles: &[Column]) -> Outcomes {
        if self.vectors {
            return Outcomes::default();
        }
        let target = roles.iter().find(|c| c.role == ColumnRole::Target);
        Outcomes {
            y_true: target.map(|t| crate::outcomes::codes_of(t, self.classes.as_deref())),
            y_pred: Some(self.y_pred.clone()),
            proba: self.proba.clone(),
            classes: self.classes.clone(),
        }
    }
}

/// Column-major values of some rows, gathered batch by batch.
struct Gather {
    features: Vec<Feature>,
    columns: Vec<Vec<f64>>,
    rows: usize,
}

impl Gather {
    fn new(features: &[Feature]) -> Gather {
        Gather {
            features: features.to_vec(),
            columns: vec![Vec::new(); features.len()],
            rows: 0,
        }
    }

    fn push(&mut self, d: &Dataset<f64>, rows: Option<&[usize]>) {
        for (j, col) in self.columns.iter_mut().enumerate() {
            let src = d.column(j);
            match rows {
                Some(rows) => col.extend(rows.iter().map(|&i| src[i])),
                None => col.extend_from_slice(src),
            }
        }
        self.rows += rows.map_or(d.n_rows(), <[usize]>::len);
    }

    fn finish(self) -> Result<Dataset<f64>> {
        let values: Vec<f64> = self.columns.into_iter().flatten().collect();
        Ok(Dataset::new(self.rows, values, self.features, None)?)
    }
}

/// Which parts of the row pass to run.
pub(super) struct Wants<'a> {
    pub model: Option<&'a Arc<dyn Predictor>>,
    pub reconstruction: bool,
    /// Keep the reference sample (DLE, domain classifier, reconstruction).
    pub sample: bool,
    /// Keep the current data's features whole.
    pub current_features: bool,
    pub max_reference_rows: usize,
}

fn names(features: &[Feature], model: Option<&Arc<dyn Predictor>>) -> Vec<String> {
    let mut names: Vec<String> = features.iter().map(|f| f.name.clone()).collect();
    for f in model.map(|m| m.input_features()).unwrap_or(&[]) {
        if !names.contains(&f.name) {
            names.push(f.name.clone());
        }
    }
    names
}

fn predict(
    model: &dyn Predictor,
    batch: smelt_data::polars::prelude::DataFrame,
    path: &Path,
) -> Result<Prediction> {
    let (_, data) = smelt_data::frame_for_model(batch, path, model.input_features())?;
    model.predict(&data).map_err(|e| {
        MonitorError::Schema(format!(
            "{}: the model could not score it: {e}",
            path.display()
        ))
    })
}

/// A batch's features laid out as `features` (categories by label into the shared lists).
fn features_of(
    batch: smelt_data::polars::prelude::DataFrame,
    path: &Path,
    features: &[Feature],
) -> Result<Dataset<f64>> {
    let (_, d) = smelt_data::frame_for_model(batch, path, features)?;
    Ok(d.conform(features, smelt_core::UnknownCategory::Missing)?
        .into_owned())
}

pub(super) fn row_pass(
    reference: Option<&Path>,
    current: &Path,
    opts: &RunOptions,
    features: &[Feature],
    reference_rows: usize,
    windows: &[Slice],
    wants: &Wants<'_>,
) -> Result<RowPass> {
    let read = &opts.table.read;
    let mut out = RowPass::default();
    let use_features = !features.is_empty() && (wants.sample || wants.current_features);
    let feature_list: &[Feature] = if use_features { features } else { &[] };
    // The reference: predictions of every row, features of every k-th.
    let step = reference_rows
        .div_ceil(wants.max_reference_rows.max(1))
        .max(1);
    let mut preds = wants.model.map(|_| Predictions::default());
    let mut sample = Gather::new(feature_list);
    let mut offset = 0usize;
    let wanted = names(feature_list, wants.model);
    if let Some(reference) = reference.filter(|_| !wanted.is_empty()) {
        source::for_each_batch(reference, read, &wanted, |batch| {
            let n = batch.height();
            if let (Some(m), Some(p)) = (wants.model, preds.as_mut()) {
                p.push(&predict(m.as_ref(), batch.clone(), reference)?);
            }
            if use_features && wants.sample {
                let local: Vec<usize> = (0..n)
                    .filter(|i| (offset + i).is_multiple_of(step))
                    .collect();
                if !local.is_empty() {
                    let d = features_of(batch, reference, feature_list)?;
                    sample.push(&d, Some(&local));
                    out.sample_rows.extend(local.iter().map(|&i| offset + i));
                }
            }
            offset += n;
            Ok(())
        })?;
    }
    out.reference_predictions = preds.filter(|_| reference.is_some());
    let sample = if use_features && wants.sample && sample.rows > 0 {
        Some(sample.finish()?)
    } else {
        None
    };
    let fitted: Option<DataReconstruction> = match (&sample, wants.reconstruction) {
        (Some(s), true) => match DataReconstructionParams::default().fit(s, None) {
            Ok(mut f) => {
                f.set_chunker(crate::chunk::Chunker::whole());
                Some(f)
            }
            Err(e) => {
                out.notes
                    .push(format!("Data-reconstruction drift not computed: {e}"));
                None
            }
        },
        _ => None,
    };
    // The current data: predictions, reconstruction errors, features if kept.
    let mut preds = wants.model.map(|_| Predictions::default());
    let mut errors = Vec::new();
    let mut kept = Gather::new(feature_list);
    let mut model_failed = None;
    let wanted = names(
        if fitted.is_some() || wants.current_features {
            feature_list
        } else {
            &[]
        },
        wants.model,
    );
    if !wanted.is_empty() {
        source::for_each_batch(current, read, &wanted, |batch| {
            if let (Some(m), Some(p)) = (wants.model, preds.as_mut())
                && model_failed.is_none()
            {
                match predict(m.as_ref(), batch.clone(), current) {
                    Ok(pred) => p.push(&pred),
                    Err(e) => model_failed = Some(e.to_string()),
                }
            }
            if fitted.is_some() || (wants.current_features && use_features) {
                let d = features_of(batch, current, feature_list)?;
                if let Some(f) = &fitted {
                    errors.extend(f.row_errors(&d)?);
                }
                if wants.current_features {
                    kept.push(&d, None);
                }
            }
            Ok(())
        })?;
    }
    if let Some(e) = model_failed {
        out.notes.push(format!(
            "The model was not applied to the current data: {e}"
        ));
        preds = None;
    }
    out.current_predictions = preds;
    if let (Some(f), Some(s)) = (&fitted, &sample) {
        let reference_errors = f.row_errors(s)?;
        out.reconstruction = Some(reconstruction(f, &reference_errors, &errors, windows));
    }
    if wants.current_features && use_features {
        out.current_features = Some(kept.finish()?);
    }
    out.reference_sample = sample;
    Ok(out)
}
