//! A fitted model as the workflow hands it around: the predictor (a whole pipeline, with its
//! preprocessing) and the metadata saved beside it; saving, loading through the combined
//! registry, and predictions as table columns.

use std::path::Path;

use serde_json::Value;
use smelt_core::{Prediction, Predictor, UnseenCategory};
use smelt_data::polars::prelude::{Column, DataFrame};
use smelt_data::read::ReadOptions;

use crate::error::{Error, Result};

/// A fitted model and its metadata (what it was trained on, its parameters and metrics).
#[derive(Debug)]
pub struct Model {
    predictor: Box<dyn Predictor>,
    metadata: Value,
}

impl From<smelt_core::artifact::LoadedModel> for Model {
    fn from(loaded: smelt_core::artifact::LoadedModel) -> Self {
        Model {
            predictor: loaded.model,
            metadata: loaded.manifest.metadata,
        }
    }
}

impl Model {
    /// Wraps a fitted predictor.
    pub fn new(predictor: Box<dyn Predictor>, metadata: Value) -> Self {
        Model {
            predictor,
            metadata,
        }
    }

    /// Loads a model directory written by [`Model::save`] or `smelt train`; any kind this build
    /// knows ([`crate::registry`]). A sentence-transformers model directory (`modules.json`,
    /// no Smelt `model.json`), such as all-MiniLM-L6-v2, loads as an embedding model
    /// ([`smelt_deep::encoder::SentenceEncoder`], one text input named `text`).
    pub fn load(dir: &Path) -> Result<Self> {
        if let Some(m) = Self::sentence_transformers(dir)? {
            return Ok(m);
        }
        Ok(Self::from(smelt_core::artifact::load(
            dir,
            &crate::registry(),
        )?))
    }

    /// The sentence-transformers model in `dir`, when `dir` holds one rather than a Smelt
    /// model file.
    fn sentence_transformers(dir: &Path) -> Result<Option<Self>> {
        if dir.join(smelt_core::artifact::MANIFEST).exists() || !dir.join("modules.json").is_file()
        {
            return Ok(None);
        }
        let encoder =
            smelt_deep::encoder::SentenceEncoder::load(dir).map_err(|e| Error::Encoder {
                model: dir.to_path_buf(),
                source: Box::new(e),
            })?;
        let metadata = serde_json::json!({
            "imported_from": "sentence-transformers",
            "source": dir.display().to_string(),
        });
        Ok(Some(Model::new(Box::new(encoder), metadata)))
    }

    /// Loads the model saved in `dir` only to predict with it (servers, `smelt predict`,
    /// monitoring): models may keep just what prediction reads, so it predicts as [`Model::load`]'s
    /// does with less memory, but may refuse to be saved or exported
    /// ([`smelt_core::artifact::load_for_inference`]).
    pub fn load_for_inference(dir: &Path) -> Result<Self> {
        if let Some(m) = Self::sentence_transformers(dir)? {
            return Ok(m);
        }
        Ok(Self::from(smelt_core::artifact::load_for_inference(
            dir,
            &crate::registry(),
        )?))
    }

    /// Saves the model to `dir` (JSON + safetensors; the directory is replaced atomically).
    pub fn save(&self, dir: &Path) -> Result<()> {
        Ok(smelt_core::artifact::save(
            self.predictor.as_ref(),
            dir,
            self.metadata.clone(),
        )?)
    }

    /// The fitted predictor (a pipeline for models trained with preprocessing).
    pub fn predictor(&self) -> &dyn Predictor {
        self.predictor.as_ref()
    }

    /// The fitted predictor, owned (what a server shares between threads).
    pub fn into_predictor(self) -> Box<dyn Predictor> {
        self.predictor
    }

    /// The metadata saved with the model: for a trained model `model`, `params`, `target`,
    /// `data` (path, fingerprint, rows), `split`, `metrics` and `fit_seconds`.
    pub fn metadata(&self) -> &Value {
        &self.metadata
    }

    /// Scores a table file: reads the model's input columns with their training types (by
    /// name, in any order; other columns are ignored) and returns the predictions as
    /// columns ([`prediction_columns`]).
    pub fn predict_file(&self, path: &Path, read: &ReadOptions) -> Result<DataFrame> {
        self.predict_frame(smelt_data::read::read(path, read)?, path)
    }

    /// Scores a table already in memory (as read by `smelt_data::read::read`, or built by
    /// hand); `name` labels it in errors.
    pub fn predict_frame(&self, frame: DataFrame, name: &Path) -> Result<DataFrame> {
        Ok(self.predict_frame_with(frame, name, Vec::new())?.0)
    }

    /// [`Model::predict_frame`], and the categories of the table the model never saw in
    /// training, with their row counts: those rows are scored as the model scores a category it
    /// does not know (a one-hot encoder, for one, gives it no column), which a caller may want
    /// to warn about.
    pub fn predict_frame_and_unseen(
        &self,
        frame: DataFrame,
        name: &Path,
    ) -> Result<(DataFrame, Vec<UnseenCategory>)> {
        self.predict_frame_with(frame, name, Vec::new())
    }

    /// [`Model::predict_frame_and_unseen`] with `first` (columns of the same height, e.g. an id
    /// copied from the input) in front of the predictions.
    pub(crate) fn predict_frame_with(
        &self,
        frame: DataFrame,
        name: &Path,
        first: Vec<Column>,
    ) -> Result<(DataFrame, Vec<UnseenCategory>)> {
        let inputs = self.predictor.input_features();
        let (_, data) = smelt_data::frame_for_model(frame, name, inputs)?;
        let unseen = data.unseen_categories(inputs);
        let pred = self
            .predictor
            .predict(&data)
            .map_err(|source| Error::Predict {
                path: name.to_path_buf(),
                source: Box::new(source),
            })?;
        Ok((prediction_frame(&pred, first)?, unseen))
    }
}

/// The columns of a prediction: `prediction` (values, or class labels) and, for classifiers
/// with probabilities, `proba_<class>` per class; `cluster` for clustering; `emb_0 …
/// emb_{dim-1}` (f32) for embeddings.
pub fn prediction_columns(pred: &Prediction) -> Vec<Column> {
    match pred {
        Prediction::Regression { values } => {
            vec![Column::new("prediction".into(), values.as_slice())]
        }
        Prediction::Classification {
            labels,
            classes,
            proba,
        } => {
            let names: Vec<&str> = labels
                .iter()
                .map(|&c| classes[c as usize].as_str())
                .collect();
            let mut cols = vec![Column::new("prediction".into(), names)];
            if let Some(p) = proba {
                for (k, c) in classes.iter().enumerate() {
                    let v: Vec<f64> = (0..p.n_rows()).map(|i| p.row(i)[k]).collect();
                    cols.push(Column::new(format!("proba_{c}").into(), v));
                }
            }
            cols
        }
        Prediction::Clustering { labels } => {
            vec![Column::new("cluster".into(), labels.as_slice())]
        }
        Prediction::Embedding { dim, values } => embedding_columns(*dim, values),
    }
}

/// Row-major vectors of `dim` values as the f32 columns `emb_0 … emb_{dim-1}`.
pub fn embedding_columns(dim: usize, values: &[f32]) -> Vec<Column> {
    let rows = values.len().checked_div(dim).unwrap_or(0);
    (0..dim)
        .map(|j| {
            let col: Vec<f32> = (0..rows).map(|i| values[i * dim + j]).collect();
            Column::new(format!("emb_{j}").into(), col)
        })
        .collect()
}

/// A frame of `first` (columns copied from the input, e.g. an id) then the prediction's columns.
pub fn prediction_frame(pred: &Prediction, mut first: Vec<Column>) -> Result<DataFrame> {
    first.extend(prediction_columns(pred));
    DataFrame::new(pred.len(), first).map_err(|source| Error::Table {
        context: "building the prediction table".into(),
        source,
    })
}
