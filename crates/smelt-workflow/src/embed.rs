//! Sentence embeddings of a table's text column (`smelt embed`): read the table, embed each
//! row's text with a pretrained sentence encoder ([`smelt_deep::encoder`]), write one row per
//! input row, atomically.
//!
//! The output holds the `keep` columns (copied as they are, e.g. an id), then the vector as
//! plain `f32` columns `emb_0 … emb_{d-1}` (384 for all-MiniLM-L6-v2). Plain columns rather
//! than one `list<f32>` column: every output format takes them (CSV has no lists), and
//! `smelt train`, `cv` or `monitor` read them as ordinary numeric features.
//!
//! The text column is the one named, else the table's only text column (a string column with
//! many distinct values, as schema inference says), else its only string column. Empty, blank
//! and missing texts are an error naming the row unless [`EmbedSpec::allow_empty`] is set;
//! then they are embedded as sentence-transformers embeds `""`.
//!
//! ```no_run
//! use smelt_workflow::embed::{EmbedSpec, embed_file};
//!
//! let spec = EmbedSpec { column: Some("review_text".into()), keep: vec!["id".into()], ..EmbedSpec::default() };
//! let done = embed_file(
//!     "models/all-MiniLM-L6-v2".as_ref(),
//!     "data/reviews.parquet".as_ref(),
//!     &smelt_data::read::ReadOptions::default(),
//!     "emb.parquet".as_ref(),
//!     &spec,
//!     &mut |_, _| {},
//! )?;
//! println!("{} rows × {} values, {:.0} sentences/s", done.rows, done.dim, done.sentences_per_second());
//! # Ok::<(), smelt_workflow::Error>(())
//! ```

use std::path::Path;
use std::time::Instant;

use smelt_data::infer::{InferOptions, infer_type};
use smelt_data::polars::prelude::*;
use smelt_data::read::{Format, ReadOptions};
use smelt_data::{DataError, LogicalType};
use smelt_deep::encoder::{EmbedOptions, SentenceEncoder};

use crate::error::{Error, Result};

/// What to embed and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmbedSpec {
    /// The text column (default: chosen as the module docs say).
    pub column: Option<String>,
    /// Input columns copied before the vector, e.g. an id.
    pub keep: Vec<String>,
    /// Texts per forward pass (default 32, ≥ 1).
    pub batch_size: usize,
    /// Embed empty, blank and missing texts (as `[CLS] [SEP]`) instead of refusing them.
    pub allow_empty: bool,
}

impl Default for EmbedSpec {
    fn default() -> Self {
        EmbedSpec {
            column: None,
            keep: Vec::new(),
            batch_size: 32,
            allow_empty: false,
        }
    }
}

/// An embedded table and what it took.
#[derive(Debug)]
pub struct Embedded {
    /// The `keep` columns, then `emb_0 … emb_{dim-1}`.
    pub frame: DataFrame,
    /// The text column used.
    pub column: String,
    /// Rows embedded.
    pub rows: usize,
    /// Values per vector.
    pub dim: usize,
    /// Rows whose text was empty, blank or missing (embedded only with `allow_empty`).
    pub empty: usize,
    /// Seconds spent loading the model (0 when it was given loaded).
    pub load_seconds: f64,
    /// Seconds spent tokenising and encoding.
    pub embed_seconds: f64,
}

impl Embedded {
    /// Throughput of the embedding itself.
    pub fn sentences_per_second(&self) -> f64 {
        self.rows as f64 / self.embed_seconds.max(1e-9)
    }
}

/// The table's text columns: strings with many distinct values.
pub fn text_columns(df: &DataFrame) -> Vec<String> {
    let opts = InferOptions::default();
    df.columns()
        .iter()
        .filter(|c| {
            c.dtype() == &DataType::String
                && infer_type(c.as_materialized_series(), &opts) == LogicalType::Text
        })
        .map(|c| c.name().to_string())
        .collect()
}

/// The column to embed: `requested`, else the only text column, else the only string column.
pub fn choose_text_column(df: &DataFrame, path: &Path, requested: Option<&str>) -> Result<String> {
    let columns: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(name) = requested {
        if !columns.iter().any(|c| c == name) {
            return Err(DataError::MissingColumn {
                path: path.to_path_buf(),
                name: name.to_string(),
                available: columns,
            }
            .into());
        }
        return Ok(name.to_string());
    }
    let text = text_columns(df);
    if let [only] = text.as_slice() {
        return Ok(only.clone());
    }
    let strings: Vec<String> = df
        .columns()
        .iter()
        .filter(|c| c.dtype() == &DataType::String)
        .map(|c| c.name().to_string())
        .collect();
    if text.is_empty()
        && let [only] = strings.as_slice()
    {
        return Ok(only.clone());
    }
    Err(Error::TextColumn {
        path: path.to_path_buf(),
        found: if text.is_empty() { strings } else { text },
        columns,
    })
}

/// Embeds `df`'s text column with a loaded encoder; `progress(done, total)` after each batch.
pub fn embed_frame(
    encoder: &SentenceEncoder,
    model_dir: &Path,
    df: &DataFrame,
    path: &Path,
    spec: &EmbedSpec,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Embedded> {
    if spec.batch_size == 0 {
        return Err(Error::Option {
            option: "batch_size",
            allowed: "at least 1",
            got: "0".into(),
        });
    }
    let column = choose_text_column(df, path, spec.column.as_deref())?;
    let table_err = |context: String| move |source| Error::Table { context, source };
    let texts = df
        .column(&column)
        .and_then(|c| c.cast(&DataType::String))
        .map_err(table_err(format!("reading column `{column}` as text")))?;
    let texts = texts
        .str()
        .map_err(table_err(format!("reading column `{column}` as text")))?;
    let texts: Vec<&str> = texts.iter().map(|t| t.unwrap_or("")).collect();
    let empty_rows: Vec<usize> = texts
        .iter()
        .enumerate()
        .filter(|(_, t)| t.trim().is_empty())
        .map(|(i, _)| i)
        .collect();
    if let Some(&first) = empty_rows.first()
        && !spec.allow_empty
    {
        return Err(Error::EmptyText {
            path: path.to_path_buf(),
            column,
            row: first + 1,
        });
    }
    let mut kept = Vec::with_capacity(spec.keep.len());
    for k in &spec.keep {
        let c = df.column(k).map_err(|_| DataError::MissingColumn {
            path: path.to_path_buf(),
            name: k.clone(),
            available: df
                .get_column_names()
                .iter()
                .map(|s| s.to_string())
                .collect(),
        })?;
        kept.push(c.clone());
    }

    let opts = EmbedOptions {
        batch_size: spec.batch_size,
        allow_empty: true, // checked above, with the row number
    };
    let total = texts.len();
    let start = Instant::now();
    let emb = encoder
        .embed_with_progress(&texts, &opts, &mut |done| progress(done, total))
        .map_err(|e| Error::Encoder {
            model: model_dir.to_path_buf(),
            source: Box::new(e),
        })?;
    let embed_seconds = start.elapsed().as_secs_f64();

    let dim = emb.dim();
    let mut columns = kept;
    columns.extend(crate::model::embedding_columns(dim, emb.as_slice()));
    let frame = DataFrame::new(total, columns)
        .map_err(table_err("building the embedding table".to_string()))?;
    Ok(Embedded {
        frame,
        column,
        rows: total,
        dim,
        empty: empty_rows.len(),
        load_seconds: 0.0,
        embed_seconds,
    })
}

/// Loads the model at `model_dir`, reads `input`, embeds its text column and writes the result
/// to `out` (format from the extension), atomically.
pub fn embed_file(
    model_dir: &Path,
    input: &Path,
    read: &ReadOptions,
    out: &Path,
    spec: &EmbedSpec,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Embedded> {
    // The output format first: a typo in `--out` should not cost a model load and an embedding.
    let format = Format::for_output(out)?;
    let start = Instant::now();
    let encoder = SentenceEncoder::load(model_dir).map_err(|e| Error::Encoder {
        model: model_dir.to_path_buf(),
        source: Box::new(e),
    })?;
    let load_seconds = start.elapsed().as_secs_f64();
    let df = smelt_data::read::read(input, read)?;
    let mut done = embed_frame(&encoder, model_dir, &df, input, spec, progress)?;
    done.load_seconds = load_seconds;
    smelt_data::write::write_table(&mut done.frame, out, format)?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame() -> DataFrame {
        let reviews: Vec<String> = (0..40).map(|i| format!("review number {i}")).collect();
        let cats: Vec<&str> = (0..40)
            .map(|i| if i % 2 == 0 { "a" } else { "b" })
            .collect();
        df!(
            "id" => (0..40i64).collect::<Vec<_>>(),
            "review" => reviews,
            "kind" => cats,
        )
        .unwrap()
    }

    #[test]
    fn the_only_text_column_is_chosen() {
        let df = frame();
        let p = Path::new("t.csv");
        assert_eq!(choose_text_column(&df, p, None).unwrap(), "review");
        assert_eq!(choose_text_column(&df, p, Some("kind")).unwrap(), "kind");
        let e = choose_text_column(&df, p, Some("reviews")).unwrap_err();
        assert!(e.hint().unwrap().contains("review"), "{e}");
    }

    #[test]
    fn several_or_no_text_columns_are_listed() {
        let mut df = frame();
        let titles: Vec<String> = (0..40).map(|i| format!("title {i}")).collect();
        df.with_column(Column::new("title".into(), titles)).unwrap();
        let e = choose_text_column(&df, Path::new("t.csv"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "t.csv: several text columns: `review`, `title`"
        );
        assert_eq!(e.hint().unwrap(), "name one: `--column review`");
        let numbers = df!("x" => [1.0, 2.0]).unwrap();
        let e = choose_text_column(&numbers, Path::new("n.csv"), None).unwrap_err();
        assert_eq!(e.to_string(), "n.csv: no text column among `x`");
    }
}
