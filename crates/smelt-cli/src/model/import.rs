//! `smelt import MODEL_FILE --out DIR`: an XGBoost JSON or LightGBM text model as a Smelt model.

use std::path::PathBuf;

use anyhow::{Result, bail};
use clap::{Args, ValueEnum};
use serde_json::json;
use smelt_core::Predictor;

use crate::Outcome;

#[derive(Copy, Clone, Debug, ValueEnum)]
pub enum Library {
    /// XGBoost `save_model("m.json")`
    Xgboost,
    /// LightGBM `save_model("m.txt")`
    Lightgbm,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    /// The model file (.json: XGBoost, .txt: LightGBM)
    pub file: PathBuf,

    /// Which library wrote it [default: from the extension]
    #[arg(long, value_enum)]
    pub from: Option<Library>,

    /// Output directory (a Smelt model, served and scored like any other)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: ImportArgs) -> Result<Outcome> {
    let lib = match (args.from, args.file.extension().and_then(|e| e.to_str())) {
        (Some(l), _) => l,
        (None, Some("json")) => Library::Xgboost,
        (None, Some("txt")) => Library::Lightgbm,
        _ => bail!(
            "{}: cannot tell which library wrote it; pass --from xgboost or --from lightgbm",
            args.file.display()
        ),
    };
    let model = match lib {
        Library::Xgboost => smelt_trees::import::xgboost::from_json_file(&args.file)?,
        Library::Lightgbm => smelt_trees::import::lightgbm::from_text_file(&args.file)?,
    };
    let metadata = json!({
        "imported_from": format!("{lib:?}").to_lowercase(),
        "source": args.file.display().to_string(),
    });
    smelt_core::artifact::save(&model, &args.out, metadata)?;
    println!(
        "imported {} ({} input columns) into {}  (predict: smelt predict {} DATA)",
        args.file.display(),
        model.input_features().len(),
        args.out.display(),
        args.out.display()
    );
    Ok(Outcome::Success)
}
