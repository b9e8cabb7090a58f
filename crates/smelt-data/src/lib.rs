//! Smelt's data layer, on polars.
//!
//! | module | what it does |
//! |---|---|
//! | [`read`] | CSV / Parquet / NDJSON / Arrow IPC readers: eager, lazy, and in batches of N rows for files larger than memory |
//! | [`infer`] | logical schema inference, the TOML schema file, normalisation to canonical types |
//! | [`convert`] | the explicit DataFrame → [`smelt_core::Dataset`] conversion |
//! | [`validate`] | validation rules (TOML) reporting every violation |
//! | [`split`] | random, stratified, group and temporal splits and their k-fold variants |
//! | [`fingerprint`] | format-independent content hash of data + schema |
//! | [`profile`] | the statistics behind `smelt data inspect`, in one streaming pass |
//! | [`window`](mod@window) | lag-column windows of a time series for forecasting (`smelt data window`) |
//! | [`write`](mod@write) | atomic writes of tables (whole, or batch by batch) and split directories |
//!
//! ```no_run
//! use smelt_data::{load, LoadOptions};
//! let loaded = load("data/adult.csv".as_ref(), &LoadOptions::default().with_target("income")).unwrap();
//! let ds = smelt_data::convert::to_dataset::<f32>(&loaded.frame, &loaded.schema, &loaded.path).unwrap();
//! println!("{} × {} features, fingerprint {}", ds.n_rows(), ds.n_features(), loaded.fingerprint().unwrap());
//! ```

pub mod convert;
mod error;
pub mod fingerprint;
pub mod infer;
pub mod keys;
pub mod profile;
pub mod read;
pub mod split;
pub mod validate;
pub mod window;
pub mod write;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

pub use error::{DataError, Expected, Result, closest, levenshtein};
pub use polars;
pub use smelt_core::{Dataset, LogicalType, Role, Schema};

use crate::infer::{InferOptions, SchemaFile};
use crate::read::ReadOptions;

/// Everything needed to load a table the way Smelt sees it.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// How to read the file.
    pub read: ReadOptions,
    /// Schema overrides (types and roles), e.g. from a schema TOML file.
    pub schema: SchemaFile,
    /// Inference thresholds.
    pub infer: InferOptions,
}

impl LoadOptions {
    /// Marks `name` as the target column.
    pub fn with_target(mut self, name: &str) -> Self {
        self.schema.target = Some(name.to_string());
        self
    }
}

/// A table read, typed and normalised.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The file it came from.
    pub path: PathBuf,
    /// Columns in canonical physical types (see [`infer::normalize`]).
    pub frame: polars::prelude::DataFrame,
    /// Logical types and roles.
    pub schema: Schema,
}

impl Loaded {
    /// The dataset fingerprint (hex BLAKE3).
    pub fn fingerprint(&self) -> Result<String> {
        fingerprint::fingerprint(&self.frame, &self.schema, &self.path)
    }
}

/// Reads, infers and normalises a file in one call.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<Loaded> {
    let frame = read::read(path, &opts.read)?;
    let schema = infer::infer_schema(&frame, &opts.schema, &opts.infer, path)?;
    let frame = infer::normalize(frame, &schema, path)?;
    Ok(Loaded {
        path: path.to_path_buf(),
        frame,
        schema,
    })
}

/// Reads `path` for a model trained on `input`: the model's columns are read with the types
/// they had in training (a value that does not fit is an error naming its row), every other
/// column is ignored, and a missing model column is an error with a did-you-mean. Columns are
/// matched by name, so their order in the file does not matter.
pub fn load_for_model(
    path: &Path,
    read_opts: &ReadOptions,
    input: &[smelt_core::Feature],
) -> Result<(Loaded, Dataset<f64>)> {
    frame_for_model(read::read(path, read_opts)?, path, input)
}

/// [`load_for_model`] for a table already read: `frame` as it came from a reader (`path`
/// names it in errors).
pub fn frame_for_model(
    frame: polars::prelude::DataFrame,
    path: &Path,
    input: &[smelt_core::Feature],
) -> Result<(Loaded, Dataset<f64>)> {
    let names: Vec<String> = frame
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut file = SchemaFile::default();
    for f in input {
        if !names.contains(&f.name) {
            return Err(DataError::MissingColumn {
                path: path.to_path_buf(),
                name: f.name.clone(),
                available: names,
            });
        }
        file.columns.insert(f.name.clone(), f.ltype);
    }
    file.ignore = names
        .iter()
        .filter(|n| !input.iter().any(|f| &f.name == *n))
        .cloned()
        .collect();
    let mut schema = infer::infer_schema(&frame, &file, &InferOptions::default(), path)?;
    // The model's inputs are features whatever their values look like (an `*_id` column whose
    // first values happen to be unique would otherwise be taken for an id and left out).
    for f in input {
        schema.get_mut(&f.name)?.role = Role::Feature;
    }
    let frame = infer::normalize(frame, &schema, path)?;
    let ds = convert::to_dataset::<f64>(&frame, &schema, path)?;
    Ok((
        Loaded {
            path: path.to_path_buf(),
            frame,
            schema,
        },
        ds,
    ))
}

static QUIET: AtomicUsize = AtomicUsize::new(0);
static HOOK: std::sync::Once = std::sync::Once::new();

/// Runs `f`, catching a panic (polars panics on some corrupt inputs) and returning its message
/// instead; the panic message is not printed while such a call is running.
pub(crate) fn quiet_panics<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.load(Ordering::SeqCst) == 0 {
                previous(info);
            }
        }));
    });
    QUIET.fetch_add(1, Ordering::SeqCst);
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.fetch_sub(1, Ordering::SeqCst);
    out.map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "internal error while decoding".to_string())
    })
}
