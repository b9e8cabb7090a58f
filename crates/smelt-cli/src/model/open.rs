//! How every command that takes a model opens it (`smelt predict`, `eval`, `export`,
//! `monitor`): a model directory, `models:/NAME@ALIAS`, `models:/NAME/VERSION`, `models:/NAME`,
//! `runs:/RUN_ID/PATH` (fetched from the project's store or tracking server, as `smelt serve`
//! does), or an XGBoost `.json`, LightGBM `.txt` or `.onnx` file.

use std::path::Path;

use anyhow::{Context, Result, bail};
use smelt_serve::source::{Loaded, Lookup, Source};
use smelt_workflow::Model;

/// Extensions of tables (what a model is scored on), to tell swapped arguments apart.
const TABLES: [&str; 8] = [
    "csv", "tsv", "parquet", "ndjson", "jsonl", "arrow", "ipc", "feather",
];

/// The source `text` names and where registry and run sources are looked up.
fn source(text: &str) -> Result<(Source, Lookup)> {
    let path = Path::new(text);
    let table = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| TABLES.contains(&e.to_ascii_lowercase().as_str()));
    if table && path.is_file() {
        bail!(
            "`{text}` is a table, not a model\n\nhint: the model comes first, then the data: \
             smelt predict MODEL DATA (MODEL: a model directory, models:/NAME@ALIAS, \
             models:/NAME/VERSION, runs:/RUN_ID/model, or an .onnx, XGBoost .json or LightGBM \
             .txt file)"
        );
    }
    let source = Source::parse(text)?;
    let lookup = Lookup::project();
    if matches!(source, Source::Registry { .. } | Source::Run { .. }) {
        std::fs::create_dir_all(&lookup.cache)
            .with_context(|| format!("cannot create `{}`", lookup.cache.display()))?;
    }
    Ok((source, lookup))
}

/// Opens the model `text` names (whole: it can be exported or saved again).
pub fn open(text: &str) -> Result<Model> {
    let (source, lookup) = source(text)?;
    Ok(smelt_serve::source::open(&source, &lookup)?.0)
}

/// Opens the model `text` names only to predict with it (`smelt predict`, `smelt eval`): it
/// keeps just what prediction reads.
pub fn open_for_inference(text: &str) -> Result<Model> {
    let (source, lookup) = source(text)?;
    Ok(smelt_serve::source::open_for_inference(&source, &lookup)?.0)
}

/// Opens the model `text` names for sharing between threads (monitoring), with its version.
pub fn load(text: &str) -> Result<Loaded> {
    let (source, lookup) = source(text)?;
    Ok(smelt_serve::source::load(&source, &lookup)?)
}
