//! The model file format: a directory holding a JSON manifest and a safetensors file.
//!
//! ```text
//! model/
//!   model.json            format, format_version, kind, input features, output, parameters,
//!                         small fitted values, metadata (metrics, data fingerprint, …), and the
//!                         BLAKE3 checksum of the arrays file
//!   arrays.safetensors    every large array (coefficients, centroids, support vectors), f64
//!                         (or f32 / u32 / u16 / u8 where a model stores them so: forest nodes)
//! ```
//!
//! Both files are plain data: loading never executes code (no pickle). The manifest is
//! human-readable; an array is referenced from it as `{"$array": "steps.1.coef"}`. A pipeline
//! nests its steps' nodes, so a whole pipeline is **one** artifact.
//!
//! Loading checks, in order: the format name, the format version (a newer one is refused with
//! [`CoreError::ArtifactVersion`]), the checksum of the arrays file (a corrupted file is refused
//! with [`CoreError::Artifact`]), then each model's own fields. Saving is atomic: the directory
//! is written under a temporary name and renamed into place.
//!
//! Model kinds are resolved through a [`Registry`] that each estimator crate fills
//! (`smelt_learn::register`), so this crate knows no model.

pub(crate) mod node;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use node::Arrays;
pub use node::{
    ARRAYS, ArrayData, ArtifactReader, ArtifactWriter, FORMAT, FORMAT_VERSION, MANIFEST,
    load_common, save_common,
};

use crate::dataset::Feature;
use crate::error::{CoreError, Result};
use crate::model::{Output, Predictor, Transform};

impl ArtifactWriter {
    /// Stores a nested predictor with its kind, so a [`Registry`] can load it back.
    pub fn predictor(&mut self, key: &str, p: &dyn Predictor) -> Result<()> {
        self.child(key, |w| {
            w.put("kind", p.kind())?;
            p.save(w)
        })
    }

    /// Stores a nested transformer with its kind.
    pub fn transform(&mut self, key: &str, t: &dyn Transform) -> Result<()> {
        self.child(key, |w| {
            w.put("kind", t.kind())?;
            t.save(w)
        })
    }
}

/// Loads a predictor from its reader and the registry (for nested models).
pub type PredictorLoader = fn(&ArtifactReader, &Registry) -> Result<Box<dyn Predictor>>;
/// Loads a transformer from its reader and the registry.
pub type TransformLoader = fn(&ArtifactReader, &Registry) -> Result<Box<dyn Transform>>;

/// Model kinds this build can load. Each estimator crate registers its kinds
/// (`smelt_learn::register(&mut registry)`); the binary assembles the full registry.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    predictors: BTreeMap<String, PredictorLoader>,
    transforms: BTreeMap<String, TransformLoader>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a predictor kind.
    pub fn add_predictor(&mut self, kind: &str, loader: PredictorLoader) {
        self.predictors.insert(kind.to_string(), loader);
    }

    /// Registers a transformer kind.
    pub fn add_transform(&mut self, kind: &str, loader: TransformLoader) {
        self.transforms.insert(kind.to_string(), loader);
    }

    /// The registered predictor kinds.
    pub fn predictor_kinds(&self) -> impl Iterator<Item = &str> {
        self.predictors.keys().map(String::as_str)
    }

    /// Loads the predictor stored at `r` (a node written by [`ArtifactWriter::predictor`]).
    pub fn load_predictor(&self, r: &ArtifactReader) -> Result<Box<dyn Predictor>> {
        loader_of(&self.predictors, r)?(r, self)
    }

    /// Loads the transformer stored at `r`.
    pub fn load_transform(&self, r: &ArtifactReader) -> Result<Box<dyn Transform>> {
        loader_of(&self.transforms, r)?(r, self)
    }
}

/// The loader of the `kind` stored at `r`; an unknown kind is an error naming the file.
fn loader_of<L: Copy>(loaders: &BTreeMap<String, L>, r: &ArtifactReader) -> Result<L> {
    let kind: String = r.get("kind")?;
    loaders
        .get(&kind)
        .copied()
        .ok_or_else(|| CoreError::UnknownKind {
            path: r.path().to_path_buf(),
            kind,
        })
}

/// The manifest of a model directory, minus the model node.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub format_version: u64,
    /// Smelt version that wrote it.
    pub smelt_version: String,
    /// Kind of the top-level model.
    pub kind: String,
    /// Input columns.
    pub input: Vec<Feature>,
    /// What it predicts (`None` for a transformer).
    #[serde(default)]
    pub output: Option<Output>,
    /// Free-form metadata: training metrics, data fingerprint, command line.
    #[serde(default)]
    pub metadata: Value,
    /// BLAKE3 of the arrays file (hex).
    pub arrays_blake3: String,
}

/// Saves `model` to the directory `dir` (replacing it atomically if it exists).
pub fn save(model: &dyn Predictor, dir: &Path, metadata: Value) -> Result<()> {
    let mut w = ArtifactWriter::new(String::new());
    w.put("kind", model.kind())?;
    model.save(&mut w)?;
    let head = Head {
        kind: model.kind().to_string(),
        input: model.input_features().to_vec(),
        output: Some(model.output()),
    };
    write_dir(w, head, dir, metadata)
}

/// Saves a fitted transformer to `dir` (same format; the manifest has no `output`).
pub fn save_transform(t: &dyn Transform, dir: &Path, metadata: Value) -> Result<()> {
    let mut w = ArtifactWriter::new(String::new());
    w.put("kind", t.kind())?;
    t.save(&mut w)?;
    let head = Head {
        kind: t.kind().to_string(),
        input: t.input_features().to_vec(),
        output: None,
    };
    write_dir(w, head, dir, metadata)
}

struct Head {
    kind: String,
    input: Vec<Feature>,
    output: Option<Output>,
}

fn write_dir(w: ArtifactWriter, head: Head, dir: &Path, metadata: Value) -> Result<()> {
    let io = |path: &Path, source| CoreError::Io {
        path: path.to_path_buf(),
        source,
    };
    let arrays = encode_arrays(&w.arrays)?;
    let manifest = Manifest {
        format: FORMAT.into(),
        format_version: FORMAT_VERSION,
        smelt_version: env!("CARGO_PKG_VERSION").into(),
        kind: head.kind,
        input: head.input,
        output: head.output,
        metadata,
        arrays_blake3: blake3::hash(&arrays).to_hex().to_string(),
    };
    let mut doc = serde_json::to_value(&manifest).map_err(|e| CoreError::Artifact {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    if let Value::Object(m) = &mut doc {
        m.insert("model".into(), Value::Object(w.node));
    }
    let json = serde_json::to_vec_pretty(&doc).map_err(|e| CoreError::Artifact {
        path: dir.to_path_buf(),
        message: e.to_string(),
    })?;

    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| io(&parent, e))?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
    }
    std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
    let write = || -> Result<()> {
        std::fs::write(tmp.join(ARRAYS), &arrays).map_err(|e| io(&tmp.join(ARRAYS), e))?;
        std::fs::write(tmp.join(MANIFEST), &json).map_err(|e| io(&tmp.join(MANIFEST), e))?;
        if dir.exists() {
            let old = parent.join(format!(".{name}.old-{}", std::process::id()));
            std::fs::rename(dir, &old).map_err(|e| io(dir, e))?;
            std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
            std::fs::remove_dir_all(&old).map_err(|e| io(&old, e))?;
        } else {
            std::fs::rename(&tmp, dir).map_err(|e| io(dir, e))?;
        }
        Ok(())
    };
    let out = write();
    if out.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    out
}

/// A loaded model with its manifest.
#[derive(Debug)]
pub struct LoadedModel {
    /// The model.
    pub model: Box<dyn Predictor>,
    /// Its manifest (metadata, versions).
    pub manifest: Manifest,
}

/// Loads the model saved in `dir` with [`save`].
pub fn load(dir: &Path, registry: &Registry) -> Result<LoadedModel> {
    load_as(dir, registry, false)
}

/// Loads the model saved in `dir` only to predict with it: models may keep just what prediction
/// reads (a random forest drops its trees' impurities and node counts and keeps 8-byte
/// inference nodes), so the loaded model predicts exactly as [`load`]'s does but may refuse to
/// be saved or exported. What servers and `smelt predict` use.
pub fn load_for_inference(dir: &Path, registry: &Registry) -> Result<LoadedModel> {
    load_as(dir, registry, true)
}

fn load_as(dir: &Path, registry: &Registry, inference_only: bool) -> Result<LoadedModel> {
    let (mut reader, manifest) = open(dir)?;
    reader.inference_only = inference_only;
    let model = registry.load_predictor(&reader)?;
    Ok(LoadedModel { model, manifest })
}

/// Loads a transformer saved with [`save_transform`].
pub fn load_transform(dir: &Path, registry: &Registry) -> Result<Box<dyn Transform>> {
    let (reader, _) = open(dir)?;
    registry.load_transform(&reader)
}

/// Reads and checks a model directory: its root reader and manifest.
pub fn open(dir: &Path) -> Result<(ArtifactReader, Manifest)> {
    let corrupt = |message: String| CoreError::Artifact {
        path: dir.to_path_buf(),
        message,
    };
    let manifest_path = dir.join(MANIFEST);
    let bytes = std::fs::read(&manifest_path).map_err(|e| CoreError::Io {
        path: manifest_path.clone(),
        source: e,
    })?;
    let doc: Value = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("{MANIFEST} is not valid JSON: {e}")))?;
    if doc.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(corrupt(format!(
            "{MANIFEST} is not a Smelt model (no `\"format\": \"{FORMAT}\"`)"
        )));
    }
    let version = doc
        .get("format_version")
        .and_then(Value::as_u64)
        .ok_or_else(|| corrupt("missing `format_version`".into()))?;
    if version != FORMAT_VERSION {
        return Err(CoreError::ArtifactVersion {
            path: dir.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let manifest: Manifest =
        serde_json::from_value(doc.clone()).map_err(|e| corrupt(format!("{MANIFEST}: {e}")))?;
    let arrays_path = dir.join(ARRAYS);
    let arrays = std::fs::read(&arrays_path).map_err(|e| CoreError::Io {
        path: arrays_path.clone(),
        source: e,
    })?;
    if blake3::hash(&arrays).to_hex().as_str() != manifest.arrays_blake3 {
        return Err(corrupt(format!(
            "{ARRAYS} does not match the checksum in {MANIFEST} (corrupted or modified)"
        )));
    }
    let arrays = decode_arrays(&arrays).map_err(corrupt)?;
    let node = doc
        .get("model")
        .and_then(Value::as_object)
        .cloned()
        .ok_or_else(|| corrupt("missing `model`".into()))?;
    let reader = ArtifactReader {
        path: Arc::from(dir),
        node: Arc::new(node),
        prefix: String::new(),
        arrays: Arc::new(arrays),
        inference_only: false,
    };
    Ok((reader, manifest))
}

fn encode_arrays(arrays: &[(String, Vec<usize>, ArrayData)]) -> Result<Vec<u8>> {
    use safetensors::Dtype;
    fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
        v.iter().flat_map(|&x| f(x)).collect()
    }
    let bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = arrays
        .iter()
        .map(|(n, s, d)| {
            let (dtype, b) = match d {
                ArrayData::F64(v) => (Dtype::F64, le(v, f64::to_le_bytes)),
                ArrayData::F32(v) => (Dtype::F32, le(v, f32::to_le_bytes)),
                ArrayData::U32(v) => (Dtype::U32, le(v, u32::to_le_bytes)),
                ArrayData::U16(v) => (Dtype::U16, le(v, u16::to_le_bytes)),
                ArrayData::U8(v) => (Dtype::U8, v.clone()),
            };
            (n.clone(), s.clone(), dtype, b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(n, s, dtype, b)| {
            safetensors::tensor::TensorView::new(*dtype, s.clone(), b).map(|v| (n.clone(), v))
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| CoreError::Artifact {
            path: PathBuf::from(ARRAYS),
            message: e.to_string(),
        })?;
    safetensors::serialize(views, None).map_err(|e| CoreError::Artifact {
        path: PathBuf::from(ARRAYS),
        message: e.to_string(),
    })
}

fn decode_arrays(bytes: &[u8]) -> std::result::Result<Arrays, String> {
    use safetensors::Dtype;
    fn from_le<T, const N: usize>(b: &[u8], f: impl Fn([u8; N]) -> T) -> Vec<T> {
        b.chunks_exact(N)
            .map(|c| {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)
            })
            .collect()
    }
    let st = safetensors::SafeTensors::deserialize(bytes)
        .map_err(|e| format!("{ARRAYS} is not a valid safetensors file: {e}"))?;
    let mut out = HashMap::new();
    for (name, view) in st.tensors() {
        let b = view.data();
        let data = match view.dtype() {
            Dtype::F64 => ArrayData::F64(from_le(b, f64::from_le_bytes)),
            Dtype::F32 => ArrayData::F32(from_le(b, f32::from_le_bytes)),
            Dtype::U32 => ArrayData::U32(from_le(b, u32::from_le_bytes)),
            Dtype::U16 => ArrayData::U16(from_le(b, u16::from_le_bytes)),
            Dtype::U8 => ArrayData::U8(b.to_vec()),
            other => {
                return Err(format!(
                    "array `{name}` has dtype {other:?}, expected F64, F32, U32, U16 or U8"
                ));
            }
        };
        out.insert(name, (view.shape().to_vec(), data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, FeatureKind};
    use crate::model::Prediction;
    use crate::schema::LogicalType;

    #[test]
    fn typed_arrays_round_trip() {
        let arrays = vec![
            ("a".to_string(), vec![2], ArrayData::F32(vec![1.5, -0.0])),
            ("b".to_string(), vec![3], ArrayData::U8(vec![1, 2, 255])),
            ("c".to_string(), vec![1, 2], ArrayData::U16(vec![7, 65535])),
            ("d".to_string(), vec![1], ArrayData::U32(vec![u32::MAX])),
            (
                "e".to_string(),
                vec![2],
                ArrayData::F64(vec![0.1, f64::MAX]),
            ),
        ];
        let back = decode_arrays(&encode_arrays(&arrays).unwrap()).unwrap();
        for (name, shape, data) in arrays {
            assert_eq!(back[&name], (shape, data), "{name}");
        }
    }

    /// A toy predictor: y = w · x.
    #[derive(Debug)]
    struct Dot {
        input: Vec<Feature>,
        w: Vec<f64>,
    }

    impl Predictor for Dot {
        fn kind(&self) -> &str {
            "dot"
        }
        fn input_features(&self) -> &[Feature] {
            &self.input
        }
        fn output(&self) -> Output {
            Output::Regression
        }
        fn predict(&self, data: &Dataset<f64>) -> Result<Prediction> {
            let values = (0..data.n_rows())
                .map(|i| data.row(i).iter().zip(&self.w).map(|(a, b)| a * b).sum())
                .collect();
            Ok(Prediction::Regression { values })
        }
        fn save(&self, w: &mut ArtifactWriter) -> Result<()> {
            w.put("input", &self.input)?;
            w.array("w", &[self.w.len()], &self.w)
        }
    }

    fn load_dot(r: &ArtifactReader, _: &Registry) -> Result<Box<dyn Predictor>> {
        let input: Vec<Feature> = r.get("input")?;
        let w = r.vector("w", input.len())?;
        Ok(Box::new(Dot { input, w }))
    }

    fn dot() -> Dot {
        Dot {
            input: vec![Feature {
                name: "x".into(),
                ltype: LogicalType::Numeric,
                kind: FeatureKind::Numeric,
            }],
            w: vec![2.5],
        }
    }

    fn registry() -> Registry {
        let mut r = Registry::new();
        r.add_predictor("dot", load_dot);
        r
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        save(&dot(), &path, serde_json::json!({"note": "hi"})).unwrap();
        // Saving again replaces atomically.
        save(&dot(), &path, Value::Null).unwrap();
        let loaded = load(&path, &registry()).unwrap();
        assert_eq!(loaded.manifest.kind, "dot");
        let ds = Dataset::new(1, vec![2.0], dot().input, None).unwrap();
        assert_eq!(
            loaded.model.predict(&ds).unwrap(),
            Prediction::Regression { values: vec![5.0] }
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "temporary directories left behind");
    }

    #[test]
    fn future_version_and_corruption_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        save(&dot(), &path, Value::Null).unwrap();

        let arrays = path.join(ARRAYS);
        let mut bytes = std::fs::read(&arrays).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        std::fs::write(&arrays, &bytes).unwrap();
        let err = load(&path, &registry()).unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");

        save(&dot(), &path, Value::Null).unwrap();
        let manifest = path.join(MANIFEST);
        let text = std::fs::read_to_string(&manifest).unwrap();
        std::fs::write(
            &manifest,
            text.replace("\"format_version\": 1", "\"format_version\": 7"),
        )
        .unwrap();
        let err = load(&path, &registry()).unwrap_err();
        assert!(
            matches!(
                err,
                CoreError::ArtifactVersion {
                    found: 7,
                    supported: 1,
                    ..
                }
            ),
            "{err:?}"
        );

        std::fs::write(&manifest, "{not json").unwrap();
        assert!(matches!(
            load(&path, &registry()).unwrap_err(),
            CoreError::Artifact { .. }
        ));
    }

    #[test]
    fn unknown_kind_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m");
        save(&dot(), &path, Value::Null).unwrap();
        let err = load(&path, &Registry::new()).unwrap_err();
        assert!(matches!(err, CoreError::UnknownKind { ref kind, .. } if kind == "dot"));
    }
}
