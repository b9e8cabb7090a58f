//! `smelt export MODEL_DIR --format onnx --out FILE.onnx`: a saved model (preprocessing and
//! estimator) as one ONNX file that onnxruntime scores like `smelt predict`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, ValueEnum};
use smelt_onnx::export::{ExportOptions, encode, export_model, summary};

use crate::Outcome;

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum Format {
    /// ONNX (opset 17 + ONNX-ML 3; onnxruntime and other ONNX runtimes)
    Onnx,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    /// The model: a directory (from `smelt train`, `smelt tune --out`, `smelt import`, …),
    /// models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/model
    pub model: String,

    /// Output format
    #[arg(long, value_enum, default_value = "onnx")]
    pub format: Format,

    /// The file to write (replaced atomically)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn run(args: ExportArgs) -> Result<Outcome> {
    let model = super::open::open(&args.model)?;
    let Format::Onnx = args.format;
    let mut metadata = vec![("smelt.source".to_string(), args.model.clone())];
    if let Some(t) = model.metadata().get("target").and_then(|v| v.as_str()) {
        metadata.push(("smelt.target".into(), t.to_string()));
    }
    let opts = ExportOptions {
        graph_name: None,
        metadata,
    };
    let onnx =
        export_model(model.predictor(), &opts).map_err(|e| anyhow!("{}: {e}", args.model))?;
    let bytes = encode(&onnx);
    write_atomic(&args.out, &bytes)?;
    println!(
        "wrote {} ({}): {}",
        args.out.display(),
        human_size(bytes.len()),
        summary(&onnx)
    );
    Ok(Outcome::Success)
}

/// Writes `bytes` to a temporary file beside `path`, flushes it and renames it onto `path`: a
/// reader never sees a partial file, and a failure leaves nothing behind.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{}: directory `{}` does not exist\n\nhint: create it first (mkdir -p {})",
            path.display(),
            dir.display(),
            dir.display()
        );
    }
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".smelt-tmp-{}-{}",
        std::process::id(),
        name.to_string_lossy()
    ));
    let written = (|| -> std::io::Result<()> {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("{}: cannot write the ONNX file", path.display()));
    }
    Ok(())
}

fn human_size(n: usize) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
    }
}
